"""Vectorised predictor internals against slow, obvious references (STYLE.md item 5)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from coexplore.predict import BRPPredictor
from coexplore.predict._nets import graph_tensors
from tests.test_predict import build, random_graphs


def _reference_propagation(adj: np.ndarray, direction: str, aggregation: str) -> np.ndarray:
    v = len(adj)
    m = np.zeros((v, v))
    for i in range(v):
        near = {i} | {u for u in range(v) if adj[u, i] or (direction == "both" and adj[i, u])}
        for u in near:
            m[i, u] = 1.0 / len(near) if aggregation == "mean" else 1.0
    return m


@pytest.mark.parametrize("direction", ["forward", "both"])
@pytest.mark.parametrize("aggregation", ["mean", "sum"])
def test_propagation_matrices_match_the_definition(direction: str, aggregation: str) -> None:
    f, _ = random_graphs(12, seed=3)
    agg, x, w = graph_tensors(f, direction=direction, readout="output", aggregation=aggregation, who="test")
    adj = f.require("adjacency", "test")
    for g in range(len(f)):
        np.testing.assert_allclose(agg[g].numpy(), _reference_propagation(adj[g], direction, aggregation),
                                   rtol=1e-6)
    np.testing.assert_array_equal(x.numpy(), f.require("node_ops", "test"))
    ops = f.require("node_ops", "test")
    for g in range(len(f)):
        last = max(v for v in range(ops.shape[1]) if ops[g, v].any())  # the output is the last real node
        assert w[g].numpy().tolist() == [1.0 if v == last else 0.0 for v in range(ops.shape[1])]


def test_readout_weights_cover_real_nodes_only() -> None:
    f, _ = random_graphs(6, seed=4)
    real = f.require("node_ops", "test").any(axis=2)
    _, _, w_sum = graph_tensors(f, direction="both", readout="sum", aggregation="mean", who="test")
    _, _, w_mean = graph_tensors(f, direction="both", readout="mean", aggregation="mean", who="test")
    np.testing.assert_array_equal(w_sum.numpy(), real.astype(np.float32))
    np.testing.assert_allclose(w_mean.numpy(), real / real.sum(axis=1, keepdims=True), rtol=1e-6)


@pytest.fixture(scope="module")
def brp() -> tuple[BRPPredictor, Any]:
    f, y = random_graphs(120, seed=6)
    model = build("brp", epochs=10).fit(f.take(np.arange(80)), y[:80])
    return model, f.take(np.arange(80, 120))


def test_brp_scores_are_mean_pairwise_win_probabilities(brp: tuple[BRPPredictor, Any]) -> None:
    model, f = brp
    small = copy.deepcopy(model).set_params(reference_size=9)
    n = len(f)
    ref = np.sort(np.random.default_rng(small.seed).choice(n, size=9, replace=False))
    expected = []
    for i in range(n):
        others = [r for r in ref if r != i]
        expected.append(small.compare(f.take([i] * len(others)), f.take(others)).mean())
    np.testing.assert_allclose(small.predict(f), expected, rtol=1e-5, atol=1e-6)


def test_initialise_draws_every_linear_layer_from_numpy_in_float64() -> None:
    from coexplore.predict._brp_nets import BRPNet
    from coexplore.predict._nets import DTYPE, initialise

    def weights(seed: int) -> dict[str, np.ndarray]:
        net = initialise(BRPNet(7, 16, 2, 0.2, 8, True), np.random.default_rng(seed))
        return {k: v.detach().numpy() for k, v in net.state_dict().items()}

    a, b, c = weights(3), weights(3), weights(4)
    assert all(v.dtype == np.float64 for v in a.values()) and str(DTYPE) == "torch.float64"
    assert all(np.array_equal(a[k], b[k]) for k in a) and not np.array_equal(a["first.weight"], c["first.weight"])
    # torch's default distribution for nn.Linear: uniform in +-1/sqrt(fan_in), weights and biases
    fan_in = {"encoder.convs.0": 7, "encoder.convs.1": 16, "first": 16, "second": 16, "out": 8}
    for layer, n in fan_in.items():
        w = a[f"{layer}.weight"]
        assert np.abs(w).max() <= 1 / np.sqrt(n) and np.abs(w).max() > 0.8 / np.sqrt(n)
    # the same draws as (2 u - 1) / sqrt(fan_in) from the generator, in module order
    u = np.random.default_rng(3).random((16, 7))
    assert np.array_equal(a["encoder.convs.0.weight"], (2.0 * u - 1.0) * (1.0 / np.sqrt(7)))
