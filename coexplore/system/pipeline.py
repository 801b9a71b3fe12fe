"""Throughput, latency and bottleneck of a layer-pipelined network on a system of engines and links.

Tasks form a chain (task t sends its output to task t + 1) and each runs on its own engine. In the
steady state every resource works on a different inference, so the pipeline's period is that of
its slowest resource: an engine (its task's compute time, or its memory time with a per-engine
memory channel: weights and off-chip data are streamed while it computes), a link (the bytes
routed over it per inference over its bandwidth) or the shared memory channel (all engines'
off-chip bytes over its bandwidth). Throughput is one inference per period; latency is one
inference passing through alone: every task's max(compute, its off-chip bytes over the memory
bandwidth), plus per transfer its hops times the hop latency
and its bytes over the slowest link on its route. The bottleneck is named by id: an engine id, a
link id ``src->dst`` or ``memory``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coexplore.errors import SpecError
from coexplore.system.spec import SystemSpec

__all__ = ["SystemResult", "evaluate_pipeline"]


@dataclass(frozen=True, slots=True)
class SystemResult:
    """One placed pipeline's figures; times in ns, loads in bytes per inference."""

    placement: tuple[str, ...]  # engine of each task
    engine_ns: dict[str, float]  # stage time per engine: max(compute, own memory channel)
    compute_ns: dict[str, float]
    memory_ns: dict[str, float]  # per engine (per-engine memory) or {"memory": ...} (shared)
    link_load_bytes: dict[str, float]
    link_ns: dict[str, float]
    routes: tuple[tuple[str, ...], ...]  # links of each transfer t -> t + 1
    period_ns: float
    latency_ns: float
    bottleneck: str  # engine id, link id or "memory"
    bottleneck_kind: str  # "engine", "link" or "memory"

    @property
    def throughput_per_s(self) -> float:
        return 1e9 / self.period_ns

    def as_dict(self) -> dict[str, object]:
        return {"placement": list(self.placement), "engine_ns": self.engine_ns, "compute_ns": self.compute_ns,
                "memory_ns": self.memory_ns, "link_load_bytes": self.link_load_bytes, "link_ns": self.link_ns,
                "routes": [list(r) for r in self.routes], "period_ns": self.period_ns,
                "throughput_per_s": self.throughput_per_s, "latency_ns": self.latency_ns,
                "bottleneck": self.bottleneck, "bottleneck_kind": self.bottleneck_kind}


def check_tasks(system: SystemSpec, n_tasks: int) -> None:
    """One task per engine: refuses more engines than tasks (an idle engine) and more tasks than engines."""
    n = len(system.engines)
    if n_tasks < n:
        raise SpecError(f"system.engines: {n} engines for {n_tasks} tasks; every engine needs a task (use a system "
                        f"of at most {n_tasks} engines)")
    if n_tasks > n:
        raise SpecError(f"tasks: {n_tasks} tasks for {n} engines; one task per engine")


def evaluate_pipeline(system: SystemSpec, placement: Sequence[str], compute_ns: Sequence[float],
                      memory_bytes: Sequence[float], traffic_bytes: Sequence[float]) -> SystemResult:
    """The placed chain of tasks priced on ``system``.

    Args:
        placement: The engine of each task (a permutation of the system's engines).
        compute_ns: Compute time of each task on its engine.
        memory_bytes: Off-chip bytes each task moves per inference.
        traffic_bytes: Bytes task t sends to task t + 1 per inference (one fewer than tasks).
    """
    n = len(placement)
    check_tasks(system, n)
    if sorted(placement) != sorted(system.engines):
        raise SpecError(f"placement: must use every engine once ({', '.join(system.engines)}), got {list(placement)}")
    if len(compute_ns) != n or len(memory_bytes) != n or len(traffic_bytes) != n - 1:
        raise SpecError(f"tasks: {n} tasks need {n} compute times, {n} memory loads and {n - 1} transfers, got "
                        f"{len(compute_ns)}, {len(memory_bytes)} and {len(traffic_bytes)}")
    links = {x.id: x for x in system.links}
    load = dict.fromkeys(links, 0.0)
    routes = []
    for t, nbytes in enumerate(traffic_bytes):
        route = system.route(placement[t], placement[t + 1])
        routes.append(route)
        for lid in route:
            load[lid] += float(nbytes)
    link_ns = {lid: load[lid] / links[lid].bandwidth_gb_per_s for lid in links}
    compute = {placement[t]: float(compute_ns[t]) for t in range(n)}
    # a task's bytes alone on a channel (an FPGA engine's channel is its board's DDR)
    own = {placement[t]: float(memory_bytes[t]) / system.memory_gb_per_s(placement[t]) for t in range(n)}
    if system.memory.kind == "shared":
        memory = {"memory": sum(own.values())}
        stage = dict(compute)
    else:
        memory = own
        stage = {e: max(compute[e], own[e]) for e in compute}
    candidates = [(stage[e], "engine", e) for e in placement]  # task order: a tie names the earliest
    candidates += [(link_ns[lid], "link", lid) for lid in links]
    if system.memory.kind == "shared":
        candidates.append((memory["memory"], "memory", "memory"))
    period, kind, name = max(candidates, key=lambda c: c[0])  # max keeps the first of equals
    if not period > 0:
        raise SpecError(f"tasks: nothing to do (every task, link and memory time is 0 on {system.name})")
    transfer = sum(sum(links[lid].hop_latency_ns for lid in r)
                   + float(traffic_bytes[t]) / min(links[lid].bandwidth_gb_per_s for lid in r)
                   for t, r in enumerate(routes) if r)
    latency = sum(max(compute[e], own[e]) for e in compute) + transfer
    return SystemResult(placement=tuple(placement), engine_ns=stage, compute_ns=compute, memory_ns=memory,
                        link_load_bytes=load, link_ns=link_ns, routes=tuple(routes), period_ns=period,
                        latency_ns=latency, bottleneck=name, bottleneck_kind=kind)
