"""Mapping constraints as data, in the spirit of Timeloop's mapping constraints.

Per level (by name): which dims may iterate temporally, fixed factors, a fixed loop order,
the exact keep set; globally: a minimum spatial utilization and the order pruning of the
map space. They load from YAML (every mistake reported with its path), restrict the map
space that exhaustive search enumerates, and mark other mappers' candidates infeasible
(:func:`satisfied`), so every mapper searches the same space.

YAML::

    min_utilization: 0.5          # fraction of the MAC array a mapping must use
    order_pruning: classes        # or none
    levels:
      shared_glb:
        temporal_dims: [K, C, P, Q]
        factors: {R: 1}
        order: KCPQ               # outermost first; unlisted dims go inside
        keep: [inputs, outputs]
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.mapping.encoding import MappingBatch
from coexplore.spec.dims import DATASPACES, DIM_INDEX, DIMS
from coexplore.spec.hardware import Accelerator

__all__ = [
    "LevelConstraint", "MapConstraints", "constraints_from_dict", "dataflow_constraints",
    "load_constraints_yaml", "satisfied",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelConstraint:
    """Constraints on one level's part of a mapping (every field optional).

    Attributes:
        temporal_dims: Dims that may have a temporal factor > 1 here.
        factors: Fixed temporal factors {dim: factor}.
        order: A fixed loop order, outermost first (dims not listed go inside, canonically).
        keep: The exact set of dataspaces this level keeps.
    """

    temporal_dims: frozenset[str] | None = None
    factors: MappingABC[str, int] = field(default_factory=dict)
    order: tuple[str, ...] | None = None
    keep: frozenset[str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MapConstraints:
    """Constraints of a map space: per level name, plus global rules."""

    levels: MappingABC[str, LevelConstraint] = field(default_factory=dict)
    min_utilization: float = 0.0
    order_pruning: str = "classes"

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.min_utilization <= 1.0:
            problems.append(f"constraints.min_utilization: must be in [0, 1], got {self.min_utilization!r}")
        if self.order_pruning not in ("classes", "none"):
            problems.append(f"constraints.order_pruning: must be 'classes' or 'none', got {self.order_pruning!r}")
        for name, lc in self.levels.items():
            for d in set(lc.temporal_dims or ()) | set(lc.factors) | set(lc.order or ()):
                if d not in DIMS:
                    problems.append(f"constraints.levels.{name}: unknown dimension {d!r}, valid: {list(DIMS)}")
            for d, f in lc.factors.items():
                if not isinstance(f, int) or f <= 0:
                    problems.append(f"constraints.levels.{name}.factors.{d}: must be a positive integer, got {f!r}")
        if problems:
            raise SpecError(problems)




def dataflow_constraints(accelerator: Accelerator, family: str) -> MapConstraints:
    """Constraints that make every mapping of ``accelerator`` belong to a dataflow family.

    The family fixes what stays in the innermost storage (per PE) while the MAC iterates:
    ``weight`` (only N, P, Q loops there: weights stay), ``output`` (only C, R, S: partial
    sums stay), ``input`` (only K: inputs stay) or ``row`` (Eyeriss row-stationary: filter
    rows and output columns, S and Q, iterate in the PE).
    """
    inner = {"weight": "NPQ", "output": "CRS", "input": "GK", "row": "SQ"}
    if family not in inner:
        raise SpecError(f"dataflow: must be one of {', '.join(inner)}, got {family!r}")
    names = [lv.name for lv in accelerator.levels if lv.keeps]
    first = names[0]
    return MapConstraints(levels={first: LevelConstraint(temporal_dims=frozenset(inner[family]))})


_LEVEL_KEYS = ("temporal_dims", "factors", "order", "keep")


def constraints_from_dict(data: Any, path: str = "constraints") -> MapConstraints:
    """Parse the YAML form (see the module docstring); every mistake is reported at once."""
    if data is None:
        return MapConstraints()
    if not isinstance(data, MappingABC):
        raise SpecError(f"{path}: must be a mapping, got {type(data).__name__}")
    problems = [f"{path}.{k}: unknown key, valid: levels, min_utilization, order_pruning"
                for k in data if k not in ("levels", "min_utilization", "order_pruning")]
    levels: dict[str, LevelConstraint] = {}
    raw_levels = data.get("levels") or {}
    if not isinstance(raw_levels, MappingABC):
        problems.append(f"{path}.levels: must be a mapping of level name -> constraints, got {raw_levels!r}")
        raw_levels = {}
    for name, lc in raw_levels.items():
        p = f"{path}.levels.{name}"
        if not isinstance(lc, MappingABC):
            problems.append(f"{p}: must be a mapping, got {lc!r}")
            continue
        problems += [f"{p}.{k}: unknown key, valid: {', '.join(_LEVEL_KEYS)}" for k in lc if k not in _LEVEL_KEYS]
        factors = lc.get("factors") or {}
        if not isinstance(factors, MappingABC):
            problems.append(f"{p}.factors: must be a mapping of dimension -> factor, got {factors!r}")
            factors = {}
        keep = lc.get("keep")
        if keep is not None:
            bad = [k for k in keep if k not in DATASPACES]
            if bad:
                problems.append(f"{p}.keep: unknown dataspace(s) {bad}, valid: {list(DATASPACES)}")
        temporal = lc.get("temporal_dims")
        order = lc.get("order")
        levels[str(name)] = LevelConstraint(
            temporal_dims=None if temporal is None else frozenset(temporal),
            factors=dict(factors), order=None if order is None else tuple(order),
            keep=None if keep is None else frozenset(keep),
        )
    if problems:
        raise SpecError(problems)
    try:
        return MapConstraints(levels=levels, min_utilization=float(data.get("min_utilization", 0.0)),
                              order_pruning=str(data.get("order_pruning", "classes")))
    except SpecError as e:
        raise SpecError([f"{path}: {x}" if not x.startswith("constraints") else x for x in e.problems]) from None


def load_constraints_yaml(path: str | Path) -> MapConstraints:
    import yaml

    from coexplore.spec.io import read_text

    text = read_text(path, "constraints file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: malformed YAML: {e}") from None
    return constraints_from_dict(data, path=str(path))


def satisfied(constraints: MapConstraints, accelerator: Accelerator, batch: MappingBatch) -> np.ndarray:
    """bool (B,): which mappings obey the per-level constraints and the utilization floor."""
    ok = np.ones(len(batch), dtype=bool)
    names = [lv.name for lv in accelerator.levels]
    for name, lc in constraints.levels.items():
        if name not in names:
            raise SpecError(f"constraints.levels: unknown level {name!r}, valid: {names}")
        i = names.index(name)
        if lc.temporal_dims is not None:
            banned = [DIM_INDEX[d] for d in DIMS if d not in lc.temporal_dims and d not in lc.factors]
            ok &= np.all(batch.temporal[:, i, banned] == 1, axis=1)
        for d, f in lc.factors.items():
            ok &= batch.temporal[:, i, DIM_INDEX[d]] == f
        if lc.keep is not None:
            ok &= np.all(batch.keep[:, i, :] == np.array([ds in lc.keep for ds in DATASPACES]), axis=1)
        if lc.order is not None:
            fixed = np.array([DIM_INDEX[d] for d in lc.order], dtype=np.int8)
            nonunit = batch.temporal[:, i, :] > 1
            # the listed dims must come first, in that order, among the non-unit loops
            for b in np.flatnonzero(ok):
                seq = [int(x) for x in batch.order[b, i] if nonunit[b, int(x)]]
                want = [int(x) for x in fixed if nonunit[b, int(x)]]
                ok[b] = seq[: len(want)] == want
    if constraints.min_utilization > 0:
        util = np.prod(batch.spatial_x, axis=(1, 2)) * np.prod(batch.spatial_y, axis=(1, 2))
        ok &= util >= constraints.min_utilization * accelerator.mac.instances
    return ok
