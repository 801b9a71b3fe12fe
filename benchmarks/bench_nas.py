"""Constrained NAS on NAS-Bench-201: queries until the best feasible network is found, per strategy.

    python benchmarks/bench_nas.py [--seeds 20] [--strategies brp evolution reinforce random]
        [--budget 300] [--random-budget 5000] [--percentile 25] [--framework onnx] [--data-dir DIR]

The problem of the issue: maximise CIFAR-100 200-epoch test accuracy subject to
Raspberry Pi 5 latency (ONNX Runtime, the measured table) at most its 25th percentile.
Latency is a table lookup, so networks over the limit are pruned before any accuracy
query; a query is one accuracy evaluation ("one network trained"). For each strategy
and seed: the 1-based query at which the best feasible network (the table's maximum
over the feasible set) was queried, or the budget when it was not found (then it
counts as censored). A run stops at the query that finds the best (its trajectory up to
there is the same as without stopping). Prints one JSON line per strategy, then a summary.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from coexplore.datadir import set_data_dir
from coexplore.nas.build import latency_limit
from coexplore.nas.evaluators import TableAccuracy, TableLatency
from coexplore.nas.nb201 import NB201Space
from coexplore.nas.search import search_nas


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--strategies", nargs="+", default=["brp", "evolution", "reinforce", "random"])
    ap.add_argument("--budget", type=int, default=300, help="accuracy queries per run (model-based strategies)")
    ap.add_argument("--random-budget", type=int, default=5000, help="accuracy queries per run for random search")
    ap.add_argument("--percentile", type=float, default=25.0)
    ap.add_argument("--framework", default="onnx")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = ap.parse_args()
    set_data_dir(args.data_dir)
    space = NB201Space(dataset="cifar100")
    acc = TableAccuracy(space=space)
    lat = TableLatency(space=space, framework=args.framework)
    limit = latency_limit(space, lat, args.percentile)
    feasible = (lat.all() <= limit) & np.array([not c.degenerate for c in space.all_cells()])
    best = float(acc.all()[feasible].max())
    best_index = [int(i) for i in np.flatnonzero(feasible & (acc.all() == best))]
    print(json.dumps({"limit_ms": limit, "feasible": int(feasible.sum()), "best_accuracy": best,
                      "best_index": best_index}), flush=True)
    for strategy in args.strategies:
        budget = args.random_budget if strategy == "random" else args.budget
        found: list[int | None] = []
        t0 = time.perf_counter()
        for seed in range(args.seeds):
            res = search_nas(space, accuracy=acc, latency=lat, max_latency_ms=limit, strategy=strategy,
                             budget_queries=budget, seed=seed, target_accuracy=best)
            found.append(res.queries_to_reach(best))
        hits = [f for f in found if f is not None]
        censored = [f if f is not None else budget for f in found]
        row: dict[str, Any] = {
            "strategy": strategy, "budget": budget, "seeds": args.seeds, "found": len(hits),
            "mean_queries": float(np.mean(censored)), "median_queries": float(np.median(censored)),
            "max_queries": int(max(censored)), "queries": found,
            "seconds_per_run": (time.perf_counter() - t0) / args.seeds,
        }
        line = json.dumps(row)
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(line + "\n")


if __name__ == "__main__":
    main()
