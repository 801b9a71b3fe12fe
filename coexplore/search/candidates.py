"""A plain list of candidates with the ``take`` method the driver needs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["CandidateList", "concat_candidates"]


class CandidateList(list):  # type: ignore[type-arg]
    """A list that supports ``take(indices)`` (for architectures, configs, ...)."""

    def take(self, idx: Any) -> CandidateList:
        return CandidateList(self[int(i)] for i in np.asarray(idx).reshape(-1))

    def concat(self, other: Iterable[Any]) -> CandidateList:
        return CandidateList([*self, *other])


def concat_candidates(a: Any, b: Any) -> Any:
    """Concatenate two candidate batches of the same kind (their own ``concat`` if they have one)."""
    if hasattr(a, "concat"):
        return a.concat(b)
    return CandidateList([*a, *b])
