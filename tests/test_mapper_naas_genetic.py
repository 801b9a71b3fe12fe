"""The NAAS (CMA-ES over importance-encoded vectors) and GAMMA-style genetic mappers.

Checked on three real layer/accelerator pairs: decoding and repair give structurally
legal mappings, encoding a legal mapping decodes back to it, both strategies find legal
mappings better than the median random one, they are deterministic for a seed; NAAS beats
``RandomMapper`` at equal evaluations (the three layers, and the optimality benchmark's 21
layers on Eyeriss), and the genetic mapper with 20k evaluations stays within a measured
bound of ``RandomMapper`` given 5x more.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.mapper.problem import LayerMappingProblem
from coexplore.mapper.strategies._decode import decode_vectors, gene_tables, naas_layout, overflow, repair
from coexplore.mapper.strategies._encode import canonical, encode_mappings, same
from coexplore.mapper.strategies.genetic import GeneticMapper
from coexplore.mapper.strategies.naas import NaasMapper
from coexplore.mapper.strategies.random import RandomMapper
from coexplore.mapping.encoding import MappingBatch, decode
from coexplore.mapping.sampling import sample_legal
from coexplore.mapping.validate import legal_mask, level_tables, problems
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network
from coexplore.search.driver import SearchResult, optimize
from coexplore.search.strategy import Strategy
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

CASES = {
    "resnet18-eyeriss": ("resnet18", "layer2.0.conv2", "eyeriss"),
    "mobilenetv2-dw-shidiannao": ("mobilenetv2", "features.2.conv.1.0", "shidiannao"),
    "resnet18-fc-nvdla256": ("resnet18", "fc", "nvdla-256"),
}
STRATEGIES = {"naas": NaasMapper, "genetic": GeneticMapper}


@cache
def case(name: str) -> tuple[Layer, Accelerator]:
    net, layer, acc = CASES[name]
    return get_network(net).layer(layer), get_accelerator(acc)


def run(strategy: str, name: str, evals: int, seed: int = 0) -> SearchResult:
    layer, acc = case(name)
    mapper: Strategy = STRATEGIES[strategy](layer=layer, accelerator=acc, seed=seed)
    return optimize(LayerMappingProblem(layer=layer, accelerator=acc), mapper, max_evals=evals)


def assert_structurally_legal(layer: Layer, acc: Accelerator, batch: MappingBatch) -> None:
    """Factor products equal the bounds, spatial factors fit the fan-out on allowed dims, keeps in range."""
    tab = level_tables(acc)
    assert (batch.temporal >= 1).all() and (batch.spatial_x >= 1).all() and (batch.spatial_y >= 1).all()
    np.testing.assert_array_equal(batch.factors().prod(axis=1), np.broadcast_to(layer.bounds_tuple(), (len(batch), 8)))
    assert (batch.spatial_x.prod(axis=2) <= tab.fanout[:, 0]).all()
    assert (batch.spatial_y.prod(axis=2) <= tab.fanout[:, 1]).all()
    assert not ((batch.spatial_x > 1) & ~tab.allowed_x).any()
    assert not ((batch.spatial_y > 1) & ~tab.allowed_y).any()
    assert not (batch.temporal[:, tab.container, :] != 1).any()
    assert (np.sort(batch.order, axis=2) == np.arange(8)).all()
    assert not (batch.keep & ~tab.keeps).any() and not (tab.must_keep & ~batch.keep).any()


@pytest.mark.parametrize("name", CASES)
def test_decoded_vectors_are_structurally_legal_and_mostly_fit(name: str) -> None:
    layer, acc = case(name)
    space = gene_tables(layer, acc)
    layout = naas_layout(space)
    assert len(layout.labels) == layout.n_genes > 0
    x = np.random.default_rng(1).normal(0.0, 2.0, size=(3000, layout.n_genes))
    batch = decode_vectors(space, layout, x)
    assert_structurally_legal(layer, acc, batch)
    legal = legal_mask(layer, acc, batch)
    assert legal.mean() > 0.95  # repair makes almost every candidate fit
    assert (overflow(layer, acc, batch.take(np.flatnonzero(legal))) <= 1.0).all()
    # the encoding reaches varied mappings: many distinct spatial and temporal choices
    assert len(np.unique(batch.factors().reshape(len(batch), -1), axis=0)) > 1000
    assert len(np.unique(batch.spatial_x.reshape(len(batch), -1), axis=0)) > 1


def test_naas_genes_mean_what_the_layout_says() -> None:
    layer, acc = case("resnet18-eyeriss")  # glb (level 3) fans out 14 (X: K, P) x 12 (Y: K, C, R)
    space = gene_tables(layer, acc)
    layout = naas_layout(space)
    x = np.zeros(layout.n_genes)

    def set_gene(label: str, value: float) -> None:
        x[layout.labels.index(label)] = value

    for rank, d in enumerate("QKSPCR"):  # importance 6..1: Q outermost at DRAM (level 4)
        set_gene(f"order[4].{d}", 6.0 - rank)
    for label in layout.labels:
        if label.startswith("share_"):  # nothing unrolled unless set below
            set_gene(label, -3.0)
    # X: K first with a share that targets 2 of 14, then P fills what is left (7)
    set_gene("spatial_x[3].K", 2.0)
    set_gene("share_x[3].K", 2 * (math.log(2) / math.log(14) - 0.75))
    set_gene("spatial_x[3].P", 1.0)
    set_gene("share_x[3].P", 1.0)
    # Y: R first fills 3, then C takes 4 of the remaining 4
    set_gene("spatial_y[3].R", 2.0)
    set_gene("share_y[3].R", 1.0)
    set_gene("spatial_y[3].C", 1.0)
    set_gene("share_y[3].C", 1.0)
    set_gene("tiling[4].K", 5.0)  # nearly all of K's remaining factor at DRAM
    m = decode(decode_vectors(space, layout, x[None, :]), 0)
    assert m.levels[4].order[:6] == ("Q", "K", "S", "P", "C", "R")
    assert m.levels[4].order[6:] == ("N", "G")
    assert dict(zip("NGKCPQRS", m.levels[3].spatial_x, strict=True)) == dict(N=1, G=1, K=2, C=1, P=7, Q=1, R=1, S=1)
    assert dict(zip("NGKCPQRS", m.levels[3].spatial_y, strict=True)) == dict(N=1, G=1, K=1, C=4, P=1, Q=1, R=3, S=1)
    assert m.levels[4].temporal[2] == 64  # K = 128 / 2 unrolled, all at DRAM
    assert problems(layer, acc, m) == []


def test_constructors_reject_bad_parameters() -> None:
    layer, acc = case("resnet18-eyeriss")
    with pytest.raises(SpecError) as err:
        GeneticMapper(layer=layer, accelerator=acc, population_size=10, elite=10, p_tile=1.5)
    assert len(err.value.problems) == 2 and "elite" in str(err.value) and "p_tile" in str(err.value)
    with pytest.raises(SpecError, match="sigma0"):
        NaasMapper(layer=layer, accelerator=acc, sigma0=0.0)


@pytest.mark.parametrize("name", CASES)
def test_repair_makes_overflowing_mappings_fit(name: str) -> None:
    layer, acc = case(name)
    space = gene_tables(layer, acc)
    base = sample_legal(layer, acc, 200, seed=3)
    # everything innermost: every bounded level overflows, products unchanged
    temporal = np.ones_like(base.temporal)
    temporal[:, 0 if not space.container[0] else int(space.up[0])] = base.factors().prod(axis=1)
    bad = MappingBatch(temporal=temporal, order=base.order, spatial_x=np.ones_like(base.spatial_x),
                       spatial_y=np.ones_like(base.spatial_y), keep=base.keep)
    assert not legal_mask(layer, acc, bad).any()
    fixed = repair(space, bad)
    assert_structurally_legal(layer, acc, fixed)
    assert legal_mask(layer, acc, fixed).all()
    # a legal mapping is left alone
    same = repair(space, base)
    for field in ("temporal", "spatial_x", "spatial_y"):
        np.testing.assert_array_equal(getattr(same, field), getattr(base, field))


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_best_is_legal_and_beats_the_random_median(strategy: str, name: str) -> None:
    layer, acc = case(name)
    evals = 3000
    res = run(strategy, name, evals)
    assert res.evaluated == evals and res.found and res.strategy == strategy
    assert res.feasible > 0.8 * evals
    best = decode(res.best, 0)
    assert problems(layer, acc, best) == []
    rand = sample_legal(layer, acc, evals, seed=11)
    median = float(np.median(LayerMappingProblem(layer=layer, accelerator=acc).evaluate(rand).values[:, 0]))
    assert res.best_values[0, 0] < median


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_deterministic_for_a_seed(strategy: str) -> None:
    name = "mobilenetv2-dw-shidiannao"
    a, b = run(strategy, name, 1500, seed=5), run(strategy, name, 1500, seed=5)
    assert a.best_values[0, 0] == b.best_values[0, 0]
    assert [h[1] for h in a.history] == [h[1] for h in b.history]
    np.testing.assert_array_equal(a.best.factors(), b.best.factors())
    np.testing.assert_array_equal(a.best.order, b.best.order)


@pytest.mark.parametrize("name", CASES)
def test_an_encoded_legal_mapping_decodes_back_to_itself(name: str) -> None:
    layer, acc = case(name)
    space = gene_tables(layer, acc)
    layout = naas_layout(space)
    batch = sample_legal(layer, acc, 300, seed=4)
    x = encode_mappings(space, layout, batch)
    assert same(decode_vectors(space, layout, x), canonical(layout, batch))
    # loops without genes (bound 1, or levels without temporal loops) go last, in DIMS order
    assert not same(canonical(layout, batch), batch) or not layout.order_gene.min() < 0


def _ratio_to_random(name: str, evals: int, seed: int) -> float:
    layer, acc = case(name)
    problem = LayerMappingProblem(layer=layer, accelerator=acc)
    ours = run("naas", name, evals, seed=seed).best_values[0, 0]
    rand = optimize(problem, RandomMapper(layer=layer, accelerator=acc, seed=seed), max_evals=evals)
    return float(ours / rand.best_values[0, 0])


# NAAS / RandomMapper at equal evaluations, measured: resnet18 layer2.0.conv2 / Eyeriss at 3,000
# evaluations 0.919, 0.827, 0.909 (seeds 0-2; with the first version's settings 1.038, 0.928, 0.962),
# at 20,000 evaluations 0.946 (seed 0); the other two layers reach the same optimum as random
# search (ratio 1.000). See benchmarks/bench_mapper_naas.py for all 63 rows.
def test_naas_beats_random_at_equal_evaluations_on_the_three_layers() -> None:
    ratios = [_ratio_to_random("resnet18-eyeriss", 3000, seed) for seed in range(3)]
    assert max(ratios) < 1.0 and math.exp(np.mean(np.log(ratios))) < 0.95, ratios
    assert _ratio_to_random("resnet18-eyeriss", 20_000, 0) < 0.97
    for name in ("mobilenetv2-dw-shidiannao", "resnet18-fc-nvdla256"):
        assert _ratio_to_random(name, 3000, 0) <= 1.0 + 1e-12


# The 21 layers of benchmarks/bench_mapper_optimality.py on Eyeriss, 2,000 evaluations, seed 0:
# geometric mean NAAS / random 0.936, 2 layers worse than random (the first version's settings:
# 1.018, 8 layers worse).
def test_naas_beats_random_at_equal_evaluations_on_the_optimality_layers() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_mapper_optimality.py"
    spec = importlib.util.spec_from_file_location("bench_mapper_optimality", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    acc = get_accelerator("eyeriss")
    ratios = []
    for net, name in bench.LAYERS:
        layer = get_network(net).layer(name)
        problem = LayerMappingProblem(layer=layer, accelerator=acc)
        ours = optimize(problem, NaasMapper(layer=layer, accelerator=acc, seed=0), max_evals=2000)
        rand = optimize(problem, RandomMapper(layer=layer, accelerator=acc, seed=0), max_evals=2000)
        ratios.append(float(ours.best_values[0, 0] / rand.best_values[0, 0]))
    assert math.exp(np.mean(np.log(ratios))) < 0.97, ratios
    assert sum(r > 1.0 + 1e-9 for r in ratios) <= 5, ratios


# Measured on resnet18 layer2.0.conv2 / eyeriss, seeds 0-5 (best of the genetic mapper with 20k
# evaluations / best of RandomMapper with 100k, same seed): 0.94-1.02 (geometric mean 0.97).
# Seed 0, tested here: 0.94.
def test_genetic_20k_evaluations_within_bound_of_random_with_100k() -> None:
    layer, acc = case("resnet18-eyeriss")
    problem = LayerMappingProblem(layer=layer, accelerator=acc)
    ours = run("genetic", "resnet18-eyeriss", 20_000, seed=0).best_values[0, 0]
    rand = optimize(problem, RandomMapper(layer=layer, accelerator=acc, seed=0), max_evals=100_000)
    ratio = ours / rand.best_values[0, 0]
    assert math.isfinite(ratio) and ratio <= 1.05, ratio


def test_the_sep_cma_es_minimises_an_ill_scaled_ellipsoid_and_repeats_for_a_seed() -> None:
    from coexplore.mapper.strategies._sepcma import SepCmaEs

    scale = 10.0 ** np.linspace(0, 3, 10)  # axis lengths over three decades: the diagonal must adapt

    def run(seed: int) -> tuple[float, SepCmaEs]:
        es = SepCmaEs(np.full(10, 3.0), 1.0, 10, np.random.default_rng(seed))
        best = math.inf
        for _ in range(600):
            x = es.ask()
            f = ((scale * x) ** 2).sum(axis=1)
            es.tell(f)
            best = min(best, float(f.min()))
        return best, es

    best, es = run(0)
    assert best < 1e-8, best  # from 9e6 at the start
    assert es.c[-1] < 1e-3 * es.c[0]  # the long axis got the small variance
    assert run(0)[0] == best and run(1)[0] != best
