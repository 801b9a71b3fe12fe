"""BrpNas's ablation variants: one fit then the ranking's order, random completion, and bad settings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.nas.brp_nas import BrpNas
from coexplore.nas.problem import NasProblem
from coexplore.search.driver import optimize
from tests.test_nas_search import Toy, ToyAccuracy, ToyLatency

pytest.importorskip("torch")

FAST = {"predictor": "mlp", "predictor_params": {"epochs": 20, "hidden": (16,)}}


def _run(selection: str, budget: int = 40, **params: Any) -> tuple[BrpNas, list[tuple[int, ...]], list[int]]:
    """A run on the toy (accuracy = 10 x the sum of choices); returns the strategy, its queries and the
    number of unqueried pool members each predictor fit ranked."""
    problem = NasProblem(space=Toy(), accuracy=ToyAccuracy(), latency=ToyLatency(), max_latency_ms=9.0)
    s = BrpNas(space=Toy(), seed=3, pool_filter=problem.feasible, selection=selection, **{**FAST, **params})
    fits: list[int] = []
    scores = s._scores

    def spy(free: np.ndarray) -> np.ndarray:
        fits.append(len(free))
        return scores(free)

    s._scores = spy  # type: ignore[method-assign]
    optimize(problem, s, max_evals=budget)
    return s, [q.arch for q in problem.queries], fits


def test_once_fits_one_predictor_on_the_random_start_then_queries_in_its_ranking_order() -> None:
    s, queries, fits = _run("once", initial=10, batch=5)
    assert s._pool is not None and s._ranking is not None
    assert fits == [len(s._pool) - 10]  # one fit, ranking every unqueried pool member
    ranked = [s._pool[i] for i in s._ranking]
    assert queries[10:] == ranked[:len(queries) - 10]  # no refit: the first ranking's order throughout
    assert len(set(queries)) == len(queries) == 40


def test_random_completion_never_fits_a_predictor() -> None:
    _, queries, fits = _run("random", batch=5)
    assert fits == [] and len(set(queries)) == len(queries) == 40
    assert all(sum(a) <= 9 for a in queries)  # the pool is the feasible one


def test_iterative_refits_every_round_on_everything_queried() -> None:
    s, queries, fits = _run("iterative", batch=5)
    assert s._pool is not None and len(queries) == 40
    assert fits == [len(s._pool) - n for n in range(10, 40, 5)]  # a fit per round, ranking what is left


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(SpecError) as e:
        BrpNas(space=Toy(), selection="greedy", batch=0, exploit=2.0)
    for part in ("brp.selection: must be one of iterative, once, random, got 'greedy'",
                 "brp.batch: must be > 0, got 0", "brp.exploit: must be in [0, 1], got 2.0"):
        assert part in str(e.value)
