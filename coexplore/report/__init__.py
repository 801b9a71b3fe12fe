"""Reports of stored studies (layer 7, read-only): tables, CSV/JSON exports, plots, one HTML page.

Search returns data; this package draws it (STYLE.md rule 8). It reads a study through
its storage and never writes to it.

* :func:`build_report_data` computes once what every output shows: trials, Pareto front,
  convergence (with a normalised hypervolume for several objectives) and the best designs
  detailed (accelerator, per-layer and per-level energy, recomputed with the default mapper).
* :func:`trials_csv` / :func:`report_dict` export it; :func:`render_html` makes one
  self-contained page (inline SVG plots and accelerator drawings, no external resource);
  :func:`write_report` writes the files asked for (``coexplore report``).

Plots need matplotlib (``pip install 'coexplore[report]'``), imported only when drawing.
"""

from coexplore.report.accel_svg import accelerator_svg
from coexplore.report.data import Convergence, ReportData, build_report_data, convergence, pareto_front
from coexplore.report.designs import DesignReport, LayerEnergy, NetworkEnergy
from coexplore.report.export import report_dict, trials_csv
from coexplore.report.html import render_html
from coexplore.report.write import ReportPaths, write_plots, write_report

__all__ = [
    "Convergence",
    "DesignReport",
    "LayerEnergy",
    "NetworkEnergy",
    "ReportData",
    "ReportPaths",
    "accelerator_svg",
    "build_report_data",
    "convergence",
    "pareto_front",
    "render_html",
    "report_dict",
    "trials_csv",
    "write_plots",
    "write_report",
]
