"""Problem kinds of a study, by name: their config keys, objectives, encoding and strategies.

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
from typing import Any

from coexplore.registry import Registry

__all__ = ["KINDS", "ProblemKind", "kind_strategies", "strategy_table"]


def _nas_names() -> list[str]:
    from coexplore.nas.strategies import NAS_STRATEGIES

    return NAS_STRATEGIES.names()


def _nas_defaults(name: str) -> dict[str, Any]:
    from coexplore.nas.strategies import generic_defaults

    return generic_defaults(name)


def _no_defaults(name: str) -> dict[str, Any]:
    return {}


def _hw_names() -> list[str]:
    from coexplore.hwsearch.search import STRATEGIES

    return list(STRATEGIES)


def _joint_names() -> list[str]:
    from coexplore.joint.registry import JOINT_STRATEGIES

    return list(JOINT_STRATEGIES)


@dataclass(frozen=True, slots=True)
class ProblemKind:
    """What a study config of one ``problem.kind`` may say."""

    name: str
    keys: frozenset[str]
    objectives: tuple[str, ...]
    default_objectives: tuple[str, ...]
    default_strategy: str
    own_strategies: Callable[[], list[str]]
    encoding: str | None  # categorical | box | declared (the problem's own) | None (own candidates only)
    accuracy_first: bool = False
    free_objectives: bool = False  # any names (a custom problem names its own)
    latency_unit: str = "cycles"  # of a stored latency objective
    generic_defaults: Callable[[str], dict[str, Any]] = _no_defaults  # a generic strategy's defaults in this kind


KINDS: Registry[ProblemKind] = Registry(kind="problem kind")


def _kind(k: ProblemKind) -> None:
    KINDS.register(k.name)(lambda: k)


_kind(ProblemKind(
    name="nas", keys=frozenset({"kind", "space", "dataset", "accuracy", "latency", "accelerator", "latency_file",
                                "framework", "max_latency_ms", "latency_percentile", "epochs"}),
    objectives=("accuracy", "latency"), default_objectives=("accuracy",), default_strategy="evolution",
    own_strategies=_nas_names, encoding="categorical", accuracy_first=True, generic_defaults=_nas_defaults,
    latency_unit="ms"))
_kind(ProblemKind(
    name="hwsearch", keys=frozenset({"kind", "networks", "budget", "mode", "mapper"}),
    objectives=("edp", "energy", "latency", "edap", "area"), default_objectives=("edp",), default_strategy="naas",
    own_strategies=_hw_names, encoding="box"))
_kind(ProblemKind(
    name="mapping", keys=frozenset({"kind", "network", "accelerator", "mapper"}),
    objectives=("edp", "energy", "latency"),
    default_objectives=("edp",), default_strategy="layers", own_strategies=lambda: ["layers"], encoding=None))
_kind(ProblemKind(
    name="codesign", keys=frozenset({"kind", "space", "dataset", "accuracy_epochs", "accelerators", "design_stride",
                                     "max_latency_cycles", "max_area_mm2", "board", "timing_ms", "epochs", "prune",
                                     "max_layers"}),
    objectives=("accuracy", "latency", "energy", "area", "edp", "edap", "perf_per_area"),
    default_objectives=("accuracy", "edp"), default_strategy="naas", own_strategies=_joint_names,
    encoding="categorical", accuracy_first=True))


_kind(ProblemKind(
    name="custom", keys=frozenset({"kind", "class"}), objectives=(), default_objectives=(), default_strategy="random",
    own_strategies=lambda: [], encoding="declared", free_objectives=True, latency_unit=""))


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
        own, generic = kind_strategies(k)
        rows = [{"name": n, "origin": "own", "description": _own_description(k, n)} for n in own]
        defaults = KINDS.get(k).generic_defaults
        for n in generic:
            enc = next(e for e, reg in REGISTRIES.items() if n in reg)
            given = ", ".join(f"{p}={str(v).lower() if isinstance(v, bool) else v}" for p, v in defaults(n).items())
            rows.append({"name": n, "origin": f"generic ({enc})", "description": REGISTRIES[enc].describe(n)
                         + (f" ({k} defaults: {given})" if given else "")})
        out[k] = rows
    return out


def _own_description(kind: str, name: str) -> str:
    if kind == "nas":
        from coexplore.nas.strategies import NAS_STRATEGIES

        return NAS_STRATEGIES.describe(name)
    if kind == "codesign":
        from coexplore.joint.registry import describe_joint_strategy

        return describe_joint_strategy(name)
    if kind == "hwsearch":
        from coexplore.hwsearch.search import STRATEGY_DESCRIPTIONS

        return STRATEGY_DESCRIPTIONS[name]
    if kind == "mapping":
        return "one trial maps one distinct layer shape with the problem's mapper"
    return ""
