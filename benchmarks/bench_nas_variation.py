"""Does variation-aware training lose less under device variation? Digits chains, Monte Carlo (NACIM's table point).

Per chain (seed 0): float training (``--epochs``), then at uniform formats (``--formats``, weights /
activations of every layer; input s3.4, classifier weights s1.6) two fine-tunings of the float
weights for ``--tune-epochs`` (AdamW lr ``--tune-lr``, cosine): plain (QAT, no noise) and
variation-aware (QAT with a fresh per-cell weight-noise draw per batch at the sigma tested).
Each is tested clean and under multiplicative Gaussian conductance noise of relative spread
sigma by ``--draws`` Monte Carlo chips (the same draws for both); ``--cell-bits`` splits each
weight's magnitude over cells (default: one cell per weight). ``loss`` is clean minus noisy mean;
``aware-plain`` is the mean and std over the draws of the paired difference of noisy accuracies.
Seconds: each fine-tuning and the Monte Carlo of both networks (1 torch thread).

    python benchmarks/bench_nas_variation.py [--seed 0] [--epochs 5] [--tune-epochs 2] [--draws 20]
        [--formats s0.5/u2.4] [--cell-bits N] [--float] [--out variation.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

from coexplore.nas.chain import ChainSpace
from coexplore.nas.quantize import LayerQuant, parse_fixed_point
from coexplore.nas.variation import VariationChainEvaluator

CHAINS = ("k3c18-k5c36", "k7c36-k7c36-k7c36")
SIGMAS = (0.05, 0.1, 0.2, 0.3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--tune-epochs", type=int, default=2)
    ap.add_argument("--tune-lr", type=float, default=2e-3)
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--formats", default="s0.5/u2.4")
    ap.add_argument("--cell-bits", type=int, default=None)
    ap.add_argument("--float", action="store_true", help="also the float networks (one cell per weight)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    space = ChainSpace(dataset="digits")
    w, a = args.formats.split("/")
    lq = LayerQuant(parse_fixed_point(w), parse_fixed_point(a))
    evs = {"quant": VariationChainEvaluator(space=space, epochs=args.epochs, tune_epochs=args.tune_epochs,
                                            tune_lr=args.tune_lr, seed=args.seed, draws=args.draws,
                                            cell_bits=args.cell_bits)}
    if args.float:
        evs["float"] = dataclasses.replace(evs["quant"], cell_bits=None)
    print(f"{evs['quant'].name}, formats {args.formats}")
    rows = []
    start = time.perf_counter()
    for text in CHAINS:
        chain = space.parse(text)
        print(f"{text}: float {evs['quant'].float_accuracy(chain):.2f}%")
        for kind, ev in evs.items():
            quant = [lq] * len(chain.layers) if kind == "quant" else None
            for sigma in SIGMAS:
                r = ev.evaluate(chain, quant, sigma)
                diff = np.subtract(r.aware_noisy.per_draw, r.plain_noisy.per_draw)
                p, v = r.plain_noisy, r.aware_noisy
                print(f"  {kind:5s} sigma {sigma:.2f}: plain clean {r.plain_clean:6.2f} noisy "
                      f"{p.mean:6.2f} ± {p.std:4.2f} (loss {r.plain_clean - p.mean:5.2f})"
                      f" | aware clean {r.aware_clean:6.2f} noisy {v.mean:6.2f} ± {v.std:4.2f}"
                      f" (loss {r.aware_clean - v.mean:5.2f}) | aware-plain {diff.mean():+5.2f} ± "
                      f"{diff.std():4.2f} | s: plain {r.plain_seconds:.1f} aware {r.aware_seconds:.1f} "
                      f"MC {r.monte_carlo_seconds:.1f}")
                rows.append({"kind": kind, **{k: v._asdict() if hasattr(v, "_asdict") else v
                                              for k, v in dataclasses.asdict(r).items()}})
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
