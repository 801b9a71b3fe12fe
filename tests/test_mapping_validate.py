"""Mapping legality, tile sizes and the batch encoding (coexplore.mapping.validate/tiles/encoding)."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coexplore.errors import MappingError
from coexplore.mapping.encoding import MappingBatch, concat, decode, empty, encode
from coexplore.mapping.mapping import LevelMapping, Mapping
from coexplore.mapping.sampling import sample_legal
from coexplore.mapping.tiles import tile_words, tile_words_one
from coexplore.mapping.validate import legal_mask, level_tables, problems, validate
from coexplore.spec.dims import DATASPACES, DIMS, TENSOR_RANKS
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel
from coexplore.spec.workload import Layer
from tests.conftest import eyeriss_like

ALL = frozenset(DATASPACES)


def with_container() -> Accelerator:
    """DRAM / GLB (fan-out 8x1) / 'cols' container without spatial reduction (1x8) / RF / 64 MACs."""
    return Accelerator(
        name="container",
        mac=MacUnit(instances=64, mesh_x=8, mesh_y=8),
        levels=(
            MemoryLevel(
                name="RF", size_words=32, instances=64, mesh_x=8, mesh_y=8,
                keeps=frozenset({"weights", "outputs"}), must_keep=frozenset({"weights"}),
            ),
            MemoryLevel(
                name="cols", size_words=0, instances=8, mesh_x=8, keeps=frozenset(), spatial_reduction=False
            ),
            MemoryLevel(name="GLB", size_words=4096, keeps=frozenset({"inputs", "outputs"})),
            MemoryLevel(name="DRAM", size_words=None),
        ),
    )


CONV = Layer(name="conv3x3", K=128, C=128, P=28, Q=28, R=3, S=3)
SMALL = Layer(name="small", K=16, C=8, P=6, Q=4, R=3, S=3, stride=(2, 1), dilation=(1, 2), N=2)
GROUPED = Layer(name="grouped", K=8, C=8, groups=4, P=4, Q=4, R=3, S=3)


def lm(
    temporal: dict[str, int] | None = None,
    spatial_x: dict[str, int] | None = None,
    spatial_y: dict[str, int] | None = None,
    keep: Iterable[str] = ALL,
    order: str = "NGKCPQRS",
) -> LevelMapping:
    """A level mapping from {dim: factor} dicts; missing dims have factor 1."""

    def factors(f: dict[str, int] | None) -> tuple[int, ...]:
        return tuple((f or {}).get(d, 1) for d in DIMS)

    return LevelMapping(
        temporal=factors(temporal), spatial_x=factors(spatial_x), spatial_y=factors(spatial_y),
        keep=frozenset(keep), order=tuple(order),
    )


def legal_conv_mapping() -> Mapping:
    """A legal mapping of CONV on eyeriss_like: RF holds K2 C4 R3 S3 (72 + 36 + 2 words)."""
    return Mapping(levels=(
        lm(temporal={"K": 2, "C": 4, "R": 3, "S": 3}),
        lm(temporal={"P": 2, "Q": 2}, spatial_x={"K": 8}, spatial_y={"C": 8}, keep={"inputs", "outputs"}),
        lm(temporal={"K": 8, "C": 4, "P": 14, "Q": 14}, order="QPCKNGRS"),
    ))


def replace_level(m: Mapping, i: int, **changes: Any) -> Mapping:
    levels = list(m.levels)
    levels[i] = dataclasses.replace(levels[i], **changes)
    return Mapping(levels=tuple(levels))


def set_factor(factors: tuple[int, ...], dim: str, value: int) -> tuple[int, ...]:
    out = list(factors)
    out[DIMS.index(dim)] = value
    return tuple(out)


def mask_one(layer: Layer, acc: Accelerator, m: Mapping) -> bool:
    return bool(legal_mask(layer, acc, encode([m]))[0])


# -- legality rules, one at a time ---------------------------------------------------

def test_legal_mapping_has_no_problems() -> None:
    acc, m = eyeriss_like(), legal_conv_mapping()
    assert problems(CONV, acc, m) == []
    validate(CONV, acc, m)
    assert mask_one(CONV, acc, m)


def test_level_count_must_match() -> None:
    acc, m = eyeriss_like(), legal_conv_mapping()
    short = Mapping(levels=m.levels[:2])
    found = problems(CONV, acc, short)
    assert found == ["mapping.levels: must have one level mapping per accelerator level (3), got 2"]
    assert not legal_mask(CONV, acc, encode([short]))[0]


def test_dimension_products_must_equal_bounds() -> None:
    acc = eyeriss_like()
    m = replace_level(legal_conv_mapping(), 2, temporal=set_factor(legal_conv_mapping().levels[2].temporal, "K", 4))
    found = problems(CONV, acc, m)
    assert len(found) == 1
    assert found[0].startswith("mapping.levels[*].K: product of K factors")
    assert "layer bound 128, got 64" in found[0]
    assert not mask_one(CONV, acc, m)


def test_grouped_bounds_are_per_group() -> None:
    acc = eyeriss_like()
    # K and C per group are 2; G = 4 loops over the groups.
    m = Mapping(levels=(lm(temporal={"K": 2, "C": 2, "R": 3, "S": 3}), lm(keep={"inputs", "outputs"}),
                        lm(temporal={"G": 4, "P": 4, "Q": 4})))
    assert problems(GROUPED, acc, m) == []
    assert mask_one(GROUPED, acc, m)
    bad = replace_level(m, 0, temporal=set_factor(m.levels[0].temporal, "K", 8))
    assert any("layer bound 2, got 8" in p for p in problems(GROUPED, acc, bad))


def test_fanout_limits_spatial_products() -> None:
    acc = eyeriss_like()
    base = legal_conv_mapping()
    # Move K's DRAM factor 8 onto X next to the existing K=8: product 64 > fan-out 14.
    m = replace_level(base, 1, spatial_x=set_factor(base.levels[1].spatial_x, "K", 64))
    m = replace_level(m, 2, temporal=set_factor(base.levels[2].temporal, "K", 1))
    found = problems(CONV, acc, m)
    assert found == ["mapping.levels[1].spatial_x: product 64 exceeds the fan-out 14 along X of level 'GLB'"]
    assert not mask_one(CONV, acc, m)
    # RF has no fan-out of its own towards the MACs (168 RFs for 168 MACs).
    m = replace_level(base, 0, spatial_y=set_factor(base.levels[0].spatial_y, "R", 3),
                      temporal=set_factor(base.levels[0].temporal, "R", 1))
    assert problems(CONV, acc, m) == [
        "mapping.levels[0].spatial_y: product 3 exceeds the fan-out 1 along Y of level 'RF'"
    ]
    assert not mask_one(CONV, acc, m)


def test_spatial_factors_only_on_allowed_dims() -> None:
    acc = eyeriss_like()
    base = legal_conv_mapping()
    # GLB Y: C8 -> C4 P2 (product 8 fits the 12 rows, but P may not use them).
    m = replace_level(base, 1, spatial_y=set_factor(set_factor(base.levels[1].spatial_y, "P", 2), "C", 4),
                      temporal=set_factor(base.levels[1].temporal, "P", 1))
    m = replace_level(m, 2, temporal=set_factor(base.levels[2].temporal, "C", 8))
    found = problems(CONV, acc, m)
    assert found == [
        "mapping.levels[1].spatial_y.P: dimension P may not be unrolled along Y at level 'GLB' "
        "(allowed: K, C, R, S), got 2"
    ]
    assert not mask_one(CONV, acc, m)


def test_no_spatial_reduction_forbids_reduction_dims() -> None:
    acc = with_container()
    layer = Layer(K=8, C=8, P=4, Q=4, R=3, S=3)
    ok = Mapping(levels=(
        lm(temporal={"R": 3, "S": 3}, keep={"weights"}),
        lm(spatial_y={"K": 8}, keep=()),
        lm(spatial_x={"C": 8}, keep={"inputs", "outputs"}),
        lm(temporal={"P": 4, "Q": 4}),
    ))
    assert problems(layer, acc, ok) == []
    assert mask_one(layer, acc, ok)
    # Swap: C on the container's Y needs a spatial reduction the container does not have.
    bad = replace_level(ok, 1, spatial_y=set_factor(set_factor(ok.levels[1].spatial_y, "K", 1), "C", 8))
    bad = replace_level(bad, 2, spatial_x=set_factor(set_factor(ok.levels[2].spatial_x, "C", 1), "K", 8))
    found = problems(layer, acc, bad)
    assert found == [
        "mapping.levels[1].spatial_y.C: level 'cols' has no spatial reduction, so reduction dimension C "
        "may not be unrolled, got 8"
    ]
    assert not mask_one(layer, acc, bad)


def test_keep_rules() -> None:
    acc = with_container()
    layer = Layer(K=8, C=8, P=4, Q=4, R=3, S=3)
    ok = Mapping(levels=(
        lm(temporal={"R": 3, "S": 3}, keep={"weights"}),
        lm(spatial_y={"K": 8}, keep=()),
        lm(spatial_x={"C": 8}, keep={"inputs", "outputs"}),
        lm(temporal={"P": 4, "Q": 4}),
    ))
    cases = {
        (0, frozenset({"outputs"})): "mapping.levels[0].keep: level 'RF' must keep [weights], got [outputs]",
        (0, frozenset({"weights", "inputs"})):
            "mapping.levels[0].keep: level 'RF' can only keep [weights, outputs], got [weights, inputs]",
        (1, frozenset({"inputs"})): "mapping.levels[1].keep: level 'cols' can only keep [], got [inputs]",
        # K8 (own spatial) * R3 * S3 = 72 weight words.
        (1, frozenset({"weights"})): "mapping.levels[1] (cols): tile needs 72 words (weights 72) but size_words is 0",
        (3, frozenset({"weights", "outputs"})):
            "mapping.levels[3].keep: the outermost level 'DRAM' must keep every dataspace, got [weights, outputs]",
    }
    for (i, keep), message in cases.items():
        bad = replace_level(ok, i, keep=keep)
        found = problems(layer, acc, bad)
        assert message in found
        # Only a container keeping something also overflows its zero capacity.
        assert len(found) == (2 if i == 1 else 1)
        assert not mask_one(layer, acc, bad)


def test_container_has_no_temporal_loops() -> None:
    acc = with_container()
    layer = Layer(K=8, C=8, P=4, Q=4, R=3, S=3)
    m = Mapping(levels=(
        lm(temporal={"R": 3, "S": 3}, keep={"weights"}),
        lm(temporal={"P": 2}, spatial_y={"K": 8}, keep=()),
        lm(spatial_x={"C": 8}, keep={"inputs", "outputs"}),
        lm(temporal={"P": 2, "Q": 4}),
    ))
    assert problems(layer, acc, m) == [
        "mapping.levels[1].temporal.P: level 'cols' is a spatial container and has no temporal loops "
        "(factor must be 1), got 2"
    ]
    assert not mask_one(layer, acc, m)


def test_capacity_message_lists_kept_tiles() -> None:
    acc = eyeriss_like()
    # RF: K4 C16 R3 P2 -> weights 4*16*3 = 192, inputs 16*(2+3-1)*1 = 64, outputs 4*2 = 8.
    m = Mapping(levels=(
        lm(temporal={"K": 4, "C": 16, "R": 3, "P": 2}),
        lm(spatial_x={"K": 8}, spatial_y={"C": 8}, keep={"inputs", "outputs"}),
        lm(temporal={"K": 4, "P": 14, "Q": 28, "S": 3}),
    ))
    assert problems(CONV, acc, m) == [
        "mapping.levels[0] (RF): tile needs 264 words (weights 192 + inputs 64 + outputs 8) but size_words is 256"
    ]
    assert not mask_one(CONV, acc, m)
    bypass_inputs = replace_level(m, 0, keep=frozenset({"weights", "outputs"}))
    assert problems(CONV, acc, bypass_inputs) == []
    assert mask_one(CONV, acc, bypass_inputs)


def test_all_problems_reported_at_once() -> None:
    acc = eyeriss_like()
    base = legal_conv_mapping()
    m = replace_level(base, 1, spatial_y=set_factor(base.levels[1].spatial_y, "P", 2), keep=ALL)
    m = replace_level(m, 2, keep=frozenset({"weights"}))
    found = problems(CONV, acc, m)
    assert any(p.startswith("mapping.levels[*].P") for p in found)
    assert any(p.startswith("mapping.levels[1].spatial_y.P") for p in found)
    assert any("level 'GLB' can only keep [inputs, outputs], got [weights, inputs, outputs]" in p for p in found)
    assert any("outermost level 'DRAM' must keep every dataspace" in p for p in found)
    with pytest.raises(MappingError) as err:
        validate(CONV, acc, m)
    assert err.value.problems == found


def test_legal_mask_rejects_malformed_rows() -> None:
    acc = eyeriss_like()
    batch = encode([legal_conv_mapping()] * 3)
    order = batch.order.copy()
    order[1, 0, :2] = 0  # not a permutation
    temporal = batch.temporal.copy()
    temporal[2, 0, 0] = 0  # factor 0, product check alone would not catch a zero with a compensating factor
    bad = dataclasses.replace(batch, order=order, temporal=temporal)
    assert legal_mask(CONV, acc, bad).tolist() == [True, False, False]
    wrong_levels = encode([Mapping(levels=legal_conv_mapping().levels[:2])])
    assert legal_mask(CONV, acc, wrong_levels).tolist() == [False]


def test_level_tables_are_read_only() -> None:
    tab = level_tables(with_container())
    assert tab.fanout.tolist() == [[1, 1], [1, 8], [8, 1], [1, 1]]
    assert tab.container.tolist() == [False, True, False, False]
    assert not tab.allowed_y[1, DIMS.index("C")] and tab.allowed_y[1, DIMS.index("K")]
    assert tab.must_keep[3].all() and np.isinf(tab.size_words[3])
    with pytest.raises(ValueError):
        tab.fanout[0, 0] = 5


# -- legal_mask == (problems == []) on random, partly illegal mappings -----------------

ACCELERATORS = (eyeriss_like(), with_container())
LAYERS = (SMALL, GROUPED, Layer(name="fc", K=24, C=18), Layer(name="dw", K=8, C=8, groups=8, P=6, Q=6, R=3, S=3))

mutation = st.tuples(
    st.sampled_from(["temporal", "spatial_x", "spatial_y", "keep", "swap_levels", "to_spatial", "order"]),
    st.integers(0, 3),  # level
    st.integers(0, 7),  # dimension (or dataspace)
    st.sampled_from([1, 2, 3, 4, 6, 8, 16]),
    st.integers(0, 3),  # second level
)


def mutate(m: Mapping, kind: str, i: int, d: int, v: int, j: int) -> Mapping:
    n = len(m.levels)
    i, j = i % n, j % n
    a = m.levels[i]
    if kind in ("temporal", "spatial_x", "spatial_y"):
        return replace_level(m, i, **{kind: set_factor(getattr(a, kind), DIMS[d], v)})
    if kind == "keep":
        return replace_level(m, i, keep=a.keep ^ {DATASPACES[d % 3]})
    if kind == "swap_levels":  # moves a factor between levels: products stay right
        b = m.levels[j]
        m = replace_level(m, i, temporal=set_factor(a.temporal, DIMS[d], b.temporal[d]))
        return replace_level(m, j, temporal=set_factor(b.temporal, DIMS[d], a.temporal[d]))
    if kind == "to_spatial":  # turns a temporal factor into a spatial one on X or Y
        axis = "spatial_x" if v % 2 else "spatial_y"
        m = replace_level(m, i, temporal=set_factor(a.temporal, DIMS[d], 1))
        return replace_level(m, i, **{axis: set_factor(getattr(a, axis), DIMS[d], a.temporal[d] * getattr(a, axis)[d])})
    order = list(a.order)
    order[d], order[j * 2] = order[j * 2], order[d]
    return replace_level(m, i, order=tuple(order))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    acc_i=st.integers(0, len(ACCELERATORS) - 1),
    layer_i=st.integers(0, len(LAYERS) - 1),
    seed=st.integers(0, 2**32 - 1),
    mutations=st.lists(st.lists(mutation, max_size=3), min_size=1, max_size=8),
)
def test_legal_mask_agrees_with_problems(acc_i: int, layer_i: int, seed: int, mutations: list) -> None:
    acc, layer = ACCELERATORS[acc_i], LAYERS[layer_i]
    base = sample_legal(layer, acc, len(mutations), seed=seed)
    mappings = []
    for k, muts in enumerate(mutations):
        m = decode(base, k)
        for mut in muts:
            m = mutate(m, *mut)
        mappings.append(m)
    mask = legal_mask(layer, acc, encode(mappings))
    assert mask.tolist() == [problems(layer, acc, m) == [] for m in mappings]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    acc_i=st.integers(0, len(ACCELERATORS) - 1),
)
def test_legal_mask_agrees_on_raw_random_arrays(seed: int, acc_i: int) -> None:
    acc = ACCELERATORS[acc_i]
    layer = Layer(K=4, C=2, P=2, Q=2, R=1, S=2)
    rng = np.random.default_rng(seed)
    b, n_lv = 64, len(acc.levels)
    choices = np.array([1, 1, 1, 2, 4])
    batch = MappingBatch(
        temporal=rng.choice(choices, size=(b, n_lv, 8)).astype(np.int64),
        order=np.argsort(rng.random((b, n_lv, 8)), axis=2).astype(np.int8),
        spatial_x=rng.choice(choices, size=(b, n_lv, 8), p=[0.3, 0.3, 0.3, 0.05, 0.05]).astype(np.int64),
        spatial_y=rng.choice(choices, size=(b, n_lv, 8), p=[0.3, 0.3, 0.3, 0.05, 0.05]).astype(np.int64),
        keep=rng.random((b, n_lv, 3)) < 0.7,
    )
    mask = legal_mask(layer, acc, batch)
    assert mask.tolist() == [problems(layer, acc, decode(batch, i)) == [] for i in range(b)]


def test_mutated_mappings_cover_legal_and_illegal() -> None:
    """The property above is only meaningful if both outcomes occur often."""
    acc, layer = eyeriss_like(), SMALL
    rng = np.random.default_rng(7)
    base = sample_legal(layer, acc, 400, seed=3)
    kinds = ["temporal", "keep", "swap_levels", "to_spatial", "order"]
    mappings = []
    for k in range(len(base)):
        i, d, v, j = (int(x) for x in (rng.integers(4), rng.integers(8), rng.choice([1, 2, 3]), rng.integers(4)))
        mappings.append(mutate(decode(base, k), kinds[k % 5], i, d, v, j))
    mask = legal_mask(layer, acc, encode(mappings))
    assert mask.tolist() == [problems(layer, acc, m) == [] for m in mappings]
    assert 0.1 < mask.mean() < 0.9


# -- tiles --------------------------------------------------------------------------

def bounding_box_tiles(layer: Layer, mapping: Mapping) -> list[dict[str, int]]:
    """Slow reference: enumerate the coordinates the loops at and below each level touch."""
    coef = {"1": 1, "stride_h": layer.stride[0], "dil_h": layer.dilation[0],
            "stride_w": layer.stride[1], "dil_w": layer.dilation[1]}
    t = dict.fromkeys(DIMS, 1)
    out = []
    for level in mapping.levels:
        for d in DIMS:
            t[d] *= level.factor(d)
        tiles = {}
        for ds, ranks in TENSOR_RANKS.items():
            words = 1
            for rank in ranks:
                coords = [
                    sum(coef[c] * i for (_, c), i in zip(rank, idx))
                    for idx in itertools.product(*(range(t[d]) for d, _ in rank))
                ]
                words *= max(coords) - min(coords) + 1
            tiles[ds] = words
        out.append(tiles)
    return out


@pytest.mark.parametrize("layer", [SMALL, GROUPED, Layer(K=6, C=4, P=5, Q=3, R=2, S=3, stride=(3, 2), dilation=(2, 1))])
def test_tile_words_match_bounding_box_reference(layer: Layer) -> None:
    acc = eyeriss_like()
    batch = sample_legal(layer, acc, 40, seed=11)
    fast = tile_words(layer, batch)
    assert fast.shape == (40, 3, 3) and fast.dtype == np.int64
    for i in range(len(batch)):
        m = decode(batch, i)
        one = tile_words_one(layer, m)
        assert one == bounding_box_tiles(layer, m)
        assert fast[i].tolist() == [[lv[ds] for ds in DATASPACES] for lv in one]
    # The outermost level holds the whole layer.
    top = fast[:, -1]
    assert (top[:, 0] == layer.weights_words).all()
    assert (top[:, 1] == layer.inputs_words).all()
    assert (top[:, 2] == layer.outputs_words).all()


def test_tile_includes_own_spatial_factors() -> None:
    m = legal_conv_mapping()
    tiles = tile_words_one(CONV, m)
    # GLB tile: K 2*8=16, C 4*8=32, P 2, Q 2, R 3, S 3 -> weights 16*32*9, outputs 16*2*2, inputs 32*4*4.
    assert tiles[1] == {"weights": 16 * 32 * 9, "inputs": 32 * 4 * 4, "outputs": 16 * 4}


# -- encoding -----------------------------------------------------------------------

def test_encode_decode_round_trip_and_shapes() -> None:
    acc = with_container()
    layer = Layer(K=8, C=8, P=4, Q=4, R=3, S=3)
    batch = sample_legal(layer, acc, 25, seed=5)
    assert len(batch) == 25 and batch.n_levels == 4
    assert batch.temporal.dtype == np.int64 and batch.order.dtype == np.int8 and batch.keep.dtype == np.bool_
    assert batch.keep.shape == (25, 4, 3) and batch.spatial_y.shape == (25, 4, 8)
    mappings = [decode(batch, i) for i in range(len(batch))]
    again = encode(mappings)
    for name in ("temporal", "order", "spatial_x", "spatial_y", "keep"):
        assert np.array_equal(getattr(again, name), getattr(batch, name))
    m = mappings[3]
    assert [DIMS[k] for k in batch.order[3, 0]] == list(m.levels[0].order)
    assert math.prod(m.dim_product(d) for d in DIMS) == layer.macs


def test_take_and_concat() -> None:
    batch = sample_legal(SMALL, eyeriss_like(), 10, seed=1)
    sub = batch.take([7, 2])
    assert len(sub) == 2 and np.array_equal(sub.temporal[0], batch.temporal[7])
    assert len(batch.take(np.arange(10) % 2 == 0)) == 5
    assert len(batch.take(3)) == 1
    both = concat([sub, batch.take(slice(0, 3))])
    assert len(both) == 5 and np.array_equal(both.order[2:], batch.order[:3])
    assert len(concat([batch, empty(3)])) == 10
    with pytest.raises(MappingError, match="must not be empty"):
        concat([])
    with pytest.raises(MappingError, match="same number of levels"):
        concat([batch, empty(4)])


def test_batch_rejects_bad_shapes_and_dtypes() -> None:
    batch = sample_legal(SMALL, eyeriss_like(), 4, seed=1)
    with pytest.raises(MappingError, match=r"MappingBatch.order: must have dtype int8, got int64"):
        dataclasses.replace(batch, order=batch.order.astype(np.int64))
    with pytest.raises(MappingError, match=r"MappingBatch.keep: must have shape \(4, 3, 3\)"):
        dataclasses.replace(batch, keep=batch.keep[:, :2])
    with pytest.raises(MappingError, match=r"mappings\[1\].levels: must have 3 levels"):
        encode([decode(batch, 0), Mapping(levels=decode(batch, 1).levels[:2])])
