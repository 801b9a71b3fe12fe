"""Crossbar device variation on chains: the per-cell noise model, Monte Carlo accuracy, variation-aware training."""

# ruff: noqa: E402  (imports after the optional-extra skip)
from __future__ import annotations

import math
import pickle

import pytest

torch = pytest.importorskip("torch", reason="noisy training needs the extra 'nas' (torch, scikit-learn)")
pytest.importorskip("sklearn", reason="noisy training needs the extra 'nas' (torch, scikit-learn)")

from coexplore.errors import SpecError
from coexplore.nas._quantize_torch import quant_accuracy
from coexplore.nas._variation_torch import cell_noise
from coexplore.nas.chain import ChainSpace
from coexplore.nas.quantize import LayerQuant, parse_fixed_point, quantize_chain
from coexplore.nas.train import digits_split, train_model
from coexplore.nas.variation import VariationChainEvaluator, noisy_accuracy, noisy_chain, variation_aware_train
from tests.chain_models import bn_chain

CHAINS = ChainSpace(dataset="digits")
S05 = parse_fixed_point("s0.5")  # 6 bits, steps of 1/32
LQ = LayerQuant(S05, parse_fixed_point("u2.4"))


def _model(text: str = "k3c9-k5c18") -> torch.nn.Module:
    return bn_chain(text)


def _quant(model: torch.nn.Module) -> torch.nn.Module:
    return quantize_chain(model, [LQ] * len(model.features)).eval()


def test_sigma_zero_is_the_clean_network_exactly() -> None:
    x = torch.from_numpy(digits_split(seed=0).x_test[:64])
    for clean, cells in ((_model(), None), (_quant(_model()), 2)):
        noisy = noisy_chain(clean, sigma=0.0, cell_bits=cells).eval()
        with torch.no_grad():
            assert torch.equal(noisy(x), clean(x))
    split = digits_split(seed=0)
    q = _quant(_model())
    acc = noisy_accuracy(q, split.x_test, split.y_test, sigma=0.0, draws=3, cell_bits=2)
    assert acc.per_draw == (quant_accuracy(q, split.x_test, split.y_test, threads=1)[0],) * 3 and acc.std == 0.0


def test_monte_carlo_is_seeded_and_draws_differ() -> None:
    split = digits_split(seed=0)
    q = _quant(_model())
    runs = [noisy_accuracy(q, split.x_test, split.y_test, sigma=0.3, draws=20, seed=s, cell_bits=2) for s in (5, 5, 6)]
    assert runs[0] == runs[1] and runs[0].per_draw != runs[2].per_draw
    assert len(set(runs[0].per_draw)) > 1 and runs[0].std > 0
    assert math.isclose(runs[0].mean, sum(runs[0].per_draw) / 20)
    noisy = noisy_chain(_model(), sigma=0.1).eval()
    noisy.generator = torch.Generator().manual_seed(0)
    x = torch.from_numpy(split.x_test[:16])
    with torch.no_grad():
        assert not torch.equal(noisy(x), noisy(x))  # each forward is a fresh programming


def test_one_cell_weights_read_w_times_one_plus_eps() -> None:
    gen = torch.Generator().manual_seed(1)
    w = torch.empty(400_000).uniform_(0.05, 1.0, generator=gen) * torch.sign(torch.randn(400_000, generator=gen))
    for grid, cells in ((None, None), ((S05.scale, S05.qmin, S05.qmax), 6)):
        v = w if grid is None else torch.fake_quantize_per_tensor_affine(w, S05.scale, 0, S05.qmin, S05.qmax)
        ratio = (v + cell_noise(v, 0.1, grid, cells, gen)) / v
        assert abs(float(ratio.mean()) - 1.0) < 1e-3 and abs(float(ratio.std()) - 0.1) < 1e-3


def test_several_cells_follow_the_slice_decomposition() -> None:
    """37 = 0b10_01_01 on 2-bit cells: slices 1, 1, 2, so std = scale sigma sqrt(1 + 4**2 + (2 * 16)**2)."""
    gen = torch.Generator().manual_seed(2)
    grid = (S05.scale, S05.qmin, S05.qmax)
    for code in (37, -37, -32, 0):
        w = torch.full((300_000,), code * S05.scale)
        err = cell_noise(w, 0.2, grid, 2, gen)
        slices = [(abs(code) >> (2 * j)) & 3 for j in range(3)]
        want = S05.scale * 0.2 * math.sqrt(sum((m * 4 ** j) ** 2 for j, m in enumerate(slices)))
        assert abs(float(err.mean())) < 3 * want / math.sqrt(300_000) + 1e-12
        assert math.isclose(float(err.std()), want, rel_tol=0.01, abs_tol=1e-12), (code, float(err.std()), want)
    assert torch.equal(cell_noise(torch.zeros(10), 0.2, grid, 2, gen), torch.zeros(10))


def test_variation_aware_training_changes_the_weights_reproducibly() -> None:
    split = digits_split(seed=0)
    base = _quant(_model())
    runs = [variation_aware_train(base, split, sigma=0.2, cell_bits=2, epochs=1, seed=3) for _ in range(2)]
    plain = _quant(_model())
    train_model(plain, split, epochs=1, seed=3, lr=2e-3)
    w = [m.features[0][0].weight.detach() for m in (*runs, base, plain)]
    assert torch.equal(w[0], w[1])
    assert not torch.equal(w[0], w[2]) and not torch.equal(w[0], w[3])  # trained, and the noise mattered
    other = variation_aware_train(base, split, sigma=0.2, cell_bits=2, epochs=1, seed=4)
    assert not torch.equal(w[0], other.features[0][0].weight.detach())


def test_bad_noise_settings_name_field_value_and_limit() -> None:
    split, q = digits_split(seed=0), _quant(_model())
    with pytest.raises(SpecError) as e:
        noisy_accuracy(q, split.x_test, split.y_test, sigma=-0.1, draws=0)
    assert str(e.value) == ("sigma: must be a number in [0, 1] (relative conductance spread), got -0.1; "
                            "draws: must be an integer >= 1, got 0")
    with pytest.raises(SpecError, match=r"cell_bits: 4 must divide the 6 weight bits of layer 0; cell_bits: 4 must "
                                        "divide the 6 weight bits of layer 1$"):
        noisy_chain(q, sigma=0.1, cell_bits=4)  # the classifier's s1.6 has 8 bits: divisible
    with pytest.raises(SpecError, match="seed: must be an integer >= 0, got -1"):
        variation_aware_train(q, split, sigma=0.1, seed=-1)
    with pytest.raises(SpecError, match="cell_bits: must be an integer >= 1 or None, got 0"):
        noisy_chain(q, sigma=0.1, cell_bits=0)
    with pytest.raises(SpecError, match="cell_bits: 2 needs quantized weights to split over cells"):
        noisy_chain(_model(), sigma=0.1, cell_bits=2)
    with pytest.raises(SpecError, match="model: must be a chain network"):
        noisy_chain(torch.nn.Linear(2, 2), sigma=0.1)
    with pytest.raises(SpecError, match=r"VariationChainEvaluator\.draws: must be a positive integer, got 0"):
        VariationChainEvaluator(space=CHAINS, draws=0)


def test_evaluator_is_seeded_cached_and_picklable() -> None:
    chain, quant = CHAINS.parse("k3c9-k3c18"), [LQ] * 2
    evs = [VariationChainEvaluator(space=CHAINS, epochs=1, tune_epochs=1, draws=3, cell_bits=2, seed=1)
           for _ in range(2)]
    rng = torch.random.get_rng_state()
    res = [ev.evaluate(chain, quant, 0.2) for ev in evs]
    assert torch.equal(torch.random.get_rng_state(), rng)  # the caller's torch RNG is untouched
    r = res[0]
    assert (r.chain, r.formats, r.sigma) == ("k3c9-k3c18", ("s0.5/u2.4", "s0.5/u2.4"), 0.2)
    assert [(x.plain_clean, x.plain_noisy, x.aware_clean, x.aware_noisy) for x in res] == \
        [(r.plain_clean, r.plain_noisy, r.aware_clean, r.aware_noisy)] * 2
    assert len(r.plain_noisy.per_draw) == 3 and 0 < r.plain_noisy.mean <= 100 and r.aware_seconds > 0
    assert evs[0].evaluate(chain, quant, 0.2) is r  # cached
    copy = pickle.loads(pickle.dumps(evs[0]))
    again, fresh = copy.evaluate(chain, quant, 0.1), evs[1].evaluate(chain, quant, 0.1)  # copy: pickled weights
    accuracies = ("float_accuracy", "plain_clean", "plain_noisy", "aware_clean", "aware_noisy")
    assert again.plain_clean == r.plain_clean
    assert [getattr(again, f) for f in accuracies] == [getattr(fresh, f) for f in accuracies]
    assert evs[0].name == "variation-digits:fnas-digits/1ep/tune1/3draws/2b-cells/seed1"
    with pytest.raises(SpecError, match="cell_bits: 2 must divide the 7 weight bits of layer 0"):
        evs[0].evaluate(chain, [LayerQuant(parse_fixed_point("s1.5"), parse_fixed_point("u2.4"))] * 2, 0.1)
