"""Resource budgets of accelerator search: the resources of a known accelerator.

NAAS (Lin et al., DAC 2021) searches accelerators "under the resources of" EdgeTPU,
NVDLA, Eyeriss and ShiDianNao: no more MACs and no more on-chip SRAM than the chip,
and (here) no more DRAM bandwidth. A :class:`Budget` holds those limits; every design
a search returns satisfies :meth:`Budget.violations` == [].
"""

from __future__ import annotations

from dataclasses import dataclass

from coexplore.errors import SpecError
from coexplore.spec.hardware import Accelerator, MemoryLevel

__all__ = ["Budget", "dram_bandwidth", "resolve_budget"]


def dram_bandwidth(level: MemoryLevel) -> float | None:
    """Words per cycle the outermost level can move: its shared limit, else read + write, else None."""
    if level.shared_bandwidth_words_per_cycle is not None:
        return level.shared_bandwidth_words_per_cycle
    parts = (level.read_bandwidth_words_per_cycle, level.write_bandwidth_words_per_cycle)
    return None if None in parts else sum(p for p in parts if p is not None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """Limits on a searched accelerator.

    Attributes:
        name: Where the limits come from (a preset name).
        max_macs: MAC units at most.
        max_sram_bits: On-chip storage (every level but the outermost, all instances) at most.
        max_dram_bandwidth_words_per_cycle: Bandwidth of the outermost level at most;
            ``None`` = unbounded.
    """

    name: str
    max_macs: int
    max_sram_bits: int
    max_dram_bandwidth_words_per_cycle: float | None = None

    def __post_init__(self) -> None:
        out = []
        for f in ("max_macs", "max_sram_bits"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                out.append(f"budget {self.name!r}.{f}: must be a positive integer (no design fits in {v!r}), "
                           f"got {v!r}")
        bw = self.max_dram_bandwidth_words_per_cycle
        if bw is not None and (not isinstance(bw, (int, float)) or bw <= 0):
            out.append(f"budget {self.name!r}.max_dram_bandwidth_words_per_cycle: must be > 0 or None, got {bw!r}")
        if out:
            raise SpecError(out)

    @classmethod
    def from_accelerator(cls, accelerator: Accelerator) -> Budget:
        """The resources of ``accelerator``: its MACs, on-chip bits and DRAM bandwidth."""
        return cls(name=accelerator.name, max_macs=accelerator.n_macs, max_sram_bits=accelerator.onchip_bits,
                   max_dram_bandwidth_words_per_cycle=dram_bandwidth(accelerator.levels[-1]))

    def violations(self, accelerator: Accelerator) -> list[str]:
        """Every limit ``accelerator`` exceeds, each naming the limit and both values."""
        out = []
        if accelerator.n_macs > self.max_macs:
            out.append(f"budget.max_macs: {accelerator.n_macs} MACs > {self.max_macs}")
        if accelerator.onchip_bits > self.max_sram_bits:
            out.append(f"budget.max_sram_bits: {accelerator.onchip_bits} on-chip bits > {self.max_sram_bits}")
        bw, cap = dram_bandwidth(accelerator.levels[-1]), self.max_dram_bandwidth_words_per_cycle
        if cap is not None and (bw is None or bw > cap * (1 + 1e-9)):
            out.append(f"budget.max_dram_bandwidth_words_per_cycle: {bw} > {cap}")
        return out


def resolve_budget(budget: str | Accelerator | Budget) -> tuple[Budget, Accelerator | None]:
    """A budget and its template accelerator from a preset name, an accelerator or a budget.

    Raises:
        RegistryError: an unknown preset name (the message lists the valid ones).
    """
    if isinstance(budget, Budget):
        return budget, None
    if isinstance(budget, Accelerator):
        return Budget.from_accelerator(budget), budget
    from coexplore.presets.accelerators import get_accelerator

    acc = get_accelerator(budget)
    return Budget.from_accelerator(acc), acc
