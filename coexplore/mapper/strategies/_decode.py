"""Shared helpers of the guided mappers: map-space tables, repair, and NAAS's real-vector decoding.

Guided mappers (``naas``, ``genetic``) build mappings from real vectors or recombined
genomes; the result obeys the structural rules (factor products equal the bounds,
spatial factors within the fan-out and on allowed dimensions) by construction, and
:func:`repair` then makes it fit the buffers where that is cheap: while a level
overflows, a prime factor of the loop that shrinks its tile most moves from the level
(or below) to the next temporal level above. Moving a factor outward only shrinks
tiles below its new level, so one pass over the levels, innermost first, suffices.

NAAS vector layout (:class:`NaasLayout`, all genes real, "active" dims have bound > 1):

* ``order``: per temporal level, one importance per active dim; the loop order is the
  active dims by decreasing importance, the most important **outermost** (as NAAS
  sorts in decreasing order), inactive dims innermost.
* ``spatial``: per level and array axis with a fan-out, two genes per allowed active
  dim, an importance and a share ``g``. Levels outermost first, X before Y, the dims
  most important first each take the divisor of what is left of their bound that fits
  the remaining fan-out ``F`` and is nearest (in log) to ``F ** clip(0.75 + g / 2, 0, 1)``:
  ``g >= 0.5`` fills the array as far as the bound allows, ``g <= -1.5`` leaves the dim
  temporal. (Importance alone, always taking the largest fitting factor, could not
  express e.g. K=2 x P=7 on a 14-wide axis.)
* ``tiling``: per active dim, one weight per temporal level (innermost first); the
  softmax of the weights gives each level's share of ``log(bound left after spatial)``
  and, innermost first, each level takes the divisor of what is left whose cumulative
  product is nearest (in log) to the cumulative share; the outermost takes the rest.
  Every factorization is reachable.
* ``keep``: per optional (level, dataspace), kept when the gene is positive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from coexplore.mapping.encoding import MappingBatch
from coexplore.mapping.tiles import tile_words
from coexplore.mapping.validate import level_tables
from coexplore.spec.dims import DATASPACES, DIMS
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["GeneTables", "NaasLayout", "decode_vectors", "gene_tables", "naas_layout", "overflow", "repair"]

_ND = len(DIMS)
assert DIMS == ("N", "G", "K", "C", "P", "Q", "R", "S"), "the compiled kernels index dims by position"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class GeneTables:
    """The arrays the decoders and repairs need for one layer on one accelerator (L levels).

    Attributes:
        bounds: int64 (8,): loop bounds (K, C per group). coef: int64 (4,): stride_h,
            stride_w, dil_h, dil_w.
        fanout: int64 (L, 2). allowed: bool (L, 2, 8): dims each axis may unroll.
        keeps, must_keep: bool (L, 3). container: bool (L,). size_words: float64 (L,).
        slots: int64 (m,): the levels with temporal loops (non-containers), innermost first.
        up: int64 (L,): the nearest temporal level at or above each level.
        active: int64 (A,): dims with bound > 1.
    """

    n_levels: int
    bounds: np.ndarray
    coef: np.ndarray
    fanout: np.ndarray
    allowed: np.ndarray
    keeps: np.ndarray
    must_keep: np.ndarray
    container: np.ndarray
    size_words: np.ndarray
    slots: np.ndarray
    up: np.ndarray
    active: np.ndarray


def gene_tables(layer: Layer, accelerator: Accelerator) -> GeneTables:
    """The decoding tables of ``layer`` on ``accelerator``."""
    tab = level_tables(accelerator)
    n = len(accelerator.levels)
    bounds = np.array(layer.bounds_tuple(), dtype=np.int64)
    up = np.zeros(n, dtype=np.int64)
    nxt = n - 1  # the outermost level keeps everything, so it is never a container
    for lv in range(n - 1, -1, -1):
        if not tab.container[lv]:
            nxt = lv
        up[lv] = nxt
    return GeneTables(
        n_levels=n, bounds=bounds, coef=np.array([*layer.stride, *layer.dilation], dtype=np.int64),
        fanout=np.asarray(tab.fanout, dtype=np.int64), allowed=np.stack([tab.allowed_x, tab.allowed_y], axis=1),
        keeps=np.asarray(tab.keeps), must_keep=np.asarray(tab.must_keep), container=np.asarray(tab.container),
        size_words=np.asarray(tab.size_words, dtype=np.float64),
        slots=np.flatnonzero(~tab.container).astype(np.int64), up=up,
        active=np.flatnonzero(bounds > 1).astype(np.int64),
    )


def overflow(layer: Layer, accelerator: Accelerator, batch: MappingBatch) -> np.ndarray:
    """float (B,): the largest ratio of kept tile words to capacity over the levels (<= 1 when all fit)."""
    tab = level_tables(accelerator)
    need = np.where(batch.keep, tile_words(layer, batch), 0).sum(axis=2)
    return (need / tab.size_words).max(axis=1)


def repair(space: GeneTables, batch: MappingBatch) -> MappingBatch:
    """A copy of ``batch`` with the structural rules restored and overflowing tiles shrunk where possible.

    Temporal factors of containers move to the level above, spatial factors on
    disallowed dims or beyond the fan-out become temporal factors of the same level
    (or the nearest temporal level above), then capacity is repaired as the module
    docstring says. Factor products are preserved throughout.
    """
    temporal, sx, sy = batch.temporal.copy(), batch.spatial_x.copy(), batch.spatial_y.copy()
    _repair(space.coef, space.fanout, space.allowed, space.container, space.up, space.size_words,
            batch.keep, temporal, sx, sy)
    return MappingBatch(temporal=temporal, order=batch.order, spatial_x=sx, spatial_y=sy, keep=batch.keep)


@njit(cache=True, nogil=True)
def _smallest_prime(n):  # pragma: no cover - compiled
    p = 2
    while p * p <= n:
        if n % p == 0:
            return p
        p += 1
    return n


@njit(cache=True, nogil=True)
def _need(t, keep, coef):  # pragma: no cover - compiled
    """Words of the kept tiles for per-dim products ``t`` (8,), dims N0 G1 K2 C3 P4 Q5 R6 S7."""
    need = 0
    if keep[0]:
        need += t[1] * t[2] * t[3] * t[6] * t[7]
    if keep[1]:
        h = coef[0] * (t[4] - 1) + coef[2] * (t[6] - 1) + 1
        w = coef[1] * (t[5] - 1) + coef[3] * (t[7] - 1) + 1
        need += t[0] * t[1] * t[3] * h * w
    if keep[2]:
        need += t[0] * t[1] * t[2] * t[4] * t[5]
    return need


@njit(cache=True, nogil=True)
def _repair(coef, fanout, allowed, container, up, size, keep, temporal, sx, sy):  # pragma: no cover - compiled
    n, n_lv, nd = temporal.shape
    t = np.empty((n_lv, nd), np.int64)
    for b in range(n):
        for lv in range(n_lv):
            if container[lv]:
                for d in range(nd):
                    temporal[b, up[lv], d] *= temporal[b, lv, d]
                    temporal[b, lv, d] = 1
            for axis in range(2):
                sp = sx if axis == 0 else sy
                prod = 1
                for d in range(nd):
                    if sp[b, lv, d] > 1 and not allowed[lv, axis, d]:
                        temporal[b, up[lv], d] *= sp[b, lv, d]
                        sp[b, lv, d] = 1
                    prod *= sp[b, lv, d]
                while prod > fanout[lv, axis]:
                    big = 0
                    for d in range(nd):
                        if sp[b, lv, d] > sp[b, lv, big]:
                            big = d
                    p = _smallest_prime(sp[b, lv, big])
                    sp[b, lv, big] //= p
                    temporal[b, up[lv], big] *= p
                    prod //= p
        for d in range(nd):
            acc = 1
            for lv in range(n_lv):
                acc *= temporal[b, lv, d] * sx[b, lv, d] * sy[b, lv, d]
                t[lv, d] = acc
        for lv in range(n_lv - 1):
            if container[lv] or not np.isfinite(size[lv]):
                continue
            dest = up[lv + 1]
            need = _need(t[lv], keep[b, lv], coef)
            while need > size[lv]:
                best_d, best_src, best_kind, best_need = -1, -1, 0, need
                for d in range(nd):  # temporal sources first (they keep the array busy)
                    for s in range(lv, -1, -1):
                        if temporal[b, s, d] > 1:
                            p = _smallest_prime(temporal[b, s, d])
                            t[lv, d] //= p
                            got = _need(t[lv], keep[b, lv], coef)
                            t[lv, d] *= p
                            if got < best_need:
                                best_d, best_src, best_kind, best_need = d, s, 0, got
                            break
                if best_d < 0:
                    for d in range(nd):
                        for s in range(lv, -1, -1):
                            kind = 1 if sx[b, s, d] > 1 else (2 if sy[b, s, d] > 1 else 0)
                            if kind:
                                f = sx[b, s, d] if kind == 1 else sy[b, s, d]
                                p = _smallest_prime(f)
                                t[lv, d] //= p
                                got = _need(t[lv], keep[b, lv], coef)
                                t[lv, d] *= p
                                if got < best_need:
                                    best_d, best_src, best_kind, best_need = d, s, kind, got
                                break
                if best_d < 0:
                    break
                src = temporal if best_kind == 0 else (sx if best_kind == 1 else sy)
                p = _smallest_prime(src[b, best_src, best_d])
                src[b, best_src, best_d] //= p
                temporal[b, dest, best_d] *= p
                for l in range(best_src, dest):
                    t[l, best_d] //= p
                need = best_need


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class NaasLayout:
    """Where each gene of a NAAS vector goes (see the module docstring); -1 marks "no gene".

    Attributes:
        n_genes: Length of the vector.
        order_gene: int64 (L, 8). spatial_gene, share_gene: int64 (L, 2, 8): importance
            and share of each unrollable dim. tile_gene: int64 (8, m),
            m temporal levels innermost first. keep_gene: int64 (L, 3), with
            ``keep_fixed`` bool (L, 3) the keep of levels without a choice.
        labels: One readable name per gene, e.g. ``order[2].K``.
    """

    n_genes: int
    order_gene: np.ndarray
    spatial_gene: np.ndarray
    share_gene: np.ndarray
    tile_gene: np.ndarray
    keep_gene: np.ndarray
    keep_fixed: np.ndarray
    labels: tuple[str, ...]


def naas_layout(space: GeneTables) -> NaasLayout:
    """The gene layout of NAAS vectors for ``space``."""
    n_lv, m = space.n_levels, len(space.slots)
    labels: list[str] = []

    def gene(label: str) -> int:
        labels.append(label)
        return len(labels) - 1

    order_gene = np.full((n_lv, _ND), -1, dtype=np.int64)
    spatial_gene = np.full((n_lv, 2, _ND), -1, dtype=np.int64)
    share_gene = np.full((n_lv, 2, _ND), -1, dtype=np.int64)
    tile_gene = np.full((_ND, m), -1, dtype=np.int64)
    keep_gene = np.full((n_lv, 3), -1, dtype=np.int64)
    for lv in space.slots:
        for d in space.active:
            order_gene[lv, d] = gene(f"order[{lv}].{DIMS[d]}")
    for lv in range(n_lv - 1, -1, -1):
        for axis in range(2):
            if space.fanout[lv, axis] > 1:
                for d in space.active:
                    if space.allowed[lv, axis, d]:
                        spatial_gene[lv, axis, d] = gene(f"spatial_{'xy'[axis]}[{lv}].{DIMS[d]}")
                        share_gene[lv, axis, d] = gene(f"share_{'xy'[axis]}[{lv}].{DIMS[d]}")
    for d in space.active:
        for j, lv in enumerate(space.slots):
            tile_gene[d, j] = gene(f"tiling[{lv}].{DIMS[d]}")
    keep_fixed = space.must_keep.copy()
    for lv in range(n_lv - 1):
        for k, ds in enumerate(DATASPACES):
            if space.keeps[lv, k] and not space.must_keep[lv, k]:
                keep_gene[lv, k] = gene(f"keep[{lv}].{ds}")
    return NaasLayout(n_genes=len(labels), order_gene=order_gene, spatial_gene=spatial_gene,
                      share_gene=share_gene, tile_gene=tile_gene,
                      keep_gene=keep_gene, keep_fixed=keep_fixed, labels=tuple(labels))


def decode_vectors(space: GeneTables, layout: NaasLayout, x: np.ndarray, *, share_scale: float = 1.0) -> MappingBatch:
    """Decode real vectors ``x`` float (B, n_genes) into repaired mappings (see the module docstring).

    Args:
        space: The map-space tables.
        layout: The gene layout of ``x``.
        x: The vectors.
        share_scale: Multiplies tiling genes before the softmax (larger: sharper shares).
    """
    x = np.ascontiguousarray(np.atleast_2d(x), dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != layout.n_genes:
        raise ValueError(f"decode_vectors: x must have shape (B, {layout.n_genes}), got {x.shape}")
    b, n_lv = len(x), space.n_levels
    temporal = np.ones((b, n_lv, _ND), np.int64)
    sx = np.ones((b, n_lv, _ND), np.int64)
    sy = np.ones((b, n_lv, _ND), np.int64)
    order = np.empty((b, n_lv, _ND), np.int8)
    keep = np.empty((b, n_lv, 3), np.bool_)
    _decode(x, layout.order_gene, layout.spatial_gene, layout.share_gene, layout.tile_gene, layout.keep_gene,
            layout.keep_fixed, space.bounds, space.slots, space.fanout, float(share_scale),
            temporal, sx, sy, order, keep)
    _repair(space.coef, space.fanout, space.allowed, space.container, space.up, space.size_words,
            keep, temporal, sx, sy)
    return MappingBatch(temporal=temporal, order=order, spatial_x=sx, spatial_y=sy, keep=keep)


@njit(cache=True, nogil=True)
def _decode(x, order_gene, spatial_gene, share_gene, tile_gene, keep_gene, keep_fixed, bounds, slots, fanout, scale,
            temporal, sx, sy, order, keep):  # pragma: no cover - compiled
    n, n_lv, nd = temporal.shape
    m = slots.shape[0]
    rem = np.empty(nd, np.int64)
    vals = np.empty(nd, np.float64)
    idx = np.empty(nd, np.int64)
    share = np.empty(m, np.float64)
    for b in range(n):
        for lv in range(n_lv):
            for k in range(3):
                g = keep_gene[lv, k]
                keep[b, lv, k] = keep_fixed[lv, k] if g < 0 else x[b, g] > 0.0
            cnt = 0
            for d in range(nd):
                if order_gene[lv, d] >= 0:
                    idx[cnt] = d
                    vals[cnt] = -x[b, order_gene[lv, d]]
                    cnt += 1
            srt = np.argsort(vals[:cnt], kind="mergesort")
            pos = 0
            for k in range(cnt):
                order[b, lv, pos] = idx[srt[k]]
                pos += 1
            for d in range(nd):
                if order_gene[lv, d] < 0:
                    order[b, lv, pos] = d
                    pos += 1
        for d in range(nd):
            rem[d] = bounds[d]
        for lv in range(n_lv - 1, -1, -1):
            for axis in range(2):
                cap = fanout[lv, axis]
                if cap <= 1:
                    continue
                sp = sx if axis == 0 else sy
                cnt = 0
                for d in range(nd):
                    g = spatial_gene[lv, axis, d]
                    if g >= 0 and rem[d] > 1:
                        idx[cnt] = d
                        vals[cnt] = -x[b, g]
                        cnt += 1
                srt = np.argsort(vals[:cnt], kind="mergesort")
                for k in range(cnt):
                    d = idx[srt[k]]
                    frac = min(1.0, max(0.0, 0.75 + 0.5 * x[b, share_gene[lv, axis, d]]))
                    target = frac * np.log(cap)
                    f, best_err = 1, np.inf
                    for c in range(1, min(cap, rem[d]) + 1):
                        if rem[d] % c == 0:
                            err = abs(np.log(c) - target)
                            if err <= best_err + 1e-12:
                                f, best_err = c, err
                    sp[b, lv, d] = f
                    rem[d] //= f
                    cap //= f
        for d in range(nd):
            r = rem[d]
            if r == 1 or m == 0:
                continue
            if tile_gene[d, 0] < 0:  # no genes: everything outermost
                temporal[b, slots[m - 1], d] = r
                continue
            top = -np.inf
            for j in range(m):
                share[j] = scale * x[b, tile_gene[d, j]]
                top = max(top, share[j])
            tot = 0.0
            for j in range(m):
                share[j] = np.exp(share[j] - top)
                tot += share[j]
            log_r = np.log(r)
            cum = 0.0
            cp = 1
            for j in range(m - 1):
                cum += share[j] / tot
                target = cum * log_r
                left = r // cp
                best_f, best_err = 1, np.inf
                i = 1
                while i * i <= left:
                    if left % i == 0:
                        for f in (i, left // i):
                            err = abs(np.log(cp * f) - target)
                            if err < best_err - 1e-12:
                                best_f, best_err = f, err
                    i += 1
                temporal[b, slots[j], d] = best_f
                cp *= best_f
            temporal[b, slots[m - 1], d] = r // cp
