"""Accelerator search as a :class:`~coexplore.search.problem.Problem`: vectors in, network costs out.

Each candidate vector is decoded by an :class:`AcceleratorSpace` into an accelerator;
every distinct layer shape of the networks is then mapped onto it by an inner mapping
search (:data:`INNER_MAPPERS`): by default the default mapper's local search in a cheaper
configuration (:data:`SEARCH_MAPPER`: fewer samples, a narrower beam, less patience;
within a few percent of the default on the zoo, at a quarter of the time or less), or
NAAS's own mapping search (``naas``: CMA-ES over importance-encoded mappings, 2,000
evaluations per layer shape). That is NAAS's nested loop: the outer search over
accelerators, the inner one over mappings per layer.

Per-layer results are cached by (layer shape, design) for the life of the problem.
Designs of a batch are evaluated in parallel on a process pool of ``jobs`` workers.

Objectives (all minimised): ``edp``, ``energy``, ``latency``, ``edap`` (EDP x area),
``area``. A network's energy and latency are the sums over its layers and its EDP
their product. With several networks every metric is the geometric mean over the
networks (scale-free: a small network counts as much as a big one); with one network
it is that network's value. Layers are mapped for energy, for latency or (otherwise)
for EDP.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.cost.model import evaluate_batch
from coexplore.errors import CoexploreError, InfeasibleError, SpecError
from coexplore.hwsearch.space import AcceleratorSpace, Design
from coexplore.mapper.problem import LayerMappingProblem
from coexplore.mapper.strategies.local import LocalSearchMapper
from coexplore.mapping.encoding import MappingBatch
from coexplore.search.driver import optimize
from coexplore.search.encoding import Box
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy
from coexplore.search.vector import VectorBatch
from coexplore.spec.hardware import Accelerator
from coexplore.spec.precision import bind
from coexplore.spec.workload import Layer, Network

__all__ = ["HW_OBJECTIVES", "INNER_MAPPERS", "SEARCH_MAPPER", "AcceleratorSearchProblem", "DesignCost",
           "InnerMapper", "MapperConfig", "NaasMapperConfig", "map_shape"]

HW_OBJECTIVES = ("edp", "energy", "latency", "edap", "area")


@dataclass(frozen=True, slots=True, kw_only=True)
class MapperConfig:
    """Settings of :class:`LocalSearchMapper` (``None`` fields keep the mapper's defaults).

    Its fields are part of the cost tables' cache key (:func:`coexplore.joint.costtable.table_key`).
    """

    samples: int | None = None
    beam: int | None = None
    moves: int | None = None
    patience: int | None = None
    polish_cap: int | None = None
    max_evals: int = 2_000_000

    def make(self, layer: Layer, accelerator: Accelerator, seed: int) -> Strategy:
        opts = {k: getattr(self, k) for k in ("samples", "beam", "moves", "patience", "polish_cap")
                if getattr(self, k) is not None}
        return LocalSearchMapper(layer=layer, accelerator=accelerator, seed=seed, **opts)


@dataclass(frozen=True, slots=True, kw_only=True)
class NaasMapperConfig:
    """NAAS's mapping search (:class:`~coexplore.mapper.strategies.naas.NaasMapper`, its defaults) as an inner
    mapper, with ``max_evals`` evaluations per layer shape."""

    max_evals: int = 2000

    def make(self, layer: Layer, accelerator: Accelerator, seed: int) -> Strategy:
        from coexplore.mapper.strategies.naas import NaasMapper

        return NaasMapper(layer=layer, accelerator=accelerator, seed=seed)


#: Any inner mapper: what it makes per layer, and its evaluations per layer shape.
InnerMapper = MapperConfig | NaasMapperConfig

DEFAULT_MAPPER = MapperConfig()
SEARCH_MAPPER = MapperConfig(samples=1024, beam=8, moves=32, patience=3, polish_cap=2048, max_evals=100_000)
#: The inner mapping searches of accelerator search, by name (``--mapper``).
INNER_MAPPERS: dict[str, InnerMapper] = {"default": SEARCH_MAPPER, "naas": NaasMapperConfig()}


def map_shape(layer: Layer, accelerator: Accelerator, *, config: InnerMapper, objective: str, seed: int,
              throttle: bool = False) -> tuple[float, int, MappingBatch]:
    """(energy pJ, latency cycles, best mapping as a 1-row batch) of ``layer``; InfeasibleError if none."""
    accelerator = bind(layer, accelerator)  # a precision-scalable array as the layer's bits see it
    problem = LayerMappingProblem(layer=layer, accelerator=accelerator, objective=objective, throttle=throttle)
    res = optimize(problem, config.make(layer, accelerator, seed), max_evals=config.max_evals)
    if not res.found:
        from coexplore.mapping.sampling import sample_legal

        sample_legal(layer, accelerator, 1, seed=seed)  # raises naming the level that cannot fit
        raise InfeasibleError(f"layer {layer.name!r}: no legal mapping found in {res.evaluated} evaluations")
    cost = evaluate_batch(layer, accelerator, res.best, throttle=throttle, detail=False)
    return float(cost.energy_pj[0]), int(cost.latency_cycles[0]), res.best


def _layer_objective(objectives: Sequence[str]) -> str:
    return objectives[0] if len(objectives) == 1 and objectives[0] in ("energy", "latency") else "edp"


@dataclass(frozen=True, slots=True)
class _Job:
    accelerator: Accelerator
    layers: tuple[Layer, ...]
    config: InnerMapper
    objective: str
    seed: int
    throttle: bool


def _run(job: _Job) -> tuple[list[tuple[float, int]], str]:
    """Per-shape (energy, latency) of the job's layers, or ([], reason) when one cannot be mapped."""
    out = []
    for layer in job.layers:
        try:
            e, lat, _ = map_shape(layer, job.accelerator, config=job.config, objective=job.objective,
                                  seed=job.seed, throttle=job.throttle)
        except CoexploreError as err:
            return [], f"unmappable: {err}"
        out.append((e, lat))
    return out, ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignCost:
    """Costs of one design: per network (name, energy pJ, latency cycles) and the aggregates."""

    networks: tuple[tuple[str, float, int], ...]
    area_mm2: float

    @property
    def energy_pj(self) -> float:
        return _geomean([e for _, e, _ in self.networks])

    @property
    def latency_cycles(self) -> float:
        return _geomean([float(lat) for _, _, lat in self.networks])

    @property
    def edp(self) -> float:
        return _geomean([e * lat for _, e, lat in self.networks])

    def value(self, objective: str) -> float:
        return {"edp": self.edp, "energy": self.energy_pj, "latency": self.latency_cycles,
                "edap": self.edp * self.area_mm2, "area": self.area_mm2}[objective]


def _geomean(values: Sequence[float]) -> float:
    if len(values) == 1:  # exact, without a log/exp round trip
        return float(values[0])
    return math.exp(sum(math.log(v) for v in values) / len(values)) if all(v > 0 for v in values) else \
        float(np.mean(values))


def check_objectives(objectives: Sequence[str]) -> tuple[str, ...]:
    """The objectives, validated (SpecError naming the bad ones and the valid ones)."""
    bad = [o for o in objectives if o not in HW_OBJECTIVES]
    if bad or not objectives or len(set(objectives)) != len(objectives):
        raise SpecError(f"objective: must be distinct names among {', '.join(HW_OBJECTIVES)}, got "
                        f"{','.join(objectives) or 'nothing'}")
    return tuple(objectives)


class AcceleratorSearchProblem:
    """Minimise ``objectives`` of ``networks`` over the designs of ``space``.

    Call :meth:`close` (or use it as a context manager) to stop the worker processes.
    """

    def __init__(self, *, space: AcceleratorSpace, networks: Sequence[Network], objectives: Sequence[str] = ("edp",),
                 mapper: InnerMapper = SEARCH_MAPPER, seed: int = 0, jobs: int = 1, progress: bool = False,
                 throttle: bool = False) -> None:
        if not networks:
            raise SpecError("networks: must name at least one network, got none")
        self.space, self.networks = space, tuple(networks)
        self._objectives = check_objectives(objectives)
        self.mapper, self.seed, self.jobs, self.progress, self.throttle = mapper, seed, max(1, jobs), progress, throttle
        self.layer_objective = _layer_objective(self._objectives)
        shapes: dict[tuple[int, ...], Layer] = {}
        for net in self.networks:
            for layer in net.layers:
                shapes.setdefault(layer.shape_key(), layer)
        self.shapes = shapes
        self._layer_cache: dict[tuple[tuple[int, ...], Design], tuple[float, int]] = {}
        self._costs: dict[Design, DesignCost | str] = {}
        self._pool: Executor | None = None
        self._bar: Any = None
        self.evaluated_designs = 0

    @property
    def objectives(self) -> tuple[str, ...]:
        return self._objectives

    @property
    def encoding(self) -> Box:
        """NAAS's accelerator genome in [0, 1]^dim (what generic strategies search)."""
        return Box(self.space.dim, tuple(self.space.genes))

    def __enter__(self) -> AcceleratorSearchProblem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def cost(self, design: Design) -> DesignCost | str:
        """The cost of ``design`` (evaluated now if not cached), or why it is infeasible."""
        self._evaluate_designs([design])
        return self._costs[design]

    def evaluate(self, candidates: VectorBatch) -> Evaluation:
        designs = self.space.decode_batch(candidates.x)
        self._evaluate_designs(designs)
        values = np.full((len(designs), len(self._objectives)), np.inf)
        reasons = []
        for i, d in enumerate(designs):
            c = self._costs[d]
            if isinstance(c, DesignCost):
                values[i] = [c.value(o) for o in self._objectives]
            reasons.append("" if isinstance(c, DesignCost) else c)
        feasible = np.isfinite(values).all(axis=1)
        return Evaluation(values=values, feasible=feasible, reasons=tuple(reasons) if not feasible.all() else ())

    def describe(self, candidates: VectorBatch, i: int) -> dict[str, Any]:
        d = self.space.decode(candidates.x[i])
        names = [self.space.template.levels[j].name for j in self.space.size_levels]
        return {"array": [d.array_x, d.array_y], "spatial_dims_x": list(d.dims_x),
                "spatial_dims_y": list(d.dims_y), "size_words": dict(zip(names, d.sizes_words)),
                "dram_share": d.dram_share, "repaired": d.repaired, "reason": d.reason}

    def remap(self, accelerator: Accelerator) -> DesignCost:
        """Cost of ``accelerator`` under the default mapper (one job per shape, on the pool).

        Per network, the search mapper's mappings are kept where they are better, so a
        design never costs more here than it did during the search.
        """
        layers = tuple(sorted(self.shapes.values(), key=lambda x: -x.macs))  # big first: balances the pool
        jobs = [_Job(accelerator, (layer,), DEFAULT_MAPPER, self.layer_objective, self.seed, self.throttle)
                for layer in layers]
        jobs.append(_Job(accelerator, layers, self.mapper, self.layer_objective, self.seed, self.throttle))
        results = self._map(jobs)
        reasons = [r for _, r in results if r]
        if reasons:
            raise InfeasibleError(f"accelerator {accelerator.name!r}: {reasons[0]}")
        tables = ({layer.shape_key(): r[0][0] for layer, r in zip(layers, results[:-1], strict=True)},
                  {layer.shape_key(): r for layer, r in zip(layers, results[-1][0], strict=True)})
        nets = []
        for net in self.networks:
            options = []
            for table in tables:
                e = sum(table[x.shape_key()][0] for x in net.layers)
                lat = sum(table[x.shape_key()][1] for x in net.layers)
                key = e if self.layer_objective == "energy" else lat if self.layer_objective == "latency" else e * lat
                options.append((key, e, lat))
            _, e, lat = min(options)
            nets.append((net.name, e, lat))
        return DesignCost(networks=tuple(nets), area_mm2=accelerator.area_mm2)

    # -- evaluation ----------------------------------------------------------------------
    def _evaluate_designs(self, designs: Sequence[Design]) -> None:
        todo: dict[Design, Accelerator] = {}
        for d in designs:
            if d in self._costs or d in todo:
                continue
            if d.reason:
                self._costs[d] = d.reason
                continue
            todo[d] = self.space.build(d)
        jobs = [_Job(acc, tuple(layer for key, layer in self.shapes.items() if (key, d) not in self._layer_cache),
                     self.mapper, self.layer_objective, self.seed, self.throttle) for d, acc in todo.items()]
        results = self._map(jobs)
        for (d, acc), job, (per_shape, reason) in zip(todo.items(), jobs, results, strict=True):
            if reason:
                self._costs[d] = reason
                continue
            for layer, r in zip(job.layers, per_shape, strict=True):
                self._layer_cache[layer.shape_key(), d] = r
            nets = []
            for net in self.networks:
                got = [self._layer_cache[layer.shape_key(), d] for layer in net.layers]
                nets.append((net.name, sum(e for e, _ in got), sum(lat for _, lat in got)))
            self._costs[d] = DesignCost(networks=tuple(nets), area_mm2=acc.area_mm2)
        self.evaluated_designs += len(todo)

    def _map(self, jobs: list[_Job]) -> list[tuple[list[tuple[float, int]], str]]:
        if self.progress and self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(desc="accelerators", unit="design", file=sys.stderr, dynamic_ncols=True, leave=False)
        out = []
        if self.jobs == 1 or len(jobs) <= 1:
            for job in jobs:
                out.append(_run(job))
                self._tick()
            return out
        if self._pool is None:
            if jobs[0].layers:
                _run(_Job(jobs[0].accelerator, jobs[0].layers[:1], self.mapper, "edp", 0, False))  # compile once
            self._pool = ProcessPoolExecutor(max_workers=self.jobs)
        for res in self._pool.map(_run, jobs):
            out.append(res)
            self._tick()
        return out

    def _tick(self) -> None:
        if self._bar is not None:
            self._bar.update(1)
