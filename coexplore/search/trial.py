"""Immutable trial records with a state and a reason; nothing is silently dropped."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Trial", "TrialState"]


class TrialState(enum.Enum):
    COMPLETE = "COMPLETE"
    INFEASIBLE = "INFEASIBLE"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True, kw_only=True)
class Trial:
    """One evaluated candidate: ``values`` in the objectives' own sense (accuracy not negated);
    ``batch`` is the ask it came from (a study resumes batch by batch)."""

    number: int
    params: dict[str, Any]
    values: tuple[float, ...]
    state: TrialState
    reason: str = ""
    seconds: float = 0.0
    batch: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
