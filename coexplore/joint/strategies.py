"""Joint strategies: the seed talks' co-design methods, and the baselines they are compared with.

Every strategy proposes :class:`~coexplore.joint.problem.PairBatch` es through the ask/tell
protocol, so the study driver runs, stores and resumes all of them alike. Sources (talks
in ``../shared/seeds``):

* ``codesign-nas`` (seed 002, Codesign-NAS, Samsung): every pair, enumerated with
  vectorised cost sums, and the exact Pareto front (:class:`CodesignNas`).
* ``naas`` (seed 001, NAAS, MIT): accelerator outer loop by CMA-ES over an importance
  encoding, network inner loop by evolution, mapper innermost (:class:`NaasNested`).
* ``fnas`` (seed 000, FNAS, Notre Dame): a REINFORCE controller sampling network and
  hardware decisions together; the problem prunes candidates that miss the timing
  spec before any accuracy evaluation (:class:`FnasController`).
* baselines named in those talks: ``sequential`` (NAS for accuracy, then the best
  hardware for that network), ``hw-aware-nas`` (NAS on a fixed accelerator), ``random``.

``dance`` (seed 003) lives in :mod:`coexplore.joint.dance` (it needs torch).

A strategy holds its problem for decoding and vectorised work but does not pickle it:
the study rebuilds the problem and calls :meth:`JointStrategy.reattach`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.problem import PairBatch
from coexplore.search.pareto import non_dominated
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy

__all__ = ["CodesignNas", "FnasController", "GridCoords", "HwAwareNas", "JointStrategy", "NaasNested", "RandomPairs",
           "Sequential", "mutate_rows"]


def mutate_rows(rows: np.ndarray, cards: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Each row with one decision changed to another value (NB201: one edge's operation)."""
    out = np.array(rows, dtype=np.int64, copy=True)
    c = np.array(cards)
    pos = rng.integers(len(cards), size=len(out))
    shift = 1 + (rng.random(len(out)) * (c[pos] - 1)).astype(np.int64)
    out[np.arange(len(out)), pos] = (out[np.arange(len(out)), pos] + shift) % c[pos]
    return out


class GridCoords:
    """Feasible designs of a grid problem as points: array X and Y, a dataflow, buffer size positions.

    A genome (NAAS's accelerator vector, DANCE's generated hardware) is in [0, 1]^g: X and
    Y (scaled to the grid's largest side), one *importance* per dataflow (the largest
    wins, as NAAS encodes which loop dimensions are parallel), and one position per sized
    level. :meth:`nearest` decodes genomes to the closest feasible design.
    """

    def __init__(self, problem: Any) -> None:
        grid, cards = problem.grid, problem.hw_cards
        self.columns = np.flatnonzero(problem.table.feasible)
        h = problem.hw_choices[self.columns]
        side = max(max(x, y) for x, y in grid.arrays)
        xy = np.array(grid.arrays, dtype=np.float64) / side
        self.n_dataflows = cards[1]
        self.points = np.column_stack([xy[h[:, 0]], *[h[:, k] / max(cards[k] - 1, 1) for k in range(2, len(cards))]])
        self.dataflow = h[:, 1]

    @staticmethod
    def genes(problem: Any) -> int:
        return 2 + problem.hw_cards[1] + len(problem.hw_cards) - 2

    def features(self, columns: np.ndarray) -> np.ndarray:
        """The genome of table ``columns`` (dataflow importance one-hot), float (n, g)."""
        pos = np.searchsorted(self.columns, columns)
        onehot = np.eye(self.n_dataflows)[self.dataflow[pos]]
        return np.column_stack([self.points[pos, :2], onehot, self.points[pos, 2:]])

    def nearest(self, genomes: np.ndarray) -> np.ndarray:
        """Table column of the feasible design nearest to each genome (L1, a dataflow mismatch costs 10)."""
        g = np.atleast_2d(np.asarray(genomes, dtype=np.float64))
        want = np.argmax(g[:, 2:2 + self.n_dataflows], axis=1)
        coords = np.column_stack([g[:, :2], g[:, 2 + self.n_dataflows:]])
        out = np.empty(len(g), dtype=np.int64)
        for i in range(len(g)):
            dist = np.abs(self.points - coords[i]).sum(axis=1) + 10.0 * (self.dataflow != want[i])
            out[i] = self.columns[int(np.argmin(dist))]
        return out


class JointStrategy(Strategy):
    """Shared plumbing: the problem (not pickled), the seeded generator, the budget."""

    def __init__(self, problem: Any, *, seed: int = 0, budget: int = 1000) -> None:
        if not isinstance(budget, int) or budget < 1:
            raise SpecError(f"budget: must be an integer >= 1, got {budget!r}")
        self.problem, self.rng, self.budget = problem, np.random.default_rng(seed), budget
        self.pairs_evaluated = 0  # what the strategy priced itself (vectorised), beyond its proposals

    #: attributes rebuilt from the problem on :meth:`reattach`, so checkpoints stay small
    transient: tuple[str, ...] = ("problem",)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for k in self.transient:
            state[k] = None
        return state

    def reattach(self, problem: Any) -> None:
        self.problem = problem
        self._attach(problem)

    def _attach(self, problem: Any) -> None:
        """Rebuild what :attr:`transient` left out of the pickle (default: nothing)."""

    def _random_archs(self, n: int) -> np.ndarray:
        return np.column_stack([self.rng.integers(c, size=n) for c in self.problem.arch_cards]).astype(np.int64)

    def _random_hw(self, n: int) -> np.ndarray:
        sampler = getattr(self.problem, "sample_hw", None)
        if sampler is not None:
            return np.asarray(sampler(self.rng, n), dtype=np.int64)
        return np.column_stack([self.rng.integers(c, size=n) for c in self.problem.hw_cards]).astype(np.int64)


class RandomPairs(JointStrategy):
    """Uniform random pairs (feasible designs where the problem can sample them)."""

    name = "random"

    def __init__(self, problem: Any, *, seed: int = 0, budget: int = 1000, batch: int = 100) -> None:
        super().__init__(problem, seed=seed, budget=budget)
        self.batch = batch

    def ask(self) -> PairBatch:
        return PairBatch(self._random_archs(self.batch), self._random_hw(self.batch))


class CodesignNas(JointStrategy):
    """Exhaustive co-design: price every pair (vectorised over the cost table) and propose the exact front.

    With a budget below the number of pairs, it prices a uniformly drawn subset of
    ``budget`` distinct pairs instead (what an enumeration cut short can do without
    favouring one end of the space) and proposes that subset's front.
    """

    name = "codesign-nas"

    def __init__(self, problem: Any, *, seed: int = 0, budget: int = 1000) -> None:
        super().__init__(problem, seed=seed, budget=budget)
        if not hasattr(problem, "exact_front"):
            raise SpecError("strategy codesign-nas: needs an enumerable problem (space nb201 on a design grid)")
        if budget >= problem.n_pairs:
            problem.exact_front  # noqa: B018 - computed now: unsupported objectives fail before the study starts
        self._done = False

    @property
    def finished(self) -> bool:
        return self._done

    @property
    def exhaustive(self) -> bool:
        return self.pairs_evaluated >= self.problem.n_pairs

    def ask(self) -> PairBatch:
        p = self.problem
        self._done = True
        if self.budget >= p.n_pairs:
            f = p.exact_front
            self.pairs_evaluated = p.n_pairs
            return p.pairs(f.network, f.design)  # the front's designs are table columns
        ids = self.rng.choice(p.n_pairs, size=self.budget, replace=False)
        arch, col = ids // len(p.designs), ids % len(p.designs)
        ev = p.evaluate(p.pairs(arch, col))
        self.pairs_evaluated = self.budget
        ok = np.flatnonzero(ev.feasible)
        keep = ok[non_dominated(ev.values[ok])] if len(ok) else ok
        return p.pairs(arch[keep], col[keep])


class _Archive:
    """The non-dominated pairs evaluated so far (kept up to date batch by batch) and the keys of every proposal."""

    def __init__(self) -> None:
        self.arch = np.zeros((0, 0), np.int64)
        self.hw = np.zeros((0, 0), np.int64)
        self.values = np.zeros((0, 0))
        self.seen: set[bytes] = set()

    def add(self, cands: PairBatch, ev: Evaluation) -> None:
        """Merge the feasible pairs of a batch: the front of (front + batch) is the front of everything."""
        ok = ev.feasible & np.isfinite(ev.values).all(axis=1)
        if not ok.any():
            return
        if len(self.values):
            arch, hw = np.concatenate([self.arch, cands.arch[ok]]), np.concatenate([self.hw, cands.hw[ok]])
            values = np.concatenate([self.values, ev.values[ok]])
        else:
            arch, hw, values = cands.arch[ok], cands.hw[ok], ev.values[ok]
        keep = non_dominated(values)
        self.arch, self.hw, self.values = arch[keep], hw[keep], values[keep]

    def key(self, arch: np.ndarray, hw: np.ndarray) -> bytes:
        return arch.tobytes() + b"|" + hw.tobytes()

    def fresh(self, arch: np.ndarray, hw: np.ndarray) -> np.ndarray:
        """Mask of rows not proposed before (and not repeated within the batch); marks them seen."""
        out = np.zeros(len(arch), dtype=bool)
        for i in range(len(arch)):
            k = self.key(arch[i], hw[i])
            if k not in self.seen:
                self.seen.add(k)
                out[i] = True
        return out

    def front(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.arch, self.hw, self.values


def _fill(strategy: JointStrategy, archive: _Archive, arch: np.ndarray, hw: np.ndarray,
          tries: int = 20) -> PairBatch:
    """``arch``/``hw`` with repeats of earlier proposals replaced by mutants (then random networks)."""
    arch, hw = arch.copy(), hw.copy()
    todo = np.flatnonzero(~archive.fresh(arch, hw))
    for t in range(tries):
        if len(todo) == 0:
            break
        arch[todo] = mutate_rows(arch[todo], strategy.problem.arch_cards, strategy.rng) if t < tries // 2 else \
            strategy._random_archs(len(todo))
        todo = todo[~archive.fresh(arch[todo], hw[todo])]
    keep = np.setdiff1d(np.arange(len(arch)), todo)
    return PairBatch(arch[keep], hw[keep])


class HwAwareNas(JointStrategy):
    """Hardware-aware NAS: networks searched on one fixed accelerator (the template preset itself).

    Multi-objective evolution: children are one-edge mutants of networks on the current
    front of the evaluated networks, plus a share of random networks; every network is
    evaluated at most once, and the search ends when every network has been seen.
    """

    name = "hw-aware-nas"

    def __init__(self, problem: Any, *, seed: int = 0, budget: int = 1000, batch: int = 20,
                 random_share: float = 0.2, initial: int = 20) -> None:
        super().__init__(problem, seed=seed, budget=budget)
        if not hasattr(problem, "reference_column"):
            raise SpecError("strategy hw-aware-nas: needs a problem with a reference accelerator (a design grid)")
        self.batch, self.random_share, self.initial = batch, random_share, initial
        self.hw = problem.hw_choices[problem.reference_column]
        self.archive = _Archive()
        self.n_archs = int(np.prod(problem.arch_cards))
        self.done = False

    @property
    def finished(self) -> bool:
        return self.done

    def ask(self) -> PairBatch:
        a, _, v = self.archive.front()
        n = self.initial if len(v) == 0 else self.batch
        if len(v) == 0:
            arch = self._random_archs(n)
        else:
            parents = a[self.rng.integers(len(a), size=n)]
            arch = mutate_rows(parents, self.problem.arch_cards, self.rng)
            r = self.rng.random(n) < self.random_share
            arch[r] = self._random_archs(int(r.sum()))
        out = _fill(self, self.archive, arch, np.repeat(self.hw[None], n, axis=0))
        if len(out) == 0 and len(self.archive.seen) >= self.n_archs:
            self.done = True
        return out

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        self.archive.add(candidates, evaluation)


class Sequential(JointStrategy):
    """NAS first, hardware second: the most accurate network, then the best accelerators for it.

    Phase 1 (``nas_share`` of the budget) is regularised evolution on accuracy alone, with
    networks evaluated on the template accelerator; phase 2 evaluates the most accurate
    network found on designs in a random order, until the budget or the designs run out.
    """

    name = "sequential"

    def __init__(self, problem: Any, *, seed: int = 0, budget: int = 1000, nas_share: float = 0.5,
                 population: int = 50, sample: int = 10, batch: int = 10) -> None:
        super().__init__(problem, seed=seed, budget=budget)
        if not hasattr(problem, "reference_column"):
            raise SpecError("strategy sequential: needs a problem with a reference accelerator (a design grid)")
        if not 0 < nas_share < 1:
            raise SpecError(f"strategy.params.nas_share: must be in (0, 1), got {nas_share!r}")
        self.nas_evals = max(1, min(int(nas_share * budget), int(np.prod(problem.arch_cards))))
        self.population, self.sample, self.batch = population, sample, batch
        self.hw = problem.hw_choices[problem.reference_column]
        self.archive = _Archive()
        self.pop_arch: list[np.ndarray] = []
        self.pop_acc: list[float] = []
        self.asked = 0
        self.best: tuple[float, np.ndarray] | None = None
        self.order: np.ndarray | None = None
        self.pos = 0

    @property
    def finished(self) -> bool:
        return self.order is not None and self.pos >= len(self.order)

    def ask(self) -> PairBatch:
        if self.asked < self.nas_evals:
            n = min(self.batch, self.nas_evals - self.asked)
            if len(self.pop_arch) < self.population:
                arch = self._random_archs(n)
            else:
                arch = np.empty((n, len(self.problem.arch_cards)), dtype=np.int64)
                for i in range(n):
                    pick = self.rng.choice(len(self.pop_arch), size=self.sample, replace=False)
                    arch[i] = self.pop_arch[int(pick[np.argmax(np.array(self.pop_acc)[pick])])]
                arch = mutate_rows(arch, self.problem.arch_cards, self.rng)
            out = _fill(self, self.archive, arch, np.repeat(self.hw[None], n, axis=0))
            self.asked += max(len(out), 1)
            return out
        if self.order is None:
            ok = np.flatnonzero(self.problem.table.feasible)
            self.order = ok[self.rng.permutation(len(ok))]
        cols = self.order[self.pos:self.pos + 256]
        self.pos += len(cols)
        arch = np.repeat(self.best[1][None] if self.best is not None else self._random_archs(1), len(cols), axis=0)
        return PairBatch(arch, self.problem.hw_choices[cols])

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        if self.order is not None:
            return
        acc = -evaluation.values[:, 0]
        for i in range(len(candidates)):
            if not np.isfinite(acc[i]):
                continue
            self.pop_arch.append(candidates.arch[i])
            self.pop_acc.append(float(acc[i]))
            if self.best is None or acc[i] > self.best[0]:
                self.best = (float(acc[i]), candidates.arch[i].copy())
        while len(self.pop_arch) > self.population:  # regularised evolution: the oldest dies
            self.pop_arch.pop(0)
            self.pop_acc.pop(0)


class NaasNested(JointStrategy):
    """NAAS's nested co-search: CMA-ES proposes accelerators, an evolution finds networks for each.

    The accelerator vector is a :class:`GridCoords` genome (array sides, one importance
    per dataflow, buffer sizes), decoded to the nearest feasible design of the space. For
    every accelerator of a CMA-ES population, ``inner_generations`` generations of ``inner``
    networks are evaluated (mutants of the best networks found so far on any accelerator,
    and random ones); the accelerator's fitness is the hypervolume of its own (accuracy,
    EDP) pairs (or the best scalarised value for other objectives). The mapper is
    innermost: in the cost table.
    ``inner`` defaults to what gives about 8 CMA-ES generations within the budget.
    """

    name = "naas"
    transient = ("problem", "coords")

    def __init__(self, problem: Any, *, seed: int = 0, budget: int = 1000, popsize: int = 8,
                 inner: int | None = None, inner_generations: int = 2, random_share: float = 0.25) -> None:
        from coexplore.search.vector import CmaEs

        super().__init__(problem, seed=seed, budget=budget)
        if not hasattr(problem, "hw_choices"):
            raise SpecError("strategy naas: needs a problem with an enumerable accelerator grid")
        # default: about 8 outer generations within the budget, 4 to 32 networks per accelerator and generation
        self.inner = inner or max(4, min(32, budget // (popsize * inner_generations * 8)))
        self.inner_generations, self.random_share = inner_generations, random_share
        self.dim = GridCoords.genes(problem)
        self.outer = CmaEs(dim=self.dim, seed=int(self.rng.integers(2**31 - 1)), popsize=popsize)
        self._attach(problem)
        self.archive = _Archive()
        self._x: np.ndarray | None = None
        self._cols: np.ndarray | None = None
        self._gen = 0
        self._per_design: list[list[tuple[np.ndarray, np.ndarray]]] = []

    def _attach(self, problem: Any) -> None:
        self.coords = GridCoords(problem)

    def ask(self) -> PairBatch:
        if self._cols is None:
            self._x = self.outer.ask().x
            self._cols = self.coords.nearest(self._x)
            self._gen = 0
            self._per_design = [[] for _ in self._cols]
        a, _, v = self.archive.front()
        n = self.inner
        arch_parts, hw_parts, owner = [], [], []
        for j, col in enumerate(self._cols):
            mine = self._per_design[j]
            if self._gen > 0 and mine:
                pa = np.concatenate([m[0] for m in mine])
                pv = np.concatenate([m[1] for m in mine])
                keep = non_dominated(pv) if len(pv) else np.zeros(0, bool)
                parents = pa[keep] if keep.any() else pa
            else:
                parents = a if len(v) else np.zeros((0, len(self.problem.arch_cards)), np.int64)
            if len(parents):
                arch = mutate_rows(parents[self.rng.integers(len(parents), size=n)], self.problem.arch_cards, self.rng)
                r = self.rng.random(n) < self.random_share
                arch[r] = self._random_archs(int(r.sum()))
            else:
                arch = self._random_archs(n)
            hw = np.repeat(self.problem.hw_choices[col][None], n, axis=0)
            batch = _fill(self, self.archive, arch, hw)
            arch_parts.append(batch.arch)
            hw_parts.append(batch.hw)
            owner += [j] * len(batch)
        self._owner = np.array(owner, dtype=np.int64)
        return PairBatch(np.concatenate(arch_parts), np.concatenate(hw_parts))

    def _fitness(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
        """Minimised: minus the design's hypervolume (or minus its best scalarised value)."""
        if not pairs:
            return math.inf
        v = np.concatenate([p[1] for p in pairs])
        if len(v) == 0:
            return math.inf
        objs = self.problem.objectives
        if objs == ("accuracy", "edp"):
            return -self.problem.hypervolume(-v[:, 0], v[:, 1])
        return float(np.min(v[:, 0] / 100.0 + 0.1 * np.log10(np.maximum(v[:, 1:], 1e-30)).mean(axis=1)))

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        self.archive.add(candidates, evaluation)
        if self._cols is None:
            return
        ok = evaluation.feasible & np.isfinite(evaluation.values).all(axis=1)
        owner = self._owner[:len(candidates)]
        for j in range(len(self._cols)):
            m = (owner == j) & ok
            if m.any():
                self._per_design[j].append((candidates.arch[m], evaluation.values[m]))
        self._gen += 1
        if self._gen >= self.inner_generations:
            from coexplore.search.vector import VectorBatch

            f = np.array([self._fitness(p) for p in self._per_design])
            feasible = np.isfinite(f)
            assert self._x is not None
            self.outer.tell(VectorBatch(self._x), Evaluation(values=np.where(feasible, f, np.inf)[:, None],
                                                             feasible=feasible))
            self._cols = None


class FnasController(JointStrategy):
    """FNAS's controller: REINFORCE over every network and hardware decision at once.

    One softmax policy per decision (the network's, then the hardware's), ``batch``
    samples per step. Reward: accuracy / 100 minus ``weight`` x the mean of the cost
    objectives' log values, scaled to [0, 1] by the smallest and largest seen; a pair the
    problem rejects (timing spec missed and pruned before accuracy evaluation, or
    resources exceeded) gets reward -1, as FNAS gives pruned children a fixed penalty.
    """

    name = "fnas"

    def __init__(self, problem: Any, *, seed: int = 0, budget: int = 1000, batch: int = 8, lr: float = 0.2,
                 baseline_decay: float = 0.9, weight: float = 0.5) -> None:
        super().__init__(problem, seed=seed, budget=budget)
        self.cards = (*problem.arch_cards, *problem.hw_cards)
        self.n_arch = len(problem.arch_cards)
        self.logits = [np.zeros(c) for c in self.cards]
        self.batch, self.lr, self.decay, self.weight = batch, lr, baseline_decay, weight
        self.baseline: float | None = None
        self.lo: np.ndarray | None = None
        self.hi: np.ndarray | None = None

    def probabilities(self) -> list[np.ndarray]:
        from coexplore.nas.strategies import softmaxes

        return softmaxes(self.logits)

    def ask(self) -> PairBatch:
        probs = self.probabilities()
        rows = np.column_stack([self.rng.choice(len(p), size=self.batch, p=p) for p in probs]).astype(np.int64)
        return PairBatch(rows[:, :self.n_arch], rows[:, self.n_arch:])

    def rewards(self, evaluation: Evaluation) -> np.ndarray:
        v = evaluation.values
        ok = evaluation.feasible & np.isfinite(v).all(axis=1)
        r = np.full(len(v), -1.0)
        if not ok.any():
            return r
        logc = np.log10(np.maximum(v[ok, 1:], 1e-30))
        lo, hi = logc.min(axis=0), logc.max(axis=0)
        self.lo = lo if self.lo is None else np.minimum(self.lo, lo)
        self.hi = hi if self.hi is None else np.maximum(self.hi, hi)
        scaled = (logc - self.lo) / np.maximum(self.hi - self.lo, 1e-9)
        r[ok] = -v[ok, 0] / 100.0 - self.weight * (scaled.mean(axis=1) if scaled.shape[1] else 0.0)
        return r

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        r = self.rewards(evaluation)
        rows = np.concatenate([candidates.arch, candidates.hw], axis=1)
        probs = self.probabilities()
        mean = float(r.mean())
        self.baseline = mean if self.baseline is None else self.decay * self.baseline + (1 - self.decay) * mean
        adv = r - self.baseline
        for k, p in enumerate(probs):
            grad = np.zeros_like(p)
            for i in range(len(rows)):
                onehot = np.zeros_like(p)
                onehot[rows[i, k]] = 1.0
                grad += adv[i] * (onehot - p)
            self.logits[k] = self.logits[k] + self.lr * grad / max(len(rows), 1)
