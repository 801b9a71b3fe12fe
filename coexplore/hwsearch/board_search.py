"""An accelerator search on an FPGA board: FNAS's tiling template for a set of networks.

:func:`search_board` runs :func:`~coexplore.hwsearch.fpga.best_design` (an exhaustive search
of the tilings that fit the board) over the layers of every network and keeps what the
result needs to report itself: the board, the networks and the wall time. Its record is
the one hwsearch record (:mod:`coexplore.hwsearch.record`) with ``kind`` ``fpga``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from coexplore.cost.fpga import FpgaDesign, FpgaResources
from coexplore.hwsearch.fpga import FpgaSolution, best_design
from coexplore.hwsearch.record import hwsearch_record, network_row
from coexplore.presets.boards import FpgaBoard
from coexplore.spec.workload import Network

__all__ = ["FpgaSearchResult", "search_board"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FpgaSearchResult:
    """The lowest-latency tiling of ``networks`` (run one after another) on ``board``."""

    board: FpgaBoard
    networks: tuple[Network, ...]
    solution: FpgaSolution
    seconds: float

    @property
    def mode(self) -> str:
        return self.solution.mode

    @property
    def designs(self) -> tuple[FpgaDesign, ...]:
        return self.solution.designs

    @property
    def resources(self) -> FpgaResources:
        return self.solution.resources

    @property
    def latency_cycles(self) -> int:
        return self.solution.latency_cycles

    @property
    def latency_ms(self) -> float:
        return self.solution.latency.seconds * 1e3

    @property
    def evaluations(self) -> int:
        return self.solution.evaluated

    def network_latency_cycles(self) -> list[int | None]:
        """Each network's latency on the shared engine (its layers' sum); ``None`` for every
        network of a layer-pipelined design, whose stages overlap across networks."""
        if self.mode != "shared":
            return [None] * len(self.networks)
        per_layer = [x.latency_cycles for x in self.solution.latency.layers]
        out: list[int | None] = []
        start = 0
        for net in self.networks:
            out.append(int(sum(per_layer[start:start + len(net.layers)])))
            start += len(net.layers)
        return out

    def to_record(self) -> dict[str, Any]:
        """The hwsearch record, kind ``fpga``: no energy, area or EDP (``None``); DSP and BRAM use."""
        designs = [{"Tm": d.Tm, "Tn": d.Tn, "Tr": d.Tr, "Tc": d.Tc, "bits": d.bits} for d in self.designs]
        rows = [network_row(n.name, None, lat)
                for n, lat in zip(self.networks, self.network_latency_cycles(), strict=True)]
        return hwsearch_record(
            kind="fpga", networks=[n.name for n in self.networks],
            accelerator={"board": self.board.name, "mode": self.mode, "designs": designs}, edp=None, energy_pj=None,
            latency_cycles=self.latency_cycles, area_mm2=None, latency_ms=self.latency_ms,
            resources={"dsp": self.resources.dsp, "bram18k": self.resources.bram18k},
            limits={"dsp": self.board.dsp, "bram18k": self.board.bram18k}, network_rows=rows,
            baseline={"preset": self.board.name, "edp": None, "energy_pj": None, "latency_cycles": None,
                      "area_mm2": None},
            edp_ratio=None, objective="latency", strategy="exhaustive", mode=self.mode, mapper=None, seed=None,
            evaluations=self.evaluations, designs=self.evaluations, seconds=self.seconds,
            search_seconds=self.seconds, search_value=float(self.latency_cycles), best_is_preset=None, front=[],
        )


def search_board(networks: Sequence[Network], board: FpgaBoard, mode: str = "shared") -> FpgaSearchResult:
    """The lowest-latency design of ``mode`` (``shared`` or ``pipelined``) for all ``networks``' layers.

    Raises:
        SpecError: unknown ``mode``. InfeasibleError: no tiling fits the board.
    """
    t0 = time.perf_counter()
    sol = best_design([layer for net in networks for layer in net.layers], board, mode)
    return FpgaSearchResult(board=board, networks=tuple(networks), solution=sol, seconds=time.perf_counter() - t0)
