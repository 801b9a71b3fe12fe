"""Where studies live: SQLite (an embedded file, WAL mode) by default, PostgreSQL by URL.

Schema (the same on both; ``values`` and ``params`` are JSON, non-finite numbers as null)::

    meta(key TEXT PRIMARY KEY, value TEXT)                    -- schema_version
    studies(study_id INTEGER PRIMARY KEY, name TEXT UNIQUE, config TEXT, objectives TEXT,
            directions TEXT, state TEXT, created REAL, updated REAL)
    trials(study_id, number, batch, state, params, values, reason, seconds, finished,
           worker TEXT, claimed REAL, PRIMARY KEY (study_id, number))
    checkpoints(study_id PRIMARY KEY, batch INTEGER, trials INTEGER, strategy BLOB, updated REAL)
    batches(study_id, batch, first INTEGER, candidates BLOB, PRIMARY KEY (study_id, batch))

The owner of a study writes each batch's trials as WAITING rows (with the pickled candidates
of the batch in ``batches``) before they are evaluated; any process working on the study
takes WAITING rows by compare and swap (RUNNING, ``worker`` = its ``host:pid``, ``claimed``
= when) and writes the result into the row as soon as its evaluation finishes; the
checkpoint (the pickled strategy after ``tell``) is written once per batch. That is what
makes a killed study resumable with no trial lost and none evaluated twice (see
:mod:`coexplore.study.study`). :meth:`Storage.trials` returns finished trials only, so
readers of results never see a WAITING or RUNNING row. A database of an earlier version
(no ``worker``/``claimed`` columns) gets them added when it is opened.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coexplore.errors import StudyError
from coexplore.search.trial import Trial, TrialState

__all__ = ["SCHEMA_VERSION", "SQLiteStorage", "SqlStorage", "Storage", "StudyInfo", "open_storage"]

SCHEMA_VERSION = "1"


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyInfo:
    """A study's identity: its config (as given), objectives and their directions, and state."""

    name: str
    config: dict[str, Any]
    objectives: tuple[str, ...]
    directions: tuple[str, ...]
    state: str
    created: float
    updated: float


def _dumps(x: Any) -> str:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(w) for k, w in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(w) for w in v]
        return v

    return json.dumps(clean(x), allow_nan=False, default=str)


def _values(text: str) -> tuple[float, ...]:
    return tuple(math.inf if v is None else float(v) for v in json.loads(text))


class Storage(ABC):
    """What a study needs from a database; every write is committed before it returns."""

    url: str

    @abstractmethod
    def create_study(self, name: str, config: dict[str, Any], objectives: Sequence[str],
                     directions: Sequence[str], *, owner: str = "") -> StudyInfo: ...

    @abstractmethod
    def study(self, name: str) -> StudyInfo: ...

    @abstractmethod
    def studies(self) -> list[str]: ...

    @abstractmethod
    def add_trials(self, name: str, trials: Iterable[Trial]) -> None: ...

    @abstractmethod
    def trials(self, name: str, *, lo: int = 0, hi: int | None = None) -> list[Trial]:
        """The finished trials of study ``name`` (COMPLETE, INFEASIBLE, FAILED), by number; ``lo``/``hi``:
        only those numbered in [lo, hi)."""

    # -- the batch being evaluated (several processes on one study) -------------------------------
    @abstractmethod
    def add_waiting(self, name: str, batch: int, first: int, candidates: bytes, trials: Iterable[Trial]) -> None:
        """Store the batch ``batch`` (candidates pickled, the first numbered ``first``) and its ``trials``
        to evaluate as WAITING rows, in one transaction."""

    @abstractmethod
    def claim_trials(self, name: str, worker: str, limit: int, *, lo: int = 0,
                     hi: int | None = None) -> list[tuple[int, int]]:
        """Take up to ``limit`` WAITING trials numbered in [``lo``, ``hi``) (lowest first) for ``worker``:
        (number, batch) of those it got; of several processes claiming at once, each trial goes to one."""

    @abstractmethod
    def finish_trials(self, name: str, trials: Iterable[Trial]) -> int:
        """Write results into trials still WAITING or RUNNING (a finished one is left as it is: the
        same candidate gives the same result); the number written."""

    @abstractmethod
    def unfinished(self, name: str) -> list[tuple[int, str, str, float]]:
        """(number, state, worker, claimed time) of every WAITING or RUNNING trial of study ``name``."""

    @abstractmethod
    def release(self, name: str, number: int, worker: str) -> bool:
        """Set trial ``number`` back to WAITING if ``worker`` still holds it (a worker that is gone)."""

    @abstractmethod
    def drop_unfinished(self, name: str) -> int:
        """Remove every WAITING or RUNNING trial (a new owner re-asks their batch); how many."""

    @abstractmethod
    def batch_candidates(self, name: str, batch: int) -> tuple[int, bytes] | None:
        """(first trial number, pickled candidates) of batch ``batch``; None if not stored."""

    @abstractmethod
    def save_checkpoint(self, name: str, batch: int, n_trials: int, blob: bytes) -> None: ...

    @abstractmethod
    def checkpoint(self, name: str) -> tuple[int, int, bytes] | None: ...

    @abstractmethod
    def set_state(self, name: str, state: str) -> None: ...

    def owner(self, name: str) -> str | None:
        """``host:pid`` of the driver that created (or took over) study ``name``; None if not recorded."""
        return None

    def take_over(self, name: str, old: str | None, new: str) -> bool:
        """Make ``new`` the owner if ``old`` still is (compare and swap: of two drivers taking over one
        abandoned study, one wins); ``old`` None: if no owner is recorded. A storage that records no
        owner never hands a study over."""
        return False

    def trial_counts(self) -> dict[str, dict[str, int]]:
        """Per study name, the number of its trials in each state (studies without trials absent)."""
        out: dict[str, dict[str, int]] = {}
        for name in self.studies():
            for t in self.trials(name):
                out.setdefault(name, {}).setdefault(t.state.value, 0)
                out[name][t.state.value] += 1
        return out

    @abstractmethod
    def delete_study(self, name: str) -> int:
        """Remove study ``name`` with its trials, checkpoint and owner, all or nothing; the trials removed."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release the connection."""


def _is_text(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class SqlStorage(Storage):
    """The schema and queries over a DB-API connection; subclasses open it and set the placeholders."""

    placeholder = "?"
    blob_type = "BLOB"

    def __init__(self, url: str, conn: Any) -> None:
        self.url, self._conn = url, conn
        self._ids: dict[str, int] = {}
        self._create_schema()

    def _q(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> Any:
        cur = self._conn.cursor()
        try:
            cur.execute(self._q(sql), tuple(args))
        except UnicodeEncodeError:  # a name typed in a non-UTF-8 locale (lone surrogates): refuse it by value
            bad = [a for a in args if isinstance(a, str) and not _is_text(a)]
            raise StudyError(f"study name: must be UTF-8 text, got {(bad[0] if bad else args)!r}") from None
        return cur

    def _create_schema(self) -> None:
        stmts = [
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS studies (study_id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, "
            "config TEXT NOT NULL, objectives TEXT NOT NULL, directions TEXT NOT NULL, state TEXT NOT NULL, "
            "created DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION NOT NULL)",
            "CREATE TABLE IF NOT EXISTS trials (study_id INTEGER NOT NULL, number INTEGER NOT NULL, "
            "batch INTEGER NOT NULL, state TEXT NOT NULL, params TEXT NOT NULL, \"values\" TEXT NOT NULL, "
            "reason TEXT NOT NULL, seconds DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION NOT NULL, "
            "worker TEXT NOT NULL DEFAULT '', claimed DOUBLE PRECISION NOT NULL DEFAULT 0, "
            "PRIMARY KEY (study_id, number))",
            f"CREATE TABLE IF NOT EXISTS batches (study_id INTEGER NOT NULL, batch INTEGER NOT NULL, "
            f"first INTEGER NOT NULL, candidates {self.blob_type} NOT NULL, PRIMARY KEY (study_id, batch))",
            f"CREATE TABLE IF NOT EXISTS checkpoints (study_id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, "
            f"trials INTEGER NOT NULL, strategy {self.blob_type} NOT NULL, updated DOUBLE PRECISION NOT NULL)",
        ]
        for s in stmts:
            self._exec(s)
        columns = {d[0].lower() for d in self._exec("SELECT * FROM trials WHERE 1 = 0").description}
        if "worker" not in columns:  # a database written before studies could be joined
            self._exec("ALTER TABLE trials ADD COLUMN worker TEXT NOT NULL DEFAULT ''")
            self._exec("ALTER TABLE trials ADD COLUMN claimed DOUBLE PRECISION NOT NULL DEFAULT 0")
        # two processes opening a new database at once (a driver and a reader) both find no version row:
        # the first insert wins and the other keeps it, instead of failing on the key
        self._exec("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING",
                   (SCHEMA_VERSION,))
        row = self._exec("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row[0] != SCHEMA_VERSION:
            raise StudyError(f"storage {self.url!r}: schema version {row[0]}, this coexplore reads {SCHEMA_VERSION}")
        self._conn.commit()

    def _id(self, name: str) -> int:
        if name not in self._ids:
            row = self._exec("SELECT study_id FROM studies WHERE name = ?", (name,)).fetchone()
            if row is None:
                known = ", ".join(self.studies()) or "(none)"
                raise StudyError(f"study {name!r}: not found in {self.url!r}; studies there: {known}")
            self._ids[name] = int(row[0])
        return self._ids[name]

    def create_study(self, name: str, config: dict[str, Any], objectives: Sequence[str],
                     directions: Sequence[str], *, owner: str = "") -> StudyInfo:
        if not name or not isinstance(name, str):
            raise StudyError(f"study name: must be a non-empty string, got {name!r}")
        if self._exec("SELECT 1 FROM studies WHERE name = ?", (name,)).fetchone() is not None:
            raise StudyError(f"study {name!r}: already exists in {self.url!r}; resume it with "
                             f"`coexplore study resume {name}` or choose another --name")
        now = time.time()
        row = self._exec("SELECT COALESCE(MAX(study_id), 0) + 1 FROM studies").fetchone()
        self._exec("INSERT INTO studies (study_id, name, config, objectives, directions, state, created, updated) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (int(row[0]), name, _dumps(config), _dumps(list(objectives)), _dumps(list(directions)), "RUNNING",
                    now, now))
        if owner:
            self._exec("INSERT INTO meta (key, value) VALUES (?, ?)", (f"owner/{int(row[0])}", owner))
        self._conn.commit()
        return self.study(name)

    def study(self, name: str) -> StudyInfo:
        sid = self._id(name)
        r = self._exec("SELECT name, config, objectives, directions, state, created, updated FROM studies "
                       "WHERE study_id = ?", (sid,)).fetchone()
        return StudyInfo(name=r[0], config=json.loads(r[1]), objectives=tuple(json.loads(r[2])),
                         directions=tuple(json.loads(r[3])), state=r[4], created=float(r[5]), updated=float(r[6]))

    def studies(self) -> list[str]:
        return [r[0] for r in self._exec("SELECT name FROM studies ORDER BY study_id").fetchall()]

    def add_trials(self, name: str, trials: Iterable[Trial]) -> None:
        sid = self._id(name)
        now = time.time()
        rows = [(sid, t.number, t.batch, t.state.value, _dumps(t.params), _dumps(list(t.values)), t.reason,
                 float(t.seconds), now) for t in trials]
        if not rows:
            return
        cur = self._conn.cursor()
        cur.executemany(self._q("INSERT INTO trials (study_id, number, batch, state, params, \"values\", reason, "
                                "seconds, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"), rows)
        self._exec("UPDATE studies SET updated = ? WHERE study_id = ?", (now, sid))
        self._conn.commit()

    def trials(self, name: str, *, lo: int = 0, hi: int | None = None) -> list[Trial]:
        sid = self._id(name)
        rows = self._exec("SELECT number, batch, state, params, \"values\", reason, seconds FROM trials "
                          "WHERE study_id = ? AND state NOT IN ('WAITING', 'RUNNING') AND number >= ? AND number < ? "
                          "ORDER BY number", (sid, lo, 2**62 if hi is None else hi)).fetchall()
        return [Trial(number=int(r[0]), batch=int(r[1]), state=TrialState(r[2]), params=json.loads(r[3]),
                      values=_values(r[4]), reason=r[5], seconds=float(r[6])) for r in rows]

    def add_waiting(self, name: str, batch: int, first: int, candidates: bytes, trials: Iterable[Trial]) -> None:
        sid = self._id(name)
        now = time.time()
        rows = [(sid, t.number, t.batch, TrialState.WAITING.value, _dumps(t.params), _dumps(list(t.values)), "",
                 0.0, now) for t in trials]
        try:
            self._exec("DELETE FROM batches WHERE study_id = ? AND batch = ?", (sid, batch))
            self._exec("INSERT INTO batches (study_id, batch, first, candidates) VALUES (?, ?, ?, ?)",
                       (sid, batch, first, self._blob(candidates)))
            cur = self._conn.cursor()
            cur.executemany(self._q("INSERT INTO trials (study_id, number, batch, state, params, \"values\", "
                                    "reason, seconds, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"), rows)
        except BaseException:
            self._conn.rollback()
            raise
        self._conn.commit()

    def claim_trials(self, name: str, worker: str, limit: int, *, lo: int = 0,
                     hi: int | None = None) -> list[tuple[int, int]]:
        sid = self._id(name)
        top = 2**62 if hi is None else hi
        # one statement, run under SQLite's write lock: of several claimers, each trial goes to one
        rows = self._exec(
            "UPDATE trials SET state = 'RUNNING', worker = ?, claimed = ? WHERE study_id = ? AND state = 'WAITING' "
            "AND number IN (SELECT number FROM trials WHERE study_id = ? AND state = 'WAITING' AND number >= ? "
            "AND number < ? ORDER BY number LIMIT ?) RETURNING number, batch",
            (worker, time.time(), sid, sid, lo, top, limit)).fetchall()
        self._conn.commit()
        return sorted((int(r[0]), int(r[1])) for r in rows)

    def finish_trials(self, name: str, trials: Iterable[Trial]) -> int:
        sid = self._id(name)
        now, n = time.time(), 0
        try:
            for t in trials:
                cur = self._exec("UPDATE trials SET state = ?, \"values\" = ?, reason = ?, seconds = ?, finished = ? "
                                 "WHERE study_id = ? AND number = ? AND state IN ('WAITING', 'RUNNING')",
                                 (t.state.value, _dumps(list(t.values)), t.reason, float(t.seconds), now, sid,
                                  t.number))
                n += int(cur.rowcount)
            self._exec("UPDATE studies SET updated = ? WHERE study_id = ?", (now, sid))
        except BaseException:
            self._conn.rollback()
            raise
        self._conn.commit()
        return n

    def unfinished(self, name: str) -> list[tuple[int, str, str, float]]:
        rows = self._exec("SELECT number, state, worker, claimed FROM trials WHERE study_id = ? "
                          "AND state IN ('WAITING', 'RUNNING') ORDER BY number", (self._id(name),)).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2]), float(r[3])) for r in rows]

    def release(self, name: str, number: int, worker: str) -> bool:
        cur = self._exec("UPDATE trials SET state = 'WAITING', worker = '' WHERE study_id = ? AND number = ? "
                         "AND state = 'RUNNING' AND worker = ?", (self._id(name), number, worker))
        self._conn.commit()
        return int(cur.rowcount) == 1

    def drop_unfinished(self, name: str) -> int:
        cur = self._exec("DELETE FROM trials WHERE study_id = ? AND state IN ('WAITING', 'RUNNING')",
                         (self._id(name),))
        self._conn.commit()
        return int(cur.rowcount)

    def batch_candidates(self, name: str, batch: int) -> tuple[int, bytes] | None:
        row = self._exec("SELECT first, candidates FROM batches WHERE study_id = ? AND batch = ?",
                         (self._id(name), batch)).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def save_checkpoint(self, name: str, batch: int, n_trials: int, blob: bytes) -> None:
        sid = self._id(name)
        now = time.time()
        self._exec("DELETE FROM checkpoints WHERE study_id = ?", (sid,))
        self._exec("INSERT INTO checkpoints (study_id, batch, trials, strategy, updated) VALUES (?, ?, ?, ?, ?)",
                   (sid, batch, n_trials, self._blob(blob), now))
        self._conn.commit()

    def _blob(self, blob: bytes) -> Any:
        return sqlite3.Binary(blob)

    def checkpoint(self, name: str) -> tuple[int, int, bytes] | None:
        row = self._exec("SELECT batch, trials, strategy FROM checkpoints WHERE study_id = ?",
                         (self._id(name),)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), bytes(row[2]))

    def set_state(self, name: str, state: str) -> None:
        """As the base class; a write left half-done (an interrupt between a statement and its commit)
        is rolled back first, never committed with the state."""
        self._conn.rollback()
        self._exec("UPDATE studies SET state = ?, updated = ? WHERE study_id = ?", (state, time.time(), self._id(name)))
        self._conn.commit()

    def owner(self, name: str) -> str | None:
        row = self._exec("SELECT value FROM meta WHERE key = ?", (f"owner/{self._id(name)}",)).fetchone()
        return None if row is None else str(row[0])

    def take_over(self, name: str, old: str | None, new: str) -> bool:
        key = f"owner/{self._id(name)}"
        if old is None:
            cur = self._exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, new))
        else:
            cur = self._exec("UPDATE meta SET value = ? WHERE key = ? AND value = ?", (new, key, old))
        self._conn.commit()
        return int(cur.rowcount) == 1

    def trial_counts(self) -> dict[str, dict[str, int]]:
        rows = self._exec("SELECT s.name, t.state, COUNT(*) FROM trials t JOIN studies s ON s.study_id = t.study_id "
                          "WHERE t.state NOT IN ('WAITING', 'RUNNING') GROUP BY s.name, t.state").fetchall()
        out: dict[str, dict[str, int]] = {}
        for name, state, n in rows:
            out.setdefault(str(name), {})[str(state)] = int(n)
        return out

    def delete_study(self, name: str) -> int:
        sid = self._id(name)
        try:
            n = int(self._exec("DELETE FROM trials WHERE study_id = ? AND state NOT IN ('WAITING', 'RUNNING')",
                               (sid,)).rowcount)
            self._exec("DELETE FROM trials WHERE study_id = ?", (sid,))
            self._exec("DELETE FROM batches WHERE study_id = ?", (sid,))
            self._exec("DELETE FROM checkpoints WHERE study_id = ?", (sid,))
            self._exec("DELETE FROM meta WHERE key = ?", (f"owner/{sid}",))
            self._exec("DELETE FROM studies WHERE study_id = ?", (sid,))
        except BaseException:
            self._conn.rollback()
            raise
        self._conn.commit()
        self._ids.pop(name, None)
        return n

    def close(self) -> None:
        self._conn.close()


class SQLiteStorage(SqlStorage):
    """An SQLite file in WAL mode (readers do not block the writer; a crash loses no commit)."""

    def __init__(self, path: str | Path, *, must_exist: bool = False) -> None:
        p = Path(path)
        if must_exist and not p.is_file():
            raise StudyError(f"storage sqlite:///{p}: no such file (nothing to read or resume there)")
        if not p.parent.exists():
            raise StudyError(f"storage sqlite:///{p}: directory {str(p.parent)!r} does not exist")
        try:
            conn = sqlite3.connect(str(p), timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as e:
            raise StudyError(f"storage sqlite:///{p}: cannot be opened as an SQLite database: {e}") from None
        super().__init__(f"sqlite:///{p}", conn)

    def create_study(self, name: str, config: dict[str, Any], objectives: Sequence[str],
                     directions: Sequence[str], *, owner: str = "") -> StudyInfo:
        """As the base class; of two drivers creating one study at once, the second is told it exists."""
        try:
            return super().create_study(name, config, objectives, directions, owner=owner)
        except sqlite3.IntegrityError:
            self._conn.rollback()
            raise StudyError(f"study {name!r}: already exists in {self.url!r} (created just now by another "
                             f"driver)") from None

    def add_trials(self, name: str, trials: Iterable[Trial]) -> None:
        """As the base class; a refused write (a trial number stored twice) is rolled back whole
        and reported as a StudyError, and the connection stays usable."""
        try:
            super().add_trials(name, trials)
        except sqlite3.Error as e:
            self._conn.rollback()
            raise StudyError(f"storage {self.url!r}: writing trials of study {name!r} failed: {e}") from None


def open_storage(url: str, *, must_exist: bool = False) -> Storage:
    """``sqlite:///PATH`` (relative or absolute path), a plain file path, or ``postgresql://...``.

    ``must_exist``: an SQLite file must already be there (show, resume, report never create one).
    """
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from coexplore.study.postgres import PostgresStorage

        return PostgresStorage(url)
    if url.startswith("sqlite:///"):
        return SQLiteStorage(url[len("sqlite:///"):], must_exist=must_exist)
    if "://" in url:
        raise StudyError(f"storage URL {url!r}: must be sqlite:///PATH or postgresql://USER@HOST/DB")
    return SQLiteStorage(url, must_exist=must_exist)
