"""Re-tiling neighbourhoods: every redistribution of one or two dimensions over the levels.

Local moves shift one prime factor at a time, so a tiling that is only reachable by
moving several factors of two dimensions at once (e.g. trading all of K's outer tiling
for a taller P tile when a buffer is full) sits behind a valley of worse mappings.
This neighbourhood jumps it in one step: for a mapping, it lists every ordered split of
a dimension's temporal total over the levels that may hold temporal loops, alone and
jointly with a second dimension, with spatial factors, loop orders and keeps unchanged.
Pairs are taken smallest first until ``cap`` rows, so its cost is bounded.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np

from coexplore.mapping.encoding import MappingBatch
from coexplore.mapping.factors import factorizations, n_factorizations

__all__ = ["retilings"]


@lru_cache(maxsize=1024)
def _splits(total: int, k: int) -> np.ndarray:
    """int64 (n, k): every ordered split of ``total`` into ``k`` factors."""
    return np.array(factorizations(total, k), dtype=np.int64).reshape(-1, k)


def retilings(batch: MappingBatch, i: int, free_levels: np.ndarray, cap: int) -> MappingBatch:
    """Mapping ``i`` of ``batch`` with one or two dimensions re-split over ``free_levels`` (at most ``cap`` rows).

    Args:
        batch: Mappings; only row ``i`` is used.
        i: The row to re-tile.
        free_levels: int (k,) the levels whose temporal factors may change (not containers).
        cap: Most rows returned: groups (one dimension or a pair) are taken smallest first while they fit.
    """
    temporal = batch.temporal[i]
    totals = temporal[free_levels].prod(axis=0)
    k = len(free_levels)
    dims = [d for d in range(temporal.shape[1]) if totals[d] > 1]
    groups: list[tuple[int, ...]] = [(d,) for d in dims] + list(combinations(dims, 2))
    sizes = [int(np.prod([n_factorizations(int(totals[d]), k) for d in g])) for g in groups]
    parts: list[np.ndarray] = []
    used = 0
    for size, group in sorted(zip(sizes, groups, strict=True)):
        if used + size > cap:
            break
        rows = np.repeat(temporal[None], size, axis=0)
        if len(group) == 1:
            rows[:, free_levels, group[0]] = _splits(int(totals[group[0]]), k)
        else:
            a, b = _splits(int(totals[group[0]]), k), _splits(int(totals[group[1]]), k)
            rows[:, free_levels, group[0]] = np.repeat(a, len(b), axis=0)
            rows[:, free_levels, group[1]] = np.tile(b, (len(a), 1))
        parts.append(rows)
        used += size
    temporal_rows = np.concatenate(parts) if parts else temporal[None].copy()
    n = len(temporal_rows)
    return MappingBatch(
        temporal=temporal_rows, order=np.repeat(batch.order[i:i + 1], n, axis=0),
        spatial_x=np.repeat(batch.spatial_x[i:i + 1], n, axis=0),
        spatial_y=np.repeat(batch.spatial_y[i:i + 1], n, axis=0), keep=np.repeat(batch.keep[i:i + 1], n, axis=0),
    )
