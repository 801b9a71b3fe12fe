"""QuanNAS's joint problem (seed 000; Lu et al., ICCAD 2019): a network, its per-layer quantization and its
FPGA implementation, under a LUT budget rL and a throughput requirement rT.

A pair is an FNAS chain of the digits space (per layer: filter size and count,
:mod:`coexplore.nas.chain`) *with a fixed-point format per layer* for its weights and for its
output activations (integer and fraction bits, :mod:`coexplore.nas.quantize`), and its
layer-pipelined FPGA design: one matrix-vector-activation engine per layer (the classifier
too) whose parallelism is searched (PE rows and SIMD columns from :data:`PE_VALUES` and
:data:`SIMD_VALUES`, clamped to the layer's matrix). Multipliers live in LUTs, so LUTs and
throughput depend on the bits as much as on the parallelism (:mod:`coexplore.cost.fpga_lut`,
FINN-R's analytic estimate standing in for QuanNAS's own equations, which were not readable here).

Specs: a design must use at most ``lut_budget`` LUTs (rL; it must also fit the board's BRAM)
and reach ``min_fps`` frames/s (rT). Both are known before any training, so a pair that
misses them is **pruned before training** (``prune=False``: trained, then rejected, the
baseline the pruning's saving is measured against).

Accuracy: each chain is trained in float once (5 epochs on scikit-learn's digits, standing in
for QuanNAS's CIFAR-10: nothing can be downloaded here), then quantized to the pair's formats
and fine-tuned with fake quantization (QAT) or only quantized (PTQ); both accuracies are
cached. Objectives: ``accuracy`` (the quantized network's, maximised) and ``lut`` (LUTs).

Departures from QuanNAS, for lack of data, equations or time on a laptop: the digits for
CIFAR-10; FINN-R's LUT model for QuanNAS's; formats from short lists
(:data:`WEIGHT_FORMATS`, :data:`ACTIVATION_FORMATS`); the input quantized to a fixed 8-bit
format and the classifier's weights to 8 bits; the global pooling before the classifier and
FINN's sliding-window units are not priced (they cost little next to the engines).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.cost.fpga_lut import LutPipelineCost, MvauEngine, engine_cost, lut_pipeline_cost, over_budget
from coexplore.errors import SpecError
from coexplore.joint.problem import PairEncoded
from coexplore.presets.boards import FpgaBoard
from coexplore.search.problem import Evaluation

__all__ = ["ACTIVATION_FORMATS", "PE_VALUES", "PRUNED", "SIMD_VALUES", "WEIGHT_FORMATS", "ChainQuantFpgaProblem",
           "QuantPair"]

PRUNED = "specs"  # reasons of pairs that miss rL or rT start with this
#: Weight formats a layer may take (signed fixed point ``s<integer>.<fraction>``, 3 to 8 bits). Trained weights
#: are small (median |w| about 0.05 on the digits chains), so no integer bits: each format is one step finer.
WEIGHT_FORMATS = ("s0.2", "s0.3", "s0.4", "s0.5", "s0.7")
#: Output-activation formats (unsigned, after BatchNorm and ReLU: ``u<integer>.<fraction>``, 2 to 8 bits).
ACTIVATION_FORMATS = ("u1.1", "u1.2", "u2.2", "u2.3", "u2.4", "u3.5")
#: Engine parallelism: PE (matrix rows at once) and SIMD (columns at once), clamped to the layer's matrix.
PE_VALUES = (1, 2, 3, 6, 9, 18, 36)
SIMD_VALUES = (1, 3, 5, 7, 9, 25, 49, 81, 225)


@dataclass(frozen=True, slots=True, kw_only=True)
class QuantPair:
    """A pair's analytical figures: the pipeline's cost, its engines, and the size of its weights (kbits)."""

    cost: LutPipelineCost
    engines: tuple[MvauEngine, ...]
    param_kbits: float
    depth: int


class ChainQuantFpgaProblem(PairEncoded):
    """QuanNAS: digits chains with per-layer fixed-point formats x LUT-based pipelined engines, under rL and rT.

    Args:
        board: The FPGA (its LUTs bound ``lut_budget``; its BRAM and clock are used as they are).
        lut_budget: rL, LUTs a design may use (at most the board's).
        min_fps: rT, frames/s the pipeline must reach.
        epochs, qat_epochs, mode: Float training epochs; fine-tuning epochs with fake quantization;
            ``qat`` or ``ptq`` (:class:`~coexplore.nas.quantize.QuantChainEvaluator`).
        prune: Reject pairs that miss rL or rT before training (QuanNAS) or after it (baseline).
        objectives: ``("accuracy", "lut")``.
        seed: Training seed.
        max_layers: Deepest chain (the digits preset's 5 when None).
        weight_formats, activation_formats: Format choices of a layer (``s0.3``, ``u2.2``).
        evaluator: Accuracy source with ``float_accuracy(chain)`` and ``quantized_accuracy(chain, quant)``
            (default: a new :class:`~coexplore.nas.quantize.QuantChainEvaluator`; pass one to share
            trained networks between problems of different specs).
    """

    def __init__(self, *, board: FpgaBoard, lut_budget: int, min_fps: float, epochs: int = 5, qat_epochs: int = 2,
                 mode: str = "qat", prune: bool = True, objectives: tuple[str, ...] = ("accuracy", "lut"),
                 seed: int = 0, max_layers: int | None = None,
                 weight_formats: tuple[str, ...] = WEIGHT_FORMATS,
                 activation_formats: tuple[str, ...] = ACTIVATION_FORMATS, evaluator: Any = None) -> None:
        from coexplore.nas.quantize import LayerQuant

        problems = []
        if tuple(objectives) != ("accuracy", "lut"):
            problems.append(f"objectives: the QuanNAS problem has accuracy and lut, got {list(objectives)!r}")
        if isinstance(lut_budget, bool) or not isinstance(lut_budget, (int, np.integer)) or lut_budget < 1:
            problems.append(f"problem.lut_budget: must be an integer >= 1 (rL, LUTs), got {lut_budget!r}")
        elif lut_budget > board.lut:
            problems.append(f"problem.lut_budget: at most the {board.lut:,} LUTs of board {board.name}, "
                            f"got {lut_budget:,}")
        if isinstance(min_fps, bool) or not isinstance(min_fps, (int, float)) or not min_fps > 0:
            problems.append(f"problem.min_fps: must be a number > 0 (rT, frames/s), got {min_fps!r}")
        if problems:
            raise SpecError(problems)
        self.board, self.lut_budget, self.min_fps = board, int(lut_budget), float(min_fps)
        self.prune, self.objectives = bool(prune), tuple(objectives)
        self.space, self.weight_formats, self.activation_formats, self.evaluator = chain_quant_parts(
            max_layers=max_layers, weight_formats=weight_formats, activation_formats=activation_formats,
            evaluator=evaluator, epochs=epochs, qat_epochs=qat_epochs, mode=mode, seed=seed,
            who="codesign space chain-quant")
        self._layer_quant = LayerQuant
        L = self.space.max_layers
        self.n_chain = len(self.space.cardinalities)
        self.arch_cards = (*self.space.cardinalities, *(len(self.weight_formats), len(self.activation_formats)) * L)
        self.hw_cards = (len(PE_VALUES), len(SIMD_VALUES)) * (L + 1)  # one engine per convolution, and the classifier
        self.train_seconds: dict[str, float] = {}
        self._float: dict[str, float] = {}  # float accuracy of the networks trained so far
        self._pairs: dict[bytes, QuantPair] = {}
        self.check_reachable()

    # -- decisions ---------------------------------------------------------------------------
    def _engine_slots(self, depth: int) -> list[int]:
        """Hardware slots in use for a chain of ``depth`` convolutions: theirs, then the classifier's (slot L)."""
        return [*range(depth), self.space.max_layers]

    def canonical(self, arch: np.ndarray, hw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same pairs with unused decisions zeroed and clamped parallelism at its smallest index.

        Unused: layers (and their formats and engines) beyond a chain's depth. A PE or SIMD value
        over the layer's matrix is clamped to it, so every index that clamps to the same value
        is written as the first such index (equal designs, equal rows).
        """
        arch = np.array(arch, dtype=np.int64, copy=True)
        hw = np.array(hw, dtype=np.int64, copy=True)
        L, c = self.space.max_layers, self.n_chain
        depth = arch[:, 0] + 1
        cols = np.arange(c)
        arch[:, :c][cols[None] > 2 * depth[:, None]] = 0
        qcols = (np.arange(arch.shape[1] - c)) // 2
        arch[:, c:][qcols[None] >= depth[:, None]] = 0
        for r in range(len(arch)):
            rows, cols_ = self._matrices(arch[r])
            used = self._engine_slots(int(depth[r]))
            h = hw[r].reshape(L + 1, 2)
            for slot in range(L + 1):
                if slot not in used:
                    h[slot] = 0
                    continue
                mh, mw = rows[used.index(slot)], cols_[used.index(slot)]
                h[slot, 0] = _first_clamped(PE_VALUES, int(h[slot, 0]), mh)
                h[slot, 1] = _first_clamped(SIMD_VALUES, int(h[slot, 1]), mw)
            hw[r] = h.reshape(-1)
        return arch, hw

    def _matrices(self, arch_row: np.ndarray) -> tuple[list[int], list[int]]:
        """(MH, MW) of each engine of the network (rows: output channels; columns: C x R x S)."""
        chain = self.space.from_choices(arch_row[:self.n_chain].tolist())
        mh, mw, cin = [], [], self.space.in_channels
        for size, count in chain.layers:
            mh.append(count)
            mw.append(cin * size * size)
            cin = count
        return [*mh, self.space.num_classes], [*mw, cin]

    def chain(self, arch_row: np.ndarray) -> Any:
        return self.space.from_choices(np.asarray(arch_row)[:self.n_chain].tolist())

    def quant(self, arch_row: np.ndarray) -> tuple[Any, ...]:
        """The :class:`~coexplore.nas.quantize.LayerQuant` of each convolution of the network."""
        row = np.asarray(arch_row)
        depth = int(row[0]) + 1
        q = row[self.n_chain:].reshape(-1, 2)
        return tuple(self._layer_quant(weight=self.weight_formats[int(w)], activation=self.activation_formats[int(a)])
                     for w, a in q[:depth])

    # -- pricing -----------------------------------------------------------------------------
    def pair(self, arch_row: np.ndarray, hw_row: np.ndarray) -> QuantPair:
        """A pair's pipeline priced once (the strategy, the evaluation and the description share it)."""
        return self.priced_once(self._pairs, arch_row, hw_row, self._price)

    def _price(self, arch: np.ndarray, hw: np.ndarray) -> QuantPair:
        chain = self.chain(arch)
        quant = self.quant(arch)
        layers = self.space.to_network(chain).layers
        ev = self.evaluator
        hwr = hw.reshape(-1, 2)
        slots = self._engine_slots(len(chain.layers))
        engines = []
        in_bits, in_signed = ev.input_format.bits, ev.input_format.signed
        rows, cols = self._matrices(arch)
        for i, slot in enumerate(slots):
            pe = min(PE_VALUES[int(hwr[slot, 0])], rows[i])
            simd = min(SIMD_VALUES[int(hwr[slot, 1])], cols[i])
            last = i == len(slots) - 1
            w_bits = ev.classifier_weight.bits if last else quant[i].weight.bits
            out = None if last else quant[i].activation.bits
            engines.append(MvauEngine(pe=pe, simd=simd, weight_bits=w_bits, input_bits=in_bits, output_bits=out,
                                      input_signed=in_signed))
            if not last:
                in_bits, in_signed = quant[i].activation.bits, False
        cost = lut_pipeline_cost(layers, engines, self.board)
        kbits = sum(r * c * e.weight_bits for r, c, e in zip(rows, cols, engines, strict=True))  # weights only
        return QuantPair(cost=cost, engines=tuple(engines), param_kbits=kbits / 1000.0, depth=len(layers))

    def violations(self, arch_row: np.ndarray, hw_row: np.ndarray) -> list[str]:
        """The specs a pair misses (rL, the board's other resources, rT), one stable phrase each."""
        c = self.pair(arch_row, hw_row).cost
        out = [f"over rL ({c.lut:,} > {self.lut_budget:,} LUTs)"] if c.lut > self.lut_budget else []
        out += [f"over the board ({m})" for m in over_budget(c, self.board) if "LUT" not in m]
        if c.fps < self.min_fps:
            out.append(f"under rT ({c.fps:,.0f} < {self.min_fps:,.0f} frames/s)")
        return out

    def meets_spec(self, cands: Any) -> np.ndarray:
        """bool (n,): the pair meets rL, the board and rT (analytical; nothing is trained)."""
        cands = self.as_pairs(cands)
        return np.array([not self.violations(cands.arch[i], cands.hw[i]) for i in range(len(cands))], dtype=bool)

    def float_accuracy(self, arch_row: np.ndarray) -> float:
        """Digits accuracy (%) of the network in float, trained once."""
        chain = self.chain(arch_row)
        t0 = time.perf_counter()
        acc = float(self.evaluator.float_accuracy(chain))
        self.train_seconds.setdefault(str(chain), time.perf_counter() - t0)
        self._float[str(chain)] = acc
        return acc

    def reference_accuracy(self, arch_row: np.ndarray) -> float:
        """Digits accuracy (%) of the network without quantization, trained as long as its quantized copies
        (Table 3's "w/o quantization"; :meth:`~coexplore.nas.quantize.QuantChainEvaluator.reference_accuracy`)."""
        return float(self.evaluator.reference_accuracy(self.chain(arch_row)))

    def accuracy(self, arch_row: np.ndarray) -> float:
        """Digits accuracy (%) of the network at its formats (trained in float once, then quantized)."""
        self.float_accuracy(arch_row)
        chain, quant = self.chain(arch_row), self.quant(arch_row)
        key = f"{chain}|{'-'.join(f'{q.weight}/{q.activation}' for q in quant)}"
        t0 = time.perf_counter()
        acc = float(self.evaluator.quantized_accuracy(chain, quant))
        self.train_seconds.setdefault(key, time.perf_counter() - t0)
        return acc

    def evaluate(self, cands: Any) -> Evaluation:
        cands = self.as_pairs(cands)
        values = np.full((len(cands), 2), np.inf)
        ok = np.ones(len(cands), dtype=bool)
        reasons = [""] * len(cands)
        for i in range(len(cands)):
            miss = self.violations(cands.arch[i], cands.hw[i])
            if miss and self.prune:
                reasons[i] = f"{PRUNED}: {'; '.join(miss)} (pruned before training)"
                ok[i] = False
                continue
            acc = self.accuracy(cands.arch[i])
            if miss:
                reasons[i] = f"{PRUNED}: {'; '.join(miss)} (rejected after training)"
                ok[i] = False
                continue
            values[i] = (-acc, float(self.pair(cands.arch[i], cands.hw[i]).cost.lut))
        return Evaluation(values=values, feasible=ok, reasons=tuple(reasons))

    def describe(self, cands: Any, i: int) -> dict[str, Any]:
        cands = self.as_pairs(cands)
        arch, hw = self.canonical(cands.arch[i:i + 1], cands.hw[i:i + 1])
        p = self.pair(arch[0], hw[0])
        c = p.cost
        quant = self.quant(arch[0])
        engines = [{"pe": e.pe, "simd": e.simd, "weight_bits": e.weight_bits, "input_bits": e.input_bits,
                    "output_bits": e.output_bits, "lut": ec.lut, "bram18k": ec.bram18k, "cycles": ec.cycles}
                   for e, ec in zip(p.engines, c.engines, strict=True)]
        return {"arch": str(self.chain(arch[0])), "arch_choices": [int(v) for v in arch[0]],
                "hw": [int(v) for v in hw[0]],
                "formats": [{"weight": str(q.weight), "activation": str(q.activation)} for q in quant],
                "depth": p.depth, "param_kbits": p.param_kbits, "lut": c.lut, "bram18k": c.bram18k, "dsp": c.dsp,
                "fps": c.fps, "latency_cycles": c.latency_cycles, "latency_ms": c.latency_ms,
                "lut_budget": self.lut_budget, "min_fps": self.min_fps,
                "accelerator": {"board": self.board.name, "mode": "pipelined", "engines": engines}}

    # -- specs a board can meet ---------------------------------------------------------------
    def check_reachable(self) -> None:
        """Refuse an rT that no design of the space reaches within rL, naming the most any design reaches.

        The fastest designs are one-layer chains at the narrowest formats (fewer bits never cost
        more LUTs, and a deeper chain only adds engines); every PE and SIMD choice of those is
        priced (a few thousand engine pairs).
        """
        best = _fastest(self)
        if best < self.min_fps:
            raise SpecError(f"problem.min_fps: no design of the space reaches {self.min_fps:,.0f} frames/s within "
                            f"rL = {self.lut_budget:,} LUTs on {self.board.name}: the most is {best:,.0f} frames/s")

    def hypervolume(self, accuracy: np.ndarray, lut: np.ndarray) -> float:
        """Area of (accuracy %, LUTs as a share of rL) dominated, against (0 %, rL)."""
        from coexplore.search.pareto import spec_hypervolume

        return spec_hypervolume(accuracy, lut, self.lut_budget)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_pairs"] = {}
        return state


def chain_quant_parts(*, max_layers: int | None, weight_formats: tuple[str, ...], activation_formats: tuple[str, ...],
                      evaluator: Any, epochs: int, qat_epochs: int, mode: str, seed: int,
                      who: str) -> tuple[Any, tuple[Any, ...], tuple[Any, ...], Any]:
    """What every problem over quantized digits chains starts from (QuanNAS, NASS, NACIM): the chain space, the
    parsed weight (signed) and activation (unsigned) format choices, and the accuracy evaluator (``evaluator``,
    or a new :class:`~coexplore.nas.quantize.QuantChainEvaluator`; ``who`` names the problem in the error
    when its extra is missing)."""
    from coexplore.nas.chain import ChainSpace
    from coexplore.nas.quantize import parse_fixed_point

    space = ChainSpace(dataset="digits", max_layers=max_layers)
    weights = _formats(parse_fixed_point, weight_formats, "problem.weight_formats")
    activations = _formats(parse_fixed_point, activation_formats, "problem.activation_formats")
    bad = [f"problem.weight_formats: {f} must be signed (s<integer>.<fraction>)" for f in weights if not f.signed]
    bad += [f"problem.activation_formats: {f} must be unsigned (u<integer>.<fraction>), activations follow ReLU"
            for f in activations if f.signed]
    if bad:
        raise SpecError(bad)
    if evaluator is None:
        from coexplore.nas.quantize import QuantChainEvaluator
        from coexplore.optional import require

        for module in ("torch", "sklearn"):
            require(module, extra="nas", who=f"{who} (networks are trained on the digits)")
        evaluator = QuantChainEvaluator(space=space, epochs=epochs, qat_epochs=qat_epochs, mode=mode, seed=seed)
    return space, weights, activations, evaluator


def _formats(parse: Any, texts: tuple[str, ...], field: str) -> tuple[Any, ...]:
    """Parsed formats; every bad one named with ``field`` and its position."""
    out, problems = [], []
    for i, text in enumerate(texts):
        try:
            out.append(parse(text))
        except SpecError as e:
            problems += [f"{field}[{i}]: {m}" for m in e.problems]
    if problems:
        raise SpecError(problems)
    return tuple(out)


def _first_clamped(values: tuple[int, ...], index: int, limit: int) -> int:
    """The first index of ``values`` whose value clamped to ``limit`` equals ``values[index]`` clamped."""
    want = min(values[index], limit)
    return next(k for k, v in enumerate(values) if min(v, limit) == want)


@functools.lru_cache(maxsize=64)
def _fastest_cached(board: FpgaBoard, lut_budget: int, sizes: tuple[int, ...], counts: tuple[int, ...],
                    in_channels: int, classes: int, w_bits: int, a_bits: int, in_bits: int, in_signed: bool,
                    cls_bits: int, hw: int) -> float:
    from coexplore.spec.workload import Layer

    best = 0.0
    for size in sizes:
        for count in counts:
            conv = Layer(name="features.0.0", K=count, C=in_channels, P=hw, Q=hw, R=size, S=size,
                         padding=((size - 1) // 2, (size - 1) // 2))
            fc = Layer(name="classifier", K=classes, C=count, op="fc")
            first = [engine_cost(conv, MvauEngine(pe=pe, simd=simd, weight_bits=w_bits, input_bits=in_bits,
                                                  output_bits=a_bits, input_signed=in_signed))
                     for pe in sorted({min(v, count) for v in PE_VALUES})
                     for simd in sorted({min(v, in_channels * size * size) for v in SIMD_VALUES})]
            last = [engine_cost(fc, MvauEngine(pe=pe, simd=simd, weight_bits=cls_bits, input_bits=a_bits,
                                               output_bits=None))
                    for pe in sorted({min(v, classes) for v in PE_VALUES})
                    for simd in sorted({min(v, count) for v in SIMD_VALUES})]
            lut = np.array([e.lut for e in first])[:, None] + np.array([e.lut for e in last])[None]
            bram = np.array([e.bram18k for e in first])[:, None] + np.array([e.bram18k for e in last])[None]
            cycles = np.maximum(np.array([e.cycles for e in first])[:, None], np.array([e.cycles for e in last])[None])
            fits = (lut <= lut_budget) & (bram <= board.bram18k)
            if fits.any():
                best = max(best, board.clock_mhz * 1e6 / float(cycles[fits].min()))
    return best


def _fastest(problem: ChainQuantFpgaProblem) -> float:
    """Frames/s of the fastest design of ``problem``'s space within its rL (one-layer chains, narrowest formats)."""
    ev, sp = problem.evaluator, problem.space
    return _fastest_cached(problem.board, problem.lut_budget, sp.sizes, sp.counts, sp.in_channels, sp.num_classes,
                           min(f.bits for f in problem.weight_formats), min(f.bits for f in problem.activation_formats),
                           ev.input_format.bits, ev.input_format.signed, ev.classifier_weight.bits, sp.height)
