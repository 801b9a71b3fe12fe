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
from coexplore.joint.nasaic_search import NasaicRl
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


@pytest.mark.parametrize(("strategy", "params"), [("nasaic", {}), ("nasaic", {"prune": False, "penalty": 0.0}),
                                                 ("asic-hw-nas", {})])
def test_strategy_is_deterministic_and_resumes_after_a_crash(strategy: str, params: dict[str, Any],
                                                             problem: NasaicProblem, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             killed_after_writes: Any) -> None:
    budget = 64
    url = f"sqlite:///{tmp_path / 's.db'}"
    run_study(_config(strategy, budget, **params), name="a", storage=url, progress=False, problem=problem)
    run_study(_config(strategy, budget, **params), name="b", storage=url, progress=False, problem=problem)
    a, b = _trials("a", url), _trials("b", url)
    assert len(a) == budget and a == b
    with killed_after_writes(3):  # killed right after its n-th write of results
        run_study(_config(strategy, budget, **params), name="c", storage=url, progress=False, problem=problem)
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
    # without early pruning every drawn pair is a trial, so the share that meets the specs shows the learning
    run_study(_config("nasaic", 160, prune=False, penalty=0.0), name="r", storage=url, progress=False,
              problem=problem)
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


def test_early_pruning_trains_only_pairs_that_meet_the_specs_and_learns_from_the_rest(problem: NasaicProblem) -> None:
    from coexplore.joint.registry import make_joint_strategy
    from coexplore.search.driver import optimize

    # about 1 in 9 random pairs meets the specs; no fast exploration, so the pruning does the work
    s = make_joint_strategy("nasaic", problem, seed=1, budget=32, prune=True, hw_tries=1)
    assert isinstance(s, NasaicRl) and s.policy is not None
    updates: list[int] = []
    update = s.policy.update

    def recording(rows: np.ndarray, masks: Any, advantages: np.ndarray, entropy: float = 0.0) -> None:
        updates.append(len(rows))
        assert masks is not None and all(len(m) == len(rows) for m in masks)
        update(rows, masks, advantages, entropy=entropy)

    s.policy.update = recording  # type: ignore[method-assign,assignment]
    res = optimize(problem, s, max_evals=32)
    assert res.evaluated == 32 and res.feasible == 32  # a pair over a spec never became a trial
    assert sum(updates) > 64 and s.pairs_evaluated > 64  # ...but was priced and rewarded (penalty) in an update
    assert len(s.pruned) == 0
    with pytest.raises(SpecError, match=r"strategy\.params\.hw_weight: must be a number in \[0, 1\), got 1"):
        make_joint_strategy("nasaic", problem, seed=0, budget=8, hw_weight=1)


def test_hardware_weight_adds_the_mean_headroom_under_the_specs(problem: NasaicProblem) -> None:
    from coexplore.joint.registry import make_joint_strategy

    s = make_joint_strategy("nasaic", problem, seed=0, budget=8, hw_weight=0.25, graded=True, penalty=0.1)
    assert isinstance(s, NasaicRl)
    rows = np.concatenate([problem.pairs(7, 9, np.array([[1, 1, 2, 0]])).arch,
                           np.array([[1, 1, 2, 0]])], axis=1)
    ev = problem.evaluate(problem.pairs(7, 9, np.array([[1, 1, 2, 0]])))
    assert ev.feasible[0]
    c = problem.system(7, 9, np.array([1, 1, 2, 0]))
    m = np.array([c["latency_cycles"], c["energy_nj"], c["area_um2"]])
    expect = 0.75 * np.mean(problem.accuracies(7, 9)) / 100 + 0.25 * np.mean(1 - m / problem.spec_array())
    assert s.rewards(rows, ev)[0] == pytest.approx(expect, rel=1e-12)
    bad = NasaicProblem(budget=problem.budget, specs=type(problem.specs)(latency_cycles=c["latency_cycles"] / 2))
    s2 = make_joint_strategy("nasaic", bad, seed=0, budget=8, graded=True, penalty=0.1)
    assert isinstance(s2, NasaicRl)
    ev2 = bad.evaluate(bad.pairs(7, 9, np.array([[1, 1, 2, 0]])))
    assert not ev2.feasible[0]
    assert s2.rewards(rows, ev2)[0] == pytest.approx(0.1 - 1.0)  # graded: the penalty minus the relative excess
