"""Which cells to measure on a new device: a few well-spread cells teach a cost table more than random ones.

With 10-20 measurements, a random sample of NAS-Bench-201 rarely contains the cells on which
runtimes disagree most (constant networks, which a converter folds to almost nothing;
convolutions whose input or output is multiplied by zero), so an adapted model never sees
them. ``diverse`` picks cells by greedy farthest-point (k-centre) selection in the space of
standardised graph counts, optionally extended by the known devices' predicted log latencies,
so the sample covers every kind of cell the cost table distinguishes; ``random`` is the
baseline it is compared with (``benchmarks/bench_predictor_transfer.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from coexplore.errors import SpecError
from coexplore.predict.features import ArchFeatures
from coexplore.predict.transfer import DeviceCostTable

__all__ = ["SELECTION_STRATEGIES", "select_cells"]

SELECTION_STRATEGIES = ("diverse", "random")


def _embedding(features: ArchFeatures, sources: Sequence[DeviceCostTable]) -> np.ndarray:
    counts = features.require("graph_counts", "select_cells").astype(np.float64)
    cols = [counts]
    for s in sources:
        pred = s.predict(counts)
        cols.append(np.log(np.clip(pred, 1e-3 * float(np.median(np.abs(pred))) + 1e-12, None))[:, None])
    x = np.concatenate(cols, axis=1)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def select_cells(features: ArchFeatures, n: int, *, strategy: str = "diverse", seed: int = 0,
                 sources: Sequence[DeviceCostTable] = ()) -> np.ndarray:
    """Positions (into ``features``) of ``n`` distinct cells to measure, in the order chosen.

    Args:
        features: the candidate cells (e.g. every NB201 isomorphism representative).
        n: how many to pick, 1..len(features).
        strategy: ``diverse`` (farthest-point in graph counts and known devices' predictions,
            starting from a seeded random cell) or ``random`` (seeded uniform sample).
        sources: known devices' cost tables, whose predictions extend the ``diverse`` space.
    """
    if strategy not in SELECTION_STRATEGIES:
        raise SpecError(f"selection strategy: must be one of {', '.join(SELECTION_STRATEGIES)}, got {strategy!r}")
    total = len(features)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= total:
        raise SpecError(f"selection count: must be an integer in 1..{total} (the candidates), got {n!r}")
    rng = np.random.default_rng(seed)
    if strategy == "random":
        return np.asarray(rng.choice(total, size=int(n), replace=False), dtype=np.int64)
    x = _embedding(features, sources)
    chosen = [int(rng.integers(total))]
    dist = np.linalg.norm(x - x[chosen[0]], axis=1)
    for _ in range(int(n) - 1):
        dist[chosen] = -1.0
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(x - x[nxt], axis=1))
    return np.asarray(chosen, dtype=np.int64)
