"""Systems of engines and links: routing, link loads, throughput and bottleneck against hand calculations."""

from __future__ import annotations

import pytest

from coexplore.errors import SpecError
from coexplore.spec.workload import Layer
from coexplore.system.design import NocDesign, alleviate, balanced_cuts, evaluate_design, even_cuts, place
from coexplore.system.pipeline import evaluate_pipeline
from coexplore.system.profile import Block, BlockProfile
from coexplore.system.spec import Memory, mesh_system, system_from_dict


def _mesh(rows: int, cols: int, bw: float = 2.0, hop: float = 1.0, memory: Memory | None = None):  # type: ignore[no-untyped-def]
    return mesh_system(rows, cols, "nvdla-256", bandwidth_gb_per_s=bw, hop_latency_ns=hop, memory=memory)


def test_xy_routes_on_a_2x2_mesh() -> None:
    # e0=(0,0) e1=(0,1) / e2=(1,0) e3=(1,1); X (columns) first, then Y (rows).
    s = _mesh(2, 2)
    assert s.route("e0", "e3") == ("e0->e1", "e1->e3")
    assert s.route("e3", "e0") == ("e3->e2", "e2->e0")
    assert s.route("e1", "e2") == ("e1->e0", "e0->e2")
    assert s.route("e2", "e2") == ()
    assert len(s.links) == 8


def test_ring_and_point_to_point_routes() -> None:
    ring = system_from_dict({"engines": {"count": 5, "accelerator": "nvdla-256"}, "topology": {"kind": "ring"},
                             "link": {"bandwidth_gb_per_s": 1}})
    assert len(ring.links) == 10
    assert ring.route("e0", "e2") == ("e0->e1", "e1->e2")  # the shorter way round
    assert ring.route("e0", "e3") == ("e0->e4", "e4->e3")
    star = system_from_dict({"engines": [{"id": "hub", "accelerator": "nvdla-256"},
                                         {"id": "a", "accelerator": "eyeriss"}, {"id": "b", "accelerator": "eyeriss"}],
                             "topology": {"kind": "point-to-point"}, "link": {"bandwidth_gb_per_s": 2},
                             "links": [{"between": ["hub", "a"]}, {"between": ["hub", "b"], "bandwidth_gb_per_s": 4}]})
    assert star.route("a", "b") == ("a->hub", "hub->b")
    assert star.link("hub->b").bandwidth_gb_per_s == 4 and star.accelerators == ("nvdla-256", "eyeriss", "eyeriss")


def test_2x2_mesh_link_loads_throughput_and_bottleneck_by_hand() -> None:
    """Tasks 0..3 on e0, e3, e1, e2; 2 GB/s (= 2 bytes/ns) links, 1 ns per hop.

    Routes: t0 e0->e3 = e0->e1, e1->e3 (400 B); t1 e3->e1 = e3->e1 (600 B);
    t2 e1->e2 = e1->e0, e0->e2 (200 B). Link times: 400/2 = 200 ns on e0->e1 and e1->e3,
    600/2 = 300 ns on e3->e1, 200/2 = 100 ns on e1->e0 and e0->e2. Engines: 100, 200, 250, 50 ns.
    Period = max(250, 300) = 300 ns on link e3->e1: 1e9/300 = 3,333,333.3 inferences/s.
    Latency = 100 + 200 + 250 + 50 (stages) + (2*1 + 200) + (1 + 300) + (2*1 + 100) = 1205 ns.
    """
    s = _mesh(2, 2)
    r = evaluate_pipeline(s, ["e0", "e3", "e1", "e2"], [100, 200, 250, 50], [0, 0, 0, 0], [400, 600, 200])
    assert r.link_load_bytes == {"e0->e1": 400, "e1->e0": 200, "e2->e3": 0, "e3->e2": 0, "e0->e2": 200,
                                 "e2->e0": 0, "e1->e3": 400, "e3->e1": 600}
    assert r.link_ns["e3->e1"] == 300 and r.link_ns["e0->e1"] == 200 and r.link_ns["e0->e2"] == 100
    assert r.period_ns == 300
    assert r.throughput_per_s == pytest.approx(1e9 / 300)
    assert (r.bottleneck, r.bottleneck_kind) == ("e3->e1", "link")
    assert r.latency_ns == pytest.approx(1205)


def test_engine_and_shared_memory_bottlenecks_by_hand() -> None:
    s = _mesh(2, 2, bw=8.0, memory=Memory(kind="per-engine", bandwidth_gb_per_s=4.0))
    # per-engine memory: e2's stage is max(50, 2000 B / 4 B/ns = 500) = 500 ns: it is the bottleneck
    r = evaluate_pipeline(s, ["e0", "e1", "e2", "e3"], [100, 200, 50, 150], [0, 0, 2000, 0], [8, 8, 8])
    assert (r.bottleneck, r.period_ns) == ("e2", 500)
    shared = _mesh(2, 2, bw=8.0, memory=Memory(kind="shared", bandwidth_gb_per_s=4.0))
    # shared: 4 x 400 B = 1600 B / 4 B/ns = 400 ns, above every engine (max 200) and link (1 ns)
    r = evaluate_pipeline(shared, ["e0", "e1", "e2", "e3"], [100, 200, 50, 150], [400] * 4, [8, 8, 8])
    assert (r.bottleneck, r.bottleneck_kind, r.period_ns) == ("memory", "memory", 400)


def _profile(times: list[float], outputs: list[int]) -> BlockProfile:
    blocks = tuple(Block(f"b{i}", (Layer(name=f"b{i}", K=k, C=1, P=1, Q=1),), k) for i, k in enumerate(outputs))
    return BlockProfile(network="toy", blocks=blocks, compute_ns={"nvdla-256": tuple(times)}, input_words=0)


def test_partitions_and_placements() -> None:
    assert even_cuts(19, 4) == (5, 10, 15)
    assert balanced_cuts((100, 100, 100, 300), 2) == (3,)  # {0,1,2} 300 | {3} 300
    assert balanced_cuts((5, 1, 1, 1, 5), 3) == (1, 4)
    assert place(_mesh(2, 3), "snake") == ("e0", "e1", "e2", "e5", "e4", "e3")


def test_alleviation_splits_the_bottleneck_engine() -> None:
    """Even split {b0,b1} | {b2,b3}: 200 vs 400 ns, engine e1 the bottleneck; moving b2 to task 0 gives 300 | 300."""
    s = mesh_system(1, 2, "nvdla-256", bandwidth_gb_per_s=1.0)
    prof = _profile([100, 100, 100, 300], [1, 1, 1, 1])
    start = NocDesign(cuts=even_cuts(4, 2), placement=("e0", "e1"))
    assert evaluate_design(s, prof, start).bottleneck == "e1"
    out = alleviate(s, prof, start)
    assert out.design.cuts == (3,)
    assert out.result.period_ns == 300
    assert out.steps[0] == "engine e1: block b2 to task 0"


def test_alleviation_passes_the_load_on_when_one_block_is_not_enough() -> None:
    """Blocks 40, 40, 40, 10, 10, 10 ns evenly on three engines: 80 | 50 | 20. Moving block b1 to task 1 gives
    40 | 90 | 20 (worse); re-balancing tasks 0..1 alone cannot beat 80; all three re-balanced: 40 | 40 | 70."""
    s = mesh_system(1, 3, "nvdla-256", bandwidth_gb_per_s=1000.0)
    prof = _profile([40, 40, 40, 10, 10, 10], [1] * 6)
    start = NocDesign(cuts=even_cuts(6, 3), placement=("e0", "e1", "e2"))
    assert evaluate_design(s, prof, start).period_ns == 80
    out = alleviate(s, prof, start)
    assert out.design.cuts == (1, 2) and out.result.period_ns == 70
    assert out.steps == ("engine e0: tasks 0..2 re-balanced",)


def test_alleviation_reroutes_a_shared_link() -> None:
    """1x4 mesh, tasks on e0, e2, e1, e3: transfers t0 (e0->e1->e2) and t2 (e1->e2->e3) share e1->e2:
    2 x 100 B / 1 B/ns = 200 ns. Re-mapping to e0, e1, e2, e3 gives every link 100 ns."""
    s = mesh_system(1, 4, "nvdla-256", bandwidth_gb_per_s=1.0)
    prof = _profile([50, 50, 50, 50], [100, 100, 100, 1])
    start = NocDesign(cuts=(1, 2, 3), placement=("e0", "e2", "e1", "e3"))
    first = evaluate_design(s, prof, start)
    assert (first.bottleneck, first.period_ns) == ("e1->e2", 200)
    out = alleviate(s, prof, start)
    assert out.result.period_ns == 100
    assert out.steps[0].startswith("link e1->e2: re-route")


def test_bad_systems_are_refused_in_one_line() -> None:
    with pytest.raises(SpecError, match=r"system.links\[0\].bandwidth_gb_per_s: must be > 0, got 0"):
        system_from_dict({"engines": {"count": 2, "accelerator": "nvdla-256"}, "topology": {"kind": "point-to-point"},
                          "links": [{"between": ["e0", "e1"], "bandwidth_gb_per_s": 0}]})
    with pytest.raises(SpecError, match=r"system.link.bandwidth_gb_per_s: must be > 0, got 0"):
        system_from_dict({"engines": {"count": 4, "accelerator": "nvdla-256"},
                          "topology": {"kind": "mesh", "rows": 2, "cols": 2}, "link": {"bandwidth_gb_per_s": 0}})
    with pytest.raises(SpecError, match=r"system.topology: disconnected, no route from engine 'e0' to engine 'e2'"):
        system_from_dict({"engines": {"count": 3, "accelerator": "nvdla-256"}, "topology": {"kind": "point-to-point"},
                          "link": {"bandwidth_gb_per_s": 1}, "links": [{"between": ["e0", "e1"]}]})
    with pytest.raises(SpecError, match=r"system.engines: 4 engines for 3 tasks"):
        evaluate_pipeline(_mesh(2, 2), ["e0", "e1", "e2"], [1, 1, 1], [0, 0, 0], [1, 1])
    with pytest.raises(SpecError, match=r"system.engines: 4 engines for 3 tasks"):
        from coexplore.system.design import initial_design

        initial_design(_mesh(2, 2), _profile([1, 1, 1], [1, 1, 1]), partition="even", placement="row-major")
