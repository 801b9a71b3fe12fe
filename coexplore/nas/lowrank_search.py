"""Rank search under a size or measured-latency budget: ShrinkML's REINFORCE, evolution, greedy, uniform.

One decision per factorable matrix: a rank from a geometric grid below its full rank (steps of
sqrt(2) by default; only ranks that save parameters, ``r (m + n) < m n``), or *dense* (not
factored, the last choice).
:class:`LowRankProblem` maximises validation accuracy of the trained model factored at the ranks
(no retraining) subject to the factorable parameters, or the measured latency, being within the
budget; a candidate over budget is infeasible. Strategies run through the one search driver:

* ``shrinkml`` (:class:`ShrinkMlReinforce`): ShrinkML's search (Dudziak et al., Interspeech 2019):
  an LSTM controller (Zoph and Le's, :class:`~coexplore.search.controller.LstmController`) emits
  one rank per layer and learns by REINFORCE. Reward: accuracy / 100 within the budget; over it,
  a punishment growing with the excess, ``-(cost / budget - 1)``, below every accuracy, so the
  policy learns to meet the budget and then to spend it where accuracy needs it. ShrinkML's paper
  discusses reward and punishment functions of this shape; its exact constants were not read, so
  these are ours.
* ``evolution``: the generic aging evolution (:class:`~coexplore.search.choices.AgingEvolution`).
* ``greedy`` (:class:`GreedyRanks`): start dense, repeatedly lower by one step the rank of the
  matrix whose step loses the least accuracy per unit of cost saved, until within budget.
* uniform references: :func:`uniform_ranks`, every matrix compressed by the same ratio (the
  smallest ratio whose total meets the budget), and :func:`same_ranks`, one rank for every
  matrix (capped at its full rank; the largest that meets the budget).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.lowrank import FactorableMatrix
from coexplore.nas.lowrank_eval import RankEvaluator
from coexplore.search.choices import AgingEvolution, RandomChoices
from coexplore.search.controller import LstmController, SoftmaxController
from coexplore.search.driver import SearchResult, optimize
from coexplore.search.encoding import Categorical, ChoiceBatch
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy

__all__ = ["STRATEGIES", "GreedyRanks", "LowRankProblem", "RankSpace", "ShrinkMlReinforce", "make_rank_strategy",
           "same_ranks", "search_ranks", "uniform_ranks"]


@dataclass(frozen=True, slots=True)
class RankSpace:
    """Per matrix, the ranks a search may choose (ascending), then ``None`` (dense)."""

    matrices: tuple[FactorableMatrix, ...]
    choices: tuple[tuple[int | None, ...], ...]

    @classmethod
    def grid(cls, matrices: Sequence[FactorableMatrix], *, step: float = 2 ** 0.5) -> RankSpace:
        """Ranks ``ceil(R / step**k)`` for k = 0, 1, ... down to 1 (R the full rank; geometric, so high
        compression has as fine a choice as low) that save parameters (``r (m + n) < m n``), then dense."""
        if not (isinstance(step, (int, float)) and not isinstance(step, bool) and 1.05 <= step <= 16):
            raise SpecError(f"step: must be a number in 1.05..16, got {step!r}")
        choices = []
        for m in matrices:
            ranks = {m.max_rank}
            k = 1
            while min(ranks) > 1:
                ranks.add(max(1, math.ceil(m.max_rank / step ** k)))
                k += 1
            choices.append((*(r for r in sorted(ranks) if m.size(r) < m.size(None)), None))
        return cls(tuple(matrices), tuple(choices))

    @property
    def encoding(self) -> Categorical:
        return Categorical(tuple(len(c) for c in self.choices), tuple(m.name for m in self.matrices))

    def ranks(self, row: Sequence[int] | np.ndarray) -> dict[str, int]:
        """The ``ranks`` dict of a decision row (dense matrices left out)."""
        out = {}
        for m, c, i in zip(self.matrices, self.choices, row, strict=True):
            if c[int(i)] is not None:
                out[m.name] = int(c[int(i)])  # type: ignore[arg-type]
        return out

    def dense_row(self) -> np.ndarray:
        return np.array([len(c) - 1 for c in self.choices], dtype=np.int64)


def _budget_fits(matrices: Sequence[FactorableMatrix], ratio: float,
                 fits: Callable[[dict[str, int]], bool] | None) -> Callable[[dict[str, int]], bool]:
    if not ratio >= 1:
        raise SpecError(f"ratio: must be >= 1, got {ratio!r}")
    budget = sum(m.size(None) for m in matrices) / ratio
    return fits or (lambda r: sum(m.size(r[m.name]) for m in matrices) <= budget)


def uniform_ranks(matrices: Sequence[FactorableMatrix], ratio: float,
                  fits: Callable[[dict[str, int]], bool] | None = None) -> tuple[dict[str, int], float]:
    """Every matrix at rank ``floor(m n / (c (m + n)))`` (at least 1), for the smallest ``c >= ratio`` (to 1 %)
    whose ranks ``fits`` (default: total parameters <= dense / ``ratio``); returns the ranks and ``c``.

    Found by bisection on ``c``, so a costly ``fits`` (a measured latency) is called about ten times;
    it assumes a larger ``c`` never fits worse (exact for parameters; up to noise for a latency).
    """
    fits = _budget_fits(matrices, ratio, fits)

    def at(c: float) -> dict[str, int]:
        return {m.name: min(m.max_rank, max(1, int(m.size(None) // (c * (m.rows + m.cols))))) for m in matrices}

    lo, hi = float(ratio), float(ratio)
    while not fits(at(hi)):
        if all(r == 1 for r in at(hi).values()):
            return at(hi), hi
        lo, hi = hi, hi * 2
    if hi == lo:
        return at(hi), hi
    while hi / lo > 1.01:
        mid = (lo * hi) ** 0.5
        lo, hi = (lo, mid) if fits(at(mid)) else (mid, hi)
    return at(hi), hi


def same_ranks(matrices: Sequence[FactorableMatrix], ratio: float,
               fits: Callable[[dict[str, int]], bool] | None = None) -> tuple[dict[str, int], int]:
    """Every matrix at one rank ``r`` (capped at its full rank), the largest ``r`` whose ranks ``fits``
    (default: total parameters <= dense / ``ratio``); returns the ranks and ``r`` (1 if none fits).

    Bisection on ``r``, under the same assumption as :func:`uniform_ranks`.
    """
    fits = _budget_fits(matrices, ratio, fits)

    def at(r: int) -> dict[str, int]:
        return {m.name: min(r, m.max_rank) for m in matrices}

    lo, hi = 1, max(m.max_rank for m in matrices)  # the answer is in [lo, hi]
    if fits(at(hi)):
        return at(hi), hi
    while lo < hi - 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(at(mid)) else (lo, mid)
    return at(lo), lo


class LowRankProblem:
    """Maximise accuracy of the factored model within ``max_parameters`` or ``max_latency_ms`` (exactly one).

    Values are ``-accuracy`` (percent, on the evaluator's validation set); over budget: infeasible
    (values inf). Every candidate's accuracy and cost are kept in :attr:`records` (by decision row),
    where strategies that need the cost of an infeasible candidate (ShrinkML's punishment, greedy)
    read them.
    """

    objectives = ("accuracy",)

    def __init__(self, *, evaluator: RankEvaluator, space: RankSpace, max_parameters: int | None = None,
                 max_latency_ms: float | None = None) -> None:
        if (max_parameters is None) == (max_latency_ms is None):
            raise SpecError("budget: give exactly one of max_parameters and max_latency_ms, got "
                            f"{max_parameters!r} and {max_latency_ms!r}")
        if max_parameters is not None and (isinstance(max_parameters, bool) or not isinstance(max_parameters, int)
                                           or max_parameters < 1):
            raise SpecError(f"max_parameters: must be an integer >= 1, got {max_parameters!r}")
        if max_latency_ms is not None and not max_latency_ms > 0:
            raise SpecError(f"max_latency_ms: must be > 0, got {max_latency_ms!r}")
        self.evaluator, self.space = evaluator, space
        self.kind = "parameters" if max_parameters is not None else "latency_ms"
        self.budget = float(max_parameters if max_parameters is not None else max_latency_ms)  # type: ignore[arg-type]
        self.encoding = space.encoding
        self.records: dict[bytes, tuple[float, float]] = {}

    def cost(self, ranks: Mapping[str, int]) -> float:
        if self.kind == "parameters":
            return float(self.evaluator.parameters(ranks))
        return self.evaluator.latency_ms(ranks)

    def record(self, row: np.ndarray) -> tuple[float, float]:
        """(validation accuracy in percent, cost) of a decision row, evaluated if new."""
        key = np.asarray(row, dtype=np.int64).tobytes()
        if key not in self.records:
            ranks = self.space.ranks(row)
            self.records[key] = (self.evaluator.accuracy(ranks), self.cost(ranks))
        return self.records[key]

    def evaluate(self, candidates: ChoiceBatch) -> Evaluation:
        self.encoding.check(candidates)
        rec = np.array([self.record(row) for row in candidates.x], dtype=np.float64).reshape(-1, 2)
        ok = rec[:, 1] <= self.budget
        values = np.where(ok, -rec[:, 0], np.inf)[:, None]
        reasons = tuple("" if o else f"over the {self.kind} budget" for o in ok)
        return Evaluation(values=values, feasible=ok, reasons=reasons)

    def describe(self, candidates: ChoiceBatch, i: int) -> dict[str, Any]:
        return {"ranks": self.space.ranks(candidates.x[i])}


class ShrinkMlReinforce(Strategy):
    """ShrinkML: an LSTM controller (REINFORCE, moving-average baseline) picks one rank per matrix.

    Args:
        seed: Seeds the controller's weights and draws.
        batch: Rank vectors per policy update.
        lr: Adam step of the controller.
        hidden: Controller LSTM units (``controller="softmax"``: independent softmaxes instead).
        baseline_decay: Decay of the reward baseline.
        entropy: Weight of the policy's entropy bonus (keeps it exploring; 0: none).

    ``lr`` 0.005 and ``batch`` 8 were chosen on seed 10 (not a benchmark seed) among lr 0.005 / 0.01 /
    0.02 and batch 8 / 16: larger steps collapse the policy onto a few rank vectors early.
    """

    name = "shrinkml"

    def __init__(self, *, seed: int = 0, batch: int = 8, lr: float = 0.005, hidden: int = 35,
                 baseline_decay: float = 0.9, controller: str = "lstm", entropy: float = 0.0) -> None:
        problems = [f"{n}: must be an integer >= {lo}, got {v!r}" for n, v, lo in
                    (("seed", seed, 0), ("batch", batch, 1), ("hidden", hidden, 1))
                    if isinstance(v, bool) or not isinstance(v, int) or v < lo]
        if controller not in ("lstm", "softmax"):
            problems.append(f"controller: must be 'lstm' or 'softmax', got {controller!r}")
        if not 0 <= baseline_decay < 1:
            problems.append(f"baseline_decay: must be in [0, 1), got {baseline_decay!r}")
        if not entropy >= 0:
            problems.append(f"entropy: must be >= 0, got {entropy!r}")
        if problems:
            raise SpecError(problems)
        self.entropy = float(entropy)
        self.seed, self.batch, self.lr, self.hidden = seed, batch, lr, hidden
        self.decay, self.controller = baseline_decay, controller
        self.rng = np.random.default_rng(seed)
        self.baseline: float | None = None

    def setup(self, problem: Any, budget: int | None) -> None:
        if not isinstance(problem, LowRankProblem):
            raise SpecError(f"strategy {self.name}: needs a LowRankProblem, got {type(problem).__name__}")
        self.problem = problem
        cards = problem.encoding.cards
        self.policy = (LstmController(cards, rng=np.random.default_rng(self.seed), hidden=self.hidden, lr=self.lr)
                       if self.controller == "lstm" else SoftmaxController(cards, lr=self.lr))

    def ask(self) -> ChoiceBatch:
        rows, _ = self.policy.sample(self.rng, self.batch)
        return ChoiceBatch(rows)

    def reward(self, row: np.ndarray) -> float:
        """accuracy / 100 within the budget, ``-(cost / budget - 1)`` over it."""
        accuracy, cost = self.problem.record(row)
        return accuracy / 100.0 if cost <= self.problem.budget else -(cost / self.problem.budget - 1.0)

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        r = np.array([self.reward(row) for row in candidates.x])
        mean = float(r.mean())
        self.baseline = mean if self.baseline is None else self.decay * self.baseline + (1 - self.decay) * mean
        self.policy.update(np.asarray(candidates.x, dtype=np.int64), None, r - self.baseline, entropy=self.entropy)


class GreedyRanks(Strategy):
    """Greedy baseline: from all dense, lower one matrix's rank by one grid step at a time until within budget.

    Each step evaluates every one-step-lower neighbour and takes the one losing the least validation
    accuracy per unit of cost saved (a neighbour that saves nothing is taken only if no other is
    left). Finished once the current ranks meet the budget, or every matrix is at its lowest rank.
    """

    name = "greedy"

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed  # deterministic; kept for the common constructor
        self.current: np.ndarray | None = None
        self._done = False
        self.steps = 0

    def setup(self, problem: Any, budget: int | None) -> None:
        if not isinstance(problem, LowRankProblem):
            raise SpecError(f"strategy {self.name}: needs a LowRankProblem, got {type(problem).__name__}")
        self.problem = problem

    @property
    def finished(self) -> bool:
        return self._done

    def _neighbours(self) -> np.ndarray:
        assert self.current is not None
        rows = []
        for j in np.flatnonzero(self.current > 0):
            row = self.current.copy()
            row[j] -= 1
            rows.append(row)
        return np.array(rows, dtype=np.int64).reshape(-1, len(self.current))

    def ask(self) -> ChoiceBatch:
        if self.current is None:
            return ChoiceBatch(self.problem.space.dense_row()[None])
        return ChoiceBatch(self._neighbours())

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        if self.current is None:
            self.current = np.asarray(candidates.x[0], dtype=np.int64).copy()
        else:
            acc0, cost0 = self.problem.record(self.current)
            scores = []
            for row in candidates.x:
                acc, cost = self.problem.record(row)
                saved = cost0 - cost
                scores.append((0 if saved > 0 else 1, (acc0 - acc) / saved if saved > 0 else -acc))
            self.current = np.asarray(candidates.x[min(range(len(scores)), key=scores.__getitem__)]).copy()
            self.steps += 1
        if self.problem.record(self.current)[1] <= self.problem.budget or not (self.current > 0).any():
            self._done = True


STRATEGIES = ("shrinkml", "evolution", "greedy", "random")


def make_rank_strategy(name: str, *, seed: int = 0) -> Strategy:
    """A rank search strategy by name (``shrinkml``, ``evolution``, ``greedy``, ``random``), default settings."""
    if name == "shrinkml":
        return ShrinkMlReinforce(seed=seed)
    if name == "evolution":
        return AgingEvolution(seed=seed, population=30, sample=8, batch=8, unique=True)
    if name == "greedy":
        return GreedyRanks(seed=seed)
    if name == "random":
        return RandomChoices(seed=seed, batch=8, unique=True)
    raise SpecError(f"strategy: unknown rank search strategy {name!r}; valid: {', '.join(STRATEGIES)}")


def search_ranks(problem: LowRankProblem, strategy: str | Strategy, *, max_evals: int = 400,
                 seed: int = 0) -> tuple[dict[str, int] | None, SearchResult]:
    """Run a rank search; the best feasible ranks (highest validation accuracy; None if none met the budget)."""
    strat = make_rank_strategy(strategy, seed=seed) if isinstance(strategy, str) else strategy
    result = optimize(problem, strat, max_evals=max_evals)
    best = problem.space.ranks(result.best.x[0]) if result.found else None
    return best, result
