"""Accelerator search with MAESTRO's semantics (``coexplore hwsearch --model maestro``): dataflow template x
PEs x NoC bandwidth under a preset's PE budget, through the domain-free search layer.

The space (a :class:`~coexplore.search.encoding.Categorical` encoding of three decisions):

- template: every MAESTRO template of :mod:`coexplore.maestro.templates` (``dla``, ``shi``, ``xp_ws``, ``rs``);
- PEs: 16 evenly spaced counts up to the budget preset's MAC count, ``floor(budget * k / 16)`` for
  ``k = 1..16`` (distinct, >= 1);
- NoC bandwidth: powers of two up to the preset's on-chip bandwidth, and that bandwidth itself. The
  preset's bandwidth is the words per cycle its single-instance on-chip levels deliver, summed (a level's
  ``read_bandwidth_words_per_cycle``, else its ``block_size_words``: the rule of
  :mod:`coexplore.maestro.bridge`).

A design is priced as ``evaluate --model maestro`` prices ``TEMPLATE:PES:BW`` (hop latency 1, MAESTRO's
summary energy; area with L1/L2 sized for the most demanding layer), with the preset's off-chip bandwidth
(its DRAM's, as the translation takes it; 50, MAESTRO's reference, when the preset gives none), so that
designs and baseline share it. L1/L2 sizes are
not searched and not bounded by the preset's buffers. Objectives as the Timeloop-model search (``edp``,
``energy``, ``latency``, ``edap``, ``area``; geometric means over several networks).

The baseline is the budget preset translated to MAESTRO (its own buffers), in the template it does best
with for the first objective; a preset the translation refuses (NVDLA's accumulators, ...) has no baseline
(its values ``None``, the reason in the record's ``maestro.baseline_reason``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import CoexploreError, SpecError
from coexplore.hwsearch.problem import DesignCost, check_objectives
from coexplore.hwsearch.record import hwsearch_record, network_row
from coexplore.hwsearch.template_search import check_search, ranked_designs, run_search
from coexplore.maestro.bridge import (
    DEFAULT_OFFCHIP_BANDWIDTH,
    MaestroTarget,
    offchip_bandwidth,
    onchip_bandwidth,
    price_network_maestro,
    target_from_accelerator,
    target_from_string,
)
from coexplore.maestro.energy import constants
from coexplore.maestro.templates import TEMPLATES
from coexplore.search.encoding import Categorical, ChoiceBatch
from coexplore.search.problem import Evaluation
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Network

__all__ = ["MAESTRO_STRATEGIES", "MaestroHwProblem", "MaestroHwSearchResult", "MaestroSpace", "search_maestro"]

PE_STEPS = 16

MAESTRO_STRATEGIES = {"evolution": "evolution", "random": "random", "grid": "random", "nsga2": "nsga2"}
"""``--strategy`` -> the generic categorical strategy (``grid``: random without repeats over the whole space,
which enumerates it; ``evolution`` is the default)."""


@dataclass(frozen=True, slots=True)
class MaestroSpace:
    """The choices of each decision."""

    templates: tuple[str, ...]
    pes: tuple[int, ...]
    bandwidths: tuple[int, ...]
    offchip_bandwidth: int = DEFAULT_OFFCHIP_BANDWIDTH

    @classmethod
    def for_budget(cls, budget: Accelerator) -> MaestroSpace:
        total = budget.mac.instances
        pes = tuple(sorted({max(1, total * k // PE_STEPS) for k in range(1, PE_STEPS + 1)}))
        top = onchip_bandwidth(budget)
        bws = sorted({1 << i for i in range(top.bit_length()) if 1 << i <= top} | {top})
        try:
            offchip = offchip_bandwidth(budget)
        except SpecError:
            offchip = DEFAULT_OFFCHIP_BANDWIDTH
        return cls(templates=tuple(TEMPLATES), pes=pes, bandwidths=tuple(bws), offchip_bandwidth=offchip)

    @property
    def size(self) -> int:
        return len(self.templates) * len(self.pes) * len(self.bandwidths)

    def label(self, row: Sequence[int]) -> str:
        return f"{self.templates[row[0]]}:{self.pes[row[1]]}:{self.bandwidths[row[2]]}"


class MaestroHwProblem:
    """Minimise ``objectives`` of ``networks`` over ``space``; designs are cached by label."""

    def __init__(self, *, space: MaestroSpace, networks: Sequence[Network], objectives: Sequence[str] = ("edp",),
                 constant_set: str = "current") -> None:
        if not networks:
            raise SpecError("networks: must name at least one network, got none")
        constants(constant_set)
        self.space, self.networks, self.constant_set = space, tuple(networks), constant_set
        self._objectives = check_objectives(objectives)
        self._costs: dict[str, DesignCost | str] = {}

    @property
    def objectives(self) -> tuple[str, ...]:
        return self._objectives

    @property
    def encoding(self) -> Categorical:
        return Categorical(cards=(len(self.space.templates), len(self.space.pes), len(self.space.bandwidths)),
                           names=("template", "pes", "noc_bandwidth"))

    def cost(self, label: str) -> DesignCost | str:
        """The cost of design ``TEMPLATE:PES:BW`` (cached), or why MAESTRO cannot price it."""
        if label not in self._costs:
            self._costs[label] = self._price(target_from_string(label,
                                                                offchip_bandwidth=self.space.offchip_bandwidth))
        return self._costs[label]

    def _price(self, target: MaestroTarget) -> DesignCost | str:
        nets, area = [], 0.0
        try:
            for net in self.networks:
                c = price_network_maestro(net, target, constant_set=self.constant_set)
                nets.append((net.name, c.energy_pj, c.latency_cycles))
                area = max(area, c.area_um2)  # one accelerator, its buffers sized for the most demanding network
        except CoexploreError as e:
            return f"unpriceable: {e}"
        return DesignCost(networks=tuple(nets), area_mm2=area / 1e6)

    def price_target(self, target: MaestroTarget) -> DesignCost | str:
        """The cost of a target outside the space (the translated preset)."""
        return self._price(target)

    def evaluate(self, candidates: ChoiceBatch) -> Evaluation:
        values = np.full((len(candidates), len(self._objectives)), np.inf)
        reasons = []
        for i, row in enumerate(candidates.x):
            c = self.cost(self.space.label(row))
            if isinstance(c, DesignCost):
                values[i] = [c.value(o) for o in self._objectives]
            reasons.append("" if isinstance(c, DesignCost) else c)
        feasible = np.isfinite(values).all(axis=1)
        return Evaluation(values=values, feasible=feasible, reasons=tuple(reasons) if not feasible.all() else ())

    def describe(self, candidates: ChoiceBatch, i: int) -> dict[str, Any]:
        row = candidates.x[i]
        return {"template": self.space.templates[row[0]], "pes": self.space.pes[row[1]],
                "noc_bandwidth": self.space.bandwidths[row[2]]}

    @property
    def designs(self) -> int:
        return len(self._costs)


def _accelerator_record(label: str) -> dict[str, Any]:
    tpl, pes, bw = label.split(":")
    return {"template": tpl, "pes": int(pes), "noc_bandwidth": int(bw), "label": label}


@dataclass(frozen=True, slots=True, kw_only=True)
class MaestroHwSearchResult:
    """The best design found, the translated preset it is compared with, and (several objectives) the front.

    ``exhausted``: every design of the space was priced, so ``best`` is the space's optimum."""

    best: str
    cost: DesignCost
    budget: str
    baseline: tuple[str, DesignCost] | None
    baseline_reason: str
    space: MaestroSpace
    objectives: tuple[str, ...]
    strategy: str
    seed: int
    evaluations: int
    designs: int
    exhausted: bool
    search_seconds: float
    seconds: float
    search_value: float
    constant_set: str
    front: tuple[tuple[str, DesignCost, tuple[float, ...]], ...] = ()

    def to_record(self) -> dict[str, Any]:
        """DESIGN.md's ``hwsearch --json`` shape (:mod:`coexplore.hwsearch.record`), ``model: maestro``."""
        c = self.cost
        base = self.baseline[1] if self.baseline else None
        first = self.objectives[0]
        out = hwsearch_record(
            kind="asic", networks=[n for n, _, _ in c.networks], accelerator=_accelerator_record(self.best),
            edp=c.edp, energy_pj=c.energy_pj, latency_cycles=c.latency_cycles, area_mm2=c.area_mm2, latency_ms=None,
            resources={"pes": int(self.best.split(":")[1]), "noc_bandwidth": int(self.best.split(":")[2])},
            limits={"pes": max(self.space.pes), "noc_bandwidth": max(self.space.bandwidths)},
            network_rows=[network_row(n, e, lat) for n, e, lat in c.networks],
            baseline={"preset": self.budget, "edp": base.edp if base else None,
                      "energy_pj": base.energy_pj if base else None,
                      "latency_cycles": base.latency_cycles if base else None,
                      "area_mm2": base.area_mm2 if base else None},
            edp_ratio=base.edp / c.edp if base else None, objective=",".join(self.objectives),
            strategy=self.strategy, mode="maestro", mapper=None, seed=self.seed, evaluations=self.evaluations,
            designs=self.designs, seconds=self.seconds, search_seconds=self.search_seconds,
            search_value=self.search_value,
            best_is_preset=None if base is None else base.value(first) <= c.value(first),
            front=[{"accelerator": _accelerator_record(label), "values": list(v), "energy_pj": d.energy_pj,
                    "latency_cycles": d.latency_cycles, "edp": d.edp, "area_mm2": d.area_mm2}
                   for label, d, v in self.front])
        out["model"] = "maestro"
        out["maestro"] = {"templates": list(self.space.templates), "pes": list(self.space.pes),
                          "noc_bandwidths": list(self.space.bandwidths), "space_size": self.space.size,
                          "offchip_bandwidth": self.space.offchip_bandwidth,
                          "exhausted": self.exhausted, "constants": self.constant_set,
                          "baseline_template": self.baseline[0] if self.baseline else None,
                          "baseline_reason": self.baseline_reason}
        return out


def search_maestro(networks: Sequence[Network], budget: Accelerator, *, objectives: Sequence[str] = ("edp",),
                   strategy: str = "evolution", seed: int = 0, budget_evals: int = 300,
                   max_seconds: float | None = None, constant_set: str = "current") -> MaestroHwSearchResult:
    """Search template x PEs x NoC bandwidth for ``networks`` within ``budget``'s PEs (module docstring)."""
    t0 = time.perf_counter()
    objectives = check_search(strategy, MAESTRO_STRATEGIES, objectives, "MAESTRO")
    space = MaestroSpace.for_budget(budget)
    problem = MaestroHwProblem(space=space, networks=networks, objectives=objectives, constant_set=constant_set)
    res, search_seconds = run_search(problem, MAESTRO_STRATEGIES, strategy, size=space.size, seed=seed,
                                     budget_evals=budget_evals, max_seconds=max_seconds,
                                     none_found="hwsearch --model maestro: no design of the space could be priced")
    labels = [space.label(row) for row in res.best.x]
    ranked, front = ranked_designs(labels, [problem.cost(label) for label in labels], res.best_values.tolist(),
                                   objectives)
    best_label, best_cost, _ = ranked[0]
    assert isinstance(best_cost, DesignCost)
    baseline, reason = None, ""
    best_base: tuple[float, str, DesignCost] | None = None
    for tpl in space.templates:
        try:
            got = problem.price_target(target_from_accelerator(budget, tpl))
        except CoexploreError as e:
            reason = str(e)
            break
        if isinstance(got, str):
            reason = got
            continue
        if best_base is None or got.value(objectives[0]) < best_base[0]:
            best_base = (got.value(objectives[0]), tpl, got)
    if best_base is not None:
        baseline, reason = (best_base[1], best_base[2]), ""
    return MaestroHwSearchResult(
        best=best_label, cost=best_cost, budget=budget.name, baseline=baseline, baseline_reason=reason, space=space,
        objectives=objectives, strategy=strategy, seed=seed, evaluations=res.evaluated, designs=problem.designs,
        exhausted=problem.designs == space.size, search_seconds=search_seconds, seconds=time.perf_counter() - t0,
        search_value=float(ranked[0][2][0]) if len(objectives) == 1 else best_cost.edp,
        constant_set=constant_set, front=front)
