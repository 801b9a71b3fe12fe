"""``coexplore maestro``: price a MAESTRO mapping (DFSL) file on a MAESTRO hardware file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from coexplore.cli import format as fmt
from coexplore.cli.args import output_file

__all__ = ["register"]


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
