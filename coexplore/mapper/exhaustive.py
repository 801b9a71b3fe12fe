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

from coexplore.cost.bounds import choices, energy_lower_bound
from coexplore.mapping.encoding import MappingBatch, empty
from coexplore.mapping.space import CLASSES, MapConstraints, MapSpace, OrderFilter, Prune
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
            chunk=batch_size, bound=self._bound if bound else None, order_filter=self._orders if bound else None)
        self._choices = choices(len(accelerator.levels))
        self._current: tuple[np.ndarray, np.ndarray, np.ndarray, int] | None = None
        self._fits_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._final: np.ndarray | None = None  # per-choice bounds of the tilings the last final prune kept
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
        self._current = (sx, sy, keep, cycles)
        start = np.ones((1, self._levels, 8), dtype=np.int64)
        lb0 = self._scale(energy_lower_bound(self.layer, self.accelerator, start, sx, sy, keep, -1), cycles)
        if lb0[0] >= self.best:
            self.pruned_branches += 1
            return None

        def prune(factors: np.ndarray, complete: int) -> np.ndarray:
            if complete == self._levels - 1:  # keep the per-choice bounds for the order filter
                per_choice = self._scale(energy_lower_bound(self.layer, self.accelerator, factors, sx, sy, keep,
                                                            complete, per_choice=True), cycles)
                lb = per_choice.min(axis=0)
                self._final = per_choice[:, lb < self.best].T
            else:
                lb = self._scale(energy_lower_bound(self.layer, self.accelerator, factors, sx, sy, keep, complete),
                                 cycles)
            keep_rows = lb < self.best
            self.pruned_branches += int((~keep_rows).sum())
            return keep_rows

        return prune

    def _orders(self, tilings: np.ndarray) -> OrderFilter:
        """Drop the loop orders of complete tilings whose bound, for the stationary class each
        order puts innermost at each level, cannot beat the incumbent."""
        assert self._current is not None
        sx, sy, keep, cycles = self._current
        if self._final is not None and len(self._final) == len(tilings):
            per_choice = self._final  # computed by the final prune that kept exactly these tilings
        else:
            per_choice = self._scale(energy_lower_bound(self.layer, self.accelerator, tilings, sx, sy, keep,
                                                        self._levels - 1, per_choice=True), cycles).T  # (n, C)
        self._final = None

        def keep_pairs(sub: np.ndarray, tiling: np.ndarray, orders: np.ndarray) -> np.ndarray:
            key = id(orders)  # the space caches one orders array per pattern of non-empty classes
            if key not in self._fits_cache:
                code = _innermost_code(np.broadcast_to(tiling, orders.shape), orders)  # (k, L)
                fits = np.ones((len(orders), len(self._choices)), dtype=bool)
                for m in range(1, self._levels):
                    fits &= (code[:, m:m + 1] == 2) | (code[:, m:m + 1] == self._choices[None, :, m])
                self._fits_cache[key] = (orders, fits)  # keeps orders alive, so the id stays unique
            fits = self._fits_cache[key][1]
            # every choice consistent with an order bounds it: the largest is the tightest
            lb = np.where(fits[None, :, :], per_choice[sub][:, None, :], -np.inf).max(axis=2)  # (n, k)
            ok = lb < self.best
            self.pruned_branches += int((~ok).sum())
            return ok

        return keep_pairs

    @property
    def finished(self) -> bool:
        return self._done

    @property
    def exhaustive(self) -> bool:
        return True


_STATIONARY = {i for i, c in enumerate(CLASSES) if c == ("N", "P", "Q")}, {
    i for i, c in enumerate(CLASSES) if c == ("C", "R", "S")}
_CODE_OF_DIM = np.full(8, 2, dtype=np.int64)
for _k, _dims in enumerate(CLASSES):
    for _d in _dims:
        _CODE_OF_DIM["NGKCPQRS".index(_d)] = 0 if _k in _STATIONARY[0] else 1 if _k in _STATIONARY[1] else 2


def _innermost_code(temporal: np.ndarray, order: np.ndarray) -> np.ndarray:
    """int (rows, L): whose stationary class each level's innermost non-unit loop belongs to."""
    factors = np.take_along_axis(temporal, order.astype(np.int64), axis=2)  # in loop order, outermost first
    nonunit = factors > 1
    last = 7 - np.argmax(nonunit[:, :, ::-1], axis=2)  # position of the innermost non-unit loop
    dim = np.take_along_axis(order, last[:, :, None], axis=2)[:, :, 0]
    return np.where(nonunit.any(axis=2), _CODE_OF_DIM[dim], 2)
