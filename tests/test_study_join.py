"""Several processes on one study (``--join``): the owner asks and tells, workers take WAITING trials;
the study ends with the trials of one uninterrupted run, on SQLite and on a real PostgreSQL server,
also when the owner or a worker is killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from coexplore.errors import StudyError
from coexplore.search.trial import Trial, TrialState
from coexplore.study.config import load_config
from coexplore.study.storage import open_storage
from coexplore.study.study import run_study

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "examples" / "study-smoke.yaml"
_DB = iter(range(1000))


def _rows(url: str) -> list[tuple[Any, ...]]:
    """Every stored trial as (number, batch, state, params, values, reason)."""
    store = open_storage(url, must_exist=True)
    try:
        return [(t.number, t.batch, t.state.value, t.params, t.values, t.reason) for t in store.trials("smoke")]
    finally:
        store.close()


def _unfinished(url: str) -> list[tuple[int, str, str, float]]:
    store = open_storage(url, must_exist=True)
    try:
        return store.unfinished("smoke")
    finally:
        store.close()


def _taken_by(url: str, worker: str) -> int:
    """Trials (finished or not) that ``worker`` took, read from the SQLite file."""
    with sqlite3.connect(url[len("sqlite:///"):]) as c:
        return int(c.execute("SELECT COUNT(*) FROM trials WHERE worker = ?", (worker,)).fetchone()[0])


def _stored(url: str) -> int:
    try:
        return len(_rows(url))
    except StudyError:
        return 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, ...]]:
    """The smoke study run without interruption, in this process, one worker."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ref.db'}"
    run_study(load_config(SMOKE), storage=url, jobs=1, progress=False)
    rows = _rows(url)
    assert len(rows) == 300
    return rows


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "coexplore.cli.main", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _pg_url(server: dict[str, Any]) -> str:
    import psycopg

    db = f"coexplore_j{next(_DB)}"
    with psycopg.connect(host=server["socket"], port=server["port"], user="postgres", dbname="postgres",
                         autocommit=True) as c:
        c.execute(f"CREATE DATABASE {db}")
    return str(server["url"](db))


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studies.db'}"
    return _pg_url(request.getfixturevalue("pg_server"))


def _trial(n: int) -> Trial:
    return Trial(number=n, batch=0, params={"arch": f"cell{n}"}, values=(float("inf"),), state=TrialState.WAITING)


def test_claims_go_to_one_process_each_and_readers_see_finished_trials_only(url: str) -> None:
    a, b = open_storage(url), open_storage(url)
    try:
        a.create_study("s", {"x": 1}, ["latency"], ["minimize"], owner="h:1")
        a.add_waiting("s", 0, 0, b"candidates", [_trial(n) for n in range(5)])
        assert a.trials("s") == [] and a.trial_counts() == {} and a.batch_candidates("s", 0) == (0, b"candidates")
        got_a = a.claim_trials("s", "h:1", 2, lo=0, hi=5)
        got_b = b.claim_trials("s", "h:2", 10)
        assert got_a == [(0, 0), (1, 0)] and got_b == [(2, 0), (3, 0), (4, 0)]
        assert a.claim_trials("s", "h:1", 10) == []
        assert not a.release("s", 2, "h:1") and b.release("s", 2, "h:2")  # only its holder's claim is released
        assert [u[:3] for u in a.unfinished("s")] == [(0, "RUNNING", "h:1"), (1, "RUNNING", "h:1"), (2, "WAITING", ""),
                                                      (3, "RUNNING", "h:2"), (4, "RUNNING", "h:2")]
        done = Trial(number=0, batch=0, params={}, values=(2.5,), state=TrialState.COMPLETE)
        assert a.finish_trials("s", [done]) == 1
        assert b.finish_trials("s", [done]) == 0  # a finished trial is not written again
        [t] = b.trials("s")
        assert (t.number, t.state, t.values, t.params) == (0, TrialState.COMPLETE, (2.5,), {"arch": "cell0"})
        assert a.trial_counts() == {"s": {"COMPLETE": 1}}
        assert a.drop_unfinished("s") == 4 and a.unfinished("s") == []
        assert a.delete_study("s") == 1 and a.batch_candidates  # the finished trial counted, the rest removed
    finally:
        a.close()
        b.close()


def test_a_database_of_the_earlier_schema_gets_the_claim_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    c = sqlite3.connect(path)
    c.execute("CREATE TABLE trials (study_id INTEGER NOT NULL, number INTEGER NOT NULL, batch INTEGER NOT NULL, "
              "state TEXT NOT NULL, params TEXT NOT NULL, \"values\" TEXT NOT NULL, reason TEXT NOT NULL, "
              "seconds DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION NOT NULL, PRIMARY KEY (study_id, number))")
    c.commit()
    c.close()
    open_storage(f"sqlite:///{path}").close()
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(trials)")]
    assert columns[-2:] == ["worker", "claimed"]


def _owner_and_worker(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two identical ``study run --join`` started at once: one creates and owns the study, the other joins."""
    procs = [_cli("study", "run", str(SMOKE), "--storage", url, "--jobs", "1", "--join", "--json") for _ in range(2)]
    outs = []
    for p in procs:
        code, out, err = _finish(p)
        assert code == 0, err
        outs.append(json.loads(out))
    owner, worker = sorted(outs, key=lambda o: o["joined"])
    assert (owner["joined"], worker["joined"]) == (False, True)
    return owner, worker


def test_owner_and_joined_worker_give_the_trials_of_one_run_sqlite(reference: list[Any], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'join.db'}"
    owner, worker = _owner_and_worker(url)
    assert _rows(url) == reference and _unfinished(url) == []
    assert worker["evaluated_now"] > 0 and owner["evaluated_now"] + worker["evaluated_now"] == 300
    assert owner["state"] == worker["state"] == "COMPLETE" and worker["trials"] == 300


def test_owner_and_joined_worker_give_the_trials_of_one_run_postgresql(reference: list[Any],
                                                                      pg_server: dict[str, Any]) -> None:
    url = _pg_url(pg_server)
    owner, worker = _owner_and_worker(url)
    assert _rows(url) == reference and _unfinished(url) == []
    assert worker["evaluated_now"] > 0 and owner["evaluated_now"] + worker["evaluated_now"] == 300


def test_without_join_a_second_driver_is_refused_naming_join(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    config = load_config(SMOKE)
    store = open_storage(url)
    try:  # a study this (live) test process owns
        store.create_study("smoke", config.to_dict(), config.objectives, config.directions,
                           owner=f"{socket.gethostname()}:{os.getpid()}")
    finally:
        store.close()
    code, _, err = _finish(_cli("study", "resume", "smoke", "--storage", url, "--jobs", "1", "--quiet"))
    assert code == 2 and "being run by" in err and "add --join" in err and len(err.strip().splitlines()) == 1
    assert _stored(url) == 0 and _unfinished(url) == []


def test_owner_killed_then_resumed_equals_one_run(reference: list[Any], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    procs = [_cli("study", "run", str(SMOKE), "--storage", url, "--jobs", "1", "--join", "--json") for _ in range(2)]
    t0 = time.monotonic()
    while _stored(url) == 0 and time.monotonic() - t0 < 30:
        time.sleep(0.01)
    store = open_storage(url, must_exist=True)
    try:
        owner_id = store.owner("smoke")
    finally:
        store.close()
    owner, worker = sorted(procs, key=lambda p: owner_id != f"{socket.gethostname()}:{p.pid}")
    me = f"{socket.gethostname()}:{worker.pid}"
    while owner.poll() is None and worker.poll() is None and not _taken_by(url, me):
        time.sleep(0.002)
    assert owner.poll() is None and _stored(url) < 300, "the owner finished before the worker took a trial"
    os.killpg(owner.pid, signal.SIGKILL)
    owner.wait()
    code, out, err = _finish(worker)  # the worker sees its owner gone and leaves
    assert code == 0, err
    assert json.loads(out)["state"] == "INTERRUPTED", out
    assert _stored(url) < 300
    code, out, err = _finish(_cli("study", "resume", "smoke", "--storage", url, "--jobs", "1", "--json"))
    assert code == 0, err
    assert json.loads(out)["state"] == "COMPLETE"
    assert _rows(url) == reference and _unfinished(url) == []


_CLAIMANT = """
import sys, time
from coexplore.study.owner import driver_id
from coexplore.study.storage import open_storage
print("ready", flush=True)  # imports done: the owner starts now, and this takes the first trial it can
t0, store = time.monotonic(), None
while time.monotonic() - t0 < 120:
    try:
        store = store or open_storage(sys.argv[1], must_exist=True)
        got = store.claim_trials("smoke", driver_id(), 1)
    except Exception:  # the owner has not created the storage or the study yet
        got = []
    if got:
        print(got[0][0], flush=True)
        time.sleep(600)  # "mid-trial" until it is killed
print("none", flush=True)
"""


def test_a_worker_killed_mid_trial_has_its_trial_reclaimed(reference: list[Any], tmp_path: Path) -> None:
    """A worker process that took a trial (state RUNNING, itself its worker) and is killed before its result:
    the owner sets the trial back to WAITING and evaluates it, and the study equals one run."""
    url = f"sqlite:///{tmp_path / 'reclaim.db'}"
    # the claimant is ready before the owner starts (on a loaded machine its start-up could outlast the study)
    claimant = subprocess.Popen([sys.executable, "-c", _CLAIMANT, url], cwd=ROOT, text=True, stdout=subprocess.PIPE)
    assert claimant.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
    owner = _cli("study", "run", str(SMOKE), "--storage", url, "--jobs", "1", "--quiet", "--json")
    line = claimant.stdout.readline().strip()  # type: ignore[union-attr]
    assert line.isdigit(), f"the claimant took no trial: {line!r}"
    number = int(line)
    held = [u for u in _unfinished(url) if u[0] == number]
    assert held and held[0][1] == "RUNNING" and held[0][2] == f"{socket.gethostname()}:{claimant.pid}"
    claimant.kill()
    claimant.wait()
    code, out, err = _finish(owner)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["state"] == "COMPLETE" and summary["evaluated_now"] == 300  # the owner evaluated it after all
    assert _rows(url) == reference and _unfinished(url) == []
