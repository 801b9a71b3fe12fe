"""FPGA boards: the resources of a Xilinx part and the memory bandwidth of a board carrying it.

FNAS (Jiang et al., DAC 2019) co-explores networks and loop-tiled FPGA accelerators on the
Xilinx 7A50T and 7Z020; ``zcu102`` (Zynq UltraScale+ ZU9EG) adds a large part, so that the
same networks can be compared across a 20x range of DSP slices. The tiling cost model
(:mod:`coexplore.cost.fpga`) reads the DSP and BRAM counts as hard budgets, and the
bandwidth and clock to turn tile transfers into cycles.

Resource counts are the device-table numbers of the Xilinx product overviews. BRAM is
counted in 18 Kb blocks (RAMB18), because one 36 Kb block is two independent RAMB18s and
the tiling model allocates buffer banks of that size. Bandwidths are the *peak* of the
board's off-chip DRAM interface (transfer rate x bus width); sustained DMA bandwidth is
lower, which a user can model with :func:`dataclasses.replace`.

Names: ``xc7a50t xc7z020 zcu102``.
"""

from __future__ import annotations

from dataclasses import dataclass

from coexplore.errors import SpecError
from coexplore.registry import Registry

__all__ = ["BOARDS", "FpgaBoard", "get_board"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FpgaBoard:
    """An FPGA part on a board: the budgets an accelerator design must fit.

    Attributes:
        name: Registry name.
        part: Xilinx device name.
        dsp: DSP48 slices.
        bram18k: 18 Kb block RAMs (twice the number of 36 Kb blocks).
        lut: 6-input LUTs.
        ff: Flip-flops.
        bandwidth_gbytes_per_s: Peak off-chip memory bandwidth (10^9 bytes/s) of the board.
        clock_mhz: Design clock assumed for the accelerator.
        board: The board whose memory gives the bandwidth.
        source: Where the numbers come from.
    """

    name: str
    part: str
    dsp: int
    bram18k: int
    lut: int
    ff: int
    bandwidth_gbytes_per_s: float
    clock_mhz: float
    board: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        problems = [
            f"board {self.name!r}.{f}: must be a positive integer, got {getattr(self, f)!r}"
            for f in ("dsp", "bram18k", "lut", "ff")
            if not isinstance(getattr(self, f), int) or getattr(self, f) <= 0
        ]
        problems += [
            f"board {self.name!r}.{f}: must be > 0, got {getattr(self, f)!r}"
            for f in ("bandwidth_gbytes_per_s", "clock_mhz")
            if not getattr(self, f) > 0
        ]
        if problems:
            raise SpecError(problems)

    @property
    def bytes_per_cycle(self) -> float:
        """Off-chip bytes per design-clock cycle."""
        return self.bandwidth_gbytes_per_s * 1e3 / self.clock_mhz


BOARDS: Registry[FpgaBoard] = Registry(kind="FPGA board")


@BOARDS.register("xc7a50t")
def xc7a50t() -> FpgaBoard:
    """Artix-7 XC7A50T (FNAS's 7A50T): 120 DSP48E1, 150 BRAM18, 32,600 LUTs; Nexys A7-50T DDR2.

    Source: Xilinx DS180, 7 Series FPGAs Data Sheet: Overview, Artix-7 device table
    (XC7A50T: 52,160 logic cells, 8,150 slices = 32,600 LUTs and 65,200 flip-flops, 120
    DSP48E1 slices, 75 x 36 Kb block RAMs = 2,700 Kb = 150 RAMB18).

    Board: Digilent Nexys A7-50T, 16-bit DDR2 at 650 MT/s as Digilent's memory
    controller configuration runs it: 1.3 GB/s peak. Clock: 100 MHz, the clock of Zhang et
    al.'s (FPGA 2015) tiled accelerator and a common target for HLS CNN engines on -1
    speed-grade 7-series fabric (DSP48E1 pipelines run far faster; routing of wide
    Tm x Tn arrays and BRAM banks is what limits the clock).
    """
    return FpgaBoard(
        name="xc7a50t", part="xc7a50t", dsp=120, bram18k=150, lut=32_600, ff=65_200,
        bandwidth_gbytes_per_s=1.3, clock_mhz=100.0, board="Digilent Nexys A7-50T (16-bit DDR2-650)",
        source="Xilinx DS180 (7 Series FPGAs Data Sheet: Overview), Artix-7 XC7A50T",
    )


@BOARDS.register("xc7z020")
def xc7z020() -> FpgaBoard:
    """Zynq-7000 XC7Z020 (FNAS's 7Z020): 220 DSP48E1, 280 BRAM18, 53,200 LUTs; ZedBoard DDR3.

    Source: Xilinx DS190, Zynq-7000 SoC Data Sheet: Overview, device table (XC7Z020:
    85K logic cells, 53,200 LUTs, 106,400 flip-flops, 140 x 36 Kb block RAMs = 4.9 Mb =
    280 RAMB18, 220 DSP slices).

    Board: Avnet ZedBoard (also the ZC702 layout): 32-bit DDR3 at 1066 MT/s on the
    processing system's memory controller, 4.264 GB/s peak, reached by the fabric through
    the AXI HP ports. Clock: 100 MHz, as for ``xc7a50t`` (the 7Z020's fabric is Artix-7).
    """
    return FpgaBoard(
        name="xc7z020", part="xc7z020", dsp=220, bram18k=280, lut=53_200, ff=106_400,
        bandwidth_gbytes_per_s=4.264, clock_mhz=100.0, board="Avnet ZedBoard (32-bit DDR3-1066)",
        source="Xilinx DS190 (Zynq-7000 SoC Data Sheet: Overview), XC7Z020",
    )


@BOARDS.register("zcu102")
def zcu102() -> FpgaBoard:
    """Zynq UltraScale+ XCZU9EG on the ZCU102: 2,520 DSP48E2, 1,824 BRAM18, 274,080 LUTs.

    Source: Xilinx DS891, Zynq UltraScale+ MPSoC Data Sheet: Overview, device table
    (ZU9EG: 599,550 system logic cells, 274,080 LUTs, 548,160 flip-flops, 912 x 36 Kb
    block RAMs = 32.1 Mb = 1,824 RAMB18, 2,520 DSP slices; no UltraRAM).

    Board: Xilinx ZCU102, 64-bit DDR4 on the processing system at 2400 MT/s (the PS
    controller's maximum), 19.2 GB/s peak. Clock: 200 MHz, a typical HLS accelerator
    clock on UltraScale+ -2 fabric (twice the 7-series figure used for the small parts).
    """
    return FpgaBoard(
        name="zcu102", part="xczu9eg", dsp=2_520, bram18k=1_824, lut=274_080, ff=548_160,
        bandwidth_gbytes_per_s=19.2, clock_mhz=200.0, board="Xilinx ZCU102 (64-bit PS DDR4-2400)",
        source="Xilinx DS891 (Zynq UltraScale+ MPSoC Data Sheet: Overview), XCZU9EG",
    )


def get_board(name: str) -> FpgaBoard:
    """The board registered as ``name``.

    Raises:
        RegistryError: unknown name; the message lists the valid boards.
    """
    return BOARDS.get(name)
