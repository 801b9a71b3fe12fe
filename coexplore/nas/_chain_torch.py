"""The PyTorch model of an FNAS chain (imported only when a model is built).

Module names are what :meth:`coexplore.nas.chain.ChainSpace.to_network` calls the layers:
``features.{i}.0`` for the i-th convolution, ``classifier`` for the linear layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - the core install has no torch
    from coexplore.errors import MissingDependencyError

    raise MissingDependencyError("coexplore: PyTorch models need torch; install it with pip install "
                                 "'coexplore[torch]'") from None

__all__ = ["chain_network"]


class ChainNetwork(nn.Module):
    """Conv -> BatchNorm -> ReLU per layer ('same' padding, stride 1), global average pool, linear."""

    def __init__(self, layers: Sequence[tuple[int, int]], in_channels: int, num_classes: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        cin = in_channels
        for size, count in layers:
            blocks.append(nn.Sequential(nn.Conv2d(cin, count, size, padding="same", bias=False),
                                        nn.BatchNorm2d(count), nn.ReLU(inplace=True)))
            cin = count
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


def chain_network(layers: Sequence[tuple[int, int]], *, in_channels: int, num_classes: int) -> Any:
    """The chain of ``(filter size, filter count)`` layers (random weights from the current torch seed)."""
    return ChainNetwork(tuple(layers), in_channels, num_classes)
