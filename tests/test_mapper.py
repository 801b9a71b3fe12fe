"""Mapping search: determinism, the shape cache, infeasibility, and the mapper registry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from coexplore.errors import InfeasibleError, RegistryError
from coexplore.mapper.network import map_layer, map_network
from coexplore.mapper.registry import MAPPERS, make_mapper
from coexplore.mapping.validate import problems
from coexplore.presets.accelerators import get_accelerator
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel
from coexplore.spec.workload import Layer, Network

SMALL = Layer(name="s", K=16, C=8, P=8, Q=8, R=3, S=3)


def test_same_seed_same_mapping_different_seed_may_differ() -> None:
    acc = get_accelerator("eyeriss")
    a = map_layer(SMALL, acc, seed=3, max_evals=60_000)
    b = map_layer(SMALL, acc, seed=3, max_evals=60_000)
    assert a.mapping == b.mapping and a.cost.edp == b.cost.edp
    assert problems(SMALL, acc, a.mapping) == []


@pytest.mark.parametrize("name", sorted(MAPPERS))
def test_every_registered_mapper_finds_a_legal_mapping(name: str) -> None:
    acc = get_accelerator("shidiannao")
    layer = Layer(name="fc", K=32, C=64)
    res = map_layer(layer, acc, mapper=name, max_evals=None if name == "exhaustive" else 30_000, max_seconds=120)
    assert problems(layer, acc, res.mapping) == []
    assert res.cost.edp > 0
    if name == "exhaustive":
        assert res.optimal


def test_network_maps_each_shape_once_and_reuses_it() -> None:
    acc = get_accelerator("nvdla-256")
    twin = [Layer(name=f"l{i}", K=16, C=16, P=8, Q=8, R=3, S=3) for i in range(3)]
    net = Network(name="twins", layers=(*twin, Layer(name="fc", K=10, C=16)))
    res = map_network(net, acc, jobs=1, max_evals=20_000, progress=False)
    assert [x.layer.name for x in res.layers] == ["l0", "l1", "l2", "fc"]
    assert res.layers[0].mapping == res.layers[1].mapping == res.layers[2].mapping
    assert np.isclose(res.edp, res.energy_pj * res.latency_cycles)


def test_layer_that_fits_nowhere_is_infeasible_with_the_reason() -> None:
    tiny = Accelerator(
        name="tiny",
        levels=(MemoryLevel(name="rf", size_words=2, must_keep=frozenset({"weights", "inputs", "outputs"})),
                MemoryLevel(name="dram", size_words=None)),
        mac=MacUnit(),
    )
    layer = Layer(name="big", K=4, C=4, P=4, Q=4, R=3, S=3)
    with pytest.raises(InfeasibleError, match="rf"):
        map_layer(layer, tiny, max_evals=5_000)


def test_unknown_mapper_lists_valid_names() -> None:
    with pytest.raises(RegistryError, match="valid: default"):
        make_mapper("nope", SMALL, get_accelerator("eyeriss"), 0)


def test_cli_exhaustive_says_optimal() -> None:
    r = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "map", "--layer", "K=16,C=32,N=1",
                        "--accelerator", "nvdla-256", "--mapper", "exhaustive", "--jobs", "1", "--json"],
                       capture_output=True, text=True, check=True)
    import json

    out = json.loads(r.stdout)
    assert out["optimal"] is True and out["layers"][0]["optimal"] is True
