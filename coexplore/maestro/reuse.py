"""Reuse analysis of one cluster level (MAESTRO's ``CA_reuse-analysis.hpp`` semantics).

For each iteration case it answers: how much of a tensor one sub-cluster holds, how much new data
must enter (ingress: only the elements the innermost changing directive brings in, the rest is
reused), how many results leave (egress) and how many partial sums the critical-path sub-cluster
computes. Mapped / unique / edge sizes per dimension are computed once per level.
"""

from __future__ import annotations

from coexplore.errors import SpecError
from coexplore.maestro.clusters import SPATIAL, TEMPORAL, Cluster, Dims, Tensor, cdiv
from coexplore.maestro.iteration import INIT, STEADY, Case, State

__all__ = ["Reuse"]


_ZERO = (0, 0, 0, 0)


class Reuse:
    """Per-level element counts: ``m`` mapped, ``u`` unique (new per step), ``me``/``ue`` at the edge."""

    def __init__(self, cluster: Cluster) -> None:
        self.c = cluster
        self.m: dict[str, int] = {}
        self.u: dict[str, int] = {}
        self.me: dict[str, int] = {}
        self.ue: dict[str, int] = {}
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

        self.q: dict[str, tuple[int, int, int, int]] = {
            v: (self.m.get(v, 0), self.me.get(v, 0), self.u.get(v, 0), self.ue.get(v, 0))
            for v in {*self.m, *self.me, *self.u, *self.ue}}
        self._sub_dims: dict[tuple[int, ...], Dims] = {}
        self._plans: dict[str, tuple[list[str], list[tuple[int, str, str]], list[tuple[str, str]],
                                     list[tuple[str, str, str]]]] = {}

    def _plan(self, t: Tensor) -> tuple[list[str], list[tuple[int, str, str]], list[tuple[str, str]],
                                        list[tuple[str, str, str]]]:
        """Per tensor, once: its spatially mapped dimensions, its coupled directives (index, var, kind),
        the directives it does not depend on (var, kind) and its own dimensions (var, kind, output name)."""
        plan = self._plans.get(t.name)
        if plan is None:
            spatial = []
            for v in t.coupled:
                d = self.c.find(v)
                if d is None:
                    raise SpecError(f"MAESTRO analysis: tensor {t.name} depends on {v!r}, which has no directive "
                                    f"at cluster level {self.c.level}")
                if d.kind == SPATIAL:
                    spatial.append(v)
            coupled = [(i, d.var, d.kind) for i, d in enumerate(self.c.dataflow) if d.var in t.coupled]
            others = [(d.var, d.kind) for d in self.c.dataflow if d.var not in t.coupled]
            own = []
            for v in t.coupled:
                found = self.c.find(v)
                assert found is not None
                own.append((v, found.kind, {"Y": "Y'", "X": "X'"}.get(v, v)))
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
        for _, var, kind in (self._plans.get(t.name) or self._plan(t))[1]:
            st = case.states[var]
            if kind == TEMPORAL:
                out *= self.me.get(var, 0) if st.is_edge else self.m.get(var, 0)
            elif kind == SPATIAL:
                if st.is_edge:
                    n_edge = self.c.edge_clusters
                    if n_edge == 1 and (first or ee):
                        out *= self.me.get(var, 0)
                    elif n_edge > 1:
                        out *= self.me.get(var, 0) if ee else self.m.get(var, 0)
                else:
                    out *= self.m.get(var, 0)
        return out

    def pe_ingress(self, t: Tensor, case: Case, first: bool = True, ee: bool = False) -> int:
        changing = case.changing
        if changing == -1:
            return self.pe_mapped(t, case, first, ee)
        coupled = (self._plans.get(t.name) or self._plan(t))[1]
        inited = False
        for i, var, _ in coupled:
            st = case.states[var]
            if st.pos == INIT and i > changing and not st.unrolled:
                inited = True
                break
        out, tensor_changes = 1, False
        for i, var, kind in coupled:
            st = case.states[var]
            is_chg = i == changing
            tensor_changes = tensor_changes or is_chg
            m, me, u, ue = self.q.get(var, _ZERO)
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

    def spatial_ingress(self, t: Tensor, case: Case) -> int:
        sp, edge, state = self._sp_info(t, case)
        if not sp:
            return self.pe_ingress(t, case)
        if not edge:
            return self.pe_ingress(t, case, True, False) + (self.c.size - 1) * self.pe_ingress(t, case, False, False)
        full, nee, first_ee = self._split(state)
        out = self.pe_ingress(t, case, True, first_ee)
        if full:
            out += full * self.pe_ingress(t, case, False, False)
        if nee:
            out += nee * self.pe_ingress(t, case, False, True)
        return out

    def pe_egress(self, t: Tensor, case: Case, psums: bool = False, first: bool = True, ee: bool = False,
                  reuse_at_edge: bool = True) -> int:
        out = 1
        n_edge = self.c.edge_clusters
        _, _, others, own = self._plans.get(t.name) or self._plan(t)
        if psums:
            for var, kind in others:
                st = case.states[var]
                if kind == TEMPORAL:
                    out *= self.me.get(var, 0) if st.is_edge else self.m.get(var, 0)
                elif kind == SPATIAL:
                    out *= self._egress_spatial(var, var, st, first, ee, n_edge, psum=True, reuse_at_edge=True)
        for v, kind, actual in own:
            st = case.states[v]
            if kind == TEMPORAL:
                if st.pos == INIT:
                    out *= self.me.get(actual, 0) if st.is_edge else self.m.get(actual, 0)
                elif st.pos == STEADY:
                    out *= self.m.get(actual, 0)
                else:
                    out *= self.me.get(actual, 0)
            elif kind == SPATIAL:
                out *= self._egress_spatial(v, actual, st, first, ee, n_edge, psum=False, reuse_at_edge=reuse_at_edge)
        return out

    def _egress_spatial(self, var: str, actual: str, st: State, first: bool, ee: bool, n_edge: int, *,
                        psum: bool, reuse_at_edge: bool) -> int:
        m, me, u, ue = self.q.get(actual, _ZERO)
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
            return self.me.get(var, 0)
        if n_edge > 1:
            if ee:
                return ue
            return m if first else unique_or_one
        return 1

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
        n_edge = self.c.edge_clusters
        cur = self.c.dims
        size: dict[str, int] = {}
        for d in self.c.dataflow:
            var = d.var
            if var in size:
                continue
            st = case.states[var]
            if d.kind == TEMPORAL:
                value = self.me.get(var, 0) if st.is_edge else self.m.get(var, 0)
            elif d.kind == SPATIAL:
                if st.pos == STEADY or (st.pos == INIT and not st.is_edge):
                    value = self.m.get(var, 0)
                else:
                    value = self.me.get(var, 0) if (n_edge == 1 or ee) else self.m.get(var, 0)
            else:
                value = 0
            size[var] = value
        key = tuple(size.values())  # many cases give a sub-cluster the same sizes: build their table once
        hit = self._sub_dims.get(key)
        if hit is not None:
            return hit
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
