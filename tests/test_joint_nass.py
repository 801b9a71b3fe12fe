"""NASS's problem (quantized digits chains priced by secure inference) and its strategy."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from coexplore.cost.secure import secure_network_cost, secure_stages
from coexplore.errors import SpecError
from coexplore.joint.nass import ChainQuantSecureProblem
from coexplore.joint.problem import PairBatch
from coexplore.joint.registry import make_joint_strategy
from coexplore.nas.quantize import FixedPoint
from coexplore.search.driver import optimize


@dataclass
class CountingEvaluator:
    """Accuracy from the network's size and its narrowest format (a stand-in for training), counting calls."""

    input_format: FixedPoint = field(default_factory=lambda: FixedPoint(3, 4, signed=True))
    classifier_weight: FixedPoint = field(default_factory=lambda: FixedPoint(1, 6, signed=True))
    quant_calls: int = 0

    def float_accuracy(self, chain) -> float:
        return 80.0 + sum(c * s for s, c in chain.layers) / 100.0

    def quantized_accuracy(self, chain, quant) -> float:
        self.quant_calls += 1
        narrow = min(min(q.weight.bits, q.activation.bits) for q in quant)
        return self.float_accuracy(chain) - 8.0 / narrow


def arch_row(p: ChainQuantSecureProblem, layers: list[tuple[int, int]], formats: list[tuple[int, int]]) -> np.ndarray:
    sp, L = p.space, p.space.max_layers
    arch = [len(layers) - 1] + [0] * (2 * L) + [0] * (2 * L)
    for i, (s, c) in enumerate(layers):
        arch[1 + 2 * i], arch[2 + 2 * i] = sp.sizes.index(s), sp.counts.index(c)
        arch[p.n_chain + 2 * i], arch[p.n_chain + 2 * i + 1] = formats[i]
    return np.array(arch, dtype=np.int64)


def test_widths_and_cost_follow_the_formats() -> None:
    p = ChainQuantSecureProblem(evaluator=CountingEvaluator())
    # weight s0.4 (index 2), activation u2.3 (index 3) then s0.7 / u3.5
    a = arch_row(p, [(3, 9), (5, 18)], [(2, 3), (4, 5)])
    # layer 1: input s3.4 (f_in 4) x weights f_w 4, output integer 2: 2 + 4 + 4 = 10
    # layer 2: input u2.3 (f_in 3) x weights f_w 7, output integer 3: 3 + 3 + 7 = 13
    # classifier: input u3.5 (8 bits) + weights s1.6 (8 bits) = 16
    assert p.widths(a) == [10, 13, 16]
    net = p.space.to_network(p.chain(a))
    want = secure_network_cost(secure_stages(net, [10, 13, 16]), p.constants)
    got = p.secure_cost(a)
    assert got.time_s == pytest.approx(want.time_s) and got.bytes == pytest.approx(want.bytes)
    # ReLU after both convolutions on 8x8 planes, none after the classifier: 8*w ANDs per element
    assert [x.gc.and_gates for x in got.layers] == [8 * 10 * 9 * 64, 8 * 13 * 18 * 64, 0]
    narrow = arch_row(p, [(3, 9), (5, 18)], [(0, 0), (0, 0)])
    assert p.secure_cost(narrow).time_s < got.time_s and p.secure_cost(narrow).bytes < got.bytes


def test_specs_prune_before_training() -> None:
    ev = CountingEvaluator()
    free = ChainQuantSecureProblem(evaluator=ev)
    a = arch_row(free, [(7, 36), (7, 36)], [(4, 5), (4, 5)])
    small = arch_row(free, [(3, 9)], [(0, 0)])
    limit = free.secure_cost(small).time_s * 1.01
    p = ChainQuantSecureProblem(evaluator=ev, max_time_s=limit)
    e = p.evaluate(PairBatch(np.stack([a, small]), np.zeros((2, 0), dtype=np.int64)))
    assert e.feasible.tolist() == [False, True] and ev.quant_calls == 1
    assert e.reasons[0].startswith("specs: over the time spec") and "pruned before training" in e.reasons[0]
    assert e.values[1, 1] == pytest.approx(p.secure_cost(small).time_s)


def test_nass_strategy_searches_within_the_specs_and_is_seeded() -> None:
    def run(seed: int) -> list[tuple[int, ...]]:
        ev = CountingEvaluator()
        ref = ChainQuantSecureProblem(evaluator=ev)
        limit = ref.secure_cost(arch_row(ref, [(5, 18), (5, 18)], [(2, 2), (2, 2)])).time_s
        p = ChainQuantSecureProblem(evaluator=ev, max_time_s=limit)
        s = make_joint_strategy("nass", p, seed=seed, budget=32, batch=8)
        seen: list[tuple[int, ...]] = []
        res = optimize(p, s, max_evals=32, on_batch=lambda c, e: seen.extend(tuple(r) for r in c.arch.tolist()))
        assert res.evaluated == 32 and res.feasible >= 1
        assert all(t <= limit for t in res.best_values[:, 1])
        return seen
    assert run(3) == run(3)


@pytest.mark.parametrize(("kw", "message"), [
    ({"max_time_s": 0}, "problem.max_time_s: must be a number > 0 (or inf: no spec), got 0"),
    ({"max_bytes": -1.0}, "problem.max_bytes: must be a number > 0 (or inf: no spec), got -1.0"),
    ({"weight_formats": ("s0.x",)}, "problem.weight_formats[0]"),
])
def test_bad_problem_input(kw, message) -> None:
    with pytest.raises(SpecError) as info:
        ChainQuantSecureProblem(evaluator=CountingEvaluator(), **kw)
    assert message in str(info.value)


def test_the_strategy_refuses_another_problem() -> None:
    with pytest.raises(SpecError, match="strategy nass: needs the NASS problem"):
        make_joint_strategy("nass", object(), seed=0, budget=8)
