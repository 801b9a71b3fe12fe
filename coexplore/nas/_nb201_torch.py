"""NAS-Bench-201's ``TinyNetwork`` in PyTorch (imported only when a model is built).

The structure and module names follow NB201's ``infer_models/tiny_network.py`` and
``cell_operations.py``: ``none`` multiplies by zero, ``skip_connect`` is the identity,
convolutions are ReLU -> Conv (no bias) -> BatchNorm, pooling is a 3x3 average that
ignores padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - the core install has no torch
    from coexplore.errors import MissingDependencyError

    raise MissingDependencyError("coexplore: predictors and PyTorch models need torch; "
                                 "install it with pip install 'coexplore[nas]'") from None

__all__ = ["tiny_network"]

_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class ReLUConvBN(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False),
                                nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
                                nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


def _op(name: str, c: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NB201 operation {name!r}")


class InferCell(nn.Module):
    """Node j is the sum of the operations on its incoming edges; the output is node 3."""

    def __init__(self, ops: Sequence[str], c: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_op(o, c) for o in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in (1, 2, 3):
            nodes.append(sum(self.layers[e](nodes[i]) for e, (i, jj) in enumerate(_EDGES) if jj == j))
        return nodes[3]


class ResNetBasicblock(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2, padding=0),
                                        nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_b(self.conv_a(x))
        return self.downsample(x) + out


class TinyNetwork(nn.Module):
    def __init__(self, ops: Sequence[str], num_classes: int, c: int = 16, n: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        cells: list[nn.Module] = []
        for stage, ch in enumerate((c, 2 * c, 4 * c)):
            if stage:
                cells.append(ResNetBasicblock(ch // 2, ch))
            cells += [InferCell(ops, ch) for _ in range(n)]
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * c), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.global_pooling(self.lastact(x))
        return self.classifier(x.flatten(1))


def tiny_network(ops: Sequence[str], *, num_classes: int) -> Any:
    """The NB201 network of the cell ``ops`` (random weights from the current torch seed)."""
    return TinyNetwork(tuple(ops), num_classes)
