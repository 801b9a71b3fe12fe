"""Mapping a whole network as a study: one trial maps one distinct layer shape.

A network mapping with a slow mapper (the exhaustive one takes minutes on a big layer)
is worth stopping and resuming; as a problem, its candidates are the distinct layer
shapes and :class:`LayerList` proposes them, biggest first, until all are mapped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.errors import InfeasibleError, SpecError
from coexplore.mapper.network import map_layer
from coexplore.search.candidates import CandidateList
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer, Network

__all__ = ["LayerList", "NetworkMappingProblem"]

_OBJECTIVES = ("edp", "energy", "latency")


class NetworkMappingProblem:
    """Candidates are indices into :attr:`layers` (the distinct shapes, biggest first)."""

    def __init__(self, *, network: Network, accelerator: Accelerator, mapper: str = "default",
                 objectives: tuple[str, ...] = ("edp",), seed: int = 0) -> None:
        bad = [o for o in objectives if o not in _OBJECTIVES]
        if bad or not objectives:
            raise SpecError(f"objectives: must be among {', '.join(_OBJECTIVES)}, got {list(objectives)}")
        shapes: dict[tuple[int, ...], Layer] = {}
        for layer in network.layers:
            shapes.setdefault(layer.shape_key(), layer)
        self.layers = sorted(shapes.values(), key=lambda x: -x.macs)
        self.network, self.accelerator, self.mapper, self.seed = network, accelerator, mapper, seed
        self._objectives = tuple(objectives)

    @property
    def objectives(self) -> tuple[str, ...]:
        return self._objectives

    def evaluate(self, candidates: Any) -> Evaluation:
        values = np.full((len(candidates), len(self._objectives)), np.inf)
        feasible = np.zeros(len(candidates), dtype=bool)
        reasons = [""] * len(candidates)
        for row, i in enumerate(candidates):
            layer = self.layers[int(i)]
            try:
                res = map_layer(layer, self.accelerator, mapper=self.mapper, objective=self._objectives[0],
                                seed=self.seed)
            except InfeasibleError as e:
                reasons[row] = str(e)
                continue
            metrics = {"energy": res.cost.energy_pj, "latency": float(res.cost.latency_cycles),
                       "edp": res.cost.energy_pj * res.cost.latency_cycles}
            values[row] = [metrics[o] for o in self._objectives]
            feasible[row] = True
        return Evaluation(values=values, feasible=feasible, reasons=tuple(reasons))

    def describe(self, candidates: Any, i: int) -> dict[str, Any]:
        layer = self.layers[int(candidates[i])]
        count = sum(1 for x in self.network.layers if x.shape_key() == layer.shape_key())
        return {"layer": layer.name, "shape": layer.spec_string(), "macs": layer.macs, "repeats": count,
                "mapper": self.mapper}


class LayerList(Strategy):
    """Proposes every layer index once, ``batch`` at a time; finished (and exhaustive) when all are done."""

    name = "layers"

    def __init__(self, *, count: int, batch: int = 4) -> None:
        if count < 1 or batch < 1:
            raise SpecError(f"layers: count and batch must be >= 1, got {count} and {batch}")
        self.count, self.batch, self._next = count, batch, 0

    def ask(self) -> CandidateList:
        out = CandidateList(range(self._next, min(self._next + self.batch, self.count)))
        self._next += len(out)
        return out

    @property
    def finished(self) -> bool:
        return self._next >= self.count

    @property
    def exhaustive(self) -> bool:
        return True
