"""A coexplore network priced with MAESTRO's semantics on one accelerator (``coexplore evaluate --model maestro``).

The accelerator is given one of two ways:

- a MAESTRO sub-accelerator ``TEMPLATE:PES:BW`` (``rs:168:16``), as ``maestro-system`` takes it: a dataflow
  template of :mod:`coexplore.maestro.templates`, the PE count and the NoC bandwidth in elements per cycle;
  off-chip bandwidth 50 and NoC hop latency 1 (MAESTRO's reference ``accelerator_1.m``); the area's L1
  and L2 are sized for the most demanding layer (its ``L1/L2 SRAM Size Req``), as in
  :mod:`coexplore.maestro.system`.
- a coexplore accelerator (preset or YAML) with a template, translated field by field:

  - PEs = ``mac.instances`` (one MAESTRO PE per MAC unit);
  - L1 bytes = the sum over the storage levels with one instance per MAC of ``size_words * word_bits / 8``
    (Eyeriss: psum, weight and ifmap scratchpads, 24 + 224 + 12 words of 16 bits = 520 bytes);
  - L2 bytes = the same sum over the on-chip levels with a single instance (Eyeriss' global buffer);
  - NoC bandwidth = the words per cycle those single-instance levels deliver to the array, summed: a level's
    ``read_bandwidth_words_per_cycle`` when set, else its word width ``block_size_words`` (one vector access
    per cycle), rounded to the nearest integer, at least 1;
  - off-chip bandwidth = the outermost (DRAM) level's ``shared_bandwidth_words_per_cycle`` (else its
    ``read_bandwidth_words_per_cycle``), rounded likewise; NoC hop latency 1.

  Refused, naming the field: a precision-scalable MAC (``mac.brick_bits``), an on-chip level whose instance
  count is neither one per MAC nor one (MAESTRO has an L1 per PE and one shared L2: NVDLA's accumulators,
  Simba's per-PE-group buffers, the TPU's accumulators), no per-MAC level, no shared on-chip level, an
  outermost level that is not DRAM or has no bandwidth. Pure spatial containers (levels that keep nothing)
  are skipped. The L1/L2 sizes give the area (MAESTRO's area model on real bytes); like MAESTRO, the
  capacities are not enforced on the layers (their requirements are reported per layer).

MAESTRO counts elements, not bits: a layer's precision does not change its price. Energy is MAESTRO's
summary formula (the layer's own L1 and L2 accesses and one MAC energy per MAC; not the per-layer CSV
value with its two quirks, see :mod:`coexplore.maestro.model`), split into ``L1``, ``L2`` and ``MAC``.
Utilization is the layer's own MACs over (runtime x PEs). A grouped, non-depthwise convolution runs its
one-group layer ``groups`` times (:mod:`coexplore.maestro.templates`); its MAESTRO columns are one group's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from coexplore.errors import SpecError
from coexplore.maestro.dfsl import MaestroHardware, parse_mapping
from coexplore.maestro.energy import L1_ENERGY_MULTIPLIER, L2_ENERGY_MULTIPLIER, area_power, constants
from coexplore.maestro.model import TENSORS, LayerRow, price_network
from coexplore.maestro.system import parse_sub_accelerator
from coexplore.maestro.templates import TEMPLATES, network_dfsl, template
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Network

__all__ = [
    "SUB_ACCELERATOR",
    "MaestroNetworkCost",
    "MaestroTarget",
    "offchip_bandwidth",
    "onchip_bandwidth",
    "price_network_maestro",
    "target_from_accelerator",
    "target_from_string",
]

SUB_ACCELERATOR = re.compile(r"^([^:/\\]+):([^:]*):([^:]*)$")
"""``TEMPLATE:PES:BW``; a preset name or YAML path has no such form."""

DEFAULT_OFFCHIP_BANDWIDTH = 50
DEFAULT_NOC_HOPS = 1


@dataclass(frozen=True, slots=True)
class MaestroTarget:
    """What MAESTRO prices on: a template and a hardware file; ``sized`` says the L1/L2 bytes are the
    accelerator's own (else they follow the layers' requirements); ``source`` names where it came from."""

    template: str
    hardware: MaestroHardware
    source: str
    sized: bool


def target_from_string(text: str, *, offchip_bandwidth: int = DEFAULT_OFFCHIP_BANDWIDTH) -> MaestroTarget:
    """``rs:168:16`` -> a target; every error names the field and the value."""
    m = SUB_ACCELERATOR.match(text.strip())
    if not m:
        raise SpecError(f"accelerator: expected TEMPLATE:PES:BW (e.g. rs:168:16), got {text!r}")
    sub = parse_sub_accelerator((m[1], m[2], m[3]), f"accelerator {text!r}")
    hw = MaestroHardware(num_pes=sub.pes, l1_size_bytes=1, l2_size_bytes=1, noc_bandwidth=sub.bandwidth,
                         offchip_bandwidth=offchip_bandwidth, noc_hops=DEFAULT_NOC_HOPS)
    return MaestroTarget(template=sub.template, hardware=hw, source=text.strip(), sized=False)


def _words_per_cycle(value: float, field: str) -> int:
    if not math.isfinite(value) or value <= 0:
        raise SpecError(f"{field}: must be a finite bandwidth > 0 to translate to MAESTRO, got {value!r}")
    return max(1, round(value))


def onchip_bandwidth(acc: Accelerator) -> int:
    """Words per cycle the single-instance on-chip storage levels of ``acc`` deliver, summed: each one's
    ``read_bandwidth_words_per_cycle``, else its ``block_size_words``; rounded, at least 1."""
    shared = [lv for lv in acc.levels[:-1] if not lv.is_container and lv.instances == 1]
    if not shared:
        raise SpecError(f"accelerator {acc.name!r}.levels: MAESTRO's NoC bandwidth is that of the shared on-chip "
                        f"buffers, but no on-chip storage level has one instance")
    total = sum(lv.read_bandwidth_words_per_cycle or lv.block_size_words for lv in shared)
    return _words_per_cycle(total, f"accelerator {acc.name!r} NoC bandwidth")


def offchip_bandwidth(acc: Accelerator) -> int:
    """The outermost (DRAM) level's ``shared_bandwidth_words_per_cycle`` (else its read bandwidth), rounded."""
    top_i = len(acc.levels) - 1
    dram = acc.levels[top_i]
    where = f"accelerator {acc.name!r}.levels[{top_i}] ({dram.name})"
    if dram.size_words is not None:
        raise SpecError(f"{where}.size_words: the outermost level must be DRAM (unbounded) to translate to "
                        f"MAESTRO's off-chip memory, got {dram.size_words}")
    if dram.shared_bandwidth_words_per_cycle is not None:
        return _words_per_cycle(dram.shared_bandwidth_words_per_cycle, f"{where}.shared_bandwidth_words_per_cycle")
    if dram.read_bandwidth_words_per_cycle is not None:
        return _words_per_cycle(dram.read_bandwidth_words_per_cycle, f"{where}.read_bandwidth_words_per_cycle")
    raise SpecError(f"{where}.shared_bandwidth_words_per_cycle: MAESTRO needs an off-chip bandwidth, got none (nor "
                    f"read_bandwidth_words_per_cycle)")


def target_from_accelerator(acc: Accelerator, template_name: str | None) -> MaestroTarget:
    """A coexplore accelerator translated to MAESTRO's hardware (rules in the module docstring)."""
    if template_name is None:
        raise SpecError(f"template: needed to price coexplore accelerator {acc.name!r} with MAESTRO's semantics "
                        f"(or give the accelerator as TEMPLATE:PES:BW); valid: {', '.join(TEMPLATES)}")
    template(template_name)
    where = f"accelerator {acc.name!r}"
    if acc.mac.brick_bits is not None:
        raise SpecError(f"{where}.mac.brick_bits: a precision-scalable MAC has no MAESTRO counterpart, got "
                        f"{acc.mac.brick_bits}")
    pes = acc.mac.instances
    top_i = len(acc.levels) - 1
    offchip = offchip_bandwidth(acc)
    l1_bits = l2_bits = 0
    has_l1 = has_l2 = False
    for i, lv in enumerate(acc.levels[:top_i]):
        if lv.is_container:
            continue
        bits = (lv.size_words or 0) * lv.word_bits
        if lv.instances == pes:
            l1_bits += bits
            has_l1 = True
        elif lv.instances == 1:
            l2_bits += bits
            has_l2 = True
        else:
            raise SpecError(f"{where}.levels[{i}] ({lv.name}).instances: MAESTRO has one L1 per PE ({pes}) and one "
                            f"shared L2, a level of {lv.instances} instances has no counterpart")
    if not has_l1:
        raise SpecError(f"{where}.levels: MAESTRO's PE has an L1, but no storage level has one instance per MAC "
                        f"({pes})")
    if not has_l2:
        raise SpecError(f"{where}.levels: MAESTRO has a shared L2, but no on-chip storage level has one instance")
    hw = MaestroHardware(num_pes=pes, l1_size_bytes=max(1, math.ceil(l1_bits / 8)),
                         l2_size_bytes=max(1, math.ceil(l2_bits / 8)),
                         noc_bandwidth=onchip_bandwidth(acc), offchip_bandwidth=offchip,
                         noc_hops=DEFAULT_NOC_HOPS)
    return MaestroTarget(template=template_name, hardware=hw, source=acc.name, sized=True)


@dataclass(frozen=True, slots=True)
class MaestroLayerCost:
    """One coexplore layer: its own MACs, how many times the written layer runs, and MAESTRO's row."""

    name: str
    macs: int
    repeats: int
    row: LayerRow
    dataflow: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MaestroNetworkCost:
    """A network priced with MAESTRO's semantics; layers run one after another."""

    network: str
    target: MaestroTarget
    layers: tuple[MaestroLayerCost, ...]
    constant_set: str
    seconds: float = 0.0

    def _energy_split_pj(self, x: MaestroLayerCost) -> dict[str, float]:
        v, e = x.row.values, constants(self.constant_set).mac_energy_nj * 1e3 * x.repeats
        l1 = sum(int(v[f"{t} l1 {a}"]) for t in TENSORS for a in ("read", "write"))  # type: ignore[call-overload]
        l2 = sum(int(v[f"{t} l2 {a}"]) for t in TENSORS for a in ("read", "write"))  # type: ignore[call-overload]
        return {"L1": l1 * L1_ENERGY_MULTIPLIER * e, "L2": l2 * L2_ENERGY_MULTIPLIER * e,
                "MAC": int(v["Num MACs"]) * e}  # type: ignore[call-overload]

    def layer_energy_pj(self, x: MaestroLayerCost) -> float:
        return x.row.energy_nj * 1e3 * x.repeats

    def layer_latency_cycles(self, x: MaestroLayerCost) -> int:
        return x.row.runtime_cycles * x.repeats

    @property
    def energy_pj(self) -> float:
        return sum(self.layer_energy_pj(x) for x in self.layers)

    @property
    def latency_cycles(self) -> int:
        return sum(self.layer_latency_cycles(x) for x in self.layers)

    @property
    def edp(self) -> float:
        return self.energy_pj * self.latency_cycles

    @property
    def macs(self) -> int:
        return sum(x.macs for x in self.layers)

    @property
    def l1_bytes(self) -> int:
        """L1 per PE of the area: the accelerator's, or the largest requirement of the layers."""
        if self.target.sized:
            return self.target.hardware.l1_size_bytes
        return max(int(x.row.values["L1 SRAM Size Req (Bytes)"]) for x in self.layers)  # type: ignore[call-overload]

    @property
    def l2_bytes(self) -> int:
        if self.target.sized:
            return self.target.hardware.l2_size_bytes
        return max(int(x.row.values["L2 SRAM Size Req (Bytes)"]) for x in self.layers)  # type: ignore[call-overload]

    @property
    def area_um2(self) -> float:
        hw = self.target.hardware
        return area_power(constants(self.constant_set), num_pes=hw.num_pes, vector_width=1,
                          noc_bandwidth=hw.noc_bandwidth, l1_bytes=self.l1_bytes, l2_bytes=self.l2_bytes).area

    def to_record(self) -> dict[str, Any]:
        """``coexplore evaluate --json``'s shape (network totals, per-layer costs) with ``model: maestro``."""
        hw = self.target.hardware
        layers = []
        for x in self.layers:
            energy, latency = self.layer_energy_pj(x), self.layer_latency_cycles(x)
            layers.append({
                "name": x.name, "macs": x.macs, "energy_pj": energy, "latency_cycles": latency,
                "edp": energy * latency, "utilization": x.macs / (latency * hw.num_pes),
                "energy_by_level_pj": self._energy_split_pj(x),
                "mapping": {"template": self.target.template, "repeats": x.repeats, "dataflow": list(x.dataflow)},
                "maestro": dict(x.row.values),
            })
        return {"model": "maestro", "network": self.network, "accelerator": self.target.source,
                "energy_pj": self.energy_pj, "latency_cycles": self.latency_cycles, "edp": self.edp,
                "area_mm2": self.area_um2 / 1e6, "macs": self.macs, "seconds": self.seconds, "layers": layers,
                "maestro": {"template": self.target.template, "num_pes": hw.num_pes,
                            "noc_bandwidth": hw.noc_bandwidth, "offchip_bandwidth": hw.offchip_bandwidth,
                            "noc_hops": hw.noc_hops, "l1_bytes": self.l1_bytes, "l2_bytes": self.l2_bytes,
                            "buffers": "accelerator" if self.target.sized else "largest layer requirement",
                            "constants": self.constant_set, "area_um2": self.area_um2}}


def _dataflows(text: str) -> list[tuple[str, ...]]:
    """Each layer's directives, as written in the generated DFSL text."""
    out: list[tuple[str, ...]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        s = line.strip()
        if s == "Dataflow {":
            current = []
        elif current is not None and s == "}":
            out.append(tuple(current))
            current = None
        elif current is not None:
            current.append(s)
    return out


def price_network_maestro(net: Network, target: MaestroTarget, *, constant_set: str = "current") -> MaestroNetworkCost:
    """Every layer of ``net`` in ``target``'s template, priced with MAESTRO's semantics (summary energy)."""
    constants(constant_set)
    text, repeats = network_dfsl(net, target.template, target.hardware.num_pes)
    dfsl = parse_mapping(text, f"<{target.template} template of {net.name}>")
    try:
        rows = price_network(target.hardware, dfsl, constant_set=constant_set, energy_quirks=False)
    except SpecError as e:
        raise SpecError(f"network {net.name!r} on {target.source} ({target.template} template): {e}") from None
    layers = []
    for layer, row, n, flow in zip(net.layers, rows, repeats, _dataflows(text), strict=True):
        if row.runtime_cycles <= 0 or int(row.values["Num MACs"]) <= 0:  # type: ignore[call-overload]
            raise SpecError(f"network {net.name!r}: layer {layer.name!r} on {target.source}: MAESTRO's analysis of "
                            f"the {target.template} template covers {row.values['Num MACs']} MACs in "
                            f"{row.runtime_cycles} cycles, not a price")
        layers.append(MaestroLayerCost(name=layer.name, macs=layer.macs, repeats=n, row=row, dataflow=flow))
    return MaestroNetworkCost(network=net.name, target=target, layers=tuple(layers), constant_set=constant_set)
