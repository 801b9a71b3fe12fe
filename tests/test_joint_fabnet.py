"""FABNet co-design: the workload of a FABNet architecture, the FABNet x butterfly problem, strategy ``fabnet``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from coexplore.cost.butterfly import NetworkPlan, price_network, price_totals
from coexplore.errors import SpecError
from coexplore.joint.fabnet_codesign import FabnetButterflyProblem, FabnetCodesign, sequence_workload
from coexplore.joint.problem import PairBatch
from coexplore.nas.fabnet import FabnetSpace, ListOpsTrainer, SequenceArch
from coexplore.presets.networks import get_network

TINY = FabnetSpace(depths=(1, 2), widths=(32,), seq_lens=(32, 64))


def _problem(**kw: object) -> FabnetButterflyProblem:
    trainer = ListOpsTrainer(steps=5, train_size=64, test_size=32, batch_size=16, warmup=1)
    return FabnetButterflyProblem(budget="nvdla-256", space=TINY, trainer=trainer, **kw)  # type: ignore[arg-type]


def test_workload_macs_by_hand_and_as_the_preset() -> None:
    # one FBfly block, width 32, FFN 64, seq 64: FFT over the width 2*64*32*5, over the sequence 2*32*64*6,
    # butterfly 32 -> 64: 5 stages of 2*64 per row; 64 -> 32: 6 stages of 2*64 per row
    net = sequence_workload(SequenceArch.fabnet(1, abfly=(), width=32, seq_len=64, heads=4))
    fft = 2 * 64 * 32 * 5 + 2 * 32 * 64 * 6
    ffn = 64 * (5 * 2 * 64 + 6 * 2 * 64)
    assert net.macs == fft + ffn
    preset = get_network("fabnet-lra:layers=1,width=32,hidden=64,seq=64")
    assert net.macs == preset.macs and net.params == preset.params
    # ABfly: the four projections become size-32 butterflies (5 stages of 2*32 per row) plus scores and context
    ab = sequence_workload(SequenceArch.fabnet(1, abfly=(0,), width=32, seq_len=64, heads=4))
    assert ab.macs == 4 * 64 * 5 * 2 * 32 + 2 * 64 * 64 * 32 + ffn


def test_price_totals_equal_price_network() -> None:
    prob = _problem()
    row = np.array([1, 0, 1, 1, 0])
    hw = prob.best_hw(row)
    assert hw is not None
    acc = prob.design(hw)
    net = prob.network(row)
    full = price_network(net, acc)
    energy, latency = price_totals(NetworkPlan.of(net), acc)
    assert latency == full.latency_cycles and energy == pytest.approx(full.energy_pj)
    assert not prob.hw_space.violations(acc)


def test_best_hw_is_the_best_feasible_design() -> None:
    prob = _problem()
    row = np.array([0, 0, 0, 0, 0])
    best = prob.best_hw(row)
    assert best is not None
    value = prob.cost_value(prob.cost(row, best))  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    for _ in range(40):
        hw = np.array([rng.integers(c) for c in prob.hw_cards])
        c = prob.cost(row, hw)
        if not isinstance(c, str):
            assert prob.cost_value(c) >= value


def test_evaluate_rejects_over_budget_before_training() -> None:
    prob = _problem()
    too_big = np.array([len(prob.hw_space.engines) - 1, len(prob.hw_space.units) - 1, 0, 0])
    ev = prob.evaluate(PairBatch(np.array([[0, 0, 0, 0, 0]]), too_big[None]))
    assert not ev.feasible[0] and "budget.max_macs" in ev.reasons[0] and "before training" in ev.reasons[0]
    assert prob.train_seconds == {}


def test_strategy_pairs_networks_with_their_best_design_and_is_seeded() -> None:
    prob = _problem()
    runs = []
    for _ in range(2):
        s = FabnetCodesign(seed=1, batch=2, initial=2)
        s.bind(prob, 4)
        batch = s.ask()
        runs.append((batch.arch.copy(), batch.hw.copy()))
        for a, h in zip(batch.arch, batch.hw, strict=True):
            assert np.array_equal(h, prob.best_hw(a))
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])


def test_bad_objectives_and_problem_refused() -> None:
    with pytest.raises(SpecError, match="objectives: space fabnet"):
        _problem(objectives=("accuracy", "perf_per_area"))
    s = FabnetCodesign()
    with pytest.raises(SpecError, match="strategy fabnet: needs the FABNet x butterfly problem"):
        s.setup(object(), 4)


def test_codesign_cli_runs_a_tiny_study(tmp_path: Path) -> None:
    cfg = {"name": "fab-tiny", "problem": {"kind": "codesign", "space": "fabnet", "budget": "nvdla-256",
                                           "depths": [1], "widths": [32], "seq_lens": [32], "steps": 3,
                                           "train_size": 32, "test_size": 16},
           "objectives": ["accuracy", "latency"], "strategy": {"name": "fabnet", "params": {"batch": 1, "initial": 1}},
           "budget": {"trials": 2}, "seed": 0}
    path = tmp_path / "fab.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "codesign", str(path), "--storage",
                        f"sqlite:///{tmp_path / 's.db'}", "--no-report", "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["front"] and out["front"][0]["accelerator"]["template"] == "butterfly"
    assert out["front"][0]["latency_cycles"] > 0
    bad = {**cfg, "problem": {**cfg["problem"], "widths": [48]}}
    path.write_text(yaml.safe_dump(bad))
    r = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "codesign", str(path), "--storage",
                        f"sqlite:///{tmp_path / 's2.db'}", "--no-report", "--json"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "width" in r.stderr
