"""Cost-model throughput: coexplore's batch kernel vs ZigZag's cost model, measured in one run.

    python benchmarks/bench_cost.py [--mappings 100000] [--zigzag-mappings 1000]
        [--zigzag-python /work/zz-venv/bin/python]

Layer: ResNet-18 ``layer2.0.conv2`` (3x3 conv, K=C=128, P=Q=28) on the Eyeriss preset
(coexplore) and on ZigZag's bundled ``eyeriss_like.yaml`` (ZigZag 3.9, its own venv; see
benchmarks/peers/README.md). coexplore evaluates random legal mappings (sampling is not
timed) in one batch call on one core; ZigZag evaluates LOMA's temporal mappings one
``CostModelEvaluation`` at a time. Prints one JSON object with both figures and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from coexplore.api import bench_cost

HERE = Path(__file__).resolve().parent
DEFAULT_ZZ = os.environ.get("ZIGZAG_PYTHON", "/work/zz-venv/bin/python")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mappings", type=int, default=100_000)
    ap.add_argument("--zigzag-mappings", type=int, default=1000)
    ap.add_argument("--zigzag-python", default=DEFAULT_ZZ)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    ours = bench_cost("resnet18", "layer2.0.conv2", "eyeriss", mappings=args.mappings, repeats=args.repeats).to_record()
    print(f"coexplore: {ours['mappings_per_s']:,.0f} mappings/s ({ours['mappings']:,} in {ours['seconds']:.3f} s)",
          file=sys.stderr)
    result = {"coexplore": ours}
    if Path(args.zigzag_python).exists():
        r = subprocess.run(
            [args.zigzag_python, str(HERE / "peers" / "zigzag_cost.py"), "--mappings", str(args.zigzag_mappings),
             "--json"], capture_output=True, text=True, check=True,
        )
        zz = json.loads(r.stdout.strip().splitlines()[-1])
        result["zigzag"] = {k: zz[k] for k in ("version", "mappings_per_s", "mappings", "seconds",
                                               "loma_mappings_per_s")}
        result["speedup_vs_zigzag_cost_model"] = ours["mappings_per_s"] / zz["mappings_per_s"]
        print(f"zigzag {zz['version']}: {zz['mappings_per_s']:,.1f} mappings/s; "
              f"ratio {result['speedup_vs_zigzag_cost_model']:,.0f}x", file=sys.stderr)
    else:
        result["zigzag"] = f"not measured: no ZigZag interpreter at {args.zigzag_python}"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
