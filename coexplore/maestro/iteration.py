"""Iteration cases of one cluster level (MAESTRO's ``DFA_iteration-analysis.hpp`` semantics).

Each directive goes through an Init position, possibly Steady positions and possibly one Edge
position (a partial last tile). An iteration case fixes one position per directive; MAESTRO prices
each case once and multiplies by how often it occurs. The case order is MAESTRO's (it matters: the
first case sizes the buffers), including its shifted odometer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from coexplore.maestro.clusters import SPATIAL, TEMPORAL, Cluster, Dims, cdiv

__all__ = ["Case", "State", "iteration_cases"]

INIT, STEADY, EDGE = 0, 1, 2


@dataclass(slots=True, init=False)
class State:
    """One directive's position: Init/Steady/Edge, occurrences, unrolled, initial edge, spatial edge-edge.

    Not frozen, though nothing changes one once made: a level makes one per directive position, a frozen
    dataclass is made seven times slower (every field through ``object.__setattr__``), and the reuse rules
    read its fields tens of thousands of times per network, which slots make fastest (a named tuple's
    fields are read at half that speed)."""

    var: str
    pos: int
    occurrences: int
    unrolled: bool
    init_edge: bool
    sp_edge_edge: bool
    is_edge: bool
    key: tuple[int, bool, bool, bool]
    """Everything the reuse rules read from the state (not its occurrences, which depend on the PE count)."""

    def __init__(self, var: str, pos: int, occurrences: int, unrolled: bool, init_edge: bool = False,
                 sp_edge_edge: bool = False) -> None:
        self.var, self.pos, self.occurrences, self.unrolled = var, pos, occurrences, unrolled
        self.init_edge, self.sp_edge_edge = init_edge, sp_edge_edge
        self.is_edge = pos == EDGE or init_edge
        self.key = (pos, init_edge, unrolled, sp_edge_edge)


class Case(NamedTuple):
    """One iteration case: each dimension's state, how often the case occurs, whether every directive is at
    Init, the index of the innermost directive not at Init (-1 if none; the reuse analysis needs it
    for every tensor, so it is found once here) and a key of what the reuse rules read (every directive's
    :attr:`State.key` and ``changing``: equal keys give equal volumes). A named tuple: one is made per case."""

    states: dict[str, State]
    occurrences: int
    all_init: bool
    changing: int
    key: tuple[object, ...]


def _states(cluster: Cluster, dims: Dims) -> list[list[State]]:
    out = []
    for d in cluster.dataflow:
        dim, m, o = dims.get(d.var), d.size, d.ofs
        states: list[State] = []
        if d.kind == TEMPORAL:
            init_edge = dim < m
            states.append(State(d.var, INIT, 1, dim <= m, init_edge))
            steady = cdiv(dim - m, o)
            if m < dim and steady > 0:
                states.append(State(d.var, STEADY, steady, False))
            if not init_edge and steady * o + m < dim:
                states.append(State(d.var, EDGE, 1, False))
        elif d.kind == SPATIAL:
            n = cluster.size
            coverage = m + o * (n - 1)
            unroll, init_edge = dim <= coverage, dim < coverage
            states.append(State(d.var, INIT, 1, unroll, init_edge, init_edge))
            steady = cdiv(cdiv(dim - m, o) + 1, n) - 1
            has_edge = (not unroll and (steady + 1) * o * n + coverage > dim
                        and steady * o * n + coverage != dim)
            if coverage < dim and steady > 0:
                states.append(State(d.var, STEADY, steady, False))
            remaining = dim - (steady + 1) * o * n
            active = 1 if remaining < m else cdiv(remaining - m, o) + 1
            edge_edge = (active - 1) * o + m < remaining
            if not init_edge and has_edge:
                states.append(State(d.var, EDGE, 1, False, False, edge_edge))
        out.append(states)
    return out


def iteration_cases(cluster: Cluster, dims: Dims, keyed: bool = True) -> list[Case]:
    """Every iteration case of the level, in MAESTRO's order, with its number of occurrences; without
    ``keyed`` every :attr:`Case.key` is ``()`` (only memos shared across PE counts read the keys).

    A directive with a single position (its Init: one occurrence, never changing) gives every case the same
    state, so the odometer turns over the other directives only and the fixed states are set once."""
    per_dir = _states(cluster, dims)
    order = [d.var for d in cluster.dataflow]
    last = {var: i for i, var in enumerate(order)}  # a dimension mapped twice: its last directive's state stands
    fixed_states = {var: per_dir[i][0] for var, i in last.items() if len(per_dir[i]) == 1}
    fixed_key: list[object] = [options[0].key for options in per_dir]
    moving = []  # (index, positions, cases per move of its counter, whether its state stands)
    total = 1
    for i in range(len(per_dir) - 1, -1, -1):
        if len(per_dir[i]) > 1:
            moving.append((i, per_dir[i], total, last[order[i]] == i))
        total *= len(per_dir[i])
    moving.reverse()
    counters = [0] * len(per_dir)
    repeated = len(last) < len(order)
    cases = []
    for case_id in range(total):
        states = fixed_states.copy()
        key = fixed_key.copy() if keyed else None
        occ, changing = 1, -1
        for i, options, freq, stands in moving:
            st = options[counters[i]]
            if stands:
                states[st.var] = st
            if key is not None:
                key[i] = st.key
            occ *= st.occurrences
            if st.pos != INIT:
                changing = i
            if case_id % freq == 0:
                counters[i] = 0 if counters[i] + 1 == len(options) else counters[i] + 1
        if repeated:
            changed = [i for i, v in enumerate(order) if states[v].pos != INIT]
            changing = changed[-1] if changed else -1
        cases.append(Case(states, occ, changing == -1, changing, () if key is None else (*key, changing)))
    return cases
