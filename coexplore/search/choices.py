"""Generic strategies over categorical vectors: any problem whose ``encoding`` is
:class:`~coexplore.search.encoding.Categorical` (network edges, hardware choices, both at once).

* ``RandomChoices``: uniform vectors.
* ``AgingEvolution``: regularized evolution (Real et al., AAAI 2019): a population of
  ``population`` vectors, each child the best of ``sample`` random members with one decision
  changed, the oldest member dies.
* ``ReinforceChoices``: REINFORCE (Williams, 1992) on a factorised softmax policy, one
  distribution per decision, with a moving-average baseline.
* ``Nsga2Choices``: NSGA-II (Deb et al., 2002) with uniform crossover and per-decision
  resampling mutation.

With several objectives, "best" means the lowest non-domination rank (then the first
objective), and REINFORCE's reward is minus the share of the front found so far that
dominates a candidate. Every strategy ranks infeasible candidates after every feasible one.
Constructors take hyper-parameters only; :meth:`setup` binds the problem's encoding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.search.encoding import Categorical, ChoiceBatch, encoding_of
from coexplore.search.pareto import non_dominated
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy
from coexplore.search.vector import crowding_distance, fronts

__all__ = ["AgingEvolution", "Nsga2Choices", "RandomChoices", "ReinforceChoices"]


def _positive_ints(**values: Any) -> None:
    bad = [f"{k}: must be an integer >= 1, got {v!r}" for k, v in values.items()
           if not isinstance(v, int) or isinstance(v, bool) or v < 1]
    if bad:
        raise SpecError(bad)


def _masked(evaluation: Evaluation) -> np.ndarray:
    """Values with infeasible rows set to inf (so every ranking puts them last)."""
    ok = evaluation.feasible & np.isfinite(evaluation.values).all(axis=1)
    return np.where(ok[:, None], evaluation.values, np.inf)


def _order(values: np.ndarray) -> np.ndarray:
    """Indices of ``values`` rows best first: non-domination rank, then the first objective."""
    rank = fronts(values) if values.shape[1] > 1 else np.zeros(len(values), dtype=np.int64)
    first = np.where(np.isfinite(values[:, 0]), values[:, 0], np.inf)
    return np.lexsort((first, rank))


class _CategoricalStrategy(Strategy):
    """Seeded generator, the encoding bound at :meth:`setup`."""

    def __init__(self, *, seed: int = 0) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise SpecError(f"seed: must be an integer >= 0, got {seed!r}")
        self.rng = np.random.default_rng(seed)
        self.encoding: Categorical | None = None
        self.n_objectives = 1

    def setup(self, problem: Any, budget: int | None) -> None:
        enc = encoding_of(problem)
        if not isinstance(enc, Categorical):
            raise SpecError(f"strategy {self.name}: searches categorical vectors, got a problem with "
                            f"{'no' if enc is None else enc.kind} encoding")
        self.encoding, self.n_objectives = enc, len(problem.objectives)
        self._start()

    def _start(self) -> None:
        """Initialise what depends on the encoding."""

    @property
    def cards(self) -> np.ndarray:
        if self.encoding is None:
            raise SpecError(f"strategy {self.name}: call setup(problem, budget) before ask")
        return np.array(self.encoding.cards, dtype=np.int64)

    def _random(self, n: int) -> np.ndarray:
        if self.encoding is None:
            raise SpecError(f"strategy {self.name}: call setup(problem, budget) before ask")
        return self.encoding.sample(self.rng, n)

    def _mutate(self, rows: np.ndarray) -> np.ndarray:
        """Each row with one decision (of cardinality > 1) changed to another value."""
        cards = self.cards
        free = np.flatnonzero(cards > 1)
        out = np.array(rows, dtype=np.int64, copy=True)
        if len(free) == 0:
            return out
        pos = free[self.rng.integers(len(free), size=len(out))]
        shift = 1 + (self.rng.random(len(out)) * (cards[pos] - 1)).astype(np.int64)
        out[np.arange(len(out)), pos] = (out[np.arange(len(out)), pos] + shift) % cards[pos]
        return out


class RandomChoices(_CategoricalStrategy):
    """Uniform random vectors, ``batch`` per ask."""

    name = "random"

    def __init__(self, *, seed: int = 0, batch: int = 16) -> None:
        super().__init__(seed=seed)
        _positive_ints(batch=batch)
        self.batch = batch

    def ask(self) -> ChoiceBatch:
        return ChoiceBatch(self._random(self.batch))


class AgingEvolution(_CategoricalStrategy):
    """Regularized (aging) evolution: tournament of ``sample`` out of ``population``, one-decision mutation."""

    name = "evolution"

    def __init__(self, *, seed: int = 0, population: int = 50, sample: int = 10, batch: int = 8) -> None:
        super().__init__(seed=seed)
        _positive_ints(population=population, sample=sample, batch=batch)
        if sample > population:
            raise SpecError(f"sample: must be <= population ({population}), got {sample}")
        self.population, self.sample, self.batch = population, sample, batch
        self._x = np.zeros((0, 0), dtype=np.int64)
        self._f = np.zeros((0, 1))

    def ask(self) -> ChoiceBatch:
        if len(self._x) < self.population:
            return ChoiceBatch(self._random(min(self.batch, self.population - len(self._x))))
        picks = np.array([self.rng.choice(len(self._x), size=self.sample, replace=False) for _ in range(self.batch)])
        parents = np.array([p[_order(self._f[p])[0]] for p in picks])
        return ChoiceBatch(self._mutate(self._x[parents]))

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        x, f = np.asarray(candidates.x, dtype=np.int64), _masked(evaluation)
        self._x = x if len(self._x) == 0 else np.concatenate([self._x, x])
        self._f = f if len(self._f) == 0 or self._f.shape[1] != f.shape[1] else np.concatenate([self._f, f])
        self._x, self._f = self._x[-self.population:], self._f[-self.population:]  # the oldest die


class ReinforceChoices(_CategoricalStrategy):
    """REINFORCE on independent softmaxes (one per decision), ``batch`` samples per ask.

    Reward: one objective, its value standardised by the mean and deviation of every feasible
    value seen (lower is better, so negated); several, minus the share of the front found so
    far that dominates the candidate (0 for a new non-dominated one). Infeasible: -3.
    """

    name = "reinforce"

    def __init__(self, *, seed: int = 0, lr: float = 0.1, batch: int = 8, baseline_decay: float = 0.9) -> None:
        super().__init__(seed=seed)
        _positive_ints(batch=batch)
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise SpecError(f"lr: must be a number > 0, got {lr!r}")
        if not (isinstance(baseline_decay, (int, float)) and 0 <= baseline_decay < 1):
            raise SpecError(f"baseline_decay: must be in [0, 1), got {baseline_decay!r}")
        self.lr, self.batch, self.decay = float(lr), batch, float(baseline_decay)
        self.logits: list[np.ndarray] = []
        self.baseline: float | None = None
        self._seen = np.zeros(3)  # count, mean, M2 of feasible values (one objective)
        self._front = np.zeros((0, 1))

    def _start(self) -> None:
        self.logits = [np.zeros(int(c)) for c in self.cards]

    def probabilities(self) -> list[np.ndarray]:
        out = []
        for z in self.logits:
            e = np.exp(z - z.max())
            out.append(e / e.sum())
        return out

    def ask(self) -> ChoiceBatch:
        probs = self.probabilities()
        u = self.rng.random((self.batch, len(probs)))
        x = np.column_stack([np.minimum(np.searchsorted(np.cumsum(p), u[:, i], side="right"), len(p) - 1)
                             for i, p in enumerate(probs)])
        return ChoiceBatch(x.astype(np.int64))

    def _rewards(self, f: np.ndarray) -> np.ndarray:
        ok = np.isfinite(f).all(axis=1)
        r = np.full(len(f), -3.0)
        if f.shape[1] == 1:
            for v in f[ok, 0]:  # Welford: the running mean and deviation of everything seen
                n, mean, m2 = self._seen
                n += 1
                d = v - mean
                mean += d / n
                self._seen = np.array([n, mean, m2 + d * (v - mean)])
            n, mean, m2 = self._seen
            sd = math.sqrt(m2 / n) if n > 1 and m2 > 0 else 1.0
            r[ok] = np.clip(-(f[ok, 0] - mean) / sd, -3.0, 3.0)
            return r
        front = self._front if self._front.shape[1] == f.shape[1] else np.zeros((0, f.shape[1]))
        for i in np.flatnonzero(ok):
            dom = ((front <= f[i]).all(axis=1) & (front < f[i]).any(axis=1)).sum() if len(front) else 0
            r[i] = -dom / max(len(front), 1)
        pool = np.concatenate([front, f[ok]])
        self._front = pool[non_dominated(pool)] if len(pool) else pool
        return r

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        x = np.asarray(candidates.x, dtype=np.int64)
        r = self._rewards(_masked(evaluation))
        if self.baseline is None:
            self.baseline = float(r.mean())
        adv = r - self.baseline
        probs = self.probabilities()
        for i, p in enumerate(probs):
            grad = -np.outer(adv, p).sum(axis=0)
            np.add.at(grad, x[:, i], adv)
            self.logits[i] = self.logits[i] + self.lr * grad / len(x)
        self.baseline = self.decay * self.baseline + (1 - self.decay) * float(r.mean())


class Nsga2Choices(_CategoricalStrategy):
    """NSGA-II on categorical vectors: binary tournament on rank and crowding, uniform crossover,
    each decision resampled with probability ``mutation_prob`` (default 1/d); tell keeps the
    best ``pop`` of parents + offspring."""

    name = "nsga2"

    def __init__(self, *, seed: int = 0, pop: int = 40, crossover_prob: float = 0.9,
                 mutation_prob: float | None = None) -> None:
        super().__init__(seed=seed)
        _positive_ints(pop=pop)
        if pop < 2:
            raise SpecError(f"pop: must be an integer >= 2, got {pop!r}")
        for k, v in (("crossover_prob", crossover_prob), ("mutation_prob", mutation_prob)):
            if v is not None and not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise SpecError(f"{k}: must be in [0, 1], got {v!r}")
        self.pop, self.crossover_prob, self._mutation_prob = pop, float(crossover_prob), mutation_prob
        self._x = np.zeros((0, 0), dtype=np.int64)
        self._f: np.ndarray | None = None
        self._rank = np.zeros(0, dtype=np.int64)
        self._crowd = np.zeros(0)

    def ask(self) -> ChoiceBatch:
        if self._f is None or len(self._x) < 2:
            return ChoiceBatch(self._random(self.pop))
        i, j = self.rng.integers(0, len(self._x), (2, 2 * self.pop))
        rank, crowd = self._rank, self._crowd
        better = (rank[i] < rank[j]) | ((rank[i] == rank[j]) & (crowd[i] > crowd[j]))
        parents = np.where(better, i, j)
        a, b = self._x[parents[0::2]], self._x[parents[1::2]]
        cross = (self.rng.random(len(a)) < self.crossover_prob)[:, None] & (self.rng.random(a.shape) < 0.5)
        child = np.where(cross, b, a)
        p = self._mutation_prob if self._mutation_prob is not None else 1.0 / child.shape[1]
        resample = self.rng.random(child.shape) < p
        child = np.where(resample, self._random(len(child)), child)
        return ChoiceBatch(child[: self.pop])

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        f = _masked(evaluation)
        x = np.asarray(candidates.x, dtype=np.int64)
        if self._f is not None and self._f.shape[1] == f.shape[1]:
            x, f = np.concatenate([self._x, x]), np.concatenate([self._f, f])
        rank = fronts(f)
        crowd = np.zeros(len(f))
        for r in np.unique(rank):
            members = np.flatnonzero(rank == r)
            fin = np.isfinite(f[members]).all(axis=1)
            if fin.any():
                crowd[members[fin]] = crowding_distance(f[members[fin]])
        keep = np.lexsort((-crowd, rank))[: self.pop]
        self._x, self._f, self._rank, self._crowd = x[keep], f[keep], rank[keep], crowd[keep]
