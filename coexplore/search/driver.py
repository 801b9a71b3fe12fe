"""The one search loop: budgets, evaluation, failures, progress and the result.

Every strategy in coexplore runs through :func:`optimize`; strategies only propose
(``ask``) and learn (``tell``). The loop keeps the best candidates (the argmin for one
objective, the non-dominated set for several) without storing every candidate, so a
mapping search can evaluate millions of mappings in constant memory.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coexplore.search.pareto import non_dominated
from coexplore.search.problem import Evaluation, Problem
from coexplore.search.strategy import Strategy

__all__ = ["SearchResult", "optimize"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    """What a search found.

    Attributes:
        best: The best candidates (one for a single objective, the Pareto set otherwise).
        best_values: Their objective values, float (n_best, n_objectives).
        evaluated: Candidates evaluated; ``feasible`` of them met every constraint.
        seconds: Wall time of the loop.
        exhausted: The strategy enumerated its whole space, so ``best`` is its proven optimum.
        history: (evaluations so far, best value of objective 0 so far) after every batch.
        infeasible_reasons: Count of each reason given for infeasible candidates.
    """

    best: Any
    best_values: np.ndarray
    evaluated: int
    feasible: int
    seconds: float
    exhausted: bool
    strategy: str
    history: tuple[tuple[int, float], ...] = ()
    infeasible_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return len(self.best_values) > 0 and bool(np.isfinite(self.best_values).all())


def optimize(
    problem: Problem,
    strategy: Strategy,
    *,
    max_evals: int | None = None,
    max_seconds: float | None = None,
    progress: bool = False,
    on_batch: Callable[[Any, Evaluation], None] | None = None,
    stop: Callable[[], bool] | None = None,
    evaluate: Callable[[Any], Evaluation] | None = None,
) -> SearchResult:
    """Run ``strategy`` on ``problem`` until it is finished or a budget is spent.

    ``stop`` is checked before every batch: a budget the problem counts itself (e.g.
    accuracy queries, which the NAS problem spends only on feasible networks).
    ``evaluate`` replaces ``problem.evaluate`` (a study evaluates on a pool and records trials).
    """
    if max_evals is None and max_seconds is None and stop is None and not strategy.exhaustive:
        raise ValueError("optimize: give max_evals or max_seconds for a strategy that does not terminate")
    strategy.bind(problem, max_evals)
    t0 = time.perf_counter()
    evaluated = feasible = 0
    best: Any = None
    best_values = np.zeros((0, len(problem.objectives)))
    history: list[tuple[int, float]] = []
    reasons: dict[str, int] = {}
    bar = _progress(max_evals, strategy.name) if progress else None
    try:
        while not strategy.finished:
            if max_evals is not None and evaluated >= max_evals:
                break
            if max_seconds is not None and time.perf_counter() - t0 >= max_seconds:
                break
            if stop is not None and stop():
                break
            cands = strategy.ask()
            if len(cands) == 0:
                if strategy.finished:
                    break
                continue
            if max_evals is not None and evaluated + len(cands) > max_evals:
                cands = cands.take(np.arange(max_evals - evaluated))
            ev = problem.evaluate(cands) if evaluate is None else evaluate(cands)
            strategy.tell(cands, ev)
            if on_batch is not None:
                on_batch(cands, ev)
            evaluated += len(cands)
            feasible += int(ev.feasible.sum())
            for r in ev.reasons:
                if r:
                    reasons[r] = reasons.get(r, 0) + 1
            best, best_values = _merge_best(best, best_values, cands, ev)
            history.append((evaluated, float(best_values[:, 0].min()) if len(best_values) else float("inf")))
            if bar is not None:
                bar.update(len(cands))
    finally:
        if bar is not None:
            bar.close()
    return SearchResult(
        best=best, best_values=best_values, evaluated=evaluated, feasible=feasible,
        seconds=time.perf_counter() - t0, exhausted=strategy.finished and strategy.exhaustive,
        strategy=strategy.name, history=tuple(history), infeasible_reasons=reasons,
    )


def _merge_best(best: Any, best_values: np.ndarray, cands: Any, ev: Evaluation) -> tuple[Any, np.ndarray]:
    ok = np.flatnonzero(ev.feasible & np.isfinite(ev.values).all(axis=1))
    if len(ok) == 0:
        return best, best_values
    if ev.values.shape[1] == 1:
        i = ok[np.argmin(ev.values[ok, 0])]
        if best is None or ev.values[i, 0] < best_values[0, 0]:
            return cands.take(np.array([i])), ev.values[[i]]
        return best, best_values
    new = cands.take(ok)
    vals = ev.values[ok]
    if best is not None:
        new = _concat(best, new)
        vals = np.concatenate([best_values, vals])
    keep = np.flatnonzero(non_dominated(vals))
    return new.take(keep), vals[keep]


def _concat(a: Any, b: Any) -> Any:
    from coexplore.search.candidates import concat_candidates

    return concat_candidates(a, b)


def _progress(total: int | None, name: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=name, unit="eval", file=sys.stderr, dynamic_ncols=True, leave=False)
