"""Plain-text tables and the JSON shapes of the CLI's results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coexplore.cost.results import NetworkCost

__all__ = ["network_cost_dict", "print_network_cost", "table"]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print an aligned table; numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str], raw: Sequence[Any]) -> str:
        parts = []
        for i, c in enumerate(r):
            num = isinstance(raw[i], (int, float)) or (c[:1].isdigit() and not c[-1:].isalpha())
            parts.append(c.rjust(widths[i]) if num else c.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    print(line(cells[0], headers))
    print("  ".join("-" * w for w in widths))
    for r, raw in zip(cells[1:], rows, strict=True):
        print(line(r, raw))


def network_cost_dict(cost: NetworkCost, *, seconds: float) -> dict[str, Any]:
    layers = []
    for lc, m in zip(cost.layers, cost.mappings, strict=True):
        layers.append({
            "name": lc.layer, "macs": lc.macs, "energy_pj": lc.energy_pj, "latency_cycles": lc.latency_cycles,
            "edp": lc.edp, "utilization": lc.utilization,
            "energy_by_level_pj": {lv.name: lv.energy_pj for lv in lc.levels},
            "mapping": m.to_dict() if hasattr(m, "to_dict") else m,
        })
    return {
        "network": cost.network, "accelerator": cost.accelerator, "energy_pj": cost.energy_pj,
        "latency_cycles": cost.latency_cycles, "edp": cost.edp, "area_mm2": cost.area_mm2,
        "macs": cost.macs, "seconds": seconds, "layers": layers,
    }


def print_network_cost(d: dict[str, Any]) -> None:
    rows = []
    for x in d["layers"]:
        rows.append([x["name"], f"{x['macs']:,}", f"{x['latency_cycles']:,}", f"{x['energy_pj'] / 1e6:.3f}",
                     f"{x['edp']:.3e}", f"{x['utilization']:.0%}"])
    table(["layer", "MACs", "cycles", "energy uJ", "EDP pJ*cyc", "util"], rows)
    print(f"\n{d['network']} on {d['accelerator']}: {d['latency_cycles']:,} cycles, "
          f"{d['energy_pj'] / 1e6:.3f} uJ, EDP {d['edp']:.4e} pJ*cycles, area {d['area_mm2']:.2f} mm2 "
          f"({d['seconds']:.1f} s)")
