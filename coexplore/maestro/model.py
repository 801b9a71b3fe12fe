"""Price a DFSL network on a MAESTRO hardware file: one row per layer with MAESTRO's CSV columns.

Per-layer energy follows MAESTRO's CSV (``API_user-interface-v2.hpp``, ``OutputResults``), with two
properties of the upstream code reproduced on purpose (``energy_quirks=True``, the default):

1. the per-layer energy omits the MAC term (only L1 and L2 accesses, times the MAC energy);
2. for a layer with more than one cluster level, its L1 term uses the previous layer's L1 counts
   (zero for the first layer), because upstream adds the L1 energy before reading the current
   layer's counts.

A layer written without a ``Dataflow`` block takes the previous layer's directives as written (the
MAESTRO binary stops on such files: its copied directive table shares the previous layer's vector, to
which the analysis has appended a cluster, and reports "No spatial map in a cluster").

A layer whose dataflow covers no MAC (no iteration case has work) is a SpecError here; the MAESTRO
binary prints 0 cycles, negative access counts and a negative energy for it.

With ``energy_quirks=False`` the energy is the summary formula instead: this layer's L1 and L2
accesses plus one MAC energy per MAC (``Num MACs``), as MAESTRO's on-screen summary computes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from coexplore.errors import SpecError
from coexplore.maestro.analysis import LevelResult, Noc, analyze_layer
from coexplore.maestro.clusters import MDirective, Tensor, build_clusters, tensors_for
from coexplore.maestro.dfsl import DfslNetwork, MaestroHardware
from coexplore.maestro.energy import L1_ENERGY_MULTIPLIER, L2_ENERGY_MULTIPLIER, area_power, constants

__all__ = ["CSV_COLUMNS", "LayerRow", "price_network"]

TENSORS = ("input", "filter", "output")

CSV_COLUMNS = (
    "Neural Network Name", "Layer Number", "NumPEs", "Runtime (Cycles)", "Activity count-based Energy (nJ)",
    "Throughput (MACs/Cycle)", "Throughput Per Energy (GMACs/s*J)", "Area", "Power", "NoC BW Req (Elements/cycle)",
    "Avg BW Req", "Peak BW Req", "Vector Width", "Offchip BW Req (Elements/cycle)", "L2 SRAM Size Req (Bytes)",
    "L1 SRAM Size Req (Bytes)", "Multicasting Factor (Weight)", "Multicasting Factor (Input)",
    "Num Total Input Pixels", "Num Total Weight Pixels", "Ops/J", "Num MACs", "PE power", "L1 power", "L2 power",
    "NOC power",
    *(f"{t} {c}" for t in TENSORS for c in ("l1 read", "l1 write", "l2 read", "l2 write", "reuse factor")),
    "Ingress Delay (Min)", "Ingress Delay (Max)", "Ingress Delay (Avg)", "Egress Delay (Min)", "Egress Delay (Max)",
    "Egress Delay (Avg)", "Compute Delay (Min)", "Compute Delay (Max)", "Compute Delay (Avg)",
    "Avg number of utilized PEs", "Arithmetic Intensity",
)
"""MAESTRO's column names, stripped of its stray blanks; its second ``Compute Delay (Min)`` (a typo
upstream, the value is the maximum) is named ``Compute Delay (Max)`` here."""


@dataclass(frozen=True, slots=True)
class LayerRow:
    """One layer's costs; ``values`` maps every name of :data:`CSV_COLUMNS` to its value."""

    values: dict[str, object]

    @property
    def runtime_cycles(self) -> int:
        return int(self.values["Runtime (Cycles)"])  # type: ignore[call-overload]

    @property
    def energy_nj(self) -> float:
        return float(self.values["Activity count-based Energy (nJ)"])  # type: ignore[arg-type]


def _layer_tensors(net: DfslNetwork) -> dict[str, tuple[Tensor, ...]]:
    """MAESTRO configures a layer type's tensors once, from its first layer (batch or not)."""
    out: dict[str, tuple[Tensor, ...]] = {}
    for layer in net.layers:
        if layer.layer_type not in out:
            out[layer.layer_type] = tensors_for(layer.layer_type, any(n == "N" for n, _ in layer.dims))
    return out


def price_network(hw: MaestroHardware, net: DfslNetwork, *, constant_set: str = "current",
                  energy_quirks: bool = True, vector_width: int = 1) -> list[LayerRow]:
    """Every layer of ``net`` priced on ``hw`` (MAESTRO's per-layer CSV, as values)."""
    k = constants(constant_set)
    noc = Noc(bandwidth=hw.noc_bandwidth, hops=1, hop_latency=hw.noc_hops)
    tensor_table = _layer_tensors(net)
    rows: list[LayerRow] = []
    cache: dict[tuple[object, ...], _Priced] = {}
    made_rows: dict[tuple[object, ...], LayerRow] = {}  # per distinct layer
    innermost: dict[tuple[object, ...], LevelResult] = {}  # innermost levels shared by layers of other shapes
    prev_l1 = 0
    for layer in net.layers:
        tensors = tensor_table[layer.layer_type]
        flow_key = tuple([d[:4] for d in layer.directives])  # (kind, size, offset, dim): a directive but its line
        key = (layer.layer_type, layer.dims, layer.strides, tensors, flow_key)
        priced = cache.get(key)
        if priced is None:  # layers of the same shape and dataflow (ResNet's repeated blocks) are priced once
            flow = [MDirective(d.kind, d.size, d.offset, d.dim) for d in layer.directives]
            try:
                clusters, _ = build_clusters(layer, flow, hw.num_pes, tensors)
                results = analyze_layer(clusters, tensors, noc, hw.offchip_bandwidth, vector_width,
                                        innermost=innermost)
                if results[-1].computations <= 0:
                    raise SpecError("the dataflow covers no MAC of the layer (no iteration case has work, e.g. a "
                                    "TemporalMap wider than its dimension); the MAESTRO binary prints 0 cycles and "
                                    "negative access counts for it, coexplore refuses it")
            except SpecError as e:
                raise SpecError(f"layer {layer.written_name!r} (line {layer.line}): {e}") from None
            priced = cache[key] = _Priced.of(results, energy_quirks)
        results = priced.results
        top, inner = results[-1], results[0]
        l1_energy = priced.l1_accesses if (len(results) == 1 or not energy_quirks) else prev_l1
        prev_l1 = priced.l1_accesses
        units = priced.l2_accesses * L2_ENERGY_MULTIPLIER + l1_energy * L1_ENERGY_MULTIPLIER
        if not energy_quirks:
            units += top.computations
        energy = units * k.mac_energy_nj
        made = made_rows.get(key)  # a repeated layer's row differs only in its name and energy columns
        if made is None:
            made = made_rows[key] = _row(net, layer.name, hw, top, inner, energy, tensors, layer.dims, k.name,
                                         vector_width)
            rows.append(made)
        else:
            rows.append(LayerRow(values={**made.values, "Layer Number": layer.name, **_energy_columns(top, energy)}))
    return rows


class _Priced(NamedTuple):
    """A distinct layer's level results and the access counts its energy reads (computed once per layer)."""

    results: list[LevelResult]
    l1_accesses: int
    """L1 reads and writes of all tensors (with the quirks, also the next multi-level layer's L1 term)."""
    l2_accesses: int
    """The L2 reads and writes the energy counts: all but the output's reads, which only the summary
    formula (no quirks) adds."""

    @classmethod
    def of(cls, results: list[LevelResult], energy_quirks: bool) -> _Priced:
        top = results[-1]
        l1 = sum(top.l1_read.get(t, 0) + top.l1_write.get(t, 0) for t in TENSORS)
        l2 = sum(top.l2_read.get(t, 0) + top.l2_write.get(t, 0) for t in ("input", "filter"))
        l2 += top.l2_write.get("output", 0)
        if not energy_quirks:
            l2 += top.l2_read.get("output", 0)
        return cls(results, l1, l2)


def _energy_columns(top: LevelResult, energy: float) -> dict[str, object]:
    """The columns that depend on a layer's energy (with the quirks, on the previous layer too)."""
    psums = top.computations
    return {"Activity count-based Energy (nJ)": energy,
            "Throughput Per Energy (GMACs/s*J)": psums / top.runtime / energy * 1e9 if top.runtime and energy else 0.0,
            "Ops/J": psums / energy * 1e9 if energy else float("inf")}


def _row(net: DfslNetwork, name: str, hw: MaestroHardware, top: LevelResult, inner: LevelResult, energy: float,
         tensors: tuple[Tensor, ...], dims: tuple[tuple[str, int], ...], constant_set: str,
         vector_width: int) -> LayerRow:
    l2 = sum(top.l2_size.get(t, 0) for t in TENSORS)
    l1 = sum(inner.l1_size.get(t, 0) for t in TENSORS)
    ap = area_power(constants(constant_set), num_pes=hw.num_pes, vector_width=vector_width,
                    noc_bandwidth=hw.noc_bandwidth, l1_bytes=l1, l2_bytes=l2)
    psums = top.computations
    by_energy = _energy_columns(top, energy)
    sizes = dict(dims)

    def tensor_size(tname: str) -> int:
        t = next(x for x in tensors if x.name == tname)
        out = 1
        for v in t.coupled:
            out *= sizes.get(v, 1)
        return out

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("inf") if a else float("nan")

    v: dict[str, object] = {
        "Neural Network Name": net.name, "Layer Number": name, "NumPEs": hw.num_pes,
        "Runtime (Cycles)": top.runtime,
        "Activity count-based Energy (nJ)": by_energy["Activity count-based Energy (nJ)"],
        "Throughput (MACs/Cycle)": ratio(psums, top.runtime),
        "Throughput Per Energy (GMACs/s*J)": by_energy["Throughput Per Energy (GMACs/s*J)"],
        "Area": ap.area, "Power": ap.power, "NoC BW Req (Elements/cycle)": top.peak_bw, "Avg BW Req": top.avg_bw,
        "Peak BW Req": top.peak_bw, "Vector Width": vector_width, "Offchip BW Req (Elements/cycle)": top.offchip_bw,
        "L2 SRAM Size Req (Bytes)": l2, "L1 SRAM Size Req (Bytes)": l1,
        "Multicasting Factor (Weight)": ratio(top.l1_write.get("filter", 0), top.l2_read.get("filter", 0)),
        "Multicasting Factor (Input)": ratio(top.l1_write.get("input", 0), top.l2_read.get("input", 0)),
        "Num Total Input Pixels": tensor_size("input"), "Num Total Weight Pixels": tensor_size("filter"),
        "Ops/J": by_energy["Ops/J"], "Num MACs": psums,
        "PE power": ap.pe_power, "L1 power": ap.l1_power, "L2 power": ap.l2_power, "NOC power": ap.noc_power,
    }
    for t in TENSORS:
        r1, w1 = top.l1_read.get(t, 0), top.l1_write.get(t, 0)
        v[f"{t} l1 read"], v[f"{t} l1 write"] = r1, w1
        v[f"{t} l2 read"], v[f"{t} l2 write"] = top.l2_read.get(t, 0), top.l2_write.get(t, 0)
        v[f"{t} reuse factor"] = ratio(r1, w1)
    for key, label in (("ingress", "Ingress"), ("egress", "Egress"), ("compute", "Compute")):
        lo, hi, avg = top.delays[key]
        v[f"{label} Delay (Min)"], v[f"{label} Delay (Max)"], v[f"{label} Delay (Avg)"] = int(lo), int(hi), int(avg)
    v["Avg number of utilized PEs"] = top.avg_active_clusters
    v["Arithmetic Intensity"] = top.arithmetic_intensity
    return LayerRow(values=v)
