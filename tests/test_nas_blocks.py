"""MobileNetV2-like block space: MobileNetV2 itself, decisions, strings, networks, features."""

from __future__ import annotations

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.interop.torch_fx import network_from_torch
from coexplore.nas.blocks import MOBILENETV2_DEPTHS, BlockArch, BlockSpace, Stage, parse_blocks
from coexplore.presets.networks import get_network

SPACE = BlockSpace()
MBV2 = SPACE.uniform(kernel=3, expansion=6, depths=MOBILENETV2_DEPTHS)


def _names_shapes(net: object) -> list[tuple[str, tuple[int, ...], str]]:
    return [(x.name, x.shape_key(), x.op) for x in net.layers]  # type: ignore[attr-defined]


def test_mobilenetv2_choice_is_the_zoo_network() -> None:
    ref = get_network("mobilenetv2")
    ours = SPACE.to_network(MBV2)
    assert abs(ours.macs - ref.macs) <= 0.02 * ref.macs
    assert _names_shapes(ours) == _names_shapes(ref)  # in fact identical, names included
    assert str(MBV2) == "k3e1|k3e6-k3e6|k3e6-k3e6-k3e6|k3e6-k3e6-k3e6-k3e6|k3e6-k3e6-k3e6|k3e6-k3e6-k3e6|k3e6"


def test_decisions_layout() -> None:
    # 5 middle stages: a depth and 4 x (kernel, expansion); the last stage: one (kernel, expansion)
    assert len(SPACE.cardinalities) == 5 * (1 + 8) + 2
    assert SPACE.cardinalities[:9] == (3,) + (3, 3) * 4
    c = SPACE.to_choices(MBV2)
    assert SPACE.from_choices(c) == MBV2
    assert c[:9] == (0, 0, 2, 0, 2, 0, 0, 0, 0)  # depth 2 -> index 0; k3 e6; unused blocks -> 0


def test_bad_arguments_name_the_field_and_value() -> None:
    with pytest.raises(SpecError, match=r"blocks\.resolution: must be a positive integer, got 0") as e:
        BlockSpace(resolution=0, width=-1.0, kernels=(3, 3))
    assert "blocks.width: must be > 0, got -1.0" in str(e.value)
    assert "blocks.kernels" in str(e.value)
    with pytest.raises(SpecError, match=r"stage.depths: must be distinct positive integers, got \(0,\)"):
        Stage(channels=8, stride=1, depths=(0,))


def test_sampling_is_seeded_and_the_encoding_knows_which_decisions_matter() -> None:
    a = SPACE.sample(np.random.default_rng(7), 12)
    assert a == SPACE.sample(np.random.default_rng(7), 12)
    assert len(set(a)) == 12
    for arch in a:
        assert SPACE.parse(SPACE.format(arch)) == arch
        assert SPACE.from_choices(SPACE.to_choices(arch)) == arch
        assert arch.stages[0] == ((3, 1),) and len(arch.stages[-1]) == 1
    enc = SPACE.encoding
    x = enc.sample(np.random.default_rng(1), 300)
    want = np.array([SPACE.to_choices(SPACE.from_choices(r.tolist())) for r in x])
    np.testing.assert_array_equal(enc.canonical(x), want)  # inactive decisions (blocks past the depth) zeroed


def test_parse_errors_name_the_part() -> None:
    with pytest.raises(SpecError, match=r"stage 1 block 0 'k3x6' must be written k<kernel>e<expansion>"):
        parse_blocks("k3e1|k3x6")
    with pytest.raises(SpecError, match="must have 7 stages, got 2"):
        SPACE.parse("k3e1|k3e6-k3e6")
    text = "k5e1|k3e6|k3e6-k3e6|k3e6-k3e6-k3e6-k3e6|k3e6-k3e6-k9e6|k3e6-k3e6-k3e2|k3e6"
    with pytest.raises(SpecError, match="stage 0 block 0 is fixed to k3e1, got k5e1") as e:
        SPACE.parse(text)
    msg = str(e.value)
    assert "stage 1 must have 2 or 3 or 4 blocks, got 1" in msg
    assert "stage 4 block 2 kernel must be one of [3, 5, 7], got 9" in msg
    assert "stage 5 block 2 expansion must be one of [3, 4, 6], got 2" in msg
    assert isinstance(parse_blocks("k3e1"), BlockArch)


@pytest.mark.parametrize("space", [BlockSpace.digits(), BlockSpace(resolution=96, num_classes=10, width=0.5)],
                         ids=["digits", "w0.5-96px"])
def test_network_equals_traced_torch_model_and_features_count_it(space: BlockSpace) -> None:
    archs = space.sample(np.random.default_rng(4), 2)
    f = space.features(archs)
    assert f.flops is not None and f.params is not None
    for row, arch in enumerate(archs):
        ours = space.to_network(arch)
        model = space.to_torch(arch)
        assert _names_shapes(network_from_torch(model, space.input_shape)) == _names_shapes(ours)
        assert f.flops[row] == ours.macs
        assert f.params[row] == sum(p.numel() for p in model.parameters())


def test_mobilenetv2_parameters_match_torchvision_count() -> None:
    f = SPACE.features([MBV2])
    assert f.params is not None and f.params[0] == 3_504_872  # torchvision mobilenet_v2().parameters()


def test_features_graph_and_counts() -> None:
    space = BlockSpace.digits()
    archs = [space.parse("k3e1|k5e4-k7e3|k3e6|k5e3"), space.parse("k3e1|k3e3|k3e3|k3e3")]
    f = space.features(archs)
    assert f.adjacency is not None and f.node_ops is not None and f.op_counts is not None
    V = 2 + 1 + 2 + 2 + 1
    assert f.adjacency.shape == (2, V, V) and f.node_ops.shape == (2, V, 2 + len(space.op_names))
    assert f.adjacency[0].sum() == 6 and f.adjacency[1].sum() == 5
    assert f.node_ops[1, 5, 1] == 1 and f.node_ops[1, 6:].sum() == 0
    assert f.node_ops[0, 2, 2 + space.op_names.index("s2:k5e4")] == 1
    assert f.op_counts[0, space.op_names.index("s2:k7e3")] == 1 and f.op_counts[0].sum() == 5
    assert space.op_names[0] == "s1:k3e1" and len(space.op_names) == 1 + 9 * 3
