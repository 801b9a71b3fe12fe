"""A network-on-chip design of a network: its partition into tasks and their placement on engines,
and NANDS's bottleneck detection and alleviation.

A design cuts the chain of blocks (:mod:`coexplore.system.profile`) into one task per engine of
consecutive blocks (layer pipelining) and places each task on an engine; traffic is routed by the
system's topology (:meth:`~coexplore.system.spec.SystemSpec.route`). Partition rules: ``even``
(equal numbers of blocks, the naive split) and ``balanced`` (the cut that minimises the slowest
task's compute time, exact by dynamic programming). Placement rules: ``row-major`` (task t on
engine t) and ``snake`` (a mesh walked boustrophedon, so consecutive tasks are neighbours: one hop
each).

:func:`alleviate` is NANDS's third step (Yang et al., ASP-DAC 2020: detect the timing bottleneck
of a NoC design and alleviate it, maximising throughput). The paper's exact moves are not
available offline; ours, from its description: find the bottleneck (the slowest engine, link or
memory channel); for an engine, move a block of its task to a neighbouring task, split its load
over the tasks around it (the tasks within 1, 2, ... of it re-balanced by the exact partition) or
swap its task onto another engine; for a link, move a cut of a transfer that
crosses it (a smaller feature map to send) or swap the receiving or sending task onto another engine
(re-map, so XY routing takes another path); keep the move that shortens the period most, and stop
when none does. A shared memory channel carries all weights whatever the partition, so it has no
move.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from coexplore.errors import SpecError
from coexplore.system.pipeline import SystemResult, check_tasks, evaluate_pipeline
from coexplore.system.profile import BlockProfile
from coexplore.system.spec import SystemSpec

__all__ = [
    "PARTITIONS",
    "PLACEMENTS",
    "Alleviation",
    "NocDesign",
    "alleviate",
    "balanced_cuts",
    "evaluate_design",
    "even_cuts",
    "initial_design",
    "place",
]

PARTITIONS = ("even", "balanced")
PLACEMENTS = ("row-major", "snake")


@dataclass(frozen=True, slots=True)
class NocDesign:
    """Task t holds blocks ``[starts[t], starts[t + 1])`` (``starts[0] = 0``) and runs on ``placement[t]``."""

    cuts: tuple[int, ...]  # the first block of tasks 1..T-1, strictly increasing
    placement: tuple[str, ...]

    def starts(self, n_blocks: int) -> tuple[int, ...]:
        return (0, *self.cuts, n_blocks)

    def as_dict(self) -> dict[str, object]:
        return {"cuts": list(self.cuts), "placement": list(self.placement)}


def even_cuts(n_blocks: int, n_tasks: int) -> tuple[int, ...]:
    """Equal numbers of blocks per task (the first tasks one more when it does not divide)."""
    base, extra = divmod(n_blocks, n_tasks)
    cuts, pos = [], 0
    for t in range(n_tasks - 1):
        pos += base + (1 if t < extra else 0)
        cuts.append(pos)
    return tuple(cuts)


def balanced_cuts(times: tuple[float, ...], n_tasks: int) -> tuple[int, ...]:
    """The contiguous partition into ``n_tasks`` non-empty tasks minimising the largest task time (exact DP)."""
    n = len(times)
    prefix = [0.0]
    for x in times:
        prefix.append(prefix[-1] + x)
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(n_tasks + 1)]  # best[k][i]: first i blocks in k tasks
    arg = [[0] * (n + 1) for _ in range(n_tasks + 1)]
    best[0][0] = 0.0
    for k in range(1, n_tasks + 1):
        for i in range(k, n - (n_tasks - k) + 1):
            for j in range(k - 1, i):
                v = max(best[k - 1][j], prefix[i] - prefix[j])
                if v < best[k][i]:
                    best[k][i], arg[k][i] = v, j
    cuts, i = [], n
    for k in range(n_tasks, 1, -1):
        i = arg[k][i]
        cuts.append(i)
    return tuple(reversed(cuts))


def place(system: SystemSpec, rule: str) -> tuple[str, ...]:
    """The engine of each task under placement ``rule`` (:data:`PLACEMENTS`)."""
    if rule not in PLACEMENTS:
        raise SpecError(f"placement: must be one of {', '.join(PLACEMENTS)}, got {rule!r}")
    if rule == "row-major" or system.topology != "mesh":
        return system.engines
    out: list[str] = []
    for r in range(system.rows):
        row = list(system.engines[r * system.cols:(r + 1) * system.cols])
        out += row if r % 2 == 0 else row[::-1]
    return tuple(out)


def initial_design(system: SystemSpec, profile: BlockProfile, *, partition: str, placement: str) -> NocDesign:
    """A design by the partition and placement rules (before any alleviation)."""
    if partition not in PARTITIONS:
        raise SpecError(f"partition: must be one of {', '.join(PARTITIONS)}, got {partition!r}")
    n_tasks = len(system.engines)
    if len(profile.blocks) < n_tasks:  # one block per task at least: an idle engine is refused
        check_tasks(system, len(profile.blocks))
    engines = place(system, placement)
    if partition == "even":
        cuts = even_cuts(len(profile.blocks), n_tasks)
    else:  # balanced on the first engine's times (exact for one accelerator; alleviation corrects the rest)
        cuts = balanced_cuts(profile.compute_ns[system.accelerators[0]], n_tasks)
    return NocDesign(cuts=cuts, placement=engines)


def task_loads(system: SystemSpec, profile: BlockProfile,
               design: NocDesign) -> tuple[list[float], list[float], list[float]]:
    """Per task: compute time on its engine (ns) and off-chip bytes; per transfer: bytes sent."""
    acc_of = dict(zip(system.engines, system.accelerators, strict=True))
    starts = design.starts(len(profile.blocks))
    word = system.word_bits / 8
    compute, memory, traffic = [], [], []
    for t, engine in enumerate(design.placement):
        lo, hi = starts[t], starts[t + 1]
        times = profile.compute_ns[acc_of[engine]]
        compute.append(sum(times[lo:hi]))
        nbytes = sum(b.weight_words for b in profile.blocks[lo:hi]) * word
        if t == 0:
            nbytes += profile.input_words * word
        if t == len(design.placement) - 1:
            nbytes += profile.blocks[-1].output_words * word
        memory.append(nbytes)
        if t < len(design.placement) - 1:
            traffic.append(profile.blocks[hi - 1].output_words * word)
    return compute, memory, traffic


def evaluate_design(system: SystemSpec, profile: BlockProfile, design: NocDesign) -> SystemResult:
    """The design priced on the system (:func:`~coexplore.system.pipeline.evaluate_pipeline`)."""
    starts = design.starts(len(profile.blocks))
    if any(b <= a for a, b in itertools.pairwise(starts)):
        raise SpecError(f"design.cuts: must be strictly increasing within 1..{len(profile.blocks) - 1}, got "
                        f"{list(design.cuts)}")
    compute, memory, traffic = task_loads(system, profile, design)
    return evaluate_pipeline(system, design.placement, compute, memory, traffic)


@dataclass(frozen=True, slots=True)
class Alleviation:
    """Where :func:`alleviate` ended: the design, its figures, the moves taken, designs evaluated."""

    design: NocDesign
    result: SystemResult
    steps: tuple[str, ...]
    evaluated: int


def _moves(system: SystemSpec, profile: BlockProfile, design: NocDesign,
           res: SystemResult) -> list[tuple[str, NocDesign]]:
    n = len(profile.blocks)
    starts, cuts, pl = design.starts(n), list(design.cuts), list(design.placement)
    out: list[tuple[str, NocDesign]] = []

    def shift(c: int, by: int, why: str) -> None:
        new = cuts.copy()
        new[c] += by
        full = (0, *new, n)
        if all(b > a for a, b in itertools.pairwise(full)):
            out.append((why, replace(design, cuts=tuple(new))))

    def swap(t: int, why: str) -> None:
        for u in range(len(pl)):
            if u != t:
                new = pl.copy()
                new[t], new[u] = new[u], new[t]
                out.append((f"{why}: task {t} to {new[t]}, task {u} to {new[u]}",
                            replace(design, placement=tuple(new))))

    if res.bottleneck_kind == "engine":
        t = pl.index(res.bottleneck)
        if t > 0:
            shift(t - 1, +1, f"engine {res.bottleneck}: block {profile.blocks[starts[t]].name} to task {t - 1}")
        if t < len(pl) - 1:
            shift(t, -1, f"engine {res.bottleneck}: block {profile.blocks[starts[t + 1] - 1].name} to task {t + 1}")
        # split the bottleneck task over its neighbours: the tasks within w of it re-balanced (a single block
        # moved to a neighbour may only make that neighbour the bottleneck; the window passes the load on)
        times = profile.compute_ns[system.accelerators[system.engines.index(res.bottleneck)]]
        for w in range(1, len(pl)):
            lo, hi = max(0, t - w), min(len(pl) - 1, t + w)
            sub = balanced_cuts(tuple(times[starts[lo]:starts[hi + 1]]), hi - lo + 1)
            new = (*cuts[:lo], *(starts[lo] + c for c in sub), *cuts[hi:])
            if new != design.cuts:
                out.append((f"engine {res.bottleneck}: tasks {lo}..{hi} re-balanced", replace(design, cuts=new)))
            if lo == 0 and hi == len(pl) - 1:
                break
        swap(t, f"engine {res.bottleneck}: re-map")
    elif res.bottleneck_kind == "link":
        for t, route in enumerate(res.routes):
            if res.bottleneck in route:
                shift(t, -1, f"link {res.bottleneck}: cut {t} one block earlier")
                shift(t, +1, f"link {res.bottleneck}: cut {t} one block later")
                swap(t + 1, f"link {res.bottleneck}: re-route")
                swap(t, f"link {res.bottleneck}: re-route")
    return out


def alleviate(system: SystemSpec, profile: BlockProfile, design: NocDesign, *, max_steps: int = 100) -> Alleviation:
    """NANDS's bottleneck detection and alleviation: hill-climb on the period, moving only around the bottleneck."""
    res = evaluate_design(system, profile, design)
    steps: list[str] = []
    evaluated = 1
    for _ in range(max_steps):
        best: tuple[float, float, str, NocDesign, SystemResult] | None = None
        for why, cand in _moves(system, profile, design, res):
            r = evaluate_design(system, profile, cand)
            evaluated += 1
            if best is None or (r.period_ns, r.latency_ns) < (best[0], best[1]):
                best = (r.period_ns, r.latency_ns, why, cand, r)
        if best is None or not best[0] < res.period_ns * (1 - 1e-12):
            break
        _, _, why, design, res = best
        steps.append(why)
    return Alleviation(design=design, result=res, steps=tuple(steps), evaluated=evaluated)
