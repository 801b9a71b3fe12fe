"""ResNet-18 mapped end to end: coexplore's default mapper vs ZigZag 3.9 (LOMA), in one run.

    python benchmarks/bench_mapper_zigzag.py [--jobs 2] [--skip-crosscheck]
        [--zigzag-python /work/zz-venv/bin/python]

Both tools map every layer of ResNet-18 on ZigZag's bundled ``eyeriss_like.yaml``
(coexplore imports it with ``accelerator_from_zigzag``). Wall times: ZigZag's
``get_hardware_performance_zigzag`` with LOMA defaults (benchmarks/peers/zigzag_network.py on
its bundled resnet18.onnx) and ``coexplore map`` as a fresh command (interpreter start,
imports and compiled-kernel cache loading included). Each tool's network EDP is reported
in its own model, and our per-layer mappings are re-costed in ZigZag's model through the
exported fixed mappings (benchmarks/zigzag_crosscheck.py, route B: our exact loop nest).

Note: ZigZag's default search explores at most 720 loop orders per layer (LOMA, lpf_limit 6)
with its spatial mapping fixed by the mapping YAML and no partial tiling, so its "best" is
optimal only in that small space; coexplore searches spatial unrolling, tiling, loop order
and bypass together.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from zigzag_crosscheck import DATA, DEFAULT_ZZ, run_zigzag  # type: ignore[import-not-found]

from coexplore.interop.zigzag import accelerator_from_zigzag
from coexplore.mapping.mapping import Mapping
from coexplore.presets.networks import get_network

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--zigzag-python", default=DEFAULT_ZZ)
    ap.add_argument("--skip-crosscheck", action="store_true")
    args = ap.parse_args()
    acc_yaml = DATA / "eyeriss_like.yaml"

    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "map", "--network", "resnet18",
                        "--accelerator", str(acc_yaml), "--jobs", str(args.jobs), "--seed", str(args.seed), "--json"],
                       capture_output=True, text=True, check=True, cwd=ROOT)
    ours_wall = time.perf_counter() - t0
    ours = json.loads(r.stdout)
    print(f"coexplore: {ours_wall:.2f} s (mapping {ours['seconds']:.2f} s), EDP {ours['edp']:.4e}", file=sys.stderr)

    onnx = Path(args.zigzag_python).parents[1] / "lib/python3.11/site-packages/zigzag/inputs/workload/resnet18.onnx"
    t0 = time.perf_counter()
    z = subprocess.run([args.zigzag_python, str(ROOT / "benchmarks/peers/zigzag_network.py"), "--onnx", str(onnx),
                        "--accelerator", "eyeriss_like", "--json"], capture_output=True, text=True, check=True)
    zz_wall = time.perf_counter() - t0
    zz = json.loads(z.stdout.strip().splitlines()[-1])
    print(f"zigzag: {zz_wall:.1f} s (flow {zz['seconds']:.1f} s), EDP {zz['edp']:.4e}", file=sys.stderr)

    result = {
        "coexplore": {"wall_seconds": ours_wall, "mapping_seconds": ours["seconds"], "energy_pj": ours["energy_pj"],
                      "latency_cycles": ours["latency_cycles"], "edp": ours["edp"]},
        "zigzag": {"wall_seconds": zz_wall, "flow_seconds": zz["seconds"], "energy_pj": zz["energy_pj"],
                   "latency_cycles": zz["latency_cycles"], "edp": zz["edp"]},
        "time_ratio_zigzag_over_coexplore": zz["seconds"] / ours_wall,
    }
    if not args.skip_crosscheck:
        acc = accelerator_from_zigzag(acc_yaml, name="eyeriss_like")
        net = get_network("resnet18")
        energy = latency = 0.0
        seen: dict[tuple[int, ...], dict[str, float]] = {}
        for layer, lr in zip(net.layers, ours["layers"], strict=True):
            key = layer.shape_key()
            if key not in seen:
                zzl = run_zigzag(args.zigzag_python, acc_yaml, layer, acc, Mapping.from_dict(lr["mapping"]), ("B",))
                seen[key] = {k: zzl["route_B"][k] for k in ("energy_pj", "latency_cycles")}
                print(f"  re-costed {layer.name} in ZigZag", file=sys.stderr)
            energy += seen[key]["energy_pj"]
            latency += seen[key]["latency_cycles"]
        result["coexplore_mappings_in_zigzag_model"] = {"energy_pj": energy, "latency_cycles": latency,
                                                        "edp": energy * latency}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
