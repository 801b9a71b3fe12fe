"""FNAS's layer-pipelined FPGA design priced as a pipeline: latency, balance, throughput, energy efficiency.

A design is a chain of *stages*. Each stage is one tiled engine (:class:`FpgaDesign`,
Zhang et al.'s model in :mod:`coexplore.cost.fpga`) that runs one or more consecutive
layers in turn; the engines share one board, so their DSPs and BRAM add up. FNAS
(Jiang et al., DAC 2019, seed 000) gives every layer its own engine; its co-exploration
paper (Jiang et al., TCAD 2020) groups layers into stages, one per FPGA.

* **latency** = pipeline start time + processing time (FNAS's definition). The start time
  sums, over every stage but the last, the time until the stage has stored what the next
  stage's first tile reads: its earlier layers in full, then the first output tiles of
  its last layer in its schedule's order. The processing time is the slowest stage's
  latency: in steady state one image leaves per processing time.
* **pipeline efficiency** = mean over stages of (stage latency / processing time): the
  share of the pipeline's stage-time spent working, 1 when the stages are balanced (and,
  by this definition, for a single stage). It is the hardware utilization that the
  co-exploration paper's comparison table reports as "Pipeline Eff.".
* **FPS** = clock / processing time; **GOPS** = 2 x MACs x FPS / 10^9 (a MAC is 2 ops).
* **power** (:func:`power_w`): the paper's power figures come from the vendor tools on
  their boards, which are not available here. We use a proportional model instead: the
  board draws :data:`WATTS_PER_DSP_AT_100MHZ` per occupied DSP slice, scaled with the
  clock. The figure is Zhang et al.'s measurement (FPGA 2015: 18.61 W for their
  accelerator of 2,240 occupied DSP48E1 slices at 100 MHz on a VC707 board), so static,
  BRAM, DRAM and board power are folded into it in that design's proportions. It ranks
  designs by how much DSP-time they leave idle; its absolute watts are an estimate.
  **GOPS/W** = GOPS / power.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coexplore.cost.fpga import FpgaDesign, layer_latency, resources_array
from coexplore.errors import SpecError
from coexplore.presets.boards import FpgaBoard
from coexplore.spec.workload import Layer

__all__ = ["WATTS_PER_DSP_AT_100MHZ", "PipelineCost", "pipeline_cost", "power_w"]

#: Zhang et al. (FPGA 2015): 18.61 W measured for 2,240 DSP48E1 slices (Tm=64, Tn=7, 5 per float MAC) at 100 MHz.
WATTS_PER_DSP_AT_100MHZ = 18.61 / 2240


def power_w(dsp: int, clock_mhz: float) -> float:
    """Board power (W) of a design occupying ``dsp`` DSP slices at ``clock_mhz`` (proportional model, module doc)."""
    return WATTS_PER_DSP_AT_100MHZ * dsp * clock_mhz / 100.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineCost:
    """One image through a pipelined design (definitions in the module doc).

    ``stage_cycles`` are the stages' latencies, ``first_cycles`` the time until each
    stage (but the last) lets the next one start; ``dsp`` and ``bram18k`` add up over
    the engines; ``macs`` are the network's.
    """

    latency_cycles: int
    start_cycles: int
    processing_cycles: int
    stage_cycles: tuple[int, ...]
    first_cycles: tuple[int, ...]
    dsp: int
    bram18k: int
    macs: int
    clock_mhz: float

    @property
    def latency_ms(self) -> float:
        return self.latency_cycles / (self.clock_mhz * 1e3)

    @property
    def efficiency(self) -> float:
        """Pipeline efficiency in [0, 1]: mean stage latency over the slowest stage's."""
        return sum(self.stage_cycles) / (len(self.stage_cycles) * self.processing_cycles)

    @property
    def fps(self) -> float:
        return self.clock_mhz * 1e6 / self.processing_cycles

    @property
    def gops(self) -> float:
        return 2.0 * self.macs * self.fps / 1e9

    @property
    def power_w(self) -> float:
        return power_w(self.dsp, self.clock_mhz)

    @property
    def gops_per_w(self) -> float:
        return self.gops / self.power_w


@functools.lru_cache(maxsize=1 << 16)
def _layer(design: FpgaDesign, layer: Layer, board: FpgaBoard, nxt: Layer | None,
           nxt_design: FpgaDesign | None) -> tuple[int, int]:
    """(latency, first output) cycles of one layer, memoised: a search prices the same layer shapes again and again."""
    lat = layer_latency(design, layer, board, nxt=nxt, nxt_design=nxt_design)
    return lat.latency_cycles, lat.first_output_cycles


@functools.lru_cache(maxsize=1 << 14)
def _resources(design: FpgaDesign, layers: tuple[Layer, ...]) -> tuple[int, int]:
    d, b = resources_array(np.array([design.tiles]), layers, design.bits)[0]
    return int(d), int(b)


def pipeline_cost(stages: Sequence[tuple[FpgaDesign, Sequence[Layer]]], board: FpgaBoard) -> PipelineCost:
    """Price a pipeline of ``(engine, its layers in order)`` stages on ``board`` (no budget check).

    Each engine's buffers are sized for its own layers (:func:`resources_array`).

    Raises:
        SpecError: no stage, or a stage without layers.
    """
    if not stages or any(not layers for _, layers in stages):
        raise SpecError(f"stages: must be one or more (engine, layers) with at least one layer each, got "
                        f"{[len(ls) for _, ls in stages]!r} layers per stage")
    dsp = bram = macs = 0
    stage_cycles, first_cycles = [], []
    for s, (design, layers) in enumerate(stages):
        d, b = _resources(design, tuple(layers))
        dsp, bram = dsp + d, bram + b
        nxt = stages[s + 1] if s + 1 < len(stages) else None
        total = 0
        for i, layer in enumerate(layers):
            macs += layer.macs
            if i == len(layers) - 1 and nxt is not None:
                cycles, first = _layer(design, layer, board, nxt[1][0], nxt[0])
                first_cycles.append(total + first)
            else:
                cycles, first = _layer(design, layer, board, None, None)
            total += cycles
        stage_cycles.append(total)
    start, processing = sum(first_cycles), max(stage_cycles)
    return PipelineCost(latency_cycles=start + processing, start_cycles=start, processing_cycles=processing,
                        stage_cycles=tuple(stage_cycles), first_cycles=tuple(first_cycles), dsp=dsp, bram18k=bram,
                        macs=macs, clock_mhz=board.clock_mhz)
