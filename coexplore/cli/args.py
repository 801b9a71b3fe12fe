"""Argument types shared by the commands: a bad value is argparse's one-line error naming the option (exit 2)."""

from __future__ import annotations

import argparse

__all__ = ["budget_or_all", "seed"]


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


def budget_or_all(text: str) -> int | str:
    """A number of evaluations, or ``all`` (every candidate of an enumerable space)."""
    return text if text == "all" else _integer(text, 1, "a positive integer or 'all'")
