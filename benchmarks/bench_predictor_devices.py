"""Why latency predictors fail on new devices: error by cell group, per-operator costs, noise share.

    python benchmarks/bench_predictor_devices.py --data-dir ../shared/data \
        --device local-ort=/work/runs/devices/local_onnxruntime_a.csv \
        --device local-torch=/work/runs/devices/local_torch_a.csv \
        --repeat local-ort=/work/runs/devices/local_onnxruntime_b.csv \
        --repeat local-torch=/work/runs/devices/local_torch_b.csv [--train 900] [--seed 0]

For every device table (Pi 5 ONNX Runtime and LiteRT from the data directory, isomorphism
representatives only, and each ``--device``):

1. Per-operator costs: the relative-error cost table over the graph counts (operation x
   edge status, adds, constant output) fitted on all cells, printed as ms per edge of the
   cell string (over the 15 cells) relative to a ``none`` edge, with the constant-network
   ratio. This is the per-operator overhead of the runtime.
2. Error by cell group of FLOPs, LUT (15 operation counts), the cost table and the GCN,
   fitted on ``--train`` random cells and tested on the rest: constant networks (degenerate
   cells), cells with zero-fed or dead-ended operations, pooling-heavy (>= 3 pool edges),
   skip-heavy (>= 3 skip edges), conv-heavy (>= 3 conv edges), other. Per group: cells,
   MAPE, share within 10 %, and the group's share of the total squared relative error.
3. Noise share: with a ``--repeat`` table, the measurement noise variance of the relative
   error is half the mean squared relative difference of the two runs; its share of each
   predictor's mean squared relative error on the common test cells is the part of the gap
   no model can close. Without a repeat (Pi 5), the within-run variance of the median
   (pi/2 x variance / 40 runs) gives a lower bound on the noise.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np

from coexplore.datadir import resolve_data_dir, set_data_dir
from coexplore.nas.latency_transfer import DeviceTable, all_cell_features, read_device_tables
from coexplore.nas.nb201 import GRAPH_COUNT_NAMES, NB201Space
from coexplore.predict import fit_cost_table, make_predictor, ranking_metrics

PREDICTORS = ("flops", "lut", "transfer", "gcn")
LABEL = {"transfer": "costtable"}


def _spec(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"must be NAME=CSV, got {text!r}")
    return name, path


def _one(name: str, path: str) -> DeviceTable:
    (t,) = read_device_tables([path])
    return DeviceTable(name=name, arch_index=t.arch_index, latency_ms=t.latency_ms)


def cell_groups(arch_index: np.ndarray) -> np.ndarray:
    """One group label per cell (first matching rule wins)."""
    cells = NB201Space.all_cells()
    out = []
    for i in arch_index:
        c = cells[int(i)]
        status = c.edge_status()
        ops = [o for o, s in zip(c.ops, status, strict=True) if s != "none"]
        if c.degenerate:
            out.append("constant network")
        elif any(s in ("dead_end", "zero_fed") for s in status):
            out.append("zero-fed / dead-ended ops")
        elif ops.count("avg_pool_3x3") >= 3:
            out.append("pooling-heavy")
        elif ops.count("skip_connect") >= 3:
            out.append("skip-heavy")
        elif sum(o.startswith("nor_conv") for o in ops) >= 3:
            out.append("conv-heavy")
        else:
            out.append("other")
    return np.array(out)


def _pi5_noise(path: Any, framework: str, arch_index: np.ndarray, y: np.ndarray) -> float:
    """Mean relative variance of the median from the table's within-run variance (40 runs)."""
    import csv

    var = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r["framework"] == framework:
                var[int(r["arch_index"])] = float(r["latency_var"])
    v = np.array([var[int(i)] for i in arch_index])
    return float(np.mean((math.pi / 2) * v / 40 / y ** 2))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--device", type=_spec, action="append", default=[])
    ap.add_argument("--repeat", type=_spec, action="append", default=[])
    ap.add_argument("--train", type=int, default=900)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    set_data_dir(args.data_dir)
    import torch

    torch.set_num_threads(1)
    pi5_path = resolve_data_dir() / "nasbench201" / "nb201_device_latency.csv"
    devices = [DeviceTable(name=t.name.replace("pi5/", "pi5-"), arch_index=t.arch_index, latency_ms=t.latency_ms)
               for t in read_device_tables([pi5_path])]
    devices += [_one(n, p) for n, p in args.device]
    repeats = {n: _one(n, p) for n, p in args.repeat}
    feats = all_cell_features()
    none_col = GRAPH_COUNT_NAMES.index("none")
    for dev in devices:
        f_all = feats.take(dev.arch_index)
        table = fit_cost_table(f_all, dev.latency_ms, device=dev.name)
        rel_costs = {n: round(float(c - table.costs[none_col]), 4)
                     for n, c in zip(table.names, table.costs, strict=True) if n not in ("none", "constant_output")}
        print(json.dumps({"device": dev.name, "cells": len(dev.arch_index),
                          "median_ms": float(np.median(dev.latency_ms)), "cost_ms_per_edge_vs_none": rel_costs,
                          "constant_ratio": table.constant_ratio}), flush=True)

        n = min(args.train, len(dev.arch_index) - 50)
        perm = np.random.default_rng(args.seed).permutation(len(dev.arch_index))
        tr, te = perm[:n], perm[n:]
        y_te = dev.latency_ms[te]
        groups = cell_groups(dev.arch_index[te])
        rep = repeats.get(dev.name)
        if rep is not None:
            pos = {int(i): k for k, i in enumerate(rep.arch_index)}
            has_b = np.array([int(i) in pos for i in dev.arch_index[te]])
            b = np.array([rep.latency_ms[pos[int(i)]] for i in dev.arch_index[te][has_b]])
            noise = float(np.mean(((y_te[has_b] - b) / y_te[has_b]) ** 2) / 2)
            noise_kind = f"repeat ({int(has_b.sum())} common test cells)"
        else:
            has_b = np.ones(len(te), dtype=bool)
            fw = dev.name.split("-", 1)[1] if dev.name.startswith("pi5-") else None
            noise = _pi5_noise(pi5_path, fw, dev.arch_index[te], y_te) if fw else float("nan")
            noise_kind = "within-run variance of the median (lower bound)"
        for name in PREDICTORS:
            model = make_predictor(name, seed=args.seed).fit(feats.take(dev.arch_index[tr]), dev.latency_ms[tr])
            pred = model.predict(feats.take(dev.arch_index[te]))
            rel = (pred - y_te) / y_te
            m = ranking_metrics(y_te, pred)
            mse = float(np.mean(rel[has_b] ** 2))
            by_group = {}
            total = float(np.sum(rel ** 2))
            for g in dict.fromkeys(sorted(groups)):
                k = groups == g
                by_group[g] = {"cells": int(k.sum()), "mape": round(float(100 * np.mean(np.abs(rel[k]))), 2),
                               "within_10pct": round(float(np.mean(np.abs(rel[k]) <= 0.1)), 3),
                               "share_of_sq_error": round(float(np.sum(rel[k] ** 2) / total), 3)}
            print(json.dumps({"device": dev.name, "predictor": LABEL.get(name, name), "train": n, "test": len(te),
                              "spearman": m["spearman"], "within_10pct": m["within_10pct"], "mape": m["mape"],
                              "mean_sq_rel_error": mse, "noise_var": noise, "noise_kind": noise_kind,
                              "noise_share": noise / mse if mse > 0 else None, "groups": by_group}), flush=True)


if __name__ == "__main__":
    main()
