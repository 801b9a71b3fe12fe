"""Do low bit widths hurt? Float vs fixed-point accuracy of FNAS digits chains, PTQ and QAT (QuanNAS, Table 3's point).

Per chain (seed 0): float accuracy after TrainingEvaluator's recipe (``--epochs``), then, for
uniform formats (every layer the same weight / activation format; input s3.4, classifier
weights s1.6), the accuracy after post-training quantization (no fine-tuning) and after
``--qat-epochs`` of quantization-aware fine-tuning (AdamW lr 2e-3, cosine) of the float weights.
The last format, s7.8 / u7.8, is a control: nearly float, so its QAT row is the float model
trained ``--qat-epochs`` more, which separates the extra training from the quantization.
``zero`` is the share of the trained float convolution weights that the weight format rounds
to 0 (``|w| < step / 2``), which is what sinks the 2- and 3-bit rows. Each row twice: the
weights as trained on the grid ``2**-fraction``, and with the per-layer power-of-two scale
``2**-(fraction + k)`` that rounds them best (``QuantChainEvaluator.weight_shifts``, the default:
same codes and bits, the factor folds into BatchNorm / the thresholds).
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


def _zero_share(weights: dict[str, np.ndarray], scales: list[float]) -> float:
    """Share of the convolution weights that grids of step ``scales`` (one per layer) round to 0."""
    convs = [v for k, v in weights.items() if k.startswith("features.") and k.endswith(".0.weight")]
    zeros = sum(int(np.sum(np.abs(w) < step / 2)) for w, step in zip(convs, scales, strict=True))
    return zeros / sum(w.size for w in convs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--qat-epochs", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    space = ChainSpace(dataset="digits")
    evs = {(mode, shift): QuantChainEvaluator(space=space, epochs=args.epochs, qat_epochs=args.qat_epochs, mode=mode,
                                              seed=args.seed, weight_shifts=shift)
           for mode in ("ptq", "qat") for shift in (False, True)}
    base = evs["ptq", False]
    rows = []
    for text in CHAINS:
        chain = space.parse(text)
        fl = [ev.float_accuracy(chain) for ev in evs.values()]
        assert len(set(fl)) == 1, "float training must be reproducible"
        print(f"{text}: float {fl[0]:.2f}%  ({base.float_seconds[text]:.1f} s float training)")
        weights = base.float_weights(chain)
        conv_w = np.concatenate([v.ravel() for k, v in weights.items()
                                 if k.startswith("features.") and k.endswith(".0.weight")])
        print(f"  conv weights: |w| max {np.abs(conv_w).max():.3f}, median {np.median(np.abs(conv_w)):.4f}")
        print(f"  reference (float fine-tuned {args.qat_epochs} epochs): "
              f"{evs['qat', True].reference_accuracy(chain):.2f}%")
        for w, a in FORMATS:
            lq = LayerQuant(parse_fixed_point(w), parse_fixed_point(a))
            quant = [lq] * len(chain.layers)
            key = (text, tuple(str(q) for q in quant))
            acc = {k: ev.quantized_accuracy(chain, quant) for k, ev in evs.items()}
            shifts = evs["qat", True].shifts[key]
            zero = {shift: _zero_share(weights, [lq.weight.scale * 2.0 ** -(k if shift else 0) for k in shifts])
                    for shift in (False, True)}
            qat_s = evs["qat", True].quant_seconds[key]
            print(f"  w {w} ({lq.weight.bits} b) / a {a} ({lq.activation.bits} b): as trained ptq "
                  f"{acc['ptq', False]:6.2f}% qat {acc['qat', False]:6.2f}% (zero {100 * zero[False]:5.1f}%) | "
                  f"shifts {shifts}: ptq {acc['ptq', True]:6.2f}% qat {acc['qat', True]:6.2f}% "
                  f"(zero {100 * zero[True]:5.1f}%)  {qat_s:.1f} s QAT")
            rows.append({"chain": text, "float": fl[0], "reference": evs["qat", True].reference_accuracy(chain),
                         "weight": w, "activation": a, "ptq": acc["ptq", False], "qat": acc["qat", False],
                         "zero_weights": zero[False], "shifts": list(shifts), "ptq_shift": acc["ptq", True],
                         "qat_shift": acc["qat", True], "zero_weights_shift": zero[True],
                         "qat_seconds": qat_s, "float_seconds": base.float_seconds[text]})
    qat_times = [r["qat_seconds"] for r in rows]
    print(f"QAT seconds: median {statistics.median(qat_times):.1f} (min {min(qat_times):.1f}, "
          f"max {max(qat_times):.1f})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"seed": args.seed, "epochs": args.epochs, "qat_epochs": args.qat_epochs, "rows": rows}, f,
                      indent=1)


if __name__ == "__main__":
    main()
