"""QuanNAS's Table 3 (seed 000) at coexplore scale: co-exploration against the two-step flow over (rL, rT) specs.

Per seed, one process (``--seed``) writes one JSON file; ``--merge`` prints the table over the seeds.
In a seed, every spec and every run share one accuracy evaluator (a network is trained in float once,
a (network, formats) pair quantized and fine-tuned once), so runs differ only in what they propose.

Runs per spec, each ``--trials`` candidates (the budget of the study):

* ``quannas``: the LSTM controller over network, per-layer formats and parallelism, early pruning;
* ``quannas (random)``: the same pruning and reward with uniform draws (the ablation of the controller);
* ``two-step``: the most accurate float network (``--nas-networks`` float trainings, not trials), then its
  formats and parallelism searched by the same controller for the whole budget (QuanNAS's designs A, B).

Table rows: per run, its most accurate design meeting both specs: accuracy without quantization (the same
network in float), with quantization (its formats, QAT), LUTs, frames/s and parameter size in kbits;
"none" when no candidate met the specs. Early pruning: the share of candidates pruned before training,
and the training time it saved, measured: the ``quannas`` run of the tightest spec again with pruning off
(``prune: false``: every candidate trained, then rejected if it misses the specs) on a fresh evaluator,
against the same run with pruning on a fresh evaluator, both timed in this process.

Accuracy is on scikit-learn's 8x8 digits (QuanNAS: CIFAR-10; nothing can be downloaded here); LUTs and
throughput from FINN-R's MVAU estimate (:mod:`coexplore.cost.fpga_lut`; QuanNAS's own equations were not
readable), on the ZCU102's XCZU9EG at 200 MHz.

    PYTHONPATH=. nice -n 5 .venv/bin/python benchmarks/bench_quannas.py --seed 0 --out /tmp/quannas_s0.json
    PYTHONPATH=. .venv/bin/python benchmarks/bench_quannas.py --merge /tmp/quannas_s*.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: (rL LUTs, rT frames/s) on the ZCU102, loosest first, as QuanNAS's Table 3 has 30k/100k/300k LUTs at 500-2000 fps
SPECS = ((250_000, 20_000), (100_000, 40_000), (30_000, 80_000))
RUNS = (("quannas", "quannas", {}), ("quannas (random)", "quannas", {"controller": "random"}),
        ("two-step", "quannas-two-step", {}))


def _config(spec: tuple[int, float], strategy: str, params: dict[str, Any], seed: int, trials: int,
            prune: bool = True) -> Any:
    from coexplore.study.codesign import load_recipe
    from coexplore.study.config import StudyConfig

    data = load_recipe("quannas-digits").to_dict()
    data["problem"].update(lut_budget=spec[0], min_fps=spec[1], prune=prune)
    data.update(strategy={"name": strategy, "params": {**data["strategy"].get("params", {}), **params}}, seed=seed,
                budget={"trials": trials})
    return StudyConfig.from_dict(data)


def _problem(cfg: Any, evaluator: Any) -> Any:
    from coexplore.joint.quannas import ChainQuantFpgaProblem
    from coexplore.presets.boards import get_board

    p = cfg.problem
    return ChainQuantFpgaProblem(board=get_board(p.get("board", "zcu102")), lut_budget=p["lut_budget"],
                                 min_fps=p["min_fps"], prune=p.get("prune", True), seed=cfg.seed,
                                 objectives=cfg.objectives, evaluator=evaluator)


def _evaluator(cfg: Any) -> Any:
    from coexplore.nas.chain import ChainSpace
    from coexplore.nas.quantize import QuantChainEvaluator

    p = cfg.problem
    return QuantChainEvaluator(space=ChainSpace(dataset="digits"), epochs=int(p.get("epochs", 5)),
                               qat_epochs=int(p.get("qat_epochs", 2)), mode=p.get("quant_mode", "qat"), seed=cfg.seed)


def _run(cfg: Any, problem: Any, name: str, storage: str) -> dict[str, Any]:
    from coexplore.study.codesign import summarize
    from coexplore.study.study import run_study

    t0 = time.perf_counter()
    run_study(cfg, name=name, storage=storage, progress=False, problem=problem, jobs=1)  # in-process: shared cache
    seconds = time.perf_counter() - t0
    s = summarize(name, storage=storage, problem=problem)
    best = s["best"]
    row: dict[str, Any] = {"seconds": seconds, "pruning": s["pruning"], "trials": s["trials"],
                           "feasible": s["feasible"], "pairs_priced": s["pairs_evaluated"]}
    if best is not None:
        row.update({k: best[k] for k in ("arch", "formats", "lut", "fps", "param_kbits", "accuracy",
                                         "float_accuracy")})
    if "search" in s:
        row["step1"] = s["search"]
    return row


def run_seed(seed: int, trials: int, nas_networks: int, specs: tuple[tuple[int, float], ...]) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory()
    storage = f"sqlite:///{Path(tmp.name) / 'quannas.db'}"
    first = _config(specs[0], "quannas", {}, seed, trials)
    evaluator = _evaluator(first)
    out: dict[str, Any] = {"seed": seed, "trials": trials, "specs": [list(s) for s in specs], "rows": {}}
    for spec in specs:
        for label, strategy, params in RUNS:
            extra = {"nas_networks": nas_networks} if strategy == "quannas-two-step" else {}
            cfg = _config(spec, strategy, {**params, **extra}, seed, trials)
            row = _run(cfg, _problem(cfg, evaluator), f"{label}-{spec[0]}-{spec[1]}-s{seed}".replace(" ", ""),
                       storage)
            out["rows"][f"{spec[0]}/{spec[1]:g}/{label}"] = row
            print(f"seed {seed} rL {spec[0]:,} rT {spec[1]:,.0f} {label:17s} "
                  + (f"{row['arch']} {row['float_accuracy']:.2f} -> {row['accuracy']:.2f} % LUT {row['lut']:,} "
                     f"fps {row['fps']:,.0f} {row['param_kbits']:.1f} kbit" if "arch" in row else "no design meets")
                  + f" | pruned {row['pruning']['pruned_share']:.0%} {row['seconds']:.0f} s", file=sys.stderr,
                  flush=True)
    # the pruning's saving, measured: the tightest spec's quannas run with and without pruning, each on fresh networks
    for prune in (True, False):
        cfg = _config(specs[-1], "quannas", {}, seed, trials, prune=prune)
        row = _run(cfg, _problem(cfg, _evaluator(cfg)), f"timing-prune{prune}-s{seed}", storage)
        out[f"timing_prune_{str(prune).lower()}"] = {k: row[k] for k in ("seconds", "pruning", "trials", "feasible")}
        print(f"seed {seed} pruning {prune}: {row['seconds']:.1f} s, {row['pruning']}", file=sys.stderr, flush=True)
    tmp.cleanup()
    return out


def merge(paths: list[str]) -> None:
    runs = [json.loads(Path(p).read_text()) for p in paths]
    seeds = [r["seed"] for r in runs]
    specs = runs[0]["specs"]
    print(f"QuanNAS Table 3 style: digits (8x8; QuanNAS: CIFAR-10), FINN-R LUT model on zcu102 (200 MHz), "
          f"{runs[0]['trials']} candidates per run, seeds {seeds}; mean over seeds (per-seed designs in the JSON)\n")
    print("| rL | rT (fps) | run | met (seeds) | acc w/o quant % | acc w/ quant % | loss (points) | LUTs | fps | "
          "param kbits | pruned before training |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for rl, rt in specs:
        for label, _, _ in RUNS:
            rows = [r["rows"][f"{rl}/{rt:g}/{label}"] for r in runs]
            met = [x for x in rows if "arch" in x]
            pruned = np.mean([x["pruning"]["pruned_share"] for x in rows])
            if not met:
                print(f"| {rl:,} | {rt:,.0f} | {label} | 0/{len(rows)} | - | - | - | - | - | - | {pruned:.0%} |")
                continue

            def ms(key: str, met: list[dict[str, Any]] = met) -> str:
                v = np.array([x[key] for x in met], dtype=np.float64)
                return f"{v.mean():,.4g} ± {v.std():.2g}" if len(v) > 1 else f"{v[0]:,.4g}"

            loss = np.array([x["float_accuracy"] - x["accuracy"] for x in met])
            print(f"| {rl:,} | {rt:,.0f} | {label} | {len(met)}/{len(rows)} | {ms('float_accuracy')} | "
                  f"{ms('accuracy')} | {loss.mean():.2f} (max {loss.max():.2f}) | {ms('lut')} | {ms('fps')} | "
                  f"{ms('param_kbits')} | {pruned:.0%} |")
    designs = [(rl, rt, x) for r in runs for (rl, rt) in specs for label, _, _ in RUNS
               for x in [r["rows"][f"{rl}/{rt:g}/{label}"]] if "arch" in x]
    bad = [(rl, rt, x["lut"], x["fps"]) for rl, rt, x in designs if x["lut"] > rl or x["fps"] < rt]
    print(f"\nEvery reported design meets its rL and rT: {'yes' if not bad else 'NO: ' + repr(bad)} "
          f"({len(designs)} designs)")
    print("\nEarly pruning (quannas at the tightest spec, fresh networks each):")
    for r in runs:
        on, off = r["timing_prune_true"], r["timing_prune_false"]
        print(f"  seed {r['seed']}: pruned before training {on['pruning']['pruned_share']:.0%} of "
              f"{on['trials']} candidates; {on['seconds']:.1f} s with pruning, {off['seconds']:.1f} s without "
              f"({off['seconds'] / on['seconds']:.1f}x; {off['pruning']['rejected_after_training']} trained then "
              f"rejected)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=120)
    ap.add_argument("--nas-networks", type=int, default=40, help="float trainings of the two-step flow's NAS")
    ap.add_argument("--out", default=None, help="JSON file of this seed")
    ap.add_argument("--merge", nargs="+", default=None, help="print the table of these per-seed JSON files")
    args = ap.parse_args()
    if args.merge:
        merge(args.merge)
        return
    t0 = time.perf_counter()
    out = run_seed(args.seed, args.trials, args.nas_networks, SPECS)
    out["seconds"] = time.perf_counter() - t0
    write_json(out, args.out)


def write_json(out: dict[str, Any], path: str | None) -> None:
    """``out`` as indented JSON into ``path``, or on stdout without one."""
    text = json.dumps(out, indent=1)
    if path:
        Path(path).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
