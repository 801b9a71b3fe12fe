"""Ray as the study backend: a local Ray instance gives the same trials as the local process pool
for the same seed; an address where no cluster runs is named."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the ray backend needs the extra 'ray'")

from coexplore.errors import StudyError
from coexplore.study.config import load_config
from coexplore.study.study import run_study, show_study

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "examples" / "study-smoke.yaml"


def _keys(url: str) -> list[tuple[object, ...]]:
    return [(t["number"], t["state"], t["params"]["arch"], tuple(t["values"]))
            for t in show_study("smoke", storage=url)["trials"]]


def _study(*args: str) -> None:
    out = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "study", "run", str(SMOKE), *args, "--quiet"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ray_local_instance_gives_the_local_trials(tmp_path: Path) -> None:
    local = f"sqlite:///{tmp_path / 'local.db'}"
    run_study(load_config(SMOKE), storage=local, jobs=2, progress=False)
    on_ray = f"sqlite:///{tmp_path / 'ray.db'}"
    _study("--storage", on_ray, "--backend", "ray", "--jobs", "2")  # a local Ray instance
    assert len(_keys(on_ray)) == 300 and _keys(on_ray) == _keys(local)



def test_unreachable_ray_address_is_named(tmp_path: Path) -> None:
    port = _free_port()
    out = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "study", "run", str(SMOKE), "--storage",
                          f"sqlite:///{tmp_path / 'x.db'}", "--backend", "ray", "--address", f"127.0.0.1:{port}",
                          "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode != 0
    assert f"backend ray: cannot connect to 127.0.0.1:{port}" in out.stderr
    assert StudyError.__name__ not in out.stdout
    with pytest.raises(StudyError, match="backend: must be 'local' or 'ray', got 'dask'"):
        run_study(load_config(SMOKE), storage=f"sqlite:///{tmp_path / 'y.db'}", backend="dask", progress=False)
