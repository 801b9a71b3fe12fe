"""The two small predictors of the grouped co-design search, fitted on evaluated pairs only.

* accuracy of a network from its decisions (one-hot operation per live edge, and per pair of edges)
  and its shape group's coordinates (how many live convolutions of each kind, as quadratic
  monomials), fitted to accuracies clipped from below at their median: the few collapsed
  networks (1 % accuracy) would otherwise decide the fit, and only the top of each group matters;
* log EDP of a shape group on a design from the design's decisions (one-hot axes and the
  array x dataflow pairs), one ridge fit per group over the designs whose EDP it knows.

Both are closed-form ridge regressions (numpy only), refitted whenever their data grew by a tenth.
"""

from __future__ import annotations

import numpy as np

__all__ = ["design_features", "grid_neighbours", "network_features", "ridge_fit"]


def _one_hot(choices: np.ndarray, cards: tuple[int, ...]) -> np.ndarray:
    """float (n, sum(cards)): one column per (decision, value)."""
    out = np.zeros((len(choices), int(sum(cards))))
    off = np.concatenate([[0], np.cumsum(cards)[:-1]]).astype(np.int64)
    for j in range(len(cards)):
        out[np.arange(len(choices)), off[j] + choices[:, j]] = 1.0
    return out


def network_features(arch_choices: np.ndarray, arch_cards: tuple[int, ...], live: np.ndarray,
                     monomials: np.ndarray) -> np.ndarray:
    """float (n, F): one-hot operation per live edge (a dead edge's columns are zero), the products of every
    two edges' one-hots, and the network's shape-group monomials without the constant (what is learnt on
    one group carries over to its neighbours)."""
    oh = _one_hot(arch_choices, arch_cards) * np.repeat(live.astype(np.float64), arch_cards, axis=1)
    off = np.concatenate([[0], np.cumsum(arch_cards)]).astype(np.int64)
    pairs = [(oh[:, off[a]:off[a + 1], None] * oh[:, None, off[b]:off[b + 1]]).reshape(len(oh), -1)
             for a in range(len(arch_cards)) for b in range(a + 1, len(arch_cards))]
    return np.column_stack([oh, *pairs, monomials[:, 1:]])


def design_features(hw_choices: np.ndarray, hw_cards: tuple[int, ...]) -> np.ndarray:
    """float (n, F): one-hot axes, plus one-hot (first axis, second axis) pairs (PE array x dataflow)."""
    pair = hw_choices[:, 0] * hw_cards[1] + hw_choices[:, 1]
    return np.column_stack([_one_hot(hw_choices, hw_cards), np.eye(hw_cards[0] * hw_cards[1])[pair]])


def grid_neighbours(hw_choices: np.ndarray, hw_cards: tuple[int, ...]) -> np.ndarray:
    """int64 (n, sum(cards) - len(cards)): the rows one decision away from each row (-1 where none is a row)."""
    h = np.asarray(hw_choices, dtype=np.int64)
    where = np.full(hw_cards, -1, dtype=np.int64)
    where[tuple(h.T)] = np.arange(len(h))
    out = []
    for a, card in enumerate(hw_cards):
        for shift in range(1, card):
            moved = h.copy()
            moved[:, a] = (moved[:, a] + shift) % card
            out.append(where[tuple(moved.T)])
    return np.column_stack(out)


def ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, float, float]:
    """(weights (F,), intercept, residual std) of ridge regression of ``y`` (n,) on ``x`` (n, F)."""
    mean = float(y.mean()) if len(y) else 0.0
    if len(y) < 2:
        return np.zeros(x.shape[1]), mean, 1.0
    xc = x - x.mean(axis=0)
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - mean))
    b = mean - float(x.mean(axis=0) @ w)
    resid = y - (x @ w + b)
    dof = max(len(y) - 1, 1)
    return w, b, float(np.sqrt(resid @ resid / dof))
