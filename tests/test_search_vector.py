"""Vector strategies: bounds, determinism, infeasible candidates, and progress on known problems."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.search import Evaluation, optimize
from coexplore.search.pareto import hypervolume_2d, non_dominated
from coexplore.search.vector import (
    CmaEs,
    GridVectors,
    Nsga2,
    RandomVectors,
    VectorBatch,
    crowding_distance,
    fronts,
)


class Sphere:
    """sum (x - 0.3)^2, infeasible (inf) where x[0] > 0.8."""

    objectives = ("f",)

    def evaluate(self, c: VectorBatch) -> Evaluation:
        v = ((c.x - 0.3) ** 2).sum(axis=1)
        bad = c.x[:, 0] > 0.8
        v[bad] = np.inf
        return Evaluation(values=v[:, None], feasible=~bad, reasons=tuple(np.where(bad, "x0 > 0.8", "")))

    def describe(self, c: VectorBatch, i: int) -> dict[str, Any]:
        return {"x": c.x[i].tolist()}


class Zdt1:
    """ZDT1 (Zitzler, Deb, Thiele 2000): the Pareto front is f2 = 1 - sqrt(f1) at x[1:] = 0."""

    objectives = ("f1", "f2")

    def evaluate(self, c: VectorBatch) -> Evaluation:
        f1 = c.x[:, 0]
        g = 1 + 9 * c.x[:, 1:].mean(axis=1)
        f2 = g * (1 - np.sqrt(f1 / g))
        return Evaluation(values=np.stack([f1, f2], axis=1), feasible=np.ones(len(f1), dtype=bool))

    def describe(self, c: VectorBatch, i: int) -> dict[str, Any]:
        return {}


class AllInfeasible:
    objectives = ("f", "g")

    def evaluate(self, c: VectorBatch) -> Evaluation:
        return Evaluation(values=np.full((len(c), 2), np.inf), feasible=np.zeros(len(c), dtype=bool),
                          reasons=("nope",) * len(c))

    def describe(self, c: VectorBatch, i: int) -> dict[str, Any]:
        return {}


def test_vector_batch_take_and_concat() -> None:
    b = VectorBatch(np.arange(12, dtype=float).reshape(4, 3))
    assert b.take([2, 0]).x.tolist() == [[6, 7, 8], [0, 1, 2]]
    assert len(b.concat(b.take([1]))) == 5
    with pytest.raises(SpecError, match="2-D"):
        VectorBatch(np.zeros(3))


def test_random_vectors_in_bounds_deterministic_and_initial_first() -> None:
    a, b = RandomVectors(dim=5, seed=3, batch=10, initial=[0.1] * 5), RandomVectors(dim=5, seed=3, batch=10)
    xa = a.ask().x
    assert xa.shape == (10, 5) and np.all((xa >= 0) & (xa <= 1))
    assert np.allclose(xa[0], 0.1)
    assert np.array_equal(RandomVectors(dim=5, seed=3, batch=10).ask().x, b.ask().x)
    with pytest.raises(SpecError, match="dim"):
        RandomVectors(dim=0)


def test_grid_enumerates_every_point_once_and_is_exhaustive() -> None:
    g = GridVectors(levels_per_dim=[3, 2, 1], batch=4, center=[0.0, 0.0, 0.7])
    res = optimize(Sphere(), g)
    assert res.evaluated == 6 and res.exhausted
    seen = set()
    g2 = GridVectors(levels_per_dim=[3, 2, 1], batch=4, center=[0.0, 0.0, 0.7])
    while not g2.finished:
        seen |= {tuple(r) for r in g2.ask().x}
    assert seen == {(a, b, 0.7) for a in (0.0, 0.5, 1.0) for b in (0.0, 1.0)}
    assert np.allclose(res.best.x[0], [0.5, 0.0, 0.7])  # the grid point nearest 0.3


def test_cmaes_solves_a_bounded_sphere_with_an_infeasible_region() -> None:
    runs = [optimize(Sphere(), CmaEs(dim=8, seed=s), max_evals=2500) for s in (1, 1, 2)]
    assert runs[0].best_values[0, 0] < 1e-6
    assert runs[0].best_values[0, 0] == runs[1].best_values[0, 0]  # same seed, same result
    assert np.array_equal(runs[0].best.x, runs[1].best.x)
    assert runs[2].best_values[0, 0] < 1e-6
    rand = optimize(Sphere(), RandomVectors(dim=8, seed=1), max_evals=2500)
    assert runs[0].best_values[0, 0] < rand.best_values[0, 0] / 100
    assert runs[0].infeasible_reasons.get("x0 > 0.8", 0) > 0  # the region was visited and survived


def test_cmaes_injects_its_start_point() -> None:
    x0 = np.array([0.9, 0.1, 0.2, 0.8])
    first = CmaEs(dim=4, seed=0, x0=x0, sigma0=0.3).ask().x
    assert np.min(np.abs(first - x0).max(axis=1)) < 0.05


def test_fronts_and_crowding_on_a_known_example() -> None:
    v = np.array([[1, 4], [2, 2], [4, 1], [3, 3], [5, 5], [np.inf, 0]], dtype=float)
    assert fronts(v).tolist() == [0, 0, 0, 1, 2, 3]
    d = crowding_distance(v[:3])
    assert np.isinf(d[0]) and np.isinf(d[2]) and d[1] == pytest.approx(2.0)  # (4 - 1) / 3 per objective


def test_nsga2_improves_the_zdt1_front() -> None:
    ref = (1.1, 1.1)
    early = optimize(Zdt1(), Nsga2(dim=6, seed=0, pop=40), max_evals=40)
    late = optimize(Zdt1(), Nsga2(dim=6, seed=0, pop=40), max_evals=6000)
    again = optimize(Zdt1(), Nsga2(dim=6, seed=0, pop=40), max_evals=6000)
    rand = optimize(Zdt1(), RandomVectors(dim=6, seed=0, batch=40), max_evals=6000)
    hv = [hypervolume_2d(r.best_values, ref) for r in (early, late, rand)]
    assert hv[1] > hv[0] and hv[1] > hv[2]
    assert hv[1] > 0.8  # the true front's hypervolume for this reference is 1.21 - 1/3 = 0.877
    assert np.array_equal(late.best_values, again.best_values)
    assert non_dominated(late.best_values).all()
    f1, f2 = late.best_values[:, 0], late.best_values[:, 1]
    assert np.mean(f2 - (1 - np.sqrt(f1))) < 0.05  # close to the true front


@pytest.mark.parametrize("make", [
    lambda: RandomVectors(dim=3, seed=0, batch=5), lambda: GridVectors(levels_per_dim=2, dim=3, batch=5),
    lambda: CmaEs(dim=3, seed=0, popsize=5), lambda: Nsga2(dim=3, seed=0, pop=6),
])
def test_every_strategy_survives_an_all_infeasible_problem(make: Any) -> None:
    res = optimize(AllInfeasible(), make(), max_evals=30)
    assert res.evaluated > 5 and not res.found and res.feasible == 0
    assert res.infeasible_reasons == {"nope": res.evaluated}
