"""Bad input: one clear line naming the field and value, exit code 2, no traceback (unless --debug)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coexplore.cli.main", *args], capture_output=True, text=True)


def assert_clean_error(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    line = r.stderr.strip()
    for n in needles:
        assert n in line, line


def _net_yaml(tmp_path: Path, **layer: object) -> str:
    spec = {"name": "tiny", "layers": [{"name": "c1", "K": 8, "C": 4, "P": 4, "Q": 4, "R": 3, "S": 3, **layer}]}
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


@pytest.mark.parametrize(("field", "value"), [("K", 0), ("P", -3), ("C", 0)])
def test_zero_or_negative_dimension(tmp_path: Path, field: str, value: int) -> None:
    r = run("evaluate", "--network", _net_yaml(tmp_path, **{field: value}), "--accelerator", "eyeriss")
    assert_clean_error(r, field, str(value))


def test_layer_spec_bad_value() -> None:
    from coexplore.errors import SpecError
    from coexplore.spec.workload import parse_layer_spec

    with pytest.raises(SpecError, match=r"layer\.K: must be a positive integer, got -1"):
        parse_layer_spec("K=-1,C=3")


def test_unknown_preset() -> None:
    r = run("evaluate", "--network", "resnet18", "--accelerator", "eyerisss")
    assert_clean_error(r, "unknown accelerator 'eyerisss'", "eyeriss", "nvdla-256")
    r = run("evaluate", "--network", "resnet19", "--accelerator", "eyeriss")
    assert_clean_error(r, "unknown network 'resnet19'", "resnet18")


def test_malformed_yaml(tmp_path: Path) -> None:
    path = tmp_path / "acc.yaml"
    path.write_text("name: broken\nlevels: [\n  - {name: a\n")
    r = run("evaluate", "--network", "resnet18", "--accelerator", str(path))
    assert_clean_error(r, str(path))


def _mapping_file(tmp_path: Path, levels: list[dict[str, object]]) -> str:
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump({"layers": {"c1": {"levels": levels}}}))
    return str(path)


def _tiny_acc() -> str:
    return "eyeriss"


def test_factors_do_not_multiply(tmp_path: Path) -> None:
    net = _net_yaml(tmp_path)
    from coexplore.presets.accelerators import get_accelerator

    acc = get_accelerator("eyeriss")
    levels = [{"name": lv.name, "keep": sorted(lv.must_keep)} for lv in acc.levels]
    levels[-1] = {"name": acc.levels[-1].name, "temporal": {"K": 4, "C": 4, "P": 4, "Q": 4, "R": 3, "S": 3}}
    r = run("evaluate", "--network", net, "--accelerator", "eyeriss", "--mapping", _mapping_file(tmp_path, levels))
    assert_clean_error(r, "K", "8", "4")


def test_tile_larger_than_buffer(tmp_path: Path) -> None:
    net = _net_yaml(tmp_path)
    from coexplore.presets.accelerators import get_accelerator

    acc = get_accelerator("eyeriss")
    levels: list[dict[str, object]] = [{"name": lv.name, "keep": sorted(lv.must_keep)} for lv in acc.levels]
    # everything in the innermost register file: its tile is the whole output tensor
    levels[0]["temporal"] = {"K": 8, "C": 4, "P": 4, "Q": 4, "R": 3, "S": 3}
    levels[-1]["keep"] = ["weights", "inputs", "outputs"]
    r = run("evaluate", "--network", net, "--accelerator", "eyeriss", "--mapping", _mapping_file(tmp_path, levels))
    assert_clean_error(r, acc.levels[0].name, "size_words")


def test_unsupported_onnx_operator(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx", reason="the ONNX importer needs the extra 'onnx'")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8])
    node = helper.make_node("Hardmax", ["x"], ["y"], name="weird_1")
    model = helper.make_model(helper.make_graph([node], "g", [x], [y]))
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    r = run("evaluate", "--network", str(path), "--accelerator", "eyeriss")
    assert_clean_error(r, "weird_1", "Hardmax")


def test_debug_shows_traceback() -> None:
    r = run("--debug", "evaluate", "--network", "resnet18", "--accelerator", "nope")
    assert r.returncode == 2
    assert "Traceback" in r.stderr


def test_bench_rejects_zero_mappings() -> None:
    r = run("bench", "cost", "--network", "resnet18", "--layer", "layer2.0.conv2", "--accelerator", "eyeriss",
            "--mappings", "0")
    assert_clean_error(r, "--mappings", "0")


def test_missing_case_file(tmp_path: Path) -> None:
    r = run("timeloop-case", str(tmp_path / "nope.json"), "--json")
    assert_clean_error(r, "nope.json")


@pytest.mark.parametrize(("value", "rule"), [("0", "must be an integer from 1 to 64 bits, got 0"),
                                             ("65", "must be an integer from 1 to 64 bits, got 65"),
                                             ("4.5", "must be an integer, got '4.5'")])
def test_bad_bit_width_in_a_layer_spec(value: str, rule: str) -> None:
    r = run("map", "--layer", f"K=16,C=16,P=4,Q=4,weight_bits={value}", "--accelerator", "eyeriss", "--json")
    assert_clean_error(r, "weight_bits", rule)
    assert len(r.stderr.strip().splitlines()) == 1


def test_bad_bit_width_in_a_network_yaml(tmp_path: Path) -> None:
    r = run("evaluate", "--network", _net_yaml(tmp_path, input_bits=65), "--accelerator", "eyeriss")
    assert_clean_error(r, "layers[0].input_bits", "got 65")


def test_word_wider_than_the_memory_access(tmp_path: Path) -> None:
    """nvdla's per-MAC weight register is one 8-bit word: 16-bit weights do not fit."""
    r = run("map", "--layer", "K=16,C=16,P=4,Q=4,weight_bits=16", "--accelerator", "nvdla-256", "--json")
    assert_clean_error(r, "layer.weight_bits", "16-bit word of weights does not fit level 'weight_reg'")
    assert len(r.stderr.strip().splitlines()) == 1


def test_accelerator_with_zero_cost_levels(tmp_path: Path) -> None:
    acc = {"name": "free", "mac": {"instances": 4, "mesh_x": 4},
           "levels": [{"name": "rf", "size_words": 64, "instances": 4, "mesh_x": 4, "read_energy_pj": 0.0,
                       "write_energy_pj": 0.0, "update_energy_pj": 0.0},
                      {"name": "dram", "size_words": None}]}
    path = tmp_path / "free.yaml"
    path.write_text(yaml.safe_dump(acc))
    r = run("evaluate", "--network", "resnet18", "--accelerator", str(path), "--json")
    assert_clean_error(r, "accelerator.levels[0].read_energy_pj", "level 'rf' keeps data", "cost_free")


@pytest.mark.parametrize("command", [
    ["evaluate", "--network", "alexnet", "--accelerator", "eyeriss"],
    ["map", "--network", "alexnet", "--accelerator", "eyeriss"],
    ["hwsearch", "--network", "alexnet", "--budget", "eyeriss"],
    ["nas", "--strategy", "random"],
    ["bench", "cost", "--network", "resnet18", "--layer", "layer2.0.conv2", "--accelerator", "eyeriss"],
    ["codesign", "--recipe", "nb201-eyeriss"],
])
def test_a_negative_seed_is_named(command: list[str]) -> None:
    r = run(*command, "--seed", "-1")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "--seed: must be an integer >= 0, got -1" in r.stderr


def test_no_samples_and_a_batch_larger_than_memory_are_named() -> None:
    assert_clean_error(run("evaluate", "--network", "alexnet", "--accelerator", "eyeriss", "--samples", "0"),
                       "argument --samples: must be an integer >= 1, got 0")
    r = run("bench", "cost", "--network", "resnet18", "--layer", "layer2.0.conv2", "--accelerator", "eyeriss",
            "--mappings", "10000000000")
    assert_clean_error(r, "mappings (--mappings): 10,000,000,000 mappings are priced in one batch", "at most")
