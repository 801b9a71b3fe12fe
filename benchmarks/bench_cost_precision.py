"""Cost-model throughput with precision on, against the same kernel without it, in one run.

    python benchmarks/bench_cost_precision.py [--mappings 100000] [--repeats 5] [--out FILE.json]
        [--before DIR]

Layer: ResNet-18 ``layer2.0.conv2`` (3x3 conv, K=C=128, P=Q=28). Cases: Eyeriss unquantized
(the baseline, Timeloop semantics), Eyeriss with the layer at W4A8 (words packed per
access, capacity and bandwidth in bits), and the ``bitfusion`` preset at W4A4 (a
precision-scalable array bound to 4 fused products per unit). Each case evaluates the
same number of random legal mappings (sampling not timed) in one batch call on one core,
energy and latency only (what a search uses); the best of ``--repeats`` is kept. Prints
one JSON object with mappings/s per case and each case's ratio to the baseline.
``--before DIR`` also times the baseline case with another source tree (e.g. ``git
archive <commit> coexplore | tar -x -C DIR``: the kernel before this change) in a
subprocess, between the other cases.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from coexplore.cost.model import evaluate_batch
from coexplore.mapping.sampling import sample_legal
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network


def throughput(layer, acc, n: int, repeats: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    batch = sample_legal(layer, acc, n, seed=0)
    evaluate_batch(layer, acc, batch.take(range(8)), detail=False)  # compile / warm up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        evaluate_batch(layer, acc, batch, detail=False)
        best = min(best, time.perf_counter() - t0)
    return {"mappings_per_s": n / best, "seconds": best, "mappings": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mappings", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None)
    ap.add_argument("--before", default=None, help="source tree of the code to compare with (see above)")
    args = ap.parse_args()
    layer = get_network("resnet18").layer("layer2.0.conv2")
    cases = {
        "eyeriss (no precision, baseline)": (layer, get_accelerator("eyeriss")),
        "eyeriss W4A8": (replace(layer, weight_bits=4, input_bits=8), get_accelerator("eyeriss")),
        "bitfusion W4A4": (replace(layer, weight_bits=4, input_bits=4), get_accelerator("bitfusion")),
    }
    out: dict[str, dict[str, float]] = {}
    for name, (lay, acc) in cases.items():
        out[name] = throughput(lay, acc, args.mappings, args.repeats)
        print(f"{name:34} {out[name]['mappings_per_s']:>12,.0f} mappings/s", file=sys.stderr)
        if args.before and "baseline" in name:
            code = ("import sys, json; sys.path.insert(0, sys.argv[1]); from coexplore.api import bench_cost; "
                    "r = bench_cost('resnet18', 'layer2.0.conv2', 'eyeriss', mappings=int(sys.argv[2]), "
                    "repeats=int(sys.argv[3])); "  # a dict before the API returned typed results
                    "print(json.dumps(r.to_record() if hasattr(r, 'to_record') else r))")
            env = {**os.environ, "PYTHONPATH": args.before}
            r = subprocess.run([sys.executable, "-c", code, args.before, str(args.mappings), str(args.repeats)],
                               capture_output=True, text=True, check=True, env=env)
            old = json.loads(r.stdout.strip().splitlines()[-1])
            out["eyeriss (no precision, code before)"] = {"mappings_per_s": old["mappings_per_s"],
                                                           "seconds": old["seconds"], "mappings": args.mappings}
            print(f"{'eyeriss (no precision, code before)':34} {old['mappings_per_s']:>12,.0f} mappings/s",
                  file=sys.stderr)
    base = out["eyeriss (no precision, baseline)"]["mappings_per_s"]
    for row in out.values():
        row["ratio_to_baseline"] = row["mappings_per_s"] / base
    text = json.dumps({"layer": layer.spec_string(), "cases": out}, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
