"""Create a ResNet-18 ONNX file (random weights) without torchvision.

Run with the coexplore venv (torch is installed there, torchvision is not):

    /work/venv/bin/python benchmarks/peers/make_resnet18_onnx.py /tmp/resnet18.onnx

The module hierarchy reproduces torchvision's ``resnet18`` exactly (``conv1``, ``bn1``, ``relu``, ``maxpool``,
``layer1.0.conv1`` ... ``layer4.1.conv2``, ``layerN.0.downsample.0``, ``avgpool``, ``fc``), so the legacy
TorchScript exporter emits the same node names as torchvision's export (``/layer2/layer2.0/conv2/Conv`` ...).
BatchNorm is folded into the convolutions by the exporter in eval mode (``do_constant_folding``), so the graph
contains Conv / Relu / MaxPool / Add / GlobalAveragePool / Flatten / Gemm only, like the ZigZag-bundled
resnet18.onnx.  Shapes are inferred with ``onnx.shape_inference`` (if the ``onnx`` package is importable) and
stored as value_info, which ZigZag's ONNX parser needs to size every layer.
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity
        return self.relu(out)


class ResNet18(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, 2)
        self.layer2 = self._make_layer(128, 2, stride=2)
        self.layer3 = self._make_layer(256, 2, stride=2)
        self.layer4 = self._make_layer(512, 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(BasicBlock(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def _drop_initializer_identities(model) -> None:
    """Remove ``Identity`` nodes that merely alias an initializer (exporter constant deduplication)."""
    inits = {t.name for t in model.graph.initializer}
    graph_outputs = {o.name for o in model.graph.output}
    alias: dict[str, str] = {}
    keep = []
    for node in model.graph.node:
        if node.op_type == "Identity" and node.input[0] in inits and node.output[0] not in graph_outputs:
            alias[node.output[0]] = node.input[0]
        else:
            keep.append(node)
    if not alias:
        return
    for node in keep:
        for i, name in enumerate(node.input):
            if name in alias:
                node.input[i] = alias[name]
    del model.graph.node[:]
    model.graph.node.extend(keep)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", help="path of the .onnx file to write")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    model = ResNet18()
    # Random BatchNorm statistics/affine parameters: with the default (1, 0) values many folded conv biases are
    # identical, and the exporter then deduplicates them behind extra Identity nodes.
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.1, 0.1)
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    model.eval()
    dummy = torch.randn(args.batch, 3, 224, 224)
    torch.onnx.export(
        model,
        (dummy,),
        args.output,
        dynamo=False,  # legacy TorchScript exporter: torchvision-style node names, BN folded
        opset_version=args.opset,
        input_names=["input"],
        output_names=["output"],
        do_constant_folding=True,
    )
    try:
        import onnx
        from onnx import shape_inference

        m = onnx.load(args.output)
        _drop_initializer_identities(m)
        m = shape_inference.infer_shapes(m)
        onnx.checker.check_model(m)
        onnx.save(m, args.output)
        convs = [n.name for n in m.graph.node if n.op_type == "Conv"]
        print(
            f"wrote {args.output}: {len(m.graph.node)} nodes, {len(convs)} Conv, "
            f"{len(m.graph.value_info)} value_info (shapes inferred), opset {args.opset}",
            file=sys.stderr,
        )
    except ImportError:
        print(f"wrote {args.output} (onnx not importable: shapes not inferred here)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
