"""The result of pricing a DFSL file: per-layer rows, totals, JSON record and MAESTRO-style CSV."""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from coexplore.maestro.dfsl import MaestroHardware
from coexplore.maestro.model import CSV_COLUMNS, LayerRow

__all__ = ["MaestroEvaluation", "format_value"]


def format_value(value: object) -> str:
    """A value as MAESTRO's C++ stream prints it: integers in full, reals with 6 significant digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "nan" if math.copysign(1, value) > 0 else "-nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def _json_number(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True, slots=True)
class MaestroEvaluation:
    """A network priced with MAESTRO's semantics on one hardware file."""

    network: str
    hardware: MaestroHardware
    constant_set: str
    energy_quirks: bool
    layers: tuple[LayerRow, ...]
    notes: tuple[str, ...] = ()

    @property
    def runtime_cycles(self) -> int:
        return sum(r.runtime_cycles for r in self.layers)

    @property
    def energy_nj(self) -> float:
        return sum(r.energy_nj for r in self.layers)

    def to_record(self) -> dict[str, Any]:
        return {
            "network": self.network, "hardware": asdict(self.hardware), "constants": self.constant_set,
            "energy_quirks": self.energy_quirks, "runtime_cycles": self.runtime_cycles,
            "energy_nj": self.energy_nj, "notes": list(self.notes),
            "layers": [{c: _json_number(r.values[c]) for c in CSV_COLUMNS} for r in self.layers],
        }

    def write_csv(self, path: str | Path) -> None:
        """MAESTRO's per-layer CSV (its column names; values formatted as it prints them)."""
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            for r in self.layers:
                w.writerow([format_value(r.values[c]) for c in CSV_COLUMNS])
