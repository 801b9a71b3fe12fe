"""The AnalogNAS-Bench table (extra ``cim``): key mapping, columns, evaluator, missing package."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from coexplore.errors import MissingDependencyError, SpecError
from coexplore.nas import analog_table
from coexplore.nas.analog_table import (
    COLUMNS,
    AnalogTableEvaluator,
    cell_of_key,
    check_column,
    load_analog_table,
    package_key,
)
from coexplore.nas.nb201 import Cell, NB201Space

HAVE_PACKAGE = importlib.util.find_spec("analognasbench") is not None
needs_package = pytest.mark.skipif(not HAVE_PACKAGE,
                                   reason="analog-nasbench not installed (pip install 'coexplore[cim]')")

ALL_SKIP = Cell(("skip_connect",) * 6)
ALL_CONV3 = Cell(("nor_conv_3x3",) * 6)
#: Edges in cell-string order: 0->1, 0->2, 1->2, 0->3, 1->3, 2->3.
MIXED = Cell(("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "skip_connect", "none", "nor_conv_1x1"))


def test_package_key_uses_naslib_edge_and_operation_order() -> None:
    assert package_key(ALL_SKIP) == (0,) * 6
    assert package_key(ALL_CONV3) == (2,) * 6
    # package order 0->1, 0->2, 0->3, 1->2, 1->3, 2->3; skip 0, none 1, conv3x3 2, conv1x1 3, avgpool 4
    assert package_key(MIXED) == (2, 3, 0, 4, 1, 3)
    for cell in (ALL_SKIP, ALL_CONV3, MIXED):
        assert cell_of_key(package_key(cell)) == cell


def test_bad_key_and_bad_column_name_the_valid_values() -> None:
    with pytest.raises(SpecError, match="6 operation indices"):
        cell_of_key((0, 1, 5, 0, 0, 0))
    with pytest.raises(SpecError) as err:
        check_column("noisy_acc")
    assert "'noisy_acc'" in str(err.value) and all(c in str(err.value) for c in COLUMNS)


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(analog_table.importlib.util, "find_spec",
                        lambda name, *a: None if name == "analognasbench" else real(name, *a))
    load_analog_table.cache_clear()
    try:
        with pytest.raises(MissingDependencyError, match=r"pip install 'coexplore\[cim\]'"):
            load_analog_table()
    finally:
        load_analog_table.cache_clear()


@needs_package
def test_table_rows_match_values_read_from_the_package_by_hand() -> None:
    # read with the package's own AnalogNASBench().query_metric(key, metric), keys as in the test above
    space = NB201Space(dataset="cifar10")
    table = load_analog_table()
    expected = {ALL_SKIP: (60.7836, 10.0, 57.49, 50.43, 3.18),
                ALL_CONV3: (93.2424, 78.6492, 85.64, 84.94, 0.69),
                MIXED: (92.1608, 63.1392, 88.4104, 86.89, 0.40)}
    for cell, (clean, noisy, analog, drift_day, drift_day_std) in expected.items():
        i = space.index(cell)
        got = [table.column(c)[i] for c in ("baseline_accuracy", "noisy_accuracy", "analog_accuracy",
                                            "analog_drift_86400")]
        assert got == pytest.approx([clean, noisy, analog, drift_day], abs=1e-9)
        assert table.spread("analog_drift_86400")[i] == pytest.approx(drift_day_std)
    with pytest.raises(SpecError, match="without a spread"):
        table.spread("noisy_accuracy")
    for c in COLUMNS:
        col = table.column(c)
        assert col.shape == (15625,) and np.isfinite(col).all() and col.min() > 0 and col.max() <= 100


@needs_package
def test_evaluator_reads_its_column_for_a_batch() -> None:
    space = NB201Space(dataset="cifar10")
    noisy = AnalogTableEvaluator(space=space)
    clean = AnalogTableEvaluator(space=space, column="baseline_accuracy")
    cells = [ALL_SKIP, ALL_CONV3, MIXED, ALL_CONV3]
    out = noisy.evaluate(cells)
    assert out.shape == (4,) and out.dtype == np.float64
    assert out[1] == out[3] == pytest.approx(78.6492)
    assert clean.evaluate(cells)[0] == pytest.approx(60.7836)
    assert noisy.name == "analognas-bench:cifar10/noisy_accuracy"
    with pytest.raises(SpecError, match="must be one of baseline_accuracy"):
        AnalogTableEvaluator(space=space, column="noisy")


def test_evaluator_rejects_another_space() -> None:
    from coexplore.nas.chain import ChainSpace

    with pytest.raises(SpecError, match="only NAS-Bench-201"):
        AnalogTableEvaluator(space=ChainSpace())
