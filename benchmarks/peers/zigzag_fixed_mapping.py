"""Evaluate ONE layer in ZigZag under a FIXED temporal mapping and print energy/latency as JSON.

Must be run with the ZigZag venv.  Two ways to fix the mapping (see ZIGZAG_NOTES.md, part b):

(A) ``--ordering`` -- ZigZag's own "fixed temporal ordering" (``temporal_ordering`` in the mapping yaml).
    A complete loop order, innermost loop first, ``DIM:factor`` items whose per-dimension products equal the
    layer's *temporal* loop sizes (layer size / spatial unrolling, rounded up).  ZigZag then skips the LOMA search
    and its MemoryAllocator assigns the loops bottom-up to the memory levels (greedy fill, per operand).  This runs
    the unmodified ``zigzag.api.get_hardware_performance_zigzag`` flow with a generated mapping yaml::

        /work/zz-venv/bin/python benchmarks/peers/zigzag_fixed_mapping.py \
            --ordering "C:11,FY:3,OY:28,OX:28,FX:3,K:10"

    (``DIM:*`` items are also accepted: ZigZag then treats the ordering as a constraint and LOMA searches the
    rest -- pass ``--allow-partial`` to allow that.)

(B) ``--allocation JSON`` -- an explicit per-operand, per-memory-level loop nest (innermost level first, inside a
    level innermost loop first), i.e. ZigZag's internal ``TemporalMapping`` dict.  Built directly and evaluated
    with ``CostModelEvaluation`` (what CostModelStage does), bypassing the allocator, so a mapping produced by
    another tool (tiling per memory level) can be re-costed exactly.  Capacity is NOT checked by ZigZag's cost
    model in this path; the script reports ``fits`` from the model's own memory-utilisation figures::

        /work/zz-venv/bin/python benchmarks/peers/zigzag_fixed_mapping.py --allocation '{
          "O": [[["C",11],["FY",3]], [["OY",28]], [["OX",28],["FX",3],["K",10]], []],
          "W": [[["C",11],["FY",3],["OY",28],["OX",28]], [["FX",3]], [["K",10]]],
          "I": [[["C",11],["FY",3]], [["OY",28],["OX",28],["FX",3],["K",10]], []]}'

    Level counts must match the hardware's hierarchy per operand (eyeriss_like: O 4 = rf_16B, sram_8KB, sram_1M,
    dram; W 3 = rf_64B_W, sram_64KB, dram; I 3 = rf_64B_A, sram_1M, dram).  ``--show-levels`` prints them.

Layer: a Conv given by ``--layer K=128,C=128,OX=28,OY=28,FX=3,FY=3,stride=1,pad=1`` (default: ResNet-18
layer2.0.conv2) or any ZigZag user-format layer dict via ``--layer-json``.  Spatial mapping: from the mapping yaml
(default: bundled ``<accelerator>.yaml`` else ``default.yaml``) or ``--spatial "D1:K,14;D2:C,12"``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
from importlib import metadata
from typing import Any

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zigzag_cost as zc

log = logging.getLogger("zigzag_fixed_mapping")


def parse_layer(spec: str | None, layer_json: str | None) -> dict[str, Any]:
    if layer_json:
        if os.path.isfile(layer_json):
            with open(layer_json) as fh:
                return json.load(fh)
        return json.loads(layer_json)
    kw: dict[str, Any] = {}
    if spec:
        for item in spec.split(","):
            k, v = (x.strip() for x in item.split("="))
            kw[k.lower()] = v if k.lower() == "name" else int(v)
        kw.setdefault("name", "conv_" + "_".join(f"{k}{v}" for k, v in kw.items() if k != "name"))
    return zc.conv_layer_dict(**kw)


def parse_ordering(s: str) -> list[list[Any]]:
    out: list[list[Any]] = []
    for item in s.replace(" ", "").split(","):
        dim, f = item.split(":")
        out.append([dim.upper(), "*" if f == "*" else int(f)])
    return out


def parse_spatial(s: str) -> dict[str, list[str]]:
    sm: dict[str, list[str]] = {}
    for part in s.replace(" ", "").split(";"):
        oa, rest = part.split(":")
        items = rest.split("+")
        sm[oa] = [f"{it.split(',')[0]}, {int(it.split(',')[1])}" for it in items]
    return sm


def resolve_yamls(acc: str, mapping: str | None) -> tuple[str, str]:
    inputs = zc.zigzag_inputs_dir()
    acc_yaml = acc if acc.endswith(".yaml") else os.path.join(inputs, "hardware", f"{acc}.yaml")
    if mapping:
        return acc_yaml, mapping
    cand = os.path.join(inputs, "mapping", os.path.basename(acc_yaml))
    return acc_yaml, cand if os.path.isfile(cand) else os.path.join(inputs, "mapping", "default.yaml")


def mapping_with_fixed_entry(base_yaml: str, layer: dict[str, Any], ordering: list[list[Any]] | None,
                             spatial: dict[str, list[str]] | None) -> list[dict[str, Any]]:
    """Base mapping list + an entry named after the layer (name has priority over operator type / default)."""
    with open(base_yaml) as fh:
        base: list[dict[str, Any]] = yaml.safe_load(fh)
    by_name = {m["name"]: m for m in base}
    template = by_name.get(layer["name"]) or by_name.get(layer["operator_type"]) or by_name["default"]
    entry = {k: v for k, v in template.items() if k not in ("temporal_ordering",)}
    entry["name"] = layer["name"]
    if spatial is not None:
        entry["spatial_mapping"] = spatial
    if ordering is not None:
        entry["temporal_ordering"] = ordering
    return [m for m in base if m["name"] != layer["name"]] + [entry]


def describe(cme, ctx_acc) -> dict[str, Any]:
    """JSON summary of a CostModelEvaluation."""
    links = cme.layer.memory_operand_links
    tmap = {}
    for op, levels in cme.temporal_mapping.mapping_dic_origin.items():
        mem_op = links.layer_to_mem_op(op)
        names = [lvl.name for lvl in ctx_acc.mem_hierarchy_dict[mem_op]]
        tmap[str(op)] = [
            {"memory": names[i] if i < len(names) else None, "loops": [[str(d), int(f)] for d, f in lvl]}
            for i, lvl in enumerate(levels)
        ]
    util = {str(op): [float(u) for u in lst] for op, lst in cme.mem_utili_shared.items()}
    return {
        "energy_pj": float(cme.energy_total),
        "latency_cycles": float(cme.latency_total2),
        "edp": float(cme.energy_total) * float(cme.latency_total2),
        "mac_energy_pj": float(cme.mac_energy),
        "mem_energy_pj": float(cme.mem_energy),
        "mem_energy_per_operand_per_level_pj": {
            str(k): [float(x) for x in v] for k, v in cme.mem_energy_breakdown.items()
        },
        "latency_breakdown": {
            "ideal_cycle": float(cme.ideal_cycle),
            "ideal_temporal_cycle": float(cme.ideal_temporal_cycle),
            "computation_incl_stalls": float(cme.latency_total0),
            "onloading": float(cme.latency_total1 - cme.latency_total0),
            "offloading": float(cme.latency_total2 - cme.latency_total1),
        },
        "mac_utilization": float(cme.mac_utilization2),
        "spatial_mapping": str(cme.layer.spatial_mapping),
        "temporal_mapping": tmap,
        "memory_utilization": util,
        "fits": all(u <= 1.0 + 1e-9 for lst in util.values() for u in lst),
    }


def run_ordering(args, layer, acc_yaml, map_yaml, spatial) -> dict[str, Any]:
    from zigzag.api import get_hardware_performance_zigzag

    ordering = parse_ordering(args.ordering)
    # Check completeness against ZigZag's own temporal loop sizes (an incomplete int ordering would silently turn
    # into a constrained LOMA search instead of a fixed evaluation).
    tmp = tempfile.TemporaryDirectory(prefix="zz_fixed_")
    mp = os.path.join(tmp.name, "mapping.yaml")
    with open(mp, "w") as fh:
        yaml.safe_dump(mapping_with_fixed_entry(map_yaml, layer, None, spatial), fh)
    ctx = zc.setup(acc_yaml, mp, layer)
    needed = {str(k): int(v) for k, v in zc.make_engine(ctx, 6).get_temporal_loops().items()}
    got: dict[str, int] = {}
    partial = False
    for d, f in ordering:
        if f == "*":
            partial = True
            continue
        got[d] = got.get(d, 1) * f
    got = {d: f for d, f in got.items() if f != 1}
    if (partial or got != needed) and not args.allow_partial:
        raise SystemExit(f"ordering is not complete: per-dim products {got} != temporal loop sizes {needed} "
                         "(pass --allow-partial to let LOMA search the rest)")
    with open(mp, "w") as fh:
        yaml.safe_dump(mapping_with_fixed_entry(map_yaml, layer, ordering, spatial), fh)
    _energy, _latency, cmes = get_hardware_performance_zigzag(
        [layer], acc_yaml, mp, dump_folder=tmp.name, loma_show_progress_bar=False,
        lpf_limit=args.lpf_limit, opt="latency",
    )
    cme = cmes[0][1][0][0]
    out = describe(cme, cme.accelerator)
    out.update({"mode": "ordering", "ordering_innermost_first": ordering, "temporal_loop_sizes": needed,
                "searched": partial or got != needed})
    tmp.cleanup()
    return out


def run_allocation(args, layer, acc_yaml, map_yaml, spatial) -> dict[str, Any]:
    from zigzag.datatypes import LayerDim
    from zigzag.mapping.temporal_mapping import TemporalMapping

    src = args.allocation
    if os.path.isfile(src):
        with open(src) as fh:
            alloc = json.load(fh)
    else:
        alloc = json.loads(src)
    tmp = tempfile.TemporaryDirectory(prefix="zz_fixed_")
    mp = os.path.join(tmp.name, "mapping.yaml")
    with open(mp, "w") as fh:
        yaml.safe_dump(mapping_with_fixed_entry(map_yaml, layer, None, spatial), fh)
    ctx = zc.setup(acc_yaml, mp, layer)
    lyr = ctx["layer"]
    acc = ctx["accelerator"]
    links = lyr.memory_operand_links
    tm_dict = {}
    for op in lyr.layer_operands:
        levels = alloc[str(op)]
        n_levels = len(acc.mem_hierarchy_dict[links.layer_to_mem_op(op)])
        if len(levels) != n_levels:
            raise SystemExit(f"operand {op}: {len(levels)} levels given, hierarchy has {n_levels}")
        tm_dict[op] = [[(LayerDim(d.upper()), int(f)) for d, f in lvl] for lvl in levels]
    needed = {str(k): int(v) for k, v in zc.make_engine(ctx, 6).get_temporal_loops().items()}
    for op, levels in tm_dict.items():
        prod: dict[str, int] = {}
        for lvl in levels:
            for d, f in lvl:
                prod[str(d)] = prod.get(str(d), 1) * f
        prod = {d: f for d, f in prod.items() if f != 1}
        if prod != needed:
            raise SystemExit(f"operand {op}: loop products {prod} != temporal loop sizes {needed}")
    tm = TemporalMapping(tm_dict, lyr, ctx["temporal_mapping_type"])
    cme = zc.evaluate(ctx, tm)
    out = describe(cme, acc)
    out.update({"mode": "allocation", "temporal_loop_sizes": needed})
    tmp.cleanup()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ZigZag: evaluate one layer under a fixed temporal mapping")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--ordering", help='innermost-first "DIM:factor,..." (ZigZag temporal_ordering)')
    g.add_argument("--allocation", help="JSON (string or file): {operand: [[[dim, f], ...] per memory level]}")
    g.add_argument("--show-levels", action="store_true", help="print memory levels per operand and temporal loops")
    ap.add_argument("--accelerator", default="eyeriss_like")
    ap.add_argument("--mapping", default=None, help="base mapping yaml (spatial mapping, operand links)")
    ap.add_argument("--spatial", default=None, help='override spatial mapping, e.g. "D1:K,14;D2:C,12" (+ to mix)')
    ap.add_argument("--layer", default=None, help="conv params K=..,C=..,OX=..,OY=..,FX=..,FY=..,stride=..,pad=..")
    ap.add_argument("--layer-json", default=None, help="ZigZag user-format layer dict (JSON string or file)")
    ap.add_argument("--allow-partial", action="store_true")
    ap.add_argument("--lpf-limit", type=int, default=6)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR, stream=sys.stderr)

    layer = parse_layer(args.layer, args.layer_json)
    acc_yaml, map_yaml = resolve_yamls(args.accelerator, args.mapping)
    spatial = parse_spatial(args.spatial) if args.spatial else None

    with contextlib.redirect_stdout(sys.stderr):
        if args.show_levels:
            tmp = tempfile.TemporaryDirectory(prefix="zz_fixed_")
            mp = os.path.join(tmp.name, "mapping.yaml")
            with open(mp, "w") as fh:
                yaml.safe_dump(mapping_with_fixed_entry(map_yaml, layer, None, spatial), fh)
            ctx = zc.setup(acc_yaml, mp, layer)
            links = ctx["layer"].memory_operand_links
            out = {
                "memory_levels": {
                    str(op): [lvl.name for lvl in ctx["accelerator"].mem_hierarchy_dict[links.layer_to_mem_op(op)]]
                    for op in ctx["layer"].layer_operands
                },
                "spatial_mapping": str(ctx["layer"].spatial_mapping),
                "temporal_loop_sizes": {str(k): int(v) for k, v in zc.make_engine(ctx, 6).get_temporal_loops().items()},
            }
            tmp.cleanup()
        elif args.ordering:
            out = run_ordering(args, layer, acc_yaml, map_yaml, spatial)
        else:
            out = run_allocation(args, layer, acc_yaml, map_yaml, spatial)

    out = {"tool": "zigzag", "version": metadata.version("zigzag-dse"), "layer": layer["name"],
           "hardware": os.path.basename(acc_yaml), **out}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
