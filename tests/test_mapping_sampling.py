"""Random legal mappings (coexplore.mapping.sampling) and factorization helpers (coexplore.mapping.factors)."""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
from typing import Any

import numpy as np
import pytest

from coexplore.errors import InfeasibleError, SpecError
from coexplore.mapping.encoding import decode
from coexplore.mapping.factors import divisors, factorizations, n_factorizations, prime_factorization
from coexplore.mapping.mapping import LevelMapping, Mapping
from coexplore.mapping.sampling import sample_candidates, sample_legal, sample_one
from coexplore.mapping.validate import legal_mask, problems
from coexplore.spec.dims import DATASPACES, DIMS, REDUCTION_DIMS
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel
from coexplore.spec.workload import Layer
from tests.conftest import eyeriss_like

CONV = Layer(name="conv3x3", K=128, C=128, P=28, Q=28, R=3, S=3)
LAYERS = {
    "conv": CONV,
    "first": Layer(name="first", K=64, C=3, P=112, Q=112, R=7, S=7, stride=(2, 2)),
    "dw": Layer(name="dw", K=144, C=144, groups=144, P=56, Q=56, R=3, S=3, stride=(2, 2)),
    "fc": Layer(name="fc", K=1000, C=2048),
    "dilated": Layer(name="dilated", K=32, C=16, P=14, Q=10, R=3, S=3, dilation=(2, 3), N=2),
}


def eyeriss_spads() -> Accelerator:
    """Timeloop-Eyeriss-like: per-dataspace scratchpads that must keep their tensor, a column container."""
    pe: dict[str, Any] = {"instances": 168, "mesh_x": 14, "mesh_y": 12}

    def spad(name: str, size: int, ds: str) -> MemoryLevel:
        return MemoryLevel(name=name, size_words=size, keeps=frozenset({ds}), must_keep=frozenset({ds}), **pe)

    return Accelerator(
        name="eyeriss-spads",
        mac=MacUnit(**pe),
        levels=(
            spad("psum_spad", 16, "outputs"),
            spad("weights_spad", 192, "weights"),
            spad("ifmap_spad", 12, "inputs"),
            MemoryLevel(name="cols", size_words=0, instances=14, mesh_x=14, keeps=frozenset(),
                        spatial_dims_y=frozenset("RSCK")),
            MemoryLevel(name="GLB", size_words=65536, keeps=frozenset({"inputs", "outputs"}),
                        spatial_dims_x=frozenset("PQK"), spatial_reduction=False),
            MemoryLevel(name="DRAM", size_words=None),
        ),
    )


def tiny() -> Accelerator:
    """Two MACs under one DRAM-fed RF pair: small enough to enumerate every legal mapping."""
    return Accelerator(
        name="tiny",
        mac=MacUnit(instances=2, mesh_x=2),
        levels=(MemoryLevel(name="RF", size_words=6, instances=2, mesh_x=2), MemoryLevel(name="DRAM", size_words=None)),
    )


ACCELERATORS = {"eyeriss-like": eyeriss_like(), "eyeriss-spads": eyeriss_spads(), "tiny": tiny()}


@pytest.mark.parametrize("acc_name", ["eyeriss-like", "eyeriss-spads"])
@pytest.mark.parametrize("layer_name", sorted(LAYERS))
def test_samples_are_legal_and_exactly_n(acc_name: str, layer_name: str) -> None:
    acc, layer = ACCELERATORS[acc_name], LAYERS[layer_name]
    batch = sample_legal(layer, acc, 500, seed=1)
    assert len(batch) == 500
    assert legal_mask(layer, acc, batch).all()
    for i in range(0, 500, 50):
        assert problems(layer, acc, decode(batch, i)) == []


def test_generation_respects_structure_before_rejection() -> None:
    """Candidates already obey fan-out, allowed dims, containers and keep rules (rejection is for capacity)."""
    acc = eyeriss_spads()
    layer = LAYERS["conv"]
    batch = sample_candidates(layer, acc, 3000, np.random.default_rng(0))
    assert legal_mask(layer, acc, batch).mean() > 0.95
    bounds = np.array(layer.bounds_tuple())
    assert ((batch.temporal * batch.spatial_x * batch.spatial_y).prod(axis=1) == bounds).all()
    for i, lv in enumerate(acc.levels):
        fx, fy = acc.fanout(i)
        assert (batch.spatial_x[:, i].prod(axis=1) <= fx).all()
        assert (batch.spatial_y[:, i].prod(axis=1) <= fy).all()
        for k, d in enumerate(DIMS):
            if d not in lv.spatial_dims_x or (not lv.spatial_reduction and d in REDUCTION_DIMS):
                assert (batch.spatial_x[:, i, k] == 1).all()
            if d not in lv.spatial_dims_y or (not lv.spatial_reduction and d in REDUCTION_DIMS):
                assert (batch.spatial_y[:, i, k] == 1).all()
        for k, ds in enumerate(DATASPACES):
            if ds not in lv.keeps:
                assert not batch.keep[:, i, k].any()
            if ds in lv.must_keep or i == len(acc.levels) - 1:
                assert batch.keep[:, i, k].all()
        if lv.is_container:
            assert (batch.temporal[:, i] == 1).all()
    assert np.array_equal(np.sort(batch.order, axis=2), np.broadcast_to(np.arange(8), batch.order.shape))


def test_same_seed_same_batch_and_different_seeds_differ() -> None:
    acc = eyeriss_like()
    a = sample_legal(CONV, acc, 300, seed=42)
    b = sample_legal(CONV, acc, 300, seed=42)
    c = sample_legal(CONV, acc, 300, seed=43)
    for name in ("temporal", "order", "spatial_x", "spatial_y", "keep"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.temporal, c.temporal)
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    assert sample_one(CONV, acc, r1) == sample_one(CONV, acc, r2)


def test_samples_are_diverse() -> None:
    acc = eyeriss_like()
    batch = sample_legal(CONV, acc, 5000, seed=0)
    factors = zip(batch.temporal, batch.spatial_x, batch.spatial_y)
    rows = {(t.tobytes(), x.tobytes(), y.tobytes()) for t, x, y in factors}
    assert len(rows) > 4900
    used_x = batch.spatial_x[:, 1].prod(axis=1)
    used_y = batch.spatial_y[:, 1].prod(axis=1)
    assert used_x.min() == 1 and used_y.min() == 1
    assert (used_x * used_y == 168).any()  # full arrays are reachable (e.g. K14... or P14 x C12)
    rf_keeps = batch.keep[:, 0]
    assert 0.3 < rf_keeps.mean() < 0.7  # optional dataspaces kept about half of the time
    inner = batch.temporal[:, 0].prod(axis=1)
    assert inner.min() == 1 and inner.max() > 16


def test_every_legal_mapping_is_reachable() -> None:
    """On a space small enough to enumerate, every legal factor split and keep choice is sampled."""
    acc = tiny()
    layer = Layer(K=4, C=2, P=2)
    bounds = layer.bounds()
    legal = set()
    # Slots per dimension: RF temporal, DRAM temporal, DRAM spatial X (fan-out 2 to the RFs).
    for combo in itertools.product(*(factorizations(bounds[d], 3) for d in DIMS)):
        for keep_bits in itertools.product((False, True), repeat=3):
            rf = LevelMapping(
                temporal=tuple(c[0] for c in combo),
                keep=frozenset(ds for ds, k in zip(DATASPACES, keep_bits) if k),
            )
            top = LevelMapping(temporal=tuple(c[1] for c in combo), spatial_x=tuple(c[2] for c in combo))
            if not problems(layer, acc, Mapping(levels=(rf, top))):
                legal.add((combo, keep_bits))
    assert 100 < len(legal) < 432  # capacity and fan-out rule out part of the 54 * 8 candidates
    batch = sample_legal(layer, acc, 100_000, seed=0)
    seen = collections.Counter(
        (tuple(zip(t0.tolist(), t1.tolist(), x1.tolist())), tuple(k.tolist()))
        for t0, t1, x1, k in zip(batch.temporal[:, 0], batch.temporal[:, 1], batch.spatial_x[:, 1], batch.keep[:, 0])
    )
    assert set(seen) == legal


def test_hundred_thousand_conv_mappings_are_legal() -> None:
    """Speed is measured in benchmarks (bench cost reports sampling time); here only correctness."""
    acc = eyeriss_like()
    batch = sample_legal(CONV, acc, 100_000, seed=123)
    assert len(batch) == 100_000
    assert legal_mask(CONV, acc, batch).all()


def test_sample_one_and_edge_counts() -> None:
    acc = eyeriss_spads()
    m = sample_one(LAYERS["dw"], acc, np.random.default_rng(3))
    assert isinstance(m, Mapping) and problems(LAYERS["dw"], acc, m) == []
    empty = sample_legal(CONV, acc, 0, seed=0)
    assert len(empty) == 0 and empty.n_levels == len(acc.levels)
    with pytest.raises(SpecError, match="n: the number of mappings must be an integer >= 0, got -1"):
        sample_legal(CONV, acc, -1, seed=0)


def test_infeasible_when_smallest_tile_does_not_fit() -> None:
    spads = eyeriss_spads()
    broken = dataclasses.replace(spads, levels=(dataclasses.replace(spads.levels[0], size_words=0), *spads.levels[1:]))
    with pytest.raises(InfeasibleError, match=r"level 'psum_spad': the smallest possible tile of the dataspaces it "
                                              r"must keep needs 1 words \(outputs 1\) but size_words is 0"):
        sample_legal(CONV, broken, 10, seed=0)
    layer = Layer(K=8, C=8, P=4, Q=4, R=3, S=3)
    full = layer.weights_words + layer.inputs_words + layer.outputs_words

    def bounded_dram(size: int) -> Accelerator:
        return Accelerator(
            name="bounded-dram",
            mac=MacUnit(instances=1),
            levels=(MemoryLevel(name="RF", size_words=64), MemoryLevel(name="DRAM", size_words=size)),
        )

    with pytest.raises(InfeasibleError, match=rf"level 'DRAM': .* needs {full} words .* size_words is {full - 1}"):
        sample_legal(layer, bounded_dram(full - 1), 10, seed=0)
    assert legal_mask(layer, bounded_dram(full), sample_legal(layer, bounded_dram(full), 50, seed=0)).all()


def test_rare_legal_mappings_exhaust_rounds_with_a_reason() -> None:
    """When spatial factors alone overflow a level, rejection remains; too few rounds give a reasoned error."""
    acc = Accelerator(
        name="vector",
        mac=MacUnit(instances=64, mesh_x=64),
        levels=(
            MemoryLevel(name="RF", size_words=64, must_keep=frozenset({"weights", "inputs", "outputs"})),
            MemoryLevel(name="DRAM", size_words=None),
        ),
    )
    layer = Layer(K=64, C=64, P=8, Q=8)
    rate = legal_mask(layer, acc, sample_candidates(layer, acc, 2000, np.random.default_rng(0))).mean()
    assert 0.05 < rate < 0.9  # the RF's own 64-wide fan-out can overflow its 64 words
    batch = sample_legal(layer, acc, 2000, seed=0)
    assert len(batch) == 2000 and legal_mask(layer, acc, batch).all()
    with pytest.raises(InfeasibleError, match=r"found \d+ of 2000 .* level 'RF' \(size_words 64\) overflowed"):
        sample_legal(layer, acc, 2000, seed=0, max_rounds=1)


# -- factors ------------------------------------------------------------------------

def test_divisors_and_primes() -> None:
    assert divisors(1) == (1,)
    assert divisors(28) == (1, 2, 4, 7, 14, 28)
    assert prime_factorization(360) == ((2, 3), (3, 2), (5, 1))
    assert prime_factorization(1) == ()
    for n in (1, 2, 12, 97, 128, 1000, 25088):
        assert divisors(n) == tuple(d for d in range(1, n + 1) if n % d == 0)
        assert math.prod(p**e for p, e in prime_factorization(n)) == n
    with pytest.raises(ValueError, match="n: must be a positive integer, got 0"):
        divisors(0)


@pytest.mark.parametrize(("n", "k"), [(1, 3), (12, 1), (12, 3), (128, 4), (28, 5), (7, 2), (1, 0), (5, 0)])
def test_factorizations_are_all_ordered_splits(n: int, k: int) -> None:
    got = factorizations(n, k)
    brute = tuple(t for t in itertools.product(divisors(n), repeat=k) if math.prod(t) == n)
    assert got == brute
    assert len(got) == n_factorizations(n, k)
    assert factorizations(n, k) is got  # cached
