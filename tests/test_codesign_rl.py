"""Codesign-NAS's RL search and the perf/area objective on a small subspace (every 400th design):
the controller's gradients, masked sampling, the perf/area fronts and the constrained optimum
against brute force, RL against random pairs at equal evaluations, determinism and resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from coexplore.errors import SpecError
from coexplore.joint.baselines import RandomPairs
from coexplore.joint.codesign_reward import Reward, constrained_optimum, reference_metrics
from coexplore.joint.codesign_rl import CodesignNasRl
from coexplore.joint.costtable import CostTable, ShapeCounts, nb201_shape_counts
from coexplore.joint.front import front_accuracy_cost, front_accuracy_costs, perf_per_area
from coexplore.joint.problem import NB201GridProblem, PairBatch
from coexplore.joint.space import eyeriss_grid
from coexplore.search.driver import optimize
from coexplore.search.pareto import non_dominated
from coexplore.study.config import StudyConfig
from coexplore.study.study import resume_study, run_study, show_study

STRIDE = 400


pytestmark = pytest.mark.usefixtures("module_cache")  # cost tables in a fresh directory, never the user's


@pytest.fixture(scope="module")
def problem() -> NB201GridProblem:
    return NB201GridProblem(design_stride=STRIDE, objectives=("accuracy", "perf_per_area"))


def _all_pairs(p: NB201GridProblem) -> PairBatch:
    return p.pairs(np.repeat(np.arange(15625), len(p.designs)), np.tile(np.arange(len(p.designs)), 15625))


def _pairs_of(front: Any) -> set[tuple[int, int]]:
    return set(zip(front.network.tolist(), front.design.tolist(), strict=True))


# -- perf/area --------------------------------------------------------------------------------
def test_perf_per_area_is_images_per_second_per_cm2_and_maximised(problem: NB201GridProblem) -> None:
    cands = problem.pairs(np.array([0, 7000]), np.array([problem.reference_column] * 2))
    m = problem.metrics(cands)
    assert problem.clock_ghz == eyeriss_grid().template.clock_ghz == 0.2
    want = problem.clock_ghz * 1e9 / m["latency_cycles"] / (m["area_mm2"] / 100)
    np.testing.assert_allclose(m["perf_per_area"], want, rtol=1e-12)
    ev = problem.evaluate(cands)
    np.testing.assert_array_equal(ev.values[:, 1], -m["perf_per_area"])  # minimised internally
    cfg = StudyConfig.from_dict({"problem": {"kind": "codesign"}, "objectives": ["accuracy", "perf_per_area"],
                                 "strategy": "random", "budget": {"trials": 1}})
    assert cfg.directions == ("maximize", "maximize")
    bad = PairBatch(cands.arch[:1], np.array(problem.hw_cards)[None] - 1)  # over the budget: no cost
    assert np.isnan(problem.metrics(bad)["perf_per_area"][0]) and problem.metrics(bad)["accuracy"][0] > 0


@pytest.mark.parametrize("limit", [None, "max_latency_cycles"])
def test_perf_per_area_front_equals_brute_force(problem: NB201GridProblem, limit: str | None) -> None:
    kw = {}
    if limit:
        kw[limit] = float(np.median(problem.metrics(_all_pairs(problem))["latency_cycles"]))
    p = NB201GridProblem(design_stride=STRIDE, objectives=("accuracy", "perf_per_area"), **kw)
    everything = _all_pairs(p)
    ev = p.evaluate(everything)
    ok = np.flatnonzero(ev.feasible)
    keep = ok[non_dominated(ev.values[ok])]
    want = set(zip(p.arch_index(everything.arch[keep]).tolist(), p.column(everything.hw[keep]).tolist(),
                   strict=True))
    front = p.exact_front
    assert _pairs_of(front) == want and len(want) >= 3
    assert np.all(np.diff(perf_per_area(front.latency_cycles, front.area_mm2, p.clock_ghz)) >= 0)


def test_problem_front_of_accuracy_latency_area_and_perf_per_area_equals_brute_force(problem: NB201GridProblem) -> None:
    p = NB201GridProblem(design_stride=STRIDE, objectives=("accuracy", "latency", "area", "perf_per_area"))
    everything = _all_pairs(p)
    ev = p.evaluate(everything)
    keep = np.flatnonzero(non_dominated(ev.values))
    want = set(zip(p.arch_index(everything.arch[keep]).tolist(), p.column(everything.hw[keep]).tolist(),
                   strict=True))
    assert _pairs_of(p.exact_front) == want and len(want) >= 3
    with pytest.raises(SpecError, match="does not take a latency limit"):
        _ = NB201GridProblem(design_stride=STRIDE, objectives=("accuracy", "latency", "area", "perf_per_area"),
                             max_latency_cycles=1e6).exact_front


@pytest.mark.parametrize("seed", [0, 1])
def test_four_objective_front_with_perf_per_area_equals_brute_force_with_ties(seed: int) -> None:
    """(accuracy, latency, area, perf/area): small integer costs, ties everywhere, all kept."""
    rng = np.random.default_rng(seed)
    grid = eyeriss_grid()
    n_shapes, n_designs, n_nets = 3, 30, 100
    shapes = nb201_shape_counts([0]).shapes[:n_shapes]
    table = CostTable(shapes=shapes, designs=grid.designs()[:n_designs],
                      energy_pj=rng.integers(1, 4, (n_shapes, n_designs)).astype(float),
                      latency_cycles=rng.integers(1, 4, (n_shapes, n_designs)),
                      area_mm2=rng.integers(1, 3, n_designs).astype(float), feasible=rng.random(n_designs) < 0.9,
                      reasons=("",) * n_designs, key="synthetic", seconds=0.0)
    counts = ShapeCounts(shapes=shapes, counts=rng.integers(1, 3, (n_nets, n_shapes)), arch_index=np.arange(n_nets))
    accuracy = rng.integers(60, 64, n_nets).astype(float)
    _, latency = table.network_costs(counts.counts)
    net, des = (a.ravel() for a in np.meshgrid(np.arange(n_nets), np.arange(n_designs), indexing="ij"))
    ok = table.feasible[des]
    net, des, lat = net[ok], des[ok], latency.ravel()[ok].astype(float)
    ppa = perf_per_area(lat, table.area_mm2[des], 0.2)
    for values, front in (
            (np.column_stack([-accuracy[net], lat, table.area_mm2[des], -ppa]),
             front_accuracy_costs(table, counts.counts, accuracy, ("latency", "area"))),
            (np.column_stack([-accuracy[net], -ppa]),
             front_accuracy_cost(table, counts.counts, accuracy, cost="perf_per_area", clock_ghz=0.2))):
        expected = {(int(net[i]), int(des[i])) for i in np.flatnonzero(non_dominated(values))}
        assert _pairs_of(front) == expected
    with pytest.raises(SpecError, match="clock_ghz"):
        front_accuracy_cost(table, counts.counts, accuracy, cost="perf_per_area")


# -- the reward and its exact optimum -----------------------------------------------------------
def test_reward_ranks_every_pair_meeting_the_constraints_above_every_miss(problem: NB201GridProblem) -> None:
    ref = reference_metrics(problem, "googlenet")
    reward = Reward.resolve(problem, {"perf_per_area": 1.0}, min_accuracy="googlenet", max_latency_cycles=None)
    assert reward.constraints == {"min_accuracy": ref["accuracy"]}
    cands = _all_pairs(problem).take(np.random.default_rng(0).choice(15625 * len(problem.designs), 3000, False))
    m = problem.metrics(cands)
    assert not np.isnan(m["perf_per_area"]).any()  # every design of the subspace maps every layer
    lo = {"perf_per_area": float(np.log10(m["perf_per_area"].min()))}
    hi = {"perf_per_area": float(np.log10(m["perf_per_area"].max()))}
    r = reward.values(m, lo, hi)
    meet = m["accuracy"] >= ref["accuracy"]
    assert 0 < meet.mean() < 1 and r[meet].min() >= 0 > r[~meet].max() >= -1
    best = np.flatnonzero(meet)[np.argmax(m["perf_per_area"][meet])]
    assert r[best] == r.max()
    # misses: a nearer miss ranks higher at equal perf/area, a higher perf/area at an equal miss; no cost: -1
    acc, ppa = ref["accuracy"], 10 ** ((lo["perf_per_area"] + hi["perf_per_area"]) / 2)
    grid = {"accuracy": np.array([acc - 1, acc - 5, acc - 1, acc - 1]),
            "perf_per_area": np.array([ppa, ppa, ppa * 2, np.nan])}
    for k in ("latency_cycles", "energy_pj", "area_mm2"):
        grid[k] = np.ones(4)
    miss = reward.values(grid, lo, hi)
    assert miss[1] < miss[0] < miss[2] < 0 and miss[3] == -1.0
    with pytest.raises(SpecError, match=r"weights\.speed: unknown metric"):
        Reward(weights={"speed": 1.0})
    with pytest.raises(SpecError, match="min_accuracy: must be a number or a reference cell"):
        Reward.resolve(problem, None, min_accuracy="vgg")


@pytest.mark.parametrize("spec", [
    {"weights": {"perf_per_area": 1.0}, "min_accuracy": 69.0, "max_latency_cycles": "resnet"},
    {"weights": {"accuracy": 1.0}, "min_perf_per_area": "googlenet"},
    {"weights": {"latency": 1.0}, "min_accuracy": 70.0, "max_area_mm2": 0.6},
])
def test_constrained_optimum_equals_brute_force(problem: NB201GridProblem, spec: dict[str, Any]) -> None:
    spec = dict(spec)
    reward = Reward.resolve(problem, spec.pop("weights"), **spec)
    opt = constrained_optimum(problem, reward)
    m = problem.metrics(_all_pairs(problem))
    with np.errstate(invalid="ignore"):
        ok = reward.violation(m) == 0
    metric = reward.single_metric()
    column = {"perf_per_area": "perf_per_area", "accuracy": "accuracy", "latency": "latency_cycles"}[metric]
    v = m[column][ok]
    best = v.max() if metric in ("perf_per_area", "accuracy") else v.min()
    assert opt.value == best and opt.pairs == int((v == best).sum()) and opt.feasible_pairs == int(ok.sum())
    one = problem.metrics(problem.pairs(np.array([opt.arch_index]), np.array([opt.column])))
    assert one[column][0] == best


# -- the search ---------------------------------------------------------------------------------
@pytest.mark.parametrize("search", ["combined", "phase"])
def test_rl_beats_random_pairs_at_equal_evaluations(problem: NB201GridProblem, search: str) -> None:
    """Best perf/area meeting GoogLeNet's accuracy (the paper's Cod-2), 2,000 pairs, seeds 0-4, vs the optimum."""
    budget, seeds = 2000, range(5)
    ref = CodesignNasRl(min_accuracy="googlenet")
    ref.bind(problem, budget)
    opt = constrained_optimum(problem, ref.reward)
    rl, rand = [], []
    for seed in seeds:
        s = CodesignNasRl(seed=seed, search=search, min_accuracy="googlenet")
        assert optimize(problem, s, max_evals=budget).evaluated == budget
        best = s.search_report()["best"]
        rl.append(best["perf_per_area"] / opt.value if best["reward"] >= 0 else 0.0)
        found = [0.0]

        def evaluate(cands: PairBatch, found: list[float] = found, s: CodesignNasRl = s) -> Any:
            m = problem.metrics(cands)
            ok = s.reward.violation(m) == 0
            found[0] = max([found[0], *m["perf_per_area"][ok] / opt.value])
            return problem.evaluate(cands)

        optimize(problem, RandomPairs(seed=seed), max_evals=budget, evaluate=evaluate)
        rand.append(found[0])
    assert max(rl + rand) <= 1.0
    assert np.mean(rl) > np.mean(rand) + 0.02 and sum(r == 1.0 for r in rl) > sum(r == 1.0 for r in rand)


def _config(search: str, trials: int, seed: int = 0) -> StudyConfig:
    return StudyConfig.from_dict({
        "problem": {"kind": "codesign", "space": "nb201", "design_stride": STRIDE},
        "objectives": ["accuracy", "perf_per_area"],
        "strategy": {"name": "codesign-nas-rl", "params": {"search": search, "min_accuracy": "resnet",
                                                           "batch": 8, "phase_pairs": [40, 24]}},
        "budget": {"trials": trials}, "seed": seed})


def _trials(name: str, storage: str) -> list[tuple[Any, ...]]:
    return [(t["number"], json.dumps(t["params"], sort_keys=True), tuple(t["values"]), t["state"])
            for t in show_study(name, storage=storage)["trials"]]


@pytest.mark.parametrize("search", ["combined", "phase", "separate"])
def test_rl_search_is_deterministic_and_resumes_after_a_crash(problem: NB201GridProblem, search: str,
                                                              tmp_path: Path, killed_after_writes: Any) -> None:
    budget = 200
    url = f"sqlite:///{tmp_path / 's.db'}"
    run_study(_config(search, budget), name="a", storage=url, progress=False, problem=problem)
    run_study(_config(search, budget), name="b", storage=url, progress=False, problem=problem)
    run_study(_config(search, budget, seed=1), name="other", storage=url, progress=False, problem=problem)
    a = _trials("a", url)
    assert len(a) == budget and a == _trials("b", url) and a != _trials("other", url)
    assert all(s == "COMPLETE" for *_, s in a)  # masked: every accelerator is a design of the space
    if search != "combined":  # the phases hold one side fixed
        first = [json.loads(t[1]) for t in a[:40]]
        assert len({tuple(p["hw"]) for p in first}) == 1 and len({p["arch_index"] for p in first}) > 1
    with killed_after_writes(7):  # killed right after its n-th write of results
        run_study(_config(search, budget), name="c", storage=url, progress=False, problem=problem)
    assert 0 < len(_trials("c", url)) < budget
    resume_study("c", storage=url, progress=False)
    assert _trials("c", url) == a


def test_codesign_command_reports_perf_per_area_and_the_search(problem: NB201GridProblem, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from coexplore.cli.main import main
    from coexplore.study.codesign import load_recipe

    monkeypatch.chdir(tmp_path)
    recipe = load_recipe("codesign-nas-rl-nb201-eyeriss")
    data = recipe.to_dict()
    data["problem"]["design_stride"] = STRIDE
    cfg = tmp_path / "rl.yaml"
    cfg.write_text(yaml.safe_dump(data))
    assert main(["codesign", str(cfg), "--budget-evals", "600", "--json", "--no-report"]) == 0
    out = json.loads(capsys.readouterr().out)
    e = out["front"][0]
    assert e["perf_per_area"] == pytest.approx(perf_per_area(e["latency_cycles"], e["area_mm2"], 0.2))
    assert len({(f["arch_index"], f["design"]) for f in out["front"]}) == len(out["front"])  # repeats listed once
    s = out["search"]
    ref = reference_metrics(problem, "resnet")
    assert s["search"] == "combined" and s["pairs_told"] == 600
    assert s["constraints"] == {"min_accuracy": ref["accuracy"], "max_latency_cycles": ref["latency_cycles"]}
    best = s["best"]
    assert 1 <= best["found_at_pair"] <= 600 and 0 <= best["reward"] <= 1
    # the best pair is the highest perf/area among the trials meeting both constraints
    trials = [t for t in show_study(out["study"], storage=out["storage"])["trials"]
              if t["values"][0] >= ref["accuracy"] and t["params"]["latency_cycles"] <= ref["latency_cycles"]]
    assert trials and best["perf_per_area"] == max(t["values"][1] for t in trials)
    assert best["accuracy"] >= ref["accuracy"] and best["latency_cycles"] <= ref["latency_cycles"]


def test_strategies_that_minimise_every_objective_refuse_perf_per_area(problem: NB201GridProblem) -> None:
    from coexplore.joint.registry import make_joint_strategy

    for name in ("naas", "fnas", "dance"):
        with pytest.raises(SpecError, match=f"strategy {name} takes every objective after accuracy as a cost"):
            make_joint_strategy(name, problem, seed=0, budget=10)
    with pytest.raises(SpecError) as err:
        make_joint_strategy("codesign-nas-rl", problem, seed=0, budget=10, search="greedy", batch=0)
    assert "search: must be one of combined, phase, separate, got 'greedy'" in str(err.value)
    assert "batch: must be an integer >= 1, got 0" in str(err.value)
