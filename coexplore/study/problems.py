"""Turn a :class:`~coexplore.study.config.StudyConfig` into a problem and a fresh strategy.

The same config always builds the same problem and the same (seeded) strategy, which
is what lets ``study resume`` rebuild a study from its stored config.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from coexplore.errors import SpecError, StudyError
from coexplore.search.strategy import Strategy
from coexplore.study.config import StudyConfig
from coexplore.study.kinds import kind_strategies

__all__ = ["build_problem", "build_strategy", "is_generic", "resolve_config", "search_problem"]


def resolve_config(config: StudyConfig) -> StudyConfig:
    """``config`` with what depends on this machine fixed, as it is stored with a new study.

    ``accuracy_epochs: auto`` (codesign on NAS-Bench-201) becomes 200 when the data directory
    holds the 200-epoch column (it has no licence, so it is not shipped), else 12 (the shipped
    column), so a study keeps the accuracy it started with wherever it is resumed.
    """
    p = config.problem
    if config.kind != "codesign" or p.get("space", "nb201") != "nb201" or p.get("accuracy_epochs") != "auto":
        return config
    from coexplore.nas.tables import accuracy_available

    dataset = p.get("dataset", "cifar100")
    epochs = 200 if dataset == "cifar100" and accuracy_available(dataset, 200, "test") else 12
    return dataclasses.replace(config, problem={**p, "accuracy_epochs": epochs})


def build_problem(config: StudyConfig) -> Any:
    """The problem of ``config`` (evaluated in one process; the study parallelises over candidates)."""
    p = config.problem
    if config.kind == "custom":
        raise StudyError(f"problem.kind: custom: the problem ({p.get('class', '?')}) is a Python object; pass it "
                         f"again, e.g. Study.load(name, storage=...).optimize(problem=...)")
    if config.kind == "nas":
        from coexplore.nas.build import build_accuracy, build_latency, build_space, latency_limit
        from coexplore.nas.nb201 import NB201Space
        from coexplore.nas.problem import NasProblem

        space = build_space(p.get("space", "nb201"), p.get("dataset"))
        nb201 = isinstance(space, NB201Space)
        acc = build_accuracy(space, p.get("accuracy", "table" if nb201 else "train"), epochs=int(p.get("epochs", 10)),
                             seed=config.seed)
        lat = build_latency(space, p.get("latency", "table" if nb201 else "none"), path=p.get("latency_file"),
                            framework=p.get("framework", "onnx"), accelerator=p.get("accelerator"), seed=config.seed)
        limit = p.get("max_latency_ms")
        if p.get("latency_percentile") is not None:
            if lat is None:
                raise SpecError("problem.latency_percentile: needs a latency source, got latency: none")
            limit = latency_limit(space, lat, float(p["latency_percentile"]))
        return NasProblem(space=space, accuracy=acc, latency=lat, max_latency_ms=limit,
                          objectives=config.objectives)
    if config.kind == "codesign":
        return _codesign_problem(config)
    if config.kind == "hwsearch":
        from coexplore.hwsearch.budget import resolve_budget
        from coexplore.hwsearch.problem import INNER_MAPPERS, AcceleratorSearchProblem
        from coexplore.hwsearch.space import AcceleratorSpace
        from coexplore.presets.networks import get_network

        budget, template = resolve_budget(p["budget"])
        if template is None:
            raise SpecError(f"problem.budget: must be an accelerator preset, got {p['budget']!r}")
        hw_space = AcceleratorSpace(template=template, budget=budget, mode=p.get("mode", "full"))
        return AcceleratorSearchProblem(space=hw_space, networks=[get_network(n) for n in p["networks"]],
                                        objectives=config.objectives, seed=config.seed, jobs=1,
                                        mapper=INNER_MAPPERS[p.get("mapper", "default")])
    from coexplore.mapper.network_problem import NetworkMappingProblem
    from coexplore.resolve import resolve_accelerator, resolve_network

    return NetworkMappingProblem(network=resolve_network(p["network"]),
                                 accelerator=resolve_accelerator(p["accelerator"]),
                                 mapper=p.get("mapper", "default"), objectives=config.objectives, seed=config.seed)


def _codesign_problem(config: StudyConfig) -> Any:
    p = config.problem
    if p.get("space", "nb201") == "chain":
        from coexplore.joint.fnas import ChainFpgaProblem
        from coexplore.presets.boards import get_board

        return ChainFpgaProblem(board=get_board(p.get("board", "xc7z020")), timing_ms=float(p["timing_ms"]),
                                epochs=int(p.get("epochs", 5)), prune=bool(p.get("prune", True)),
                                objectives=config.objectives, seed=config.seed, max_layers=p.get("max_layers"))
    from coexplore.joint.problem import NB201GridProblem
    from coexplore.joint.space import grid_for

    dataset = p.get("dataset", "cifar100")
    epochs = resolve_config(config).problem.get("accuracy_epochs", 200 if dataset == "cifar100" else 12)
    return NB201GridProblem(grid=grid_for(p.get("accelerators", "eyeriss")), dataset=dataset,
                            accuracy_epochs=int(epochs), objectives=config.objectives,
                            design_stride=int(p.get("design_stride", 1)),
                            max_latency_cycles=p.get("max_latency_cycles"), max_area_mm2=p.get("max_area_mm2"),
                            precisions=p.get("precisions"), accuracy_drop=p.get("accuracy_drop"), progress=True)


def is_generic(config: StudyConfig) -> bool:
    """True when ``config``'s strategy is a generic one (not the kind's own of that name)."""
    own, generic = kind_strategies(config.kind)
    return config.strategy not in own and config.strategy in generic


def search_problem(config: StudyConfig, problem: Any) -> Any:
    """The problem the study's strategy searches: ``problem`` itself, or ``problem`` seen in the other
    encoding when a generic strategy made for that one was chosen (decided by the config alone, so a
    resumed study bridges the same way)."""
    if not is_generic(config):
        return problem
    from coexplore.search.encoding import bridge, encoding_of
    from coexplore.search.registry import made_for

    enc = encoding_of(problem)
    if enc is None:
        raise SpecError(f"strategy.name: {config.strategy} is a generic strategy; a {config.kind} problem declares no "
                        f"encoding for it")
    return bridge(problem, made_for(config.strategy, enc.kind))


def build_strategy(config: StudyConfig, problem: Any) -> Strategy:
    """A fresh, seeded strategy for ``problem`` (for a generic strategy: :func:`search_problem`'s)."""
    params = dict(config.strategy_params)
    if is_generic(config):
        from coexplore.search.registry import make_strategy

        strategy, _ = make_strategy(config.strategy, problem, seed=config.seed, budget=config.trials, params=params)
        return strategy
    if config.kind == "codesign":
        from coexplore.joint.registry import make_joint_strategy

        return make_joint_strategy(config.strategy, problem, seed=config.seed, budget=config.trials, **params)
    if config.kind == "nas":
        from coexplore.nas.strategies import make_nas_strategy

        if config.strategy == "brp":
            params.setdefault("pool_filter", problem.feasible)
        return make_nas_strategy(config.strategy, space=problem.space, seed=config.seed, **params)
    if config.kind == "hwsearch":
        from coexplore.hwsearch.search import make_hw_strategy

        unknown = sorted(set(params) - {"popsize"})
        if unknown:
            raise SpecError(f"strategy.params: unknown {', '.join(unknown)} for {config.strategy}; valid: popsize")
        return make_hw_strategy(config.strategy, problem.space, seed=config.seed, budget_evals=config.trials,
                                popsize=params.get("popsize"), jobs=1)
    from coexplore.mapper.network_problem import LayerList

    unknown = sorted(set(params) - {"batch"})
    if unknown:
        raise SpecError(f"strategy.params: unknown {', '.join(unknown)} for layers; valid: batch")
    return LayerList(count=len(problem.layers), batch=int(params.get("batch", 4)))
