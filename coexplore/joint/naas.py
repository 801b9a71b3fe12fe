"""NAAS (seed 001, MIT): accelerator outer loop by CMA-ES, network inner loop by evolution, mapper innermost."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.base import GridCoords, JointStrategy, PairArchive, fill_fresh, mutate_rows
from coexplore.joint.problem import PairBatch
from coexplore.search.pareto import non_dominated
from coexplore.search.problem import Evaluation

__all__ = ["NaasNested"]


class NaasNested(JointStrategy):
    """NAAS's nested co-search: CMA-ES proposes accelerators, an evolution finds networks for each.

    The accelerator vector is a :class:`GridCoords` genome (array sides, one importance
    per dataflow, buffer sizes), decoded to the nearest feasible design of the space. For
    every accelerator of a CMA-ES population, ``inner_generations`` generations of ``inner``
    networks are evaluated (mutants of the best networks found so far on any accelerator,
    and random ones); the accelerator's fitness is the hypervolume of its own (accuracy,
    EDP) pairs (or the best scalarised value for other objectives). The mapper is
    innermost: in the cost table.
    ``inner`` defaults to what gives about 8 CMA-ES generations within the budget.
    """

    name = "naas"
    transient = ("problem", "coords")

    def __init__(self, problem: Any, *, seed: int = 0, budget: int = 1000, popsize: int = 8,
                 inner: int | None = None, inner_generations: int = 2, random_share: float = 0.25) -> None:
        from coexplore.search.vector import CmaEs

        super().__init__(problem, seed=seed, budget=budget)
        if not hasattr(problem, "hw_choices"):
            raise SpecError("strategy naas: needs a problem with an enumerable accelerator grid")
        # default: about 8 outer generations within the budget, 4 to 32 networks per accelerator and generation
        self.inner = inner or max(4, min(32, budget // (popsize * inner_generations * 8)))
        self.inner_generations, self.random_share = inner_generations, random_share
        self.dim = GridCoords.genes(problem)
        self.outer = CmaEs(dim=self.dim, seed=int(self.rng.integers(2**31 - 1)), popsize=popsize)
        self._attach(problem)
        self.archive = PairArchive()
        self._x: np.ndarray | None = None
        self._cols: np.ndarray | None = None
        self._gen = 0
        self._per_design: list[list[tuple[np.ndarray, np.ndarray]]] = []

    def _attach(self, problem: Any) -> None:
        self.coords = GridCoords(problem)

    def ask(self) -> PairBatch:
        if self._cols is None:
            self._x = self.outer.ask().x
            self._cols = self.coords.nearest(self._x)
            self._gen = 0
            self._per_design = [[] for _ in self._cols]
        a, _, v = self.archive.front()
        n = self.inner
        arch_parts, hw_parts, owner = [], [], []
        for j, col in enumerate(self._cols):
            mine = self._per_design[j]
            if self._gen > 0 and mine:
                pa = np.concatenate([m[0] for m in mine])
                pv = np.concatenate([m[1] for m in mine])
                keep = non_dominated(pv) if len(pv) else np.zeros(0, bool)
                parents = pa[keep] if keep.any() else pa
            else:
                parents = a if len(v) else np.zeros((0, len(self.problem.arch_cards)), np.int64)
            if len(parents):
                arch = mutate_rows(parents[self.rng.integers(len(parents), size=n)], self.problem.arch_cards, self.rng)
                r = self.rng.random(n) < self.random_share
                arch[r] = self._random_archs(int(r.sum()))
            else:
                arch = self._random_archs(n)
            hw = np.repeat(self.problem.hw_choices[col][None], n, axis=0)
            batch = fill_fresh(self, self.archive, arch, hw)
            arch_parts.append(batch.arch)
            hw_parts.append(batch.hw)
            owner += [j] * len(batch)
        self._owner = np.array(owner, dtype=np.int64)
        return PairBatch(np.concatenate(arch_parts), np.concatenate(hw_parts))

    def _fitness(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
        """Minimised: minus the design's hypervolume (or minus its best scalarised value)."""
        if not pairs:
            return math.inf
        v = np.concatenate([p[1] for p in pairs])
        if len(v) == 0:
            return math.inf
        objs = self.problem.objectives
        if objs == ("accuracy", "edp"):
            return -self.problem.hypervolume(-v[:, 0], v[:, 1])
        return float(np.min(v[:, 0] / 100.0 + 0.1 * np.log10(np.maximum(v[:, 1:], 1e-30)).mean(axis=1)))

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        self.archive.add(candidates, evaluation)
        if self._cols is None:
            return
        ok = evaluation.feasible & np.isfinite(evaluation.values).all(axis=1)
        owner = self._owner[:len(candidates)]
        for j in range(len(self._cols)):
            m = (owner == j) & ok
            if m.any():
                self._per_design[j].append((candidates.arch[m], evaluation.values[m]))
        self._gen += 1
        if self._gen >= self.inner_generations:
            from coexplore.search.vector import VectorBatch

            f = np.array([self._fitness(p) for p in self._per_design])
            feasible = np.isfinite(f)
            assert self._x is not None
            self.outer.tell(VectorBatch(self._x), Evaluation(values=np.where(feasible, f, np.inf)[:, None],
                                                             feasible=feasible))
            self._cols = None
