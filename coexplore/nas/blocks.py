"""A MobileNetV2 / ProxylessNAS-like space: inverted residual blocks with searched kernels and expansions.

The macro structure is MobileNetV2's (Sandler et al., 2018): a 3x3 stride-2 stem at 32
channels, seven stages of inverted residual blocks (1x1 expansion, kxk depthwise, 1x1
projection; residual when stride is 1 and channels match) with 16, 24, 32, 64, 96, 160,
320 output channels and strides 1, 2, 2, 2, 1, 2, 1, a 1x1 conv to 1280 channels and a
linear classifier. As in ProxylessNAS, each searchable block picks its depthwise kernel
(3, 5, 7) and expansion ratio (3, 4, 6), and each middle stage its depth. The choices:

* stage 1 (16 ch) is fixed: one block, kernel 3, expansion 1, as in MobileNetV2;
* stages 2-6 (24..160 ch) have 2, 3 or 4 blocks: MobileNetV2's depths (2, 3, 4, 3, 3)
  are all inside, and 4 is ProxylessNAS's maximum;
* stage 7 (320 ch) has one block, with a searched kernel and expansion.

Kernel 3 / expansion 6 with MobileNetV2's depths is MobileNetV2 itself (same layers and
names as ``get_network("mobilenetv2")``). A :class:`Stage` list, resolution, width
multiplier and head width make smaller variants: :meth:`BlockSpace.digits` fits the 8x8
digits of :mod:`coexplore.nas.train`.

An architecture lists every stage's blocks as (kernel, expansion): ``k3e1|k3e6-k5e4|...``.
Decisions: per stage, its depth (if it has a choice), then kernel and expansion of each
possible block (if it is searchable); decisions of blocks beyond the depth are unused
and :meth:`BlockSpace.to_choices` sets them to 0.
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

__all__ = ["DIGITS_STAGES", "MOBILENETV2_DEPTHS", "MOBILENETV2_STAGES", "BlockArch", "BlockSpace", "Stage",
           "parse_blocks"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    """Blocks with one output width; the first has ``stride``, the others stride 1.

    Attributes:
        channels: Output channels before the width multiplier.
        stride: Stride of the stage's first block.
        depths: Block counts the stage may have (one value: a fixed depth).
        fixed: (kernel, expansion) of every block of a stage without block decisions; None
            makes each block's kernel and expansion searchable.
    """

    channels: int
    stride: int
    depths: tuple[int, ...] = (2, 3, 4)
    fixed: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        problems = [f"stage.{f}: must be a positive integer, got {getattr(self, f)!r}"
                    for f in ("channels", "stride") if not isinstance(getattr(self, f), int) or getattr(self, f) <= 0]
        if not self.depths or any(not isinstance(d, int) or d <= 0 for d in self.depths) \
                or len(set(self.depths)) != len(self.depths):
            problems.append(f"stage.depths: must be distinct positive integers, got {self.depths!r}")
        if self.fixed is not None and (len(self.fixed) != 2 or any(not isinstance(v, int) or v <= 0
                                                                   for v in self.fixed)):
            problems.append(f"stage.fixed: must be (kernel, expansion) positive integers or None, got {self.fixed!r}")
        if problems:
            raise SpecError(problems)


MOBILENETV2_STAGES = (
    Stage(channels=16, stride=1, depths=(1,), fixed=(3, 1)),
    Stage(channels=24, stride=2), Stage(channels=32, stride=2), Stage(channels=64, stride=2),
    Stage(channels=96, stride=1), Stage(channels=160, stride=2),
    Stage(channels=320, stride=1, depths=(1,)),
)
#: Blocks per stage of MobileNetV2 itself (use with :meth:`BlockSpace.uniform`).
MOBILENETV2_DEPTHS = (1, 2, 3, 4, 3, 3, 1)
#: A four-stage variant for 8x8 inputs: 8x8 -> 4x4 -> 2x2, depths 1..2.
DIGITS_STAGES = (
    Stage(channels=16, stride=1, depths=(1,), fixed=(3, 1)),
    Stage(channels=24, stride=2, depths=(1, 2)), Stage(channels=32, stride=2, depths=(1, 2)),
    Stage(channels=64, stride=1, depths=(1,)),
)
_BLOCK_RE = re.compile(r"k(\d+)e(\d+)")


def _make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's channel rounding: nearest multiple of ``divisor``, never 10 % below ``v``."""
    out = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * v else out


@dataclass(frozen=True, slots=True)
class BlockArch:
    """(kernel, expansion) of every block, stage by stage."""

    stages: tuple[tuple[tuple[int, int], ...], ...]

    def __str__(self) -> str:
        return "|".join("-".join(f"k{k}e{e}" for k, e in stage) for stage in self.stages)


def parse_blocks(text: str) -> BlockArch:
    """A :class:`BlockArch` from ``k3e1|k3e6-k5e4|...`` (stages split by ``|``, blocks by ``-``)."""
    problems, stages = [], []
    for s, part in enumerate(text.strip().split("|")):
        blocks = []
        for b, block in enumerate(part.split("-")):
            m = _BLOCK_RE.fullmatch(block)
            if m is None:
                problems.append(f"block string {text!r}: stage {s} block {b} {block!r} must be written "
                                "k<kernel>e<expansion>")
            else:
                blocks.append((int(m[1]), int(m[2])))
        stages.append(tuple(blocks))
    if problems:
        raise SpecError(problems)
    return BlockArch(tuple(stages))


class BlockSpace(ArchSpace[BlockArch]):
    """Inverted residual networks over ``stages`` (defaults: MobileNetV2 at 224x224, 1000 classes).

    Args:
        resolution: Input height and width.
        num_classes: Classifier outputs.
        width: Channel multiplier (torchvision's rounding to multiples of 8).
        in_channels: Input channels.
        stem_channels, stem_stride: The 3x3 stem conv (before ``width``).
        stages: The :class:`Stage` list.
        last_channels: Width of the final 1x1 conv (scaled only when ``width`` > 1, as torchvision).
        kernels, expansions: Choices of a searchable block.
    """

    def __init__(self, *, resolution: int = 224, num_classes: int = 1000, width: float = 1.0, in_channels: int = 3,
                 stem_channels: int = 32, stem_stride: int = 2, stages: Sequence[Stage] = MOBILENETV2_STAGES,
                 last_channels: int = 1280, kernels: Sequence[int] = (3, 5, 7),
                 expansions: Sequence[int] = (3, 4, 6)) -> None:
        problems = [f"blocks.{n}: must be a positive integer, got {v!r}"
                    for n, v in (("resolution", resolution), ("num_classes", num_classes),
                                 ("in_channels", in_channels), ("stem_channels", stem_channels),
                                 ("stem_stride", stem_stride), ("last_channels", last_channels))
                    if not isinstance(v, int) or isinstance(v, bool) or v <= 0]
        if not isinstance(width, int | float) or not width > 0:
            problems.append(f"blocks.width: must be > 0, got {width!r}")
        if not stages or not all(isinstance(s, Stage) for s in stages):
            problems.append(f"blocks.stages: must be a non-empty list of Stage, got {stages!r}")
        for name, values in (("kernels", kernels), ("expansions", expansions)):
            if not values or any(not isinstance(v, int) or v <= 0 for v in values) or len(set(values)) != len(values):
                problems.append(f"blocks.{name}: must be distinct positive integers, got {list(values)!r}")
        if problems:
            raise SpecError(problems)
        self.resolution, self.num_classes, self.width, self.in_channels = resolution, num_classes, width, in_channels
        self.stem_stride, self.stages = stem_stride, tuple(stages)
        self.kernels, self.expansions = tuple(kernels), tuple(expansions)
        self.stem_channels = _make_divisible(stem_channels * width)
        self.stage_channels = tuple(_make_divisible(s.channels * width) for s in self.stages)
        self.last_channels = _make_divisible(last_channels * max(1.0, width))
        self.name = f"blocks-{resolution}-w{width:g}"
        # one (stage, kind, block) per decision; kind is "depth", "kernel" or "expansion"
        self._decisions: list[tuple[int, str, int]] = []
        for i, st in enumerate(self.stages):
            if len(st.depths) > 1:
                self._decisions.append((i, "depth", 0))
            if st.fixed is None:
                self._decisions += [(i, kind, b) for b in range(max(st.depths)) for kind in ("kernel", "expansion")]
        sizes = {"kernel": len(self.kernels), "expansion": len(self.expansions)}
        self.cardinalities = tuple(len(self.stages[i].depths) if kind == "depth" else sizes[kind]
                                   for i, kind, _ in self._decisions)

    @classmethod
    def digits(cls, *, width: float = 1.0) -> BlockSpace:
        """A small variant for scikit-learn's 8x8 digits: 1 input channel, stride-1 stem at 16
        channels, :data:`DIGITS_STAGES`, 256-channel head, 10 classes."""
        return cls(resolution=8, num_classes=10, width=width, in_channels=1, stem_channels=16, stem_stride=1,
                   stages=DIGITS_STAGES, last_channels=256)

    # -- decisions -------------------------------------------------------------------------
    @property
    def conditions(self) -> tuple[Condition, ...]:
        """Block ``b``'s kernel and expansion matter only while its stage's depth decision gives more than ``b``
        blocks."""
        depth_at = {i: j for j, (i, kind, _) in enumerate(self._decisions) if kind == "depth"}
        out = []
        for j, (i, kind, b) in enumerate(self._decisions):
            if kind == "depth" or i not in depth_at:
                continue
            values = tuple(v for v, d in enumerate(self.stages[i].depths) if d > b)
            if len(values) < len(self.stages[i].depths):
                out.append(Condition(child=j, parent=depth_at[i], values=values))
        return tuple(out)

    def from_choices(self, choices: Sequence[int]) -> BlockArch:
        c = self.check_choices(choices)
        depth = [st.depths[0] for st in self.stages]
        picks: dict[tuple[int, str, int], int] = {}
        for value, (i, kind, b) in zip(c, self._decisions, strict=True):
            if kind == "depth":
                depth[i] = self.stages[i].depths[value]
            else:
                picks[(i, kind, b)] = value
        return BlockArch(tuple(
            tuple(st.fixed if st.fixed is not None else
                  (self.kernels[picks[(i, "kernel", b)]], self.expansions[picks[(i, "expansion", b)]])
                  for b in range(depth[i]))
            for i, st in enumerate(self.stages)))

    def to_choices(self, arch: BlockArch) -> tuple[int, ...]:
        self._check(arch)
        out = []
        for i, kind, b in self._decisions:
            blocks = arch.stages[i]
            if kind == "depth":
                out.append(self.stages[i].depths.index(len(blocks)))
            elif b >= len(blocks):
                out.append(0)
            else:
                out.append(self.kernels.index(blocks[b][0]) if kind == "kernel" else
                           self.expansions.index(blocks[b][1]))
        return tuple(out)

    def _check(self, arch: BlockArch, text: str | None = None) -> None:
        where = f"block string {text!r}: " if text is not None else f"{self.name}: blocks {arch}: "
        if len(arch.stages) != len(self.stages):
            raise SpecError(f"{where}must have {len(self.stages)} stages, got {len(arch.stages)}")
        problems = []
        for i, (st, blocks) in enumerate(zip(self.stages, arch.stages, strict=True)):
            if len(blocks) not in st.depths:
                problems.append(f"{where}stage {i} must have {' or '.join(map(str, st.depths))} blocks, "
                                f"got {len(blocks)}")
            for b, (k, e) in enumerate(blocks):
                if st.fixed is not None and (k, e) != st.fixed:
                    problems.append(f"{where}stage {i} block {b} is fixed to k{st.fixed[0]}e{st.fixed[1]}, "
                                    f"got k{k}e{e}")
                elif st.fixed is None and k not in self.kernels:
                    problems.append(f"{where}stage {i} block {b} kernel must be one of {list(self.kernels)}, got {k}")
                elif st.fixed is None and e not in self.expansions:
                    problems.append(f"{where}stage {i} block {b} expansion must be one of {list(self.expansions)}, "
                                    f"got {e}")
        if problems:
            raise SpecError(problems)

    def parse(self, text: str) -> BlockArch:
        arch = parse_blocks(text)
        self._check(arch, text)
        return arch

    def format(self, arch: BlockArch) -> str:
        return str(arch)

    def uniform(self, *, kernel: int, expansion: int, depths: Sequence[int]) -> BlockArch:
        """Every searchable block with ``kernel`` and ``expansion``, ``depths[i]`` blocks in stage i.

        ``space.uniform(kernel=3, expansion=6, depths=MOBILENETV2_DEPTHS)`` is MobileNetV2.
        """
        arch = BlockArch(tuple(tuple(st.fixed or (kernel, expansion) for _ in range(d))
                               for st, d in zip(self.stages, depths)))
        self._check(arch)
        return arch

    # -- networks --------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        return (1, self.in_channels, self.resolution, self.resolution)

    def _blocks(self, arch: BlockArch) -> list[tuple[int, int, int, int]]:
        """(out channels, kernel, stride, expansion) of every block, in order."""
        self._check(arch)
        return [(self.stage_channels[i], k, self.stages[i].stride if b == 0 else 1, e)
                for i, blocks in enumerate(arch.stages) for b, (k, e) in enumerate(blocks)]

    def to_network(self, arch: BlockArch) -> Network:
        """Stem, per block its expansion / depthwise / projection convs, head conv, classifier."""
        def out(size: int, k: int, s: int) -> int:
            return (size + 2 * (k // 2) - k) // s + 1

        def conv(name: str, cin: int, cout: int, size: int, k: int = 1, s: int = 1, g: int = 1) -> Layer:
            return Layer(name=name, K=cout, C=cin, P=size, Q=size, R=k, S=k, stride=(s, s), padding=(k // 2, k // 2),
                         groups=g, op="depthwise" if g > 1 else "conv")

        size = out(self.resolution, 3, self.stem_stride)
        layers = [conv("features.0.0", self.in_channels, self.stem_channels, size, 3, self.stem_stride)]
        cin = self.stem_channels
        blocks = self._blocks(arch)
        for index, (cout, k, s, e) in enumerate(blocks, start=1):
            p, hidden, sub = f"features.{index}.conv.", cin * e, 0
            if e != 1:
                layers.append(conv(f"{p}0.0", cin, hidden, size))
                sub = 1
            size = out(size, k, s)
            layers += [conv(f"{p}{sub}.0", hidden, hidden, size, k, s, hidden),
                       conv(f"{p}{sub + 1}", hidden, cout, size)]
            cin = cout
        layers.append(conv(f"features.{len(blocks) + 1}.0", cin, self.last_channels, size))
        layers.append(Layer(name="classifier.1", K=self.num_classes, C=self.last_channels, op="fc"))
        return Network(name=f"{self.name}:{arch}", layers=tuple(layers))

    def to_torch(self, arch: BlockArch) -> Any:
        from coexplore.nas._blocks_torch import block_network

        return block_network(in_channels=self.in_channels, stem=(self.stem_channels, self.stem_stride),
                             blocks=self._blocks(arch), last_channels=self.last_channels,
                             num_classes=self.num_classes)

    # -- predictor features ----------------------------------------------------------------
    @property
    def op_names(self) -> tuple[str, ...]:
        """Block kinds, one per (stage, kernel, expansion): ``s2:k5e4`` (stages from 1)."""
        return tuple(f"s{i + 1}:k{k}e{e}" for i, st in enumerate(self.stages)
                     for k, e in ([st.fixed] if st.fixed else [(k, e) for k in self.kernels for e in self.expansions]))

    def features(self, archs: Sequence[BlockArch]) -> ArchFeatures:
        """Path graphs (input, one node per block, output; padded to the deepest network), one-hot
        decisions, MACs and parameters (convolutions, BatchNorm affine, classifier) of
        :meth:`to_network`, and the count of each block kind (:attr:`op_names`)."""
        names = {name: j for j, name in enumerate(self.op_names)}
        n, V = len(archs), 2 + sum(max(st.depths) for st in self.stages)
        adjacency = np.zeros((n, V, V), dtype=np.float32)
        node_ops = np.zeros((n, V, 2 + len(names)), dtype=np.float32)
        counts = np.zeros((n, len(names)))
        flops, params = np.zeros(n), np.zeros(n)
        for row, arch in enumerate(archs):
            net = self.to_network(arch)
            flops[row] = net.macs
            params[row] = sum(x.weights_words + (2 * x.K if x.op != "fc" else x.K) for x in net.layers)
            kinds = [names[f"s{i + 1}:k{k}e{e}"] for i, blocks in enumerate(arch.stages) for k, e in blocks]
            depth = len(kinds)
            idx = np.arange(depth + 1)
            adjacency[row, idx, idx + 1] = 1.0
            node_ops[row, 0, 0] = node_ops[row, depth + 1, 1] = 1.0
            node_ops[row, 1 + np.arange(depth), 2 + np.array(kinds, dtype=np.int64)] = 1.0
            np.add.at(counts[row], kinds, 1.0)
        return ArchFeatures(adjacency=adjacency, node_ops=node_ops, vector=self.encode(archs), flops=flops,
                            params=params, op_counts=counts, op_names=self.op_names)
