"""Argument types shared by the commands: a bad value is argparse's one-line error naming the option (exit 2)."""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["budget_or_all", "count", "non_empty", "non_negative_count", "non_negative_number", "output_file",
           "output_folder", "percentile", "positive_number", "seed"]


def _integer(text: str, minimum: int, rule: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {rule}, got {value}")
    return value


def seed(text: str) -> int:
    """A random seed: an integer >= 0 (numpy's generators take no negative seed)."""
    return _integer(text, 0, "an integer >= 0")


def count(text: str) -> int:
    """How many of something (jobs, evaluations, repeats, epochs): an integer >= 1."""
    return _integer(text, 1, "an integer >= 1")


def non_negative_count(text: str) -> int:
    """How many of something that may be none (warm-up runs): an integer >= 0."""
    return _integer(text, 0, "an integer >= 0")


def budget_or_all(text: str) -> int | str:
    """A number of evaluations, or ``all`` (every candidate of an enumerable space)."""
    return text if text == "all" else _integer(text, 1, "a positive integer or 'all'")


def _finite(text: str, rule: str, ok: Callable[[float], bool]) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}") from None
    if not math.isfinite(value) or not ok(value):
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
    return value


def positive_number(text: str) -> float:
    """A time or a limit (seconds, milliseconds): a finite number > 0 (nan and inf are refused)."""
    return _finite(text, "a finite number > 0", lambda v: v > 0)


def non_negative_number(text: str) -> float:
    """An allowance that may be zero (an accuracy drop in points): a finite number >= 0."""
    return _finite(text, "a finite number >= 0", lambda v: v >= 0)


def percentile(text: str) -> float:
    """A percentile of a distribution: a number in (0, 100]."""
    return _finite(text, "a number > 0 and <= 100", lambda v: 0 < v <= 100)


def non_empty(text: str) -> str:
    """A name: a non-empty string without surrounding blanks only."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must be a non-empty name, got {text!r}")
    return text


def _writable_folder(folder: Path) -> str | None:
    """Why files cannot be created under ``folder`` (its nearest existing ancestor is tried), or None."""
    probe = folder
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file, not a folder"
    try:  # the definitive test (permissions, read-only mounts, /proc): create and drop a scratch file
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as e:
        return f"cannot write in {probe} ({e.strerror or e})"
    return None


def output_file(text: str) -> str:
    """A file the command will write: checked before any work starts (a folder, or a place that cannot be
    written, is refused now rather than after a long search)."""
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must be a file path, got {text!r}")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file path")
    why = _writable_folder(path.resolve().parent)
    if why:
        raise argparse.ArgumentTypeError(f"cannot write {text}: {why}")
    return text


def output_folder(text: str) -> str:
    """A folder the command will write files into (created if missing), checked before any work starts."""
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must be a folder path, got {text!r}")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; give a folder")
    why = _writable_folder(path.resolve())
    if why:
        raise argparse.ArgumentTypeError(f"cannot write into {text}: {why}")
    return text
