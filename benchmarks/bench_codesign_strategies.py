"""Head to head on recipe nb201-eyeriss: hypervolume fraction of every joint strategy after N pair evaluations.

Every coexplore strategy runs through the study driver (a SQLite study per run, in a temporary
directory) on NAS-Bench-201 (CIFAR-100, 200 epochs) x the 8,430-design Eyeriss-budget grid; the
hypervolume of the pairs a strategy evaluated is divided by the exact front's (fixed
reference, :mod:`coexplore.joint.front`). Rows ``optuna-tpe`` and ``optuna-nsga2`` are Optuna's
samplers (extra ``optuna``) driving the very same pair pricing (:meth:`NB201GridProblem.evaluate`),
one categorical parameter per decision (6 network edges, 6 hardware axes), objectives accuracy
(maximised) and EDP (minimised), seeded; a pair outside the space is a constraint violation. They
are the registered strategies ``optuna-tpe`` and ``optuna-nsga2`` run through the driver
(:func:`optuna_pairs`); one run per seed to the largest budget, measured at every budget (Optuna's
samplers do not know the budget, so the first N trials of a longer run are the trials of an N-trial run).

Prints, per strategy and budget, the mean and standard deviation over seeds, the share of
the exact front's pairs found, the lowest EDP found at accuracy >= ``--target`` over the exact
one (mean and worst seed), the smallest budget where each strategy's mean reaches 0.98 (and
its share of the 131.7 M pairs), and the chosen design per approach (the most accurate pair
found, and the lowest-EDP pair with accuracy >= ``--target``), next to the exact optimum. The
cost table must be built (or cached); the first run builds it.

    python benchmarks/bench_codesign_strategies.py --seeds 10 --budgets 100 1000 10000 --out h2h.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.joint.problem import NB201GridProblem, PairBatch
from coexplore.joint.registry import JOINT_STRATEGIES
from coexplore.study.codesign import summarize
from coexplore.study.config import StudyConfig
from coexplore.study.study import run_study

OPTUNA_ROWS = ("optuna-tpe", "optuna-nsga2")
sys.path.insert(0, str(Path(__file__).parent))
from optuna_tpe_memo import memoized  # noqa: E402  (a benchmark helper beside this script)


def _chosen(front: list[dict[str, Any]], target: float) -> dict[str, Any]:
    """(most accurate pair, lowest-EDP pair with accuracy >= target) of a front's entries."""
    best = max(front, key=lambda e: (e["accuracy"], -e["edp"]))
    ok = [e for e in front if e["accuracy"] >= target]
    cheap = min(ok, key=lambda e: e["edp"]) if ok else None
    keep = ("accuracy", "latency_cycles", "energy_pj", "edp", "area_mm2", "arch_index", "accelerator")
    return {"most_accurate": {k: best[k] for k in keep},
            "lowest_edp_at_target": None if cheap is None else {k: cheap[k] for k in keep}}


def optuna_pairs(problem: NB201GridProblem, sampler: str, seed: int, trials: int,
                 params: dict[str, Any] | None = None) -> PairBatch:
    """The pairs the registered strategy ``optuna-<sampler>`` asks for in ``trials`` evaluations, in order.

    The strategy runs through coexplore's driver on the problem's categorical encoding (one
    ``CategoricalDistribution`` per decision: 6 network edges, 6 hardware axes), objectives
    (accuracy, EDP) minimised as coexplore's values are; an infeasible pair (over the budget,
    unmappable) is told to Optuna as a constraint violation (``constraints_func``), as
    :mod:`coexplore.search.optuna_strategy` does for every study.
    """
    from coexplore.search.driver import optimize
    from coexplore.search.registry import make_strategy

    asked: list[PairBatch] = []

    class _Recorded:
        """The problem, remembering every batch it priced."""

        def __getattr__(self, name: str) -> Any:
            return getattr(problem, name)

        def evaluate(self, candidates: Any) -> Any:
            asked.append(problem.as_pairs(candidates))
            return problem.evaluate(candidates)

    strategy, target = make_strategy(f"optuna-{sampler}", problem, seed=seed, budget=trials, params=params)
    assert target is problem, "a categorical problem is searched as it is"
    optimize(_Recorded(), strategy, max_evals=trials)  # type: ignore[arg-type]
    return PairBatch(np.concatenate([p.arch for p in asked])[:trials], np.concatenate([p.hw for p in asked])[:trials])


def _front_entries(problem: NB201GridProblem, pairs: PairBatch) -> tuple[float, list[dict[str, Any]]]:
    """(hypervolume fraction, front entries as ``summarize`` writes them) of evaluated ``pairs``."""
    ev = problem.evaluate(pairs)
    ok = np.flatnonzero(ev.feasible)
    idx, col = problem.arch_index(pairs.arch[ok]), problem.column(pairs.hw[ok])
    energy, latency, _ = problem.costs(idx, col)
    acc = problem.accuracy[idx]
    hv = problem.hypervolume(acc, energy * latency) / problem.exact_hypervolume
    from coexplore.search.pareto import non_dominated

    on = np.flatnonzero(non_dominated(ev.values[ok]))
    seen, out = set(), []
    for i in on:
        key = (int(idx[i]), int(problem.grid_index[col[i]]))
        if key in seen:
            continue
        seen.add(key)
        out.append({"arch_index": key[0], "design": key[1], "accuracy": float(acc[i]),
                    "latency_cycles": int(latency[i]), "energy_pj": float(energy[i]),
                    "edp": float(energy[i] * latency[i]), "area_mm2": float(problem.table.area_mm2[col[i]]),
                    "accelerator": problem.accelerator_params(int(col[i]))})
    return hv, out


def _strategy(spec: str) -> dict[str, Any]:
    """``name`` or ``name:key=value,key=value`` (an ablation row) as a study config's strategy entry."""
    import yaml

    name, _, rest = spec.partition(":")
    params = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in rest.split(",") if kv)}
    return {"name": name, "params": params}


def _lowest_edp(front: list[dict[str, Any]], target: float) -> float:
    ok = [e["edp"] for e in front if e["accuracy"] >= target]
    return min(ok) if ok else float("inf")


def _row(hv: list[float], hits: list[float], ratio: list[float], pairs: list[float],
         seconds: list[float]) -> dict[str, Any]:
    """One strategy's figures at one budget from its per-seed ones (as the JSON keeps them)."""
    return {"hv_fraction_mean": float(np.mean(hv)), "hv_fraction_std": float(np.std(hv)),
            "hv_fraction_min": float(np.min(hv)), "pairs_mean": float(np.mean(pairs)),
            "seconds_mean": float(np.mean(seconds)), "hv_fractions": hv, "pairs": pairs, "seconds": seconds,
            "exact_points_found_mean": float(np.mean(hits)), "exact_points_found": hits,
            "edp_at_target_over_exact_mean": float(np.mean(ratio)),
            "edp_at_target_over_exact_max": float(np.max(ratio)), "edp_at_target_over_exact": ratio}


def _print_table(rows: dict[str, dict[int, dict[str, Any]]], budgets: list[int], n_seeds: int, n_exact: int,
                 target: float) -> None:
    print(f"\nmean of {n_seeds} seeds: hypervolume fraction (exact front points found of {n_exact}; "
          f"lowest EDP at >= {target:g} % / exact) | " + " | ".join(f"{b:,} pairs" for b in budgets))
    for strategy, by_budget in rows.items():
        print(f"{strategy:>24} | " + " | ".join(
            f"{by_budget[b]['hv_fraction_mean']:.4f} ({100 * by_budget[b]['exact_points_found_mean']:.0f} %; "
            f"{by_budget[b]['edp_at_target_over_exact_mean']:.3f}x)" for b in budgets))


def merge(paths: list[Path]) -> None:
    """Print the table of runs split over processes (``--first-seed``): per-seed figures concatenated."""
    runs = [json.loads(p.read_text()) for p in paths]
    budgets, target = runs[0]["budgets"], runs[0]["target_accuracy"]
    for p, r in zip(paths, runs, strict=True):
        if r["budgets"] != budgets or r["target_accuracy"] != target:
            raise SystemExit(f"--merge: {p} has budgets {r['budgets']} / target {r['target_accuracy']}, "
                             f"the first file {budgets} / {target}")
    seeds = [s for r in runs for s in r["seeds"]]
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"--merge: a seed appears twice across the files: {sorted(seeds)}")
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for name in dict.fromkeys(s for r in runs for s in r["strategies"]):
        parts = [r["strategies"][name] for r in runs if name in r["strategies"]]
        rows[name] = {}
        for b in budgets:
            per = [part[str(b)] for part in parts]
            for q in per:  # files written before the per-seed pairs and seconds were kept: their means
                for key in ("pairs", "seconds"):
                    q.setdefault(key, [q[f"{key}_mean"]] * len(q["hv_fractions"]))
            rows[name][b] = _row(*([x for q in per for x in q[key]] for key in (
                "hv_fractions", "exact_points_found", "edp_at_target_over_exact", "pairs", "seconds")))
        n = sum(len(part[str(budgets[0])]["hv_fractions"]) for part in parts)
        print(f"{name}: {n} seeds", file=sys.stderr)
    _print_table(rows, budgets, len(seeds), runs[0]["exact_front_points"], target)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds first-seed .. first-seed + seeds - 1 (to split the seeds over processes)")
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--strategies", nargs="+", default=[*JOINT_STRATEGIES, *OPTUNA_ROWS],
                    help=f"joint strategies ({', '.join(JOINT_STRATEGIES)}), each optionally with parameters "
                         f"(an ablation row: grouped:designs=random,solve=false), and {', '.join(OPTUNA_ROWS)}")
    ap.add_argument("--target", type=float, default=70.0, help="accuracy (%%) of the lowest-EDP chosen design")
    ap.add_argument("--memoize-tpe", action="store_true",
                    help="run optuna-tpe (independent) with a trial's split and past values computed once "
                         "(benchmarks/optuna_tpe_memo.py: identical pairs, a 10,000-trial run in minutes, not hours)")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                    help="only print the table of these --out files (seeds split over processes), run nothing")
    args = ap.parse_args()
    if args.merge:
        merge(args.merge)
        return
    bad = [s for s in args.strategies if s.partition(":")[0] not in (*JOINT_STRATEGIES, *OPTUNA_ROWS)]
    if bad:
        ap.error(f"--strategies: unknown {', '.join(bad)}; valid: {', '.join((*JOINT_STRATEGIES, *OPTUNA_ROWS))}")

    t0 = time.perf_counter()
    problem = NB201GridProblem(progress=True)
    exact = problem.exact_hypervolume
    print(f"space: {problem.n_pairs:,} pairs; exact front {len(problem.exact_front)} points, hypervolume {exact:.4f} "
          f"(set-up {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    f = problem.exact_front
    exact_pairs = {(int(a), int(problem.grid_index[d])) for a, d in zip(f.network, f.design, strict=True)}
    exact_front = [{"accuracy": float(f.accuracy[i]), "latency_cycles": int(f.latency_cycles[i]),
                    "energy_pj": float(f.energy_pj[i]), "edp": float(f.edp[i]), "area_mm2": float(f.area_mm2[i]),
                    "arch_index": int(f.network[i]), "accelerator": problem.accelerator_params(int(f.design[i]))}
                   for i in range(len(f))]
    exact_edp = _lowest_edp(exact_front, args.target)
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    chosen: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for strategy in args.strategies:
            url = "sqlite:///" + str(Path(tmp) / (strategy.replace(":", "_") + ".db"))
            runs: dict[int, list[dict[str, Any]]] = {b: [] for b in args.budgets}
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                if strategy.partition(":")[0] in OPTUNA_ROWS:  # one run to the largest budget, measured at each
                    t = time.perf_counter()
                    row = _strategy(strategy)
                    with memoized() if args.memoize_tpe else contextlib.nullcontext():
                        pairs = optuna_pairs(problem, row["name"].removeprefix("optuna-"), seed, max(args.budgets),
                                             row["params"])
                    secs = time.perf_counter() - t
                    for budget in args.budgets:
                        hv, front = _front_entries(problem, pairs.take(np.arange(budget)))
                        runs[budget].append({"hv": hv, "front": front, "pairs": budget,
                                             "seconds": secs * budget / max(args.budgets)})
                    continue
                for budget in args.budgets:
                    cfg = StudyConfig.from_dict({"problem": {"kind": "codesign", "space": "nb201"},
                                                 "objectives": ["accuracy", "edp"], "strategy": _strategy(strategy),
                                                 "budget": {"trials": budget}, "seed": seed})
                    name = f"{strategy}-{budget}-{seed}"
                    t = time.perf_counter()
                    run_study(cfg, name=name, storage=url, progress=False, problem=problem)
                    secs = time.perf_counter() - t
                    s = summarize(name, storage=url, problem=problem)
                    runs[budget].append({"hv": s["hypervolume_fraction"], "front": s["front"],
                                         "pairs": s["pairs_evaluated"], "seconds": secs})
            rows[strategy] = {}
            for budget in args.budgets:
                rs = runs[budget]
                hits = [len({(e["arch_index"], e["design"]) for e in r["front"]} & exact_pairs) / len(exact_pairs)
                        for r in rs]
                ratio = [_lowest_edp(r["front"], args.target) / exact_edp for r in rs]
                rows[strategy][budget] = _row([r["hv"] for r in rs], hits, ratio, [r["pairs"] for r in rs],
                                              [r["seconds"] for r in rs])
                r = rows[strategy][budget]
                print(f"{strategy:>24} {budget:>7,}: hypervolume fraction {r['hv_fraction_mean']:.4f} "
                      f"+- {r['hv_fraction_std']:.4f} (min {r['hv_fraction_min']:.4f}), exact front points found "
                      f"{100 * r['exact_points_found_mean']:.0f} %, lowest EDP at >= {args.target:g} % / exact "
                      f"{r['edp_at_target_over_exact_mean']:.4f} (worst {r['edp_at_target_over_exact_max']:.4f}), "
                      f"{r['pairs_mean']:,.0f} pairs, {r['seconds_mean']:.2f} s a run", file=sys.stderr)
            chosen[strategy] = _chosen(runs[max(args.budgets)][0]["front"], args.target)
    chosen["exact (all pairs)"] = _chosen(exact_front, args.target)
    reach = {}
    for strategy, by_budget in rows.items():
        ok = [b for b in sorted(by_budget) if by_budget[b]["hv_fraction_mean"] >= 0.98]
        reach[strategy] = None if not ok else {"budget": ok[0], "share_of_pairs": ok[0] / problem.n_pairs}
    out = {"space_pairs": problem.n_pairs, "exact_hypervolume": exact, "exact_front_points": len(exact_pairs),
           "exact_edp_at_target": exact_edp, "seeds": list(range(args.first_seed, args.first_seed + args.seeds)),
           "budgets": args.budgets,
           "strategies": rows, "reach_0.98": reach, "chosen": chosen, "target_accuracy": args.target,
           "seconds": time.perf_counter() - t0}

    _print_table(rows, args.budgets, args.seeds, len(exact_pairs), args.target)
    print("\nfirst budget with mean >= 0.98: " + ", ".join(
        f"{s} {r['budget']:,} ({100 * r['share_of_pairs']:.4f} % of pairs)" if r else f"{s} never"
        for s, r in reach.items()))
    print(f"\nchosen design (seed {args.first_seed}, {max(args.budgets):,} pairs): most accurate | "
          f"lowest EDP at >= {args.target} %")
    for label, c in chosen.items():
        a, b = c["most_accurate"], c["lowest_edp_at_target"]
        line = (f"{label:>18}: {a['accuracy']:.2f} % {a['latency_cycles']:,} cyc {a['energy_pj']:.3e} pJ "
                f"EDP {a['edp']:.3e} ({a['accelerator']['array']} {a['accelerator']['dataflow']})")
        if b:
            line += (f" | {b['accuracy']:.2f} % {b['latency_cycles']:,} cyc {b['energy_pj']:.3e} pJ EDP {b['edp']:.3e} "
                     f"({b['accelerator']['array']} {b['accelerator']['dataflow']})")
        print(line)
    if args.out:
        args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
