"""Predictors of accuracy and latency from architecture features (fit / predict, scikit-learn style).

Layer 3: a search space (``coexplore.nas``) turns architectures into
:class:`ArchFeatures`; a predictor from :data:`PREDICTORS` learns a target from them.
Baselines (``flops``, ``params``, ``lut``) and the few-shot device ``transfer`` model
are closed-form; ``mlp``, ``gcn`` and ``brp`` (BRP-NAS, Dudziak et al., NeurIPS 2020)
train with torch, which is imported only when one of them is fitted, so this package imports without torch.

Every predictor returns higher scores for higher targets, so :func:`ranking_metrics`
applies to all; ``brp`` is ``ranking_only`` (win rates, no unit).
"""

from coexplore.predict.base import NotFittedError, Predictor
from coexplore.predict.baselines import FlopsPredictor, LutPredictor, ParamsPredictor
from coexplore.predict.brp import BRPPredictor
from coexplore.predict.features import ArchFeatures
from coexplore.predict.gcn import BRP_NAS_SETTINGS, GCNPredictor
from coexplore.predict.metrics import METRIC_NAMES, error_metrics, ranking_metrics
from coexplore.predict.mlp import MLPPredictor
from coexplore.predict.registry import PREDICTORS, make_predictor, predictor_names
from coexplore.predict.selection import SELECTION_STRATEGIES, select_cells
from coexplore.predict.transfer import DeviceCostTable, TransferPredictor, fit_cost_table

__all__ = [
    "BRP_NAS_SETTINGS",
    "METRIC_NAMES",
    "PREDICTORS",
    "SELECTION_STRATEGIES",
    "ArchFeatures",
    "BRPPredictor",
    "DeviceCostTable",
    "FlopsPredictor",
    "GCNPredictor",
    "LutPredictor",
    "MLPPredictor",
    "NotFittedError",
    "ParamsPredictor",
    "Predictor",
    "TransferPredictor",
    "error_metrics",
    "fit_cost_table",
    "make_predictor",
    "predictor_names",
    "ranking_metrics",
    "select_cells",
]
