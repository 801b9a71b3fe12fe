"""Accelerator search (NAAS) vs the preset and vs sizing-only search, per (network, budget) row.

    python benchmarks/bench_hwsearch.py [--rows mobilenetv2:eyeriss squeezenet:nvdla-256] [--budget-evals 600]
        [--max-seconds 540] [--jobs 2] [--seed 0] [--out results.jsonl]

Rows follow NAAS (Lin et al., DAC 2021): the large networks vgg16, resnet50, unet under the
edgetpu and nvdla-1024 budgets; the light ones mobilenetv2, squeezenet, mnasnet under
eyeriss, shidiannao and nvdla-256. For each row: the preset's EDP with its best mappings
(default mapper), the EDP of a sizing-only search (the preset's connectivity and array
shape; PEs and buffers searched) and of a full search (plus the array shape and the
parallel dims), both with the NAAS strategy (CMA-ES) and the same budget; the ratios, and
each search's evaluations/s and seconds. One JSON line per row, then a summary. The
issue's goal: full search >= 2x lower EDP than the preset on average (geometric mean),
lower than sizing-only on every row, each search within 10 minutes.

``--rows`` takes NETWORK:BUDGET pairs, or a network or budget name (all its rows).
``--padded-baseline`` also maps each network on the preset with padded (imperfect)
factorizations allowed (``map --padding``): odd feature-map sizes (SqueezeNet's 111, 55,
27, 13) cannot spread over ShiDianNao's 8x8 P/Q array with perfect factors, which
flatters the search against the preset; the column shows the preset at its best.
``--from FILE`` reuses the search rows of an earlier ``--out`` file (no search is re-run).
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from coexplore.hwsearch.search import search_accelerator
from coexplore.mapper.network import map_network
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network

LARGE = [(n, b) for n in ("vgg16", "resnet50", "unet") for b in ("edgetpu", "nvdla-1024")]
LIGHT = [(n, b) for n in ("mobilenetv2", "squeezenet", "mnasnet") for b in ("eyeriss", "shidiannao", "nvdla-256")]
ROWS = LARGE + LIGHT


def _selected(filters: list[str] | None) -> list[tuple[str, str]]:
    if not filters:
        return ROWS
    out = []
    for net, budget in ROWS:
        if any(f in (f"{net}:{budget}", net, budget) for f in filters):
            out.append((net, budget))
    unknown = [f for f in filters if not any(f in (f"{n}:{b}", n, b) for n, b in ROWS)]
    if unknown:
        raise SystemExit(f"--rows: unknown {unknown}; rows: {' '.join(f'{n}:{b}' for n, b in ROWS)}")
    return out


def _geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rows", nargs="*", help="NETWORK:BUDGET pairs, or network / budget names")
    ap.add_argument("--budget-evals", type=int, default=600, help="accelerator candidates per search")
    ap.add_argument("--max-seconds", type=float, default=540.0, help="time limit of each search loop")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", nargs="+", default=["sizing", "full"], choices=["sizing", "full"])
    ap.add_argument("--out", default=None, help="also append the JSON lines to this file")
    ap.add_argument("--padded-baseline", action="store_true", help="also the preset's EDP with padded mappings")
    ap.add_argument("--from", dest="from_file", default=None, help="reuse search rows of an earlier --out file")
    args = ap.parse_args()
    earlier: dict[tuple[str, str], dict[str, Any]] = {}
    if args.from_file:
        with open(args.from_file) as fh:
            for text in fh:
                r = json.loads(text)
                if "network" in r:
                    earlier[(r["network"], r["budget"])] = r
    rows: list[dict[str, Any]] = []
    for net, budget in _selected(args.rows):
        row: dict[str, Any] = dict(earlier.get((net, budget), {"network": net, "budget": budget}))
        for mode in args.modes:
            if f"{mode}_edp" in row:
                continue
            r = search_accelerator([net], budget, "edp", strategy="naas", mode=mode, seed=args.seed,
                                   budget_evals=args.budget_evals, max_seconds=args.max_seconds, jobs=args.jobs,
                                   progress=False)
            row["preset_edp"] = r.baseline_edp
            row[f"{mode}_edp"] = r.edp
            row[f"{mode}_ratio"] = r.baseline_edp / r.edp
            row[f"{mode}_evaluations"] = r.evaluations
            row[f"{mode}_evals_per_s"] = r.evaluations_per_second
            row[f"{mode}_seconds"] = r.seconds
            row[f"{mode}_array"] = f"{r.best.mac.mesh_x}x{r.best.mac.mesh_y}"
            if r.design is not None:
                row[f"{mode}_dims"] = ["".join(r.design.dims_x), "".join(r.design.dims_y)]
        if "sizing_edp" in row and "full_edp" in row:
            row["full_vs_sizing"] = row["sizing_edp"] / row["full_edp"]
        if args.padded_baseline:
            padded = map_network(get_network(net), get_accelerator(budget), padding=True, jobs=args.jobs,
                                 seed=args.seed, progress=False)
            row["preset_padded_edp"] = min(padded.edp, row["preset_edp"])
            for mode in args.modes:
                row[f"{mode}_ratio_vs_padded"] = row["preset_padded_edp"] / row[f"{mode}_edp"]
        rows.append(row)
        line = json.dumps(row)
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(line + "\n")
    summary: dict[str, Any] = {"rows": len(rows)}
    for mode in args.modes:
        summary[f"{mode}_geomean_ratio"] = _geomean([r[f"{mode}_ratio"] for r in rows])
        summary[f"{mode}_max_seconds"] = max(r[f"{mode}_seconds"] for r in rows)
        if args.padded_baseline:
            summary[f"{mode}_geomean_ratio_vs_padded"] = _geomean([r[f"{mode}_ratio_vs_padded"] for r in rows])
    if "full_vs_sizing" in rows[0]:
        summary["full_beats_sizing_on_every_row"] = all(r["full_vs_sizing"] > 1 for r in rows)
    if "full" in args.modes:
        summary["goal_2x"] = summary["full_geomean_ratio"] >= 2.0
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
