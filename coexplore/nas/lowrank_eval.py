"""What a rank search pays for: accuracy, size and measured latency of a trained model factored at given ranks.

No retraining in the loop (as ShrinkML): a candidate's accuracy is the trained model's, factored by
truncated SVD, on held-out examples. The search scores candidates on a validation set carved out
of the training images (never trained on), and the final ranks are reported on the test split, so
the test accuracy is not the one the search maximised.

The demonstration model (:func:`train_digits_lstm`) is an LSTM sequence classifier trained here,
offline, on scikit-learn's 8x8 digits read row by row: 8 steps of 8 pixels
(:class:`~coexplore.nas._lowrank_torch.DigitsLstm`: LSTM, then two fully connected layers).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.lowrank import SvdCache, factorable_matrices, factorize
from coexplore.nas.measure import measure_latency
from coexplore.nas.train import DigitsSplit, digits_split, train_model
from coexplore.optional import require

__all__ = ["RankEvaluator", "TrainedDigitsLstm", "train_digits_lstm"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TrainedDigitsLstm:
    """The trained demonstration model and its three disjoint sets of digits.

    Attributes:
        model: A trained :class:`~coexplore.nas._lowrank_torch.DigitsLstm` (eval mode).
        split: ``x_train``/``y_train`` trained on, ``x_test``/``y_test`` the held-out split of ``digits_split``.
        x_val, y_val: Images cut from ``digits_split``'s training part before training (for the search).
        accuracy: Test accuracy in percent of the dense model.
        train_seconds: Wall time of the training loop.
    """

    model: Any
    split: DigitsSplit
    x_val: np.ndarray
    y_val: np.ndarray
    accuracy: float
    train_seconds: float


def train_digits_lstm(*, seed: int = 0, hidden: int = 256, fc_width: int = 64, epochs: int = 30,
                      val_fraction: float = 0.2, threads: int = 1) -> TrainedDigitsLstm:
    """Train the digits LSTM (row by row) with :func:`~coexplore.nas.train.train_model`'s recipe.

    ``digits_split(seed=seed)``'s training images are shuffled by it already; the first ``val_fraction``
    of them are held out for the search, the rest trained on. Initialisation follows ``seed``.
    """
    require("torch", extra="nas", who="training the digits LSTM")
    import torch

    from coexplore.nas._lowrank_torch import DigitsLstm

    problems = [f"{n}: must be an integer >= 1, got {v!r}" for n, v in
                (("hidden", hidden), ("fc_width", fc_width), ("epochs", epochs), ("threads", threads))
                if isinstance(v, bool) or not isinstance(v, int) or v < 1]
    if not 0.0 < val_fraction < 1.0:
        problems.append(f"val_fraction: must be in (0, 1), got {val_fraction!r}")
    if problems:
        raise SpecError(problems)
    full = digits_split(seed=seed)
    n_val = round(len(full.y_train) * val_fraction)
    fit = DigitsSplit(x_train=full.x_train[n_val:], y_train=full.y_train[n_val:], x_test=full.x_test,
                      y_test=full.y_test)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitsLstm(hidden=hidden, fc_width=fc_width)
    result = train_model(model, fit, epochs=epochs, seed=seed, threads=threads)
    model.eval()
    return TrainedDigitsLstm(model=model, split=fit, x_val=full.x_train[:n_val], y_val=full.y_train[:n_val],
                             accuracy=result.accuracy, train_seconds=result.train_seconds)


def _key(ranks: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((k, int(v)) for k, v in ranks.items()))


class RankEvaluator:
    """Accuracy (percent), factorable parameters and measured latency (ms) of ``model`` at ranks, cached.

    Args:
        model: A trained ``torch.nn.Module`` (left untouched).
        x_val, y_val: Examples the search scores on (``split="val"``).
        x_test, y_test: Examples the result is reported on (``split="test"``).
        latency_shape: Input shape timed by :func:`~coexplore.nas.measure.measure_latency`.
        latency_warmup, latency_repeats: Its warm-up and timed runs per candidate.
        threads: Torch intra-op threads for inference and timing.
    """

    def __init__(self, *, model: Any, x_val: np.ndarray, y_val: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                 latency_shape: Sequence[int], latency_warmup: int = 3, latency_repeats: int = 15,
                 threads: int = 1) -> None:
        require("torch", extra="nas", who="evaluating factored models")
        problems = [f"{n}: must be an integer >= {lo}, got {v!r}" for n, v, lo in
                    (("latency_warmup", latency_warmup, 0), ("latency_repeats", latency_repeats, 1),
                     ("threads", threads, 1)) if isinstance(v, bool) or not isinstance(v, int) or v < lo]
        problems += [f"{n}: must have as many labels as examples, got {len(y)} for {len(x)}"
                     for n, x, y in (("y_val", x_val, y_val), ("y_test", x_test, y_test))
                     if len(x) != len(y) or not len(y)]
        if problems:
            raise SpecError(problems)
        self.model, self.matrices = model, factorable_matrices(model)
        self.cache = SvdCache(model)
        self.data = {"val": (x_val, y_val), "test": (x_test, y_test)}
        self.latency_shape, self.threads = tuple(latency_shape), threads
        self.latency_warmup, self.latency_repeats = latency_warmup, latency_repeats
        self._accuracy: dict[tuple[str, tuple[tuple[str, int], ...]], float] = {}
        self._latency: dict[tuple[tuple[str, int], ...], float] = {}
        self.accuracy_seconds = 0.0
        self.latency_seconds = 0.0

    @property
    def dense_parameters(self) -> int:
        """Parameters of the factorable matrices, all dense."""
        return sum(m.size(None) for m in self.matrices)

    def parameters(self, ranks: Mapping[str, int]) -> int:
        """Parameters of the factorable matrices at ``ranks`` (a matrix not named stays dense)."""
        return sum(m.size(int(ranks[m.name]) if m.name in ranks else None) for m in self.matrices)

    def factored(self, ranks: Mapping[str, int]) -> Any:
        return factorize(self.model, ranks, cache=self.cache) if ranks else self.model

    def accuracy(self, ranks: Mapping[str, int], split: str = "val") -> float:
        """Top-1 accuracy in percent of the model factored at ``ranks`` on ``split`` (``"val"`` or ``"test"``)."""
        import torch

        if split not in self.data:
            raise SpecError(f"split: must be 'val' or 'test', got {split!r}")
        key = (split, _key(ranks))
        if key not in self._accuracy:
            start = time.perf_counter()
            x, y = self.data[split]
            model = self.factored(ranks)
            old = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                model.eval()
                with torch.inference_mode():
                    pred = model(torch.from_numpy(x)).argmax(dim=1).numpy()
            finally:
                torch.set_num_threads(old)
            self._accuracy[key] = 100.0 * float(np.mean(pred == y))
            self.accuracy_seconds += time.perf_counter() - start
        return self._accuracy[key]

    def latency_ms(self, ranks: Mapping[str, int] | None = None) -> float:
        """Median measured latency (ms) of the model factored at ``ranks`` (None or {}: the original model)."""
        key = _key(ranks or {})
        if key not in self._latency:
            start = time.perf_counter()
            m = measure_latency(self.factored(ranks or {}), self.latency_shape, warmup=self.latency_warmup,
                                repeats=self.latency_repeats, threads=self.threads)
            self._latency[key] = m.median_ms
            self.latency_seconds += time.perf_counter() - start
        return self._latency[key]
