"""Search of the butterfly accelerator template (``coexplore hwsearch --model butterfly``) under a preset's resources.

The budget preset (``--budget``) gives the limits, as for the NAAS search of the systolic templates:
at most its MACs as multipliers (``4 x engines x units_per_engine``), at most its on-chip SRAM bits
(``engines x data_buffer_words + coef_buffer_words`` words at its MAC width), and its DRAM bandwidth
and clock (not searched: the same memory system and clock as the preset, so that latencies in
cycles compare). The space (:class:`ButterflySpace`, a categorical encoding):

* ``engines``: powers of two up to the budget's MACs / 4;
* ``units_per_engine``: 1, 2, 4, 8, 16 (the paper's designs use 4);
* ``data_buffer_words`` per engine (two banks): powers of two, 256 to 65,536;
* ``coef_buffer_words``: powers of two, 1,024 to 1,048,576.

Designs over the budget, or whose buffers cannot hold a row of some layer, are infeasible with the
reason. The baseline is the template "as the paper shapes it" at this budget: 4 BUs per engine, as
many engines as the multipliers allow, and the largest data / coefficient buffers (equal halves of
the SRAM budget, powers of two) that fit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.cost.butterfly import ButterflyAccelerator, price_network
from coexplore.errors import CoexploreError, SpecError
from coexplore.hwsearch.budget import Budget, dram_bandwidth
from coexplore.hwsearch.problem import DesignCost, check_objectives
from coexplore.hwsearch.record import hwsearch_record, network_row
from coexplore.hwsearch.template_search import check_search, ranked_designs, run_search
from coexplore.search.encoding import Categorical, ChoiceBatch
from coexplore.search.problem import Evaluation
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Network

__all__ = ["BUTTERFLY_STRATEGIES", "ButterflyHwProblem", "ButterflySearchResult", "ButterflySpace",
           "search_butterfly"]

BUTTERFLY_STRATEGIES = {"evolution": "evolution", "random": "random", "grid": "random", "nsga2": "nsga2"}
UNITS = (1, 2, 4, 8, 16)
DATA_WORDS = tuple(1 << i for i in range(8, 17))
COEF_WORDS = tuple(1 << i for i in range(10, 21))


def _pow2_upto(n: int) -> tuple[int, ...]:
    return tuple(1 << i for i in range(max(1, n).bit_length()) if 1 << i <= n)


@dataclass(frozen=True, slots=True)
class ButterflySpace:
    """The choices of each decision and the fixed parts of every design (clock, bandwidth, bits)."""

    budget: Budget
    engines: tuple[int, ...]
    units: tuple[int, ...]
    data_words: tuple[int, ...]
    coef_words: tuple[int, ...]
    clock_ghz: float
    bits: int
    dram_bandwidth_words_per_cycle: float | None

    @classmethod
    def for_budget(cls, preset: Accelerator) -> ButterflySpace:
        budget = Budget.from_accelerator(preset)
        bits = preset.mac.bits
        bw = dram_bandwidth(preset.levels[-1])
        words_bw = None if bw is None else bw * preset.levels[-1].word_bits / bits
        engines = _pow2_upto(max(1, budget.max_macs // 4))
        return cls(budget=budget, engines=engines, units=UNITS, data_words=DATA_WORDS, coef_words=COEF_WORDS,
                   clock_ghz=preset.clock_ghz, bits=bits, dram_bandwidth_words_per_cycle=words_bw)

    @property
    def size(self) -> int:
        return len(self.engines) * len(self.units) * len(self.data_words) * len(self.coef_words)

    def design(self, row: Sequence[int]) -> ButterflyAccelerator:
        return self.make(self.engines[row[0]], self.units[row[1]], self.data_words[row[2]], self.coef_words[row[3]])

    def make(self, engines: int, units: int, data_words: int, coef_words: int) -> ButterflyAccelerator:
        return ButterflyAccelerator(name=f"butterfly-{engines}x{units}-d{data_words}-c{coef_words}", engines=engines,
                                    units_per_engine=units, data_buffer_words=data_words,
                                    coef_buffer_words=coef_words, clock_ghz=self.clock_ghz,
                                    dram_bandwidth_words_per_cycle=self.dram_bandwidth_words_per_cycle,
                                    bits=self.bits)

    def violations(self, acc: ButterflyAccelerator) -> list[str]:
        out = []
        if acc.multipliers > self.budget.max_macs:
            out.append(f"budget.max_macs: {acc.multipliers} multipliers > {self.budget.max_macs}")
        if acc.onchip_bits > self.budget.max_sram_bits:
            out.append(f"budget.max_sram_bits: {acc.onchip_bits} on-chip bits > {self.budget.max_sram_bits}")
        return out

    def paper_shaped(self) -> ButterflyAccelerator:
        """4 BUs per engine, the most engines, the largest power-of-two buffers in halves of the SRAM budget."""
        units = 4
        engines = max(e for e in self.engines if 4 * e * units <= self.budget.max_macs) \
            if any(4 * e * units <= self.budget.max_macs for e in self.engines) else 1
        half = self.budget.max_sram_bits // 2 // self.bits
        data = 1 << max(1, (half // engines).bit_length() - 1)
        coef = 1 << max(1, half.bit_length() - 1)
        return self.make(engines, min(units, max(1, self.budget.max_macs // 4 // engines)), data, coef)


class ButterflyHwProblem:
    """Minimise ``objectives`` of ``networks`` over ``space``; designs are cached by their row."""

    def __init__(self, *, space: ButterflySpace, networks: Sequence[Network],
                 objectives: Sequence[str] = ("edp",)) -> None:
        if not networks:
            raise SpecError("networks: must name at least one network, got none")
        self.space, self.networks = space, tuple(networks)
        self._objectives = check_objectives(objectives)
        self._costs: dict[tuple[int, ...], DesignCost | str] = {}

    @property
    def objectives(self) -> tuple[str, ...]:
        return self._objectives

    @property
    def encoding(self) -> Categorical:
        s = self.space
        return Categorical(cards=(len(s.engines), len(s.units), len(s.data_words), len(s.coef_words)),
                           names=("engines", "units_per_engine", "data_buffer_words", "coef_buffer_words"))

    def price(self, acc: ButterflyAccelerator) -> DesignCost | str:
        """The cost of ``acc`` on every network, or why it is infeasible."""
        bad = self.space.violations(acc)
        if bad:
            return "; ".join(bad)
        try:
            costs = [price_network(n, acc) for n in self.networks]
        except CoexploreError as e:
            return str(e)
        return DesignCost(networks=tuple((c.network, c.energy_pj, c.latency_cycles) for c in costs),
                          area_mm2=acc.area_mm2)

    def cost(self, row: Sequence[int]) -> DesignCost | str:
        key = tuple(int(v) for v in row)
        if key not in self._costs:
            self._costs[key] = self.price(self.space.design(key))
        return self._costs[key]

    def evaluate(self, candidates: ChoiceBatch) -> Evaluation:
        values = np.full((len(candidates), len(self._objectives)), np.inf)
        reasons = []
        for i, row in enumerate(candidates.x):
            c = self.cost(row)
            if isinstance(c, DesignCost):
                values[i] = [c.value(o) for o in self._objectives]
            reasons.append("" if isinstance(c, DesignCost) else c)
        feasible = np.isfinite(values).all(axis=1)
        return Evaluation(values=values, feasible=feasible, reasons=tuple(reasons) if not feasible.all() else ())

    def describe(self, candidates: ChoiceBatch, i: int) -> dict[str, Any]:
        return self.space.design(candidates.x[i]).to_record()

    @property
    def designs(self) -> int:
        return len(self._costs)


@dataclass(frozen=True, slots=True, kw_only=True)
class ButterflySearchResult:
    """The best design, the paper-shaped baseline at the same budget and (several objectives) the front."""

    best: ButterflyAccelerator
    cost: DesignCost
    baseline: tuple[ButterflyAccelerator, DesignCost] | None
    baseline_reason: str
    space: ButterflySpace
    objectives: tuple[str, ...]
    strategy: str
    seed: int
    evaluations: int
    designs: int
    search_seconds: float
    seconds: float
    search_value: float
    front: tuple[tuple[ButterflyAccelerator, DesignCost, tuple[float, ...]], ...] = ()

    def to_record(self) -> dict[str, Any]:
        """DESIGN.md's ``hwsearch --json`` shape (:mod:`coexplore.hwsearch.record`), ``model: butterfly``."""
        c, b = self.cost, self.best
        base = self.baseline[1] if self.baseline else None
        out = hwsearch_record(
            kind="asic", networks=[n for n, _, _ in c.networks], accelerator=b.to_record(), edp=c.edp,
            energy_pj=c.energy_pj, latency_cycles=c.latency_cycles, area_mm2=c.area_mm2,
            latency_ms=c.latency_cycles / b.clock_ghz / 1e6,
            resources={"macs": b.multipliers, "sram_bits": b.onchip_bits},
            limits={"macs": self.space.budget.max_macs, "sram_bits": self.space.budget.max_sram_bits},
            network_rows=[network_row(n, e, lat) for n, e, lat in c.networks],
            baseline={"preset": f"{self.space.budget.name} (paper-shaped butterfly)",
                      "edp": base.edp if base else None, "energy_pj": base.energy_pj if base else None,
                      "latency_cycles": base.latency_cycles if base else None,
                      "area_mm2": base.area_mm2 if base else None},
            edp_ratio=base.edp / c.edp if base else None, objective=",".join(self.objectives),
            strategy=self.strategy, mode="butterfly", mapper=None, seed=self.seed, evaluations=self.evaluations,
            designs=self.designs, seconds=self.seconds, search_seconds=self.search_seconds,
            search_value=self.search_value,
            best_is_preset=None if base is None else base.value(self.objectives[0]) <= c.value(self.objectives[0]),
            front=[{"accelerator": a.to_record(), "values": list(v), "energy_pj": d.energy_pj,
                    "latency_cycles": d.latency_cycles, "edp": d.edp, "area_mm2": d.area_mm2}
                   for a, d, v in self.front])
        out["model"] = "butterfly"
        out["butterfly"] = {"space_size": self.space.size, "engines": list(self.space.engines),
                            "units_per_engine": list(self.space.units),
                            "data_buffer_words": list(self.space.data_words),
                            "coef_buffer_words": list(self.space.coef_words),
                            "baseline_accelerator": self.baseline[0].to_record() if self.baseline else None,
                            "baseline_reason": self.baseline_reason}
        return out


def search_butterfly(networks: Sequence[Network], budget: Accelerator, *, objectives: Sequence[str] = ("edp",),
                     strategy: str = "evolution", seed: int = 0, budget_evals: int = 300,
                     max_seconds: float | None = None) -> ButterflySearchResult:
    """Search the butterfly template for ``networks`` within ``budget``'s resources (module docstring)."""
    t0 = time.perf_counter()
    objectives = check_search(strategy, BUTTERFLY_STRATEGIES, objectives, "butterfly")
    space = ButterflySpace.for_budget(budget)
    problem = ButterflyHwProblem(space=space, networks=networks, objectives=objectives)
    res, search_seconds = run_search(problem, BUTTERFLY_STRATEGIES, strategy, size=space.size, seed=seed,
                                     budget_evals=budget_evals, max_seconds=max_seconds,
                                     none_found="hwsearch --model butterfly: no feasible design")
    rows = [tuple(int(v) for v in r) for r in res.best.x]
    ranked, front = ranked_designs([space.design(r) for r in rows], [problem.cost(r) for r in rows],
                                   res.best_values.tolist(), objectives)
    best, best_cost, _ = ranked[0]
    assert isinstance(best_cost, DesignCost)
    ref = space.paper_shaped()
    got = problem.price(ref)
    baseline, reason = ((ref, got), "") if isinstance(got, DesignCost) else (None, got)
    return ButterflySearchResult(
        best=best, cost=best_cost, baseline=baseline, baseline_reason=reason, space=space, objectives=objectives,
        strategy=strategy, seed=seed, evaluations=res.evaluated, designs=problem.designs,
        search_seconds=search_seconds, seconds=time.perf_counter() - t0,
        search_value=float(ranked[0][2][0]) if len(objectives) == 1 else best_cost.edp, front=front)
