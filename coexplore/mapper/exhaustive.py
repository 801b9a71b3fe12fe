"""Exhaustive mapping search: every mapping of the (pruned) map space, in batches.

When it finishes, the result is the proven optimum of :class:`~coexplore.mapping.space.MapSpace`
(whose prunings are documented there); a budget that stops it early says so
(``SearchResult.exhausted`` is False).
"""

from __future__ import annotations

from collections.abc import Iterator

from coexplore.mapping.encoding import MappingBatch, empty
from coexplore.mapping.space import MapConstraints, MapSpace
from coexplore.search.strategy import Strategy
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["ExhaustiveMapper"]


class ExhaustiveMapper(Strategy):
    """Enumerates :class:`MapSpace` chunk by chunk; learns nothing, skips nothing."""

    name = "exhaustive"

    def __init__(self, *, layer: Layer, accelerator: Accelerator, constraints: MapConstraints | None = None,
                 seed: int = 0, batch_size: int = 1 << 16) -> None:
        del seed  # enumeration order is fixed
        self.space = MapSpace(layer=layer, accelerator=accelerator, constraints=constraints)
        self._chunks: Iterator[MappingBatch] = self.space.enumerate(chunk=batch_size)
        self._done = False
        self._levels = len(accelerator.levels)

    def ask(self) -> MappingBatch:
        try:
            return next(self._chunks)
        except StopIteration:
            self._done = True
            return empty(self._levels)

    @property
    def finished(self) -> bool:
        return self._done

    @property
    def exhaustive(self) -> bool:
        return True
