"""QuanNAS's search (seed 000; Lu et al., ICCAD 2019) and the two-step flow it is compared with.

* ``quannas``: one RNN controller (REINFORCE) samples the network, its per-layer fixed-point
  formats and the engines' parallelism together (FNAS's controller,
  :class:`~coexplore.joint.fnas_controller.FnasController`, on
  :class:`~coexplore.joint.quannas.ChainQuantFpgaProblem`). Early pruning as in FNAS: a child whose
  design misses rL or rT gets new parallelism for the same quantized network, a few draws,
  priced analytically (no training, no trial); a child still missing is pruned before training
  and rewarded ``penalty``. Reward: the quantized network's accuracy / 100 (QuanNAS looks for
  the most accurate quantized network that meets the specs).
* ``quannas-two-step``: the flow of QuanNAS's designs A and B. First the most accurate float
  network (a NAS without hardware: the same controller over the network's decisions, rewarded by
  float accuracy, ``nas_networks`` trainings that are no trials); then, for that network fixed,
  a quantization and implementation search (the same controller, pruning and reward over the
  formats and the parallelism) with the whole trial budget.

``controller: random`` draws uniformly with the same pruning and reward (the ablation).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.fnas_controller import FnasController
from coexplore.joint.problem import PairBatch
from coexplore.search.controller import LstmController, SoftmaxController
from coexplore.search.problem import Evaluation

__all__ = ["QuanNas", "QuanNasTwoStep"]


def _check_problem(name: str, problem: Any) -> None:
    if not hasattr(problem, "lut_budget") or not hasattr(problem, "n_chain"):
        raise SpecError(f"strategy {name}: needs the QuanNAS problem (problem.space: chain-quant), got "
                        f"{type(problem).__name__}")


class QuanNas(FnasController):
    """QuanNAS: an LSTM controller (REINFORCE) samples network, per-layer formats and parallelism; prunes on rL/rT.

    Everything but the reward is FNAS's controller (``controller``, ``lr``, ``hidden``,
    ``baseline_decay``, ``hw_tries``, ``penalty``, ``batch``): reward = accuracy / 100 of the
    quantized network for a pair that meets the specs, ``penalty`` for a pruned one.

    ``penalty`` 0.5 and ``lr`` 0.005 were chosen on seeds 10-12 (``benchmarks/tune_quannas.py``,
    BENCHMARKS.md): a pruned child costs no training, so punishing it below a typical accuracy
    (FNAS's -1) drove the policy to small networks that always meet the specs; QuanNAS's own values
    were not readable.
    """

    name = "quannas"

    def __init__(self, *, seed: int = 0, batch: int = 8, controller: str = "lstm", lr: float = 0.005, hidden: int = 35,
                 baseline_decay: float = 0.9, hw_tries: int = 10, penalty: float = 0.5) -> None:
        super().__init__(seed=seed, batch=batch, controller=controller, lr=lr, hidden=hidden,
                         baseline_decay=baseline_decay, alpha=1.0, hw_tries=hw_tries, penalty=penalty)

    def setup(self, problem: Any, budget: int | None) -> None:
        _check_problem(self.name, problem)
        super().setup(problem, budget)

    def rewards(self, candidates: PairBatch, evaluation: Evaluation) -> np.ndarray:
        """Quantized accuracy / 100 for accepted pairs, ``penalty`` for the others."""
        v = evaluation.values
        ok = evaluation.feasible & np.isfinite(v).all(axis=1)
        return np.where(ok, -v[:, 0] / 100.0, float(self.penalty))


class QuanNasTwoStep(QuanNas):
    """Two-step baseline: the most accurate float network first, then its formats and parallelism searched.

    Step 1 (``nas_networks`` float trainings, not trials): the controller over the network's
    decisions alone, rewarded by float accuracy / 100, ``batch`` networks per update. Step 2:
    that network fixed, QuanNAS's controller, pruning and reward over the formats and the
    parallelism, for the whole budget.
    """

    name = "quannas-two-step"

    def __init__(self, *, seed: int = 0, batch: int = 8, controller: str = "lstm", lr: float = 0.005, hidden: int = 35,
                 baseline_decay: float = 0.9, hw_tries: int = 10, penalty: float = 0.5,
                 nas_networks: int = 40) -> None:
        super().__init__(seed=seed, batch=batch, controller=controller, lr=lr, hidden=hidden,
                         baseline_decay=baseline_decay, hw_tries=hw_tries, penalty=penalty)
        if isinstance(nas_networks, bool) or not isinstance(nas_networks, int) or nas_networks < 1:
            raise SpecError(f"strategy.params.nas_networks: must be an integer >= 1, got {nas_networks!r}")
        self.nas_networks = nas_networks
        self.network: np.ndarray | None = None  # the chain decisions of step 2
        self.float_best: float | None = None
        self.nas_trained = 0

    def setup(self, problem: Any, budget: int | None) -> None:
        super().setup(problem, budget)
        self.n_chain = problem.n_chain

    def _policy(self, cards: tuple[int, ...], seed_offset: int) -> LstmController | SoftmaxController | None:
        if self.controller == "lstm":
            return LstmController(cards, rng=np.random.default_rng(self.seed + seed_offset), hidden=self.hidden,
                                  lr=self.lr, init=0.08)
        if self.controller == "softmax":
            return SoftmaxController(cards, lr=self.lr)
        return None

    def _sample(self, policy: Any, cards: tuple[int, ...], n: int, prefix: np.ndarray | None = None) -> np.ndarray:
        if policy is not None:
            return policy.sample(self.rng, n, prefix=prefix)[0]
        k = 0 if prefix is None else prefix.shape[1]
        rows = np.column_stack([self.rng.integers(c, size=n) for c in cards[k:]]).astype(np.int64)
        return rows if prefix is None else np.concatenate([prefix, rows], axis=1)

    def _search_network(self) -> None:
        """Step 1: the most accurate float network within ``nas_networks`` trainings."""
        cards = tuple(self.problem.arch_cards[:self.n_chain])
        policy = self._policy(cards, 1)
        baseline: float | None = None
        zeros = np.zeros((1, len(self.problem.arch_cards) - self.n_chain), dtype=np.int64)
        best: tuple[float, np.ndarray] | None = None
        while self.nas_trained < self.nas_networks:
            rows = self._sample(policy, cards, min(self.batch, self.nas_networks - self.nas_trained))
            acc = np.array([self.problem.float_accuracy(np.concatenate([r[None], zeros], axis=1)[0]) for r in rows])
            self.nas_trained += len(rows)
            for r, a in zip(rows, acc, strict=True):
                if best is None or a > best[0]:
                    best = (float(a), r.copy())
            reward = acc / 100.0
            mean = float(reward.mean())
            baseline = mean if baseline is None else self.decay * baseline + (1 - self.decay) * mean
            if policy is not None:
                policy.update(rows, None, reward - baseline)
        assert best is not None
        self.float_best, chain = best
        canon = self.problem.canonical(np.concatenate([chain[None], zeros], axis=1),
                                       np.zeros((1, len(self.problem.hw_cards)), dtype=np.int64))[0]
        self.network = canon[0, :self.n_chain]
        self.cards = tuple(self.problem.arch_cards[self.n_chain:]) + tuple(self.problem.hw_cards)
        self.policy = self._policy(self.cards, 2)
        self.baseline = None

    def _draw(self, n: int, prefix: np.ndarray | None = None) -> np.ndarray:
        if self.network is None:
            self._search_network()
        assert self.network is not None
        rest = None if prefix is None else prefix[:, self.n_chain:]
        rows = self._sample(self.policy, self.cards, n, rest)
        return np.concatenate([np.repeat(self.network[None], n, axis=0), rows], axis=1)

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        r = self.rewards(candidates, evaluation)
        mean = float(r.mean())
        self.baseline = mean if self.baseline is None else self.decay * self.baseline + (1 - self.decay) * mean
        if self.policy is not None:
            self.policy.update(self.pending[:len(candidates), self.n_chain:], None, r - self.baseline)

    def search_report(self) -> dict[str, Any]:
        """Step 1's outcome: the network fixed for step 2, its float accuracy, the networks trained for it."""
        chain = None
        if self.network is not None:
            zeros = np.zeros(len(self.problem.arch_cards) - self.n_chain, dtype=np.int64)
            chain = str(self.problem.chain(np.concatenate([self.network, zeros])))
        return {"network": chain, "float_accuracy": self.float_best, "networks_trained": self.nas_trained}
