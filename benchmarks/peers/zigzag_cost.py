"""Throughput of ZigZag's cost model (CostModelEvaluation) on one layer, with legal mappings from LOMA.

Must be run with the ZigZag venv (not the coexplore venv)::

    /work/zz-venv/bin/python benchmarks/peers/zigzag_cost.py --mappings 2000 --json

Layer: ResNet-18 ``layer2.0.conv2`` -- 3x3 conv, K=C=128, OX=OY=28, FX=FY=3, stride 1, padding 1, batch 1,
8-bit W/I, 16-bit partial sums (exactly what ZigZag's ONNX parser produces for that node).
Hardware: ZigZag's bundled ``inputs/hardware/eyeriss_like.yaml`` (14x12 PE array) with its default mapping
``inputs/mapping/default.yaml`` (spatial D1: K 32 -> clipped to 14, D2: C 32 -> clipped to 12).

What one "mapping" is in ZigZag: a *temporal* mapping only. The spatial mapping is fixed by the mapping yaml
(here fully specified, so SpatialMappingGeneratorStage yields exactly one).  LOMA enumerates permutations of the
layer's temporal loop prime factors (LPFs, merged down to ``lpf_limit`` factors), and for each ordering its
MemoryAllocator assigns loops bottom-up to the memory levels of every operand -> ``TemporalMapping``.  One cost
model call = ``CostModelEvaluation(accelerator, layer, spatial_mapping, spatial_mapping_int, temporal_mapping)``,
which is exactly what ``CostModelStage`` constructs for every LOMA mapping in the standard flow.

Measurement (setup never timed):
  1. setup: parse hardware/workload/mapping, run ZigZag's own spatial-mapping generation + conversion stages
     (a stand-in leaf stage captures what TemporalMappingGeneratorStage would receive);
  2. a few untimed warm-up evaluations;
  3. ``--repeat`` passes of the LOMA loop (``LomaEngine.run()``: ordering generation + MemoryAllocator) over the
     first N distinct temporal mappings (de-duplicated on the allocated per-level loop nest; bookkeeping
     excluded from all timings), evaluating each with ``CostModelEvaluation`` as ``CostModelStage`` does:
     ``mappings_per_s``      = N / (sum of the N cost-model call times)   -- the cost model alone;
     ``loma_mappings_per_s`` = N / (wall time of the whole loop)          -- generation + allocation + model.
     The median pass is reported; every pass is in ``samples``.
     (Timing each call inside the loop rather than evaluating a pre-generated list avoids an artefact: holding
     thousands of TemporalMapping objects alive makes Python's cyclic GC slower and the model ~15-20 % slower.)
Also reported: the stand-alone default LOMA search for this layer (``lpf_limit=6``: all orderings, evaluated,
min latency kept) as ``loma_default_search`` -- its best result equals the per-layer result of the
end-to-end flow (zigzag_network.py) for /layer2/layer2.0/conv2/Conv.

``lpf_limit`` defaults to the smallest value >= 6 whose permutation count reaches N (6 LPFs give <= 720
orderings for this layer), so that N distinct mappings exist.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import sys
import time
from importlib import metadata
from typing import Any

log = logging.getLogger("zigzag_cost")

LAYER_NAME = "layer2.0.conv2"


def conv_layer_dict(
    layer_id: int = 0,
    name: str = LAYER_NAME,
    k: int = 128,
    c: int = 128,
    ox: int = 28,
    oy: int = 28,
    fx: int = 3,
    fy: int = 3,
    stride: int = 1,
    pad: int = 1,
    batch: int = 1,
) -> dict[str, Any]:
    """ZigZag user-format (workload yaml) dict, identical to what its ONNX ConvParser produces for a Conv node."""
    ix = (ox - 1) * stride + fx - 2 * pad
    iy = (oy - 1) * stride + fy - 2 * pad
    return {
        "id": layer_id,
        "name": name,
        "operator_type": "Conv",
        "equation": "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]",
        # both operands "constant" (sourced from the layer itself): a stand-alone layer, as the ONNX parser does for
        # a Conv without Conv/Gemm predecessor.
        "operand_source": {"W": layer_id, "I": layer_id},
        "loop_dims": ["B", "K", "G", "OX", "OY", "C", "FX", "FY"],
        "loop_sizes": [batch, k, 1, ox, oy, c, fx, fy],
        "dimension_relations": [f"ix={stride}*ox+1*fx", f"iy={stride}*oy+1*fy"],
        "operand_precision": {"W": 8, "I": 8, "O_final": 8, "O": 16},
        "pr_loop_dims": ["IX", "IY"],
        "pr_loop_sizes": [ix, iy],
        "padding": [[pad, pad], [pad, pad]],
    }


def zigzag_inputs_dir() -> str:
    import zigzag

    return os.path.join(os.path.dirname(zigzag.__file__), "inputs")


def setup(accelerator_yaml: str, mapping_yaml: str, layer: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Run ZigZag's parser + spatial-mapping stages and capture the kwargs the temporal-mapping stage receives."""
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
    from zigzag.stages.parser.workload_parser import WorkloadParserStage
    from zigzag.stages.stage import Stage
    from zigzag.stages.workload_iterator import WorkloadStage

    captured: list[dict[str, Any]] = []

    class CaptureStage(Stage):
        """Leaf stage standing in for TemporalMappingGeneratorStage: records its inputs, yields nothing."""

        def __init__(self, list_of_callables: list[Any], **kwargs: Any):
            super().__init__(list_of_callables, **kwargs)
            captured.append(dict(kwargs))

        def run(self):
            return iter(())

        def is_leaf(self) -> bool:
            return True

    kwargs: dict[str, Any] = dict(
        accelerator=accelerator_yaml,
        workload=[layer],
        mapping=mapping_yaml,
        dump_folder="/tmp/zigzag_cost_unused",
        loma_lpf_limit=6,
        loma_show_progress_bar=False,
        nb_mappings_generated=3,
        enable_mix_spatial_mapping_generation=False,
        access_same_data_considered_as_no_access=True,
        temporal_mapping_type=TemporalMappingType.UNEVEN,
    )
    kwargs.update(extra)
    MainStage(
        [WorkloadParserStage, AcceleratorParserStage, WorkloadStage, SpatialMappingGeneratorStage, CaptureStage],
        **kwargs,
    ).run()
    if not captured:
        raise RuntimeError("spatial mapping stages produced nothing")
    if len(captured) > 1:
        log.warning("%d spatial mappings generated; using the first", len(captured))
    return captured[0]


def make_engine(ctx: dict[str, Any], lpf_limit: int):
    from zigzag.opt.loma.engine import LomaEngine

    return LomaEngine(
        accelerator=ctx["accelerator"],
        layer=ctx["layer"],
        spatial_mapping=ctx["spatial_mapping"],
        mapping_type=ctx["temporal_mapping_type"],
        loma_lpf_limit=lpf_limit,
    )


def n_permutations(ctx: dict[str, Any], lpf_limit: int) -> int:
    eng = make_engine(ctx, lpf_limit)
    eng.temporal_loop_dim_size = eng.get_temporal_loops()
    eng.update_min_lpf_factor(eng.temporal_loop_dim_size)
    eng.get_prime_factors()
    return eng.nb_permutations


def evaluate(ctx: dict[str, Any], tm):
    from zigzag.cost_model.cost_model import CostModelEvaluation

    return CostModelEvaluation(
        accelerator=ctx["accelerator"],
        layer=ctx["layer"],
        spatial_mapping=ctx["spatial_mapping"],
        spatial_mapping_int=ctx["spatial_mapping_int"],
        temporal_mapping=tm,
        access_same_data_considered_as_no_access=ctx["access_same_data_considered_as_no_access"],
    )


def tm_key(tm) -> str:
    return repr(sorted(
        (str(op), [[(str(d), s) for d, s in lvl] for lvl in lvls]) for op, lvls in tm.mapping_dic_origin.items()
    ))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ZigZag cost-model throughput on ResNet-18 layer2.0.conv2 / eyeriss_like")
    ap.add_argument("--mappings", type=int, default=2000, help="number N of distinct temporal mappings to evaluate")
    ap.add_argument("--accelerator", default="eyeriss_like", help="bundled hardware name or yaml path")
    ap.add_argument("--mapping", default=None, help="mapping yaml (default: bundled <acc>.yaml else default.yaml)")
    ap.add_argument("--lpf-limit", type=int, default=None, help="LOMA lpf_limit (default: smallest >=6 giving >=N)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed cost-model calls before timing (first pass)")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes; the median pass is reported")
    ap.add_argument("--no-default-search", action="store_true", help="skip the default (lpf 6) LOMA search figure")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)

    inputs = zigzag_inputs_dir()
    acc = args.accelerator
    acc_yaml = acc if acc.endswith(".yaml") else os.path.join(inputs, "hardware", f"{acc}.yaml")
    if args.mapping:
        map_yaml = args.mapping
    else:
        cand = os.path.join(inputs, "mapping", os.path.basename(acc_yaml))
        map_yaml = cand if os.path.isfile(cand) else os.path.join(inputs, "mapping", "default.yaml")

    layer = conv_layer_dict()
    with contextlib.redirect_stdout(sys.stderr):
        t = time.perf_counter()
        ctx = setup(acc_yaml, map_yaml, layer)
        log.info("setup %.2fs; spatial mapping %s", time.perf_counter() - t, ctx["layer"].spatial_mapping)

        # ---- choose lpf_limit so that >= N orderings exist
        lpf = args.lpf_limit
        if lpf is None:
            lpf = 6
            while n_permutations(ctx, lpf) < args.mappings and lpf < 12:
                lpf += 1
        nperm = n_permutations(ctx, lpf)
        log.info("lpf_limit=%d -> %d orderings", lpf, nperm)

        # ---- timed passes: LOMA loop over the first N distinct mappings, cost-model calls timed individually
        for i, tm in enumerate(make_engine(ctx, lpf).run()):  # untimed warm-up
            if i >= args.warmup:
                break
            evaluate(ctx, tm)
        samples = []
        best = None
        for rep in range(args.repeat):
            gc.collect()
            engine = make_engine(ctx, lpf)
            seen: set[str] = set()
            n = 0
            allocated = 0
            cm_s = 0.0
            excluded = 0.0
            c_loop = time.process_time()
            t_loop = time.perf_counter()
            for tm in engine.run():  # ordering generation + MemoryAllocator -> TemporalMapping
                allocated += 1
                t_k = time.perf_counter()
                k = tm_key(tm)  # de-duplication bookkeeping: excluded from both figures
                dup = k in seen
                seen.add(k)
                excluded += time.perf_counter() - t_k
                if dup:
                    continue
                t_c = time.perf_counter()
                cme = evaluate(ctx, tm)  # == CostModelStage: CostModelEvaluation(...) runs the whole model
                cm_s += time.perf_counter() - t_c
                n += 1
                key = (cme.latency_total2, cme.energy_total)
                if best is None or key < best:
                    best = key
                del cme
                if n >= args.mappings:
                    break
            loop_s = time.perf_counter() - t_loop - excluded
            loop_cpu = time.process_time() - c_loop
            samples.append({"mappings": n, "orderings_allocated": allocated, "cost_model_seconds": cm_s,
                            "loma_seconds": loop_s, "loma_cpu_seconds_incl_bookkeeping": loop_cpu,
                            "mappings_per_s": n / cm_s, "loma_mappings_per_s": n / loop_s})
            log.info("pass %d: %s", rep, samples[-1])
        if samples[0]["mappings"] < args.mappings:
            log.warning("only %d distinct mappings available (asked %d)", samples[0]["mappings"], args.mappings)
        med = sorted(samples, key=lambda d: d["mappings_per_s"])[len(samples) // 2]
        med_loma = sorted(samples, key=lambda d: d["loma_mappings_per_s"])[len(samples) // 2]
        n, cm_s, generated = med["mappings"], med["cost_model_seconds"], med["orderings_allocated"]
        count, loma_s = med_loma["mappings"], med_loma["loma_seconds"]

        # ---- default LOMA search for this layer (lpf_limit 6, everything evaluated, min latency kept)
        default_search = None
        if not args.no_default_search:
            gc.collect()
            engine = make_engine(ctx, 6)
            cnt = 0
            best_d = None
            t = time.perf_counter()
            for tm in engine.run():
                cme = evaluate(ctx, tm)
                cnt += 1
                key = (cme.latency_total2, cme.energy_total)
                if best_d is None or key < best_d:
                    best_d = key
            ds = time.perf_counter() - t
            default_search = {
                "lpf_limit": 6,
                "orderings": n_permutations(ctx, 6),
                "mappings_evaluated": cnt,
                "seconds": ds,
                "mappings_per_s": cnt / ds,
                "best_latency_cycles": best_d[0],
                "best_energy_pj": best_d[1],
            }
            log.info("default LOMA search: %s", default_search)

    result = {
        "tool": "zigzag",
        "version": metadata.version("zigzag-dse"),
        "mappings_per_s": n / cm_s,
        "mappings": n,
        "seconds": cm_s,
        "loma_mappings_per_s": count / loma_s,
        "loma_mappings": count,
        "loma_seconds": loma_s,
        "layer": {"name": LAYER_NAME, "type": "Conv", "K": 128, "C": 128, "OX": 28, "OY": 28, "FX": 3, "FY": 3,
                  "stride": 1, "padding": 1, "B": 1, "precision": {"W": 8, "I": 8, "O": 16, "O_final": 8}},
        "hardware": os.path.basename(acc_yaml),
        "mapping_yaml": os.path.basename(map_yaml),
        "spatial_mapping": str(ctx["layer"].spatial_mapping),
        "temporal_loops": {str(k): int(v) for k, v in make_engine(ctx, lpf).get_temporal_loops().items()},
        "lpf_limit": lpf,
        "orderings_total": nperm,
        "orderings_allocated_for_N": generated,
        "repeat": args.repeat,
        "samples": samples,
        "best_of_N": {"latency_cycles": best[0], "energy_pj": best[1]} if best else None,
        "loma_default_search": default_search,
        "mapping_unit": "temporal mapping (LOMA loop ordering allocated to memory levels); spatial mapping fixed",
        "python": sys.version.split()[0],
        "loadavg_at_end": list(os.getloadavg()),
        "nproc": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"zigzag {result['version']}: cost model {result['mappings_per_s']:.1f} mappings/s "
              f"({n} in {cm_s:.2f}s); LOMA loop {result['loma_mappings_per_s']:.1f} mappings/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
