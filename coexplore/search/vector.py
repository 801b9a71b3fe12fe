"""Strategies over real vectors in the unit box [0, 1]^d (domain-free).

A problem that decodes a real vector into a design (an accelerator, a network, ...)
can be searched by any of these: ``RandomVectors`` (uniform sampling), ``GridVectors``
(a full factorial grid, exhaustive), ``CmaEs`` (the ``cma`` package, bounded to the
box, with restarts) and ``Nsga2`` (multi-objective NSGA-II: non-dominated sorting,
crowding distance, SBX crossover and polynomial mutation; Deb et al., 2002).
Candidates are :class:`VectorBatch` rows. Every strategy accepts infeasible
candidates (value ``inf`` or ``feasible`` False): they rank after every feasible one.
"""

from __future__ import annotations

import itertools
import math
import warnings
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy

__all__ = ["CmaEs", "GridVectors", "Nsga2", "RandomVectors", "VectorBatch", "crowding_distance", "fronts"]


@dataclass(frozen=True, slots=True, eq=False)
class VectorBatch:
    """A batch of candidate vectors ``x`` float (n, d), every coordinate in [0, 1]."""

    x: np.ndarray

    def __post_init__(self) -> None:
        if self.x.ndim != 2:
            raise SpecError(f"VectorBatch.x: must be a 2-D array (n, d), got shape {self.x.shape}")

    def __len__(self) -> int:
        return len(self.x)

    def take(self, idx: Any) -> VectorBatch:
        return VectorBatch(self.x[np.asarray(idx).reshape(-1)])

    def concat(self, other: VectorBatch) -> VectorBatch:
        return VectorBatch(np.concatenate([self.x, other.x]))


def _check(dim: int, **positive: int) -> None:
    bad = [] if isinstance(dim, int) and dim >= 1 else [f"dim: must be an integer >= 1, got {dim!r}"]
    bad += [f"{k}: must be an integer >= 1, got {v!r}" for k, v in positive.items()
            if not isinstance(v, int) or v < 1]
    if bad:
        raise SpecError(bad)


def _initial(initial: Any, dim: int) -> np.ndarray:
    if initial is None:
        return np.zeros((0, dim))
    x = np.atleast_2d(np.asarray(initial, dtype=np.float64))
    if x.shape[1] != dim:
        raise SpecError(f"initial: vectors must have {dim} coordinates, got shape {x.shape}")
    return np.clip(x, 0.0, 1.0)


class _BoxStrategy(Strategy):
    """Binds to a problem's :class:`~coexplore.search.encoding.Box` when the dimension was not given."""

    dim: int

    @abstractmethod
    def _bind(self, dim: int) -> None:
        """Set what depends on the dimension (initial points, population size...)."""

    def setup(self, problem: Any, budget: int | None) -> None:
        from coexplore.search.encoding import Box, encoding_of

        enc = encoding_of(problem)
        if enc is None and getattr(self, "dim", None) is not None:
            return  # built for its problem already (dim given): nothing to bind
        if not isinstance(enc, Box):
            raise SpecError(f"strategy {self.name}: searches a box of reals in [0, 1]^d, got a problem with "
                            f"{'no' if enc is None else enc.kind} encoding")
        if getattr(self, "dim", None) not in (None, enc.dim):
            raise SpecError(f"strategy {self.name}: built for dim {self.dim}, the problem has {enc.dim}")
        self._bind(enc.dim)


def _ok(evaluation: Evaluation) -> np.ndarray:
    return evaluation.feasible & np.isfinite(evaluation.values).all(axis=1)


class RandomVectors(_BoxStrategy):
    """Uniform random vectors, ``batch`` per ask; ``initial`` vectors come first."""

    name = "random"

    def __init__(self, *, dim: int | None = None, seed: int = 0, batch: int = 32, initial: Any = None) -> None:
        _check(dim or 1, batch=batch)
        self.batch, self._initial_arg = batch, initial
        self.rng = np.random.default_rng(seed)
        if dim is not None:
            self._bind(dim)

    def _bind(self, dim: int) -> None:
        _check(dim)
        self.dim = dim
        self._initial = _initial(self._initial_arg, dim)

    def ask(self) -> VectorBatch:
        first, self._initial = self._initial, np.zeros((0, self.dim))
        x = self.rng.random((max(self.batch - len(first), 0), self.dim))
        return VectorBatch(np.concatenate([first, x]))


class GridVectors(Strategy):
    """Every point of a full factorial grid, ``batch`` per ask, first coordinate slowest.

    ``levels_per_dim`` (one int for all dims, or one per dim) gives the points per
    axis: ``linspace(0, 1, n)``; a dim with one level takes ``center[dim]`` (default 0.5).
    ``initial`` vectors are proposed before the grid. Without ``levels_per_dim`` the grid
    is sized at setup by :meth:`levels` (a domain's grid that fits the evaluation budget).
    """

    name = "grid"

    def __init__(self, *, levels_per_dim: int | Sequence[int] | None = None, dim: int | None = None, batch: int = 64,
                 center: Any = None, initial: Any = None) -> None:
        self.batch, self._dim_arg, self._center_arg, self._initial_arg = batch, dim, center, initial
        self._done = 0
        if levels_per_dim is not None:
            self._build(levels_per_dim)
        else:
            _check(dim or 1, batch=batch)

    def levels(self, problem: Any, budget: int | None) -> int | Sequence[int]:
        """Points per axis when the constructor was given none: a subclass sizes its grid here."""
        raise SpecError(f"strategy {self.name}: levels_per_dim: give the points per axis, got None")

    def setup(self, problem: Any, budget: int | None) -> None:
        if not hasattr(self, "axes"):
            self._build(self.levels(problem, budget))

    def _build(self, levels_per_dim: int | Sequence[int]) -> None:
        dim = self._dim_arg
        levels = [levels_per_dim] * (dim or 1) if isinstance(levels_per_dim, int) else list(levels_per_dim)
        if dim is not None and len(levels) != dim:
            raise SpecError(f"levels_per_dim: must have dim={dim} entries, got {len(levels)}")
        _check(len(levels), batch=self.batch)
        bad = [f"levels_per_dim[{i}]: must be an integer >= 1, got {v!r}" for i, v in enumerate(levels)
               if not isinstance(v, int) or v < 1]
        if bad:
            raise SpecError(bad)
        c = np.full(len(levels), 0.5) if self._center_arg is None else _initial(self._center_arg, len(levels))[0]
        self.axes = [np.linspace(0.0, 1.0, n) if n > 1 else np.array([c[i]]) for i, n in enumerate(levels)]
        self.dim = len(levels)
        first = _initial(self._initial_arg, len(levels))
        self.size = math.prod(levels) + len(first)
        self._points = itertools.chain(map(tuple, first), itertools.product(*self.axes))

    def ask(self) -> VectorBatch:
        rows = list(itertools.islice(self._points, self.batch))
        self._done += len(rows)
        return VectorBatch(np.array(rows, dtype=np.float64).reshape(len(rows), self.dim))

    @property
    def finished(self) -> bool:
        return self._done >= self.size

    @property
    def exhaustive(self) -> bool:
        return True


def _import_cma() -> Any:
    with warnings.catch_warnings():  # cma warns when matplotlib is missing; plotting is not used
        warnings.simplefilter("ignore")
        import cma
    return cma


class CmaEs(_BoxStrategy):
    """CMA-ES (``cma`` package) bounded to [0, 1]^d, restarted (IPOP) when it stops.

    One ask is one population. Infeasible candidates get the worst feasible value of
    their population plus a margin, so they rank last. ``x0`` (default: the centre)
    is the first mean, and it is injected into the first population. Deterministic for
    a seed: ``cma`` draws its normals from this strategy's generator.
    """

    name = "cmaes"

    def __init__(self, *, dim: int | None = None, seed: int = 0, popsize: int | None = None, sigma0: float = 0.3,
                 x0: Any = None, max_popsize: int | None = None) -> None:
        if popsize is not None and (not isinstance(popsize, int) or popsize < 2):
            raise SpecError(f"popsize: must be None or an integer >= 2, got {popsize!r}")
        if not 0 < sigma0 <= 1:
            raise SpecError(f"sigma0: must be in (0, 1], got {sigma0!r}")
        self.sigma0, self._popsize_arg, self._max_popsize_arg, self._x0_arg = sigma0, popsize, max_popsize, x0
        self.rng = np.random.default_rng(seed)
        self.restarts = -1
        self._es: Any = None
        self._x: np.ndarray | None = None
        if dim is not None:
            self._bind(dim)

    def _bind(self, dim: int) -> None:
        _check(dim)
        self.dim = dim
        self.popsize = self._popsize_arg or 4 + int(3 * math.log(dim))
        self.max_popsize = self._max_popsize_arg or 8 * self.popsize
        self.x0 = None if self._x0_arg is None else _initial(self._x0_arg, dim)[0]

    def _restart(self) -> None:
        cma = _import_cma()
        self.restarts += 1
        first = self.restarts == 0
        lam = min(self.popsize * 2 ** self.restarts, self.max_popsize)
        mean = self.x0 if first and self.x0 is not None else (
            np.full(self.dim, 0.5) if first else self.rng.random(self.dim))
        rng = self.rng
        opts = {"popsize": lam, "bounds": [0.0, 1.0], "seed": int(rng.integers(1, 2**31 - 1)), "verbose": -9,
                "randn": _Randn(rng), "tolflatfitness": 5}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._es = cma.CMAEvolutionStrategy(np.array(mean, dtype=np.float64), self.sigma0, opts)
            if first and self.x0 is not None:
                self._es.inject([self.x0], force=True)

    def ask(self) -> VectorBatch:
        if self._es is None or self._es.stop():
            self._restart()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._x = np.asarray(self._es.ask(), dtype=np.float64)
        return VectorBatch(np.clip(self._x, 0.0, 1.0))

    def tell(self, candidates: VectorBatch, evaluation: Evaluation) -> None:
        if self._x is None or len(evaluation) != len(self._x):  # a budget-truncated batch: nothing to learn
            self._x = None
            return
        ok = _ok(evaluation)
        # several objectives: the non-domination rank in the population (a scalar CMA-ES can rank)
        v = (evaluation.values[:, 0] if evaluation.values.shape[1] == 1 else
             fronts(evaluation.values, ok)).astype(np.float64)
        f = np.where(ok, v, 0.0)
        if not ok.all():
            top = float(f[ok].max()) if ok.any() else 0.0
            low = float(f[ok].min()) if ok.any() else 0.0
            f[~ok] = top + max(top - low, abs(top), 1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._es.tell(list(self._x), f.tolist())
        self._x = None


class _Randn:
    """CMA-ES's normal sampler drawn from our Generator (a class, not a lambda, so a study can pickle it)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, n: int, d: int) -> np.ndarray:
        return self.rng.standard_normal((n, d))


# -- NSGA-II ---------------------------------------------------------------------------
def fronts(values: np.ndarray, feasible: np.ndarray | None = None) -> np.ndarray:
    """Non-domination rank (0 = the Pareto front) of each row of ``values`` (n, k), minimised.

    Infeasible rows (``feasible`` False or any non-finite value) rank after every
    feasible one, all in one last front.
    """
    n = len(values)
    ok = np.isfinite(values).all(axis=1) if feasible is None else feasible & np.isfinite(values).all(axis=1)
    rank = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(ok)
    v = values[idx]
    le = np.all(v[:, None, :] <= v[None, :, :], axis=2)
    lt = np.any(v[:, None, :] < v[None, :, :], axis=2)
    dominated_by = (le & lt).T  # [i, j]: j dominates i
    count = dominated_by.sum(axis=1)
    r, current = 0, np.flatnonzero(count == 0)
    while len(current):
        rank[idx[current]] = r
        count = count - dominated_by[:, current].sum(axis=1)
        count[current] = -1
        current = np.flatnonzero(count == 0)
        r += 1
    rank[rank < 0] = r
    return rank


def crowding_distance(values: np.ndarray) -> np.ndarray:
    """Crowding distance of each row of one front ``values`` (n, k); extremes get ``inf``."""
    n, k = values.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(k):
        order = np.argsort(values[:, j], kind="stable")
        col = values[order, j]
        span = col[-1] - col[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0 and np.isfinite(span):
            dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return dist


class Nsga2(_BoxStrategy):
    """NSGA-II over [0, 1]^d: the first ask is ``pop`` random vectors (``initial`` first),
    every later ask ``pop`` offspring (binary tournament on rank and crowding, SBX
    crossover, polynomial mutation); tell keeps the best ``pop`` of parents + offspring."""

    name = "nsga2"

    def __init__(self, *, dim: int | None = None, seed: int = 0, pop: int = 40, crossover_prob: float = 0.9,
                 eta_crossover: float = 15.0, eta_mutation: float = 20.0, mutation_prob: float | None = None,
                 initial: Any = None) -> None:
        _check(dim or 1, pop=pop)
        self.pop = pop
        self.crossover_prob, self.eta_c, self.eta_m = crossover_prob, eta_crossover, eta_mutation
        self._mutation_prob_arg, self._initial_arg = mutation_prob, initial
        self.rng = np.random.default_rng(seed)
        self._f: np.ndarray | None = None
        self._rank = np.zeros(0, dtype=np.int64)
        self._crowd = np.zeros(0)
        if dim is not None:
            self._bind(dim)

    def _bind(self, dim: int) -> None:
        _check(dim)
        self.dim = dim
        self.mutation_prob = self._mutation_prob_arg if self._mutation_prob_arg is not None else 1.0 / dim
        self._initial = _initial(self._initial_arg, dim)
        self._x = np.zeros((0, dim))

    def ask(self) -> VectorBatch:
        if self._f is None or len(self._x) < 2:
            x = np.concatenate([self._initial, self.rng.random((self.pop, self.dim))])[: self.pop]
            return VectorBatch(x)
        parents = self._tournament(2 * math.ceil(self.pop / 2))
        a, b = self._x[parents[0::2]], self._x[parents[1::2]]
        c1, c2 = self._sbx(a, b)
        return VectorBatch(self._mutate(np.concatenate([c1, c2])[: self.pop]))

    def tell(self, candidates: VectorBatch, evaluation: Evaluation) -> None:
        f = np.where(_ok(evaluation)[:, None], evaluation.values, np.inf)
        x, f = (candidates.x, f) if self._f is None else (
            np.concatenate([self._x, candidates.x]), np.concatenate([self._f, f]))
        rank = fronts(f)
        crowd = np.zeros(len(f))
        for r in np.unique(rank):
            members = np.flatnonzero(rank == r)
            fin = np.isfinite(f[members]).all(axis=1)
            crowd[members[fin]] = crowding_distance(f[members[fin]]) if fin.any() else 0.0
        order = np.lexsort((-crowd, rank))[: self.pop]
        self._x, self._f, self._rank, self._crowd = x[order], f[order], rank[order], crowd[order]

    def _tournament(self, n: int) -> np.ndarray:
        i, j = self.rng.integers(0, len(self._x), (2, n))
        better_i = (self._rank[i] < self._rank[j]) | ((self._rank[i] == self._rank[j]) &
                                                      (self._crowd[i] > self._crowd[j]))
        return np.where(better_i, i, j)

    def _sbx(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Simulated binary crossover (bounded to [0, 1]) of parent rows ``a``, ``b``."""
        u = self.rng.random(a.shape)
        beta = np.where(u <= 0.5, (2 * u) ** (1 / (self.eta_c + 1)), (1 / (2 * (1 - u))) ** (1 / (self.eta_c + 1)))
        c1 = 0.5 * ((1 + beta) * a + (1 - beta) * b)
        c2 = 0.5 * ((1 - beta) * a + (1 + beta) * b)
        cross = (self.rng.random(len(a)) < self.crossover_prob)[:, None] & (self.rng.random(a.shape) < 0.5)
        return np.clip(np.where(cross, c1, a), 0, 1), np.clip(np.where(cross, c2, b), 0, 1)

    def _mutate(self, x: np.ndarray) -> np.ndarray:
        """Polynomial mutation (Deb's bounded form) of each coordinate with ``mutation_prob``."""
        u = self.rng.random(x.shape)
        e = self.eta_m + 1
        left = (2 * u + (1 - 2 * u) * (1 - x) ** e) ** (1 / e) - 1
        right = 1 - (2 * (1 - u) + 2 * (u - 0.5) * x ** e) ** (1 / e)
        delta = np.where(u < 0.5, left, right)
        mutate = self.rng.random(x.shape) < self.mutation_prob
        return np.clip(np.where(mutate, x + delta, x), 0.0, 1.0)
