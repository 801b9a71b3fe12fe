"""What the layer shapes alone say about a pair's price, before any pair is priced.

A network's cost on a design is a count-weighted sum of its layer shapes' costs
(:mod:`coexplore.joint.costtable`), so:

* networks with the same shape-count row (a *group*) cost the same on every design
  (NAS-Bench-201: 28 groups, one per number of live 1x1 and 3x3 convolutions);
* the count rows lie in an affine space of small dimension r (NAS-Bench-201: r = 2), so
  with coordinates z = (1, z_1..z_r) of a group, energy and latency on a design are
  linear in z and EDP = (z . e)(z . l) is a quadratic form in z: ``(r + 1)(r + 2) / 2``
  coefficients per design (6 for NAS-Bench-201). EDPs of that many groups on one design,
  at well-placed coordinates, give the EDP of every group on it, exactly (up to rounding).

Only the count rows (the networks' layer shapes) are read here, never a price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coexplore.errors import SpecError

__all__ = ["ShapeGroups", "solve_design"]


@dataclass(frozen=True, slots=True, eq=False)
class ShapeGroups:
    """Networks grouped by shape-count row, and each group's quadratic monomials.

    Attributes:
        group: int64 (n_networks,): the group of each network.
        members: Per group, its networks (int64 arrays).
        coords: float (G, r): each group's coordinates in the affine span of the count rows (scaled to [0, 1]).
        monomials: float (G, K): the products z_a z_b (a <= b) of z = (1, coords), K = (r + 1)(r + 2) / 2.
        basis: int64 (K,): K groups whose monomials are well conditioned (a design priced on them is solved).
    """

    group: np.ndarray
    members: tuple[np.ndarray, ...]
    coords: np.ndarray
    monomials: np.ndarray
    basis: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.members)

    @property
    def k(self) -> int:
        """Priced groups a design needs before every group's EDP on it is known."""
        return self.monomials.shape[1]

    @staticmethod
    def of(counts: np.ndarray) -> ShapeGroups:
        """The groups of the networks with shape-count rows ``counts`` int (n, S)."""
        c = np.asarray(counts)
        if c.ndim != 2 or len(c) == 0:
            raise SpecError(f"counts: must be a non-empty (networks, shapes) matrix, got shape {c.shape}")
        rows, group = np.unique(c, axis=0, return_inverse=True)
        group = group.reshape(-1).astype(np.int64)
        centred = rows - rows.mean(axis=0)
        u, s, _ = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
        r = int((s > 1e-9 * max(s[0], 1.0)).sum()) if len(s) else 0
        z = u[:, :r] * s[:r]
        if r:
            z = (z - z.min(axis=0)) / np.maximum(z.max(axis=0) - z.min(axis=0), 1e-12)
        full = np.column_stack([np.ones(len(rows)), z])
        a, b = np.triu_indices(r + 1)
        mono = full[:, a] * full[:, b]
        members = tuple(np.flatnonzero(group == g) for g in range(len(rows)))
        return ShapeGroups(group=group, members=members, coords=z, monomials=mono, basis=_basis(mono))


def _basis(mono: np.ndarray) -> np.ndarray:
    """K rows of ``mono`` chosen greedily for a large volume (a well-conditioned square system)."""
    k = mono.shape[1]
    if len(mono) < k:
        return np.arange(len(mono))
    chosen: list[int] = []
    resid = mono.copy()
    for _ in range(k):
        norms = np.einsum("ij,ij->i", resid, resid)
        norms[chosen] = -1.0
        i = int(np.argmax(norms))
        chosen.append(i)
        v = resid[i] / np.sqrt(max(norms[i], 1e-300))
        resid = resid - np.outer(resid @ v, v)
    return np.array(sorted(chosen), dtype=np.int64)


def solve_design(groups: ShapeGroups, priced: np.ndarray, edp: np.ndarray) -> np.ndarray | None:
    """EDP of every group on one design from the EDPs ``edp`` of groups ``priced`` on it; None if too few.

    Least squares on the quadratic monomials (exact when ``priced`` spans them); None when
    they do not (fewer than K distinct groups, or a degenerate placement).
    """
    g = np.asarray(priced, dtype=np.int64)
    y = np.asarray(edp, dtype=np.float64)
    if len(np.unique(g)) < groups.k:
        return None
    a = groups.monomials[g]
    if np.linalg.matrix_rank(a, tol=1e-9) < groups.k:
        return None
    scale = float(np.abs(y).max())
    w, *_ = np.linalg.lstsq(a, y / scale, rcond=None)
    out = groups.monomials @ w * scale
    out[g] = y  # the priced groups keep their priced values, bit for bit
    return out
