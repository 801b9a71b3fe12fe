"""L0 specifications: what runs (workloads), what it runs on (accelerators), and their files."""

from coexplore.spec.dims import DATASPACES, DIMS
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel
from coexplore.spec.workload import Layer, Network, parse_layer_spec

__all__ = ["DATASPACES", "DIMS", "Accelerator", "Layer", "MacUnit", "MemoryLevel", "Network", "parse_layer_spec"]
