"""Constrained NAS on NAS-Bench-201: queries until the best feasible network is found, per strategy.

    python benchmarks/bench_nas.py --data-dir DIR [--seeds 20] [--strategies NAME ...]
        [--budget NAME=N ...] [--once-initial 10 50 100] [--percentile 25] [--framework onnx] [--out FILE]

The problem of the issue: maximise CIFAR-100 200-epoch test accuracy subject to
Raspberry Pi 5 latency (ONNX Runtime, the measured table) at most its 25th percentile.
Latency is a table lookup, so networks over the limit are pruned before any accuracy
query; a query is one accuracy evaluation ("one network trained"). For each strategy
and seed: the 1-based query at which the best feasible network (the table's maximum
over the feasible set) was queried, or the budget when it was not found (then it
counts as censored). A run stops at the query that finds the best (its trajectory up to
there is the same as without stopping).

Strategies: ``brp``, ``evolution``, ``reinforce``, ``random``, and the ablation of
BRP-NAS's learned parts (same seeds, same run): ``brp-gcn`` (the regression GCN instead
of the binary relation predictor), ``brp-once`` (no iterative data selection: one fit on
the first N random cells, then the pool in that ranking's order; one row ``brp-once-N``
per N of ``--once-initial``) and
``brp-random`` (random completion: BRP-NAS's 10 random start cells, then random cells).
Default budgets (accuracy queries): 300 for the strategies that refit a predictor every
round (brp, brp-gcn), 1,500 for evolution and reinforce, 5,000 for the others (at least
the 3,917 feasible cells, so they always finish).

Prints one JSON line per strategy, then a summary table (found, mean, median, max queries,
seconds per run) with the ratio of random search's mean and median to each strategy's.
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

MAIN = ("brp", "evolution", "reinforce", "random")
ABLATION = ("brp", "brp-gcn", "brp-once", "brp-random")
BUDGETS = {"brp": 300, "brp-gcn": 300, "evolution": 1500, "reinforce": 1500, "random": 5000, "brp-once": 5000,
           "brp-random": 5000}


def variant(name: str) -> tuple[str, dict[str, Any]]:
    """The registered strategy and its parameters behind a benchmark row name (``brp-once-N``: N initial cells)."""
    if name.startswith("brp-once-"):
        return "brp", {"selection": "once", "initial": int(name.rsplit("-", 1)[1])}
    params: dict[str, dict[str, Any]] = {"brp-gcn": {"predictor": "gcn"}, "brp-random": {"selection": "random"}}
    return ("brp" if name.startswith("brp") else name), params.get(name, {})


def budgets(overrides: list[str]) -> dict[str, int]:
    out = dict(BUDGETS)
    for item in overrides:
        name, _, value = item.partition("=")
        if name not in out or not value.isdigit() or int(value) < 1:
            raise SystemExit(f"--budget: expected NAME=N with NAME in {', '.join(out)} and N >= 1, got {item!r}")
        out[name] = int(value)
    return out


def table(rows: list[dict[str, Any]], names: tuple[str, ...], random: dict[str, Any] | None) -> str:
    """A markdown table of the rows named ``names`` (in that order), with ratios against random search."""
    lines = ["| strategy | budget | found | mean queries | median | max | s per run | CPU s per run "
             "| random mean / mean | random median / median |", "|---" * 10 + "|"]
    for r in (r for n in names for r in rows if r["strategy"] == n or (r["strategy"].startswith("brp-once-")
              and n == "brp-once")):
        ratio = ("", "") if random is None else (f"{random['mean_queries'] / r['mean_queries']:.1f}x",
                                                 f"{random['median_queries'] / r['median_queries']:.1f}x")
        cut = "" if r["found"] == r["seeds"] else " (not found)"
        lines.append(f"| {r['strategy']} | {r['budget']:,} | {r['found']}/{r['seeds']} | {r['mean_queries']:.1f} "
                     f"| {r['median_queries']:g} | {r['max_queries']:,}{cut} | {r['seconds_per_run']:.2f} "
                     f"| {r['cpu_seconds_per_run']:.2f} | {ratio[0]} | {ratio[1]} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--strategies", nargs="+", default=[*MAIN, *ABLATION[1:]], choices=list(BUDGETS))
    ap.add_argument("--budget", action="append", default=[], metavar="NAME=N",
                    help="accuracy queries per run for one strategy (repeatable); defaults: "
                         + ", ".join(f"{k}={v}" for k, v in BUDGETS.items()))
    ap.add_argument("--once-initial", type=int, nargs="+", default=[10, 50, 100],
                    help="random cells brp-once fits its one predictor on (one row per value)")
    ap.add_argument("--percentile", type=float, default=25.0)
    ap.add_argument("--framework", default="onnx")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = ap.parse_args()
    limits = budgets(args.budget)
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
    if any(n < 1 for n in args.once_initial):
        raise SystemExit(f"--once-initial: must be >= 1, got {args.once_initial}")
    names: list[str] = []
    for s in args.strategies:
        names += [f"brp-once-{n}" for n in args.once_initial] if s == "brp-once" else [s]
    rows: list[dict[str, Any]] = []
    for name in names:
        budget = limits["brp-once" if name.startswith("brp-once") else name]
        strategy, params = variant(name)
        found: list[int | None] = []
        t0, c0 = time.perf_counter(), time.process_time()
        for seed in range(args.seeds):
            res = search_nas(space, accuracy=acc, latency=lat, max_latency_ms=limit, strategy=strategy,
                             budget_queries=budget, seed=seed, target_accuracy=best, **params)
            found.append(res.queries_to_reach(best))
        hits = [f for f in found if f is not None]
        censored = [f if f is not None else budget for f in found]
        row: dict[str, Any] = {
            "strategy": name, "params": params, "budget": budget, "seeds": args.seeds, "found": len(hits),
            "mean_queries": float(np.mean(censored)), "median_queries": float(np.median(censored)),
            "max_queries": int(max(censored)), "queries": found,
            "seconds_per_run": (time.perf_counter() - t0) / args.seeds,
            "cpu_seconds_per_run": (time.process_time() - c0) / args.seeds,
        }
        rows.append(row)
        line = json.dumps(row)
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(line + "\n")
    random = next((r for r in rows if r["strategy"] == "random"), None)
    print("\n" + table(rows, MAIN, random))
    if any(r["strategy"] in ABLATION[1:] for r in rows):
        print("\nAblation of BRP-NAS's learned parts (same seeds):\n\n" + table(rows, ABLATION, random))


if __name__ == "__main__":
    main()
