"""Run a hardware-aware network search on fixed hardware and report what it cost.

:func:`search_nas` builds the :class:`~coexplore.nas.problem.NasProblem` (accuracy
evaluator, latency evaluator, limit), the strategy, and runs the one driver until the
accuracy-query budget is spent. The result keeps the order of queries, so "how many
networks did it train before it found the best one" is a property of the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import InfeasibleError, SpecError
from coexplore.nas.evaluators import Evaluator
from coexplore.nas.problem import NasProblem, Query
from coexplore.nas.space import ArchSpace
from coexplore.nas.strategies import BrpNas, make_nas_strategy
from coexplore.search.driver import optimize
from coexplore.search.pareto import non_dominated

__all__ = ["NasResult", "search_nas"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NasResult:
    """The best network found, every accuracy query in order, and what was pruned unqueried."""

    space: str
    strategy: str
    seed: int
    best: Any
    best_accuracy: float
    best_latency_ms: float
    queries: tuple[Query, ...]
    evaluations: int
    pruned: int
    seconds: float
    max_latency_ms: float | None
    front: tuple[Query, ...] = ()

    def queries_to_reach(self, accuracy: float) -> int | None:
        """1-based number of queries until one reached ``accuracy`` (None if none did)."""
        for i, q in enumerate(self.queries, start=1):
            if q.accuracy >= accuracy:
                return i
        return None

    def best_so_far(self) -> np.ndarray:
        """Best accuracy after each query."""
        return np.maximum.accumulate(np.array([q.accuracy for q in self.queries])) if self.queries else np.zeros(0)

    def to_dict(self, space: ArchSpace[Any]) -> dict[str, Any]:
        def row(q: Query) -> dict[str, Any]:
            out: dict[str, Any] = {"arch": space.format(q.arch), "accuracy": q.accuracy,
                                   "latency_ms": None if np.isnan(q.latency_ms) else q.latency_ms}
            index = getattr(space, "index", None)
            if callable(index):
                out["arch_index"] = int(index(q.arch))
            return out

        best = row(Query(self.best, self.best_accuracy, self.best_latency_ms))
        return {
            "space": self.space, "strategy": self.strategy, "seed": self.seed, "best": best,
            "queries": len(self.queries), "query_of_best": self.queries_to_reach(self.best_accuracy),
            "evaluations": self.evaluations, "pruned_before_accuracy": self.pruned, "seconds": self.seconds,
            "max_latency_ms": self.max_latency_ms, "front": [row(q) for q in self.front],
            "best_so_far": [float(x) for x in self.best_so_far()],
        }


def search_nas(
    space: ArchSpace[Any], *, accuracy: Evaluator, latency: Evaluator | None = None,
    max_latency_ms: float | None = None, objectives: tuple[str, ...] = ("accuracy",), strategy: str = "brp",
    budget_queries: int = 100, seed: int = 0, progress: bool = False, target_accuracy: float | None = None,
    **strategy_params: Any,
) -> NasResult:
    """Search ``space`` for the most accurate network within ``max_latency_ms``.

    Args:
        accuracy: Accuracy evaluator (percent); each call on a new feasible network is a query.
        latency: Latency evaluator (ms) for the limit or the second objective.
        objectives: ``("accuracy",)`` or ``("accuracy", "latency")`` (a Pareto front in ``front``).
        strategy: ``brp`` or any generic strategy (``random``, ``evolution``, ``reinforce``, ``nsga2``,
            ``cma-es``, ...), with the network search defaults of :mod:`coexplore.nas.strategies`.
        budget_queries: Accuracy queries at most; the search also ends after 20 x as many proposals
            (a strategy that keeps proposing known or infeasible networks).
        target_accuracy: Stop as soon as a queried network reaches this accuracy (percent).
        strategy_params: Passed to the strategy (e.g. ``population=`` for evolution).

    Raises:
        SpecError: a bad strategy, parameter or budget. InfeasibleError: nothing feasible was found.
    """
    if not isinstance(budget_queries, int) or budget_queries < 1:
        raise SpecError(f"budget_queries: must be an integer >= 1, got {budget_queries!r}")
    problem = NasProblem(space=space, accuracy=accuracy, latency=latency, max_latency_ms=max_latency_ms,
                         objectives=objectives)
    strat, target = make_nas_strategy(strategy, problem, seed=seed, budget=20 * budget_queries, **strategy_params)
    if isinstance(strat, BrpNas) and strat.batch > budget_queries:
        strat.batch = budget_queries
    t0 = time.perf_counter()
    bar = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=budget_queries, desc=f"nas {strategy}", unit="query", file=sys.stderr, leave=False)

    reached = [0]  # queries already checked against target_accuracy

    def spent() -> bool:
        if bar is not None:
            bar.n = min(len(problem.queries), budget_queries)
            bar.refresh()
        if target_accuracy is not None:
            while reached[0] < len(problem.queries):
                if problem.queries[reached[0]].accuracy >= target_accuracy:
                    return True
                reached[0] += 1
        return len(problem.queries) >= budget_queries

    try:
        res = optimize(target, strat, max_evals=20 * budget_queries, stop=spent)
    finally:
        if bar is not None:
            bar.close()
    queries = tuple(problem.queries[:budget_queries])
    if not queries:
        raise InfeasibleError(f"nas: no feasible network in {res.evaluated} evaluations "
                              f"({problem.pruned} over the latency limit or degenerate)")
    best = max(queries, key=lambda q: q.accuracy)
    front: tuple[Query, ...] = ()
    if "latency" in objectives:
        vals = np.array([[-q.accuracy, q.latency_ms] for q in queries])
        front = tuple(q for q, keep in zip(queries, non_dominated(vals), strict=True) if keep)
    return NasResult(space=space.name, strategy=strategy, seed=seed, best=best.arch, best_accuracy=best.accuracy,
                     best_latency_ms=best.latency_ms, queries=queries, evaluations=res.evaluated,
                     pruned=problem.pruned, seconds=time.perf_counter() - t0, max_latency_ms=max_latency_ms,
                     front=front)
