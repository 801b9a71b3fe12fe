"""DANCE's evaluators, measured: estimator error against the analytical model, query time, and the designs found.

1. Error: the cost estimator (:class:`coexplore.joint.dance.CostEstimator`) trained on N
   random pairs of recipe nb201-eyeriss priced by the cost model, tested on 5,000 other
   random pairs: mean relative error of latency, energy, area and EDP.
2. Query time per pair: the estimator (a batch of every design for one network), the
   cost table lookup, and running the mapper for the pair's layer shapes on its design
   (the table's mapper and the default mapper, fresh caches).
3. Designs found: the ``dance`` strategy with the recipe's budget, hypervolume fraction and
   its chosen designs next to the exact front's.

    python benchmarks/bench_dance.py [--train 2000 5000 20000] [--seeds 0 1 2] [--out dance.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from coexplore.hwsearch.problem import DEFAULT_MAPPER, map_shape
from coexplore.joint.base import GridCoords
from coexplore.joint.costtable import TABLE_MAPPER, TABLE_OBJECTIVE
from coexplore.joint.dance import CostEstimator
from coexplore.joint.problem import NB201GridProblem
from coexplore.optional import require
from coexplore.study.codesign import load_recipe, summarize
from coexplore.study.study import run_study


def _pairs(problem: NB201GridProblem, coords: GridCoords, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    idx = rng.integers(len(problem.arch_choices), size=n)
    cols = coords.columns[rng.integers(len(coords.columns), size=n)]
    energy, latency, area = problem.costs(idx, cols)
    logc = np.column_stack([np.log10(latency.astype(np.float64)), np.log10(energy), np.log10(area)])
    return idx, cols, logc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, nargs="+", default=[2000, 5000, 20000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--mapper-pairs", type=int, default=3, help="pairs mapped for the query-time comparison")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch = require("torch", extra="nas", who="bench_dance")
    torch.set_num_threads(1)
    problem = NB201GridProblem(progress=True)
    coords = GridCoords(problem)
    out: dict[str, object] = {}

    # 1. estimator error on held-out pairs
    errors = []
    for seed in args.seeds:
        rng = np.random.default_rng(1000 + seed)
        t_idx, t_cols, t_log = _pairs(problem, coords, rng, 5000)
        for n in args.train:
            idx, cols, logc = _pairs(problem, coords, rng, n)
            est = CostEstimator(torch, problem.counts.counts.shape[1], coords.features(cols[:1]).shape[1], seed=seed)
            t = time.perf_counter()
            est.fit(torch, problem.counts.counts[idx].astype(np.float64), coords.features(cols), logc,
                    epochs=args.epochs, seed=seed)
            fit_s = time.perf_counter() - t
            pred = est.predict(torch, problem.counts.counts[t_idx].astype(np.float64), coords.features(t_cols))
            err = np.abs(10 ** (pred - t_log) - 1) * 100
            edp = np.abs(10 ** (pred[:, 0] + pred[:, 1] - t_log[:, 0] - t_log[:, 1]) - 1) * 100
            row = {"seed": seed, "train_pairs": n, "fit_seconds": fit_s, "latency": float(err[:, 0].mean()),
                   "energy": float(err[:, 1].mean()), "area": float(err[:, 2].mean()), "edp": float(edp.mean()),
                   "edp_p90": float(np.percentile(edp, 90))}
            errors.append(row)
            print(f"estimator seed {seed}, {n:,} training pairs ({fit_s:.1f} s): mean error latency "
                  f"{row['latency']:.2f} %, energy {row['energy']:.2f} %, area {row['area']:.2f} %, EDP "
                  f"{row['edp']:.2f} % (90th percentile {row['edp_p90']:.2f} %)", file=sys.stderr)
    out["estimator_error"] = errors

    # 2. query time per pair
    rng = np.random.default_rng(7)
    arch = int(rng.integers(len(problem.arch_choices)))
    counts = np.repeat(problem.counts.counts[[arch]].astype(np.float64), len(coords.columns), axis=0)
    feats = coords.features(coords.columns)
    est.predict(torch, counts, feats)
    reps = 20
    t = time.perf_counter()
    for _ in range(reps):
        est.predict(torch, counts, feats)
    est_us = (time.perf_counter() - t) / (reps * len(counts)) * 1e6
    idx = np.full(len(coords.columns), arch)
    t = time.perf_counter()
    for _ in range(reps):
        problem.costs(idx, coords.columns)
    table_us = (time.perf_counter() - t) / (reps * len(idx)) * 1e6
    mapper_s = {}
    for label, cfg in (("table mapper", TABLE_MAPPER), ("default mapper", DEFAULT_MAPPER)):
        times = []
        for k in range(args.mapper_pairs):
            col = int(coords.columns[rng.integers(len(coords.columns))])
            acc = problem.grid.build(problem.designs[col])
            shapes = [problem.counts.shapes[s] for s in np.flatnonzero(problem.counts.counts[arch])]
            t = time.perf_counter()
            for layer in shapes:
                map_shape(layer, acc, config=cfg, objective=TABLE_OBJECTIVE, seed=k)
            times.append(time.perf_counter() - t)
        mapper_s[label] = float(np.mean(times))
    out["query"] = {"estimator_us_per_pair": est_us, "table_us_per_pair": table_us,
                    "mapper_seconds_per_pair": mapper_s,
                    "speedup_vs_table_mapper": mapper_s["table mapper"] * 1e6 / est_us,
                    "speedup_vs_default_mapper": mapper_s["default mapper"] * 1e6 / est_us}
    print(f"query per pair: estimator {est_us:.2f} us, cost table {table_us:.2f} us, mapping the pair's "
          f"{len(shapes)} shapes {mapper_s['table mapper'] * 1e3:.0f} ms (table mapper) / "
          f"{mapper_s['default mapper'] * 1e3:.0f} ms (default mapper): estimator "
          f"{out['query']['speedup_vs_table_mapper']:,.0f}x / {out['query']['speedup_vs_default_mapper']:,.0f}x "
          "faster than mapping", file=sys.stderr)

    # 3. the designs DANCE finds (the recipe, through the study driver)
    cfg = load_recipe("dance-nb201-eyeriss")
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'd.db'}"
        for seed in args.seeds:
            c = type(cfg).from_dict({**cfg.to_dict(), "seed": seed})
            t = time.perf_counter()
            run_study(c, name=f"dance-{seed}", storage=url, progress=False, problem=problem)
            s = summarize(f"dance-{seed}", storage=url, problem=problem)
            best = max(s["front"], key=lambda e: (e["accuracy"], -e["edp"]))
            ok = [e for e in s["front"] if e["accuracy"] >= 70.0]
            cheap = min(ok, key=lambda e: e["edp"]) if ok else None
            row = {"seed": seed, "seconds": time.perf_counter() - t, "pairs": s["pairs_evaluated"],
                   "hv_fraction": s["hypervolume_fraction"], "most_accurate": best, "lowest_edp_at_70": cheap,
                   "estimator": s.get("estimator")}
            found.append(row)
            print(f"dance seed {seed}: {row['pairs']:,} pairs, hypervolume fraction {row['hv_fraction']:.4f}, most "
                  f"accurate {best['accuracy']:.2f} % EDP {best['edp']:.3e}"
                  + (f", lowest EDP at >= 70 %: {cheap['accuracy']:.2f} % EDP {cheap['edp']:.3e}" if cheap else "")
                  + f" ({row['seconds']:.1f} s)", file=sys.stderr)
    f = problem.exact_front
    exact_best = int(np.argmax(f.accuracy))
    ok70 = np.flatnonzero(f.accuracy >= 70.0)
    exact_cheap = int(ok70[np.argmin(f.edp[ok70])])
    out["designs"] = found
    out["exact"] = {"most_accurate": {"accuracy": float(f.accuracy[exact_best]), "edp": float(f.edp[exact_best])},
                    "lowest_edp_at_70": {"accuracy": float(f.accuracy[exact_cheap]), "edp": float(f.edp[exact_cheap])}}
    print(f"exact front: most accurate {f.accuracy[exact_best]:.2f} % EDP {f.edp[exact_best]:.3e}; lowest EDP at >= "
          f"70 %: {f.accuracy[exact_cheap]:.2f} % EDP {f.edp[exact_cheap]:.3e}", file=sys.stderr)
    print(json.dumps({"estimator_error": errors, "query": out["query"],
                      "hv_fraction": [r["hv_fraction"] for r in found]}))
    if args.out:
        args.out.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
