"""Few-shot device transfer: cost tables, adaptation, intervals, cell selection, device-table input checks.

Synthetic devices are exact cost tables over the NB201 graph counts, so what the predictor
must recover is known; one test uses the Pi 5 table of the data directory when it is there.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from coexplore.cli.main import main
from coexplore.errors import DataError, SpecError
from coexplore.nas.latency_transfer import (
    all_cell_features,
    pretrained_transfer,
    read_device_samples,
    read_device_tables,
    representatives,
)
from coexplore.nas.nb201 import GRAPH_COUNT_NAMES, NB201Space
from coexplore.nas.tables import load_device_latency
from coexplore.predict import TransferPredictor, fit_cost_table, make_predictor, ranking_metrics, select_cells
from tests.conftest import data_root

FEATS = all_cell_features()
CONST = GRAPH_COUNT_NAMES.index("constant_output")


def device(costs: dict[str, float], intercept: float, constant_ratio: float = 1.0) -> np.ndarray:
    """Latency of every NB201 cell on a synthetic device with these per-edge costs."""
    c = np.array([costs.get(n, 0.0) for n in GRAPH_COUNT_NAMES])
    y = FEATS.graph_counts @ c + intercept
    y[FEATS.graph_counts[:, CONST] > 0] *= constant_ratio
    return y


# a compiler that removes a dead-ended convolution: no per-operation table can say that
CONV_HEAVY = device({"nor_conv_3x3:live": 2.0, "nor_conv_3x3:dead_end": 0.05, "nor_conv_3x3:zero_fed": 2.0,
                     "nor_conv_1x1:live": 0.3, "nor_conv_1x1:dead_end": 0.01, "nor_conv_1x1:zero_fed": 0.3}, 1.0)
DISPATCH = device({f"{op}:{s}": 0.4 for op in ("skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3")
                   for s in ("live", "dead_end", "zero_fed")} | {"none": 0.2, "adds": 0.1}, 2.0)
FOLDING = device({"nor_conv_3x3:live": 1.5, "nor_conv_1x1:live": 0.2, "avg_pool_3x3:live": 0.1}, 0.5, 0.01)


def test_graph_counts_name_what_a_compiler_can_remove() -> None:
    cells = NB201Space.all_cells()
    assert cells[1651].edge_status() == ("none",) * 6 and FEATS.graph_counts[1651, CONST] == 1
    # index 10: three 3x3 convs whose outputs only reach the cell output through `none` edges
    assert cells[10].edge_status()[:3] == ("dead_end",) * 3
    assert FEATS.graph_counts[10, GRAPH_COUNT_NAMES.index("nor_conv_3x3:dead_end")] == 3
    assert np.all(FEATS.graph_counts[:, :13].sum(axis=1) == 6)  # every edge is counted once
    assert len(representatives()) == 6466


def test_cost_table_recovers_a_device_and_its_folding_ratio() -> None:
    reps = representatives()
    table = fit_cost_table(FEATS.take(reps), FOLDING[reps], device="folding")
    assert table.constant_ratio == pytest.approx(0.01, rel=1e-6)
    assert np.allclose(table.predict(FEATS.graph_counts[reps]), FOLDING[reps], rtol=1e-5)


def test_transfer_adapts_from_ten_cells_and_beats_fitting_from_scratch() -> None:
    reps = representatives()
    target = 0.6 * CONV_HEAVY + 0.3 * DISPATCH  # a device that is a mix of two known ones
    model = TransferPredictor().pretrain([("conv", FEATS.take(reps), CONV_HEAVY[reps]),
                                          ("dispatch", FEATS.take(reps), DISPATCH[reps])])
    train = np.random.default_rng(0).choice(reps, 10, replace=False)
    test = np.setdiff1d(reps, train)
    model.fit(FEATS.take(train), target[train])
    m = ranking_metrics(target[test], model.predict(FEATS.take(test)))
    assert m["spearman"] > 0.999 and m["mape"] < 0.5
    assert model.weights_ == pytest.approx([0.6, 0.3], abs=0.02)
    scratch = make_predictor("transfer").fit(FEATS.take(train), target[train])
    assert ranking_metrics(target[test], scratch.predict(FEATS.take(test)))["mape"] > 5 * m["mape"]
    lo, hi = model.predict_interval(FEATS.take(test))
    assert np.all(lo <= hi) and np.mean((target[test] >= lo) & (target[test] <= hi)) > 0.8


def test_a_device_unlike_every_known_one_gets_a_per_operation_table_from_twenty_cells() -> None:
    # eager-PyTorch-like: a pooling costs most of a convolution, whatever the edge; no known device is
    # like it. A per-operation table explains its cells exactly; the held-out error says so, and the
    # fit keeps that structure instead of a mix of misleading devices plus free departures.
    reps = representatives()
    pooling = device({f"{op}:{st}": c for op, c in (("avg_pool_3x3", 1.4), ("nor_conv_3x3", 2.0),
                                                    ("nor_conv_1x1", 0.8), ("skip_connect", 0.05))
                      for st in ("live", "dead_end", "zero_fed")} | {"none": 0.1}, 1.0)
    sources = [("conv", FEATS.take(reps), CONV_HEAVY[reps]), ("folding", FEATS.take(reps), FOLDING[reps])]
    train = np.random.default_rng(0).choice(reps, 20, replace=False)
    test = np.setdiff1d(reps, train)
    # noise-free cells: no noise floor (by default held-out errors below 1 % RMS count as equal)
    chosen = TransferPredictor(noise_floor=0.0).pretrain(sources).fit(FEATS.take(train), pooling[train])
    delta_only = TransferPredictor(noise_floor=0.0, structures=("mix+delta",)).pretrain(sources).fit(
        FEATS.take(train), pooling[train])
    assert chosen.structure_ in ("mix+ops", "ops") and delta_only.structure_ == "mix+delta"
    got = ranking_metrics(pooling[test], chosen.predict(FEATS.take(test)))
    ablated = ranking_metrics(pooling[test], delta_only.predict(FEATS.take(test)))
    assert got["mape"] < 1e-6 < ablated["mape"] and got["spearman"] > 0.9999, (got, ablated)
    assert chosen.summary()["structure"] == chosen.structure_ and chosen.summary()["ridge"] is None
    assert delta_only.summary()["ridge"] == delta_only.ridge_ > 0


def test_transfer_folds_constant_networks_like_the_devices_it_resembles() -> None:
    reps = representatives()
    const = reps[FEATS.graph_counts[reps, CONST] > 0]
    normal = reps[FEATS.graph_counts[reps, CONST] == 0]
    train = np.random.default_rng(1).choice(normal, 10, replace=False)
    # no constant network measured: the known device's folding ratio carries over
    model = TransferPredictor().pretrain([("folding", FEATS.take(reps), FOLDING[reps])])
    model.fit(FEATS.take(train), 1.5 * FOLDING[train])
    assert model.constant_ratio_ == pytest.approx(0.01, rel=1e-3)
    assert np.allclose(model.predict(FEATS.take(const)), 1.5 * FOLDING[const], rtol=0.05)  # not 1.5 * 1-2 ms
    # from scratch, one measured constant network teaches the ratio
    scratch = pretrained_transfer([]).fit(FEATS.take(np.append(train, const[0])), FOLDING[np.append(train, const[0])])
    assert scratch.constant_ratio_ < 0.05
    assert scratch.predict(FEATS.take(const[:1]))[0] == pytest.approx(FOLDING[const[0]], rel=1e-3)


def test_transfer_refuses_too_few_cells_and_non_positive_latencies() -> None:
    model = TransferPredictor()
    idx = np.arange(4)
    with pytest.raises(SpecError, match=r"needs at least 5 measured cells of the new device.*got 4"):
        model.fit(FEATS.take(idx), np.ones(4))
    y = np.ones(8)
    y[3] = 0.0
    with pytest.raises(SpecError, match=r"latencies must be > 0.*first 0\.0 at row 3"):
        model.fit(FEATS.take(np.arange(8)), y)
    with pytest.raises(SpecError, match=r"transfer\.structures: must be a non-empty subset of mix\+delta, "
                                        r"mix\+ops, ops, got \('mix\+lut',\)"):
        TransferPredictor(structures=("mix+lut",)).fit(FEATS.take(np.arange(8)), np.ones(8))
    with pytest.raises(SpecError, match=r"transfer\.structures: \('mix\+ops',\) all need known devices"):
        TransferPredictor(structures=("mix+ops",)).fit(FEATS.take(np.arange(8)), np.arange(1.0, 9.0))
    with pytest.raises(SpecError, match=r"transfer\.coverage: must be in"):
        TransferPredictor(coverage=1.5).fit(FEATS.take(np.arange(8)), np.ones(8))


def test_diverse_selection_covers_constant_networks_and_is_seeded() -> None:
    reps = representatives()
    feats = FEATS.take(reps)
    pick = select_cells(feats, 20, strategy="diverse", seed=3)
    assert len(set(pick.tolist())) == 20 and (feats.graph_counts[pick, CONST] > 0).any()
    assert np.array_equal(pick, select_cells(feats, 20, strategy="diverse", seed=3))
    rnd = select_cells(feats, 20, strategy="random", seed=3)
    assert len(set(rnd.tolist())) == 20
    with pytest.raises(SpecError, match=r"selection count: must be an integer in 1\.\.6466 \(the candidates\), got 0"):
        select_cells(feats, 0)
    with pytest.raises(SpecError, match="selection strategy: must be one of diverse, random, got 'best'"):
        select_cells(feats, 3, strategy="best")


COLUMNS = ("arch_index", "device", "framework", "task", "latency_ms", "latency_var", "energy_mj", "rep_arch_index")


def _table(path: Path, rows: list[tuple[object, ...]], header: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _synthetic_table(path: Path, name: str, y: np.ndarray, idx: np.ndarray) -> Path:
    return _table(path, [(int(i), name, "rt", "cifar100", repr(float(y[i])), "0", "nan", int(i)) for i in idx])


def test_device_tables_name_bad_rows(tmp_path: Path) -> None:
    good = ("0", "d", "rt", "cifar100", "1.5", "0", "nan", "0")
    cases = [
        (("15625", *good[1:7], "15625"), "row 3: arch_index must be an NB201 index (0..15624), got 15625"),
        (("x", *good[1:]), "row 3: arch_index must be an NB201 index (integer 0..15624), got 'x'"),
        (("5", *good[1:4], "0", "0", "nan", "5"), "row 3: latency_ms must be a positive finite number, got 0.0"),
        (("5", *good[1:4], "-2", "0", "nan", "5"), "row 3: latency_ms must be a positive finite number, got -2.0"),
        (good, "row 3: arch_index 0 appears twice"),
    ]
    for k, (bad, msg) in enumerate(cases):
        p = _table(tmp_path / f"t{k}.csv", [good, bad])
        with pytest.raises(DataError) as e:
            read_device_tables([p])
        assert msg in str(e.value) and str(p) in str(e.value)
    p = _table(tmp_path / "copies.csv", [good, ("1651", *good[1:7], "10"), ("10", *good[1:7], "10")])
    (t,) = read_device_tables([p])
    assert t.name == "d/rt" and t.arch_index.tolist() == [0, 10]  # 1651 copies 10's measurement
    with pytest.raises(DataError, match="missing column"):
        read_device_samples(_table(tmp_path / "s.csv", [("1", "2")], header=("arch_index", "latency")))


def test_cli_select_and_adapt(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    reps = representatives()
    src = [_synthetic_table(tmp_path / "conv.csv", "conv", CONV_HEAVY, reps[:600]),
           _synthetic_table(tmp_path / "disp.csv", "disp", DISPATCH, reps[600:1200])]
    target = 0.5 * CONV_HEAVY + 0.5 * DISPATCH
    assert main(["predictor", "select", "--from", *map(str, src), "--count", "12", "--json"]) == 0
    chosen = json.loads(capsys.readouterr().out)["indices"]
    assert len(set(chosen)) == 12 and set(chosen) <= set(reps.tolist())
    samples = _synthetic_table(tmp_path / "new.csv", "new", target, np.array(chosen))
    test = _synthetic_table(tmp_path / "test.csv", "new", target, reps[1200:1800])
    pred = tmp_path / "pred.csv"
    assert main(["predictor", "adapt", "--from", *map(str, src), "--device-samples", str(samples), "--test",
                 str(test), "--predict-out", str(pred), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["samples"] == 12 and out["sources"] == ["conv/rt", "disp/rt"]
    assert out["test"]["spearman"] > 0.99 and out["test"]["within_10pct"] > 0.95, out["test"]
    with pred.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 15625 and float(rows[5]["latency_ms_low"]) <= float(rows[5]["latency_ms_high"])
    table = load_device_latency(pred, framework="predicted")  # usable as `coexplore nas --latency-file`
    assert np.allclose(table.latency_ms[reps[1200:1800]], target[reps[1200:1800]], rtol=0.1)

    few = _synthetic_table(tmp_path / "few.csv", "new", target, np.array(chosen[:3]))
    assert main(["predictor", "adapt", "--from", *map(str, src), "--device-samples", str(few)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs at least 5 measured cells" in err[0] and "got 3" in err[0]
    zero = _table(tmp_path / "zero.csv", [(1, "n", "rt", "c", "0", "0", "nan", 1)])
    assert main(["predictor", "adapt", "--from", *map(str, src), "--device-samples", str(zero)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "latency_ms must be a positive finite number, got 0.0" in err[0]
    bad_idx = _table(tmp_path / "idx.csv", [(20000, "n", "rt", "c", "1", "0", "nan", 20000)])
    assert main(["predictor", "adapt", "--from", str(bad_idx), "--device-samples", str(samples)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "arch_index must be an NB201 index (0..15624), got 20000" in err[0]


def test_transfer_to_pi5_litert_from_onnx_with_twenty_cells() -> None:
    path = data_root() / "nasbench201" / "nb201_device_latency.csv"
    if not path.is_file():
        pytest.skip(f"the Pi 5 device table has no licence and is not shipped; not found at {path} "
                    "(set COEXPLORE_DATA)")
    onnx, litert = sorted(read_device_tables([path]), key=lambda t: t.name != "pi5/onnx")
    model = pretrained_transfer([onnx])
    pick = select_cells(FEATS.take(litert.arch_index), 20, strategy="diverse", seed=0, sources=model.sources)
    model.fit(FEATS.take(litert.arch_index[pick]), litert.latency_ms[pick])
    test = np.setdiff1d(np.arange(len(litert.arch_index)), pick)
    m = ranking_metrics(litert.latency_ms[test], model.predict(FEATS.take(litert.arch_index[test])))
    assert m["spearman"] > 0.98 and m["within_10pct"] > 0.75
