"""A system of engines and links drawn as a standalone SVG: engines with their tasks and stage times, every
directed link coloured by how busy it is (its time per inference over the pipeline's period), the
bottleneck (engine, link or memory) outlined in red.

Drawn by hand, like :mod:`coexplore.report.accel_svg`: a mesh on its grid, a ring or point-to-point
system on a circle; the two directions of a link are two parallel arrows. No external reference, no
script, generic fonts.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

__all__ = ["noc_svg", "write_noc_svg"]

_BOX_W, _BOX_H, _PITCH, _MARGIN = 150, 70, 230, 30
_FONT = 'font-family="sans-serif"'
_RED = "#c92a2a"


def _text(x: float, y: float, s: str, *, size: int = 11, weight: str = "normal", anchor: str = "middle",
          fill: str = "#212529") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" {_FONT} font-size="{size}" font-weight="{weight}" '
            f'text-anchor="{anchor}" fill="{fill}">{escape(s)}</text>')


def _busy_colour(frac: float) -> str:
    """Grey (idle) through orange to red (as busy as the period)."""
    if frac <= 0:
        return "#ced4da"
    f = min(frac, 1.0)
    r, g, b = int(253 - 52 * f), int(200 - 158 * f), int(120 - 78 * f)
    return f"#{r:02x}{g:02x}{b:02x}"


def _positions(system: Any) -> dict[str, tuple[float, float]]:
    if system.topology == "mesh":
        return {e: (_MARGIN + _BOX_W / 2 + c * _PITCH, _MARGIN + 60 + _BOX_H / 2 + r * _PITCH)
                for e in system.engines for r, c in [system.coords(e)]}
    n = len(system.engines)
    rad = max(_PITCH * n / (2 * math.pi), _PITCH * 0.75)
    cx = cy = _MARGIN + _BOX_W / 2 + rad
    return {e: (cx + rad * math.cos(2 * math.pi * i / n - math.pi / 2),
                60 + cy + rad * math.sin(2 * math.pi * i / n - math.pi / 2)) for i, e in enumerate(system.engines)}


def noc_svg(evaluation: Any, *, element_id: str = "noc") -> str:
    """The SVG of a :class:`~coexplore.system.evaluate.SystemEvaluation` (or anything with ``system``,
    ``profile``, ``design`` and ``result``)."""
    system, res, design, prof = evaluation.system, evaluation.result, evaluation.design, evaluation.profile
    pos = _positions(system)
    width = max(max(x for x, _ in pos.values()) + _BOX_W / 2 + _MARGIN, 560)
    height = max(y for _, y in pos.values()) + _BOX_H / 2 + _MARGIN + 30
    starts = design.starts(len(prof.blocks))
    task_of = {e: t for t, e in enumerate(design.placement)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(element_id)}" width="{width:.0f}" '
           f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">',
           f'<defs><marker id="{escape(element_id)}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
           f'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#495057"/></marker></defs>',
           _text(_MARGIN, 20, f"{system.name}: {res.throughput_per_s:.4g} inferences/s, latency "
                 f"{res.latency_ns:.4g} ns, bottleneck {res.bottleneck_kind} {res.bottleneck}", size=12,
                 weight="bold", anchor="start"),
           _text(_MARGIN, 38, prof.network if len(prof.network) <= 90 else prof.network[:87] + "...", size=10,
                 anchor="start", fill="#495057")]
    for link in system.links:
        (x0, y0), (x1, y1) = pos[link.src], pos[link.dst]
        dx, dy = x1 - x0, y1 - y0
        d = math.hypot(dx, dy) or 1.0
        ux, uy = dx / d, dy / d
        ox, oy = -uy * 7, ux * 7  # the two directions side by side
        half = _BOX_W / 2 if abs(ux) > abs(uy) else _BOX_H / 2  # leave the boxes through their side
        sx, sy, ex, ey = x0 + ux * half, y0 + uy * half, x1 - ux * half, y1 - uy * half
        frac = res.link_ns[link.id] / res.period_ns
        worst = link.id == res.bottleneck
        out.append(f'<line x1="{sx + ox:.1f}" y1="{sy + oy:.1f}" x2="{ex + ox:.1f}" y2="{ey + oy:.1f}" '
                   f'stroke="{_RED if worst else _busy_colour(frac)}" stroke-width="{5 if worst else 3}" '
                   f'marker-end="url(#{escape(element_id)}-arrow)"><title>{escape(link.id)}: '
                   f'{res.link_load_bytes[link.id]:.6g} B/inference, {res.link_ns[link.id]:.4g} ns '
                   f'({100 * frac:.0f}% of the period)</title></line>')
    for e in system.engines:
        x, y = pos[e]
        t = task_of[e]
        worst = e == res.bottleneck
        blocks = prof.blocks[starts[t]:starts[t + 1]]
        label = blocks[0].name if len(blocks) == 1 else f"{blocks[0].name} .. {blocks[-1].name}"
        out.append(f'<rect x="{x - _BOX_W / 2:.1f}" y="{y - _BOX_H / 2:.1f}" width="{_BOX_W}" height="{_BOX_H}" rx="6" '
                   f'fill="#d0ebff" stroke="{_RED if worst else "#495057"}" stroke-width="{3 if worst else 1}"/>')
        out.append(_text(x, y - 16, f"{e} ({system.accelerators[system.engines.index(e)]})", weight="bold"))
        out.append(_text(x, y + 2, f"task {t}: {label}", size=10))
        out.append(_text(x, y + 18, f"{res.engine_ns[e]:.4g} ns ({100 * res.engine_ns[e] / res.period_ns:.0f}%)",
                         size=10, fill=_RED if worst else "#212529"))
    mem = f"memory {system.memory.kind}, {system.memory.bandwidth_gb_per_s:g} GB/s"
    if res.bottleneck_kind == "memory":
        mem += " (bottleneck)"
    out.append(_text(_MARGIN, height - 10, mem + "; links grey (idle) to red (busy all the period)", size=10,
                     anchor="start", fill=_RED if res.bottleneck_kind == "memory" else "#495057"))
    out.append("</svg>")
    return "\n".join(out)


def write_noc_svg(evaluation: Any, path: str | Path) -> Path:
    """Write :func:`noc_svg` to ``path``."""
    p = Path(path)
    p.write_text(noc_svg(evaluation) + "\n")
    return p
