"""Baselines the seed talks compare co-exploration with, and random pairs.

* ``sequential`` (seeds 000 and 003): NAS for accuracy first, then the best hardware for that network.
* ``hw-aware-nas`` (seeds 000 and 003): NAS on one fixed accelerator (the template preset).
* ``random``: uniform random pairs.

The first two run on any problem that names a fixed design (``reference_hw``: the grid's
template preset, the FPGA problem's even split of the board) and can list designs for a
network (``design_sweep``: the grid's feasible designs in a random order, the FPGA
problem's random designs that fit the board).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.base import JointStrategy, PairArchive, fill_fresh, front_children, mutate_rows
from coexplore.joint.problem import PairBatch
from coexplore.search.problem import Evaluation

__all__ = ["HwAwareNas", "RandomPairs", "Sequential"]


class RandomPairs(JointStrategy):
    """Uniform random pairs (feasible designs where the problem can sample them)."""

    name = "random"
    needs_budget = False

    def __init__(self, *, seed: int = 0, batch: int = 100) -> None:
        super().__init__(seed=seed)
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise SpecError(f"strategy.params.batch: must be an integer >= 1, got {batch!r}")
        self.batch = batch

    def ask(self) -> PairBatch:
        return PairBatch(self._random_archs(self.batch), self._random_hw(self.batch))


class HwAwareNas(JointStrategy):
    """Hardware-aware NAS: networks searched on one fixed accelerator (the template preset itself).

    Multi-objective evolution: children are one-edge mutants of networks on the current
    front of the evaluated networks, plus a share of random networks; every network is
    evaluated at most once, and the search ends when every network has been seen.
    """

    name = "hw-aware-nas"
    needs_budget = False

    def __init__(self, *, seed: int = 0, batch: int = 20, random_share: float = 0.2, initial: int = 20) -> None:
        super().__init__(seed=seed)
        self.batch, self.random_share, self.initial = batch, random_share, initial
        self.archive = PairArchive()
        self.done = False

    def setup(self, problem: Any, budget: int | None) -> None:
        super().setup(problem, budget)
        if not hasattr(problem, "reference_hw"):
            raise SpecError("strategy hw-aware-nas: needs a problem with a reference accelerator (a design grid or "
                            "an FPGA board)")
        self.hw = np.asarray(problem.reference_hw, dtype=np.int64)
        self.n_archs = int(np.prod(problem.arch_cards))

    @property
    def finished(self) -> bool:
        return self.done

    def ask(self) -> PairBatch:
        arch = front_children(self, self.archive, initial=self.initial, batch=self.batch,
                              random_share=self.random_share)
        out = fill_fresh(self, self.archive, arch, np.repeat(self.hw[None], len(arch), axis=0))
        if len(out) == 0 and len(self.archive.seen) >= self.n_archs:
            self.done = True
        return out

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        self.archive.add(candidates, evaluation)


class Sequential(JointStrategy):
    """NAS first, hardware second: the most accurate network, then the best accelerators for it.

    Phase 1 (``nas_share`` of the budget) is regularised evolution on accuracy alone, with
    networks evaluated on the template accelerator; phase 2 evaluates the most accurate
    network found on designs in a random order (the problem's ``design_sweep``), until the
    budget or the designs run out.
    """

    name = "sequential"

    def __init__(self, *, seed: int = 0, nas_share: float = 0.5, population: int = 50, sample: int = 10,
                 batch: int = 10) -> None:
        super().__init__(seed=seed)
        if not 0 < nas_share < 1:
            raise SpecError(f"strategy.params.nas_share: must be in (0, 1), got {nas_share!r}")
        self.nas_share, self.population, self.sample, self.batch = nas_share, population, sample, batch
        self.archive = PairArchive()
        self.pop_arch: list[np.ndarray] = []
        self.pop_acc: list[float] = []
        self.asked = 0
        self.best: tuple[float, np.ndarray] | None = None
        self.order: np.ndarray | None = None
        self.pos = 0

    def setup(self, problem: Any, budget: int | None) -> None:
        super().setup(problem, budget)
        if not hasattr(problem, "reference_hw") or not hasattr(problem, "design_sweep"):
            raise SpecError("strategy sequential: needs a problem with a reference accelerator and a design sweep "
                            "(a design grid or an FPGA board)")
        self.nas_evals = max(1, min(int(self.nas_share * self.budget), int(np.prod(problem.arch_cards))))
        self.hw = np.asarray(problem.reference_hw, dtype=np.int64)
        self.network = np.zeros(len(problem.arch_cards), dtype=np.int64)  # the network of phase 2

    @property
    def finished(self) -> bool:
        return self.order is not None and self.pos >= len(self.order)

    def ask(self) -> PairBatch:
        if self.asked < self.nas_evals:
            n = min(self.batch, self.nas_evals - self.asked)
            if len(self.pop_arch) < self.population:
                arch = self._random_archs(n)
            else:
                arch = np.empty((n, len(self.problem.arch_cards)), dtype=np.int64)
                for i in range(n):
                    pick = self.rng.choice(len(self.pop_arch), size=self.sample, replace=False)
                    arch[i] = self.pop_arch[int(pick[np.argmax(np.array(self.pop_acc)[pick])])]
                arch = mutate_rows(arch, self.problem.arch_cards, self.rng)
            out = fill_fresh(self, self.archive, arch, np.repeat(self.hw[None], n, axis=0))
            self.asked += max(len(out), 1)
            return out
        if self.order is None:
            network = self.best[1] if self.best is not None else self._random_archs(1)[0]
            self.order = np.asarray(self.problem.design_sweep(self.rng, max(self.budget - self.asked, 1), network),
                                    dtype=np.int64)
            self.network = network
        hw = self.order[self.pos:self.pos + 256]
        self.pos += len(hw)
        return PairBatch(np.repeat(self.network[None], len(hw), axis=0), hw)

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        if self.order is not None:
            return
        acc = -evaluation.values[:, 0]
        for i in range(len(candidates)):
            if not np.isfinite(acc[i]):
                continue
            self.pop_arch.append(candidates.arch[i])
            self.pop_acc.append(float(acc[i]))
            if self.best is None or acc[i] > self.best[0]:
                self.best = (float(acc[i]), candidates.arch[i].copy())
        while len(self.pop_arch) > self.population:  # regularised evolution: the oldest dies
            self.pop_arch.pop(0)
            self.pop_acc.pop(0)
