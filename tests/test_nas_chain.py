"""FNAS chain space: presets, decisions, strings, networks (traced and FPGA-priced), features."""

from __future__ import annotations

import numpy as np
import pytest

from coexplore.cost.fpga import FpgaDesign, shared_latency
from coexplore.errors import SpecError
from coexplore.hwsearch.fpga import best_design
from coexplore.interop.torch_fx import network_from_torch
from coexplore.nas.chain import CHAIN_PRESETS, Chain, ChainSpace, parse_chain
from coexplore.presets.boards import get_board


def test_presets_are_fnas_table() -> None:
    mnist, cifar, imagenet = (ChainSpace(dataset=d) for d in ("mnist", "cifar10", "imagenet"))
    assert (mnist.max_layers, mnist.sizes, mnist.counts, mnist.input_shape) == (5, (5, 7, 14), (9, 18, 36),
                                                                                 (1, 1, 28, 28))
    assert (cifar.max_layers, cifar.sizes, cifar.counts, cifar.input_shape) == (10, (1, 3, 5, 7), (24, 36, 48, 64),
                                                                                (1, 3, 32, 32))
    assert (imagenet.max_layers, imagenet.counts, imagenet.num_classes) == (15, (16, 32, 64, 128), 1000)
    assert cifar.cardinalities == (10,) + (4, 4) * 10
    assert ChainSpace(dataset="digits").input_shape == (1, 1, 8, 8)
    assert set(CHAIN_PRESETS) == {"mnist", "cifar10", "imagenet", "digits"}
    custom = ChainSpace(dataset="cifar10", max_layers=3, sizes=[3], counts=[8, 16])
    assert custom.cardinalities == (3, 1, 2, 1, 2, 1, 2)


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"dataset": "svhn"}, "chain.dataset"),
    ({"max_layers": 0}, "chain.max_layers: must be a positive integer, got 0"),
    ({"sizes": [3, 3]}, "chain.sizes"),
    ({"counts": []}, "chain.counts"),
    ({"counts": [8, -1]}, "-1"),
])
def test_bad_arguments_name_the_field_and_value(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(SpecError, match=needle.replace("(", r"\(")):
        ChainSpace(**kwargs)  # type: ignore[arg-type]


def test_choices_round_trip_and_unused_decisions_are_canonical() -> None:
    space = ChainSpace(dataset="cifar10")
    c = [2] + [1, 2] * 3 + [3, 3] * 7  # 3 layers; the rest is noise
    arch = space.from_choices(c)
    assert arch == Chain(((3, 48), (3, 48), (3, 48)))
    canon = space.to_choices(arch)
    assert canon == (2, 1, 2, 1, 2, 1, 2) + (0,) * 14
    assert space.from_choices(canon) == arch
    assert space.identity(space.from_choices(c)) == space.identity(space.from_choices(canon))
    with pytest.raises(SpecError, match=r"choices\[0\]: must be in 0..9, got 10"):
        space.from_choices([10] + [0] * 20)


def test_sampling_is_seeded_and_the_encoding_knows_which_decisions_matter() -> None:
    space = ChainSpace(dataset="mnist")
    a = space.sample(np.random.default_rng(3), 20)
    assert a == space.sample(np.random.default_rng(3), 20)
    assert len({space.identity(x) for x in a}) > 10
    for arch in a:
        assert space.from_choices(space.to_choices(arch)) == arch
        assert 1 <= len(arch.layers) <= 5
        assert all(s in space.sizes and n in space.counts for s, n in arch.layers)
    enc = space.encoding
    x = enc.sample(np.random.default_rng(1), 300)
    want = np.array([space.to_choices(space.from_choices(r.tolist())) for r in x])
    np.testing.assert_array_equal(enc.canonical(x), want)  # layers past the depth zeroed
    small = ChainSpace(dataset="mnist", max_layers=3, sizes=(1, 3), counts=(4, 8))
    every = {small.from_choices(c) for c in np.ndindex(*small.cardinalities)}
    assert small.encoding.distinct == len(every) == 4 + 16 + 64


def test_parse_format_round_trip_and_errors_name_the_part() -> None:
    space = ChainSpace(dataset="cifar10")
    for arch in space.sample(np.random.default_rng(0), 10):
        assert space.parse(space.format(arch)) == arch
    assert str(parse_chain("k3c24-k5c36")) == "k3c24-k5c36"
    with pytest.raises(SpecError, match=r"layer 1 'k3x24' must be written k<size>c<count>"):
        space.parse("k3c24-k3x24")
    with pytest.raises(SpecError, match=r"layer 0 filter size must be one of \[1, 3, 5, 7\], got 2") as e:
        space.parse("k2c24-k3c25")
    assert "layer 1 filter count must be one of [24, 36, 48, 64], got 25" in str(e.value)
    with pytest.raises(SpecError, match="at most 10 layers, got 11"):
        space.parse("-".join(["k3c24"] * 11))
    with pytest.raises(SpecError, match="at least one layer"):
        Chain(())


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # MNIST's 14x14 filters
@pytest.mark.parametrize("dataset", ["mnist", "cifar10", "digits"])
def test_network_equals_traced_torch_model_and_features_count_it(dataset: str) -> None:
    space = ChainSpace(dataset=dataset)
    archs = space.sample(np.random.default_rng(1), 3)
    f = space.features(archs)
    for row, arch in enumerate(archs):
        ours = space.to_network(arch)
        model = space.to_torch(arch)
        traced = network_from_torch(model, space.input_shape)
        assert [(x.name, x.shape_key(), x.padding) for x in traced.layers] == \
               [(x.name, x.shape_key(), x.padding) for x in ours.layers]
        assert f.flops is not None and f.params is not None
        assert f.flops[row] == ours.macs
        assert f.params[row] == sum(p.numel() for p in model.parameters())


def test_features_graph_and_counts() -> None:
    space = ChainSpace(dataset="cifar10")
    archs = [space.parse("k3c24-k5c64-k3c24"), space.parse("k7c48")]
    f = space.features(archs)
    assert f.adjacency is not None and f.node_ops is not None and f.op_counts is not None and f.vector is not None
    assert f.adjacency.shape == (2, 12, 12) and f.node_ops.shape == (2, 12, 2 + 16)
    assert np.array_equal(np.nonzero(f.adjacency[0])[0], [0, 1, 2, 3])  # input -> 3 convs -> output
    assert f.adjacency[1].sum() == 2 and f.node_ops[1, 3:].sum() == 0  # padding nodes are empty
    assert f.node_ops[0, 0, 0] == 1 and f.node_ops[0, 4, 1] == 1
    assert f.node_ops[0, 1, 2 + space.op_names.index("conv3x3-24")] == 1
    assert f.op_counts[0, space.op_names.index("conv3x3-24")] == 2
    assert f.op_counts[1].sum() == 1
    assert np.array_equal(f.vector, space.encode(archs)) and f.vector.shape == (2, 10 + 8 * 10)


def test_chains_are_priced_by_the_fpga_model() -> None:
    board = get_board("xc7z020")
    space = ChainSpace(dataset="mnist")
    net = space.to_network(space.parse("k5c9-k7c18-k14c36"))
    best = best_design(net, board)  # exhaustive: the optimum
    assert best.latency.latency_cycles > 0 and best.latency.resources.dsp <= board.dsp
    assert [x.name for x in best.latency.layers] == [x.name for x in net.layers]
    fixed = shared_latency(FpgaDesign(Tm=9, Tn=4, Tr=7, Tc=7), net, board)
    assert fixed.latency_cycles >= best.latency.latency_cycles
    cifar = ChainSpace(dataset="cifar10")
    assert best_design(cifar.to_network(cifar.parse("k3c64-k7c64")), board, step=8,
                       channel_step=8).latency.seconds > 0
