"""How a problem's candidates are encoded, so that generic strategies can search any problem.

A problem declares ``encoding``: :class:`Categorical` (a vector of decisions, decision ``i``
taking one of ``cards[i]`` values: network edges, hardware choices) or :class:`Box` (a real
vector in [0, 1]^dim: NAAS's accelerator genome). Generic strategies propose
:class:`ChoiceBatch` or :class:`~coexplore.search.vector.VectorBatch` rows and the problem
decodes them itself. A categorical encoding may declare :class:`Condition` s (decision ``i``
matters only while decision ``j`` takes some values: a layer of a network shallower than it):
vectors differing only in inactive decisions are the same candidate (:meth:`Categorical.canonical`).
A strategy made for one encoding runs on the other through
:func:`bridge` (a box vector relaxes a categorical vector; a categorical vector picks one of
``levels`` points per box coordinate), so every generic strategy can search every problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.search.problem import Evaluation

__all__ = ["Box", "BridgedProblem", "Categorical", "ChoiceBatch", "Condition", "Encoding", "bridge", "encoding_of"]


@dataclass(frozen=True, slots=True, eq=False)
class ChoiceBatch:
    """A batch of categorical vectors ``x`` int (n, d), ``x[:, i]`` in ``0..cards[i]-1``."""

    x: np.ndarray

    def __post_init__(self) -> None:
        if self.x.ndim != 2:
            raise SpecError(f"ChoiceBatch.x: must be a 2-D integer array (n, d), got shape {self.x.shape}")

    def __len__(self) -> int:
        return len(self.x)

    def take(self, idx: Any) -> ChoiceBatch:
        return ChoiceBatch(self.x[np.asarray(idx, dtype=np.int64).reshape(-1)])

    def concat(self, other: ChoiceBatch) -> ChoiceBatch:
        return ChoiceBatch(np.concatenate([self.x, other.x]))


@dataclass(frozen=True, slots=True)
class Condition:
    """Decision ``child`` is active only while decision ``parent`` (an earlier one) takes one of ``values``
    (and ``parent`` is active itself); an inactive decision does not change the candidate."""

    child: int
    parent: int
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Categorical:
    """Decision ``i`` takes one of ``cards[i]`` values; ``names`` label the decisions (for records);
    ``conditions``: at most one :class:`Condition` per decision."""

    cards: tuple[int, ...]
    names: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    kind = "categorical"

    def __post_init__(self) -> None:
        bad = [f"cards[{i}]: must be an integer >= 1, got {c!r}" for i, c in enumerate(self.cards)
               if not isinstance(c, (int, np.integer)) or c < 1]
        if not self.cards:
            bad.append("cards: must name at least one decision, got none")
        if self.names and len(self.names) != len(self.cards):
            bad.append(f"names: must have one name per decision ({len(self.cards)}), got {len(self.names)}")
        children = [c.child for c in self.conditions]
        for k, c in enumerate(self.conditions):
            if not 0 <= c.parent < c.child < len(self.cards):
                bad.append(f"conditions[{k}]: parent must be an earlier decision than child, both in "
                           f"0..{len(self.cards) - 1}, got parent {c.parent}, child {c.child}")
            elif any(not 0 <= v < self.cards[c.parent] for v in c.values):
                bad.append(f"conditions[{k}].values: must be values of decision {c.parent} "
                           f"(0..{self.cards[c.parent] - 1}), got {list(c.values)}")
            if children.count(c.child) > 1:
                bad.append(f"conditions[{k}]: decision {c.child} has more than one condition")
        if bad:
            raise SpecError(bad)

    @property
    def dim(self) -> int:
        return len(self.cards)

    @property
    def size(self) -> int:
        """Number of distinct vectors (a Python int: it can exceed 2**63)."""
        out = 1
        for c in self.cards:
            out *= int(c)
        return out

    @property
    def distinct(self) -> int:
        """Number of distinct candidates: vectors up to their inactive decisions (``size`` without conditions)."""
        if not self.conditions:
            return self.size
        by_parent: dict[int, list[Condition]] = {}
        for c in self.conditions:
            by_parent.setdefault(c.parent, []).append(c)

        def count(i: int, v: int) -> int:  # candidates of the subtree of decision i, given value v
            out = 1
            for c in by_parent.get(i, []):
                out *= sum(count(c.child, u) for u in range(self.cards[c.child])) if v in c.values else 1
            return out

        roots = set(range(self.dim)) - {c.child for c in self.conditions}
        total = 1
        for i in sorted(roots):
            total *= sum(count(i, v) for v in range(self.cards[i]))
        return total

    def active(self, x: np.ndarray) -> np.ndarray:
        """Which decisions of each row of ``x`` (int (n, d)) matter: bool (n, d)."""
        x = np.asarray(x)
        out = np.ones(x.shape, dtype=bool)
        for c in sorted(self.conditions, key=lambda c: c.child):
            out[:, c.child] = out[:, c.parent] & np.isin(x[:, c.parent], c.values)
        return out

    def canonical(self, x: np.ndarray) -> np.ndarray:
        """``x`` with every inactive decision set to 0: rows are equal iff they are the same candidate."""
        x = np.asarray(x, dtype=np.int64)
        return np.where(self.active(x), x, 0) if self.conditions else x

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` uniform vectors, int (n, d)."""
        return (rng.random((n, self.dim)) * np.array(self.cards)).astype(np.int64)

    def check(self, batch: ChoiceBatch) -> None:
        """SpecError naming the first out-of-range decision of ``batch``."""
        x = batch.x
        if x.shape[1] != self.dim:
            raise SpecError(f"candidates: must have {self.dim} decisions, got {x.shape[1]}")
        bad = (x < 0) | (x >= np.array(self.cards))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise SpecError(f"candidates[{r}][{c}]: must be in 0..{self.cards[c] - 1}, got {int(x[r, c])}")


@dataclass(frozen=True, slots=True)
class Box:
    """A real vector in [0, 1]^dim (coordinates outside are clipped by the problem)."""

    dim: int
    names: tuple[str, ...] = ()
    kind = "box"

    def __post_init__(self) -> None:
        if not isinstance(self.dim, (int, np.integer)) or self.dim < 1:
            raise SpecError(f"dim: must be an integer >= 1, got {self.dim!r}")


Encoding = Categorical | Box


def encoding_of(problem: Any) -> Encoding | None:
    """The encoding ``problem`` declares (None: its candidates are its own, e.g. mapping search)."""
    enc = getattr(problem, "encoding", None)
    return enc if isinstance(enc, (Categorical, Box)) else None


class BridgedProblem:
    """A problem seen in the other encoding, for a strategy made for that one.

    Box strategy on a categorical problem: coordinate ``i`` in [0, 1] picks value
    ``floor(x * cards[i])`` (a continuous relaxation: CMA-ES and SBX move through
    neighbouring values). Categorical strategy on a box problem: decision ``i`` has ``levels``
    values, value ``v`` is the point ``v / (levels - 1)``. Everything else (objectives,
    ``close``, exact fronts, ...) is the wrapped problem's.
    """

    def __init__(self, problem: Any, levels: int = 16) -> None:
        native = encoding_of(problem)
        if native is None:
            raise SpecError(f"encoding: {type(problem).__name__} declares no encoding, so it cannot be bridged")
        if isinstance(native, Box) and (not isinstance(levels, int) or levels < 2):
            raise SpecError(f"levels: must be an integer >= 2 to discretise a box, got {levels!r}")
        self.problem, self.native, self.levels = problem, native, levels
        self.encoding: Encoding = (Box(native.dim, native.names) if isinstance(native, Categorical)
                                   else Categorical((levels,) * native.dim, native.names))

    def translate(self, cands: Any) -> Any:
        """The strategy's candidates in the problem's own encoding."""
        if isinstance(self.native, Categorical):
            x = np.clip(np.asarray(cands.x, dtype=np.float64), 0.0, 1.0)
            cards = np.array(self.native.cards)
            return ChoiceBatch(np.minimum((x * cards).astype(np.int64), cards - 1))
        from coexplore.search.vector import VectorBatch

        return VectorBatch(np.asarray(cands.x, dtype=np.float64) / (self.levels - 1))

    def evaluate(self, cands: Any) -> Evaluation:
        return self.problem.evaluate(self.translate(cands))

    def describe(self, cands: Any, i: int) -> dict[str, Any]:
        return self.problem.describe(self.translate(cands), i)

    def describe_many(self, cands: Any, rows: Any) -> list[dict[str, Any]]:
        native = self.translate(cands)
        many = getattr(self.problem, "describe_many", None)
        return list(many(native, rows)) if many is not None else [self.problem.describe(native, i) for i in rows]

    def __getattr__(self, name: str) -> Any:
        if name in ("problem", "__setstate__", "__getstate__"):
            raise AttributeError(name)
        return getattr(self.problem, name)


def bridge(problem: Any, strategy_encoding: str, *, levels: int = 16) -> Any:
    """``problem`` as a strategy made for ``strategy_encoding`` can search it (itself if they agree)."""
    native = encoding_of(problem)
    if native is None:
        raise SpecError(f"strategy: generic strategies search problems that declare an encoding (categorical or "
                        f"box); {type(problem).__name__} declares none")
    if native.kind == strategy_encoding:
        return problem
    if strategy_encoding not in ("categorical", "box"):
        raise SpecError(f"encoding: must be categorical or box, got {strategy_encoding!r}")
    return BridgedProblem(problem, levels)
