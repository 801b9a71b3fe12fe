"""Accelerator search (NAAS CMA-ES, full mode) with each inner mapper: time and EDP, in the same run.

    python benchmarks/bench_hwsearch_mapper.py [--rows mobilenetv2:eyeriss squeezenet:nvdla-256 resnet18:shidiannao]
        [--budget-evals 200] [--jobs 2] [--seed 0] [--out hwsearch_mapper.json]

For every NETWORK:BUDGET row the same search (strategy ``naas``, same seed and candidate
budget) runs once with the default inner mapper (the local search's cheaper configuration)
and once with ``--mapper naas`` (NAAS's CMA-ES over importance-encoded mappings, 2,000
evaluations per layer shape), the paper's nested loop. Per row and mapper: the best
design's EDP after the final re-mapping (default mapper, keeping the inner mapper's
mappings where better), its ratio to the preset's, the best EDP the search saw under its
own inner mapper, the search loop's seconds and candidates per second. The summary gives
NAAS-inner / default-inner ratios of EDP and of search time.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from coexplore.hwsearch.search import search_accelerator


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rows", nargs="+", default=["mobilenetv2:eyeriss", "squeezenet:nvdla-256", "resnet18:shidiannao"])
    ap.add_argument("--budget-evals", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mappers", nargs="+", default=["default", "naas"], choices=["default", "naas"])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    for spec in args.rows:
        net, budget = spec.split(":")
        row: dict[str, Any] = {"network": net, "budget": budget}
        for mapper in args.mappers:
            r = search_accelerator([net], budget, "edp", strategy="naas", mode="full", seed=args.seed,
                                   budget_evals=args.budget_evals, jobs=args.jobs, mapper=mapper)
            row["preset_edp"] = r.baseline_edp
            row[mapper] = {"edp": r.edp, "ratio_vs_preset": r.edp_ratio, "search_value": r.search_value,
                           "search_seconds": r.search_seconds, "seconds": r.seconds,
                           "evaluations": r.evaluations, "evals_per_s": r.evaluations_per_second,
                           "array": f"{r.best.mac.mesh_x}x{r.best.mac.mesh_y}",
                           "dims": None if r.design is None else ["".join(r.design.dims_x), "".join(r.design.dims_y)]}
        if "default" in row and "naas" in row:
            row["naas_vs_default_edp"] = row["naas"]["edp"] / row["default"]["edp"]
            row["naas_vs_default_search_seconds"] = row["naas"]["search_seconds"] / row["default"]["search_seconds"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\nnetwork | budget | preset EDP | inner mapper | best EDP | vs preset | EDP seen in search | "
          "search s | candidates/s")
    for row in rows:
        for mapper in args.mappers:
            m = row[mapper]
            print(f"{row['network']} | {row['budget']} | {row['preset_edp']:.3e} | {mapper} | {m['edp']:.3e} | "
                  f"{m['ratio_vs_preset']:.2f}x | {m['search_value']:.3e} | {m['search_seconds']:.0f} | "
                  f"{m['evals_per_s']:.2f}")
    if rows and "naas_vs_default_edp" in rows[0]:
        g = math.exp(sum(math.log(r["naas_vs_default_edp"]) for r in rows) / len(rows))
        t = math.exp(sum(math.log(r["naas_vs_default_search_seconds"]) for r in rows) / len(rows))
        print(f"\ngeometric mean, naas inner / default inner: EDP {g:.3f}, search time {t:.2f}")
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "budget_evals": args.budget_evals, "seed": args.seed,
                                        "jobs": args.jobs}, indent=1))


if __name__ == "__main__":
    main()
