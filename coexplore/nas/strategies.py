"""Strategies of network search: BRP-NAS, and the generic categorical ones with the defaults NAS needs.

* ``brp``: BRP-NAS (Dudziak et al., NeurIPS 2020; :mod:`coexplore.nas.brp_nas`): a
  binary-relation GCN predictor ranks the whole (feasible) pool; each round queries the top
  of the ranking and some of the next best (iterative data selection), then refits on
  everything queried. Written for the NAS problem (it ranks architectures' graphs).
* every generic strategy of :mod:`coexplore.search.registry` (``random``, ``evolution``,
  ``reinforce``, ``nsga2``, ``cma-es``, ...) searches the problem's categorical encoding (one
  decision per edge, layer or block choice). :data:`GENERIC_DEFAULTS` are the defaults the
  network search kind gives them: a query is a network trained, so random search and
  evolution never propose a network twice, and evolution proposes one network at a time, so
  that every result informs the next proposal (what the NAS strategies did before they were
  unified with the generic ones). REINFORCE keeps the generic defaults: with its standardised
  reward, one sample per update (the old NAS default) let the policy collapse onto one network
  before it found the best feasible one in 10 of 20 runs on NAS-Bench-201 (seeds 100-119),
  against 0 of 20 with the generic batch of 8 (BENCHMARKS.md, network search). Parameters
  given explicitly override these defaults.

Values are minimised (the NAS problem returns ``-accuracy``), infeasible ones are ``inf``.
Every strategy owns its ``numpy.random.Generator``: the same seed gives the same trials.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from coexplore.errors import RegistryError, SpecError
from coexplore.nas.brp_nas import BrpNas
from coexplore.nas.problem import NasProblem
from coexplore.registry import Registry
from coexplore.search.strategy import Strategy

__all__ = ["GENERIC_DEFAULTS", "NAS_STRATEGIES", "BrpNas", "generic_defaults", "make_nas_strategy",
           "nas_strategy_names"]

NAS_STRATEGIES: Registry[Callable[..., Strategy]] = Registry(kind="NAS strategy")

#: Hyper-parameters the network search kind gives generic strategies unless a value is given.
GENERIC_DEFAULTS: dict[str, dict[str, Any]] = {
    "random": {"unique": True, "batch": 10},
    "evolution": {"unique": True, "batch": 1},
}


@NAS_STRATEGIES.register("brp", "BRP-NAS: binary-relation GCN predictor with iterative data selection")
def _brp() -> Callable[..., Strategy]:
    return BrpNas


def generic_defaults(name: str) -> dict[str, Any]:
    """The network search kind's defaults for generic strategy ``name`` (empty: the strategy's own)."""
    return dict(GENERIC_DEFAULTS.get(name, {}))


def nas_strategy_names() -> list[str]:
    """Every strategy a network search accepts: its own, then the generic ones."""
    from coexplore.search.registry import generic_names

    return [*NAS_STRATEGIES.names(), *(n for n in generic_names() if n not in NAS_STRATEGIES)]


def make_nas_strategy(name: str, problem: NasProblem, *, seed: int = 0, budget: int | None = None,
                      **params: Any) -> tuple[Strategy, Any]:
    """Strategy ``name`` set up on ``problem``; returns it and the problem to evaluate (for a box strategy
    such as ``cma-es``, ``problem`` seen as a box). An unknown name or parameter is named with the valid ones."""
    if name in NAS_STRATEGIES:
        cls = NAS_STRATEGIES.get(name)
        valid = [k for k in inspect.signature(cls).parameters if k not in ("space", "seed")]
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise SpecError(f"strategy.params: unknown {', '.join(unknown)} for {name}; valid: {', '.join(valid)}")
        if name == "brp":
            params.setdefault("pool_filter", problem.feasible)
        strategy = cls(space=problem.space, seed=seed, **params)
        strategy.bind(problem, budget)
        return strategy, problem
    from coexplore.search.registry import generic_names, make_strategy

    if name not in generic_names():
        raise RegistryError(f"unknown NAS strategy {name!r}; valid: {', '.join(nas_strategy_names())}")
    return make_strategy(name, problem, seed=seed, budget=budget, params={**generic_defaults(name), **params})
