"""Timeloop problem -> coexplore :class:`~coexplore.spec.workload.Layer`, by projections.

A Timeloop problem names its dimensions freely (cnn-layer's M is coexplore's K), so they
are recognised by how they project onto the three tensors, not by their names: a dim in
weights and outputs is K, one in weights and inputs is C, one in all three is G
(depthwise), an input rank ``P*stride + R*dilation`` gives the output-row / filter-row
pair, and so on. The result, :class:`_Analysis`, is what the architecture and mapping
converters need to translate Timeloop names; this module depends on no other part of the
package. A projection coexplore cannot express raises
:class:`~coexplore.errors.InteropError` naming the dataspace and the projection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from coexplore.errors import InteropError, SpecError
from coexplore.spec.dims import DIMS
from coexplore.spec.workload import Layer

Term = tuple[str, int]  # (Timeloop dimension, coefficient value)


@dataclass(frozen=True, slots=True)
class _Dataspace:
    name: str
    read_write: bool
    ranks: tuple[tuple[Term, ...], ...]
    text: str  # the projection as written, for messages


@dataclass(frozen=True, slots=True)
class _Problem:
    name: str
    dims: tuple[str, ...]
    bounds: dict[str, int]
    dataspaces: tuple[_Dataspace, ...]


@dataclass(frozen=True, slots=True)
class _Analysis:
    layer: Layer
    dim_map: dict[str, str]  # Timeloop dim -> coexplore dim
    ds_names: dict[str, str]  # coexplore dataspace -> case name
    ds_of: dict[str, str]  # case name -> coexplore dataspace


def _positive_int(value: object, path: str, problems: list[str]) -> int:
    try:
        v = int(value)  # type: ignore[call-overload]
        if v > 0 and float(value) == v:  # type: ignore[arg-type]
            return v
    except (TypeError, ValueError):
        pass
    problems.append(f"{path}: must be a positive integer, got {value!r}")
    return 1


def _parse_term(raw: object, dims: tuple[str, ...], coefs: dict[str, int], path: str) -> Term:
    parts = [p.strip() for p in raw.split("*")] if isinstance(raw, str) else raw
    if not isinstance(parts, (list, tuple)) or not 1 <= len(parts) <= 2:
        raise ValueError(f"{path}: a term must be [dim] or [dim, coefficient], got {raw!r}")
    names = [p for p in parts if isinstance(p, str) and p in dims]
    if len(names) != 1:
        raise ValueError(f"{path}: a term must name exactly one problem dimension {list(dims)}, got {raw!r}")
    coef = 1
    for p in parts:
        if p == names[0]:
            continue
        if isinstance(p, str) and p in coefs:
            coef = coefs[p]
        elif isinstance(p, int) or (isinstance(p, str) and p.isdigit()):
            coef = int(p)
        else:
            raise ValueError(f"{path}: unknown coefficient {p!r} in term {raw!r}, known: {sorted(coefs)}")
    return names[0], coef


def _parse_dataspace(
    raw: object, i: int, dims: tuple[str, ...], coefs: dict[str, int], where: str
) -> _Dataspace:
    path = f"{where}: problem data_spaces[{i}]"
    if not isinstance(raw, dict) or "name" not in raw or "projection" not in raw:
        raise InteropError(f"{path}: must be a mapping with name and projection, got {raw!r}")
    name, proj = str(raw["name"]), raw["projection"]
    path = f"{path} {name!r}"
    if not isinstance(proj, list):
        raise InteropError(f"{path}.projection: must be a list of ranks, got {proj!r}")
    ranks = []
    try:
        for r, rank in enumerate(proj):
            terms: list[object]
            if isinstance(rank, str):  # "R*Wdilation + P*Wstride"
                terms = [t.strip() for t in rank.split("+")]
            elif isinstance(rank, list) and rank and all(isinstance(t, (list, tuple)) for t in rank):
                terms = list(rank)
            else:
                raise ValueError(f"{path}.projection[{r}]: a rank must be a list of terms, got {rank!r}")
            ranks.append(tuple(_parse_term(t, dims, coefs, f"{path}.projection[{r}]") for t in terms))
    except ValueError as e:
        raise InteropError(str(e)) from None
    rw = raw.get("read_write", False)
    return _Dataspace(name, rw is True or str(rw).lower() == "true", tuple(ranks), json.dumps(proj))


def _roles(dss: tuple[_Dataspace, ...], where: str) -> dict[str, _Dataspace]:
    """Which case dataspace is coexplore's weights, inputs and outputs."""
    if len(dss) != 3:
        raise InteropError(
            f"{where}: problem data_spaces: coexplore needs exactly 3 (weights, inputs, outputs), "
            f"got {[d.name for d in dss]}"
        )
    outs = [d for d in dss if d.read_write] or [d for d in dss if "out" in d.name.lower()]
    if len(outs) != 1:
        raise InteropError(
            f"{where}: problem data_spaces: exactly one must be read_write (outputs), got {len(outs)}"
        )
    rest = [d for d in dss if d is not outs[0]]
    sliding = [d for d in rest if any(len(r) > 1 or r[0][1] != 1 for r in d.ranks)]
    if len(sliding) == 1:
        inputs = sliding[0]
    else:
        by_name = [d for d in rest if re.search(r"input|ifmap|activation", d.name, re.I)]
        inputs = by_name[0] if len(by_name) == 1 else rest[1]
    weights = rest[0] if rest[1] is inputs else rest[1]
    return {"weights": weights, "inputs": inputs, "outputs": outs[0]}


def _names(pair: tuple[Term, Term | None]) -> set[str]:
    return {t[0] for t in pair if t is not None}


def _analyse(pb: _Problem, where: str) -> _Analysis:
    """Map Timeloop dims onto coexplore's N G K C P Q R S by their projections."""
    roles = _roles(pb.dataspaces, where)
    bad: list[str] = []

    def fail(ds: _Dataspace, why: str) -> None:
        bad.append(f"{where}: dataspace {ds.name!r} projection {ds.text}: {why}; coexplore cannot express it")

    seen: dict[str, set[str]] = {}
    for role, ds in roles.items():
        dims_here = [d for rank in ds.ranks for d, _ in rank]
        dup = sorted({d for d in dims_here if dims_here.count(d) > 1})
        if dup:
            fail(ds, f"dimension(s) {dup} appear more than once")
        if role != "inputs" and any(len(r) > 1 or r[0][1] != 1 for r in ds.ranks):
            fail(ds, f"the {role} tensor must be indexed by single dimensions without coefficients")
        seen[role] = set(dims_here)
    w, o = seen["weights"], seen["outputs"]
    single = {r[0][0] for r in roles["inputs"].ranks if len(r) == 1 and r[0][1] == 1}
    slides = [r for r in roles["inputs"].ranks if len(r) > 1 or r[0][1] != 1]
    dim_map: dict[str, str] = {}
    coef: dict[str, int] = {}
    pairs: list[tuple[Term, Term | None]] = []
    for rank in slides:
        outs = [t for t in rank if t[0] in o and t[0] not in w]
        filt = [t for t in rank if t[0] in w and t[0] not in o]
        if len(outs) != 1 or len(filt) > 1 or len(outs) + len(filt) != len(rank):
            fail(roles["inputs"], "a sliding rank must be output_dim*stride + filter_dim*dilation")
        else:
            pairs.append((outs[0], filt[0] if filt else None))
    if len(pairs) > 2:
        fail(roles["inputs"], f"{len(pairs)} sliding ranks, at most 2 (rows, cols) are supported")
    elif len(pairs) == 2 and _names(pairs[0]) & {"Q", "S"} and _names(pairs[1]) & {"P", "R"}:
        pairs.reverse()  # the (Q, S) rank was written first
    for (o_term, f_term), (pd, rd) in zip(pairs, (("P", "R"), ("Q", "S"))):
        dim_map[o_term[0]], coef[pd] = pd, o_term[1]
        if f_term is not None:
            dim_map[f_term[0]], coef[rd] = rd, f_term[1]
    # Dims indexing only inputs and outputs are N, or P/Q with R = S = 1 (equivalent in cost);
    # a dim named N, P or Q keeps its name, the others take the free slots in that order.
    free = [x for x in ("N", "P", "Q") if x not in dim_map.values()]
    io_only = [d for d in pb.dims if d not in dim_map and d not in w and d in single and d in o]
    for d in sorted(io_only, key=lambda d: d not in free):
        if free:
            dim_map[d] = d if d in free else free[0]
            free.remove(dim_map[d])
    by_presence = {(True, True, True): "G", (True, False, True): "K", (True, True, False): "C",
                   (False, True, True): "N"}  # fmt: skip
    for d in pb.dims:
        if d in dim_map:
            continue
        key = (d in w, d in single, d in o)
        if key in by_presence:
            dim_map[d] = by_presence[key]
        else:
            where_in = [r for r, s in (("weights", w), ("inputs", single), ("outputs", o)) if d in s]
            bad.append(
                f"{where}: problem dimension {d!r}: projects onto {where_in or 'no tensor'}, which matches "
                f"no coexplore dimension (K: weights+outputs, C: weights+inputs, N: inputs+outputs, "
                f"G: all three, P/Q/R/S: sliding input ranks)"
            )
    for c in DIMS:
        tl = [d for d, x in dim_map.items() if x == c]
        if len(tl) > 1:
            bad.append(f"{where}: problem dimensions {tl} all project like coexplore {c}; only one may")
    if bad:
        raise InteropError(bad)
    b = {c: 1 for c in DIMS} | {c: pb.bounds[d] for d, c in dim_map.items()}
    g = b["G"]
    op = "depthwise" if g > 1 and b["K"] == b["C"] == 1 else "conv"
    if op == "conv" and b["P"] == b["Q"] == b["R"] == b["S"] == 1:
        op = "fc"
    try:
        layer = Layer(
            name=pb.name, K=b["K"] * g, C=b["C"] * g, P=b["P"], Q=b["Q"], R=b["R"], S=b["S"], N=b["N"],
            stride=(coef.get("P", 1), coef.get("Q", 1)), dilation=(coef.get("R", 1), coef.get("S", 1)),
            groups=g, op=op,
        )
    except SpecError as e:
        raise InteropError([f"{where}: {p}" for p in e.problems]) from None
    ds_names = {role: ds.name for role, ds in roles.items()}
    return _Analysis(layer, dim_map, ds_names, {v: k for k, v in ds_names.items()})


def _problem(
    name: str, dims: object, bounds: dict[str, object], coefs: dict[str, int], spaces: object, where: str
) -> _Problem:
    if not isinstance(dims, list) or not dims or not all(isinstance(d, str) for d in dims):
        raise InteropError(f"{where}: problem dimensions: must be a list of names, got {dims!r}")
    problems: list[str] = []
    b = {}
    for d in dims:
        if d not in bounds:
            problems.append(f"{where}: problem bound of {d!r}: missing (instance must give every dimension)")
        else:
            b[d] = _positive_int(bounds[d], f"{where}: problem bound {d}", problems)
    if not isinstance(spaces, list):
        problems.append(f"{where}: problem data_spaces: must be a list, got {spaces!r}")
    if problems or not isinstance(spaces, list):
        raise InteropError(problems)
    dss = tuple(_parse_dataspace(s, i, tuple(dims), coefs, where) for i, s in enumerate(spaces))
    return _Problem(name, tuple(dims), b, dss)
