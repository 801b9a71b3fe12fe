"""DANCE measured: the ablation at equal pairs, the evaluators' error, the generator's designs, query time.

1. Ablation (recipe dance-nb201-eyeriss, one DANCE run per seed through the search driver):
   hypervolume fraction at equal pairs of (a) the training samples alone, (b) the samples +
   random pairs up to DANCE's pair count, (c) full DANCE, (d) the same samples and evaluator
   with one learned part replaced: the estimator's best-ranked design instead of the
   generator's, a random design instead of the generator's, random networks instead of the
   gradient search's; (e) uniform random pairs alone; (f) DANCE with exhaustive labels
   (``--labelled`` networks priced on every design, counted). (a)-(e) of a seed share one
   run's samples and models; each variant is topped up with random pairs (or cut) to exactly
   DANCE's pair count. Mean +- std over seeds, and (c) - (b) per seed.
2. The generator's designs for the networks DANCE found, against the exact optimum of each
   network's Cost_HW (priced here outside the budget): share exactly optimal, median and worst
   cost ratio; the same for the estimator's ranking and for random designs.
3. The estimator's error on the 10 % of each run's samples held out of its training, and the
   query time per pair (estimator batch of every design, cost table, mapper).
4. Optional (``--train``): the estimator's error against training-set size on 5,000 other pairs.

    python benchmarks/bench_dance.py [--seeds 0 1 2 3 4] [--train 2000 5000 20000] [--out dance.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.hwsearch.problem import DEFAULT_MAPPER, map_shape
from coexplore.joint.costtable import TABLE_MAPPER, TABLE_OBJECTIVE
from coexplore.joint.dance import DanceStrategy
from coexplore.joint.dance_eval import DanceEvaluator
from coexplore.joint.problem import NB201GridProblem, PairBatch
from coexplore.optional import require
from coexplore.search.driver import optimize
from coexplore.study.codesign import load_recipe

VARIANTS = {
    "a": "samples only",
    "b": "samples + random pairs",
    "c": "full DANCE (gradient search, generator's design)",
    "d1": "found networks on the estimator's best-ranked design",
    "d2": "found networks on a random design",
    "d3": "random networks on the generator's design",
    "e": "uniform random pairs only",
    "f": "full DANCE with exhaustive labels (DANCE's protocol; priced pairs counted)",
}


def _hv(problem: NB201GridProblem, idx: np.ndarray, cols: np.ndarray) -> float:
    energy, latency, _ = problem.costs(idx, cols)
    return problem.hypervolume(problem.accuracy[idx], energy * latency) / problem.exact_hypervolume


def _random(problem: NB201GridProblem, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    cols = np.flatnonzero(problem.table.feasible)
    return rng.integers(len(problem.arch_choices), size=n), cols[rng.integers(len(cols), size=n)]


def _exactly(problem: NB201GridProblem, base: tuple[np.ndarray, np.ndarray], extra: PairBatch, n: int,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``base`` pairs + ``extra`` (cut, or topped up with random pairs) to exactly ``n`` pairs."""
    idx = np.r_[base[0], problem.arch_index(extra.arch)][:n]
    cols = np.r_[base[1], problem.column(extra.hw)][:n]
    ri, rc = _random(problem, rng, n - len(idx))
    return np.r_[idx, ri], np.r_[cols, rc]


def _design_quality(problem: NB201GridProblem, ev: DanceEvaluator, nets: np.ndarray, cols: np.ndarray) -> dict:
    """How close ``cols`` are to each network's exact optimum under the run's Cost_HW."""
    every = ev.code.columns
    ratio, exact = [], []
    for a, c in zip(nets.tolist(), cols.tolist(), strict=True):
        e, lat, area = problem.costs(np.full(len(every), a), every)
        cost = ev.cost.log10(np.column_stack([np.log10(lat.astype(np.float64)), np.log10(e), np.log10(area)]))
        best = int(np.argmin(cost))
        exact.append(every[best] == c)
        ratio.append(10 ** (cost[int(np.searchsorted(every, c))] - cost[best]))
    r = np.array(ratio)
    return {"exact_share": float(np.mean(exact)), "median_ratio": float(np.median(r)), "worst_ratio": float(r.max())}


def _run(problem: NB201GridProblem, seed: int, budget: int,
         params: dict[str, Any]) -> tuple[DanceStrategy, np.ndarray, np.ndarray, float]:
    """One DANCE run through the search driver: (strategy, NB201 index and column of each pair, seconds)."""
    s = DanceStrategy(seed=seed, **params)
    batches: list[PairBatch] = []
    t = time.perf_counter()
    optimize(problem, s, max_evals=budget, on_batch=lambda c, e: batches.append(c))
    idx = np.concatenate([problem.arch_index(b.arch) for b in batches])
    return s, idx, np.concatenate([problem.column(b.hw) for b in batches]), time.perf_counter() - t


def _ablation(problem: NB201GridProblem, seeds: list[int],
              labelled: int) -> tuple[dict, list[dict], DanceEvaluator]:
    cfg = load_recipe("dance-nb201-eyeriss")
    rows: list[dict[str, Any]] = []
    none = PairBatch(np.zeros((0, len(problem.arch_cards)), np.int64), np.zeros((0, len(problem.hw_cards)), np.int64))
    for seed in seeds:
        s, idx, cols, seconds = _run(problem, seed, cfg.trials, cfg.strategy_params)
        ev = s.evaluator
        assert ev is not None
        n, ns = len(idx), len(s.plan[0])
        base = (idx[:ns], cols[:ns])
        rng = np.random.default_rng(10_000 + seed)
        hv = {"a": _hv(problem, *base), "c": _hv(problem, idx, cols),
              "b": _hv(problem, *_exactly(problem, base, none, n, rng)), "e": _hv(problem, *_random(problem, rng, n))}
        quality = {"generator": _design_quality(problem, ev, idx[ns:], cols[ns:])}
        for key, kw in (("d1", {"hardware": "estimator"}), ("d2", {"hardware": "random"}),
                        ("d3", {"search": "random"})):
            alt = s.ablation(**kw, seed=seed)
            hv[key] = _hv(problem, *_exactly(problem, base, alt, n, rng))
            if key != "d3":
                quality[kw["hardware"]] = _design_quality(problem, ev, problem.arch_index(alt.arch),
                                                          problem.column(alt.hw))
        # DANCE's own labels: `labelled` networks priced on every design (counted), at the same pair count
        fs, fidx, fcols, fseconds = _run(problem, seed, cfg.trials,
                                         {**cfg.strategy_params, "labels": "exhaustive", "labelled": labelled})
        priced = fs.pairs_evaluated - len(fidx)
        fn = len(fs.plan[0])
        hv["f"] = _hv(problem, *_exactly(problem, (fidx, fcols), none, n - priced, rng))
        assert fs.evaluator is not None
        quality["generator, exhaustive labels"] = _design_quality(problem, fs.evaluator, fidx[fn:], fcols[fn:])
        row = {"seed": seed, "pairs": n, "samples": ns, "searched_pairs": n - ns, "seconds": seconds,
               "exhaustive_run": {"pairs_evaluated": fs.pairs_evaluated, "priced_for_labels": priced,
                                  "searched_pairs": len(fidx) - fn, "seconds": fseconds},
               "hv": hv, "designs": quality, "report": s.report}
        rows.append(row)
        print(f"seed {seed}: {n:,} pairs ({n - ns} searched) in {seconds:.0f} s (exhaustive labels: {fseconds:.0f} s);"
              " " + ", ".join(f"{k} {v:.5f}" for k, v in sorted(hv.items())), file=sys.stderr)
    table = {}
    for key, label in VARIANTS.items():
        v = np.array([r["hv"][key] for r in rows])
        table[key] = {"variant": label, "mean": float(v.mean()), "std": float(v.std()), "per_seed": v.tolist()}
    diff = np.array([r["hv"]["c"] - r["hv"]["b"] for r in rows])
    spread = max(table["b"]["std"], table["c"]["std"])
    table["c-b"] = {"mean": float(diff.mean()), "std": float(diff.std()), "min": float(diff.min()),
                    "spread": spread, "beats_by_more_than_spread": bool(diff.mean() > spread)}
    assert ev is not None
    return table, rows, ev


def _estimator_sizes(problem: NB201GridProblem, sizes: list[int], seeds: list[int], epochs: int) -> list[dict]:
    torch = require("torch", extra="nas", who="bench_dance")
    from coexplore.joint.dance_cost import HardwareCost

    out = []
    for seed in seeds:
        rng = np.random.default_rng(1000 + seed)
        t_idx, t_cols = _random(problem, rng, 5000)
        for n in sizes:
            idx, cols = _random(problem, rng, n)
            ev = DanceEvaluator(problem, HardwareCost.of(problem.objectives), seed=seed)
            logc = _log_costs(problem, idx, cols)
            t = time.perf_counter()
            ev._fit_estimator(torch, idx, cols, logc, epochs=epochs)
            fit_s = time.perf_counter() - t
            assert ev.estimator is not None
            t_log = _log_costs(problem, t_idx, t_cols)
            pred = ev.estimator.predict(torch, ev.counts(t_idx), ev.features(torch, t_cols))
            err = np.abs(10 ** (pred - t_log) - 1) * 100
            edp = np.abs(10 ** (pred[:, :2].sum(axis=1) - t_log[:, :2].sum(axis=1)) - 1) * 100
            row = {"seed": seed, "train_pairs": n, "fit_seconds": fit_s, "latency": float(err[:, 0].mean()),
                   "energy": float(err[:, 1].mean()), "area": float(err[:, 2].mean()), "edp": float(edp.mean()),
                   "edp_p90": float(np.percentile(edp, 90))}
            out.append(row)
            print(f"estimator seed {seed}, {n:,} training pairs ({fit_s:.1f} s): latency {row['latency']:.2f} %, "
                  f"energy {row['energy']:.2f} %, area {row['area']:.2f} %, EDP {row['edp']:.2f} % (90th pct "
                  f"{row['edp_p90']:.2f} %)", file=sys.stderr)
    return out


def _log_costs(problem: NB201GridProblem, idx: np.ndarray, cols: np.ndarray) -> np.ndarray:
    energy, latency, area = problem.costs(idx, cols)
    return np.column_stack([np.log10(latency.astype(np.float64)), np.log10(energy), np.log10(area)])


def _query(problem: NB201GridProblem, ev: DanceEvaluator, mapper_pairs: int) -> dict:
    """Per-pair query time: the estimator (every design for one network), the cost table, the mapper."""
    torch = require("torch", extra="nas", who="bench_dance")
    assert ev.estimator is not None
    rng = np.random.default_rng(7)
    arch = int(rng.integers(len(problem.arch_choices)))
    every = ev.code.columns
    counts, feats = np.repeat(ev.counts(np.array([arch])), len(every), axis=0), ev.features(torch, every)
    ev.estimator.predict(torch, counts, feats)
    reps = 20
    t = time.perf_counter()
    for _ in range(reps):
        ev.estimator.predict(torch, counts, feats)
    est_us = (time.perf_counter() - t) / (reps * len(every)) * 1e6
    t = time.perf_counter()
    for _ in range(reps):
        problem.costs(np.full(len(every), arch), every)
    table_us = (time.perf_counter() - t) / (reps * len(every)) * 1e6
    mapper_s = {}
    shapes = [problem.counts.shapes[s] for s in np.flatnonzero(problem.counts.counts[arch])]
    warm = problem.grid.build(problem.designs[int(every[0])])
    for label, cfg in (("table mapper", TABLE_MAPPER), ("default mapper", DEFAULT_MAPPER)):
        map_shape(shapes[0], warm, config=cfg, objective=TABLE_OBJECTIVE, seed=0)  # one-off compile, not timed
        times = []
        for k in range(mapper_pairs):
            acc = problem.grid.build(problem.designs[int(every[rng.integers(len(every))])])
            t = time.perf_counter()
            for layer in shapes:
                map_shape(layer, acc, config=cfg, objective=TABLE_OBJECTIVE, seed=k)
            times.append(time.perf_counter() - t)
        mapper_s[label] = float(np.mean(times))
    return {"estimator_us_per_pair": est_us, "table_us_per_pair": table_us, "mapper_seconds_per_pair": mapper_s,
            "speedup_vs_table_mapper": mapper_s["table mapper"] * 1e6 / est_us,
            "speedup_vs_default_mapper": mapper_s["default mapper"] * 1e6 / est_us}


def _print_tables(table: dict, rows: list[dict], query: dict) -> None:
    seeds = len(rows)
    print(f"\nAblation at equal pairs ({rows[0]['pairs']:,}-{rows[-1]['pairs']:,} pairs, {seeds} seeds), "
          "hypervolume fraction:\n")
    print("| variant | mean +- std | per seed |\n|---|---|---|")
    for key, label in VARIANTS.items():
        r = table[key]
        print(f"| ({key}) {label} | {r['mean']:.5f} +- {r['std']:.5f} | "
              + " / ".join(f"{v:.5f}" for v in r["per_seed"]) + " |")
    d = table["c-b"]
    print(f"\n(c) - (b) per seed: {d['mean']:+.5f} +- {d['std']:.5f} (smallest {d['min']:+.5f}); seed-to-seed spread "
          f"(larger std of (b), (c)) {d['spread']:.5f}: full DANCE "
          + ("beats" if d["beats_by_more_than_spread"] else "does NOT beat")
          + " samples + random by more than the spread")
    print("\nDesigns for the found networks against each network's exact optimum (Cost_HW):\n")
    print("| chooser | exactly optimal | median cost ratio | worst |\n|---|---|---|---|")
    for who in ("generator", "estimator", "random", "generator, exhaustive labels"):
        q = [r["designs"][who] for r in rows]
        print(f"| {who} | {np.mean([x['exact_share'] for x in q]):.0%} | "
              f"{np.mean([x['median_ratio'] for x in q]):.4f} | {max(x['worst_ratio'] for x in q):.4f} |")
    print("\nEstimator on the 10 % of each run's samples held out (mean relative error):\n")
    print("| seed | train pairs | latency | energy | area | EDP | fit s | search s | networks found |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        rep = r["report"]
        e = rep["estimator_error_pct"]
        print(f"| {r['seed']} | {rep['train_pairs']:,} | {e['latency']:.2f} % | {e['energy']:.2f} % | "
              f"{e['area']:.2f} % | {e['edp']:.2f} % | {rep['estimator_train_seconds']:.0f} | "
              f"{rep['search_seconds']:.0f} | {rep['networks_found']} |")
    ms = query["mapper_seconds_per_pair"]
    print(f"\nQuery per pair: estimator {query['estimator_us_per_pair']:.2f} us, cost table "
          f"{query['table_us_per_pair']:.2f} us, mapper {ms['table mapper'] * 1e3:.0f} ms "
          f"(table mapper) / {ms['default mapper'] * 1e3:.0f} ms (default): estimator "
          f"{query['speedup_vs_table_mapper']:,.0f}x / {query['speedup_vs_default_mapper']:,.0f}x faster than mapping")


def _print_sizes(rows: list[dict]) -> None:
    print("\nEstimator against training-set size (5,000 other random pairs; range over seeds):\n")
    print("| training pairs | latency | energy | area | EDP (90th pct) | fit s |\n|---|---|---|---|---|---|")
    for n in sorted({r["train_pairs"] for r in rows}):
        rs = [r for r in rows if r["train_pairs"] == n]

        def rng(key: str, rs: list[dict] = rs) -> str:
            v = [r[key] for r in rs]
            return f"{min(v):.2f}-{max(v):.2f}"

        fit_s = [r["fit_seconds"] for r in rs]
        print(f"| {n:,} | {rng('latency')} % | {rng('energy')} % | {rng('area')} % | {rng('edp')} % "
              f"({rng('edp_p90')} %) | {min(fit_s):.0f}-{max(fit_s):.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--train", type=int, nargs="*", default=[], help="estimator training sizes to sweep (part 4)")
    ap.add_argument("--epochs", type=int, default=120, help="estimator epochs of part 4")
    ap.add_argument("--labelled", type=int, default=1, help="networks priced on every design in variant (f)")
    ap.add_argument("--mapper-pairs", type=int, default=3, help="pairs mapped for the query-time comparison")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch = require("torch", extra="nas", who="bench_dance")
    torch.set_num_threads(1)
    problem = NB201GridProblem(progress=True)
    table, rows, last = _ablation(problem, args.seeds, args.labelled)
    out: dict[str, Any] = {"ablation": table, "runs": rows, "query": _query(problem, last, args.mapper_pairs)}
    if args.train:
        out["estimator_error_by_size"] = _estimator_sizes(problem, args.train, args.seeds[:3], args.epochs)
    _print_tables(table, rows, out["query"])
    if args.train:
        _print_sizes(out["estimator_error_by_size"])
    if args.out:
        args.out.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
