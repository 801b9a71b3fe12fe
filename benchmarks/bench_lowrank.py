"""ShrinkML's rank search vs uniform ranks: accuracy without retraining at 3x / 5x, and under a latency budget.

Per seed: the digits LSTM (8 rows of 8 pixels -> LSTM -> 2 FC layers) is trained here
(``train_digits_lstm``; 20 % of the training images held out as the search's validation set).
At each compression ratio of the factorable parameters (``--ratios``), each strategy
(``shrinkml`` REINFORCE with an LSTM controller, ``evolution``, ``greedy``, ``random``) searches
per-matrix ranks with ``--evals`` evaluations (validation accuracy of the SVD-factored model, no
retraining); the best feasible ranks are then tested on the held-out split. References at the
same budget: ``uniform`` (every matrix compressed by the same ratio) and ``same-rank`` (one rank
for every matrix). Latency (batch ``--batch``, 1 thread) of every result is timed ``--rounds`` times
alternating with the original model (PyTorch's fused LSTM), ``--final-repeats`` runs each: the median
factored latency and the median ratio to the original are reported. Then the latency budget:
``--latency-fracs`` x the original model's measured latency, the same strategies with
``--latency-evals`` evaluations, each candidate timed (``--search-repeats`` runs).

    python benchmarks/bench_lowrank.py [--seeds 0 1 2] [--ratios 3 5] [--evals 400] [--latency-fracs 0.8]
        [--latency-evals 150] [--batch 64] [--rounds 3] [--final-repeats 20] [--out lowrank.json]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from coexplore.nas.lowrank_eval import RankEvaluator, train_digits_lstm
from coexplore.nas.lowrank_search import (
    STRATEGIES,
    LowRankProblem,
    RankSpace,
    same_ranks,
    search_ranks,
    uniform_ranks,
)
from coexplore.nas.measure import measure_latency


def _paired_latency(ev: RankEvaluator, ranks: dict[str, int], rounds: int, repeats: int) -> tuple[float, float]:
    """(factored ms, factored / original) from ``rounds`` alternating timings of the original and the factored
    model (medians over rounds), so slow drift of a shared machine's load cancels in the ratio."""
    models = (ev.model, ev.factored(ranks))
    ms = np.array([[measure_latency(m, ev.latency_shape, warmup=5, repeats=repeats, threads=1).median_ms
                    for m in models] for _ in range(rounds)])
    return float(np.median(ms[:, 1])), float(np.median(ms[:, 1] / ms[:, 0]))


def _row(ev: RankEvaluator, method: str, ranks: dict[str, int] | None, args: argparse.Namespace,
         **extra: Any) -> dict[str, Any]:
    if ranks is None:
        return {"method": method, "found": False, **extra}
    ms, ratio = _paired_latency(ev, ranks, args.rounds, args.final_repeats)
    return {"method": method, "found": True, "ranks": ranks, "val": ev.accuracy(ranks),
            "test": ev.accuracy(ranks, "test"), "parameters": ev.parameters(ranks),
            "compression": ev.dense_parameters / ev.parameters(ranks), "latency_ms": ms, "latency_ratio": ratio,
            **extra}


def _print(tag: str, r: dict[str, Any]) -> None:
    if not r["found"]:
        print(f"  {tag} {r['method']:>10}: nothing within budget ({r.get('evaluated', 0)} evaluations)")
        return
    ev = f", {r['evaluated']} evals, {r['seconds']:.1f} s" if "evaluated" in r else ""
    print(f"  {tag} {r['method']:>10}: test {r['test']:6.2f}%  val {r['val']:6.2f}%  {r['compression']:.2f}x  "
          f"{r['latency_ms']:.3f} ms ({r['latency_ratio']:.2f}x the original)  ranks {r['ranks']}{ev}")


def run_seed(seed: int, args: argparse.Namespace) -> dict[str, Any]:
    tr = train_digits_lstm(seed=seed)
    ev = RankEvaluator(model=tr.model, x_val=tr.x_val, y_val=tr.y_val, x_test=tr.split.x_test,
                       y_test=tr.split.y_test, latency_shape=(args.batch, 1, 8, 8), latency_warmup=3,
                       latency_repeats=args.search_repeats)
    space = RankSpace.grid(ev.matrices)
    dense_ms = measure_latency(ev.model, ev.latency_shape, warmup=10, repeats=3 * args.final_repeats).median_ms
    print(f"seed {seed}: dense test {tr.accuracy:.2f}% (trained {tr.train_seconds:.1f} s), "
          f"{ev.dense_parameters} factorable parameters, {dense_ms:.3f} ms at batch {args.batch}")
    out: dict[str, Any] = {"seed": seed, "dense_test": tr.accuracy, "train_seconds": tr.train_seconds,
                           "dense_parameters": ev.dense_parameters, "dense_latency_ms": dense_ms,
                           "size": {}, "latency": {}}
    for ratio in args.ratios:
        budget = int(ev.dense_parameters / ratio)
        rows = [_row(ev, "uniform", uniform_ranks(ev.matrices, ratio)[0], args),
                _row(ev, "same-rank", same_ranks(ev.matrices, ratio)[0], args)]
        for name in STRATEGIES:
            t0 = time.perf_counter()
            best, res = search_ranks(LowRankProblem(evaluator=ev, space=space, max_parameters=budget), name,
                                     max_evals=args.evals, seed=seed)
            rows.append(_row(ev, name, best, args, evaluated=res.evaluated,
                             seconds=time.perf_counter() - t0))
        for r in rows:
            _print(f"{ratio}x", r)
        out["size"][str(ratio)] = rows
    for frac in args.latency_fracs:
        budget_ms = frac * ev.latency_ms({})
        fits = lambda r, b=budget_ms: ev.latency_ms(r) <= b  # noqa: E731
        rows = [_row(ev, "uniform", uniform_ranks(ev.matrices, 1.0, fits)[0], args),
                _row(ev, "same-rank", same_ranks(ev.matrices, 1.0, fits)[0], args)]
        for name in STRATEGIES:
            t0 = time.perf_counter()
            best, res = search_ranks(LowRankProblem(evaluator=ev, space=space, max_latency_ms=budget_ms), name,
                                     max_evals=args.latency_evals, seed=seed)
            rows.append(_row(ev, name, best, args, evaluated=res.evaluated,
                             seconds=time.perf_counter() - t0))
        print(f"  latency budget {frac} x {ev.latency_ms({}):.3f} = {budget_ms:.3f} ms (search-time measurement)")
        for r in rows:
            _print(f"{frac}L", r)
        out["latency"][str(frac)] = {"budget_ms": budget_ms, "rows": rows}
    return out


def _summary(results: list[dict[str, Any]], key: str, label: str) -> None:
    methods = [r["method"] for r in results[0][key][label]] if key == "size" else \
        [r["method"] for r in results[0][key][label]["rows"]]
    print(f"\n{key} budget {label}: mean over seeds {[r['seed'] for r in results]}")
    print("| method | test accuracy % (mean) | per seed | vs uniform (points) | compression x | latency ms "
          f"(mean; original {np.mean([r['dense_latency_ms'] for r in results]):.3f}; x the original, paired) | "
          "found |")
    print("|---|---|---|---|---|---|---|")
    uni = None
    for m in methods:
        rows = [next(x for x in (r[key][label] if key == "size" else r[key][label]["rows"]) if x["method"] == m)
                for r in results]
        found = [x for x in rows if x["found"]]
        tests = [x["test"] if x["found"] else float("nan") for x in rows]
        mean = float(np.mean(tests))
        if m == "uniform":
            uni = mean
        delta = "" if uni is None or m == "uniform" else f"{mean - uni:+.2f}"
        comp = np.mean([x["compression"] for x in found]) if found else float("nan")
        lat = np.mean([x["latency_ms"] for x in found]) if found else float("nan")
        lat_ratio = np.mean([x["latency_ratio"] for x in found]) if found else float("nan")
        per_seed = " / ".join(f"{t:.2f}" for t in tests)
        print(f"| {m} | {mean:.2f} | {per_seed} | {delta} | {comp:.2f} | {lat:.3f} ({lat_ratio:.2f}x) | "
              f"{len(found)}/{len(rows)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--ratios", type=float, nargs="+", default=[3.0, 5.0])
    ap.add_argument("--evals", type=int, default=400)
    ap.add_argument("--latency-fracs", type=float, nargs="*", default=[0.8])
    ap.add_argument("--latency-evals", type=int, default=150)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--search-repeats", type=int, default=15)
    ap.add_argument("--final-repeats", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    start = time.perf_counter()
    results = [run_seed(s, args) for s in args.seeds]
    for ratio in args.ratios:
        _summary(results, "size", str(ratio))
    for frac in args.latency_fracs:
        _summary(results, "latency", str(frac))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
