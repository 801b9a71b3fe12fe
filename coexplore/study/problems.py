"""Turn a :class:`~coexplore.study.config.StudyConfig` into a problem and a fresh strategy.

The same config always builds the same problem and the same (seeded) strategy, which
is what lets ``study resume`` rebuild a study from its stored config.
"""

from __future__ import annotations

from typing import Any

from coexplore.errors import SpecError
from coexplore.search.strategy import Strategy
from coexplore.study.config import StudyConfig
from coexplore.study.kinds import KINDS, kind_strategies

__all__ = ["build_problem", "build_strategy", "is_generic", "resolve_config", "search_problem"]


def resolve_config(config: StudyConfig) -> StudyConfig:
    """``config`` with what depends on this machine fixed, as it is stored with a new study (e.g. codesign's
    ``accuracy_epochs: auto`` becomes the column the data directory has), so a study keeps what it started
    with wherever it is resumed."""
    return KINDS.get(config.kind).resolve(config)


def build_problem(config: StudyConfig, *, progress: bool = True) -> Any:
    """The problem of ``config`` (evaluated in one process; the study parallelises over candidates);
    ``progress``: bars on stderr while it is built (a cold cost table takes minutes)."""
    return KINDS.get(config.kind).build(config, progress=progress)


def is_generic(config: StudyConfig) -> bool:
    """True when ``config``'s strategy is a generic one (not the kind's own of that name)."""
    own, generic = kind_strategies(config.kind)
    return config.strategy not in own and config.strategy in generic


def search_problem(config: StudyConfig, problem: Any) -> Any:
    """The problem the study's strategy searches: ``problem`` itself, or ``problem`` seen in the other
    encoding when a generic strategy made for that one was chosen (decided by the config alone, so a
    resumed study bridges the same way)."""
    if not is_generic(config):
        return problem
    from coexplore.search.encoding import bridge, encoding_of
    from coexplore.search.registry import made_for

    enc = encoding_of(problem)
    if enc is None:
        raise SpecError(f"strategy.name: {config.strategy} is a generic strategy; a {config.kind} problem declares no "
                        f"encoding for it")
    return bridge(problem, made_for(config.strategy, enc.kind))


def build_strategy(config: StudyConfig, problem: Any) -> Strategy:
    """A fresh, seeded strategy set up on ``problem`` (for a generic strategy: :func:`search_problem`'s) with the
    study's budget: a strategy that cannot search the problem fails here, before the first trial."""
    params = dict(config.strategy_params)
    if is_generic(config):
        from coexplore.search.registry import make_strategy

        params = {**KINDS.get(config.kind).generic_defaults(config.strategy), **params}
        strategy, _ = make_strategy(config.strategy, problem, seed=config.seed, budget=config.trials, params=params)
        return strategy
    strategy = KINDS.get(config.kind).own_strategy(config, problem, params)
    strategy.bind(problem, config.trials)
    return strategy

