"""Precision: bit widths per layer and dataspace, packed accesses, capacity in bits, scalable MACs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from coexplore.cost.model import evaluate
from coexplore.errors import SpecError
from coexplore.mapping.encoding import encode
from coexplore.mapping.mapping import LevelMapping, Mapping
from coexplore.mapping.sampling import sample_legal
from coexplore.mapping.validate import legal_mask, problems
from coexplore.presets.networks import network_from_dict, network_to_dict
from coexplore.spec import precision
from coexplore.spec.dims import DIMS
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel
from coexplore.spec.technology import get_technology
from coexplore.spec.workload import Layer, parse_layer_spec


def _acc(*, size: int | None = 64, block: int = 8, word: int = 8, keeps: tuple[str, ...] = ("weights",),
         mac: MacUnit | None = None) -> Accelerator:
    return Accelerator(name="t", levels=(
        MemoryLevel(name="buf", size_words=size, word_bits=word, block_size_words=block, keeps=frozenset(keeps)),
        MemoryLevel(name="dram", size_words=None, block_size_words=8)), mac=mac or MacUnit())


def _mapping(inner: dict[str, int], outer: dict[str, int], keep0: tuple[str, ...] = ("weights",)) -> Mapping:
    def lm(f: dict[str, int], keep: tuple[str, ...]) -> LevelMapping:
        return LevelMapping(temporal=tuple(f.get(d, 1) for d in DIMS), order=DIMS, spatial_x=(1,) * 8,
                            spatial_y=(1,) * 8, keep=frozenset(keep))
    return Mapping(levels=(lm(inner, keep0), lm(outer, ("weights", "inputs", "outputs"))))


LAYER = Layer(K=16, C=6, P=4, Q=4)
MAP = _mapping({"K": 16, "C": 6}, {"P": 4, "Q": 4})  # 96 weights stay in buf over 16 output pixels


def test_bits_equal_to_the_word_size_change_nothing() -> None:
    acc = _acc(size=128)
    plain = evaluate(LAYER, acc, MAP)
    same = evaluate(replace(LAYER, weight_bits=8, input_bits=8, output_bits=8), acc, MAP)
    assert same.energy_pj == plain.energy_pj and same.latency_cycles == plain.latency_cycles
    assert [lv.dataspaces for lv in same.levels] == [lv.dataspaces for lv in plain.levels]


def test_narrow_words_pack_into_each_vector_access() -> None:
    acc = _acc(size=128)
    w8 = evaluate(replace(LAYER, weight_bits=8), acc, MAP).levels[0].dataspaces["weights"]
    w4 = evaluate(replace(LAYER, weight_bits=4), acc, MAP).levels[0].dataspaces["weights"]
    w3 = evaluate(replace(LAYER, weight_bits=3), acc, MAP).levels[0].dataspaces["weights"]
    buf = acc.levels[0]
    assert (w4.reads, w4.fills) == (w8.reads, w8.fills) == (1536, 96)  # same words, packed differently
    assert w8.energy_pj == pytest.approx(1536 / 8 * buf.read_pj + 96 / 8 * buf.write_pj)
    assert w4.energy_pj == pytest.approx(1536 / 16 * buf.read_pj + 96 / 16 * buf.write_pj)
    assert w3.energy_pj == pytest.approx(1536 // 21 * buf.read_pj + 96 // 21 * buf.write_pj
                                         + buf.read_pj + buf.write_pj)  # 64 bits hold 21 3-bit words


def test_capacity_is_counted_in_bits() -> None:
    """96 weights need 768 bits at 8 b, 384 at 4 b; the level holds 64 x 8 = 512 bits."""
    acc = _acc(size=64)
    batch = encode([MAP])
    for bits, legal in ((8, False), (4, True)):
        layer = replace(LAYER, weight_bits=bits)
        assert (problems(layer, acc, MAP) == []) == legal
        assert bool(legal_mask(layer, acc, batch)[0]) == legal
    assert "tile needs 768 bits (weights 96 x 8 b) but the level holds 512 bits" in \
        problems(replace(LAYER, weight_bits=8), acc, MAP)[0]
    layer = Layer(K=16, C=32, P=4, Q=4, weight_bits=2)
    got = sample_legal(layer, acc, 64, seed=0)
    from coexplore.mapping.tiles import tile_words
    need = np.where(got.keep[:, 0, 0], tile_words(layer, got)[:, 0, 0] * 2, 0)
    assert need.max() <= 512 and need.max() > 256  # uses the room 2-bit words leave


def test_a_word_wider_than_the_access_is_refused_naming_the_field() -> None:
    acc = _acc(size=64, block=1, keeps=("weights", "outputs"))
    assert acc.accumulator_bits == 8  # the innermost level that keeps outputs
    with pytest.raises(SpecError, match=r"layer\.weight_bits: a 16-bit word of weights does not fit level 'buf', "
                                        r"whose access is 8 bits \(8-bit words x 1\), got 16"):
        evaluate(Layer(K=16, C=6, weight_bits=16, output_bits=8), acc, MAP)
    with pytest.raises(SpecError, match=r"layer\.weight_bits: 16-bit weights exceed the 8-bit MACs"):
        evaluate(Layer(K=16, C=6, weight_bits=16, output_bits=8), _acc(block=2), MAP)


def test_layer_spec_yaml_and_shape_key_carry_the_bits() -> None:
    layer = parse_layer_spec("K=8,C=4,P=2,Q=2,weight_bits=4,input_bits=6")
    assert (layer.weight_bits, layer.input_bits, layer.output_bits) == (4, 6, None)
    assert parse_layer_spec(layer.spec_string()) == replace(layer, name="layer")
    assert layer.shape_key() != replace(layer, weight_bits=8).shape_key()
    assert Layer(K=8, C=4).shape_key() == (1, 1, 8, 4, 1, 1, 1, 1, 1, 1, 1, 1)  # unquantized keys unchanged
    net = network_from_dict({"name": "n", "layers": [{"K": 8, "C": 4, "weight_bits": 2, "output_bits": 16}]})
    assert net.layers[0].weight_bits == 2 and network_to_dict(net)["layers"][0]["output_bits"] == 16
    for bad, msg in (("0", "must be an integer from 1 to 64 bits, got 0"),
                     ("65", "must be an integer from 1 to 64 bits, got 65"),
                     ("4.5", "must be an integer, got '4.5'")):
        with pytest.raises(SpecError, match=f"weight_bits: {msg}"):
            parse_layer_spec(f"K=8,C=4,weight_bits={bad}")
    with pytest.raises(SpecError, match=r"layers\[0\]\.input_bits: must be an integer, got 2\.5"):
        network_from_dict({"name": "n", "layers": [{"K": 8, "C": 4, "input_bits": 2.5}]})


def test_bandwidth_is_counted_in_bits() -> None:
    acc = Accelerator(name="bw", levels=(
        MemoryLevel(name="buf", size_words=4096, block_size_words=8),
        MemoryLevel(name="dram", size_words=None, block_size_words=8, shared_bandwidth_words_per_cycle=0.125)),
        mac=MacUnit())
    m = _mapping({"K": 16, "C": 6, "P": 4, "Q": 4}, {}, keep0=("weights", "inputs", "outputs"))
    slow = evaluate(replace(LAYER, weight_bits=8, input_bits=8, output_bits=8), acc, m, throttle=True)
    fast = evaluate(replace(LAYER, weight_bits=4, input_bits=4, output_bits=4), acc, m, throttle=True)
    dram_words = 96 + 96 + 256  # weights, inputs and outputs each cross the DRAM link once
    assert (slow.latency_cycles, fast.latency_cycles) == (dram_words * 8, dram_words * 4)  # > 1536 MAC cycles


def test_scalable_macs_fuse_bricks_in_powers_of_two() -> None:
    acc = _acc(mac=MacUnit(instances=1, bits=8, brick_bits=2, energy_pj=1.6, area_mm2=1e-3))
    got = {(w, a): precision.lanes(acc, w, a) for w, a in ((8, 8), (4, 4), (8, 4), (4, 8), (6, 6), (2, 2), (2, 8))}
    assert got == {(8, 8): 1, (4, 4): 4, (8, 4): 2, (4, 8): 2, (6, 6): 1, (2, 2): 16, (2, 8): 4}
    bound = precision.bind(Layer(K=4, C=4, weight_bits=4, input_bits=4, output_bits=8), acc)
    assert (bound.mac.instances, bound.mac.mesh_x, bound.mac.brick_bits) == (4, 4, None)
    assert bound.mac.energy_pj == pytest.approx(0.4) and bound.area_mm2 == pytest.approx(acc.area_mm2)
    assert precision.bind(Layer(K=4, C=4), bound) is bound  # idempotent: a bound MAC is fixed
    assert precision.bind(Layer(K=4, C=4), acc).mac.instances == 1  # unquantized: 8 x 8


def test_mac_energy_and_area_follow_the_product_of_operand_bits() -> None:
    t = get_technology("40nm")  # Accelergy's multiplier grows exactly as bits**2 there
    full, half = t.mac_energy_pj(8), t.mac_energy_pj(8, weight_bits=4)
    add = t.mac_energy_pj(8) - 12.68 * (8 / 32) ** 2
    assert half - add == pytest.approx((full - add) / 2)
    assert t.mac_area_mm2(8, weight_bits=4, input_bits=4) == pytest.approx(t.mac_area_mm2(8) / 4)
    assert t.mac_energy_pj(8, accumulator_bits=32) > full


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_torch_quantization_aware_and_converted_layers_carry_their_bits() -> None:
    torch = pytest.importorskip("torch")
    from torch.ao.quantization import QConfig, QConfigMapping, get_default_qconfig_mapping
    from torch.ao.quantization.fake_quantize import FakeQuantize
    from torch.ao.quantization.observer import MovingAverageMinMaxObserver
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx, prepare_qat_fx

    from coexplore.interop.torch_fx import network_from_torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.fc = torch.nn.Linear(8 * 8 * 8, 10)

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))

    w4 = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=-8, quant_max=7,
                                dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
    a6 = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=63, dtype=torch.quint8)
    x = (torch.zeros(1, 3, 8, 8),)
    qat = prepare_qat_fx(Net().train(), QConfigMapping().set_global(QConfig(activation=a6, weight=w4)), x)
    got = [(lay.weight_bits, lay.input_bits, lay.output_bits) for lay in network_from_torch(qat, (1, 3, 8, 8)).layers]
    assert got == [(4, 6, 6), (4, 6, 6)]
    ptq = prepare_fx(Net().eval(), get_default_qconfig_mapping("fbgemm"), x)
    ptq(*x)
    conv, fc = network_from_torch(convert_fx(ptq), (1, 3, 8, 8)).layers
    assert (conv.weight_bits, conv.input_bits, conv.output_bits, conv.K, conv.P) == (8, 8, 8, 8, 8)
    assert (fc.K, fc.C, fc.weight_bits) == (10, 512, 8)
    assert network_from_torch(Net(), (1, 3, 8, 8)).layers[0].weight_bits is None


def test_onnx_qdq_and_qlinear_layers_carry_their_bits(tmp_path) -> None:  # type: ignore[no-untyped-def]
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from coexplore.interop.onnx_import import network_from_onnx

    def const(name: str, dtype: int, dims: list[int], vals: list[float]) -> object:
        return helper.make_tensor(name, dtype, dims, vals)

    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "zp_u8"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "zp_u8"], ["xd"]),
        helper.make_node("DequantizeLinear", ["wq", "s", "zp_i4"], ["wd"]),
        helper.make_node("Conv", ["xd", "wd"], ["y"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", ["y", "s", "zp_i8"], ["yq"]),
        helper.make_node("QLinearConv", ["yq", "s", "zp_i8", "w2", "s", "zp_i8", "s", "zp_u8"], ["z"], name="qconv"),
    ]
    inits = [const("s", TensorProto.FLOAT, [], [0.1]), const("zp_u8", TensorProto.UINT8, [], [0]),
             const("zp_i8", TensorProto.INT8, [], [0]), const("zp_i4", TensorProto.INT4, [], [0]),
             const("wq", TensorProto.INT4, [4, 3, 3, 3], [0] * 108),
             const("w2", TensorProto.INT8, [4, 4, 1, 1], [0] * 16)]
    graph = helper.make_graph(nodes, "q", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("z", TensorProto.UINT8, None)], inits)
    path = tmp_path / "q.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)]), str(path))
    conv, qconv = network_from_onnx(path).layers
    assert (conv.weight_bits, conv.input_bits, conv.output_bits, conv.K, conv.P) == (4, 8, 8, 4, 8)
    assert (qconv.weight_bits, qconv.input_bits, qconv.output_bits, qconv.K, qconv.C) == (8, 8, 8, 4, 4)


def test_bitfusion_preset_computes_more_products_per_cycle_at_fewer_bits() -> None:
    """K=64 x C=64: 16 rows x 32 columns of units; at 4 x 4 bits each unit fuses 4 lanes over C."""
    from coexplore.mapper.network import map_layer
    from coexplore.presets.accelerators import get_accelerator

    acc = get_accelerator("bitfusion")
    layer = Layer(K=64, C=64, P=4, Q=4)
    cycles = {}
    for w, a in ((8, 8), (4, 4), (8, 4), (6, 6)):
        res = map_layer(replace(layer, weight_bits=w, input_bits=a), acc, max_evals=2000)
        cycles[(w, a)] = res.cost.compute_cycles
        assert res.cost.total_macs == 512 * precision.lanes(acc, w, a)
    full = layer.macs // 512  # every unit busy every cycle: 128 cycles at 8 x 8 bits
    assert cycles == {(8, 8): full, (4, 4): full // 4, (8, 4): full // 2, (6, 6): full}  # 6 bits fuse as 8
