"""Cross-evaluation: one mapping costed by coexplore and by ZigZag's own cost model.

    python benchmarks/zigzag_crosscheck.py [--accelerator eyeriss_like] [--network resnet18]
        [--layer layer2.0.conv2] [--objective energy] [--samples 4096] [--random 8] [--seed 0]
        [--zigzag-python /work/zz-venv/bin/python]

Run with coexplore's venv. The accelerator is a ZigZag hardware YAML (a name from
``tests/data/zigzag/`` or a path), imported with ``accelerator_from_zigzag`` (with the
matching mapping YAML from ``tests/data/zigzag/mapping/`` when there is one). coexplore's
sampling mapper finds a mapping of the layer on it; the mapping is exported with
``mapping_to_zigzag`` / ``allocation_to_zigzag`` and ZigZag (3.9, in its own venv, see
benchmarks/peers/README.md) re-evaluates it through ``benchmarks/peers/zigzag_fixed_mapping.py``:

* route B (``--allocation``): our exact loop nest per memory level (the like-for-like check);
* route A (``--ordering``): our loop order only, ZigZag's memory allocator re-tiles it.

``--random N`` also costs N random legal mappings both ways (route B) and reports the rank
correlation of the two models. Prints one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from coexplore.cost.model import evaluate
from coexplore.interop.zigzag import accelerator_from_zigzag, allocation_to_zigzag, mapping_to_zigzag
from coexplore.mapper import map_layer_sampled
from coexplore.mapping.encoding import decode
from coexplore.mapping.mapping import Mapping
from coexplore.mapping.sampling import sample_legal
from coexplore.presets.networks import get_network
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "zigzag"
SCRIPT = ROOT / "benchmarks" / "peers" / "zigzag_fixed_mapping.py"
DEFAULT_ZZ = os.environ.get("ZIGZAG_PYTHON", "/work/zz-venv/bin/python")


def zigzag_layer(layer: Layer, precision: dict[str, int]) -> dict[str, Any]:
    """The layer in ZigZag's user format (as its ONNX Conv parser builds it), per-group K and C."""
    b = layer.bounds()
    (sh, sw), (dh, dw), (ph, pw) = layer.stride, layer.dilation, layer.padding
    ix = (b["Q"] - 1) * sw + (b["S"] - 1) * dw + 1 - 2 * pw
    iy = (b["P"] - 1) * sh + (b["R"] - 1) * dh + 1 - 2 * ph
    return {
        "id": 0, "name": layer.name, "operator_type": "Conv",
        "equation": "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]",
        "operand_source": {"W": 0, "I": 0},
        "loop_dims": ["B", "K", "G", "OX", "OY", "C", "FX", "FY"],
        "loop_sizes": [b["N"], b["K"], b["G"], b["Q"], b["P"], b["C"], b["S"], b["R"]],
        "dimension_relations": [f"ix={sw}*ox+{dw}*fx", f"iy={sh}*oy+{dh}*fy"],
        "operand_precision": {"W": precision["weights"], "I": precision["inputs"], "O": precision["outputs"],
                              "O_final": precision["inputs"]},
        "pr_loop_dims": ["IX", "IY"], "pr_loop_sizes": [ix, iy], "padding": [[ph, ph], [pw, pw]],
    }


def coexplore_cost(layer: Layer, acc: Accelerator, mapping: Mapping) -> dict[str, Any]:
    cost = evaluate(layer, acc, mapping)
    throttled = evaluate(layer, acc, mapping, throttle=True)
    return {"energy_pj": cost.energy_pj, "latency_cycles": cost.latency_cycles,
            "latency_cycles_bandwidth_limited": throttled.latency_cycles, "mac_energy_pj": cost.mac_energy_pj,
            "energy_pj_per_level": {lv.name: {ds: c.energy_pj for ds, c in lv.dataspaces.items()}
                                    for lv in cost.levels}}


def run_zigzag(zz_python: str, acc_yaml: Path, layer: Layer, acc: Accelerator, mapping: Mapping,
               routes: tuple[str, ...]) -> dict[str, Any]:
    """ZigZag's figures for ``mapping`` via zigzag_fixed_mapping.py, per route ("B" allocation, "A" ordering)."""
    entry = mapping_to_zigzag(layer, acc, mapping, acc_yaml)
    alloc = allocation_to_zigzag(layer, acc, mapping, acc_yaml)
    precision = {k: int(v) for k, v in (kv.split("=") for kv in dict(acc.metadata)["zigzag_precision_bits"].split(","))}
    out: dict[str, Any] = {"exported_entry": entry}
    with tempfile.TemporaryDirectory(prefix="zz_crosscheck_") as tmp:
        paths = {name: Path(tmp) / name for name in ("mapping.yaml", "allocation.json", "layer.json")}
        default = {"name": "default", "spatial_mapping": entry["spatial_mapping"],
                   "memory_operand_links": entry["memory_operand_links"]}
        paths["mapping.yaml"].write_text(yaml.safe_dump([default, entry], sort_keys=False))
        paths["allocation.json"].write_text(json.dumps(alloc))
        paths["layer.json"].write_text(json.dumps(zigzag_layer(layer, precision)))
        base = [zz_python, str(SCRIPT), "--accelerator", str(acc_yaml), "--mapping", str(paths["mapping.yaml"]),
                "--layer-json", str(paths["layer.json"])]
        for route in routes:
            arg = ["--allocation", str(paths["allocation.json"])] if route == "B" else \
                ["--ordering", ",".join(f"{d}:{f}" for d, f in entry["temporal_ordering"])]
            r = subprocess.run(base + arg, capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"zigzag_fixed_mapping.py failed ({r.returncode}):\n{r.stderr[-3000:]}")
            zz = json.loads(r.stdout.strip().splitlines()[-1])
            out[f"route_{route}"] = {k: zz[k] for k in ("energy_pj", "latency_cycles", "mac_energy_pj", "fits",
                                                       "latency_breakdown", "mem_energy_per_operand_per_level_pj",
                                                       "spatial_mapping", "temporal_mapping")}
    return out


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = (np.argsort(np.argsort(np.asarray(x))) for x in (a, b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accelerator", default="eyeriss_like", help="name in tests/data/zigzag or a YAML path")
    ap.add_argument("--network", default="resnet18")
    ap.add_argument("--layer", default="layer2.0.conv2")
    ap.add_argument("--objective", default="energy")
    ap.add_argument("--samples", type=int, default=4096, help="mapper samples")
    ap.add_argument("--random", type=int, default=8, help="random legal mappings for the rank correlation")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--zigzag-python", default=DEFAULT_ZZ)
    args = ap.parse_args()

    acc_yaml = Path(args.accelerator) if args.accelerator.endswith((".yaml", ".yml")) \
        else DATA / f"{args.accelerator}.yaml"
    map_yaml = DATA / "mapping" / acc_yaml.name
    acc = accelerator_from_zigzag(acc_yaml, mapping=map_yaml if map_yaml.exists() else None)
    layer = get_network(args.network).layer(args.layer)
    best = map_layer_sampled(layer, acc, samples=args.samples, seed=args.seed, objective=args.objective)
    result: dict[str, Any] = {
        "accelerator": str(acc_yaml.relative_to(ROOT) if acc_yaml.is_relative_to(ROOT) else acc_yaml),
        "layer": layer.name, "mapper": f"sampled ({args.samples} samples, objective {args.objective}, "
                                       f"seed {args.seed})",
        "mapping": best.mapping.to_dict([lv.name for lv in acc.levels]),
        "coexplore": coexplore_cost(layer, acc, best.mapping),
    }
    if not Path(args.zigzag_python).exists():
        result["zigzag"] = f"not measured: no ZigZag interpreter at {args.zigzag_python}"
        print(json.dumps(result, indent=2))
        return
    t0 = time.perf_counter()
    result["zigzag"] = run_zigzag(args.zigzag_python, acc_yaml, layer, acc, best.mapping, ("B", "A"))
    c, z = result["coexplore"], result["zigzag"]["route_B"]
    result["ratio_coexplore_over_zigzag_route_B"] = {
        "energy": c["energy_pj"] / z["energy_pj"], "latency": c["latency_cycles"] / z["latency_cycles"],
        "latency_bandwidth_limited": c["latency_cycles_bandwidth_limited"] / z["latency_cycles"],
        "ideal_temporal_cycles": c["latency_cycles"] / z["latency_breakdown"]["ideal_temporal_cycle"],
    }
    print(f"best mapping: coexplore {c['energy_pj']:.4g} pJ, {c['latency_cycles']} cycles; ZigZag (route B) "
          f"{z['energy_pj']:.4g} pJ, {z['latency_cycles']:.0f} cycles", file=sys.stderr)
    if args.random > 0:
        batch = sample_legal(layer, acc, args.random, seed=args.seed + 1)
        rows = []
        for i in range(len(batch)):
            m = decode(batch, i)
            c = coexplore_cost(layer, acc, m)
            zz = run_zigzag(args.zigzag_python, acc_yaml, layer, acc, m, ("B",))["route_B"]
            rows.append({"coexplore_energy_pj": c["energy_pj"], "coexplore_latency_cycles": c["latency_cycles"],
                         "coexplore_latency_cycles_bandwidth_limited": c["latency_cycles_bandwidth_limited"],
                         "zigzag_energy_pj": zz["energy_pj"], "zigzag_latency_cycles": zz["latency_cycles"],
                         "zigzag_ideal_temporal_cycles": zz["latency_breakdown"]["ideal_temporal_cycle"],
                         "zigzag_fits": zz["fits"]})
            print(f"random {i + 1}/{len(batch)}: coexplore {c['energy_pj']:.4g} pJ {c['latency_cycles']} cycles; "
                  f"ZigZag {zz['energy_pj']:.4g} pJ {zz['latency_cycles']:.0f} cycles", file=sys.stderr)

        def col(key: str) -> list[float]:
            return [float(r[key]) for r in rows]

        e_ratio = [a / b for a, b in zip(col("coexplore_energy_pj"), col("zigzag_energy_pj"), strict=True)]
        result["random_mappings"] = {
            "n": len(rows),
            "energy_spearman": spearman(col("coexplore_energy_pj"), col("zigzag_energy_pj")),
            "latency_spearman": spearman(col("coexplore_latency_cycles"), col("zigzag_latency_cycles")),
            "latency_bandwidth_limited_spearman": spearman(col("coexplore_latency_cycles_bandwidth_limited"),
                                                           col("zigzag_latency_cycles")),
            "compute_cycles_equal_zigzag_ideal_temporal": col("coexplore_latency_cycles")
            == col("zigzag_ideal_temporal_cycles"),
            "energy_ratio_median": float(np.median(e_ratio)),
            "energy_ratio_range": [min(e_ratio), max(e_ratio)],
            "fit_in_zigzag": sum(bool(r["zigzag_fits"]) for r in rows),
            "rows": rows,
        }
    result["zigzag_seconds"] = time.perf_counter() - t0
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
