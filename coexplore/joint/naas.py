"""NAAS (seed 001, MIT): accelerator outer loop by CMA-ES, network inner loop by evolution, mapper innermost."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.base import JointStrategy, PairArchive, fill_fresh, mutate_rows
from coexplore.joint.naas_genome import ImportanceGenome
from coexplore.joint.problem import PairBatch
from coexplore.search.pareto import non_dominated
from coexplore.search.problem import Evaluation

__all__ = ["NaasNested"]

OUTER = ("cmaes", "random")
STARTS = ("preset", "centre")


class NaasNested(JointStrategy):
    """NAAS's nested co-search: CMA-ES proposes accelerators, a network evolution runs on each.

    Outer loop: CMA-ES over NAAS's whole accelerator vector (:mod:`coexplore.joint.naas_genome`:
    #PEs and array shape, the parallel dims of each array axis by importance sorted per axis,
    buffer sizes), decoded to a design of the grid; it starts at the encoding of the
    budget's preset (``start="preset"``, as ``coexplore hwsearch`` does; ``"centre"``: the
    middle of the box). Population members that decode to the same design share its pairs.
    Inner loop: for every accelerator of a population, ``inner_generations`` generations of
    ``inner`` networks, mutants (one edge changed) of the non-dominated networks found so
    far (in the first inner generation over every accelerator, then over the accelerator's
    own pairs) plus a ``random_share`` of random ones. Mapper innermost: in the cost table,
    the best mapping of each (layer shape, design) found by the local-search mapper.

    Fitness of an accelerator: ``shared`` of the first inner generation's networks (at most
    a quarter of ``inner``) are the same for every design of the population, and designs
    are ranked by their summed log cost objectives on those networks, each network's mean
    over the population subtracted (a paired comparison: a network's own cost, which spans
    three decades of EDP, cancels, and the design's effect, a factor of two, shows). With
    ``shared=0``, the hypervolume of the design's own pairs (the best scalarised value for
    other objectives) instead: measured, it ranks designs too noisily on small spaces.

    Departures from the paper: NAS-Bench-201 cells instead of the Once-For-All ResNet space
    (whose accuracies need training), and mutation evolution instead of OFA's search;
    (accuracy, EDP) Pareto search instead of EDP under an accuracy target, so the fitness
    above instead of the best network's EDP; the grid's six dataflows instead of any sets
    of parallel dims (the nearest is taken); the mapping of each (shape, design) is
    searched once when the cost table is built (the study's pairs are table look-ups), not
    by the NAAS mapper for every pair.
    ``inner`` defaults to what gives about 8 outer generations within the budget (4 to 32).
    ``outer="random"`` draws uniformly random designs instead of CMA-ES's, and
    ``random_share=1`` random networks instead of the evolution's (the ablations).
    """

    name = "naas"
    costs_only = True
    transient = ("problem", "coords")

    def __init__(self, *, seed: int = 0, popsize: int = 8, inner: int | None = None, inner_generations: int = 1,
                 random_share: float = 0.1, sigma0: float = 0.3, start: str = "preset", outer: str = "cmaes",
                 shared: int = 4) -> None:
        super().__init__(seed=seed)
        bad = []
        for field, v, ok in (("popsize", popsize, isinstance(popsize, int) and popsize >= 2),
                             ("inner", inner, inner is None or (isinstance(inner, int) and inner >= 1)),
                             ("inner_generations", inner_generations,
                              isinstance(inner_generations, int) and inner_generations >= 1),
                             ("random_share", random_share, 0.0 <= random_share <= 1.0),
                             ("start", start, start in STARTS), ("outer", outer, outer in OUTER),
                             ("shared", shared, isinstance(shared, int) and shared >= 0)):
            if not ok:
                bad.append(f"strategy.params.{field}: invalid, got {v!r} (start: {', '.join(STARTS)}; outer: "
                           f"{', '.join(OUTER)}; counts >= 1, shared >= 0, popsize >= 2, "
                           f"random_share in [0, 1])")
        if bad:
            raise SpecError(bad)
        self._inner_arg, self.sigma0, self.start = inner, sigma0, start
        self.inner_generations, self.random_share = inner_generations, random_share
        self.popsize, self.outer_kind, self.shared = popsize, outer, shared
        self.archive = PairArchive()
        self._x: np.ndarray | None = None
        self._cols: np.ndarray | None = None
        self._first = np.zeros(0, dtype=np.int64)  # per population member: the first member with its design
        self._gen = 0
        self._per_design: list[list[tuple[np.ndarray, np.ndarray]]] = []

    def setup(self, problem: Any, budget: int | None) -> None:
        from coexplore.search.vector import CmaEs

        super().setup(problem, budget)
        if not hasattr(problem, "hw_choices"):
            raise SpecError("strategy naas: needs a problem with an enumerable accelerator grid")
        # default: about 8 outer generations within the budget, 4 to 32 networks per accelerator and generation
        self.inner = self._inner_arg or max(4, min(32, self.budget // (self.popsize * self.inner_generations * 8)))
        self._shared = np.zeros((0, len(problem.arch_cards)), np.int64)
        self._attach(problem)
        self.dim = self.coords.dim
        x0 = self.coords.encode(problem.reference_column) if self.start == "preset" else None
        self.outer = CmaEs(dim=self.dim, seed=int(self.rng.integers(2**31 - 1)), popsize=self.popsize,
                           sigma0=self.sigma0, x0=x0)

    def _attach(self, problem: Any) -> None:
        self.coords = ImportanceGenome(problem)

    def ask(self) -> PairBatch:
        if self._cols is None:
            if self.outer_kind == "random":
                self._cols = self.problem.column(self._random_hw(self.popsize))
            else:
                self._x = self.outer.ask().x
                self._cols = self.coords.decode(self._x)
            self._gen = 0
            self._per_design = [[] for _ in self._cols]
            _, first = np.unique(self._cols, return_index=True)
            self._first = first[np.searchsorted(self._cols[first], self._cols)]
        n = self.inner
        arch_parts, hw_parts, owner = [], [], []
        if self._gen == 0:  # networks every design of the population gets: a paired comparison of the designs
            self._shared = self._networks(None, min(self.shared, n // 4))
        k = len(self._shared) if self._gen == 0 else 0
        for j, col in enumerate(self._cols):
            if j != self._first[j]:  # the same design as an earlier member of the population: priced once
                continue
            arch = np.concatenate([self._shared, self._networks(j if self._gen > 0 else None, n - k)])
            hw = np.repeat(self.problem.hw_choices[col][None], n, axis=0)
            batch = fill_fresh(self, self.archive, arch, hw)
            arch_parts.append(batch.arch)
            hw_parts.append(batch.hw)
            owner += [j] * len(batch)
        self._owner = np.array(owner, dtype=np.int64)
        return PairBatch(np.concatenate(arch_parts), np.concatenate(hw_parts))

    def _networks(self, design: int | None, n: int) -> np.ndarray:
        """``n`` networks: mutants of the front of ``design``'s pairs (None: of every pair so far), some random."""
        parents = np.zeros((0, len(self.problem.arch_cards)), np.int64)
        mine = self._per_design[design] if design is not None else []
        if mine:
            pa = np.concatenate([m[0] for m in mine])
            pv = np.concatenate([m[1] for m in mine])
            keep = non_dominated(pv) if len(pv) else np.zeros(0, bool)
            parents = pa[keep] if keep.any() else pa
        else:
            a, _, v = self.archive.front()
            if len(v):
                parents = a
        if not len(parents):
            return self._random_archs(n)
        arch = mutate_rows(parents[self.rng.integers(len(parents), size=n)], self.problem.arch_cards, self.rng)
        r = self.rng.random(n) < self.random_share
        arch[r] = self._random_archs(int(r.sum()))
        return arch

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

    def _shared_fitness(self) -> np.ndarray:
        """Per population member: the mean over the shared networks of its log cost minus the network's mean
        log cost over the population's designs (a paired comparison: network effects cancel)."""
        keys: dict[bytes, int] = {}
        for a in self._shared:
            keys.setdefault(a.tobytes(), len(keys))
        assert self._cols is not None
        table = np.full((len(self._cols), len(keys)), np.nan)
        for j in np.unique(self._first):
            for arch, v in self._per_design[j]:
                cost = np.log10(np.maximum(v[:, 1:], 1e-30)).sum(axis=1)
                for a, c in zip(arch, cost, strict=True):
                    i = keys.get(a.tobytes())
                    if i is not None:
                        table[j, i] = c
        table = table[self._first]
        with warnings.catch_warnings():  # a network or design without shared pairs: nan, then inf
            warnings.simplefilter("ignore", RuntimeWarning)
            resid = table - np.nanmean(table, axis=0)[None]
            f = np.nanmean(resid, axis=1)
        return np.where(np.isnan(f), np.inf, f)

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
        if self._gen >= self.inner_generations and self.outer_kind == "random":
            self._cols = None
        elif self._gen >= self.inner_generations:
            from coexplore.search.vector import VectorBatch

            f = self._shared_fitness() if len(self._shared) else \
                np.array([self._fitness(self._per_design[k]) for k in self._first])
            feasible = np.isfinite(f)
            assert self._x is not None
            self.outer.tell(VectorBatch(self._x), Evaluation(values=np.where(feasible, f, np.inf)[:, None],
                                                             feasible=feasible))
            self._cols = None
