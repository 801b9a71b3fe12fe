"""Cluster levels of one layer, with MAESTRO's semantics (``DFA_cluster-analysis.hpp``, ``DFA_cluster-unit.hpp``).

A dataflow is split at its ``Cluster`` directives into levels (outermost first). Each level is made
input-centric (``Y'``/``X'`` become ``Y``/``X`` with the filter size added), takes the directives of the
level above that it lacks as temporal maps, unrolls input-tensor dimensions it still lacks, and gets
its mapping sizes and offsets adjusted for convolution strides. The level below sees dimension sizes
clipped to this level's mapping sizes. The rules, including their quirks, are MAESTRO's; this module
restates them (it copies no code).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coexplore.errors import SpecError
from coexplore.maestro.dfsl import DfslLayer

__all__ = ["Cluster", "Dims", "MDirective", "Tensor", "build_clusters", "tensors_for"]

SPATIAL, TEMPORAL, CLUSTER = "spatial", "temporal", "cluster"
OVERLAPS = (("X", "S"), ("Y", "R"))  # (reference dimension, sliding dimension)


def cdiv(a: int, b: int) -> int:
    """C++ integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


@dataclass(slots=True)
class MDirective:
    """A directive as the analysis adjusts it (a layer's levels share these objects, as in MAESTRO)."""

    kind: str
    size: int
    ofs: int
    var: str


@dataclass(frozen=True, slots=True)
class Tensor:
    name: str  # input | filter | output
    is_output: bool
    coupled: tuple[str, ...]


def tensors_for(layer_type: str, batch: bool) -> tuple[Tensor, ...]:
    """The three tensors and the dimensions each depends on (MAESTRO's ``ConfigConvTensors``)."""
    n = ("N",) if batch else ()
    if layer_type == "DSCONV":
        return (Tensor("input", False, (*n, "C", "Y", "X")), Tensor("filter", False, ("C", "R", "S")),
                Tensor("output", True, (*n, "C", "Y", "X")))
    return (Tensor("input", False, (*n, "C", "Y", "X")), Tensor("filter", False, ("K", "C", "R", "S")),
            Tensor("output", True, (*n, "K", "Y", "X")))


@dataclass(slots=True)
class Dims:
    """A dimension table: sizes, outer strides, and which reference/sliding pairs overlap."""

    size: dict[str, int] = field(default_factory=dict)
    stride: dict[str, int] = field(default_factory=dict)
    overlaps: list[tuple[str, str]] = field(default_factory=list)

    def add(self, var: str, size: int, stride: int = 1) -> None:
        if var not in self.size:  # MAESTRO's std::map::insert keeps the first entry
            self.size[var] = size
            self.stride[var] = stride

    def get(self, var: str) -> int:
        if var not in self.size:
            raise SpecError(f"MAESTRO analysis: dimension {var!r} is needed but missing at this cluster level "
                            f"(known: {', '.join(sorted(self.size))})")
        return self.size[var]

    def overlapped(self, var: str) -> bool:
        return any(var in pair for pair in self.overlaps)

    def sliding(self, var: str) -> bool:
        return any(var == s for _, s in self.overlaps)

    def counterpart(self, var: str) -> str:
        out = ""
        for ref, sl in self.overlaps:
            if var == sl:
                out = ref
            elif var == ref:
                out = sl
        return out

    def is_ref(self, var: str) -> bool:
        """A reference dimension: overlapped and not sliding. The pairs are always (X, S) and (Y, R), so
        only X and Y can be one (the fast path the analysis relies on)."""
        if var != "X" and var != "Y":
            return False
        return self.overlapped(var) and not self.sliding(var)


@dataclass(slots=True)
class Cluster:
    """One cluster level: its directives, dimension table, number of sub-clusters, and the spatial
    edge figures MAESTRO derives once (``GetNumClusters(true)``, ``HasSpatialEdgeCase``)."""

    level: int
    size: int
    dataflow: list[MDirective]
    dims: Dims
    edge_clusters: int = 1
    edge_spatial_iterations: int = 0

    def find(self, var: str) -> MDirective | None:
        for d in self.dataflow:
            if d.var == var:
                return d
        return None

    def index(self, var: str) -> int:
        for i, d in enumerate(self.dataflow):
            if d.var == var:
                return i
        return len(self.dataflow)

    def init_edge(self, var: str) -> bool:
        d = self.find(var)
        if d is None:
            return False
        if d.kind == TEMPORAL:
            return d.size > self.dims.get(var)
        return d.ofs * self.size > self.dims.get(var)

    def first_spatial(self) -> MDirective:
        for d in self.dataflow:
            if d.kind == SPATIAL:
                return d
        raise SpecError(f"cluster level {self.level}: has no SpatialMap")


def _spatial_edge(c: Cluster) -> None:
    sp = c.first_spatial()
    dim, m, o, n = c.dims.get(sp.var), sp.size, sp.ofs, c.size
    full = o * (n - 1) + m
    if dim > full:
        steady = cdiv(cdiv(dim - m, o) + 1, n) - 1
        c.edge_spatial_iterations = 1 if (steady + 1) * o * n + full > dim else 0
        remaining = dim - (steady + 1) * o * n
        c.edge_clusters = 1 if remaining < m else cdiv(remaining - m, o) + 1
    else:
        c.edge_spatial_iterations = 1
        if dim > m:
            c.edge_clusters = cdiv(dim - m, o) + 1
            if o * (c.edge_clusters - 1) + m < dim:
                c.edge_clusters += 1
        else:
            c.edge_clusters = 1
    if dim <= m:
        c.edge_clusters = 1


def _input_centric(flow: list[MDirective]) -> None:
    """``X'``/``Y'`` directives become ``X``/``Y`` with the filter's mapped size added."""
    by_var = {d.var: d for d in flow}
    for out, inp, filt in (("X'", "X", "S"), ("Y'", "Y", "R")):
        if out in by_var and inp not in by_var:
            if filt not in by_var:
                raise SpecError(f"a cluster level maps {out} without mapping {filt}; MAESTRO needs the filter "
                                f"directive at the same level to convert {out} to {inp}")
            d = next(d for d in flow if d.var == out)
            d.var = inp
            d.size = d.size + by_var[filt].size - 1


def _apply_stride(flow: list[MDirective], dims: Dims, full: Dims, top: bool) -> None:
    for d in flow:
        stride = dims.stride.get(d.var)
        if stride is None:
            raise SpecError(f"MAESTRO analysis: directive on {d.var!r} has no dimension at this cluster level")
        if dims.is_ref(d.var) and stride != 1:
            target = next(x for x in flow if x.var == d.var)
            sliding = full.get(dims.counterpart(d.var))
            if target.size >= sliding:
                outputs = cdiv(target.size + stride - sliding, stride)
                new_size = outputs * min(stride, sliding) + max(sliding - stride, 0)
                new_ofs = outputs * stride
                if not top and sliding < stride:
                    new_ofs = outputs * sliding
                target.size, target.ofs = new_size, new_ofs


def build_clusters(layer: DfslLayer, flow_objects: list[MDirective], num_pes: int,
                   tensors: tuple[Tensor, ...]) -> tuple[list[Cluster], int]:
    """The cluster levels of a layer (outermost first) and the number of PEs in use.

    ``flow_objects`` are the layer's directives as mutable objects: the levels adjust them in place
    (input-centric sizes, strides), as MAESTRO does."""
    full = Dims(overlaps=list(OVERLAPS))
    strides = dict(layer.strides)
    for name, size in layer.dims:
        full.add(name, size, strides.get(name, 1))
    for out, inp, filt in (("X'", "X", "S"), ("Y'", "Y", "R")):
        if inp in full.size and out not in full.size:
            full.add(out, full.size[inp] - full.size[filt] + 1, full.stride[inp])
    sizes = [d.size for d in flow_objects if d.kind == CLUSTER]
    uppermost = 1
    for s in sizes:
        uppermost *= s
    if uppermost > num_pes:
        raise SpecError(f"Cluster sizes {' x '.join(map(str, sizes))} need {uppermost} PEs, more than the "
                        f"{num_pes} PEs (the MAESTRO binary stops with a floating-point exception)")
    if len(sizes) > 3:
        raise SpecError(f"{len(sizes)} Cluster directives; MAESTRO's driver has NoCs "
                        "for at most 4 cluster levels")
    last = sizes[-1] if sizes else num_pes
    directives = [*flow_objects, MDirective(CLUSTER, last, last, "")]
    input_vars = sorted({v for t in tensors if not t.is_output for v in t.coupled})
    units = uppermost * (num_pes // uppermost)
    level = len(sizes)
    last_size = units
    dims = full
    prev: list[MDirective] | None = None
    flow: list[MDirective] = []
    clusters: list[Cluster] = []
    for d in directives:
        if d.kind != CLUSTER:
            flow.append(d)
            continue
        _input_centric(flow)
        present = {x.var for x in flow}
        if prev is not None:
            for up in prev:
                if up.var not in present:
                    present.add(up.var)
                    flow.insert(0, MDirective(TEMPORAL, up.size, up.ofs, up.var))
        for var in input_vars:
            if var not in present and var in dims.size:
                present.add(var)
                flow.append(MDirective(TEMPORAL, dims.size[var], dims.size[var], var))
        top = level == len(sizes)
        _apply_stride(flow, dims, full, top)
        size = units // uppermost if top else last_size
        cluster = Cluster(level=level, size=size, dataflow=flow, dims=dims)
        _spatial_edge(cluster)
        clusters.append(cluster)
        last_size = d.size
        lower = Dims(overlaps=dims.overlaps)
        for var in input_vars:
            found = cluster.find(var)
            if found is None:
                raise SpecError(f"dimension {var!r} has no directive at cluster "
                                f"level {level}")
            lower.add(var, min(found.size, dims.get(var)), dims.stride.get(var, 1))
        dims = lower
        prev = flow
        flow = []
        level -= 1
    return clusters, units
