"""The categorical strategies' options: no candidate twice (up to inactive decisions), evolution's
feasible-only population, REINFORCE's entropy bonus and infeasible reward; encoding conditions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.search.choices import AgingEvolution, RandomChoices, ReinforceChoices
from coexplore.search.driver import optimize
from coexplore.search.encoding import Categorical, ChoiceBatch, Condition
from coexplore.search.problem import Evaluation


class Depths:
    """A depth decision (0..2 = 1..3 layers) and one decision of 3 values per layer: 3 + 9 + 27 = 39
    candidates among 81 vectors. Cost: the sum of the active decisions; ``bad`` (depth, first) pairs
    are infeasible."""

    objectives = ("cost",)
    encoding = Categorical((3, 3, 3, 3), conditions=(Condition(2, 0, (1, 2)), Condition(3, 0, (2,))))

    def __init__(self, bad: tuple[int, int] | None = None) -> None:
        self.bad = bad
        self.seen: list[tuple[int, ...]] = []

    def evaluate(self, c: ChoiceBatch) -> Evaluation:
        x = self.encoding.canonical(c.x)
        self.seen += [tuple(r) for r in x.tolist()]
        v = x.sum(axis=1, keepdims=True).astype(np.float64)
        ok = np.ones(len(x), dtype=bool) if self.bad is None else ~((x[:, 0] == self.bad[0]) & (x[:, 1] == self.bad[1]))
        return Evaluation(values=np.where(ok[:, None], v, np.inf), feasible=ok)

    def describe(self, c: ChoiceBatch, i: int) -> dict[str, Any]:
        return {"x": c.x[i].tolist()}


def _bound(strategy: Any, problem: Any) -> Any:
    strategy.bind(problem, None)
    return strategy


def test_conditions_count_and_canonicalise_candidates() -> None:
    enc = Depths.encoding
    every = np.array(list(np.ndindex(*enc.cards)))
    assert enc.size == 81 and enc.distinct == 39 == len(np.unique(enc.canonical(every), axis=0))
    np.testing.assert_array_equal(enc.canonical(np.array([[0, 2, 2, 1], [1, 2, 2, 1]])), [[0, 2, 0, 0], [1, 2, 2, 0]])
    with pytest.raises(SpecError, match="conditions\\[0\\]: parent must be an earlier decision than child"):
        Categorical((3, 3), conditions=(Condition(0, 1, (1,)),))
    with pytest.raises(SpecError, match=r"conditions\[0\].values: must be values of decision 0 \(0..2\), got \[5\]"):
        Categorical((3, 3), conditions=(Condition(1, 0, (5,)),))


def test_unique_random_proposes_every_candidate_once_then_finishes() -> None:
    problem = Depths()
    strat = _bound(RandomChoices(seed=2, batch=5, unique=True), problem)
    res = optimize(problem, strat, max_evals=500)
    assert res.evaluated == 39 == len(set(problem.seen)) and strat.finished
    again = Depths()
    optimize(again, _bound(RandomChoices(seed=2, batch=5, unique=True), again), max_evals=500)
    assert again.seen == problem.seen  # seeded
    plain = Depths()
    optimize(plain, _bound(RandomChoices(seed=2, batch=5), plain), max_evals=60)
    assert len(set(plain.seen)) < 60  # without unique, repeats


def test_unique_evolution_never_repeats_and_mutates_only_active_decisions() -> None:
    problem = Depths()
    strat = _bound(AgingEvolution(seed=0, population=6, sample=3, batch=2, unique=True), problem)
    optimize(problem, strat, max_evals=39)
    assert len(problem.seen) == len(set(problem.seen)) == 39
    rows = np.array([[0, 1, 2, 2]] * 50)
    children = Depths.encoding.canonical(strat._mutate(rows))
    assert (children != Depths.encoding.canonical(rows)).any(axis=1).all()  # never the same candidate


def test_evolution_population_keeps_feasible_members_only() -> None:
    problem = Depths(bad=(0, 0))
    strat = _bound(AgingEvolution(seed=1, population=4, sample=2, batch=3), problem)
    optimize(problem, strat, max_evals=60)
    assert len(strat._x) == 4 and np.isfinite(strat._f).all()
    assert not ((strat._x[:, 0] == 0) & (strat._x[:, 1] == 0)).any()


@pytest.mark.parametrize("reward", [3.0, -3.0])
def test_reinforce_infeasible_reward_steers_the_policy(reward: float) -> None:
    """(depth 0, first 0) is the cheapest candidate but infeasible: a high infeasible reward draws the
    policy to it, the default -3 drives it away."""
    problem = Depths(bad=(0, 0))
    strat = _bound(ReinforceChoices(seed=0, lr=0.5, infeasible_reward=reward), problem)
    optimize(problem, strat, max_evals=800)
    p0, p1 = strat.probabilities()[:2]
    assert (p0[0] * p1[0] > 0.5) == (reward > 0)


def test_reinforce_entropy_bonus_keeps_the_policy_spread() -> None:
    def final(entropy: float) -> float:
        problem = Depths()
        strat = _bound(ReinforceChoices(seed=0, lr=0.5, entropy=entropy), problem)
        optimize(problem, strat, max_evals=800)
        return min(float(p.max()) for p in strat.probabilities()[:2])

    assert final(0.5) < final(0.0)
    with pytest.raises(SpecError, match="infeasible_reward: must be a finite number, got nan"):
        ReinforceChoices(infeasible_reward=float("nan"))
