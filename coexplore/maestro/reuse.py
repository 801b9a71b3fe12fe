"""Reuse analysis of one cluster level (MAESTRO's ``CA_reuse-analysis.hpp`` semantics).

For each iteration case it answers: how much of a tensor one sub-cluster holds, how much new data
must enter (ingress: only the elements the innermost changing directive brings in, the rest is
reused), how many results leave (egress) and how many partial sums the critical-path sub-cluster
computes. Mapped / unique / edge sizes per dimension are computed once per level.
"""

from __future__ import annotations

from typing import Any

from coexplore.errors import SpecError
from coexplore.maestro.clusters import SPATIAL, TEMPORAL, Cluster, Dims, MDirective, Tensor, cdiv
from coexplore.maestro.iteration import INIT, STEADY, Case, State

__all__ = ["Reuse"]


_ZERO = (0, 0, 0, 0)
_OUTPUT_NAMES = {"Y": "Y'", "X": "X'"}
_Plan = tuple[list[str], list[tuple[int, str, str, int, int, int, int]],
              list[tuple[str, str, int, int, tuple[int, int, int, int]]],
              list[tuple[str, str, str, int, int, tuple[int, int, int, int], int]]]


class Reuse:
    """Per-level element counts: ``m`` mapped, ``u`` unique (new per step), ``me``/``ue`` at the edge.

    ``shared`` (optional) is kept by a caller that analyses the same level on many PE counts (the batch pricer):
    the counts, tensor plans and sub-cluster tables depend only on the level's directives and dimension table,
    and a sub-cluster's volumes only on the case's directive states (:attr:`Case.key`) and on whether one or more
    sub-clusters take the spatial edge, so they are computed once for all the PE counts that share them."""

    m: dict[str, int]
    u: dict[str, int]
    me: dict[str, int]
    ue: dict[str, int]
    q: dict[str, tuple[int, int, int, int]]
    _sub_dims: dict[tuple[int, ...], Dims]
    _sub_plan: list[tuple[str, str, int, int]]
    _first: dict[str, MDirective]
    _plans: dict[str, _Plan]
    _memos: tuple[dict[tuple[object, ...], Any], dict[tuple[object, ...], Any]]
    _memo: dict[tuple[object, ...], Any] | None
    _spatial_vars: list[str]
    shared: bool
    """Whether the level's tables are shared across PE counts: its cases then need their keys."""

    def __init__(self, cluster: Cluster, shared: dict[tuple[object, ...], Reuse] | None = None) -> None:
        self.c = cluster
        self.shared = shared is not None
        self._memo = None
        self._spatial_vars = [d.var for d in cluster.dataflow if d.kind == SPATIAL]
        if shared is not None:
            dims = cluster.dims
            key = (tuple([(d.kind, d.size, d.ofs, d.var) for d in cluster.dataflow]), tuple(dims.size.items()),
                   tuple(dims.stride.items()), tuple(dims.overlaps))
            proto = shared.get(key)
            if proto is not None:
                self.m, self.u, self.me, self.ue, self.q = proto.m, proto.u, proto.me, proto.ue, proto.q
                self._sub_dims, self._plans, self._memos = proto._sub_dims, proto._plans, proto._memos
                self._sub_plan, self._first = proto._sub_plan, proto._first
                self._memo = self._memos[cluster.edge_clusters == 1]
                return
        self._init_counts(cluster)
        self._memos = ({}, {})
        if shared is not None:
            shared[key] = self  # only once complete: a level that fails to analyse leaves nothing behind
            self._memo = self._memos[cluster.edge_clusters == 1]

    def _init_counts(self, cluster: Cluster) -> None:
        self.m, self.u, self.me, self.ue = {}, {}, {}, {}
        dims = cluster.dims
        for d in cluster.dataflow:
            dim, size, ofs = dims.get(d.var), d.size, d.ofs
            steady = max(cdiv(dim - size, ofs), 0)
            has_edge = steady * ofs + size < dim or size > dim
            self.m[d.var] = size
            self.u[d.var] = min(size, ofs)
            if d.kind == TEMPORAL and dim <= size:
                self.u[d.var] = 0
            edge = dim - (steady + 1) * ofs
            if edge < 0:
                edge = dim
            self.me[d.var] = edge if has_edge else size
            self.ue[d.var] = max(ofs - (size - edge), 0)
        for d in cluster.dataflow:
            if dims.is_ref(d.var):
                sliding = dims.counterpart(d.var)
                out = "Y'" if d.var == "Y" else "X'"
                self.m[out] = self.m.get(d.var, 0) - self.m.get(sliding, 0) + 1
                self.u[out] = min(d.ofs, d.size)
                self.me[out] = self.me.get(d.var, 0) - self.me.get(sliding, 0) + 1
                self.ue[out] = min(d.ofs, self.me[out])

        self.q = {
            v: (self.m.get(v, 0), self.me.get(v, 0), self.u.get(v, 0), self.ue.get(v, 0))
            for v in {*self.m, *self.me, *self.u, *self.ue}}
        self._first = {}  # a dimension mapped twice: its first directive (as Cluster.find gives)
        for d in cluster.dataflow:
            self._first.setdefault(d.var, d)
        self._sub_plan = [(v, d.kind, self.m.get(v, 0), self.me.get(v, 0)) for v, d in self._first.items()]
        self._sub_dims = {}
        self._plans = {}

    def _plan(self, t: Tensor) -> _Plan:
        """Per tensor, once: its spatially mapped dimensions, its coupled directives (index, var, kind and the
        var's m, me, u, ue), the directives it does not depend on (var, kind, m, me, (m, me, u, ue)) and its own
        dimensions (var, kind, output name, the output name's m and me, its (m, me, u, ue), the var's me). The
        per-case rules read the counts from here instead of looking them up again in every case."""
        plan = self._plans.get(t.name)
        if plan is None:
            first = self._first
            spatial = []
            for v in t.coupled:
                d = first.get(v)
                if d is None:
                    raise SpecError(f"MAESTRO analysis: tensor {t.name} depends on {v!r}, which has no directive "
                                    f"at cluster level {self.c.level}")
                if d.kind == SPATIAL:
                    spatial.append(v)
            q = self.q
            coupled = [(i, d.var, d.kind, *q.get(d.var, _ZERO)) for i, d in enumerate(self.c.dataflow)
                       if d.var in t.coupled]
            others = [(d.var, d.kind, self.m.get(d.var, 0), self.me.get(d.var, 0), q.get(d.var, _ZERO))
                      for d in self.c.dataflow if d.var not in t.coupled]
            own = []
            for v in t.coupled:
                actual = _OUTPUT_NAMES.get(v, v)
                own.append((v, first[v].kind, actual, self.m.get(actual, 0), self.me.get(actual, 0),
                            q.get(actual, _ZERO), self.me.get(v, 0)))
            plan = self._plans[t.name] = (spatial, coupled, others, own)
        return plan

    # -- helpers -----------------------------------------------------------------------
    def mapped_volume(self, t: Tensor) -> int:
        out = 1
        for v in t.coupled:
            if v in self.m:
                out *= self.m[v]
        return out

    def _sp_info(self, t: Tensor, case: Case) -> tuple[bool, bool, State | None]:
        sp, edge, state = False, False, None
        for v in (self._plans.get(t.name) or self._plan(t))[0]:
            sp, state = True, case.states[v]
            edge = edge or state.is_edge
        return sp, edge, state

    def _split(self, state: State | None) -> tuple[int, int, bool]:
        """(full-mapping clusters besides the first, edge-edge clusters, first cluster is edge-edge)."""
        n_edge = self.c.edge_clusters
        ee = bool(state and state.sp_edge_edge)
        first = n_edge == 1 and ee
        if n_edge > 1:
            nee = 1 if ee else 0
            return max(n_edge - nee - 1, 0), nee, first
        return 0, 0, first

    # -- volumes -------------------------------------------------------------------------
    def pe_mapped(self, t: Tensor, case: Case, first: bool = True, ee: bool = False) -> int:
        out = 1
        states = case.states
        for _, var, kind, m, me, _, _ in (self._plans.get(t.name) or self._plan(t))[1]:
            st = states[var]
            if kind == TEMPORAL:
                out *= me if st.is_edge else m
            elif kind == SPATIAL:
                if st.is_edge:
                    n_edge = self.c.edge_clusters
                    if n_edge == 1 and (first or ee):
                        out *= me
                    elif n_edge > 1:
                        out *= me if ee else m
                else:
                    out *= m
        return out

    def pe_ingress(self, t: Tensor, case: Case, first: bool = True, ee: bool = False) -> int:
        memo = self._memo
        if memo is None:
            return self._pe_ingress(t, case, first, ee)
        key = (t.name, first, ee, case.key)
        hit = memo.get(key)
        if hit is None:
            hit = memo[key] = self._pe_ingress(t, case, first, ee)
        return hit

    def _pe_ingress(self, t: Tensor, case: Case, first: bool, ee: bool) -> int:
        changing = case.changing
        if changing == -1:
            return self.pe_mapped(t, case, first, ee)
        coupled = (self._plans.get(t.name) or self._plan(t))[1]
        states = case.states
        inited = False
        for i, var, _, _, _, _, _ in coupled:
            st = states[var]
            if st.pos == INIT and i > changing and not st.unrolled:
                inited = True
                break
        out, tensor_changes = 1, False
        for i, var, kind, m, me, u, ue in coupled:
            st = states[var]
            is_chg = i == changing
            tensor_changes = tensor_changes or is_chg
            if kind == TEMPORAL:
                if st.pos == INIT:
                    out *= me if st.is_edge else m
                elif is_chg and not inited:
                    if u == 0:
                        raise SpecError(f"MAESTRO analysis: directive on {var!r} at cluster level {self.c.level} "
                                        "changes but brings no new data (MAESTRO stops here too)")
                    out *= max(u, 1)
                else:
                    out *= m
            elif kind == SPATIAL:
                if first:
                    out *= me if ee else m
                elif st.pos == INIT:
                    if i <= changing:
                        out *= me if ee else m
                    else:
                        out *= ue if ee else u
                elif not inited and is_chg:
                    out *= ue if ee else u
                else:
                    out *= me if ee else m
        return out if tensor_changes else 0

    def pe_ingress_pair(self, t: Tensor, case: Case) -> tuple[int, int]:
        """``(pe_ingress(t, case, True, False), pe_ingress(t, case, False, False))``: the first sub-cluster's
        ingress and any other's, off the spatial edge. They differ only in the spatial factors, so one pass
        over the tensor's directives makes both (the case loop asks for both in most cases)."""
        memo = self._memo
        if memo is None:
            return self._pe_ingress_pair(t, case)
        key = (t.name, "pair", case.key)
        hit = memo.get(key)
        if hit is None:
            hit = memo[key] = self._pe_ingress_pair(t, case)
        return hit  # type: ignore[no-any-return]

    def _pe_ingress_pair(self, t: Tensor, case: Case) -> tuple[int, int]:
        coupled = (self._plans.get(t.name) or self._plan(t))[1]
        states = case.states
        changing = case.changing
        first = rest = 1
        if changing == -1:  # pe_mapped with ee=False, for first=True and first=False
            n_edge = self.c.edge_clusters
            for _, var, kind, m, me, _, _ in coupled:
                st = states[var]
                if kind == TEMPORAL:
                    factor = me if st.is_edge else m
                    first *= factor
                    rest *= factor
                elif kind == SPATIAL:
                    if not st.is_edge or n_edge > 1:
                        first *= m
                        rest *= m
                    elif n_edge == 1:
                        first *= me
            return first, rest
        inited = False
        for i, var, _, _, _, _, _ in coupled:
            st = states[var]
            if st.pos == INIT and i > changing and not st.unrolled:
                inited = True
                break
        tensor_changes = False
        for i, var, kind, m, me, u, _ in coupled:
            st = states[var]
            is_chg = i == changing
            tensor_changes = tensor_changes or is_chg
            if kind == TEMPORAL:
                if st.pos == INIT:
                    factor = me if st.is_edge else m
                elif is_chg and not inited:
                    if u == 0:
                        raise SpecError(f"MAESTRO analysis: directive on {var!r} at cluster level {self.c.level} "
                                        "changes but brings no new data (MAESTRO stops here too)")
                    factor = max(u, 1)
                else:
                    factor = m
                first *= factor
                rest *= factor
            elif kind == SPATIAL:
                first *= m
                if st.pos == INIT:
                    rest *= m if i <= changing else u
                elif not inited and is_chg:
                    rest *= u
                else:
                    rest *= m
        return (first, rest) if tensor_changes else (0, 0)

    def spatial_ingress(self, t: Tensor, case: Case) -> int:
        spatial = (self._plans.get(t.name) or self._plan(t))[0]  # _sp_info, inlined: this runs once per case
        if not spatial:
            return self.pe_ingress(t, case)
        states = case.states
        for v in spatial:
            if states[v].is_edge:
                break
        else:
            first, rest = self.pe_ingress_pair(t, case)
            return first + (self.c.size - 1) * rest
        full, nee, first_ee = self._split(states[spatial[-1]])
        out = self.pe_ingress(t, case, True, first_ee)
        if full:
            out += full * self.pe_ingress(t, case, False, False)
        if nee:
            out += nee * self.pe_ingress(t, case, False, True)
        return out

    def pe_egress(self, t: Tensor, case: Case, psums: bool = False, first: bool = True, ee: bool = False,
                  reuse_at_edge: bool = True) -> int:
        memo = self._memo
        if memo is None:
            return self._pe_egress(t, case, psums, first, ee, reuse_at_edge)
        key = (t.name, psums, first, ee, reuse_at_edge, case.key)
        hit = memo.get(key)
        if hit is None:
            hit = memo[key] = self._pe_egress(t, case, psums, first, ee, reuse_at_edge)
        return hit

    def _pe_egress(self, t: Tensor, case: Case, psums: bool, first: bool, ee: bool, reuse_at_edge: bool) -> int:
        out = 1
        n_edge = self.c.edge_clusters
        states = case.states
        _, _, others, own = self._plans.get(t.name) or self._plan(t)
        if psums:
            for var, kind, m, me, q in others:
                st = states[var]
                if kind == TEMPORAL:
                    out *= me if st.is_edge else m
                elif kind == SPATIAL:
                    out *= _egress_spatial(q, me, st, first, ee, n_edge, True, True)
        for v, kind, _, m, me, q, me_var in own:
            st = states[v]
            if kind == TEMPORAL:
                if st.pos == INIT:
                    out *= me if st.is_edge else m
                elif st.pos == STEADY:
                    out *= m
                else:
                    out *= me
            elif kind == SPATIAL:
                out *= _egress_spatial(q, me_var, st, first, ee, n_edge, False, reuse_at_edge)
        return out

    def spatial_egress(self, t: Tensor, case: Case) -> int:
        sp, edge, state = self._sp_info(t, case)
        if not sp:
            return self.pe_egress(t, case)
        if not edge:
            return self.pe_egress(t, case, False, True, False) + (self.c.size - 1) * self.pe_egress(
                t, case, False, False, False)
        full, nee, first_ee = self._split(state)
        out = self.pe_egress(t, case, False, True, first_ee)
        if full:
            out += full * self.pe_egress(t, case, False, False, False)
        if nee:
            out += nee * self.pe_egress(t, case, False, False, True)
        return out

    def output_volumes(self, t: Tensor, case: Case) -> tuple[int, int, int]:
        """``(spatial_egress(t, case), output_mapping_size(t, case, True), critical_psums(t, case))`` of an
        output tensor. When no spatial directive of the level is at an edge in this case (most cases), the
        three are products of the same temporal factors and differ only in the first sub-cluster's spatial
        factors and the partial-sum dimensions: :meth:`_output_parts` makes them in one pass."""
        states = case.states
        for v in self._spatial_vars:
            if states[v].is_edge:
                return (self.spatial_egress(t, case), self.output_mapping_size(t, case, True),
                        self.critical_psums(t, case))
        memo = self._memo
        if memo is None:
            one, rest, psums = self._output_parts(t, case)
        else:
            key = (t.name, "out", case.key)
            hit = memo.get(key)
            if hit is None:
                hit = memo[key] = self._output_parts(t, case)
            one, rest, psums = hit
        n = self.c.size
        egress = one + (n - 1) * rest if (self._plans.get(t.name) or self._plan(t))[0] else one
        return egress, n * psums, psums

    def _output_parts(self, t: Tensor, case: Case) -> tuple[int, int, int]:
        """Off the spatial edge: ``pe_egress`` of the first sub-cluster, of any other, and with partial sums
        (``psums=True``, first sub-cluster). Off the edge a spatial factor is the mapped size for the first
        sub-cluster and the unique size (1 if none) for the others, as :func:`_egress_spatial` gives."""
        _, _, others, own = self._plans.get(t.name) or self._plan(t)
        states = case.states
        temporal = first = rest = 1
        for v, kind, _, m, me, q, _ in own:
            st = states[v]
            if kind == TEMPORAL:
                if st.pos == INIT:
                    temporal *= me if st.is_edge else m
                elif st.pos == STEADY:
                    temporal *= m
                else:
                    temporal *= me
            elif kind == SPATIAL:
                first *= q[0]
                rest *= q[2] or 1
        psum_dims = 1
        for var, kind, m, me, q in others:
            if kind == TEMPORAL:
                psum_dims *= me if states[var].is_edge else m
            elif kind == SPATIAL:
                psum_dims *= q[0]
        one = temporal * first
        return one, temporal * rest, psum_dims * one

    def critical_psums(self, t: Tensor, case: Case) -> int:
        sp, edge, state = self._sp_info(t, case)
        if not sp:
            return self.pe_egress(t, case, True)
        if not edge:
            return self.pe_egress(t, case, True, True, False)
        _, _, first_ee = self._split(state)
        return self.pe_egress(t, case, True, True, first_ee)

    def output_mapping_size(self, t: Tensor, case: Case, for_psum: bool) -> int:
        sp, edge, state = self._sp_info(t, case)
        if for_psum:
            for d in self.c.dataflow:
                if d.kind == SPATIAL:
                    sp, state = True, case.states[d.var]
                    edge = edge or state.is_edge
        n = self.c.size
        if not sp:
            return n * self.pe_egress(t, case, for_psum)
        if not edge:
            return n * self.pe_egress(t, case, for_psum, True, False)
        full, nee, first_ee = self._split(state)
        out = self.pe_egress(t, case, for_psum, True, first_ee)
        if full:
            out += full * self.pe_egress(t, case, for_psum, True, False)
        if nee:
            out += nee * self.pe_egress(t, case, for_psum, False, True, False)
        return out

    def subcluster_dims(self, case: Case, ee: bool) -> Dims:
        """The dimension sizes one sub-cluster sees in this case (the level below is analysed on them)."""
        memo = self._memo
        if memo is None:
            return self._subcluster_dims(case, ee)
        key = (ee, case.key)
        hit = memo.get(key)
        if hit is None:
            hit = memo[key] = self._subcluster_dims(case, ee)
        return hit  # type: ignore[no-any-return]

    def _subcluster_dims(self, case: Case, ee: bool) -> Dims:
        edge_size = self.c.edge_clusters == 1 or ee  # a spatial edge shows its edge size to this sub-cluster
        states = case.states
        values = []
        for var, kind, m, me in self._sub_plan:
            st = states[var]
            if kind == TEMPORAL:
                values.append(me if st.is_edge else m)
            elif kind == SPATIAL:
                values.append(m if st.pos == STEADY or (st.pos == INIT and not st.is_edge) or not edge_size else me)
            else:
                values.append(0)
        key = tuple(values)  # many cases give a sub-cluster the same sizes: build their table once
        hit = self._sub_dims.get(key)
        if hit is not None:
            return hit
        cur = self.c.dims
        size = {var: value for (var, _, _, _), value in zip(self._sub_plan, values)}
        out = Dims(size=size, stride={var: cur.stride.get(var, 1) for var in size})
        self._sub_dims[key] = out
        for d in self.c.dataflow:
            if d.var == "Y":
                out.add("Y'", out.get("Y") - out.get("R") + 1)
            elif d.var == "X":
                out.add("X'", out.get("X") - out.get("S") + 1)
            if cur.is_ref(d.var):
                out.overlaps.append((d.var, cur.counterpart(d.var)))
        return out


def _egress_spatial(q: tuple[int, int, int, int], me_var: int, st: State, first: bool, ee: bool, n_edge: int,
                    psum: bool, reuse_at_edge: bool) -> int:
    """One spatial directive's factor of a sub-cluster's egress (``q``: the output dimension's m, me, u, ue;
    ``me_var``: the directive's own edge size)."""
    m, me, u, ue = q
    unique_or_one = u if u != 0 else 1
    if st.pos == INIT and st.is_edge and ee:
        if n_edge == 1:
            return me
        if n_edge > 1:
            if psum or reuse_at_edge:
                return ue if not psum else me
            return me
        return 1
    if st.pos in (INIT, STEADY):
        return m if first else unique_or_one
    # Edge
    if n_edge == 1 and (first or ee):
        return me_var
    if n_edge > 1:
        if ee:
            return ue
        return m if first else unique_or_one
    return 1
