"""NANDS: the NB201 x NoC-design problem, its two-loop strategy, the fixed-NoC baseline and the ``noc`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from coexplore.errors import SpecError
from coexplore.joint.nands import NB201NocProblem
from coexplore.joint.problem import PairBatch
from coexplore.joint.registry import make_joint_strategy
from coexplore.search.driver import optimize

SAMPLES = 16  # mappings per layer shape: enough to price, fast in tests
HEAVY = np.array([3, 3, 2, 3, 3, 3])  # every edge a 3x3 convolution except one 1x1


@pytest.fixture(scope="module")
def problem() -> NB201NocProblem:
    return NB201NocProblem(samples=SAMPLES)


def test_the_fixed_noc_is_the_largest_mesh_at_its_widest_link(problem: NB201NocProblem) -> None:
    # 3x3 mesh: 24 directed links; 24 GB/s of wires -> 1 GB/s each; row-major, even split, no alleviation
    assert problem.reference_hw.tolist() == [4, 1, 0, 0, 0]
    assert problem.n_links(4) == 24 and problem.bandwidths[1] == 1.0
    rec = problem.hardware_record(HEAVY, problem.reference_hw)
    assert rec["accelerator"]["mesh"] == [3, 3] and len(rec["tasks"]) == 9
    assert sum(len(t) for t in rec["tasks"]) == 19  # stem, 17 cell positions, classifier


def test_loop_two_beats_the_fixed_noc_and_never_loses_to_it(problem: NB201NocProblem) -> None:
    fixed = problem.noc(HEAVY, problem.reference_hw)[1]
    hw = problem.best_hw(HEAVY)
    best = problem.noc(HEAVY, hw)[1]
    assert hw[4] == 1 and problem.within_budget(int(hw[0]), int(hw[1]))
    assert best.throughput_per_s > fixed.throughput_per_s
    # the alleviated design is never slower than the rule-based design it starts from
    start = problem.noc(HEAVY, np.array([*hw[:4], 0]))[1]
    assert best.period_ns <= start.period_ns
    rules = problem.best_hw(HEAVY, alleviation=False)
    assert rules[4] == 0 and problem.noc(HEAVY, rules)[1].period_ns >= best.period_ns


def test_pairs_over_the_wire_budget_or_the_spec_are_rejected_before_accuracy(problem: NB201NocProblem) -> None:
    over = np.array([4, 4, 0, 0, 0])  # 24 links x 8 GB/s > 24 GB/s
    ev = problem.evaluate(PairBatch(HEAVY[None], over[None]))
    assert not ev.feasible[0] and "over the link budget (24 links x 8 GB/s > 24 GB/s)" in ev.reasons[0]
    strict = NB201NocProblem(samples=SAMPLES, min_throughput_per_s=1e9)
    ev = strict.evaluate(PairBatch(HEAVY[None], strict.reference_hw[None]))
    assert not ev.feasible[0] and "below the real-time spec 1e+09/s" in ev.reasons[0]
    ok = problem.evaluate(PairBatch(HEAVY[None], problem.reference_hw[None]))
    assert ok.feasible[0]
    assert ok.values[0, 0] == -problem.accuracy[problem.arch_index(HEAVY)]
    assert ok.values[0, 1] == problem.noc(HEAVY, problem.reference_hw)[1].period_ns


def test_bad_problem_settings_are_named() -> None:
    with pytest.raises(SpecError, match=r"problem.link_budget_gb_per_s: must be a number > 0, got 0"):
        NB201NocProblem(link_budget_gb_per_s=0)
    with pytest.raises(SpecError, match=r"problem.fixed_mesh: must be one of problem.meshes"):
        NB201NocProblem(fixed_mesh=(4, 4))
    with pytest.raises(SpecError, match=r"memory.kind: must be one of per-engine, shared, got 'dram'"):
        NB201NocProblem(memory_kind="dram")


def _trials(problem: NB201NocProblem, name: str, seed: int, n: int = 16) -> list[tuple[int, ...]]:
    seen: list[tuple[int, ...]] = []
    strategy = make_joint_strategy(name, problem, seed=seed, budget=n)
    optimize(problem, strategy, max_evals=n,
             on_batch=lambda c, ev: seen.extend(tuple(int(v) for v in (*c.arch[i], *c.hw[i])) for i in range(len(c))))
    return seen


def test_nands_designs_each_network_and_the_baseline_keeps_the_fixed_noc(problem: NB201NocProblem) -> None:
    nands = _trials(problem, "nands", 0)
    assert nands == _trials(problem, "nands", 0)  # seeded
    for row in nands:
        arch, hw = np.array(row[:6]), np.array(row[6:])
        if not problem.cell(arch).degenerate:
            assert hw.tolist() == problem.best_hw(arch).tolist()
    fixed = _trials(problem, "nands-fixed-noc", 0)
    assert [r[:6] for r in fixed] == [r[:6] for r in nands]  # same controller, same draws before any reward differs
    assert {r[6:] for r in fixed} == {tuple(problem.reference_hw.tolist())}
    with pytest.raises(SpecError, match="strategy nands: needs a network-on-chip problem"):
        make_joint_strategy("nands", object(), seed=0, budget=8)


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from coexplore.cli.main import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_noc_command_prices_a_system_and_draws_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "system_mesh_2x2.yaml"
    svg = tmp_path / "mesh.svg"
    code, out, err = _main(["noc", "--system", str(example), "--network", "nb201-cifar10:1", "--samples",
                            str(SAMPLES), "--svg", str(svg), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["system"] == "mesh-2x2" and len(data["tasks"]) == 4
    assert data["bottleneck"] in {*data["engine_ns"], *data["link_ns"]}
    assert data["period_ns"] == max([*data["engine_ns"].values(), *data["link_ns"].values()])
    assert data["throughput_per_s"] >= data["initial_throughput_per_s"]
    text = svg.read_text()
    assert text.startswith("<svg") and f"bottleneck {data['bottleneck_kind']} {data['bottleneck']}" in text
    assert text.count("<line") == 8 and text.count("<rect") == 4  # a 2x2 mesh: 8 directed links, 4 engines


def test_the_noc_command_refuses_bad_systems_in_one_line(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    mesh = {"engines": {"count": 4, "accelerator": "nvdla-1024"},
            "topology": {"kind": "mesh", "rows": 2, "cols": 2}, "link": {"bandwidth_gb_per_s": 1.0}}
    cases = {
        "zero.yaml": ({**mesh, "link": {"bandwidth_gb_per_s": 0}},
                      "system.link.bandwidth_gb_per_s: must be > 0, got 0"),
        "cut.yaml": ({"engines": {"count": 3, "accelerator": "nvdla-1024"}, "topology": {"kind": "point-to-point"},
                      "link": {"bandwidth_gb_per_s": 1}, "links": [{"between": ["e0", "e1"]}]},
                     "system.topology: disconnected, no route from engine 'e0' to engine 'e2' "
                     "(point-to-point, 2 links)"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_text(yaml.safe_dump(data))
        code, _, err = _main(["noc", "--system", str(tmp_path / name), "--network", "alexnet"], capsys)
        assert code == 2 and err.strip() == f"coexplore noc: error: {message}"
    (tmp_path / "mesh.yaml").write_text(yaml.safe_dump(mesh))
    (tmp_path / "net.yaml").write_text(yaml.safe_dump({"name": "two", "layers": [
        {"name": "a", "K": 8, "C": 3, "P": 8, "Q": 8, "R": 3, "S": 3}, {"name": "b", "K": 8, "C": 8, "P": 8, "Q": 8}]}))
    code, _, err = _main(["noc", "--system", str(tmp_path / "mesh.yaml"), "--network", str(tmp_path / "net.yaml"),
                          "--samples", "8"], capsys)
    assert code == 2 and "system.engines: 4 engines for 2 tasks" in err and len(err.strip().splitlines()) == 1


def test_a_nands_study_reports_its_front_and_draws_the_chosen_noc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from coexplore.study.codesign import load_recipe

    monkeypatch.chdir(tmp_path)
    text = (Path(__file__).resolve().parents[1] / "examples" / "nands_nb201.yaml").read_text()
    cfg = yaml.safe_load(text)
    assert load_recipe("nands-nb201").problem == cfg["problem"]
    cfg["problem"]["samples"] = SAMPLES
    (tmp_path / "n.yaml").write_text(yaml.safe_dump(cfg))
    html = tmp_path / "n.html"
    code, out, err = _main(["codesign", str(tmp_path / "n.yaml"), "--budget-evals", "16", "--json", "--storage",
                            f"sqlite:///{tmp_path / 's.db'}", "--report", str(html)], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["strategy"] == "nands" and data["front"] and data["noc_designs_priced"] > 16
    for e in [*data["front"], data["best"]]:
        assert e["throughput_per_s"] >= 20000 and e["period_ns"] == pytest.approx(1e9 / e["throughput_per_s"])
        assert e["bottleneck"] and len(e["tasks"]) == e["accelerator"]["mesh"][0] * e["accelerator"]["mesh"][1]
    page = html.read_text()
    assert "Network-on-chip" in page and 'id="noc-' in page
