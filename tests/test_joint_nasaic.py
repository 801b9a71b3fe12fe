"""NASAIC's multi-task heterogeneous problem and its strategies: exact cached pricing, specs as hard constraints,
determinism and resume after a crash, baselines doing what they say, the recipe. A coarse PE/bandwidth grid
(steps 512 and 16) keeps every test to seconds; the full grid is benchmarks/bench_nasaic.py's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.joint.nasaic import NasaicProblem
from coexplore.joint.problem import PairBatch
from coexplore.maestro.system import Budget, SubAccelerator, _price
from coexplore.study.config import StudyConfig
from coexplore.study.study import resume_study, run_study, show_study

COARSE = {"pe_step": 512, "bandwidth_step": 16}


@pytest.fixture(scope="module")
def problem() -> NasaicProblem:
    return NasaicProblem(budget=Budget(pe_step=512, bandwidth_step=16))


def _config(strategy: str, trials: int, seed: int = 0, **params: Any) -> StudyConfig:
    return StudyConfig.from_dict({
        "problem": {"kind": "codesign", "space": "nasaic", **COARSE},
        "objectives": ["accuracy", "latency", "energy", "area"], "strategy": {"name": strategy, "params": params},
        "budget": {"trials": trials}, "seed": seed})


def _trials(name: str, storage: str) -> list[tuple[Any, ...]]:
    return [(t["number"], json.dumps(t["params"], sort_keys=True), tuple(t["values"]), t["state"])
            for t in show_study(name, storage=storage)["trials"]]


def test_cached_shape_prices_equal_pricing_the_whole_network(problem: NasaicProblem) -> None:
    rng = np.random.default_rng(3)
    for task in (0, 1):
        for index in rng.integers(15625, size=2):
            net = problem.spaces[task].to_network(problem.spaces[task].cell(int(index)))
            for sub in (SubAccelerator("dla", 512, 48), SubAccelerator("shi", 1536, 16)):
                runtime, energy, _, l1, l2 = _price(net, sub, constant_set="nasaic", energy_quirks=False,
                                                    offchip_bandwidth=50, noc_hops=1)
                r, e, b1, b2 = problem.network_cost(task, int(index), sub.template, sub.pes, sub.bandwidth)
                assert r == runtime and (b1, b2) == (l1, l2)
                assert e == pytest.approx(energy, rel=1e-12)


def test_system_metrics_follow_the_assignment_and_specs_are_hard(problem: NasaicProblem) -> None:
    i1, i2 = 100, 200
    hw = np.array([0, 1, 2, 0])  # dla 512 PEs bw 32, shi 1536 PEs bw 32, task 1 on dla
    c = problem.system(i1, i2, hw)
    t1 = problem.network_cost(0, i1, "dla", 512, 32)
    t2 = problem.network_cost(1, i2, "shi", 1536, 32)
    assert c["latency_cycles"] == int(max(t1[0], t2[0])) and c["energy_nj"] == pytest.approx(t1[1] + t2[1])
    both = problem.system(i1, i2, np.array([0, 1, 2, 2]))  # both tasks on dla: run one after the other
    assert both["sub_latency_cycles"] == [int(t1[0] + problem.network_cost(1, i2, "dla", 512, 32)[0]), 0]
    strict = NasaicProblem(budget=problem.budget, specs=type(problem.specs)(latency_cycles=1.0))
    ev = strict.evaluate(strict.pairs(i1, i2, hw[None]))
    assert not ev.feasible[0] and ev.reasons[0].startswith("specs: latency_cycles:")
    over = problem.evaluate(problem.pairs(i1, i2, np.array([[6, 0, 6, 0]])))  # 3584 + 3584 PEs
    assert not over.feasible[0] and ev.reasons[0] and "budget" in over.reasons[0]
    with pytest.raises(SpecError, match=r"problem\.task2: must be one of"):
        NasaicProblem(task2="nuclei")


def test_nas_asic_takes_the_most_accurate_cells_and_the_closest_design(problem: NasaicProblem, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    run_study(_config("nas-asic", 5), name="n", storage=url, progress=False, problem=problem)
    (t,) = show_study("n", storage=url)["trials"]  # one trial: it finishes after it
    p = t["params"]
    assert p["arch_index"] == [int(np.argmax(problem.acc[0])), int(np.argmax(problem.acc[1]))]
    grid = problem.hw_grid()
    costs = problem.hw_costs(*p["arch_index"], grid)
    excess = np.maximum(costs / problem.spec_array() - 1, 0).sum(axis=1)
    assert t["state"] != "COMPLETE" and p["violations"]  # the largest cells miss the specs on every design
    assert excess.min() > 0 and p["hw"] == grid[int(np.argmin(excess))].tolist()


def test_asic_hw_nas_searches_networks_on_one_design_fixed_first(problem: NasaicProblem, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    run_study(_config("asic-hw-nas", 48), name="h", storage=url, progress=False, problem=problem)
    trials = show_study("h", storage=url)["trials"]
    assert len({json.dumps(t["params"]["hw"]) for t in trials}) == 1
    assert len({json.dumps(t["params"]["arch_index"]) for t in trials}) > 30
    assert any(t["state"] == "COMPLETE" for t in trials)


@pytest.mark.parametrize("strategy", ["nasaic", "asic-hw-nas"])
def test_strategy_is_deterministic_and_resumes_after_a_crash(strategy: str, problem: NasaicProblem, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             killed_after_writes: Any) -> None:
    budget = 64
    url = f"sqlite:///{tmp_path / 's.db'}"
    run_study(_config(strategy, budget), name="a", storage=url, progress=False, problem=problem)
    run_study(_config(strategy, budget), name="b", storage=url, progress=False, problem=problem)
    a, b = _trials("a", url), _trials("b", url)
    assert len(a) == budget and a == b
    with killed_after_writes(3):  # killed right after its n-th write of results
        run_study(_config(strategy, budget), name="c", storage=url, progress=False, problem=problem)
    stored = len(_trials("c", url))
    assert 0 < stored < len(a)
    priced = {"pairs": 0}
    evaluate = NasaicProblem.evaluate

    def counting(self: NasaicProblem, cands: PairBatch) -> Any:
        priced["pairs"] += len(cands)
        return evaluate(self, cands)

    monkeypatch.setattr(NasaicProblem, "evaluate", counting)
    s = resume_study("c", storage=url, progress=False)
    assert _trials("c", url) == a
    assert priced["pairs"] == s.evaluated_now == len(a) - stored


def test_a_small_nasaic_run_meets_the_specs_and_learns(problem: NasaicProblem, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    run_study(_config("nasaic", 160), name="r", storage=url, progress=False, problem=problem)
    trials = show_study("r", storage=url)["trials"]
    ok = [t for t in trials if t["state"] == "COMPLETE"]
    assert ok and all(not t["params"]["violations"] for t in ok)
    best = max(ok, key=lambda t: t["values"][0])
    s = problem.spec_array()
    assert best["params"]["latency_cycles"] <= s[0] and best["params"]["energy_nj"] <= s[1] \
        and best["params"]["area_um2"] <= s[2]
    first, last = (np.mean([t["state"] == "COMPLETE" for t in trials[k:k + 40]]) for k in (0, 120))
    assert last >= first  # fast exploration and the controller: more of the late trials meet the specs


def test_recipe_runs_through_the_cli_and_bad_config_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from coexplore.cli.main import main
    from coexplore.study.codesign import load_recipe

    cfg = load_recipe("nasaic-w1")
    assert cfg.problem["space"] == "nasaic" and cfg.strategy == "nasaic"
    data = cfg.to_dict()
    data["problem"].update(COARSE)
    path = tmp_path / "w1.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["codesign", str(path), "--budget-evals", "16", "--storage",
                 f"sqlite:///{tmp_path / 's.db'}", "--no-report", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "stands in for NASAIC's Nuclei segmentation" in out and "specs: latency 1.5e+06 cycles" in out
    data["problem"]["specs"] = {"latency_cycles": -1}
    data["problem"]["task2"] = "nuclei"
    path.write_text(yaml.safe_dump(data))
    assert main(["codesign", str(path), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "problem.specs.latency_cycles: must be a number > 0, got -1" in err
    assert "problem.task2: must be one of cifar100, imagenet16-120, got 'nuclei'" in err


@pytest.mark.parametrize("name", ["nasaic", "nas-asic", "asic-hw-nas"])
def test_the_strategies_refuse_other_problems_and_bad_parameters(name: str) -> None:
    from coexplore.joint.registry import make_joint_strategy

    with pytest.raises(SpecError, match=rf"strategy\.name: {name} searches the multi-task heterogeneous problem"):
        make_joint_strategy(name, object(), seed=0, budget=10)
    if name != "nas-asic":
        with pytest.raises(SpecError, match=r"strategy\.params\.controller: must be one of lstm, softmax, random"):
            make_joint_strategy(name, object(), seed=0, budget=10, controller="gru")
