"""The PyTorch model of a MobileNetV2-like block network (imported only when a model is built).

Structure and module names follow ``torchvision.models.mobilenet_v2``: ``features.0`` is
the stem (conv, BN, ReLU6), ``features.{i}.conv`` an inverted residual block (``0`` the
1x1 expansion, then the depthwise conv, then the 1x1 projection conv and its BN), the
last ``features`` entry the 1x1 conv to the head width, ``classifier.1`` the linear layer
(after dropout). :meth:`coexplore.nas.blocks.BlockSpace.to_network` uses the same names.
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

__all__ = ["block_network"]


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """1x1 expand (skipped at expansion 1), kxk depthwise, 1x1 project; residual when shapes allow."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = cin * expansion
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = [] if expansion == 1 else [_conv_bn_relu(cin, hidden, 1)]
        layers += [_conv_bn_relu(hidden, hidden, kernel, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class BlockNetwork(nn.Module):
    def __init__(self, *, in_channels: int, stem: tuple[int, int], blocks: Sequence[tuple[int, int, int, int]],
                 last_channels: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        stem_channels, stem_stride = stem
        features: list[nn.Module] = [_conv_bn_relu(in_channels, stem_channels, 3, stem_stride)]
        cin = stem_channels
        for cout, kernel, stride, expansion in blocks:
            features.append(InvertedResidual(cin, cout, kernel, stride, expansion))
            cin = cout
        features.append(_conv_bn_relu(cin, last_channels, 1))
        self.features = nn.Sequential(*features)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(last_channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


def block_network(*, in_channels: int, stem: tuple[int, int], blocks: Sequence[tuple[int, int, int, int]],
                  last_channels: int, num_classes: int, dropout: float = 0.2) -> Any:
    """The network of ``blocks`` = (out channels, kernel, stride, expansion) after a (channels, stride) stem."""
    return BlockNetwork(in_channels=in_channels, stem=stem, blocks=tuple(blocks), last_channels=last_channels,
                        num_classes=num_classes, dropout=dropout)
