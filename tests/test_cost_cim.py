"""The crossbar (CIM) model: hand computations, batch == scalar, monotonicity, sanity band, bad input."""

from __future__ import annotations

import dataclasses
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from coexplore.cost.cim import (
    CimDesign,
    design_arrays,
    max_adc_bits,
    price_network,
    price_network_batch,
    tiles_to_fit,
)
from coexplore.errors import RegistryError, SpecError
from coexplore.presets.cim_devices import CIM_DEVICES, get_cim_device
from coexplore.spec.workload import Layer, Network

# K=64, C=32, 8x8 outputs, 3x3 filter: rows = 32*9 = 288, 64 vectors.
LAYER = Layer(name="conv", K=64, C=32, P=8, Q=8, R=3, S=3, padding=(1, 1))
NET = Network(name="one", layers=(LAYER,))


@pytest.fixture(scope="module")
def vgg8() -> Network:
    """The benchmark's VGG-8 (one definition of the network the figures are quoted for)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import bench_cim
    finally:
        sys.path.pop(0)
    return bench_cim.vgg8()


def test_hand_computation_default_rram() -> None:
    # Defaults: rram (R_on 50 kOhm, on/off 10, 0.2 V, 10 ns), 128x128, 2-bit cells, 5-bit ADC,
    # 8 columns per ADC, 22 nm, 1 GHz, capacity 256*4*4 = 4096.
    # cpw = 8/2 = 4; row_blocks = ceil(288/128) = 3; col_blocks = ceil(64*4/128) = 2;
    # sub-arrays = 1*3*2 = 6 (resident).
    # step = ceil(10 ns * 1 GHz) + 1 = 11 cycles; cycles = 64 * 8 bits * 8 mux * 11 = 45,056.
    cost = price_network(NET, CimDesign())
    layer = cost.layers[0]
    assert (layer.subarrays, layer.rounds, layer.cycles) == (6, 1, 45_056)
    assert layer.latency_ns == pytest.approx(45_056.0)
    assert not cost.streaming
    # cells = 288*64*4 = 73,728; G_mean = (20 uS + 2 uS)/2 = 11 uS;
    # one cell read = 0.2^2 * 11e-6 * 10e-9 s = 4.4e-15 J = 0.0044 pJ;
    # E = 64 vectors * 8 bits * 73,728 * 0.5 activity * 0.0044 = 83,047.2192 pJ.
    assert layer.energy_pj["cells"] == pytest.approx(83_047.2192)
    # conversions = 64 * 8 * 1 group * 3 row blocks * 64 * 4 = 393,216;
    # ADC = 1.5625 pJ * 2^(5-8) * 22/32 = 0.13427734375 pJ -> 52,800 pJ.
    assert layer.energy_pj["adc"] == pytest.approx(52_800.0)
    # adder tree: 64 vectors * 64 outputs * (3*4 - 1) adds * (8+8+ceil(log2 288)=25 bits)
    # * 0.1/32 pJ/bit * 22/45 = 1,126,400 * 0.003125 * 0.48889 = 1,720.888... pJ.
    assert layer.energy_pj["adder_tree"] == pytest.approx(1_126_400 * 0.1 / 32 * 22 / 45)
    assert cost.energy_pj == pytest.approx(sum(layer.energy_pj.values()))
    assert cost.tops_per_w == pytest.approx(2 * LAYER.macs / cost.energy_pj)


def test_hand_computation_sram_small_arrays() -> None:
    # SRAM (R_on 40 kOhm, on/off 1e4, 0.8 V, 1 ns), 1-bit cells, 64x64, 4-bit ADC, 4 columns per
    # ADC, 32 nm (ISAAC's node: no scaling), 500 MHz.
    d = CimDesign(device="sram", cell_bits=1, sub_array=64, adc_bits=4, cols_per_adc=4,
                  tech_nm=32.0, clock_mhz=500.0)
    layer = price_network(NET, d).layers[0]
    # cpw = 8; row_blocks = ceil(288/64) = 5; col_blocks = ceil(64*8/64) = 8; sub-arrays = 40.
    # step = ceil(1 ns * 0.5 GHz) + 1 = 2 cycles; cycles = 64 * 8 * 4 * 2 = 4,096 -> 8,192 ns.
    assert (layer.subarrays, layer.rounds, layer.cycles) == (40, 1, 4_096)
    assert layer.latency_ns == pytest.approx(8_192.0)
    # cells = 288*64*8 = 147,456; G_mean = (25 uS + 2.5 nS)/2 = 12.50125 uS;
    # read = 0.64 * 12.50125e-6 * 1e-9 s = 0.0080008 pJ;
    # E = 64*8*147,456*0.5*0.0080008 = 37,748,736 * 0.0080008 = 302,020.0869888 pJ.
    assert layer.energy_pj["cells"] == pytest.approx(302_020.0869888)
    # conversions = 64*8*5*64*8 = 1,310,720; ADC = 1.5625 * 2^-4 = 0.09765625 pJ -> 128,000 pJ;
    # shift-add 0.2 mW / 4 units / 1.2 GHz = 0.041667 pJ -> 54,613.33 pJ.
    assert layer.energy_pj["adc"] == pytest.approx(128_000.0)
    assert layer.energy_pj["shift_add"] == pytest.approx(1_310_720 * 0.2 / 4 / 1.2)
    # Area per sub-array (um^2): cells 64*64*280*0.032^2 = 1,174.40512; 16 ADCs * 1200 * 2^-4 = 1,200;
    # 16 shift-adders * 60 = 960; 64 drivers + 64 mux switches * 170/1024 = 21.25; tile share
    # (0.083+0.090+0.151/4) mm^2 / 96 = 2,195.3125 -> 5,550.96762. Per tile 4 * (4 * 5,550.96762 +
    # 2,870) = 100,295.48192; chip 256 tiles = 25,675,643.37152 um^2.
    cost = price_network(NET, d)
    assert cost.area_um2 == pytest.approx(25_675_643.37152)
    # drivers: 64*8*4*0.5*288*8 = 2,359,296 pulses * 4/1024 mW * 4 ns (2 cycles at 0.5 GHz) = 36,864 pJ.
    # adder tree: 64*64*(5*8-1)*(8+8+9) = 3,993,600 bit-adds * 0.1/32 pJ * 32/45 = 8,874.667 pJ.
    # buffer: (64*288*8 + 64*64*8) = 180,224 bits * 10/64 pJ * 32/45 = 20,024.889 pJ.
    # interconnect: (147,456*8 col blocks + 32,768) = 1,212,416 bits * 0.1 pJ/bit/mm * 32/40
    #   * 0.5*sqrt(25.6756 mm^2) = 2.533557 mm -> 245,737.999 pJ.
    # leakage: (25,675,643.37 - 4096 * 1,174.40512) um^2 * 0.1 mW/mm^2 + 4096*4096 cells * 1 pW
    #   = 2.1033052 mW * 8,192 ns = 17,230.276 pJ.
    # total: 302,020.087 + 36,864 + 128,000 + 54,613.333 + 8,874.667 + 20,024.889 + 245,737.999
    #   + 17,230.276 = 813,365.251 pJ.
    assert layer.energy_pj["drivers"] == pytest.approx(36_864.0)
    assert layer.energy_pj["adder_tree"] == pytest.approx(8_874.6667)
    assert layer.energy_pj["buffer"] == pytest.approx(20_024.8889)
    assert layer.energy_pj["interconnect"] == pytest.approx(245_737.999, rel=1e-8)
    assert layer.energy_pj["leakage"] == pytest.approx(17_230.2763, rel=1e-8)
    assert layer.energy_pj["reload"] == 0.0
    assert cost.energy_pj == pytest.approx(813_365.2513, rel=1e-9)
    assert cost.edp == pytest.approx(813_365.2513 * 8_192.0, rel=1e-9)


def test_streaming_when_the_network_does_not_fit() -> None:
    # Capacity 1*1*2 = 2 < 6 sub-arrays: rounds = 3, each reloading weights row by row:
    # cycles = 3 * 45,056 + 3 * 128 rows * ceil(100 ns * 1 GHz) = 135,168 + 38,400 = 173,568;
    # reload energy = 73,728 cells * 10 pJ = 737,280 pJ.
    d = CimDesign(tiles=1, pes_per_tile=1, subarrays_per_pe=2)
    cost = price_network(NET, d)
    assert cost.streaming
    assert (cost.layers[0].rounds, cost.layers[0].cycles) == (3, 173_568)
    assert cost.layers[0].energy_pj["reload"] == pytest.approx(737_280.0)


def test_tiles_to_fit(vgg8: Network) -> None:
    assert tiles_to_fit(NET, CimDesign()) == 1  # 6 sub-arrays, 16 per tile
    d = CimDesign(device="sram", cell_bits=1)
    tiles = tiles_to_fit(vgg8, d)
    assert not price_network(vgg8, dataclasses.replace(d, tiles=tiles)).streaming
    assert price_network(vgg8, dataclasses.replace(d, tiles=tiles - 1)).streaming


def _grid() -> list[CimDesign]:
    out = []
    for dev, cb in (("rram", 2), ("sram", 1), ("fefet", 4), ("pcm", 1), ("rram-neurosim", 2)):
        for adc in (3, 6):
            for sub, cpa in ((64, 4), (256, 16), (128, 8)):
                for tiles in (2, 64):
                    out.append(CimDesign(device=dev, cell_bits=cb, adc_bits=adc, sub_array=sub,
                                         cols_per_adc=cpa, tiles=tiles, tech_nm=14.0 + tiles % 3 * 10,
                                         clock_mhz=500.0 + 250 * (cb % 2)))
    return out


def test_batch_equals_scalar(vgg8: Network) -> None:
    net, designs = vgg8, _grid()
    batch = price_network_batch(net, design_arrays(designs))
    assert batch["streaming"].any() and not batch["streaming"].all()
    for i, d in enumerate(designs):
        ref = price_network(net, d)
        for key, value in (("latency_ns", ref.latency_ns), ("energy_pj", ref.energy_pj),
                           ("area_um2", ref.area_um2), ("edp", ref.edp), ("tops", ref.tops),
                           ("tops_per_w", ref.tops_per_w)):
            assert batch[key][i] == pytest.approx(value, rel=1e-12), (key, d)
        assert batch["layer_energy_pj"][i] == pytest.approx([x.total_energy_pj for x in ref.layers], rel=1e-12)
        assert list(batch["layer_subarrays"][i]) == [x.subarrays for x in ref.layers]


@pytest.mark.parametrize("device", ["rram", "pcm"])
def test_more_adc_bits_cost_more_energy_and_area(device: str, vgg8: Network) -> None:
    costs = [price_network(vgg8, CimDesign(device=device, adc_bits=b)) for b in range(3, 10)]
    energies, areas = [c.energy_pj for c in costs], [c.area_um2 for c in costs]
    assert all(a < b for a, b in itertools.pairwise(energies))
    assert all(a < b for a, b in itertools.pairwise(areas))


def test_sanity_band_vgg8_rram_2bit(vgg8: Network) -> None:
    assert vgg8.macs == 615_917_568  # 0.616 GMACs
    cost = price_network(vgg8, CimDesign(device="rram", cell_bits=2))
    print(f"VGG-8 CIFAR-10, 8-bit, 2-bit-cell RRAM: {cost.tops_per_w:.2f} TOPS/W, {cost.tops:.3f} TOPS, "
          f"{cost.area_um2:.3e} um2, EDP {cost.edp:.3e} pJ*ns")
    assert 2.0 <= cost.tops_per_w <= 40.0


def test_devices_registry() -> None:
    assert {"rram", "fefet", "sram", "pcm"} <= set(CIM_DEVICES.names())
    for name in CIM_DEVICES:
        dev = get_cim_device(name)
        assert dev.g_on_s > dev.g_off_s > 0 and dev.source
    with pytest.raises(RegistryError, match="valid: rram"):
        get_cim_device("mram")
    with pytest.raises(SpecError, match=r"on_off_ratio: must be > 1, got 1\.0"):
        dataclasses.replace(get_cim_device("rram"), on_off_ratio=1.0)


def test_max_adc_bits() -> None:
    # 128 rows * (2^2 - 1) + 1 = 385 levels -> 9 bits; 64 rows of 1-bit cells: 65 -> 7 bits.
    assert max_adc_bits(128, 2) == 9
    assert max_adc_bits(64, 1) == 7


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cell_bits": 3}, "cim.cell_bits: must divide weight_bits=8, got 3"),
    ({"adc_bits": 10}, "cim.adc_bits: must be at most 9 (a 128-row column of 2-bit cells gives 385 levels), got 10"),
    ({"device": "mram"}, "cim.device: unknown device 'mram'; known: rram, rram-neurosim, fefet, sram, pcm"),
    ({"sub_array": 0}, "cim.sub_array: must be a positive integer, got 0"),
    ({"tiles": -1}, "cim.tiles: must be a positive integer, got -1"),
    ({"device": "sram"}, "cim.cell_bits: must be at most 1 for device 'sram', got 2"),
    ({"cols_per_adc": 3}, "cim.cols_per_adc: must divide sub_array=128, got 3"),
])
def test_bad_input_one_clear_line(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError) as err:
        CimDesign(**kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message
    assert "\n" not in str(err.value)


def test_batch_bad_input_names_the_design() -> None:
    arrays = design_arrays([CimDesign(), CimDesign(sub_array=64)])
    arrays["adc_bits"] = np.array([5, 8])  # 64 rows of 2-bit cells: at most 8 bits -> fine
    price_network_batch(NET, arrays)
    arrays["adc_bits"] = np.array([5, 9])
    with pytest.raises(SpecError, match=r"designs\[1\]\.adc_bits: must be at most 8 .*, got 9$"):
        price_network_batch(NET, arrays)
    arrays["adc_bits"] = np.array([0, 5])
    with pytest.raises(SpecError, match=r"designs\[0\]\.adc_bits: must be > 0, got 0"):
        price_network_batch(NET, arrays)
