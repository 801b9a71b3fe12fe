"""ZigZag interoperability: import its accelerator YAML, export mappings for its cost model.

:func:`accelerator_from_zigzag` reads a ZigZag (3.x) hardware YAML (``memories`` +
``operational_array``) with its own parser (coexplore never imports ZigZag), and
:func:`mapping_to_zigzag` / :func:`allocation_to_zigzag` turn a coexplore mapping on such
an accelerator into ZigZag's fixed-mapping forms, so that ZigZag's cost model can
re-evaluate it (``benchmarks/zigzag_crosscheck.py``). How the two models correspond:

* Array: the ``operational_array`` dimensions alternate between the axes: the 1st, 3rd,
  ... (D1, D3) multiply into mesh X, the 2nd, 4th (D2, D4) into mesh Y, so a 2-D array is
  X = D1, Y = D2, and edge_tpu_like's 8x8x4x4 is 32 x 32. ``unit_energy`` / ``unit_area``
  become the MAC's ``energy_pj`` / ``area_mm2`` (ZigZag's area unit is taken as mm²).
* Memories become levels, innermost first. ZigZag orders each operand's memories by the
  YAML order; coexplore needs one chain, so the memories are merged in a topological
  order of those per-operand orders, a memory shared over fewer array dimensions going
  first and the YAML order deciding the rest. Single-operand memories at the same depth
  (Eyeriss's per-PE register files) become consecutive single-dataspace levels. A memory
  keeps exactly its operands (``keeps`` = ``must_keep``: ZigZag has no bypass).
* ``served_dimensions`` set the copies: a memory has one instance per combination of the
  array dimensions it does NOT serve (ZigZag's ``unroll_count``). coexplore's copies must
  nest (each level's instances split the next inner level's), so when a memory's unserved
  dimensions are not a superset of every outer level's, it also gets copies along those
  (it becomes more private, each copy keeping ZigZag's size); the accelerator's
  ``zigzag_notes`` metadata lists every such case (edge_tpu_like's ``rf_1B``).
* Spatial fan-out: each array dimension is unrolled by exactly one level's fan-out along
  its axis: that of the outermost level with one copy per element of it. When two array
  dimensions on one axis would fan out from the same memory (edge_tpu_like's D1 and D3
  below ``sram_32KB``), a spatial container level (``<memory>_fanout_<dims>``, keeps
  nothing) takes the inner one, so every fan-out is one array dimension. It may unroll
  the loop dims that the mapping YAML entry's ``spatial_mapping`` and
  ``spatial_mapping_hint`` name for that dimension (all dims if it names none), minus
  those ZigZag itself would clip: the dims an operand of an innermost memory depends on,
  along the dimensions that memory serves, when its port or capacity holds fewer than two
  elements (edge_tpu_like's 8-bit ``rf_1B`` forbids K, C, FX, FY on D3 and D4).
* Words: ``precision_bits`` (ZigZag's ONNX defaults: 8-bit W and I, 16-bit partial sums
  ``O``; final outputs ``O_final`` are 8-bit) give each level's word: the narrowest
  precision of its operands, so 8 bits wherever W or I live and 16 at output-only levels
  (register files and buffers that hold partial sums); ``size_words = size // word_bits``.
  ZigZag's ``r_cost`` / ``w_cost`` are per access of the widest port carrying reads /
  writes of the memory's operands (``r_bw`` / ``w_bw`` bits); a vector access moves
  ``block_size_words = r_bw // word_bits`` words (at least 1) and costs as many ZigZag
  accesses as it needs (one, unless a word is wider than the port). ZigZag also charges a
  whole access for a lone element (Eyeriss's 24-bit ``rf_16B`` moving one 16-bit partial
  sum), so the energy per word matches when ports are a multiple of the word or carry
  one word at a time. W and I words are exact everywhere, and outputs are exact as
  partial sums at output-only levels and as final outputs at mixed levels (DRAM);
  partial sums spilled to a mixed level count one 8-bit word (half ZigZag's energy and
  space), final outputs at an output-only level one 16-bit word (twice). Updates
  (partial sums from below) cost a write. Port bandwidths become the read / write /
  shared (read_write ports) words per cycle. ``latency``, ``systolic_dimensions`` and
  ``mem_type`` are not modelled; in-memory computing (``is_imc``) and CACTI auto-costing
  are refused.

Loop dims: ZigZag's ``B G K C OY OX FY FX`` are coexplore's ``N G K C P Q R S``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from coexplore.errors import InteropError, SpecError
from coexplore.mapping.mapping import Mapping
from coexplore.mapping.validate import validate
from coexplore.spec.dims import DATASPACES, DIMS, RELEVANT
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel
from coexplore.spec.workload import Layer

__all__ = [
    "DEFAULT_OPERAND_LINKS", "DEFAULT_PRECISION_BITS", "DIM_FROM_ZIGZAG", "DIM_TO_ZIGZAG",
    "accelerator_from_zigzag", "allocation_to_zigzag", "looks_like_zigzag", "mapping_to_zigzag",
]

log = logging.getLogger("coexplore.interop.zigzag")

DIM_FROM_ZIGZAG: dict[str, str] = {"B": "N", "G": "G", "K": "K", "C": "C", "OY": "P", "OX": "Q", "FY": "R", "FX": "S"}
DIM_TO_ZIGZAG: dict[str, str] = {v: k for k, v in DIM_FROM_ZIGZAG.items()}
DEFAULT_OPERAND_LINKS: dict[str, str] = {"O": "O", "W": "I2", "I": "I1"}  # layer operand -> memory operand
DEFAULT_PRECISION_BITS: dict[str, int] = {"weights": 8, "inputs": 8, "outputs": 16}
_DATASPACE_OF_LAYER_OP = {"W": "weights", "I": "inputs", "O": "outputs"}
_MEM_OPERANDS = ("I1", "I2", "O")
_DIRECTIONS = ("fh", "tl", "fl", "th")
_OA_DIM = re.compile(r"^D\d$")
_TOP_KEYS = ("name", "memories", "operational_array", "dataflows")
_MEM_KEYS = ("size", "r_cost", "w_cost", "area", "latency", "mem_type", "auto_cost_extraction", "operands", "ports",
             "served_dimensions", "force_double_buffering")
_PORT_KEYS = ("name", "type", "bandwidth_min", "bandwidth_max", "allocation")
_OA_KEYS = ("dimensions", "sizes", "unit_energy", "unit_area", "systolic_dimensions", "is_imc", "imc_type",
            "input_precision", "adc_resolution", "bit_serial_precision")


def looks_like_zigzag(data: object) -> bool:
    """Whether parsed YAML ``data`` is a ZigZag accelerator (top-level ``memories`` and ``operational_array``)."""
    return isinstance(data, MappingABC) and "memories" in data and "operational_array" in data


@dataclass(frozen=True, slots=True)
class _Memory:
    """One ZigZag memory, checked. ``ports``: (type, bandwidth_max bits, {(operand, direction)})."""

    name: str
    index: int
    size_bits: int
    r_cost: float
    w_cost: float
    area: float
    mem_type: str
    operands: tuple[str, ...]
    dataspaces: frozenset[str]
    served: frozenset[str]
    ports: tuple[tuple[str, int, frozenset[tuple[str, str]]], ...]

    def port_bits(self, directions: tuple[str, ...], operand: str | None = None) -> int | None:
        """Widest port carrying one of ``directions`` (for ``operand``, else any of this memory's operands)."""
        bws = [bw for _, bw, alloc in self.ports if any(d in directions and operand in (None, op) for op, d in alloc)]
        return max(bws) if bws else None

    def total_bits(self, port_type: str) -> int:
        return sum(bw for t, bw, _ in self.ports if t == port_type)


@dataclass(frozen=True, slots=True)
class _Stage:
    """A coexplore level: a ZigZag memory, or (``memory`` None) a spatial container below one."""

    name: str
    memory: _Memory | None
    unrolled: frozenset[str]  # array dims along which it has distinct copies


@dataclass(frozen=True, slots=True)
class _Plan:
    """How a ZigZag accelerator becomes a coexplore one (see the module docstring)."""

    name: str
    dims: tuple[str, ...]  # array dimensions, YAML order
    sizes: dict[str, int]
    stages: tuple[_Stage, ...]  # the coexplore levels, innermost first
    allowed: dict[str, frozenset[str]]  # array dim -> coexplore loop dims it may unroll
    links: dict[str, str]
    precision: dict[str, int]
    unit_energy: float
    unit_area: float
    notes: tuple[str, ...]

    def axis_dims(self, axis: int) -> list[str]:
        return list(self.dims[axis::2])

    def mesh(self, unrolled: frozenset[str]) -> tuple[int, int]:
        x, y = (math.prod(self.sizes[d] for d in self.axis_dims(a) if d in unrolled) for a in (0, 1))
        return x, y

    def fanout_dim(self, i: int, axis: int) -> str | None:
        """The array dim (at most one per axis) that level ``i`` fans out over along ``axis``."""
        inner = frozenset(self.dims) if i == 0 else self.stages[i - 1].unrolled
        new = [d for d in self.axis_dims(axis) if d in inner - self.stages[i].unrolled and self.sizes[d] > 1]
        assert len(new) <= 1, "stages are split so that each axis fans out over one array dimension"
        return new[0] if new else None


# -- parsing ----------------------------------------------------------------------------------
def _read(source: object, what: str) -> tuple[Any, str]:
    if isinstance(source, (MappingABC, list)):
        return source, what
    path = Path(str(source))
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), str(path)
    except (OSError, UnicodeDecodeError) as e:
        raise InteropError(f"{path}: cannot read the {what} ({e.__class__.__name__}: {e})") from None
    except yaml.YAMLError as e:
        raise InteropError(f"{path}: malformed YAML: {e}") from None


def _num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0


def _pos_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _unknown(d: MappingABC[Any, Any], valid: tuple[str, ...], p: str) -> list[str]:
    bad = sorted(str(k) for k in d if k not in valid)
    return [f"{p}: unknown key(s) {bad}, valid: {list(valid)}"] if bad else []


def _parse_array(oa: object, p: str, out: list[str]) -> tuple[tuple[str, ...], dict[str, int], float, float]:
    if not isinstance(oa, MappingABC):
        out.append(f"{p}: must be a mapping, got {oa!r}")
        return (), {}, 0.0, 0.0
    out += _unknown(oa, _OA_KEYS, p)
    if oa.get("is_imc"):
        out.append(f"{p}.is_imc: in-memory-computing arrays are not supported, got {oa['is_imc']!r}")
    dims, sizes = oa.get("dimensions"), oa.get("sizes")
    ok = True
    if not isinstance(dims, list) or not dims or not all(isinstance(d, str) and _OA_DIM.match(d) for d in dims) \
            or len(set(dims)) != len(dims):
        out.append(f"{p}.dimensions: must be a non-empty list of distinct names D1, D2, ..., got {dims!r}")
        ok = False
    if not isinstance(sizes, list) or not all(_pos_int(s) for s in sizes):
        out.append(f"{p}.sizes: must be a list of positive integers, got {sizes!r}")
        ok = False
    elif ok and len(sizes) != len(dims):  # type: ignore[arg-type]
        out.append(f"{p}.sizes: must have one size per dimension {dims}, got {sizes!r}")
        ok = False
    for key in ("unit_energy", "unit_area"):
        if not _num(oa.get(key)):
            out.append(f"{p}.{key}: must be a number >= 0, got {oa.get(key)!r}")
    if not ok:
        return (), {}, 0.0, 0.0
    energy, area = (float(oa[k]) if _num(oa.get(k)) else 0.0 for k in ("unit_energy", "unit_area"))
    return tuple(dims), dict(zip(dims, sizes, strict=True)), energy, area  # type: ignore[arg-type]


def _parse_ports(ports: object, operands: tuple[str, ...], p: str, out: list[str]) -> list[Any]:
    if not isinstance(ports, list) or not ports:
        out.append(f"{p}: must be a non-empty list of ports, got {ports!r}")
        return []
    parsed = []
    for j, port in enumerate(ports):
        q = f"{p}[{j}]"
        if not isinstance(port, MappingABC):
            out.append(f"{q}: must be a mapping, got {port!r}")
            continue
        out += _unknown(port, _PORT_KEYS, q)
        kind, lo, hi, alloc = (port.get(k) for k in ("type", "bandwidth_min", "bandwidth_max", "allocation"))
        if kind not in ("read", "write", "read_write"):
            out.append(f"{q}.type: must be read, write or read_write, got {kind!r}")
        for key, v in (("bandwidth_min", lo), ("bandwidth_max", hi)):
            if not _pos_int(v):
                out.append(f"{q}.{key}: must be a positive integer (bits per cycle), got {v!r}")
        if isinstance(lo, int) and isinstance(hi, int) and _pos_int(lo) and _pos_int(hi) and lo > hi:
            out.append(f"{q}.bandwidth_min: must be <= bandwidth_max {hi}, got {lo}")
        pairs = set()
        for k, a in enumerate(alloc if isinstance(alloc, list) else [alloc]):
            parts = [s.strip() for s in a.split(",")] if isinstance(a, str) else []
            if len(parts) != 2 or parts[0] not in operands or parts[1] not in _DIRECTIONS:
                out.append(f"{q}.allocation[{k}]: must be 'OPERAND, DIRECTION' with an operand of this memory "
                           f"{list(operands)} and a direction in {list(_DIRECTIONS)}, got {a!r}")
                continue
            if (kind == "read" and parts[1] in ("fh", "fl")) or (kind == "write" and parts[1] in ("tl", "th")):
                out.append(f"{q}.allocation[{k}]: a {kind} port cannot carry direction {parts[1]!r}, got {a!r}")
            pairs.add((parts[0], parts[1]))
        parsed.append((str(kind), hi if isinstance(hi, int) and _pos_int(hi) else 1, frozenset(pairs)))
    return parsed


def _parse_memory(name: str, index: int, m: object, dims: tuple[str, ...], mem_ds: dict[str, str],
                  out: list[str]) -> _Memory | None:
    p = f"memories.{name}"
    if not isinstance(m, MappingABC):
        out.append(f"{p}: must be a mapping, got {m!r}")
        return None
    n0 = len(out)
    out += _unknown(m, _MEM_KEYS, p)
    if not _pos_int(m.get("size")):
        out.append(f"{p}.size: must be a positive integer (bits), got {m.get('size')!r}")
    if not (isinstance(m.get("latency"), int) and not isinstance(m.get("latency"), bool)):
        out.append(f"{p}.latency: must be an integer (cycles), got {m.get('latency')!r}")
    for key in ("r_cost", "w_cost", "area"):
        if not _num(m.get(key)):
            auto = " (CACTI auto_cost_extraction is not supported: give it)" if m.get("auto_cost_extraction") else ""
            out.append(f"{p}.{key}: must be a number >= 0{auto}, got {m.get(key)!r}")
    ops = m.get("operands")
    if not isinstance(ops, list) or not ops or len(set(map(str, ops))) != len(ops):
        out.append(f"{p}.operands: must be a non-empty list of distinct memory operands, got {ops!r}")
        ops = []
    for op in ops:
        if op not in mem_ds:
            out.append(f"{p}.operands: unknown operand {op!r}, valid: {sorted(mem_ds)}")
    served = m.get("served_dimensions")
    if not isinstance(served, list):
        out.append(f"{p}.served_dimensions: must be a list of array dimensions {list(dims)}, got {served!r}")
        served = []
    for d in served:
        if d not in dims:
            out.append(f"{p}.served_dimensions: unknown dimension {d!r}, valid: {list(dims)}")
    ops_t = tuple(str(o) for o in ops if o in mem_ds)
    ports = _parse_ports(m.get("ports"), tuple(map(str, ops)), f"{p}.ports", out)
    mem = _Memory(
        name=name, index=index, size_bits=int(m.get("size") or 0), r_cost=float(m.get("r_cost") or 0.0),
        w_cost=float(m.get("w_cost") or 0.0), area=float(m.get("area") or 0.0),
        mem_type=str(m.get("mem_type", "sram")), operands=ops_t, dataspaces=frozenset(mem_ds[o] for o in ops_t),
        served=frozenset(d for d in served if d in dims), ports=tuple(ports),
    )
    if len(out) == n0:
        for label, dirs in (("read", ("tl", "th")), ("write", ("fh", "fl"))):
            if mem.port_bits(dirs) is None:
                out.append(f"{p}.ports: no port carries {label}s ({'/'.join(dirs)}) of {list(ops_t)}, got {ports!r}")
    return mem if len(out) == n0 else None


def _entry(mapping: object, entry: str) -> MappingABC[str, Any] | None:
    """The mapping-YAML entry named ``entry`` (a path, a list of entries or one entry), or None."""
    if mapping is None:
        return None
    data, src = _read(mapping, "mapping YAML")
    entries = [data] if isinstance(data, MappingABC) else data
    if not isinstance(entries, list) or not all(isinstance(e, MappingABC) for e in entries):
        raise InteropError(f"{src}: a ZigZag mapping must be a list of entries (mappings), got {data!r}")
    for e in entries:
        if e.get("name") == entry:
            return e
    raise InteropError(f"{src}: no entry named {entry!r}, entries: {[e.get('name') for e in entries]}")


def _entry_dims(entry: MappingABC[str, Any] | None, dims: tuple[str, ...], out: list[str]) -> dict[str, set[str]]:
    """Loop dims per array dim named by the entry's spatial_mapping and spatial_mapping_hint."""
    named: dict[str, set[str]] = {}
    for key in ("spatial_mapping", "spatial_mapping_hint"):
        sm = (entry or {}).get(key) or {}
        if not isinstance(sm, MappingABC):
            out.append(f"mapping.{key}: must be a mapping of array dimension -> list, got {sm!r}")
            continue
        for d, items in sm.items():
            if d not in dims:
                out.append(f"mapping.{key}.{d}: unknown array dimension {d!r}, valid: {list(dims)}")
                continue
            for k, it in enumerate(items if isinstance(items, list) else [items]):
                zz = str(it).split(",")[0].strip()
                if zz not in DIM_FROM_ZIGZAG:
                    out.append(f"mapping.{key}.{d}[{k}]: unknown loop dimension {zz!r}, valid: {list(DIM_FROM_ZIGZAG)}")
                else:
                    named.setdefault(d, set()).add(DIM_FROM_ZIGZAG[zz])
    return named


def _links(entry: MappingABC[str, Any] | None, out: list[str]) -> dict[str, str]:
    links = dict((entry or {}).get("memory_operand_links") or DEFAULT_OPERAND_LINKS)
    if set(links) != set(_DATASPACE_OF_LAYER_OP) or not set(links.values()) <= set(_MEM_OPERANDS) \
            or len(set(links.values())) != len(links):
        out.append(f"mapping.memory_operand_links: must link W, I, O to distinct operands of {list(_MEM_OPERANDS)}, "
                   f"got {links!r}")
        return dict(DEFAULT_OPERAND_LINKS)
    return {str(k): str(v) for k, v in links.items()}


def _order(mems: list[_Memory], dims: tuple[str, ...]) -> list[_Memory]:
    """Merge the per-operand orders into one chain: wider-shared memories later, else YAML order."""
    pred: dict[int, set[int]] = {}
    last: dict[str, int] = {}
    for m in mems:
        pred[m.index] = {last[op] for op in m.operands if op in last}
        last.update(dict.fromkeys(m.operands, m.index))
    placed: set[int] = set()
    chain: list[_Memory] = []
    unserved = {m.index: frozenset(dims) - m.served for m in mems}
    while len(chain) < len(mems):
        ready = [m for m in mems if m.index not in placed and pred[m.index] <= placed]
        best = next(m for m in ready if not any(unserved[m.index] < unserved[o.index] for o in ready))
        chain.append(best)
        placed.add(best.index)
    return chain


def _stages(chain: list[_Memory], unrolled: list[frozenset[str]], dims: tuple[str, ...],
            sizes: dict[str, int]) -> tuple[_Stage, ...]:
    """The memories, with spatial containers below a memory whose fan-out spans two array dims on an axis."""
    out: list[_Stage] = []
    prev = frozenset(dims)
    for m, u in zip(chain, unrolled, strict=True):
        per_axis = [[d for d in dims[a::2] if d in prev - u and sizes[d] > 1] for a in (0, 1)]
        for k in range(max(map(len, per_axis)) - 1):  # innermost array dims first
            take = [ax[k] for ax in per_axis if k < len(ax)]
            prev = prev - set(take)
            out.append(_Stage(name=f"{m.name}_fanout_{'_'.join(take)}", memory=None, unrolled=prev))
        out.append(_Stage(name=m.name, memory=m, unrolled=u))
        prev = u
    return tuple(out)


def _plan(data: object, src: str, *, entry: MappingABC[str, Any] | None, precision: MappingABC[str, int]) -> _Plan:
    out: list[str] = []
    if not looks_like_zigzag(data):
        keys = sorted(data) if isinstance(data, MappingABC) else type(data).__name__
        missing = [k for k in ("memories", "operational_array") if not (isinstance(data, MappingABC) and k in data)]
        raise InteropError(f"{src}: missing top-level key(s) {missing} of a ZigZag accelerator, got {keys}")
    assert isinstance(data, MappingABC)
    out += _unknown(data, _TOP_KEYS, src)
    if not isinstance(data.get("name"), str) or not data["name"]:
        out.append(f"name: must be a non-empty string, got {data.get('name')!r}")
    bad_prec = {k: v for k, v in precision.items() if k not in DATASPACES or not _pos_int(v)}
    if bad_prec or set(precision) != set(DATASPACES):
        out.append(f"precision_bits: must give a positive integer for each of {list(DATASPACES)}, got {precision!r}")
    dims, sizes, unit_energy, unit_area = _parse_array(data["operational_array"], "operational_array", out)
    links = _links(entry, out)
    mem_ds = {mop: _DATASPACE_OF_LAYER_OP[lop] for lop, mop in links.items()}
    raw = data["memories"]
    if not isinstance(raw, MappingABC) or not raw:
        raise InteropError([*out, f"memories: must be a non-empty mapping of name -> memory, got {raw!r}"])
    mems = [_parse_memory(str(n), i, m, dims, mem_ds, out) for i, (n, m) in enumerate(raw.items())]
    named = _entry_dims(entry, dims, out)
    if out or not dims:
        raise InteropError([f"{src}: {p}" for p in out])
    good = [m for m in mems if m is not None]
    for mop, ds in mem_ds.items():
        if not any(ds in m.dataspaces for m in good):
            out.append(f"memories: no memory holds operand {mop} ({ds})")
    chain = _order(good, dims)
    top = chain[-1]
    if top.dataspaces != frozenset(DATASPACES):
        out.append(f"memories.{top.name}.operands: coexplore needs one outermost memory holding every operand "
                   f"{sorted(mem_ds)}, got {list(top.operands)}")
    if top.served != frozenset(dims):
        out.append(f"memories.{top.name}.served_dimensions: the outermost memory must serve every array dimension "
                   f"{list(dims)} (one instance), got {sorted(top.served)}")
    if out:
        raise InteropError([f"{src}: {p}" for p in out])
    unrolled, notes = _copies(chain, dims, sizes)
    allowed, clip_notes = _allowed(good, mem_ds, precision, sizes, named)
    for n in notes + clip_notes:
        log.info("ZigZag import %s: %s", src, n)
    return _Plan(name=str(data["name"]), dims=dims, sizes=sizes,
                 stages=_stages(chain, unrolled, dims, sizes), allowed=allowed, links=links, precision=dict(precision),
                 unit_energy=unit_energy, unit_area=unit_area, notes=tuple(notes + clip_notes))


def _copies(chain: list[_Memory], dims: tuple[str, ...],
            sizes: dict[str, int]) -> tuple[list[frozenset[str]], list[str]]:
    """Per chain memory, the array dims it has copies along (nested outwards), and a note per enlarged one."""
    unrolled: list[frozenset[str]] = []
    acc: frozenset[str] = frozenset()
    notes = []
    for m in reversed(chain):
        own = frozenset(dims) - m.served
        acc = acc | own
        unrolled.append(acc)
        if acc != own:
            n_new, n_old = (math.prod(sizes[d] for d in u) for u in (acc, own))
            notes.append(f"{m.name}: served_dimensions {sorted(m.served)} do not nest with the outer levels'; "
                         f"it also gets a copy per {sorted(acc - own)} ({n_new} instances instead of {n_old})")
    return unrolled[::-1], notes[::-1]


def _allowed(mems: list[_Memory], mem_ds: dict[str, str], precision: MappingABC[str, int], sizes: dict[str, int],
             named: dict[str, set[str]]) -> tuple[dict[str, frozenset[str]], list[str]]:
    """Loop dims each array dim may unroll: those named (else all) minus what ZigZag would clip."""
    forbidden: dict[str, set[str]] = {d: set() for d in sizes}
    notes = []
    firsts = {op: next(m for m in mems if op in m.operands).index for op in mem_ds}
    for m in mems:
        if not all(firsts[op] == m.index for op in m.operands):
            continue  # ZigZag clips unrollings only below its innermost memories (graph in-degree 0)
        for op in m.operands:
            ds = mem_ds[op]
            bw = m.port_bits(("fl",) if ds == "outputs" else ("tl",), op)
            limit = min(bw if bw is not None else m.size_bits, m.size_bits) // precision[ds]
            for d in sorted(m.served):
                if limit < 2:
                    forbidden[d] |= RELEVANT[ds]
                elif limit < sizes[d]:
                    notes.append(f"{m.name}: ZigZag limits {ds}-relevant unrolling on {d} to {limit} (not enforced)")
    return {d: frozenset((named.get(d) or set(DIMS)) - forbidden[d]) for d in sizes}, notes


# -- import ------------------------------------------------------------------------------------
def _level(plan: _Plan, i: int) -> MemoryLevel:
    st = plan.stages[i]
    mesh = plan.mesh(st.unrolled)
    spatial = [plan.allowed[d] if (d := plan.fanout_dim(i, a)) else frozenset() for a in (0, 1)]
    m = st.memory
    if m is None:
        return MemoryLevel(name=st.name, size_words=0, instances=mesh[0] * mesh[1], mesh_x=mesh[0], mesh_y=mesh[1],
                           keeps=frozenset(), spatial_dims_x=spatial[0], spatial_dims_y=spatial[1],
                           technology_class="container")
    word = min(plan.precision[ds] for ds in m.dataspaces)
    r_bits, w_bits = m.port_bits(("tl", "th")), m.port_bits(("fh", "fl"))
    assert r_bits is not None and w_bits is not None  # checked while parsing
    block = max(1, r_bits // word)
    r, w, rw = (m.total_bits(t) / word for t in ("read", "write", "read_write"))
    name = m.name.lower()
    cls = "dram" if "dram" in name or m.mem_type.lower() == "dram" else \
        "regfile" if name.startswith(("rf", "reg")) or m.mem_type.lower() in ("rf", "regfile") else "sram"
    return MemoryLevel(
        name=m.name, size_words=m.size_bits // word, word_bits=word, block_size_words=block,
        instances=mesh[0] * mesh[1], mesh_x=mesh[0], mesh_y=mesh[1], keeps=m.dataspaces, must_keep=m.dataspaces,
        spatial_dims_x=spatial[0], spatial_dims_y=spatial[1],
        read_bandwidth_words_per_cycle=r + rw if r else None,  # only read_write ports: the shared limit
        write_bandwidth_words_per_cycle=w + rw if w else None,
        shared_bandwidth_words_per_cycle=r + w + rw if rw else None,
        read_energy_pj=m.r_cost * -(-block * word // r_bits), write_energy_pj=m.w_cost * -(-block * word // w_bits),
        update_energy_pj=m.w_cost * -(-block * word // w_bits), area_mm2=m.area, technology_class=cls,
        leakage_pj_per_cycle=0.0,  # ZigZag models no leakage
    )


def _metadata(plan: _Plan) -> tuple[tuple[str, str], ...]:
    axes = ";".join(f"{ax}={','.join(plan.axis_dims(a))}" for a, ax in enumerate("XY") if plan.axis_dims(a))
    meta = [("source", "zigzag"), ("zigzag_name", plan.name), ("zigzag_axes", axes),
            ("zigzag_operand_links", ",".join(f"{k}={v}" for k, v in sorted(plan.links.items()))),
            ("zigzag_precision_bits", ",".join(f"{k}={plan.precision[k]}" for k in DATASPACES))]
    return tuple(meta + [("zigzag_notes", "; ".join(plan.notes))] * bool(plan.notes))


def accelerator_from_zigzag(
    path_or_dict: str | Path | MappingABC[str, Any], *, name: str | None = None,
    mapping: str | Path | Sequence[MappingABC[str, Any]] | MappingABC[str, Any] | None = None,
    mapping_entry: str = "default", precision_bits: MappingABC[str, int] | None = None,
    clock_ghz: float = 1.0,
) -> Accelerator:
    """A coexplore accelerator from a ZigZag hardware YAML (see the module docstring for the rules).

    Args:
        path_or_dict: The YAML file, or its parsed content.
        name: The accelerator's name (default: the YAML's ``name``).
        mapping: ZigZag mapping YAML (path, list of entries or one entry) whose entry
            ``mapping_entry`` says which loop dims each array dimension may unroll, and
            links layer operands to memory operands; ``None``: every dim, default links.
        mapping_entry: The entry of ``mapping`` to use.
        precision_bits: Bits per word of weights, inputs and outputs (partial sums);
            default :data:`DEFAULT_PRECISION_BITS` (ZigZag's ONNX defaults).
        clock_ghz: ZigZag has no clock; cycles are what both report.

    Raises:
        InteropError: the YAML is malformed or uses a feature coexplore cannot model;
            every problem is listed with its key and value.
    """
    data, src = _read(path_or_dict, "ZigZag accelerator")
    plan = _plan(data, src, entry=_entry(mapping, mapping_entry),
                 precision=dict(precision_bits or DEFAULT_PRECISION_BITS))
    mac_mesh = plan.mesh(frozenset(plan.dims))
    try:
        return Accelerator(
            name=name or plan.name, levels=tuple(_level(plan, i) for i in range(len(plan.stages))),
            mac=MacUnit(instances=mac_mesh[0] * mac_mesh[1], mesh_x=mac_mesh[0], mesh_y=mac_mesh[1],
                        bits=max(plan.precision["weights"], plan.precision["inputs"]), energy_pj=plan.unit_energy,
                        area_mm2=plan.unit_area),
            clock_ghz=clock_ghz, technology="zigzag", description=f"imported from ZigZag ({src})",
            metadata=_metadata(plan),
        )
    except SpecError as e:
        raise InteropError([f"{src}: {p}" for p in e.problems]) from None


# -- export ------------------------------------------------------------------------------------
def _checked_plan(layer: Layer, accelerator: Accelerator, mapping: Mapping, zigzag_yaml: object) -> _Plan:
    meta = dict(accelerator.metadata)
    links = dict(kv.split("=") for kv in meta.get("zigzag_operand_links", "").split(",") if kv)
    prec = {k: int(v) for k, v in (kv.split("=") for kv in meta.get("zigzag_precision_bits", "").split(",") if kv)}
    data, src = _read(zigzag_yaml, "ZigZag accelerator")
    plan = _plan(data, src, entry={"memory_operand_links": links} if links else None,
                 precision=prec or dict(DEFAULT_PRECISION_BITS))
    names = [st.name for st in plan.stages]
    if names != [lv.name for lv in accelerator.levels] or plan.mesh(frozenset(plan.dims)) != \
            (accelerator.mac.mesh_x, accelerator.mac.mesh_y):
        raise InteropError(f"accelerator {accelerator.name!r}: was not imported from {src} (levels "
                           f"{[lv.name for lv in accelerator.levels]}, the YAML gives {names})")
    validate(layer, accelerator, mapping)
    return plan


def mapping_to_zigzag(layer: Layer, accelerator: Accelerator, mapping: Mapping,
                      zigzag_yaml: str | Path | MappingABC[str, Any]) -> dict[str, Any]:
    """``mapping`` as an entry of a ZigZag mapping YAML, with a complete ``temporal_ordering``.

    ``accelerator`` must come from :func:`accelerator_from_zigzag` on ``zigzag_yaml``.
    The entry is named after the layer (ZigZag matches entries by layer name first) and
    has a ``spatial_mapping`` for every array dimension (factor-1 ones as ``K, 1`` so that
    ZigZag generates none) and the ``temporal_ordering``, innermost loop first, ZigZag's
    loop names. ZigZag's memory allocator then decides which loops sit in which memory;
    :func:`allocation_to_zigzag` fixes that too.

    Raises:
        MappingError: ``mapping`` is not legal for ``layer`` on ``accelerator``.
        InteropError: ``accelerator`` was not imported from ``zigzag_yaml``.
    """
    plan = _checked_plan(layer, accelerator, mapping, zigzag_yaml)
    per_dim: dict[str, list[str]] = {d: [] for d in plan.dims}
    for i, lm in enumerate(mapping.levels):
        for axis, factors in enumerate((lm.spatial_x, lm.spatial_y)):
            t = plan.fanout_dim(i, axis)
            if t is not None:
                per_dim[t] += [f"{DIM_TO_ZIGZAG[d]}, {v}" for d, v in zip(DIMS, factors, strict=True) if v > 1]
    spatial = {t: items or ["K, 1"] for t, items in per_dim.items()}
    ordering = [[DIM_TO_ZIGZAG[d], f] for lm in mapping.levels for d, f in reversed(lm.temporal_loops())]
    return {"name": layer.name, "spatial_mapping": spatial, "memory_operand_links": dict(plan.links),
            "temporal_ordering": ordering}


def allocation_to_zigzag(layer: Layer, accelerator: Accelerator, mapping: Mapping,
                         zigzag_yaml: str | Path | MappingABC[str, Any]) -> dict[str, list[list[list[Any]]]]:
    """``mapping``'s temporal loops per ZigZag layer operand and memory level (ZigZag's ``TemporalMapping``).

    ``{"W"|"I"|"O": [[[dim, factor], ...] per memory level of that operand, innermost
    level and loop first]}``: a level's temporal loops go to the operand's innermost
    memory at or above it. With the spatial mapping of :func:`mapping_to_zigzag` this
    pins the whole mapping (``zigzag_fixed_mapping.py --allocation``).

    Raises:
        MappingError, InteropError: as :func:`mapping_to_zigzag`.
    """
    plan = _checked_plan(layer, accelerator, mapping, zigzag_yaml)
    out: dict[str, list[list[list[Any]]]] = {}
    for lop, ds in _DATASPACE_OF_LAYER_OP.items():
        holders = [i for i, st in enumerate(plan.stages) if st.memory and ds in st.memory.dataspaces]
        levels: list[list[list[Any]]] = [[] for _ in holders]
        for i, lm in enumerate(mapping.levels):
            j = next(k for k, h in enumerate(holders) if h >= i)
            levels[j] += [[DIM_TO_ZIGZAG[d], f] for d, f in reversed(lm.temporal_loops())]
        out[lop] = levels
    return out
