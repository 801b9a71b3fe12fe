"""FNAS's comparison table (seed 000; Jiang et al., TCAD 2020) and the ablation of its controller, measured together.

Recipe fnas-digits-7z020 (chains trained on the digits x layer-pipelined tilings on the Zynq
7Z020, timing spec 0.25 ms), the same number of candidates for every run. Per seed, one
problem: a network is trained once per seed and shared by the runs (same seed, same
accuracy), so runs differ only in what they propose. Runs: ``hw-aware-nas``, ``sequential``,
``fnas`` (the LSTM controller), and for the ablation ``fnas`` with ``controller: softmax``
(independent softmaxes), ``controller: random`` (uniform draws: random completion) and
``hw_tries: 1`` (no fast exploration).

Table rows, one design per approach as in the paper's table:

* Hardware-Aware NAS: its most accurate accepted pair (all on the fixed even-split design);
* Sequential Optimization: the most accurate network of its NAS phase, on the most
  pipeline-efficient design its hardware phase found for it (within the spec);
* Co-Exploration (OptHW) / (OptSW): from the LSTM run's accepted pairs, the most
  pipeline-efficient and the most accurate (ties: the other column).

Columns: depth (layers with weights), parameters, accuracy, pipeline efficiency, FPS,
GOPS/W (:mod:`coexplore.cost.fpga_pipeline`). Ablation: the controller's reward
(0.5 x accuracy + 0.5 x pipeline efficiency, -1 if rejected), best and mean over the second
half of the candidates, accepted share, best accuracy, and the hypervolume of (accuracy,
latency / spec); ratios against random completion in the same run.

    python benchmarks/bench_fnas_table.py [--budget 160] [--seeds 0 1 2] [--out fnas_table.json]
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

from coexplore.study.codesign import load_recipe
from coexplore.study.config import StudyConfig
from coexplore.study.problems import build_problem
from coexplore.study.study import run_study, show_study

RUNS = {"hw-aware-nas": ("hw-aware-nas", {}), "sequential": ("sequential", {}), "fnas": ("fnas", {}),
        "fnas-softmax": ("fnas", {"controller": "softmax"}), "fnas-random": ("fnas", {"controller": "random"}),
        "fnas-no-fast": ("fnas", {"hw_tries": 1})}
COLUMNS = ("depth", "params", "accuracy", "pipeline_efficiency", "fps", "gops_per_w")


def _trials(name: str, url: str) -> list[dict[str, Any]]:
    return show_study(name, storage=url)["trials"]


def _row(t: dict[str, Any]) -> dict[str, Any]:
    p = t["params"]
    return {"arch": p["arch"], "depth": p["depth"], "params": p["params"], "accuracy": t["values"][0],
            "pipeline_efficiency": p["pipeline_efficiency"], "fps": p["fps"], "gops_per_w": p["gops_per_w"],
            "latency_ms": p["latency_ms"], "stages": p["accelerator"]["stages"]}


def _table(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    ok = {k: [t for t in v if t["state"] == "COMPLETE"] for k, v in runs.items()}
    hw_nas = max(ok["hw-aware-nas"], key=lambda t: (t["values"][0], -t["values"][1]))
    best_net = max(ok["sequential"], key=lambda t: t["values"][0])["params"]["arch"]
    seq = max((t for t in ok["sequential"] if t["params"]["arch"] == best_net),
              key=lambda t: (t["params"]["pipeline_efficiency"], t["params"]["fps"]))
    opt_hw = max(ok["fnas"], key=lambda t: (t["params"]["pipeline_efficiency"], t["values"][0]))
    opt_sw = max(ok["fnas"], key=lambda t: (t["values"][0], t["params"]["pipeline_efficiency"]))
    return {"Hardware-Aware NAS": _row(hw_nas), "Sequential Optimization": _row(seq),
            "Co-Exploration (OptHW)": _row(opt_hw), "Co-Exploration (OptSW)": _row(opt_sw)}


def _ablation(trials: list[dict[str, Any]], problem: Any) -> dict[str, float]:
    ok = np.array([t["state"] == "COMPLETE" for t in trials])
    reward = np.array([0.5 * t["values"][0] / 100 + 0.5 * t["params"]["pipeline_efficiency"] if o else -1.0
                       for t, o in zip(trials, ok, strict=True)])
    acc = np.array([t["values"][0] for t, o in zip(trials, ok, strict=True) if o])
    lat = np.array([t["values"][1] for t, o in zip(trials, ok, strict=True) if o])
    half = len(trials) // 2
    late = [t["params"]["depth"] for t, o in zip(trials[half:], ok[half:], strict=True) if o]
    return {"best_reward": float(reward.max()), "mean_reward_second_half": float(reward[half:].mean()),
            "accepted_share": float(ok.mean()), "best_accuracy": float(acc.max()) if len(acc) else 0.0,
            "networks_accepted": len({t["params"]["arch"] for t, o in zip(trials, ok, strict=True) if o}),
            "hypervolume": float(problem.hypervolume(acc, lat)),
            "depth_accepted_second_half": float(np.mean(late)) if late else 0.0}


def _fmt(v: float, col: str) -> str:
    return {"depth": f"{v:.1f}", "params": f"{v / 1e3:.1f}K", "accuracy": f"{v:.2f} %",
            "pipeline_efficiency": f"{100 * v:.2f} %", "fps": f"{v:,.0f}", "gops_per_w": f"{v:.2f}"}[col]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=None, help="candidates per run (default: the recipe's)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    base = load_recipe("fnas-digits-7z020").to_dict()
    per_seed: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'fnas.db'}"
        for seed in args.seeds:
            d = json.loads(json.dumps(base))
            d["seed"] = seed
            if args.budget:
                d["budget"] = {"trials": args.budget}
            problem = build_problem(StudyConfig.from_dict(d))
            runs, seconds = {}, {}
            for label, (strategy, params) in RUNS.items():
                d["strategy"] = {"name": strategy, "params": {**({"batch": 8} if strategy == "fnas" else {}), **params}}
                t0 = time.perf_counter()
                run_study(StudyConfig.from_dict(d), name=f"{label}-{seed}", storage=url, progress=False,
                          problem=problem, jobs=1)
                seconds[label] = time.perf_counter() - t0
                runs[label] = _trials(f"{label}-{seed}", url)
                print(f"seed {seed} {label}: {seconds[label]:.0f} s, {len(problem.train_seconds)} networks trained so "
                      f"far this seed", file=sys.stderr)
            per_seed.append({"seed": seed, "table": _table(runs), "seconds": seconds,
                             "ablation": {k: _ablation(runs[k], problem) for k in RUNS if k.startswith("fnas")}})
    out = {"recipe": "fnas-digits-7z020", "budget": args.budget or base["budget"]["trials"], "results": per_seed}
    print("| approach | " + " | ".join(COLUMNS) + " |\n|---|" + "---|" * len(COLUMNS))
    for row in per_seed[0]["table"]:
        for r in per_seed:
            cells = " | ".join(_fmt(r["table"][row][c], c) for c in COLUMNS)
            print(f"| {row} (seed {r['seed']}, {r['table'][row]['arch']}) | {cells} |")
        mean = " | ".join(_fmt(float(np.mean([r["table"][row][c] for r in per_seed])), c) for c in COLUMNS)
        print(f"| **{row}, mean of {len(per_seed)} seeds** | {mean} |")
    base_row = "Hardware-Aware NAS"
    print(f"\nagainst {base_row} in the same run (mean over seeds): accuracy difference (points), ratios of pipeline "
          f"efficiency, FPS and GOPS/W")
    for row in per_seed[0]["table"]:
        diff = np.mean([r["table"][row]["accuracy"] - r["table"][base_row]["accuracy"] for r in per_seed])
        ratios = [np.mean([r["table"][row][c] / r["table"][base_row][c] for r in per_seed])
                  for c in ("pipeline_efficiency", "fps", "gops_per_w")]
        print(f"| {row} | {diff:+.2f} | " + " | ".join(f"{v:.2f}x" for v in ratios) + " |")
    metrics = ("best_reward", "mean_reward_second_half", "accepted_share", "best_accuracy", "networks_accepted",
               "hypervolume", "depth_accepted_second_half")
    print("\n| controller | " + " | ".join(metrics) + " | best reward / random's |")
    print("|---|" + "---|" * (len(metrics) + 1))
    for k in (k for k in RUNS if k.startswith("fnas")):
        vals = {m: [r["ablation"][k][m] for r in per_seed] for m in metrics}
        ratio = np.mean([r["ablation"][k]["best_reward"] / r["ablation"]["fnas-random"]["best_reward"]
                         for r in per_seed])
        cells = " | ".join(f"{np.mean(v):.3f} +- {np.std(v):.3f}" for v in vals.values())
        print(f"| {k} | {cells} | {ratio:.3f} |")
    if args.out:
        args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
