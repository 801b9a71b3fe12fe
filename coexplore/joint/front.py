"""Exact Pareto fronts over every (network, design) pair of a cost table, without listing 10^8 pairs.

Objectives: accuracy and perf/area (:func:`perf_per_area`) are maximised; EDP, latency, energy and
area are minimised. A pair
is on the front when no pair is at least as good in every objective and better in one;
pairs with equal objective vectors are all kept (as :func:`~coexplore.search.pareto.non_dominated`).

Two facts make the fronts cheap and still exact:

* Networks with the same shape-count row have the same cost on every design; they form
  a *group* (NAS-Bench-201's 15,625 cells form a few dozen). Costs are computed once
  per group, in chunks of groups (``dedupe=False`` makes every network its own group:
  the same fronts, by brute enumeration of all n x D pairs).
* Within a pair's group, the pair is dominated by any pair with the same network and a
  design that dominates its design on the cost objectives, and by any pair with the same
  design and a more accurate network of the group. So only the group's best designs
  (per cost objective set) and, for them, only the group's most accurate networks can
  be on the front. If a pair q dominates p, either q is such a candidate or a candidate
  dominates q (dominance within a finite set always ends at a non-dominated point), and
  then that candidate dominates p too: the front of the candidates is the front of all
  pairs.

The hypervolume of (accuracy, EDP) is measured in (accuracy %, log10 EDP) against the
fixed reference of :func:`edp_reference`: accuracy 0 % and 1.1 x the largest EDP of any
pair of the space. EDP is taken in log10 because it spans orders of magnitude (a linear
volume would be all about the worst designs); the reference depends only on the space
and its table, never on what a strategy evaluated, so strategies are comparable.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.costtable import CostTable
from coexplore.search.pareto import hypervolume_2d, non_dominated

__all__ = ["SCALAR_COSTS", "FrontPairs", "edp_hypervolume", "edp_reference", "front_accuracy_cost",
           "front_accuracy_costs", "front_accuracy_edp", "group_networks", "merge_fronts", "perf_per_area"]

CHUNK_PAIRS = 1 << 22  # pairs whose costs are held at once (about 100 MB of float64 and int64)


@dataclass(frozen=True, slots=True, kw_only=True)
class FrontPairs:
    """Non-dominated (network, design) pairs, most accurate first; arrays of shape (m,).

    Attributes:
        network: Row of the count matrix (and of ``accuracy``) of each pair.
        design: Column of the cost table.
        accuracy, energy_pj, latency_cycles, area_mm2, edp: The pair's objectives.
        pairs: Pairs the front is exact over (networks x feasible designs).
        evaluated: (group, design) costs computed.
        seconds: Time to compute the front.
        precision: Index of each pair's precision in a problem with precisions (:func:`merge_fronts`),
            else None.
    """

    network: np.ndarray
    design: np.ndarray
    accuracy: np.ndarray
    energy_pj: np.ndarray
    latency_cycles: np.ndarray
    area_mm2: np.ndarray
    edp: np.ndarray
    pairs: int
    evaluated: int
    seconds: float
    precision: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.network)


def group_networks(counts: np.ndarray, *, dedupe: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(distinct count rows (G, S), group of each network (n,)); ``dedupe=False``: one group per network."""
    c = np.asarray(counts, dtype=np.int64)
    if not dedupe:
        return c, np.arange(len(c))
    rows, inverse = np.unique(c, axis=0, return_inverse=True)
    return rows, inverse.reshape(-1)


def _check(table: CostTable, counts: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    acc = np.asarray(accuracy, dtype=np.float64)
    if acc.shape != (len(counts),) or not np.isfinite(acc).all():
        raise SpecError(f"accuracy: must be {len(counts)} finite values (one per count row), got shape {acc.shape}")
    if not table.feasible.any():
        raise SpecError("table.feasible: no design could map every shape; no pair has a cost")
    return acc


def _chunks(n_rows: int, n_designs: int) -> list[slice]:
    step = max(1, CHUNK_PAIRS // max(n_designs, 1))
    return [slice(i, min(i + step, n_rows)) for i in range(0, n_rows, step)]


def front_accuracy_edp(table: CostTable, counts: np.ndarray, accuracy: np.ndarray, *,
                       dedupe: bool = True, max_latency_cycles: float | None = None) -> FrontPairs:
    """The exact front of (accuracy max, EDP min) over all pairs (:func:`front_accuracy_cost`)."""
    return front_accuracy_cost(table, counts, accuracy, cost="edp", dedupe=dedupe,
                               max_latency_cycles=max_latency_cycles)


#: The scalar costs :func:`front_accuracy_cost` takes, from a pair's energy, latency and area
#: (``perf_per_area`` is maximised: its front is taken on minus its value).
SCALAR_COSTS = ("edp", "latency", "energy", "edap", "perf_per_area")


def perf_per_area(latency_cycles: np.ndarray, area_mm2: np.ndarray, clock_ghz: float) -> np.ndarray:
    """Throughput per area, images/s per cm² (Codesign-NAS's Perf/Area), one image per inference.

    ``clock_ghz * 1e9 / latency_cycles`` images/s over ``area_mm2 / 100`` cm². The one formula
    every module uses, so that values, fronts and reports agree bit for bit. Broadcasts.
    """
    return 1e11 * clock_ghz / (np.asarray(latency_cycles, dtype=np.float64) * np.asarray(area_mm2, dtype=np.float64))


def front_accuracy_cost(table: CostTable, counts: np.ndarray, accuracy: np.ndarray, *, cost: str = "edp",
                        dedupe: bool = True, max_latency_cycles: float | None = None,
                        clock_ghz: float | None = None) -> FrontPairs:
    """The exact front of (accuracy max, ``cost`` min) over all networks x feasible designs.

    ``cost="perf_per_area"`` (needs ``clock_ghz``) is the front of (accuracy max, perf/area max).

    Per group: the minimum cost over designs and every design reaching it; a pair using
    another design is dominated by the same network on the best design. Then a 2-D
    front over networks of (accuracy, their group's minimum cost), each expanded to its
    group's best designs. ``max_latency_cycles`` leaves out the pairs slower than it
    (a group with no pair left has no network on the front).
    """
    if cost not in SCALAR_COSTS:
        raise SpecError(f"cost: must be one of {', '.join(SCALAR_COSTS)}, got {cost!r}")
    if cost == "perf_per_area" and (clock_ghz is None or not clock_ghz > 0):
        raise SpecError(f"clock_ghz: perf_per_area needs the designs' clock (> 0), got {clock_ghz!r}")
    t0 = time.perf_counter()
    acc = _check(table, counts, accuracy)
    rows, group = group_networks(counts, dedupe=dedupe)
    cols = np.flatnonzero(table.feasible)
    sub = _restrict(table, cols)
    best = np.empty(len(rows))
    ties: list[np.ndarray] = []
    for sl in _chunks(len(rows), len(cols)):
        energy, latency = sub.network_costs(rows[sl])
        value = _scalar(cost, energy, latency, sub.area_mm2, clock_ghz)
        if max_latency_cycles is not None:
            value[latency > max_latency_cycles] = np.inf
        lo = value.min(axis=1)
        best[sl] = lo
        r, c = np.nonzero((value == lo[:, None]) & np.isfinite(lo)[:, None])
        ties += np.split(c, np.searchsorted(r, np.arange(1, len(lo))))
    live = np.flatnonzero(np.isfinite(best[group]))
    if len(live) == 0:
        raise SpecError(f"max_latency_cycles: no pair is as fast as {max_latency_cycles}")
    keep = live[non_dominated(np.column_stack([-acc[live], best[group[live]]]))]
    net = np.concatenate([np.full(len(ties[group[i]]), i) for i in keep])
    des = np.concatenate([ties[group[i]] for i in keep])
    return _pairs(sub, cols, rows, group, acc, net, des, len(acc) * len(cols), len(rows) * len(cols), t0)


def _scalar(cost: str, energy: np.ndarray, latency: np.ndarray, area: np.ndarray,
            clock_ghz: float | None = None) -> np.ndarray:
    """The (networks, designs) matrix of ``cost``, minimised (a new array: the caller may overwrite it)."""
    if cost == "perf_per_area":
        assert clock_ghz is not None
        return -perf_per_area(latency, area[None, :], clock_ghz)
    if cost == "latency":
        return latency.astype(np.float64)
    if cost == "energy":
        return energy.copy()
    edp = energy * latency
    return edp * area[None, :] if cost == "edap" else edp


#: The costs :func:`front_accuracy_costs` combines.
VECTOR_COSTS = ("latency", "energy", "area")


def front_accuracy_costs(table: CostTable, counts: np.ndarray, accuracy: np.ndarray,
                         costs: tuple[str, ...] = VECTOR_COSTS) -> FrontPairs:
    """The exact front of (accuracy max, each of ``costs`` min) over all pairs; default all three.

    Area is a property of the design alone. Per group, the designs on the front of
    ``costs`` (e.g. latency, energy, area) are kept, each with the group's most accurate
    networks; a front over those (group, design) candidates is the front of all pairs
    (see the module docstring). With ``costs=("latency", "area")`` it is also the front of
    (accuracy, latency, area, perf/area): perf/area falls as latency x area grows, so a
    pair dominated in (accuracy, latency, area) is dominated with perf/area added, and
    pairs equal in those three have equal perf/area.
    """
    if not costs or len(set(costs)) != len(costs) or any(c not in VECTOR_COSTS for c in costs):
        raise SpecError(f"costs: must be distinct names among {', '.join(VECTOR_COSTS)}, got {list(costs)!r}")
    t0 = time.perf_counter()
    acc = _check(table, counts, accuracy)
    rows, group = group_networks(counts, dedupe=True)
    cols = np.flatnonzero(table.feasible)
    sub = _restrict(table, cols)
    top = np.full(len(rows), -np.inf)
    np.maximum.at(top, group, acc)
    cand_g, cand_d, cand_v = [], [], []
    for sl in _chunks(len(rows), len(cols)):
        energy, latency = sub.network_costs(rows[sl])
        for k, g in enumerate(range(sl.start, sl.stop)):
            by_name = {"latency": latency[k].astype(np.float64), "energy": energy[k], "area": sub.area_mm2}
            v = np.column_stack([by_name[c] for c in costs])
            on = np.flatnonzero(_front_3d(v))
            cand_g.append(np.full(len(on), g))
            cand_d.append(on)
            cand_v.append(np.column_stack([np.full(len(on), -top[g]), v[on]]))
    gs, ds, vs = np.concatenate(cand_g), np.concatenate(cand_d), np.concatenate(cand_v)
    keep = non_dominated(vs)
    net_parts, des_parts = [], []
    for g, d in zip(gs[keep], ds[keep]):
        members = np.flatnonzero((group == g) & (acc == top[g]))
        net_parts.append(members)
        des_parts.append(np.full(len(members), d))
    net, des = np.concatenate(net_parts), np.concatenate(des_parts)
    return _pairs(sub, cols, rows, group, acc, net, des, len(acc) * len(cols), len(rows) * len(cols), t0)


def _front_3d(values: np.ndarray) -> np.ndarray:
    """:func:`non_dominated` of (n, k) rows (k = 3 in the default front), after a cheap exact pre-filter.

    A row dominated by the row minimising one objective (ties broken by the others) is
    off the front; those comparisons are vectorised and usually leave few rows.
    """
    keep = np.ones(len(values), dtype=bool)
    for j in range(values.shape[1]):
        others = [values[:, k] for k in reversed(range(values.shape[1])) if k != j]
        order = np.lexsort((*others, values[:, j]))  # by objective j, ties by the others
        b = values[order[0]]
        keep &= ~(np.all(b <= values, axis=1) & np.any(b < values, axis=1))
    out = np.zeros(len(values), dtype=bool)
    idx = np.flatnonzero(keep)
    out[idx] = non_dominated(values[idx])
    return out


def _restrict(table: CostTable, cols: np.ndarray) -> CostTable:
    """``table`` with only the designs ``cols`` (the feasible ones)."""
    return replace(table, designs=tuple(table.designs[i] for i in cols), energy_pj=table.energy_pj[:, cols],
                   latency_cycles=table.latency_cycles[:, cols], area_mm2=table.area_mm2[cols],
                   feasible=table.feasible[cols], reasons=tuple(table.reasons[i] for i in cols))


def _pairs(sub: CostTable, cols: np.ndarray, rows: np.ndarray, group: np.ndarray, acc: np.ndarray,
           net: np.ndarray, des: np.ndarray, pairs: int, evaluated: int, t0: float) -> FrontPairs:
    """The front's pairs with their objectives (recomputed from the group rows), most accurate first."""
    energy = np.empty(len(net))
    latency = np.empty(len(net), dtype=np.int64)
    for g in np.unique(group[net]):
        m = group[net] == g
        e, lat = sub.network_costs(rows[g:g + 1])
        energy[m], latency[m] = e[0, des[m]], lat[0, des[m]]
    order = np.lexsort((des, net, energy * latency, -acc[net]))
    net, des, energy, latency = net[order], des[order], energy[order], latency[order]
    return FrontPairs(network=net, design=cols[des], accuracy=acc[net], energy_pj=energy, latency_cycles=latency,
                      area_mm2=sub.area_mm2[des], edp=energy * latency, pairs=pairs, evaluated=evaluated,
                      seconds=time.perf_counter() - t0)


def merge_fronts(fronts: Sequence[FrontPairs], *, offsets: Sequence[int], costs: tuple[str, ...],
                 clock_ghz: float | None = None) -> FrontPairs:
    """The exact front over the union of several spaces from the exact front of each (one per precision).

    A pair dominated in the union is dominated by a point of some space's front (dominance ends at a
    non-dominated point of that space), so the front of the fronts' union is the union's front.
    ``fronts[k]``'s ``design`` columns are shifted by ``offsets[k]`` (its block of a joined table) and
    its pairs get ``precision`` k. ``costs``: the minimised objectives after accuracy, among
    :data:`SCALAR_COSTS` and ``area`` (``perf_per_area`` maximised, needs ``clock_ghz``).
    """
    if len(fronts) != len(offsets) or not fronts:
        raise SpecError(f"fronts, offsets: must be non-empty and of equal length, got {len(fronts)} and "
                        f"{len(offsets)}")
    cat = {k: np.concatenate([getattr(f, k) for f in fronts])
           for k in ("network", "accuracy", "energy_pj", "latency_cycles", "area_mm2", "edp")}
    design = np.concatenate([f.design + off for f, off in zip(fronts, offsets, strict=True)])
    precision = np.concatenate([np.full(len(f), k, dtype=np.int64) for k, f in enumerate(fronts)])
    cols = {"edp": lambda: cat["edp"], "latency": lambda: cat["latency_cycles"].astype(np.float64),
            "energy": lambda: cat["energy_pj"], "area": lambda: cat["area_mm2"],
            "edap": lambda: cat["edp"] * cat["area_mm2"],
            "perf_per_area": lambda: -perf_per_area(cat["latency_cycles"], cat["area_mm2"], clock_ghz or 0.0)}
    bad = [c for c in costs if c not in cols]
    if bad or not costs or ("perf_per_area" in costs and not (clock_ghz or 0) > 0):
        raise SpecError(f"costs: must be names among {', '.join(cols)} (perf_per_area with clock_ghz > 0), got "
                        f"{list(costs)!r}")
    keep = np.flatnonzero(non_dominated(np.column_stack([-cat["accuracy"], *[cols[c]() for c in costs]])))
    order = keep[np.lexsort((design[keep], cat["network"][keep], cat["edp"][keep], -cat["accuracy"][keep]))]
    return FrontPairs(network=cat["network"][order], design=design[order], accuracy=cat["accuracy"][order],
                      energy_pj=cat["energy_pj"][order], latency_cycles=cat["latency_cycles"][order],
                      area_mm2=cat["area_mm2"][order], edp=cat["edp"][order], pairs=sum(f.pairs for f in fronts),
                      evaluated=sum(f.evaluated for f in fronts), seconds=sum(f.seconds for f in fronts),
                      precision=precision[order])


def edp_reference(table: CostTable, counts: np.ndarray) -> tuple[float, float]:
    """The fixed reference (accuracy %, log10 EDP) = (0, log10(1.1 x the largest EDP of any pair))."""
    rows, _ = group_networks(counts)
    cols = np.flatnonzero(table.feasible)
    sub = _restrict(table, cols)
    worst = 0.0
    for sl in _chunks(len(rows), len(cols)):
        energy, latency = sub.network_costs(rows[sl])
        worst = max(worst, float((energy * latency).max()))
    return 0.0, math.log10(1.1 * worst)


def edp_hypervolume(accuracy: np.ndarray, edp: np.ndarray, reference: tuple[float, float]) -> float:
    """Area (accuracy % x decades of EDP) dominated by the points and bounded by ``reference``.

    ``reference`` is (accuracy %, log10 EDP), e.g. :func:`edp_reference`; points beyond it add nothing.
    """
    a, e = np.asarray(accuracy, dtype=np.float64), np.asarray(edp, dtype=np.float64)
    if a.shape != e.shape or a.ndim != 1:
        raise SpecError(f"accuracy, edp: must be 1-D of equal length, got shapes {a.shape} and {e.shape}")
    if (e <= 0).any():
        raise SpecError(f"edp: must be > 0 (it is taken in log10), got {float(e.min())!r}")
    return hypervolume_2d(np.column_stack([-a, np.log10(e)]), (-reference[0], reference[1]))
