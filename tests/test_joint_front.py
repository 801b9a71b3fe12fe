"""Joint co-exploration foundation: the Eyeriss-budget grid, the shape x design cost table and its
cache, and the exact fronts over all pairs checked against brute-force dominance on a subspace."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from coexplore.errors import DataError
from coexplore.hwsearch.problem import MapperConfig, map_shape
from coexplore.hwsearch.space import Design
from coexplore.joint import costtable
from coexplore.joint.costtable import CostTable, ShapeCounts, build_cost_table, nb201_shape_counts
from coexplore.joint.front import (
    _front_3d,
    edp_hypervolume,
    edp_reference,
    front_accuracy_costs,
    front_accuracy_edp,
)
from coexplore.joint.space import DesignGrid, eyeriss_grid
from coexplore.nas.nb201 import NB201Space
from coexplore.nas.tables import load_accuracy
from coexplore.search.pareto import hypervolume_2d, non_dominated

FAST = MapperConfig(samples=256, beam=4, moves=16, patience=1, polish_cap=256, max_evals=5_000)
N_CELLS, N_DESIGNS = 200, 50


@pytest.fixture(scope="module")
def grid() -> DesignGrid:
    return eyeriss_grid()


@pytest.fixture(scope="module")
def sub(grid: DesignGrid, tmp_path_factory: pytest.TempPathFactory) -> tuple[ShapeCounts, CostTable, np.ndarray]:
    """200 random cells x 50 random designs, mapped with a fast setting (the fronts need only a table)."""
    rng = np.random.default_rng(0)
    cells = np.sort(rng.choice(15625, N_CELLS, replace=False))
    counts = nb201_shape_counts(cells)
    designs = grid.subset(rng.choice(len(grid), N_DESIGNS, replace=False))
    table = build_cost_table(grid, counts.shapes, designs=designs, mapper=FAST, jobs=1,
                             cache_dir=tmp_path_factory.mktemp("cache"))
    return counts, table, load_accuracy()[cells]


def _brute_front(values: np.ndarray) -> set[int]:
    """Indices of rows no other row dominates (all minimised), by O(n^2) comparisons."""
    out = set()
    for start in range(0, len(values), 500):
        v = values[start:start + 500]
        le = np.all(values[None, :, :] <= v[:, None, :], axis=2)
        lt = np.any(values[None, :, :] < v[:, None, :], axis=2)
        out |= {start + i for i in np.flatnonzero(~(le & lt).any(axis=1))}
    return out


def _all_pairs(table: CostTable, counts: ShapeCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    energy, latency = table.network_costs(counts.counts)
    net, des = np.meshgrid(np.arange(len(counts.counts)), np.arange(len(table.designs)), indexing="ij")
    return net.ravel(), des.ravel(), np.column_stack([energy.ravel(), latency.ravel()])


def test_grid_has_8000_designs_all_within_the_eyeriss_budget(grid: DesignGrid) -> None:
    designs = grid.designs()
    assert len(designs) >= 8000
    assert len(set(designs)) == len(designs)
    assert len({grid.dataflow_of(d) for d in designs}) == 6
    on_chip = [grid.build(d).onchip_bits for d in designs[:: max(1, len(designs) // 300)]]
    biggest = max(designs, key=lambda d: d.pes * sum(d.sizes_words[:3]) * 16 + d.sizes_words[3] * 16)
    for d in (*designs[:: max(1, len(designs) // 300)], biggest):
        acc = grid.build(d)
        assert grid.budget.violations(acc) == [], d
        assert acc.n_macs <= grid.template.n_macs
    assert max(on_chip) <= grid.template.onchip_bits


def test_grid_violations_agree_with_the_built_accelerator(grid: DesignGrid) -> None:
    over = Design(array_x=14, array_y=12, dims_x=("K", "P"), dims_y=("C", "K", "R"), sizes_words=(32, 448, 48, 55296),
                  dram_share=1.0)
    assert grid.violations(over) and grid.budget.violations(grid.build(over))
    assert "max_sram_bits" in grid.violations(over)[0]
    same = Design(array_x=14, array_y=12, dims_x=("K", "P"), dims_y=("C", "K", "R"), sizes_words=(24, 224, 12, 55296),
                  dram_share=1.0)
    assert grid.violations(same) == [] and grid.build(same).onchip_bits == grid.template.onchip_bits


def test_shape_counts_match_the_networks() -> None:
    """Every row equals the layer-shape histogram of the network itself (rows are built once per multiset of
    live operations), on 300 random cells and the whole space's matrix."""
    space = NB201Space()
    idx = sorted({0, 1, 7, 1000, 15624, *np.random.default_rng(3).choice(15625, 300, replace=False).tolist()})
    whole = nb201_shape_counts()
    for counts, rows in ((nb201_shape_counts(idx), range(len(idx))), (whole, idx)):
        keys = [x.shape_key() for x in counts.shapes]
        for r, i in zip(rows, idx):
            hist = Counter(layer.shape_key() for layer in space.to_network(space.cell(i)).layers)
            assert {keys[k]: int(n) for k, n in enumerate(counts.counts[r]) if n} == dict(hist), i
    assert len(whole.shapes) == 12 and len(np.unique(whole.counts, axis=0)) == 28


def test_table_equals_mapping_the_networks_directly(grid: DesignGrid,
                                                    sub: tuple[ShapeCounts, CostTable, np.ndarray]) -> None:
    counts, table, _ = sub
    space = NB201Space()
    energy, latency = table.network_costs(counts.counts)
    for r in (0, 57, 199):
        net = space.to_network(space.cell(int(counts.arch_index[r])))
        for j in (0, 31):
            acc = grid.build(table.designs[j])
            direct = [map_shape(layer, acc, config=FAST, objective="edp", seed=0)[:2] for layer in net.layers]
            assert latency[r, j] == sum(lat for _, lat in direct)
            assert energy[r, j] == pytest.approx(sum(e for e, _ in direct), rel=1e-12)
            assert table.area_mm2[j] == acc.area_mm2
    assert table.feasible.all()


def test_edp_front_equals_brute_force_over_all_pairs(sub: tuple[ShapeCounts, CostTable, np.ndarray]) -> None:
    counts, table, accuracy = sub
    net, des, el = _all_pairs(table, counts)
    values = np.column_stack([-accuracy[net], el[:, 0] * el[:, 1]])
    expected = {(int(net[i]), int(des[i])) for i in _brute_front(values)}
    for dedupe in (True, False):
        front = front_accuracy_edp(table, counts.counts, accuracy, dedupe=dedupe)
        assert set(zip(front.network.tolist(), front.design.tolist())) == expected
        assert front.pairs == N_CELLS * N_DESIGNS
        assert np.all(np.diff(front.accuracy) <= 0) and np.all(np.diff(front.edp) <= 0)
    assert front.evaluated == N_CELLS * N_DESIGNS
    grouped = front_accuracy_edp(table, counts.counts, accuracy)
    assert grouped.evaluated < front.evaluated  # NB201 cells share count rows


def test_four_objective_front_equals_brute_force_over_all_pairs(
        sub: tuple[ShapeCounts, CostTable, np.ndarray]) -> None:
    counts, table, accuracy = sub
    net, des, el = _all_pairs(table, counts)
    values = np.column_stack([-accuracy[net], el[:, 1], el[:, 0], table.area_mm2[des]])
    expected = {(int(net[i]), int(des[i])) for i in _brute_front(values)}
    front = front_accuracy_costs(table, counts.counts, accuracy)
    assert set(zip(front.network.tolist(), front.design.tolist())) == expected
    got = np.column_stack([front.latency_cycles, front.energy_pj, front.area_mm2])
    flat = [n * len(table.designs) + d for n, d in expected]  # row of the pair in _all_pairs
    want = np.column_stack([el[:, 1], el[:, 0], table.area_mm2[des]])[flat]
    assert sorted(map(tuple, got.tolist())) == sorted(map(tuple, want.tolist()))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fronts_with_many_ties_equal_brute_force(grid: DesignGrid, seed: int) -> None:
    """Small integer costs, accuracies and counts: equal objective vectors everywhere, all must be kept."""
    rng = np.random.default_rng(seed)
    n_shapes, n_designs, n_nets = 3, 30, 100
    shapes = nb201_shape_counts([0]).shapes[:n_shapes]
    table = CostTable(shapes=shapes, designs=grid.designs()[:n_designs],
                      energy_pj=rng.integers(1, 4, (n_shapes, n_designs)).astype(float),
                      latency_cycles=rng.integers(1, 4, (n_shapes, n_designs)),
                      area_mm2=rng.integers(1, 3, n_designs).astype(float), feasible=rng.random(n_designs) < 0.9,
                      reasons=("",) * n_designs, key="synthetic", seconds=0.0)
    counts = ShapeCounts(shapes=shapes, counts=rng.integers(0, 3, (n_nets, n_shapes)),
                         arch_index=np.arange(n_nets))
    accuracy = rng.integers(60, 64, n_nets).astype(float)
    net, des, el = _all_pairs(table, counts)
    ok = table.feasible[des]
    net, des, el = net[ok], des[ok], el[ok]
    for values, front in (
            (np.column_stack([-accuracy[net], el[:, 0] * el[:, 1]]),
             front_accuracy_edp(table, counts.counts, accuracy)),
            (np.column_stack([-accuracy[net], el[:, 1], el[:, 0], table.area_mm2[des]]),
             front_accuracy_costs(table, counts.counts, accuracy))):
        expected = {(int(net[i]), int(des[i])) for i in _brute_front(values)}
        assert set(zip(front.network.tolist(), front.design.tolist())) == expected
        assert len(expected) > len({tuple(v) for v in values[sorted(_brute_front(values))]})  # ties were kept
    flat = front_accuracy_edp(table, counts.counts, accuracy, dedupe=False)
    assert set(zip(flat.network.tolist(), flat.design.tolist())) == set(
        zip(front_accuracy_edp(table, counts.counts, accuracy).network.tolist(),
            front_accuracy_edp(table, counts.counts, accuracy).design.tolist()))


def test_three_objective_prefilter_is_exact() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        v = rng.integers(0, 6, size=(300, 3)).astype(float)  # many ties and duplicates
        np.testing.assert_array_equal(_front_3d(v), non_dominated(v))


def test_hypervolume_uses_a_fixed_reference_and_only_the_front_counts(
        sub: tuple[ShapeCounts, CostTable, np.ndarray]) -> None:
    counts, table, accuracy = sub
    ref = edp_reference(table, counts.counts)
    net, _, el = _all_pairs(table, counts)
    edp = el[:, 0] * el[:, 1]
    assert ref[0] == 0.0 and ref[1] == pytest.approx(np.log10(1.1 * edp.max()))
    front = front_accuracy_edp(table, counts.counts, accuracy)
    hv = edp_hypervolume(front.accuracy, front.edp, ref)
    everything = hypervolume_2d(np.column_stack([-accuracy[net], np.log10(edp)]), (0.0, ref[1]))
    assert hv == pytest.approx(everything) and hv > 0
    assert edp_hypervolume(front.accuracy[:1], front.edp[:1], ref) <= hv


def test_table_cache_round_trips_and_is_keyed(grid: DesignGrid, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = nb201_shape_counts([0, 5]).shapes[:3]
    designs = grid.designs()[:4]
    first = build_cost_table(grid, shapes, designs=designs, mapper=FAST, jobs=1, cache_dir=tmp_path)
    files = list(tmp_path.glob("costtable-*.npz"))
    assert len(files) == 1 and first.key in files[0].name

    def no_mapping(*_: object) -> None:
        raise AssertionError("a cached table must not be mapped again")

    monkeypatch.setattr(costtable, "_map_designs", no_mapping)
    again = build_cost_table(grid, shapes, designs=designs, mapper=FAST, jobs=1, cache_dir=tmp_path)
    for f in ("energy_pj", "latency_cycles", "area_mm2", "feasible"):
        np.testing.assert_array_equal(getattr(again, f), getattr(first, f))
    assert again.reasons == first.reasons and again.seconds == first.seconds
    assert again.designs == designs and again.shapes == shapes
    other = costtable.table_key(grid, designs, shapes, FAST, seed=1)
    assert other != first.key and costtable.table_key(grid, designs[:3], shapes, FAST, 0) != first.key
    files[0].write_bytes(b"not an npz")
    with pytest.raises(DataError, match="delete it to rebuild"):
        build_cost_table(grid, shapes, designs=designs, mapper=FAST, jobs=1, cache_dir=tmp_path)


def test_an_interrupted_table_build_goes_on_where_it_stopped(grid: DesignGrid, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = nb201_shape_counts([0, 5]).shapes[:3]
    designs = grid.designs()[:6]
    clean = build_cost_table(grid, shapes, designs=designs, mapper=FAST, jobs=1, use_cache=False, chunk=2)
    real, calls = costtable._map_designs, []

    def stopped_at_third(chunk: tuple[Design, ...]) -> object:
        calls.append(len(chunk))
        if len(calls) == 4:  # the warm-up call, two chunks, then Ctrl-C in the third
            raise KeyboardInterrupt
        return real(chunk)

    monkeypatch.setattr(costtable, "_map_designs", stopped_at_third)
    with pytest.raises(KeyboardInterrupt):
        build_cost_table(grid, shapes, designs=designs, mapper=FAST, jobs=1, cache_dir=tmp_path, chunk=2)
    kept = sorted(p.name for p in tmp_path.glob("*.partial/*.npz"))
    assert kept == ["chunk2-000000.npz", "chunk2-000001.npz"] and not list(tmp_path.glob("costtable-*.npz"))
    calls.clear()
    resumed = build_cost_table(grid, shapes, designs=designs, mapper=FAST, jobs=1, cache_dir=tmp_path, chunk=2)
    assert calls == [1, 2]  # the warm-up and the one chunk that was left
    for f in ("energy_pj", "latency_cycles", "area_mm2", "feasible"):
        np.testing.assert_array_equal(getattr(resumed, f), getattr(clean, f))
    assert resumed.reasons == clean.reasons
    assert not list(tmp_path.glob("*.partial"))  # the pieces go once the table is whole
