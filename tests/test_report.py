"""The report layer: data (front, convergence), exports, plots and the HTML page rendered in headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from coexplore.cli.main import main
from coexplore.errors import MissingDependencyError, SpecError, StudyError
from coexplore.report import build_report_data, convergence, pareto_front, write_report
from coexplore.search.pareto import hypervolume_2d
from coexplore.search.trial import Trial, TrialState
from coexplore.study.config import StudyConfig
from coexplore.study.storage import open_storage
from coexplore.study.study import run_study, show_study

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "examples" / "study-smoke.yaml"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- helpers ---------------------------------------------------------------------------------
class _Elements(HTMLParser):
    """Every element's id, and every src/href value, of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for k, v in attrs:
            if k == "id" and v:
                self.ids.add(v)
            if k in ("src", "href", "xlink:href", "action", "srcset") and v is not None:
                self.links.append(v)


def _elements(html: str) -> _Elements:
    p = _Elements()
    p.feed(html)
    return p


def _chromium(tmp: Path, page: Path, *, screenshot: Path | None = None) -> str:
    """The DOM of ``page`` after Chromium rendered it (headless, offline, a throw-away profile)."""
    assert Path(CHROMIUM).exists(), "Debian package chromium is needed: apt-get install -y chromium"
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp / 'chrome-profile'}"]
    if screenshot is not None:
        r = subprocess.run([*args, "--hide-scrollbars", "--window-size=1280,2000", f"--screenshot={screenshot}",
                            page.as_uri()], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([*args, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "<body" in r.stdout, r.stdout[:500] + r.stderr[-2000:]
    return r.stdout


def _assert_self_contained(html: str) -> None:
    el = _elements(html)
    assert not {"script", "link", "iframe", "img", "object", "embed"} & el.tags, el.tags
    assert all(v.startswith("#") for v in el.links), [v for v in el.links if not v.startswith("#")][:5]
    lowered = html.lower()
    for bad in ("src=\"http", "href=\"http", "src='http", "href='http", "url(http", "url(//", "@import", "@font-face"):
        assert bad not in lowered, bad


def _dominates(a: list[float], b: list[float], signs: list[float]) -> bool:
    sa, sb = [s * x for s, x in zip(signs, a)], [s * x for s, x in zip(signs, b)]
    return all(x <= y for x, y in zip(sa, sb)) and any(x < y for x, y in zip(sa, sb))


def _trial(number: int, values: tuple[float, ...], state: TrialState = TrialState.COMPLETE, **params: Any) -> Trial:
    return Trial(number=number, params=params, values=values, state=state,
                 reason="" if state is TrialState.COMPLETE else f"{state.value.lower()} on purpose")


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The smoke study (NB201 x Eyeriss, 300 trials) and its full report."""
    d = tmp_path_factory.mktemp("smoke")
    url = f"sqlite:///{d / 'smoke.db'}"
    run_study(StudyConfig.from_dict(yaml.safe_load(SMOKE.read_text())), storage=url, jobs=1, progress=False)
    before = show_study("smoke", storage=url)
    paths = write_report("smoke", url, html=d / "smoke.html", csv=d / "smoke.csv", json=d / "smoke.json",
                         plots_dir=d / "plots", top=5)
    return {"dir": d, "url": url, "paths": paths, "before": before}


@pytest.fixture(scope="module")
def hw(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny accelerator search (AlexNet under the Eyeriss budget, 3 objectives, 8 trials)."""
    d = tmp_path_factory.mktemp("hw")
    url = f"sqlite:///{d / 'hw.db'}"
    cfg = {"name": "hw", "problem": {"kind": "hwsearch", "networks": ["alexnet"], "budget": "eyeriss"},
           "objectives": ["energy", "latency", "area"], "strategy": {"name": "nsga2", "params": {"popsize": 4}},
           "budget": {"trials": 8}, "seed": 0}
    run_study(StudyConfig.from_dict(cfg), storage=url, jobs=1, progress=False)
    paths = write_report("hw", url, html=d / "hw.html", json=d / "hw.json", plots_dir=d / "plots", top=2)
    return {"dir": d, "url": url, "paths": paths}


# -- data ------------------------------------------------------------------------------------
def test_pareto_front_follows_the_directions() -> None:
    trials = [_trial(0, (70.0, 5.0)), _trial(1, (72.0, 6.0)), _trial(2, (69.0, 6.0)), _trial(3, (72.0, 6.0)),
              _trial(4, (99.0, 1.0), TrialState.INFEASIBLE), _trial(5, (60.0, 1.0))]
    assert pareto_front(trials, ("maximize", "minimize")) == (0, 1, 3, 5)  # duplicates kept, infeasible ignored
    assert pareto_front(trials, ("minimize", "minimize")) == (5,)
    assert pareto_front([], ("minimize",)) == ()


def test_convergence_best_so_far_and_hypervolume() -> None:
    rng = np.random.default_rng(3)
    trials = [_trial(0, (math.inf, math.inf), TrialState.FAILED)]
    trials += [_trial(i, (float(a), float(b))) for i, (a, b) in enumerate(rng.uniform(1, 10, (40, 2)), start=1)]
    trials.insert(10, _trial(41, (math.inf, math.inf), TrialState.INFEASIBLE))
    conv = convergence(trials, ("maximize", "minimize"))
    assert conv.numbers == tuple(sorted(t.number for t in trials))
    assert math.isnan(conv.best[0])
    best = np.array(conv.best[1:])
    assert np.all(np.diff(best) >= 0)  # accuracy-like: maximised, never gets worse
    assert best[-1] == max(t.values[0] for t in trials if t.state is TrialState.COMPLETE)
    assert conv.hypervolume is not None and conv.reference is not None and conv.ideal is not None
    hv = np.array(conv.hypervolume)
    assert hv[0] == 0 and np.all(np.diff(hv) >= -1e-12) and 0 < hv[-1] < 1
    # the last value is the whole set's hypervolume, in the minimised sense, normalised to the box
    pts = np.array([t.values for t in trials if t.state is TrialState.COMPLETE]) * [-1, 1]
    ref = (-conv.reference[0], conv.reference[1])
    box = (ref[0] + conv.ideal[0]) * (ref[1] - conv.ideal[1])
    assert hv[-1] == pytest.approx(hypervolume_2d(pts, ref) / box)
    single = convergence(trials, ("minimize",))
    assert single.hypervolume is None


# -- the smoke study: files ----------------------------------------------------------------------
def test_smoke_exports(smoke: dict[str, Any]) -> None:
    paths = smoke["paths"]
    rows = list(csv.DictReader(io.StringIO(paths.csv.read_text())))
    assert len(rows) == 300
    assert {"number", "state", "accuracy", "latency", "arch", "arch_index", "on_front", "reason", "seconds"} <= set(
        rows[0])
    data = json.loads(paths.json.read_text())
    assert [t["number"] for t in data["trials"]] == [int(r["number"]) for r in rows]
    signs = [-1.0 if d == "maximize" else 1.0 for d in data["directions"]]
    front = [f["values"] for f in data["front"]]
    assert front and not any(_dominates(a, b, signs) for a in front for b in front)
    done = [t["values"] for t in data["trials"] if t["state"] == "COMPLETE"]
    brute = sorted(t["number"] for t in data["trials"] if t["state"] == "COMPLETE"
                   and not any(_dominates(v, t["values"], signs) for v in done))
    assert sorted(f["number"] for f in data["front"]) == brute
    assert {int(r["number"]) for r in rows if r["on_front"] == "True"} == set(brute)
    designs = data["best_designs"]
    assert len(designs) == 5 and all(d["trial"] in brute for d in designs)
    by_number = {t["number"]: t for t in data["trials"]}
    for d in designs:
        acc = d["accelerator"]
        assert acc["name"] == "eyeriss"
        (net,) = d["networks"]
        assert net["columns"] == [lv["name"] for lv in reversed(acc["levels"])] + ["MAC"]
        for layer in net["layers"]:
            assert set(layer["energy_pj_by_level"]) == set(net["columns"])
            assert sum(layer["energy_pj_by_level"].values()) == pytest.approx(layer["energy_pj"])
        # same mapper, objective and seed as the study's cost-model latency: the same latency (ms)
        assert net["latency_cycles"] / (acc["clock_ghz"] * 1e6) == pytest.approx(by_number[d["trial"]]["values"][1])


def test_smoke_plots_are_valid_images(smoke: dict[str, Any]) -> None:
    names = {p.name for p in smoke["paths"].plots}
    assert {"pareto.png", "pareto.svg", "convergence.png", "convergence.svg", "energy-0-0.png", "energy-0-0.svg",
            "accelerator-0.svg"} <= names
    for p in smoke["paths"].plots:
        assert p.is_file() and p.stat().st_size > 500
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == PNG_MAGIC
        else:
            assert ET.parse(p).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_report_is_read_only(smoke: dict[str, Any]) -> None:
    assert show_study("smoke", storage=smoke["url"]) == smoke["before"]


def test_smoke_html_renders_in_chromium(smoke: dict[str, Any]) -> None:
    page = smoke["paths"].html
    html = page.read_text()
    _assert_self_contained(html)
    shot = smoke["dir"] / "shot.png"
    dom = _chromium(smoke["dir"], page, screenshot=shot)
    assert shot.read_bytes()[:8] == PNG_MAGIC
    el = _elements(dom)
    assert {"title", "trials-summary", "pareto", "pareto-plot", "front-table", "convergence", "convergence-plot",
            "best-designs", "design-0", "energy-0-0", "energy-plot-0-0", "accelerator-0", "accelerator-4"} <= el.ids
    assert "best-list" not in el.ids and "design-5" not in el.ids
    assert "Study smoke" in dom and "eyeriss" in dom and "MAC array: 14×12" in dom
    _assert_self_contained(dom)


# -- other kinds and edge cases -------------------------------------------------------------------
def test_hwsearch_report_draws_each_design(hw: dict[str, Any]) -> None:
    data = json.loads(hw["paths"].json.read_text())
    assert len(data["best_designs"]) == 2
    dom = _chromium(hw["dir"], hw["paths"].html)
    el = _elements(dom)
    assert {"trials-summary", "pareto", "convergence", "best-designs", "accelerator-0", "accelerator-1",
            "accelerator-0-grid", "energy-0-0"} <= el.ids
    for d in data["best_designs"]:
        x, y = d["params"]["array"]
        assert d["accelerator"]["mac"]["mesh_x"] == x and d["accelerator"]["mac"]["mesh_y"] == y
        assert f"MAC array: {x}×{y}" in dom
        assert d["networks"][0]["network"] == "alexnet"
    svg = ET.parse(hw["dir"] / "plots" / "accelerator-0.svg").getroot()
    assert svg.attrib["id"] == "accelerator-0"
    _assert_self_contained(dom)


def test_mapping_report_shows_the_network_per_layer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'map.db'}"
    cfg = {"name": "map", "problem": {"kind": "mapping", "network": "alexnet", "accelerator": "eyeriss"},
           "objectives": ["edp"], "budget": {"trials": 50}}
    run_study(StudyConfig.from_dict(cfg), storage=url, jobs=1, progress=False)
    paths = write_report("map", url, html=tmp_path / "map.html", csv=tmp_path / "map.csv",
                         json=tmp_path / "map.json", top=3)
    trials = show_study("map", storage=url)["trials"]
    assert len(list(csv.DictReader(io.StringIO(paths.csv.read_text())))) == len(trials) > 0
    (design,) = json.loads(paths.json.read_text())["best_designs"]
    assert design["trial"] is None and len(design["networks"][0]["layers"]) == 8  # every AlexNet layer
    el = _elements(_chromium(tmp_path, paths.html))
    assert {"trials-summary", "layers", "layers-table", "best-designs", "accelerator-0", "energy-0-0"} <= el.ids
    assert not {"pareto", "best-list", "convergence-plot"} & el.ids


def test_single_objective_search_shows_a_best_list(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    cfg = {**yaml.safe_load(SMOKE.read_text()), "name": "one", "objectives": ["accuracy"], "budget": {"trials": 24}}
    run_study(StudyConfig.from_dict(cfg), storage=url, jobs=1, progress=False)
    data = build_report_data("one", url, top=2)
    assert len(data.best) == 20 and len(data.designs) == 2
    values = [data.trial(n).values[0] for n in data.best]
    assert values == sorted(values, reverse=True)
    from coexplore.report import render_html

    el = _elements(render_html(data))
    assert {"best-list", "best-table", "convergence-plot", "accelerator-1"} <= el.ids and "pareto" not in el.ids


def test_failed_and_infeasible_trials_and_no_complete_trial(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    cfg = StudyConfig.from_dict(yaml.safe_load(SMOKE.read_text()))
    store = open_storage(url)
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    for name, trials in {
        "none": [_trial(0, (math.inf, math.inf), TrialState.FAILED, arch=arch),
                 _trial(1, (math.inf, math.inf), TrialState.INFEASIBLE, arch=arch)],
        "mixed": [_trial(0, (math.inf, math.inf), TrialState.FAILED, arch=arch),
                  _trial(1, (70.0, 9.6), arch=arch), _trial(2, (math.inf, math.inf), TrialState.INFEASIBLE, arch=arch)],
    }.items():
        store.create_study(name, cfg.to_dict(), cfg.objectives, cfg.directions)
        store.add_trials(name, trials)
    store.close()
    paths = write_report("none", url, html=tmp_path / "none.html", csv=tmp_path / "none.csv",
                         json=tmp_path / "none.json", plots_dir=tmp_path / "none-plots")
    assert paths.plots == ()
    assert len(list(csv.DictReader(io.StringIO(paths.csv.read_text())))) == 2
    data = json.loads(paths.json.read_text())
    assert data["front"] == [] and data["best_designs"] == [] and data["counts"] == {
        "COMPLETE": 0, "INFEASIBLE": 1, "FAILED": 1}
    dom = _chromium(tmp_path, paths.html)
    el = _elements(dom)
    assert {"trials-summary", "pareto", "convergence", "best-designs"} <= el.ids
    assert "No trial completed" in dom and "failed on purpose" in dom and "accelerator-0" not in el.ids
    mixed = build_report_data("mixed", url, top=5)
    assert mixed.front == (1,) and mixed.counts == {"COMPLETE": 1, "INFEASIBLE": 1, "FAILED": 1}
    assert [d.trial for d in mixed.designs] == [1] and mixed.designs[0].networks


def test_cli_report_and_its_errors(smoke: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.csv"
    assert main(["report", "smoke", "--storage", smoke["url"], "--csv", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["csv"] == str(out)
    assert len(out.read_text().splitlines()) == 301
    assert main(["report", "nope", "--storage", smoke["url"], "--html", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "study 'nope': not found" in err[0] and "smoke" in err[0]
    assert main(["report", "smoke", "--storage", f"sqlite:///{tmp_path / 'missing.db'}", "--html",
                 str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such file" in err[0]
    assert not (tmp_path / "missing.db").exists() and not (tmp_path / "x.html").exists()
    with pytest.raises(SpecError, match="give at least one of html"):
        write_report("smoke", smoke["url"])
    with pytest.raises(SpecError, match=r"top: must be an integer >= 0, got -1"):
        build_report_data("smoke", smoke["url"], top=-1)
    with pytest.raises(StudyError):
        build_report_data("nope", smoke["url"])


def test_without_matplotlib_plots_say_which_extra(smoke: dict[str, Any], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(MissingDependencyError, match=r"coexplore\[report\]"):
        write_report("smoke", smoke["url"], html=tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
    paths = write_report("smoke", smoke["url"], csv=tmp_path / "r.csv")  # a CSV needs no matplotlib
    assert paths.csv is not None and paths.csv.is_file()
