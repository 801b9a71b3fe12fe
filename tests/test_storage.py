"""Study storage: one conformance suite for SQLite and a real PostgreSQL server, plus what only a
server offers (several drivers on one database, kill and resume through it, bad URLs).

The PostgreSQL server is Debian's ``postgresql`` package (the README's test command installs it),
started by this module in a temporary directory on a Unix socket and a free port, never a mock.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from coexplore.errors import StudyError
from coexplore.search.trial import Trial, TrialState
from coexplore.study.config import StudyConfig, load_config
from coexplore.study.postgres import redact_url
from coexplore.study.storage import open_storage
from coexplore.study.study import resume_study, run_study, show_study
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "examples" / "study-smoke.yaml"


_DB = iter(range(1000))


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty study database of each kind (a fresh PostgreSQL database per test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studies.db'}"
    server = request.getfixturevalue("pg_server")
    import psycopg

    db = f"coexplore_t{next(_DB)}"
    with psycopg.connect(host=server["socket"], port=server["port"], user="postgres", dbname="postgres",
                         autocommit=True) as c:
        c.execute(f"CREATE DATABASE {db}")
    return str(server["url"](db))


def _trial(n: int, state: TrialState = TrialState.COMPLETE, values: tuple[float, ...] = (1.5, 2.0)) -> Trial:
    return Trial(number=n, batch=n // 4, state=state, params={"arch": f"cell{n}", "array": [14, 12], "x": 0.25 * n},
                 values=values, reason="" if state is TrialState.COMPLETE else "latency over the limit",
                 seconds=0.01 * n)


# -- conformance: both storages behave the same ------------------------------------------------
def test_trials_checkpoints_and_states_round_trip(url: str) -> None:
    store = open_storage(url)
    try:
        info = store.create_study("s", {"problem": {"kind": "nas"}, "seed": 3}, ["accuracy", "latency"],
                                  ["maximize", "minimize"])
        assert (info.name, info.state, info.objectives, info.directions) == (
            "s", "RUNNING", ("accuracy", "latency"), ("maximize", "minimize"))
        assert info.config == {"problem": {"kind": "nas"}, "seed": 3}
        trials = [_trial(0), _trial(1, TrialState.INFEASIBLE, (math.inf, math.inf)), _trial(2)]
        store.add_trials("s", trials[:2])
        store.add_trials("s", trials[2:])
        store.add_trials("s", [])
        got = store.trials("s")
        assert [t.number for t in got] == [0, 1, 2]
        for a, b in zip(got, trials, strict=True):
            assert (a.batch, a.state, a.params, a.values, a.reason) == (b.batch, b.state, b.params, b.values, b.reason)
            assert a.seconds == pytest.approx(b.seconds)
        assert store.checkpoint("s") is None
        blob = bytes(range(256)) * 40  # every byte value, 10 kB: a pickled strategy is binary
        store.save_checkpoint("s", 1, 3, blob)
        store.save_checkpoint("s", 2, 3, blob[::-1])
        assert store.checkpoint("s") == (2, 3, blob[::-1])  # the latest replaces the previous
        store.set_state("s", "COMPLETE")
        assert store.study("s").state == "COMPLETE"
        store.create_study("t", {}, ["edp"], ["minimize"])
        assert store.studies() == ["s", "t"]
    finally:
        store.close()
    again = open_storage(url, must_exist=True)  # reopened: everything committed
    try:
        assert len(again.trials("s")) == 3 and again.trials("t") == []
    finally:
        again.close()


def test_duplicates_and_unknown_names_are_refused(url: str) -> None:
    store = open_storage(url)
    try:
        store.create_study("s", {}, ["edp"], ["minimize"])
        store.add_trials("s", [_trial(0)])
        with pytest.raises(StudyError, match="'s': already exists"):
            store.create_study("s", {}, ["edp"], ["minimize"])
        with pytest.raises(StudyError, match=r"study 'nope': not found .* studies there: s"):
            store.trials("nope")
        with pytest.raises(StudyError):  # a trial number stored twice is refused, not silently doubled
            store.add_trials("s", [_trial(0)])
        assert [t.number for t in store.trials("s")] == [0]  # the connection is still usable
        store.add_trials("s", [_trial(1)])
        assert len(store.trials("s")) == 2
    finally:
        store.close()


def test_counts_owner_claims_and_delete_in_one_transaction(url: str) -> None:
    store = open_storage(url)
    try:
        store.create_study("keep", {}, ["edp"], ["minimize"], owner="h:1")
        store.create_study("gone", {}, ["edp"], ["minimize"])
        store.add_trials("keep", [_trial(0, values=(1.0,)), _trial(1, TrialState.FAILED, (math.inf,))])
        store.add_trials("gone", [_trial(n, values=(1.0,)) for n in range(3)])
        store.save_checkpoint("gone", 0, 3, b"strategy")
        assert store.trial_counts() == {"keep": {"COMPLETE": 1, "FAILED": 1}, "gone": {"COMPLETE": 3}}
        assert store.owner("gone") is None
        assert store.take_over("gone", None, "h:2")  # no owner recorded: the first claim wins ...
        assert not store.take_over("gone", None, "h:3")  # ... and a second one is refused
        assert store.owner("gone") == "h:2"
        assert store.delete_study("gone") == 3
        assert store.studies() == ["keep"] and store.trial_counts() == {"keep": {"COMPLETE": 1, "FAILED": 1}}
        with pytest.raises(StudyError, match=r"study 'gone': not found .* studies there: keep"):
            store.delete_study("gone")
        store.create_study("gone", {}, ["edp"], ["minimize"])  # the name is free again, with nothing left behind
        assert store.trials("gone") == [] and store.checkpoint("gone") is None and store.owner("gone") is None
        assert store.owner("keep") == "h:1" and len(store.trials("keep")) == 2
    finally:
        store.close()


def test_smoke_study_gives_the_same_trials_in_either_storage(url: str, tmp_path: Path) -> None:
    cfg = StudyConfig.from_dict({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 120}})
    ref_url = f"sqlite:///{tmp_path / 'ref.db'}"
    run_study(cfg, storage=ref_url, jobs=1, progress=False)
    summary = run_study(cfg, storage=url, jobs=2, progress=False)
    assert summary.trials == 120 and summary.evaluated_now == 120
    ref, got = show_study("smoke", storage=ref_url), show_study("smoke", storage=url)
    assert got["state"] == "COMPLETE"
    assert [(t["number"], t["params"], t["values"]) for t in got["trials"]] == [
        (t["number"], t["params"], t["values"]) for t in ref["trials"]]


# -- what a server adds ---------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "coexplore.cli.main", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def test_several_drivers_write_one_database_at_once(pg_server: dict[str, Any], tmp_path: Path) -> None:
    url = pg_server["url"]("coexplore_a")
    cfg = {**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 150}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    procs = [_cli("study", "run", str(path), "--name", n, "--storage", url, "--jobs", "1", "--quiet")
             for n in ("one", "two", "three")]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    runs = [show_study(n, storage=url) for n in ("one", "two", "three")]
    for r in runs:
        assert r["state"] == "COMPLETE" and [t["number"] for t in r["trials"]] == list(range(150))
    keys = [[(t["params"], t["values"]) for t in r["trials"]] for r in runs]
    assert keys[0] == keys[1] == keys[2]  # same seed, same trials


def test_two_drivers_creating_the_same_study_one_wins(pg_server: dict[str, Any], tmp_path: Path) -> None:
    url = pg_server["url"]("coexplore_b")
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 30}}))
    procs = [_cli("study", "run", str(path), "--name", "race", "--storage", url, "--jobs", "1", "--quiet")
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    # one driver evaluates the study; the other is refused (it exists, or is being run by the first), or
    # arrives when it is complete and says so: never a second evaluation of a trial
    said = sorted((p.returncode, out + err) for p, (out, err) in zip(procs, outs, strict=True))
    assert said[0][0] == 0 and "30 trials (30 evaluated now" in said[0][1], said
    other = said[1]
    assert (other[0] == 2 and ("'race': already exists" in other[1] or "'race': being run by" in other[1])) or (
        other[0] == 0 and "already complete: 30 trials, nothing evaluated" in other[1]), said
    got = show_study("race", storage=url)
    assert [t["number"] for t in got["trials"]] == list(range(30))


def test_killed_study_resumes_from_the_server(pg_server: dict[str, Any], tmp_path: Path) -> None:
    """SIGKILL while trials are being written, three times, then resume: the trials of an uninterrupted run."""
    import signal
    import time

    url = pg_server["url"]("coexplore_c")
    ref_url = f"sqlite:///{tmp_path / 'ref.db'}"
    run_study(load_config(SMOKE), storage=ref_url, jobs=1, progress=False)
    rng = np.random.default_rng(11)

    def count() -> int:
        try:
            return len(show_study("smoke", storage=url)["trials"])
        except StudyError:
            return 0

    kills = 0
    while True:
        created = count() > 0
        args = ["study", "resume", "smoke"] if created else ["study", "run", str(SMOKE)]
        before = count()
        proc = _cli(*args, "--storage", url, "--jobs", "2", "--quiet")
        if kills < 3:
            t0 = time.monotonic()
            while proc.poll() is None and count() <= before + 5 and time.monotonic() - t0 < 60:
                time.sleep(0.02)
            time.sleep(float(rng.uniform(0.0, 0.2)))
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                kills += 1
                continue
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        if count() == 300:
            break
    assert kills == 3
    got, ref = show_study("smoke", storage=url), show_study("smoke", storage=ref_url)
    assert [t["number"] for t in got["trials"]] == list(range(300))
    assert [(t["params"], t["values"]) for t in got["trials"]] == [(t["params"], t["values"]) for t in ref["trials"]]
    resumed = resume_study("smoke", storage=url, jobs=1, progress=False)
    assert resumed.evaluated_now == 0


def test_bad_server_urls_are_named_without_the_password(pg_server: dict[str, Any]) -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StudyError) as e:
        open_storage(f"postgresql://alice:hunter2-secret@127.0.0.1:{port}/studies?connect_timeout=3")
    msg = str(e.value)
    assert "cannot connect" in msg and f"127.0.0.1:{port}/studies" in msg and "hunter2-secret" not in msg
    with pytest.raises(StudyError, match='database "no_such_db" does not exist'):
        open_storage(pg_server["url"]("no_such_db"))
    with pytest.raises(StudyError, match=r"study 'ghost': not found"):
        resume_study("ghost", storage=pg_server["url"]("coexplore_b"), progress=False)
    assert redact_url("postgresql://u:pw@h:5/db?password=pw2&sslmode=require") == (
        "postgresql://u@h:5/db?password=***&sslmode=require")
    assert redact_url("postgresql:///db?host=/tmp/s") == "postgresql:///db?host=/tmp/s"
