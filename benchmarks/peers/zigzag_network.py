"""Run ZigZag's standard end-to-end flow on an ONNX network and report wall time, energy, latency and EDP.

Must be run with the ZigZag venv (not the coexplore venv)::

    /work/zz-venv/bin/python benchmarks/peers/zigzag_network.py --onnx /tmp/resnet18.onnx \
        --accelerator eyeriss_like --json

This calls ``zigzag.api.get_hardware_performance_zigzag`` exactly as ZigZag's own examples do: bundled hardware
yaml, the bundled mapping yaml of the same name if one exists (``tpu_like``, ``edge_tpu_like``, ...) otherwise
``inputs/mapping/default.yaml`` (the case for ``eyeriss_like``), LOMA temporal-mapping search with ZigZag's
defaults (``lpf_limit=6``, ``opt="latency"``, ``temporal_mapping_type="uneven"``, up to 3 generated spatial
mappings per layer).  ``seconds`` is the wall time of that API call only (ONNX load/shape inference and Python
imports excluded; reported separately as ``setup_seconds``); ``cpu_seconds`` is the process CPU time of the same
call (robust to other load on the machine; the LOMA flow is single-threaded), ``loadavg_before`` the 1/5/15-min
load average.  ZigZag's dumps (json/pickle/loop ordering/memory-hierarchy png) go to a temporary folder unless
``--dump-folder`` is given.

ZigZag only costs Conv / QLinearConv / Gemm / MatMul nodes; every other ONNX node (Relu, Add, MaxPool,
GlobalAveragePool, Flatten, ...) becomes a DummyNode that is skipped (zero cost).  ``layers`` lists every node
ZigZag produced a cost model evaluation for (21 for ResNet-18: 20 Conv + fc Gemm).  Energies are in pJ
(the hardware yaml's r_cost/w_cost/unit_energy units), latencies in clock cycles (``latency_total2``: compute +
on-loading + off-loading), ``edp = energy_pj * latency_cycles``.  ``mappings_evaluated`` counts the
CostModelEvaluation calls of the whole run (LOMA temporal mappings over all layers and spatial mappings).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from importlib import metadata
from typing import Any


def zigzag_inputs_dir() -> str:
    import zigzag

    return os.path.join(os.path.dirname(zigzag.__file__), "inputs")


def resolve_accelerator(acc: str) -> str:
    if acc.endswith(".yaml"):
        return os.path.abspath(acc)
    path = os.path.join(zigzag_inputs_dir(), "hardware", f"{acc}.yaml")
    if not os.path.isfile(path):
        raise SystemExit(f"unknown bundled accelerator {acc!r} (no {path})")
    return path


def resolve_mapping(acc: str, mapping: str | None) -> str:
    if mapping is not None:
        if mapping.endswith(".yaml"):
            return os.path.abspath(mapping)
        return os.path.join(zigzag_inputs_dir(), "mapping", f"{mapping}.yaml")
    name = os.path.splitext(os.path.basename(acc))[0]
    cand = os.path.join(zigzag_inputs_dir(), "mapping", f"{name}.yaml")
    if os.path.isfile(cand):
        return cand
    return os.path.join(zigzag_inputs_dir(), "mapping", "default.yaml")


def load_onnx(path: str):
    """Load without external data (ZigZag only needs shapes) and infer shapes if value_info is missing."""
    import onnx
    from onnx import shape_inference

    model = onnx.load(path, load_external_data=False)
    conv_outputs = {o for n in model.graph.node if n.op_type in ("Conv", "Gemm", "MatMul") for o in n.output}
    known = {vi.name for vi in model.graph.value_info} | {o.name for o in model.graph.output}
    if not conv_outputs <= known:
        model = shape_inference.infer_shapes(model)
        logging.getLogger(__name__).info("ran onnx.shape_inference on %s", path)
    return model


def _loadavg() -> list[float] | None:
    try:
        return [float(x) for x in os.getloadavg()]
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ZigZag end-to-end network evaluation (peer benchmark)")
    ap.add_argument("--onnx", required=True, help="ONNX network (shapes inferred automatically if missing)")
    ap.add_argument("--accelerator", default="eyeriss_like", help="bundled hardware name or path to a yaml")
    ap.add_argument("--mapping", default=None, help="mapping yaml (default: bundled <acc>.yaml else default.yaml)")
    ap.add_argument("--opt", default="latency", choices=["latency", "energy", "EDP"], help="ZigZag default: latency")
    ap.add_argument("--lpf-limit", type=int, default=6, help="LOMA lpf_limit (ZigZag default 6)")
    ap.add_argument("--dump-folder", default=None, help="ZigZag output folder (default: a temp dir, removed)")
    ap.add_argument("--quiet", action="store_true", help="only WARNING logs from ZigZag")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = ap.parse_args(argv)

    if args.quiet:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    t_setup = time.perf_counter()
    # Count cost-model evaluations (one per LOMA temporal mapping) by wrapping CostModelStage.run (negligible cost).
    import zigzag.stages.evaluation.cost_model_evaluation as _cms
    from zigzag.api import get_hardware_performance_zigzag

    n_evals = [0]
    _orig_run = _cms.CostModelStage.run

    def _counting_run(self):  # type: ignore[no-untyped-def]
        n_evals[0] += 1
        return _orig_run(self)

    _cms.CostModelStage.run = _counting_run  # type: ignore[method-assign]

    accelerator = resolve_accelerator(args.accelerator)
    mapping = resolve_mapping(accelerator, args.mapping)
    model = load_onnx(args.onnx)
    setup_seconds = time.perf_counter() - t_setup

    tmp = None
    dump_folder = args.dump_folder
    if dump_folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="zigzag_net_")
        dump_folder = tmp.name

    # ZigZag prints a little to stdout in places; keep stdout for our JSON only.
    with contextlib.redirect_stdout(sys.stderr):
        load_before = _loadavg()
        c0 = time.process_time()
        t0 = time.perf_counter()
        energy, latency, cmes = get_hardware_performance_zigzag(
            workload=model,
            accelerator=accelerator,
            mapping=mapping,
            opt=args.opt,
            lpf_limit=args.lpf_limit,
            dump_folder=dump_folder,
            loma_show_progress_bar=False,
        )
        seconds = time.perf_counter() - t0
        cpu_seconds = time.process_time() - c0

    layers: list[dict[str, Any]] = []
    for cme, _extra in cmes[0][1]:
        layers.append(
            {
                "name": cme.layer.name,
                "type": cme.layer.type,
                "energy_pj": float(cme.energy_total),
                "latency_cycles": float(cme.latency_total2),
                "spatial_mapping": str(cme.layer.spatial_mapping),
            }
        )
    if tmp is not None:
        tmp.cleanup()

    result = {
        "tool": "zigzag",
        "version": metadata.version("zigzag-dse"),
        "onnx": os.path.abspath(args.onnx),
        "accelerator": os.path.basename(accelerator),
        "mapping": os.path.basename(mapping),
        "opt": args.opt,
        "lpf_limit": args.lpf_limit,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "setup_seconds": setup_seconds,
        "loadavg_before": load_before,
        "nproc": os.cpu_count(),
        "mappings_evaluated": n_evals[0],
        "mappings_per_s": n_evals[0] / seconds,
        "energy_pj": float(energy),
        "latency_cycles": float(latency),
        "edp": float(energy) * float(latency),
        "n_layers": len(layers),
        "layers": layers,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"zigzag {result['version']} on {result['accelerator']}: {seconds:.1f} s, "
              f"E={energy:.4e} pJ, L={latency:.4e} cycles, EDP={result['edp']:.4e} ({len(layers)} layers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
