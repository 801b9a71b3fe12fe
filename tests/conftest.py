"""Shared fixtures: where the reference data lives (``COEXPLORE_DATA``, else ../shared/data)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coexplore.errors import MissingDependencyError
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel

ROOT = Path(__file__).resolve().parents[1]


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
