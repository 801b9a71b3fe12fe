"""Shape rules shared by the torch.fx and ONNX importers for matmuls, einsums and attention.

A matmul whose second operand has batch dimensions (``Q K^T`` and ``A V`` per batch element and head)
becomes a grouped 1x1 layer: groups = the batch dimensions, N = rows, per group C = inner dim and
K = columns, and the second operand is its ``weights`` dataspace with ``weights_from="activations"``
(:class:`~coexplore.spec.workload.Layer`), so both operands are counted in full. A second operand
without batch dimensions is one matrix shared by every row: an ``fc``-like layer.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence

from coexplore.errors import InteropError
from coexplore.spec.workload import Layer, VectorOp

__all__ = ["attention_items", "einsum_layer", "layernorm_op", "matmul_layer", "sdpa_items", "softmax_op"]

Item = Layer | VectorOp


def _grouped(name: str, groups: int, rows: int, inner: int, cols: int, weights_from: str) -> Layer:
    return Layer(name=name, K=groups * cols, C=groups * inner, N=rows, groups=groups, op="bmm",
                 weights_from=weights_from)


def matmul_layer(name: str, a: Sequence[int], b: Sequence[int], y: Sequence[int], *, b_is_parameter: bool) -> Layer:
    """``a @ b`` with NumPy broadcasting, as one layer with exact MACs and operand sizes.

    Raises:
        InteropError: batch dimensions broadcast partially (only some of them shared), which no
            single loop nest of coexplore's form expresses.
    """
    weights_from = "parameters" if b_is_parameter else "activations"
    if len(b) <= 2:  # one matrix (or vector) shared by every row of a
        cols = 1 if len(b) == 1 else b[-1]
        return Layer(name=name, K=cols, C=a[-1], N=max(1, math.prod(y) // cols), op="matmul",
                     weights_from=weights_from)
    rows, inner, cols = (1 if len(a) == 1 else a[-2]), a[-1], b[-1]
    batch_a = math.prod(a[:-2]) if len(a) > 2 else 1
    batch_b, batch_y = math.prod(b[:-2]), math.prod(y[:-2]) if len(y) > 2 else 1
    if batch_a == batch_b == batch_y:
        return _grouped(name, batch_y, rows, inner, cols, weights_from)
    if batch_a == 1 and batch_b == batch_y:  # a shared by every batch of b: Y^T = B^T A^T, a is the weight
        return Layer(name=name, K=rows, C=inner, N=batch_y * cols, op="matmul", weights_from="activations")
    raise InteropError(f"{name!r}: matmul of shapes {tuple(a)} and {tuple(b)} broadcasts only some batch "
                       "dimensions; supported: equal batch dimensions, or one operand without any")


def einsum_layer(name: str, equation: str, a: Sequence[int], b: Sequence[int], *, a_is_parameter: bool,
                 b_is_parameter: bool) -> Layer:
    """A two-operand einsum that is a (batched) matmul: every index is a batch index (in both operands and
    the output), a row index (first operand and output), a column index (second operand and output) or a
    contracted index (both operands, not the output).

    Raises:
        InteropError: naming the equation, for any other form (one operand, a summed-out index of a
            single operand, a repeated index, broadcasting batch indices).
    """
    def refuse(why: str) -> InteropError:
        return InteropError(f"{name!r}: einsum {equation!r} is not supported ({why}); supported: two-operand "
                            "matmul forms such as 'bhqd,bhkd->bhqk' and 'bhqk,bhkd->bhqd'")

    eq = equation.replace(" ", "")
    if "->" not in eq:
        raise refuse("no explicit output")
    lhs, out = eq.split("->")
    ins = lhs.split(",")
    if len(ins) != 2:
        raise refuse(f"{len(ins)} operands")
    if "..." in eq:
        counts = [len(shape) - (len(sub) - 3) if "..." in sub else 0 for sub, shape in zip(ins, (a, b), strict=True)]
        if min(counts) < 0:
            raise refuse("more subscripts than operand dimensions")
        fresh = [c for c in string.ascii_letters if c not in eq][:max(counts)]
        ell = "".join(fresh)
        ins = [sub.replace("...", ell[len(ell) - n:]) for sub, n in zip(ins, counts, strict=True)]
        out = out.replace("...", ell)
    sa, sb = ins
    if len(sa) != len(a) or len(sb) != len(b):
        raise refuse(f"subscripts do not match operand ranks {len(a)} and {len(b)}")
    if any(len(set(s)) != len(s) for s in (sa, sb, out)):
        raise refuse("a repeated index")
    size = {**dict(zip(sa, a, strict=True)), **dict(zip(sb, b, strict=True))}
    if any(dict(zip(sa, a, strict=True)).get(c, size[c]) != size[c] for c in sb):
        raise refuse("an index with two sizes (broadcasting)")
    batch = [c for c in out if c in sa and c in sb]
    rows = [c for c in out if c in sa and c not in sb]
    cols = [c for c in out if c in sb and c not in sa]
    inner = [c for c in sa if c in sb and c not in out]
    if set(out) - set(sa) - set(sb):
        raise refuse("an output index in no operand")
    if set(sa) - set(out) - set(sb) or set(sb) - set(out) - set(sa):
        raise refuse("an index summed out of one operand only")

    def prod(ix: list[str]) -> int:
        return math.prod(size[c] for c in ix)

    if a_is_parameter and not b_is_parameter:  # the parameter operand is the layer's weights
        rows, cols = cols, rows
    weight_param = a_is_parameter if (a_is_parameter and not b_is_parameter) else b_is_parameter
    weights_from = "parameters" if weight_param else "activations"
    if not batch:
        return Layer(name=name, K=prod(cols), C=prod(inner), N=prod(rows), op="matmul", weights_from=weights_from)
    return _grouped(name, prod(batch), prod(rows), prod(inner), prod(cols), weights_from)


def softmax_op(name: str, shape: Sequence[int], axis: int) -> VectorOp:
    width = shape[axis] if shape else 1
    return VectorOp(name=name, kind="softmax", rows=max(1, math.prod(shape) // width), width=width)


def layernorm_op(name: str, shape: Sequence[int], normalized_dims: int) -> VectorOp:
    width = math.prod(shape[len(shape) - normalized_dims:])
    return VectorOp(name=name, kind="layernorm", rows=max(1, math.prod(shape) // width), width=width)


def attention_items(prefix: str, *, batch: int, q_len: int, kv_len: int, embed: int, heads: int,
                    kdim: int | None = None, vdim: int | None = None, packed: bool = True,
                    projections: bool = True) -> list[Item]:
    """Multi-head attention: input projections (one packed ``in_proj`` GEMM for self-attention with
    equal dims, as PyTorch computes it, else q/k/v), scores, softmax, context, output projection.
    ``projections=False`` gives the core only (``scaled_dot_product_attention``)."""
    if embed % heads:
        raise InteropError(f"{prefix!r}: num_heads {heads} does not divide embed_dim {embed}")
    head_dim, groups = embed // heads, batch * heads
    items: list[Item] = []
    if projections:
        if packed:
            items.append(Layer(name=f"{prefix}.in_proj", K=3 * embed, C=embed, N=batch * q_len, op="fc"))
        else:
            items += [Layer(name=f"{prefix}.q_proj", K=embed, C=embed, N=batch * q_len, op="fc"),
                      Layer(name=f"{prefix}.k_proj", K=embed, C=kdim or embed, N=batch * kv_len, op="fc"),
                      Layer(name=f"{prefix}.v_proj", K=embed, C=vdim or embed, N=batch * kv_len, op="fc")]
    items += [
        _grouped(f"{prefix}.scores", groups, q_len, head_dim, kv_len, "activations"),
        VectorOp(name=f"{prefix}.softmax", kind="softmax", rows=groups * q_len, width=kv_len),
        _grouped(f"{prefix}.context", groups, q_len, kv_len, head_dim, "activations"),
    ]
    if projections:
        items.append(Layer(name=f"{prefix}.out_proj", K=embed, C=embed, N=batch * q_len, op="fc"))
    return items


def sdpa_items(prefix: str, q: Sequence[int], k: Sequence[int], v: Sequence[int]) -> list[Item]:
    """``scaled_dot_product_attention(q, k, v)``: scores, softmax, context over the batch dims of q."""
    if len(q) < 2 or len(k) != len(q) or len(v) != len(q) or not tuple(q[:-2]) == tuple(k[:-2]) == tuple(v[:-2]):
        raise InteropError(f"{prefix!r}: scaled_dot_product_attention needs q, k, v of one rank >= 2 with equal "
                           f"batch dimensions, got {tuple(q)}, {tuple(k)}, {tuple(v)}")
    groups, q_len, kv_len = math.prod(q[:-2]), q[-2], k[-2]
    return [_grouped(f"{prefix}.scores", groups, q_len, q[-1], kv_len, "activations"),
            VectorOp(name=f"{prefix}.softmax", kind="softmax", rows=groups * q_len, width=kv_len),
            _grouped(f"{prefix}.context", groups, q_len, kv_len, v[-1], "activations")]
