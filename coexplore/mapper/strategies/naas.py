"""NAAS mapping search: importance-based encoding of a mapping in a real vector, optimised by CMA-ES.

NAAS (Lin, Yang and Han, DAC 2021) encodes non-numerical choices such as loop orders
and parallel dims as real *importance* values and sorts them, so that an evolution
strategy sampling a multivariate normal can search them alongside the tiling. The
vector layout and its decoding are in :mod:`coexplore.mapper.strategies._decode`
(most important loop outermost; positive spatial importance unrolls a dim, most
important first, with the largest factor that fits; softmax shares of each bound
over the levels; positive keep genes keep an optional dataspace). Decoded mappings
are repaired to fit the buffers, so almost every candidate is feasible.

One driver ``ask`` is one CMA-ES population (``cma.CMAEvolutionStrategy``, seeded and
fed by this strategy's own generator). Fitness is ``log(objective)``; an infeasible
candidate ranks after every feasible one of its population, ordered by how far it
overflows capacity. A run that stops (``cma``'s own criteria) or stalls restarts from a
fresh random mean with twice the population (IPOP), up to ``max_popsize``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from coexplore.mapper.strategies._decode import MapSpace, NaasLayout, decode_vectors, map_space, naas_layout, overflow
from coexplore.mapping.encoding import MappingBatch
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["NaasMapper"]


def _import_cma() -> Any:
    with warnings.catch_warnings():  # cma warns when matplotlib is missing; plotting is not used
        warnings.simplefilter("ignore")
        import cma
    return cma


class NaasMapper(Strategy):
    """CMA-ES with restarts over NAAS's importance-based mapping vectors.

    Args:
        layer: The layer to map.
        accelerator: The hardware.
        seed: Seed of every random choice (CMA-ES samples included).
        popsize: First population size; default ``max(4 + 3 ln n, 16)`` for n genes.
        sigma0: Initial step size (genes are O(1): importances, log-share weights, keep signs).
        max_popsize: Cap of the population doubling at restarts; default 8 x the first.
        stall_generations: Restart when a run's best has not improved for this many
            generations; default ``20 + 10 n / popsize``.
        share_scale: Sharpness of the tiling softmax (see ``decode_vectors``).
    """

    name = "naas"

    def __init__(self, *, layer: Layer, accelerator: Accelerator, seed: int = 0, popsize: int | None = None,
                 sigma0: float = 1.0, max_popsize: int | None = None, stall_generations: int | None = None,
                 share_scale: float = 1.0) -> None:
        self.layer = layer
        self.accelerator = accelerator
        self.seed = seed
        self.popsize = popsize
        self.sigma0 = sigma0
        self.max_popsize = max_popsize
        self.stall_generations = stall_generations
        self.share_scale = share_scale
        self.rng = np.random.default_rng(seed)
        self.restarts = -1
        self._space: MapSpace | None = None
        self._layout: NaasLayout | None = None
        self._es: Any = None
        self._lam = 0
        self._x: np.ndarray | None = None
        self._run_best = math.inf
        self._since_improved = 0

    @property
    def n_genes(self) -> int:
        """Length of the encoding vector."""
        return self._tables()[1].n_genes

    def _tables(self) -> tuple[MapSpace, NaasLayout]:
        if self._space is None or self._layout is None:
            self._space = map_space(self.layer, self.accelerator)
            self._layout = naas_layout(self._space)
        return self._space, self._layout

    def decode(self, x: np.ndarray) -> MappingBatch:
        """The repaired mappings of vectors ``x`` float (B, n_genes)."""
        space, layout = self._tables()
        return decode_vectors(space, layout, x, share_scale=self.share_scale)

    def _restart(self) -> None:
        cma = _import_cma()
        n = self.n_genes
        first = self.popsize or max(4 + int(3 * math.log(max(n, 1))), 16)
        cap = self.max_popsize or 8 * first
        self.restarts += 1
        self._lam = min(first * 2**self.restarts, max(cap, first))
        rng = self.rng
        opts = {
            "popsize": self._lam, "seed": int(rng.integers(1, 2**31 - 1)), "verbose": -9,
            "randn": lambda lam, dim: rng.standard_normal((lam, dim)),
            "tolflatfitness": 10, "CMA_diagonal": n > 200,
        }
        x0 = rng.standard_normal(max(n, 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._es = cma.CMAEvolutionStrategy(x0, self.sigma0, opts)
        self._run_best = math.inf
        self._since_improved = 0

    def ask(self) -> MappingBatch:
        stall = self.stall_generations or 20 + (10 * self.n_genes) // max(self._lam, 1)
        if self._es is None or self._since_improved >= stall or self._es.stop():
            self._restart()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._x = np.asarray(self._es.ask(), dtype=np.float64)
        return self.decode(self._x)

    def tell(self, candidates: MappingBatch, evaluation: Evaluation) -> None:
        if self._x is None or len(evaluation) != len(self._x):  # a budget-truncated last batch: nothing to learn
            self._x = None
            return
        f = self._fitness(candidates, evaluation)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._es.tell(list(self._x), f.tolist())
        best = float(f.min())
        if best < self._run_best - 1e-9 * max(1.0, abs(self._run_best)):
            self._run_best = best
            self._since_improved = 0
        else:
            self._since_improved += 1
        self._x = None

    def _fitness(self, candidates: MappingBatch, evaluation: Evaluation) -> np.ndarray:
        """log(objective); infeasible after the worst feasible, ranked by capacity overflow."""
        v = evaluation.values[:, 0]
        ok = evaluation.feasible & np.isfinite(v) & (v > 0)
        f = np.empty(len(v))
        f[ok] = np.log(v[ok])
        if not ok.all():
            bad = ~ok
            base = float(f[ok].max()) if ok.any() else 0.0
            over = overflow(self.layer, self.accelerator, candidates.take(np.flatnonzero(bad)))
            f[bad] = base + 1.0 + np.log(np.maximum(over, 1.0))
        return f
