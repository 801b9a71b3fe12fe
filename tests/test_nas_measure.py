"""On-device latency: outlier rejection, timing a tiny model, an NB201 table that resumes."""

# ruff: noqa: E402  (imports after the optional-extra skip)
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="measuring on-device latency needs the extra 'nas' (torch)")

from coexplore.errors import DataError, SpecError
from coexplore.nas.measure import CSV_COLUMNS, keep_mask, measure_latency, measure_nb201, summarize
from coexplore.nas.tables import load_device_latency


def test_outlier_rejection_drops_one_huge_sample() -> None:
    rng = np.random.default_rng(0)
    samples = [*(1.0 + 0.01 * rng.standard_normal(39)), 50.0]
    keep = keep_mask(samples)
    assert not keep[-1] and keep[:-1].sum() >= 37
    s = summarize(samples)
    assert s.rejected >= 1 and s.kept + s.rejected == 40
    assert abs(s.median_ms - 1.0) < 0.01 and s.variance_ms2 < 1e-3  # the outlier no longer counts
    assert np.var(samples, ddof=1) > 50  # ... as it would have
    assert summarize([2.0, 2.0, 2.0, 9.0]).kept == 3  # MAD 0: the equal majority is kept
    with pytest.raises(SpecError, match="samples_ms"):
        keep_mask([])


def test_tiny_model_is_timed_and_state_restored() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(8 * 6 * 6, 4))
    model.train()
    threads = torch.get_num_threads()
    m = measure_latency(model, (1, 3, 8, 8), warmup=2, repeats=5)
    assert m.median_ms > 0 and m.variance_ms2 >= 0
    assert m.kept + m.rejected == 5 == len(m.samples_ms) and m.threads == 1
    assert model.training and torch.get_num_threads() == threads
    with pytest.raises(SpecError, match="repeats: must be an integer >= 1, got 0"):
        measure_latency(model, (1, 3, 8, 8), repeats=0)


def test_measure_nb201_writes_a_table_the_loader_reads_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "lat.csv"
    run = measure_nb201([0, 11, 1651], out, warmup=1, repeats=3, progress=False, device="test-box")
    assert sorted(run.measured) == [0, 11, 1651] and run.skipped == ()
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {(r["device"], r["framework"], r["task"], r["energy_mj"]) for r in rows} == \
           {("test-box", "torch", "cifar100", "nan")}
    table = load_device_latency(out, framework="torch")
    assert table.arch_index.tolist() == [0, 11, 1651]
    assert np.all(table.latency_ms > 0) and table.representatives().all() and np.isnan(table.energy_mj).all()
    assert all(float(r["latency_var"]) >= 0 for r in rows)

    again = measure_nb201([11, 1651, 2], out, warmup=1, repeats=3, progress=False, device="test-box")
    assert again.measured == (2,) and again.skipped == (11, 1651)
    assert load_device_latency(out, framework="torch").arch_index.tolist() == [0, 2, 11, 1651]


def test_measure_nb201_refuses_bad_indices_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"arch_index: must be an integer in 0\.\.15624, got 15625"):
        measure_nb201([15625], tmp_path / "x.csv", progress=False)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="columns must be arch_index,device"):
        measure_nb201([0], other, progress=False)


def test_runtimes_time_a_model_and_the_framework_names_runtime_and_threads(tmp_path: Path) -> None:
    from coexplore.nas.runtimes import framework_name, parse_framework

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                                torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 4))
    runtimes = ["torchscript"]
    try:
        import onnxruntime  # noqa: F401

        runtimes.append("onnxruntime")
    except ImportError:  # the optional extra 'onnxruntime'; torchscript is still checked
        pass
    for runtime in runtimes:
        m = measure_latency(model, (1, 3, 8, 8), warmup=1, repeats=3, threads=2, runtime=runtime)
        assert m.median_ms > 0 and m.kept + m.rejected == 3 and m.threads == 2
    assert model.training  # restored
    out = tmp_path / "t2.csv"
    run = measure_nb201([11], out, warmup=1, repeats=2, threads=2, progress=False, device="box")
    assert run.framework == framework_name("torch", 2) == "torch-t2"
    assert load_device_latency(out, framework="torch-t2").arch_index.tolist() == [11]
    assert parse_framework("onnxruntime-t2") == ("onnxruntime", 2) and parse_framework("torch") == ("torch", 1)
    with pytest.raises(SpecError, match="runtime: must be one of torch, torchscript, onnxruntime, got 'tvm'"):
        measure_nb201([11], out, progress=False, runtime="tvm")
