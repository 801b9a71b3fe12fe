"""The inverse of NAAS's vector decoding: a legal mapping written as a real vector that decodes back to it.

:func:`encode_mappings` lets the NAAS mapper centre its search distribution on a known
mapping (the best of a random sample, or the best found so far), so CMA-ES starts in a
good region instead of at an arbitrary vector. Every gene is set the way
:mod:`coexplore.mapper.strategies._decode` reads it:

* ``order``: importances spaced by :data:`ORDER_STEP`, the outermost loop the largest;
* ``spatial``: dims unrolled at a level and axis get the largest importances (processed
  first) and the share that picks exactly their factor (a margin past "fill the array"
  when the factor is the largest that fits); the others a share that leaves them temporal;
* ``tiling``: per dim, the log of each level's share of the dim's log-bound, floored at
  ``log(eps)``: the largest floor (of :data:`SHARE_FLOORS`) whose vector decodes back to
  the mapping is kept, so genes stay within a few step sizes of each other;
* ``keep``: +-:data:`KEEP_MARGIN`.
"""

from __future__ import annotations

import math

import numpy as np

from coexplore.mapper.strategies._decode import GeneTables, NaasLayout, decode_vectors
from coexplore.mapping.encoding import MappingBatch

__all__ = ["ORDER_STEP", "canonical", "encode_mappings", "same"]

ORDER_STEP = 0.5  # importance gap between successive loops of a level
SPATIAL_MARGIN = 0.25
KEEP_MARGIN = 0.5
SHARE_FLOORS = (0.05, 0.01, 1e-3, 1e-6)
SHARE_CENTRE = 0.75  # decode: frac = clip(SHARE_CENTRE + g / 2, 0, 1) (keep in step with _decode)


def canonical(layout: NaasLayout, batch: MappingBatch) -> MappingBatch:
    """``batch`` with each level's loop order as the decoding writes it: the loops that have genes in the
    batch's order, then the others (bound 1, or a level without temporal loops) in ``DIMS`` order; the cost
    does not depend on where those go."""
    order = np.empty_like(batch.order)
    for b in range(len(batch)):
        for lv in range(batch.n_levels):
            has = layout.order_gene[lv] >= 0
            row = [d for d in batch.order[b, lv] if has[d]]
            order[b, lv] = row + [d for d in range(len(has)) if not has[d]]
    return MappingBatch(temporal=batch.temporal, order=order, spatial_x=batch.spatial_x, spatial_y=batch.spatial_y,
                        keep=batch.keep)


def same(a: MappingBatch, b: MappingBatch) -> bool:
    """Whether two batches hold the same mappings, field by field."""
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("temporal", "order", "spatial_x", "spatial_y",
                                                                        "keep"))


def encode_mappings(space: GeneTables, layout: NaasLayout, batch: MappingBatch, *,
                    share_scale: float = 1.0) -> np.ndarray:
    """float (B, n_genes): vectors that :func:`decode_vectors` turns back into the (legal) mappings of ``batch``.

    A mapping the decoding cannot reproduce exactly (it is not legal, or ties break
    otherwise) gets the vector of its closest reading, the one with the smallest floor.
    """
    out = np.zeros((len(batch), layout.n_genes))
    for b in range(len(batch)):
        one = canonical(layout, batch.take([b]))
        base = _fixed_genes(space, layout, one)
        x = base
        for eps in SHARE_FLOORS:
            x = base.copy()
            _tiling_genes(space, layout, one, x, eps, share_scale)
            if same(decode_vectors(space, layout, x[None], share_scale=share_scale), one):
                break
        out[b] = x
    return out


def _fixed_genes(space: GeneTables, layout: NaasLayout, one: MappingBatch) -> np.ndarray:
    """Order, spatial and keep genes of a one-row batch (tiling genes left at 0)."""
    x = np.zeros(layout.n_genes)
    n_lv = space.n_levels
    for lv in range(n_lv):
        genes = [(int(d), int(layout.order_gene[lv, d])) for d in one.order[0, lv] if layout.order_gene[lv, d] >= 0]
        for k, (_, g) in enumerate(genes):
            x[g] = ORDER_STEP * ((len(genes) - 1) / 2 - k)
        for k in range(3):
            g = int(layout.keep_gene[lv, k])
            if g >= 0:
                x[g] = KEEP_MARGIN if one.keep[0, lv, k] else -KEEP_MARGIN
    rem = space.bounds.copy()
    for lv in range(n_lv - 1, -1, -1):
        for axis in range(2):
            cap = int(space.fanout[lv, axis])
            if cap <= 1:
                continue
            sp = (one.spatial_x if axis == 0 else one.spatial_y)[0, lv]
            dims = [d for d in range(len(rem)) if layout.spatial_gene[lv, axis, d] >= 0 and rem[d] > 1]
            dims.sort(key=lambda d: (sp[d] <= 1, d))  # unrolled dims first
            for k, d in enumerate(dims):
                x[layout.spatial_gene[lv, axis, d]] = ORDER_STEP * ((len(dims) - 1) / 2 - k)
                f = int(sp[d])
                if f <= 1:
                    share = -2 * SHARE_CENTRE - SPATIAL_MARGIN
                elif f == max(c for c in range(1, min(cap, int(rem[d])) + 1) if rem[d] % c == 0):
                    share = 2 * (1 - SHARE_CENTRE) + SPATIAL_MARGIN
                else:
                    share = 2 * (math.log(f) / math.log(cap) - SHARE_CENTRE)
                x[layout.share_gene[lv, axis, d]] = share
                rem[d] //= max(f, 1)
                cap //= max(f, 1)
    return x


def _tiling_genes(space: GeneTables, layout: NaasLayout, one: MappingBatch, x: np.ndarray, eps: float,
                  share_scale: float) -> None:
    """Write the tiling genes of a one-row batch into ``x``: log shares floored at ``eps``."""
    slots = space.slots
    for d in space.active:
        if layout.tile_gene[d, 0] < 0:
            continue
        t = one.temporal[0, slots, d].astype(np.float64)
        r = float(np.prod(t))
        share = np.log(t) / math.log(r) if r > 1 else np.full(len(slots), 1 / len(slots))
        w = np.log(np.maximum(share, eps)) / share_scale
        for j in range(len(slots)):
            x[layout.tile_gene[d, j]] = w[j]

