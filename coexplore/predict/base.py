"""The predictor protocol every model in ``coexplore.predict`` follows (scikit-learn style).

Hyper-parameters go to a keyword-only ``__init__`` that does no work; ``fit`` learns
state whose names end in ``_`` and returns ``self``; ``predict`` returns a (n,) array
in which a higher value means a higher target. Searches and the CLI depend only on
this, so any predictor can stand in for another.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np

from coexplore.errors import CoexploreError, SpecError
from coexplore.predict.features import ArchFeatures

__all__ = ["NotFittedError", "Predictor", "check_choice", "check_hyper", "check_target"]


class NotFittedError(CoexploreError, RuntimeError):
    """``predict`` (or another method needing learnt state) was called before ``fit``."""


class Predictor(ABC):
    """Base of the predictors: fit on features and targets, predict a score per architecture.

    Attributes:
        name: Registry name of the predictor.
        ranking_only: True if predictions are only ordered scores (no unit); then only
            rank metrics are meaningful (see :func:`coexplore.predict.metrics.ranking_metrics`).
    """

    name: ClassVar[str] = "predictor"
    ranking_only: ClassVar[bool] = False

    @abstractmethod
    def fit(self, features: ArchFeatures, y: np.ndarray) -> Self:
        """Learn from ``features`` (n architectures) and their targets ``y`` (n,); returns self."""

    @abstractmethod
    def predict(self, features: ArchFeatures) -> np.ndarray:
        """A float64 (n,) score per architecture; higher means a higher target."""

    @property
    def fitted(self) -> bool:
        """True once ``fit`` has run (or the predictor was built from a known table)."""
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters, as passed to ``__init__`` (for reports and for cloning)."""
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY}

    def set_params(self, **params: Any) -> Self:
        """Change hyper-parameters (e.g. ``reference_size`` of a fitted ranker); returns self."""
        valid = self.get_params()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise SpecError(f"{self.name}: unknown hyper-parameters {unknown}; valid: {', '.join(valid) or '(none)'}")
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise NotFittedError(f"{self.name} predictor: call fit() before predict()")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def check_target(features: ArchFeatures, y: np.ndarray, who: str) -> np.ndarray:
    """``y`` as a float64 (n,) array matching ``features``, or a SpecError naming the problem.

    Two architectures at least are needed: a single one defines neither a slope nor a ranking.
    """
    t = np.asarray(y, dtype=np.float64)
    if t.ndim != 1:
        raise SpecError(f"{who}.fit: y must be 1-D, got shape {t.shape}")
    if len(t) != len(features):
        raise SpecError(f"{who}.fit: y must have one value per architecture ({len(features)}), got {len(t)}")
    if len(t) < 2:
        raise SpecError(f"{who}.fit: needs at least 2 architectures, got {len(t)}")
    bad = int((~np.isfinite(t)).sum())
    if bad:
        raise SpecError(f"{who}.fit: y must be finite, got {bad} NaN/inf values")
    return t


def check_choice(who: str, field: str, value: str, choices: tuple[str, ...]) -> None:
    """A SpecError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise SpecError(f"{who}.{field}: must be one of {', '.join(choices)}, got {value!r}")


def check_hyper(who: str, *, positive: dict[str, float], fractions: dict[str, float] | None = None,
                seed: Any = 0) -> None:
    """A SpecError listing every hyper-parameter out of range: ``positive`` > 0, ``fractions`` in [0, 1),
    ``seed`` a non-negative integer."""
    bad = [f"{who}.{k}: must be > 0, got {v!r}" for k, v in positive.items() if not v > 0]
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        bad.append(f"{who}.seed: must be an integer >= 0, got {seed!r}")
    bad += [f"{who}.{k}: must be in [0, 1), got {v!r}" for k, v in (fractions or {}).items() if not 0 <= v < 1]
    if bad:
        raise SpecError(bad)
