"""The one JSON record of an accelerator search, whether it searched an ASIC template or an FPGA board.

Both :class:`~coexplore.hwsearch.search.HwSearchResult` (``kind`` ``asic``) and
:class:`~coexplore.hwsearch.board_search.FpgaSearchResult` (``kind`` ``fpga``) build their
``to_record()`` here, so ``coexplore hwsearch --json`` has one shape: every key is always
present, and a key that does not apply to the kind is ``None`` (an FPGA design has no
energy or area; an ASIC has no DSP or BRAM counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["BASELINE_KEYS", "BEST_KEYS", "RECORD_KEYS", "hwsearch_record", "network_row"]

RECORD_KEYS = ("kind", "networks", "best", "baseline", "edp_ratio", "objective", "strategy", "mode", "mapper",
               "seed", "evaluations", "designs", "seconds", "search_seconds", "evaluations_per_second",
               "search_value", "best_is_preset", "front", "precision", "saved")
BEST_KEYS = ("accelerator", "edp", "energy_pj", "latency_cycles", "area_mm2", "latency_ms", "resources", "limits",
             "networks")
BASELINE_KEYS = ("preset", "edp", "energy_pj", "latency_cycles", "area_mm2")


def network_row(name: str, energy_pj: float | None, latency_cycles: float | None) -> dict[str, Any]:
    """One network's cost under the best design (``None`` where the kind has no such cost)."""
    edp = None if energy_pj is None or latency_cycles is None else energy_pj * latency_cycles
    return {"network": name, "energy_pj": energy_pj, "latency_cycles": latency_cycles, "edp": edp}


def hwsearch_record(
    *, kind: str, networks: Sequence[str], accelerator: dict[str, Any], edp: float | None,
    energy_pj: float | None, latency_cycles: float, area_mm2: float | None, latency_ms: float | None,
    resources: dict[str, int] | None, limits: dict[str, int] | None, network_rows: list[dict[str, Any]],
    baseline: dict[str, Any], edp_ratio: float | None, objective: str, strategy: str, mode: str,
    mapper: str | None, seed: int | None, evaluations: int, designs: int, seconds: float, search_seconds: float,
    search_value: float, best_is_preset: bool | None, front: list[dict[str, Any]],
    precision: dict[str, Any] | None = None, saved: str | None = None,
) -> dict[str, Any]:
    """The record of DESIGN.md's ``coexplore hwsearch --json`` (see the module doc for ``None`` keys)."""
    if kind not in ("asic", "fpga"):
        raise ValueError(f"kind: must be 'asic' or 'fpga', got {kind!r}")
    if set(baseline) != set(BASELINE_KEYS):
        raise ValueError(f"baseline: must have the keys {', '.join(BASELINE_KEYS)}, got {', '.join(baseline)}")
    best = {"accelerator": accelerator, "edp": edp, "energy_pj": energy_pj, "latency_cycles": latency_cycles,
            "area_mm2": area_mm2, "latency_ms": latency_ms, "resources": resources, "limits": limits,
            "networks": network_rows}
    return {
        "kind": kind, "networks": list(networks), "best": best, "baseline": baseline, "edp_ratio": edp_ratio,
        "objective": objective, "strategy": strategy, "mode": mode, "mapper": mapper, "seed": seed,
        "evaluations": evaluations, "designs": designs, "seconds": seconds, "search_seconds": search_seconds,
        "evaluations_per_second": evaluations / search_seconds if search_seconds > 0 else 0.0,
        "search_value": search_value, "best_is_preset": best_is_preset, "front": front, "precision": precision,
        "saved": saved,
    }
