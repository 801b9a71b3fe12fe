"""NAAS's accelerator vector on the Eyeriss-budget grid: every design encodes to itself, and the
connectivity is the importance sort of each array axis (not a pick among dataflow names)."""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

import numpy as np
import pytest

from coexplore.joint.naas_genome import ImportanceGenome
from coexplore.joint.space import EYERISS_DATAFLOWS, eyeriss_grid


@cache
def genome() -> ImportanceGenome:
    """The genome over the whole grid (every design feasible: the decoding needs no cost table)."""
    grid = eyeriss_grid()
    choices = np.array([grid.axes_of(d) for d in grid.designs()], dtype=np.int64)
    cards = (len(grid.arrays), len(grid.dataflows), *(len(s) for s in grid.sizes_words))
    problem = SimpleNamespace(grid=grid, hw_choices=choices, hw_cards=cards,
                              table=SimpleNamespace(feasible=np.ones(len(choices), dtype=bool)))
    return ImportanceGenome(problem)


def test_every_design_of_the_grid_encodes_to_itself() -> None:
    g = genome()
    assert g.dims == (("K", "C", "P"), ("K", "C", "P", "Q", "R"))  # the dims some dataflow unrolls per axis
    assert g.dim == 2 + 3 + 5 + 2 + 4 == len(g.genes)
    np.testing.assert_array_equal(g.decode(np.array([g.encode(int(c)) for c in g.columns])), g.columns)


def _with(base: np.ndarray, axis: str, importance: dict[str, float], k: int) -> np.ndarray:
    g = genome()
    x = base.copy()
    for d, v in importance.items():
        x[g.genes.index(f"importance_{axis}.{d}")] = v
    x[g.genes.index(f"k_{axis}")] = (k - 0.5) / g.max_k["xy".index(axis)]
    return x


@pytest.mark.parametrize("name", list(EYERISS_DATAFLOWS))
def test_the_top_ranked_dims_of_each_axis_are_its_parallel_dims(name: str) -> None:
    g = genome()
    dx, dy = EYERISS_DATAFLOWS[name]
    x = np.full(g.dim, 0.5)
    ranks = {a: {d: (0.9 - 0.1 * i if d in want else 0.2 - 0.05 * i) for i, d in enumerate(g.dims["xy".index(a)])}
             for a, want in (("x", dx), ("y", dy))}
    x = _with(_with(x, "x", ranks["x"], len(dx)), "y", ranks["y"], len(dy))
    assert g.parallel_dims(x) == (tuple(d for d in g.dims[0] if d in dx), tuple(d for d in g.dims[1] if d in dy))
    assert [n for n, _ in eyeriss_grid().dataflows][g.dataflow(x)] == name
    col = int(g.decode(x[None])[0])
    pos = int(np.searchsorted(g.columns, col))
    assert g.flow[pos] == g.dataflow(x)


def test_permuting_the_importances_changes_the_connectivity() -> None:
    g = genome()
    names = [n for n, _ in eyeriss_grid().dataflows]
    x = _with(np.full(g.dim, 0.5), "y", {"K": 0.9, "C": 0.8, "R": 0.7, "P": 0.2, "Q": 0.1}, 3)
    row = _with(x, "x", {"K": 0.9, "P": 0.8, "C": 0.1}, 2)
    assert g.parallel_dims(row) == (("K", "P"), ("K", "C", "R")) and names[g.dataflow(row)] == "row-stationary"
    swapped = _with(x, "x", {"C": 0.9, "K": 0.8, "P": 0.1}, 2)  # the same values, C and P exchanged
    assert g.parallel_dims(swapped)[0] == ("K", "C") and names[g.dataflow(swapped)] != "row-stationary"
    wider = _with(x, "x", {"K": 0.9, "P": 0.8, "C": 0.1}, 3)  # k = 3: C joins K and P
    assert g.parallel_dims(wider)[0] == ("K", "C", "P") and names[g.dataflow(wider)] == "flexible"
