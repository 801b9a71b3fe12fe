"""One self-contained HTML page of a study: nothing external, everything inline.

The page must open from an e-mail attachment or an air-gapped machine, so it has no
script, no link, no web font and no URL: the style sheet is inline, the plots are inline
SVG (:func:`~coexplore.report.plots.figure_svg`), the accelerators are drawn as inline SVG
(:func:`~coexplore.report.accel_svg.accelerator_svg`) and the tables are HTML.

Stable element ids (tests and scripts find the sections by them): ``trials-summary``,
``pareto`` (several objectives) or ``best-list`` (one objective) and ``convergence`` (searches),
``layers`` (mapping studies, instead of those two), ``best-designs``, and per detailed design ``design-I``,
``energy-I-J`` (table of network J), ``energy-plot-I-J`` and ``accelerator-I`` (its drawing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np

from coexplore.report.accel_svg import accelerator_svg
from coexplore.report.data import ReportData, objective_unit
from coexplore.report.designs import DesignReport, NetworkEnergy, designer
from coexplore.report.export import scalar_params
from coexplore.report.plots import convergence_figure, energy_figure, figure_svg, pareto_figure

__all__ = ["render_html"]

LONG_TABLE = 40
"""Per-layer tables longer than this start folded (``<details>``, no script needed)."""

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1180px;
padding:0 20px 40px;color:#212529;line-height:1.4}
h1{margin:24px 0 4px}h2{border-bottom:2px solid #dee2e6;padding-bottom:4px;margin-top:36px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #dee2e6;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.total td{font-weight:bold;background:#f8f9fa}
.sub{color:#495057}.note{color:#495057;font-style:italic}.empty{color:#c92a2a;font-weight:bold}
.scroll{overflow-x:auto}svg.plot{max-width:100%;height:auto}svg.plot.wide{max-width:none}
svg.accelerator{max-width:100%;height:auto}summary{cursor:pointer;color:#1c7ed6}
article.design{border:1px solid #dee2e6;border-radius:8px;padding:4px 16px 12px;margin:18px 0}
code{background:#f1f3f5;padding:0 3px;border-radius:3px;font-size:12px}
"""


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return "—" if not np.isfinite(v) else f"{float(v):.4g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return str(v)


def _cell(v: Any) -> str:
    num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    return f'<td class="num">{escape(_fmt(v))}</td>' if num else f"<td>{escape(_fmt(v))}</td>"


def _table(headers: Sequence[str] | None, rows: Sequence[Sequence[Any]], *, id_: str | None = None,
           total: Sequence[Any] | None = None) -> str:
    head = "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr></thead>" if headers else ""
    body = "".join("<tr>" + "".join(_cell(v) for v in r) + "</tr>" for r in rows)
    if total is not None:
        body += '<tr class="total">' + "".join(_cell(v) for v in total) + "</tr>"
    ident = f' id="{id_}"' if id_ else ""
    return f'<div class="scroll"><table{ident}>{head}<tbody>{body}</tbody></table></div>'


def _kv(pairs: Sequence[tuple[str, Any]]) -> str:
    return _table(None, pairs)


def _param_pairs(params: dict[str, Any]) -> list[tuple[str, Any]]:
    """Scalars (mappings flattened) and lists joined; the raw search vector ``x`` left out (CSV/JSON have it)."""
    shown = {k: v for k, v in params.items() if k != "x"}
    flat = scalar_params(shown)
    flat.update({k: ",".join(map(str, v)) for k, v in shown.items() if isinstance(v, list)})
    return list(flat.items())


def _params_text(params: dict[str, Any]) -> str:
    return "; ".join(f"{k}={_fmt(v)}" for k, v in _param_pairs(params))


def _obj_headers(data: ReportData) -> list[str]:
    out = []
    for o, d in zip(data.study.objectives, data.study.directions):
        unit = objective_unit(data.kind, o)
        out.append(f"{o}{f' ({unit})' if unit else ''} {'↑' if d == 'maximize' else '↓'}")
    return out


def _when(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _summary(data: ReportData) -> str:
    cfg = data.study.config
    strat = cfg.get("strategy", {})
    pairs: list[tuple[str, Any]] = [(f"problem.{k}", v) for k, v in cfg.get("problem", {}).items()]
    pairs += [("objectives", ", ".join(f"{o} ({d})" for o, d in zip(data.study.objectives, data.study.directions))),
              ("strategy", f"{strat.get('name', '')} {strat.get('params', {}) or ''}".strip()),
              ("budget (trials)", cfg.get("budget", {}).get("trials")), ("seed", cfg.get("seed")),
              ("created", _when(data.study.created)), ("last update", _when(data.study.updated))]
    counts = data.counts
    rows = [[s, n] for s, n in counts.items()]
    parts = ['<section id="trials-summary"><h2>Study and trials</h2>', _kv(pairs), "<h3>Trials by state</h3>",
             _table(["state", "trials"], rows, id_="trial-counts", total=["total", len(data.trials)])]
    if data.reasons():
        parts += ["<h3>Why trials did not complete</h3>",
                  _table(["reason (most common first)", "trials"], [list(r) for r in data.reasons()])]
    if not data.complete:
        parts.append('<p class="empty">No trial completed: there is no front, no convergence and no best design '
                     f"to show ({len(data.trials)} trials in all).</p>")
    return "".join(parts) + "</section>"


def _plot(fig: Any, prefix: str, *, wide: bool = False) -> str:
    svg = figure_svg(fig, prefix=prefix)
    if wide:  # at its own size, in a scrolling box: a 50-layer bar chart is unreadable shrunk
        svg = svg.replace('class="plot"', 'class="plot wide"', 1)
    return f'<figure id="{prefix}">{svg}</figure>'


def _trial_rows(data: ReportData, numbers: Sequence[int]) -> list[list[Any]]:
    return [[n, *data.trial(n).values, _params_text(data.trial(n).params)] for n in numbers]


def _front(data: ReportData) -> str:
    headers = ["trial", *_obj_headers(data), "parameters"]
    if len(data.study.objectives) == 1:
        body = (_table(headers, _trial_rows(data, data.best), id_="best-table") if data.best else
                '<p class="empty">No complete trial: no best list.</p>')
        return f'<section id="best-list"><h2>Best trials ({data.study.objectives[0]})</h2>{body}</section>'
    fig = pareto_figure(data)
    if fig is None:
        return '<section id="pareto"><h2>Pareto front</h2><p class="empty">No complete trial: no front.</p></section>'
    return (f'<section id="pareto"><h2>Pareto front</h2><p class="sub">{len(data.front)} non-dominated of '
            f"{len(data.complete)} complete trials, ordered by {data.study.objectives[0]}.</p>"
            + _plot(fig, "pareto-plot") + _table(headers, _trial_rows(data, data.best), id_="front-table")
            + "</section>")


def _convergence(data: ReportData) -> str:
    fig = convergence_figure(data)
    if fig is None:
        return ('<section id="convergence"><h2>Convergence</h2><p class="empty">No complete trial: no convergence '
                "curve.</p></section>")
    conv = data.convergence
    text = f"Best {data.study.objectives[0]} after each trial."
    if conv.hypervolume is not None and conv.reference is not None:
        first, second = data.study.objectives[:2]
        text += (f" Hypervolume of ({first}, {second}) normalised to the box from the "
                 f"ideal point {_fmt(conv.ideal)} to the reference point {_fmt(conv.reference)} (10 % of the range "
                 f"beyond the worst values); final {conv.hypervolume[-1]:.4f}.")
    return f'<section id="convergence"><h2>Convergence</h2><p class="sub">{escape(text)}</p>' \
           + _plot(fig, "convergence-plot") + "</section>"


def _layers(data: ReportData) -> str:
    rows = [[t.number, t.params.get("layer", ""), t.params.get("shape", ""), t.params.get("repeats", ""),
             t.params.get("macs", ""), *t.values, t.state.value, t.reason] for t in data.trials]
    headers = ["trial", "layer", "shape", "repeats", "MACs", *_obj_headers(data), "state", "reason"]
    return ('<section id="layers"><h2>Mapped cost per layer shape</h2><p class="sub">One trial per distinct layer '
            "shape (biggest first), as the study mapped it; the trials are parts of one network, not competing "
            "designs, so there is no front or convergence curve: the network's totals are under Best designs.</p>"
            + _table(headers, rows, id_="layers-table") + "</section>")


def _energy_scale(net: NetworkEnergy) -> tuple[str, float]:
    top = max((x.total_pj for x in net.layers), default=0.0)
    return next(((u, f) for u, f in (("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3)) if top >= f), ("pJ", 1.0))


def _network(i: int, j: int, net: NetworkEnergy, clock_ghz: float) -> str:
    unit, f = _energy_scale(net)
    headers = ["layer", *(f"{c} ({unit})" for c in net.columns), f"total ({unit})", "latency (cycles)", "util."]
    rows = [[x.name, *(e / f for e in x.energy_pj), x.total_pj / f, x.latency_cycles, x.utilization]
            for x in net.layers]
    total = ["total", *(e / f for e in net.column_totals_pj), net.energy_pj / f, net.latency_cycles, ""]
    ms = net.latency_cycles / (clock_ghz * 1e6)
    table = _table(headers, rows, id_=f"energy-{i}-{j}", total=total)
    opened = " open" if len(net.layers) <= LONG_TABLE else ""
    fig = energy_figure(net, title=f"{net.network}: energy per layer by level")
    return (f"<h4>Energy per layer and level: {escape(net.network)}</h4><p class=\"sub\">{_fmt(net.energy_pj / f)} "
            f"{unit}, {_fmt(net.latency_cycles)} cycles ({ms:.4g} ms at {clock_ghz:g} GHz), {len(net.layers)} layers; "
            f"mapper {escape(net.mapper)} for {escape(net.objective)}.</p>"
            f"<details{opened}><summary>per-layer table ({len(net.layers)} layers)</summary>{table}</details>"
            + f'<div class="scroll">{_plot(fig, f"energy-plot-{i}-{j}", wide=True)}</div>')


def _design(data: ReportData, i: int, d: DesignReport) -> str:
    parts = [f'<article class="design" id="design-{i}"><h3>{i + 1}. {escape(d.label)}</h3>']
    if d.note:
        parts.append(f'<p class="note">{escape(d.note)}</p>')
    if d.values:
        title = "stored values" if d.trial is not None else "totals"
        parts.append(f"<h4>Objectives ({title})</h4>" + _kv(list(zip(_obj_headers(data), d.values))))
    if _param_pairs(d.params):
        parts.append("<h4>Parameters</h4>" + _kv(_param_pairs(d.params)))
    clock = d.accelerator.clock_ghz if d.accelerator is not None else 1.0
    parts += [_network(i, j, net, clock) for j, net in enumerate(d.networks)]
    if d.accelerator is not None:
        parts.append(f"<h4>Accelerator</h4>{accelerator_svg(d.accelerator, element_id=f'accelerator-{i}')}")
    if d.system_svg:
        parts.append(f'<h4>Network-on-chip</h4><div class="scroll">{d.system_svg}</div>')
    return "".join(parts) + "</article>"


def _designs(data: ReportData) -> str:
    head = '<section id="best-designs"><h2>Best designs</h2>'
    if not data.designs:
        why = "No complete trial: no design to detail." if not data.complete else "No design detailed (top = 0)."
        return head + f'<p class="empty">{why}</p></section>'
    d = designer(data.kind)
    what = (d.what if d is not None and d.what else
            "the best trials" if len(data.study.objectives) == 1 else "spread along the front")
    return (head + f'<p class="sub">{len(data.designs)} design(s), {what}; energy recomputed per layer and memory '
            "level.</p>" + "".join(_design(data, i, d) for i, d in enumerate(data.designs)) + "</section>")


def render_html(data: ReportData) -> str:
    """The report page of ``data`` as one HTML string (needs matplotlib for the plots)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("coexplore")
    except PackageNotFoundError:
        ours = "(not installed)"
    title = f"coexplore study {data.study.name}"
    if data.searched:
        sections = [_summary(data), _front(data), _convergence(data), _designs(data)]
    else:
        sections = [_summary(data), _layers(data), _designs(data)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
            f'<header><h1 id="title">Study {escape(data.study.name)}</h1>'
            f'<p class="sub">state <b>{escape(data.study.state)}</b> · '
            f"kind <b>{escape(data.kind)}</b> · {len(data.trials)} trials · objectives "
            f"{escape(', '.join(_obj_headers(data)))}</p></header>" + "".join(sections)
            + f'<footer class="sub"><p>Generated by coexplore {escape(ours)}; read-only view of the '
              f"stored study.</p></footer></body></html>\n")
