"""FNAS's FPGA design space (coexplore.hwsearch.fpga): enumeration, budgets, the Problem protocol."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from coexplore.cost.fpga import resources
from coexplore.errors import InfeasibleError, SpecError
from coexplore.hwsearch.fpga import FpgaCandidates, FpgaSpace, FpgaTilingProblem, best_design
from coexplore.presets.boards import FpgaBoard, get_board
from coexplore.search.driver import optimize
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy
from coexplore.spec.workload import Layer, Network

Z = get_board("xc7z020")


def fnas_cifar() -> Network:
    """A FNAS-style CIFAR-10 chain: four 3x3 convs with 32/64/64/128 filters on 32x32 (padding 1)."""
    widths = [3, 32, 64, 64, 128]
    return Network(name="fnas-cifar", layers=tuple(
        Layer(name=f"conv{i}", K=widths[i + 1], C=widths[i], P=32, Q=32, R=3, S=3, padding=(1, 1))
        for i in range(4)))


def test_searched_tiling_on_7z020_matches_hand_calculation() -> None:
    sol = best_design(fnas_cifar(), Z)
    (d,) = sol.designs
    assert d.tiles == (22, 5, 2, 4)
    # 110 DSPs; BRAM: 5 input + 110 weight + 22 output banks, one RAMB18 each, double-buffered.
    assert (sol.resources.dsp, sol.resources.bram18k) == (110, 274)
    # Per tile (42.64 bytes/cycle, 2-byte words): compute 2*4*9 = 72 cycles; store
    # ceil(22*2*4*2/42.64) = 9; load = inputs ceil(tn*4*6*2/42.64) + weights ceil(22*tn*9*2/42.64).
    conv0 = 2 * 16 * 8 * max(1 * 72, 1 * (4 + 28) + 9) + (4 + 28) + 9  # tn=3, 1 input step: 18_473
    conv1 = 3 * 16 * 8 * max(7 * 72, 7 * (6 + 47) + 9) + (6 + 47) + 9  # tn=5, ceil(32/5)=7 steps: 193_598
    conv2 = 3 * 16 * 8 * max(13 * 72, 13 * (6 + 47) + 9) + (6 + 47) + 9  # ceil(64/5)=13 steps: 359_486
    conv3 = 6 * 16 * 8 * max(13 * 72, 13 * (6 + 47) + 9) + (6 + 47) + 9  # ceil(128/22)=6: 718_910
    assert [x.latency_cycles for x in sol.latency.layers] == [conv0, conv1, conv2, conv3]
    assert sol.latency_cycles == conv0 + conv1 + conv2 + conv3 == 1_290_467
    assert sol.latency.seconds == pytest.approx(1_290_467 / 100e6)  # 12.9 ms at 100 MHz
    assert (math.ceil(3 / 5), math.ceil(32 / 22)) == (1, 2)  # the trip counts used for conv0


def test_enumerated_designs_never_exceed_the_board() -> None:
    net = fnas_cifar()
    space = FpgaSpace(layers=net.layers, board=Z, step=8, channel_step=4)
    cands = space.enumerate()
    assert 0 < len(cands) < len(space)  # the BRAM budget removes part of the DSP-feasible grid
    for i in range(len(cands)):
        used = resources(cands.design(i), net.layers)
        assert used.dsp <= Z.dsp and used.bram18k <= Z.bram18k
    full = FpgaSpace(layers=net.layers, board=Z).enumerate()
    res = FpgaSpace(layers=net.layers, board=Z).resources(full)
    assert (res[:, 0] <= Z.dsp).all() and (res[:, 1] <= Z.bram18k).all()
    best = best_design(net, Z, "pipelined")
    assert best.resources.dsp <= Z.dsp and best.resources.bram18k <= Z.bram18k


def test_no_design_fits_a_tiny_board() -> None:
    tiny = FpgaBoard(name="tiny", part="custom", dsp=4, bram18k=4, lut=1000, ff=2000,
                     bandwidth_gbytes_per_s=1.0, clock_mhz=100.0)
    layer = Layer(name="big", K=64, C=64, P=32, Q=32, R=11, S=11)
    # smallest engine: 1 input + 1 weight + 1 output bank, double-buffered = 6 > 4 BRAM18
    with pytest.raises(InfeasibleError, match=r"6 BRAM18 blocks \(limit 4\)"):
        best_design([layer], tiny)
    with pytest.raises(InfeasibleError, match=r"12 BRAM18 blocks \(limit 4\)"):
        best_design([layer, dataclasses.replace(layer, name="big2")], tiny, "pipelined")
    with pytest.raises(SpecError, match="mode"):
        best_design([layer], Z, "streaming")


class _Enumerate(Strategy):
    """Asks the whole space, one chunk at a time (a minimal exhaustive strategy)."""

    name = "enumerate"

    def __init__(self, space: FpgaSpace) -> None:
        self._chunks = list(space.chunks(max_rows=50_000))

    def ask(self) -> Any:
        return self._chunks.pop(0)

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        pass

    @property
    def finished(self) -> bool:
        return not self._chunks

    @property
    def exhaustive(self) -> bool:
        return True


def test_exhaustive_best_equals_problem_minimum() -> None:
    net = fnas_cifar()
    space = FpgaSpace(layers=net.layers, board=Z, step=2)
    problem = FpgaTilingProblem(space=space)
    evals = [(c, problem.evaluate(c)) for c in space.chunks()]
    values = np.concatenate([e.values[:, 0] for _, e in evals])
    feasible = np.concatenate([e.feasible for _, e in evals])
    best = best_design(net, Z, step=2)
    assert values.min() == best.latency_cycles and len(values) == len(space) == best.evaluated
    assert not feasible.all() and np.isinf(values[~feasible]).all()
    reasons = {r for _, e in evals for r, ok in zip(e.reasons, e.feasible) if not ok}
    assert reasons and all("BRAM18 blocks of xc7z020" in r or "DSP48" in r for r in reasons)
    result = optimize(problem, _Enumerate(space))
    assert result.exhausted and result.best_values[0, 0] == best.latency_cycles
    assert problem.describe(result.best, 0)["Tm"] == best.designs[0].Tm


def test_sample_is_seeded_and_inside_the_grid() -> None:
    space = FpgaSpace(layers=fnas_cifar().layers, board=Z)
    a, b = (space.sample(np.random.default_rng(7), 64) for _ in range(2))
    assert isinstance(a, FpgaCandidates) and len(a) == 64 and np.array_equal(a.tiles, b.tiles)
    tm, tn, tr, tc = space.axes()
    for col, axis in enumerate((tm, tn, tr, tc)):
        assert np.isin(a.tiles[:, col], axis).all()
    assert (a.tiles[:, 0] * a.tiles[:, 1] <= Z.dsp).all()
    assert len(a.take([3, 5])) == 2 and len(a.concat(b)) == 128
    ev = FpgaTilingProblem(space=space).evaluate(a)
    assert ev.values.shape == (64, 1)


def test_pipelined_and_shared_agree_on_one_layer_and_relate_on_a_chain() -> None:
    net = fnas_cifar()
    one = [net.layers[2]]
    shared, piped = best_design(one, Z), best_design(one, Z, "pipelined")
    assert piped.latency_cycles == shared.latency_cycles and piped.designs == shared.designs
    chain = best_design(net, Z, "pipelined")
    lat = chain.latency
    per = [x.latency_cycles for x in lat.layers]
    assert len(chain.designs) == 4
    assert lat.processing_cycles == max(per)
    assert lat.start_cycles == sum(x.first_output_cycles for x in lat.layers[:-1])
    assert all(x.first_output_cycles <= x.latency_cycles for x in lat.layers)
    assert lat.latency_cycles == lat.start_cycles + lat.processing_cycles < sum(per)


def test_cli_hwsearch_on_a_board_searches_the_fpga_template() -> None:
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "hwsearch", "--network", "alexnet",
                          "--budget", "xc7a50t", "--json"], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    best = data["best"]
    assert data["kind"] == "fpga" and best["accelerator"]["board"] == "xc7a50t"
    assert best["resources"]["dsp"] <= best["limits"]["dsp"] == 120
    assert best["resources"]["bram18k"] <= best["limits"]["bram18k"] == 150
    assert best["latency_cycles"] > 0 and data["evaluations"] > 0
