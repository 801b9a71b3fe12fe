"""The search loop shared by template spaces priced outside the Timeloop model (MAESTRO, butterfly).

Why: both spaces search a categorical grid of designs with the generic strategies, under the same rules
(one objective unless NSGA-II; unique draws; grid = every design), and report their best design and, with
several objectives, the non-dominated ones ranked the same way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.hwsearch.problem import DesignCost, check_objectives
from coexplore.search.driver import optimize
from coexplore.search.pareto import non_dominated
from coexplore.search.registry import make_strategy

__all__ = ["check_search", "ranked_designs", "run_search"]


def check_search(strategy: str, strategies: Mapping[str, str], objectives: Sequence[str],
                 space_name: str) -> tuple[str, ...]:
    """The objectives, checked; SpecError for a strategy the space does not take or several objectives
    without NSGA-II."""
    if strategy not in strategies:
        raise SpecError(f"strategy (--strategy): {strategy!r} does not search the {space_name} space; valid: "
                        f"{', '.join(strategies)}")
    checked = check_objectives(objectives)
    if len(checked) > 1 and strategy != "nsga2":
        raise SpecError(f"objective (--objective): several objectives ({','.join(checked)}) need --strategy "
                        f"nsga2, got {strategy}")
    return checked


def run_search(problem: Any, strategies: Mapping[str, str], strategy: str, *, size: int, seed: int,
               budget_evals: int, max_seconds: float | None, none_found: str) -> tuple[Any, float]:
    """Run ``strategy`` on ``problem`` (``size`` designs: all of them for ``grid``); the result and the search's
    seconds. SpecError ``none_found`` + the first reasons when no design was feasible."""
    evals = size if strategy == "grid" else budget_evals
    params = {} if strategy == "nsga2" else {"unique": True}
    strat, target = make_strategy(strategies[strategy], problem, seed=seed, budget=evals, params=params)
    t0 = time.perf_counter()
    res = optimize(target, strat, max_evals=evals, max_seconds=max_seconds)
    seconds = time.perf_counter() - t0
    if not res.found:
        reasons = "; ".join(f"{r} ({n}x)" for r, n in list(res.infeasible_reasons.items())[:3])
        raise SpecError(f"{none_found} in {res.evaluated} evaluations: {reasons}")
    return res, seconds


def ranked_designs(designs: Sequence[Any], costs: Sequence[Any], values: Sequence[Sequence[float]],
                   objectives: Sequence[str]) -> tuple[list[tuple[Any, Any, tuple[float, ...]]],
                                                       tuple[tuple[Any, DesignCost, tuple[float, ...]], ...]]:
    """The found designs best first (by the objective, or by EDP with several) and, with several objectives,
    the non-dominated ones."""
    ranked = sorted(((d, c, tuple(v)) for d, c, v in zip(designs, costs, values, strict=True)),
                    key=lambda t: t[1].edp if len(objectives) > 1 else t[2][0])
    front: tuple[tuple[Any, DesignCost, tuple[float, ...]], ...] = ()
    if len(objectives) > 1:
        keep = non_dominated(np.array([v for _, _, v in ranked]))
        front = tuple((d, c, v) for (d, c, v), k in zip(ranked, keep, strict=True) if k and isinstance(c, DesignCost))
    return ranked, front
