"""NANDS's joint problem (seed 000; Yang et al., ASP-DAC 2020): a neural architecture and the network-on-chip
design that runs it, under a real-time (throughput) spec.

A pair is a NAS-Bench-201 cell (CIFAR-10; accuracy: NB201's shipped 12-epoch test column, so no
training is needed: NAS-Bench-201 keeps evaluation to a table read, where the FNAS chain space
would train every child) and a NoC design of five decisions: the ``mesh`` (rows x cols of one
accelerator, ``nvdla-1024`` by default, priced by coexplore's cost model), the ``link_bandwidth``
of every link, the ``placement`` rule of tasks on cores, the ``partition`` rule of the network's
19 blocks (stem, 15 cells, 2 reduction blocks, classifier) into one layer-pipelined task per core,
and whether NANDS's bottleneck detection and alleviation (:func:`~coexplore.system.design.alleviate`)
refines that design. Links share a wire budget: ``links x bandwidth <= link_budget_gb_per_s``, so a
mesh of more cores has narrower links (the trade-off the co-exploration has to find).

Objectives: accuracy (maximised) and ``period`` (ns per inference, 1 / throughput, minimised); a
pair below ``min_throughput_per_s`` (the real-time spec) or over the wire budget is rejected
analytically, before its accuracy is read. :meth:`NB201NocProblem.best_hw` is NANDS's loop II
(automatic hardware design for one network); :attr:`NB201NocProblem.reference_hw` is the fixed
NoC of the hardware-aware NAS baseline: the largest mesh at the widest link its budget allows,
row-major placement, even partition, no alleviation (an arbitrary yet fixed design, the
baseline's premise).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.problem import PairEncoded
from coexplore.search.problem import Evaluation
from coexplore.system.design import PARTITIONS, PLACEMENTS, Alleviation, alleviate, evaluate_design, initial_design
from coexplore.system.evaluate import SystemEvaluation
from coexplore.system.pipeline import SystemResult
from coexplore.system.profile import Block, BlockProfile, network_blocks, profile_blocks
from coexplore.system.spec import Memory, SystemSpec, mesh_system

__all__ = ["BANDWIDTHS", "HW_NAMES", "MESHES", "SPECS", "NB201NocProblem"]

SPECS = "specs"
MESHES = ((1, 2), (1, 4), (2, 2), (2, 3), (3, 3))
BANDWIDTHS = (0.5, 1.0, 2.0, 4.0, 8.0)  # GB/s per link
HW_NAMES = ("mesh", "link_bandwidth", "placement", "partition", "alleviate")


def _check_positive(problems: list[str], name: str, value: Any, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        problems.append(f"problem.{name}: must be a number > 0{' or absent' if optional else ''}, got {value!r}")


class NB201NocProblem(PairEncoded):
    """NANDS on NAS-Bench-201: cells (CIFAR-10) x NoC designs of a mesh of one accelerator.

    Args:
        accelerator: The engine at every core (a preset or accelerator YAML).
        meshes: Mesh shapes (rows, cols) to choose from.
        bandwidths: Link bandwidths (GB/s) to choose from.
        link_budget_gb_per_s: Sum of all directed links' bandwidths allowed.
        hop_latency_ns: Router and wire latency per hop.
        memory_kind, memory_gb_per_s: Off-chip memory (``per-engine`` or ``shared``) and its bandwidth.
        min_throughput_per_s: The real-time spec (inferences per second; None: none).
        fixed_mesh: The fixed NoC's mesh (default: the largest of ``meshes``).
        samples: Random legal mappings per layer shape whose fastest prices a layer.
        objectives: ``("accuracy", "period")``.
    """

    def __init__(self, *, accelerator: str = "nvdla-1024", meshes: tuple[tuple[int, int], ...] = MESHES,
                 bandwidths: tuple[float, ...] = BANDWIDTHS, link_budget_gb_per_s: float = 24.0,
                 hop_latency_ns: float = 1.0, memory_kind: str = "per-engine", memory_gb_per_s: float = 16.0,
                 min_throughput_per_s: float | None = None, fixed_mesh: tuple[int, int] | None = None,
                 samples: int = 256, objectives: tuple[str, ...] = ("accuracy", "period")) -> None:
        from coexplore.nas.nb201 import NB201Space
        from coexplore.nas.tables import accuracy_label, load_accuracy
        from coexplore.presets.accelerators import get_accelerator

        problems: list[str] = []
        meshes = tuple(tuple(m) for m in meshes)  # type: ignore[misc]
        if not meshes or any(len(m) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in m)
                             for m in meshes):
            problems.append(f"problem.meshes: must be a non-empty list of [rows, cols] with integers >= 1, "
                            f"got {list(meshes)!r}")
        bandwidths = tuple(bandwidths)
        if not bandwidths:
            problems.append("problem.bandwidths: must list at least one bandwidth (GB/s), got none")
        for b in bandwidths:
            _check_positive(problems, "bandwidths", b)
        _check_positive(problems, "link_budget_gb_per_s", link_budget_gb_per_s)
        _check_positive(problems, "memory_gb_per_s", memory_gb_per_s)
        _check_positive(problems, "min_throughput_per_s", min_throughput_per_s, optional=True)
        if isinstance(hop_latency_ns, bool) or not isinstance(hop_latency_ns, int | float) or hop_latency_ns < 0:
            problems.append(f"problem.hop_latency_ns: must be a number >= 0, got {hop_latency_ns!r}")
        if tuple(objectives) != ("accuracy", "period"):
            problems.append(f"objectives: space nb201-noc has accuracy and period (ns per inference), got "
                            f"{list(objectives)!r}")
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            problems.append(f"problem.samples: must be an integer >= 1, got {samples!r}")
        if problems:
            raise SpecError(problems)
        self.memory = Memory(kind=memory_kind, bandwidth_gb_per_s=memory_gb_per_s)
        self.accelerator_ref = accelerator
        self.accelerator = get_accelerator(accelerator)
        self.meshes, self.bandwidths = meshes, bandwidths
        self.link_budget, self.hop_latency_ns = float(link_budget_gb_per_s), float(hop_latency_ns)
        self.min_throughput = None if min_throughput_per_s is None else float(min_throughput_per_s)
        self.samples, self.objectives = samples, tuple(objectives)
        fixed = tuple(fixed_mesh) if fixed_mesh is not None else max(meshes, key=lambda m: (m[0] * m[1], m))
        if fixed not in meshes:
            raise SpecError(f"problem.fixed_mesh: must be one of problem.meshes {list(meshes)!r}, got {fixed!r}")
        self.space = NB201Space(dataset="cifar10")
        self.accuracy = load_accuracy("cifar10", 12, "test")
        self.accuracy_source = accuracy_label("cifar10", 12, "test")
        self.arch_cards = tuple(self.space.cardinalities)
        self.hw_cards = (len(meshes), len(bandwidths), len(PLACEMENTS), len(PARTITIONS), 2)
        m = meshes.index(fixed)  # type: ignore[arg-type]
        widest = self._widest(m)
        if widest is None:
            raise SpecError(f"problem.link_budget_gb_per_s: {self.link_budget:g} GB/s is below the narrowest link "
                            f"({min(bandwidths):g} GB/s) on every link of the fixed {fixed[0]}x{fixed[1]} mesh")
        #: The fixed NoC of the hardware-aware NAS baseline.
        self.reference_hw = np.array([m, widest, PLACEMENTS.index("row-major"), PARTITIONS.index("even"), 0])
        self._systems: dict[tuple[int, int], SystemSpec] = {}
        self._profiles: dict[str, BlockProfile] = {}
        self._nocs: dict[bytes, tuple[Alleviation | None, SystemResult]] = {}
        self._best: dict[bytes, np.ndarray] = {}
        self.design_evaluations = 0  # NoC designs priced (loop II and the pairs), none of them a table query

    @property
    def encoded_hw_names(self) -> tuple[str, ...]:
        return HW_NAMES

    # -- the hardware ----------------------------------------------------------------------------
    def n_links(self, mesh: int) -> int:
        r, c = self.meshes[mesh]
        return 2 * (r * (c - 1) + c * (r - 1))

    def within_budget(self, mesh: int, bandwidth: int) -> bool:
        return self.n_links(mesh) * self.bandwidths[bandwidth] <= self.link_budget * (1 + 1e-12)

    def _widest(self, mesh: int) -> int | None:
        ok = [b for b in range(len(self.bandwidths)) if self.within_budget(mesh, b)]
        return max(ok, key=lambda b: self.bandwidths[b]) if ok else None

    def system(self, mesh: int, bandwidth: int) -> SystemSpec:
        key = (int(mesh), int(bandwidth))
        if key not in self._systems:
            r, c = self.meshes[key[0]]
            self._systems[key] = mesh_system(r, c, self.accelerator_ref,
                                             bandwidth_gb_per_s=self.bandwidths[key[1]],
                                             hop_latency_ns=self.hop_latency_ns, memory=self.memory)
        return self._systems[key]

    # -- the network -----------------------------------------------------------------------------
    def cell(self, arch_row: np.ndarray) -> Any:
        return self.space.from_choices([int(v) for v in arch_row])

    def blocks(self, arch_row: np.ndarray) -> tuple[Block, ...]:
        """Stem, 17 cell positions (15 cells, 2 reduction blocks), classifier: a cell of skips and pools is a
        block without MACs that still passes its feature map on."""
        from coexplore.nas.nb201 import CELLS_PER_STAGE, STAGE_CHANNELS

        net = self.space.to_network(self.cell(arch_row))
        have = {b.name: b for b in network_blocks(net)}
        r = self.space.resolution
        out = [have["stem.0"]]
        for i in range((CELLS_PER_STAGE + 1) * len(STAGE_CHANNELS) - 1):
            stage = (i + 1) // (CELLS_PER_STAGE + 1)
            words = STAGE_CHANNELS[stage] * (r >> stage) ** 2
            out.append(have.get(f"cells.{i}", Block(f"cells.{i}", (), words)))
        out.append(have["classifier"])
        return tuple(out)

    def profile(self, arch_row: np.ndarray) -> BlockProfile:
        cell = self.cell(arch_row)
        key = str(cell)
        if key not in self._profiles:
            self._profiles[key] = profile_blocks(
                f"nb201-cifar10:{cell}", self.blocks(arch_row), {self.accelerator_ref: self.accelerator},
                input_words=3 * self.space.resolution ** 2, samples=self.samples)
        return self._profiles[key]

    # -- the pair --------------------------------------------------------------------------------
    def noc(self, arch_row: np.ndarray, hw_row: np.ndarray) -> tuple[Alleviation | None, SystemResult]:
        """The pair's NoC design priced (alleviated when its decision says so), once per pair."""
        key = np.asarray(arch_row, dtype=np.int64).tobytes() + b"|" + np.asarray(hw_row, dtype=np.int64).tobytes()
        if key not in self._nocs:
            h = [int(v) for v in hw_row]
            system, prof = self.system(h[0], h[1]), self.profile(arch_row)
            design = initial_design(system, prof, partition=PARTITIONS[h[3]], placement=PLACEMENTS[h[2]])
            if h[4]:
                done = alleviate(system, prof, design)
                self.design_evaluations += done.evaluated
                self._nocs[key] = (done, done.result)
            else:
                self.design_evaluations += 1
                self._nocs[key] = (None, evaluate_design(system, prof, design))
        return self._nocs[key]

    def violations(self, arch_row: np.ndarray, hw_row: np.ndarray) -> list[str]:
        """The specs a pair misses, one phrase each (analytical: no accuracy read)."""
        cell = self.cell(arch_row)
        if cell.degenerate:
            return [f"degenerate cell {cell} (no path from the input to the output)"]
        m, b = int(hw_row[0]), int(hw_row[1])
        if not self.within_budget(m, b):
            return [f"over the link budget ({self.n_links(m)} links x {self.bandwidths[b]:g} GB/s > "
                    f"{self.link_budget:g} GB/s)"]
        if self.min_throughput is not None:
            res = self.noc(arch_row, hw_row)[1]
            if res.throughput_per_s < self.min_throughput * (1 - 1e-12):
                return [f"throughput {res.throughput_per_s:.6g}/s below the real-time spec "
                        f"{self.min_throughput:g}/s (bottleneck {res.bottleneck})"]
        return []

    def meets_spec(self, cands: Any) -> np.ndarray:
        cands = self.as_pairs(cands)
        return np.array([not self.violations(cands.arch[i], cands.hw[i]) for i in range(len(cands))], dtype=bool)

    def arch_index(self, arch_row: np.ndarray) -> int:
        return int(self.space.index(self.cell(arch_row)))

    def evaluate(self, cands: Any) -> Evaluation:
        cands = self.as_pairs(cands)
        values = np.full((len(cands), 2), np.inf)
        ok = np.ones(len(cands), dtype=bool)
        reasons = [""] * len(cands)
        for i in range(len(cands)):
            miss = self.violations(cands.arch[i], cands.hw[i])
            if miss:
                ok[i] = False
                reasons[i] = f"{SPECS}: {'; '.join(miss)} (rejected before any accuracy is read)"
                continue
            res = self.noc(cands.arch[i], cands.hw[i])[1]
            values[i] = (-float(self.accuracy[self.arch_index(cands.arch[i])]), res.period_ns)
        return Evaluation(values=values, feasible=ok, reasons=tuple(reasons))

    # -- loop II: automatic hardware design ------------------------------------------------------
    def best_hw(self, arch_row: np.ndarray, *, alleviation: bool = True) -> np.ndarray:
        """NANDS's loop II for one network: the NoC design of highest throughput (lowest latency on a tie).

        Every mesh at the widest link its budget allows (a wider link never slows a design, so the
        narrower ones need no pricing), every placement and partition rule as a start, each refined
        by bottleneck detection and alleviation (``alleviation=False``: the rule-based designs alone,
        the ablation of that step).
        """
        key = np.asarray(arch_row, dtype=np.int64).tobytes() + bytes([alleviation])
        if key not in self._best:
            best: tuple[float, float] | None = None
            row = np.array(self.reference_hw)
            if not self.cell(arch_row).degenerate:
                for m in range(len(self.meshes)):
                    b = self._widest(m)
                    if b is None:
                        continue
                    for p in range(len(PLACEMENTS)):
                        for q in range(len(PARTITIONS)):
                            hw = np.array([m, b, p, q, int(alleviation)])
                            res = self.noc(arch_row, hw)[1]
                            if best is None or (res.period_ns, res.latency_ns) < best:
                                best, row = (res.period_ns, res.latency_ns), hw
            self._best[key] = row
        return self._best[key]

    def sample_hw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Random NoC designs within the link budget (what random search draws)."""
        rows = [(m, b) for m in range(len(self.meshes)) for b in range(len(self.bandwidths))
                if self.within_budget(m, b)]
        pick = rng.integers(len(rows), size=n)
        mb = np.array(rows, dtype=np.int64)[pick]
        rest = np.column_stack([rng.integers(c, size=n) for c in self.hw_cards[2:]])
        return np.column_stack([mb, rest]).astype(np.int64)

    def system_evaluation(self, arch_row: np.ndarray, hw_row: np.ndarray) -> SystemEvaluation:
        """The pair's system, blocks, design and figures together (what reports draw)."""
        h = [int(v) for v in hw_row]
        done, res = self.noc(arch_row, hw_row)
        system, prof = self.system(h[0], h[1]), self.profile(arch_row)
        start = initial_design(system, prof, partition=PARTITIONS[h[3]], placement=PLACEMENTS[h[2]])
        if done is None:
            return SystemEvaluation(system, prof, start, res, res, ())
        return SystemEvaluation(system, prof, done.design, res, evaluate_design(system, prof, start), done.steps)

    def hardware_record(self, arch_row: np.ndarray, hw_row: np.ndarray) -> dict[str, Any]:
        """The NoC design and its figures, for reports."""
        h = [int(v) for v in hw_row]
        done, res = self.noc(arch_row, hw_row)
        ev = self.system_evaluation(arch_row, hw_row)
        prof, design = ev.profile, ev.design
        starts = design.starts(len(prof.blocks))
        return {"accelerator": {"engine": self.accelerator_ref, "mesh": list(self.meshes[h[0]]),
                                "link_bandwidth_gb_per_s": self.bandwidths[h[1]], "placement": PLACEMENTS[h[2]],
                                "partition": PARTITIONS[h[3]], "alleviate": bool(h[4]),
                                "memory": {"kind": self.memory.kind,
                                           "bandwidth_gb_per_s": self.memory.bandwidth_gb_per_s}},
                "tasks": [[b.name for b in prof.blocks[starts[t]:starts[t + 1]]] for t in range(len(design.placement))],
                "design": design.as_dict(), "alleviation_steps": list(done.steps) if done is not None else [],
                "period_ns": res.period_ns, "throughput_per_s": res.throughput_per_s, "latency_ns": res.latency_ns,
                "bottleneck": res.bottleneck, "bottleneck_kind": res.bottleneck_kind,
                "link_load_bytes": res.link_load_bytes, "engine_ns": res.engine_ns}

    def describe(self, cands: Any, i: int) -> dict[str, Any]:
        cands = self.as_pairs(cands)
        arch, hw = cands.arch[i], cands.hw[i]
        index = self.arch_index(arch)
        return {"arch": str(self.cell(arch)), "arch_index": index, "arch_choices": [int(v) for v in arch],
                "hw": [int(v) for v in hw], "accuracy": float(self.accuracy[index]),
                "accuracy_source": self.accuracy_source, **self.hardware_record(arch, hw)}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_profiles"], state["_nocs"], state["_best"], state["_systems"] = {}, {}, {}, {}
        return state
