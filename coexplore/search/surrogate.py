"""A surrogate-model strategy over categorical vectors: extremely randomized trees with an upper
confidence bound (``trees-ucb``).

Why: when one evaluation is a table query or a trained network and the budget is a few hundred,
a model of every result so far should choose the next candidates, not a mutation of one
parent. Tree ensembles suit one-hot categorical decisions (SMAC's random forest, Hutter et al.,
LION 2011; BANANAS's ensembles, White et al., AAAI 2021): no kernel to choose, the spread of
the trees' predictions stands for the uncertainty.

Each ask after ``init`` uniform proposals fits scikit-learn's ``ExtraTreesRegressor``
(``trees`` trees, one-hot inputs of the canonical vectors) on every feasible result (an
infeasible one enters at the worst feasible value, so the model learns to avoid it), scores
a pool by ``mean - kappa x std`` over the trees (values are minimised) and proposes the
``batch`` best never proposed. The pool is every distinct candidate when there are at most
``pool`` of them (NAS-Bench-201's 15,625 cells), otherwise ``pool`` vectors: the one- and
two-decision mutations of the 20 best results and uniform draws. Several objectives are
scalarised per ask with random Chebyshev weights on the values scaled to [0, 1] (ParEGO,
Knowles, IEEE TEVC 2006). Needs scikit-learn (extra ``nas``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.optional import require
from coexplore.search.choices import _CategoricalStrategy, _masked, _positive_ints
from coexplore.search.encoding import ChoiceBatch
from coexplore.search.problem import Evaluation

__all__ = ["TreesUcb"]


class TreesUcb(_CategoricalStrategy):
    """Extremely randomized trees on one-hot vectors, lower confidence bound ``mean - kappa x std``, ``batch``
    per ask after ``init`` uniform ones; never proposes a candidate twice."""

    name = "trees-ucb"

    def __init__(self, *, seed: int = 0, init: int = 15, batch: int = 10, kappa: float = 0.5, trees: int = 100,
                 pool: int = 20000) -> None:
        super().__init__(seed=seed, unique=True)
        _positive_ints(init=init, batch=batch, trees=trees, pool=pool)
        if isinstance(kappa, bool) or not isinstance(kappa, int | float) or not (0 <= kappa < math.inf):
            raise SpecError(f"kappa: must be a number >= 0, got {kappa!r}")
        self.init, self.batch, self.kappa, self.trees, self.pool = init, batch, float(kappa), trees, pool
        self._x = np.zeros((0, 0), dtype=np.int64)
        self._f = np.zeros((0, 1))
        self._asked = 0
        self._every: np.ndarray | None = None  # every distinct candidate, when the space is small enough

    def setup(self, problem: Any, budget: int | None) -> None:
        require("sklearn", extra="nas", who=f"strategy {self.name}")
        super().setup(problem, budget)

    def _one_hot(self, x: np.ndarray) -> np.ndarray:
        cards = self.cards
        offsets = np.concatenate([[0], np.cumsum(cards)[:-1]])
        out = np.zeros((len(x), int(cards.sum())), dtype=np.float32)
        out[np.arange(len(x))[:, None], offsets[None] + self._enc().canonical(x)] = 1.0
        return out

    def _candidates(self) -> np.ndarray:
        """The pool scored this ask (never-proposed rows only)."""
        enc = self._enc()
        if enc.distinct <= self.pool:
            if self._every is None:
                every = np.array(list(np.ndindex(*enc.cards)), dtype=np.int64).reshape(-1, enc.dim)
                self._every = np.unique(enc.canonical(every), axis=0)
            rows = self._every
        else:
            best = self._x[np.argsort(self._scalar(self._f, np.full(self._f.shape[1], 1.0)))[:20]]
            near = [self._mutate(np.repeat(best, 25, axis=0)) for _ in range(2)]
            near.append(self._mutate(near[0]))
            rows = np.concatenate([*near, self._random(max(self.pool - sum(len(n) for n in near), 0))])
            rows = np.unique(enc.canonical(rows), axis=0)
        keys = enc.canonical(rows).astype(np.int32)
        fresh = np.array([k.tobytes() not in self._proposed for k in keys], dtype=bool)
        return rows[fresh]

    def _scalar(self, f: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """One value per row (minimised): the objective, or the weighted Chebyshev norm of the scaled ones;
        infeasible rows at the worst feasible value."""
        ok = np.isfinite(f).all(axis=1)
        if not ok.any():
            return np.zeros(len(f))
        lo, hi = f[ok].min(axis=0), f[ok].max(axis=0)
        g = (np.where(ok[:, None], f, hi) - lo) / np.where(hi > lo, hi - lo, 1.0)
        s = g[:, 0] if f.shape[1] == 1 else (g * weights).max(axis=1) + 0.05 * (g * weights).sum(axis=1)
        return s

    def ask(self) -> ChoiceBatch:
        ok = np.isfinite(self._f).all(axis=1) if len(self._f) else np.zeros(0, dtype=bool)
        if self._asked < self.init or ok.sum() < 2:
            n = min(self.batch, self.init - self._asked) if self._asked < self.init else self.batch
            rows = self._random_fresh(max(n, 1))
            self._asked += len(rows)
            return ChoiceBatch(rows)
        from sklearn.ensemble import ExtraTreesRegressor

        weights = self.rng.dirichlet(np.ones(self._f.shape[1]))
        y = self._scalar(self._f, weights)
        model = ExtraTreesRegressor(n_estimators=self.trees, random_state=int(self.rng.integers(2**31)), n_jobs=1)
        model.fit(self._one_hot(self._x), y)
        pool = self._candidates()
        if len(pool) == 0:
            self._exhausted = True
            return ChoiceBatch(np.zeros((0, self._enc().dim), dtype=np.int64))
        hot = self._one_hot(pool)
        preds = np.stack([t.predict(hot) for t in model.estimators_])
        score = preds.mean(axis=0) - self.kappa * preds.std(axis=0)
        pick = pool[np.argsort(score, kind="stable")[: self.batch]]
        self._take_fresh(pick)
        self._asked += len(pick)
        return ChoiceBatch(pick)

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        f = _masked(evaluation)
        x = np.asarray(candidates.x, dtype=np.int64)
        if len(x) == 0:
            return
        self._x = x if len(self._x) == 0 else np.concatenate([self._x, x])
        self._f = f if len(self._f) == 0 or self._f.shape[1] != f.shape[1] else np.concatenate([self._f, f])
