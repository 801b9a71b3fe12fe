"""A stored study as a Python object: create it (from a config or from Python objects), optimize it,
resume it, and read its trials back typed.

The CLI's ``study run`` / ``resume`` / ``show`` are the same operations. A study of a problem
written in Python (kind ``custom``) stores the problem's class name; the problem object is given
again to :meth:`Study.optimize`, and one of another class is refused, as is a config that differs
from the stored one. Nothing stored is touched by a refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.errors import StudyError
from coexplore.search.pareto import non_dominated
from coexplore.search.trial import Trial, TrialState
from coexplore.study.config import StudyConfig, load_config
from coexplore.study.problems import resolve_config
from coexplore.study.storage import open_storage
from coexplore.study.study import StudySummary, refuse_other_config, resume_study

__all__ = ["Study"]

DEFAULT_STORAGE = "sqlite:///coexplore-studies.db"


def _class_name(problem: Any) -> str:
    cls = type(problem)
    return f"{cls.__module__}.{cls.__qualname__}"


class Study:
    """A named study in a storage URL (``sqlite:///file.db``, ``postgresql://...``)."""

    def __init__(self, name: str, *, storage: str = DEFAULT_STORAGE) -> None:
        self.name, self.storage = name, storage

    # -- creating ---------------------------------------------------------------------------
    @classmethod
    def create(cls, name: str, *, storage: str = DEFAULT_STORAGE, config: StudyConfig | dict[str, Any] | str |
               Path | None = None, problem: Any = None, strategy: str = "random",
               params: dict[str, Any] | None = None, trials: int = 100, seed: int = 0) -> Study:
        """Create the study (or find it, if it exists with the same config).

        Either ``config`` (a :class:`StudyConfig`, its dict, or a YAML path) or ``problem``: any
        object with ``objectives``, ``evaluate`` and ``describe`` that declares an ``encoding``
        (:mod:`coexplore.search.encoding`), searched by a generic ``strategy``
        (``coexplore list strategies``) with ``params``, for ``trials`` evaluations.
        """
        if config is not None:
            cfg = config if isinstance(config, StudyConfig) else load_config(config) if isinstance(
                config, (str, Path)) else StudyConfig.from_dict(config, source="config")
        elif problem is not None:
            cfg = StudyConfig.from_dict({
                "problem": {"kind": "custom", "class": _class_name(problem)},
                "objectives": list(problem.objectives), "strategy": {"name": strategy, "params": dict(params or {})},
                "budget": {"trials": trials}, "seed": seed}, source="study")
        else:
            raise StudyError(f"study {name!r}: give a config or a problem, got neither")
        cfg = resolve_config(cfg)
        store = open_storage(storage)
        try:
            try:
                info = store.study(name)
            except StudyError:
                store.create_study(name, cfg.to_dict(), cfg.objectives, cfg.directions)
            else:
                refuse_other_config(name, storage, info.config, cfg.to_dict())
        finally:
            store.close()
        return cls(name, storage=storage)

    @classmethod
    def load(cls, name: str, *, storage: str = DEFAULT_STORAGE) -> Study:
        """An existing study (StudyError naming the study and storage if there is none)."""
        store = open_storage(storage, must_exist=True)
        try:
            store.study(name)
        finally:
            store.close()
        return cls(name, storage=storage)

    # -- running ----------------------------------------------------------------------------
    def optimize(self, *, problem: Any = None, jobs: int | None = 1, backend: str = "local",
                 progress: bool = False) -> StudySummary:
        """Run (or go on running) the study to its budget; a custom problem is passed again here."""
        cfg = self.config
        if cfg.kind == "custom":
            if problem is None:
                raise StudyError(f"study {self.name!r}: its problem ({cfg.problem['class']}) is a Python object; "
                                 f"pass it as optimize(problem=...)")
            if _class_name(problem) != cfg.problem["class"]:
                raise StudyError(f"study {self.name!r}: was created for problem {cfg.problem['class']}, got "
                                 f"{_class_name(problem)}; nothing was changed")
            if tuple(problem.objectives) != cfg.objectives:
                raise StudyError(f"study {self.name!r}: stored objectives {list(cfg.objectives)}, the problem has "
                                 f"{list(problem.objectives)}; nothing was changed")
        return resume_study(self.name, storage=self.storage, jobs=jobs, backend=backend, progress=progress,
                            problem=problem)

    # -- reading ----------------------------------------------------------------------------
    @property
    def config(self) -> StudyConfig:
        store = open_storage(self.storage, must_exist=True)
        try:
            info = store.study(self.name)
        finally:
            store.close()
        return StudyConfig.from_dict(info.config, source=f"study {self.name!r} config")

    @property
    def trials(self) -> list[Trial]:
        """Every stored trial, in order (values in the objectives' own sense: accuracy as a percentage)."""
        store = open_storage(self.storage, must_exist=True)
        try:
            return store.trials(self.name)
        finally:
            store.close()

    def best(self) -> list[Trial]:
        """The complete trials on the Pareto front (the best one for a single objective)."""
        done = [t for t in self.trials if t.state is TrialState.COMPLETE]
        if not done:
            return []
        signs = np.array([-1.0 if d == "maximize" else 1.0 for d in self.config.directions])
        values = np.array([t.values for t in done], dtype=np.float64) * signs
        if values.shape[1] == 1:
            return [done[int(np.argmin(values[:, 0]))]]
        keep: Sequence[int] = np.flatnonzero(non_dominated(values)).tolist()
        return [done[i] for i in keep]

    def __repr__(self) -> str:
        return f"Study({self.name!r}, storage={self.storage!r})"
