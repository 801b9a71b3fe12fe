"""Generic strategies by name, one registry per encoding (categorical vectors, box of reals).

A generic strategy searches any problem that declares an encoding
(:mod:`coexplore.search.encoding`): natively when it was made for that encoding, otherwise
through :func:`~coexplore.search.encoding.bridge`. Constructors take the seed and
hyper-parameters only; :func:`make_strategy` validates the parameters against the
constructor, binds the strategy with ``setup(problem, budget)`` and returns the problem the
study must evaluate (the bridged one when the encodings differ). Seed methods written for one
problem (NAAS, FNAS, DANCE, BRP-NAS, Codesign-NAS) stay in their domain packages.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from coexplore.errors import SpecError
from coexplore.registry import Registry
from coexplore.search.encoding import bridge, encoding_of
from coexplore.search.strategy import Strategy

__all__ = ["BOX", "CATEGORICAL", "REGISTRIES", "generic_names", "made_for", "make_strategy", "strategy_parameters"]

Factory = Callable[..., Strategy]
CATEGORICAL: Registry[Factory] = Registry(kind="categorical strategy")
BOX: Registry[Factory] = Registry(kind="box strategy")
REGISTRIES = {"categorical": CATEGORICAL, "box": BOX}


@CATEGORICAL.register("random", "uniform random decision vectors")
def _random_choices() -> Factory:
    from coexplore.search.choices import RandomChoices

    return RandomChoices


@CATEGORICAL.register("evolution", "aging (regularized) evolution: tournament, one decision mutated, oldest dies")
def _evolution() -> Factory:
    from coexplore.search.choices import AgingEvolution

    return AgingEvolution


@CATEGORICAL.register("reinforce", "REINFORCE on a factorised softmax policy with a moving baseline")
def _reinforce() -> Factory:
    from coexplore.search.choices import ReinforceChoices

    return ReinforceChoices


@CATEGORICAL.register("nsga2", "NSGA-II: non-dominated sorting, crowding, uniform crossover, resampling mutation")
def _nsga2_choices() -> Factory:
    from coexplore.search.choices import Nsga2Choices

    return Nsga2Choices


@CATEGORICAL.register("trees-ucb", "extremely randomized trees on one-hot vectors, lower confidence bound (needs "
                                   "scikit-learn)")
def _trees_ucb() -> Factory:
    from coexplore.search.surrogate import TreesUcb

    return TreesUcb


@BOX.register("random", "uniform random vectors in [0, 1]^d")
def _random_vectors() -> Factory:
    from coexplore.search.vector import RandomVectors

    return RandomVectors


@BOX.register("cma-es", "CMA-ES (cma package) with IPOP restarts; several objectives ranked by Pareto front")
def _cmaes() -> Factory:
    from coexplore.search.vector import CmaEs

    return CmaEs


@BOX.register("nsga2", "NSGA-II with SBX crossover and polynomial mutation")
def _nsga2_vectors() -> Factory:
    from coexplore.search.vector import Nsga2

    return Nsga2


def _optuna(sampler: str) -> Factory:
    from coexplore.search.optuna_strategy import OptunaStrategy

    return functools.partial(OptunaStrategy, sampler=sampler)


for _reg in (CATEGORICAL, BOX):  # Optuna handles both encodings natively
    _reg.register("optuna-tpe", "Optuna's TPE sampler (extra optuna)")(functools.partial(_optuna, "tpe"))
    _reg.register("optuna-nsga2", "Optuna's NSGA-II sampler (extra optuna)")(functools.partial(_optuna, "nsga2"))


def generic_names() -> list[str]:
    """Every generic strategy name (each runs on every problem with an encoding)."""
    return list(dict.fromkeys([*CATEGORICAL.names(), *BOX.names()]))


def _factory(name: str, encoding: str) -> tuple[Factory, str]:
    """The factory of ``name``: made for ``encoding`` if registered there, else for the other one."""
    other = "box" if encoding == "categorical" else "categorical"
    for enc in (encoding, other):
        if name in REGISTRIES[enc]:
            return REGISTRIES[enc].get(name), enc
    raise SpecError(f"strategy: unknown generic strategy {name!r}; valid: {', '.join(generic_names())}")


def made_for(name: str, encoding: str) -> str:
    """The encoding generic strategy ``name`` runs natively on when a problem's is ``encoding``."""
    return _factory(name, encoding)[1]


def strategy_parameters(name: str, encoding: str = "categorical") -> list[str]:
    """The hyper-parameters strategy ``name`` accepts (besides ``seed``)."""
    factory, _ = _factory(name, encoding)
    fixed = factory.keywords if isinstance(factory, functools.partial) else {}
    target = factory.func if isinstance(factory, functools.partial) else factory
    return [k for k in inspect.signature(target).parameters if k not in ("seed", "dim", *fixed)]


def make_strategy(name: str, problem: Any, *, seed: int = 0, budget: int | None = None,
                  params: dict[str, Any] | None = None, levels: int = 16) -> tuple[Strategy, Any]:
    """Generic strategy ``name`` set up on ``problem``; returns it and the problem to evaluate.

    ``levels``: points per coordinate when a categorical strategy searches a box problem.
    Raises SpecError before anything runs when the problem has no encoding, the name is
    unknown (the valid ones named) or a parameter is not the strategy's.
    """
    enc = encoding_of(problem)
    if enc is None:
        raise SpecError(f"strategy {name}: generic strategies search problems with a categorical or box encoding; "
                        f"{type(problem).__name__} declares none")
    factory, made_for = _factory(name, enc.kind)
    params = dict(params or {})
    valid = strategy_parameters(name, enc.kind)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise SpecError(f"strategy.params: unknown {', '.join(unknown)} for {name}; "
                        f"valid: {', '.join(valid) or 'none'}")
    target = bridge(problem, made_for, levels=levels)
    strategy = factory(seed=seed, **params)
    strategy.bind(target, budget)
    return strategy, target
