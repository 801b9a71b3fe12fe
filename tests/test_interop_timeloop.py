"""Tests for coexplore.interop.timeloop: Timeloop cases and YAML -> coexplore objects."""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import pytest

from coexplore.errors import InteropError, SpecError
from coexplore.interop.timeloop import TimeloopCase, load_case, load_timeloop_yaml
from coexplore.spec.dims import DATASPACES, DIMS
from coexplore.spec.hardware import MemoryLevel


def _data_root() -> Path:
    repo = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("COEXPLORE_DATA", repo / ".." / "shared" / "data"))


REF = _data_root() / "timeloop_reference"
CASES = sorted(p.stem for p in REF.glob("*.json") if p.name != "index.json")


@pytest.fixture(scope="module")
def ref_dir() -> Path:
    assert REF.is_dir(), f"reference data not found at {REF} (set COEXPLORE_DATA)"
    return REF


def _raw(ref_dir: Path, case_id: str) -> dict:
    return json.loads((ref_dir / f"{case_id}.json").read_text())


def _assert_same_levels(a: tuple[MemoryLevel, ...], b: tuple[MemoryLevel, ...]) -> None:
    assert [lv.name for lv in a] == [lv.name for lv in b]
    for x, y in zip(a, b, strict=True):
        for f in ("size_words", "word_bits", "block_size_words", "instances", "mesh_x", "mesh_y", "keeps",
                  "must_keep", "technology_class", "read_bandwidth_words_per_cycle",
                  "write_bandwidth_words_per_cycle", "shared_bandwidth_words_per_cycle"):
            assert getattr(x, f) == getattr(y, f), (x.name, f)
        for f in ("read_energy_pj", "write_energy_pj", "update_energy_pj", "leakage_pj_per_cycle"):
            assert getattr(x, f) == pytest.approx(getattr(y, f), abs=1e-9), (x.name, f)


def _assert_same_case(a: TimeloopCase, b: TimeloopCase) -> None:
    assert a.layer == b.layer
    _assert_same_levels(a.accelerator.levels, b.accelerator.levels)
    assert a.accelerator.mac.instances == b.accelerator.mac.instances
    ma, mb = a.accelerator.mac, b.accelerator.mac
    assert (ma.name, ma.mesh_x, ma.mesh_y, ma.bits) == (mb.name, mb.mesh_x, mb.mesh_y, mb.bits)
    assert a.accelerator.mac.energy_pj == pytest.approx(b.accelerator.mac.energy_pj, abs=1e-9)
    assert a.accelerator.clock_ghz == pytest.approx(b.accelerator.clock_ghz)
    assert a.mapping == b.mapping
    assert a.dataspace_names == b.dataspace_names
    assert a.storage_levels == b.storage_levels


def test_all_twelve_reference_cases_are_present(ref_dir: Path) -> None:
    assert len(CASES) == 12
    assert all((ref_dir / "original" / c / "parsed-processed-input.yaml").is_file() for c in CASES)


# -- case JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", CASES)
def test_load_case_matches_the_json(ref_dir: Path, case_id: str) -> None:
    raw = _raw(ref_dir, case_id)
    case = load_case(ref_dir / f"{case_id}.json")
    acc, mapping, layer = case.accelerator, case.mapping, case.layer
    assert case.case_id == case_id and case.reference == raw["reference"]

    # problem: bounds multiply to the MACs, and every Timeloop bound is some coexplore bound
    assert layer.macs == raw["problem"]["macs"]
    assert sorted(raw["problem"]["bounds"].values()) == sorted(v for v in layer.bounds().values() if v > 1)
    assert set(case.dataspace_names) == set(DATASPACES)
    assert sorted(case.dataspace_names.values()) == sorted(d["name"] for d in raw["problem"]["data_spaces"])

    # architecture: names, instances, fan-outs, sizes, energies
    arch_levels = raw["architecture"]["levels_inner_to_outer"]
    assert [lv.name for lv in acc.levels] == [lv["name"] for lv in arch_levels]
    assert case.storage_levels == tuple(lv["name"] for lv in raw["reference"]["levels_inner_to_outer"])
    for i, (lv, src) in enumerate(zip(acc.levels, arch_levels, strict=True)):
        assert (lv.instances, lv.mesh_x, lv.mesh_y) == (src["instances"], src["meshX"], src["meshY"])
        assert math.prod(acc.fanout(i)) == src["fanout_to_next_inner"]
        assert lv.is_container == src["is_spatial_dummy"]
        if not lv.is_container:
            assert (lv.size_words, lv.word_bits, lv.block_size_words) == (
                src["size_words"], src["word_bits"], src["block_size_words"])
            assert lv.read_energy_pj == src["ert_pJ"]["read"]
            assert lv.leakage_pj_per_cycle == src["ert_pJ"]["leak"]
    assert acc.mac.instances == raw["architecture"]["compute"]["instances"]
    assert acc.mac.energy_pj == raw["architecture"]["compute"]["ert_pJ"]["compute"]

    # mapping: every dimension factors exactly into its bound, keep sets, spatial axes
    for d in DIMS:
        assert mapping.dim_product(d) == layer.bounds()[d], d
    ds_of = {v: k for k, v in case.dataspace_names.items()}
    for i, (lm, src) in enumerate(zip(mapping.levels, raw["mapping"]["levels_inner_to_outer"], strict=True)):
        assert lm.keep == {ds_of[n] for n in src["keep"]}
        assert math.prod(lm.temporal) == math.prod(src["temporal_factors"].values())
        assert lm.spatial_size[0] * lm.spatial_size[1] == math.prod(src["spatial_factors"].values())
        fx, fy = acc.fanout(i)
        assert lm.spatial_size[0] <= fx and lm.spatial_size[1] <= fy
        want = [x["factor"] for x in src["temporal_loops_outer_to_inner"]]
        assert [f for _, f in lm.temporal_loops()] == want


def test_dimension_roles_are_found_from_projections(ref_dir: Path) -> None:
    oc = load_case(ref_dir / "02-model-conv1d+oc-2level-tiling.json").layer
    assert (oc.K, oc.C, oc.P, oc.R, oc.Q, oc.S, oc.N, oc.groups) == (32, 1, 16, 3, 1, 1, 1, 1)
    ic = load_case(ref_dir / "04-model-conv1d+oc-3levelspatial-cp.json")
    assert (ic.layer.K, ic.layer.C) == (32, 32)
    dummy = ic.accelerator.level_index("inter_PE_spatial")
    assert ic.accelerator.levels[dummy].keeps == frozenset()
    assert dict(zip(DIMS, ic.mapping.levels[dummy].spatial_x, strict=True))["C"] == 16
    assert ic.accelerator.fanout(dummy) == (16, 1)


def test_json_and_yaml_loop_order_follow_the_permutation(ref_dir: Path) -> None:
    # 05-baked: RegisterFile permutation "KRP" (innermost first) = R outer, K inner; 03 is the reverse
    baked = load_case(ref_dir / "05-mapper-conv1d+oc-3level-baked.json").mapping.levels[0]
    nobyp = load_case(ref_dir / "03-model-conv1d+oc-3level-no-bypass.json").mapping.levels[0]
    assert baked.temporal_loops() == [("R", 3), ("K", 2)]
    assert nobyp.temporal_loops() == [("K", 2), ("R", 3)]


# -- Timeloop YAML -----------------------------------------------------------------------


@pytest.mark.parametrize("case_id", CASES)
def test_parsed_processed_input_equals_the_case(ref_dir: Path, case_id: str) -> None:
    """The as-run YAML (04: 16 GlobalBuffers) gives the JSON's layer, levels and mapping."""
    case = load_case(ref_dir / f"{case_id}.json")
    parsed = ref_dir / "original" / case_id / "parsed-processed-input.yaml"
    got = load_timeloop_yaml(parsed)  # the ERT (and a mapper's map.yaml) are found next to it
    assert got.reference is None and got.case_id == case_id
    _assert_same_case(case, got)


@pytest.mark.parametrize("case_id", CASES)
def test_input_files_with_ert_equal_the_case(ref_dir: Path, case_id: str) -> None:
    """timeloopfe v0.4 inputs (``nodes``, ``!Container``) + ERT (+ mapper output) match too."""
    d = ref_dir / "original" / case_id
    inputs = [p for p in sorted((d / "inputs").glob("*.yaml")) if not p.name.endswith(".mapper.yaml")]
    extra = sorted(d.glob("*.ERT.yaml")) + sorted(d.glob("*.map.yaml"))
    _assert_same_case(load_case(ref_dir / f"{case_id}.json"), load_timeloop_yaml(*inputs, *extra))


def test_missing_energies_are_priced_from_the_technology(ref_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Without the ERT, the arch's "40nm" prices every level from coexplore's table: Accelergy's ERT again."""
    inputs = sorted((ref_dir / "original" / "03-model-conv1d+oc-3level-bypass" / "inputs").glob("*.yaml"))
    with caplog.at_level(logging.WARNING, logger="coexplore.interop.timeloop"):
        case = load_timeloop_yaml(*inputs)
    assert "no energies" in caplog.text and "MainMemory" in caplog.text and "'40nm'" in caplog.text
    ref = load_case(ref_dir / "03-model-conv1d+oc-3level-bypass.json")
    for got, want in zip(case.accelerator.levels, ref.accelerator.levels, strict=True):
        for f in ("read_energy_pj", "write_energy_pj", "update_energy_pj", "leakage_pj_per_cycle"):
            assert getattr(got, f) == pytest.approx(getattr(want, f), rel=1e-6), (got.name, f)
    assert case.accelerator.mac.energy_pj == pytest.approx(ref.accelerator.mac.energy_pj)
    assert case.mapping == ref.mapping


def test_missing_energies_without_a_technology_table_are_refused(ref_dir: Path, tmp_path: Path) -> None:
    src = ref_dir / "original" / "03-model-conv1d+oc-3level-bypass" / "inputs"
    inputs = []
    for f in sorted(src.glob("*.yaml")):
        inputs.append(_write(tmp_path, f.name, f.read_text().replace('"40nm"', '"7nm-unknown"')))
    with pytest.raises(InteropError, match=r"level 'RegisterFile'\.read_energy_pj: not given, and technology "
                                           r"'7nm-unknown' has no table"):
        load_timeloop_yaml(*inputs)


_CNN = """
problem:
  shape:
    name: CNN_Layer
    dimensions: [ C, M, R, S, N, P, Q ]
    coefficients:
      - {name: Wstride, default: 1}
      - {name: Hstride, default: 1}
      - {name: Wdilation, default: 1}
      - {name: Hdilation, default: 1}
    data_spaces:
      - name: Weights
        projection: [ [[C]], [[M]], [[R]], [[S]] ]
      - name: Inputs
        projection: [ [[N]], [[C]], [[R, Wdilation], [P, Wstride]], [[S, Hdilation], [Q, Hstride]] ]
      - name: Outputs
        projection: [ [[N]], [[M]], [[Q]], [[P]] ]
        read_write: True
  instance: {C: 8, M: 16, R: 3, S: 5, N: 2, P: 7, Q: 6, Wstride: 2, Hdilation: 3}
"""

_ARCH = """
architecture:
  version: 0.4
  nodes:
  - !Container
    name: System
    attributes: {technology: "45nm", global_cycle_seconds: 2e-9}
  - !Component
    name: DRAM
    class: DRAM
    attributes: {width: 64, datawidth: 16}
  - !Container
    name: PE
    spatial: {meshX: 4, meshY: 2}
  - !Component
    name: Buffer
    class: regfile
    attributes: {depth: 32, width: 16, datawidth: 16, read_bandwidth: 2}
    constraints: {dataspace: {bypass: [Outputs]}}
  - !Component
    name: MAC
    class: intmac
    attributes: {width: 16}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_cnn_layer_with_strides_dilation_and_spatial_split(tmp_path: Path) -> None:
    mapping = """
mapping:
  - {target: DRAM, type: temporal, factors: C=4 M=1 R=0 S=5 N=2 P=7 Q=6, permutation: PQ}
  - {target: PE, type: spatial, factors: M=4 C=2, permutation: MC, split: 1}
  - {target: Buffer, type: temporal, factors: M=4, permutation: M}
"""
    case = load_timeloop_yaml(_write(tmp_path, "p.yaml", _CNN), _write(tmp_path, "a.yaml", _ARCH),
                              _write(tmp_path, "m.yaml", mapping))
    layer = case.layer
    assert (layer.K, layer.C, layer.R, layer.S, layer.N, layer.P, layer.Q) == (16, 8, 3, 5, 2, 7, 6)
    assert layer.stride == (2, 1) and layer.dilation == (1, 3)  # rows from the (P, R) rank, cols (Q, S)
    acc = case.accelerator
    assert [lv.name for lv in acc.levels] == ["Buffer", "inter_PE_spatial", "DRAM"]
    assert case.storage_levels == ("Buffer", "DRAM")
    buf, dummy, dram = acc.levels
    assert (buf.instances, buf.mesh_x, buf.mesh_y) == (8, 4, 2) and acc.fanout(1) == (4, 2)
    assert (acc.mac.instances, acc.mac.bits) == (8, 16)
    assert dummy.is_container and dram.size_words is None and dram.block_size_words == 4
    assert buf.size_words == 32 and buf.word_bits == 16 and buf.read_bandwidth_words_per_cycle == 2.0
    assert buf.keeps == {"weights", "inputs"} and case.mapping.levels[0].keep == {"weights", "inputs"}
    assert case.mapping.levels[1].keep == frozenset() and acc.clock_ghz == pytest.approx(0.5)
    # permutation MC with split 1: M (coexplore K) on X, C on Y
    sx = dict(zip(DIMS, case.mapping.levels[1].spatial_x, strict=True))
    sy = dict(zip(DIMS, case.mapping.levels[1].spatial_y, strict=True))
    assert (sx["K"], sy["C"], sx["C"], sy["K"]) == (4, 2, 1, 1)
    # partial permutation "PQ" (innermost first) is padded outermost in problem order: N S R M C
    loops = case.mapping.levels[2].temporal_loops()
    assert loops == [("N", 2), ("S", 5), ("R", 3), ("C", 4), ("Q", 6), ("P", 7)]
    assert all(case.mapping.dim_product(d) == layer.bounds()[d] for d in DIMS)


def test_spatial_split_defaults_to_all_x(tmp_path: Path) -> None:
    mapping = """
mapping:
  - {target: DRAM, type: temporal, factors: C=1 M=4 R=3 S=5 N=2 P=7 Q=6}
  - {target: PE, type: spatial, factors: M=2 C=2}
  - {target: Buffer, type: temporal, factors: M=2 C=4}
"""
    case = load_timeloop_yaml(_write(tmp_path, "p.yaml", _CNN), _write(tmp_path, "a.yaml", _ARCH),
                              _write(tmp_path, "m.yaml", mapping))
    lm = case.mapping.levels[1]
    assert lm.spatial_size == (4, 1)
    assert dict(zip(DIMS, lm.spatial_x, strict=True))["C"] == 2


def _simple_case(tmp_path: Path, problem: str, mapping: str) -> TimeloopCase:
    arch = """
architecture:
  subtree:
    - name: top
      attributes: {technology: 45nm}
      local:
        - {name: DRAM, class: DRAM, attributes: {width: 8, datawidth: 8}}
        - {name: MAC, class: intmac, attributes: {width: 8}}
"""
    return load_timeloop_yaml(_write(tmp_path, "p.yaml", problem), _write(tmp_path, "a.yaml", arch),
                              _write(tmp_path, "m.yaml", mapping))


def test_depthwise_channel_dim_becomes_groups(tmp_path: Path) -> None:
    problem = """
problem:
  shape:
    name: depthwise
    dimensions: [C, R, S, P, Q]
    data_spaces:
      - {name: Weights, projection: [[[C]], [[R]], [[S]]]}
      - {name: Inputs, projection: [[[C]], [[R], [P]], [[S], [Q]]]}
      - {name: Outputs, projection: [[[C]], [[P]], [[Q]]], read_write: true}
  instance: {C: 32, R: 3, S: 3, P: 14, Q: 14}
"""
    mapping = "mapping: [{target: DRAM, type: temporal, factors: C=0 R=0 S=0 P=0 Q=0}]"  # 0 = whole bound
    case = _simple_case(tmp_path, problem, mapping)
    layer = case.layer
    assert (layer.groups, layer.K, layer.C, layer.op) == (32, 32, 32, "depthwise")
    assert layer.bounds()["G"] == 32 and layer.bounds()["K"] == layer.bounds()["C"] == 1
    assert case.mapping.dim_product("G") == 32


def test_grouped_conv_with_a_g_dimension(tmp_path: Path) -> None:
    problem = """
problem:
  shape:
    name: grouped
    dimensions: [G, C, M, R, P]
    data_spaces:
      - {name: Filter, projection: ["G", "C", "M", "R"]}
      - {name: Ifmap, projection: ["G", "C", "R + P"]}
      - {name: Ofmap, projection: ["G", "M", "P"], read_write: true}
  instance: {G: 4, C: 8, M: 2, R: 3, P: 10}
"""
    case = _simple_case(tmp_path, problem, "mapping: [{target: 0, type: temporal, factors: G4 C8 M2 R3 P10}]")
    assert (case.layer.groups, case.layer.K, case.layer.C, case.layer.R, case.layer.P) == (4, 8, 32, 3, 10)
    assert case.dataspace_names == {"weights": "Filter", "inputs": "Ifmap", "outputs": "Ofmap"}


def test_pointwise_problem_without_filter_dims(tmp_path: Path) -> None:
    problem = """
problem:
  shape:
    name: pointwise
    dimensions: [K, C, B, P, Q]
    data_spaces:
      - {name: Weights, projection: [[[K]], [[C]]]}
      - {name: Inputs, projection: [[[B]], [[C]], [[P]], [[Q]]]}
      - {name: Outputs, projection: [[[B]], [[K]], [[P]], [[Q]]], read_write: true}
  instance: {K: 4, C: 6, B: 2, P: 5, Q: 7}
"""
    mapping = "mapping: [{target: DRAM, type: temporal, factors: K4 C6 B2 P5 Q7}]"
    case = _simple_case(tmp_path, problem, mapping)
    layer = case.layer
    assert (layer.K, layer.C, layer.N, layer.P, layer.Q, layer.R, layer.S) == (4, 6, 2, 5, 7, 1, 1)
    assert case.mapping.dim_product("N") == 2


# -- errors ------------------------------------------------------------------------------


def test_bad_projection_names_the_dataspace_and_projection(ref_dir: Path, tmp_path: Path) -> None:
    raw = _raw(ref_dir, "02-model-conv1d+oc-2level-tiling")
    raw["problem"]["data_spaces"][0]["projection"] = [[["K"], ["R"]]]  # a sliding rank in the weights
    bad = _write(tmp_path, "bad.json", json.dumps(raw))
    with pytest.raises(InteropError) as e:
        load_case(bad)
    assert "Weights" in str(e.value) and '[["K"], ["R"]]' in str(e.value)

    raw = _raw(ref_dir, "02-model-conv1d+oc-2level-tiling")
    raw["problem"]["data_spaces"][1]["projection"] = [[["R"], ["P"], ["K"]]]
    with pytest.raises(InteropError, match=r"'Inputs' projection .*sliding rank"):
        load_case(_write(tmp_path, "bad2.json", json.dumps(raw)))


def test_inexpressible_dimension_is_named(ref_dir: Path, tmp_path: Path) -> None:
    raw = _raw(ref_dir, "02-model-conv1d+oc-2level-tiling")
    raw["problem"]["data_spaces"][2]["projection"] = [[["P"]]]  # K now only indexes the weights
    with pytest.raises(InteropError, match=r"dimension 'K'.*weights"):
        load_case(_write(tmp_path, "bad.json", json.dumps(raw)))


def test_malformed_yaml_names_the_file(tmp_path: Path) -> None:
    bad = _write(tmp_path, "broken.yaml", "problem: [unclosed\n  - x: {\n")
    with pytest.raises(InteropError, match=r"broken\.yaml: malformed YAML"):
        load_timeloop_yaml(bad)
    not_a_map = _write(tmp_path, "list.yaml", "- 1\n- 2\n")
    with pytest.raises(SpecError, match=r"list\.yaml: must hold a YAML mapping"):
        load_timeloop_yaml(not_a_map)


def test_missing_files_are_all_named(tmp_path: Path) -> None:
    with pytest.raises(InteropError, match=r"nope\.json: file not found"):
        load_case(tmp_path / "nope.json")
    with pytest.raises(InteropError) as e:
        load_timeloop_yaml(tmp_path / "a.yaml", tmp_path / "b.yaml")
    assert len(e.value.problems) == 2 and "a.yaml: file not found" in e.value.problems[0]


def test_bad_mapping_directives_are_all_reported(ref_dir: Path, tmp_path: Path) -> None:
    d = ref_dir / "original" / "03-model-conv1d+oc-3level-no-bypass" / "inputs"
    mapping = """
mapping:
  - {target: Nowhere, type: temporal, factors: K=32}
  - target: MainMemory
    type: temporal
    factors: K=2,16 P=16
  - {target: GlobalBuffer, type: temporal, factors: Z=2}
"""
    with pytest.raises(InteropError) as e:
        load_timeloop_yaml(d / "conv1d+oc.prob.yaml", d / "3level.arch.yaml",
                           _write(tmp_path, "m.yaml", mapping))
    text = str(e.value)
    assert "unknown level 'Nowhere'" in text and "residual factor 'K=2,16'" in text
    assert "unknown dimension 'Z'" in text and len(e.value.problems) == 3


def test_unknown_dataspace_in_keep_is_named(ref_dir: Path, tmp_path: Path) -> None:
    d = ref_dir / "original" / "03-model-conv1d+oc-3level-no-bypass" / "inputs"
    extra = "  - {target: GlobalBuffer, type: bypass, keep: [Psums]}\n"
    mapping = _write(tmp_path, "m.yaml", (d / "conv1d+oc-3level.map.yaml").read_text() + extra)
    with pytest.raises(InteropError, match=r"GlobalBuffer.*unknown dataspace\(s\) \['Psums'\]"):
        load_timeloop_yaml(d / "conv1d+oc.prob.yaml", d / "3level.arch.yaml", mapping)


def test_factors_that_do_not_multiply_to_the_bound_are_rejected(ref_dir: Path, tmp_path: Path) -> None:
    d = ref_dir / "original" / "03-model-conv1d+oc-3level-no-bypass" / "inputs"
    mapping = "mapping: [{target: MainMemory, type: temporal, factors: K=16 R=3 P=16, permutation: KRP}]"
    with pytest.raises(InteropError, match=r"factors of K multiply to 16, the bound is 32"):
        load_timeloop_yaml(d / "conv1d+oc.prob.yaml", d / "3level.arch.yaml",
                           _write(tmp_path, "m.yaml", mapping))


def test_conflicting_files_are_rejected(ref_dir: Path) -> None:
    a = ref_dir / "original" / "01-model-conv1d-2level-os" / "parsed-processed-input.yaml"
    b = ref_dir / "original" / "01-model-conv1d-2level-ws" / "parsed-processed-input.yaml"
    with pytest.raises(InteropError, match=r"'mapping' is also given, differently"):
        load_timeloop_yaml(a, b)
