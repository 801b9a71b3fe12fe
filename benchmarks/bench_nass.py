"""NASS on the digits against a Gazelle-like fixed-precision baseline (issue 19, item 2).

    python benchmarks/bench_nass.py --seed 0 [--budget 24] [--out FILE]
    python benchmarks/bench_nass.py --merge FILE ...

Per seed, one accuracy evaluator (a chain is trained in float once; QAT per format set) and the
secure-cost constants calibrated on Gazelle's seed column (``bench_secure.py``):

* **Baseline (Gazelle-like)**: every layer at the widest formats (weights ``s0.7``, activations
  ``u3.5``: one fixed precision, as Gazelle runs a given network at one width), the network chosen
  for accuracy alone by the same controller with no cost spec, ``--budget`` candidates; its most
  accurate network is the baseline.
* **NASS**: strategy ``nass`` over chains x per-layer formats, specs = the baseline's secure
  time and bandwidth (pruned before training), ``--budget`` candidates; its most accurate network.

Prints, per seed, both networks with accuracy (digits test %), HE + GC time and bandwidth, and
whether NASS beats the baseline in time and bandwidth at equal or better accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def calibrated():
    from bench_secure import SEED, gazelle_stages

    from coexplore.cost.secure import SecureConstants, scaled, secure_network_cost

    c = SecureConstants()
    g = secure_network_cost(gazelle_stages(), c)
    return scaled(c, he_time=SEED["gazelle"]["he_s"] / g.he_time_s, gc_time=SEED["gazelle"]["gc_s"] / g.gc_time_s,
                  bytes_=SEED["gazelle"]["bytes"] / g.bytes)


def best(problem, strategy_seed: int, budget: int) -> dict:
    from coexplore.joint.registry import make_joint_strategy
    from coexplore.search.driver import optimize

    s = make_joint_strategy("nass", problem, seed=strategy_seed, budget=budget, batch=8)
    rows: list = []
    res = optimize(problem, s, max_evals=budget, on_batch=lambda c, e: rows.extend(
        (c.take([i]), e.values[i]) for i in range(len(c)) if e.feasible[i]))
    top = min(rows, key=lambda r: (r[1][0], r[1][1]))  # most accurate, then fastest
    out = problem.describe(top[0], 0)
    out.update(accuracy=-float(top[1][0]), evaluated=res.evaluated, feasible=res.feasible)
    return out


def run_seed(seed: int, budget: int) -> dict:
    from coexplore.joint.nass import ChainQuantSecureProblem
    from coexplore.nas.chain import ChainSpace
    from coexplore.nas.quantize import QuantChainEvaluator

    t0 = time.perf_counter()
    ev = QuantChainEvaluator(space=ChainSpace(dataset="digits"), seed=seed, threads=1)
    c = calibrated()
    base_p = ChainQuantSecureProblem(constants=c, evaluator=ev, weight_formats=("s0.7",), activation_formats=("u3.5",))
    base = best(base_p, seed, budget)
    nass_p = ChainQuantSecureProblem(constants=c, evaluator=ev, max_time_s=base["time_s"], max_bytes=base["bytes"])
    nass = best(nass_p, seed + 1000, budget)
    wins = nass["time_s"] < base["time_s"] and nass["bytes"] < base["bytes"] and nass["accuracy"] >= base["accuracy"]
    return {"seed": seed, "budget": budget, "baseline": base, "nass": nass, "nass_wins": wins,
            "seconds": time.perf_counter() - t0}


def merge(paths: list[str]) -> None:
    runs = [json.loads(Path(p).read_text()) for p in paths]
    print("| seed | run | network | formats (w/a per layer) | acc % | HE s | GC s | total s | MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        for key in ("baseline", "nass"):
            d = r[key]
            fm = " ".join(f"{f['weight']}/{f['activation']}" for f in d["formats"])
            print(f"| {r['seed']} | {key} | {d['arch']} | {fm} | {d['accuracy']:.2f} | {d['he_time_s']:.4f} | "
                  f"{d['gc_time_s']:.4f} | {d['time_s']:.4f} | {d['bytes'] / 1e6:.2f} |")
    n = len(runs)
    mean = {k: {m: sum(r[k][m] for r in runs) / n for m in ("accuracy", "time_s", "bytes")}
            for k in ("baseline", "nass")}
    print(f"\nmean over {n} seeds: baseline {mean['baseline']['accuracy']:.2f} %, {mean['baseline']['time_s']:.4f} s, "
          f"{mean['baseline']['bytes'] / 1e6:.2f} MB; NASS {mean['nass']['accuracy']:.2f} %, "
          f"{mean['nass']['time_s']:.4f} s, {mean['nass']['bytes'] / 1e6:.2f} MB")
    print(f"NASS beats the baseline in time and bandwidth at >= accuracy: {sum(r['nass_wins'] for r in runs)}/{n} "
          f"seeds; wall {max(r['seconds'] for r in runs):.0f} s per seed at most")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=int, default=24, help="candidates per search")
    ap.add_argument("--out", help="write the seed's JSON here")
    ap.add_argument("--merge", nargs="+", help="print the table of these JSON files")
    args = ap.parse_args()
    if args.merge:
        merge(args.merge)
        return
    out = run_seed(args.seed, args.budget)
    text = json.dumps(out)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
