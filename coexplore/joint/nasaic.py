"""NASAIC's joint problem (seed 000, issue 14): two tasks' NAS-Bench-201 cells and a heterogeneous ASIC of two
sub-accelerators (templates ``dla`` and ``shi`` as in NASAIC's Table I), priced with MAESTRO semantics.

A candidate is one cell per task (six NB201 edge operations each), then the hardware: the ``dla``
sub-accelerator's PEs and NoC bandwidth, the ``shi`` one's PEs (its bandwidth is the rest of the
budget: NASAIC's designs use all of it), and the assignment of the two tasks to the sub-accelerators
(``0``: task 1 on dla, task 2 on shi; ``1``: swapped; ``2``: both on dla; ``3``: both on shi). PEs come in
steps of the budget's ``pe_step`` and sum to at most ``pes``; a draw over the PE budget is infeasible
(reason ``budget``), and :meth:`NasaicProblem.allowed` masks those draws for a controller.

Accuracy (offline, no training): task 1 = NAS-Bench-201's CIFAR-10 test accuracy, task 2 = its
CIFAR-100 test accuracy (both NB201's shipped 12-epoch columns). Task 2 **stands in for NASAIC's
Nuclei segmentation task, which has no offline data**; CIFAR-100 rather than ImageNet16-120 because it
runs on the same 32x32 inputs as task 1 (a network as large as task 1's, as NASAIC's segmentation
network is) and is the harder task (lower accuracy, as Nuclei's 83 % against CIFAR-10's 94 %).

System metrics as :mod:`coexplore.maestro.system` defines them (latency = max over sub-accelerators of the
sum of their networks' runtimes, energy = sum, area = sum of the sub-accelerators' areas), MAESTRO's
``nasaic`` constants by default. Specs are hard constraints: a pair over any of them is infeasible, its
reason naming each violated spec. The pricing is exact and cheap: an NB201 network is made of a dozen
layer shapes, and without the per-layer energy quirks a layer's price does not depend on the others, so
each shape is priced once per sub-accelerator (cached) and a network's cost is a sum of counts x prices
(tests check it against pricing the whole network).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.problem import PairBatch, PairEncoded
from coexplore.maestro.batch import BatchPricer, Designs
from coexplore.maestro.energy import area_power, constants
from coexplore.maestro.system import Budget, HeteroDesign, Specs, SubAccelerator
from coexplore.search.problem import Evaluation

__all__ = ["ASSIGNMENTS", "DEFAULT_SPECS", "TASK2_DATASETS", "NasaicProblem"]

#: (sub-accelerator of task 1, of task 2) per assignment decision
ASSIGNMENTS = ((0, 1), (1, 0), (0, 0), (1, 1))
TEMPLATES = ("dla", "shi")
TASK2_DATASETS = ("cifar100", "imagenet16-120")
#: specs for NB201 networks on 32x32 inputs (NASAIC's W1 specs are for its own smaller networks); chosen from the
#: measured ranges (benchmarks/bench_nasaic.py --ranges) so that some designs meet them and the most accurate
#: cells cannot: latency cycles, energy nJ, area um^2
DEFAULT_SPECS = Specs(latency_cycles=1.5e6, energy_nj=1.2e9, area_um2=3.0e9)
OBJECTIVES = ("accuracy", "latency", "energy", "area")


def _shape(layer: Any) -> Any:
    return dataclasses.replace(layer, name="x")


class NasaicProblem(PairEncoded):
    """Two NB201 tasks x <dla, PEs, BW> + <shi, PEs, BW> + an assignment, under latency/energy/area specs.

    Args:
        task2: NB201 dataset of task 2 (``cifar100`` or ``imagenet16-120``), standing in for Nuclei.
        specs: Hard constraints (default :data:`DEFAULT_SPECS`).
        budget: PE and bandwidth budget and steps (default NASAIC's: 4096 step 64, 64 step 8).
        constant_set: MAESTRO constants (``nasaic``: the older set NASAIC-era results used).
        objectives: ``accuracy`` (mean of the tasks') then any of ``latency``, ``energy``, ``area``.
    """

    in_process = True

    def __init__(self, *, task2: str = "cifar100", specs: Specs | None = None, budget: Budget | None = None,
                 constant_set: str = "nasaic", objectives: tuple[str, ...] = OBJECTIVES) -> None:
        from coexplore.nas.nb201 import NB201Space
        from coexplore.nas.tables import load_accuracy

        if task2 not in TASK2_DATASETS:
            raise SpecError(f"problem.task2: must be one of {', '.join(TASK2_DATASETS)}, got {task2!r}")
        objectives = tuple(objectives)
        if not objectives or objectives[0] != "accuracy" or any(o not in OBJECTIVES[1:] for o in objectives[1:]) \
                or len(set(objectives)) != len(objectives):
            raise SpecError(f"objectives: the nasaic problem has accuracy first, then any of latency, energy, area, "
                            f"got {list(objectives)!r}")
        constants(constant_set)  # an unknown set fails here
        self.task2, self.objectives, self.constant_set = task2, objectives, constant_set
        self.specs = specs if specs is not None else DEFAULT_SPECS
        self.budget = budget if budget is not None else Budget()
        b = self.budget
        self.pe_values = tuple(range(b.pe_step, b.pes - b.pe_step + 1, b.pe_step))
        self.bw_values = tuple(range(b.bandwidth_step, b.bandwidth - b.bandwidth_step + 1, b.bandwidth_step))
        if not self.pe_values or not self.bw_values:
            raise SpecError(f"problem.budget: two sub-accelerators need at least two steps of PEs and of bandwidth, "
                            f"got {b}")
        self.datasets = ("cifar10", task2)
        self.spaces = tuple(NB201Space(dataset=d) for d in self.datasets)
        self.acc = tuple(load_accuracy(d, 12, "test") for d in self.datasets)
        self.arch_cards = (5,) * 12
        self.hw_cards = (len(self.pe_values), len(self.bw_values), len(self.pe_values), len(ASSIGNMENTS))
        self.hw_names = ("dla_pes", "dla_bw", "shi_pes", "assign")
        cells = NB201Space.all_cells()
        codes = np.array([self._code(self.spaces[0].to_choices(c)) for c in cells], dtype=np.int64)
        self._index_of_code = np.empty(5 ** 6, dtype=np.int64)
        self._index_of_code[codes] = np.arange(len(cells))
        self._protos: list[list[Any]] = []  # per task: the distinct layer shapes
        self._counts: list[dict[int, np.ndarray]] = [{}, {}]
        for space in self.spaces:
            shapes: dict[Any, int] = {}
            for c in ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                      "nor_conv_3x3~2|", "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|"
                      "nor_conv_1x1~1|nor_conv_1x1~2|"):
                for layer in space.to_network(space.parse(c)).layers:
                    shapes.setdefault(_shape(layer), len(shapes))
            self._protos.append(list(shapes))
        self._layer_prices: dict[tuple[int, str, int, int], np.ndarray] = {}
        self._pricer = BatchPricer(constant_set=self.constant_set)
        self.pairs_priced = 0

    # -- decisions ----------------------------------------------------------------------------
    @staticmethod
    def _code(choices: Any) -> int:
        return int(sum(int(c) * 5 ** k for k, c in enumerate(choices)))

    def indices(self, arch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """NB201 indices of each row's task-1 and task-2 cells."""
        arch = np.asarray(arch, dtype=np.int64)
        w = 5 ** np.arange(6)
        return self._index_of_code[arch[:, :6] @ w], self._index_of_code[arch[:, 6:] @ w]

    def choices_of(self, index: int) -> np.ndarray:
        """The six operation choices of NB201 cell ``index``."""
        return np.array(self.spaces[0].to_choices(self.spaces[0].cell(int(index))), dtype=np.int64)

    def design(self, hw_row: Any) -> tuple[HeteroDesign, tuple[int, int]]:
        """The heterogeneous design and the (task 1, task 2) sub-accelerators of a hardware row."""
        h = [int(v) for v in hw_row]
        bw = self.bw_values[h[1]]
        subs = (SubAccelerator("dla", self.pe_values[h[0]], bw),
                SubAccelerator("shi", self.pe_values[h[2]], self.budget.bandwidth - bw))
        return HeteroDesign(subs=subs), ASSIGNMENTS[h[3]]

    def over_budget(self, hw: np.ndarray) -> np.ndarray:
        """bool (n,): the two sub-accelerators' PEs sum over the budget."""
        hw = np.asarray(hw, dtype=np.int64)
        pes = np.asarray(self.pe_values)
        return pes[hw[:, 0]] + pes[hw[:, 2]] > self.budget.pes

    def allowed(self, step: int, prefix: np.ndarray) -> np.ndarray:
        """Choices open at decision ``step`` (of arch + hw) after ``prefix``: shi's PEs within what dla left."""
        cards = (*self.arch_cards, *self.hw_cards)
        n = len(prefix)
        mask = np.ones((n, cards[step]), dtype=bool)
        if step == len(self.arch_cards) + 2:
            pes = np.asarray(self.pe_values)
            left = self.budget.pes - pes[prefix[:, len(self.arch_cards)]]
            mask = pes[None, :] <= left[:, None]
        return mask

    def sample_hw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` hardware rows uniform over the designs within the budget (and the assignments)."""
        out = np.empty((n, 4), dtype=np.int64)
        out[:, 0] = rng.integers(self.hw_cards[0], size=n)
        out[:, 1] = rng.integers(self.hw_cards[1], size=n)
        pes = np.asarray(self.pe_values)
        for i in range(n):
            ok = np.flatnonzero(pes <= self.budget.pes - pes[out[i, 0]])
            out[i, 2] = ok[rng.integers(len(ok))]
        out[:, 3] = rng.integers(len(ASSIGNMENTS), size=n)
        return out

    # -- pricing ------------------------------------------------------------------------------
    def layer_prices(self, task: int, template: str, pes: int, bw: int) -> np.ndarray:
        """(n_shapes, 5) per layer shape of ``task``: runtime, energy, MACs, L1 bytes, L2 bytes on the sub-accelerator
        (the figures of :func:`~coexplore.maestro.system.price_layers`). On a miss, every bandwidth a sub-accelerator
        of the problem can get is priced at once: the analysis of a (shape, template, PEs) does not depend on the
        bandwidth (:mod:`coexplore.maestro.batch`), so it runs once for all of them."""
        key = (task, template, pes, bw)
        hit = self._layer_prices.get(key)
        if hit is None:
            layers = tuple(dataclasses.replace(s, name=f"l{i}") for i, s in enumerate(self._protos[task]))
            bws = sorted({*self.bw_values, *(self.budget.bandwidth - v for v in self.bw_values), bw})
            got = self._pricer.price(layers, Designs((template,) * len(bws), np.full(len(bws), pes),
                                                     np.array(bws)))
            for j, b in enumerate(bws):
                self._layer_prices[(task, template, pes, b)] = np.stack(
                    [got.runtime_cycles[:, j], got.energy_nj[:, j], got.macs[:, j], got.l1_bytes[:, j],
                     got.l2_bytes[:, j]], axis=1).astype(np.float64)
            hit = self._layer_prices[key]
        return hit

    def counts(self, task: int, index: int) -> np.ndarray:
        """How many times each layer shape of ``task`` occurs in the network of NB201 cell ``index``."""
        hit = self._counts[task].get(index)
        if hit is None:
            space = self.spaces[task]
            pos = {s: i for i, s in enumerate(self._protos[task])}
            hit = np.zeros(len(pos), dtype=np.float64)
            for layer in space.to_network(space.cell(index)).layers:
                hit[pos[_shape(layer)]] += 1
            self._counts[task][index] = hit
        return hit

    def layer_macs(self, task: int) -> np.ndarray:
        """MACs of each layer shape of ``task`` (the layer's own count)."""
        return np.array([s.macs for s in self._protos[task]], dtype=np.float64)

    def network_cost(self, task: int, index: int, template: str, pes: int, bw: int) -> tuple[float, float, int, int]:
        """(runtime cycles, energy nJ, L1 bytes, L2 bytes) of task ``task``'s cell ``index`` on the sub-accelerator."""
        prices, n = self.layer_prices(task, template, pes, bw), self.counts(task, index)
        used = n > 0
        return (float(n @ prices[:, 0]), float(n @ prices[:, 1]), int(prices[used, 3].max()),
                int(prices[used, 4].max()))

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - the problem lives as long as its search
    def _area(self, pes: int, bw: int, l1: int, l2: int) -> float:
        return float(area_power(constants(self.constant_set), num_pes=pes, vector_width=1, noc_bandwidth=bw,
                                l1_bytes=l1, l2_bytes=l2).area)

    def system(self, i1: int, i2: int, hw_row: Any) -> dict[str, Any]:
        """Latency, energy, area and per-task figures of cells ``i1``, ``i2`` on a hardware row (within budget)."""
        design, assign = self.design(hw_row)
        lat = [0.0, 0.0]
        l1 = [1, 1]
        l2 = [1, 1]
        energy = 0.0
        per_task = []
        for task, (index, sub) in enumerate(zip((i1, i2), assign, strict=True)):
            s = design.subs[sub]
            r, e, b1, b2 = self.network_cost(task, index, s.template, s.pes, s.bandwidth)
            lat[sub] += r
            energy += e
            l1[sub], l2[sub] = max(l1[sub], b1), max(l2[sub], b2)
            per_task.append({"task": task + 1, "dataset": self.datasets[task], "sub_accelerator": sub,
                             "latency_cycles": int(r), "energy_nj": e})
        areas = [self._area(s.pes, s.bandwidth, l1[k], l2[k]) for k, s in enumerate(design.subs)]
        self.pairs_priced += 1
        return {"latency_cycles": int(max(lat)), "energy_nj": energy, "area_um2": float(sum(areas)),
                "sub_latency_cycles": [int(v) for v in lat], "sub_area_um2": areas, "tasks": per_task}

    def violations(self, cost: dict[str, Any]) -> list[str]:
        """Each violated spec named with its value and limit (empty: all met)."""
        out = []
        for name, unit in (("latency_cycles", "cycles"), ("energy_nj", "nJ"), ("area_um2", "um2")):
            limit = getattr(self.specs, name)
            if limit is not None and cost[name] > limit:
                out.append(f"{name}: {cost[name]:.4g} {unit} > spec {limit:.4g}")
        return out

    def accuracies(self, i1: int, i2: int) -> tuple[float, float]:
        return float(self.acc[0][i1]), float(self.acc[1][i2])

    def evaluate(self, cands: Any) -> Evaluation:
        cands = self.as_pairs(cands)
        n = len(cands)
        i1, i2 = self.indices(cands.arch)
        over = self.over_budget(cands.hw)
        values = np.full((n, len(self.objectives)), np.inf)
        ok = np.zeros(n, dtype=bool)
        reasons = [""] * n
        for i in range(n):
            if over[i]:
                reasons[i] = f"budget: PEs over {self.budget.pes}"
                continue
            cost = self.system(int(i1[i]), int(i2[i]), cands.hw[i])
            bad = self.violations(cost)
            if bad:
                reasons[i] = "specs: " + "; ".join(bad)
                continue
            a1, a2 = self.accuracies(int(i1[i]), int(i2[i]))
            col = {"accuracy": -(a1 + a2) / 2, "latency": cost["latency_cycles"], "energy": cost["energy_nj"],
                   "area": cost["area_um2"]}
            values[i] = [col[o] for o in self.objectives]
            ok[i] = True
        return Evaluation(values=values, feasible=ok, reasons=tuple(reasons))

    def describe(self, cands: Any, i: int) -> dict[str, Any]:
        cands = self.as_pairs(cands)
        i1, i2 = (int(v[0]) for v in self.indices(cands.arch[i:i + 1]))
        design, assign = self.design(cands.hw[i])
        a1, a2 = self.accuracies(i1, i2)
        out: dict[str, Any] = {
            "arch_index": [i1, i2], "arch": [str(self.spaces[0].cell(i1)), str(self.spaces[1].cell(i2))],
            "accuracy_tasks": [a1, a2], "hw": [int(v) for v in cands.hw[i]],
            "design": ",".join(f"{s.template}:{s.pes}:{s.bandwidth}" for s in design.subs), "assign": list(assign)}
        if not self.over_budget(cands.hw[i:i + 1])[0]:
            cost = self.system(i1, i2, cands.hw[i])
            out.update(cost)
            out["violations"] = self.violations(cost)
        return out

    # -- what the baselines need --------------------------------------------------------------
    def hw_grid(self) -> np.ndarray:
        """Every hardware row within the budget (dla PEs, dla bw, shi PEs, assignment)."""
        pes = np.asarray(self.pe_values)
        rows = [(a, b, c, d) for a in range(len(pes)) for b in range(len(self.bw_values))
                for c in np.flatnonzero(pes <= self.budget.pes - pes[a]) for d in range(len(ASSIGNMENTS))]
        return np.array(rows, dtype=np.int64)

    def hw_costs(self, i1: int, i2: int, hw: np.ndarray) -> np.ndarray:
        """(n, 3) latency, energy, area of cells ``i1``, ``i2`` on every hardware row of ``hw``."""
        out = np.empty((len(hw), 3))
        for k, row in enumerate(hw):
            c = self.system(i1, i2, row)
            out[k] = (c["latency_cycles"], c["energy_nj"], c["area_um2"])
        return out

    def spec_array(self) -> np.ndarray:
        """The three limits (inf where a metric is free)."""
        s = self.specs
        return np.array([np.inf if v is None else v for v in (s.latency_cycles, s.energy_nj, s.area_um2)])

    def pairs(self, i1: Any, i2: Any, hw: Any) -> PairBatch:
        """Candidates of NB201 indices and hardware rows."""
        i1, i2 = np.atleast_1d(i1), np.atleast_1d(i2)
        arch = np.array([np.concatenate([self.choices_of(a), self.choices_of(b)]) for a, b in zip(i1, i2,
                                                                                                  strict=True)])
        return PairBatch(arch.reshape(len(i1), 12), np.asarray(hw, dtype=np.int64).reshape(len(i1), 4))
