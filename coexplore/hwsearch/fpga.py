"""FNAS's FPGA design space: loop tilings (Tm, Tn, Tr, Tc) that fit a board, and their search.

The space is small enough to enumerate, as Zhang et al. (FPGA 2015) do. The DSP budget
bounds Tm * Tn, so only the channel pairs that fit are crossed with every Tr and Tc.
:func:`best_design` evaluates that grid in vectorized chunks and returns the proven
optimum. :class:`FpgaTilingProblem` exposes the same space to coexplore's generic
strategies (:mod:`coexplore.search`), for spaces too large to enumerate (with
``step=1`` on a big part, or inside a network search loop).

Axes: Tm up to the largest per-group output-channel count over the layers, Tn up to the
largest input-channel count, Tr and Tc up to the largest output rows and columns.
``channel_step`` and ``step`` thin the channel and spatial axes (1, step, 2*step, ...,
max) to keep the grid small.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.cost.fpga import (
    BRAM18_DEPTH,
    DSP_PER_MAC,
    FpgaDesign,
    FpgaLatency,
    FpgaResources,
    layer_cycles_array,
    pipelined_latency,
    resources,
    resources_array,
    shared_latency,
)
from coexplore.errors import InfeasibleError, SpecError
from coexplore.presets.boards import FpgaBoard
from coexplore.search.problem import Evaluation
from coexplore.spec.workload import Layer, Network

__all__ = ["FpgaCandidates", "FpgaSolution", "FpgaSpace", "FpgaTilingProblem", "best_design"]

MODES = ("shared", "pipelined")


@dataclass(frozen=True, slots=True, eq=False)
class FpgaCandidates:
    """A batch of tilings: ``tiles`` int (n, 4), columns Tm, Tn, Tr, Tc."""

    tiles: np.ndarray

    def __post_init__(self) -> None:
        if self.tiles.ndim != 2 or self.tiles.shape[1] != 4:
            raise SpecError(f"fpga_candidates.tiles: must have shape (n, 4), got {self.tiles.shape}")

    def __len__(self) -> int:
        return len(self.tiles)

    def take(self, idx: Any) -> FpgaCandidates:
        return FpgaCandidates(self.tiles[np.asarray(idx, dtype=np.int64).reshape(-1)])

    def concat(self, other: FpgaCandidates) -> FpgaCandidates:
        return FpgaCandidates(np.concatenate([self.tiles, other.tiles]))

    def design(self, i: int, bits: int = 16) -> FpgaDesign:
        tm, tn, tr, tc = (int(v) for v in self.tiles[i])
        return FpgaDesign(Tm=tm, Tn=tn, Tr=tr, Tc=tc, bits=bits)


MAX_SPATIAL = 1 << 22
"""Most (Tr, Tc) tile sizes a search enumerates (an ImageNet layer, 224 x 224 outputs, has 50,176)."""


def _axis(maximum: int, step: int, cap: int) -> np.ndarray:
    """1, step, 2 step, ... and ``maximum`` itself, without the values above ``cap`` (no board fits them:
    a layer as large as K = 1e9 then costs an axis of ``cap`` values, not of 1e9)."""
    top = min(maximum, cap)
    return np.unique(np.r_[1, np.arange(step, top + 1, step), [maximum] if maximum <= cap else []]).astype(np.int64)


@dataclass(frozen=True, slots=True, kw_only=True)
class FpgaSpace:
    """Tilings of one shared engine for ``layers`` on ``board`` (see the module doc for the axes).

    ``layers`` may be given as a :class:`Network` or any iterable of layers; it is stored as a tuple.
    """

    layers: tuple[Layer, ...]
    board: FpgaBoard
    bits: int = 16
    step: int = 1
    channel_step: int = 1

    def __post_init__(self) -> None:
        layers = self.layers.layers if isinstance(self.layers, Network) else tuple(self.layers)
        object.__setattr__(self, "layers", layers)
        problems = [f"fpga_space.{f}: must be a positive integer, got {getattr(self, f)!r}"
                    for f in ("step", "channel_step") if not isinstance(getattr(self, f), int)
                    or getattr(self, f) <= 0]
        if self.bits not in DSP_PER_MAC:
            problems.append(f"fpga_space.bits: must be one of {sorted(DSP_PER_MAC)}, got {self.bits!r}")
        if not self.layers:
            problems.append("fpga_space.layers: must not be empty, got 0 layers")
        if problems:
            raise SpecError(problems)

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The values of Tm, Tn, Tr and Tc."""
        ls = self.layers
        macs = max(1, self.board.dsp // DSP_PER_MAC[self.bits])  # Tm * Tn MACs, each at least 1
        words = max(1, BRAM18_DEPTH[self.bits] * self.board.bram18k // 2)  # the output buffer holds Tr * Tc
        return (_axis(max(x.K // x.groups for x in ls), self.channel_step, macs),
                _axis(max(x.C // x.groups for x in ls), self.channel_step, macs),
                _axis(max(x.P for x in ls), self.step, words), _axis(max(x.Q for x in ls), self.step, words))

    def channel_pairs(self) -> np.ndarray:
        """(Tm, Tn) pairs, int (p, 2), whose MAC array fits the board's DSPs."""
        tm, tn, _, _ = self.axes()
        grid = np.stack(np.meshgrid(tm, tn, indexing="ij"), axis=-1).reshape(-1, 2)
        return grid[grid[:, 0] * grid[:, 1] * DSP_PER_MAC[self.bits] <= self.board.dsp]

    def __len__(self) -> int:
        _, _, tr, tc = self.axes()
        return len(self.channel_pairs()) * len(tr) * len(tc)

    def chunks(self, max_rows: int = 1 << 18) -> Iterator[FpgaCandidates]:
        """The DSP-feasible grid in order, in batches of about ``max_rows`` (BRAM not yet checked)."""
        _, _, tr, tc = self.axes()
        if len(tr) * len(tc) > MAX_SPATIAL:
            raise SpecError(f"layers: {len(tr):,} row x {len(tc):,} column tile sizes (P up to "
                            f"{max(x.P for x in self.layers):,}, Q up to {max(x.Q for x in self.layers):,}) are more "
                            f"than the {MAX_SPATIAL:,} the exhaustive tiling search enumerates (step {self.step}; "
                            f"from Python, FpgaSpace(step=...) coarsens the grid)")
        spatial = np.stack(np.meshgrid(tr, tc, indexing="ij"), axis=-1).reshape(-1, 2)
        pairs = self.channel_pairs()
        per = max(1, max_rows // len(spatial))
        for i in range(0, len(pairs), per):
            p = pairs[i:i + per]
            yield FpgaCandidates(np.concatenate([np.repeat(p, len(spatial), axis=0),
                                                 np.tile(spatial, (len(p), 1))], axis=1))

    def resources(self, candidates: FpgaCandidates) -> np.ndarray:
        """DSPs and BRAM18 blocks, int (n, 2), of each candidate sized for ``layers``."""
        return resources_array(candidates.tiles, self.layers, self.bits)

    def fits(self, candidates: FpgaCandidates) -> np.ndarray:
        """bool (n,): the candidate fits the board's DSPs and BRAM."""
        res = self.resources(candidates)
        return (res[:, 0] <= self.board.dsp) & (res[:, 1] <= self.board.bram18k)

    def enumerate(self) -> FpgaCandidates:
        """Every tiling that fits the board (DSPs and BRAM)."""
        kept = [c.take(np.flatnonzero(self.fits(c))) for c in self.chunks()]
        return FpgaCandidates(np.concatenate([c.tiles for c in kept]) if kept else np.zeros((0, 4), np.int64))

    def sample(self, rng: np.random.Generator, n: int) -> FpgaCandidates:
        """``n`` tilings drawn uniformly from the DSP-feasible grid; some may exceed the BRAM."""
        _, _, tr, tc = self.axes()
        pairs = self.channel_pairs()
        if len(pairs) == 0:
            raise InfeasibleError(f"board {self.board.name!r}: {self.board.dsp} DSP48 slices cannot hold one "
                                  f"{self.bits}-bit MAC ({DSP_PER_MAC[self.bits]} DSP48 slices)")
        return FpgaCandidates(np.concatenate([pairs[rng.integers(len(pairs), size=n)],
                                              rng.choice(tr, size=(n, 1)), rng.choice(tc, size=(n, 1))], axis=1))

    def latency(self, candidates: FpgaCandidates) -> np.ndarray:
        """Shared-engine latency in cycles, int (n,): the sum over ``layers`` (no budget check)."""
        return sum((layer_cycles_array(candidates.tiles, x, self.board, self.bits) for x in self.layers),
                   np.zeros(len(candidates), dtype=np.int64))


@dataclass(frozen=True, slots=True, kw_only=True)
class FpgaTilingProblem:
    """Minimise the shared engine's latency over ``space``; tilings over budget are infeasible.

    Implements :class:`coexplore.search.problem.Problem` for :class:`FpgaCandidates`.
    """

    space: FpgaSpace

    @property
    def objectives(self) -> tuple[str, ...]:
        return ("latency_cycles",)

    def evaluate(self, candidates: FpgaCandidates) -> Evaluation:
        res = self.space.resources(candidates)
        b = self.space.board
        over_dsp, over_bram = res[:, 0] > b.dsp, res[:, 1] > b.bram18k
        ok = ~(over_dsp | over_bram)
        values = np.where(ok, self.space.latency(candidates), np.inf).astype(np.float64)[:, None]
        dsp_msg = f"exceeds the {b.dsp} DSP48 slices of {b.name}"
        bram_msg = f"exceeds the {b.bram18k} BRAM18 blocks of {b.name}"
        reasons = tuple("; ".join(m for m, bad in ((dsp_msg, d), (bram_msg, r)) if bad)
                        for d, r in zip(over_dsp.tolist(), over_bram.tolist()))
        return Evaluation(values=values, feasible=ok, reasons=reasons)

    def describe(self, candidates: FpgaCandidates, i: int) -> dict[str, Any]:
        tm, tn, tr, tc = (int(v) for v in candidates.tiles[i])
        dsp, bram = (int(v) for v in self.space.resources(candidates.take([i]))[0])
        return {"Tm": tm, "Tn": tn, "Tr": tr, "Tc": tc, "bits": self.space.bits, "dsp": dsp, "bram18k": bram}


@dataclass(frozen=True, slots=True, kw_only=True)
class FpgaSolution:
    """The best design found: one engine (``shared``) or one per layer (``pipelined``)."""

    mode: str
    designs: tuple[FpgaDesign, ...]
    latency: FpgaLatency
    evaluated: int

    @property
    def resources(self) -> FpgaResources:
        return self.latency.resources

    @property
    def latency_cycles(self) -> int:
        return self.latency.latency_cycles


def _best_tiling(space: FpgaSpace) -> tuple[FpgaDesign, int]:
    """The fitting tiling with the lowest latency (ties: fewer DSPs, fewer BRAMs, grid order)."""
    best: tuple[int, int, int] | None = None
    best_tiles: np.ndarray | None = None
    evaluated = 0
    for chunk in space.chunks():
        res = space.resources(chunk)
        ok = np.flatnonzero((res[:, 0] <= space.board.dsp) & (res[:, 1] <= space.board.bram18k))
        evaluated += len(chunk)
        if len(ok) == 0:
            continue
        lat = space.latency(chunk.take(ok))
        i = int(np.lexsort((res[ok, 1], res[ok, 0], lat))[0])
        key = (int(lat[i]), int(res[ok[i], 0]), int(res[ok[i], 1]))
        if best is None or key < best:
            best, best_tiles = key, chunk.tiles[ok[i]]
    if best_tiles is None:
        need = resources(FpgaDesign(Tm=1, Tn=1, Tr=1, Tc=1, bits=space.bits), space.layers)
        b = space.board
        raise InfeasibleError(
            f"no tiling fits board {b.name!r}: the smallest engine (Tm=Tn=Tr=Tc=1) needs {need.dsp} DSP48 "
            f"slices (limit {b.dsp}) and {need.bram18k} BRAM18 blocks (limit {b.bram18k})")
    return FpgaCandidates(best_tiles[None, :]).design(0, space.bits), evaluated


def _frontier(space: FpgaSpace) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Fitting tilings reduced to the fastest per (DSPs, BRAMs): tiles (k, 4), latency (k,), resources (k, 2)."""
    parts, evaluated = [], 0
    for chunk in space.chunks():
        evaluated += len(chunk)
        ok = chunk.take(np.flatnonzero(space.fits(chunk)))
        parts.append((ok.tiles, space.latency(ok), space.resources(ok)))
    tiles, lat, res = (np.concatenate([p[j] for p in parts]) for j in range(3))
    key = res[:, 0] * (space.board.bram18k + 1) + res[:, 1]
    order = np.lexsort((lat, key))
    keep = order[np.unique(key[order], return_index=True)[1]]
    return tiles[keep], lat[keep], res[keep], evaluated


def _pipelined(ls: tuple[Layer, ...], board: FpgaBoard, bits: int, step: int, channel_step: int) -> FpgaSolution:
    """Balance the stages: the lowest bottleneck latency T whose per-layer cheapest designs fit together.

    For a target T each layer takes, among its tilings with latency <= T, the one with the
    smallest DSP/board.dsp + BRAM/board.bram18k; T is found by bisection over the
    layers' latencies (a heuristic: a cheaper choice in one resource may cost more of the
    other, so feasibility is not strictly monotone in T; every returned design fits).
    Budget left once T is met is not handed out, so faster non-bottleneck stages (a
    shorter start time) may exist.
    """
    need = [resources(FpgaDesign(Tm=1, Tn=1, Tr=1, Tc=1, bits=bits), [x]) for x in ls]
    dsp, bram = sum(r.dsp for r in need), sum(r.bram18k for r in need)
    if dsp > board.dsp or bram > board.bram18k:
        raise InfeasibleError(
            f"layer-pipelined design: the {len(ls)} smallest engines (Tm=Tn=Tr=Tc=1) need {dsp} DSP48 slices "
            f"(limit {board.dsp}) and {bram} BRAM18 blocks (limit {board.bram18k}) on board {board.name!r}")
    fronts, evaluated = [], 0
    for x in ls:
        *front, n = _frontier(FpgaSpace(layers=(x,), board=board, bits=bits, step=step, channel_step=channel_step))
        fronts.append(front)
        evaluated += n
    weight = np.array([1 / board.dsp, 1 / board.bram18k])

    def choose(target: int) -> list[int] | None:
        picks, total = [], np.zeros(2, dtype=np.int64)
        for _, lat, res in fronts:
            ok = np.flatnonzero(lat <= target)
            if len(ok) == 0:
                return None
            picks.append(int(ok[np.lexsort((lat[ok], res[ok] @ weight))[0]]))
            total += res[picks[-1]]
        return picks if total[0] <= board.dsp and total[1] <= board.bram18k else None

    targets = np.unique(np.concatenate([f[1] for f in fronts]))
    if choose(int(targets[-1])) is None:  # the cheapest picks trade one resource for the other
        raise InfeasibleError(f"layer-pipelined design: no split of board {board.name!r}'s {board.dsp} DSP48 "
                              f"slices and {board.bram18k} BRAM18 blocks found that fits all {len(ls)} engines")
    lo, hi = 0, len(targets) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if choose(int(targets[mid])) is not None else (mid + 1, hi)
    picks = choose(int(targets[hi])) or []
    designs = [FpgaCandidates(f[0][[i]]).design(0, bits) for f, i in zip(fronts, picks)]
    return FpgaSolution(mode="pipelined", designs=tuple(designs), latency=pipelined_latency(designs, ls, board),
                        evaluated=evaluated)


def best_design(layers: Network | Iterable[Layer], board: FpgaBoard, mode: str = "shared", *, bits: int = 16,
                step: int = 1, channel_step: int = 1) -> FpgaSolution:
    """The lowest-latency design of ``mode`` for ``layers`` on ``board``, by exhaustive enumeration.

    ``shared``: one engine for all layers; the optimum over the whole grid (ties go to
    fewer DSPs, then fewer BRAMs).
    ``pipelined``: one engine per layer (FNAS), sharing the board's DSPs and BRAM. Every
    layer's tilings are enumerated, and the budget is split to minimise the bottleneck
    stage (see :func:`_pipelined`). FNAS's controller searches this split; here it is a
    bisection on the slowest stage's latency.

    Raises:
        SpecError: unknown ``mode`` or bad space parameters.
        InfeasibleError: no design fits; the message names the resource and its limit.
    """
    ls = layers.layers if isinstance(layers, Network) else tuple(layers)
    if mode not in MODES:
        raise SpecError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "pipelined":
        return _pipelined(ls, board, bits, step, channel_step)
    design, n = _best_tiling(FpgaSpace(layers=ls, board=board, bits=bits, step=step, channel_step=channel_step))
    return FpgaSolution(mode=mode, designs=(design,), latency=shared_latency(design, ls, board), evaluated=n)
