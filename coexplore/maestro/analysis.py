"""Per-level cost analysis with MAESTRO's semantics (``CA_cost-analysis-engine.hpp``, ``AnalyzeClusterLevel_V2``).

For every iteration case of a level: ingress and egress traffic over the level's NoC, the delay of
each (hop latency x hops + ceil(data / bandwidth) - 1), the compute delay (partial sums on the
critical sub-cluster, or the slowest sub-cluster's runtime one level down, analysed recursively on
the sizes that sub-cluster sees), combined with double buffering (the first case pays ingress +
compute, the others the maximum of the three). The outermost level also waits for off-chip transfers
of its L2 footprint. Buffer reads/writes accumulate per tensor; the first case sizes the buffers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from coexplore.errors import SpecError
from coexplore.maestro.clusters import Cluster, Dims, Tensor
from coexplore.maestro.iteration import iteration_cases
from coexplore.maestro.reuse import Reuse

__all__ = ["CaseCost", "LevelResult", "Noc", "analyze_layer"]

_BIG = float("inf")


@dataclass(slots=True)
class LevelResult:
    """Counts of one analysed cluster level (MAESTRO's ``CostAnalyisResults``); keys are tensor names.
    ``l2_*`` is the level's upstream buffer, ``l1_*`` its downstream (sub-cluster) buffers."""

    level: int
    num_sub_clusters: int
    runtime: int = 0
    computations: int = 0
    l2_read: dict[str, int] = field(default_factory=dict)
    l2_write: dict[str, int] = field(default_factory=dict)
    l1_read: dict[str, int] = field(default_factory=dict)
    l1_write: dict[str, int] = field(default_factory=dict)
    l2_size: dict[str, int] = field(default_factory=dict)
    l1_size: dict[str, int] = field(default_factory=dict)
    peak_bw: int = 0
    avg_bw: float = 0.0
    offchip_bw: int = 0
    avg_active_clusters: float = 0.0
    arithmetic_intensity: float = 0.0
    delays: dict[str, list[float]] = field(default_factory=dict)  # ingress/egress/compute -> [min, max, avg]
    cases: list[CaseCost] = field(default_factory=list)
    """Every case with work, as its runtime needs it: :mod:`coexplore.maestro.batch` re-times a level on other
    NoC bandwidths from these without analysing it again. Recorded only when the analysis is given
    ``reuse_tables`` (the batch pricer); the scalar model reads none."""


class CaseCost(NamedTuple):
    """What a case's step time depends on: occurrences, NoC ingress and egress elements, whether every
    directive is at Init, the critical partial sums (innermost level) and the sub-cluster results (with how
    many sub-clusters each stands for) whose slowest is the compute delay (outer levels). A named tuple:
    one is made per case, and a tuple is made fastest."""

    occurrences: int
    ingress: int
    egress: int
    all_init: bool
    psums: int
    subs: tuple[tuple[LevelResult, int], ...]


@dataclass(frozen=True, slots=True)
class Noc:
    bandwidth: int
    hops: int = 1
    hop_latency: int = 1

    def delay(self, data: int) -> int:
        sends = -(-data // self.bandwidth)
        return self.hops * self.hop_latency + sends - 1


def analyze_layer(clusters: list[Cluster], tensors: tuple[Tensor, ...], noc: Noc, offchip_bw: int,
                  simd_lanes: int = 1,
                  reuse_tables: dict[tuple[Tensor, ...], dict[tuple[object, ...], Reuse]] | None = None,
                  innermost: dict[tuple[object, ...], LevelResult] | None = None) -> list[LevelResult]:
    """Results of every analysed level invocation in MAESTRO's order (the outermost level last; the
    first entry is the innermost level of the first outer case). ``reuse_tables``: kept by a caller that
    analyses the same layer on many PE counts, see :class:`~coexplore.maestro.reuse.Reuse` (per set of
    tensors: a tensor's plan and volumes depend on the dimensions it is coupled to); with them, every level
    also records its cases (:attr:`LevelResult.cases`). ``innermost``: kept by a caller that analyses many
    layers (the scalar model, per network): an innermost level below an outer one depends only on what
    :func:`_innermost_signature` lists, and layers of different shapes often give it the same (ResNet-50's
    66 layers need 5 distinct ones), so it is analysed once."""
    out: list[LevelResult] = []
    memo: dict[tuple[object, ...], LevelResult] = {}
    shared = None if reuse_tables is None else reuse_tables.setdefault(tensors, {})
    reuses: dict[int, Reuse] = {}

    def reuse_of(idx: int) -> Reuse:
        """A level's reuse tables, made when the level is first analysed (an innermost level found in
        ``innermost`` needs none)."""
        reuse = reuses.get(idx)
        if reuse is None:
            reuse = reuses[idx] = Reuse(clusters[idx], shared)
        return reuse

    _level(0, clusters, clusters[0].dims, tensors, noc, offchip_bw, simd_lanes, out, memo, reuse_of, innermost)
    return out


def _innermost_signature(cluster: Cluster, dims: Dims, tensors: tuple[Tensor, ...], noc: Noc,
                         simd: int) -> tuple[object, ...]:
    """Everything the analysis of an innermost level below an outer one reads: its directives as adjusted,
    sub-cluster counts, the dimension table it was built on (:class:`Reuse` counts from it), the sizes and
    overlaps it sees in this case, the tensors, the NoC and the SIMD width (the off-chip bandwidth only
    matters at the outermost level)."""
    return (tensors, noc, simd, cluster.size, cluster.edge_clusters,
            tuple([(d.kind, d.size, d.ofs, d.var) for d in cluster.dataflow]),
            tuple(cluster.dims.size.items()), tuple(cluster.dims.stride.items()), tuple(cluster.dims.overlaps),
            tuple(dims.size.items()), tuple(dims.overlaps))


def _signature(idx: int, dims: Dims) -> tuple[object, ...]:
    """Key of a level analysis. Strides and overlaps of a level's dimension tables come from the level
    above, so the sizes (in their deterministic insertion order) identify the analysis."""
    return (idx, tuple(dims.size.items()))


def _buffer_sizes(res: LevelResult, dims: Dims, reuse: Reuse, case: object, tensors: tuple[Tensor, ...]) -> None:
    for t in tensors:
        if t.is_output:
            continue
        size = 1
        for v in t.coupled:
            size *= dims.get(v)
        res.l2_size[t.name] = res.l2_size.get(t.name, 0) + 2 * reuse.spatial_ingress(t, case)  # type: ignore[arg-type]
        res.l2_write[t.name] = size
        res.l1_size[t.name] = res.l1_size.get(t.name, 0) + 2 * reuse.mapped_volume(t)
    for t in tensors:
        if not t.is_output:
            continue
        size = 1
        for v in t.coupled:
            if dims.overlapped(v):
                size *= dims.get(v) - dims.get(dims.counterpart(v)) + 1
            else:
                size *= dims.get(v)
        res.l2_size[t.name] = 2 * reuse.spatial_egress(t, case)  # type: ignore[arg-type]
        res.l2_read[t.name] = size
        res.l1_size[t.name] = 2 * reuse.mapped_volume(t)


def _level(idx: int, clusters: list[Cluster], dims: Dims, tensors: tuple[Tensor, ...], noc: Noc, offchip_bw: int,
           simd: int, out: list[LevelResult], memo: dict[tuple[object, ...], LevelResult],
           reuse_of: Callable[[int], Reuse], innermost: dict[tuple[object, ...], LevelResult] | None) -> None:
    """Analyse level ``idx`` on ``dims`` and append its result to ``out``. A level's result depends only on
    the level and the sizes it sees, so repeated sub-cluster analyses are taken from ``memo`` (results are
    not changed once made; the caller keeps how many sub-clusters each stands for), and an innermost level
    below an outer one from ``innermost`` when the caller keeps one across layers."""
    key = _signature(idx, dims)
    if key in memo:
        out.append(memo[key])
        return
    wide = None
    if innermost is not None and idx > 0 and idx == len(clusters) - 1:
        wide = _innermost_signature(clusters[idx], dims, tensors, noc, simd)
        hit = innermost.get(wide)
        if hit is not None:
            memo[key] = hit
            out.append(hit)
            return
    cluster = clusters[idx]
    n_sub, n_edge = cluster.size, cluster.edge_clusters
    res = LevelResult(level=idx, num_sub_clusters=n_sub)
    reuse = reuse_of(idx)
    outputs = [t for t in tensors if t.is_output]
    inputs = [t for t in tensors if not t.is_output]
    l2_read, l2_write, l1_read, l1_write = res.l2_read, res.l2_write, res.l1_read, res.l1_write
    latency, bandwidth = noc.hops * noc.hop_latency, noc.bandwidth  # Noc.delay, inlined in the case loop
    in_lo, in_hi, in_sum = _BIG, 0.0, 0.0  # [min, max, occurrence-weighted sum] of each delay
    eg_lo, eg_hi, eg_sum = _BIG, 0.0, 0.0
    cp_lo, cp_hi, cp_sum = _BIG, 0.0, 0.0
    peak_bw, avg_bw, offchip_req, total = 0, 0.0, 0, 0
    l2_out = l2_in = 0
    sp_var = cluster.first_spatial().var
    inner = idx < len(clusters) - 1
    for case_id, case in enumerate(iteration_cases(cluster, dims, keyed=reuse.shared)):
        if case_id == 0:
            _buffer_sizes(res, dims, reuse, case, tensors)
            l2_out = res.l2_size.get("output", 0)
            l2_in = res.l2_size.get("input", 0) + res.l2_size.get("filter", 0)
        occ = case.occurrences
        ingress = egress = psums = psum_map = 0
        for t in outputs:
            eg, mapped, critical = reuse.output_volumes(t, case)
            psum_map += mapped
            egress += eg
            name = t.name
            l2_write[name] = l2_write.get(name, 0) + occ * eg
            l1_write[name] = l1_write.get(name, 0) + occ * psum_map
            l1_read[name] = l1_read.get(name, 0) + occ * psum_map
            psums += critical
        if psums <= 0:
            continue
        for t in inputs:
            ing = reuse.spatial_ingress(t, case)
            ingress += ing
            name = t.name
            l2_read[name] = l1_write[name] = l2_read.get(name, 0) + occ * ing
            l1_read[name] = l1_read.get(name, 0) + occ * psum_map
        res.arithmetic_intensity = psum_map / ingress if ingress else _BIG
        sp_state = case.states[sp_var]
        active = n_edge if sp_state.is_edge else n_sub
        subs: list[tuple[LevelResult, int]] = []  # (sub-cluster result, how many sub-clusters it stands for)
        units: float = 0
        if inner:
            plan: list[tuple[bool, int | None]]
            if sp_state.is_edge:
                if sp_state.sp_edge_edge:
                    plan = [(True, None)] + ([(False, n_edge - 1)] if n_edge - 1 > 0 else [])
                else:
                    plan = [(False, n_edge)]
            else:
                plan = [(False, n_sub)]
            for ee, count in plan:
                _level(idx + 1, clusters, reuse.subcluster_dims(case, ee), tensors, noc, offchip_bw, simd, out, memo,
                       reuse_of, innermost)
                sub = out[-1]
                n = 1 if count is None else count
                subs.append((sub, n))
                units += sub.avg_active_clusters * n
            compute = max(s.runtime for s, _ in subs)
        else:
            compute = -(-psums // simd)
        if reuse.shared:
            res.cases.append(CaseCost(occ, ingress, egress, case.all_init, psums, tuple(subs)))
        in_d = latency + -(-ingress // bandwidth) - 1
        eg_d = latency + -(-egress // bandwidth) - 1
        step = compute + in_d if case.all_init else max(eg_d, compute, in_d)
        if idx == 0:
            if compute == 0:
                raise SpecError("the outermost cluster level has a zero compute delay in an iteration case (a "
                                "sub-cluster gets no work); MAESTRO divides by it and stops with a floating-point "
                                "exception")
            step = max((l2_in // offchip_bw) // 2, step, (l2_out // offchip_bw) // 2)
            offchip_req = max(offchip_req, l2_out // compute)
            offchip_req = max(offchip_req, l2_in // compute)
            offchip_req //= 2
            res.offchip_bw = offchip_req
        res.runtime += occ * step
        res.computations += occ * psum_map
        res.avg_active_clusters += (units if units != 0 else active) * occ
        compute = compute or 1
        peak_bw = max(peak_bw, max(ingress, egress) // compute)
        avg_bw += (occ * max(ingress, egress)) // compute
        in_lo, in_hi, in_sum = min(in_lo, in_d), max(in_hi, in_d), in_sum + occ * in_d
        eg_lo, eg_hi, eg_sum = min(eg_lo, eg_d), max(eg_hi, eg_d), eg_sum + occ * eg_d
        cp_lo, cp_hi, cp_sum = min(cp_lo, compute), max(cp_hi, compute), cp_sum + occ * compute
        total += occ
    delays = {"ingress": [in_lo, in_hi, in_sum], "egress": [eg_lo, eg_hi, eg_sum],
              "compute": [cp_lo, cp_hi, cp_sum]}
    if total:
        avg_bw /= total
        res.avg_active_clusters /= total
        for kind in delays:
            delays[kind][2] /= total
    res.peak_bw, res.avg_bw, res.delays = peak_bw, avg_bw, delays
    memo[key] = res
    if wide is not None and innermost is not None:
        innermost[wide] = res
    out.append(res)
