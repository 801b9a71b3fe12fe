"""NACIM (seed 000) at coexplore scale: variation-aware against variation-unaware co-exploration of networks and
computing-in-memory crossbars, on NAS-Bench-201 (AnalogNAS-Bench table) and on the digits (Monte Carlo).

``--part nb201`` (needs the ``cim`` extra), per seed, the recipe ``nacim-nb201`` (``--trials`` pairs, the
NACIM controller over cell x device x sub-array x cell bits x columns per ADC, lossless ADCs):

* ``nacim`` on noisy accuracy (variation-aware), ``nacim`` on clean accuracy (``baseline_accuracy``:
  the unaware baseline, NACIM's QuantNAS row), and ``nacim (random)`` (uniform draws, same reward: the
  ablation of the controller);
* per run, its most accurate pair: the cell's clean and noisy accuracy and the design's area, EDP,
  TOPS, TOPS/W; and the hardware cost of the table's most accurate clean cell (81.2 % noisy) on the
  design the variation-aware run found, as the issue asks.

``--part digits``, per seed, recipe ``nacim-digits`` (``--trials`` pairs) with ``variation_aware`` true
and false: the most accurate design of each (by the objective it searched), its clean accuracy, its
noisy accuracy over the recipe's 20 Monte Carlo chips (mean and spread), the loss, the device.

    python benchmarks/bench_nacim.py --part nb201 --seeds 10 --trials 300 --out nacim_nb201.json
    python benchmarks/bench_nacim.py --part digits --seed 0 --trials 48 --out nacim_digits_s0.json
    python benchmarks/bench_nacim.py --merge nacim_digits_s*.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HW_KEYS = ("area_mm2", "edp", "tops", "tops_per_w", "latency_ns", "energy_pj")


def _study(recipe: str, seed: int, trials: int, problem: dict[str, Any], params: dict[str, Any],
           storage: str, name: str) -> tuple[dict[str, Any], Any, float]:
    from coexplore.study.codesign import load_recipe, summarize
    from coexplore.study.kinds import KINDS
    from coexplore.study.study import run_study

    base = load_recipe(recipe)
    cfg = dataclasses.replace(base, seed=seed, trials=trials, problem={**base.problem, **problem},
                              strategy_params={**base.strategy_params, **params})
    prob = KINDS.get("codesign").build(cfg, progress=False)
    t0 = time.perf_counter()
    run_study(cfg, name=name, storage=storage, progress=False, problem=prob, jobs=1)
    return summarize(name, storage=storage, problem=prob), prob, time.perf_counter() - t0


def _best(s: dict[str, Any]) -> dict[str, Any]:
    b = s["best"]
    keep = ("arch", "arch_index", "formats", "accuracy", "clean_accuracy", "noisy_accuracy", "noisy_std",
            "analog_accuracy", *HW_KEYS)
    return {**{k: b[k] for k in keep if k in b}, "device": b["accelerator"]["device"],
            "accelerator": b["accelerator"]}


def nb201(seeds: int, trials: int) -> dict[str, Any]:
    from coexplore.cost.cim import CimDesign, price_network, tiles_to_fit
    from coexplore.nas.analog_table import load_analog_table
    from coexplore.nas.nb201 import NB201Space

    table = load_analog_table()
    clean, noisy = table.column("baseline_accuracy"), table.column("noisy_accuracy")
    top = int(np.argmax(clean))
    space = NB201Space(dataset="cifar10")
    runs = {"nacim (noisy)": ({"accuracy_column": "noisy_accuracy"}, {}),
            "nacim (clean: unaware)": ({"accuracy_column": "baseline_accuracy"}, {}),
            "nacim (random)": ({"accuracy_column": "noisy_accuracy"}, {"controller": "random"})}
    tmp = tempfile.TemporaryDirectory()
    storage = f"sqlite:///{Path(tmp.name) / 'nacim.db'}"
    out: dict[str, Any] = {"trials": trials, "seeds": seeds, "rows": {k: [] for k in runs},
                           "best_clean_cell": {"index": top, "clean": float(clean[top]), "noisy": float(noisy[top])}}
    for seed in range(seeds):
        for label, (problem, params) in runs.items():
            name = "".join(ch for ch in f"{label}-{seed}" if ch.isalnum() or ch == "-")
            s, prob, secs = _study("nacim-nb201", seed, trials, problem, params, storage, name)
            row = {**_best(s), "seconds": secs, "queries": len(prob.queried), "trials": s["trials"]}
            if label == "nacim (noisy)":  # the table's most accurate clean cell on the design this run found
                acc = row["accelerator"]
                d = CimDesign(**{k: acc[k] for k in ("device", "sub_array", "cell_bits", "adc_bits", "cols_per_adc",
                                                     "tiles", "weight_bits", "input_bits")})
                net = space.to_network(space.cell(top))
                d = dataclasses.replace(d, tiles=max(d.tiles, tiles_to_fit(net, d)))
                c = price_network(net, d)
                row["best_clean_cell_on_this_design"] = {"area_mm2": c.area_um2 / 1e6, "edp": c.edp, "tops": c.tops,
                                                         "tops_per_w": c.tops_per_w, "tiles": d.tiles}
            out["rows"][label].append(row)
            print(f"seed {seed} {label:24s} {row['arch']} clean {row['clean_accuracy']:.2f} noisy "
                  f"{row['noisy_accuracy']:.2f} {row['device']} {row['tops_per_w']:.2f} TOPS/W "
                  f"{row['area_mm2']:.2f} mm2 | {row['queries']} queries {secs:.0f} s", file=sys.stderr, flush=True)
    return out


def digits(seed: int, trials: int) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory()
    storage = f"sqlite:///{Path(tmp.name) / 'nacim.db'}"
    out: dict[str, Any] = {"seed": seed, "trials": trials, "rows": {}}
    for aware in (True, False):
        s, _, secs = _study("nacim-digits", seed, trials, {"variation_aware": aware}, {}, storage, f"aware{aware}")
        row = {**_best(s), "seconds": secs, "trials": s["trials"], "networks": s["accuracy_readings"]}
        row["loss"] = row["clean_accuracy"] - row["noisy_accuracy"]
        out["rows"]["aware" if aware else "unaware"] = row
        print(f"seed {seed} aware={aware} {row['arch']} {row['formats']} {row['device']} clean "
              f"{row['clean_accuracy']:.2f} noisy {row['noisy_accuracy']:.2f} +- {row['noisy_std']:.2f} "
              f"(loss {row['loss']:.2f}) {row['tops_per_w']:.2f} TOPS/W | {secs:.0f} s", file=sys.stderr, flush=True)
    return out


def _ms(v: list[float]) -> str:
    return f"{np.mean(v):.2f} ± {np.std(v, ddof=1):.2f}" if len(v) > 1 else f"{v[0]:.2f}"


def print_nb201(data: dict[str, Any]) -> None:
    print(f"most accurate clean cell: clean {data['best_clean_cell']['clean']:.2f} %, noisy "
          f"{data['best_clean_cell']['noisy']:.2f} %")
    print("| run | pick's noisy % | >= 87 % | pick's clean % | device (count) | area mm² | EDP pJ·ns | TOPS | TOPS/W "
          "| queries |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, rows in data["rows"].items():
        devices = {d: sum(r["device"] == d for r in rows) for d in sorted({r["device"] for r in rows})}
        print(f"| {label} | {_ms([r['noisy_accuracy'] for r in rows])} | "
              f"{sum(r['noisy_accuracy'] >= 87 for r in rows)}/{len(rows)} "
              f"| {_ms([r['clean_accuracy'] for r in rows])} "
              f"| {', '.join(f'{k} {v}' for k, v in devices.items())} | {_ms([r['area_mm2'] for r in rows])} "
              f"| {np.mean([r['edp'] for r in rows]):.3g} | {np.mean([r['tops'] for r in rows]):.3g} "
              f"| {_ms([r['tops_per_w'] for r in rows])} | {max(r['queries'] for r in rows)} |")
    rows = data["rows"]["nacim (noisy)"]
    other = [r["best_clean_cell_on_this_design"] for r in rows]
    print(f"| most accurate clean cell on the variation-aware run's design | {data['best_clean_cell']['noisy']:.2f} "
          f"| - | {data['best_clean_cell']['clean']:.2f} | - | {_ms([o['area_mm2'] for o in other])} "
          f"| {np.mean([o['edp'] for o in other]):.3g} | {np.mean([o['tops'] for o in other]):.3g} "
          f"| {_ms([o['tops_per_w'] for o in other])} | - |")


def print_digits(files: list[str]) -> None:
    data = [json.loads(Path(f).read_text()) for f in files]
    print("| run | seeds | clean % | noisy % (20 chips) | loss (points) | spread over chips | device | TOPS/W |")
    print("|---|---|---|---|---|---|---|---|")
    for key in ("aware", "unaware"):
        rows = [d["rows"][key] for d in data]
        print(f"| {key} | {len(rows)} | {_ms([r['clean_accuracy'] for r in rows])} "
              f"| {_ms([r['noisy_accuracy'] for r in rows])} | {_ms([r['loss'] for r in rows])} "
              f"| {np.mean([r['noisy_std'] for r in rows]):.2f} | {', '.join(r['device'] for r in rows)} "
              f"| {_ms([r['tops_per_w'] for r in rows])} |")
    for d in data:
        for key, r in d["rows"].items():
            print(f"seed {d['seed']} {key}: {r['arch']} {r['formats']} {r['device']} cells "
                  f"{r['accelerator']['cell_bits']} clean {r['clean_accuracy']:.2f} noisy {r['noisy_accuracy']:.2f} "
                  f"± {r['noisy_std']:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("nb201", "digits"), default="nb201")
    ap.add_argument("--seeds", type=int, default=10, help="nb201: seeds 0..N-1")
    ap.add_argument("--seed", type=int, default=0, help="digits: the seed of this process")
    ap.add_argument("--trials", type=int, default=None, help="pairs per run (nb201 300, digits 48)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--merge", nargs="+", default=None, help="print the digits table of these JSON files")
    ap.add_argument("--show", default=None, help="print the nb201 table of this JSON file")
    args = ap.parse_args()
    if args.merge:
        print_digits(args.merge)
        return
    if args.show:
        print_nb201(json.loads(Path(args.show).read_text()))
        return
    if args.part == "nb201":
        data = nb201(args.seeds, args.trials or 300)
    else:
        data = digits(args.seed, args.trials or 48)
    if args.out:
        Path(args.out).write_text(json.dumps(data, indent=1))
    if args.part == "nb201":
        print_nb201(data)
    else:
        print(json.dumps(data["rows"], indent=1))


if __name__ == "__main__":
    main()
