"""Accelerators: a memory hierarchy above a spatial array of MAC units.

Levels are listed innermost first (register files, then buffers, then DRAM), as in
Timeloop. A level's ``instances`` and ``mesh_x``/``mesh_y`` say how many copies exist;
the ratio to the next inner level (or the MACs) is its spatial fan-out, and the
``spatial_dims_x``/``spatial_dims_y`` sets say which loop dimensions that fan-out may
unroll: together they are the accelerator's connectivity, i.e. its dataflow family.
Energies are per *vector* access of ``block_size_words`` words, as Accelergy reports
them; cross-field rules live in :func:`Accelerator.problems`.

No silent zero cost: an energy, leakage or area left unset (``None``) is priced from the
accelerator's ``technology`` table when the :class:`Accelerator` is built (see
:func:`coexplore.spec.pricing.price_level`), and an accelerator whose MACs or whose
storage levels would cost nothing per access is refused, naming the field, unless the
part says ``cost_free=True`` (the documented opt-in, e.g. for an idealised level). A
level that keeps nothing (a spatial container) never costs anything and needs no opt-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coexplore.errors import SpecError
from coexplore.spec.dims import DATASPACES, DIMS

__all__ = ["TECHNOLOGY_CLASSES", "Accelerator", "MacUnit", "MemoryLevel"]

_ALL_DIMS = frozenset(DIMS)
TECHNOLOGY_CLASSES = ("regfile", "sram", "dram", "container")
_LEVEL_COSTS = ("read_energy_pj", "write_energy_pj", "update_energy_pj", "leakage_pj_per_cycle", "area_mm2")


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryLevel:
    """One storage level (or a pure spatial container when it keeps nothing).

    Attributes:
        name: Unique level name.
        size_words: Capacity per instance in words; ``None`` means unbounded (DRAM).
        word_bits: Bits per word.
        block_size_words: Words moved per vector access (``width / datawidth``).
        cluster_size: Instances that share one physical array and so one access
            (Timeloop's ``cluster_size``): the level's energies are per access of the
            whole cluster, ``word_bits * block_size_words * cluster_size`` bits wide,
            and a dataspace's access energy is charged per utilized cluster.
        instances, mesh_x, mesh_y: Copies of this level and their 2-D arrangement.
        keeps: Dataspaces this level may hold; a mapping may bypass any of them.
        must_keep: Dataspaces every mapping must keep here (Timeloop ``keep`` constraint).
        spatial_dims_x, spatial_dims_y: Loop dims this level's fan-out may unroll per axis.
        multicast: Whether one parent read can feed several children that need the same data.
        spatial_reduction: Whether children's partial sums can be added in the network.
        read_bandwidth_words_per_cycle, write_bandwidth_words_per_cycle,
            shared_bandwidth_words_per_cycle: Per-instance limits; ``None`` = unlimited.
        read_energy_pj, write_energy_pj, update_energy_pj: Energy per vector access;
            ``None``: priced from the accelerator's technology (update as a write).
        leakage_pj_per_cycle: Leakage per instance per cycle (``None``: from the technology).
        area_mm2: Area per instance (``None``: from the technology).
        technology_class: "regfile", "sram", "dram" or "container"; ``None`` infers it
            when pricing: "dram" if unbounded, "container" if it keeps nothing, else "sram".
        cost_free: Opt-in for a level whose accesses all cost 0 pJ (otherwise refused).
    """

    name: str
    size_words: int | None
    word_bits: int = 8
    block_size_words: int = 1
    cluster_size: int = 1
    instances: int = 1
    mesh_x: int = 1
    mesh_y: int = 1
    keeps: frozenset[str] = frozenset(DATASPACES)
    must_keep: frozenset[str] = frozenset()
    spatial_dims_x: frozenset[str] = _ALL_DIMS
    spatial_dims_y: frozenset[str] = _ALL_DIMS
    multicast: bool = True
    spatial_reduction: bool = True
    read_bandwidth_words_per_cycle: float | None = None
    write_bandwidth_words_per_cycle: float | None = None
    shared_bandwidth_words_per_cycle: float | None = None
    read_energy_pj: float | None = None
    write_energy_pj: float | None = None
    update_energy_pj: float | None = None
    leakage_pj_per_cycle: float | None = None
    area_mm2: float | None = None
    technology_class: str | None = None
    cost_free: bool = False

    def __post_init__(self) -> None:
        for name in ("keeps", "must_keep", "spatial_dims_x", "spatial_dims_y"):
            v = getattr(self, name)
            if not isinstance(v, frozenset):
                object.__setattr__(self, name, frozenset(v))
        problems = self.problems()
        if problems:
            raise SpecError(problems)

    def problems(self, path: str | None = None) -> list[str]:
        p = path or f"level {self.name!r}"
        out = []
        if self.size_words is not None and (not isinstance(self.size_words, int) or self.size_words < 0):
            out.append(f"{p}.size_words: must be >= 0 or null, got {self.size_words!r}")
        for f in ("word_bits", "block_size_words", "cluster_size", "instances", "mesh_x", "mesh_y"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                out.append(f"{p}.{f}: must be a positive integer, got {v!r}")
        if not out and self.mesh_x * self.mesh_y != self.instances:
            out.append(
                f"{p}.instances: must equal mesh_x*mesh_y={self.mesh_x * self.mesh_y}, got {self.instances}"
            )
        if not out and self.instances % self.cluster_size:
            out.append(f"{p}.cluster_size: must divide instances={self.instances}, got {self.cluster_size}")
        for f in ("keeps", "must_keep"):
            bad = sorted(set(getattr(self, f)) - set(DATASPACES))
            if bad:
                out.append(f"{p}.{f}: unknown dataspace(s) {bad}, valid: {list(DATASPACES)}")
        if not self.must_keep <= self.keeps:
            out.append(f"{p}.must_keep: must be a subset of keeps {sorted(self.keeps)}, got {sorted(self.must_keep)}")
        for f in ("spatial_dims_x", "spatial_dims_y"):
            bad = sorted(set(getattr(self, f)) - _ALL_DIMS)
            if bad:
                out.append(f"{p}.{f}: unknown dimension(s) {bad}, valid: {list(DIMS)}")
        for f in _LEVEL_COSTS:
            v = getattr(self, f)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0):
                out.append(f"{p}.{f}: must be >= 0 or null (priced from the technology), got {v!r}")
        if self.technology_class is not None and self.technology_class not in TECHNOLOGY_CLASSES:
            out.append(f"{p}.technology_class: must be one of {list(TECHNOLOGY_CLASSES)} or null, "
                       f"got {self.technology_class!r}")
        for f in (
            "read_bandwidth_words_per_cycle", "write_bandwidth_words_per_cycle",
            "shared_bandwidth_words_per_cycle",
        ):
            v = getattr(self, f)
            if v is not None and (not isinstance(v, (int, float)) or v <= 0):
                out.append(f"{p}.{f}: must be > 0 or null, got {v!r}")
        return out

    @property
    def size_bits(self) -> int | None:
        return None if self.size_words is None else self.size_words * self.word_bits

    @property
    def clusters(self) -> int:
        """Physical arrays of this level: a dataspace's accesses are charged to at most this many."""
        return self.instances // self.cluster_size

    @property
    def is_container(self) -> bool:
        """True for a level that stores nothing and only fans out (Timeloop's spatial dummy)."""
        return not self.keeps

    @property
    def is_priced(self) -> bool:
        """Every energy, leakage and area is set (as in any level of an :class:`Accelerator`)."""
        return all(getattr(self, f) is not None for f in _LEVEL_COSTS) and self.technology_class is not None

    @property
    def read_pj(self) -> float:
        """``read_energy_pj`` of a priced level (the cost model reads these four)."""
        return _priced(self.read_energy_pj, self.name, "read_energy_pj")

    @property
    def write_pj(self) -> float:
        return _priced(self.write_energy_pj, self.name, "write_energy_pj")

    @property
    def update_pj(self) -> float:
        return _priced(self.update_energy_pj, self.name, "update_energy_pj")

    @property
    def leak_pj(self) -> float:
        return _priced(self.leakage_pj_per_cycle, self.name, "leakage_pj_per_cycle")

    @property
    def area(self) -> float:
        return _priced(self.area_mm2, self.name, "area_mm2")


def _priced(v: float | None, name: str, f: str) -> float:
    if v is None:
        raise SpecError(f"level {name!r}.{f}: not priced; build the level into an Accelerator (or use "
                        f"coexplore.spec.pricing.price_level) to take it from a technology table")
    return v


@dataclass(frozen=True, slots=True, kw_only=True)
class MacUnit:
    """The multiply-accumulate array below the innermost storage level.

    Attributes:
        bits: Widest operand (weights, inputs) a MAC multiplies.
        accumulator_bits: Width of the partial sums it adds (``None``: see
            :attr:`Accelerator.accumulator_bits`); a quantized layer's outputs default to it.
        brick_bits: Set for a precision-scalable MAC (Bit Fusion): it is built of
            ``(bits / brick_bits)**2`` brick multipliers that fuse, in powers of two, into
            more, narrower products per cycle (:mod:`coexplore.spec.precision`).
            ``energy_pj`` and ``area_mm2`` are then per full-precision unit.
        energy_pj, area_mm2: Per MAC; ``None``: priced from the accelerator's technology.
        cost_free: Opt-in for MACs that cost 0 pJ (otherwise refused).
    """

    name: str = "mac"
    instances: int = 1
    mesh_x: int = 1
    mesh_y: int = 1
    bits: int = 8
    accumulator_bits: int | None = None
    brick_bits: int | None = None
    energy_pj: float | None = None
    area_mm2: float | None = None
    cost_free: bool = False

    def __post_init__(self) -> None:
        out = []
        for f in ("instances", "mesh_x", "mesh_y", "bits"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                out.append(f"mac.{f}: must be a positive integer, got {v!r}")
        if not out and self.mesh_x * self.mesh_y != self.instances:
            out.append(f"mac.instances: must equal mesh_x*mesh_y={self.mesh_x * self.mesh_y}, got {self.instances}")
        for f in ("energy_pj", "area_mm2"):
            v = getattr(self, f)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0):
                out.append(f"mac.{f}: must be >= 0 or null (priced from the technology), got {v!r}")
        for f in ("accumulator_bits", "brick_bits"):
            v = getattr(self, f)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= 64):
                out.append(f"mac.{f}: must be an integer from 1 to 64 or null, got {v!r}")
        b = self.brick_bits
        if not out and b is not None and (self.bits % b or (self.bits // b) & (self.bits // b - 1)):
            out.append(f"mac.brick_bits: bits={self.bits} must be a power-of-two multiple of it, got {b}")
        if out:
            raise SpecError(out)

    @property
    def pj(self) -> float:
        """``energy_pj`` of a priced MAC (inside an :class:`Accelerator` it always is)."""
        if self.energy_pj is None:
            raise SpecError("mac.energy_pj: not priced; build the MAC into an Accelerator to take it from "
                            "a technology table")
        return self.energy_pj

    @property
    def area(self) -> float:
        if self.area_mm2 is None:
            raise SpecError("mac.area_mm2: not priced; build the MAC into an Accelerator to take it from "
                            "a technology table")
        return self.area_mm2


@dataclass(frozen=True, slots=True, kw_only=True)
class Accelerator:
    """A memory hierarchy (innermost first) above a MAC array, with a clock."""

    name: str
    levels: tuple[MemoryLevel, ...]
    mac: MacUnit
    clock_ghz: float = 1.0
    technology: str = "45nm"
    description: str = ""
    metadata: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not isinstance(self.levels, tuple):
            object.__setattr__(self, "levels", tuple(self.levels))
        problems = self.problems()
        if not problems and not (self.mac.energy_pj is not None and self.mac.area_mm2 is not None
                                 and all(lv.is_priced for lv in self.levels)):
            from coexplore.spec.pricing import price_accelerator_parts  # it imports this module

            levels, mac, problems = price_accelerator_parts(self)
            object.__setattr__(self, "levels", levels)
            object.__setattr__(self, "mac", mac)
        if not problems:
            problems = self.cost_problems()
        if problems:
            raise SpecError(problems)

    def cost_problems(self) -> list[str]:
        """No silent zero: MACs and storing levels must cost something unless they opt out."""
        out = []
        if self.mac.energy_pj == 0 and not self.mac.cost_free:
            out.append("accelerator.mac.energy_pj: every MAC would cost 0 pJ; give its energy, leave it unset "
                       f"to price it from technology {self.technology!r}, or set cost_free: true")
        for i, lv in enumerate(self.levels):
            if lv.keeps and not lv.cost_free and lv.read_energy_pj == lv.write_energy_pj == lv.update_energy_pj == 0:
                out.append(
                    f"accelerator.levels[{i}].read_energy_pj: level {lv.name!r} keeps data but its reads, writes "
                    f"and updates would all cost 0 pJ; give its energies, leave them unset to price them from "
                    f"technology {self.technology!r}, or set cost_free: true"
                )
        return out

    def problems(self) -> list[str]:
        """Cross-level rules: names, instance nesting and the top level."""
        out = []
        if not self.levels:
            return [f"accelerator {self.name!r}.levels: must not be empty, got 0 levels"]
        names = [lv.name for lv in self.levels]
        for i, n in enumerate(names):
            if names.index(n) != i:
                out.append(f"accelerator.levels[{i}].name: must be unique, got duplicate {n!r}")
        inner_x, inner_y, inner_n = self.mac.mesh_x, self.mac.mesh_y, self.mac.instances
        for i, lv in enumerate(self.levels):
            if inner_n % lv.instances or inner_x % lv.mesh_x or inner_y % lv.mesh_y:
                out.append(
                    f"accelerator.levels[{i}].instances: {lv.name} ({lv.mesh_x}x{lv.mesh_y}) must divide "
                    f"the next inner level's mesh {inner_x}x{inner_y}, got {lv.instances}"
                )
            inner_x, inner_y, inner_n = lv.mesh_x, lv.mesh_y, lv.instances
        top = self.levels[-1]
        if top.instances != 1:
            out.append(
                f"accelerator.levels[{len(self.levels) - 1}].instances: the outermost level must have 1 instance, "
                f"got {top.instances}"
            )
        if top.keeps != frozenset(DATASPACES):
            out.append(
                f"accelerator.levels[{len(self.levels) - 1}].keeps: the outermost level must keep every dataspace, "
                f"got {sorted(top.keeps)}"
            )
        if not isinstance(self.clock_ghz, (int, float)) or self.clock_ghz <= 0:
            out.append(f"accelerator.clock_ghz: must be > 0, got {self.clock_ghz!r}")
        return out

    # -- derived -------------------------------------------------------------------
    def fanout(self, i: int) -> tuple[int, int]:
        """(X, Y) fan-out from level ``i`` to the next inner level (or the MACs for i=0)."""
        lv = self.levels[i]
        inner = self.mac if i == 0 else self.levels[i - 1]
        return inner.mesh_x // lv.mesh_x, inner.mesh_y // lv.mesh_y

    def level_index(self, name: str) -> int:
        for i, lv in enumerate(self.levels):
            if lv.name == name:
                return i
        names = [lv.name for lv in self.levels]
        raise SpecError(f"accelerator {self.name!r}: no level named {name!r}; levels: {names}")

    @property
    def n_macs(self) -> int:
        return self.mac.instances

    @property
    def accumulator_bits(self) -> int:
        """Partial-sum width: the MAC's ``accumulator_bits``, else the word of the innermost level
        that may keep outputs (where partial sums live), else twice the MAC's operand width
        (Accelergy's ``intmac`` pairs an n-bit multiplier with a 2n-bit adder)."""
        if self.mac.accumulator_bits is not None:
            return self.mac.accumulator_bits
        inner = next((lv for lv in self.levels if "outputs" in lv.keeps), None)
        return inner.word_bits if inner is not None else 2 * self.mac.bits

    @property
    def onchip_bits(self) -> int:
        """Total on-chip storage (every level but the outermost, all instances)."""
        return sum((lv.size_bits or 0) * lv.instances for lv in self.levels[:-1])

    @property
    def area_mm2(self) -> float:
        return self.mac.area * self.mac.instances + sum(lv.area * lv.instances for lv in self.levels)
