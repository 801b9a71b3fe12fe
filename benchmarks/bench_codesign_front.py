"""Exhaustive co-design (Codesign-NAS) of NAS-Bench-201 x the Eyeriss-budget grid: table and exact fronts.

Builds (or loads from the cache) the per-(layer shape, design) cost table of all 15,625
NAS-Bench-201 CIFAR-100 networks on every design of ``eyeriss_grid()``, then computes the
exact Pareto fronts of (accuracy, EDP) and (accuracy, latency, energy, area) over all
pairs; the (accuracy, EDP) front is computed twice, grouped by shape-count row and by
brute enumeration of every pair, and the two must agree. The table's mapper is compared
with the default mapper on a sample of designs (per-shape and per-network EDP ratios).

    python benchmarks/bench_codesign_front.py --out front.json [--jobs 2] [--no-cache]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from coexplore.hwsearch.problem import DEFAULT_MAPPER
from coexplore.joint.costtable import (
    TABLE_MAPPER,
    build_cost_table,
    default_cache_dir,
    nb201_shape_counts,
)
from coexplore.joint.front import (
    edp_hypervolume,
    edp_reference,
    front_accuracy_costs,
    front_accuracy_edp,
    group_networks,
)
from coexplore.joint.space import eyeriss_grid
from coexplore.nas.tables import load_accuracy


def _ratios(r: np.ndarray) -> dict[str, float]:
    return {"geomean": float(np.exp(np.log(r).mean())), "max": float(r.max()), "min": float(r.min()),
            "within_1pct": float((r <= 1.01).mean()), "within_5pct": float((r <= 1.05).mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache-dir", type=Path, default=None, help=f"default {default_cache_dir()}")
    ap.add_argument("--no-cache", action="store_true", help="build the table even if it is cached")
    ap.add_argument("--sample-designs", type=int, default=16, help="designs mapped with the default mapper too")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t = time.perf_counter()
    grid = eyeriss_grid()
    t_grid = time.perf_counter() - t
    t = time.perf_counter()
    counts = nb201_shape_counts()
    t_counts = time.perf_counter() - t
    accuracy = load_accuracy("cifar100", 200, "test")
    t = time.perf_counter()
    table = build_cost_table(grid, counts.shapes, jobs=args.jobs, cache_dir=args.cache_dir,
                             use_cache=not args.no_cache, seed=args.seed, progress=True)
    t_table = time.perf_counter() - t
    loaded = table.source != "built"
    how = f"loaded from the {table.source} table in {t_table:.2f} s" if loaded else "built now"
    print(f"table: {len(counts.shapes)} shapes x {len(table.designs)} designs, built in {table.seconds:.1f} s "
          f"({how})", file=sys.stderr)

    n_feasible = int(table.feasible.sum())
    front = front_accuracy_edp(table, counts.counts, accuracy)
    brute = front_accuracy_edp(table, counts.counts, accuracy, dedupe=False)
    same = (np.array_equal(front.network, brute.network) and np.array_equal(front.design, brute.design))
    four = front_accuracy_costs(table, counts.counts, accuracy)
    t = time.perf_counter()
    ref = edp_reference(table, counts.counts)
    hv = edp_hypervolume(front.accuracy, front.edp, ref)
    t_hv = time.perf_counter() - t

    # the table's mapper against the default mapper, on a sample of designs
    rng = np.random.default_rng(args.seed)
    cols = np.sort(rng.choice(len(table.designs), min(args.sample_designs, len(table.designs)), replace=False))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ref_table = build_cost_table(grid, counts.shapes, designs=grid.subset(cols), mapper=DEFAULT_MAPPER,
                                     jobs=args.jobs, seed=args.seed, cache_dir=tmp, use_cache=False)
        t_default = time.perf_counter() - t
    shape_ratio = (table.energy_pj[:, cols] * table.latency_cycles[:, cols]) / (
        ref_table.energy_pj * ref_table.latency_cycles)
    rows, _ = group_networks(counts.counts)
    fast_e, fast_l = table.network_costs(rows)
    slow_e, slow_l = ref_table.network_costs(rows)
    net_ratio = (fast_e[:, cols] * fast_l[:, cols]) / (slow_e * slow_l)

    out = {
        "designs": len(table.designs),
        "feasible_designs": n_feasible,
        "networks": len(counts.counts),
        "shapes": len(counts.shapes),
        "distinct_count_rows": len(rows),
        "pairs": len(counts.counts) * n_feasible,
        "mapper": {"samples": TABLE_MAPPER.samples, "beam": TABLE_MAPPER.beam, "moves": TABLE_MAPPER.moves,
                   "patience": TABLE_MAPPER.patience, "polish_cap": TABLE_MAPPER.polish_cap},
        "jobs": args.jobs,
        "seconds": {"grid": t_grid, "shape_counts": t_counts, "table_build": table.seconds,
                    "table_this_run": t_table, "front_edp": front.seconds, "front_edp_all_pairs": brute.seconds,
                    "front_4d": four.seconds, "hypervolume": t_hv},
        "table_loaded_from_cache": loaded,
        "table_source": table.source,
        "mappings": len(counts.shapes) * len(table.designs),
        "ms_per_mapping": 1000 * table.seconds * args.jobs / (len(counts.shapes) * len(table.designs)),
        "front_edp": {"size": len(front), "networks": len(set(front.network.tolist())),
                      "designs": len(set(front.design.tolist())), "costs_evaluated": front.evaluated,
                      "all_pairs_evaluated": brute.evaluated, "all_pairs_front_identical": same},
        "front_4d": {"size": len(four), "networks": len(set(four.network.tolist())),
                     "designs": len(set(four.design.tolist())), "costs_evaluated": four.evaluated},
        "hypervolume_edp": {"value": hv, "reference": {"accuracy": ref[0], "log10_edp": ref[1]},
                            "units": "accuracy % x decades of EDP (pJ x cycles)"},
        "best_accuracy": {"accuracy": float(front.accuracy[0]), "edp": float(front.edp[0]),
                          "arch_index": int(counts.arch_index[front.network[0]]),
                          "design": str(table.designs[front.design[0]])},
        "mapper_vs_default": {"sample_designs": len(cols), "default_seconds": t_default,
                              "shape_edp_ratio": _ratios(shape_ratio.ravel()),
                              "network_edp_ratio": _ratios(net_ratio.ravel())},
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
