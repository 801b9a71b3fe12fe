"""Timeloop's own YAML files -> :class:`TimeloopCase` (:func:`load_timeloop_yaml`).

Reads the raw files (keeping timeloopfe's ``!Container``/``!Component`` tags), merges
their top-level keys, finds a missing ERT or mapper ``*.map.yaml`` next to them, and
hands the problem, architecture and mapping to the shared converters. Only this module
knows about files and YAML; the converters work on parsed data.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from coexplore.errors import InteropError, SpecError
from coexplore.interop.timeloop._arch import (
    _STORAGE_WORDS,
    _accelerator,
    _attr,
    _Comp,
    _ert_tables,
    _flatten_nodes,
    _flatten_tree,
    _split_range,
    _yaml_level,
)
from coexplore.interop.timeloop._case import TimeloopCase
from coexplore.interop.timeloop._mapping import _BYPASS_TYPES, _build_mapping, _yaml_plans
from coexplore.interop.timeloop._problem import _analyse, _positive_int, _Problem, _problem
from coexplore.spec.hardware import MacUnit

log = logging.getLogger("coexplore.interop.timeloop")  # the package logger, one for all its modules

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TaggedLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A safe loader that keeps timeloopfe's ``!Container``/``!Component`` tags as ``_tag``."""


def _tagged(loader: Any, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return {**loader.construct_mapping(node, deep=True), "_tag": suffix}
    if isinstance(node, yaml.SequenceNode):
        return {"_tag": suffix, "nodes": loader.construct_sequence(node, deep=True)}
    return {"_tag": suffix, "value": loader.construct_scalar(node)}


_TaggedLoader.add_multi_constructor("!", _tagged)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(path.read_text(), Loader=_TaggedLoader)  # a SafeLoader subclass
    except yaml.YAMLError as e:
        raise InteropError(f"{path}: malformed YAML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InteropError(f"{path}: cannot be read: {e}") from None
    if not isinstance(doc, dict):
        raise InteropError(f"{path}: must hold a YAML mapping at the top level, got {type(doc).__name__}")
    return doc


def _yaml_problem(raw: object, where: str) -> _Problem:
    if not isinstance(raw, dict):
        raise InteropError(f"{where}: problem: must be a mapping, got {raw!r}")
    shape = raw.get("shape")
    if not isinstance(shape, dict):
        raise InteropError(f"{where}: problem.shape: must be an inline mapping (dimensions, data_spaces), "
                           f"got {shape!r}")
    inst = raw.get("instance")
    if not isinstance(inst, dict):
        inst = {k: v for k, v in raw.items() if k not in ("shape", "version")}
    coefs: dict[str, int] = {}
    raw_c = shape.get("coefficients") or []
    items = (raw_c.items() if isinstance(raw_c, dict)
             else [(c.get("name"), c.get("default", 1)) for c in raw_c])
    problems: list[str] = []
    for name, default in items:
        value = inst.get(name, default)
        coefs[str(name)] = _positive_int(value, f"{where}: problem coefficient {name}", problems)
    if problems:
        raise InteropError(problems)
    return _problem(str(shape.get("name", "layer")), shape.get("dimensions"), inst, coefs,
                    shape.get("data_spaces"), where)


def _discover(doc: dict[str, Any], files: list[Path], key: str, pattern: str) -> None:
    """Fill a missing top-level ``key`` from the one ``pattern`` file next to the given files."""
    if doc.get(key):
        return
    found = sorted({f for d in dict.fromkeys(p.parent for p in files) for f in d.glob(pattern)} - set(files))
    if len(found) > 1:
        raise InteropError(
            f"{key}: several candidates {[str(f) for f in found]} next to the inputs; pass one of them"
        )
    if found:
        extra = _read_yaml(found[0])
        if extra.get(key):
            log.info("Timeloop import: %s taken from %s", key, found[0])
            doc[key] = extra[key]


def load_timeloop_yaml(*paths: str | Path) -> TimeloopCase:
    """Load Timeloop's own YAML: one ``parsed-processed-input.yaml``, or separate files.

    Separate files are Timeloop v0.4 problem / architecture (timeloopfe ``nodes`` with
    ``!Container``/``!Component``, or a ``subtree``/``local`` tree) / mapping files, plus
    optional constraints and ``*.ERT.yaml`` files; their top-level keys are merged. An ERT
    (or a mapper's ``*.map.yaml`` when the mapping is empty, as in a ``timeloop-mapper``
    run) found next to the given files is used when none is given. Without energies,
    every energy is 0 and a warning is logged.

    Raises:
        InteropError: a file is missing or malformed, two files disagree, or the problem,
            architecture or mapping cannot be expressed in coexplore.
    """
    if not paths:
        raise InteropError("load_timeloop_yaml: at least one YAML file is required, got none")
    files = [Path(p) for p in paths]
    try:
        return _load_yaml(files)
    except SpecError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        names = ", ".join(str(f) for f in files)
        raise InteropError(f"{names}: malformed Timeloop input ({type(e).__name__}: {e})") from e


def _load_yaml(files: list[Path]) -> TimeloopCase:
    missing = [f"{f}: file not found" for f in files if not f.is_file()]
    if missing:
        raise InteropError(missing)
    doc: dict[str, Any] = {}
    src: dict[str, Path] = {}
    for f in files:
        for k, v in _read_yaml(f).items():
            if k in doc and doc[k] and v and doc[k] != v:
                raise InteropError(f"{f}: top-level {k!r} is also given, differently, in {src[k]}")
            if v or k not in doc:
                doc[k], src[k] = v, f
    _discover(doc, files, "ERT", "*.ERT.yaml")
    _discover(doc, files, "mapping", "*.map.yaml")
    first = files[0].resolve().parent
    case_id = first.parent.name if first.name == "inputs" else first.name
    where = ", ".join(f.name for f in files)
    need = [f"{where}: top-level {k!r}: missing" for k in ("problem", "architecture", "mapping")
            if not doc.get(k)]
    if not doc.get("mapping"):
        need[-1] += " (for a timeloop-mapper run, also pass the mapper's *.map.yaml)"
    if need:
        raise InteropError(need)
    pb = _yaml_problem(doc["problem"], where)
    an = _analyse(pb, where)

    arch = doc["architecture"]
    comps: list[_Comp] = []
    glob: dict[str, Any] = {}
    if isinstance(arch, dict) and isinstance(arch.get("nodes"), list):
        _flatten_nodes(arch["nodes"], 1, 1, comps, glob, f"{where}: architecture.nodes")
    elif isinstance(arch, dict) and ("subtree" in arch or "local" in arch):
        _flatten_tree(arch, 1, comps, glob, f"{where}: architecture")
    else:
        raise InteropError(f"{where}: architecture: expected timeloopfe 'nodes' or a 'subtree'/'local' tree, "
                           f"got keys {sorted(arch) if isinstance(arch, dict) else arch!r}")
    if len(comps) < 2 or any(w in comps[-1].cls.lower() for w in _STORAGE_WORDS):
        raise InteropError(f"{where}: architecture: needs storage levels above a compute unit as its "
                           f"innermost component, got {[(c.name, c.cls) for c in comps]}")
    compute, storage = comps[-1], comps[-2::-1]
    cons: dict[str, tuple[set[str], set[str]]] = {}
    for key in ("architecture_constraints", "mapspace_constraints"):
        block = doc.get(key) or []
        for t in block.get("targets") or [] if isinstance(block, dict) else block:
            if isinstance(t, dict) and str(t.get("type", "")).lower() in _BYPASS_TYPES:
                keep_s, bypass_s = cons.setdefault(_split_range(str(t.get("target")))[0], (set(), set()))
                keep_s.update(t.get("keep") or ())
                bypass_s.update(t.get("bypass") or ())
    unknown = sorted(set(cons) - {c.name for c in storage} - {a for c in storage for a in c.aliases})
    if unknown:
        raise InteropError(f"{where}: constraints: unknown target level(s) {unknown}, "
                           f"levels: {[c.name for c in storage]}")
    ert = _ert_tables(doc.get("ERT"))
    levels, missing_e = [], []
    for i, c in enumerate(storage):
        energies = ert.get(c.name) or c.actions
        if not energies and not c.dummy:
            missing_e.append(f"level {c.name!r}")
        con = c.constraint
        if c.name in cons:  # constraints written on the component and in a constraints block add up
            keep0, bypass0 = con or (set(), set())
            con = (keep0 | cons[c.name][0], bypass0 | cons[c.name][1])
        levels.append(_yaml_level(c, energies, con, an, f"{where}: architecture level [{i}] {c.name!r}"))
    e_mac = (ert.get(compute.name) or compute.actions or {}).get("compute")
    if e_mac is None:
        missing_e.append("the MAC")
    a = compute.attrs
    try:
        mac = MacUnit(name=compute.name, instances=compute.instances, mesh_x=compute.mesh[0],
                      mesh_y=compute.mesh[1], bits=int(_attr(a, "width", "datawidth") or 8),
                      energy_pj=None if e_mac is None else float(e_mac), area_mm2=0.0)
    except SpecError as e:
        raise InteropError([f"{where}: architecture compute {compute.name!r}: {x}"
                            for x in e.problems]) from None
    acc = _accelerator(case_id, levels, mac, glob.get("global_cycle_seconds"), glob.get("technology"),
                       missing_e, where)
    plans = _yaml_plans(doc["mapping"], storage, pb, where)
    return TimeloopCase(
        case_id=case_id, layer=an.layer, accelerator=acc, mapping=_build_mapping(plans, acc, an, pb, where),
        dataspace_names=an.ds_names,
        storage_levels=tuple(lv.name for lv in acc.levels if not lv.is_container), reference=None,
    )
