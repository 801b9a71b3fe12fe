"""Training evaluator on scikit-learn's digits: seeded split, determinism, sensible accuracy."""

# ruff: noqa: E402  (imports after the optional-extra skip)
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the extra 'nas' (torch, scikit-learn)")

from coexplore.errors import SpecError
from coexplore.nas.blocks import BlockSpace
from coexplore.nas.chain import ChainSpace
from coexplore.nas.train import TrainingEvaluator, TrainingResult, digits_split, train_model

CHAINS = ChainSpace(dataset="digits")


def test_split_is_seeded_disjoint_and_standardised() -> None:
    a, b, c = digits_split(seed=1), digits_split(seed=1), digits_split(seed=2)
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_test, c.y_test)
    assert (len(a.y_train), len(a.y_test)) == (1348, 449) and a.x_train.shape[1:] == (1, 8, 8)
    assert abs(float(a.x_train.mean())) < 1e-5 and abs(float(a.x_train.std()) - 1.0) < 1e-4
    assert set(np.unique(a.y_test)) == set(range(10))
    with pytest.raises(SpecError, match="test_fraction: must be in"):
        digits_split(test_fraction=1.0)


def test_same_seed_same_result_and_callers_rng_untouched() -> None:
    arch = CHAINS.parse("k3c9-k3c18")
    threads = torch.get_num_threads()
    state = torch.get_rng_state()
    r1 = TrainingEvaluator(space=CHAINS, epochs=2, seed=3).train(arch)
    r2 = TrainingEvaluator(space=CHAINS, epochs=2, seed=3).train(arch)
    r3 = TrainingEvaluator(space=CHAINS, epochs=2, seed=4).train(arch)
    assert torch.equal(state, torch.get_rng_state()) and torch.get_num_threads() == threads
    assert (r1.accuracy, r1.final_loss) == (r2.accuracy, r2.final_loss)
    assert r3.final_loss != r1.final_loss
    assert isinstance(r1, TrainingResult) and r1.train_seconds > 0 and (r1.epochs, r1.seed) == (2, 3)


def test_a_reasonable_chain_learns_the_digits() -> None:
    ev = TrainingEvaluator(space=CHAINS, seed=0)
    acc = ev.evaluate([CHAINS.parse("k5c18-k3c36-k3c36")])
    assert acc.shape == (1,) and acc.dtype == np.float64
    assert acc[0] > 90.0
    assert ev.name == "train-digits:fnas-digits/10ep/seed0"


def test_block_space_model_trains_deterministically() -> None:
    space = BlockSpace.digits()
    arch = space.parse("k3e1|k3e3|k3e3|k3e3")
    ev = TrainingEvaluator(space=space, epochs=4, seed=0)
    a, b = ev.train(arch), ev.train(arch)
    assert a.accuracy == b.accuracy and a.final_loss == b.final_loss  # dropout is seeded too
    assert a.accuracy > 80.0


def test_spaces_that_do_not_fit_the_digits_are_refused() -> None:
    with pytest.raises(SpecError, match=r"input shape must be \(1, 1, 8, 8\) .* got \(1, 3, 32, 32\)"):
        TrainingEvaluator(space=ChainSpace(dataset="cifar10"))
    with pytest.raises(SpecError, match="epochs: must be a positive integer, got 0"):
        train_model(CHAINS.to_torch(CHAINS.parse("k3c9")), digits_split(), epochs=0)
