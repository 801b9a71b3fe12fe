"""Mapper names -> strategy factories, and the per-mapper default budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coexplore.errors import RegistryError
from coexplore.mapping.constraints import MapConstraints
from coexplore.search.strategy import Strategy
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["MAPPERS", "MapperSpec", "make_mapper", "mapper_names"]

Factory = Callable[[Layer, Accelerator, int, MapConstraints | None], Strategy]


@dataclass(frozen=True, slots=True)
class MapperSpec:
    factory: Factory
    max_evals: int | None
    doc: str


def _random(layer: Layer, acc: Accelerator, seed: int, constraints: MapConstraints | None) -> Strategy:
    from coexplore.mapper.strategies.random import RandomMapper

    return RandomMapper(layer=layer, accelerator=acc, seed=seed, batch_size=16384)


def _default(layer: Layer, acc: Accelerator, seed: int, constraints: MapConstraints | None) -> Strategy:
    from coexplore.mapper.strategies.local import LocalSearchMapper

    return LocalSearchMapper(layer=layer, accelerator=acc, seed=seed)


def _exhaustive(layer: Layer, acc: Accelerator, seed: int, constraints: MapConstraints | None) -> Strategy:
    from coexplore.mapper.exhaustive import ExhaustiveMapper

    return ExhaustiveMapper(layer=layer, accelerator=acc, seed=seed, constraints=constraints)


def _naas(layer: Layer, acc: Accelerator, seed: int, constraints: MapConstraints | None) -> Strategy:
    from coexplore.mapper.strategies.naas import NaasMapper

    return NaasMapper(layer=layer, accelerator=acc, seed=seed)


def _genetic(layer: Layer, acc: Accelerator, seed: int, constraints: MapConstraints | None) -> Strategy:
    from coexplore.mapper.strategies.genetic import GeneticMapper

    return GeneticMapper(layer=layer, accelerator=acc, seed=seed)


MAPPERS: dict[str, MapperSpec] = {
    "default": MapperSpec(_default, 2_000_000, "random sampling, then beam local search (fast, near-optimal)"),
    "random": MapperSpec(_random, 200_000, "best of random structurally legal mappings"),
    "exhaustive": MapperSpec(_exhaustive, None, "branch and bound over the pruned map space: its proven optimum"),
    "naas": MapperSpec(_naas, 100_000, "NAAS: importance-encoded loop orders / parallel dims + tiling, CMA-ES"),
    "genetic": MapperSpec(_genetic, 100_000, "GAMMA-style genetic algorithm over mapping genomes"),
}


def mapper_names() -> list[str]:
    return list(MAPPERS)


def make_mapper(name: str, layer: Layer, accelerator: Accelerator, seed: int,
                constraints: MapConstraints | None = None) -> tuple[Strategy, int | None]:
    """A fresh strategy for ``name`` and its default evaluation budget.

    ``constraints`` shape the space the exhaustive mapper enumerates; for the others the
    problem marks candidates that break them infeasible.
    """
    try:
        spec = MAPPERS[name]
    except KeyError:
        raise RegistryError(f"unknown mapper {name!r}; valid: {', '.join(MAPPERS)}") from None
    return spec.factory(layer, accelerator, seed, constraints), spec.max_evals
