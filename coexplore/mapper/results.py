"""Frozen results of mapping search: the chosen mapping of each layer and the network totals."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from coexplore.cost.results import CostBreakdown
from coexplore.cost.vector import VectorOpCost
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
    """The chosen mapping of every layer; ``level_names`` (the accelerator's, innermost first) label
    the mappings' levels in :meth:`to_record`."""

    network: str
    accelerator: str
    objective: str
    layers: tuple[LayerMapResult, ...]
    seconds: float
    mapper: str = "default"
    level_names: tuple[str, ...] = ()
    vector_ops: tuple[VectorOpCost, ...] = ()  # softmax / layer norm, priced by coexplore.cost.vector

    @property
    def optimal(self) -> bool:
        """Every layer's mapping is the optimum of its map space (the ``exhaustive`` mapper)."""
        return all(x.optimal for x in self.layers)

    def to_record(self) -> dict[str, Any]:
        """The JSON record of ``coexplore map --json`` (DESIGN.md); a padded layer has ``padded``
        ``{dim: size}`` and its mapping is for those sizes, otherwise ``padded`` is ``None``."""
        names = list(self.level_names) or None
        layers = [{
            "name": x.layer.name, "energy_pj": x.cost.energy_pj, "latency_cycles": x.cost.latency_cycles,
            "edp": x.cost.edp, "utilization": x.cost.utilization, "evaluated": x.evaluated, "optimal": x.optimal,
            "mapping": x.mapping.to_dict(names), "padded": dict(x.padded) if x.padded else None,
        } for x in self.layers]
        out = {"network": self.network, "accelerator": self.accelerator, "mapper": self.mapper,
               "objective": self.objective, "energy_pj": self.energy_pj, "latency_cycles": self.latency_cycles,
               "edp": self.edp, "seconds": self.seconds, "optimal": self.optimal, "layers": layers}
        if self.vector_ops:
            out["vector_ops"] = [{"name": v.name, "kind": v.kind, "elements": v.elements, "energy_pj": v.energy_pj,
                                  "latency_cycles": v.latency_cycles} for v in self.vector_ops]
        return out

    @property
    def energy_pj(self) -> float:
        return sum(x.cost.energy_pj for x in self.layers) + sum(x.energy_pj for x in self.vector_ops)

    @property
    def latency_cycles(self) -> int:
        return sum(x.cost.latency_cycles for x in self.layers) + sum(x.latency_cycles for x in self.vector_ops)

    @property
    def edp(self) -> float:
        return self.energy_pj * self.latency_cycles
