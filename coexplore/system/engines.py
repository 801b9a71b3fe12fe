"""What an engine of a system is: an ASIC accelerator (a preset or an accelerator YAML) or an FPGA board.

A system spec names each engine's accelerator by a reference string: an accelerator preset or YAML
(priced by :mod:`coexplore.cost.model` with a mapping search), or ``fpga:BOARD`` (a board of
:mod:`coexplore.presets.boards`, priced by Zhang et al.'s tiling model, :mod:`coexplore.cost.fpga`,
with the best tiling that fits the board). A YAML engine may write ``board: zcu102`` instead; the
spec stores it as ``fpga:zcu102``. Telling the two apart here keeps one spec for NANDS's NoCs of
ASIC cores and Super-LIP's clusters of FPGA boards.
"""

from __future__ import annotations

from coexplore.errors import SpecError
from coexplore.presets.boards import BOARDS, FpgaBoard, get_board
from coexplore.spec.hardware import Accelerator

__all__ = ["FPGA_PREFIX", "board_of", "check_board", "fpga_ref", "resolve_engine"]

FPGA_PREFIX = "fpga:"


def fpga_ref(board: str) -> str:
    """The reference string of an engine that is FPGA board ``board``."""
    return FPGA_PREFIX + board


def board_of(ref: str) -> str | None:
    """The board name of an FPGA engine reference (``fpga:zcu102`` -> ``zcu102``), else None."""
    return ref[len(FPGA_PREFIX):] if ref.startswith(FPGA_PREFIX) else None


def check_board(ref: str, field: str) -> str | None:
    """A one-line problem if ``ref`` names an FPGA board that is not registered, else None."""
    name = board_of(ref)
    if name is not None and name not in BOARDS:
        return f"{field}: unknown FPGA board {name!r}; valid: {', '.join(BOARDS)}"
    return None


def resolve_engine(ref: str) -> Accelerator | FpgaBoard:
    """The accelerator spec or FPGA board an engine reference names.

    Raises:
        RegistryError: an unknown preset or board. SpecError: a bad accelerator YAML.
    """
    name = board_of(ref)
    if name is not None:
        if not name:
            raise SpecError(f"engine {ref!r}: 'fpga:' needs a board name; valid: {', '.join(BOARDS)}")
        return get_board(name)
    from coexplore.presets.accelerators import get_accelerator

    return get_accelerator(ref)
