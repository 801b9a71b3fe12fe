"""A study described in YAML: problem, strategy, budget, objectives, seed; validated all at once.

Example (``examples/study-smoke.yaml``)::

    problem:
      kind: nas                 # nas | hwsearch | mapping
      space: nb201
      dataset: cifar100
      accuracy: table
      latency: cost-model
      accelerator: eyeriss
    objectives: [accuracy, latency]
    strategy: {name: evolution, params: {population: 20}}
    budget: {trials: 300}
    seed: 0

Problem keys by kind:

* ``nas``: ``space`` (nb201, chain, blocks), ``dataset``, ``accuracy`` (table, train),
  ``latency`` (table, cost-model, none), ``accelerator``, ``latency_file``, ``framework``,
  ``max_latency_ms`` or ``latency_percentile``, ``epochs``. Objectives: accuracy [, latency].
* ``hwsearch``: ``networks`` (list), ``budget`` (accelerator preset), ``mode`` (full, sizing),
  ``mapper`` (the inner mapping search: default, naas).
  Objectives: any of edp, energy, latency, edap, area. Strategies: naas, random, grid, nsga2.
* ``mapping``: ``network`` and ``accelerator``, ``mapper`` (default, exhaustive, ...): one trial
  maps one distinct layer shape. Objectives: edp, energy or latency.
* ``codesign``: one trial is one (network, accelerator) pair. ``space: nb201`` with
  ``accelerators`` (the budget preset of the design grid: eyeriss), ``dataset``,
  ``accuracy_epochs`` (CIFAR-100: 200, read from the data directory, the default; 12, shipped;
  ``auto``: 200 when the data directory has it, else 12, fixed when the study is created),
  ``design_stride``, ``max_latency_cycles``, ``max_area_mm2``, ``precisions`` (e.g. ``[W8A8, W4A4]``:
  precision becomes one more decision of a pair) with ``accuracy_drop`` (``{W4A4: 1.5}``: top-1
  points a precision loses, given by the user: no quantized NB201 evaluator exists offline; 0 when
  not given; strategies codesign-nas, random, sequential, hw-aware-nas and the generic ones search
  it, the others are refused); or ``space: chain`` (FNAS
  chains trained on the digits, each with its layer-pipelined FPGA design) with ``board``,
  ``timing_ms`` (the spec on latency = pipeline start + processing time), ``epochs``, ``prune``,
  ``max_layers``. Objectives: accuracy first, then latency, energy, area, edp, edap,
  perf_per_area (images/s per cm², maximised) (chain: accuracy, latency). Strategies:
  codesign-nas, codesign-nas-rl, naas, fnas, dance, grouped, sequential, hw-aware-nas, random
  (:mod:`coexplore.joint`).

Generic strategies: every kind whose problem declares an encoding (nas and codesign:
categorical decision vectors; hwsearch: the NAAS genome in [0, 1]^d) also runs the generic
strategies of :mod:`coexplore.search.registry` (``evolution``, ``reinforce``, ``nsga2``,
``cma-es``, ``optuna-tpe``, ``optuna-nsga2``, ``random``) where the kind has no strategy of its
own by that name (nas: all but ``brp``, with the kind's defaults, e.g. no network proposed twice);
``coexplore list strategies`` prints which is which (:mod:`coexplore.study.kinds`).

Every mistake is reported with its field path in one :class:`~coexplore.errors.SpecError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coexplore.errors import SpecError
from coexplore.study.kinds import KINDS as PROBLEM_KINDS
from coexplore.study.kinds import kind_strategies

__all__ = ["KINDS", "StudyConfig", "load_config"]

KINDS = tuple(PROBLEM_KINDS.names())
#: Objectives that are maximised; every other one is minimised.
_MAXIMISED = ("accuracy", "perf_per_area")


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyConfig:
    """A validated study description (``to_dict`` gives back what is stored with the study)."""

    problem: dict[str, Any]
    objectives: tuple[str, ...]
    strategy: str
    strategy_params: dict[str, Any] = field(default_factory=dict)
    trials: int = 100
    seed: int = 0
    name: str | None = None

    @property
    def kind(self) -> str:
        return str(self.problem["kind"])

    @property
    def directions(self) -> tuple[str, ...]:
        """``maximize`` for accuracy and perf/area, ``minimize`` for every cost."""
        return tuple("maximize" if o in _MAXIMISED else "minimize" for o in self.objectives)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"problem": dict(self.problem), "objectives": list(self.objectives),
                               "strategy": {"name": self.strategy, "params": dict(self.strategy_params)},
                               "budget": {"trials": self.trials}, "seed": self.seed}
        if self.name:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "config") -> StudyConfig:
        """Validate ``data``; every problem is named with its path (``problem.kind: ...``)."""
        errs: list[str] = []
        if not isinstance(data, dict):
            raise SpecError(f"{source}: must be a mapping with problem, objectives, strategy, budget, got "
                            f"{type(data).__name__}")
        unknown = sorted(set(data) - {"name", "problem", "objectives", "strategy", "budget", "seed"})
        errs += [f"{source}.{k}: unknown key; valid: name, problem, objectives, strategy, budget, seed"
                 for k in unknown]
        problem = data.get("problem")
        kind = None
        if not isinstance(problem, dict):
            errs.append(f"{source}.problem: must be a mapping with a kind ({', '.join(KINDS)}), got {problem!r}")
            problem = {}
        else:
            kind = problem.get("kind")
            if kind not in KINDS:
                errs.append(f"{source}.problem.kind: must be one of {', '.join(KINDS)}, got {kind!r}")
                kind = None
            else:
                keys = PROBLEM_KINDS.get(kind).keys
                errs += [f"{source}.problem.{k}: unknown key for kind {kind}; valid: "
                         f"{', '.join(sorted(keys - {'kind'}))}"
                         for k in sorted(set(problem) - keys)]
                errs += PROBLEM_KINDS.get(kind).check(problem, f"{source}.problem")
        objectives = data.get("objectives", list(PROBLEM_KINDS.get(kind).default_objectives) if kind else ["edp"])
        if kind is not None and PROBLEM_KINDS.get(kind).free_objectives and "objectives" not in data:
            errs.append(f"{source}.objectives: required for kind {kind} (the problem's objective names), got nothing")
        if isinstance(objectives, str):
            objectives = [o.strip() for o in objectives.split(",")]
        if not isinstance(objectives, list) or not objectives or not all(isinstance(o, str) for o in objectives):
            errs.append(f"{source}.objectives: must be a non-empty list of names, got {objectives!r}")
            objectives = []
        elif kind is not None:
            pk = PROBLEM_KINDS.get(kind)
            valid_objectives = pk.objectives
            bad = [] if pk.free_objectives else [o for o in objectives if o not in valid_objectives]
            if bad:
                errs.append(f"{source}.objectives: {', '.join(map(repr, bad))} not valid for kind {kind}; valid: "
                            f"{', '.join(valid_objectives)}")
            if PROBLEM_KINDS.get(kind).accuracy_first and objectives and objectives[0] != "accuracy":
                errs.append(f"{source}.objectives: a {kind} study's first objective must be accuracy, got "
                            f"{objectives[0]!r}")
        strat = data.get("strategy", {})
        if isinstance(strat, str):
            strat = {"name": strat}
        if not isinstance(strat, dict):
            errs.append(f"{source}.strategy: must be a name or {{name, params}}, got {strat!r}")
            strat = {}
        sname = strat.get("name", PROBLEM_KINDS.get(kind).default_strategy if kind else "")
        params = strat.get("params", {})
        own, generic = kind_strategies(kind) if kind is not None else ([], [])
        if kind is not None and sname not in own + generic:
            errs.append(f"{source}.strategy.name: must be one of {', '.join(own + generic)} for kind {kind}, "
                        f"got {sname!r}")
        elif kind == "codesign" and sname in own and problem.get("precisions") is not None:
            from coexplore.joint.precision import refuse_strategy

            why = refuse_strategy(sname, problem["precisions"])
            if why:
                errs.append(f"{source}.{why}")
        if not isinstance(params, dict):
            errs.append(f"{source}.strategy.params: must be a mapping, got {params!r}")
            params = {}
        errs += [f"{source}.strategy.{k}: unknown key; valid: name, params" for k in sorted(set(strat) - {"name",
                                                                                                    "params"})]
        budget = data.get("budget", {})
        trials = budget.get("trials") if isinstance(budget, dict) else None
        if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
            errs.append(f"{source}.budget.trials: must be an integer >= 1, got {trials!r}")
        seed = data.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            errs.append(f"{source}.seed: must be an integer >= 0, got {seed!r}")
        name = data.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            errs.append(f"{source}.name: must be a non-empty string, got {name!r}")
        if errs:
            raise SpecError(errs)
        return cls(problem=dict(problem), objectives=tuple(objectives), strategy=str(sname),
                   strategy_params=dict(params), trials=int(trials), seed=int(seed), name=name)  # type: ignore[arg-type]


def load_config(path: str | Path) -> StudyConfig:
    """Read and validate a study YAML file."""
    from coexplore.spec.io import read_yaml

    return StudyConfig.from_dict(read_yaml(Path(path), "study config"), source=str(path))
