"""L4 systems of several engines joined by links: spec, layer-pipelined placement and NANDS's NoC design step.

:mod:`.spec` describes engines (any accelerator the cost model prices, or an FPGA board:
:mod:`.engines`), links (mesh with XY routing, ring, point-to-point) and off-chip memory;
:mod:`.profile` prices a network's blocks on each engine with :mod:`coexplore.cost.model` or Zhang
et al.'s FPGA tiling model; :mod:`.pipeline` routes a placed chain of tasks and
gives link loads, throughput, latency and the bottleneck; :mod:`.design` partitions and places a
network and holds NANDS's bottleneck detection and alleviation; :mod:`.fpga_cluster` reads a spec
of identical boards as Super-LIP's multi-FPGA system (which splits its links can carry).
"""

from coexplore.system.design import NocDesign, alleviate, evaluate_design, initial_design
from coexplore.system.pipeline import SystemResult, evaluate_pipeline
from coexplore.system.profile import BlockProfile, network_blocks, profile_network
from coexplore.system.spec import Link, Memory, SystemSpec, load_system, mesh_system, system_from_dict

__all__ = ["BlockProfile", "Link", "Memory", "NocDesign", "SystemResult", "SystemSpec", "alleviate",
           "evaluate_design", "evaluate_pipeline", "initial_design", "load_system", "mesh_system", "network_blocks",
           "profile_network", "system_from_dict"]
