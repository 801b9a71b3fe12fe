"""Vectorised MAESTRO arithmetic for :mod:`coexplore.maestro.batch`: level runtimes over NoC bandwidths,
energy from access counts, and MAESTRO's area model. Each reproduces the scalar model's integer and
floating-point operations in the same order, so the results are equal bit for bit (tests check it
against :mod:`coexplore.maestro.analysis`, :mod:`coexplore.maestro.model` and
:func:`coexplore.maestro.energy.area_power`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coexplore.errors import SpecError
from coexplore.maestro.analysis import LevelResult
from coexplore.maestro.energy import (
    _ARBITER_C0,
    _ARBITER_C1,
    _ARBITER_C2,
    _BUS_C0,
    _BUS_C1,
    L1_ENERGY_MULTIPLIER,
    L2_ENERGY_MULTIPLIER,
    MaestroConstants,
)

__all__ = ["Levels", "area_um2", "energy_nj", "runtimes"]


@dataclass(frozen=True, slots=True)
class _Depth:
    """The level results at one depth (0: outermost) and their cases, as flat arrays (C cases, N nodes)."""

    starts: np.ndarray  # (N,) first case of each node (cases are grouped by node)
    n_cases: np.ndarray  # (N,)
    occ: np.ndarray  # (C,)
    ingress: np.ndarray  # (C,)
    egress: np.ndarray  # (C,)
    all_init: np.ndarray  # (C,) bool
    psums: np.ndarray  # (C,) innermost level: the compute delay (one MAC per PE per cycle)
    leaf: np.ndarray  # (C,) bool: the case is at its layer's innermost level (layers differ in depth)
    sub_a: np.ndarray  # (C,) row at depth + 1 of the first sub-cluster result (outer levels)
    sub_b: np.ndarray  # (C,) row of the second (the first again when there is one)
    in_buf: np.ndarray  # (N,) outermost level: L2 input + filter size
    out_buf: np.ndarray  # (N,) outermost level: L2 output size


@dataclass(frozen=True, slots=True)
class Levels:
    """Every level result reachable from some top results, by depth; ``tops[i]`` is the row of top ``i``."""

    depths: tuple[_Depth, ...]
    tops: np.ndarray

    @classmethod
    def from_tops(cls, tops: list[LevelResult]) -> Levels:
        rows: list[dict[int, int]] = []
        nodes: list[list[LevelResult]] = []

        def visit(res: LevelResult) -> int:
            while len(rows) <= res.level:
                rows.append({})
                nodes.append([])
            r = rows[res.level].get(id(res))
            if r is None:
                r = rows[res.level][id(res)] = len(nodes[res.level])
                nodes[res.level].append(res)
                for case in res.cases:
                    for sub, _ in case.subs:
                        visit(sub)
            return r

        top_rows = np.array([visit(t) for t in tops], dtype=np.int64)
        depths = []
        for d, level in enumerate(nodes):
            cases = [c for res in level for c in res.cases]
            n_cases = np.array([len(res.cases) for res in level], dtype=np.int64)
            below = rows[d + 1] if d + 1 < len(rows) else {}
            sub_a = [below[id(c.subs[0][0])] if c.subs else 0 for c in cases]
            sub_b = [below[id(c.subs[-1][0])] if c.subs else 0 for c in cases]
            if any(len(c.subs) > 2 for c in cases):
                raise AssertionError("a case has at most two kinds of sub-cluster (full and edge)")
            depths.append(_Depth(
                starts=np.concatenate([[0], np.cumsum(n_cases)[:-1]]).astype(np.int64), n_cases=n_cases,
                occ=np.array([c.occurrences for c in cases], dtype=np.int64),
                ingress=np.array([c.ingress for c in cases], dtype=np.int64),
                egress=np.array([c.egress for c in cases], dtype=np.int64),
                all_init=np.array([c.all_init for c in cases], dtype=bool),
                psums=np.array([c.psums for c in cases], dtype=np.int64),
                leaf=np.array([not c.subs for c in cases], dtype=bool),
                sub_a=np.array(sub_a, dtype=np.int64), sub_b=np.array(sub_b, dtype=np.int64),
                in_buf=np.array([r.l2_size.get("input", 0) + r.l2_size.get("filter", 0) for r in level],
                                dtype=np.int64),
                out_buf=np.array([r.l2_size.get("output", 0) for r in level], dtype=np.int64)))
        return cls(depths=tuple(depths), tops=top_rows)


def runtimes(levels: Levels, bandwidths: np.ndarray, *, noc_hops: int, offchip_bandwidth: int) -> np.ndarray:
    """(T, B) runtime in cycles of each top result on each NoC bandwidth (analysis.py ``_level``: a case's
    step is ingress + compute on its first occurrence with every directive at Init, else the largest of
    ingress, compute and egress; the NoC delay is hops x hop latency + ceil(data / bandwidth) - 1, one
    hop here; the outermost level also waits for half its L2 footprint over the off-chip bandwidth)."""
    bw = np.asarray(bandwidths, dtype=np.int64)[None, :]
    below: np.ndarray | None = None
    for d in range(len(levels.depths) - 1, -1, -1):
        lv = levels.depths[d]
        compute = np.broadcast_to(lv.psums[:, None], (len(lv.psums), bw.shape[1]))
        if below is not None and not lv.leaf.all():
            compute = np.where(lv.leaf[:, None], compute, np.maximum(below[lv.sub_a], below[lv.sub_b]))
        in_d = noc_hops + -(-lv.ingress[:, None] // bw) - 1
        eg_d = noc_hops + -(-lv.egress[:, None] // bw) - 1
        step = np.where(lv.all_init[:, None], compute + in_d, np.maximum(np.maximum(eg_d, compute), in_d))
        if d == 0:
            if (compute == 0).any():
                raise SpecError("the outermost cluster level has a zero compute delay in an iteration case (a "
                                "sub-cluster gets no work); MAESTRO divides by it and stops with a floating-point "
                                "exception")
            node = np.repeat(np.arange(len(lv.n_cases)), lv.n_cases)
            in_half = (lv.in_buf // offchip_bandwidth // 2)[node][:, None]
            out_half = (lv.out_buf // offchip_bandwidth // 2)[node][:, None]
            step = np.maximum(np.maximum(in_half, step), out_half)
        total = np.zeros((len(lv.n_cases), bw.shape[1]), dtype=np.int64)
        some = lv.n_cases > 0
        if some.any():
            total[some] = np.add.reduceat(lv.occ[:, None] * step, lv.starts[some], axis=0)
        below = total
    assert below is not None
    return below[levels.tops]


def energy_nj(counts: np.ndarray, macs: np.ndarray, k: MaestroConstants) -> np.ndarray:
    """(...) energy of MAESTRO's summary formula from (..., 4, 3) counts (L1 read, L1 write, L2 read, L2 write
    x input, filter, output) and (...) MACs: every L1 and L2 access and one MAC energy per MAC."""
    l1r, l1w, l2r, l2w = (counts[..., i, :] for i in range(4))
    l2 = (l2r[..., 0] + l2w[..., 0]) + (l2r[..., 1] + l2w[..., 1]) + l2w[..., 2] + l2r[..., 2]
    l1 = (l1r[..., 0] + l1w[..., 0]) + (l1r[..., 1] + l1w[..., 1]) + (l1r[..., 2] + l1w[..., 2])
    units = l2.astype(np.float64) * L2_ENERGY_MULTIPLIER + l1.astype(np.float64) * L1_ENERGY_MULTIPLIER
    units = units + macs.astype(np.float64)
    return units * k.mac_energy_nj


def area_um2(k: MaestroConstants, pes: np.ndarray, bandwidth: np.ndarray, l1_bytes: np.ndarray,
             l2_bytes: np.ndarray) -> np.ndarray:
    """MAESTRO's area (energy.area_power with one MAC per PE), elementwise over broadcast arrays. Its PE array
    is a sum of one PE's area added ``pes`` times in order; a cumulative sum adds in the same order."""
    pes, bandwidth, l1_bytes, l2_bytes = np.broadcast_arrays(*(np.asarray(a, dtype=np.int64) for a in (
        pes, bandwidth, l1_bytes, l2_bytes)))
    l1_cells = np.maximum(np.ceil(l1_bytes / k.l1_unit_bytes), 1)
    l2_cells = np.maximum(np.ceil(l2_bytes / k.l2_unit_bytes), 1)
    per_pe = k.mac_area + k.l1_cell_area * l1_cells  # one MAC (vector width 1) and its L1
    pe_array = np.empty(per_pe.shape, dtype=np.float64)
    values, where = np.unique(per_pe, return_inverse=True)
    where = where.reshape(per_pe.shape)
    for i, v in enumerate(values):
        sel = where == i
        sums = np.cumsum(np.full(int(pes[sel].max()), v, dtype=np.float64))
        pe_array[sel] = sums[pes[sel] - 1]
    bus_scale = _BUS_C1 * pes + _BUS_C0
    arb_scale = _ARBITER_C2 * pes**2 + _ARBITER_C1 * pes + _ARBITER_C0
    bus_area = k.bus_unit_area * bus_scale * bandwidth
    arb_area = np.maximum(k.arbiter_unit_area * arb_scale, k.arbiter_unit_area)
    return pe_array + k.l2_cell_area * l2_cells + (bus_area + arb_area)
