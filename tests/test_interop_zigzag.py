"""Tests for coexplore.interop.zigzag: ZigZag hardware YAML in, ZigZag fixed mappings out.

The YAMLs under tests/data/zigzag are unmodified copies of zigzag-dse 3.9.1's bundled
``inputs/hardware`` and ``inputs/mapping`` files (MIT, see tests/data/zigzag/LICENSE).
The live cross-evaluation in ZigZag is benchmarks/zigzag_crosscheck.py (ZigZag is not a
test dependency).
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from coexplore.cost.model import evaluate
from coexplore.errors import InteropError, MappingError
from coexplore.interop.zigzag import (
    DIM_FROM_ZIGZAG,
    accelerator_from_zigzag,
    allocation_to_zigzag,
    looks_like_zigzag,
    mapping_to_zigzag,
)
from coexplore.mapping.encoding import decode
from coexplore.mapping.mapping import Mapping
from coexplore.mapping.sampling import sample_legal
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network
from coexplore.spec.dims import DIMS
from coexplore.spec.hardware import Accelerator
from coexplore.spec.io import accelerator_to_dict

DATA = Path(__file__).resolve().parent / "data" / "zigzag"
LAYER = get_network("resnet18").layer("layer2.0.conv2")
W, I, O = "weights", "inputs", "outputs"

# From the YAMLs: (level, size in bits // word bits, keeps, instances). Words are 8-bit where
# weights or inputs live, 16-bit (partial sums) at output-only levels.
EXPECTED = {
    "eyeriss_like": ((14, 12), [
        ("rf_64B_A", 512 // 8, {I}, 168), ("rf_64B_W", 512 // 8, {W}, 168), ("rf_16B", 128 // 16, {O}, 168),
        ("sram_8KB", 65536 // 16, {O}, 1), ("sram_64KB", 524288 // 8, {W}, 1),
        ("sram_1M", 8388608 // 8, {I, O}, 1), ("dram", 10**10 // 8, {W, I, O}, 1),
    ]),
    "tpu_like": ((32, 32), [
        ("rf_128B", 1024 // 8, {W}, 1024), ("rf_2B", 16 // 16, {O}, 1024), ("sram_2MB", 16777216 // 8, {I, O}, 1),
        ("dram", 10**10 // 8, {W, I, O}, 1),
    ]),
    # 8x8x4x4: D1, D3 on X, D2, D4 on Y. rf_1B (served D3, D4) is made private (see zigzag_notes);
    # rf_2B (served D2) has 8*4*4 copies; a container takes D1 (X) and D4 (Y) below sram_32KB.
    "edge_tpu_like": ((32, 32), [
        ("rf_1B", 8 // 8, {W}, 1024), ("rf_2B", 16 // 16, {O}, 128), ("sram_32KB_fanout_D1_D4", 0, set(), 4),
        ("sram_32KB", 262144 // 8, {W}, 1), ("sram_2MB", 16777216 // 8, {I, O}, 1), ("dram", 10**10 // 8, {W, I, O}, 1),
    ]),
}


def _yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load((DATA / f"{name}.yaml").read_text())


def _acc(name: str, with_mapping: bool = True) -> Accelerator:
    mapping = DATA / "mapping" / f"{name}.yaml"
    use = with_mapping and mapping.exists()
    return accelerator_from_zigzag(DATA / f"{name}.yaml", mapping=mapping if use else None)


def _sampled(acc: Accelerator, n: int = 1, seed: int = 0) -> list[Mapping]:
    batch = sample_legal(LAYER, acc, n, seed=seed)
    return [decode(batch, i) for i in range(n)]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundled_designs_import_with_their_array_and_levels(name: str) -> None:
    acc = _acc(name)
    (mx, my), levels = EXPECTED[name]
    sizes = _yaml(name)["operational_array"]["sizes"]
    assert acc.mac.instances == math.prod(sizes) == mx * my
    assert (acc.mac.mesh_x, acc.mac.mesh_y) == (mx, my)
    assert acc.mac.energy_pj == _yaml(name)["operational_array"]["unit_energy"]
    got = [(lv.name, lv.size_words, set(lv.keeps), lv.instances) for lv in acc.levels]
    assert got == levels
    for lv in acc.levels:
        assert lv.must_keep == lv.keeps  # ZigZag has no bypass
    assert dict(acc.metadata)["source"] == "zigzag"


def test_eyeriss_like_fans_out_d1_on_x_and_d2_on_y_from_its_first_shared_memory() -> None:
    acc = _acc("eyeriss_like")
    fan = {lv.name: acc.fanout(i) for i, lv in enumerate(acc.levels)}
    assert fan["sram_8KB"] == (14, 12)
    assert all(f == (1, 1) for n, f in fan.items() if n != "sram_8KB")
    sram = acc.levels[acc.level_index("sram_8KB")]
    assert sram.spatial_dims_x == sram.spatial_dims_y == frozenset(DIMS)  # no mapping YAML: every dim


@pytest.mark.parametrize(("name", "level", "r_bits", "word"), [
    ("eyeriss_like", "sram_1M", 384, 8), ("eyeriss_like", "rf_16B", 24, 16), ("eyeriss_like", "dram", 64, 8),
    ("tpu_like", "sram_2MB", 2048, 8), ("edge_tpu_like", "sram_32KB", 512, 8),
])
def test_a_vector_access_is_one_zigzag_port_access(name: str, level: str, r_bits: int, word: int) -> None:
    mem = _yaml(name)["memories"][level]
    lv = _acc(name).levels[_acc(name).level_index(level)]
    assert lv.word_bits == word
    assert lv.block_size_words == r_bits // word
    assert lv.read_energy_pj == pytest.approx(mem["r_cost"])
    assert lv.write_energy_pj == pytest.approx(mem["w_cost"]) == pytest.approx(lv.update_energy_pj)
    assert lv.area_mm2 == mem["area"]


def test_mapping_yaml_and_zigzag_bandwidth_clipping_restrict_spatial_dims() -> None:
    tpu = _acc("tpu_like")
    sram = tpu.levels[tpu.level_index("sram_2MB")]
    assert (sram.spatial_dims_x, sram.spatial_dims_y) == ({"K"}, {"C"})  # D1: K, D2: C
    edge = _acc("edge_tpu_like")
    by = {lv.name: lv for lv in edge.levels}
    assert by["rf_2B"].spatial_dims_y == {"C"}  # D2
    assert (by["sram_32KB_fanout_D1_D4"].spatial_dims_x, by["sram_32KB_fanout_D1_D4"].spatial_dims_y) == ({"K"}, {"P"})
    assert by["sram_32KB"].spatial_dims_x == {"Q"}  # D3: OX
    # Without a mapping YAML every dim is allowed, except what ZigZag clips: the 8-bit rf_1B (weights,
    # served D3, D4) cannot feed different weights along D3/D4, the 16-bit rf_2B (psums, served D2)
    # cannot collect different outputs along D2.
    free = {lv.name: lv for lv in _acc("edge_tpu_like", with_mapping=False).levels}
    assert free["rf_2B"].spatial_dims_y == {"C", "R", "S"}
    assert free["sram_32KB"].spatial_dims_x == free["sram_32KB_fanout_D1_D4"].spatial_dims_y == {"N", "P", "Q"}
    assert free["sram_32KB_fanout_D1_D4"].spatial_dims_x == frozenset(DIMS)


def test_non_nesting_served_dimensions_are_reported() -> None:
    notes = dict(_acc("edge_tpu_like").metadata)["zigzag_notes"]
    assert "rf_1B" in notes and "1024 instances instead of 64" in notes
    assert "zigzag_notes" not in dict(_acc("eyeriss_like").metadata)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sampled_mapping_of_resnet18_layer_evaluates(name: str) -> None:
    acc = _acc(name)
    (m,) = _sampled(acc)
    cost = evaluate(LAYER, acc, m)
    assert cost.macs == LAYER.macs
    assert cost.mac_energy_pj == pytest.approx(LAYER.macs * acc.mac.energy_pj)
    assert cost.energy_pj > cost.mac_energy_pj
    assert cost.latency_cycles >= LAYER.macs // acc.mac.instances
    assert all(cost.levels[i].dataspaces == {} for i, lv in enumerate(acc.levels) if lv.is_container)


def test_chain_puts_private_memories_before_shared_ones_listed_earlier() -> None:
    data = _yaml("eyeriss_like")
    order = ["rf_64B_W", "sram_64KB", "rf_64B_A", "rf_16B", "sram_8KB", "sram_1M", "dram"]
    data["memories"] = {k: data["memories"][k] for k in order}
    acc = accelerator_from_zigzag(data)
    names = [lv.name for lv in acc.levels]
    assert names == ["rf_64B_W", "rf_64B_A", "rf_16B", "sram_64KB", "sram_8KB", "sram_1M", "dram"]
    assert [lv.instances for lv in acc.levels] == [168] * 3 + [1] * 4
    assert "zigzag_notes" not in dict(acc.metadata)


def test_inputs_name_precision_and_operand_links() -> None:
    data = _yaml("eyeriss_like")
    assert accelerator_from_zigzag(data, name="mine").name == "mine"
    assert accelerator_from_zigzag(str(DATA / "eyeriss_like.yaml")).name == "eyeriss_like"
    wide = accelerator_from_zigzag(data, precision_bits={"weights": 16, "inputs": 16, "outputs": 32})
    assert wide.levels[0].size_words == 512 // 16 and wide.mac.bits == 16
    swapped = [{"name": "default", "memory_operand_links": {"O": "O", "W": "I1", "I": "I2"}}]
    acc = accelerator_from_zigzag(data, mapping=swapped)
    assert acc.levels[acc.level_index("rf_64B_A")].keeps == {W}
    assert acc.levels[acc.level_index("sram_64KB")].keeps == {I}


def test_looks_like_zigzag() -> None:
    assert looks_like_zigzag(_yaml("tpu_like"))
    assert not looks_like_zigzag(accelerator_to_dict(get_accelerator("eyeriss")))
    assert not looks_like_zigzag([_yaml("tpu_like")])
    assert not looks_like_zigzag(None)


def _broken(edit: Any) -> dict[str, Any]:
    data = copy.deepcopy(_yaml("eyeriss_like"))
    edit(data)
    return data


@pytest.mark.parametrize(("edit", "needles"), [
    (lambda d: d.pop("operational_array"), ["operational_array"]),
    (lambda d: d.pop("name"), ["name: must be a non-empty string"]),
    (lambda d: d["memories"]["rf_64B_A"].update(operands=["I3"]), ["memories.rf_64B_A.operands", "'I3'"]),
    (lambda d: d["memories"]["sram_8KB"].update(served_dimensions=["D1", "D5"]),
     ["memories.sram_8KB.served_dimensions", "'D5'"]),
    (lambda d: d["memories"]["rf_16B"].update(size=-3), ["memories.rf_16B.size", "-3"]),
    (lambda d: d["operational_array"].update(sizes=[14]), ["operational_array.sizes", "[14]"]),
    (lambda d: d["operational_array"].update(is_imc=True), ["operational_array.is_imc", "not supported"]),
    (lambda d: d["memories"]["dram"].update(operands=["I1", "O"], ports=[
        {**d["memories"]["dram"]["ports"][0], "allocation": ["I1, fh", "I1, tl", "O, fh", "O, tl"]}]),
     ["memories.dram.operands", "outermost"]),
    (lambda d: d["memories"]["dram"].update(served_dimensions=["D1"]), ["memories.dram.served_dimensions"]),
    (lambda d: d["memories"]["rf_64B_W"].update(colour="red"), ["memories.rf_64B_W", "'colour'"]),
    (lambda d: d["memories"]["sram_64KB"]["ports"][0].update(type="write"),
     ["memories.sram_64KB.ports[0].allocation[0]", "write port"]),
    (lambda d: (d["memories"]["rf_64B_A"].pop("r_cost"), d["memories"]["rf_64B_A"].update(auto_cost_extraction=True)),
     ["memories.rf_64B_A.r_cost", "auto_cost_extraction"]),
])
def test_malformed_yaml_names_the_key_and_value(edit: Any, needles: list[str]) -> None:
    with pytest.raises(InteropError) as e:
        accelerator_from_zigzag(_broken(edit))
    for needle in needles:
        assert needle in str(e.value), (needle, str(e.value))


def test_every_problem_is_reported_at_once() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["memories"]["rf_64B_A"]["operands"] = ["X"]
        d["memories"]["sram_1M"]["served_dimensions"] = ["D9"]
        d["operational_array"]["unit_energy"] = "cheap"

    with pytest.raises(InteropError) as e:
        accelerator_from_zigzag(_broken(edit))
    for needle in ("unit_energy", "unknown operand 'X'", "unknown dimension 'D9'"):
        assert sum(needle in p for p in e.value.problems) == 1, (needle, e.value.problems)


def test_unreadable_sources_and_bad_mapping_entries_raise() -> None:
    with pytest.raises(InteropError, match="cannot read"):
        accelerator_from_zigzag(DATA / "missing.yaml")
    with pytest.raises(InteropError, match="no entry named 'default'"):
        accelerator_from_zigzag(_yaml("tpu_like"), mapping=[{"name": "Add"}])
    bad = [{"name": "default", "spatial_mapping": {"D1": ["XY, 4"], "D7": ["K, 2"]}}]
    with pytest.raises(InteropError) as e:
        accelerator_from_zigzag(_yaml("tpu_like"), mapping=bad)
    assert any("'XY'" in p for p in e.value.problems) and any("D7" in p for p in e.value.problems)


# -- export --------------------------------------------------------------------------------------
_ITEM = re.compile(r"^[A-Z]+\d*, \d+$")  # ZigZag's mapping validator regex for spatial_mapping items


def _temporal_sizes(entry: dict[str, Any]) -> dict[str, int]:
    """ZigZag's temporal loop sizes after the entry's spatial unrolling (size-1 dims dropped)."""
    spatial: dict[str, int] = {}
    for items in entry["spatial_mapping"].values():
        for it in items:
            d, f = it.split(", ")
            spatial[d] = spatial.get(d, 1) * int(f)
    bounds = LAYER.bounds()
    sizes = {zz: bounds[d] // spatial.get(zz, 1) for zz, d in DIM_FROM_ZIGZAG.items()}
    return {d: s for d, s in sizes.items() if s > 1}


def _products(loops: list[list[Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d, f in loops:
        out[d] = out.get(d, 1) * f
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exported_entry_is_a_complete_zigzag_fixed_mapping(name: str) -> None:
    acc = _acc(name)
    yaml_path = DATA / f"{name}.yaml"
    sizes = dict(zip(_yaml(name)["operational_array"]["dimensions"], _yaml(name)["operational_array"]["sizes"],
                     strict=True))
    for m in _sampled(acc, n=4, seed=3):
        entry = mapping_to_zigzag(LAYER, acc, m, yaml_path)
        assert set(entry) == {"name", "spatial_mapping", "memory_operand_links", "temporal_ordering"}
        assert entry["name"] == LAYER.name
        assert entry["memory_operand_links"] == {"O": "O", "W": "I2", "I": "I1"}
        assert set(entry["spatial_mapping"]) == set(sizes)  # every array dim, so ZigZag generates none
        for d, items in entry["spatial_mapping"].items():
            assert items and all(_ITEM.match(it) for it in items)
            assert math.prod(int(it.split(", ")[1]) for it in items) <= sizes[d]
        # ZigZag runs it as a fixed mapping only if the ordering is complete (zigzag_fixed_mapping.py checks it).
        assert all(isinstance(d, str) and isinstance(f, int) and f > 1 for d, f in entry["temporal_ordering"])
        assert _products(entry["temporal_ordering"]) == _temporal_sizes(entry)
        # innermost first: the outermost loop of the top level with a loop comes last
        top = next(lm for lm in reversed(m.levels) if lm.temporal_loops())
        d, f = top.temporal_loops()[0]
        assert entry["temporal_ordering"][-1] == [{v: k for k, v in DIM_FROM_ZIGZAG.items()}[d], f]
        assert yaml.safe_load(yaml.safe_dump([entry])) == [entry]


def test_exported_spatial_mapping_respects_each_array_dimension() -> None:
    acc = _acc("edge_tpu_like")
    allowed = {"D1": {"K"}, "D2": {"C"}, "D3": {"OX"}, "D4": {"OY"}}  # mapping/edge_tpu_like.yaml
    seen = set()
    for m in _sampled(acc, n=8, seed=1):
        for d, items in mapping_to_zigzag(LAYER, acc, m, DATA / "edge_tpu_like.yaml")["spatial_mapping"].items():
            dims = {it.split(", ")[0] for it in items if not it.endswith(", 1")}
            assert dims <= allowed[d]
            seen |= dims
    assert seen == {"K", "C", "OX", "OY"}


@pytest.mark.parametrize(("name", "levels"), [
    ("eyeriss_like", {"O": 4, "W": 3, "I": 3}), ("tpu_like", {"O": 3, "W": 2, "I": 2}),
    ("edge_tpu_like", {"O": 3, "W": 3, "I": 2}),
])
def test_allocation_has_one_loop_list_per_memory_level_of_each_operand(name: str, levels: dict[str, int]) -> None:
    acc = _acc(name)
    yaml_path = DATA / f"{name}.yaml"
    for m in _sampled(acc, n=3, seed=7):
        alloc = allocation_to_zigzag(LAYER, acc, m, yaml_path)
        ordering = mapping_to_zigzag(LAYER, acc, m, yaml_path)["temporal_ordering"]
        assert {op: len(v) for op, v in alloc.items()} == levels
        for per_level in alloc.values():  # the same loops, in the same order, split over the levels
            assert [loop for level in per_level for loop in level] == ordering


def test_allocation_puts_a_levels_loops_in_the_next_memory_holding_the_operand() -> None:
    acc = _acc("eyeriss_like")
    (m,) = _sampled(acc, seed=5)
    alloc = allocation_to_zigzag(LAYER, acc, m, DATA / "eyeriss_like.yaml")
    zz = {v: k for k, v in DIM_FROM_ZIGZAG.items()}

    def loops(*idx: int) -> list[list[Any]]:
        return [[zz[d], f] for i in idx for d, f in reversed(m.levels[i].temporal_loops())]

    # levels: 0 rf_64B_A (I), 1 rf_64B_W (W), 2 rf_16B (O), 3 sram_8KB (O), 4 sram_64KB (W), 5 sram_1M (I, O), 6 dram
    assert alloc["I"] == [loops(0), loops(1, 2, 3, 4, 5), loops(6)]
    assert alloc["W"] == [loops(0, 1), loops(2, 3, 4), loops(5, 6)]
    assert alloc["O"] == [loops(0, 1, 2), loops(3), loops(4, 5), loops(6)]


def test_export_refuses_foreign_accelerators_and_illegal_mappings() -> None:
    acc = _acc("eyeriss_like")
    (m,) = _sampled(acc)
    with pytest.raises(InteropError, match="was not imported from"):
        mapping_to_zigzag(LAYER, acc, m, DATA / "tpu_like.yaml")
    bad = Mapping(levels=(m.levels[1], m.levels[0], *m.levels[2:]))
    with pytest.raises(MappingError):
        allocation_to_zigzag(LAYER, acc, bad, DATA / "eyeriss_like.yaml")
