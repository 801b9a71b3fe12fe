"""NAS-Bench-201 cells under analog in-memory computing noise: the AnalogNAS-Bench table.

AnalogNAS-Bench (Benmeziane et al., "AnalogNAS-Bench: A NAS Benchmark for Analog
In-Memory Computing", arXiv:2506.18495, 2025; the PyPI package ``analog-nasbench``)
holds CIFAR-10 test accuracies of all 15,625 NAS-Bench-201 cells trained digitally
(200 epochs), quantised, and simulated on a phase-change-memory (PCM) crossbar with
IBM's AIHWKit: ``PCMLikeNoiseModel`` (programming noise, read noise and conductance
drift of PCM devices, g_max 25 uS), 8-bit inputs and outputs, output noise 0.04,
global drift compensation. Column meanings (:data:`COLUMNS`) follow the paper and the
package repository's training script (IBM/analog-nas, ``analognasbench/training_script.py``),
whose names differ from the package's: its ``analog_accuracy`` is the package's
``noisy_accuracy``, its ``finetuned_*`` the package's ``analog_*``. The package declares no
licence, so coexplore never ships its data: it is read at run time from the installed
package (extra ``cim``).

Keys. The package indexes a cell by a 6-tuple of operation indices in NASLib's
convention, which is not NAS-Bench-201's cell-string order:

* edge order (from, to): 0->1, 0->2, 0->3, 1->2, 1->3, 2->3 (NASLib's edge list);
* operation index: 0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3
  (NASLib names them Identity, Zero, ReLUConvBN3x3, ReLUConvBN1x1, AvgPool1x1; the last
  is NB201's 3x3 average pool).

:func:`package_key` maps a coexplore :class:`~coexplore.nas.nb201.Cell` to that tuple. The
mapping is checked against the shipped 12-epoch CIFAR-10 column (Spearman 0.88 for the
clean accuracy, the best of all 86,400 readings of the keys; ``benchmarks/bench_analog_nb201.py``),
and the tests check a few cells read by hand with the package's own API.

The data file is a pickle of the package's own record classes. It is read with an
unpickler that admits only those two record classes (as plain attribute holders), so
loading it neither runs package code (which imports the removed ``pkg_resources``) nor
anything else a pickle could name.
"""

from __future__ import annotations

import functools
import importlib.util
import pickle
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.errors import DataError, MissingDependencyError, SpecError
from coexplore.nas.nb201 import EDGES, Cell

__all__ = ["COLUMNS", "DRIFT_SECONDS", "PACKAGE", "PACKAGE_OPS", "AnalogTable", "AnalogTableEvaluator", "cell_of_key",
           "check_column", "load_analog_table", "package_key"]

PACKAGE = "analog-nasbench"
_MODULE = "analognasbench"
_DATA_FILE = "data.anb"
#: Operation names in the package's (NASLib's) index order.
PACKAGE_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: Edges in the package's (NASLib's) key order.
PACKAGE_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_EDGE_OF_POSITION = tuple(EDGES.index(e) for e in PACKAGE_EDGES)
#: Drift times of the table, seconds after programming (1 minute, 1 hour, 1 day, 30 days).
DRIFT_SECONDS = (60, 3600, 86400, 2592000)

_DRIFT_HELP = ("programmed on the crossbar (PCM programming noise), drifted to {t} s and drift-compensated; "
               "mean of 25 noise draws (spread: AnalogTable.spread)")
#: Column -> meaning. Every column is CIFAR-10 test accuracy in percent.
COLUMNS: dict[str, str] = {
    "baseline_accuracy": "digital FP32 network trained 200 epochs (mean of 25 test passes)",
    "ptq_accuracy": "the baseline network after int8 post-training quantization (PyTorch, x86 qconfig)",
    "qat_accuracy": "the baseline network after 20 epochs of int8 quantization-aware training",
    "noisy_accuracy": "the baseline network mapped unchanged onto the simulated PCM crossbar (8-bit I/O, "
                      "output noise), before drift: accuracy under variation without variation-aware training",
    "analog_accuracy": "the network after hardware-aware training on the crossbar (weight noise injected), "
                       "evaluated there: variation-aware training",
    **{f"baseline_drift_{t}": "the baseline network " + _DRIFT_HELP.format(t=t) for t in DRIFT_SECONDS},
    **{f"analog_drift_{t}": "the hardware-aware-trained network " + _DRIFT_HELP.format(t=t) for t in DRIFT_SECONDS},
}
_SCALAR_COLUMNS = ("baseline_accuracy", "ptq_accuracy", "qat_accuracy", "noisy_accuracy", "analog_accuracy")


def package_key(cell: Cell) -> tuple[int, ...]:
    """The package's key of ``cell``: operation indices (PACKAGE_OPS) in the package's edge order."""
    return tuple(PACKAGE_OPS.index(cell.ops[e]) for e in _EDGE_OF_POSITION)


def cell_of_key(key: tuple[int, ...]) -> Cell:
    """The cell of a package key (inverse of :func:`package_key`)."""
    if len(key) != 6 or any(not isinstance(k, (int, np.integer)) or not 0 <= k < len(PACKAGE_OPS) for k in key):
        raise SpecError(f"analog table key: must be 6 operation indices in 0..{len(PACKAGE_OPS) - 1}, got {key!r}")
    ops = [""] * 6
    for pos, e in enumerate(_EDGE_OF_POSITION):
        ops[e] = PACKAGE_OPS[key[pos]]
    return Cell(tuple(ops))


class _Record:
    """Attribute holder standing in for the package's record classes while unpickling."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class _TableUnpickler(pickle.Unpickler):
    """Admits only the package's two record classes; anything else in the file is an error."""

    def find_class(self, module: str, name: str) -> Any:
        if module == f"{_MODULE}.data" and name in ("Architecture", "DriftMeasurement"):
            return _Record
        raise DataError(f"analog table: unexpected object {module}.{name} in the {PACKAGE} data file")


def _data_path() -> Path:
    spec = importlib.util.find_spec(_MODULE)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"the AnalogNAS-Bench table needs the {PACKAGE} package: "
                                     "pip install 'coexplore[cim]'")
    path = Path(next(iter(spec.submodule_search_locations))) / _DATA_FILE
    if not path.is_file():
        raise DataError(f"analog table: {str(path)!r} missing from the installed {PACKAGE}; reinstall it "
                        "(pip install 'coexplore[cim]')")
    return path


@dataclass(frozen=True, slots=True, eq=False)
class AnalogTable:
    """Every column of the table as an array by NB201 index (percent), and the drift spreads."""

    values: dict[str, np.ndarray]
    spreads: dict[str, np.ndarray]

    def column(self, name: str) -> np.ndarray:
        """Column ``name`` (CIFAR-10 test accuracy, percent) by NB201 index; see :data:`COLUMNS`."""
        return self.values[check_column(name)]

    def spread(self, name: str) -> np.ndarray:
        """Standard deviation over the 25 noise draws of drift column ``name`` (percentage points)."""
        check_column(name)
        if name not in self.spreads:
            valid = ", ".join(self.spreads)
            raise SpecError(f"analog table column: {name!r} is a single value without a spread; "
                            f"columns with one: {valid}")
        return self.spreads[name]


def check_column(name: str) -> str:
    """``name`` if it is a column of the table; otherwise a SpecError listing the columns."""
    if name not in COLUMNS:
        raise SpecError(f"analog table column: must be one of {', '.join(COLUMNS)}, got {name!r}")
    return name


@functools.cache
def load_analog_table() -> AnalogTable:
    """The installed package's table, in NB201 index order (cached; about 1 s the first time).

    Raises:
        MissingDependencyError: ``analog-nasbench`` is not installed (names the ``cim`` extra).
        DataError: the data file is missing or does not hold the 15,625 cells.
    """
    from coexplore.nas.nb201 import NB201Space

    with _data_path().open("rb") as f:
        raw = _TableUnpickler(f).load()
    cells = NB201Space.all_cells()
    if not isinstance(raw, dict) or len(raw) != len(cells):
        raise DataError(f"analog table: expected {len(cells)} cells in the {PACKAGE} data file, "
                        f"got {len(raw) if isinstance(raw, dict) else type(raw).__name__}")
    values = {c: np.empty(len(cells)) for c in COLUMNS}
    spreads = {c: np.empty(len(cells)) for c in COLUMNS if c not in _SCALAR_COLUMNS}
    for i, cell in enumerate(cells):
        key = package_key(cell)
        rec = raw.get(key)
        if rec is None:
            raise DataError(f"analog table: no row for cell {cell} (key {key}) in the {PACKAGE} data file")
        for c in COLUMNS:
            v = getattr(rec, c)
            if c in spreads:
                values[c][i], spreads[c][i] = v.value, v.uncertainty
            else:
                values[c][i] = v
    for arr in (*values.values(), *spreads.values()):
        arr.flags.writeable = False
    return AnalogTable(values=values, spreads=spreads)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AnalogTableEvaluator:
    """An accuracy evaluator (percent) reading one column of the AnalogNAS-Bench table.

    With ``column="noisy_accuracy"`` a search maximises accuracy under PCM variation
    (variation-aware search); with ``"baseline_accuracy"`` it maximises clean accuracy.
    """

    space: Any
    column: str = "noisy_accuracy"
    _acc: np.ndarray = dataclass_field(init=False, repr=False)

    def __post_init__(self) -> None:
        from coexplore.nas.nb201 import NB201Space

        check_column(self.column)
        if not isinstance(self.space, NB201Space):
            raise SpecError(f"AnalogTableEvaluator.space: the table covers only NAS-Bench-201 cells, "
                            f"got space {getattr(self.space, 'name', self.space)!r}")
        object.__setattr__(self, "_acc", load_analog_table().column(self.column))

    @property
    def name(self) -> str:
        return f"analognas-bench:cifar10/{self.column}"

    def evaluate(self, archs: Any) -> np.ndarray:
        return self._acc[np.array([self.space.index(a) for a in archs], dtype=np.int64)]

    def all(self) -> np.ndarray:
        """The column for every cell, by NB201 index."""
        return self._acc
