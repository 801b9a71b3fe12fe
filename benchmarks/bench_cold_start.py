"""Cold start of the README's main command, and the shipped cost table's size and precision.

``--fresh-clone``: clones the repository into a temporary directory and runs the README's main
command there as a new user would: HOME is an empty directory (no pip, numba, matplotlib or
coexplore cache), no ``COEXPLORE_*`` setting, report on. Times ``python3 -m venv .venv && pip
install -e '.[report]'`` and ``coexplore codesign --recipe nb201-eyeriss`` separately; ``--cold``
then runs the codesign step again in another empty HOME with ``COEXPLORE_SHIPPED_TABLES=0`` (the
table built, as before it was shipped). The load average is printed with each step: the machine
is shared, so the CPU time (user + system, all processes) is printed too.

The table section (skip with ``--no-precision``): the shape-count matrix's time (every codesign
start), the shipped table's load time and file size against a float32 copy of its energies,
and whether float32 energies keep the exact (accuracy, EDP) and (accuracy, latency, energy,
area) fronts identical (same pairs).

    python benchmarks/bench_cold_start.py --fresh-clone [--cold] [--repo .] [--out cold.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
README_INSTALL = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[report]'"
README_RUN = ".venv/bin/coexplore codesign --recipe nb201-eyeriss"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _timed(cmd: str, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Wall time, and CPU time (user + system of every child process: what a quiet machine would not share)."""
    load = _load()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"{cmd!r} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    out = {"command": cmd, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "load_before": load,
           "load_after": _load(), "stdout_head": r.stdout.splitlines()[:3]}
    print(f"{seconds:7.1f} s wall, {cpu:6.1f} s CPU  {cmd}  (load {load} -> {out['load_after']})", file=sys.stderr)
    return out


def _user_env(home: Path) -> dict[str, str]:
    """The environment of a new user: this one less coexplore's, Python's and cache settings, HOME empty."""
    drop = ("COEXPLORE_", "PYTHON", "XDG_", "VIRTUAL_ENV", "NUMBA_", "MPLCONFIGDIR")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["HOME"] = str(home)
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":") if ".venv" not in p)
    return env


def fresh_clone(repo: Path, cold: bool) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="coexplore-fresh-"))
    try:
        clone = work / "clone"
        subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True,
                                check=True).stdout.strip()
        (work / "home").mkdir()
        env = _user_env(work / "home")
        install = _timed(README_INSTALL, clone, env)
        run = _timed(README_RUN, clone, env)
        out: dict[str, Any] = {"commit": commit, "install": install, "codesign": run,
                               "total_seconds": round(install["seconds"] + run["seconds"], 2)}
        print(f"{out['total_seconds']:7.1f} s  total (install + codesign)", file=sys.stderr)
        if cold:
            (work / "home2").mkdir()
            env2 = _user_env(work / "home2")
            env2["COEXPLORE_SHIPPED_TABLES"] = "0"
            (clone / "coexplore-studies.db").unlink()
            out["codesign_cold_table"] = _timed(README_RUN, clone, env2)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _npz_bytes(array: np.ndarray) -> int:
    buf = io.BytesIO()
    np.savez_compressed(buf, a=array)
    return len(buf.getvalue())


def precision() -> dict[str, Any]:
    from coexplore.joint.costtable import TABLE_MAPPER, build_cost_table, nb201_shape_counts
    from coexplore.joint.front import front_accuracy_costs, front_accuracy_edp
    from coexplore.joint.shipped import SHIPPED_DIR
    from coexplore.joint.space import eyeriss_grid
    from coexplore.nas.tables import accuracy_available, load_accuracy

    grid = eyeriss_grid()
    t, cpu = time.perf_counter(), time.process_time()
    counts = nb201_shape_counts()  # its first call in this process: what every codesign start pays
    counts_s, counts_cpu = time.perf_counter() - t, time.process_time() - cpu
    t = time.perf_counter()
    table = build_cost_table(grid, counts.shapes, designs=grid.designs(), mapper=TABLE_MAPPER, seed=0,
                             cache_dir=tempfile.mkdtemp(), shipped=True)
    load_s = time.perf_counter() - t
    if table.source != "shipped":
        sys.exit("the shipped nb201-eyeriss table does not match this code: run python -m coexplore.joint.shipped")
    path = SHIPPED_DIR / "nb201-eyeriss.npz"
    with zipfile.ZipFile(path) as z:
        members = {i.filename: i.compress_size for i in z.infolist()}
    epochs = 200 if accuracy_available("cifar100", 200, "test") else 12
    acc = load_accuracy("cifar100", epochs, "test")
    f32 = dataclasses.replace(table, energy_pj=table.energy_pj.astype(np.float32).astype(np.float64))
    rel = np.abs(f32.energy_pj - table.energy_pj)[:, table.feasible] / table.energy_pj[:, table.feasible]
    fronts = {}
    for name, fn in (("accuracy_edp", front_accuracy_edp), ("accuracy_latency_energy_area", front_accuracy_costs)):
        a, b = fn(table, counts.counts, acc), fn(f32, counts.counts, acc)
        fronts[name] = {"points": len(a), "float32_points": len(b),
                        "float32_same_pairs": bool(np.array_equal(a.network, b.network)
                                                   and np.array_equal(a.design, b.design))}
    out = {"file": str(path.relative_to(ROOT)), "file_bytes": path.stat().st_size, "member_bytes": members,
           "load_seconds": round(load_s, 3), "shape_counts_seconds": round(counts_s, 2),
           "shape_counts_cpu_seconds": round(counts_cpu, 2), "shapes": len(table.shapes), "designs": len(table.designs),
           "feasible_designs": int(table.feasible.sum()), "latency_max": int(table.latency_cycles.max()),
           "energy_float32_bytes": _npz_bytes(table.energy_pj.astype(np.float32)),
           "energy_float64_bytes": _npz_bytes(table.energy_pj),
           "float32_max_relative_error": float(rel.max()), "accuracy_epochs": epochs, "fronts": fronts}
    print(json.dumps(out, indent=1), file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fresh-clone", action="store_true", help="time the README main command in a fresh clone")
    ap.add_argument("--cold", action="store_true", help="with --fresh-clone: also the codesign step, table built")
    ap.add_argument("--repo", type=Path, default=ROOT, help="what to clone (default: this repository)")
    ap.add_argument("--no-precision", action="store_true", help="skip the table size / float32 section")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    out: dict[str, Any] = {}
    if not args.no_precision:
        out["table"] = precision()
    if args.fresh_clone:
        out["fresh_clone"] = fresh_clone(args.repo.resolve(), args.cold)
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
