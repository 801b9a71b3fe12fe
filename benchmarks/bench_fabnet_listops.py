"""FABNet vs FNet vs the Transformer of the same size on synthetic ListOps, trained here on one core.

Issue 18's accuracy acceptance: on ListOps generated offline (:mod:`coexplore.nas.listops`),
FABNet (FBfly blocks: Fourier mixing + butterfly FFN, with ``--abfly`` blocks ABfly: butterfly
attention + butterfly FFN) within 2 points of the Transformer of the same depth, width, heads
and FFN ratio, and above FNet (Fourier mixing + dense FFN), over 3 seeds.

One process per seed (the seed draws the train/test expressions, the initialisation and the batch
order; all three models of a seed see the same data), each writing JSON; ``--merge`` prints the
table: accuracy mean ± std (percent), parameters, MACs per sequence (counted from the model's
modules), training wall time, and the ratios to the Transformer, the baseline trained in the same
process. The majority-class accuracy of each test set is printed as the chance level.

    nice python benchmarks/bench_fabnet_listops.py --seed 0 --out fabnet_s0.json   (and --seed 1, 2)
    nice python benchmarks/bench_fabnet_listops.py --timing --out fabnet_timing.json
    python benchmarks/bench_fabnet_listops.py --merge fabnet_s0.json fabnet_s1.json fabnet_s2.json \
        --timing-file fabnet_timing.json

``--merge`` joins files of the same seed (runs split with ``--models``) into one row of models.

Wall times of the training runs depend on the machine's load; ``--timing`` measures one training
step of each model in rounds alternating between them, so their ratios are comparable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.nas.fabnet import ListOpsTrainer, SequenceArch
from coexplore.nas.listops import ListOpsConfig

FAMILIES = ("transformer", "fnet", "fabnet")


def run_seed(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    cfg = ListOpsConfig(min_length=args.min_length, max_length=args.seq_len - 1, max_depth=args.max_depth,
                        max_args=args.max_args, branch_prob=args.branch_prob)
    trainer = ListOpsTrainer(config=cfg, train_size=args.train_size, test_size=args.test_size, steps=args.steps,
                             batch_size=args.batch_size, lr=args.lr, warmup=args.warmup, seed=args.seed, threads=1)
    start = time.perf_counter()
    data = trainer.data(args.seq_len)
    data_seconds = time.perf_counter() - start
    archs = _archs(args)
    models = {}
    for family in args.models:
        r = trainer.train(archs[family], data)
        models[family] = {"arch": r.arch, "accuracy": r.accuracy, "params": r.params, "macs": r.macs,
                          "train_seconds": r.train_seconds, "final_loss": r.final_loss}
        print(f"seed {args.seed} {family:12s} acc {r.accuracy:6.2f} %  params {r.params:8d}  macs {r.macs:10d}  "
              f"loss {r.final_loss:.3f}  {r.train_seconds:6.1f} s", file=sys.stderr, flush=True)
    majority = 100.0 * float(np.bincount(data[1].labels, minlength=10).max()) / len(data[1].labels)
    config = {k: v for k, v in vars(args).items() if k not in ("out", "merge", "timing_file")}
    return {"seed": args.seed, "config": config,
            "majority_accuracy": majority, "data_seconds": data_seconds, "models": models}


def _archs(args: argparse.Namespace) -> dict[str, SequenceArch]:
    size = {"width": args.width, "heads": args.heads, "ffn_ratio": args.ffn_ratio, "seq_len": args.seq_len}
    return {"transformer": SequenceArch.transformer(args.depth, **size),
            "fnet": SequenceArch.fnet(args.depth, **size),
            "fabnet": SequenceArch.fabnet(args.depth, abfly=tuple(args.abfly), **size)}


def step_times(args: argparse.Namespace) -> dict[str, Any]:
    """Median milliseconds of one training step (forward, backward, AdamW) per model, rounds alternating
    between the models so that a shared machine's load hits all of them alike; ``fabnet-sparse`` runs the
    butterflies factor by factor instead of as one product matrix."""
    import torch
    import torch.nn.functional as F

    from coexplore.nas._fabnet_torch import ButterflyLinear

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    archs = _archs(args)
    models = {name: arch.to_torch() for name, arch in archs.items()}
    models["fabnet-sparse"] = archs["fabnet"].to_torch()
    for m in models["fabnet-sparse"].modules():
        if isinstance(m, ButterflyLinear):
            m.sparse = True
    trainer = ListOpsTrainer(config=ListOpsConfig(min_length=args.min_length, max_length=args.seq_len - 1),
                             train_size=args.batch_size, test_size=1, seed=args.seed)
    data = trainer.data(args.seq_len)[0]
    x, y = torch.from_numpy(data.tokens), torch.from_numpy(data.labels)
    opts = {name: torch.optim.AdamW(m.parameters()) for name, m in models.items()}
    samples: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.timing_rounds):
        for name, model in models.items():
            for _ in range(args.timing_steps):
                start = time.perf_counter()
                opts[name].zero_grad(set_to_none=True)
                F.cross_entropy(model(x), y).backward()
                opts[name].step()
                samples[name].append(1e3 * (time.perf_counter() - start))
    return {"step_ms": {name: float(np.median(v)) for name, v in samples.items()},
            "rounds": args.timing_rounds, "steps": args.timing_steps, "batch_size": args.batch_size}


def merge(paths: list[str], timing: str | None = None) -> None:
    runs: list[dict[str, Any]] = []
    for p in paths:  # files of one seed (e.g. one per --models run) are joined into one run
        run = json.loads(Path(p).read_text())
        same = [r for r in runs if r["seed"] == run["seed"]]
        if same:
            same[0]["models"].update(run["models"])
        else:
            runs.append(run)
    cfg = runs[0]["config"]
    print(f"ListOps: {cfg['train_size']} train / {cfg['test_size']} test expressions of {cfg['min_length']}-"
          f"{cfg['seq_len'] - 1} tokens, depth <= {cfg['max_depth']}, <= {cfg['max_args']} args; models: "
          f"{cfg['depth']} blocks, width {cfg['width']}, {cfg['heads']} heads, FFN x{cfg['ffn_ratio']}, "
          f"seq_len {cfg['seq_len']}; FABNet ABfly blocks at {cfg['abfly']}; {cfg['steps']} steps of "
          f"{cfg['batch_size']}; seeds {[r['seed'] for r in runs]}")
    majority = [r["majority_accuracy"] for r in runs]
    print(f"chance (majority class of the test set): {np.mean(majority):.2f} %")
    base = runs[0]["models"].get("transformer")  # a --models subset may have no Transformer to compare with

    def ratio(key: str, m: dict[str, Any]) -> str:
        return f"{base[key] / m[key]:8.2f}" if base else f"{'-':>8s}"

    print(f"{'model':12s} {'accuracy %':>15s} {'params':>9s} {'x fewer':>8s} {'MACs/seq':>11s} {'x fewer':>8s} "
          f"{'train s':>8s}")
    acc: dict[str, np.ndarray] = {}
    for family in FAMILIES:
        if family not in runs[0]["models"]:
            continue
        rows = [r["models"][family] for r in runs]
        acc[family] = np.array([m["accuracy"] for m in rows])
        m0 = rows[0]
        print(f"{family:12s} {acc[family].mean():7.2f} ± {acc[family].std(ddof=1) if len(rows) > 1 else 0:5.2f} "
              f"{m0['params']:9d} {ratio('params', m0)} {m0['macs']:11d} {ratio('macs', m0)} "
              f"{np.mean([m['train_seconds'] for m in rows]):8.1f}")
        print(f"{'':12s} per seed: {acc[family].tolist()}  ({m0['arch']})")
    if {"transformer", "fnet", "fabnet"} <= acc.keys():
        gap, over = acc["fabnet"] - acc["transformer"], acc["fabnet"] - acc["fnet"]
        print(f"FABNet - Transformer per seed: {np.round(gap, 2).tolist()} (mean {gap.mean():+.2f} points)")
        print(f"FABNet - FNet per seed:        {np.round(over, 2).tolist()} (mean {over.mean():+.2f} points)")
        within, above = gap.mean() >= -2.0, acc["fabnet"].mean() > acc["fnet"].mean()
        print(f"acceptance: within 2 points of the Transformer (mean): {'holds' if within else 'does not hold'}; "
              f"above FNet (mean): {'holds' if above else 'does not hold'}")
    if timing:
        t = json.loads(Path(timing).read_text())
        ms = t["step_ms"]
        print(f"one training step (batch {t['batch_size']}, 1 thread, median of {t['rounds']} alternating rounds x "
              f"{t['steps']} steps): " + ", ".join(f"{k} {v:.1f} ms ({v / ms['transformer']:.2f}x)"
                                                   for k, v in ms.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="JSON file for this seed's results")
    ap.add_argument("--merge", nargs="+", metavar="JSON", help="print the table of these per-seed files")
    ap.add_argument("--timing", action="store_true", help="only time one training step of each model (paired)")
    ap.add_argument("--timing-file", help="with --merge: a --timing result to print with the table")
    ap.add_argument("--timing-rounds", type=int, default=5)
    ap.add_argument("--timing-steps", type=int, default=5)
    ap.add_argument("--models", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--abfly", type=int, nargs="*", default=[0], help="positions of FABNet's ABfly blocks")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn-ratio", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--min-length", type=int, default=16)
    ap.add_argument("--max-depth", type=int, default=4)
    ap.add_argument("--max-args", type=int, default=5)
    ap.add_argument("--branch-prob", type=float, default=0.25)
    ap.add_argument("--train-size", type=int, default=20_000)
    ap.add_argument("--test-size", type=int, default=2_000)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    args = ap.parse_args()
    if args.merge:
        merge(args.merge, args.timing_file)
        return
    result = step_times(args) if args.timing else run_seed(args)
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
