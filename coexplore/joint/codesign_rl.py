"""Codesign-NAS's RL search (seed 002; Abdelfattah et al., DAC 2020): an LSTM controller over the pair space.

Search strategies (``search``), after the paper's three ways of navigating the co-design space:

* ``combined``: one controller emits the network's decisions, then the accelerator's, as one
  sequence; one reward per pair.
* ``phase``: two controllers, used in turn: a network phase (the accelerator fixed to the best
  pair's so far) then an accelerator phase (the network fixed to the best pair's), for
  ``phase_pairs`` pairs each, and so on; both learn from the same reward.
* ``separate``: the conventional two-step flow: the network controller first, rewarded for
  accuracy alone (under the reward's accuracy floor, if any; the accelerator held at the
  template design), for ``separate_share`` of the budget; then the accelerator controller for
  the best network found, on the full reward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.base import JointStrategy
from coexplore.joint.codesign_reward import REWARD_METRICS, Reward
from coexplore.joint.problem import PairBatch
from coexplore.search.controller import LstmController
from coexplore.search.problem import Evaluation

__all__ = ["SEARCHES", "CodesignNasRl"]

SEARCHES = ("combined", "phase", "separate")


class CodesignNasRl(JointStrategy):
    """Codesign-NAS's reinforcement-learning search of (network, accelerator) pairs under a constrained reward.

    The controller is Zoph and Le's LSTM (:class:`~coexplore.search.controller.LstmController`,
    REINFORCE with an exponential moving-average baseline, Adam); every sample is one pair
    evaluation. The reward (:class:`~coexplore.joint.codesign_reward.Reward`) is a weighted sum
    of normalised metrics (``weights``: accuracy, perf_per_area, latency, area, energy) when the
    constraints hold (``min_accuracy``, ``max_latency_cycles``, ``max_area_mm2``,
    ``min_perf_per_area``: a number, or ``resnet`` / ``googlenet`` for that NAS-Bench-201 cell's
    value on its best-perf/area accelerator), and a punishment otherwise: mostly the relative
    violation, partly the score's shortfall, so misses still rank by the objective.
    Default: maximise perf/area. Accelerator decisions are masked to the designs of the space.

    Departures from the paper: NAS-Bench-201 cells x the Eyeriss-budget ASIC grid (priced by
    the cost table) instead of NASBench-101 cells x CHaiDNN FPGA designs; accuracies come from
    the NB201 table instead of training; the punishment's exact form and the normalisation
    (log10 of each cost, min-max over the pairs seen so far) are ours, as are the accelerator
    masks and the phase search's first accelerator (drawn by its untrained controller) and
    its baseline reset at each phase change; ``separate`` reads the
    paper's separate search as the conventional network-first, accelerator-second flow;
    defaults (hidden 35, lr, batch, phase lengths) are tuned for budgets of 10^3-10^4 pairs.
    """

    name = "codesign-nas-rl"
    transient = ("problem", "_reach")

    def __init__(self, *, seed: int = 0, search: str = "combined", weights: dict[str, float] | None = None,
                 min_accuracy: float | str | None = None, max_latency_cycles: float | str | None = None,
                 max_area_mm2: float | str | None = None, min_perf_per_area: float | str | None = None,
                 batch: int = 10, hidden: int = 35, lr: float = 0.003, baseline_decay: float = 0.95,
                 entropy: float = 0.01, phase_pairs: tuple[int, int] | list[int] = (500, 500),
                 separate_share: float = 0.5) -> None:
        super().__init__(seed=seed)
        errs = []
        if search not in SEARCHES:
            errs.append(f"strategy.params.search: must be one of {', '.join(SEARCHES)}, got {search!r}")
        if not isinstance(batch, int) or batch < 1:
            errs.append(f"strategy.params.batch: must be an integer >= 1, got {batch!r}")
        if not 0 <= baseline_decay < 1:
            errs.append(f"strategy.params.baseline_decay: must be in [0, 1), got {baseline_decay!r}")
        if len(phase_pairs) != 2 or any(not isinstance(v, int) or v < 1 for v in phase_pairs):
            errs.append(f"strategy.params.phase_pairs: must be two integers >= 1 (network, accelerator), got "
                        f"{phase_pairs!r}")
        if not 0 < separate_share < 1:
            errs.append(f"strategy.params.separate_share: must be in (0, 1), got {separate_share!r}")
        if errs:
            raise SpecError(errs)
        self.weights = weights
        self.limits = {"min_accuracy": min_accuracy, "max_latency_cycles": max_latency_cycles,
                       "max_area_mm2": max_area_mm2, "min_perf_per_area": min_perf_per_area}
        self.search, self.batch, self.decay, self.entropy = search, batch, baseline_decay, entropy
        self.hidden, self.lr, self.separate_share = hidden, lr, separate_share
        self.phase_pairs = tuple(phase_pairs)
        self.lo = {k: np.inf for k in REWARD_METRICS}
        self.hi = {k: -np.inf for k in REWARD_METRICS}
        self.phase, self.phase_told = "network", 0
        self.fixed_arch: np.ndarray | None = None
        self.fixed_hw: np.ndarray | None = None
        self.told = 0
        self.best: dict[str, Any] | None = None
        self.best_nets: dict[str, Any] | None = None  # separate search: the best network of the first step
        self._asked: tuple[str, np.ndarray, list[np.ndarray]] | None = None

    def setup(self, problem: Any, budget: int | None) -> None:
        super().setup(problem, budget)
        if not hasattr(problem, "metrics") or not hasattr(problem, "hw_choices"):
            raise SpecError("strategy codesign-nas-rl: needs an enumerable pair space (space nb201 on a design grid)")
        reward = Reward.resolve(problem, self.weights, **self.limits)
        hard = {k: getattr(problem, k) for k in ("max_latency_cycles", "max_area_mm2")
                if getattr(problem, k, None) is not None}  # the problem's limits: pairs over them are infeasible
        self.reward = Reward(weights=reward.weights, constraints={
            **reward.constraints, **{k: min(v, reward.constraints.get(k, np.inf)) for k, v in hard.items()}})
        self.separate_pairs = max(1, int(self.separate_share * self.budget))
        self.n_arch = len(problem.arch_cards)
        hidden, lr = self.hidden, self.lr
        if self.search == "combined":
            self.controllers = {"pair": LstmController((*problem.arch_cards, *problem.hw_cards), rng=self.rng,
                                                       hidden=hidden, lr=lr)}
        else:
            self.controllers = {"network": LstmController(tuple(problem.arch_cards), rng=self.rng, hidden=hidden,
                                                          lr=lr),
                                "hardware": LstmController(tuple(problem.hw_cards), rng=self.rng, hidden=hidden,
                                                           lr=lr)}
        self.baselines: dict[str, float | None] = dict.fromkeys(self.controllers)
        self.template_hw = problem.hw_choices[problem.reference_column].copy()
        self._attach(problem)

    def _attach(self, problem: Any) -> None:
        """``_reach[k][a_0..a_k]``: some design of the space starts with accelerator choices a_0..a_k."""
        valid = np.zeros(problem.hw_cards, dtype=bool)
        valid[tuple(problem.hw_choices[np.flatnonzero(problem.table.feasible)].T)] = True
        n = len(problem.hw_cards)
        self._reach: list[np.ndarray] = [np.asarray(valid.any(axis=tuple(range(k + 1, n)))) for k in range(n)]

    # -- sampling ------------------------------------------------------------------------------
    def _hw_allowed(self, offset: int) -> Any:
        """Mask function for the accelerator decisions (steps ``offset`` on): only prefixes of designs of the space."""
        reach = self._reach

        def allowed(step: int, prefix: np.ndarray) -> np.ndarray:
            k = step - offset
            if k < 0:
                return np.ones((len(prefix), self.problem.arch_cards[step]), dtype=bool)
            if k == 0:
                return np.repeat(reach[0][None], len(prefix), axis=0)
            return reach[k][tuple(prefix[:, offset:].T)]

        return allowed

    def _which(self) -> str:
        """The controller that samples the next batch."""
        if self.search == "combined":
            return "pair"
        if self.search == "separate":
            return "network" if self.told < self.separate_pairs else "hardware"
        return self.phase

    def ask(self) -> PairBatch:
        who = self._which()
        n = self.batch
        ctrl = self.controllers[who]
        if who == "pair":
            rows, masks = ctrl.sample(self.rng, n, self._hw_allowed(self.n_arch))
            arch, hw = rows[:, :self.n_arch], rows[:, self.n_arch:]
        elif who == "network":
            arch, masks = ctrl.sample(self.rng, n)
            hw = np.repeat(self._network_phase_hw()[None], n, axis=0)
            rows = arch
        else:
            hw, masks = ctrl.sample(self.rng, n, self._hw_allowed(0))
            arch = np.repeat(self._hardware_phase_arch()[None], n, axis=0)
            rows = hw
        self._asked = (who, rows, masks)
        return PairBatch(arch.astype(np.int64), hw.astype(np.int64))

    def _network_phase_hw(self) -> np.ndarray:
        if self.search == "separate":
            return self.template_hw
        if self.fixed_hw is None:  # the first network phase: one design drawn by the (untrained) controller
            self.fixed_hw = self.controllers["hardware"].sample(self.rng, 1, self._hw_allowed(0))[0][0]
        return self.fixed_hw

    def _hardware_phase_arch(self) -> np.ndarray:
        if self.search == "separate":
            assert self.best_nets is not None, "the network step ends before the accelerator step"
            return np.asarray(self.best_nets["arch"])
        assert self.fixed_arch is not None
        return self.fixed_arch

    # -- learning ------------------------------------------------------------------------------
    def rewards(self, candidates: PairBatch, who: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(reward of each told pair, its metrics); the separate search's network step uses accuracy terms only."""
        m = self.problem.metrics(candidates)
        cols = {"accuracy": "accuracy", "perf_per_area": "perf_per_area", "latency": "latency_cycles",
                "area": "area_mm2", "energy": "energy_pj"}
        for k, c in cols.items():
            v = m[c][np.isfinite(m[c]) & (m[c] > 0)]
            if len(v) and k != "accuracy":
                self.lo[k] = min(self.lo[k], float(np.log10(v.min())))
                self.hi[k] = max(self.hi[k], float(np.log10(v.max())))
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.search == "separate" and who == "network":
                floor = {k: v for k, v in self.reward.constraints.items() if k == "min_accuracy"}
                nas = Reward(weights={"accuracy": 1.0}, constraints=floor)
                return nas.values(m, self.lo, self.hi), m
            return self.reward.values(m, self.lo, self.hi), m

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        assert self._asked is not None, "tell before ask"
        who, rows, masks = self._asked
        n = len(candidates)
        r, m = self.rewards(candidates, who)
        mean = float(r.mean())
        base = self.baselines[who]
        base = mean if base is None else base
        self.controllers[who].update(rows[:n], [mk[:n] for mk in masks], r - base, entropy=self.entropy)
        self.baselines[who] = self.decay * base + (1 - self.decay) * mean
        full = self.reward.values(m, self.lo, self.hi) if (self.search == "separate" and who == "network") else r
        i = int(np.argmax(full))  # the batch's best pair under the full reward (first of ties)
        if self.best is None or full[i] > self._best_reward():  # both under today's normalisation
            self.best = {"arch": candidates.arch[i].tolist(), "hw": candidates.hw[i].tolist(),
                         "found_at_pair": self.told + i + 1, **{k: float(v[i]) for k, v in m.items()}}
        if self.search == "separate" and who == "network":
            i = int(np.argmax(r))
            if self.best_nets is None or r[i] > self.best_nets["reward"]:
                self.best_nets = {"reward": float(r[i]), "arch": candidates.arch[i].tolist()}
        self.told += n
        if self.search == "phase":
            self._advance_phase(n)
        self._asked = None

    def _best_reward(self) -> float:
        """The reward of the best pair so far under the current normalisation (its range only widens)."""
        assert self.best is not None
        keys = ("accuracy", "latency_cycles", "energy_pj", "area_mm2", "perf_per_area")
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(self.reward.values({k: np.array([self.best[k]]) for k in keys}, self.lo, self.hi)[0])

    def _advance_phase(self, n: int) -> None:
        self.phase_told += n
        length = self.phase_pairs[0] if self.phase == "network" else self.phase_pairs[1]
        if self.phase_told < length or self.best is None:
            return
        self.phase = "hardware" if self.phase == "network" else "network"
        self.phase_told = 0
        self.baselines[self.phase] = None  # the other side changed: rewards of the last phase are no baseline
        self.fixed_arch = np.asarray(self.best["arch"], dtype=np.int64)
        self.fixed_hw = np.asarray(self.best["hw"], dtype=np.int64)

    def search_report(self) -> dict[str, Any]:
        """What the summary shows: the search, the resolved reward and the best pair under it."""
        best = None
        if self.best is not None:
            b = self.best
            idx = int(self.problem.arch_index(np.asarray([b["arch"]]))[0])
            col = int(self.problem.column(np.asarray([b["hw"]]))[0])
            best = {"reward": self._best_reward(), "found_at_pair": b["found_at_pair"], "arch_index": idx,
                    "design": int(self.problem.grid_index[col]) if col >= 0 else None,
                    **{k: b[k] for k in ("accuracy", "latency_cycles", "energy_pj", "area_mm2", "perf_per_area")}}
        return {"search": self.search, "weights": dict(self.reward.weights),
                "constraints": dict(self.reward.constraints), "pairs_told": self.told, "best": best}
