"""Mapping-search strategies (ask/tell over ``MappingBatch`` candidates).

``random`` (baseline), ``local`` (the default mapper), ``naas`` (NAAS: importance
encoding + CMA-ES) and ``genetic`` (GAMMA-style); names are resolved by
:mod:`coexplore.mapper.registry`.
"""

from coexplore.mapper.strategies.genetic import GeneticMapper
from coexplore.mapper.strategies.local import LocalSearchMapper
from coexplore.mapper.strategies.naas import NaasMapper
from coexplore.mapper.strategies.random import RandomMapper

__all__ = ["GeneticMapper", "LocalSearchMapper", "NaasMapper", "RandomMapper"]
