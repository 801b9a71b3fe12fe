"""The shipped nb201-eyeriss cost table: equal to recomputation on a sample, used only on an exact key match
(a mismatch is said on stderr), ignorable with COEXPLORE_SHIPPED_TABLES=0, and used by the main recipe's
first run, whose exact front is the cold-built table's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.hwsearch.problem import MapperConfig
from coexplore.joint import costtable, shipped
from coexplore.joint.costtable import TABLE_MAPPER, CostTable, build_cost_table, key_parts, nb201_shape_counts
from coexplore.joint.space import DesignGrid, eyeriss_grid


class _Mapped(Exception):
    """Raised by a patched mapper: the table was being built, not loaded."""


def _no_mapping(*_: object) -> None:
    raise _Mapped


@pytest.fixture(scope="module")
def grid() -> DesignGrid:
    return eyeriss_grid()


@pytest.fixture(scope="module")
def table(grid: DesignGrid) -> CostTable:
    shapes = nb201_shape_counts().shapes
    found = shipped.find_shipped(grid, grid.designs(), shapes, key_parts(grid, grid.designs(), shapes, TABLE_MAPPER, 0))
    assert found is not None, "the nb201-eyeriss table's key no longer matches: run python -m coexplore.joint.shipped"
    return found


def test_shipped_table_equals_recomputation_on_a_sample(grid: DesignGrid, table: CostTable) -> None:
    """10 random designs x all 12 shapes (120 pairs) mapped again with the table's mapper: bit for bit equal."""
    rng = np.random.default_rng(12)
    cols = np.sort(rng.choice(len(grid), 10, replace=False))
    bad = np.flatnonzero(~table.feasible)
    if len(bad):  # an unmappable design must stay unmappable for the same reason
        cols = np.union1d(cols, rng.choice(bad, min(2, len(bad)), replace=False))
    again = build_cost_table(grid, table.shapes, designs=grid.subset(cols.tolist()), use_cache=False, jobs=1)
    np.testing.assert_array_equal(again.energy_pj, table.energy_pj[:, cols])
    np.testing.assert_array_equal(again.latency_cycles, table.latency_cycles[:, cols])
    np.testing.assert_array_equal(again.area_mm2, table.area_mm2[cols])
    np.testing.assert_array_equal(again.feasible, table.feasible[cols])
    assert again.reasons == tuple(table.reasons[c] for c in cols)
    assert table.energy_pj.dtype == np.float64 and table.latency_cycles.dtype == np.int64


def test_stale_shipped_table_is_not_used_and_says_why(grid: DesignGrid, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A new table version (the cost model changed) misses the shipped key: the table is built, stderr says why."""
    shapes = nb201_shape_counts().shapes
    monkeypatch.setattr(costtable, "FORMAT_VERSION", costtable.FORMAT_VERSION + 1)
    monkeypatch.setattr(costtable, "_map_designs", _no_mapping)
    monkeypatch.setattr(shipped, "_said", set())
    with pytest.raises(_Mapped):
        build_cost_table(grid, shapes, designs=grid.designs(), jobs=1, cache_dir=tmp_path)
    err = capsys.readouterr().err
    assert "shipped cost table nb201-eyeriss.npz is not used" in err
    assert f"table version {costtable.FORMAT_VERSION} here, {costtable.FORMAT_VERSION - 1} shipped" in err
    # other mapper settings: not used either, and the differing fields are named
    monkeypatch.setattr(costtable, "FORMAT_VERSION", costtable.FORMAT_VERSION - 1)
    other = MapperConfig(samples=256, beam=8, moves=32, patience=2, polish_cap=1024, max_evals=50_000)
    assert shipped.find_shipped(grid, grid.designs(), shapes, key_parts(grid, grid.designs(), shapes, other, 0)) is None
    assert "mapper settings differ: samples 256 here, 512 shipped" in capsys.readouterr().err
    # a slice of the grid is another table, not a stale one: nothing said
    part = grid.designs()[::500]
    assert shipped.find_shipped(grid, part, shapes, key_parts(grid, part, shapes, TABLE_MAPPER, 0)) is None
    assert capsys.readouterr().err == ""


def test_env_setting_ignores_shipped_tables(grid: DesignGrid, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = nb201_shape_counts().shapes
    monkeypatch.setattr(costtable, "_map_designs", _no_mapping)
    monkeypatch.setenv(shipped.ENV, "0")
    with pytest.raises(_Mapped):  # the cold build, as before tables were shipped
        build_cost_table(grid, shapes, designs=grid.designs(), jobs=1, cache_dir=tmp_path)
    with pytest.raises(_Mapped):  # use_cache=False builds too
        build_cost_table(grid, shapes, designs=grid.designs(), jobs=1, cache_dir=tmp_path, use_cache=False,
                         shipped=None)
    monkeypatch.setenv(shipped.ENV, "maybe")
    with pytest.raises(SpecError, match=r"COEXPLORE_SHIPPED_TABLES: must be 1 .* or 0 .*, got 'maybe'"):
        build_cost_table(grid, shapes, designs=grid.designs(), jobs=1, cache_dir=tmp_path)
    monkeypatch.setenv(shipped.ENV, "1")
    assert build_cost_table(grid, shapes, designs=grid.designs(), jobs=1, cache_dir=tmp_path).key
    assert not list(tmp_path.iterdir())  # loading the shipped table writes no cache file


def test_main_recipe_first_run_uses_the_shipped_table(data_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """``coexplore codesign --recipe nb201-eyeriss`` with an empty cache maps nothing; its exact front is
    BENCHMARKS.md's (13 points, hypervolume 247.111, from the cold-built table)."""
    from coexplore.study.codesign import run_codesign

    monkeypatch.setenv("COEXPLORE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COEXPLORE_DATA", str(data_dir))
    monkeypatch.setattr(costtable, "_map_designs", _no_mapping)
    out = run_codesign("nb201-eyeriss", budget=200, storage=f"sqlite:///{tmp_path / 's.db'}", progress=False)
    assert out["pairs_evaluated"] == 200 and out["front"]
    assert not (tmp_path / "cache").exists()
    # the front of the 200-epoch accuracy (the data directory), as BENCHMARKS.md measured on the cold-built table
    from coexplore.joint.problem import NB201GridProblem

    problem = NB201GridProblem(accuracy_epochs=200)
    assert problem.table.source == "shipped"
    front = problem.exact_front
    assert len(front.accuracy) == 13
    assert problem.exact_hypervolume == pytest.approx(247.111, abs=5e-4)
