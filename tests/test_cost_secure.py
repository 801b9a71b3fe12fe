"""Secure-inference cost: exact HE and GC counts against hand calculations, bytes, time and bad input."""

from __future__ import annotations

import pytest

from coexplore.cost.secure import (
    GcCounts,
    HeCounts,
    SecureConstants,
    SecureStage,
    conv_he_counts,
    fc_he_counts,
    fixed_point_width,
    linear_he_counts,
    maxpool_gc_counts,
    relu_gc_counts,
    scaled,
    secure_network_cost,
    secure_stages,
)
from coexplore.errors import SpecError
from coexplore.spec.workload import Layer, Network

CONST = SecureConstants()  # n = 2048 slots, kappa = 128


def test_conv_counts_output_rotation_by_hand() -> None:
    # 64 -> 64 channels, 3x3, 16x16 "same": a plane is 256 slots, c_n = 2048 // 256 = 8,
    # m_i = m_o = 64 / 8 = 8 ciphertexts, 9 taps.
    # input rotations  = m_i*(c_n*9 - 1) = 8*71 = 568
    # output rotations = m_i*(9 - 1) + m_o*(c_n - 1) = 64 + 56 = 120  -> the cheaper
    # ct-pt mults = m_o*m_i*c_n*9 = 4608 (= 64*64*9/8)
    # additions = m_o*(m_i*c_n*9 - 1) + m_i (server share) + m_o (mask) = 8*575 + 16 = 4616
    layer = Layer(name="c", K=64, C=64, P=16, Q=16, R=3, S=3, padding=(1, 1))
    he = conv_he_counts(layer, CONST)
    assert (he.rotations, he.ct_pt_mults, he.additions, he.cts_sent, he.cts_received) == (120, 4608, 4616, 8, 8)
    assert he.scheme.startswith("conv output-rotation")
    assert linear_he_counts(layer, CONST) == he


def test_conv_counts_input_rotation_by_hand() -> None:
    # 3 -> 64 channels, 3x3, 32x32: c_n = 2048 // 1024 = 2, m_i = ceil(3/2) = 2, m_o = 32.
    # input rotations = 2*(2*9 - 1) = 34 < output rotations = 2*8 + 32*1 = 48
    # mults = 32*2*2*9 = 1152; additions = 32*(2*2*9 - 1) + 2 + 32 = 1154
    layer = Layer(name="c", K=64, C=3, P=32, Q=32, R=3, S=3, padding=(1, 1))
    he = conv_he_counts(layer, CONST)
    assert he == HeCounts(34, 1152, 1154, 2, 32, "conv input-rotation, c_n=2")


def test_fc_counts_hybrid_by_hand() -> None:
    # 1024 -> 10: n_i' = 1024, n_o' = 16, one block (w = 1024 replicated twice, h = 16).
    # diagonals d = 16*1024/2048 = 8 mults; rotations d - 1 + log2(2048/16) = 7 + 7 = 14;
    # additions 14 + server share 1 + mask 1 = 16; one ciphertext each way.
    he = fc_he_counts(Layer(name="fc", K=10, C=1024, op="fc"), CONST)
    assert (he.rotations, he.ct_pt_mults, he.additions, he.cts_sent, he.cts_received) == (14, 8, 16, 1, 1)
    # 4096 -> 100: two input blocks of 2048, n_o' = 128; per block d = 128*2048/2048 = 128 mults and
    # 127 + log2(2048/128) = 131 rotations (Gazelle's n_i*n_o/n - 1 + log2(n/n_o)); the two
    # blocks' results added once; additions 262 + 1 + 2 + 1 = 266.
    he = fc_he_counts(Layer(name="fc", K=100, C=4096, op="fc"), CONST)
    assert (he.rotations, he.ct_pt_mults, he.additions, he.cts_sent, he.cts_received) == (262, 256, 266, 2, 1)


def test_relu_and_pool_gates_by_hand() -> None:
    # ReLU at w = 8 bits: 8w = 64 AND gates per element (3w reconstruct mod p, 2w ReLU, 3w re-share),
    # w garbler labels, 2w OTs (the evaluator's share and output mask).
    assert relu_gc_counts(1000, 8) == GcCounts(64_000, 8_000, 16_000)
    # 2x2 max-pool: 3 maxima of (comparator w + multiplexer w) per output
    assert maxpool_gc_counts(250, 2, 8) == GcCounts(2 * 8 * 3 * 250)
    # a 1000-element layer (K=10, 10x10) followed by ReLU: half-gates 32 B per AND, 16 B per
    # label, IKNP OT 48 B: 64000*32 + 8000*16 + 16000*48 = 2,944,000 bytes of GC traffic
    layer = Layer(name="c", K=10, C=1, P=10, Q=10, R=1, S=1)
    cost = secure_network_cost([SecureStage(layer=layer, bits=8)], CONST)
    assert cost.layers[0].gc_bytes == 2_944_000
    assert cost.layers[0].gc_time_s == pytest.approx(64_000 * 0.1e-6 + 16_000 * 0.5e-6)


def test_he_time_and_bytes_follow_the_modulus() -> None:
    # w = 23 -> log q = 2*23 + 14 = 60 bits (the reference): ciphertext 2*2048*60/8 = 30720 B
    layer = Layer(name="fc", K=10, C=1024, op="fc")
    c = SecureConstants(rotation_s=1.0, ct_pt_mult_s=0.0, add_s=0.0, encrypt_s=0.0, decrypt_s=0.0)
    at23 = secure_network_cost([SecureStage(layer=layer, bits=23, relu=False)], c).layers[0]
    assert at23.he_time_s == pytest.approx(14.0) and at23.he_bytes == 2 * 30720 and at23.gc_bytes == 0
    at8 = secure_network_cost([SecureStage(layer=layer, bits=8, relu=False)], c).layers[0]
    assert at8.he_time_s == pytest.approx(14.0 * 30 / 60) and at8.he_bytes == 2 * 2 * 2048 * 30 // 8
    double = scaled(c, he_time=2.0, bytes_=3.0)
    again = secure_network_cost([SecureStage(layer=layer, bits=23, relu=False)], double).layers[0]
    assert again.he_time_s == pytest.approx(28.0) and again.he_bytes == pytest.approx(6 * 30720)


def test_network_stages_and_totals() -> None:
    net = Network(name="t", layers=(
        Layer(name="c1", K=8, C=1, P=8, Q=8, R=3, S=3, padding=(1, 1)),
        Layer(name="fc", K=10, C=128, op="fc"),
    ))
    stages = secure_stages(net, {"c1": 10, "fc": 12}, pools={"c1": 2})
    assert [(s.relu, s.pool, s.bits) for s in stages] == [(True, 2, 10), (False, 1, 12)]
    cost = secure_network_cost(stages, CONST)
    # c1: ReLU on 8*8*8 = 512 elements (80 ANDs each), pool on 8*4*4 = 128 outputs (60 ANDs each)
    assert cost.layers[0].gc.and_gates == 512 * 80 + 128 * 60 and cost.layers[1].gc == GcCounts()
    assert cost.time_s == pytest.approx(cost.he_time_s + cost.gc_time_s)
    assert cost.bytes == pytest.approx(sum(x.he_bytes + x.gc_bytes for x in cost.layers))
    assert fixed_point_width(6, 7) == 20


@pytest.mark.parametrize(("call", "message"), [
    (lambda: relu_gc_counts(10, 0), "relu.bits: must be an integer from 1 to 64 bits, got 0"),
    (lambda: maxpool_gc_counts(10, 2, 0), "maxpool.bits: must be an integer from 1 to 64 bits, got 0"),
    (lambda: SecureStage(layer=Layer(name="a", K=2, C=2), bits=0), "stage 'a'.bits: must be an integer"),
    (lambda: linear_he_counts(Layer(name="d", K=4, C=4, P=4, Q=4, R=3, S=3, groups=4, op="depthwise")),
     "layer 'd'.op: secure cost prices 'conv', 'fc' and 'matmul' layers, got 'depthwise'"),
    (lambda: linear_he_counts(Layer(name="p", K=4, C=4, op="pool")), "layer 'p'.op: secure cost prices"),
    (lambda: conv_he_counts(Layer(name="s", K=4, C=4, P=4, Q=4, R=3, S=3, stride=(2, 2))), "stride 1"),
    (lambda: conv_he_counts(Layer(name="big", K=4, C=4, P=64, Q=64, R=3, S=3, padding=(1, 1))),
     "plane of 4096 slots exceeds slots=2048"),
    (lambda: secure_stages(Network(name="n", layers=(Layer(name="a", K=2, C=2),)), {"b": 8}),
     "must name every layer"),
    (lambda: SecureConstants(slots=1000), "secure_constants.slots: must be a power of two, got 1000"),
    (lambda: fixed_point_width(0, 0), "width: must be an integer from 1 to 64 bits, got 0"),
])
def test_bad_input_names_field_and_value(call, message) -> None:
    with pytest.raises(SpecError, match=None) as info:
        call()
    assert message in str(info.value)
