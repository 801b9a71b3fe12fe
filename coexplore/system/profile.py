"""A network as a chain of blocks, each priced on an engine's accelerator with coexplore's cost model.

A block is the unit a partition cuts between: a NAS-Bench-201 cell (``cells.N.*``: a cell reads only
the previous cell's output, so cutting between cells sends exactly one feature map), the stem, a
reduction block, the classifier; in any other network every layer is a block, and the chain
assumption (block b feeds block b + 1 only) is the approximation. A block's compute time is the sum
of its layers' latencies under the best of ``samples`` random legal mappings (the cost model's
default evaluation, once per layer shape and accelerator); its output is its last layer's outputs.
On an FPGA board (:mod:`coexplore.system.engines`) a block's time is Zhang et al.'s latency
(:mod:`coexplore.cost.fpga`) of its layers on one engine with the best tiling that fits the board
(:func:`coexplore.hwsearch.fpga.best_design`, exhaustive), re-tiled per block as Super-LIP re-tiles per
layer; it includes the board's own off-chip traffic. Words are ``bits`` wide (8, 16 or 32 on a board).
"""

from __future__ import annotations

from dataclasses import dataclass

from coexplore.errors import SpecError
from coexplore.presets.boards import FpgaBoard
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer, Network

__all__ = ["Block", "BlockProfile", "network_blocks", "profile_blocks", "profile_network"]


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive layers placed together; ``output_words`` is what the next block reads (a block may have no
    layers with MACs, e.g. a NAS-Bench-201 cell of skips and pools: it still passes its feature map on)."""

    name: str
    layers: tuple[Layer, ...]
    output_words: int

    @property
    def weight_words(self) -> int:
        return sum(x.weights_words for x in self.layers)

    @property
    def macs(self) -> int:
        return sum(x.macs for x in self.layers)


@dataclass(frozen=True, slots=True)
class BlockProfile:
    """A network's blocks and, per accelerator reference, each block's compute time (ns)."""

    network: str
    blocks: tuple[Block, ...]
    compute_ns: dict[str, tuple[float, ...]]  # accelerator reference -> one time per block
    input_words: int  # the network's input, read from off-chip memory by the first task

    def __len__(self) -> int:
        return len(self.blocks)


def _block_name(layer: Layer) -> str:
    parts = layer.name.split(".")
    if parts[0] == "cells" and len(parts) > 1:
        return f"cells.{parts[1]}"
    return layer.name


def network_blocks(network: Network) -> tuple[Block, ...]:
    """Consecutive layers grouped into blocks (NAS-Bench-201 cells; otherwise one layer per block)."""
    blocks: list[tuple[str, list[Layer]]] = []
    for layer in network.layers:
        name = _block_name(layer)
        if blocks and blocks[-1][0] == name:
            blocks[-1][1].append(layer)
        else:
            blocks.append((name, [layer]))
    return tuple(Block(name, tuple(layers), layers[-1].outputs_words) for name, layers in blocks)


_LAYER_NS: dict[tuple[object, ...], float] = {}


def _layer_ns(layer: Layer, accelerator: Accelerator, samples: int, seed: int) -> float:
    """Latency (ns) of a layer shape on an accelerator, mapped once per process."""
    key = (layer.shape_key(), accelerator, samples, seed)
    if key not in _LAYER_NS:
        from coexplore.mapper.sampled import map_layer_sampled

        res = map_layer_sampled(layer, accelerator, samples=samples, seed=seed, objective="latency")
        _LAYER_NS[key] = float(res.cost.latency_cycles) / accelerator.clock_ghz
    return _LAYER_NS[key]


_BLOCK_FPGA_NS: dict[tuple[object, ...], float] = {}


def fpga_block_ns(layers: tuple[Layer, ...], board: FpgaBoard, bits: int) -> float:
    """Latency (ns) of ``layers`` on one engine of ``board`` with its best tiling (0 for a block without MACs)."""
    work = tuple(x for x in layers if x.macs > 0)
    if not work:
        return 0.0
    key = (tuple(x.shape_key() for x in work), board, bits)
    if key not in _BLOCK_FPGA_NS:
        from coexplore.hwsearch.fpga import best_design

        sol = best_design(work, board, "shared", bits=bits)
        _BLOCK_FPGA_NS[key] = sol.latency_cycles * 1e3 / board.clock_mhz
    return _BLOCK_FPGA_NS[key]


def profile_network(network: Network, accelerators: dict[str, Accelerator | FpgaBoard], *, samples: int = 256,
                    seed: int = 0, bits: int = 16) -> BlockProfile:
    """The blocks of ``network`` priced on each accelerator or board (``reference -> spec``); ``bits`` is the
    word width of the FPGA boards' tiling model."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise SpecError(f"samples: must be an integer >= 1, got {samples!r}")
    return profile_blocks(network.name, network_blocks(network), accelerators,
                          input_words=network.layers[0].inputs_words if network.layers else 0, samples=samples,
                          seed=seed, bits=bits)


def profile_blocks(network: str, blocks: tuple[Block, ...], accelerators: dict[str, Accelerator | FpgaBoard], *,
                   input_words: int, samples: int = 256, seed: int = 0, bits: int = 16) -> BlockProfile:
    """Given blocks priced on each accelerator or FPGA board (``reference -> spec``)."""
    if not blocks:
        raise SpecError(f"network {network!r}: has no layers to place")
    times = {}
    for ref, acc in accelerators.items():
        if isinstance(acc, FpgaBoard):
            times[ref] = tuple(fpga_block_ns(b.layers, acc, bits) for b in blocks)
        else:
            times[ref] = tuple(sum(_layer_ns(x, acc, samples, seed) for x in b.layers) for b in blocks)
    return BlockProfile(network=network, blocks=blocks, compute_ns=times, input_words=input_words)
