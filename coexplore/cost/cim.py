"""A NeuroSim-style computing-in-memory (crossbar) accelerator model.

Why: NACIM (Jiang et al., IEEE TC 2021; seed 000) co-explores devices, circuits and
architecture of crossbar accelerators with the network, priced by a modified NeuroSim.
This module restates the structure of DNN+NeuroSim (Peng et al., IEDM 2019 and IEEE TCAD
2021; Chen et al., "NeuroSim: a circuit-level macro model", IEEE TCAD 2018) in its own
closed-form equations; NeuroSim's code (CC BY-NC) was read for its default parameters
only, nothing of it is copied.

Hierarchy: chip -> ``tiles`` -> ``pes_per_tile`` PEs -> ``subarrays_per_pe`` square
sub-arrays of ``sub_array`` x ``sub_array`` cells. Capacity = tiles x PEs x sub-arrays.

Mapping of one layer (per group g of ``groups``): the weight matrix has rows = C/g*R*S
and K/g columns of weights; a weight of ``weight_bits`` is split over cpw = weight_bits /
cell_bits cells side by side, so with n = ``sub_array``::

    row_blocks = ceil(rows / n), col_blocks = ceil(K/g * cpw / n)
    subarrays  = groups * row_blocks * col_blocks

Execution (layer by layer, as NeuroSim's default non-pipelined mode): for every output
pixel (vectors = N*P*Q) the input vector is applied bit-serially, ``input_bits`` pulses,
all rows of a sub-array at once; the columns share an ADC through a mux of
``cols_per_adc``, so each pulse is repeated for each mux position, one read of
``read_pulse_ns`` plus one ADC conversion of one clock (NeuroSim's default multilevel sense
amplifier is flash-like)::

    step_cycles = ceil(read_pulse_ns * f_GHz) + 1
    cycles      = rounds * vectors * input_bits * cols_per_adc * step_cycles  (+ reload)

All sub-arrays of a layer run in parallel. Beyond the chip's capacity (choice stated
here): if the whole network's sub-arrays exceed the capacity the chip is *streaming*:
every layer's weights are written before it runs (each cell once, ``write_energy_pj``;
rows one at a time, all sub-arrays of a round in parallel, ``write_pulse_ns`` per row),
and a layer larger than the chip runs in rounds = ceil(subarrays / capacity) passes.
Otherwise all weights stay resident (programmed once, not charged) and rounds = 1.
Buffer transfers and the adder tree are pipelined behind the array reads (no cycles).

Energy per layer (pJ), cells = groups*rows*K/g*cpw cells holding weights, a = 0.5
input-bit activity (*assumed*: a bit is 1 half the time), conversions = vectors *
input_bits * groups * row_blocks * K/g * cpw (each used column of each row block once per
input bit):

- cells: vectors * input_bits * cells * a * V^2 * G_mean * read_pulse, with G_mean =
  (G_on + G_off)/2 (weights spread evenly over the levels); unselected mux columns float,
  so a cell conducts once per input bit.
- row drivers: vectors*input_bits*cols_per_adc*a*groups*rows*col_blocks pulses, each
  the ISAAC DAC power (4 mW / 1024 1-bit DACs, 32 nm) for one step.
- ADC: conversions * 1.5625 pJ * 2^(adc_bits-8) (ISAAC's 8-bit 1.28 GS/s ADC, 2 mW, from
  Kull et al. ISSCC 2013; energy halves per bit removed, a constant Walden figure of merit).
- shift-add: one op per conversion, 0.0417 pJ (ISAAC: 0.2 mW for 4 units at 1.2 GHz).
- adder tree: per output, row_blocks*cpw - 1 additions (cells merged, then row blocks) of
  weight_bits + input_bits + ceil(log2 rows) bits at 0.1 pJ / 32 bit (Horowitz, ISSCC
  2014, 45 nm).
- buffer: input bits read (every vector reads its whole window, NeuroSim's conventional
  mapping; its input-reuse "novel mapping" is not modelled) and output bits written (input_bits
  wide), 10 pJ per 64 bits (Horowitz: 8 KB SRAM, 45 nm).
- interconnect: the same bits, inputs broadcast to every column block, over an H-tree leg of
  half the chip's side, 0.1 pJ/bit/mm (Keckler et al., IEEE Micro 2011: 256 bits over 10 mm
  for about 256 pJ at 40 nm).
- leakage: the whole chip leaks during every layer: peripheral area x 0.1 mW/mm^2 (*assumed*,
  low-standby-power CMOS) plus the device's cell leakage.
- reload (streaming only): cells * write_energy_pj.

Area (um^2): cells n^2 * cell_area_f2 * F^2; per sub-array n/cols_per_adc ADCs of 1200 um^2 *
2^(adc_bits-8) and as many shift-adders of 60 um^2, n row drivers of 0.166 um^2 (ISAAC, 32 nm)
and n mux switches of the same size (*assumed*); per PE 2870 um^2 of input/output registers
(ISAAC IMA: 2 KB + 256 B); per tile ISAAC's tile overhead (64 KB eDRAM 0.083 mm^2, bus
0.090 mm^2, a quarter router 0.0378 mm^2) pro rata to its sub-arrays over ISAAC's 96.

Technology scaling from a source's node to ``tech_nm``: energy linear in the node, area
quadratic (constant voltage; a first-order rule, stated rather than fitted).

ADC bits limit: one read sums at most n rows of (2^cell_bits - 1) with binary inputs, so
the column produces n*(2^cell_bits - 1) + 1 levels and an ADC with more than
ceil(log2(n*(2^cell_bits - 1) + 1)) bits resolves nothing more; more is rejected.

Bad input (one :class:`~coexplore.errors.SpecError` line naming field, limit and value): an
unknown device (the known ones listed), a non-positive size, ``cell_bits`` not dividing
``weight_bits`` or above the device's ``max_cell_bits``, ``cols_per_adc`` not dividing
``sub_array``, ``adc_bits`` above the limit just derived.

Outputs: latency (ns), energy (pJ), EDP (pJ*ns), area (um^2), TOPS = 2*MACs / latency,
TOPS/W = 2*MACs / energy. The design's ``weight_bits``/``input_bits`` price every layer
(a layer's own precision fields are not read).

:func:`price_network` is the obvious scalar reference; :func:`price_network_batch` prices
one network on arrays of designs with numpy (no Python loop over designs) and equals it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from coexplore.errors import SpecError
from coexplore.presets.cim_devices import CIM_DEVICES, CimDevice
from coexplore.spec.workload import Network

__all__ = [
    "BATCH_FIELDS",
    "CimDesign",
    "CimLayerCost",
    "CimNetworkCost",
    "design_arrays",
    "max_adc_bits",
    "price_network",
    "price_network_batch",
    "tiles_to_fit",
]

INPUT_BIT_ACTIVITY = 0.5
ADC_PJ_8B, ADC_UM2_8B, ISAAC_NM = 1.5625, 1200.0, 32.0
SHIFT_ADD_PJ, SHIFT_ADD_UM2 = 0.2 / 4 / 1.2, 60.0
DRIVER_MW, DRIVER_UM2, MUX_UM2 = 4.0 / 1024, 0.00017e6 / 1024, 0.00017e6 / 1024
PE_UM2 = (0.0021 + 0.00077) * 1e6
TILE_UM2_PER_SUBARRAY = (0.083 + 0.090 + 0.151 / 4) * 1e6 / 96
ADD_PJ_PER_BIT, BUFFER_PJ_PER_BIT, HOROWITZ_NM = 0.1 / 32, 10.0 / 64, 45.0
WIRE_PJ_PER_BIT_MM, KECKLER_NM = 0.1, 40.0
PERIPHERY_LEAK_MW_PER_MM2 = 0.1

_SIZE_FIELDS = ("sub_array", "cell_bits", "adc_bits", "cols_per_adc", "subarrays_per_pe",
                "pes_per_tile", "tiles", "weight_bits", "input_bits")


def max_adc_bits(sub_array: int, cell_bits: int) -> int:
    """Most ADC bits a column read can use: ceil(log2(rows * (2^cell_bits - 1) + 1))."""
    return math.ceil(math.log2(sub_array * (2**cell_bits - 1) + 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class CimDesign:
    """One crossbar accelerator; defaults are DNN+NeuroSim V1.3's (128x128, 8 columns per
    5-bit ADC, 2-bit cells, 22 nm, 1 GHz) with 4x4 sub-arrays per tile and 256 tiles."""

    device: str = "rram"
    sub_array: int = 128
    cell_bits: int = 2
    adc_bits: int = 5
    cols_per_adc: int = 8
    subarrays_per_pe: int = 4
    pes_per_tile: int = 4
    tiles: int = 256
    weight_bits: int = 8
    input_bits: int = 8
    tech_nm: float = 22.0
    clock_mhz: float = 1000.0

    def __post_init__(self) -> None:
        if self.device not in CIM_DEVICES:
            raise SpecError(f"cim.device: unknown device {self.device!r}; known: {', '.join(CIM_DEVICES)}")
        problems = [f"cim.{f}: must be a positive integer, got {getattr(self, f)!r}"
                    for f in _SIZE_FIELDS
                    if not isinstance(getattr(self, f), int) or isinstance(getattr(self, f), bool)
                    or getattr(self, f) <= 0]
        problems += [f"cim.{f}: must be > 0, got {getattr(self, f)!r}"
                     for f in ("tech_nm", "clock_mhz") if not getattr(self, f) > 0]
        if problems:
            raise SpecError(problems)
        dev = CIM_DEVICES.get(self.device)
        if self.cell_bits > dev.max_cell_bits:
            problems.append(f"cim.cell_bits: must be at most {dev.max_cell_bits} for device "
                            f"{self.device!r}, got {self.cell_bits}")
        if self.weight_bits % self.cell_bits:
            problems.append(f"cim.cell_bits: must divide weight_bits={self.weight_bits}, got {self.cell_bits}")
        if self.sub_array % self.cols_per_adc:
            problems.append(f"cim.cols_per_adc: must divide sub_array={self.sub_array}, got {self.cols_per_adc}")
        limit = max_adc_bits(self.sub_array, self.cell_bits)
        if self.adc_bits > limit:
            problems.append(f"cim.adc_bits: must be at most {limit} (a {self.sub_array}-row column of "
                            f"{self.cell_bits}-bit cells gives {self.sub_array * (2**self.cell_bits - 1) + 1} "
                            f"levels), got {self.adc_bits}")
        if problems:
            raise SpecError(problems)

    @property
    def capacity(self) -> int:
        """Sub-arrays on the chip."""
        return self.tiles * self.pes_per_tile * self.subarrays_per_pe


@dataclass(frozen=True, slots=True)
class CimLayerCost:
    """One layer's cost; ``energy_pj`` maps component -> pJ (leakage included)."""

    name: str
    subarrays: int
    rounds: int
    cycles: int
    latency_ns: float
    energy_pj: dict[str, float]

    @property
    def total_energy_pj(self) -> float:
        return sum(self.energy_pj.values())


@dataclass(frozen=True, slots=True)
class CimNetworkCost:
    """A network's totals on one design, with the per-layer breakdown."""

    latency_ns: float
    energy_pj: float
    area_um2: float
    macs: int
    streaming: bool
    layers: tuple[CimLayerCost, ...] = field(default_factory=tuple)

    @property
    def edp(self) -> float:
        """pJ * ns."""
        return self.energy_pj * self.latency_ns

    @property
    def tops(self) -> float:
        return 2 * self.macs / self.latency_ns / 1e3

    @property
    def tops_per_w(self) -> float:
        return 2 * self.macs / self.energy_pj


def _area_parts(d: CimDesign, dev: CimDevice) -> tuple[float, float]:
    """(chip area, cell area) in um^2."""
    n, s = d.sub_array, (d.tech_nm / ISAAC_NM) ** 2
    cells = n * n * dev.cell_area_f2 * (d.tech_nm * 1e-3) ** 2
    per_sub = cells + s * (n // d.cols_per_adc * (ADC_UM2_8B * 2.0 ** (d.adc_bits - 8) + SHIFT_ADD_UM2)
                           + n * (DRIVER_UM2 + MUX_UM2) + TILE_UM2_PER_SUBARRAY)
    per_tile = d.pes_per_tile * (d.subarrays_per_pe * per_sub + s * PE_UM2)
    return d.tiles * per_tile, d.capacity * cells


def tiles_to_fit(network: Network, design: CimDesign) -> int:
    """Fewest tiles holding all of ``network``'s weights (NeuroSim sizes its chip this way)."""
    cpw, n = design.weight_bits // design.cell_bits, design.sub_array
    subs = sum(b["G"] * -(-(b["C"] * b["R"] * b["S"]) // n) * -(-(b["K"] * cpw) // n)
               for b in (layer.bounds() for layer in network.layers))
    return -(-subs // (design.pes_per_tile * design.subarrays_per_pe))


def price_network(network: Network, design: CimDesign) -> CimNetworkCost:
    """Price ``network`` on ``design`` (scalar reference of the equations in the module docstring)."""
    d, dev = design, CIM_DEVICES.get(design.device)
    n, cpw, f_ghz = d.sub_array, d.weight_bits // d.cell_bits, d.clock_mhz / 1e3
    step = math.ceil(dev.read_pulse_ns * f_ghz - 1e-9) + 1
    e_scale, wire_scale, add_scale = d.tech_nm / ISAAC_NM, d.tech_nm / KECKLER_NM, d.tech_nm / HOROWITZ_NM
    area, cell_area = _area_parts(d, dev)
    leak_mw = ((area - cell_area) * 1e-6 * PERIPHERY_LEAK_MW_PER_MM2
               + d.capacity * n * n * dev.leakage_pw_per_cell * 1e-9)
    hop_mm = 0.5 * math.sqrt(area * 1e-6)
    g_mean = 0.5 * (dev.g_on_s + dev.g_off_s)
    cell_pj = dev.read_voltage_v**2 * g_mean * dev.read_pulse_ns * 1e-9 * 1e12
    adc_pj = ADC_PJ_8B * 2.0 ** (d.adc_bits - 8) * e_scale

    shapes = []
    for layer in network.layers:
        b = layer.bounds()
        rows, kg, g, vectors = b["C"] * b["R"] * b["S"], b["K"], b["G"], b["N"] * b["P"] * b["Q"]
        rb, cb = -(-rows // n), -(-(kg * cpw) // n)
        shapes.append((layer.name, rows, kg, g, vectors, rb, cb, g * rb * cb))
    streaming = sum(s[-1] for s in shapes) > d.capacity
    out = []
    for name, rows, kg, g, vectors, rb, cb, subs in shapes:
        rounds = -(-subs // d.capacity) if streaming else 1
        cycles = rounds * vectors * d.input_bits * d.cols_per_adc * step
        if streaming:
            cycles += rounds * n * math.ceil(dev.write_pulse_ns * f_ghz - 1e-9)
        latency = cycles / f_ghz
        cells = g * rows * kg * cpw
        conversions = vectors * d.input_bits * g * rb * kg * cpw
        in_bits, out_bits = vectors * g * rows * d.input_bits, vectors * g * kg * d.input_bits
        psum_bits = d.weight_bits + d.input_bits + math.ceil(math.log2(rows))
        energy = {
            "cells": vectors * d.input_bits * cells * INPUT_BIT_ACTIVITY * cell_pj,
            "drivers": (vectors * d.input_bits * d.cols_per_adc * INPUT_BIT_ACTIVITY * g * rows * cb
                        * DRIVER_MW * e_scale * step / f_ghz),
            "adc": conversions * adc_pj,
            "shift_add": conversions * SHIFT_ADD_PJ * e_scale,
            "adder_tree": vectors * g * kg * (rb * cpw - 1) * psum_bits * ADD_PJ_PER_BIT * add_scale,
            "buffer": (in_bits + out_bits) * BUFFER_PJ_PER_BIT * add_scale,
            "interconnect": (in_bits * cb + out_bits) * WIRE_PJ_PER_BIT_MM * wire_scale * hop_mm,
            "leakage": leak_mw * latency,
            "reload": cells * dev.write_energy_pj if streaming else 0.0,
        }
        out.append(CimLayerCost(name, subs, rounds, cycles, latency, energy))
    return CimNetworkCost(
        latency_ns=sum(x.latency_ns for x in out), energy_pj=sum(x.total_energy_pj for x in out),
        area_um2=area, macs=network.macs, streaming=streaming, layers=tuple(out),
    )


BATCH_FIELDS = tuple(f.name for f in fields(CimDesign))


def design_arrays(designs: Sequence[CimDesign]) -> dict[str, np.ndarray]:
    """Struct of arrays of already validated designs (``device`` as an index into CIM_DEVICES)."""
    names = CIM_DEVICES.names()
    out = {f: np.array([getattr(x, f) for x in designs]) for f in BATCH_FIELDS if f != "device"}
    out["device"] = np.array([names.index(x.device) for x in designs], dtype=np.int64)
    return out


def _check_batch(a: Mapping[str, np.ndarray], devs: list[CimDevice]) -> None:
    """One SpecError naming the first offending design of each rule."""
    problems: list[str] = []

    def first(bad: np.ndarray, msg: str, values: np.ndarray) -> None:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(f"designs[{i}].{msg}, got {values[i].item()!r}")

    ndev = len(devs)
    first((a["device"] < 0) | (a["device"] >= ndev), f"device: must index one of {ndev} devices "
          f"({', '.join(x.name for x in devs)})", a["device"])
    for f in (*_SIZE_FIELDS, "tech_nm", "clock_mhz"):
        first(~(a[f] > 0), f"{f}: must be > 0", a[f])
    if problems:
        raise SpecError(problems)
    maxcb = np.array([x.max_cell_bits for x in devs])[a["device"]]
    bad = a["cell_bits"] > maxcb
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        first(bad, f"cell_bits: must be at most {maxcb[i]} for device {devs[a['device'][i]].name!r}",
              a["cell_bits"])
    first(a["weight_bits"] % a["cell_bits"] != 0, "cell_bits: must divide weight_bits", a["cell_bits"])
    first(a["sub_array"] % a["cols_per_adc"] != 0, "cols_per_adc: must divide sub_array", a["cols_per_adc"])
    limit = np.ceil(np.log2(a["sub_array"] * (2.0 ** a["cell_bits"] - 1) + 1)).astype(np.int64)
    bad = a["adc_bits"] > limit
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        first(bad, f"adc_bits: must be at most {limit[i]} (ceil(log2(sub_array*(2^cell_bits-1)+1)))",
              a["adc_bits"])
    if problems:
        raise SpecError(problems)


def price_network_batch(network: Network, designs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Price ``network`` on D designs at once.

    Args:
        network: The workload.
        designs: Arrays of shape (D,) for every name in ``BATCH_FIELDS`` (``device`` an int
            index into ``CIM_DEVICES.names()``), e.g. from :func:`design_arrays`.

    Returns:
        Arrays of shape (D,): ``latency_ns energy_pj area_um2 edp tops tops_per_w streaming``,
        and (D, L) ``layer_latency_ns layer_energy_pj layer_subarrays`` for the L layers.
    """
    devs = [CIM_DEVICES.get(x) for x in CIM_DEVICES.names()]
    a = {k: np.asarray(designs[k]) for k in BATCH_FIELDS}
    _check_batch(a, devs)
    di = a["device"]

    def dv(attr: str) -> np.ndarray:
        return np.array([float(getattr(x, attr)) for x in devs])[di][:, None]

    ints = {k: a[k].astype(np.int64)[:, None] for k in _SIZE_FIELDS}
    n, cpa, ib, wb = ints["sub_array"], ints["cols_per_adc"], ints["input_bits"], ints["weight_bits"]
    cpw = wb // ints["cell_bits"]
    node = a["tech_nm"].astype(float)[:, None]
    f_ghz = a["clock_mhz"].astype(float)[:, None] / 1e3
    capacity = ints["tiles"] * ints["pes_per_tile"] * ints["subarrays_per_pe"]
    step = np.ceil(dv("read_pulse_ns") * f_ghz - 1e-9).astype(np.int64) + 1
    e_scale, s = node / ISAAC_NM, (node / ISAAC_NM) ** 2

    cells_sub = n * n * dv("cell_area_f2") * (node * 1e-3) ** 2
    per_sub = cells_sub + s * ((n // cpa) * (ADC_UM2_8B * 2.0 ** (ints["adc_bits"] - 8) + SHIFT_ADD_UM2)
                               + n * (DRIVER_UM2 + MUX_UM2) + TILE_UM2_PER_SUBARRAY)
    area = ints["tiles"] * ints["pes_per_tile"] * (ints["subarrays_per_pe"] * per_sub + s * PE_UM2)
    leak_mw = (area - capacity * cells_sub) * 1e-6 * PERIPHERY_LEAK_MW_PER_MM2 + (
        capacity * n * n * dv("leakage_pw_per_cell") * 1e-9)
    hop_mm = 0.5 * np.sqrt(area * 1e-6)
    g_on = 1.0 / dv("r_on_ohm")
    g_mean = 0.5 * (g_on + g_on / dv("on_off_ratio"))
    cell_pj = dv("read_voltage_v") ** 2 * g_mean * dv("read_pulse_ns") * 1e-9 * 1e12
    adc_pj = ADC_PJ_8B * 2.0 ** (ints["adc_bits"] - 8) * e_scale

    bounds = np.array([[lay.bounds()[k] for k in ("C", "R", "S", "K", "G", "N", "P", "Q")]
                       for lay in network.layers], dtype=np.int64)
    rows = (bounds[:, 0] * bounds[:, 1] * bounds[:, 2])[None, :]
    kg, g = bounds[:, 3][None, :], bounds[:, 4][None, :]
    vectors = (bounds[:, 5] * bounds[:, 6] * bounds[:, 7])[None, :]
    rb, cb = -(-rows // n), -(-(kg * cpw) // n)
    subs = g * rb * cb
    streaming = subs.sum(axis=1, keepdims=True) > capacity
    rounds = np.where(streaming, -(-subs // capacity), 1)
    write_cycles = np.ceil(dv("write_pulse_ns") * f_ghz - 1e-9).astype(np.int64)
    cycles = rounds * vectors * ib * cpa * step + np.where(streaming, rounds * n * write_cycles, 0)
    latency = cycles / f_ghz
    cells = g * rows * kg * cpw
    conversions = vectors * ib * g * rb * kg * cpw
    in_bits, out_bits = vectors * g * rows * ib, vectors * g * kg * ib
    psum_bits = wb + ib + np.ceil(np.log2(rows)).astype(np.int64)
    add_scale = node / HOROWITZ_NM
    energy = (
        vectors * ib * cells * INPUT_BIT_ACTIVITY * cell_pj
        + vectors * ib * cpa * INPUT_BIT_ACTIVITY * g * rows * cb * DRIVER_MW * e_scale * step / f_ghz
        + conversions * adc_pj
        + conversions * SHIFT_ADD_PJ * e_scale
        + vectors * g * kg * (rb * cpw - 1) * psum_bits * ADD_PJ_PER_BIT * add_scale
        + (in_bits + out_bits) * BUFFER_PJ_PER_BIT * add_scale
        + (in_bits * cb + out_bits) * WIRE_PJ_PER_BIT_MM * (node / KECKLER_NM) * hop_mm
        + leak_mw * latency
        + np.where(streaming, cells * dv("write_energy_pj"), 0.0)
    )
    lat, en, macs = latency.sum(axis=1), energy.sum(axis=1), network.macs
    return {
        "latency_ns": lat, "energy_pj": en, "area_um2": area[:, 0], "edp": lat * en,
        "tops": 2 * macs / lat / 1e3, "tops_per_w": 2 * macs / en, "streaming": streaming[:, 0],
        "layer_latency_ns": latency, "layer_energy_pj": energy, "layer_subarrays": subs * np.ones_like(n),
    }
