"""The ``bitfusion`` preset against APQ's Bit Fusion lookup table: precision ratios and shape ranking.

    python benchmarks/bench_bitfusion.py [--data-dir DIR] [--shapes N] [--evals 5000] [--out FILE.json]

For each of the LUT's shapes that has all nine (weight, activation) precisions, the layer
is mapped on the ``bitfusion`` preset at W8A8, W4A4, W8A4, W4A8 and W6A6 (default mapper,
EDP, padding on, bandwidth-limited latency; outputs are the 32-bit partial sums, the
accumulator width, as the simulator writes them), and
the script prints, per precision, the median over shapes of latency and energy relative
to W8A8 next to the same medians of the table, the ratio of the two, and the Spearman
correlation of the per-shape W8A8 latencies. The table is read from the data directory
(``bitfusion_lut/``, BSD-style licence, never copied); its units are its own, so only
ratios and ranks are compared. ``--shapes N`` takes an evenly spaced subset (quick runs).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

from scipy.stats import spearmanr

from coexplore.datadir import data_file, set_data_dir
from coexplore.mapper.network import map_layer
from coexplore.presets.accelerators import get_accelerator
from coexplore.spec.workload import Layer

PRECISIONS = ((8, 8), (4, 4), (8, 4), (4, 8), (6, 6))


def lut_shapes(path: Path) -> dict[tuple[int, ...], dict[tuple[int, int], dict[str, float]]]:
    """Shape -> {(w, a): {"latency", "energy"}} for the shapes with all nine precisions."""
    shapes: dict[tuple[int, ...], dict[tuple[int, int], dict[str, float]]] = {}
    for key, value in json.loads(path.read_text()).items():
        m = re.match(r"\((.*)\)-W(\d+)A(\d+)$", key)
        if m:
            shape = tuple(int(x) for x in m.group(1).split(","))
            shapes.setdefault(shape, {})[(int(m.group(2)), int(m.group(3)))] = value
    return {s: p for s, p in shapes.items() if len(p) == 9}


def layer_of(shape: tuple[int, ...], w: int, a: int) -> Layer:
    """The LUT key ``(Cin, Cout, H, k, stride, pad, groups)`` as a layer at W``w``A``a``."""
    cin, cout, h, k, stride, pad, groups = shape
    out = (h + 2 * pad - k) // stride + 1
    return Layer(name=str(shape), K=cout, C=cin, P=out, Q=out, R=k, S=k, stride=(stride, stride),
                 padding=(pad, pad), groups=groups, weight_bits=w, input_bits=a)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--shapes", type=int, default=None, help="evenly spaced subset of the shapes")
    ap.add_argument("--evals", type=int, default=5000, help="mapper evaluations per layer")
    ap.add_argument("--out", default=None, help="write the results (and per-shape values) as JSON")
    args = ap.parse_args()

    set_data_dir(args.data_dir)
    table = lut_shapes(data_file("bitfusion_lut", "BitFusion_new.b1.dict"))
    shapes = sorted(table)
    if args.shapes:
        shapes = shapes[:: max(1, len(shapes) // args.shapes)][: args.shapes]
    acc = get_accelerator("bitfusion")
    t0 = time.perf_counter()
    ours: dict[tuple[int, ...], dict[tuple[int, int], tuple[int, float]]] = {}
    for i, shape in enumerate(shapes):
        ours[shape] = {}
        for w, a in PRECISIONS:
            res = map_layer(layer_of(shape, w, a), acc, objective="edp", max_evals=args.evals, padding=True,
                            throttle=True)
            ours[shape][(w, a)] = (res.cost.latency_cycles, res.cost.energy_pj)
        if (i + 1) % 25 == 0:
            print(f"{i + 1}/{len(shapes)} shapes, {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    rows = []
    for w, a in PRECISIONS[1:]:
        row: dict[str, object] = {"precision": f"W{w}A{a}"}
        for k, (metric, idx) in enumerate((("latency", 0), ("energy", 1))):
            mine = statistics.median(ours[s][(w, a)][idx] / ours[s][(8, 8)][idx] for s in shapes)
            lut = statistics.median(table[s][(w, a)][metric] / table[s][(8, 8)][metric] for s in shapes)
            row[f"{metric}_ratio_coexplore"] = mine
            row[f"{metric}_ratio_lut"] = lut
            row[f"{metric}_coexplore_over_lut"] = mine / lut
            _ = k
        rows.append(row)
    rho = spearmanr([table[s][(8, 8)]["latency"] for s in shapes], [ours[s][(8, 8)][0] for s in shapes]).statistic
    rho_e = spearmanr([table[s][(8, 8)]["energy"] for s in shapes], [ours[s][(8, 8)][1] for s in shapes]).statistic
    result = {"shapes": len(shapes), "mapper_evals": args.evals, "seconds": time.perf_counter() - t0,
              "spearman_latency_w8a8": float(rho), "spearman_energy_w8a8": float(rho_e), "medians": rows}
    print(f"{'precision':9} {'lat ours':>9} {'lat LUT':>8} {'ratio':>6} {'en ours':>8} {'en LUT':>7} {'ratio':>6}")
    for r in rows:
        print(f"{r['precision']:9} {r['latency_ratio_coexplore']:9.3f} {r['latency_ratio_lut']:8.3f} "
              f"{r['latency_coexplore_over_lut']:6.3f} {r['energy_ratio_coexplore']:8.3f} {r['energy_ratio_lut']:7.3f} "
              f"{r['energy_coexplore_over_lut']:6.3f}")
    print(f"Spearman (per-shape W8A8 latency, coexplore vs LUT): {rho:.3f}; energy: {rho_e:.3f}; "
          f"{len(shapes)} shapes in {result['seconds']:.0f} s")
    if args.out:
        per_shape = {str(s): {f"W{w}A{a}": list(ours[s][(w, a)]) for w, a in PRECISIONS} for s in shapes}
        Path(args.out).write_text(json.dumps({**result, "per_shape": per_shape}, indent=1))


if __name__ == "__main__":
    main()
