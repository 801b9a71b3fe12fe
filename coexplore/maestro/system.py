"""Heterogeneous multi-accelerator systems (NASAIC): sub-accelerators <template, PEs, NoC bandwidth> that share
a PE budget and a bandwidth budget, each task's network assigned to one of them, priced with MAESTRO's
semantics through the dataflow templates of :mod:`coexplore.maestro.templates`.

System metrics (the definitions used here, stated because every figure depends on them; NASAIC runs
its tasks' networks concurrently, each on its own sub-accelerator, and these are the maxima and sums
that follow from that):

- latency: the sub-accelerators run in parallel, the networks assigned to one sub-accelerator run one
  after another, so latency = max over sub-accelerators of the sum of their networks' runtimes (cycles);
- energy: every network runs once, so energy = the sum of all networks' energies (nJ). A layer's energy
  is MAESTRO's summary formula by default (its own L1 and L2 accesses plus one MAC energy per MAC;
  ``energy_quirks=True`` gives the per-layer CSV value instead, see :mod:`coexplore.maestro.model`);
- area: every sub-accelerator is built, so area = the sum of the sub-accelerators' areas (um^2), each
  MAESTRO's area model with its L1 per PE and L2 sized for the most demanding layer assigned to it
  (the largest ``L1/L2 SRAM Size Req`` over those layers; one byte per element), unless fixed sizes are
  given. A sub-accelerator with no network still has its area, with the smallest buffers (one cell).

MACs: ``macs`` is the network's own count; ``maestro_macs`` is what MAESTRO's analysis counts on the
template, which is larger for strided layers in the ``shi`` (yxp_os) style (MAESTRO's edge handling of
output-stationary tiles with a stride; the binary counts the same) and for output rows that do not
fill the last cluster step. Runtime and energy are MAESTRO's, with those extra MACs; a layer that
MAESTRO analyses to zero MACs or cycles is an error, never a silent zero.

Budgets are parameters with NASAIC's defaults: PEs sum to at most 4096 in steps of 64, NoC bandwidths
sum to at most 64 in steps of 8 (NASAIC's designs use all 64; a design below the budget is accepted).
The off-chip bandwidth and NoC hop latency of every sub-accelerator are parameters too (defaults: 50
elements per cycle and 1, those of the MAESTRO reference ``accelerator_1.m``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from coexplore.errors import SpecError
from coexplore.maestro.dfsl import MaestroHardware
from coexplore.maestro.energy import area_power, constants
from coexplore.maestro.model import price_network
from coexplore.maestro.templates import TEMPLATES, cluster_size, template, to_dfsl_network
from coexplore.spec.workload import Network

__all__ = ["Budget", "HeteroDesign", "NetworkCost", "Specs", "SubAccelerator", "SystemCost", "parse_design",
           "parse_specs", "price_layers", "price_system"]


MAX_PES = 1 << 20
"""Largest PE count (and bandwidth) of a sub-accelerator: MAESTRO's area model sums per PE."""


@dataclass(frozen=True, slots=True)
class Budget:
    """What a design may use: PE and bandwidth totals and the step each allocation must be a multiple of."""

    pes: int = 4096
    pe_step: int = 64
    bandwidth: int = 64
    bandwidth_step: int = 8

    def __post_init__(self) -> None:
        for name in ("pes", "pe_step", "bandwidth", "bandwidth_step"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise SpecError(f"budget.{name}: must be an integer >= 1, got {v!r}")


@dataclass(frozen=True, slots=True)
class SubAccelerator:
    """One sub-accelerator: a dataflow template, its PEs and its NoC bandwidth (elements per cycle)."""

    template: str
    pes: int
    bandwidth: int

    def __post_init__(self) -> None:
        template(self.template)
        for name in ("pes", "bandwidth"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= MAX_PES:
                raise SpecError(f"sub-accelerator {name}: must be an integer from 1 to {MAX_PES}, got {v!r}")

    def label(self) -> str:
        return f"<{self.template},{self.pes},{self.bandwidth}>"


@dataclass(frozen=True, slots=True)
class HeteroDesign:
    """Sub-accelerators sharing one budget."""

    subs: tuple[SubAccelerator, ...]

    def check(self, budget: Budget) -> None:
        """Raise a SpecError naming the first field over budget or off its step."""
        if not self.subs:
            raise SpecError("design: needs at least one sub-accelerator, got none")
        for i, s in enumerate(self.subs):
            if s.pes % budget.pe_step:
                raise SpecError(f"design[{i}].pes: must be a multiple of {budget.pe_step}, got {s.pes}")
            if s.bandwidth % budget.bandwidth_step:
                raise SpecError(f"design[{i}].bandwidth: must be a multiple of {budget.bandwidth_step}, "
                                f"got {s.bandwidth}")
        pes = sum(s.pes for s in self.subs)
        if pes > budget.pes:
            raise SpecError(f"design.pes: the sub-accelerators' PEs sum to {pes}, over the budget of {budget.pes}")
        bw = sum(s.bandwidth for s in self.subs)
        if bw > budget.bandwidth:
            raise SpecError(f"design.bandwidth: the sub-accelerators' bandwidths sum to {bw}, over the budget of "
                            f"{budget.bandwidth}")


def parse_sub_accelerator(fields: tuple[str, str, str], where: str) -> SubAccelerator:
    """(template, PEs, bandwidth) as written -> a sub-accelerator; errors name ``where`` (``design[0]``)."""
    name, pes, bw = fields
    if name not in TEMPLATES:
        raise SpecError(f"{where}.template: unknown {name!r}; valid: {', '.join(TEMPLATES)}")
    values = []
    for what, v in (("pes", pes), ("bandwidth", bw)):
        try:
            values.append(int(v))
        except ValueError:
            raise SpecError(f"{where}.{what}: must be an integer, got {v!r}") from None
        if not 1 <= values[-1] <= MAX_PES:
            raise SpecError(f"{where}.{what}: must be from 1 to {MAX_PES}, got {values[-1]}")
    return SubAccelerator(template=name, pes=values[0], bandwidth=values[1])


def parse_design(text: str) -> HeteroDesign:
    """``dla:576:56,shi:1792:8`` -> a design (template:PEs:bandwidth, comma-separated)."""
    subs = []
    for i, part in enumerate(p.strip() for p in text.split(",")):
        fields = part.split(":")
        if len(fields) != 3:
            raise SpecError(f"design[{i}]: expected TEMPLATE:PES:BANDWIDTH (e.g. dla:576:56), got {part!r}")
        subs.append(parse_sub_accelerator((fields[0], fields[1], fields[2]), f"design[{i}]"))
    return HeteroDesign(subs=tuple(subs))


@dataclass(frozen=True, slots=True)
class Specs:
    """Hard constraints; ``None`` leaves a metric free."""

    latency_cycles: float | None = None
    energy_nj: float | None = None
    area_um2: float | None = None

    def __post_init__(self) -> None:
        for name in ("latency_cycles", "energy_nj", "area_um2"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v)
                                  or v <= 0):
                raise SpecError(f"specs.{name}: must be a finite number > 0, got {v!r}")


def parse_specs(text: str) -> Specs:
    """``8e5,2e9,4e9`` -> latency cycles, energy nJ, area um^2 (an empty field leaves that metric free)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise SpecError(f"specs: expected LATENCY_CYCLES,ENERGY_NJ,AREA_UM2 (e.g. 8e5,2e9,4e9), got {text!r}")
    values: list[float | None] = []
    for name, p in zip(("latency_cycles", "energy_nj", "area_um2"), parts, strict=True):
        if not p:
            values.append(None)
            continue
        try:
            values.append(float(p))
        except ValueError:
            raise SpecError(f"specs.{name}: must be a number, got {p!r}") from None
    return Specs(latency_cycles=values[0], energy_nj=values[1], area_um2=values[2])


@dataclass(frozen=True, slots=True)
class NetworkCost:
    """One task's network on its sub-accelerator."""

    network: str
    sub: int
    runtime_cycles: int
    energy_nj: float
    macs: int
    maestro_macs: int
    l1_bytes: int
    l2_bytes: int


@dataclass(frozen=True, slots=True)
class SystemCost:
    """A priced heterogeneous design: system metrics, per-network and per-sub-accelerator costs, specs."""

    design: HeteroDesign
    networks: tuple[NetworkCost, ...]
    sub_latency_cycles: tuple[int, ...]
    sub_area_um2: tuple[float, ...]
    constant_set: str
    specs: Specs = field(default_factory=Specs)

    @property
    def latency_cycles(self) -> int:
        return max(self.sub_latency_cycles)

    @property
    def energy_nj(self) -> float:
        return sum(n.energy_nj for n in self.networks)

    @property
    def area_um2(self) -> float:
        return sum(self.sub_area_um2)

    @property
    def violations(self) -> tuple[str, ...]:
        """Each violated spec, named with the value and the limit."""
        out = []
        for name, value, unit in (("latency_cycles", self.latency_cycles, "cycles"),
                                  ("energy_nj", self.energy_nj, "nJ"), ("area_um2", self.area_um2, "um2")):
            limit = getattr(self.specs, name)
            if limit is not None and value > limit:
                out.append(f"{name}: {value:.4g} {unit} > spec {limit:.4g}")
        return tuple(out)

    @property
    def meets_specs(self) -> bool:
        return not self.violations

    def to_record(self) -> dict[str, Any]:
        return {
            "design": [{"template": s.template, "pes": s.pes, "bandwidth": s.bandwidth,
                        "cluster_size": None if s.template == "rs" else cluster_size(s.template, s.pes),
                        "latency_cycles": lat, "area_um2": area}
                       for s, lat, area in zip(self.design.subs, self.sub_latency_cycles, self.sub_area_um2,
                                               strict=True)],
            "networks": [{"network": n.network, "sub_accelerator": n.sub, "latency_cycles": n.runtime_cycles,
                          "energy_nj": n.energy_nj, "macs": n.macs,
                          "maestro_macs": n.maestro_macs, "l1_bytes": n.l1_bytes, "l2_bytes": n.l2_bytes}
                         for n in self.networks],
            "latency_cycles": self.latency_cycles, "energy_nj": self.energy_nj, "area_um2": self.area_um2,
            "constants": self.constant_set,
            "specs": {"latency_cycles": self.specs.latency_cycles, "energy_nj": self.specs.energy_nj,
                      "area_um2": self.specs.area_um2},
            "meets_specs": self.meets_specs, "violations": list(self.violations),
        }


def price_layers(net: Network, sub: SubAccelerator, *, constant_set: str = "current", energy_quirks: bool = False,
                 offchip_bandwidth: int = 50, noc_hops: int = 1) -> list[tuple[int, float, int, int, int]]:
    """Per layer of ``net`` on ``sub``: (runtime cycles, energy nJ, MAESTRO's MACs, L1 bytes, L2 bytes) needed.

    Without the energy quirks a layer's price does not depend on the other layers, so a search over
    networks built from a few layer shapes (NAS-Bench-201 cells) prices each shape once per sub-accelerator.
    """
    hw = MaestroHardware(num_pes=sub.pes, l1_size_bytes=1, l2_size_bytes=1, noc_bandwidth=sub.bandwidth,
                         offchip_bandwidth=offchip_bandwidth, noc_hops=noc_hops)
    dfsl, repeats = to_dfsl_network(net, sub.template, sub.pes)
    rows = price_network(hw, dfsl, constant_set=constant_set, energy_quirks=energy_quirks)
    out: list[tuple[int, float, int, int, int]] = []
    for layer, r, n in zip(net.layers, rows, repeats, strict=True):
        macs = int(r.values["Num MACs"])  # type: ignore[call-overload]
        if r.runtime_cycles <= 0 or macs <= 0:
            raise SpecError(f"network {net.name!r}: layer {layer.name!r} on {sub.label()}: MAESTRO's analysis of the "
                            f"{sub.template} template covers {r.values['Num MACs']} MACs in {r.runtime_cycles} cycles "
                            f"(a mapping that misses the layer), not a price")
        out.append((r.runtime_cycles * n, r.energy_nj * n, macs * n,
                    int(r.values["L1 SRAM Size Req (Bytes)"]),  # type: ignore[call-overload]
                    int(r.values["L2 SRAM Size Req (Bytes)"])))  # type: ignore[call-overload]
    return out


def _price(net: Network, sub: SubAccelerator, *, constant_set: str, energy_quirks: bool, offchip_bandwidth: int,
           noc_hops: int) -> tuple[int, float, int, int, int]:
    rows = price_layers(net, sub, constant_set=constant_set, energy_quirks=energy_quirks,
                        offchip_bandwidth=offchip_bandwidth, noc_hops=noc_hops)
    return (sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows), max(r[3] for r in rows),
            max(r[4] for r in rows))


def price_system(networks: list[Network], design: HeteroDesign, *, assign: list[int] | None = None,
                 specs: Specs | None = None, budget: Budget | None = None, constant_set: str = "current",
                 energy_quirks: bool = False, offchip_bandwidth: int = 50, noc_hops: int = 1,
                 l1_bytes: int | None = None, l2_bytes: int | None = None) -> SystemCost:
    """Price ``networks`` (one per task) on ``design``; ``assign[i]`` is the sub-accelerator of network ``i``
    (default: network ``i`` on sub-accelerator ``i``, which needs as many of each)."""
    k = constants(constant_set)
    design.check(budget or Budget())
    if not networks:
        raise SpecError("networks: needs at least one network, got none")
    if assign is None:
        if len(networks) != len(design.subs):
            raise SpecError(f"assign: without an assignment, network i runs on sub-accelerator i, which needs as "
                            f"many networks as sub-accelerators; got {len(networks)} networks and "
                            f"{len(design.subs)} sub-accelerators")
        assign = list(range(len(networks)))
    if len(assign) != len(networks):
        raise SpecError(f"assign: needs one sub-accelerator index per network ({len(networks)}), got {len(assign)}")
    for i, a in enumerate(assign):
        if not 0 <= a < len(design.subs):
            raise SpecError(f"assign[{i}]: must be a sub-accelerator index from 0 to {len(design.subs) - 1}, got {a}")
    for name, v in (("offchip_bandwidth", offchip_bandwidth), ("noc_hops", noc_hops), ("l1_bytes", l1_bytes),
                    ("l2_bytes", l2_bytes)):
        if v is not None and v < (0 if name == "noc_hops" else 1):
            raise SpecError(f"{name}: must be >= {0 if name == 'noc_hops' else 1}, got {v}")
    costs = []
    for net, a in zip(networks, assign, strict=True):
        runtime, energy, maestro_macs, l1, l2 = _price(
            net, design.subs[a], constant_set=constant_set, energy_quirks=energy_quirks,
            offchip_bandwidth=offchip_bandwidth, noc_hops=noc_hops)
        costs.append(NetworkCost(network=net.name, sub=a, runtime_cycles=runtime, energy_nj=energy, macs=net.macs,
                                 maestro_macs=maestro_macs, l1_bytes=l1, l2_bytes=l2))
    latency, areas = [], []
    for i, s in enumerate(design.subs):
        mine = [c for c in costs if c.sub == i]
        latency.append(sum(c.runtime_cycles for c in mine))
        l1 = l1_bytes if l1_bytes is not None else max((c.l1_bytes for c in mine), default=1)
        l2 = l2_bytes if l2_bytes is not None else max((c.l2_bytes for c in mine), default=1)
        areas.append(area_power(k, num_pes=s.pes, vector_width=1, noc_bandwidth=s.bandwidth, l1_bytes=l1,
                                l2_bytes=l2).area)
    return SystemCost(design=design, networks=tuple(costs), sub_latency_cycles=tuple(latency),
                      sub_area_um2=tuple(areas), constant_set=constant_set, specs=specs or Specs())
