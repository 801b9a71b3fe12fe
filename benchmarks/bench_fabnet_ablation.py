"""FABNet co-design's parts against random at equal pairs (issue 18; the project's ablation rule).

    nice python benchmarks/bench_fabnet_ablation.py --seed 0 [--trials 12] [--steps 300] --out s0.json
    python benchmarks/bench_fabnet_ablation.py --merge s0.json s1.json s2.json

Per seed, one problem (recipe ``fabnet-listops``'s space: FABNet depth 1-3, width 32/64, sequence 64/128,
FBfly/ABfly per block x butterfly designs within ``--budget``; ListOps accuracy trained here, latency in
cycles), so a network trained by one arm is not trained again by another. Arms, ``--trials`` pairs each:

* ``fabnet``: the strategy (networks evolved on the front, each on its best design);
* ``random-best-hw``: uniform random networks, each on its best design (the evolution removed);
* ``random``: uniform random networks x uniform random designs (both removed; an infeasible design is a
  pair refused before training, and counts).

Reported per arm: hypervolume of (accuracy %, latency / the largest latency seen by any arm of the seed),
best accuracy, lowest latency among pairs within 1 point of the arm's best accuracy, networks trained.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ARMS = ("fabnet", "random-best-hw", "random")


def run_arm(problem, arm: str, seed: int, trials: int) -> list[tuple[float, float]]:
    from coexplore.joint.baselines import RandomPairs
    from coexplore.joint.fabnet_codesign import FabnetCodesign
    from coexplore.joint.problem import PairBatch

    strat = FabnetCodesign(seed=seed, batch=4, initial=6) if arm == "fabnet" else RandomPairs(seed=seed, batch=4)
    strat.bind(problem, trials)
    out: list[tuple[float, float]] = []
    evaluated = 0
    while evaluated < trials and not getattr(strat, "finished", False):
        batch = strat.ask()
        if len(batch) == 0:
            break
        batch = batch.take(np.arange(min(len(batch), trials - evaluated)))
        if arm == "random-best-hw":
            hw = [problem.best_hw(a) for a in batch.arch]
            keep = [i for i, h in enumerate(hw) if h is not None]
            batch = PairBatch(batch.arch[keep], np.stack([hw[i] for i in keep])) if keep else batch.take([])
            if len(batch) == 0:
                continue
        ev = problem.evaluate(batch)
        strat.tell(batch, ev)
        evaluated += len(batch)
        out += [(-float(ev.values[i][0]), float(ev.values[i][1])) for i in np.flatnonzero(ev.feasible)]
    return out


def run_seed(seed: int, trials: int, steps: int, budget: str) -> dict:
    import torch

    from coexplore.joint.fabnet_codesign import FabnetButterflyProblem
    from coexplore.nas.fabnet import FabnetSpace, ListOpsTrainer

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    space = FabnetSpace(depths=(1, 2, 3), widths=(32, 64), seq_lens=(64, 128))
    trainer = ListOpsTrainer(steps=steps, train_size=3000, test_size=1000, seed=seed)
    problem = FabnetButterflyProblem(budget=budget, objectives=("accuracy", "latency"), space=space, trainer=trainer)
    arms = {}
    for arm in ARMS:
        t = time.perf_counter()
        arms[arm] = {"points": run_arm(problem, arm, seed, trials), "seconds": time.perf_counter() - t}
    return {"seed": seed, "trials": trials, "steps": steps, "budget": budget, "arms": arms,
            "networks_trained": len(problem.train_seconds), "seconds": time.perf_counter() - t0}


def summarise(run: dict) -> dict:
    from coexplore.search.pareto import hypervolume_2d

    worst = max((lat for a in run["arms"].values() for _, lat in a["points"]), default=1.0)
    out = {}
    for arm, a in run["arms"].items():
        pts = np.array(a["points"]) if a["points"] else np.zeros((0, 2))
        if len(pts) == 0:
            out[arm] = {"hv": 0.0, "best_acc": float("nan"), "fast_near_best": float("nan"), "feasible": 0}
            continue
        hv = hypervolume_2d(np.column_stack([-pts[:, 0], pts[:, 1] / worst]), (0.0, 1.0 + 1e-9))
        best = pts[:, 0].max()
        out[arm] = {"hv": hv, "best_acc": float(best), "fast_near_best": float(pts[pts[:, 0] >= best - 1, 1].min()),
                    "feasible": len(pts)}
    return out


def merge(paths: list[str]) -> None:
    runs = [json.loads(Path(p).read_text()) for p in paths]
    rows = {arm: [summarise(r)[arm] for r in runs] for arm in ARMS}
    print(f"{len(runs)} seeds, {runs[0]['trials']} pairs per arm, {runs[0]['steps']} training steps\n")
    print("| arm | hypervolume (mean ± std) | per seed | best accuracy % | cycles within 1 point of best | feasible |")
    print("|---|---|---|---|---|---|")
    for arm in ARMS:
        hv = np.array([x["hv"] for x in rows[arm]])
        acc = np.array([x["best_acc"] for x in rows[arm]])
        fast = np.array([x["fast_near_best"] for x in rows[arm]])
        print(f"| {arm} | {hv.mean():.2f} ± {hv.std():.2f} | {' / '.join(f'{v:.2f}' for v in hv)} | "
              f"{acc.mean():.2f} ± {acc.std():.2f} | {np.nanmean(fast):,.0f} | "
              f"{' / '.join(str(x['feasible']) for x in rows[arm])} |")
    print(f"\nnetworks trained per seed: {[r['networks_trained'] for r in runs]}; "
          f"wall per seed {[round(r['seconds']) for r in runs]} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--budget", default="nvdla-1024")
    ap.add_argument("--out", help="write the seed's JSON here")
    ap.add_argument("--merge", nargs="+", help="print the table of these JSON files")
    args = ap.parse_args()
    if args.merge:
        merge(args.merge)
        return
    out = run_seed(args.seed, args.trials, args.steps, args.budget)
    if args.out:
        Path(args.out).write_text(json.dumps(out))
    print(json.dumps(summarise(out)))


if __name__ == "__main__":
    main()
