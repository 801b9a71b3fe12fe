"""The network zoo: published MAC totals, torchvision names and shapes, YAML round trip.

The torch modules at the bottom re-state torchvision's definitions (torchvision itself
is not installable here) with the same module names; every preset is checked layer
by layer against the torch.fx import of its module, built on the ``meta`` device so
no weights are allocated and nothing is computed.
"""

# ruff: noqa: E402  (imports after the optional-extra skip)
from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the zoo is checked against torch.fx imports: extra 'torch'")
from torch import nn

from coexplore.errors import RegistryError, SpecError
from coexplore.interop.torch_fx import network_from_torch
from coexplore.presets.networks import (
    NETWORKS,
    build_unet,
    get_network,
    load_network_yaml,
    network_from_dict,
    network_to_dict,
    save_network_yaml,
)
from coexplore.spec.workload import Network

# Published multiply-accumulate counts, in GMACs.
# Classifiers: the "GFLOPS" column of torchvision's model documentation
# (https://pytorch.org/vision/stable/models.html, per-model weights tables, e.g.
# ResNet18_Weights.IMAGENET1K_V1.meta["_ops"]), which counts one multiply-add as one op
# for a 224x224 image.
# U-Net: github.com/IanDxSSXX/DxTorchUtils, docstring of its UNet model module:
# "Input: (3, 224, 224) ... MACs/FLOPs: 36,972,988,416" (thop) for the padded U-Net with
# 2 classes; its up-sampling block (2x nearest upsample + 1x1 conv halving the channels)
# has exactly the MACs of a 2x2 stride-2 transposed conv, and thop adds a few
# batch-norm/bias ops (~0.25 %) that are not modelled here.
PUBLISHED_GMACS = {
    "alexnet": 0.71,
    "vgg16": 15.47,
    "resnet18": 1.81,
    "resnet50": 4.09,
    "mobilenetv2": 0.30,
    "squeezenet": 0.82,
    "mnasnet": 0.31,
    "unet": 36.972988416,
}
# Second U-Net source: Tang et al., "CMUNeXt" (ISBI 2024), Table 1, and the README of
# FengheTan9/Medical-Image-Segmentation-Benchmarks: U-Net, 3x256x256 input, 1 class,
# 65.52 GFLOPs (thop MACs); that U-Net up-samples with 2x upsample + 3x3 conv.
CMUNEXT_UNET_GMACS = 65.52


def test_registry_holds_exactly_the_documented_presets() -> None:
    assert NETWORKS.names() == [
        "alexnet", "vgg16", "resnet18", "resnet50", "mobilenetv2", "squeezenet", "mnasnet", "unet",
        # attention-based (coexplore.presets.transformers), each also NAME:key=value
        "bert-base", "vit-b16", "lra-transformer", "fnet-lra", "fabnet-lra"]


@pytest.mark.parametrize("name", sorted(PUBLISHED_GMACS))
def test_macs_within_two_percent_of_published(name: str) -> None:
    net = NETWORKS.get(name)
    assert net.name == name
    assert net.macs / 1e9 == pytest.approx(PUBLISHED_GMACS[name], rel=0.02)
    assert all(layer.N == 1 for layer in net.layers)


def test_unet_upsample_conv_variant_matches_cmunext_figure() -> None:
    net = build_unet(size=256, in_channels=3, classes=1, upsampling="upsample_conv3x3")
    assert net.macs / 1e9 == pytest.approx(CMUNEXT_UNET_GMACS, rel=0.02)
    up = net.layer("up4")
    assert (up.K, up.C, up.P, up.R) == (512, 1024, 32, 3)


def test_unet_transposed_conv_is_modelled_with_its_exact_macs() -> None:
    net = NETWORKS.get("unet")
    up = net.layer("up4")  # ConvTranspose2d(1024, 512, 2, stride=2) on a 14x14 map
    assert (up.K, up.C, up.P, up.Q, up.R, up.S, up.op) == (512 * 4, 1024, 14, 14, 1, 1, "convtranspose")
    assert up.macs == 14 * 14 * 1024 * 512 * 2 * 2
    assert up.outputs_words == 512 * 28 * 28
    assert net.layer("head").P == 224
    with pytest.raises(SpecError, match="size"):
        build_unet(size=100)


def test_resnet18_names_and_shapes() -> None:
    net = NETWORKS.get("resnet18")
    names = [x.name for x in net.layers]
    assert names[:3] == ["conv1", "layer1.0.conv1", "layer1.0.conv2"]
    assert names[-1] == "fc"
    assert "layer1.0.downsample.0" not in names
    l = net.layer("layer2.0.conv2")
    assert (l.K, l.C, l.P, l.Q, l.R, l.S, l.stride, l.padding) == (128, 128, 28, 28, 3, 3, (1, 1), (1, 1))
    l = net.layer("layer2.0.conv1")
    assert (l.C, l.P, l.stride) == (64, 28, (2, 2))
    l = net.layer("layer2.0.downsample.0")
    assert (l.K, l.C, l.P, l.R, l.stride) == (128, 64, 28, 1, (2, 2))
    l = net.layer("conv1")
    assert (l.K, l.C, l.P, l.R, l.stride, l.padding) == (64, 3, 112, 7, (2, 2), (3, 3))
    fc = net.layer("fc")
    assert (fc.K, fc.C, fc.P, fc.Q, fc.R, fc.S, fc.op) == (1000, 512, 1, 1, 1, 1, "fc")


def test_other_presets_names_and_shapes() -> None:
    r50 = NETWORKS.get("resnet50").layer("layer3.0.conv2")
    assert (r50.K, r50.C, r50.P, r50.stride) == (256, 256, 14, (2, 2))
    vgg = NETWORKS.get("vgg16")
    assert vgg.layers[0].name == "features.0" and vgg.layer("classifier.0").C == 512 * 7 * 7
    alex = NETWORKS.get("alexnet")
    assert (alex.layer("features.0").P, alex.layer("classifier.1").C) == (55, 256 * 6 * 6)
    sq = NETWORKS.get("squeezenet")
    assert (sq.layer("features.3.squeeze").C, sq.layer("features.3.squeeze").P) == (96, 54)
    assert sq.layer("features.12.expand3x3").P == 13 and sq.layer("classifier.1").K == 1000
    mnas = NETWORKS.get("mnasnet")
    dw = mnas.layer("layers.9.0.layers.3")
    assert (dw.groups, dw.R, dw.stride, dw.P, dw.padding) == (72, 5, (2, 2), 28, (2, 2))
    assert mnas.layer("layers.3").op == "depthwise"


def test_mobilenetv2_depthwise_layers() -> None:
    net = NETWORKS.get("mobilenetv2")
    dws = [x for x in net.layers if x.op == "depthwise"]
    assert len(dws) == 17
    for x in dws:
        assert x.groups == x.C == x.K and x.R == x.S == 3
        assert x.bounds()["K"] == x.bounds()["C"] == 1
    assert net.layer("features.1.conv.0.0").op == "depthwise"
    assert net.layer("features.1.conv.1").K == 16
    l = net.layer("features.2.conv.1.0")
    assert (l.C, l.P, l.stride) == (96, 56, (2, 2))
    assert net.layer("features.18.0").K == 1280


def test_yaml_round_trip(tmp_path: Path) -> None:
    for name in ("mobilenetv2", "unet"):
        net = NETWORKS.get(name)
        path = tmp_path / f"{name}.yaml"
        save_network_yaml(net, path)
        assert load_network_yaml(path) == net
        assert get_network(str(path)) == net
    assert network_from_dict(network_to_dict(NETWORKS.get("alexnet"))) == NETWORKS.get("alexnet")


def test_yaml_pairs_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "n.yaml"
    path.write_text("name: tiny\nlayers:\n  - {name: a, K: 8, C: 4, P: 5, Q: 6, R: 3, S: 1, stride: [2, 1]}\n"
                    "  - {K: 10, C: 8}\n  - {name: dw, K: 8, C: 8, P: 4, Q: 4, R: 3, S: 3, groups: 8}\n")
    net = get_network(str(path))
    assert net.layer("a").stride == (2, 1) and net.layer("a").Q == 6 and net.layer("a").op == "conv"
    assert net.layers[1].name == "layer1" and net.layers[1].op == "fc"  # defaults: name, inferred op
    assert net.layer("dw").op == "depthwise"
    assert network_to_dict(net)["layers"][0]["stride"] == [2, 1]
    assert network_to_dict(net)["layers"][0]["dilation"] == 1


def test_bad_yaml_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nlayers:\n  - {name: a, K: -1, C: 4, stride: [1, 2, 3], colour: red}\n"
                    "  - {name: b, C: 4.5}\n  - 7\n")
    with pytest.raises(SpecError) as info:
        load_network_yaml(path)
    problems = info.value.problems
    assert any(f"{path}.layers[0].stride" in p and "[1, 2, 3]" in p for p in problems)
    assert any(f"{path}.layers[0].colour" in p for p in problems)
    assert any(f"{path}.layers[1].K: required" in p for p in problems)
    assert any(f"{path}.layers[1].C" in p and "4.5" in p for p in problems)
    assert any(f"{path}.layers[2]" in p and "7" in p for p in problems)
    # Layer's own rules are reported with this file's field paths, all at once
    with pytest.raises(SpecError) as info:
        network_from_dict({"name": "x", "layers": [{"name": "a", "K": -1, "C": 0}]}, source="f.yaml")
    assert info.value.problems == [
        "f.yaml.layers[0].K: must be a positive integer, got -1",
        "f.yaml.layers[0].C: must be a positive integer, got 0",
    ]
    with pytest.raises(SpecError, match="must be unique"):
        network_from_dict({"name": "x", "layers": [{"name": "a", "K": 1, "C": 1}] * 2})


def test_malformed_yaml_and_missing_things(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\nlayers: {")
    with pytest.raises(SpecError, match="malformed YAML") as info:
        get_network(str(path))
    assert str(path) in str(info.value)
    with pytest.raises(SpecError, match="layers: must be a non-empty list"):
        network_from_dict({"name": "x", "layers": []})
    with pytest.raises(SpecError, match=r"absent\.yaml: no such network file"):
        load_network_yaml(tmp_path / "absent.yaml")
    with pytest.raises(RegistryError) as err:
        get_network("resnet19")
    assert "resnet18" in str(err.value) and "unet" in str(err.value)


# -- torchvision's definitions, re-stated with the same module names ---------------------------
class BasicBlock(nn.Module):
    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, width, 1, stride, bias=False), nn.BatchNorm2d(width))
                           if stride != 1 or cin != width else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = 4 * width
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                           if stride != 1 or cin != cout else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, bottleneck: bool, depths: tuple[int, ...]) -> None:
        super().__init__()
        block = Bottleneck if bottleneck else BasicBlock
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (width, n) in enumerate(zip((64, 128, 256, 512), depths), start=1):
            blocks = []
            for j in range(n):
                blocks.append(block(cin, width, 2 if j == 0 and i > 1 else 1))
                cin = width * (4 if bottleneck else 1)
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def conv_bn_act(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, t: int) -> None:
        super().__init__()
        hidden = cin * t
        self.use_res_connect = stride == 1 and cin == cout
        layers = [conv_bn_act(cin, hidden, 1)] if t != 1 else []
        layers += [conv_bn_act(hidden, hidden, 3, stride, hidden), nn.Conv2d(hidden, cout, 1, bias=False),
                   nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        feats: list[nn.Module] = [conv_bn_act(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                           (6, 160, 3, 2), (6, 320, 1, 1)):
            for j in range(n):
                feats.append(InvertedResidual(cin, c, s if j == 0 else 1, t))
                cin = c
        feats.append(conv_bn_act(cin, 1280, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class Classifier(nn.Module):
    """features -> (pool) -> flatten -> classifier, as AlexNet, VGG and SqueezeNet are laid out."""

    def __init__(self, features: list[nn.Module], pool: nn.Module | None,
                 classifier: list[nn.Module]) -> None:
        super().__init__()
        self.features = nn.Sequential(*features)
        self.avgpool = pool
        self.classifier = nn.Sequential(*classifier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.avgpool is None:  # SqueezeNet: a conv classifier, flattened at the end
            return torch.flatten(self.classifier(self.features(x)), 1)
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def alexnet_module() -> nn.Module:
    relu = nn.ReLU
    return Classifier(
        [nn.Conv2d(3, 64, 11, 4, 2), relu(), nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2), relu(),
         nn.MaxPool2d(3, 2), nn.Conv2d(192, 384, 3, padding=1), relu(), nn.Conv2d(384, 256, 3, padding=1),
         relu(), nn.Conv2d(256, 256, 3, padding=1), relu(), nn.MaxPool2d(3, 2)],
        nn.AdaptiveAvgPool2d((6, 6)),
        [nn.Dropout(), nn.Linear(9216, 4096), relu(), nn.Dropout(), nn.Linear(4096, 4096), relu(),
         nn.Linear(4096, 1000)])


def vgg16_module() -> nn.Module:
    feats: list[nn.Module] = []
    cin = 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if isinstance(v, int):
            feats += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU()]
            cin = v
        else:
            feats.append(nn.MaxPool2d(2, 2))
    return Classifier(feats, nn.AdaptiveAvgPool2d((7, 7)),
                      [nn.Linear(25088, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(),
                       nn.Dropout(), nn.Linear(4096, 1000)])


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.expand1x1(x)), torch.relu(self.expand3x3(x))], 1)


def squeezenet_module() -> nn.Module:
    def pool() -> nn.Module:
        return nn.MaxPool2d(3, 2, ceil_mode=True)

    return Classifier(
        [nn.Conv2d(3, 96, 7, 2), nn.ReLU(), pool(), Fire(96, 16, 64), Fire(128, 16, 64), Fire(128, 32, 128),
         pool(), Fire(256, 32, 128), Fire(256, 48, 192), Fire(384, 48, 192), Fire(384, 64, 256), pool(),
         Fire(512, 64, 256)],
        None,
        [nn.Dropout(), nn.Conv2d(512, 1000, 1), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1))])


class MnasBlock(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = cin * expansion
        self.apply_residual = cin == cout and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x) + x if self.apply_residual else self.layers(x)


class MNASNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 32, 3, 1, 1, groups=32, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 16, 1, bias=False), nn.BatchNorm2d(16)]
        cin = 16
        for cout, k, s, e, n in ((24, 3, 2, 3, 3), (40, 5, 2, 3, 3), (80, 5, 2, 6, 3), (96, 3, 1, 6, 2),
                                 (192, 5, 2, 6, 4), (320, 3, 1, 6, 1)):
            layers.append(nn.Sequential(*(MnasBlock(cin if j == 0 else cout, cout, k, s if j == 0 else 1, e)
                                          for j in range(n))))
            cin = cout
        layers += [nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU()]
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.layers(x).mean([2, 3]))


class DoubleConv(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))


class UNet(nn.Module):
    def __init__(self, cin: int = 3, classes: int = 2) -> None:
        super().__init__()
        widths = (64, 128, 256, 512, 1024)
        for i, w in enumerate(widths, start=1):
            setattr(self, f"enc{i}", DoubleConv(cin if i == 1 else widths[i - 2], w))
        for i in (4, 3, 2, 1):
            setattr(self, f"up{i}", nn.ConvTranspose2d(widths[i], widths[i - 1], 2, stride=2))
            setattr(self, f"dec{i}", DoubleConv(widths[i], widths[i - 1]))
        self.head = nn.Conv2d(64, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i in range(1, 5):
            x = getattr(self, f"enc{i}")(x)
            skips.append(x)
            x = nn.functional.max_pool2d(x, 2)
        x = self.enc5(x)
        for i in (4, 3, 2, 1):
            x = getattr(self, f"dec{i}")(torch.cat([skips[i - 1], getattr(self, f"up{i}")(x)], 1))
        return self.head(x)


TORCH_MODELS = {
    "alexnet": alexnet_module,
    "vgg16": vgg16_module,
    "resnet18": lambda: ResNet(False, (2, 2, 2, 2)),
    "resnet50": lambda: ResNet(True, (3, 4, 6, 3)),
    "mobilenetv2": MobileNetV2,
    "squeezenet": squeezenet_module,
    "mnasnet": MNASNet,
    "unet": UNet,
}


def traced(name: str) -> Network:
    """The torch.fx import of the torch re-statement of preset ``name`` (meta device)."""
    with torch.device("meta"):
        module = TORCH_MODELS[name]()
    return network_from_torch(module, (1, 3, 224, 224), name=name)


@pytest.mark.parametrize("name", list(TORCH_MODELS))
def test_preset_matches_torch_fx_import_layer_by_layer(name: str) -> None:
    preset, imported = NETWORKS.get(name), traced(name)
    assert [x.name for x in imported.layers] == [x.name for x in preset.layers]
    for mine, theirs in zip(preset.layers, imported.layers):
        assert mine == theirs, mine.name
    assert imported.macs == preset.macs
