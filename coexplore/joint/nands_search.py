"""NANDS's search (seed 000; Yang et al., ASP-DAC 2020): two loops, a NAS controller and automatic NoC design.

Loop I is the group's NAS controller (FNAS's LSTM, REINFORCE; :class:`~coexplore.joint.fnas_controller.
FnasController`) over the network's decisions only. Loop II designs the hardware for each network the
controller draws: :meth:`~coexplore.joint.nands.NB201NocProblem.best_hw` prices every mesh at its widest
link under the wire budget from each placement and partition rule, refined by bottleneck detection and
alleviation, and keeps the design of highest throughput; a network whose best design still misses the
real-time spec is rejected before its accuracy is read (the family's early pruning). The reward is the
family's ``alpha x accuracy/100 + (1 - alpha) x U``, U the period scaled to [0, 1] over the periods seen
(log scale, shorter is better).

The baseline ``nands-fixed-noc`` is hardware-aware NAS on a fixed NoC: the same controller, the same
reward, every network on the problem's fixed design (:attr:`~coexplore.joint.nands.NB201NocProblem.
reference_hw`). Departure: the paper's multi-phase manager (which re-weights the two objectives across
phases) is not modelled; the reward's weights stay fixed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.base import JointStrategy
from coexplore.joint.fnas_controller import FnasController
from coexplore.joint.problem import PairBatch
from coexplore.search.controller import LstmController, SoftmaxController

__all__ = ["Nands", "NandsFixedNoc"]


class Nands(FnasController):
    """NANDS: an LSTM controller (REINFORCE) samples networks; loop II designs each one's NoC (partition,
    placement, mesh, links) with bottleneck alleviation.

    ``controller`` (``lstm``, ``softmax``, ``random``), ``lr``, ``hidden``, ``baseline_decay``, ``alpha``,
    ``penalty`` and ``batch`` as FNAS's; ``controller: random`` is the ablation of loop I.
    """

    name = "nands"
    fixed_noc = False

    def __init__(self, *, seed: int = 0, batch: int = 8, controller: str = "lstm", lr: float = 0.02, hidden: int = 35,
                 baseline_decay: float = 0.9, alpha: float = 0.5, penalty: float = 0.0) -> None:
        super().__init__(seed=seed, batch=batch, controller=controller, lr=lr, hidden=hidden,
                         baseline_decay=baseline_decay, alpha=alpha, hw_tries=1, penalty=penalty)

    def setup(self, problem: Any, budget: int | None) -> None:
        from coexplore.joint.nands import NB201NocProblem

        if not isinstance(problem, NB201NocProblem):
            raise SpecError(f"strategy {self.name}: needs a network-on-chip problem (problem.space: nb201-noc), got "
                            f"{type(problem).__name__}")
        JointStrategy.setup(self, problem, budget)
        self.cards = tuple(problem.arch_cards)  # the controller decides the network only
        self.n_arch = len(self.cards)
        self.pending = np.zeros((0, self.n_arch), dtype=np.int64)
        if self.controller == "lstm":
            self.policy = LstmController(self.cards, rng=np.random.default_rng(self.seed), hidden=self.hidden,
                                         lr=self.lr, init=0.08)
        elif self.controller == "softmax":
            self.policy = SoftmaxController(self.cards, lr=self.lr)

    def ask(self) -> PairBatch:
        arch = self._draw(self.batch)
        self.pending = arch
        if self.fixed_noc:
            hw = np.repeat(np.asarray(self.problem.reference_hw, dtype=np.int64)[None], len(arch), axis=0)
        else:
            before = self.problem.design_evaluations
            hw = np.stack([self.problem.best_hw(a) for a in arch]).astype(np.int64)
            self.pairs_evaluated += self.problem.design_evaluations - before
        return PairBatch(arch, hw)


class NandsFixedNoc(Nands):
    """Hardware-aware NAS on a fixed NoC: NANDS's controller and reward, every network on the problem's fixed design."""

    name = "nands-fixed-noc"
    fixed_noc = True
