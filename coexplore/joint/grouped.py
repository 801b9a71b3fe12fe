"""Grouped co-design search: what the layer shapes say about prices, plus two small predictors.

Optuna's samplers see 12 categorical decisions; coexplore also knows, without pricing a
pair, which networks share a shape-count row (:mod:`coexplore.joint.shape_algebra`). This
search uses that knowledge and nothing else beyond its own evaluated pairs:

* an evaluated pair prices its whole group on that design (every network of the group
  costs the same there), and ``K`` priced groups on a design *solve* it: the EDP of every
  group on it follows exactly (6 pairs for NAS-Bench-201's 28 groups);
* the front of the whole space is made of each group's most accurate network on the
  group's cheapest design, so the search keeps, per group, the best network and the best
  design seen, and evaluates that pair as soon as it would join the front (a deduced
  pair still has to be evaluated to count);
* each further pair is an *action* on one group: a network action (the group's most
  promising unseen network, by a ridge predictor of accuracy, on the group's best design)
  or a design action (that network on a design one axis away from the group's best ones,
  ordered by a ridge predictor of log EDP), chosen by the hypervolume the action would add
  if it succeeded; a design that comes within ``slack`` of a group's best is solved.
  Small budgets start with random pairs and skip solving and group coverage.

Never read: the accuracy or cost tables outside ``evaluate`` (a test runs the search on a
problem whose tables are NaN and gets the same pairs), nor the problem's hypervolume
reference. Read without pricing: the networks' shape-count rows and live edges (their
layer shapes) and which designs the grid holds. Ablations (``networks="random"``,
``designs="random"``, ``solve=False``) replace each learned or algebraic part with random
choices at equal pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.base import JointStrategy, PairArchive
from coexplore.joint.grouped_models import design_features, grid_neighbours, network_features
from coexplore.joint.grouped_plan import BatchPlan
from coexplore.joint.problem import PairBatch
from coexplore.joint.shape_algebra import ShapeGroups, solve_design
from coexplore.search.problem import Evaluation

__all__ = ["GroupedSearch"]

CHOICES = ("model", "random")
HOPES = ("ei", "sd")


class GroupedSearch(JointStrategy):
    """Per-group best network x best design, completed from the layer-shape algebra (see the module docstring).

    Args:
        batch: Pairs per ask (default: budget / 40, 4 to 64).
        start: Designs solved first (``K`` pairs each, random networks of the basis groups; default 0 under
            500 pairs, else budget / 100, 1 to 6).
        cover: Networks of every group evaluated before groups compete for pairs by hypervolume gain
            (default 0 under 500 pairs, else 2).
        networks: ``model`` (ridge accuracy predictor) or ``random`` (a random unseen network of the group).
        designs: ``model`` (ridge log-EDP predictor per group) or ``random`` (a random unpriced design).
        solve: Solve designs from ``K`` priced groups (False: only priced cells are known).
        slack: A design priced within this factor of a group's best is solved.
        local: Design actions try the designs one axis away from the group's ``local`` best designs first.
        step: The EDP improvement a design next to a group's best is hoped to bring (its hypervolume gain).
        own: Known designs a group needs for its own EDP predictor (fewer: the pooled one of every group).
        init: Uniformly random pairs first (default: 30 % of the budget, at most 50).
        glance: Design actions also consider the predictor's ``glance`` best unknown designs anywhere.
        hope: What a network action hopes for: ``ei`` (the group's best plus the expected improvement over it)
            or ``sd`` (the prediction plus one residual standard deviation).
    """

    name = "grouped"
    costs_only = True
    transient = ("problem", "groups", "_xnet", "_xdes", "_neighbours", "_cols", "_acc", "_cell", "_obs", "_solved")

    def __init__(self, *, seed: int = 0, batch: int | None = None, start: int | None = None, cover: int | None = None,
                 networks: str = "model", designs: str = "model", solve: bool = True, slack: float = 1.02,
                 local: int = 3, step: float = 1.02, own: int = 50, init: int | None = None, glance: int = 0,
                 hope: str = "ei") -> None:
        super().__init__(seed=seed)
        bad = []
        for field, v, ok in (("batch", batch, batch is None or (isinstance(batch, int) and batch >= 1)),
                             ("start", start, start is None or (isinstance(start, int) and start >= 0)),
                             ("cover", cover, cover is None or (isinstance(cover, int) and cover >= 0)),
                             ("networks", networks, networks in CHOICES), ("designs", designs, designs in CHOICES),
                             ("solve", solve, isinstance(solve, bool)),
                             ("slack", slack, isinstance(slack, (int, float)) and slack >= 1.0),
                             ("local", local, isinstance(local, int) and local >= 1),
                             ("step", step, isinstance(step, (int, float)) and step >= 1.0),
                             ("own", own, isinstance(own, int) and own >= 2),
                             ("init", init, init is None or (isinstance(init, int) and init >= 0)),
                             ("glance", glance, isinstance(glance, int) and glance >= 0),
                             ("hope", hope, hope in HOPES)):
            if not ok:
                bad.append(f"strategy.params.{field}: invalid, got {v!r} (batch >= 1, start and cover >= 0, "
                           f"networks and designs one of {', '.join(CHOICES)}, solve a bool, slack and step >= 1, "
                           f"local >= 1, own >= 2, init and glance >= 0, hope one of {', '.join(HOPES)})")
        if bad:
            raise SpecError(bad)
        self._defaults = (batch, start, cover, init)  # None: from the budget, at setup
        self.networks, self.designs, self.solve, self.slack = networks, designs, solve, float(slack)
        self.local, self.step, self.own, self.glance = local, float(step), own, glance
        self.hope = hope
        self.archive = PairArchive()
        self.asked = 0
        self._done = False
        self.max_log_edp = 0.0  # log10 of the largest EDP evaluated (the hypervolume reference is 10x that)
        self._fits: dict[str, tuple[int, np.ndarray, float, float]] = {}  # name -> (points, weights, bias, sd)
        self._net_obs: list[tuple[int, float]] = []  # (network, accuracy) in the order learnt
        self._cell_obs: list[tuple[int, int, float]] = []  # (group, design position, EDP) in the order priced

    def setup(self, problem: Any, budget: int | None) -> None:
        super().setup(problem, budget)
        if not all(hasattr(problem, a) for a in ("counts", "hw_choices", "arch_choices", "table")):
            raise SpecError("strategy grouped: needs a problem with shape-count rows and an enumerable design grid "
                            "(space nb201)")
        if tuple(problem.objectives) != ("accuracy", "edp"):
            raise SpecError(f"objectives: strategy grouped solves designs for EDP: must be [accuracy, edp], got "
                            f"{list(problem.objectives)!r}")
        budget, (batch, start, cover, init) = self.budget, self._defaults
        self.batch = batch or int(np.clip(budget // 40, 4, 64))
        small = budget < 500  # too few pairs to solve designs or sample every group first
        self.start = start if start is not None else 0 if small else int(np.clip(budget // 100, 1, 6))
        self.cover = cover if cover is not None else 0 if small else 2
        self.init = init if init is not None else min(50, 3 * budget // 10)
        self._attach(problem)

    # -- state rebuilt from the observations (not pickled) ---------------------------------------
    def _attach(self, problem: Any) -> None:
        self.groups = ShapeGroups.of(problem.counts.counts)
        g = self.groups
        cells = problem.space.all_cells() if hasattr(problem, "space") else None
        live = np.array([c.live_edges() for c in cells]) if cells is not None else np.ones(problem.arch_choices.shape)
        self._xnet = network_features(problem.arch_choices, tuple(problem.arch_cards), live, g.monomials[g.group])
        self._cols = np.flatnonzero(problem.table.feasible)
        self._xdes = design_features(problem.hw_choices[self._cols], tuple(problem.hw_cards))
        self._neighbours = grid_neighbours(problem.hw_choices[self._cols], tuple(problem.hw_cards))
        self._acc = np.full(len(problem.arch_choices), np.nan)
        self._cell = np.full((g.n_groups, len(self._cols)), np.nan)
        self._obs = np.zeros(self._cell.shape, dtype=bool)
        self._solved = np.zeros(len(self._cols), dtype=bool)
        for n, a in self._net_obs:
            self._acc[n] = a
        for grp, pos, edp in self._cell_obs:
            self._learn_cell(grp, pos, edp)

    def fitted(self, name: str, n: int, fit: Callable[[], tuple[np.ndarray, float, float]]
               ) -> tuple[np.ndarray, float, float]:
        """Predictor ``name`` fitted on ``n`` points: refitted once its data grew by a tenth (kept in the state,
        so a resumed search predicts what the original did)."""
        old = self._fits.get(name)
        if old is None or n >= old[0] * 1.1 + 8 or n < old[0]:
            self._fits[name] = (n, *fit())
        return self._fits[name][1:]

    @property
    def finished(self) -> bool:
        return self._done

    def _learn_cell(self, grp: int, pos: int, edp: float) -> None:
        self._cell[grp, pos] = edp
        self._obs[grp, pos] = True
        if not self.solve or self._solved[pos]:
            return
        priced = np.flatnonzero(self._obs[:, pos])
        if len(priced) >= self.groups.k:
            row = solve_design(self.groups, priced, self._cell[priced, pos])
            if row is not None:
                self._cell[:, pos] = row
                self._solved[pos] = True

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        self.archive.add(candidates, evaluation)
        idx = self.problem.arch_index(candidates.arch)
        pos = np.searchsorted(self._cols, self.problem.column(candidates.hw))
        for i in np.flatnonzero(evaluation.feasible & np.isfinite(evaluation.values).all(axis=1)):
            n, p, grp = int(idx[i]), int(pos[i]), int(self.groups.group[idx[i]])
            if np.isnan(self._acc[n]):
                self._acc[n] = float(-evaluation.values[i, 0])
                self._net_obs.append((n, self._acc[n]))
            self.max_log_edp = max(self.max_log_edp, float(np.log10(evaluation.values[i, 1])))
            if not self._obs[grp, p]:
                self._cell_obs.append((grp, p, float(evaluation.values[i, 1])))
                self._learn_cell(grp, p, float(evaluation.values[i, 1]))

    # -- proposals ----------------------------------------------------------------------------
    def ask(self) -> PairBatch:
        first = not self._obs.any()
        want = max(self.batch, self.init + self.start * self.groups.k) if first else self.batch
        room = min(want, self.budget - self.asked)
        if room <= 0:
            self._done = True
            return PairBatch(np.zeros((0, len(self.problem.arch_cards)), np.int64),
                             np.zeros((0, len(self.problem.hw_cards)), np.int64))
        plan = BatchPlan(self, room)
        if first:
            plan.start()
        else:
            plan.complete()
            plan.solve()
            plan.explore()
        plan.fill_random()
        if not plan.pairs:
            self._done = True
        self.asked += len(plan.pairs)
        nets = np.array([n for n, _ in plan.pairs], dtype=np.int64)
        cols = self._cols[np.array([p for _, p in plan.pairs], dtype=np.int64)]
        if not len(nets):
            return PairBatch(np.zeros((0, len(self.problem.arch_cards)), np.int64),
                             np.zeros((0, len(self.problem.hw_cards)), np.int64))
        return self.problem.pairs(nets, cols)
