"""FPGA cost with multipliers in LUTs: one FINN-R MVAU engine per layer of a dataflow design.

QuanNAS (Lu et al., ICCAD 2019) prices a quantized, layer-pipelined CNN on an FPGA by its
LUTs and throughput, with per-layer bit widths. Its own equations are not published in a
usable form, so this module stands in FINN-R's analytic estimate of a Matrix-Vector-
Activation Unit (Blott et al., "FINN-R: An End-to-End Deep-Learning Framework for Fast
Exploration of Quantized Neural Networks", ACM TRETS 11(3), 2018), as Xilinx FINN applies
it (``MatrixVectorActivation`` lut/bram/dsp estimates and expected cycles). The formulas
below are restated from those sources and written afresh; no FINN code is used.

A layer is a matrix of MW = (C/groups)*R*S columns and MH = K rows applied to NV = N*P*Q
input vectors (an FC layer has P = Q = R = S = 1; a grouped conv keeps only its own
C/groups columns per row. **Departure:** FINN prices depthwise convs with a different unit,
the VVAU; here they are MVAUs of R*S columns). An engine (:class:`MvauEngine`) computes PE rows and SIMD
columns per cycle with W-bit weights, A-bit inputs and, if thresholded, B-bit outputs:

* cycles = ceil(MH/PE) * ceil(MW/SIMD) * NV. **Departure:** FINN requires PE | MH and
  SIMD | MW; here any 1 <= PE <= MH and 1 <= SIMD <= MW is priced, the last fold partly idle.
* acc_bits = min(32, ceil(alpha + log2(1 + 2**-alpha) + 1)), alpha = log2(MW) + W + A - 1 -
  [input signed] (the accumulator bound of Colbert et al., arXiv 2301.13376, that FINN uses).
* per PE: mult = SIMD*(2*ceil((W+A)/6) - 1)*(W+A) (0 with DSPs), adder tree =
  (W+A)*(2*SIMD - 1), accumulator = acc_bits; with thresholds (B given, distributed RAM)
  thr = (2**B - 1)*acc_bits*ceil(ceil(MH/PE)/64) and comparators = (2**B - 1)*acc_bits.
* weights: wmem = ceil(MW*MH/(PE*SIMD)) words of PE*SIMD*W bits; up to 128 words they sit
  in LUTRAM (PE*SIMD*W*ceil(wmem/64) LUTs), beyond in RAMB18s by FINN's width/depth rule.
* LUT = int(300 + 1.1*PE*(mult + adder tree + acc + thr + comparators) + LUTRAM) (FINN-R's
  fit); DSP = PE*SIMD*ceil((W+A)/48) with DSPs, else 0.

A pipeline's throughput is set by its slowest engine; its latency is the sum of the engines'
cycles (FINN's critical-path estimate of a dataflow design, no overlap assumed). The layer's
own precision fields are not read: the engine's bits price it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coexplore.errors import InfeasibleError, SpecError
from coexplore.presets.boards import FpgaBoard
from coexplore.spec.workload import Layer

__all__ = ["RES_TYPES", "EngineCost", "LutPipelineCost", "MvauEngine", "engine_cost", "lut_pipeline_cost",
           "max_fps", "mvau_shape", "over_budget"]

RES_TYPES = ("lut", "dsp")  # where the multipliers live
MAX_BITS = 16
C0_LUTS, C1_LUTS = 300, 1.1  # FINN-R's fitted constant and per-PE scale
LUTRAM_MAX_WORDS = 128  # deeper weight memories go to block RAM


def _bits_problem(field: str, v: object, allow_none: bool) -> list[str]:
    if v is None and allow_none:
        return []
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_BITS:
        extra = " or None (no thresholding activation)" if allow_none else ""
        return [f"mvau_engine.{field}: bit widths outside the supported set: must be an integer from 1 to "
                f"{MAX_BITS}{extra}, got {v!r}"]
    return []


@dataclass(frozen=True, slots=True, kw_only=True)
class MvauEngine:
    """One MVAU: ``pe`` rows and ``simd`` columns in parallel; W, A and (thresholded) B bits."""

    pe: int
    simd: int
    weight_bits: int
    input_bits: int
    output_bits: int | None
    input_signed: bool = False
    res_type: str = "lut"

    def __post_init__(self) -> None:
        problems = [f"mvau_engine.{f}: must be an integer >= 1, got {getattr(self, f)!r}"
                    for f in ("pe", "simd") if isinstance(getattr(self, f), bool)
                    or not isinstance(getattr(self, f), int) or getattr(self, f) < 1]
        problems += _bits_problem("weight_bits", self.weight_bits, False)
        problems += _bits_problem("input_bits", self.input_bits, False)
        problems += _bits_problem("output_bits", self.output_bits, True)
        if not isinstance(self.input_signed, bool):
            problems.append(f"mvau_engine.input_signed: must be True or False, got {self.input_signed!r}")
        if self.res_type not in RES_TYPES:
            problems.append(f"mvau_engine.res_type: must be one of {', '.join(RES_TYPES)}, got {self.res_type!r}")
        if problems:
            raise SpecError(problems)


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineCost:
    """One engine on one layer; the ``*_luts`` are per PE, ``weight_luts`` is the LUTRAM total."""

    lut: int
    dsp: int
    bram18k: int
    cycles: int
    acc_bits: int
    mult_luts: int
    addertree_luts: int
    acc_luts: int
    thr_luts: int
    comp_luts: int
    weight_luts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LutPipelineCost:
    """A dataflow design, one engine per layer: resources add up, the slowest engine sets the pace."""

    engines: tuple[EngineCost, ...]
    clock_mhz: float
    lut: int
    dsp: int
    bram18k: int
    bottleneck_cycles: int
    latency_cycles: int

    @property
    def fps(self) -> float:
        """Images per second in steady state (one per bottleneck interval)."""
        return self.clock_mhz * 1e6 / self.bottleneck_cycles

    @property
    def latency_ms(self) -> float:
        return self.latency_cycles / (self.clock_mhz * 1e3)


def mvau_shape(layer: Layer) -> tuple[int, int, int]:
    """(MW, MH, NV): columns, rows and input vectors of ``layer`` as a matrix-vector product."""
    b = layer.bounds()
    return b["C"] * b["R"] * b["S"], b["K"], b["N"] * b["P"] * b["Q"]


_Ints = np.ndarray | np.integer | int


def _ceil(a: _Ints, b: _Ints) -> np.ndarray:
    return np.asarray(-(-np.asarray(a) // b))


def _bram18(words: np.ndarray, width: np.ndarray) -> np.ndarray:
    """RAMB18s for ``words`` x ``width`` bits, by FINN's aspect-ratio rule (1x16K ... 36x512)."""
    return np.select(
        [width == 1, width == 2, width <= 4, width <= 9, (width <= 18) | (words > 512)],
        [_ceil(words, 16384), _ceil(words, 8192), _ceil(words, 4096) * _ceil(width, 4),
         _ceil(words, 2048) * _ceil(width, 9), _ceil(words, 1024) * _ceil(width, 18)],
        _ceil(words, 512) * _ceil(width, 36))


def _mvau_arrays(mw: int, mh: int, nv: int, pe: _Ints, simd: _Ints, w: int, a: int, b: int | None,
                 signed: bool, dsp: bool) -> dict[str, np.ndarray]:
    """Every figure of the module doc for a batch of engines: int64 arrays shaped like ``pe`` and ``simd``."""
    pe, simd = np.broadcast_arrays(np.asarray(pe, dtype=np.int64), np.asarray(simd, dtype=np.int64))
    wa = w + a
    alpha = np.log2(mw) + wa - 1 - int(signed)
    acc = min(32, int(np.ceil(alpha + np.log2(1 + 2.0**-alpha) + 1)))
    mult = np.zeros_like(simd) if dsp else simd * (2 * -(-wa // 6) - 1) * wa
    adder = wa * (2 * simd - 1)
    tmem = _ceil(np.int64(mh), pe)
    levels = 0 if b is None else 2**b - 1
    thr = levels * acc * _ceil(tmem, 64)
    comp = np.full_like(pe, levels * acc)
    width = pe * simd
    wmem = _ceil(np.int64(mw * mh), width)
    in_lutram = wmem <= LUTRAM_MAX_WORDS
    weight_luts = np.where(in_lutram, width * w * _ceil(wmem, 64), 0)
    bram = np.where(in_lutram, 0, _bram18(wmem, width * w))
    lut = (C0_LUTS + C1_LUTS * (pe * (mult + adder + acc + thr + comp)) + weight_luts).astype(np.int64)
    return {"lut": lut, "dsp": width * -(-wa // 48) if dsp else np.zeros_like(pe), "bram18k": bram,
            "cycles": _ceil(np.int64(mh), pe) * _ceil(np.int64(mw), simd) * nv, "acc_bits": np.full_like(pe, acc),
            "mult_luts": mult, "addertree_luts": adder, "acc_luts": np.full_like(pe, acc), "thr_luts": thr,
            "comp_luts": comp, "weight_luts": weight_luts}


@functools.lru_cache(maxsize=1 << 16)
def _engine_cost(mw: int, mh: int, nv: int, e: MvauEngine) -> EngineCost:
    t = _mvau_arrays(mw, mh, nv, np.int64(e.pe), np.int64(e.simd), e.weight_bits, e.input_bits, e.output_bits,
                     e.input_signed, e.res_type == "dsp")
    return EngineCost(**{k: int(v) for k, v in t.items()})


def engine_cost(layer: Layer, engine: MvauEngine) -> EngineCost:
    """Price ``engine`` running ``layer`` (formulas in the module doc); memoised on the layer's shape.

    Raises:
        SpecError: PE exceeds MH (= K) or SIMD exceeds MW (= C/groups*R*S).
    """
    mw, mh, nv = mvau_shape(layer)
    limits = (("pe", engine.pe, "MH (K)", mh), ("simd", engine.simd, "MW (C/groups*R*S)", mw))
    problems = [f"mvau_engine.{f}: must be at most {name} = {limit} for layer {layer.name!r}, got {v}"
                for f, v, name, limit in limits if v > limit]
    if problems:
        raise SpecError(problems)
    return _engine_cost(mw, mh, nv, engine)


def lut_pipeline_cost(layers: Sequence[Layer], engines: Sequence[MvauEngine], board: FpgaBoard) -> LutPipelineCost:
    """One engine per layer on ``board``'s clock; feasibility is :func:`over_budget`'s job.

    Raises:
        SpecError: no layers, a different number of engines than layers, or an engine too wide for its layer.
    """
    if not layers:
        raise SpecError("layers: must not be empty, got 0 layers")
    if len(engines) != len(layers):
        raise SpecError(f"engines: must give one engine per layer ({len(layers)}), got {len(engines)}")
    costs = tuple(engine_cost(layer, e) for layer, e in zip(layers, engines))
    return LutPipelineCost(
        engines=costs, clock_mhz=board.clock_mhz, lut=sum(c.lut for c in costs), dsp=sum(c.dsp for c in costs),
        bram18k=sum(c.bram18k for c in costs), bottleneck_cycles=max(c.cycles for c in costs),
        latency_cycles=sum(c.cycles for c in costs))


def over_budget(cost: LutPipelineCost, board: FpgaBoard, lut_budget: int | None = None) -> list[str]:
    """One line per resource ``cost`` needs beyond its limit (LUTs: ``lut_budget`` or the board's); [] if it fits."""
    lut_limit = f"the LUT budget of {lut_budget}" if lut_budget is not None else f"board {board.name!r} has {board.lut}"
    checks = ((cost.lut, board.lut if lut_budget is None else lut_budget, "LUTs", lut_limit),
              (cost.dsp, board.dsp, "DSP48 slices", f"board {board.name!r} has {board.dsp}"),
              (cost.bram18k, board.bram18k, "BRAM18 blocks", f"board {board.name!r} has {board.bram18k}"))
    return [f"needs {need} {label}, {text}" for need, limit, label, text in checks if need > limit]


def _per_layer(value: object, n: int, field: str) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise SpecError(f"{field}: must give one value per layer ({n}) or a single value, got {len(value)}")
        return list(value)
    return [value] * n


def _candidates(mw: int, mh: int) -> tuple[np.ndarray, np.ndarray]:
    """All (PE, SIMD) pairs whose PE and SIMD are the smallest for their fold counts ceil(MH/PE), ceil(MW/SIMD)."""
    pe = np.unique(_ceil(np.int64(mh), np.arange(1, mh + 1, dtype=np.int64)))
    simd = np.unique(_ceil(np.int64(mw), np.arange(1, mw + 1, dtype=np.int64)))
    p, s = np.meshgrid(pe, simd, indexing="ij")
    return p.ravel(), s.ravel()


def max_fps(layers: Sequence[Layer], board: FpgaBoard, *, weight_bits: int | Sequence[int],
            input_bits: int | Sequence[int], output_bits: int | Sequence[int | None] | None,
            lut_budget: int | None = None, res_type: str = "lut") -> float:
    """Highest fps of a LUT-multiplier dataflow design of ``layers`` within ``lut_budget`` (default: the board's).

    Bits are one value for every layer or one per layer. For every bottleneck target T, each
    layer takes its fewest-LUT engine with cycles <= T (ties: fewer cycles, then fewer BRAM);
    the answer is the smallest T whose design fits the LUT budget and the board's DSPs and
    BRAM18s. Candidate engines are, per layer, the smallest PE and SIMD for each fold count
    (a wider engine with the same folds has the same cycles and more compute LUTs), so the
    result is the optimum of that policy, a lower bound on the best fps over all engines.

    Raises:
        SpecError: bad bits or per-layer lists of the wrong length.
        InfeasibleError: no target's design fits (the message gives the needs of the slowest one). Wider
            engines outside the policy might still fit BRAM by moving weights into LUTRAM.
    """
    if not layers:
        raise SpecError("layers: must not be empty, got 0 layers")
    n = len(layers)
    ws, As, bs = (_per_layer(weight_bits, n, "weight_bits"), _per_layer(input_bits, n, "input_bits"),
                  _per_layer(output_bits, n, "output_bits"))
    per = []
    for layer, w, a, b in zip(layers, ws, As, bs):
        MvauEngine(pe=1, simd=1, weight_bits=w, input_bits=a, output_bits=b, res_type=res_type)  # validates bits
        mw, mh, nv = mvau_shape(layer)
        pe, simd = _candidates(mw, mh)
        t = _mvau_arrays(mw, mh, nv, pe, simd, w, a, b, False, res_type == "dsp")
        order = np.lexsort((t["bram18k"], t["lut"], t["cycles"]))
        cyc, lut, bram, dsp = (t[k][order] for k in ("cycles", "lut", "bram18k", "dsp"))
        best = np.minimum.accumulate(lut)
        new_min = np.concatenate([[True], lut[1:] < best[:-1]])
        pick = np.maximum.accumulate(np.where(new_min, np.arange(len(lut)), 0))
        per.append((cyc, lut[pick], bram[pick], dsp[pick]))
    targets = np.unique(np.concatenate([p[0] for p in per]))
    targets = targets[targets >= max(int(p[0][0]) for p in per)]  # every layer can meet these
    total = np.zeros((3, len(targets)), dtype=np.int64)
    for cyc, lut, bram, dsp in per:
        i = np.searchsorted(cyc, targets, side="right") - 1
        total += np.stack([lut[i], bram[i], dsp[i]])
    limit = board.lut if lut_budget is None else lut_budget
    fits = (total[0] <= limit) & (total[1] <= board.bram18k) & (total[2] <= board.dsp)
    if not fits.any():
        raise InfeasibleError(
            f"max_fps: no design of fewest-LUT engines fits at any bottleneck; the slowest needs {total[0, -1]} LUTs "
            f"(limit {limit}), {total[1, -1]} BRAM18 (board {board.name!r} has {board.bram18k}) and {total[2, -1]} "
            f"DSPs (has {board.dsp})")
    return board.clock_mhz * 1e6 / float(targets[np.argmax(fits)])
