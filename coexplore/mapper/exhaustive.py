"""Exhaustive mapping search: the proven optimum of the (pruned) map space, by branch and bound.

It first runs the default mapper to get a good incumbent, then enumerates
:class:`~coexplore.mapping.space.MapSpace` (whose prunings are documented there) spatial
assignment by spatial assignment, keep choice by keep choice, tiling level by tiling
level, and drops every branch whose lower bound over all completions and loop orders
(:func:`~coexplore.cost.bounds.energy_lower_bound`, times the branch's fixed
compute-bound latency) cannot beat the incumbent. What is left is evaluated exactly
with every loop order of the space. When it finishes, no mapping of the space is better
than what it returns (``SearchResult.exhausted``); a budget that stops it early says so.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from coexplore.cost.bounds import energy_lower_bound
from coexplore.mapping.encoding import MappingBatch, empty
from coexplore.mapping.space import MapConstraints, MapSpace, Prune
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["ExhaustiveMapper"]


class ExhaustiveMapper(Strategy):
    """Branch-and-bound enumeration of :class:`MapSpace` (set ``bound=False`` for plain enumeration)."""

    name = "exhaustive"

    def __init__(self, *, layer: Layer, accelerator: Accelerator, constraints: MapConstraints | None = None,
                 seed: int = 0, batch_size: int = 1 << 14, objective: str = "edp", bound: bool = True,
                 warm_start: bool = True) -> None:
        from coexplore.mapper.strategies.local import LocalSearchMapper

        self.layer, self.accelerator, self.objective = layer, accelerator, objective
        self.space = MapSpace(layer=layer, accelerator=accelerator, constraints=constraints)
        self.best = np.inf
        self.pruned_branches = 0
        self._warm = LocalSearchMapper(layer=layer, accelerator=accelerator, seed=seed) if warm_start else None
        self._chunks: Iterator[MappingBatch] = self.space.enumerate(
            chunk=batch_size, bound=self._bound if bound else None)
        self._done = False
        self._levels = len(accelerator.levels)

    def ask(self) -> MappingBatch:
        if self._warm is not None and not self._warm.finished:
            return self._warm.ask()
        try:
            return next(self._chunks)
        except StopIteration:
            self._done = True
            return empty(self._levels)

    def tell(self, candidates: MappingBatch, evaluation: Evaluation) -> None:
        if len(evaluation):
            self.best = min(self.best, float(evaluation.values[:, 0].min()))
        if self._warm is not None and not self._warm.finished:
            self._warm.tell(candidates, evaluation)

    def _scale(self, energy: np.ndarray, cycles: int) -> np.ndarray:
        """The objective from an energy (bound) and the compute-bound latency."""
        if self.objective == "energy":
            return energy
        if self.objective == "latency":
            return np.full_like(energy, float(cycles))
        edp = energy * cycles
        return edp * self.accelerator.area_mm2 if self.objective == "edap" else edp

    def _bound(self, sx: np.ndarray, sy: np.ndarray, keep: np.ndarray) -> Prune | None:
        cycles = self.layer.macs // int(np.prod(sx) * np.prod(sy))
        start = np.ones((1, self._levels, 8), dtype=np.int64)
        lb0 = self._scale(energy_lower_bound(self.layer, self.accelerator, start, sx, sy, keep, -1), cycles)
        if lb0[0] >= self.best:
            self.pruned_branches += 1
            return None

        def prune(factors: np.ndarray, complete: int) -> np.ndarray:
            lb = self._scale(energy_lower_bound(self.layer, self.accelerator, factors, sx, sy, keep, complete),
                             cycles)
            keep_rows = lb < self.best
            self.pruned_branches += int((~keep_rows).sum())
            return keep_rows

        return prune

    @property
    def finished(self) -> bool:
        return self._done

    @property
    def exhaustive(self) -> bool:
        return True
