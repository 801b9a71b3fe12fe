"""Generic strategies over categorical vectors: any problem whose ``encoding`` is
:class:`~coexplore.search.encoding.Categorical` (network edges, hardware choices, both at once).

* ``RandomChoices``: uniform vectors.
* ``AgingEvolution``: regularized evolution (Real et al., AAAI 2019): ``population`` random
  vectors, then children of the best of ``sample`` random members with one (active) decision
  changed; a feasible child joins the population and the oldest member dies.
* ``ReinforceChoices``: REINFORCE (Williams, 1992) on a factorised softmax policy, one
  distribution per decision, with a moving-average baseline and an optional entropy bonus.
* ``Nsga2Choices``: NSGA-II (Deb et al., 2002) with uniform crossover and per-decision
  resampling mutation.

With several objectives, "best" means the lowest non-domination rank (then the first
objective), and REINFORCE's reward is minus the share of the front found so far that
dominates a candidate. Every strategy ranks infeasible candidates after every feasible one.
With ``unique`` (random, evolution), no candidate is proposed twice: candidates are compared
up to their inactive decisions (:meth:`~coexplore.search.encoding.Categorical.canonical`), and the
strategy is ``finished`` once every distinct candidate has been proposed. Every problem here is
deterministic, so a repeat costs an evaluation and teaches nothing; the network search kind turns
it on by default (:mod:`coexplore.nas.strategies`). Constructors take hyper-parameters only;
:meth:`setup` binds the problem's encoding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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


def _flag(**values: Any) -> None:
    bad = [f"{k}: must be true or false, got {v!r}" for k, v in values.items() if not isinstance(v, bool)]
    if bad:
        raise SpecError(bad)


class _CategoricalStrategy(Strategy):
    """Seeded generator, the encoding bound at :meth:`setup`, and (``unique``) what was proposed."""

    _TRIES = 100  # re-draws of a repeated candidate before a random fresh one takes its place

    def __init__(self, *, seed: int = 0, unique: bool = False) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise SpecError(f"seed: must be an integer >= 0, got {seed!r}")
        _flag(unique=unique)
        self.rng = np.random.default_rng(seed)
        self.encoding: Categorical | None = None
        self.n_objectives = 1
        self.unique = unique
        self._proposed: set[bytes] = set()  # canonical rows proposed (unique)
        self._exhausted = False

    def setup(self, problem: Any, budget: int | None) -> None:
        enc = encoding_of(problem)
        if not isinstance(enc, Categorical):
            raise SpecError(f"strategy {self.name}: searches categorical vectors, got a problem with "
                            f"{'no' if enc is None else enc.kind} encoding")
        self.encoding, self.n_objectives = enc, len(problem.objectives)
        self._start()

    def _start(self) -> None:
        """Initialise what depends on the encoding."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Checkpoints pickled before ``unique`` existed resume without it."""
        state.setdefault("unique", False)
        state.setdefault("_proposed", set())
        state.setdefault("_exhausted", False)
        if "population" in state:
            state.setdefault("_initial", state["population"])
        if "logits" in state:
            state.setdefault("entropy", 0.0)
            state.setdefault("infeasible_reward", -3.0)
        self.__dict__.update(state)

    @property
    def finished(self) -> bool:
        return self._exhausted

    @property
    def cards(self) -> np.ndarray:
        return np.array(self._enc().cards, dtype=np.int64)

    def _enc(self) -> Categorical:
        if self.encoding is None:
            raise SpecError(f"strategy {self.name}: call setup(problem, budget) before ask")
        return self.encoding

    def _random(self, n: int) -> np.ndarray:
        return self._enc().sample(self.rng, n)

    def _mutate(self, rows: np.ndarray) -> np.ndarray:
        """Each row with one active decision (of cardinality > 1) changed to another value."""
        cards, enc = self.cards, self._enc()
        out = np.array(rows, dtype=np.int64, copy=True)
        if enc.conditions:  # the decisions that matter differ per row
            live = enc.active(out) & (cards > 1)
            for r in np.flatnonzero(live.any(axis=1)):
                free = np.flatnonzero(live[r])
                p = free[self.rng.integers(len(free))]
                out[r, p] = (out[r, p] + 1 + int(self.rng.random() * (cards[p] - 1))) % cards[p]
            return out
        free = np.flatnonzero(cards > 1)
        if len(free) == 0:
            return out
        pos = free[self.rng.integers(len(free), size=len(out))]
        shift = 1 + (self.rng.random(len(out)) * (cards[pos] - 1)).astype(np.int64)
        out[np.arange(len(out)), pos] = (out[np.arange(len(out)), pos] + shift) % cards[pos]
        return out

    # -- unique: no candidate twice ---------------------------------------------------------
    def _take_fresh(self, rows: np.ndarray, limit: int | None = None) -> np.ndarray:
        """Which ``rows`` were never proposed (nor earlier in ``rows``), at most ``limit`` of them, first
        ones first; marks them proposed."""
        keys = self._enc().canonical(rows).astype(np.int32)
        fresh = np.zeros(len(rows), dtype=bool)
        taken = 0
        for i, row in enumerate(keys):
            if limit is not None and taken >= limit:
                break
            k = row.tobytes()
            if k not in self._proposed:
                self._proposed.add(k)
                fresh[i] = True
                taken += 1
        return fresh

    def _random_fresh(self, n: int) -> np.ndarray:
        """Up to ``n`` uniform vectors (``unique``: never proposed; fewer, and ``finished``, once none is left)."""
        if not self.unique:
            return self._random(n)
        enc = self._enc()
        out = np.zeros((0, enc.dim), dtype=np.int64)
        for _ in range(self._TRIES):
            if len(out) == n:
                return out
            draw = self._random(max(n - len(out), 1) * 2)
            out = np.concatenate([out, draw[self._take_fresh(draw, n - len(out))]])
            if len(self._proposed) >= enc.distinct:
                self._exhausted = True
                return out
        if enc.size <= 2 ** 20:  # nearly exhausted: pick among the candidates still unproposed
            every = enc.canonical(np.array(list(np.ndindex(*enc.cards)), dtype=np.int64).reshape(-1, enc.dim))
            every = np.unique(every, axis=0)
            left = every[[row.astype(np.int32).tobytes() not in self._proposed for row in every]]
            pick = left[self.rng.permutation(len(left))[: n - len(out)]]
            self._take_fresh(pick)
            out = np.concatenate([out, pick])
            self._exhausted = len(self._proposed) >= enc.distinct
        return out

    def _fresh(self, rows: np.ndarray, redraw: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``rows`` (``unique``: each one proposed before re-drawn by ``redraw(its index)``, then at random)."""
        if not self.unique:
            return rows
        out = np.array(rows, dtype=np.int64, copy=True)
        todo = np.flatnonzero(~self._take_fresh(out))
        for _ in range(self._TRIES):
            if len(todo) == 0:
                return out
            out[todo] = redraw(todo)
            todo = todo[~self._take_fresh(out[todo])]
        keep = np.setdiff1d(np.arange(len(out)), todo)
        return np.concatenate([out[keep], self._random_fresh(len(todo))])


class RandomChoices(_CategoricalStrategy):
    """Uniform random vectors, ``batch`` per ask (``unique``: none twice)."""

    name = "random"

    def __init__(self, *, seed: int = 0, batch: int = 16, unique: bool = False) -> None:
        super().__init__(seed=seed, unique=unique)
        _positive_ints(batch=batch)
        self.batch = batch

    def ask(self) -> ChoiceBatch:
        return ChoiceBatch(self._random_fresh(self.batch))


class AgingEvolution(_CategoricalStrategy):
    """Regularized (aging) evolution: tournament of ``sample`` out of ``population``, one-decision mutation.

    The first ``population`` proposals are random; then each child mutates the best of ``sample``
    members drawn at random (all of them while there are fewer). Only feasible candidates join the
    population (an infeasible one could only take a feasible member's place); until one is found,
    proposals stay random.
    """

    name = "evolution"

    def __init__(self, *, seed: int = 0, population: int = 50, sample: int = 10, batch: int = 8,
                 unique: bool = False) -> None:
        super().__init__(seed=seed, unique=unique)
        _positive_ints(population=population, sample=sample, batch=batch)
        self.population, self.sample, self.batch = population, sample, batch
        self._x = np.zeros((0, 0), dtype=np.int64)
        self._f = np.zeros((0, 1))
        self._initial = 0  # random proposals so far (the first population)

    def ask(self) -> ChoiceBatch:
        if self._initial < self.population or len(self._x) == 0:
            n = min(self.batch, self.population - self._initial) if self._initial < self.population else self.batch
            self._initial += n
            return ChoiceBatch(self._random_fresh(n))
        k = min(self.sample, len(self._x))
        picks = np.array([self.rng.choice(len(self._x), size=k, replace=False) for _ in range(self.batch)])
        parents = self._x[np.array([p[_order(self._f[p])[0]] for p in picks])]
        return ChoiceBatch(self._fresh(self._mutate(parents), lambda i: self._mutate(parents[i])))

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        f = _masked(evaluation)
        ok = np.isfinite(f).all(axis=1)
        x, f = np.asarray(candidates.x, dtype=np.int64)[ok], f[ok]
        if len(x) == 0:
            return
        self._x = x if len(self._x) == 0 else np.concatenate([self._x, x])
        self._f = f if len(self._f) == 0 or self._f.shape[1] != f.shape[1] else np.concatenate([self._f, f])
        self._x, self._f = self._x[-self.population:], self._f[-self.population:]  # the oldest die


class ReinforceChoices(_CategoricalStrategy):
    """REINFORCE on independent softmaxes (one per decision), ``batch`` samples per ask.

    Reward: one objective, its value standardised by the mean and deviation of every feasible
    value seen (lower is better, so negated, clipped to +-3); several, minus the share of the
    front found so far that dominates the candidate (0 for a new non-dominated one). An
    infeasible candidate gets ``infeasible_reward`` (default -3, the worst feasible reward).
    ``entropy`` weighs a bonus for the policy's entropy (keeps it exploring; 0: none).
    """

    name = "reinforce"

    def __init__(self, *, seed: int = 0, lr: float = 0.1, batch: int = 8, baseline_decay: float = 0.9,
                 entropy: float = 0.0, infeasible_reward: float = -3.0) -> None:
        super().__init__(seed=seed)
        _positive_ints(batch=batch)
        bad = []
        if not (isinstance(lr, (int, float)) and lr > 0):
            bad.append(f"lr: must be a number > 0, got {lr!r}")
        if not (isinstance(baseline_decay, (int, float)) and 0 <= baseline_decay < 1):
            bad.append(f"baseline_decay: must be in [0, 1), got {baseline_decay!r}")
        if not (isinstance(entropy, (int, float)) and not isinstance(entropy, bool) and 0 <= entropy < math.inf):
            bad.append(f"entropy: must be a number >= 0, got {entropy!r}")
        if not (isinstance(infeasible_reward, (int, float)) and not isinstance(infeasible_reward, bool)
                and math.isfinite(infeasible_reward)):
            bad.append(f"infeasible_reward: must be a finite number, got {infeasible_reward!r}")
        if bad:
            raise SpecError(bad)
        self.lr, self.batch, self.decay = float(lr), batch, float(baseline_decay)
        self.entropy, self.infeasible_reward = float(entropy), float(infeasible_reward)
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
        r = np.full(len(f), self.infeasible_reward)
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
            step = grad / len(x)
            if self.entropy:  # d(-sum p log p)/d logits
                logp = np.log(p + 1e-12)
                step = step + self.entropy * p * (float(p @ logp) - logp)
            self.logits[i] = self.logits[i] + self.lr * step
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
