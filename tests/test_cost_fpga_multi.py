"""Super-LIP's multi-FPGA model (coexplore.cost.fpga_multi) and search (coexplore.hwsearch.multi_fpga)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from coexplore.cli.main import main
from coexplore.cost.fpga import FpgaDesign, layer_cycles_array
from coexplore.cost.fpga_multi import MultiFpga, Partition, layer_latency, multi_terms
from coexplore.errors import SpecError
from coexplore.hwsearch.multi_fpga import best_layer, partitions, search_multi_fpga
from coexplore.presets.boards import FpgaBoard, get_board
from coexplore.spec.workload import Layer, Network

# 0.4 GB/s at 100 MHz = 4 bytes/cycle = two 16-bit words per cycle
TINY = FpgaBoard(name="tiny", part="test", dsp=64, bram18k=400, lut=1, ff=1, bandwidth_gbytes_per_s=0.4,
                 clock_mhz=100.0)


def test_three_layers_equal_the_equations_by_hand() -> None:
    shared = MultiFpga(board=TINY, boards=2, link_gbytes_per_s=0.2)  # link: 2 bytes/cycle
    split = MultiFpga(board=TINY, boards=2, link_gbytes_per_s=0.05, ports="split")  # link 0.5 B/cycle, streams 4/3

    # A: output channels split in two (inputs shared). Each board: K=4, C=4, 4x4 outputs, 3x3 kernel.
    a = Layer(name="a", K=8, C=4, P=4, Q=4, R=3, S=3, padding=(1, 1))
    # Tm=4 Tn=2 Tr=2 Tc=4: input tile 2 ch x (1+3) rows x (3+3) cols = 48 words, weights 4*2*9 = 72 words.
    in_mem = math.ceil(48 / 2 * 2 / 4)  # half the input tile from the board's memory: 12 cycles
    w_mem = math.ceil(72 * 2 / 4)  # all its weights: 36
    in_net = math.ceil(48 / 2 * 2 / 2)  # the other half over the link: 24
    comp, store, n_in = 2 * 4 * 9, math.ceil(4 * 2 * 4 * 2 / 4), math.ceil(4 / 2)  # Tr*Tc*R*S; output tile; C/Tn
    assert (comp, store, n_in) == (72, 16, 2)
    group = max(n_in * comp, n_in * (in_mem + w_mem) + store, n_in * in_net)  # max(144, 112, 48) = 144
    n_tiles = 1 * math.ceil(4 / 4) * math.ceil(4 / 2) * math.ceil(4 / 4)  # 2
    a_hand = n_tiles * group + max(in_mem + w_mem, in_net) + store  # 2*144 + 48 + 16
    got = layer_latency(FpgaDesign(Tm=4, Tn=2, Tr=2, Tc=4), a, Partition(K=2), shared)
    assert (got.latency_cycles, got.bound) == (a_hand, "compute") == (352, "compute")
    assert (got.memory_cycles, got.link_cycles, got.group_cycles) == (48, 24, 144)

    # B: rows split in two (weights shared). Each board: K=4, C=2, 4x4 outputs, 1x1 kernel.
    b = Layer(name="b", K=4, C=2, P=8, Q=4)
    # Tm=4 Tn=2 Tr=4 Tc=4: input 2*4*4 = 32 words, weights 4*2 = 8 words (half each from memory and link).
    mem = math.ceil(32 * 2 / 4) + math.ceil(8 / 2 * 2 / 4)  # 16 + 2
    link = math.ceil(8 / 2 * 2 / 2)  # 4
    comp, store = 4 * 4, math.ceil(4 * 4 * 4 * 2 / 4)  # 16, 32
    b_hand = 1 * max(comp, mem + store, link) + max(mem, link) + store  # 50 + 18 + 32
    got = layer_latency(FpgaDesign(Tm=4, Tn=2, Tr=4, Tc=4), b, Partition(P=2), shared)
    assert (got.latency_cycles, got.bound) == (b_hand, "memory") == (100, "memory")

    # C: batch split in two, the paper's separate streams (Lat1 = max of the five terms, Lat2 = max(n_in*Lat1, out)).
    c = Layer(name="c", N=2, K=2, C=8, P=2, Q=2, R=3, S=3)
    # Tm=2 Tn=8 Tr=2 Tc=2: input 8*4*4 = 128 words, weights 2*8*9 = 144 words, outputs 2*2*2 = 8 words.
    stream = 4 / 3
    t_in = math.ceil(128 * 2 / stream)  # 192 (inputs not shared)
    t_w = math.ceil(144 / 2 * 2 / stream)  # 108
    t_w_net = math.ceil(144 / 2 * 2 / 0.5)  # 288
    comp, t_out = 2 * 2 * 9, math.ceil(8 * 2 / stream)  # 36, 12
    lat1 = max(t_in, t_w, t_w_net, comp)  # 288: the link
    c_hand = 1 * max(1 * lat1, t_out) + max(t_in, t_w, t_w_net) + t_out  # 288 + 288 + 12
    got = layer_latency(FpgaDesign(Tm=2, Tn=8, Tr=2, Tc=2), c, Partition(N=2), split)
    assert (got.latency_cycles, got.bound) == (c_hand, "link") == (588, "link")


def test_one_board_is_the_single_fpga_model() -> None:
    z = get_board("zcu102")
    one = MultiFpga(board=z, boards=1, link_gbytes_per_s=1.0)
    rng = np.random.default_rng(0)
    for layer in (Layer(K=64, C=3, P=55, Q=55, R=11, S=11, stride=(4, 4)), Layer(K=96, C=48, P=13, Q=13, R=3, S=3),
                  Layer(K=1000, C=512)):
        tiles = np.stack([rng.integers(1, x + 1, 300) for x in (layer.K, layer.C, layer.P, layer.Q)], axis=1)
        assert (multi_terms(tiles, layer, Partition(), one)["latency"] == layer_cycles_array(tiles, layer, z)).all()


def test_output_channel_split_reuses_inputs_super_linearly() -> None:
    """Inputs are reloaded once per Tm tile; halving K halves the reloads and the link carries half of each load."""
    layer = Layer(name="sq", K=16, C=64, P=8, Q=8)
    system = MultiFpga(board=TINY, boards=2, link_gbytes_per_s=0.4)
    design = FpgaDesign(Tm=8, Tn=8, Tr=8, Tc=8)
    one = layer_latency(design, layer, Partition(), system)
    two = layer_latency(design, layer, Partition(K=2), system)
    assert one.bound == two.bound == "memory"
    assert one.latency_cycles / two.latency_cycles > 2


@pytest.mark.parametrize(("split", "needle"), [
    (Partition(P=2), "partition.P: factor 2 does not divide layer 'x''s P = 5"),
    (Partition(K=16), "partition.K: factor 16 is larger than layer 'x''s K = 8"),
    (Partition(N=2, K=2), "partition: N*P*Q*K = 4 boards, the system has 2"),
])
def test_a_split_that_does_not_fit_the_layer_is_named(split: Partition, needle: str) -> None:
    layer = Layer(name="x", N=2, K=8, C=4, P=5, Q=5)
    system = MultiFpga(board=TINY, boards=2, link_gbytes_per_s=1.0)
    with pytest.raises(SpecError, match=None) as e:
        layer_latency(FpgaDesign(Tm=2, Tn=2, Tr=1, Tc=1), layer, split, system)
    assert needle in str(e.value)


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"boards": 0, "link_gbytes_per_s": 1.0}, "multi_fpga.boards: must be an integer >= 1, got 0"),
    ({"boards": 2, "link_gbytes_per_s": 0.0}, "multi_fpga.link_gbytes_per_s: must be a finite number > 0, got 0.0"),
    ({"boards": 2, "link_gbytes_per_s": 1.0, "ports": "dual"}, "multi_fpga.ports: must be one of shared, split"),
])
def test_bad_system_is_named(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(SpecError) as e:
        MultiFpga(board=TINY, **kwargs)  # type: ignore[arg-type]
    assert needle in str(e.value)


def test_partitions_and_uneven_splits() -> None:
    layer = Layer(name="x", N=1, K=8, C=4, P=5, Q=6)
    assert [p.label() for p in partitions(layer, 2)] == ["none", "K=2", "Q=2"]
    assert [p.label() for p in partitions(layer, 2, uneven=True)] == ["none", "K=2", "Q=2", "P=2"]
    assert Partition(P=2).board_layer(layer).P == 3  # the larger share sets the pace
    assert Partition.parse("N=1, K=2") == Partition(K=2)
    with pytest.raises(SpecError, match="partition: expected DIM=FACTOR"):
        Partition.parse("C=2")


def test_search_keeps_the_fastest_split_and_beats_one_board() -> None:
    net = Network(name="small", layers=(Layer(name="c1", K=16, C=64, P=8, Q=8), Layer(name="fc", K=32, C=64)))
    system = MultiFpga(board=TINY, boards=2, link_gbytes_per_s=0.4)
    result = search_multi_fpga([net], system)
    for got, layer in zip(result.layers, net.layers, strict=True):
        for split in partitions(layer, 2):  # no split does better than the one kept
            assert got.latency_cycles <= best_layer(layer, system, partition=split).latency.latency_cycles
    assert result.one_board_latency_cycles == sum(
        best_layer(x, MultiFpga(board=TINY, boards=1, link_gbytes_per_s=0.4)).latency.latency_cycles
        for x in net.layers)
    assert result.speedup > 1
    rec = result.to_record()
    assert rec["mode"] == "multi-fpga" and rec["baseline"]["latency_cycles"] == result.one_board_latency_cycles
    assert [x["bound"] for x in rec["best"]["accelerator"]["layers"]] == [x.bound for x in result.layers]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``coexplore ARGV``, in-process (argparse exits through SystemExit)."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _net(tmp_path: Path) -> str:
    spec = {"name": "tiny", "layers": [{"name": "c1", "K": 8, "C": 4, "P": 5, "Q": 4, "R": 3, "S": 3}]}
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


@pytest.mark.parametrize(("extra", "needle"), [
    (["--boards", "2", "--link-gbps", "10", "--partition", "P=2"], "partition.P: factor 2 does not divide layer"),
    (["--boards", "2", "--link-gbps", "10", "--partition", "K=16"], "partition.K: factor 16 is larger than"),
    (["--boards", "2", "--link-gbps", "0"], "--link-gbps: must be a finite number > 0, got 0"),
    (["--boards", "0", "--link-gbps", "10"], "--boards: must be an integer >= 1, got 0"),
    (["--boards", "2"], "boards (--boards) and link_gbps (--link-gbps): the multi-FPGA search needs both"),
])
def test_cli_bad_multi_fpga_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                     extra: list[str], needle: str) -> None:
    code, _, err = _run(capsys, "hwsearch", "--network", _net(tmp_path), "--budget", "zcu102", *extra)
    assert code == 2, err
    assert "Traceback" not in err and needle in err.strip().splitlines()[-1], err


def test_cli_multi_fpga_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, stdout, err = _run(capsys, "hwsearch", "--network", _net(tmp_path), "--budget", "zcu102", "--boards", "2",
                             "--link-gbps", "10", "--json")
    assert code == 0, err
    out = json.loads(stdout)
    (layer,) = out["best"]["accelerator"]["layers"]
    assert set(layer["partition"]) == {"N", "P", "Q", "K"} and layer["bound"] in ("compute", "memory", "link")
    assert out["best"]["latency_cycles"] == layer["latency_cycles"] <= out["baseline"]["latency_cycles"]


def test_api_record_has_the_hwsearch_shape_and_asic_budgets_refuse_boards(tmp_path: Path) -> None:
    from coexplore.api import search_accelerator
    from coexplore.hwsearch.record import BEST_KEYS, RECORD_KEYS

    rec = search_accelerator([_net(tmp_path)], "zcu102", boards=2, link_gbps=10.0).to_record()
    assert list(rec) == list(RECORD_KEYS) and list(rec["best"]) == list(BEST_KEYS)
    with pytest.raises(SpecError, match=r"boards \(--boards\): applies to FPGA boards only, got accelerator 'eyeriss'"):
        search_accelerator([_net(tmp_path)], "eyeriss", boards=2, link_gbps=10.0)
    with pytest.raises(SpecError, match=r"fpga_mode \(--fpga-mode\): the multi-FPGA search"):
        search_accelerator([_net(tmp_path)], "zcu102", boards=2, link_gbps=10.0, fpga_mode="pipelined")
