"""Import a PyTorch ``nn.Module`` as a :class:`~coexplore.spec.workload.Network`.

The module is traced with ``torch.fx`` and its tensor shapes propagated with
``ShapeProp`` on a zero input, so every layer's output size comes from PyTorch itself
rather than from a re-implementation of its formulas. Extracted, in execution order:

* ``nn.Conv2d`` (groups, depthwise, stride, dilation, padding) and
  ``torch.nn.functional.conv2d``;
* ``nn.Conv1d`` as a layer with one output row (P = 1, R = 1);
* ``nn.ConvTranspose2d`` as the equivalent 1x1 conv at the input resolution with
  K = out channels x kernel rows x kernel cols (the GEMM + col2im form: the same MACs,
  exact tensor sizes when kernel == stride);
* ``nn.Linear`` / ``functional.linear`` as ``op="fc"``, N = product of the leading dims;
* ``torch.matmul``, ``torch.mm``, ``torch.bmm``, ``@`` and ``Tensor.matmul``: with a second
  operand of two dimensions (one matrix shared by every row) ``op="matmul"``, K = output
  columns, C = inner dim, N = batch x rows; with batch dimensions on both operands (attention's
  ``Q K^T`` and ``A V``) a grouped ``op="bmm"`` layer whose weights are the second operand
  (``weights_from="activations"``; rules in :mod:`coexplore.interop._attention`);
* ``torch.einsum`` with two operands in a matmul form (``bhqd,bhkd->bhqk`` ...; others raise
  naming the equation), ``functional.scaled_dot_product_attention`` (scores, softmax, context),
  ``nn.MultiheadAttention`` (packed ``in_proj`` for self-attention, else q/k/v projections, scores,
  softmax, context, ``out_proj``), ``nn.TransformerEncoderLayer`` and ``nn.TransformerEncoder``
  (attention, layer norms, ``linear1``, ``linear2``);
* softmax (``nn.Softmax``, ``softmax``) and layer norm (``nn.LayerNorm``, ``layer_norm``) as
  :class:`~coexplore.spec.workload.VectorOp` s of the network.

Quantized graphs set the layer's bit widths (:mod:`coexplore.spec.precision`): a
quantization-aware module (``torch.ao.nn.qat`` and fused ``intrinsic.qat`` convs and
linears, from ``prepare_qat``/``prepare_qat_fx``) gives ``weight_bits`` from its
``weight_fake_quant`` range, and the fake-quantize (or observer) modules on its input and
output give ``input_bits`` and ``output_bits``; a converted module (``torch.ao.nn.quantized``
and ``intrinsic.quantized`` Conv2d / Linear) gives 8 bits for its ``qint8``/``quint8``
tensors (4 for ``quint4x2``). Bits are ``ceil(log2(quant_max - quant_min + 1))``.

Layer names are the fx node target (the module path, ``layer2.0.conv2``), or the fx
node name for functional calls; a module called more than once gets ``#2``, ``#3``...
Modules that carry MACs but are not modelled (RNNs, decoders, 3-D convs) raise
:class:`~coexplore.errors.InteropError` instead of being dropped silently. Modules on
the ``meta`` device work too (shapes only, no compute), which keeps large imports fast.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import operator
from collections.abc import Sequence
from typing import Any

from coexplore.errors import InteropError
from coexplore.interop import _attention as att
from coexplore.optional import require
from coexplore.spec.workload import Layer, Network, VectorOp

__all__ = ["network_from_torch"]

# Module types that carry MACs this importer does not model: refuse rather than drop.
_UNMODELLED = ("Conv3d", "ConvTranspose1d", "ConvTranspose3d", "RNN", "LSTM", "GRU", "RNNCell",
               "LSTMCell", "GRUCell", "Bilinear", "Transformer", "TransformerDecoder",
               "TransformerDecoderLayer", "LazyConv2d", "LazyLinear")


def network_from_torch(module: Any, input_shape: Sequence[int] = (1, 3, 224, 224),
                       name: str | None = None) -> Network:
    """Trace ``module`` on an input of ``input_shape`` and return its MAC-carrying layers.

    Args:
        module: A ``torch.nn.Module`` that ``torch.fx.symbolic_trace`` can trace.
        input_shape: Shape of the single example input (zeros, on the module's device).
        name: Network name; defaults to the module's class name.

    Raises:
        InteropError: the module cannot be traced or run, uses an unmodelled MAC-carrying
            module, or has no MAC-carrying layer.
    """
    require("torch", extra="torch", who="the torch.fx importer")
    import torch
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    net_name = name or type(module).__name__
    # an encoder (layer) as the root: its forward branches on its input, so trace it as the leaf of a wrapper
    wrapped = isinstance(module, torch.nn.TransformerEncoderLayer | torch.nn.TransformerEncoder)
    if wrapped:
        module = torch.nn.Sequential(module)
    try:
        gm = module if isinstance(module, torch.fx.GraphModule) else _trace(module, torch)
    except Exception as e:
        raise InteropError(f"torch.fx cannot trace {net_name}: {type(e).__name__}: {e}") from None
    param = next(module.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    was_training = module.training
    try:
        gm.eval()
        # ShapeProp prints a traceback before re-raising; the error below says it all
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            ShapeProp(gm).propagate(torch.zeros(tuple(input_shape), device=device, dtype=dtype))
    except Exception as e:
        cause = e.__cause__ or e
        raise InteropError(f"{net_name}: shape propagation with input {tuple(input_shape)} failed: "
                           f"{type(cause).__name__}: {cause}") from None
    finally:
        module.train(was_training)

    layers: list[Layer] = []
    vector_ops: list[VectorOp] = []
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        for item in _items(gm, node, torch):
            count = calls[item.name] = calls.get(item.name, 0) + 1
            if isinstance(item, VectorOp):
                vector_ops.append(item if count == 1 else dataclasses.replace(item, name=f"{item.name}#{count}"))
                continue
            bits = _precision(gm, node)
            layer = Layer(**{**_fields(item), **bits}) if bits else item
            if count > 1:
                layer = Layer(**{**_fields(layer), "name": f"{layer.name}#{count}"})
            layers.append(layer)
    if not layers:
        raise InteropError(f"{net_name}: no convolution, linear or matmul layer found")
    if wrapped:  # names as the encoder's own submodules ("self_attn.scores", "linear1")
        layers = [dataclasses.replace(x, name=x.name.removeprefix("0.")) for x in layers]
        vector_ops = [dataclasses.replace(x, name=x.name.removeprefix("0.")) for x in vector_ops]
    return Network(name=net_name, layers=tuple(layers), vector_ops=tuple(vector_ops))


def _trace(module: Any, torch: Any) -> Any:
    """``symbolic_trace``, with torch's quantization modules (fake-quantize, observers,
    quantized layers) kept as leaves: their forward has data-dependent control flow."""

    class Tracer(torch.fx.Tracer):  # type: ignore[misc,name-defined]
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return type(m).__module__.startswith("torch.ao.") or super().is_leaf_module(m, qualname)

    graph = Tracer().trace(module)
    return torch.fx.GraphModule(module, graph, type(module).__name__)


def _fields(layer: Layer) -> dict[str, Any]:
    return {f: getattr(layer, f) for f in Layer.__dataclass_fields__}


def _shape(node: Any, what: str, where: str) -> tuple[int, ...]:
    meta = getattr(node, "meta", {}).get("tensor_meta") if node is not None else None
    if meta is None or not hasattr(meta, "shape"):
        raise InteropError(f"fx node {where!r}: shape of its {what} is unknown")
    return tuple(int(d) for d in meta.shape)


def _arg(node: Any, index: int, key: str, default: Any) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(key, default)


def _pair(v: Any) -> tuple[int, int]:
    return (int(v[0]), int(v[-1])) if isinstance(v, list | tuple) else (int(v), int(v))


def _conv2d(name: str, x: tuple[int, ...], y: tuple[int, ...], w: tuple[int, ...], stride: Any,
            padding: Any, dilation: Any, groups: int) -> Layer:
    if len(x) != 4:
        raise InteropError(f"fx node {name!r}: conv2d input must be 4-D (N, C, H, W), got shape {x}")
    r, s = w[2], w[3]
    dil = _pair(dilation)
    if isinstance(padding, str):  # 'valid' or 'same'
        pad = (0, 0) if padding == "valid" else (dil[0] * (r - 1) // 2, dil[1] * (s - 1) // 2)
    else:
        pad = _pair(padding)
    cin, cout = x[1], y[1]
    depthwise = groups > 1 and groups == cin == cout
    return Layer(name=name, K=cout, C=cin, P=y[2], Q=y[3], R=r, S=s, N=y[0], stride=_pair(stride),
                 dilation=dil, padding=pad, groups=groups, op="depthwise" if depthwise else "conv")


def _range_bits(obj: Any) -> int | None:
    """Bits of a fake-quantize / observer module's integer range, if it has one."""
    lo, hi = getattr(obj, "quant_min", None), getattr(obj, "quant_max", None)
    if lo is None or hi is None:
        return None
    return max(1, math.ceil(math.log2(int(hi) - int(lo) + 1)))


def _quantizer(gm: Any, node: Any) -> Any:
    if node is None or getattr(node, "op", None) != "call_module":
        return None
    mod = gm.get_submodule(node.target)
    return mod if _range_bits(mod) is not None and "weight" not in dict(mod.named_parameters()) else None


def _precision(gm: Any, node: Any) -> dict[str, int]:
    """Bit widths a quantized or quantization-aware layer declares (empty for a float layer)."""
    out: dict[str, int] = {}
    if node.op == "call_module":
        mod = gm.get_submodule(node.target)
        wfq = getattr(mod, "weight_fake_quant", None)
        if wfq is not None and _range_bits(wfq) is not None:
            out["weight_bits"] = _range_bits(wfq)  # type: ignore[assignment]
        elif hasattr(mod, "_packed_params") or hasattr(mod, "_weight_bias"):  # converted quantized module
            w = mod.weight() if callable(getattr(mod, "weight", None)) else None
            dtype = str(getattr(w, "dtype", "torch.qint8"))
            out["weight_bits"] = 4 if "4x2" in dtype else 2 if "2x4" in dtype else 8
            out["input_bits"] = out["output_bits"] = 8
            return out
    src = node.args[0] if node.args else None
    q_in = _quantizer(gm, src)
    q_out = next((q for u in node.users if (q := _quantizer(gm, u)) is not None), None)
    if out or q_in is not None:
        if q_in is not None:
            out["input_bits"] = _range_bits(q_in)  # type: ignore[assignment]
        if q_out is not None:
            out["output_bits"] = _range_bits(q_out)  # type: ignore[assignment]
    return out


def _attention_module(gm: Any, node: Any, torch: Any) -> list[Layer | VectorOp] | None:
    """Attention modules traced as leaves: MultiheadAttention, TransformerEncoder(Layer), LayerNorm, Softmax."""
    nn = torch.nn
    mod = gm.get_submodule(node.target)
    name = str(node.target)
    if isinstance(mod, nn.LayerNorm):
        x = _shape(node.args[0], "input", name)
        return [att.layernorm_op(name, x, len(mod.normalized_shape))]
    if isinstance(mod, nn.Softmax):
        x = _shape(node.args[0], "input", name)
        return [att.softmax_op(name, x, mod.dim if mod.dim is not None else -1)]
    if isinstance(mod, nn.MultiheadAttention):
        q = _shape(_arg(node, 0, "query", None), "query", name)
        k = _shape(_arg(node, 1, "key", None), "key", name)
        same = _arg(node, 0, "query", None) is _arg(node, 1, "key", None) is _arg(node, 2, "value", None)
        return _mha(name, mod, q, k, same)
    if isinstance(mod, nn.TransformerEncoderLayer):
        return _encoder_layer(name, mod, _shape(node.args[0], "input", name), nn)
    if isinstance(mod, nn.TransformerEncoder):
        x = _shape(node.args[0], "input", name)
        items: list[Layer | VectorOp] = []
        for i, layer in enumerate(mod.layers):
            items += _encoder_layer(f"{name}.layers.{i}", layer, x, nn)
        if mod.norm is not None:
            items.append(att.layernorm_op(f"{name}.norm", x, len(mod.norm.normalized_shape)))
        return items
    return None


def _mha(name: str, mod: Any, q: tuple[int, ...], k: tuple[int, ...], self_attention: bool) -> list[Layer | VectorOp]:
    if len(q) == 2:  # unbatched (L, E)
        batch, q_len, kv_len = 1, q[0], k[0]
    elif mod.batch_first:
        batch, q_len, kv_len = q[0], q[1], k[1]
    else:
        batch, q_len, kv_len = q[1], q[0], k[0]
    kv_len += int(mod.bias_k is not None) + int(mod.add_zero_attn)
    packed = bool(mod._qkv_same_embed_dim) and self_attention
    return att.attention_items(name, batch=batch, q_len=q_len, kv_len=kv_len, embed=mod.embed_dim,
                               heads=mod.num_heads, kdim=mod.kdim, vdim=mod.vdim, packed=packed)


def _encoder_layer(name: str, mod: Any, x: tuple[int, ...], nn: Any) -> list[Layer | VectorOp]:
    """nn.TransformerEncoderLayer: self-attention, two layer norms, linear1 and linear2, in execution order."""
    if not isinstance(mod, nn.TransformerEncoderLayer):
        raise InteropError(f"fx node {name!r}: encoder layer of type {type(mod).__name__} is not supported")
    tokens = math.prod(x[:-1])
    attn = _mha(f"{name}.self_attn", mod.self_attn, x, x, True)
    norm1 = att.layernorm_op(f"{name}.norm1", x, len(mod.norm1.normalized_shape))
    norm2 = att.layernorm_op(f"{name}.norm2", x, len(mod.norm2.normalized_shape))
    ffn: list[Layer | VectorOp] = [
        Layer(name=f"{name}.linear1", K=mod.linear1.out_features, C=mod.linear1.in_features, N=tokens, op="fc"),
        Layer(name=f"{name}.linear2", K=mod.linear2.out_features, C=mod.linear2.in_features, N=tokens, op="fc")]
    if mod.norm_first:
        return [norm1, *attn, norm2, *ffn]
    return [*attn, norm1, *ffn, norm2]


def _module_layer(gm: Any, node: Any, torch: Any) -> Layer | None:
    nn = torch.nn
    mod = gm.get_submodule(node.target)
    name = str(node.target)
    kind = type(mod).__name__
    quantized = _quantized_module_layer(name, node, mod)
    if quantized is not None:
        return quantized
    if isinstance(mod, nn.Conv2d):
        x, y = _shape(node.args[0], "input", name), _shape(node, "output", name)
        return _conv2d(name, x, y, tuple(mod.weight.shape), mod.stride, mod.padding, mod.dilation, mod.groups)
    if isinstance(mod, nn.Conv1d):
        x, y = _shape(node.args[0], "input", name), _shape(node, "output", name)
        if len(x) != 3:
            raise InteropError(f"fx node {name!r}: conv1d input must be 3-D (N, C, L), got shape {x}")
        k, d, g = mod.kernel_size[0], mod.dilation[0], mod.groups
        if isinstance(mod.padding, str):
            pad = (0, 0 if mod.padding == "valid" else d * (k - 1) // 2)
        else:
            pad = (0, int(mod.padding[0]))
        return Layer(name=name, K=y[1], C=x[1], P=1, Q=y[2], R=1, S=k, N=y[0],
                     stride=(1, mod.stride[0]), dilation=(1, d), padding=pad, groups=g,
                     op="depthwise" if g > 1 and g == x[1] == y[1] else "conv")
    if isinstance(mod, nn.ConvTranspose2d):
        x = _shape(node.args[0], "input", name)
        if len(x) != 4:
            raise InteropError(f"fx node {name!r}: conv_transpose2d input must be 4-D, got shape {x}")
        r, s = mod.kernel_size
        return Layer(name=name, K=mod.out_channels * r * s, C=mod.in_channels, P=x[2], Q=x[3], N=x[0],
                     groups=mod.groups, op="convtranspose")
    if isinstance(mod, nn.Linear):
        y = _shape(node, "output", name)
        return Layer(name=name, K=mod.out_features, C=mod.in_features, N=math.prod(y[:-1]), op="fc")
    if kind in _UNMODELLED:
        raise InteropError(f"fx node {name!r}: module type {kind} carries MACs but is not supported; "
                           "supported: Conv1d, Conv2d, ConvTranspose2d, Linear, MultiheadAttention, "
                           "TransformerEncoderLayer, TransformerEncoder, conv2d, linear, matmul, bmm, einsum, "
                           "scaled_dot_product_attention")
    return None


def _quantized_module_layer(name: str, node: Any, mod: Any) -> Layer | None:
    """A converted ``torch.ao.nn.quantized`` Conv2d / Linear (not an ``nn.Conv2d`` subclass)."""
    kind = type(mod).__name__
    module_path = type(mod).__module__
    if ".quantized" not in module_path or kind not in ("Conv2d", "ConvReLU2d", "Linear", "LinearReLU"):
        return None
    if kind.startswith("Conv"):
        x, y = _shape(node.args[0], "input", name), _shape(node, "output", name)
        w = (mod.out_channels, mod.in_channels // mod.groups, *mod.kernel_size)
        return _conv2d(name, x, y, w, mod.stride, mod.padding, mod.dilation, mod.groups)
    y = _shape(node, "output", name)
    return Layer(name=name, K=mod.out_features, C=mod.in_features, N=math.prod(y[:-1]), op="fc")


def _unmodelled_functions(torch: Any) -> tuple[Any, ...]:
    F = torch.nn.functional
    return (torch.addmm, torch.baddbmm, torch.addbmm, F.conv1d, F.conv3d,
            F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d, F.bilinear)


def _is_parameter(node: Any) -> bool:
    return getattr(node, "op", None) == "get_attr"


def _items(gm: Any, node: Any, torch: Any) -> list[Layer | VectorOp]:
    """The layers and vector ops one fx node contributes (usually none or one)."""
    F = torch.nn.functional
    if node.op == "call_module":
        attention = _attention_module(gm, node, torch)
        if attention is not None:
            return attention
    name = str(node.name)
    if node.op == "call_function" and node.target is F.scaled_dot_product_attention:
        q, k, v = (_shape(_arg(node, i, key, None), key, name) for i, key in enumerate(("query", "key", "value")))
        return list(att.sdpa_items(name, q, k, v))
    if node.op == "call_function" and node.target is torch.einsum:
        equation, *operands = node.args
        if len(operands) == 1 and isinstance(operands[0], list | tuple):
            operands = list(operands[0])
        if len(operands) != 2:
            raise InteropError(f"fx node {name!r}: einsum {equation!r} with {len(operands)} operands is not "
                               "supported; supported: two-operand matmul forms")
        a, b = (_shape(x, f"operand {i}", name) for i, x in enumerate(operands))
        return [att.einsum_layer(name, str(equation), a, b, a_is_parameter=_is_parameter(operands[0]),
                                 b_is_parameter=_is_parameter(operands[1]))]
    is_softmax = (node.op == "call_function" and node.target in (F.softmax, torch.softmax)) or (
        node.op == "call_method" and node.target == "softmax")
    if is_softmax:
        return [att.softmax_op(name, _shape(node, "output", name), int(_arg(node, 1, "dim", -1)))]
    if node.op == "call_function" and node.target is F.layer_norm:
        shape = _arg(node, 1, "normalized_shape", ())
        return [att.layernorm_op(name, _shape(node, "output", name), len(shape) if isinstance(shape, list | tuple)
                                 else 1)]
    layer = _layer(gm, node, torch)
    return [] if layer is None else [layer]


def _layer(gm: Any, node: Any, torch: Any) -> Layer | None:
    F = torch.nn.functional
    if node.op == "call_module":
        return _module_layer(gm, node, torch)
    name = str(node.name)
    if node.op == "call_function" and node.target is F.conv2d:
        x, y = _shape(node.args[0], "input", name), _shape(node, "output", name)
        w = _shape(_arg(node, 1, "weight", None), "weight", name)
        return _conv2d(name, x, y, w, _arg(node, 3, "stride", 1), _arg(node, 4, "padding", 0),
                       _arg(node, 5, "dilation", 1), int(_arg(node, 6, "groups", 1)))
    if node.op == "call_function" and node.target is F.linear:
        w = _shape(_arg(node, 1, "weight", None), "weight", name)
        y = _shape(node, "output", name)
        return Layer(name=name, K=w[0], C=w[1], N=math.prod(y[:-1]), op="fc")
    if node.op == "call_function" and node.target in _unmodelled_functions(torch):
        raise InteropError(f"fx node {name!r}: {getattr(node.target, '__name__', node.target)} carries MACs "
                           "but is not supported; supported: conv2d, linear, matmul, mm, bmm, @, einsum, "
                           "scaled_dot_product_attention")
    is_matmul = (node.op == "call_function" and node.target in (torch.matmul, torch.mm, torch.bmm,
                                                                 operator.matmul)) or (
        node.op == "call_method" and node.target in ("matmul", "mm", "bmm", "__matmul__"))
    if is_matmul:
        a = _shape(node.args[0], "first operand", name)
        b = _shape(node.args[1] if len(node.args) > 1 else None, "second operand", name)
        return att.matmul_layer(name, a, b, _shape(node, "output", name), b_is_parameter=_is_parameter(node.args[1]))
    return None
