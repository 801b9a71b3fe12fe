"""NASAIC (seed 000) and its two baselines on :class:`~coexplore.joint.nasaic.NasaicProblem`.

* ``nasaic``: one REINFORCE controller samples every task's network decisions and the hardware's
  (sub-accelerator PEs, bandwidth, task assignment) as one sequence; reward = the tasks' mean accuracy
  when all specs are met, ``penalty`` when any is violated (specs are hard constraints).
* ``asic-hw-nas``: the ASIC first (a design chosen for a reference workload without accuracy), then the
  same controller searches only the networks of every task on that fixed design (hardware-aware NAS).
* ``nas-asic``: the most accurate cell of each task first (NAS alone), then the best design for them
  under the specs, by enumerating the design grid.

What NASAIC's public text gives (the seed talk: its flow, the template pool, MAESTRO, W1's specs and
Table I; the paper's abstract: the specs must be met while the accuracy is maximised) and what it does
not: the body of the paper (its reward formula, controller segments and update schedule) could not be
read here (the stored copies answer with its first page only), so the rest follows the same group's
flow in the same seed (FNAS) and is measured, not copied. Departures, stated here and next to every
figure:

* Early pruning (``prune``, default on): a pair priced over any spec is rewarded at once and never
  becomes a trial, as FNAS prunes a network that misses its timing spec before training it (seed 000);
  a trial is a pair whose networks would be trained. ``max_draws`` batches are drawn per step at most.
* Reward: the tasks' mean accuracy / 100 (equal task weights) when every spec is met, else ``penalty``
  (default 0.6; ``graded``: minus the summed relative excess). With pruning a violation costs no
  training, so it need not be punished below the accuracy of a typical network: measured on the
  tuning seeds 10-14 (400 trials, best mean accuracy, 5 seeds): penalty 0 69.80 %, 0.5 71.49 %,
  0.6 72.08 %; without pruning 69.97 % (penalty 0) and 70.22 % (0.6); graded with 0.6 70.23 %;
  ``hw_weight`` (a share of the reward for the mean headroom under the specs, our reading of a
  hardware-efficiency term) 0.1 70.40 %, 0.3 70.34 %, so off by default.
* Controller: coexplore's numpy LSTM (Zoph & Le, one layer of 35 units, the one FNAS and Codesign-NAS
  RL use) over one sequence (task 1's six operations, task 2's, then the hardware), an exponential
  moving-average baseline, Adam at ``lr`` 0.005, ``batch`` 8 trials per update plus the pairs pruned
  meanwhile (tuning seeds, with pruning: lr 0.002 70.55 %, 0.02 69.20 %; batch 1 69.11 %, 4 70.28 %).
  ``controller: softmax`` (independent decisions) and ``random`` (uniform draws: the ablation at equal
  trials) share the fast exploration, the pruning and the reward.
* Fast exploration (hardware redrawn for the same networks when it misses a spec, ``hw_tries``) is
  FNAS's, from the same seed; the NASAIC slides do not say whether it uses one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.base import JointStrategy
from coexplore.joint.problem import PairBatch
from coexplore.search.controller import LstmController, SoftmaxController
from coexplore.search.problem import Evaluation

__all__ = ["AsicHwNas", "NasAsic", "NasaicRl", "hardware_first_design"]

CONTROLLERS = ("lstm", "softmax", "random")


def _require(problem: Any, name: str) -> None:
    from coexplore.joint.nasaic import NasaicProblem

    if not isinstance(problem, NasaicProblem):
        raise SpecError(f"strategy.name: {name} searches the multi-task heterogeneous problem (problem.space: "
                        f"nasaic), got {type(problem).__name__}")


def _excess(costs: np.ndarray, specs: np.ndarray) -> np.ndarray:
    """Summed relative excess over the specs (0: all met)."""
    return np.maximum(costs / specs - 1.0, 0.0).sum(axis=1)


def hardware_first_design(problem: Any) -> np.ndarray:
    """ASIC->HW-NAS's design, chosen before any network is searched: for a reference workload (per task the
    cell of median MACs among every 25th NB201 index, no accuracy known), the grid design that meets the specs
    with the lowest latency (then energy, area); if none does, the closest (least summed relative excess)."""
    sample = np.arange(0, 15625, 25)  # every 25th NB201 index: 625 cells per task
    macs = [np.array([problem.counts(t, int(i)) @ problem.layer_macs(t) for i in sample]) for t in (0, 1)]
    ref = [int(sample[np.argsort(m, kind="stable")[len(m) // 2]]) for m in macs]
    hw = problem.hw_grid()
    costs = problem.hw_costs(ref[0], ref[1], hw)
    ex = _excess(costs, problem.spec_array())
    order = np.lexsort((costs[:, 2], costs[:, 1], costs[:, 0], ex))
    return np.asarray(hw[order[0]], dtype=np.int64)


class NasaicRl(JointStrategy):
    """NASAIC: an LSTM controller (REINFORCE) samples both tasks' cells, the sub-accelerators and the assignment.

    Per step ``batch`` candidates are drawn: task 1's six cell operations, task 2's, then dla's PEs
    and bandwidth, shi's PEs (masked to what the PE budget leaves) and the assignment of the tasks.
    Fast exploration (FNAS's, the same group's flow): a candidate whose hardware misses a spec gets new
    hardware drawn for the same networks, up to ``hw_tries`` draws in all; these are priced by the
    analytical model and are no trial (``pairs_evaluated`` counts them). Early pruning (``prune``): a
    pair still over a spec is rewarded without becoming a trial, and the step draws again (at most
    ``max_draws`` batches) until ``batch`` pairs meet the specs. Reward: the tasks' mean accuracy / 100
    when every spec is met (``hw_weight`` > 0: that share given to the mean headroom under the specs),
    ``penalty`` otherwise (``graded``: minus the summed relative excess over the specs). Update: REINFORCE
    over the trials and the pairs pruned since the last update, moving-average baseline (decay
    ``baseline_decay``), Adam at ``lr``.
    ``controller``: ``lstm`` (NASAIC), ``softmax`` (independent decisions) or ``random`` (uniform
    draws, no learning: the ablation).
    """

    name = "nasaic"
    needs_budget = False

    def __init__(self, *, seed: int = 0, batch: int = 8, controller: str = "lstm", lr: float = 0.005, hidden: int = 35,
                 baseline_decay: float = 0.9, penalty: float = 0.6, graded: bool = False, hw_tries: int = 10,
                 entropy: float = 0.0, prune: bool = True, max_draws: int = 50,
                 hw_weight: float = 0.0) -> None:
        super().__init__(seed=seed)
        problems = []
        if controller not in CONTROLLERS:
            problems.append(f"strategy.params.controller: must be one of {', '.join(CONTROLLERS)}, got {controller!r}")
        for k, v in (("batch", batch), ("hidden", hidden), ("hw_tries", hw_tries), ("max_draws", max_draws)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                problems.append(f"strategy.params.{k}: must be an integer >= 1, got {v!r}")
        if not isinstance(lr, (int, float)) or not lr > 0:
            problems.append(f"strategy.params.lr: must be a number > 0, got {lr!r}")
        if not isinstance(penalty, (int, float)) or isinstance(penalty, bool) or not np.isfinite(penalty):
            problems.append(f"strategy.params.penalty: must be a finite number, got {penalty!r}")
        if not isinstance(hw_weight, (int, float)) or isinstance(hw_weight, bool) or not 0.0 <= hw_weight < 1.0:
            problems.append(f"strategy.params.hw_weight: must be a number in [0, 1), got {hw_weight!r}")
        if not isinstance(baseline_decay, (int, float)) or not 0.0 <= baseline_decay < 1.0:
            problems.append(f"strategy.params.baseline_decay: must be in [0, 1), got {baseline_decay!r}")
        if problems:
            raise SpecError(problems)
        self.batch, self.controller, self.lr, self.hidden = batch, controller, float(lr), hidden
        self.decay, self.penalty, self.entropy = float(baseline_decay), float(penalty), float(entropy)
        self.graded, self.hw_tries = bool(graded), hw_tries
        self.prune, self.max_draws, self.hw_weight = bool(prune), max_draws, float(hw_weight)
        self.pruned = np.zeros((0, 0), dtype=np.int64)  # rows drawn and pruned since the last update
        self.pruned_reward = np.zeros(0)
        self.baseline: float | None = None
        self.policy: LstmController | SoftmaxController | None = None
        self.fixed_hw: np.ndarray | None = None  # ASIC->HW-NAS: hardware decisions given

    def setup(self, problem: Any, budget: int | None) -> None:
        _require(problem, self.name)
        super().setup(problem, budget)
        self.cards = (*problem.arch_cards, *problem.hw_cards)
        self.n_arch = len(problem.arch_cards)
        self.pending = np.zeros((0, len(self.cards)), dtype=np.int64)
        self.masks: list[np.ndarray] | None = None
        self._choose_hw(problem)
        if self.controller == "lstm":
            self.policy = LstmController(self.cards, rng=np.random.default_rng(self.seed), hidden=self.hidden,
                                         lr=self.lr, init=0.08)
        elif self.controller == "softmax":
            self.policy = SoftmaxController(self.cards, lr=self.lr)

    def _choose_hw(self, problem: Any) -> None:
        """Where a subclass fixes the hardware before the search (default: searched)."""

    def _allowed(self, step: int, prefix: np.ndarray) -> np.ndarray:
        if self.fixed_hw is not None and step >= self.n_arch:
            mask = np.zeros((len(prefix), self.cards[step]), dtype=bool)
            mask[:, self.fixed_hw[step - self.n_arch]] = True
            return mask
        return np.asarray(self.problem.allowed(step, prefix))

    def ask(self) -> PairBatch:
        n = self.batch
        if not self.prune:
            rows = self._draw(n)
        else:  # early pruning: a pair that misses a spec is rewarded at once and never becomes a trial
            kept, pruned, rewards = [], [], []
            rows = np.zeros((0, len(self.cards)), dtype=np.int64)
            for _ in range(self.max_draws):
                rows = self._draw(n)
                ex = self._excess(rows)
                ok = ex == 0
                kept.append(rows[ok])
                pruned.append(rows[~ok])
                rewards.append(self._violation_reward(ex[~ok]))
                if sum(len(k) for k in kept) >= n:
                    break
            got = np.concatenate(kept)[:n]
            if len(got) == 0:  # nothing met the specs in max_draws batches: the last batch is tried (and fails)
                got = rows
                pruned[-1], rewards[-1] = pruned[-1][:0], rewards[-1][:0]
            rows = got
            self.pruned = np.concatenate([self.pruned.reshape(-1, len(self.cards)), *pruned])
            self.pruned_reward = np.concatenate([self.pruned_reward, *rewards])
        self.pending = rows
        if self.policy is not None:  # the masks each row was drawn under
            self.masks = self._masks(rows)
        return PairBatch(rows[:, :self.n_arch].copy(), rows[:, self.n_arch:].copy())

    def _masks(self, rows: np.ndarray) -> list[np.ndarray]:
        return [self._allowed(k, rows[:, :k]) for k in range(len(self.cards))]

    def _draw(self, n: int) -> np.ndarray:
        """``n`` rows from the policy (or uniform), hardware redrawn for rows that miss a spec (fast exploration)."""
        if self.policy is not None:
            rows = self.policy.sample(self.rng, n, allowed=self._allowed)[0]
        else:
            rows = np.zeros((n, len(self.cards)), dtype=np.int64)
            for k in range(len(self.cards)):
                mask = self._allowed(k, rows[:, :k])
                for i in range(n):
                    ok = np.flatnonzero(mask[i])
                    rows[i, k] = ok[self.rng.integers(len(ok))]
        if self.fixed_hw is None:
            for _ in range(self.hw_tries - 1):  # fast exploration: new hardware for the same networks, no trial
                bad = np.flatnonzero(self._excess(rows) > 0)
                if len(bad) == 0:
                    break
                rows[bad] = self._redraw(rows[bad])
        return rows

    def _violation_reward(self, excess: np.ndarray) -> np.ndarray:
        """``penalty`` for a pair over a spec, minus its summed relative excess (capped at 10) when ``graded``."""
        r = np.full(len(excess), self.penalty)
        return r - np.minimum(excess, 10.0) if self.graded else r

    def _redraw(self, rows: np.ndarray) -> np.ndarray:
        prefix = rows[:, :self.n_arch]
        if self.policy is not None:
            return self.policy.sample(self.rng, len(rows), allowed=self._allowed, prefix=prefix)[0]
        out = rows.copy()
        for k in range(self.n_arch, len(self.cards)):
            mask = self._allowed(k, out[:, :k])
            for i in range(len(out)):
                ok = np.flatnonzero(mask[i])
                out[i, k] = ok[self.rng.integers(len(ok))]
        return out

    def _excess(self, rows: np.ndarray) -> np.ndarray:
        """Summed relative excess over the specs of each row (0: all met), priced by the problem (cached)."""
        p = self.problem
        i1, i2 = p.indices(rows[:, :self.n_arch])
        specs = p.spec_array()
        out = np.empty(len(rows))
        for i in range(len(rows)):
            c = p.system(int(i1[i]), int(i2[i]), rows[i, self.n_arch:])
            self.pairs_evaluated += 1
            out[i] = _excess(np.array([[c["latency_cycles"], c["energy_nj"], c["area_um2"]]]), specs)[0]
        return out

    def rewards(self, rows: np.ndarray, evaluation: Evaluation) -> np.ndarray:
        """Mean accuracy / 100 where every spec is met; elsewhere :meth:`_violation_reward`."""
        ok = evaluation.feasible & np.isfinite(evaluation.values[:, 0])
        r = np.where(ok, -np.where(ok, evaluation.values[:, 0], 0.0) / 100.0, self.penalty)
        if self.hw_weight and ok.any():  # (1 - w) accuracy + w mean headroom under the specs
            good = np.flatnonzero(ok)
            r[good] = (1 - self.hw_weight) * r[good] + self.hw_weight * self._headroom(rows[good])
        if (~ok).any():
            bad = np.flatnonzero(~ok)
            r[bad] = self._violation_reward(self._excess(rows[bad]) if self.graded else np.zeros(len(bad)))
        return r

    def _headroom(self, rows: np.ndarray) -> np.ndarray:
        """Mean of (spec - metric) / spec over the latency, energy and area specs given, per row."""
        p = self.problem
        i1, i2 = p.indices(rows[:, :self.n_arch])
        specs = p.spec_array()
        given = np.isfinite(specs)
        out = np.empty(len(rows))
        for i in range(len(rows)):
            c = p.system(int(i1[i]), int(i2[i]), rows[i, self.n_arch:])
            m = np.array([c["latency_cycles"], c["energy_nj"], c["area_um2"]])
            out[i] = float(np.mean(1.0 - m[given] / specs[given])) if given.any() else 0.0
        return out

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        n = len(candidates)
        rows = self.pending[:n]
        r = self.rewards(rows, evaluation)
        masks = None if self.masks is None else [m[:n] for m in self.masks]
        if len(self.pruned):  # one update over the trials and the pairs pruned before them
            rows = np.concatenate([rows, self.pruned])
            r = np.concatenate([r, self.pruned_reward])
            if masks is not None:
                masks = [np.concatenate([a, b]) for a, b in zip(masks, self._masks(self.pruned), strict=True)]
            self.pruned, self.pruned_reward = self.pruned[:0], self.pruned_reward[:0]
        mean = float(r.mean())
        self.baseline = mean if self.baseline is None else self.decay * self.baseline + (1 - self.decay) * mean
        if self.policy is not None:
            self.policy.update(rows, masks, r - self.baseline, entropy=self.entropy)


class AsicHwNas(NasaicRl):
    """ASIC->HW-NAS: a design chosen first for a reference workload, then the controller searches the networks on it.

    The design (and assignment) is :func:`hardware_first_design`: the fastest grid design that
    meets the specs for the median-MAC cells of both tasks; the controller then draws only the
    tasks' cells (the hardware decisions masked to that design), reward as ``nasaic``'s.
    """

    name = "asic-hw-nas"

    def _choose_hw(self, problem: Any) -> None:
        self.fixed_hw = hardware_first_design(problem)
        self.pairs_evaluated += len(problem.hw_grid())


class NasAsic(JointStrategy):
    """NAS->ASIC: each task's most accurate cell first, then the best design of the grid for them under the specs.

    The best design meets every spec with the least summed log(metric / spec) when any does;
    otherwise (the usual case: the most accurate cells are the largest) the one closest to the specs,
    least summed relative excess. One trial: that pair.
    """

    name = "nas-asic"
    needs_budget = False

    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.done = False

    def setup(self, problem: Any, budget: int | None) -> None:
        _require(problem, self.name)
        super().setup(problem, budget)

    def ask(self) -> PairBatch:
        p = self.problem
        i1, i2 = int(np.argmax(p.acc[0])), int(np.argmax(p.acc[1]))
        hw = p.hw_grid()
        costs = p.hw_costs(i1, i2, hw)
        self.pairs_evaluated += len(hw)
        specs = p.spec_array()
        ex = _excess(costs, specs)
        score = np.where(ex == 0, np.log(costs / np.where(np.isfinite(specs), specs, 1.0)).sum(axis=1), np.inf)
        best = int(np.argmin(score)) if np.isfinite(score).any() else int(np.argmin(ex))
        self.done = True
        return p.pairs(i1, i2, hw[best][None])

    @property
    def finished(self) -> bool:
        return self.done
