"""Precision: the bits of each dataspace, as a layer asks and as each memory level stores them.

A layer without bit widths keeps Timeloop's semantics: every level stores every
dataspace in its own ``word_bits``. A layer with any of ``weight_bits``, ``input_bits``,
``output_bits`` is quantized: the others default to 8, 8 and the accelerator's
accumulator width (:attr:`~coexplore.spec.hardware.Accelerator.accumulator_bits`),
and every level stores each dataspace at those bits. Then

* capacity is in bits: a level holds ``size_words * word_bits`` bits, and a tile of
  ``n`` words of a dataspace takes ``n * bits`` of them;
* accesses pack words: one vector access moves ``word_bits * block_size_words`` bits,
  so ``width // bits`` words of a dataspace (at least one; a word wider than the access
  is refused);
* bandwidth is in bits: a word counts as ``bits / word_bits`` of the level's words.

A precision-scalable MAC (``MacUnit.brick_bits``, Bit Fusion's BitBricks) fuses
``(bits / brick_bits)**2`` bricks per full-precision product; a layer at ``w x a`` bits
uses ``ceil2(w / brick) * ceil2(a / brick)`` bricks per product (fusion happens in powers
of two: Sharma et al., ISCA 2018), so the unit computes that many times fewer bricks'
worth, i.e. :func:`lanes` products per cycle. :func:`bind` gives the accelerator as such a
layer sees it: ``lanes`` MACs per unit along X (the innermost level's fan-out unrolls
them), each costing the bricks it uses.
"""

from __future__ import annotations

import functools
from dataclasses import replace

from coexplore.spec.dims import DATASPACES
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["bind", "data_bits", "lanes", "layer_bits", "pack", "precision_problems"]



def layer_bits(layer: Layer, accelerator: Accelerator) -> tuple[int, int, int] | None:
    """(weights, inputs, outputs) bits of a quantized layer, defaults filled; ``None`` if unquantized."""
    if layer.weight_bits is None and layer.input_bits is None and layer.output_bits is None:
        return None
    return (layer.weight_bits or 8, layer.input_bits or 8, layer.output_bits or accelerator.accumulator_bits)


def data_bits(accelerator: Accelerator, bits: tuple[int, int, int] | None) -> tuple[tuple[int, int, int], ...]:
    """Per level, the bits one word of each dataspace (``DATASPACES`` order) takes there."""
    if bits is None:
        return tuple((lv.word_bits,) * 3 for lv in accelerator.levels)
    return tuple(bits for _ in accelerator.levels)


def pack(accelerator: Accelerator, bits: tuple[int, int, int] | None) -> tuple[tuple[int, int, int], ...]:
    """Per level and dataspace, the words one vector access moves (``block_size_words`` without precision)."""
    if bits is None:
        return tuple((lv.block_size_words,) * 3 for lv in accelerator.levels)
    out = []
    for lv in accelerator.levels:
        width = lv.word_bits * lv.block_size_words
        w, i, o = (max(1, width // b) for b in bits)
        out.append((w, i, o))
    return tuple(out)


def _pow2_at_least(x: int) -> int:
    p = 1
    while p < x:
        p *= 2
    return p


def lanes(accelerator: Accelerator, weight_bits: int, input_bits: int) -> int:
    """Products per cycle of one precision-scalable MAC at these operand bits (1 for a fixed MAC)."""
    mac = accelerator.mac
    if mac.brick_bits is None:
        return 1
    full = (mac.bits // mac.brick_bits) ** 2
    used = _pow2_at_least(-(-weight_bits // mac.brick_bits)) * _pow2_at_least(-(-input_bits // mac.brick_bits))
    return max(1, full // used)


def precision_problems(layer: Layer, accelerator: Accelerator, path: str = "layer") -> list[str]:
    """Why ``layer``'s precision cannot run on ``accelerator`` (empty when it can)."""
    bits = layer_bits(layer, accelerator)
    if bits is None:
        return []
    out = []
    given = {"weights": layer.weight_bits, "inputs": layer.input_bits, "outputs": layer.output_bits}
    field = {"weights": "weight_bits", "inputs": "input_bits", "outputs": "output_bits"}
    for ds, b in zip(("weights", "inputs"), bits[:2], strict=True):
        if b > accelerator.mac.bits:
            out.append(f"{path}.{field[ds]}: {b}-bit {ds} exceed the {accelerator.mac.bits}-bit MACs of "
                       f"{accelerator.name!r}, got {b}")
    for lv in accelerator.levels:
        width = lv.word_bits * lv.block_size_words
        for t, ds in enumerate(DATASPACES):
            if ds in lv.keeps and bits[t] > width:
                src = f"{path}.{field[ds]}" if given[ds] is not None else \
                    f"{path}.{field[ds]} (default: the {accelerator.accumulator_bits}-bit accumulator)"
                out.append(f"{src}: a {bits[t]}-bit word of {ds} does not fit level {lv.name!r}, whose access is "
                           f"{width} bits ({lv.word_bits}-bit words x {lv.block_size_words}), got {bits[t]}")
    return out


def bind(layer: Layer, accelerator: Accelerator) -> Accelerator:
    """``accelerator`` as ``layer`` sees it: a precision-scalable MAC array becomes fixed at the layer's bits.

    The identity for fixed-precision MACs, and idempotent (the result has a fixed MAC).
    """
    if accelerator.mac.brick_bits is None:
        return accelerator
    bits = layer_bits(layer, accelerator) or (8, 8, accelerator.accumulator_bits)
    return _bound(accelerator, lanes(accelerator, bits[0], bits[1]))


@functools.lru_cache(maxsize=64)
def _bound(accelerator: Accelerator, k: int) -> Accelerator:
    mac = accelerator.mac
    assert mac.energy_pj is not None and mac.area_mm2 is not None  # priced by Accelerator
    fixed = replace(mac, instances=mac.instances * k, mesh_x=mac.mesh_x * k, brick_bits=None,
                    energy_pj=mac.energy_pj / k, area_mm2=mac.area_mm2 / k)
    return replace(accelerator, mac=fixed)
