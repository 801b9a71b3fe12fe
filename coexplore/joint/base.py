"""Shared parts of the joint strategies: the strategy base, the archive of evaluated pairs, decision
mutation, and the grid's accelerator genome.

A strategy is built from its seed and hyper-parameters and bound to a problem and a budget by
``setup`` (the search protocol of :mod:`coexplore.search.strategy`). It holds its problem for
decoding and vectorised work but does not pickle it: the study rebuilds the problem and calls
:meth:`JointStrategy.reattach`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.problem import PairBatch
from coexplore.search.pareto import non_dominated
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy

__all__ = ["GridCoords", "JointStrategy", "PairArchive", "fill_fresh", "mutate_rows"]


def mutate_rows(rows: np.ndarray, cards: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Each row with one decision changed to another value (NB201: one edge's operation)."""
    out = np.array(rows, dtype=np.int64, copy=True)
    c = np.array(cards)
    pos = rng.integers(len(cards), size=len(out))
    shift = 1 + (rng.random(len(out)) * (c[pos] - 1)).astype(np.int64)
    out[np.arange(len(out)), pos] = (out[np.arange(len(out)), pos] + shift) % c[pos]
    return out


class GridCoords:
    """Feasible designs of a grid problem as points: array X and Y, a dataflow, buffer size positions.

    A genome (NAAS's accelerator vector, DANCE's generated hardware) is in [0, 1]^g: X and
    Y (scaled to the grid's largest side), one *importance* per dataflow (the largest
    wins, as NAAS encodes which loop dimensions are parallel), and one position per sized
    level. :meth:`nearest` decodes genomes to the closest feasible design.
    """

    def __init__(self, problem: Any) -> None:
        grid, cards = problem.grid, problem.hw_cards
        self.columns = np.flatnonzero(problem.table.feasible)
        h = problem.hw_choices[self.columns]
        side = max(max(x, y) for x, y in grid.arrays)
        xy = np.array(grid.arrays, dtype=np.float64) / side
        self.n_dataflows = cards[1]
        self.points = np.column_stack([xy[h[:, 0]], *[h[:, k] / max(cards[k] - 1, 1) for k in range(2, len(cards))]])
        self.dataflow = h[:, 1]

    @staticmethod
    def genes(problem: Any) -> int:
        return 2 + problem.hw_cards[1] + len(problem.hw_cards) - 2

    def features(self, columns: np.ndarray) -> np.ndarray:
        """The genome of table ``columns`` (dataflow importance one-hot), float (n, g)."""
        pos = np.searchsorted(self.columns, columns)
        onehot = np.eye(self.n_dataflows)[self.dataflow[pos]]
        return np.column_stack([self.points[pos, :2], onehot, self.points[pos, 2:]])

    def nearest(self, genomes: np.ndarray) -> np.ndarray:
        """Table column of the feasible design nearest to each genome (L1, a dataflow mismatch costs 10)."""
        g = np.atleast_2d(np.asarray(genomes, dtype=np.float64))
        want = np.argmax(g[:, 2:2 + self.n_dataflows], axis=1)
        coords = np.column_stack([g[:, :2], g[:, 2 + self.n_dataflows:]])
        out = np.empty(len(g), dtype=np.int64)
        for i in range(len(g)):
            dist = np.abs(self.points - coords[i]).sum(axis=1) + 10.0 * (self.dataflow != want[i])
            out[i] = self.columns[int(np.argmin(dist))]
        return out


class JointStrategy(Strategy):
    """Shared plumbing: the seeded generator; the problem (not pickled) and the budget, bound by :meth:`setup`.

    Constructors take ``seed`` and hyper-parameters only; what needs the problem or the
    budget happens in ``setup``, which the driver calls once before the first ask (a study
    calls it when it builds the strategy, so a strategy that cannot run on the problem fails
    before the first trial).
    """

    #: the search needs a number of evaluations (``max_evals``) to plan by
    needs_budget: bool = True
    #: the fitness takes every objective after accuracy as a positive cost (log-scaled): a maximised
    #: objective (perf_per_area) would be silently ignored, so it is refused
    costs_only: bool = False
    #: attributes rebuilt from the problem on :meth:`reattach`, so checkpoints stay small
    transient: tuple[str, ...] = ("problem",)

    def __init__(self, *, seed: int = 0) -> None:
        self.seed, self.rng = seed, np.random.default_rng(seed)
        self.problem: Any = None
        self.budget = 0  # pairs the driver allows (0: not bound, or a strategy that needs no budget)
        self.pairs_evaluated = 0  # what the strategy priced itself (vectorised), beyond its proposals

    def setup(self, problem: Any, budget: int | None) -> None:
        """Bind ``problem`` and ``budget`` (pairs the driver will allow); subclasses extend it."""
        bad = isinstance(budget, bool) or not isinstance(budget, int) or budget < 1
        if bad and (budget is not None or self.needs_budget):
            raise SpecError(f"budget: must be an integer >= 1, got {budget!r}"
                            + (f" (strategy {self.name} plans by the number of evaluations: give max_evals)"
                               if budget is None else ""))
        objectives = tuple(getattr(problem, "objectives", ()))
        if self.costs_only and "perf_per_area" in objectives:
            raise SpecError(f"objectives: strategy {self.name} takes every objective after accuracy as a cost to "
                            f"minimise; perf_per_area is maximised: use codesign-nas, codesign-nas-rl, sequential, "
                            f"hw-aware-nas or random, or drop it, got {list(objectives)!r}")
        self.problem, self.budget = problem, 0 if budget is None else budget

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for k in self.transient:
            state[k] = None
        return state

    def reattach(self, problem: Any) -> None:
        """Give a strategy restored from a checkpoint its problem back (it was set up already)."""
        self.problem = problem
        self._attach(problem)

    def _attach(self, problem: Any) -> None:
        """Rebuild what :attr:`transient` left out of the pickle (default: nothing)."""

    def _random_archs(self, n: int) -> np.ndarray:
        return np.column_stack([self.rng.integers(c, size=n) for c in self.problem.arch_cards]).astype(np.int64)

    def _random_hw(self, n: int) -> np.ndarray:
        sampler = getattr(self.problem, "sample_hw", None)
        if sampler is not None:
            return np.asarray(sampler(self.rng, n), dtype=np.int64)
        return np.column_stack([self.rng.integers(c, size=n) for c in self.problem.hw_cards]).astype(np.int64)


class PairArchive:
    """The non-dominated pairs evaluated so far (kept up to date batch by batch) and the keys of every proposal."""

    def __init__(self) -> None:
        self.arch = np.zeros((0, 0), np.int64)
        self.hw = np.zeros((0, 0), np.int64)
        self.values = np.zeros((0, 0))
        self.seen: set[bytes] = set()

    def add(self, cands: PairBatch, ev: Evaluation) -> None:
        """Merge the feasible pairs of a batch: the front of (front + batch) is the front of everything."""
        ok = ev.feasible & np.isfinite(ev.values).all(axis=1)
        if not ok.any():
            return
        if len(self.values):
            arch, hw = np.concatenate([self.arch, cands.arch[ok]]), np.concatenate([self.hw, cands.hw[ok]])
            values = np.concatenate([self.values, ev.values[ok]])
        else:
            arch, hw, values = cands.arch[ok], cands.hw[ok], ev.values[ok]
        keep = non_dominated(values)
        self.arch, self.hw, self.values = arch[keep], hw[keep], values[keep]

    def key(self, arch: np.ndarray, hw: np.ndarray) -> bytes:
        return arch.tobytes() + b"|" + hw.tobytes()

    def fresh(self, arch: np.ndarray, hw: np.ndarray) -> np.ndarray:
        """Mask of rows not proposed before (and not repeated within the batch); marks them seen."""
        out = np.zeros(len(arch), dtype=bool)
        for i in range(len(arch)):
            k = self.key(arch[i], hw[i])
            if k not in self.seen:
                self.seen.add(k)
                out[i] = True
        return out

    def front(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.arch, self.hw, self.values


def front_children(strategy: JointStrategy, archive: PairArchive, *, initial: int, batch: int,
                   random_share: float) -> np.ndarray:
    """The networks a front-based evolution proposes next: ``initial`` random ones while nothing is
    evaluated, then ``batch`` one-decision mutants of networks on the archive's front, a
    ``random_share`` of them replaced by random networks (hardware-aware NAS and the FABNet co-search)."""
    a, _, v = archive.front()
    if len(v) == 0:
        return strategy._random_archs(initial)
    arch = mutate_rows(a[strategy.rng.integers(len(a), size=batch)], strategy.problem.arch_cards, strategy.rng)
    r = strategy.rng.random(batch) < random_share
    arch[r] = strategy._random_archs(int(r.sum()))
    return arch


def fill_fresh(strategy: JointStrategy, archive: PairArchive, arch: np.ndarray, hw: np.ndarray,
          tries: int = 20) -> PairBatch:
    """``arch``/``hw`` with repeats of earlier proposals replaced by mutants (then random networks).

    Where the problem has unused decisions (``canonical``, e.g. layers beyond a chain's
    depth), pairs are compared in canonical form, so a change to an unused decision is no new pair.
    """
    canon = getattr(strategy.problem, "canonical", None)
    arch, hw = arch.copy(), hw.copy()
    pa, ph = canon(arch, hw) if canon is not None else (arch, hw)  # the pairs as proposed
    todo = np.flatnonzero(~archive.fresh(pa, ph))
    for t in range(tries):
        if len(todo) == 0:
            break
        arch[todo] = mutate_rows(arch[todo], strategy.problem.arch_cards, strategy.rng) if t < tries // 2 else \
            strategy._random_archs(len(todo))
        if canon is not None:  # canonical form of the new network with the hardware as given
            pa[todo], ph[todo] = canon(arch[todo], hw[todo])
        todo = todo[~archive.fresh(pa[todo], ph[todo])]
    keep = np.setdiff1d(np.arange(len(arch)), todo)
    return PairBatch(pa[keep], ph[keep])
