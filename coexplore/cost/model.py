"""The cost model's public face: evaluate one mapping, a batch of mappings, or a network.

All arithmetic happens in :mod:`coexplore.cost.kernels`; this module turns specs into
the kernel's arrays and the kernel's arrays into frozen results.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coexplore.cost import kernels
from coexplore.cost.kernels import STATIONARY_STEP_RESETS
from coexplore.cost.results import CostBreakdown, DataspaceCost, LevelCost, NetworkCost
from coexplore.errors import SpecError
from coexplore.mapping.encoding import MappingBatch, encode
from coexplore.mapping.mapping import Mapping
from coexplore.mapping.tiles import tile_words_one
from coexplore.mapping.validate import validate
from coexplore.spec import precision
from coexplore.spec.dims import DATASPACES
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer, Network

__all__ = ["STATIONARY_STEP_RESETS", "BatchCost", "bound", "evaluate", "evaluate_batch", "evaluate_network"]


@dataclass(frozen=True, slots=True)
class BatchCost:
    """Costs of B mappings of one layer; arrays of shape (B,) unless noted."""

    energy_pj: np.ndarray
    latency_cycles: np.ndarray
    compute_cycles: np.ndarray
    counts: np.ndarray  # int64 (B, L, 3, 3): reads, fills, updates per utilized instance
    utilized: np.ndarray  # int64 (B, L): utilized instances per level

    @property
    def edp(self) -> np.ndarray:
        return self.energy_pj * self.latency_cycles

    def __len__(self) -> int:
        return len(self.energy_pj)


@functools.lru_cache(maxsize=256)
def _level_arrays(acc: Accelerator, bits: tuple[int, int, int] | None) -> tuple[np.ndarray, ...]:
    """The kernel's per-level arrays for ``acc`` and a layer's (weights, inputs, outputs) bits."""
    lv = acc.levels

    def arr(f, dtype=np.float64):  # type: ignore[no-untyped-def]
        return np.array([f(x) for x in lv], dtype=dtype)

    word = arr(lambda x: x.word_bits)
    return (
        np.array(precision.pack(acc, bits), dtype=np.int64),
        arr(lambda x: x.read_pj),
        arr(lambda x: x.write_pj),
        arr(lambda x: x.update_pj),
        arr(lambda x: x.leak_pj),
        arr(lambda x: x.clusters, np.int64),
        arr(lambda x: x.multicast, np.bool_),
        arr(lambda x: x.read_bandwidth_words_per_cycle or 0.0),
        arr(lambda x: x.write_bandwidth_words_per_cycle or 0.0),
        arr(lambda x: x.shared_bandwidth_words_per_cycle or 0.0),
        np.array(precision.data_bits(acc, bits), dtype=np.float64) / word[:, None],
    )


def bound(layer: Layer, accelerator: Accelerator) -> tuple[Accelerator, tuple[int, int, int] | None]:
    """The accelerator as ``layer`` sees it and the layer's bits; refuses a precision it cannot run."""
    if not layer.quantized:
        return precision.bind(layer, accelerator), None
    acc = precision.bind(layer, accelerator)
    problems = precision.precision_problems(layer, acc)
    if problems:
        raise SpecError(problems)
    return acc, precision.layer_bits(layer, acc)


def evaluate_batch(
    layer: Layer,
    accelerator: Accelerator,
    batch: MappingBatch,
    *,
    throttle: bool = False,
    stationary_step_resets: bool = STATIONARY_STEP_RESETS,
    detail: bool = True,
    valid: np.ndarray | None = None,
) -> BatchCost:
    """Cost of every mapping in ``batch`` (assumed legal: see ``mapping.validate.legal_mask``).

    With ``detail=False`` only energy and latency are kept (``counts``/``utilized`` are
    empty), which is what a search needs and is faster. ``valid`` (bool, one per row)
    skips the rows that are False: their energy is ``inf`` and their latency 0.
    """
    accelerator, bits = bound(layer, accelerator)
    n, n_l = batch.temporal.shape[:2]
    if n_l != len(accelerator.levels):
        raise ValueError(f"batch has {n_l} levels, accelerator {accelerator.name!r} has {len(accelerator.levels)}")
    rows = n if detail else 1
    counts = np.empty((rows, n_l, 3, 3), dtype=np.int64)
    utilized = np.empty((rows, n_l), dtype=np.int64)
    compute = np.empty(n, dtype=np.int64)
    latency = np.empty(n, dtype=np.int64)
    energy = np.empty(n, dtype=np.float64)
    conv = np.array([layer.stride[0], layer.dilation[0], layer.stride[1], layer.dilation[1]], dtype=np.int64)
    kernels.evaluate_arrays(  # type: ignore[call-arg]
        np.ascontiguousarray(batch.temporal, dtype=np.int64),
        np.ascontiguousarray(batch.order, dtype=np.int8),
        np.ascontiguousarray(batch.spatial_x, dtype=np.int64),
        np.ascontiguousarray(batch.spatial_y, dtype=np.int64),
        np.ascontiguousarray(batch.keep, dtype=np.bool_),
        conv, *kernels.rank_tables(layer.stride, layer.dilation),
        *_level_arrays(accelerator, bits), throttle,
        layer.macs, accelerator.mac.pj, stationary_step_resets,
        counts, utilized, compute, latency, energy, detail,
        np.ones(n, dtype=np.bool_) if valid is None else np.ascontiguousarray(valid, dtype=np.bool_),
    )
    if not detail:
        counts, utilized = counts[:0], utilized[:0]
    return BatchCost(energy_pj=energy, latency_cycles=latency, compute_cycles=compute,
                     counts=counts, utilized=utilized)


def evaluate(
    layer: Layer,
    accelerator: Accelerator,
    mapping: Mapping,
    *,
    check: bool = True,
    throttle: bool = False,
    stationary_step_resets: bool = STATIONARY_STEP_RESETS,
) -> CostBreakdown:
    """Cost of one mapping with the per-level, per-dataspace breakdown.

    A precision-scalable MAC array is seen at the layer's bits (:func:`bound`): its
    ``total_macs`` then counts the fused products per cycle, not the physical units.
    """
    accelerator, bits = bound(layer, accelerator)
    if check:
        validate(layer, accelerator, mapping)
    bc = evaluate_batch(layer, accelerator, encode([mapping]), throttle=throttle,
                        stationary_step_resets=stationary_step_resets)
    tiles = tile_words_one(layer, mapping)
    packs = precision.pack(accelerator, bits)
    levels = []
    for i, lv in enumerate(accelerator.levels):
        util = int(bc.utilized[0, i])
        dss = {}
        for t, ds in enumerate(DATASPACES):
            if ds not in mapping.levels[i].keep:
                continue
            r, f, u = (int(x) for x in bc.counts[0, i, t])
            b = packs[i][t]
            e = (-(-r // b)) * lv.read_pj + (-(-f // b)) * lv.write_pj \
                + (-(-u // b)) * lv.update_pj
            clusters = min(util, lv.clusters)
            dss[ds] = DataspaceCost(reads=r, fills=f, updates=u, utilized_instances=util,
                                    utilized_clusters=clusters, tile_words=int(tiles[i][ds]),
                                    energy_pj=e * clusters)
        leak_inst = util if mapping.levels[i].keep else 1
        levels.append(LevelCost(name=lv.name, dataspaces=dss, utilized_instances=util,
                                leakage_pj=lv.leak_pj * int(bc.latency_cycles[0]) * leak_inst))
    util_macs = int(np.prod([np.prod(lm.spatial_x) * np.prod(lm.spatial_y) for lm in mapping.levels]))
    return CostBreakdown(
        layer=layer.name, macs=layer.macs, latency_cycles=int(bc.latency_cycles[0]),
        compute_cycles=int(bc.compute_cycles[0]), utilized_macs=util_macs,
        total_macs=accelerator.mac.instances, mac_energy_pj=layer.macs * accelerator.mac.pj,
        levels=tuple(levels), area_mm2=accelerator.area_mm2, clock_ghz=accelerator.clock_ghz,
    )


def evaluate_network(
    network: Network, accelerator: Accelerator, mappings: Sequence[Mapping], *, throttle: bool = False,
) -> NetworkCost:
    """Per-layer costs of ``network`` with one mapping per layer, plus its vector ops (:mod:`.vector`)."""
    from coexplore.cost.vector import price_vector_op

    if len(mappings) != len(network.layers):
        raise ValueError(f"need one mapping per layer: {len(network.layers)} layers, got {len(mappings)}")
    layers = tuple(evaluate(layer, accelerator, m, throttle=throttle)
                   for layer, m in zip(network.layers, mappings, strict=True))
    return NetworkCost(network=network.name, accelerator=accelerator.name, layers=layers,
                       area_mm2=accelerator.area_mm2, mappings=tuple(mappings),
                       vector_ops=tuple(price_vector_op(op, accelerator, throttle=throttle)
                                      for op in network.vector_ops))
