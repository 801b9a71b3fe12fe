"""Run ZigZag's standard flow on a list of user-format layers and report per-layer and total cost and wall time.

Must be run with the ZigZag venv (not the coexplore venv)::

    /work/peers_env/bin/python benchmarks/peers/zigzag_layers.py --layers layers.json \
        --accelerator eyeriss_like --json

``layers.json`` is a list of ZigZag user-format layer dicts (``benchmarks/zigzag_crosscheck.py::zigzag_layer``
builds one from a coexplore layer: the grouped-conv equation ``O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c]
[iy][ix]``, so a batched matmul is a layer with G = batch x heads). Each layer reads its operands from memory
(``operand_source`` points at itself), as coexplore prices one layer at a time. The flow is
``zigzag.api.get_hardware_performance_zigzag`` with ZigZag's defaults (LOMA, ``lpf_limit=6``, ``opt=latency``),
the bundled mapping yaml of the accelerator if one exists else ``default.yaml``. ``seconds`` is the wall time
of that call only.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zigzag_network import resolve_accelerator, resolve_mapping


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ZigZag flow on a list of user-format layers (peer benchmark)")
    ap.add_argument("--layers", required=True, help="JSON file: a list of ZigZag user-format layer dicts")
    ap.add_argument("--accelerator", default="eyeriss_like", help="bundled hardware name or path to a yaml")
    ap.add_argument("--mapping", default=None, help="mapping yaml (default: bundled <acc>.yaml else default.yaml)")
    ap.add_argument("--opt", default="latency", choices=["latency", "energy", "EDP"])
    ap.add_argument("--lpf-limit", type=int, default=6)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from zigzag.api import get_hardware_performance_zigzag

    with open(args.layers) as fh:
        layers = json.load(fh)
    for i, layer in enumerate(layers):
        layer["id"] = i
        layer["operand_source"] = {"W": i, "I": i}
    accelerator = resolve_accelerator(args.accelerator)
    mapping = resolve_mapping(accelerator, args.mapping)
    with tempfile.TemporaryDirectory(prefix="zigzag_layers_") as dump, contextlib.redirect_stdout(sys.stderr):
        t0 = time.perf_counter()
        energy, latency, cmes = get_hardware_performance_zigzag(
            workload=layers, accelerator=accelerator, mapping=mapping, opt=args.opt, lpf_limit=args.lpf_limit,
            dump_folder=dump, loma_show_progress_bar=False)
        seconds = time.perf_counter() - t0
    per_layer = [{"name": cme.layer.name, "energy_pj": float(cme.energy_total),
                  "latency_cycles": float(cme.latency_total2)} for cme, _extra in cmes[0][1]]
    result = {"tool": "zigzag", "version": metadata.version("zigzag-dse"), "accelerator": os.path.basename(accelerator),
              "mapping": os.path.basename(mapping), "seconds": seconds, "energy_pj": float(energy),
              "latency_cycles": float(latency), "edp": float(energy) * float(latency), "layers": per_layer}
    print(json.dumps(result) if args.json else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
