"""Optuna's samplers as coexplore strategies (extra ``optuna``): ``optuna-tpe`` and ``optuna-nsga2``.

Optuna runs in ask-and-tell mode inside the one driver, so a study keeps its storage,
trial records and resume: the in-memory Optuna study (its trials and its sampler's random
state) is pickled with the strategy's checkpoint. A categorical problem gets one
``CategoricalDistribution`` per decision, a box one ``FloatDistribution(0, 1)`` per
coordinate. Every objective is minimised (coexplore's values are). Infeasible candidates
are told to Optuna as constraint violations (``constraints_func``), with the worst values
seen so far, so its samplers learn to avoid them.

The reverse, a coexplore problem as an Optuna objective, is :func:`objective`.
"""

from __future__ import annotations

import pickle
import threading
import warnings
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.optional import require
from coexplore.search.encoding import Box, Categorical, ChoiceBatch, encoding_of
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy

__all__ = ["OptunaStrategy", "objective"]

_VIOLATION = "coexplore_violation"


def _violation(trial: Any) -> tuple[float]:
    """Optuna's constraint value of a trial: > 0 is infeasible (a module function so it pickles)."""
    return (float(trial.user_attrs.get(_VIOLATION, 0.0)),)


def _optuna() -> Any:
    optuna = require("optuna", extra="optuna", who="the optuna-tpe and optuna-nsga2 strategies")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _distributions(optuna: Any, enc: Categorical | Box) -> dict[str, Any]:
    names = enc.names or tuple(f"x{i}" for i in range(enc.dim))
    if isinstance(enc, Categorical):
        return {n: optuna.distributions.CategoricalDistribution(list(range(int(c)))) for n, c in zip(names, enc.cards,
                                                                                                      strict=True)}
    return {n: optuna.distributions.FloatDistribution(0.0, 1.0) for n in names}


class OptunaStrategy(Strategy):
    """An Optuna sampler (``tpe`` or ``nsga2``) asked ``batch`` trials at a time.

    ``batch`` > 1 lets a study evaluate several candidates in parallel; TPE then uses Optuna's
    constant liar so a batch does not repeat one point. ``population`` is NSGA-II's
    generation size; ``startup`` TPE's number of random trials first. ``multivariate`` is
    TPE's joint density over all decisions (Optuna's ``multivariate=True``) instead of one per
    decision: one density fit per trial instead of one per decision, so also about as many times
    cheaper as there are decisions.
    """

    def __init__(self, *, sampler: str = "tpe", seed: int = 0, batch: int = 1, population: int = 50,
                 startup: int = 10, multivariate: bool = False) -> None:
        if sampler not in ("tpe", "nsga2"):
            raise SpecError(f"sampler: must be tpe or nsga2, got {sampler!r}")
        if not isinstance(multivariate, bool):
            raise SpecError(f"multivariate: must be true or false, got {multivariate!r}")
        if multivariate and sampler != "tpe":
            raise SpecError(f"multivariate: only Optuna's TPE has a multivariate mode, not {sampler}")
        for k, v in (("batch", batch), ("population", population), ("startup", startup)):
            if not isinstance(v, int) or isinstance(v, bool) or v < (2 if k == "population" else 1):
                raise SpecError(f"{k}: must be an integer >= {2 if k == 'population' else 1}, got {v!r}")
        self.sampler_name, self.seed, self.batch = sampler, seed, batch
        self.population, self.startup, self.multivariate = population, startup, multivariate
        self.name = f"optuna-{sampler}"
        self.study: Any = None
        self._dists: dict[str, Any] = {}
        self._pending: list[Any] = []
        self._worst: np.ndarray | None = None
        self._encoding: Categorical | Box | None = None

    def setup(self, problem: Any, budget: int | None) -> None:
        optuna = _optuna()
        enc = encoding_of(problem)
        if enc is None:
            raise SpecError(f"strategy {self.name}: needs a problem with a categorical or box encoding, "
                            f"{type(problem).__name__} declares none")
        self._encoding, self._dists = enc, _distributions(optuna, enc)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constraints_func is "experimental" in Optuna's TPE
            if self.sampler_name == "tpe":
                sampler = optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=self.startup,
                                                     constant_liar=self.batch > 1, constraints_func=_violation,
                                                     multivariate=self.multivariate)
            else:
                sampler = optuna.samplers.NSGAIISampler(seed=self.seed, population_size=self.population,
                                                        constraints_func=_violation)
            self.study = optuna.create_study(directions=["minimize"] * len(problem.objectives), sampler=sampler)

    def ask(self) -> Any:
        if self.study is None:
            raise SpecError(f"strategy {self.name}: call setup(problem, budget) before ask")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._pending = [self.study.ask(self._dists) for _ in range(self.batch)]
        names = list(self._dists)
        rows = np.array([[t.params[n] for n in names] for t in self._pending])
        if isinstance(self._encoding, Categorical):
            return ChoiceBatch(rows.astype(np.int64))
        from coexplore.search.vector import VectorBatch

        return VectorBatch(rows.astype(np.float64))

    def __getstate__(self) -> dict[str, Any]:
        """The Optuna study pickled whole (its trials and its sampler's random state), minus the
        sampler's thread lock (NSGA-II holds one), which :meth:`__setstate__` recreates."""
        state = dict(self.__dict__)
        sampler: Any = None if self.study is None else self.study.sampler
        lock = getattr(sampler, "_thread_lock", None)
        if lock is not None:
            del sampler._thread_lock
        try:
            state["study"], state["_had_lock"] = pickle.dumps(self.study), lock is not None
        finally:
            if lock is not None:
                sampler._thread_lock = lock
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        had_lock = state.pop("_had_lock", False)
        self.__dict__.update(state)
        self.study = pickle.loads(state["study"])
        if had_lock and self.study is not None:
            self.study.sampler._thread_lock = threading.Lock()

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        optuna = _optuna()
        pending, self._pending = self._pending, []
        ok = evaluation.feasible & np.isfinite(evaluation.values).all(axis=1)
        if ok.any():
            seen = evaluation.values[ok].max(axis=0)
            self._worst = seen if self._worst is None else np.maximum(self._worst, seen)
        worst = self._worst if self._worst is not None else np.zeros(evaluation.values.shape[1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, trial in enumerate(pending):
                if i >= len(evaluation):  # a budget-truncated batch: the rest was never evaluated
                    self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                trial.set_user_attr(_VIOLATION, 0.0 if ok[i] else 1.0)
                values = evaluation.values[i] if ok[i] else worst
                self.study.tell(trial, [float(v) for v in values])


def objective(problem: Any) -> Any:
    """``problem`` as an Optuna objective: ``study.optimize(objective(problem), n_trials=...)``.

    The trial suggests one value per decision of the problem's encoding (names as the
    encoding's); the return value is the problem's minimised objective values (a float for
    one objective), or ``optuna.TrialPruned`` for an infeasible candidate.
    """
    optuna = _optuna()
    enc = encoding_of(problem)
    if enc is None:
        raise SpecError(f"problem: {type(problem).__name__} declares no encoding (categorical or box)")
    dists = _distributions(optuna, enc)

    def run(trial: Any) -> Any:
        if isinstance(enc, Categorical):
            row = [trial.suggest_categorical(n, d.choices) for n, d in dists.items()]
        else:
            row = [trial.suggest_float(n, 0.0, 1.0) for n in dists]
        if isinstance(enc, Categorical):
            cands: Any = ChoiceBatch(np.array([row], dtype=np.int64))
        else:
            from coexplore.search.vector import VectorBatch

            cands = VectorBatch(np.array([row], dtype=np.float64))
        ev = problem.evaluate(cands)
        if not (ev.feasible[0] and np.isfinite(ev.values[0]).all()):
            raise optuna.TrialPruned(ev.reasons[0] if ev.reasons else "infeasible")
        v = [float(x) for x in ev.values[0]]
        return v[0] if len(v) == 1 else v

    return run
