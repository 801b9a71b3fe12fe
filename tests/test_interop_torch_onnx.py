"""PyTorch (torch.fx) and ONNX importers: every field of small models, the zoo, errors."""

# ruff: noqa: E402  (imports after the optional-extra skip)
from __future__ import annotations

import dataclasses
import importlib.util
import warnings
from pathlib import Path
from types import ModuleType

import pytest

onnx = pytest.importorskip("onnx", reason="the ONNX importer needs the extra 'onnx'")
torch = pytest.importorskip("torch", reason="the torch.fx importer needs the extra 'torch'")
from onnx import TensorProto, helper
from torch import nn
from torch.nn import functional as F

from coexplore.errors import InteropError
from coexplore.interop.onnx_import import network_from_onnx
from coexplore.interop.torch_fx import network_from_torch
from coexplore.presets.networks import NETWORKS
from coexplore.spec.workload import Layer, Network


def zoo_test_module() -> ModuleType:
    """tests/test_zoo.py, which re-states torchvision's ResNet and MobileNetV2 as nn.Modules."""
    path = Path(__file__).with_name("test_zoo.py")
    spec = importlib.util.spec_from_file_location("_zoo_torch_models", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Small(nn.Module):
    """Conv, dilated depthwise conv, grouped non-square conv, functional conv2d, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8)
        self.grouped = nn.Conv2d(8, 16, (3, 1), stride=(1, 2), padding=(1, 0), groups=2)
        self.kernel = nn.Parameter(torch.randn(4, 16, 1, 1))
        self.fc = nn.Linear(4 * 8 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.grouped(F.relu(self.dw(F.relu(self.conv(x)))))
        x = F.conv2d(x, self.kernel, None, 1, padding=0)
        return self.fc(torch.flatten(x, 1))


SMALL_EXPECTED = [
    Layer(name="conv", K=8, C=3, P=8, Q=8, R=3, S=3, N=1, stride=(2, 2), padding=(1, 1), op="conv"),
    Layer(name="dw", K=8, C=8, P=8, Q=8, R=3, S=3, N=1, dilation=(2, 2), padding=(2, 2), groups=8,
          op="depthwise"),
    Layer(name="grouped", K=16, C=8, P=8, Q=4, R=3, S=1, N=1, stride=(1, 2), padding=(1, 0), groups=2,
          op="conv"),
    Layer(name="conv2d", K=4, C=16, P=8, Q=4, R=1, S=1, N=1, op="conv"),
    Layer(name="fc", K=10, C=128, op="fc"),
]


class Tokens(nn.Module):
    """Conv1d, linear on a 3-D input, ``@``, torch.matmul, functional linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1d = nn.Conv1d(4, 6, 3, stride=2, padding=1)
        self.proj = nn.Linear(6, 12)
        self.weight = nn.Parameter(torch.randn(7, 12))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.proj(self.conv1d(x).transpose(1, 2))  # (2, 5, 12)
        scores = h @ h.transpose(1, 2)  # (2, 5, 5)
        return F.linear(torch.matmul(scores, h), self.weight)  # (2, 5, 7)


TOKENS_EXPECTED = [
    Layer(name="conv1d", K=6, C=4, P=1, Q=5, R=1, S=3, N=2, stride=(1, 2), padding=(0, 1), op="conv"),
    Layer(name="proj", K=12, C=6, N=10, op="fc"),
    # batched matmuls of two activations: groups = batch 2, both operands counted per batch element
    Layer(name="matmul", K=2 * 5, C=2 * 12, N=5, groups=2, op="bmm", weights_from="activations"),
    Layer(name="matmul_1", K=2 * 12, C=2 * 5, N=5, groups=2, op="bmm", weights_from="activations"),
    Layer(name="linear", K=7, C=12, N=10, op="fc"),
]


def test_fx_small_model_every_field() -> None:
    net = network_from_torch(Small(), (1, 3, 16, 16))
    assert net.name == "Small"
    assert list(net.layers) == SMALL_EXPECTED


def test_fx_conv1d_linear_matmul_every_field() -> None:
    net = network_from_torch(Tokens(), (2, 4, 10), name="tokens")
    assert net.name == "tokens"
    assert list(net.layers) == TOKENS_EXPECTED


def test_fx_conv_transpose_and_repeated_module() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(self.conv(self.up(x)))

    net = network_from_torch(Twice(), (1, 8, 5, 6))
    up = net.layer("up")
    assert (up.K, up.C, up.P, up.Q, up.R, up.S, up.op) == (16, 8, 5, 6, 1, 1, "convtranspose")
    assert up.macs == 8 * 4 * 2 * 2 * 5 * 6
    assert [x.name for x in net.layers] == ["up", "conv", "conv#2"]
    assert net.layer("conv#2").P == 10


def test_fx_restores_training_mode_and_accepts_meta_modules() -> None:
    model = Small().train()
    network_from_torch(model, (1, 3, 16, 16))
    assert model.training
    with torch.device("meta"):
        meta_model = Small()
    assert list(network_from_torch(meta_model, (1, 3, 16, 16)).layers) == SMALL_EXPECTED


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv2"])
def test_fx_handwritten_torchvision_models_match_zoo(name: str) -> None:
    zoo = zoo_test_module()
    module = zoo.ResNet(False, (2, 2, 2, 2)) if name == "resnet18" else zoo.MobileNetV2()
    imported = network_from_torch(module.eval(), (1, 3, 224, 224), name=name)  # real CPU tensors
    preset = NETWORKS.get(name)
    assert [x.name for x in imported.layers] == [x.name for x in preset.layers]
    for got, want in zip(imported.layers, preset.layers):
        assert got.bounds() == want.bounds(), want.name
        assert (got.stride, got.padding, got.dilation, got.groups, got.op) == (
            want.stride, want.padding, want.dilation, want.groups, want.op), want.name
    assert imported.macs == preset.macs


def test_fx_errors_name_the_reason() -> None:
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x) if x.sum() > 0 else x

    with pytest.raises(InteropError, match=r"torch\.fx cannot trace Branchy"):
        network_from_torch(Branchy(), (1, 4))

    class Recurrent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(4, 8, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lstm(x)[0]

    with pytest.raises(InteropError, match=r"'lstm'.*LSTM carries MACs but is not supported"):
        network_from_torch(Recurrent(), (1, 3, 4))
    class Einsum(nn.Module):  # a trace-like repeated index is no matmul form
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.einsum("ii,ij->j", x, x)

    with pytest.raises(InteropError, match=r"'einsum': einsum 'ii,ij->j' is not supported \(a repeated index\)"):
        network_from_torch(Einsum(), (4, 4))
    with pytest.raises(InteropError, match=r"shape propagation with input \(1, 5, 16, 16\) failed"):
        network_from_torch(Small(), (1, 5, 16, 16))
    with pytest.raises(InteropError, match="no convolution, linear or matmul"):
        network_from_torch(nn.ReLU(), (1, 4))


# -- ONNX -----------------------------------------------------------------------------------------
def export(model: nn.Module, shape: tuple[int, ...], path: Path, **kwargs: object) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.zeros(shape),), str(path), dynamo=False,
                          input_names=["x"], **kwargs)
    return path


def unnamed(net: Network) -> list[Layer]:
    return [dataclasses.replace(x, name="") for x in net.layers]


def test_onnx_small_model_matches_fx(tmp_path: Path) -> None:
    net = network_from_onnx(export(Small(), (1, 3, 16, 16), tmp_path / "small.onnx"))
    assert net.name == "small"
    assert unnamed(net) == [dataclasses.replace(x, name="") for x in SMALL_EXPECTED]
    assert all(x.name for x in net.layers) and len({x.name for x in net.layers}) == len(net.layers)


def test_onnx_conv1d_matmul_and_dynamic_batch(tmp_path: Path) -> None:
    path = export(Tokens(), (2, 4, 10), tmp_path / "tokens.onnx", dynamic_axes={"x": {0: "batch"}})
    got = network_from_onnx(path, name="tok", dim_values={"batch": 2})
    assert got.name == "tok"
    # a linear on a 3-D input is exported as MatMul (+ Add): same loop nest, op "matmul"
    want = [dataclasses.replace(x, name="", op="matmul" if x.op == "fc" else x.op) for x in TOKENS_EXPECTED]
    assert unnamed(got) == want
    default = network_from_onnx(path)  # unset symbolic dims are taken as 1
    assert [x.N for x in default.layers] == [1, 5, 5, 5, 5]


def test_onnx_conv_transpose(tmp_path: Path) -> None:
    net = network_from_onnx(export(nn.ConvTranspose2d(8, 4, 2, stride=2), (1, 8, 5, 6), tmp_path / "t.onnx"))
    (up,) = net.layers
    assert (up.K, up.C, up.P, up.Q, up.op, up.macs) == (16, 8, 5, 6, "convtranspose", 8 * 4 * 4 * 30)


def _graph_model(node: onnx.NodeProto, path: Path) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([node], "g", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_onnx_unsupported_operator_names_node_and_op(tmp_path: Path) -> None:
    lstm = helper.make_node("LSTM", ["x", "W", "R"], ["y"], name="lstm_1", hidden_size=8)
    with pytest.raises(InteropError) as info:
        network_from_onnx(_graph_model(lstm, tmp_path / "lstm.onnx"))
    message = str(info.value)
    assert message.startswith("onnx node 'lstm_1' (op LSTM): unsupported operator; supported: ")
    assert "Conv" in message and "Relu" in message
    custom = helper.make_node("FancyOp", ["x"], ["y"], domain="com.example")
    with pytest.raises(InteropError, match=r"onnx node 'y' \(op com\.example::FancyOp\): unsupported"):
        network_from_onnx(_graph_model(custom, tmp_path / "custom.onnx"))


def test_onnx_non_onnx_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a protobuf\n" * 3)
    with pytest.raises(InteropError, match="not an ONNX model") as info:
        network_from_onnx(text)
    assert str(text) in str(info.value)
    with pytest.raises(InteropError, match="no such ONNX file"):
        network_from_onnx(tmp_path / "absent.onnx")
