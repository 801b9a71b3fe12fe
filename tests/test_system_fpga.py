"""One system spec for NoCs and multi-FPGA systems: FPGA boards as pipeline engines, Super-LIP on a spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from coexplore.cli.main import main
from coexplore.cost.fpga import FpgaDesign
from coexplore.cost.fpga_multi import MultiFpga, Partition, layer_latency
from coexplore.errors import SpecError
from coexplore.hwsearch.multi_fpga import search_cluster
from coexplore.presets.boards import get_board
from coexplore.spec.workload import Layer, Network
from coexplore.system.evaluate import evaluate_system
from coexplore.system.fpga_cluster import cluster_from_system, complete_system, grid_pairs
from coexplore.system.spec import system_from_dict

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# a: 3x3 conv, 2 -> 4 channels, 4x4 outputs (padding 1); b: 1x1 conv, 4 -> 2 channels, 4x4 outputs
A = Layer(name="a", K=4, C=2, P=4, Q=4, R=3, S=3, padding=(1, 1))
B = Layer(name="b", K=2, C=4, P=4, Q=4)
TINY = Network(name="tiny", layers=(A, B))


def _pair(first: dict[str, str], second: dict[str, str], **extra: object) -> dict[str, object]:
    return {"engines": [{"id": "b0", **first}, {"id": "b1", **second}], "topology": {"kind": "point-to-point"},
            "link": {"bandwidth_gb_per_s": 1.0, "hop_latency_ns": 10}, "links": [{"between": ["b0", "b1"]}],
            "word_bits": 16, **extra}


def test_fpga_engines_are_priced_by_the_zhang_model_in_the_pipeline_by_hand() -> None:
    """Two XC7Z020 boards (100 MHz, 4.264 GB/s = 42.64 B/cycle), 16-bit words, one 1 GB/s link, 10 ns hop.

    Layer a on b0: every tiling does 4*2*16*9 = 1152 MACs on at most Tm*Tn = 4*2 = 8 MACs a cycle, so
    >= 144 compute cycles, plus the first load and the last store that overlap nothing. The 1x1 output
    tile (Tm=4, Tn=2, Tr=Tc=1) reaches it: 16 tiles of comp 9 cycles, load = ceil(2*3*3*2 B / 42.64) = 1
    + ceil(4*2*9*2 B / 42.64) = 4, so per tile max(9, 5 + store ceil(4*2 B / 42.64) = 1) = 9, and
    16*9 + 5 + 1 = 150 cycles = 1500 ns. Layer b on b1: >= 4*2*16 / 8 = 16 compute cycles; Tr=1, Tc=4:
    4 tiles of max(4, load 1 + 1 + store 1) = 4, plus 2 + 1: 19 cycles = 190 ns.
    Link b0->b1: a's output, 4*16 words * 2 B = 128 B at 1 B/ns = 128 ns. Period = max(1500, 190, 128) =
    1500 ns on engine b0; latency = 1500 + 190 + 10 + 128 = 1828 ns. b0's own channel is its board's
    DDR: a's padded input 2*6*6 + its weights 72 words = 288 B / 4.264 B/ns.
    """
    s = system_from_dict(_pair({"board": "xc7z020"}, {"accelerator": "fpga:xc7z020"}))
    assert s.accelerators == ("fpga:xc7z020", "fpga:xc7z020") and s.fpga_engines == ("b0", "b1")
    ev = evaluate_system(s, TINY, partition="even", placement="row-major", alleviation=False)
    assert ev.profile.compute_ns["fpga:xc7z020"] == (1500.0, 190.0)
    r = ev.result
    assert r.link_ns["b0->b1"] == 128 and r.link_load_bytes["b1->b0"] == 0
    assert (r.period_ns, r.bottleneck, r.bottleneck_kind) == (1500.0, "b0", "engine")
    assert r.latency_ns == pytest.approx(1828)
    assert r.memory_ns["b0"] == pytest.approx(288 / 4.264)


def test_asic_and_fpga_engines_share_one_pipeline() -> None:
    s = system_from_dict(_pair({"board": "xc7z020"}, {"accelerator": "nvdla-256"},
                               memory={"kind": "per-engine", "bandwidth_gb_per_s": 16.0}))
    ev = evaluate_system(s, TINY, partition="even", placement="row-major", alleviation=False, samples=8)
    asic = ev.profile.compute_ns["nvdla-256"]
    assert ev.profile.compute_ns["fpga:xc7z020"][0] == 1500.0 and asic[1] > 0
    r = ev.result
    assert r.compute_ns == {"b0": 1500.0, "b1": asic[1]}
    # b1's channel is the system's 16 GB/s memory: b's weights 8 + outputs 32 words = 80 B -> 5 ns
    assert r.memory_ns["b1"] == pytest.approx(80 / 16)
    assert ev.as_dict()["engines"] == {"b0": "fpga:xc7z020", "b1": "nvdla-256"}


@pytest.mark.parametrize(("data", "needle"), [
    (_pair({"board": "vu9p"}, {"board": "xc7z020"}), "system.engines[b0].board: unknown FPGA board 'vu9p'"),
    (_pair({"board": "xc7z020", "accelerator": "eyeriss"}, {"board": "xc7z020"}),
     "system.engines[0]: give an accelerator or a board, not both"),
    (_pair({"board": "xc7z020"}, {"board": "xc7z020"}, memory={"kind": "shared"}),
     "system.memory.kind: FPGA engines (b0, b1) each read their own board's DDR; must be per-engine"),
])
def test_bad_fpga_engines_are_named(data: dict[str, object], needle: str) -> None:
    with pytest.raises(SpecError) as e:
        system_from_dict(data)
    assert needle in str(e.value)


def test_an_fpga_system_needs_a_word_width_the_tiling_model_takes() -> None:
    s = system_from_dict(_pair({"board": "xc7z020"}, {"board": "xc7z020"}, word_bits=12))
    with pytest.raises(SpecError, match=r"system.word_bits: FPGA engines \(b0, b1\) take 8, 16 or 32-bit .*, got 12"):
        evaluate_system(s, TINY)
    with pytest.raises(SpecError, match=r"system.word_bits: FPGA boards take 8, 16 or 32-bit words .*, got 12"):
        cluster_from_system(s)


def test_hop_latency_adds_to_every_link_transfer_by_hand() -> None:
    """XC7Z020 at 100 MHz, 1 GB/s link = 10 B/cycle, 25 ns hop = 2.5 -> 3 cycles. Layer 8 <- 4 channels,
    4x4, 1x1, split K=2, tiles 4,4,4,4: each board sends half the 4*4*4 input words, 32 * 2 B = 64 B,
    ceil(6.4) = 7 cycles, plus the hop: 10."""
    layer = Layer(name="c", K=8, C=4, P=4, Q=4)
    design = FpgaDesign(Tm=4, Tn=4, Tr=4, Tc=4)
    board = get_board("xc7z020")
    plain = layer_latency(design, layer, Partition(K=2), MultiFpga(board=board, boards=2, link_gbytes_per_s=1.0))
    hop = layer_latency(design, layer, Partition(K=2),
                        MultiFpga(board=board, boards=2, link_gbytes_per_s=1.0, link_hop_ns=25.0))
    assert (plain.link_cycles, hop.link_cycles) == (7, 10)
    with pytest.raises(SpecError, match=r"multi_fpga.link_hop_ns: must be a finite number >= 0, got -1"):
        MultiFpga(board=board, boards=2, link_gbytes_per_s=1.0, link_hop_ns=-1)


def _ring4(hop: float = 0.0) -> dict[str, object]:
    return {"name": "ring4", "engines": {"count": 4, "board": "zcu102"}, "topology": {"kind": "ring"},
            "link": {"bandwidth_gb_per_s": 1.25, "hop_latency_ns": hop}, "word_bits": 16}


def test_a_split_needs_its_grid_rows_and_columns_linked_directly() -> None:
    assert grid_pairs(2, 2) == [(0, 1), (0, 2), (1, 3), (2, 3)]  # a 2x2 split is a ring of four
    ring = cluster_from_system(system_from_dict(_ring4(hop=50)))
    assert (ring.multi.boards, ring.multi.link_gbytes_per_s, ring.multi.link_hop_ns) == (4, 1.25, 50)
    placed = ring.placement(Partition(P=2, K=2))
    assert placed is not None
    linked = {x.id for x in ring.system.links}
    assert all(f"{placed[u]}->{placed[v]}" in linked for u, v in grid_pairs(2, 2))
    assert ring.hosting(Partition(K=2)) is None and ring.hosting(Partition(N=1)) is None
    why = ring.hosting(Partition(K=4))
    assert why is not None and why.startswith("system.links: split K=4 needs 4 boards whose 1 x 4 grid")
    full = cluster_from_system(complete_system("zcu102", 4, 1.25))
    assert full.hosting(Partition(K=4)) is None


@pytest.mark.parametrize(("data", "needle"), [
    ({**_ring4(), "engines": [{"board": "zcu102"}, {"board": "xc7z020"}]},
     "Super-LIP's boards must be identical, got xc7z020, zcu102"),
    ({**_ring4(), "engines": [{"board": "zcu102"}, {"accelerator": "eyeriss"}]}, "not boards: e1 (eyeriss)"),
    ({**_pair({"board": "zcu102"}, {"board": "zcu102"}), "engines": {"count": 3, "board": "zcu102"},
      "links": [{"between": ["e0", "e1"]}, {"between": ["e1", "e2"], "bandwidth_gb_per_s": 2.0}]},
     "system.links: Super-LIP's boards run each layer in lockstep over links of one kind"),
])
def test_a_system_super_lip_cannot_use_is_refused(data: dict[str, object], needle: str) -> None:
    with pytest.raises(SpecError) as e:
        cluster_from_system(system_from_dict(data))
    assert needle in str(e.value)


SMALL = Network(name="small", layers=(Layer(name="c1", K=16, C=8, P=8, Q=8, R=3, S=3, padding=(1, 1)),))


def test_the_search_on_a_ring_only_tries_splits_its_links_carry() -> None:
    ring = cluster_from_system(system_from_dict(_ring4()))
    res = search_cluster([SMALL], ring)
    (x,) = res.layers
    assert ring.hosting(x.partition) is None and x.partition.K <= 2
    full = search_cluster([SMALL], cluster_from_system(complete_system("zcu102", 4, 1.25)))
    assert full.latency_cycles <= res.latency_cycles  # all-to-all links can only add splits
    rec = res.to_record()["best"]["accelerator"]
    assert rec["system"]["name"] == "ring4" and rec["layers"][0]["engines"] == list(ring.placement(x.partition) or ())
    with pytest.raises(SpecError, match=r"system.links: split K=4 needs 4 boards"):
        search_cluster([SMALL], ring, partition=Partition(K=4))


def test_the_old_flags_build_the_same_spec_as_the_example(tmp_path: Path) -> None:
    from coexplore.api import search_accelerator

    flags = search_accelerator([SMALL], "zcu102", boards=2, link_gbps=10.0)
    spec = search_accelerator([SMALL], None, system=str(EXAMPLES / "system_fpga2.yaml"))
    assert flags.to_record()["best"]["latency_cycles"] == spec.to_record()["best"]["latency_cycles"]  # type: ignore[union-attr]
    assert [x.partition for x in flags.layers] == [x.partition for x in spec.layers]  # type: ignore[union-attr]
    with pytest.raises(SpecError, match=r"budget \(--budget\): system 'zcu102-x2' is made of 'zcu102' boards"):
        search_accelerator([SMALL], "xc7z020", system=str(EXAMPLES / "system_fpga2.yaml"))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _net(tmp_path: Path) -> str:
    spec = {"name": "small", "layers": [{"name": "c1", "K": 16, "C": 8, "P": 8, "Q": 8, "R": 3, "S": 3,
                                         "padding": [1, 1]}, {"name": "c2", "K": 8, "C": 16, "P": 8, "Q": 8}]}
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def test_cli_hwsearch_on_a_system_writes_json_and_a_picture(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    svg = tmp_path / "fpga.svg"
    code, stdout, err = _run(capsys, "hwsearch", "--network", _net(tmp_path), "--system",
                             str(EXAMPLES / "system_fpga2.yaml"), "--svg", str(svg), "--json")
    assert code == 0, err
    out = json.loads(stdout)
    acc = out["best"]["accelerator"]
    assert acc["system"]["links"] == ["b0->b1", "b1->b0"] and out["svg"] == str(svg)
    text = svg.read_text()
    assert text.startswith("<svg") and text.count("<rect") == 2 and text.count("<line") == 2
    assert all(x["name"] in text for x in acc["layers"]) and "the best one-board design" in text
    slow = max(acc["layers"], key=lambda x: x["latency_cycles"])
    assert f"slowest layer {slow['name']} ({slow['bound']})" in text


def test_cli_noc_runs_a_system_of_fpga_boards(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, stdout, err = _run(capsys, "noc", "--system", str(EXAMPLES / "system_fpga2.yaml"), "--network",
                             _net(tmp_path), "--json", "--no-alleviate")
    assert code == 0, err
    out = json.loads(stdout)
    assert out["engines"] == {"b0": "fpga:zcu102", "b1": "fpga:zcu102"} and out["period_ns"] > 0


@pytest.mark.parametrize(("extra", "needle"), [
    (["--system", "RING", "--partition", "K=4"], "system.links: split K=4 needs 4 boards"),
    (["--system", "FPGA2", "--boards", "2"], "these options do not apply: boards (--boards)"),
    (["--system", str(EXAMPLES / "system_mesh_2x2.yaml")], "not boards: e0 (nvdla-1024)"),
    (["--system", "FPGA2", "--out", "x.yaml"], "--out: writes accelerator YAML; a multi-FPGA design (--system)"),
    (["--budget", "zcu102", "--svg", "x.svg"], "--svg: draws a multi-FPGA design"),
    ([], "budget (--budget): required"),
])
def test_cli_bad_system_search_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  extra: list[str], needle: str) -> None:
    ring = tmp_path / "ring.yaml"
    ring.write_text(yaml.safe_dump(_ring4()))
    names = {"RING": str(ring), "FPGA2": str(EXAMPLES / "system_fpga2.yaml"), "x.yaml": str(tmp_path / "x.yaml"),
             "x.svg": str(tmp_path / "x.svg")}
    code, _, err = _run(capsys, "hwsearch", "--network", _net(tmp_path), *(names.get(a, a) for a in extra))
    assert code == 2, err
    assert "Traceback" not in err and needle in err.strip().splitlines()[-1], err
