"""FABNet co-design (strategy ``fabnet``, recipe ``fabnet-listops``'s space): the chosen (FABNet, butterfly
accelerator) pairs against the Transformer of the same size on the best searched systolic design.

    nice python benchmarks/bench_fabnet_codesign.py [--trials 16] [--steps 300] [--budget nvdla-1024]

1. The co-search: :class:`~coexplore.joint.fabnet_codesign.FabnetCodesign` on
   :class:`~coexplore.joint.fabnet_codesign.FabnetButterflyProblem` (accuracy on synthetic ListOps trained
   here, latency in cycles on the budget's butterfly designs), ``--trials`` pairs.
2. For every pair on the final (accuracy, latency) front: the Transformer of the same depth, width and
   sequence length, trained by the same trainer (same data, seed, steps), on its best systolic design under
   the same budget (``hwsearch`` NAAS, EDP, ``--throttle``, softmax / layer norm added with throttle).

Printed per front pair: accuracies, latency and energy of both, and the ratios Transformer / FABNet pair.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from coexplore.api import search_accelerator
from coexplore.cost.butterfly import price_network
from coexplore.cost.vector import price_vector_op
from coexplore.joint.fabnet_codesign import FabnetButterflyProblem, FabnetCodesign, sequence_workload
from coexplore.nas.fabnet import FabnetSpace, ListOpsTrainer, SequenceArch
from coexplore.search.pareto import non_dominated


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", default="nvdla-1024")
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--train-size", type=int, default=3000)
    ap.add_argument("--test-size", type=int, default=1000)
    ap.add_argument("--systolic-evals", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    space = FabnetSpace(depths=(1, 2, 3), widths=(32, 64), seq_lens=(64, 128))
    trainer = ListOpsTrainer(steps=args.steps, train_size=args.train_size, test_size=args.test_size, seed=args.seed)
    prob = FabnetButterflyProblem(budget=args.budget, objectives=("accuracy", "latency"), space=space,
                                  trainer=trainer)
    strat = FabnetCodesign(seed=args.seed, batch=4, initial=6)
    strat.bind(prob, args.trials)
    archs, hws, vals = [], [], []
    while len(vals) < args.trials and not strat.finished:
        batch = strat.ask()
        if len(batch) == 0:
            break
        batch = batch.take(np.arange(min(len(batch), args.trials - len(vals))))
        ev = prob.evaluate(batch)
        strat.tell(batch, ev)
        for i in np.flatnonzero(ev.feasible):
            archs.append(batch.arch[i])
            hws.append(batch.hw[i])
            vals.append(ev.values[i])
    search_s = time.perf_counter() - t0
    v = np.array(vals)
    front = sorted(np.flatnonzero(non_dominated(v)).tolist(), key=lambda i: v[i][0])
    print(f"co-search: {len(vals)} pairs ({len(prob.train_seconds)} networks trained, {args.steps} steps on "
          f"{args.train_size} ListOps expressions, seed {args.seed}) in {search_s:.0f} s; front of {len(front)}\n")
    print(f"{'FABNet pair':<44}{'acc':>6}{'cycles':>10}{'uJ':>9} | {'Transformer':>6}{'cycles':>11}{'uJ':>10}"
          f" | {'lat x':>6}{'energy x':>9}{'acc diff':>9}")
    for i in front:
        arch = prob.arch(archs[i])
        cost = price_network(prob.network(archs[i]), prob.design(hws[i]))
        tr_arch = SequenceArch.transformer(len(arch.blocks), width=arch.width, heads=arch.heads,
                                           ffn_ratio=arch.ffn_ratio, seq_len=arch.seq_len)
        tr_acc = trainer.train(tr_arch).accuracy
        net = sequence_workload(tr_arch)
        r = search_accelerator(net, args.budget, "edp", budget_evals=args.systolic_evals, throttle=True,
                               seed=args.seed)
        vec = [price_vector_op(op, r.best, throttle=True) for op in net.vector_ops]  # type: ignore[union-attr]
        tr_lat = r.latency_cycles + sum(x.latency_cycles for x in vec)
        tr_e = r.energy_pj + sum(x.energy_pj for x in vec)
        d = prob.design(hws[i])
        label = f"{arch.label().split('|mean')[0]} @ {d.engines}x{d.units_per_engine}"
        print(f"{label:<44}{-v[i][0]:>6.1f}{cost.latency_cycles:>10,}{cost.energy_pj / 1e6:>9.2f} | "
              f"{tr_acc:>6.1f}{tr_lat:>11,.0f}{tr_e / 1e6:>10.2f} | {tr_lat / cost.latency_cycles:>6.2f}"
              f"{tr_e / cost.energy_pj:>9.2f}{-v[i][0] - tr_acc:>+9.1f}")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
