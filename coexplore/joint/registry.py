"""Joint strategies by name (what ``strategy.name`` of a codesign study and ``--strategy`` select)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from coexplore.errors import SpecError
from coexplore.search.strategy import Strategy

__all__ = ["JOINT_STRATEGIES", "describe_joint_strategy", "joint_strategy_parameters", "make_joint_strategy"]


def _classes() -> dict[str, Callable[..., Strategy]]:
    from coexplore.joint.baselines import HwAwareNas, RandomPairs, Sequential
    from coexplore.joint.codesign_nas import CodesignNas
    from coexplore.joint.codesign_rl import CodesignNasRl
    from coexplore.joint.dance import DanceStrategy
    from coexplore.joint.fabnet_codesign import FabnetCodesign
    from coexplore.joint.fnas_controller import FnasController
    from coexplore.joint.grouped import GroupedSearch
    from coexplore.joint.naas import NaasNested
    from coexplore.joint.nacim_search import Nacim
    from coexplore.joint.nands_search import Nands, NandsFixedNoc
    from coexplore.joint.nasaic_search import AsicHwNas, NasaicRl, NasAsic
    from coexplore.joint.nass_search import Nass
    from coexplore.joint.quannas_search import QuanNas, QuanNasTwoStep

    return {"codesign-nas": CodesignNas, "codesign-nas-rl": CodesignNasRl, "naas": NaasNested,
            "fnas": FnasController, "dance": DanceStrategy, "sequential": Sequential, "hw-aware-nas": HwAwareNas,
            "random": RandomPairs, "grouped": GroupedSearch, "nasaic": NasaicRl, "nas-asic": NasAsic,
            "asic-hw-nas": AsicHwNas, "quannas": QuanNas, "quannas-two-step": QuanNasTwoStep,
            "nacim": Nacim, "nass": Nass, "nands": Nands, "nands-fixed-noc": NandsFixedNoc,
            "fabnet": FabnetCodesign}


JOINT_STRATEGIES = ("codesign-nas", "codesign-nas-rl", "naas", "fnas", "dance", "grouped", "sequential", "hw-aware-nas",
                    "random", "nasaic", "nas-asic", "asic-hw-nas", "quannas", "quannas-two-step", "nacim",
                    "nass", "nands", "nands-fixed-noc", "fabnet")


def describe_joint_strategy(name: str) -> str:
    """The first line of strategy ``name``'s docstring (what ``coexplore list strategies`` prints)."""
    doc = (_classes()[name].__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""


def joint_strategy_parameters(name: str) -> list[str]:
    """The hyper-parameters strategy ``name`` accepts (besides ``seed``)."""
    return [k for k in inspect.signature(_class(name)).parameters if k != "seed"]


def _class(name: str) -> Callable[..., Strategy]:
    classes = _classes()
    if name not in classes:
        raise SpecError(f"strategy.name: must be one of {', '.join(JOINT_STRATEGIES)}, got {name!r}")
    return classes[name]


def make_joint_strategy(name: str, problem: Any, *, seed: int, budget: int, **params: Any) -> Strategy:
    """Strategy ``name`` built from ``seed`` and ``params`` and set up on ``problem`` with ``budget`` pairs.

    Everything a study checks before its first trial fails here: an unknown name or parameter
    (named with the valid ones), a bad value, a problem the strategy cannot search.
    """
    cls = _class(name)
    valid = joint_strategy_parameters(name)
    from coexplore.joint.precision import refuse_strategy

    why = refuse_strategy(name, getattr(problem, "precisions", None))
    if why:
        raise SpecError(why)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise SpecError(f"strategy.params: unknown {', '.join(unknown)} for {name}; valid: {', '.join(valid)}")
    strategy = cls(seed=seed, **params)
    strategy.bind(problem, budget)
    return strategy
