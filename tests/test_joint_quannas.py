"""QuanNAS's problem (quantized chains x LUT engines under rL and rT) and its two strategies."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np
import pytest

from coexplore.cost.fpga_lut import MvauEngine, lut_pipeline_cost
from coexplore.errors import SpecError
from coexplore.joint.problem import PairBatch
from coexplore.joint.quannas import PE_VALUES, SIMD_VALUES, ChainQuantFpgaProblem
from coexplore.joint.registry import make_joint_strategy
from coexplore.nas.quantize import FixedPoint
from coexplore.presets.boards import get_board


@dataclass
class CountingEvaluator:
    """Accuracy from the network's size and its narrowest format (a stand-in for training), counting calls."""

    input_format: FixedPoint = field(default_factory=lambda: FixedPoint(3, 4, signed=True))
    classifier_weight: FixedPoint = field(default_factory=lambda: FixedPoint(1, 6, signed=True))
    float_calls: int = 0
    quant_calls: int = 0

    def float_accuracy(self, chain) -> float:
        self.float_calls += 1
        return 80.0 + sum(c * s for s, c in chain.layers) / 100.0

    def reference_accuracy(self, chain) -> float:
        return self.float_accuracy(chain) + 0.5

    def quantized_accuracy(self, chain, quant) -> float:
        self.quant_calls += 1
        narrow = min(min(q.weight.bits, q.activation.bits) for q in quant)
        return self.float_accuracy(chain) - 8.0 / narrow


def problem(**kw) -> ChainQuantFpgaProblem:
    args = {"board": get_board("zcu102"), "lut_budget": 100_000, "min_fps": 20_000, "evaluator": CountingEvaluator()}
    return ChainQuantFpgaProblem(**{**args, **kw})


def row(p: ChainQuantFpgaProblem, layers: list[tuple[int, int]], formats: list[tuple[int, int]],
        engines: list[tuple[int, int]], classifier: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Decision rows of a chain (size, count) with format indices and (PE, SIMD) indices per engine."""
    sp, L = p.space, p.space.max_layers
    arch = [len(layers) - 1] + [0] * (2 * L) + [0] * (2 * L)
    for i, (s, c) in enumerate(layers):
        arch[1 + 2 * i], arch[2 + 2 * i] = sp.sizes.index(s), sp.counts.index(c)
        arch[p.n_chain + 2 * i], arch[p.n_chain + 2 * i + 1] = formats[i]
    hw = [0] * (2 * (L + 1))
    for i, (a, b) in enumerate(engines):
        hw[2 * i], hw[2 * i + 1] = a, b
    hw[2 * L], hw[2 * L + 1] = classifier
    return np.array(arch, dtype=np.int64), np.array(hw, dtype=np.int64)


def test_a_pair_is_priced_as_its_engines_on_the_pipeline():
    p = problem()
    arch, hw = row(p, [(3, 18), (5, 36)], [(2, 3), (4, 5)], [(3, 4), (5, 2)], (6, 3))
    got = p.pair(arch, hw)
    wf, af = p.weight_formats, p.activation_formats
    layers = p.space.to_network(p.chain(arch)).layers
    engines = [MvauEngine(pe=6, simd=9, weight_bits=wf[2].bits, input_bits=8, output_bits=af[3].bits,
                          input_signed=True),
               MvauEngine(pe=18, simd=5, weight_bits=wf[4].bits, input_bits=af[3].bits, output_bits=af[5].bits),
               MvauEngine(pe=10, simd=7, weight_bits=8, input_bits=af[5].bits, output_bits=None)]
    want = lut_pipeline_cost(layers, engines, p.board)
    assert (PE_VALUES[3], SIMD_VALUES[4], PE_VALUES[5], SIMD_VALUES[2]) == (6, 9, 18, 5)
    assert got.engines == tuple(engines)  # the classifier's PE 36 is clamped to its 10 rows
    assert (got.cost.lut, got.cost.fps, got.cost.bram18k) == (want.lut, want.fps, want.bram18k)
    kbits = (1 * 9 * 18 * wf[2].bits + 18 * 25 * 36 * wf[4].bits + 36 * 10 * 8) / 1000
    assert got.param_kbits == pytest.approx(kbits)


def test_canonical_zeroes_unused_layers_and_writes_clamped_parallelism_once():
    p = problem()
    arch, hw = row(p, [(3, 9)], [(1, 1)], [(6, 8)], (6, 6))
    arch[p.n_chain + 4] = 3  # a format of an unused layer
    hw[4] = 2  # an engine of an unused layer
    a, h = p.canonical(arch[None], hw[None])
    assert a[0, p.n_chain + 2:].sum() == 0 and h[0, 2:2 * p.space.max_layers].sum() == 0
    # layer 0 has 9 rows and 9 columns: PE 36 -> 9 (index 4), SIMD 225 -> 9 (index 4)
    assert (h[0, 0], h[0, 1]) == (PE_VALUES.index(9), SIMD_VALUES.index(9))
    same = row(p, [(3, 9)], [(1, 1)], [(4, 4)], (6, 6))
    assert p.pair(arch, hw) is p.pair(*same)


def test_a_pair_missing_rl_or_rt_is_pruned_before_training_and_rejected_after_without_pruning():
    slow = problem(min_fps=20_000)
    ev = slow.evaluator
    arch, hw = row(slow, [(7, 36), (7, 36)], [(4, 5), (4, 5)], [(0, 0), (0, 0)], (0, 0))
    out = slow.evaluate(PairBatch(arch[None], hw[None]))
    assert not out.feasible[0] and "under rT" in out.reasons[0] and "pruned before training" in out.reasons[0]
    assert ev.float_calls == ev.quant_calls == 0
    late = problem(min_fps=20_000, prune=False)
    out = late.evaluate(PairBatch(arch[None], hw[None]))
    assert "rejected after training" in out.reasons[0] and late.evaluator.quant_calls == 1
    big = problem(lut_budget=30_000, min_fps=1_000)
    arch, hw = row(big, [(7, 36)], [(4, 5)], [(6, 8)], (6, 6))
    out = big.evaluate(PairBatch(arch[None], hw[None]))
    assert "over rL" in out.reasons[0] and "30,000" in out.reasons[0]


def test_a_pair_meeting_the_specs_has_its_quantized_accuracy_and_luts():
    p = problem(min_fps=10_000)
    arch, hw = row(p, [(3, 18)], [(2, 3)], [(5, 4)], (4, 3))
    out = p.evaluate(PairBatch(arch[None], hw[None]))
    assert out.feasible[0], out.reasons
    c = p.pair(arch, hw).cost
    assert c.lut <= 100_000 and c.fps >= 10_000
    want = p.evaluator.quantized_accuracy(p.chain(arch), p.quant(arch))
    assert out.values[0].tolist() == [-want, float(c.lut)]
    d = p.describe(PairBatch(arch[None], hw[None]), 0)
    assert d["formats"] == [{"weight": str(p.weight_formats[2]), "activation": str(p.activation_formats[3])}]
    assert d["lut"] == c.lut and d["fps"] == c.fps and d["param_kbits"] == p.pair(arch, hw).param_kbits


def test_specs_no_design_can_meet_are_refused_naming_the_limit():
    with pytest.raises(SpecError, match=r"problem\.min_fps: no design of the space reaches 1,000,000,000 frames/s "
                                        r"within rL = 100,000 LUTs on zcu102: the most is [0-9,]+ frames/s"):
        problem(min_fps=1e9)
    with pytest.raises(SpecError, match=r"problem\.lut_budget: at most the 274,080 LUTs of board zcu102"):
        problem(lut_budget=300_000)
    with pytest.raises(SpecError, match="weight_formats"):
        problem(weight_formats=("s0.3", "u1.1"))


@pytest.mark.parametrize(("name", "spec"), [("quannas", (30_000, 40_000)), ("quannas-two-step", (250_000, 5_000))])
def test_every_accepted_pair_meets_both_specs_and_the_controller_prunes(name, spec):
    p = problem(lut_budget=spec[0], min_fps=spec[1])
    s = make_joint_strategy(name, p, seed=0, budget=64, batch=8, **({"nas_networks": 16} if "two" in name else {}))
    accepted, pruned = 0, 0
    networks = set()
    for _ in range(8):
        cands = s.ask()
        ev = p.evaluate(cands)
        s.tell(cands, ev)
        for i in range(len(cands)):
            c = p.pair(cands.arch[i], cands.hw[i]).cost
            if ev.feasible[i]:
                accepted += 1
                assert c.lut <= spec[0] and c.fps >= spec[1]
            else:
                pruned += 1
                assert ev.reasons[i].startswith("specs:") and "pruned before training" in ev.reasons[i]
            networks.add(str(p.chain(cands.arch[i])))
    assert accepted > 0 and pruned > 0
    assert s.pairs_evaluated > 64  # fast exploration priced redraws beyond the proposals
    if name == "quannas-two-step":
        assert len(networks) == 1 and s.nas_trained == 16
        report = s.search_report()
        assert report["network"] in networks
        assert report["float_accuracy"] == max(p._float.values())


def test_the_two_step_flow_finds_nothing_when_its_float_network_cannot_meet_the_specs():
    """QuanNAS's point: the most accurate float network (here the largest) cannot reach 40k frames/s in 30k LUTs."""
    p = problem(lut_budget=30_000, min_fps=40_000)
    s = make_joint_strategy("quannas-two-step", p, seed=0, budget=32, batch=8, nas_networks=16)
    for _ in range(4):
        cands = s.ask()
        ev = p.evaluate(cands)
        s.tell(cands, ev)
        assert not ev.feasible.any()
    assert s.search_report()["float_accuracy"] == max(p._float.values())


def test_the_quannas_recipe_runs_as_a_study_and_reports_table_columns(tmp_path):
    pytest.importorskip("torch", reason="the recipe trains networks (extra nas)")
    pytest.importorskip("sklearn", reason="the digits come from scikit-learn (extra nas)")
    out = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "codesign", "--recipe", "quannas-digits",
                          "--budget-evals", "8", "--json", "--storage", f"sqlite:///{tmp_path / 's.db'}"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["strategy"] == "quannas" and data["trials"] == 8
    assert data["specs"]["lut_budget"] > 0 and data["pruning"]["candidates"] == 8
    for e in data["front"]:  # DESIGN.md's front entry, then Table 3's columns
        assert {"arch", "accelerator", "accuracy", "latency_cycles", "energy_pj", "area_mm2", "edp"} <= set(e)
        assert e["lut"] <= data["specs"]["lut_budget"] and e["fps"] >= data["specs"]["min_fps"]
        assert e["param_kbits"] > 0 and e["float_accuracy"] is not None and len(e["formats"]) == e["depth"] - 1


@pytest.mark.parametrize(("override", "message"), [
    ({"weight_formats": ["s0.20"]}, "problem.weight_formats"),
    ({"min_fps": 1e10}, "problem.min_fps: no design of the space reaches"),
])
def test_bad_specs_are_one_clear_line_and_exit_2(tmp_path, override, message):
    import yaml

    from coexplore.study.codesign import RECIPES_DIR

    data = yaml.safe_load((RECIPES_DIR / "quannas_digits.yaml").read_text())
    data["problem"].update(override)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(data))
    out = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "codesign", "--recipe", str(cfg),
                          "--budget-evals", "2", "--storage", f"sqlite:///{tmp_path / 's.db'}"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and message in lines[0], out.stderr
