"""Joint strategies by name (what ``strategy.name`` of a codesign study and ``--strategy`` select)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from coexplore.errors import SpecError
from coexplore.search.strategy import Strategy

__all__ = ["JOINT_STRATEGIES", "describe_joint_strategy", "make_joint_strategy"]


def _classes() -> dict[str, Callable[..., Strategy]]:
    from coexplore.joint.baselines import HwAwareNas, RandomPairs, Sequential
    from coexplore.joint.codesign_nas import CodesignNas
    from coexplore.joint.codesign_rl import CodesignNasRl
    from coexplore.joint.dance import DanceStrategy
    from coexplore.joint.fnas_controller import FnasController
    from coexplore.joint.grouped import GroupedSearch
    from coexplore.joint.naas import NaasNested

    return {"codesign-nas": CodesignNas, "codesign-nas-rl": CodesignNasRl, "naas": NaasNested,
            "fnas": FnasController, "dance": DanceStrategy, "sequential": Sequential, "hw-aware-nas": HwAwareNas,
            "random": RandomPairs, "grouped": GroupedSearch}


JOINT_STRATEGIES = ("codesign-nas", "codesign-nas-rl", "naas", "fnas", "dance", "grouped", "sequential", "hw-aware-nas",
                    "random")
#: Strategies whose fitness takes every objective after accuracy as a positive cost (log-scaled):
#: a maximised objective (perf_per_area) would be silently ignored, so it is refused.
_COSTS_ONLY = ("naas", "fnas", "dance", "grouped")


def describe_joint_strategy(name: str) -> str:
    """The first line of strategy ``name``'s docstring (what ``coexplore list strategies`` prints)."""
    doc = (_classes()[name].__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""


def make_joint_strategy(name: str, problem: Any, *, seed: int, budget: int, **params: Any) -> Strategy:
    """Strategy ``name`` on ``problem``; unknown parameters are named with the valid ones."""
    classes = _classes()
    if name not in classes:
        raise SpecError(f"strategy.name: must be one of {', '.join(JOINT_STRATEGIES)}, got {name!r}")
    cls = classes[name]
    objectives = tuple(getattr(problem, "objectives", ()))
    if name in _COSTS_ONLY and "perf_per_area" in objectives:
        raise SpecError(f"objectives: strategy {name} takes every objective after accuracy as a cost to minimise; "
                        f"perf_per_area is maximised: use codesign-nas, codesign-nas-rl, sequential, hw-aware-nas "
                        f"or random, or drop it, got {list(objectives)!r}")
    from coexplore.joint.precision import refuse_strategy

    why = refuse_strategy(name, getattr(problem, "precisions", None))
    if why:
        raise SpecError(why)
    valid = [k for k in inspect.signature(cls).parameters if k not in ("problem", "seed", "budget")]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise SpecError(f"strategy.params: unknown {', '.join(unknown)} for {name}; valid: {', '.join(valid)}")
    return cls(problem, seed=seed, budget=budget, **params)
