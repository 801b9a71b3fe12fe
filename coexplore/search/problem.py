"""What a search evaluates: a :class:`Problem` turns a batch of candidates into objective values.

Candidates are whatever the problem and its strategies agree on (a ``MappingBatch``, a
list of architectures, ...) as long as they support ``len()`` and ``take(indices)``.
All objectives are minimised; a problem negates the ones users maximise (accuracy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Candidates", "Evaluation", "Problem"]


@runtime_checkable
class Candidates(Protocol):
    def __len__(self) -> int: ...

    def take(self, idx: Any) -> Candidates: ...


@dataclass(frozen=True, slots=True, eq=False)
class Evaluation:
    """Objective values of a batch: ``values`` float (n, n_objectives), lower is better.

    ``feasible`` (n,) is False for candidates that break a hard constraint; their values
    are ``inf`` and ``reasons[i]`` says why (e.g. "tile exceeds level 'glb'").
    """

    values: np.ndarray
    feasible: np.ndarray
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or len(self.feasible) != len(self.values):
            raise ValueError(f"Evaluation: values must be (n, k) and feasible (n,), got "
                             f"{self.values.shape} and {self.feasible.shape}")

    def __len__(self) -> int:
        return len(self.values)


class Problem(Protocol):
    """A search problem: names its objectives and evaluates batches of candidates."""

    @property
    def objectives(self) -> tuple[str, ...]: ...

    def evaluate(self, candidates: Any) -> Evaluation: ...

    def describe(self, candidates: Any, i: int) -> dict[str, Any]:
        """JSON-able parameters of candidate ``i`` (for trial records and reports).

        A problem may also offer ``describe_many(candidates, rows) -> list[dict]`` to describe a
        chunk at once (what a study records); it must equal ``describe`` row by row.
        """
        ...
