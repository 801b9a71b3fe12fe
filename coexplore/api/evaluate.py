"""Pricing through the API: a network with given or default mappings, a Timeloop case, a MAESTRO DFSL file, a
heterogeneous multi-accelerator system with MAESTRO's semantics, the cost model's speed.

Names and files (presets, YAML) resolve to specs here; the cost and search logic stays in
the layers below.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping as MappingABC
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.api.results import CostBenchmark, NetworkEvaluation, TimeloopCaseResult
from coexplore.errors import SpecError
from coexplore.maestro.bridge import MaestroNetworkCost
from coexplore.maestro.result import MaestroEvaluation
from coexplore.maestro.system import Budget, HeteroDesign, Specs, SystemCost
from coexplore.mapping.mapping import Mapping
from coexplore.resolve import resolve_accelerator, resolve_network
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Network

__all__ = ["MODELS", "bench_cost", "evaluate_maestro", "evaluate_maestro_system", "evaluate_network",
           "evaluate_timeloop_case", "load_mapping_file", "save_mapping_file"]


def load_mapping_file(path: str | Path) -> dict[str, Mapping]:
    """Per-layer mappings from YAML ``{layers: {LAYER_NAME: {levels: [...]}}}``."""
    import yaml

    from coexplore.spec.io import read_text

    text = read_text(path, "mapping file")
    try:
        data = yaml.safe_load(text)
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


def save_mapping_file(path: str | Path, mappings: dict[str, dict[str, Any]], *, source: str = "") -> Path:
    """Write per-layer mappings (each ``Mapping.to_dict()``) in the form :func:`load_mapping_file` reads,
    so ``coexplore map --out`` feeds ``coexplore evaluate --mapping``."""
    import yaml

    path = Path(path)
    text = yaml.safe_dump({"layers": mappings}, sort_keys=False, default_flow_style=None, width=110)
    path.write_text((f"# {source}\n" if source else "") + text, encoding="utf-8")
    return path


#: Peak memory of one sampled mapping while a batch is sampled and priced (measured: 1,000,000
#: mappings of resnet18 layer2.0.conv2 on eyeriss peak at 2.2 GB resident, 0.3 GB at 100,000).
BYTES_PER_MAPPING = 2_200


def check_batch_fits(n: int, field: str) -> None:
    """Refuse a batch of ``n`` mappings held in memory at once that needs more than half the memory this
    machine has available (instead of being killed by the kernel part-way); ``field`` names the option."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise SpecError(f"{field}: must be an integer >= 1, got {n!r}")
    available = _available_bytes()
    if available is None:  # no figure on this platform: nothing to check against
        return
    need = n * BYTES_PER_MAPPING
    if need > available // 2:
        raise SpecError(f"{field}: {n:,} mappings are priced in one batch held in memory, about {need / 1e9:.1f} GB; "
                        f"this machine has {available / 1e9:.1f} GB available: at most "
                        f"{available // 2 // BYTES_PER_MAPPING:,}, got {n:,}")


def _available_bytes() -> int | None:
    """Memory available to a new allocation: Linux's MemAvailable (free + reclaimable cache), else free pages."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _network(network: str | Network) -> Network:
    return network if isinstance(network, Network) else resolve_network(network)


def _accelerator(accelerator: str | Accelerator) -> Accelerator:
    return accelerator if isinstance(accelerator, Accelerator) else resolve_accelerator(accelerator)


MODELS = ("timeloop", "maestro")
"""Cost semantics a network can be priced with: Timeloop's (coexplore's cost model, mappings searched per
layer) or MAESTRO's (a dataflow template per layer, :mod:`coexplore.maestro.bridge`)."""

_TIMELOOP_ONLY = (("mappings", "--mapping"), ("objective", "--objective"), ("samples", "--samples"),
                  ("seed", "--seed"), ("throttle", "--throttle"))
_MAESTRO_ONLY = (("template", "--template"), ("constant_set", "--constants"))


def evaluate_network(
    network: str | Network, accelerator: str | Accelerator, *,
    mappings: str | Path | MappingABC[str, Mapping] | None = None, objective: str | None = None,
    samples: int | None = None, seed: int | None = None, throttle: bool = False, model: str = "timeloop",
    template: str | None = None, constant_set: str | None = None,
) -> NetworkEvaluation | MaestroNetworkCost:
    """The cost of ``network`` on ``accelerator``.

    ``model="timeloop"`` (default): each layer under its mapping in ``mappings`` (a mapping YAML file or
    layer name -> :class:`Mapping`), the rest under the best of ``samples`` (default 4096) random legal
    mappings (by ``objective``, default ``edp``, once per distinct layer shape; ``seed`` default 0).

    ``model="maestro"``: each layer in a MAESTRO dataflow template, priced with MAESTRO's semantics
    (``constant_set`` ``current`` by default); ``accelerator`` is ``TEMPLATE:PES:BW`` (``rs:168:16``) or a
    coexplore accelerator translated to MAESTRO with ``template`` (rules in :mod:`coexplore.maestro.bridge`).
    An option of the other model is refused, naming it.

    ``network`` and ``accelerator``: preset names, YAML files or spec objects.
    """
    if model not in MODELS:
        raise SpecError(f"model (--model): unknown {model!r}; valid: {', '.join(MODELS)}")
    options = {"mappings": mappings, "objective": objective, "samples": samples, "seed": seed,
             "throttle": throttle or None, "template": template, "constant_set": constant_set}
    other = _MAESTRO_ONLY if model == "timeloop" else _TIMELOOP_ONLY
    for name, flag in other:
        if options[name] is not None:
            raise SpecError(f"{name} ({flag}): applies to the {'maestro' if model == 'timeloop' else 'timeloop'} "
                            f"model only, not --model {model}; got {options[name]!r}")
    if model == "maestro":
        return _evaluate_maestro_network(network, accelerator, template=template,
                                         constant_set=constant_set or "current")
    objective = "edp" if objective is None else objective
    samples = 4096 if samples is None else samples
    seed = 0 if seed is None else seed
    from coexplore.cost.model import evaluate
    from coexplore.mapper.sampled import map_layer_sampled

    check_batch_fits(samples, "samples (--samples)")
    t0 = time.perf_counter()
    net, acc = _network(network), _accelerator(accelerator)
    given = load_mapping_file(mappings) if isinstance(mappings, (str, Path)) else dict(mappings or {})
    unknown = sorted(set(given) - {x.name for x in net.layers})
    if unknown:
        raise SpecError(f"mapping file: layers {unknown} are not in network {net.name!r}")
    cache: dict[tuple[int, ...], Mapping] = {}
    costs, chosen = [], []
    where = f"mapping file {str(mappings)!r}" if isinstance(mappings, (str, Path)) else "mappings"
    for layer in net.layers:
        if layer.name in given:
            m = given[layer.name]
            try:
                costs.append(evaluate(layer, acc, m, throttle=throttle))
            except SpecError as e:  # which file and layer the bad mapping is
                raise SpecError([f"{where}: layers.{layer.name}: {p}" for p in e.problems]) from None
        else:
            key = layer.shape_key()
            if key not in cache:
                cache[key] = map_layer_sampled(layer, acc, samples=samples, seed=seed, objective=objective).mapping
            m = cache[key]
            costs.append(evaluate(layer, acc, m, throttle=throttle))
        chosen.append(m)
    from coexplore.cost.vector import price_vector_op

    vector = tuple(price_vector_op(op, acc, throttle=throttle) for op in net.vector_ops)
    return NetworkEvaluation(network=net.name, accelerator=acc.name, layers=tuple(costs), area_mm2=acc.area_mm2,
                             mappings=tuple(chosen), vector_ops=vector, seconds=time.perf_counter() - t0,
                             level_names=tuple(lv.name for lv in acc.levels))


def _evaluate_maestro_network(network: str | Network, accelerator: str | Accelerator, *, template: str | None,
                              constant_set: str) -> MaestroNetworkCost:
    """``evaluate_network(model="maestro")``: resolve the accelerator (a sub-accelerator string or a
    coexplore accelerator to translate) and price the network."""
    from dataclasses import replace

    from coexplore.maestro.bridge import (
        SUB_ACCELERATOR,
        price_network_maestro,
        target_from_accelerator,
        target_from_string,
    )
    from coexplore.maestro.energy import constants

    constants(constant_set)  # an unknown name fails before any work
    t0 = time.perf_counter()
    net = _network(network)
    if isinstance(accelerator, str) and SUB_ACCELERATOR.match(accelerator.strip()) and not Path(accelerator).exists():
        if template is not None:
            raise SpecError(f"template (--template): the accelerator {accelerator!r} names its own template; give "
                            f"--template only with a coexplore accelerator, got {template!r}")
        target = target_from_string(accelerator)
    else:
        target = target_from_accelerator(_accelerator(accelerator), template)
    cost = price_network_maestro(net, target, constant_set=constant_set)
    return replace(cost, seconds=time.perf_counter() - t0)


def bench_cost(network: str | Network, layer: str, accelerator: str | Accelerator, *, mappings: int, seed: int = 0,
               repeats: int = 3) -> CostBenchmark:
    """Batch throughput of the cost model on ``mappings`` random legal mappings of ``network``'s ``layer``
    (the best of ``repeats`` timed runs, after one warm-up that compiles the kernels)."""
    from coexplore.cost.model import evaluate_batch
    from coexplore.mapping.sampling import sample_legal

    check_batch_fits(mappings, "mappings (--mappings)")
    lay = _network(network).layer(layer)
    acc = _accelerator(accelerator)
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

    return CostBenchmark(layer=lay.spec_string(), accelerator=acc.name, mappings=mappings, seconds=best_time(False),
                         seconds_with_counts=best_time(True), sampling_seconds=sampling)


def evaluate_timeloop_case(path: str | Path, *, throttle: bool = False) -> TimeloopCaseResult:
    """Evaluate a case of ``data/timeloop_reference`` (or Timeloop's own ``parsed-processed-input.yaml``),
    reported with the case's own level and dataspace names."""
    from coexplore.cost.model import evaluate
    from coexplore.interop.timeloop import load_case, load_timeloop_yaml

    case = load_timeloop_yaml(path) if str(path).lower().endswith((".yaml", ".yml")) else load_case(path)
    cost = evaluate(case.layer, case.accelerator, case.mapping, throttle=throttle)
    return TimeloopCaseResult(cost=cost, storage_levels=tuple(case.storage_levels),
                              dataspace_names=dict(case.dataspace_names), reference=case.reference)


def evaluate_maestro(hw_path: str | Path, mapping_path: str | Path, *, constant_set: str = "current",
                     energy_quirks: bool = True, strict_clusters: bool = False) -> MaestroEvaluation:
    """Price a MAESTRO mapping (DFSL) file on a MAESTRO hardware file with MAESTRO's semantics."""
    from coexplore.maestro.dfsl import check_clusters, read_hardware, read_mapping
    from coexplore.maestro.energy import constants
    from coexplore.maestro.model import price_network

    constants(constant_set)  # an unknown name fails before any parsing
    hw = read_hardware(hw_path)
    net = read_mapping(mapping_path)
    notes = check_clusters(net, hw, str(mapping_path), strict=strict_clusters)
    try:
        rows = price_network(hw, net, constant_set=constant_set, energy_quirks=energy_quirks)
    except SpecError as e:
        raise SpecError(f"{mapping_path}: {e}") from None
    return MaestroEvaluation(network=net.name, hardware=hw, constant_set=constant_set, energy_quirks=energy_quirks,
                             layers=tuple(rows), notes=tuple(notes))


def evaluate_maestro_system(networks: list[str | Network] | str, design: str | HeteroDesign, *,
                            assign: list[int] | None = None, specs: str | Specs | None = None,
                            constant_set: str = "current", energy_quirks: bool = False, budget: Budget | None = None,
                            offchip_bandwidth: int = 50, noc_hops: int = 1, l1_bytes: int | None = None,
                            l2_bytes: int | None = None) -> SystemCost:
    """Price a heterogeneous system (NASAIC): one network per task (names, YAML files or specs; a string is
    comma-separated), a design ``dla:576:56,shi:1792:8`` (template:PEs:NoC bandwidth) within ``budget``
    (default: PEs <= 4096 in steps of 64, bandwidth <= 64 in steps of 8), network ``i`` on sub-accelerator
    ``assign[i]`` (default ``i``), and specs ``L,E,A`` (cycles, nJ, um^2) as hard constraints. Latency is
    the slowest sub-accelerator's (its networks run one after another), energy and area are sums; see
    :mod:`coexplore.maestro.system`."""
    from coexplore.maestro.energy import constants
    from coexplore.maestro.system import parse_design, parse_specs, price_system

    constants(constant_set)  # an unknown name fails before any work
    if isinstance(networks, str):
        networks = [n.strip() for n in networks.split(",")]
    if not networks or any(isinstance(n, str) and not n for n in networks):
        raise SpecError(f"networks: expected one or more comma-separated network names or files, got {networks!r}")
    nets = [resolve_network(n) if isinstance(n, str) else n for n in networks]
    d = parse_design(design) if isinstance(design, str) else design
    s = parse_specs(specs) if isinstance(specs, str) else specs
    return price_system(nets, d, assign=assign, specs=s, budget=budget, constant_set=constant_set,
                        energy_quirks=energy_quirks, offchip_bandwidth=offchip_bandwidth, noc_hops=noc_hops,
                        l1_bytes=l1_bytes, l2_bytes=l2_bytes)
