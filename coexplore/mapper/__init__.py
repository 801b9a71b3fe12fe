"""L4 mapping search: the best mapping of a layer, and of every layer of a network."""

from coexplore.mapper.sampled import LayerMapResult, NetworkMapResult, map_layer_sampled, map_network_sampled

__all__ = ["LayerMapResult", "NetworkMapResult", "map_layer_sampled", "map_network_sampled"]
