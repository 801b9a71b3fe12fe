"""Study kind ``custom``: a problem given as a Python object (its class is recorded; it is passed again to resume)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coexplore.errors import StudyError
from coexplore.study.kinds import ProblemKind, register
from coexplore.study.kinds._checks import string

if TYPE_CHECKING:
    from coexplore.search.strategy import Strategy
    from coexplore.study.config import StudyConfig


def _check(p: dict[str, Any], path: str) -> list[str]:
    errs: list[str] = []
    string(errs, p, path, "class", kind="custom", required=True)
    return errs


def _build(config: StudyConfig, *, progress: bool = True) -> Any:
    raise StudyError(f"problem.kind: custom: the problem ({config.problem.get('class', '?')}) is a Python object; "
                     f"pass it again, e.g. Study.load(name, storage=...).optimize(problem=...)")


def _no_strategy(config: StudyConfig, problem: Any, params: dict[str, Any]) -> Strategy:
    raise StudyError(f"strategy.name: a custom problem has no strategies of its own, got {config.strategy!r}")


register(ProblemKind(
    name="custom", keys=frozenset({"kind", "class"}), objectives=(), default_objectives=(), default_strategy="random",
    own_strategies=lambda: [], encoding="declared", check=_check, build=_build, own_strategy=_no_strategy,
    describe=lambda name: "", free_objectives=True, latency_unit=""))
