"""A multi-layer perceptron on the fixed-length architecture encoding (``ArchFeatures.vector``).

The simplest learnt predictor, and the one most NAS-predictor papers compare against:
it sees which operation sits where, but not how positions are wired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from coexplore.errors import SpecError
from coexplore.predict.base import check_hyper
from coexplore.predict.features import ArchFeatures
from coexplore.predict.neural import NeuralRegressor

if TYPE_CHECKING:
    import torch

__all__ = ["MLPPredictor"]


class MLPPredictor(NeuralRegressor):
    """``hidden`` ReLU layers with dropout on the standardised vector encoding, one linear output.

    Args:
        hidden: widths of the hidden layers.
        dropout: dropout after each hidden layer.
        epochs, batch_size, lr, weight_decay: Adam training schedule.
        log_target: regress the log of the target (relative errors; positive targets only).
        warm_start: a second ``fit`` continues from the current weights.
        seed: seeds initialisation, dropout and batch order.
    """

    name = "mlp"

    def __init__(self, *, hidden: tuple[int, ...] = (256, 256, 256), dropout: float = 0.1, epochs: int = 200,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-4, lr_schedule: str = "cosine",
                 log_target: bool = False, warm_start: bool = False, seed: int = 0) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                         lr_schedule=lr_schedule, dropout=dropout,
                         log_target=log_target, warm_start=warm_start, seed=seed)
        self.hidden = hidden

    def _check_params(self) -> None:
        super()._check_params()
        check_hyper(self.name, positive={f"hidden[{i}]": h for i, h in enumerate(self.hidden)})

    def _learn_inputs(self, features: ArchFeatures) -> None:
        x = features.require("vector", self.name).astype(np.float64)
        self.x_mean_ = x.mean(axis=0)
        sd = x.std(axis=0)
        self.x_std_ = np.where(sd > 0, sd, 1.0)

    def _inputs(self, features: ArchFeatures) -> tuple[torch.Tensor, ...]:
        import torch

        x = features.require("vector", self.name).astype(np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.x_mean_):
            raise SpecError(f"{self.name}: vector must be (n, {len(self.x_mean_)}), got {x.shape}")
        return (torch.from_numpy((x - self.x_mean_) / self.x_std_),)

    def _build(self, inputs: tuple[torch.Tensor, ...]) -> torch.nn.Module:
        import torch

        from coexplore.predict import _nets

        net = _nets.mlp([int(inputs[0].shape[1]), *map(int, self.hidden), 1], self.dropout)
        return torch.nn.Sequential(net, torch.nn.Flatten(0))
