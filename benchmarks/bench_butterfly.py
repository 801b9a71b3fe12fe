"""FABNet on the best searched butterfly accelerator vs the Transformer on the best searched systolic design.

    nice python benchmarks/bench_butterfly.py [--budget nvdla-1024] [--systolic-evals 100] [--butterfly-evals 300]

For every LRA task (the FABNet authors' configurations, :mod:`coexplore.presets.transformers`), under one
budget preset (its MACs, on-chip SRAM, DRAM bandwidth and clock):

1. ``fabnet-lra:task=T`` on the best butterfly design (``hwsearch --model butterfly``, evolution, EDP);
2. ``lra-transformer:task=T`` on the best systolic design of the preset's template (``hwsearch`` NAAS, EDP,
   ``--throttle``: bandwidth-limited latency like the butterfly model), plus its softmax / layer norm priced
   by :mod:`coexplore.cost.vector` with ``throttle`` (the search itself prices MAC layers only);
3. the two cross pairs, to split the gain between the algorithm and the hardware: FABNet on the best systolic
   design for FABNet, the Transformer on the best butterfly design for the Transformer.

Printed: latency (cycles, same clock) and energy, and the ratios Transformer-on-systolic / FABNet-on-butterfly.
Last, the paper-shaped design point (120 BEs x 4 BUs, 16 bit, 200 MHz, 128 words/cycle of HBM: the authors'
VCU128 simulator settings; buffers by their sizing rule) on a BERT-base-sized FABNet (12 FBfly layers, width
1024, FFN 4096: their simulator pads 768 / 3072 to powers of two) at sequence lengths 128-1024, next to the
paper's 2.4 ms and 40.48 predictions/J. Energies come from the 45 nm ASIC tables, not from an FPGA.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from coexplore.api import search_accelerator
from coexplore.cost.butterfly import ButterflyAccelerator, price_network
from coexplore.cost.vector import price_vector_op
from coexplore.hwsearch.butterfly_search import search_butterfly
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network
from coexplore.presets.transformers import LRA_TASKS
from coexplore.spec.workload import Network


def systolic(net: Network, budget: str, evals: int, seed: int) -> dict[str, Any]:
    """Best systolic design for ``net`` (NAAS, throttled) and its cost with the vector ops added."""
    t0 = time.perf_counter()
    r: Any = search_accelerator(net, budget, "edp", budget_evals=evals, throttle=True, seed=seed)
    vec = [price_vector_op(op, r.best, throttle=True) for op in net.vector_ops]
    energy = r.energy_pj + sum(v.energy_pj for v in vec)
    latency = r.latency_cycles + sum(v.latency_cycles for v in vec)
    return {"energy_pj": energy, "latency_cycles": latency, "acc": r.best, "seconds": time.perf_counter() - t0,
            "label": f"{r.best.mac.mesh_x}x{r.best.mac.mesh_y}"}


def butterfly(net: Network, budget: str, evals: int, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    r = search_butterfly([net], get_accelerator(budget), strategy="evolution", seed=seed, budget_evals=evals)
    c = price_network(net, r.best)
    return {"energy_pj": c.energy_pj, "latency_cycles": c.latency_cycles, "acc": r.best,
            "seconds": time.perf_counter() - t0,
            "label": f"{r.best.engines}x{r.best.units_per_engine} d{r.best.data_buffer_words} "
                     f"c{r.best.coef_buffer_words}"}


def on_systolic(net: Network, acc: Any) -> dict[str, float]:
    """``net`` on a fixed systolic design (default mapper, throttled), vector ops included."""
    from coexplore.mapper.network import map_network

    m = map_network(net, acc, jobs=1, progress=False, seed=0, throttle=True)
    return {"energy_pj": m.energy_pj, "latency_cycles": m.latency_cycles}


def paper_point(seq: int) -> tuple[float, float, float]:
    """Latency (ms), energy (uJ) and predictions/J of the paper-shaped design on a BERT-base-sized FABNet."""
    width, hidden = 1024, 4096
    longest = max(hidden, 1 << (seq - 1).bit_length())
    stages = longest.bit_length() - 1
    acc = ButterflyAccelerator(name="paper-vcu128", engines=120, units_per_engine=4, data_buffer_words=2 * longest,
                               coef_buffer_words=2 * longest * stages, clock_ghz=0.2,
                               dram_bandwidth_words_per_cycle=128.0, bits=16)
    net = get_network(f"fabnet-lra:layers=12,width={width},hidden={hidden},seq={seq}")
    c = price_network(net, acc)
    return c.latency_ms, c.energy_pj / 1e6, 1e12 / c.energy_pj


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", default="nvdla-1024")
    ap.add_argument("--systolic-evals", type=int, default=100)
    ap.add_argument("--butterfly-evals", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tasks", default=",".join(LRA_TASKS))
    ap.add_argument("--skip-cross", action="store_true", help="skip the two cross pairs")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t_all = time.perf_counter()
    print(f"budget {args.budget}: systolic NAAS {args.systolic_evals} evals (throttled), butterfly evolution "
          f"{args.butterfly_evals} evals, seed {args.seed}\n")
    head = (f"{'task':<11}{'FABNet/bfly cyc':>16}{'uJ':>10}{'Trans/syst cyc':>16}{'uJ':>10}{'lat ratio':>10}"
            f"{'energy ratio':>13}{'FAB/syst lat x':>15}{'Trans/bfly lat x':>17}  designs (butterfly | systolic)")
    print(head)
    for task in args.tasks.split(","):
        fab, tr = get_network(f"fabnet-lra:task={task}"), get_network(f"lra-transformer:task={task}")
        b = butterfly(fab, args.budget, args.butterfly_evals, args.seed)
        s = systolic(tr, args.budget, args.systolic_evals, args.seed)
        cross = ""
        if not args.skip_cross:
            fs = systolic(fab, args.budget, args.systolic_evals, args.seed)
            tb = butterfly(tr, args.budget, args.butterfly_evals, args.seed)
            cross = (f"{s['latency_cycles'] / fs['latency_cycles']:>15.2f}"
                     f"{s['latency_cycles'] / tb['latency_cycles']:>17.2f}")
            cross_e = (f"   energy x: FABNet on systolic {s['energy_pj'] / fs['energy_pj']:.2f}, "
                       f"Transformer on butterfly {s['energy_pj'] / tb['energy_pj']:.2f}")
        print(f"{task:<11}{b['latency_cycles']:>16,.0f}{b['energy_pj'] / 1e6:>10.1f}{s['latency_cycles']:>16,.0f}"
              f"{s['energy_pj'] / 1e6:>10.1f}{s['latency_cycles'] / b['latency_cycles']:>10.2f}"
              f"{s['energy_pj'] / b['energy_pj']:>13.2f}{cross}  {b['label']} | {s['label']}")
        if cross:
            print(cross_e)
    print("\n(ratios = Transformer on its best systolic design / X; 'FAB/syst lat x' = the Transformer's systolic "
          "latency over FABNet's on its own best systolic design: the algorithm's share; 'Trans/bfly' = over the "
          "Transformer's on its best butterfly design: the hardware alone)")
    print("\npaper-shaped butterfly design (120 BEs x 4 BUs, 16-bit, 200 MHz, 128 words/cycle) on a BERT-base-sized "
          "FABNet (12 layers, width 1024, FFN 4096):")
    print(f"{'seq':>6}{'latency ms':>12}{'energy uJ':>12}{'pred/J':>10}")
    for seq in (128, 256, 512, 1024):
        ms, uj, pj = paper_point(seq)
        print(f"{seq:>6}{ms:>12.3f}{uj:>12.1f}{pj:>10.1f}")
    print("paper (VCU128 FPGA, 16 nm): 2.4 ms, 10.727 W, 40.48 predictions/J")
    print(f"\ntotal {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    main()
