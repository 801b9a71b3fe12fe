"""Timeloop architectures -> coexplore :class:`~coexplore.spec.hardware.Accelerator`.

Both sources end in the same level builders (:func:`_memory_level`, :func:`_accelerator`),
so a reference case and the YAML it was made from give equal accelerators. The YAML side
flattens a timeloopfe v0.4 ``nodes`` list or a v0.3 ``subtree``/``local`` tree into a
linear list of components (:class:`_Comp`); Timeloop's spatial dummies
(``inter_<container>_spatial``) become container levels (``keeps`` empty). Energies
missing from the ERT are priced from coexplore's table for the architecture's
``technology`` (a logged warning says so); without such a table the import is refused,
naming the field. Areas are 0 (Timeloop's ART is not read).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from coexplore.errors import InteropError, SpecError
from coexplore.interop.timeloop._problem import _Analysis, _positive_int
from coexplore.spec.dims import DATASPACES
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel

log = logging.getLogger("coexplore.interop.timeloop")  # the package logger, one for all its modules

_STORAGE_WORDS = ("dram", "sram", "regfile", "smartbuffer", "storage", "buffet", "dummy")


def _tech_class(cls: str) -> str:
    c = cls.lower()
    if "dummy" in c:
        return "container"
    if "dram" in c:
        return "dram"
    return "regfile" if "regfile" in c or c.endswith("rf") or "register" in c else "sram"


def _memory_level(
    *, name: str, cls: str, dummy: bool, size_words: int | None, word_bits: int, block: int,
    cluster: int = 1, instances: int, mesh: tuple[int, int], bandwidth: tuple[float | None, float | None, float | None],
    ert: dict[str, float] | None, constraint: tuple[set[str], set[str]] | None, reduction: bool,
    ds_of: dict[str, str], path: str,
) -> MemoryLevel:
    common: dict[str, Any] = {
        "name": name, "instances": instances, "mesh_x": mesh[0], "mesh_y": mesh[1],
        "spatial_reduction": reduction,
    }
    if dummy:
        return MemoryLevel(size_words=0, keeps=frozenset(), technology_class="container", **common)
    keeps, must = set(DATASPACES), set()
    if constraint is not None:
        unknown = sorted((constraint[0] | constraint[1]) - set(ds_of))
        if unknown:
            raise InteropError(
                f"{path}: dataspace constraint names unknown dataspace(s) {unknown}, known: {sorted(ds_of)}"
            )
        must = {ds_of[n] for n in constraint[0]}
        keeps -= {ds_of[n] for n in constraint[1]} - must
    e = ert or {}

    def action(*names: str) -> float | None:
        return next((float(e[n]) for n in names if e.get(n) is not None), None)

    return MemoryLevel(
        size_words=size_words, word_bits=word_bits, block_size_words=block, cluster_size=cluster,
        keeps=frozenset(keeps),
        must_keep=frozenset(must), read_bandwidth_words_per_cycle=bandwidth[0],
        write_bandwidth_words_per_cycle=bandwidth[1], shared_bandwidth_words_per_cycle=bandwidth[2],
        # Unset actions are priced from the architecture's technology (or refused); an ERT
        # without a leak action means no leakage, as in Timeloop. Area comes from Timeloop's
        # ART, which is not read: 0.
        read_energy_pj=action("read"), write_energy_pj=action("write"),
        update_energy_pj=action("update", "write"), leakage_pj_per_cycle=action("leak") if not e else
        (action("leak") or 0.0), area_mm2=0.0, technology_class=_tech_class(cls), **common,
    )


def _accelerator(
    name: str, levels: list[MemoryLevel], mac: MacUnit, gcs: object, tech: object,
    missing: list[str], where: str,
) -> Accelerator:
    clock = 1.0 if gcs is None else 1e-9 / float(gcs)  # type: ignore[arg-type]
    tech_s = str(tech[0] if isinstance(tech, list) and tech else tech or "unknown")
    if missing:
        log.warning(
            "Timeloop import %s: no energies found for %s; they are priced from coexplore's %r technology "
            "table (pass the *.ERT.yaml to get Accelergy's)", where, ", ".join(missing), tech_s,
        )
    try:
        return Accelerator(
            name=name, levels=tuple(levels), mac=mac, clock_ghz=clock, technology=tech_s,
            description=f"imported from Timeloop ({where})",
        )
    except SpecError as e:
        raise InteropError([f"{where}: {p}" for p in e.problems]) from None


@dataclass(slots=True)
class _Comp:
    """One architecture leaf, flattened: instances and mesh are totals."""

    name: str
    cls: str
    attrs: dict[str, Any]
    instances: int
    mesh: tuple[int, int]
    dummy: bool = False
    aliases: tuple[str, ...] = ()
    constraint: tuple[set[str], set[str]] | None = None
    actions: dict[str, float] | None = None


_RANGE = re.compile(r"^(?P<base>.*?)\[(?P<lo>\d+)\.\.(?P<hi>\d+)\]$")


def _split_range(name: str) -> tuple[str, int]:
    m = _RANGE.match(name.strip())
    return (name.strip(), 1) if m is None else (m["base"], int(m["hi"]) - int(m["lo"]) + 1)


def _actions(node: dict[str, Any]) -> dict[str, float] | None:
    """Per-action energies written on a component (``actions: [{name, energy}]``), if any."""
    out: dict[str, float] = {}
    for a in node.get("actions") or []:
        if isinstance(a, dict) and "name" in a:
            e = a.get("energy", (a.get("arguments") or {}).get("energy"))
            if e is not None:
                out.setdefault(str(a["name"]), float(e))
    return out or None


def _constraint(node: dict[str, Any]) -> tuple[set[str], set[str]] | None:
    ds = (node.get("constraints") or {}).get("dataspace") or {}
    keep, bypass = set(ds.get("keep") or ()), set(ds.get("bypass") or ())
    return (keep, bypass) if keep or bypass else None


def _mesh(mx: object, my: object, inst: int, path: str) -> tuple[int, int]:
    x = None if mx is None else int(mx)  # type: ignore[call-overload]
    y = None if my is None else int(my)  # type: ignore[call-overload]
    if x is None and y is None:
        return inst, 1
    x = x if x is not None else inst // y  # type: ignore[operator]
    y = y if y is not None else inst // x
    if x * y != inst:
        raise InteropError(f"{path}: meshX*meshY must equal the {inst} instances, got {x}x{y}")
    return x, y


def _flatten_tree(node: dict[str, Any], mult: int, out: list[_Comp], glob: dict[str, Any], path: str) -> None:
    """Flatten a ``subtree``/``local`` architecture (v0.3, timeloopfe's parsed output)."""
    _, count = _split_range(str(node.get("name", "")))
    for k in ("technology", "global_cycle_seconds"):
        if k in (node.get("attributes") or {}):
            glob.setdefault(k, node["attributes"][k])
    m = mult * count
    for j, c in enumerate(node.get("local") or []):
        if not isinstance(c, dict) or "name" not in c:
            raise InteropError(f"{path}.local[{j}]: must be a mapping with a name, got {c!r}")
        name, cc = _split_range(str(c["name"]))
        a = c.get("attributes") or {}
        cls = str(c.get("class", ""))
        mesh = _mesh(a.get("meshX"), a.get("meshY"), m * cc, f"{path}.local[{j}] {name!r}")
        out.append(_Comp(name, cls, a, m * cc, mesh, dummy="dummy" in cls.lower(), constraint=_constraint(c),
                         actions=_actions(c)))
    for j, s in enumerate(node.get("subtree") or []):
        _flatten_tree(s, m, out, glob, f"{path}.subtree[{j}]")


def _flatten_nodes(
    nodes: list[Any], mx: int, my: int, out: list[_Comp], glob: dict[str, Any], path: str
) -> tuple[int, int]:
    """Flatten a timeloopfe v0.4 ``nodes`` list; a spatial container becomes a dummy level."""
    for j, n in enumerate(nodes):
        p = f"{path}[{j}]"
        if not isinstance(n, dict):
            raise InteropError(f"{p}: must be a mapping, got {n!r}")
        tag = n.get("_tag") or ("Hierarchical" if "nodes" in n else "Component" if "class" in n
                                else "Container")
        attrs = n.get("attributes") or {}
        for k in ("technology", "global_cycle_seconds"):
            if k in attrs:
                glob.setdefault(k, attrs[k])
        sp = n.get("spatial") or {}
        sx, sy = int(sp.get("meshX", 1)), int(sp.get("meshY", 1))
        name = str(n.get("name", ""))
        if tag == "Hierarchical":
            mx, my = _flatten_nodes(n.get("nodes") or [], mx, my, out, glob, f"{p}.nodes")
        elif tag == "Container":
            if sx * sy > 1:
                out.append(_Comp(f"inter_{name}_spatial", "dummy_storage", {}, mx * my, (mx, my),
                                 dummy=True, aliases=(name,)))
            mx, my = mx * sx, my * sy
        elif tag == "Component":
            mx, my = mx * sx, my * sy
            out.append(_Comp(name, str(n.get("class", "")), attrs, mx * my, (mx, my),
                             constraint=_constraint(n), actions=_actions(n)))
        elif tag != "Nothing":
            raise InteropError(f"{p} {name!r}: node type !{tag} is not supported (coexplore hierarchies are "
                               f"linear: use !Container, !Component, !Hierarchical)")
    return mx, my


def _attr(a: dict[str, Any], *keys: str) -> Any:
    return next((a[k] for k in keys if k in a and a[k] is not None), None)


def _yaml_level(
    c: _Comp, ert: dict[str, float] | None, cons: tuple[set[str], set[str]] | None, an: _Analysis, path: str
) -> MemoryLevel:
    a, problems = c.attrs, list[str]()
    wb_raw = _attr(a, "datawidth", "word_bits", "word-bits")
    wb = 8 if c.dummy or wb_raw is None else _positive_int(wb_raw, f"{path}.datawidth", problems)
    if wb_raw is None and not c.dummy:
        log.warning("Timeloop import %s: no datawidth, assuming 8-bit words", path)
    width, block = _attr(a, "width"), _attr(a, "block_size", "block-size", "n_words")
    cluster = _attr(a, "cluster_size", "cluster-size")
    if c.dummy:
        block, cluster = 1, 1
    else:
        block, cluster = _block_and_cluster(width, block, cluster, wb, path, problems)
    depth, entries, size_kb = _attr(a, "depth"), _attr(a, "entries"), _attr(a, "sizeKB")
    size: int | None = None
    if depth is not None:
        size = int(depth) * block
    elif entries is not None:
        size = int(entries)
    elif size_kb is not None:
        size = int(float(size_kb) * 8192) // wb
    if not c.dummy and float(a.get("multiple_buffering", 1)) != 1:
        log.warning("Timeloop import %s: multiple_buffering=%s is not modelled by coexplore, ignored", path,
                    a["multiple_buffering"])
    bw = tuple(None if (v := _attr(a, f"{k}_bandwidth", f"{k}-bandwidth")) is None else float(v)
               for k in ("read", "write", "shared"))
    if problems:
        raise InteropError(problems)
    return _memory_level(
        name=c.name, cls=c.cls, dummy=c.dummy, size_words=size, word_bits=wb, block=block, cluster=cluster,
        instances=c.instances, mesh=c.mesh, bandwidth=bw, ert=ert, constraint=cons,  # type: ignore[arg-type]
        reduction=str(a.get("reduction_supported", True)).lower() != "false", ds_of=an.ds_of, path=path,
    )


def _block_and_cluster(width: Any, block: Any, cluster: Any, wb: int, path: str,
                       problems: list[str]) -> tuple[int, int]:
    """Timeloop's rule (``BufferLevel::ParseSpecs``): ``width = datawidth * block_size * cluster_size``;
    the one of block and cluster not given follows from the width, block first."""
    b = None if block is None else _positive_int(block, f"{path}.block_size", problems)
    k = None if cluster is None else _positive_int(cluster, f"{path}.cluster_size", problems)
    if width is None:
        return b or 1, k or 1
    w = _positive_int(width, f"{path}.width", problems)
    if problems:
        return 1, 1
    if b is not None and k is not None:
        if b * wb * k != w:
            problems.append(f"{path}.width: must equal datawidth {wb} x block_size {b} x cluster_size {k}, got {w}")
        return b, k
    if k is not None:
        if w % (wb * k):
            problems.append(f"{path}.width: must be a multiple of datawidth {wb} x cluster_size {k}, got {w}")
        return max(1, w // (wb * k)), k
    b = b or 0
    if b:
        if w % (wb * b):
            problems.append(f"{path}.width: must be a multiple of datawidth {wb} x block_size {b}, got {w}")
        return b, max(1, w // (wb * b))
    if w % wb:
        problems.append(f"{path}.width: must be a multiple of datawidth {wb}, got {w}")
    return max(1, w // wb), 1


def _ert_tables(ert: object) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    tables = ert.get("tables") if isinstance(ert, dict) else None
    for t in tables or []:
        acts: dict[str, float] = {}
        for a in t.get("actions") or []:
            if a.get("energy") is not None:
                acts.setdefault(str(a["name"]), float(a["energy"]))
        out[re.sub(r"\[\d+\.\.\d+\]", "", str(t.get("name", ""))).split(".")[-1].strip()] = acts
    return out
