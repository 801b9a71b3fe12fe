"""NAAS's accelerator encoding vector on a design grid, with importance-encoded connectivity.

The vector (every gene in [0, 1], CMA-ES searches all of it at once):

* ``pes``, ``aspect``: the number of PEs and the log of the array's X:Y ratio, each from
  the grid's smallest (0) to its largest (1) (NAAS's #PEs and array sizes);
* ``importance_x.D`` for every loop dim D that some dataflow of the grid unrolls along the
  array's X axis, ``importance_y.D`` likewise for Y, and ``k_x``, ``k_y``: NAAS's
  importance-based encoding of the connectivity. Per axis the dims are *sorted* by
  importance and the top ``k`` (1 to the most dims a grid dataflow puts on that axis)
  become the axis's parallel dims;
* ``size.LEVEL`` for every sized buffer: the position along the grid's sizes of that level.

Decoding: the grid offers a few dataflows (pairs of parallel-dim sets), not every pair of
sets, so the decoded sets pick the grid dataflow nearest to them (fewest dims to add or
drop over both axes; ties go to the dataflow whose dims the vector ranks highest), and
the numeric genes pick the nearest feasible design (L1) with that dataflow. A dataflow
with no feasible design in the problem (e.g. a ``design_stride`` subspace) is skipped
for the next nearest. Departure from NAAS, forced by the grid: a decoded set the grid does
not offer is replaced by the nearest one it does (the cost table exists only for the grid).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.spec.dims import DIMS

__all__ = ["ImportanceGenome"]


class ImportanceGenome:
    """Decodes NAAS accelerator vectors into table columns of a grid problem (see the module docstring)."""

    def __init__(self, problem: Any) -> None:
        grid = problem.grid
        self.columns = np.flatnonzero(problem.table.feasible)
        h = problem.hw_choices[self.columns]
        sides = np.array(grid.arrays, dtype=np.float64)
        xy = np.column_stack([_unit(sides[:, 0] * sides[:, 1]), _unit(np.log(sides[:, 0] / sides[:, 1]))])
        cards = problem.hw_cards
        self.points = np.column_stack([xy[h[:, 0]], *[h[:, k] / max(cards[k] - 1, 1) for k in range(2, len(cards))]])
        self.flow = h[:, 1]
        flows = [f for _, f in grid.dataflows]
        self.dims = tuple(tuple(d for d in DIMS if any(d in f[a] for f in flows)) for a in (0, 1))
        self.member = [np.array([[d in f[a] for d in self.dims[a]] for f in flows]) for a in (0, 1)]
        self.max_k = [int(m.sum(axis=1).max()) for m in self.member]
        self.present = np.isin(np.arange(len(flows)), self.flow)
        names = [f"size.{grid.template.levels[i].name}" for i in grid.space.size_levels]
        self.genes = ("pes", "aspect", *(f"importance_x.{d}" for d in self.dims[0]),
                      *(f"importance_y.{d}" for d in self.dims[1]), "k_x", "k_y", *names)

    @property
    def dim(self) -> int:
        return len(self.genes)

    def _split(self, g: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list[float], np.ndarray]:
        nx, ny = len(self.dims[0]), len(self.dims[1])
        imp = [g[2:2 + nx], g[2 + nx:2 + nx + ny]]
        ks = [float(g[2 + nx + ny]), float(g[3 + nx + ny])]
        numeric = np.concatenate([g[:2], g[4 + nx + ny:]])
        return numeric, imp, ks, g

    def parallel_dims(self, genome: np.ndarray) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The parallel dims of each axis: the top-k of the importance sort (before the grid's dataflows)."""
        _, imp, ks, _ = self._split(np.clip(np.asarray(genome, dtype=np.float64), 0.0, 1.0))
        out = []
        for a in (0, 1):
            k = 1 + min(int(ks[a] * self.max_k[a]), self.max_k[a] - 1)
            top = set(np.argsort(-imp[a], kind="stable")[:k].tolist())
            out.append(tuple(d for i, d in enumerate(self.dims[a]) if i in top))
        return out[0], out[1]

    def dataflow(self, genome: np.ndarray) -> int:
        """The grid dataflow nearest to the genome's sorted parallel dims (among those with feasible designs)."""
        g = np.clip(np.asarray(genome, dtype=np.float64), 0.0, 1.0)
        _, imp, _, _ = self._split(g)
        sets = self.parallel_dims(g)
        dist = np.zeros(len(self.present))
        rank = np.zeros(len(self.present))
        for a in (0, 1):
            want = np.array([d in sets[a] for d in self.dims[a]])
            dist += (self.member[a] != want[None]).sum(axis=1)
            rank += (self.member[a] * imp[a][None]).sum(axis=1) / self.member[a].sum(axis=1)
        score = np.where(self.present, dist - 1e-3 * rank, np.inf)
        return int(np.argmin(score))

    def decode(self, genomes: np.ndarray) -> np.ndarray:
        """Table column of each genome (rows of ``genomes`` float (n, dim), clipped to [0, 1])."""
        g = np.clip(np.atleast_2d(np.asarray(genomes, dtype=np.float64)), 0.0, 1.0)
        out = np.empty(len(g), dtype=np.int64)
        for i, row in enumerate(g):
            numeric, _, _, _ = self._split(row)
            mine = np.flatnonzero(self.flow == self.dataflow(row))
            dist = np.abs(self.points[mine] - numeric).sum(axis=1)
            out[i] = self.columns[mine[int(np.argmin(dist))]]
        return out

    def encode(self, column: int) -> np.ndarray:
        """A genome that decodes to table ``column`` (its dataflow's dims ranked first, k their count)."""
        pos = int(np.searchsorted(self.columns, column))
        flow = int(self.flow[pos])
        parts: list[Any] = [self.points[pos, :2]]
        ks = []
        for a in (0, 1):
            m = self.member[a][flow]
            parts.append(np.where(m, 0.75, 0.25))
            ks.append((m.sum() - 0.5) / self.max_k[a])
        parts.append(np.array(ks))
        parts.append(self.points[pos, 2:])
        return np.concatenate(parts)


def _unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to [0, 1] (0.5 where all values are equal)."""
    lo, hi = float(v.min()), float(v.max())
    return (v - lo) / (hi - lo) if hi > lo else np.full_like(v, 0.5)
