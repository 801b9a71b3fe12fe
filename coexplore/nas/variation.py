"""Accuracy of FNAS digits chains under crossbar device variation, and variation-aware training (NACIM).

NACIM (Jiang et al., IEEE TC 2021) stores each weight of a computing-in-memory accelerator as
conductances whose programmed value varies from device to device, and scores a design by its
accuracy under that variation; a network trained with the variation in mind loses less of it.
This module gives both numbers for the chains of :mod:`coexplore.nas.chain`, float or quantized
with :func:`~coexplore.nas.quantize.quantize_chain`.

Noise model (per cell, multiplicative Gaussian, one draw per programming of the chip): a cell
programmed to value ``v`` reads ``v (1 + eps)``, ``eps ~ N(0, sigma**2)`` independently per cell.
A float weight, or a quantized one without ``cell_bits``, is one cell: it reads ``w (1 + eps)``.
With ``cell_bits``, a quantized weight's integer code ``q`` (``w = q * 2**-fraction``) is stored
sign-magnitude on a differential pair: the sign chooses the column, the other column is at zero
conductance (no error), and ``|q|`` (at most ``2**(bits-1)``) is split into ``bits / cell_bits``
slices of ``cell_bits`` bits, least significant first, combined by shift-and-add. Slice ``j``
holding ``m_j`` reads ``m_j (1 + eps_j)``, so the weight reads
``w + sign(q) 2**-fraction sigma sum_j 2**(j cell_bits) m_j eps_j``: unbiased, with a relative
spread of ``sigma`` for a one-cell weight and less when the magnitude spreads over several cells.
Noise applies to the convolution and classifier weights (the crossbars); the input, BatchNorm,
ReLU, pooling, activation quantizers and the classifier bias are digital and exact.

Not modelled: ADC quantization of the column partial sums (it needs the crossbar tiling of the
CIM cost model), read noise varying from one inference to the next, drift, stuck cells and
the off-state conductance of a zero slice. ``sigma`` is a parameter: 0.1 is the RRAM figure the
issue and the variation-aware literature assume (an assumption here, not a measurement).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.chain import Chain, ChainSpace
from coexplore.nas.quantize import (
    DEFAULT_CLASSIFIER_WEIGHT,
    DEFAULT_INPUT,
    FixedPoint,
    LayerQuant,
    QuantChainEvaluator,
    quantize_chain,
)
from coexplore.nas.train import DigitsSplit, digits_split, train_model
from coexplore.optional import require

__all__ = ["MAX_SIGMA", "NoisyAccuracy", "VariationChainEvaluator", "VariationResult", "noisy_accuracy",
           "noisy_chain", "variation_aware_train"]

#: Largest relative conductance spread accepted: beyond it a cell's sign flips often (not a device).
MAX_SIGMA = 1.0


class NoisyAccuracy(NamedTuple):
    """Monte Carlo accuracy in percent: mean and spread (population std) over the draws, and each draw's."""

    mean: float
    std: float
    per_draw: tuple[float, ...]


def _check_noise(sigma: Any, cell_bits: Any, weight_bits: Sequence[tuple[str, int]] | None,
                 draws: Any = 1, seed: Any = 0) -> None:
    problems = []
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not 0.0 <= sigma <= MAX_SIGMA:
        problems.append(f"sigma: must be a number in [0, {MAX_SIGMA:g}] (relative conductance spread), got {sigma!r}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        problems.append(f"draws: must be an integer >= 1, got {draws!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.append(f"seed: must be an integer >= 0, got {seed!r}")
    if cell_bits is not None:
        if isinstance(cell_bits, bool) or not isinstance(cell_bits, int) or cell_bits < 1:
            problems.append(f"cell_bits: must be an integer >= 1 or None, got {cell_bits!r}")
        elif weight_bits is None:
            problems.append(f"cell_bits: {cell_bits} needs quantized weights to split over cells; a float "
                            "network has none (quantize_chain it first, or leave cell_bits None)")
        else:
            problems += [f"cell_bits: {cell_bits} must divide the {bits} weight bits of {name}"
                         for name, bits in weight_bits if bits % cell_bits]
    if problems:
        raise SpecError(problems)


def noisy_chain(model: Any, *, sigma: float, cell_bits: int | None = None) -> Any:
    """A noisy copy of a chain: float (``ChainSpace.to_torch``) or fake-quantized (``quantize_chain``).

    The copy draws fresh noise on every forward pass from its ``generator`` attribute (a
    ``torch.Generator``; torch's global one while it is None). ``model`` is left as is.

    Raises:
        SpecError: a model that is no chain, ``sigma`` outside [0, 1], or ``cell_bits`` that is not
            a positive integer dividing every quantized weight format's bits (or is given for a float net).
    """
    require("torch", extra="nas", who="modelling device variation")
    from coexplore.nas._chain_torch import ChainNetwork
    from coexplore.nas._quantize_torch import QuantChainNetwork
    from coexplore.nas._variation_torch import NoisyChainNetwork, grid_bits

    if isinstance(model, NoisyChainNetwork):
        quantized = model.weight_grids is not None
        grids: dict[str, Any] = {"input_grid": model.input_grid, "weight_grids": model.weight_grids,
                                 "activation_grids": model.activation_grids, "classifier_grid": model.classifier_grid}
    elif isinstance(model, QuantChainNetwork):
        quantized = True
        grids = {"input_grid": model.input_grid, "weight_grids": model.weight_grids,
                 "activation_grids": model.activation_grids, "classifier_grid": model.classifier_grid}
    elif isinstance(model, ChainNetwork):
        quantized = False
        grids = {"input_grid": None, "weight_grids": None, "activation_grids": None, "classifier_grid": None}
    else:
        raise SpecError(f"model: must be a chain network (ChainSpace.to_torch, quantize_chain or noisy_chain), "
                        f"got {type(model).__name__}")
    weight_bits = None
    if quantized:
        weight_bits = [(f"layer {i}", grid_bits(g)) for i, g in enumerate(grids["weight_grids"])]
        weight_bits.append(("the classifier", grid_bits(grids["classifier_grid"])))
    _check_noise(sigma, cell_bits, weight_bits)
    return NoisyChainNetwork(model, sigma=sigma, cell_bits=cell_bits, **grids)


def _draw_seed(seed: int, stream: int, index: int) -> int:
    """A torch seed for draw ``index`` of ``stream`` (0: Monte Carlo chips, 1: training noise)."""
    return int(np.random.SeedSequence([seed, stream, index]).generate_state(1, dtype=np.uint64)[0] >> 1)


def noisy_accuracy(model: Any, x_test: np.ndarray, y_test: np.ndarray, *, sigma: float, draws: int = 20,
                   seed: int = 0, cell_bits: int | None = None, threads: int = 1) -> NoisyAccuracy:
    """Top-1 accuracy in percent of a chain under device variation, by Monte Carlo over ``draws`` chips.

    Draw ``d`` programs every crossbar once, from a generator seeded by ``(seed, d)``, and tests all
    images with it (eval mode). The same seed gives the same draws, also across networks of the
    same shapes (common random numbers for a paired comparison).
    """
    _check_noise(sigma, None, None, draws, seed)  # cell_bits: checked against the model's formats below
    require("torch", extra="nas", who="modelling device variation")
    import torch

    noisy = noisy_chain(model, sigma=sigma, cell_bits=cell_bits)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    accs = []
    try:
        noisy.eval()
        xs = torch.from_numpy(x_test)
        with torch.inference_mode():
            for d in range(draws):
                noisy.generator = torch.Generator().manual_seed(_draw_seed(seed, 0, d))
                pred = noisy(xs).argmax(dim=1).numpy()
                accs.append(100.0 * float(np.mean(pred == y_test)))
    finally:
        torch.set_num_threads(old)
    return NoisyAccuracy(float(np.mean(accs)), float(np.std(accs)), tuple(accs))


def variation_aware_train(model: Any, split: DigitsSplit, *, sigma: float, cell_bits: int | None = None,
                          epochs: int = 2, lr: float = 2e-3, seed: int = 0, threads: int = 1) -> Any:
    """A noisy copy of a (trained) chain, fine-tuned with a fresh noise draw per batch; ``model`` is left as is.

    The recipe is :func:`~coexplore.nas.train.train_model`'s (AdamW, cosine to 0, BatchNorm statistics
    updated under noise), the noise generator seeded by ``seed``: the same seed gives the same weights.
    Fine-tune a quantized chain to get variation- and quantization-aware training at once.
    """
    _check_noise(sigma, None, None, 1, seed)  # cell_bits: checked against the model's formats below
    require("torch", extra="nas", who="variation-aware training")
    import torch

    noisy = noisy_chain(model, sigma=sigma, cell_bits=cell_bits)
    noisy.generator = torch.Generator().manual_seed(_draw_seed(seed, 1, 0))
    train_model(noisy, split, epochs=epochs, seed=seed, lr=lr, threads=threads)
    noisy.generator = None
    return noisy.eval()


@dataclass(frozen=True, slots=True, kw_only=True)
class VariationResult:
    """One chain at one set of formats and one ``sigma``: clean and noisy accuracy (percent) of both trainings.

    ``plain`` is fine-tuned ``tune_epochs`` without noise (QAT alone when quantized), ``aware`` the same
    with noise; both start from the same float weights and see the same noise draws at test.
    """

    chain: str
    formats: tuple[str, ...]
    sigma: float
    float_accuracy: float
    plain_clean: float
    plain_noisy: NoisyAccuracy
    aware_clean: float
    aware_noisy: NoisyAccuracy
    plain_seconds: float
    aware_seconds: float
    monte_carlo_seconds: float


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class VariationChainEvaluator:
    """Clean and noisy accuracy of digits chains, plainly and variation-aware fine-tuned, float training cached.

    Float training is :class:`~coexplore.nas.quantize.QuantChainEvaluator`'s (and cached there, as
    numpy arrays, so this pickles). Each evaluation then fine-tunes the float weights for
    ``tune_epochs`` (AdamW at ``tune_lr``, cosine) at the given formats, once without noise (the
    plain network, cached per formats) and once with noise at ``sigma`` (cached per sigma), and
    tests both clean and over ``draws`` Monte Carlo chips.

    Attributes:
        space: A ``ChainSpace(dataset="digits")``.
        epochs, tune_epochs: Float training and fine-tuning budgets.
        tune_lr: Fine-tuning's initial learning rate.
        seed: Seed of the split, initialisation, batch order, training noise and the Monte Carlo draws.
        draws: Monte Carlo chips per noisy accuracy.
        cell_bits: Bits per cell (None: a weight is one cell); must divide every weight format's bits.
        threads: Torch intra-op threads.
        input_format, classifier_weight: Fixed formats of the input and the classifier's weights.
        float_source: A :class:`~coexplore.nas.quantize.QuantChainEvaluator` whose float training to
            reuse (same space, epochs and seed), e.g. shared by evaluators of different ``cell_bits``.
    """

    space: ChainSpace
    epochs: int = 5
    tune_epochs: int = 2
    tune_lr: float = 2e-3
    seed: int = 0
    draws: int = 20
    cell_bits: int | None = None
    threads: int = 1
    input_format: FixedPoint = DEFAULT_INPUT
    classifier_weight: FixedPoint = DEFAULT_CLASSIFIER_WEIGHT
    float_source: QuantChainEvaluator | None = field(default=None, repr=False)
    _float: QuantChainEvaluator = field(init=False, repr=False)
    _plain_state: dict[tuple[str, tuple[str, ...]], tuple[dict[str, np.ndarray], float, float]] = field(
        default_factory=dict, init=False, repr=False)
    _results: dict[tuple[str, tuple[str, ...], float], VariationResult] = field(default_factory=dict, init=False,
                                                                                repr=False)

    def __post_init__(self) -> None:
        problems = [f"VariationChainEvaluator.{n}: must be a positive integer, got {v!r}"
                    for n, v in (("tune_epochs", self.tune_epochs), ("draws", self.draws))
                    if not isinstance(v, int) or isinstance(v, bool) or v <= 0]
        if not (isinstance(self.tune_lr, int | float) and self.tune_lr > 0):
            problems.append(f"VariationChainEvaluator.tune_lr: must be > 0, got {self.tune_lr!r}")
        if self.cell_bits is not None and (not isinstance(self.cell_bits, int) or isinstance(self.cell_bits, bool)
                                           or self.cell_bits < 1):
            problems.append(f"VariationChainEvaluator.cell_bits: must be an integer >= 1 or None, "
                            f"got {self.cell_bits!r}")
        src = self.float_source
        same = src is not None and isinstance(src, QuantChainEvaluator) and (
            src.space.name, src.space.cardinalities, src.epochs, src.seed) == (
            self.space.name, self.space.cardinalities, self.epochs, self.seed)
        if src is not None and not same:
            problems.append(f"VariationChainEvaluator.float_source: must be a QuantChainEvaluator of the same space, "
                            f"epochs ({self.epochs}) and seed ({self.seed}), got {src!r}")
        if problems:
            raise SpecError(problems)
        if src is not None:
            object.__setattr__(self, "_float", src)
            return
        object.__setattr__(self, "_float", QuantChainEvaluator(
            space=self.space, epochs=self.epochs, qat_epochs=self.tune_epochs, seed=self.seed, qat_lr=self.tune_lr,
            threads=self.threads, input_format=self.input_format, classifier_weight=self.classifier_weight))

    @property
    def name(self) -> str:
        cells = "" if self.cell_bits is None else f"/{self.cell_bits}b-cells"
        return (f"variation-digits:{self.space.name}/{self.epochs}ep/tune{self.tune_epochs}/"
                f"{self.draws}draws{cells}/seed{self.seed}")

    def float_accuracy(self, chain: Chain) -> float:
        """Held-out accuracy in percent of ``chain`` trained in float (trained once, then cached)."""
        return self._float.float_accuracy(chain)

    def _fresh(self, chain: Chain, quant: tuple[LayerQuant, ...] | None) -> Any:
        """``chain``'s model (quantized when ``quant``), initialised under the seed; the caller's RNG is untouched."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = self.space.to_torch(chain)
        if quant is not None:
            model = quantize_chain(model, quant, input_format=self.input_format,
                                   classifier_weight=self.classifier_weight)
        return model

    def _base(self, chain: Chain, quant: tuple[LayerQuant, ...] | None) -> Any:
        """The trained float weights in ``chain``'s model; quantized, with the weight scales
        :class:`~coexplore.nas.quantize.QuantChainEvaluator` fits (``fit_weight_shifts``)."""
        from coexplore.nas._quantize_torch import fit_weight_shifts, load_state

        model = self._fresh(chain, quant)
        load_state(model, self._float.float_weights(chain))
        if quant is not None:
            fit_weight_shifts(model)
        return model

    def evaluate(self, chain: Chain, quant: Sequence[LayerQuant] | None, sigma: float) -> VariationResult:
        """Clean and noisy accuracy of ``chain`` at formats ``quant`` (None: float) under ``sigma``, cached."""
        require("torch", extra="nas", who="modelling device variation")
        from coexplore.nas._quantize_torch import load_state, quant_accuracy, state_to_numpy

        q = None if quant is None else tuple(quant)
        formats = ("float",) if q is None else tuple(str(x) for x in q)
        key = (str(chain), formats, float(sigma))
        if key in self._results:
            return self._results[key]
        noisy_chain(self._fresh(chain, q), sigma=sigma, cell_bits=self.cell_bits)  # checks before any training
        split = digits_split(seed=self.seed)
        pkey = (str(chain), formats)
        if pkey not in self._plain_state:
            plain = self._base(chain, q)
            start = time.perf_counter()
            train_model(plain, split, epochs=self.tune_epochs, seed=self.seed, lr=self.tune_lr, threads=self.threads)
            seconds = time.perf_counter() - start
            clean = quant_accuracy(plain, split.x_test, split.y_test, threads=self.threads)[0]
            self._plain_state[pkey] = (state_to_numpy(plain), clean, seconds)
        state, plain_clean, plain_seconds = self._plain_state[pkey]
        plain = self._base(chain, q)
        load_state(plain, state)
        start = time.perf_counter()
        aware = variation_aware_train(self._base(chain, q), split, sigma=sigma, cell_bits=self.cell_bits,
                                      epochs=self.tune_epochs, lr=self.tune_lr, seed=self.seed, threads=self.threads)
        aware_seconds = time.perf_counter() - start
        aware_clean = noisy_accuracy(aware, split.x_test, split.y_test, sigma=0.0, draws=1,
                                     threads=self.threads).mean
        start = time.perf_counter()
        mc = {name: noisy_accuracy(m, split.x_test, split.y_test, sigma=sigma, draws=self.draws, seed=self.seed,
                                   cell_bits=self.cell_bits, threads=self.threads)
              for name, m in (("plain", plain), ("aware", aware))}
        mc_seconds = time.perf_counter() - start
        result = VariationResult(chain=str(chain), formats=formats, sigma=float(sigma),
                                 float_accuracy=self.float_accuracy(chain), plain_clean=plain_clean,
                                 plain_noisy=mc["plain"], aware_clean=aware_clean, aware_noisy=mc["aware"],
                                 plain_seconds=plain_seconds, aware_seconds=aware_seconds,
                                 monte_carlo_seconds=mc_seconds)
        self._results[key] = result
        return result
