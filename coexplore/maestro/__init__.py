"""MAESTRO-semantics cost model: data-centric dataflows (SpatialMap, TemporalMap, Cluster) priced as the
MAESTRO tool prices them (runtime, L1/L2 accesses per tensor, energy, area, power).

Modules: ``dfsl`` reads MAESTRO's hardware and mapping files; ``clusters`` splits a dataflow into
cluster levels; ``iteration`` enumerates iteration cases; ``reuse`` counts per-case volumes;
``analysis`` combines them into per-level delays and buffer counts; ``energy`` holds the constant sets
and the area/power model; ``model`` prices a whole network into MAESTRO's CSV columns; ``result``
holds a priced file (JSON record, CSV writer); ``batch`` prices many (layer, design) pairs at once,
bit-identical to the scalar model, with the vectorised arithmetic in ``kernels``. Semantics are
restated from MAESTRO's MIT-licensed source (commit 4eb08d1); no code is copied.
"""

from coexplore.maestro.dfsl import (
           DfslNetwork,
           MaestroHardware,
           parse_hardware,
           parse_mapping,
           read_hardware,
           read_mapping,
)
from coexplore.maestro.energy import CONSTANT_SETS
from coexplore.maestro.model import CSV_COLUMNS, LayerRow, price_network

__all__ = ["CONSTANT_SETS", "CSV_COLUMNS", "DfslNetwork", "LayerRow", "MaestroHardware", "parse_hardware",
           "parse_mapping", "price_network", "read_hardware", "read_mapping"]
