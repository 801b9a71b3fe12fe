"""A system of compute engines joined by links: what NANDS's network-on-chip designs are made of.

An engine is any accelerator coexplore prices: a preset name or an accelerator YAML (priced by
:mod:`coexplore.cost.model`), or an FPGA board ``fpga:BOARD`` (YAML ``board: BOARD``; Zhang et al.'s
tiling model, :mod:`coexplore.system.engines`); links are directed, each with a bandwidth (GB/s, i.e. bytes per ns)
and a per-hop latency (ns). Topologies: ``mesh`` (rows x cols, engines row-major, one link each
way between neighbours, XY routing), ``ring`` (one link each way between neighbours, shortest
direction) and ``point-to-point`` (the listed engine pairs, one link each way, shortest path).
Off-chip memory is ``per-engine`` (each engine its own channel) or ``shared`` (one channel for
all), with a bandwidth in GB/s; an FPGA board's channel is its own DDR (the board's bandwidth), so a
system with FPGA engines has per-engine memory. Validation names the field and the value: a disconnected
topology, a link of zero bandwidth, an unknown engine.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coexplore.errors import SpecError
from coexplore.presets.boards import get_board
from coexplore.system.engines import board_of, check_board, fpga_ref

__all__ = ["MEMORY_KINDS", "TOPOLOGIES", "Link", "Memory", "SystemSpec", "load_system", "mesh_system",
           "system_from_dict"]

TOPOLOGIES = ("mesh", "ring", "point-to-point")
MEMORY_KINDS = ("per-engine", "shared")


def _positive(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and value > 0


@dataclass(frozen=True, slots=True)
class Link:
    """A directed link from engine ``src`` to engine ``dst``."""

    src: str
    dst: str
    bandwidth_gb_per_s: float
    hop_latency_ns: float = 0.0

    @property
    def id(self) -> str:
        return f"{self.src}->{self.dst}"

    def __post_init__(self) -> None:
        if not _positive(self.bandwidth_gb_per_s):
            raise SpecError(f"links[{self.id}].bandwidth_gb_per_s: must be > 0, got {self.bandwidth_gb_per_s!r}")
        if isinstance(self.hop_latency_ns, bool) or not isinstance(self.hop_latency_ns, int | float) \
                or self.hop_latency_ns < 0:
            raise SpecError(f"links[{self.id}].hop_latency_ns: must be >= 0, got {self.hop_latency_ns!r}")


@dataclass(frozen=True, slots=True)
class Memory:
    """Off-chip memory: one channel per engine or one shared by all."""

    kind: str = "per-engine"
    bandwidth_gb_per_s: float = 16.0

    def __post_init__(self) -> None:
        if self.kind not in MEMORY_KINDS:
            raise SpecError(f"memory.kind: must be one of {', '.join(MEMORY_KINDS)}, got {self.kind!r}")
        if not _positive(self.bandwidth_gb_per_s):
            raise SpecError(f"memory.bandwidth_gb_per_s: must be > 0, got {self.bandwidth_gb_per_s!r}")


@dataclass(frozen=True, slots=True)
class SystemSpec:
    """Engines, their accelerators, the directed links between them, off-chip memory.

    ``rows`` and ``cols`` are the mesh's shape (0 for other topologies); ``word_bits`` is the
    width of an activation or weight word on the links and the memory channels.
    """

    name: str
    engines: tuple[str, ...]
    accelerators: tuple[str, ...]
    topology: str
    links: tuple[Link, ...]
    memory: Memory = Memory()
    rows: int = 0
    cols: int = 0
    word_bits: int = 8

    def __post_init__(self) -> None:
        problems = []
        if not self.engines:
            problems.append("system.engines: must name at least one engine, got none")
        if len(set(self.engines)) != len(self.engines):
            problems.append(f"system.engines: ids must be distinct, got {list(self.engines)!r}")
        if len(self.accelerators) != len(self.engines):
            problems.append(f"system.accelerators: one per engine ({len(self.engines)}), got {len(self.accelerators)}")
        if self.topology not in TOPOLOGIES:
            problems.append(f"system.topology.kind: must be one of {', '.join(TOPOLOGIES)}, got {self.topology!r}")
        if self.topology == "mesh" and self.rows * self.cols != len(self.engines):
            problems.append(f"system.topology: a {self.rows}x{self.cols} mesh has {self.rows * self.cols} cores, "
                            f"got {len(self.engines)} engines")
        if isinstance(self.word_bits, bool) or not isinstance(self.word_bits, int) or self.word_bits < 1:
            problems.append(f"system.word_bits: must be an integer >= 1, got {self.word_bits!r}")
        problems += [p for e, a in zip(self.engines, self.accelerators, strict=False)
                     if (p := check_board(a, f"system.engines[{e}].board")) is not None]
        if self.fpga_engines and self.memory.kind == "shared":
            problems.append(f"system.memory.kind: FPGA engines ({', '.join(self.fpga_engines)}) each read their own "
                            "board's DDR; must be per-engine, got 'shared'")
        known = set(self.engines)
        problems += [f"system.links[{x.id}]: unknown engine {e!r}; engines: {', '.join(self.engines)}"
                     for x in self.links for e in (x.src, x.dst) if e not in known]
        ids = [x.id for x in self.links]
        problems += [f"system.links: link {i} given twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
        if problems:
            raise SpecError(problems)
        unreachable = self._unreachable()
        if unreachable:
            src, dst = unreachable
            raise SpecError(f"system.topology: disconnected, no route from engine {src!r} to engine {dst!r} "
                            f"({self.topology}, {len(self.links)} links)")

    # -- structure -------------------------------------------------------------------------------
    @property
    def fpga_engines(self) -> tuple[str, ...]:
        """The engines that are FPGA boards (``fpga:BOARD``)."""
        return tuple(e for e, a in zip(self.engines, self.accelerators, strict=False) if board_of(a) is not None)

    def memory_gb_per_s(self, engine: str) -> float:
        """Bandwidth of ``engine``'s off-chip channel: its board's DDR for an FPGA, else the system's memory."""
        name = board_of(self.accelerators[self.engines.index(engine)])
        return get_board(name).bandwidth_gbytes_per_s if name else self.memory.bandwidth_gb_per_s

    @property
    def link_ids(self) -> tuple[str, ...]:
        return tuple(x.id for x in self.links)

    def link(self, link_id: str) -> Link:
        for x in self.links:
            if x.id == link_id:
                return x
        raise SpecError(f"link: unknown {link_id!r}; links: {', '.join(self.link_ids)}")

    def coords(self, engine: str) -> tuple[int, int]:
        """(row, col) of a mesh engine."""
        i = self.engines.index(engine)
        return divmod(i, self.cols)

    def _neighbours(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {e: [] for e in self.engines}
        for x in self.links:
            out[x.src].append(x.dst)
        return out

    def _unreachable(self) -> tuple[str, str] | None:
        """A (source, destination) pair with no route, or None when every engine reaches every other."""
        nb = self._neighbours()
        for src in self.engines:
            seen = {src}
            todo = deque([src])
            while todo:
                for n in nb[todo.popleft()]:
                    if n not in seen:
                        seen.add(n)
                        todo.append(n)
            for dst in self.engines:
                if dst not in seen:
                    return src, dst
        return None

    def route(self, src: str, dst: str) -> tuple[str, ...]:
        """Link ids a packet from ``src`` to ``dst`` crosses, in order (empty when ``src == dst``).

        Mesh: XY (dimension-order) routing, columns first, then rows. Ring: the shorter way round,
        increasing index on a tie. Point-to-point: a shortest path, neighbours in link order.
        """
        if src == dst:
            return ()
        if self.topology == "mesh":
            (r0, c0), (r1, c1) = self.coords(src), self.coords(dst)
            path = [(r0, c0)]
            while c0 != c1:
                c0 += 1 if c1 > c0 else -1
                path.append((r0, c0))
            while r0 != r1:
                r0 += 1 if r1 > r0 else -1
                path.append((r0, c0))
            names = [self.engines[r * self.cols + c] for r, c in path]
            return tuple(f"{a}->{b}" for a, b in itertools.pairwise(names))
        if self.topology == "ring":
            size, i, j = len(self.engines), self.engines.index(src), self.engines.index(dst)
            up = (j - i) % size
            step = 1 if up <= size - up else -1
            names = [self.engines[(i + step * k) % size] for k in range((up if step == 1 else size - up) + 1)]
            return tuple(f"{a}->{b}" for a, b in itertools.pairwise(names))
        nb = self._neighbours()
        prev: dict[str, str] = {src: src}
        todo = deque([src])
        while todo and dst not in prev:
            cur = todo.popleft()
            for n in nb[cur]:
                if n not in prev:
                    prev[n] = cur
                    todo.append(n)
        hops = [dst]
        while hops[-1] != src:
            hops.append(prev[hops[-1]])
        hops.reverse()
        return tuple(f"{a}->{b}" for a, b in itertools.pairwise(hops))


def _pair_links(pairs: list[tuple[str, str]], bandwidth: float, hop_ns: float) -> tuple[Link, ...]:
    out: list[Link] = []
    for a, b in pairs:
        out += [Link(a, b, bandwidth, hop_ns), Link(b, a, bandwidth, hop_ns)]
    return tuple(out)


def _mesh_pairs(engines: tuple[str, ...], rows: int, cols: int) -> list[tuple[str, str]]:
    for k, v in (("rows", rows), ("cols", cols)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise SpecError(f"system.topology.{k}: must be an integer >= 1, got {v!r}")
    if rows * cols != len(engines):
        raise SpecError(f"system.topology: a {rows}x{cols} mesh has {rows * cols} cores, got {len(engines)} engines")
    pairs = [(engines[r * cols + c], engines[r * cols + c + 1]) for r in range(rows) for c in range(cols - 1)]
    return pairs + [(engines[r * cols + c], engines[(r + 1) * cols + c]) for r in range(rows - 1) for c in range(cols)]


def mesh_system(rows: int, cols: int, accelerator: str, *, bandwidth_gb_per_s: float, hop_latency_ns: float = 0.0,
                memory: Memory | None = None, word_bits: int = 8, name: str | None = None) -> SystemSpec:
    """A rows x cols mesh of one accelerator, engines ``e0..`` row-major, a link each way between neighbours."""
    engines = tuple(f"e{i}" for i in range(rows * cols)) if isinstance(rows, int) and isinstance(cols, int) else ()
    pairs = _mesh_pairs(engines, rows, cols)
    return SystemSpec(name=name or f"mesh-{rows}x{cols}", engines=engines, accelerators=(accelerator,) * len(engines),
                      topology="mesh", links=_pair_links(pairs, bandwidth_gb_per_s, hop_latency_ns),
                      memory=memory or Memory(), rows=rows, cols=cols, word_bits=word_bits)


def _engines(data: Any, problems: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if isinstance(data, dict):
        count, acc = data.get("count"), _engine_ref(data, "system.engines", problems)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            problems.append(f"system.engines.count: must be an integer >= 1, got {count!r}")
            count = 0
        if acc is None:
            acc = ""
        return tuple(f"e{i}" for i in range(count)), (acc,) * count
    if isinstance(data, list) and data:
        ids, accs = [], []
        for i, e in enumerate(data):
            if not isinstance(e, dict):
                problems.append(f"system.engines[{i}]: must be a mapping with an accelerator or a board, got {e!r}")
                continue
            ref = _engine_ref(e, f"system.engines[{i}]", problems)
            if ref is None:
                continue
            ids.append(str(e.get("id", f"e{i}")))
            accs.append(ref)
        return tuple(ids), tuple(accs)
    problems.append(f"system.engines: must be {{count, accelerator or board}} or a list of {{id, accelerator or "
                    f"board}}, got {data!r}")
    return (), ()


def _engine_ref(data: dict[str, Any], field: str, problems: list[str]) -> str | None:
    """An engine's reference: ``accelerator: NAME_OR_YAML`` (``fpga:BOARD`` too) or ``board: BOARD``."""
    acc, board = data.get("accelerator"), data.get("board")
    if acc is not None and board is not None:
        problems.append(f"{field}: give an accelerator or a board, not both; got accelerator {acc!r}, board {board!r}")
        return None
    if board is not None:
        if not isinstance(board, str) or not board:
            problems.append(f"{field}.board: must be an FPGA board name, got {board!r}")
            return None
        return fpga_ref(board)
    if not isinstance(acc, str) or not acc:
        problems.append(f"{field}.accelerator: must be a preset name, an accelerator YAML or fpga:BOARD (or give "
                        f"board: BOARD), got {acc!r}")
        return None
    return acc


def system_from_dict(data: Any, *, name: str = "system") -> SystemSpec:
    """A :class:`SystemSpec` from its YAML form (see ``examples/system-mesh-2x2.yaml``)."""
    if not isinstance(data, dict):
        raise SpecError(f"system: must be a mapping, got {type(data).__name__}")
    known = {"name", "engines", "topology", "link", "links", "memory", "word_bits"}
    problems = [f"system.{k}: unknown key; keys: {', '.join(sorted(known))}" for k in data if k not in known]
    engines, accs = _engines(data.get("engines"), problems)
    topo: Any = data.get("topology") or {}
    kind = topo.get("kind") if isinstance(topo, dict) else None
    if kind not in TOPOLOGIES:
        problems.append(f"system.topology.kind: must be one of {', '.join(TOPOLOGIES)}, got {kind!r}")
    link = data.get("link") or {}
    bw: Any = link.get("bandwidth_gb_per_s")
    hop: Any = link.get("hop_latency_ns", 0.0)
    if kind in ("mesh", "ring") and not _positive(bw):
        problems.append(f"system.link.bandwidth_gb_per_s: must be > 0, got {bw!r}")
    mem = data.get("memory") or {}
    if not isinstance(mem, dict):
        problems.append(f"system.memory: must be a mapping {{kind, bandwidth_gb_per_s}}, got {mem!r}")
        mem = {}
    if problems:
        raise SpecError(problems)
    memory = Memory(kind=mem.get("kind", "per-engine"), bandwidth_gb_per_s=mem.get("bandwidth_gb_per_s", 16.0))
    word_bits = data.get("word_bits", 8)
    sys_name = str(data.get("name", name))
    if kind == "mesh":
        rows, cols = topo.get("rows"), topo.get("cols")
        return SystemSpec(name=sys_name, engines=engines, accelerators=accs, topology="mesh",
                          links=_pair_links(_mesh_pairs(engines, rows, cols), bw, hop), memory=memory, rows=rows,
                          cols=cols, word_bits=word_bits)
    if kind == "ring":
        n = len(engines)
        pairs = [(engines[i], engines[(i + 1) % n]) for i in range(n if n > 2 else n - 1)]
        return SystemSpec(name=sys_name, engines=engines, accelerators=accs, topology="ring",
                          links=_pair_links(pairs, bw, hop), memory=memory, word_bits=word_bits)
    links: list[Link] = []
    for i, x in enumerate(data.get("links") or []):
        if not isinstance(x, dict) or "between" not in x or len(x["between"]) != 2:
            raise SpecError(f"system.links[{i}]: must be {{between: [A, B], bandwidth_gb_per_s, hop_latency_ns}}, "
                            f"got {x!r}")
        a, b = (str(v) for v in x["between"])
        lbw = x.get("bandwidth_gb_per_s", bw)
        if not _positive(lbw):
            raise SpecError(f"system.links[{i}].bandwidth_gb_per_s: must be > 0, got {lbw!r}")
        links += _pair_links([(a, b)], lbw, x.get("hop_latency_ns", hop))
    return SystemSpec(name=sys_name, engines=engines, accelerators=accs, topology="point-to-point",
                      links=tuple(links), memory=memory, word_bits=word_bits)


def load_system(path: str | Path) -> SystemSpec:
    """A system spec from a YAML file."""
    from coexplore.spec.io import read_yaml

    return system_from_dict(read_yaml(path, "system file"), name=Path(path).stem)
