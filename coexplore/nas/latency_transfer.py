"""Adapt a latency predictor to a new device from a few measured NB201 cells (``coexplore predictor adapt``).

Device tables are CSVs of the ``nb201_device_latency.csv`` form (the Pi 5 table, tables
written by ``coexplore measure``, or a user's own); every ``(device, framework)`` pair in
them is one known device. Only rows whose own network was timed (``arch_index ==
rep_arch_index``) are used, since the others copy a representative's measurement (data
README). The new device's samples are a CSV with ``arch_index`` and ``latency_ms`` (and
optionally ``rep_arch_index``). Every latency must be a positive number and every index an
NB201 index: a bad row is reported by file, row, column and value, never dropped.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.errors import DataError
from coexplore.nas.nb201 import NB201Space
from coexplore.nas.tables import NUM_ARCHS
from coexplore.predict.features import ArchFeatures
from coexplore.predict.selection import select_cells
from coexplore.predict.transfer import TransferPredictor

__all__ = ["AdaptedPredictor", "DeviceTable", "adapt_latency_predictor", "all_cell_features", "cells_to_measure",
           "pretrained_transfer", "read_device_samples", "read_device_tables", "representatives",
           "write_predicted_table"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceTable:
    """One device's timed cells: NB201 indices (each its own network) and latencies in ms."""

    name: str
    arch_index: np.ndarray
    latency_ms: np.ndarray


def _rows(path: Path, who: str, needed: Sequence[str]) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise DataError(f"{who} {str(path)!r}: file not found")
    from coexplore.spec.io import read_text

    with io.StringIO(read_text(path, who), newline="") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        missing = [c for c in needed if c not in columns]
        if missing:
            raise DataError(f"{who} {str(path)!r}: missing column(s) {', '.join(missing)}; "
                            f"columns: {', '.join(columns) or '(none)'}")
        return columns, list(reader)


def _parse_rows(path: Path, who: str, rows: list[tuple[int, dict[str, str]]]) -> tuple[np.ndarray, np.ndarray]:
    """(arch_index, latency_ms) of the rows whose own network was timed; every row is checked."""
    idx, lat, seen = [], [], set()
    for line, r in rows:
        where = f"{who} {str(path)!r} row {line}"
        try:
            i = int(r["arch_index"])
        except (TypeError, ValueError):
            raise DataError(f"{where}: arch_index must be an NB201 index (integer 0..{NUM_ARCHS - 1}), "
                            f"got {r['arch_index']!r}") from None
        if not 0 <= i < NUM_ARCHS:
            raise DataError(f"{where}: arch_index must be an NB201 index (0..{NUM_ARCHS - 1}), got {i}")
        rep_text = r.get("rep_arch_index") or str(i)
        try:
            rep = int(rep_text)
        except ValueError:
            raise DataError(f"{where}: rep_arch_index must be an NB201 index, got {rep_text!r}") from None
        if not 0 <= rep < NUM_ARCHS:
            raise DataError(f"{where}: rep_arch_index must be an NB201 index (0..{NUM_ARCHS - 1}), got {rep}")
        try:
            v = float(r["latency_ms"])
        except (TypeError, ValueError):
            raise DataError(f"{where}: latency_ms must be a number, got {r['latency_ms']!r}") from None
        if not (math.isfinite(v) and v > 0):
            raise DataError(f"{where}: latency_ms must be a positive finite number, got {v!r} (arch_index {i})")
        if i in seen:
            raise DataError(f"{where}: arch_index {i} appears twice for the same device")
        seen.add(i)
        if rep == i:
            idx.append(i)
            lat.append(v)
    return np.array(idx, dtype=np.int64), np.array(lat, dtype=np.float64)


def read_device_tables(paths: Sequence[str | Path]) -> list[DeviceTable]:
    """Every ``(device, framework)`` pair of the given device tables, named ``device/framework``.

    Raises:
        DataError: a missing file or column, a non-NB201 index, a latency <= 0 or not a
            number, an index twice for one device, or a device name given twice.
    """
    tables: list[DeviceTable] = []
    for p in map(Path, paths):
        _, rows = _rows(p, "device table", ("arch_index", "device", "framework", "latency_ms"))
        groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
        for line, r in enumerate(rows, start=2):
            groups.setdefault(f"{r['device']}/{r['framework']}", []).append((line, r))
        if not groups:
            raise DataError(f"device table {str(p)!r}: no rows")
        for name, grp in groups.items():
            if any(t.name == name for t in tables):
                raise DataError(f"device table {str(p)!r}: device {name!r} is also in another table")
            idx, lat = _parse_rows(p, "device table", grp)
            tables.append(DeviceTable(name=name, arch_index=idx, latency_ms=lat))
    return tables


def read_device_samples(path: str | Path, *, framework: str | None = None, name: str = "new device") -> DeviceTable:
    """The new device's measured cells: ``arch_index`` and ``latency_ms`` (rows of ``framework`` if given)."""
    p = Path(path)
    columns, rows = _rows(p, "device samples", ("arch_index", "latency_ms"))
    numbered = list(enumerate(rows, start=2))
    if framework is not None:
        if "framework" not in columns:
            raise DataError(f"device samples {str(p)!r}: --framework given but the file has no 'framework' column")
        numbered = [(line, r) for line, r in numbered if r["framework"] == framework]
    if not numbered:
        raise DataError(f"device samples {str(p)!r}: no rows" + (f" with framework={framework!r}" if framework else ""))
    idx, lat = _parse_rows(p, "device samples", numbered)
    return DeviceTable(name=name, arch_index=idx, latency_ms=lat)


@functools.cache
def all_cell_features(dataset: str = "cifar100") -> ArchFeatures:
    """Predictor features of every NB201 cell, in index order (computed once per dataset)."""
    space = NB201Space(dataset=dataset)
    return space.features(list(space.all_cells()))


@functools.cache
def representatives() -> np.ndarray:
    """NB201 indices of the isomorphism representatives (lowest index of each class): 6,466 cells."""
    seen: set[str] = set()
    out = []
    for i, cell in enumerate(NB201Space.all_cells()):
        key = cell.unique_str()
        if key not in seen:
            seen.add(key)
            out.append(i)
    return np.array(out, dtype=np.int64)


def pretrained_transfer(tables: Sequence[DeviceTable], *, dataset: str = "cifar100",
                        **hyper: Any) -> TransferPredictor:
    """A :class:`TransferPredictor` pre-trained on ``tables`` (the known devices)."""
    feats = all_cell_features(dataset)
    return TransferPredictor(**hyper).pretrain([(t.name, feats.take(t.arch_index), t.latency_ms) for t in tables])


@dataclass(frozen=True, slots=True, kw_only=True)
class AdaptedPredictor:
    """A transfer predictor adapted to a new device, with what it learnt."""

    predictor: TransferPredictor
    sources: tuple[str, ...]
    samples: int
    dataset: str

    def predict(self, arch_index: Sequence[int] | np.ndarray) -> np.ndarray:
        """Predicted latency (ms) of the given NB201 cells on the new device."""
        return self.predictor.predict(all_cell_features(self.dataset).take(np.asarray(arch_index, dtype=np.int64)))

    def predict_interval(self, arch_index: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ends of the prediction interval (ms), see :meth:`TransferPredictor.predict_interval`."""
        feats = all_cell_features(self.dataset).take(np.asarray(arch_index, dtype=np.int64))
        return self.predictor.predict_interval(feats)

    def to_record(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "samples": self.samples, **self.predictor.summary()}


def adapt_latency_predictor(from_tables: Sequence[str | Path], samples: DeviceTable, *, dataset: str = "cifar100",
                            **hyper: Any) -> AdaptedPredictor:
    """Pre-train on the device tables ``from_tables``, then adapt to the measured ``samples`` of a new device.

    Raises:
        DataError: a bad table (see :func:`read_device_tables`).
        SpecError: fewer samples than the predictor needs (``min_samples``, 5 by default).
    """
    tables = read_device_tables(from_tables)
    model = pretrained_transfer(tables, dataset=dataset, **hyper)
    model.fit(all_cell_features(dataset).take(samples.arch_index), samples.latency_ms)
    return AdaptedPredictor(predictor=model, sources=tuple(t.name for t in tables), samples=len(samples.arch_index),
                            dataset=dataset)


def cells_to_measure(from_tables: Sequence[str | Path], count: int, *, strategy: str = "diverse", seed: int = 0,
                     dataset: str = "cifar100") -> np.ndarray:
    """NB201 indices of ``count`` isomorphism representatives to measure on a new device (see :mod:`selection`)."""
    tables = read_device_tables(from_tables) if from_tables else []
    sources = pretrained_transfer(tables, dataset=dataset).sources if tables else ()
    reps = representatives()
    pos = select_cells(all_cell_features(dataset).take(reps), count, strategy=strategy, seed=seed, sources=sources)
    return reps[pos]


def write_predicted_table(adapted: AdaptedPredictor, path: str | Path, *, device: str = "adapted",
                          framework: str = "predicted") -> Path:
    """Every NB201 cell's predicted latency as a device table (``coexplore nas --latency-file``).

    The columns are those of ``nb201_device_latency.csv`` (``latency_var`` and ``energy_mj``
    ``nan``, each cell its own representative) plus ``latency_ms_low`` / ``latency_ms_high``,
    the prediction interval.
    """
    from coexplore.nas.measure import CSV_COLUMNS

    idx = np.arange(NUM_ARCHS)
    pred = adapted.predict(idx)
    lo, hi = adapted.predict_interval(idx)
    p = Path(path)
    with p.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*CSV_COLUMNS, "latency_ms_low", "latency_ms_high"])
        w.writerows([int(i), device, framework, "cifar100", repr(float(v)), "nan", "nan", int(i), repr(float(a)),
                     repr(float(b))] for i, v, a, b in zip(idx, pred, lo, hi, strict=True))
    return p
