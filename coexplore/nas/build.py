"""Spaces and evaluators by name, for the CLI and config files.

``space`` names: ``nb201`` (dataset ``cifar10``, ``cifar100``, ``imagenet16-120``),
``chain`` (FNAS chains: ``mnist``, ``cifar10``, ``imagenet``, ``digits``), ``blocks``
(MobileNetV2-like blocks: ``imagenet`` at 224 px, or ``digits``). Accuracy sources:
``table`` (NB201 only) or ``train`` (the digits, for ``chain``/``blocks`` on ``digits``).
Latency sources: ``table`` (a measured device table, NB201 only), ``cost-model`` (mapped
on an accelerator), or ``none``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.evaluators import CostModelLatency, Evaluator, TableAccuracy, TableLatency
from coexplore.nas.nb201 import NB201Space
from coexplore.nas.space import ArchSpace
from coexplore.registry import Registry

__all__ = ["SPACES", "build_accuracy", "build_latency", "build_space", "latency_limit"]

SPACES: Registry[Any] = Registry(kind="search space")


@SPACES.register("nb201", "NAS-Bench-201 cells (datasets cifar10, cifar100, imagenet16-120)")
def _nb201() -> Any:
    return lambda dataset: NB201Space(dataset=dataset or "cifar100")


@SPACES.register("chain", "FNAS chains of convolutions (datasets mnist, cifar10, imagenet, digits)")
def _chain() -> Any:
    from coexplore.nas.chain import ChainSpace

    return lambda dataset: ChainSpace(dataset=dataset or "cifar10")


@SPACES.register("blocks", "MobileNetV2-like inverted-residual blocks (datasets imagenet, digits)")
def _blocks() -> Any:
    from coexplore.nas.blocks import BlockSpace

    def make(dataset: str | None) -> Any:
        if dataset in (None, "imagenet"):
            return BlockSpace()
        if dataset == "digits":
            return BlockSpace.digits()
        raise SpecError(f"dataset: the blocks space takes imagenet or digits, got {dataset!r}")

    return make


def build_space(name: str, dataset: str | None = None) -> ArchSpace[Any]:
    """The search space ``name`` for ``dataset`` (its default when None)."""
    return SPACES.get(name)(dataset)  # type: ignore[no-any-return]


def build_accuracy(space: ArchSpace[Any], source: str = "table", *, epochs: int = 10, seed: int = 0) -> Evaluator:
    """``table`` (NB201's trained accuracies) or ``train`` (really train on the digits)."""
    if source == "table":
        if not isinstance(space, NB201Space):
            raise SpecError(f"accuracy: 'table' exists only for the nb201 space, got {space.name!r}; use 'train'")
        return TableAccuracy(space=space, dataset=space.dataset, epochs=200 if space.dataset == "cifar100" else 12)
    if source == "train":
        from coexplore.nas.train import TrainingEvaluator

        if getattr(space, "dataset", None) != "digits" and "digits" not in space.name:
            raise SpecError(f"accuracy: 'train' runs on the digits data set; use the digits dataset of the space, "
                            f"got {space.name!r}")
        return TrainingEvaluator(space=space, epochs=epochs, seed=seed)
    raise SpecError(f"accuracy: must be 'table' or 'train', got {source!r}")


def build_latency(space: ArchSpace[Any], source: str = "table", *, path: str | Path | None = None,
                  framework: str = "onnx", accelerator: str | None = None, seed: int = 0) -> Evaluator | None:
    """``table`` (a measured device table), ``cost-model`` (mapped on ``accelerator``) or ``none``."""
    if source == "none":
        return None
    if source == "table":
        if not isinstance(space, NB201Space):
            raise SpecError(f"latency: 'table' exists only for the nb201 space, got {space.name!r}; "
                            "use 'cost-model'")
        return TableLatency(space=space, path=path, framework=framework)
    if source == "cost-model":
        if accelerator is None:
            raise SpecError("latency: 'cost-model' needs an accelerator (--accelerator), got none")
        return CostModelLatency(space=space, accelerator=accelerator, seed=seed)
    raise SpecError(f"latency: must be 'table', 'cost-model' or 'none', got {source!r}")


def latency_limit(space: ArchSpace[Any], latency: Evaluator, percentile: float) -> float:
    """The ``percentile`` of the latency of every valid architecture (enumerable spaces only)."""
    if not 0 < percentile <= 100:
        raise SpecError(f"latency percentile: must be in (0, 100], got {percentile!r}")
    if isinstance(latency, TableLatency):
        lat = latency.all()
        return float(np.nanpercentile(lat, percentile))
    if space.size > 200_000:
        raise SpecError(f"latency percentile: the space {space.name!r} has {space.size} decision tuples, too many "
                        "to enumerate; give the limit in milliseconds")
    archs = [a for a in (space.from_choices(c) for c in np.ndindex(*space.cardinalities)) if space.problem(a) is None]
    return float(np.percentile(latency.evaluate(list(dict.fromkeys(archs))), percentile))
