"""``coexplore noc``: a network layer-pipelined over a system of engines and links (NANDS's NoC model)."""

from __future__ import annotations

import argparse
from typing import Any

from coexplore.cli import format as fmt
from coexplore.cli.args import count, non_empty

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("noc", help="place a network on a system of engines and links (mesh/ring/point-to-point): "
                                   "link loads, throughput, latency, the bottleneck, NANDS's alleviation")
    p.add_argument("--system", required=True, type=non_empty, help="a system YAML (examples/system_mesh_2x2.yaml)")
    p.add_argument("--network", required=True, type=non_empty,
                   help="a network preset, YAML or ONNX file, nb201-cifar10:INDEX")
    p.add_argument("--partition", choices=("even", "balanced"), default="balanced",
                   help="blocks to tasks: even counts or balanced compute (default balanced)")
    p.add_argument("--placement", choices=("row-major", "snake"), default="snake",
                   help="tasks to engines (default snake: consecutive tasks are mesh neighbours)")
    p.add_argument("--no-alleviate", action="store_true", help="skip bottleneck detection and alleviation")
    p.add_argument("--samples", type=count, default=256, help="random legal mappings per layer shape (256)")
    p.add_argument("--svg", default=None, help="also draw the system (engines, links by load, bottleneck) to FILE")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.set_defaults(func=cmd_noc)


def cmd_noc(args: argparse.Namespace) -> Any:
    from coexplore.resolve import resolve_network
    from coexplore.system.evaluate import evaluate_system
    from coexplore.system.spec import load_system

    system = load_system(args.system)  # refuses a bad system before the network is read
    network = resolve_network(args.network)
    ev = evaluate_system(system, network, partition=args.partition, placement=args.placement,
                         alleviation=not args.no_alleviate, samples=args.samples)
    out = ev.as_dict()
    if args.svg:
        from coexplore.report.noc_svg import write_noc_svg

        out["svg"] = str(write_noc_svg(ev, args.svg))
    if not args.json:
        r = ev.result
        starts = ev.design.starts(len(ev.profile.blocks))
        fmt.table(["task", "engine", "blocks", "stage ns"],
                  [[t, e, " ".join(b.name for b in ev.profile.blocks[starts[t]:starts[t + 1]]),
                    f"{r.engine_ns[e]:.4g}"] for t, e in enumerate(ev.design.placement)])
        busy = {k: v for k, v in r.link_load_bytes.items() if v > 0}
        fmt.table(["link", "bytes/inference", "ns"], [[k, f"{v:.6g}", f"{r.link_ns[k]:.4g}"] for k, v in busy.items()])
        print(f"\n{network.name} on {system.name}: throughput {r.throughput_per_s:.6g}/s "
              f"(period {r.period_ns:.6g} ns), "
              f"latency {r.latency_ns:.6g} ns, bottleneck {r.bottleneck_kind} {r.bottleneck}"
              + (f"; alleviation: {len(ev.steps)} moves from {ev.initial.throughput_per_s:.6g}/s" if ev.steps else ""))
    return out
