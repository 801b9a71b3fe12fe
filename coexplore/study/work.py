"""Evaluating a study's WAITING trials: by its owner, and by workers that join it (``--join``).

Why this exists: a study's strategy is one object, asked and told by one process, its owner
(:mod:`coexplore.study.owner`). To let more processes (on this host, or on other hosts sharing a
PostgreSQL database) work on the same study, the owner writes each batch as WAITING trials, with
the batch's pickled candidates, before evaluating it. Any process takes WAITING trials by
compare and swap (each trial goes to one), evaluates them with the problem it built once from
the stored config, and writes each result into its row. The owner takes trials too, waits until
the whole batch is finished, reads it back and tells the strategy in trial-number order; a
problem's evaluation depends only on the candidate and the config, so the study holds the
trials of an uninterrupted run whoever evaluated them.

A worker leaves when the study is COMPLETE or INTERRUPTED, when its owner was a process of this
host that is gone, or after :data:`IDLE_S` seconds with nothing to take (an owner on another
host cannot be checked from here). A trial taken by a worker that is gone goes back to WAITING:
at once when the worker was a process of this host that no longer exists, after
:data:`RECLAIM_AFTER_S` seconds without its result when it runs on another host.
"""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from coexplore.errors import StudyError
from coexplore.search.problem import Evaluation
from coexplore.search.trial import Trial, TrialState
from coexplore.study.backends import Backend, make_backend
from coexplore.study.config import StudyConfig
from coexplore.study.owner import owner_alive
from coexplore.study.problems import build_problem, search_problem
from coexplore.study.storage import Storage

__all__ = ["IDLE_S", "POLL_MAX_S", "POLL_S", "RECLAIM_AFTER_S", "drain_batch", "evaluate_claimed", "results",
           "run_worker", "signs", "waiting_trials"]

#: Seconds between two looks at the storage while waiting (for a batch to finish, or for work): from
#: POLL_S right after something happened, doubling up to POLL_MAX_S while nothing does (workers pick up
#: a new batch within milliseconds, an idle worker costs the database a few queries a second).
POLL_S = 0.005
POLL_MAX_S = 0.2
#: A trial taken by a worker on another host is set back to WAITING after this many seconds without
#: its result (a worker of this host is checked by its process id instead, at once).
RECLAIM_AFTER_S = 600.0
#: A worker with nothing to take for this long leaves (its owner on another host may be gone).
IDLE_S = 600.0


def signs(directions: Sequence[str]) -> np.ndarray:
    """+1 for minimised objectives, -1 for maximised ones (the problem minimises ``sign * value``)."""
    return np.array([-1.0 if d == "maximize" else 1.0 for d in directions])


def results(numbers: Sequence[int], batch: int, ev: Evaluation | None, err: str, seconds: float,
            sign: np.ndarray) -> list[Trial]:
    """The finished trials ``numbers`` of one evaluated chunk (values in the objectives' own sense)."""
    k, out = len(sign), []
    for j, number in enumerate(numbers):
        if ev is None:
            state, vals, reason = TrialState.FAILED, np.full(k, np.inf), err
        else:
            vals = ev.values[j]
            reason = ev.reasons[j] if ev.reasons else ""
            ok = bool(ev.feasible[j]) and bool(np.isfinite(vals).all())
            state = TrialState.COMPLETE if ok else TrialState.INFEASIBLE
        user = np.asarray(vals, dtype=np.float64) * sign if state is TrialState.COMPLETE else np.full(k, np.inf)
        out.append(Trial(number=int(number), batch=batch, params={}, values=tuple(float(v) for v in user),
                         state=state, reason=reason, seconds=seconds / max(len(numbers), 1)))
    return out


def evaluate_claimed(storage: Storage, name: str, engine: Backend, cands: Any, first: int, numbers: list[int],
                     batch: int, sign: np.ndarray, on_done: Callable[[int], None] | None = None) -> int:
    """Evaluate the claimed trials ``numbers`` of a batch (candidates ``cands``, the first numbered ``first``)
    and write each chunk's results as it finishes; the number of results written."""
    sub = cands.take(np.array([n - first for n in numbers]))
    written = 0

    def on_chunk(a: int, b: int, ev: Evaluation | None, err: str, seconds: float) -> None:
        nonlocal written
        written += storage.finish_trials(name, results(numbers[a:b], batch, ev, err, seconds, sign))
        if on_done is not None:
            on_done(b - a)

    engine.run(sub, on_chunk)
    return written


def _gone(worker: str, claimed: float) -> bool:
    alive = owner_alive(worker)
    return alive is False or (alive is None and time.time() - claimed > RECLAIM_AFTER_S)


def drain_batch(storage: Storage, name: str, me: str, engine: Backend, cands: Any, first: int, batch: int,
                sign: np.ndarray, claim_size: int, on_done: Callable[[int], None] | None = None) -> int:
    """The owner's part of a written batch: take and evaluate WAITING trials ``claim_size`` at a time, then
    wait until every trial of the batch is finished, setting back those of workers that are gone; the
    number of results it wrote itself."""
    hi, written, delay = first + len(cands), 0, POLL_S
    while True:
        got = storage.claim_trials(name, me, claim_size, lo=first, hi=hi)
        if got:
            written += evaluate_claimed(storage, name, engine, cands, first, [n for n, _ in got], batch, sign,
                                        on_done)
            continue
        left = [u for u in storage.unfinished(name) if first <= u[0] < hi]
        if not left:
            return written
        again = False
        for number, state, worker, claimed in left:
            if state == TrialState.WAITING.value:
                again = True
            elif worker != me and _gone(worker, claimed):
                again = storage.release(name, number, worker) or again
        if not again:
            time.sleep(delay)
            delay = min(2 * delay, POLL_MAX_S)


def _should_leave(storage: Storage, name: str) -> bool:
    state = storage.study(name).state
    return state in ("COMPLETE", "INTERRUPTED") or owner_alive(storage.owner(name)) is False


def run_worker(storage: Storage, name: str, config: StudyConfig, me: str, *, jobs: int | None, backend: str,
               address: str | None, progress: bool) -> int:
    """Work on study ``name`` (owned by another process) until it ends or its owner is gone; the number
    of trial results this worker wrote. Trials it holds when stopped (Ctrl-C, an error) go back to WAITING."""
    native = build_problem(config, progress=progress)
    engine: Backend | None = None
    held: list[int] = []
    written = 0
    try:
        problem = search_problem(config, native)
        engine = make_backend(backend, problem, jobs=jobs, address=address)
        sign = signs(config.directions)
        cached: dict[int, tuple[int, Any]] = {}
        idle_since, delay = time.monotonic(), POLL_S
        while True:
            got = storage.claim_trials(name, me, max(1, engine.workers))
            if not got:
                if _should_leave(storage, name) or time.monotonic() - idle_since > IDLE_S:
                    return written
                time.sleep(delay)
                delay = min(2 * delay, POLL_MAX_S)
                continue
            idle_since, delay = time.monotonic(), POLL_S
            held = [n for n, _ in got]
            for b in sorted({b for _, b in got}):
                numbers = [n for n, nb in got if nb == b]
                if b not in cached:
                    stored = storage.batch_candidates(name, b)
                    if stored is None:  # written with its trials in one transaction: cannot be missing
                        raise StudyError(f"study {name!r}: trials {numbers} are WAITING but their batch {b} "
                                         f"is not stored")
                    cached.clear()  # batches come one after the other: keep the latest only
                    cached[b] = (stored[0], pickle.loads(stored[1]))
                first, cands = cached[b]
                written += evaluate_claimed(storage, name, engine, cands, first, numbers, b, sign)
            held = []
    finally:
        for n in held:
            try:
                storage.release(name, n, me)
            except Exception:  # a storage that is gone: the owner reclaims them itself
                break
        if engine is not None:
            engine.close()
        closer = getattr(native, "close", None)
        if callable(closer):
            closer()


def waiting_trials(problem: Any, cands: Any, rows: list[int], first: int, batch: int, k: int,
                   describe: Callable[[Any, Any, list[int]], list[dict[str, Any]]]) -> list[Trial]:
    """The WAITING trials of candidates ``rows`` of a batch, with their parameters (and raw vector ``x``)."""
    described = describe(problem, cands, rows)
    out = []
    for params, i in zip(described, rows, strict=True):
        if hasattr(cands, "x"):
            params = {**params, "x": [float(v) for v in cands.x[i]]}
        out.append(Trial(number=first + i, batch=batch, params=params, values=(math.inf,) * k,
                         state=TrialState.WAITING))
    return out
