"""Frozen results of mapping search: the chosen mapping of each layer and the network totals."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from coexplore.cost.results import CostBreakdown
from coexplore.mapping.mapping import Mapping
from coexplore.spec.workload import Layer

__all__ = ["LayerMapResult", "NetworkMapResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerMapResult:
    """The chosen mapping of ``layer``; with ``padded`` (dim, size) pairs the mapping and cost are
    those of the padded layer (see :mod:`coexplore.mapper.padding`)."""

    layer: Layer
    mapping: Mapping
    cost: CostBreakdown
    evaluated: int
    mapper: str
    optimal: bool = False
    padded: tuple[tuple[str, int], ...] = ()

    @property
    def mapped_layer(self) -> Layer:
        """The layer the mapping is for: ``layer`` itself, or its padded copy."""
        padded: dict[str, Any] = dict(self.padded)
        return replace(self.layer, **padded) if padded else self.layer


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkMapResult:
    network: str
    accelerator: str
    objective: str
    layers: tuple[LayerMapResult, ...]
    seconds: float

    @property
    def energy_pj(self) -> float:
        return sum(x.cost.energy_pj for x in self.layers)

    @property
    def latency_cycles(self) -> int:
        return sum(x.cost.latency_cycles for x in self.layers)

    @property
    def edp(self) -> float:
        return self.energy_pj * self.latency_cycles
