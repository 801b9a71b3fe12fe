"""The grouped co-design search on a small subspace (every 400th design of the grid): the layer-shape algebra
solves a design exactly, the search never reads a price outside ``evaluate``, is deterministic per seed,
survives pickling mid-run, keeps to its budget, and beats random pairs at equal pairs where the exact front is
known. (Determinism and resume through the study driver: ``test_joint_strategies.py``.)"""

from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.joint.grouped import GroupedSearch
from coexplore.joint.problem import NB201GridProblem
from coexplore.joint.shape_algebra import ShapeGroups, solve_design
from coexplore.search.driver import optimize

STRIDE = 400


pytestmark = pytest.mark.usefixtures("module_cache")  # cost tables in a fresh directory, never the user's


@pytest.fixture(scope="module")
def problem() -> NB201GridProblem:
    return NB201GridProblem(design_stride=STRIDE)


def _group_edp(p: NB201GridProblem, groups: ShapeGroups) -> np.ndarray:
    """EDP (G, D) of every group on every design, from the table (the test's ground truth)."""
    rows = np.array([p.counts.counts[m[0]] for m in groups.members])
    energy, latency = p.table.network_costs(rows)
    return energy * latency


def test_nb201_has_28_groups_and_any_six_spanning_groups_solve_a_design(problem: NB201GridProblem) -> None:
    g = ShapeGroups.of(problem.counts.counts)
    assert (g.n_groups, g.k, g.coords.shape[1]) == (28, 6, 2)
    edp = _group_edp(problem, g)
    rng = np.random.default_rng(0)
    solved = 0
    for d in np.flatnonzero(problem.table.feasible):
        np.testing.assert_allclose(solve_design(g, g.basis, edp[g.basis, d]), edp[:, d], rtol=1e-9)
        for _ in range(5):
            pick = rng.choice(g.n_groups, 6, replace=False)
            row = solve_design(g, pick, edp[pick, d])
            if row is not None:
                np.testing.assert_allclose(row, edp[:, d], rtol=1e-6)
                solved += 1
    assert solved > 0
    assert solve_design(g, g.basis[:5], edp[g.basis[:5], 0]) is None  # five groups: not enough


def _poisoned(p: NB201GridProblem) -> NB201GridProblem:
    """A copy whose accuracies and per-shape costs are NaN: a search that reads them outside evaluate breaks."""
    q = copy.copy(p)
    q.accuracy = np.full_like(p.accuracy, np.nan)
    q.table = dataclasses.replace(p.table, energy_pj=np.full_like(p.table.energy_pj, np.nan),
                                  latency_cycles=np.zeros_like(p.table.latency_cycles))
    for k in ("reference", "edp_front", "exact_front", "exact_hypervolume"):
        q.__dict__.pop(k, None)
    return q


def _run(p: NB201GridProblem, seed: int, budget: int, evaluate: NB201GridProblem | None = None,
         **params: object) -> tuple[np.ndarray, np.ndarray]:
    """(network indices, table columns) of every pair the search evaluated, in order."""
    s = GroupedSearch(seed=seed, **params)
    real = evaluate or p
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def record(cands: object, ev: object) -> None:
        seen.append((real.arch_index(cands.arch), real.column(cands.hw)))  # type: ignore[attr-defined]

    optimize(real, s, max_evals=budget, on_batch=record, evaluate=real.evaluate)
    return np.concatenate([a for a, _ in seen]), np.concatenate([c for _, c in seen])


def test_the_search_reads_no_price_or_accuracy_outside_evaluate(problem: NB201GridProblem) -> None:
    """The same pairs when the problem the search holds has every accuracy and cost replaced by NaN."""
    want = _run(problem, seed=3, budget=300)
    got = _run(_poisoned(problem), seed=3, budget=300, evaluate=problem)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_same_seed_same_pairs_and_a_pickle_mid_run_resumes_them(problem: NB201GridProblem) -> None:
    a = _run(problem, seed=1, budget=240)
    np.testing.assert_array_equal(a[0], _run(problem, seed=1, budget=240)[0])
    assert not np.array_equal(a[0], _run(problem, seed=2, budget=240)[0])
    s = GroupedSearch(seed=1)
    blobs: list[tuple[int, bytes]] = []  # after each tell, as a study checkpoints: (pairs so far, pickle)
    count = {"n": 0}

    def checkpoint(cands: object, ev: object) -> None:
        count["n"] += len(cands)  # type: ignore[arg-type]
        blobs.append((count["n"], pickle.dumps(s)))

    optimize(problem, s, max_evals=240, on_batch=checkpoint)
    done, blob = blobs[len(blobs) // 2]
    assert b"energy_pj" not in blob and len(blob) < 2_000_000  # the problem and rebuilt arrays stay out
    t = pickle.loads(blob)
    t.reattach(problem)
    rest: list[np.ndarray] = []
    optimize(problem, t, max_evals=240 - done, on_batch=lambda c, e: rest.append(problem.arch_index(c.arch)))
    np.testing.assert_array_equal(np.concatenate(rest), a[0][done:])


def test_the_search_keeps_to_its_budget_and_never_repeats_a_pair(problem: NB201GridProblem) -> None:
    for budget in (7, 100, 333):
        s = GroupedSearch(seed=0)
        s.bind(problem, budget)
        r = optimize(problem, s, max_evals=10 * budget)  # the driver would allow more: the search stops itself
        assert r.evaluated == budget and s.finished
    arch, col = _run(problem, seed=0, budget=333)
    assert len(set(zip(arch.tolist(), col.tolist(), strict=True))) == len(arch)


def test_grouped_beats_random_pairs_at_equal_pairs_where_the_exact_front_is_known(problem: NB201GridProblem) -> None:
    """Hypervolume fraction of the subspace's exact front after 300 pairs, seeds 0-2."""
    from coexplore.joint.registry import make_joint_strategy

    def fractions(name: str) -> np.ndarray:
        out = []
        for seed in range(3):
            r = optimize(problem, make_joint_strategy(name, problem, seed=seed, budget=300), max_evals=300)
            out.append(problem.hypervolume(-r.best_values[:, 0], r.best_values[:, 1]) / problem.exact_hypervolume)
        return np.array(out)

    grouped, rand = fractions("grouped"), fractions("random")
    assert grouped.min() > rand.max(), (grouped, rand)


def test_bad_parameters_and_objectives_are_named(problem: NB201GridProblem) -> None:
    with pytest.raises(SpecError, match=r"strategy\.params\.networks: invalid, got 'best'"):
        GroupedSearch(networks="best")
    q = copy.copy(problem)
    q.objectives = ("accuracy", "latency")
    with pytest.raises(SpecError, match=r"must be \[accuracy, edp\], got \['accuracy', 'latency'\]"):
        GroupedSearch().bind(q, 100)
