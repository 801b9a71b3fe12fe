"""Where a study's candidates are evaluated: in process, on a local process pool, or on Ray.

A batch is cut into chunks (contiguous candidates); each chunk is evaluated with the
problem's own batch ``evaluate`` (cheap candidates stay vectorised), and reported as
soon as it finishes, so its trials are committed while the rest still run. The same
candidates give the same values on every backend: a problem's evaluation depends only
on the candidate and the problem's configuration (seeds included).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import numpy as np

from coexplore.errors import MissingDependencyError, StudyError
from coexplore.search.problem import Evaluation

__all__ = ["Backend", "ChunkResult", "InProcessBackend", "LocalPoolBackend", "RayBackend", "make_backend"]

#: (first index, evaluation of the chunk or None if it raised, error text, seconds)
ChunkResult = tuple[int, Evaluation | None, str, float]
OnChunk = Callable[[int, int, Evaluation | None, str, float], None]

_PROBLEM: Any = None
#: A Ray worker's copy of the problem, by object id: unpickled once per worker process, not once
#: per task, so the problem's own caches (each layer shape mapped once...) outlive a task as they
#: do in a forked pool worker. Without it every chunk re-maps every layer (the smoke study took
#: 270 s on Ray against 2 s in process).
_RAY_PROBLEM: dict[str, Any] = {}


def _set_problem(problem: Any) -> None:
    global _PROBLEM
    _PROBLEM = problem
    # Ctrl-C reaches the whole process group. A worker that is evaluating leaves at once and quietly (no
    # traceback per worker); one that is not defers: it may be inside the pool's queues, holding the lock
    # the other workers wait on or half-way through writing a result, and dying there leaves the driver's
    # shutdown waiting forever. It leaves at its next task instead, or on the pool's stop sentinel. The
    # driver gets the KeyboardInterrupt, marks the study INTERRUPTED and says how to resume.
    signal.signal(signal.SIGINT, _leave)
    # the pool's own SIGTERM (a broken pool's terminate) must kill even a worker blocked in a semaphore
    # wait, which a Python-level handler can miss; the inherited CLI handler is one
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


_EVALUATING = False
_INTERRUPTED = False


def _leave(signum: int, frame: Any) -> None:
    global _INTERRUPTED
    _INTERRUPTED = True
    if _EVALUATING:
        os._exit(128 + signum)


def _evaluate_chunk(problem: Any, start: int, cands: Any) -> ChunkResult:
    t0 = time.perf_counter()
    try:
        ev = problem.evaluate(cands)
    except MissingDependencyError:
        raise  # not the candidate's fault: every candidate would fail; the study stops (and can resume)
    except Exception as e:  # a candidate that crashes the evaluation is a FAILED trial, not a dead study
        return start, None, f"{type(e).__name__}: {e}", time.perf_counter() - t0
    return start, ev, "", time.perf_counter() - t0


def _pool_task(start: int, cands: Any) -> ChunkResult:
    global _EVALUATING
    _EVALUATING = True
    try:
        if _INTERRUPTED:  # interrupted while idle or sending: this is the first safe place to leave
            os._exit(128 + signal.SIGINT)
        return _evaluate_chunk(_PROBLEM, start, cands)
    finally:
        _EVALUATING = False


def _ray_task(boxed_ref: list[Any], start: int, cands: Any) -> ChunkResult:
    """Runs on a Ray worker; the problem's reference comes boxed so that Ray does not resolve
    (and unpickle) it for every task; the worker fetches it once and keeps only the latest."""
    ref = boxed_ref[0]
    key = ref.hex()
    problem = _RAY_PROBLEM.get(key)
    if problem is None:
        import ray

        problem = ray.get(ref)
        _RAY_PROBLEM.clear()
        _RAY_PROBLEM[key] = problem
    return _evaluate_chunk(problem, start, cands)


def _chunks(n: int, parts: int) -> list[tuple[int, int]]:
    size = max(1, math.ceil(n / max(1, parts)))
    return [(i, min(i + size, n)) for i in range(0, n, size)]


class Backend(ABC):
    """Evaluates a batch chunk by chunk, calling ``on_chunk(start, stop, evaluation, error, seconds)``."""

    name = "backend"
    workers = 1

    @abstractmethod
    def run(self, cands: Any, on_chunk: OnChunk) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional
        """Stop the workers."""


class InProcessBackend(Backend):
    """The whole batch in this process (one chunk: vectorised problems stay fast)."""

    name = "local"

    def __init__(self, problem: Any) -> None:
        self.problem = problem

    def run(self, cands: Any, on_chunk: OnChunk) -> None:
        _, ev, err, sec = _evaluate_chunk(self.problem, 0, cands)
        on_chunk(0, len(cands), ev, err, sec)


class LocalPoolBackend(Backend):
    """Forked worker processes that inherit the problem (nothing is pickled but candidates and results)."""

    name = "local"

    def __init__(self, problem: Any, jobs: int, *, chunks_per_worker: int = 4) -> None:
        self.workers, self.chunks_per_worker = jobs, chunks_per_worker
        ctx = multiprocessing.get_context("fork")
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_set_problem,
                                         initargs=(problem,))

    def run(self, cands: Any, on_chunk: OnChunk) -> None:
        spans = _chunks(len(cands), self.workers * self.chunks_per_worker)
        futures: dict[Future[ChunkResult], tuple[int, int]] = {
            self._pool.submit(_pool_task, a, cands.take(np.arange(a, b))): (a, b) for a, b in spans}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                a, b = futures[f]
                _, ev, err, sec = f.result()
                on_chunk(a, b, ev, err, sec)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


def _check_reachable(address: str, timeout_s: float = 10.0) -> None:
    """Fail fast where no cluster listens: ``ray.init`` retries an unreachable GCS for minutes."""
    hostport = address.split("://", 1)[-1]
    if hostport == "auto" or ":" not in hostport:
        return
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except (OSError, ValueError) as e:
        raise StudyError(f"backend ray: cannot connect to {address}: nothing answers there ({e})") from None


class RayBackend(Backend):
    """Ray tasks (a local instance, or a cluster at ``address``); the problem is put in the object store once."""

    name = "ray"

    def __init__(self, problem: Any, *, address: str | None = None, jobs: int | None = None,
                 chunks_per_worker: int = 4) -> None:
        try:
            import ray
        except ImportError:
            from coexplore.errors import MissingDependencyError

            raise MissingDependencyError("study backend 'ray': needs ray; pip install 'coexplore[ray]'") from None
        self._ray = ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "WARNING"}
            if address:
                _check_reachable(address)
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = jobs or os.cpu_count() or 1
            try:
                ray.init(**kwargs)
            except Exception as e:
                raise StudyError(f"backend ray: cannot connect to {address or 'a local instance'}: {e}") from None
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        self.chunks_per_worker = chunks_per_worker
        self._problem_ref = ray.put(problem)
        self._task = ray.remote(_ray_task)

    def run(self, cands: Any, on_chunk: OnChunk) -> None:
        ray = self._ray
        spans = _chunks(len(cands), self.workers * self.chunks_per_worker)
        refs = {self._task.remote([self._problem_ref], a, cands.take(np.arange(a, b))): (a, b) for a, b in spans}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                a, b = refs[ref]
                _, ev, err, sec = ray.get(ref)
                on_chunk(a, b, ev, err, sec)

    def close(self) -> None:
        pass  # a Ray instance started here ends with the process; a cluster stays up


def make_backend(name: str, problem: Any, *, jobs: int | None = None, address: str | None = None) -> Backend:
    """``local`` (in process for one job, else a forked pool of ``jobs``) or ``ray``.

    A problem that declares ``in_process = True`` (candidates cost microseconds) is always
    evaluated in process on the local backend: a pool would only add overhead.
    """
    if name == "local":
        n = 1 if getattr(problem, "in_process", False) else jobs or os.cpu_count() or 1
        return InProcessBackend(problem) if n <= 1 else LocalPoolBackend(problem, n)
    if name == "ray":
        return RayBackend(problem, address=address, jobs=jobs)
    raise StudyError(f"backend: must be 'local' or 'ray', got {name!r}")
