"""Per-layer fixed-point quantization of FNAS chains, post-training (PTQ) or quantization-aware (QAT).

QuanNAS (Lu et al., ICCAD 2019) searches, per layer, a fixed-point format (integer and
fraction bits) for the weights and the activations, and scores a candidate by the accuracy
of the quantized network. This module gives that score on the digits chains of
:mod:`coexplore.nas.chain`, trained as :mod:`coexplore.nas.train` trains them.

Why torch's own fake quantization is enough (no brevitas): a fixed-point format with ``f``
fraction bits is a per-tensor affine quantizer with scale ``2**-f`` and zero point 0, clamped
to the format's integer range. ``torch.fake_quantize_per_tensor_affine`` is exactly that,
with a straight-through gradient inside the range, so the same model is evaluated after
training (PTQ) and fine-tuned (QAT). Nothing here needs per-channel scales, learned scales
or export to a quantized graph, which is what brevitas adds.

What is quantized, FINN-style: the network input (``input_format``), each convolution's
weights (its :class:`LayerQuant` ``weight``, signed) and its output after BatchNorm and ReLU
(``activation``, unsigned). BatchNorm stays in float before the activation quantizer: on the
FPGA, BatchNorm, ReLU and the quantizer fold into the MVAU's thresholds. The classifier's
input is the pooled last activation, requantized to the last layer's activation format; its
weights use ``classifier_weight`` and its bias stays float (an accumulator-width constant).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.chain import Chain, ChainSpace
from coexplore.nas.train import DIGITS_CLASSES, DIGITS_INPUT_SHAPE, digits_split, train_model
from coexplore.optional import require

__all__ = ["FixedPoint", "LayerQuant", "QuantChainEvaluator", "parse_fixed_point", "quantize_chain", "quantize_model"]

MAX_BITS = 16
_FORMAT_RE = re.compile(r"([su])(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True)
class FixedPoint:
    """A fixed-point format: ``integer`` and ``fraction`` bits, plus a sign bit when ``signed``.

    Written ``s1.6`` (signed, 1 integer bit, 6 fraction bits: 8 bits, -2 .. 1.984 in steps of
    1/64) or ``u3.4`` (unsigned, 7 bits, 0 .. 15.94 in steps of 1/16).
    """

    integer: int
    fraction: int
    signed: bool

    def __post_init__(self) -> None:
        problems = [f"fixed point {name}: must be an integer >= 0, got {v!r}"
                    for name, v in (("integer", self.integer), ("fraction", self.fraction))
                    if not isinstance(v, int) or isinstance(v, bool) or v < 0]
        if not isinstance(self.signed, bool):
            problems.append(f"fixed point signed: must be True or False, got {self.signed!r}")
        if problems:
            raise SpecError(problems)
        low = 2 if self.signed else 1
        if not low <= self.bits <= MAX_BITS:
            kind = "signed" if self.signed else "unsigned"
            raise SpecError(f"fixed point bits (integer + fraction + sign) of {self}: {kind} formats support "
                            f"{low}..{MAX_BITS} bits, got {self.bits}")

    @property
    def bits(self) -> int:
        return self.integer + self.fraction + int(self.signed)

    @property
    def scale(self) -> float:
        """Value of one step: ``2**-fraction``."""
        return 2.0 ** -self.fraction

    @property
    def qmin(self) -> int:
        return -(2 ** (self.bits - 1)) if self.signed else 0

    @property
    def qmax(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2 ** self.bits - 1

    def __str__(self) -> str:
        return f"{'s' if self.signed else 'u'}{self.integer}.{self.fraction}"


def parse_fixed_point(text: str) -> FixedPoint:
    """A :class:`FixedPoint` from ``s<integer>.<fraction>`` or ``u<integer>.<fraction>``."""
    m = _FORMAT_RE.fullmatch(text.strip())
    if m is None:
        raise SpecError(f"fixed point format {text!r}: must be written s<integer>.<fraction> or "
                        "u<integer>.<fraction>, e.g. s1.6")
    return FixedPoint(int(m[2]), int(m[3]), m[1] == "s")


@dataclass(frozen=True, slots=True)
class LayerQuant:
    """One convolution's formats: its weights (signed) and its output after BatchNorm and ReLU (unsigned)."""

    weight: FixedPoint
    activation: FixedPoint

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.weight, FixedPoint) or not self.weight.signed:
            problems.append(f"layer quant weight: must be a signed FixedPoint, got {self.weight!r}")
        if not isinstance(self.activation, FixedPoint) or self.activation.signed:
            problems.append(f"layer quant activation: must be an unsigned FixedPoint (after ReLU), "
                            f"got {self.activation!r}")
        if problems:
            raise SpecError(problems)

    def __str__(self) -> str:
        return f"{self.weight}/{self.activation}"


DEFAULT_INPUT = FixedPoint(3, 4, signed=True)
DEFAULT_CLASSIFIER_WEIGHT = FixedPoint(1, 6, signed=True)


def _grid(fmt: FixedPoint) -> tuple[float, int, int]:
    return fmt.scale, fmt.qmin, fmt.qmax


def quantize_chain(model: Any, quant: Sequence[LayerQuant], *, input_format: FixedPoint = DEFAULT_INPUT,
                   classifier_weight: FixedPoint = DEFAULT_CLASSIFIER_WEIGHT) -> Any:
    """A copy of a (trained) ChainNetwork whose forward fake-quantizes; ``model`` is left as is.

    Args:
        model: A :class:`~coexplore.nas._chain_torch.ChainNetwork` (``ChainSpace.to_torch``).
        quant: One :class:`LayerQuant` per convolution, input side first.
        input_format: Format of the network input (the standardised pixels).
        classifier_weight: Format of the classifier's weights.
    """
    require("torch", extra="nas", who="quantizing chain networks")
    from coexplore.nas._chain_torch import ChainNetwork
    from coexplore.nas._quantize_torch import QuantChainNetwork

    if not isinstance(model, ChainNetwork):
        raise SpecError(f"model: must be a ChainNetwork (ChainSpace.to_torch), got {type(model).__name__}")
    quant = tuple(quant)
    convs = len(model.features)
    problems = []
    if len(quant) != convs:
        problems.append(f"quant: needs one LayerQuant per convolution, got {len(quant)} for a chain of {convs}")
    problems += [f"quant[{i}]: must be a LayerQuant, got {q!r}" for i, q in enumerate(quant)
                 if not isinstance(q, LayerQuant)]
    problems += [f"{n}: must be a {kind} FixedPoint, got {v!r}"
                 for n, v, kind in (("input_format", input_format, "signed"),
                                    ("classifier_weight", classifier_weight, "signed"))
                 if not isinstance(v, FixedPoint) or not v.signed]
    if problems:
        raise SpecError(problems)
    return QuantChainNetwork(model, input_grid=_grid(input_format),
                             weight_grids=[_grid(q.weight) for q in quant],
                             activation_grids=[_grid(q.activation) for q in quant],
                             classifier_grid=_grid(classifier_weight))


_ACTIVATIONS = ("ReLU", "ReLU6")


def quantize_model(model: Any, quant: Mapping[str, LayerQuant], *, input_format: FixedPoint | None = DEFAULT_INPUT,
                   weights: Mapping[str, FixedPoint] | None = None) -> Any:
    """A copy of any trained PyTorch network with per-layer fixed-point formats, fake-quantized (PTQ or QAT).

    For networks other than FNAS chains (e.g. :class:`~coexplore.nas.blocks.BlockSpace`'s):
    ``quant`` maps a convolution's or linear layer's module name (the layer names of the space's
    ``to_network``, e.g. ``features.1.conv.0.0``) to its formats. Its weights are quantized with
    ``weight``; ``activation`` quantizes the output of the block the layer opens when that block
    is a ``Sequential`` ending in ReLU or ReLU6 (conv -> BatchNorm -> ReLU, FINN's thresholded
    activation); a layer whose output is not rectified (a projection before a residual sum, the
    classifier) keeps a float output, which this function does not hide: it refuses an unsigned
    activation format there. ``weights`` quantizes the weights of further modules only (e.g. the
    classifier's). Quantize the trained model: the copy's weights become parametrized
    (``parametrizations.weight.original``), so QAT trains the float weights behind the quantizer.

    Raises:
        SpecError: an unknown module name, a module without weights, a format of the wrong sign,
            or an activation format on a layer whose output is not rectified; each named.
    """
    require("torch", extra="nas", who="quantizing networks")
    from coexplore.nas._quantize_torch import quantized_copy

    mods = dict(model.named_modules())
    problems: list[str] = []
    w_grids: dict[str, tuple[float, int, int]] = {}
    out_grids: dict[str, tuple[float, int, int]] = {}
    for name, q in quant.items():
        if name not in mods or not hasattr(mods[name], "weight"):
            problems.append(f"quant[{name!r}]: no layer with weights of that name in the model")
            continue
        if not isinstance(q, LayerQuant):
            problems.append(f"quant[{name!r}]: must be a LayerQuant, got {q!r}")
            continue
        w_grids[name] = _grid(q.weight)
        parent, _, index = name.rpartition(".")
        block = mods.get(parent)
        seq = list(block) if block is not None and type(block).__name__ == "Sequential" else []
        if index != "0" or not seq or type(seq[-1]).__name__ not in _ACTIVATIONS:
            problems.append(f"quant[{name!r}]: its output is not rectified (no ReLU/ReLU6 closes its block), so it "
                            f"takes no unsigned activation format; give its weight format in weights=")
            continue
        out_grids[parent] = _grid(q.activation)
    for name, fmt in (weights or {}).items():
        if name not in mods or not hasattr(mods[name], "weight"):
            problems.append(f"weights[{name!r}]: no layer with weights of that name in the model")
        elif not isinstance(fmt, FixedPoint) or not fmt.signed:
            problems.append(f"weights[{name!r}]: must be a signed FixedPoint, got {fmt!r}")
        else:
            w_grids[name] = _grid(fmt)
    if input_format is not None and (not isinstance(input_format, FixedPoint) or not input_format.signed):
        problems.append(f"input_format: must be a signed FixedPoint or None, got {input_format!r}")
    if problems:
        raise SpecError(problems)
    return quantized_copy(model, w_grids, out_grids, None if input_format is None else _grid(input_format))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class QuantChainEvaluator:
    """Float and quantized accuracy (percent) of digits chains, each float model trained once.

    The float training is :class:`~coexplore.nas.train.TrainingEvaluator`'s recipe (same split,
    seed, AdamW at lr 1e-2, cosine decay, ``epochs``). Then ``mode`` ``"qat"`` fine-tunes the
    fake-quantized copy for ``qat_epochs`` (AdamW at ``qat_lr``, cosine to 0, BatchNorm statistics
    updated), ``"ptq"`` quantizes and tests with the trained weights and BatchNorm statistics.
    Trained float weights are cached as numpy arrays so the evaluator pickles.

    Attributes:
        space: A ``ChainSpace(dataset="digits")`` (1x8x8 input, 10 classes).
        epochs, qat_epochs: Float training and QAT budgets (passes over the training images).
        mode: ``"qat"`` or ``"ptq"``.
        seed: Seed of the split, the initialisation and the batch order (QAT's too).
        qat_lr: QAT's initial learning rate.
        threads: Torch intra-op threads.
        input_format, classifier_weight: The fixed formats of the input and the classifier weights.
        weight_shifts: Before quantizing, give each convolution's weight format the power-of-two
            scale ``2**-(fraction + k)`` that rounds its trained weights best (same codes and bits;
            the factor folds into the BatchNorm, on the FPGA into the thresholds): see
            ``_quantize_torch.fit_weight_shifts``. ``False`` uses ``2**-fraction`` (the ablation).
        shifts: The exponents chosen per layer, by (chain text, formats).
        float_seconds: Wall seconds of each float training, by chain text.
        quant_seconds: Wall seconds of each QAT run (PTQ: its test pass), by (chain text, formats).
    """

    space: ChainSpace
    epochs: int = 5
    qat_epochs: int = 2
    mode: str = "qat"
    seed: int = 0
    qat_lr: float = 2e-3
    threads: int = 1
    input_format: FixedPoint = DEFAULT_INPUT
    classifier_weight: FixedPoint = DEFAULT_CLASSIFIER_WEIGHT
    weight_shifts: bool = True
    float_seconds: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    quant_seconds: dict[tuple[str, tuple[str, ...]], float] = field(default_factory=dict, init=False, repr=False)
    shifts: dict[tuple[str, tuple[str, ...]], tuple[int, ...]] = field(default_factory=dict, init=False, repr=False)
    _float_state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, init=False, repr=False)
    _float_accuracy: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _quant_accuracy: dict[tuple[str, tuple[str, ...]], float] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.space, ChainSpace) or tuple(self.space.input_shape) != DIGITS_INPUT_SHAPE \
                or self.space.num_classes != DIGITS_CLASSES:
            problems.append(f"QuantChainEvaluator.space: must be a ChainSpace on the digits "
                            f"(input {DIGITS_INPUT_SHAPE}, {DIGITS_CLASSES} classes), got {self.space!r}")
        if self.mode not in ("qat", "ptq"):
            problems.append(f"QuantChainEvaluator.mode: must be 'qat' or 'ptq', got {self.mode!r}")
        problems += [f"QuantChainEvaluator.{n}: must be a positive integer, got {v!r}"
                     for n, v in (("epochs", self.epochs), ("qat_epochs", self.qat_epochs),
                                  ("threads", self.threads))
                     if not isinstance(v, int) or isinstance(v, bool) or v <= 0]
        if not isinstance(self.weight_shifts, bool):
            problems.append(f"QuantChainEvaluator.weight_shifts: must be True or False, got {self.weight_shifts!r}")
        if not (isinstance(self.qat_lr, int | float) and self.qat_lr > 0):
            problems.append(f"QuantChainEvaluator.qat_lr: must be > 0, got {self.qat_lr!r}")
        problems += [f"QuantChainEvaluator.{n}: must be a signed FixedPoint, got {v!r}"
                     for n, v in (("input_format", self.input_format), ("classifier_weight", self.classifier_weight))
                     if not isinstance(v, FixedPoint) or not v.signed]
        if problems:
            raise SpecError(problems)

    @property
    def name(self) -> str:
        return (f"quant-digits:{self.space.name}/{self.epochs}ep/{self.mode}"
                f"{self.qat_epochs if self.mode == 'qat' else ''}{'' if self.weight_shifts else '/noshift'}"
                f"/seed{self.seed}")

    def _model(self, chain: Chain) -> Any:
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return self.space.to_torch(chain)

    def float_accuracy(self, chain: Chain) -> float:
        """Held-out accuracy in percent of ``chain`` trained in float (trained once, then cached)."""
        require("torch", extra="nas", who="training networks on the digits")
        from coexplore.nas._quantize_torch import state_to_numpy

        key = str(chain)
        if key not in self._float_accuracy:
            start = time.perf_counter()
            model = self._model(chain)
            result = train_model(model, digits_split(seed=self.seed), epochs=self.epochs, seed=self.seed,
                                 threads=self.threads)
            self._float_state[key] = state_to_numpy(model)
            self._float_accuracy[key] = result.accuracy
            self.float_seconds[key] = time.perf_counter() - start
        return self._float_accuracy[key]

    def float_weights(self, chain: Chain) -> dict[str, np.ndarray]:
        """A copy of ``chain``'s trained float state dict (trained first if needed), e.g. to pick formats from
        the weights' ranges."""
        self.float_accuracy(chain)
        return {k: v.copy() for k, v in self._float_state[str(chain)].items()}

    def reference_accuracy(self, chain: Chain) -> float:
        """Accuracy in percent of ``chain`` without quantization, trained exactly as long as its quantized copies.

        QAT fine-tunes the float weights for ``qat_epochs`` more; this fine-tunes them the same way
        (same seed, lr and schedule) without the quantizers, so that "with" minus "without
        quantization" is what the quantization costs, not the extra epochs. PTQ: the float accuracy.
        """
        require("torch", extra="nas", who="training networks on the digits")
        from coexplore.nas._quantize_torch import load_state

        if self.mode == "ptq":
            return self.float_accuracy(chain)
        key = (str(chain), ("float",))
        if key not in self._quant_accuracy:
            self.float_accuracy(chain)
            model = self._model(chain)
            load_state(model, self._float_state[str(chain)])
            start = time.perf_counter()
            self._quant_accuracy[key] = train_model(model, digits_split(seed=self.seed), epochs=self.qat_epochs,
                                                    seed=self.seed, lr=self.qat_lr, threads=self.threads).accuracy
            self.quant_seconds[key] = time.perf_counter() - start
        return self._quant_accuracy[key]

    def quantized_accuracy(self, chain: Chain, quant: Sequence[LayerQuant]) -> float:
        """Held-out accuracy in percent of ``chain`` quantized with ``quant`` (one per layer), cached."""
        require("torch", extra="nas", who="quantizing chain networks")
        from coexplore.nas._quantize_torch import fit_weight_shifts, load_state, quant_accuracy

        quant = tuple(quant)
        key = (str(chain), tuple(str(q) for q in quant))
        if key in self._quant_accuracy:
            return self._quant_accuracy[key]
        qmodel = quantize_chain(self._model(chain), quant, input_format=self.input_format,
                                classifier_weight=self.classifier_weight)  # checks quant before training
        self.float_accuracy(chain)
        load_state(qmodel, self._float_state[str(chain)])  # same parameter names as the float model
        self.shifts[key] = fit_weight_shifts(qmodel) if self.weight_shifts else (0,) * len(quant)
        split = digits_split(seed=self.seed)
        if self.mode == "qat":
            start = time.perf_counter()
            accuracy = train_model(qmodel, split, epochs=self.qat_epochs, seed=self.seed, lr=self.qat_lr,
                                   threads=self.threads).accuracy
            seconds = time.perf_counter() - start
        else:
            accuracy, seconds = quant_accuracy(qmodel, split.x_test, split.y_test, threads=self.threads)
        self._quant_accuracy[key], self.quant_seconds[key] = accuracy, seconds
        return accuracy
