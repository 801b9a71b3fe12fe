"""FNAS's joint problem (seed 000): a chain network and its layer-pipelined FPGA design, pruned on a timing spec.

A pair is a chain of the FNAS space (per layer: filter size and count; trained for real on
scikit-learn's digits, :mod:`coexplore.nas.train`) and FNAS's hardware decisions: one
tiled engine per convolution (Zhang et al., FPGA 2015: loop tiling Tm, Tn, Tr, Tc) and
its off-chip schedule (the order of its output tiles, row- or channel-major), all engines
sharing one board. The last engine also runs the classifier. The pipeline is priced by
:mod:`coexplore.cost.fpga_pipeline`: latency = pipeline start time + processing time
(FNAS's definition), pipeline efficiency, FPS and GOPS/W.

The analytical model prices a pair before any training: a design over the board's DSPs
or BRAM is infeasible, and a pair whose latency misses the timing spec is **pruned before
its network is trained** (``prune=False`` trains it anyway and rejects it afterwards,
the baseline the pruning's time saving is measured against). Accuracies are cached per
network, so a network is trained once whatever hardware it is paired with.

Hardware decisions, per convolution slot ``i < max_layers``: the indices of Tm, Tn, Tr,
Tc in :data:`TILE_VALUES` and of the schedule in :data:`SCHEDULES`. Slots beyond the
network's depth are unused (:meth:`ChainFpgaProblem.canonical` zeroes them).

Objectives: ``accuracy`` (maximised) and ``latency`` (cycles at the board's clock).

Departures from FNAS (DAC 2019) and its co-exploration paper (TCAD 2020), all for lack of
data, tools or time on a laptop: the digits stand in for MNIST and CIFAR-10 (filter sizes
3/5/7, MNIST's 5/7/14 do not fit 8x8 images; a global pooling before the classifier); one
board, so a stage is one layer's engine, not one FPGA of the paper's multi-FPGA pipeline;
tilings from short value lists (:data:`TILE_VALUES`); the schedule is our reading of FNAS's
off-chip schedule (tile order, which moves only the start time in Zhang et al.'s model,
where every step reloads its tiles); pipeline efficiency and the power behind GOPS/W as
:mod:`coexplore.cost.fpga_pipeline` defines them (a one-stage design is balanced by
definition); hardware-aware NAS's fixed design is our even split of the board
(:attr:`ChainFpgaProblem.reference_hw`).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.cost.fpga import SCHEDULES, FpgaDesign
from coexplore.cost.fpga_pipeline import PipelineCost, pipeline_cost
from coexplore.errors import SpecError
from coexplore.joint.problem import PairEncoded
from coexplore.presets.boards import FpgaBoard
from coexplore.search.problem import Evaluation
from coexplore.spec.workload import Layer

__all__ = ["PRUNED", "TILE_VALUES", "ChainFpgaProblem", "PairHardware"]

PRUNED = "timing spec"  # reasons of pruned pairs start with this
TILE_VALUES = {"Tm": (1, 2, 3, 6, 9, 18), "Tn": (1, 2, 3, 6, 9, 18), "Tr": (1, 2, 4, 8), "Tc": (1, 2, 4, 8)}
AXES = ("Tm", "Tn", "Tr", "Tc", "schedule")  # hardware decisions of one convolution slot


@dataclass(frozen=True, slots=True, kw_only=True)
class PairHardware:
    """A pair's analytical figures: the pipeline's cost and the network's size (depth counts layers with weights)."""

    cost: PipelineCost
    depth: int
    params: int
    designs: tuple[FpgaDesign, ...]


class ChainFpgaProblem(PairEncoded):
    """FNAS chains on the digits x layer-pipelined tilings on ``board`` under ``timing_ms``.

    Args:
        board: The FPGA board (its DSPs, BRAM, bandwidth and clock).
        timing_ms: The timing spec on the latency; pairs above it are pruned (or rejected after training).
        epochs: Training epochs of each network on the digits.
        prune: Reject pairs over the spec before training (FNAS) or after it (baseline).
        objectives: ``("accuracy", "latency")``.
        seed: Training seed (split, initialisation, batch order).
        max_layers: Deepest chain (the digits preset's 5 when None).
        tiles: Values of each tiling axis (default :data:`TILE_VALUES`).
        sizes, counts: Filter sizes and counts a layer may take (the digits preset's when None).
        evaluator: Accuracy source with ``evaluate(chains) -> percent`` (default: training on the digits).
    """

    def __init__(self, *, board: FpgaBoard, timing_ms: float, epochs: int = 5, prune: bool = True,
                 objectives: tuple[str, ...] = ("accuracy", "latency"), seed: int = 0, max_layers: int | None = None,
                 tiles: dict[str, tuple[int, ...]] | None = None, bits: int = 16, sizes: tuple[int, ...] | None = None,
                 counts: tuple[int, ...] | None = None, evaluator: Any = None) -> None:
        from coexplore.nas.chain import ChainSpace

        if tuple(objectives) != ("accuracy", "latency"):
            raise SpecError(f"objectives: the FPGA co-design problem has accuracy and latency, got "
                            f"{list(objectives)!r}")
        if not isinstance(timing_ms, (int, float)) or isinstance(timing_ms, bool) or not timing_ms > 0:
            raise SpecError(f"problem.timing_ms: must be a number > 0, got {timing_ms!r}")
        self.board, self.timing_ms, self.prune, self.bits = board, float(timing_ms), bool(prune), bits
        self.objectives = tuple(objectives)
        self.space = ChainSpace(dataset="digits", max_layers=max_layers, sizes=sizes, counts=counts)
        if evaluator is None:
            from coexplore.nas.train import TrainingEvaluator
            from coexplore.optional import require

            for module in ("torch", "sklearn"):  # training needs both: fail now, not after the first candidates
                require(module, extra="nas", who="codesign space chain (networks are trained on the digits)")
            evaluator = TrainingEvaluator(space=self.space, epochs=epochs, seed=seed)
        self.trainer = evaluator
        self.tiles = {k: tuple((tiles or TILE_VALUES)[k]) for k in ("Tm", "Tn", "Tr", "Tc")}
        self.arch_cards = tuple(self.space.cardinalities)
        slot = (*(len(self.tiles[k]) for k in ("Tm", "Tn", "Tr", "Tc")), len(SCHEDULES))
        self.hw_cards = slot * self.space.max_layers
        self.spec_cycles = self.timing_ms * board.clock_mhz * 1e3
        self._accuracy: dict[str, float] = {}
        self._hardware: dict[bytes, PairHardware] = {}
        self.train_seconds: dict[str, float] = {}

    # -- decisions ---------------------------------------------------------------------------
    def canonical(self, arch: np.ndarray, hw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same pairs with unused decisions zeroed (layers and engines beyond each network's depth)."""
        arch = np.array(arch, dtype=np.int64, copy=True)
        hw = np.array(hw, dtype=np.int64, copy=True)
        depth = arch[:, 0] + 1
        cols = np.arange(arch.shape[1])
        arch[(cols[None] > 2 * depth[:, None])] = 0
        hcols = np.arange(hw.shape[1]) // len(AXES)
        hw[hcols[None] >= depth[:, None]] = 0
        return arch, hw

    def designs(self, depth: int, hw_row: np.ndarray) -> tuple[FpgaDesign, ...]:
        """The engines of the first ``depth`` slots of a hardware row."""
        h = np.asarray(hw_row, dtype=np.int64).reshape(-1, len(AXES))
        return tuple(FpgaDesign(Tm=self.tiles["Tm"][r[0]], Tn=self.tiles["Tn"][r[1]], Tr=self.tiles["Tr"][r[2]],
                                Tc=self.tiles["Tc"][r[3]], schedule=SCHEDULES[r[4]], bits=self.bits)
                     for r in h[:depth])

    # -- pricing -----------------------------------------------------------------------------
    def pair(self, arch_row: np.ndarray, hw_row: np.ndarray) -> PairHardware:
        """A pair's pipeline priced once (the strategy, the evaluation and the description share it)."""
        a, h = self.canonical(np.asarray(arch_row)[None], np.asarray(hw_row)[None])
        key = a.tobytes() + b"|" + h.tobytes()
        hit = self._hardware.get(key)
        if hit is None:
            chain = self.space.from_choices(a[0].tolist())
            layers = self.space.to_network(chain).layers
            designs = self.designs(len(chain.layers), h[0])
            stages: list[tuple[FpgaDesign, tuple[Layer, ...]]] = [
                (d, (layer,)) for d, layer in zip(designs, layers[:-1], strict=True)]
            stages[-1] = (designs[-1], (layers[-2], layers[-1]))  # the last engine also runs the classifier
            params, cin = 0, self.space.in_channels
            for size, count in chain.layers:
                params += cin * count * size * size + 2 * count  # convolution, BatchNorm's scale and shift
                cin = count
            params += (cin + 1) * self.space.num_classes
            hit = self._hardware[key] = PairHardware(cost=pipeline_cost(stages, self.board), depth=len(layers),
                                                     params=params, designs=designs)
        return hit

    def hardware(self, cands: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(latency cycles, resources (n, 2) DSP and BRAM18, resource violations) from the analytical model."""
        cands = self.as_pairs(cands)
        latency = np.zeros(len(cands), dtype=np.int64)
        res = np.zeros((len(cands), 2), dtype=np.int64)
        reasons = [""] * len(cands)
        for i in range(len(cands)):
            c = self.pair(cands.arch[i], cands.hw[i]).cost
            latency[i], res[i] = c.latency_cycles, (c.dsp, c.bram18k)
            # stable reasons (a report counts trials by reason); the amounts are in the trial's parameters
            if c.dsp > self.board.dsp:
                reasons[i] = f"fpga: DSP48 over the {self.board.dsp} of {self.board.name}"
            elif c.bram18k > self.board.bram18k:
                reasons[i] = f"fpga: BRAM18 over the {self.board.bram18k} of {self.board.name}"
        return latency, res, reasons

    def meets_spec(self, cands: Any) -> np.ndarray:
        """bool (n,): the pair fits the board and meets the timing spec (analytical; nothing is trained)."""
        cands = self.as_pairs(cands)
        latency, _, reasons = self.hardware(cands)
        return np.array([not r for r in reasons], dtype=bool) & (latency <= self.spec_cycles)

    def efficiency(self, cands: Any) -> np.ndarray:
        """Pipeline efficiency in [0, 1] of each pair (:mod:`coexplore.cost.fpga_pipeline`)."""
        cands = self.as_pairs(cands)
        return np.array([self.pair(cands.arch[i], cands.hw[i]).cost.efficiency for i in range(len(cands))])

    def accuracy(self, arch_row: np.ndarray) -> float:
        """Digits accuracy (%) of a network, trained once and cached."""
        chain = self.space.from_choices(np.asarray(arch_row).tolist())
        key = str(chain)
        if key not in self._accuracy:
            t0 = time.perf_counter()
            self._accuracy[key] = float(self.trainer.evaluate([chain])[0])
            self.train_seconds[key] = time.perf_counter() - t0
        return self._accuracy[key]

    def evaluate(self, cands: Any) -> Evaluation:
        cands = self.as_pairs(cands)
        latency, _, reasons = self.hardware(cands)
        values = np.full((len(cands), 2), np.inf)
        ok = np.array([not r for r in reasons], dtype=bool)
        for i in np.flatnonzero(ok):
            late = latency[i] > self.spec_cycles
            if late and self.prune:
                reasons[i] = f"{PRUNED}: over {self.timing_ms:g} ms (pruned before training)"
                ok[i] = False
                continue
            acc = self.accuracy(cands.arch[i])
            if late:
                reasons[i] = f"{PRUNED}: over {self.timing_ms:g} ms (rejected after training)"
                ok[i] = False
                continue
            values[i] = (-acc, float(latency[i]))
        return Evaluation(values=values, feasible=ok, reasons=tuple(reasons))

    def describe(self, cands: Any, i: int) -> dict[str, Any]:
        cands = self.as_pairs(cands)
        arch, hw = self.canonical(cands.arch[i:i + 1], cands.hw[i:i + 1])
        chain = self.space.from_choices(arch[0].tolist())
        p = self.pair(arch[0], hw[0])
        c = p.cost
        stages = [{"Tm": d.Tm, "Tn": d.Tn, "Tr": d.Tr, "Tc": d.Tc, "schedule": d.schedule, "cycles": int(cyc)}
                  for d, cyc in zip(p.designs, c.stage_cycles, strict=True)]
        return {"arch": str(chain), "arch_choices": [int(v) for v in arch[0]], "hw": [int(v) for v in hw[0]],
                "latency_ms": c.latency_ms, "depth": p.depth, "params": p.params, "macs": c.macs,
                "pipeline_efficiency": c.efficiency, "fps": c.fps, "gops": c.gops, "power_w": c.power_w,
                "gops_per_w": c.gops_per_w, "start_ms": c.start_cycles / (self.board.clock_mhz * 1e3),
                "accelerator": {"board": self.board.name, "mode": "pipelined", "stages": stages, "dsp": c.dsp,
                                "bram18k": c.bram18k}}

    # -- what the baselines need ---------------------------------------------------------------
    @functools.cached_property
    def reference_hw(self) -> np.ndarray:
        """The fixed design hardware-aware NAS searches on: the board split evenly between ``max_layers`` engines.

        Every slot gets the same tiling (row-major schedule): of the uniform tilings whose
        ``max_layers`` engines fit the board, the fastest for the largest network of the
        space (every layer the largest filter size and count); ties go to fewer DSPs.
        """
        L = self.space.max_layers
        big = np.array([L - 1, *(len(self.space.sizes) - 1, len(self.space.counts) - 1) * L], dtype=np.int64)
        best: tuple[float, int] | None = None
        out = None
        for idx in np.ndindex(*self.hw_cards[:4]):
            hw = np.array([*idx, 0] * L, dtype=np.int64)
            c = self.pair(big, hw).cost
            if c.dsp > self.board.dsp or c.bram18k > self.board.bram18k:
                continue
            key = (c.latency_cycles, c.dsp)
            if best is None or key < best:
                best, out = key, hw
        if out is None:
            raise SpecError(f"board {self.board.name}: not even {L} engines of the smallest tiling fit")
        return out

    def design_sweep(self, rng: np.random.Generator, n: int, arch: np.ndarray) -> np.ndarray:
        """Up to ``n`` distinct designs, in random order, that fit the board for network ``arch`` (sequential's
        hardware phase): uniform draws of the used slots' decisions, over-budget ones rejected."""
        arch = np.asarray(arch, dtype=np.int64)[None]
        out: dict[bytes, np.ndarray] = {}
        for _ in range(50):
            if len(out) >= n:
                break
            draw = np.column_stack([rng.integers(c, size=4 * n) for c in self.hw_cards])
            _, hw = self.canonical(np.repeat(arch, len(draw), axis=0), draw)
            for row in hw:
                if len(out) >= n:
                    break
                c = self.pair(arch[0], row).cost
                if c.dsp <= self.board.dsp and c.bram18k <= self.board.bram18k:
                    out.setdefault(row.tobytes(), row)
        return np.array(list(out.values()), dtype=np.int64).reshape(-1, len(self.hw_cards))

    def hypervolume(self, accuracy: np.ndarray, latency_cycles: np.ndarray) -> float:
        """Area of (accuracy %, latency as a share of the spec) dominated, against (0 %, the spec)."""
        from coexplore.search.pareto import spec_hypervolume

        return spec_hypervolume(accuracy, latency_cycles, self.spec_cycles)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("reference_hw", None)
        return state
