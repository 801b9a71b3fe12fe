"""Neighbourhood moves on mapping batches (compiled): the local-search step of the mappers.

A move changes one thing of one mapping: moves a prime factor (or the whole factor) of a
dimension between two levels' temporal loops, between temporal and spatial at a level that may unroll it,
swaps two loops of a level's order, or flips an optional keep. Two compound moves cross
valleys a single move cannot: an *exchange* moves a prime of one dimension up and a prime of
another down (tile sizes stay about the same when a buffer is full), and a *re-unroll*
replaces a spatial prime by a temporal one of another dimension (utilization stays the
same while the unrolled dimensions change; one move at a time would first halve it). Moves respect fan-out,
allowed dimensions and container levels; capacity is left to the legality check.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from coexplore.mapper.strategies._decode import _smallest_prime
from coexplore.mapping.encoding import MappingBatch
from coexplore.mapping.validate import level_tables
from coexplore.spec.hardware import Accelerator

__all__ = ["neighbours"]


@njit(cache=True, nogil=True)
def _mutate(temporal, order, sx, sy, keep, fanout, allowed_x, allowed_y, can_keep, must_keep, container,
            seed):  # pragma: no cover - compiled
    np.random.seed(seed)
    n_b, n_l, n_d = temporal.shape
    for b in range(n_b):
        for _attempt in range(8):
            kind = np.random.randint(0, 13)
            if kind < 5:  # move a prime factor between two levels' temporal loops
                d = np.random.randint(0, n_d)
                a = np.random.randint(0, n_l)
                if temporal[b, a, d] == 1:
                    continue
                c = np.random.randint(0, n_l)
                if c == a or container[c]:
                    continue
                # one prime factor, or the whole factor (reaches tilings one prime at a time cannot)
                p = _smallest_prime(temporal[b, a, d]) if kind < 3 else temporal[b, a, d]
                temporal[b, a, d] //= p
                temporal[b, c, d] *= p
                break
            elif kind < 7:  # swap two loops of a level's order
                lv = np.random.randint(0, n_l)
                i = np.random.randint(0, n_d)
                j = np.random.randint(0, n_d)
                if i == j:
                    continue
                di = order[b, lv, i]
                dj = order[b, lv, j]
                if temporal[b, lv, di] == 1 and temporal[b, lv, dj] == 1:
                    continue
                order[b, lv, i] = dj
                order[b, lv, j] = di
                break
            elif kind < 9:  # temporal <-> spatial at a level with fan-out
                lv = np.random.randint(0, n_l)
                axis = np.random.randint(0, 2)
                fan = fanout[lv, axis]
                if fan <= 1:
                    continue
                d = np.random.randint(0, n_d)
                s = sx if axis == 0 else sy
                allowed = allowed_x[lv, d] if axis == 0 else allowed_y[lv, d]
                if np.random.randint(0, 2) == 0:  # spatial -> temporal (anywhere)
                    if s[b, lv, d] == 1:
                        continue
                    c = np.random.randint(0, n_l)
                    if container[c]:
                        continue
                    p = _smallest_prime(s[b, lv, d])
                    s[b, lv, d] //= p
                    temporal[b, c, d] *= p
                    break
                if not allowed:
                    continue
                c = np.random.randint(0, n_l)
                if temporal[b, c, d] == 1:
                    continue
                p = _smallest_prime(temporal[b, c, d])
                used = 1
                for e in range(n_d):
                    used *= s[b, lv, e]
                if used * p > fan:
                    continue
                temporal[b, c, d] //= p
                s[b, lv, d] *= p
                break
            elif kind < 11:  # exchange: one prime of d up / down, one prime of e the other way
                d = np.random.randint(0, n_d)
                e = np.random.randint(0, n_d)
                a = np.random.randint(0, n_l)
                c = np.random.randint(0, n_l)
                if d == e or a == c or container[a] or container[c]:
                    continue
                if temporal[b, a, d] == 1 or temporal[b, c, e] == 1:
                    continue
                p = _smallest_prime(temporal[b, a, d])
                q = _smallest_prime(temporal[b, c, e])
                temporal[b, a, d] //= p
                temporal[b, c, d] *= p
                temporal[b, c, e] //= q
                temporal[b, a, e] *= q
                break
            elif kind < 12:  # re-unroll: a spatial prime of d goes temporal, a temporal prime of e takes its place
                lv = np.random.randint(0, n_l)
                axis = np.random.randint(0, 2)
                if fanout[lv, axis] <= 1:
                    continue
                s = sx if axis == 0 else sy
                d = np.random.randint(0, n_d)
                e = np.random.randint(0, n_d)
                if d == e or s[b, lv, d] == 1:
                    continue
                if not (allowed_x[lv, e] if axis == 0 else allowed_y[lv, e]):
                    continue
                c = np.random.randint(0, n_l)
                c2 = np.random.randint(0, n_l)
                if container[c] or temporal[b, c2, e] == 1:
                    continue
                p = _smallest_prime(s[b, lv, d])
                q = _smallest_prime(temporal[b, c2, e])
                used = 1
                for f in range(n_d):
                    used *= s[b, lv, f]
                if used // p * q > fanout[lv, axis]:
                    continue
                s[b, lv, d] //= p
                temporal[b, c, d] *= p
                temporal[b, c2, e] //= q
                s[b, lv, e] *= q
                break
            else:  # flip an optional keep
                lv = np.random.randint(0, n_l - 1)
                t = np.random.randint(0, 3)
                if not can_keep[lv, t] or must_keep[lv, t]:
                    continue
                keep[b, lv, t] = not keep[b, lv, t]
                break


def neighbours(batch: MappingBatch, accelerator: Accelerator, rng: np.random.Generator, *,
               inplace: bool = False, twice: int = 0) -> MappingBatch:
    """One random move applied to every mapping of ``batch`` (to a copy unless ``inplace``);
    the first ``twice`` mappings get a second move."""
    tab = level_tables(accelerator)
    out = batch if inplace else MappingBatch(
        temporal=batch.temporal.copy(), order=batch.order.copy(), spatial_x=batch.spatial_x.copy(),
        spatial_y=batch.spatial_y.copy(), keep=batch.keep.copy())
    args = (tab.fanout, tab.allowed_x, tab.allowed_y, tab.keeps, tab.must_keep, tab.container)
    _mutate(out.temporal, out.order, out.spatial_x, out.spatial_y, out.keep, *args, int(rng.integers(0, 2**31 - 1)))
    if twice:
        _mutate(out.temporal[:twice], out.order[:twice], out.spatial_x[:twice], out.spatial_y[:twice],
                out.keep[:twice], *args, int(rng.integers(0, 2**31 - 1)))
    return out
