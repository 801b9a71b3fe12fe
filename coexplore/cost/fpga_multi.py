"""Multi-FPGA cost: Super-LIP's (XFER's) split of one layer over several boards joined by links.

Jiang et al., "Achieving Super-Linear Speedup across Multi-FPGA for Real-Time DNN
Inference", CODES+ISSS 2019 / ACM TECS 18(5s), art. 67, extend Zhang et al.'s tiled
engine (:mod:`coexplore.cost.fpga`) to ``n`` identical boards. A layer is split by
batch (``N``, their Pb), output rows (``P``, Pr), output columns (``Q``, Pc) and
output channels (``K``, Pm); the product of the factors is the number of boards the
layer uses. Every board runs the same tiled engine on its 1/n share of the layer,
in lockstep, so the layer takes one board's time. Input channels are not split (the
paper does not: it would need a reduction of partial sums across boards).

**What the split saves** (XFER, their Eq. of the XFER design; the authors' exploration
script ``PARA.py`` writes it ``tI_mem/Pm, tI_net/Pm, tW_mem/(Pb*Pr*Pc), tW_net/(Pb*Pr*Pc)``).
Boards that differ only in their output-channel share read the same input tile; boards
that differ only in batch, rows or columns read the same weight tile. In a group of
``g`` boards sharing a tile, each board loads 1/g of it from its own memory and receives
the other parts from its peers over direct links, one per peer, in parallel: 1/g of the
tile per link. So per step a board's memory moves ``in/gi + w/gw`` words (``gi = K``,
``gw = N*P*Q`` factors) and each link ``in/gi`` (if gi > 1) plus ``w/gw`` (if gw > 1).

**Per step and per output tile**, as in :mod:`coexplore.cost.fpga` (``comp = tr*tc*R*S``
plus the pipeline depth, ``n_in = ceil(C/Tn)`` steps per output tile, ``store`` of the
output tile on the board's own memory), with the memory port model of ``ports``:

- ``shared`` (coexplore's, one off-chip port of B bytes/cycle as in ``cost/fpga.py``):
  ``mem = ceil(in_mem*b/B) + ceil(w_mem*b/B)``, ``link = ceil(in_net*b/L) + ceil(w_net*b/L)``;
  ``group = max(n_in*comp, n_in*mem + store, n_in*link)``. With one board (``link = 0``)
  this is exactly :func:`coexplore.cost.fpga.layer_cycles_array`.
- ``split`` (the paper's: separate input, weight and output streams, each B/3 bytes/cycle):
  ``step = max(comp, t_in_mem, t_w_mem, t_in_net, t_w_net)`` (their Lat1) and
  ``group = max(n_in*step, store)`` (their Lat2).

Each link transfer (a step's input or weight share) also waits the link's hop latency
(``link_hop_ns``, rounded up to whole cycles; 0 by default, as the paper's model).

The layer takes ``n_tiles*group + first load + store`` (the first load and the last
store overlap nothing, as in ``cost/fpga.py``; the paper's script leaves them out),
``n_tiles = N/Pb * ceil((K/Pm)/Tm) * ceil((P/Pr)/Tr) * ceil((Q/Pc)/Tc)`` (times groups).
The ``bound`` of a layer names the term that sets ``group``: ``compute``, ``memory``
(the board's own off-chip port) or ``link`` (the inter-FPGA links).

Departures: factors must divide their dimension, unless ``uneven`` is asked for (the
paper's script rounds up: ``ceil(R/Pr)`` rows per board, the boards with the larger
share set the pace); the input tile carries the kernel halo of
``cost/fpga.py`` (the paper's ``Tn*Tr*Tc`` omits it); output channels of grouped
layers are not split.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from coexplore.cost.fpga import FpgaDesign, check_fits, resources
from coexplore.errors import SpecError
from coexplore.presets.boards import FpgaBoard
from coexplore.spec.workload import Layer

__all__ = ["BOUNDS", "PARTITION_DIMS", "PORTS", "MultiFpga", "MultiLayerLatency", "Partition", "layer_latency",
           "multi_terms"]

PORTS = ("shared", "split")
PARTITION_DIMS = ("N", "P", "Q", "K")  # batch, output rows, output columns, output channels (Pb, Pr, Pc, Pm)
BOUNDS = ("compute", "memory", "link")


@dataclass(frozen=True, slots=True, kw_only=True)
class MultiFpga:
    """``boards`` identical FPGA boards; each pair that shares a tile has a direct link.

    Attributes:
        board: The board every engine sits on (its DSPs, BRAM, memory bandwidth and clock).
        boards: How many boards the system has (a layer may use fewer).
        link_gbytes_per_s: Bandwidth of one board-to-board link, each direction (10^9 bytes/s).
        ports: Memory port model, ``shared`` (one port, as ``cost/fpga.py``) or ``split``
            (the paper's three streams of a third of the bandwidth each); see the module doc.
        link_hop_ns: Latency of one link transfer (ns), added to every step's input and weight share
            sent over a link (a system spec's hop latency; 0 by default).
    """

    board: FpgaBoard
    boards: int
    link_gbytes_per_s: float
    ports: str = "shared"
    link_hop_ns: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.boards, int) or isinstance(self.boards, bool) or self.boards < 1:
            problems.append(f"multi_fpga.boards: must be an integer >= 1, got {self.boards!r}")
        if not (isinstance(self.link_gbytes_per_s, (int, float)) and math.isfinite(self.link_gbytes_per_s)
                and self.link_gbytes_per_s > 0):
            problems.append(
                f"multi_fpga.link_gbytes_per_s: must be a finite number > 0, got {self.link_gbytes_per_s!r}")
        if isinstance(self.link_hop_ns, bool) or not isinstance(self.link_hop_ns, (int, float)) \
                or not math.isfinite(self.link_hop_ns) or self.link_hop_ns < 0:
            problems.append(f"multi_fpga.link_hop_ns: must be a finite number >= 0, got {self.link_hop_ns!r}")
        if self.ports not in PORTS:
            problems.append(f"multi_fpga.ports: must be one of {', '.join(PORTS)}, got {self.ports!r}")
        if problems:
            raise SpecError(problems)

    @property
    def link_bytes_per_cycle(self) -> float:
        """Link bytes per board-clock cycle."""
        return self.link_gbytes_per_s * 1e3 / self.board.clock_mhz

    @property
    def link_hop_cycles(self) -> int:
        """The hop latency in whole board-clock cycles (rounded up)."""
        return math.ceil(self.link_hop_ns * self.board.clock_mhz / 1e3 * (1 - 1e-12))

    @property
    def memory_bytes_per_cycle(self) -> float:
        """Bytes per cycle of one memory stream: the whole port (``shared``) or a third (``split``)."""
        return self.board.bytes_per_cycle / (3 if self.ports == "split" else 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Partition:
    """Split factors of one layer: batch ``N``, rows ``P``, columns ``Q``, output channels ``K``."""

    N: int = 1
    P: int = 1
    Q: int = 1
    K: int = 1

    def __post_init__(self) -> None:
        problems = [f"partition.{d}: must be a positive integer, got {getattr(self, d)!r}" for d in PARTITION_DIMS
                    if not isinstance(getattr(self, d), int) or isinstance(getattr(self, d), bool)
                    or getattr(self, d) < 1]
        if problems:
            raise SpecError(problems)

    @classmethod
    def parse(cls, text: str) -> Partition:
        """``K=2`` or ``N=1,P=2,Q=1,K=2`` (dimensions left out are not split)."""
        factors: dict[str, int] = {}
        for part in text.split(","):
            name, eq, value = part.strip().partition("=")
            if not eq or name not in PARTITION_DIMS or name in factors:
                raise SpecError(f"partition: expected DIM=FACTOR items with DIM one of {', '.join(PARTITION_DIMS)} "
                                f"(each once), got {text!r}")
            try:
                factors[name] = int(value)
            except ValueError:
                raise SpecError(f"partition.{name}: must be a positive integer, got {value!r}") from None
        return cls(**factors)

    @property
    def boards(self) -> int:
        return self.N * self.P * self.Q * self.K

    @property
    def input_sharers(self) -> int:
        """Boards that read the same input tile (they differ only in output channels)."""
        return self.K

    @property
    def weight_sharers(self) -> int:
        """Boards that read the same weight tile (they differ only in batch, rows or columns)."""
        return self.N * self.P * self.Q

    def label(self) -> str:
        """``K=2``, ``N=2,P=2`` or ``none`` (one board)."""
        return ",".join(f"{d}={getattr(self, d)}" for d in PARTITION_DIMS if getattr(self, d) > 1) or "none"

    def problems(self, layer: Layer, boards: int | None = None, *, uneven: bool = False) -> list[str]:
        """Why this split does not apply to ``layer`` (on a system of ``boards``); empty if it does.

        ``uneven`` accepts factors that do not divide their dimension (the paper's rounding up).
        """
        out = []
        for d in PARTITION_DIMS:
            f, dim = getattr(self, d), getattr(layer, d)
            if f > dim:
                out.append(f"partition.{d}: factor {f} is larger than layer {layer.name!r}'s {d} = {dim}")
            elif dim % f and not uneven:
                out.append(f"partition.{d}: factor {f} does not divide layer {layer.name!r}'s {d} = {dim}")
        if self.K > 1 and layer.groups > 1:
            out.append(f"partition.K: splitting the output channels of grouped layer {layer.name!r} "
                       f"(groups={layer.groups}) is not modelled, got {self.K}")
        if boards is not None and self.boards > boards:
            out.append(f"partition: N*P*Q*K = {self.boards} boards, the system has {boards}")
        return out

    def check(self, layer: Layer, boards: int | None = None, *, uneven: bool = False) -> None:
        """Raise :class:`SpecError` naming every reason the split does not apply to ``layer``."""
        problems = self.problems(layer, boards, uneven=uneven)
        if problems:
            raise SpecError(problems)

    def board_layer(self, layer: Layer) -> Layer:
        """The largest board's share of ``layer`` (the split must apply; see :meth:`check`): with an
        uneven split the boards with a rounded-up share set the pace."""
        return dataclasses.replace(layer, N=-(-layer.N // self.N), P=-(-layer.P // self.P),
                                   Q=-(-layer.Q // self.Q), K=-(-layer.K // self.K))


def _ceil(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    return np.asarray(-(-np.asarray(a) // b), dtype=np.int64)


def _transfer(words: np.ndarray, bits: int, bytes_per_cycle: float) -> np.ndarray:
    """Cycles to move ``words`` (may be fractional: a 1/g share) at ``bytes_per_cycle``."""
    return np.ceil(np.asarray(words, dtype=np.float64) * (bits / 8) / bytes_per_cycle * (1 - 1e-12)).astype(np.int64)


def _bound(memory: np.ndarray, link: np.ndarray) -> np.ndarray:
    """Index into :data:`BOUNDS` of the term that sets the pace. A tie names the transfer (memory, then
    link): the search keeps the fewest DSPs among equal latencies, so a tie means the MAC array was
    shrunk to the rate at which data arrives."""
    return np.where(memory, 1, np.where(link, 2, 0))


def multi_terms(tiles: np.ndarray, layer: Layer, partition: Partition, system: MultiFpga, bits: int = 16,
                pipeline_depth: int = 0) -> dict[str, np.ndarray]:
    """The model's terms (module doc) for a batch of tilings, int arrays (n,); no checks.

    ``tiles`` is int (n, 4) = Tm, Tn, Tr, Tc of one board's engine; ``layer`` is the whole
    layer (``partition`` must apply to it). Keys: ``n_tiles n_in comp mem link store group
    first latency bound`` (``bound`` indexes :data:`BOUNDS`; ``mem`` and ``link`` are per step,
    in ``split`` mode the larger of the input and weight streams).
    """
    sub = partition.board_layer(layer)
    Tm, Tn, Tr, Tc = np.asarray(tiles, dtype=np.int64).reshape(-1, 4).T
    b = sub.bounds()
    tm, tn = np.minimum(Tm, b["K"]), np.minimum(Tn, b["C"])
    tr, tc = np.minimum(Tr, sub.P), np.minimum(Tc, sub.Q)
    rows = (tr - 1) * sub.stride[0] + (sub.R - 1) * sub.dilation[0] + 1
    cols = (tc - 1) * sub.stride[1] + (sub.S - 1) * sub.dilation[1] + 1
    in_words, w_words = tn * rows * cols, tm * tn * sub.R * sub.S
    gi, gw = partition.input_sharers, partition.weight_sharers
    B, L = system.memory_bytes_per_cycle, system.link_bytes_per_cycle
    in_mem, w_mem = _transfer(in_words / gi, bits, B), _transfer(w_words / gw, bits, B)
    hop = system.link_hop_cycles
    in_net = _transfer(in_words / gi, bits, L) + hop if gi > 1 else np.zeros_like(in_mem)
    w_net = _transfer(w_words / gw, bits, L) + hop if gw > 1 else np.zeros_like(w_mem)
    comp = tr * tc * sub.R * sub.S + pipeline_depth
    store = _transfer(tm * tr * tc, bits, B)
    n_in = _ceil(b["C"], Tn)
    if system.ports == "shared":
        mem, link = in_mem + w_mem, in_net + w_net
        group = np.maximum(n_in * comp, np.maximum(n_in * mem + store, n_in * link))
        bound = _bound(group == n_in * mem + store, group == n_in * link)
    else:
        mem, link = np.maximum(in_mem, w_mem), np.maximum(in_net, w_net)
        step = np.maximum(comp, np.maximum(mem, link))
        group = np.maximum(n_in * step, store)
        bound = _bound((mem == step) | (n_in * step < store), link == step)
    first = np.maximum(mem, link)
    n_tiles = sub.N * sub.groups * _ceil(b["K"], Tm) * _ceil(sub.P, Tr) * _ceil(sub.Q, Tc)
    return {"n_tiles": n_tiles, "n_in": n_in, "comp": comp, "mem": mem, "link": link, "store": store,
            "group": group, "first": first, "latency": n_tiles * group + first + store, "bound": bound}


@dataclass(frozen=True, slots=True, kw_only=True)
class MultiLayerLatency:
    """One layer split over boards (module doc): per step ``compute_cycles``, ``memory_cycles``
    and ``link_cycles``; per output tile ``store_cycles`` and ``group_cycles``."""

    name: str
    partition: Partition
    design: FpgaDesign
    n_tiles: int
    n_in: int
    compute_cycles: int
    memory_cycles: int
    link_cycles: int
    store_cycles: int
    group_cycles: int
    latency_cycles: int
    bound: str


def layer_latency(design: FpgaDesign, layer: Layer, partition: Partition, system: MultiFpga, *,
                  check: bool = True, uneven: bool = False) -> MultiLayerLatency:
    """``layer`` split by ``partition`` over ``system``, each board running ``design``.

    Raises:
        SpecError: the partition does not apply to the layer (``uneven``: factors need not divide) or
            needs more boards than the system has.
        InfeasibleError: (with ``check``) the engine, sized for one board's share, exceeds the board.
    """
    partition.check(layer, system.boards, uneven=uneven)
    if check:
        check_fits(resources(design, [partition.board_layer(layer)]), system.board,
                   f"FPGA design Tm={design.Tm},Tn={design.Tn},Tr={design.Tr},Tc={design.Tc} for layer {layer.name!r}")
    t = {k: int(v[0]) for k, v in multi_terms(np.array(design.tiles), layer, partition, system, design.bits,
                                                design.pipeline_depth).items()}
    return MultiLayerLatency(name=layer.name, partition=partition, design=design, n_tiles=t["n_tiles"],
                             n_in=t["n_in"], compute_cycles=t["comp"], memory_cycles=t["mem"],
                             link_cycles=t["link"], store_cycles=t["store"], group_cycles=t["group"],
                             latency_cycles=t["latency"], bound=BOUNDS[t["bound"]])
