"""Where the reference data lives: ``--data-dir`` first, then ``COEXPLORE_DATA``."""

from __future__ import annotations

import os
from pathlib import Path

from coexplore.errors import DataError

__all__ = ["data_file", "resolve_data_dir", "set_data_dir"]

_override: Path | None = None


def set_data_dir(path: str | Path | None) -> None:
    """Set the directory given on the command line (``--data-dir``)."""
    global _override
    _override = Path(path) if path else None


def resolve_data_dir() -> Path:
    """The data directory, or a :class:`DataError` that says how to set it."""
    if _override is not None:
        path = _override
    elif os.environ.get("COEXPLORE_DATA"):
        path = Path(os.environ["COEXPLORE_DATA"])
    else:
        raise DataError("data directory: not set; pass --data-dir DIR or set COEXPLORE_DATA=DIR")
    if not path.is_dir():
        raise DataError(f"data directory: {str(path)!r} is not a directory")
    return path


def data_file(*parts: str) -> Path:
    """A file inside the data directory; a clear error if it is missing."""
    base = resolve_data_dir()
    path = base.joinpath(*parts)
    if not path.is_file():
        raise DataError(f"data file: {str(path)!r} not found in data directory {str(base)!r}")
    return path
