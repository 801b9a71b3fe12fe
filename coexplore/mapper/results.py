"""Frozen results of mapping search: the chosen mapping of each layer and the network totals."""

from __future__ import annotations

from dataclasses import dataclass

from coexplore.cost.results import CostBreakdown
from coexplore.mapping.mapping import Mapping
from coexplore.spec.workload import Layer

__all__ = ["LayerMapResult", "NetworkMapResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerMapResult:
    layer: Layer
    mapping: Mapping
    cost: CostBreakdown
    evaluated: int
    mapper: str
    optimal: bool = False


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
