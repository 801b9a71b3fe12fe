"""FNAS on its FPGA problem: pruning before training, the layer-pipelined design and its schedule decision,
the LSTM controller against random at equal candidates (a space with a known answer), the baselines of
FNAS's comparison table on the FPGA problem, determinism and resume, and the recipe through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from coexplore.cli.main import main
from coexplore.errors import SpecError
from coexplore.joint.fnas import PRUNED, ChainFpgaProblem
from coexplore.joint.fnas_controller import FnasController
from coexplore.joint.problem import PairBatch
from coexplore.nas.chain import parse_chain
from coexplore.presets.boards import get_board
from coexplore.search.driver import optimize
from coexplore.search.problem import Evaluation
from coexplore.study.config import StudyConfig
from coexplore.study.study import resume_study, run_study, show_study

BOARD = get_board("xc7z020")


class Synthetic:
    """A stand-in for training: deeper, wider chains with 5x5 filters score higher (the digits' trend)."""

    name = "synthetic"

    def evaluate(self, chains: Any) -> np.ndarray:
        return np.array([40 + 12 * len(a.layers) + sum(c for _, c in a.layers) / 4
                         - 3 * sum(abs(s - 5) for s, _ in a.layers) for a in chains], dtype=np.float64)


def _problem(**kw: Any) -> ChainFpgaProblem:
    return ChainFpgaProblem(board=BOARD, **{"timing_ms": 0.25, "evaluator": Synthetic(), **kw})


def _hw(p: ChainFpgaProblem, slots: list[tuple[int, ...]]) -> np.ndarray:
    """A hardware row from per-slot (Tm, Tn, Tr, Tc, schedule) indices, unused slots 0."""
    row = np.zeros(len(p.hw_cards), dtype=np.int64)
    for i, s in enumerate(slots):
        row[5 * i:5 * i + 5] = s
    return row[None]


def _arch(p: ChainFpgaProblem, text: str) -> np.ndarray:
    return np.array([p.space.to_choices(parse_chain(text))], dtype=np.int64)


def test_fnas_prunes_before_training_and_the_baseline_trains_then_rejects() -> None:
    arch = np.zeros((1, 11), dtype=np.int64)  # one layer, k3c9
    p = ChainFpgaProblem(board=BOARD, timing_ms=1.0, epochs=1, max_layers=5)
    small, large = _hw(p, [(0, 0, 0, 0, 0)]), _hw(p, [(4, 0, 3, 3, 0)])  # Tm 1, Tr=Tc 1 vs Tm 9, Tr=Tc 8
    lat_small, lat_large = (p.hardware(PairBatch(arch, h))[0][0] for h in (small, large))
    assert lat_large < lat_small
    spec_ms = (lat_small + lat_large) / 2 / (BOARD.clock_mhz * 1e3)
    pruning = ChainFpgaProblem(board=BOARD, timing_ms=spec_ms, epochs=1, max_layers=5)
    ev = pruning.evaluate(PairBatch(arch, small))
    assert not ev.feasible[0] and ev.reasons[0].startswith(PRUNED) and "before training" in ev.reasons[0]
    assert pruning.train_seconds == {}  # nothing was trained
    ev = pruning.evaluate(PairBatch(arch, large))
    assert ev.feasible[0] and 0 < -ev.values[0, 0] <= 100 and len(pruning.train_seconds) == 1
    baseline = ChainFpgaProblem(board=BOARD, timing_ms=spec_ms, epochs=1, max_layers=5, prune=False)
    ev = baseline.evaluate(PairBatch(arch, small))
    assert not ev.feasible[0] and "after training" in ev.reasons[0] and len(baseline.train_seconds) == 1
    dsp_heavy = _problem(timing_ms=10.0, tiles={"Tm": (18,), "Tn": (18,), "Tr": (1,), "Tc": (1,)})
    ev = dsp_heavy.evaluate(PairBatch(arch, _hw(dsp_heavy, [(0, 0, 0, 0, 0)])))
    assert not ev.feasible[0] and ev.reasons[0] == "fpga: DSP48 over the 220 of xc7z020"


def test_the_pair_is_a_layer_pipeline_whose_last_engine_runs_the_classifier() -> None:
    p = _problem()
    arch = _arch(p, "k5c18-k3c36-k3c9")
    hw = _hw(p, [(3, 0, 1, 1, 0), (4, 2, 2, 2, 1), (2, 3, 1, 1, 0)])
    d = p.describe(PairBatch(arch, hw), 0)
    stages = d["accelerator"]["stages"]
    assert [(s["Tm"], s["Tn"], s["Tr"], s["Tc"], s["schedule"]) for s in stages] == [
        (6, 1, 2, 2, "row"), (9, 3, 4, 4, "channel"), (3, 6, 2, 2, "row")]
    c = p.pair(arch[0], hw[0]).cost
    assert len(c.stage_cycles) == 3 and c.latency_cycles == c.start_cycles + c.processing_cycles
    assert d["latency_ms"] == pytest.approx(c.latency_cycles / 1e5) and d["fps"] == pytest.approx(1e8 / max(
        s["cycles"] for s in stages))
    assert d["pipeline_efficiency"] == pytest.approx(np.mean([s["cycles"] for s in stages]) / max(
        s["cycles"] for s in stages))
    assert d["depth"] == 4 and d["accelerator"]["dsp"] == c.dsp == 6 * 1 + 9 * 3 + 3 * 6
    torch = pytest.importorskip("torch")
    model = p.space.to_torch(parse_chain("k5c18-k3c36-k3c9"))
    assert d["params"] == sum(int(t.numel()) for t in model.parameters()) and isinstance(model, torch.nn.Module)
    # the schedule decision moves the next stage's start, not the stages' own time
    chan = hw.copy()
    chan[0, 4] = 1
    c2 = p.pair(arch[0], chan[0]).cost
    assert c2.stage_cycles == c.stage_cycles and c2.start_cycles < c.start_cycles
    # decisions of slots beyond the depth change nothing: the pair is the same
    noisy = hw.copy()
    noisy[0, 15:] = 1
    noisy_arch = arch.copy()
    noisy_arch[0, 7:] = 2
    a, h = p.canonical(noisy_arch, noisy)
    assert (a == arch).all() and (h == hw).all() and p.pair(noisy_arch[0], noisy[0]) is p.pair(arch[0], hw[0])


def test_the_reference_design_splits_the_board_evenly_and_fits_the_deepest_network() -> None:
    p = _problem()
    ref = p.reference_hw.reshape(p.space.max_layers, 5)
    assert (ref == ref[0]).all() and ref[0, 4] == 0  # one tiling for every engine, row-major
    big = _arch(p, "-".join(["k7c36"] * 5))[0]
    c = p.pair(big, p.reference_hw).cost
    assert c.dsp <= BOARD.dsp and c.bram18k <= BOARD.bram18k
    rng = np.random.default_rng(0)
    for _ in range(40):  # no other uniform tiling that fits is faster on the deepest network
        slot = [int(rng.integers(k)) for k in p.hw_cards[:4]] + [0]
        other = p.pair(big, _hw(p, [tuple(slot)] * 5)[0]).cost
        assert other.dsp > BOARD.dsp or other.bram18k > BOARD.bram18k or other.latency_cycles >= c.latency_cycles


class Target:
    """A space with a known answer: reward 1 only at a hidden target row, partial credit per matching decision."""

    objectives = ("accuracy", "latency")

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.arch_cards, self.hw_cards = (4,) * 8, (4,) * 8
        self.target_arch, self.target_hw = rng.integers(4, size=8), rng.integers(4, size=8)

    def evaluate(self, c: PairBatch) -> Evaluation:
        ok = (c.hw == self.target_hw).sum(axis=1) >= 2  # the rest is "over the spec"
        v = np.column_stack([-100.0 * (c.arch == self.target_arch).mean(axis=1), np.ones(len(c))])
        v[~ok] = np.inf
        return Evaluation(values=v, feasible=ok, reasons=tuple("" if o else "spec" for o in ok))

    def efficiency(self, c: PairBatch) -> np.ndarray:
        return (c.hw == self.target_hw).mean(axis=1)


def _run(problem: Any, controller: str, seed: int, n: int) -> np.ndarray:
    """The rewards of the ``n`` candidates a controller proposes, in order."""
    s = FnasController(seed=seed, controller=controller)
    rewards: list[float] = []
    tell = s.tell

    def spy(c: Any, e: Evaluation) -> None:
        rewards.extend(s.rewards(c, e))
        tell(c, e)

    s.tell = spy  # type: ignore[method-assign]
    optimize(problem, s, max_evals=n)
    return np.array(rewards)


def test_the_lstm_controller_beats_random_at_equal_candidates_where_the_answer_is_known() -> None:
    for seed in range(3):
        p = Target(seed)
        lstm, rand = _run(p, "lstm", seed, 200), _run(p, "random", seed, 200)
        assert len(lstm) == len(rand) == 200
        # optimum 1.0 (the target row): the controller gets closer, and its later proposals are far better
        assert lstm.max() > rand.max() and 1.0 - lstm.max() <= 0.25
        assert lstm[100:].mean() > rand[100:].mean() + 0.5


def test_on_the_fpga_problem_the_controller_learns_to_propose_accepted_efficient_pairs() -> None:
    p = _problem(max_layers=3)
    for seed in range(2):
        lstm, rand = _run(p, "lstm", seed, 120), _run(p, "random", seed, 120)
        assert (lstm[60:] > -1).mean() > (rand[60:] > -1).mean() and lstm[60:].mean() > rand[60:].mean() + 0.3


def test_fast_exploration_redraws_hardware_for_the_same_network_without_spending_trials() -> None:
    p = _problem(max_layers=3, timing_ms=0.05)
    one, ten = (FnasController(seed=0, controller="random", hw_tries=k) for k in (1, 10))
    r1, r10 = optimize(p, one, max_evals=64), optimize(p, ten, max_evals=64)
    assert r1.evaluated == r10.evaluated == 64 and one.pairs_evaluated == 64 < ten.pairs_evaluated
    assert r10.feasible > r1.feasible
    with pytest.raises(SpecError, match=r"strategy\.params\.controller: must be one of lstm, softmax, random, got"):
        FnasController(controller="gru")


def test_hw_aware_nas_and_sequential_run_on_the_fpga_problem() -> None:
    from coexplore.joint.baselines import HwAwareNas, Sequential

    p = _problem(max_layers=3)
    seen: list[PairBatch] = []

    def spy(c: PairBatch) -> Evaluation:
        seen.append(c)
        return p.evaluate(c)

    optimize(p, HwAwareNas(seed=0), max_evals=60, evaluate=spy)
    hw = np.concatenate([c.hw for c in seen])
    _, ref = p.canonical(np.concatenate([c.arch for c in seen]), np.repeat(p.reference_hw[None], len(hw), axis=0))
    assert len(hw) == 60 and (hw == ref).all()
    seen.clear()
    s = Sequential(seed=0, nas_share=0.5)
    optimize(p, s, max_evals=80, evaluate=spy)
    arch = np.concatenate([c.arch for c in seen])
    hw = np.concatenate([c.hw for c in seen])
    assert s.best is not None and (arch[40:] == s.best[1]).all() and len({h.tobytes() for h in hw[40:]}) == 40
    assert all(p.pair(arch[i], hw[i]).cost.dsp <= BOARD.dsp for i in range(40, 80))


def _config(strategy: str, trials: int) -> StudyConfig:
    return StudyConfig.from_dict({
        "problem": {"kind": "codesign", "space": "chain", "board": "xc7z020", "timing_ms": 0.25, "max_layers": 3},
        "objectives": ["accuracy", "latency"], "strategy": {"name": strategy}, "budget": {"trials": trials}})


@pytest.mark.parametrize("strategy", ["fnas", "sequential", "hw-aware-nas"])
def test_strategies_on_the_fpga_problem_repeat_and_resume_after_a_crash(strategy: str, tmp_path: Path,
                                                                       killed_after_writes: Any) -> None:
    p = _problem(max_layers=3)
    url = f"sqlite:///{tmp_path / 's.db'}"

    def trials(name: str) -> list[tuple[Any, ...]]:
        return [(t["number"], json.dumps(t["params"], sort_keys=True), tuple(t["values"]), t["state"])
                for t in show_study(name, storage=url)["trials"]]

    for name in ("a", "b"):
        run_study(_config(strategy, 48), name=name, storage=url, progress=False, problem=p)
    assert trials("a") == trials("b") and len(trials("a")) == 48
    with killed_after_writes(2):  # killed right after its n-th write of results
        run_study(_config(strategy, 48), name="c", storage=url, progress=False, problem=p)
    assert 0 < len(trials("c")) < 48
    resume_study("c", storage=url, progress=False, problem=p)
    assert trials("c") == trials("a")


def test_fnas_recipe_style_study_reports_its_pruning_and_repeats_for_a_seed(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "fnas.yaml"
    cfg.write_text(yaml.safe_dump({"problem": {"kind": "codesign", "space": "chain", "board": "xc7z020",
                                               "timing_ms": 0.05, "epochs": 1, "max_layers": 2},
                                   "objectives": ["accuracy", "latency"], "strategy": {"name": "fnas"},
                                   "budget": {"trials": 16}}))
    runs = []
    for name in ("one", "two"):
        assert main(["codesign", str(cfg), "--name", name, "--json", "--no-report"]) == 0
        runs.append(json.loads(capsys.readouterr().out))
    a, b = runs
    assert a["front"] == b["front"] and a["pairs_evaluated"] >= 16 and a["trials"] == 16 and a["front"]
    pr = a["pruning"]
    assert pr["candidates"] == 16 and 0 < pr["pruned_before_training"] < 16
    assert pr["pruned_share"] == pytest.approx(pr["pruned_before_training"] / 16)
    assert pr["networks_trained"] >= 1 and pr["rejected_after_training"] == 0
    e = a["front"][0]
    assert e["latency_ms"] <= 0.05 and {"stages", "dsp", "bram18k"} <= set(e["accelerator"])
    assert 0 < e["pipeline_efficiency"] <= 1 and e["fps"] > 0 and e["gops_per_w"] > 0 and e["depth"] >= 2
