"""Workloads: a layer is a convolution-like loop nest, a network an ordered list of layers.

Channels are given as totals (as PyTorch does) with ``groups``; :meth:`Layer.bounds`
turns them into the per-group loop bounds of :mod:`coexplore.spec.dims`. Fully
connected and matrix-multiply layers are the case P = Q = R = S = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from coexplore.errors import SpecError
from coexplore.spec.dims import DIMS

__all__ = ["PRECISION_FIELDS", "VECTOR_OP_KINDS", "WEIGHT_SOURCES", "Layer", "Network", "VectorOp",
           "parse_layer_spec"]

PRECISION_FIELDS = ("weight_bits", "input_bits", "output_bits")

WEIGHT_SOURCES = ("parameters", "activations", "constants")
"""Where a layer's ``weights`` operand comes from: learned parameters (convolutions, linears), an
activation an earlier layer produced (attention's K and V in ``Q K^T`` and ``A V``), or fixed
constants (FFT twiddle factors). The cost model prices all three alike (a tensor read through the
hierarchy); only ``parameters`` count in :attr:`Network.params`."""

VECTOR_OP_KINDS = ("softmax", "layernorm")


MAX_MACS = 2**50
"""Largest layer priced: its access counts (MACs times a few factors) stay exact in int64 and float64."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """One layer as a loop nest.

    Attributes:
        name: Unique within its network (torchvision module names for the zoo).
        K: Output channels (total, over all groups).
        C: Input channels (total, over all groups).
        P, Q: Output rows and columns.
        R, S: Filter rows and columns.
        N: Batch size.
        stride, dilation, padding: (rows, cols) pairs; padding only sets the input size.
        groups: Channel groups; ``groups == C == K`` is a depthwise convolution.
        op: What the layer came from ("conv", "depthwise", "fc", "matmul", "bmm", "butterfly", "fft", "dft").
        weights_from: One of :data:`WEIGHT_SOURCES`. A batched matmul of two activations
            (``bmm``) is a grouped 1x1 layer: groups = batch x heads, N = rows of the first
            operand, C / groups = inner dim, K / groups = columns; its second operand is the
            ``weights`` dataspace [G, K/G, C/G] with ``weights_from="activations"``.
        weight_bits, input_bits, output_bits: Quantization (1..64 bits). All ``None``:
            not quantized, every memory keeps its own word size (Timeloop's semantics);
            any given: the others default to 8, 8 and the MAC's accumulator width
            (:mod:`coexplore.spec.precision`).
    """

    name: str = "layer"
    K: int
    C: int
    P: int = 1
    Q: int = 1
    R: int = 1
    S: int = 1
    N: int = 1
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    groups: int = 1
    op: str = "conv"
    weight_bits: int | None = None
    input_bits: int | None = None
    output_bits: int | None = None
    weights_from: str = "parameters"

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise SpecError(problems)

    def problems(self, path: str = "layer") -> list[str]:
        """Every local inconsistency, each naming the field and the value."""
        out = []
        for f in ("K", "C", "P", "Q", "R", "S", "N", "groups"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                out.append(f"{path}.{f}: must be a positive integer, got {v!r}")
        for f in ("stride", "dilation"):
            v = getattr(self, f)
            if len(v) != 2 or any((not isinstance(x, int)) or x <= 0 for x in v):
                out.append(f"{path}.{f}: must be two positive integers, got {v!r}")
        if len(self.padding) != 2 or any((not isinstance(x, int)) or x < 0 for x in self.padding):
            out.append(f"{path}.padding: must be two integers >= 0, got {self.padding!r}")
        for f in PRECISION_FIELDS:
            v = getattr(self, f)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 64):
                out.append(f"{path}.{f}: must be an integer from 1 to 64 bits, got {v!r}")
        if self.weights_from not in WEIGHT_SOURCES:
            out.append(f"{path}.weights_from: must be one of {', '.join(WEIGHT_SOURCES)}, got {self.weights_from!r}")
        if not out:
            for f in ("K", "C"):
                if getattr(self, f) % self.groups:
                    out.append(
                        f"{path}.{f}: must be divisible by groups={self.groups}, got {getattr(self, f)}"
                    )
        if not out:
            macs = self.N * self.K * (self.C // self.groups) * self.P * self.Q * self.R * self.S
            if macs > MAX_MACS:
                out.append(f"{path}: N*K*(C/groups)*P*Q*R*S must be at most 2**50 MACs (access counts are exact "
                           f"64-bit integers), got {macs:.3e} (K={self.K}, C={self.C}, P={self.P}, Q={self.Q}, "
                           f"R={self.R}, S={self.S}, N={self.N}, groups={self.groups})")
        return out

    # -- derived -------------------------------------------------------------------
    def bounds(self) -> dict[str, int]:
        """Loop bounds per dimension (K and C per group)."""
        g = self.groups
        return {
            "N": self.N, "G": g, "K": self.K // g, "C": self.C // g,
            "P": self.P, "Q": self.Q, "R": self.R, "S": self.S,
        }

    def bounds_tuple(self) -> tuple[int, ...]:
        b = self.bounds()
        return tuple(b[d] for d in DIMS)

    @property
    def macs(self) -> int:
        return math.prod(self.bounds().values())

    @property
    def input_hw(self) -> tuple[int, int]:
        """Input feature-map rows and columns implied by the output size and padding."""
        h = (self.P - 1) * self.stride[0] + (self.R - 1) * self.dilation[0] + 1 - 2 * self.padding[0]
        w = (self.Q - 1) * self.stride[1] + (self.S - 1) * self.dilation[1] + 1 - 2 * self.padding[1]
        return max(h, 1), max(w, 1)

    @property
    def weights_words(self) -> int:
        b = self.bounds()
        return b["G"] * b["K"] * b["C"] * b["R"] * b["S"]

    @property
    def params(self) -> int:
        """Learned parameters: the weights when they are parameters, else 0."""
        return self.weights_words if self.weights_from == "parameters" else 0

    @property
    def outputs_words(self) -> int:
        return self.N * self.K * self.P * self.Q

    @property
    def inputs_words(self) -> int:
        """Input words the loop nest touches (the padded window, as Timeloop counts)."""
        h = (self.P - 1) * self.stride[0] + (self.R - 1) * self.dilation[0] + 1
        w = (self.Q - 1) * self.stride[1] + (self.S - 1) * self.dilation[1] + 1
        return self.N * self.C * h * w

    @property
    def quantized(self) -> bool:
        return self.weight_bits is not None or self.input_bits is not None or self.output_bits is not None

    def shape_key(self) -> tuple[int, ...]:
        """Everything that determines cost, without the name: the mapping-cache key."""
        key = (*self.bounds_tuple(), *self.stride, *self.dilation)
        if self.quantized:  # 0 marks a default, so unquantized keys stay as they were
            key += tuple(getattr(self, f) or 0 for f in PRECISION_FIELDS)
        return key

    def spec_string(self) -> str:
        """The ``K=..,C=..`` form accepted by :func:`parse_layer_spec`."""
        s = (
            f"K={self.K},C={self.C},P={self.P},Q={self.Q},R={self.R},S={self.S},"
            f"stride={_pair_str(self.stride)},groups={self.groups},N={self.N}"
        )
        if self.dilation != (1, 1):
            s += f",dilation={_pair_str(self.dilation)}"
        for f in PRECISION_FIELDS:
            if getattr(self, f) is not None:
                s += f",{f}={getattr(self, f)}"
        return s


def _pair_str(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"{p[0]}x{p[1]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorOp:
    """An operation without MACs that still moves and transforms every element: softmax, layer norm.

    ``rows`` independent rows of ``width`` elements each (softmax over the keys of every query of
    every head; layer norm over the hidden width of every token). Priced by
    :mod:`coexplore.cost.vector`, which states its operations per element.
    """

    name: str
    kind: str
    rows: int
    width: int

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in VECTOR_OP_KINDS:
            problems.append(f"vector op {self.name!r}.kind: must be one of {', '.join(VECTOR_OP_KINDS)}, "
                            f"got {self.kind!r}")
        for f in ("rows", "width"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                problems.append(f"vector op {self.name!r}.{f}: must be a positive integer, got {v!r}")
        if problems:
            raise SpecError(problems)

    @property
    def elements(self) -> int:
        return self.rows * self.width

    @property
    def params(self) -> int:
        """Layer norm's scale and shift (2 x width); softmax has none."""
        return 2 * self.width if self.kind == "layernorm" else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Network:
    """An ordered list of uniquely named layers, plus the MAC-free vector operations between them.

    ``vector_ops`` (softmax, layer norm) are priced apart from the layers' loop nests; networks
    that have none (the CNN zoo) are unchanged by them.
    """

    name: str
    layers: tuple[Layer, ...] = field(default_factory=tuple)
    vector_ops: tuple[VectorOp, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.layers:
            problems.append(f"network {self.name!r}.layers: must not be empty, got 0 layers")
        seen: set[str] = set()
        for i, layer in enumerate(self.layers):
            if layer.name in seen:
                problems.append(f"network.layers[{i}].name: must be unique, got duplicate {layer.name!r}")
            seen.add(layer.name)
        for i, op in enumerate(self.vector_ops):
            if op.name in seen:
                problems.append(f"network.vector_ops[{i}].name: must be unique, got duplicate {op.name!r}")
            seen.add(op.name)
        if problems:
            raise SpecError(problems)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def params(self) -> int:
        """Learned parameters of the layers and vector ops (embeddings are not modelled)."""
        return sum(x.params for x in self.layers) + sum(x.params for x in self.vector_ops)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        names = ", ".join(x.name for x in self.layers)
        raise SpecError(f"network {self.name!r}: no layer named {name!r}; layers: {names}")


_SPEC_KEYS = {"K", "C", "P", "Q", "R", "S", "N", "stride", "dilation", "padding", "groups", "name",
              *PRECISION_FIELDS}


def parse_layer_spec(text: str, *, name: str = "layer") -> Layer:
    """Parse ``K=64,C=64,P=56,Q=56,R=3,S=3,stride=1,groups=1,N=1`` into a :class:`Layer`.

    Pairs may be written ``2`` or ``2x1`` (rows x cols); ``weight_bits=4,input_bits=8,
    output_bits=16`` quantize the layer. Every bad item is reported.
    """
    kwargs: dict[str, object] = {"name": name}
    problems = []
    for item in (x.strip() for x in text.split(",") if x.strip()):
        if "=" not in item:
            problems.append(f"layer spec item {item!r}: must be KEY=VALUE")
            continue
        key, value = (s.strip() for s in item.split("=", 1))
        if key not in _SPEC_KEYS:
            problems.append(f"layer spec key {key!r}: unknown, valid: {', '.join(sorted(_SPEC_KEYS))}")
            continue
        if key == "name":
            kwargs["name"] = value
            continue
        try:
            if key in ("stride", "dilation", "padding"):
                parts = [int(v) for v in value.lower().split("x")]
                kwargs[key] = (parts[0], parts[-1]) if len(parts) in (1, 2) else tuple(parts)
            else:
                kwargs[key] = int(value)
        except ValueError:
            problems.append(f"layer spec {key}: must be an integer, got {value!r}")
    for req in ("K", "C"):
        if req not in kwargs:
            problems.append(f"layer spec {req}: required, got nothing")
    if problems:
        raise SpecError(problems)
    p = kwargs
    if p.get("P", 1) == 1 and p.get("Q", 1) == 1 and p.get("R", 1) == 1 and p.get("S", 1) == 1:
        p.setdefault("op", "fc")
    groups = p.get("groups", 1)
    if groups != 1 and groups == p.get("C") == p.get("K"):
        p.setdefault("op", "depthwise")
    return Layer(**p)  # type: ignore[arg-type]
