"""Predictors: a conformance suite every registered predictor passes, and per-predictor checks.

The data are random 8-node DAGs with 6 operation kinds; the target is a known sum of
per-operation costs plus a term that depends on how operations are wired, so that a
graph model has something to find that counts alone do not show.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from coexplore.errors import RegistryError, SpecError
from coexplore.predict import (
    BRP_NAS_SETTINGS,
    PREDICTORS,
    ArchFeatures,
    BRPPredictor,
    LutPredictor,
    NotFittedError,
    make_predictor,
    predictor_names,
    ranking_metrics,
)

KINDS = 6
NODES = 8
COSTS = np.array([1.0, 3.0, 0.5, 2.0, 0.2, 4.0])  # per-operation target cost
MACS = np.array([1.0, 3.0, 0.0, 2.0, 0.0, 4.5])  # per-operation FLOPs: close to, not equal to, the cost

#: Small, fast settings for the trained predictors (the defaults are sized for real data).
FAST: dict[str, dict[str, Any]] = {
    "mlp": {"hidden": (64, 64), "epochs": 60},
    "gcn": {"hidden": 64, "epochs": 60, "lr": 3e-3},
    "brp": {"hidden": 64, "head_hidden": 64, "epochs": 40, "lr": 3e-3},
}

#: Spearman each predictor must reach on held-out graphs of the additive-plus-wiring target.
SPEARMAN_BAR = {"flops": 0.85, "params": 0.8, "lut": 0.95, "mlp": 0.95, "gcn": 0.95, "brp": 0.95, "transfer": 0.95}
TRAINED = ("mlp", "gcn", "brp")


def random_graphs(n: int, seed: int, structure: float = 1.0) -> tuple[ArchFeatures, np.ndarray]:
    """n random DAGs of 3 to 6 operations between an input and an output node, padded to 8 nodes.

    Target: per-operation costs, plus ``structure`` times the number of edges from an
    operation of kind 3 into one of kind 1 (a pair that costs extra when chained) and
    half the number of edges (each extra input is an addition).
    """
    rng = np.random.default_rng(seed)
    adj = np.zeros((n, NODES, NODES), np.float32)
    ops = np.zeros((n, NODES, KINDS + 2), np.float32)
    counts = np.zeros((n, KINDS))
    for i in range(n):
        m = int(rng.integers(3, NODES - 1))  # operations; nodes 0 and m + 1 are input and output
        a = np.triu(rng.random((m + 2, m + 2)) < 0.35, 1)
        for v in range(1, m + 2):  # every node is fed and feeds something
            if not a[:v, v].any():
                a[rng.integers(0, v), v] = True
        for v in range(m + 1):
            if not a[v, v + 1:].any():
                a[v, rng.integers(v + 1, m + 2)] = True
        adj[i, :m + 2, :m + 2] = a
        kinds = rng.integers(0, KINDS, m)
        ops[i, 0, KINDS] = ops[i, m + 1, KINDS + 1] = 1.0
        ops[i, np.arange(1, m + 1), kinds] = 1.0
        counts[i] = np.bincount(kinds, minlength=KINDS)
    kind = np.where(ops.any(axis=2), ops.argmax(axis=2), -1)
    chained = ((kind[:, :, None] == 3) & (kind[:, None, :] == 1) & (adj > 0)).sum(axis=(1, 2))
    iu = np.triu_indices(NODES, 1)
    vector = np.concatenate([ops[:, 1:-1, :KINDS].reshape(n, -1), adj[:, iu[0], iu[1]]], axis=1)
    features = ArchFeatures(
        adjacency=adj, node_ops=ops, vector=vector, flops=counts @ MACS,
        params=counts @ MACS * 0.5 + adj.sum(axis=(1, 2)), op_counts=counts,
        op_names=tuple(f"op{k}" for k in range(KINDS)))
    y = 2.0 + counts @ COSTS + structure * (chained + 0.5 * adj.sum(axis=(1, 2)))
    return features, y


@pytest.fixture(scope="module")
def data() -> tuple[ArchFeatures, np.ndarray, ArchFeatures, np.ndarray]:
    f, y = random_graphs(400, seed=0)
    return f.take(np.arange(300)), y[:300], f.take(np.arange(300, 400)), y[300:]


def build(name: str, seed: int = 0, **extra: Any) -> Any:
    return make_predictor(name, seed=seed, **{**FAST.get(name, {}), **extra})


# -- conformance: every registered predictor --------------------------------------------------
@pytest.fixture(scope="module")
def fitted(data: Any) -> dict[str, Any]:
    """Each predictor fitted once on the training graphs, shared by the conformance tests."""
    ftr, ytr, _, _ = data
    return {name: build(name).fit(ftr, ytr) for name in predictor_names()}


@pytest.mark.parametrize("name", predictor_names())
def test_fit_returns_self_and_predict_has_one_float_per_architecture(name: str, data: Any,
                                                                     fitted: dict[str, Any]) -> None:
    ftr, ytr, fte, _ = data
    p = build(name)
    assert p.fit(ftr.take(np.arange(40)), ytr[:40]) is p
    out = fitted[name].predict(fte)
    assert out.shape == (len(fte),) and out.dtype == np.float64 and np.isfinite(out).all()
    assert out.std() > 0


@pytest.mark.parametrize("name", predictor_names())
def test_predict_before_fit_raises(name: str, data: Any) -> None:
    with pytest.raises(NotFittedError, match="fit"):
        build(name).predict(data[2])


@pytest.mark.parametrize("name", predictor_names())
def test_same_seed_same_predictions_and_refit_starts_afresh(name: str, data: Any, fitted: dict[str, Any]) -> None:
    ftr, ytr, fte, _ = data
    # A fit on other data, then one on the shared training data, gives the shared model back.
    again = build(name).fit(ftr.take(np.arange(50)), ytr[:50]).fit(ftr, ytr)
    np.testing.assert_array_equal(again.predict(fte), fitted[name].predict(fte))


@pytest.mark.parametrize("name", predictor_names())
def test_ranks_held_out_graphs(name: str, data: Any, fitted: dict[str, Any]) -> None:
    _, _, fte, yte = data
    m = ranking_metrics(yte, fitted[name].predict(fte), ranking_only=fitted[name].ranking_only)
    assert m["spearman"] is not None and m["spearman"] > SPEARMAN_BAR[name], m


@pytest.mark.parametrize("name", predictor_names())
def test_hyper_parameters_round_trip_through_the_registry(name: str) -> None:
    p = build(name, seed=3)
    params = p.get_params()
    assert make_predictor(name, **params).get_params() == params
    assert repr(p).startswith(type(p).__name__ + "(")
    assert p.ranking_only is (name == "brp")


@pytest.mark.parametrize("name", predictor_names())
def test_missing_features_are_named(name: str, data: Any) -> None:
    ytr = data[1]
    only = ArchFeatures(flops=ytr) if name == "params" else ArchFeatures(params=ytr)
    with pytest.raises(SpecError, match=f"^{name}: needs the '"):
        build(name).fit(only, ytr)


def test_seed_changes_trained_models(data: Any) -> None:
    ftr, ytr, fte, _ = data
    for name in TRAINED:
        a = build(name, seed=0, epochs=3).fit(ftr.take(np.arange(64)), ytr[:64]).predict(fte)
        b = build(name, seed=1, epochs=3).fit(ftr.take(np.arange(64)), ytr[:64]).predict(fte)
        assert not np.array_equal(a, b), name


# -- graph structure: the GCN sees what counts do not ------------------------------------------
def test_gcn_beats_flops_when_the_target_depends_on_wiring() -> None:
    f, y = random_graphs(400, seed=5, structure=3.0)
    tr, te = np.arange(300), np.arange(300, 400)
    gcn = build("gcn").fit(f.take(tr), y[tr])
    flops = build("flops").fit(f.take(tr), y[tr])
    s_gcn = ranking_metrics(y[te], gcn.predict(f.take(te)))["spearman"]
    s_flops = ranking_metrics(y[te], flops.predict(f.take(te)))["spearman"]
    assert s_gcn is not None and s_flops is not None
    assert s_gcn > s_flops + 0.05, (s_gcn, s_flops)


def test_warm_start_continues_from_the_fitted_weights(data: Any) -> None:
    ftr, ytr, fte, _ = data
    small, y_small = ftr.take(np.arange(64)), ytr[:64]
    for name in TRAINED:
        cold = build(name, epochs=3).fit(small, y_small).predict(fte)
        p = build(name, epochs=3, warm_start=True).fit(small, y_small)
        np.testing.assert_array_equal(p.predict(fte), cold)  # the first fit is a cold one
        model = p.model_
        p.fit(ftr.take(np.arange(96)), ytr[:96])  # the training set grew
        assert p.model_ is model and p.n_fits_ == 1, name
        assert not np.array_equal(p.predict(fte), cold), name


def test_invalid_hyper_parameters_name_the_field(data: Any) -> None:
    ftr, ytr, _, _ = data
    with pytest.raises(SpecError, match=r"gcn\.direction: must be one of forward, both, got 'up'"):
        build("gcn", direction="up").fit(ftr, ytr)
    with pytest.raises(SpecError, match=r"mlp\.dropout: must be in \[0, 1\)"):
        build("mlp", dropout=1.5).fit(ftr, ytr)
    with pytest.raises(SpecError, match=r"brp\.batch_size: must be >= 2"):
        build("brp", batch_size=1).fit(ftr, ytr)
    with pytest.raises(SpecError, match=r"brp\.seed: must be an integer >= 0, got -1"):
        build("brp", seed=-1).fit(ftr, ytr)
    with pytest.raises(SpecError, match=r"brp\.seed: must be an integer >= 0, got -1"):
        build("brp", seed=-1).fit(ftr, ytr)
    with pytest.raises(SpecError, match=r"gcn\.log_target: needs positive targets"):
        build("gcn", log_target=True).fit(ftr, -ytr)


def test_fit_checks_the_targets(data: Any) -> None:
    ftr, ytr, _, _ = data
    with pytest.raises(SpecError, match="one value per architecture"):
        build("flops").fit(ftr, ytr[:-1])
    bad = ytr.copy()
    bad[3] = np.nan
    with pytest.raises(SpecError, match="finite"):
        build("lut").fit(ftr, bad)


# -- lookup table ------------------------------------------------------------------------------
def test_lut_recovers_known_per_operation_latencies_exactly(data: Any) -> None:
    ftr, _, fte, _ = data
    counts = ftr.require("op_counts", "test")
    y = counts @ COSTS + 1.5
    lut = build("lut").fit(ftr, y)
    np.testing.assert_allclose(lut.lut_, COSTS, atol=1e-9)
    assert lut.intercept_ == pytest.approx(1.5, abs=1e-9)
    assert lut.table() == pytest.approx({f"op{k}": c for k, c in enumerate(COSTS)})
    np.testing.assert_allclose(lut.predict(fte), fte.require("op_counts", "test") @ COSTS + 1.5)


def test_lut_from_a_measured_table(data: Any) -> None:
    _, _, fte, _ = data
    lut = LutPredictor.from_table([f"op{k}" for k in range(KINDS)], COSTS, intercept=0.25)
    np.testing.assert_allclose(lut.predict(fte), fte.require("op_counts", "test") @ COSTS + 0.25)
    other = LutPredictor.from_table([f"x{k}" for k in range(KINDS)], COSTS)
    with pytest.raises(SpecError, match="op_names"):
        other.predict(fte)
    with pytest.raises(SpecError, match="one value per op name"):
        LutPredictor.from_table(["a", "b"], [1.0])


def test_lut_costs_are_non_negative(data: Any) -> None:
    ftr, _, _, _ = data
    counts = ftr.require("op_counts", "test")
    y = counts @ np.array([1.0, -2.0, 0.5, 2.0, 0.2, 4.0]) + 30.0
    assert (build("lut").fit(ftr, y).lut_ >= 0).all()


# -- binary relation predictor -----------------------------------------------------------------
def test_brp_compare_is_antisymmetric_and_ranks_pairs(data: Any, fitted: dict[str, Any]) -> None:
    _, _, fte, yte = data
    brp: BRPPredictor = fitted["brp"]
    a, b = fte.take(np.arange(0, 50)), fte.take(np.arange(50, 100))
    p_ab, p_ba = brp.compare(a, b), brp.compare(b, a)
    assert p_ab.shape == (50,) and ((p_ab >= 0) & (p_ab <= 1)).all()
    np.testing.assert_allclose(p_ab + p_ba, 1.0, atol=1e-12)
    right = ((p_ab > 0.5) == (yte[:50] > yte[50:])).mean()
    assert right > 0.7, right
    with pytest.raises(SpecError, match="as many architectures"):
        brp.compare(a, fte.take(np.arange(3)))


def test_brp_scores_against_a_bounded_reference_sample(data: Any, fitted: dict[str, Any]) -> None:
    _, _, fte, yte = data
    small = copy.deepcopy(fitted["brp"]).set_params(reference_size=16)
    scores = small.predict(fte)
    assert scores.shape == (len(fte),) and ((scores >= 0) & (scores <= 1)).all()
    np.testing.assert_array_equal(scores, small.predict(fte))
    kendall = ranking_metrics(yte, scores, ranking_only=True)["kendall"]
    assert kendall is not None and kendall > 0.4


# -- registry and packaging --------------------------------------------------------------------
def test_registry_names_and_errors() -> None:
    assert predictor_names() == ["flops", "params", "lut", "mlp", "gcn", "brp", "transfer"]
    assert all(PREDICTORS.describe(n) for n in predictor_names())
    with pytest.raises(RegistryError,
                       match="unknown predictor 'xgb'; valid: flops, params, lut, mlp, gcn, brp, transfer"):
        make_predictor("xgb")
    with pytest.raises(SpecError, match=r"unknown hyper-parameters \['depth'\]; valid: hidden"):
        make_predictor("gcn", depth=3)
    assert make_predictor("flops", seed=7).get_params() == {}
    paper = make_predictor("gcn", **BRP_NAS_SETTINGS).get_params()
    assert {k: paper[k] for k in BRP_NAS_SETTINGS} == BRP_NAS_SETTINGS


def test_importing_the_package_does_not_import_torch() -> None:
    code = ("import sys, coexplore.predict, coexplore.predict.gcn, coexplore.predict.brp, coexplore.predict.mlp; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
