"""Problem kinds of a study, by name: their config keys, objectives, encoding and strategies.

A kind's strategies are its own (the seed methods and baselines written for that problem,
read from the domain's registry) plus every generic strategy of
:mod:`coexplore.search.registry` when the kind's problem declares an encoding. Where both
have a name (``random``, ``evolution``, ``reinforce``, ``nsga2``), the kind's own strategy is
the one a study runs: it knows the problem (e.g. NAS random never proposes a network twice,
hwsearch strategies start from the preset's encoding).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coexplore.registry import Registry

__all__ = ["KINDS", "ProblemKind", "kind_strategies", "strategy_table"]


def _nas_names() -> list[str]:
    from coexplore.nas.strategies import NAS_STRATEGIES

    return NAS_STRATEGIES.names()


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


KINDS: Registry[ProblemKind] = Registry(kind="problem kind")


def _kind(k: ProblemKind) -> None:
    KINDS.register(k.name)(lambda: k)


_kind(ProblemKind(
    name="nas", keys=frozenset({"kind", "space", "dataset", "accuracy", "latency", "accelerator", "latency_file",
                                "framework", "max_latency_ms", "latency_percentile", "epochs"}),
    objectives=("accuracy", "latency"), default_objectives=("accuracy",), default_strategy="evolution",
    own_strategies=_nas_names, encoding="categorical", accuracy_first=True))
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
                                     "max_layers", "precisions", "accuracy_drop"}),
    objectives=("accuracy", "latency", "energy", "area", "edp", "edap", "perf_per_area"),
    default_objectives=("accuracy", "edp"), default_strategy="naas", own_strategies=_joint_names,
    encoding="categorical", accuracy_first=True))


_kind(ProblemKind(
    name="custom", keys=frozenset({"kind", "class"}), objectives=(), default_objectives=(), default_strategy="random",
    own_strategies=lambda: [], encoding="declared", free_objectives=True))


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
        for n in generic:
            enc = next(e for e, reg in REGISTRIES.items() if n in reg)
            rows.append({"name": n, "origin": f"generic ({enc})", "description": REGISTRIES[enc].describe(n)})
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
