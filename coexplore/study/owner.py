"""Who drives a study: the ``host:pid`` stored with it (meta key ``owner/<study_id>``), and what that says.

One driver runs a study at a time. The strategy is one object checkpointed once per batch and
trial numbers follow from its proposals, so a second driver would propose the same batch again
(``UNIQUE constraint failed``) or, if it took other numbers, break the promise that a resumed
study has the trials of an uninterrupted run. More workers for one study come from one driver
(``--jobs``, or ``--backend ray`` across hosts), or from other processes that join it as workers
(``--join``: they evaluate the trials the owner writes as WAITING, :mod:`coexplore.study.work`);
a second ``run``/``resume`` without ``--join`` is refused while the owner lives, and takes the
study over (compare and swap: one of several wins) once it is gone.

A driver killed with ``kill -9`` cannot write that it stopped: its study stays RUNNING in
storage. Readers (``study show``, ``study list``) report such a study as INTERRUPTED when its
owner was a process of this host that no longer exists, without writing anything. An owner on
another host cannot be checked from here (nor a process id reused since); ``resume --take-over``
says it is gone.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from coexplore.errors import StudyError
from coexplore.study.storage import Storage

__all__ = ["Observed", "StudyBusyError", "claim", "driver_id", "observe", "owner_alive", "refuse_if_busy",
           "resume_command"]


class StudyBusyError(StudyError):
    """Another live driver runs the study."""


def driver_id() -> str:
    """``host:pid`` of this process, recorded as the owner of the studies it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def owner_alive(owner: str | None) -> bool | None:
    """True/False for an owner process of this host that is alive/gone; None when it cannot be told
    (no owner recorded, or one on another host)."""
    if not owner:
        return None
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return _pid_alive(int(pid))


@dataclass(frozen=True, slots=True, kw_only=True)
class Observed:
    """A study's state as a reader should report it: ``stored`` is what storage holds."""

    state: str
    stored: str
    owner: str | None
    note: str


def observe(stored: str, owner: str | None) -> Observed:
    """RUNNING with an owner of this host that is gone reads as INTERRUPTED (it was killed); else as stored."""
    if stored == "RUNNING" and owner_alive(owner) is False:
        return Observed(state="INTERRUPTED", stored=stored, owner=owner,
                        note=f"stored RUNNING, but owner process {owner.rpartition(':')[2]} is gone")  # type: ignore[union-attr]
    return Observed(state=stored, stored=stored, owner=owner, note="")


def resume_command(name: str, url: str) -> str:
    """The exact command that continues study ``name`` of storage ``url`` (its password left out)."""
    return f"coexplore study resume {name} --storage {url}"


def refuse_if_busy(store: Storage, name: str, state: str, *, take_over: bool = False) -> None:
    """StudyBusyError (nothing written) if study ``name`` (stored ``state``) is RUNNING under another owner
    that is alive or on another host, unless ``take_over``: the user says that owner is gone (a driver
    on another host, or a process id of this host reused since its driver was killed)."""
    owner = store.owner(name)
    if state != "RUNNING" or not owner or owner == driver_id() or take_over:
        return
    alive = owner_alive(owner)
    if alive or alive is None:
        where = "alive" if alive else "on another host; if it is gone, resume with --take-over"
        raise StudyBusyError(
            f"study {name!r}: being run by {owner} ({where}); nothing was changed. To work on its trials from "
            f"here too, add --join; once it stops, continue with `{resume_command(name, store.url)}`")


def claim(store: Storage, name: str, state: str, *, take_over: bool = False) -> None:
    """Make this process the owner of study ``name`` (stored ``state``) before it runs it.

    Refused as :func:`refuse_if_busy` says. Of several drivers claiming one study at once, one wins;
    the others are refused naming it.
    """
    refuse_if_busy(store, name, state, take_over=take_over)
    me, owner = driver_id(), store.owner(name)
    if owner != me and not store.take_over(name, owner, me):
        raise StudyBusyError(f"study {name!r}: being run by {store.owner(name)} (it took the study over just now); "
                             f"nothing was changed")
