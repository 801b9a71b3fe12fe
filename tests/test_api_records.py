"""One record shape per result kind: the Python API's ``to_record()`` and the CLI's ``--json`` agree.

Every command is run twice on the same small input, once through :mod:`coexplore.api` and once
through ``coexplore ... --json`` (in process), and the two JSON documents must have the same
keys at every depth; an ASIC and an FPGA accelerator search must too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from coexplore import api
from coexplore.cli.main import main
from tests.conftest import data_root, skip_if_extra_missing

pytestmark = pytest.mark.usefixtures("module_cache")

LAYER = "K=32,C=16,P=14,Q=14,R=3,S=3,stride=1,groups=1,N=1"


def shape(x: Any) -> Any:
    """The keys of ``x`` at every depth (a list by its first element); leaves are ``None``."""
    if isinstance(x, dict):
        return {k: shape(v) for k, v in x.items()}
    if isinstance(x, list):
        return [shape(x[0])] if x else []
    return None


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    skip_if_extra_missing(code, err)
    assert code == 0, err
    return json.loads(out)


def same_shape(record: dict[str, Any], printed: Any) -> None:
    as_json = json.loads(json.dumps(record))
    assert shape(as_json) == shape(record)  # JSON as it is: string keys, lists and plain values
    assert shape(as_json) == shape(printed)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("net") / "tiny.yaml"
    path.write_text(yaml.safe_dump({"name": "tiny", "layers": [
        {"name": "conv", "K": 32, "C": 16, "P": 14, "Q": 14, "R": 3, "S": 3},
        {"name": "dw", "K": 32, "C": 32, "P": 14, "Q": 14, "R": 3, "S": 3, "groups": 32}]}))
    return path


def test_evaluate(capsys: pytest.CaptureFixture[str], tiny: Path) -> None:
    rec = api.evaluate_network(str(tiny), "eyeriss", samples=64).to_record()
    same_shape(rec, cli_json(capsys, "evaluate", "--network", str(tiny), "--accelerator", "eyeriss",
                             "--samples", "64"))
    from coexplore.resolve import resolve_accelerator

    names = [lv.name for lv in resolve_accelerator("eyeriss").levels]  # the mapping's levels carry their names
    assert [lv["name"] for lv in rec["layers"][0]["mapping"]["levels"]] == names


def test_map(capsys: pytest.CaptureFixture[str]) -> None:
    from coexplore.spec.workload import parse_layer_spec

    rec = api.map_network(parse_layer_spec(LAYER), "eyeriss", jobs=1, max_evals=500).to_record()
    same_shape(rec, cli_json(capsys, "map", "--layer", LAYER, "--accelerator", "eyeriss", "--jobs", "1",
                             "--max-evals", "500"))
    assert rec["network"] == "layer" and rec["layers"][0]["padded"] is None


def test_hwsearch_asic_and_fpga_records_are_one_shape(capsys: pytest.CaptureFixture[str], tiny: Path) -> None:
    asic = api.search_accelerator([str(tiny)], "eyeriss", strategy="random", budget_evals=2).to_record()
    same_shape(asic, cli_json(capsys, "hwsearch", "--network", str(tiny), "--budget", "eyeriss", "--strategy",
                              "random", "--budget-evals", "2"))
    fpga = api.search_accelerator([str(tiny)], "xc7a50t").to_record()
    same_shape(fpga, cli_json(capsys, "hwsearch", "--network", str(tiny), "--budget", "xc7a50t"))
    assert (asic["kind"], fpga["kind"]) == ("asic", "fpga")
    assert list(asic) == list(fpga)
    for key in ("best", "baseline"):
        assert list(asic[key]) == list(fpga[key])
    assert shape(asic["best"]["networks"]) == shape(fpga["best"]["networks"])
    assert fpga["best"]["energy_pj"] is None and fpga["best"]["resources"]["dsp"] <= fpga["best"]["limits"]["dsp"]
    assert asic["best"]["resources"] is None and asic["best"]["latency_ms"] > 0
    # the shared FPGA engine runs the networks' layers one after another: per-network latencies add up
    assert sum(r["latency_cycles"] for r in fpga["best"]["networks"]) == fpga["best"]["latency_cycles"]


def test_hwsearch_on_a_board_refuses_template_options(capsys: pytest.CaptureFixture[str], tiny: Path) -> None:
    from coexplore.errors import SpecError

    with pytest.raises(SpecError, match=r"presets only: budget_evals \(--budget-evals\), strategy \(--strategy\)$"):
        api.search_accelerator([str(tiny)], "xc7a50t", strategy="random", budget_evals=2)
    assert main(["hwsearch", "--network", str(tiny), "--budget", "xc7a50t", "--budget-evals", "2"]) == 2
    assert "--budget-evals" in capsys.readouterr().err
    with pytest.raises(SpecError, match=r"fpga_mode \(--fpga-mode\): applies to FPGA boards only"):
        api.search_accelerator([str(tiny)], "eyeriss", fpga_mode="pipelined")


def test_timeloop_case(capsys: pytest.CaptureFixture[str]) -> None:
    case = sorted((data_root() / "timeloop_reference").glob("*.json"))[0]
    rec = api.evaluate_timeloop_case(case).to_record()
    same_shape(rec, cli_json(capsys, "timeloop-case", str(case)))
    assert set(rec) == {"cycles", "energy_pj", "macs", "utilization", "levels"}


def test_bench_cost(capsys: pytest.CaptureFixture[str]) -> None:
    rec = api.bench_cost("resnet18", "layer2.0.conv2", "eyeriss", mappings=300, repeats=1).to_record()
    same_shape(rec, cli_json(capsys, "bench", "cost", "--network", "resnet18", "--layer", "layer2.0.conv2",
                             "--accelerator", "eyeriss", "--mappings", "300", "--repeats", "1"))
    assert rec["mappings"] == 300 and rec["mappings_per_s"] == pytest.approx(300 / rec["seconds"])


def test_nas(capsys: pytest.CaptureFixture[str]) -> None:
    res = api.search_networks("nb201", dataset="cifar10", strategy="random", latency="none", budget_queries=5)
    rec = res.to_record()
    same_shape(rec, cli_json(capsys, "nas", "--space", "nb201", "--dataset", "cifar10", "--strategy", "random",
                             "--latency", "none", "--budget-queries", "5"))
    assert rec["best"]["arch"] == res.best_arch and rec["latency_source"] is None


def test_codesign(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "small.yaml"
    cfg.write_text(yaml.safe_dump({"problem": {"kind": "codesign", "space": "nb201", "design_stride": 400},
                                   "objectives": ["accuracy", "edp"], "strategy": "random",
                                   "budget": {"trials": 30}}))
    url = f"sqlite:///{tmp_path / 's.db'}"
    rec = api.codesign(str(cfg), storage=url, name="a").to_record()
    same_shape(rec, cli_json(capsys, "codesign", str(cfg), "--storage", url, "--name", "b", "--no-report"))
    assert rec["pairs_evaluated"] == 30 and rec["report"] is None and rec["front"]


def test_predictor_evaluate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import csv

    src = data_root() / "nasbench201" / "nb201_device_latency.csv"
    with src.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["framework"] == "onnx"][:80]
    for name, part in (("train", rows[:40]), ("test", rows[40:])):
        with (tmp_path / f"{name}.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(part)
    train, test = str(tmp_path / "train.csv"), str(tmp_path / "test.csv")
    rec = api.evaluate_predictor("flops", train, test, "latency_ms").to_record()
    same_shape(rec, cli_json(capsys, "predictor", "evaluate", "--predictor", "flops", "--train", train, "--test",
                             test, "--target", "latency_ms"))
