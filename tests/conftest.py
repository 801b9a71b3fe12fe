"""Shared fixtures: where the reference data lives (``COEXPLORE_DATA``, else ../shared/data), and a study
driver killed between two writes of results (``killed_after_writes``)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from coexplore.errors import MissingDependencyError
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def killed_after_writes(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], AbstractContextManager[None]]:
    """``with killed_after_writes(n): run_study(...)``: the driver is stopped (KeyboardInterrupt, as Ctrl-C or
    a kill would) right after its n-th write of trial results to SQLite; the block must end that way, and
    the storage writes normally after it (a resumed study must then equal an uninterrupted one)."""
    from coexplore.study.storage import SQLiteStorage

    original = SQLiteStorage.finish_trials

    @contextmanager
    def killed(n: int) -> Iterator[None]:
        calls = 0

        def crashing(self: SQLiteStorage, name: str, trials: Any) -> int:
            nonlocal calls
            written = original(self, name, trials)
            calls += 1
            if calls == n:
                raise KeyboardInterrupt("killed")
            return written

        monkeypatch.setattr(SQLiteStorage, "finish_trials", crashing)
        try:
            with pytest.raises(KeyboardInterrupt):
                yield
        finally:
            monkeypatch.setattr(SQLiteStorage, "finish_trials", original)

    return killed


def skip_if_extra_missing(code: int, err: str) -> None:
    """Skip a CLI test whose command stopped because an optional extra is absent (exit 2, the message
    names the extra), as a test calling the same code in process would be skipped."""
    if code == 2 and "install it with pip install 'coexplore[" in err:
        pytest.skip(f"optional extra missing: {err.strip().splitlines()[-1]}")


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Cost tables of one test module go to a fresh directory (never the user's cache): modules that
    build tables use it with ``pytestmark = pytest.mark.usefixtures("module_cache")``."""
    d = tmp_path_factory.mktemp("cache")
    old = os.environ.get("COEXPLORE_CACHE")
    os.environ["COEXPLORE_CACHE"] = str(d)
    yield d
    if old is None:
        del os.environ["COEXPLORE_CACHE"]
    else:
        os.environ["COEXPLORE_CACHE"] = old


def data_root() -> Path:
    return Path(os.environ.get("COEXPLORE_DATA") or ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = data_root()
    assert path.is_dir(), f"reference data not found at {path}; set COEXPLORE_DATA"
    return path


def eyeriss_like() -> Accelerator:
    """Shared test accelerator: DRAM / GLB (1 instance, fan-out 14x12) / RF (168 PEs, 256 words) / 168 MACs."""
    pe: dict[str, Any] = {"instances": 168, "mesh_x": 14, "mesh_y": 12}
    return Accelerator(
        name="eyeriss-like",
        mac=MacUnit(**pe),
        levels=(
            MemoryLevel(name="RF", size_words=256, **pe),
            MemoryLevel(
                name="GLB", size_words=65536, keeps=frozenset({"inputs", "outputs"}),
                spatial_dims_x=frozenset("PQK"), spatial_dims_y=frozenset("RSCK"),
            ),
            MemoryLevel(name="DRAM", size_words=None),
        ),
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    yield from _skip_missing_extra()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    yield from _skip_missing_extra()


def _skip_missing_extra() -> Any:
    """A test that reaches code needing an absent optional extra is skipped with the message naming the
    extra (``MissingDependencyError`` is only raised when the import really failed); the README's test
    command installs every extra, so CI runs them all."""
    outcome = yield
    err = outcome.excinfo
    if err is not None and issubclass(err[0], MissingDependencyError):
        outcome.force_exception(pytest.skip.Exception(f"optional extra missing: {err[1]}", _use_item_location=True))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """A test module whose import needs an absent optional extra is skipped whole, with the reason."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and "MissingDependencyError" in str(report.longrepr):
        reason = str(report.longrepr).strip().splitlines()[-1].split("MissingDependencyError: ", 1)[-1]
        report.outcome = "skipped"
        report.longrepr = (str(collector.path), 0, f"Skipped: optional extra missing: {reason}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the ``postgres`` user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def pg_server() -> Iterator[dict[str, Any]]:
    """A PostgreSQL server of our own: initdb into a temporary directory, listen on a Unix socket
    there and on a free localhost port, trust authentication; stopped (immediately) at the end."""
    psycopg = pytest.importorskip("psycopg", reason="PostgreSQL storage needs the extra 'postgres'")
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert found, "Debian package postgresql is needed: apt-get install -y postgresql"
    bindir = Path(found[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="coexplore-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                 "-E", "UTF8"]), check=True, capture_output=True)
    opts = f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"),
                                 "-w", "-t", "60", "start"]), check=True, capture_output=True)
    try:

        with psycopg.connect(host=str(root), port=port, user="postgres", dbname="postgres", autocommit=True) as c:
            for db in ("coexplore_a", "coexplore_b", "coexplore_c"):
                c.execute(f"CREATE DATABASE {db}")
        yield {"socket": str(root), "port": port,
               "url": lambda db: f"postgresql://postgres@/{db}?host={root}&port={port}",
               "tcp": lambda db: f"postgresql://postgres:s3cret-pw@127.0.0.1:{port}/{db}"}
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
