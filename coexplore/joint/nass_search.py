"""NASS's search (seed 000; Bian et al., ECAI 2020): one controller samples the network and its
per-layer fixed-point formats together, priced by secure-inference time and bandwidth.

FNAS's REINFORCE controller (:class:`~coexplore.joint.fnas_controller.FnasController`) on
:class:`~coexplore.joint.nass.ChainQuantSecureProblem`: a child that misses the time or
bandwidth spec is pruned before training and rewarded ``penalty``; an accepted child is
rewarded its quantized accuracy / 100. No hardware decisions, so no hardware redraws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.fnas_controller import FnasController
from coexplore.joint.problem import PairBatch
from coexplore.search.problem import Evaluation

__all__ = ["Nass"]


class Nass(FnasController):
    """NASS: an LSTM controller (REINFORCE) samples network and per-layer formats; prunes on time/bandwidth specs.

    ``penalty`` (reward of a pruned child) and ``lr`` default to QuanNAS's values, which were tuned
    for the same chain and format space (BENCHMARKS.md); NASS's own were not readable.
    """

    name = "nass"

    def __init__(self, *, seed: int = 0, batch: int = 8, controller: str = "lstm", lr: float = 0.005, hidden: int = 35,
                 baseline_decay: float = 0.9, penalty: float = 0.5) -> None:
        super().__init__(seed=seed, batch=batch, controller=controller, lr=lr, hidden=hidden,
                         baseline_decay=baseline_decay, alpha=1.0, hw_tries=1, penalty=penalty)

    def setup(self, problem: Any, budget: int | None) -> None:
        if not hasattr(problem, "max_time_s") or not hasattr(problem, "n_chain"):
            raise SpecError(f"strategy nass: needs the NASS problem (ChainQuantSecureProblem), got "
                            f"{type(problem).__name__}")
        super().setup(problem, budget)

    def rewards(self, candidates: PairBatch, evaluation: Evaluation) -> np.ndarray:
        """Quantized accuracy / 100 for accepted candidates, ``penalty`` for pruned ones."""
        v = evaluation.values
        ok = evaluation.feasible & np.isfinite(v).all(axis=1)
        return np.where(ok, -v[:, 0] / 100.0, float(self.penalty))
