"""Leave-one-device-out latency prediction: each device held out in turn, adapted from N of its cells.

    python benchmarks/bench_predictor_transfer.py --data-dir ../shared/data \
        --device local-ort=/work/runs/devices/local_onnxruntime_a.csv \
        --device local-torch=/work/runs/devices/local_torch_a.csv \
        --repeat local-ort=/work/runs/devices/local_onnxruntime_b.csv \
        --repeat local-torch=/work/runs/devices/local_torch_b.csv \
        [--sizes 10 20 50 100 900] [--seeds 0 1 2 3 4] [--predictors ...] [--out results.jsonl]

Devices: the Pi 5 ONNX Runtime and LiteRT tables of the data directory (isomorphism
representatives only) and every ``--device NAME=CSV`` (a ``coexplore measure`` table: one
device/framework per file). For each held-out device, size N and seed, N of its cells are
measured (``random``: a seeded sample; the ``-diverse`` variant picks them with
``select_cells``), and every other cell of its table is the test set. Predictors:
``flops``, ``lut``, ``mlp``, ``gcn`` fitted from scratch on the N cells (registry defaults),
``costtable`` (the transfer model without known devices: a relative-error per-operator table
from scratch), ``transfer`` (pre-trained on every other device, then adapted, its structure chosen
by held-out error), ``transfer-delta`` (the ablation: only the known-device mix plus departures)
and ``transfer-diverse``. The noise ceiling of a device with a ``--repeat`` table is the agreement
of the two measurements on their common cells (the repeat as a "prediction" of the first).
One JSON line per (device, N, predictor, seed); then a markdown table of seed means.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from coexplore.datadir import resolve_data_dir, set_data_dir
from coexplore.nas.latency_transfer import DeviceTable, all_cell_features, pretrained_transfer, read_device_tables
from coexplore.predict import make_predictor, ranking_metrics, select_cells

PREDICTORS = ("flops", "lut", "mlp", "gcn", "costtable", "transfer", "transfer-delta", "transfer-diverse")


def _spec(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"must be NAME=CSV, got {text!r}")
    return name, path


def _one_table(name: str, path: str) -> DeviceTable:
    tables = read_device_tables([path])
    if len(tables) != 1:
        raise SystemExit(f"--device {name}: {path} must hold one device/framework, has {[t.name for t in tables]}")
    return DeviceTable(name=name, arch_index=tables[0].arch_index, latency_ms=tables[0].latency_ms)


def noise_ceiling(a: DeviceTable, b: DeviceTable) -> dict[str, Any]:
    """Agreement of two measurements of one device on their common cells (b as a prediction of a)."""
    common, ia, ib = np.intersect1d(a.arch_index, b.arch_index, return_indices=True)
    m = ranking_metrics(a.latency_ms[ia], b.latency_ms[ib])
    return {"cells": len(common), **m}


def _fit_predict(name: str, held: DeviceTable, others: list[DeviceTable], train: np.ndarray, test: np.ndarray,
                 seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    feats = all_cell_features("cifar100")
    ftr, fte = feats.take(held.arch_index[train]), feats.take(held.arch_index[test])
    ytr = held.latency_ms[train]
    extra: dict[str, Any] = {}
    if name.startswith("transfer"):
        hyper = {"structures": ("mix+delta",)} if name == "transfer-delta" else {}
        model = pretrained_transfer(others, **hyper).fit(ftr, ytr)
        lo, hi = model.predict_interval(fte)
        yte = held.latency_ms[test]
        extra = {"interval_coverage": float(np.mean((yte >= lo) & (yte <= hi))), "ridge": model.ridge_,
                 "structure": model.structure_, "weights": model.summary()["weights"]}
        return model.predict(fte), extra
    model = make_predictor("transfer" if name == "costtable" else name, seed=seed)
    model.fit(ftr, ytr)
    return model.predict(fte), extra


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--device", type=_spec, action="append", default=[], help="NAME=CSV, a measured device table")
    ap.add_argument("--repeat", type=_spec, action="append", default=[], help="NAME=CSV, a second measurement")
    ap.add_argument("--no-pi5", action="store_true", help="leave out the data directory's Pi 5 tables")
    ap.add_argument("--held-out", nargs="+", default=None, help="hold out only these devices (all take part)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 50, 100, 900])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--predictors", nargs="+", default=list(PREDICTORS), choices=PREDICTORS)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = ap.parse_args()
    set_data_dir(args.data_dir)
    import torch

    torch.set_num_threads(1)
    devices: list[DeviceTable] = []
    if not args.no_pi5:
        for t in read_device_tables([resolve_data_dir() / "nasbench201" / "nb201_device_latency.csv"]):
            devices.append(DeviceTable(name=t.name.replace("pi5/", "pi5-"), arch_index=t.arch_index,
                                       latency_ms=t.latency_ms))
    devices += [_one_table(n, p) for n, p in args.device]
    ceilings = {n: noise_ceiling(next(d for d in devices if d.name == n), _one_table(n, p)) for n, p in args.repeat}
    for n, c in ceilings.items():
        print(json.dumps({"noise_ceiling": n, **c}), flush=True)

    means: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for held in devices:
        if args.held_out and held.name not in args.held_out:
            continue
        others = [d for d in devices if d is not held]
        for n in args.sizes:
            if n > len(held.arch_index) - 20:
                continue
            for seed in args.seeds:
                random_train = np.random.default_rng(seed).choice(len(held.arch_index), n, replace=False)
                diverse_train: np.ndarray | None = None
                for name in args.predictors:
                    if name == "transfer-diverse":
                        if diverse_train is None:
                            sources = pretrained_transfer(others).sources
                            diverse_train = select_cells(all_cell_features("cifar100").take(held.arch_index), n,
                                                         strategy="diverse", seed=seed, sources=sources)
                        train = diverse_train
                    else:
                        train = random_train
                    test = np.setdiff1d(np.arange(len(held.arch_index)), train)
                    t0 = time.perf_counter()
                    pred, extra = _fit_predict(name, held, others, train, test, seed)
                    m = ranking_metrics(held.latency_ms[test], pred)
                    row = {"held_out": held.name, "train": n, "test": len(test), "predictor": name, "seed": seed,
                           **m, **extra, "seconds": time.perf_counter() - t0}
                    means.setdefault((held.name, n, name), []).append(row)
                    line = json.dumps(row)
                    print(line, flush=True)
                    if args.out:
                        with open(args.out, "a") as fh:
                            fh.write(line + "\n")

    print("\n| held-out device | N | predictor | Spearman | within 10 % | MAPE % | interval coverage | noise ceiling "
          "(Spearman / within 10 %) |")
    print("|---|---|---|---|---|---|---|---|")
    for (dev, n, name), rows in means.items():
        def mean(k: str, rows: list[dict[str, Any]] = rows) -> str:
            vals = [r[k] for r in rows if r.get(k) is not None]
            return "n/a" if not vals else f"{np.mean(vals):.3f}" if k != "mape" else f"{np.mean(vals):.1f}"
        c = ceilings.get(dev)
        ceil = f"{c['spearman']:.3f} / {c['within_10pct']:.3f}" if c else "not measured"
        print(f"| {dev} | {n} | {name} | {mean('spearman')} | {mean('within_10pct')} | {mean('mape')} | "
              f"{mean('interval_coverage')} | {ceil} |")


if __name__ == "__main__":
    main()
