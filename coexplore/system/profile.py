"""A network as a chain of blocks, each priced on an engine's accelerator with coexplore's cost model.

A block is the unit a partition cuts between: a NAS-Bench-201 cell (``cells.N.*``: a cell reads only
the previous cell's output, so cutting between cells sends exactly one feature map), the stem, a
reduction block, the classifier; in any other network every layer is a block, and the chain
assumption (block b feeds block b + 1 only) is the approximation. A block's compute time is the sum
of its layers' latencies under the best of ``samples`` random legal mappings (the cost model's
default evaluation, once per layer shape and accelerator); its output is its last layer's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from coexplore.errors import SpecError
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


def profile_network(network: Network, accelerators: dict[str, Accelerator], *, samples: int = 256,
                    seed: int = 0) -> BlockProfile:
    """The blocks of ``network`` priced on each accelerator (``reference -> spec``)."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise SpecError(f"samples: must be an integer >= 1, got {samples!r}")
    return profile_blocks(network.name, network_blocks(network), accelerators,
                          input_words=network.layers[0].inputs_words if network.layers else 0, samples=samples,
                          seed=seed)


def profile_blocks(network: str, blocks: tuple[Block, ...], accelerators: dict[str, Accelerator], *,
                   input_words: int, samples: int = 256, seed: int = 0) -> BlockProfile:
    """Given blocks priced on each accelerator (``reference -> spec``)."""
    if not blocks:
        raise SpecError(f"network {network!r}: has no layers to place")
    times = {}
    for ref, acc in accelerators.items():
        times[ref] = tuple(sum(_layer_ns(x, acc, samples, seed) for x in b.layers) for b in blocks)
    return BlockProfile(network=network, blocks=blocks, compute_ns=times, input_words=input_words)
