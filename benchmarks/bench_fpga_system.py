"""Super-LIP on system specs: what the links' topology costs four ZCU102 boards, same search, same process.

Run: ``PYTHONPATH=. nice python benchmarks/bench_fpga_system.py`` (a few minutes on one core).

AlexNet's five convolutions (coexplore's torchvision preset, 16-bit, 10 Gbit/s = 1.25 GB/s links,
uneven splits as the paper's script) searched exhaustively on four systems of four boards, each
given as a system spec (:mod:`coexplore.system.fpga_cluster`):

- ``all-to-all``: what ``--boards 4 --link-gbps 10`` stands for (every pair linked);
- ``ring``: four boards on a ring (a 2x2 mesh is the same graph): splits whose 2 x 2 grid is the
  ring (``K=2`` with ``N``, ``P`` or ``Q=2``) or that use two neighbours, never ``K=4`` or ``P=4``;
- ``ring, 1 us hops``: the same with a hop latency of 1 us (200 cycles) on every link transfer;
- ``two boards``: ``examples/system_fpga2.yaml``.

It prints, per system, the network latency, the speed-up over the best one-board design and the
ratio to the all-to-all system, and the splits chosen per layer.
"""

from __future__ import annotations

import time
from pathlib import Path

from coexplore.hwsearch.multi_fpga import search_cluster
from coexplore.resolve import resolve_network
from coexplore.spec.workload import Network
from coexplore.system.fpga_cluster import cluster_from_system, complete_system
from coexplore.system.spec import load_system, system_from_dict

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def ring(hop_ns: float) -> dict[str, object]:
    return {"name": f"ring4-hop{hop_ns:g}ns", "engines": {"count": 4, "board": "zcu102"}, "topology": {"kind": "ring"},
            "link": {"bandwidth_gb_per_s": 1.25, "hop_latency_ns": hop_ns}, "word_bits": 16}


def main() -> None:
    net = resolve_network("alexnet")
    convs = Network(name="alexnet-convs", layers=tuple(x for x in net.layers if x.R > 1))
    systems = {
        "all-to-all": complete_system("zcu102", 4, 1.25),
        "ring": system_from_dict(ring(0.0)),
        "ring, 1 us hops": system_from_dict(ring(1000.0)),
        "two boards": load_system(EXAMPLES / "system_fpga2.yaml"),
    }
    base = None
    print(f"{'system':<18} {'cycles':>11} {'vs 1 board':>10} {'vs all-to-all':>13} {'s':>6}  splits")
    for name, spec in systems.items():
        t0 = time.perf_counter()
        res = search_cluster([convs], cluster_from_system(spec), uneven=True)
        secs = time.perf_counter() - t0
        base = base or res.latency_cycles
        splits = " ".join(x.partition.label() for x in res.layers)
        print(f"{name:<18} {res.latency_cycles:>11,} {res.speedup:>9.3f}x {base / res.latency_cycles:>12.3f}x "
              f"{secs:>6.1f}  {splits}", flush=True)


if __name__ == "__main__":
    main()
