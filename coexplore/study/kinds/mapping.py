"""Study kind ``mapping``: one trial maps one distinct layer shape of a network on a fixed accelerator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coexplore.errors import SpecError
from coexplore.study.kinds import ProblemKind, register
from coexplore.study.kinds._checks import string

if TYPE_CHECKING:
    from coexplore.search.strategy import Strategy
    from coexplore.study.config import StudyConfig


def _check(p: dict[str, Any], path: str) -> list[str]:
    errs: list[str] = []
    string(errs, p, path, "network", kind="mapping", required=True)
    string(errs, p, path, "accelerator", kind="mapping", required=True)
    string(errs, p, path, "mapper", kind="mapping")
    if isinstance(p.get("mapper"), str) and p["mapper"]:
        from coexplore.mapper.registry import mapper_names

        if p["mapper"] not in mapper_names():
            errs.append(f"{path}.mapper: must be one of {', '.join(mapper_names())}, got {p['mapper']!r}")
    return errs


def _build(config: StudyConfig, *, progress: bool = True) -> Any:
    from coexplore.mapper.network_problem import NetworkMappingProblem
    from coexplore.resolve import resolve_accelerator, resolve_network

    p = config.problem
    return NetworkMappingProblem(network=resolve_network(p["network"]),
                                 accelerator=resolve_accelerator(p["accelerator"]), mapper=p.get("mapper", "default"),
                                 objectives=config.objectives, seed=config.seed)


def _strategy(config: StudyConfig, problem: Any, params: dict[str, Any]) -> Strategy:
    from coexplore.mapper.network_problem import LayerList

    unknown = sorted(set(params) - {"batch"})
    if unknown:
        raise SpecError(f"strategy.params: unknown {', '.join(unknown)} for layers; valid: batch")
    return LayerList(count=len(problem.layers), batch=int(params.get("batch", 4)))


register(ProblemKind(
    name="mapping", keys=frozenset({"kind", "network", "accelerator", "mapper"}),
    objectives=("edp", "energy", "latency"),
    default_objectives=("edp",), default_strategy="layers", own_strategies=lambda: ["layers"], encoding=None,
    check=_check, build=_build, own_strategy=_strategy,
    describe=lambda name: "one trial maps one distinct layer shape with the problem's mapper"))
