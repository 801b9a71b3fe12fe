"""PostgreSQL storage (psycopg 3): the schema and queries of :class:`SqlStorage`, shared by many drivers.

Why a server rather than the SQLite file: several drivers on several machines can write
their studies into one database, and ``study show`` or ``report`` can read a study while
another process runs it. What that needs beyond the base class:

* **one transaction per storage call**: writes commit before they return (as on SQLite),
  reads end their transaction too, so no connection sits "idle in transaction" holding
  locks while its study evaluates; a failed statement is rolled back, so the connection
  stays usable and the error is a :class:`~coexplore.errors.StudyError` naming the URL;
* **creation that is safe against a race**: the schema and every new study are created
  under a transaction-level advisory lock (two drivers starting on an empty database
  would otherwise both create the tables, or hand out the same ``study_id``); the unique
  ``name`` still backs it: a violation is reported as "already exists";
* the strategy checkpoint is ``BYTEA``, placeholders are ``%s``;
* the password never appears in ``url`` or in an error message.

Install with ``pip install 'coexplore[postgres]'`` (``psycopg[binary]`` brings its own libpq).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from coexplore.errors import StudyError
from coexplore.optional import require
from coexplore.search.trial import Trial
from coexplore.study.storage import SqlStorage, StudyInfo

__all__ = ["PostgresStorage", "redact_url"]

#: Keys of ``pg_advisory_xact_lock`` (any 64-bit numbers of our own; other applications sharing
#: the database are unlikely to pick them). Held until the transaction ends.
_SCHEMA_LOCK = 0x636F_6578_0001
_CREATE_LOCK = 0x636F_6578_0002
#: libpq waits forever for an unreachable host and psycopg 130 s; a study should fail fast.
DEFAULT_CONNECT_TIMEOUT_S = 10


def redact_url(url: str) -> str:
    """``url`` without its password (in the user info or a ``password=`` query parameter)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://..."
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hosts = netloc.rsplit("@", 1)
        netloc = userinfo.split(":", 1)[0] + "@" + hosts
    query = "?" + parts.query if parts.query else ""
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "password" for k, _ in pairs):
        query = "?" + urlencode([(k, "***" if k == "password" else v) for k, v in pairs], safe="*/")
    # not urlunsplit: it turns postgresql:///db (local socket) into postgresql:/db
    return f"{parts.scheme}://{netloc}{parts.path}{query}" + (f"#{parts.fragment}" if parts.fragment else "")


def _password(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.password:
        return parts.password
    return dict(parse_qsl(parts.query)).get("password")


class PostgresStorage(SqlStorage):
    """A study database on a PostgreSQL server, at ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB``.

    Args:
        url: a libpq URL (``postgres://`` and SQLAlchemy's ``postgresql+psycopg://`` are accepted
            too); libpq's query parameters apply (``?sslmode=require``, ``?connect_timeout=30``...).
        connect_timeout_s: used when the URL sets no ``connect_timeout``.

    Raises:
        MissingDependencyError: psycopg is not installed (the ``postgres`` extra).
        StudyError: the server cannot be reached, refuses the login, or has no such database.
    """

    placeholder = "%s"
    blob_type = "BYTEA"

    def __init__(self, url: str, *, connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S) -> None:
        shown = redact_url(url)
        psycopg = require("psycopg", extra="postgres", who=f"storage {shown!r}")
        self._psycopg = psycopg
        self._secret = _password(url)
        self._depth = 0
        dsn = "postgresql://" + url.split("://", 1)[1] if url.startswith("postgresql+") else url
        try:
            params = psycopg.conninfo.conninfo_to_dict(dsn)
            if "connect_timeout" not in params:
                params["connect_timeout"] = connect_timeout_s
            params.setdefault("application_name", "coexplore")
            conn = psycopg.connect(autocommit=False, **params)
        except psycopg.Error as e:
            raise StudyError(f"storage {shown!r}: cannot connect: {self._reason(e)}") from None
        try:
            super().__init__(shown, conn)
        except BaseException:
            conn.close()
            raise

    def _reason(self, e: BaseException) -> str:
        """The driver's message on one line, without the password should libpq ever echo it."""
        text = " ".join(str(e).split()) or type(e).__name__
        # (a password of a few characters would mask parts of words, and is no secret anyway)
        return text.replace(self._secret, "***") if self._secret and len(self._secret) >= 4 else text

    @contextmanager
    def _transaction(self, what: str) -> Iterator[None]:
        """End the transaction of one storage call: commit what it did (the base class already
        committed its writes; this ends a read), or roll back on any error so the connection
        stays usable; driver errors become a StudyError saying what failed."""
        self._depth += 1
        try:
            yield
        except self._psycopg.Error as e:
            self._rollback()
            raise StudyError(f"storage {self.url!r}: {what} failed: {self._reason(e)}") from None
        except BaseException:
            self._rollback()
            raise
        else:
            if self._depth == 1 and not self._conn.closed:
                self._conn.commit()
        finally:
            self._depth -= 1

    def _rollback(self) -> None:
        if not self._conn.closed:
            # (if the connection is gone, the original error says why)
            with suppress(self._psycopg.Error):
                self._conn.rollback()

    def _create_schema(self) -> None:
        with self._transaction("creating the schema"):
            self._exec(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")
            super()._create_schema()

    def _blob(self, blob: bytes) -> Any:
        return bytes(blob)

    def create_study(self, name: str, config: dict[str, Any], objectives: Sequence[str],
                     directions: Sequence[str], *, owner: str = "") -> StudyInfo:
        with self._transaction(f"creating study {name!r}"):
            # Serialises creators: the base class's "does the name exist?" check and its
            # MAX(study_id) + 1 are then seen by each creator after the previous one committed.
            self._exec(f"SELECT pg_advisory_xact_lock({_CREATE_LOCK})")
            try:
                return super().create_study(name, config, objectives, directions, owner=owner)
            except self._psycopg.errors.UniqueViolation:
                raise StudyError(f"study {name!r}: already exists in {self.url!r}; resume it with "
                                 f"`coexplore study resume {name}` or choose another --name") from None

    def study(self, name: str) -> StudyInfo:
        with self._transaction(f"reading study {name!r}"):
            return super().study(name)

    def studies(self) -> list[str]:
        with self._transaction("listing the studies"):
            return super().studies()

    def add_trials(self, name: str, trials: Iterable[Trial]) -> None:
        with self._transaction(f"writing trials of study {name!r}"):
            super().add_trials(name, trials)

    def trials(self, name: str, *, lo: int = 0, hi: int | None = None) -> list[Trial]:
        with self._transaction(f"reading the trials of study {name!r}"):
            return super().trials(name, lo=lo, hi=hi)

    def add_waiting(self, name: str, batch: int, first: int, candidates: bytes, trials: Iterable[Trial]) -> None:
        with self._transaction(f"writing batch {batch} of study {name!r}"):
            super().add_waiting(name, batch, first, candidates, trials)

    def claim_trials(self, name: str, worker: str, limit: int, *, lo: int = 0,
                     hi: int | None = None) -> list[tuple[int, int]]:
        """As the base class, with the trials picked in a CTE ``FOR UPDATE SKIP LOCKED``: locked once (a
        ``WHERE number IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`` may be scanned again and take
        more than ``n`` rows), and claimers at the same moment skip each other's rows instead of waiting."""
        with self._transaction(f"claiming trials of study {name!r}"):
            sid = self._id(name)
            rows = self._exec(
                "WITH picked AS (SELECT number FROM trials WHERE study_id = ? AND state = 'WAITING' AND number >= ? "
                "AND number < ? ORDER BY number LIMIT ? FOR UPDATE SKIP LOCKED) "
                "UPDATE trials t SET state = 'RUNNING', worker = ?, claimed = ? FROM picked "
                "WHERE t.study_id = ? AND t.number = picked.number AND t.state = 'WAITING' "
                "RETURNING t.number, t.batch",
                (sid, lo, 2**62 if hi is None else hi, limit, worker, time.time(), sid)).fetchall()
            return sorted((int(r[0]), int(r[1])) for r in rows)

    def finish_trials(self, name: str, trials: Iterable[Trial]) -> int:
        with self._transaction(f"writing trials of study {name!r}"):
            return super().finish_trials(name, trials)

    def unfinished(self, name: str) -> list[tuple[int, str, str, float]]:
        with self._transaction(f"reading the unfinished trials of study {name!r}"):
            return super().unfinished(name)

    def release(self, name: str, number: int, worker: str) -> bool:
        with self._transaction(f"releasing trial {number} of study {name!r}"):
            return super().release(name, number, worker)

    def drop_unfinished(self, name: str) -> int:
        with self._transaction(f"removing the unfinished trials of study {name!r}"):
            return super().drop_unfinished(name)

    def batch_candidates(self, name: str, batch: int) -> tuple[int, bytes] | None:
        with self._transaction(f"reading batch {batch} of study {name!r}"):
            return super().batch_candidates(name, batch)

    def save_checkpoint(self, name: str, batch: int, n_trials: int, blob: bytes) -> None:
        with self._transaction(f"writing the checkpoint of study {name!r}"):
            super().save_checkpoint(name, batch, n_trials, blob)

    def checkpoint(self, name: str) -> tuple[int, int, bytes] | None:
        with self._transaction(f"reading the checkpoint of study {name!r}"):
            return super().checkpoint(name)

    def set_state(self, name: str, state: str) -> None:
        with self._transaction(f"setting the state of study {name!r}"):
            super().set_state(name, state)

    def owner(self, name: str) -> str | None:
        with self._transaction(f"reading the owner of study {name!r}"):
            return super().owner(name)

    def take_over(self, name: str, old: str | None, new: str) -> bool:
        with self._transaction(f"taking over study {name!r}"):
            return super().take_over(name, old, new)

    def trial_counts(self) -> dict[str, dict[str, int]]:
        with self._transaction("counting the trials"):
            return super().trial_counts()

    def delete_study(self, name: str) -> int:
        with self._transaction(f"deleting study {name!r}"):
            return super().delete_study(name)
