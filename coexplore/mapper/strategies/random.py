"""Random mapping search: batches of random structurally legal mappings."""

from __future__ import annotations

import numpy as np

from coexplore.mapping.encoding import MappingBatch
from coexplore.mapping.sampling import sample_candidates
from coexplore.search.strategy import Strategy
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["RandomMapper"]


class RandomMapper(Strategy):
    """Uniform-ish random mappings (see :mod:`coexplore.mapping.sampling`); learns nothing."""

    name = "random"

    def __init__(self, *, layer: Layer, accelerator: Accelerator, seed: int = 0, batch_size: int = 4096) -> None:
        self.layer = layer
        self.accelerator = accelerator
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)

    def ask(self) -> MappingBatch:
        return sample_candidates(self.layer, self.accelerator, self.batch_size, self.rng)
