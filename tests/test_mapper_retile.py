"""The re-tiling neighbourhood of the default mapper, and the cost kernel's row mask it relies on."""

from __future__ import annotations

import numpy as np

from coexplore.cost.model import evaluate_batch
from coexplore.mapper.strategies._retile import retilings
from coexplore.mapping.factors import n_factorizations
from coexplore.mapping.sampling import sample_legal
from coexplore.presets.accelerators import get_accelerator
from coexplore.spec.workload import parse_layer_spec


def _setup():  # type: ignore[no-untyped-def]
    acc = get_accelerator("shidiannao")
    layer = parse_layer_spec("K=8,C=6,P=4,Q=4,R=3,S=3", name="small")
    batch = sample_legal(layer, acc, 4, seed=3)
    free = np.arange(len(acc.levels))
    return acc, layer, batch, free


def test_retilings_keep_totals_and_everything_but_temporal_factors() -> None:
    _, _, batch, free = _setup()
    out = retilings(batch, 2, free, cap=1 << 20)
    assert np.array_equal(out.temporal.prod(axis=1), np.repeat(batch.temporal[2].prod(axis=0)[None], len(out), 0))
    for name in ("order", "spatial_x", "spatial_y", "keep"):
        assert (getattr(out, name) == getattr(batch, name)[2]).all()
    # the mapping itself is one of its re-tilings
    assert (out.temporal == batch.temporal[2]).all(axis=(1, 2)).any()


def test_retilings_size_is_singles_plus_pairs_and_respects_the_cap() -> None:
    _, _, batch, free = _setup()
    totals = batch.temporal[0].prod(axis=0)
    counts = [n_factorizations(int(t), len(free)) for t in totals if t > 1]
    groups = sorted(counts + [a * b for i, a in enumerate(counts) for b in counts[i + 1:]])
    assert len(retilings(batch, 0, free, cap=1 << 20)) == sum(groups)
    cap = sum(groups) // 2
    expected = max(int(c) for c in np.cumsum(groups) if c <= cap)  # smallest groups first, while they fit
    assert len(retilings(batch, 0, free, cap=cap)) == expected


def test_kernel_skips_rows_that_are_not_valid() -> None:
    acc, layer, batch, _ = _setup()
    full = evaluate_batch(layer, acc, batch, detail=False)
    mask = np.array([True, False, True, False])
    part = evaluate_batch(layer, acc, batch, detail=False, valid=mask)
    assert np.array_equal(part.energy_pj[mask], full.energy_pj[mask])
    assert np.isinf(part.energy_pj[~mask]).all()
