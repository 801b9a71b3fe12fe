"""Super-LIP: two ZCU102 boards against the best one-board design, same search, same process.

Run: ``PYTHONPATH=. nice python benchmarks/bench_superlip.py`` (about 2-4 minutes on one core).

For AlexNet's five convolutions it prints, per layer, the best two-board split and tiling,
the bound, and the speed-up over the best one-board tiling (both from the exhaustive
search of :mod:`coexplore.hwsearch.multi_fpga`), and the whole-network speed-up next to
the paper's 3.48x. Two settings:

- ``paper``: the authors' exploration script (XFER_FPGA ``PARA.py``): 32-bit float, 100 MHz,
  separate input, weight and output streams of 4 words/cycle each (1.6 GB/s; 4.8 GB/s in all),
  an inter-FPGA link of 4 words/cycle (1.6 GB/s = 12.8 Gbit/s; their boards use SFP+ fibre
  with Aurora cores).
- ``preset``: coexplore's ``zcu102`` (16-bit fixed point, 200 MHz, one 19.2 GB/s DDR4 port)
  with one 10 Gbit/s SFP+ link.

Each with factors that divide their dimension (``strict``, the issue's rule) and with
the paper's rounded-up splits (``uneven``). The torchvision AlexNet is coexplore's preset;
the paper's own shapes (the two-GPU AlexNet's per-group layers, from ``PARA.py``) run too.
Then a memory-bound layer with a super-linear two-board speed-up (the terms that explain it),
and, as a hint of where a larger figure can come from, the two-board design against one
board running ONE tiling for all five layers (Zhang'15 / FNAS's shared engine).
"""

from __future__ import annotations

import dataclasses
import time

from coexplore.cost.fpga_multi import MultiFpga, MultiLayerLatency
from coexplore.hwsearch.fpga import best_design
from coexplore.hwsearch.multi_fpga import best_layer, search_multi_fpga
from coexplore.presets.boards import get_board
from coexplore.resolve import resolve_network
from coexplore.spec.workload import Layer, Network

PAPER_SPEEDUP = 3.48
ZCU102 = get_board("zcu102")
PAPER_BOARD = dataclasses.replace(ZCU102, name="zcu102-paper", clock_mhz=100.0, bandwidth_gbytes_per_s=4.8)
SETTINGS = {  # name: (system, bits)
    "paper": (MultiFpga(board=PAPER_BOARD, boards=2, link_gbytes_per_s=1.6, ports="split"), 32),
    "preset": (MultiFpga(board=ZCU102, boards=2, link_gbytes_per_s=10 / 8, ports="shared"), 16),
}


def alexnet_convs() -> Network:
    net = resolve_network("alexnet")
    return Network(name="alexnet-convs", layers=tuple(x for x in net.layers if x.R > 1))


def paper_alexnet() -> Network:
    """PARA.py's layers: (M, N, R=C, K) = output channels, input channels, output size, kernel."""
    shapes = [("conv1", 96, 3, 55, 11, 4), ("conv2", 128, 48, 27, 5, 1), ("conv3", 384, 256, 13, 3, 1),
              ("conv4", 192, 192, 13, 3, 1), ("conv5", 128, 192, 13, 3, 1)]
    return Network(name="alexnet-paper", layers=tuple(
        Layer(name=n, K=m, C=c, P=r, Q=r, R=k, S=k, stride=(s, s)) for n, m, c, r, k, s in shapes))


def _macs(x: MultiLayerLatency) -> int:
    return x.design.Tm * x.design.Tn


def run_network(net: Network, setting: str, uneven: bool) -> tuple[float, int]:
    system, bits = SETTINGS[setting]
    t0 = time.perf_counter()
    r = search_multi_fpga([net], system, bits=bits, uneven=uneven)
    print(f"\n{net.name}, setting {setting}, {'uneven' if uneven else 'strict'} splits "
          f"({time.perf_counter() - t0:.1f} s, {r.evaluated:,} designs)")
    print(f"{'layer':12} {'split':6} {'Tm,Tn,Tr,Tc':>14} {'bound':8} {'cycles':>10} | {'1 board':>14} "
          f"{'bound':8} {'cycles':>10} | speedup")
    for x, o in zip(r.layers, r.one_board, strict=True):
        print(f"{x.name:12} {x.partition.label():6} {','.join(map(str, x.design.tiles)):>14} {x.bound:8} "
              f"{x.latency_cycles:>10,} | {','.join(map(str, o.design.tiles)):>14} {o.bound:8} "
              f"{o.latency_cycles:>10,} | {o.latency_cycles / x.latency_cycles:.3f}x")
    print(f"whole network: {r.latency_cycles:,} vs {r.one_board_latency_cycles:,} cycles: "
          f"speedup {r.speedup:.3f}x (paper: {PAPER_SPEEDUP}x)")
    return r.speedup, r.latency_cycles


def super_linear_layer() -> None:
    """ResNet-50's layer4.0.conv1 (1x1, 1024 -> 512 channels, 14x14): memory-bound on one board."""
    layer = next(x for x in resolve_network("resnet50").layers if x.name == "layer4.0.conv1")
    for setting in SETTINGS:
        system, bits = SETTINGS[setting]
        two = best_layer(layer, system, bits=bits).latency
        one = best_layer(layer, dataclasses.replace(system, boards=1), bits=bits).latency
        print(f"\nresnet50 {layer.name} (K={layer.K}, C={layer.C}, {layer.P}x{layer.Q}, 1x1), setting {setting}")
        for label, x in (("1 board ", one), ("2 boards", two)):
            print(f"  {label}: split {x.partition.label():5} tiles {x.design.tiles} ({_macs(x)} MACs busy), per step "
                  f"compute {x.compute_cycles}, memory {x.memory_cycles}, link {x.link_cycles} cycles; "
                  f"{x.n_tiles} output tiles x {x.n_in} steps; {x.bound}-bound, {x.latency_cycles:,} cycles")
        print(f"  speedup {one.latency_cycles / two.latency_cycles:.3f}x")


def one_engine_baseline(two_board_cycles: int) -> float:
    """A stronger claim's baseline: one board with ONE tiling for all five layers (Zhang'15/FNAS's
    shared engine, :func:`coexplore.hwsearch.fpga.best_design`; the ``preset`` setting, whose
    one-board multi-FPGA model is exactly ``cost/fpga.py``) against the re-tiled two-board design."""
    t0 = time.perf_counter()
    sol = best_design(alexnet_convs(), ZCU102, "shared", bits=16)
    print(f"\none shared engine for all AlexNet convolutions on 1 x zcu102 (preset setting, "
          f"{time.perf_counter() - t0:.1f} s): tiles {sol.designs[0].tiles}, {sol.latency_cycles:,} cycles; the "
          f"re-tiled two-board design is {sol.latency_cycles / two_board_cycles:.3f}x faster")
    return sol.latency_cycles / two_board_cycles


def main() -> None:
    results = {}
    for setting in SETTINGS:
        for uneven in (False, True):
            results[(setting, uneven)] = run_network(alexnet_convs(), setting, uneven)
    paper, _ = run_network(paper_alexnet(), "paper", True)
    super_linear_layer()
    shared = one_engine_baseline(results[("preset", True)][1])
    print("\nsummary, AlexNet convolutions, 2 x ZCU102 over the best 1 x ZCU102 (paper 3.48x):")
    for (setting, uneven), (s, _) in results.items():
        print(f"  torchvision AlexNet, {setting:6} {'uneven' if uneven else 'strict':6}: {s:.3f}x")
    print(f"  paper's AlexNet shapes, paper  uneven: {paper:.3f}x")
    print(f"  torchvision AlexNet, preset uneven, over one shared engine for all layers: {shared:.3f}x")


if __name__ == "__main__":
    main()
