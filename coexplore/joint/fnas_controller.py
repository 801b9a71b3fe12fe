"""FNAS's controller (seed 000, Notre Dame): an RNN policy trained by REINFORCE over network and hardware together.

Jiang et al. (DAC 2019; TCAD 2020, the co-exploration paper) sample a child (the
network's hyperparameters, then the hardware's) from an RNN controller. A *fast
exploration* prices the child analytically before any training: if its hardware misses
the board or the timing spec, new hardware is drawn for the same network, a few times;
a child that still misses is pruned without training and gets a fixed negative reward.
The *slow exploration* trains the survivors and updates the controller with the reward
``alpha x accuracy + (1 - alpha) x hardware efficiency``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.errors import SpecError, StudyError
from coexplore.joint.base import JointStrategy
from coexplore.joint.problem import PairBatch
from coexplore.search.controller import LstmController, SoftmaxController
from coexplore.search.problem import Evaluation

__all__ = ["CONTROLLERS", "FnasController"]

CONTROLLERS = ("lstm", "softmax", "random")


class FnasController(JointStrategy):
    """FNAS: an LSTM controller (REINFORCE) samples a network and its FPGA design; fast exploration prunes.

    Per step, ``batch`` children are drawn from the controller: the network's decisions,
    then the hardware's, each LSTM step fed the previous decision (Zoph & Le's RNN
    controller, :class:`~coexplore.search.controller.LstmController`, the one Codesign-NAS's
    RL search uses too: one layer of ``hidden`` units, weights uniform in [-0.08, 0.08]). Fast
    exploration (where the problem can price a pair analytically, ``meets_spec``):
    hardware missing the board or the timing spec is drawn again for the same network, up
    to ``hw_tries`` draws in all, as the authors' controller does; these draws cost no
    training and no trial. Reward (TCAD 2020): ``alpha x accuracy/100 + (1 - alpha) x U``,
    U the pipeline efficiency (problems without one: 1 minus the cost objectives' log
    values scaled to [0, 1] by the smallest and largest seen); a child the problem rejects
    (pruned on the timing spec before training, or over the board) gets ``penalty``.
    Update: REINFORCE with an exponential moving-average baseline (decay
    ``baseline_decay``), Adam at ``lr``.

    ``controller`` selects the policy for the ablation: ``lstm`` (FNAS), ``softmax`` (one
    independent softmax per decision, the controller coexplore had before) or ``random``
    (uniform draws, no learning); fast exploration and reward are the same for all three.

    Departures from the papers: ``lr`` 0.02 instead of Zoph & Le's 0.0006 (a laptop run
    has tens of controller updates, not thousands); one LSTM layer of 35 units (the
    authors' released controller) rather than Zoph & Le's two; the authors feed the
    previous child's decisions as the RNN's input, we feed the current child's previous
    decision (Zoph & Le's autoregressive form, so a step's distribution depends on the
    decisions already taken); ``alpha`` 0.5 (the paper leaves it a knob).
    """

    name = "fnas"
    needs_budget = False
    costs_only = True

    def __init__(self, *, seed: int = 0, batch: int = 8, controller: str = "lstm", lr: float = 0.02, hidden: int = 35,
                 baseline_decay: float = 0.9, alpha: float = 0.5, hw_tries: int = 10, penalty: float = -1.0) -> None:
        super().__init__(seed=seed)
        problems = []
        if controller not in CONTROLLERS:
            problems.append(f"strategy.params.controller: must be one of {', '.join(CONTROLLERS)}, got {controller!r}")
        if not 0.0 <= alpha <= 1.0:
            problems.append(f"strategy.params.alpha: must be in [0, 1], got {alpha!r}")
        for k, v in (("batch", batch), ("hw_tries", hw_tries), ("hidden", hidden)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                problems.append(f"strategy.params.{k}: must be an integer >= 1, got {v!r}")
        if problems:
            raise SpecError(problems)
        self.batch, self.controller, self.lr, self.hidden = batch, controller, lr, hidden
        self.decay, self.alpha, self.hw_tries, self.penalty = baseline_decay, alpha, hw_tries, penalty
        self.baseline: float | None = None
        self.lo: np.ndarray | None = None
        self.hi: np.ndarray | None = None
        self.policy: LstmController | SoftmaxController | None = None

    def setup(self, problem: Any, budget: int | None) -> None:
        super().setup(problem, budget)
        self.cards = (*problem.arch_cards, *problem.hw_cards)
        self.n_arch = len(problem.arch_cards)
        self.pending = np.zeros((0, len(self.cards)), dtype=np.int64)  # rows of the last ask, as drawn
        if self.controller == "lstm":  # its own generator for the weights: the draws stay on the strategy's
            self.policy = LstmController(self.cards, rng=np.random.default_rng(self.seed), hidden=self.hidden,
                                         lr=self.lr, init=0.08)
        elif self.controller == "softmax":
            self.policy = SoftmaxController(self.cards, lr=self.lr)

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "_saved" in state:
            raise StudyError("strategy fnas: this checkpoint holds the former PyTorch controller, which the numpy "
                             "controller cannot continue: run the study again under another name")
        self.__dict__.update(state)

    # -- ask -------------------------------------------------------------------------------------
    def _draw(self, n: int, prefix: np.ndarray | None = None) -> np.ndarray:
        if self.policy is not None:
            return self.policy.sample(self.rng, n, prefix=prefix)[0]
        k = 0 if prefix is None else prefix.shape[1]
        rows = np.column_stack([self.rng.integers(c, size=n) for c in self.cards[k:]]).astype(np.int64)
        return rows if prefix is None else np.concatenate([prefix, rows], axis=1)

    def ask(self) -> PairBatch:
        rows = self._draw(self.batch)
        check = getattr(self.problem, "meets_spec", None)
        if check is not None:  # fast exploration: new hardware for the same network, no training
            ok = check(PairBatch(rows[:, :self.n_arch], rows[:, self.n_arch:]))
            self.pairs_evaluated += len(rows)
            for _ in range(self.hw_tries - 1):
                bad = np.flatnonzero(~ok)
                if len(bad) == 0:
                    break
                rows[bad] = self._draw(len(bad), rows[bad, :self.n_arch])
                ok[bad] = check(PairBatch(rows[bad, :self.n_arch], rows[bad, self.n_arch:]))
                self.pairs_evaluated += len(bad)
        self.pending = rows
        arch, hw = rows[:, :self.n_arch], rows[:, self.n_arch:]
        canon = getattr(self.problem, "canonical", None)
        if canon is not None:
            arch, hw = canon(arch, hw)
        return PairBatch(arch, hw)

    # -- tell ------------------------------------------------------------------------------------
    def rewards(self, candidates: PairBatch, evaluation: Evaluation) -> np.ndarray:
        """``alpha x accuracy/100 + (1 - alpha) x efficiency`` for accepted pairs, ``penalty`` for the others."""
        v = evaluation.values
        ok = evaluation.feasible & np.isfinite(v).all(axis=1)
        r = np.full(len(v), float(self.penalty))
        if not ok.any():
            return r
        eff = getattr(self.problem, "efficiency", None)
        if eff is not None:
            u = eff(candidates.take(np.flatnonzero(ok)))
        else:
            logc = np.log10(np.maximum(v[ok, 1:], 1e-30))
            lo, hi = logc.min(axis=0), logc.max(axis=0)
            self.lo = lo if self.lo is None else np.minimum(self.lo, lo)
            self.hi = hi if self.hi is None else np.maximum(self.hi, hi)
            u = 1.0 - ((logc - self.lo) / np.maximum(self.hi - self.lo, 1e-9)).mean(axis=1)
        r[ok] = self.alpha * (-v[ok, 0] / 100.0) + (1.0 - self.alpha) * u
        return r

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        r = self.rewards(candidates, evaluation)
        mean = float(r.mean())
        self.baseline = mean if self.baseline is None else self.decay * self.baseline + (1 - self.decay) * mean
        if self.policy is not None:
            self.policy.update(self.pending[:len(candidates)], None, r - self.baseline)
