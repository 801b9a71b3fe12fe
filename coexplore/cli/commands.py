"""Subcommands of ``coexplore``; each calls one public function and formats its result."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from coexplore.cli import format as fmt
from coexplore.cli.args import count, non_empty, non_negative_number, output_file, positive_number, seed
from coexplore.registry import Registry

__all__ = ["register"]


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from coexplore.api.evaluate import MODELS
    from coexplore.api.search import HWSEARCH_MODELS
    from coexplore.maestro.energy import CONSTANT_SETS
    from coexplore.maestro.templates import TEMPLATES

    p = sub.add_parser("list", help="list presets (networks, accelerators, boards, layers NET, technologies), "
                                    "recipes, mappers or strategies")
    p.add_argument("what", choices=["networks", "accelerators", "boards", "layers", "technologies", "recipes",
                                    "mappers", "strategies"])
    p.add_argument("name", nargs="?", help="network for `list layers`")
    p.add_argument("--kind", help="with `list strategies`: one problem kind (nas, hwsearch, mapping, codesign)")
    _add_json(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("evaluate", help="cost of a network on an accelerator (given or default mappings; "
                                        "Timeloop's or MAESTRO's semantics)")
    p.add_argument("--network", required=True, help="preset name or network YAML")
    p.add_argument("--accelerator", required=True,
                   help="preset name or accelerator YAML; with --model maestro also TEMPLATE:PES:BW (rs:168:16)")
    p.add_argument("--model", default="timeloop", choices=list(MODELS),
                   help="cost semantics: timeloop (default; mappings searched per layer) or maestro (a MAESTRO "
                        "dataflow template per layer)")
    p.add_argument("--mapping", help="YAML with per-layer mappings {layers: {NAME: mapping}} (timeloop)")
    p.add_argument("--objective", default=None, choices=["edp", "energy", "latency", "edap"],
                   help="what the default mapping minimises (timeloop; default edp)")
    p.add_argument("--samples", type=count, default=None,
                   help="random legal mappings tried per layer for the default mapping (timeloop; default 4096)")
    p.add_argument("--seed", type=seed, default=None, help="seed of the sampled mappings (timeloop; default 0)")
    p.add_argument("--throttle", action="store_true", help="bandwidth-limited latency (timeloop)")
    p.add_argument("--template", default=None, choices=list(TEMPLATES),
                   help="maestro: the dataflow template when --accelerator is a coexplore accelerator (translated: "
                        "PEs = MACs, L1 = per-MAC levels, L2 = shared on-chip levels, NoC = their words per cycle)")
    p.add_argument("--constants", default=None, choices=sorted(CONSTANT_SETS),
                   help="maestro: energy/area constant set, current (default) or nasaic")
    _add_json(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("map", help="search the best mapping of every layer (or one layer) on an accelerator")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--network", help="preset name, network YAML or ONNX file")
    src.add_argument("--layer", help="a layer spec like K=64,C=64,P=56,Q=56,R=3,S=3,stride=1,groups=1,N=1")
    p.add_argument("--accelerator", required=True, help="preset name or accelerator YAML")
    p.add_argument("--objective", default="edp", choices=["edp", "energy", "latency", "edap"])
    p.add_argument("--mapper", default="default", help="default, random, exhaustive, ... (see --help of each)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--jobs", type=count, default=None, help="processes for distinct layer shapes (default: all cores)")
    p.add_argument("--max-evals", type=count, default=None, help="evaluation budget per layer shape")
    p.add_argument("--max-seconds", type=positive_number, default=None, help="time budget per layer shape")
    p.add_argument("--constraints", help="mapping constraints YAML (per level temporal dims, factors, order, keep)")
    p.add_argument("--dataflow", choices=["weight", "output", "input", "row"],
                   help="restrict mappings to a dataflow family (what stays in the innermost storage)")
    p.add_argument("--padding", action="store_true",
                   help="also try padded layers (imperfect factorization, e.g. K=1000 as 1008 on a 16-wide array)")
    p.add_argument("--out", type=output_file, default=None, metavar="FILE",
                   help="write the mappings found as YAML, the form `coexplore evaluate --mapping` reads")
    _add_json(p)
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("hwsearch", help="search an accelerator for networks under a preset's resources (NAAS)")
    p.add_argument("--network", action="append", required=True,
                   help="preset name, network YAML or ONNX file (repeat for several networks)")
    p.add_argument("--budget", default=None,
                   help="accelerator preset (the template and the resource budget) or FPGA board (xc7a50t, "
                        "xc7z020, zcu102: the FNAS tiling template); required unless --system is given")
    # ASIC-only options default to None so that an FPGA board refuses them instead of ignoring them
    p.add_argument("--objective", default=None,
                   help="edp (default), energy, latency, edap or area; several comma-separated for nsga2 "
                        "(e.g. energy,latency,area); accelerator presets only, like every option down to --throttle")
    p.add_argument("--strategy", default=None, choices=["naas", "random", "grid", "nsga2", "evolution"],
                   help="default naas (--model maestro: evolution; naas is timeloop's, evolution maestro's)")
    p.add_argument("--mode", default=None, choices=["full", "sizing"],
                   help="full (default): sizing and connectivity; sizing: the preset's connectivity")
    p.add_argument("--mapper", default=None, choices=["default", "naas"],
                   help="inner mapping search for every layer of every candidate: default (local search) or naas "
                        "(CMA-ES over importance-encoded mappings, NAAS's nested loop)")
    p.add_argument("--seed", type=seed, default=None, help="default 0")
    p.add_argument("--budget-evals", type=count, default=None, help="accelerator candidates to evaluate (default 300)")
    p.add_argument("--max-seconds", type=positive_number, default=None, help="time limit of the search loop")
    p.add_argument("--jobs", type=count, default=None, help="worker processes evaluating candidates (default 1)")
    p.add_argument("--throttle", action="store_true", help="bandwidth-limited latency (searches DRAM bandwidth)")
    p.add_argument("--out", type=output_file, help="write the best design as accelerator YAML")
    p.add_argument("--fpga-mode", default=None, choices=["shared", "pipelined"],
                   help="FPGA boards only: one shared engine (default), or one engine per layer (FNAS's pipeline)")
    p.add_argument("--boards", type=count, default=None,
                   help="FPGA boards only: Super-LIP's multi-FPGA search over this many boards (per layer a split "
                        "by batch, rows, columns or output channels, and a tiling); needs --link-gbps")
    p.add_argument("--link-gbps", type=positive_number, default=None, metavar="GBIT_S",
                   help="with --boards: bandwidth of one board-to-board link, Gbit/s each way (SFP+ Aurora lane: 10)")
    p.add_argument("--system", default=None, type=non_empty, metavar="SYSTEM.yaml",
                   help="Super-LIP's multi-FPGA search on a system spec of identical FPGA boards and their links "
                        "(examples/system_fpga2.yaml), instead of --boards/--link-gbps (N boards linked all to all)")
    p.add_argument("--svg", default=None, type=output_file, metavar="FILE",
                   help="with --boards or --system: draw the chosen multi-FPGA design (boards, links by load, the "
                        "bound per layer) to FILE")
    p.add_argument("--partition", default=None, metavar="DIM=F,...",
                   help="with --boards or --system: fix every layer's split, e.g. K=2 or N=1,P=2 (dims N, P, Q, K); "
                        "default: the best split per layer")
    p.add_argument("--uneven", action="store_true", default=None,
                   help="with --boards: also split by factors that do not divide the dimension (rounded up, as the "
                        "paper's script; the boards with the larger share set the pace)")
    p.add_argument("--memory-ports", default=None, choices=["shared", "split"],
                   help="with --boards: one off-chip port for inputs, weights and outputs (shared, default, as the "
                        "one-board model) or three streams of a third each (split, the paper's)")
    p.add_argument("--precisions", default=None, metavar="WxA[:DROP],...",
                   help="also search the precision: one search per choice (e.g. 8x8,4x4:1.5,8x4:0.4, weights x "
                        "activations in bits, with the accuracy drop you measured); the JSON gains 'precision'")
    p.add_argument("--max-accuracy-drop", type=non_negative_number, default=None,
                   help="skip --precisions choices whose accuracy drop exceeds this")
    p.add_argument("--model", default="timeloop", choices=list(HWSEARCH_MODELS),
                   help="timeloop (default: NAAS's accelerator space, mappings searched per layer), maestro "
                        "(MAESTRO's templates x PEs x NoC bandwidth within the preset's MACs) or butterfly (the "
                        "adaptable butterfly accelerator: engines x units x buffers within the preset's MACs and SRAM)")
    p.add_argument("--constants", default=None, choices=sorted(CONSTANT_SETS),
                   help="maestro: energy/area constant set, current (default) or nasaic")
    _add_json(p)
    p.set_defaults(func=cmd_hwsearch)

    p = sub.add_parser("bench", help="benchmarks of coexplore itself")
    bsub = p.add_subparsers(dest="bench_what", required=True, metavar="WHAT")
    b = bsub.add_parser("cost", help="batch cost-model throughput on random legal mappings of one layer")
    b.add_argument("--network", required=True)
    b.add_argument("--layer", required=True, help="layer name in the network")
    b.add_argument("--accelerator", required=True)
    b.add_argument("--mappings", type=count, default=100_000)
    b.add_argument("--seed", type=seed, default=0)
    b.add_argument("--repeats", type=count, default=3, help="timed repetitions; the best is reported")
    _add_json(b)
    b.set_defaults(func=cmd_bench_cost)

    p = sub.add_parser("export", help="a preset (accelerator or network) as an editable YAML file")
    p.add_argument("what", choices=["accelerator", "network"])
    p.add_argument("name", help="preset name (coexplore list accelerators|networks) or a file to normalise")
    p.add_argument("--out", type=output_file, default=None, metavar="FILE", help="write here (default: stdout)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("timeloop-case", help="evaluate a Timeloop reference case (data/timeloop_reference schema)")
    p.add_argument("case", help="CASE.json (data/timeloop_reference schema) or Timeloop's parsed-processed-input.yaml")
    p.add_argument("--throttle", action="store_true")
    _add_json(p)
    p.set_defaults(func=cmd_timeloop_case)


# -- list --------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> Any:
    from coexplore.presets.accelerators import ACCELERATORS
    from coexplore.presets.networks import NETWORKS, get_network
    from coexplore.spec.technology import TECHNOLOGIES

    if args.what == "layers":
        if not args.name:
            from coexplore.errors import SpecError

            raise SpecError("list layers: NAME: required (a network preset or YAML), got nothing")
        net = get_network(args.name)
        rows = [{"name": x.name, "spec": x.spec_string(), "macs": x.macs} for x in net.layers]
        if not args.json:
            fmt.table(["layer", "shape", "MACs"], [[r["name"], r["spec"], f"{r['macs']:,}"] for r in rows])
        return rows
    if args.what == "strategies":
        from coexplore.study.kinds import strategy_table

        table = strategy_table(args.kind)
        if not args.json:
            for kind, entries in table.items():
                print(f"{kind}:")
                for e in entries:
                    print(f"  {e['name']:16s} {e['origin']:22s} {e['description']}")
        return table
    if args.what in ("recipes", "mappers"):
        described = _recipes() if args.what == "recipes" else _mappers()
        if not args.json:
            for n, text in described.items():
                print(f"{n:30s} {text}")
        return list(described)
    from coexplore.presets.boards import BOARDS

    registries: dict[str, Registry[Any]] = {
        "networks": NETWORKS, "accelerators": ACCELERATORS, "boards": BOARDS, "technologies": TECHNOLOGIES,
    }
    reg = registries[args.what]
    names = reg.names()
    if not args.json:
        for n in names:
            print(f"{n:14s} {reg.describe(n)}")
    return names


def _recipes() -> dict[str, str]:
    """Shipped co-design recipes and what each is (strategy, space, budget) from its config."""
    from coexplore.study.codesign import load_recipe, recipe_names

    out = {}
    for name in recipe_names():
        cfg = load_recipe(name)
        out[name] = (f"{cfg.strategy} on {cfg.problem.get('space', '?')}, {cfg.trials:,} trials, "
                     f"objectives {', '.join(cfg.objectives)}")
    return out


def _mappers() -> dict[str, str]:
    from coexplore.mapper.registry import MAPPERS

    return {n: spec.doc + ("" if spec.max_evals is None else f" (default budget {spec.max_evals:,} evaluations)")
            for n, spec in MAPPERS.items()}


def cmd_export(args: argparse.Namespace) -> None:
    """YAML that ``--accelerator FILE`` / ``--network FILE`` read back unchanged (Timeloop and ZigZag users
    start from a preset and edit it)."""
    import yaml

    from coexplore.resolve import resolve_accelerator, resolve_network

    if args.what == "accelerator":
        from coexplore.spec.io import accelerator_to_dict

        acc = resolve_accelerator(args.name)
        head, data = f"coexplore accelerator: {acc.name} (levels innermost first)", accelerator_to_dict(acc)
    else:
        from coexplore.presets.networks import network_to_dict

        net = resolve_network(args.name)
        head, data = f"coexplore network: {net.name} ({len(net.layers)} layers)", network_to_dict(net)
    text = f"# {head}\n" + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{args.what} {args.name} written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


# -- evaluate ----------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> Any:
    from coexplore.api import evaluate_network

    out = evaluate_network(args.network, args.accelerator, mappings=args.mapping, objective=args.objective,
                           samples=args.samples, seed=args.seed, throttle=args.throttle, model=args.model,
                           template=args.template, constant_set=args.constants).to_record()
    if not args.json:
        fmt.print_network_cost(out)
    return out


# -- map ---------------------------------------------------------------------------
def cmd_map(args: argparse.Namespace) -> Any:
    from coexplore.api import map_network, save_mapping_file
    from coexplore.errors import SpecError
    from coexplore.spec.workload import parse_layer_spec

    if args.out and args.padding:
        raise SpecError("--out: padded mappings are for padded layer sizes, which `evaluate --mapping` refuses; "
                        "drop --padding to write them")
    target = parse_layer_spec(args.layer) if args.layer is not None else args.network
    out = map_network(target, args.accelerator, objective=args.objective, mapper=args.mapper, seed=args.seed,
                      jobs=args.jobs, max_evals=args.max_evals, max_seconds=args.max_seconds, progress=not args.json,
                      constraints=args.constraints, dataflow=args.dataflow, padding=args.padding).to_record()
    if args.out:
        save_mapping_file(args.out, {x["name"]: x["mapping"] for x in out["layers"]},
                          source=f"coexplore map: {out['network']} on {out['accelerator']}, mapper {out['mapper']}, "
                                 f"objective {out['objective']}, seed {args.seed}")
    if not args.json:
        fmt.print_map(out)
        if args.out:
            print(f"mappings written to {args.out}")
    return out


# -- hwsearch ----------------------------------------------------------------------
def cmd_hwsearch(args: argparse.Namespace) -> Any:
    from coexplore.api import search_accelerator
    from coexplore.presets.boards import BOARDS

    if args.out and args.system is not None:
        from coexplore.errors import SpecError

        raise SpecError("--out: writes accelerator YAML; a multi-FPGA design (--system) has none, use --json")
    if args.out and args.budget in BOARDS:  # refused before the search, not after
        from coexplore.errors import SpecError

        raise SpecError(f"--out: writes accelerator YAML; an FPGA board's tiling ({args.budget!r}) has none, "
                        "use --json")
    if args.svg and args.boards is None and args.system is None:
        from coexplore.errors import SpecError

        raise SpecError("--svg: draws a multi-FPGA design; give --boards/--link-gbps or --system")
    if args.out and args.model == "maestro":
        from coexplore.errors import SpecError

        raise SpecError("--out: writes accelerator YAML; a MAESTRO design (template:PEs:bandwidth) has none, use "
                        "--json")
    if args.out and args.model == "butterfly":
        from coexplore.errors import SpecError

        raise SpecError("--out: writes accelerator YAML; a butterfly accelerator design has none, use --json")
    result = search_accelerator(
        args.network, args.budget, args.objective, strategy=args.strategy, mode=args.mode, seed=args.seed,
        budget_evals=args.budget_evals, max_seconds=args.max_seconds, jobs=args.jobs, throttle=args.throttle or None,
        mapper=args.mapper, precisions=args.precisions, max_accuracy_drop=args.max_accuracy_drop,
        fpga_mode=args.fpga_mode, progress=not args.json, model=args.model, constant_set=args.constants,
        boards=args.boards, link_gbps=args.link_gbps, partition=args.partition, memory_ports=args.memory_ports,
        uneven=args.uneven, system=args.system,
    )
    out = result.to_record()
    if args.svg:
        from coexplore.report.multi_fpga_svg import write_multi_fpga_svg

        out["svg"] = str(write_multi_fpga_svg(result, args.svg))
    if args.out:
        out["saved"] = str(result.save(args.out))  # type: ignore[union-attr]
    if not args.json:
        fmt.print_hwsearch(out)
    return out


# -- bench -------------------------------------------------------------------------
def cmd_bench_cost(args: argparse.Namespace) -> Any:
    from coexplore.api import bench_cost

    out = bench_cost(args.network, args.layer, args.accelerator, mappings=args.mappings, seed=args.seed,
                     repeats=args.repeats).to_record()
    if not args.json:
        print(f"{out['mappings']:,} mappings in {out['seconds']:.3f} s: {out['mappings_per_s']:,.0f} mappings/s "
              f"(sampling took {out['sampling_seconds']:.2f} s)")
    return out


# -- timeloop-case -----------------------------------------------------------------
def cmd_timeloop_case(args: argparse.Namespace) -> Any:
    from coexplore.api import evaluate_timeloop_case

    result = evaluate_timeloop_case(args.case, throttle=args.throttle)
    out = result.to_record()
    if not args.json:
        fmt.print_timeloop_case(out, result.differences())
    return out
