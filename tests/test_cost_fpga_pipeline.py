"""FNAS's pipeline pricing: the off-chip schedule (tile order) against a brute-force tile walk, and the
pipeline's latency (start + processing), efficiency, throughput and energy efficiency by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from coexplore.cost.fpga import FpgaDesign, _first_tiles, layer_latency, pipelined_latency
from coexplore.cost.fpga_pipeline import WATTS_PER_DSP_AT_100MHZ, pipeline_cost, power_w
from coexplore.errors import SpecError
from coexplore.presets.boards import get_board
from coexplore.spec.workload import Layer

Z = get_board("xc7z020")


def conv(name: str, k: int, c: int, hw: int = 8, size: int = 3) -> Layer:
    return Layer(name=name, K=k, C=c, P=hw, Q=hw, R=size, S=size, padding=((size - 1) // 2, (size - 1) // 2))


def walk(design: FpgaDesign, layer: Layer, rows: int, cols: int, chans: int) -> int:
    """Brute force: output tiles produced, in the schedule's loop order, until every tile holding one of the
    first ``chans`` channels in the first ``rows`` x ``cols`` outputs is done."""
    n_m, n_r, n_c = -(-layer.K // design.Tm), -(-layer.P // design.Tr), -(-layer.Q // design.Tc)
    order = (itertools.product(range(n_r), range(n_c), range(n_m)) if design.schedule == "row" else
             ((r, c, m) for m, r, c in itertools.product(range(n_m), range(n_r), range(n_c))))
    need = {(r, c, m) for r in range(-(-rows // design.Tr)) for c in range(-(-cols // design.Tc))
            for m in range(-(-chans // design.Tm))}
    last = max(i for i, t in enumerate(order) if t in need)
    return last + 1


@pytest.mark.parametrize("schedule", ["row", "channel"])
def test_first_tiles_follow_the_schedule_order_of_a_brute_force_walk(schedule: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(60):
        k, c2 = (int(v) for v in rng.choice([9, 18, 36], size=2))
        size = int(rng.choice([1, 3, 5]))
        layer, nxt = conv("a", k, 9, size=size), conv("b", c2, k, size=int(rng.choice([1, 3, 5])))
        d = FpgaDesign(Tm=int(rng.choice([2, 3, 6, 9])), Tn=3, Tr=int(rng.choice([1, 2, 4, 8])),
                       Tc=int(rng.choice([1, 2, 4, 8])), schedule=schedule)
        dn = FpgaDesign(Tm=3, Tn=int(rng.choice([1, 4, 9, 18])), Tr=int(rng.choice([1, 2, 4])),
                        Tc=int(rng.choice([1, 2, 4])))
        # what the next layer's first tile reads: its first Tn channels over its input window, less the padding
        rows = min(8, (min(dn.Tr, 8) - 1) + nxt.R - nxt.padding[0])
        cols = min(8, (min(dn.Tc, 8) - 1) + nxt.S - nxt.padding[1])
        assert _first_tiles(d, layer, dn, nxt) == walk(d, layer, rows, cols, min(dn.Tn, k))


def test_channel_major_starts_the_classifier_after_the_first_channel_planes() -> None:
    last, fc = conv("c", 36, 18), Layer(name="fc", K=10, C=36, op="fc")
    row, chan = (FpgaDesign(Tm=6, Tn=3, Tr=2, Tc=2, schedule=s) for s in ("row", "channel"))
    nxt = FpgaDesign(Tm=2, Tn=6, Tr=1, Tc=1)
    a, b = (layer_latency(d, last, Z, nxt=fc, nxt_design=nxt) for d in (row, chan))
    assert a.latency_cycles == b.latency_cycles  # the order changes no layer's own time
    # global pooling needs every pixel of the first 6 channels: one channel tile of 16 spatial tiles vs all but 5 tiles
    assert b.first_output_cycles == 16 * b.group_cycles + b.load_cycles + b.store_cycles
    assert a.first_output_cycles == (16 * 6 - 5) * a.group_cycles + a.load_cycles + a.store_cycles
    with pytest.raises(SpecError, match=r"fpga_design\.schedule: must be one of row, channel, got 'zigzag'"):
        FpgaDesign(Tm=1, Tn=1, Tr=1, Tc=1, schedule="zigzag")


def test_pipeline_cost_by_hand() -> None:
    l0, l1, fc = conv("c0", 18, 1), conv("c1", 36, 18, size=5), Layer(name="fc", K=10, C=36, op="fc")
    d0, d1 = FpgaDesign(Tm=6, Tn=1, Tr=8, Tc=8), FpgaDesign(Tm=9, Tn=6, Tr=4, Tc=4, schedule="channel")
    got = pipeline_cost([(d0, (l0,)), (d1, (l1, fc))], Z)
    a = layer_latency(d0, l0, Z, nxt=l1, nxt_design=d1)
    b1, b2 = layer_latency(d1, l1, Z), layer_latency(d1, fc, Z)
    assert got.stage_cycles == (a.latency_cycles, b1.latency_cycles + b2.latency_cycles)
    assert got.start_cycles == a.first_output_cycles < a.latency_cycles
    assert got.processing_cycles == max(got.stage_cycles)
    assert got.latency_cycles == got.start_cycles + got.processing_cycles
    assert got.efficiency == pytest.approx(sum(got.stage_cycles) / (2 * got.processing_cycles))
    assert 0 < got.efficiency < 1
    assert got.dsp == 6 * 1 + 9 * 6 and got.macs == l0.macs + l1.macs + fc.macs
    assert got.fps == pytest.approx(100e6 / got.processing_cycles)
    assert got.gops == pytest.approx(2 * got.macs * got.fps / 1e9)
    assert got.power_w == pytest.approx(got.dsp * 18.61 / 2240) == power_w(got.dsp, 100.0)
    assert got.gops_per_w == pytest.approx(got.gops / got.power_w)
    assert power_w(100, 200.0) == pytest.approx(2 * 100 * WATTS_PER_DSP_AT_100MHZ)
    # one layer per stage: the same start and processing as pipelined_latency
    ref = pipelined_latency([d0, d1], [l0, l1], Z)
    one = pipeline_cost([(d0, (l0,)), (d1, (l1,))], Z)
    assert (one.latency_cycles, one.start_cycles, one.processing_cycles) == (
        ref.latency_cycles, ref.start_cycles, ref.processing_cycles)
    assert (one.dsp, one.bram18k) == (ref.resources.dsp, ref.resources.bram18k)
    # a single stage is balanced by definition
    assert pipeline_cost([(d1, (l1, fc))], Z).efficiency == 1.0
    with pytest.raises(SpecError, match=r"stages: must be one or more"):
        pipeline_cost([(d0, ())], Z)
