"""Shared fixtures: where the reference data lives (``COEXPLORE_DATA``, else ../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    return Path(os.environ.get("COEXPLORE_DATA") or ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = data_root()
    assert path.is_dir(), f"reference data not found at {path}; set COEXPLORE_DATA"
    return path
