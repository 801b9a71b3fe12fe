"""Immutable trial records with a state and a reason; nothing is silently dropped."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Trial", "TrialState"]


class TrialState(enum.Enum):
    """A finished trial is COMPLETE, INFEASIBLE or FAILED. A study that several processes work on also
    stores the trials of the batch being evaluated: WAITING (proposed, not yet taken) and RUNNING (taken
    by one process); readers of results never see those (storage returns finished trials only)."""

    COMPLETE = "COMPLETE"
    INFEASIBLE = "INFEASIBLE"
    FAILED = "FAILED"
    WAITING = "WAITING"
    RUNNING = "RUNNING"

    @property
    def finished(self) -> bool:
        """True for a trial with its result (COMPLETE, INFEASIBLE, FAILED)."""
        return self not in (TrialState.WAITING, TrialState.RUNNING)


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
