"""Study kind ``nas``: network search on a NAS space (accuracy, latency from a table, a model or the cost model)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coexplore.errors import SpecError
from coexplore.study.kinds import ProblemKind, register
from coexplore.study.kinds._checks import positive, string

if TYPE_CHECKING:
    from coexplore.search.strategy import Strategy
    from coexplore.study.config import StudyConfig


def _check(p: dict[str, Any], path: str) -> list[str]:
    errs: list[str] = []
    for k in ("space", "dataset", "accuracy", "latency", "accelerator", "latency_file", "framework"):
        string(errs, p, path, k, kind="nas")
    for k in ("max_latency_ms", "latency_percentile", "epochs"):
        positive(errs, p, path, k)
    if p.get("max_latency_ms") is not None and p.get("latency_percentile") is not None:
        errs.append(f"{path}: give max_latency_ms or latency_percentile, not both")
    if p.get("latency") == "cost-model" and not p.get("accelerator"):
        errs.append(f"{path}.accelerator: required with latency: cost-model, got nothing")
    return errs


def _build(config: StudyConfig, *, progress: bool = True) -> Any:
    from coexplore.nas.build import build_accuracy, build_latency, build_space, latency_limit
    from coexplore.nas.nb201 import NB201Space
    from coexplore.nas.problem import NasProblem

    p = config.problem
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
    return NasProblem(space=space, accuracy=acc, latency=lat, max_latency_ms=limit, objectives=config.objectives)


def _strategy(config: StudyConfig, problem: Any, params: dict[str, Any]) -> Strategy:
    from coexplore.nas.strategies import make_nas_strategy

    return make_nas_strategy(config.strategy, problem, seed=config.seed, budget=config.trials, **params)[0]


def _names() -> list[str]:
    from coexplore.nas.strategies import NAS_STRATEGIES

    return NAS_STRATEGIES.names()


def _describe(name: str) -> str:
    from coexplore.nas.strategies import NAS_STRATEGIES

    return NAS_STRATEGIES.describe(name)


def _defaults(name: str) -> dict[str, Any]:
    from coexplore.nas.strategies import generic_defaults

    return generic_defaults(name)


register(ProblemKind(
    name="nas", keys=frozenset({"kind", "space", "dataset", "accuracy", "latency", "accelerator", "latency_file",
                                "framework", "max_latency_ms", "latency_percentile", "epochs"}),
    objectives=("accuracy", "latency"), default_objectives=("accuracy",), default_strategy="evolution",
    own_strategies=_names, encoding="categorical", check=_check, build=_build, own_strategy=_strategy,
    describe=_describe, accuracy_first=True, generic_defaults=_defaults, latency_unit="ms"))
