"""Low-rank factorization of any model, exact parameter/MAC counts, and the rank searches (ShrinkML)."""

# ruff: noqa: E402  (imports after the optional-extra skip)
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="low-rank factorization needs the extra 'nas' (torch, scikit-learn)")
pytest.importorskip("sklearn", reason="low-rank factorization needs the extra 'nas' (torch, scikit-learn)")

from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from coexplore.errors import SpecError
from coexplore.nas._lowrank_torch import DigitsLstm, LowRankLSTM
from coexplore.nas.lowrank import (
    SvdCache,
    count_macs,
    count_parameters,
    factorable_matrices,
    factorize,
    matrix_rows,
)
from coexplore.nas.lowrank_eval import RankEvaluator, TrainedDigitsLstm, train_digits_lstm
from coexplore.nas.lowrank_search import (
    STRATEGIES,
    LowRankProblem,
    RankSpace,
    ShrinkMlReinforce,
    same_ranks,
    search_ranks,
    uniform_ranks,
)
from coexplore.search.encoding import ChoiceBatch


class Mixed(nn.Module):
    """A conv (not factorable), a 2-layer bidirectional LSTM (time major), attention and a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 6, 1)
        self.rnn = nn.LSTM(6, 10, num_layers=2, bidirectional=True)
        self.attn = nn.MultiheadAttention(20, 2)
        self.head = nn.Sequential(nn.Linear(20, 12), nn.ReLU(), nn.Linear(12, 5, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (B, 3, T)
        y, _ = self.rnn(self.conv(x).permute(2, 0, 1))
        y, _ = self.attn(y, y, y)
        return self.head(y[-1])


def _model(cls: type, **kw: object) -> nn.Module:
    torch.manual_seed(0)
    return cls(**kw).eval()


def test_factorable_matrices_of_any_model_skip_attention_internals() -> None:
    names = [m.name for m in factorable_matrices(_model(Mixed))]
    assert names == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0_reverse",
                     "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.weight_ih_l1_reverse", "rnn.weight_hh_l1_reverse",
                     "head.0", "head.2"]
    shapes = {m.name: (m.rows, m.cols, m.max_rank) for m in factorable_matrices(_model(Mixed))}
    assert shapes["rnn.weight_ih_l1"] == (40, 20, 20) and shapes["head.2"] == (5, 12, 5)


@pytest.mark.parametrize("ranks", [{}, {"head.0": 3}, {"rnn.weight_hh_l0": 2, "rnn.weight_ih_l1_reverse": 7,
                                                         "head.2": 5, "head.0": 12}])
def test_parameter_and_mac_counts_equal_pytorch_and_the_flop_counter(ranks: dict[str, int]) -> None:
    model = _model(Mixed)
    factored = factorize(model, ranks)
    assert count_parameters(model, ranks) == sum(p.numel() for p in factored.parameters())
    x = torch.randn(4, 3, 7)
    macs = count_macs(model, ranks, x.shape)
    if any(k.startswith("rnn.") for k in ranks):  # PyTorch's fused LSTM is invisible to the flop counter
        seq = factored.conv(x).permute(2, 0, 1)  # the convolution's MACs are not the matrices'
        with FlopCounterMode(display=False) as fc:
            factored.rnn(seq)
            factored.head(torch.randn(4, 20))
        assert macs == fc.get_total_flops() // 2
    rows = matrix_rows(model, x.shape)
    assert rows["rnn.weight_hh_l1_reverse"] == 7 * 4 and rows["head.0"] == 4


def test_digits_lstm_counts_by_hand() -> None:
    model = _model(DigitsLstm, hidden=16, fc_width=12)
    ranks = {"lstm.weight_hh_l0": 3, "fc1": 2}
    dense = (64 * 8 + 64 * 16 + 2 * 64) + (12 * 16 + 12) + (10 * 12 + 10)
    assert sum(p.numel() for p in model.parameters()) == dense
    assert count_parameters(model, ranks) == dense - 64 * 16 + 3 * 80 - 12 * 16 + 2 * 28
    assert count_macs(model, ranks, (5, 1, 8, 8)) == 5 * 8 * (64 * 8 + 3 * 80) + 5 * (2 * 28 + 10 * 12)
    factored = factorize(model, ranks)
    with FlopCounterMode(display=False) as fc:
        factored(torch.randn(5, 1, 8, 8))
    assert count_macs(model, ranks, (5, 1, 8, 8)) == fc.get_total_flops() // 2
    assert count_parameters(model, ranks) == sum(p.numel() for p in factored.parameters())


def test_truncated_svd_is_the_best_rank_r_approximation_and_full_rank_is_exact() -> None:
    model = _model(DigitsLstm, hidden=16, fc_width=12)
    cache = SvdCache(model)
    m = next(m for m in factorable_matrices(model) if m.name == "lstm.weight_hh_l0")
    w = model.lstm.weight_hh_l0.detach().numpy().astype(np.float64)
    s = cache.singular_values(m)
    for r in (1, 5, 16):
        u, v = cache.factors(m, r)
        assert u.shape == (64, r) and v.shape == (r, 16)
        assert np.linalg.norm(w - u.astype(np.float64) @ v) == pytest.approx(np.sqrt((s[r:] ** 2).sum()), abs=1e-4)
    x = torch.randn(6, 1, 8, 8)
    full = factorize(model, {mm.name: mm.max_rank for mm in factorable_matrices(model)}, cache=cache)
    assert torch.allclose(full(x), model(x), atol=1e-4)
    assert model.lstm.__class__ is nn.LSTM and full.lstm.__class__ is LowRankLSTM  # the original is untouched


@pytest.mark.parametrize("kw", [dict(num_layers=2, bidirectional=True), dict(batch_first=True, bias=False),
                                dict(num_layers=2, batch_first=True)])
def test_dense_low_rank_lstm_computes_what_nn_lstm_computes(kw: dict) -> None:
    torch.manual_seed(1)
    lstm = nn.LSTM(5, 7, **kw)
    ours = LowRankLSTM(lstm, {})
    x = torch.randn(4, 3, 5)
    d = 2 if lstm.bidirectional else 1
    hx = (torch.randn(lstm.num_layers * d, 4 if lstm.batch_first else 3, 7),) * 2
    for args in ((x,), (x, hx), (x[0],)):
        a, (h, c) = lstm(*args)
        b, (h2, c2) = ours(*args)
        assert torch.allclose(a, b, atol=1e-6) and torch.allclose(h, h2, atol=1e-6) and torch.allclose(c, c2, atol=1e-6)


def test_bad_ranks_and_models_name_the_field_and_value() -> None:
    model = _model(DigitsLstm, hidden=16, fc_width=12)
    with pytest.raises(SpecError) as e:
        factorize(model, {"fc1": 13, "lstm.weight_ih_l0": 0, "fc3": 2, "fc2": 2.5})
    msg = str(e.value)
    assert "ranks['fc1']: must be an integer in 1..12 (min of the 12x16 matrix), got 13" in msg
    assert "ranks['lstm.weight_ih_l0']: must be an integer in 1..8 (min of the 64x8 matrix), got 0" in msg
    assert "ranks['fc3']: no factorable matrix of that name; valid: lstm.weight_ih_l0" in msg
    assert "ranks['fc2']: must be an integer in 1..10" in msg and "got 2.5" in msg and "\n" not in msg
    with pytest.raises(SpecError, match="model: Sequential has no linear layer to factor"):
        factorable_matrices(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()))
    with pytest.raises(SpecError, match=r"model: must be a torch\.nn\.Module, got dict"):
        factorize({}, {})
    with pytest.raises(SpecError, match="ranks\\['x'\\]: no factorable matrix"):
        count_parameters(model, {"x": 1})


def test_rank_grid_and_uniform_ranks_meet_the_budget() -> None:
    matrices = factorable_matrices(_model(DigitsLstm))
    space = RankSpace.grid(matrices)
    for m, choices in zip(matrices, space.choices, strict=True):
        assert choices[-1] is None and all(m.size(r) < m.size(None) for r in choices[:-1])
    assert space.ranks(space.dense_row()) == {}
    dense = sum(m.size(None) for m in matrices)
    for ratio in (3, 5):
        ranks, c = uniform_ranks(matrices, ratio)
        assert c >= ratio and sum(m.size(ranks[m.name]) for m in matrices) <= dense / ratio
        same, r = same_ranks(matrices, ratio)
        assert same == {m.name: min(r, m.max_rank) for m in matrices}
        assert sum(m.size(same[m.name]) for m in matrices) <= dense / ratio
        assert sum(m.size(min(r + 1, m.max_rank)) for m in matrices) > dense / ratio  # the largest that fits
    with pytest.raises(SpecError, match=r"ratio: must be >= 1, got 0\.5"):
        uniform_ranks(matrices, 0.5)


@pytest.fixture(scope="module")
def trained() -> TrainedDigitsLstm:
    return train_digits_lstm(seed=3, hidden=32, fc_width=16, epochs=15)


@pytest.fixture(scope="module")
def evaluator(trained: TrainedDigitsLstm) -> RankEvaluator:
    tr = trained
    return RankEvaluator(model=tr.model, x_val=tr.x_val, y_val=tr.y_val, x_test=tr.split.x_test,
                         y_test=tr.split.y_test, latency_shape=(2, 1, 8, 8), latency_repeats=3, latency_warmup=1)


def test_digits_lstm_trains_above_90_percent_on_disjoint_train_validation_and_test_images(
        trained: TrainedDigitsLstm, evaluator: RankEvaluator) -> None:
    assert trained.accuracy > 90 and evaluator.accuracy({}, "test") == trained.accuracy
    sets = [{row.tobytes() for row in x} for x in (trained.split.x_train, trained.x_val, trained.split.x_test)]
    assert (len(trained.split.y_train), len(trained.y_val), len(trained.split.y_test)) == (1078, 270, 449)
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    with pytest.raises(SpecError, match=r"hidden: must be an integer >= 1, got 0; val_fraction: must be in \(0, 1\)"):
        train_digits_lstm(hidden=0, val_fraction=1.0)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_finds_ranks_within_the_size_budget_reproducibly(evaluator: RankEvaluator,
                                                                       strategy: str) -> None:
    space = RankSpace.grid(evaluator.matrices, step=2.0)
    budget = evaluator.dense_parameters // 2
    found = []
    for _ in range(2):
        problem = LowRankProblem(evaluator=evaluator, space=space, max_parameters=budget)
        best, result = search_ranks(problem, strategy, max_evals=64, seed=5)
        assert best is not None and evaluator.parameters(best) <= budget
        assert -result.best_values[0, 0] == evaluator.accuracy(best)
        found.append(best)
    assert found[0] == found[1]


def test_shrinkml_reward_punishes_the_excess_and_latency_budget_uses_measured_latency(
        evaluator: RankEvaluator) -> None:
    space = RankSpace.grid(evaluator.matrices, step=2.0)
    problem = LowRankProblem(evaluator=evaluator, space=space, max_parameters=evaluator.dense_parameters // 2)
    strat = ShrinkMlReinforce(seed=0)
    strat.bind(problem, 8)
    dense = space.dense_row()
    assert strat.reward(dense) == pytest.approx(-1.0, abs=0.01)  # twice the budget: punishment -(2 - 1)
    low = np.zeros_like(dense)
    assert strat.reward(low) == evaluator.accuracy(space.ranks(low)) / 100
    lat = LowRankProblem(evaluator=evaluator, space=space, max_latency_ms=evaluator.latency_ms({}))
    ev = lat.evaluate(ChoiceBatch(np.stack([dense, low])))
    for row, ok in zip((dense, low), ev.feasible, strict=True):
        assert lat.record(row)[1] == evaluator.latency_ms(space.ranks(row))
        assert ok == (lat.record(row)[1] <= lat.budget)
    with pytest.raises(SpecError, match="budget: give exactly one of max_parameters and max_latency_ms"):
        LowRankProblem(evaluator=evaluator, space=space)
    with pytest.raises(SpecError, match=r"batch: must be an integer >= 1, got 0; entropy: must be >= 0, got -1"):
        ShrinkMlReinforce(batch=0, entropy=-1)
    with pytest.raises(SpecError, match="strategy: unknown rank search strategy 'ppo'"):
        search_ranks(problem, "ppo")
