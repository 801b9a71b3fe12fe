"""Frozen cost results: per level and dataspace counts and energies, layer and network totals.

Counts follow Timeloop's meaning: ``reads``, ``fills`` and ``updates`` are per utilized
instance; ``energy_pj`` of a dataspace is its total over all utilized instances.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["OBJECTIVES", "CostBreakdown", "DataspaceCost", "LevelCost", "NetworkCost", "SequentialTotals",
           "objective_value"]

OBJECTIVES = ("edp", "energy", "latency", "edap")


@dataclass(frozen=True, slots=True, kw_only=True)
class DataspaceCost:
    """Counts per utilized instance; ``energy_pj`` is the total, charged per utilized cluster."""

    reads: int
    fills: int
    updates: int
    utilized_instances: int
    tile_words: int
    energy_pj: float
    utilized_clusters: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelCost:
    name: str
    dataspaces: dict[str, DataspaceCost]
    leakage_pj: float
    utilized_instances: int

    @property
    def energy_pj(self) -> float:
        return self.leakage_pj + sum(d.energy_pj for d in self.dataspaces.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class CostBreakdown:
    """Cost of one layer under one mapping."""

    layer: str
    macs: int
    latency_cycles: int
    compute_cycles: int
    utilized_macs: int
    total_macs: int
    mac_energy_pj: float
    levels: tuple[LevelCost, ...]
    area_mm2: float
    clock_ghz: float = 1.0

    @property
    def utilization(self) -> float:
        return self.utilized_macs / self.total_macs

    @property
    def energy_pj(self) -> float:
        return self.mac_energy_pj + sum(lv.energy_pj for lv in self.levels)

    @property
    def edp(self) -> float:
        """Energy-delay product in pJ x cycles."""
        return self.energy_pj * self.latency_cycles

    @property
    def latency_s(self) -> float:
        return self.latency_cycles / (self.clock_ghz * 1e9)

    def energy_by_dataspace(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for lv in self.levels:
            for ds, c in lv.dataspaces.items():
                out[ds] = out.get(ds, 0.0) + c.energy_pj
        return out


class SequentialTotals:
    """Totals of a network whose layers, then its vector ops, run one after another (any template)."""

    __slots__ = ()
    layers: tuple[Any, ...]
    vector_ops: tuple[Any, ...]

    @property
    def energy_pj(self) -> float:
        return sum(x.energy_pj for x in self.layers) + sum(x.energy_pj for x in self.vector_ops)

    @property
    def latency_cycles(self) -> int:
        return sum(x.latency_cycles for x in self.layers) + sum(x.latency_cycles for x in self.vector_ops)

    @property
    def edp(self) -> float:
        return self.energy_pj * self.latency_cycles


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkCost(SequentialTotals):
    """Per-layer costs of a network; layers (then its vector ops) run one after another.

    ``vector_ops`` holds the costs of the network's MAC-free operations (softmax, layer norm:
    :class:`coexplore.cost.vector.VectorOpCost`); the totals include them.
    """

    network: str
    accelerator: str
    layers: tuple[CostBreakdown, ...]
    area_mm2: float
    mappings: tuple[object, ...] = field(default_factory=tuple)
    vector_ops: tuple[Any, ...] = field(default_factory=tuple)

    @property
    def macs(self) -> int:
        return sum(x.macs for x in self.layers)


def objective_value(name: str, *, energy_pj: Any, latency_cycles: Any, area_mm2: float) -> Any:
    """The scalar a mapper minimizes."""
    if name == "edp":
        return energy_pj * latency_cycles
    if name == "energy":
        return energy_pj
    if name == "latency":
        return latency_cycles
    if name == "edap":
        return energy_pj * latency_cycles * area_mm2
    raise ValueError(f"objective: must be one of {', '.join(OBJECTIVES)}, got {name!r}")
