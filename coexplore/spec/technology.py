"""Technology tables: energy per access, area and leakage of storage and MACs, with sources.

Every number below carries its source next to it. Energies are per *vector* access of
``block_size_words`` words (Accelergy's convention), so an access moves
``word_bits * block_size_words`` bits.

Models:
    * SRAM read energy = (pJ per bit accessed at this capacity) x bits accessed. The
      per-bit value comes from a table over the capacity of one bank in bits. Between
      two table points it is interpolated linearly in (log capacity, log energy), i.e.
      along the power law through the two neighbours. Beyond the first or last point
      it is extrapolated along the nearest segment's power law. Writes cost
      ``sram_write_to_read`` times a read.
    * Register files use Accelergy's ``regfile`` compound component (the one in
      timeloop-accelergy-exercises): an access reads ``width`` Aladdin register bits
      and fires ``depth`` comparators of ``max(1, ceil(log2(depth)))`` bits. Aladdin
      gives 32-bit comparator energy, scaled linearly with bits. Read, write and update
      cost the same.
    * DRAM: pJ per bit by DRAM type x bits accessed.
    * MAC: multiplier plus adder of the same width, as Accelergy's ``intmac`` builds it.
      Where a table has one point, a stated exponent scales it with the bit width.
    * Area: µm² per bit for SRAM and register files, and per MAC by bit width.
      Leakage: pJ per bit per ns, so pJ per cycle = rate x bits / clock_ghz.

The "45nm" table (the default) uses Horowitz's 45 nm figures for arithmetic and SRAM.
The "40nm" table uses the Accelergy/CACTI/Aladdin values that produced the Timeloop
reference cases in ``data/timeloop_reference``, and it reproduces their ERT exactly.
The two come from different tools, so do not compare energies across tables (40 nm
MACs cost more than 45 nm ones here). Compare designs within one table.

An accelerator's unset costs are priced from its technology's table by
:mod:`coexplore.spec.pricing`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from coexplore.errors import SpecError
from coexplore.registry import Registry
from coexplore.spec.dims import DATASPACES, DIMS
from coexplore.spec.hardware import TECHNOLOGY_CLASSES, MacUnit, MemoryLevel

__all__ = [
    "DEFAULT_TECHNOLOGY",
    "TECHNOLOGIES",
    "TECHNOLOGY_CLASSES",
    "LogLogTable",
    "Technology",
    "get_technology",
    "make_level",
    "make_mac",
]

DEFAULT_TECHNOLOGY = "45nm"
_KIB_BITS = 8 * 1024


@dataclass(frozen=True, slots=True)
class LogLogTable:
    """Piecewise power law through ``points`` ((x, y) pairs, x ascending, all > 0).

    ``exponent`` (y ~ x**exponent) extrapolates outside the table when given. Without
    it, the end segments extrapolate. A one-point table needs an exponent.
    """

    points: tuple[tuple[float, float], ...]
    exponent: float | None = None

    def __call__(self, x: float) -> float:
        pts = self.points
        for px, py in pts:
            if x == px:
                return py
        if len(pts) == 1 or (self.exponent is not None and (x < pts[0][0] or x > pts[-1][0])):
            assert self.exponent is not None, "a one-point table needs an exponent"
            px, py = pts[0] if x < pts[0][0] else pts[-1]
            return py * (x / px) ** self.exponent
        i = 1
        while i < len(pts) - 1 and x > pts[i][0]:
            i += 1
        (x0, y0), (x1, y1) = pts[i - 1], pts[i]
        slope = math.log(y1 / y0) / math.log(x1 / x0)
        return y0 * (x / x0) ** slope


def _through(table: LogLogTable, x: float, y: float) -> LogLogTable:
    """``table`` scaled so that it passes through (x, y). That point is added exactly."""
    k = y / table(x)
    pts = sorted([(px, py * k) for px, py in table.points if px != x] + [(x, y)])
    return LogLogTable(tuple(pts), table.exponent)


# ---- Sources -------------------------------------------------------------------------
# [H14] M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC
#       2014, Fig. 1.1.9 ("rough energy costs for various operations in 45nm 0.9V").
# [ACC-REF] Timeloop+Accelergy reference outputs in data/timeloop_reference (40 nm;
#       timeloop-model.ERT.yaml and stats.txt of cases 00-04; from
#       timeloop-accelergy-exercises, ISPASS 2020 tutorial).
# [ACC-EYE] timeloop-accelergy-exercises, baseline_designs/example_designs/eyeriss_like,
#       example_AlexNet_layer1_outputs/timeloop-mapper.stats.txt (45 nm).
# [ALADDIN] Accelergy Aladdin plug-in tables (Shao et al., ISCA 2014), 40 nm, 1 GHz:
#       1-bit register read 0.009 pJ / 5.98 µm²; 32-bit comparator 0.02947 pJ;
#       32-bit multiplier 12.68 pJ / 6350 µm²; 32-bit adder 0.21 pJ / 278 µm².
# [CACTI-DRAM] Accelergy CACTI plug-in, DRAM pJ/bit by type: LPDDR4 8, LPDDR 40 (Malladi
#       et al., ISCA'12), DDR3 70 (Chatterjee et al., MICRO'17), GDDR5 14, HBM2 3.9.
#       (H14 gives 1.3-2.6 nJ per 64-bit DRAM access, i.e. 20-40 pJ/bit, for DDR3.)
# [IEDM07] K. Mistry et al., "A 45nm logic technology with high-k + metal gate...",
#       IEDM 2007: 0.346 µm² 6T SRAM cell.
_DRAM_PJ_PER_BIT = (("LPDDR4", 8.0), ("LPDDR", 40.0), ("DDR3", 70.0), ("GDDR5", 14.0), ("HBM2", 3.9))

# [H14] 64-bit cache reads: 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ -> pJ per bit accessed.
_SRAM_READ_45NM = LogLogTable(
    ((8 * _KIB_BITS, 10 / 64), (32 * _KIB_BITS, 20 / 64), (1024 * _KIB_BITS, 100 / 64))
)
# [ACC-REF] 40 nm SRAM, depth 32768 x width 64 (256 KB), 64-bit access: read 43.353054 pJ,
# write 30.878292 pJ, leak 0.007972 pJ/cycle at 1 GHz, area 707084 µm². This is the only
# 40 nm SRAM point we have, so the 40 nm curve is H14's shape scaled through it.
_REF40_SRAM_BITS, _REF40_SRAM_READ, _REF40_SRAM_WRITE = 32768 * 64, 43.353054, 30.878292
_SRAM_READ_40NM = _through(_SRAM_READ_45NM, _REF40_SRAM_BITS, _REF40_SRAM_READ / 64)
# [ACC-REF] 40 nm regfile 64 x 8 bits: leak 0.000861 pJ/cycle at 1 GHz, area 887.84 µm².
_REF40_RF_BITS = 64 * 8


@dataclass(frozen=True, slots=True, kw_only=True)
class Technology:
    """One process node's tables. Build one with :func:`get_technology`."""

    name: str
    description: str
    sram_read_pj_per_bit: LogLogTable  # vs capacity of one bank in bits
    sram_write_to_read: float
    regfile_bit_read_pj: float  # per bit of access width
    regfile_comparator32_pj: float  # per comparator, 32 bits wide
    dram_pj_per_bit: tuple[tuple[str, float], ...] = _DRAM_PJ_PER_BIT
    default_dram_type: str = "LPDDR4"
    mult_pj: tuple[tuple[str, LogLogTable], ...]  # by kind ("int", "fp"), vs bits
    add_pj: tuple[tuple[str, LogLogTable], ...]
    mac_area_um2: tuple[tuple[str, LogLogTable], ...]
    sram_area_um2_per_bit: float
    regfile_area_um2_per_bit: float
    sram_leak_pj_per_bit_ns: float
    regfile_leak_pj_per_bit_ns: float

    # -- validation ----------------------------------------------------------------------
    def _check(self, method: str, **values: object) -> None:
        out = []
        for name, v in values.items():
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                out.append(f"technology {self.name!r}.{method}: {name} must be a positive integer, got {v!r}")
        if out:
            raise SpecError(out)

    def _kind(self, table: tuple[tuple[str, LogLogTable], ...], kind: str, what: str) -> LogLogTable:
        found = dict(table)
        if kind not in found:
            raise SpecError(
                f"technology {self.name!r}.{what}: no sourced data for kind {kind!r}, valid: {sorted(found)}"
            )
        return found[kind]

    # -- energies (pJ per vector access) -------------------------------------------------
    def sram_read_energy_pj(self, size_words: int, word_bits: int, block_size_words: int = 1, *,
                            banks: int = 1) -> float:
        """Read of ``block_size_words`` words from one bank of an SRAM of ``size_words`` words."""
        self._check("sram_read_energy_pj", size_words=size_words, word_bits=word_bits,
                    block_size_words=block_size_words, banks=banks)
        bank_bits = size_words * word_bits / banks
        return self.sram_read_pj_per_bit(bank_bits) * word_bits * block_size_words

    def sram_write_energy_pj(self, size_words: int, word_bits: int, block_size_words: int = 1, *,
                             banks: int = 1) -> float:
        """Write (also a Timeloop update) of one vector into an SRAM."""
        return self.sram_write_to_read * self.sram_read_energy_pj(
            size_words, word_bits, block_size_words, banks=banks)

    def regfile_energy_pj(self, size_words: int, word_bits: int, block_size_words: int = 1) -> float:
        """Read, write or update of one vector of a register file (Accelergy's ``regfile``)."""
        self._check("regfile_energy_pj", size_words=size_words, word_bits=word_bits,
                    block_size_words=block_size_words)
        depth = math.ceil(size_words / block_size_words)
        compare_bits = max(1, math.ceil(math.log2(depth)))
        width = word_bits * block_size_words
        return width * self.regfile_bit_read_pj + depth * self.regfile_comparator32_pj * compare_bits / 32

    def dram_energy_pj(self, word_bits: int, block_size_words: int = 1, *,
                       dram_type: str | None = None) -> float:
        """Read or write of one vector of DRAM (``dram_type`` defaults to the table's)."""
        self._check("dram_energy_pj", word_bits=word_bits, block_size_words=block_size_words)
        kind = dram_type or self.default_dram_type
        per_bit = dict(self.dram_pj_per_bit)
        if kind not in per_bit:
            raise SpecError(
                f"technology {self.name!r}.dram_energy_pj: unknown dram_type {kind!r}, valid: {list(per_bit)}"
            )
        return per_bit[kind] * word_bits * block_size_words

    def mac_energy_pj(self, bits: int, *, kind: str = "int", weight_bits: int | None = None,
                      input_bits: int | None = None, accumulator_bits: int | None = None) -> float:
        """One multiply-accumulate: a ``weight_bits x input_bits`` multiplier plus an ``accumulator_bits`` adder.

        Operand widths default to ``bits`` and the adder to ``bits`` (the tables' square
        MACs). The multiplier's energy follows the product of its operand widths (an
        array multiplier has ``w * a`` partial-product cells; the tables grow as bits**2,
        Accelergy's scaling): it is the table at ``sqrt(w * a)``. The adder scales with its width.
        """
        w, a = weight_bits or bits, input_bits or bits
        acc = accumulator_bits or bits
        self._check("mac_energy_pj", bits=bits, weight_bits=w, input_bits=a, accumulator_bits=acc)
        mult = self._kind(self.mult_pj, kind, "mac_energy_pj")
        add = self._kind(self.add_pj, kind, "mac_energy_pj")
        return mult(math.sqrt(w * a)) + add(acc)

    def add_energy_pj(self, bits: int, *, kind: str = "int") -> float:
        """One ``bits``-wide addition (the adder half of a MAC; butterfly units need adders without multipliers)."""
        self._check("add_energy_pj", bits=bits)
        return self._kind(self.add_pj, kind, "add_energy_pj")(bits)

    # -- area and leakage ----------------------------------------------------------------
    def sram_area_mm2(self, size_bits: int) -> float:
        self._check("sram_area_mm2", size_bits=size_bits)
        return size_bits * self.sram_area_um2_per_bit * 1e-6

    def regfile_area_mm2(self, size_bits: int) -> float:
        self._check("regfile_area_mm2", size_bits=size_bits)
        return size_bits * self.regfile_area_um2_per_bit * 1e-6

    def mac_area_mm2(self, bits: int, *, kind: str = "int", weight_bits: int | None = None,
                     input_bits: int | None = None) -> float:
        """Area of one MAC; like its energy, it follows the product of the operand widths."""
        w, a = weight_bits or bits, input_bits or bits
        self._check("mac_area_mm2", bits=bits, weight_bits=w, input_bits=a)
        return self._kind(self.mac_area_um2, kind, "mac_area_mm2")(math.sqrt(w * a)) * 1e-6

    def leakage_pj_per_cycle(self, size_bits: int, *, technology_class: str = "sram",
                             clock_ghz: float = 1.0) -> float:
        """Leakage of ``size_bits`` of storage per clock cycle at ``clock_ghz``."""
        self._check("leakage_pj_per_cycle", size_bits=size_bits)
        rates = {"sram": self.sram_leak_pj_per_bit_ns, "regfile": self.regfile_leak_pj_per_bit_ns}
        out = []
        if technology_class not in rates:
            out.append(f"technology {self.name!r}.leakage_pj_per_cycle: technology_class must be one of "
                       f"{sorted(rates)}, got {technology_class!r}")
        if isinstance(clock_ghz, bool) or not isinstance(clock_ghz, (int, float)) or clock_ghz <= 0:
            out.append(f"technology {self.name!r}.leakage_pj_per_cycle: clock_ghz must be > 0, "
                       f"got {clock_ghz!r}")
        if out:
            raise SpecError(out)
        return rates[technology_class] * size_bits / clock_ghz


TECHNOLOGIES: Registry[Technology] = Registry(kind="technology")


@TECHNOLOGIES.register("45nm")
def _tech_45nm() -> Technology:
    """45 nm: Horowitz ISSCC'14 arithmetic and SRAM, Accelergy regfile, LPDDR4 DRAM (default)."""
    return Technology(
        name="45nm",
        description=_tech_45nm.__doc__ or "",
        sram_read_pj_per_bit=_SRAM_READ_45NM,
        # [ACC-EYE] reports the same energy for reads and writes of its SRAMs; H14 gives reads only.
        sram_write_to_read=1.0,
        # [ACC-EYE] 16x16-bit regfile (DummyBuffer) 0.20 pJ = 16*0.009 + 16*0.02947*4/32: Accelergy
        # uses [ALADDIN]'s 40 nm register/comparator values unscaled at 45 nm, and so do we.
        regfile_bit_read_pj=0.009,
        regfile_comparator32_pj=0.02947,
        # [H14] int: mult 8b 0.2, 32b 3.1; add 8b 0.03, 32b 0.1. fp: mult 16b 1.1, 32b 3.7;
        # add 16b 0.4, 32b 0.9 (pJ). Other widths follow the power law through the neighbours.
        mult_pj=(("int", LogLogTable(((8, 0.2), (32, 3.1)))), ("fp", LogLogTable(((16, 1.1), (32, 3.7))))),
        add_pj=(("int", LogLogTable(((8, 0.03), (32, 0.1)))), ("fp", LogLogTable(((16, 0.4), (32, 0.9))))),
        # [ACC-EYE] 168 16-bit intmacs, 208236 µm² in total -> 1239.5 µm² each; multiplier
        # area grows as bits², so the other widths scale with exponent 2. No fp source.
        mac_area_um2=(("int", LogLogTable(((16, 208236 / 168),), exponent=2.0)),),
        # [ACC-REF] 40 nm 0.33716 µm²/bit scaled by (45/40)². Cross-check: [IEDM07]'s 0.346 µm²
        # cell implies 81% array efficiency. [ACC-EYE]'s 32-bank 128 KB buffer is 1.11 µm²/bit.
        sram_area_um2_per_bit=707084 / _REF40_SRAM_BITS * (45 / 40) ** 2,
        # [ACC-EYE] weights_spad, 192 x 16 bits, 3634.68 µm².
        regfile_area_um2_per_bit=3634.68 / (192 * 16),
        # No 45 nm leakage source: the [ACC-REF] 40 nm per-bit rates are reused.
        sram_leak_pj_per_bit_ns=0.007972 / _REF40_SRAM_BITS,
        regfile_leak_pj_per_bit_ns=0.000861 / _REF40_RF_BITS,
    )


@TECHNOLOGIES.register("40nm")
def _tech_40nm() -> Technology:
    """40 nm: the Accelergy/CACTI/Aladdin values behind the Timeloop reference cases."""
    return Technology(
        name="40nm",
        description=_tech_40nm.__doc__ or "",
        sram_read_pj_per_bit=_SRAM_READ_40NM,
        sram_write_to_read=_REF40_SRAM_WRITE / _REF40_SRAM_READ,
        # [ACC-REF] regfile 64x8: 0.42564 pJ = 8*0.009 + 64*0.02947*6/32 ([ALADDIN]).
        regfile_bit_read_pj=0.009,
        regfile_comparator32_pj=0.02947,
        # [ALADDIN] 32-bit multiplier 12.68 pJ (Accelergy scales it with width²) and adder 0.21 pJ
        # (scaled linearly). Together they give [ACC-REF]'s 8-bit intmac, 0.845 pJ.
        mult_pj=(("int", LogLogTable(((32, 12.68),), exponent=2.0)),),
        add_pj=(("int", LogLogTable(((32, 0.21),), exponent=1.0)),),
        # [ACC-REF] 8-bit intmac 332.25 µm²; bits² for the other widths.
        mac_area_um2=(("int", LogLogTable(((8, 332.25),), exponent=2.0)),),
        sram_area_um2_per_bit=707084 / _REF40_SRAM_BITS,
        regfile_area_um2_per_bit=887.84 / _REF40_RF_BITS,
        sram_leak_pj_per_bit_ns=0.007972 / _REF40_SRAM_BITS,
        regfile_leak_pj_per_bit_ns=0.000861 / _REF40_RF_BITS,
    )


def get_technology(name: str | Technology = DEFAULT_TECHNOLOGY) -> Technology:
    """The technology registered as ``name``. A :class:`Technology` is passed through."""
    return name if isinstance(name, Technology) else TECHNOLOGIES.get(name)


def make_level(
    *,
    name: str,
    technology_class: str,
    size_words: int | None,
    word_bits: int = 8,
    block_size_words: int = 1,
    cluster_size: int = 1,
    mesh_x: int = 1,
    mesh_y: int = 1,
    keeps: Iterable[str] = DATASPACES,
    must_keep: Iterable[str] = (),
    spatial_dims_x: Iterable[str] = DIMS,
    spatial_dims_y: Iterable[str] = DIMS,
    multicast: bool = True,
    spatial_reduction: bool = True,
    read_bandwidth_words_per_cycle: float | None = None,
    write_bandwidth_words_per_cycle: float | None = None,
    shared_bandwidth_words_per_cycle: float | None = None,
    banks: int = 1,
    dram_type: str | None = None,
    clock_ghz: float = 1.0,
    technology: str | Technology = DEFAULT_TECHNOLOGY,
) -> MemoryLevel:
    """A :class:`MemoryLevel` whose energies, leakage and area come from a technology table.

    ``mesh_x * mesh_y`` copies are made. A "container" stores nothing (size 0, keeps
    nothing) and costs nothing. A "dram" level has no area or leakage. ``banks`` splits
    an SRAM for energy: an access reads one bank. Leakage per cycle depends on
    ``clock_ghz``. With ``cluster_size`` > 1, that many instances form one array of
    ``size_words * cluster_size`` words whose access is ``cluster_size`` vectors wide
    (Timeloop's clusters), and the energies are per such access; leakage and area stay
    per instance.
    """
    tech = get_technology(technology)
    keeps = frozenset(keeps)
    problems = []
    if technology_class not in TECHNOLOGY_CLASSES:
        problems.append(f"level {name!r}.technology_class: must be one of {list(TECHNOLOGY_CLASSES)}, "
                        f"got {technology_class!r}")
    elif technology_class == "container" and (keeps or size_words):
        problems.append(f"level {name!r}: a container keeps nothing and has size 0, "
                        f"got keeps={sorted(keeps)}, size_words={size_words!r}")
    elif technology_class in ("regfile", "sram") and size_words is None:
        problems.append(f"level {name!r}.size_words: a {technology_class} needs a size, got None")
    if problems:
        raise SpecError(problems)
    try:
        read, write, leak, area = _level_costs(
            tech, technology_class, size_words, word_bits, block_size_words, cluster_size, banks, dram_type,
            clock_ghz,
        )
    except SpecError as e:
        raise SpecError([f"level {name!r}: {p}" for p in e.problems]) from None
    return MemoryLevel(
        name=name,
        size_words=0 if technology_class == "container" else size_words,
        word_bits=word_bits,
        block_size_words=block_size_words,
        cluster_size=cluster_size,
        instances=mesh_x * mesh_y,
        mesh_x=mesh_x,
        mesh_y=mesh_y,
        keeps=keeps,
        must_keep=frozenset(must_keep),
        spatial_dims_x=frozenset(spatial_dims_x),
        spatial_dims_y=frozenset(spatial_dims_y),
        multicast=multicast,
        spatial_reduction=spatial_reduction,
        read_bandwidth_words_per_cycle=read_bandwidth_words_per_cycle,
        write_bandwidth_words_per_cycle=write_bandwidth_words_per_cycle,
        shared_bandwidth_words_per_cycle=shared_bandwidth_words_per_cycle,
        read_energy_pj=read,
        write_energy_pj=write,
        update_energy_pj=write,  # Timeloop charges an update (read-modify-write) as a write
        leakage_pj_per_cycle=leak,
        area_mm2=area,
        technology_class=technology_class,
    )


def _level_costs(
    tech: Technology, technology_class: str, size_words: int | None, word_bits: int, block_size_words: int,
    cluster_size: int, banks: int, dram_type: str | None, clock_ghz: float,
) -> tuple[float, float, float, float]:
    """(read pJ, write pJ, leakage pJ/cycle, area mm²) of one instance of a level (energies per cluster access)."""
    if technology_class == "dram":
        if cluster_size != 1:
            raise SpecError(f"cluster_size: a dram level has no clusters (Timeloop asserts 1), got {cluster_size}")
        energy = tech.dram_energy_pj(word_bits, block_size_words, dram_type=dram_type)
        return energy, energy, 0.0, 0.0
    if technology_class == "container" or size_words is None:
        return 0.0, 0.0, 0.0, 0.0
    bits = size_words * word_bits
    words, vector = size_words * cluster_size, block_size_words * cluster_size
    if technology_class == "regfile":
        read = write = tech.regfile_energy_pj(words, word_bits, vector)
        area = tech.regfile_area_mm2(bits)
    else:
        read = tech.sram_read_energy_pj(words, word_bits, vector, banks=banks)
        write = tech.sram_write_energy_pj(words, word_bits, vector, banks=banks)
        area = tech.sram_area_mm2(bits)
    leak = tech.leakage_pj_per_cycle(bits, technology_class=technology_class, clock_ghz=clock_ghz)
    return read, write, leak, area


def make_mac(*, bits: int, mesh_x: int, mesh_y: int = 1, kind: str = "int", accumulator_bits: int | None = None,
             brick_bits: int | None = None, technology: str | Technology = DEFAULT_TECHNOLOGY) -> MacUnit:
    """A :class:`MacUnit` of ``mesh_x * mesh_y`` MACs with energy and area from the table.

    ``accumulator_bits`` sets the partial-sum width (the adder's energy uses it);
    ``brick_bits`` makes the MACs precision-scalable (:mod:`coexplore.spec.precision`), the
    energy and area then being those of one full ``bits x bits`` unit.
    """
    tech = get_technology(technology)
    return MacUnit(
        name="mac", instances=mesh_x * mesh_y, mesh_x=mesh_x, mesh_y=mesh_y, bits=bits,
        accumulator_bits=accumulator_bits, brick_bits=brick_bits,
        energy_pj=tech.mac_energy_pj(bits, kind=kind, accumulator_bits=accumulator_bits),
        area_mm2=tech.mac_area_mm2(bits, kind=kind),
    )
