"""MAESTRO dataflow templates (dla, shi, xp_ws, rs) on coexplore networks, side by side with the MAESTRO binary,
and the speed of pricing a heterogeneous system.

    python benchmarks/bench_maestro_system.py [--maestro-bin PATH] [--networks alexnet,...] [--repeats 3]
        [--templates dla,shi,xp_ws,rs] [--json]

Agreement: every network is written in each template (``coexplore.maestro.templates.network_dfsl``) for
the sub-accelerators of NASAIC's Table I (dla with 2112, 1088, 576 PEs and NoC 48, 24, 56; shi with
1984, 2368, 1792 PEs and NoC 16, 40, 8), xp_ws with 576 PEs and NoC 56, rs with 168 (Eyeriss' PE
count), 576 and 1792 PEs and NoC 16, 56, 8, and an odd one per template (100 PEs, NoC 3: clusters of
50 and 10, one level of 100 for xp_ws, clusters of R with PEs left idle for rs); ``--templates`` keeps
the sub-accelerators of the templates named; the binary prices the written
file and coexplore prices the same text. Per case: runtime and the 12 ``input|filter|
output l1|l2 read|write`` columns exact on every layer, energy within 0.5 %, every column equal at the 6
digits the binary prints (the checks of ``bench_maestro.py``). Also counted: layers where MAESTRO's MAC
count differs from the layer's own (strided layers in the output-stationary shi style).

Speed, in CPU seconds, best of ``--repeats``, one core each: per network and template, the binary's run
(process start, parse, analysis, CSV) against coexplore's template + parse + price of the same network,
and the whole system call (``price_system``) for the NASAIC design on two networks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_maestro import BinaryFailed, compare, run_binary

from coexplore.maestro import parse_hardware, price_network
from coexplore.maestro.system import parse_design, price_system
from coexplore.maestro.templates import network_dfsl, to_dfsl_network
from coexplore.resolve import resolve_network

SUBS = [("dla", 2112, 48), ("dla", 1088, 24), ("dla", 576, 56), ("shi", 1984, 16), ("shi", 2368, 40),
        ("shi", 1792, 8), ("dla", 100, 3), ("shi", 100, 3), ("xp_ws", 576, 56), ("xp_ws", 100, 3),
        ("rs", 168, 16), ("rs", 576, 56), ("rs", 1792, 8), ("rs", 100, 3)]


def _hw(pes: int, bw: int) -> str:
    return f"num_pes: {pes}\nl1_size_cstr: 100\nl2_size_cstr: 3000\nnoc_bw_cstr: {bw}\noffchip_bw_cstr: 50\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maestro-bin", default=os.environ.get("MAESTRO_BIN", "/work/peers_build/maestro/maestro"))
    ap.add_argument("--networks", default="alexnet,resnet18,resnet50,mobilenetv2,squeezenet,unet,nb201-cifar10:100")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--templates", default="dla,shi,xp_ws,rs")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    keep = set(args.templates.split(","))
    binary = Path(args.maestro_bin)
    have_bin = binary.is_file() and os.access(binary, os.X_OK)
    if not have_bin:
        print(f"MAESTRO binary not found at {binary}: timing coexplore only", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp())
    rows = []
    for name in args.networks.split(","):
        net = resolve_network(name)
        for tpl, pes, bw in (s for s in SUBS if s[0] in keep):
            text, _ = network_dfsl(net, tpl, pes)
            (tmp / "h.m").write_text(_hw(pes, bw))
            (tmp / "m.m").write_text(text)
            hw = parse_hardware(_hw(pes, bw))
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.process_time()
                ours = price_network(hw, to_dfsl_network(net, tpl, pes)[0])
                best = min(best, time.process_time() - t0)
            row: dict[str, object] = {"network": name, "sub": f"<{tpl},{pes},{bw}>", "layers": len(ours),
                                      "coexplore_s": best,
                                      "maestro_macs_differ": sum(int(r.values["Num MACs"]) != layer.macs  # type: ignore[call-overload]
                                                                 for r, layer in zip(ours, net.layers, strict=True)
                                                                 if layer.groups == 1)}
            if have_bin:
                try:
                    theirs, t_bin = run_binary(binary, tmp / "h.m", tmp / "m.m", args.repeats)
                    row.update(compare(theirs, [r.values for r in ours]))
                    row["binary_s"] = t_bin
                    row["speedup"] = t_bin / best
                except BinaryFailed as e:
                    row["binary_error"] = str(e)
            rows.append(row)
            if not args.json:
                agree = (f"runtime {row['runtime_exact']}/{row['layers']}, counts {row['counts_exact']}, energy "
                         f"{row['energy_within_0.5pct']}, all columns {row['all_columns_equal']}; "
                         f"binary {row['binary_s'] * 1e3:.0f} ms, {row['speedup']:.1f}x"
                         if "runtime_exact" in row else row.get("binary_error", "no binary"))
                print(f"{name:18.18s} {row['sub']:16s} coexplore {best * 1e3:6.1f} ms; {agree}; "
                      f"MAESTRO MACs differ on {row['maestro_macs_differ']} layers")
    nets = [resolve_network(n) for n in ("nb201-cifar10:100", "squeezenet")]
    design = parse_design("dla:576:56,shi:1792:8")
    t_sys = float("inf")
    for _ in range(args.repeats):
        t0 = time.process_time()
        price_system(nets, design, constant_set="nasaic")
        t_sys = min(t_sys, time.process_time() - t0)
    full = [r for r in rows if "runtime_exact" in r]
    summary = {
        "cases": len(rows), "cases_with_binary": len(full),
        "cases_all_columns_equal": sum(r["all_columns_equal"] == r["layers"] for r in full),
        "layers": sum(int(r["layers"]) for r in full),  # type: ignore[call-overload]
        "layers_all_columns_equal": sum(int(r["all_columns_equal"]) for r in full),  # type: ignore[call-overload]
        "system_nb201_squeezenet_s": t_sys,
    }
    if args.json:
        json.dump({"cases": rows, "summary": summary}, sys.stdout, indent=2)
        print()
        return
    print(f"\n{summary['cases_all_columns_equal']}/{summary['cases_with_binary']} cases agree on every column of "
          f"every layer ({summary['layers_all_columns_equal']}/{summary['layers']} layers); price_system of "
          f"nb201-cifar10:100 + squeezenet on dla:576:56,shi:1792:8: {t_sys * 1e3:.1f} ms CPU")


if __name__ == "__main__":
    main()
