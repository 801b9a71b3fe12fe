"""The reference-case JSON loader (:func:`load_case`) and :class:`TimeloopCase`, its result.

A ``data/timeloop_reference/<case>.json`` already holds Timeloop's problem, flattened
architecture and mapping; this module checks its schema and feeds it to the same
converters as the YAML loader, so both give equal objects. :class:`TimeloopCase` lives
here because it is this loader's result; the YAML loader returns one too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coexplore.errors import InteropError, SpecError
from coexplore.interop.timeloop._arch import _accelerator, _memory_level
from coexplore.interop.timeloop._mapping import _build_mapping, _Plan
from coexplore.interop.timeloop._problem import _analyse, _positive_int, _Problem, _problem
from coexplore.mapping.mapping import Mapping
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel
from coexplore.spec.workload import Layer


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeloopCase:
    """One Timeloop evaluation: what runs, on what, how, and (for reference cases) the result.

    Attributes:
        case_id: The case's id (JSON) or the name of the directory holding the YAML files.
        layer: The problem as a coexplore layer.
        accelerator: Every Timeloop storage level (spatial dummies included), innermost first.
        mapping: One level mapping per accelerator level.
        dataspace_names: coexplore dataspace name -> the case's name ("weights" -> "Weights").
        storage_levels: Names of the non-dummy levels, innermost first (as in ``reference``).
        reference: The case's ``reference`` block, or None for YAML imports.
    """

    case_id: str
    layer: Layer
    accelerator: Accelerator
    mapping: Mapping
    dataspace_names: dict[str, str]
    storage_levels: tuple[str, ...]
    reference: dict[str, Any] | None


def _require(d: object, keys: Iterable[str], path: str) -> None:
    missing = [k for k in keys if not isinstance(d, dict) or k not in d]
    if missing:
        raise InteropError([f"{path}.{k}: missing" for k in missing])


def load_case(path: str | Path) -> TimeloopCase:
    """Load one ``<case>.json`` of ``data/timeloop_reference`` (schema version 1).

    Raises:
        InteropError: the file is missing or malformed, or its problem, architecture or
            mapping cannot be expressed in coexplore (every problem is listed).
    """
    p = Path(path)
    try:
        return _load_case(p)
    except SpecError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise InteropError(f"{p}: malformed Timeloop case ({type(e).__name__}: {e})") from e


def _load_case(p: Path) -> TimeloopCase:
    where = p.name
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise InteropError(f"{p}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InteropError(f"{p}: not a readable JSON case file: {e}") from None
    _require(data, ("case_id", "problem", "architecture", "mapping"), where)
    problems: list[str] = []
    prob, arch = data["problem"], data["architecture"]
    _require(prob, ("dimensions", "bounds", "data_spaces"), f"{where}: problem")
    _require(arch, ("levels_inner_to_outer", "compute"), f"{where}: architecture")
    coefs = {str(k): _positive_int(v, f"{where}: problem.coefficients.{k}", problems)
             for k, v in (prob.get("coefficients") or {}).items()}
    if problems:
        raise InteropError(problems)
    pb = _problem(str(prob.get("shape_name", "layer")), prob["dimensions"], prob["bounds"], coefs,
                  prob["data_spaces"], where)
    an = _analyse(pb, where)

    levels: list[MemoryLevel] = []
    missing: list[str] = []
    for i, lv in enumerate(arch["levels_inner_to_outer"]):
        lp = f"{where}: architecture.levels_inner_to_outer[{i}]"
        dummy = bool(lv.get("is_spatial_dummy"))
        _require(lv, ("name", "instances", "meshX", "meshY"), lp)
        if not dummy:
            _require(lv, ("word_bits", "block_size_words"), lp)
        cons = lv.get("dataspace_constraint")
        ert = lv.get("ert_pJ")
        if not dummy and not ert:
            missing.append(f"level {lv['name']!r}")
        size = lv.get("size_words")
        try:
            levels.append(_memory_level(
                name=lv["name"], cls=str(lv.get("class", "")), dummy=dummy,
                size_words=None if size is None else int(size), word_bits=int(lv.get("word_bits", 8)),
                block=int(lv.get("block_size_words", 1)), cluster=int(lv.get("cluster_size") or 1),
                instances=int(lv["instances"]),
                mesh=(int(lv["meshX"]), int(lv["meshY"])),
                bandwidth=(lv.get("read_bandwidth_words_per_cycle"),
                           lv.get("write_bandwidth_words_per_cycle"),
                           lv.get("shared_bandwidth_words_per_cycle")),
                ert=ert,
                constraint=None if not cons else (set(cons.get("keep") or ()), set(cons.get("bypass") or ())),
                reduction=bool((lv.get("attributes") or {}).get("reduction_supported", True)),
                ds_of=an.ds_of, path=lp,
            ))
        except SpecError as e:
            problems += [f"{lp}: {x}" for x in e.problems]
        except (TypeError, ValueError) as e:
            problems.append(f"{lp}: malformed value ({e})")
    comp = arch["compute"]
    _require(comp, ("name", "instances", "meshX", "meshY"), f"{where}: architecture.compute")
    ert_c = comp.get("ert_pJ") or {}
    if "compute" not in ert_c:
        missing.append("the MAC")
    attrs = comp.get("attributes") or {}
    try:
        mac = MacUnit(name=comp["name"], instances=int(comp["instances"]), mesh_x=int(comp["meshX"]),
                      mesh_y=int(comp["meshY"]), bits=int(attrs.get("width", attrs.get("datawidth", 8))),
                      energy_pj=None if ert_c.get("compute") is None else float(ert_c["compute"]),
                      area_mm2=0.0)
    except SpecError as e:
        problems += [f"{where}: architecture.compute: {x}" for x in e.problems]
    except (TypeError, ValueError) as e:
        problems.append(f"{where}: architecture.compute: malformed value ({e})")
    if problems:
        raise InteropError(problems)
    acc = _accelerator(str(data["case_id"]), levels, mac, arch.get("global_cycle_seconds"),
                       arch.get("technology"), missing, where)

    mlevels = data["mapping"].get("levels_inner_to_outer") if isinstance(data["mapping"], dict) else None
    if not isinstance(mlevels, list) or [m.get("name") for m in mlevels] != [lv.name for lv in acc.levels]:
        got = None if not isinstance(mlevels, list) else [m.get("name") for m in mlevels]
        raise InteropError(f"{where}: mapping.levels_inner_to_outer: must name the architecture's levels "
                           f"{[lv.name for lv in acc.levels]} in order, got {got}")
    plans = []
    for i, m in enumerate(mlevels):
        mp = f"{where}: mapping.levels_inner_to_outer[{i}]"
        _require(m, ("temporal_factors", "temporal_loops_outer_to_inner", "keep"), mp)
        _check_dims(m["temporal_factors"], pb, f"{mp}.temporal_factors", problems)
        plan = _Plan(temporal={d: int(f) for d, f in m["temporal_factors"].items()},
                     order=[x["dim"] for x in m["temporal_loops_outer_to_inner"]], keep=set(m["keep"]))
        for loop in m.get("spatial_loops_outer_to_inner") or []:
            axis = plan.spatial_x if str(loop.get("axis", "X")).upper() == "X" else plan.spatial_y
            axis[loop["dim"]] = axis.get(loop["dim"], 1) * int(loop["factor"])
        _check_dims(plan.spatial_x | plan.spatial_y, pb, f"{mp}.spatial_loops_outer_to_inner", problems)
        _check_dims(dict.fromkeys(plan.order, 1), pb, f"{mp}.temporal_loops_outer_to_inner", problems)
        plans.append(plan)
    if problems:
        raise InteropError(problems)
    return TimeloopCase(
        case_id=str(data["case_id"]), layer=an.layer, accelerator=acc,
        mapping=_build_mapping(plans, acc, an, pb, where), dataspace_names=an.ds_names,
        storage_levels=tuple(lv.name for lv in acc.levels if not lv.is_container),
        reference=data.get("reference"),
    )


def _check_dims(factors: dict[str, Any], pb: _Problem, path: str, problems: list[str]) -> None:
    unknown = sorted(set(factors) - set(pb.dims))
    if unknown:
        problems.append(f"{path}: unknown dimension(s) {unknown}, the problem has {list(pb.dims)}")
    for d, f in factors.items():
        _positive_int(f, f"{path}.{d}", problems)
