"""Closed-form baselines: linear in FLOPs or parameters, and a layer-wise lookup table.

These are the references a learnt predictor must beat (BRP-NAS compares against both):
a FLOPs proxy ignores how operations are wired, and a lookup table ("sum of per-layer
latencies") ignores how they interact on the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self

import numpy as np

from coexplore.errors import SpecError
from coexplore.optional import require
from coexplore.predict.base import Predictor, check_target
from coexplore.predict.features import ArchFeatures

__all__ = ["FlopsPredictor", "LutPredictor", "ParamsPredictor"]


class _LinearProxy(Predictor):
    """``y ~ slope_ * proxy + intercept_`` by least squares on one scalar feature."""

    field: ClassVar[str] = ""

    def __init__(self) -> None:
        pass

    def fit(self, features: ArchFeatures, y: np.ndarray) -> Self:
        t = check_target(features, y, self.name)
        x = features.require(self.field, self.name).astype(np.float64)
        # Centre and scale x so that the solve is well conditioned for FLOPs ~ 1e8.
        mu, sd = float(x.mean()), float(x.std()) or 1.0
        design = np.stack([(x - mu) / sd, np.ones_like(x)], axis=1)
        (a, b), *_ = np.linalg.lstsq(design, t, rcond=None)
        self.slope_ = float(a / sd)
        self.intercept_ = float(b - a * mu / sd)
        return self

    def predict(self, features: ArchFeatures) -> np.ndarray:
        self._check_fitted()
        x = features.require(self.field, self.name).astype(np.float64)
        return self.slope_ * x + self.intercept_


class FlopsPredictor(_LinearProxy):
    """Linear fit on the multiply-accumulate count: the usual proxy for latency."""

    name = "flops"
    field = "flops"


class ParamsPredictor(_LinearProxy):
    """Linear fit on the parameter count."""

    name = "params"
    field = "params"


class LutPredictor(Predictor):
    """Layer-wise lookup table: one non-negative latency per operation kind plus a fixed part.

    ``predict = op_counts @ lut_ + intercept_``. Fitting solves a non-negative least
    squares problem, because a latency cannot be negative and an unconstrained fit would
    trade costs between correlated operation kinds. :meth:`from_table` builds the
    predictor from a table measured operation by operation instead.

    Attributes:
        lut_: float64 (T,), the cost of one occurrence of each operation kind.
        intercept_: the cost every architecture pays (stem, head, framework overhead).
        op_names_: the T operation kinds, as in ``ArchFeatures.op_names`` (may be empty).
    """

    name = "lut"

    def __init__(self) -> None:
        pass

    @classmethod
    def from_table(cls, op_names: Sequence[str], latencies: Sequence[float] | np.ndarray,
                   intercept: float = 0.0) -> LutPredictor:
        """A fitted predictor from known per-operation costs.

        Args:
            op_names: the operation kinds, matched against ``ArchFeatures.op_names``.
            latencies: one cost per kind, in the unit of the target.
            intercept: the fixed cost of every architecture.

        Raises:
            SpecError: lengths differ, names repeat, or a value is not finite.
        """
        lat = np.asarray(latencies, dtype=np.float64)
        names = tuple(op_names)
        problems = []
        if lat.shape != (len(names),):
            problems.append(f"LutPredictor.from_table.latencies: must hold one value per op name "
                            f"({len(names)}), got shape {lat.shape}")
        if len(set(names)) != len(names):
            problems.append(f"LutPredictor.from_table.op_names: must be distinct, got {list(names)}")
        if not np.isfinite(lat).all() or not np.isfinite(intercept):
            problems.append("LutPredictor.from_table: latencies and intercept must be finite")
        if problems:
            raise SpecError(problems)
        lut = cls()
        lut.lut_, lut.intercept_, lut.op_names_ = lat, float(intercept), names
        return lut

    def fit(self, features: ArchFeatures, y: np.ndarray) -> Self:
        nnls = require("scipy.optimize", who=self.name).nnls

        t = check_target(features, y, self.name)
        counts = features.require("op_counts", self.name).astype(np.float64)
        design = np.concatenate([counts, np.ones((len(counts), 1))], axis=1)
        # Scale columns to unit norm so that nnls converges on counts of very different sizes.
        norms = np.linalg.norm(design, axis=0)
        norms[norms == 0] = 1.0
        coef, _ = nnls(design / norms, t, maxiter=50 * design.shape[1])
        coef = coef / norms
        self.lut_ = coef[:-1]
        self.intercept_ = float(coef[-1])
        self.op_names_ = tuple(features.op_names)
        return self

    def predict(self, features: ArchFeatures) -> np.ndarray:
        self._check_fitted()
        counts = features.require("op_counts", self.name).astype(np.float64)
        if counts.shape[1] != len(self.lut_):
            raise SpecError(f"lut.predict: op_counts must have the table's {len(self.lut_)} columns, "
                            f"got {counts.shape[1]}")
        if self.op_names_ and features.op_names and tuple(features.op_names) != self.op_names_:
            raise SpecError(f"lut.predict: op_names must be the table's {list(self.op_names_)}, "
                            f"got {list(features.op_names)}")
        return counts @ self.lut_ + self.intercept_

    def table(self) -> dict[str, float]:
        """The lookup table as ``{op name: cost}`` (kinds named ``op<i>`` when unnamed)."""
        self._check_fitted()
        names = self.op_names_ or tuple(f"op{i}" for i in range(len(self.lut_)))
        return dict(zip(names, map(float, self.lut_)))
