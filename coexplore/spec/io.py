"""Accelerators to and from plain dicts and YAML files (coexplore's own format).

The format mirrors the dataclasses. Every field of :class:`Accelerator`,
:class:`MacUnit` and :class:`MemoryLevel` is a key, levels are listed innermost
first, sets are lists in canonical order, and ``metadata`` is a mapping. Loading
reports every problem at once, each with its field path
(``accelerator.levels[2].size_words: must be >= 0 or null, got -1``). Unknown keys are
errors that list the valid keys. Cross-level rules (instance nesting, the top level)
are checked once every level is valid on its own. ``save`` followed by ``load`` gives
back an equal accelerator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from coexplore.errors import InteropError, SpecError
from coexplore.spec.dims import DATASPACES, DIMS
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel

__all__ = [
    "accelerator_from_dict",
    "accelerator_to_dict",
    "load_accelerator_yaml",
    "read_text",
    "read_yaml",
    "save_accelerator_yaml",
]

_ORDER = {name: i for i, name in enumerate((*DATASPACES, *DIMS))}


# -- to dict -------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(value, key=lambda v: (_ORDER.get(v, len(_ORDER)), v))
    return value


# Fields added after the format was first used, written only when not at their default, so
# that existing files and cache keys (hashes of these dicts) stay as they were.
_OMIT_AT_DEFAULT = {"cluster_size": 1, "cost_free": False, "accumulator_bits": None, "brick_bits": None}


def _fields_dict(obj: Any) -> dict[str, Any]:
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)
            if f.name not in _OMIT_AT_DEFAULT or getattr(obj, f.name) != _OMIT_AT_DEFAULT[f.name]}


def accelerator_to_dict(acc: Accelerator) -> dict[str, Any]:
    """A plain dict (YAML/JSON-ready) holding every field of ``acc``."""
    keys = [k for k, _ in acc.metadata]
    metadata: Any = dict(acc.metadata) if len(set(keys)) == len(keys) else [list(p) for p in acc.metadata]
    return {
        "name": acc.name,
        "description": acc.description,
        "technology": acc.technology,
        "clock_ghz": acc.clock_ghz,
        "metadata": metadata,
        "mac": _fields_dict(acc.mac),
        "levels": [_fields_dict(lv) for lv in acc.levels],
    }


# -- from dict: per-annotation checkers ----------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _names(v: Any) -> frozenset[str] | None:
    if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
        return frozenset(v)
    return None


# annotation string -> (converter returning the value or None when invalid, rule text)
_CHECKERS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "str": (lambda v: v if isinstance(v, str) else None, "must be a string"),
    "str | None": (lambda v: v if v is None or isinstance(v, str) else None, "must be a string or null"),
    "int": (lambda v: v if _is_int(v) else None, "must be an integer"),
    "int | None": (lambda v: v if v is None or _is_int(v) else None, "must be an integer or null"),
    "float": (lambda v: v if _is_number(v) else None, "must be a number"),
    "float | None": (lambda v: v if v is None or _is_number(v) else None, "must be a number or null"),
    "bool": (lambda v: v if isinstance(v, bool) else None, "must be true or false"),
    "frozenset[str]": (_names, "must be a list of names"),
}
_NULLABLE = {"int | None", "float | None", "str | None"}


def _read_fields(cls: type, data: Any, path: str, problems: list[str]) -> dict[str, Any] | None:
    """Type-checked field values of ``cls`` from ``data``. Bad or missing values get defaults."""
    if not isinstance(data, dict):
        problems.append(f"{path}: must be a mapping, got {type(data).__name__} {data!r}")
        return None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in data if k not in fields)
    if unknown:
        problems.append(f"{path}: unknown key(s) {unknown}, valid: {list(fields)}")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        if name not in data:
            if not has_default:
                problems.append(f"{path}.{name}: required, got nothing")
            values[name] = default
            continue
        convert, rule = _CHECKERS.get(str(f.type), (lambda x: x, ""))
        v = data[name]
        converted = convert(v)
        if converted is None and not (v is None and str(f.type) in _NULLABLE):
            problems.append(f"{path}.{name}: {rule}, got {v!r}")
            converted = default
        values[name] = converted
    return values


def _level(data: Any, path: str, problems: list[str]) -> MemoryLevel | None:
    values = _read_fields(MemoryLevel, data, path, problems)
    if values is None:
        return None
    n_before = len(problems)
    draft = object.__new__(MemoryLevel)  # unvalidated, to collect problems under our path
    for name, v in values.items():
        object.__setattr__(draft, name, v)
    problems.extend(draft.problems(path))
    return MemoryLevel(**values) if len(problems) == n_before else None


def _mac(data: Any, path: str, problems: list[str]) -> MacUnit | None:
    values = _read_fields(MacUnit, data, path, problems)
    if values is None:
        return None
    try:
        return MacUnit(**values)
    except SpecError as e:
        problems.extend(f"{path}{p[len('mac'):]}" if p.startswith("mac") else f"{path}: {p}"
                        for p in e.problems)
        return None


def _metadata(data: Any, path: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    pairs = list(data.items()) if isinstance(data, dict) else data
    if not isinstance(pairs, list) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):
        problems.append(f"{path}: must be a mapping of names to text, got {data!r}")
        return ()
    out = []
    for k, v in pairs:
        if not isinstance(k, str) or not isinstance(v, (str, int, float, bool)):
            problems.append(f"{path}.{k}: must map a name to text, got {v!r}")
        else:
            out.append((k, str(v)))
    return tuple(out)


def _looks_like_zigzag(data: Any) -> bool:
    return isinstance(data, dict) and "memories" in data and "operational_array" in data


def accelerator_from_dict(data: Any, path: str = "accelerator") -> Accelerator:
    """Build an :class:`Accelerator` from :func:`accelerator_to_dict`'s format.

    Raises:
        InteropError: ``data`` is a ZigZag accelerator description.
        SpecError: listing every problem found, each with its field path under ``path``.
    """
    if _looks_like_zigzag(data):
        raise InteropError(f"{path}: this looks like a ZigZag accelerator (top-level 'memories' and "
                           "'operational_array'); load it with coexplore.interop.zigzag.accelerator_from_zigzag "
                           "(the CLI does this for you)")
    problems: list[str] = []
    if not isinstance(data, dict):
        raise SpecError(f"{path}: must be a mapping, got {type(data).__name__} {data!r}")
    valid = ["name", "description", "technology", "clock_ghz", "metadata", "mac", "levels"]
    unknown = sorted(str(k) for k in data if k not in valid)
    if unknown:
        problems.append(f"{path}: unknown key(s) {unknown}, valid: {valid}")
    for key in ("name", "mac", "levels"):
        if key not in data:
            problems.append(f"{path}.{key}: required, got nothing")
    for key in ("name", "description", "technology"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{path}.{key}: must be a string, got {data[key]!r}")
    clock = data.get("clock_ghz", 1.0)
    if not _is_number(clock) or clock <= 0:
        problems.append(f"{path}.clock_ghz: must be > 0, got {clock!r}")
    metadata = _metadata(data.get("metadata", {}) or {}, f"{path}.metadata", problems)
    mac = _mac(data["mac"], f"{path}.mac", problems) if "mac" in data else None
    raw_levels = data.get("levels")
    levels: list[MemoryLevel | None] = []
    if "levels" in data and (not isinstance(raw_levels, list) or not raw_levels):
        problems.append(f"{path}.levels: must be a non-empty list (innermost first), got {raw_levels!r}")
    elif isinstance(raw_levels, list):
        levels = [_level(lv, f"{path}.levels[{i}]", problems) for i, lv in enumerate(raw_levels)]
    if problems:
        raise SpecError(problems)
    assert mac is not None and all(lv is not None for lv in levels)
    try:
        return Accelerator(
            name=data["name"], levels=tuple(lv for lv in levels if lv is not None), mac=mac, clock_ghz=clock,
            technology=data.get("technology", "45nm"), description=data.get("description", ""),
            metadata=metadata,
        )
    except SpecError as e:
        raise SpecError([path + p[len("accelerator"):] if p.startswith("accelerator") else f"{path}: {p}"
                         for p in e.problems]) from None


# -- files ---------------------------------------------------------------------------------
def save_accelerator_yaml(acc: Accelerator, path: str | Path) -> Path:
    """Write ``acc`` as YAML to ``path`` (parent folders are created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(accelerator_to_dict(acc), sort_keys=False, default_flow_style=None, width=100)
    path.write_text(f"# coexplore accelerator: {acc.name} (levels innermost first)\n{text}", encoding="utf-8")
    return path


def read_text(path: str | Path, what: str = "file") -> str:
    """A user's text file as UTF-8: a missing, unreadable or binary file raises :class:`SpecError`
    naming the file and ``what`` it was meant to be (a network file, a mapping file, ...)."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a directory, not a {what}") from None
    except UnicodeDecodeError as e:
        raise SpecError(f"{path}: not a text {what} (byte 0x{e.object[e.start]:02x} at offset {e.start} "
                        f"is not UTF-8)") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot read the {what}: {e.strerror or e}") from None
    except ValueError as e:  # a path the OS cannot take, e.g. with a NUL byte
        raise SpecError(f"{str(path)!r}: not a usable path for a {what}: {e}") from None


def read_yaml(path: str | Path, what: str = "file") -> Any:
    """Parse a YAML file. A missing file or bad YAML raises :class:`SpecError` naming the file and line."""
    path = Path(path)
    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else str(path)
        what = getattr(e, "problem", None) or str(e)
        raise SpecError(f"{where}: malformed YAML: {what}") from None


def load_accelerator_yaml(path: str | Path) -> Accelerator:
    """Read an accelerator written by :func:`save_accelerator_yaml` (or by hand in that format).

    Problems are reported as ``FILE: accelerator.levels[i].field: rule, got value``.
    """
    data = read_yaml(path, "accelerator file")
    try:
        return accelerator_from_dict(data)
    except SpecError as e:
        raise type(e)([f"{path}: {p}" for p in e.problems]) from None
