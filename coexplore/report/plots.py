"""Matplotlib figures of a report: Pareto front, convergence, energy breakdown.

Figures are built on :class:`matplotlib.figure.Figure` directly (rendered by the Agg
canvas for PNG), never through ``pyplot``: no global backend or figure registry is
touched, so reporting from a notebook or a server leaves their state alone. SVG output is
deterministic (a fixed hash salt, text as paths, no date) and :func:`figure_svg` makes it
fit for inlining in HTML: no XML prolog, DOCTYPE or metadata (the only places with
external URLs), and every ``id`` prefixed so several figures share a page without
clashing clip paths or glyphs. matplotlib is imported here only, inside the functions.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np

from coexplore.optional import require
from coexplore.report.data import ReportData, objective_unit
from coexplore.report.designs import NetworkEnergy

__all__ = ["convergence_figure", "energy_figure", "figure_svg", "pareto_figure", "save_figure"]

_RC: dict[str, Any] = {"svg.hashsalt": "coexplore-report", "svg.fonttype": "none", "font.size": 9}
_P = ParamSpec("_P")
_R = TypeVar("_R")
_ALL = "#9aa5b1"
_FRONT = "#d9480f"
_BEST = "#1c7ed6"


def _styled(build: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a figure builder under the report's rc settings (font size, SVG options)."""

    @functools.wraps(build)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        mpl = require("matplotlib", extra="report", who="coexplore report")
        with mpl.rc_context(_RC):
            return build(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> Any:
    require("matplotlib", extra="report", who="coexplore report")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _label(data: ReportData, i: int) -> str:
    unit = objective_unit(data.kind, data.study.objectives[i])
    arrow = "↑" if data.study.directions[i] == "maximize" else "↓"
    if data.study.objectives[i] == "accuracy" and data.study.config.get("problem", {}).get("precisions"):
        # no quantized NB201 evaluator exists offline: the figure says where these accuracies come from
        unit = f"{unit or '%'}, NB201 minus the user-given drop of each precision"
    return f"{data.study.objectives[i]}{f' ({unit})' if unit else ''} {arrow}"


def _scale(ax: Any, axis: str, values: np.ndarray) -> None:
    """Log scale when positive values span more than two decades (EDP often spans many)."""
    v = values[np.isfinite(values)]
    if len(v) and v.min() > 0 and v.max() / v.min() > 100:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


@_styled
def pareto_figure(data: ReportData) -> Any | None:
    """All COMPLETE trials with the front highlighted; one panel per pair of objectives
    (only the pairs of a 2-objective study are one panel). ``None`` with < 2 objectives or no
    COMPLETE trial."""
    done = data.complete
    k = len(data.study.objectives)
    if k < 2 or not done:
        return None
    values = np.array([t.values for t in done], dtype=np.float64)
    on_front = np.array([t.number in set(data.front) for t in done])
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    cols = min(3, len(pairs))
    rows = math.ceil(len(pairs) / cols)
    fig = _figure(4.2 * cols, 3.4 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (i, j) in zip(axes, pairs):
        ax.scatter(values[~on_front, i], values[~on_front, j], s=10, c=_ALL, alpha=0.6,
                   label=f"trials ({len(done)} complete)")
        fx, fy = values[on_front, i], values[on_front, j]
        ax.scatter(fx, fy, s=26, c=_FRONT, edgecolors="black", linewidths=0.4, zorder=3,
                   label=f"Pareto front ({len(data.front)})")
        if k == 2 and len(fx) > 1:
            order = np.argsort(fx)
            where = "pre" if data.study.directions[i] == "maximize" else "post"  # the dominated region's edge
            ax.step(fx[order], fy[order], where=where, color=_FRONT, linewidth=1, zorder=2)
        _scale(ax, "x", values[:, i])
        _scale(ax, "y", values[:, j])
        ax.set_xlabel(_label(data, i))
        ax.set_ylabel(_label(data, j))
        ax.grid(True, alpha=0.3)
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    axes[0].legend(loc="best", fontsize=8)
    fig.suptitle(f"{data.study.name}: Pareto front", fontsize="medium")
    return fig


@_styled
def convergence_figure(data: ReportData) -> Any | None:
    """Each trial's first objective and the best so far; below it, the normalised hypervolume
    (several objectives). ``None`` without a COMPLETE trial."""
    done = data.complete
    if not done:
        return None
    conv = data.convergence
    hv = conv.hypervolume is not None
    fig = _figure(7.5, 5.2 if hv else 3.4)
    axes = fig.subplots(2 if hv else 1, 1, sharex=True, squeeze=False).ravel()
    ax = axes[0]
    first = np.array([t.values[0] for t in done])
    ax.scatter([t.number for t in done], first, s=8, c=_ALL, alpha=0.6, label="trial")
    ax.step(conv.numbers, conv.best, where="post", color=_BEST, linewidth=1.6, label="best so far")
    _scale(ax, "y", first)
    ax.set_ylabel(_label(data, 0))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    if hv:
        assert conv.hypervolume is not None
        axes[1].step(conv.numbers, conv.hypervolume, where="post", color=_FRONT, linewidth=1.6)
        axes[1].set_ylabel(f"hypervolume ({data.study.objectives[0]} × {data.study.objectives[1]}, normalised)")
        axes[1].set_ylim(0, 1)
        axes[1].grid(True, alpha=0.3)
    axes[-1].set_xlabel("trial")
    fig.suptitle(f"{data.study.name}: convergence", fontsize="medium")
    return fig


def _energy_unit(values: np.ndarray) -> tuple[str, float]:
    top = float(np.max(values)) if values.size else 0.0
    for unit, f in (("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3)):
        if top >= f:
            return unit, f
    return "pJ", 1.0


@_styled
def energy_figure(net: NetworkEnergy, *, title: str) -> Any:
    """Stacked bars: each layer's energy, split by memory level (outermost at the bottom) and MACs."""
    from matplotlib import colormaps

    e = np.array([x.energy_pj for x in net.layers], dtype=np.float64).reshape(len(net.layers), len(net.columns))
    unit, factor = _energy_unit(e.sum(axis=1))
    n = len(net.layers)
    fig = _figure(min(18.0, max(6.0, 0.3 * n + 2.5)), 4.2)
    ax = fig.add_subplot()
    x = np.arange(n)
    bottom = np.zeros(n)
    cmap = colormaps["tab10" if len(net.columns) <= 10 else "tab20"]
    for j, col in enumerate(net.columns):
        ax.bar(x, e[:, j] / factor, bottom=bottom, width=0.8, color=cmap(j % cmap.N), label=col)
        bottom += e[:, j] / factor
    ax.set_xticks(x, [layer.name for layer in net.layers], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylabel(f"energy ({unit})")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper right", fontsize=7, ncols=min(4, len(net.columns)))
    ax.set_title(title, fontsize=9)
    return fig


def _render(fig: Any, fmt: str) -> bytes:
    mpl = require("matplotlib", extra="report", who="coexplore report")  # a module: rc_context takes any keys
    buf = io.BytesIO()
    with mpl.rc_context(_RC):
        fig.savefig(buf, format=fmt, dpi=110, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    return buf.getvalue()


_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<metadata>.*?</metadata>", re.S)


def figure_svg(fig: Any, *, prefix: str) -> str:
    """The figure as an ``<svg>`` element for inline HTML, its ids prefixed with ``prefix``."""
    text = _PROLOG.sub("", _render(fig, "svg").decode("utf-8")).strip()
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", text)
    return text.replace("<svg ", '<svg class="plot" role="img" ', 1)


def save_figure(fig: Any, stem: Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg``; returns their paths."""
    out = []
    for fmt in ("png", "svg"):
        path = stem.with_suffix(f".{fmt}")
        path.write_bytes(_render(fig, fmt))
        out.append(path)
    return out
