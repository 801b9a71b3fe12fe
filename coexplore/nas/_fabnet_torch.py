"""Transformer, FNet and FABNet sequence classifiers in PyTorch (imported only when a model is built).

FABNet (Fan et al., MICRO 2022) builds every block from one sparsity pattern, the butterfly:

* :class:`ButterflyLinear`: a matrix that is the product of ``log2 n`` sparse factors, factor
  ``s`` made of ``n / 2`` independent 2x2 blocks that each mix entries ``i`` and ``i + 2**s``
  (``2 n log2 n`` parameters and multiply-accumulates instead of ``n**2``); written here with
  torch only.
* :class:`FourierMixing`: FNet's (Lee-Thorp et al. 2021) parameter-free token mixing, the real part
  of the 2-D DFT over sequence and width (computed by FFT, itself a butterfly with fixed twiddles).
* Blocks (pre-norm residual: ``x + mix(LN(x))`` then ``x + ffn(LN(x))``):
  ``transformer`` = dense attention + dense FFN; ``fnet`` = Fourier mixing + dense FFN;
  ``fbfly`` = Fourier mixing + butterfly FFN; ``abfly`` = attention whose Q, K, V and output
  projections are butterflies + butterfly FFN. FABNet = mostly FBfly blocks, a few ABfly.

Every module reports ``macs(seq_len)``, the multiply-accumulates of one sequence, so
:func:`count_macs` counts a model from its modules (layer norm, softmax, GELU and the residual
adds are not MACs and not counted; an FFT of complex length ``n`` counts ``2 n log2 n`` real
MACs: ``n/2 log2 n`` complex multiplies of 4 real MACs, the same count as a butterfly matrix).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:  # pragma: no cover - the core install has no torch
    from coexplore.errors import MissingDependencyError

    raise MissingDependencyError("coexplore: FABNet models need torch; install it with pip install "
                                 "'coexplore[nas]'") from None

from coexplore.errors import SpecError
from coexplore.nas.fabnet import is_power_of_two

__all__ = ["ButterflyLinear", "FourierMixing", "SequenceClassifier", "count_macs"]


class ButterflyLinear(nn.Module):
    """``y = B x + b`` with ``B`` a product of ``log2 n`` butterfly factors, ``n = max(in, out)``.

    ``twiddle`` has shape ``(log2 n, n / 2, 2, 2)``: at stage ``s`` (applied in order 0, 1, ...)
    block ``k`` mixes entries ``i = (k // h) * 2 h + k % h`` and ``i + h`` with ``h = 2**s``:
    ``(y_i, y_{i+h}) = twiddle[s, k] @ (x_i, x_{i+h})``. Both sizes must be powers of two. A
    narrower input is repeated ``out / in`` times to width ``n`` (each copy then gets its own
    blocks); a narrower output sums the ``in / out`` chunks of the width-``n`` result.

    ``sparse=True`` runs the factors one by one (what a butterfly engine executes, ``2 n log2 n``
    MACs per row); the default forms the product once per call and runs one dense multiply, the
    same function (tested equal) but several times faster under PyTorch on a CPU, where the
    ``log2 n`` small element-wise passes are memory-bound. :meth:`macs` counts the butterfly either way.
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True, sparse: bool = False) -> None:
        super().__init__()
        bad = [f"ButterflyLinear.{name}: must be a power of two, got {v!r}"
               for name, v in (("in_features", in_features), ("out_features", out_features))
               if not is_power_of_two(v)]
        if bad:
            raise SpecError(bad)
        self.in_features, self.out_features, self.sparse = in_features, out_features, sparse
        self.n = max(in_features, out_features)
        self.stages = self.n.bit_length() - 1
        # Each 2x2 block ~ N(0, 1/2) per entry keeps the expected norm through every stage.
        self.twiddle = nn.Parameter(torch.randn(self.stages, self.n // 2, 2, 2) / math.sqrt(2.0))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def apply_stages(self, x: torch.Tensor) -> torch.Tensor:
        """The ``log2 n`` factors applied one by one to the rows of ``x`` (rows, n): the sparse computation."""
        rows = x.shape[0]
        for s in range(self.stages):
            h = 1 << s
            t = self.twiddle[s].view(self.n // (2 * h), h, 2, 2)
            pairs = x.reshape(rows, self.n // (2 * h), 2, h)
            lo, hi = pairs[:, :, 0, :], pairs[:, :, 1, :]
            y_lo = t[..., 0, 0] * lo + t[..., 0, 1] * hi
            y_hi = t[..., 1, 0] * lo + t[..., 1, 1] * hi
            x = torch.stack((y_lo, y_hi), dim=2).reshape(rows, self.n)
        return x

    def weight(self) -> torch.Tensor:
        """The dense (out, in) matrix the layer computes: the product of the factors, with the repeat / chunk sum."""
        full = self.apply_stages(torch.eye(self.n, dtype=self.twiddle.dtype, device=self.twiddle.device)).T
        if self.in_features < self.n:
            full = full.reshape(self.n, self.n // self.in_features, self.in_features).sum(dim=1)
        if self.out_features < self.n:
            full = full.reshape(self.n // self.out_features, self.out_features, -1).sum(dim=0)
        return full

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.sparse:
            lead = x.shape[:-1]
            y = x.reshape(-1, self.in_features)
            if self.in_features < self.n:
                y = y.repeat(1, self.n // self.in_features)
            y = self.apply_stages(y)
            if self.out_features < self.n:
                y = y.view(-1, self.n // self.out_features, self.out_features).sum(dim=1)
            if self.bias is not None:
                y = y + self.bias
            return y.reshape(*lead, self.out_features)
        # Same function, faster on a CPU: the n x n product costs n**2 log2 n once per call, then one GEMM.
        return F.linear(x, self.weight(), self.bias)

    def macs(self, seq_len: int) -> int:
        """``2 n log2 n`` per token: ``n / 2`` blocks of 4 MACs at each of ``log2 n`` stages."""
        return seq_len * 2 * self.n * self.stages

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, stages={self.stages}"


def _linear(in_features: int, out_features: int, butterfly: bool) -> nn.Module:
    return ButterflyLinear(in_features, out_features) if butterfly else nn.Linear(in_features, out_features)


def _linear_macs(layer: nn.Module, seq_len: int) -> int:
    if isinstance(layer, ButterflyLinear):
        return layer.macs(seq_len)
    assert isinstance(layer, nn.Linear)
    return seq_len * layer.in_features * layer.out_features


class FourierMixing(nn.Module):
    """FNet's token mixing: ``Re(FFT2(x))`` over (sequence, width); no parameters."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        return torch.fft.fft2(x, dim=(-2, -1)).real

    def macs(self, seq_len: int) -> int:
        """``width`` FFTs of length ``seq_len`` plus ``seq_len`` of length ``width``, ``2 n log2 n`` each."""
        return 2 * seq_len * self.width * (int(math.log2(seq_len)) + int(math.log2(self.width)))


class Attention(nn.Module):
    """Multi-head self-attention; the four projections are dense or butterflies; padded keys are masked."""

    def __init__(self, width: int, heads: int, *, butterfly: bool) -> None:
        super().__init__()
        self.width, self.heads = width, heads
        self.q, self.k, self.v, self.out = (_linear(width, width, butterfly) for _ in range(4))

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        b, n, d = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, d // self.heads).transpose(1, 2)

        mask = None if pad_mask is None else (~pad_mask)[:, None, None, :]
        y = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, n, d))

    def macs(self, seq_len: int) -> int:
        """Four projections, then ``Q K^T`` and ``A V``: ``seq_len**2 * width`` each (all heads together)."""
        proj = sum(_linear_macs(m, seq_len) for m in (self.q, self.k, self.v, self.out))
        return proj + 2 * seq_len * seq_len * self.width


class FeedForward(nn.Module):
    """``width -> ratio * width -> width`` with GELU, dense or butterfly."""

    def __init__(self, width: int, ratio: int, *, butterfly: bool) -> None:
        super().__init__()
        self.up, self.down = _linear(width, ratio * width, butterfly), _linear(ratio * width, width, butterfly)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x)))

    def macs(self, seq_len: int) -> int:
        return _linear_macs(self.up, seq_len) + _linear_macs(self.down, seq_len)


class Block(nn.Module):
    """One encoder block of kind ``transformer``, ``fnet``, ``fbfly`` or ``abfly`` (pre-norm residuals)."""

    def __init__(self, kind: str, width: int, heads: int, ffn_ratio: int) -> None:
        super().__init__()
        self.kind = kind
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.mix: FourierMixing | Attention = (FourierMixing(width) if kind in ("fnet", "fbfly")
                                               else Attention(width, heads, butterfly=kind == "abfly"))
        self.ffn = FeedForward(width, ffn_ratio, butterfly=kind in ("fbfly", "abfly"))

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        x = x + self.mix(self.norm1(x), pad_mask)
        return x + self.ffn(self.norm2(x))

    def macs(self, seq_len: int) -> int:
        return self.mix.macs(seq_len) + self.ffn.macs(seq_len)


class SequenceClassifier(nn.Module):
    """Token + learned position embeddings, encoder blocks, final layer norm, pooling, a linear head.

    ``pooling``: ``"mean"`` over the non-padding tokens (id 0 is padding) or ``"cls"`` (the first token).
    """

    def __init__(self, *, blocks: Sequence[str], vocab_size: int, seq_len: int, width: int, heads: int,
                 ffn_ratio: int, num_classes: int, pooling: str = "mean") -> None:
        super().__init__()
        self.seq_len, self.width, self.pooling = seq_len, width, pooling
        self.embed = nn.Embedding(vocab_size, width)
        self.position = nn.Parameter(torch.randn(seq_len, width) * 0.02)
        self.blocks = nn.ModuleList(Block(k, width, heads, ffn_ratio) for k in blocks)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        pad_mask = tokens == 0
        x = self.embed(tokens) + self.position[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x, pad_mask)
        x = self.norm(x)
        if self.pooling == "cls":
            pooled = x[:, 0]
        else:
            keep = (~pad_mask).unsqueeze(-1).to(x.dtype)
            pooled = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        return self.head(pooled)

    def macs(self, seq_len: int | None = None) -> int:
        n = self.seq_len if seq_len is None else seq_len
        blocks: list[Block] = list(self.blocks)  # type: ignore[arg-type]
        return sum(b.macs(n) for b in blocks) + self.head.in_features * self.head.out_features


def count_macs(model: Any, seq_len: int | None = None) -> int:
    """Multiply-accumulates of one sequence (at the model's ``seq_len`` by default), counted from its modules."""
    return int(model.macs(seq_len))
