"""Network-side subcommands: ``nas`` (constrained search), ``predictor evaluate``, ``measure``."""

from __future__ import annotations

import argparse
from typing import Any

from coexplore.cli import format as fmt
from coexplore.cli.args import count, non_negative_count, percentile, positive_number, seed

__all__ = ["register"]


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    # (strategy and predictor names are checked by their registries when used: importing them
    # here would cost every command, `coexplore map` included, 0.12 s of start-up)
    p = sub.add_parser("nas", help="hardware-aware network search on fixed hardware (accuracy under a latency limit)")
    p.add_argument("--space", default="nb201", help="nb201 (default), chain (FNAS) or blocks (MobileNetV2-like)")
    p.add_argument("--dataset", default=None,
                   help="nb201: cifar10|cifar100 (default)|imagenet16-120; chain: mnist|cifar10|imagenet|digits; "
                        "blocks: imagenet|digits (chain and blocks default to digits, which trains offline)")
    p.add_argument("--strategy", default="brp",
                   help="brp (default, BRP-NAS) or a generic strategy: random, evolution, reinforce, nsga2, trees-ucb, "
                        "cma-es, optuna-tpe, optuna-nsga2 (coexplore list strategies --kind nas)")
    p.add_argument("--accuracy", default=None, choices=["table", "train"],
                   help="table (NB201, default there) or train (really train on the digits; chain/blocks)")
    p.add_argument("--latency", default=None, choices=["table", "cost-model", "none"],
                   help="table (a measured device table; NB201 default), cost-model (mapped on --accelerator)")
    p.add_argument("--latency-file", help="device latency CSV (default: nasbench201/ in --data-dir)")
    p.add_argument("--framework", default="onnx",
                   help="framework rows of the latency table: onnx (default) or litert in the data directory's "
                        "Pi 5 table, torch in a `coexplore measure` CSV")
    p.add_argument("--accelerator", help="accelerator preset or YAML for --latency cost-model")
    lim = p.add_mutually_exclusive_group()
    lim.add_argument("--max-latency-ms", type=positive_number, help="latency limit in milliseconds")
    lim.add_argument("--latency-percentile", type=percentile, help="latency limit as a percentile of the space")
    p.add_argument("--objective", default="accuracy", choices=["accuracy", "accuracy,latency"])
    p.add_argument("--budget-queries", type=count, default=100, help="accuracy evaluations at most (default 100)")
    p.add_argument("--epochs", type=count, default=10, help="training epochs per network for --accuracy train")
    p.add_argument("--seed", type=seed, default=0)
    _add_json(p)
    p.set_defaults(func=cmd_nas)

    p = sub.add_parser("predictor", help="latency / accuracy predictors (BRP-NAS, Eagle)")
    psub = p.add_subparsers(dest="predictor_command", metavar="SUBCOMMAND", required=True)
    e = psub.add_parser("evaluate", help="fit on one CSV of NB201 networks, report rank and error metrics on another")
    e.add_argument("--predictor", required=True,
                   help="flops, params, lut, mlp, gcn, brp or transfer (the relative-error cost table, from scratch)")
    e.add_argument("--train", required=True, help="CSV with arch_index and the target column")
    e.add_argument("--test", required=True, help="CSV with arch_index and the target column")
    e.add_argument("--target", required=True, help="target column, e.g. latency_ms or cifar100-test-200ep")
    e.add_argument("--framework", help="keep rows of this framework only (device tables hold several)")
    e.add_argument("--dataset", default="cifar100", help="NB201 network the rows describe (default cifar100)")
    e.add_argument("--seed", type=seed, default=0)
    _add_json(e)
    e.set_defaults(func=cmd_predictor_evaluate)

    a = psub.add_parser("adapt", help="few-shot latency predictor for a new device: pre-train on known device tables, "
                                      "adapt from a few measured cells")
    a.add_argument("--from", dest="tables", nargs="+", required=True, metavar="TABLE",
                   help="known devices: CSVs of the nb201_device_latency.csv form (each device/framework is one)")
    a.add_argument("--device-samples", required=True, metavar="CSV",
                   help="the new device's measured cells: arch_index, latency_ms (e.g. a `coexplore measure` CSV)")
    a.add_argument("--framework", help="keep the samples' rows of this framework only")
    a.add_argument("--test", metavar="CSV", help="score the adapted predictor on this table of the same device")
    a.add_argument("--test-framework", help="rows of --test to score (default: all)")
    a.add_argument("--predict-out", metavar="CSV",
                   help="write every NB201 cell's predicted latency and interval as a device table (usable as "
                        "coexplore nas --latency-file CSV --framework predicted)")
    a.add_argument("--min-samples", type=count, default=5, help="fewest measured cells accepted (default 5)")
    a.add_argument("--coverage", type=float, default=0.9, help="coverage of the prediction interval (default 0.9)")
    _add_json(a)
    a.set_defaults(func=cmd_predictor_adapt)

    s = psub.add_parser("select", help="choose which NB201 cells to measure on a new device (for predictor adapt)")
    s.add_argument("--from", dest="tables", nargs="*", default=[], metavar="TABLE",
                   help="known device tables, whose predictions extend the diverse selection (optional)")
    s.add_argument("--count", type=count, required=True, help="how many cells to measure")
    s.add_argument("--strategy", default="diverse", choices=["diverse", "random"],
                   help="diverse (farthest-point in graph counts and known devices' predictions, default) or random")
    s.add_argument("--seed", type=seed, default=0)
    _add_json(s)
    s.set_defaults(func=cmd_predictor_select)

    p = sub.add_parser("measure", help="measure NB201 networks' latency on this CPU (Eagle-style) into a CSV")
    p.add_argument("--out", required=True, help="CSV to write (appended to; measured cells are skipped)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--indices", help="comma-separated NB201 indices")
    src.add_argument("--count", type=count, help="this many random cells (seeded)")
    p.add_argument("--warmup", type=non_negative_count, default=10)
    p.add_argument("--repeats", type=count, default=40)
    p.add_argument("--threads", type=count, default=1, help="intra-op threads (default 1, as the Pi 5 tables)")
    p.add_argument("--runtime", default="torch", choices=["torch", "torchscript", "onnxruntime"],
                   help="torch (eager, default), torchscript (traced and frozen) or onnxruntime (extra 'onnxruntime'); "
                        "the framework column is the runtime, with -t<threads> above one thread")
    p.add_argument("--device", help="device name for the CSV (default local-<machine>)")
    p.add_argument("--seed", type=seed, default=0)
    _add_json(p)
    p.set_defaults(func=cmd_measure)


def cmd_nas(args: argparse.Namespace) -> Any:
    from coexplore.api import search_networks

    out = search_networks(
        args.space, dataset=args.dataset, strategy=args.strategy, accuracy=args.accuracy, latency=args.latency,
        latency_file=args.latency_file, framework=args.framework, accelerator=args.accelerator,
        max_latency_ms=args.max_latency_ms, latency_percentile=args.latency_percentile, objectives=args.objective,
        budget_queries=args.budget_queries, epochs=args.epochs, seed=args.seed, progress=not args.json,
    ).to_record()
    if not args.json:
        b, limit = out["best"], out["max_latency_ms"]
        lat = f"{b['latency_ms']:.3f} ms" if b["latency_ms"] is not None else "n/a"
        limit_txt = f"<= {limit:.3f} ms" if limit is not None else "no latency limit"
        print(f"best: {b['arch']}" + (f" (NB201 #{b['arch_index']})" if "arch_index" in b else ""))
        print(f"accuracy {b['accuracy']:.2f} % ({out['accuracy_source']}), latency {lat} ({limit_txt})")
        print(f"{out['strategy']}: {out['queries']} accuracy queries (best at query {out['query_of_best']}), "
              f"{out['pruned_before_accuracy']} candidates pruned before any query, {out['seconds']:.1f} s")
        if out["front"]:
            fmt.table(["accuracy %", "latency ms", "arch"],
                      [[f"{r['accuracy']:.2f}", f"{r['latency_ms']:.3f}", r["arch"]] for r in out["front"]])
    return out


def cmd_predictor_evaluate(args: argparse.Namespace) -> Any:
    from coexplore.api import evaluate_predictor

    out = evaluate_predictor(args.predictor, args.train, args.test, args.target, seed=args.seed,
                             dataset=args.dataset, framework=args.framework).to_record()
    if not args.json:
        def show(v: float | None, pct: bool = False) -> str:
            return "n/a" if v is None else (f"{100 * v:.1f} %" if pct else f"{v:.4f}")

        fmt.table(["predictor", "train", "test", "spearman", "kendall", "MAPE %", "within 5 %", "within 10 %"],
                  [[out["predictor"], out["train"], out["test"], show(out["spearman"]), show(out["kendall"]),
                    "n/a" if out["mape"] is None else f"{out['mape']:.2f}", show(out["within_5pct"], True),
                    show(out["within_10pct"], True)]])
    return out


def cmd_predictor_adapt(args: argparse.Namespace) -> Any:
    import numpy as np

    from coexplore.errors import SpecError
    from coexplore.nas.latency_transfer import adapt_latency_predictor, read_device_samples, write_predicted_table
    from coexplore.predict import ranking_metrics

    if not 0 < args.coverage < 1:
        raise SpecError(f"--coverage: must be in (0, 1), got {args.coverage}")
    samples = read_device_samples(args.device_samples, framework=args.framework)
    adapted = adapt_latency_predictor(args.tables, samples, min_samples=args.min_samples, coverage=args.coverage)
    out = adapted.to_record()
    if args.test:
        test = read_device_samples(args.test, framework=args.test_framework, name="test")
        keep = ~np.isin(test.arch_index, samples.arch_index)
        if keep.sum() < 2:
            raise SpecError(f"--test: needs at least 2 cells not among the device samples, got {int(keep.sum())}")
        out["test"] = {"cells": int(keep.sum()),
                       **ranking_metrics(test.latency_ms[keep], adapted.predict(test.arch_index[keep]))}
    if args.predict_out:
        write_predicted_table(adapted, args.predict_out)
        out["predict_out"] = args.predict_out
    if not args.json:
        weights = ", ".join(f"{k} {v:.3f}" for k, v in out["weights"].items())
        print(f"adapted from {out['samples']} cells; structure {out['structure']}; device mix: {weights}")
        print(f"held-out MAPE {out['loo_mape']:.2f} %, {100 * args.coverage:.0f} % interval +-"
              f"{100 * out['interval_halfwidth']:.1f} %, constant-network ratio {out['constant_ratio']:.3g}")
        if "test" in out:
            t = out["test"]
            print(f"test ({t['cells']} cells): Spearman {t['spearman']:.4f}, "
                  f"within 10 % {100 * t['within_10pct']:.1f} %, MAPE {t['mape']:.2f} %")
    return out


def cmd_predictor_select(args: argparse.Namespace) -> Any:
    from coexplore.nas.latency_transfer import cells_to_measure

    idx = cells_to_measure(args.tables, args.count, strategy=args.strategy, seed=args.seed)
    out = {"strategy": args.strategy, "count": len(idx), "indices": [int(i) for i in idx]}
    if not args.json:
        print(",".join(map(str, out["indices"])))
    return out


def cmd_measure(args: argparse.Namespace) -> Any:
    import numpy as np

    from coexplore.errors import SpecError
    from coexplore.nas.measure import measure_nb201

    if args.indices is not None:
        try:
            indices = [int(x) for x in args.indices.split(",") if x.strip()]
        except ValueError:
            raise SpecError(f"--indices: must be comma-separated integers, got {args.indices!r}") from None
    else:
        if args.count <= 0 or args.count > 15625:
            raise SpecError(f"--count: must be in 1..15625, got {args.count}")
        indices = sorted(int(i) for i in np.random.default_rng(args.seed).choice(15625, args.count, replace=False))
    run = measure_nb201(indices, args.out, warmup=args.warmup, repeats=args.repeats, threads=args.threads,
                        seed=args.seed, progress=not args.json, device=args.device,
                        runtime=args.runtime)
    out = {"out": str(run.path), "device": run.device, "framework": run.framework, "requested": len(indices),
           "measured": len(run.measured), "skipped": len(run.skipped)}
    if not args.json:
        print(f"{out['out']}: {out['measured']} cells measured on {out['device']} ({out['framework']}), "
              f"{out['skipped']} already there")
    return out
