"""The map space of a layer on an accelerator: its size, its pruning, and its enumeration.

A point of the space is a spatial assignment (factors per level and mesh axis, within
fan-out and the allowed dimensions), a temporal tiling (an ordered factorization of
what is left of each dimension over the levels), a loop order per level and a keep
choice per level. :class:`MapSpace` enumerates it in :class:`MappingBatch` chunks with
three prunings that are documented, deterministic and, except the last, exact:

* **capacity** -- a tiling whose tiles overflow a level is dropped while it is built,
  level by level, so none of its extensions is ever generated (exact);
* **unit loops** -- loops of factor 1 do nothing, so orders only permute non-unit loops,
  and the innermost level's order never changes any count (exact);
* **relevance classes** -- loops are grouped by which dataspaces they index: {K},
  {C, R, S}, {N, P, Q}, {G}; orders permute the classes and keep a fixed order inside
  a class (outer to inner: C R S, N P Q). For weights and outputs this is exact (their
  tiles never slide, so only the innermost relevant loop matters); for inputs it fixes
  which of rows/columns/channels slides innermost. ``order_pruning="none"`` enumerates
  every permutation of the non-unit loops instead.

Constraints are data (:class:`MapConstraints`): allowed temporal dims, fixed factors,
fixed orders and keeps per level, and a minimum spatial utilization, in the spirit of
Timeloop's mapping constraints; :func:`dataflow_constraints` builds them for the
weight-, output-, input- and row-stationary families.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from coexplore.errors import SpecError
from coexplore.mapping.constraints import LevelConstraint, MapConstraints, dataflow_constraints
from coexplore.mapping.encoding import MappingBatch
from coexplore.mapping.factors import divisors
from coexplore.mapping.tiles import tile_words_from_products
from coexplore.mapping.validate import level_tables
from coexplore.spec import precision
from coexplore.spec.dims import DATASPACES, DIM_INDEX, DIMS
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

Prune = Callable[[np.ndarray, int], np.ndarray]
OrderFilter = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (indices, tiling, orders) -> (n, k)

__all__ = ["CLASSES", "LevelConstraint", "MapConstraints", "MapSpace", "SpaceSize", "dataflow_constraints"]

ND = len(DIMS)
# Relevance classes (which dataspaces a dim indexes) with the fixed inner order, outer to inner.
CLASSES: tuple[tuple[str, ...], ...] = (("G",), ("K",), ("C", "R", "S"), ("N", "P", "Q"))
_CLASS_OF = np.array([next(i for i, c in enumerate(CLASSES) if d in c) for d in DIMS])


@dataclass(frozen=True, slots=True)
class SpaceSize:
    """How big the space is at each stage of pruning."""

    spatial: int
    tilings: int
    mappings: int
    unpruned_estimate: float


class MapSpace:
    """The map space of ``layer`` on ``accelerator`` under ``constraints``."""

    def __init__(self, *, layer: Layer, accelerator: Accelerator, constraints: MapConstraints | None = None) -> None:
        self.layer = layer
        self.accelerator = precision.bind(layer, accelerator)  # a precision-scalable array at the layer's bits
        self.constraints = constraints or MapConstraints()
        self._class_order_cache: dict[tuple[int, int], np.ndarray] = {}
        self._combined_cache: dict[tuple[int, ...], np.ndarray] = {}
        names = [lv.name for lv in accelerator.levels]
        unknown = sorted(set(self.constraints.levels) - set(names))
        if unknown:
            raise SpecError(f"constraints.levels: unknown level(s) {unknown}, valid: {names}")

    # -- pieces -------------------------------------------------------------------
    def _level_constraint(self, i: int) -> LevelConstraint:
        return self.constraints.levels.get(self.accelerator.levels[i].name, LevelConstraint())

    def temporal_allowed(self) -> np.ndarray:
        """bool (L, 8): which dims may take a temporal factor > 1 at each level."""
        tab = level_tables(self.accelerator, self.layer)
        out = np.ones((len(self.accelerator.levels), ND), dtype=bool)
        for i in range(len(out)):
            if tab.container[i]:
                out[i] = False
            lc = self._level_constraint(i)
            if lc.temporal_dims is not None:
                out[i] &= np.array([d in lc.temporal_dims for d in DIMS])
        return out

    def spatial_options(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every spatial assignment as (spatial_x, spatial_y) int64 (L, 8) arrays."""
        tab = level_tables(self.accelerator, self.layer)
        bounds = np.array(self.layer.bounds_tuple(), dtype=np.int64)
        n_l = len(self.accelerator.levels)
        per_slot: list[list[tuple[int, int, dict[int, int]]]] = []
        for lv in range(n_l):
            for axis, allowed in ((0, tab.allowed_x[lv]), (1, tab.allowed_y[lv])):
                fan = int(tab.fanout[lv, axis])
                dims = [d for d in range(ND) if allowed[d] and bounds[d] > 1]
                if fan <= 1 or not dims:
                    continue
                opts: list[dict[int, int]] = [{}]
                for d in dims:
                    opts = [{**o, d: f} for o in opts for f in divisors(int(bounds[d]))
                            if f * math.prod(o.values()) <= fan]
                per_slot.append([(lv, axis, {d: f for d, f in o.items() if f > 1}) for o in opts])
        out = []
        combos = []
        for combo in itertools.product(*per_slot):
            sx = np.ones((n_l, ND), np.int64)
            sy = np.ones((n_l, ND), np.int64)
            used = np.ones(ND, np.int64)
            for lv, axis, o in combo:
                for d, f in o.items():
                    (sx if axis == 0 else sy)[lv, d] *= f
                    used[d] *= f
            if np.any(bounds % used):
                continue
            util = int(np.prod(sx) * np.prod(sy))
            combos.append((util, sx, sy))
        floor = self.constraints.min_utilization * self.accelerator.mac.instances
        combos.sort(key=lambda c: -c[0])  # best-utilized first: good mappings early in a budget
        for util, sx, sy in combos:
            if util >= floor:
                out.append((sx, sy))
        return out

    def tilings(self, sx: np.ndarray, sy: np.ndarray, *, keep: np.ndarray | None = None, prune: Prune | None = None,
                chunk: int = 1 << 15) -> Iterator[np.ndarray]:
        """Every temporal tiling that fits, for one spatial assignment, as int64 (n, L, 8) chunks.

        Built level by level from the innermost, one dimension at a time; a partial tiling
        that already overflows a level (counting the dataspaces of ``keep``, by default
        those the level must keep) is dropped with all its extensions, since tiles only
        grow. ``prune(factors, complete_level)`` may drop more (branch and bound). Depth
        first with bounded chunks, so memory stays small however large the space is.
        """
        n_l = len(self.accelerator.levels)
        tab = level_tables(self.accelerator, self.layer)
        bounds = np.array(self.layer.bounds_tuple(), dtype=np.int64)
        spatial = sx * sy
        rem = bounds // np.prod(spatial, axis=0)
        ctx = _TilingContext(
            layer=self.layer, rem=rem, sp_cum=np.cumprod(spatial, axis=0), allowed=self.temporal_allowed(),
            divs=[np.array(divisors(int(r)), dtype=np.int64) for r in rem],
            keep=tab.must_keep if keep is None else keep, size=tab.size_bits, data_bits=tab.data_bits,
            fixed=[{DIM_INDEX[d]: f for d, f in self._level_constraint(i).factors.items()} for i in range(n_l)],
        )
        slots = [(lv, d) for lv in range(n_l - 1) for d in range(ND)
                 if ctx.allowed[lv, d] or d in ctx.fixed[lv]]
        start = np.ones((1, n_l, ND), dtype=np.int64)
        yield from _dfs(ctx, slots, 0, start, np.ones((1, ND), dtype=np.int64), chunk, prune)

    def orders(self, temporal: np.ndarray) -> list[np.ndarray]:
        """For one tiling (L, 8): per level, int8 (k, 8) loop orders (outermost first)."""
        out = []
        n_l = temporal.shape[0]
        for lv in range(n_l):
            lc = self._level_constraint(lv)
            nonunit = [d for d in range(ND) if temporal[lv, d] > 1]
            if lc.order is not None:
                fixed = [DIM_INDEX[d] for d in lc.order]
                rest = [d for d in range(ND) if d not in fixed]
                out.append(np.array([fixed + rest], dtype=np.int8))
                continue
            if lv == 0 or len(nonunit) <= 1:
                perms = [tuple(nonunit)]
            elif self.constraints.order_pruning == "none":
                perms = list(itertools.permutations(nonunit))
            else:
                groups = [[d for d in nonunit if _CLASS_OF[d] == c] for c in range(len(CLASSES))]
                groups = [sorted(g) for g in groups if g]  # DIMS order = fixed inner order
                perms = [tuple(d for g in p for d in g) for p in itertools.permutations(groups)]
            rows = []
            for p in perms:
                rest = [d for d in range(ND) if d not in p]
                rows.append(list(p) + rest)
            out.append(np.array(rows, dtype=np.int8))
        return out

    def keep_options(self) -> np.ndarray:
        """bool (k, L, 3): every keep choice the levels (and constraints) allow."""
        tab = level_tables(self.accelerator, self.layer)
        per_level = []
        for lv in range(len(self.accelerator.levels)):
            lc = self._level_constraint(lv)
            if lc.keep is not None:
                per_level.append([np.array([ds in lc.keep for ds in DATASPACES])])
                continue
            optional = [t for t in range(3) if tab.keeps[lv, t] and not tab.must_keep[lv, t]]
            opts = []
            for bits in itertools.product([False, True], repeat=len(optional)):
                k = tab.must_keep[lv].copy()
                for t, b in zip(optional, bits, strict=True):
                    k[t] = b
                opts.append(k)
            per_level.append(opts)
        return np.array([np.stack(c) for c in itertools.product(*per_level)], dtype=bool)

    # -- the whole space ------------------------------------------------------------
    def enumerate(
        self, *, chunk: int = 1 << 16,
        bound: Callable[[np.ndarray, np.ndarray, np.ndarray], Prune | None] | None = None,
        order_filter: Callable[[np.ndarray], OrderFilter] | None = None,
    ) -> Iterator[MappingBatch]:
        """Every mapping of the (pruned) space, in batches of about ``chunk`` rows.

        ``bound(sx, sy, keep)`` may return a prune function for that spatial assignment
        and keep choice (or None to skip it entirely): branch and bound over the tilings.
        ``order_filter(tilings)`` may return a function ``(tiling indices, representative
        tiling, orders) -> bool (n, k)`` saying which (tiling, order) pairs of a group of
        those complete tilings to keep (branch and bound over loop orders); the tilings of a
        group share their non-empty relevance classes, so one tiling represents them.
        """
        buf: list[tuple[np.ndarray, ...]] = []
        rows = 0
        for sx, sy in self.spatial_options():
            for kk in self.keep_options():
                prune = None
                if bound is not None:
                    prune = bound(sx, sy, kk)
                    if prune is None:
                        continue
                for part in self.tilings(sx, sy, keep=kk, prune=prune, chunk=max(1, chunk // 16)):
                    keep_pairs = order_filter(part) if order_filter is not None else None
                    for temporal, ordarr in self._expand_orders(part, chunk, keep_pairs):
                        n_o = len(ordarr)
                        buf.append((
                            temporal, ordarr,
                            np.broadcast_to(sx, (n_o, *sx.shape)), np.broadcast_to(sy, (n_o, *sy.shape)),
                            np.broadcast_to(kk, (n_o, *kk.shape)),
                        ))
                        rows += n_o
                        if rows >= chunk:
                            yield _stack(buf)
                            buf, rows = [], 0
        if buf:
            yield _stack(buf)

    def _expand_orders(self, tilings: np.ndarray, chunk: int,
                       keep_pairs: OrderFilter | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every tiling of ``tilings`` (n, L, 8) with each of its orders, as (temporal, order) blocks.

        With class pruning a level's order is a permutation of its non-empty relevance
        classes (the unit loops of a class ride along: they change nothing), so tilings
        with the same pattern of non-empty classes share their order combinations and
        are expanded together, in blocks of about ``chunk`` rows (at least one tiling):
        a batch that fits in the cache evaluates several times faster than one that does not.
        ``keep_pairs`` (see :meth:`enumerate`) drops pairs before they are built.
        """
        if self.constraints.order_pruning == "none":
            t_parts, o_parts, n_rows = [], [], 0
            for i, t in enumerate(tilings):
                o = self._order_rows(t)
                if keep_pairs is not None:
                    o = o[keep_pairs(np.array([i]), t, o)[0]]
                t_parts.append(np.broadcast_to(t, (len(o), *t.shape)))
                o_parts.append(o)
                n_rows += len(o)
                if n_rows >= chunk or i == len(tilings) - 1:
                    yield np.concatenate(t_parts), np.concatenate(o_parts)
                    t_parts, o_parts, n_rows = [], [], 0
            return
        n_l = tilings.shape[1]
        present = np.zeros((len(tilings), n_l), dtype=np.int64)
        for c, dims in enumerate(CLASSES):
            idx = [DIM_INDEX[d] for d in dims]
            present |= (tilings[:, :, idx] > 1).any(axis=2).astype(np.int64) << c
        sig = np.zeros(len(tilings), dtype=np.int64)
        for lv in range(n_l):
            sig = sig * 16 + present[:, lv]
        for value in np.unique(sig):
            rows = np.flatnonzero(sig == value)
            orders = self._combined_orders(tuple(int(x) for x in present[rows[0]]))  # (k, L, 8)
            step = max(1, chunk // len(orders))
            for start in range(0, len(rows), step):
                sub = rows[start:start + step]
                if keep_pairs is None:
                    yield np.repeat(tilings[sub], len(orders), axis=0), np.tile(orders, (len(sub), 1, 1))
                    continue
                t_i, o_i = np.nonzero(keep_pairs(sub, tilings[rows[0]], orders))
                if len(t_i):
                    yield tilings[sub[t_i]], orders[o_i]

    def _combined_orders(self, present: tuple[int, ...]) -> np.ndarray:
        """int8 (k, L, 8): every combination of per-level class orders for these non-empty classes (cached)."""
        cache = self._combined_cache
        if present not in cache:
            n_l = len(present)
            per_level = [self._class_orders(lv, present[lv]) for lv in range(n_l)]
            combos = np.array(list(itertools.product(*[range(len(o)) for o in per_level])), dtype=np.int64)
            cache[present] = np.stack([per_level[lv][combos[:, lv]] for lv in range(n_l)], axis=1)
        return cache[present]

    def _class_orders(self, lv: int, present: int) -> np.ndarray:
        """int8 (k, 8): the orders of level ``lv`` whose non-empty classes are the bits of ``present``."""
        key = (lv, present)
        cache = self._class_order_cache
        if key in cache:
            return cache[key]
        lc = self._level_constraint(lv)
        blocks = [[DIM_INDEX[d] for d in dims] for dims in CLASSES]
        if lc.order is not None:
            fixed = [DIM_INDEX[d] for d in lc.order]
            out = np.array([fixed + [d for d in range(ND) if d not in fixed]], dtype=np.int8)
        else:
            full = [c for c in range(len(CLASSES)) if present >> c & 1]
            empty = [c for c in range(len(CLASSES)) if not present >> c & 1]
            perms = [tuple(full)] if lv == 0 or len(full) <= 1 else list(itertools.permutations(full))
            out = np.array([[d for c in (*p, *empty) for d in blocks[c]] for p in perms], dtype=np.int8)
        cache[key] = out
        return out

    def _order_rows(self, temporal: np.ndarray) -> np.ndarray:
        """int8 (k, L, 8): every combination of the per-level orders of one tiling."""
        orders = self.orders(temporal)
        combos = np.array(list(itertools.product(*[range(len(o)) for o in orders])), dtype=np.int64)
        return np.stack([orders[lv][combos[:, lv]] for lv in range(len(orders))], axis=1)

    def size(self) -> SpaceSize:
        """Counts after each pruning stage (enumerates tilings: use on small spaces)."""
        n_sp = n_til = n_map = 0
        keeps = self.keep_options()
        for sx, sy in self.spatial_options():
            n_sp += 1
            for kk in keeps:
                for part in self.tilings(sx, sy, keep=kk):
                    n_til += len(part)
                    n_map += sum(math.prod(len(o) for o in self.orders(t)) for t in part)
        bounds = self.layer.bounds_tuple()
        n_l = len(self.accelerator.levels)
        unpruned = float(math.prod(_n_ordered_factorizations(b, 3 * n_l) for b in bounds)) \
            * float(math.factorial(ND)) ** n_l * len(keeps)
        return SpaceSize(spatial=n_sp, tilings=n_til, mappings=n_map, unpruned_estimate=unpruned)



def _n_ordered_factorizations(n: int, k: int) -> int:
    from coexplore.mapping.factors import n_factorizations

    return n_factorizations(n, k)


def _stack(parts: list[tuple[np.ndarray, ...]]) -> MappingBatch:
    cols = list(zip(*parts, strict=True))
    return MappingBatch(
        temporal=np.ascontiguousarray(np.concatenate(cols[0]), dtype=np.int64),
        order=np.ascontiguousarray(np.concatenate(cols[1]), dtype=np.int8),
        spatial_x=np.ascontiguousarray(np.concatenate(cols[2]), dtype=np.int64),
        spatial_y=np.ascontiguousarray(np.concatenate(cols[3]), dtype=np.int64),
        keep=np.ascontiguousarray(np.concatenate(cols[4]), dtype=np.bool_),
    )


@dataclass(frozen=True, slots=True, eq=False)
class _TilingContext:
    layer: Layer
    rem: np.ndarray
    sp_cum: np.ndarray
    allowed: np.ndarray
    divs: list[np.ndarray]
    keep: np.ndarray
    size: np.ndarray  # bits
    data_bits: np.ndarray
    fixed: list[dict[int, int]]


def _fits(ctx: _TilingContext, lv: int, cum: np.ndarray) -> np.ndarray:
    words = tile_words_from_products(ctx.layer, cum * ctx.sp_cum[lv][None, :])
    return (words * (ctx.keep[lv] * ctx.data_bits[lv])[None, :]).sum(axis=1) <= ctx.size[lv]


def _dfs(ctx: _TilingContext, slots: list[tuple[int, int]], k: int, factors: np.ndarray, cum: np.ndarray,
         chunk: int, prune: Prune | None) -> Iterator[np.ndarray]:
    """Depth-first over (level, dim) slots: give slot k every divisor that keeps tiles fitting.

    At each level boundary the levels just completed are checked (capacity of levels
    without slots, and ``prune(factors, complete_level)`` if given) before going deeper.
    """
    n_l = len(ctx.size)
    lv_prev = slots[k - 1][0] if k > 0 else -1
    lv_next = slots[k][0] if k < len(slots) else n_l - 1
    if lv_next > lv_prev:
        ok = np.ones(len(cum), dtype=bool)
        for lv in range(lv_prev + 1, lv_next):
            ok &= _fits(ctx, lv, cum)
        if prune is not None and lv_next - 1 >= 0 and k < len(slots):
            ok &= prune(factors, lv_next - 1)
        if not ok.all():
            factors, cum = factors[ok], cum[ok]
        if len(cum) == 0:
            return
    if k == len(slots):
        top = ctx.rem[None, :] // cum
        ok = np.all((top == 1) | ctx.allowed[n_l - 1][None, :], axis=1) & _fits(ctx, n_l - 1, cum * top)
        out = factors[ok].copy()
        out[:, n_l - 1, :] = top[ok]
        if prune is not None and len(out):
            out = out[prune(out, n_l - 1)]
        if len(out):
            yield out
        return
    lv, d = slots[k]
    fixed = ctx.fixed[lv].get(d)
    cand = ctx.divs[d] if fixed is None else np.array([fixed], dtype=np.int64)
    rows, cols = np.nonzero((ctx.rem[d] % (cum[:, d][:, None] * cand[None, :])) == 0)
    new_factors = factors[rows]
    new_factors[:, lv, d] = cand[cols]
    new_cum = cum[rows]
    new_cum[:, d] *= cand[cols]
    keep = _fits(ctx, lv, new_cum)  # tiles only grow as later slots multiply in: prune now
    new_factors, new_cum = new_factors[keep], new_cum[keep]
    for start in range(0, len(new_cum), chunk):
        yield from _dfs(ctx, slots, k + 1, new_factors[start:start + chunk], new_cum[start:start + chunk], chunk,
                        prune)
