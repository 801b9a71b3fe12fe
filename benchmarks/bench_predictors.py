"""Latency and accuracy predictors on NAS-Bench-201: every predictor against the FLOPs baseline.

    python benchmarks/bench_predictors.py latency [--framework onnx] [--latency-file CSV] [--train 900]
        [--predictors flops params lut mlp gcn] [--seeds 0] [--data-dir DIR]
    python benchmarks/bench_predictors.py accuracy [--train 100] [--predictors gcn brp] [--seeds 0 1 2 3 4]

latency: fit on ``--train`` random cells of the device table, test on all the others
(features of each row's ``rep_arch_index``: the network that was timed); Spearman,
Kendall, MAPE and the shares within +-5 % / +-10 %. The same command runs on any table of
the ``nb201_device_latency.csv`` form (``--latency-file``, e.g. one measured here with
``coexplore measure``; ``--framework torch``), with nothing tuned for it.
accuracy: fit on ``--train`` random cells' CIFAR-100 200-epoch accuracy, rank all others;
Kendall tau per predictor, mean over seeds (BRP-NAS: the binary relation predictor
should beat the GCN regressor with few training networks).
One JSON line per (predictor, seed), then a summary line per predictor.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.datadir import resolve_data_dir, set_data_dir
from coexplore.nas.predictor_eval import TargetTable, evaluate_predictor, read_target_csv
from coexplore.nas.tables import load_accuracy


def _split(table: TargetTable, n_train: int, seed: int) -> tuple[TargetTable, TargetTable]:
    if not 2 <= n_train < len(table.target) - 1:
        raise SystemExit(f"--train: must be in 2..{len(table.target) - 2} for {table.path}, got {n_train}")
    perm = np.random.default_rng(seed).permutation(len(table.target))
    tr, te = perm[:n_train], perm[n_train:]

    def part(i: np.ndarray) -> TargetTable:
        return TargetTable(path=table.path, arch_index=table.arch_index[i], feature_index=table.feature_index[i],
                           target=table.target[i])

    return part(tr), part(te)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("task", choices=["latency", "accuracy"])
    ap.add_argument("--framework", default="onnx")
    ap.add_argument("--latency-file", default=None, help="device table CSV (default: the data directory's Pi 5 table)")
    ap.add_argument("--train", type=int, default=None, help="training cells (latency 900, accuracy 100)")
    ap.add_argument("--predictors", nargs="+", default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = ap.parse_args()
    set_data_dir(args.data_dir)
    if args.task == "latency":
        path = Path(args.latency_file) if args.latency_file else (
            resolve_data_dir() / "nasbench201" / "nb201_device_latency.csv")
        table = read_target_csv(path, "latency_ms", framework=args.framework)
        n_train = args.train or 900
        predictors = args.predictors or ["flops", "params", "lut", "mlp", "gcn"]
        seeds = args.seeds or [0]
        target = "latency_ms"
    else:
        acc = load_accuracy("cifar100", 200, "test")
        idx = np.arange(len(acc))
        table = TargetTable(path="nb201_accuracy.csv", arch_index=idx, feature_index=idx, target=acc)
        n_train = args.train or 100
        predictors = args.predictors or ["flops", "gcn", "brp"]
        seeds = args.seeds or [0, 1, 2, 3, 4]
        target = "cifar100-test-200ep"
    rows: dict[str, list[dict[str, Any]]] = {p: [] for p in predictors}
    for seed in seeds:
        train, test = _split(table, n_train, seed)
        for name in predictors:
            score = evaluate_predictor(name, train, test, target, seed=seed)
            row = {"task": args.task, "table": table.path, "framework": args.framework if args.task == "latency"
                   else None, "seed": seed, **score.to_dict()}
            rows[name].append(row)
            line = json.dumps(row)
            print(line, flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(line + "\n")
    for name, rs in rows.items():
        summary: dict[str, Any] = {"summary": name, "task": args.task, "seeds": len(rs), "train": n_train,
                                   "test": rs[0]["test"]}
        for key in ("spearman", "kendall", "mape", "within_5pct", "within_10pct", "fit_seconds"):
            vals = [r[key] for r in rs if r[key] is not None]
            summary[key] = float(np.mean(vals)) if vals else None
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
