"""Reading and removing stored studies: ``study show``, ``study list``, ``study delete``.

Readers only read: a study left RUNNING by a driver that was killed is reported INTERRUPTED
(see :func:`coexplore.study.owner.observe`), nothing is written to say so. The Pareto front of
a study is taken over its COMPLETE trials, each objective minimised or maximised as its
direction says; a single objective's front is its best trial(s).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from coexplore.search.pareto import non_dominated
from coexplore.search.trial import Trial, TrialState
from coexplore.study.owner import StudyBusyError, observe, owner_alive, resume_command
from coexplore.study.storage import open_storage

__all__ = ["count_trials", "delete_study", "front_trials", "list_studies", "show_study"]


def front_trials(trials: Sequence[Trial], directions: Sequence[str]) -> list[Trial]:
    """The COMPLETE trials with finite values that no other one dominates, in trial order."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and all(math.isfinite(v) for v in t.values)]
    if not done:
        return []
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    keep = non_dominated(np.array([t.values for t in done], dtype=np.float64) * signs)
    return [t for t, k in zip(done, keep, strict=True) if k]


def _finite(values: Sequence[float]) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values]


def show_study(name: str, *, storage: str) -> dict[str, Any]:
    """The JSON of ``study show``: name, state, objectives, directions, config, the trials
    (``number``, ``state``, ``params``, ``values``, ``reason``, ``seconds``, ``batch``), and the
    ``front`` (``number``, ``params``, ``values``); ``stored_state``, ``owner`` and ``state_note`` say
    why a stored RUNNING reads INTERRUPTED, ``resume`` the command that continues the study."""
    store = open_storage(storage, must_exist=True)
    try:
        info = store.study(name)
        trials = store.trials(name)
        seen = observe(info.state, store.owner(name))
        url = store.url
    finally:
        store.close()
    return {
        "name": info.name, "state": seen.state, "objectives": list(info.objectives),
        "directions": list(info.directions), "config": info.config,
        "trials": [{"number": t.number, "state": t.state.value, "params": t.params,
                    "values": _finite(t.values), "reason": t.reason,
                    "seconds": t.seconds, "batch": t.batch} for t in trials],
        "front": [{"number": t.number, "params": t.params, "values": _finite(t.values)}
                  for t in front_trials(trials, info.directions)],
        "stored_state": seen.stored, "owner": seen.owner, "state_note": seen.note,
        "created": info.created, "updated": info.updated,
        "resume": resume_command(info.name, url) if seen.state != "COMPLETE" else "",
    }


def list_studies(*, storage: str) -> list[dict[str, Any]]:
    """One record per study, in creation order: name, kind, state (as :func:`show_study` reads it), trial
    counts (``trials``, ``complete``, ``failed``, ``infeasible``), objectives, directions, created."""
    store = open_storage(storage, must_exist=True)
    try:
        counts = store.trial_counts()
        out = []
        for name in store.studies():
            info = store.study(name)
            seen = observe(info.state, store.owner(name))
            c = counts.get(name, {})
            out.append({
                "name": name, "kind": str(info.config.get("problem", {}).get("kind", "")), "state": seen.state,
                "stored_state": seen.stored, "state_note": seen.note, "owner": seen.owner,
                "trials": sum(c.values()), "complete": c.get("COMPLETE", 0), "failed": c.get("FAILED", 0),
                "infeasible": c.get("INFEASIBLE", 0), "objectives": list(info.objectives),
                "directions": list(info.directions), "created": info.created, "updated": info.updated})
    finally:
        store.close()
    return out


def delete_study(name: str, *, storage: str) -> int:
    """Remove study ``name`` with its trials and checkpoint in one transaction; the trials removed.

    Refused (StudyError, nothing removed) for an unknown name (the valid ones named) and for a study
    a live driver of this host is running.
    """
    store = open_storage(storage, must_exist=True)
    try:
        info = store.study(name)
        owner = store.owner(name)
        if info.state == "RUNNING" and owner_alive(owner):
            raise StudyBusyError(f"study {name!r}: being run by {owner} (alive); stop it before deleting it; "
                                 f"nothing was removed")
        return store.delete_study(name)
    finally:
        store.close()


def count_trials(name: str, *, storage: str) -> int:
    """How many trials study ``name`` holds (StudyError naming the valid ones if there is none)."""
    store = open_storage(storage, must_exist=True)
    try:
        store.study(name)
        return sum(store.trial_counts().get(name, {}).values())
    finally:
        store.close()
