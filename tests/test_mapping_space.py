"""The map space: enumeration is complete, legal, and the exhaustive mapper finds its optimum."""

from __future__ import annotations

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.mapper.exhaustive import ExhaustiveMapper
from coexplore.mapper.problem import LayerMappingProblem
from coexplore.mapper.strategies import RandomMapper
from coexplore.mapping.space import LevelConstraint, MapConstraints, MapSpace
from coexplore.mapping.validate import legal_mask
from coexplore.search import optimize
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel
from coexplore.spec.workload import Layer

LAYER = Layer(name="tiny", K=4, C=2, P=4, Q=2, R=3, S=1)


def small_acc() -> Accelerator:
    return Accelerator(
        name="small",
        levels=(
            MemoryLevel(name="rf", size_words=16, instances=4, mesh_x=2, mesh_y=2, read_energy_pj=0.1,
                        write_energy_pj=0.1, update_energy_pj=0.1),
            MemoryLevel(name="glb", size_words=256, block_size_words=2, read_energy_pj=2.0, write_energy_pj=2.0,
                        update_energy_pj=2.0, spatial_dims_x=frozenset("KP"), spatial_dims_y=frozenset("CR"),
                        keeps=frozenset({"weights", "inputs", "outputs"})),
            MemoryLevel(name="dram", size_words=None, block_size_words=4, read_energy_pj=50.0,
                        write_energy_pj=50.0, update_energy_pj=50.0),
        ),
        mac=MacUnit(instances=4, mesh_x=2, mesh_y=2, energy_pj=1.0),
    )


def test_enumeration_is_legal_and_sized() -> None:
    space = MapSpace(layer=LAYER, accelerator=small_acc())
    batches = list(space.enumerate(chunk=1000))
    total = sum(len(b) for b in batches)
    assert total == space.size().mappings > 0
    for b in batches:
        assert legal_mask(LAYER, small_acc(), b).all()


def test_exhaustive_is_no_worse_than_random_and_full_orders_no_worse_than_classes() -> None:
    acc = small_acc()
    problem = LayerMappingProblem(layer=LAYER, accelerator=acc)
    ex = optimize(problem, ExhaustiveMapper(layer=LAYER, accelerator=acc, bound=False, warm_start=False))
    assert ex.exhausted and ex.found
    rnd = optimize(problem, RandomMapper(layer=LAYER, accelerator=acc, seed=0, batch_size=2000), max_evals=20000)
    assert ex.best_values[0, 0] <= rnd.best_values[0, 0] * (1 + 1e-12)
    full = optimize(problem, ExhaustiveMapper(layer=LAYER, accelerator=acc, bound=False, warm_start=False,
                                              constraints=MapConstraints(order_pruning="none")))
    assert full.exhausted and full.evaluated >= ex.evaluated
    assert full.best_values[0, 0] <= ex.best_values[0, 0] * (1 + 1e-12)


def test_constraints_restrict_the_space() -> None:
    acc = small_acc()
    free = MapSpace(layer=LAYER, accelerator=acc).size()
    only_k = MapSpace(layer=LAYER, accelerator=acc, constraints=MapConstraints(
        levels={"rf": LevelConstraint(temporal_dims=frozenset({"K"}))})).size()
    assert 0 < only_k.mappings < free.mappings
    for b in MapSpace(layer=LAYER, accelerator=acc, constraints=MapConstraints(
            levels={"rf": LevelConstraint(temporal_dims=frozenset({"K"}))})).enumerate():
        assert np.all(b.temporal[:, 0, [i for i in range(8) if i != 2]] == 1)


def test_bad_constraints() -> None:
    with pytest.raises(SpecError, match="min_utilization"):
        MapConstraints(min_utilization=2.0)
    with pytest.raises(SpecError, match="unknown level"):
        MapSpace(layer=LAYER, accelerator=small_acc(), constraints=MapConstraints(levels={"nope": LevelConstraint()}))


def test_branch_and_bound_finds_the_plain_enumeration_optimum() -> None:
    acc = small_acc()
    problem = LayerMappingProblem(layer=LAYER, accelerator=acc)
    plain = optimize(problem, ExhaustiveMapper(layer=LAYER, accelerator=acc, bound=False, warm_start=False))
    bnb = ExhaustiveMapper(layer=LAYER, accelerator=acc)
    fast = optimize(problem, bnb)
    assert plain.exhausted and fast.exhausted
    assert fast.best_values[0, 0] <= plain.best_values[0, 0] * (1 + 1e-12)
    assert bnb.pruned_branches > 0


def test_dataflow_families_constrain_the_innermost_storage() -> None:
    from coexplore.mapping.space import dataflow_constraints

    acc = small_acc()
    ws = MapSpace(layer=LAYER, accelerator=acc, constraints=dataflow_constraints(acc, "weight"))
    allowed = {"N", "P", "Q"}
    for b in ws.enumerate():
        bad = [i for i, d in enumerate("NGKCPQRS") if d not in allowed]
        assert np.all(b.temporal[:, 0, bad] == 1)
    with pytest.raises(SpecError, match="dataflow"):
        dataflow_constraints(acc, "diagonal")


@pytest.mark.parametrize("acc_name", ["eyeriss", "nvdla-256", "shidiannao"])
def test_branch_and_bound_over_tilings_and_orders_keeps_the_optimum_on_presets(acc_name: str) -> None:
    from coexplore.presets.accelerators import get_accelerator
    from coexplore.spec.workload import parse_layer_spec

    acc = get_accelerator(acc_name)
    layer = parse_layer_spec("K=4,C=2,P=2,Q=3,R=3,S=1", name="small")  # plain enumeration: 65k-194k mappings
    problem = LayerMappingProblem(layer=layer, accelerator=acc)
    plain = optimize(problem, ExhaustiveMapper(layer=layer, accelerator=acc, bound=False, warm_start=False))
    bnb = ExhaustiveMapper(layer=layer, accelerator=acc, warm_start=False)
    fast = optimize(problem, bnb)
    assert plain.exhausted and fast.exhausted
    assert fast.best_values[0, 0] == pytest.approx(plain.best_values[0, 0], rel=1e-12)
    assert fast.evaluated < plain.evaluated
