"""A BERT-base encoder layer on coexplore's accelerator presets, the same layers in ZigZag 3.9, and FABNet vs
Transformer at the LRA configurations.

    nice python benchmarks/bench_attention.py [--zigzag-python /work/peers_env/bin/python] [--skip-zigzag]

1. One BERT-base encoder layer (width 768, 12 heads, FFN 3072, batch 1) at sequence length 128 and 512 on the
   ``eyeriss``, ``nvdla-1024`` and ``tpu`` presets: every MAC layer mapped by coexplore's default mapper
   (EDP), softmax and layer norm priced by :mod:`coexplore.cost.vector`; latency, energy and the share of
   attention (Q/K/V, scores, softmax, context, output projection) vs FFN (fc1, fc2) vs layer norm.
2. The same MAC layers (scores and context as grouped layers, G = 12 heads) on ZigZag's bundled
   ``eyeriss_like`` and ``tpu_like`` hardware, in both tools: coexplore imports the hardware YAML
   (``accelerator_from_zigzag``) and maps with its default mapper; ZigZag runs its standard flow (LOMA,
   ``benchmarks/peers/zigzag_layers.py``). Each tool's EDP in its own model (sum of layer energies x sum of
   layer latencies; ZigZag prices no softmax / layer norm, so they are left out on both sides) and wall
   times, with ratios ZigZag / coexplore. ZigZag bundles no NVDLA design, so ``nvdla-1024`` is coexplore only.
3. FABNet vs the vanilla Transformer (and FNet) at the five LRA configurations of the FABNet authors:
   MAC and parameter ratios next to the published 10-66x and 2-22x.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from zigzag_crosscheck import DATA, zigzag_layer  # type: ignore[import-not-found]

from coexplore.cost.vector import price_vector_op
from coexplore.interop.zigzag import accelerator_from_zigzag
from coexplore.mapper.network import map_network
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network
from coexplore.presets.transformers import LRA_TASKS
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Network

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT / "benchmarks" / "peers" / "zigzag_layers.py"
SEQS = (128, 512)
PRESETS = ("eyeriss", "nvdla-1024", "tpu")
ZIGZAG_HW = ("eyeriss_like", "tpu_like")


def _part(name: str) -> str:
    return "attention" if ".attn." in name else "ffn" if ".ffn." in name else "layernorm" if ".ln" in name else "other"


def price(net: Network, acc: Accelerator) -> dict[str, Any]:
    """Map every MAC layer (default mapper, EDP) and price the vector ops; totals and shares per part."""
    t0 = time.perf_counter()
    mapped = map_network(net, acc, jobs=1, progress=False, seed=0)
    seconds = time.perf_counter() - t0
    items = [(x.layer.name, x.cost.energy_pj, x.cost.latency_cycles) for x in mapped.layers]
    items += [(v.name, v.energy_pj, v.latency_cycles) for v in (price_vector_op(op, acc) for op in net.vector_ops)]
    energy = sum(e for _, e, _ in items)
    latency = sum(lat for _, _, lat in items)
    share = {p: {"energy": sum(e for n, e, _ in items if _part(n) == p) / energy,
                 "latency": sum(lat for n, _, lat in items if _part(n) == p) / latency}
             for p in ("attention", "ffn", "layernorm")}
    mac_energy = sum(x.cost.energy_pj for x in mapped.layers)
    mac_latency = sum(x.cost.latency_cycles for x in mapped.layers)
    return {"energy_pj": energy, "latency_cycles": latency, "share": share, "map_seconds": seconds,
            "mac_layers": {"energy_pj": mac_energy, "latency_cycles": mac_latency, "edp": mac_energy * mac_latency},
            "layers": {n: {"energy_pj": e, "latency_cycles": lat} for n, e, lat in items}}


def zigzag_side(net: Network, hw: str, zz_python: str) -> dict[str, Any]:
    """The MAC layers of ``net`` in coexplore (on the imported hardware YAML) and in ZigZag, timed."""
    acc_yaml = DATA / f"{hw}.yaml"
    map_yaml = DATA / "mapping" / f"{hw}.yaml"
    acc = accelerator_from_zigzag(acc_yaml, mapping=map_yaml if map_yaml.exists() else None)
    t0 = time.perf_counter()
    mapped = map_network(net, acc, jobs=1, progress=False, seed=0)
    ours_wall = time.perf_counter() - t0
    ours_e = sum(x.cost.energy_pj for x in mapped.layers)
    ours_l = sum(x.cost.latency_cycles for x in mapped.layers)
    precision = {k: int(v) for k, v in (kv.split("=") for kv in dict(acc.metadata)["zigzag_precision_bits"].split(","))}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump([zigzag_layer(layer, precision) for layer in net.layers], fh)
    t0 = time.perf_counter()
    r = subprocess.run([zz_python, str(PEER), "--layers", fh.name, "--accelerator", str(acc_yaml), "--json"],
                       capture_output=True, text=True, check=True)
    zz_wall = time.perf_counter() - t0
    Path(fh.name).unlink()
    zz = json.loads(r.stdout.strip().splitlines()[-1])
    return {"coexplore": {"energy_pj": ours_e, "latency_cycles": ours_l, "edp": ours_e * ours_l,
                          "wall_seconds": ours_wall},
            "zigzag": {"energy_pj": zz["energy_pj"], "latency_cycles": zz["latency_cycles"], "edp": zz["edp"],
                       "wall_seconds": zz_wall, "flow_seconds": zz["seconds"]},
            "edp_ratio_zigzag_over_coexplore": zz["edp"] / (ours_e * ours_l),
            "wall_ratio_zigzag_over_coexplore": zz_wall / ours_wall}


def lra_ratios() -> dict[str, Any]:
    out = {}
    for task in LRA_TASKS:
        t, f, b = (get_network(f"{m}:task={task}") for m in ("lra-transformer", "fnet-lra", "fabnet-lra"))
        # parameters of the MAC layers (the authors count no layer norm, bias or embedding)
        tp, fp, bp = (sum(x.params for x in n.layers) for n in (t, f, b))
        out[task] = {"macs": {"transformer": t.macs, "fnet": f.macs, "fabnet": b.macs},
                     "params": {"transformer": tp, "fnet": fp, "fabnet": bp},
                     "mac_ratio_transformer_over_fabnet": t.macs / b.macs,
                     "param_ratio_transformer_over_fabnet": tp / bp,
                     "mac_ratio_fnet_over_fabnet": f.macs / b.macs, "param_ratio_fnet_over_fabnet": fp / bp}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zigzag-python", default="/work/peers_env/bin/python")
    ap.add_argument("--skip-zigzag", action="store_true")
    args = ap.parse_args()
    result: dict[str, Any] = {"bert_layer": {}, "zigzag": {}, "lra": lra_ratios()}
    for seq in SEQS:
        net = get_network(f"bert-base:seq={seq},layers=1")
        for name in PRESETS:
            r = price(net, get_accelerator(name))
            result["bert_layer"][f"seq{seq}/{name}"] = r
            s = r["share"]
            print(f"seq {seq:4d} {name:11s} latency {r['latency_cycles']:.3e} cyc  energy {r['energy_pj']:.3e} pJ  "
                  f"attention {s['attention']['latency']:.0%}/{s['attention']['energy']:.0%}  "
                  f"ffn {s['ffn']['latency']:.0%}/{s['ffn']['energy']:.0%} (latency/energy)", file=sys.stderr)
        if not args.skip_zigzag:
            mac_only = Network(name=net.name, layers=net.layers)
            for hw in ZIGZAG_HW:
                z = zigzag_side(mac_only, hw, args.zigzag_python)
                result["zigzag"][f"seq{seq}/{hw}"] = z
                print(f"seq {seq:4d} {hw:13s} EDP zigzag/coexplore {z['edp_ratio_zigzag_over_coexplore']:.2f}  "
                      f"wall zigzag/coexplore {z['wall_ratio_zigzag_over_coexplore']:.2f} "
                      f"({z['zigzag']['wall_seconds']:.1f} s vs {z['coexplore']['wall_seconds']:.1f} s)",
                      file=sys.stderr)
    for task, r in result["lra"].items():
        print(f"LRA {task:10s} MACs transformer/fabnet {r['mac_ratio_transformer_over_fabnet']:6.1f}x (paper 10-66x)  "
              f"params {r['param_ratio_transformer_over_fabnet']:5.1f}x (paper 2-22x)", file=sys.stderr)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
