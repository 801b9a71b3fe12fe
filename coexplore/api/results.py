"""Typed results of the API functions that have no result class in a lower layer.

Each has ``to_record()``: the one JSON shape of its kind, which the CLI's ``--json`` prints
unchanged (DESIGN.md lists the stable keys). Map, accelerator-search and predictor results
are the lower layers' own classes (:class:`~coexplore.mapper.results.NetworkMapResult`,
:class:`~coexplore.hwsearch.search.HwSearchResult`,
:class:`~coexplore.hwsearch.board_search.FpgaSearchResult`,
:class:`~coexplore.hwsearch.precision.PrecisionSearchResult`), which have ``to_record()`` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coexplore.cost.results import CostBreakdown, NetworkCost
from coexplore.spec.dims import DATASPACES

if TYPE_CHECKING:  # the network-search modules load on first use
    from coexplore.nas.search import NasResult
    from coexplore.nas.space import ArchSpace

__all__ = ["CodesignResult", "CostBenchmark", "NasSearchResult", "NetworkEvaluation", "TimeloopCaseResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkEvaluation(NetworkCost):
    """A :class:`NetworkCost` with what its record needs: the accelerator's level names
    (innermost first, labelling the mappings' levels) and the wall time of the evaluation."""

    seconds: float
    level_names: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """The JSON record of ``coexplore evaluate --json``: network totals and per-layer costs."""
        names = list(self.level_names) or None
        layers = [{
            "name": lc.layer, "macs": lc.macs, "energy_pj": lc.energy_pj, "latency_cycles": lc.latency_cycles,
            "edp": lc.edp, "utilization": lc.utilization,
            "energy_by_level_pj": {lv.name: lv.energy_pj for lv in lc.levels},
            "mapping": m.to_dict(names) if hasattr(m, "to_dict") else m,
        } for lc, m in zip(self.layers, self.mappings, strict=True)]
        out = {"network": self.network, "accelerator": self.accelerator, "energy_pj": self.energy_pj,
               "latency_cycles": self.latency_cycles, "edp": self.edp, "area_mm2": self.area_mm2,
               "macs": self.macs, "seconds": self.seconds, "layers": layers}
        if self.vector_ops:
            out["vector_ops"] = [{"name": v.name, "kind": v.kind, "elements": v.elements, "energy_pj": v.energy_pj,
                                  "latency_cycles": v.latency_cycles} for v in self.vector_ops]
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class CostBenchmark:
    """Batch throughput of the cost model on ``mappings`` random legal mappings of one layer.

    ``seconds`` is the best of the timed repeats without per-level counts,
    ``seconds_with_counts`` with them; sampling the mappings is timed apart.
    """

    layer: str
    accelerator: str
    mappings: int
    seconds: float
    seconds_with_counts: float
    sampling_seconds: float

    @property
    def mappings_per_s(self) -> float:
        return self.mappings / self.seconds

    @property
    def mappings_per_s_with_counts(self) -> float:
        return self.mappings / self.seconds_with_counts

    def to_record(self) -> dict[str, Any]:
        """The JSON record of ``coexplore bench cost --json``."""
        return {"mappings_per_s": self.mappings_per_s, "mappings": self.mappings, "seconds": self.seconds,
                "mappings_per_s_with_counts": self.mappings_per_s_with_counts,
                "sampling_seconds": self.sampling_seconds, "layer": self.layer, "accelerator": self.accelerator}


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeloopCaseResult:
    """The cost of a Timeloop case, reported under the case's own level and dataspace names.

    ``storage_levels``: the case's storage levels (the rest of ``cost.levels`` are not
    reported); ``dataspace_names``: coexplore's dataspace name -> the case's.
    """

    cost: CostBreakdown
    storage_levels: tuple[str, ...]
    dataspace_names: Mapping[str, str]
    reference: Mapping[str, Any] | None = None

    @property
    def cycles(self) -> int:
        return self.cost.latency_cycles

    @property
    def energy_pj(self) -> float:
        return self.cost.energy_pj

    def levels(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per storage level and dataspace: Timeloop's per-instance counts and the total energy."""
        return {
            lc.name: {
                self.dataspace_names[ds]: {
                    "reads_per_instance": c.reads, "fills_per_instance": c.fills,
                    "updates_per_instance": c.updates, "utilized_instances": c.utilized_instances,
                    "energy_pj": c.energy_pj,
                }
                for ds, c in lc.dataspaces.items() if ds in DATASPACES
            }
            for lc in self.cost.levels if lc.name in self.storage_levels
        }

    def differences(self, rel: float = 1e-6) -> list[dict[str, Any]] | None:
        """Where this result and the case's Timeloop reference differ: cycles, total energy (relative
        tolerance ``rel``: the reference prints energies rounded) and every per-instance count of every
        level and dataspace (exactly). None when the case carries no reference (a YAML import)."""
        ref = self.reference
        if not ref:
            return None
        out: list[dict[str, Any]] = []
        summary = ref.get("summary", {})
        for what, ours, theirs, tol in (
                ("cycles", self.cost.latency_cycles, summary.get("cycles"), 0.0),
                ("energy_pj", self.cost.energy_pj, summary.get("total_energy_pJ_full_precision"), rel)):
            if theirs is not None and abs(ours - theirs) > tol * abs(theirs):
                out.append({"what": what, "coexplore": ours, "timeloop": theirs})
        ours_levels = self.levels()
        for lv in ref.get("levels_inner_to_outer", []):
            for ds, counts in lv.get("dataspaces", {}).items():
                mine = ours_levels.get(lv["name"], {}).get(ds)
                for key in ("reads_per_instance", "fills_per_instance", "updates_per_instance"):
                    theirs = counts.get(key)
                    got = None if mine is None else mine[key]
                    if theirs is not None and got != theirs:
                        out.append({"what": f"{lv['name']}.{ds}.{key}", "coexplore": got, "timeloop": theirs})
        return out

    def to_record(self) -> dict[str, Any]:
        """The JSON record of ``coexplore timeloop-case --json``, exactly the shape DESIGN.md promises
        (outside checks compare its keys); :meth:`differences` is reported beside it, not inside."""
        return {"cycles": self.cost.latency_cycles, "energy_pj": self.cost.energy_pj, "macs": self.cost.macs,
                "utilization": self.cost.utilization, "levels": self.levels()}


@dataclass(frozen=True, slots=True, kw_only=True)
class NasSearchResult:
    """A network search's :class:`NasResult` with the space that formats its networks and the
    names of the accuracy and latency sources (``latency_source`` ``None``: no latency)."""

    result: NasResult
    space: ArchSpace[Any]
    accuracy_source: str
    latency_source: str | None

    @property
    def best(self) -> Any:
        return self.result.best

    @property
    def best_accuracy(self) -> float:
        return self.result.best_accuracy

    @property
    def best_arch(self) -> str:
        """The best network in the space's own notation."""
        return self.space.format(self.result.best)

    def to_record(self) -> dict[str, Any]:
        """The JSON record of ``coexplore nas --json``."""
        return {**self.result.to_dict(self.space), "accuracy_source": self.accuracy_source,
                "latency_source": self.latency_source}


@dataclass(frozen=True, slots=True, kw_only=True)
class CodesignResult:
    """A codesign study's summary: the front it found and the fixed-reference hypervolume.

    ``front`` entries are DESIGN.md's (``arch_index``, ``arch``, ``accelerator``, ``accuracy``,
    ``latency_cycles``, ``energy_pj``, ``area_mm2``, ``edp``; ``None`` where the space has no such
    cost). ``details`` holds the space's and strategy's own keys (``hypervolume_fraction``,
    ``pruning``, ``search``, ``estimator``, ...; see :func:`coexplore.study.codesign.summarize`).
    ``report`` is the HTML report written, if any; ``report_skipped`` says why a default report
    was not written (a missing optional dependency).
    """

    study: str
    storage: str
    strategy: str
    pairs_evaluated: int
    seconds: float
    hypervolume: float
    front: tuple[dict[str, Any], ...]
    details: Mapping[str, Any]
    report: str | None = None
    report_skipped: str | None = None

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any], *, report: str | None = None,
                     report_skipped: str | None = None) -> CodesignResult:
        own = {"study", "storage", "strategy", "pairs_evaluated", "seconds", "hypervolume", "front"}
        return cls(study=summary["study"], storage=summary["storage"], strategy=summary["strategy"],
                   pairs_evaluated=summary["pairs_evaluated"], seconds=summary["seconds"],
                   hypervolume=summary["hypervolume"], front=tuple(summary["front"]),
                   details={k: v for k, v in summary.items() if k not in own}, report=report,
                   report_skipped=report_skipped)

    def to_record(self) -> dict[str, Any]:
        """The JSON record of ``coexplore codesign --json`` (DESIGN.md)."""
        return {"study": self.study, "storage": self.storage, "strategy": self.strategy,
                "pairs_evaluated": self.pairs_evaluated, "seconds": self.seconds, "hypervolume": self.hypervolume,
                "front": list(self.front), **self.details, "report": self.report}
