"""What predictors read about a batch of architectures: graphs, vectors and counts.

A search space (``coexplore.nas``) builds one :class:`ArchFeatures` for a list of
architectures; every predictor takes the fields it needs and names the one that is
missing. Keeping the features as plain arrays keeps predictors free of any space.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from coexplore.errors import SpecError

__all__ = ["ArchFeatures"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ArchFeatures:
    """Inputs of the predictors for ``n`` architectures; a field is None when the space has no such view.

    Attributes:
        adjacency: float32 (n, V, V); ``adjacency[i, a, b] = 1`` for an edge a -> b. Nodes are in
            topological order, node 0 is the input and the last real node the output;
            smaller graphs are padded with all-zero nodes at the end.
        node_ops: float32 (n, V, F), a one-hot operation per node (all-zero for padding nodes).
        vector: float32 (n, D), a fixed-length encoding (e.g. one-hot operation per edge).
        flops: float64 (n,), multiply-accumulates of the whole network.
        params: float64 (n,), trainable parameters of the whole network.
        op_counts: float64 (n, T), how many times each operation kind (e.g. "3x3 conv in
            stage 2") occurs; a lookup-table predictor sums one latency per kind.
        op_names: The T kinds of ``op_counts`` (for reports and lookup tables).
        graph_counts: float64 (n, G), counts that say what a graph compiler can remove or fold:
            each operation kind split by whether it is live, dead-ended (its output is only ever
            multiplied by zero) or zero-fed (its input is always zero), element-wise adds, and whether
            the whole network is a constant. Device runtimes differ exactly there (issue 20).
        graph_count_names: The G kinds of ``graph_counts``.
    """

    adjacency: np.ndarray | None = None
    node_ops: np.ndarray | None = None
    vector: np.ndarray | None = None
    flops: np.ndarray | None = None
    params: np.ndarray | None = None
    op_counts: np.ndarray | None = None
    op_names: tuple[str, ...] = ()
    graph_counts: np.ndarray | None = None
    graph_count_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        sizes = {f.name: len(v) for f in fields(self)
                 if isinstance(v := getattr(self, f.name), np.ndarray)}
        if len(set(sizes.values())) > 1:
            raise SpecError(f"ArchFeatures: every array must have the same first dimension, got {sizes}")
        if self.op_counts is not None and self.op_names and self.op_counts.shape[1] != len(self.op_names):
            raise SpecError(f"ArchFeatures.op_names: must name the {self.op_counts.shape[1]} op_counts "
                            f"columns, got {len(self.op_names)} names")

    def __len__(self) -> int:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                return len(v)
        return 0

    def take(self, idx: Any) -> ArchFeatures:
        """The rows ``idx`` (indices or a boolean mask) of every array."""
        idx = np.asarray(idx)
        kw: dict[str, Any] = {f.name: (v[idx] if isinstance(v := getattr(self, f.name), np.ndarray) else v)
                              for f in fields(self)}
        return ArchFeatures(**kw)

    def require(self, name: str, who: str) -> np.ndarray:
        """The array ``name``, or a SpecError saying that predictor ``who`` needs it."""
        v = getattr(self, name)
        if v is None:
            raise SpecError(f"{who}: needs the {name!r} features, which this search space does not provide")
        return np.asarray(v)
