"""``coexplore maestro``: price a MAESTRO mapping (DFSL) file on a MAESTRO hardware file; ``coexplore
maestro-system``: price a heterogeneous multi-accelerator system (its own command, so that ``maestro``'s
required ``--hw``/``--mapping`` stay as they are)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from coexplore.cli import format as fmt
from coexplore.cli.args import output_file

__all__ = ["register", "register_system"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from coexplore.maestro.energy import CONSTANT_SETS

    p = sub.add_parser("maestro", help="price a MAESTRO mapping (DFSL .m) on a MAESTRO hardware file, with "
                                       "MAESTRO's semantics (per-layer runtime, L1/L2 accesses, energy, area, power)")
    p.add_argument("--hw", required=True, metavar="HW.m", help="MAESTRO hardware file (num_pes, l1_size_cstr, ...)")
    p.add_argument("--mapping", required=True, metavar="MAPPING.m", help="MAESTRO mapping (DFSL) file")
    p.add_argument("--csv", type=output_file, default=None, metavar="OUT.csv",
                   help="write the per-layer CSV with MAESTRO's column names")
    p.add_argument("--constants", default="current", choices=sorted(CONSTANT_SETS),
                   help="energy/area constant set: current (MAESTRO 4eb08d1) or nasaic (the older set NASAIC used)")
    p.add_argument("--no-energy-quirks", action="store_true",
                   help="per-layer energy with its own L1 counts and the MAC term (MAESTRO's CSV has neither)")
    p.add_argument("--strict-clusters", action="store_true",
                   help="refuse a Cluster size that does not divide the PEs (MAESTRO leaves the rest idle)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.set_defaults(func=cmd_maestro)


def cmd_maestro(args: argparse.Namespace) -> Any:
    from coexplore.api import evaluate_maestro

    result = evaluate_maestro(args.hw, args.mapping, constant_set=args.constants,
                              energy_quirks=not args.no_energy_quirks, strict_clusters=args.strict_clusters)
    if result.notes:
        more = f" (and {len(result.notes) - 1} more layers alike)" if len(result.notes) > 1 else ""
        print(f"coexplore maestro: note: {result.notes[0]}{more}", file=sys.stderr)
    if args.csv:
        result.write_csv(args.csv)
    out = result.to_record()
    if not args.json:
        rows = [[r.values["Layer Number"], f"{r.runtime_cycles:,}", f"{r.energy_nj:.6g}",
                 f"{r.values['Num MACs']:,}", f"{float(r.values['Avg number of utilized PEs']):.1f}"]  # type: ignore[arg-type]
                for r in result.layers]
        fmt.table(["layer", "runtime cycles", "energy nJ", "MACs", "avg PEs"], rows)
        print(f"\n{result.network}: {result.runtime_cycles:,} cycles, {result.energy_nj:.6g} nJ "
              f"(constants {result.constant_set}"
              f"{', per-layer energy as MAESTRO CSV' if result.energy_quirks else ''})"
              + (f"; CSV written to {args.csv}" if args.csv else ""))
    return out


def _indices(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        try:
            v = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be comma-separated sub-accelerator indices (0, 1, ...), "
                                             f"got {text!r}") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"must be sub-accelerator indices >= 0, got {v}")
        out.append(v)
    return out


def register_system(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from coexplore.cli.args import count, non_empty, non_negative_count
    from coexplore.maestro.energy import CONSTANT_SETS
    from coexplore.maestro.templates import TEMPLATES

    p = sub.add_parser("maestro-system", help="price a heterogeneous multi-accelerator system (NASAIC): one network "
                                              "per task on sub-accelerators <template, PEs, NoC bandwidth>, with "
                                              "MAESTRO's semantics and latency/energy/area specs")
    p.add_argument("--networks", required=True, type=non_empty, metavar="NET,NET",
                   help="one network per task, comma-separated (presets, nb201:INDEX, YAML files)")
    p.add_argument("--design", required=True, type=non_empty, metavar="T:PES:BW,...",
                   help="sub-accelerators as template:PEs:bandwidth, e.g. dla:576:56,shi:1792:8 "
                        f"(templates: {', '.join(TEMPLATES)})")
    p.add_argument("--assign", type=_indices, default=None, metavar="I,I",
                   help="sub-accelerator index of each network (default: network i on sub-accelerator i)")
    p.add_argument("--specs", default=None, metavar="L,E,A",
                   help="hard constraints: latency cycles, energy nJ, area um2 (e.g. 8e5,2e9,4e9; a field may be "
                        "empty)")
    p.add_argument("--constants", default="current", choices=sorted(CONSTANT_SETS),
                   help="energy/area constant set: current (MAESTRO 4eb08d1) or nasaic (the older set NASAIC used)")
    p.add_argument("--energy-quirks", action="store_true",
                   help="per-layer energy as MAESTRO's CSV (no MAC term, previous layer's L1) instead of its summary")
    p.add_argument("--pe-budget", type=count, default=4096, help="PEs the sub-accelerators share (default 4096)")
    p.add_argument("--pe-step", type=count, default=64, help="each sub-accelerator's PEs a multiple of this (64)")
    p.add_argument("--bw-budget", type=count, default=64, help="NoC bandwidth they share, elements/cycle (64)")
    p.add_argument("--bw-step", type=count, default=8, help="each bandwidth a multiple of this (8)")
    p.add_argument("--offchip-bw", type=count, default=50,
                   help="off-chip bandwidth of every sub-accelerator, elements/cycle (default 50)")
    p.add_argument("--noc-hops", type=non_negative_count, default=1, help="NoC hop latency in cycles (default 1)")
    p.add_argument("--l1-bytes", type=count, default=None,
                   help="L1 bytes per PE for the area (default: the largest requirement of the assigned layers)")
    p.add_argument("--l2-bytes", type=count, default=None,
                   help="L2 bytes per sub-accelerator for the area (default: the largest requirement)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.set_defaults(func=cmd_maestro_system)


def cmd_maestro_system(args: argparse.Namespace) -> Any:
    from coexplore.api import evaluate_maestro_system
    from coexplore.maestro.system import Budget

    result = evaluate_maestro_system(
        args.networks, args.design, assign=args.assign, specs=args.specs, constant_set=args.constants,
        energy_quirks=args.energy_quirks, offchip_bandwidth=args.offchip_bw, noc_hops=args.noc_hops,
        budget=Budget(pes=args.pe_budget, pe_step=args.pe_step, bandwidth=args.bw_budget,
                      bandwidth_step=args.bw_step),
        l1_bytes=args.l1_bytes, l2_bytes=args.l2_bytes)
    out = result.to_record()
    if not args.json:
        rows = [[n.network, result.design.subs[n.sub].label(), f"{n.runtime_cycles:,}", f"{n.energy_nj:.4g}",
                 f"{n.macs:,}", f"{n.maestro_macs:,}"] for n in result.networks]
        fmt.table(["network", "sub-accelerator", "latency cycles", "energy nJ", "MACs", "MAESTRO's MACs"], rows)
        print(f"\nsystem: latency {result.latency_cycles:,} cycles (slowest sub-accelerator), energy "
              f"{result.energy_nj:.4g} nJ, area {result.area_um2:.4g} um2 (constants {result.constant_set})")
        if result.specs != type(result.specs)():
            print("specs: met" if result.meets_specs else "specs violated: " + "; ".join(result.violations))
    return out
