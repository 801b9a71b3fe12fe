"""The ``bitfusion`` preset: a precision-scalable (Bit Fusion-like) array of fused bit-level MACs."""

from __future__ import annotations

from dataclasses import replace

from coexplore.spec.hardware import Accelerator, MemoryLevel
from coexplore.spec.technology import make_level, make_mac

__all__ = ["bitfusion"]

_TECH = "45nm"
_KIB = 1024
# Bit Fusion's 45 nm synthesis (results/systolic_array_synth.csv of the simulator: a 4 x 4 array of
# 8-to-2-bit Fusion Units at 500 MHz, 27752.8 um^2 and 3.6735 mW dynamic): per unit 1734.6 um^2 and
# 3.6735 mW / 16 / 500 MHz = 0.4592 pJ per cycle, whatever the precision (more products at fewer bits).
_UNIT_AREA_UM2 = 27752.83558 / 16
_UNIT_PJ_PER_CYCLE = 3.6735e-3 / 16 / 500e6 * 1e12
# The edge configuration's memory interface (bf_e_conf.ini: if_width = 192 bits per cycle).
_INTERFACE_BITS = 192
# Calibrated, not sourced: no DRAM energy of the simulator was found; 2 pJ/bit (a quarter of the
# 45 nm table's LPDDR4 8 pJ/bit) gives off-chip energy the share APQ's Bit Fusion table implies.
_DRAM_PJ_PER_BIT = 2.0


def bitfusion() -> Accelerator:
    """Bit Fusion-like: 16 x 32 Fusion Units of 16 2-bit BitBricks, 500 MHz, WBUF/IBUF/OBUF.

    Source: H. Sharma et al., "Bit Fusion: Bit-Level Dynamically Composable Architecture for
    Accelerating Deep Neural Networks", ISCA 2018, and its simulator's edge configuration
    (github.com/hsharma35/bitfusion, ``bf_e_conf.ini``): a systolic array of N = 16 rows
    (input channels) x M = 32 columns (output channels) of Fusion Units at 500 MHz, each
    unit 16 BitBricks that fuse, in powers of two, into 1 (8x8-bit), 2 (8x4), 4 (4x4, 8x2)
    or 16 (2x2) products per cycle; a 64 KB weight buffer banked per unit, a 32 KB input
    buffer banked per row, a 16 KB output buffer of 32-bit partial sums banked per column,
    and a 192-bit memory interface. 6-bit operands run as 8-bit ones (fusion is in powers of
    two). 45 nm, as the paper's synthesis.

    Model: the MAC array is precision-scalable (``brick_bits=2``,
    :mod:`coexplore.spec.precision`): at a layer's bits each unit becomes ``lanes`` MACs
    along X, each costing the bricks it uses. Innermost, a per-unit weight buffer (its
    fan-out unrolls the fused lanes over input channels C, as the simulator multiplies the
    rows' channel throughput, and over groups G, as the simulator runs depthwise layers);
    then a per-column output buffer whose 16-row fan-out unrolls C (reduced down the column)
    or G; then the input buffer, whose 32-column fan-out unrolls output channels K and
    multicasts inputs along the rows; then DRAM behind the 192-bit interface. The simulator
    double-buffers every SRAM and so uses half of each: the capacities here are those
    halves. Buffer accesses are one bank word: 32 bits for WBUF/IBUF (``8 x 8 / 2``), 32 for
    OBUF. A Fusion Unit costs the energy and area of Bit Fusion's own 45 nm synthesis (per
    cycle, so a product at ``lanes`` per cycle costs 1/lanes of it); buffers come from the 45 nm
    table (not the paper's CACTI numbers). Latency is compute-bound unless the cost model's
    bandwidth option (``throttle``) is on, which the comparison with APQ's Bit Fusion table
    (benchmarks/bench_bitfusion.py) uses.

    Calibrated against that table (so its energy agreement is not independent evidence):
    the DRAM energy, 2 pJ/bit (no source found for the simulator's; the 45 nm table's
    LPDDR4 8 pJ/bit makes off-chip traffic, which lower precision barely cuts for 32-bit
    partial sums, dominate the energy far more than the table's ratios allow).
    """
    clock, units = 0.5, (32, 16)  # X: the M = 32 columns, Y: the N = 16 rows

    def level(name: str, size_bytes: int, word: int, block: int, mesh: tuple[int, int], keep: str,
              dims_x: tuple[str, ...] = (), dims_y: tuple[str, ...] = (), banks: int = 1) -> MemoryLevel:
        return make_level(name=name, technology_class="sram", size_words=size_bytes * 8 // word // 2,
                          word_bits=word, block_size_words=block, mesh_x=mesh[0], mesh_y=mesh[1], keeps={keep},
                          must_keep={keep}, spatial_dims_x=dims_x, spatial_dims_y=dims_y, banks=banks,
                          clock_ghz=clock, technology=_TECH)

    dram_access = _DRAM_PJ_PER_BIT * 64
    levels = (
        level("wbuf", 64 * _KIB // 512, 8, 4, units, "weights", dims_x=("C", "G")),
        level("obuf", 16 * _KIB // 32, 32, 1, (32, 1), "outputs", dims_y=("C", "G")),
        level("ibuf", 32 * _KIB, 8, 4, (1, 1), "inputs", dims_x=("K",), banks=16),
        MemoryLevel(name="dram", size_words=None, word_bits=8, block_size_words=8, spatial_dims_x=frozenset(),
                    spatial_dims_y=frozenset(), shared_bandwidth_words_per_cycle=_INTERFACE_BITS / 8,
                    read_energy_pj=dram_access, write_energy_pj=dram_access, update_energy_pj=dram_access,
                    leakage_pj_per_cycle=0.0, area_mm2=0.0, technology_class="dram"),
    )
    mac = make_mac(bits=8, mesh_x=units[0], mesh_y=units[1], accumulator_bits=32, brick_bits=2, technology=_TECH)
    return Accelerator(
        name="bitfusion", levels=levels,
        mac=replace(mac, energy_pj=_UNIT_PJ_PER_CYCLE, area_mm2=_UNIT_AREA_UM2 * 1e-6),
        clock_ghz=clock, technology=_TECH, description="Bit Fusion-like (16x32 Fusion Units of 2-bit BitBricks)",
        metadata=(("source", "Sharma et al., ISCA 2018; github.com/hsharma35/bitfusion bf_e_conf.ini"),
                  ("dataflow", "weight-stationary systolic, precision-scalable")),
    )
