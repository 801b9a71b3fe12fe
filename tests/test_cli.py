"""The CLI's stable JSON shapes (DESIGN.md) and the cost model's optional modes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from coexplore.cost.model import evaluate, evaluate_batch
from coexplore.mapping.encoding import decode, encode
from coexplore.mapping.sampling import sample_legal
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network
from tests.conftest import data_root


def cli(*args: str) -> dict:  # type: ignore[type-arg]
    r = subprocess.run([sys.executable, "-m", "coexplore.cli.main", *args], capture_output=True, text=True,
                       check=True)
    return json.loads(r.stdout)


def test_help_lists_every_command() -> None:
    r = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "--help"], capture_output=True, text=True)
    for cmd in ("list", "evaluate", "map", "bench", "timeloop-case"):
        assert cmd in r.stdout
    for cmd in ("list", "evaluate", "map", "timeloop-case"):
        assert subprocess.run([sys.executable, "-m", "coexplore.cli.main", cmd, "--help"],
                              capture_output=True).returncode == 0


def test_list_and_evaluate_json() -> None:
    assert "eyeriss" in cli("list", "accelerators", "--json")
    assert "resnet18" in cli("list", "networks", "--json")
    layers = cli("list", "layers", "resnet18", "--json")
    assert {x["name"] for x in layers} >= {"conv1", "layer2.0.conv2", "fc"}
    out = cli("evaluate", "--network", "squeezenet", "--accelerator", "shidiannao", "--samples", "256", "--json")
    assert out["network"] == "squeezenet" and len(out["layers"]) == len(get_network("squeezenet").layers)
    assert out["energy_pj"] == sum(x["energy_pj"] for x in out["layers"])
    assert out["latency_cycles"] == sum(x["latency_cycles"] for x in out["layers"])


def test_bench_cost_json() -> None:
    out = cli("bench", "cost", "--network", "resnet18", "--layer", "layer2.0.conv2", "--accelerator", "eyeriss",
              "--mappings", "2000", "--repeats", "1", "--json")
    assert out["mappings"] == 2000 and out["mappings_per_s"] > 0 and out["seconds"] > 0


def test_map_json_shape() -> None:
    out = cli("map", "--layer", "K=32,C=16,P=14,Q=14,R=3,S=3,stride=1,groups=1,N=1", "--accelerator", "eyeriss",
              "--jobs", "1", "--max-evals", "20000", "--json")
    assert {"energy_pj", "latency_cycles", "edp", "seconds", "layers"} <= set(out)
    (layer,) = out["layers"]
    assert {"name", "energy_pj", "latency_cycles", "edp", "mapping"} <= set(layer)
    assert np.isclose(layer["edp"], layer["energy_pj"] * layer["latency_cycles"])


def test_timeloop_yaml_input() -> None:
    path = data_root() / "timeloop_reference" / "original" / "02-model-conv1d+oc-2level-tiling" / \
        "parsed-processed-input.yaml"
    out = cli("timeloop-case", str(path), "--json")
    assert out["cycles"] == 1536 and abs(out["energy_pj"] - 7929.295) < 0.01


def test_throttle_only_slows_down() -> None:
    layer = get_network("resnet18").layer("layer2.0.conv2")
    acc = get_accelerator("eyeriss")
    batch = sample_legal(layer, acc, 200, seed=3)
    free = evaluate_batch(layer, acc, batch)
    limited = evaluate_batch(layer, acc, batch, throttle=True)
    assert np.all(free.latency_cycles == free.compute_cycles)
    assert np.all(limited.latency_cycles >= free.latency_cycles)
    assert np.any(limited.latency_cycles > free.latency_cycles)  # Eyeriss's DRAM link is narrow
    # Only leakage grows, over the throttled cycles (Timeloop's total_cycles)
    i = int(np.argmax(limited.latency_cycles > free.latency_cycles))
    m = decode(batch, i)
    a, b = evaluate(layer, acc, m), evaluate(layer, acc, m, throttle=True)
    leak_a, leak_b = sum(lv.leakage_pj for lv in a.levels), sum(lv.leakage_pj for lv in b.levels)
    assert leak_b == pytest.approx(leak_a * b.latency_cycles / a.latency_cycles)
    assert b.energy_pj - a.energy_pj == pytest.approx(leak_b - leak_a)
    assert limited.energy_pj[i] == pytest.approx(b.energy_pj) and free.energy_pj[i] == pytest.approx(a.energy_pj)


def test_single_and_batch_agree_and_area() -> None:
    layer = get_network("mobilenetv2").layers[1]
    acc = get_accelerator("nvdla-256")
    batch = sample_legal(layer, acc, 50, seed=1)
    from coexplore.mapping.encoding import decode

    bc = evaluate_batch(layer, acc, batch)
    for i in range(5):
        one = evaluate(layer, acc, decode(batch, i))
        assert np.isclose(one.energy_pj, bc.energy_pj[i]) and one.latency_cycles == bc.latency_cycles[i]
        assert one.area_mm2 == acc.area_mm2 > 0
        assert evaluate_batch(layer, acc, encode([decode(batch, i)])).energy_pj[0] == bc.energy_pj[i]
