"""The best designs in detail: the accelerator each runs on and its per-layer, per-level energy.

A trial stores only its objective values; to show *where* the energy goes, each detailed
design's networks are mapped again, one search per distinct layer shape with the default
mapper (:func:`coexplore.mapper.network.map_layer`, what :func:`~coexplore.mapper.network.map_network`
runs per shape) and the study's seed. Results are cached by (shape, accelerator,
objective) across designs: NAS-Bench-201 cells share most of their shapes.

Per problem kind:

* ``nas``: the cell's network (built by the study's own space) on the config's
  accelerator, mapped for EDP as the cost-model latency does, so the recomputed latency
  is the trial's. A study whose latency comes from a table names no accelerator: its
  designs carry a note instead of a breakdown.
* ``hwsearch``: the accelerator decoded from the trial's vector ``x`` and every network of
  the config, mapped for the study's layer objective. The search mapped layers with a
  cheaper mapper, so the recomputed totals may differ from (usually beat) the trial's.
* ``codesign``: a grid pair's accelerator (rebuilt from its grid index) and its cell, mapped
  for EDP; an FPGA pair gets a note (the tiling model has no per-level energies).
* ``mapping``: one design, the whole network on the accelerator; the breakdown uses the
  default mapper whatever mapper the study used (the note says when they differ).

Failures (an unmappable layer, an infeasible design) become the design's ``note``: a
report never crashes on one bad design.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import CoexploreError
from coexplore.mapper.network import map_layer
from coexplore.search.trial import Trial, TrialState
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Network

__all__ = ["DESIGNERS", "MAC_COLUMN", "DesignReport", "Designer", "LayerEnergy", "NetworkEnergy", "best_designs",
           "designer"]

MAC_COLUMN = "MAC"
"""The energy column of the multiply-accumulates (after the memory levels)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerEnergy:
    """One layer's mapped cost; ``energy_pj`` per column of its :class:`NetworkEnergy`."""

    name: str
    shape: str
    macs: int
    latency_cycles: int
    utilization: float
    energy_pj: tuple[float, ...]

    @property
    def total_pj(self) -> float:
        return float(sum(self.energy_pj))


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkEnergy:
    """A network's energy per layer and per level; ``columns`` are the memory levels outermost
    first (DRAM down to the register files) and then :data:`MAC_COLUMN`."""

    network: str
    columns: tuple[str, ...]
    layers: tuple[LayerEnergy, ...]
    mapper: str
    objective: str

    @property
    def energy_pj(self) -> float:
        return float(sum(x.total_pj for x in self.layers))

    @property
    def latency_cycles(self) -> int:
        return sum(x.latency_cycles for x in self.layers)

    @property
    def column_totals_pj(self) -> tuple[float, ...]:
        return tuple(float(sum(x.energy_pj[j] for x in self.layers)) for j in range(len(self.columns)))


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignReport:
    """One detailed design: the trial it comes from (``None`` for a mapping study's network),
    its parameters and stored values, its accelerator and networks' breakdowns, and a note
    saying what could not be computed (or how the numbers were obtained)."""

    label: str
    trial: int | None
    params: dict[str, Any]
    values: tuple[float, ...]
    accelerator: Accelerator | None
    networks: tuple[NetworkEnergy, ...] = ()
    note: str = ""
    system_svg: str = ""  # a system of engines and links (NANDS), drawn by :mod:`coexplore.report.noc_svg`


class _Mapper:
    """Maps networks with the default mapper, caching each (shape, accelerator, objective)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._cache: dict[tuple[Any, ...], Any] = {}

    def network(self, network: Network, accelerator: Accelerator, objective: str) -> NetworkEnergy:
        columns = (*(lv.name for lv in reversed(accelerator.levels)), MAC_COLUMN)
        rows = []
        for layer in network.layers:
            key = (layer.shape_key(), accelerator, objective)
            if key not in self._cache:
                self._cache[key] = map_layer(layer, accelerator, mapper="default", objective=objective,
                                             seed=self.seed).cost
            cost = self._cache[key]
            by_level = {lv.name: lv.energy_pj for lv in cost.levels}
            rows.append(LayerEnergy(name=layer.name, shape=layer.spec_string(), macs=layer.macs,
                                    latency_cycles=int(cost.latency_cycles), utilization=float(cost.utilization),
                                    energy_pj=(*(float(by_level.get(c, 0.0)) for c in columns[:-1]),
                                               float(cost.mac_energy_pj))))
        return NetworkEnergy(network=network.name, columns=columns, layers=tuple(rows), mapper="default",
                             objective=objective)


@dataclass(frozen=True, slots=True)
class Designer:
    """How the report details the best trials of one problem kind.

    ``detail(config, trials, mapper, objectives, any_complete)`` returns their design reports;
    ``what`` says what they are in the report's text ("" : the best trials / spread along the front).
    """

    detail: Callable[[Any, Sequence[Trial], _Mapper, tuple[str, ...], bool], tuple[DesignReport, ...]]
    what: str = ""


#: Problem kind -> its designer; a kind registered nowhere here gets no detailed designs (the report says so).
DESIGNERS: dict[str, Designer] = {}


def designer(kind: str) -> Designer | None:
    """The designer of problem kind ``kind``, if it has one."""
    return DESIGNERS.get(kind)


def best_designs(config: dict[str, Any], kind: str, trials: Sequence[Trial], numbers: Sequence[int],
                 objectives: Sequence[str]) -> tuple[DesignReport, ...]:
    """The detailed designs of trials ``numbers`` (a mapping study: its network, once any trial completed);
    none for a kind without a :data:`DESIGNERS` entry.

    Raises:
        SpecError: the stored config is no longer valid (a design's own failures become notes).
    """
    from coexplore.study.config import StudyConfig

    d = designer(kind)
    if d is None:
        return ()
    cfg = StudyConfig.from_dict(config, source="study config")
    by_number = {t.number: t for t in trials}
    picked = [by_number[n] for n in numbers if n in by_number]
    return d.detail(cfg, picked, _Mapper(cfg.seed), tuple(objectives),
                    any(t.state is TrialState.COMPLETE for t in trials))


def _codesign_designs(p: dict[str, Any], trials: Sequence[Trial], mapper: _Mapper) -> tuple[DesignReport, ...]:
    """A grid pair: its accelerator rebuilt from the grid index, its cell mapped for EDP with the default mapper."""
    out = []
    grid = None
    if p.get("space", "nb201") == "nb201":
        from coexplore.joint.space import grid_for
        from coexplore.nas.nb201 import NB201Space

        grid, space = grid_for(p.get("accelerators", "eyeriss")), NB201Space(dataset=p.get("dataset", "cifar100"))
    for t in trials:
        acc: Accelerator | None = None
        nets: tuple[NetworkEnergy, ...] = ()
        if grid is None and p.get("space") == "chain-quant":
            note = ("QuanNAS: one LUT-based engine per layer (FINN-R's estimate): the formats, each engine's PE, "
                    "SIMD, LUTs and cycles, frames/s and parameter kbits are in the parameters; no energy model")
        elif grid is None:
            note = "an FPGA tiling (analytical model): no per-level energy breakdown"
        else:
            try:
                acc = grid.build(grid.designs()[int(t.params["design"])])
                net = space.to_network(space.cell(int(t.params["arch_index"])))
                if t.params.get("precision"):  # the pair's precision: its layers quantized as the cost table's
                    from coexplore.hwsearch.precision import parse_precisions, quantize

                    net = quantize(net, parse_precisions(str(t.params["precision"]))[0])
                nets = (mapper.network(net, acc, "edp"),)
                note = ("per-layer costs: default mapper, mapped for EDP (the search priced pairs from the cost "
                        "table's cheaper mapper, so these totals may differ from the trial's values)")
            except (CoexploreError, KeyError, IndexError) as e:
                note = f"no breakdown: {e}"
        out.append(DesignReport(label=f"trial {t.number}", trial=t.number, params=dict(t.params), values=t.values,
                                accelerator=acc, networks=nets, note=note))
    return tuple(out)


def _noc_designs(cfg: Any, trials: Sequence[Trial]) -> tuple[DesignReport, ...]:
    """A NANDS pair: its NoC design rebuilt from the stored decisions and drawn (engines, links by load, the
    bottleneck); the per-block compute times come from the cost model as the search priced them."""
    from coexplore.report.noc_svg import noc_svg
    from coexplore.study.kinds import KINDS

    out = []
    problem = KINDS.get("codesign").build(cfg, progress=False)
    for t in trials:
        svg, note = "", "the NoC design as the search priced it (stage times from the cost model per block)"
        try:
            ev = problem.system_evaluation(np.asarray(t.params["arch_choices"]), np.asarray(t.params["hw"]))
            svg = noc_svg(ev, element_id=f"noc-{t.number}")
        except (CoexploreError, KeyError, IndexError) as e:
            note = f"no picture: {e}"
        out.append(DesignReport(label=f"trial {t.number}", trial=t.number, params=dict(t.params), values=t.values,
                                accelerator=None, note=note, system_svg=svg))
    return tuple(out)


def _nas_designs(p: dict[str, Any], trials: Sequence[Trial], mapper: _Mapper) -> tuple[DesignReport, ...]:
    from coexplore.nas.build import build_space
    from coexplore.resolve import resolve_accelerator

    space = build_space(p.get("space", "nb201"), p.get("dataset"))
    acc = resolve_accelerator(p["accelerator"]) if p.get("accelerator") else None
    out = []
    for t in trials:
        nets: tuple[NetworkEnergy, ...] = ()
        note = ""
        if acc is None:
            note = (f"the study's config names no accelerator (latency: {p.get('latency', 'table')}), "
                    "so there is no energy breakdown")
        else:
            try:
                nets = (mapper.network(space.to_network(space.parse(str(t.params["arch"]))), acc, "edp"),)
                note = f"per-layer costs: default mapper on {acc.name}, mapped for EDP (as the cost-model latency)"
            except (CoexploreError, KeyError) as e:
                note = f"no breakdown: {e}"
        out.append(DesignReport(label=f"trial {t.number}", trial=t.number, params=dict(t.params), values=t.values,
                                accelerator=acc, networks=nets, note=note))
    return tuple(out)


def _hw_designs(cfg: Any, trials: Sequence[Trial], mapper: _Mapper) -> tuple[DesignReport, ...]:
    from coexplore.study.problems import build_problem

    problem = build_problem(cfg)
    out = []
    try:
        for t in trials:
            acc: Accelerator | None = None
            nets: tuple[NetworkEnergy, ...] = ()
            try:
                design = problem.space.decode(np.asarray(t.params["x"], dtype=np.float64))
                acc = problem.space.build(design, name=f"{problem.space.template.name}-trial-{t.number}")
                nets = tuple(mapper.network(n, acc, problem.layer_objective) for n in problem.networks)
                note = (f"per-layer costs: default mapper, mapped for {problem.layer_objective} (the search used a "
                        "cheaper mapper, so these totals may differ from the trial's values)")
            except (CoexploreError, KeyError) as e:
                note = f"no breakdown: {e}"
            params = {k: v for k, v in t.params.items() if k != "x"}
            out.append(DesignReport(label=f"trial {t.number}", trial=t.number, params=params, values=t.values,
                                    accelerator=acc, networks=nets, note=note))
    finally:
        problem.close()
    return tuple(out)


def _mapping_design(p: dict[str, Any], objectives: tuple[str, ...], mapper: _Mapper) -> DesignReport:
    from coexplore.resolve import resolve_accelerator, resolve_network

    used = p.get("mapper", "default")
    params = {"network": p["network"], "accelerator": p["accelerator"], "mapper": used}
    acc = None
    try:
        acc = resolve_accelerator(p["accelerator"])
        net = mapper.network(resolve_network(p["network"]), acc, objectives[0])
    except CoexploreError as e:
        return DesignReport(label=f"{p['network']} on {p['accelerator']}", trial=None, params=params, values=(),
                            accelerator=acc, note=f"no breakdown: {e}")
    metrics = {"energy": net.energy_pj, "latency": float(net.latency_cycles),
               "edp": net.energy_pj * net.latency_cycles}
    note = f"whole network, default mapper, mapped for {objectives[0]}"
    if used != "default":
        note += f" (the study mapped with {used!r}; its per-shape values are in the layer table)"
    return DesignReport(label=f"{net.network} on {acc.name}", trial=None, params=params,
                        values=tuple(metrics[o] for o in objectives), accelerator=acc, networks=(net,), note=note)


DESIGNERS.update({
    "mapping": Designer(lambda cfg, trials, mapper, objectives, complete: (
        (_mapping_design(cfg.problem, objectives, mapper),) if complete else ()), what="the mapped network"),
    "hwsearch": Designer(lambda cfg, trials, mapper, objectives, complete: _hw_designs(cfg, trials, mapper)),
    "codesign": Designer(lambda cfg, trials, mapper, objectives, complete: (
        _noc_designs(cfg, trials) if cfg.problem.get("space") == "nb201-noc"
        else _codesign_designs(cfg.problem, trials, mapper))),
    "nas": Designer(lambda cfg, trials, mapper, objectives, complete: _nas_designs(cfg.problem, trials, mapper)),
})
