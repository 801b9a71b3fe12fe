"""Pricing: a level or MAC left without energies, leakage or area gets them from a technology table.

This is how :class:`~coexplore.spec.hardware.Accelerator` avoids silent zero costs: when
it is built, every unset (``None``) cost of its levels and MAC is taken from the table of
its ``technology`` (:mod:`coexplore.spec.technology`), at its clock. Given values are kept.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from coexplore.errors import CoexploreError, SpecError
from coexplore.spec.hardware import MacUnit, MemoryLevel
from coexplore.spec.technology import DEFAULT_TECHNOLOGY, TECHNOLOGIES, Technology, _level_costs, get_technology

if TYPE_CHECKING:
    from coexplore.spec.hardware import Accelerator

__all__ = ["price_accelerator_parts", "price_level", "price_mac"]


def _zeros(fields: list[str]) -> dict[str, Any]:
    return dict.fromkeys(fields, 0.0)


def _infer_class(level: MemoryLevel) -> str:
    if level.technology_class is not None:
        return level.technology_class
    if level.size_words is None:
        return "dram"
    return "container" if level.is_container else "sram"


def price_level(level: MemoryLevel, *, technology: str | Technology = DEFAULT_TECHNOLOGY,
                clock_ghz: float = 1.0) -> MemoryLevel:
    """``level`` with every unset energy, leakage and area (and its class) taken from ``technology``.

    Given values are kept. An update is priced as a write, as :func:`make_level` does.

    Raises:
        SpecError: naming the level and the field, when the technology is unknown or
            cannot price this level (e.g. an unbounded level that is not "dram").
    """
    cls = _infer_class(level)
    unset = [f for f in ("read_energy_pj", "write_energy_pj", "update_energy_pj", "leakage_pj_per_cycle",
                         "area_mm2") if getattr(level, f) is None]
    if not unset:
        return level if level.technology_class == cls else replace(level, technology_class=cls)
    if level.is_container:  # stores nothing: nothing to price, whatever the technology
        return replace(level, technology_class=cls, **_zeros(unset))
    try:
        tech = get_technology(technology)
    except CoexploreError:
        raise SpecError(f"level {level.name!r}.{unset[0]}: not given, and technology {str(technology)!r} has "
                        f"no table to price it (known: {', '.join(TECHNOLOGIES.names())}); give the "
                        f"level's {', '.join(unset)}") from None
    if cls in ("regfile", "sram") and level.size_words is None:
        energies = [f for f in unset if f.endswith("energy_pj")]
        if energies:
            raise SpecError(f"level {level.name!r}.technology_class: an unbounded level (size_words null) can "
                            f"only be priced as 'dram', got {cls!r} with {', '.join(energies)} unset")
        # unbounded: no on-chip area or leakage to price
        return replace(level, technology_class=cls, **_zeros(unset))
    size = level.size_words if cls != "container" else None
    try:
        read, write, leak, area = _level_costs(tech, cls, size, level.word_bits, level.block_size_words,
                                               level.cluster_size, 1, None, clock_ghz)
    except SpecError as e:
        raise SpecError([f"level {level.name!r}: {p}" for p in e.problems]) from None
    values: dict[str, Any] = {"read_energy_pj": read, "write_energy_pj": write, "update_energy_pj": write,
                              "leakage_pj_per_cycle": leak, "area_mm2": area}
    return replace(level, technology_class=cls, **{f: values[f] for f in unset})


def price_mac(mac: MacUnit, *, technology: str | Technology = DEFAULT_TECHNOLOGY, kind: str = "int") -> MacUnit:
    """``mac`` with its unset energy and area taken from ``technology`` (an integer MAC of its ``bits``)."""
    unset = [f for f in ("energy_pj", "area_mm2") if getattr(mac, f) is None]
    if not unset:
        return mac
    try:
        tech = get_technology(technology)
    except CoexploreError:
        raise SpecError(f"mac.{unset[0]}: not given, and technology {str(technology)!r} has no table to price "
                        f"it (known: {', '.join(TECHNOLOGIES.names())}); give the MAC's "
                        f"{', '.join(unset)}") from None
    values: dict[str, Any] = {"energy_pj": tech.mac_energy_pj(mac.bits, kind=kind),
                              "area_mm2": tech.mac_area_mm2(mac.bits, kind=kind)}
    return replace(mac, **{f: values[f] for f in unset})


def price_accelerator_parts(acc: Accelerator) -> tuple[tuple[MemoryLevel, ...], MacUnit, list[str]]:
    """The levels and MAC of ``acc`` priced from ``acc.technology`` at ``acc.clock_ghz``, and the problems."""
    problems: list[str] = []
    levels = []
    for i, lv in enumerate(acc.levels):
        try:
            levels.append(price_level(lv, technology=acc.technology, clock_ghz=acc.clock_ghz))
        except SpecError as e:
            levels.append(lv)
            problems += [f"accelerator.levels[{i}]: {p}" for p in e.problems]
    try:
        mac = price_mac(acc.mac, technology=acc.technology)
    except SpecError as e:
        mac = acc.mac
        problems += [f"accelerator.{p}" for p in e.problems]
    return tuple(levels), mac, problems
