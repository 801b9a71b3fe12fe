"""FPGA boards and Zhang et al.'s tiling model (coexplore.cost.fpga), checked against hand arithmetic.

Bandwidths: the ZedBoard's 4.264 GB/s at 100 MHz is 42.64 bytes per cycle; words are 16-bit
(2 bytes) unless a test says otherwise.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from coexplore.cost.fpga import (
    FpgaDesign,
    check_fits,
    layer_latency,
    pipelined_latency,
    resources,
    shared_latency,
)
from coexplore.errors import InfeasibleError, RegistryError, SpecError
from coexplore.presets.boards import BOARDS, get_board
from coexplore.spec.workload import Layer

Z = get_board("xc7z020")


def conv(name: str, cin: int, cout: int, size: int = 32) -> Layer:
    return Layer(name=name, K=cout, C=cin, P=size, Q=size, R=3, S=3, padding=(1, 1))


def test_boards_have_the_datasheet_numbers() -> None:
    assert BOARDS.names() == ["xc7a50t", "xc7z020", "zcu102"]
    a, z, u = (get_board(n) for n in BOARDS.names())
    assert (a.dsp, a.bram18k, a.lut, a.ff) == (120, 2 * 75, 32_600, 65_200)
    assert (z.dsp, z.bram18k, z.lut, z.ff) == (220, 2 * 140, 53_200, 106_400)
    assert (u.dsp, u.bram18k, u.lut, u.ff, u.part) == (2_520, 2 * 912, 274_080, 548_160, "xczu9eg")
    assert "DS180" in a.source and "DS190" in z.source and "DS891" in u.source
    assert z.bytes_per_cycle == pytest.approx(42.64)


def test_unknown_board_lists_the_valid_ones() -> None:
    with pytest.raises(RegistryError) as info:
        get_board("xc7k325t")
    assert "xc7k325t" in str(info.value)
    assert all(n in str(info.value) for n in ("xc7a50t", "xc7z020", "zcu102"))


def test_bad_board_and_design_report_every_problem() -> None:
    with pytest.raises(SpecError) as info:
        dataclasses.replace(Z, dsp=0, clock_mhz=-1.0)
    assert len(info.value.problems) == 2
    with pytest.raises(SpecError) as info:
        FpgaDesign(Tm=0, Tn=2, Tr=1, Tc=-3, bits=12)
    assert len(info.value.problems) == 3 and "bits" in str(info.value)


def test_resources_by_hand() -> None:
    layers = [conv("c0", 3, 32), conv("c1", 32, 64)]
    # Tn=5 input banks of (2-1+3)*(4-1+3) = 24 words, 22*5 weight banks of 9 words,
    # 22 output banks of 8 words: one RAMB18 each, all double-buffered.
    got = resources(FpgaDesign(Tm=22, Tn=5, Tr=2, Tc=4), layers)
    assert (got.dsp, got.bram18k) == (22 * 5, 2 * (5 + 22 * 5 + 22))
    # 30x30 tiles: input bank (29+3)^2 = 1024 words and output bank 900 words fill one
    # 1Kx18 block at 16 bits but need two 512x36 blocks at 32 bits (float: 5 DSPs per MAC).
    assert resources(FpgaDesign(Tm=2, Tn=3, Tr=30, Tc=30), layers).bram18k == 2 * (3 * 1 + 6 + 2 * 1)
    f32 = resources(FpgaDesign(Tm=2, Tn=3, Tr=30, Tc=30, bits=32), layers)
    assert (f32.dsp, f32.bram18k) == (2 * 3 * 5, 2 * (3 * 2 + 6 + 2 * 2))
    # Zhang et al.'s VC707 design: Tm=64, Tn=7 in float uses 2,240 DSP48s (80% of 2,800).
    assert resources(FpgaDesign(Tm=64, Tn=7, Tr=13, Tc=13, bits=32), [conv("x", 192, 384, 13)]).dsp == 2240


def test_conv_layer_latency_by_hand() -> None:
    got = layer_latency(FpgaDesign(Tm=22, Tn=5, Tr=2, Tc=4), conv("c1", 32, 64), Z)
    compute = 2 * 4 * 3 * 3  # Tr*Tc*K*K = 72
    load = math.ceil(5 * 4 * 6 * 2 / 42.64) + math.ceil(22 * 5 * 9 * 2 / 42.64)  # 6 + 47
    store = math.ceil(22 * 2 * 4 * 2 / 42.64)  # 9
    n_in = math.ceil(32 / 5)  # 7
    group = max(n_in * compute, n_in * load + store)  # max(504, 380) = 504
    n_tiles = math.ceil(64 / 22) * math.ceil(32 / 2) * math.ceil(32 / 4)  # 3 * 16 * 8 = 384
    assert (got.compute_cycles, got.load_cycles, got.store_cycles) == (compute, load, store) == (72, 53, 9)
    assert (got.n_in, got.n_tiles, got.group_cycles) == (n_in, n_tiles, group) == (7, 384, 504)
    assert got.latency_cycles == n_tiles * group + load + store == 193_598
    assert got.bound == "compute"


def test_fc_and_depthwise_latency_by_hand() -> None:
    fc = layer_latency(FpgaDesign(Tm=8, Tn=16, Tr=4, Tc=4), Layer(name="fc", K=10, C=128, op="fc"), Z)
    # 1x1 "conv": tiles clamp to R=C=1; inputs 16 words (1 cycle), weights 8*16 (7), outputs 8 (1).
    group = max(8 * 1, 8 * (1 + 7) + 1)  # 8 input-channel steps, memory bound: 65
    assert fc.latency_cycles == math.ceil(10 / 8) * group + 8 + 1 == 139
    assert fc.bound == "memory"
    dw = Layer(name="dw", K=32, C=32, groups=32, P=16, Q=16, R=3, S=3, padding=(1, 1), op="depthwise")
    got = layer_latency(FpgaDesign(Tm=4, Tn=4, Tr=16, Tc=16), dw, Z)
    # One channel per group, so the 4x4 array does 1 useful MAC per cycle, group after group.
    load = math.ceil(18 * 18 * 2 / 42.64) + math.ceil(9 * 2 / 42.64)  # 16 + 1
    store = math.ceil(16 * 16 * 2 / 42.64)  # 13
    assert got.latency_cycles == 32 * (16 * 16 * 9) + load + store == 73_758


def test_shared_latency_sums_layers_and_converts_to_seconds() -> None:
    layers = [conv("c0", 3, 32), conv("c1", 32, 64)]
    d = FpgaDesign(Tm=22, Tn=5, Tr=2, Tc=4)
    got = shared_latency(d, layers, Z)
    c0 = math.ceil(32 / 22) * 16 * 8 * max(72, 32 + 9) + 32 + 9  # inputs 4 + weights 28 cycles, store 9
    assert [x.latency_cycles for x in got.layers] == [c0, 193_598]
    assert got.latency_cycles == got.processing_cycles == c0 + 193_598 and got.start_cycles == 0
    assert got.seconds == pytest.approx((c0 + 193_598) / 100e6)
    assert got.resources == resources(d, layers)


def test_pipelined_latency_by_hand() -> None:
    layers = [conv("c0", 3, 32), conv("c1", 32, 64)]
    d0, d1 = FpgaDesign(Tm=8, Tn=3, Tr=8, Tc=32), FpgaDesign(Tm=16, Tn=4, Tr=8, Tc=32)
    got = pipelined_latency([d0, d1], layers, Z)
    # c0: comp 8*32*9 = 2304; load ceil(3*10*34*2/42.64) + ceil(8*3*9*2/42.64) = 48 + 11; store 97.
    group0, lat0 = 2304, 4 * 4 * 2304 + 59 + 97
    # c1's first tile reads 4 channels x (10-1 pad = 9 rows) x 32 cols of c0's output: c0's row
    # bands 0 and 1 (Tr=8), one column band; 4 Tm-tiles per band, the first one in band 1 suffices.
    first0 = ((2 - 1) * 1 + 0) * 4 * group0 + 1 * group0 + 59 + 97
    # c1: load ceil(4*340*2/42.64) + ceil(16*4*9*2/42.64) = 64 + 28; store 193; 8 input steps.
    lat1 = 4 * 4 * max(8 * 2304, 8 * 92 + 193) + 92 + 193
    assert [x.latency_cycles for x in got.layers] == [lat0, lat1] == [37_020, 295_197]
    assert got.layers[0].first_output_cycles == first0 == 11_676
    assert (got.start_cycles, got.processing_cycles) == (first0, max(lat0, lat1))
    assert got.latency_cycles == first0 + lat1 == 306_873
    assert (got.resources.dsp, got.resources.bram18k) == (8 * 3 + 16 * 4, 2 * (3 + 24 + 8) + 2 * (4 + 64 + 16))
    assert got.fps == pytest.approx(100e6 / lat1)


def test_one_layer_pipeline_equals_shared_engine() -> None:
    layer, d = conv("c2", 64, 64), FpgaDesign(Tm=10, Tn=10, Tr=8, Tc=8)
    assert pipelined_latency([d], [layer], Z).latency_cycles == shared_latency(d, [layer], Z).latency_cycles


def test_design_over_budget_names_resource_need_and_limit() -> None:
    layers = [conv("c0", 3, 32)]
    with pytest.raises(InfeasibleError) as info:
        shared_latency(FpgaDesign(Tm=16, Tn=16, Tr=8, Tc=8), layers, Z)
    msg = str(info.value)
    assert "needs 256 DSP48 slices" in msg and "has 220" in msg
    assert f"needs {2 * (16 + 256 + 16)} BRAM18 blocks" in msg and "has 280" in msg
    check_fits(resources(FpgaDesign(Tm=4, Tn=4, Tr=8, Tc=8), layers), Z)  # fits: no error
    with pytest.raises(InfeasibleError, match="BRAM18 blocks"):
        pipelined_latency([FpgaDesign(Tm=11, Tn=11, Tr=4, Tc=4)] * 2, [conv("a", 16, 16), conv("b", 16, 16)], Z)
    with pytest.raises(SpecError, match="one design per layer"):
        pipelined_latency([FpgaDesign(Tm=1, Tn=1, Tr=1, Tc=1)], layers * 2, Z)
