"""Price the MAC-free vector operations of attention networks: softmax and layer norm.

Stated model (not Timeloop's; Timeloop has no such operations):

* every element is read once from the outermost memory level (DRAM) and its result written
  back once: the row is assumed to fit on chip for the second pass both operations need
  (max then exponent-sum for softmax, mean/variance then normalise for layer norm), so the
  on-chip passes are not charged;
* the arithmetic runs on the PE array used as a vector unit, one operation per MAC unit per
  cycle, each priced as one MAC: :data:`OPS_PER_ELEMENT` operations per element (softmax: max,
  subtract-and-exp, sum, divide = 4; layer norm: sum, subtract mean, square-and-sum, scale by
  1/std, multiply by gamma, add beta = 6);
* latency is the compute cycles, as for the MAC layers under Timeloop's semantics (no bandwidth
  stalls); with ``throttle=True`` (the layers' ``--throttle``) the larger of those and the DRAM
  transfer cycles (its read and write bandwidths, or the shared one; unlimited costs none).
  ``memory_cycles`` is reported either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import VectorOp

__all__ = ["OPS_PER_ELEMENT", "VectorOpCost", "price_vector_op"]

OPS_PER_ELEMENT: dict[str, int] = {"softmax": 4, "layernorm": 6}


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorOpCost:
    """Cost of one vector operation; ``compute_cycles`` and ``memory_cycles`` are the two bounds."""

    name: str
    kind: str
    elements: int
    energy_pj: float
    latency_cycles: int
    compute_cycles: int
    memory_cycles: int
    compute_energy_pj: float
    memory_energy_pj: float

    @property
    def edp(self) -> float:
        return self.energy_pj * self.latency_cycles


def price_vector_op(op: VectorOp, accelerator: Accelerator, *, throttle: bool = False) -> VectorOpCost:
    """Energy and latency of ``op`` on ``accelerator`` under the model of this module."""
    ops = op.elements * OPS_PER_ELEMENT[op.kind]
    compute_cycles = math.ceil(ops / accelerator.mac.instances)
    compute_pj = ops * accelerator.mac.pj
    dram = accelerator.levels[-1]
    accesses = math.ceil(op.elements / dram.block_size_words)
    memory_pj = accesses * (dram.read_pj + dram.write_pj)
    if dram.shared_bandwidth_words_per_cycle:
        memory_cycles = math.ceil(2 * op.elements / dram.shared_bandwidth_words_per_cycle)
    else:
        memory_cycles = sum(math.ceil(op.elements / bw) for bw in (dram.read_bandwidth_words_per_cycle,
                                                                    dram.write_bandwidth_words_per_cycle) if bw)
    return VectorOpCost(name=op.name, kind=op.kind, elements=op.elements, energy_pj=compute_pj + memory_pj,
                        latency_cycles=max(compute_cycles, memory_cycles) if throttle else compute_cycles,
                        compute_cycles=compute_cycles,
                        memory_cycles=memory_cycles, compute_energy_pj=compute_pj, memory_energy_pj=memory_pj)
