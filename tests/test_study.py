"""Studies: SIGKILL at random points and resume, determinism across workers, configs and bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from coexplore.errors import SpecError, StudyError
from coexplore.study.config import StudyConfig, load_config
from coexplore.study.storage import open_storage
from coexplore.study.study import resume_study, run_study, show_study

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "examples" / "study-smoke.yaml"


def _key(trials: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(t["number"], t["state"], t["params"]["arch"], tuple(t["values"])) for t in trials]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The smoke study run without interruption, in this process, one worker."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ref.db'}"
    run_study(load_config(SMOKE), storage=url, jobs=1, progress=False)
    return show_study("smoke", storage=url)


def test_smoke_study_has_its_budget_of_trials_and_a_front(reference: dict[str, Any]) -> None:
    trials = reference["trials"]
    assert reference["state"] == "COMPLETE" and len(trials) == 300
    assert [t["number"] for t in trials] == list(range(300))
    assert reference["directions"] == ["maximize", "minimize"]
    done = [t for t in trials if t["state"] == "COMPLETE"]
    assert len(done) > 250 and all(0 < t["values"][0] <= 100 and t["values"][1] > 0 for t in done)


def test_two_workers_give_the_same_trials_as_one(reference: dict[str, Any], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'two.db'}"
    run_study(load_config(SMOKE), storage=url, jobs=2, progress=False)
    assert _key(show_study("smoke", storage=url)["trials"]) == _key(reference["trials"])


def _trial_count(url: str) -> int:
    try:
        store = open_storage(url, must_exist=True)
        try:
            return len(store.trials("smoke"))
        finally:
            store.close()
    except StudyError:
        return 0


def _run_until_done_with_kills(url: str, rng: np.random.Generator, max_kills: int) -> tuple[int, int]:
    """Start the smoke study, SIGKILL it at random moments (at most ``max_kills`` times) and resume it
    until it finishes; return the kills and how many of them landed while trials were being written."""
    base = [sys.executable, "-m", "coexplore.cli.main"]
    kills, mid_run, created = 0, 0, False
    while True:
        args = ["study", "resume", "smoke"] if created else ["study", "run", str(SMOKE)]
        before = _trial_count(url)
        proc = subprocess.Popen([*base, *args, "--storage", url, "--jobs", "2", "--quiet"], cwd=ROOT,
                                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        timeout: float | None = None
        if kills < max_kills:
            timeout = float(rng.uniform(0.1, 2.0))
            if rng.random() < 0.5:  # half the kills wait until trials are being written, then strike
                t0 = time.monotonic()
                while proc.poll() is None and _trial_count(url) <= before and time.monotonic() - t0 < 60:
                    time.sleep(0.02)
                timeout = float(rng.uniform(0.0, 0.3))
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the study and its workers, like kill -9 of the job
            proc.wait()
            kills += 1
            mid_run += before < _trial_count(url) < 300
        else:
            err = proc.stderr.read().decode() if proc.stderr else ""
            assert proc.returncode == 0, err
            return kills, mid_run
        finally:
            if proc.stderr:
                proc.stderr.close()
        if not created:  # a kill may land before the study exists; then run it again
            try:
                open_storage(url, must_exist=True).study("smoke")
                created = True
            except StudyError:
                pass


def test_sigkill_at_random_points_then_resume_loses_and_repeats_nothing(reference: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    kills = mid_run = cycles = 0
    while kills < 20:  # whole studies killed and resumed until at least 20 kills have landed
        url = f"sqlite:///{tmp_path / f'killed{cycles}.db'}"
        k, m = _run_until_done_with_kills(url, rng, 20 - kills)
        kills, mid_run = kills + k, mid_run + m
        got = show_study("smoke", storage=url)
        assert [t["number"] for t in got["trials"]] == list(range(300))  # no gaps, no duplicates
        assert _key(got["trials"]) == _key(reference["trials"])
        cycles += 1
    assert kills >= 20
    assert mid_run >= 5, f"only {mid_run} of {kills} kills landed while trials were being written"
    print(f"{kills} kills, {mid_run} while trials were being written, {cycles} studies")


def test_resume_of_a_finished_study_evaluates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'done.db'}"
    cfg = StudyConfig.from_dict({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 40}})
    run_study(cfg, storage=url, jobs=1, progress=False)
    again = resume_study("smoke", storage=url, jobs=1, progress=False)
    assert again.evaluated_now == 0 and again.trials == 40


def test_a_checkpoint_of_a_strategy_class_removed_since_is_refused_by_name(tmp_path: Path) -> None:
    """A study checkpointed by an older coexplore (the NAS-only RegularizedEvolution) cannot be resumed: said so."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = StudyConfig.from_dict({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 20}})
    run_study(cfg, storage=url, jobs=1, progress=False)
    store = open_storage(url, must_exist=True)
    try:
        store.save_checkpoint("smoke", 3, 20, b"ccoexplore.nas.strategies\nRegularizedEvolution\n)\x81.")
        store.set_state("smoke", "INTERRUPTED")  # stopped before its end, so resume reads the checkpoint
    finally:
        store.close()
    with pytest.raises(StudyError, match=r"study smoke: its checkpoint holds a strategy .*RegularizedEvolution"):
        resume_study("smoke", storage=url, jobs=1, progress=False)


def test_a_config_with_three_mistakes_names_all_of_them(tmp_path: Path) -> None:
    bad = {"problem": {"kind": "nas", "space": "nb201", "latncy": "table"}, "objectives": ["accuracy", "area"],
           "strategy": {"name": "evolution"}, "budget": {"trials": 0}}
    with pytest.raises(SpecError) as e:
        StudyConfig.from_dict(bad)
    msg = str(e.value)
    assert "config.problem.latncy: unknown key" in msg
    assert "config.objectives: 'area' not valid for kind nas" in msg
    assert "config.budget.trials: must be an integer >= 1, got 0" in msg
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    out = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "study", "run", str(path), "--name", "x",
                          "--storage", f"sqlite:///{tmp_path / 'bad.db'}"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.count("config") >= 1 and "latncy" in out.stderr
    assert not (tmp_path / "bad.db").exists()  # nothing written


def test_existing_study_is_never_overwritten(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    cfg = StudyConfig.from_dict({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 12}})
    run_study(cfg, storage=url, jobs=1, progress=False)
    before = show_study("smoke", storage=url)
    other = StudyConfig.from_dict({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 12},
                                   "strategy": {"name": "random"}})
    with pytest.raises(StudyError, match=r"exists in .* with another config \(strategy: stored \{'name': "
                                         r"'evolution'.*given \{'name': 'random'.*nothing was changed"):
        run_study(other, storage=url, jobs=1, progress=False)
    assert show_study("smoke", storage=url) == before
    again = run_study(cfg, storage=url, jobs=1, progress=False)  # complete: nothing evaluated, nothing written
    assert again.already_complete and again.evaluated_now == 0 and again.trials == 12
    assert show_study("smoke", storage=url) == before
    store = open_storage(url)
    try:
        store.set_state("smoke", "INTERRUPTED")
    finally:
        store.close()
    with pytest.raises(StudyError, match=r"already exists in .* with this config \(INTERRUPTED\); resume it with "
                                         r"`coexplore study resume smoke --storage sqlite:///.*one\.db`"):
        run_study(cfg, storage=url, jobs=1, progress=False)
    assert show_study("smoke", storage=url)["trials"] == before["trials"]


def test_bad_storage_and_unknown_study_are_named(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="does not exist"):
        run_study(load_config(SMOKE), storage=f"sqlite:///{tmp_path / 'no' / 'dir.db'}", progress=False)
    with pytest.raises(StudyError, match="must be sqlite:///PATH or postgresql"):
        open_storage("mysql://localhost/x")
    not_db = tmp_path / "not.db"
    not_db.write_text("this is not a database")
    with pytest.raises(StudyError, match="cannot be opened as an SQLite database"):
        open_storage(f"sqlite:///{not_db}")
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    run_study(StudyConfig.from_dict({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 6}}), storage=url,
              jobs=1, progress=False)
    with pytest.raises(StudyError, match=r"study 'nope': not found .* studies there: smoke"):
        resume_study("nope", storage=url, progress=False)
    with pytest.raises(StudyError, match="no such file"):
        show_study("smoke", storage=f"sqlite:///{tmp_path / 'missing.db'}")


def test_mapping_study_maps_every_distinct_shape_once(tmp_path: Path) -> None:
    cfg = StudyConfig.from_dict({"problem": {"kind": "mapping", "network": "alexnet", "accelerator": "eyeriss"},
                                 "objectives": ["edp"], "budget": {"trials": 100}})
    url = f"sqlite:///{tmp_path / 'map.db'}"
    s = run_study(cfg, name="alexnet-map", storage=url, jobs=1, progress=False)
    trials = show_study("alexnet-map", storage=url)["trials"]
    assert s.trials == len(trials) == 8  # alexnet's 8 distinct layer shapes; the strategy then stops
    assert all(t["state"] == "COMPLETE" and t["values"][0] > 0 for t in trials)


def test_a_study_whose_creator_was_killed_before_any_trial_is_run_by_the_same_command(tmp_path: Path) -> None:
    """The study row exists (its creator died while building the problem), no trial, no checkpoint: the same
    `study run` takes it over; a creator that is still alive, or on another host, keeps it."""
    import socket

    from coexplore.study.problems import resolve_config

    url = f"sqlite:///{tmp_path / 'half.db'}"
    cfg = resolve_config(StudyConfig.from_dict({**yaml.safe_load(SMOKE.read_text()), "budget": {"trials": 12}}))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    for name, owner in (("alive", f"{host}:{os.getpid()}"), ("elsewhere", f"not-{host}:{dead.pid}"),
                        ("dead", f"{host}:{dead.pid}")):
        store = open_storage(url)
        try:
            store.create_study(name, cfg.to_dict(), cfg.objectives, cfg.directions, owner=owner)
        finally:
            store.close()
    for name, says in (("alive", "already exists"), ("elsewhere", f"being run by not-{host}:{dead.pid} \\(on another "
                                                                   "host")):
        with pytest.raises(StudyError, match=says):
            run_study(cfg, name=name, storage=url, jobs=1, progress=False)
        assert show_study(name, storage=url)["trials"] == []
    summary = run_study(cfg, name="dead", storage=url, jobs=1, progress=False)
    assert summary.trials == 12
    assert [t["number"] for t in show_study("dead", storage=url)["trials"]] == list(range(12))
    store = open_storage(url)
    try:
        assert store.owner("dead") == f"{host}:{os.getpid()}"
        assert not store.take_over("dead", f"{host}:{dead.pid}", "someone:1")  # the old owner no longer holds it
    finally:
        store.close()
    again = run_study(cfg, name="dead", storage=url, jobs=1, progress=False)  # complete: the same command says so
    assert again.already_complete and again.evaluated_now == 0


def test_a_mapping_study_with_an_unknown_mapper_is_refused_before_it_runs(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"problem\.mapper: must be one of .*default.*, got 'foo'"):
        StudyConfig.from_dict({"problem": {"kind": "mapping", "network": "alexnet", "accelerator": "eyeriss",
                                           "mapper": "foo"}, "budget": {"trials": 4}})
