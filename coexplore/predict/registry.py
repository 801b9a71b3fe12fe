"""Predictor names -> predictor classes; ``make_predictor`` builds one with keyword hyper-parameters.

The CLI (``coexplore predictor evaluate --predictor NAME``) and the searches take their
choices from :data:`PREDICTORS`, so a new predictor registered here is usable everywhere.
"""

from __future__ import annotations

import inspect
from typing import Any

from coexplore.errors import SpecError
from coexplore.predict.base import Predictor
from coexplore.registry import Registry

__all__ = ["PREDICTORS", "make_predictor", "predictor_names"]

#: ``PREDICTORS.get(name)`` returns the predictor class (call it with keyword hyper-parameters).
PREDICTORS: Registry[type[Predictor]] = Registry(kind="predictor")


@PREDICTORS.register("flops")
def _flops() -> type[Predictor]:
    """Linear fit on FLOPs (multiply-accumulates): the usual latency proxy."""
    from coexplore.predict.baselines import FlopsPredictor

    return FlopsPredictor


@PREDICTORS.register("params")
def _params() -> type[Predictor]:
    """Linear fit on the parameter count."""
    from coexplore.predict.baselines import ParamsPredictor

    return ParamsPredictor


@PREDICTORS.register("lut")
def _lut() -> type[Predictor]:
    """Layer-wise lookup table: non-negative cost per operation kind, summed."""
    from coexplore.predict.baselines import LutPredictor

    return LutPredictor


@PREDICTORS.register("mlp")
def _mlp() -> type[Predictor]:
    """MLP on the fixed-length architecture encoding."""
    from coexplore.predict.mlp import MLPPredictor

    return MLPPredictor


@PREDICTORS.register("gcn")
def _gcn() -> type[Predictor]:
    """BRP-NAS graph convolutional regressor on the operation graph."""
    from coexplore.predict.gcn import GCNPredictor

    return GCNPredictor


@PREDICTORS.register("brp")
def _brp() -> type[Predictor]:
    """BRP-NAS binary relation predictor (ranking only): GCN pair comparisons."""
    from coexplore.predict.brp import BRPPredictor

    return BRPPredictor


@PREDICTORS.register("transfer")
def _transfer() -> type[Predictor]:
    """Relative-error per-operator cost table; with pretrain(), few-shot transfer from known devices."""
    from coexplore.predict.transfer import TransferPredictor

    return TransferPredictor


def predictor_names() -> list[str]:
    """Registered predictor names, in registration order."""
    return PREDICTORS.names()


def make_predictor(name: str, *, seed: int = 0, **hyper: Any) -> Predictor:
    """An unfitted predictor ``name`` with hyper-parameters ``hyper`` and ``seed`` (if it is random).

    Raises:
        RegistryError: unknown ``name`` (the message lists the valid ones).
        SpecError: a hyper-parameter the predictor does not take (the message lists those it takes).
    """
    cls = PREDICTORS.get(name)
    accepted = [k for k, p in inspect.signature(cls.__init__).parameters.items() if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(hyper) - set(accepted))
    if unknown:
        valid = ", ".join(accepted) or "(none)"
        raise SpecError(f"predictor {name!r}: unknown hyper-parameters {unknown}; valid: {valid}")
    if "seed" in accepted:
        hyper["seed"] = seed
    return cls(**hyper)
