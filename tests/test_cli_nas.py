"""The network-side commands: nas, predictor evaluate, measure, and searched networks as --network."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coexplore.cli.main import main
from coexplore.nas.tables import load_device_latency
from tests.conftest import skip_if_extra_missing


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    skip_if_extra_missing(code, err)
    return code, out, err


def _split_csvs(data_dir: Path, tmp_path: Path, n_train: int, n_test: int) -> tuple[Path, Path]:
    src = data_dir / "nasbench201" / "nb201_device_latency.csv"
    with src.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["framework"] == "onnx"]
    perm = np.random.default_rng(0).permutation(len(rows))
    paths = []
    for name, part in (("train", perm[:n_train]), ("test", perm[n_train:n_train + n_test])):
        p = tmp_path / f"{name}.csv"
        with p.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows[i] for i in part)
        paths.append(p)
    return paths[0], paths[1]


def test_predictor_evaluate_prints_the_design_json(capsys: pytest.CaptureFixture[str], data_dir: Path,
                                                   tmp_path: Path) -> None:
    train, test = _split_csvs(data_dir, tmp_path, 300, 500)
    code, out, _ = run(capsys, "predictor", "evaluate", "--predictor", "lut", "--train", str(train), "--test",
                       str(test), "--target", "latency_ms", "--json")
    assert code == 0
    res = json.loads(out)
    assert {"spearman", "kendall", "within_5pct", "within_10pct", "mape"} <= set(res)
    assert res["spearman"] > 0.9 and 0 <= res["within_10pct"] <= 1 and res["train"] == 300
    code, out, _ = run(capsys, "predictor", "evaluate", "--predictor", "flops", "--train", str(train), "--test",
                       str(test), "--target", "latency_ms")
    assert code == 0 and "spearman" in out and "flops" in out


def test_predictor_evaluate_names_a_missing_column_and_file(capsys: pytest.CaptureFixture[str], data_dir: Path,
                                                           tmp_path: Path) -> None:
    train, test = _split_csvs(data_dir, tmp_path, 20, 20)
    code, _, err = run(capsys, "predictor", "evaluate", "--predictor", "lut", "--train", str(train), "--test",
                       str(test), "--target", "latency_us")
    assert code == 2 and "no column 'latency_us'" in err and "latency_ms" in err and "Traceback" not in err
    code, _, err = run(capsys, "predictor", "evaluate", "--predictor", "lut", "--train", str(tmp_path / "no.csv"),
                       "--test", str(test), "--target", "latency_ms")
    assert code == 2 and "no.csv" in err and "file not found" in err


def test_nas_under_the_pi5_quartile_meets_the_limit(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "nas", "--strategy", "evolution",
                       "--latency-percentile", "25", "--budget-queries", "30", "--seed", "1", "--json")
    assert code == 0
    res = json.loads(out)
    limit = float(np.percentile(load_device_latency(data_dir).latency_ms, 25))
    assert res["max_latency_ms"] == pytest.approx(limit)
    assert res["best"]["latency_ms"] <= limit and 0 <= res["best"]["arch_index"] < 15625
    assert res["queries"] == 30 and res["pruned_before_accuracy"] > 0 and res["strategy"] == "evolution"


def test_nas_bad_inputs_are_named(capsys: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path) -> None:
    code, _, err = run(capsys, "--data-dir", str(tmp_path), "nas", "--max-latency-ms", "4")
    assert code == 2 and "nb201_accuracy.csv" in err and "not found" in err and "cifar100-test-200ep" in err
    (tmp_path / "nasbench201").mkdir()  # the accuracy table there, the latency table missing
    (tmp_path / "nasbench201" / "nb201_accuracy.csv").write_bytes(
        (data_dir / "nasbench201" / "nb201_accuracy.csv").read_bytes())
    code, _, err = run(capsys, "--data-dir", str(tmp_path), "nas", "--max-latency-ms", "4")
    assert code == 2 and "nb201_device_latency.csv" in err and "not found" in err
    code, _, err = run(capsys, "nas", "--dataset", "svhn", "--latency", "none")
    assert code == 2 and "dataset: must be one of" in err and "'svhn'" in err
    code, _, err = run(capsys, "nas", "--space", "chain", "--dataset", "digits", "--accuracy", "table")
    assert code == 2 and "'table' exists only for the nb201 space" in err


def test_a_malformed_cell_string_as_network_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "evaluate", "--network", "nb201:|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|"
                       "none~2|", "--accelerator", "eyeriss")
    assert code == 2 and "nor_conv_5x5" in err and "must be one of" in err
    code, out, _ = run(capsys, "evaluate", "--network", "nb201:9930", "--accelerator", "eyeriss", "--json")
    assert code == 0 and len(json.loads(out)["layers"]) == 1 + 6 + 15 * 5 + 1


def test_measure_writes_a_device_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_csv = tmp_path / "local.csv"
    code, out, _ = run(capsys, "measure", "--out", str(out_csv), "--indices", "1651,9930", "--warmup", "1",
                       "--repeats", "3", "--device", "ci", "--json")
    assert code == 0 and json.loads(out)["measured"] == 2
    table = load_device_latency(out_csv, framework="torch")
    assert table.arch_index.tolist() == [1651, 9930] and np.all(table.latency_ms > 0)
    code, out, _ = run(capsys, "measure", "--out", str(out_csv), "--indices", "1651", "--device", "ci", "--json")
    assert code == 0 and json.loads(out)["skipped"] == 1


def test_help_names_every_strategy_and_predictor() -> None:
    """The help texts list the names by hand (no registry import at start-up); they must not drift."""
    from coexplore.nas.strategies import nas_strategy_names
    from coexplore.predict import predictor_names

    nas = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "nas", "--help"], capture_output=True,
                         text=True, check=True).stdout
    pred = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "predictor", "evaluate", "--help"],
                          capture_output=True, text=True, check=True).stdout
    assert all(n in " ".join(nas.split()) for n in nas_strategy_names())
    assert all(n in pred for n in predictor_names())
