"""MAESTRO dataflow styles as templates: the DFSL directives of any coexplore layer on a PE count.

A template writes a layer the way MAESTRO's own example mappings of that style are written
(``data/mapping/*_kcp_ws.m`` and ``*_yxp_os.m`` in the MAESTRO repository), with the cluster size
derived from the PE count instead of fixed:

- ``dla`` (NVDLA-like, MAESTRO's ``kcp_ws``): output channels K spread over clusters, input channels C
  spread inside a cluster, weights stationary. MAESTRO's examples use ``Cluster(64)`` (NVDLA's atomic-C
  of 64); here the cluster is the largest divisor of the PE count that is at most 64 (64 for every
  PE count in NASAIC's steps of 64). A depthwise layer has one level: C spatial over all PEs.
- ``shi`` (ShiDianNao-like, MAESTRO's ``yxp_os``): output rows Y over clusters, output columns X inside
  a cluster, outputs stationary. ShiDianNao is a square PE array (MAESTRO's examples: ``Cluster(8)``,
  the 8x8 array of the original 64 PEs); here the cluster is the divisor of the PE count nearest its
  square root (the smaller on a tie), and the X tile is that many output columns (fewer when the layer
  is narrower: a tile wider than the layer makes MAESTRO price the layer at 0 cycles and 0 MACs).
- ``xp_ws`` (MAESTRO's ``xp_ws``): output columns X spread over all PEs on one level, no cluster.
- ``rs`` (Eyeriss-like row stationary, MAESTRO's ``rs`` as written in its ``mnasnet_rs.m``,
  ``squeezenet1_0_rs.m`` and ``googlenet_rs.m``): output rows Y' over clusters, and inside a cluster
  one PE per filter row (``Cluster(Sz(R))``, Y and R spatial with offset 1, so that input rows move
  diagonally as in Eyeriss' PE sets); output columns, C and a tile of 16 output channels (fewer when K is
  smaller) temporal. The cluster is the filter height of each layer, not a divisor of the PE count: the
  PEs left over when R does not divide them stay idle, as in MAESTRO (on fewer PEs than R the cluster is
  all of them and the filter rows fold). MAESTRO's examples write depthwise layers of an rs file in the
  one-level kcp_ws form; here they keep the row-stationary form (Y' over clusters of R PEs), which the
  binary prices identically to coexplore too. The other rs form among MAESTRO's examples
  (``Resnet50_rs.m``, ``vgg16_rs.m``: ``Cluster(3)`` with Y spatial over clusters) is not used: the
  binary stops on those files with a floating-point exception.

Layer translation: MAESTRO takes input sizes, so Y = (P - 1) * stride + R and X = (Q - 1) * stride + S
(the padded window, so that MAESTRO's derived output size is exactly P x Q); a batch N > 1 in any layer
adds the N dimension to every layer (MAESTRO sets a layer type's tensors from its first layer).
``groups == C == K`` is a DSCONV; other grouped convolutions are priced as ``groups`` identical CONV
layers of K/groups x C/groups run one after another (MAESTRO's NGCONV is not modelled here).
Dilation other than 1 is refused. Transposed convolutions and FC layers are priced as the loop nest
the coexplore layer describes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from coexplore.errors import SpecError
from coexplore.maestro.dfsl import DfslNetwork, parse_mapping
from coexplore.spec.workload import Layer, Network

__all__ = ["TEMPLATES", "Template", "cluster_size", "network_dfsl", "rs_cluster_size", "template",
           "to_dfsl_network"]


@dataclass(frozen=True, slots=True)
class Template:
    """A dataflow style: its name, MAESTRO's name for the style, and what it models."""

    name: str
    style: str
    doc: str


TEMPLATES = {
    "dla": Template("dla", "kcp_ws", "NVDLA-like: K over clusters, C inside a cluster, weight stationary"),
    "shi": Template("shi", "yxp_os", "ShiDianNao-like: output rows over clusters, columns inside, output stationary"),
    "xp_ws": Template("xp_ws", "xp_ws", "output columns over all PEs, one level, weight stationary"),
    "rs": Template("rs", "rs", "Eyeriss-like row stationary: output rows over clusters of R PEs, one filter row "
                   "per PE"),
}

RS_K_TILE = 16
"""Output channels per temporal step of the rs template (MAESTRO's rs examples: ``TemporalMap(16,16) K``)."""


def template(name: str) -> Template:
    if name not in TEMPLATES:
        raise SpecError(f"template: unknown {name!r}; valid: {', '.join(TEMPLATES)}")
    return TEMPLATES[name]


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)})


def cluster_size(name: str, num_pes: int) -> int:
    """The PEs per cluster of template ``name`` on ``num_pes`` PEs (always a divisor of ``num_pes``).

    ``rs`` has no single cluster size (it is each layer's filter height, see :func:`rs_cluster_size`):
    asking for it here is an error."""
    template(name)
    if num_pes < 1:
        raise SpecError(f"num_pes: must be >= 1, got {num_pes}")
    if name == "rs":
        raise SpecError("template 'rs': its cluster is each layer's filter height R (rs_cluster_size), not one "
                        "size per PE count")
    divs = _divisors(num_pes)
    if name == "dla":
        return max(d for d in divs if d <= 64)
    if name == "xp_ws":
        return num_pes  # one level: every PE is a unit of the only spatial map
    root = math.sqrt(num_pes)
    return min(divs, key=lambda d: (abs(d - root), d))


def rs_cluster_size(layer: Layer, num_pes: int) -> int:
    """PEs per cluster of the rs template for ``layer``: one per filter row, at most all ``num_pes``."""
    if num_pes < 1:
        raise SpecError(f"num_pes: must be >= 1, got {num_pes}")
    return min(layer.R, num_pes)


def _dims(layer: Layer, channels: tuple[int, int], batch_dim: bool) -> str:
    k, c = channels
    y = (layer.P - 1) * layer.stride[0] + layer.R
    x = (layer.Q - 1) * layer.stride[1] + layer.S
    batch = f"N: {layer.N}, " if batch_dim else ""
    return f"{batch}K: {k}, C: {c}, R: {layer.R}, S: {layer.S}, Y: {y}, X: {x}"


def _directives(name: str, layer: Layer, depthwise: bool, cluster: int, batch_dim: bool) -> list[str]:
    batch = ["TemporalMap(1,1) N;"] if batch_dim else []
    rs = ["TemporalMap(Sz(R),Sz(R)) R;", "TemporalMap(Sz(S),Sz(S)) S;"]
    if name == "dla":
        yx = ["TemporalMap(Sz(R),1) Y;", "TemporalMap(Sz(S),1) X;"]
        if depthwise:  # MobileNetV2_kcp_ws.m writes its DSCONV layers on one level
            return [*batch, "SpatialMap(1,1) C;", *yx, *rs]
        return [*batch, "SpatialMap(1,1) K;", f"TemporalMap({cluster},{cluster}) C;", *rs, *yx,
                f"Cluster({cluster}, P);", "SpatialMap(1,1) C;", *yx, *rs]
    if name == "rs":  # mnasnet_rs.m / squeezenet1_0_rs.m
        kt = [] if depthwise else [f"TemporalMap({min(RS_K_TILE, layer.K)},{min(RS_K_TILE, layer.K)}) K;"]
        return [*batch, "SpatialMap(1,1) Y';", "TemporalMap(1,1) X';", "TemporalMap(1,1) C;", *kt, *rs,
                f"Cluster({cluster}, P);", "SpatialMap(1,1) Y;", "SpatialMap(1,1) R;",
                "TemporalMap(Sz(S),Sz(S)) S;"]
    k = [] if depthwise else ["TemporalMap(1,1) K;"]
    if name == "xp_ws":  # MobileNetV2_xp_ws.m
        return [*batch, *k, "TemporalMap(1,1) C;", "TemporalMap(Sz(R),1) Y;", "SpatialMap(Sz(S),1) X;", *rs]
    tile = min(cluster, layer.Q)  # output columns per step; a narrower layer leaves PEs of a cluster idle
    return [*batch, *k, "TemporalMap(1,1) C;", "SpatialMap(Sz(R),1) Y;",
            f"TemporalMap({tile + layer.S - 1},{tile}) X;", *rs, f"Cluster({cluster}, P);",
            "SpatialMap(Sz(S),1) X;"]


def _kind(layer: Layer, path: str) -> tuple[str, tuple[int, int], int]:
    """MAESTRO layer type, (K, C) written, and how many times the written layer runs."""
    if layer.dilation != (1, 1):
        raise SpecError(f"{path}.dilation: MAESTRO's templates price dilation (1, 1) only, got {layer.dilation}")
    g = layer.groups
    if g == 1:
        return "CONV", (layer.K, layer.C), 1
    if g == layer.C == layer.K:
        return "DSCONV", (1, layer.C), 1
    return "CONV", (layer.K // g, layer.C // g), g


def _safe(name: str, used: set[str]) -> str:
    """A layer name MAESTRO's tokenizer keeps whole (it splits on ``-`` and ``>``)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "layer"
    out, i = base, 1
    while out in used:
        i += 1
        out = f"{base}_{i}"
    used.add(out)
    return out


def network_dfsl(network: Network, template_name: str, num_pes: int, *,
                 batch_dim: bool | None = None) -> tuple[str, tuple[int, ...]]:
    """The DFSL mapping file of ``network`` in template ``template_name`` on ``num_pes`` PEs, and per layer
    how many times it runs (``groups`` for a grouped, non-depthwise convolution, else 1). ``batch_dim``
    (default: some layer has N > 1) writes the N dimension into every layer; a layer priced alone for a
    network passes the network's choice."""
    template(template_name)
    cluster = 0 if template_name == "rs" else cluster_size(template_name, num_pes)
    if batch_dim is None:  # MAESTRO fixes a layer type's tensors on its first layer
        batch_dim = any(layer.N > 1 for layer in network.layers)
    used: set[str] = set()
    lines = [f"Network {_safe(network.name, set())} {{"]
    repeats = []
    for i, layer in enumerate(network.layers):
        kind, channels, times = _kind(layer, f"network {network.name!r}: layers[{i}] ({layer.name})")
        repeats.append(times)
        size = rs_cluster_size(layer, num_pes) if template_name == "rs" else cluster
        flow = _directives(template_name, layer, kind == "DSCONV", size, batch_dim)
        lines += [f"  Layer {_safe(layer.name, used)} {{", f"    Type: {kind}",
                  f"    Stride {{ X: {layer.stride[1]}, Y: {layer.stride[0]} }}",
                  f"    Dimensions {{ {_dims(layer, channels, batch_dim)} }}", "    Dataflow {",
                  *(f"      {d}" for d in flow), "    }", "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n", tuple(repeats)


def to_dfsl_network(network: Network, template_name: str, num_pes: int, *,
                    batch_dim: bool | None = None) -> tuple[DfslNetwork, tuple[int, ...]]:
    """:func:`network_dfsl`, parsed (the same text the MAESTRO binary would read)."""
    text, repeats = network_dfsl(network, template_name, num_pes, batch_dim=batch_dim)
    return parse_mapping(text, f"<{template_name} template of {network.name}>"), repeats
