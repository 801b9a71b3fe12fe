"""Small validators the kinds share for their ``problem`` keys (each appends a message naming field and value)."""

from __future__ import annotations

from typing import Any

__all__ = ["integer", "positive", "string"]


def string(errs: list[str], p: dict[str, Any], path: str, key: str, *, kind: str, required: bool = False) -> None:
    v = p.get(key)
    if v is None:
        if required:
            errs.append(f"{path}.{key}: required for kind {kind}, got nothing")
    elif not isinstance(v, str) or not v:
        errs.append(f"{path}.{key}: must be a non-empty string, got {v!r}")


def positive(errs: list[str], p: dict[str, Any], path: str, key: str) -> None:
    v = p.get(key)
    if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0):
        errs.append(f"{path}.{key}: must be a number > 0, got {v!r}")


def integer(errs: list[str], p: dict[str, Any], path: str, key: str) -> None:
    v = p.get(key)
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
        errs.append(f"{path}.{key}: must be an integer >= 1, got {v!r}")
