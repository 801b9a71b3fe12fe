"""Pareto fronts of minimisation problems."""

from __future__ import annotations

import numpy as np

__all__ = ["hypervolume_2d", "non_dominated", "spec_hypervolume"]


def non_dominated(values: np.ndarray) -> np.ndarray:
    """Boolean mask (n,) of the rows of ``values`` (n, k) that no other row dominates.

    Duplicated rows are all kept. O(n log n) for k = 2, O(n * front) otherwise.
    """
    n, k = values.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    if k == 1:
        return values[:, 0] == values[:, 0].min()
    if k == 2:
        order = np.lexsort((values[:, 1], values[:, 0]))
        keep = np.zeros(n, dtype=bool)
        best1 = np.inf
        prev: tuple[float, float] | None = None
        for i in order:
            v = (float(values[i, 0]), float(values[i, 1]))
            if v[1] < best1 or v == prev:
                keep[i] = True
                if v[1] < best1:
                    best1 = v[1]
                    prev = v
        return keep
    keep = np.ones(n, dtype=bool)
    for i in np.argsort(values.sum(axis=1)):
        if not keep[i]:
            continue
        dominated = np.all(values[i] <= values, axis=1) & np.any(values[i] < values, axis=1)
        keep &= ~dominated
    return keep


def hypervolume_2d(values: np.ndarray, reference: tuple[float, float]) -> float:
    """Area dominated by ``values`` (n, 2) and bounded by ``reference`` (both minimised)."""
    pts = values[np.all(values < np.asarray(reference), axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[non_dominated(pts)]
    pts = pts[np.argsort(pts[:, 0])]
    area, prev_y = 0.0, reference[1]
    for x, y in pts:
        if y < prev_y:
            area += (reference[0] - x) * (prev_y - y)
            prev_y = y
    return float(area)


def spec_hypervolume(accuracy: np.ndarray, cost: np.ndarray, spec: float) -> float:
    """Area of (accuracy %, cost as a share of ``spec``) dominated, against (0 %, the spec).

    The hypervolume of problems whose cost has a hard limit (FNAS's timing spec, QuanNAS's rL):
    every accepted point lies inside the reference box, so runs on one spec compare.
    """
    if len(accuracy) == 0:
        return 0.0
    pts = np.column_stack([-np.asarray(accuracy, dtype=np.float64), np.asarray(cost, dtype=np.float64) / spec])
    return hypervolume_2d(pts, (0.0, 1.0))
