"""An accelerator drawn as a standalone SVG: memory levels from DRAM down to the MAC array.

Drawn by hand rather than with matplotlib because the picture is a diagram, not a chart:
boxes (one per level, outermost at the top, with its size, instances and the dataspaces
it keeps; a replicated level drawn as a stack), arrows between them labelled with the
fan-out and the loop dimensions each array axis may unroll there (the connectivity, i.e.
the dataflow family), and the MAC array as a grid of its ``mesh_x`` x ``mesh_y``. Arrays
wider or taller than :data:`MAX_CELLS` show that many cells and say how many there are,
so a 256 x 256 systolic array stays readable. The SVG has no external reference, no
script and only generic fonts; ids are unique per drawing (``element_id`` prefix).
"""

from __future__ import annotations

from html import escape

from coexplore.spec.dims import DIMS
from coexplore.spec.hardware import Accelerator, MemoryLevel

__all__ = ["MAX_CELLS", "accelerator_svg"]

MAX_CELLS = 32
"""Most MAC cells drawn along one axis of the array."""

_WIDTH = 640
_MARGIN = 16
_BOX_H = 58
_GAP = 40
_FILL = {"dram": "#e9ecef", "sram": "#d0ebff", "regfile": "#d3f9d8", "container": "#fff3bf"}
_FONT = 'font-family="sans-serif"'


def _bytes(bits: int) -> str:
    b = bits / 8
    for unit, f in (("MiB", 2**20), ("KiB", 2**10)):
        if b >= f:
            return f"{b / f:.3g} {unit}"
    return f"{b:.3g} B"


def _dims(dims: frozenset[str]) -> str:
    if dims >= frozenset(DIMS):
        return "any dim"
    return ",".join(d for d in DIMS if d in dims) or "nothing"


def _text(x: float, y: float, s: str, *, size: int = 11, weight: str = "normal", anchor: str = "start",
          fill: str = "#212529") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" {_FONT} font-size="{size}" font-weight="{weight}" '
            f'text-anchor="{anchor}" fill="{fill}">{escape(s)}</text>')


def _level_box(lv: MemoryLevel, y: float, n_macs: int) -> list[str]:
    x, w = _MARGIN, _WIDTH - 2 * _MARGIN - 8
    fill = _FILL.get(lv.technology_class or "", "#f8f9fa")
    out = []
    if lv.instances > 1:  # a stack: this level is replicated
        for off in (8, 4):
            out.append(f'<rect x="{x + off}" y="{y + off}" width="{w}" height="{_BOX_H}" rx="6" fill="{fill}" '
                       f'stroke="#495057" stroke-width="0.8" opacity="0.7"/>')
    out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{_BOX_H}" rx="6" fill="{fill}" stroke="#212529" '
               f'stroke-width="1.2"/>')
    if lv.size_words is None:
        size = "size: unbounded"
    else:
        size = f"size: {lv.size_words:,} words × {lv.word_bits} b = {_bytes(lv.size_words * lv.word_bits)}"
        size += " per instance" if lv.instances > 1 else ""
    inst = f"instances: {lv.instances}"
    if lv.instances > 1:
        inst += f" ({lv.mesh_x}×{lv.mesh_y}{', one per MAC' if lv.instances == n_macs else ''})"
    keeps = "keeps: " + (", ".join(sorted(lv.keeps)) if lv.keeps else "nothing (spatial container)")
    out.append(_text(x + 10, y + 17, f"{lv.name}  [{lv.technology_class}]", size=12, weight="bold"))
    out.append(_text(x + 10, y + 34, size))
    out.append(_text(x + 10, y + 50, f"{inst} · {keeps}"))
    return out


def _arrow(y: float, label: str) -> list[str]:
    cx = _MARGIN + 40
    out = [f'<line x1="{cx}" y1="{y + 2}" x2="{cx}" y2="{y + _GAP - 8}" stroke="#495057" stroke-width="1.5"/>',
           f'<polygon points="{cx - 5},{y + _GAP - 9} {cx + 5},{y + _GAP - 9} {cx},{y + _GAP - 1}" '
           f'fill="#495057"/>']
    if label:
        out.append(_text(cx + 14, y + _GAP / 2 + 4, label, size=11, fill="#862e9c"))
    return out


def _fanout_label(acc: Accelerator, i: int) -> str:
    fx, fy = acc.fanout(i)
    if fx == fy == 1:
        return ""
    lv = acc.levels[i]
    parts = [f"fan-out {fx}×{fy}"]
    if fx > 1:
        parts.append(f"X unrolls {_dims(lv.spatial_dims_x)}")
    if fy > 1:
        parts.append(f"Y unrolls {_dims(lv.spatial_dims_y)}")
    return " · ".join(parts)


def _axis_dims(acc: Accelerator, axis: int) -> str:
    dims: set[str] = set()
    for i, lv in enumerate(acc.levels):
        if acc.fanout(i)[axis] > 1:
            dims |= lv.spatial_dims_x if axis == 0 else lv.spatial_dims_y
    return _dims(frozenset(dims)) if dims else "no fan-out"


def _groups(acc: Accelerator) -> tuple[int, int, str]:
    """MACs per group along X and Y: the finest replicated level above the MACs (a PE of Simba's
    vector MACs), or (1, 1, "") when every level is per MAC or global."""
    mac = acc.mac
    inner = [lv for lv in acc.levels if 1 < lv.instances < mac.instances]
    if not inner:
        return 1, 1, ""
    lv = max(inner, key=lambda x: x.instances)
    gx, gy = mac.mesh_x // lv.mesh_x, mac.mesh_y // lv.mesh_y
    return gx, gy, f"grouped {gx}×{gy} MACs per {lv.name} instance ({lv.mesh_x}×{lv.mesh_y} groups)"


def _array(acc: Accelerator, y: float, element_id: str) -> tuple[list[str], float]:
    mac = acc.mac
    nx, ny = min(mac.mesh_x, MAX_CELLS), min(mac.mesh_y, MAX_CELLS)
    gx, gy, grouping = _groups(acc)
    cell = min(16.0, (_WIDTH - 2 * _MARGIN - 120) / nx, 320 / ny)
    gap = cell * 0.5

    def pos(i: int, group: int) -> float:
        return i * cell + (i // group) * gap if group > 1 else i * cell

    x0 = _MARGIN + 10
    out = [_text(_MARGIN, y + 14, f"MAC array: {mac.mesh_x}×{mac.mesh_y} = {mac.instances:,} MACs "
                                  f"({mac.bits}-bit)", size=12, weight="bold")]
    top = y + 24
    stroke = 0.6 if cell > 6 else 0.3
    out.append(f'<g id="{escape(element_id)}-grid" fill="#ffe8cc" stroke="#d9480f" stroke-width="{stroke}">')
    for r in range(ny):
        for c in range(nx):
            out.append(f'<rect x="{x0 + pos(c, gx):.1f}" y="{top + pos(r, gy):.1f}" width="{cell * 0.86:.1f}" '
                       f'height="{cell * 0.86:.1f}"/>')
    out.append("</g>")
    right, bottom = x0 + pos(nx - 1, gx) + cell, top + pos(ny - 1, gy) + cell
    if mac.mesh_x > nx:
        out.append(_text(right + 4, top + min(ny, 2) * cell, f"… {mac.mesh_x} columns", size=10))
    if mac.mesh_y > ny:
        out.append(_text(x0, bottom + 12, f"⋮ {mac.mesh_y} rows", size=10))
        bottom += 14
    lines = [f"X ({mac.mesh_x} columns): unrolls {_axis_dims(acc, 0)}",
             f"Y ({mac.mesh_y} rows): unrolls {_axis_dims(acc, 1)}", *([grouping] if grouping else [])]
    out += [_text(x0, bottom + 16 * (k + 1), line) for k, line in enumerate(lines)]
    return out, bottom + 16 * len(lines) + 10


def accelerator_svg(acc: Accelerator, *, element_id: str) -> str:
    """The ``<svg id="element_id">`` drawing of ``acc`` (levels outermost first, then the MAC array)."""
    body: list[str] = [_text(_MARGIN, 20, f"{acc.name} · {acc.clock_ghz:g} GHz · {acc.technology} · "
                                          f"{acc.area_mm2:.3g} mm²", size=13, weight="bold")]
    y = 32.0
    for i in range(len(acc.levels) - 1, -1, -1):
        lv = acc.levels[i]
        body += _level_box(lv, y, acc.n_macs)
        y += _BOX_H + (8 if lv.instances > 1 else 0)
        body += _arrow(y, _fanout_label(acc, i))
        y += _GAP
    grid, y = _array(acc, y, element_id)
    body += grid
    height = int(y + _MARGIN)
    title = (f"Accelerator {acc.name}: {len(acc.levels)} memory levels above a {acc.mac.mesh_x}×{acc.mac.mesh_y} "
             "MAC array")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(element_id)}" class="accelerator" '
            f'viewBox="0 0 {_WIDTH} {height}" width="{_WIDTH}" height="{height}" role="img">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")
