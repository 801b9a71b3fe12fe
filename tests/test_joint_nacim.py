"""NACIM's problems (networks x computing-in-memory crossbars), its strategy, recipes and the ``cim`` command."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from coexplore.cost.cim import max_adc_bits, price_network
from coexplore.errors import SpecError
from coexplore.joint.nacim import ADC_BITS, CELL_BITS, COLS_PER_ADC, DEVICES, SUB_ARRAYS, NB201CimProblem
from coexplore.joint.problem import PairBatch
from coexplore.joint.registry import make_joint_strategy

HAVE_TABLE = importlib.util.find_spec("analognasbench") is not None
needs_table = pytest.mark.skipif(not HAVE_TABLE, reason="analog-nasbench not installed (pip install 'coexplore[cim]')")

CONV3 = np.array([3, 3, 3, 3, 3, 3])  # NB201 operation index 3: nor_conv_3x3 on every edge


def _hw(device: str, sub_array: int, cell_bits: int, adc_bits: int, cols: int) -> np.ndarray:
    return np.array([DEVICES.index(device), SUB_ARRAYS.index(sub_array), CELL_BITS.index(cell_bits),
                     ADC_BITS.index(adc_bits), COLS_PER_ADC.index(cols)])


@needs_table
def test_design_rules_clamp_choices_and_equal_designs_are_equal_rows() -> None:
    p = NB201CimProblem()
    # RRAM holds at most 3 bits per cell: a 4-bit choice is 2 (the widest of 1, 2, 4 dividing 8 and <= 3)
    d = p.design(CONV3, _hw("rram", 128, 4, 8, 8))
    assert (d.cell_bits, d.adc_bits) == (2, max_adc_bits(128, 2)) == (2, 9)  # lossless ADC by default
    assert p.design(CONV3, _hw("sram", 64, 4, 3, 4)).cell_bits == 1
    assert p.design(CONV3, _hw("fefet", 256, 4, 3, 16)).cell_bits == 4
    _, h = p.canonical(np.stack([CONV3, CONV3]), np.stack([_hw("rram", 128, 4, 3, 8), _hw("rram", 128, 2, 8, 8)]))
    assert (h[0] == h[1]).all() and h[0, 2] == CELL_BITS.index(2) and h[0, 3] == 0
    searched = NB201CimProblem(search_adc=True)
    assert searched.design(CONV3, _hw("rram", 64, 1, 8, 8)).adc_bits == 7  # a 64-row 1-bit column: 65 levels
    assert searched.design(CONV3, _hw("rram", 128, 2, 4, 8)).adc_bits == 4
    # the chip holds the whole network: no streaming, the fewest tiles that fit
    net = p.space.to_network(p.cell(CONV3))
    cost = price_network(net, d)
    assert not cost.streaming and p.cost(CONV3, _hw("rram", 128, 4, 8, 8)).energy_pj == pytest.approx(cost.energy_pj)


@needs_table
def test_nb201_accuracy_is_the_table_degenerate_cells_and_area_are_rejected_before_a_query() -> None:
    from coexplore.nas.analog_table import load_analog_table

    p = NB201CimProblem(max_area_mm2=10.0)  # all-conv3x3 cell: 8.5 mm^2 on the small design, 24 on the big
    none = np.zeros(6, dtype=np.int64)  # every edge 'none'
    hw_small, hw_big = _hw("rram", 64, 1, 3, 16), _hw("sram", 256, 1, 3, 4)
    cands = PairBatch(np.stack([CONV3, none, CONV3]), np.stack([hw_small, hw_small, hw_big]))
    ev = p.evaluate(cands)
    index = p.space.index(p.cell(CONV3))
    table = load_analog_table()
    assert ev.feasible.tolist() == [True, False, False]
    assert -ev.values[0, 0] == table.column("noisy_accuracy")[index]
    assert ev.values[0, 1] == pytest.approx(p.cost(CONV3, hw_small).edp)
    assert "degenerate cell" in ev.reasons[1] and "over the area spec" in ev.reasons[2]
    assert p.queried == {index}  # the rejected pairs read nothing
    rec = p.describe(cands, 0)
    assert rec["clean_accuracy"] == table.column("baseline_accuracy")[index]
    assert rec["analog_accuracy"] == table.column("analog_accuracy")[index]
    assert rec["accelerator"]["sigma"] > 0 and rec["area_mm2"] <= 10.0
    clean = NB201CimProblem(accuracy_column="baseline_accuracy")
    assert -clean.evaluate(cands).values[0, 0] == table.column("baseline_accuracy")[index]


@needs_table
def test_efficiency_is_tops_per_w_over_the_best_design_of_the_network() -> None:
    p = NB201CimProblem()
    grid = np.stack(np.meshgrid(*[np.arange(c) for c in p.hw_cards], indexing="ij"), -1).reshape(-1, 5)
    rows = PairBatch(np.repeat(CONV3[None], len(grid), axis=0), grid)
    eff = p.efficiency(rows)
    assert eff.max() == pytest.approx(1.0) and (eff > 0).all()
    best = grid[int(eff.argmax())]
    assert p.cost(CONV3, best).tops_per_w == pytest.approx(p.best_tops_per_w(CONV3))


@needs_table
def test_bad_problem_settings_are_named() -> None:
    with pytest.raises(SpecError, match=r"problem\.devices: unknown device 'dram'"):
        NB201CimProblem(devices=("rram", "dram"))
    with pytest.raises(SpecError, match="objectives: space nb201-cim has accuracy and one of edp"):
        NB201CimProblem(objectives=("accuracy", "lut"))
    with pytest.raises(SpecError, match="analog table column: must be one of"):
        NB201CimProblem(accuracy_column="top1")
    with pytest.raises(SpecError, match=r"problem\.max_area_mm2: must be a number > 0"):
        NB201CimProblem(max_area_mm2=-1.0)


@needs_table
def test_the_nacim_controller_learns_on_the_table_and_random_is_its_ablation() -> None:
    p = NB201CimProblem()
    best = {}
    for controller in ("lstm", "random"):
        s = make_joint_strategy("nacim", p, seed=0, budget=96, controller=controller, batch=8)
        seen = []
        for _ in range(12):
            cands = s.ask()
            ev = p.evaluate(cands)
            s.tell(cands, ev)
            seen += (-ev.values[ev.feasible, 0]).tolist()
        best[controller] = max(seen)
        assert len(seen) > 60  # few degenerate cells
    assert min(best.values()) > 80.0  # both find cells that keep 80 % under PCM noise (the best has 88.35)
    with pytest.raises(SpecError, match="strategy nacim: needs a computing-in-memory problem"):
        make_joint_strategy("nacim", object(), seed=0, budget=8)


def test_chain_cim_scores_noisy_accuracy_of_the_variation_aware_network_or_clean_of_the_plain_one() -> None:
    pytest.importorskip("torch", reason="the chains are trained (extra nas)")
    pytest.importorskip("sklearn", reason="the digits come from scikit-learn (extra nas)")
    from coexplore.joint.nacim import ChainCimProblem

    kw = {"epochs": 1, "tune_epochs": 1, "draws": 3, "max_layers": 1}
    aware, plain = ChainCimProblem(variation_aware=True, **kw), ChainCimProblem(variation_aware=False, **kw)
    arch = np.array([0, 0, 0, 1, 1])  # one k3c9 convolution; weights s0.5 (6 bits), activations u2.4
    hw = _hw("rram", 64, 4, 3, 8)  # 4-bit cells do not divide 6 weight bits: 2-bit cells
    cands = PairBatch(arch[None], hw[None])
    assert aware.design(arch, hw).cell_bits == 2 and aware.design(arch, hw).weight_bits == 6
    r = aware.variation(arch, hw)
    assert r.sigma == 0.1 and len(r.aware_noisy.per_draw) == 3  # RRAM's sigma
    assert -aware.evaluate(cands).values[0, 0] == r.aware_noisy.mean
    assert -plain.evaluate(cands).values[0, 0] == plain.variation(arch, hw).plain_clean
    rec = plain.describe(cands, 0)
    assert rec["variation_aware"] is False and rec["noisy_accuracy"] == plain.variation(arch, hw).plain_noisy.mean
    assert rec["formats"] == {"weight": "s0.5", "activation": "u2.4"} and rec["accelerator"]["weight_bits"] == 6
    # layer 0 takes the 8-bit network input, the others the activation format's bits
    d = aware.design(arch, hw)
    net = aware.network(arch)
    first = price_network(net, dataclasses.replace(d, input_bits=8)).layers[0]
    rest = price_network(net, d).layers[1:]
    assert aware.cost(arch, hw).energy_pj == pytest.approx(first.total_energy_pj + sum(x.total_energy_pj for x in rest))
    assert aware.evaluator(2).float_source is aware.evaluator(1).float_source  # one float training per network
    eight = arch.copy()
    eight[-2] = 2  # the same chain with 8-bit weights: its own best design, so both efficiencies stay in (0, 1]
    both = PairBatch(np.stack([arch, eight]), np.stack([hw, hw]))
    eff = aware.efficiency(both)
    assert ((eff > 0) & (eff <= 1)).all() and aware.best_tops_per_w(arch) != aware.best_tops_per_w(eight)


@needs_table
def test_the_nb201_recipe_runs_as_a_study_with_nacims_columns(tmp_path) -> None:
    out = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "codesign", "--recipe", "nacim-nb201",
                          "--budget-evals", "24", "--json", "--no-report", "--storage",
                          f"sqlite:///{tmp_path / 's.db'}"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["strategy"] == "nacim" and data["trials"] == 24 and 0 < data["hypervolume"] <= 100.0
    for e in [*data["front"], data["best"]]:
        assert {"arch", "arch_index", "accelerator", "accuracy", "latency_cycles", "energy_pj", "area_mm2",
                "edp"} <= set(e)
        assert e["accuracy"] == e["noisy_accuracy"] and {"clean_accuracy", "tops_per_w", "tops"} <= set(e)
        assert e["accelerator"]["device"] in DEVICES


@pytest.mark.parametrize(("args", "message"), [
    (["--cell-bits", "3"], "cim.cell_bits: must divide weight_bits=8, got 3"),
    (["--adc-bits", "12"], "cim.adc_bits: must be at most 9"),
    (["--device", "dram"], "cim.device: unknown device 'dram'"),
])
def test_the_cim_command_prices_a_network_and_refuses_bad_designs_in_one_line(args, message) -> None:
    cmd = [sys.executable, "-m", "coexplore.cli.main", "cim", "--network", "chain-digits:k3c9-k5c18"]
    out = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and message in lines[0], out.stderr
    ok = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert [x["name"] for x in data["layers"]] == ["features.0.0", "features.1.0", "classifier"]
    assert data["design"]["tiles"] == 1 and not data["streaming"] and 2 <= data["tops_per_w"] <= 40
