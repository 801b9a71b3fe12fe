"""The NAAS mapper (CMA-ES over importance-encoded mappings) against random mappings at equal evaluations.

    python benchmarks/bench_mapper_naas.py [--budgets 1000 5000 20000] [--seeds 3] [--variants ...]
        [--accelerators eyeriss nvdla-256 shidiannao] [--out naas_mapper.json]

Rows: the 21 layers of ``bench_mapper_optimality.py`` on each accelerator (63 rows, the
three layers of ``tests/test_mapper_naas_genetic.py`` among them). For every row, budget
and seed, each variant's best EDP is divided by the best EDP of ``RandomMapper`` with the
same evaluations and seed, measured in the same run. Variants, each one change on the
previous (the ablation of the fixes):

* ``first``: the first version's settings (random mean, step 1.0, runs ended after
  ``20 + 10 n / popsize`` generations without any gain, IPOP doubling, alternate local
  restarts).
* ``warm``: + warm start: each run's mean is the encoding of the best of 256 random mappings.
* ``short``: + short runs: restart after 10 generations without a 0.1 % gain.
* ``final``: + step 0.5 and a fixed population, no local restarts (the defaults).
* ``final-cold``: the defaults without the warm start (what the warm start adds to them).

Prints, per variant and budget: the geometric mean of the ratios (< 1: better than
random), the worst ratio, the share of runs strictly better and strictly worse than
random, and the seconds per run (random's too).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.mapper.problem import LayerMappingProblem
from coexplore.mapper.strategies.naas import NaasMapper
from coexplore.mapper.strategies.random import RandomMapper
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network
from coexplore.search.driver import optimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mapper_optimality import LAYERS

FIRST = {"init_samples": 0, "stall_generations": None, "min_gain": 3e-8, "max_popsize": 128,
         "local_restarts": True, "warm_sigma": 0.3}
VARIANTS: dict[str, dict[str, Any]] = {
    "first": FIRST,
    "warm": {**FIRST, "init_samples": 256},
    "short": {**FIRST, "init_samples": 256, "stall_generations": 10, "min_gain": 1e-3},
    "final": {},
    "final-cold": {"init_samples": 0},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--budgets", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--accelerators", nargs="+", default=["eyeriss", "nvdla-256", "shidiannao"])
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    ratios: dict[str, dict[int, list[float]]] = {v: {b: [] for b in args.budgets} for v in args.variants}
    secs: dict[str, dict[int, list[float]]] = {v: {b: [] for b in args.budgets} for v in [*args.variants, "random"]}
    rows = []
    for acc_name in args.accelerators:
        acc = get_accelerator(acc_name)
        for net, name in LAYERS:
            layer = get_network(net).layer(name)
            problem = LayerMappingProblem(layer=layer, accelerator=acc)
            row: dict[str, Any] = {"row": f"{acc_name}/{net}/{name}"}
            for budget in args.budgets:
                for seed in range(args.seeds):
                    t = time.perf_counter()
                    rand = optimize(problem, RandomMapper(layer=layer, accelerator=acc, seed=seed),
                                    max_evals=budget).best_values[0, 0]
                    secs["random"][budget].append(time.perf_counter() - t)
                    for v in args.variants:
                        t = time.perf_counter()
                        got = optimize(problem, NaasMapper(layer=layer, accelerator=acc, seed=seed, **VARIANTS[v]),
                                       max_evals=budget).best_values[0, 0]
                        secs[v][budget].append(time.perf_counter() - t)
                        ratios[v][budget].append(float(got / rand))
                        row.setdefault(f"{v}@{budget}", []).append(float(got / rand))
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    summary: dict[str, Any] = {}
    print("variant | budget | geomean naas/random | worst | better | worse | s per run (random)")
    for v in args.variants:
        for b in args.budgets:
            r = np.array(ratios[v][b])
            s = {"geomean": float(np.exp(np.log(r).mean())), "worst": float(r.max()),
                 "better": float(np.mean(r < 1 - 1e-9)), "worse": float(np.mean(r > 1 + 1e-9)),
                 "seconds": float(np.mean(secs[v][b])), "random_seconds": float(np.mean(secs["random"][b])),
                 "runs": len(r)}
            summary[f"{v}@{b}"] = s
            print(f"{v} | {b:,} | {s['geomean']:.4f} | {s['worst']:.3f} | {100 * s['better']:.0f} % | "
                  f"{100 * s['worse']:.0f} % | {s['seconds']:.2f} ({s['random_seconds']:.2f})")
    if args.out:
        args.out.write_text(json.dumps({"summary": summary, "rows": rows, "seeds": args.seeds,
                                        "budgets": args.budgets, "variants": {v: VARIANTS[v] for v in args.variants}},
                                       indent=1))


if __name__ == "__main__":
    main()
