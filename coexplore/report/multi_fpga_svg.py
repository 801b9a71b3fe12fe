"""A chosen multi-FPGA design (Super-LIP) drawn as a standalone SVG, in the style of :mod:`.noc_svg`.

The boards of the system spec sit on a circle (a mesh on its grid), each with how many layers use it;
every directed link is coloured by how busy it is over the whole network (the bytes the chosen splits
send over it, over the link bandwidth plus a hop per transfer, as a share of the network's latency),
idle links grey. Below, one row per layer: its split, the boards it uses, its cycles, its bound
(compute, memory or link) and its speed-up over the best one-board design; the slowest layer is in
red and the title names the bound that takes most of the time. Hand-drawn SVG, no script.
"""

from __future__ import annotations

import math
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

from coexplore.report.noc_svg import _BOX_H, _BOX_W, _MARGIN, _RED, _busy_colour, _positions, _text

__all__ = ["link_busy_cycles", "multi_fpga_svg", "write_multi_fpga_svg"]

_ROW_H = 16


def link_busy_cycles(result: Any) -> dict[str, int]:
    """Board-clock cycles each directed link of the result's system is busy over the whole network.

    Per layer, a linked pair of the split's grid exchanges input-tile parts (same row: boards that
    differ in output channels) or weight-tile parts (same column); each step sends 1/g of the tile
    each way (:mod:`coexplore.cost.fpga_multi`), ``n_tiles * n_in`` steps per layer.
    """
    cluster = result.cluster
    multi = cluster.multi
    busy = dict.fromkeys((x.id for x in cluster.system.links), 0)
    layers = [layer for net in result.networks for layer in net.layers]
    for layer, x in zip(layers, result.layers, strict=True):
        p, d = x.partition, x.design
        if p.boards == 1:
            continue
        sub = p.board_layer(layer)
        b = sub.bounds()
        tm, tn = min(d.Tm, b["K"]), min(d.Tn, b["C"])
        tr, tc = min(d.Tr, sub.P), min(d.Tc, sub.Q)
        rows = (tr - 1) * sub.stride[0] + (sub.R - 1) * sub.dilation[0] + 1
        cols = (tc - 1) * sub.stride[1] + (sub.S - 1) * sub.dilation[1] + 1
        share = {"input": tn * rows * cols / p.input_sharers, "weight": tm * tn * sub.R * sub.S / p.weight_sharers}
        steps = x.n_tiles * x.n_in
        for u, v, kind in cluster.link_pairs(p):
            per_step = math.ceil(share[kind] * d.bits / 8 / multi.link_bytes_per_cycle * (1 - 1e-12))
            cycles = steps * (per_step + multi.link_hop_cycles)
            for lid in (f"{u}->{v}", f"{v}->{u}"):
                busy[lid] += cycles
    return busy


def multi_fpga_svg(result: Any, *, element_id: str = "multi-fpga") -> str:
    """The SVG of a :class:`~coexplore.hwsearch.multi_fpga.MultiFpgaSearchResult` searched on a system spec."""
    if result.cluster is None:
        raise ValueError("multi_fpga_svg: the result has no system spec (search it with search_cluster)")
    cluster, multi = result.cluster, result.cluster.multi
    system = cluster.system
    pos = _positions(system)
    total = result.latency_cycles
    busy = link_busy_cycles(result)
    layers = result.layers
    use = Counter(e for x in layers for e in (cluster.placement(x.partition) or ()))
    by_bound: Counter[str] = Counter()
    for x in layers:
        by_bound[x.bound] += x.latency_cycles
    main_bound, main_cycles = by_bound.most_common(1)[0]
    slowest = max(range(len(layers)), key=lambda i: layers[i].latency_cycles)
    busiest = max(busy, key=lambda k: busy[k]) if busy and max(busy.values()) > 0 else None
    top = max(y for _, y in pos.values()) + _BOX_H / 2 + 30
    width = max(max(x for x, _ in pos.values()) + _BOX_W / 2 + _MARGIN, 720)
    height = top + _ROW_H * (len(layers) + 2) + 30
    ms = total / (multi.board.clock_mhz * 1e3)
    nets = ", ".join(n.name for n in result.networks)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(element_id)}" width="{width:.0f}" '
           f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">',
           f'<defs><marker id="{escape(element_id)}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
           f'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#495057"/></marker></defs>',
           _text(_MARGIN, 20, f"{system.name}: {multi.boards} x {multi.board.name}, {ms:.4g} ms, "
                 f"{result.speedup:.3g}x the best one-board design", size=12, weight="bold", anchor="start"),
           _text(_MARGIN, 38, f"{nets[:60]}: {100 * main_cycles / total:.0f}% of the time in {main_bound}-bound "
                 f"layers; slowest layer {layers[slowest].name} ({layers[slowest].bound})", size=10,
                 anchor="start", fill="#495057")]
    for link in system.links:
        (x0, y0), (x1, y1) = pos[link.src], pos[link.dst]
        dx, dy = x1 - x0, y1 - y0
        d = math.hypot(dx, dy) or 1.0
        ux, uy = dx / d, dy / d
        ox, oy = -uy * 7, ux * 7
        half = _BOX_W / 2 if abs(ux) > abs(uy) else _BOX_H / 2
        sx, sy, ex, ey = x0 + ux * half, y0 + uy * half, x1 - ux * half, y1 - uy * half
        frac = busy[link.id] / total
        worst = link.id == busiest and main_bound == "link"
        out.append(f'<line x1="{sx + ox:.1f}" y1="{sy + oy:.1f}" x2="{ex + ox:.1f}" y2="{ey + oy:.1f}" '
                   f'stroke="{_RED if worst else _busy_colour(frac)}" stroke-width="{5 if worst else 3}" '
                   f'marker-end="url(#{escape(element_id)}-arrow)"><title>{escape(link.id)}: busy '
                   f'{busy[link.id]:,} of {total:,} cycles ({100 * frac:.0f}%), {link.bandwidth_gb_per_s:g} GB/s, '
                   f'{link.hop_latency_ns:g} ns per hop</title></line>')
    for e in system.engines:
        x, y = pos[e]
        out.append(f'<rect x="{x - _BOX_W / 2:.1f}" y="{y - _BOX_H / 2:.1f}" width="{_BOX_W}" height="{_BOX_H}" '
                   f'rx="6" fill="#d3f9d8" stroke="#495057" stroke-width="1"/>')
        out.append(_text(x, y - 16, f"{e} ({multi.board.name})", weight="bold"))
        out.append(_text(x, y + 2, f"{multi.board.dsp} DSPs, {multi.board.bandwidth_gbytes_per_s:g} GB/s DDR",
                         size=10))
        out.append(_text(x, y + 18, f"used by {use.get(e, 0)} of {len(layers)} layers", size=10))
    cols = (_MARGIN, _MARGIN + 170, _MARGIN + 260, _MARGIN + 390, _MARGIN + 490, _MARGIN + 570)
    head = ("layer", "split", "boards", "cycles", "bound", "vs 1 board")
    out += [_text(c, top, h, size=10, weight="bold", anchor="start") for c, h in zip(cols, head, strict=True)]
    for i, (x, one) in enumerate(zip(layers, result.one_board, strict=True)):
        y = top + _ROW_H * (i + 1)
        fill = _RED if i == slowest else "#212529"
        cells = (x.name[:26], x.partition.label(), " ".join(cluster.placement(x.partition) or ()),
                 f"{x.latency_cycles:,}", x.bound, f"{one.latency_cycles / x.latency_cycles:.3g}x")
        out += [_text(c, y, v, size=10, anchor="start", fill=fill) for c, v in zip(cols, cells, strict=True)]
    out.append(_text(_MARGIN, height - 10, f"links {multi.link_gbytes_per_s:g} GB/s, {multi.link_hop_ns:g} ns per "
                     f"hop, memory ports {multi.ports}; links grey (idle) to red (busy the whole time)", size=10,
                     anchor="start", fill="#495057"))
    out.append("</svg>")
    return "\n".join(out)


def write_multi_fpga_svg(result: Any, path: str | Path) -> Path:
    """Write :func:`multi_fpga_svg` to ``path``."""
    p = Path(path)
    p.write_text(multi_fpga_svg(result) + "\n")
    return p
