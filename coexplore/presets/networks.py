"""The network model zoo and coexplore's own network YAML format.

Every preset is a :class:`~coexplore.spec.workload.Network` of its MAC-carrying layers
only (convolutions, including grouped and depthwise ones, and fully connected layers),
batch N = 1, in forward-execution order, named after the torchvision module that
holds the weights (``layer2.0.conv2``, ``features.1.conv.0.0``, ``classifier.1``), so a
torch.fx import of the torchvision model lines up layer by layer. Classifiers take a
224x224 ImageNet image; P and Q are always the *output* rows and columns. Pooling,
normalisation, activations and additions carry no MACs worth modelling and are left
out. Layer lists are built by the small helpers below rather than written out, so that
stride, padding, groups and output sizes follow from one formula.

The YAML format (``{name, layers: [{name, K, C, P, Q, R, S, N, stride, dilation,
padding, groups, op}]}``, pairs as an int or ``[rows, cols]``, plus optional
``weight_bits``/``input_bits``/``output_bits`` for a quantized layer) is read and written by
:func:`load_network_yaml` / :func:`save_network_yaml`; :func:`get_network` accepts a
preset name or a path to such a file.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coexplore.errors import SpecError
from coexplore.registry import Registry
from coexplore.spec.workload import PRECISION_FIELDS, Layer, Network, VectorOp

__all__ = [
    "NETWORKS",
    "build_unet",
    "get_network",
    "load_network_yaml",
    "network_from_dict",
    "network_to_dict",
    "save_network_yaml",
]

NETWORKS: Registry[Network] = Registry(kind="network")


def _out(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
         ceil: bool = False) -> int:
    """Output size of a convolution or pooling window (PyTorch's formula)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    return (-(-span // stride) if ceil else span // stride) + 1


class _Stack:
    """Collects the layers of one square-input network; helpers return output sizes."""

    def __init__(self) -> None:
        self.layers: list[Layer] = []

    def conv(self, name: str, cin: int, size: int, cout: int, kernel: int, *, stride: int = 1,
             padding: int = 0, groups: int = 1, dilation: int = 1) -> int:
        out = _out(size, kernel, stride, padding, dilation)
        depthwise = groups > 1 and groups == cin == cout
        self.layers.append(Layer(
            name=name, K=cout, C=cin, P=out, Q=out, R=kernel, S=kernel, stride=(stride, stride),
            dilation=(dilation, dilation), padding=(padding, padding), groups=groups,
            op="depthwise" if depthwise else "conv",
        ))
        return out

    def fc(self, name: str, cin: int, cout: int) -> None:
        self.layers.append(Layer(name=name, K=cout, C=cin, op="fc"))

    def conv_transpose(self, name: str, cin: int, size: int, cout: int, kernel: int) -> int:
        """A kernel = stride transposed conv as the equivalent 1x1 conv with K = cout*kernel^2.

        Each input pixel multiplies every one of the ``cout*kernel*kernel`` weights of its
        channel once, and with kernel == stride the windows do not overlap, so this loop
        nest has exactly the MACs, weights, inputs and outputs of the transposed conv
        (its K outputs are the output pixels in pixel-shuffle order).
        """
        self.layers.append(Layer(name=name, K=cout * kernel * kernel, C=cin, P=size, Q=size,
                                 op="convtranspose"))
        return size * kernel

    def network(self, name: str) -> Network:
        return Network(name=name, layers=tuple(self.layers))


# -- classifiers (torchvision definitions, 224x224 input) ----------------------------------
@NETWORKS.register("alexnet")
@functools.cache
def alexnet() -> Network:
    """AlexNet as torchvision.models.alexnet (0.71 GMACs)."""
    b = _Stack()
    s = b.conv("features.0", 3, 224, 64, 11, stride=4, padding=2)
    s = b.conv("features.3", 64, _out(s, 3, 2), 192, 5, padding=2)
    s = b.conv("features.6", 192, _out(s, 3, 2), 384, 3, padding=1)
    s = b.conv("features.8", 384, s, 256, 3, padding=1)
    s = b.conv("features.10", 256, s, 256, 3, padding=1)
    b.fc("classifier.1", 256 * _out(s, 3, 2) ** 2, 4096)
    b.fc("classifier.4", 4096, 4096)
    b.fc("classifier.6", 4096, 1000)
    return b.network("alexnet")


@NETWORKS.register("vgg16")
@functools.cache
def vgg16() -> Network:
    """VGG-16 (configuration D, no batch norm) as torchvision.models.vgg16 (15.47 GMACs)."""
    b = _Stack()
    cin, s, index = 3, 224, 0
    for width, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            s = b.conv(f"features.{index}", cin, s, width, 3, padding=1)
            cin, index = width, index + 2  # conv, ReLU
        s, index = _out(s, 2, 2), index + 1  # max pool
    b.fc("classifier.0", cin * s * s, 4096)
    b.fc("classifier.3", 4096, 4096)
    b.fc("classifier.6", 4096, 1000)
    return b.network("vgg16")


def _resnet(name: str, bottleneck: bool, depths: tuple[int, ...]) -> Network:
    b = _Stack()
    s = _out(b.conv("conv1", 3, 224, 64, 7, stride=2, padding=3), 3, 2, 1)
    cin = 64
    for stage, (width, blocks) in enumerate(zip((64, 128, 256, 512), depths), start=1):
        for j in range(blocks):
            stride = 2 if j == 0 and stage > 1 else 1
            p = f"layer{stage}.{j}."
            if bottleneck:  # torchvision v1.5: the stride sits on the 3x3 conv
                cout = 4 * width
                t = b.conv(p + "conv1", cin, s, width, 1)
                t = b.conv(p + "conv2", width, t, width, 3, stride=stride, padding=1)
                t = b.conv(p + "conv3", width, t, cout, 1)
            else:
                cout = width
                t = b.conv(p + "conv1", cin, s, width, 3, stride=stride, padding=1)
                t = b.conv(p + "conv2", width, t, width, 3, padding=1)
            if stride != 1 or cin != cout:
                b.conv(p + "downsample.0", cin, s, cout, 1, stride=stride)
            cin, s = cout, t
    b.fc("fc", cin, 1000)
    return b.network(name)


@NETWORKS.register("resnet18")
@functools.cache
def resnet18() -> Network:
    """ResNet-18 as torchvision.models.resnet18 (1.81 GMACs)."""
    return _resnet("resnet18", False, (2, 2, 2, 2))


@NETWORKS.register("resnet50")
@functools.cache
def resnet50() -> Network:
    """ResNet-50 (v1.5, stride on the 3x3 conv) as torchvision.models.resnet50 (4.09 GMACs)."""
    return _resnet("resnet50", True, (3, 4, 6, 3))


@NETWORKS.register("mobilenetv2")
@functools.cache
def mobilenetv2() -> Network:
    """MobileNetV2 (width 1.0) as torchvision.models.mobilenet_v2 (0.30 GMACs)."""
    b = _Stack()
    s = b.conv("features.0.0", 3, 224, 32, 3, stride=2, padding=1)
    cin, index = 32, 1
    for t, c, n, first_stride in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                                  (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for j in range(n):
            p, hidden, sub = f"features.{index}.conv.", cin * t, 0
            if t != 1:
                b.conv(f"{p}0.0", cin, s, hidden, 1)
                sub = 1
            s = b.conv(f"{p}{sub}.0", hidden, s, hidden, 3, stride=first_stride if j == 0 else 1,
                       padding=1, groups=hidden)
            b.conv(f"{p}{sub + 1}", hidden, s, c, 1)
            cin, index = c, index + 1
    b.conv(f"features.{index}.0", cin, s, 1280, 1)
    b.fc("classifier.1", 1280, 1000)
    return b.network("mobilenetv2")


@NETWORKS.register("squeezenet")
@functools.cache
def squeezenet() -> Network:
    """SqueezeNet 1.0 as torchvision.models.squeezenet1_0 (0.82 GMACs)."""
    b = _Stack()
    s = _out(b.conv("features.0", 3, 224, 96, 7, stride=2), 3, 2, ceil=True)
    cin = 96
    fires = {3: (16, 64), 4: (16, 64), 5: (32, 128), 7: (32, 128), 8: (48, 192), 9: (48, 192),
             10: (64, 256), 12: (64, 256)}  # features.6 and features.11 are ceil-mode max pools
    for index, (squeeze, expand) in fires.items():
        if index in (7, 12):
            s = _out(s, 3, 2, ceil=True)
        p = f"features.{index}."
        b.conv(p + "squeeze", cin, s, squeeze, 1)
        b.conv(p + "expand1x1", squeeze, s, expand, 1)
        b.conv(p + "expand3x3", squeeze, s, expand, 3, padding=1)
        cin = 2 * expand
    b.conv("classifier.1", cin, s, 1000, 1)
    return b.network("squeezenet")


@NETWORKS.register("mnasnet")
@functools.cache
def mnasnet() -> Network:
    """MnasNet-A1 (depth multiplier 1.0) as torchvision.models.mnasnet1_0 (0.31 GMACs)."""
    b = _Stack()
    s = b.conv("layers.0", 3, 224, 32, 3, stride=2, padding=1)
    b.conv("layers.3", 32, s, 32, 3, padding=1, groups=32)
    b.conv("layers.6", 32, s, 16, 1)
    cin = 16
    for index, (cout, k, stride, expansion, repeats) in enumerate(
        ((24, 3, 2, 3, 3), (40, 5, 2, 3, 3), (80, 5, 2, 6, 3), (96, 3, 1, 6, 2), (192, 5, 2, 6, 4),
         (320, 3, 1, 6, 1)), start=8):
        for j in range(repeats):
            p, mid = f"layers.{index}.{j}.layers.", cin * expansion
            b.conv(p + "0", cin, s, mid, 1)
            s = b.conv(p + "3", mid, s, mid, k, stride=stride if j == 0 else 1, padding=k // 2, groups=mid)
            b.conv(p + "6", mid, s, cout, 1)
            cin = cout
    b.conv("layers.14", cin, s, 1280, 1)
    b.fc("classifier.1", 1280, 1000)
    return b.network("mnasnet")


# -- U-Net ----------------------------------------------------------------------------------
def build_unet(*, size: int = 224, in_channels: int = 3, classes: int = 2,
               upsampling: str = "transposed") -> Network:
    """The U-Net of Ronneberger et al. (2015) with padded ("same") 3x3 convolutions.

    Channels 64-128-256-512-1024, two 3x3 convs per stage, 2x2 max pooling, four
    up-convolutions that halve the channels, concatenated skips, a 1x1 head. Padding
    keeps the skips aligned, so no cropping is needed; ``size`` must be divisible by 16.

    Args:
        size: Input rows = columns.
        in_channels: Image channels.
        classes: Output channels of the 1x1 head.
        upsampling: ``"transposed"``: the paper's 2x2 stride-2 up-convolution, modelled
            as the equivalent 1x1 conv with K = 4 * out channels at the input
            resolution (same MACs and tensor sizes, see ``_Stack.conv_transpose``);
            ``"upsample_conv3x3"``: nearest 2x upsampling then a padded 3x3 conv, as
            in the widely benchmarked re-implementation used by CMUNeXt (ISBI 2024).

    Layer names: ``enc{1..5}.conv{1,2}``, ``up{4..1}``, ``dec{4..1}.conv{1,2}``, ``head``.
    """
    problems = []
    if size <= 0 or size % 16:
        problems.append(f"unet.size: must be a positive multiple of 16, got {size!r}")
    if upsampling not in ("transposed", "upsample_conv3x3"):
        problems.append(f"unet.upsampling: must be 'transposed' or 'upsample_conv3x3', got {upsampling!r}")
    if problems:
        raise SpecError(problems)
    b = _Stack()
    cin, s = in_channels, size
    for stage, width in enumerate((64, 128, 256, 512, 1024), start=1):
        if stage > 1:
            s //= 2
        s = b.conv(f"enc{stage}.conv1", cin, s, width, 3, padding=1)
        s = b.conv(f"enc{stage}.conv2", width, s, width, 3, padding=1)
        cin = width
    for stage, width in zip((4, 3, 2, 1), (512, 256, 128, 64)):
        if upsampling == "transposed":
            s = b.conv_transpose(f"up{stage}", cin, s, width, 2)
        else:
            s = b.conv(f"up{stage}", cin, 2 * s, width, 3, padding=1)
        s = b.conv(f"dec{stage}.conv1", 2 * width, s, width, 3, padding=1)
        s = b.conv(f"dec{stage}.conv2", width, s, width, 3, padding=1)
        cin = width
    b.conv("head", cin, s, classes, 1)
    return b.network("unet")


@NETWORKS.register("unet")
@functools.cache
def unet() -> Network:
    """U-Net (Ronneberger 2015, padded), 3x224x224 input, 2 classes, 2x2 up-convs (36.9 GMACs).

    The original network takes a 572x572 tile with unpadded convs and crops its skips;
    this is the common padded variant (see :func:`build_unet`), at the classifiers'
    resolution. Published MACs for this configuration: 36.97 G (thop), in the UNet
    module of github.com/IanDxSSXX/DxTorchUtils, whose upsample + 1x1 conv has exactly
    the MACs of the 2x2 stride-2 transposed conv modelled here; the up-sample + 3x3 conv
    variant at 3x256x256 matches the 65.52 G of Tang et al., CMUNeXt (ISBI 2024), Table 1.
    """
    return build_unet()


# -- attention-based networks (coexplore.presets.transformers) ---------------------------------
def _register_parametric() -> None:
    from coexplore.presets.transformers import PARAMETRIC

    for name, (builder, kinds) in PARAMETRIC.items():
        keys = ",".join(f"{k}=" for k in kinds)
        doc = (builder.__doc__ or "").strip().splitlines()[0].replace("``", "") + f" Parameters: {name}:{keys}"
        NETWORKS.register(name, doc)(functools.cache(builder))


_register_parametric()


# -- YAML ---------------------------------------------------------------------------------------
_INT_FIELDS = ("K", "C", "P", "Q", "R", "S", "N", "groups", *PRECISION_FIELDS)
_PAIR_FIELDS = ("stride", "dilation", "padding")
_LAYER_KEYS = frozenset(("name", "op", "weights_from", *_INT_FIELDS, *_PAIR_FIELDS))
_VECTOR_KEYS = ("name", "kind", "rows", "width")


def _pair_out(p: tuple[int, int]) -> int | list[int]:
    return p[0] if p[0] == p[1] else [p[0], p[1]]


def network_to_dict(net: Network) -> dict[str, Any]:
    """The plain-data form of ``net`` (the YAML format of this module)."""
    out: dict[str, Any] = {"name": net.name, "layers": [
        {"name": x.name, "K": x.K, "C": x.C, "P": x.P, "Q": x.Q, "R": x.R, "S": x.S, "N": x.N,
         "stride": _pair_out(x.stride), "dilation": _pair_out(x.dilation),
         "padding": _pair_out(x.padding), "groups": x.groups, "op": x.op,
         **({"weights_from": x.weights_from} if x.weights_from != "parameters" else {}),
         **{f: getattr(x, f) for f in PRECISION_FIELDS if getattr(x, f) is not None}}
        for x in net.layers
    ]}
    if net.vector_ops:
        out["vector_ops"] = [{k: getattr(v, k) for k in _VECTOR_KEYS} for v in net.vector_ops]
    return out


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _layer_from_dict(raw: object, index: int, path: str, problems: list[str]) -> Layer | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: must be a mapping, got {raw!r}")
        return None
    kwargs: dict[str, Any] = {"name": f"layer{index}"}
    before = len(problems)
    for key in sorted(set(raw) - _LAYER_KEYS, key=str):
        problems.append(f"{path}.{key}: unknown field, valid: {', '.join(sorted(_LAYER_KEYS))}")
    for key in ("K", "C"):
        if key not in raw:
            problems.append(f"{path}.{key}: required, got nothing")
    for key in ("name", "op", "weights_from"):
        if key in raw:
            if not isinstance(raw[key], str) or not raw[key]:
                problems.append(f"{path}.{key}: must be a non-empty string, got {raw[key]!r}")
            kwargs[key] = raw[key]
    for key in _INT_FIELDS:
        if key in raw:
            if not _is_int(raw[key]):
                problems.append(f"{path}.{key}: must be an integer, got {raw[key]!r}")
            kwargs[key] = raw[key]
    for key in _PAIR_FIELDS:
        if key in raw:
            v = raw[key]
            if _is_int(v):
                kwargs[key] = (v, v)
            elif isinstance(v, list | tuple) and len(v) == 2 and all(_is_int(x) for x in v):
                kwargs[key] = (v[0], v[1])
            else:
                problems.append(f"{path}.{key}: must be an integer or [rows, cols], got {v!r}")
    if len(problems) > before:
        return None
    if "op" not in kwargs:  # infer it as parse_layer_spec does
        if all(kwargs.get(d, 1) == 1 for d in ("P", "Q", "R", "S")):
            kwargs["op"] = "fc"
        elif kwargs.get("groups", 1) > 1 and kwargs.get("groups") == kwargs.get("C") == kwargs.get("K"):
            kwargs["op"] = "depthwise"
    try:
        return Layer(**kwargs)
    except SpecError as e:  # re-root the layer's own field paths at this layer
        problems.extend(f"{path}{p[len('layer'):]}" if p.startswith("layer.") else f"{path}: {p}"
                        for p in e.problems)
        return None


def _vector_ops_from_list(raw: object, path: str, problems: list[str]) -> tuple[VectorOp, ...]:
    if not isinstance(raw, list):
        problems.append(f"{path}: must be a list, got {raw!r}")
        return ()
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or set(item) != set(_VECTOR_KEYS):
            problems.append(f"{path}[{i}]: must be a mapping with exactly {', '.join(_VECTOR_KEYS)}, got {item!r}")
            continue
        try:
            out.append(VectorOp(**{k: item[k] for k in _VECTOR_KEYS}))
        except SpecError as e:
            problems.extend(f"{path}[{i}]: {p}" for p in e.problems)
    return tuple(out)


def network_from_dict(data: object, *, source: str = "network") -> Network:
    """Build a :class:`Network` from its plain-data form, reporting every bad field at once.

    Raises:
        SpecError: with one ``"<source>.layers[i].field: rule, got value"`` per problem.
    """
    if not isinstance(data, Mapping):
        raise SpecError(f"{source}: must be a mapping with 'name' and 'layers', got {data!r}")
    extra = sorted(set(data) - {"name", "layers", "vector_ops"}, key=str)
    problems = [f"{source}.{k}: unknown field, valid: layers, name, vector_ops" for k in extra]
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"{source}.name: must be a non-empty string, got {name!r}")
    raw_layers = data.get("layers")
    layers: list[Layer | None] = []
    if not isinstance(raw_layers, list) or not raw_layers:
        problems.append(f"{source}.layers: must be a non-empty list, got {raw_layers!r}")
    else:
        layers = [_layer_from_dict(raw, i, f"{source}.layers[{i}]", problems)
                  for i, raw in enumerate(raw_layers)]
    vector_ops = _vector_ops_from_list(data.get("vector_ops", []), f"{source}.vector_ops", problems)
    if not problems:
        try:
            return Network(name=str(name), layers=tuple(x for x in layers if x is not None),
                           vector_ops=vector_ops)
        except SpecError as e:
            problems.extend(p.replace("network.", f"{source}.", 1) for p in e.problems)
    raise SpecError(problems)


def load_network_yaml(path: str | Path) -> Network:
    """Read a network YAML (or JSON) file; any problem raises :class:`SpecError` naming the file."""
    import yaml

    from coexplore.spec.io import read_text

    path = Path(path)
    text = read_text(path, "network file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: malformed YAML: {' '.join(str(e).split())}") from None
    return network_from_dict(data, source=str(path))


def save_network_yaml(net: Network, path: str | Path) -> None:
    """Write ``net`` in the format :func:`load_network_yaml` reads."""
    import yaml

    Path(path).write_text(yaml.safe_dump(network_to_dict(net), sort_keys=False), encoding="utf-8")


def get_network(name_or_path: str) -> Network:
    """A preset by name, or the network in the YAML file at ``name_or_path``.

    Raises:
        RegistryError: unknown name (the message lists the presets).
        SpecError: the file exists but is not a valid network.
    """
    if name_or_path in NETWORKS:
        return NETWORKS.get(name_or_path)
    base, sep, params = name_or_path.partition(":")
    if sep:
        from coexplore.presets.transformers import PARAMETRIC, build_parametric

        if base in PARAMETRIC:
            return build_parametric(base, params)
    path = Path(name_or_path)
    if path.is_file() or path.suffix.lower() in (".yaml", ".yml", ".json") or "/" in name_or_path:
        return load_network_yaml(path)  # a path: "no such network file" if it is missing, not "unknown preset"
    return NETWORKS.get(name_or_path)
