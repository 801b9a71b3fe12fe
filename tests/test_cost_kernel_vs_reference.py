"""The closed-form kernel must give exactly the counts of the literal tile walk."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from coexplore.cost.model import evaluate
from coexplore.cost.reference import reference_counts
from coexplore.mapping.mapping import LevelMapping, Mapping
from coexplore.spec.dims import DATASPACES, DIMS
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel
from coexplore.spec.workload import Layer


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@st.composite
def cases(draw):  # type: ignore[no-untyped-def]
    layer = Layer(
        N=draw(st.sampled_from([1, 2])), K=draw(st.sampled_from([1, 2, 4])),
        C=draw(st.sampled_from([1, 2, 3, 4])), P=draw(st.sampled_from([1, 2, 3, 4, 6])),
        Q=draw(st.sampled_from([1, 2, 3])), R=draw(st.sampled_from([1, 2, 3])),
        S=draw(st.sampled_from([1, 2, 3])),
        stride=(draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 2]))),
        dilation=(draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 3]))),
        # quantized half of the time: narrow words pack several to an access (levels are 8 bits x 1..4)
        **({f: draw(st.sampled_from([2, 3, 4, 8])) for f in ("weight_bits", "input_bits", "output_bits")}
           if draw(st.booleans()) else {}),
    )
    n_levels = draw(st.integers(2, 4))
    # instances: innermost largest; mesh sizes chosen so every fan-out is 1..4 per axis
    fan = [(draw(st.sampled_from([1, 2, 4])), draw(st.sampled_from([1, 2, 3]))) for _ in range(n_levels)]
    fan[-1] = (draw(st.sampled_from([1, 2, 4])), draw(st.sampled_from([1, 2])))
    mesh = [(1, 1)] * n_levels
    mx, my = 1, 1
    for i in range(n_levels - 1, -1, -1):
        mesh[i] = (mx, my)
        mx, my = mx * fan[i][0], my * fan[i][1]
    levels = []
    for i in range(n_levels):
        container = 0 < i < n_levels - 1 and draw(st.booleans()) and draw(st.booleans())
        n_inst = mesh[i][0] * mesh[i][1]
        cluster = draw(st.sampled_from([c for c in (1, 2, 3, 4, 8) if n_inst % c == 0]))
        levels.append(MemoryLevel(
            name=f"L{i}", size_words=0 if container else None, instances=n_inst,
            mesh_x=mesh[i][0], mesh_y=mesh[i][1], block_size_words=draw(st.sampled_from([1, 2, 4])),
            cluster_size=cluster,
            keeps=frozenset() if container else frozenset(DATASPACES),
            multicast=draw(st.booleans()),
            read_energy_pj=draw(st.floats(0.1, 5)), write_energy_pj=draw(st.floats(0.1, 5)),
            update_energy_pj=draw(st.floats(0.1, 5)), leakage_pj_per_cycle=draw(st.floats(0, 0.01)),
            technology_class="container" if container else "sram",
        ))
    acc = Accelerator(name="h", levels=tuple(levels), mac=MacUnit(instances=mx * my, mesh_x=mx, mesh_y=my,
                                                                  energy_pj=1.0))
    # random assignment of each prime factor of each bound to a slot
    bounds = layer.bounds()
    temporal = np.ones((n_levels, 8), dtype=int)
    sx = np.ones((n_levels, 8), dtype=int)
    sy = np.ones((n_levels, 8), dtype=int)
    for d_i, d in enumerate(DIMS):
        for p in _prime_factors(bounds[d]):
            lvl = draw(st.integers(0, n_levels - 1))
            kind = draw(st.sampled_from(["t", "t", "x", "y"]))
            if levels[lvl].is_container:
                kind = draw(st.sampled_from(["x", "y"]))
            (temporal if kind == "t" else sx if kind == "x" else sy)[lvl, d_i] *= p
    lms = []
    for i in range(n_levels):
        keep = frozenset(DATASPACES) if i == n_levels - 1 else (
            frozenset() if levels[i].is_container else
            frozenset(ds for ds in DATASPACES if draw(st.booleans())))
        lms.append(LevelMapping(
            temporal=tuple(int(x) for x in temporal[i]), order=tuple(draw(st.permutations(DIMS))),
            spatial_x=tuple(int(x) for x in sx[i]), spatial_y=tuple(int(x) for x in sy[i]), keep=keep,
        ))
    return layer, acc, Mapping(levels=tuple(lms))


@settings(max_examples=300, deadline=None)
@given(cases(), st.booleans())
def test_kernel_equals_reference(case, resets):  # type: ignore[no-untyped-def]
    layer, acc, mapping = case
    ref = reference_counts(layer, acc, mapping, stationary_step_resets=resets)
    got = evaluate(layer, acc, mapping, check=False, stationary_step_resets=resets)
    assert got.compute_cycles == ref.cycles
    for i, lv in enumerate(got.levels):
        assert lv.utilized_instances == ref.utilized_instances[i]
        for ds, c in lv.dataspaces.items():
            assert (c.reads, c.fills, c.updates) == ref.counts[(i, ds)], (lv.name, ds)
    assert np.isclose(got.energy_pj, ref.energy_pj, rtol=1e-9)
