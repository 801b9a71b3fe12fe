"""Head to head on recipe nb201-eyeriss: hypervolume fraction of every joint strategy after N pair evaluations.

Every run goes through the study driver (a SQLite study per run, in a temporary directory)
on NAS-Bench-201 (CIFAR-100, 200 epochs) x the 8,430-design Eyeriss-budget grid; the
hypervolume of the pairs a strategy evaluated is divided by the exact front's (fixed
reference, :mod:`coexplore.joint.front`). Prints, per strategy and budget, the mean and
standard deviation over seeds, the smallest budget where each strategy's mean reaches
0.98 (and its share of the 131.7 M pairs), and the chosen design per approach (the most
accurate pair found, and the lowest-EDP pair with accuracy >= ``--target``), next to the
exact optimum. The cost table must be built (or cached); the first run builds it.

    python benchmarks/bench_codesign_strategies.py --seeds 10 --budgets 100 1000 10000 --out h2h.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.joint.problem import NB201GridProblem
from coexplore.joint.registry import JOINT_STRATEGIES
from coexplore.study.codesign import summarize
from coexplore.study.config import StudyConfig
from coexplore.study.study import run_study


def _chosen(front: list[dict[str, Any]], target: float) -> dict[str, Any]:
    """(most accurate pair, lowest-EDP pair with accuracy >= target) of a front's entries."""
    best = max(front, key=lambda e: (e["accuracy"], -e["edp"]))
    ok = [e for e in front if e["accuracy"] >= target]
    cheap = min(ok, key=lambda e: e["edp"]) if ok else None
    keep = ("accuracy", "latency_cycles", "energy_pj", "edp", "area_mm2", "arch_index", "accelerator")
    return {"most_accurate": {k: best[k] for k in keep},
            "lowest_edp_at_target": None if cheap is None else {k: cheap[k] for k in keep}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--strategies", nargs="+", default=list(JOINT_STRATEGIES))
    ap.add_argument("--target", type=float, default=70.0, help="accuracy (%%) of the lowest-EDP chosen design")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()

    t0 = time.perf_counter()
    problem = NB201GridProblem(progress=True)
    exact = problem.exact_hypervolume
    print(f"space: {problem.n_pairs:,} pairs; exact front {len(problem.exact_front)} points, hypervolume {exact:.4f} "
          f"(set-up {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    f = problem.exact_front
    exact_pairs = {(int(a), int(problem.grid_index[d])) for a, d in zip(f.network, f.design, strict=True)}
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    chosen: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for strategy in args.strategies:
            rows[strategy] = {}
            url = f"sqlite:///{Path(tmp) / f'{strategy}.db'}"
            for budget in args.budgets:
                fr, pairs, secs, hits = [], [], [], []
                for seed in range(args.seeds):
                    cfg = StudyConfig.from_dict({"problem": {"kind": "codesign", "space": "nb201"},
                                                 "objectives": ["accuracy", "edp"], "strategy": strategy,
                                                 "budget": {"trials": budget}, "seed": seed})
                    name = f"{strategy}-{budget}-{seed}"
                    t = time.perf_counter()
                    run_study(cfg, name=name, storage=url, progress=False, problem=problem)
                    secs.append(time.perf_counter() - t)
                    s = summarize(name, storage=url, problem=problem)
                    fr.append(s["hypervolume_fraction"])
                    found = {(e["arch_index"], e["design"]) for e in s["front"]}
                    hits.append(len(found & exact_pairs) / len(exact_pairs))
                    pairs.append(s["pairs_evaluated"])
                    if seed == 0 and budget == max(args.budgets):
                        chosen[strategy] = _chosen(s["front"], args.target)
                rows[strategy][budget] = {"hv_fraction_mean": float(np.mean(fr)), "hv_fraction_std": float(np.std(fr)),
                                          "hv_fraction_min": float(np.min(fr)), "pairs_mean": float(np.mean(pairs)),
                                          "seconds_mean": float(np.mean(secs)), "hv_fractions": fr,
                                          "exact_points_found_mean": float(np.mean(hits))}
                r = rows[strategy][budget]
                print(f"{strategy:>13} {budget:>7,}: hypervolume fraction {r['hv_fraction_mean']:.4f} "
                      f"+- {r['hv_fraction_std']:.4f} (min {r['hv_fraction_min']:.4f}), exact front points found "
                      f"{100 * r['exact_points_found_mean']:.0f} %, {r['pairs_mean']:,.0f} pairs, "
                      f"{r['seconds_mean']:.2f} s a run", file=sys.stderr)
    exact_front = [{"accuracy": float(f.accuracy[i]), "latency_cycles": int(f.latency_cycles[i]),
                    "energy_pj": float(f.energy_pj[i]), "edp": float(f.edp[i]), "area_mm2": float(f.area_mm2[i]),
                    "arch_index": int(f.network[i]), "accelerator": problem.accelerator_params(int(f.design[i]))}
                   for i in range(len(f))]
    chosen["exact (all pairs)"] = _chosen(exact_front, args.target)
    reach = {}
    for strategy, by_budget in rows.items():
        ok = [b for b in sorted(by_budget) if by_budget[b]["hv_fraction_mean"] >= 0.98]
        reach[strategy] = None if not ok else {"budget": ok[0], "share_of_pairs": ok[0] / problem.n_pairs}
    out = {"space_pairs": problem.n_pairs, "exact_hypervolume": exact, "seeds": args.seeds, "budgets": args.budgets,
           "strategies": rows, "reach_0.98": reach, "chosen": chosen, "target_accuracy": args.target,
           "seconds": time.perf_counter() - t0}

    print(f"\nhypervolume fraction, mean of {args.seeds} seeds (exact front points found) | "
          + " | ".join(f"{b:,} pairs" for b in args.budgets))
    for strategy, by_budget in rows.items():
        print(f"{strategy:>13} | " + " | ".join(f"{by_budget[b]['hv_fraction_mean']:.4f} "
                                                f"({100 * by_budget[b]['exact_points_found_mean']:.0f} %)"
                                                for b in args.budgets))
    print("\nfirst budget with mean >= 0.98: " + ", ".join(
        f"{s} {r['budget']:,} ({100 * r['share_of_pairs']:.4f} % of pairs)" if r else f"{s} never"
        for s, r in reach.items()))
    print(f"\nchosen design (seed 0, {max(args.budgets):,} pairs): most accurate | lowest EDP at >= {args.target} %")
    for s, c in chosen.items():
        a, b = c["most_accurate"], c["lowest_edp_at_target"]
        line = (f"{s:>18}: {a['accuracy']:.2f} % {a['latency_cycles']:,} cyc {a['energy_pj']:.3e} pJ "
                f"EDP {a['edp']:.3e} ({a['accelerator']['array']} {a['accelerator']['dataflow']})")
        if b:
            line += (f" | {b['accuracy']:.2f} % {b['latency_cycles']:,} cyc {b['energy_pj']:.3e} pJ EDP {b['edp']:.3e} "
                     f"({b['accelerator']['array']} {b['accelerator']['dataflow']})")
        print(line)
    if args.out:
        args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
