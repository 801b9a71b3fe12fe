"""Imperfect factorization by padding: map a slightly larger layer when it fills the array better.

Perfect factorization only splits a dimension into its divisors, so K = 1000 on a
16-wide array can unroll at most 8 (1000 = 8 x 125) and half the MACs idle. Padding K
to 1008 = 16 x 63 runs 0.8 % more (wasted) MACs on all 16 columns. The padded layer is
the honest hardware cost: the extra iterations are executed, their energy and cycles
are counted. :func:`padded_variants` lists the useful paddings of a layer; the mapper
maps each and keeps whichever (padded or not) is best for the objective.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from typing import Any

from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["padded_variants", "padding_of"]

_PADDABLE = ("K", "C", "P", "Q", "N", "G")
_ATTR = {"G": "groups"}  # G is the layer's group count; K and C are padded per group


def _axis_sizes(accelerator: Accelerator, dim: str) -> set[int]:
    """Fan-outs of the array axes that may unroll ``dim`` (the multiples worth padding to)."""
    sizes = set()
    for i, level in enumerate(accelerator.levels):
        fx, fy = accelerator.fanout(i)
        if fx > 1 and dim in level.spatial_dims_x:
            sizes.add(fx)
        if fy > 1 and dim in level.spatial_dims_y:
            sizes.add(fy)
    return sizes


def _options(bound: int, sizes: set[int], max_overhead: float) -> list[int]:
    """``bound`` and its round-ups to a multiple of an axis size (or of a divisor of one), within the overhead."""
    out = {bound}
    for size in sizes:
        # divisors of the axis (several dims can share it) and near-full factors
        for f in {f for f in range(2, size + 1) if size % f == 0 or 2 * f > size}:
            up = math.ceil(bound / f) * f
            if up <= bound * (1 + max_overhead):
                out.add(up)
    return sorted(out)


def padded_variants(layer: Layer, accelerator: Accelerator, *, max_overhead: float = 0.125,
                    limit: int = 8) -> list[Layer]:
    """Padded copies of ``layer`` (not the layer itself), fewest extra MACs first, at most ``limit``.

    Channels are padded per group (grouped layers keep their group count); each padded
    dimension grows by at most ``max_overhead`` and the whole layer's MACs by at most
    ``max_overhead`` too.
    """
    per_group = {"K": layer.K // layer.groups, "C": layer.C // layer.groups}

    def size(d: str) -> int:
        return per_group.get(d, getattr(layer, _ATTR.get(d, d)))

    choices = [_options(size(dim), _axis_sizes(accelerator, dim), max_overhead) for dim in _PADDABLE]
    variants = []
    for combo in itertools.product(*choices):
        new = dict(zip(_PADDABLE, combo, strict=True))
        grow = math.prod(new[d] / size(d) for d in _PADDABLE)
        if grow == 1 or grow > 1 + max_overhead:
            continue
        variants.append((grow, new))
    variants.sort(key=lambda v: (v[0], sorted(v[1].items())))
    out = []
    for _, new in variants[:limit]:
        fields: dict[str, Any] = {_ATTR.get(d, d): new[d] * new["G"] if d in per_group else new[d]
                                  for d in _PADDABLE}
        out.append(replace(layer, **fields))
    return out


def padding_of(original: Layer, padded: Layer) -> dict[str, int]:
    """The dimensions ``padded`` enlarged, with their padded sizes (empty when none)."""
    return {d: getattr(padded, a) for d in _PADDABLE
            if getattr(padded, a := _ATTR.get(d, d)) != getattr(original, a)}
