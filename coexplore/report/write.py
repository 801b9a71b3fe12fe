"""Write a study's report files: HTML, CSV, JSON and plot images, from one computation."""

from __future__ import annotations

import json as _json
import time
from dataclasses import dataclass
from pathlib import Path

from coexplore.errors import SpecError
from coexplore.optional import require
from coexplore.report.data import ReportData, build_report_data

__all__ = ["ReportPaths", "write_plots", "write_report"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportPaths:
    """The files a report wrote (``None`` for an output not asked for) and how long it took."""

    html: Path | None = None
    csv: Path | None = None
    json: Path | None = None
    plots: tuple[Path, ...] = ()
    seconds: float = 0.0


def write_plots(data: ReportData, directory: Path) -> tuple[Path, ...]:
    """PNG and SVG of the Pareto front, the convergence and each design's energy breakdown
    (``energy-I-J``: design I, network J), and an SVG drawing of each design's accelerator;
    a plot with nothing to show (no complete trial, one objective, a mapping study's front and
    convergence) is not written."""
    from coexplore.report.accel_svg import accelerator_svg
    from coexplore.report.plots import convergence_figure, energy_figure, pareto_figure, save_figure

    directory.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    if data.searched:
        for stem, fig in (("pareto", pareto_figure(data)), ("convergence", convergence_figure(data))):
            if fig is not None:
                out += save_figure(fig, directory / stem)
    for i, d in enumerate(data.designs):
        for j, net in enumerate(d.networks):
            out += save_figure(energy_figure(net, title=f"{d.label}: {net.network}"), directory / f"energy-{i}-{j}")
        if d.accelerator is not None:
            path = directory / f"accelerator-{i}.svg"
            path.write_text(accelerator_svg(d.accelerator, element_id=f"accelerator-{i}"), encoding="utf-8")
            out.append(path)
    return tuple(out)


def _target(path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def write_report(name: str, storage: str, *, html: str | Path | None = None, csv: str | Path | None = None,
                 json: str | Path | None = None, plots_dir: str | Path | None = None, top: int = 5) -> ReportPaths:
    """Report study ``name`` of ``storage`` into the files asked for (at least one).

    The study is only read. ``top`` designs are detailed (their layers mapped again, see
    :mod:`coexplore.report.designs`); a CSV alone maps nothing.

    Raises:
        SpecError: no output asked for, or ``top`` < 0.
        StudyError: the storage or the study does not exist.
        MissingDependencyError: HTML or plots asked for without matplotlib (extra ``report``).
    """
    t0 = time.perf_counter()
    if html is None and csv is None and json is None and plots_dir is None:
        raise SpecError("report outputs: give at least one of html, csv, json, plots_dir, got none")
    if html is not None or plots_dir is not None:
        require("matplotlib", extra="report", who="coexplore report")
    data = build_report_data(name, storage, top=top,
                             designs=html is not None or json is not None or plots_dir is not None)
    from coexplore.report.export import report_dict, trials_csv

    paths: dict[str, Path] = {}
    if csv is not None:
        paths["csv"] = _target(csv)
        paths["csv"].write_text(trials_csv(data), encoding="utf-8")
    if json is not None:
        paths["json"] = _target(json)
        paths["json"].write_text(_json.dumps(report_dict(data), indent=1, allow_nan=False, default=str) + "\n",
                                 encoding="utf-8")
    plots: tuple[Path, ...] = ()
    if plots_dir is not None:
        plots = write_plots(data, Path(plots_dir))
    if html is not None:
        from coexplore.report.html import render_html

        paths["html"] = _target(html)
        paths["html"].write_text(render_html(data), encoding="utf-8")
    return ReportPaths(html=paths.get("html"), csv=paths.get("csv"), json=paths.get("json"), plots=plots,
                       seconds=time.perf_counter() - t0)
