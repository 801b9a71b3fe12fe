"""The FNAS chain space: a plain stack of convolutions, each with a filter size and a filter count.

FNAS (Jiang et al., DAC 2019) searches child networks that are chains of up to L
convolution layers; its controller picks, per layer, a filter size and a filter number
from short lists, and the FPGA tiling model (:mod:`coexplore.cost.fpga`) prices the chain
before any training. The presets are FNAS's table (MNIST <= 5 layers, CIFAR-10 <= 10,
ImageNet <= 15) plus ``digits``, scikit-learn's 8x8 digits, which is small enough to
really train here (:mod:`coexplore.nas.train`). Its filter sizes are [3, 5, 7] instead
of MNIST's [5, 7, 14]: odd sizes keep 'same' padding symmetric, and 7 nearly covers
the 8x8 image as 14 covers half of MNIST's 28x28; its counts are MNIST's.

Every convolution keeps the resolution ('same' padding, stride 1), as FNAS's child
networks do, and is followed by BatchNorm and ReLU. BatchNorm is there because chains
of up to 15 plain convolutions train poorly in a short budget without it; at inference
it folds into the convolution, so the accelerator sees the same layers. Then global
average pooling and a linear classifier. An even filter size (MNIST's 14) gets PyTorch's
asymmetric 'same' padding, one more row and column after than before; its
:class:`~coexplore.spec.workload.Layer` records the smaller side, ``(size - 1) // 2``, as
the traced model does, and its output size is exact.

Decisions: the number of layers (1..L), then (filter size, filter count) for each of
the L possible layers. Decisions of layers beyond the chosen number are unused, and
:meth:`ChainSpace.to_choices` sets them to 0, so equal networks have equal choices.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.space import ArchSpace
from coexplore.predict.features import ArchFeatures
from coexplore.search.encoding import Condition
from coexplore.spec.workload import Layer, Network

__all__ = ["CHAIN_PRESETS", "Chain", "ChainPreset", "ChainSpace", "parse_chain"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainPreset:
    """One dataset's chain space: input (C, H, W), classes and FNAS's search lists."""

    input_chw: tuple[int, int, int]
    num_classes: int
    max_layers: int
    sizes: tuple[int, ...]
    counts: tuple[int, ...]


CHAIN_PRESETS: dict[str, ChainPreset] = {
    "mnist": ChainPreset(input_chw=(1, 28, 28), num_classes=10, max_layers=5, sizes=(5, 7, 14), counts=(9, 18, 36)),
    "cifar10": ChainPreset(input_chw=(3, 32, 32), num_classes=10, max_layers=10, sizes=(1, 3, 5, 7),
                           counts=(24, 36, 48, 64)),
    "imagenet": ChainPreset(input_chw=(3, 224, 224), num_classes=1000, max_layers=15, sizes=(1, 3, 5, 7),
                            counts=(16, 32, 64, 128)),
    "digits": ChainPreset(input_chw=(1, 8, 8), num_classes=10, max_layers=5, sizes=(3, 5, 7), counts=(9, 18, 36)),
}

_LAYER_RE = re.compile(r"k(\d+)c(\d+)")


@dataclass(frozen=True, slots=True)
class Chain:
    """The (filter size, filter count) of each convolution, input side first."""

    layers: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        problems = [f"chain.layers[{i}]: must be (filter size, filter count) of positive integers, got {p!r}"
                    for i, p in enumerate(self.layers)
                    if len(p) != 2 or any(not isinstance(v, int) or isinstance(v, bool) or v <= 0 for v in p)]
        if not self.layers:
            problems.insert(0, "chain.layers: must have at least one layer, got 0")
        if problems:
            raise SpecError(problems)

    def __str__(self) -> str:
        return "-".join(f"k{s}c{c}" for s, c in self.layers)


def parse_chain(text: str) -> Chain:
    """A :class:`Chain` from its text form ``k3c24-k5c36`` (size ``k``, count ``c`` per layer)."""
    parts = text.strip().split("-")
    problems, layers = [], []
    for i, part in enumerate(parts):
        m = _LAYER_RE.fullmatch(part)
        if m is None:
            problems.append(f"chain string {text!r}: layer {i} {part!r} must be written k<size>c<count>")
        else:
            layers.append((int(m[1]), int(m[2])))
    if problems:
        raise SpecError(problems)
    return Chain(tuple(layers))


def _positive_ints(name: str, value: Sequence[int], problems: list[str]) -> tuple[int, ...]:
    v = tuple(value)
    if not v or any(not isinstance(x, int | np.integer) or isinstance(x, bool) or x <= 0 for x in v) \
            or len(set(v)) != len(v):
        problems.append(f"chain.{name}: must be distinct positive integers, at least one, got {list(v)!r}")
        return v
    return tuple(int(x) for x in v)


class ChainSpace(ArchSpace[Chain]):
    """FNAS chains for one dataset; ``max_layers``, ``sizes`` and ``counts`` override the preset.

    Args:
        dataset: ``mnist``, ``cifar10`` (default), ``imagenet`` or ``digits``.
        max_layers: Largest number of convolutions L (the preset's when None).
        sizes: Filter sizes a layer may take (square kernels).
        counts: Filter counts (output channels) a layer may take.
    """

    def __init__(self, *, dataset: str = "cifar10", max_layers: int | None = None,
                 sizes: Sequence[int] | None = None, counts: Sequence[int] | None = None) -> None:
        if dataset not in CHAIN_PRESETS:
            raise SpecError(f"chain.dataset: must be one of {', '.join(CHAIN_PRESETS)}, got {dataset!r}")
        preset = CHAIN_PRESETS[dataset]
        problems: list[str] = []
        L = preset.max_layers if max_layers is None else max_layers
        if not isinstance(L, int | np.integer) or isinstance(L, bool) or L <= 0:
            problems.append(f"chain.max_layers: must be a positive integer, got {max_layers!r}")
        self.sizes = _positive_ints("sizes", preset.sizes if sizes is None else sizes, problems)
        self.counts = _positive_ints("counts", preset.counts if counts is None else counts, problems)
        if problems:
            raise SpecError(problems)
        self.dataset, self.max_layers = dataset, int(L)
        self.in_channels, self.height, self.width = preset.input_chw
        self.num_classes = preset.num_classes
        self.name = f"fnas-{dataset}"
        self.cardinalities = (self.max_layers, *(len(self.sizes), len(self.counts)) * self.max_layers)

    # -- decisions -------------------------------------------------------------------------
    @property
    def conditions(self) -> tuple[Condition, ...]:
        """Layer ``i``'s size and count matter only in chains of more than ``i`` layers (decision 0)."""
        L = self.max_layers
        return tuple(Condition(child=1 + 2 * i + k, parent=0, values=tuple(range(i, L)))
                     for i in range(1, L) for k in (0, 1))

    def from_choices(self, choices: Sequence[int]) -> Chain:
        c = self.check_choices(choices)
        return Chain(tuple((self.sizes[c[1 + 2 * i]], self.counts[c[2 + 2 * i]]) for i in range(c[0] + 1)))

    def to_choices(self, arch: Chain) -> tuple[int, ...]:
        self._check(arch)
        out = [len(arch.layers) - 1] + [0] * (2 * self.max_layers)
        for i, (s, c) in enumerate(arch.layers):
            out[1 + 2 * i], out[2 + 2 * i] = self.sizes.index(s), self.counts.index(c)
        return tuple(out)

    def _check(self, arch: Chain, text: str | None = None) -> None:
        where = f"chain string {text!r}: " if text is not None else f"{self.name}: chain {arch}: "
        problems = []
        if len(arch.layers) > self.max_layers:
            problems.append(f"{where}must have at most {self.max_layers} layers, got {len(arch.layers)}")
        for i, (s, c) in enumerate(arch.layers):
            if s not in self.sizes:
                problems.append(f"{where}layer {i} filter size must be one of {list(self.sizes)}, got {s}")
            if c not in self.counts:
                problems.append(f"{where}layer {i} filter count must be one of {list(self.counts)}, got {c}")
        if problems:
            raise SpecError(problems)

    def parse(self, text: str) -> Chain:
        arch = parse_chain(text)
        self._check(arch, text)
        return arch

    def format(self, arch: Chain) -> str:
        return str(arch)

    # -- networks --------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        return (1, self.in_channels, self.height, self.width)

    def to_network(self, arch: Chain) -> Network:
        """One convolution per layer at the input resolution, then the classifier (FC)."""
        self._check(arch)
        layers, cin = [], self.in_channels
        for i, (s, c) in enumerate(arch.layers):
            layers.append(Layer(name=f"features.{i}.0", K=c, C=cin, P=self.height, Q=self.width, R=s, S=s,
                                padding=((s - 1) // 2, (s - 1) // 2)))
            cin = c
        layers.append(Layer(name="classifier", K=self.num_classes, C=cin, op="fc"))
        return Network(name=f"{self.name}:{arch}", layers=tuple(layers))

    def to_torch(self, arch: Chain) -> Any:
        from coexplore.nas._chain_torch import chain_network

        self._check(arch)
        return chain_network(arch.layers, in_channels=self.in_channels, num_classes=self.num_classes)

    # -- predictor features ----------------------------------------------------------------
    @property
    def op_names(self) -> tuple[str, ...]:
        """Layer kinds, one per (filter size, filter count): ``conv3x3-24``."""
        return tuple(f"conv{s}x{s}-{c}" for s in self.sizes for c in self.counts)

    def features(self, archs: Sequence[Chain]) -> ArchFeatures:
        """Path graphs (input, one node per convolution, output; padded to L+2 nodes), one-hot
        decisions, MACs and parameters (convolutions, BatchNorm affine, classifier) and the
        count of each (filter size, filter count) kind."""
        n, V, kinds = len(archs), self.max_layers + 2, len(self.op_names)
        adjacency = np.zeros((n, V, V), dtype=np.float32)
        node_ops = np.zeros((n, V, 2 + kinds), dtype=np.float32)
        counts = np.zeros((n, kinds))
        flops, params = np.zeros(n), np.zeros(n)
        hw = self.height * self.width
        for row, arch in enumerate(archs):
            ch = self.to_choices(arch)
            depth = len(arch.layers)
            idx = np.arange(depth + 1)
            adjacency[row, idx, idx + 1] = 1.0
            node_ops[row, 0, 0] = node_ops[row, depth + 1, 1] = 1.0
            cin, f, p = self.in_channels, 0, 0
            for i, (s, c) in enumerate(arch.layers):
                kind = ch[1 + 2 * i] * len(self.counts) + ch[2 + 2 * i]
                node_ops[row, i + 1, 2 + kind] = 1.0
                counts[row, kind] += 1
                f += cin * c * s * s * hw
                p += cin * c * s * s + 2 * c
                cin = c
            flops[row] = f + cin * self.num_classes
            params[row] = p + cin * self.num_classes + self.num_classes
        return ArchFeatures(adjacency=adjacency, node_ops=node_ops, vector=self.encode(archs), flops=flops,
                            params=params, op_counts=counts, op_names=self.op_names)
