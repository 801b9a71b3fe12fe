"""Mapping legality: every rule a mapping must obey on a given layer and accelerator.

:func:`problems` is the readable reference (one message per violated rule, naming the
field and the value); :func:`legal_mask` applies the same rules to a whole
:class:`MappingBatch` at once and must agree with it on every mapping. The rules:

1. one level mapping per accelerator level;
2. per dimension, the product over levels of temporal * spatial_x * spatial_y equals
   the layer bound (K and C per group);
3. per level, the product of spatial_x (spatial_y) factors is at most the level's
   fan-out along X (Y), :meth:`Accelerator.fanout`;
4. a spatial factor > 1 only on dimensions in the level's ``spatial_dims_x`` /
   ``spatial_dims_y``, and never on a reduction dimension (C, R, S) when the level has
   no ``spatial_reduction``;
5. ``keep`` is a subset of the level's ``keeps`` and a superset of its ``must_keep``;
   the outermost level keeps every dataspace;
6. a spatial container (``keeps`` empty) has no temporal loops (all factors 1);
7. capacity: the kept tiles of a level fit its ``size_words`` (``None`` = unbounded);
   for a quantized layer, in bits: each dataspace's words at its bits fit
   ``size_words * word_bits`` (:mod:`coexplore.spec.precision`).

A precision-scalable MAC array is checked as the layer sees it (:func:`~coexplore.spec.precision.bind`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from coexplore.errors import MappingError
from coexplore.mapping.encoding import MappingBatch
from coexplore.mapping.mapping import Mapping
from coexplore.mapping.tiles import tile_words_one
from coexplore.spec import precision
from coexplore.spec.dims import DATASPACES, DIMS, REDUCTION_DIMS
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["LevelTables", "legal_mask", "level_tables", "problems", "validate"]

_ALL_ORDER_BITS = (1 << len(DIMS)) - 1
_CHUNK = 4096


@dataclass(frozen=True, slots=True, eq=False)
class LevelTables:
    """An accelerator's per-level mapping constraints as arrays (L = number of levels).

    Attributes:
        fanout: int64 (L, 2): fan-out along X and Y.
        allowed_x, allowed_y: bool (L, 8): dimensions that may take a spatial factor > 1
            along X / Y (``spatial_dims_*`` minus C, R, S without ``spatial_reduction``).
        keeps, must_keep: bool (L, 3): may / must keep, ``DATASPACES`` order; the
            outermost level must keep all.
        container: bool (L,): the level keeps nothing and has no temporal loops.
        size_words: float64 (L,): capacity, ``inf`` when unbounded.
        size_bits: float64 (L,): capacity in bits (``size_words * word_bits``).
        data_bits: int64 (L, 3): bits of one word of each dataspace there; the
            capacity rule is ``sum(tile_words * data_bits) <= size_bits`` (the level's
            ``word_bits`` without precision, which is ``sum(tile_words) <= size_words``).
    """

    fanout: np.ndarray
    allowed_x: np.ndarray
    allowed_y: np.ndarray
    keeps: np.ndarray
    must_keep: np.ndarray
    container: np.ndarray
    size_words: np.ndarray
    size_bits: np.ndarray
    data_bits: np.ndarray


def level_tables(accelerator: Accelerator, layer: Layer | None = None) -> LevelTables:
    """The constraint arrays of ``accelerator`` as ``layer`` sees it (precision, bound MACs).

    Without ``layer``: the accelerator as given, capacities in its own words. Cached;
    the arrays are read-only.
    """
    if layer is None or (not layer.quantized and accelerator.mac.brick_bits is None):
        return _tables(accelerator, None)
    acc = precision.bind(layer, accelerator)
    return _tables(acc, precision.layer_bits(layer, acc))


@lru_cache(maxsize=64)
def _tables(accelerator: Accelerator, bits: tuple[int, int, int] | None) -> LevelTables:
    levels = accelerator.levels
    n = len(levels)

    def allowed(dims: frozenset[str], reduction: bool) -> list[bool]:
        return [d in dims and (reduction or d not in REDUCTION_DIMS) for d in DIMS]

    keeps = np.array([[ds in lv.keeps for ds in DATASPACES] for lv in levels], dtype=bool)
    must = np.array([[ds in lv.must_keep for ds in DATASPACES] for lv in levels], dtype=bool)
    must[n - 1] = True
    tables = LevelTables(
        fanout=np.array([accelerator.fanout(i) for i in range(n)], dtype=np.int64),
        allowed_x=np.array([allowed(lv.spatial_dims_x, lv.spatial_reduction) for lv in levels], dtype=bool),
        allowed_y=np.array([allowed(lv.spatial_dims_y, lv.spatial_reduction) for lv in levels], dtype=bool),
        keeps=keeps,
        must_keep=must,
        container=np.array([lv.is_container for lv in levels], dtype=bool),
        size_words=np.array(
            [np.inf if lv.size_words is None else float(lv.size_words) for lv in levels], dtype=np.float64
        ),
        size_bits=np.array(
            [np.inf if lv.size_bits is None else float(lv.size_bits) for lv in levels], dtype=np.float64
        ),
        data_bits=np.array(precision.data_bits(accelerator, bits), dtype=np.int64),
    )
    for f in fields(tables):
        getattr(tables, f.name).setflags(write=False)
    return tables


def _names(items: frozenset[str] | set[str], vocab: tuple[str, ...]) -> str:
    return "[" + ", ".join(x for x in vocab if x in items) + "]"


def problems(layer: Layer, accelerator: Accelerator, mapping: Mapping) -> list[str]:
    """Every rule ``mapping`` violates for ``layer`` on ``accelerator`` (empty when legal)."""
    accelerator = precision.bind(layer, accelerator)
    bits = precision.layer_bits(layer, accelerator)
    levels = accelerator.levels
    n = len(levels)
    if len(mapping.levels) != n:
        return [
            f"mapping.levels: must have one level mapping per accelerator level ({n}), "
            f"got {len(mapping.levels)}"
        ]
    out: list[str] = []
    bounds = layer.bounds()
    for d in DIMS:
        got = mapping.dim_product(d)
        if got != bounds[d]:
            out.append(
                f"mapping.levels[*].{d}: product of {d} factors (temporal * spatial_x * spatial_y) over all "
                f"levels must equal the layer bound {bounds[d]}, got {got}"
            )
    for i, (lv, lm) in enumerate(zip(levels, mapping.levels)):
        p = f"mapping.levels[{i}]"
        fan = accelerator.fanout(i)
        for axis, factors, dims, f in (
            ("X", lm.spatial_x, lv.spatial_dims_x, fan[0]),
            ("Y", lm.spatial_y, lv.spatial_dims_y, fan[1]),
        ):
            field = f"spatial_{axis.lower()}"
            prod = math.prod(factors)
            if prod > f:
                out.append(
                    f"{p}.{field}: product {prod} exceeds the fan-out {f} along {axis} of level {lv.name!r}"
                )
            for d, v in zip(DIMS, factors):
                if v <= 1:
                    continue
                if d not in dims:
                    out.append(
                        f"{p}.{field}.{d}: dimension {d} may not be unrolled along {axis} at level "
                        f"{lv.name!r} (allowed: {', '.join(x for x in DIMS if x in dims) or 'none'}), got {v}"
                    )
                if not lv.spatial_reduction and d in REDUCTION_DIMS:
                    out.append(
                        f"{p}.{field}.{d}: level {lv.name!r} has no spatial reduction, so reduction "
                        f"dimension {d} may not be unrolled, got {v}"
                    )
        if not lm.keep <= lv.keeps:
            out.append(
                f"{p}.keep: level {lv.name!r} can only keep {_names(lv.keeps, DATASPACES)}, "
                f"got {_names(lm.keep, DATASPACES)}"
            )
        if not lv.must_keep <= lm.keep:
            out.append(
                f"{p}.keep: level {lv.name!r} must keep {_names(lv.must_keep, DATASPACES)}, "
                f"got {_names(lm.keep, DATASPACES)}"
            )
        if i == n - 1 and lm.keep != frozenset(DATASPACES):
            out.append(
                f"{p}.keep: the outermost level {lv.name!r} must keep every dataspace, "
                f"got {_names(lm.keep, DATASPACES)}"
            )
        if lv.is_container:
            for d, v in zip(DIMS, lm.temporal):
                if v != 1:
                    out.append(
                        f"{p}.temporal.{d}: level {lv.name!r} is a spatial container and has no temporal "
                        f"loops (factor must be 1), got {v}"
                    )
    tiles = tile_words_one(layer, mapping)
    for i, (lv, lm) in enumerate(zip(levels, mapping.levels)):
        kept = [ds for ds in DATASPACES if ds in lm.keep]
        if lv.size_words is None or not kept:
            continue
        if bits is None:
            need = sum(tiles[i][ds] for ds in kept)
            if need > lv.size_words:
                parts = " + ".join(f"{ds} {tiles[i][ds]}" for ds in kept)
                out.append(f"mapping.levels[{i}] ({lv.name}): tile needs {need} words ({parts}) "
                           f"but size_words is {lv.size_words}")
            continue
        need_bits = sum(tiles[i][ds] * bits[DATASPACES.index(ds)] for ds in kept)
        if need_bits > lv.size_words * lv.word_bits:
            parts = " + ".join(f"{ds} {tiles[i][ds]} x {bits[DATASPACES.index(ds)]} b" for ds in kept)
            out.append(f"mapping.levels[{i}] ({lv.name}): tile needs {need_bits} bits ({parts}) but the level "
                       f"holds {lv.size_words * lv.word_bits} bits (size_words {lv.size_words} x {lv.word_bits} b)")
    return out


def validate(layer: Layer, accelerator: Accelerator, mapping: Mapping) -> None:
    """Raise :class:`MappingError` listing every problem if ``mapping`` is illegal."""
    found = problems(layer, accelerator, mapping)
    if found:
        raise MappingError(found)


def legal_mask(layer: Layer, accelerator: Accelerator, batch: MappingBatch) -> np.ndarray:
    """bool (B,): which mappings of ``batch`` obey every rule of :func:`problems`.

    Also rejects malformed rows that a :class:`Mapping` could not hold (factors < 1,
    an order that is not a permutation), so it is safe on hand-built arrays. One
    compiled pass per mapping: search calls this on every batch it evaluates.
    """
    b = len(batch)
    if batch.n_levels != len(accelerator.levels):
        return np.zeros(b, dtype=bool)
    tab = level_tables(accelerator, layer)
    out = np.empty(b, dtype=np.bool_)
    conv = np.array([layer.stride[0], layer.dilation[0], layer.stride[1], layer.dilation[1]], dtype=np.int64)
    _legal_kernel()(
        np.ascontiguousarray(batch.temporal), np.ascontiguousarray(batch.order), np.ascontiguousarray(batch.spatial_x),
        np.ascontiguousarray(batch.spatial_y), np.ascontiguousarray(batch.keep),
        np.array(layer.bounds_tuple(), dtype=np.int64), conv, tab.fanout, tab.allowed_x, tab.allowed_y, tab.keeps,
        tab.must_keep, tab.container, tab.size_bits, tab.data_bits, out,
    )
    return out


@lru_cache(maxsize=1)
def _legal_kernel():  # type: ignore[no-untyped-def]
    """Compile (once, cached on disk) the legality kernel; numba is imported only here."""
    from numba import njit

    @njit(cache=True, nogil=True)
    def kernel(temporal, order, sx, sy, keep, bounds, conv, fanout, allowed_x, allowed_y, keeps, must_keep,
               container, size_bits, data_bits, out):  # pragma: no cover - compiled
        n_b, n_l, n_d = temporal.shape
        sh, dh, sw, dw = conv[0], conv[1], conv[2], conv[3]
        cum = np.empty(n_d, dtype=np.int64)
        for b in range(n_b):
            ok = True
            for d in range(n_d):
                cum[d] = 1
            for lv in range(n_l):
                if not ok:
                    break
                seen = 0
                px = 1
                py = 1
                for k in range(n_d):
                    o = order[b, lv, k]
                    if o < 0 or o >= n_d:
                        ok = False
                    else:
                        seen |= 1 << o
                for d in range(n_d):
                    t, x, y = temporal[b, lv, d], sx[b, lv, d], sy[b, lv, d]
                    if t < 1 or x < 1 or y < 1:
                        ok = False
                        break
                    if (x > 1 and not allowed_x[lv, d]) or (y > 1 and not allowed_y[lv, d]):
                        ok = False
                    if container[lv] and t != 1:
                        ok = False
                    px *= x
                    py *= y
                    cum[d] *= t * x * y
                if not ok or seen != (1 << n_d) - 1 or px > fanout[lv, 0] or py > fanout[lv, 1]:
                    ok = False
                    break
                need = 0
                for q in range(3):
                    k_ = keep[b, lv, q]
                    if (k_ and not keeps[lv, q]) or (must_keep[lv, q] and not k_):
                        ok = False
                    if k_:
                        if q == 0:
                            need += cum[1] * cum[2] * cum[3] * cum[6] * cum[7] * data_bits[lv, 0]
                        elif q == 1:
                            need += cum[0] * cum[1] * cum[3] * (sh * (cum[4] - 1) + dh * (cum[6] - 1) + 1) \
                                * (sw * (cum[5] - 1) + dw * (cum[7] - 1) + 1) * data_bits[lv, 1]
                        else:
                            need += cum[0] * cum[1] * cum[2] * cum[4] * cum[5] * data_bits[lv, 2]
                if need > size_bits[lv]:
                    ok = False
            if ok:
                for d in range(n_d):
                    if cum[d] != bounds[d]:
                        ok = False
            out[b] = ok

    return kernel
