"""Constrained NAS on a held-out device with an adapted latency predictor instead of the measured table.

    python benchmarks/bench_nas_adapted.py --data-dir ../shared/data \
        [--device NAME=CSV ...] [--samples 20] [--percentile 25] [--strategy evolution] [--seeds 0 1 2 3 4]

For each Pi 5 table held out in turn: the transfer predictor is pre-trained on the other
devices (the other Pi 5 table and every ``--device``), adapted from ``--samples`` cells chosen
by ``diverse`` selection, and written as a predicted device table. The latency limit is the
``--percentile`` of the *measured* table. Then (1) exhaustively: the most accurate timed cell
(isomorphism representative; CIFAR-100, 200 epochs) under the limit by the prediction, by
the prediction's upper interval end, and by the measured table; how many predicted-feasible
cells violate the measured limit;
(2) ``coexplore nas``'s search (``--strategy``, 100 accuracy queries) on the predicted table
and on the measured one: the measured latency and accuracy of the network returned, and the
query at which the best feasible network (over all cells, by the measured table) was first
queried (None: never).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from coexplore.api import search_networks
from coexplore.datadir import resolve_data_dir, set_data_dir
from coexplore.nas.latency_transfer import (
    AdaptedPredictor,
    DeviceTable,
    all_cell_features,
    pretrained_transfer,
    read_device_tables,
    representatives,
    write_predicted_table,
)
from coexplore.nas.nb201 import NB201Space
from coexplore.nas.tables import load_accuracy, load_device_latency
from coexplore.predict import select_cells


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--device", action="append", default=[], help="NAME=CSV, extra known devices")
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--percentile", type=float, default=25.0)
    ap.add_argument("--strategy", default="evolution")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    set_data_dir(args.data_dir)
    pi5 = resolve_data_dir() / "nasbench201" / "nb201_device_latency.csv"
    known = read_device_tables([pi5])
    for spec in args.device:
        name, _, path = spec.partition("=")
        (t,) = read_device_tables([path])
        known.append(DeviceTable(name=name, arch_index=t.arch_index, latency_ms=t.latency_ms))
    acc = load_accuracy("cifar100", 200, "test")
    space = NB201Space()
    feats = all_cell_features()
    for held in [t for t in known if t.name.startswith("pi5/")]:
        framework = held.name.split("/")[1]
        true_lat = load_device_latency(pi5, framework=framework).latency_ms  # by index, copies included
        limit = float(np.percentile(true_lat, args.percentile))
        others = [t for t in known if t is not held]
        model = pretrained_transfer(others)
        pick = select_cells(feats.take(held.arch_index), args.samples, strategy="diverse", seed=0,
                            sources=model.sources)
        model.fit(feats.take(held.arch_index[pick]), held.latency_ms[pick])
        adapted = AdaptedPredictor(predictor=model, sources=tuple(t.name for t in others), samples=args.samples,
                                   dataset="cifar100")
        # Judge on the cells that were timed (isomorphism representatives): a copied row carries its
        # representative's latency, which for LiteRT can differ from the cell's own graph by milliseconds.
        valid = np.zeros(len(acc), dtype=bool)
        valid[representatives()] = True
        valid &= np.array([not c.degenerate for c in space.all_cells()])
        pred = adapted.predict(np.arange(len(acc)))
        _, hi = adapted.predict_interval(np.arange(len(acc)))
        out: dict[str, object] = {"held_out": held.name, "samples": args.samples, "limit_ms": limit,
                                  "percentile": args.percentile, "adapted": adapted.to_record()}
        for label, lat in (("measured", true_lat), ("predicted", pred), ("predicted_upper", hi)):
            feasible = valid & (lat <= limit)
            best = int(np.flatnonzero(feasible)[np.argmax(acc[feasible])])
            out[label] = {"feasible": int(feasible.sum()), "violating": int((feasible & (true_lat > limit)).sum()),
                          "best_index": best, "best_accuracy": float(acc[best]),
                          "best_measured_ms": float(true_lat[best]), "best_violates": bool(true_lat[best] > limit)}
        # The search sees every cell (copies carry their representative's latency): its target is the
        # most accurate non-degenerate cell under the limit by the measured table as the search reads it.
        searchable = np.array([not c.degenerate for c in space.all_cells()]) & (true_lat <= limit)
        true_best = int(np.flatnonzero(searchable)[np.argmax(acc[searchable])])
        out["search_target"] = {"index": true_best, "accuracy": float(acc[true_best]),
                                "measured_ms": float(true_lat[true_best])}
        with tempfile.TemporaryDirectory() as tmp:
            table = write_predicted_table(adapted, Path(tmp) / "predicted.csv")
            for label, path, fw in (("search_measured", pi5, framework), ("search_predicted", table, "predicted")):
                runs = []
                for seed in args.seeds:
                    res = search_networks("nb201", strategy=args.strategy, latency_file=path, framework=fw,
                                          max_latency_ms=limit, budget_queries=100, seed=seed)
                    idx = [space.index(q.arch) for q in res.result.queries]
                    b = space.index(res.best)
                    runs.append({"seed": seed, "best_index": b, "accuracy": float(acc[b]),
                                 "measured_ms": float(true_lat[b]), "violates": bool(true_lat[b] > limit),
                                 "query_of_true_best": idx.index(true_best) + 1 if true_best in idx else None})
                out[label] = runs
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
