"""The butterfly accelerator's cost model against hand counts, and its search (``hwsearch --model butterfly``)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from coexplore.cost.butterfly import ButterflyAccelerator, price_layer, price_network
from coexplore.errors import InfeasibleError, SpecError
from coexplore.hwsearch.butterfly_search import ButterflySpace, search_butterfly
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network
from coexplore.presets.transformers import EncoderBuilder
from coexplore.spec.technology import get_technology
from coexplore.spec.workload import Layer


def _acc(**kw: object) -> ButterflyAccelerator:
    base: dict[str, object] = {"engines": 2, "units_per_engine": 2, "data_buffer_words": 64,
                               "coef_buffer_words": 1024, "bits": 16}
    return ButterflyAccelerator(**{**base, **kw})  # type: ignore[arg-type]


def _butterfly_net(n_in: int, n_out: int, rows: int, op: str = "butterfly"):
    b = EncoderBuilder()
    b.butterfly("m", n_in, n_out, rows, op=op, weights_from="parameters" if op == "butterfly" else "constants")
    return b.network("bfly")


def test_butterfly_matrix_cycles_and_traffic_by_hand() -> None:
    # size-8 butterfly on 5 rows, 2 BEs x 2 BUs: 3 stages of 4 butterflies per row;
    # row tiles ceil(5/2) = 3, each stage 3 * ceil(4/2) = 6 cycles (authors' L/(2 BU) log2 L = 6 per row tile)
    acc = _acc()
    cost = price_network(_butterfly_net(8, 8, 5), acc)
    assert [x.compute_cycles for x in cost.layers] == [6, 6, 6]
    assert cost.latency_cycles == 18  # unlimited bandwidth: compute sets the pace
    # DRAM: weights 2*8 = 16 per stage (whole matrix 48 words fits 1024); inputs 5*8 in stage 0, outputs in stage 2
    assert [x.dram_words for x in cost.layers] == [16 + 40, 16, 16 + 40]
    tech = get_technology("45nm")
    add, mac = tech.add_energy_pj(16), tech.mac_energy_pj(16)
    mid = cost.layers[1]
    assert mid.compute_energy_pj == pytest.approx(5 * 4 * (4 * (mac - add) + 2 * add))  # 4 mult + 2 add each
    # data buffer: 2 reads + 2 writes per butterfly; coef: 4 words per butterfly per row tile + the 16-word fill
    assert mid.data_buffer_accesses == 4 * 20
    assert mid.coef_buffer_accesses == 3 * 4 * 4 + 16
    bank, coef = tech.sram_read_energy_pj(32, 16), tech.sram_read_energy_pj(1024, 16)
    assert mid.buffer_energy_pj == pytest.approx(80 * bank + (48 + 16) * coef)
    assert mid.dram_energy_pj == pytest.approx(16 * tech.dram_energy_pj(16))


def test_fft_mode_uses_twiddles_and_six_adders() -> None:
    acc = _acc()
    fft = price_network(_butterfly_net(8, 8, 5, op="fft"), acc).layers[1]
    lin = price_network(_butterfly_net(8, 8, 5), acc).layers[1]
    tech = get_technology("45nm")
    add = tech.add_energy_pj(16)
    assert fft.mode == "fft" and lin.mode == "butterfly"
    assert fft.compute_cycles == lin.compute_cycles
    assert fft.compute_energy_pj - lin.compute_energy_pj == pytest.approx(20 * 4 * add)  # 4 more adds per butterfly
    assert fft.coef_buffer_accesses == 3 * 4 * 2 + 16  # one complex twiddle (2 words) per butterfly


def test_widening_butterfly_and_coef_overflow() -> None:
    # 4 -> 8: 2 stages, each 8/2 = 4 butterflies per row (two size-4 butterflies side by side)
    net = _butterfly_net(4, 8, 3)
    acc = _acc(engines=1, units_per_engine=1)
    c = price_network(net, acc)
    assert [x.compute_cycles for x in c.layers] == [3 * 4, 3 * 4]
    # coefficient buffer smaller than the matrix (2 x 16 words): weights reloaded per row tile (3 tiles)
    small = price_network(net, _acc(engines=1, units_per_engine=1, coef_buffer_words=16))
    assert [x.dram_words for x in small.layers] == [16 * 3 + 3 * 4, 16 * 3 + 3 * 8]


def test_dense_layer_by_hand() -> None:
    # fc K=6, C=10, 7 rows on 4 BEs x 1 BU: 4 MAC lanes per BE; 2 row tiles x ceil(60/4) = 30 cycles
    layer = Layer(name="fc", K=6, C=10, N=7, op="fc")
    acc = _acc(engines=4, units_per_engine=1)
    c = price_layer(layer, acc)
    assert c.mode == "dense" and c.compute_cycles == 30
    assert c.dram_words == 60 + 70 + 42
    assert c.data_buffer_accesses == (7 * 10 * 2 + 42) + (42 + 70)
    assert c.coef_buffer_accesses == 2 * 60 + 60
    tech = get_technology("45nm")
    assert c.compute_energy_pj == pytest.approx(7 * 60 * tech.mac_energy_pj(16))


def test_bmm_groups_run_one_after_another() -> None:
    # scores of 2 heads: G=2, Kg=6 keys, Cg=4; one group's 24 words fit a 32-word coefficient buffer
    layer = Layer(name="s", K=12, C=8, N=6, groups=2, op="bmm", weights_from="activations")
    c = price_layer(layer, _acc(coef_buffer_words=32))
    assert c.dram_words == 48 + 6 * 8 + 6 * 12
    tight = price_layer(layer, _acc(coef_buffer_words=16))
    assert tight.dram_words == 48 * 3 + 6 * 8 + 6 * 12  # reloaded per row tile (ceil(6/2) = 3)


def test_bandwidth_bound_latency() -> None:
    layer = Layer(name="fc", K=6, C=10, N=7, op="fc")
    c = price_layer(layer, _acc(engines=4, units_per_engine=1, dram_bandwidth_words_per_cycle=2.0))
    assert c.latency_cycles == max(30, math.ceil(172 / 2))


def test_refusals_name_the_field() -> None:
    with pytest.raises(SpecError, match=r"engines: must be a positive integer, got 0"):
        _acc(engines=0)
    with pytest.raises(SpecError, match="data_buffer_words: must be even"):
        _acc(data_buffer_words=63)
    with pytest.raises(InfeasibleError, match="a row of 16 words does not fit a data-buffer bank of 8 words"):
        price_network(_butterfly_net(16, 16, 2), _acc(data_buffer_words=16))
    with pytest.raises(SpecError, match="1x1 layers only"):
        price_layer(Layer(name="conv", K=4, C=4, P=4, Q=4, R=3, S=3), _acc())


def test_fabnet_cheaper_than_transformer_on_the_same_design() -> None:
    acc = _acc(engines=16, units_per_engine=4, data_buffer_words=16384, coef_buffer_words=1 << 16,
               dram_bandwidth_words_per_cycle=32.0)
    fab, tr = price_network(get_network("fabnet-lra"), acc), price_network(get_network("lra-transformer"), acc)
    assert tr.latency_cycles > 3 * fab.latency_cycles and tr.energy_pj > 3 * fab.energy_pj


def test_search_respects_budget_and_is_deterministic() -> None:
    preset = get_accelerator("nvdla-256")
    net = get_network("fabnet-lra:layers=1,seq=64")
    a = search_butterfly([net], preset, strategy="random", seed=3, budget_evals=40)
    b = search_butterfly([net], preset, strategy="random", seed=3, budget_evals=40)
    assert a.best == b.best and a.cost == b.cost
    space = ButterflySpace.for_budget(preset)
    assert a.best.multipliers <= preset.n_macs and a.best.onchip_bits <= preset.onchip_bits
    assert not space.violations(a.best)
    assert a.best.clock_ghz == preset.clock_ghz
    rec = a.to_record()
    assert rec["model"] == "butterfly" and rec["best"]["accelerator"]["template"] == "butterfly"
    assert rec["baseline"]["edp"] is not None
    assert rec["best"]["edp"] <= rec["baseline"]["edp"] or rec["best_is_preset"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coexplore.cli.main", *args], capture_output=True, text=True)


def test_cli_hwsearch_butterfly_json_and_bad_option() -> None:
    r = _cli("hwsearch", "--network", "fabnet-lra:layers=1,seq=64", "--budget", "nvdla-256", "--model", "butterfly",
             "--budget-evals", "20", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["best"]["accelerator"]["multipliers"] <= 256
    bad = _cli("hwsearch", "--network", "fabnet-lra", "--budget", "nvdla-256", "--model", "butterfly",
               "--mode", "full")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "mode (--mode)" in bad.stderr.strip().splitlines()[-1]
