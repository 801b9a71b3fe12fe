"""``coexplore cim``: price a network on a computing-in-memory crossbar design (NACIM's hardware model)."""

from __future__ import annotations

import argparse
from typing import Any

from coexplore.cli import format as fmt
from coexplore.cli.args import count, non_empty, positive_number

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("cim", help="price a network on a computing-in-memory crossbar design (NeuroSim-style: "
                                   "sub-arrays, cycles, energy, area, TOPS/W)")
    p.add_argument("--network", required=True, type=non_empty,
                   help="a network preset, YAML or ONNX file, nb201-cifar10:INDEX, chain-digits:k3c9-k5c18")
    p.add_argument("--device", default="rram", help="rram, rram-neurosim, fefet, sram or pcm (default rram)")
    p.add_argument("--sub-array", type=count, default=128, help="rows and columns of a sub-array (128)")
    p.add_argument("--cell-bits", type=count, default=2, help="bits per cell; must divide --weight-bits (2)")
    p.add_argument("--adc-bits", type=count, default=5,
                   help="ADC bits, at most ceil(log2(rows x (2^cell_bits - 1) + 1)) (5)")
    p.add_argument("--cols-per-adc", type=count, default=8, help="columns sharing one ADC; divides --sub-array (8)")
    p.add_argument("--weight-bits", type=count, default=8, help="weight bits (8)")
    p.add_argument("--input-bits", type=count, default=8, help="input bits, applied one per pulse (8)")
    p.add_argument("--tiles", type=count, default=None, help="tiles of 4 PEs x 4 sub-arrays (default: fewest "
                                                              "that hold the network)")
    p.add_argument("--tech-nm", type=positive_number, default=22.0, help="technology node, nm (22)")
    p.add_argument("--clock-mhz", type=positive_number, default=1000.0, help="clock, MHz (1000)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.set_defaults(func=cmd_cim)


def cmd_cim(args: argparse.Namespace) -> Any:
    import dataclasses

    from coexplore.cost.cim import CimDesign, price_network, tiles_to_fit
    from coexplore.resolve import resolve_network

    design = CimDesign(device=args.device, sub_array=args.sub_array, cell_bits=args.cell_bits,
                       adc_bits=args.adc_bits, cols_per_adc=args.cols_per_adc, weight_bits=args.weight_bits,
                       input_bits=args.input_bits, tiles=args.tiles or 1, tech_nm=args.tech_nm,
                       clock_mhz=args.clock_mhz)  # refuses a bad design before the network is read
    network = resolve_network(args.network)
    if args.tiles is None:
        design = dataclasses.replace(design, tiles=tiles_to_fit(network, design))
    cost = price_network(network, design)
    out = {"network": network.name, "design": dataclasses.asdict(design), "latency_ns": cost.latency_ns,
           "energy_pj": cost.energy_pj, "edp": cost.edp, "area_um2": cost.area_um2, "tops": cost.tops,
           "tops_per_w": cost.tops_per_w, "macs": cost.macs, "streaming": cost.streaming,
           "layers": [{"name": x.name, "subarrays": x.subarrays, "rounds": x.rounds, "cycles": x.cycles,
                       "latency_ns": x.latency_ns, "energy_pj": x.total_energy_pj, "energy_parts_pj": dict(x.energy_pj)}
                      for x in cost.layers]}
    if not args.json:
        fmt.table(["layer", "sub-arrays", "cycles", "latency ns", "energy pJ"],
                  [[x.name, x.subarrays, f"{x.cycles:,}", f"{x.latency_ns:.4g}", f"{x.total_energy_pj:.4g}"]
                   for x in cost.layers])
        print(f"\n{network.name} on {design.tiles} tiles of {design.device} ({design.sub_array}x{design.sub_array}, "
              f"{design.cell_bits}-bit cells, {design.adc_bits}-bit ADC per {design.cols_per_adc} columns): latency "
              f"{cost.latency_ns:.4g} ns, energy {cost.energy_pj:.4g} pJ, area {cost.area_um2:.4g} um2, "
              f"{cost.tops:.3g} TOPS, {cost.tops_per_w:.3g} TOPS/W" + (" (weights streamed)" if cost.streaming else ""))
    return out
