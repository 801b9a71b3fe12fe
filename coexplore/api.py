"""Public entry points that the CLI (and scripts) call: one function per command.

These resolve names and files (presets, YAML) into specs and hand them to the layers
below; they hold no cost or search logic of their own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.cost.model import evaluate, evaluate_batch
from coexplore.cost.results import NetworkCost
from coexplore.errors import SpecError
from coexplore.mapper.sampled import map_layer_sampled
from coexplore.mapping.mapping import Mapping
from coexplore.mapping.sampling import sample_legal
from coexplore.resolve import resolve_accelerator, resolve_network
from coexplore.spec.dims import DATASPACES
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Network

__all__ = [
    "bench_cost", "evaluate_network_default", "evaluate_timeloop_case", "hwsearch_cli", "load_mapping_file",
    "map_network_cli", "resolve_accelerator", "resolve_network",
]


def load_mapping_file(path: str | Path) -> dict[str, Mapping]:
    """Per-layer mappings from YAML ``{layers: {LAYER_NAME: {levels: [...]}}}``."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise SpecError(f"mapping file: {str(path)!r} not found") from None
    except yaml.YAMLError as e:
        raise SpecError(f"mapping file {str(path)!r}: malformed YAML: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("layers"), dict):
        raise SpecError(f"mapping file {str(path)!r}.layers: must be a mapping of layer name -> mapping")
    out, problems = {}, []
    for name, m in data["layers"].items():
        try:
            out[str(name)] = Mapping.from_dict(m)
        except SpecError as e:
            problems += [f"{path}: layers.{name}.{p}" for p in e.problems]
    if problems:
        raise SpecError(problems)
    return out


def evaluate_network_default(
    network: str, accelerator: str, *, mapping_file: str | None = None, objective: str = "edp",
    samples: int = 4096, seed: int = 0, throttle: bool = False,
) -> NetworkCost:
    """Network cost with the given mappings, and the best of ``samples`` random legal
    mappings (per distinct layer shape) for layers the file does not cover."""
    net = resolve_network(network)
    acc = resolve_accelerator(accelerator)
    given = load_mapping_file(mapping_file) if mapping_file else {}
    unknown = sorted(set(given) - {x.name for x in net.layers})
    if unknown:
        raise SpecError(f"mapping file: layers {unknown} are not in network {net.name!r}")
    cache: dict[tuple[int, ...], Mapping] = {}
    costs, mappings = [], []
    for layer in net.layers:
        if layer.name in given:
            m = given[layer.name]
        else:
            key = layer.shape_key()
            if key not in cache:
                cache[key] = map_layer_sampled(layer, acc, samples=samples, seed=seed, objective=objective).mapping
            m = cache[key]
        costs.append(evaluate(layer, acc, m, throttle=throttle))
        mappings.append(m)
    return NetworkCost(network=net.name, accelerator=acc.name, layers=tuple(costs), area_mm2=acc.area_mm2,
                       mappings=tuple(mappings))


def bench_cost(network: str, layer: str, accelerator: str, *, mappings: int, seed: int = 0,
               repeats: int = 3) -> dict[str, Any]:
    """Batch throughput of the cost model on ``mappings`` random legal mappings of one layer."""
    if mappings <= 0:
        raise SpecError(f"--mappings: must be > 0, got {mappings}")
    net = resolve_network(network)
    lay = net.layer(layer)
    acc = resolve_accelerator(accelerator)
    t0 = time.perf_counter()
    batch = sample_legal(lay, acc, mappings, seed=seed)
    sampling = time.perf_counter() - t0
    evaluate_batch(lay, acc, batch.take(np.arange(min(8, mappings))))  # compile / warm up

    def best_time(detail: bool) -> float:
        best = float("inf")
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            evaluate_batch(lay, acc, batch, detail=detail)
            best = min(best, time.perf_counter() - t0)
        return best

    seconds = best_time(False)
    detailed = best_time(True)
    return {"mappings_per_s": mappings / seconds, "mappings": mappings, "seconds": seconds,
            "mappings_per_s_with_counts": mappings / detailed, "sampling_seconds": sampling,
            "layer": lay.spec_string(), "accelerator": acc.name}


def evaluate_timeloop_case(path: str, *, throttle: bool = False) -> dict[str, Any]:
    """Evaluate a case of ``data/timeloop_reference`` (or Timeloop's own ``parsed-processed-input.yaml``)
    and report it with the case's own level and dataspace names."""
    from coexplore.interop.timeloop import load_case, load_timeloop_yaml

    case = load_timeloop_yaml(path) if str(path).lower().endswith((".yaml", ".yml")) else load_case(path)
    cost = evaluate(case.layer, case.accelerator, case.mapping, throttle=throttle)
    levels: dict[str, dict[str, dict[str, Any]]] = {}
    for lc in cost.levels:
        if lc.name not in case.storage_levels:
            continue
        levels[lc.name] = {
            case.dataspace_names[ds]: {
                "reads_per_instance": c.reads, "fills_per_instance": c.fills,
                "updates_per_instance": c.updates, "utilized_instances": c.utilized_instances,
                "energy_pj": c.energy_pj,
            }
            for ds, c in lc.dataspaces.items() if ds in DATASPACES
        }
    return {"cycles": cost.latency_cycles, "energy_pj": cost.energy_pj, "macs": cost.macs,
            "utilization": cost.utilization, "levels": levels}


def map_network_cli(
    *, network: str | None, layer_spec: str | None, accelerator: str, objective: str = "edp",
    mapper: str = "default", seed: int = 0, jobs: int | None = None, max_evals: int | None = None,
    max_seconds: float | None = None, progress: bool = True, constraints: str | None = None,
    dataflow: str | None = None, padding: bool = False,
) -> dict[str, Any]:
    """``coexplore map``: the best mapping of every layer, in the JSON shape of DESIGN.md.

    A padded layer (``padding``) reports ``"padded": {dim: size}``; its mapping is for those sizes.
    """
    from coexplore.mapper.network import map_network
    from coexplore.spec.workload import parse_layer_spec

    acc = resolve_accelerator(accelerator)
    if layer_spec is not None:
        net = Network(name="layer", layers=(parse_layer_spec(layer_spec),))
    else:
        net = resolve_network(network or "")
    from coexplore.mapping.constraints import dataflow_constraints, load_constraints_yaml

    if constraints and dataflow:
        raise SpecError("map: give --constraints or --dataflow, not both")
    cons = load_constraints_yaml(constraints) if constraints else (
        dataflow_constraints(acc, dataflow) if dataflow else None)
    t0 = time.perf_counter()
    res = map_network(net, acc, mapper=mapper, objective=objective, seed=seed, jobs=jobs, max_evals=max_evals,
                      max_seconds=max_seconds, progress=progress, constraints=cons, padding=padding)
    names = [lv.name for lv in acc.levels]
    layers = [{
        "name": x.layer.name, "energy_pj": x.cost.energy_pj, "latency_cycles": x.cost.latency_cycles,
        "edp": x.cost.edp, "utilization": x.cost.utilization, "evaluated": x.evaluated, "optimal": x.optimal,
        "mapping": x.mapping.to_dict(names), **({"padded": dict(x.padded)} if x.padded else {}),
    } for x in res.layers]
    return {"network": net.name, "accelerator": acc.name, "mapper": mapper, "objective": objective,
            "energy_pj": res.energy_pj, "latency_cycles": res.latency_cycles, "edp": res.edp,
            "seconds": time.perf_counter() - t0, "optimal": all(x.optimal for x in res.layers), "layers": layers}


def search_accelerator(networks: Sequence[str | Network], budget: str | Accelerator, *, fpga_mode: str = "shared",
                       **search: Any) -> Any:
    """The best accelerator for ``networks`` under ``budget``'s resources.

    ``networks``: presets, YAML files, searched cells (``nb201:INDEX``) or :class:`Network` objects.
    ``budget``: an accelerator preset or object (NAAS search, :func:`coexplore.hwsearch.search.search_accelerator`,
    whose keyword arguments ``search`` passes on), or an FPGA board (the FNAS tiling template, searched
    exhaustively; ``fpga_mode`` shared or pipelined; returns :class:`~coexplore.hwsearch.fpga.FpgaSolution`).
    """
    from coexplore.errors import RegistryError
    from coexplore.hwsearch.search import search_accelerator as search_asic
    from coexplore.presets.accelerators import ACCELERATORS
    from coexplore.presets.boards import BOARDS

    if isinstance(networks, (str, Network)):
        networks = [networks]
    if isinstance(budget, str) and budget not in ACCELERATORS and budget not in BOARDS:
        raise RegistryError(f"budget: unknown accelerator preset or FPGA board {budget!r}; valid: "
                            f"{', '.join(ACCELERATORS)}, {', '.join(BOARDS)}")
    nets = []
    for n in networks:
        try:
            nets.append(n if isinstance(n, Network) else resolve_network(n))
        except RegistryError as e:
            raise RegistryError(f"networks: {e}") from None
    if isinstance(budget, str) and budget in BOARDS:
        from coexplore.hwsearch.fpga import best_design
        from coexplore.presets.boards import get_board

        if search:
            raise SpecError(f"search_accelerator: an FPGA board is searched exhaustively; unused options "
                            f"{', '.join(sorted(search))}")
        return best_design([layer for net in nets for layer in net.layers], get_board(budget), fpga_mode)
    return search_asic(nets, budget, **search)


def hwsearch_cli(
    *, networks: list[str], budget: str, objective: str = "edp", strategy: str = "naas", mode: str = "full",
    seed: int = 0, budget_evals: int = 300, max_seconds: float | None = None, jobs: int = 1,
    progress: bool = True, out: str | None = None, throttle: bool = False, fpga_mode: str = "shared",
    precisions: str | None = None, max_accuracy_drop: float | None = None, mapper: str = "default",
) -> dict[str, Any]:
    """``coexplore hwsearch``: the best accelerator under a preset's resources, in the JSON shape of DESIGN.md.

    An FPGA board as ``budget`` searches the FNAS tiling template instead (exhaustively:
    the space is small); its best design has a latency and resources, no energy. With
    ``precisions`` (``"8x8,4x4:1.5"``) the search runs once per precision choice
    (:mod:`coexplore.hwsearch.precision`); ``best`` is then the lowest-EDP choice's and
    ``precision`` lists every choice with its EDP gain over the first.
    """
    from coexplore.errors import RegistryError
    from coexplore.presets.accelerators import ACCELERATORS
    from coexplore.presets.boards import BOARDS

    if budget not in ACCELERATORS and budget not in BOARDS:
        raise RegistryError(f"--budget: unknown accelerator preset or FPGA board {budget!r}; valid: "
                            f"{', '.join(ACCELERATORS)}, {', '.join(BOARDS)}")
    nets = []
    for name in networks:
        try:
            nets.append(resolve_network(name))
        except RegistryError as e:
            raise RegistryError(f"--network: {e}") from None
    if budget in BOARDS:
        if precisions is not None:
            raise SpecError(f"--precisions: searches accelerator presets only, got FPGA board {budget!r}")
        return _fpga_search(nets, budget, fpga_mode)
    search = {"objective": objective, "strategy": strategy, "mode": mode, "seed": seed, "budget_evals": budget_evals,
              "max_seconds": max_seconds, "jobs": jobs, "progress": progress, "throttle": throttle, "mapper": mapper}
    sweep = None
    if precisions is not None:
        from coexplore.hwsearch.precision import parse_precisions, search_precisions

        sweep = search_precisions(nets, budget, parse_precisions(precisions), max_accuracy_drop=max_accuracy_drop,
                                  **search)
        result = sweep.best[1]
    else:
        result = search_accelerator(nets, budget, **search)  # type: ignore[arg-type]
    data = result.to_dict()
    if sweep is not None:
        data["precision"] = sweep.to_dict()
    data["networks"] = [n.name for n in nets]
    data["kind"] = "asic"
    if out:
        data["saved"] = str(result.save(out))
    return data


def _fpga_search(nets: list[Network], board_name: str, mode: str) -> dict[str, Any]:
    """The FNAS FPGA template on a board: the lowest-latency tiling of all the networks' layers."""
    from coexplore.hwsearch.fpga import best_design
    from coexplore.presets.boards import get_board

    board = get_board(board_name)
    t0 = time.perf_counter()
    layers = [layer for net in nets for layer in net.layers]
    sol = best_design(layers, board, mode)
    seconds = time.perf_counter() - t0
    designs = [{"Tm": d.Tm, "Tn": d.Tn, "Tr": d.Tr, "Tc": d.Tc, "bits": d.bits} for d in sol.designs]
    return {
        "kind": "fpga", "networks": [n.name for n in nets],
        "best": {"accelerator": {"board": board.name, "mode": sol.mode, "designs": designs},
                 "edp": None, "energy_pj": None, "latency_cycles": sol.latency_cycles, "area_mm2": None,
                 "latency_ms": sol.latency.seconds * 1e3,
                 "resources": {"dsp": sol.resources.dsp, "bram18k": sol.resources.bram18k},
                 "limits": {"dsp": board.dsp, "bram18k": board.bram18k}},
        "baseline": {"preset": board.name, "edp": None, "energy_pj": None, "latency_cycles": None},
        "evaluations": sol.evaluated, "seconds": seconds,
        "evaluations_per_second": sol.evaluated / seconds if seconds > 0 else float("inf"),
    }
