"""A Study = problem + strategy + storage: the one search driver, with every trial kept.

How a study survives ``kill -9`` at any moment and resumes to the same trials:

* each chunk of a batch is committed (one row per trial) as soon as it is evaluated, so
  a completed trial is never lost;
* after ``tell``, the strategy (population, CMA-ES distribution, RNG...) is pickled
  into the checkpoint together with the number of the next trial;
* on resume the strategy is unpickled, asked again, and proposes exactly the batch it
  proposed before the kill; trials of that batch already in storage are read back
  instead of evaluated, the others are evaluated, and the search goes on. Nothing is
  evaluated twice, and the trial sequence equals an uninterrupted run's.

A driver killed while it was creating the study (the study stored, no trial nor checkpoint
yet, e.g. while its cost table was being built) is replaced by the same ``study run``
command: the creator's ``host:pid`` is stored with the study and a dead creator of this
host hands the study over (one driver wins if several try).

States: RUNNING while a driver runs it, COMPLETE at its budget (run or resume again: nothing
is evaluated, nothing written), INTERRUPTED when it stopped before (Ctrl-C, an error that is
not a trial's; the message gives the ``study resume`` command). One driver (the owner) asks and
tells the strategy; why, and how a killed driver's study reads, is in :mod:`coexplore.study.owner`.
Other processes may evaluate its trials (``--join``): each batch is written as WAITING trials
before it is evaluated, and a resumed owner drops the WAITING/RUNNING trials of the batch it
asks again (:mod:`coexplore.study.work`).
"""

from __future__ import annotations

import math
import pickle
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import StudyError
from coexplore.search.driver import optimize
from coexplore.search.problem import Evaluation
from coexplore.search.trial import TrialState
from coexplore.study.backends import Backend, make_backend
from coexplore.study.catalog import show_study
from coexplore.study.config import StudyConfig
from coexplore.study.owner import StudyBusyError, claim, driver_id, observe, owner_alive, refuse_if_busy, resume_command
from coexplore.study.problems import build_problem, build_strategy, resolve_config, search_problem
from coexplore.study.storage import Storage, StudyInfo, open_storage
from coexplore.study.work import drain_batch, run_worker, signs, waiting_trials

__all__ = ["StudySummary", "refuse_other_config", "resume_study", "run_study", "show_study"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StudySummary:
    """What one ``run``/``resume`` call did."""

    name: str
    state: str
    trials: int
    evaluated_now: int
    reused: int
    seconds: float
    already_complete: bool = False
    budget: int | None = None
    joined: bool = False  # this process worked on a study another process owns (``--join``)

    @property
    def note(self) -> str | None:
        """Why a COMPLETE study has fewer trials than its budget (the strategy ended its own schedule)."""
        if self.state == "COMPLETE" and self.budget is not None and self.trials < self.budget:
            return (f"the strategy finished its own schedule after {self.trials:,} of the {self.budget:,} "
                    f"trials the budget allowed")
        return None


def _describe(problem: Any, cands: Any, rows: list[int]) -> list[dict[str, Any]]:
    """The trial parameters of candidates ``rows``: in one call where the problem can (``describe_many``)."""
    many = getattr(problem, "describe_many", None)
    if many is not None:
        return list(many(cands, rows))
    return [problem.describe(cands, i) for i in rows]


class _Recorder:
    """Evaluates batches as their owner: writes each as WAITING trials (those not already stored), evaluates
    them with workers that joined (:mod:`coexplore.study.work`), and reads the whole batch back."""

    def __init__(self, *, name: str, storage: Storage, problem: Any, strategy: Any, backend: Backend,
                 directions: tuple[str, ...], next_number: int, batch: int, stored: set[int], bar: Any) -> None:
        self.name, self.storage, self.problem, self.strategy, self.backend = name, storage, problem, strategy, backend
        self.signs = signs(directions)
        self.next_number, self.batch, self.stored, self.bar = next_number, batch, stored, bar
        self.evaluated_now = self.reused = 0
        self.me = driver_id()

    def _claim_size(self, n: int) -> int:
        """Trials the owner takes at a time: a few per batch, so that workers that joined get some; the
        whole batch for a problem whose candidates cost microseconds (a worker would only add overhead)."""
        if getattr(self.problem, "in_process", False):
            return n
        return max(self.backend.workers, math.ceil(n / 4))

    def evaluate(self, cands: Any) -> Evaluation:
        n, k = len(cands), len(self.signs)
        first = self.next_number
        todo = [i for i in range(n) if first + i not in self.stored]
        self.reused += n - len(todo)
        own = 0
        if todo:
            self.storage.add_waiting(self.name, self.batch, first, pickle.dumps(cands),
                                     waiting_trials(self.problem, cands, todo, first, self.batch, k, _describe))
            on_done = None if self.bar is None else self.bar.update
            own = drain_batch(self.storage, self.name, self.me, self.backend, cands, first, self.batch, self.signs,
                              self._claim_size(n), on_done)
            self.evaluated_now += own
        if self.bar is not None and n - own:
            self.bar.update(n - own)
        rows = {t.number: t for t in self.storage.trials(self.name, lo=first, hi=first + n)}
        missing = [first + i for i in range(n) if first + i not in rows]
        if missing:
            raise StudyError(f"study {self.name}: trials {missing[:5]} of batch {self.batch} are not stored after "
                             f"it was evaluated")
        values = np.full((n, k), np.inf)
        feasible = np.zeros(n, dtype=bool)
        reasons = [""] * n
        for i in range(n):
            t = rows[first + i]
            feasible[i] = t.state is TrialState.COMPLETE
            if feasible[i]:
                values[i] = np.asarray(t.values, dtype=np.float64) * self.signs
            reasons[i] = t.reason
        self.next_number += n
        return Evaluation(values=values, feasible=feasible, reasons=tuple(reasons))

    def checkpoint(self, cands: Any, ev: Evaluation) -> None:
        self.storage.save_checkpoint(self.name, self.batch, self.next_number, pickle.dumps(self.strategy))
        self.batch += 1


def _run(info: StudyInfo, config: StudyConfig, storage: Storage, *, jobs: int | None, backend: str,
         address: str | None, progress: bool, problem: Any = None, take_over: bool = False) -> StudySummary:
    t0 = time.perf_counter()
    if info.state == "COMPLETE":
        n = len(storage.trials(info.name))
        if n >= config.trials:  # at its budget: nothing built, nothing written
            return StudySummary(name=info.name, state="COMPLETE", trials=n, evaluated_now=0, reused=0,
                                seconds=time.perf_counter() - t0, already_complete=True, budget=config.trials)
    claim(storage, info.name, info.state, take_over=take_over)  # before anything is built or written
    storage.set_state(info.name, "RUNNING")
    own_problem, native, engine, bar = problem is None, problem, None, None
    try:
        try:
            native = build_problem(config, progress=progress) if own_problem else problem
            problem = search_problem(config, native)
            strategy, batch, next_number = _strategy(info.name, storage, config, problem)
            # the batch a killed owner left half done: asked again below, its finished trials reused
            storage.drop_unfinished(info.name)
            stored = {t.number for t in storage.trials(info.name, lo=next_number)}
            remaining = config.trials - next_number
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=config.trials, initial=next_number, desc=f"study {info.name}", unit="trial",
                           file=sys.stderr, dynamic_ncols=True)
            engine = make_backend(backend, problem, jobs=jobs, address=address)
            rec = _Recorder(name=info.name, storage=storage, problem=problem, strategy=strategy, backend=engine,
                            directions=config.directions, next_number=next_number, batch=batch, stored=stored,
                            bar=bar)
            if remaining > 0 and not strategy.finished:
                optimize(problem, strategy, max_evals=remaining, evaluate=rec.evaluate, on_batch=rec.checkpoint)
        finally:
            if engine is not None:
                engine.close()
            if bar is not None:
                bar.close()
            closer = getattr(native, "close", None)
            if own_problem and callable(closer):
                closer()
    except BaseException as e:
        # stopped before its budget (Ctrl-C, even while the problem is built, or an error that is not a
        # trial's): resumable, and said so
        stored_now = "some"
        with suppress(Exception):  # a storage that is gone: the dead owner still reads as INTERRUPTED
            storage.set_state(info.name, "INTERRUPTED")
            stored_now = str(len(storage.trials(info.name)))
        if isinstance(e, KeyboardInterrupt):
            raise KeyboardInterrupt(
                f"study {info.name}: INTERRUPTED with {stored_now} of {config.trials} trials stored; continue it "
                f"with `{resume_command(info.name, storage.url)}`") from None
        raise
    # the driver ends at the budget or when the strategy is finished (a mapping study: every layer shape
    # once); anything else stopped it early, and the study is resumable
    state = "COMPLETE" if rec.next_number >= config.trials or strategy.finished else "INTERRUPTED"
    storage.set_state(info.name, state)
    return StudySummary(name=info.name, state=state, trials=rec.next_number, evaluated_now=rec.evaluated_now,
                        reused=rec.reused, seconds=time.perf_counter() - t0,
                        already_complete=info.state == "COMPLETE" and state == "COMPLETE" and not rec.evaluated_now,
                        budget=config.trials)


def _strategy(name: str, storage: Storage, config: StudyConfig, problem: Any) -> tuple[Any, int, int]:
    """(strategy, next batch, next trial number): a new one, or the checkpointed one reattached to ``problem``."""
    ckpt = storage.checkpoint(name)
    if ckpt is None:
        return build_strategy(config, problem), 0, 0
    try:
        strategy = pickle.loads(ckpt[2])
    except (AttributeError, ModuleNotFoundError) as e:  # a class removed since (e.g. the old NAS strategies)
        raise StudyError(f"study {name}: its checkpoint holds a strategy this version of coexplore no longer "
                         f"has ({e}); run the config again under a new name") from None
    if hasattr(strategy, "reattach"):
        strategy.reattach(problem)
    return strategy, ckpt[0] + 1, ckpt[1]


def run_study(config: StudyConfig, *, name: str | None = None, storage: str, jobs: int | None = None,
              backend: str = "local", address: str | None = None, progress: bool = True,
              problem: Any = None, continue_existing: bool = False, join: bool = False) -> StudySummary:
    """Create the study ``name`` (default: the config's name) in ``storage`` and run it to its budget.

    An existing study is refused before anything is read or written (two drivers racing to create one
    study: one wins), naming what differs from its stored config, or the live driver that runs it, or,
    for the same config, saying to resume it; a study of the same config that is complete is not run
    again (the summary says ``already_complete``). With ``continue_existing`` a study of the same config
    is continued instead (what ``coexplore codesign`` does: the same command goes on where it stopped).

    ``problem``: the config's problem if the caller built it already (it is not closed here).
    ``join``: where another live driver runs the study, work on its trials as a worker
    (:mod:`coexplore.study.work`) instead of being refused.
    """
    study_name = name or config.name
    if not study_name:
        raise StudyError("study name: give --name or a name in the config, got neither")
    config = resolve_config(config)
    store = open_storage(storage)
    try:
        try:
            info = store.study(study_name)
        except StudyError:
            try:
                info = store.create_study(study_name, config.to_dict(), config.objectives, config.directions,
                                          owner=driver_id())
            except StudyError:  # another driver created it just now: it is that driver's
                info = store.study(study_name)
                refuse_other_config(study_name, storage, info.config, config.to_dict())
                refuse_if_busy(store, study_name, info.state)
                raise
        else:
            refuse_other_config(study_name, storage, info.config, config.to_dict())
            if info.state != "COMPLETE" and not continue_existing and not _take_over_abandoned(store, study_name):
                refuse_if_busy(store, study_name, info.state)
                raise StudyError(f"study {study_name!r}: already exists in {storage!r} with this config "
                                 f"({info.state}); resume it with `{resume_command(study_name, store.url)}` "
                                 f"or choose another --name")
        return _run(info, config, store, jobs=jobs, backend=backend, address=address, progress=progress,
                    problem=problem)
    except StudyBusyError:
        if not join:
            raise
        return _join(store, study_name, config, jobs=jobs, backend=backend, address=address, progress=progress)
    finally:
        store.close()


def _join(store: Storage, name: str, config: StudyConfig, *, jobs: int | None, backend: str, address: str | None,
          progress: bool) -> StudySummary:
    """Work on study ``name`` that another driver owns, until it ends (see :mod:`coexplore.study.work`)."""
    t0 = time.perf_counter()
    evaluated = run_worker(store, name, config, driver_id(), jobs=jobs, backend=backend, address=address,
                           progress=progress)
    observed = observe(store.study(name).state, store.owner(name))
    return StudySummary(name=name, state=observed.state, trials=len(store.trials(name)), evaluated_now=evaluated,
                        reused=0, seconds=time.perf_counter() - t0, budget=config.trials, joined=True)


def _take_over_abandoned(store: Storage, name: str) -> bool:
    """True (and this process is now the owner) if study ``name`` was abandoned while being created: no trial
    and no checkpoint stored, and its creator was a process of this host that is no longer alive (a driver
    killed while it built its problem). A creator on another host, or still running, keeps it."""
    owner = store.owner(name)
    if not owner or store.checkpoint(name) is not None or store.trials(name):
        return False
    if owner_alive(owner) is not False:
        return False
    return store.take_over(name, owner, driver_id())


def refuse_other_config(name: str, storage: str, stored: dict[str, Any], given: dict[str, Any]) -> None:
    """Nothing if ``given`` is the stored config (the study goes on where it stopped, e.g. after a kill
    while it was being created); else a StudyError naming what differs, before anything is touched."""
    if stored == given:
        return
    diff = [f"{k}: stored {stored.get(k)!r}, given {given.get(k)!r}" for k in sorted(set(stored) | set(given))
            if stored.get(k) != given.get(k)]
    raise StudyError(f"study {name!r}: exists in {storage} with another config ({'; '.join(diff)}); nothing was "
                     f"changed: run the same config to continue it, or choose another name or storage")


def resume_study(name: str, *, storage: str, jobs: int | None = None, backend: str = "local",
                 address: str | None = None, progress: bool = True, problem: Any = None,
                 take_over: bool = False, join: bool = False) -> StudySummary:
    """Continue the study ``name`` from its last checkpoint (its config comes from storage).

    Refused while another live driver runs it (see :mod:`coexplore.study.owner`), or, with ``join``,
    work on its trials as a worker until it ends; ``take_over``: its owner on another host is gone.
    A complete study is left as it is (``already_complete``).
    """
    store = open_storage(storage, must_exist=True)
    try:
        info = store.study(name)
        config = StudyConfig.from_dict(info.config, source=f"study {name!r} config")
        try:
            return _run(info, config, store, jobs=jobs, backend=backend, address=address, progress=progress,
                        problem=problem, take_over=take_over)
        except StudyBusyError:
            if not join:
                raise
            return _join(store, name, config, jobs=jobs, backend=backend, address=address, progress=progress)
    finally:
        store.close()
