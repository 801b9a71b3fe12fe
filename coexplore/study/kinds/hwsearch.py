"""Study kind ``hwsearch``: accelerator search under a preset's budget, every candidate mapped network by network."""

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
    nets = p.get("networks")
    if not isinstance(nets, list) or not nets or not all(isinstance(n, str) and n for n in nets):
        errs.append(f"{path}.networks: must be a non-empty list of network names, got {nets!r}")
    string(errs, p, path, "budget", kind="hwsearch", required=True)
    if p.get("mode", "full") not in ("full", "sizing"):
        errs.append(f"{path}.mode: must be full or sizing, got {p.get('mode')!r}")
    if p.get("mapper", "default") not in ("default", "naas"):
        errs.append(f"{path}.mapper: must be default or naas (the inner mapping search), got {p.get('mapper')!r}")
    return errs


def _build(config: StudyConfig, *, progress: bool = True) -> Any:
    from coexplore.hwsearch.budget import resolve_budget
    from coexplore.hwsearch.problem import INNER_MAPPERS, AcceleratorSearchProblem
    from coexplore.hwsearch.space import AcceleratorSpace
    from coexplore.presets.networks import get_network

    p = config.problem
    budget, template = resolve_budget(p["budget"])
    if template is None:
        raise SpecError(f"problem.budget: must be an accelerator preset, got {p['budget']!r}")
    hw_space = AcceleratorSpace(template=template, budget=budget, mode=p.get("mode", "full"))
    return AcceleratorSearchProblem(space=hw_space, networks=[get_network(n) for n in p["networks"]],
                                    objectives=config.objectives, seed=config.seed, jobs=1,
                                    mapper=INNER_MAPPERS[p.get("mapper", "default")])


def _strategy(config: StudyConfig, problem: Any, params: dict[str, Any]) -> Strategy:
    from coexplore.hwsearch.search import make_hw_strategy

    unknown = sorted(set(params) - {"popsize"})
    if unknown:
        raise SpecError(f"strategy.params: unknown {', '.join(unknown)} for {config.strategy}; valid: popsize")
    return make_hw_strategy(config.strategy, problem.space, seed=config.seed, popsize=params.get("popsize"), jobs=1)


def _names() -> list[str]:
    from coexplore.hwsearch.search import STRATEGIES

    return list(STRATEGIES)


def _describe(name: str) -> str:
    from coexplore.hwsearch.search import STRATEGY_DESCRIPTIONS

    return STRATEGY_DESCRIPTIONS[name]


register(ProblemKind(
    name="hwsearch", keys=frozenset({"kind", "networks", "budget", "mode", "mapper"}),
    objectives=("edp", "energy", "latency", "edap", "area"), default_objectives=("edp",), default_strategy="naas",
    own_strategies=_names, encoding="box", check=_check, build=_build, own_strategy=_strategy, describe=_describe))
