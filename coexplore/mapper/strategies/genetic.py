"""GAMMA-style genetic mapping search (Kao and Krishna, ICCAD 2020).

A genome is a mapping itself, per level: the tile factors, the loop order, the spatially
unrolled dims and the kept dataspaces (one row of a :class:`MappingBatch`). Each
generation keeps the ``elite`` best genomes and breeds the rest of the population:
parents by tournament, then

* crossover (probability ``p_crossover``): each dim takes its factors at every level
  (temporal and spatial) from one parent, each level its loop order and keep choices
  from one parent;
* tile mutation: move a prime factor of a dim from one temporal level to another;
* order mutation: swap two loops of a level;
* parallel mutation: at a level and axis with a fan-out, take one prime of a dim back
  from the array, or give it one or more primes of the dim's temporal factors, or
  replace another unrolled dim by it, which then takes as much of the fan-out as it can;
* keep mutation: flip an optional dataspace of a level.

Children are repaired (:func:`~coexplore.mapper.strategies._decode.repair`): fan-out
first, then capacity. One driver ``ask`` is one generation's children; the first is
the initial population, drawn with :func:`~coexplore.mapping.sampling.sample_legal`.
A fraction ``immigrants`` of each generation's children are fresh random legal
mappings instead (random immigrants, not in GAMMA): without them the best barely
improves after the first 20k evaluations, and on resnet18 layer2.0.conv2 / Eyeriss
10 % immigrants gave slightly better mappings at 20k and 100k evaluations.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from coexplore.errors import SpecError
from coexplore.mapper.strategies._decode import GeneTables, gene_tables, repair
from coexplore.mapping.encoding import MappingBatch
from coexplore.mapping.sampling import sample_legal
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["GeneticMapper"]

_FIELDS = ("temporal", "order", "spatial_x", "spatial_y", "keep")


class GeneticMapper(Strategy):
    """A GAMMA-like genetic algorithm over mapping genomes.

    Args:
        layer: The layer to map.
        accelerator: The hardware.
        seed: Seed of every random choice.
        population_size: Genomes per generation (children per generation = population - elite).
        elite: Best genomes carried over unchanged.
        tournament: Tournament size of parent selection.
        p_crossover: Chance that a child mixes two parents (else it copies one).
        p_tile, p_order, p_parallel, p_keep: Chance of each mutation per child.
        immigrants: Fraction of each generation's children drawn at random instead of bred.
    """

    name = "genetic"

    def __init__(self, *, layer: Layer, accelerator: Accelerator, seed: int = 0, population_size: int = 128,
                 elite: int = 8, tournament: int = 3, p_crossover: float = 0.7, p_tile: float = 0.7,
                 p_order: float = 0.4, p_parallel: float = 0.3, p_keep: float = 0.1,
                 immigrants: float = 0.1) -> None:
        bad = [f"population_size: must be an integer >= 2, got {population_size!r}"] if population_size < 2 else []
        if not 0 <= elite < population_size:
            bad.append(f"elite: must be >= 0 and < population_size ({population_size}), got {elite!r}")
        if tournament < 1:
            bad.append(f"tournament: must be >= 1, got {tournament!r}")
        for field, p in (("p_crossover", p_crossover), ("p_tile", p_tile), ("p_order", p_order),
                         ("p_parallel", p_parallel), ("p_keep", p_keep), ("immigrants", immigrants)):
            if not 0.0 <= p <= 1.0:
                bad.append(f"{field}: must be a probability in [0, 1], got {p!r}")
        if bad:
            raise SpecError(bad)
        self.layer = layer
        self.accelerator = accelerator
        self.population_size = population_size
        self.elite = elite
        self.tournament = tournament
        self.p_crossover = p_crossover
        self.p_tile = p_tile
        self.p_order = p_order
        self.p_parallel = p_parallel
        self.p_keep = p_keep
        self.immigrants = immigrants
        self.rng = np.random.default_rng(seed)
        self.generation = 0
        self._space: GeneTables | None = None
        self._pop: MappingBatch | None = None
        self._fit = np.zeros(0)

    def _tables(self) -> GeneTables:
        if self._space is None:
            self._space = gene_tables(self.layer, self.accelerator)
        return self._space

    def ask(self) -> MappingBatch:
        if self._pop is None:
            return sample_legal(self.layer, self.accelerator, self.population_size, seed=self.rng)
        space = self._tables()
        n_child = max(self.population_size - self.elite, 1)
        pa, pb = self._select(n_child), self._select(n_child)
        child = {f: np.ascontiguousarray(getattr(self._pop, f)[pa]) for f in _FIELDS}
        other = {f: np.ascontiguousarray(getattr(self._pop, f)[pb]) for f in _FIELDS}
        probs = np.array([self.p_crossover, self.p_tile, self.p_order, self.p_parallel, self.p_keep])
        _breed(int(self.rng.integers(0, 2**32)), probs, space.bounds, space.slots, space.up, space.fanout,
               space.allowed, space.keeps, space.must_keep, child["temporal"], child["spatial_x"],
               child["spatial_y"], child["order"], child["keep"], other["temporal"], other["spatial_x"],
               other["spatial_y"], other["order"], other["keep"])
        out = repair(space, MappingBatch(**child))
        n_imm = int(self.immigrants * n_child)
        if n_imm:
            imm = sample_legal(self.layer, self.accelerator, n_imm, seed=self.rng)
            out = out.take(np.arange(n_child - n_imm)).concat(imm)
        return out

    def _select(self, n: int) -> np.ndarray:
        """Tournament selection: ``n`` indices into the population (lower fitness wins)."""
        k = max(1, min(self.tournament, len(self._fit)))
        draws = self.rng.integers(0, len(self._fit), size=(n, k))
        return draws[np.arange(n), np.argmin(self._fit[draws], axis=1)]

    def tell(self, candidates: MappingBatch, evaluation: Evaluation) -> None:
        v = evaluation.values[:, 0]
        fit = np.where(evaluation.feasible & np.isfinite(v), v, np.inf)
        if self._pop is None:
            pop, allfit = candidates, fit
        else:
            keep = np.argsort(self._fit, kind="stable")[: self.elite]
            pop = self._pop.take(keep).concat(candidates)
            allfit = np.concatenate([self._fit[keep], fit])
        top = np.argsort(allfit, kind="stable")[: self.population_size]
        self._pop, self._fit = pop.take(top), allfit[top]
        self.generation += 1


@njit(cache=True, nogil=True)
def _holders(temporal, b, slots, m, d, src):  # pragma: no cover - compiled
    """Write into ``src`` the levels (among the first ``m`` slots) whose temporal factor of d is > 1."""
    cnt = 0
    for j in range(m):
        if temporal[b, slots[j], d] > 1:
            src[cnt] = slots[j]
            cnt += 1
    return cnt


@njit(cache=True, nogil=True)
def _rand_prime(n):  # pragma: no cover - compiled
    """A uniformly chosen prime factor (with multiplicity) of ``n`` > 1."""
    cnt = 0
    m = n
    p = 2
    while p * p <= m:
        while m % p == 0:
            cnt += 1
            m //= p
        p += 1
    if m > 1:
        cnt += 1
    pick = np.random.randint(0, cnt)
    m = n
    p = 2
    while p * p <= m:
        while m % p == 0:
            if pick == 0:
                return p
            pick -= 1
            m //= p
        p += 1
    return m


@njit(cache=True, nogil=True)
def _breed(seed, probs, bounds, slots, up, fanout, allowed, keeps, must_keep,
           temporal, sx, sy, order, keep, o_temporal, o_sx, o_sy, o_order, o_keep):  # pragma: no cover - compiled
    """Crossover with the second parents (``o_*``) and mutation, in place on the children."""
    np.random.seed(seed)
    n, n_lv, nd = temporal.shape
    m = slots.shape[0]
    active = np.empty(nd, np.int64)
    n_act = 0
    for d in range(nd):
        if bounds[d] > 1:
            active[n_act] = d
            n_act += 1
    axes = np.empty((2 * n_lv, 2), np.int64)
    n_axes = 0
    for lv in range(n_lv):
        for a in range(2):
            ok = False
            for d in range(nd):
                ok = ok or (allowed[lv, a, d] and bounds[d] > 1)
            if fanout[lv, a] > 1 and ok:
                axes[n_axes, 0] = lv
                axes[n_axes, 1] = a
                n_axes += 1
    opt = np.empty((3 * n_lv, 2), np.int64)
    n_opt = 0
    for lv in range(n_lv - 1):
        for k in range(3):
            if keeps[lv, k] and not must_keep[lv, k]:
                opt[n_opt, 0] = lv
                opt[n_opt, 1] = k
                n_opt += 1
    src = np.empty(n_lv, np.int64)
    pos = np.empty(nd, np.int64)
    for b in range(n):
        if np.random.random() < probs[0]:
            for d in range(nd):
                if np.random.random() < 0.5:
                    for lv in range(n_lv):
                        temporal[b, lv, d] = o_temporal[b, lv, d]
                        sx[b, lv, d] = o_sx[b, lv, d]
                        sy[b, lv, d] = o_sy[b, lv, d]
            for lv in range(n_lv):
                if np.random.random() < 0.5:
                    for k in range(nd):
                        order[b, lv, k] = o_order[b, lv, k]
                if np.random.random() < 0.5:
                    for k in range(3):
                        keep[b, lv, k] = o_keep[b, lv, k]
        if n_act == 0:
            continue
        if np.random.random() < probs[1] and m > 1:
            moves = 1
            while np.random.random() < 0.3:
                moves += 1
            for _ in range(moves):
                d = active[np.random.randint(0, n_act)]
                cnt = _holders(temporal, b, slots, m, d, src)
                if cnt == 0:
                    continue
                s = src[np.random.randint(0, cnt)]
                t = slots[np.random.randint(0, m)]
                if t == s:
                    continue
                p = _rand_prime(temporal[b, s, d])
                temporal[b, s, d] //= p
                temporal[b, t, d] *= p
        if np.random.random() < probs[2]:
            lv = slots[np.random.randint(0, m)]
            cnt = 0
            for k in range(nd):
                if bounds[order[b, lv, k]] > 1:
                    pos[cnt] = k
                    cnt += 1
            if cnt >= 2:
                i = np.random.randint(0, cnt)
                j = np.random.randint(0, cnt - 1)
                j = j + 1 if j >= i else j
                a, c = pos[i], pos[j]
                order[b, lv, a], order[b, lv, c] = order[b, lv, c], order[b, lv, a]
        if np.random.random() < probs[3] and n_axes > 0:
            r = np.random.randint(0, n_axes)
            lv, a = axes[r, 0], axes[r, 1]
            sp = sx if a == 0 else sy
            home = up[lv]
            prod = 1
            for d in range(nd):
                prod *= sp[b, lv, d]
            d = active[np.random.randint(0, n_act)]
            mode = np.random.randint(0, 3)
            if mode == 0 and sp[b, lv, d] > 1:  # give one prime back to the temporal loops
                p = _rand_prime(sp[b, lv, d])
                sp[b, lv, d] //= p
                temporal[b, home, d] *= p
            elif allowed[lv, a, d]:
                if mode == 2:  # replace: empty another unrolled dim, then fill the array with d
                    cnt = 0
                    for e in range(nd):
                        if e != d and sp[b, lv, e] > 1:
                            pos[cnt] = e
                            cnt += 1
                    if cnt > 0:
                        e = pos[np.random.randint(0, cnt)]
                        temporal[b, home, e] *= sp[b, lv, e]
                        prod //= sp[b, lv, e]
                        sp[b, lv, e] = 1
                continue_ok = True
                while continue_ok:  # grow d one prime at a time from random temporal levels
                    cnt = _holders(temporal, b, slots, m, d, src)
                    if cnt == 0:
                        break
                    s = src[np.random.randint(0, cnt)]
                    p = _rand_prime(temporal[b, s, d])
                    if prod * p > fanout[lv, a]:
                        break
                    temporal[b, s, d] //= p
                    sp[b, lv, d] *= p
                    prod *= p
                    continue_ok = mode == 2 or np.random.random() < 0.5
        if np.random.random() < probs[4] and n_opt > 0:
            r = np.random.randint(0, n_opt)
            keep[b, opt[r, 0], opt[r, 1]] = not keep[b, opt[r, 0], opt[r, 1]]
