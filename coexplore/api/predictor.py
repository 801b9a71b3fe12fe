"""Predictor evaluation through the API: fit on one table of NAS-Bench-201 networks, score on another."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coexplore.nas.predictor_eval import PredictorScore, TargetTable

__all__ = ["evaluate_predictor"]


def evaluate_predictor(predictor: str, train: str | Path | TargetTable, test: str | Path | TargetTable, target: str,
                       *, seed: int = 0, dataset: str = "cifar100", framework: str | None = None) -> PredictorScore:
    """Spearman, Kendall, MAPE and the within-5/10 % shares of ``predictor`` on ``test`` after fitting on
    ``train`` (CSVs with ``arch_index`` and the ``target`` column, or loaded tables).

    Raises:
        RegistryError: an unknown predictor, named before any file is read.
    """
    from coexplore.nas.predictor_eval import evaluate_predictor as evaluate
    from coexplore.predict.registry import PREDICTORS

    PREDICTORS.get(predictor)
    return evaluate(predictor, train, test, target, seed=seed, dataset=dataset, framework=framework)
