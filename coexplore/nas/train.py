"""Accuracy by really training: a search-space model on scikit-learn's 8x8 digits, on the CPU, in seconds.

NAS-Bench-201 has a table of trained accuracies; the FNAS chains and the block space
have none, so their accuracy must come from training. A full CIFAR or ImageNet run is
out of reach on a laptop CPU, and nothing may be downloaded at run time, so this trains
on the digits data set that ships inside scikit-learn (1,797 images of 8x8 pixels, 10
classes). It is a proxy, small enough that a search can train hundreds of candidates,
and real enough that architecture choices change the result.

Everything random is seeded: the train/test split (a numpy Generator), the weight
initialisation and dropout (torch's global generator, forked and seeded so the
caller's state is untouched), and the batch order (a torch.Generator). Training runs on
``threads`` intra-op threads (1 by default), so the same seed gives the same accuracy.

:class:`TrainingEvaluator` has the ``name`` / ``evaluate(archs) -> percent`` shape that every
accuracy evaluator shares (the NB201 table lookup too), so a search takes either.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.space import ArchSpace
from coexplore.optional import require

__all__ = ["DIGITS_INPUT_SHAPE", "DigitsSplit", "TrainingEvaluator", "TrainingResult", "digits_split", "train_model"]

#: Input shape (batch 1) a model must take to be trained on the digits.
DIGITS_INPUT_SHAPE = (1, 1, 8, 8)
DIGITS_CLASSES = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingResult:
    """One training run.

    Attributes:
        accuracy: Top-1 accuracy on the held-out images, in percent.
        train_seconds: Wall-clock time of the training loop (data preparation excluded).
        final_loss: Mean cross-entropy over the last epoch.
        epochs, seed: The budget and the seed of the run.
        train_samples, test_samples: Sizes of the split.
    """

    accuracy: float
    train_seconds: float
    final_loss: float
    epochs: int
    seed: int
    train_samples: int
    test_samples: int


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DigitsSplit:
    """Standardised images float32 (n, 1, 8, 8) and labels int64 (n,), split by a seed."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SpecError("training evaluator: needs scikit-learn; pip install 'coexplore[nas]'") from None
    data = load_digits()
    return np.asarray(data.data, dtype=np.float32).reshape(-1, 1, 8, 8), np.asarray(data.target, dtype=np.int64)


def digits_split(*, seed: int = 0, test_fraction: float = 0.25) -> DigitsSplit:
    """The digits, shuffled by ``seed`` and split; pixels standardised with the training set's mean and std."""
    if not 0.0 < test_fraction < 1.0:
        raise SpecError(f"test_fraction: must be in (0, 1), got {test_fraction!r}")
    x, y = _digits()
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = round(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    mean, std = float(x[train].mean()), float(x[train].std())
    x = (x - mean) / std
    return DigitsSplit(x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test])


def train_model(model: Any, split: DigitsSplit, *, epochs: int = 10, seed: int = 0, batch_size: int = 128,
                lr: float = 1e-2, weight_decay: float = 1e-4, threads: int = 1) -> TrainingResult:
    """Train ``model`` (a ``torch.nn.Module``) on ``split`` with AdamW and a cosine schedule; test it.

    The batch order and dropout follow ``seed``; initialise the model under the same
    seed (as :meth:`TrainingEvaluator.train` does) for a fully reproducible run.
    """
    require("torch", extra="nas", who="training networks on the digits")
    import torch
    import torch.nn.functional as F

    problems = [f"{n}: must be a positive integer, got {v!r}"
                for n, v in (("epochs", epochs), ("batch_size", batch_size), ("threads", threads))
                if not isinstance(v, int) or isinstance(v, bool) or v <= 0]
    problems += [f"{n}: must be >= 0, got {v!r}" for n, v in (("lr", lr), ("weight_decay", weight_decay))
                 if not v >= 0]
    if problems:
        raise SpecError(problems)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            xs, ys = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
            gen = torch.Generator().manual_seed(seed)
            steps = epochs * -(-len(ys) // batch_size)
            opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
            start = time.perf_counter()
            model.train()
            loss_sum = 0.0
            for _ in range(epochs):
                loss_sum = 0.0
                for idx in torch.randperm(len(ys), generator=gen).split(batch_size):
                    opt.zero_grad(set_to_none=True)
                    loss = F.cross_entropy(model(xs[idx]), ys[idx])
                    loss.backward()
                    opt.step()
                    sched.step()
                    loss_sum += float(loss.detach()) * len(idx)
            seconds = time.perf_counter() - start
            model.eval()
            with torch.inference_mode():
                pred = model(torch.from_numpy(split.x_test)).argmax(dim=1).numpy()
    finally:
        torch.set_num_threads(old_threads)
    return TrainingResult(accuracy=100.0 * float(np.mean(pred == split.y_test)), train_seconds=seconds,
                          final_loss=loss_sum / len(ys), epochs=epochs, seed=seed,
                          train_samples=len(ys), test_samples=len(split.y_test))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TrainingEvaluator:
    """Accuracy (percent) of architectures of ``space`` after training on the digits.

    ``space`` must build models for 1x8x8 inputs and 10 classes: ``ChainSpace(dataset="digits")``
    or ``BlockSpace.digits()``. Each architecture is trained from scratch with the same seed,
    budget and split, so scores are comparable and reproducible.

    Attributes:
        space: The search space whose ``to_torch`` models are trained.
        epochs: Passes over the training images (the budget).
        seed: Seed of the split, the initialisation and the batch order.
        batch_size, lr, weight_decay: AdamW settings (cosine decay to 0 over the run).
        test_fraction: Share of the images held out for the accuracy.
        threads: Torch intra-op threads while training.
    """

    space: ArchSpace[Any]
    epochs: int = 10
    seed: int = 0
    batch_size: int = 128
    lr: float = 1e-2
    weight_decay: float = 1e-4
    test_fraction: float = 0.25
    threads: int = 1

    def __post_init__(self) -> None:
        shape = tuple(self.space.input_shape)
        if shape != DIGITS_INPUT_SHAPE:
            raise SpecError(f"TrainingEvaluator.space: input shape must be {DIGITS_INPUT_SHAPE} for the digits, "
                            f"got {shape} (space {self.space.name!r})")
        classes = getattr(self.space, "num_classes", DIGITS_CLASSES)
        if classes != DIGITS_CLASSES:
            raise SpecError(f"TrainingEvaluator.space: must have {DIGITS_CLASSES} classes, got {classes}")

    @property
    def name(self) -> str:
        return f"train-digits:{self.space.name}/{self.epochs}ep/seed{self.seed}"

    def train(self, arch: Any) -> TrainingResult:
        """Build ``arch``'s model under the seed and train it."""
        require("torch", extra="nas", who="training networks on the digits")
        import torch

        split = digits_split(seed=self.seed, test_fraction=self.test_fraction)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = self.space.to_torch(arch)
        return train_model(model, split, epochs=self.epochs, seed=self.seed, batch_size=self.batch_size,
                           lr=self.lr, weight_decay=self.weight_decay, threads=self.threads)

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        """Held-out accuracy in percent of each architecture, float64 (n,)."""
        return np.array([self.train(a).accuracy for a in archs], dtype=np.float64)
