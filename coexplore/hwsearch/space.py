"""NAAS's accelerator encoding: a real vector in [0, 1]^d decoded into a design under a budget.

The template (a preset) gives the memory hierarchy, the word widths and which level
fans out to the PE array along each axis (the outermost level with a fan-out on that
axis; inner fan-out stages, e.g. Simba's vector MACs, stay inside a "PE"). Genes:

* ``pes``: the number of PEs, at stride 8, up to the budget's MACs.
* ``aspect``: the array's X / Y split, at stride 2: X*Y = PEs with X, Y in {1, 2, 4, 6, ...};
  the legal factorisation closest (in log) to the encoded one.
* ``importance_x[d]``, ``importance_y[d]`` for every loop dim d, and ``k_x``, ``k_y``:
  importance-based encoding of the connectivity. The k most important dims become the
  ``spatial_dims_x`` / ``spatial_dims_y`` of the level fanning out along that axis.
  ("full" mode only: "sizing" mode keeps the template's dims and X:Y ratio.)
* ``size[level]`` for every on-chip storage level, log-scaled and rounded to 16 B:
  per-PE levels between the smallest (template or 16 B) and 16x the template, global
  levels up to the whole SRAM budget.
* ``dram_bandwidth``: a share (1/8 to 1) of the template's DRAM bandwidth (only with
  ``search_bandwidth``: bandwidth changes latency only when it is bandwidth-throttled).

A decoded design over the SRAM budget is repaired by shrinking every buffer in
proportion (to the 16 B grid, never below its smallest size). A design whose smallest
buffers already exceed the budget is infeasible with the reason. Energies, leakage and
area of a resized level follow its size: the template's value times the ratio of the
technology table's values at the new and the old size (:func:`make_level`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import numpy as np

from coexplore.errors import SpecError
from coexplore.hwsearch.budget import Budget, dram_bandwidth
from coexplore.spec.dims import DIMS
from coexplore.spec.hardware import Accelerator, MemoryLevel
from coexplore.spec.technology import make_level

__all__ = ["MODES", "AcceleratorSpace", "Design"]

MODES = ("full", "sizing")
PE_STRIDE = 8
ARRAY_STRIDE = 2
BUFFER_STRIDE_BITS = 16 * 8
PER_PE_GROWTH = 16  # per-PE buffers may grow to this many times the template's
MIN_DRAM_SHARE = 1 / 8


@dataclass(frozen=True, slots=True)
class Design:
    """A decoded point of the space (hashable: the cache key of its evaluation)."""

    array_x: int
    array_y: int
    dims_x: tuple[str, ...]
    dims_y: tuple[str, ...]
    sizes_words: tuple[int, ...]  # one per AcceleratorSpace.size_levels
    dram_share: float
    repaired: bool = False
    reason: str = ""  # why the design is infeasible; "" when it is feasible

    @property
    def pes(self) -> int:
        return self.array_x * self.array_y


def _axis_level(acc: Accelerator, axis: int) -> int:
    """The outermost level with a fan-out > 1 along ``axis`` (0 = X, 1 = Y)."""
    fanning = [i for i in range(len(acc.levels)) if acc.fanout(i)[axis] > 1]
    if fanning:
        return fanning[-1]
    other = [i for i in range(len(acc.levels)) if acc.fanout(i)[1 - axis] > 1]
    return other[-1] if other else next(i for i, lv in enumerate(acc.levels) if lv.instances == 1)


@functools.lru_cache(maxsize=1024)
def _splits(pes: int) -> tuple[int, ...]:
    """Legal array widths X for ``pes`` PEs: X*Y = pes with X, Y each 1 or a multiple of 2."""
    small = [d for d in range(1, math.isqrt(pes) + 1) if pes % d == 0]
    divisors = sorted({*small, *(pes // d for d in small)})
    return tuple(d for d in divisors if (d == 1 or d % ARRAY_STRIDE == 0)
                 and (pes // d == 1 or (pes // d) % ARRAY_STRIDE == 0))


@functools.lru_cache(maxsize=4096)
def _tech(cls: str, size_words: int, word_bits: int, block: int, clock: float, technology: str) -> MemoryLevel:
    return make_level(name="x", technology_class=cls, size_words=size_words, word_bits=word_bits,
                      block_size_words=block, clock_ghz=clock, technology=technology)


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceleratorSpace:
    """Accelerators derived from ``template`` under ``budget``; ``mode`` "full" or "sizing".

    Raises:
        SpecError: an unknown mode, or a budget no design can meet (the message names the limit).
    """

    template: Accelerator
    budget: Budget
    mode: str = "full"
    max_parallel_dims: int = 3
    search_bandwidth: bool = True
    ax: int = field(init=False)
    ay: int = field(init=False)
    size_levels: tuple[int, ...] = field(init=False)
    _lo: tuple[int, ...] = field(init=False)
    _hi: tuple[int, ...] = field(init=False)
    _stride: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        t, put = self.template, functools.partial(object.__setattr__, self)
        if self.mode not in MODES:
            raise SpecError(f"mode: must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not 1 <= self.max_parallel_dims <= len(DIMS):
            raise SpecError(f"max_parallel_dims: must be in 1..{len(DIMS)}, got {self.max_parallel_dims!r}")
        put("ax", _axis_level(t, 0))
        put("ay", _axis_level(t, 1))
        levels = tuple(i for i, lv in enumerate(t.levels[:-1]) if lv.technology_class in ("regfile", "sram"))
        put("size_levels", levels)
        lo, hi, stride = [], [], []
        for i in levels:
            lv = t.levels[i]
            s = max(1, BUFFER_STRIDE_BITS // lv.word_bits)
            low = max(min(lv.size_words or 1, s), len(lv.must_keep), 1)
            top = self.budget.max_sram_bits // lv.word_bits
            if lv.instances > 1:
                top = min(top, max(PER_PE_GROWTH * (lv.size_words or 1), 4 * s))
            lo.append(low)
            hi.append(max(top // s * s, low))  # on the 16 B grid
            stride.append(s)
        put("_lo", tuple(lo))
        put("_hi", tuple(hi))
        put("_stride", tuple(stride))
        problems = []
        if self.max_pes < PE_STRIDE:
            problems.append(f"budget {self.budget.name!r}.max_macs: {self.budget.max_macs} MACs do not make one "
                            f"row of {PE_STRIDE} PEs of {self.macs_per_pe} MACs each")
        else:
            least = min(self._min_bits(x, PE_STRIDE // x) for x in _splits(PE_STRIDE))
            if least > self.budget.max_sram_bits:
                problems.append(f"budget {self.budget.name!r}.max_sram_bits: {self.budget.max_sram_bits} bits "
                                f"hold not even the smallest buffers of {PE_STRIDE} PEs ({least} bits)")
        if problems:
            raise SpecError(problems)

    # -- layout --------------------------------------------------------------------------
    @property
    def macs_per_pe(self) -> int:
        return self.template.n_macs // (self.template.fanout(self.ax)[0] * self.template.fanout(self.ay)[1])

    @property
    def max_pes(self) -> int:
        return (self.budget.max_macs // self.macs_per_pe) // PE_STRIDE * PE_STRIDE

    @property
    def genes(self) -> tuple[str, ...]:
        """Names of the vector's coordinates, in order."""
        names = ["pes"]
        if self.mode == "full":
            names += ["aspect", *(f"importance_x.{d}" for d in DIMS), *(f"importance_y.{d}" for d in DIMS),
                      "k_x", "k_y"]
        names += [f"size.{self.template.levels[i].name}" for i in self.size_levels]
        return (*names, "dram_bandwidth") if self.search_bandwidth else tuple(names)

    @property
    def dim(self) -> int:
        return len(self.genes)

    def _meshes(self, array_x: int, array_y: int) -> list[tuple[int, int]]:
        """(mesh_x, mesh_y) of every level for an ``array_x`` x ``array_y`` PE array."""
        t = self.template
        tx, ty = t.fanout(self.ax)[0], t.fanout(self.ay)[1]
        return [(lv.mesh_x * array_x // tx if i < self.ax else lv.mesh_x,
                 lv.mesh_y * array_y // ty if i < self.ay else lv.mesh_y) for i, lv in enumerate(t.levels)]

    def _weights(self, array_x: int, array_y: int) -> list[int]:
        """Bits per word times instances of each size level."""
        meshes = self._meshes(array_x, array_y)
        return [self.template.levels[i].word_bits * meshes[i][0] * meshes[i][1] for i in self.size_levels]

    def sized_bits(self, design: Design) -> int:
        """On-chip bits of the levels this space sizes, for ``design`` (no accelerator is built)."""
        return sum(s * w for s, w in zip(design.sizes_words, self._weights(design.array_x, design.array_y)))

    def _min_bits(self, array_x: int, array_y: int) -> int:
        return sum(lo * w for lo, w in zip(self._lo, self._weights(array_x, array_y)))

    def _max_share(self) -> float:
        have, cap = dram_bandwidth(self.template.levels[-1]), self.budget.max_dram_bandwidth_words_per_cycle
        return min(1.0, cap / have) if have and cap else 1.0

    # -- decode / encode -----------------------------------------------------------------
    def _split(self, pes: int, target_log_x: float) -> tuple[int, int]:
        x = min(_splits(pes), key=lambda d: (abs(math.log(d) - target_log_x), d))
        return x, pes // x

    def decode(self, x: np.ndarray) -> Design:
        """The design of one vector ``x`` float (dim,); coordinates outside [0, 1] are clipped."""
        g = np.clip(np.asarray(x, dtype=np.float64).reshape(-1), 0.0, 1.0)
        if len(g) != self.dim:
            raise SpecError(f"x: must have {self.dim} coordinates ({', '.join(self.genes)}), got {len(g)}")
        t, n, m = self.template, len(DIMS), self.max_pes // PE_STRIDE
        pes = PE_STRIDE * (1 + min(int(g[0] * m), m - 1))
        if self.mode == "full":
            ax_, ay_ = self._split(pes, float(g[1]) * math.log(pes))
            k = [1 + min(int(v * self.max_parallel_dims), self.max_parallel_dims - 1) for v in g[2 + 2 * n:4 + 2 * n]]
            dims_x, dims_y = self._top(g[2:2 + n], k[0]), self._top(g[2 + n:2 + 2 * n], k[1])
            pos = 4 + 2 * n
        else:
            tx, ty = t.fanout(self.ax)[0], t.fanout(self.ay)[1]
            ax_, ay_ = self._split(pes, 0.5 * (math.log(pes) + math.log(tx / ty)))
            dims_x = tuple(d for d in DIMS if d in t.levels[self.ax].spatial_dims_x)
            dims_y = tuple(d for d in DIMS if d in t.levels[self.ay].spatial_dims_y)
            pos = 1
        sizes = []
        for j, (lo, hi, s) in enumerate(zip(self._lo, self._hi, self._stride)):
            raw = lo * (hi / lo) ** float(g[pos + j])
            sizes.append(max(lo, min(round(raw / s) * s, hi)))
        share = self._max_share() * (MIN_DRAM_SHARE ** (1.0 - float(g[-1])) if self.search_bandwidth else 1.0)
        return self._repair(Design(array_x=ax_, array_y=ay_, dims_x=dims_x, dims_y=dims_y,
                                   sizes_words=tuple(sizes), dram_share=share))

    def decode_batch(self, x: np.ndarray) -> list[Design]:
        """The designs of the rows of ``x`` float (n, dim)."""
        return [self.decode(row) for row in np.atleast_2d(x)]

    @staticmethod
    def _top(importance: np.ndarray, k: int) -> tuple[str, ...]:
        chosen = set(np.argsort(-importance, kind="stable")[:k].tolist())
        return tuple(d for i, d in enumerate(DIMS) if i in chosen)

    def _repair(self, d: Design) -> Design:
        """Shrink the largest buffers first, by whole 16 B steps, until the design fits the SRAM budget.

        A design whose smallest buffers exceed the budget gets the reason instead.
        """
        cap, w = self.budget.max_sram_bits, self._weights(d.array_x, d.array_y)
        need = sum(lo * x for lo, x in zip(self._lo, w))
        if need > cap:
            return dataclasses.replace(d, reason=f"budget.max_sram_bits: the smallest buffers of "
                                                 f"{d.array_x}x{d.array_y} PEs need {need} bits > {cap}")
        sizes = list(d.sizes_words)
        excess = self.sized_bits(d) - cap
        repaired = excess > 0
        for j in sorted(range(len(sizes)), key=lambda j: (-sizes[j] * w[j], j)):  # largest buffers first
            if excess <= 0:
                break
            step = self._stride[j] * w[j]
            cut = min(-(-excess // step) * self._stride[j], sizes[j] - self._lo[j])
            new = max(self._lo[j], (sizes[j] - cut) // self._stride[j] * self._stride[j])
            excess -= (sizes[j] - new) * w[j]
            sizes[j] = new
        return dataclasses.replace(d, sizes_words=tuple(sizes), repaired=repaired)

    def encode(self, accelerator: Accelerator | None = None) -> np.ndarray:
        """The vector closest to ``accelerator`` (default: the template), e.g. a search's start.

        ``accelerator`` must have the template's levels (a template or a design of this space).
        """
        a = accelerator or self.template
        pes, m = a.n_macs // self.macs_per_pe, self.max_pes // PE_STRIDE
        g = [float(np.clip((pes / PE_STRIDE - 0.5) / m, 0, 1))]
        if self.mode == "full":
            g.append(float(np.clip(math.log(a.fanout(self.ax)[0]) / math.log(max(pes, 2)), 0, 1)))
            dims = (a.levels[self.ax].spatial_dims_x, a.levels[self.ay].spatial_dims_y)
            for ds in dims:
                g += [0.75 if d in ds else 0.25 for d in DIMS]
            for ds in dims:
                g.append((min(max(len(ds), 1), self.max_parallel_dims) - 0.5) / self.max_parallel_dims)
        for j, i in enumerate(self.size_levels):
            lo, hi = self._lo[j], self._hi[j]
            size = min(max(a.levels[i].size_words or 1, lo), hi)
            g.append(math.log(size / lo) / math.log(hi / lo) if hi > lo else 0.5)
        if self.search_bandwidth:
            have, ref = dram_bandwidth(a.levels[-1]), dram_bandwidth(self.template.levels[-1])
            share = min(have / ref, self._max_share()) / self._max_share() if have and ref else 1.0
            g.append(float(np.clip(1 - math.log(share) / math.log(MIN_DRAM_SHARE), 0, 1)))
        return np.array(g)

    # -- build ---------------------------------------------------------------------------
    def build(self, d: Design, *, name: str | None = None) -> Accelerator:
        """The accelerator of design ``d`` (raises SpecError if ``d`` is infeasible)."""
        if d.reason:
            raise SpecError(f"design: infeasible: {d.reason}")
        t = self.template
        tx, ty = t.fanout(self.ax)[0], t.fanout(self.ay)[1]
        sized = dict(zip(self.size_levels, d.sizes_words))
        levels = []
        for i, (lv, (mx, my)) in enumerate(zip(t.levels, self._meshes(d.array_x, d.array_y))):
            new = dataclasses.replace(lv, mesh_x=mx, mesh_y=my, instances=mx * my)
            if i == self.ax:
                new = dataclasses.replace(new, spatial_dims_x=frozenset(d.dims_x))
            if i == self.ay:
                new = dataclasses.replace(new, spatial_dims_y=frozenset(d.dims_y))
            if i in sized and sized[i] != lv.size_words:
                new = self._resized(new, sized[i])
            if i == len(t.levels) - 1:
                new = dataclasses.replace(new, **{
                    f: getattr(lv, f) * d.dram_share for f in (
                        "read_bandwidth_words_per_cycle", "write_bandwidth_words_per_cycle",
                        "shared_bandwidth_words_per_cycle") if getattr(lv, f) is not None})
            levels.append(new)
        mac = dataclasses.replace(t.mac, mesh_x=t.mac.mesh_x * d.array_x // tx,
                                  mesh_y=t.mac.mesh_y * d.array_y // ty,
                                  instances=t.mac.instances * d.pes // (tx * ty))
        meta = (("template", t.name), ("budget", self.budget.name), ("search_mode", self.mode),
                ("array", f"{d.array_x}x{d.array_y}"))
        return Accelerator(name=name or f"{t.name}-{self.mode}-search", levels=tuple(levels), mac=mac,
                           clock_ghz=t.clock_ghz, technology=t.technology, metadata=meta,
                           description=f"searched under the {self.budget.name} budget ({self.mode} mode) "
                                       f"from template {t.name}: {d.array_x}x{d.array_y} PEs")

    def _resized(self, lv: MemoryLevel, size_words: int) -> MemoryLevel:
        """``lv`` with ``size_words``; energies, leakage and area scaled by the technology table."""
        clock, tech = self.template.clock_ghz, self.template.technology
        old = _tech(lv.technology_class, lv.size_words or 1, lv.word_bits, lv.block_size_words, clock, tech)
        new = _tech(lv.technology_class, size_words, lv.word_bits, lv.block_size_words, clock, tech)
        scaled = {f: getattr(lv, f) * getattr(new, f) / getattr(old, f) if getattr(old, f) > 0 else getattr(lv, f)
                  for f in ("read_energy_pj", "write_energy_pj", "update_energy_pj", "leakage_pj_per_cycle",
                            "area_mm2")}
        return dataclasses.replace(lv, size_words=size_words, **scaled)
