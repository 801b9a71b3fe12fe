"""MAESTRO-semantics model: every row of the three reference CSVs, the file readers' errors, the CLI."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import pytest

from coexplore.cli.main import main
from coexplore.errors import SpecError
from coexplore.maestro import parse_hardware, parse_mapping, price_network, read_hardware, read_mapping
from coexplore.maestro.dfsl import check_clusters
from coexplore.maestro.energy import CONSTANT_SETS, area_power
from coexplore.maestro.model import CSV_COLUMNS
from coexplore.maestro.result import format_value
from tests.conftest import data_root

REF = data_root() / "maestro_reference"
CASES = ["Resnet50_kcp_ws", "MobileNetV2_kcp_ws", "mnasnet_rs"]
COUNTS = [f"{t} {lv} {op}" for t in ("input", "filter", "output") for lv in ("l1", "l2") for op in ("read", "write")]
needs_ref = pytest.mark.skipif(not (REF / "outputs").is_dir(),
                               reason=f"MAESTRO reference outputs not found at {REF}; set COEXPLORE_DATA")

HW = "num_pes: 16\nl1_size_cstr: 100\nl2_size_cstr: 3000\nnoc_bw_cstr: 8\noffchip_bw_cstr: 50\n"
LAYER = """Network t {
  Layer L1 {
    Type: CONV
    Stride { X: 1, Y: 1 }
    Dimensions { K: 8, C: 4, R: 3, S: 3, Y: 10, X: 10 }
    Dataflow {
      SpatialMap(1,1) K;
      TemporalMap(2,2) C;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      %s
    }
  }
}
"""


def _reference(name: str) -> list[dict[str, str]]:
    with open(REF / "outputs" / f"{name}__accelerator_1.csv", newline="") as f:
        rows = list(csv.reader(f))
    return [dict(zip(CSV_COLUMNS, (c.strip() for c in r), strict=False)) for r in rows[1:]]


@needs_ref
@pytest.mark.parametrize("name", CASES)
def test_every_row_of_the_reference_csvs(name: str) -> None:
    """Runtime and the 12 L1/L2 counts exact; energy within 0.5 %; every other column to MAESTRO's 6 digits."""
    ref = _reference(name)
    rows = price_network(read_hardware(REF / "hw" / "accelerator_1.m"), read_mapping(REF / "mapping" / f"{name}.m"))
    assert len(rows) == len(ref)
    for want, got in zip(ref, rows, strict=True):
        layer = want["Layer Number"]
        assert got.values["Layer Number"] == layer
        assert got.runtime_cycles == int(want["Runtime (Cycles)"]), layer
        for column in COUNTS:
            assert got.values[column] == int(want[column]), (layer, column)
        energy = float(want["Activity count-based Energy (nJ)"])
        assert got.energy_nj == pytest.approx(energy, rel=0.005), layer
        for column in CSV_COLUMNS:
            assert format_value(got.values[column]) == want[column], (layer, column)


@needs_ref
def test_cli_csv_has_maestro_columns_and_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.csv"
    code = main(["maestro", "--hw", str(REF / "hw" / "accelerator_1.m"),
                 "--mapping", str(REF / "mapping" / "Resnet50_kcp_ws.m"), "--csv", str(out), "--json"])
    assert code == 0
    import json

    record = json.loads(capsys.readouterr().out)
    ref = _reference("Resnet50_kcp_ws")
    assert record["runtime_cycles"] == sum(int(r["Runtime (Cycles)"]) for r in ref)
    with open(out, newline="") as f:
        written = list(csv.DictReader(f))
    for column in ("Layer Number", "Runtime (Cycles)", "Activity count-based Energy (nJ)", "Area", "Power",
                   *COUNTS):
        assert [r[column] for r in written] == [r[column] for r in ref], column


@needs_ref
def test_energy_without_quirks_is_own_l1_l2_and_macs() -> None:
    hw = read_hardware(REF / "hw" / "accelerator_1.m")
    net = read_mapping(REF / "mapping" / "Resnet50_kcp_ws.m")
    quirky = price_network(hw, net)
    plain = price_network(hw, net, energy_quirks=False)
    k = CONSTANT_SETS["current"]
    for q, p in zip(quirky, plain, strict=True):
        v = p.values
        l1 = sum(v[f"{t} l1 {op}"] for t in ("input", "filter", "output") for op in ("read", "write"))  # type: ignore[misc]
        l2 = sum(v[f"{t} l2 {op}"] for t in ("input", "filter", "output") for op in ("read", "write"))  # type: ignore[misc]
        want = (l1 * 1.68 + l2 * 18.61 + v["Num MACs"]) * k.mac_energy_nj  # type: ignore[operator]
        assert p.energy_nj == pytest.approx(want, rel=1e-12)
        assert p.runtime_cycles == q.runtime_cycles
    # the first layer has no previous one: with the quirk its L1 term is zero
    assert quirky[0].energy_nj < plain[0].energy_nj


def test_constant_sets_scale_energy_and_area() -> None:
    hw = parse_hardware(HW)
    net = parse_mapping(LAYER % "Cluster(4, P); SpatialMap(1,1) C;")
    cur, old = price_network(hw, net)[0], price_network(hw, net, constant_set="nasaic")[0]
    ratio = CONSTANT_SETS["nasaic"].mac_energy_nj / CONSTANT_SETS["current"].mac_energy_nj
    assert old.energy_nj == pytest.approx(cur.energy_nj * ratio, rel=1e-12)
    assert old.runtime_cycles == cur.runtime_cycles
    # an L1 of 65 B needs two 64 B cells in the older set, 65 one-byte cells in the current one
    a = area_power(CONSTANT_SETS["nasaic"], num_pes=1, vector_width=1, noc_bandwidth=1, l1_bytes=65, l2_bytes=1)
    b = area_power(CONSTANT_SETS["nasaic"], num_pes=1, vector_width=1, noc_bandwidth=1, l1_bytes=64, l2_bytes=1)
    assert a.area - b.area == pytest.approx(CONSTANT_SETS["nasaic"].l1_cell_area)


def test_small_layer_is_priced_and_counts_are_consistent() -> None:
    row = price_network(parse_hardware(HW), parse_mapping(LAYER % "Cluster(4, P); SpatialMap(1,1) C;"))[0].values
    assert row["Num MACs"] == 8 * 4 * 3 * 3 * 8 * 8
    assert row["input l2 write"] == 4 * 10 * 10 and row["filter l2 write"] == 8 * 4 * 3 * 3
    assert row["output l2 read"] == 8 * 8 * 8
    assert row["input l1 write"] == row["input l2 read"]  # MAESTRO fills L1 with exactly what L2 sends
    assert row["Runtime (Cycles)"] > 0 and row["Activity count-based Energy (nJ)"] > 0  # type: ignore[operator]


# -- bad input ---------------------------------------------------------------------------
def test_syntax_error_names_file_line_and_column() -> None:
    text = LAYER % ""
    bad = text.replace("TemporalMap(2,2) C;", "TemporalMap(2,2 C;")
    with pytest.raises(SpecError, match=r"f\.m:8:23: syntax error: expected '\)', got 'C'"):
        parse_mapping(bad, "f.m")
    with pytest.raises(SpecError, match=r"f\.m:8:7: syntax error: expected 'SpatialMap', 'TemporalMap' or 'Cluster', "
                                        r"got 'TemporalMapp'"):
        parse_mapping(text.replace("TemporalMap(2,2) C;", "TemporalMapp(2,2) C;"), "f.m")


def test_directive_on_unknown_dimension() -> None:
    with pytest.raises(SpecError, match=r"f\.m:8:24: layer 'L1': TemporalMap on unknown dimension 'Z'"):
        parse_mapping((LAYER % "").replace("TemporalMap(2,2) C;", "TemporalMap(2,2) Z;"), "f.m")
    with pytest.raises(SpecError, match=r"maps dimension 'N', which the layer does not have"):
        parse_mapping((LAYER % "").replace("TemporalMap(2,2) C;", "TemporalMap(2,2) N;"), "f.m")
    with pytest.raises(SpecError, match=r"Sz\(Q\): unknown dimension 'Q'"):
        parse_mapping((LAYER % "").replace("TemporalMap(2,2) C;", "TemporalMap(Sz(Q),2) C;"), "f.m")


def test_repeated_layer_bodies_are_read_once_with_their_own_names_and_lines() -> None:
    body = (LAYER % "Cluster(3, P); SpatialMap(1,1) C;").split("\n", 1)[1].rsplit("}", 1)[0]
    text = ("Constant TWO 2;\nNetwork t {\n" + body + "\n\n" + body.replace("L1", "L2-x>L2b")
            + body.replace("L1", "L3").replace("TemporalMap(2,2) C;", "TemporalMap(TWO,TWO) C;") + "}\n")
    lines = text.split("\n")
    layer_lines = [i + 1 for i, line in enumerate(lines) if line.strip().startswith("Layer")]
    cluster_lines = [i + 1 for i, line in enumerate(lines) if "Cluster(3, P)" in line]
    net = parse_mapping(text, "f.m")
    assert [(x.name, x.written_name, x.line) for x in net.layers] == [
        ("L1", "L1", layer_lines[0]), ("L2b", "L2-x>L2b", layer_lines[1]), ("L3", "L3", layer_lines[2])]
    assert [d.line for x in net.layers for d in x.directives if d.kind == "cluster"] == cluster_lines
    assert len({tuple((d.kind, d.size, d.offset, d.dim) for d in x.directives) for x in net.layers}) == 1
    notes = check_clusters(net, parse_hardware(HW), "f.m", strict=False)
    assert [n.split(": layer")[0] for n in notes] == [f"f.m:{n}" for n in cluster_lines]


def test_cluster_sizes_against_the_pes() -> None:
    hw = parse_hardware(HW)
    over = parse_mapping(LAYER % "Cluster(32, P); SpatialMap(1,1) C;", "f.m")
    with pytest.raises(SpecError, match=r"f\.m:13: layer 'L1': Cluster\(32\) needs 32 PEs in all, more than the "
                                        r"hardware's num_pes 16"):
        check_clusters(over, hw, "f.m", strict=False)
    odd = parse_mapping(LAYER % "Cluster(3, P); SpatialMap(1,1) C;", "f.m")
    with pytest.raises(SpecError, match=r"f\.m:13: layer 'L1': Cluster\(3\) does not divide the 16 PEs"):
        check_clusters(odd, hw, "f.m", strict=True)
    notes = check_clusters(odd, hw, "f.m", strict=False)
    assert len(notes) == 1 and "leave 1 idle" in notes[0]


def test_hardware_file_errors() -> None:
    with pytest.raises(SpecError, match=r"hw\.m: missing offchip_bw_cstr"):
        parse_hardware(HW.replace("offchip_bw_cstr: 50\n", ""), "hw.m")
    with pytest.raises(SpecError, match=r"hw\.m:1:10: syntax error: expected an integer value for num_pes, got 'x'"):
        parse_hardware(HW.replace("num_pes: 16", "num_pes: x"), "hw.m")
    with pytest.raises(SpecError, match=r"hardware.num_pes: must be >= 1, got 0"):
        parse_hardware(HW.replace("num_pes: 16", "num_pes: 0"), "hw.m")


@pytest.mark.parametrize(("mapping", "needle"), [
    ("TemporalMap(2,2 C;", ":8:23: syntax error"),
    ("TemporalMap(2,2) Z;", "unknown dimension 'Z'"),
])
def test_cli_bad_mapping_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], mapping: str,
                                            needle: str) -> None:
    hw, m = tmp_path / "hw.m", tmp_path / "map.m"
    hw.write_text(HW)
    m.write_text((LAYER % "").replace("TemporalMap(2,2) C;", mapping))
    assert main(["maestro", "--hw", str(hw), "--mapping", str(m)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err and str(m) in err and "Traceback" not in err


def test_cli_strict_clusters_subprocess(tmp_path: Path) -> None:
    hw, m = tmp_path / "hw.m", tmp_path / "map.m"
    hw.write_text(HW)
    m.write_text(LAYER % "Cluster(3, P); SpatialMap(1,1) C;")
    args = [sys.executable, "-m", "coexplore.cli.main", "maestro", "--hw", str(hw), "--mapping", str(m)]
    strict = subprocess.run([*args, "--strict-clusters"], capture_output=True, text=True)
    assert strict.returncode == 2, strict.stderr
    assert strict.stderr.strip().count("\n") == 0 and "Cluster(3) does not divide the 16 PEs" in strict.stderr
    lenient = subprocess.run([*args, "--json"], capture_output=True, text=True)
    assert lenient.returncode == 0, lenient.stderr
    assert "note:" in lenient.stderr and math.isfinite(__import__("json").loads(lenient.stdout)["energy_nj"])


def test_zero_compute_delay_is_an_error_not_a_crash() -> None:
    """An rs-like mapping (X and S both spatial under Cluster(3)) on which the MAESTRO binary stops with a
    floating-point exception (it divides by the zero compute delay): a SpecError saying so."""
    net = parse_mapping("""Network z { Layer L { Type: CONV Stride { X: 1, Y: 1 }
        Dimensions { K: 4, C: 8, R: 3, S: 3, Y: 8, X: 8 }
        Dataflow { TemporalMap(2,2) K; TemporalMap(4,4) C; TemporalMap(Sz(R),Sz(R)) R; SpatialMap(Sz(R),1) Y;
                   TemporalMap(Sz(S),1) X; Cluster(3,P); SpatialMap(1,1) X; SpatialMap(1,1) S;
                   TemporalMap(Sz(S),Sz(S)) S; } } }""", "z.m")
    with pytest.raises(SpecError, match=r"layer 'L' \(line 1\): the outermost cluster level has a zero compute delay"):
        price_network(parse_hardware(HW.replace("num_pes: 16", "num_pes: 256")), net)


def test_layer_without_dataflow_takes_the_previous_one_as_written() -> None:
    """Departure: the MAESTRO binary stops on such a file ("No spatial map in a cluster"); coexplore prices
    the layer as if the previous layer's directives were written in it."""
    flow = "Cluster(4, P); SpatialMap(1,1) C;"
    second = ("  Layer L2 {\n    Type: CONV\n    Stride { X: 2, Y: 2 }\n"
              "    Dimensions { K: 4, C: 8, R: 3, S: 3, Y: 9, X: 9 }\n")
    inherit = (LAYER % flow).rstrip().removesuffix("}") + second + "  }\n}\n"
    body = (LAYER % flow).split("Dataflow {", 1)[1].split("\n    }\n", 1)[0]
    explicit = (LAYER % flow).rstrip().removesuffix("}") + second + "    Dataflow {" + body + "\n    }\n  }\n}\n"
    hw = parse_hardware(HW)
    a = price_network(hw, parse_mapping(inherit))
    b = price_network(hw, parse_mapping(explicit))
    assert [r.values for r in a] == [r.values for r in b]
    assert a[1].values["Num MACs"] == 4 * 8 * 3 * 3 * 4 * 4


def test_nasaic_table_i_areas_with_the_older_constants(monkeypatch: pytest.MonkeyPatch) -> None:
    """The three designs of NASAIC's Table I (seed 000) within 5 % of the table with the ``nasaic`` constants,
    an L1 of 768 B per PE and one 32 KiB L2 cell per sub-accelerator (the L1 is the one free parameter)."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_maestro_nasaic_area import TABLE_I, design_areas

    for name, area in design_areas(768, 32768).items():
        assert area == pytest.approx(TABLE_I[name][1], rel=0.05), name
