"""Fixed-point formats, fake-quantized chains (PTQ and QAT) and their seeded evaluator."""

# ruff: noqa: E402  (imports after the optional-extra skip)
from __future__ import annotations

import pickle

import pytest

torch = pytest.importorskip("torch", reason="quantized training needs the extra 'nas' (torch, scikit-learn)")
pytest.importorskip("sklearn", reason="quantized training needs the extra 'nas' (torch, scikit-learn)")

from coexplore.errors import SpecError
from coexplore.nas.chain import ChainSpace
from coexplore.nas.quantize import (
    FixedPoint,
    LayerQuant,
    QuantChainEvaluator,
    parse_fixed_point,
    quantize_chain,
    quantize_model,
)
from coexplore.nas.train import digits_split
from tests.chain_models import bn_chain

CHAINS = ChainSpace(dataset="digits")


def test_formats_bits_scale_range_and_text() -> None:
    s = FixedPoint(1, 6, signed=True)
    assert (s.bits, s.scale, s.qmin, s.qmax, str(s)) == (8, 1 / 64, -128, 127, "s1.6")
    u = parse_fixed_point("u2.4")
    assert (u.bits, u.scale, u.qmin, u.qmax, u.signed) == (6, 1 / 16, 0, 63, False)
    assert parse_fixed_point(str(s)) == s and parse_fixed_point("u0.1").bits == 1
    assert parse_fixed_point("s0.1").qmin == -2 and parse_fixed_point("s15.0").bits == 16
    assert str(LayerQuant(s, u)) == "s1.6/u2.4"


@pytest.mark.parametrize(("args", "message"), [
    ((-1, 4, True), "fixed point integer: must be an integer >= 0, got -1"),
    ((1, 2.5, False), "fixed point fraction: must be an integer >= 0, got 2.5"),
    ((0, 0, False), "unsigned formats support 1..16 bits, got 0"),
    ((0, 0, True), "signed formats support 2..16 bits, got 1"),
    ((8, 8, True), "fixed point bits (integer + fraction + sign) of s8.8: signed formats support 2..16 bits, got 17"),
    ((10, 7, False), "unsigned formats support 1..16 bits, got 17"),
])
def test_format_errors_name_the_field_value_and_range(args: tuple, message: str) -> None:
    with pytest.raises(SpecError) as e:
        FixedPoint(*args)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_parse_and_layer_quant_errors() -> None:
    with pytest.raises(SpecError, match=r"fixed point format 'w1.6': must be written s<integer>.<fraction>"):
        parse_fixed_point("w1.6")
    with pytest.raises(SpecError, match="layer quant weight: must be a signed FixedPoint"):
        LayerQuant(parse_fixed_point("u1.6"), parse_fixed_point("u1.6"))
    with pytest.raises(SpecError, match=r"layer quant activation: must be an unsigned FixedPoint \(after ReLU\)"):
        LayerQuant(parse_fixed_point("s1.6"), parse_fixed_point("s1.6"))


def _model(text: str = "k3c9-k5c18") -> torch.nn.Module:
    return bn_chain(text)


def _uniform(w: str, a: str, n: int = 2) -> list[LayerQuant]:
    return [LayerQuant(parse_fixed_point(w), parse_fixed_point(a))] * n


def test_wide_formats_match_float_and_one_fraction_bit_does_not() -> None:
    model, x = _model(), torch.from_numpy(digits_split(seed=0).x_test[:64])
    wide = quantize_chain(model, _uniform("s7.8", "u7.8"), input_format=parse_fixed_point("s7.8"),
                          classifier_weight=parse_fixed_point("s7.8")).eval()
    coarse = quantize_chain(model, _uniform("s0.1", "u1.1")).eval()
    with torch.no_grad():
        ref, out_wide, out_coarse = model(x), wide(x), coarse(x)
    assert torch.allclose(out_wide, ref, atol=0.02), float((out_wide - ref).abs().max())
    assert float((out_coarse - ref).abs().max()) > 0.1
    assert model.features[0][0].weight is not wide.features[0][0].weight  # a copy: the float model is untouched


def test_fake_quantized_weights_are_on_the_grid_and_in_range() -> None:
    from coexplore.nas._quantize_torch import _fq

    model = _model()
    for text in ("s0.1", "s0.3", "s1.6"):
        fmt = parse_fixed_point(text)
        w = _fq(model.features[1][0].weight.detach() * 100, (fmt.scale, fmt.qmin, fmt.qmax))
        steps = w / fmt.scale
        assert torch.equal(steps, steps.round())
        assert int(steps.min()) == fmt.qmin and int(steps.max()) == fmt.qmax  # x100 saturates both ends
    with pytest.raises(SpecError, match="quant: needs one LayerQuant per convolution, got 3 for a chain of 2"):
        quantize_chain(model, _uniform("s1.6", "u3.4", 3))
    with pytest.raises(SpecError, match="model: must be a ChainNetwork"):
        quantize_chain(torch.nn.Linear(2, 2), _uniform("s1.6", "u3.4", 1))


def test_qat_gradient_flows_to_the_weights() -> None:
    model = quantize_chain(_model(), _uniform("s1.6", "u3.4")).train()
    split = digits_split(seed=0)
    before = model.features[0][0].weight.detach().clone()
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(split.x_train[:128])),
                                             torch.from_numpy(split.y_train[:128]))
    loss.backward()
    grad = model.features[0][0].weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert not torch.equal(before, model.features[0][0].weight)


def test_weight_shifts_fit_the_grid_to_the_weights_without_changing_codes_or_the_float_network() -> None:
    from coexplore.nas._quantize_torch import _fq, fit_weight_shifts

    model = _model()
    w = model.features[0][0].weight.detach()
    fmt = parse_fixed_point("s0.2")
    qmodel = quantize_chain(model, _uniform("s0.2", "u1.1"))
    shifts = fit_weight_shifts(qmodel)
    assert len(shifts) == 2 and all(0 <= k <= 10 for k in shifts)
    # by hand: the exponent whose grid 2**-(2 + k) rounds the first layer's weights with the least error
    errors = [float(((_fq(w * 2.0 ** k, (fmt.scale, fmt.qmin, fmt.qmax)) / 2.0 ** k - w) ** 2).sum())
              for k in range(11)]
    assert shifts[0] == errors.index(min(errors)) and errors[shifts[0]] < errors[0]
    scale, qmin, qmax = qmodel.weight_grids[0]
    assert scale == fmt.scale * 2.0 ** -shifts[0] and (qmin, qmax) == (fmt.qmin, fmt.qmax)  # same codes, same bits
    zeros = [float((w.abs() < step / 2).float().mean()) for step in (fmt.scale, scale)]
    assert zeros[1] < zeros[0]
    assert torch.equal(qmodel.features[0][0].weight, w)  # the weights themselves untouched
    x = torch.from_numpy(digits_split(seed=0).x_test[:64])
    wide = quantize_chain(model, _uniform("s7.8", "u7.8"), input_format=parse_fixed_point("s7.8"),
                          classifier_weight=parse_fixed_point("s7.8")).eval()
    fit_weight_shifts(wide)
    with torch.no_grad():
        assert torch.allclose(wide(x), model(x), atol=0.02)  # a wide format still matches float


def test_weight_shifts_can_be_turned_off_for_the_ablation() -> None:
    chain, quant = CHAINS.parse("k3c9-k3c18"), _uniform("s0.2", "u1.1")
    on, off = (QuantChainEvaluator(space=CHAINS, epochs=1, mode="ptq", seed=1, weight_shifts=flag)
               for flag in (True, False))
    on.quantized_accuracy(chain, quant)
    off.quantized_accuracy(chain, quant)
    key = ("k3c9-k3c18", ("s0.2/u1.1", "s0.2/u1.1"))
    assert off.shifts[key] == (0, 0) and max(on.shifts[key]) > 0
    assert off.name.endswith("/noshift/seed1") and "noshift" not in on.name
    with pytest.raises(SpecError, match="weight_shifts: must be True or False, got 1"):
        QuantChainEvaluator(space=CHAINS, weight_shifts=1)


def test_evaluator_is_seeded_cached_and_picklable() -> None:
    chain, quant = CHAINS.parse("k3c9-k3c18"), _uniform("s0.3", "u1.3")
    evs = [QuantChainEvaluator(space=CHAINS, epochs=1, qat_epochs=1, seed=1) for _ in range(2)]
    accs = [ev.quantized_accuracy(chain, quant) for ev in evs]
    assert accs[0] == accs[1] and 0.0 < accs[0] <= 100.0
    assert evs[0].float_accuracy(chain) == evs[1].float_accuracy(chain)
    key = ("k3c9-k3c18", ("s0.3/u1.3", "s0.3/u1.3"))
    assert set(evs[0].quant_seconds) == {key} and evs[0].float_seconds["k3c9-k3c18"] > 0
    ptq = QuantChainEvaluator(space=CHAINS, epochs=1, mode="ptq", seed=1)
    assert ptq.float_accuracy(chain) == evs[0].float_accuracy(chain)
    assert ptq.quantized_accuracy(chain, quant) == ptq.quantized_accuracy(chain, quant)
    copy = pickle.loads(pickle.dumps(evs[0]))
    assert copy.quantized_accuracy(chain, quant) == accs[0] and copy.quant_seconds == evs[0].quant_seconds
    weights = copy.float_weights(chain)
    assert weights["features.1.0.weight"].shape == (18, 9, 3, 3)
    assert all((weights[k] == v).all() for k, v in evs[0].float_weights(chain).items())
    other = _uniform("s1.6", "u3.4")  # from the pickled float weights, as from the original's
    assert copy.quantized_accuracy(chain, other) == evs[1].quantized_accuracy(chain, other)
    with pytest.raises(SpecError, match="quant: needs one LayerQuant per convolution, got 1 for a chain of 2"):
        QuantChainEvaluator(space=CHAINS, epochs=1).quantized_accuracy(chain, other[:1])
    assert evs[0].name == "quant-digits:fnas-digits/1ep/qat1/seed1"


def test_evaluator_refuses_bad_settings() -> None:
    with pytest.raises(SpecError) as e:
        QuantChainEvaluator(space=ChainSpace(dataset="mnist"), mode="int8", qat_epochs=0)
    text = str(e.value)
    assert "QuantChainEvaluator.space: must be a ChainSpace on the digits" in text
    assert "QuantChainEvaluator.mode: must be 'qat' or 'ptq', got 'int8'" in text
    assert "QuantChainEvaluator.qat_epochs: must be a positive integer, got 0" in text


def test_the_reference_accuracy_is_the_float_network_trained_as_long_as_the_quantized_one() -> None:
    """Table 3's "without quantization": QAT's extra epochs, without quantizers (PTQ: the float accuracy)."""
    chain = CHAINS.parse("k3c9-k3c18")
    qat = QuantChainEvaluator(space=CHAINS, epochs=1, qat_epochs=2, seed=1)
    ref = qat.reference_accuracy(chain)
    assert ref == QuantChainEvaluator(space=CHAINS, epochs=1, qat_epochs=2, seed=1).reference_accuracy(chain)
    # nearly float formats (16 bits) fine-tuned as long land within a few test images of it
    wide = qat.quantized_accuracy(chain, _uniform("s7.8", "u7.8"))
    assert abs(wide - ref) <= 1.0, (wide, ref)
    assert ("k3c9-k3c18", ("float",)) in qat.quant_seconds
    ptq = QuantChainEvaluator(space=CHAINS, epochs=1, mode="ptq", seed=1)
    assert ptq.reference_accuracy(chain) == ptq.float_accuracy(chain) == qat.float_accuracy(chain)


def _block_model():
    import numpy as np

    from coexplore.nas.blocks import BlockSpace

    space = BlockSpace.digits()
    arch = space.from_choices([c - 1 for c in space.cardinalities])  # the largest choices: expansions, 1x1 convs
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = space.to_torch(arch).eval()
    layers = space.to_network(arch).layers
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.from_numpy(rng.normal(0, 0.1, m.num_features).astype("float32")))
    return model, layers


def test_any_network_gets_per_layer_formats_wide_ones_match_float_narrow_ones_do_not() -> None:
    """Block networks (MobileNetV2-like) quantize per layer too: every rectified conv by its layer name."""
    model, layers = _block_model()
    mods = dict(model.named_modules())
    rectified = [layer.name for layer in layers if layer.name.endswith(".0") and
                 type(list(mods[layer.name.rpartition(".")[0]])[-1]).__name__ in ("ReLU", "ReLU6")]
    assert len(rectified) >= 3
    x = torch.from_numpy(digits_split(seed=0).x_test[:32])
    wide = quantize_model(model, {n: LayerQuant(parse_fixed_point("s7.8"), parse_fixed_point("u7.8"))
                                  for n in rectified}, input_format=parse_fixed_point("s7.8"))
    narrow = quantize_model(model, {n: LayerQuant(parse_fixed_point("s0.3"), parse_fixed_point("u2.4"))
                                    for n in rectified}, weights={"classifier.1": parse_fixed_point("s0.9")})
    with torch.no_grad():
        ref, out_wide, out_narrow = model(x), wide.eval()(x), narrow.eval()(x)
    err_wide, err_narrow = float((out_wide - ref).abs().max()), float((out_narrow - ref).abs().max())
    assert err_wide < 0.01 < err_narrow and err_narrow > 10 * err_wide, (err_wide, err_narrow)
    w = dict(narrow.named_modules())[rectified[0]].weight.detach()  # quantized view: s0.3 grid, steps of 1/8
    assert torch.equal(w * 8, torch.round(w * 8)) and float(w.abs().max()) <= 1.0
    c = dict(narrow.named_modules())["classifier.1"].weight.detach()  # weights= quantizes further layers' weights only
    assert torch.equal(c * 512, torch.round(c * 512)) and not torch.equal(c, dict(mods)["classifier.1"].weight)
    y = torch.from_numpy(digits_split(seed=0).y_test[:32])
    loss = torch.nn.functional.cross_entropy(narrow.train()(x), y)  # (a plain sum is constant through BatchNorm)
    loss.backward()
    original = dict(narrow.named_modules())[rectified[0]].parametrizations.weight.original
    assert original.grad is not None and float(original.grad.abs().sum()) > 0  # QAT trains the float weights


def test_quantize_model_names_what_it_cannot_quantize() -> None:
    model, layers = _block_model()
    fmt = LayerQuant(parse_fixed_point("s0.3"), parse_fixed_point("u1.3"))
    projection = next(layer.name for layer in layers if not layer.name.endswith(".0") and "conv" in layer.name)
    with pytest.raises(SpecError) as e:
        quantize_model(model, {"features.99.0": fmt, projection: fmt, "classifier.1": fmt},
                       weights={"nothing": parse_fixed_point("s0.3")})
    text = str(e.value)
    assert "quant['features.99.0']: no layer with weights of that name" in text
    assert f"quant['{projection}']: its output is not rectified" in text
    assert "quant['classifier.1']: its output is not rectified" in text
    assert "weights['nothing']: no layer with weights" in text
