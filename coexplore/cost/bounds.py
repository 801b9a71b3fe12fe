"""Lower bounds on a mapping's energy, for branch-and-bound mapping search.

Once the temporal factors of levels 0..l are fixed (with the spatial assignment and the
keep choice), every loop above those levels is known up to its order, and each level's
traffic has a lower bound no order can beat:

* weights and outputs never slide, so a tile is refilled once per iteration of the loops
  down to the innermost loop above it that indexes the dataspace. At each level only one
  relevance class can be innermost -- the weights' stationary class (N, P, Q) or the
  outputs' (C, R, S) -- so the bound takes, per level, either choice and keeps the
  cheapest combination (2^(L-1) of them): the two dataspaces compete for the same
  innermost slot, which is what makes tilings differ. ``orders=False`` gives the looser
  order-free bound (every irrelevant loop innermost for every dataspace at once);
* inputs need at least every distinct word an instance touches over its lifetime, and a
  whole new tile per channel/batch/group step, repeated by every loop above the first
  level that has a channel loop (:func:`_channel_multiplier`).

Every count in the cost model grows with these fills, so plugging them into the same
energy formula gives a valid lower bound (tested against exact evaluations).
"""

from __future__ import annotations

import numpy as np

from coexplore.spec import precision
from coexplore.spec.dims import DATASPACES, DIM_INDEX
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["choices", "energy_lower_bound"]

_N, _G, _K, _C, _P, _Q, _R, _S = (DIM_INDEX[d] for d in "NGKCPQRS")
_RELEVANT = (
    np.array([0, 1, 1, 1, 0, 0, 1, 1], bool),  # weights: G K C R S
    np.array([1, 1, 0, 1, 1, 1, 1, 1], bool),  # inputs
    np.array([1, 1, 1, 0, 1, 1, 0, 0], bool),  # outputs: N G K P Q
)
_IRRELEVANT = tuple(~r for r in _RELEVANT)


def _tile(layer: Layer, t: np.ndarray, ds: int) -> np.ndarray:
    sh, sw = layer.stride
    dh, dw = layer.dilation
    if ds == 0:
        return t[:, _G] * t[:, _K] * t[:, _C] * t[:, _R] * t[:, _S]
    if ds == 2:
        return t[:, _N] * t[:, _G] * t[:, _K] * t[:, _P] * t[:, _Q]
    h = sh * (t[:, _P] - 1) + dh * (t[:, _R] - 1) + 1
    w = sw * (t[:, _Q] - 1) + dw * (t[:, _S] - 1) + 1
    return t[:, _N] * t[:, _G] * t[:, _C] * h * w


def _distinct_min(sx: np.ndarray, sy: np.ndarray, lv: int, ds: int) -> int:
    """A lower bound of the distinct child tiles across level ``lv``'s fan-out.

    Exact for weights and outputs; for inputs a sliding-window rank shared by a and b
    children has at least a + b - 1 distinct positions (the most diagonal sharing).
    """
    a = sx[lv] * sy[lv]
    if ds == 0:
        return int(a[_G] * a[_K] * a[_C] * a[_R] * a[_S])
    if ds == 2:
        return int(a[_N] * a[_G] * a[_K] * a[_P] * a[_Q])

    def rows(pa: int, ra: int) -> int:
        return pa * ra if pa == 1 or ra == 1 else pa + ra - 1

    return int(a[_N] * a[_G] * a[_C]) * rows(int(a[_P]), int(a[_R])) * rows(int(a[_Q]), int(a[_S]))


def _touched(p: np.ndarray, r: np.ndarray, stride: int, dilation: int) -> np.ndarray:
    """Distinct input rows ``stride * i + dilation * j`` (i < p, j < r): what must enter at least once."""
    g = int(np.gcd(stride, dilation))
    x, y = stride // g, dilation // g
    return p * r - np.maximum(0, p - y) * np.maximum(0, r - x)


def _lifetime_words(layer: Layer, life: np.ndarray, ds: int) -> np.ndarray:
    """Distinct words of dataspace ``ds`` touched by loop extents ``life`` (n, 8)."""
    if ds != 1:
        return _tile(layer, life, ds)
    return life[:, _N] * life[:, _G] * life[:, _C] \
        * _touched(life[:, _P], life[:, _R], layer.stride[0], layer.dilation[0]) \
        * _touched(life[:, _Q], life[:, _S], layer.stride[1], layer.dilation[1])


def choices(n_l: int) -> np.ndarray:
    """int (2**(L-1), L): for every level, which of weights (0) or outputs (1) gets its stationary class innermost."""
    bits = np.arange(1 << max(n_l - 1, 0))
    out = np.zeros((len(bits), n_l), dtype=np.int64)
    for m in range(1, n_l):
        out[:, m] = bits >> (m - 1) & 1
    return out


def _stationary_multiplier(temporal: np.ndarray, rem: np.ndarray, cum_t: np.ndarray, lv: int, ds: int,
                           complete: int, choice: np.ndarray) -> np.ndarray:
    """float (C, n): a lower bound of how often the level-``lv`` tile of weights/outputs is refilled.

    The cost model refills such a tile once per iteration of the loops down to the
    innermost loop above it that indexes the dataspace. Orders are unknown, but at each
    level only one relevance class can be innermost: the weights' stationary class
    (N, P, Q) or the outputs' (C, R, S). ``choice`` (C, L) fixes that per level; the
    caller takes the minimum over choices. Levels above ``complete`` are untiled: their
    factors all multiply once the walk has stopped, else only the relevant ones do.
    """
    irr = _IRRELEVANT[ds]
    other = 2 - ds
    n = temporal.shape[0]
    mult = np.ones((len(choice), n), dtype=np.float64)
    stopped = np.zeros((len(choice), n), dtype=bool)
    for m in range(lv + 1, complete + 1):
        f = temporal[:, m, :]
        everything = f.prod(axis=1).astype(np.float64)
        irr_prod = np.where(irr[None, :], f, 1).prod(axis=1).astype(np.float64)
        has_rel = everything > irr_prod
        has_irr = irr_prod > 1
        other_irr = np.where(_IRRELEVANT[other][None, :], f, 1).prod(axis=1) > 1
        innermost = has_irr[None, :] & ((choice[:, m:m + 1] == ds // 2) | ~other_irr[None, :])
        here = ~stopped & has_rel[None, :]
        at_stop = np.where(innermost, (everything / irr_prod)[None, :], everything[None, :])
        mult = np.where(stopped, mult * everything[None, :], np.where(here, at_stop, mult))
        stopped |= here
    unfixed = rem[None, :] // cum_t[:, complete] if complete >= 0 else np.broadcast_to(rem, (n, 8))
    all_un = unfixed.prod(axis=1).astype(np.float64)
    rel_un = np.where(_RELEVANT[ds][None, :], unfixed, 1).prod(axis=1).astype(np.float64)
    return np.where(stopped, mult * all_un[None, :], mult * rel_un[None, :])


def _channel_multiplier(temporal: np.ndarray, rem: np.ndarray, cum_t: np.ndarray, lv: int,
                        complete: int) -> np.ndarray:
    """float (n,): a lower bound of how often the level-``lv`` input tile is wholly refilled.

    A new batch, group or channel position (N, G, C) always brings a whole new input
    tile; row and column loops only slide it (counted as free here) and K loops reuse it.
    The first level above ``lv`` with a channel loop can at best run its channel loops
    outermost, so its other loops cost nothing, but every loop of the levels above it
    repeats the whole sequence. Untiled levels (above ``complete``) add only their
    channel factors while no channel loop has been met, else all their factors.
    """
    n = temporal.shape[0]
    mult = np.ones(n, dtype=np.float64)
    found = np.zeros(n, dtype=bool)
    for m in range(lv + 1, complete + 1):
        f = temporal[:, m, :]
        channels = (f[:, _N] * f[:, _G] * f[:, _C]).astype(np.float64)
        everything = f.prod(axis=1).astype(np.float64)
        here = ~found & (channels > 1)
        mult = np.where(found, mult * everything, np.where(here, channels, mult))
        found |= here
    unfixed = rem[None, :] // cum_t[:, complete] if complete >= 0 else np.broadcast_to(rem, (n, 8))
    all_un = unfixed.prod(axis=1).astype(np.float64)
    ch_un = (unfixed[:, _N] * unfixed[:, _G] * unfixed[:, _C]).astype(np.float64)
    return np.where(found, mult * all_un, mult * ch_un)


def energy_lower_bound(
    layer: Layer, accelerator: Accelerator, temporal: np.ndarray, sx: np.ndarray, sy: np.ndarray, keep: np.ndarray,
    complete: int, *, orders: bool = True, per_choice: bool = False,
) -> np.ndarray:
    """float (n,): a lower bound of the energy of every completion of partial tilings.

    Args:
        temporal: int64 (n, L, 8) temporal factors; levels ``0..complete`` are final.
        sx, sy: int64 (L, 8) the spatial assignment (shared by the batch).
        keep: bool (L, 3) the keep choice (shared by the batch).
        complete: the highest level whose factors are final (-1: none).
        orders: also bound over loop orders (one innermost class per level, see
            :func:`_stationary_multiplier`); False gives the looser order-free bound.
        per_choice: return float (C, n), the bound for each row of :func:`choices`
            (which stationary class is innermost at each level) instead of their minimum.
    """
    accelerator = precision.bind(layer, accelerator)
    packs = precision.pack(accelerator, precision.layer_bits(layer, accelerator))
    n, n_l, _ = temporal.shape
    bounds = np.array(layer.bounds_tuple(), dtype=np.int64)
    spatial = sx * sy
    sp_below = np.vstack([np.ones((1, 8), np.int64), np.cumprod(spatial, axis=0)])  # spatial at levels < lv
    rem = bounds // sp_below[-1]  # temporal total per dim
    cum_t = np.cumprod(temporal, axis=1)  # temporal at levels <= lv
    util = np.ones(n_l, dtype=np.int64)
    for lv in range(n_l - 2, -1, -1):
        util[lv] = util[lv + 1] * int(np.prod(spatial[lv + 1]))
    cycles = int(np.prod(rem))
    choice = choices(n_l) if per_choice or (orders and complete >= 1) else np.zeros((1, n_l), dtype=np.int64)
    n_c = len(choice)
    energy = np.full((n_c, n), layer.macs * accelerator.mac.pj, dtype=np.float64)
    for lv, level in enumerate(accelerator.levels):
        energy += level.leak_pj * cycles * (util[lv] if keep[lv].any() else 1)
    entries: dict[tuple[int, int], np.ndarray] = {}
    for ds in range(len(DATASPACES)):
        holders = [lv for lv in range(n_l) if keep[lv, ds]]
        for lv in holders:
            if lv == n_l - 1:
                continue
            if lv > complete:
                # not tiled yet: at least every distinct word an instance touches in its lifetime
                life = np.broadcast_to(rem * sp_below[lv + 1], (n, 8))
                entries[(lv, ds)] = np.broadcast_to(_lifetime_words(layer, life, ds), (n_c, n))
                continue
            t_dims = cum_t[:, lv] * sp_below[lv + 1]
            tile = _tile(layer, t_dims, ds)
            above = rem[None, :] // cum_t[:, lv]
            if ds == 1:
                life = t_dims * above
                refills = tile * _channel_multiplier(temporal, rem, cum_t, lv, complete)
                entries[(lv, ds)] = np.broadcast_to(np.maximum(refills, _lifetime_words(layer, life, 1)), (n_c, n))
            elif orders:
                entries[(lv, ds)] = tile[None, :] * _stationary_multiplier(temporal, rem, cum_t, lv, ds, complete,
                                                                           choice)
            else:
                rel = _RELEVANT[ds]
                entries[(lv, ds)] = np.broadcast_to(tile * np.prod(np.where(rel[None, :], above, 1), axis=1),
                                                    (n_c, n))
        child = -1
        for lv in holders:
            level = accelerator.levels[lv]
            b = packs[lv][ds]
            delivered = entries[(child, ds)] if child >= 0 else np.full((n_c, n), cycles, dtype=np.float64)
            for s in range(child + 1, lv + 1):
                delivered = delivered * (_distinct_min(sx, sy, s, ds) if accelerator.levels[s].multicast
                                         else int(np.prod(spatial[s])))
            fills = entries.get((lv, ds), np.zeros((n_c, n))) if lv != n_l - 1 else np.zeros((n_c, n))
            if ds == 2:
                # distinct outputs one instance ever holds: its whole share, whatever the tiling
                part = _tile(layer, np.broadcast_to(rem * sp_below[lv + 1], (n, 8)), 2)[None, :]
                reads, updates = np.maximum(delivered - part, 0), delivered
                fills = np.maximum(fills - part, 0) if lv != n_l - 1 else fills
            else:
                reads, updates = delivered, np.zeros((n_c, n))
            per = np.ceil(reads / b) * level.read_pj + np.ceil(fills / b) * level.write_pj \
                + np.ceil(updates / b) * level.update_pj
            energy += per * min(util[lv], level.clusters)
            child = lv
    return energy if per_choice else energy.min(axis=0)
