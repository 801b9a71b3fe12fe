"""A system spec of identical FPGA boards read as Super-LIP's multi-FPGA cluster.

Super-LIP (:mod:`coexplore.cost.fpga_multi`) splits a layer by batch, rows, columns (``a = N*P*Q``
boards that share a weight tile) and output channels (``k = K`` boards that share an input tile).
Its boards form an ``a x k`` grid: the boards of one row (same batch/row/column share, different
output channels) send each other parts of the input tile, those of one column parts of the weight
tile, each over a *direct* link (the model's "1/g of the tile per link, in parallel"). So a split
needs the grid's row and column pairs to be links of the system (a rook's graph): two boards need
one link, a 2 x 2 split a ring of four, a split ``K=4`` four boards linked all to all.

:func:`cluster_from_system` checks the spec (every engine the same board, memory per engine, links
of one bandwidth and hop latency), and :meth:`FpgaCluster.hosting` places a split's grid on the
boards, or says which pair has no link. :func:`complete_system` builds the spec the old
``--boards N --link-gbps G`` flags stand for: N boards linked all to all.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from coexplore.cost.fpga_multi import MultiFpga, Partition
from coexplore.errors import SpecError
from coexplore.presets.boards import get_board
from coexplore.system.engines import board_of, fpga_ref
from coexplore.system.spec import Link, Memory, SystemSpec

__all__ = ["FpgaCluster", "cluster_from_system", "complete_system", "grid_pairs"]


def complete_system(board: str, boards: int, link_gbytes_per_s: float, *, hop_latency_ns: float = 0.0,
                    name: str | None = None) -> SystemSpec:
    """``boards`` engines ``b0..`` on ``board``, a link each way between every pair (point-to-point)."""
    engines = tuple(f"b{i}" for i in range(boards))
    links = tuple(Link(x, y, link_gbytes_per_s, hop_latency_ns) for a, b in itertools.combinations(engines, 2)
                  for x, y in ((a, b), (b, a)))
    return SystemSpec(name=name or f"{boards}x{board}", engines=engines, accelerators=(fpga_ref(board),) * boards,
                      topology="point-to-point", links=links, memory=Memory(), word_bits=16)


def grid_pairs(weight_sharers: int, input_sharers: int) -> list[tuple[int, int]]:
    """Cells (row-major in an ``a x k`` grid) that exchange tile parts: same row or same column."""
    a, k = weight_sharers, input_sharers
    cells = [(i, j) for i in range(a) for j in range(k)]
    return [(u, v) for u, v in itertools.combinations(range(len(cells)), 2)
            if cells[u][0] == cells[v][0] or cells[u][1] == cells[v][1]]


@dataclass(frozen=True, slots=True)
class FpgaCluster:
    """A checked system of identical boards and its Super-LIP model (:class:`MultiFpga`)."""

    system: SystemSpec
    multi: MultiFpga
    _placed: dict[tuple[int, int], tuple[str, ...] | None] = field(default_factory=dict, compare=False, repr=False)

    def placement(self, partition: Partition) -> tuple[str, ...] | None:
        """The board of each grid cell (row-major, ``weight_sharers x input_sharers``) such that every pair
        of the split's rows and columns has a direct link, or None if the links allow no such placement."""
        shape = (partition.weight_sharers, partition.input_sharers)
        if shape not in self._placed:
            self._placed[shape] = self._place(*shape)
        return self._placed[shape]

    def _place(self, a: int, k: int) -> tuple[str, ...] | None:
        engines = self.system.engines
        if a * k > len(engines):
            return None
        linked = {(x.src, x.dst) for x in self.system.links}
        need: dict[int, list[int]] = {}
        for u, v in grid_pairs(a, k):
            need.setdefault(v, []).append(u)
        chosen: list[str] = []

        def extend() -> bool:  # backtracking: cell c gets an unused board linked both ways to its earlier partners
            c = len(chosen)
            if c == a * k:
                return True
            for e in engines:
                if e not in chosen and all((e, chosen[u]) in linked and (chosen[u], e) in linked
                                           for u in need.get(c, [])):
                    chosen.append(e)
                    if extend():
                        return True
                    chosen.pop()
            return False

        return tuple(chosen) if extend() else None

    def hosting(self, partition: Partition) -> str | None:
        """Why the system's links cannot host ``partition`` (one line), or None when they can."""
        if partition.boards > len(self.system.engines):
            return f"partition: N*P*Q*K = {partition.boards} boards, system {self.system.name!r} has " \
                   f"{len(self.system.engines)}"
        if self.placement(partition) is not None:
            return None
        a, k = partition.weight_sharers, partition.input_sharers
        return (f"system.links: split {partition.label()} needs {partition.boards} boards whose {a} x {k} grid rows "
                f"and columns are linked directly ({len(grid_pairs(a, k))} pairs); the {self.system.topology} links "
                f"of {self.system.name!r} ({len(self.system.links) // 2 or len(self.system.links)} pairs) have no "
                "such placement")

    def link_pairs(self, partition: Partition) -> list[tuple[str, str, str]]:
        """(board, board, 'input' or 'weight') of every linked pair the split uses, from :meth:`placement`."""
        placed = self.placement(partition)
        if placed is None:
            return []
        k = partition.input_sharers
        return [(placed[u], placed[v], "input" if u // k == v // k else "weight")
                for u, v in grid_pairs(partition.weight_sharers, k)]

    def as_dict(self) -> dict[str, object]:
        s = self.system
        return {"name": s.name, "topology": s.topology, "engines": list(s.engines),
                "links": [x.id for x in s.links], "link_gbytes_per_s": self.multi.link_gbytes_per_s,
                "hop_latency_ns": self.multi.link_hop_ns}


def cluster_from_system(system: SystemSpec, *, ports: str = "shared",
                        lone_link_gbytes_per_s: float = 1.0) -> FpgaCluster:
    """Super-LIP's model of ``system``: identical FPGA boards, each with its own memory, links of one kind.

    The links' bandwidth and hop latency come from the spec (boards run each layer in lockstep, so
    links that differ are refused rather than averaged); a lone board has none, and its record shows
    ``lone_link_gbytes_per_s``.

    Raises:
        SpecError: an engine that is not an FPGA board, boards that differ, shared memory, links of
            different bandwidths or hop latencies, a system of several boards with no link.
    """
    if system.word_bits not in (8, 16, 32):
        raise SpecError(f"system.word_bits: FPGA boards take 8, 16 or 32-bit words (Zhang et al.'s DSP and BRAM "
                        f"rules), got {system.word_bits!r}")
    refs = dict(zip(system.engines, system.accelerators, strict=True))
    not_fpga = [f"{e} ({a})" for e, a in refs.items() if board_of(a) is None]
    if not_fpga:
        raise SpecError(f"system.engines: Super-LIP splits layers over FPGA boards (board: NAME or fpga:NAME); "
                        f"not boards: {', '.join(not_fpga)}")
    names = sorted({board_of(a) or "" for a in refs.values()})
    if len(names) > 1:
        raise SpecError(f"system.engines: Super-LIP's boards must be identical, got {', '.join(names)}")
    kinds = sorted({(x.bandwidth_gb_per_s, x.hop_latency_ns) for x in system.links})
    if len(kinds) > 1:
        raise SpecError("system.links: Super-LIP's boards run each layer in lockstep over links of one kind; got "
                        + ", ".join(f"{bw:g} GB/s with {hop:g} ns hops" for bw, hop in kinds))
    if len(system.engines) > 1 and not kinds:
        raise SpecError(f"system.links: {len(system.engines)} boards with no link")
    bw, hop = kinds[0] if kinds else (lone_link_gbytes_per_s, 0.0)  # one board: no link is ever used
    multi = MultiFpga(board=get_board(names[0]), boards=len(system.engines), link_gbytes_per_s=bw, ports=ports,
                      link_hop_ns=hop)
    return FpgaCluster(system=system, multi=multi)
