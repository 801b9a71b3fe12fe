"""Tile sizes: how many words of each dataspace a level holds under a mapping.

The tile of a dataspace at level l is its projection of every loop at level l and
below, temporal and spatial (level l's own spatial loops included: the level stores
the data of all the children it feeds). With t_d the product of those factors per
dimension:

* weights = tG * tK * tC * tR * tS
* outputs = tN * tG * tK * tP * tQ
* inputs  = tN * tG * tC * H * W, with H = stride_h*(tP-1) + dil_h*(tR-1) + 1 and
  W = stride_w*(tQ-1) + dil_w*(tS-1) + 1 (the bounding box, as Timeloop counts).
"""

from __future__ import annotations

import math

import numpy as np

from coexplore.mapping.encoding import MappingBatch
from coexplore.mapping.mapping import Mapping
from coexplore.spec.dims import DATASPACES, DIM_INDEX, DIMS
from coexplore.spec.workload import Layer

__all__ = ["inner_products", "tile_words", "tile_words_from_products", "tile_words_one"]

_N, _G, _K, _C, _P, _Q, _R, _S = (DIM_INDEX[d] for d in DIMS)


def inner_products(batch: MappingBatch) -> np.ndarray:
    """int64 (B, L, 8): per level and dimension, the product of all factors at that level and below."""
    return np.cumprod(batch.factors(), axis=1)


def tile_words_from_products(layer: Layer, t: np.ndarray) -> np.ndarray:
    """int64 (..., 3): tile words per dataspace from per-dimension products ``t`` of shape (..., 8)."""
    sh, sw = layer.stride
    dh, dw = layer.dilation
    t = np.asarray(t, dtype=np.int64)
    tn, tg, tk, tc = t[..., _N], t[..., _G], t[..., _K], t[..., _C]
    tp, tq, tr, ts = t[..., _P], t[..., _Q], t[..., _R], t[..., _S]
    h = sh * (tp - 1) + dh * (tr - 1) + 1
    w = sw * (tq - 1) + dw * (ts - 1) + 1
    out = np.empty((*t.shape[:-1], len(DATASPACES)), dtype=np.int64)
    ng = tn * tg
    out[..., 0] = tg * tk * tc * tr * ts
    out[..., 1] = ng * tc * h * w
    out[..., 2] = ng * tk * tp * tq
    return out


def tile_words(layer: Layer, batch: MappingBatch) -> np.ndarray:
    """int64 (B, L, 3): words of each dataspace's tile at each level, in ``DATASPACES`` order.

    The count ignores whether a level keeps the dataspace; mask with ``batch.keep``.
    """
    return tile_words_from_products(layer, inner_products(batch))


def tile_words_one(layer: Layer, mapping: Mapping) -> list[dict[str, int]]:
    """Scalar reference of :func:`tile_words` for one mapping: one dict per level, innermost first."""
    sh, sw = layer.stride
    dh, dw = layer.dilation
    t = dict.fromkeys(DIMS, 1)
    out = []
    for lm in mapping.levels:
        for d in DIMS:
            t[d] *= lm.factor(d)
        h = sh * (t["P"] - 1) + dh * (t["R"] - 1) + 1
        w = sw * (t["Q"] - 1) + dw * (t["S"] - 1) + 1
        out.append({
            "weights": math.prod(t[d] for d in "GKCRS"),
            "inputs": t["N"] * t["G"] * t["C"] * h * w,
            "outputs": math.prod(t[d] for d in "NGKPQ"),
        })
    return out
