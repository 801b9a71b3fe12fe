"""Slow, obvious scalar reference of the cost model: it walks the tile sequence literally.

This is the executable statement of the counting rules in
``data/timeloop_reference/README.md``; the fast kernels in :mod:`coexplore.cost.kernels`
derive the same numbers in closed form and are tested against this module on random
mappings. Nothing here is optimised: it enumerates every temporal iteration above a
level and every child position below a spatial fan-out, so use it on small layers only.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from coexplore.cost.kernels import STATIONARY_STEP_RESETS
from coexplore.mapping.mapping import Mapping
from coexplore.spec import precision
from coexplore.spec.dims import DATASPACES, DIMS, TENSOR_RANKS
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["STATIONARY_STEP_RESETS", "Loop", "ReferenceCounts", "loop_nest", "reference_counts"]


@dataclass(frozen=True, slots=True)
class Loop:
    level: int
    spatial: bool
    dim: str
    factor: int


def loop_nest(mapping: Mapping) -> list[Loop]:
    """All loops with factor > 1, outermost first (per level: temporal, then spatial Y, X)."""
    out: list[Loop] = []
    for lvl in range(len(mapping.levels) - 1, -1, -1):
        lm = mapping.levels[lvl]
        for d, f in lm.temporal_loops():
            out.append(Loop(lvl, False, d, f))
        for factors in (lm.spatial_y, lm.spatial_x):
            for d, f in zip(DIMS, factors, strict=True):
                if f > 1:
                    out.append(Loop(lvl, True, d, f))
    return out


def _coefficients(layer: Layer) -> dict[str, int]:
    return {
        "1": 1,
        "stride_h": layer.stride[0], "dil_h": layer.dilation[0],
        "stride_w": layer.stride[1], "dil_w": layer.dilation[1],
    }


def _project(ds: str, point: dict[str, int], coef: dict[str, int]) -> tuple[int, ...]:
    return tuple(sum(coef[c] * point[d] for d, c in rank) for rank in TENSOR_RANKS[ds])


def _extents(ds: str, tile: dict[str, int], coef: dict[str, int]) -> tuple[int, ...]:
    return tuple(sum(coef[c] * (tile[d] - 1) for d, c in rank) + 1 for rank in TENSOR_RANKS[ds])


@dataclass(frozen=True, slots=True)
class ReferenceCounts:
    cycles: int
    utilized_macs: int
    # (level, dataspace) -> (reads, fills, updates) per utilized instance
    counts: dict[tuple[int, str], tuple[int, int, int]]
    utilized_instances: dict[int, int]
    tile_words: dict[tuple[int, str], int]
    energy_pj: float


def reference_counts(
    layer: Layer, accelerator: Accelerator, mapping: Mapping, *,
    stationary_step_resets: bool = STATIONARY_STEP_RESETS,
) -> ReferenceCounts:
    """Counts and energy of one (legal) mapping, by explicit enumeration.

    A quantized layer packs ``width // bits`` words of a dataspace into one vector access
    (:mod:`coexplore.spec.precision`); a precision-scalable MAC array is bound to its bits.
    """
    accelerator = precision.bind(layer, accelerator)
    packs = precision.pack(accelerator, precision.layer_bits(layer, accelerator))
    nest = loop_nest(mapping)
    coef = _coefficients(layer)
    n_levels = len(accelerator.levels)
    # Step of every loop in problem coordinates: product of same-dim factors inside it.
    steps = []
    for i, lp in enumerate(nest):
        steps.append(math.prod(x.factor for x in nest[i + 1:] if x.dim == lp.dim))
    # Tile dims at each level: product of loops at that level and below.
    tile = [{d: math.prod(x.factor for x in nest if x.level <= lvl and x.dim == d) for d in DIMS}
            for lvl in range(n_levels)]
    util = {lvl: math.prod(x.factor for x in nest if x.spatial and x.level > lvl) for lvl in range(n_levels)}
    util_macs = math.prod(x.factor for x in nest if x.spatial)
    cycles = math.prod(x.factor for x in nest if not x.spatial)

    def entries(lvl: int, ds: str) -> int:
        """Words entering one instance over the tile sequence (README rule 4).

        Timeloop's AAHR delta: a move along one rank that overlaps the previous tile
        fills only the new slice if it goes in the same direction (rank and sign) as
        the last partial move, or if there was none since the last full refill.
        """
        ext = _extents(ds, tile[lvl], coef)
        size = math.prod(ext)
        above = [(i, lp) for i, lp in enumerate(nest) if lp.level > lvl and not lp.spatial]
        total = 0
        prev_lo: tuple[int, ...] | None = None
        gradient: tuple[int, int] | None = None  # (rank, sign) of the last partial move
        after_stationary = False
        for idx in itertools.product(*(range(lp.factor) for _, lp in above)):
            point = dict.fromkeys(DIMS, 0)
            for (i, lp), k in zip(above, idx, strict=True):
                point[lp.dim] += k * steps[i]
            lo = _project(ds, point, coef)
            if prev_lo is None:
                total += size
                prev_lo = lo
                continue
            move = [a - b for a, b in zip(lo, prev_lo, strict=True)]
            prev_lo = lo
            moved = [r for r, m in enumerate(move) if m]
            if not moved:
                gradient, after_stationary = None, True
                continue
            r = moved[0]
            this = (r, 1 if move[r] > 0 else -1)
            reset = after_stationary and stationary_step_resets
            after_stationary = False
            if len(moved) > 1 or abs(move[r]) >= ext[r] or reset:
                total += size  # no box-shaped overlap (or a pre-#297 reset): refill everything
                gradient = None
            elif gradient is None or gradient == this:
                total += size // ext[r] * abs(move[r])  # slide: only the new slice
                gradient = this
            else:
                total += size  # direction changed: the old tile is discarded
                gradient = None
        return total

    def distinct_children(ds: str, parent: int, child: int) -> int:
        """Distinct child tiles below one parent instance (stages child+1..parent)."""
        out = 1
        for lvl in range(child + 1, parent + 1):
            loops = [(i, lp) for i, lp in enumerate(nest) if lp.level == lvl and lp.spatial]
            if not accelerator.levels[lvl].multicast:
                out *= math.prod(lp.factor for _, lp in loops)
                continue
            origins = set()
            for idx in itertools.product(*(range(lp.factor) for _, lp in loops)):
                point = dict.fromkeys(DIMS, 0)
                for (i, lp), k in zip(loops, idx, strict=True):
                    point[lp.dim] += k * steps[i]
                origins.add(_project(ds, point, coef))
            out *= len(origins)
        return out

    top = n_levels - 1
    counts: dict[tuple[int, str], tuple[int, int, int]] = {}
    tiles: dict[tuple[int, str], int] = {}
    for ds in DATASPACES:
        holders = [lvl for lvl in range(n_levels) if ds in mapping.levels[lvl].keep]
        ent = {lvl: entries(lvl, ds) for lvl in holders if lvl != top}
        for k, lvl in enumerate(holders):
            tiles[(lvl, ds)] = math.prod(_extents(ds, tile[lvl], coef))
            child = holders[k - 1] if k > 0 else -1
            from_child = ent[child] if child >= 0 else cycles
            delivered = from_child * distinct_children(ds, lvl, child)
            if ds == "outputs":
                partition = math.prod(
                    tile[lvl][d] * math.prod(x.factor for x in nest
                                             if x.level > lvl and not x.spatial and x.dim == d)
                    for d in ("N", "G", "K", "P", "Q")
                )
                updates = delivered
                reads = updates - partition
                fills = 0 if lvl == top else ent[lvl] - partition
            else:
                reads, updates = delivered, 0
                fills = 0 if lvl == top else ent[lvl]
            counts[(lvl, ds)] = (reads, fills, updates)

    energy = layer.macs * accelerator.mac.pj
    for (lvl, ds), (r, f, u) in counts.items():
        lv = accelerator.levels[lvl]
        b = packs[lvl][DATASPACES.index(ds)]
        per_inst = (-(-r // b)) * lv.read_pj + (-(-f // b)) * lv.write_pj \
            + (-(-u // b)) * lv.update_pj
        energy += per_inst * min(util[lvl], lv.clusters)  # Timeloop charges utilized clusters
    for lvl, lv in enumerate(accelerator.levels):
        kept = bool(mapping.levels[lvl].keep)
        energy += lv.leak_pj * cycles * (util[lvl] if kept else 1)
    return ReferenceCounts(
        cycles=cycles, utilized_macs=util_macs, counts=counts, utilized_instances=util,
        tile_words=tiles, energy_pj=energy,
    )
