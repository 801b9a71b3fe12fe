"""Map every layer of a network: one search per distinct layer shape, in parallel.

Layers with the same shape (``Layer.shape_key``) are mapped once and share the result;
distinct shapes run on a process pool (``jobs``); a progress bar goes to stderr.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

from coexplore.cost.model import bound, evaluate
from coexplore.cost.results import objective_value
from coexplore.errors import InfeasibleError
from coexplore.mapper.problem import LayerMappingProblem
from coexplore.mapper.registry import make_mapper
from coexplore.mapper.results import LayerMapResult, NetworkMapResult
from coexplore.mapping.constraints import MapConstraints
from coexplore.mapping.encoding import decode
from coexplore.search.driver import optimize
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer, Network

__all__ = ["map_layer", "map_network"]


@dataclass(frozen=True, slots=True)
class _Job:
    layer: Layer
    accelerator: Accelerator
    mapper: str
    objective: str
    seed: int
    max_evals: int | None
    max_seconds: float | None
    constraints: MapConstraints | None = None
    padding: bool = False
    throttle: bool = False


def map_layer(
    layer: Layer, accelerator: Accelerator, *, mapper: str = "default", objective: str = "edp", seed: int = 0,
    max_evals: int | None = None, max_seconds: float | None = None, constraints: MapConstraints | None = None,
    padding: bool = False, throttle: bool = False,
) -> LayerMapResult:
    """The best mapping ``mapper`` finds for ``layer``; INFEASIBLE raises with the reason.

    With ``padding``, padded copies of the layer (:func:`~coexplore.mapper.padding.padded_variants`)
    are mapped too and the best of all is kept (imperfect factorization). With ``throttle``,
    latency is bandwidth-limited (the cost model's option) during the search and in the result.
    """
    best = _map_exact(layer, accelerator, mapper, objective, seed, max_evals, max_seconds, constraints, throttle)
    if not padding:
        return best
    from coexplore.mapper.padding import padded_variants, padding_of

    area = accelerator.area_mm2
    evaluated = best.evaluated
    for variant in padded_variants(layer, bound(layer, accelerator)[0]):
        try:
            res = _map_exact(variant, accelerator, mapper, objective, seed, max_evals, max_seconds, constraints,
                             throttle)
        except InfeasibleError:
            continue
        evaluated += res.evaluated
        if _value(objective, res, area) < _value(objective, best, area):
            best = replace(res, layer=layer, padded=tuple(padding_of(layer, variant).items()), optimal=False)
    return replace(best, evaluated=evaluated, optimal=best.optimal and not best.padded)


def _value(objective: str, res: LayerMapResult, area: float) -> float:
    return float(objective_value(objective, energy_pj=res.cost.energy_pj, latency_cycles=res.cost.latency_cycles,
                                 area_mm2=area))


def _map_exact(layer: Layer, accelerator: Accelerator, mapper: str, objective: str, seed: int,
               max_evals: int | None, max_seconds: float | None,
               constraints: MapConstraints | None, throttle: bool = False) -> LayerMapResult:
    accelerator, _ = bound(layer, accelerator)  # precision checked; a scalable array fixed at the layer's bits
    strategy, default_budget = make_mapper(mapper, layer, accelerator, seed, constraints)
    budget = max_evals if max_evals is not None else default_budget
    problem = LayerMappingProblem(layer=layer, accelerator=accelerator, objective=objective, constraints=constraints,
                                  throttle=throttle)
    result = optimize(problem, strategy, max_evals=budget, max_seconds=max_seconds)
    if not result.found:
        from coexplore.mapping.sampling import sample_legal

        sample_legal(layer, accelerator, 1, seed=seed)  # raises InfeasibleError naming the level that cannot fit
        reasons = ", ".join(f"{r} ({n})" for r, n in result.infeasible_reasons.items()) or "no candidate"
        raise InfeasibleError(
            f"layer {layer.name!r} ({layer.spec_string()}) on {accelerator.name!r}: no legal mapping found by "
            f"{mapper!r} in {result.evaluated} evaluations: {reasons}"
        )
    mapping = decode(result.best, 0)
    return LayerMapResult(layer=layer, mapping=mapping, cost=evaluate(layer, accelerator, mapping, throttle=throttle),
                          evaluated=result.evaluated, mapper=mapper, optimal=result.exhausted)


def _run(job: _Job) -> LayerMapResult:
    return map_layer(job.layer, job.accelerator, mapper=job.mapper, objective=job.objective, seed=job.seed,
                     max_evals=job.max_evals, max_seconds=job.max_seconds, constraints=job.constraints,
                     padding=job.padding, throttle=job.throttle)


def _warm_up(layer: Layer, accelerator: Accelerator) -> None:
    """Load every compiled kernel once, so forked workers inherit them instead of each loading them."""
    import numpy as np

    from coexplore.cost.model import evaluate_batch
    from coexplore.mapper.strategies._mutate import neighbours
    from coexplore.mapping.sampling import sample_candidates
    from coexplore.mapping.validate import legal_mask

    rng = np.random.default_rng(0)
    batch = neighbours(sample_candidates(layer, accelerator, 8, rng), accelerator, rng)
    evaluate_batch(layer, accelerator, batch.take(np.flatnonzero(legal_mask(layer, accelerator, batch))))


def map_network(
    network: Network, accelerator: Accelerator, *, mapper: str = "default", objective: str = "edp", seed: int = 0,
    jobs: int | None = None, max_evals: int | None = None, max_seconds: float | None = None,
    progress: bool = True, constraints: MapConstraints | None = None, padding: bool = False,
    throttle: bool = False,
) -> NetworkMapResult:
    """Map every layer; identical shapes map once; distinct shapes in parallel on ``jobs`` processes."""
    t0 = time.perf_counter()
    shapes: dict[tuple[int, ...], Layer] = {}
    for layer in network.layers:
        shapes.setdefault(layer.shape_key(), layer)
    todo = [_Job(layer, accelerator, mapper, objective, seed, max_evals, max_seconds, constraints, padding, throttle)
            for layer in sorted(shapes.values(), key=lambda x: -x.macs)]  # big first: balances the pool
    n_jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"mapping {network.name}", unit="shape", file=sys.stderr, leave=False)
    results: dict[tuple[int, ...], LayerMapResult] = {}
    try:
        if n_jobs == 1:
            for job in todo:
                results[job.layer.shape_key()] = _run(job)
                if bar is not None:
                    bar.update(1)
        else:
            _warm_up(todo[0].layer, accelerator)
            with ProcessPoolExecutor(max_workers=n_jobs) as pool:
                for job, res in zip(todo, pool.map(_run, todo), strict=True):
                    results[job.layer.shape_key()] = res
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    layers = []
    for layer in network.layers:
        hit = results[layer.shape_key()]
        same = replace(hit, layer=layer)
        cost = hit.cost if hit.layer.name == layer.name else evaluate(same.mapped_layer, accelerator, hit.mapping,
                                                                        check=False, throttle=throttle)
        layers.append(replace(same, cost=cost))
    from coexplore.cost.vector import price_vector_op

    vector = tuple(price_vector_op(op, accelerator, throttle=throttle) for op in network.vector_ops)
    return NetworkMapResult(network=network.name, accelerator=accelerator.name, objective=objective,
                            layers=tuple(layers), seconds=time.perf_counter() - t0, mapper=mapper,
                            level_names=tuple(lv.name for lv in accelerator.levels), vector_ops=vector)
