"""What a report shows, computed once from a stored study: trials, front, convergence, best designs.

Everything here is read-only (the storage is opened with ``must_exist=True`` and only
read) and returns frozen records, so every export (CSV, JSON, plots, HTML) draws the
same numbers.

Conventions:

* Values are in the objectives' own sense (accuracy not negated), as stored.
* The Pareto front is taken over the COMPLETE trials with finite values, each objective
  minimised or maximised as its direction says; duplicated points are all kept.
* The convergence curve is, after each trial in trial-number order, the best value of
  the first objective so far (NaN until the first COMPLETE trial). With several
  objectives it also carries the hypervolume of the first two objectives so far,
  normalised to the box between the ideal point (best value of each objective over the
  study) and a reference point 10 % of the range beyond the worst value of each (one unit
  beyond it when the range is zero). The normalised hypervolume is a fraction in [0, 1):
  scale-free, so curves of one study read the same whatever the objectives' units.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.report.designs import DesignReport, best_designs
from coexplore.search.pareto import hypervolume_2d, non_dominated
from coexplore.search.trial import Trial, TrialState
from coexplore.study.storage import StudyInfo, open_storage

__all__ = ["Convergence", "ReportData", "build_report_data", "convergence", "objective_unit", "pareto_front",
           "ranked_best"]

BEST_LIST = 20
"""How many trials the best list of a single-objective study shows."""
REFERENCE_MARGIN = 0.1
"""The hypervolume reference point lies this fraction of the range beyond the worst value."""

_UNITS = {"accuracy": "%", "energy": "pJ", "edp": "pJ·cycles", "edap": "pJ·cycles·mm²", "area": "mm²",
          "perf_per_area": "img/s/cm²"}


def study_kind(config: dict[str, Any]) -> str:
    """The problem kind a stored study config names ("" if it names none)."""
    return str(config.get("problem", {}).get("kind", ""))


def objective_unit(kind: str, objective: str) -> str:
    """The unit of an objective's stored values (a latency's is its problem kind's: ms for NAS, cycles for
    the accelerator kinds, none named for a custom problem)."""
    if objective == "latency":
        from coexplore.study.kinds import KINDS

        return KINDS.get(kind).latency_unit if kind in KINDS else ""
    return _UNITS.get(objective, "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Convergence:
    """The search's progress after each trial (``numbers`` in trial order).

    ``best`` is the best first-objective value so far (NaN before the first COMPLETE trial);
    ``hypervolume`` (several objectives only) the normalised 2-D hypervolume of the first two
    objectives so far, with ``ideal`` and ``reference`` the box it is normalised to, in the
    objectives' own sense.
    """

    numbers: tuple[int, ...]
    best: tuple[float, ...]
    hypervolume: tuple[float, ...] | None = None
    ideal: tuple[float, float] | None = None
    reference: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportData:
    """A study as the report shows it: its stored identity (``study``) and what is computed from its trials.

    ``front`` and ``best`` are trial numbers: ``best`` is ranked best first (the top
    :data:`BEST_LIST` trials of a single objective, or the whole front ordered by the first
    objective). ``designs`` are the detailed ones (:func:`ranked_best` with the report's
    ``top``; for a mapping study, the mapped network itself).
    """

    study: StudyInfo
    trials: tuple[Trial, ...]
    front: tuple[int, ...]
    best: tuple[int, ...]
    convergence: Convergence
    designs: tuple[DesignReport, ...]

    @property
    def kind(self) -> str:
        """The problem kind of the study's config (``nas``, ``hwsearch``, ``mapping``)."""
        return study_kind(self.study.config)

    @property
    def searched(self) -> bool:
        """Whether the trials are competing points of one search (a front and a convergence curve
        mean something); a mapping study's trials are the layer shapes of one network."""
        return self.kind != "mapping"

    @property
    def counts(self) -> dict[str, int]:
        """Trials per finished state (every one listed, zero included; storage gives finished trials only)."""
        c = Counter(t.state.value for t in self.trials)
        return {s.value: c.get(s.value, 0) for s in TrialState if s.finished}

    @property
    def complete(self) -> tuple[Trial, ...]:
        return tuple(t for t in self.trials if t.state is TrialState.COMPLETE and _finite(t))

    def trial(self, number: int) -> Trial:
        for t in self.trials:
            if t.number == number:
                return t
        raise SpecError(f"trial: no trial number {number} in study {self.study.name!r}")

    def reasons(self, limit: int = 5) -> list[tuple[str, int]]:
        """The most common reasons of non-COMPLETE trials, with their counts."""
        c = Counter(t.reason or "(no reason given)" for t in self.trials if t.state is not TrialState.COMPLETE)
        return c.most_common(limit)


def _finite(t: Trial) -> bool:
    return bool(t.values) and all(np.isfinite(v) for v in t.values)


def _signs(directions: tuple[str, ...]) -> np.ndarray:
    return np.array([-1.0 if d == "maximize" else 1.0 for d in directions])


def pareto_front(trials: tuple[Trial, ...] | list[Trial], directions: tuple[str, ...]) -> tuple[int, ...]:
    """Numbers of the non-dominated COMPLETE trials (in trial order)."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and _finite(t)]
    if not done:
        return ()
    signed = np.array([t.values for t in done], dtype=np.float64) * _signs(directions)
    return tuple(t.number for t, keep in zip(done, non_dominated(signed)) if keep)


def ranked_best(trials: tuple[Trial, ...] | list[Trial], directions: tuple[str, ...], front: tuple[int, ...],
                *, limit: int) -> tuple[int, ...]:
    """Up to ``limit`` trial numbers worth detailing, best first.

    One objective: the top ``limit`` trials. Several: the front ordered by the first
    objective; if it is longer than ``limit``, ``limit`` of them evenly spread along that
    order (both extremes included), so the detailed designs span the trade-off.
    """
    if limit < 1:
        return ()
    signs = _signs(directions)
    by_number = {t.number: t for t in trials}
    if len(directions) == 1:
        done = [t for t in trials if t.state is TrialState.COMPLETE and _finite(t)]
        done.sort(key=lambda t: (signs[0] * t.values[0], t.number))
        return tuple(t.number for t in done[:limit])
    order = sorted(front, key=lambda n: (tuple(signs * np.array(by_number[n].values)), n))
    if len(order) <= limit:
        return tuple(order)
    picks = sorted({round(float(i)) for i in np.linspace(0, len(order) - 1, limit)})
    return tuple(order[i] for i in picks)


def convergence(trials: tuple[Trial, ...] | list[Trial], directions: tuple[str, ...]) -> Convergence:
    """The best-so-far curve and, for several objectives, the normalised hypervolume curve."""
    ordered = sorted(trials, key=lambda t: t.number)
    signs = _signs(directions)
    best: list[float] = []
    current = np.inf
    for t in ordered:
        if t.state is TrialState.COMPLETE and _finite(t):
            current = min(current, signs[0] * t.values[0])
        best.append(float(signs[0] * current) if np.isfinite(current) else float("nan"))
    numbers = tuple(t.number for t in ordered)
    done = [t for t in ordered if t.state is TrialState.COMPLETE and _finite(t)]
    if len(directions) < 2 or not done:
        return Convergence(numbers=numbers, best=tuple(best))
    pts = np.array([t.values[:2] for t in done], dtype=np.float64) * signs[:2]
    ideal, worst = pts.min(axis=0), pts.max(axis=0)
    span = worst - ideal
    ref = np.where(span > 0, worst + REFERENCE_MARGIN * span, worst + 1.0)
    box = float(np.prod(ref - ideal))
    hv: list[float] = []
    front = np.empty((0, 2))
    value, k = 0.0, 0
    for t in ordered:
        if t.state is TrialState.COMPLETE and _finite(t):
            p = pts[k]
            k += 1
            if not np.any(np.all(front <= p, axis=1)):  # not dominated by (nor equal to) the front so far
                front = np.vstack([front[~np.all(p <= front, axis=1)], p])
                value = hypervolume_2d(front, (float(ref[0]), float(ref[1]))) / box
        hv.append(value)
    return Convergence(numbers=numbers, best=tuple(best), hypervolume=tuple(hv),
                       ideal=(float(signs[0] * ideal[0]), float(signs[1] * ideal[1])),
                       reference=(float(signs[0] * ref[0]), float(signs[1] * ref[1])))


def build_report_data(name: str, storage: str, *, top: int = 5, designs: bool = True) -> ReportData:
    """Read study ``name`` from ``storage`` and compute everything a report shows.

    Args:
        name: The study's name.
        storage: Its storage URL (``sqlite:///PATH`` or PostgreSQL); an SQLite file must exist.
        top: How many of the best designs to detail (per-layer energy, accelerator).
        designs: Whether to detail them at all (it maps their layers; a CSV needs none of it).

    Raises:
        StudyError: the storage or the study does not exist.
        SpecError: ``top`` is negative.
    """
    if not isinstance(top, int) or isinstance(top, bool) or top < 0:
        raise SpecError(f"top: must be an integer >= 0, got {top!r}")
    store = open_storage(storage, must_exist=True)
    try:
        info = store.study(name)
        trials = tuple(store.trials(name))
    finally:
        store.close()
    kind = study_kind(info.config)
    front = pareto_front(trials, info.directions)
    if len(info.directions) == 1:
        best = ranked_best(trials, info.directions, front, limit=max(top, BEST_LIST))
    else:
        best = ranked_best(trials, info.directions, front, limit=len(front))
    picked = ranked_best(trials, info.directions, front, limit=top)
    details = best_designs(info.config, kind, trials, picked, info.objectives) if designs and top else ()
    return ReportData(study=info, trials=trials, front=front, best=best,
                      convergence=convergence(trials, info.directions), designs=details)
