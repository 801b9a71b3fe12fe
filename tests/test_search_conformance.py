"""Conformance of every generic strategy (parametrised from the registries, so a strategy is tested
by being registered) and of the one driver.

Each strategy, on a categorical and on a box problem (natively or bridged): the same seed gives the
same trials; pickled mid-run it resumes to the same trials; an all-infeasible batch and a truncated
last batch are survived; ``finished`` is honest; the search does better than its first batch on a
problem with a known optimum.
"""

from __future__ import annotations

import importlib.util
import pickle
import time
from typing import Any

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.search.driver import optimize
from coexplore.search.encoding import Box, BridgedProblem, Categorical, ChoiceBatch, bridge
from coexplore.search.problem import Evaluation
from coexplore.search.registry import BOX, CATEGORICAL, generic_names, make_strategy, strategy_parameters
from coexplore.search.vector import VectorBatch

HAVE_OPTUNA = importlib.util.find_spec("optuna") is not None
NEEDS_OPTUNA = pytest.mark.skipif(not HAVE_OPTUNA, reason="the optuna-* strategies need the extra 'optuna'")


class Decisions:
    """Two objectives over 8 decisions of 5 values; decision 7 == 4 is infeasible."""

    objectives = ("cost", "other")
    encoding = Categorical((5,) * 8)

    def __init__(self, *, infeasible: bool = False) -> None:
        self.infeasible = infeasible
        self.calls = 0

    def evaluate(self, c: ChoiceBatch) -> Evaluation:
        self.calls += 1
        x = c.x.astype(np.float64)
        v = np.column_stack([np.abs(x - 1).sum(1), np.abs(x - 3).sum(1)])
        ok = (c.x[:, 7] != 4) & (not self.infeasible)
        v[~ok] = np.inf
        return Evaluation(values=v, feasible=ok, reasons=tuple("" if f else "decision 7 is 4" for f in ok))

    def describe(self, c: ChoiceBatch, i: int) -> dict[str, Any]:
        return {"x": c.x[i].tolist()}


class Sphere:
    """One objective over [0, 1]^6, optimum 0 at 0.3."""

    objectives = ("cost",)
    encoding = Box(6)

    def __init__(self, *, infeasible: bool = False) -> None:
        self.infeasible = infeasible

    def evaluate(self, c: VectorBatch) -> Evaluation:
        v = ((np.asarray(c.x) - 0.3) ** 2).sum(1, keepdims=True)
        ok = np.full(len(v), not self.infeasible)
        return Evaluation(values=np.where(ok[:, None], v, np.inf), feasible=ok)

    def describe(self, c: VectorBatch, i: int) -> dict[str, Any]:
        return {}


PROBLEMS = {"categorical": Decisions, "box": Sphere}
CASES = [pytest.param(name, kind, marks=[NEEDS_OPTUNA] if name.startswith("optuna") else [])
         for name in generic_names() for kind in PROBLEMS]


def _run(name: str, problem: Any, seed: int, evals: int) -> list[np.ndarray]:
    strategy, target = make_strategy(name, problem, seed=seed, budget=evals)
    seen: list[np.ndarray] = []
    optimize(target, strategy, max_evals=evals, on_batch=lambda c, e: seen.append(np.asarray(c.x).copy()))
    return seen


def test_every_strategy_is_registered_for_an_encoding() -> None:
    assert set(generic_names()) == set(CATEGORICAL.names()) | set(BOX.names())
    for name in ("random", "evolution", "reinforce", "nsga2", "cma-es", "optuna-tpe", "optuna-nsga2"):
        assert name in generic_names()


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_same_seed_same_trials(name: str, kind: str) -> None:
    a = _run(name, PROBLEMS[kind](), 3, 120)
    b = _run(name, PROBLEMS[kind](), 3, 120)
    c = _run(name, PROBLEMS[kind](), 4, 120)
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert sum(len(x) for x in a) == 120
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=False))  # the seed matters


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_pickled_mid_run_resumes_to_the_same_trials(name: str, kind: str) -> None:
    problem = PROBLEMS[kind]()
    strategy, target = make_strategy(name, problem, seed=1, budget=200)
    asked = []
    blob = b""
    for k in range(8):
        c = strategy.ask()
        asked.append(np.asarray(c.x).copy())
        strategy.tell(c, target.evaluate(c))
        if k == 3:
            blob = pickle.dumps(strategy)
    resumed = pickle.loads(blob)
    for k in range(4, 8):
        c = resumed.ask()
        np.testing.assert_array_equal(np.asarray(c.x), asked[k])
        resumed.tell(c, target.evaluate(c))


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_all_infeasible_batches_and_a_truncated_last_batch(name: str, kind: str) -> None:
    problem = PROBLEMS[kind](infeasible=True)
    strategy, target = make_strategy(name, problem, seed=0, budget=50)
    r = optimize(target, strategy, max_evals=50)
    assert r.evaluated == 50 and r.feasible == 0 and not r.found
    # a batch cut short by the budget is told as it is; the strategy goes on proposing valid candidates
    c = strategy.ask()
    short = c.take(np.arange(max(len(c) - 1, 1)))
    strategy.tell(short, target.evaluate(short))
    nxt = strategy.ask()
    assert len(nxt) >= 1
    if kind == "categorical" and not isinstance(target, BridgedProblem):
        Decisions.encoding.check(nxt)
    assert not strategy.finished and not strategy.exhaustive  # generic strategies never claim an optimum


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_the_search_improves_on_its_first_batch(name: str, kind: str) -> None:
    """A problem with a known optimum: after 600 evaluations (TPE, whose cost per trial grows with the trials:
    200) every strategy but random beats its first batch."""
    evals = 200 if name == "optuna-tpe" else 600
    problem = PROBLEMS[kind]()
    strategy, target = make_strategy(name, problem, seed=0, budget=evals)
    first: list[float] = []

    def keep(c: Any, e: Evaluation) -> None:
        if not first:
            first.append(float(e.values[:, 0][np.isfinite(e.values[:, 0])].min()))

    r = optimize(target, strategy, max_evals=evals, on_batch=keep)
    best = float(r.best_values[:, 0].min())
    assert best <= first[0]
    if name != "random":
        assert best < first[0] or first[0] == 0.0


def test_unknown_name_and_parameter_name_the_valid_ones() -> None:
    with pytest.raises(SpecError, match=r"valid: .*optuna-tpe"):
        make_strategy("bogus", Decisions())
    with pytest.raises(SpecError, match="unknown popsize for evolution; valid: population, sample, batch"):
        make_strategy("evolution", Decisions(), params={"popsize": 3})
    assert strategy_parameters("optuna-tpe") == ["batch", "population", "startup", "multivariate"]

    class NoEncoding:
        objectives = ("cost",)

    with pytest.raises(SpecError, match="declares none"):
        make_strategy("random", NoEncoding())


def test_bridges_translate_both_ways() -> None:
    cat = bridge(Decisions(), "box")
    assert isinstance(cat, BridgedProblem) and cat.encoding == Box(8)
    native = cat.translate(VectorBatch(np.array([[0.0, 0.19, 0.2, 0.99, 1.0, 0.5, 0.4, 0.61]])))
    np.testing.assert_array_equal(native.x, [[0, 0, 1, 4, 4, 2, 2, 3]])
    box = bridge(Sphere(), "categorical", levels=5)
    assert box.encoding == Categorical((5,) * 6)
    np.testing.assert_allclose(box.translate(ChoiceBatch(np.array([[0, 1, 2, 3, 4, 0]]))).x,
                               [[0, 0.25, 0.5, 0.75, 1.0, 0]])
    assert bridge(Sphere(), "box") is not None and not isinstance(bridge(Sphere(), "box"), BridgedProblem)


@NEEDS_OPTUNA
def test_coexplore_problem_as_an_optuna_objective() -> None:
    import optuna

    from coexplore.search.optuna_strategy import objective

    study = optuna.create_study(directions=["minimize", "minimize"], sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective(Decisions()), n_trials=40)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert len(done) + len(pruned) == 40 and done
    assert all(t.params["x7"] == 4 for t in pruned) and all(t.params["x7"] != 4 for t in done)


@NEEDS_OPTUNA
def test_multivariate_tpe_is_an_option_of_tpe_only() -> None:
    strategy, problem = make_strategy("optuna-tpe", Decisions(), seed=0, params={"multivariate": True})
    assert strategy.study.sampler._multivariate  # Optuna's own flag: the option reached the sampler
    optimize(problem, strategy, max_evals=30)
    assert len(strategy.study.trials) == 30
    with pytest.raises(SpecError, match="multivariate: only Optuna's TPE has a multivariate mode, not nsga2"):
        make_strategy("optuna-nsga2", Decisions(), params={"multivariate": True})
    with pytest.raises(SpecError, match="multivariate: must be true or false, got 'yes'"):
        make_strategy("optuna-tpe", Decisions(), params={"multivariate": "yes"})


# -- the driver -------------------------------------------------------------------------------
class _Counting:
    """Random decision vectors, 7 per ask; counts tells."""

    name = "counting"

    def __init__(self) -> None:
        from coexplore.search.choices import RandomChoices

        self.inner = RandomChoices(seed=0, batch=7)
        self.told = 0

    def bind(self, problem: Any, budget: Any) -> None:
        self.inner.bind(problem, budget)

    def ask(self) -> ChoiceBatch:
        return self.inner.ask()

    def tell(self, c: Any, e: Evaluation) -> None:
        self.told += len(c)

    finished = False
    exhaustive = False


def test_driver_budgets_stop_and_truncation() -> None:
    p = Decisions()
    s = _Counting()
    r = optimize(p, s, max_evals=30)  # type: ignore[arg-type]
    assert r.evaluated == 30 and s.told == 30  # the last batch of 7 was cut to 2
    calls = iter(range(100))
    r = optimize(p, _Counting(), stop=lambda: next(calls) >= 3)  # type: ignore[arg-type]
    assert r.evaluated == 21
    t0 = time.perf_counter()
    r = optimize(p, _Counting(), max_seconds=0.05)  # type: ignore[arg-type]
    assert r.evaluated > 0 and time.perf_counter() - t0 < 30
    with pytest.raises(ValueError, match="give max_evals or max_seconds"):
        optimize(p, _Counting())  # type: ignore[arg-type]


def test_driver_keeps_the_pareto_set_and_infeasible_reasons() -> None:
    p = Decisions()
    strategy, target = make_strategy("random", p, seed=0, budget=400)
    r = optimize(target, strategy, max_evals=400)
    assert r.infeasible_reasons == {"decision 7 is 4": 400 - r.feasible}
    v = r.best_values
    for i in range(len(v)):  # no point of the set dominates another
        assert not ((v <= v[i]).all(axis=1) & (v < v[i]).any(axis=1)).any()
