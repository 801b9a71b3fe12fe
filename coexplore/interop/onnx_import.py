"""Import an ONNX model file as a :class:`~coexplore.spec.workload.Network`.

Shapes come from ONNX shape inference after the graph inputs' symbolic dimensions
(batch, usually) are fixed to concrete values. MAC-carrying operators become layers:

* ``Conv`` (1-D and 2-D; group, strides, dilations, pads or auto_pad);
* ``ConvTranspose`` as the equivalent 1x1 conv at the input resolution with
  K = out channels x kernel size (the GEMM + col2im form: same MACs);
* ``Gemm`` as ``op="fc"`` (transA/transB honoured);
* ``MatMul`` with a two-dimensional second operand as ``op="matmul"``: K = output columns,
  C = inner dim, N = batch x rows; with batch dimensions on both operands (attention's ``Q K^T``
  and ``A V``) a grouped ``op="bmm"`` layer whose weights are the second operand, counted in full
  (rules in :mod:`coexplore.interop._attention`). A second operand that is not an initializer or
  a constant is marked ``weights_from="activations"`` (it is no parameter);
* ``Einsum`` with two operands in a matmul form (``bhqd,bhkd->bhqk`` ...; others raise naming the
  equation);
* ``Attention`` (opset 23: Q, K, V of shape (B, H, L, head dim), or (B, L, hidden) with
  ``q_num_heads`` / ``kv_num_heads``) as scores, softmax and context, like
  ``scaled_dot_product_attention`` in the torch.fx importer;
* ``Softmax`` and ``LayerNormalization`` as :class:`~coexplore.spec.workload.VectorOp` s.

Quantized graphs set the layer's bit widths (:mod:`coexplore.spec.precision`): in the
QDQ form (a ``Conv``/``Gemm``/``MatMul`` whose input or weight comes from a
``DequantizeLinear``, and whose output goes to a ``QuantizeLinear``) and as ``QLinearConv``
/ ``QLinearMatMul``, a tensor's bits are those of its zero point's integer type (``int8``
and ``uint8`` -> 8, ``int4``/``uint4`` -> 4; ``uint8`` when the zero point is omitted).

Operators that carry no MACs worth modelling pass through from an explicit allow-list;
anything else (LSTM, Einsum, custom-domain ops ...) raises
:class:`~coexplore.errors.InteropError` naming the node and its op type, so no compute
is ever dropped silently. Layer names are node names, or the first output's name when a
node is unnamed. ONNX pads may be asymmetric; a layer keeps the leading (top, left) pads,
which is all its loop nest needs (P and Q are taken from the inferred output shape).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from coexplore.errors import InteropError
from coexplore.interop import _attention as att
from coexplore.optional import require
from coexplore.spec.workload import Layer, Network, VectorOp

__all__ = ["MAC_OPS", "PASS_THROUGH_OPS", "VECTOR_OPS", "network_from_onnx"]

MAC_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul", "QLinearConv", "QLinearMatMul", "Einsum",
                     "Attention"})
VECTOR_OPS = frozenset({"Softmax", "LayerNormalization"})
"""Operators without MACs that become the network's vector ops (they are also in PASS_THROUGH_OPS)."""
PASS_THROUGH_OPS = frozenset({
    # quantization (their bits become the layers' precision)
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
    # activations
    "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu",
    "Celu", "Gelu", "Erf", "Softplus", "Softsign", "Mish", "Softmax", "LogSoftmax",
    # normalisation, element-wise arithmetic and comparisons
    "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization", "LRN",
    "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Neg", "Abs", "Exp", "Log", "Reciprocal", "Floor", "Ceil",
    "Round", "Min", "Max", "Sum", "Mean", "Mod", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not",
    "And", "Or", "Where", "Cast", "CastLike",
    # pooling and reductions
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceSum", "ReduceMax",
    "ReduceMin", "ArgMax", "ArgMin",
    # data movement and shape plumbing
    "Flatten", "Reshape", "Concat", "Split", "Slice", "Identity", "Dropout", "Transpose", "Shape", "Size",
    "Gather", "GatherElements", "Unsqueeze", "Squeeze", "Constant", "ConstantOfShape", "Pad", "Resize",
    "Upsample", "Expand", "Tile", "Range", "DepthToSpace", "SpaceToDepth",
})


def network_from_onnx(path: str | Path, name: str | None = None, *,
                      dim_values: Mapping[str, int] | None = None) -> Network:
    """Read the ONNX model at ``path`` and return its MAC-carrying layers in graph order.

    Args:
        path: An ``.onnx`` file.
        name: Network name; defaults to the file's stem.
        dim_values: Values for symbolic input dimensions by name (e.g. ``{"batch": 4}``);
            any other symbolic input dimension is taken as 1 (batch N = 1, as in the zoo).

    Raises:
        InteropError: the file is not ONNX, a shape cannot be inferred, or a node uses an
            operator outside :data:`MAC_OPS` and :data:`PASS_THROUGH_OPS`.
    """
    onnx = require("onnx", extra="onnx", who="the ONNX importer")

    p = Path(path)
    if not p.is_file():
        raise InteropError(f"{p}: no such ONNX file")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as e:
        raise InteropError(f"{p}: not an ONNX model ({type(e).__name__}: {e})") from None
    if model.ir_version <= 0 or not model.graph.node:
        raise InteropError(f"{p}: not an ONNX model (no IR version or an empty graph)")
    for node in model.graph.node:  # before shape inference, which may choke on them
        if node.domain not in ("", "ai.onnx") or node.op_type not in MAC_OPS | PASS_THROUGH_OPS:
            op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
            raise InteropError(
                f"onnx node {_label(node)!r} (op {op}): unsupported operator; supported: "
                f"{', '.join(sorted(MAC_OPS))}, and without MACs: {', '.join(sorted(PASS_THROUGH_OPS))}"
            )
    _fix_input_dims(model, dim_values or {})
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as e:
        raise InteropError(f"{p}: ONNX shape inference failed: {e}") from None
    shapes = _shapes(model)
    bits = _QuantBits(model, onnx)

    layers: list[Layer] = []
    vector_ops: list[VectorOp] = []
    seen: dict[str, int] = {}
    constants = _constant_tensors(model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    for node in model.graph.node:
        if node.op_type not in MAC_OPS | VECTOR_OPS:
            continue
        label = _label(node)
        count = seen[label] = seen.get(label, 0) + 1
        unique = label if count == 1 else f"{label}#{count}"
        if node.op_type in VECTOR_OPS:
            vector_ops.append(_vector_op(node, unique, shapes, onnx, opset))
            continue
        if node.op_type == "Attention":
            for item in _attention(node, unique, shapes, onnx):
                (vector_ops if isinstance(item, VectorOp) else layers).append(item)  # type: ignore[arg-type]
            continue
        layer = _layer(node, unique, shapes, onnx, constants)
        precision: dict[str, Any] = bits.of(node)
        layers.append(replace(layer, **precision) if precision else layer)
    if not layers:
        raise InteropError(f"{p}: no Conv, ConvTranspose, Gemm, MatMul or Einsum node found")
    return Network(name=name or p.stem, layers=tuple(layers), vector_ops=tuple(vector_ops))


_CONSTANT_PRESERVING = ("DequantizeLinear", "Transpose", "Cast", "Identity", "Reshape", "Unsqueeze", "Squeeze")


def _constant_tensors(model: Any) -> set[str]:
    """Tensors fixed at export: initializers, Constant outputs, and reshapes/casts/dequantizations of them."""
    const = {t.name for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type in ("Constant", "ConstantOfShape") or (
                node.op_type in _CONSTANT_PRESERVING and node.input and node.input[0] in const):
            const.update(node.output)
    return const


def _attention(node: Any, name: str, shapes: Mapping[str, tuple[int | None, ...]], onnx: Any) -> list[Any]:
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    qkv = []
    for tensor, heads_attr in zip(node.input[:3], ("q_num_heads", "kv_num_heads", "kv_num_heads"), strict=True):
        s = shapes.get(tensor)
        if s is None or any(d is None for d in s) or len(s) not in (3, 4):
            raise InteropError(f"onnx node {name!r} (op Attention): shape of {tensor!r} must be static 3-D or 4-D, "
                               f"got {s}")
        shape = tuple(int(d) for d in s if d is not None)
        if len(shape) == 3:
            heads = int(attrs.get(heads_attr, 0))
            if heads <= 0 or shape[2] % heads:
                raise InteropError(f"onnx node {name!r} (op Attention): {heads_attr} must divide the hidden size "
                                   f"{shape[2]} of {tensor!r}, got {heads}")
            shape = (shape[0], heads, shape[1], shape[2] // heads)
        qkv.append(shape)
    if qkv[1][1] != qkv[0][1]:  # grouped-query attention: K and V shared by q_heads / kv_heads query heads
        raise InteropError(f"onnx node {name!r} (op Attention): grouped-query attention ({qkv[0][1]} query heads, "
                           f"{qkv[1][1]} key/value heads) is not supported")
    return att.sdpa_items(name, *qkv)


def _vector_op(node: Any, name: str, shapes: Mapping[str, tuple[int | None, ...]], onnx: Any, opset: int) -> VectorOp:
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    s = shapes.get(node.input[0])
    if s is None or any(d is None for d in s):
        raise InteropError(f"onnx node {name!r} (op {node.op_type}): shape of input {node.input[0]!r} is unknown "
                           f"({s}); export with static shapes")
    shape = tuple(int(d) for d in s if d is not None)
    axis = int(attrs.get("axis", -1 if node.op_type == "LayerNormalization" or opset >= 13 else 1))
    axis = axis % len(shape) if shape else 0
    if node.op_type == "LayerNormalization" or opset < 13:  # normalised over axis..end (old Softmax flattens)
        return (att.layernorm_op if node.op_type == "LayerNormalization" else _flat_softmax)(
            name, shape, len(shape) - axis)
    return att.softmax_op(name, shape, axis)


def _flat_softmax(name: str, shape: tuple[int, ...], trailing: int) -> VectorOp:
    width = math.prod(shape[len(shape) - trailing:])
    return VectorOp(name=name, kind="softmax", rows=max(1, math.prod(shape) // width), width=width)


_QLINEAR = {"QLinearConv": (2, 5, 7), "QLinearMatMul": (2, 5, 7)}  # zero-point inputs: x, w, y


class _QuantBits:
    """Bit widths of the tensors a MAC node reads and writes, from the quantization around it."""

    def __init__(self, model: Any, onnx: Any) -> None:
        self.onnx = onnx
        g = model.graph
        self.producer = {o: n for n in g.node for o in n.output}
        self.consumers: dict[str, list[Any]] = {}
        for n in g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.elem = {t.name: t.data_type for t in g.initializer}
        for v in (*g.input, *g.value_info, *g.output):
            if v.type.HasField("tensor_type"):
                self.elem.setdefault(v.name, v.type.tensor_type.elem_type)

    def _zero_point_bits(self, node: Any, index: int) -> int:
        """Bits of the integer type of ``node``'s zero-point input ``index`` (uint8 when omitted)."""
        zp = node.input[index] if len(node.input) > index and node.input[index] else None
        if zp is None:
            return 8
        name = self.onnx.TensorProto.DataType.Name(self.elem.get(zp, self.onnx.TensorProto.UINT8))
        if not name.startswith(("INT", "UINT")):
            raise InteropError(f"onnx node {_label(node)!r} (op {node.op_type}): zero point {zp!r} has type "
                               f"{name}; only integer quantization sets a layer's bits")
        return int(name.lstrip("UINT"))

    def of(self, node: Any) -> dict[str, int]:
        if node.op_type in _QLINEAR:
            x, w, y = _QLINEAR[node.op_type]
            return {"input_bits": self._zero_point_bits(node, x), "weight_bits": self._zero_point_bits(node, w),
                    "output_bits": self._zero_point_bits(node, y)}
        out: dict[str, int] = {}
        for field, index in (("input_bits", 0), ("weight_bits", 1)):
            src = self.producer.get(node.input[index]) if len(node.input) > index else None
            if src is not None and src.op_type == "DequantizeLinear":
                out[field] = self._zero_point_bits(src, 2)
        quant = [n for n in self.consumers.get(node.output[0], []) if n.op_type == "QuantizeLinear"]
        if out and quant:
            out["output_bits"] = self._zero_point_bits(quant[0], 2)
        return out


def _label(node: Any) -> str:
    return str(node.name or (node.output[0] if node.output else node.op_type))


def _fix_input_dims(model: Any, values: Mapping[str, int]) -> None:
    initializers = {t.name for t in model.graph.initializer}
    for value in model.graph.input:
        if value.name in initializers or not value.type.HasField("tensor_type"):
            continue
        for dim in value.type.tensor_type.shape.dim:
            if not dim.HasField("dim_value") or dim.dim_value <= 0:
                dim.dim_value = int(values.get(dim.dim_param, 1))


def _shapes(model: Any) -> dict[str, tuple[int | None, ...]]:
    out: dict[str, tuple[int | None, ...]] = {}
    graph = model.graph
    for value in (*graph.input, *graph.value_info, *graph.output):
        if value.type.HasField("tensor_type") and value.type.tensor_type.HasField("shape"):
            out[value.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                    for d in value.type.tensor_type.shape.dim)
    for t in graph.initializer:
        out[t.name] = tuple(int(d) for d in t.dims)
    return out


def _layer(node: Any, name: str, shapes: Mapping[str, tuple[int | None, ...]], onnx: Any,
           constants: set[str]) -> Layer:
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    def shape(tensor: str, what: str) -> tuple[int, ...]:
        s = shapes.get(tensor)
        if s is None or any(d is None for d in s):
            raise InteropError(f"onnx node {name!r} (op {node.op_type}): shape of {what} {tensor!r} is "
                               f"unknown ({s}); export with static shapes")
        return tuple(int(d) for d in s if d is not None)

    op = node.op_type
    if op == "QLinearConv":  # x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp[, B]
        x, w = shape(node.input[0], "input"), shape(node.input[3], "weight")
        return _conv(name, x, w, shape(node.output[0], "output"), attrs, int(attrs.get("group", 1)))
    if op == "QLinearMatMul":  # a, a_scale, a_zp, b, ...
        a, b = shape(node.input[0], "input A"), shape(node.input[3], "input B")
        y = shape(node.output[0], "output")
        cols = 1 if len(b) == 1 else b[-1]
        return Layer(name=name, K=cols, C=a[-1], N=max(1, math.prod(y) // cols), op="matmul")
    if op in ("Conv", "ConvTranspose"):
        x, w = shape(node.input[0], "input"), shape(node.input[1], "weight")
        if len(x) not in (3, 4):
            raise InteropError(f"onnx node {name!r} (op {op}): only 1-D and 2-D convolutions are "
                               f"supported, got input shape {x}")
        g = int(attrs.get("group", 1))
        if op == "ConvTranspose":
            return Layer(name=name, K=w[1] * g * math.prod(w[2:]), C=x[1], P=1 if len(x) == 3 else x[2],
                         Q=x[-1], N=x[0], groups=g, op="convtranspose")
        y = shape(node.output[0], "output")
        return _conv(name, x, w, y, attrs, g)
    if op == "Gemm":
        a, b = shape(node.input[0], "input A"), shape(node.input[1], "input B")
        rows, inner = (a[1], a[0]) if attrs.get("transA", 0) else (a[0], a[1])
        cols = b[0] if attrs.get("transB", 0) else b[1]
        return Layer(name=name, K=cols, C=inner, N=rows, op="fc")
    a, b = shape(node.input[0], "input A"), shape(node.input[1], "input B")
    if op == "Einsum":
        equation = attrs.get("equation", b"")
        equation = equation.decode() if isinstance(equation, bytes) else str(equation)
        return att.einsum_layer(name, equation, a, b, a_is_parameter=node.input[0] in constants,
                                b_is_parameter=node.input[1] in constants)
    try:
        return att.matmul_layer(name, a, b, shape(node.output[0], "output"), b_is_parameter=node.input[1] in constants)
    except InteropError as e:
        raise InteropError(f"onnx node {e}") from None


def _conv(name: str, x: tuple[int, ...], w: tuple[int, ...], y: tuple[int, ...], attrs: Mapping[str, Any],
          groups: int) -> Layer:
    dims = len(x) - 2
    kernel = list(w[2:])
    strides = list(attrs.get("strides", [1] * dims))
    dilations = list(attrs.get("dilations", [1] * dims))
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for i in range(dims):
            total = max((y[2 + i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - x[2 + i], 0)
            pads.append(total // 2 if auto_pad == "SAME_UPPER" else (total + 1) // 2)
    else:
        pads = list(attrs.get("pads", [0] * 2 * dims))[:dims]
    if dims == 1:  # one output row: the 1-D conv runs along the columns
        kernel, strides, dilations, pads = [1, *kernel], [1, *strides], [1, *dilations], [0, *pads]
        p, q = 1, y[2]
    else:
        p, q = y[2], y[3]
    cin, cout = x[1], y[1]
    depthwise = groups > 1 and groups == cin == cout
    return Layer(name=name, K=cout, C=cin, P=p, Q=q, R=kernel[0], S=kernel[1], N=y[0],
                 stride=(strides[0], strides[1]), dilation=(dilations[0], dilations[1]),
                 padding=(pads[0], pads[1]), groups=groups, op="depthwise" if depthwise else "conv")
