"""Accelerator presets (published shapes and sizes) and accelerator YAML load/save."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from coexplore.errors import InteropError, RegistryError, SpecError
from coexplore.presets.accelerators import ACCELERATORS, get_accelerator
from coexplore.spec.dims import DATASPACES
from coexplore.spec.hardware import Accelerator, MemoryLevel
from coexplore.spec.io import (
    accelerator_from_dict,
    accelerator_to_dict,
    load_accelerator_yaml,
    save_accelerator_yaml,
)
from coexplore.spec.precision import bind
from coexplore.spec.technology import get_technology
from coexplore.spec.workload import Layer

KB = 1024
MB = 1024 * 1024
NAMES = ["eyeriss", "nvdla-256", "nvdla-1024", "shidiannao", "edgetpu", "tpu", "simba", "bitfusion"]

# name -> (MACs, (mesh_x, mesh_y), MAC bits, clock GHz), from the papers cited in the presets
PUBLISHED = {
    "eyeriss": (168, (14, 12), 16, 0.2),
    "nvdla-256": (256, (32, 8), 8, 1.0),
    "nvdla-1024": (1024, (64, 16), 8, 1.0),
    "shidiannao": (64, (8, 8), 16, 1.0),
    "edgetpu": (4096, (64, 64), 8, 0.5),
    "tpu": (65536, (256, 256), 8, 0.7),
    "simba": (1024, (32, 32), 8, 1.0),
    "bitfusion": (512, (32, 16), 8, 0.5),  # Fusion Units at 8 x 8 bits (more products at lower bits)
}
# name -> published on-chip SRAM in bytes (buffers only)
SRAM_BYTES = {
    "eyeriss": 108 * KB,
    "nvdla-256": 128 * KB,
    "nvdla-1024": 512 * KB,
    "shidiannao": (64 + 64 + 128) * KB,
    "edgetpu": 8 * MB,
    "tpu": 24 * MB + 4 * MB + 4 * 64 * KB,
    "simba": 64 * KB + 16 * (32 + 8 + 3) * KB,
    "bitfusion": (64 + 32 + 16) * KB // 2,  # the simulator double-buffers: half of each SRAM is usable
}
# name -> register-file bits (all instances)
REGFILE_BITS = {
    "eyeriss": 168 * (12 + 224 + 24) * 16,
    "nvdla-256": 256 * 8 + 8 * 32 * 32,
    "nvdla-1024": 1024 * 8 + 16 * 32 * 32,
    "shidiannao": 64 * 16,
    "edgetpu": 4096 * (8 + 32),
    "tpu": 65536 * 8,
    "simba": 1024 * 8,
    "bitfusion": 0,
}


def test_registry_names_exactly():
    assert ACCELERATORS.names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_preset_builds_with_published_shape(name):
    acc = ACCELERATORS.get(name)
    macs, mesh, bits, clock = PUBLISHED[name]
    assert isinstance(acc, Accelerator) and acc.name == name
    assert acc.n_macs == macs
    assert (acc.mac.mesh_x, acc.mac.mesh_y) == mesh
    assert acc.mac.bits == bits
    assert acc.clock_ghz == clock
    assert acc.technology == "45nm"
    if acc.mac.brick_bits is None:  # bitfusion's Fusion Units cost what Bit Fusion's synthesis says
        assert acc.mac.energy_pj == pytest.approx(get_technology("45nm").mac_energy_pj(bits))
    else:
        assert acc.mac.energy_pj == pytest.approx(0.4592, abs=1e-4)
    assert dict(acc.metadata)["source"]  # every preset cites its paper
    assert ACCELERATORS.describe(name)


@pytest.mark.parametrize("name", NAMES)
def test_preset_onchip_storage_as_documented(name):
    acc = ACCELERATORS.get(name)
    sram_bits = sum(lv.size_bits * lv.instances for lv in acc.levels if lv.technology_class == "sram")
    rf_bits = sum(lv.size_bits * lv.instances for lv in acc.levels if lv.technology_class == "regfile")
    assert sram_bits == SRAM_BYTES[name] * 8
    assert rf_bits == REGFILE_BITS[name]
    assert acc.onchip_bits == sram_bits + rf_bits


@pytest.mark.parametrize("name", NAMES)
def test_preset_hierarchy_is_sane(name):
    acc = ACCELERATORS.get(name)
    if acc.mac.brick_bits is not None:  # at 2 x 2 bits every fused lane of a scalable array fans out
        acc = bind(Layer(K=1, C=1, weight_bits=2, input_bits=2), acc)
    top = acc.levels[-1]
    assert top.technology_class == "dram" and top.size_words is None
    assert top.shared_bandwidth_words_per_cycle is not None and top.shared_bandwidth_words_per_cycle > 0
    # all dataspaces have somewhere to live below DRAM, and DRAM costs the most per word
    assert set().union(*(lv.keeps for lv in acc.levels[:-1])) == set(DATASPACES)
    dram_per_word = top.read_energy_pj / top.block_size_words
    for i, lv in enumerate(acc.levels[:-1]):
        assert 0 < lv.read_energy_pj / lv.block_size_words < dram_per_word
        assert lv.area_mm2 > 0
        fx, fy = acc.fanout(i)
        # a level that fans out names the dims each axis may unroll; one that does not, names none
        assert bool(lv.spatial_dims_x) == (fx > 1) and bool(lv.spatial_dims_y) == (fy > 1)
    assert acc.area_mm2 > 0


def test_eyeriss_row_stationary_connectivity():
    acc = ACCELERATORS.get("eyeriss")
    assert [lv.name for lv in acc.levels] == ["psum_spad", "weights_spad", "ifmap_spad", "shared_glb", "dram"]
    assert [lv.keeps for lv in acc.levels[:3]] == [{"outputs"}, {"weights"}, {"inputs"}]
    glb = acc.levels[3]
    assert "weights" not in glb.keeps  # weights bypass the global buffer
    assert acc.fanout(3) == (14, 12)
    assert glb.spatial_dims_x == {"P", "K"} and glb.spatial_dims_y == {"R", "C", "K"}
    assert 2 * (12 + 224 + 24) == 520  # ~0.5 KB of scratchpad per PE


def test_weight_stationary_arrays_unroll_c_and_k():
    for name, c_axis_level, k_axis_level in (("nvdla-1024", 1, 2), ("tpu", 1, 2)):
        acc = ACCELERATORS.get(name)
        reduce_level, bcast_level = acc.levels[c_axis_level], acc.levels[k_axis_level]
        assert "C" in reduce_level.spatial_dims_x | reduce_level.spatial_dims_y
        assert reduce_level.spatial_reduction
        assert "K" in bcast_level.spatial_dims_x | bcast_level.spatial_dims_y
        assert bcast_level.multicast
        assert acc.levels[0].keeps == {"weights"} and acc.levels[0].size_words == 1


def test_shidiannao_output_stationary():
    acc = ACCELERATORS.get("shidiannao")
    assert acc.levels[0].must_keep == {"outputs"}
    i = next(i for i, lv in enumerate(acc.levels) if acc.fanout(i) != (1, 1))
    assert acc.fanout(i) == (8, 8)
    assert acc.levels[i].spatial_dims_x == {"Q"} and acc.levels[i].spatial_dims_y == {"P"}


def test_simba_has_two_spatial_stages():
    acc = ACCELERATORS.get("simba")
    stages = [(acc.levels[i].name, acc.fanout(i)) for i in range(len(acc.levels)) if acc.fanout(i) != (1, 1)]
    assert stages == [("accumulation_buffer", (8, 8)), ("global_buffer", (4, 4))]
    assert acc.levels[-2].spatial_dims_x == {"K", "C"}


@pytest.mark.parametrize("name", NAMES)
def test_yaml_round_trip_is_exact(name, tmp_path):
    acc = ACCELERATORS.get(name)
    assert accelerator_from_dict(accelerator_to_dict(acc)) == acc
    path = save_accelerator_yaml(acc, tmp_path / "sub" / f"{name}.yaml")
    assert load_accelerator_yaml(path) == acc
    assert get_accelerator(str(path)) == acc


def test_get_accelerator_by_name_and_unknown_name():
    assert get_accelerator("tpu") == ACCELERATORS.get("tpu")
    with pytest.raises(RegistryError) as err:
        get_accelerator("eyeriss-v2")
    assert "eyeriss-v2" in str(err.value) and all(n in str(err.value) for n in NAMES)


def test_zigzag_yaml_points_to_the_zigzag_importer(tmp_path):
    """The preset loader reads coexplore's format; a ZigZag file gets a pointer to its importer
    (``coexplore.api.resolve_accelerator``, used by the CLI, routes it there)."""
    path = tmp_path / "edge_tpu_like.yaml"
    path.write_text(yaml.safe_dump({"name": "edge_tpu_like", "memories": {"rf_1B": {"size": 8}},
                                    "operational_array": {"sizes": [8, 8]}}))
    with pytest.raises(InteropError, match="accelerator_from_zigzag"):
        get_accelerator(str(path))


# -- validation errors ------------------------------------------------------------------
def _eyeriss_dict():
    return accelerator_to_dict(ACCELERATORS.get("eyeriss"))


def test_negative_size_is_reported_with_its_path():
    data = _eyeriss_dict()
    data["levels"][2]["size_words"] = -1
    with pytest.raises(SpecError) as err:
        accelerator_from_dict(data)
    assert err.value.problems == ["accelerator.levels[2].size_words: must be >= 0 or null, got -1"]


def test_unknown_dataspace_and_unknown_key():
    data = _eyeriss_dict()
    data["levels"][1]["keeps"] = ["weights", "biases"]
    data["levels"][0]["sizee"] = 4
    with pytest.raises(SpecError) as err:
        accelerator_from_dict(data)
    text = str(err.value)
    assert "accelerator.levels[1].keeps: unknown dataspace(s) ['biases']" in text
    assert "accelerator.levels[0]: unknown key(s) ['sizee'], valid: ['name', 'size_words'" in text


def test_three_mistakes_are_all_reported():
    data = _eyeriss_dict()
    data["levels"][3]["size_words"] = -8
    data["levels"][1]["must_keep"] = ["outputs"]
    data["mac"]["bits"] = "sixteen"
    with pytest.raises(SpecError) as err:
        accelerator_from_dict(data)
    problems = err.value.problems
    assert len(problems) == 3
    assert any(p.startswith("accelerator.levels[3].size_words: must be >= 0") for p in problems)
    assert any(p.startswith("accelerator.levels[1].must_keep: must be a subset of keeps") for p in problems)
    assert any(p.startswith("accelerator.mac.bits: must be an integer, got 'sixteen'") for p in problems)


def test_top_level_and_cross_level_errors():
    data = _eyeriss_dict()
    data["clock"] = 1.0
    data["clock_ghz"] = 0
    del data["name"]
    with pytest.raises(SpecError) as err:
        accelerator_from_dict(data)
    text = str(err.value)
    assert "accelerator: unknown key(s) ['clock']" in text
    assert "accelerator.name: required" in text and "accelerator.clock_ghz: must be > 0, got 0" in text
    data = _eyeriss_dict()
    data["levels"][-1]["keeps"] = ["weights"]
    with pytest.raises(SpecError, match=r"accelerator.levels\[4\].keeps: the outermost level must keep"):
        accelerator_from_dict(data, path="accelerator")
    with pytest.raises(SpecError, match="levels: must be a non-empty list"):
        accelerator_from_dict({**_eyeriss_dict(), "levels": []})
    with pytest.raises(SpecError, match=r"accelerator.levels\[0\]: must be a mapping"):
        accelerator_from_dict({**_eyeriss_dict(), "levels": ["rf"]})


def test_every_level_field_type_is_understood():
    """The loader dispatches on annotations; a new MemoryLevel field type must be taught to it."""
    from coexplore.spec.io import _CHECKERS

    assert {str(f.type) for f in dataclasses.fields(MemoryLevel)} <= set(_CHECKERS)


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nlevels:\n  - name: rf\n    size_words: [1, 2\n")
    with pytest.raises(SpecError) as err:
        load_accelerator_yaml(path)
    msg = str(err.value)
    assert str(path) in msg and "line" in msg and "malformed YAML" in msg


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(SpecError, match=r"nope\.yaml: no such accelerator file"):
        load_accelerator_yaml(path)
    with pytest.raises(SpecError, match="no such accelerator file"):
        get_accelerator(str(path))


def test_file_errors_carry_the_file_name(tmp_path):
    data = _eyeriss_dict()
    data["levels"][2]["size_words"] = -1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError) as err:
        load_accelerator_yaml(path)
    assert err.value.problems == [f"{path}: accelerator.levels[2].size_words: must be >= 0 or null, got -1"]
