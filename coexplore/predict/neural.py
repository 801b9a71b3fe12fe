"""What the torch regressors (MLP, GCN) share: seeded training on standardised targets, warm starts.

Fitting twice with the same seed gives the same model; ``warm_start=True`` instead
continues from the current weights (and target scaling), which suits BRP-NAS's
iterations where the training set grows by a few architectures at a time.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from coexplore.errors import SpecError
from coexplore.predict.base import Predictor, check_choice, check_hyper, check_target
from coexplore.predict.features import ArchFeatures

if TYPE_CHECKING:
    import torch

__all__ = ["LR_SCHEDULES", "NeuralRegressor"]

#: ``constant`` keeps Adam's learning rate; ``cosine`` anneals it to zero over the epochs.
LR_SCHEDULES = ("constant", "cosine")


class NeuralRegressor(Predictor):
    """A torch model trained with Adam on the squared error of standardised (or log) targets.

    Subclasses say which features they read (:meth:`_inputs`) and which network they
    train (:meth:`_build`); hyper-parameters common to both live here.

    Attributes:
        model_: the trained ``torch.nn.Module`` (eval mode).
        scaler_: the target standardisation learnt at the first (cold) fit.
        input_width_: the number of input features (per architecture or node) the model takes.
        n_fits_: fits since the last cold start (seeds each warm-started round differently).
    """

    model_: Any
    scaler_: Any
    input_width_: int
    n_fits_: int

    def __init__(self, *, epochs: int, batch_size: int, lr: float, weight_decay: float, lr_schedule: str,
                 dropout: float, log_target: bool, warm_start: bool, seed: int) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.dropout = dropout
        self.log_target = log_target
        self.warm_start = warm_start
        self.seed = seed

    @property
    def fitted(self) -> bool:
        return hasattr(self, "model_")

    @abstractmethod
    def _inputs(self, features: ArchFeatures) -> tuple[torch.Tensor, ...]:
        """The model's input tensors for ``features`` (first dimension n)."""

    def _learn_inputs(self, features: ArchFeatures) -> None:
        """Learn input scaling from the training features at a cold fit (default: none)."""

    def _width(self, inputs: tuple[torch.Tensor, ...]) -> int:
        """The number of input features per architecture (or per node), fixed once fitted."""
        return int(inputs[0].shape[-1])

    @abstractmethod
    def _build(self, inputs: tuple[torch.Tensor, ...]) -> torch.nn.Module:
        """A fresh network for inputs like ``inputs`` (called under a seeded RNG)."""

    def _check_params(self) -> None:
        check_hyper(self.name, positive={"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr},
                    fractions={"dropout": self.dropout}, seed=self.seed)
        check_choice(self.name, "lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if self.weight_decay < 0:
            raise SpecError(f"{self.name}.weight_decay: must be >= 0, got {self.weight_decay!r}")

    def fit(self, features: ArchFeatures, y: np.ndarray) -> Self:
        """Train on ``features`` and targets ``y`` (n,), from scratch unless ``warm_start``."""
        from coexplore.predict import _nets

        self._check_params()
        t = check_target(features, y, self.name)
        if self.log_target and (t <= 0).any():
            raise SpecError(f"{self.name}.log_target: needs positive targets, got min {float(t.min())}")
        warm = self.warm_start and self.fitted
        if not warm:
            self._learn_inputs(features)
        inputs = self._inputs(features)
        width = self._width(inputs)
        if warm and width != self.input_width_:
            raise SpecError(f"{self.name}.fit: warm start needs {self.input_width_} input features, got {width}")
        n_fits = self.n_fits_ + 1 if warm else 0
        scaler = self.scaler_ if warm else _nets.TargetScaler.fit(t, log=self.log_target)
        seed = _nets.child_seed(self.seed, n_fits)
        rng = np.random.default_rng(seed)
        with _nets.session(seed):
            model = self.model_ if warm else _nets.initialise(self._build(inputs), rng)
            _nets.train_regressor(model, inputs, scaler.transform(t), epochs=self.epochs,
                                  batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                                  cosine=self.lr_schedule == "cosine", rng=rng)
        self.model_ = model
        self.scaler_ = scaler
        self.input_width_ = width
        self.n_fits_ = n_fits
        return self

    def predict(self, features: ArchFeatures) -> np.ndarray:
        """Predicted targets (n,), in the unit of the training targets."""
        from coexplore.predict import _nets

        self._check_fitted()
        inputs = self._inputs(features)
        width = self._width(inputs)
        if width != self.input_width_:
            raise SpecError(f"{self.name}.predict: features must have the fitted width {self.input_width_}, "
                            f"got {width}")
        with _nets.session():
            z = _nets.predict_chunked(self.model_, inputs)
        return np.asarray(self.scaler_.inverse(z))
