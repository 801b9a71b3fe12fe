"""Hardware-aware NAS on fixed hardware as a search problem: accuracy under a latency limit.

Latency is known cheaply (a measured table, a predictor or the cost model), accuracy is
what a search pays for (training, or a table lookup standing in for it). So the problem
asks latency first and rejects networks over the limit, and degenerate networks, before
any accuracy evaluation (FNAS's early pruning); :attr:`NasProblem.queries` counts the
accuracy evaluations, in order, and an architecture is never queried twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.evaluators import Evaluator
from coexplore.nas.space import ArchSpace
from coexplore.search.encoding import Categorical, ChoiceBatch
from coexplore.search.problem import Evaluation

__all__ = ["NAS_OBJECTIVES", "NasProblem", "Query"]

NAS_OBJECTIVES = ("accuracy", "latency")


@dataclass(frozen=True, slots=True)
class Query:
    """One accuracy evaluation: the architecture, its accuracy (percent) and latency (ms, NaN if unknown)."""

    arch: Any
    accuracy: float
    latency_ms: float


class NasProblem:
    """Maximise accuracy (and, as a second objective, minimise latency) under ``max_latency_ms``.

    Values are ``-accuracy`` (and latency in ms): every objective is minimised by the driver.
    """

    def __init__(self, *, space: ArchSpace[Any], accuracy: Evaluator, latency: Evaluator | None = None,
                 max_latency_ms: float | None = None, objectives: Sequence[str] = ("accuracy",)) -> None:
        objectives = tuple(objectives)
        bad = [o for o in objectives if o not in NAS_OBJECTIVES]
        if bad or not objectives or objectives[0] != "accuracy" or len(set(objectives)) != len(objectives):
            raise SpecError(f"objectives: must be 'accuracy' or 'accuracy,latency', got {','.join(objectives)!r}")
        if ("latency" in objectives or max_latency_ms is not None) and latency is None:
            raise SpecError("latency: a latency evaluator is needed for a latency objective or limit, got none")
        if max_latency_ms is not None and not max_latency_ms > 0:
            raise SpecError(f"max_latency_ms: must be > 0, got {max_latency_ms!r}")
        self.space, self.accuracy, self.latency = space, accuracy, latency
        self.max_latency_ms = max_latency_ms
        self._objectives = objectives
        self.queries: list[Query] = []
        self._known: dict[Any, float] = {}
        self.pruned = 0

    @property
    def objectives(self) -> tuple[str, ...]:
        return self._objectives

    @property
    def encoding(self) -> Categorical:
        """The space's decisions: what generic strategies search."""
        return self.space.encoding

    def archs(self, candidates: Any) -> list[Any]:
        """Architectures of a candidate list, or of a :class:`ChoiceBatch`'s decision vectors."""
        if isinstance(candidates, ChoiceBatch):
            self.encoding.check(candidates)
            return [self.space.from_choices(row.tolist()) for row in candidates.x]
        return list(candidates)

    def latency_ms(self, archs: Sequence[Any]) -> np.ndarray:
        """Latency of ``archs`` (NaN without a latency evaluator)."""
        if self.latency is None:
            return np.full(len(archs), np.nan)
        return np.asarray(self.latency.evaluate(list(archs)), dtype=np.float64)

    def screen(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Latency, feasibility and the reason for each infeasible one, without any accuracy query."""
        lat = self.latency_ms(archs)
        reasons = [self.space.problem(a) or "" for a in archs]
        if self.max_latency_ms is not None:
            for i, v in enumerate(lat):
                if not reasons[i] and v > self.max_latency_ms:
                    reasons[i] = "latency over the limit"
        return lat, np.array([not r for r in reasons], dtype=bool), reasons

    def feasible(self, archs: Sequence[Any]) -> np.ndarray:
        """Which ``archs`` meet every constraint (no accuracy query): strategies filter their pools with it."""
        return self.screen(archs)[1]

    def evaluate(self, candidates: Any) -> Evaluation:
        archs = self.archs(candidates)
        lat, ok, reasons = self.screen(archs)
        values = np.full((len(archs), len(self._objectives)), np.inf)
        todo = [i for i in np.flatnonzero(ok) if archs[i] not in self._known]
        if todo:
            fresh = np.asarray(self.accuracy.evaluate([archs[i] for i in todo]), dtype=np.float64)
            for i, acc in zip(todo, fresh, strict=True):
                if archs[i] not in self._known:
                    self._known[archs[i]] = float(acc)
                    self.queries.append(Query(archs[i], float(acc), float(lat[i])))
        for i in np.flatnonzero(ok):
            values[i, 0] = -self._known[archs[i]]
            if len(self._objectives) > 1:
                values[i, 1] = lat[i]
        self.pruned += int((~ok).sum())
        return Evaluation(values=values, feasible=ok, reasons=tuple(reasons))

    def describe(self, candidates: Any, i: int) -> dict[str, Any]:
        arch = self.archs(candidates.take([i]))[0] if isinstance(candidates, ChoiceBatch) else candidates[i]
        out: dict[str, Any] = {"arch": self.space.format(arch)}
        index = getattr(self.space, "index", None)
        if callable(index):
            out["arch_index"] = int(index(arch))
        return out
