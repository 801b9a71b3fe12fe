"""BRP-NAS (Dudziak et al., NeurIPS 2020) as an ask/tell strategy, with the variants its ablation needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.space import ArchSpace
from coexplore.search.candidates import CandidateList
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy

__all__ = ["SELECTIONS", "BrpNas"]

#: How BrpNas chooses after its random start: ``iterative`` (BRP-NAS), ``once`` (one fit on the
#: start, then the ranking's order) or ``random`` (no predictor: random completion).
SELECTIONS = ("iterative", "once", "random")

Filter = Callable[[Sequence[Any]], np.ndarray]


class BrpNas(Strategy):
    """BRP-NAS: predictor-guided search with iterative data selection.

    Round 0 queries ``initial`` random members of the pool. Every later round fits the
    predictor (binary relation GCN by default) on everything queried so far, ranks the
    unqueried pool and queries ``batch`` of them: the ``exploit`` share from the very top,
    the rest sampled from the next ``top_k`` (BRP-NAS trains on top-ranked models, so the
    predictor sharpens where the search needs it). ``selection`` switches the learned parts
    off for ablations: ``"once"`` fits once on the random start and then queries the pool in
    that ranking's order, ``"random"`` continues with random pool members.

    Reproducibility: a seed gives the same queries on any machine, thread count and run.
    It did not while the predictors trained in float32 (a seeded run queried other networks
    on another CPU, because float32 rounding differs between CPU kernels and training
    amplifies it, and torch's initialisation itself rounds differently per CPU kernel); they
    now train in float64 from a numpy-drawn initialisation (:data:`coexplore.predict._nets.DTYPE`).

    Departures from BRP-NAS (the paper and its reference code, SamsungLabs/eagle):

    * Latency constraint: the caller's latency evaluator prunes the pool exactly (in the
      benchmarks a measured table); BRP-NAS predicts latency with its GCN and filters on the
      prediction, and starts the accuracy predictor from the latency predictor's weights.
    * Predictor: :class:`~coexplore.predict.brp.BRPPredictor`, 128 hidden units instead of
      600, propagation along and against the edges with a sum readout, 100 epochs of Adam
      at 1e-3 (the reference: AdamW at 3.5e-4 with a cosine schedule and early stopping),
      one logit per ordered pair with binary cross-entropy (the reference: two outputs and a
      KL-divergence loss), trained afresh every round rather than continued.
    * Ranking: each pool member's mean win probability against a seeded sample of 256 pool
      members; the reference sorts the pool with the predictor as the comparison.
    * Data selection: rounds of ``batch`` (10) = ``exploit`` (half) from the top of the
      ranking + the rest uniformly from the next ``top_k`` (100); the reference halves the
      candidate set at the predicted median every round, adds the best-ranked unseen half
      and a random half from the remaining candidates, and grows epochs and batch size
      with the rounds.

    Args:
        pool: The architectures to rank (default: every valid one if the space has at
            most 200,000 decision tuples, else 20,000 samples).
        pool_filter: Drops infeasible pool members before ranking (e.g. the problem's
            latency screen), so no query is wasted on them.
        predictor_params: Hyper-parameters of the predictor (default for ``brp``: 100
            epochs, which ranks as well as 200 on NB201 at half the fitting time).
        selection: ``"iterative"`` (BRP-NAS), ``"once"`` or ``"random"``, see above.
    """

    name = "brp"

    def __init__(self, *, space: ArchSpace[Any], seed: int = 0, predictor: str = "brp", initial: int = 10,
                 batch: int = 10, exploit: float = 0.5, top_k: int = 100, pool: Sequence[Any] | None = None,
                 pool_filter: Filter | None = None, predictor_params: dict[str, Any] | None = None,
                 selection: str = "iterative") -> None:
        bad = [f"brp.{k}: must be > 0, got {v!r}" for k, v in (("initial", initial), ("batch", batch),
                                                                ("top_k", top_k)) if not v > 0]
        if not 0 <= exploit <= 1:
            bad.append(f"brp.exploit: must be in [0, 1], got {exploit!r}")
        if selection not in SELECTIONS:
            bad.append(f"brp.selection: must be one of {', '.join(SELECTIONS)}, got {selection!r}")
        if bad:
            raise SpecError(bad)
        self.space, self.seed, self.predictor_name = space, seed, predictor
        self.initial, self.batch, self.exploit, self.top_k = initial, batch, exploit, top_k
        self.selection = selection
        self.predictor_params = dict(predictor_params if predictor_params is not None else
                                     ({"epochs": 100} if predictor == "brp" else {}))
        self.rng = np.random.default_rng(seed)
        self._pool_arg, self._filter = pool, pool_filter
        self._pool: list[Any] | None = None
        self._features: Any = None
        self._queried: dict[int, float] = {}  # pool position -> value (minimised)
        self._asked: set[int] = set()
        self._ranking: np.ndarray | None = None  # selection "once": the pool in predicted order
        self._round = 0

    def _build_pool(self) -> None:
        if self._pool_arg is not None:
            pool = list(self._pool_arg)
        elif self.space.size <= 200_000:
            pool = [a for a in (self.space.from_choices(c) for c in np.ndindex(*self.space.cardinalities))
                    if self.space.problem(a) is None]
        else:
            pool = self.space.sample(self.rng, 20_000)
        pool = list(dict.fromkeys(pool))
        if self._filter is not None:
            keep = np.asarray(self._filter(pool), dtype=bool)
            pool = [a for a, k in zip(pool, keep, strict=True) if k]
        if not pool:
            raise SpecError("brp: no architecture of the pool meets the constraints")
        self._pool = pool
        self._features = self.space.features(pool)

    @property
    def finished(self) -> bool:
        return self._pool is not None and len(self._asked) >= len(self._pool)

    def ask(self) -> CandidateList:
        if self._pool is None:
            self._build_pool()
        assert self._pool is not None
        free = np.array([i for i in range(len(self._pool)) if i not in self._asked], dtype=np.int64)
        if len(free) == 0:
            return CandidateList()
        if len(self._queried) < 2 or self._round == 0:
            pick = self.rng.choice(free, size=min(self.initial, len(free)), replace=False)
        elif self.selection == "random":
            pick = self.rng.choice(free, size=min(self.batch, len(free)), replace=False)
        elif self.selection == "once":
            if self._ranking is None:
                self._ranking = free[np.argsort(-self._scores(free), kind="stable")]
            pick = np.array([i for i in self._ranking if int(i) not in self._asked][:self.batch], dtype=np.int64)
        else:
            scores = self._scores(free)
            order = free[np.argsort(-scores, kind="stable")]
            n_top = min(len(order), round(self.exploit * self.batch))
            rest = order[n_top: n_top + self.top_k]
            n_rest = min(len(rest), self.batch - n_top)
            pick = np.concatenate([order[:n_top], self.rng.choice(rest, size=n_rest, replace=False)])
        self._round += 1
        self._asked.update(int(i) for i in pick)
        self._last = [int(i) for i in pick]
        return CandidateList(self._pool[i] for i in self._last)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the pool's features (rebuilt on demand) and the filter (used once, at the start)."""
        state = dict(self.__dict__)
        state["_features"], state["_filter"] = None, None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("selection", "iterative")  # pickled before selection existed
        state.setdefault("_ranking", None)
        self.__dict__.update(state)

    def _scores(self, free: np.ndarray) -> np.ndarray:
        """Predicted goodness (higher = better) of the unqueried pool members."""
        from coexplore.predict import make_predictor

        if self._features is None and self._pool is not None:
            self._features = self.space.features(self._pool)
        done = np.array(sorted(self._queried), dtype=np.int64)
        y = -np.array([self._queried[i] for i in done])  # higher is better
        model = make_predictor(self.predictor_name, seed=self.seed + self._round, **self.predictor_params)
        model.fit(self._features.take(done), y)
        return np.asarray(model.predict(self._features.take(free)), dtype=np.float64)

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        for i, v, ok in zip(self._last, evaluation.values[:, 0], evaluation.feasible, strict=False):
            if ok and np.isfinite(v):
                self._queried[i] = float(v)
