"""Search an accelerator for a set of networks under a preset's resources (NAAS).

:func:`search_accelerator` runs one strategy over an :class:`AcceleratorSpace` built on
the budget preset (the preset is the template: its hierarchy, word widths and
technology), then maps the best design, and the preset itself, with the default mapper.

Strategies: ``naas`` (CMA-ES over NAAS's encoding, started at the preset's encoding),
``random`` (uniform vectors), ``grid`` (a full factorial grid over the PE count, array
shape and buffer sizes that fits the evaluation budget; connectivity genes stay at the
preset's) and ``nsga2`` (multi-objective; the result's ``front`` is its Pareto set). Every
strategy evaluates the preset's own encoding first, so the search never ends worse than
the preset as its mapper sees it. ``mapper`` chooses the inner mapping search run for every
layer shape of every candidate (:data:`~coexplore.hwsearch.problem.INNER_MAPPERS`:
``default`` local search, or ``naas``, NAAS's CMA-ES over importance-encoded mappings, the
paper's nested loop); the final comparison with the preset uses the default mapper either
way, keeping the inner mapper's mappings where they are better.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coexplore.errors import InfeasibleError, SpecError
from coexplore.hwsearch.budget import Budget, resolve_budget
from coexplore.hwsearch.problem import INNER_MAPPERS, AcceleratorSearchProblem, DesignCost, check_objectives
from coexplore.hwsearch.record import hwsearch_record, network_row
from coexplore.hwsearch.space import AcceleratorSpace, Design
from coexplore.search.driver import optimize
from coexplore.search.strategy import Strategy
from coexplore.search.vector import CmaEs, GridVectors, Nsga2, RandomVectors
from coexplore.spec.hardware import Accelerator
from coexplore.spec.io import accelerator_to_dict, save_accelerator_yaml
from coexplore.spec.workload import Network

__all__ = [
    "STRATEGIES", "STRATEGY_DESCRIPTIONS", "FrontPoint", "HwSearchResult", "make_hw_strategy", "search_accelerator"]

STRATEGIES = ("naas", "random", "grid", "nsga2")
STRATEGY_DESCRIPTIONS = {
    "naas": "NAAS: CMA-ES over the accelerator encoding, started at the preset's",
    "random": "uniform random encodings, the preset's first",
    "grid": "full factorial grid over PE count, array shape and buffer sizes within the budget",
    "nsga2": "NSGA-II over the encoding (several objectives: the result's front), the preset's first",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FrontPoint:
    """One Pareto-optimal design of a multi-objective search (costs under the search mapper)."""

    accelerator: Accelerator
    values: tuple[float, ...]
    energy_pj: float
    latency_cycles: float
    edp: float
    area_mm2: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HwSearchResult:
    """The best accelerator found and the preset it is compared with (both under the default mapper).

    ``edp``, ``energy_pj`` and ``latency_cycles`` are geometric means over the networks
    (the network's own values for one network); ``networks`` has each network's
    (name, energy pJ, latency cycles). ``search_value`` is the best value of the objective
    (EDP for several objectives) seen during the search, under the search mapper; the
    result is never worse, because the finalists' re-mapping keeps the better mappings. ``seconds`` is the whole run,
    ``search_seconds`` the search loop alone (without the final re-mapping).
    """

    best: Accelerator
    design: Design | None
    edp: float
    energy_pj: float
    latency_cycles: float
    area_mm2: float
    networks: tuple[tuple[str, float, int], ...]
    baseline: Accelerator
    baseline_edp: float
    baseline_energy_pj: float
    baseline_latency_cycles: float
    baseline_area_mm2: float
    budget: Budget
    objectives: tuple[str, ...]
    strategy: str
    mode: str
    seed: int
    evaluations: int
    designs: int
    search_seconds: float
    seconds: float
    search_value: float
    front: tuple[FrontPoint, ...] = ()
    history: tuple[tuple[int, float], ...] = ()
    mapper: str = "default"

    @property
    def evaluations_per_second(self) -> float:
        """Candidates evaluated per second of the search loop."""
        return self.evaluations / self.search_seconds if self.search_seconds > 0 else 0.0

    @property
    def edp_ratio(self) -> float:
        """Baseline EDP over the best design's EDP (> 1: the search beat the preset)."""
        return self.baseline_edp / self.edp

    def save(self, path: str | Path) -> Path:
        """Write the best design as coexplore accelerator YAML (``coexplore evaluate --accelerator``)."""
        return save_accelerator_yaml(self.best, path)

    def to_record(self) -> dict[str, Any]:
        """The JSON record of ``coexplore hwsearch --json`` (:mod:`coexplore.hwsearch.record`, kind ``asic``)."""
        return hwsearch_record(
            kind="asic", networks=[n for n, _, _ in self.networks], accelerator=accelerator_to_dict(self.best),
            edp=self.edp, energy_pj=self.energy_pj, latency_cycles=self.latency_cycles, area_mm2=self.area_mm2,
            latency_ms=self.latency_cycles / (self.best.clock_ghz * 1e6), resources=None, limits=None,
            network_rows=[network_row(n, e, lat) for n, e, lat in self.networks],
            baseline={"preset": self.baseline.name, "edp": self.baseline_edp, "energy_pj": self.baseline_energy_pj,
                      "latency_cycles": self.baseline_latency_cycles, "area_mm2": self.baseline_area_mm2},
            edp_ratio=self.edp_ratio, objective=",".join(self.objectives), strategy=self.strategy, mode=self.mode,
            mapper=self.mapper, seed=self.seed, evaluations=self.evaluations, designs=self.designs,
            seconds=self.seconds, search_seconds=self.search_seconds, search_value=self.search_value,
            best_is_preset=self.design is None,
            front=[{"accelerator": accelerator_to_dict(p.accelerator), "values": list(p.values),
                    "energy_pj": p.energy_pj, "latency_cycles": p.latency_cycles, "edp": p.edp,
                    "area_mm2": p.area_mm2} for p in self.front],
        )

    def to_dict(self) -> dict[str, Any]:
        """The same as :meth:`to_record` (its older name)."""
        return self.to_record()


def _grid_levels(space: AcceleratorSpace, budget_evals: int) -> list[int]:
    """Points per gene: PE count, array shape and sizes get levels in turn while the grid fits the budget."""
    levels = [1] * space.dim
    order = [i for i, g in enumerate(space.genes) if g in ("pes", "aspect") or g.startswith("size.")]
    grown = True
    while grown:
        grown = False
        for i in order:
            trial = levels[i] + 1
            if math.prod(levels) // levels[i] * trial <= budget_evals:
                levels[i], grown = trial, True
    return levels


class BudgetGrid(GridVectors):
    """The grid strategy of accelerator search: a grid over the genes sized at setup to fit the budget."""

    def levels(self, problem: Any, budget: int | None) -> list[int]:
        if budget is None:
            raise SpecError("strategy grid: sizes its grid to the number of evaluations: give max_evals, got None")
        return _grid_levels(problem.space, max(budget - 1, 1))


def make_hw_strategy(name: str, space: AcceleratorSpace, *, seed: int, popsize: int | None, jobs: int) -> Strategy:
    """Strategy ``name`` for accelerator search over ``space`` (set up by the driver with its budget)."""
    x0 = space.encode()
    if name == "naas":
        return CmaEs(dim=space.dim, seed=seed, popsize=popsize, sigma0=0.25, x0=x0)
    if name == "random":
        return RandomVectors(dim=space.dim, seed=seed, batch=popsize or max(8, 4 * jobs), initial=x0)
    if name == "grid":
        return BudgetGrid(dim=space.dim, batch=popsize or max(8, 4 * jobs), center=x0, initial=x0)
    if name == "nsga2":
        return Nsga2(dim=space.dim, seed=seed, pop=popsize or 16, initial=x0)
    raise SpecError(f"strategy: must be one of {', '.join(STRATEGIES)}, got {name!r}")


def search_accelerator(
    networks: Sequence[str | Network], budget_preset: str | Accelerator, objective: str | Sequence[str] = "edp", *,
    strategy: str = "naas", mode: str = "full", seed: int = 0, budget_evals: int = 300,
    max_seconds: float | None = None, jobs: int = 1, progress: bool = False, popsize: int | None = None,
    throttle: bool = False, finalists: int = 3, mapper: str = "default",
) -> HwSearchResult:
    """Search the best accelerator for ``networks`` under the resources of ``budget_preset``.

    Args:
        networks: Network presets, YAML paths or :class:`Network` objects.
        budget_preset: An accelerator preset (or accelerator) that is both the template and the budget.
        objective: One of ``edp energy latency edap area``, or several (comma-separated or a
            sequence) for ``nsga2``; the best design of a multi-objective search is the
            front's lowest-EDP member.
        strategy: ``naas``, ``random``, ``grid`` or ``nsga2``.
        mode: ``full`` (sizing and connectivity) or ``sizing`` (the preset's connectivity).
        seed: Seed of the strategy and of the mapper; the same seed gives the same result.
        budget_evals: Accelerator candidates to evaluate at most.
        max_seconds: Wall-time limit of the search loop (the final re-mapping is extra).
        jobs: Worker processes evaluating candidates.
        progress: A progress bar on stderr.
        popsize: Candidates per batch (CMA-ES population, NSGA-II population, ...).
        throttle: Bandwidth-limited latency (then the DRAM bandwidth is searched too).
        mapper: The inner mapping search per layer shape and candidate: ``default`` or ``naas``.
        finalists: The best designs of the search (by the search mapper) that are re-mapped
            with the default mapper; the best of them, or the preset if none beats it, is
            the result's ``best`` (``design`` is None when it is the preset).

    Raises:
        SpecError: bad objective, strategy or mode, or a budget no design meets.
        InfeasibleError: no candidate of the search was feasible (the reasons are counted).
        RegistryError: an unknown network or preset (the message lists the valid names).
    """
    objectives = check_objectives(objective.split(",") if isinstance(objective, str) else list(objective))
    if strategy not in STRATEGIES:
        raise SpecError(f"strategy: must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if mapper not in INNER_MAPPERS:
        raise SpecError(f"mapper: must be one of {', '.join(INNER_MAPPERS)}, got {mapper!r}")
    if not isinstance(budget_evals, int) or budget_evals < 1:
        raise SpecError(f"budget_evals: must be an integer >= 1, got {budget_evals!r}")
    if len(objectives) > 1 and strategy != "nsga2":
        raise SpecError(f"objective: several objectives need strategy 'nsga2', got {strategy!r}")
    budget, template = resolve_budget(budget_preset)
    assert template is not None
    nets = [n if isinstance(n, Network) else _network(n) for n in networks]
    space = AcceleratorSpace(template=template, budget=budget, mode=mode, search_bandwidth=throttle)
    t0 = time.perf_counter()
    seen: dict[Design, float] = {}

    def record(cands: Any, ev: Any) -> None:
        for d, v, ok in zip(space.decode_batch(cands.x), ev.values[:, 0], ev.feasible, strict=True):
            if ok:
                seen[d] = float(v)

    # one bar, the driver's: evaluations out of the budget, with an ETA (the problem's own counted only
    # the designs it had to map, so it had no total and fell behind on cached designs)
    with AcceleratorSearchProblem(space=space, networks=nets, objectives=objectives, seed=seed, jobs=jobs,
                                  progress=False, throttle=throttle, mapper=INNER_MAPPERS[mapper]) as problem:
        strat = make_hw_strategy(strategy, space, seed=seed, popsize=popsize, jobs=jobs)
        res = optimize(problem, strat, max_evals=budget_evals, max_seconds=max_seconds, on_batch=record,
                       progress=progress)
        search_seconds = time.perf_counter() - t0
        if not res.found:
            reasons = "; ".join(f"{r} ({n})" for r, n in res.infeasible_reasons.items()) or "no candidate"
            raise InfeasibleError(f"hwsearch: no feasible design in {res.evaluated} evaluations: {reasons}")
        front: tuple[FrontPoint, ...] = ()
        if len(objectives) > 1:  # the Pareto set; its lowest-EDP members are the finalists
            designs = space.decode_batch(res.best.x)
            costs = [problem.cost(d) for d in designs]
            front = tuple(FrontPoint(accelerator=space.build(d), values=tuple(float(v) for v in vals),
                                     energy_pj=c.energy_pj, latency_cycles=c.latency_cycles, edp=c.edp,
                                     area_mm2=c.area_mm2)
                          for d, c, vals in zip(designs, costs, res.best_values, strict=True)
                          if isinstance(c, DesignCost))
            ranked = sorted({d: c.edp for d, c in zip(designs, costs, strict=True)
                             if isinstance(c, DesignCost)}.items(), key=lambda kv: kv[1])
        else:
            ranked = sorted(seen.items(), key=lambda kv: kv[1])
        key = "edp" if len(objectives) > 1 else objectives[0]
        base = problem.remap(template)
        best, design, final, value = template, None, base, base.value(key)
        for d, _ in ranked[:finalists]:  # re-mapped with the default mapper; the preset wins ties
            acc = space.build(d)
            cost = problem.remap(acc)
            if cost.value(key) < value:
                best, design, final, value = acc, d, cost, cost.value(key)
    return HwSearchResult(
        best=best, design=design, edp=final.edp, energy_pj=final.energy_pj, latency_cycles=final.latency_cycles,
        area_mm2=best.area_mm2, networks=final.networks, baseline=template, baseline_edp=base.edp,
        baseline_energy_pj=base.energy_pj, baseline_latency_cycles=base.latency_cycles,
        baseline_area_mm2=template.area_mm2, budget=budget, objectives=objectives, strategy=strategy, mode=mode,
        seed=seed, evaluations=res.evaluated, designs=problem.evaluated_designs, search_seconds=search_seconds,
        seconds=time.perf_counter() - t0, search_value=ranked[0][1], front=front, history=res.history, mapper=mapper,
    )


def _network(name: str) -> Network:
    from coexplore.presets.networks import get_network

    return get_network(name)
