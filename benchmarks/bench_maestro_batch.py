"""MAESTRO semantics, both speed figures in one run: the whole ResNet-50 reference file (parse + price) against
the MAESTRO binary, and the batch pricer's (layer, design) pairs per second.

    PYTHONPATH=. COEXPLORE_DATA=../shared/data .venv/bin/python benchmarks/bench_maestro_batch.py \
        [--maestro-bin PATH] [--repeats 5] [--check 40] [--json]

Scalar: ``Resnet50_kcp_ws.m`` on ``accelerator_1.m`` (``$COEXPLORE_DATA/maestro_reference``), the binary's CPU
time per run (process start, parse, analysis, CSV write; best of ``--repeats``) against coexplore's
in-process parse + price (best of ``--repeats``), and whether every column of every layer agrees
(``bench_maestro.py`` prints the same for all its cases).

Batch: the distinct layers of coexplore's ``resnet50`` preset on NASAIC's grid of sub-accelerators (template
``dla`` or ``shi``, 64 to 4032 PEs in steps of 64, NoC bandwidth 8 to 56 in steps of 8). ``cold`` is a fresh
:class:`~coexplore.maestro.batch.BatchPricer` (one MAESTRO analysis per layer, template and PE count, then
every bandwidth vectorised); ``warm`` prices the same pairs again on that pricer (analyses kept), as a search
that revisits designs does. ``--check N`` compares N random pairs with the scalar ``price_layers`` (every
figure exact). CPU seconds (``time.process_time``), steady when other jobs share the cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_maestro import _data_dir, compare, run_binary, run_ours, usable_binary

from coexplore.maestro.batch import BatchPricer, Designs
from coexplore.maestro.system import SubAccelerator, price_layers
from coexplore.presets.networks import resnet50
from coexplore.spec.workload import Network


def scalar(binary: Path | None, repeats: int) -> dict[str, Any]:
    ref = _data_dir() / "maestro_reference"
    hw, mapping = ref / "hw" / "accelerator_1.m", ref / "mapping" / "Resnet50_kcp_ws.m"
    ours, t_ours = run_ours(hw, mapping, repeats)
    out: dict[str, Any] = {"layers": len(ours), "coexplore_ms": t_ours * 1e3}
    if binary is not None:
        theirs, t_bin = run_binary(binary, hw, mapping, repeats)
        agree = compare(theirs, ours)
        out.update(binary_ms=t_bin * 1e3, ratio=t_bin / t_ours,
                   all_columns_equal=f"{agree['all_columns_equal']}/{agree['layers']}")
    return out


def batch(check: int, seed: int) -> dict[str, Any]:
    net = resnet50()
    layers = tuple({dataclasses.replace(x, name=""): x for x in net.layers}.values())  # one per distinct shape
    grid = [(t, p, b) for t in ("dla", "shi") for p in range(64, 4033, 64) for b in range(8, 57, 8)]
    designs = Designs(tuple(g[0] for g in grid), np.array([g[1] for g in grid]), np.array([g[2] for g in grid]))
    pairs = len(layers) * len(grid)
    pricer = BatchPricer()
    t0 = time.process_time()
    got = pricer.price(layers, designs)
    cold = time.process_time() - t0
    t0 = time.process_time()
    again = pricer.price(layers, designs)
    warm = time.process_time() - t0
    assert np.array_equal(got.runtime_cycles, again.runtime_cycles)
    rng = np.random.default_rng(seed)
    exact = 0
    net = Network(name="resnet50-shapes", layers=layers)
    for j in rng.choice(len(grid), size=check, replace=False) if check else []:
        t, p, b = grid[int(j)]
        want = price_layers(net, SubAccelerator(t, p, b))
        i = int(rng.integers(len(layers)))
        exact += want[i] == (int(got.runtime_cycles[i, j]), float(got.energy_nj[i, j]), int(got.macs[i, j]),
                             int(got.l1_bytes[i, j]), int(got.l2_bytes[i, j]))
    return {"network_layers": len(resnet50().layers), "layers": len(layers), "designs": len(grid), "pairs": pairs,
            "analyses": len(pricer._compiled), "cold_s": cold, "cold_pairs_per_s": pairs / cold, "warm_s": warm,
            "warm_pairs_per_s": pairs / warm, "checked": check, "exact": exact}


def nasaic(n: int, seed: int) -> dict[str, Any]:
    """``n`` random (cells, hardware row) pairs of the NASAIC problem priced with its batch pricing (every bandwidth
    of a (template, PEs) at once), against the same problem pricing each (template, PEs, bandwidth) with the
    scalar ``price_layers`` (the path it had before), each on a fresh problem; the figures must be identical."""
    from coexplore.joint.nasaic import NasaicProblem

    def scalar_prices(self: NasaicProblem, task: int, template: str, pes: int, bw: int) -> np.ndarray:
        key = (task, template, pes, bw)
        if key not in self._layer_prices:
            layers = tuple(dataclasses.replace(s, name=f"l{i}") for i, s in enumerate(self._protos[task]))
            rows = price_layers(Network(name="shapes", layers=layers), SubAccelerator(template, pes, bw),
                                constant_set=self.constant_set)
            self._layer_prices[key] = np.array(rows, dtype=np.float64)
        return self._layer_prices[key]

    out: dict[str, Any] = {"pairs": n}
    results = []
    for name, pricing in (("batch", None), ("scalar", scalar_prices)):
        problem = NasaicProblem()
        if pricing is not None:
            problem.layer_prices = pricing.__get__(problem)  # type: ignore[method-assign]
        rng = np.random.default_rng(seed)
        hw, cells = problem.sample_hw(rng, n), rng.integers(15625, size=(n, 2))
        t0 = time.process_time()
        results.append([problem.system(int(a), int(b), h) for (a, b), h in zip(cells, hw, strict=True)])
        out[f"{name}_s"] = time.process_time() - t0
    out["identical"] = results[0] == results[1]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maestro-bin", default=os.environ.get("MAESTRO_BIN", "/work/peers_build/maestro/maestro"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--check", type=int, default=40, help="random pairs compared with the scalar model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nasaic", type=int, default=0, metavar="N",
                    help="also N random NASAIC pairs, batch pricing against the scalar per-bandwidth path")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    binary = Path(args.maestro_bin)
    have_bin = usable_binary(binary)
    s = scalar(binary if have_bin else None, args.repeats)
    b = batch(args.check, args.seed)
    nas = nasaic(args.nasaic, args.seed) if args.nasaic else None
    if args.json:
        json.dump({"resnet50_file": s, "batch": b, "nasaic": nas}, sys.stdout, indent=2)
        print()
        return
    line = f"ResNet-50 file ({s['layers']} layers), parse + price: coexplore {s['coexplore_ms']:.1f} ms CPU"
    if have_bin:
        line += (f", binary {s['binary_ms']:.1f} ms CPU, ratio {s['ratio']:.1f}x "
                 f"(every column equal on {s['all_columns_equal']} layers)")
    print(line)
    print(f"batch: the {b['layers']} distinct layer shapes of resnet50 ({b['network_layers']} layers) x "
          f"{b['designs']} designs = "
          f"{b['pairs']} pairs, {b['analyses']} analyses; cold {b['cold_s']:.2f} s = {b['cold_pairs_per_s']:.0f} "
          f"pairs/s, warm {b['warm_s'] * 1e3:.1f} ms = {b['warm_pairs_per_s']:.0f} pairs/s; "
          f"{b['exact']}/{b['checked']} sampled pairs exactly equal to the scalar model")
    if nas is not None:
        print(f"NASAIC problem, {nas['pairs']} random pairs (fresh problem each): batch pricing "
              f"{nas['batch_s']:.2f} s, scalar per-bandwidth pricing {nas['scalar_s']:.2f} s CPU, "
              f"x{nas['scalar_s'] / nas['batch_s']:.1f}; "
              f"{'identical' if nas['identical'] else 'DIFFERENT'} figures")


if __name__ == "__main__":
    main()
