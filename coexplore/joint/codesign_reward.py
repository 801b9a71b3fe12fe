"""Codesign-NAS's reward: a weighted sum of normalised metrics under constraints, and its exact optimum.

Abdelfattah et al. (DAC 2020) turn the multi-objective co-design problem into one reward per
(network, accelerator) pair: a weighted sum of the pair's metrics (accuracy, latency, area,
perf/area) when every constraint holds, and a punishment when one is violated, so that the
controller is pulled back toward the constrained region. Here:

* a weighted metric is normalised to [0, 1], higher is better: accuracy / 100; latency, area,
  energy and perf/area in log10, scaled by the smallest and largest value seen so far (no
  knowledge of the space's range is assumed);
* the punishment is minus (0.9 x the sum of the relative violations, capped at 1, plus 0.1 x
  the shortfall of the pair's score from 1) (:data:`MISS_SCORE`; a pair that is not a design
  of the space gets -1), so any pair meeting the constraints beats any pair that does not, a
  nearer miss beats a farther one of equal score, and misses still rank by the objective: in
  the phase search, the side that cannot fix a violation (the accelerator, when the network
  misses the accuracy floor) still has something to learn;
* a constraint may name a reference cell instead of a number (``resnet``, ``googlenet``):
  the cell's accuracy, or its latency, area or perf/area on the accelerator of the space
  that gives it the highest perf/area (the paper compares with ResNet and GoogLeNet cells
  "on their most optimal accelerator").

:func:`constrained_optimum` enumerates the exact optimum of a one-metric reward over every
pair (by the cost groups of :mod:`coexplore.joint.front`), the yardstick of the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.front import group_networks, perf_per_area

__all__ = ["CONSTRAINTS", "MISS_SCORE", "REFERENCE_CELLS", "REWARD_METRICS", "ConstrainedOptimum", "Reward",
           "constrained_optimum", "reference_metrics"]

#: Share of a missing pair's punishment that is its score's shortfall: misses are still ranked by
#: the objective (the side of the pair that cannot fix the violation, e.g. the accelerator when the
#: network is not accurate enough, still learns), always below every pair that meets the constraints.
MISS_SCORE = 0.1
#: Metrics a reward may weigh, with +1 where higher is better.
REWARD_METRICS = {"accuracy": 1.0, "perf_per_area": 1.0, "latency": -1.0, "area": -1.0, "energy": -1.0}
#: Constraint -> (metric column of :meth:`NB201GridProblem.metrics`, +1 for a floor, -1 for a ceiling).
CONSTRAINTS = {"min_accuracy": ("accuracy", 1.0), "max_latency_cycles": ("latency_cycles", -1.0),
               "max_area_mm2": ("area_mm2", -1.0), "min_perf_per_area": ("perf_per_area", 1.0)}
_COLUMN = {"accuracy": "accuracy", "perf_per_area": "perf_per_area", "latency": "latency_cycles",
           "area": "area_mm2", "energy": "energy_pj"}
#: NAS-Bench-201 cells closest to the paper's reference CNNs. ResNet: NB201's own ResNet cell (two 3x3
#: convolutions and the skip). GoogLeNet: an Inception module's branches (1x1; 1x1 then 3x3; pool then 1x1)
#: summed at the output node, as NB201 sums where Inception concatenates.
REFERENCE_CELLS = {
    "resnet": "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
    "googlenet": "|nor_conv_1x1~0|+|avg_pool_3x3~0|none~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_1x1~2|",
}


def reference_metrics(problem: Any, cell: str) -> dict[str, Any]:
    """The metrics of reference ``cell`` on its highest-perf/area design of ``problem`` (first of ties)."""
    if cell not in REFERENCE_CELLS:
        raise SpecError(f"reference cell: must be one of {', '.join(REFERENCE_CELLS)}, got {cell!r}")
    from coexplore.nas.nb201 import parse_cell

    idx = problem.space.index(parse_cell(REFERENCE_CELLS[cell]))
    cols = np.flatnonzero(problem.table.feasible)
    m = problem.metrics(problem.pairs(np.full(len(cols), idx), cols))
    best = int(np.argmax(m["perf_per_area"]))
    return {"cell": cell, "arch": REFERENCE_CELLS[cell], "arch_index": int(idx), "column": int(cols[best]),
            **{k: float(v[best]) for k, v in m.items()}}


@dataclass(frozen=True, slots=True, kw_only=True)
class Reward:
    """Weights (metric -> weight >= 0, at least one > 0) and constraints (name -> resolved limit)."""

    weights: dict[str, float]
    constraints: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        errs = [f"weights.{k}: unknown metric; valid: {', '.join(REWARD_METRICS)}" for k in self.weights
                if k not in REWARD_METRICS]
        errs += [f"weights.{k}: must be a number >= 0, got {v!r}" for k, v in self.weights.items()
                 if k in REWARD_METRICS and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0)]
        if not errs and not any(v > 0 for v in self.weights.values()):
            errs.append(f"weights: at least one weight must be > 0, got {dict(self.weights)!r}")
        errs += [f"{k}: unknown constraint; valid: {', '.join(CONSTRAINTS)}" for k in self.constraints
                 if k not in CONSTRAINTS]
        errs += [f"{k}: must be a number > 0, got {v!r}" for k, v in self.constraints.items()
                 if k in CONSTRAINTS and not (isinstance(v, (int, float)) and v > 0)]
        if errs:
            raise SpecError(errs)

    @staticmethod
    def resolve(problem: Any, weights: dict[str, float] | None, **limits: float | str | None) -> Reward:
        """A reward for ``problem``: limits given as numbers, or reference cell names (see the module)."""
        resolved: dict[str, float] = {}
        for name, value in limits.items():
            if value is None:
                continue
            if isinstance(value, str):
                if name not in CONSTRAINTS or value not in REFERENCE_CELLS:
                    raise SpecError(f"{name}: must be a number or a reference cell ({', '.join(REFERENCE_CELLS)}), "
                                    f"got {value!r}")
                value = reference_metrics(problem, value)[CONSTRAINTS[name][0]]
            resolved[name] = value  # type: ignore[assignment]
        return Reward(weights=dict(weights or {"perf_per_area": 1.0}), constraints=resolved)

    def violation(self, metrics: dict[str, np.ndarray]) -> np.ndarray:
        """Sum of the relative violations of every constraint, float (n,); NaN metrics count as infinite."""
        n = len(next(iter(metrics.values())))
        out = np.zeros(n)
        for name, limit in self.constraints.items():
            column, sign = CONSTRAINTS[name]
            v = metrics[column]
            rel = sign * (v - limit) / limit  # >= 0 where the constraint holds
            out += np.where(np.isnan(v), np.inf, np.maximum(0.0, -rel))
        return out

    def values(self, metrics: dict[str, np.ndarray], lo: dict[str, float], hi: dict[str, float]) -> np.ndarray:
        """The reward of each pair, float (n,): in [0, 1] when the constraints hold, in [-1, 0) otherwise.

        Meeting pairs: the weighted mean of the normalised metrics (the score). Misses:
        ``-((1 - MISS_SCORE) * min(1, violation) + MISS_SCORE * (1 - score))``.

        ``lo``/``hi``: the smallest and largest log10 value seen of each weighted metric but accuracy.
        """
        total = sum(self.weights.values())
        score = np.zeros(len(metrics["accuracy"]))
        for name, w in self.weights.items():
            if not w:
                continue
            v = metrics[_COLUMN[name]]
            if name == "accuracy":
                norm = v / 100.0
            else:
                span = max(hi[name] - lo[name], 1e-12)
                norm = np.clip((np.log10(v) - lo[name]) / span, 0.0, 1.0)
                norm = norm if REWARD_METRICS[name] > 0 else 1.0 - norm
            score += w * norm
        viol = self.violation(metrics)
        priced = ~np.isnan(metrics["perf_per_area"])
        score = np.where(priced, score / total, 0.0)
        miss = (1.0 - MISS_SCORE) * np.minimum(1.0, np.where(priced, viol, 1.0)) + MISS_SCORE * (1.0 - score)
        return np.where(priced & (viol == 0), score, -miss)

    def single_metric(self) -> str | None:
        """The metric of a one-weight reward (whose optimum is well defined), else None."""
        live = [k for k, v in self.weights.items() if v > 0]
        return live[0] if len(live) == 1 else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConstrainedOptimum:
    """The best value of a one-metric reward over every pair meeting its constraints (and the problem's limits).

    Attributes:
        metric: The weighted metric.
        value: Its best value (in the metric's unit: %, cycles, mm², pJ, images/s/cm²).
        pairs: How many pairs reach it (networks with equal costs and tied designs all count).
        feasible_pairs: How many pairs meet the constraints.
        arch_index, column: One optimal pair (NB201 index, table column).
    """

    metric: str
    value: float
    pairs: int
    feasible_pairs: int
    arch_index: int
    column: int


def constrained_optimum(problem: Any, reward: Reward) -> ConstrainedOptimum:
    """Exact optimum of ``reward`` over all pairs of ``problem``, by cost groups (seconds on the full space)."""
    metric = reward.single_metric()
    if metric is None:
        raise SpecError(f"weights: the exact optimum is defined for one weighted metric, got {reward.weights!r}")
    rows, group = group_networks(problem.counts.counts)
    cols = np.flatnonzero(problem.table.feasible)
    energy, latency = problem.table.network_costs(rows)
    energy, latency, area = energy[:, cols], latency[:, cols].astype(np.float64), problem.table.area_mm2[cols]
    gd = {"latency_cycles": latency, "energy_pj": energy, "area_mm2": np.broadcast_to(area, latency.shape),
          "perf_per_area": perf_per_area(latency, area[None, :], problem.clock_ghz)}
    ok_gd = np.ones(latency.shape, dtype=bool)  # (group, design) meets every cost constraint and hard limit
    limits = dict(reward.constraints)
    for name, attr in (("max_latency_cycles", "max_latency_cycles"), ("max_area_mm2", "max_area_mm2")):
        hard = getattr(problem, attr, None)
        if hard is not None:
            limits[name] = min(limits.get(name, np.inf), hard)
    for name, limit in limits.items():
        column, sign = CONSTRAINTS[name]
        if column != "accuracy":
            ok_gd &= sign * (gd[column] - limit) >= 0
    acc = problem.accuracy
    ok_net = acc >= limits.get("min_accuracy", -np.inf)
    per_group = np.bincount(group[ok_net], minlength=len(rows))  # networks of each group over the accuracy floor
    feasible_pairs = int((per_group[:, None] * ok_gd).sum())
    if feasible_pairs == 0:
        raise SpecError(f"constraints: no pair of the space meets {limits!r}")
    if metric == "accuracy":
        live = ok_net & ok_gd[group].any(axis=1)
        best = float(acc[live].max())
        nets = np.flatnonzero(live & (acc == best))
        count = int(ok_gd[group[nets]].sum())
        n0 = int(nets[0])
        return ConstrainedOptimum(metric=metric, value=best, pairs=count, feasible_pairs=feasible_pairs,
                                  arch_index=n0, column=int(cols[np.argmax(ok_gd[group[n0]])]))
    sign = REWARD_METRICS[metric]
    value = np.where(ok_gd & (per_group[:, None] > 0), sign * gd[_COLUMN[metric]], -np.inf)
    top = float(value.max())
    hit = value == top
    count = int((per_group[:, None] * hit).sum())
    g, d = np.argwhere(hit)[0]
    n0 = int(np.flatnonzero((group == g) & ok_net)[0])
    return ConstrainedOptimum(metric=metric, value=sign * top, pairs=count, feasible_pairs=feasible_pairs,
                              arch_index=n0, column=int(cols[d]))
