"""FNAS's controller (seed 000, Notre Dame): REINFORCE over network and hardware decisions together.

The problem (:mod:`coexplore.joint.fnas`) prunes candidates that miss the timing spec before
any accuracy evaluation; the controller gives them a fixed penalty.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.joint.base import JointStrategy
from coexplore.joint.problem import PairBatch
from coexplore.search.problem import Evaluation

__all__ = ["FnasController"]


class FnasController(JointStrategy):
    """FNAS's controller: REINFORCE over every network and hardware decision at once.

    One softmax policy per decision (the network's, then the hardware's), ``batch``
    samples per step. Reward: accuracy / 100 minus ``weight`` x the mean of the cost
    objectives' log values, scaled to [0, 1] by the smallest and largest seen; a pair the
    problem rejects (timing spec missed and pruned before accuracy evaluation, or
    resources exceeded) gets reward -1, as FNAS gives pruned children a fixed penalty.
    """

    name = "fnas"

    def __init__(self, problem: Any, *, seed: int = 0, budget: int = 1000, batch: int = 8, lr: float = 0.2,
                 baseline_decay: float = 0.9, weight: float = 0.5) -> None:
        super().__init__(problem, seed=seed, budget=budget)
        self.cards = (*problem.arch_cards, *problem.hw_cards)
        self.n_arch = len(problem.arch_cards)
        self.logits = [np.zeros(c) for c in self.cards]
        self.batch, self.lr, self.decay, self.weight = batch, lr, baseline_decay, weight
        self.baseline: float | None = None
        self.lo: np.ndarray | None = None
        self.hi: np.ndarray | None = None

    def probabilities(self) -> list[np.ndarray]:
        from coexplore.nas.strategies import softmaxes

        return softmaxes(self.logits)

    def ask(self) -> PairBatch:
        probs = self.probabilities()
        rows = np.column_stack([self.rng.choice(len(p), size=self.batch, p=p) for p in probs]).astype(np.int64)
        return PairBatch(rows[:, :self.n_arch], rows[:, self.n_arch:])

    def rewards(self, evaluation: Evaluation) -> np.ndarray:
        v = evaluation.values
        ok = evaluation.feasible & np.isfinite(v).all(axis=1)
        r = np.full(len(v), -1.0)
        if not ok.any():
            return r
        logc = np.log10(np.maximum(v[ok, 1:], 1e-30))
        lo, hi = logc.min(axis=0), logc.max(axis=0)
        self.lo = lo if self.lo is None else np.minimum(self.lo, lo)
        self.hi = hi if self.hi is None else np.maximum(self.hi, hi)
        scaled = (logc - self.lo) / np.maximum(self.hi - self.lo, 1e-9)
        r[ok] = -v[ok, 0] / 100.0 - self.weight * (scaled.mean(axis=1) if scaled.shape[1] else 0.0)
        return r

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        r = self.rewards(evaluation)
        rows = np.concatenate([candidates.arch, candidates.hw], axis=1)
        probs = self.probabilities()
        mean = float(r.mean())
        self.baseline = mean if self.baseline is None else self.decay * self.baseline + (1 - self.decay) * mean
        adv = r - self.baseline
        for k, p in enumerate(probs):
            grad = np.zeros_like(p)
            for i in range(len(rows)):
                onehot = np.zeros_like(p)
                onehot[rows[i, k]] = 1.0
                grad += adv[i] * (onehot - p)
            self.logits[k] = self.logits[k] + self.lr * grad / max(len(rows), 1)
