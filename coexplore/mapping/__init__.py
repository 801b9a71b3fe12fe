"""L1 mappings: the schedule of one layer on one accelerator, its legality and its map space."""

from coexplore.mapping.mapping import LevelMapping, Mapping

__all__ = ["LevelMapping", "Mapping"]
