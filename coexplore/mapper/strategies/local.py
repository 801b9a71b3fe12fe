"""The default mapper: random sampling, then a beam of local searches, then re-tiling jumps.

Random mappings find the right region quickly (the cost kernel evaluates a million per
second); local moves (see :mod:`._mutate`) then polish the best few: each round every
beam member proposes ``moves`` neighbours, and the best distinct mappings of beam plus
neighbours form the next beam. After ``patience`` rounds without improvement, the best
mappings of the leading spatial unrollings get their whole re-tiling neighbourhood
(:mod:`._retile`: every split of one or two dimensions over the levels); if that finds
something better the local search resumes from it, otherwise the search stops.
"""

from __future__ import annotations

import numpy as np

from coexplore.mapper.strategies._mutate import neighbours
from coexplore.mapper.strategies._retile import retilings
from coexplore.mapping.encoding import MappingBatch, concat
from coexplore.mapping.sampling import sample_candidates
from coexplore.mapping.validate import level_tables
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["LocalSearchMapper"]

_HASH = np.random.default_rng(12345).random(512) + 0.5  # fixed weights to fingerprint factor arrays


class LocalSearchMapper(Strategy):
    """Sample, beam-search until ``patience`` runs out, re-tile the ``polish`` best unrollings (``polish_cap`` rows)."""

    name = "default"

    def __init__(self, *, layer: Layer, accelerator: Accelerator, seed: int = 0, samples: int = 8192,
                 beam: int = 24, moves: int = 96, patience: int = 5, starts: int = 1, polish: int = 1,
                 polish_cap: int = 8192) -> None:
        self.layer = layer
        self.accelerator = accelerator
        self.rng = np.random.default_rng(seed)
        self.samples, self.beam_size, self.moves, self.patience = samples, beam, moves, patience
        self._beam: MappingBatch | None = None
        self._beam_values = np.zeros(0)
        self._stale = 0
        self._phase = "sample"
        self._starts_left = starts - 1
        self.polish, self.polish_cap = polish, polish_cap
        self._free = np.flatnonzero(~level_tables(accelerator).container)
        self._done = False

    def ask(self) -> MappingBatch:
        if self._phase == "sample":
            return sample_candidates(self.layer, self.accelerator, self.samples, self.rng)
        assert self._beam is not None
        if self._phase == "polish":  # the beam starts with the best of each spatial unrolling
            m = max(1, min(self.polish, len(self._beam)))
            return concat([retilings(self._beam, j, self._free, self.polish_cap // m) for j in range(m)])
        reps = self._beam.take(np.repeat(np.arange(len(self._beam)), self.moves))  # a fresh copy
        # two moves for half of them: escapes plateaus where one move is never enough
        return neighbours(reps, self.accelerator, self.rng, inplace=True, twice=len(reps) // 2)

    def tell(self, candidates: MappingBatch, evaluation: Evaluation) -> None:
        values = evaluation.values[:, 0]
        # only the best few of a batch can enter the beam: cut before copying anything
        keep_n = min(len(values), 8 * self.beam_size)
        top = np.argpartition(values, keep_n - 1)[:keep_n] if keep_n < len(values) else np.arange(len(values))
        candidates, values = candidates.take(top), values[top]
        if self._beam is None:
            pool, pool_v = candidates, values
        else:
            pool = self._beam.concat(candidates)
            pool_v = np.concatenate([self._beam_values, values])
        finite = np.flatnonzero(np.isfinite(pool_v))
        if len(finite) == 0:
            return
        # distinct values only, so the beam does not collapse onto one mapping; and first the
        # best of each spatial unrolling, so several basins are searched
        order = finite[np.argsort(pool_v[finite], kind="stable")]
        _, first = np.unique(pool_v[order], return_index=True)
        order = order[np.sort(first)]
        flat = np.concatenate([pool.spatial_x[order].reshape(len(order), -1),
                               pool.spatial_y[order].reshape(len(order), -1)], axis=1)
        sig = np.log(flat.astype(np.float64)) @ _HASH[: flat.shape[1]]  # one number per spatial unrolling
        _, lead = np.unique(np.round(sig, 9), return_index=True)
        lead = np.sort(lead)[: self.beam_size // 2]
        rest = np.setdiff1d(np.arange(len(order)), lead, assume_unique=True)
        chosen = order[np.concatenate([lead, rest[: self.beam_size - len(lead)]])]
        best_before = self._beam_values.min() if len(self._beam_values) else np.inf
        self._beam, self._beam_values = pool.take(chosen), pool_v[chosen]
        improved = self._beam_values.min() < best_before * (1 - 1e-9)
        phase, self._phase = self._phase, "search"
        if phase == "search":
            self._stale = 0 if improved else self._stale + 1
            if self._stale >= self.patience:
                self._phase = "polish" if self.polish > 0 else self._end_of_start()
        elif phase == "polish":
            if improved:
                self._stale = 0
            else:
                self._phase = self._end_of_start()

    def _end_of_start(self) -> str:
        """The next phase once a start has converged: an independent restart, or done."""
        if self._starts_left > 0:
            self._starts_left -= 1
            self._beam, self._beam_values, self._stale = None, np.zeros(0), 0
            return "sample"
        self._done = True
        return "search"

    @property
    def finished(self) -> bool:
        return self._done
