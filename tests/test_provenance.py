"""Provenance: the built wheel ships only files whose licence the project declares, and the data
without a licence (NB201's 200-epoch column, the device tables) is read from the data directory,
never shipped; without that directory the co-design recipes fall back to the shipped 12-epoch
column and say so."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from coexplore.errors import DataError
from coexplore.nas import tables
from coexplore.study.config import StudyConfig
from coexplore.study.problems import resolve_config

ROOT = Path(__file__).resolve().parents[1]
PROVENANCE = ROOT / "coexplore" / "data" / "provenance.toml"
#: metadata every wheel carries (written by the build backend, not taken from anyone)
WHEEL_METADATA = {"METADATA", "WHEEL", "RECORD", "top_level.txt", "entry_points.txt"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """``pip wheel .`` of the committed tree (a copy: the build must not see untracked files or write here)."""
    src = tmp_path_factory.mktemp("src")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in files.decode().split("\0"):
        if rel and (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel, follow_symlinks=False)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)], check=True,
                   capture_output=True)
    (whl,) = out.glob("coexplore-*.whl")
    return zipfile.ZipFile(whl)


def _declared() -> list[dict[str, object]]:
    return tomllib.loads(PROVENANCE.read_text())["file"]


def test_every_shipped_file_has_a_declared_licence(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    dist_info = {n.split("/", 1)[0] for n in names if ".dist-info/" in n}
    assert len(dist_info) == 1
    (meta,) = dist_info
    undeclared = []
    for n in names:
        if n.startswith(meta + "/"):
            rest = n[len(meta) + 1:]
            if rest in WHEEL_METADATA or rest in ("licenses/LICENSE", "licenses/NOTICE", "LICENSE", "NOTICE"):
                continue
            undeclared.append(n)
        elif n.startswith("coexplore/") and n.endswith(".py"):
            continue  # the project's own source, under LICENSE
        elif not any(fnmatch.fnmatch(n, str(d["pattern"])) for d in _declared()):
            undeclared.append(n)
    assert undeclared == [], f"files in the wheel with no declared licence (add them to {PROVENANCE.name}): " \
                             f"{undeclared}"
    # the project's licence and the third-party notice travel with the wheel
    assert {f"{meta}/licenses/LICENSE", f"{meta}/licenses/NOTICE"} <= set(names) or \
        {f"{meta}/LICENSE", f"{meta}/NOTICE"} <= set(names), [n for n in names if n.startswith(meta)]
    # every declared notice is itself shipped
    for d in _declared():
        notice = str(d["notice"])
        if notice != "LICENSE":
            assert notice in names, f"notice {notice} of {d['pattern']} is not in the wheel"
        assert d["licence"] and d["source"]


def test_shipped_tables_hold_only_declared_columns(wheel: zipfile.ZipFile) -> None:
    tables_declared = [d for d in _declared() if "columns" in d]
    assert tables_declared
    for d in tables_declared:
        (name,) = [n for n in wheel.namelist() if fnmatch.fnmatch(n, str(d["pattern"]))]
        header = next(csv.reader(io.StringIO(wheel.read(name).decode())))
        assert header == d["columns"], (name, header)
        assert not set(header) & tables.DATA_DIR_COLUMNS
    data = [n for n in wheel.namelist() if n.endswith((".csv", ".json", ".parquet", ".npz", ".pkl", ".pd"))]
    assert data
    for n in data:
        head = wheel.read(n)[:4096]
        for marker in (b"200ep", b"latency_ms", b"energy_mj"):  # the unlicensed sources' columns
            assert marker not in head, (n, marker)


def test_200_epoch_column_comes_from_the_data_directory(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COEXPLORE_DATA", str(data_dir))
    acc = tables.load_accuracy("cifar100", 200, "test")
    assert acc.shape == (15625,) and acc.max() == pytest.approx(73.5133) and int(np.argmax(acc)) == 9930
    assert tables.accuracy_available("cifar100", 200, "test")
    monkeypatch.delenv("COEXPLORE_DATA")
    assert not tables.accuracy_available("cifar100", 200, "test")
    with pytest.raises(DataError, match=r"cifar100-test-200ep.*not shipped.*COEXPLORE_DATA"):
        tables.load_accuracy("cifar100", 200, "test")
    # the shipped 12-epoch columns need nothing
    assert tables.load_accuracy("cifar100", 12, "test").max() == pytest.approx(61.18)


def test_data_directory_without_the_table_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COEXPLORE_DATA", str(tmp_path))
    with pytest.raises(DataError, match=r"nb201_accuracy.csv.*not found.*COEXPLORE_DATA"):
        tables.load_accuracy("cifar100", 200, "test")


def _recipe(epochs: object) -> StudyConfig:
    return StudyConfig.from_dict({"problem": {"kind": "codesign", "space": "nb201", "accuracy_epochs": epochs},
                                  "objectives": ["accuracy", "edp"], "strategy": "random", "budget": {"trials": 10}})


def test_auto_accuracy_is_fixed_when_the_study_is_created(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COEXPLORE_DATA", str(data_dir))
    assert resolve_config(_recipe("auto")).problem["accuracy_epochs"] == 200
    monkeypatch.delenv("COEXPLORE_DATA")
    assert resolve_config(_recipe("auto")).problem["accuracy_epochs"] == 12
    assert resolve_config(_recipe(200)).problem["accuracy_epochs"] == 200  # asked for: not replaced
    with pytest.raises(Exception, match="accuracy_epochs: must be 200, 12 or auto"):
        _recipe(100)


def test_main_recipe_runs_without_shared_data(tmp_path: Path) -> None:
    """The README's main command on a machine without ../shared: the shipped 12-epoch column, said on stderr.

    A small slice of the recipe's grid (design_stride) keeps the cost table to seconds; the
    recipe itself is the same code path with stride 1.
    """
    cfg = tmp_path / "recipe.yaml"
    cfg.write_text("problem: {kind: codesign, space: nb201, dataset: cifar100, accuracy_epochs: auto, "
                   "accelerators: eyeriss, design_stride: 400}\nobjectives: [accuracy, edp]\n"
                   "strategy: {name: naas, params: {}}\nbudget: {trials: 200}\nseed: 0\n")
    env = {k: v for k, v in os.environ.items() if k != "COEXPLORE_DATA"}
    env["COEXPLORE_CACHE"] = str(tmp_path / "cache")
    r = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "codesign", str(cfg), "--json", "--no-report",
                        "--storage", f"sqlite:///{tmp_path / 's.db'}"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "12 epochs" in out["accuracy_source"] and "shipped" in out["accuracy_source"]
    assert out["study"].startswith("recipe-12ep-naas")
    assert "12-epoch" in r.stderr and "COEXPLORE_DATA" in r.stderr
    assert out["front"] and max(e["accuracy"] for e in out["front"]) <= 61.18 + 1e-9
