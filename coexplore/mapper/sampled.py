"""Sampling mapper: the best of many random legal mappings, evaluated in one batch.

It is the default mapping of ``coexplore evaluate`` (cheap, deterministic for a seed,
never illegal) and the baseline the guided mappers are measured against.
"""

from __future__ import annotations

import numpy as np

from coexplore.cost.model import evaluate, evaluate_batch
from coexplore.cost.results import objective_value
from coexplore.mapper.results import LayerMapResult
from coexplore.mapping.encoding import decode
from coexplore.mapping.sampling import sample_legal
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["map_layer_sampled"]


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
