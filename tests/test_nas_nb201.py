"""NAS-Bench-201 space and tables: cell strings, isomorphism classes, networks, features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coexplore.errors import DataError, SpecError
from coexplore.interop.torch_fx import network_from_torch
from coexplore.nas.nb201 import Cell, NB201Space, parse_cell
from coexplore.nas.tables import load_accuracy, load_arch_strings, load_device_latency

SPACE = NB201Space()
BEST_200EP = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_every_table_string_parses_and_round_trips_to_its_index() -> None:
    strings = load_arch_strings()
    assert len(strings) == 15625
    cells = SPACE.all_cells()
    assert [str(c) for c in cells] == strings
    for i in (0, 1, 1651, 9930, 15624):
        assert SPACE.index(SPACE.cell(i)) == i
    assert SPACE.index(parse_cell(BEST_200EP)) == 9930


def test_degenerate_cells_are_the_341_with_chance_accuracy() -> None:
    cells = SPACE.all_cells()
    degenerate = np.array([c.degenerate for c in cells])
    assert degenerate.sum() == 341
    acc = load_accuracy("cifar100", 200, "test")
    assert np.all(acc[degenerate] == 1.0)
    assert SPACE.problem(cells[1651]) is not None and SPACE.problem(cells[9930]) is None


def test_isomorphism_classes_are_the_device_tables_representatives(data_dir: Path) -> None:
    first: dict[str, int] = {}
    reps = np.array([first.setdefault(SPACE.identity(c), i) for i, c in enumerate(SPACE.all_cells())])
    assert len(first) == 6466
    table = load_device_latency(data_dir, framework="onnx")
    assert np.array_equal(table.arch_index, np.arange(15625))
    assert np.array_equal(reps, table.rep_arch_index)


@pytest.mark.parametrize("index", [0, 1, 1651, 9930, 5374])
def test_network_layers_equal_the_traced_pytorch_model(index: int) -> None:
    full = NB201Space(prune_dead=False)
    cell = full.cell(index)
    traced = network_from_torch(full.to_torch(cell), full.input_shape)
    ours = full.to_network(cell)
    assert [(x.name, x.shape_key()) for x in traced.layers] == [(x.name, x.shape_key()) for x in ours.layers]
    n3, n1 = cell.ops.count("nor_conv_3x3"), cell.ops.count("nor_conv_1x1")
    assert ours.macs == 7_788_800 + 35_389_440 * n3 + 3_932_160 * n1  # the data README's figures
    f = full.features([cell])
    assert f.flops is not None and f.params is not None
    assert f.flops[0] == ours.macs
    assert f.params[0] == sum(p.numel() for p in full.to_torch(cell).parameters())


def test_dead_operations_are_pruned_from_the_cost_model_network() -> None:
    cell = parse_cell("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|")
    assert cell.live_edges() == (False, False, False, True, False, False)
    assert SPACE.to_network(cell).macs == 7_788_800
    assert NB201Space(prune_dead=False).to_network(cell).macs == 7_788_800 + 2 * 35_389_440
    assert SPACE.identity(cell) == SPACE.identity(parse_cell("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"))


def test_imagenet16_network_is_a_quarter_of_cifar() -> None:
    small = NB201Space(dataset="imagenet16-120", prune_dead=False)
    cell = small.cell(9930)
    assert small.input_shape == (1, 3, 16, 16)
    big = NB201Space(prune_dead=False).to_network(cell).macs - 6400  # without the 100-class classifier
    assert small.to_network(cell).macs - 64 * 120 == big // 4


def test_features_shapes_and_counts() -> None:
    cells = [SPACE.cell(i) for i in (0, 1, 9930)]
    f = SPACE.features(cells)
    assert f.adjacency is not None and f.node_ops is not None and f.op_counts is not None and f.vector is not None
    assert f.adjacency.shape == (3, 8, 8) and f.node_ops.shape == (3, 8, 7)
    assert np.all(f.node_ops.sum(axis=2) == 1)
    assert np.all(np.triu(f.adjacency[0], 1) == f.adjacency[0])  # topological order
    assert f.adjacency[0, 0].sum() == 3 and f.adjacency[0, :, 7].sum() == 3
    assert f.op_counts.shape == (3, 15) and np.all(f.op_counts.sum(axis=1) == 6 * 5 * 3)
    assert f.op_names[3 * 3] == "nor_conv_3x3@stage1"
    assert np.all(f.op_counts[2, 9:12] == 5 * 5)  # five 3x3 convs per cell, five cells per stage
    assert f.vector.shape == (3, 30) and np.all(f.vector.sum(axis=1) == 6)
    sub = f.take([2])
    assert len(sub) == 1 and sub.flops is not None and sub.flops[0] == f.flops[2]


def test_sampling_is_seeded_and_valid() -> None:
    a = SPACE.sample(np.random.default_rng(3), 50)
    b = SPACE.sample(np.random.default_rng(3), 50)
    assert a == b and all(not c.degenerate for c in a)
    assert SPACE.from_choices(SPACE.to_choices(a[0])) == a[0]
    assert SPACE.conditions == () and SPACE.encoding.distinct == 15625  # every decision always matters


@pytest.mark.parametrize("text, part", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "3 groups"),
    ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "conv_5x5"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "op~0"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 must have 2 inputs"),
])
def test_malformed_cell_strings_name_the_part(text: str, part: str) -> None:
    with pytest.raises(SpecError, match=part):
        parse_cell(text)


def test_bad_choices_datasets_and_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"choices\[2\]: must be in 0..4, got 7"):
        SPACE.from_choices([0, 0, 7, 0, 0, 0])
    with pytest.raises(SpecError, match="dataset: must be one of"):
        NB201Space(dataset="mnist")
    with pytest.raises(SpecError, match="arch_index"):
        SPACE.cell(15625)
    with pytest.raises(DataError, match="no column for cifar10/200ep/test"):
        load_accuracy("cifar10", 200)
    with pytest.raises(DataError, match=r"nb201_device_latency\.csv"):
        load_device_latency(tmp_path)
    with pytest.raises(SpecError, match="must have 6 operations"):
        Cell(("none",))


def test_accuracy_table_defaults_to_cifar100_200_epochs() -> None:
    acc = load_accuracy()
    assert acc.shape == (15625,)
    assert int(np.argmax(acc)) == 9930 and acc[9930] == pytest.approx(73.5133)
    assert load_accuracy("cifar10", 12, "test").max() == pytest.approx(89.16)
