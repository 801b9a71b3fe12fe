"""An enumerable accelerator space under a preset's budget: the hardware half of exhaustive co-design.

Codesign-NAS enumerates every (network, accelerator) pair, so its accelerator space is a
finite grid rather than NAAS's continuous encoding. The grid's points are
:class:`~coexplore.hwsearch.space.Design` s of an
:class:`~coexplore.hwsearch.space.AcceleratorSpace` over the same template and budget,
so they are built (and their resized buffers re-costed) by the same code as the
searched designs. Axes, for the Eyeriss template (:func:`eyeriss_grid`):

* the PE array X x Y (at most the template's MACs, NAAS's stride-2 sides),
* the dataflow: which loop dims each array axis may unroll (row-, weight-, output-
  stationary and more),
* the size of each per-PE scratchpad and of the global buffer.

Grid points over the budget are left out, so every design of the space is legal; the
DRAM bandwidth stays the template's (it changes latency only in the bandwidth-throttled
model, which the cost table does not use).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from coexplore.errors import SpecError
from coexplore.hwsearch.budget import Budget
from coexplore.hwsearch.space import AcceleratorSpace, Design
from coexplore.spec.dims import DIMS
from coexplore.spec.hardware import Accelerator
from coexplore.spec.io import accelerator_to_dict

__all__ = ["EYERISS_DATAFLOWS", "GRIDS", "DesignGrid", "eyeriss_grid", "grid_for"]

#: name -> (dims the X axis may unroll, dims the Y axis may unroll).
EYERISS_DATAFLOWS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "row-stationary": (("K", "P"), ("K", "C", "R")),  # the Eyeriss preset's own
    "weight-stationary": (("C",), ("K",)),  # NVDLA-like: input x output channels
    "output-stationary": (("P",), ("Q",)),  # ShiDianNao-like: output rows x cols
    "channel-output": (("K",), ("P", "Q")),
    "channel-channel": (("K", "C"), ("K", "C")),
    "flexible": (("K", "C", "P"), ("K", "C", "R")),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignGrid:
    """Every legal combination of the axes, built from ``template`` under ``budget``.

    Attributes:
        template: The accelerator every design is derived from.
        budget: Limits no design may exceed (e.g. the template's own resources).
        arrays: (X, Y) PE-array shapes.
        dataflows: name -> (spatial dims of X, spatial dims of Y).
        sizes_words: Per size level of the template (innermost first, as
            ``AcceleratorSpace.size_levels``): the capacities (words per instance) to try.

    Raises:
        SpecError: an axis is empty or malformed; every problem is named with its value.
    """

    template: Accelerator
    budget: Budget
    arrays: tuple[tuple[int, int], ...]
    dataflows: tuple[tuple[str, tuple[tuple[str, ...], tuple[str, ...]]], ...]
    sizes_words: tuple[tuple[int, ...], ...]
    space: AcceleratorSpace = field(init=False, repr=False, compare=False)
    _designs: tuple[Design, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        space = AcceleratorSpace(template=self.template, budget=self.budget, mode="full",
                                 max_parallel_dims=len(DIMS), search_bandwidth=False)
        object.__setattr__(self, "space", space)
        problems = []
        for name in ("arrays", "dataflows", "sizes_words"):
            if not getattr(self, name):
                problems.append(f"grid.{name}: must not be empty, got {getattr(self, name)!r}")
        for i, (x, y) in enumerate(self.arrays):
            if x < 1 or y < 1 or (x > 1 and x % 2) or (y > 1 and y % 2):
                problems.append(f"grid.arrays[{i}]: sides must be 1 or even, got {x}x{y}")
        for name, (dx, dy) in self.dataflows:
            bad = [d for d in (*dx, *dy) if d not in DIMS]
            if bad or not dx or not dy:
                problems.append(f"grid.dataflows[{name!r}]: each axis needs dims among {', '.join(DIMS)}, "
                                f"got X={dx!r}, Y={dy!r}")
        if len(self.sizes_words) != len(space.size_levels):
            names = [self.template.levels[i].name for i in space.size_levels]
            problems.append(f"grid.sizes_words: must give sizes for the {len(names)} levels {', '.join(names)}, "
                            f"got {len(self.sizes_words)}")
        for j, sizes in enumerate(self.sizes_words):
            if not sizes or any(s < 1 for s in sizes):
                problems.append(f"grid.sizes_words[{j}]: must be positive word counts, got {sizes!r}")
        if problems:
            raise SpecError(problems)
        object.__setattr__(self, "_designs", self._enumerate())

    def _enumerate(self) -> tuple[Design, ...]:
        out = []
        for (x, y), (_, (dx, dy)), sizes in itertools.product(self.arrays, self.dataflows,
                                                              itertools.product(*self.sizes_words)):
            d = Design(array_x=x, array_y=y, dims_x=_ordered(dx), dims_y=_ordered(dy), sizes_words=sizes,
                       dram_share=1.0)
            if not self.violations(d):
                out.append(d)
        return tuple(out)

    def designs(self) -> tuple[Design, ...]:
        """The legal designs, in grid order (arrays, then dataflows, then sizes)."""
        return self._designs

    def __len__(self) -> int:
        return len(self._designs)

    def dataflow_of(self, design: Design) -> str:
        """The dataflow name of ``design`` ("" if it is not one of the grid's)."""
        return next((n for n, (dx, dy) in self.dataflows
                     if (_ordered(dx), _ordered(dy)) == (design.dims_x, design.dims_y)), "")

    def build(self, design: Design) -> Accelerator:
        """The accelerator of ``design`` (the template resized and rewired)."""
        return self.space.build(design, name=f"{self.template.name}-grid")

    def violations(self, design: Design) -> list[str]:
        """The budget limits ``design`` exceeds (MACs, on-chip bits, DRAM bandwidth); [] if legal.

        On-chip bits are counted on the design itself (no accelerator is built), as
        :meth:`Accelerator.onchip_bits` counts them.
        """
        out = []
        macs = design.pes * self.space.macs_per_pe
        if macs > self.budget.max_macs:
            out.append(f"budget.max_macs: {design.array_x}x{design.array_y} PEs = {macs} MACs > "
                       f"{self.budget.max_macs}")
        fixed = sum((lv.size_words or 0) * lv.word_bits * lv.instances for i, lv in enumerate(self.template.levels[:-1])
                    if i not in self.space.size_levels)
        bits = fixed + self.space.sized_bits(design)
        if bits > self.budget.max_sram_bits:
            out.append(f"budget.max_sram_bits: {bits} on-chip bits > {self.budget.max_sram_bits}")
        return out

    def fingerprint(self, designs: Sequence[Design] | None = None) -> str:
        """A stable hash of the template, budget and ``designs`` (default: all; a cache key).

        Sets are written sorted, so the hash does not depend on the process's string hashing.
        """
        blob = json.dumps({"template": accelerator_to_dict(self.template),
                           "budget": [self.budget.name, self.budget.max_macs, self.budget.max_sram_bits,
                                      self.budget.max_dram_bandwidth_words_per_cycle],
                           "designs": [[d.array_x, d.array_y, d.dims_x, d.dims_y, d.sizes_words, d.dram_share]
                                       for d in (self._designs if designs is None else designs)]},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def axes_of(self, design: Design) -> tuple[int, ...]:
        """The axis indices of ``design``: array, dataflow, then one size per sized level."""
        names = [n for n, _ in self.dataflows]
        return (self.arrays.index((design.array_x, design.array_y)), names.index(self.dataflow_of(design)),
                *(sizes.index(s) for sizes, s in zip(self.sizes_words, design.sizes_words, strict=True)))

    def template_index(self) -> int:
        """The index of the design equal to the template (its array, dataflow and buffer sizes).

        Raises:
            SpecError: the template itself is not a point of the grid.
        """
        t, sp = self.template, self.space
        want = (t.fanout(sp.ax)[0], t.fanout(sp.ay)[1], _ordered(t.levels[sp.ax].spatial_dims_x),
                _ordered(t.levels[sp.ay].spatial_dims_y), tuple(t.levels[i].size_words for i in sp.size_levels))
        for i, d in enumerate(self._designs):
            if (d.array_x, d.array_y, d.dims_x, d.dims_y, d.sizes_words) == want:
                return i
        raise SpecError(f"grid: the template {t.name!r} itself is not a design of the grid ({want!r})")

    def subset(self, indices: Sequence[int]) -> tuple[Design, ...]:
        """The designs at ``indices`` (e.g. a sample for a test)."""
        return tuple(self._designs[int(i)] for i in indices)


def _ordered(dims: Iterable[str]) -> tuple[str, ...]:
    """``dims`` in :data:`DIMS` order, as ``AcceleratorSpace`` writes them."""
    return tuple(d for d in DIMS if d in dims)


def eyeriss_grid(*, template: Accelerator | None = None) -> DesignGrid:
    """The Codesign-NAS accelerator grid under the Eyeriss budget (168 MACs, 1,583,616 on-chip bits).

    9 array shapes (64 to 168 PEs) x 6 dataflows x 3 psum x 4 weight x 3 ifmap scratchpad sizes
    x 5 global buffer sizes (16 to 108 KB) = 9,720 grid points, of which the 8,430 within the
    on-chip budget remain.
    """
    from coexplore.presets.accelerators import get_accelerator

    t = template or get_accelerator("eyeriss")
    return DesignGrid(
        template=t, budget=Budget.from_accelerator(t),
        arrays=((14, 12), (12, 14), (16, 10), (10, 16), (12, 12), (16, 8), (8, 16), (12, 8), (8, 8)),
        dataflows=tuple(EYERISS_DATAFLOWS.items()),
        # psum_spad, weights_spad, ifmap_spad, shared_glb (16-bit words)
        sizes_words=((16, 24, 32), (64, 128, 224, 448), (12, 24, 48), (8192, 16384, 27648, 41472, 55296)),
    )


#: Budget preset -> its design grid (what ``problem.accelerators`` of a codesign study names).
GRIDS = {"eyeriss": eyeriss_grid}


def grid_for(budget: str) -> DesignGrid:
    """The design grid under the budget preset ``budget``."""
    if budget not in GRIDS:
        raise SpecError(f"problem.accelerators: a design grid exists for {', '.join(GRIDS)}, got {budget!r}")
    return GRIDS[budget]()
