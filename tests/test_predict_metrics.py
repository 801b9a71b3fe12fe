"""Predictor metrics against hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.predict import METRIC_NAMES, error_metrics, ranking_metrics


def test_perfect_and_reversed_rankings() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    same = ranking_metrics(y, 10 * y, ranking_only=True)
    assert same["spearman"] == pytest.approx(1.0) and same["kendall"] == pytest.approx(1.0)
    rev = ranking_metrics(y, -y, ranking_only=True)
    assert rev["spearman"] == pytest.approx(-1.0) and rev["kendall"] == pytest.approx(-1.0)


def test_kendall_is_tau_b_with_ties() -> None:
    # Pairs of (1,2,2,3) vs (1,2,3,4): 5 concordant, 0 discordant, 1 tie in x only.
    # tau-b = (5 - 0) / sqrt((6 - 1) * 6) = 5 / sqrt(30).
    m = ranking_metrics(np.array([1.0, 2.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0, 4.0]), ranking_only=True)
    assert m["kendall"] == pytest.approx(5 / np.sqrt(30))


def test_relative_errors_on_a_hand_example() -> None:
    y = np.array([10.0, 10.0, 10.0, 10.0])
    pred = np.array([10.4, 11.0, 8.5, 13.0])  # errors 4 %, 10 % (on the band), 15 %, 30 %
    m = error_metrics(y, pred)
    assert m["within_5pct"] == pytest.approx(0.25)
    assert m["within_10pct"] == pytest.approx(0.5)
    assert m["mape"] == pytest.approx((4 + 10 + 15 + 30) / 4)


def test_ranking_only_leaves_error_metrics_null() -> None:
    m = ranking_metrics(np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.5, 0.4]), ranking_only=True)
    assert tuple(m) == METRIC_NAMES
    assert m["mape"] is None and m["within_5pct"] is None and m["within_10pct"] is None
    assert m["spearman"] == pytest.approx(0.5)
    assert json.loads(json.dumps(m))["mape"] is None


def test_regression_metrics_fill_every_key() -> None:
    m = ranking_metrics(np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.2, 4.0]))
    assert m == pytest.approx({"spearman": 1.0, "kendall": 1.0, "mape": 10 / 3,
                               "within_5pct": 2 / 3, "within_10pct": 1.0})


def test_constant_predictions_have_no_correlation() -> None:
    m = ranking_metrics(np.array([1.0, 2.0, 3.0]), np.array([5.0, 5.0, 5.0]))
    assert m["spearman"] is None and m["kendall"] is None
    assert m["within_10pct"] == pytest.approx(0.0)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(SpecError, match="y_pred: must have the length of y_true"):
        ranking_metrics(np.ones(3), np.ones(2))
    with pytest.raises(SpecError, match="y_true: must be finite"):
        ranking_metrics(np.array([1.0, np.nan]), np.ones(2))
    with pytest.raises(SpecError, match="non-zero true values, got 1 zeros"):
        ranking_metrics(np.array([0.0, 1.0]), np.ones(2))
    with pytest.raises(SpecError, match="at least 2 values"):
        ranking_metrics(np.ones(1), np.ones(1), ranking_only=True)
