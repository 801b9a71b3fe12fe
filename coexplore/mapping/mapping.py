"""Mappings: how one layer's loop nest is scheduled onto an accelerator.

A :class:`Mapping` has one :class:`LevelMapping` per accelerator level, innermost
first. Each holds the temporal tiling factors with their loop order (outermost
first), the spatial factors that spread this level's tile across its fan-out along X
and Y, and which dataspaces the level keeps (the rest bypass it). Loop nest, outermost
first: top level temporal, top level spatial (Y then X), next level temporal, ... ,
innermost level spatial, MAC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass

from coexplore.errors import MappingError
from coexplore.spec.dims import DATASPACES, DIMS

__all__ = ["LevelMapping", "Mapping"]

_ONES = (1,) * len(DIMS)
_KEYS = ("name", "temporal", "order", "spatial_x", "spatial_y", "keep")


def _as_factors(value: object, path: str, problems: list[str]) -> tuple[int, ...]:
    if isinstance(value, MappingABC):
        bad = sorted(set(value) - set(DIMS))
        if bad:
            problems.append(f"{path}: unknown dimension(s) {bad}, valid: {list(DIMS)}")
        vals = tuple(value.get(d, 1) for d in DIMS)
    else:
        vals = tuple(value)  # type: ignore[arg-type]
        if len(vals) != len(DIMS):
            problems.append(f"{path}: must have {len(DIMS)} factors ({''.join(DIMS)}), got {len(vals)}")
            return _ONES
    for d, v in zip(DIMS, vals, strict=True):
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            problems.append(f"{path}.{d}: must be a positive integer, got {v!r}")
    return tuple(int(v) if isinstance(v, int) and v > 0 else 1 for v in vals)


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelMapping:
    """The part of a mapping that belongs to one level.

    Attributes:
        temporal: Temporal factor per dimension, in ``DIMS`` order.
        order: All dimensions, outermost loop first (factor-1 loops are no-ops).
        spatial_x, spatial_y: Spatial factors per dimension across this level's fan-out.
        keep: Dataspaces stored at this level.
    """

    temporal: tuple[int, ...] = _ONES
    order: tuple[str, ...] = DIMS
    spatial_x: tuple[int, ...] = _ONES
    spatial_y: tuple[int, ...] = _ONES
    keep: frozenset[str] = frozenset(DATASPACES)

    def __post_init__(self) -> None:
        problems: list[str] = []
        for f in ("temporal", "spatial_x", "spatial_y"):
            object.__setattr__(self, f, _as_factors(getattr(self, f), f, problems))
        order = tuple(self.order)
        if sorted(order) != sorted(DIMS):
            problems.append(f"order: must be a permutation of {''.join(DIMS)}, got {''.join(order)!r}")
        object.__setattr__(self, "order", order)
        keep = frozenset(self.keep)
        bad = sorted(keep - set(DATASPACES))
        if bad:
            problems.append(f"keep: unknown dataspace(s) {bad}, valid: {list(DATASPACES)}")
        object.__setattr__(self, "keep", keep)
        if problems:
            raise MappingError(problems)

    def factor(self, dim: str) -> int:
        i = DIMS.index(dim)
        return self.temporal[i] * self.spatial_x[i] * self.spatial_y[i]

    @property
    def spatial_size(self) -> tuple[int, int]:
        return math.prod(self.spatial_x), math.prod(self.spatial_y)

    def temporal_loops(self) -> list[tuple[str, int]]:
        """Temporal loops with factor > 1, outermost first."""
        idx = {d: i for i, d in enumerate(DIMS)}
        return [(d, self.temporal[idx[d]]) for d in self.order if self.temporal[idx[d]] > 1]

    def to_dict(self) -> dict[str, object]:
        return {
            "temporal": {d: f for d, f in zip(DIMS, self.temporal, strict=True) if f > 1},
            "order": "".join(self.order),
            "spatial_x": {d: f for d, f in zip(DIMS, self.spatial_x, strict=True) if f > 1},
            "spatial_y": {d: f for d, f in zip(DIMS, self.spatial_y, strict=True) if f > 1},
            "keep": sorted(self.keep, key=DATASPACES.index),
        }

    @classmethod
    def from_dict(cls, data: MappingABC[str, object]) -> LevelMapping:
        """Parse the ``to_dict`` form; every malformed field is reported at once."""
        if not isinstance(data, MappingABC):
            raise MappingError(f"level mapping: must be a mapping, got {type(data).__name__}")
        problems = [f"{k}: unknown key, valid: {', '.join(_KEYS)}" for k in data if k not in _KEYS]
        order = data.get("order", "".join(DIMS))
        if not isinstance(order, (str, list, tuple)):
            problems.append(f"order: must be a string like 'NGKCPQRS', got {order!r}")
            order = DIMS
        keep = data.get("keep", list(DATASPACES))
        if not isinstance(keep, (list, tuple, set, frozenset)):
            problems.append(f"keep: must be a list of dataspaces, got {keep!r}")
            keep = DATASPACES
        factors = {}
        for key in ("temporal", "spatial_x", "spatial_y"):
            v = data.get(key, {})
            if not isinstance(v, (MappingABC, list, tuple)):
                problems.append(f"{key}: must be a mapping of dimension -> factor, got {v!r}")
                v = {}
            factors[key] = v
        if problems:
            raise MappingError(problems)
        return cls(
            temporal=factors["temporal"],  # type: ignore[arg-type]
            order=tuple(order),
            spatial_x=factors["spatial_x"],  # type: ignore[arg-type]
            spatial_y=factors["spatial_y"],  # type: ignore[arg-type]
            keep=frozenset(str(x) for x in keep),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Mapping:
    """One :class:`LevelMapping` per accelerator level, innermost first."""

    levels: tuple[LevelMapping, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))

    def dim_product(self, dim: str) -> int:
        return math.prod(lm.factor(dim) for lm in self.levels)

    def to_dict(self, level_names: list[str] | None = None) -> dict[str, object]:
        names = level_names or [f"L{i}" for i in range(len(self.levels))]
        return {"levels": [{"name": n, **lm.to_dict()} for n, lm in zip(names, self.levels, strict=True)]}

    @classmethod
    def from_dict(cls, data: MappingABC[str, object]) -> Mapping:
        levels = data.get("levels")
        if not isinstance(levels, list):
            raise MappingError(f"mapping.levels: must be a list, got {type(levels).__name__}")
        out = []
        problems: list[str] = []
        for i, lv in enumerate(levels):
            try:
                out.append(LevelMapping.from_dict(lv))
            except MappingError as e:
                problems += [f"mapping.levels[{i}].{p}" for p in e.problems]
        if problems:
            raise MappingError(problems)
        return cls(levels=tuple(out))
