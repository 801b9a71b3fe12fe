"""MAESTRO dataflow templates (dla, shi, xp_ws, rs) for coexplore layers, and heterogeneous systems (NASAIC) on them."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

import coexplore
from coexplore.cli.main import main
from coexplore.errors import SpecError
from coexplore.maestro import parse_hardware, parse_mapping, price_network
from coexplore.maestro.energy import CONSTANT_SETS, area_power
from coexplore.maestro.model import CSV_COLUMNS
from coexplore.maestro.result import format_value
from coexplore.maestro.system import Budget, HeteroDesign, Specs, SubAccelerator, parse_design, price_system
from coexplore.maestro.templates import cluster_size, network_dfsl, rs_cluster_size, to_dfsl_network
from coexplore.spec.workload import Layer, Network

BINARY = Path(os.environ.get("MAESTRO_BIN", "/work/peers_build/maestro/maestro"))
needs_binary = pytest.mark.skipif(not (BINARY.is_file() and os.access(BINARY, os.X_OK)),
                                  reason=f"the MAESTRO binary is not at {BINARY} (set MAESTRO_BIN; build it as "
                                         "benchmarks/bench_maestro.py says)")

MIXED = Network(name="mixed", layers=(
    Layer(name="stem.0", K=24, C=3, P=16, Q=16, R=3, S=3, stride=(2, 2), padding=(1, 1)),
    Layer(name="b1.conv1", K=32, C=24, P=16, Q=16, R=1, S=1),
    Layer(name="b1.dw", K=32, C=32, P=8, Q=8, R=3, S=3, stride=(2, 2), groups=32, op="depthwise"),
    Layer(name="b1.conv5", K=40, C=32, P=8, Q=8, R=5, S=5, padding=(2, 2)),
    Layer(name="batch2", K=16, C=40, P=8, Q=8, R=3, S=3, N=2, padding=(1, 1)),
    Layer(name="fc", K=10, C=16, op="fc"),
))


def _hw(pes: int, bw: int) -> str:
    return f"num_pes: {pes}\nl1_size_cstr: 100\nl2_size_cstr: 3000\nnoc_bw_cstr: {bw}\noffchip_bw_cstr: 50\n"


def test_cluster_sizes_follow_the_pe_count() -> None:
    assert cluster_size("dla", 256) == 64 and cluster_size("dla", 576) == 64  # MAESTRO's kcp_ws Cluster(64)
    assert cluster_size("dla", 100) == 50 and cluster_size("dla", 7) == 7
    assert cluster_size("shi", 64) == 8  # MAESTRO's yxp_os Cluster(8) on ShiDianNao's 8x8 array
    assert cluster_size("shi", 1792) == 32 and cluster_size("shi", 576) == 24
    assert cluster_size("xp_ws", 100) == 100
    for pes in (1, 7, 64, 100, 1792, 4096):
        for t in ("dla", "shi", "xp_ws"):
            assert pes % cluster_size(t, pes) == 0
    # rs: one PE per filter row, per layer (leftover PEs idle, as in MAESTRO); folded on fewer PEs than R
    assert [rs_cluster_size(layer, 64) for layer in MIXED.layers] == [3, 1, 3, 5, 3, 1]
    assert rs_cluster_size(MIXED.layers[3], 4) == 4
    with pytest.raises(SpecError, match="template 'rs': its cluster is each layer's filter height"):
        cluster_size("rs", 64)


def test_generated_file_reads_like_maestros_examples() -> None:
    text, repeats = network_dfsl(MIXED, "shi", 64)
    assert "TemporalMap(10,8) X;" in text and "Cluster(8, P);" in text and "SpatialMap(Sz(S),1) X;" in text
    assert "Layer b1_dw {\n    Type: DSCONV" in text
    assert repeats == (1,) * len(MIXED.layers)
    net, _ = to_dfsl_network(MIXED, "dla", 576)
    stem = net.layers[0]
    # Y = (P-1)*stride + R; N on every layer because one layer has N=2
    assert dict(stem.dims) == {"N": 1, "K": 24, "C": 3, "R": 3, "S": 3, "Y": 33, "X": 33}
    assert [d.kind for d in stem.directives].count("cluster") == 1
    assert [d.kind for d in net.layers[2].directives].count("cluster") == 0  # depthwise: one level
    rs, _ = network_dfsl(MIXED, "rs", 64)  # MAESTRO's mnasnet_rs.m form, the cluster the layer's R
    assert "Cluster(5, P);\n      SpatialMap(1,1) Y;\n      SpatialMap(1,1) R;" in rs
    assert "SpatialMap(1,1) Y';" in rs and "TemporalMap(16,16) K;" in rs and "TemporalMap(10,10) K;" in rs


def _binary_rows(tmp: Path, hw: str, mapping: str) -> list[dict[str, str]]:
    (tmp / "hw").mkdir(exist_ok=True)
    (tmp / "mapping").mkdir(exist_ok=True)
    (tmp / "hw" / "h.m").write_text(hw)
    (tmp / "mapping" / "m.m").write_text(mapping)
    (tmp / "m.csv").unlink(missing_ok=True)
    r = subprocess.run([str(BINARY), "--HW_file=hw/h.m", "--Mapping_file=mapping/m.m", "--print_res=false",
                        "--print_res_csv_file=true", "--print_log_file=false"], cwd=tmp, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout[-500:] + r.stderr[-500:]
    with open(tmp / "m.csv", newline="") as f:
        return [dict(zip(CSV_COLUMNS, [c.strip() for c in row], strict=False)) for row in list(csv.reader(f))[1:]]


@needs_binary
@pytest.mark.parametrize(("template", "pes", "bw"), [
    *((t, pes, bw) for t in ("dla", "shi", "xp_ws", "rs") for pes, bw in ((576, 56), (1792, 8), (100, 3))),
    ("rs", 4, 2),  # fewer PEs than the 5x5 layer's filter rows: the cluster is all 4 and R folds
])
def test_generated_layers_agree_with_the_maestro_binary(template: str, pes: int, bw: int, tmp_path: Path) -> None:
    """Every column of every layer as the binary prints it (runtime and the 12 access counts exactly)."""
    text, _ = network_dfsl(MIXED, template, pes)
    theirs = _binary_rows(tmp_path, _hw(pes, bw), text)
    ours = price_network(parse_hardware(_hw(pes, bw)), to_dfsl_network(MIXED, template, pes)[0])
    assert len(theirs) == len(ours) == len(MIXED.layers)
    for want, got in zip(theirs, ours, strict=True):
        bad = {c: (want[c], format_value(got.values[c])) for c in CSV_COLUMNS if format_value(got.values[c]) != want[c]}
        assert not bad, (want["Layer Number"], bad)


def test_grouped_convolution_is_groups_times_one_group() -> None:
    grouped = Network(name="g", layers=(Layer(name="g4", K=32, C=16, P=8, Q=8, R=3, S=3, groups=4),))
    one = Network(name="one", layers=(Layer(name="g1", K=8, C=4, P=8, Q=8, R=3, S=3),))
    design = HeteroDesign(subs=(SubAccelerator(template="dla", pes=256, bandwidth=32),))
    a, b = price_system([grouped], design), price_system([one], design)
    assert a.latency_cycles == 4 * b.latency_cycles > 0
    assert a.energy_nj == pytest.approx(4 * b.energy_nj) and a.networks[0].maestro_macs == grouped.macs


def test_system_metrics_are_max_sum_sum() -> None:
    small = Network(name="small", layers=MIXED.layers[:2])
    design = parse_design("dla:576:56,shi:1792:8")
    apart = price_system([MIXED, small], design)
    together = price_system([MIXED, small], design, assign=[0, 0])
    solo = [price_system([n], HeteroDesign(subs=(design.subs[0],))) for n in (MIXED, small)]
    assert together.latency_cycles == solo[0].latency_cycles + solo[1].latency_cycles
    assert apart.latency_cycles == max(apart.sub_latency_cycles)
    assert apart.sub_latency_cycles[0] == solo[0].latency_cycles
    assert together.energy_nj == pytest.approx(solo[0].energy_nj + solo[1].energy_nj)
    assert apart.area_um2 == pytest.approx(sum(apart.sub_area_um2))
    idle = area_power(CONSTANT_SETS["current"], num_pes=1792, vector_width=1, noc_bandwidth=8, l1_bytes=1, l2_bytes=1)
    assert together.sub_latency_cycles[1] == 0 and together.sub_area_um2[1] == pytest.approx(idle.area)
    # energy is MAESTRO's summary formula: at least one MAC energy per MAC
    assert apart.energy_nj >= CONSTANT_SETS["current"].mac_energy_nj * (MIXED.macs + small.macs)


def test_specs_are_hard_constraints_naming_the_violated_ones() -> None:
    design = parse_design("dla:576:56,shi:1792:8")
    free = price_system([MIXED, MIXED], design)
    tight = price_system([MIXED, MIXED], design, specs=Specs(latency_cycles=free.latency_cycles - 1,
                                                             area_um2=free.area_um2 * 2))
    assert not tight.meets_specs and len(tight.violations) == 1 and tight.violations[0].startswith("latency_cycles")
    loose = price_system([MIXED, MIXED], design, specs=Specs(free.latency_cycles, free.energy_nj, free.area_um2))
    assert loose.meets_specs and loose.to_record()["violations"] == []


@pytest.mark.parametrize(("design", "budget", "message"), [
    ("dla:4096:56,shi:64:8", Budget(), "design.pes: the sub-accelerators' PEs sum to 4160, over the budget of 4096"),
    ("dla:576:56,shi:1792:16", Budget(), "design.bandwidth: the sub-accelerators' bandwidths sum to 72"),
    ("dla:570:56,shi:1792:8", Budget(), "design[0].pes: must be a multiple of 64, got 570"),
    ("dla:576:60,shi:1792:8", Budget(), "design[0].bandwidth: must be a multiple of 8, got 60"),
    ("dla:96:8,shi:96:8", Budget(pes=192, pe_step=32, bandwidth=16), None),
])
def test_budgets_and_steps(design: str, budget: Budget, message: str | None) -> None:
    if message is None:
        assert price_system([MIXED, MIXED], parse_design(design), budget=budget).latency_cycles > 0
        return
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        price_system([MIXED, MIXED], parse_design(design), budget=budget)


def test_bad_design_strings() -> None:
    for text, message in (("nvdla:64:8", r"design\[0\].template: unknown 'nvdla'; valid: dla, shi, xp_ws, rs"),
                          ("dla:64", r"design\[0\]: expected TEMPLATE:PES:BANDWIDTH"),
                          ("dla:x:8", r"design\[0\].pes: must be an integer, got 'x'"),
                          ("dla:64:0", r"design\[0\].bandwidth: must be from 1 to 1048576, got 0"),
                          ("dla:99999999999:8", r"design\[0\].pes: must be from 1 to 1048576, got 99999999999")):
        with pytest.raises(SpecError, match=message):
            parse_design(text)
    dilated = Network(name="d", layers=(Layer(name="d", K=4, C=4, P=4, Q=4, R=3, S=3, dilation=(2, 2)),))
    with pytest.raises(SpecError, match=r"layers\[0\] \(d\).dilation"):
        network_dfsl(dilated, "dla", 64)


def test_api_and_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    r = coexplore.evaluate_maestro_system("alexnet,squeezenet", "dla:576:56,shi:1792:8", specs="8e5,,4e9",
                                          constant_set="nasaic")
    assert r.to_record()["violations"] == [f"latency_cycles: {r.latency_cycles:.4g} cycles > spec 8e+05"]
    assert main(["maestro-system", "--networks", "alexnet,squeezenet", "--design", "dla:576:56,shi:1792:8",
                 "--specs", "8e5,,4e9", "--constants", "nasaic", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"meets_specs": false' in out and f'"latency_cycles": {r.latency_cycles}' in out
    for argv, message in ((["--design", "dla:576:56,shi:1792:8,shi:1792:8"], "design.pes"),
                          (["--design", "eye:576:56"], "design[0].template: unknown 'eye'"),
                          (["--design", "dla:576:56,shi:1792:8", "--assign", "0,5"], "assign[1]")):
        code = main(["maestro-system", "--networks", "alexnet,squeezenet", *argv])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and message in err, err


WIDE_TILE = """Network wide {
  Layer conv5 {
    Type: CONV
    Stride { X: 1, Y: 1 }
    Dimensions { K: 40, C: 32, R: 5, S: 5, Y: 12, X: 12 }
    Dataflow {
      TemporalMap(1,1) K; TemporalMap(1,1) C; SpatialMap(Sz(R),1) Y; TemporalMap(14,10) X;
      TemporalMap(Sz(R),Sz(R)) R; TemporalMap(Sz(S),Sz(S)) S; Cluster(10, P); SpatialMap(Sz(S),1) X;
    }
  }
}
"""


def test_a_dataflow_that_covers_no_mac_is_refused_not_priced_at_zero(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """An X tile wider than the layer (what the shi template wrote before it clipped the tile): the binary
    prints 0 cycles and negative counts; coexplore names the layer and refuses it."""
    hw = parse_hardware(_hw(100, 3))
    with pytest.raises(SpecError, match=r"layer 'conv5' .*covers no MAC"):
        price_network(hw, parse_mapping(WIDE_TILE))
    (tmp_path / "h.m").write_text(_hw(100, 3))
    (tmp_path / "m.m").write_text(WIDE_TILE)
    assert main(["maestro", "--hw", str(tmp_path / "h.m"), "--mapping", str(tmp_path / "m.m")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "covers no MAC" in err
