"""The FINN-R MVAU cost model (coexplore.cost.fpga_lut), checked against arithmetic done by hand.

Every expected number below is written out from the formulas of the module doc; the board is the
XC7Z020 at 100 MHz, so fps = 1e8 / bottleneck cycles.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from coexplore.cost.fpga_lut import (
    MvauEngine,
    _bram18,
    engine_cost,
    lut_pipeline_cost,
    max_fps,
    over_budget,
)
from coexplore.errors import InfeasibleError, SpecError
from coexplore.presets.boards import get_board
from coexplore.spec.workload import Layer

Z = get_board("xc7z020")
A50 = get_board("xc7a50t")

# 3x3 conv, C=9 -> K=18 on 8x8 outputs: MW = 9*3*3 = 81, MH = 18, NV = 64.
CONV3 = Layer(name="conv3", K=18, C=9, P=8, Q=8, R=3, S=3, padding=(1, 1))
E_CONV3 = MvauEngine(pe=3, simd=9, weight_bits=4, input_bits=4, output_bits=4)
# FC 36 -> 10 (the classifier, no thresholds): MW = 36, MH = 10, NV = 1.
FC = Layer(name="fc", K=10, C=36, op="fc")
E_FC = MvauEngine(pe=10, simd=36, weight_bits=8, input_bits=4, output_bits=None)
# 7x7 conv, C=36 -> K=36 on 4x4 outputs: MW = 36*7*7 = 1764, MH = 36, NV = 16.
CONV7 = Layer(name="conv7", K=36, C=36, P=4, Q=4, R=7, S=7)
E_CONV7 = MvauEngine(pe=1, simd=1, weight_bits=2, input_bits=2, output_bits=2)


def test_conv3x3_pe3_simd9_w4a4b4_by_hand() -> None:
    c = engine_cost(CONV3, E_CONV3)
    # cycles = ceil(18/3) * ceil(81/9) * 64 = 6 * 9 * 64
    assert c.cycles == 3456
    # alpha = log2(81) + 4 + 4 - 1 = 13.3399; + log2(1 + 1/10368) + 1 = 14.3400 -> ceil 15
    assert c.acc_bits == 15 and c.acc_luts == 15
    # mult = 9 * (2*ceil(8/6) - 1) * 8 = 9 * 3 * 8; adder tree = 8 * (2*9 - 1)
    assert (c.mult_luts, c.addertree_luts) == (216, 136)
    # tmem = ceil(18/3) = 6: thr = (2**4 - 1) * 15 * ceil(6/64) = 225; comparators = 15 * 15
    assert (c.thr_luts, c.comp_luts) == (225, 225)
    # wmem = ceil(81*18 / 27) = 54 <= 128: LUTRAM = 3*9*4 * ceil(54/64) = 108, no BRAM
    assert (c.weight_luts, c.bram18k, c.dsp) == (108, 0, 0)
    # LUT = int(300 + 1.1 * 3 * (216 + 136 + 15 + 225 + 225) + 108) = int(300 + 2696.1 + 108)
    assert c.lut == 3104
    p = lut_pipeline_cost([CONV3], [E_CONV3], Z)
    assert p.fps == 28935.185185185186  # 1e8 / 3456
    assert p.latency_ms == 0.03456  # 3456 cycles at 100 MHz


def test_fc_pe10_simd36_w8a4_no_thresholds_by_hand() -> None:
    c = engine_cost(FC, E_FC)
    assert c.cycles == 1  # ceil(10/10) * ceil(36/36) * 1
    # alpha = log2(36) + 8 + 4 - 1 = 16.1699 -> ceil(17.1699...) = 18
    assert c.acc_bits == 18
    # mult = 36 * (2*ceil(12/6) - 1) * 12 = 36 * 3 * 12; adder tree = 12 * (2*36 - 1) = 12 * 71
    assert (c.mult_luts, c.addertree_luts, c.thr_luts, c.comp_luts) == (1296, 852, 0, 0)
    # wmem = ceil(360 / 360) = 1: LUTRAM = 10*36*8 * ceil(1/64) = 2880
    assert (c.weight_luts, c.bram18k) == (2880, 0)
    # LUT = int(300 + 1.1 * 10 * (1296 + 852 + 18) + 2880) = int(300 + 23826 + 2880)
    assert c.lut == 27006
    assert lut_pipeline_cost([FC], [E_FC], Z).fps == 1e8  # one cycle per image


def test_conv7x7_pe1_simd1_w2a2b2_block_ram_by_hand() -> None:
    c = engine_cost(CONV7, E_CONV7)
    assert c.cycles == 1_016_064  # 36 * 1764 * 16
    # alpha = log2(1764) + 2 + 2 - 1 = 13.7846 -> ceil(14.7846...) = 15
    assert c.acc_bits == 15
    # mult = 1 * (2*ceil(4/6) - 1) * 4 = 4; adder tree = 4 * (2 - 1) = 4
    assert (c.mult_luts, c.addertree_luts) == (4, 4)
    # tmem = 36: thr = (2**2 - 1) * 15 * ceil(36/64) = 45; comparators = 3 * 15 = 45
    assert (c.thr_luts, c.comp_luts) == (45, 45)
    # wmem = 1764*36 = 63504 > 128 -> BRAM, width 1*1*2 = 2 bits: ceil(63504/8192) = ceil(7.75) = 8
    assert (c.weight_luts, c.bram18k) == (0, 8)
    # LUT = int(300 + 1.1 * (4 + 4 + 15 + 45 + 45)) = int(300 + 124.3)
    assert c.lut == 424
    assert lut_pipeline_cost([CONV7], [E_CONV7], Z).fps == 98.41899722852104  # 1e8 / 1016064


def test_pipeline_sums_resources_and_the_slowest_engine_sets_fps() -> None:
    p = lut_pipeline_cost([CONV3, FC, CONV7], [E_CONV3, E_FC, E_CONV7], Z)
    assert (p.lut, p.dsp, p.bram18k) == (3104 + 27006 + 424, 0, 8)
    assert p.bottleneck_cycles == 1_016_064
    assert p.latency_cycles == 3456 + 1 + 1_016_064
    assert p.fps == 98.41899722852104
    assert p.latency_ms == 10.19521  # 1,019,521 cycles / 1e5 cycles per ms
    assert over_budget(p, Z) == []


def test_bram_rule_every_width_branch() -> None:
    words = np.array([20000, 9000, 5000, 3000, 1500, 600, 500])
    width = np.array([1, 2, 4, 9, 18, 20, 72])
    # 20000/16K -> 2; 9000/8K -> 2; ceil(5000/4K)*ceil(4/4) = 2; ceil(3000/2K)*ceil(9/9) = 2;
    # ceil(1500/1K)*ceil(18/18) = 2; 600 > 512 words: ceil(600/1K)*ceil(20/18) = 2; ceil(500/512)*ceil(72/36) = 2
    assert _bram18(words, width).tolist() == [2, 2, 2, 2, 2, 2, 2]
    # width 3 uses the 4K x 4 shape, 8 the 2K x 9 shape, 36 at 512 words the 512 x 36 shape
    assert _bram18(np.array([4097, 2049, 512]), np.array([3, 8, 36])).tolist() == [2, 2, 1]


def test_dsp_res_type_moves_the_multipliers_out_of_luts() -> None:
    c = engine_cost(CONV3, dataclasses.replace(E_CONV3, res_type="dsp"))
    # DSP = PE * SIMD * ceil((4 + 4)/48) = 3 * 9 * 1; mult LUTs 0
    assert (c.dsp, c.mult_luts) == (27, 0)
    # LUT = int(300 + 1.1 * 3 * (0 + 136 + 15 + 225 + 225) + 108) = int(300 + 1983.3 + 108)
    assert c.lut == 2391
    assert c.cycles == 3456
    wide = engine_cost(FC, MvauEngine(pe=2, simd=3, weight_bits=16, input_bits=16, output_bits=None, res_type="dsp"))
    assert wide.dsp == 2 * 3 * 1  # ceil(32/48) = 1
    big = lut_pipeline_cost([FC], [dataclasses.replace(E_FC, res_type="dsp")], A50)
    assert big.dsp == 360  # 10 * 36
    assert over_budget(big, A50) == ["needs 360 DSP48 slices, board 'xc7a50t' has 120"]


def _random_cases(n: int, seed: int) -> list[tuple[Layer, MvauEngine]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k, c, r = (int(x) for x in (rng.integers(1, 80), rng.integers(1, 80), rng.choice([1, 3, 5])))
        layer = Layer(name=f"l{i}", K=k, C=c, P=int(rng.integers(1, 9)), Q=int(rng.integers(1, 9)), R=r, S=r)
        b = None if rng.random() < 0.2 else int(rng.integers(1, 16))
        out.append((layer, MvauEngine(pe=int(rng.integers(1, k + 1)), simd=int(rng.integers(1, c * r * r + 1)),
                                      weight_bits=int(rng.integers(1, 16)), input_bits=int(rng.integers(1, 16)),
                                      output_bits=b, input_signed=bool(rng.random() < 0.3),
                                      res_type=str(rng.choice(["lut", "dsp"])))))
    return out


def test_more_bits_never_fewer_luts_and_more_parallelism_never_more_cycles() -> None:
    for layer, e in _random_cases(300, seed=1):
        base = engine_cost(layer, e)
        assert base.lut > 0 and base.cycles > 0
        for f in ("weight_bits", "input_bits"):
            assert engine_cost(layer, dataclasses.replace(e, **{f: getattr(e, f) + 1})).lut >= base.lut
        more_b = 1 if e.output_bits is None else e.output_bits + 1
        assert engine_cost(layer, dataclasses.replace(e, output_bits=more_b)).lut >= base.lut
        if e.pe < layer.K:
            assert engine_cost(layer, dataclasses.replace(e, pe=e.pe + 1)).cycles <= base.cycles
        if e.simd < layer.C * layer.R * layer.S:
            assert engine_cost(layer, dataclasses.replace(e, simd=e.simd + 1)).cycles <= base.cycles


def test_engine_cost_is_memoised_on_the_layer_shape() -> None:
    renamed = dataclasses.replace(CONV3, name="same_shape")
    assert engine_cost(renamed, E_CONV3) is engine_cost(CONV3, E_CONV3)


@pytest.mark.parametrize("field", ["weight_bits", "input_bits", "output_bits"])
@pytest.mark.parametrize("bits", [0, 17])
def test_bits_outside_1_to_16_name_the_field_and_range_in_one_line(field: str, bits: int) -> None:
    with pytest.raises(SpecError) as err:
        dataclasses.replace(E_CONV3, **{field: bits})
    msg = str(err.value)
    assert f"mvau_engine.{field}" in msg and "from 1 to 16" in msg and f"got {bits}" in msg
    assert "bit widths outside the supported set" in msg and "\n" not in msg


def test_engine_wider_than_the_layer_names_the_field_and_limit() -> None:
    with pytest.raises(SpecError, match=r"mvau_engine\.pe: must be at most MH \(K\) = 18 .* got 19"):
        engine_cost(CONV3, dataclasses.replace(E_CONV3, pe=19))
    with pytest.raises(SpecError, match=r"mvau_engine\.simd: must be at most MW \(C/groups\*R\*S\) = 81 .* got 82"):
        engine_cost(CONV3, dataclasses.replace(E_CONV3, simd=82))
    with pytest.raises(SpecError, match=r"mvau_engine\.pe: must be an integer >= 1, got 0"):
        dataclasses.replace(E_CONV3, pe=0)
    with pytest.raises(SpecError, match=r"mvau_engine\.res_type: must be one of lut, dsp, got 'bram'"):
        dataclasses.replace(E_CONV3, res_type="bram")


def test_engine_count_must_match_layer_count() -> None:
    with pytest.raises(SpecError, match=r"engines: must give one engine per layer \(2\), got 1"):
        lut_pipeline_cost([CONV3, FC], [E_CONV3], Z)
    with pytest.raises(SpecError, match="layers: must not be empty"):
        lut_pipeline_cost([], [], Z)


def test_over_budget_names_the_lut_need_and_limit() -> None:
    p = lut_pipeline_cost([CONV3, FC, CONV7], [E_CONV3, E_FC, E_CONV7], Z)
    assert over_budget(p, Z, lut_budget=20_000) == ["needs 30534 LUTs, the LUT budget of 20000"]
    assert over_budget(p, Z, lut_budget=30_534) == []
    small = dataclasses.replace(Z, name="tiny", lut=30_000, bram18k=4)
    assert over_budget(p, small) == ["needs 30534 LUTs, board 'tiny' has 30000",
                                     "needs 8 BRAM18 blocks, board 'tiny' has 4"]


def test_max_fps_matches_brute_force_over_every_engine() -> None:
    a = Layer(name="a", K=6, C=2, P=3, Q=3, R=2, S=2)  # MW = 8, MH = 6, NV = 9
    b = Layer(name="b", K=5, C=12, op="fc")  # MW = 12, MH = 5, NV = 1
    bits = {"weight_bits": 3, "input_bits": 2}

    def engines(layer: Layer, out: int | None) -> list:
        mw = layer.C * layer.R * layer.S
        return [engine_cost(layer, MvauEngine(pe=p, simd=s, output_bits=out, **bits))
                for p, s in itertools.product(range(1, layer.K + 1), range(1, mw + 1))]

    ea, eb = engines(a, 2), engines(b, None)
    for budget in (900, 1200, 1500, 2000, 3000, 10_000):
        fits = [max(x.cycles, y.cycles) for x, y in itertools.product(ea, eb) if x.lut + y.lut <= budget]
        got = max_fps([a, b], Z, output_bits=[2, None], lut_budget=budget, **bits)
        assert got == 1e8 / min(fits)
    with pytest.raises(InfeasibleError, match="LUTs"):
        max_fps([a, b], Z, output_bits=[2, None], lut_budget=500, **bits)
    with pytest.raises(SpecError, match=r"output_bits: must give one value per layer \(2\)"):
        max_fps([a, b], Z, output_bits=[2], lut_budget=500, **bits)
