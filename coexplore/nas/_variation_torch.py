"""The FNAS chain with crossbar weight-conductance noise, in PyTorch (imported only when such a model is built).

One forward pass is one programming of the crossbars: every weight tensor gets one fresh noise
draw from ``generator``, so a training batch sees a new draw and a Monte Carlo draw at inference
is one pass over the whole test set. The noise is added as a detached offset, so the gradient
reaches the stored weights straight through (as the fake quantizer passes it).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - the core install has no torch
    from coexplore.errors import MissingDependencyError

    raise MissingDependencyError("coexplore: noisy models need torch; install it with pip install "
                                 "'coexplore[torch]'") from None

from coexplore.nas._quantize_torch import Grid, _fq

__all__ = ["NoisyChainNetwork", "cell_noise", "grid_bits"]


def grid_bits(grid: Grid) -> int:
    """Bits of a fixed-point grid ``(scale, qmin, qmax)``: ``log2(qmax - qmin + 1)``."""
    return (grid[2] - grid[1] + 1).bit_length() - 1


def cell_noise(w: torch.Tensor, sigma: float, grid: Grid | None, cell_bits: int | None,
               generator: torch.Generator | None) -> torch.Tensor:
    """The read-out error of the weights ``w`` (detached, same shape), one Gaussian draw per cell.

    Without ``grid`` or ``cell_bits`` a weight is one cell: the error is ``w * sigma * eps``. With
    both, ``w`` is on the grid: its integer code ``q = w / scale`` is stored sign-magnitude (the
    sign picks the column of a differential pair, the other column holds 0), and ``|q|`` is split
    into ``bits / cell_bits`` slices of ``cell_bits`` bits, ``|q| = sum_j m_j 2**(j cell_bits)``;
    slice ``j`` reads ``m_j (1 + eps_j)``, so the error is ``sign(q) scale sigma sum_j 2**(j cell_bits) m_j eps_j``.
    """
    w = w.detach()
    if grid is None or cell_bits is None:
        return w * (sigma * torch.randn(w.shape, generator=generator, dtype=w.dtype))
    scale = grid[0]
    q = torch.round(w / scale)
    mag = q.abs()
    cells = grid_bits(grid) // cell_bits
    eps = torch.randn((cells, *w.shape), generator=generator, dtype=w.dtype)
    base = float(2 ** cell_bits)
    err = torch.zeros_like(w)
    for j in range(cells):
        place = base ** j
        slice_j = torch.remainder(torch.floor(mag / place), base)
        err = err + place * slice_j * eps[j]
    return torch.sign(q) * scale * sigma * err


class NoisyChainNetwork(nn.Module):
    """A chain (float, or fake-quantized like ``QuantChainNetwork``) whose conv and classifier weights read noisy.

    The forward is the float ``ChainNetwork``'s (``weight_grids`` None) or ``QuantChainNetwork``'s,
    with :func:`cell_noise` added to every quantized (or float) weight tensor when ``sigma > 0``.
    BatchNorm, ReLU, the pool and the classifier bias are digital: no noise. Parameter names are
    the float model's, so its state dict loads as is.
    """

    def __init__(self, model: Any, *, sigma: float, cell_bits: int | None, input_grid: Grid | None,
                 weight_grids: Sequence[Grid] | None, activation_grids: Sequence[Grid] | None,
                 classifier_grid: Grid | None) -> None:
        super().__init__()
        model = copy.deepcopy(model)
        self.features: nn.Sequential = model.features
        self.pool: nn.Module = model.pool
        self.classifier: nn.Linear = model.classifier
        self.sigma, self.cell_bits = float(sigma), cell_bits
        self.input_grid, self.classifier_grid = input_grid, classifier_grid
        self.weight_grids = None if weight_grids is None else tuple(weight_grids)
        self.activation_grids = None if activation_grids is None else tuple(activation_grids)
        self.generator: torch.Generator | None = None

    def _weight(self, w: torch.Tensor, grid: Grid | None) -> torch.Tensor:
        if grid is not None:
            w = _fq(w, grid)
        if self.sigma == 0.0:
            return w
        return w + cell_noise(w, self.sigma, grid, self.cell_bits, self.generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        quantized = self.weight_grids is not None and self.activation_grids is not None
        if self.input_grid is not None:
            x = _fq(x, self.input_grid)
        blocks: list[Any] = list(self.features)  # Sequential(Conv2d, BatchNorm2d, ReLU) each
        for i, block in enumerate(blocks):
            conv, bn = block[0], block[1]
            wg = self.weight_grids[i] if self.weight_grids is not None else None
            x = nn.functional.conv2d(x, self._weight(conv.weight, wg), None, conv.stride, conv.padding,
                                     conv.dilation, conv.groups)
            x = torch.relu(bn(x))
            if quantized and self.activation_grids is not None:
                x = _fq(x, self.activation_grids[i])
        x = self.pool(x).flatten(1)
        if quantized and self.activation_grids is not None:
            x = _fq(x, self.activation_grids[-1])
        return nn.functional.linear(x, self._weight(self.classifier.weight, self.classifier_grid),
                                    self.classifier.bias)
