"""L4 mapping search: the best mapping of a layer, and of every layer of a network."""

from coexplore.mapper.network import map_layer, map_network
from coexplore.mapper.results import LayerMapResult, NetworkMapResult
from coexplore.mapper.sampled import map_layer_sampled

__all__ = ["LayerMapResult", "NetworkMapResult", "map_layer", "map_layer_sampled", "map_network"]
