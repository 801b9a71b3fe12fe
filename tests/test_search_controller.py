"""The REINFORCE controllers of :mod:`coexplore.search.controller` (Codesign-NAS RL and FNAS use them):
gradients against finite differences, masks, given prefixes, learning a rewarded sequence, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.search.controller import LstmController, SoftmaxController

CARDS = (3, 4, 2, 5)


def _allowed(cards: tuple[int, ...]):  # type: ignore[no-untyped-def]
    def allowed(step: int, prefix: np.ndarray) -> np.ndarray:
        m = np.ones((len(prefix), cards[step]), dtype=bool)
        if step == 3:
            m[:, 0] = prefix[:, 1] % 2 == 0  # a choice closed by an earlier one
        return m

    return allowed


def _controllers() -> list[LstmController | SoftmaxController]:
    soft = SoftmaxController(CARDS)
    for k, v in soft.params.items():  # away from uniform, so the gradient is not symmetric
        soft.params[k] = np.random.default_rng(len(k)).normal(size=v.shape)
    return [LstmController(CARDS, rng=np.random.default_rng(0), hidden=6, init=0.5), soft]


@pytest.mark.parametrize("which", [0, 1], ids=["lstm", "softmax"])
def test_gradients_equal_finite_differences(which: int) -> None:
    c = _controllers()[which]
    choices, masks = c.sample(np.random.default_rng(1), 9, _allowed(CARDS))
    w = np.random.default_rng(2).normal(size=len(choices))

    def entropy_of() -> float:
        n = len(choices)
        if isinstance(c, LstmController):
            probs = [st[10] for st in c._run(n, choices, masks, None, None)[2]]
        else:
            probs = [c._probs(k, masks[k]) for k in range(len(CARDS))]
        return float(sum(-(pr * np.log(np.where(pr > 0, pr, 1.0))).sum() for pr in probs))

    for entropy in (0.0, 0.3):
        grads = c.gradients(choices, masks, w, entropy=entropy)

        def objective(entropy: float = entropy) -> float:
            return float((w * c.log_probs(choices, masks)).sum() + entropy * entropy_of())

        for name, value in c.params.items():
            for idx in list(np.ndindex(value.shape))[:4]:
                old = value[idx]
                value[idx] = old + 1e-6
                up = objective()
                value[idx] = old - 1e-6
                down = objective()
                value[idx] = old
                assert grads[name][idx] == pytest.approx((up - down) / 2e-6, abs=1e-6), (name, idx)


@pytest.mark.parametrize("make", [lambda rng: LstmController((4, 3), rng=rng, lr=0.05),
                                  lambda rng: SoftmaxController((4, 3), lr=0.05)], ids=["lstm", "softmax"])
def test_never_samples_a_closed_choice_and_learns_a_rewarded_one(make) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    c = make(rng)

    def allowed(step: int, prefix: np.ndarray) -> np.ndarray:
        m = np.ones((len(prefix), c.cards[step]), dtype=bool)
        if step == 1:
            m[prefix[:, 0] == 0, 2] = False
        return m

    for _ in range(150):
        x, masks = c.sample(rng, 16, allowed)
        assert not np.any((x[:, 0] == 0) & (x[:, 1] == 2))
        reward = ((x[:, 0] == 3) & (x[:, 1] == 1)).astype(float)
        c.update(x, masks, reward - reward.mean())
    x, _ = c.sample(rng, 200, allowed)
    assert np.mean((x[:, 0] == 3) & (x[:, 1] == 1)) > 0.8  # 1 in 12 at the start


@pytest.mark.parametrize("which", [0, 1], ids=["lstm", "softmax"])
def test_a_given_prefix_is_kept_and_costs_no_draw_and_the_same_seed_gives_the_same_rows(which: int) -> None:
    c = _controllers()[which]
    prefix = np.array([[2, 1], [0, 3], [1, 0]])
    rows, _ = c.sample(np.random.default_rng(5), 3, prefix=prefix)
    np.testing.assert_array_equal(rows[:, :2], prefix)
    # two draws (one per decision after the prefix) per row: the generator is where the full draw's third step is
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    c.sample(a, 3, prefix=prefix)
    b.random(3), b.random(3)
    assert a.random() == b.random()
    again, _ = _controllers()[which].sample(np.random.default_rng(5), 3, prefix=prefix)
    np.testing.assert_array_equal(rows, again)


def test_a_pickled_controller_continues_exactly() -> None:
    c = LstmController(CARDS, rng=np.random.default_rng(0), hidden=5)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x, m = c.sample(rng, 8)
        c.update(x, m, rng.normal(size=8))
    d, rng2 = pickle.loads(pickle.dumps((c, rng)))
    for ctrl, g in ((c, rng), (d, rng2)):
        x, m = ctrl.sample(g, 8)
        ctrl.update(x, None, np.arange(8.0) - 3.5)  # masks None: every choice open, as drawn
    np.testing.assert_array_equal(c.sample(rng, 8)[0], d.sample(rng2, 8)[0])


def test_bad_shapes_are_named() -> None:
    with pytest.raises(SpecError, match=r"controller\.cards: must be positive integers, got \[3, 0\]"):
        SoftmaxController((3, 0))
    with pytest.raises(SpecError, match=r"controller\.hidden: must be an integer >= 1, got 0"):
        LstmController((3,), rng=np.random.default_rng(0), hidden=0)
    with pytest.raises(SpecError, match=r"controller: decision 0 has no allowed choice"):
        LstmController((3,), rng=np.random.default_rng(0)).sample(
            np.random.default_rng(0), 2, lambda step, prefix: np.zeros((len(prefix), 3), dtype=bool))
