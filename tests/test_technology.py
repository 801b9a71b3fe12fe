"""Technology tables: sourced anchors, interpolation, monotonicity, validation, make_level."""

from __future__ import annotations

import itertools
import math

import pytest

from coexplore.errors import RegistryError, SpecError
from coexplore.spec.hardware import MemoryLevel
from coexplore.spec.technology import (
    DEFAULT_TECHNOLOGY,
    TECHNOLOGIES,
    LogLogTable,
    get_technology,
    make_level,
    make_mac,
)

KIB = 1024


@pytest.fixture(params=["45nm", "40nm"])
def tech(request):
    return get_technology(request.param)


def test_registry_has_45nm_default_and_40nm():
    assert DEFAULT_TECHNOLOGY == "45nm"
    assert {"45nm", "40nm"} <= set(TECHNOLOGIES.names())
    assert get_technology().name == "45nm"
    assert get_technology("40nm").name == "40nm"


def test_unknown_technology_lists_valid_names():
    with pytest.raises(RegistryError) as err:
        get_technology("7nm")
    msg = str(err.value)
    assert "7nm" in msg and "45nm" in msg and "40nm" in msg


def test_horowitz_sram_points_at_45nm():
    """ISSCC'14: 64-bit reads of 8 KB / 32 KB / 1 MB cost 10 / 20 / 100 pJ."""
    t = get_technology("45nm")
    for kib, pj in ((8, 10.0), (32, 20.0), (1024, 100.0)):
        assert t.sram_read_energy_pj(kib * KIB, 8, 8) == pytest.approx(pj)
        assert t.sram_read_energy_pj(kib * KIB // 2, 16, 4) == pytest.approx(pj)  # same bits, 16-bit words


def test_interpolation_is_linear_in_log_size():
    t = get_technology("45nm")
    # 16 KB is the geometric mean of 8 KB and 32 KB, so its energy is the geometric mean too.
    assert t.sram_read_energy_pj(16 * KIB, 8, 8) == pytest.approx(math.sqrt(10.0 * 20.0))
    table = LogLogTable(((1.0, 1.0), (100.0, 10.0)))
    assert table(10.0) == pytest.approx(math.sqrt(10.0))
    assert table(1000.0) == pytest.approx(math.sqrt(1000.0))  # end segment extrapolated
    assert LogLogTable(((2.0, 3.0),), exponent=2.0)(4.0) == pytest.approx(12.0)


def test_accelergy_40nm_reference_ert_reproduced():
    """data/timeloop_reference ERT (40 nm): the 40nm table reproduces every action energy."""
    t = get_technology("40nm")
    sram_words = 32768 * 64 // 8  # depth 32768 x width 64, 8-bit words
    assert t.sram_read_energy_pj(sram_words, 8, 8) == pytest.approx(43.353054, rel=1e-9)
    assert t.sram_write_energy_pj(sram_words, 8, 8) == pytest.approx(30.878292, rel=1e-9)
    assert t.regfile_energy_pj(64, 8, 1) == pytest.approx(0.42564, rel=1e-9)
    assert t.dram_energy_pj(8, 32) == pytest.approx(2048.0)
    assert t.mac_energy_pj(8) == pytest.approx(0.845)
    assert t.leakage_pj_per_cycle(sram_words * 8) == pytest.approx(0.007972)
    assert t.leakage_pj_per_cycle(64 * 8, technology_class="regfile") == pytest.approx(0.000861)
    assert t.sram_area_mm2(sram_words * 8) == pytest.approx(0.707084)
    assert t.regfile_area_mm2(64 * 8) * 1e6 == pytest.approx(887.84)
    assert t.mac_area_mm2(8) * 1e6 == pytest.approx(332.25)


def test_accelergy_45nm_regfile_matches_eyeriss_like():
    """eyeriss_like (45 nm) prints 0.20 pJ for its 16x16-bit regfile DummyBuffer."""
    assert round(get_technology("45nm").regfile_energy_pj(16, 16), 2) == 0.20


def test_bigger_sram_costs_more_per_access(tech):
    sizes = [1 * KIB, 4 * KIB, 8 * KIB, 16 * KIB, 32 * KIB, 108 * KIB, 256 * KIB, 1024 * KIB, 24 * 1024 * KIB]
    reads = [tech.sram_read_energy_pj(s, 8, 8) for s in sizes]
    writes = [tech.sram_write_energy_pj(s, 8, 8) for s in sizes]
    assert all(a < b for a, b in itertools.pairwise(reads))
    assert all(a < b for a, b in itertools.pairwise(writes))
    # banking: one bank of a 4-bank 1 MB SRAM costs what a 256 KB SRAM costs
    assert tech.sram_read_energy_pj(1024 * KIB, 8, 8, banks=4) == pytest.approx(
        tech.sram_read_energy_pj(256 * KIB, 8, 8))


def test_wider_and_deeper_accesses_cost_more(tech):
    double = 2 * tech.sram_read_energy_pj(32 * KIB, 8, 8)
    assert tech.sram_read_energy_pj(32 * KIB, 8, 16) == pytest.approx(double)
    rf = [tech.regfile_energy_pj(d, 16) for d in (1, 12, 16, 24, 64, 224)]
    assert all(a < b for a, b in itertools.pairwise(rf))
    assert tech.regfile_energy_pj(64, 8, 2) > tech.regfile_energy_pj(64, 8, 1) / 2  # wider rows
    assert tech.dram_energy_pj(16, 4) == pytest.approx(tech.dram_energy_pj(8, 8))  # same bits


def test_storage_hierarchy_order_per_word():
    """A register costs less than an SRAM word, which costs less than a DRAM word (Eyeriss ISCA'16 Fig. 1)."""
    t = get_technology("45nm")
    rf = t.regfile_energy_pj(224, 16)
    glb = t.sram_read_energy_pj(108 * KIB // 2, 16, 4) / 4
    dram = t.dram_energy_pj(16, 4) / 4
    assert rf < glb < dram
    assert 50 < dram / t.mac_energy_pj(16) < 400  # Eyeriss: DRAM ~200x a MAC


def test_mac_energy_by_bits():
    t = get_technology("45nm")
    assert t.mac_energy_pj(8) == pytest.approx(0.2 + 0.03)  # Horowitz 8b mult + 8b add
    assert t.mac_energy_pj(32) == pytest.approx(3.1 + 0.1)
    assert t.mac_energy_pj(16, kind="fp") == pytest.approx(1.1 + 0.4)
    assert t.mac_energy_pj(32, kind="fp") == pytest.approx(3.7 + 0.9)
    energies = [t.mac_energy_pj(b) for b in (4, 8, 16, 32)]
    assert all(a < b for a, b in itertools.pairwise(energies))
    assert t.mac_energy_pj(8) < t.mac_energy_pj(16) < t.mac_energy_pj(16, kind="fp")
    t40 = get_technology("40nm")
    assert t40.mac_energy_pj(8) < t40.mac_energy_pj(16) < t40.mac_energy_pj(32)
    areas = [t.mac_area_mm2(b) for b in (8, 16, 32)]
    assert all(a < b for a, b in itertools.pairwise(areas))


def test_unsourced_kind_is_an_error():
    with pytest.raises(SpecError, match="kind 'fp'"):
        get_technology("40nm").mac_energy_pj(16, kind="fp")
    with pytest.raises(SpecError, match="valid: \\['fp', 'int'\\]"):
        get_technology("45nm").mac_energy_pj(8, kind="bf16")
    with pytest.raises(SpecError, match="dram_type 'SDR'"):
        get_technology().dram_energy_pj(8, 8, dram_type="SDR")


def test_bad_inputs_are_named_all_at_once(tech):
    with pytest.raises(SpecError) as err:
        tech.sram_read_energy_pj(-1, 0, 8)
    assert len(err.value.problems) == 2
    assert "size_words must be a positive integer, got -1" in err.value.problems[0]
    assert "word_bits must be a positive integer, got 0" in err.value.problems[1]
    for call in (
        lambda: tech.regfile_energy_pj(0, 8),
        lambda: tech.dram_energy_pj(8, 0),
        lambda: tech.mac_energy_pj(0),
        lambda: tech.sram_area_mm2(-5),
        lambda: tech.leakage_pj_per_cycle(8, clock_ghz=0),
        lambda: tech.leakage_pj_per_cycle(8, technology_class="dram"),
        lambda: tech.sram_read_energy_pj(1024, 8, banks=0),
    ):
        with pytest.raises(SpecError):
            call()


def test_area_and_leakage_scale_with_bits(tech):
    assert tech.sram_area_mm2(2 * 8192) == pytest.approx(2 * tech.sram_area_mm2(8192))
    assert tech.leakage_pj_per_cycle(4096) == pytest.approx(2 * tech.leakage_pj_per_cycle(2048))
    # pJ per cycle halves when the clock doubles (same leakage power, shorter cycle)
    half = tech.leakage_pj_per_cycle(4096) / 2
    assert tech.leakage_pj_per_cycle(4096, clock_ghz=2.0) == pytest.approx(half)


def test_make_level_fills_costs_from_the_table():
    t = get_technology("45nm")
    glb = make_level(name="glb", technology_class="sram", size_words=32 * KIB, word_bits=8,
                     block_size_words=8, keeps={"inputs", "outputs"}, clock_ghz=0.5)
    assert isinstance(glb, MemoryLevel)
    assert glb.read_energy_pj == pytest.approx(t.sram_read_energy_pj(32 * KIB, 8, 8))
    write = t.sram_write_energy_pj(32 * KIB, 8, 8)
    assert glb.write_energy_pj == glb.update_energy_pj == pytest.approx(write)
    assert glb.area_mm2 == pytest.approx(t.sram_area_mm2(32 * KIB * 8))
    assert glb.leakage_pj_per_cycle == pytest.approx(t.leakage_pj_per_cycle(32 * KIB * 8, clock_ghz=0.5))
    rf = make_level(name="rf", technology_class="regfile", size_words=16, word_bits=16, mesh_x=14, mesh_y=12,
                    keeps={"outputs"}, technology="40nm")
    assert (rf.instances, rf.mesh_x, rf.mesh_y) == (168, 14, 12)
    assert rf.read_energy_pj == pytest.approx(get_technology("40nm").regfile_energy_pj(16, 16))
    dram = make_level(name="dram", technology_class="dram", size_words=None, word_bits=8, block_size_words=8)
    assert dram.read_energy_pj == pytest.approx(512.0) and dram.area_mm2 == 0.0 and dram.size_words is None
    box = make_level(name="pe", technology_class="container", size_words=0, keeps=(), mesh_x=16)
    assert box.is_container and box.read_energy_pj == 0.0 and box.instances == 16


def test_make_level_cluster_prices_one_cluster_wide_access():
    """64 one-word registers sharing a 512-bit array (Simba's PE weight registers): energy per cluster access."""
    t = get_technology("45nm")
    one = make_level(name="r", technology_class="regfile", size_words=1, word_bits=8, mesh_x=64)
    cl = make_level(name="r", technology_class="regfile", size_words=1, word_bits=8, cluster_size=64, mesh_x=64)
    assert cl.cluster_size == 64 and cl.clusters == 1
    assert cl.read_energy_pj == pytest.approx(t.regfile_energy_pj(64, 8, 64))
    assert cl.read_energy_pj > 32 * one.read_energy_pj
    assert (cl.area_mm2, cl.leakage_pj_per_cycle) == (one.area_mm2, one.leakage_pj_per_cycle)
    with pytest.raises(SpecError, match=r"level 'd': cluster_size: a dram level has no clusters"):
        make_level(name="d", technology_class="dram", size_words=None, cluster_size=2, mesh_x=2)
    with pytest.raises(SpecError, match=r"cluster_size: must divide instances=6, got 4"):
        MemoryLevel(name="m", size_words=4, instances=6, mesh_x=6, cluster_size=4)


def test_make_level_errors_name_the_level():
    with pytest.raises(SpecError, match=r"level 'x'\.technology_class"):
        make_level(name="x", technology_class="flash", size_words=8)
    with pytest.raises(SpecError, match=r"level 'x'\.size_words: a sram needs a size"):
        make_level(name="x", technology_class="sram", size_words=None)
    with pytest.raises(SpecError, match=r"level 'x': .*size_words must be a positive integer, got -4"):
        make_level(name="x", technology_class="sram", size_words=-4)
    with pytest.raises(SpecError, match="a container keeps nothing"):
        make_level(name="x", technology_class="container", size_words=0)


def test_make_mac():
    mac = make_mac(bits=16, mesh_x=14, mesh_y=12)
    t = get_technology()
    assert (mac.instances, mac.bits) == (168, 16)
    assert mac.energy_pj == pytest.approx(t.mac_energy_pj(16))
    assert mac.area_mm2 == pytest.approx(t.mac_area_mm2(16))
