"""The crossbar (CIM) model on VGG-8 / CIFAR-10 per device, and its vectorised speed against the scalar loop.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_cim.py [--designs 20000] [--scalar 500] [--seed 0] [--json]

Figures: DNN+NeuroSim's VGG-8 (8-bit weights and inputs) on each registered device with the
model's NeuroSim-like defaults (128x128 sub-arrays, 8 columns per 5-bit ADC, 22 nm, 1 GHz,
256 tiles of 4x4 sub-arrays), 2-bit cells (1 for SRAM, its only option); rows ``fit`` use the
fewest tiles that hold all weights (``tiles_to_fit``, NeuroSim's own chip sizing). Compare with NACIM's
table (seed 000): QuantNAS 5.14 TOPS/W, NACIM_sw 16.3 TOPS/W, 0.11-0.29 TOPS.

Speed: ``--designs`` random legal designs (every knob drawn from a grid) priced at once by
``price_network_batch``, against ``price_network`` in a Python loop over the first ``--scalar``
of them (CPU seconds, ``time.process_time``), and the largest relative difference between the two.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from typing import Any

import numpy as np

from coexplore.cost.cim import BATCH_FIELDS, CimDesign, price_network, price_network_batch, tiles_to_fit
from coexplore.presets.cim_devices import CIM_DEVICES
from coexplore.spec.workload import Layer, Network


def vgg8() -> Network:
    """DNN+NeuroSim's VGG-8 on 32x32 CIFAR-10: convs 128,128,256,256,512,512 (3x3, pool after 2,4,6), fc 1024, 10."""
    layers, size, cin = [], 32, 3
    for i, (width, pool) in enumerate(((128, False), (128, True), (256, False), (256, True),
                                       (512, False), (512, True))):
        layers.append(Layer(name=f"conv{i + 1}", K=width, C=cin, P=size, Q=size, R=3, S=3, padding=(1, 1)))
        cin, size = width, size // 2 if pool else size
    layers += [Layer(name="fc1", K=1024, C=cin * size * size, op="fc"), Layer(name="fc2", K=10, C=1024, op="fc")]
    return Network(name="vgg8", layers=tuple(layers))


def random_designs(n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` legal designs as arrays (cell bits dividing 8 within the device's limit; ADC bits 3..limit)."""
    rng = np.random.default_rng(seed)
    names = CIM_DEVICES.names()
    max_cb = np.array([CIM_DEVICES.get(x).max_cell_bits for x in names])
    dev = rng.integers(0, len(names), n)
    sub = rng.choice([64, 128, 256], n)
    cb_choices = np.array([1, 2, 4])
    cb_ok = cb_choices[None, :] <= max_cb[dev][:, None]
    cb = cb_choices[np.array([rng.choice(np.flatnonzero(row)) for row in cb_ok])]
    limit = np.ceil(np.log2(sub * (2.0**cb - 1) + 1)).astype(np.int64)
    return {
        "device": dev, "sub_array": sub, "cell_bits": cb,
        "adc_bits": rng.integers(3, limit + 1), "cols_per_adc": rng.choice([4, 8, 16], n),
        "subarrays_per_pe": rng.choice([2, 4, 8], n), "pes_per_tile": rng.choice([2, 4, 8], n),
        "tiles": rng.choice([16, 64, 256, 1024], n), "weight_bits": np.full(n, 8), "input_bits": np.full(n, 8),
        "tech_nm": rng.choice([14.0, 22.0, 32.0, 45.0], n), "clock_mhz": rng.choice([500.0, 1000.0], n),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=20_000)
    ap.add_argument("--scalar", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    net = vgg8()

    figures = {}
    for name in CIM_DEVICES:
        cb = min(2, CIM_DEVICES.get(name).max_cell_bits)
        design = CimDesign(device=name, cell_bits=cb)
        for label, d in (("", design), ("fit", dataclasses.replace(design, tiles=tiles_to_fit(net, design)))):
            c = price_network(net, d)
            figures[f"{name} {label}".strip()] = {
                "cell_bits": cb, "tiles": d.tiles, "latency_ns": c.latency_ns, "energy_pj": c.energy_pj,
                "edp": c.edp, "area_um2": c.area_um2, "tops": c.tops, "tops_per_w": c.tops_per_w,
                "streaming": c.streaming}

    arrays = random_designs(args.designs, args.seed)
    t0 = time.process_time()
    batch = price_network_batch(net, arrays)
    t_batch = time.process_time() - t0
    names = CIM_DEVICES.names()
    m = min(args.scalar, args.designs)
    kwargs: list[dict[str, Any]] = [
        {k: (names[int(arrays[k][i])] if k == "device" else arrays[k][i].item()) for k in BATCH_FIELDS}
        for i in range(m)]
    designs = [CimDesign(**kw) for kw in kwargs]
    t0 = time.process_time()
    ref = [price_network(net, d) for d in designs]
    t_scalar = time.process_time() - t0
    diff = max(max(abs(batch["energy_pj"][i] / r.energy_pj - 1), abs(batch["latency_ns"][i] / r.latency_ns - 1),
                   abs(batch["area_um2"][i] / r.area_um2 - 1)) for i, r in enumerate(ref))
    speed = {"designs": args.designs, "batch_designs_per_s": args.designs / t_batch,
             "scalar_designs": m, "scalar_designs_per_s": m / t_scalar,
             "speedup": (args.designs / t_batch) / (m / t_scalar), "max_rel_diff": diff}
    if args.json:
        print(json.dumps({"network": "vgg8", "macs": net.macs, "devices": figures, "speed": speed}, indent=1))
        return
    print(f"VGG-8 / CIFAR-10, {net.macs / 1e6:.1f} MMACs, 8-bit weights and inputs, defaults of CimDesign")
    print(f"{'device':18s} {'cell':>4s} {'tiles':>5s} {'lat ms':>8s} {'E uJ':>9s} {'EDP pJ*ns':>10s} {'area um2':>10s} "
          f"{'TOPS':>6s} {'TOPS/W':>7s} stream")
    for name, f in figures.items():
        print(f"{name:18s} {f['cell_bits']:4d} {f['tiles']:5d} {f['latency_ns'] / 1e6:8.3f} "
              f"{f['energy_pj'] / 1e6:9.2f} {f['edp']:10.3e} {f['area_um2']:10.3e} {f['tops']:6.3f} "
              f"{f['tops_per_w']:7.2f} {f['streaming']}")
    print("NACIM (seed 000): QuantNAS 5.14 TOPS/W 0.285 TOPS 3.24e6 um2 EDP 8.08e12; "
          "NACIM_sw 16.3 TOPS/W 0.234 TOPS 1.97e6 um2 EDP 3.76e12")
    print(f"vectorised: {speed['batch_designs_per_s']:,.0f} designs/s ({args.designs} designs); scalar loop: "
          f"{speed['scalar_designs_per_s']:,.0f} designs/s ({m}); speedup {speed['speedup']:.0f}x; "
          f"max relative difference {diff:.1e}")


if __name__ == "__main__":
    main()
