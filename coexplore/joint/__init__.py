"""L5 joint co-exploration of networks and accelerators.

The foundation is exhaustive co-design (Codesign-NAS): an enumerable accelerator grid
under a preset's budget (:mod:`.space`), a per-(layer shape, design) cost table that
prices every NAS-Bench-201 network on every design (:mod:`.costtable`), and exact
Pareto fronts and a fixed-reference hypervolume over all pairs (:mod:`.front`).

On top: the joint problems, where a candidate is a (network, accelerator) pair
(:mod:`.problem` for NAS-Bench-201 x the grid, optionally x a precision (:mod:`.precision`),
:mod:`.fnas` for FNAS chains x FPGA tilings under a timing spec), and the strategies that search
them, one module per seed method (:mod:`.codesign_nas` and its RL search :mod:`.codesign_rl` with
:mod:`.codesign_reward`, :mod:`.naas`, :mod:`.fnas_controller`, :mod:`.dance`) over the shared parts in :mod:`.base` and
:mod:`coexplore.search` (the driver, CMA-ES, the LSTM controller of Codesign-NAS RL and FNAS),
with the baselines in :mod:`.baselines`; named in :mod:`.registry`.
"""

from coexplore.joint.costtable import CostTable, ShapeCounts, build_cost_table, nb201_shape_counts
from coexplore.joint.front import (
    FrontPairs,
    edp_hypervolume,
    edp_reference,
    front_accuracy_costs,
    front_accuracy_edp,
)
from coexplore.joint.space import DesignGrid, eyeriss_grid

__all__ = [
    "CostTable",
    "DesignGrid",
    "FrontPairs",
    "ShapeCounts",
    "build_cost_table",
    "edp_hypervolume",
    "edp_reference",
    "eyeriss_grid",
    "front_accuracy_costs",
    "front_accuracy_edp",
    "nb201_shape_counts",
]
