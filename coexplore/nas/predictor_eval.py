"""Fit a predictor on one CSV of NAS-Bench-201 networks and score it on another.

The CSVs need an ``arch_index`` column (NB201 index) and the target column; any other
columns are ignored, so the device table itself, or any split of it, works. When a
``rep_arch_index`` column is present (the device tables have one), the features are
those of the representative network, because that is the network that was timed: a
table that copies one measurement to a whole isomorphism class otherwise asks the
predictor to give different graphs the same latency (see the data README).
"""

from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.errors import DataError
from coexplore.nas.nb201 import NB201Space
from coexplore.predict import make_predictor, ranking_metrics

__all__ = ["PredictorScore", "evaluate_predictor", "read_target_csv"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetTable:
    """Rows of a target CSV: the NB201 index to featurise, and the target value."""

    path: str
    arch_index: np.ndarray
    feature_index: np.ndarray
    target: np.ndarray


def read_target_csv(path: str | Path, target: str, *, framework: str | None = None) -> TargetTable:
    """Read ``arch_index``, ``target`` (and ``rep_arch_index`` if present) from ``path``.

    Args:
        framework: Keep only rows whose ``framework`` column equals it (device tables hold
            several frameworks); None keeps all rows, which must then have distinct indices.

    Raises:
        DataError: a missing file or column, an empty selection, or a value that is not a number.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"predictor CSV {str(p)!r}: file not found")
    from coexplore.spec.io import read_text

    with io.StringIO(read_text(p, "predictor CSV"), newline="") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        missing = [c for c in ("arch_index", target) if c not in columns]
        if missing:
            raise DataError(f"predictor CSV {str(p)!r}: no column {', '.join(map(repr, missing))}; "
                            f"columns: {', '.join(columns)}")
        rows = list(reader)
    if framework is not None:
        if "framework" not in columns:
            raise DataError(f"predictor CSV {str(p)!r}: --framework given but the file has no 'framework' column")
        rows = [r for r in rows if r["framework"] == framework]
    if not rows:
        raise DataError(f"predictor CSV {str(p)!r}: no rows" + (f" with framework={framework!r}" if framework else ""))
    n_arch = len(NB201Space.all_cells())
    idx, rep, y = [], [], []
    for line, r in enumerate(rows, start=2):
        try:
            i = int(r["arch_index"])
            v = float(r[target])
            j = int(r["rep_arch_index"]) if r.get("rep_arch_index") not in (None, "") else i
        except ValueError:
            raise DataError(f"predictor CSV {str(p)!r} row {line}: arch_index / {target} must be numbers, got "
                            f"{r.get('arch_index')!r} / {r.get(target)!r}") from None
        if not (0 <= i < n_arch and 0 <= j < n_arch) or not math.isfinite(v):
            raise DataError(f"predictor CSV {str(p)!r} row {line}: arch_index must be in 0..{n_arch - 1} and "
                            f"{target} finite, got {i} / {v}")
        idx.append(i)
        rep.append(j)
        y.append(v)
    if len(set(idx)) != len(idx):
        raise DataError(f"predictor CSV {str(p)!r}: arch_index repeats; give --framework to pick one framework")
    return TargetTable(path=str(p), arch_index=np.array(idx), feature_index=np.array(rep), target=np.array(y))


@dataclass(frozen=True, slots=True, kw_only=True)
class PredictorScore:
    """Test-set metrics of one fitted predictor (``coexplore predictor evaluate --json``)."""

    predictor: str
    target: str
    train: int
    test: int
    metrics: dict[str, float | None]
    fit_seconds: float
    predict_seconds: float

    def to_record(self) -> dict[str, Any]:
        """The JSON record of ``coexplore predictor evaluate --json`` (DESIGN.md)."""
        return self.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {**self.metrics, "predictor": self.predictor, "target": self.target, "train": self.train,
                "test": self.test, "fit_seconds": self.fit_seconds, "predict_seconds": self.predict_seconds}


def evaluate_predictor(name: str, train: str | Path | TargetTable, test: str | Path | TargetTable, target: str, *,
                       seed: int = 0, dataset: str = "cifar100", framework: str | None = None,
                       **hyper: Any) -> PredictorScore:
    """Fit predictor ``name`` on ``train`` and report Spearman, Kendall, MAPE and the +-5/10 % shares on ``test``."""
    tr = train if isinstance(train, TargetTable) else read_target_csv(train, target, framework=framework)
    te = test if isinstance(test, TargetTable) else read_target_csv(test, target, framework=framework)
    space = NB201Space(dataset=dataset)
    cells = space.all_cells()
    model = make_predictor(name, seed=seed, **hyper)
    t0 = time.perf_counter()
    model.fit(space.features([cells[i] for i in tr.feature_index]), tr.target)
    t1 = time.perf_counter()
    pred = model.predict(space.features([cells[i] for i in te.feature_index]))
    t2 = time.perf_counter()
    metrics = ranking_metrics(te.target, pred, ranking_only=bool(getattr(model, "ranking_only", False)))
    return PredictorScore(predictor=name, target=target, train=len(tr.target), test=len(te.target), metrics=metrics,
                          fit_seconds=t1 - t0, predict_seconds=t2 - t1)
