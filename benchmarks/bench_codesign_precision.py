"""What lower precision buys in EDP on NAS-Bench-201 x the Eyeriss-budget grid (recipe nb201-eyeriss-precision).

One cost table per precision (the NB201 layer shapes quantized: weights at W bits, activations in and
out at A bits), the exact (accuracy, EDP) front over every (network, design, precision) triple, and:

* per precision, its own exact front's lowest EDP at a few accuracy levels, twice: at equal NB201
  accuracy (what the bits alone buy, the drop ignored) and at equal accuracy after the user-given
  drop (NB201 accuracy minus ``accuracy_drop``: no quantized NAS-Bench-201 evaluator exists offline,
  so the drops are the user's, here illustrative), each as a ratio against W8A8 (the first precision);
* the same without precision (the ``nb201-eyeriss`` table: every word at the memory's own width,
  16 bits on Eyeriss), what the first precision buys over it;
* how many points of the merged exact front each precision holds;
* the hypervolume fraction of search strategies at ``--budget`` pairs (studies through the driver,
  a SQLite study per run in a temporary directory), against the exact front over all triples.

    nice -n 10 python benchmarks/bench_codesign_precision.py --jobs 2 --out prec.json

``--design-stride 100`` is a quick look (every 100th design). The tables are built the first time
(about 5 minutes each on 2 quiet cores) and cached.
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

from coexplore.joint.front import FrontPairs
from coexplore.joint.problem import NB201GridProblem
from coexplore.study.codesign import summarize
from coexplore.study.config import StudyConfig
from coexplore.study.study import run_study


def lowest_edp(front: FrontPairs, level: float, shift: float = 0.0) -> float | None:
    """The lowest EDP of ``front``'s pairs with accuracy + ``shift`` >= ``level`` (None: no such pair).

    A precision's own exact front holds its lowest EDP at every accuracy level (any pair off it is
    dominated by one on it, at least as accurate and no costlier).
    """
    ok = front.accuracy + shift >= level
    return float(front.edp[ok].min()) if ok.any() else None


def _ratio(base: float | None, other: float | None) -> float | None:
    return None if base is None or other is None else base / other


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precisions", default="W8A8,W8A4:0.5,W4A4:2",
                    help="WxA[:accuracy drop] choices, the first the baseline (default W8A8,W8A4:0.5,W4A4:2; the "
                         "drops are illustrative, not measured)")
    ap.add_argument("--levels", type=float, nargs="+", default=[60.0, 65.0, 70.0, 72.0, 73.0],
                    help="accuracy levels (%%) of the lowest-EDP comparison")
    ap.add_argument("--strategies", nargs="+", default=["nsga2", "random"])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--design-stride", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=None, help="table-building processes (default: every core)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    t0 = time.perf_counter()
    problem = NB201GridProblem(design_stride=args.design_stride, precisions=args.precisions, jobs=args.jobs,
                               progress=True)
    tables = []
    for k, p in enumerate(problem.precisions):
        t = time.perf_counter()
        table = problem.precision_table(k)
        tables.append({"precision": p.label, "accuracy_drop": p.accuracy_drop, "key": table.key,
                       "source": table.source, "build_seconds": table.seconds, "wall_seconds": time.perf_counter() - t,
                       "feasible_designs": int(table.feasible.sum()), "designs": len(table.designs)})
        print(f"table {p.label}: {table.source}, {int(table.feasible.sum()):,} of {len(table.designs):,} designs "
              f"feasible, built in {table.seconds:.1f} s, here {time.perf_counter() - t:.1f} s", file=sys.stderr)
    setup = time.perf_counter() - t0
    t = time.perf_counter()
    front = problem.edp_front
    exact_hv = problem.exact_hypervolume
    front_seconds = time.perf_counter() - t
    assert front.precision is not None
    labels = [p.label for p in problem.precisions]
    per_prec = problem.precision_fronts
    share = {lab: int((front.precision == k).sum()) for k, lab in enumerate(labels)}
    print(f"space: {problem.n_pairs:,} triples; exact front {len(front)} points ({share}), hypervolume "
          f"{exact_hv:.4f}, {front_seconds:.2f} s (set-up {setup:.1f} s)", file=sys.stderr)

    plain = NB201GridProblem(design_stride=args.design_stride, jobs=args.jobs, progress=True).edp_front
    levels: list[dict[str, Any]] = []
    for level in args.levels:
        no_bits = lowest_edp(plain, level)
        row: dict[str, Any] = {"accuracy": level, "precisions": {}, "lowest_edp_default_words": no_bits}
        base_equal = lowest_edp(per_prec[0], level, problem.precisions[0].accuracy_drop or 0.0)
        base_after = lowest_edp(per_prec[0], level)
        for k, p in enumerate(problem.precisions):
            drop = p.accuracy_drop or 0.0
            at_equal = lowest_edp(per_prec[k], level, drop)  # NB201 accuracy >= level, the drop ignored
            after = lowest_edp(per_prec[k], level)  # accuracy after the drop >= level
            row["precisions"][p.label] = {
                "lowest_edp_equal_nb201_accuracy": at_equal, "gain_vs_first_equal_nb201_accuracy":
                    _ratio(base_equal, at_equal),
                "lowest_edp_after_drop": after, "gain_vs_first_after_drop": _ratio(base_after, after)}
        row["first_gain_vs_default_words"] = _ratio(no_bits, base_equal)
        levels.append(row)
        cells = ", ".join(f"{lab} {v['lowest_edp_after_drop'] or float('nan'):.4g} "
                          f"(x{v['gain_vs_first_after_drop'] or float('nan'):.2f}; bits alone "
                          f"x{v['gain_vs_first_equal_nb201_accuracy'] or float('nan'):.2f})"
                          for lab, v in row["precisions"].items())
        print(f"accuracy >= {level:g} %: lowest EDP after the drop {cells}; default words "
              f"{no_bits or float('nan'):.4g} "
              f"({labels[0]} x{row['first_gain_vs_default_words'] or float('nan'):.2f} at equal NB201 accuracy)",
              file=sys.stderr)

    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = "sqlite:///" + str(Path(tmp) / "prec.db")
        problem_cfg = {"kind": "codesign", "space": "nb201", "design_stride": args.design_stride,
                       "precisions": [f"{p.label}:{p.accuracy_drop}" for p in problem.precisions]}
        for strategy in args.strategies:
            fr, secs, prec_share = [], [], []
            for seed in range(args.seeds):
                cfg = StudyConfig.from_dict({"problem": problem_cfg, "objectives": ["accuracy", "edp"],
                                             "strategy": strategy, "budget": {"trials": args.budget}, "seed": seed})
                name = f"{strategy}-{seed}"
                t = time.perf_counter()
                run_study(cfg, name=name, storage=url, progress=False, problem=problem)
                secs.append(time.perf_counter() - t)
                s = summarize(name, storage=url, problem=problem)
                fr.append(s["hypervolume_fraction"])
                prec_share.append({lab: sum(e["precision"] == lab for e in s["front"]) for lab in labels})
            runs[strategy] = {"hv_fraction_mean": float(np.mean(fr)), "hv_fraction_std": float(np.std(fr)),
                              "hv_fractions": fr, "seconds_mean": float(np.mean(secs)),
                              "front_points_per_precision": prec_share}
            print(f"{strategy} at {args.budget:,} pairs: hypervolume fraction {np.mean(fr):.4f} +- {np.std(fr):.4f} "
                  f"over {args.seeds} seeds ({np.mean(secs):.2f} s a run)", file=sys.stderr)
    points = [{"precision": labels[int(front.precision[i])], "accuracy": float(front.accuracy[i]),
               "edp": float(front.edp[i]), "arch_index": int(front.network[i]),
               "accelerator": problem.accelerator_params(int(front.design[i]))} for i in range(len(front))]
    out = {"precisions": tables, "space_triples": problem.n_pairs, "accuracy_source": problem.accuracy_source,
           "exact_front": {"points": len(front), "per_precision": share, "hypervolume": exact_hv,
                           "seconds": front_seconds, "points_list": points},
           "levels": levels, "search": runs, "budget": args.budget, "seeds": args.seeds,
           "design_stride": args.design_stride, "setup_seconds": setup}
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
