"""Variation-aware NAS on NAS-Bench-201 with the AnalogNAS-Bench table (issue 17, NACIM's NB201 acceptance).

    python benchmarks/bench_analog_nb201.py [--seeds 10] [--first-seed 0] [--budget 300]
        [--strategies evolution ...] [--param STRATEGY:NAME=VALUE ...] [--all-mappings] [--out FILE]

Needs the ``cim`` extra (``analog-nasbench``). Accuracy is CIFAR-10 test accuracy (percent)
from the table; "noisy" is its ``noisy_accuracy`` column: the digitally trained network on a
simulated PCM crossbar (AIHWKit PCMLikeNoiseModel, 8-bit I/O), no hardware-aware training.

* Mapping check: Spearman of the table's clean (``baseline_accuracy``) column against
  coexplore's shipped NB201 CIFAR-10 12-epoch test column, with the package's keys mapped
  as :mod:`coexplore.nas.analog_table` does, and read naively (NB201 operation order and
  cell-string edge order) for contrast. ``--all-mappings`` ranks every reading of the keys
  (120 operation orders x 720 edge orders, by Pearson, about 2 minutes) and prints the best five.
* Reference: the cell of highest clean accuracy in the table and its noisy accuracy (the
  issue quotes 81.2 %); the table's best noisy accuracy and how many cells reach 87 %.
* Per strategy and seed, a search of at most ``--budget`` table queries (degenerate cells
  are rejected before any query): variation-aware (objective: noisy accuracy) reports the
  best noisy accuracy found; variation-unaware (objective: clean accuracy) reports its pick's
  clean and noisy accuracy. Mean, standard deviation, min over the seeds. ``--param``
  overrides a strategy's hyper-parameter (``evolution:population=10``); a row named
  ``evolution[population=10]`` says so. Choose such values on other seeds (``--first-seed 100``)
  than the ones reported.

Prints one JSON line per strategy and objective, then a markdown table.

Measured (2026-12-07, 2 shared cores, seeds 0..9, 300 queries): evolution 86.84 +- 1.09 % noisy
(5/10 seeds >= 87 %; the target of 87 % as a mean is not met), reinforce 85.41, random 85.48;
the clean-accuracy searches' picks 80.65 / 73.23 / 71.93 % noisy; the most accurate clean cell
81.21 % noisy. ``brp`` and ``optuna-tpe`` took over 5 minutes per search here and were not run.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from coexplore.nas.analog_table import AnalogTableEvaluator, cell_of_key, load_analog_table, package_key
from coexplore.nas.nb201 import EDGES, OPS, NB201Space
from coexplore.nas.search import search_nas
from coexplore.nas.tables import load_accuracy

TARGET = 87.0


def mapping_check(space: NB201Space) -> dict[str, float]:
    """Spearman of the table's clean column against the shipped CIFAR-10 column, mapped and read naively."""
    table = load_analog_table()
    clean = table.column("baseline_accuracy")
    c10 = load_accuracy("cifar10", 12, "test")
    naive = np.array([clean[space.index(cell_of_key(tuple(OPS.index(o) for o in c.ops)))]
                      for c in space.all_cells()])
    return {"spearman_mapped": float(spearmanr(clean, c10).statistic),
            "spearman_naive": float(spearmanr(naive, c10).statistic)}


def all_mappings(space: NB201Space, top: int = 5) -> list[dict[str, Any]]:
    """Every reading of the package keys (operation order x edge order), best ``top`` by Pearson then Spearman."""
    import itertools

    clean = load_analog_table().column("baseline_accuracy")
    by_key = np.zeros((len(OPS),) * 6)  # the table indexed by the package's raw key
    for i, cell in enumerate(space.all_cells()):
        by_key[package_key(cell)] = clean[i]
    c10 = load_accuracy("cifar10", 12, "test")
    z = (c10 - c10.mean()) / c10.std()
    ops = np.array([[OPS.index(o) for o in c.ops] for c in space.all_cells()])  # NB201 op index, cell-string edges
    scored = []
    for perm_ops in itertools.permutations(range(len(OPS))):
        keyed = np.array(perm_ops)[ops]
        for perm_edges in itertools.permutations(range(6)):
            v = by_key[tuple(keyed[:, list(perm_edges)].T)]
            scored.append((float(((v - v.mean()) / v.std() * z).mean()), perm_ops, perm_edges))
    scored.sort(reverse=True)
    out = []
    for r, perm_ops, perm_edges in scored[:top]:
        v = by_key[tuple(np.array(perm_ops)[ops][:, list(perm_edges)].T)]
        out.append({"pearson": r, "spearman": float(spearmanr(v, c10).statistic),
                    "package_index_of_op": dict(zip(OPS, perm_ops)),
                    "package_position_edge": [list(EDGES[e]) for e in perm_edges]})
    return out


def reference(space: NB201Space) -> dict[str, Any]:
    table = load_analog_table()
    clean, noisy = table.column("baseline_accuracy"), table.column("noisy_accuracy")
    i, j = int(np.argmax(clean)), int(np.argmax(noisy))
    return {"best_clean_cell": str(space.cell(i)), "best_clean_index": i, "best_clean_clean": float(clean[i]),
            "best_clean_noisy": float(noisy[i]), "best_noisy_cell": str(space.cell(j)), "best_noisy_index": j,
            "best_noisy_noisy": float(noisy[j]), "best_noisy_clean": float(clean[j]),
            "cells_noisy_at_least_target": int((noisy >= TARGET).sum()), "cells": len(noisy)}


def parse_params(items: list[str], strategies: list[str]) -> dict[str, dict[str, Any]]:
    """``STRATEGY:NAME=VALUE`` items as {strategy: {name: int, float or str}}."""
    out: dict[str, dict[str, Any]] = {s: {} for s in strategies}
    for item in items:
        strategy, _, rest = item.partition(":")
        name, eq, text = rest.partition("=")
        if strategy not in out or not name or not eq:
            raise SystemExit(f"--param: expected STRATEGY:NAME=VALUE with STRATEGY in {', '.join(strategies)}, "
                             f"got {item!r}")
        value: Any = text
        for kind in (int, float):
            try:
                value = kind(text)
                break
            except ValueError:
                pass
        out[strategy][name] = value
    return out


def run(space: NB201Space, strategy: str, column: str, seeds: range, budget: int,
        params: dict[str, Any]) -> dict[str, Any]:
    """Searches maximising ``column``; the picks' clean and noisy accuracy per seed."""
    table = load_analog_table()
    clean, noisy = table.column("baseline_accuracy"), table.column("noisy_accuracy")
    evaluator = AnalogTableEvaluator(space=space, column=column)
    picks_clean, picks_noisy, queries, found_at = [], [], [], []
    t0 = time.perf_counter()
    for seed in seeds:
        res = search_nas(space, accuracy=evaluator, strategy=strategy, budget_queries=budget, seed=seed, **params)
        i = space.index(res.best)
        picks_clean.append(float(clean[i]))
        picks_noisy.append(float(noisy[i]))
        queries.append(len(res.queries))
        found_at.append(res.queries_to_reach(res.best_accuracy))
    n = np.array(picks_noisy)
    label = strategy + (f"[{','.join(f'{k}={v}' for k, v in params.items())}]" if params else "")
    return {"strategy": label, "objective": column, "seeds": len(seeds), "first_seed": seeds[0], "budget": budget,
            "noisy_mean": float(n.mean()), "noisy_std": float(n.std(ddof=1)) if len(seeds) > 1 else 0.0,
            "noisy_min": float(n.min()), "clean_mean": float(np.mean(picks_clean)),
            "reached_target": int((n >= TARGET).sum()), "queries_max": max(queries),
            "query_of_best_median": float(np.median(found_at)), "picks_noisy": picks_noisy,
            "seconds_per_run": (time.perf_counter() - t0) / len(seeds)}


def table(rows: list[dict[str, Any]], ref: dict[str, Any]) -> str:
    lines = ["| strategy | objective | seeds | queries <= | pick's noisy acc. mean +- std (min) | noisy >= 87 % "
             "| pick's clean acc. mean | median query of best | s per run |", "|---" * 9 + "|"]
    for r in rows:
        lines.append(f"| {r['strategy']} | {r['objective']} | {r['first_seed']}..{r['first_seed'] + r['seeds'] - 1} "
                     f"| {r['budget']} "
                     f"| {r['noisy_mean']:.2f} +- {r['noisy_std']:.2f} ({r['noisy_min']:.2f}) "
                     f"| {r['reached_target']}/{r['seeds']} | {r['clean_mean']:.2f} | {r['query_of_best_median']:g} "
                     f"| {r['seconds_per_run']:.2f} |")
    lines.append(f"| table: most accurate clean cell | - | - | 15,625 | {ref['best_clean_noisy']:.2f} | - "
                 f"| {ref['best_clean_clean']:.2f} | - | - |")
    lines.append(f"| table: best noisy cell | - | - | 15,625 | {ref['best_noisy_noisy']:.2f} | - "
                 f"| {ref['best_noisy_clean']:.2f} | - | - |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--budget", type=int, default=300, help="table queries per search")
    ap.add_argument("--strategies", nargs="+", default=["evolution", "reinforce", "random"])
    ap.add_argument("--param", action="append", default=[], help="STRATEGY:NAME=VALUE (repeatable)")
    ap.add_argument("--all-mappings", action="store_true", help="rank every reading of the package keys")
    ap.add_argument("--out", help="also write the JSON lines here")
    args = ap.parse_args()
    if args.seeds < 1 or args.budget < 1:
        raise SystemExit(f"--seeds and --budget: must be >= 1, got {args.seeds} and {args.budget}")
    params = parse_params(args.param, args.strategies)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    space = NB201Space(dataset="cifar10")
    out = [{"mapping": mapping_check(space)}, {"reference": reference(space)}]
    if args.all_mappings:
        out.append({"all_mappings_best": all_mappings(space)})
    for line in out:
        print(json.dumps(line), flush=True)
    rows = []
    for strategy in args.strategies:
        for column in ("noisy_accuracy", "baseline_accuracy"):
            rows.append(run(space, strategy, column, seeds, args.budget, params[strategy]))
            print(json.dumps(rows[-1]), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.writelines(json.dumps(line) + "\n" for line in [*out, *rows])
    print(table(rows, out[1]["reference"]))


if __name__ == "__main__":
    main()
