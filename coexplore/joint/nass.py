"""NASS's joint problem (seed 000; Bian et al., ECAI 2020): a network and its per-layer fixed-point
formats, priced by secure (Gazelle-protocol) inference time and bandwidth.

A candidate is an FNAS chain of the digits space (:mod:`coexplore.nas.chain`) with, per
convolution, a weight format and an output-activation format (integer, fraction bits; the
QuanNAS lists, :mod:`coexplore.joint.quannas`). There is no hardware to choose: the pair's
hardware part is empty. Cost: :mod:`coexplore.cost.secure` over the chain's layers, each
convolution followed by a ReLU in a garbled circuit, the classifier without one. The global
average pooling before the classifier is linear and done by each party on its own share (free).

Share width of a convolution: the product of its input (fraction f_in) and its weights (fraction
f_w) enters the circuit untruncated, clipped to the output format's integer bits i_out:
w = i_out + f_in + f_w (for equal formats (i, f): i + 2f, the rule of ``bench_secure.py``). The
classifier's width (only its HE modulus) is its full product: input bits + weight bits.

Specs: ``max_time_s`` (HE + GC seconds) and ``max_bytes``, both known before training: a
candidate that misses one is pruned before training. Objectives: ``accuracy`` (the quantized
network's, maximised), ``time`` (s) and ``bytes``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from coexplore.cost.secure import SecureConstants, SecureCost, secure_network_cost, secure_stages
from coexplore.errors import SpecError
from coexplore.joint.problem import PairEncoded
from coexplore.joint.quannas import ACTIVATION_FORMATS, WEIGHT_FORMATS, chain_quant_parts
from coexplore.search.problem import Evaluation

__all__ = ["PRUNED", "ChainQuantSecureProblem"]

PRUNED = "specs"


class ChainQuantSecureProblem(PairEncoded):
    """NASS: digits chains with per-layer fixed-point formats, under secure-inference time and bandwidth specs.

    Args:
        max_time_s, max_bytes: Specs (``math.inf``: none).
        constants: Per-operation costs (:class:`~coexplore.cost.secure.SecureConstants`; its defaults when None).
        epochs, qat_epochs, mode, seed, max_layers, weight_formats, activation_formats, evaluator:
            As :class:`~coexplore.joint.quannas.ChainQuantFpgaProblem` (one evaluator may be shared).
    """

    objectives = ("accuracy", "time", "bytes")

    def __init__(self, *, max_time_s: float = math.inf, max_bytes: float = math.inf,
                 constants: SecureConstants | None = None, epochs: int = 5, qat_epochs: int = 2,
                 mode: str = "qat", seed: int = 0, max_layers: int | None = None,
                 weight_formats: tuple[str, ...] = WEIGHT_FORMATS,
                 activation_formats: tuple[str, ...] = ACTIVATION_FORMATS, evaluator: Any = None) -> None:
        from coexplore.nas.quantize import LayerQuant

        problems = []
        for name, v in (("max_time_s", max_time_s), ("max_bytes", max_bytes)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                problems.append(f"problem.{name}: must be a number > 0 (or inf: no spec), got {v!r}")
        if problems:
            raise SpecError(problems)
        self.max_time_s, self.max_bytes = float(max_time_s), float(max_bytes)
        self.constants = constants if constants is not None else SecureConstants()
        self.space, self.weight_formats, self.activation_formats, self.evaluator = chain_quant_parts(
            max_layers=max_layers, weight_formats=weight_formats, activation_formats=activation_formats,
            evaluator=evaluator, epochs=epochs, qat_epochs=qat_epochs, mode=mode, seed=seed, who="the NASS problem")
        self._layer_quant = LayerQuant
        L = self.space.max_layers
        self.n_chain = len(self.space.cardinalities)
        self.arch_cards = (*self.space.cardinalities, *(len(self.weight_formats), len(self.activation_formats)) * L)
        self.hw_cards: tuple[int, ...] = ()
        self._costs: dict[bytes, SecureCost] = {}

    # -- decisions ---------------------------------------------------------------------------
    def canonical(self, arch: np.ndarray, hw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same candidates with the decisions of layers beyond a chain's depth zeroed."""
        arch = np.array(arch, dtype=np.int64, copy=True)
        c = self.n_chain
        depth = arch[:, 0] + 1
        arch[:, :c][np.arange(c)[None] > 2 * depth[:, None]] = 0
        arch[:, c:][(np.arange(arch.shape[1] - c) // 2)[None] >= depth[:, None]] = 0
        return arch, np.zeros((len(arch), 0), dtype=np.int64)

    def chain(self, arch_row: np.ndarray) -> Any:
        return self.space.from_choices(np.asarray(arch_row)[:self.n_chain].tolist())

    def quant(self, arch_row: np.ndarray) -> tuple[Any, ...]:
        row = np.asarray(arch_row)
        q = row[self.n_chain:].reshape(-1, 2)[:int(row[0]) + 1]
        return tuple(self._layer_quant(weight=self.weight_formats[int(w)], activation=self.activation_formats[int(a)])
                     for w, a in q)

    def widths(self, arch_row: np.ndarray) -> list[int]:
        """Share width of each layer (convolutions, then the classifier), module docstring's rule."""
        ev = self.evaluator
        f_in, in_bits, out = ev.input_format.fraction, ev.input_format.bits, []
        for q in self.quant(arch_row):
            out.append(q.activation.integer + f_in + q.weight.fraction)
            f_in, in_bits = q.activation.fraction, q.activation.bits
        return [*out, in_bits + ev.classifier_weight.bits]

    # -- pricing -----------------------------------------------------------------------------
    def secure_cost(self, arch_row: np.ndarray) -> SecureCost:
        """The candidate's secure-inference cost, priced once."""
        a, _ = self.canonical(np.asarray(arch_row)[None], np.zeros((1, 0), dtype=np.int64))
        key = a.tobytes()
        hit = self._costs.get(key)
        if hit is None:
            net = self.space.to_network(self.chain(a[0]))
            hit = self._costs[key] = secure_network_cost(secure_stages(net, self.widths(a[0])), self.constants)
        return hit

    def violations(self, arch_row: np.ndarray) -> list[str]:
        c = self.secure_cost(arch_row)
        out = [f"over the time spec ({c.time_s:.4g} > {self.max_time_s:.4g} s)"] if c.time_s > self.max_time_s else []
        if c.bytes > self.max_bytes:
            out.append(f"over the bandwidth spec ({c.bytes:.4g} > {self.max_bytes:.4g} bytes)")
        return out

    def meets_spec(self, cands: Any) -> np.ndarray:
        cands = self.as_pairs(cands)
        return np.array([not self.violations(a) for a in cands.arch], dtype=bool)

    def accuracy(self, arch_row: np.ndarray) -> float:
        """Digits accuracy (%) of the network at its formats (trained in float once, then quantized)."""
        chain = self.chain(arch_row)
        self.evaluator.float_accuracy(chain)
        return float(self.evaluator.quantized_accuracy(chain, self.quant(arch_row)))

    def evaluate(self, cands: Any) -> Evaluation:
        def values(a: np.ndarray, _hw: np.ndarray) -> tuple[float, float, float]:
            c = self.secure_cost(a)
            return -self.accuracy(a), c.time_s, c.bytes

        return self.spec_checked(cands, 3, lambda a, _hw: self.violations(a), values, PRUNED,
                                 "pruned before training")

    def describe(self, cands: Any, i: int) -> dict[str, Any]:
        cands = self.as_pairs(cands)
        a, _ = self.canonical(cands.arch[i:i + 1], cands.hw[i:i + 1])
        c = self.secure_cost(a[0])
        return {"arch": str(self.chain(a[0])), "arch_choices": [int(v) for v in a[0]],
                "formats": [{"weight": str(q.weight), "activation": str(q.activation)} for q in self.quant(a[0])],
                "widths": self.widths(a[0]), "he_time_s": c.he_time_s, "gc_time_s": c.gc_time_s,
                "time_s": c.time_s, "bytes": c.bytes}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_costs"] = {}
        return state
