"""Mapping-search strategies (ask/tell over ``MappingBatch`` candidates) and their registry."""

from coexplore.mapper.strategies.random import RandomMapper

__all__ = ["RandomMapper"]
