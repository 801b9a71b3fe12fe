"""Optuna's default (independent) TPE, sampling the very same values, in a time a 10,000-trial run allows.

Optuna 5.1's ``TPESampler`` samples each of a trial's parameters on its own, and for every one it
splits all past trials into good and bad (``_split_trials``, a multi-objective non-dominated sort)
and reads every past trial's value of that parameter in a Python loop (``_get_internal_repr``):
with 12 parameters that is 24 passes over all trials per trial, about 3-4 h for one 10,000-trial
run here. Within one trial the 12 splits see the same finished trials and give the same answer, and
a finished trial's values never change, so :func:`memoized` computes the split once per trial and
reads the values from arrays filled once per trial; likewise a finished trial's infeasibility score
(read by every split) and the by-state filter of Optuna's per-trial cache of all trials (done once per
parameter) are computed once. Every random draw and every density is
Optuna's own: the pairs asked are identical to the unpatched sampler's (checked by
``tests/test_bench_optuna_memo.py`` and by :func:`main` on any seed and length).

Benchmarks only: this patches two private Optuna functions for the duration of a ``with`` block.

    python benchmarks/optuna_tpe_memo.py --trials 1000 --seed 0   # identical pairs, both timings
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np


class _Column:
    """One parameter's internal values by trial number, read once per trial."""

    def __init__(self) -> None:
        self.values, self.present, self.done = np.zeros(0), np.zeros(0, bool), np.zeros(0, bool)
        self.ints = True  # np.asarray of Optuna's list would be an integer array (categorical indices)

    def read(self, trials: list[Any], numbers: np.ndarray, name: str, dist: Any) -> tuple[np.ndarray, np.ndarray]:
        size = int(numbers.max()) + 1 if len(numbers) else 0
        if size > len(self.done):
            pad = size - len(self.done)
            self.values = np.concatenate([self.values, np.zeros(pad)])
            self.present = np.concatenate([self.present, np.zeros(pad, bool)])
            self.done = np.concatenate([self.done, np.zeros(pad, bool)])
        for i in np.flatnonzero(~self.done[numbers]):  # trials seen for the first time
            t, n = trials[i], int(numbers[i])
            if name in t.params:
                v = dist.to_internal_repr(t.params[name])
                self.ints &= isinstance(v, (int, np.integer))
                self.values[n], self.present[n] = v, True
            self.done[n] = True
        return (self.values.astype(np.int64) if self.ints else self.values), self.present


@contextlib.contextmanager
def memoized() -> Iterator[None]:
    """Within the block, Optuna's independent TPE reuses a trial's split and past values (same results)."""
    import optuna.samplers._tpe.sampler as tpe
    from optuna.study import Study

    split_orig, repr_orig = tpe._split_trials, tpe.TPESampler._get_internal_repr
    score_orig, get_trials_orig = tpe._get_infeasible_trial_score, Study._get_trials
    scores: dict[int, tuple[Any, float]] = {}  # id(trial) -> (trial, score): held, so that no id is reused
    filtered: dict[str, Any] = {}
    last: dict[str, Any] = {}
    columns: dict[tuple[int, str], _Column] = {}
    studies: dict[int, Any] = {}  # held for the block, so that no other study takes a cached id

    def split(study: Any, trials: list[Any], n_below: int) -> tuple[list[Any], list[Any]]:
        # The sampler asks for finished trials only (no constant liar), so the list only grows:
        # its length names it. The same list objects are returned; the sampler only reads them.
        studies.setdefault(id(study), study)
        key = (id(study), n_below, len(trials))
        if last.get("key") != key:
            below, above = split_orig(study, trials, n_below)
            numbers = {id(x): np.fromiter((t.number for t in x), np.int64, len(x)) for x in (below, above)}
            last.update(key=key, value=(below, above), numbers=numbers)
        return last["value"]  # type: ignore[no-any-return]

    def internal_repr(self: Any, trials: list[Any], search_space: dict[str, Any], study: Any) -> dict[str, np.ndarray]:
        numbers = last.get("numbers", {}).get(id(trials))
        if self._is_multivariate(study) or numbers is None:
            return repr_orig(self, trials, search_space, study)  # type: ignore[no-any-return]
        cols = {name: columns.setdefault((id(study), name), _Column()).read(trials, numbers, name, dist)
                for name, dist in search_space.items()}
        keep = np.ones(len(numbers), bool)
        for _, present in cols.values():
            keep &= present[numbers]
        return {name: values[numbers[keep]] for name, (values, _) in cols.items()}

    def infeasible_score(trial: Any) -> float:
        # A finished trial's constraints never change; the split asks for every trial's once per trial.
        hit = scores.get(id(trial))
        if hit is None or hit[0] is not trial:
            hit = scores[id(trial)] = (trial, score_orig(trial))
        return hit[1]  # type: ignore[no-any-return]

    def get_trials(self: Any, deepcopy: bool = True, states: Any = None, use_cache: bool = False) -> list[Any]:
        # Optuna filters its per-trial cache of all trials by state once per parameter; the cache is a new
        # list after every tell, so the list object (held here) and the states name the answer.
        cache = self._thread_local.cached_all_trials
        if not use_cache or deepcopy or states is None or cache is None:
            return get_trials_orig(self, deepcopy=deepcopy, states=states, use_cache=use_cache)  # type: ignore[no-any-return]
        key = (id(self), tuple(states))
        if filtered.get("cache") is not cache or filtered.get("key") != key:
            filtered.update(cache=cache, key=key, value=get_trials_orig(self, deepcopy=False, states=states,
                                                                          use_cache=True))
        return filtered["value"]  # type: ignore[no-any-return]

    targets = [(tpe, "_split_trials", split), (tpe.TPESampler, "_get_internal_repr", internal_repr),
               (tpe, "_get_infeasible_trial_score", infeasible_score), (Study, "_get_trials", get_trials)]
    originals = [getattr(owner, name) for owner, name, _ in targets]
    for owner, name, patch in targets:
        setattr(owner, name, patch)
    try:
        yield
    finally:
        for (owner, name, _), original in zip(targets, originals, strict=True):
            setattr(owner, name, original)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from bench_codesign_strategies import optuna_pairs

    from coexplore.joint.problem import NB201GridProblem

    problem = NB201GridProblem(progress=True)
    t = time.perf_counter()
    plain = optuna_pairs(problem, "tpe", args.seed, args.trials)
    t_plain = time.perf_counter() - t
    t = time.perf_counter()
    with memoized():
        fast = optuna_pairs(problem, "tpe", args.seed, args.trials)
    t_fast = time.perf_counter() - t
    same = np.array_equal(plain.arch, fast.arch) and np.array_equal(plain.hw, fast.hw)
    print(f"{args.trials} trials, seed {args.seed}: Optuna's TPE {t_plain:.1f} s, memoized {t_fast:.1f} s "
          f"({t_plain / t_fast:.1f}x); identical pairs: {same}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
