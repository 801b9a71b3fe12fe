"""Problem kinds of a study, by name: their config keys and checks, objectives, encoding, how the problem and
the kind's own strategies are built, and how a report shows them.

Each kind is one module of this package (``nas``, ``hwsearch``, ``mapping``, ``codesign``, ``custom``)
that registers a :class:`ProblemKind`; ``study/`` and ``report/`` look kinds up here instead of
branching on their names, so a new kind is one module.

A kind's strategies are its own (the seed methods and baselines written for that problem,
read from the domain's registry) plus every generic strategy of
:mod:`coexplore.search.registry` when the kind's problem declares an encoding. Where both
have a name (codesign's ``random`` pairs, hwsearch's ``random`` and ``nsga2``), the kind's own
strategy is the one a study runs: it knows the problem (codesign samples feasible designs,
hwsearch starts from the preset's encoding). A kind may instead give a generic strategy its
own defaults (``generic_defaults``): network search has no ``random``, ``evolution`` or
``reinforce`` of its own (only ``brp``), and runs the generic ones with no network proposed
twice (random, evolution) and one network per batch for evolution
(:data:`coexplore.nas.strategies.GENERIC_DEFAULTS`); ``coexplore list strategies`` shows them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coexplore.registry import Registry

if TYPE_CHECKING:
    from coexplore.search.strategy import Strategy
    from coexplore.study.config import StudyConfig

__all__ = ["KINDS", "ProblemKind", "kind_strategies", "register", "strategy_table"]


def _no_defaults(name: str) -> dict[str, Any]:
    return {}


def _as_given(config: StudyConfig) -> StudyConfig:
    return config


@dataclass(frozen=True, slots=True)
class ProblemKind:
    """What a study config of one ``problem.kind`` may say, and how its problem and own strategies are built.

    Attributes:
        check: ``(problem mapping, its path in the config)`` -> messages naming each bad field and value.
        build: The problem of a (valid, resolved) config.
        own_strategy: ``(config, problem, params)`` -> one of the kind's own strategies (not yet bound).
        describe: One line about one of the kind's own strategies.
        resolve: The config with what depends on this machine fixed, as a new study stores it.
        encoding: categorical | box | declared (the problem's own) | None (own candidates only).
    """

    name: str
    keys: frozenset[str]
    objectives: tuple[str, ...]
    default_objectives: tuple[str, ...]
    default_strategy: str
    own_strategies: Callable[[], list[str]]
    encoding: str | None
    check: Callable[[dict[str, Any], str], list[str]]
    build: Callable[..., Any]  # (config, *, progress=True): progress bars of a long build (a cost table)
    own_strategy: Callable[[StudyConfig, Any, dict[str, Any]], Strategy]
    describe: Callable[[str], str]
    resolve: Callable[[StudyConfig], StudyConfig] = _as_given
    accuracy_first: bool = False
    free_objectives: bool = False  # any names (a custom problem names its own)
    latency_unit: str = "cycles"  # of a stored latency objective
    generic_defaults: Callable[[str], dict[str, Any]] = _no_defaults  # a generic strategy's defaults in this kind


KINDS: Registry[ProblemKind] = Registry(kind="problem kind")


def register(k: ProblemKind) -> None:
    """Make kind ``k`` known to study configs, the study driver, ``coexplore list strategies`` and reports."""
    KINDS.register(k.name)(lambda: k)


def kind_strategies(kind: str) -> tuple[list[str], list[str]]:
    """(the kind's own strategy names, the generic names it also accepts) for ``kind``."""
    k = KINDS.get(kind)
    own = k.own_strategies()
    if k.encoding is None:
        return own, []
    from coexplore.search.registry import generic_names

    return own, [n for n in generic_names() if n not in own]


def strategy_table(kind: str | None = None) -> dict[str, list[dict[str, str]]]:
    """Per problem kind (or just ``kind``), its strategies: ``name``, ``origin`` (``own``: written for
    that problem; ``generic``: any problem with an encoding, natively ``categorical`` or ``box``) and a
    one-line ``description``."""
    from coexplore.search.registry import REGISTRIES

    kinds = [KINDS.get(kind).name] if kind is not None else KINDS.names()
    out: dict[str, list[dict[str, str]]] = {}
    for k in kinds:
        pk = KINDS.get(k)
        own, generic = kind_strategies(k)
        rows = [{"name": n, "origin": "own", "description": pk.describe(n)} for n in own]
        for n in generic:
            enc = next(e for e, reg in REGISTRIES.items() if n in reg)
            given = ", ".join(f"{p}={str(v).lower() if isinstance(v, bool) else v}"
                              for p, v in pk.generic_defaults(n).items())
            rows.append({"name": n, "origin": f"generic ({enc})", "description": REGISTRIES[enc].describe(n)
                         + (f" ({k} defaults: {given})" if given else "")})
        out[k] = rows
    return out


# the kinds coexplore ships (each module registers its kind)
from coexplore.study.kinds import codesign, custom, hwsearch, mapping, nas  # noqa: E402,F401
