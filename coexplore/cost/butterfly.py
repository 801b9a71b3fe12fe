"""Analytical cost of the adaptable butterfly accelerator (Fan et al., MICRO 2022) running a network.

The hardware (:class:`ButterflyAccelerator`): ``engines`` butterfly engines (BEs), each of
``units_per_engine`` butterfly units (BUs). A BU has 4 multipliers and the adders of a 2x2 butterfly;
it runs one butterfly per cycle in either mode: *butterfly-linear* (a 2x2 block of learned weights:
4 multiplications, 2 additions) or *FFT* (a radix-2 complex butterfly: one complex twiddle
multiplication, 4 multiplications and 2 additions, then a complex add and subtract, 4 additions).
Each BE owns a data buffer of ``data_buffer_words`` in two banks (ping-pong: one bank computes
while the other is filled and drained); one coefficient buffer of ``coef_buffer_words`` holds the
weights / twiddles and broadcasts them to every BE. The BEs work on different rows (tokens)
of the same layer, as in the authors' simulator (SamsungLabs/Butterfly_Acc,
``hardware/npu_design/simulator``: one row per BE, ``L/(2 BUs) log2 L`` cycles per butterfly
of size L on one BE); this module re-derives the same count from coexplore's layer shapes.

Equations, per layer with ``rows = N P Q``, ``G`` groups, ``Kg = K/G``, ``Cg = C/G``,
``row_tiles = ceil(rows / engines)`` (R = S = 1 only: the accelerator runs no convolutions):

* butterfly / FFT stage (``op`` ``butterfly`` or ``fft``, one stage of 2x2 blocks: ``Cg = 2``):
  ``butterflies_per_row = G Kg / 2`` (= MACs / 4 / rows);
  ``compute_cycles = row_tiles * ceil(butterflies_per_row / units_per_engine)``;
  data buffer: 2 reads and 2 writes per butterfly; coefficient reads, broadcast to the BEs of a row
  tile: 4 words per butterfly (linear) or 2 (one complex twiddle, FFT) per row tile.
  The stages of one butterfly matrix (layers ``PREFIX.stage0..``) are fused: only the first
  stage reads its inputs from DRAM and only the last writes its outputs; in between the rows stay
  in the BE's bank (the reordering network permutes them), which needs ``max(C, K) <= bank``.
* any other 1x1 layer (projections, ``bmm`` of two activations, dense DFT): *dense mode*, each BU's
  4 multipliers as 4 MAC lanes, so ``compute_cycles = row_tiles * ceil(MACs_per_row / (4 BUs))``;
  groups (heads of a ``bmm``) run one after another, so a row's inputs and outputs of one group must fit
  a bank (``Cg + Kg <= bank``); each input word is read once per pass of ``4 BUs`` outputs, each output
  written once; weights read once per row tile (broadcast).
  (The paper runs the attention of its ABfly blocks on a separate attention processor; pricing
  dense layers on the BEs' multipliers is this model's choice, so that every layer of a Transformer
  or of an ABfly block runs on one engine of the same multiplier count.)
* weights (learned, activations of a ``bmm``, or FFT twiddles) come from DRAM once per layer when
  the whole butterfly matrix (all its stages) / one group's weights of a dense layer fit the
  coefficient buffer, else once per row tile; every layer's first stage reads ``rows C`` input words and its
  last writes ``rows K`` output words.
* vector ops (softmax, layer norm) run on the multipliers, :data:`~coexplore.cost.vector.OPS_PER_ELEMENT`
  operations per element each priced as a MAC, every element read from and written to DRAM once
  (the rule of :mod:`coexplore.cost.vector`).
* latency of a layer = ``max(compute_cycles, ceil(DRAM words / dram_bandwidth))``: DRAM transfers
  overlap computation (ping-pong), so the slower of the two sets the pace;
* energy = arithmetic (multiplier and adder energies of the technology table at ``bits``) + data
  and coefficient buffer accesses (SRAM at the bank's / buffer's size) + DRAM words + SRAM leakage
  over the latency. Area = ``4 engines units`` MACs + all SRAM.

A row that does not fit a bank is infeasible (:class:`~coexplore.errors.InfeasibleError` naming the layer,
the words needed and the bank), never silently spilled.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

from coexplore.cost.results import SequentialTotals
from coexplore.cost.vector import OPS_PER_ELEMENT
from coexplore.errors import InfeasibleError, SpecError
from coexplore.spec.technology import get_technology as _get_technology
from coexplore.spec.workload import Layer, Network, VectorOp

__all__ = ["BUTTERFLY_OPS", "ButterflyAccelerator", "ButterflyLayerCost", "ButterflyNetworkCost",
           "NetworkPlan", "min_bank_words", "price_layer", "price_network", "price_totals", "price_vector_op"]

BUTTERFLY_OPS = ("butterfly", "fft")
get_technology = functools.lru_cache(maxsize=8)(_get_technology)  # a table is built per lookup: look up once
_STAGE = re.compile(r"^(?P<prefix>.+)\.stage(?P<index>\d+)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ButterflyAccelerator:
    """One design point of the butterfly accelerator template (module docstring)."""

    name: str = "butterfly"
    engines: int
    units_per_engine: int
    data_buffer_words: int
    coef_buffer_words: int
    clock_ghz: float = 0.2
    dram_bandwidth_words_per_cycle: float | None = None
    bits: int = 16
    technology: str = "45nm"

    def __post_init__(self) -> None:
        problems = []
        for f in ("engines", "units_per_engine", "data_buffer_words", "coef_buffer_words", "bits"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                problems.append(f"butterfly accelerator {self.name!r}.{f}: must be a positive integer, got {v!r}")
        if isinstance(self.data_buffer_words, int) and self.data_buffer_words % 2:
            problems.append(f"butterfly accelerator {self.name!r}.data_buffer_words: must be even (two banks), "
                            f"got {self.data_buffer_words}")
        if isinstance(self.clock_ghz, bool) or not isinstance(self.clock_ghz, (int, float)) or self.clock_ghz <= 0:
            problems.append(f"butterfly accelerator {self.name!r}.clock_ghz: must be > 0, got {self.clock_ghz!r}")
        bw = self.dram_bandwidth_words_per_cycle
        if bw is not None and (isinstance(bw, bool) or not isinstance(bw, (int, float)) or bw <= 0):
            problems.append(f"butterfly accelerator {self.name!r}.dram_bandwidth_words_per_cycle: must be > 0 or "
                            f"None (unlimited), got {bw!r}")
        if problems:
            raise SpecError(problems)
        get_technology(self.technology)

    @property
    def multipliers(self) -> int:
        return 4 * self.engines * self.units_per_engine

    @property
    def bank_words(self) -> int:
        return self.data_buffer_words // 2

    @property
    def onchip_bits(self) -> int:
        return (self.engines * self.data_buffer_words + self.coef_buffer_words) * self.bits

    @property
    def area_mm2(self) -> float:
        tech = get_technology(self.technology)
        return self.multipliers * tech.mac_area_mm2(self.bits) + tech.sram_area_mm2(self.onchip_bits)

    def to_record(self) -> dict[str, object]:
        return {"template": "butterfly", "engines": self.engines, "units_per_engine": self.units_per_engine,
                "multipliers": self.multipliers, "data_buffer_words": self.data_buffer_words,
                "coef_buffer_words": self.coef_buffer_words, "clock_ghz": self.clock_ghz,
                "dram_bandwidth_words_per_cycle": self.dram_bandwidth_words_per_cycle, "bits": self.bits}


@dataclass(frozen=True, slots=True, kw_only=True)
class ButterflyLayerCost:
    """Counts and cost of one layer or vector op; ``mode`` is ``butterfly``, ``fft``, ``dense`` or the op kind."""

    name: str
    mode: str
    macs: int
    compute_cycles: int
    dram_words: int
    latency_cycles: int
    compute_energy_pj: float
    buffer_energy_pj: float
    dram_energy_pj: float
    leakage_energy_pj: float
    data_buffer_accesses: int = 0
    coef_buffer_accesses: int = 0

    @property
    def energy_pj(self) -> float:
        return self.compute_energy_pj + self.buffer_energy_pj + self.dram_energy_pj + self.leakage_energy_pj


@dataclass(frozen=True, slots=True, kw_only=True)
class ButterflyNetworkCost(SequentialTotals):
    """Per-layer costs of a network on one design; layers and vector ops run one after another."""

    network: str
    accelerator: ButterflyAccelerator
    layers: tuple[ButterflyLayerCost, ...]
    vector_ops: tuple[ButterflyLayerCost, ...]

    @property
    def latency_ms(self) -> float:
        return self.latency_cycles / self.accelerator.clock_ghz / 1e6

    @property
    def area_mm2(self) -> float:
        return self.accelerator.area_mm2


def _stage_groups(layers: tuple[Layer, ...]) -> dict[str, tuple[bool, bool, int]]:
    """layer name -> (first stage, last stage, weight words of the whole matrix) for butterfly/FFT stages."""
    out: dict[str, tuple[bool, bool, int]] = {}
    i = 0
    while i < len(layers):
        m = _STAGE.match(layers[i].name)
        if layers[i].op not in BUTTERFLY_OPS or m is None:
            i += 1
            continue
        j = i + 1
        while j < len(layers) and layers[j].op == layers[i].op and (mj := _STAGE.match(layers[j].name)) \
                and mj["prefix"] == m["prefix"] and int(mj["index"]) == int(m["index"]) + (j - i):
            j += 1
        words = sum(x.weights_words for x in layers[i:j])
        for k in range(i, j):
            out[layers[k].name] = (k == i, k == j - 1, words)
        i = j
    return out


def _dram_cycles(words: int, acc: ButterflyAccelerator) -> int:
    bw = acc.dram_bandwidth_words_per_cycle
    return 0 if bw is None else math.ceil(words / bw)


def price_layer(layer: Layer, acc: ButterflyAccelerator, *, first: bool = True, last: bool = True,
                matrix_weight_words: int | None = None) -> ButterflyLayerCost:
    """Cost of ``layer`` on ``acc`` (module docstring); ``first``/``last``: its place in a fused butterfly.

    Raises:
        SpecError: a layer the accelerator cannot run (a convolution window, a butterfly stage that is
            not of 2x2 blocks).
        InfeasibleError: a row's working set larger than a data-buffer bank.
    """
    tech = get_technology(acc.technology)
    b = layer.bounds()
    if b["R"] != 1 or b["S"] != 1:
        raise SpecError(f"layer {layer.name!r}: the butterfly accelerator runs 1x1 layers only, got R={b['R']}, "
                        f"S={b['S']}")
    rows, groups, kg, cg = b["N"] * b["P"] * b["Q"], b["G"], b["K"], b["C"]
    row_tiles = math.ceil(rows / acc.engines)
    bits = acc.bits
    mult = tech.mac_energy_pj(bits) - tech.add_energy_pj(bits)
    add = tech.add_energy_pj(bits)
    mode = layer.op if layer.op in BUTTERFLY_OPS else "dense"
    weights = layer.weights_words
    if mode == "dense":
        need = cg + kg
        if need > acc.bank_words:
            raise InfeasibleError(f"layer {layer.name!r}: a row of C/groups + K/groups = {need} words does not fit "
                                  f"a data-buffer bank of {acc.bank_words} words")
        macs_per_row = groups * kg * cg
        lanes = 4 * acc.units_per_engine
        compute = row_tiles * math.ceil(macs_per_row / lanes)
        data_reads = rows * groups * cg * math.ceil(kg / lanes) + rows * layer.K  # operand reads + drain
        data_writes = rows * layer.K + rows * layer.C  # results + fill
        coef_reads = row_tiles * weights
        compute_pj = layer.macs * (mult + add)
        fits = kg * cg <= acc.coef_buffer_words  # groups run one after another: one group's weights at a time
        first = last = True
    else:
        if cg != 2 or kg % 2:
            raise SpecError(f"layer {layer.name!r}: a {mode} stage must be of 2x2 blocks (C/groups = 2, K/groups "
                            f"even), got C/groups={cg}, K/groups={kg}")
        width = max(layer.C, layer.K)
        if width > acc.bank_words:
            raise InfeasibleError(f"layer {layer.name!r}: a row of {width} words does not fit a data-buffer bank "
                                  f"of {acc.bank_words} words")
        per_row = groups * kg // 2
        compute = row_tiles * math.ceil(per_row / acc.units_per_engine)
        butterflies = rows * per_row
        data_reads = 2 * butterflies + (rows * layer.K if last else 0)
        data_writes = 2 * butterflies + (rows * layer.C if first else 0)
        coef_reads = row_tiles * per_row * (4 if mode == "butterfly" else 2)
        compute_pj = butterflies * (4 * mult + (2 if mode == "butterfly" else 6) * add)
        fits = (matrix_weight_words if matrix_weight_words is not None else weights) <= acc.coef_buffer_words
    weight_dram = weights if fits else weights * row_tiles
    dram_words = weight_dram + (rows * layer.C if first else 0) + (rows * layer.K if last else 0)
    bank = tech.sram_read_energy_pj(acc.bank_words, bits)
    coef = tech.sram_read_energy_pj(acc.coef_buffer_words, bits)
    buffer_pj = (data_reads + data_writes * tech.sram_write_to_read) * bank \
        + (coef_reads + weight_dram * tech.sram_write_to_read) * coef
    latency = max(compute, _dram_cycles(dram_words, acc))
    leak = tech.leakage_pj_per_cycle(acc.onchip_bits, clock_ghz=acc.clock_ghz) * latency
    return ButterflyLayerCost(name=layer.name, mode=mode, macs=layer.macs, compute_cycles=compute,
                              dram_words=dram_words, latency_cycles=latency, compute_energy_pj=compute_pj,
                              buffer_energy_pj=buffer_pj, dram_energy_pj=dram_words * tech.dram_energy_pj(bits),
                              leakage_energy_pj=leak, data_buffer_accesses=data_reads + data_writes,
                              coef_buffer_accesses=coef_reads + weight_dram)


def price_vector_op(op: VectorOp, acc: ButterflyAccelerator) -> ButterflyLayerCost:
    """Softmax / layer norm on the multipliers, each element read from and written to DRAM once."""
    tech = get_technology(acc.technology)
    ops = op.elements * OPS_PER_ELEMENT[op.kind]
    compute = math.ceil(ops / acc.multipliers)
    dram_words = 2 * op.elements
    latency = max(compute, _dram_cycles(dram_words, acc))
    return ButterflyLayerCost(
        name=op.name, mode=op.kind, macs=0, compute_cycles=compute, dram_words=dram_words, latency_cycles=latency,
        compute_energy_pj=ops * tech.mac_energy_pj(acc.bits), buffer_energy_pj=0.0,
        dram_energy_pj=dram_words * tech.dram_energy_pj(acc.bits),
        leakage_energy_pj=tech.leakage_pj_per_cycle(acc.onchip_bits, clock_ghz=acc.clock_ghz) * latency)


def min_bank_words(network: Network) -> int:
    """The smallest data-buffer bank that holds a row of every layer of ``network`` (module docstring)."""
    return max(max(x.C, x.K) if x.op in BUTTERFLY_OPS else (x.C + x.K) // x.groups for x in network.layers)


def price_network(network: Network, acc: ButterflyAccelerator) -> ButterflyNetworkCost:
    """Every layer and vector op of ``network`` on ``acc`` (butterfly stages fused per matrix)."""
    groups = _stage_groups(network.layers)
    layers = []
    for layer in network.layers:
        first, last, words = groups.get(layer.name, (True, True, layer.weights_words))
        layers.append(price_layer(layer, acc, first=first, last=last, matrix_weight_words=words))
    return ButterflyNetworkCost(network=network.name, accelerator=acc, layers=tuple(layers),
                                vector_ops=tuple(price_vector_op(v, acc) for v in network.vector_ops))


@dataclass(frozen=True, slots=True)
class NetworkPlan:
    """A network's distinct (layer shape, place in a fused butterfly) with their counts: what a design sweep
    prices, once per distinct entry (equal shapes in equal places cost the same)."""

    entries: tuple[tuple[Layer, bool, bool, int, int], ...]  # layer, first, last, matrix weight words, count
    vector_ops: tuple[tuple[VectorOp, int], ...]

    @classmethod
    def of(cls, network: Network) -> NetworkPlan:
        groups = _stage_groups(network.layers)
        counts: dict[tuple[object, ...], list[Any]] = {}
        for layer in network.layers:
            first, last, words = groups.get(layer.name, (True, True, layer.weights_words))
            key = (layer.shape_key(), layer.op, first, last, words)
            counts.setdefault(key, [layer, first, last, words, 0])[4] += 1
        ops: dict[tuple[str, int, int], list[Any]] = {}
        for v in network.vector_ops:
            ops.setdefault((v.kind, v.rows, v.width), [v, 0])[1] += 1
        return cls(entries=tuple(tuple(x) for x in counts.values()),  # type: ignore[misc]
                   vector_ops=tuple((v, n) for v, n in ops.values()))


def price_totals(plan: NetworkPlan, acc: ButterflyAccelerator) -> tuple[float, int]:
    """(energy pJ, latency cycles) of a network on ``acc``: :func:`price_network`'s totals, faster."""
    energy, latency = 0.0, 0
    for layer, first, last, words, n in plan.entries:
        c = price_layer(layer, acc, first=first, last=last, matrix_weight_words=words)
        energy += n * c.energy_pj
        latency += n * c.latency_cycles
    for v, n in plan.vector_ops:
        c = price_vector_op(v, acc)
        energy += n * c.energy_pj
        latency += n * c.latency_cycles
    return energy, latency
