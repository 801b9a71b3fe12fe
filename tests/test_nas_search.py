"""Hardware-aware NAS on fixed hardware: the problem (pruning, queries), strategies, search, evaluators."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coexplore.errors import RegistryError, SpecError
from coexplore.nas.build import build_accuracy, build_latency, build_space, latency_limit
from coexplore.nas.evaluators import CostModelLatency, TableAccuracy, TableLatency
from coexplore.nas.nb201 import NB201Space, parse_cell
from coexplore.nas.problem import NasProblem
from coexplore.nas.search import search_nas
from coexplore.nas.space import ArchSpace
from coexplore.nas.strategies import NAS_STRATEGIES, make_nas_strategy, nas_strategy_names
from coexplore.predict.features import ArchFeatures
from coexplore.search.candidates import CandidateList
from coexplore.search.choices import AgingEvolution, RandomChoices, ReinforceChoices
from coexplore.search.driver import optimize

SPACE = NB201Space()


class Toy(ArchSpace[tuple[int, ...]]):
    """Three decisions of five values; accuracy = 10 x sum of choices, latency = sum of choices."""

    name = "toy"
    cardinalities = (5, 5, 5)

    def from_choices(self, choices: Sequence[int]) -> tuple[int, ...]:
        return self.check_choices(choices)

    def to_choices(self, arch: tuple[int, ...]) -> tuple[int, ...]:
        return arch

    def parse(self, text: str) -> tuple[int, ...]:
        return tuple(int(x) for x in text.split("-"))

    def format(self, arch: tuple[int, ...]) -> str:
        return "-".join(map(str, arch))

    def features(self, archs: Sequence[tuple[int, ...]]) -> ArchFeatures:
        return ArchFeatures(vector=self.encode(archs))

    def to_network(self, arch: tuple[int, ...]) -> Any:
        raise NotImplementedError

    def to_torch(self, arch: tuple[int, ...]) -> Any:
        raise NotImplementedError

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (1,)


class ToyAccuracy:
    name = "toy-acc"

    def evaluate(self, archs: Sequence[tuple[int, ...]]) -> np.ndarray:
        return np.array([10.0 * sum(a) for a in archs])


class ToyLatency:
    name = "toy-lat"

    def evaluate(self, archs: Sequence[tuple[int, ...]]) -> np.ndarray:
        return np.array([float(sum(a)) for a in archs])


def test_problem_prunes_over_the_limit_before_any_query_and_never_queries_twice() -> None:
    problem = NasProblem(space=Toy(), accuracy=ToyAccuracy(), latency=ToyLatency(), max_latency_ms=6.0)
    ev = problem.evaluate(CandidateList([(1, 1, 1), (4, 4, 4), (1, 1, 1), (2, 2, 2)]))
    assert ev.feasible.tolist() == [True, False, True, True]
    assert ev.values[:, 0].tolist() == [-30.0, np.inf, -30.0, -60.0]
    assert ev.reasons[1] == "latency over the limit"
    assert [q.arch for q in problem.queries] == [(1, 1, 1), (2, 2, 2)] and problem.pruned == 1
    problem.evaluate(CandidateList([(2, 2, 2)]))
    assert len(problem.queries) == 2


def test_problem_rejects_bad_objectives_and_limits() -> None:
    with pytest.raises(SpecError, match="objectives: must be"):
        NasProblem(space=Toy(), accuracy=ToyAccuracy(), objectives=("latency",))
    with pytest.raises(SpecError, match="a latency evaluator is needed"):
        NasProblem(space=Toy(), accuracy=ToyAccuracy(), max_latency_ms=3.0)
    with pytest.raises(SpecError, match="max_latency_ms: must be > 0, got -1"):
        NasProblem(space=Toy(), accuracy=ToyAccuracy(), latency=ToyLatency(), max_latency_ms=-1)


@pytest.mark.parametrize("strategy", ["random", "evolution", "reinforce", "brp"])
def test_every_strategy_is_deterministic_and_finds_the_constrained_optimum_of_the_toy(strategy: str) -> None:
    params: dict[str, Any] = {"predictor": "mlp", "predictor_params": {"epochs": 30}} if strategy == "brp" else {}
    if strategy == "evolution":
        params["population"] = 10

    def run(seed: int) -> Any:
        return search_nas(Toy(), accuracy=ToyAccuracy(), latency=ToyLatency(), max_latency_ms=7.0,
                          strategy=strategy, budget_queries=60, seed=seed, **params)

    a, b = run(1), run(1)
    assert [q.arch for q in a.queries] == [q.arch for q in b.queries]
    assert all(sum(q.arch) <= 7 for q in a.queries)
    assert len({q.arch for q in a.queries}) == len(a.queries)
    if strategy != "reinforce":  # 36 feasible toys: random and the rest must find a 70 % one in 60 queries
        assert a.best_accuracy == 70.0
    assert a.best_accuracy >= a.queries[0].accuracy


def test_reinforce_policy_moves_to_the_better_choices() -> None:
    problem = NasProblem(space=Toy(), accuracy=ToyAccuracy())
    strat, target = make_nas_strategy("reinforce", problem, seed=0, lr=0.5)
    assert isinstance(strat, ReinforceChoices) and strat.batch == 8  # the generic default
    optimize(target, strat, max_evals=400)
    probs = strat.probabilities()
    assert all(p[4] > 0.5 for p in probs)


def test_random_evolution_reinforce_are_the_generic_strategies_with_nas_defaults() -> None:
    problem = NasProblem(space=Toy(), accuracy=ToyAccuracy())
    rnd, _ = make_nas_strategy("random", problem)
    evo, _ = make_nas_strategy("evolution", problem, population=5, batch=3)
    assert isinstance(rnd, RandomChoices) and rnd.unique and rnd.batch == 10
    assert isinstance(evo, AgingEvolution) and evo.unique and (evo.population, evo.batch) == (5, 3)
    rnd_any, _ = make_nas_strategy("random", problem, unique=False)
    assert not rnd_any.unique
    # the whole toy space (125 networks): random proposes each once, then says it is finished
    res = optimize(problem, rnd, max_evals=1000)
    assert res.evaluated == 125 and rnd.finished and len(problem.queries) == 125


def test_strategy_registry_names_the_valid_ones() -> None:
    assert NAS_STRATEGIES.names() == ["brp"]
    assert nas_strategy_names()[:4] == ["brp", "random", "evolution", "reinforce"]
    problem = NasProblem(space=Toy(), accuracy=ToyAccuracy())
    with pytest.raises(RegistryError, match="valid: brp, random, evolution, reinforce, nsga2"):
        make_nas_strategy("darts", problem)
    with pytest.raises(SpecError, match="unknown population for random; valid: batch, unique"):
        make_nas_strategy("random", problem, population=3)
    with pytest.raises(SpecError, match="unknown population for brp; valid: predictor, initial, batch"):
        make_nas_strategy("brp", problem, population=3)
    with pytest.raises(SpecError, match="entropy: must be a number >= 0, got -1"):
        make_nas_strategy("reinforce", problem, entropy=-1)


def test_nb201_search_with_the_pi5_table_is_seeded_and_meets_the_limit(data_dir: Path) -> None:
    acc = TableAccuracy(space=SPACE)
    lat = TableLatency(space=SPACE, path=data_dir, framework="onnx")
    limit = latency_limit(SPACE, lat, 25)
    assert limit == pytest.approx(np.percentile(lat.all(), 25))
    runs = [search_nas(SPACE, accuracy=acc, latency=lat, max_latency_ms=limit, strategy="evolution",
                       budget_queries=40, seed=3, population=20) for _ in range(2)]
    assert [q.arch for q in runs[0].queries] == [q.arch for q in runs[1].queries]
    assert all(q.latency_ms <= limit for q in runs[0].queries)
    assert runs[0].pruned > 0 and len(runs[0].queries) == 40
    d = runs[0].to_dict(SPACE)
    assert d["best"]["arch_index"] == SPACE.index(runs[0].best) and d["query_of_best"] is not None
    assert acc.evaluate([runs[0].best])[0] == d["best"]["accuracy"]


def test_accuracy_latency_front_is_non_dominated(data_dir: Path) -> None:
    res = search_nas(SPACE, accuracy=TableAccuracy(space=SPACE), latency=TableLatency(space=SPACE, path=data_dir),
                     objectives=("accuracy", "latency"), strategy="random", budget_queries=50, seed=0)
    front = [(q.accuracy, q.latency_ms) for q in res.front]
    assert front and all(not (b[0] >= a[0] and b[1] <= a[1] and b != a) for a in front for b in front)


def test_cost_model_latency_sums_cached_layer_costs() -> None:
    lat = CostModelLatency(space=SPACE, accelerator="eyeriss")
    small = parse_cell("|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|skip_connect~2|")
    big = parse_cell("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                     "nor_conv_3x3~2|")
    ms = lat.evaluate([small, big])
    assert 0 < ms[0] < ms[1]
    shapes = {layer.shape_key() for c in (small, big) for layer in SPACE.to_network(c).layers}
    assert set(lat._cache) == shapes  # one mapping search per distinct shape, no more
    total = sum(lat.layer_cost(layer)[0] for layer in SPACE.to_network(big).layers)
    assert ms[1] == pytest.approx(total / (lat.accelerator.clock_ghz * 1e6))


def test_builders_name_bad_sources() -> None:
    chain = build_space("chain", "digits")
    with pytest.raises(SpecError, match="'table' exists only for the nb201 space"):
        build_accuracy(chain, "table")
    with pytest.raises(SpecError, match="needs an accelerator"):
        build_latency(SPACE, "cost-model")
    with pytest.raises(SpecError, match="must be 'table', 'cost-model' or 'none', got 'gpu'"):
        build_latency(SPACE, "gpu")
    with pytest.raises(RegistryError, match="unknown search space 'darts'"):
        build_space("darts")
    assert build_latency(SPACE, "none") is None
