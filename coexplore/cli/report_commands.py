"""``coexplore report``: a stored study as HTML, CSV, JSON and plot files (read-only)."""

from __future__ import annotations

import argparse
from typing import Any

from coexplore.cli.args import count, output_file, output_folder

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="a study's report: one self-contained HTML page, CSV/JSON, plots")
    p.add_argument("name", help="study name")
    p.add_argument("--storage", required=True, help="sqlite:///PATH or postgresql://USER@HOST/DB")
    p.add_argument("--html", type=output_file, default=None, metavar="FILE", help="self-contained HTML report")
    p.add_argument("--csv", type=output_file, default=None, metavar="FILE", help="all trials, one row each")
    p.add_argument("--json-out", type=output_file, default=None, metavar="FILE",
                   help="trials, front, convergence and best designs as JSON")
    p.add_argument("--plots", type=output_folder, default=None, metavar="DIR",
                   help="PNG and SVG plots into this directory")
    p.add_argument("--top", type=count, default=5, metavar="N", help="best designs to detail (default 5)")
    p.add_argument("--json", action="store_true", help="print the written paths as JSON on stdout")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> Any:
    from coexplore.errors import SpecError
    from coexplore.report.write import write_report

    if not any((args.html, args.csv, args.json_out, args.plots)):
        raise SpecError("report: give at least one output: --html FILE, --csv FILE, --json-out FILE or --plots DIR")
    r = write_report(args.name, args.storage, html=args.html, csv=args.csv, json=args.json_out,
                     plots_dir=args.plots, top=args.top)
    out = {"html": r.html and str(r.html), "csv": r.csv and str(r.csv), "json": r.json and str(r.json),
           "plots": [str(p) for p in r.plots], "seconds": r.seconds}
    if not args.json:
        files = [str(p) for p in (r.html, r.csv, r.json) if p is not None]
        print(f"report {args.name}: wrote {', '.join(files) or 'no file'}"
              + (f" and {len(r.plots)} plot files" if r.plots else "") + f" in {r.seconds:.1f} s")
    return out
