"""Joint NAAS on recipe nb201-eyeriss, its ablations and random pairs, at equal pairs, in the same run.

    python benchmarks/bench_naas_joint.py [--seeds 10] [--budgets 100 1000 10000] [--design-stride 1]
        [--out naas_joint.json]

Every run is a study (SQLite, in a temporary directory) through the study driver, as in
``bench_codesign_strategies.py``; the hypervolume of the evaluated pairs is divided by the
exact front's. Variants:

* ``naas``: the strategy as registered (CMA-ES over the importance-encoded accelerator
  vector, network evolution inside);
* ``naas, random accelerators``: ``outer: random``, uniformly random designs with the same
  inner loop (what the CMA-ES outer loop adds);
* ``naas, random networks``: ``random_share: 1``, random networks with the same outer loop
  (what the inner network evolution adds);
* ``naas, hypervolume fitness``: ``shared: 0``, designs ranked by the hypervolume of their own
  pairs instead of the paired comparison on shared networks;
* ``random``: uniform random pairs.

Prints the mean +- standard deviation (and the minimum) per variant and budget, and the
difference of each variant's mean from random's.
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
from coexplore.study.codesign import summarize
from coexplore.study.config import StudyConfig
from coexplore.study.study import run_study

VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "naas": ("naas", {}),
    "naas, random accelerators": ("naas", {"outer": "random"}),
    "naas, random networks": ("naas", {"random_share": 1.0}),
    "naas, hypervolume fitness": ("naas", {"shared": 0}),
    "random": ("random", {}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--design-stride", type=int, default=1, help="every n-th design of the grid (1: all)")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    t0 = time.perf_counter()
    problem = NB201GridProblem(design_stride=args.design_stride, progress=True)
    print(f"space: {problem.n_pairs:,} pairs, {len(problem.designs):,} designs; exact hypervolume "
          f"{problem.exact_hypervolume:.4f} ({problem.accuracy_source})", file=sys.stderr)
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for v in args.variants:
            name, params = VARIANTS[v]
            url = f"sqlite:///{Path(tmp) / 'runs.db'}"
            rows[v] = {}
            for budget in args.budgets:
                fr, secs = [], []
                for seed in range(args.seeds):
                    cfg = StudyConfig.from_dict({
                        "problem": {"kind": "codesign", "space": "nb201", "design_stride": args.design_stride},
                        "objectives": ["accuracy", "edp"], "strategy": {"name": name, "params": params},
                        "budget": {"trials": budget}, "seed": seed})
                    study = f"{v}-{budget}-{seed}".replace(" ", "_").replace(",", "")
                    t = time.perf_counter()
                    run_study(cfg, name=study, storage=url, progress=False, problem=problem)
                    secs.append(time.perf_counter() - t)
                    fr.append(summarize(study, storage=url, problem=problem)["hypervolume_fraction"])
                rows[v][budget] = {"mean": float(np.mean(fr)), "std": float(np.std(fr)), "min": float(np.min(fr)),
                                   "fractions": fr, "seconds_mean": float(np.mean(secs))}
                r = rows[v][budget]
                print(f"{v:>26} {budget:>7,}: {r['mean']:.4f} +- {r['std']:.4f} (min {r['min']:.4f}), "
                      f"{r['seconds_mean']:.2f} s a run", file=sys.stderr, flush=True)
    base = rows.get("random")
    print(f"\nvariant | hypervolume fraction, mean +- std of {args.seeds} seeds (min, difference from random) at "
          + " | ".join(f"{b:,} pairs" for b in args.budgets) + f" | s per {max(args.budgets):,}-pair run")
    for v, by in rows.items():
        cells = []
        for b in args.budgets:
            d = f", {by[b]['mean'] - base[b]['mean']:+.4f}" if base and v != "random" else ""
            cells.append(f"{by[b]['mean']:.4f} +- {by[b]['std']:.4f} ({by[b]['min']:.4f}{d})")
        print(f"{v} | " + " | ".join(cells) + f" | {by[max(args.budgets)]['seconds_mean']:.2f}")
    if args.out:
        args.out.write_text(json.dumps({"variants": {v: VARIANTS[v] for v in rows}, "rows": rows,
                                        "seeds": args.seeds, "budgets": args.budgets,
                                        "design_stride": args.design_stride,
                                        "seconds": time.perf_counter() - t0}, indent=1))


if __name__ == "__main__":
    main()
