"""The fake-quantized FNAS chain in PyTorch (imported only when a quantized model is built).

Each quantizer is ``torch.fake_quantize_per_tensor_affine`` with scale ``2**-fraction``, zero
point 0 and the format's integer range: round to the grid, clamp, and pass the gradient
straight through inside the range (zero outside), so the same module serves PTQ and QAT.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - the core install has no torch
    from coexplore.errors import MissingDependencyError

    raise MissingDependencyError("coexplore: quantized models need torch; install it with pip install "
                                 "'coexplore[torch]'") from None

__all__ = ["QuantChainNetwork", "fit_weight_shifts", "load_state", "quant_accuracy", "state_to_numpy"]

#: (scale, qmin, qmax) of one fixed-point format.
Grid = tuple[float, int, int]


def _fq(x: torch.Tensor, grid: Grid) -> torch.Tensor:
    scale, qmin, qmax = grid
    return torch.fake_quantize_per_tensor_affine(x, scale, 0, qmin, qmax)


class QuantChainNetwork(nn.Module):
    """A :class:`~coexplore.nas._chain_torch.ChainNetwork` copy whose forward fake-quantizes.

    Input -> [conv (quantized weights) -> BatchNorm (float) -> ReLU -> activation quantizer] per
    layer -> average pool -> last activation format -> linear (quantized weights, float bias).
    The parameters keep their float names (``features.{i}.0.weight``...), so the float model's
    state dict loads as is.
    """

    def __init__(self, model: Any, *, input_grid: Grid, weight_grids: Sequence[Grid],
                 activation_grids: Sequence[Grid], classifier_grid: Grid) -> None:
        super().__init__()
        model = copy.deepcopy(model)
        self.features: nn.Sequential = model.features
        self.pool: nn.Module = model.pool
        self.classifier: nn.Linear = model.classifier
        self.input_grid, self.classifier_grid = input_grid, classifier_grid
        self.weight_grids, self.activation_grids = tuple(weight_grids), tuple(activation_grids)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _fq(x, self.input_grid)
        blocks: list[Any] = list(self.features)  # Sequential(Conv2d, BatchNorm2d, ReLU) each
        for block, wg, ag in zip(blocks, self.weight_grids, self.activation_grids, strict=True):
            conv, bn = block[0], block[1]
            x = nn.functional.conv2d(x, _fq(conv.weight, wg), None, conv.stride, conv.padding, conv.dilation,
                                     conv.groups)
            x = _fq(torch.relu(bn(x)), ag)
        x = _fq(self.pool(x).flatten(1), self.activation_grids[-1])
        return nn.functional.linear(x, _fq(self.classifier.weight, self.classifier_grid), self.classifier.bias)


#: Powers of two tried for a layer's weight shift: 2**0 .. 2**MAX_SHIFT.
MAX_SHIFT = 10


def _best_shift(w: torch.Tensor, grid: Grid) -> int:
    """The power-of-two exponent ``k`` whose ``w * 2**k`` the grid rounds with the least squared error
    (measured back in ``w``'s units), ties to the smallest ``k``."""
    errors = [float(((_fq(w * 2.0 ** k, grid) / 2.0 ** k - w) ** 2).sum()) for k in range(MAX_SHIFT + 1)]
    return int(np.argmin(errors))


@torch.no_grad()
def fit_weight_shifts(model: QuantChainNetwork) -> tuple[int, ...]:
    """Give each convolution's weight format the power-of-two scale that rounds its weights best, in place.

    The grid of a format with ``f`` fraction bits becomes ``2**-(f + k)``: the integer codes, their
    bit width and so the hardware are the format's, and the factor ``2**-k`` folds into the
    BatchNorm that follows (on the FPGA, into the MVAU's thresholds), as FINN folds any scale.
    Without it, trained weights (median ``|w|`` about 0.05 on the digits) mostly round to 0 in a
    3-4-bit format whose step is 1/4 or 1/8. The weights themselves are not touched, so QAT
    trains them as float training would. Returns the exponents ``k``, input side first.
    """
    blocks: list[Any] = list(model.features)  # Sequential(Conv2d, BatchNorm2d, ReLU) each
    shifts = tuple(_best_shift(block[0].weight, grid) for block, grid in zip(blocks, model.weight_grids, strict=True))
    model.weight_grids = tuple((scale * 2.0 ** -k, qmin, qmax)
                               for (scale, qmin, qmax), k in zip(model.weight_grids, shifts, strict=True))
    return shifts


def state_to_numpy(model: nn.Module) -> dict[str, np.ndarray]:
    """The state dict as numpy copies (picklable without torch's storage sharing)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def load_state(model: nn.Module, state: dict[str, np.ndarray]) -> None:
    """Load a :func:`state_to_numpy` dict into ``model``."""
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})


def quant_accuracy(model: nn.Module, x_test: np.ndarray, y_test: np.ndarray, *, threads: int) -> tuple[float, float]:
    """Top-1 accuracy in percent of ``model`` in eval mode, and the wall seconds it took."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        start = time.perf_counter()
        model.eval()
        with torch.inference_mode():
            pred = model(torch.from_numpy(x_test)).argmax(dim=1).numpy()
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(old)
    return 100.0 * float(np.mean(pred == y_test)), seconds



class _WeightQuantizer(nn.Module):
    """A parametrization: the module's weight, fake-quantized on ``grid`` (straight-through gradient)."""

    def __init__(self, grid: Grid) -> None:
        super().__init__()
        self.grid = grid

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return _fq(w, self.grid)


def quantized_copy(model: nn.Module, weights: dict[str, Grid], outputs: dict[str, Grid],
                   input_grid: Grid | None) -> nn.Module:
    """A deep copy of ``model`` with the weights of the modules in ``weights`` and the outputs of the
    modules in ``outputs`` fake-quantized (and the input, with ``input_grid``); names are module names."""
    from torch.nn.utils import parametrize

    out = copy.deepcopy(model)
    mods = dict(out.named_modules())
    for name, grid in weights.items():
        parametrize.register_parametrization(mods[name], "weight", _WeightQuantizer(grid))
    for name, grid in outputs.items():
        mods[name].register_forward_hook(lambda _m, _i, y, g=grid: _fq(y, g))
    if input_grid is not None:
        out.register_forward_pre_hook(lambda _m, args, g=input_grid: (_fq(args[0], g), *args[1:]))
    return out
