"""FNAS early pruning, measured: the same controller run with and without pruning on the timing spec.

Recipe fnas-digits-7z020 (chains trained on the digits x layer-pipelined FPGA designs, a
tiling and an off-chip schedule per engine, on the Zynq 7Z020; timing spec 0.25 ms on
latency = pipeline start + processing time; the LSTM controller with fast exploration). A
pair over the spec gets the same reward (-1) whether it is pruned before training or
trained and rejected afterwards, and fast exploration prices hardware analytically either
way, so both runs propose the same candidates for a seed; only the training of rejected
networks differs. Prints the share of candidates pruned, the networks trained in each run,
both wall times and their ratio. A third run uses no analytical model before training at
all (``hw_tries: 1``, no fast exploration, and no pruning): every proposed network is trained,
as a search without FNAS's performance model would; it proposes other candidates, so its
figures are the whole model's saving at equal candidates, not the pruning's alone.

    python benchmarks/bench_fnas.py [--budget 160] [--seeds 0 1 2] [--out fnas.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from coexplore.study.codesign import load_recipe, summarize
from coexplore.study.config import StudyConfig
from coexplore.study.problems import build_problem
from coexplore.study.study import run_study


def _run(cfg: StudyConfig, url: str, name: str) -> dict[str, Any]:
    problem = build_problem(cfg)
    t = time.perf_counter()
    run_study(cfg, name=name, storage=url, progress=False, problem=problem, jobs=1)
    seconds = time.perf_counter() - t
    s = summarize(name, storage=url, problem=problem)
    return {"seconds": seconds, "pruning": s["pruning"], "hypervolume": s["hypervolume"],
            "best_accuracy": max((e["accuracy"] for e in s["front"]), default=None),
            "trials": [(t["arch"], t["accelerator"]) for t in s["front"]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=None, help="candidates (default: the recipe's)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    base = load_recipe("fnas-digits-7z020").to_dict()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'fnas.db'}"
        for seed in args.seeds:
            row: dict[str, Any] = {"seed": seed}
            for label, prune, tries in (("pruned", True, 10), ("trained_all", False, 10), ("no_model", False, 1)):
                d = json.loads(json.dumps(base))
                d["problem"]["prune"] = prune
                d["strategy"]["params"]["hw_tries"] = tries
                d["seed"] = seed
                if args.budget:
                    d["budget"] = {"trials": args.budget}
                cfg = StudyConfig.from_dict(d)
                row[label] = _run(cfg, url, f"fnas-{seed}-{label}")
            p, a, n = row["pruned"], row["trained_all"], row["no_model"]
            row["same_front"] = p["trials"] == a["trials"]
            row["speedup"] = a["seconds"] / p["seconds"]
            row["speedup_vs_no_model"] = n["seconds"] / p["seconds"]
            pr = p["pruning"]
            trained = f"{pr['networks_trained']} with pruning vs {a['pruning']['networks_trained']} without"
            print(f"seed {seed}: {pr['pruned_before_training']} of {pr['candidates']} candidates pruned before "
                  f"training ({100 * pr['pruned_share']:.1f} %); networks trained {trained}; {p['seconds']:.1f} s vs "
                  f"{a['seconds']:.1f} s = {row['speedup']:.2f}x faster; same front: {row['same_front']}; best "
                  f"accuracy {p['best_accuracy']:.2f} %; without the model: {n['pruning']['networks_trained']} "
                  f"networks trained, {n['seconds']:.1f} s ({row['speedup_vs_no_model']:.2f}x FNAS's time), best "
                  f"accuracy within the spec {n['best_accuracy'] or 0:.2f} %", file=sys.stderr)
            results.append(row)
    out = {"recipe": "fnas-digits-7z020", "results": results}
    print(json.dumps({"speedups": [r["speedup"] for r in results],
                      "speedups_vs_no_model": [r["speedup_vs_no_model"] for r in results],
                      "pruned_share": [r["pruned"]["pruning"]["pruned_share"] for r in results]}))
    if args.out:
        args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
