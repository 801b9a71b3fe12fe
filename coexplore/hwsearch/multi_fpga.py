"""Super-LIP's design space: per layer, a split over the boards and a tiling of each board's engine.

For every layer the search enumerates every partition (batch, rows, columns, output
channels; factors that divide their dimension, product at most the number of boards)
and, for each, every tiling of one board's engine that fits the board (the grid of
:class:`~coexplore.hwsearch.fpga.FpgaSpace` on the board's share of the layer), and keeps
the fastest under :mod:`coexplore.cost.fpga_multi`. As in the authors' exploration
script, each layer gets its own tiling (the engine is re-tiled between layers), and the
network takes the sum of its layers. The one-board baseline is the same search with
one board, so the speed-up compares like with like.

On a system spec (:mod:`coexplore.system.fpga_cluster`, ``hosts``) only the splits whose boards
the spec's links connect as the model needs are tried; :func:`search_cluster` runs the search on
such a spec and keeps it in the result (record, picture).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from coexplore.cost.fpga import resources_array
from coexplore.cost.fpga_multi import MultiFpga, MultiLayerLatency, Partition, layer_latency, multi_terms
from coexplore.errors import InfeasibleError, SpecError
from coexplore.hwsearch.fpga import FpgaCandidates, FpgaSpace
from coexplore.hwsearch.record import hwsearch_record, network_row
from coexplore.spec.workload import Layer, Network

if TYPE_CHECKING:
    from coexplore.system.fpga_cluster import FpgaCluster

__all__ = ["MultiFpgaChoice", "MultiFpgaSearchResult", "best_layer", "partitions", "search_cluster",
           "search_multi_fpga"]

Hosts = Callable[[Partition], "str | None"]
"""Why a system's links cannot host a split (one line), or None when they can."""


def _factors(n: int, limit: int, uneven: bool) -> list[int]:
    return [d for d in range(1, min(n, limit) + 1) if uneven or n % d == 0]


def partitions(layer: Layer, boards: int, *, uneven: bool = False) -> list[Partition]:
    """Every split of ``layer`` over at most ``boards`` boards whose factors divide their dimension
    (``uneven``: every factor up to the dimension, rounded up as in the paper's script)."""
    out = []
    for n in _factors(layer.N, boards, uneven):
        for p in _factors(layer.P, boards // n, uneven):
            for q in _factors(layer.Q, boards // (n * p), uneven):
                for k in _factors(layer.K, boards // (n * p * q), uneven) if layer.groups == 1 else [1]:
                    out.append(Partition(N=n, P=p, Q=q, K=k))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class MultiFpgaChoice:
    """The best split and tiling of one layer, and how many candidates were priced."""

    latency: MultiLayerLatency
    evaluated: int


def best_layer(layer: Layer, system: MultiFpga, *, bits: int = 16, partition: Partition | None = None,
               step: int = 1, channel_step: int = 1, uneven: bool = False,
               hosts: Hosts | None = None) -> MultiFpgaChoice:
    """The fastest (partition, tiling) of ``layer`` (ties: fewer boards, DSPs, BRAMs, then enumeration order).

    ``partition`` fixes the split (it must apply: :meth:`Partition.check`); else every split
    of :func:`partitions` is tried. ``step`` and ``channel_step`` thin the tiling grid as in
    :class:`~coexplore.hwsearch.fpga.FpgaSpace`. ``hosts`` drops the splits a system's links cannot
    carry (a given ``partition`` it cannot carry is refused).

    Raises:
        SpecError: the given partition does not apply. InfeasibleError: no tiling fits the board.
    """
    if partition is not None:
        partition.check(layer, system.boards, uneven=uneven)
        why = hosts(partition) if hosts is not None else None
        if why is not None:
            raise SpecError(why)
    splits = [partition] if partition is not None else partitions(layer, system.boards, uneven=uneven)
    if hosts is not None:
        splits = [x for x in splits if hosts(x) is None]
    best: tuple[int, int, int, int] | None = None
    pick: tuple[Partition, np.ndarray] | None = None
    evaluated = 0
    for split in splits:
        sub = split.board_layer(layer)
        space = FpgaSpace(layers=(sub,), board=system.board, bits=bits, step=step, channel_step=channel_step)
        for chunk in space.chunks():
            evaluated += len(chunk)
            res = resources_array(chunk.tiles, [sub], bits)
            ok = np.flatnonzero((res[:, 0] <= system.board.dsp) & (res[:, 1] <= system.board.bram18k))
            if len(ok) == 0:
                continue
            lat = multi_terms(chunk.tiles[ok], layer, split, system, bits)["latency"]
            i = int(np.lexsort((res[ok, 1], res[ok, 0], lat))[0])
            key = (int(lat[i]), split.boards, int(res[ok[i], 0]), int(res[ok[i], 1]))
            if best is None or key < best:
                best, pick = key, (split, chunk.tiles[ok[i]])
    if pick is None:
        raise InfeasibleError(f"layer {layer.name!r}: no tiling of any split fits board {system.board.name!r} "
                              f"({system.board.dsp} DSP48 slices, {system.board.bram18k} BRAM18 blocks)")
    split, tiles = pick
    design = FpgaCandidates(tiles[None, :]).design(0, bits)
    return MultiFpgaChoice(latency=layer_latency(design, layer, split, system, uneven=uneven), evaluated=evaluated)


@dataclass(frozen=True, slots=True, kw_only=True)
class MultiFpgaSearchResult:
    """The best per-layer splits and tilings on ``system``, next to the same search on one board."""

    system: MultiFpga
    uneven: bool
    networks: tuple[Network, ...]
    layers: tuple[MultiLayerLatency, ...]
    one_board: tuple[MultiLayerLatency, ...]
    evaluated: int
    seconds: float
    cluster: FpgaCluster | None = None  # the system spec searched on (None: boards linked all to all)

    @property
    def latency_cycles(self) -> int:
        return sum(x.latency_cycles for x in self.layers)

    @property
    def one_board_latency_cycles(self) -> int:
        return sum(x.latency_cycles for x in self.one_board)

    @property
    def speedup(self) -> float:
        """One-board latency over the multi-board latency (> boards: super-linear)."""
        return self.one_board_latency_cycles / self.latency_cycles

    def _per_network(self) -> list[int]:
        out, start = [], 0
        for net in self.networks:
            out.append(sum(x.latency_cycles for x in self.layers[start:start + len(net.layers)]))
            start += len(net.layers)
        return out

    def to_record(self) -> dict[str, Any]:
        """The hwsearch record, kind ``fpga`` and mode ``multi-fpga``; per layer the split, tiles and bound."""
        s, board = self.system, self.system.board
        rows = [{"name": x.name, "partition": {d: getattr(x.partition, d) for d in ("N", "P", "Q", "K")},
                 "boards_used": x.partition.boards, "Tm": x.design.Tm, "Tn": x.design.Tn, "Tr": x.design.Tr,
                 "Tc": x.design.Tc, "bits": x.design.bits, "bound": x.bound, "latency_cycles": x.latency_cycles,
                 "compute_cycles": x.compute_cycles, "memory_cycles": x.memory_cycles,
                 "link_cycles": x.link_cycles, "one_board_latency_cycles": one.latency_cycles,
                 "one_board_bound": one.bound, "speedup": one.latency_cycles / x.latency_cycles}
                for x, one in zip(self.layers, self.one_board, strict=True)]
        layers = [layer for net in self.networks for layer in net.layers]
        used = [resources_array(np.array([x.design.tiles]), [x.partition.board_layer(layer)], x.design.bits)[0]
                for x, layer in zip(self.layers, layers, strict=True)]  # per board; the record keeps the largest
        accelerator = {"board": board.name, "mode": "multi-fpga", "boards": s.boards,
                       "link_gbytes_per_s": s.link_gbytes_per_s, "memory_ports": s.ports, "uneven": self.uneven,
                       "designs": [{"Tm": x.design.Tm, "Tn": x.design.Tn, "Tr": x.design.Tr, "Tc": x.design.Tc,
                                    "bits": x.design.bits} for x in self.layers],
                       "layers": rows, "speedup": self.speedup}
        if self.cluster is not None:
            accelerator["system"] = self.cluster.as_dict()
            for row, x in zip(rows, self.layers, strict=True):
                row["engines"] = list(self.cluster.placement(x.partition) or ())
        ms = self.latency_cycles / (board.clock_mhz * 1e3)
        return hwsearch_record(
            kind="fpga", networks=[n.name for n in self.networks], accelerator=accelerator, edp=None,
            energy_pj=None, latency_cycles=self.latency_cycles, area_mm2=None, latency_ms=ms,
            resources={"dsp": int(max(u[0] for u in used)), "bram18k": int(max(u[1] for u in used))},
            limits={"dsp": board.dsp, "bram18k": board.bram18k},
            network_rows=[network_row(n.name, None, lat) for n, lat in zip(self.networks, self._per_network())],
            baseline={"preset": f"{board.name} x1", "edp": None, "energy_pj": None,
                      "latency_cycles": self.one_board_latency_cycles, "area_mm2": None},
            edp_ratio=None, objective="latency", strategy="exhaustive", mode="multi-fpga", mapper=None, seed=None,
            evaluations=self.evaluated, designs=self.evaluated, seconds=self.seconds, search_seconds=self.seconds,
            search_value=float(self.latency_cycles), best_is_preset=None, front=[],
        )


def _search(layers: Iterable[Layer], system: MultiFpga, bits: int, partition: Partition | None,
            step: int, channel_step: int, uneven: bool, hosts: Hosts | None) -> tuple[list[MultiLayerLatency], int]:
    out, evaluated = [], 0
    for layer in layers:
        choice = best_layer(layer, system, bits=bits, partition=partition, step=step, channel_step=channel_step,
                            uneven=uneven, hosts=hosts)
        out.append(choice.latency)
        evaluated += choice.evaluated
    return out, evaluated


def search_multi_fpga(networks: Sequence[Network], system: MultiFpga, *, bits: int = 16,
                      partition: Partition | None = None, step: int = 1, channel_step: int = 1,
                      uneven: bool = False, hosts: Hosts | None = None) -> MultiFpgaSearchResult:
    """The fastest split and tiling of every layer of ``networks`` on ``system``, and on one board.

    ``partition`` fixes every layer's split (each layer must admit it). ``uneven`` lets factors
    that do not divide their dimension in (rounded up, as the paper's script). The one-board
    baseline runs the same exhaustive search with ``boards=1``. ``hosts`` (a system's links) drops
    the splits the links cannot carry.

    Raises:
        SpecError: no networks, or a given partition that does not apply to a layer.
        InfeasibleError: a layer has no tiling that fits the board.
    """
    layers = [layer for net in networks for layer in net.layers]
    if not layers:
        raise SpecError("networks: must hold at least one layer, got none")
    if partition is not None:
        problems = list(dict.fromkeys(p for layer in layers
                                      for p in partition.problems(layer, system.boards, uneven=uneven)))
        why = hosts(partition) if hosts is not None and not problems else None
        if why is not None:
            problems.append(why)
        if problems:
            more = [f"and {len(problems) - 3} more"] if len(problems) > 3 else []
            raise SpecError(problems[:3] + more)
    t0 = time.perf_counter()
    multi, n_multi = _search(layers, system, bits, partition, step, channel_step, uneven, hosts)
    one, n_one = _search(layers, dataclasses.replace(system, boards=1), bits, None, step, channel_step, False, None)
    return MultiFpgaSearchResult(system=system, uneven=uneven, networks=tuple(networks), layers=tuple(multi),
                                 one_board=tuple(one), evaluated=n_multi + n_one, seconds=time.perf_counter() - t0)



def search_cluster(networks: Sequence[Network], cluster: FpgaCluster, *, partition: Partition | None = None,
                   step: int = 1, channel_step: int = 1, uneven: bool = False) -> MultiFpgaSearchResult:
    """:func:`search_multi_fpga` on a system spec's boards: words of the spec's ``word_bits``, only the
    splits its links can carry (:meth:`~coexplore.system.fpga_cluster.FpgaCluster.hosting`).

    Raises:
        SpecError: as :func:`search_multi_fpga`, or a given partition the links cannot carry.
    """
    res = search_multi_fpga(networks, cluster.multi, bits=cluster.system.word_bits, partition=partition, step=step,
                            channel_step=channel_step, uneven=uneven, hosts=cluster.hosting)
    return dataclasses.replace(res, cluster=cluster)
