"""The local process pool under Ctrl-C: a worker interrupted anywhere never leaves the driver's
shutdown waiting (the pool's queues are shared: a worker that dies holding the call queue's lock, or
half-way through writing a result, would), and a worker interrupted while evaluating leaves at once."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coexplore.study.backends import LocalPoolBackend


class _Sleepy:
    """Each chunk: note the worker's pid in ``marks`` (when set), sleep, return the pid per candidate."""

    def __init__(self, seconds: float, marks: Path | None = None) -> None:
        self.seconds, self.marks = seconds, marks

    def evaluate(self, cands: Any) -> Any:
        if self.marks is not None:
            (self.marks / str(os.getpid())).touch()
        time.sleep(self.seconds)
        return np.full(len(cands), os.getpid())


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def pids() -> Iterator[set[int]]:
    """Worker pids a test saw; any still alive at the end are killed (a hang must not outlive its test)."""
    seen: set[int] = set()
    yield seen
    for pid in seen:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _run_collecting(backend: LocalPoolBackend, n: int) -> set[int]:
    got: set[int] = set()
    backend.run(np.arange(n), lambda a, b, ev, err, sec: got.update(int(p) for p in ev))
    return got


def _closes_within(backend: LocalPoolBackend, seconds: float) -> bool:
    t = threading.Thread(target=backend.close, daemon=True)
    t.start()
    t.join(seconds)
    return not t.is_alive()


@pytest.mark.parametrize("which", [0, 1])
def test_an_idle_worker_interrupted_alone_does_not_hang_the_shutdown(which: int, pids: set[int]) -> None:
    # two idle workers: one blocked reading the call queue while holding its lock, the other waiting for
    # that lock. Interrupting one of them alone is what happens when the other misses the signal (it
    # arrives just before its semaphore wait); whichever it is, the pool must still shut down.
    backend = LocalPoolBackend(_Sleepy(0.1), jobs=2, chunks_per_worker=4)
    for _ in range(5):  # until both workers have taken chunks (a loaded machine may start one late)
        pids.update(_run_collecting(backend, 16))
        if len(pids) == 2:
            break
    assert len(pids) == 2, pids
    os.kill(sorted(pids)[which], signal.SIGINT)
    assert _closes_within(backend, 30), "the pool's shutdown hangs after one idle worker was interrupted"
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)


def test_a_worker_interrupted_while_evaluating_leaves_at_once(tmp_path: Path, pids: set[int]) -> None:
    backend = LocalPoolBackend(_Sleepy(60.0, marks=tmp_path), jobs=2, chunks_per_worker=1)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            backend.run(np.arange(2), lambda *a: None)
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    pids.update(int(p.name) for p in tmp_path.iterdir())
    assert len(pids) == 2, "both workers should be evaluating"
    t0 = time.monotonic()
    for pid in pids:
        os.kill(pid, signal.SIGINT)
    t.join(30)
    assert not t.is_alive() and time.monotonic() - t0 < 30  # not after the 60 s evaluation
    assert len(errors) == 1 and isinstance(errors[0], BrokenProcessPool), errors
    assert _closes_within(backend, 30)
    assert not any(_alive(p) for p in pids)
