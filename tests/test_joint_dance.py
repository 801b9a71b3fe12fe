"""DANCE (seed 003) on a small subspace (every 400th design of the Eyeriss grid, 23 designs), where
the exact front is known: the hardware cost's gradient reaches the architecture through the
generator and the estimator, the generator's design is the one evaluated (and mostly the exact
optimum), the loss follows the study's objectives, exhaustive labels count their pairs, the same
seed gives the same trials after a crash, and DANCE beats random pairs at equal pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.joint.dance import DanceStrategy
from coexplore.joint.dance_cost import HardwareCost
from coexplore.joint.dance_eval import DanceEvaluator
from coexplore.joint.dance_nets import relax
from coexplore.joint.problem import NB201GridProblem, PairBatch
from coexplore.search.driver import optimize
from coexplore.study.codesign import summarize
from coexplore.study.config import StudyConfig
from coexplore.study.study import resume_study, run_study, show_study

torch = pytest.importorskip("torch")

STRIDE = 400
FAST = {"samples": 600, "epochs": 60, "sweep": 16, "restarts": 4, "steps": 50}
TINY = {"epochs": 5, "sweep": 2, "restarts": 2, "steps": 10}  # where the search's quality is not checked
BUDGET = 1000


pytestmark = pytest.mark.usefixtures("module_cache")  # cost tables in a fresh directory, never the user's


@pytest.fixture(scope="module")
def problem() -> NB201GridProblem:
    return NB201GridProblem(design_stride=STRIDE)


def _run(problem: NB201GridProblem, seed: int, **params: Any) -> tuple[DanceStrategy, np.ndarray, np.ndarray]:
    """A DANCE run through the driver: (strategy, NB201 index and table column of every pair evaluated)."""
    s = DanceStrategy(seed=seed, **{**FAST, **params})
    got: list[PairBatch] = []
    optimize(problem, s, max_evals=BUDGET, on_batch=lambda c, e: got.append(c))
    return (s, np.concatenate([problem.arch_index(c.arch) for c in got]),
            np.concatenate([problem.column(c.hw) for c in got]))


@pytest.fixture(scope="module")
def runs(problem: NB201GridProblem) -> list[tuple[DanceStrategy, np.ndarray, np.ndarray]]:
    return [_run(problem, seed) for seed in (0, 1, 2)]


def _hv(p: NB201GridProblem, idx: np.ndarray, cols: np.ndarray) -> float:
    energy, latency, _ = p.costs(idx, cols)
    return p.hypervolume(p.accuracy[idx], energy * latency) / p.exact_hypervolume


def _random_pairs(p: NB201GridProblem, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    cols = np.flatnonzero(p.table.feasible)
    return rng.integers(len(p.arch_choices), size=n), cols[rng.integers(len(cols), size=n)]


def _edp_all_designs(p: NB201GridProblem, idx: np.ndarray) -> np.ndarray:
    """EDP of each network on every table column, (n, D)."""
    rows = p.counts.counts[idx]
    return (rows @ p.table.energy_pj) * (rows @ p.table.latency_cycles).astype(np.float64)


def test_hardware_cost_gradient_reaches_the_architecture_through_generator_and_estimator(runs: Any) -> None:
    ev = runs[0][0].evaluator
    cards = ev.problem.arch_cards
    logits = torch.randn(8, sum(cards), generator=torch.Generator().manual_seed(5)).requires_grad_(True)
    for path in ({"generator_path": True, "counts_path": False}, {"generator_path": False, "counts_path": True}):
        (grad,) = torch.autograd.grad(ev.hardware_cost_t(torch, relax(torch, logits, cards), **path).sum(), logits)
        assert grad.abs().amax(dim=1).min() > 1e-5, path  # every row's cost moves with its architecture, by each path
    cost = ev.hardware_cost_t(torch, relax(torch, logits, cards))
    (grad,) = torch.autograd.grad(cost.sum(), logits)
    with torch.no_grad():
        step = logits - 0.05 * grad / grad.norm(dim=1, keepdim=True)
        lower = ev.hardware_cost_t(torch, relax(torch, step, cards))
    assert bool((lower < cost.detach()).all())  # the gradient's sign lowers the estimated hardware cost


def test_the_generators_design_is_what_is_evaluated_and_mostly_the_exact_optimum(runs: Any,
                                                                                 problem: NB201GridProblem) -> None:
    shares = []
    for s, idx, cols in runs:
        n = len(s.plan[0])
        nets, chosen = idx[n:], cols[n:]
        assert len(nets) > 5 and set(nets.tolist()) <= set(s.found.tolist())
        assert np.array_equal(chosen, s.evaluator.generator.choose(torch, s.evaluator.onehot(nets)))
        shares.append(float(np.mean(chosen == np.argmin(_edp_all_designs(problem, nets), axis=1))))
        # the estimator's ranking (an ablation) is another chooser: it picks its own argmin, not the generator's
        alt = s.ablation(hardware="estimator")
        ev = s.evaluator
        every = ev.features(torch, ev.code.columns)
        for a, c in zip(problem.arch_index(alt.arch)[:5].tolist(), problem.column(alt.hw)[:5].tolist(), strict=True):
            pred = ev.estimator.predict(torch, np.repeat(ev.counts(np.array([a])), len(every), axis=0), every)
            assert c == ev.code.columns[np.argmin(pred[:, 0] + pred[:, 1])]
    # random designs would be the optimum 1 time in 23; the generator learned it from best-of-sampled labels
    assert np.mean(shares) >= 0.5, shares


def test_dance_beats_random_pairs_at_equal_pairs_on_a_subgrid_with_a_known_front(runs: Any,
                                                                                 problem: NB201GridProblem) -> None:
    dance, uniform = [], []
    for seed, (s, idx, cols) in enumerate(runs):
        n, ns = len(idx), len(s.plan[0])
        rng = np.random.default_rng(100 + seed)
        dance.append(_hv(problem, idx, cols))
        uniform.append(np.mean([_hv(problem, *_random_pairs(problem, rng, n)) for _ in range(5)]))
        completed = []
        for _ in range(5):  # the same samples, then random pairs instead of the search's
            ri, rc = _random_pairs(problem, rng, n - ns)
            completed.append(_hv(problem, np.r_[idx[:ns], ri], np.r_[cols[:ns], rc]))
        assert dance[-1] > np.mean(completed) + 0.002, (seed, dance[-1], completed)
    assert np.mean(dance) > np.mean(uniform) + 0.003, (dance, uniform)  # uniform pairs: other samples, so on average


def test_the_estimator_report(runs: Any) -> None:
    s = runs[0][0]
    err = s.report["estimator_error_pct"]
    assert set(err) == {"latency", "energy", "area", "edp"} and all(0 <= v < 20 for v in err.values())
    assert s.report["train_pairs"] + s.report["test_pairs"] == FAST["samples"]
    assert s.report["estimator_us_per_pair"] > 0 and s.report["hardware_cost"] == "latency x energy"
    assert s.report["networks_found"] >= s.report["networks_proposed"] > 0


def test_the_loss_follows_the_study_objectives(problem: NB201GridProblem) -> None:
    assert HardwareCost.of(("accuracy", "edp")).exponents == (1, 1, 0)
    assert HardwareCost.of(("accuracy", "latency")).exponents == (1, 0, 0)
    assert HardwareCost.of(("accuracy", "edap")).exponents == (1, 1, 1)
    assert HardwareCost.of(("accuracy", "latency", "energy")).exponents == (1, 1, 0)
    assert HardwareCost.of(("accuracy", "latency"), loss="edap").exponents == (1, 1, 1)
    logc = np.random.default_rng(0).uniform(5, 9, size=(50, 3))
    weighted = HardwareCost.of(("accuracy", "latency"), loss="weighted",
                               weights={"latency": 2, "area": 1}).fitted(logc)
    want = np.log10(2 * 10 ** (logc[:, 0] - logc[:, 0].mean()) + 10 ** (logc[:, 2] - logc[:, 2].mean()))
    assert np.allclose(weighted.log10(logc), want)
    for cost in (weighted, HardwareCost.of(("accuracy", "edap")), HardwareCost.of(("accuracy", "energy"))):
        t = cost.log10_t(torch, torch.as_tensor(logc, dtype=torch.float64)).numpy()
        assert np.allclose(t, cost.log10(logc))
    # the generator's labels: each network's best sampled design for ITS workload, under the study's cost
    idx, cols = _random_pairs(problem, np.random.default_rng(1), 3000)
    e, lat, area = problem.costs(idx, cols)
    logc = np.column_stack([np.log10(lat.astype(np.float64)), np.log10(e), np.log10(area)])
    labels = {}
    for obj, column in (("latency", lat.astype(np.float64)), ("energy", e)):
        nets, lab = DanceEvaluator(problem, HardwareCost.of(("accuracy", obj))).best_sampled(idx, cols, logc)
        rows = problem.counts.counts
        for a, c in zip(nets[:200].tolist(), lab[:200].tolist(), strict=True):
            same = np.flatnonzero((rows[idx] == rows[a]).all(axis=1))
            assert c == cols[same[np.argmin(column[same])]]
        labels[obj] = lab
    assert (labels["latency"] != labels["energy"]).any()
    s = DanceStrategy(seed=0, **FAST)
    s.bind(NB201GridProblem(design_stride=STRIDE, objectives=("accuracy", "latency")), BUDGET)
    assert s.report["hardware_cost"] == "latency"


def test_losses_that_make_no_sense_are_refused_naming_the_field(problem: NB201GridProblem) -> None:
    with pytest.raises(SpecError, match=r"strategy\.params\.loss: must be one of objectives, edap, weighted"):
        HardwareCost.of(("accuracy", "edp"), loss="edp")
    with pytest.raises(SpecError, match=r"strategy\.params\.weights: only with loss weighted"):
        HardwareCost.of(("accuracy", "edp"), loss="edap", weights={"latency": 1})
    with pytest.raises(SpecError, match=r"strategy\.params\.weights: gives no weight to the study's cost latency"):
        HardwareCost.of(("accuracy", "latency"), loss="weighted", weights={"energy": 1})
    with pytest.raises(SpecError, match=r"strategy\.params\.weights\.area: must be a finite number >= 0, got -1"):
        HardwareCost.of(("accuracy", "edp"), loss="weighted", weights={"latency": 1, "area": -1})
    with pytest.raises(SpecError, match=r"strategy\.params\.weights: must map some of latency, energy, area"):
        HardwareCost.of(("accuracy", "edp"), loss="weighted", weights={"edp": 1})
    with pytest.raises(SpecError, match=r"objectives: strategy dance needs accuracy then at least one cost"):
        HardwareCost.of(("accuracy",))
    with pytest.raises(SpecError) as err:  # the hyper-parameters, when the strategy is built
        DanceStrategy(seed=0, samples=100, labelled=2, hardware="oracle", sweep=0)
    text = str(err.value)
    for part in ("strategy.params.labelled: only with labels exhaustive", "strategy.params.hardware: must be one of",
                 "strategy.params.sweep: must be an integer >= 1, got 0"):
        assert part in text
    # what needs the budget or the problem, when it is set up (a study: before its first trial)
    with pytest.raises(SpecError, match=r"strategy\.params\.samples: must be an integer in \[1, budget 100\), got 100"):
        DanceStrategy(seed=0, samples=100).bind(problem, 100)
    with pytest.raises(SpecError, match=r"labelled: 30 networks x 23 designs = 690 pairs exceed samples 600"):
        DanceStrategy(seed=0, **FAST, labels="exhaustive", labelled=30).bind(problem, BUDGET)


def test_exhaustive_labels_price_every_design_count_the_pairs_and_label_the_exact_optimum(
        problem: NB201GridProblem) -> None:
    s, idx, _ = _run(problem, 0, labels="exhaustive", labelled=3, **TINY)
    designs = int(problem.table.feasible.sum())
    assert s.pairs_evaluated == len(idx) + 3 * designs and len(idx) <= BUDGET - 3 * designs
    assert len(s.plan[0]) == FAST["samples"] - 3 * designs and s.report["generator_labelled_networks"] == 3
    ev = s.evaluator
    nets = np.array([a for a, _ in s.label_costs])
    best = np.argmin(_edp_all_designs(problem, nets), axis=1)
    assert [ev.cost.log10(lc).argmin() for _, lc in s.label_costs] == list(np.searchsorted(ev.code.columns, best))


def _config(trials: int, seed: int = 0, **params: Any) -> StudyConfig:
    return StudyConfig.from_dict({
        "problem": {"kind": "codesign", "space": "nb201", "design_stride": STRIDE},
        "objectives": ["accuracy", "edp"],
        "strategy": {"name": "dance", "params": {"samples": 200, **TINY, **params}},
        "budget": {"trials": trials}, "seed": seed})


def _trials(name: str, storage: str) -> list[tuple[Any, ...]]:
    return [(t["number"], json.dumps(t["params"], sort_keys=True), tuple(t["values"]), t["state"])
            for t in show_study(name, storage=storage)["trials"]]


def test_dance_is_deterministic_and_resumes_after_a_crash(problem: NB201GridProblem, tmp_path: Path,
                                                          killed_after_writes: Any) -> None:
    budget = 400
    url = f"sqlite:///{tmp_path / 's.db'}"
    run_study(_config(budget), name="a", storage=url, progress=False, problem=problem)
    run_study(_config(budget), name="b", storage=url, progress=False, problem=problem)
    a, b = _trials("a", url), _trials("b", url)
    assert 200 < len(a) <= budget and a == b and all(s == "COMPLETE" for *_, s in a)
    summary = summarize("a", storage=url, problem=problem)
    assert summary["pairs_evaluated"] == len(a) and summary["estimator"]["train_pairs"] == 180
    # a crash after the search's batch is stored but before its checkpoint: the resumed study searches again
    with killed_after_writes(2):  # killed right after its n-th write of results
        run_study(_config(budget), name="c", storage=url, progress=False, problem=problem)
    assert 0 < len(_trials("c", url)) <= len(a)
    resume_study("c", storage=url, progress=False)
    assert _trials("c", url) == a
