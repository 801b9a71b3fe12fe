"""The benchmark's memoized Optuna TPE (benchmarks/optuna_tpe_memo.py) asks exactly the pairs Optuna's own does.

BENCHMARKS.md's default-TPE row at 10,000 pairs rests on this: the memoization only skips repeated
work, so its figures are Optuna's default TPE's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from coexplore.joint.problem import NB201GridProblem

pytestmark = [pytest.mark.usefixtures("module_cache"),
              pytest.mark.skipif(importlib.util.find_spec("optuna") is None,
                                 reason="Optuna's TPE needs the extra 'optuna'")]


def test_memoized_tpe_asks_the_same_pairs_as_optunas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_codesign_strategies as bench
    from optuna_tpe_memo import memoized

    problem = NB201GridProblem(design_stride=400)
    for seed in (0, 1):
        plain = bench.optuna_pairs(problem, "tpe", seed, 150)
        with memoized():
            fast = bench.optuna_pairs(problem, "tpe", seed, 150)
        assert np.array_equal(plain.arch, fast.arch) and np.array_equal(plain.hw, fast.hw)
        assert len({(tuple(a), tuple(h)) for a, h in zip(plain.arch, plain.hw, strict=True)}) > 100  # it searched
    import optuna.samplers._tpe.sampler as tpe
    from optuna.study import Study

    assert tpe._split_trials.__module__ == tpe.__name__  # Optuna's functions are back after the block
    assert tpe._get_infeasible_trial_score.__module__ == tpe.__name__
    assert Study._get_trials.__qualname__ == "Study._get_trials"
