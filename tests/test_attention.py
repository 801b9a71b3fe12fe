"""Attention workloads: exact counts of imported attention (torch.fx and ONNX), the presets, vector ops,
butterfly / FFT layers, pricing against the reference walk, and bad input."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from coexplore.cost.model import evaluate
from coexplore.cost.reference import reference_counts
from coexplore.cost.vector import OPS_PER_ELEMENT, price_vector_op
from coexplore.errors import InteropError, SpecError
from coexplore.mapping.encoding import decode
from coexplore.mapping.sampling import sample_legal
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network, network_from_dict, network_to_dict
from coexplore.presets.transformers import LRA_TASKS, EncoderBuilder
from coexplore.spec.workload import Layer, Network, VectorOp

torch = pytest.importorskip("torch", reason="the torch.fx importer needs the extra 'torch'")
nn = torch.nn
F = torch.nn.functional

from coexplore.interop.torch_fx import network_from_torch  # noqa: E402

# TransformerEncoderLayer(d_model=E, nhead=H, dim_feedforward=FF) on a (B, L, E) batch-first input
B, L, E, H, FF = 2, 10, 32, 4, 64
DH = E // H
# name suffix -> (MACs, weights words, inputs words, outputs words, weights_from), counted by hand:
HAND = {
    # one packed GEMM x[B*L, E] @ in_proj_weight^T[E, 3E]
    "self_attn.in_proj": (B * L * E * 3 * E, 3 * E * E, B * L * E, B * L * 3 * E, "parameters"),
    # per (batch, head): Q[L, DH] @ K^T[DH, L]; both operands activations of B*H*L*DH words
    "self_attn.scores": (B * H * L * L * DH, B * H * L * DH, B * H * L * DH, B * H * L * L, "activations"),
    # per (batch, head): A[L, L] @ V[L, DH]
    "self_attn.context": (B * H * L * L * DH, B * H * L * DH, B * H * L * L, B * H * L * DH, "activations"),
    "self_attn.out_proj": (B * L * E * E, E * E, B * L * E, B * L * E, "parameters"),
    "linear1": (B * L * E * FF, E * FF, B * L * E, B * L * FF, "parameters"),
    "linear2": (B * L * FF * E, FF * E, B * L * FF, B * L * E, "parameters"),
}
HAND_VECTOR = {"self_attn.softmax": ("softmax", B * H * L, L), "norm1": ("layernorm", B * L, E),
               "norm2": ("layernorm", B * L, E)}


def _encoder_layer() -> nn.Module:
    torch.manual_seed(0)
    return nn.TransformerEncoderLayer(d_model=E, nhead=H, dim_feedforward=FF, dropout=0.0, batch_first=True).eval()


def _counts(layer: Layer) -> tuple[int, int, int, int, str]:
    return layer.macs, layer.weights_words, layer.inputs_words, layer.outputs_words, layer.weights_from


def test_fx_transformer_encoder_layer_has_exact_counts() -> None:
    module = _encoder_layer()
    net = network_from_torch(module, (B, L, E))
    assert [x.name for x in net.layers] == list(HAND)
    assert {x.name: _counts(x) for x in net.layers} == HAND
    assert {v.name: (v.kind, v.rows, v.width) for v in net.vector_ops} == HAND_VECTOR
    # parameters: every weight matrix and the norms' scale and shift (biases are not modelled)
    assert net.params == sum(p.numel() for n, p in module.named_parameters() if "bias" not in n or "norm" in n)


class _Wrapped(nn.Module):
    """The legacy ONNX exporter needs the encoder layer below the root (its defaults turn into tensors)."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = _encoder_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


def test_onnx_export_of_the_encoder_layer_agrees(tmp_path: Path) -> None:
    pytest.importorskip("onnx", reason="the ONNX importer needs the extra 'onnx'")
    from coexplore.interop.onnx_import import network_from_onnx

    path = tmp_path / "encoder.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Wrapped(), (torch.zeros(B, L, E),), str(path), dynamo=False, input_names=["x"])
    got = network_from_onnx(path)
    assert [_counts(x) for x in got.layers] == list(HAND.values())
    assert [(x.K, x.C, x.N, x.groups) for x in got.layers] == \
        [(x.K, x.C, x.N, x.groups) for x in network_from_torch(_encoder_layer(), (B, L, E)).layers]
    assert [(v.kind, v.rows, v.width) for v in got.vector_ops] == list(HAND_VECTOR.values())


class _ManualAttention(nn.Module):
    """The same attention core written three ways: einsum, matmul and scaled_dot_product_attention."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (B, H, L, DH) used as q, k and v
        scores = torch.einsum("bhqd,bhkd->bhqk", x, x)
        a = F.softmax(scores, dim=-1)
        y1 = torch.einsum("...qk,...kd->...qd", a, x)
        y2 = torch.matmul(F.softmax(x @ x.transpose(-2, -1), dim=-1), x)
        y3 = F.scaled_dot_product_attention(x, x, x)
        return y1 + y2 + y3


def test_einsum_matmul_and_sdpa_give_the_attention_counts() -> None:
    net = network_from_torch(_ManualAttention(), (B, H, L, DH))
    scores, context = HAND["self_attn.scores"], HAND["self_attn.context"]
    assert [_counts(x) for x in net.layers] == [scores, context] * 3
    assert all(x.op == "bmm" and x.groups == B * H for x in net.layers)
    assert [(v.kind, v.rows, v.width) for v in net.vector_ops] == [("softmax", B * H * L, L)] * 3


def test_multihead_attention_cross_attention_has_separate_projections() -> None:
    class Cross(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mha = nn.MultiheadAttention(E, H, kdim=16, vdim=16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (L, B, E) time major, memory of 7 tokens
            mem = torch.zeros(7, x.shape[1], 16)
            return self.mha(x, mem, mem)[0]

    net = network_from_torch(Cross(), (L, B, E))
    got = {x.name: (x.K, x.C, x.N) for x in net.layers}
    assert got == {"mha.q_proj": (E, E, B * L), "mha.k_proj": (E, 16, B * 7), "mha.v_proj": (E, 16, B * 7),
                   "mha.scores": (B * H * 7, B * H * DH, L), "mha.context": (B * H * DH, B * H * 7, L),
                   "mha.out_proj": (E, E, B * L)}


def test_unsupported_einsum_and_broadcast_name_the_reason() -> None:
    class Outer(nn.Module):  # an outer product is a matmul form (no inner index); b summed from one operand is not
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.einsum("bi,bj->bij", x, x).sum() + torch.einsum("bij,jk->ik", x[:, :, None], x[:1])

    with pytest.raises(InteropError, match=r"einsum 'bij,jk->ik' is not supported \(an index summed out"):
        network_from_torch(Outer(), (3, 4))

    class Partial(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (2, 3, 4, 4) @ (3, 4, 4): batch 2 broadcast
            return x @ x[0]

    with pytest.raises(InteropError, match=r"broadcasts only some batch dimensions"):
        network_from_torch(Partial(), (2, 3, 4, 4))


# -- presets -------------------------------------------------------------------------------------
def test_bert_base_layer_counts_by_hand() -> None:
    seq, d, heads, ff = 128, 768, 12, 3072
    net = get_network(f"bert-base:seq={seq},layers=1")
    by_name = {x.name: x for x in net.layers}
    assert net.macs == 4 * seq * d * d + 2 * seq * seq * d + 2 * seq * d * ff
    scores = by_name["encoder.0.attn.scores"]
    assert (scores.groups, scores.N, scores.K // heads, scores.C // heads) == (heads, seq, seq, d // heads)
    assert scores.weights_from == "activations" and scores.params == 0
    assert net.params == 4 * d * d + 2 * d * ff + 2 * 2 * d
    assert {v.name: v.elements for v in net.vector_ops} == {
        "encoder.0.attn.softmax": heads * seq * seq, "encoder.0.ln1": seq * d, "encoder.0.ln2": seq * d}
    assert get_network("bert-base").macs == 12 * net.macs  # 12 layers at seq 128 by default
    assert get_network("vit-b16").macs == pytest.approx(17.56e9, rel=0.01)  # the published 17.6 GFLOPs (MACs)


@pytest.mark.parametrize(("n_in", "n_out"), [(8, 8), (4, 16), (16, 4)])
def test_butterfly_has_2n_log2n_macs_and_parameters(n_in: int, n_out: int) -> None:
    b = EncoderBuilder()
    b.butterfly("bf", n_in, n_out, rows=5)
    n, stages = max(n_in, n_out), int(math.log2(n_in))
    assert len(b.layers) == stages
    assert all(x.weights_words == 2 * n and x.macs == 5 * 2 * n for x in b.layers)  # n/2 2x2 blocks per stage
    assert sum(x.params for x in b.layers) == 2 * n * stages


def test_fft_mixing_pads_the_sequence_and_has_no_parameters() -> None:
    b = EncoderBuilder()
    b.fft2d("mix", seq=100, width=64)
    hidden = [x for x in b.layers if ".fft_hidden." in x.name]
    seq = [x for x in b.layers if ".fft_seq." in x.name]
    assert len(hidden) == 6 and len(seq) == 7  # log2 64, log2 128 (100 padded)
    assert sum(x.macs for x in b.layers) == 100 * 2 * 64 * 6 + 64 * 2 * 128 * 7
    assert all(x.weights_from == "constants" and x.params == 0 and x.op == "fft" for x in b.layers)


def test_dense_dft_mixing_counts() -> None:
    fft, dft = get_network("fnet-lra:task=image,layers=1"), get_network("fnet-lra:task=image,layers=1,mixing=dft")
    mix = [x for x in dft.layers if x.op == "dft"]
    seq, width = 1024, 64
    assert sum(x.macs for x in mix) == 2 * seq * width**2 + 2 * width * seq**2
    assert all(x.params == 0 for x in mix)
    assert dft.macs > fft.macs and sum(x.params for x in dft.layers) == sum(x.params for x in fft.layers)
    with pytest.raises(SpecError, match="mixing: must be fft or dft, got 'fast'"):
        get_network("fnet-lra:mixing=fast")


def test_fabnet_vs_transformer_ratios_in_the_published_bands() -> None:
    macs, params = {}, {}
    for task in LRA_TASKS:
        t, f = get_network(f"lra-transformer:task={task}"), get_network(f"fabnet-lra:task={task}")
        macs[task] = t.macs / f.macs
        params[task] = sum(x.params for x in t.layers) / sum(x.params for x in f.layers)
    # the authors' retrieval FABNet is 1024 wide (the Transformer 64): 2 N log2 N counting puts it below both
    # bands (BENCHMARKS.md says why the authors' own count lands near 10x and 2x); the other four are inside
    assert macs.pop("retrieval") < 10 and params.pop("retrieval") < 2
    assert all(10 <= r <= 66 for r in macs.values()), macs
    assert all(2 <= r <= 22 for r in params.values()), params


# -- pricing -------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [
    Layer(name="scores", K=4 * 3, C=4 * 2, N=3, groups=4, op="bmm", weights_from="activations"),
    Layer(name="bfly", K=8, C=8, N=3, groups=4, op="butterfly"),
])
def test_attention_layers_price_like_the_reference_walk(layer: Layer) -> None:
    acc = get_accelerator("eyeriss")
    batch = sample_legal(layer, acc, 6, seed=1)
    for i in range(len(batch)):
        m = decode(batch, i)
        ref = reference_counts(layer, acc, m)
        got = evaluate(layer, acc, m, check=False)
        assert got.compute_cycles == ref.cycles
        for j, lv in enumerate(got.levels):
            for ds, c in lv.dataspaces.items():
                assert (c.reads, c.fills, c.updates) == ref.counts[(j, ds)]
        assert np.isclose(got.energy_pj, ref.energy_pj, rtol=1e-9)


def test_vector_op_cost_is_the_stated_model() -> None:
    acc = get_accelerator("eyeriss")
    op = VectorOp(name="sm", kind="softmax", rows=12 * 128, width=128)
    c = price_vector_op(op, acc)
    dram = acc.levels[-1]
    ops = op.elements * OPS_PER_ELEMENT["softmax"]
    assert c.compute_cycles == math.ceil(ops / acc.mac.instances)
    assert c.energy_pj == pytest.approx(ops * acc.mac.pj + math.ceil(op.elements / dram.block_size_words)
                                        * (dram.read_pj + dram.write_pj))
    assert c.latency_cycles == c.compute_cycles > 0  # no bandwidth stalls by default, as the MAC layers
    assert price_vector_op(op, acc, throttle=True).latency_cycles == max(c.compute_cycles, c.memory_cycles)


def test_network_evaluation_includes_vector_ops_and_yaml_round_trips() -> None:
    from coexplore.api.evaluate import evaluate_network

    net = get_network("lra-transformer:task=image,seq=16,width=8,hidden=16")
    res = evaluate_network(net, "eyeriss", samples=32)
    assert len(res.vector_ops) == len(net.vector_ops) == 6
    assert res.energy_pj == pytest.approx(sum(x.energy_pj for x in res.layers)
                                          + sum(x.energy_pj for x in res.vector_ops))
    assert res.to_record()["vector_ops"][0]["kind"] == "softmax"
    assert network_from_dict(network_to_dict(net)) == net
    from coexplore.mapper.network import map_network

    mapped = map_network(net, get_accelerator("eyeriss"), mapper="random", max_evals=16, jobs=1, progress=False)
    assert mapped.latency_cycles == sum(x.cost.latency_cycles for x in mapped.layers) + sum(
        x.latency_cycles for x in res.vector_ops)
    assert len(mapped.to_record()["vector_ops"]) == 6


# -- bad input -----------------------------------------------------------------------------------
def test_bad_sizes_are_one_clear_line() -> None:
    with pytest.raises(SpecError, match=r"^network lra-transformer: heads: must divide the width 64, got 3$"):
        get_network("lra-transformer:heads=3")
    with pytest.raises(SpecError, match=r"butterfly size \(in\): must be a power of two >= 2, got 12"):
        EncoderBuilder().butterfly("bf", 12, 16, rows=1)
    with pytest.raises(SpecError, match=r"^network bert-base: seq: must be a positive integer, got 0$"):
        get_network("bert-base:seq=0")
    with pytest.raises(SpecError, match=r"vector op 'x'.rows: must be a positive integer, got 0"):
        VectorOp(name="x", kind="softmax", rows=0, width=4)
    with pytest.raises(SpecError, match=r"layer.weights_from: must be one of parameters, activations, constants"):
        Layer(K=1, C=1, weights_from="weights")
    with pytest.raises(SpecError, match=r"must be unique, got duplicate 'a'"):
        Network(name="n", layers=(Layer(name="a", K=1, C=1),), vector_ops=(VectorOp(name="a", kind="softmax",
                                                                                      rows=1, width=1),))


@pytest.mark.parametrize(("network", "needle"), [
    ("bert-base:seq=0", "seq: must be a positive integer, got 0"),
    ("lra-transformer:heads=5", "heads: must divide the width 64, got 5"),
    ("fabnet-lra:hidden=100", "butterfly size (out): must be a power of two >= 2, got 100"),
])
def test_cli_bad_network_parameters_exit_2(network: str, needle: str) -> None:
    r = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "evaluate", "--network", network,
                        "--accelerator", "eyeriss"], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_onnx_einsum_of_two_activations(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx", reason="the ONNX importer needs the extra 'onnx'")
    from onnx import TensorProto, helper

    from coexplore.interop.onnx_import import network_from_onnx

    q = helper.make_tensor_value_info("q", TensorProto.FLOAT, [B, H, L, DH])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [B, H, L, L])
    node = helper.make_node("Einsum", ["q", "q"], ["y"], name="qk", equation="bhqd,bhkd->bhqk")
    path = tmp_path / "einsum.onnx"
    onnx.save(helper.make_model(helper.make_graph([node], "g", [q], [y]),
                                opset_imports=[helper.make_opsetid("", 17)]), str(path))
    (layer,) = network_from_onnx(path).layers
    assert _counts(layer) == HAND["self_attn.scores"]


def test_onnx_attention_operator(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx", reason="the ONNX importer needs the extra 'onnx'")
    from onnx import TensorProto, helper

    from coexplore.interop.onnx_import import network_from_onnx

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [B, L, E])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [B, L, E])
    node = helper.make_node("Attention", ["x", "x", "x"], ["y"], name="sdpa", q_num_heads=H, kv_num_heads=H)
    path = tmp_path / "attention.onnx"
    onnx.save(helper.make_model(helper.make_graph([node], "g", [x], [y]),
                                opset_imports=[helper.make_opsetid("", 23)]), str(path))
    net = network_from_onnx(path)
    assert [_counts(x) for x in net.layers] == [HAND["self_attn.scores"], HAND["self_attn.context"]]
    assert [(v.kind, v.rows, v.width) for v in net.vector_ops] == [("softmax", B * H * L, L)]
