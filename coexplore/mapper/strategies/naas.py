"""NAAS mapping search: importance-based encoding of a mapping in a real vector, optimised by CMA-ES.

NAAS (Lin, Yang and Han, DAC 2021) encodes non-numerical choices such as loop orders
and parallel dims as real *importance* values and sorts them, so that an evolution
strategy sampling a multivariate normal can search them alongside the tiling. The
vector layout and its decoding are in :mod:`coexplore.mapper.strategies._decode`
(most important loop outermost; unrolled dims in order of importance, each with a
share of the remaining fan-out; softmax shares of each bound over the levels;
positive keep genes keep an optional dataspace). Decoded mappings are repaired to fit
the buffers, so almost every candidate is feasible.

One driver ``ask`` is one CMA-ES population, sampled from this strategy's own generator
(:class:`._sepcma.SepCmaEs`; ``cma.CMAEvolutionStrategy`` for the full covariance).
Fitness is ``log(objective)``; an infeasible candidate ranks after every feasible one of
its population, ordered by how far it overflows capacity.

Runs and restarts (what made it beat random search at equal evaluations; measured by
``benchmarks/bench_mapper_naas.py`` on the 63 layer/accelerator rows of the optimality
benchmark, each change against random mappings in the same run):

* **Warm start** (departure: the paper does not say where the distribution starts): each
  run begins with ``init_samples`` random legal mappings, and its mean is the encoding of
  their best (:mod:`._encode`, which decodes back to that very mapping). Random vectors
  decode to mappings 1.07-1.17x worse (best of 256, geometric mean) than the random
  sampler's, most of all in array utilisation, so a run from a random mean spent its
  first thousand evaluations catching up.
* **Short runs**: a run is restarted after ``stall_generations`` generations without a
  ``min_gain`` improvement of log(objective). The encoding's landscape is made of
  plateaus (small steps decode to the same mapping) and cliffs (one share gene crossing
  a threshold halves the array's use), so a run that stalls rarely recovers; the old
  ``20 + 10 n / popsize`` generations with any improvement counting let a stuck run use
  ~1,000 evaluations.
* **Step size** ``warm_sigma`` 0.5 from an encoded mapping (0.3 changes the decoded
  mapping in too few samples; 1.0 is a random search), and a fixed population (IPOP's
  doubling and the alternating local restarts of the first version made no difference
  at equal evaluations once runs were short; both remain options).

The covariance is diagonal by default (sep-CMA-ES, Ros and Hansen 2008): on
resnet18 layer2.0.conv2 / Eyeriss it found mappings as good as the full covariance
(geometric mean over 6 seeds within 1 % at 20k and 100k evaluations) at a fraction of
the time, since the full update's eigendecompositions and products go through a
threaded BLAS that slows down badly on a busy machine. ``diagonal=False`` gives the
full covariance (``cma``). The diagonal one is our numpy implementation: the same
quality on the 63 rows at 1,000 and 5,000 evaluations as ``cma``'s (geometric mean
against random 0.949 and 0.968 for both), 5x faster (20,000 evaluations of
resnet18 layer2.0.conv2 / Eyeriss in 0.4 s instead of 1.8 s).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.mapper.strategies._decode import (
    GeneTables,
    NaasLayout,
    decode_vectors,
    gene_tables,
    naas_layout,
    overflow,
)
from coexplore.mapper.strategies._encode import encode_mappings
from coexplore.mapper.strategies._sepcma import SepCmaEs
from coexplore.mapping.encoding import MappingBatch
from coexplore.mapping.sampling import sample_candidates
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
        popsize: Population size; default ``max(4 + 3 ln n, 16)`` for n genes.
        sigma0: Step size of a run started from a random vector (genes are O(1)).
        init_samples: Random legal mappings drawn before each global run; the run's mean is
            the encoding of their best (0: the mean is a random vector).
        warm_sigma: Step size of a run started from an encoded mapping.
        max_popsize: Cap of the population, doubled at every global restart (IPOP); default
            the first population (no doubling).
        stall_generations: Restart when a run's best has not improved by ``min_gain`` (in log
            objective) for this many generations; None: ``20 + 10 n / popsize``.
        min_gain: Smallest improvement of log(objective) that counts as progress.
        share_scale: Sharpness of the tiling softmax (see ``decode_vectors``).
        min_std: Lower bound of every coordinate's standard deviation (``cma``'s ``minstd``).
        diagonal: Diagonal covariance (sep-CMA-ES) instead of a full one.
        local_restarts: Alternate global restarts with restarts around the best vector.
        local_sigma: Step size of those local restarts.
    """

    name = "naas"

    def __init__(self, *, layer: Layer, accelerator: Accelerator, seed: int = 0, popsize: int | None = None,
                 sigma0: float = 1.0, init_samples: int = 256, warm_sigma: float = 0.5,
                 max_popsize: int | None = None, stall_generations: int | None = 10, min_gain: float = 1e-3,
                 share_scale: float = 1.0, min_std: float = 0.0, diagonal: bool = True,
                 local_restarts: bool = False, local_sigma: float = 0.3) -> None:
        bad = [f"popsize: must be None or an integer >= 2, got {popsize!r}"] \
            if popsize is not None and popsize < 2 else []
        for field, v in (("sigma0", sigma0), ("warm_sigma", warm_sigma), ("local_sigma", local_sigma),
                         ("share_scale", share_scale)):
            if not v > 0:
                bad.append(f"{field}: must be > 0, got {v!r}")
        if stall_generations is not None and stall_generations < 1:
            bad.append(f"stall_generations: must be None or >= 1, got {stall_generations!r}")
        if not isinstance(init_samples, int) or init_samples < 0:
            bad.append(f"init_samples: must be an integer >= 0, got {init_samples!r}")
        if not min_gain >= 0:
            bad.append(f"min_gain: must be >= 0, got {min_gain!r}")
        if bad:
            raise SpecError(bad)
        self.layer = layer
        self.accelerator = accelerator
        self.seed = seed
        self.popsize = popsize
        self.sigma0 = sigma0
        self.init_samples = init_samples
        self.warm_sigma = warm_sigma
        self.max_popsize = max_popsize
        self.stall_generations = stall_generations
        self.min_gain = min_gain
        self.share_scale = share_scale
        self.min_std = min_std
        self.diagonal = diagonal
        self.local_restarts = local_restarts
        self.local_sigma = local_sigma
        self.rng = np.random.default_rng(seed)
        self.restarts = -1
        self._global = -1
        self._best_x: np.ndarray | None = None
        self._best_f = math.inf
        self._space: GeneTables | None = None
        self._layout: NaasLayout | None = None
        self._es: Any = None
        self._lam = 0
        self._x: np.ndarray | None = None
        self._sampling = False
        self._run_best = math.inf
        self._since_improved = 0

    @property
    def n_genes(self) -> int:
        """Length of the encoding vector."""
        return self._tables()[1].n_genes

    def _tables(self) -> tuple[GeneTables, NaasLayout]:
        if self._space is None or self._layout is None:
            self._space = gene_tables(self.layer, self.accelerator)
            self._layout = naas_layout(self._space)
        return self._space, self._layout

    def decode(self, x: np.ndarray) -> MappingBatch:
        """The repaired mappings of vectors ``x`` float (B, n_genes)."""
        space, layout = self._tables()
        return decode_vectors(space, layout, x, share_scale=self.share_scale)

    def encode(self, batch: MappingBatch) -> np.ndarray:
        """Vectors float (B, n_genes) that decode to the (legal) mappings of ``batch``."""
        space, layout = self._tables()
        return encode_mappings(space, layout, batch, share_scale=self.share_scale)

    def _first_popsize(self) -> int:
        return self.popsize or max(4 + int(3 * math.log(max(self.n_genes, 1))), 16)

    def _start(self, x0: np.ndarray, sigma: float, lam: int) -> None:
        """A fresh CMA-ES run of population ``lam`` around ``x0``."""
        self._lam = lam
        self._run_best = math.inf
        self._since_improved = 0
        if self.diagonal:
            self._es = SepCmaEs(np.asarray(x0, dtype=np.float64), sigma, lam, self.rng, min_std=self.min_std)
            return
        cma = _import_cma()
        rng = self.rng
        opts = {
            "popsize": lam, "seed": int(rng.integers(1, 2**31 - 1)), "verbose": -9,
            "randn": lambda lam, dim: rng.standard_normal((lam, dim)),
            "tolflatfitness": 10,
            # Eigendecompose the covariance every 5 generations rather than every one: the
            # default gap is < 1 generation here, and a threaded LAPACK eigh on a busy machine
            # can cost more than decoding and evaluating the whole population.
            "updatecovwait": 5, "minstd": self.min_std,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._es = cma.CMAEvolutionStrategy(np.asarray(x0, dtype=np.float64), sigma, opts)

    def _restart(self) -> MappingBatch | None:
        """Start the next run; a global run with a warm start first returns its random sample."""
        n = self.n_genes
        first = self._first_popsize()
        cap = max(self.max_popsize or first, first)
        self.restarts += 1
        local = self.local_restarts and self.restarts % 2 == 0 and self._best_x is not None
        if local:  # around the best vector so far, small steps, first population size
            self._start(np.array(self._best_x), self.local_sigma, first)
            return None
        self._global += 1  # IPOP: the population doubled for every global run
        lam = min(first * 2**self._global, cap)
        if self.init_samples > 0:
            self._lam, self._sampling, self._es = lam, True, None
            return sample_candidates(self.layer, self.accelerator, self.init_samples, self.rng)
        self._start(self.rng.standard_normal(max(n, 1)), self.sigma0, lam)
        return None

    def ask(self) -> MappingBatch:
        stall = self.stall_generations or 20 + (10 * self.n_genes) // max(self._lam, 1)
        if self._es is None or self._since_improved >= stall or self._es.stop():
            sample = self._restart()
            if sample is not None:
                return sample
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._x = np.asarray(self._es.ask(), dtype=np.float64)
        return self.decode(self._x[:, : self.n_genes])  # cma needs >= 1 gene; a layer may have none

    def tell(self, candidates: MappingBatch, evaluation: Evaluation) -> None:
        if self._sampling:  # the warm start: the run's mean is the encoding of the sample's best
            self._sampling = False
            v = np.where(evaluation.feasible, evaluation.values[:, 0], np.inf)
            i = int(np.argmin(v)) if len(v) else 0
            if len(v) and np.isfinite(v[i]) and v[i] > 0:
                x0 = self.encode(candidates.take([i]))[0]
                if math.log(v[i]) < self._best_f:
                    self._best_f, self._best_x = math.log(v[i]), x0.copy()
                self._start(np.resize(x0, max(self.n_genes, 1)), self.warm_sigma, self._lam)
            else:  # nothing legal in the sample: a random mean
                self._start(self.rng.standard_normal(max(self.n_genes, 1)), self.sigma0, self._lam)
            return
        if self._x is None or len(evaluation) != len(self._x):  # a budget-truncated last batch: nothing to learn
            self._x = None
            return
        f = self._fitness(candidates, evaluation)
        if self.diagonal:
            self._es.tell(f)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._es.tell(list(self._x), f.tolist())
        i = int(np.argmin(f))
        best = float(f[i])
        if best < self._best_f:
            self._best_f, self._best_x = best, self._x[i].copy()
        if best < self._run_best - self.min_gain:
            self._run_best = best
            self._since_improved = 0
        else:  # small gains add up until they count
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
