"""Studies managed as Optuna users expect: list, delete, export, INTERRUPTED after Ctrl-C or a kill (and
how to resume), the Pareto front in ``show``, one driver per study, "already complete", and a reader
that closes the pipe early."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
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
import yaml

from coexplore.errors import StudyError
from coexplore.search.trial import Trial, TrialState
from coexplore.study.config import StudyConfig
from coexplore.study.storage import SQLiteStorage, open_storage
from coexplore.study.study import resume_study, run_study, show_study

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "examples" / "study-smoke.yaml"
HOST = socket.gethostname()


def cli(*args: str, stdin: Any = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coexplore.cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, stdin=stdin, timeout=120)


def _default_sigint() -> None:
    """In the child before exec: Ctrl-C acts as in a terminal, even when the tests run in a background job
    (whose shell ignores SIGINT, a disposition every child would inherit and keep)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def popen(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "coexplore.cli.main", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_default_sigint)


def one_line_error(r: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    line = r.stderr.strip()
    assert "Traceback" not in line and len(line.splitlines()) == 1, line
    for n in needles:
        assert n in line, line
    return line


def smoke_config(tmp_path: Path, trials: int) -> Path:
    path = tmp_path / f"smoke{trials}.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": trials}}))
    return path


def _trial(n: int, values: tuple[float, ...], state: TrialState = TrialState.COMPLETE, reason: str = "") -> Trial:
    return Trial(number=n, batch=0, state=state, params={"arch": f"cell{n}", "hw": {"pe": n, "buf": 2 * n},
                                                         "x": [0.5, float(n)]},
                 values=values, reason=reason, seconds=0.25)


@pytest.fixture
def stored(tmp_path: Path) -> str:
    """A storage with a two-objective study (accuracy max, latency min; one trial FAILED, one INFEASIBLE)
    and a single-objective one, written straight through the storage (nothing evaluated)."""
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    store = open_storage(url)
    try:
        store.create_study("two", {"problem": {"kind": "nas"}}, ["accuracy", "latency"], ["maximize", "minimize"])
        store.add_trials("two", [
            _trial(0, (70.0, 5.0)), _trial(1, (72.0, 6.0)), _trial(2, (70.0, 6.0)),  # 2 is dominated by 0
            _trial(3, (math.inf, math.inf), TrialState.FAILED, "ValueError: boom"),
            _trial(4, (math.inf, math.inf), TrialState.INFEASIBLE, "latency over the limit"),
            _trial(5, (60.0, 1.0)), _trial(6, (72.0, 6.0))])  # 6 ties 1: both on the front
        store.set_state("two", "COMPLETE")
        store.create_study("one", {"problem": {"kind": "mapping"}}, ["edp"], ["minimize"])
        store.add_trials("one", [_trial(0, (3.0,)), _trial(1, (2.0,)), _trial(2, (4.0,))])
        store.set_state("one", "COMPLETE")
    finally:
        store.close()
    return url


# -- show: the Pareto front ------------------------------------------------------------------------
def test_show_gives_the_pareto_front_of_a_multi_objective_study_and_the_best_of_one(stored: str) -> None:
    got = show_study("two", storage=stored)
    assert [t["number"] for t in got["front"]] == [0, 1, 5, 6]
    assert got["front"][0] == {"number": 0, "params": got["trials"][0]["params"], "values": [70.0, 5.0]}
    assert {"name", "state", "trials", "objectives", "directions", "config"} <= set(got)  # the keys scripts read
    # brute force: no complete trial dominates a front member, every other complete trial is dominated
    done = [t for t in got["trials"] if t["state"] == "COMPLETE"]
    key = [(-t["values"][0], t["values"][1]) for t in done]

    def dominated(a: tuple[float, float]) -> bool:
        return any(b[0] <= a[0] and b[1] <= a[1] and b != a for b in key)

    assert sorted(t["number"] for t, k in zip(done, key, strict=True) if not dominated(k)) == [0, 1, 5, 6]
    r = cli("study", "show", "two", "--storage", stored)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "Pareto front: 4 trials (accuracy max, latency min)" in lines[1] and "best" not in r.stdout
    assert [int(x.split()[0]) for x in lines[3:]] == [5, 0, 1, 6]
    r = cli("study", "show", "one", "--storage", stored)
    assert r.stdout.splitlines()[1].startswith("best edp: [2.0] at trial 1")
    assert [t["number"] for t in show_study("one", storage=stored)["front"]] == [1]


# -- list ------------------------------------------------------------------------------------------
def test_list_gives_every_study_with_kind_state_counts_objectives_and_creation(stored: str) -> None:
    r = cli("study", "list", "--storage", stored)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("two  kind nas  COMPLETE  7 trials (5 complete, 1 failed)  objectives "
                               "accuracy,latency  created 20")
    assert lines[1].startswith("one  kind mapping  COMPLETE  3 trials (3 complete, 0 failed)  objectives edp")
    rows = json.loads(cli("study", "list", "--storage", stored, "--json").stdout)["studies"]
    assert [(x["name"], x["kind"], x["state"], x["trials"], x["complete"], x["failed"], x["infeasible"])
            for x in rows] == [("two", "nas", "COMPLETE", 7, 5, 1, 1), ("one", "mapping", "COMPLETE", 3, 3, 0, 0)]
    assert rows[0]["objectives"] == ["accuracy", "latency"] and rows[0]["created"] > 1e9
    missing = str(Path(stored[len("sqlite:///"):]).with_name("none.db"))
    one_line_error(cli("study", "list", "--storage", f"sqlite:///{missing}"), "no such file")
    assert not Path(missing).exists()


# -- delete ----------------------------------------------------------------------------------------
def test_delete_needs_yes_without_a_terminal_names_valid_studies_and_removes_everything(stored: str) -> None:
    path = stored[len("sqlite:///"):]
    before = _dump(stored)
    one_line_error(cli("study", "delete", "two", "--storage", stored), "--yes", "'two'", "7 trials",
                   "nothing was removed")
    one_line_error(cli("study", "delete", "nope", "--storage", stored, "--yes"), "'nope': not found",
                   "studies there: two, one")
    assert _dump(stored) == before
    r = cli("study", "delete", "two", "--storage", stored, "--yes")
    assert r.returncode == 0 and "deleted with its 7 trials" in r.stdout, r.stderr
    with sqlite3.connect(path) as c:
        assert [n for (n,) in c.execute("SELECT name FROM studies")] == ["one"]
        (sid,) = c.execute("SELECT study_id FROM studies").fetchone()
        assert {s for (s,) in c.execute("SELECT study_id FROM trials")} == {sid}
        assert c.execute("SELECT COUNT(*) FROM checkpoints WHERE study_id != ?", (sid,)).fetchone() == (0,)
        assert [k for (k,) in c.execute("SELECT key FROM meta WHERE key LIKE 'owner/%'")] == []


def test_delete_refuses_a_study_a_live_driver_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    store = open_storage(url)
    try:
        store.create_study("busy", {}, ["edp"], ["minimize"], owner=f"{HOST}:{os.getpid()}")
    finally:
        store.close()
    one_line_error(cli("study", "delete", "busy", "--storage", url, "--yes"), f"being run by {HOST}:{os.getpid()}")
    assert show_study("busy", storage=url)["name"] == "busy"


# -- export ----------------------------------------------------------------------------------------
def test_export_writes_one_row_per_trial_in_csv_and_json(stored: str, tmp_path: Path) -> None:
    r = cli("study", "export", "two", "--storage", stored, "--out", str(tmp_path / "t.csv"))
    assert r.returncode == 0 and "7 trials written" in r.stdout, r.stderr
    with open(tmp_path / "t.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["number", "state", "accuracy", "latency", "params.arch", "params.hw.pe", "params.hw.buf",
                             "params.x", "error", "seconds"]
    assert [r["number"] for r in rows] == [str(i) for i in range(7)]
    assert rows[0]["accuracy"] == "70.0" and rows[0]["params.hw.buf"] == "0" and json.loads(rows[2]["params.x"]) == [
        0.5, 2.0]
    assert (rows[3]["state"], rows[3]["accuracy"], rows[3]["error"]) == ("FAILED", "", "ValueError: boom")
    assert rows[4]["error"] == "latency over the limit"
    r = cli("study", "export", "two", "--storage", stored, "--out", str(tmp_path / "t.json"))
    assert r.returncode == 0, r.stderr
    got = json.loads((tmp_path / "t.json").read_text())
    assert len(got) == 7 and got[1]["params.hw.pe"] == 1 and got[1]["params.x"] == [0.5, 1.0]
    assert got[3]["accuracy"] is None and got[3]["error"] == "ValueError: boom"
    assert [{k: str(v) if v is not None else "" for k, v in g.items() if k != "params.x"} for g in got] == [
        {k: v for k, v in r.items() if k != "params.x"} for r in rows]  # the same table in both formats


def test_export_checks_the_output_path_before_reading_the_study(tmp_path: Path) -> None:
    nowhere = f"sqlite:///{tmp_path / 'absent.db'}"  # would fail if it were read: the path is refused first
    one_line_error(cli("study", "export", "s", "--storage", nowhere, "--out", str(tmp_path / "t.xlsx")),
                   "--out", ".csv or .json", "t.xlsx")
    one_line_error(cli("study", "export", "s", "--storage", nowhere, "--out", str(tmp_path / "no" / "t.csv")),
                   "--out", "does not exist", str(tmp_path / "no"))
    (tmp_path / "d.json").mkdir()
    one_line_error(cli("study", "export", "s", "--storage", nowhere, "--out", str(tmp_path / "d.json")),
                   "--out", "is a directory")
    assert not (tmp_path / "absent.db").exists()


# -- states: Ctrl-C, kill -9, one driver per study ------------------------------------------------
def _count(url: str, name: str) -> int:
    try:
        return len(show_study(name, storage=url)["trials"])
    except StudyError:
        return 0


def _dump(url: str) -> list[str]:
    """Every row of an SQLite storage as SQL (what it holds, not how the file is laid out: a reader's
    close moves the write-ahead log into the file)."""
    with sqlite3.connect(url[len("sqlite:///"):]) as c:
        return list(c.iterdump())


def _wait_for_trials(proc: subprocess.Popen[str], url: str, name: str, at_least: int) -> None:
    t0 = time.monotonic()
    while proc.poll() is None and _count(url, name) < at_least and time.monotonic() - t0 < 60:
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()


def test_ctrl_c_marks_the_study_interrupted_and_says_how_to_resume(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    proc = popen("study", "run", str(smoke_config(tmp_path, 3000)), "--storage", url, "--jobs", "2", "--quiet")
    _wait_for_trials(proc, url, "smoke", 20)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the driver and its workers
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.strip().endswith(f"continue it with `coexplore study resume smoke --storage {url}`"), err
    got = show_study("smoke", storage=url)
    assert got["state"] == got["stored_state"] == "INTERRUPTED" and 20 <= len(got["trials"]) < 3000
    assert got["resume"] == f"coexplore study resume smoke --storage {url}"


def test_a_python_interrupt_in_the_driver_leaves_an_interrupted_study_that_resumes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = StudyConfig.from_dict({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 60}})
    url = f"sqlite:///{tmp_path / 'k.db'}"
    original, calls = SQLiteStorage.finish_trials, {"n": 0}

    def interrupted(self: SQLiteStorage, name: str, trials: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, name, trials)

    with monkeypatch.context() as m:
        m.setattr(SQLiteStorage, "finish_trials", interrupted)
        with pytest.raises(KeyboardInterrupt, match=r"study smoke: INTERRUPTED with \d+ of 60 trials stored; "
                                                    r"continue it with `coexplore study resume smoke --storage"):
            run_study(cfg, storage=url, jobs=1, progress=False)
    assert show_study("smoke", storage=url)["state"] == "INTERRUPTED"
    done = resume_study("smoke", storage=url, jobs=1, progress=False)
    assert done.state == "COMPLETE" and done.trials == 60 and not done.already_complete
    ref = f"sqlite:///{tmp_path / 'ref.db'}"
    run_study(cfg, storage=ref, jobs=1, progress=False)
    key = [(t["number"], t["params"], t["values"]) for t in show_study("smoke", storage=ref)["trials"]]
    assert [(t["number"], t["params"], t["values"]) for t in show_study("smoke", storage=url)["trials"]] == key


def test_one_driver_per_study_and_a_killed_driver_reads_interrupted(tmp_path: Path) -> None:
    """A second `study run` or `study resume` of a study being run is refused in one line naming the driver,
    without touching its trials; after kill -9 of that driver, show and list say INTERRUPTED (owner gone)
    without writing, and resume takes it over and goes on (the trials stay one unbroken sequence)."""
    cfg = smoke_config(tmp_path, 200_000)  # never finishes: both drivers are killed (under load 3,000 did)
    url = f"sqlite:///{tmp_path / 'one.db'}"
    first = popen("study", "run", str(cfg), "--storage", url, "--jobs", "1", "--quiet")
    _wait_for_trials(first, url, "smoke", 6)
    try:
        for args in (("run", str(cfg)), ("resume", "smoke")):
            line = one_line_error(cli("study", *args, "--storage", url, "--quiet"),
                                  f"study 'smoke': being run by {HOST}:{first.pid} (alive)",
                                  f"`coexplore study resume smoke --storage {url}`")
            assert "UNIQUE" not in line
        assert first.poll() is None
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate()
    before = (_dump(url), _count(url, "smoke"))
    got = show_study("smoke", storage=url)
    assert (got["state"], got["stored_state"]) == ("INTERRUPTED", "RUNNING")
    assert got["state_note"] == f"stored RUNNING, but owner process {first.pid} is gone"
    r = cli("study", "show", "smoke", "--storage", url)
    assert f"INTERRUPTED (stored RUNNING, but owner process {first.pid} is gone)" in r.stdout.splitlines()[0]
    assert f"continue it with `coexplore study resume smoke --storage {url}`" in r.stdout
    assert "INTERRUPTED (stored RUNNING" in cli("study", "list", "--storage", url).stdout
    assert (_dump(url), _count(url, "smoke")) == before  # readers wrote nothing
    second = popen("study", "resume", "smoke", "--storage", url, "--jobs", "1", "--quiet")
    _wait_for_trials(second, url, "smoke", before[1] + 6)  # the resumer took it over and writes trials
    os.killpg(second.pid, signal.SIGINT)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 130 and "Traceback" not in err, err
    got = show_study("smoke", storage=url)
    assert got["state"] == "INTERRUPTED" and got["owner"] == f"{HOST}:{second.pid}"
    assert [t["number"] for t in got["trials"]] == list(range(len(got["trials"])))


def test_two_drivers_started_together_on_sqlite_evaluate_each_trial_once(tmp_path: Path) -> None:
    cfg = smoke_config(tmp_path, 60)
    url = f"sqlite:///{tmp_path / 'race.db'}"
    procs = [popen("study", "run", str(cfg), "--storage", url, "--jobs", "1", "--quiet") for _ in range(2)]
    said = sorted((p.returncode, out + err) for p in procs for out, err in [p.communicate(timeout=120)])
    assert said[0][0] == 0 and "60 trials (60 evaluated now" in said[0][1], said
    assert (said[1][0] == 2 and "Traceback" not in said[1][1] and (
        "being run by" in said[1][1] or "already exists" in said[1][1])) or (
        said[1][0] == 0 and "already complete: 60 trials, nothing evaluated" in said[1][1]), said
    assert [t["number"] for t in show_study("smoke", storage=url)["trials"]] == list(range(60))


def test_a_finished_study_run_again_says_already_complete(tmp_path: Path) -> None:
    cfg = smoke_config(tmp_path, 12)
    url = f"sqlite:///{tmp_path / 'done.db'}"
    assert cli("study", "run", str(cfg), "--storage", url, "--quiet").returncode == 0
    before = _dump(url)
    for args in (("run", str(cfg)), ("resume", "smoke")):
        r = cli("study", *args, "--storage", url, "--quiet")
        assert r.returncode == 0 and r.stdout.strip() == "study smoke: already complete: 12 trials, nothing evaluated"
    r = cli("study", "run", str(cfg), "--storage", url, "--json")
    out = json.loads(r.stdout)
    assert out["already_complete"] is True and out["evaluated_now"] == 0 and out["trials"] == 12
    assert _dump(url) == before


def test_an_owner_on_another_host_is_taken_over_only_when_asked(tmp_path: Path) -> None:
    cfg = StudyConfig.from_dict({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 12}})
    url = f"sqlite:///{tmp_path / 'far.db'}"
    from coexplore.study.problems import resolve_config

    cfg = resolve_config(cfg)
    store = open_storage(url)
    try:
        store.create_study("smoke", cfg.to_dict(), cfg.objectives, cfg.directions, owner=f"not-{HOST}:12")
    finally:
        store.close()
    with pytest.raises(StudyError, match=rf"being run by not-{HOST}:12 \(on another host; if it is gone, resume "
                                         r"with --take-over\)"):
        resume_study("smoke", storage=url, jobs=1, progress=False)
    assert show_study("smoke", storage=url)["state"] == "RUNNING"  # cannot be told from here
    assert resume_study("smoke", storage=url, jobs=1, progress=False, take_over=True).trials == 12


# -- a reader that leaves early ------------------------------------------------------------------------
def test_a_closed_stdout_ends_quietly(stored: str) -> None:
    for args in (("study", "show", "two", "--storage", stored, "--json"), ("study", "list", "--storage", stored)):
        proc = subprocess.Popen([sys.executable, "-m", "coexplore.cli.main", *args], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        proc.stdout.close()  # like `| head -0`: every write of the command finds the pipe closed
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signal.SIGPIPE and err == b"", err
    command = f"{sys.executable} -m coexplore.cli.main study show two --storage {stored} --json"
    shell = subprocess.run(command + " | head -1; echo ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert shell.stdout.splitlines()[0] == "{" and shell.stdout.splitlines()[1] in ("0", "141")
    assert "Broken pipe" not in shell.stderr and "Traceback" not in shell.stderr


def test_codesign_run_again_says_already_complete_not_pairs_evaluated(capsys: pytest.CaptureFixture[str]) -> None:
    from coexplore.cli.codesign_commands import _print

    out = {"study": "s", "strategy": "naas", "pairs_evaluated": 10000, "seconds": 4.4, "hypervolume": 1.5,
           "trials": 10000, "front": []}
    _print({**out, "already_complete": True, "evaluated_now": 0})
    first, second = capsys.readouterr().out.splitlines()[:2]
    assert first == "study s: already complete: 10,000 trials, nothing evaluated"
    assert second.startswith("naas: 10,000 pairs evaluated when it ran; hypervolume 1.5") and "4.4 s" not in second
    _print({**out, "already_complete": False, "evaluated_now": 10000})
    assert capsys.readouterr().out.startswith("naas: 10,000 pairs evaluated in 4.4 s")


def test_ctrl_c_while_the_problem_is_built_leaves_a_resumable_interrupted_study(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import coexplore.study.study as study_module

    cfg = StudyConfig.from_dict({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 12}})
    url = f"sqlite:///{tmp_path / 'cold.db'}"

    def cold(config: Any, *, progress: bool = True) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(study_module, "build_problem", cold)
        with pytest.raises(KeyboardInterrupt, match=r"study smoke: INTERRUPTED with 0 of 12 trials stored; continue "
                                                    r"it with `coexplore study resume smoke --storage sqlite:///"):
            run_study(cfg, storage=url, jobs=1, progress=False)
    assert show_study("smoke", storage=url)["state"] == "INTERRUPTED"
    assert resume_study("smoke", storage=url, jobs=1, progress=False).trials == 12


def test_a_study_ended_by_its_strategy_before_the_budget_says_so() -> None:
    from coexplore.study.study import StudySummary

    early = StudySummary(name="d", state="COMPLETE", trials=21_990, evaluated_now=21_990, reused=0, seconds=1.0,
                         budget=22_000)
    assert early.note == "the strategy finished its own schedule after 21,990 of the 22,000 trials the budget allowed"
    for s in (dataclasses.replace(early, trials=22_000), dataclasses.replace(early, state="INTERRUPTED"),
              dataclasses.replace(early, budget=None)):
        assert s.note is None
