"""One batch of the grouped co-design search (:mod:`coexplore.joint.grouped`), planned pair by pair.

Phases, in order: ``start`` (the first batch: random designs solved on the basis groups),
``complete`` (each group's best network on its best design, where that pair would join the
front), ``solve`` (designs that came close to a group's best get the groups that solve
them), ``explore`` (network or design actions on the groups of largest hypervolume gain).
Per-group orders (networks by predicted accuracy, designs by predicted EDP) are computed
once per batch and consumed in order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from coexplore.joint.grouped_models import ridge_fit
from coexplore.search.pareto import hypervolume_2d, non_dominated

__all__ = ["BatchPlan"]


class BatchPlan:
    """The pairs (network, design position) of one batch, and what the batch already knows and will price."""

    def __init__(self, s: Any, room: int) -> None:
        self.s, self.room = s, room
        self.pairs: list[tuple[int, int]] = []
        self.taken: set[int] = set()
        self.pending = np.zeros(s._cell.shape, dtype=bool)  # cells this batch will price
        _, _, v = s.archive.front()
        self.front = np.column_stack([v[:, 0], np.log10(v[:, 1])]) if len(v) else np.zeros((0, 2))
        # the search's own reference (the problem's fixed one is derived from every pair's price): accuracy 0,
        # ten times the largest EDP evaluated
        self.ref = (0.0, s.max_log_edp + 1.0)
        self.hv = hypervolume_2d(self.front, self.ref) if len(self.front) else 0.0
        G = s.groups.n_groups
        cell = np.where(np.isnan(s._cell), np.inf, s._cell)
        self.best_pos = np.where(np.isfinite(cell).any(axis=1), cell.argmin(axis=1), -1)
        self.best_edp = cell.min(axis=1)
        self.best_net = np.full(G, -1, dtype=np.int64)
        self.best_acc = np.full(G, -np.inf)
        for g, m in enumerate(s.groups.members):
            a = s._acc[m]
            if not np.isnan(a).all():
                i = int(np.nanargmax(a))
                self.best_net[g], self.best_acc[g] = m[i], a[i]
        self._acc: np.ndarray | None = None
        self.acc_sd = 1.0
        self._edp: dict[int, np.ndarray] = {}
        self._pooled: np.ndarray | None = None
        self._net_order: dict[int, list[int]] = {}
        self._pos_order: dict[int, list[int]] = {}
        self._local: dict[int, set[int]] = {}  # per group: the designs next to its best ones

    # -- bookkeeping
    def full(self) -> bool:
        return len(self.pairs) >= self.room

    def add(self, net: int, pos: int) -> bool:
        s = self.s
        if self.full():
            return False
        key = s.archive.key(s.problem.arch_choices[net], s.problem.hw_choices[s._cols[pos]])
        if key in s.archive.seen:
            return False
        s.archive.seen.add(key)
        self.pairs.append((net, pos))
        self.taken.add(net)
        self.pending[s.groups.group[net], pos] = True
        return True

    def gain(self, acc: float, edp: float) -> float:
        """Hypervolume the point (accuracy, EDP) would add to the evaluated front."""
        if not (np.isfinite(acc) and np.isfinite(edp)) or edp <= 0:
            return 0.0
        p = np.array([[-acc, np.log10(edp)]])
        return max(hypervolume_2d(np.concatenate([self.front, p]), self.ref) - self.hv, 0.0)

    # -- predictors, fitted on demand (refitted as their data grows)
    def acc_pred(self) -> np.ndarray:
        if self._acc is None:
            s = self.s
            known = ~np.isnan(s._acc)
            y = s._acc[known]
            w, b, self.acc_sd = s.fitted("accuracy", int(known.sum()), lambda: ridge_fit(
                s._xnet[known], np.maximum(y, np.median(y)) if len(y) else y, alpha=3.0))
            self._acc = s._xnet @ w + b
        return self._acc

    def edp_pred(self, g: int) -> np.ndarray:
        """Predicted log10 EDP of group ``g`` on every design, a half residual standard deviation optimistic.

        A group with at least ``own`` known designs: ridge on them; else the pooled model (a group
        offset plus a design effect shared by every group: the groups rank designs alike).
        """
        if g not in self._edp:
            s = self.s
            known = ~np.isnan(s._cell[g])
            if known.sum() >= s.own:
                w, b, sd = s.fitted(f"edp{g}", int(known.sum()),
                                    lambda: ridge_fit(s._xdes[known], np.log10(s._cell[g, known]), alpha=0.3))
                self._edp[g] = s._xdes @ w + b - 0.5 * sd
            else:
                self._edp[g] = self.pooled()[g]
        return self._edp[g]

    def pooled(self) -> np.ndarray:
        """float (G, D): group offset + shared design effect, fitted on every priced cell and on the basis
        groups of every solved design (the other groups of a solved design add nothing to this model)."""
        if self._pooled is None:
            s = self.s
            use = s._obs.copy()
            use[np.ix_(s.groups.basis, s._solved)] = True
            use &= ~np.isnan(s._cell)
            gi, di = np.nonzero(use)
            G = s.groups.n_groups
            x = np.column_stack([np.eye(G)[gi], s._xdes[di]])
            w, b, sd = s.fitted("pooled", len(gi), lambda: ridge_fit(x, np.log10(s._cell[gi, di]), alpha=0.3))
            self._pooled = (w[:G] + b)[:, None] + (s._xdes @ w[G:])[None, :] - 0.5 * sd
        return self._pooled

    def hope(self, mu: float, best: float) -> float:
        """The accuracy a network predicted at ``mu`` is hoped to bring its group, whose best is ``best``:
        the best plus the expected improvement over it under the predictor's residual spread (a group of
        many unseen networks is not written off because its next one is predicted below its best, nor
        is a sparse group favoured because its prediction is optimistic). ``hope="sd"``: one residual
        standard deviation above the prediction (the ablation)."""
        sd = max(self.acc_sd, 1e-9)
        if not np.isfinite(best) or self.s.hope == "sd":
            return max(mu + sd, best)
        z = (mu - best) / sd
        ei = sd * (z * 0.5 * math.erfc(-z / math.sqrt(2.0)) + math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi))
        return best + ei

    def next_net(self, g: int, peek: bool = True) -> int:
        """The group's most promising network not evaluated (nor taken by this batch); -1 if none."""
        s = self.s
        if g not in self._net_order:
            m = s.groups.members[g]
            free = m[np.isnan(s._acc[m])]
            if s.networks == "random":
                order = free[s.rng.permutation(len(free))]
            else:
                order = free[np.argsort(-self.acc_pred()[free], kind="stable")]
            self._net_order[g] = order.tolist()[::-1]  # a stack: the best last
        stack = self._net_order[g]
        while stack and stack[-1] in self.taken:
            stack.pop()
        return stack[-1] if stack else -1

    def next_pos(self, g: int) -> int:
        """The group's most promising design whose EDP for it is unknown (nor being priced); -1 if none.

        Candidates are the designs one axis away from the group's ``local`` best known designs (the
        EDP landscape of the grid is close to unimodal along each axis), by predicted EDP; when
        they are all known, every unknown design by predicted EDP. ``designs="random"``: any
        unknown design, in a random order.
        """
        s = self.s
        if g not in self._pos_order:
            unknown = np.isnan(s._cell[g])
            if s.designs == "random":
                free = np.flatnonzero(unknown)
                order = free[s.rng.permutation(len(free))]
            else:
                known = np.flatnonzero(~unknown)
                top = known[np.argsort(s._cell[g, known], kind="stable")[:s.local]]
                nb = np.unique(s._neighbours[top].ravel())
                nb = nb[(nb >= 0)]
                nb = nb[unknown[nb]]
                pred = self.edp_pred(g)
                far = np.flatnonzero(unknown)
                far = far[np.argsort(pred[far], kind="stable")[:s.glance]]  # the predictor's own picks
                free = np.union1d(nb, far)
                order = free[np.argsort(pred[free], kind="stable")]
                self._local[g] = set(nb.tolist())
            self._pos_order[g] = order[:4 * self.room].tolist()[::-1]
        stack = self._pos_order[g]
        while stack and self.pending[g, stack[-1]]:
            stack.pop()
        return stack[-1] if stack else -1

    # -- the phases
    def start(self) -> None:
        """``init`` uniformly random pairs, then ``start`` random designs solved (random networks of the basis
        groups on each)."""
        s = self.s
        for _ in range(4 * s.init):
            if len(self.pairs) >= s.init:
                break
            self.add(int(s.rng.integers(len(s.problem.arch_choices))), int(s.rng.integers(len(s._cols))))
        for pos in s.rng.permutation(len(s._cols))[:s.start]:
            for g in s.groups.basis:
                m = s.groups.members[g]
                self.add(int(m[s.rng.integers(len(m))]), int(pos))

    def complete(self) -> None:
        """Each group's best known network on its best known design, where that pair joins the known front."""
        ok = np.flatnonzero((self.best_net >= 0) & (self.best_pos >= 0))
        if not len(ok):
            return
        pts = np.column_stack([-self.best_acc[ok], np.log10(self.best_edp[ok])])
        on = non_dominated(np.concatenate([pts, self.front]))[:len(ok)]
        for g in ok[on]:
            if self.gain(self.best_acc[g], self.best_edp[g]) > 0:
                self.add(int(self.best_net[g]), int(self.best_pos[g]))

    def solve(self) -> None:
        """Price more groups on partly priced designs that came within ``slack`` of some group's best."""
        s = self.s
        if not s.solve:
            return
        part = np.flatnonzero(s._obs.any(axis=0) & ~s._solved)
        if not len(part):
            return
        ratio = np.array([np.min(s._cell[s._obs[:, p], p] / self.best_edp[s._obs[:, p]]) for p in part])
        order = np.argsort(ratio, kind="stable")
        for p in part[order][ratio[order] <= s.slack]:
            if len(self.pairs) > self.room // 2:
                return
            for g in self._spanning(np.flatnonzero(s._obs[:, p] | self.pending[:, p]).tolist()):
                n = self.next_net(g)
                self.add(n if n >= 0 else int(self.best_net[g]) if self.best_net[g] >= 0 else
                         int(s.groups.members[g][0]), int(p))

    def _spanning(self, priced: list[int]) -> list[int]:
        """Groups to add to ``priced`` so that their monomials span all K (greedy, basis groups first)."""
        mono, k = self.s.groups.monomials, self.s.groups.k
        rank = np.linalg.matrix_rank(mono[priced], tol=1e-9) if priced else 0
        out: list[int] = []
        for g in [*self.s.groups.basis.tolist(), *range(self.s.groups.n_groups)]:
            if rank >= k:
                break
            if g in priced or g in out:
                continue
            r = np.linalg.matrix_rank(mono[[*priced, *out, g]], tol=1e-9)
            if r > rank:
                out.append(g)
                rank = r
        return out

    def explore(self) -> None:
        """Fill the batch with the network or design actions of largest hypervolume gain, group by group."""
        s = self.s
        damp = np.ones(s.groups.n_groups)
        seen = np.array([(~np.isnan(s._acc[m])).sum() for m in s.groups.members])
        for g in np.flatnonzero(seen < s.cover).tolist():  # every group's accuracy is sampled a little first
            for _ in range(int(s.cover - seen[g])):
                n, bp = self.next_net(g), int(self.best_pos[g])
                p = bp if bp >= 0 and not self.pending[g, bp] else self.next_pos(g)
                if n >= 0 and p >= 0:
                    self.add(n, p)
        acts = {g: self._action(g) for g in range(s.groups.n_groups)}
        while not self.full():
            score = np.array([a[0] * damp[g] if (a := acts[g]) else 0.0 for g in range(s.groups.n_groups)])
            top = int(np.argmax(score))
            act = acts[top]
            if score[top] <= 0 or act is None:
                return
            _, n, p = act
            damp[top] = damp[top] * 0.5 if self.add(n, p) else 0.0
            acts[top] = self._action(top)

    def _action(self, g: int) -> tuple[float, int, int] | None:
        """(gain, network, design position) of the group's better action, or None."""
        s = self.s
        bn, bp = int(self.best_net[g]), int(self.best_pos[g])
        n = self.next_net(g)
        out: tuple[float, int, int] | None = None
        if n >= 0 and bp >= 0 and not self.pending[g, bp]:  # network action
            out = (self.gain(self.hope(float(self.acc_pred()[n]), float(self.best_acc[g])), self.best_edp[g]), n, bp)
        p = self.next_pos(g)
        if p >= 0:  # design action
            use = n if n >= 0 else bn if bn >= 0 else int(s.groups.members[g][0])
            acc = self.best_acc[g] if bn >= 0 else self.acc_pred()[use]
            edp = 10 ** self.edp_pred(g)[p] if s.designs == "model" else self.best_edp[g]
            if p in self._local.get(g, ()) or s.designs == "random":  # next to the best: it may be a little better
                edp = min(edp, self.best_edp[g] / s.step)
            gd = max(self.gain(acc, edp), 1e-12)
            if out is None or gd > out[0]:
                out = (gd, use, p)
        return out

    def fill_random(self) -> None:
        """Random unseen pairs for whatever room is left (nothing promising left to try)."""
        s = self.s
        for _ in range(4 * self.room):
            if self.full():
                return
            self.add(int(s.rng.integers(len(s.problem.arch_choices))), int(s.rng.integers(len(s._cols))))
