"""Study machinery: storage overhead per trial, and the parallel speed-up of an accelerator search.

    python benchmarks/bench_study.py overhead [--networks resnet18 vgg16 mobilenetv2 resnet50] [--accelerator eyeriss]
    python benchmarks/bench_study.py speedup [--network mobilenetv2] [--budget eyeriss] [--trials 48]
        [--backends local ray]

overhead: a mapping study (one trial = one distinct layer shape mapped by the default
mapper) run through the study with SQLite storage, and the same problem and strategy
through the bare driver without storage, in the same process. Reports trials per second
both ways and the time spent inside storage calls (trial rows + checkpoints) per trial,
as a share of the mean trial time (goal: under 5 %). The same for the smoke NAS study,
whose trials take milliseconds.
speedup: an accelerator search study (NAAS CMA-ES) with 1 and 2 local workers (and Ray
with 2 CPUs if asked): wall times, the ratio, and whether every backend gave the same trials.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from coexplore.search.driver import optimize
from coexplore.study import storage as storage_mod
from coexplore.study.config import StudyConfig
from coexplore.study.problems import build_problem, build_strategy
from coexplore.study.study import run_study, show_study

ROOT = Path(__file__).resolve().parents[1]


class _Timed:
    """Wraps the storage class so the time inside its write calls is summed."""

    seconds = 0.0

    @classmethod
    def install(cls) -> None:
        for name in ("add_trials", "save_checkpoint"):
            original = getattr(storage_mod.SqlStorage, name)

            def timed(self: Any, *a: Any, _f: Any = original, **k: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return _f(self, *a, **k)
                finally:
                    cls.seconds += time.perf_counter() - t0

            setattr(storage_mod.SqlStorage, name, timed)


def _with_and_without(cfg: StudyConfig, label: str) -> dict[str, Any]:
    problem = build_problem(cfg)
    optimize(problem, build_strategy(cfg, problem), max_evals=cfg.trials)  # warm: kernels, caches of the process
    problem = build_problem(cfg)
    t0 = time.perf_counter()
    bare = optimize(problem, build_strategy(cfg, problem), max_evals=cfg.trials)
    bare_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        _Timed.seconds = 0.0
        t0 = time.perf_counter()
        s = run_study(cfg, name=label, storage=f"sqlite:///{tmp}/b.db", jobs=1, progress=False)
        study_s = time.perf_counter() - t0
        trials = show_study(label, storage=f"sqlite:///{tmp}/b.db")["trials"]
    mean_trial = sum(t["seconds"] for t in trials) / len(trials)
    per_trial_storage = _Timed.seconds / s.trials
    return {"study": label, "trials": s.trials, "bare_evaluations": bare.evaluated,
            "trials_per_s_without_storage": bare.evaluated / bare_s, "trials_per_s_with_storage": s.trials / study_s,
            "mean_trial_seconds": mean_trial, "storage_seconds_per_trial": per_trial_storage,
            "storage_share_of_trial": per_trial_storage / mean_trial}


def overhead(args: argparse.Namespace) -> None:
    _Timed.install()
    for net in args.networks:
        cfg = StudyConfig.from_dict({"problem": {"kind": "mapping", "network": net, "accelerator": args.accelerator},
                                     "objectives": ["edp"], "budget": {"trials": 10_000}})
        print(json.dumps(_with_and_without(cfg, f"map-{net}")), flush=True)
    smoke = yaml.safe_load((ROOT / "examples" / "study-smoke.yaml").read_text())
    print(json.dumps(_with_and_without(StudyConfig.from_dict(smoke), "smoke")), flush=True)


def speedup(args: argparse.Namespace) -> None:
    cfg = StudyConfig.from_dict({"problem": {"kind": "hwsearch", "networks": [args.network], "budget": args.budget},
                                 "objectives": ["edp"], "strategy": {"name": "naas", "params": {"popsize": 8}},
                                 "budget": {"trials": args.trials}, "seed": 0})
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend, jobs in [("local", 1), ("local", 2)] + ([("ray", 2)] if "ray" in args.backends else []):
            url = f"sqlite:///{tmp}/{backend}{jobs}.db"
            t0 = time.perf_counter()
            run_study(cfg, name="hw", storage=url, jobs=jobs, backend=backend, progress=False)
            wall = time.perf_counter() - t0
            trials = [(t["number"], json.dumps(t["params"], sort_keys=True), tuple(t["values"]))
                      for t in show_study("hw", storage=url)["trials"]]
            runs[f"{backend}-{jobs}"] = {"seconds": wall, "trials": trials}
            print(json.dumps({"backend": backend, "jobs": jobs, "seconds": wall, "trials": len(trials)}), flush=True)
    ref = runs["local-1"]["trials"]
    print(json.dumps({"speedup_2_over_1": runs["local-1"]["seconds"] / runs["local-2"]["seconds"],
                      "same_trials": {k: v["trials"] == ref for k, v in runs.items()}}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--networks", nargs="+", default=["resnet18", "vgg16", "mobilenetv2", "resnet50"])
    o.add_argument("--accelerator", default="eyeriss")
    s = sub.add_parser("speedup")
    s.add_argument("--network", default="mobilenetv2")
    s.add_argument("--budget", default="eyeriss")
    s.add_argument("--trials", type=int, default=48)
    s.add_argument("--backends", nargs="+", default=["local"])
    args = ap.parse_args()
    overhead(args) if args.what == "overhead" else speedup(args)


if __name__ == "__main__":
    main()
