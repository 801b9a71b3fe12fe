"""``study export``: a study's trials as a table in a CSV or JSON file, for pandas or a spreadsheet.

One row per trial, in trial order, with the columns ``number, state``, one per objective (its
stored value, in the objective's own sense), one per parameter (``params.KEY``; a mapping of
parameters gives ``params.KEY.SUBKEY``), then ``error`` (why a trial is FAILED or INFEASIBLE,
empty for a COMPLETE one) and ``seconds``. A CSV holds a list parameter (the raw vector ``x``)
as JSON text; the JSON file is the list of rows, lists kept as lists. Non-finite values and
parameters a trial lacks are empty cells (``null`` in JSON).

The output path is checked before the study is read, and the file appears whole or not at all
(written beside it, then renamed).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from coexplore.errors import SpecError
from coexplore.study.storage import open_storage

__all__ = ["EXPORT_FORMATS", "check_export_path", "export_trials", "trial_rows"]

EXPORT_FORMATS = (".csv", ".json")


def check_export_path(out: str | Path) -> Path:
    """``out`` if it can be written: a known suffix, an existing writable directory, not a directory itself."""
    p = Path(out)
    if p.suffix.lower() not in EXPORT_FORMATS:
        raise SpecError(f"--out: must end in .csv or .json (the format), got {str(out)!r}")
    if p.is_dir():
        raise SpecError(f"--out: is a directory, got {str(out)!r}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise SpecError(f"--out: directory {str(parent)!r} does not exist, got {str(out)!r}")
    if not os.access(parent, os.W_OK):
        raise SpecError(f"--out: directory {str(parent)!r} is not writable, got {str(out)!r}")
    return p


def _flat(params: dict[str, Any], prefix: str = "params.") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _num(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def trial_rows(name: str, *, storage: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of study ``name``: the table described in the module docstring."""
    store = open_storage(storage, must_exist=True)
    try:
        info = store.study(name)
        trials = store.trials(name)
    finally:
        store.close()
    objectives = list(info.objectives)
    flats = [_flat(t.params) for t in trials]
    params: dict[str, None] = {}
    for f in flats:
        params.update(dict.fromkeys(f))
    rows = []
    for t, f in zip(trials, flats, strict=True):
        row: dict[str, Any] = {"number": t.number, "state": t.state.value}
        row.update({o: _num(float(v)) for o, v in zip(objectives, t.values, strict=False)})
        row.update({k: _num(f.get(k)) for k in params})
        row.update({"error": t.reason, "seconds": t.seconds})
        rows.append(row)
    return ["number", "state", *objectives, *params, "error", "seconds"], rows


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, allow_nan=False, default=str)
    return v


def export_trials(name: str, *, storage: str, out: str | Path) -> tuple[Path, int]:
    """Write the trials of study ``name`` to ``out`` (``.csv`` or ``.json``); (the path, rows written)."""
    path = check_export_path(out)
    columns, rows = trial_rows(name, storage=storage)
    if path.suffix.lower() == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([_csv_cell(r.get(c)) for c in columns])
        text = buf.getvalue()
    else:
        text = json.dumps([{c: r.get(c) for c in columns} for r in rows], indent=1, allow_nan=False,
                          default=str) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an open() would have made it, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path, len(rows)
