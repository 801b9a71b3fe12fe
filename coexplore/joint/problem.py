"""The joint problem: one candidate is a (network, accelerator) pair, priced from the cost table.

A pair is written as two rows of decisions: the network's choices (NAS-Bench-201: the
operation on each of the 6 edges) and the accelerator's axis indices in the design grid
(PE array, dataflow, then one size per sized memory level). Strategies search those
integer vectors; :class:`NB201GridProblem` turns them into NB201 indices and grid
designs and prices each pair with the per-(layer shape, design) cost table, so pricing
a pair is a count-weighted sum of cached mappings (the mapper ran once per shape and
design when the table was built). Axis combinations over the budget, and designs left
out by ``design_stride``, are infeasible pairs ("not a design of the space").

Objectives: ``accuracy`` (CIFAR-100 top-1 %, maximised: after 200 epochs, read from the data
directory, or the shipped 12-epoch column; :attr:`NB201GridProblem.accuracy_source` says which), ``latency``
(cycles), ``energy`` (pJ), ``area`` (mm²), ``edp`` (pJ x cycles), ``edap`` (EDP x mm²), and
``perf_per_area`` (images/s per cm² at the design's clock, maximised: Codesign-NAS's Perf/Area).
Hard constraints ``max_latency_cycles`` and ``max_area_mm2`` make pairs infeasible.

Precision (``precisions``, :mod:`.precision`): a pair becomes (network, design, precision), the
precision one more hardware decision after the grid's axes. Each precision has its own cost table
(the shapes quantized to it; the bits are part of the table's cache key), built when first needed,
and the problem's :attr:`~NB201GridProblem.table` joins them: its columns are (precision, design)
blocks, so a column names a design at a precision and everything that works on columns (pricing,
samplers, the exact front) works unchanged. Accuracy at a precision is the NB201 accuracy minus the
user-given drop (no quantized NB201 evaluator exists offline).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.hwsearch.precision import Precision, quantize
from coexplore.hwsearch.space import Design
from coexplore.joint.costtable import CostTable, ShapeCounts, build_cost_table, nb201_shape_counts
from coexplore.joint.front import (
    SCALAR_COSTS,
    FrontPairs,
    edp_hypervolume,
    edp_reference,
    front_accuracy_cost,
    front_accuracy_costs,
    front_accuracy_edp,
    merge_fronts,
    perf_per_area,
)
from coexplore.joint.precision import ACCURACY_NOTE, problem_precisions
from coexplore.joint.space import DesignGrid, eyeriss_grid
from coexplore.search.encoding import Categorical, ChoiceBatch
from coexplore.search.problem import Evaluation

__all__ = ["COST_OBJECTIVES", "MAXIMISED", "OBJECTIVES", "NB201GridProblem", "PairBatch", "objective_values"]

COST_OBJECTIVES = ("latency", "energy", "area", "edp", "edap")
#: Every objective a grid problem offers after ``accuracy``: the costs, then perf/area (maximised).
OBJECTIVES = (*COST_OBJECTIVES, "perf_per_area")
#: Objectives that are maximised (stored negated in the minimised value matrix).
MAXIMISED = ("accuracy", "perf_per_area")


@dataclass(frozen=True, slots=True, eq=False)
class PairBatch:
    """Candidates of a joint problem: ``arch`` int (n, A) network choices, ``hw`` int (n, H) hardware choices."""

    arch: np.ndarray
    hw: np.ndarray

    def __post_init__(self) -> None:
        if self.arch.ndim != 2 or self.hw.ndim != 2 or len(self.arch) != len(self.hw):
            raise SpecError(f"pair_batch: arch and hw must be (n, A) and (n, H) with the same n, got "
                            f"{self.arch.shape} and {self.hw.shape}")

    def __len__(self) -> int:
        return len(self.arch)

    def take(self, idx: Any) -> PairBatch:
        i = np.asarray(idx, dtype=np.int64).reshape(-1)
        return PairBatch(self.arch[i], self.hw[i])

    def concat(self, other: PairBatch) -> PairBatch:
        return PairBatch(np.concatenate([self.arch, other.arch]), np.concatenate([self.hw, other.hw]))

    @staticmethod
    def of(arch: Any, hw: Any) -> PairBatch:
        return PairBatch(np.asarray(arch, dtype=np.int64).reshape(len(arch), -1),
                         np.asarray(hw, dtype=np.int64).reshape(len(hw), -1))


class PairEncoded:
    """A joint problem's candidates as one categorical vector: the network's decisions, then the
    hardware's (what generic strategies search); :meth:`as_pairs` accepts either form."""

    arch_cards: tuple[int, ...]
    hw_cards: tuple[int, ...]

    @property
    def encoded_hw_cards(self) -> tuple[int, ...]:
        """The hardware's decisions in the encoding (the problem's own by default)."""
        return tuple(self.hw_cards)

    def decode_hw(self, rows: np.ndarray) -> np.ndarray:
        """Hardware choices of encoded hardware decisions (the identity by default)."""
        return rows

    @property
    def encoded_hw_names(self) -> tuple[str, ...]:
        """Names of the encoded hardware decisions (``hw0``, ``hw1``, ... by default)."""
        return tuple(f"hw{i}" for i in range(len(self.encoded_hw_cards)))

    @property
    def encoding(self) -> Categorical:
        return Categorical(tuple(self.arch_cards) + self.encoded_hw_cards,
                           tuple(f"net{i}" for i in range(len(self.arch_cards))) + self.encoded_hw_names)

    def priced_once(self, cache: dict[bytes, Any], arch_row: np.ndarray, hw_row: np.ndarray,
                    price: Callable[[np.ndarray, np.ndarray], Any]) -> Any:
        """``price`` of the pair's canonical rows, once per canonical pair in ``cache`` (a problem with
        ``canonical(arch, hw)`` writes equal designs as equal rows)."""
        a, h = self.canonical(np.asarray(arch_row)[None], np.asarray(hw_row)[None])  # type: ignore[attr-defined]
        key = a.tobytes() + b"|" + h.tobytes()
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = price(a[0], h[0])
        return hit

    def spec_checked(self, cands: Any, n_values: int, violations: Callable[[np.ndarray, np.ndarray], list[str]],
                     values: Callable[[np.ndarray, np.ndarray], Sequence[float]], label: str,
                     note: str) -> Evaluation:
        """An :class:`Evaluation` in which a pair over a spec is refused before it is measured (FNAS's rule: a
        network that misses its spec is never trained): infeasible, values inf, reason ``label: what it
        violates (note)``; every other pair gets ``values(arch_row, hw_row)``."""
        pairs = self.as_pairs(cands)
        out = np.full((len(pairs), n_values), np.inf)
        ok = np.ones(len(pairs), dtype=bool)
        reasons = [""] * len(pairs)
        for i in range(len(pairs)):
            miss = violations(pairs.arch[i], pairs.hw[i])
            if miss:
                ok[i] = False
                reasons[i] = f"{label}: {'; '.join(miss)} ({note})"
                continue
            out[i] = values(pairs.arch[i], pairs.hw[i])
        return Evaluation(values=out, feasible=ok, reasons=tuple(reasons))

    def as_pairs(self, cands: Any) -> PairBatch:
        if isinstance(cands, PairBatch):
            return cands
        if isinstance(cands, ChoiceBatch):
            self.encoding.check(cands)
            a = len(self.arch_cards)
            return PairBatch(cands.x[:, :a], self.decode_hw(cands.x[:, a:]))
        raise SpecError(f"candidates: must be a PairBatch or a ChoiceBatch, got {type(cands).__name__}")


def objective_values(objectives: tuple[str, ...], accuracy: np.ndarray, latency: np.ndarray, energy: np.ndarray,
                     area: np.ndarray, clock_ghz: float = 1.0) -> np.ndarray:
    """The minimised value matrix (n, k): accuracy and perf/area negated, costs as they are."""
    cols = {"accuracy": lambda: -accuracy, "latency": lambda: latency, "energy": lambda: energy,
            "area": lambda: area, "edp": lambda: energy * latency, "edap": lambda: energy * latency * area,
            "perf_per_area": lambda: -perf_per_area(latency, area, clock_ghz)}
    return np.column_stack([np.asarray(cols[o](), dtype=np.float64) for o in objectives])


class NB201GridProblem(PairEncoded):
    """NAS-Bench-201 cells x a design grid under a preset budget, priced by the cost table.

    Args:
        grid: The accelerator space (default :func:`eyeriss_grid`).
        dataset: NB201 accuracy and input size.
        accuracy_epochs: 200 (CIFAR-100 only; read from the data directory, an error without it) or
            12 (NB201's shipped 12-epoch test accuracy).
        objectives: ``accuracy`` first, then any of :data:`OBJECTIVES`.
        design_stride: Keep every ``design_stride``-th grid design (and the reference), a
            smaller space for tests and quick looks; 1 is the whole grid.
        max_latency_cycles, max_area_mm2: Hard constraints (None: none).
        precisions: Precision choices (``["W8A8", "W4A4"]``, :func:`.precision.problem_precisions`);
            None: none, every layer at the cost model's default bits (the problem as it was).
        accuracy_drop: ``{precision: top-1 points lost}`` (0 when not given): the accuracy of a
            network at a precision is its NB201 accuracy minus this (no quantized NB201 evaluator
            exists offline).
        seed, jobs, cache_dir, progress: How the cost table is built (or loaded from its cache).
    """

    in_process = True  # a pair costs microseconds: a worker pool would only add overhead

    def __init__(self, *, grid: DesignGrid | None = None, dataset: str = "cifar100", accuracy_epochs: int | None = None,
                 objectives: tuple[str, ...] = ("accuracy", "edp"), design_stride: int = 1,
                 max_latency_cycles: float | None = None, max_area_mm2: float | None = None, seed: int = 0,
                 jobs: int | None = None, cache_dir: str | Path | None = None, progress: bool = False,
                 precisions: Sequence[str | Precision] | str | None = None,
                 accuracy_drop: dict[str, float] | None = None) -> None:
        from coexplore.nas.nb201 import NB201Space
        from coexplore.nas.tables import accuracy_label, load_accuracy

        if not objectives or objectives[0] != "accuracy" or any(o not in OBJECTIVES for o in objectives[1:]):
            raise SpecError(f"objectives: must be accuracy then any of {', '.join(OBJECTIVES)}, got "
                            f"{list(objectives)!r}")
        if not isinstance(design_stride, int) or design_stride < 1:
            raise SpecError(f"problem.design_stride: must be an integer >= 1, got {design_stride!r}")
        if precisions is None and accuracy_drop is not None:
            raise SpecError(f"problem.accuracy_drop: needs problem.precisions (the drop of each), got "
                            f"{accuracy_drop!r} without them")
        #: The precision choices (with their accuracy drops); () without precision.
        self.precisions: tuple[Precision, ...] = (() if precisions is None else
                                                  problem_precisions(precisions, accuracy_drop))
        self.grid = grid or eyeriss_grid()
        self.design_stride = design_stride
        self.clock_ghz = float(self.grid.template.clock_ghz)  # every design keeps the template's clock
        self.space = NB201Space(dataset=dataset)
        self.objectives = tuple(objectives)
        self.max_latency_cycles, self.max_area_mm2 = max_latency_cycles, max_area_mm2
        epochs = accuracy_epochs or (200 if dataset == "cifar100" else 12)
        self.accuracy = load_accuracy(dataset, epochs, "test")
        self.accuracy_epochs = epochs
        self.accuracy_source = accuracy_label(dataset, epochs, "test")
        if self.precisions:
            self.accuracy_source += f", {ACCURACY_NOTE}"
        self.counts: ShapeCounts = nb201_shape_counts(dataset=dataset)
        all_designs = self.grid.designs()
        self.reference_design = self.grid.template_index()
        keep = sorted(set(range(0, len(all_designs), design_stride)) | {self.reference_design})
        n_prec = max(1, len(self.precisions))
        self.grid_index = np.tile(np.array(keep, dtype=np.int64), n_prec)  # table column -> grid design index
        #: The designs of the table's columns (repeated once per precision, precision-major).
        self.designs: tuple[Design, ...] = tuple(all_designs[i] for i in keep) * n_prec
        #: Grid designs kept (the table's columns at one precision).
        self.n_designs = len(keep)
        self._seed, self._jobs, self._cache_dir, self._progress = seed, jobs, cache_dir, progress
        self._tables: dict[int, CostTable] = {}
        self._table: CostTable | None = None
        if not self.precisions:
            self._table = build_cost_table(self.grid, self.counts.shapes, designs=self.designs, seed=seed,
                                           jobs=jobs, cache_dir=cache_dir, progress=progress)
        self.hw_cards = (len(self.grid.arrays), len(self.grid.dataflows), *(len(s) for s in self.grid.sizes_words))
        axes = np.array([self.grid.axes_of(d) for d in self.designs[:self.n_designs]], dtype=np.int64)  # (D, H)
        if self.precisions:  # the precision index is the last hardware decision
            self.hw_cards = (*self.hw_cards, n_prec)
            axes = np.concatenate([np.column_stack([axes, np.full(len(axes), k)]) for k in range(n_prec)])
        self.arch_cards = tuple(self.space.cardinalities)
        self.hw_choices = axes  # (columns, H [+ 1])
        self._column = np.full(self.hw_cards, -1, dtype=np.int64)
        self._column[tuple(self.hw_choices.T)] = np.arange(len(self.designs))
        self.arch_choices = np.array([self.space.to_choices(c) for c in self.space.all_cells()], dtype=np.int64)
        self._arch = np.full(self.arch_cards, -1, dtype=np.int64)
        self._arch[tuple(self.arch_choices.T)] = np.arange(len(self.arch_choices))
        self.reference_column = int(np.searchsorted(self.grid_index[:self.n_designs], self.reference_design))

    # -- cost tables -----------------------------------------------------------------------------
    @property
    def table(self) -> CostTable:
        """Costs of every (shape, column); with precisions the per-precision tables side by side
        (columns ``k * n_designs + d``: design ``d`` at precision ``k``), built when first needed."""
        if self._table is None:
            self._table = _join([self.precision_table(k) for k in range(len(self.precisions))])
        return self._table

    @table.setter
    def table(self, table: CostTable) -> None:  # a test's variant of the problem (e.g. costs poisoned)
        self._table = table

    def precision_table(self, k: int) -> CostTable:
        """The cost table of the shapes quantized to precision ``k`` (built or loaded once)."""
        if k not in self._tables:
            from coexplore.spec.workload import Network

            shapes = quantize(Network(name="nb201-shapes", layers=self.counts.shapes), self.precisions[k]).layers
            self._tables[k] = build_cost_table(self.grid, shapes, designs=self.designs[:self.n_designs],
                                               seed=self._seed, jobs=self._jobs, cache_dir=self._cache_dir,
                                               progress=self._progress)
        return self._tables[k]

    # -- decisions <-> indices ---------------------------------------------------------------
    @property
    def encoded_hw_cards(self) -> tuple[int, ...]:
        """The grid's axes; with ``design_stride`` > 1 one decision over the kept designs instead (the axes
        would mostly name designs the thinned space left out)."""
        if self.design_stride == 1:
            return tuple(self.hw_cards)
        return (self.n_designs, len(self.precisions)) if self.precisions else (len(self.designs),)

    @property
    def encoded_hw_names(self) -> tuple[str, ...]:
        names = tuple(f"hw{i}" for i in range(len(self.encoded_hw_cards)))
        return (*names[:-1], "precision") if self.precisions else names

    def decode_hw(self, rows: np.ndarray) -> np.ndarray:
        if self.design_stride == 1:
            return rows
        if self.precisions:
            return self.hw_choices[rows[:, 0] + self.n_designs * rows[:, 1]]
        return self.hw_choices[rows[:, 0]]

    @property
    def n_pairs(self) -> int:
        """Pairs of the space: networks x designs (x precisions; infeasible designs included)."""
        return len(self.arch_choices) * len(self.designs)

    def arch_index(self, arch: np.ndarray) -> np.ndarray:
        """NB201 index of each row of network choices."""
        return self._arch[tuple(np.asarray(arch, dtype=np.int64).T)]

    def column(self, hw: np.ndarray) -> np.ndarray:
        """Table column of each row of hardware choices (-1: not a design of the space)."""
        h = np.asarray(hw, dtype=np.int64)
        inside = np.all((h >= 0) & (h < np.array(self.hw_cards)), axis=1)
        out = np.full(len(h), -1, dtype=np.int64)
        out[inside] = self._column[tuple(h[inside].T)]
        return out

    def precision_of(self, column: np.ndarray) -> np.ndarray:
        """Precision index of each table column (0 without precisions)."""
        return np.asarray(column, dtype=np.int64) // self.n_designs

    def accuracy_of(self, arch_index: np.ndarray, column: np.ndarray) -> np.ndarray:
        """Accuracy of networks ``arch_index`` at the precision of ``column``: NB201's minus the drop."""
        if not self.precisions:
            return self.accuracy[arch_index]
        drops = np.array([p.accuracy_drop or 0.0 for p in self.precisions])
        return self.accuracy[arch_index] - drops[self.precision_of(column)]

    def columns_of(self, params: Sequence[dict[str, Any]]) -> np.ndarray:
        """Table columns of stored trial parameters (``design``: grid index; ``precision``: its label)."""
        col = np.searchsorted(self.grid_index[:self.n_designs],
                              np.array([int(p["design"]) for p in params], dtype=np.int64))
        if self.precisions:
            at = {p.label: k for k, p in enumerate(self.precisions)}
            col = col + self.n_designs * np.array([at[p["precision"]] for p in params], dtype=np.int64)
        return col

    def pairs(self, arch_index: np.ndarray, column: np.ndarray) -> PairBatch:
        """The candidates of NB201 indices x table columns."""
        return PairBatch(self.arch_choices[np.asarray(arch_index, dtype=np.int64)],
                         self.hw_choices[np.asarray(column, dtype=np.int64)])

    @property
    def reference_hw(self) -> np.ndarray:
        """Hardware choices of the template preset (the fixed design of hardware-aware NAS)."""
        return self.hw_choices[self.reference_column]

    def design_sweep(self, rng: np.random.Generator, n: int, arch: np.ndarray) -> np.ndarray:
        """Every feasible design's hardware choices in a random order (sequential's hardware phase;
        ``n`` and ``arch`` do not matter here: the grid is small enough to sweep whole)."""
        ok = np.flatnonzero(self.table.feasible)
        return self.hw_choices[ok[rng.permutation(len(ok))]]

    def sample_hw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` hardware choice rows drawn uniformly from the feasible designs."""
        ok = np.flatnonzero(self.table.feasible)
        return self.hw_choices[ok[rng.integers(len(ok), size=n)]]

    # -- pricing -------------------------------------------------------------------------------
    def costs(self, arch_index: np.ndarray, column: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(energy pJ, latency cycles, area mm²) of pairs (valid columns only), summed shape by shape.

        The same fixed order as :meth:`CostTable.network_costs`, so values equal the front's bit for bit.
        """
        c = self.counts.counts[arch_index]
        energy = np.zeros(len(c))
        latency = np.zeros(len(c), dtype=np.int64)
        for s in range(c.shape[1]):
            energy += c[:, s] * self.table.energy_pj[s, column]
            latency += c[:, s] * self.table.latency_cycles[s, column]
        return energy, latency, self.table.area_mm2[column]

    def evaluate(self, cands: Any) -> Evaluation:
        cands = self.as_pairs(cands)
        n = len(cands)
        idx = self.arch_index(cands.arch)
        col = self.column(cands.hw)
        values = np.full((n, len(self.objectives)), np.inf)
        reasons = [""] * n
        ok = col >= 0
        for i in np.flatnonzero(~ok):
            reasons[i] = "not a design of the space (over the budget or left out by design_stride)"
        bad_table = ok.copy()
        bad_table[ok] = ~self.table.feasible[col[ok]]
        for i in np.flatnonzero(bad_table):
            reasons[i] = f"design cannot map every layer: {self.table.reasons[col[i]]}"
        ok &= ~bad_table
        if ok.any():
            energy, latency, area = self.costs(idx[ok], col[ok])
            v = objective_values(self.objectives, self.accuracy_of(idx[ok], col[ok]), latency.astype(np.float64),
                                 energy, area, self.clock_ghz)
            values[ok] = v
            limits = []
            if self.max_latency_cycles is not None:
                limits.append(("latency", latency, self.max_latency_cycles, "max_latency_cycles"))
            if self.max_area_mm2 is not None:
                limits.append(("area", area, self.max_area_mm2, "max_area_mm2"))
            rows = np.flatnonzero(ok)
            for _, got, limit, name in limits:  # a stable reason (reports count by reason); costs are in params
                over = got > limit
                for j in np.flatnonzero(over):
                    reasons[rows[j]] = f"{name}: over {limit:.6g}"
                values[rows[over]] = np.inf
                ok[rows[over]] = False
        return Evaluation(values=values, feasible=ok, reasons=tuple(reasons))

    def metrics(self, cands: Any) -> dict[str, np.ndarray]:
        """Every metric of each pair, float (n,) arrays: ``accuracy`` (%), ``latency_cycles``, ``energy_pj``,
        ``area_mm2``, ``perf_per_area`` (images/s/cm²); NaN where the pair has no cost (not a design of the
        space, or a design that cannot map every layer). Hard limits are not applied: a strategy's reward
        may need how far a pair is over one."""
        cands = self.as_pairs(cands)
        idx, col = self.arch_index(cands.arch), self.column(cands.hw)
        ok = (idx >= 0) & (col >= 0)
        ok[ok] = self.table.feasible[col[ok]]
        out = {k: np.full(len(cands), np.nan) for k in ("accuracy", "latency_cycles", "energy_pj", "area_mm2",
                                                        "perf_per_area")}
        if self.precisions:  # the precision is known where the hardware row is a design of the space
            known = (idx >= 0) & (col >= 0)
            out["accuracy"][known] = self.accuracy_of(idx[known], col[known])
        else:
            out["accuracy"][idx >= 0] = self.accuracy[idx[idx >= 0]]
        if ok.any():
            energy, latency, area = self.costs(idx[ok], col[ok])
            out["latency_cycles"][ok], out["energy_pj"][ok], out["area_mm2"][ok] = latency, energy, area
            out["perf_per_area"][ok] = perf_per_area(latency, area, self.clock_ghz)
        return out

    def describe(self, cands: Any, i: int) -> dict[str, Any]:
        return self.describe_many(cands, [i])[0]

    def describe_many(self, cands: Any, rows: Sequence[int]) -> list[dict[str, Any]]:
        """The parameters of candidates ``rows``: the pair, its accelerator and (for a priced design) its
        latency and energy, priced in one vectorised sum (a study describes every trial it stores)."""
        cands = self.as_pairs(cands)
        r = np.asarray(rows, dtype=np.int64)
        idx, col = self.arch_index(cands.arch[r]), self.column(cands.hw[r])
        priced = (idx >= 0) & (col >= 0)
        priced[priced] = self.table.feasible[col[priced]]
        energy, latency, _ = self.costs(idx[priced], col[priced])
        cost_of = dict(zip(np.flatnonzero(priced).tolist(), zip(latency.tolist(), energy.tolist(), strict=True),
                           strict=True))
        out = []
        for k, i in enumerate(r.tolist()):
            a, c = int(idx[k]), int(col[k])
            d: dict[str, Any] = {"arch_index": a, "arch": str(self.space.all_cells()[a]) if a >= 0 else None,
                                 "hw": [int(v) for v in cands.hw[i]]}
            if c >= 0:
                d["design"] = int(self.grid_index[c])
                d["accelerator"] = self.accelerator_params(c)
                if self.precisions:
                    d["precision"] = self.precisions[c // self.n_designs].label
            if k in cost_of:
                d["latency_cycles"], d["energy_pj"] = int(cost_of[k][0]), float(cost_of[k][1])
            out.append(d)
        return out

    def accelerator_params(self, column: int) -> dict[str, Any]:
        """The design of table column ``column`` as JSON: array, dataflow, buffer sizes, area."""
        d = self.designs[column]
        names = [self.grid.template.levels[i].name for i in self.grid.space.size_levels]
        return {"array": f"{d.array_x}x{d.array_y}", "pes": d.pes, "dataflow": self.grid.dataflow_of(d),
                "spatial_x": "".join(d.dims_x), "spatial_y": "".join(d.dims_y),
                "sizes_words": dict(zip(names, d.sizes_words, strict=True)),
                "area_mm2": float(self.table.area_mm2[column])}

    # -- the exact answer ----------------------------------------------------------------------
    @functools.cached_property
    def reference(self) -> tuple[float, float]:
        """The fixed hypervolume reference (accuracy %, log10 EDP) of this space."""
        return edp_reference(self.table, self.counts.counts)

    @functools.cached_property
    def exact_front(self) -> FrontPairs:
        """The exact Pareto front over every feasible pair (constraints applied), for this problem's objectives.

        Its ``design`` are table columns.
        """
        if self.objectives == ("accuracy", "edp"):
            return self.edp_front
        if len(self.objectives) == 2 and self.objectives[1] in SCALAR_COSTS:
            cost = self.objectives[1]
            return self._each_precision(
                lambda table, acc: front_accuracy_cost(table, self.counts.counts, acc, cost=cost,
                                                       max_latency_cycles=self.max_latency_cycles,
                                                       clock_ghz=self.clock_ghz), (cost,))
        costs = {frozenset({"accuracy", "latency", "energy", "area"}): ("latency", "energy", "area"),
                 frozenset({"accuracy", "latency", "area"}): ("latency", "area"),
                 frozenset({"accuracy", "latency", "area", "perf_per_area"}): ("latency", "area")}  # see the front
        if len(set(self.objectives)) == len(self.objectives) and frozenset(self.objectives) in costs:
            if self.max_latency_cycles is not None:
                raise SpecError("problem.max_latency_cycles: the exact multi-objective front does not take a "
                                "latency limit (latency is an objective there); leave it out")
            vector = costs[frozenset(self.objectives)]
            return self._each_precision(
                lambda table, acc: front_accuracy_costs(table, self.counts.counts, acc, vector), vector)
        raise SpecError(f"objectives: the exact front exists for accuracy and one of {', '.join(SCALAR_COSTS)}, and "
                        f"for (accuracy, latency, energy, area), (accuracy, latency, area) and (accuracy, latency, "
                        f"area, perf_per_area), got {list(self.objectives)!r}")

    def _each_precision(self, front: Callable[[CostTable, np.ndarray], FrontPairs],
                        costs: tuple[str, ...]) -> FrontPairs:
        """``front(table, accuracy)`` of the space, or with precisions the merge of one front per precision
        (its block of the table, accuracy minus its drop; a precision no design can map is left out)."""
        table = self._limited_table()
        if not self.precisions:
            return front(table, self.accuracy)
        fronts, offsets = [], []
        for k, p in enumerate(self.precisions):
            sub = _block(table, k * self.n_designs, self.n_designs)
            if sub.feasible.any():
                fronts.append(front(sub, self.accuracy - (p.accuracy_drop or 0.0)))
                offsets.append(k * self.n_designs)
        if not fronts:
            raise SpecError("table.feasible: no design could map every shape at any precision; no pair has a cost")
        return merge_fronts(fronts, offsets=offsets, costs=costs, clock_ghz=self.clock_ghz)

    def _limited_table(self) -> CostTable:
        """The cost table with designs over ``max_area_mm2`` marked infeasible (area is the design's alone)."""
        if self.max_area_mm2 is None:
            return self.table
        ok = self.table.feasible & (self.table.area_mm2 <= self.max_area_mm2)
        if not ok.any():
            raise SpecError(f"problem.max_area_mm2: no design is as small as {self.max_area_mm2} mm2")
        return dataclasses.replace(self.table, feasible=ok)

    def hypervolume(self, accuracy: np.ndarray, edp: np.ndarray) -> float:
        """Hypervolume of (accuracy, EDP) points against the fixed reference."""
        if len(accuracy) == 0:
            return 0.0
        return edp_hypervolume(np.asarray(accuracy), np.asarray(edp), self.reference)

    @functools.cached_property
    def edp_front(self) -> FrontPairs:
        """The exact (accuracy, EDP) front of the feasible pairs, whatever the objectives (hypervolumes use it)."""
        return self._each_precision(
            lambda table, acc: front_accuracy_edp(table, self.counts.counts, acc,
                                                  max_latency_cycles=self.max_latency_cycles), ("edp",))

    @functools.cached_property
    def exact_hypervolume(self) -> float:
        """Hypervolume of the exact (accuracy, EDP) front of the feasible pairs (the 1.0 of a fraction)."""
        return self.hypervolume(self.edp_front.accuracy, self.edp_front.edp)

    @functools.cached_property
    def precision_fronts(self) -> tuple[FrontPairs, ...]:
        """The exact (accuracy, EDP) front at each precision alone (accuracy minus its drop; ``design`` are
        table columns), what a precision buys at equal accuracy is read from."""
        if not self.precisions:
            raise SpecError("problem.precisions: this problem has none; its one front is edp_front")
        table, d, out = self._limited_table(), self.n_designs, []
        for k, p in enumerate(self.precisions):
            acc = self.accuracy - (p.accuracy_drop or 0.0)
            f = front_accuracy_edp(_block(table, k * d, d), self.counts.counts, acc,
                                   max_latency_cycles=self.max_latency_cycles)
            out.append(dataclasses.replace(f, design=f.design + k * d, precision=np.full(len(f), k, dtype=np.int64)))
        return tuple(out)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for k in ("reference", "edp_front", "exact_front", "exact_hypervolume", "precision_fronts"):
            state.pop(k, None)
        return state



def _block(table: CostTable, start: int, n: int) -> CostTable:
    """Columns ``start`` to ``start + n`` of ``table`` (one precision's designs of a joined table)."""
    cols = slice(start, start + n)
    return dataclasses.replace(table, designs=table.designs[cols], energy_pj=table.energy_pj[:, cols],
                               latency_cycles=table.latency_cycles[:, cols], area_mm2=table.area_mm2[cols],
                               feasible=table.feasible[cols], reasons=table.reasons[cols])


def _join(tables: Sequence[CostTable]) -> CostTable:
    """Per-precision tables side by side (same shape classes and designs, different bits): one table whose
    column ``k * D + d`` is design ``d`` at precision ``k``. ``shapes`` are the first table's; ``key`` lists
    every table's key, so a joined table is never mistaken for one of its parts."""
    return CostTable(shapes=tables[0].shapes, designs=tuple(d for t in tables for d in t.designs),
                     energy_pj=np.concatenate([t.energy_pj for t in tables], axis=1),
                     latency_cycles=np.concatenate([t.latency_cycles for t in tables], axis=1),
                     area_mm2=np.concatenate([t.area_mm2 for t in tables]),
                     feasible=np.concatenate([t.feasible for t in tables]),
                     reasons=tuple(r for t in tables for r in t.reasons), key="+".join(t.key for t in tables),
                     seconds=sum(t.seconds for t in tables), source="+".join(t.source for t in tables))
