"""Timeloop mapping directives -> coexplore :class:`~coexplore.mapping.Mapping`.

Both sources are first read into per-level :class:`_Plan` objects in Timeloop dimension
names (the case JSON directly, the YAML by :func:`_yaml_plans`), then translated by one
function, :func:`_build_mapping`, which checks that the factors multiply to the bounds.

Note: the importer is L0 but builds an L1 mapping, because a Timeloop case is a layer,
an accelerator *and* a mapping.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from coexplore.errors import InteropError
from coexplore.interop.timeloop._arch import _Comp, _split_range
from coexplore.interop.timeloop._problem import _Analysis, _Problem
from coexplore.mapping.mapping import LevelMapping, Mapping
from coexplore.spec.dims import DIMS
from coexplore.spec.hardware import Accelerator

log = logging.getLogger("coexplore.interop.timeloop")  # the package logger, one for all its modules

_BYPASS_TYPES = ("datatype", "bypass", "bypassing", "dataspace")


@dataclass(slots=True)
class _Plan:
    """One level's mapping in Timeloop dimension names, before conversion."""

    temporal: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # outermost first
    spatial_x: dict[str, int] = field(default_factory=dict)
    spatial_y: dict[str, int] = field(default_factory=dict)
    keep: set[str] | None = None  # the full keep set, if given
    add: set[str] = field(default_factory=set)
    remove: set[str] = field(default_factory=set)


def _build_mapping(plans: list[_Plan], acc: Accelerator, an: _Analysis, pb: _Problem, where: str) -> Mapping:
    problems: list[str] = []

    def conv(fs: dict[str, int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for d, f in fs.items():
            out[an.dim_map[d]] = out.get(an.dim_map[d], 1) * f
        return out

    levels = []
    for lv, plan in zip(acc.levels, plans, strict=True):
        temporal = conv(plan.temporal)
        order: list[str] = []
        for c in [an.dim_map[d] for d in plan.order] + list(DIMS):
            if temporal.get(c, 1) > 1 and c not in order:
                order.append(c)
        order += [c for c in DIMS if c not in order]
        names = (plan.keep or set()) | plan.add | plan.remove
        unknown = sorted(names - set(an.ds_of))
        if unknown:
            problems.append(f"{where}: mapping level {lv.name!r} keep/bypass: unknown dataspace(s) "
                            f"{unknown}, known: {sorted(an.ds_of)}")
            continue
        if plan.keep is not None:
            keep = {an.ds_of[n] for n in plan.keep}
        else:
            keep = (set(lv.keeps) | {an.ds_of[n] for n in plan.add}) - {an.ds_of[n] for n in plan.remove}
        if lv.is_container and keep:
            problems.append(f"{where}: mapping level {lv.name!r} keep: a spatial container stores nothing, "
                            f"got {sorted(keep)}")
            keep = set()
        sx, sy = conv(plan.spatial_x), conv(plan.spatial_y)
        levels.append(LevelMapping(
            temporal=tuple(temporal.get(c, 1) for c in DIMS), order=tuple(order),
            spatial_x=tuple(sx.get(c, 1) for c in DIMS), spatial_y=tuple(sy.get(c, 1) for c in DIMS),
            keep=frozenset(keep),
        ))
    if problems:
        raise InteropError(problems)
    mapping = Mapping(levels=tuple(levels))
    for d in pb.dims:
        got = mapping.dim_product(an.dim_map[d])
        if got != pb.bounds[d]:
            problems.append(
                f"{where}: mapping: the factors of {d} multiply to {got}, the bound is {pb.bounds[d]}"
            )
    if problems:
        raise InteropError(problems)
    return mapping


def _parse_factors(raw: object, pb: _Problem, path: str, problems: list[str]) -> dict[str, int]:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        raw = " ".join(f"{k}={v}" for k, v in raw.items())
    text = (" ".join(map(str, raw)) if isinstance(raw, list) else str(raw)).split("#")[0]
    pattern = re.compile(r"([A-Za-z_]+)\s*=*\s*([0-9]+)(,([0-9]+))?")
    out: dict[str, int] = {}
    for m in pattern.finditer(text):
        d, f = m[1], int(m[2])
        if d not in pb.dims:
            problems.append(f"{path}.factors: unknown dimension {d!r}, the problem has {list(pb.dims)}")
        elif m[4] is not None and int(m[4]) != f:
            problems.append(f"{path}.factors: residual factor {m[0]!r} (imperfect factorization) "
                            "is not supported")
        else:
            out[d] = f or pb.bounds[d]  # Timeloop reads 0 as the whole dimension
    if re.sub(r"[\s,]", "", pattern.sub("", text)):
        problems.append(f"{path}.factors: cannot parse {raw!r}, expected e.g. 'R=3 P=16'")
    return out


def _parse_permutation(raw: object, pb: _Problem, path: str, problems: list[str]) -> list[str]:
    """The permutation innermost first, padded (outermost) with the missing dims as Timeloop does."""
    if raw is None:
        toks: list[str] = []
    elif isinstance(raw, list):
        toks = [str(t) for t in raw]
    else:
        parts = [t for t in re.split(r"[\s,]+", str(raw)) if t]
        toks = parts if all(t in pb.dims for t in parts) else [ch for ch in str(raw) if ch not in " ,\t"]
    bad = sorted({t for t in toks if t not in pb.dims or toks.count(t) > 1})
    if bad:
        problems.append(f"{path}.permutation: unknown or repeated dimension(s) {bad} in {raw!r}")
        return list(pb.dims)
    return toks + [d for d in pb.dims if d not in toks]


def _yaml_plans(directives: object, comps: list[_Comp], pb: _Problem, where: str) -> list[_Plan]:
    if not isinstance(directives, list):
        raise InteropError(f"{where}: mapping: must be a list of directives, got {type(directives).__name__}")
    index: dict[str, int] = {}
    for k, c in enumerate(comps):
        index.setdefault(c.name, k)
        for alias in c.aliases:
            index.setdefault(alias, k)
    plans = [_Plan() for _ in comps]
    problems: list[str] = []
    for j, d in enumerate(directives):
        p = f"{where}: mapping[{j}]"
        if not isinstance(d, dict):
            problems.append(f"{p}: must be a mapping, got {d!r}")
            continue
        typ, target = str(d.get("type", "temporal")).lower(), d.get("target")
        i: int | None = index.get(_split_range(str(target))[0])
        if isinstance(target, int) and 0 <= target < len(comps):
            i = target
        if i is None:
            problems.append(f"{p}.target: unknown level {target!r}, levels: {list(index)}")
            continue
        plan, p = plans[i], f"{p} ({typ} @ {comps[i].name})"
        if typ in ("temporal", "spatial"):
            factors = _parse_factors(d.get("factors"), pb, p, problems)
            perm = _parse_permutation(d.get("permutation"), pb, p, problems)
            if typ == "temporal":
                plan.temporal, plan.order = factors, perm[::-1]
            else:
                split = int(d.get("split", len(pb.dims)))
                plan.spatial_x = {x: factors[x] for k, x in enumerate(perm) if k < split and x in factors}
                plan.spatial_y = {x: factors[x] for k, x in enumerate(perm) if k >= split and x in factors}
        elif typ in _BYPASS_TYPES:
            for n in d.get("keep") or ():
                plan.add.add(n)
                plan.remove.discard(n)
            for n in d.get("bypass") or ():
                plan.remove.add(n)
                plan.add.discard(n)
        elif typ == "skew":
            log.warning("Timeloop import %s: skew directives are not modelled by coexplore, ignored", p)
        else:
            problems.append(
                f"{p}.type: must be temporal, spatial or one of {list(_BYPASS_TYPES)}, got {typ!r}"
            )
    if problems:
        raise InteropError(problems)
    return plans
