"""Precision as a decision of the NB201 joint problem (issue 13): one cost table per precision, accuracy
minus the user-given drop, the exact front over (network, design, precision), strategies that search it
or refuse, and bad input named field by field. A thinned grid (every 1000th design) keeps it fast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from coexplore.cli.main import main
from coexplore.errors import SpecError
from coexplore.joint.precision import PRECISION_STRATEGIES, problem_precisions
from coexplore.joint.problem import NB201GridProblem, PairBatch
from coexplore.joint.registry import JOINT_STRATEGIES, make_joint_strategy
from coexplore.search.pareto import non_dominated
from coexplore.study.config import StudyConfig

STRIDE = 1000
PRECISIONS = ["W8A8", "4x4:1.5"]


@pytest.fixture(scope="module", autouse=True)
def cache_dir(module_cache: Path) -> Path:
    return module_cache


@pytest.fixture(scope="module")
def problem(cache_dir: Path) -> NB201GridProblem:
    return NB201GridProblem(design_stride=STRIDE, precisions=PRECISIONS, jobs=1)


@pytest.fixture(scope="module")
def plain(cache_dir: Path) -> NB201GridProblem:
    return NB201GridProblem(design_stride=STRIDE, jobs=1)


def _all_pairs(p: NB201GridProblem) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(np.arange(15625), len(p.designs)), np.tile(np.arange(len(p.designs)), 15625)


def test_one_table_per_precision_keyed_by_bits(problem: NB201GridProblem, plain: NB201GridProblem) -> None:
    d = problem.n_designs
    assert d == plain.n_designs and len(problem.designs) == 2 * d and problem.n_pairs == 2 * plain.n_pairs
    keys = {problem.precision_table(0).key, problem.precision_table(1).key, plain.table.key}
    assert len(keys) == 3  # tables of different bits never share a cache entry
    assert [(s.weight_bits, s.input_bits, s.output_bits) for s in problem.precision_table(1).shapes] == \
        [(4, 4, 4)] * len(plain.counts.shapes)
    t = problem.table
    np.testing.assert_array_equal(t.energy_pj[:, d:], problem.precision_table(1).energy_pj)
    np.testing.assert_array_equal(t.latency_cycles[:, :d], problem.precision_table(0).latency_cycles)
    # the encoding: the grid's axes, then the precision (thinned grid: one decision over the kept designs)
    assert problem.encoding.cards == (*plain.arch_cards, d, 2) and plain.encoding.cards == (*plain.arch_cards, d)
    assert problem.encoding.names[-2:] == ("hw0", "precision") and plain.encoding.names[-1] == "hw0"
    rows = problem.decode_hw(np.array([[3, 0], [3, 1]]))
    np.testing.assert_array_equal(problem.column(rows), [3, d + 3])
    assert problem.precisions[1].accuracy_drop == 1.5 and problem.precisions[0].accuracy_drop == 0.0
    assert "minus the user-given accuracy_drop" in problem.accuracy_source
    assert "accuracy_drop" not in plain.accuracy_source and plain.precisions == ()


def test_pairs_priced_at_their_precision_with_the_users_drop(problem: NB201GridProblem,
                                                             plain: NB201GridProblem) -> None:
    d, ref = problem.n_designs, problem.reference_column
    idx = np.array([0, 100, 9999])
    at8 = problem.evaluate(problem.pairs(idx, np.full(3, ref)))
    at4 = problem.evaluate(problem.pairs(idx, np.full(3, ref + d)))
    base = plain.evaluate(plain.pairs(idx, np.full(3, ref)))
    np.testing.assert_array_equal(-at8.values[:, 0], plain.accuracy[idx])
    np.testing.assert_allclose(-at4.values[:, 0], plain.accuracy[idx] - 1.5)
    assert (at4.values[:, 1] < at8.values[:, 1]).all()  # fewer bits moved: lower EDP on the same design
    assert not np.array_equal(at8.values[:, 1], base.values[:, 1])  # W8A8 (8-bit outputs) is not the default bits
    desc = problem.describe_many(problem.pairs(idx, np.full(3, ref + d)), [0])[0]
    assert desc["precision"] == "W4A4" and desc["design"] == plain.grid_index[ref]
    assert problem.columns_of([desc]).tolist() == [ref + d]
    m = problem.metrics(problem.pairs(idx, np.full(3, ref + d)))
    np.testing.assert_allclose(m["accuracy"], plain.accuracy[idx] - 1.5)


def test_exact_front_over_network_design_precision_equals_brute_force(problem: NB201GridProblem) -> None:
    arch, col = _all_pairs(problem)
    ev = problem.evaluate(problem.pairs(arch, col))
    ok = np.flatnonzero(ev.feasible)
    keep = ok[non_dominated(ev.values[ok])]
    f = problem.edp_front
    assert set(zip(arch[keep].tolist(), col[keep].tolist())) == set(zip(f.network.tolist(), f.design.tolist()))
    assert f.precision is not None and set(f.precision.tolist()) == {0, 1}  # both precisions reach the front
    np.testing.assert_array_equal(f.precision, problem.precision_of(f.design))
    vals = problem.evaluate(problem.pairs(f.network, f.design)).values
    np.testing.assert_array_equal(-vals[:, 0], f.accuracy)
    np.testing.assert_array_equal(vals[:, 1], f.edp)
    # each precision's own front: the lowest EDP at a precision and accuracy level is read from it
    for k, pf in enumerate(problem.precision_fronts):
        mine = ok[problem.precision_of(col[ok]) == k]
        assert pf.edp.min() == ev.values[mine, 1].min() and (problem.precision_of(pf.design) == k).all()
    assert problem.hypervolume(f.accuracy, f.edp) == pytest.approx(problem.exact_hypervolume)


def test_four_objective_front_merges_exactly(cache_dir: Path) -> None:
    p = NB201GridProblem(design_stride=STRIDE, precisions=PRECISIONS, jobs=1,
                         objectives=("accuracy", "latency", "energy", "area"))
    _, group = np.unique(p.counts.counts, axis=0, return_inverse=True)
    # a group's networks cost the same everywhere: its most accurate one dominates the others at every precision
    best = np.array([np.flatnonzero(group == g)[np.argmax(p.accuracy[group == g])] for g in np.unique(group)])
    arch, col = np.repeat(best, len(p.designs)), np.tile(np.arange(len(p.designs)), len(best))
    ev = p.evaluate(p.pairs(arch, col))
    ok = np.flatnonzero(ev.feasible)
    brute = {tuple(v) for v in ev.values[ok[non_dominated(ev.values[ok])]].tolist()}
    f = p.exact_front
    got = {tuple(v) for v in p.evaluate(p.pairs(f.network, f.design)).values.tolist()}
    assert got == brute


@pytest.mark.parametrize("name", JOINT_STRATEGIES)
def test_strategies_search_precision_or_refuse_naming_it(problem: NB201GridProblem, name: str) -> None:
    if name not in PRECISION_STRATEGIES:
        with pytest.raises(SpecError, match=rf"strategy\.name: {name} does not search precision"):
            make_joint_strategy(name, problem, seed=0, budget=50)
        return
    s = make_joint_strategy(name, problem, seed=0, budget=50)
    batch = s.ask()
    assert isinstance(batch, PairBatch) and batch.hw.shape[1] == len(problem.hw_cards)
    assert (problem.column(batch.hw) >= 0).all()


def test_generic_and_random_strategies_visit_both_precisions(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             problem: NB201GridProblem) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "prec.yaml"
    cfg.write_text(yaml.safe_dump({
        "problem": {"kind": "codesign", "space": "nb201", "design_stride": STRIDE, "precisions": ["W8A8", "W4A4"],
                    "accuracy_drop": {"W4A4": 1.5}},
        "objectives": ["accuracy", "edp"], "strategy": "nsga2", "budget": {"trials": 200}, "seed": 0}))
    for strategy in ("nsga2", "random"):
        assert main(["codesign", str(cfg), "--strategy", strategy, "--json", "--no-report"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["pairs_evaluated"] == 200 and 0 < out["hypervolume_fraction"] <= 1
        assert out["precisions"] == [
            {"precision": "W8A8", "weight_bits": 8, "input_bits": 8, "accuracy_drop": 0.0},
            {"precision": "W4A4", "weight_bits": 4, "input_bits": 4, "accuracy_drop": 1.5}]
        assert "no quantized NAS-Bench-201 evaluator" in out["accuracy_source"]
        assert {e["precision"] for e in out["front"]} <= {"W8A8", "W4A4"} and out["front"]
    assert main(["codesign", str(cfg), "--strategy", "codesign-nas", "--budget-evals", "all", "--json",
                 "--no-report"]) == 0
    ex = json.loads(capsys.readouterr().out)
    assert ex["pairs_evaluated"] == problem.n_pairs and ex["hypervolume_fraction"] == pytest.approx(1.0)
    f = problem.edp_front
    assert [(e["arch_index"], e["precision"]) for e in ex["front"]] == \
        [(int(a), problem.precisions[k].label) for a, k in zip(f.network, f.precision)]


def test_bad_precision_input_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cases = {
        "--precisions W8A8,W9Q": "nb201-eyeriss-precision.problem.precisions[1] item 'W9Q': must be WxA or WwAa",
        "--precisions W8A8,0x8": "problem.precisions[1] item '0x8': precision.weight_bits: must be an integer from 1",
        "--precisions W8A8,W4A4:-1": "problem.accuracy_drop.W4A4: must be a number >= 0 (top-1 points lost), got -1.0",
        "--precisions W8A8,8x8": "problem.precisions: W8A8 is listed 2 times",
        "--strategy grouped": "strategy.name: grouped does not search precision (problem.precisions)",
    }
    for args, msg in cases.items():
        assert main(["codesign", "--recipe", "nb201-eyeriss-precision", *args.split(), "--no-report"]) == 2
        err = capsys.readouterr().err.strip()
        assert msg in err and len(err.splitlines()) == 1, (args, err)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({
        "problem": {"kind": "codesign", "precisions": ["W8A8", "W4A4"], "accuracy_drop": {"W2A2": 1, "W8A8": -0.5}},
        "objectives": ["accuracy", "edp"], "strategy": "random", "budget": {"trials": 10}}))
    assert main(["codesign", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "problem.accuracy_drop.W2A2: W2A2 is not among the listed precisions (W8A8, W4A4)" in err
    assert "problem.accuracy_drop.W8A8: must be a number >= 0 (top-1 points lost), got -0.5" in err


def test_problem_precisions_rules() -> None:
    got = problem_precisions("W8A8, 8x4:0.5")
    assert [(p.label, p.accuracy_drop) for p in got] == [("W8A8", 0.0), ("W8A4", 0.5)]
    with pytest.raises(SpecError, match=r"problem\.accuracy_drop\.W8A4: W8A4's drop is already given"):
        problem_precisions(["8x4:0.5"], {"W8A4": 0.5})
    with pytest.raises(SpecError, match=r"problem\.accuracy_drop\.lots: not a precision like W4A4"):
        problem_precisions(["W8A8"], {"lots": 1})
    with pytest.raises(SpecError, match=r"problem\.precisions: must be a non-empty list"):
        problem_precisions([])
    with pytest.raises(SpecError, match=r"problem\.accuracy_drop: needs problem\.precisions"):
        NB201GridProblem(design_stride=STRIDE, accuracy_drop={"W4A4": 1.0})
    errs = [
        ({"space": "chain", "timing_ms": 5, "precisions": ["W8A8"]}, "precision is a decision of space nb201 only"),
        ({"accuracy_drop": {"W4A4": 1}}, "problem.accuracy_drop: needs config.problem.precisions"),
    ]
    for extra, msg in errs:
        with pytest.raises(SpecError, match=msg.replace(".", r"\.")):
            StudyConfig.from_dict({"problem": {"kind": "codesign", **extra}, "objectives": ["accuracy", "edp"],
                                   "strategy": "random", "budget": {"trials": 5}})
