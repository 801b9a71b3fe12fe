"""Many (layer, design) pairs priced at once with MAESTRO's semantics, exactly as the scalar model prices them.

A design is a template (``dla``, ``shi``, ``xp_ws``), a PE count, a NoC bandwidth and optionally fixed L1/L2
sizes (bytes, for the area; by default the layer's own ``L1/L2 SRAM Size Req``). Why it is fast: the
analysis of a layer on a template and PE count (iteration cases, reuse, buffer counts) does not depend on
the NoC bandwidth. It runs once per (layer, template, PEs) and keeps, per cluster level, what each case's
step time needs (:class:`~coexplore.maestro.analysis.CaseCost`); :mod:`coexplore.maestro.kernels` then
times every level of every compiled layer on all bandwidths in a few numpy operations, and computes
energy (from the counts) and area (MAESTRO's per-PE sums, reproduced bit for bit) over all pairs.

The figures are those of :func:`coexplore.maestro.system.price_layers` on a network of the same layers
(energy with ``energy_quirks=False``, the summary formula: the per-layer CSV energy with quirks depends
on the previous layer, which a pair does not have). Compiled layers are cached on the
:class:`BatchPricer`, so a search that revisits a (template, PEs) pays the analysis once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from coexplore.errors import SpecError
from coexplore.maestro.analysis import LevelResult, Noc, analyze_layer
from coexplore.maestro.clusters import MDirective, build_clusters, tensors_for
from coexplore.maestro.dfsl import DfslLayer
from coexplore.maestro.energy import constants
from coexplore.maestro.kernels import Levels, area_um2, energy_nj, runtimes
from coexplore.maestro.templates import TEMPLATES, cluster_size, rs_cluster_size, to_dfsl_network
from coexplore.spec.workload import Layer, Network

__all__ = ["BatchPricer", "BatchPrices", "Designs", "price_batch"]

TENSORS = ("input", "filter", "output")


@dataclass(frozen=True, slots=True)
class Designs:
    """Designs as parallel arrays (length D): template names, PEs, NoC bandwidth (elements per cycle) and,
    optionally, fixed L1 (per PE) and L2 sizes in bytes for the area."""

    template: tuple[str, ...]
    pes: np.ndarray
    bandwidth: np.ndarray
    l1_bytes: np.ndarray | None = None
    l2_bytes: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.template)
        for name in ("pes", "bandwidth", "l1_bytes", "l2_bytes"):
            v = getattr(self, name)
            if v is None:
                continue
            a = np.asarray(v)
            if a.shape != (n,) or not np.issubdtype(a.dtype, np.integer):
                raise SpecError(f"designs.{name}: must be {n} integers (one per template), got shape {a.shape} "
                                f"of {a.dtype}")
            if n and a.min() < 1:
                raise SpecError(f"designs.{name}: must be >= 1, got {int(a.min())}")
            object.__setattr__(self, name, a.astype(np.int64))
        for i, t in enumerate(self.template):
            if t not in TEMPLATES:
                raise SpecError(f"designs.template[{i}]: unknown {t!r}; valid: {', '.join(TEMPLATES)}")


@dataclass(frozen=True, slots=True)
class BatchPrices:
    """Per (layer, design), arrays of shape (L, D); ``l1_read`` etc. are (L, D, 3) over input, filter,
    output. Runtime, energy and MACs include a grouped layer's repeats, as :func:`price_layers` does."""

    runtime_cycles: np.ndarray
    energy_nj: np.ndarray
    macs: np.ndarray
    l1_bytes: np.ndarray
    l2_bytes: np.ndarray
    area_um2: np.ndarray
    l1_read: np.ndarray
    l1_write: np.ndarray
    l2_read: np.ndarray
    l2_write: np.ndarray


@dataclass(slots=True)
class _Compiled:
    """One layer analysed on one template and PE count: its top level (cases down the tree) and counts."""

    top: LevelResult
    repeats: int
    counts: np.ndarray  # (4, 3): l1 read, l1 write, l2 read, l2 write per tensor
    macs: int
    l1_bytes: int
    l2_bytes: int


@dataclass
class BatchPricer:
    """Prices (layer, design) pairs; compiled layers are kept per (layer, template, PEs, batch dim)."""

    constant_set: str = "current"
    offchip_bandwidth: int = 50
    noc_hops: int = 1
    _compiled: dict[tuple[object, ...], _Compiled] = field(default_factory=dict, repr=False)
    _written: dict[tuple[object, ...], tuple[DfslLayer, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        constants(self.constant_set)
        if self.offchip_bandwidth < 1:
            raise SpecError(f"offchip_bandwidth: must be >= 1, got {self.offchip_bandwidth}")
        if self.noc_hops < 1:
            raise SpecError(f"noc_hops: the batch pricer needs >= 1 (a 0-cycle NoC gives negative delays that "
                            f"the scalar model prices case by case), got {self.noc_hops}")

    def compile(self, layer: Layer, template: str, pes: int, batch_dim: bool) -> _Compiled:
        key = (layer, template, pes, batch_dim)
        hit = self._compiled.get(key)
        if hit is None:
            hit = self._compiled[key] = self._analyse(layer, template, pes, batch_dim)
        return hit

    def _dfsl(self, layer: Layer, template: str, pes: int, batch_dim: bool) -> tuple[DfslLayer, int]:
        """The layer's DFSL, which depends on the PE count only through the cluster size (written once for all
        the PE counts of the same cluster size: ``dla`` has clusters of 64 on every multiple of 64)."""
        cluster = rs_cluster_size(layer, pes) if template == "rs" else cluster_size(template, pes)
        key = (layer, template, cluster, batch_dim)
        hit = self._written.get(key)
        if hit is None:
            net, repeats = to_dfsl_network(Network(name="batch", layers=(layer,)), template, pes, batch_dim=batch_dim)
            hit = self._written[key] = (net.layers[0], repeats[0])
        return hit

    def _analyse(self, layer: Layer, template: str, pes: int, batch_dim: bool) -> _Compiled:
        d, repeats = self._dfsl(layer, template, pes, batch_dim)
        tensors = tensors_for(d.layer_type, any(n == "N" for n, _ in d.dims))
        flow = [MDirective(x.kind, x.size, x.offset, x.dim) for x in d.directives]
        clusters, _ = build_clusters(d, flow, pes, tensors)
        results = analyze_layer(clusters, tensors, Noc(bandwidth=1, hops=1, hop_latency=self.noc_hops),
                                self.offchip_bandwidth, 1)
        top, inner = results[-1], results[0]
        counts = np.array([[getattr(top, f).get(t, 0) for t in TENSORS]
                           for f in ("l1_read", "l1_write", "l2_read", "l2_write")], dtype=np.int64)
        return _Compiled(top=top, repeats=repeats, counts=counts, macs=top.computations,
                         l1_bytes=sum(inner.l1_size.get(t, 0) for t in TENSORS),
                         l2_bytes=sum(top.l2_size.get(t, 0) for t in TENSORS))

    def price(self, layers: list[Layer] | tuple[Layer, ...], designs: Designs, *,
              batch_dim: bool | None = None) -> BatchPrices:
        """Every layer on every design. ``batch_dim`` (default: some layer has N > 1) is the network-wide
        choice of :func:`~coexplore.maestro.templates.network_dfsl`."""
        if batch_dim is None:
            batch_dim = any(layer.N > 1 for layer in layers)
        n_l, n_d = len(layers), len(designs.template)
        groups: dict[tuple[str, int], list[int]] = {}
        for j, (t, p) in enumerate(zip(designs.template, designs.pes.tolist(), strict=True)):
            groups.setdefault((t, p), []).append(j)
        shape: dict[Layer, int] = {}  # layers that differ only in name are analysed once
        which = [shape.setdefault(dataclasses.replace(layer, name=""), len(shape)) for layer in layers]
        progs = [[self.compile(layer, t, p, batch_dim) for layer in shape] for t, p in groups]
        flat = [c for row in progs for c in row]
        bws, bw_col = np.unique(designs.bandwidth, return_inverse=True)
        levels = Levels.from_tops([c.top for c in flat])
        rt = runtimes(levels, bws, noc_hops=self.noc_hops, offchip_bandwidth=self.offchip_bandwidth)  # (P, B)
        prog_of = np.empty((n_l, n_d), dtype=np.int64)  # row of flat for each pair
        for g, cols in enumerate(groups.values()):
            prog_of[:, cols] = (g * len(shape) + np.array(which))[:, None]
        repeats = np.array([c.repeats for c in flat], dtype=np.int64)[prog_of]
        runtime = rt[prog_of, bw_col[None, :]]
        counts = np.stack([c.counts for c in flat])[prog_of]  # (L, D, 4, 3)
        macs = np.array([c.macs for c in flat], dtype=np.int64)[prog_of]
        l1_req = np.array([c.l1_bytes for c in flat], dtype=np.int64)[prog_of]
        l2_req = np.array([c.l2_bytes for c in flat], dtype=np.int64)[prog_of]
        bad = (runtime <= 0) | (macs <= 0)
        if bad.any():
            i, j = (int(v[0]) for v in np.nonzero(bad))
            raise SpecError(f"layer {layers[i].name!r} on <{designs.template[j]},{int(designs.pes[j])},"
                            f"{int(designs.bandwidth[j])}>: MAESTRO's analysis covers {int(macs[i, j])} MACs in "
                            f"{int(runtime[i, j])} cycles (a mapping that misses the layer), not a price")
        energy = energy_nj(counts, macs, constants(self.constant_set))
        l1 = l1_req if designs.l1_bytes is None else np.broadcast_to(designs.l1_bytes, (n_l, n_d))
        l2 = l2_req if designs.l2_bytes is None else np.broadcast_to(designs.l2_bytes, (n_l, n_d))
        area = area_um2(constants(self.constant_set), np.broadcast_to(designs.pes, (n_l, n_d)),
                        np.broadcast_to(designs.bandwidth, (n_l, n_d)), l1, l2)
        return BatchPrices(runtime_cycles=runtime * repeats, energy_nj=energy * repeats, macs=macs * repeats,
                           l1_bytes=l1_req, l2_bytes=l2_req, area_um2=area, l1_read=counts[..., 0, :],
                           l1_write=counts[..., 1, :], l2_read=counts[..., 2, :], l2_write=counts[..., 3, :])


def price_batch(layers: list[Layer] | tuple[Layer, ...], designs: Designs, *, constant_set: str = "current",
                offchip_bandwidth: int = 50, noc_hops: int = 1, batch_dim: bool | None = None) -> BatchPrices:
    """Every layer on every design (a fresh :class:`BatchPricer`; keep one to reuse compiled layers)."""
    return BatchPricer(constant_set=constant_set, offchip_bandwidth=offchip_bandwidth,
                       noc_hops=noc_hops).price(layers, designs, batch_dim=batch_dim)
