"""The trees-ucb strategy: never a candidate twice, the model's picks against uniform draws, its settings."""

from __future__ import annotations

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.search.driver import optimize
from coexplore.search.encoding import Categorical, ChoiceBatch
from coexplore.search.problem import Evaluation
from coexplore.search.registry import make_strategy

pytest.importorskip("sklearn", reason="trees-ucb needs scikit-learn (extra nas)")


class Needle:
    """6 decisions of 5 values (15,625 vectors, NAS-Bench-201's size); the value adds a per-decision
    effect and one interaction, so the best vector is rare (1 in 15,625) but learnable."""

    objectives = ("cost",)
    encoding = Categorical((5,) * 6)

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        self.effect = rng.normal(size=(6, 5))
        self.seen: list[bytes] = []

    def evaluate(self, c: ChoiceBatch) -> Evaluation:
        x = np.asarray(c.x)
        self.seen += [r.astype(np.int64).tobytes() for r in x]
        v = self.effect[np.arange(6), x].sum(axis=1) - 2.0 * ((x[:, 0] == x[:, 2]) & (x[:, 1] == 4))
        return Evaluation(values=v[:, None], feasible=np.ones(len(x), dtype=bool))

    def describe(self, c: ChoiceBatch, i: int) -> dict:
        return {}

    def optimum(self) -> float:
        every = np.array(list(np.ndindex(*(5,) * 6)))
        return float(self.evaluate(ChoiceBatch(every)).values.min())


def _best(name: str, seed: int, evals: int, **params) -> tuple[float, Needle]:
    p = Needle()
    strategy, target = make_strategy(name, p, seed=seed, budget=evals, params=params)
    result = optimize(target, strategy, max_evals=evals)
    return float(result.best_values[:, 0].min()), p


def test_never_twice_and_the_model_beats_uniform_draws_at_equal_evaluations() -> None:
    gaps = {"trees-ucb": [], "random": []}
    for seed in range(5):
        for name in gaps:
            best, p = _best(name, seed, 80, **({"unique": True} if name == "random" else {}))
            gaps[name].append(best - Needle().optimum())
            if name == "trees-ucb":
                assert len(p.seen) == 80 and len(set(p.seen)) == 80
    assert np.mean(gaps["trees-ucb"]) < 0.5 * np.mean(gaps["random"]), gaps
    assert sum(g < 1e-12 for g in gaps["trees-ucb"]) >= 2  # the optimum itself (1 in 15,625) on some seeds


def test_two_objectives_are_scalarised_and_settings_are_checked() -> None:
    class Two(Needle):
        objectives = ("a", "b")

        def evaluate(self, c: ChoiceBatch) -> Evaluation:
            one = super().evaluate(c).values[:, 0]
            return Evaluation(values=np.column_stack([one, -one + np.asarray(c.x)[:, 3]]),
                              feasible=np.asarray(c.x)[:, 5] != 0)

    strategy, target = make_strategy("trees-ucb", Two(), seed=0, budget=40, params={"init": 10, "batch": 5})
    result = optimize(target, strategy, max_evals=40)
    assert result.evaluated == 40 and result.found
    for bad, message in (({"kappa": -1}, "kappa: must be a number >= 0"), ({"init": 0}, "init: must be an integer"),
                         ({"trees": 1.5}, "trees: must be an integer")):
        with pytest.raises(SpecError, match=message):
            make_strategy("trees-ucb", Needle(), seed=0, budget=10, params=bad)
