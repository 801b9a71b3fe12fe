"""MAESTRO's energy, area and power constants, and its area/power model.

Two constant sets, selectable by name:

- ``current``: the set compiled into MAESTRO at upstream commit 4eb08d1,
  ``cost-model/include/design-space-exploration/DSE_cost-database.hpp`` lines 62-78
  (``mac_energy = 0.00023`` nJ, ``mac_area = 283``, SRAM area 0.104 and power 0.00345 per byte).
- ``nasaic``: the older set left commented out in the same file, lines 31-47
  (``mac_energy = 0.904`` nJ, ``mac_area = 4470.9014``, SRAM 64 B cells of area 4505.1889 and
  32 KiB cells of area 4161.536), which NASAIC-era results used.

Both share the access-energy multipliers of ``cost-model/include/base/BASE_constants.hpp`` lines 37-38
(L1 1.68 and L2 18.61 MAC energies per access) and the bus/arbiter scaling coefficients of
``cost-model/include/design-space-exploration/DSE_scaling-coefficients.hpp`` lines 31-36.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from coexplore.errors import RegistryError

__all__ = ["CONSTANT_SETS", "L1_ENERGY_MULTIPLIER", "L2_ENERGY_MULTIPLIER", "AreaPower", "MaestroConstants",
           "area_power", "constants"]

L1_ENERGY_MULTIPLIER = 1.68  # BASE_constants.hpp:37
L2_ENERGY_MULTIPLIER = 18.61  # BASE_constants.hpp:38
_ARBITER_C2, _ARBITER_C1, _ARBITER_C0 = 1.2886, 5.5814, -23.711  # DSE_scaling-coefficients.hpp:31-33
_BUS_C1, _BUS_C0 = 14.662, 28.895  # DSE_scaling-coefficients.hpp:35-36


@dataclass(frozen=True, slots=True)
class MaestroConstants:
    """One constant set (energies in nJ, area in MAESTRO's unit, um^2, power in mW)."""

    name: str
    mac_area: float
    mac_power: float
    mac_energy_nj: float
    l1_unit_bytes: float
    l1_cell_area: float
    l1_cell_power: float
    l2_unit_bytes: float
    l2_cell_area: float
    l2_cell_power: float
    bus_unit_area: float = 101.7938
    bus_unit_power: float = 0.8
    arbiter_unit_area: float = 395.473
    arbiter_unit_power: float = 0.34


CONSTANT_SETS = {
    "current": MaestroConstants(  # DSE_cost-database.hpp:62-78
        name="current", mac_area=283, mac_power=1.2223, mac_energy_nj=0.00023,
        l1_unit_bytes=1, l1_cell_area=0.104, l1_cell_power=0.00345,
        l2_unit_bytes=1, l2_cell_area=0.104, l2_cell_power=0.00345),
    "nasaic": MaestroConstants(  # DSE_cost-database.hpp:31-47 (commented out upstream)
        name="nasaic", mac_area=4470.9014, mac_power=1.2223, mac_energy_nj=0.904,
        l1_unit_bytes=64, l1_cell_area=4505.1889, l1_cell_power=0.2208,
        l2_unit_bytes=32768, l2_cell_area=4161.536, l2_cell_power=4),
}


def constants(name: str) -> MaestroConstants:
    if name not in CONSTANT_SETS:
        raise RegistryError(f"MAESTRO constant set {name!r}: unknown; valid: {', '.join(CONSTANT_SETS)}")
    return CONSTANT_SETS[name]


@dataclass(frozen=True, slots=True)
class AreaPower:
    area: float
    power: float
    pe_power: float
    l1_power: float
    l2_power: float
    noc_power: float


@functools.lru_cache(maxsize=4096)
def area_power(k: MaestroConstants, *, num_pes: int, vector_width: int, noc_bandwidth: int, l1_bytes: int,
               l2_bytes: int) -> AreaPower:
    """MAESTRO's accelerator model: per PE a MAC and an L1 of ``l1_bytes``, one L2, a bus of
    ``noc_bandwidth`` over all PEs and a matrix arbiter (both scaled by the PE count)."""
    l1_cells = max(math.ceil(l1_bytes / k.l1_unit_bytes), 1)
    l2_cells = max(math.ceil(l2_bytes / k.l2_unit_bytes), 1)
    mac_area, mac_power = k.mac_area * vector_width, k.mac_power * vector_width
    l1_area, l1_power = k.l1_cell_area * l1_cells, k.l1_cell_power * l1_cells
    bus_scale = _BUS_C1 * num_pes + _BUS_C0
    arb_scale = _ARBITER_C2 * num_pes**2 + _ARBITER_C1 * num_pes + _ARBITER_C0
    bus_area = k.bus_unit_area * bus_scale * noc_bandwidth
    bus_power = k.bus_unit_power * bus_scale / 1000 * noc_bandwidth
    arb_area = max(k.arbiter_unit_area * arb_scale, k.arbiter_unit_area)
    arb_power = max(k.arbiter_unit_power * arb_scale / 1000, k.arbiter_unit_power)
    pe_power = l1_total_power = pe_array_area = pe_array_power = 0.0
    for _ in range(num_pes):  # MAESTRO sums per PE, in this order; the rounding shows in its 6 printed digits
        pe_power += mac_power
        l1_total_power += l1_power
        pe_array_area += mac_area + l1_area
        pe_array_power += mac_power + l1_power
    l2_area, l2_power = k.l2_cell_area * l2_cells, k.l2_cell_power * l2_cells
    noc_area, noc_power = bus_area + arb_area, bus_power + arb_power
    return AreaPower(area=pe_array_area + l2_area + noc_area, power=pe_array_power + l2_power + noc_power,
                     pe_power=pe_power, l1_power=l1_total_power, l2_power=l2_power, noc_power=noc_power)
