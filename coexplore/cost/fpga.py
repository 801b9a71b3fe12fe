"""FPGA cost: Zhang et al.'s loop-tiling model, which FNAS uses to price a network before training.

Zhang et al., "Optimizing FPGA-based Accelerator Design for Deep Convolutional Neural
Networks", FPGA 2015, tile a conv of M output and N input channels, R x C outputs and a
K x K kernel by Tm, Tn, Tr, Tc. Loops, outermost first: row band (Tr), column band (Tc),
output-channel tile (Tm), input-channel tile (Tn); inside, K*K*Tr*Tc pipelined
iterations (II = 1) of a Tm x Tn MAC array. In coexplore's :class:`Layer` terms M = K,
N = C (per group), R x C = P x Q, K x K = R x S. Groups run one after another, an FC
layer is the case P = Q = R = S = 1, and a batch runs image after image.

**Resources** (:func:`resources`). DSP48s = Tm*Tn*dsp_per_mac: 1 at 8/16-bit fixed
point, 5 for 32-bit float (3 multiply + 2 add, as Zhang et al.; their Tm=64, Tn=7 design
gives their 2,240 DSPs). BRAM follows their HLS partitioning. The buffers are split into
Tn input banks of ((Tr-1)*S+K) x ((Tc-1)*S+K) words, Tm*Tn weight banks of K*K words and
Tm output banks of Tr*Tc words. All banks are read every cycle, so each bank takes
ceil(words / depth) RAMB18s, at least one. The depth is 2048, 1024 or 512 words at 8, 16
or 32 bits (the 2Kx9, 1Kx18, 512x36 shapes). Every bank is double-buffered. A shared
engine sizes its banks for the largest tile over its layers.

**Latency** (:func:`layer_latency`), in board-clock cycles, over one off-chip port of B
bytes/cycle. Tiles are clamped to the layer (tm, tn, tr, tc), as the paper's loop bounds
min(row+Tr, R) are. Edge tiles still count as whole tiles, as in the paper's cycle count.
Per step: ``comp = tr*tc*R*S + pipeline_depth`` and
``load = ceil(in_bytes/B) + ceil(w_bytes/B)`` (tn input channels, tm*tn*R*S weights).
Per output tile: ``store = ceil(tm*tr*tc*bytes/B)``. Double buffering overlaps transfers
with compute, so an output tile of n_in = ceil(N/Tn) steps, stored once, takes
``group = max(n_in*comp, n_in*load + store)``. This is Zhang et al.'s max(computation,
traffic / bandwidth) roofline, per output tile. The layer takes
``n_tiles*group + load + store`` (the first load and the last store overlap nothing),
with n_tiles = batch * groups * ceil(M/Tm) * ceil(R/Tr) * ceil(C/Tc).

**Schedule** (FNAS's off-chip schedule, ``FpgaDesign.schedule``): the order in which an
engine produces its output tiles. ``row`` (row-major): row band, column band, then
output-channel tile, as above. ``channel`` (channel-major): output-channel tile outermost,
then row band and column band. Every step loads its own inputs and weights, so the
order changes no layer's own latency or traffic; it changes which outputs exist first,
hence when the next pipeline stage can start (:func:`layer_latency`'s
``first_output_cycles``). Channel-major lets a consumer that reads few channels (e.g. a
global pooling before the classifier) start after a few channel planes instead of
after nearly the whole output.

**Network.** A shared engine runs the layers in turn (sum). FNAS's layer-pipelined
design has one engine per layer, and the engines share the board. FNAS defines its
latency as "pipeline start time + processing time"; :func:`pipelined_latency` gives our
reading (:mod:`coexplore.cost.fpga_pipeline` for stages of several layers).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from coexplore.errors import InfeasibleError, SpecError
from coexplore.presets.boards import FpgaBoard
from coexplore.spec.workload import Layer, Network

__all__ = [
    "SCHEDULES", "FpgaDesign", "FpgaLatency", "FpgaResources", "LayerLatency", "check_fits", "layer_cycles_array",
    "layer_latency", "pipelined_latency", "resources", "resources_array", "shared_latency",
]

SCHEDULES = ("row", "channel")  # output-tile order: row-major (channel tiles innermost) or channel-major
DSP_PER_MAC = {8: 1, 16: 1, 32: 5}  # 32 = IEEE float (Zhang et al.: 3 DSPs multiply, 2 add)
BRAM18_DEPTH = {8: 2048, 16: 1024, 32: 512}  # words per RAMB18 at 2Kx9, 1Kx18, 512x36


@dataclass(frozen=True, slots=True, kw_only=True)
class FpgaDesign:
    """One tiled engine: a Tm x Tn MAC array with Tr x Tc output tiles, ``bits`` per word.

    ``pipeline_depth`` is Zhang et al.'s P, the extra cycles per tile to fill the MAC
    pipeline (0 by default, as in their approximation). ``schedule`` is the order of the
    output tiles (:data:`SCHEDULES`, module doc): it sets when a next pipeline stage can start.
    """

    Tm: int
    Tn: int
    Tr: int
    Tc: int
    bits: int = 16
    pipeline_depth: int = 0
    schedule: str = "row"

    def __post_init__(self) -> None:
        problems = [f"fpga_design.{f}: must be a positive integer, got {getattr(self, f)!r}"
                    for f in ("Tm", "Tn", "Tr", "Tc") if not isinstance(getattr(self, f), int)
                    or getattr(self, f) <= 0]
        if self.bits not in DSP_PER_MAC:
            problems.append(f"fpga_design.bits: must be one of {sorted(DSP_PER_MAC)}, got {self.bits!r}")
        if not isinstance(self.pipeline_depth, int) or self.pipeline_depth < 0:
            problems.append(f"fpga_design.pipeline_depth: must be an integer >= 0, got {self.pipeline_depth!r}")
        if self.schedule not in SCHEDULES:
            problems.append(f"fpga_design.schedule: must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if problems:
            raise SpecError(problems)

    @property
    def tiles(self) -> tuple[int, int, int, int]:
        return (self.Tm, self.Tn, self.Tr, self.Tc)

    @property
    def dsp_per_mac(self) -> int:
        return DSP_PER_MAC[self.bits]


@dataclass(frozen=True, slots=True, kw_only=True)
class FpgaResources:
    """What a design (or a set of per-layer engines) takes from the board."""

    dsp: int
    bram18k: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerLatency:
    """One layer on one engine (see the module doc for the formulas).

    ``n_tiles`` output tiles of ``n_in`` input-channel steps each. Per step,
    ``compute_cycles`` and ``load_cycles``; per output tile, ``store_cycles`` and
    ``group_cycles`` (compute and transfers overlapped). ``first_output_cycles`` is when
    the next pipeline stage can start.
    """

    name: str
    n_tiles: int
    n_in: int
    compute_cycles: int
    load_cycles: int
    store_cycles: int
    group_cycles: int
    latency_cycles: int
    first_output_cycles: int

    @property
    def bound(self) -> str:
        """Whether the MAC array ("compute") or the off-chip port ("memory") sets the pace."""
        return "compute" if self.n_in * self.compute_cycles >= self.group_cycles else "memory"


@dataclass(frozen=True, slots=True, kw_only=True)
class FpgaLatency:
    """A network's latency: ``latency_cycles = start_cycles + processing_cycles``.

    For a shared engine ``start_cycles`` is 0 and ``processing_cycles`` the sum over layers;
    for the layer-pipelined design they are FNAS's pipeline start and processing times.
    """

    mode: str
    latency_cycles: int
    start_cycles: int
    processing_cycles: int
    layers: tuple[LayerLatency, ...]
    clock_mhz: float
    resources: FpgaResources

    @property
    def seconds(self) -> float:
        return self.latency_cycles / (self.clock_mhz * 1e6)

    @property
    def fps(self) -> float:
        """Images per second in steady state (one per processing time)."""
        return self.clock_mhz * 1e6 / self.processing_cycles


def _layers(layers: Network | Iterable[Layer]) -> tuple[Layer, ...]:
    out = layers.layers if isinstance(layers, Network) else tuple(layers)
    if not out:
        raise SpecError("layers: must not be empty, got 0 layers")
    return out


def _ceil(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    return np.asarray(-(-np.asarray(a) // b), dtype=np.int64)


def _transfer(words: np.ndarray, bits: int, bytes_per_cycle: float) -> np.ndarray:
    """Cycles to move ``words`` over the off-chip port (the 1e-12 absorbs float round-off)."""
    return np.ceil(words * (bits / 8) / bytes_per_cycle * (1 - 1e-12)).astype(np.int64)


def _as_tiles(tiles: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(tiles, dtype=np.int64).reshape(-1, 4).T)


def _input_extent(tr: np.ndarray, tc: np.ndarray, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    return ((tr - 1) * layer.stride[0] + (layer.R - 1) * layer.dilation[0] + 1,
            (tc - 1) * layer.stride[1] + (layer.S - 1) * layer.dilation[1] + 1)


def resources_array(tiles: np.ndarray, layers: Network | Iterable[Layer], bits: int = 16) -> np.ndarray:
    """DSPs and BRAM18 blocks of a batch of shared engines: int (n, 2) from tiles (n, 4) = Tm, Tn, Tr, Tc."""
    Tm, Tn, Tr, Tc = _as_tiles(tiles)
    depth = BRAM18_DEPTH[bits]
    in_words = np.zeros_like(Tm)
    w_words = 0
    for layer in _layers(layers):
        rows, cols = _input_extent(Tr, Tc, layer)
        in_words = np.maximum(in_words, rows * cols)
        w_words = max(w_words, layer.R * layer.S)
    banks = Tn * _ceil(in_words, depth) + Tm * Tn * _ceil(w_words, depth) + Tm * _ceil(Tr * Tc, depth)
    return np.stack([Tm * Tn * DSP_PER_MAC[bits], 2 * banks], axis=1)


def resources(design: FpgaDesign, layers: Network | Iterable[Layer]) -> FpgaResources:
    """DSPs and double-buffered BRAM18 blocks of one engine sized for ``layers`` (rules in the module doc)."""
    dsp, bram = resources_array(np.array(design.tiles), layers, design.bits)[0]
    return FpgaResources(dsp=int(dsp), bram18k=int(bram))


def check_fits(used: FpgaResources, board: FpgaBoard, what: str = "design") -> None:
    """Raise :class:`InfeasibleError` naming every resource ``used`` takes beyond ``board``."""
    over = [f"needs {need} {label}, board {board.name!r} has {limit}"
            for need, limit, label in ((used.dsp, board.dsp, "DSP48 slices"),
                                       (used.bram18k, board.bram18k, "BRAM18 blocks")) if need > limit]
    if over:
        raise InfeasibleError(f"{what}: " + "; ".join(over))


def _terms(tiles: np.ndarray, layer: Layer, bits: int, bytes_per_cycle: float,
           pipeline_depth: int = 0) -> dict[str, np.ndarray]:
    Tm, Tn, Tr, Tc = _as_tiles(tiles)
    b = layer.bounds()
    m, n = b["K"], b["C"]
    tm, tn = np.minimum(Tm, m), np.minimum(Tn, n)
    tr, tc = np.minimum(Tr, layer.P), np.minimum(Tc, layer.Q)
    rows, cols = _input_extent(tr, tc, layer)
    comp = tr * tc * layer.R * layer.S + pipeline_depth
    load = (_transfer(tn * rows * cols, bits, bytes_per_cycle)
            + _transfer(tm * tn * layer.R * layer.S, bits, bytes_per_cycle))
    store = _transfer(tm * tr * tc, bits, bytes_per_cycle)
    n_in = _ceil(n, Tn)
    group = np.maximum(n_in * comp, n_in * load + store)
    n_tiles = layer.N * layer.groups * _ceil(m, Tm) * _ceil(layer.P, Tr) * _ceil(layer.Q, Tc)
    return {"n_tiles": n_tiles, "n_in": n_in, "comp": comp, "load": load, "store": store, "group": group,
            "latency": n_tiles * group + load + store}


def layer_cycles_array(tiles: np.ndarray, layer: Layer, board: FpgaBoard, bits: int = 16,
                       pipeline_depth: int = 0) -> np.ndarray:
    """Latency in cycles, int (n,), of one layer on a batch of engines with tiles (n, 4)."""
    return _terms(tiles, layer, bits, board.bytes_per_cycle, pipeline_depth)["latency"]


def _first_tiles(design: FpgaDesign, layer: Layer, nxt_design: FpgaDesign, nxt: Layer | None) -> int:
    """Output tiles ``layer`` completes (in loop order) before ``nxt``'s first tile has its inputs.

    ``nxt``'s first tile reads its first Tn input channels over one input tile's rows and
    columns, less the padding. Those are ``layer``'s outputs, scaled by any pooling in
    between. Groups, row bands, column bands and Tm tiles are counted in ``design``'s
    schedule order up to the last one needed. If ``nxt`` does not read ``layer``'s channels
    one to one (e.g. a flatten into a fully connected layer), it waits for the whole output.
    """
    b = layer.bounds()
    n_m, n_c, n_r = -(-b["K"] // design.Tm), -(-layer.Q // design.Tc), -(-layer.P // design.Tr)
    per_group = n_m * n_c * n_r
    if nxt is None or nxt.C != layer.K:
        return layer.groups * per_group
    h, w = nxt.input_hw
    ext_r, ext_c = _input_extent(np.array(min(nxt_design.Tr, nxt.P)), np.array(min(nxt_design.Tc, nxt.Q)), nxt)
    rows = min(layer.P, -(-min(h, max(1, int(ext_r) - nxt.padding[0])) * layer.P // h))
    cols = min(layer.Q, -(-min(w, max(1, int(ext_c) - nxt.padding[1])) * layer.Q // w))
    chans = min(nxt_design.Tn, nxt.C // nxt.groups)
    full_groups, chans = divmod(chans - 1, b["K"])  # groups of ``layer`` needed in full, channels of the last
    r_b, c_b, m_b = -(-rows // design.Tr), -(-cols // design.Tc), -(-(chans + 1) // design.Tm)
    if design.schedule == "channel":
        return full_groups * per_group + (m_b - 1) * n_r * n_c + (r_b - 1) * n_c + c_b
    return full_groups * per_group + ((r_b - 1) * n_c + (c_b - 1)) * n_m + m_b


def layer_latency(design: FpgaDesign, layer: Layer, board: FpgaBoard, *, nxt: Layer | None = None,
                  nxt_design: FpgaDesign | None = None) -> LayerLatency:
    """``layer`` on ``design`` (formulas in the module doc).

    ``first_output_cycles`` is the time until the outputs that ``nxt`` (run by
    ``nxt_design``) needs for its first tile are stored. It is the whole latency when
    there is no next layer.
    """
    t = {k: int(v[0]) for k, v in _terms(np.array(design.tiles), layer, design.bits, board.bytes_per_cycle,
                                         design.pipeline_depth).items()}
    first = _first_tiles(design, layer, nxt_design or design, nxt) * t["group"] + t["load"] + t["store"]
    return LayerLatency(
        name=layer.name, n_tiles=t["n_tiles"], n_in=t["n_in"], compute_cycles=t["comp"],
        load_cycles=t["load"], store_cycles=t["store"], group_cycles=t["group"],
        latency_cycles=t["latency"], first_output_cycles=min(first, t["latency"]),
    )


def shared_latency(design: FpgaDesign, layers: Network | Iterable[Layer], board: FpgaBoard, *,
                   check: bool = True) -> FpgaLatency:
    """One engine runs the layers one after another: latency = sum of layer latencies.

    Raises:
        InfeasibleError: (with ``check``) the engine needs more DSPs or BRAM than ``board`` has.
    """
    ls = _layers(layers)
    used = resources(design, ls)
    if check:
        check_fits(used, board, f"FPGA design Tm={design.Tm},Tn={design.Tn},Tr={design.Tr},Tc={design.Tc}")
    per = tuple(layer_latency(design, layer, board) for layer in ls)
    total = sum(x.latency_cycles for x in per)
    return FpgaLatency(mode="shared", latency_cycles=total, start_cycles=0, processing_cycles=total,
                       layers=per, clock_mhz=board.clock_mhz, resources=used)


def pipelined_latency(designs: Sequence[FpgaDesign], layers: Network | Iterable[Layer], board: FpgaBoard, *,
                      check: bool = True) -> FpgaLatency:
    """FNAS's layer-pipelined design: engine i runs layer i, and all engines share the board.

    latency = start + processing, where start = sum over layers i < L-1 of the time until
    layer i has stored what layer i+1's first tile reads, and processing = max over layers
    of the layer latency (the bottleneck stage; one image leaves per processing time).
    Each engine's BRAM is sized for its own layer, and the engines' DSPs and BRAM add up.

    Raises:
        SpecError: the number of designs differs from the number of layers.
        InfeasibleError: (with ``check``) the engines together exceed ``board``.
    """
    ls = _layers(layers)
    if len(designs) != len(ls):
        raise SpecError(f"designs: must give one design per layer ({len(ls)}), got {len(designs)}")
    parts = [resources(d, [layer]) for d, layer in zip(designs, ls)]
    used = FpgaResources(dsp=sum(p.dsp for p in parts), bram18k=sum(p.bram18k for p in parts))
    if check:
        check_fits(used, board, f"layer-pipelined design ({len(ls)} engines)")
    per = tuple(
        layer_latency(d, layer, board, nxt=ls[i + 1] if i + 1 < len(ls) else None,
                      nxt_design=designs[i + 1] if i + 1 < len(ls) else None)
        for i, (d, layer) in enumerate(zip(designs, ls))
    )
    start = sum(x.first_output_cycles for x in per[:-1])
    processing = max(x.latency_cycles for x in per)
    return FpgaLatency(mode="pipelined", latency_cycles=start + processing, start_cycles=start,
                       processing_cycles=processing, layers=per, clock_mhz=board.clock_mhz, resources=used)
