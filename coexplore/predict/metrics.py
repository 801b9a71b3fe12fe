"""How well a predictor ranks and how close its values are: the figures NAS predictor papers report.

Rank correlations (Spearman, Kendall tau-b) are what a search needs, since it only
compares candidates; relative errors (MAPE, share within +-5 % / +-10 %) are what a
latency or energy model is judged on (BRP-NAS, Eagle). A ranking-only predictor (the
binary relation predictor) outputs scores on no unit, so its error figures are None
(JSON null) rather than numbers that look meaningful and are not.
"""

from __future__ import annotations

import numpy as np

from coexplore.errors import SpecError
from coexplore.optional import require

__all__ = ["METRIC_NAMES", "error_metrics", "ranking_metrics"]

#: The keys of :func:`ranking_metrics`, in the order reports print them.
METRIC_NAMES: tuple[str, ...] = ("spearman", "kendall", "mape", "within_5pct", "within_10pct")


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    problems = []
    if t.ndim != 1:
        problems.append(f"y_true: must be 1-D, got shape {t.shape}")
    if p.ndim != 1:
        problems.append(f"y_pred: must be 1-D, got shape {p.shape}")
    if not problems and t.shape != p.shape:
        problems.append(f"y_pred: must have the length of y_true ({len(t)}), got {len(p)}")
    if not problems and len(t) < 2:
        problems.append(f"y_true: rank metrics need at least 2 values, got {len(t)}")
    for name, a in (("y_true", t), ("y_pred", p)):
        if not problems and not np.isfinite(a).all():
            problems.append(f"{name}: must be finite, got {int((~np.isfinite(a)).sum())} NaN/inf values")
    if problems:
        raise SpecError(problems)
    return t, p


def _correlation(value: float) -> float | None:
    # A constant input has no ranking: scipy returns NaN, which is not valid JSON.
    return None if not np.isfinite(value) else float(value)


def error_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Relative errors of predictions against true values.

    Args:
        y_true: (n,) true values, none of them zero (errors are relative to them).
        y_pred: (n,) predictions in the unit of ``y_true``.

    Returns:
        ``mape`` (mean absolute percentage error, in percent) and ``within_5pct`` /
        ``within_10pct``, the fraction in [0, 1] of predictions with
        ``|pred - true| / |true| <= 0.05`` (resp. 0.10).

    Raises:
        SpecError: shapes differ, values are not finite, or a true value is zero.
    """
    t, p = _pair(y_true, y_pred)
    zeros = int((t == 0).sum())
    if zeros:
        raise SpecError(f"y_true: relative errors need non-zero true values, got {zeros} zeros "
                        "(use ranking_only=True for rank metrics alone)")
    rel = np.abs(p - t) / np.abs(t)
    # A tolerance of a few ulps keeps hand-made boundary cases (1.1 vs 1.0) inside the band.
    eps = 1e-12
    return {
        "mape": float(100.0 * rel.mean()),
        "within_5pct": float((rel <= 0.05 + eps).mean()),
        "within_10pct": float((rel <= 0.10 + eps).mean()),
    }


def ranking_metrics(y_true: np.ndarray, y_pred: np.ndarray, *, ranking_only: bool = False) -> dict[str, float | None]:
    """Rank correlations, and relative errors unless the predictions are scores on no unit.

    Args:
        y_true: (n,) true values (accuracy, latency...), n >= 2.
        y_pred: (n,) predictions; higher must mean higher ``y_true``.
        ranking_only: True for a predictor whose outputs are only ordered (e.g. the
            binary relation predictor's win rates): the error metrics are then None.

    Returns:
        ``{"spearman", "kendall", "mape", "within_5pct", "within_10pct"}``. ``kendall`` is
        tau-b, which accounts for ties (NAS-Bench tables have many). A correlation is
        None when one side is constant, because no ranking is then defined.

    Raises:
        SpecError: shapes differ or values are not finite, or (regression) a true value is zero.
    """
    stats = require("scipy.stats", who="ranking_metrics")

    t, p = _pair(y_true, y_pred)
    constant = bool(np.ptp(t) == 0 or np.ptp(p) == 0)
    spearman = None if constant else _correlation(stats.spearmanr(t, p).statistic)
    kendall = None if constant else _correlation(stats.kendalltau(t, p, variant="b").statistic)
    out: dict[str, float | None] = {"spearman": spearman, "kendall": kendall,
                                    "mape": None, "within_5pct": None, "within_10pct": None}
    if not ranking_only:
        out.update(error_metrics(t, p))
    return out
