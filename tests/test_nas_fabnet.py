"""Butterfly layer, FNet / FABNet / Transformer models, the FABNet space and the ListOps trainer."""

# ruff: noqa: E402  (imports after the optional-extra skip)
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="FABNet models need the extra 'nas' (torch)")

from coexplore.errors import SpecError
from coexplore.nas._fabnet_torch import ButterflyLinear, FourierMixing, count_macs
from coexplore.nas.fabnet import FabnetSpace, ListOpsTrainer, SequenceArch
from coexplore.nas.listops import ListOpsConfig, generate_listops


def _dense_from_factors(layer: ButterflyLinear) -> np.ndarray:
    """The (out, in) matrix, built entry by entry from the stage factors (the docstring's indexing)."""
    n, tw = layer.n, layer.twiddle.detach().numpy().astype(np.float64)
    product = np.eye(n)
    for s in range(layer.stages):
        h, stage = 1 << s, np.zeros((n, n))
        for k in range(n // 2):
            i = (k // h) * 2 * h + k % h
            for a, p in enumerate((i, i + h)):
                for b, q in enumerate((i, i + h)):
                    stage[p, q] = tw[s, k, a, b]
        product = stage @ product  # stage 0 is applied first
    if layer.in_features < n:  # the input is repeated n / in times
        product = sum(product[:, j * layer.in_features:(j + 1) * layer.in_features]
                      for j in range(n // layer.in_features))
    if layer.out_features < n:  # the output chunks are summed
        product = sum(product[j * layer.out_features:(j + 1) * layer.out_features]
                      for j in range(n // layer.out_features))
    return np.asarray(product)


@pytest.mark.parametrize(("n_in", "n_out"), [(8, 8), (4, 16), (16, 4), (1, 2)])
@pytest.mark.parametrize("sparse", [True, False])
def test_butterfly_equals_dense_product_of_its_factors(n_in: int, n_out: int, sparse: bool) -> None:
    torch.manual_seed(0)
    layer = ButterflyLinear(n_in, n_out, sparse=sparse)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(3, 5, n_in)
    dense = _dense_from_factors(layer)
    expected = x.double().numpy() @ dense.T + layer.bias.detach().double().numpy()
    got = layer(x)
    assert got.shape == (3, 5, n_out)
    np.testing.assert_allclose(got.detach().double().numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.weight().detach().double().numpy(), dense, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [2, 16, 256])
def test_butterfly_has_2_n_log2_n_parameters_and_macs(n: int) -> None:
    layer = ButterflyLinear(n, n, bias=False)
    expected = 2 * n * int(math.log2(n))
    assert sum(p.numel() for p in layer.parameters()) == expected
    assert layer.macs(seq_len=3) == 3 * expected


def test_butterfly_rejects_sizes_not_powers_of_two() -> None:
    with pytest.raises(SpecError, match=r"^ButterflyLinear.in_features: must be a power of two, got 12$"):
        ButterflyLinear(12, 16)
    with pytest.raises(SpecError, match="out_features: must be a power of two, got 0"):
        ButterflyLinear(16, 0)


def test_fourier_mixing_is_the_real_part_of_the_2d_dft() -> None:
    x = torch.randn(2, 8, 4, dtype=torch.float64)
    rows = np.exp(-2j * np.pi * np.outer(np.arange(8), np.arange(8)) / 8)
    cols = np.exp(-2j * np.pi * np.outer(np.arange(4), np.arange(4)) / 4)
    expected = np.real(rows @ x.numpy() @ cols.T)
    np.testing.assert_allclose(FourierMixing(4)(x).numpy(), expected, atol=1e-9)
    assert FourierMixing(4).macs(8) == 2 * 4 * 8 * 3 + 2 * 8 * 4 * 2


def test_macs_counted_from_the_model() -> None:
    L, d, depth = 16, 32, 2
    torch.manual_seed(0)
    dense = SequenceArch.transformer(depth, width=d, heads=4, ffn_ratio=2, seq_len=L).to_torch()
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        dense(torch.randint(1, 17, (1, L)))
    # torch counts the linear layers (2 FLOPs per MAC); on the CPU it does not count attention's two
    # matrix products, L * L * d MACs each per block.
    assert count_macs(dense) == counter.get_total_flops() // 2 + depth * 2 * L * L * d
    fab = SequenceArch.fabnet(depth, abfly=(0,), width=d, heads=4, ffn_ratio=2, seq_len=L).to_torch()
    bfly = lambda n: 2 * n * int(math.log2(n))  # noqa: E731
    abfly = L * (4 * bfly(d) + 2 * bfly(2 * d)) + 2 * L * L * d
    fbfly = 2 * L * d * (4 + 5) + L * 2 * bfly(2 * d)
    assert count_macs(fab) == abfly + fbfly + d * 10
    assert count_macs(fab) < count_macs(dense)


def test_bad_architectures_get_one_line_per_field() -> None:
    with pytest.raises(SpecError, match="heads: must divide width 64, got 5"):
        SequenceArch.transformer(2, width=64, heads=5)
    with pytest.raises(SpecError, match="seq_len: must be an integer >= 1, got 0"):
        SequenceArch.fabnet(2, seq_len=0)
    with pytest.raises(SpecError, match="width: butterfly blocks need a power-of-two width"):
        SequenceArch.fabnet(2, width=48)
    with pytest.raises(SpecError, match=r"blocks\[1\]: must be one of"):
        SequenceArch(blocks=("fbfly", "lstm"))
    with pytest.raises(SpecError, match=r"abfly: block positions must be in 0..1, got \[2\]"):
        SequenceArch.fabnet(2, abfly=(2,))


def test_space_round_trip_conditions_and_seeded_sampling() -> None:
    space = FabnetSpace(depths=(1, 2, 3), widths=(32, 64), seq_lens=(32, 64))
    assert space.cardinalities == (3, 2, 2, 2, 2, 2)
    arch = space.from_choices([1, 1, 0, 1, 0, 1])  # depth 2: the third block's decision is inactive
    assert arch.blocks == ("abfly", "fbfly") and (arch.width, arch.seq_len) == (64, 32)
    assert space.to_choices(arch) == (1, 1, 0, 1, 0, 0)
    assert [c.values for c in space.conditions] == [(0, 1, 2), (1, 2), (2,)]
    a, b = space.sample(np.random.default_rng(3), 5), space.sample(np.random.default_rng(3), 5)
    assert a == b and all(space.from_choices(space.to_choices(x)) == x for x in a)
    with pytest.raises(SpecError, match=r"fabnet.choices\[0\]: must be in 0..2, got 3"):
        space.from_choices([3, 0, 0, 0, 0, 0])
    with pytest.raises(SpecError, match="blocks must be fbfly or abfly"):
        space.to_choices(SequenceArch.transformer(2, width=64, seq_len=32))


@pytest.mark.parametrize("family", ["transformer", "fnet", "fabnet"])
def test_one_step_lowers_the_loss_on_a_fixed_batch(family: str) -> None:
    torch.manual_seed(0)
    arch = getattr(SequenceArch, family)(2, width=32, heads=4, seq_len=32)
    model = arch.to_torch()
    data = generate_listops(32, seed=0, config=ListOpsConfig(min_length=5, max_length=31))
    x, y = torch.from_numpy(data.tokens), torch.from_numpy(data.labels)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    with torch.no_grad():
        after = torch.nn.functional.cross_entropy(model(x), y)
    assert after.item() < loss.item()


def test_trainer_is_seeded_and_reports_size_and_macs() -> None:
    cfg = ListOpsConfig(min_length=5, max_length=31, max_depth=2)
    trainer = ListOpsTrainer(config=cfg, train_size=64, test_size=32, steps=3, batch_size=16, warmup=1, seed=1)
    arch = SequenceArch.fabnet(1, abfly=(0,), width=16, heads=2, seq_len=32)
    r1, r2 = trainer.train(arch), trainer.train(arch)
    assert (r1.accuracy, r1.final_loss) == (r2.accuracy, r2.final_loss)
    assert r1.params == sum(p.numel() for p in arch.to_torch().parameters())
    assert r1.macs == count_macs(arch.to_torch()) and r1.arch == arch.label()
    assert 0.0 <= r1.accuracy <= 100.0 and r1.steps == 3
    assert trainer.evaluate([arch]).tolist() == [r1.accuracy]
    with pytest.raises(SpecError, match=r"ListOpsTrainer\.steps: must be an integer >= 1, got 0"):
        ListOpsTrainer(steps=0)
