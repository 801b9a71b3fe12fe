"""Reader of MAESTRO's input files: the hardware ``.m`` file and the mapping (DFSL) ``.m`` file.

The grammar is the one MAESTRO's own parser accepts (``DFSL_parser.hpp``, ``DFSL_hw-parser.hpp``):
``Constant NAME VALUE;``, ``Network NAME { Layer NAME { Type: T  Stride { X: s, Y: s }
Dimensions { D: n, ... }  Dataflow { SpatialMap(size, ofs) D; TemporalMap(size, ofs) D;
Cluster(size, P); } } }``, sizes as integers, constants or ``Sz(D)``. A layer without a
``Dataflow`` block reuses the previous layer's directives as written (MAESTRO's parser intends the
same, but its binary then stops; see :mod:`coexplore.maestro.model`). Every error is a
:class:`~coexplore.errors.SpecError` naming the file, line, column and the offending text.
"""

from __future__ import annotations

import itertools
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from coexplore.errors import SpecError
from coexplore.maestro._reader import Reader, Tok, read_int

__all__ = [
    "DfslLayer",
    "DfslNetwork",
    "Directive",
    "MaestroHardware",
    "check_clusters",
    "parse_hardware",
    "parse_mapping",
    "read_hardware",
    "read_mapping",
]

LAYER_TYPES = ("CONV", "DSCONV")
"""Layer types priced here; MAESTRO's parser also names GEMM, NGCONV, TRCONV, FC, POOL, LSTM (not modelled)."""

DIMENSIONS = ("N", "K", "C", "R", "S", "Y", "X", "Y'", "X'")
"""DFSL dimension names: batch, output and input channels, filter rows/cols, input rows/cols, output rows/cols."""


@dataclass(frozen=True, slots=True)
class MaestroHardware:
    """MAESTRO's hardware file: PEs, L1/L2 size constraints (bytes), NoC and off-chip bandwidth
    (elements per cycle), NoC hops (MAESTRO uses it as the NoC latency in cycles)."""

    num_pes: int
    l1_size_bytes: int
    l2_size_bytes: int
    noc_bandwidth: int
    offchip_bandwidth: int
    noc_hops: int = 1

    def __post_init__(self) -> None:
        for name in ("num_pes", "l1_size_bytes", "l2_size_bytes", "noc_bandwidth", "offchip_bandwidth"):
            value = getattr(self, name)
            if value < 1:
                raise SpecError(f"hardware.{name}: must be >= 1, got {value}")
        if self.noc_hops < 0:
            raise SpecError(f"hardware.noc_hops: must be >= 0, got {self.noc_hops}")


class Directive(NamedTuple):
    """One data-centric directive: ``kind`` is ``spatial``, ``temporal`` or ``cluster``; a cluster has
    ``size`` (sub-cluster count) and no dimension. A named tuple, immutable like the other records: a layer
    that repeats an earlier body gets copies with its own lines, and a tuple is made several times faster
    than a frozen dataclass."""

    kind: str
    size: int
    offset: int
    dim: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class DfslLayer:
    """One layer: MAESTRO's name for it (the last ``-``/``>``-separated piece of the written name, as its
    tokenizer yields), its type, per-dimension outer strides, dimension sizes in file order, directives."""

    name: str
    written_name: str
    layer_type: str
    strides: tuple[tuple[str, int], ...]
    dims: tuple[tuple[str, int], ...]
    directives: tuple[Directive, ...]
    line: int = 0

    def size(self, dim: str) -> int:
        return dict(self.dims)[dim]

    def stride(self, dim: str) -> int:
        return dict(self.strides).get(dim, 1)


@dataclass(frozen=True, slots=True)
class DfslNetwork:
    name: str
    layers: tuple[DfslLayer, ...] = field(default_factory=tuple)


# -- mapping file ------------------------------------------------------------------------
def parse_mapping(text: str, where: str = "<mapping>") -> DfslNetwork:
    """Parse a DFSL mapping file's text (``where`` names it in errors)."""
    r = Reader(text, where)
    constants: dict[str, int] = {}
    while (tok := r.peek()) is not None and tok.text == "Constant":
        r.i += 1
        name = r.word("expected a constant name")
        constants[name.text] = read_int(r, r.word("expected the constant's value"), {}, "expected an integer")
    tok = r.next("expected 'Network'")
    if tok.text != "Network":
        raise r.error(tok, "expected 'Network'")
    net_name = r.word("expected the network's name").text
    r.expect("{")
    layers: list[DfslLayer] = []
    previous: tuple[Directive, ...] = ()
    seen: dict[tuple[object, ...], DfslLayer] = {}
    while True:
        tok = r.next("expected 'Layer' or '}'")
        if tok.text == "}":
            break
        if tok.text != "Layer":
            raise r.error(tok, "expected 'Layer' or '}'")
        key = _body_key(r)
        layer = seen.get(key) if key is not None else None
        if layer is not None:
            layer = _same_body(r, tok, layer)
        else:
            layer = _layer(r, tok, constants, previous)
            if key is not None:
                seen[key] = layer
        previous = layer.directives
        layers.append(layer)
    extra = r.peek()
    if extra is not None:
        raise r.error(extra, "expected end of file after the network's '}'")
    if not layers:
        raise SpecError(f"{where}: network {net_name!r}: has no layer")
    return DfslNetwork(name=net_name, layers=tuple(layers))


def _body_key(r: Reader) -> tuple[object, ...] | None:
    """Key of the layer block at the cursor (after ``Layer``): its tokens after the name and their lines
    relative to the ``Layer`` line. Networks repeat layer bodies (ResNet's blocks), which are parsed once.
    A block without a ``Dataflow`` (it inherits the previous layer's) or not closed gets no key."""
    i = r.i + 1  # the layer's name is at r.i, its '{' follows
    end = r.close.get(i)
    if end is None:
        return None
    texts = r.texts[i:end + 1]
    if "Dataflow" not in texts:
        return None
    return (tuple(texts), tuple(map(operator.sub, r.lines[i:end + 1], itertools.repeat(r.lines[i - 2]))))


def _same_body(r: Reader, start: Tok, first: DfslLayer) -> DfslLayer:
    """A layer whose block repeats ``first``'s body: its own name and lines, ``first``'s contents."""
    written = r.word("expected the layer's name")
    pieces = [p for p in re.split(r"[->]", written.text) if p]
    r.i = r.close[r.i] + 1
    shift = start.line - first.line
    directives = first.directives if not shift else tuple(
        [Directive(kind, size, offset, dim, line + shift) for kind, size, offset, dim, line in first.directives])
    return DfslLayer(name=pieces[-1] if pieces else written.text, written_name=written.text,
                     layer_type=first.layer_type, strides=first.strides, dims=first.dims, directives=directives,
                     line=start.line)


def _layer(r: Reader, start: Tok, constants: dict[str, int], previous: tuple[Directive, ...]) -> DfslLayer:
    written = r.word("expected the layer's name")
    pieces = [p for p in re.split(r"[->]", written.text) if p]
    name = pieces[-1] if pieces else written.text
    r.expect("{")
    layer_type = ""
    strides: dict[str, int] = {}
    dims: dict[str, int] = {}
    directives: list[Directive] = []
    has_dataflow = False
    where = f"{r.where}:{start.line}: layer {written.text!r}"
    while True:
        tok = r.next("expected 'Type', 'Stride', 'Dimensions', 'Dataflow' or '}'")
        if tok.text == "}":
            break
        if tok.text == "Type":
            t = r.word("expected a layer type")
            if t.text not in LAYER_TYPES:
                raise SpecError(f"{r.where}:{t.line}:{t.col}: layer {written.text!r}: Type must be one of "
                                f"{', '.join(LAYER_TYPES)}, got {t.text!r}")
            layer_type = t.text
        elif tok.text in ("Stride", "Dimensions"):
            if tok.text == "Stride" and dims:
                raise r.error(tok, "Stride must come before Dimensions")
            what, into = ("Stride", strides) if tok.text == "Stride" else ("dimension", dims)
            for d, v, at in _dim_block(r, constants):
                if v < 1:
                    vt = r.tok_at(at)
                    raise SpecError(f"{r.where}:{vt.line}:{vt.col}: layer {written.text!r}: {what} {d} must be "
                                    f">= 1, got {v}")
                into[d] = v
        elif tok.text == "Dataflow":
            has_dataflow = True
            r.expect("{")
            texts = r.texts
            while r.i < len(texts) and texts[r.i] != "}":  # as peek(), without making a token
                directives.append(_directive(r, dims, constants, written.text))
            r.expect("}")
        else:
            raise r.error(tok, "expected 'Type', 'Stride', 'Dimensions', 'Dataflow' or '}'")
    if not layer_type:
        raise SpecError(f"{where}: has no Type")
    for need in ("K", "C", "R", "S"):
        if need not in dims:
            raise SpecError(f"{where}: Dimensions must give {need}, got {', '.join(dims) or 'none'}")
    for need in ("Y", "X"):
        if need not in dims:
            raise SpecError(f"{where}: Dimensions must give the input size {need} (output sizes Y', X' are derived), "
                            f"got {', '.join(dims)}")
    for out in ("Y'", "X'"):
        if out in dims:
            raise SpecError(f"{where}: Dimensions gives {out}={dims[out]}; give the input sizes Y and X instead "
                            "(MAESTRO derives the output sizes)")
    if not has_dataflow or not directives:
        if not previous:
            raise SpecError(f"{where}: has no Dataflow and no earlier layer to take it from")
        directives = list(previous)
    _check_directives(where, directives, dims)
    return DfslLayer(name=name, written_name=written.text, layer_type=layer_type,
                     strides=tuple(strides.items()), dims=tuple(dims.items()), directives=tuple(directives),
                     line=start.line)


def _int_text(text: str, constants: dict[str, int]) -> int | None:
    """``text`` as :func:`read_int` reads it (a constant or decimal digits), or None."""
    if text in constants:
        return constants[text]
    return int(text) if text.isascii() and text.isdigit() else None


def _dim_block(r: Reader, constants: dict[str, int]) -> list[tuple[str, int, int]]:
    """``{ D: n, ... }`` as (dimension, size, token index of the size)."""
    texts, i = r.texts, r.i
    if i < len(texts) and texts[i] == "{":  # the common block of known names and sizes, read without tokens
        out = []
        i += 1
        while i + 1 < len(texts) and texts[i] in DIMENSIONS and (n := _int_text(texts[i + 1], constants)) is not None:
            out.append((texts[i], n, i + 1))
            i += 2
        if i < len(texts) and texts[i] == "}":
            r.i = i + 1
            return out
    r.expect("{")  # anything else, read token by token so that an error names its place
    out = []
    while (tok := r.peek()) is not None and tok.text != "}":
        d = r.word("expected a dimension name")
        if d.text not in DIMENSIONS:
            raise SpecError(f"{r.where}:{d.line}:{d.col}: unknown dimension {d.text!r} (valid: "
                            f"{', '.join(DIMENSIONS)})")
        v = r.word(f"expected the size of {d.text}")
        out.append((d.text, read_int(r, v, constants, f"expected an integer size for {d.text}"), v.i))
    r.expect("}")
    return out


def _size(r: Reader, dims: dict[str, int], constants: dict[str, int]) -> int:
    tok = r.word("expected a size (integer, constant or Sz(D))")
    if tok.text == "Sz":
        r.expect("(")
        d = r.word("expected a dimension name in Sz(...)")
        r.expect(")")
        if d.text not in dims:
            raise SpecError(f"{r.where}:{d.line}:{d.col}: Sz({d.text}): unknown dimension {d.text!r}; the layer's "
                            f"dimensions are {', '.join(dims) or 'none (Dimensions must come first)'}")
        return dims[d.text]
    value = read_int(r, tok, constants, "expected a size (integer, constant or Sz(D))")
    if value < 1:
        raise SpecError(f"{r.where}:{tok.line}:{tok.col}: size must be >= 1, got {value}")
    return value


def _fast_size(texts: list[str], i: int, dims: dict[str, int], constants: dict[str, int]) -> tuple[int, int] | None:
    """A size at token ``i`` that :func:`_size` accepts (integer or constant >= 1, ``Sz(D)`` of a known D) and
    the index after it, or None."""
    if texts[i] == "Sz":
        if i + 3 < len(texts) and texts[i + 1] == "(" and texts[i + 3] == ")" and texts[i + 2] in dims:
            return dims[texts[i + 2]], i + 4
        return None
    v = _int_text(texts[i], constants)
    return (v, i + 1) if v is not None and v >= 1 else None


def _map_fast(r: Reader, dims: dict[str, int], constants: dict[str, int]) -> Directive | None:
    """``SpatialMap|TemporalMap(size, offset) D`` read without tokens when it is valid; None otherwise (the
    general path then reads it and names any error)."""
    texts, i = r.texts, r.i
    if i + 5 >= len(texts) or texts[i] not in ("SpatialMap", "TemporalMap") or texts[i + 1] != "(":
        return None
    size = _fast_size(texts, i + 2, dims, constants)
    if size is None or size[1] >= len(texts):
        return None
    offset = _fast_size(texts, size[1], dims, constants)
    if offset is None or offset[1] + 1 >= len(texts) or texts[offset[1]] != ")":
        return None
    at = offset[1] + 1
    d = texts[at]
    if d not in DIMENSIONS or (texts[i] == "TemporalMap" and d in ("R", "S") and d in dims
                               and (size[0] != offset[0] or size[0] != dims[d])):
        return None
    r.i = at + 1
    return Directive(kind="spatial" if texts[i] == "SpatialMap" else "temporal", size=size[0], offset=offset[0],
                     dim=d, line=r.lines[at])


def _directive(r: Reader, dims: dict[str, int], constants: dict[str, int], layer: str) -> Directive:
    fast = _map_fast(r, dims, constants)
    if fast is not None:
        return fast
    tok = r.word("expected 'SpatialMap', 'TemporalMap' or 'Cluster'")
    if tok.text == "Cluster":
        r.expect("(")
        size = _size(r, dims, constants)
        kind = r.word("expected the cluster type P or L")
        if kind.text not in ("P", "L"):
            raise r.error(kind, "expected the cluster type P or L")
        r.expect(")")
        return Directive(kind="cluster", size=size, offset=size, line=tok.line)
    if tok.text not in ("SpatialMap", "TemporalMap"):
        raise r.error(tok, "expected 'SpatialMap', 'TemporalMap' or 'Cluster'")
    r.expect("(")
    size = _size(r, dims, constants)
    offset = _size(r, dims, constants)
    r.expect(")")
    d = r.word("expected the mapped dimension")
    if d.text not in DIMENSIONS:
        raise SpecError(f"{r.where}:{d.line}:{d.col}: layer {layer!r}: {tok.text} on unknown dimension {d.text!r} "
                        f"(valid: {', '.join(DIMENSIONS)})")
    if tok.text == "TemporalMap" and d.text in ("R", "S") and d.text in dims and (
            size != offset or size != dims[d.text]):
        raise SpecError(f"{r.where}:{d.line}:{d.col}: layer {layer!r}: TemporalMap on {d.text} must map the whole "
                        f"filter (size = offset = {dims[d.text]}), got ({size},{offset})")
    return Directive(kind="spatial" if tok.text == "SpatialMap" else "temporal", size=size, offset=offset,
                     dim=d.text, line=d.line)


def _check_directives(where: str, directives: list[Directive], dims: dict[str, int]) -> None:
    known = set(dims) | {"X'" if "X" in dims else "", "Y'" if "Y" in dims else "", "X" if "X'" in dims else "",
                         "Y" if "Y'" in dims else ""}
    for d in directives:
        if d.kind != "cluster" and d.dim not in known:
            raise SpecError(f"{where}: directive on line {d.line} maps dimension {d.dim!r}, which the layer does "
                            f"not have (its dimensions: {', '.join(dims)})")
    levels: list[list[Directive]] = [[]]
    for d in directives:
        if d.kind == "cluster":
            levels.append([])
        else:
            levels[-1].append(d)
    for i, level in enumerate(levels):
        spatial = [d for d in level if d.kind == "spatial"]
        if not spatial:
            raise SpecError(f"{where}: cluster level {i} has no SpatialMap (MAESTRO needs one per level)")
        if len(spatial) > 2:
            raise SpecError(f"{where}: cluster level {i} has {len(spatial)} SpatialMaps, at most 2 allowed")


def read_mapping(path: str | Path) -> DfslNetwork:
    """Read a DFSL mapping file; a missing or unreadable file is a SpecError naming it."""
    return parse_mapping(_read(path, "mapping"), str(path))


# -- hardware file -----------------------------------------------------------------------
_HW_KEYS = {"num_pes": "num_pes", "l1_size_cstr": "l1_size_bytes", "l2_size_cstr": "l2_size_bytes",
            "noc_bw_cstr": "noc_bandwidth", "offchip_bw_cstr": "offchip_bandwidth", "NoC_NumHops": "noc_hops"}


def parse_hardware(text: str, where: str = "<hardware>") -> MaestroHardware:
    """Parse a MAESTRO hardware file (``key: value`` lines); every key is required except NoC_NumHops."""
    r = Reader(text, where)
    values: dict[str, int] = {}
    while (tok := r.peek()) is not None:
        r.i += 1
        if tok.text not in _HW_KEYS:
            raise r.error(tok, f"expected one of {', '.join(_HW_KEYS)}")
        v = r.word(f"expected the value of {tok.text}")
        values[_HW_KEYS[tok.text]] = read_int(r, v, {}, f"expected an integer value for {tok.text}")
    missing = [k for k, f in _HW_KEYS.items() if f not in values and k != "NoC_NumHops"]
    if missing:
        raise SpecError(f"{where}: missing {', '.join(missing)}")
    try:
        return MaestroHardware(**values)
    except SpecError as e:
        raise SpecError(f"{where}: {e}") from None


def read_hardware(path: str | Path) -> MaestroHardware:
    return parse_hardware(_read(path, "hardware"), str(path))


def _read(path: str | Path, what: str) -> str:
    try:
        return Path(path).read_text()
    except FileNotFoundError:
        raise SpecError(f"{what} file {str(path)!r}: not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{what} file {str(path)!r}: cannot be read ({e})") from None


def check_clusters(net: DfslNetwork, hw: MaestroHardware, where: str = "<mapping>", *, strict: bool) -> list[str]:
    """Cluster sizes against the PE count. A product of Cluster sizes above the PEs is always an error;
    one that does not divide them is an error when ``strict``, else MAESTRO's behaviour (the leftover PEs
    stay idle) and returned as notes, one per layer."""
    notes: list[str] = []
    for layer in net.layers:
        product = 1
        for d in layer.directives:
            if d.kind != "cluster":
                continue
            product *= d.size
            if product > hw.num_pes:
                raise SpecError(f"{where}:{d.line}: layer {layer.written_name!r}: Cluster({d.size}) needs {product} "
                                f"PEs in all, more than the hardware's num_pes {hw.num_pes}")
            if hw.num_pes % product:
                idle = hw.num_pes % product
                msg = (f"{where}:{d.line}: layer {layer.written_name!r}: Cluster({d.size}) does not divide the "
                       f"{hw.num_pes} PEs (clusters of {product} PEs leave {idle} idle)")
                if strict:
                    raise SpecError(msg + "; MAESTRO leaves them idle, drop --strict-clusters to accept it")
                notes.append(msg + ", as MAESTRO does")
    return notes
