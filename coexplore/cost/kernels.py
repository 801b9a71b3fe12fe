"""All batch math of the cost model: closed-form Timeloop counts for many mappings at once.

One compiled pass per mapping replaces the literal tile walk of
:mod:`coexplore.cost.reference` with a closed form over the loops above each level
(see :func:`_entries`); tests check both agree exactly on random mappings.

Array shapes (B mappings, L levels, 8 dims in ``DIMS`` order, 3 dataspaces in
``DATASPACES`` order, 5 tensor ranks per dataspace):
  temporal, spatial_x, spatial_y: int64 (B, L, 8); order: int8 (B, L, 8), outermost
  first; keep: bool (B, L, 3). Outputs: counts int64 (B, L, 3, 3) as (reads, fills,
  updates) per utilized instance, utilized int64 (B, L), compute_cycles and
  latency_cycles int64 (B,), energy_pj float64 (B,).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from coexplore.spec.dims import DATASPACES, DIM_INDEX, TENSOR_RANKS

__all__ = ["STATIONARY_STEP_RESETS", "evaluate_arrays", "rank_tables"]

# Timeloop before PR #297 (January 2025), which produced the reference outputs, treats a
# stationary step as a move: the next moving step refills the whole tile. Current
# Timeloop reuses the overlap instead; pass ``stationary_step_resets=False`` for that.
STATIONARY_STEP_RESETS = True

def rank_tables(stride: tuple[int, int], dilation: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``rank_of`` int64 (3, 8): the tensor rank each dim projects to (-1: irrelevant), and
    ``coef_of`` int64 (3, 8): the coefficient of that dim in its rank (stride or dilation)."""
    values = {"1": 1, "stride_h": stride[0], "dil_h": dilation[0], "stride_w": stride[1], "dil_w": dilation[1]}
    rank_of = np.full((3, 8), -1, dtype=np.int64)
    coef_of = np.zeros((3, 8), dtype=np.int64)
    for t, ds in enumerate(DATASPACES):
        for r, rank in enumerate(TENSOR_RANKS[ds]):
            for d, c in rank:
                rank_of[t, DIM_INDEX[d]] = r
                coef_of[t, DIM_INDEX[d]] = values[c]
    return rank_of, coef_of


@njit(cache=True, nogil=True, error_model="numpy")
def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


@njit(cache=True, nogil=True, error_model="numpy")
def _distinct(a: int, b: int, x: int, y: int) -> int:
    """Distinct values of x*i + y*j for i < a, j < b (children sharing a sliding-window row)."""
    if a == 1 or b == 1:
        return a * b
    g = _gcd(x, y)
    return a * b - max(0, a - y // g) * max(0, b - x // g)


@njit(cache=True, nogil=True, error_model="numpy")
def _entries(n, lf, vnz, vr, vval, tile, ext, slab, resets):  # pragma: no cover - compiled
    """Words entering one instance over the tile walk of the ``n`` loops above a level.

    Loops 0..n-1 are outermost first, all with factor > 1. When loop j advances (and
    the loops inside it wrap) the tile moves by a vector with ``vnz[j]`` nonzero ranks;
    if exactly one, it is rank ``vr[j]`` by ``vval[j]``. Steps of the innermost loop m
    slide by that move; a step of an outer loop j comes right after an m-step. A move
    is a partial fill (``slab[r] * |move|``, slab = the tile's cross-section) when it is along one rank with
    overlap and continues the direction of the last partial move (or there was none
    since a full refill); otherwise it refills the tile. A stationary step forgets the
    direction and, with ``resets`` (Timeloop before PR #297), forces the next moving
    step to refill.
    """
    if n == 0:
        return tile
    m = n - 1
    prefix = 1
    for i in range(m):
        prefix *= lf[i]
    m_steps = (lf[m] - 1) * prefix
    rm = vr[m]
    if vnz[m] == 0:
        kind_m = 0  # stationary
        part_m = 0
    elif vnz[m] == 1 and abs(vval[m]) < ext[rm]:
        kind_m = 2  # sliding
        part_m = slab[rm] * abs(vval[m])
    else:
        kind_m = 1  # jumping
        part_m = tile
    pos_m = vval[m] > 0
    total = tile + m_steps * part_m
    prefix = 1
    for j in range(m):
        cj = (lf[j] - 1) * prefix
        prefix *= lf[j]
        if vnz[j] == 0:
            # stationary wrap: the next m-step cannot continue a slide
            if kind_m == 2 and resets:
                total += cj * (tile - part_m)
            continue
        rj = vr[j]
        partial_ok = vnz[j] == 1 and abs(vval[j]) < ext[rj]
        if kind_m == 0:
            fill = tile if (resets or not partial_ok) else slab[rj] * abs(vval[j])
        elif kind_m == 1:
            fill = slab[rj] * abs(vval[j]) if partial_ok else tile
        elif partial_ok and rj == rm and (vval[j] > 0) == pos_m:
            fill = slab[rj] * abs(vval[j])
        else:
            fill = tile
        total += cj * fill
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def evaluate_arrays(  # pragma: no cover - compiled
    temporal, order, spatial_x, spatial_y, keep,
    conv, rank_of, coef_of,
    block, e_read, e_write, e_update, leak, clusters, multicast,
    read_bw, write_bw, shared_bw, bw_scale, throttle,
    macs, mac_energy, resets,
    counts, utilized, compute_cycles, latency_cycles, energy, detail, valid,
):
    """Fill the output arrays for every mapping of the batch (see module docstring).

    ``conv`` holds (stride_h, dil_h, stride_w, dil_w); ``rank_of``/``coef_of`` come from
    :func:`rank_tables`; level arrays have shape (L,) except ``block`` int64 (L, 3), the
    words of each dataspace one vector access moves (more when narrow words are packed),
    and ``bw_scale`` float64 (L, 3), a dataspace word in the level's words (its bits over
    the level's ``word_bits``; 1 without precision). ``clusters`` caps the instances whose
    accesses are charged (Timeloop's utilized clusters: ``instances // cluster_size``);
    leakage is charged per utilized instance over the total (throttled) cycles, as
    Timeloop's ``FinalizeBufferEnergy`` does. Bandwidths <= 0 mean unlimited;
    ``throttle`` turns on bandwidth-limited latency. With ``detail`` False, ``counts``
    and ``utilized`` may have batch size 1 and are scratch (a search needs only energy
    and latency; skipping 45 stores per mapping is measurably faster). Rows whose ``valid``
    is False are skipped (energy ``inf``, latency 0), so a search can pass a whole batch with
    its legality mask instead of copying the legal rows out. The dataspace ranks are those of
    :data:`coexplore.spec.dims.TENSOR_RANKS`, written out here for speed:
    weights (G, K, C, R, S), inputs (N, G, C, H, W), outputs (N, G, K, P, Q).
    """
    n_b, n_l = temporal.shape[0], temporal.shape[1]
    n_d = 8
    sh, dh, sw, dw = conv[0], conv[1], conv[2], conv[3]
    block_shift = np.zeros((n_l, 3), dtype=np.int64)
    for lv in range(n_l):
        for t in range(3):
            bs = block[lv, t]
            if bs > 1 and (bs & (bs - 1)) == 0:
                while (1 << block_shift[lv, t]) < bs:
                    block_shift[lv, t] += 1
    below = np.empty((n_l + 1, n_d), dtype=np.int64)
    above_t = np.empty((n_l + 1, n_d), dtype=np.int64)
    ext = np.empty((n_l, 3, 5), dtype=np.int64)
    slab = np.empty((n_l, 3, 5), dtype=np.int64)
    tilew = np.empty((n_l, 3), dtype=np.int64)
    ent = np.zeros((n_l, 3), dtype=np.int64)
    dist = np.ones((n_l, 3), dtype=np.int64)
    util = np.empty(n_l, dtype=np.int64)
    ucls = np.empty(n_l, dtype=np.int64)  # utilized clusters: whose accesses are charged
    lf = np.empty(n_l * n_d + 1, dtype=np.int64)
    ldim = np.empty(n_l * n_d + 1, dtype=np.int64)
    lstep = np.empty(n_l * n_d + 1, dtype=np.int64)
    n_above = np.empty(n_l, dtype=np.int64)
    vnz = np.zeros(n_l * n_d, dtype=np.int64)
    vr = np.zeros(n_l * n_d, dtype=np.int64)
    vval = np.zeros(n_l * n_d, dtype=np.int64)
    acc = np.empty(5, dtype=np.int64)
    last_rel = np.empty(n_l * n_d + 1, dtype=np.int64)
    for b in range(n_b):
        if not valid[b]:
            compute_cycles[b] = 0
            latency_cycles[b] = 0
            energy[b] = np.inf
            continue
        for d in range(n_d):
            below[0, d] = 1
            above_t[n_l, d] = 1
        for lv in range(n_l):
            for d in range(n_d):
                below[lv + 1, d] = below[lv, d] * temporal[b, lv, d] * spatial_x[b, lv, d] * spatial_y[b, lv, d]
        cyc = 1
        for lv in range(n_l - 1, -1, -1):
            for d in range(n_d):
                above_t[lv, d] = above_t[lv + 1, d] * temporal[b, lv, d]
        for d in range(n_d):
            cyc *= above_t[0, d]
        sp_acc = 1
        for lv in range(n_l - 1, -1, -1):
            util[lv] = sp_acc
            ucls[lv] = sp_acc if sp_acc < clusters[lv] else clusters[lv]
            sp = 1
            for d in range(n_d):
                sp *= spatial_x[b, lv, d] * spatial_y[b, lv, d]
            sp_acc *= sp
            # distinct child tiles across this level's fan-out, per dataspace
            if sp == 1:
                dist[lv, 0] = 1
                dist[lv, 1] = 1
                dist[lv, 2] = 1
            elif not multicast[lv]:
                dist[lv, 0] = sp
                dist[lv, 1] = sp
                dist[lv, 2] = sp
            else:
                a_n = spatial_x[b, lv, 0] * spatial_y[b, lv, 0]
                a_g = spatial_x[b, lv, 1] * spatial_y[b, lv, 1]
                a_k = spatial_x[b, lv, 2] * spatial_y[b, lv, 2]
                a_c = spatial_x[b, lv, 3] * spatial_y[b, lv, 3]
                a_p = spatial_x[b, lv, 4] * spatial_y[b, lv, 4]
                a_q = spatial_x[b, lv, 5] * spatial_y[b, lv, 5]
                a_r = spatial_x[b, lv, 6] * spatial_y[b, lv, 6]
                a_s = spatial_x[b, lv, 7] * spatial_y[b, lv, 7]
                dist[lv, 0] = a_g * a_k * a_c * a_r * a_s
                dist[lv, 1] = a_n * a_g * a_c * _distinct(a_p, a_r, sh * below[lv, 4], dh * below[lv, 6]) \
                    * _distinct(a_q, a_s, sw * below[lv, 5], dw * below[lv, 7])
                dist[lv, 2] = a_n * a_g * a_k * a_p * a_q
        util_macs = sp_acc
        # tile extents per rank and tile words
        for lv in range(n_l):
            t_n = below[lv + 1, 0]
            t_g = below[lv + 1, 1]
            t_k = below[lv + 1, 2]
            t_c = below[lv + 1, 3]
            t_p = below[lv + 1, 4]
            t_q = below[lv + 1, 5]
            t_r = below[lv + 1, 6]
            t_s = below[lv + 1, 7]
            h = sh * (t_p - 1) + dh * (t_r - 1) + 1
            w = sw * (t_q - 1) + dw * (t_s - 1) + 1
            ext[lv, 0, 0] = t_g
            ext[lv, 0, 1] = t_k
            ext[lv, 0, 2] = t_c
            ext[lv, 0, 3] = t_r
            ext[lv, 0, 4] = t_s
            ext[lv, 1, 0] = t_n
            ext[lv, 1, 1] = t_g
            ext[lv, 1, 2] = t_c
            ext[lv, 1, 3] = h
            ext[lv, 1, 4] = w
            ext[lv, 2, 0] = t_n
            ext[lv, 2, 1] = t_g
            ext[lv, 2, 2] = t_k
            ext[lv, 2, 3] = t_p
            ext[lv, 2, 4] = t_q
            for t in range(3):
                words = 1
                for r in range(5):
                    slab[lv, t, r] = words
                    words *= ext[lv, t, r]
                tilew[lv, t] = words
                words = 1
                for r in range(4, -1, -1):
                    slab[lv, t, r] *= words
                    words *= ext[lv, t, r]
        # temporal loops (factor > 1) outermost first over all levels
        n = 0
        for lv in range(n_l - 1, -1, -1):
            n_above[lv] = n
            for k in range(n_d):
                d = order[b, lv, k]
                f = temporal[b, lv, d]
                lf[n] = f
                ldim[n] = d
                lstep[n] = below[lv, d] * spatial_x[b, lv, d] * spatial_y[b, lv, d]
                n += f > 1  # branch-free: factor-1 loops are overwritten
        # Weights and outputs never slide: a loop's step is a whole tile, so every move is
        # a refill and the tile changes once per iteration of the loops down to the
        # innermost relevant one (the irrelevant loops inside it are stationary).
        for t in (0, 2):
            run = 1
            last = 1
            for j in range(n):
                run *= lf[j]
                if rank_of[t, ldim[j]] >= 0:
                    last = run
                last_rel[j] = last
            for lv in range(n_l - 1):
                na = n_above[lv]
                ent[lv, t] = tilew[lv, t] * (last_rel[na - 1] if na > 0 else 1)
        # Inputs slide along rows and columns: the general walk.
        for t in range(1, 2):
            for lv in range(n_l - 1):
                if not keep[b, lv, t]:
                    continue
                na = n_above[lv]
                for r in range(5):
                    acc[r] = 0
                nzc = 0
                for j in range(na - 1, -1, -1):
                    # move of loop j = its own step minus the wrap of the loops inside it
                    r = rank_of[t, ldim[j]]
                    if r >= 0:
                        u = coef_of[t, ldim[j]] * lstep[j]
                        own = u - acc[r]
                        had = acc[r] != 0
                        nz = nzc - (1 if had else 0) + (1 if own != 0 else 0)
                        vnz[j] = nz
                        if nz == 1:
                            if own != 0:
                                vr[j] = r
                                vval[j] = own
                            else:
                                for q in range(5):
                                    if q != r and acc[q] != 0:
                                        vr[j] = q
                                        vval[j] = -acc[q]
                        acc[r] += (lf[j] - 1) * u
                        nzc += (1 if acc[r] != 0 else 0) - (1 if had else 0)
                    else:
                        vnz[j] = nzc
                        if nzc == 1:
                            for q in range(5):
                                if acc[q] != 0:
                                    vr[j] = q
                                    vval[j] = -acc[q]
                ent[lv, t] = _entries(na, lf, vnz, vr, vval, tilew[lv, t], ext[lv, t], slab[lv, t], resets)
        # counts and energy
        e_total = macs * mac_energy
        cb = b if detail else 0
        for lv in range(n_l):
            utilized[cb, lv] = util[lv]
        for t in range(3):
            child = -1
            for lv in range(n_l):
                if not keep[b, lv, t]:
                    counts[cb, lv, t, 0] = 0
                    counts[cb, lv, t, 1] = 0
                    counts[cb, lv, t, 2] = 0
                    continue
                delivered = ent[child, t] if child >= 0 else cyc
                for s in range(child + 1, lv + 1):
                    delivered *= dist[s, t]
                fills = 0 if lv == n_l - 1 else ent[lv, t]
                if t == 2:
                    part = below[lv + 1, 0] * above_t[lv + 1, 0] * below[lv + 1, 1] * above_t[lv + 1, 1] \
                        * below[lv + 1, 2] * above_t[lv + 1, 2] * below[lv + 1, 4] * above_t[lv + 1, 4] \
                        * below[lv + 1, 5] * above_t[lv + 1, 5]
                    reads = delivered - part
                    updates = delivered
                    if lv != n_l - 1:
                        fills -= part
                else:
                    reads = delivered
                    updates = 0
                counts[cb, lv, t, 0] = reads
                counts[cb, lv, t, 1] = fills
                counts[cb, lv, t, 2] = updates
                bs = block[lv, t]
                sft = block_shift[lv, t]
                ucl = ucls[lv]
                if bs == 1:
                    e_total += ucl * (reads * e_read[lv] + fills * e_write[lv] + updates * e_update[lv])
                elif sft > 0:  # power-of-two block: ceil division by shifting
                    e_total += ucl * (
                        ((reads + bs - 1) >> sft) * e_read[lv]
                        + ((fills + bs - 1) >> sft) * e_write[lv]
                        + ((updates + bs - 1) >> sft) * e_update[lv]
                    )
                else:
                    e_total += ucl * (
                        ((reads + bs - 1) // bs) * e_read[lv]
                        + ((fills + bs - 1) // bs) * e_write[lv]
                        + ((updates + bs - 1) // bs) * e_update[lv]
                    )
                child = lv
        lat = cyc
        leak_rate = 0.0
        for lv in range(n_l):
            kept = keep[b, lv, 0] or keep[b, lv, 1] or keep[b, lv, 2]
            leak_rate += leak[lv] * (util[lv] if kept else 1)
            if throttle:
                rd = 0.0
                wr = 0.0
                for t in range(3):
                    rd += counts[cb, lv, t, 0] * bw_scale[lv, t]
                    wr += (counts[cb, lv, t, 1] + counts[cb, lv, t, 2]) * bw_scale[lv, t]
                if read_bw[lv] > 0:
                    lat = max(lat, int(np.ceil(rd / read_bw[lv])))
                if write_bw[lv] > 0:
                    lat = max(lat, int(np.ceil(wr / write_bw[lv])))
                if shared_bw[lv] > 0:
                    lat = max(lat, int(np.ceil((rd + wr) / shared_bw[lv])))
        e_total += leak_rate * lat
        compute_cycles[b] = cyc
        latency_cycles[b] = lat
        energy[b] = e_total
        _ = util_macs
