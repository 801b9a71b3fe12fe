"""Accelerator presets: published designs as coexplore :class:`Accelerator` specs.

Each factory's docstring cites the paper that gives the array shape and the buffer
sizes, and says where the model departs from the chip. All presets share three
modelling choices so that they can be compared with each other:

* Energies, leakage and area come from the "45nm" technology table
  (:mod:`coexplore.spec.technology`), whatever node the chip was built in.
* DRAM is LPDDR4 at 8 pJ/bit, with 64-bit accesses (as in Timeloop's eyeriss_like and
  simba_like). Where the paper gives no off-chip bandwidth, one LPDDR4-3200 x64
  channel is assumed (25.6 GB/s). Bandwidths are in words per cycle at the preset's
  clock.
* Connectivity is data. ``spatial_dims_x``/``spatial_dims_y`` on the level that fans
  out list the loop dimensions each array axis may unroll (coexplore names: R/P are
  filter/output rows, S/Q columns). Levels that do not fan out list none.

Names: ``eyeriss nvdla-256 nvdla-1024 shidiannao edgetpu tpu simba bitfusion`` (the last
in :mod:`coexplore.presets._bitfusion`: a precision-scalable array).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from coexplore.presets._bitfusion import bitfusion
from coexplore.registry import Registry
from coexplore.spec.hardware import Accelerator, MemoryLevel
from coexplore.spec.io import load_accelerator_yaml
from coexplore.spec.technology import make_level, make_mac

__all__ = ["ACCELERATORS", "get_accelerator"]

ACCELERATORS: Registry[Accelerator] = Registry(kind="accelerator")

_TECH = "45nm"
_KIB = 1024
_MIB = 1024 * 1024
_LPDDR4_X64_GBPS = 25.6  # one LPDDR4-3200 x64 channel: 3200 MT/s * 8 bytes


def _dram(word_bits: int, clock_ghz: float, gbytes_per_s: float) -> MemoryLevel:
    """LPDDR4 main memory: 64-bit accesses, ``gbytes_per_s`` shared by reads and writes."""
    words_per_cycle = gbytes_per_s / clock_ghz / (word_bits / 8)
    return make_level(
        name="dram", technology_class="dram", size_words=None, word_bits=word_bits,
        block_size_words=64 // word_bits, spatial_dims_x=(), spatial_dims_y=(),
        shared_bandwidth_words_per_cycle=words_per_cycle, clock_ghz=clock_ghz, technology=_TECH,
    )


def _level(name: str, cls: str, size_words: int, word_bits: int, mesh: tuple[int, int], keeps: Iterable[str],
           clock_ghz: float, *, must_keep: Iterable[str] = (), block: int = 1, dims_x: Iterable[str] = (),
           dims_y: Iterable[str] = (), reduction: bool = True, read_bw: float | None = None,
           write_bw: float | None = None) -> MemoryLevel:
    return make_level(
        name=name, technology_class=cls, size_words=size_words, word_bits=word_bits, block_size_words=block,
        mesh_x=mesh[0], mesh_y=mesh[1], keeps=keeps, must_keep=must_keep, spatial_dims_x=dims_x,
        spatial_dims_y=dims_y, spatial_reduction=reduction, read_bandwidth_words_per_cycle=read_bw,
        write_bandwidth_words_per_cycle=write_bw, clock_ghz=clock_ghz, technology=_TECH,
    )


def _accelerator(name: str, levels: tuple[MemoryLevel, ...], bits: int, mesh: tuple[int, int],
                 clock_ghz: float, description: str, source: str, dataflow: str) -> Accelerator:
    return Accelerator(
        name=name, levels=levels, mac=make_mac(bits=bits, mesh_x=mesh[0], mesh_y=mesh[1], technology=_TECH),
        clock_ghz=clock_ghz, technology=_TECH, description=description,
        metadata=(("source", source), ("dataflow", dataflow)),
    )


@ACCELERATORS.register("eyeriss")
def eyeriss() -> Accelerator:
    """Eyeriss: 14x12 = 168 PEs, row-stationary, 16-bit fixed point, 108 KB global buffer.

    Source: Y.-H. Chen et al., "Eyeriss: An Energy-Efficient Reconfigurable Accelerator
    for Deep CNNs", ISSCC 2016 / IEEE JSSC 2017 (168 PEs, 108 KB global buffer, per-PE
    scratchpads of 12 ifmap + 224 filter + 24 psum 16-bit words, about 0.5 KB). Dataflow:
    Chen et al., ISCA 2016. Measured at a 200 MHz core clock, with a 64-bit off-chip bus
    on a 60 MHz link clock (0.48 GB/s = 1.2 words/cycle).

    Model: as in Timeloop's eyeriss_like, the scratchpads are three single-dataspace
    register files (innermost psum, then weights, then ifmap), but they have the chip's
    sizes (eyeriss_like uses 192 filter and 16 psum words). Weights bypass the global
    buffer. The glb fans out 14 (X) x 12 (Y). Following eyeriss_like's constraints
    (``shared_glb`` spatial: Q, M along X; ``DummyBuffer`` spatial: S, C, M along Y,
    translated to coexplore names), X may unroll output rows P and output channels K,
    and Y may unroll filter rows R, input channels C and K. The DummyBuffer container is
    not needed because each axis here has its own dimension set. eyeriss_like's
    per-level temporal constraints are not part of the spec.
    """
    clock, mesh = 0.2, (14, 12)

    def spad(name: str, size_words: int, dataspace: str) -> MemoryLevel:
        return _level(name, "regfile", size_words, 16, mesh, {dataspace}, clock, must_keep={dataspace},
                      read_bw=2, write_bw=2)

    levels = (
        spad("psum_spad", 24, "outputs"),
        spad("weights_spad", 224, "weights"),
        spad("ifmap_spad", 12, "inputs"),
        _level("shared_glb", "sram", 108 * _KIB // 2, 16, (1, 1), {"inputs", "outputs"}, clock,
               must_keep={"inputs", "outputs"}, block=4, dims_x={"P", "K"}, dims_y={"R", "C", "K"},
               read_bw=16, write_bw=16),
        _dram(16, clock, 8 * 0.06),  # 64-bit bus on a 60 MHz link clock = 0.48 GB/s
    )
    return _accelerator("eyeriss", levels, 16, mesh, clock, "Eyeriss (168 PEs, row-stationary, 16-bit)",
                        "Chen et al., ISSCC 2016 / JSSC 2017; ISCA 2016", "row-stationary")


def _nvdla(name: str, atomic_c: int, atomic_k: int, cbuf_kib: int) -> Accelerator:
    clock, mesh = 1.0, (atomic_c, atomic_k)
    levels = (
        _level("weight_reg", "regfile", 1, 8, mesh, {"weights"}, clock, must_keep={"weights"}),
        _level("accumulator", "regfile", 32, 32, (1, atomic_k), {"outputs"}, clock, dims_x={"C"}),
        _level("cbuf", "sram", cbuf_kib * _KIB, 8, (1, 1), {"inputs", "weights"}, clock, block=atomic_c,
               dims_y={"K"}, read_bw=2 * atomic_c, write_bw=atomic_c),
        _dram(8, clock, _LPDDR4_X64_GBPS),
    )
    return _accelerator(
        name, levels, 8, mesh, clock, f"NVDLA-like {atomic_c}x{atomic_k} = {atomic_c * atomic_k} MACs, "
        f"weight-stationary, int8, {cbuf_kib} KB CBUF", "NVIDIA NVDLA hardware architecture documentation "
        "(nvdla.org, 2017)", "weight-stationary")


@ACCELERATORS.register("nvdla-256")
def nvdla_256() -> Accelerator:
    """NVDLA-like, 32 x 8 = 256 int8 MACs, 128 KB CBUF (nv_full scaled down by 4).

    Sources and model as for ``nvdla-1024`` (below). Both atomic-C and atomic-K are halved, which keeps
    nv_full's 4:1 C:K shape (16x16 would have been the other choice). The CBUF shrinks
    in proportion to the MACs, from 512 KB to 128 KB. Everything else is as in
    ``nvdla-1024``.
    """
    return _nvdla("nvdla-256", 32, 8, 128)


@ACCELERATORS.register("nvdla-1024")
def nvdla_1024() -> Accelerator:
    """NVDLA nv_full-like: atomic-C 64 x atomic-K 16 = 1024 int8 MACs, 512 KB CBUF.

    Source: the NVIDIA Deep Learning Accelerator hardware architecture documentation
    (nvdla.org). In the convolution core (CMAC), one weight per MAC is held while
    feature data streams by, and each of the atomic-K MAC cells reduces atomic-C
    products. nv_full has atomic-C = 64, atomic-K = 16 and a 512 KB convolution buffer
    (CBUF). "nvdla-1024" is the name NAAS (Lin et al., 2021) uses for this budget.

    Model: X unrolls C, with an adder tree into a per-K-column accumulator (CACC). Y
    unrolls K, and the CBUF's feature data is multicast to the columns. The CBUF holds
    inputs and weights. Outputs leave through the accumulator (32 x 32-bit words per
    column, an assumed stripe length) to DRAM. The clock (1 GHz) and the LPDDR4 x64 DRAM
    are assumptions.
    """
    return _nvdla("nvdla-1024", 64, 16, 512)


@ACCELERATORS.register("shidiannao")
def shidiannao() -> Accelerator:
    """ShiDianNao: 8x8 PEs, output-stationary, 16-bit; NBin 64 KB, NBout 64 KB, SB 128 KB.

    Source: Z. Du et al., "ShiDianNao: Shifting Vision Processing Closer to the Sensor",
    ISCA 2015 (8x8 PE array at 1 GHz, 16-bit fixed point, NBin/NBout 64 KB each,
    SB 128 KB). Each PE accumulates one output neuron. Inputs move between neighbouring
    PEs, and synapses are broadcast.

    Model: a 1-word output register per PE. The three buffers are separate
    single-dataspace levels, so each keeps its published capacity: innermost NBin (fans
    out to the array), then NBout, then SB. X unrolls output columns Q and Y output rows
    P. There is no spatial reduction. Input forwarding between PEs is approximated by
    multicast from NBin. NBin/NBout move one array row (8 words) per access. The chip
    has no DRAM (a whole network fits on it). An LPDDR4 x64 top level is added so that
    larger networks can be evaluated.
    """
    clock, mesh = 1.0, (8, 8)
    levels = (
        _level("pe_reg", "regfile", 1, 16, mesh, {"outputs"}, clock, must_keep={"outputs"}),
        _level("nbin", "sram", 64 * _KIB // 2, 16, (1, 1), {"inputs"}, clock, block=8, dims_x={"Q"},
               dims_y={"P"}, reduction=False),
        _level("nbout", "sram", 64 * _KIB // 2, 16, (1, 1), {"outputs"}, clock, block=8),
        _level("sb", "sram", 128 * _KIB // 2, 16, (1, 1), {"weights"}, clock),
        _dram(16, clock, _LPDDR4_X64_GBPS),
    )
    return _accelerator("shidiannao", levels, 16, mesh, clock,
                        "ShiDianNao (8x8 PEs, output-stationary, 16-bit)", "Du et al., ISCA 2015",
                        "output-stationary")


@ACCELERATORS.register("edgetpu")
def edgetpu() -> Accelerator:
    """EdgeTPU-like: 64x64 = 4096 int8 MACs at 500 MHz, per-PE registers, 8 MB on-chip SRAM.

    Sources: Coral Edge TPU, 4 TOPS int8 peak (coral.ai datasheet). 4096 MACs x 2 ops x
    0.5 GHz = 4.1 TOPS, which gives the 64x64 array at 500 MHz. The Edge TPU compiler
    documentation (coral.ai) says there is about 8 MB of SRAM for caching model
    parameters. NAAS (Lin et al., DAC 2021) uses the EdgeTPU's resources as a search
    budget. ZigZag's edge_tpu_like config (8x8x4x4 = 1024 MACs, 32 KB + 2 MB SRAM) was
    not used, because it is a smaller, 1024-MAC template, not the chip's peak
    throughput. ZigZag's per-MAC 1-byte weight and output registers were kept.

    Model: systolic-style and weight-stationary like ``tpu``. X unrolls K, with inputs
    multicast along the rows. Y unrolls C, with partial sums reduced down the columns.
    Each PE has a weight register (8-bit) and a partial-sum register (32-bit). One 8 MB
    buffer holds all dataspaces. DRAM is LPDDR4 x64 (an assumption).
    """
    clock, mesh = 0.5, (64, 64)
    levels = (
        _level("weight_reg", "regfile", 1, 8, mesh, {"weights"}, clock, must_keep={"weights"}),
        _level("psum_reg", "regfile", 1, 32, mesh, {"outputs"}, clock),
        _level("buffer", "sram", 8 * _MIB, 8, (1, 1), {"weights", "inputs", "outputs"}, clock, block=64,
               dims_x={"K"}, dims_y={"C"}, read_bw=128, write_bw=64),
        _dram(8, clock, _LPDDR4_X64_GBPS),
    )
    return _accelerator("edgetpu", levels, 8, mesh, clock,
                        "EdgeTPU-like (64x64 MACs, weight-stationary, int8)",
                        "Coral Edge TPU datasheet (4 TOPS); NAAS, Lin et al., DAC 2021", "weight-stationary")


@ACCELERATORS.register("tpu")
def tpu() -> Accelerator:
    """TPU-v1-like: 256x256 int8 weight-stationary systolic array, 24 MiB UB, 4 MiB accumulators.

    Source: N. P. Jouppi et al., "In-Datacenter Performance Analysis of a Tensor
    Processing Unit", ISCA 2017. It gives a 256x256 8-bit MAC array at 700 MHz, a
    24 MiB Unified Buffer, 4 MiB of 32-bit accumulators (4096 per column), a weight FIFO
    four 64 KiB tiles deep, and 34 GB/s of weight-memory bandwidth (48.6 bytes/cycle).

    Model: per-MAC weight registers. Inputs enter on the rows and move across the
    columns (X unrolls K, multicast). Partial sums flow down the columns into per-column
    accumulators (Y unrolls C, spatial reduction). The weight FIFO keeps weights. The UB
    keeps inputs and outputs and is bypassed by weights, which come from DRAM. The
    UB and the FIFO move 256 words per access. DRAM energy is LPDDR4's (the chip used
    DDR3), like every preset.
    """
    clock, mesh = 0.7, (256, 256)
    levels = (
        _level("weight_reg", "regfile", 1, 8, mesh, {"weights"}, clock, must_keep={"weights"}),
        _level("accumulators", "sram", 4096, 32, (256, 1), {"outputs"}, clock, dims_y={"C"}),
        _level("weight_fifo", "sram", 4 * 64 * _KIB, 8, (1, 1), {"weights"}, clock, block=256, dims_x={"K"},
               read_bw=256, write_bw=256),
        _level("unified_buffer", "sram", 24 * _MIB, 8, (1, 1), {"inputs", "outputs"}, clock, block=256,
               read_bw=256, write_bw=256),
        _dram(8, clock, 34.0),
    )
    return _accelerator("tpu", levels, 8, mesh, clock,
                        "TPU-v1-like (256x256 systolic, weight-stationary, int8)", "Jouppi et al., ISCA 2017",
                        "weight-stationary")


@ACCELERATORS.register("simba")
def simba() -> Accelerator:
    """Simba-like chiplet: 4x4 PEs x 64 MACs = 1024 int8 MACs, two spatial stages.

    Source: Y. S. Shao et al., "Simba: Scaling Deep-Learning Inference with
    Multi-Chip-Module-Based Architecture", MICRO 2019. One chiplet has 16 PEs. Each PE
    has 8 vector MACs of 8 lanes, a 32 KB weight buffer, an 8 KB input buffer and a 3 KB
    accumulation buffer (24-bit partial sums). The chiplet's global PE buffer is 64 KB.

    Model: the level order follows Timeloop's simba_like. Innermost are the per-MAC
    weight registers, then per PE the accumulation, weight and input buffers, then the
    global buffer, which weights bypass, then DRAM. Stage 1 goes from the global buffer
    to 4x4 PEs and unrolls K and C on both axes (simba_like's inter_PE_spatial allows M
    and C). Stage 2 goes from a PE to its 8x8 MACs: X (the lanes) unrolls C, reduced
    within the vector MAC, and Y (the vector MACs) unrolls K, sharing inputs. The clock
    (1 GHz) is Timeloop simba_like's. The LPDDR4 x64 DRAM is an assumption (one chiplet
    of the package).
    """
    clock, pes, macs = 1.0, (4, 4), (32, 32)
    levels = (
        _level("weight_reg", "regfile", 1, 8, macs, {"weights"}, clock, must_keep={"weights"}),
        _level("accumulation_buffer", "sram", 3 * _KIB * 8 // 24, 24, pes, {"outputs"}, clock,
               dims_x={"C"}, dims_y={"K"}),
        _level("weight_buffer", "sram", 32 * _KIB, 8, pes, {"weights"}, clock, block=8),
        _level("input_buffer", "sram", 8 * _KIB, 8, pes, {"inputs"}, clock, block=8),
        _level("global_buffer", "sram", 64 * _KIB, 8, (1, 1), {"inputs", "outputs"}, clock, block=32,
               dims_x={"K", "C"}, dims_y={"K", "C"}),
        _dram(8, clock, _LPDDR4_X64_GBPS),
    )
    return _accelerator("simba", levels, 8, macs, clock, "Simba-like chiplet (16 PEs x 64 MACs, int8)",
                        "Shao et al., MICRO 2019", "weight-stationary (PE-level), K/C unrolled")


ACCELERATORS.register("bitfusion")(bitfusion)


def get_accelerator(name_or_path: str | Path) -> Accelerator:
    """A preset by name, or an accelerator YAML file in coexplore's own format.

    Raises:
        RegistryError: neither a preset name nor a YAML path. The message lists the presets.
        InteropError: the file is in ZigZag's format (``coexplore.api.resolve_accelerator`` imports it).
        SpecError: the file is missing, malformed or invalid. Every problem is listed.
    """
    text = str(name_or_path)
    if text in ACCELERATORS:
        return ACCELERATORS.get(text)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        return load_accelerator_yaml(path)
    return ACCELERATORS.get(text)
