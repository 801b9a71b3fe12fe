"""Array encoding of mapping batches: the contract between map-space code and cost kernels.

Search evaluates thousands of mappings at once, so the cost kernels never see
:class:`~coexplore.mapping.mapping.Mapping` objects, only a :class:`MappingBatch` of
dense arrays. With B mappings, L accelerator levels (innermost first) and the eight
loop dimensions in ``DIMS`` order:

* ``temporal``  int64 (B, L, 8): temporal factor per level per dimension.
* ``order``     int8  (B, L, 8): ``order[b, l, k]`` is the ``DIMS`` index of the k-th
  temporal loop of level l, outermost first.
* ``spatial_x``, ``spatial_y`` int64 (B, L, 8): spatial factors across level l's fan-out.
* ``keep``      bool  (B, L, 3): whether level l stores each dataspace (``DATASPACES`` order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coexplore.errors import MappingError
from coexplore.mapping.mapping import LevelMapping, Mapping
from coexplore.spec.dims import DATASPACES, DIM_INDEX, DIMS

__all__ = ["MappingBatch", "concat", "decode", "empty", "encode"]

_ND = len(DIMS)
_NS = len(DATASPACES)
_FIELDS = ("temporal", "order", "spatial_x", "spatial_y", "keep")
_DTYPES = {
    "temporal": np.int64, "order": np.int8, "spatial_x": np.int64, "spatial_y": np.int64, "keep": np.bool_,
}


@dataclass(frozen=True, slots=True, eq=False)
class MappingBatch:
    """B mappings of one layer on one accelerator, as dense arrays (see the module docstring).

    Arrays are not copied on construction; treat them as read-only once built.
    """

    temporal: np.ndarray
    order: np.ndarray
    spatial_x: np.ndarray
    spatial_y: np.ndarray
    keep: np.ndarray

    def __post_init__(self) -> None:
        problems = []
        shape = np.shape(self.temporal)
        if len(shape) != 3 or shape[2] != _ND:
            problems.append(f"MappingBatch.temporal: must have shape (B, L, {_ND}), got {shape}")
        else:
            for name in _FIELDS:
                arr = getattr(self, name)
                want = (*shape[:2], _NS if name == "keep" else _ND)
                if arr.shape != want:
                    problems.append(f"MappingBatch.{name}: must have shape {want}, got {arr.shape}")
                if arr.dtype != _DTYPES[name]:
                    problems.append(
                        f"MappingBatch.{name}: must have dtype {np.dtype(_DTYPES[name])}, got {arr.dtype}"
                    )
        if problems:
            raise MappingError(problems)

    def __len__(self) -> int:
        return int(self.temporal.shape[0])

    @property
    def n_levels(self) -> int:
        return int(self.temporal.shape[1])

    def take(self, idx: np.ndarray | Sequence[int] | slice | int) -> MappingBatch:
        """The sub-batch at ``idx`` (indices, a boolean mask, a slice or one index) along the batch axis."""
        if not isinstance(idx, slice):
            idx = np.asarray(idx)
            if idx.ndim == 0:
                idx = idx.reshape(1)
        return MappingBatch(
            temporal=self.temporal[idx], order=self.order[idx], spatial_x=self.spatial_x[idx],
            spatial_y=self.spatial_y[idx], keep=self.keep[idx],
        )

    def concat(self, other: MappingBatch) -> MappingBatch:
        """This batch followed by ``other``."""
        return concat([self, other])

    def factors(self) -> np.ndarray:
        """int64 (B, L, 8): temporal * spatial_x * spatial_y, the whole factor of each level."""
        return self.temporal * self.spatial_x * self.spatial_y


def empty(n_levels: int) -> MappingBatch:
    """A batch of zero mappings with ``n_levels`` levels."""
    z = (0, n_levels)
    return MappingBatch(
        temporal=np.ones((*z, _ND), np.int64), order=np.zeros((*z, _ND), np.int8),
        spatial_x=np.ones((*z, _ND), np.int64), spatial_y=np.ones((*z, _ND), np.int64),
        keep=np.zeros((*z, _NS), np.bool_),
    )


def encode(mappings: Sequence[Mapping]) -> MappingBatch:
    """Pack mappings that all have the same number of levels into one batch."""
    if not mappings:
        raise MappingError("encode: mappings must not be empty, got 0 mappings")
    n_levels = len(mappings[0].levels)
    bad = [i for i, m in enumerate(mappings) if len(m.levels) != n_levels]
    if bad:
        raise MappingError(
            [f"mappings[{i}].levels: must have {n_levels} levels like mappings[0], "
             f"got {len(mappings[i].levels)}" for i in bad]
        )
    temporal = np.array([[lm.temporal for lm in m.levels] for m in mappings], dtype=np.int64)
    spatial_x = np.array([[lm.spatial_x for lm in m.levels] for m in mappings], dtype=np.int64)
    spatial_y = np.array([[lm.spatial_y for lm in m.levels] for m in mappings], dtype=np.int64)
    order = np.array(
        [[[DIM_INDEX[d] for d in lm.order] for lm in m.levels] for m in mappings], dtype=np.int8
    )
    keep = np.array(
        [[[ds in lm.keep for ds in DATASPACES] for lm in m.levels] for m in mappings], dtype=np.bool_
    )
    return MappingBatch(temporal=temporal, order=order, spatial_x=spatial_x, spatial_y=spatial_y, keep=keep)


def decode(batch: MappingBatch, i: int) -> Mapping:
    """The ``i``-th mapping of ``batch`` as a :class:`Mapping`."""
    temporal = batch.temporal[i].tolist()
    spatial_x = batch.spatial_x[i].tolist()
    spatial_y = batch.spatial_y[i].tolist()
    order = batch.order[i].tolist()
    keep = batch.keep[i].tolist()
    levels = tuple(
        LevelMapping(
            temporal=tuple(temporal[l]),
            order=tuple(DIMS[k] for k in order[l]),
            spatial_x=tuple(spatial_x[l]),
            spatial_y=tuple(spatial_y[l]),
            keep=frozenset(ds for ds, k in zip(DATASPACES, keep[l]) if k),
        )
        for l in range(batch.n_levels)
    )
    return Mapping(levels=levels)


def concat(batches: Sequence[MappingBatch]) -> MappingBatch:
    """One batch holding the mappings of ``batches`` in order (same level count required)."""
    batches = list(batches)
    if not batches:
        raise MappingError("concat: batches must not be empty, got 0 batches")
    levels = {b.n_levels for b in batches}
    if len(levels) > 1:
        raise MappingError(f"concat: all batches must have the same number of levels, got {sorted(levels)}")
    if len(batches) == 1:
        return batches[0]
    return MappingBatch(
        **{name: np.concatenate([getattr(b, name) for b in batches], axis=0) for name in _FIELDS}
    )
