"""Do low bit widths hurt? Float vs fixed-point accuracy of FNAS digits chains, PTQ and QAT (QuanNAS, Table 3's point).

Per chain (seed 0): float accuracy after TrainingEvaluator's recipe (``--epochs``), then, for
uniform formats (every layer the same weight / activation format; input s3.4, classifier
weights s1.6), the accuracy after post-training quantization (no fine-tuning) and after
``--qat-epochs`` of quantization-aware fine-tuning (AdamW lr 2e-3, cosine) of the float weights.
The last format, s7.8 / u7.8, is a control: nearly float, so its QAT row is the float model
trained ``--qat-epochs`` more, which separates the extra training from the quantization.
``zero`` is the share of the trained float convolution weights that the weight format rounds
to 0 (``|w| < 2**-fraction / 2``), which is what sinks the 2- and 3-bit rows.
Also the wall seconds of each float training and each QAT run (1 torch thread).

    python benchmarks/bench_nas_quantize.py [--seed 0] [--epochs 5] [--qat-epochs 2] [--out quant.json]
"""

from __future__ import annotations

import argparse
import json
import statistics

import numpy as np

from coexplore.nas.chain import ChainSpace
from coexplore.nas.quantize import LayerQuant, QuantChainEvaluator, parse_fixed_point

CHAINS = ("k3c18-k5c36", "k7c36-k7c36-k7c36-k7c36-k7c36")
FORMATS = (("s0.1", "u0.1"), ("s0.2", "u1.1"), ("s0.3", "u1.3"), ("s0.5", "u2.4"), ("s1.6", "u3.4"),
           ("s7.8", "u7.8"))  # control: nearly float, so QAT there is float fine-tuning for the same epochs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--qat-epochs", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    space = ChainSpace(dataset="digits")
    evs = {mode: QuantChainEvaluator(space=space, epochs=args.epochs, qat_epochs=args.qat_epochs, mode=mode,
                                     seed=args.seed) for mode in ("ptq", "qat")}
    rows = []
    for text in CHAINS:
        chain = space.parse(text)
        fl = [ev.float_accuracy(chain) for ev in evs.values()]
        assert fl[0] == fl[1], "float training must be reproducible"
        print(f"{text}: float {fl[0]:.2f}%  ({evs['ptq'].float_seconds[text]:.1f} s float training)")
        conv_w = np.concatenate([v.ravel() for k, v in evs["ptq"].float_weights(chain).items()
                                 if k.startswith("features.") and k.endswith(".0.weight")])
        print(f"  conv weights: |w| max {np.abs(conv_w).max():.3f}, median {np.median(np.abs(conv_w)):.4f}")
        for w, a in FORMATS:
            lq = LayerQuant(parse_fixed_point(w), parse_fixed_point(a))
            zero = float(np.mean(np.abs(conv_w) < lq.weight.scale / 2))
            quant = [lq] * len(chain.layers)
            acc = {mode: ev.quantized_accuracy(chain, quant) for mode, ev in evs.items()}
            key = (text, tuple(str(q) for q in quant))
            qat_s = evs["qat"].quant_seconds[key]
            print(f"  w {w} ({lq.weight.bits} b) / a {a} ({lq.activation.bits} b): "
                  f"ptq {acc['ptq']:6.2f}%  qat {acc['qat']:6.2f}%  ({qat_s:.1f} s QAT; zero {100 * zero:.1f}%)")
            rows.append({"chain": text, "float": fl[0], "weight": w, "activation": a, "ptq": acc["ptq"],
                         "qat": acc["qat"], "zero_weights": zero,
                         "qat_seconds": qat_s, "float_seconds": evs["ptq"].float_seconds[text]})
    qat_times = [r["qat_seconds"] for r in rows]
    print(f"QAT seconds: median {statistics.median(qat_times):.1f} (min {min(qat_times):.1f}, "
          f"max {max(qat_times):.1f})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"seed": args.seed, "epochs": args.epochs, "qat_epochs": args.qat_epochs, "rows": rows}, f,
                      indent=1)


if __name__ == "__main__":
    main()
