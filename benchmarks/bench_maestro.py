"""coexplore's MAESTRO-semantics model side by side with the MAESTRO binary: agreement and speed.

    python benchmarks/bench_maestro.py [--maestro-bin PATH] [--repeats 5] [--peer-examples] [--json]

The binary comes from ``--maestro-bin`` or ``$MAESTRO_BIN`` (build it outside the shared tree:
``cp -r ../shared/peers/maestro /work/peers_build/maestro && cd /work/peers_build/maestro && scons -j1``);
without it the script says so and exits 0 after timing coexplore alone.

Cases: the three reference mappings on ``accelerator_1.m`` (from ``$COEXPLORE_DATA/maestro_reference``),
and the four dataflows of ``benchmarks/data/maestro/mixed_*.m`` (ShiDianNao-like yxp_os, xp_ws,
Eyeriss-like rs, NVDLA-like kcp_ws with 16-PE clusters, on eight layers with 1x1..7x7 kernels,
strides 1 and 2, depthwise and FC) on each hardware file ``benchmarks/data/maestro/hw_*.m`` (64, 168
and 1024 PEs, NoC 16/32/64 elements per cycle, NoC_NumHops 1 or 2) and on ``accelerator_1.m``. With
``--peer-examples`` also MAESTRO's own example mappings (``../shared/peers/maestro/data/mapping``)
whose layers are all CONV/DSCONV. ``--sweep N --seed S`` replaces the cases by N random hardware
files (PE counts that no cluster divides, NoC bandwidth down to 1, 0 to 3 hops, off-chip down to 1),
one mapping each, for agreement (the hardware names are then ``sweep_NNN.m``, their lines printed).

Agreement, per case: runtime and each of the 12 ``input|filter|output l1|l2 read|write`` columns
exact on every layer, energy within 0.5 %, and every column equal at the 6 significant digits the
binary prints. Speed, in CPU seconds (steady when other jobs share the cores): the binary's per run
(process start, parse, analysis, CSV write; best of ``--repeats``) against coexplore's in-process
parse + price of the same two files (best of ``--repeats``), one core each.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coexplore.errors import CoexploreError
from coexplore.maestro import price_network, read_hardware, read_mapping
from coexplore.maestro.model import CSV_COLUMNS
from coexplore.maestro.result import format_value

HERE = Path(__file__).resolve().parent
OWN = HERE / "data" / "maestro"
COUNTS = [f"{t} {lv} {op}" for t in ("input", "filter", "output") for lv in ("l1", "l2") for op in ("read", "write")]


def _data_dir() -> Path:
    env = os.environ.get("COEXPLORE_DATA")
    return Path(env) if env else HERE.parents[1] / "shared" / "data"


def cases(peer_examples: bool) -> list[tuple[Path, Path]]:
    ref = _data_dir() / "maestro_reference"
    acc1 = ref / "hw" / "accelerator_1.m"
    out = []
    if acc1.exists():
        out += [(acc1, ref / "mapping" / f"{n}.m") for n in ("Resnet50_kcp_ws", "MobileNetV2_kcp_ws", "mnasnet_rs")]
    hws = sorted(OWN.glob("hw_*.m")) + ([acc1] if acc1.exists() else [])
    out += [(hw, m) for m in sorted(OWN.glob("mixed_*.m")) for hw in hws]
    peers = _data_dir().parent / "peers" / "maestro" / "data" / "mapping"  # ../shared/peers beside ../shared/data
    if peer_examples and peers.is_dir() and acc1.exists():
        for m in sorted(peers.glob("*.m")):
            text = m.read_text()
            types = {line.split(":", 1)[1].split("//")[0].strip() for line in text.splitlines()
                     if line.strip().startswith("Type:")}
            if types and types <= {"CONV", "DSCONV"}:
                out.append((acc1, m))
    return out


class BinaryFailed(Exception):
    """The MAESTRO binary stopped without a CSV (e.g. its floating-point exception on a zero delay)."""


def _child_cpu() -> float:
    """CPU seconds (user + system) of finished child processes: the binary's own time, steady when other
    jobs share the cores (wall time is not)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def sweep_cases(n: int, seed: int, peer_examples: bool, tmp: Path) -> list[tuple[Path, Path]]:
    """``n`` random hardware files (PEs 1..2048 including ones no cluster divides, NoC 1..1000, 0..3 hops,
    off-chip 1..999), each with one mapping drawn from the own files, the reference mappings (and MAESTRO's
    examples)."""
    rng = random.Random(seed)
    mappings = sorted(OWN.glob("mixed_*.m"))
    ref = _data_dir() / "maestro_reference" / "mapping"
    mappings += sorted(ref.glob("*.m")) if ref.is_dir() else []
    peers = _data_dir().parent / "peers" / "maestro" / "data" / "mapping"
    if peer_examples and peers.is_dir():
        mappings += [peers / f for f in ("vgg16_xp_ws.m", "vgg16_nlr.m", "vgg16_yxp_os.m", "squeezenet1_0_rs.m",
                                         "example.m", "Transformer_Layers.m") if (peers / f).exists()]
    out = []
    for i in range(n):
        hw = tmp / f"sweep_{i:03d}.m"
        hw.write_text(f"num_pes: {rng.choice([1, 2, 3, 7, 16, 31, 64, 100, 128, 255, 256, 512, 1000, 2048])}\n"
                      "l1_size_cstr: 100\nl2_size_cstr: 3000\n"
                      f"noc_bw_cstr: {rng.choice([1, 2, 3, 5, 8, 16, 33, 64, 1000])}\n"
                      f"NoC_NumHops: {rng.choice([0, 1, 2, 3])}\n"
                      f"offchip_bw_cstr: {rng.choice([1, 4, 50, 999])}\n")
        out.append((hw, rng.choice(mappings)))
    return out


def _hw_label(hw: Path) -> str:
    if not hw.name.startswith("sweep_"):
        return hw.name
    v = dict(line.split(": ") for line in hw.read_text().splitlines())
    return f"{v['num_pes']}pe bw{v['noc_bw_cstr']} h{v['NoC_NumHops']} off{v['offchip_bw_cstr']}"


def run_binary(binary: Path, hw: Path, mapping: Path, repeats: int) -> tuple[list[list[str]], float]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "hw").mkdir()
        (Path(tmp) / "mapping").mkdir()
        shutil.copy(hw, Path(tmp) / "hw" / "h.m")
        shutil.copy(mapping, Path(tmp) / "mapping" / "m.m")
        out = Path(tmp) / "m.csv"
        best = float("inf")
        for _ in range(repeats):
            out.unlink(missing_ok=True)  # the binary appends to an existing CSV
            t0 = _child_cpu()
            r = subprocess.run([str(binary), "--HW_file=hw/h.m", "--Mapping_file=mapping/m.m", "--print_res=false",
                                "--print_res_csv_file=true", "--print_log_file=false"], cwd=tmp,
                               capture_output=True, text=True)
            best = min(best, _child_cpu() - t0)
            if r.returncode != 0 or not out.exists():
                raise BinaryFailed(f"exit code {r.returncode}")
        with open(out, newline="") as f:
            rows = [[c.strip() for c in row] for row in csv.reader(f)][1:]
    return rows, best


def run_ours(hw: Path, mapping: Path, repeats: int) -> tuple[list[dict[str, object]], float]:
    best, rows = float("inf"), []
    for _ in range(repeats):
        t0 = time.process_time()
        rows = price_network(read_hardware(hw), read_mapping(mapping))
        best = min(best, time.process_time() - t0)
    return [r.values for r in rows], best


def compare(theirs: list[list[str]], ours: list[dict[str, object]]) -> dict[str, object]:
    n = len(theirs)
    runtime = counts = energy = every = 0
    diffs: dict[str, int] = {}
    for want_row, got in zip(theirs, ours, strict=False):
        want = dict(zip(CSV_COLUMNS, want_row, strict=False))
        runtime += int(want["Runtime (Cycles)"]) == got["Runtime (Cycles)"]
        counts += all(int(want[c]) == got[c] for c in COUNTS)
        e_want, e_got = float(want["Activity count-based Energy (nJ)"]), float(got["Activity count-based Energy (nJ)"])  # type: ignore[arg-type]
        energy += abs(e_got - e_want) <= 0.005 * abs(e_want)
        bad = [c for c in CSV_COLUMNS if format_value(got[c]) != want[c]]
        every += not bad
        for c in bad:
            diffs[c] = diffs.get(c, 0) + 1
    return {"layers": n, "layers_priced": len(ours), "runtime_exact": runtime, "counts_exact": counts,
            "energy_within_0.5pct": energy, "all_columns_equal": every, "columns_differing": diffs}


def usable_binary(binary: Path) -> bool:
    """Whether ``binary`` can be run; says on stderr when not (the benchmark then times coexplore only)."""
    if binary.is_file() and os.access(binary, os.X_OK):
        return True
    print(f"MAESTRO binary not found at {binary} (--maestro-bin or $MAESTRO_BIN); timing coexplore only",
          file=sys.stderr)
    return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maestro-bin", default=os.environ.get("MAESTRO_BIN", "/work/peers_build/maestro/maestro"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--peer-examples", action="store_true")
    ap.add_argument("--sweep", type=int, default=0, metavar="N",
                    help="instead of the fixed cases: N random hardware files, one mapping each (agreement only)")
    ap.add_argument("--seed", type=int, default=0, help="seed of --sweep")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    binary = Path(args.maestro_bin)
    have_bin = usable_binary(binary)
    results = []
    todo = (sweep_cases(args.sweep, args.seed, args.peer_examples, Path(tmp.name)) if args.sweep
            else cases(args.peer_examples))
    for hw, mapping in todo:
        row: dict[str, object] = {"hw": _hw_label(hw), "mapping": mapping.name}
        try:
            ours, t_ours = run_ours(hw, mapping, args.repeats)
        except CoexploreError as e:
            row["coexplore_error"] = str(e)
        if have_bin:
            try:
                run_binary(binary, hw, mapping, 1)
            except BinaryFailed as e:
                row["binary_error"] = str(e)
        if "coexplore_error" in row or "binary_error" in row:
            row["both_refuse"] = "coexplore_error" in row and "binary_error" in row
            results.append(row)
            if not args.json:
                print(f"{mapping.name:28s} {_hw_label(hw):24s} coexplore: {row.get('coexplore_error', 'priced')[:90]}; "
                      f"binary: {row.get('binary_error', 'priced') if have_bin else 'absent'}")
            continue
        row["coexplore_s"] = t_ours
        if have_bin:
            theirs, t_bin = run_binary(binary, hw, mapping, args.repeats)
            row.update(compare(theirs, ours), binary_s=t_bin, speedup=t_bin / t_ours)
        else:
            row["layers_priced"] = len(ours)
        results.append(row)
        if not args.json:
            if have_bin:
                ok = "all equal" if row["all_columns_equal"] == row["layers"] else f"differ: {row['columns_differing']}"
                print(f"{mapping.name:28s} {_hw_label(hw):24s} layers {row['layers']:3d}  "
                      f"runtime {row['runtime_exact']:3d}  counts {row['counts_exact']:3d}  "
                      f"energy {row['energy_within_0.5pct']:3d}  ({ok})  "
                      f"binary {t_bin * 1e3:7.1f} ms  coexplore {t_ours * 1e3:7.1f} ms CPU  x{t_bin / t_ours:.2f}")
            else:
                print(f"{mapping.name:28s} {_hw_label(hw):24s} layers {len(ours):3d}  "
                      f"coexplore {t_ours * 1e3:7.1f} ms CPU")
    if args.json:
        json.dump({"binary": str(binary) if have_bin else None, "cases": results}, sys.stdout, indent=2)
        print()
    elif have_bin:
        agree = sum(r.get("all_columns_equal") == r.get("layers") == r.get("layers_priced") is not None
                    for r in results)
        refuse = sum(bool(r.get("both_refuse")) for r in results)
        print(f"\n{agree}/{len(results)} cases agree on every column of every layer; {refuse} more are refused by "
              f"both (coexplore with an error naming the reason, the binary by crashing)")


if __name__ == "__main__":
    main()
