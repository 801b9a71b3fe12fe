"""Searches through the API: mappings, accelerators (ASIC templates and FPGA boards), networks, co-design.

Each function takes names or files (presets, YAML) as well as spec objects, resolves them,
and returns a typed result with ``to_record()`` (the JSON the CLI prints); the searches
themselves live in ``mapper``, ``hwsearch``, ``nas`` and ``study``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coexplore.api.evaluate import MODELS
from coexplore.api.results import CodesignResult, NasSearchResult
from coexplore.errors import RegistryError, SpecError
from coexplore.resolve import resolve_accelerator, resolve_network
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer, Network

if TYPE_CHECKING:
    from coexplore.hwsearch.board_search import FpgaSearchResult
    from coexplore.hwsearch.butterfly_search import ButterflySearchResult
    from coexplore.hwsearch.maestro_search import MaestroHwSearchResult
    from coexplore.hwsearch.multi_fpga import MultiFpgaSearchResult
    from coexplore.hwsearch.precision import PrecisionSearchResult
    from coexplore.hwsearch.search import HwSearchResult
    from coexplore.mapper.results import NetworkMapResult
    from coexplore.mapping.constraints import MapConstraints
    from coexplore.nas.evaluators import Evaluator
    from coexplore.nas.space import ArchSpace
    from coexplore.system.spec import SystemSpec

__all__ = ["HWSEARCH_MODELS", "codesign", "map_network", "search_accelerator", "search_networks"]

HWSEARCH_MODELS = (*MODELS, "butterfly")
"""Cost semantics an accelerator search can use: the evaluation models and the butterfly accelerator template
(:mod:`coexplore.hwsearch.butterfly_search`, priced by :mod:`coexplore.cost.butterfly`)."""


def map_network(
    network: str | Network | Layer, accelerator: str | Accelerator, *, mapper: str = "default",
    objective: str = "edp", seed: int = 0, jobs: int | None = None, max_evals: int | None = None,
    max_seconds: float | None = None, progress: bool = False,
    constraints: str | Path | MapConstraints | None = None, dataflow: str | None = None, padding: bool = False,
    throttle: bool = False,
) -> NetworkMapResult:
    """The best mapping of every layer of ``network`` (identical shapes map once).

    ``network``: a preset name, YAML or ONNX file, a :class:`Network`, or one :class:`Layer`
    (mapped as network ``layer``). ``constraints``: a constraints YAML or object; ``dataflow``
    (``weight``, ``output``, ``input``, ``row``) restricts mappings to a dataflow family instead.
    With ``padding`` a padded layer's result names the padded sizes (see
    :mod:`coexplore.mapper.padding`). The rest goes to :func:`coexplore.mapper.network.map_network`.
    """
    from coexplore.mapper.network import map_network as map_all
    from coexplore.mapping.constraints import dataflow_constraints, load_constraints_yaml

    acc = accelerator if isinstance(accelerator, Accelerator) else resolve_accelerator(accelerator)
    if isinstance(network, Layer):
        net = Network(name="layer", layers=(network,))
    else:
        net = network if isinstance(network, Network) else resolve_network(network)
    if constraints is not None and dataflow is not None:
        raise SpecError("map: give constraints (--constraints) or dataflow (--dataflow), not both")
    cons = load_constraints_yaml(constraints) if isinstance(constraints, (str, Path)) else constraints
    if dataflow is not None:
        cons = dataflow_constraints(acc, dataflow)
    return map_all(net, acc, mapper=mapper, objective=objective, seed=seed, jobs=jobs, max_evals=max_evals,
                   max_seconds=max_seconds, progress=progress, constraints=cons, padding=padding, throttle=throttle)


def _resolve_networks(networks: str | Network | Sequence[str | Network]) -> list[Network]:
    if isinstance(networks, (str, Network)):
        networks = [networks]
    out = []
    for n in networks:
        try:
            out.append(n if isinstance(n, Network) else resolve_network(n))
        except RegistryError as e:
            raise RegistryError(f"networks (--network): {e}") from None
    return out


def search_accelerator(
    networks: str | Network | Sequence[str | Network], budget: str | Accelerator | None,
    objective: str | None = None, *,
    strategy: str | None = None, mode: str | None = None, seed: int | None = None, budget_evals: int | None = None,
    max_seconds: float | None = None, jobs: int | None = None, popsize: int | None = None,
    throttle: bool | None = None, finalists: int | None = None, mapper: str | None = None,
    precisions: str | None = None, max_accuracy_drop: float | None = None, fpga_mode: str | None = None,
    progress: bool = False, model: str = "timeloop", constant_set: str | None = None, boards: int | None = None,
    link_gbps: float | None = None, partition: str | None = None, memory_ports: str | None = None,
    uneven: bool | None = None, system: str | SystemSpec | None = None,
) -> (HwSearchResult | PrecisionSearchResult | FpgaSearchResult | MaestroHwSearchResult | MultiFpgaSearchResult
      | ButterflySearchResult):
    """The best accelerator for ``networks`` under ``budget``'s resources.

    ``networks``: presets, YAML or ONNX files, searched cells (``nb201:INDEX``) or :class:`Network` objects.
    ``budget``: an accelerator preset or object, the template and the resource bound (NAAS search,
    :func:`coexplore.hwsearch.search.search_accelerator`, whose defaults fill the options left
    ``None``; returns :class:`HwSearchResult`). With ``precisions`` (``"8x8,4x4:1.5"``) the search
    runs once per precision choice (:mod:`coexplore.hwsearch.precision`; returns
    :class:`PrecisionSearchResult`, whose record is the best choice's with ``precision`` filled).
    Or an FPGA board (``xc7a50t``, ``xc7z020``, ``zcu102``): FNAS's tiling template, searched
    exhaustively, ``fpga_mode`` ``shared`` (default) or ``pipelined``; returns
    :class:`FpgaSearchResult`. With ``boards`` and ``link_gbps`` (inter-FPGA link, Gbit/s), Super-LIP's
    multi-FPGA search instead (:mod:`coexplore.hwsearch.multi_fpga`: per layer a split over the boards,
    ``partition`` like ``K=2`` to fix it, and a tiling; ``memory_ports`` ``shared`` or ``split``;
    ``uneven``: factors need not divide their dimension);
    returns :class:`MultiFpgaSearchResult`. Or ``system``, a system spec (YAML path or
    :class:`~coexplore.system.spec.SystemSpec`) of identical FPGA boards and their links, instead of
    ``boards``/``link_gbps`` (which stand for N boards linked all to all): the same search over the
    splits its links can carry, link bandwidth and hop latency from the spec (``budget`` may be
    None, or must be the spec's board). The records share one shape (:mod:`coexplore.hwsearch.record`).
    With ``model="maestro"``: MAESTRO's templates x PEs x NoC bandwidth within an accelerator preset's PEs,
    priced with MAESTRO's semantics (``constant_set``, default ``current``;
    :mod:`coexplore.hwsearch.maestro_search`; strategies ``evolution`` (default), ``random``, ``grid``,
    ``nsga2``); returns :class:`~coexplore.hwsearch.maestro_search.MaestroHwSearchResult`, the same record
    shape with ``model: maestro``. With ``model="butterfly"``: the butterfly accelerator template (engines x
    units x buffers) within the preset's MACs, SRAM, DRAM bandwidth and clock
    (:mod:`coexplore.hwsearch.butterfly_search`, same strategies as maestro); returns
    :class:`~coexplore.hwsearch.butterfly_search.ButterflySearchResult`, the record with ``model: butterfly``.

    Raises:
        RegistryError: an unknown network, preset or board (the message lists the valid names).
        SpecError: an option that does not apply to the budget's kind, or a bad option value.
    """
    from coexplore.presets.accelerators import ACCELERATORS
    from coexplore.presets.boards import BOARDS

    if system is not None or budget is None:
        return _search_system(networks, budget, system, model=model, fpga_mode=fpga_mode, partition=partition,
                              memory_ports=memory_ports, uneven=uneven,
                              others={"objective": objective, "strategy": strategy, "mode": mode, "seed": seed,
                                      "budget_evals": budget_evals, "max_seconds": max_seconds, "jobs": jobs,
                                      "popsize": popsize, "throttle": throttle, "finalists": finalists,
                                      "mapper": mapper, "precisions": precisions,
                                      "max_accuracy_drop": max_accuracy_drop, "constant_set": constant_set,
                                      "boards": boards, "link_gbps": link_gbps})
    if isinstance(budget, str) and budget not in ACCELERATORS and budget not in BOARDS:
        raise RegistryError(f"budget (--budget): unknown accelerator preset or FPGA board {budget!r}; valid: "
                            f"{', '.join(ACCELERATORS)}, {', '.join(BOARDS)}")
    if model not in HWSEARCH_MODELS:
        raise SpecError(f"model (--model): unknown {model!r}; valid: {', '.join(HWSEARCH_MODELS)}")
    if model == "butterfly":
        return _search_butterfly(networks, budget, objective=objective, strategy=strategy, seed=seed,
                                 budget_evals=budget_evals, max_seconds=max_seconds,
                                 others={"mode": mode, "jobs": jobs, "popsize": popsize, "throttle": throttle,
                                         "finalists": finalists, "mapper": mapper, "precisions": precisions,
                                         "max_accuracy_drop": max_accuracy_drop, "fpga_mode": fpga_mode,
                                         "boards": boards, "link_gbps": link_gbps, "partition": partition,
                                         "memory_ports": memory_ports, "uneven": uneven,
                                         "constant_set": constant_set})
    if model == "maestro":
        return _search_maestro(networks, budget, objective=objective, strategy=strategy, seed=seed,
                               budget_evals=budget_evals, max_seconds=max_seconds, constant_set=constant_set,
                               others={"mode": mode, "jobs": jobs, "popsize": popsize, "throttle": throttle,
                                       "finalists": finalists, "mapper": mapper, "precisions": precisions,
                                       "max_accuracy_drop": max_accuracy_drop, "fpga_mode": fpga_mode,
                                       "boards": boards, "link_gbps": link_gbps, "partition": partition,
                                       "memory_ports": memory_ports, "uneven": uneven})
    if constant_set is not None:
        raise SpecError(f"constant_set (--constants): applies to the maestro model only, not --model timeloop; got "
                        f"{constant_set!r}")
    nets = _resolve_networks(networks)
    asic: dict[str, Any] = {
        "objective": objective, "strategy": strategy, "mode": mode, "seed": seed, "budget_evals": budget_evals,
        "max_seconds": max_seconds, "jobs": jobs, "popsize": popsize, "throttle": throttle, "finalists": finalists,
        "mapper": mapper}
    if isinstance(budget, str) and budget in BOARDS:
        from coexplore.hwsearch.board_search import search_board
        from coexplore.presets.boards import get_board

        unused = sorted(k for k, v in {**asic, "precisions": precisions,
                                       "max_accuracy_drop": max_accuracy_drop}.items() if v is not None)
        if unused:
            raise SpecError(f"search_accelerator: FPGA board {budget!r} is searched exhaustively for latency; "
                            "these options apply to accelerator presets only: "
                            + ", ".join(f"{k} (--{k.replace('_', '-')})" for k in unused))
        if any(v is not None for v in (boards, link_gbps, partition, memory_ports, uneven)):
            return _search_multi_fpga(nets, get_board(budget), boards=boards, link_gbps=link_gbps,
                                      partition=partition, memory_ports=memory_ports, fpga_mode=fpga_mode,
                                      uneven=bool(uneven))
        return search_board(nets, get_board(budget), fpga_mode or "shared")
    board_only = {"fpga_mode": fpga_mode, "boards": boards, "link_gbps": link_gbps, "partition": partition,
                  "memory_ports": memory_ports, "uneven": uneven}
    for k, v in board_only.items():
        if v is not None:
            raise SpecError(f"{k} (--{k.replace('_', '-')}): applies to FPGA boards only, got accelerator {budget!r}")
    given = {k: v for k, v in asic.items() if v is not None}
    if precisions is not None:
        from coexplore.hwsearch.precision import parse_precisions, search_precisions

        if not isinstance(budget, str):
            raise SpecError("precisions (--precisions): needs an accelerator preset name as budget, got an object")
        return search_precisions(nets, budget, parse_precisions(precisions), max_accuracy_drop=max_accuracy_drop,
                                 progress=progress, **given)
    if max_accuracy_drop is not None:
        raise SpecError("max_accuracy_drop (--max-accuracy-drop): applies with precisions (--precisions) only")
    from coexplore.hwsearch.search import search_accelerator as search_asic

    return search_asic(nets, budget, progress=progress, **given)


def _search_multi_fpga(nets: list[Network], board: Any, *, boards: int | None, link_gbps: float | None,
                       partition: str | None, memory_ports: str | None, fpga_mode: str | None,
                       uneven: bool) -> MultiFpgaSearchResult:
    """``search_accelerator`` on several boards: check the multi-FPGA options, build the system, search."""
    from coexplore.cost.fpga_multi import Partition
    from coexplore.hwsearch.multi_fpga import search_cluster
    from coexplore.system.fpga_cluster import cluster_from_system, complete_system

    if fpga_mode is not None:
        raise SpecError(f"fpga_mode (--fpga-mode): the multi-FPGA search (--boards) re-tiles every layer; "
                        f"{fpga_mode!r} does not apply")
    if boards is None or link_gbps is None:
        raise SpecError("boards (--boards) and link_gbps (--link-gbps): the multi-FPGA search needs both, got "
                        f"boards={boards!r}, link_gbps={link_gbps!r}")
    if not isinstance(link_gbps, (int, float)) or not link_gbps > 0:
        raise SpecError(f"link_gbps (--link-gbps): must be > 0 Gbit/s, got {link_gbps!r}")
    spec = complete_system(board.name, boards, link_gbps / 8)  # the spec the two flags stand for
    split = Partition.parse(partition) if partition is not None else None
    cluster = cluster_from_system(spec, ports=memory_ports or "shared", lone_link_gbytes_per_s=link_gbps / 8)
    return search_cluster(nets, cluster, partition=split, uneven=uneven)


def _search_system(networks: str | Network | Sequence[str | Network], budget: str | Accelerator | None,
                   system: str | SystemSpec | None, *, model: str, fpga_mode: str | None, partition: str | None,
                   memory_ports: str | None, uneven: bool | None, others: dict[str, Any]) -> MultiFpgaSearchResult:
    """``search_accelerator(system=...)``: Super-LIP's search on a system spec's boards and links."""
    from coexplore.cost.fpga_multi import Partition
    from coexplore.hwsearch.multi_fpga import search_cluster
    from coexplore.system import spec as system_spec
    from coexplore.system.engines import board_of
    from coexplore.system.fpga_cluster import cluster_from_system

    if system is None:
        raise SpecError("budget (--budget): required (an accelerator preset or FPGA board), or give a system "
                        "(--system SYSTEM.yaml)")
    given = sorted(k for k, v in others.items() if v is not None)
    if given:
        raise SpecError("system (--system): Super-LIP's multi-FPGA search takes its boards and links from the spec; "
                        "these options do not apply: " + ", ".join(f"{k} (--{k.replace('_', '-')})" for k in given))
    if model != "timeloop":
        raise SpecError(f"model (--model): the multi-FPGA search (--system) prices FPGA boards, got {model!r}")
    if fpga_mode is not None:
        raise SpecError(f"fpga_mode (--fpga-mode): the multi-FPGA search (--system) re-tiles every layer; "
                        f"{fpga_mode!r} does not apply")
    spec = system if isinstance(system, system_spec.SystemSpec) else system_spec.load_system(system)
    cluster = cluster_from_system(spec, ports=memory_ports or "shared")
    if budget is not None and budget != cluster.multi.board.name:
        raise SpecError(f"budget (--budget): system {spec.name!r} is made of {cluster.multi.board.name!r} boards "
                        f"({board_of(spec.accelerators[0])}), got {budget!r}")
    nets = _resolve_networks(networks)
    split = Partition.parse(partition) if partition is not None else None
    return search_cluster(nets, cluster, partition=split, uneven=bool(uneven))


def _search_maestro(networks: str | Network | Sequence[str | Network], budget: str | Accelerator, *,
                    objective: str | None, strategy: str | None, seed: int | None, budget_evals: int | None,
                    max_seconds: float | None, constant_set: str | None,
                    others: dict[str, Any]) -> MaestroHwSearchResult:
    """``search_accelerator(model="maestro")``: refuse the Timeloop-search options, resolve, search."""
    from coexplore.hwsearch.maestro_search import search_maestro
    from coexplore.maestro.energy import constants
    from coexplore.presets.boards import BOARDS

    unused = sorted(k for k, v in others.items() if v is not None)
    if unused:
        flags = ", ".join(f"{k} (--{k.replace('_', '-')})" for k in unused)
        raise SpecError("search_accelerator: --model maestro searches template x PEs x NoC bandwidth; these options "
                        f"apply to --model timeloop only: {flags}")
    if isinstance(budget, str) and budget in BOARDS:
        raise SpecError(f"budget (--budget): FPGA board {budget!r} has no MAESTRO counterpart; --model "
                        f"maestro takes an accelerator preset (its MACs are the PE budget)")
    constants(constant_set or "current")
    nets = _resolve_networks(networks)
    acc = budget if isinstance(budget, Accelerator) else resolve_accelerator(budget)
    objectives = (objective or "edp").split(",")
    return search_maestro(nets, acc, objectives=objectives, strategy=strategy or "evolution", seed=seed or 0,
                          budget_evals=300 if budget_evals is None else budget_evals, max_seconds=max_seconds,
                          constant_set=constant_set or "current")


def _search_butterfly(networks: str | Network | Sequence[str | Network], budget: str | Accelerator, *,
                      objective: str | None, strategy: str | None, seed: int | None, budget_evals: int | None,
                      max_seconds: float | None, others: dict[str, Any]) -> ButterflySearchResult:
    """``search_accelerator(model="butterfly")``: refuse the other models' options, resolve, search."""
    from coexplore.hwsearch.butterfly_search import search_butterfly
    from coexplore.presets.boards import BOARDS

    unused = sorted(k for k, v in others.items() if v is not None)
    if unused:
        flags = ", ".join(f"{k} (--{k.replace('_', '-')})" for k in unused)
        raise SpecError("search_accelerator: --model butterfly searches engines x units x buffers; these options "
                        f"do not apply to it: {flags}")
    if isinstance(budget, str) and budget in BOARDS:
        raise SpecError(f"budget (--budget): --model butterfly takes an accelerator preset (its MACs, SRAM, DRAM "
                        f"bandwidth and clock are the budget), got FPGA board {budget!r}")
    nets = _resolve_networks(networks)
    acc = budget if isinstance(budget, Accelerator) else resolve_accelerator(budget)
    return search_butterfly(nets, acc, objectives=(objective or "edp").split(","), strategy=strategy or "evolution",
                            seed=seed or 0, budget_evals=300 if budget_evals is None else budget_evals,
                            max_seconds=max_seconds)


def search_networks(
    space: str | ArchSpace[Any] = "nb201", *, dataset: str | None = None, strategy: str = "brp",
    accuracy: str | Evaluator | None = None, latency: str | Evaluator | None = None,
    latency_file: str | Path | None = None, framework: str = "onnx", accelerator: str | None = None,
    max_latency_ms: float | None = None, latency_percentile: float | None = None,
    objectives: str | Sequence[str] = ("accuracy",), budget_queries: int = 100, epochs: int = 10, seed: int = 0,
    target_accuracy: float | None = None, strategy_params: Mapping[str, Any] | None = None, progress: bool = False,
) -> NasSearchResult:
    """Hardware-aware network search on fixed hardware: the most accurate network within a latency limit.

    ``space``: ``nb201``, ``chain`` or ``blocks`` (with ``dataset``), or an :class:`ArchSpace`.
    ``accuracy``: ``table`` (NB201's default) or ``train`` (the others' default), or an evaluator;
    ``latency``: ``table`` (NB201's default; ``latency_file``, ``framework``), ``cost-model`` (on
    ``accelerator``), ``none`` (the others' default), or an evaluator. The limit is
    ``max_latency_ms`` or the ``latency_percentile`` of the space's latencies (not both).
    ``objectives``: ``accuracy`` or ``accuracy,latency`` (a front). The search is
    :func:`coexplore.nas.search.search_nas` (``strategy_params`` go to the strategy).
    """
    from coexplore.nas.build import build_accuracy, build_latency, build_space, latency_limit
    from coexplore.nas.nb201 import NB201Space
    from coexplore.nas.search import search_nas

    if max_latency_ms is not None and latency_percentile is not None:
        raise SpecError("max_latency_ms (--max-latency-ms) and latency_percentile (--latency-percentile): give one")
    if isinstance(space, str) and space in ("chain", "blocks") and dataset is None and accuracy in (None, "train"):
        dataset = "digits"  # the one data set networks train on offline (the space's own default has no data here)
    sp = build_space(space, dataset) if isinstance(space, str) else space
    nb201 = isinstance(sp, NB201Space)
    acc_eval = (build_accuracy(sp, accuracy or ("table" if nb201 else "train"), epochs=epochs, seed=seed)
                if accuracy is None or isinstance(accuracy, str) else accuracy)
    lat_eval = (build_latency(sp, latency or ("table" if nb201 else "none"), path=latency_file, framework=framework,
                              accelerator=accelerator, seed=seed)
                if latency is None or isinstance(latency, str) else latency)
    limit = max_latency_ms
    if latency_percentile is not None:
        if lat_eval is None:
            raise SpecError("latency_percentile (--latency-percentile): needs a latency source (--latency table or "
                            "cost-model)")
        limit = latency_limit(sp, lat_eval, latency_percentile)
    objs = tuple(objectives.split(",")) if isinstance(objectives, str) else tuple(objectives)
    res = search_nas(sp, accuracy=acc_eval, latency=lat_eval, max_latency_ms=limit, objectives=objs,
                     strategy=strategy, budget_queries=budget_queries, seed=seed, progress=progress,
                     target_accuracy=target_accuracy, **dict(strategy_params or {}))
    return NasSearchResult(result=res, space=sp, accuracy_source=acc_eval.name,
                           latency_source=lat_eval.name if lat_eval is not None else None)


def codesign(
    source: str, *, strategy: str | None = None, budget: int | str | None = None, seed: int | None = None,
    storage: str = "sqlite:///coexplore-studies.db", name: str | None = None, jobs: int | None = 1,
    report: str | Path | bool = False, progress: bool = False, precisions: str | None = None,
) -> CodesignResult:
    """Run (or resume) the codesign study of recipe or config ``source`` (:mod:`coexplore.study.codesign`).

    ``budget``: pairs to evaluate, or ``"all"`` (every pair of an enumerable space). ``report``:
    an HTML report path; ``True`` writes ``<study>.html`` when the extra ``report`` is installed
    (else ``report_skipped`` says why); ``False`` writes none. ``precisions`` (``"W8A8,W4A4:1.5"``)
    replaces the config's precision choices and accuracy drops (NB201 accuracy minus the given drop:
    no quantized NB201 evaluator exists offline).
    """
    from coexplore.errors import MissingDependencyError
    from coexplore.report.write import write_report
    from coexplore.study.codesign import run_codesign

    summary = run_codesign(source, strategy=strategy, budget=budget, seed=seed, storage=storage, name=name,
                           jobs=jobs, progress=progress, precisions=precisions)
    if report is False:
        return CodesignResult.from_summary(summary)
    path = Path(f"{summary['study']}.html" if report is True else report)
    try:
        write_report(summary["study"], storage, html=str(path), top=3)
    except MissingDependencyError as e:
        if report is not True:  # asked for by name: an error
            raise
        return CodesignResult.from_summary(summary, report_skipped=str(e))
    return CodesignResult.from_summary(summary, report=str(path))
