"""FNAS's joint problem (seed 000): a chain network and an FPGA tiling, pruned on a timing spec.

A pair is a chain of the FNAS space (per layer: filter size and count; trained for real on
scikit-learn's digits, :mod:`coexplore.nas.train`) and a loop tiling (Tm, Tn, Tr, Tc) of
the shared engine of Zhang et al. (FPGA 2015) on a board (:mod:`coexplore.cost.fpga`).
The analytical model gives resources and latency first: a tiling over the board's DSPs or
BRAM is infeasible, and a pair whose latency misses the timing spec is **pruned before
its network is trained** (``prune=False`` trains it anyway and rejects it afterwards,
the baseline the pruning's time saving is measured against). Trained accuracies are
cached per network, so a network is trained once whatever tiling it is paired with.

Objectives: ``accuracy`` (maximised) and ``latency`` (cycles at the board's clock).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from coexplore.cost.fpga import DSP_PER_MAC, layer_cycles_array, resources_array
from coexplore.errors import SpecError
from coexplore.joint.problem import PairBatch
from coexplore.presets.boards import FpgaBoard
from coexplore.search.problem import Evaluation

__all__ = ["PRUNED", "ChainFpgaProblem"]

PRUNED = "timing spec"  # reasons of pruned pairs start with this
TILE_VALUES = {"Tm": (2, 3, 4, 6, 9, 12, 18, 36), "Tn": (1, 2, 3, 4, 6, 9, 12, 18), "Tr": (1, 2, 4, 8),
               "Tc": (1, 2, 4, 8)}


class ChainFpgaProblem:
    """FNAS chains on the digits x shared-engine tilings on ``board`` under ``timing_ms``.

    Args:
        board: The FPGA board (its DSPs, BRAM, bandwidth and clock).
        timing_ms: The timing spec; pairs above it are pruned (or rejected after training).
        epochs: Training epochs of each network on the digits.
        prune: Reject pairs over the spec before training (FNAS) or after it (baseline).
        objectives: ``("accuracy", "latency")``.
        seed: Training seed (split, initialisation, batch order).
        tiles: Values of each tiling axis (default :data:`TILE_VALUES`).
    """

    def __init__(self, *, board: FpgaBoard, timing_ms: float, epochs: int = 5, prune: bool = True,
                 objectives: tuple[str, ...] = ("accuracy", "latency"), seed: int = 0, max_layers: int | None = None,
                 tiles: dict[str, tuple[int, ...]] | None = None, bits: int = 16) -> None:
        from coexplore.nas.chain import ChainSpace
        from coexplore.nas.train import TrainingEvaluator
        from coexplore.optional import require

        for module in ("torch", "sklearn"):  # training needs both: fail now, not after the first candidates
            require(module, extra="nas", who="codesign space chain (networks are trained on the digits)")

        if tuple(objectives) != ("accuracy", "latency"):
            raise SpecError(f"objectives: the FPGA co-design problem has accuracy and latency, got "
                            f"{list(objectives)!r}")
        if not isinstance(timing_ms, (int, float)) or isinstance(timing_ms, bool) or not timing_ms > 0:
            raise SpecError(f"problem.timing_ms: must be a number > 0, got {timing_ms!r}")
        self.board, self.timing_ms, self.prune, self.bits = board, float(timing_ms), bool(prune), bits
        self.objectives = tuple(objectives)
        self.space = ChainSpace(dataset="digits", max_layers=max_layers)
        self.trainer = TrainingEvaluator(space=self.space, epochs=epochs, seed=seed)
        self.tiles = {k: tuple(v) for k, v in (tiles or TILE_VALUES).items()}
        self.arch_cards = tuple(self.space.cardinalities)
        self.hw_cards = tuple(len(self.tiles[k]) for k in ("Tm", "Tn", "Tr", "Tc"))
        self.spec_cycles = self.timing_ms * board.clock_mhz * 1e3
        self._accuracy: dict[str, float] = {}
        self._hardware: dict[bytes, tuple[int, int, int]] = {}
        self.train_seconds: dict[str, float] = {}

    def tiling(self, hw: np.ndarray) -> np.ndarray:
        """(Tm, Tn, Tr, Tc) of each row of hardware choices, int (n, 4)."""
        h = np.asarray(hw, dtype=np.int64)
        return np.column_stack([np.asarray(self.tiles[k])[h[:, j]] for j, k in enumerate(("Tm", "Tn", "Tr", "Tc"))])

    def _pair(self, arch_row: np.ndarray, hw_row: np.ndarray) -> tuple[int, int, int]:
        """(latency cycles, DSP48, BRAM18) of one pair from the analytical model, computed once per pair
        (the study describes every pair it has just evaluated)."""
        key = arch_row.tobytes() + b"|" + hw_row.tobytes()
        hit = self._hardware.get(key)
        if hit is None:
            net = self.space.to_network(self.space.from_choices(arch_row.tolist()))
            t = self.tiling(hw_row[None])
            dsp, bram = (int(v) for v in resources_array(t, net.layers, self.bits)[0])
            cycles = sum(int(layer_cycles_array(t, x, self.board, self.bits)[0]) for x in net.layers)
            hit = self._hardware[key] = (cycles, dsp, bram)
        return hit

    def hardware(self, cands: PairBatch) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(latency cycles, resources (n, 2) DSP and BRAM18, resource violations) from the analytical model."""
        latency = np.zeros(len(cands), dtype=np.int64)
        res = np.zeros((len(cands), 2), dtype=np.int64)
        reasons = [""] * len(cands)
        for i in range(len(cands)):
            latency[i], res[i, 0], res[i, 1] = self._pair(cands.arch[i], cands.hw[i])
            # stable reasons (a report counts trials by reason); the amounts are in the trial's parameters
            if res[i, 0] > self.board.dsp:
                reasons[i] = f"fpga: DSP48 over the {self.board.dsp} of {self.board.name}"
            elif res[i, 1] > self.board.bram18k:
                reasons[i] = f"fpga: BRAM18 over the {self.board.bram18k} of {self.board.name}"
        return latency, res, reasons

    def accuracy(self, arch_row: np.ndarray) -> float:
        """Digits accuracy (%) of a network, trained once and cached."""
        chain = self.space.from_choices(arch_row.tolist())
        key = str(chain)
        if key not in self._accuracy:
            t0 = time.perf_counter()
            self._accuracy[key] = float(self.trainer.evaluate([chain])[0])
            self.train_seconds[key] = time.perf_counter() - t0
        return self._accuracy[key]

    def evaluate(self, cands: PairBatch) -> Evaluation:
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

    def describe(self, cands: PairBatch, i: int) -> dict[str, Any]:
        tm, tn, tr, tc = (int(v) for v in self.tiling(cands.hw[i:i + 1])[0])
        chain = self.space.from_choices(cands.arch[i].tolist())
        cycles, dsp, bram = self._pair(cands.arch[i], cands.hw[i])
        return {"arch": str(chain), "arch_choices": [int(v) for v in cands.arch[i]],
                "hw": [int(v) for v in cands.hw[i]], "latency_ms": cycles / (self.board.clock_mhz * 1e3),
                "accelerator": {"board": self.board.name, "Tm": tm, "Tn": tn, "Tr": tr, "Tc": tc, "dsp": dsp,
                                "bram18k": bram, "macs_per_cycle": tm * tn, "dsp_per_mac": DSP_PER_MAC[self.bits]}}

    def hypervolume(self, accuracy: np.ndarray, latency_cycles: np.ndarray) -> float:
        """Area of (accuracy %, latency as a share of the spec) dominated, against (0 %, the spec)."""
        from coexplore.search.pareto import hypervolume_2d

        if len(accuracy) == 0:
            return 0.0
        pts = np.column_stack([-np.asarray(accuracy, dtype=np.float64),
                               np.asarray(latency_cycles, dtype=np.float64) / self.spec_cycles])
        return hypervolume_2d(pts, (0.0, 1.0))
