"""Codesign-NAS (seed 002, Samsung): every pair of the space priced and the exact Pareto front kept."""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.base import JointStrategy
from coexplore.joint.problem import PairBatch
from coexplore.search.pareto import non_dominated

__all__ = ["CodesignNas"]


class CodesignNas(JointStrategy):
    """Exhaustive co-design: price every pair (vectorised over the cost table) and propose the exact front.

    With a budget below the number of pairs, it prices a uniformly drawn subset of
    ``budget`` distinct pairs instead (what an enumeration cut short can do without
    favouring one end of the space) and proposes that subset's front. The method's
    reinforcement-learning search of the same space is strategy ``codesign-nas-rl``.
    """

    name = "codesign-nas"

    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self._done = False

    def setup(self, problem: Any, budget: int | None) -> None:
        super().setup(problem, budget)
        if not hasattr(problem, "exact_front"):
            raise SpecError("strategy codesign-nas: needs an enumerable problem (space nb201 on a design grid)")
        if self.budget >= problem.n_pairs:
            problem.exact_front  # noqa: B018 - computed now: unsupported objectives fail before the study starts

    @property
    def finished(self) -> bool:
        return self._done

    @property
    def exhaustive(self) -> bool:
        return self.pairs_evaluated >= self.problem.n_pairs

    def ask(self) -> PairBatch:
        p = self.problem
        self._done = True
        if self.budget >= p.n_pairs:
            f = p.exact_front
            self.pairs_evaluated = p.n_pairs
            return p.pairs(f.network, f.design)  # the front's designs are table columns
        ids = self.rng.choice(p.n_pairs, size=self.budget, replace=False)
        arch, col = ids // len(p.designs), ids % len(p.designs)
        ev = p.evaluate(p.pairs(arch, col))
        self.pairs_evaluated = self.budget
        ok = np.flatnonzero(ev.feasible)
        keep = ok[non_dominated(ev.values[ok])] if len(ok) else ok
        return p.pairs(arch[keep], col[keep])
