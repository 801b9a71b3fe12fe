"""Sampling mapper: the best of many random legal mappings, evaluated in one batch.

It is the default mapping of ``coexplore evaluate`` (cheap, deterministic for a seed,
never illegal) and the baseline the guided mappers are measured against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coexplore.cost.model import evaluate, evaluate_batch
from coexplore.cost.results import CostBreakdown, objective_value
from coexplore.mapping.encoding import decode
from coexplore.mapping.mapping import Mapping
from coexplore.mapping.sampling import sample_legal
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer, Network

__all__ = ["LayerMapResult", "NetworkMapResult", "map_layer_sampled", "map_network_sampled"]


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


def map_layer_sampled(
    layer: Layer, accelerator: Accelerator, *, samples: int = 4096, seed: int = 0, objective: str = "edp",
) -> LayerMapResult:
    """Best of ``samples`` random legal mappings of ``layer`` under ``objective``."""
    batch = sample_legal(layer, accelerator, samples, seed=seed)
    cost = evaluate_batch(layer, accelerator, batch, detail=False)
    values = objective_value(objective, energy_pj=cost.energy_pj, latency_cycles=cost.latency_cycles,
                             area_mm2=accelerator.area_mm2)
    best = int(np.argmin(values))
    mapping = decode(batch, best)
    return LayerMapResult(layer=layer, mapping=mapping, cost=evaluate(layer, accelerator, mapping),
                          evaluated=len(batch), mapper="sampled")


def map_network_sampled(
    network: Network, accelerator: Accelerator, *, samples: int = 4096, seed: int = 0, objective: str = "edp",
) -> NetworkMapResult:
    """Map every layer with :func:`map_layer_sampled`; identical shapes are mapped once."""
    import time

    t0 = time.perf_counter()
    cache: dict[tuple[int, ...], LayerMapResult] = {}
    out = []
    for layer in network.layers:
        key = layer.shape_key()
        if key not in cache:
            cache[key] = map_layer_sampled(layer, accelerator, samples=samples, seed=seed, objective=objective)
        hit = cache[key]
        out.append(LayerMapResult(layer=layer, mapping=hit.mapping,
                                  cost=evaluate(layer, accelerator, hit.mapping, check=False),
                                  evaluated=hit.evaluated, mapper=hit.mapper))
    return NetworkMapResult(network=network.name, accelerator=accelerator.name, objective=objective,
                            layers=tuple(out), seconds=time.perf_counter() - t0)
