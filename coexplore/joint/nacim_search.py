"""NACIM's search (seed 000; Jiang et al., IEEE TC 2021): one RNN controller over the network and the
crossbar accelerator's device, circuit and architecture decisions.

NACIM comes from FNAS's group and keeps its controller
(:class:`~coexplore.joint.fnas_controller.FnasController`): an LSTM samples the network's
decisions, then the hardware's (device, sub-array size, cell bits, ADC bits, columns per ADC);
a child over the area spec gets new hardware for the same network, a few draws, priced
analytically (no training, no table query); the reward is ``alpha x accuracy / 100 + (1 - alpha) x
efficiency``, efficiency the pair's TOPS/W over the best TOPS/W of its network on any design
(:meth:`~coexplore.joint.nacim.NB201CimProblem.efficiency`). What makes it variation-aware is the
accuracy the problem gives: noisy accuracy under the device's variation (``accuracy_column:
noisy_accuracy`` on NAS-Bench-201, ``variation_aware: true`` on the digits chains); the
variation-unaware baseline (NACIM's QuantNAS row) is the same search on clean accuracy
(``baseline_accuracy``, ``variation_aware: false``). NACIM's "sw" and "hw" designs differ in how
the reward weighs accuracy against hardware: ``alpha`` (0.5 here; the paper's values could not be
read: only the seed's first page of results is available offline).
"""

from __future__ import annotations

from typing import Any

from coexplore.errors import SpecError
from coexplore.joint.fnas_controller import FnasController

__all__ = ["Nacim"]


class Nacim(FnasController):
    """NACIM: an LSTM controller (REINFORCE) over network, device, circuit and crossbar architecture together.

    FNAS's controller and fast exploration (``controller``, ``lr``, ``hidden``, ``baseline_decay``,
    ``alpha``, ``hw_tries``, ``penalty``, ``batch``) on a ``nb201-cim`` or ``chain-cim`` problem;
    reward ``alpha x accuracy/100 + (1 - alpha) x TOPS/W efficiency``, ``penalty`` for a pair the
    problem rejects (over the area spec, a degenerate cell). ``controller: random`` is the ablation.
    """

    name = "nacim"

    def __init__(self, *, seed: int = 0, batch: int = 8, controller: str = "lstm", lr: float = 0.02, hidden: int = 35,
                 baseline_decay: float = 0.9, alpha: float = 0.5, hw_tries: int = 10, penalty: float = 0.0) -> None:
        super().__init__(seed=seed, batch=batch, controller=controller, lr=lr, hidden=hidden,
                         baseline_decay=baseline_decay, alpha=alpha, hw_tries=hw_tries, penalty=penalty)

    def setup(self, problem: Any, budget: int | None) -> None:
        from coexplore.joint.nacim import _CimProblem

        if not isinstance(problem, _CimProblem):
            raise SpecError(f"strategy nacim: needs a computing-in-memory problem (problem.space: nb201-cim or "
                            f"chain-cim), got {type(problem).__name__}")
        super().setup(problem, budget)
