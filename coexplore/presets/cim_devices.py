"""Memory devices for computing-in-memory (crossbar) accelerators, with their sources.

The crossbar model (:mod:`coexplore.cost.cim`) reads a device's on-state resistance,
on/off ratio, read voltage and read pulse (cell read energy V^2/R x pulse), its cell
area in F^2, how many bits one cell may hold, and the relative conductance spread
(sigma of a multiplicative Gaussian per cell) that the accuracy-under-variation part of
issue 17 injects. Each factory's docstring says where every number comes from; numbers
marked *assumed* have no measured source here and are order-of-magnitude choices, stated
so that a user can replace them with :func:`dataclasses.replace`.

Write energy and write pulse are only used when a network's weights do not fit on the
chip and are reloaded for every inference (:mod:`coexplore.cost.cim`, "streaming").

Names: ``rram fefet sram pcm rram-neurosim``.
"""

from __future__ import annotations

from dataclasses import dataclass

from coexplore.errors import SpecError
from coexplore.registry import Registry

__all__ = ["CIM_DEVICES", "CimDevice", "get_cim_device"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CimDevice:
    """One synaptic device technology as the crossbar model sees it.

    Attributes:
        name: Registry name.
        r_on_ohm: Low-resistance (highest-conductance) state at the read voltage.
        on_off_ratio: R_off / R_on.
        cell_area_f2: Cell footprint in units of F^2 (F = technology node).
        read_voltage_v: Voltage across a cell during an in-memory read.
        read_pulse_ns: Duration of one bit-serial input pulse (one array read).
        max_cell_bits: Most bits one cell can store reliably.
        conductance_sigma: Relative std of a cell's programmed conductance (multiplicative
            Gaussian), for the variation-aware accuracy model.
        write_energy_pj: Energy to program one cell (only for weight reload).
        write_pulse_ns: Time to program one row of a sub-array (only for weight reload).
        leakage_pw_per_cell: Static power of one cell (0 for non-volatile cells, whose
            storage draws no current when not read).
        source: Where the numbers come from.
    """

    name: str
    r_on_ohm: float
    on_off_ratio: float
    cell_area_f2: float
    read_voltage_v: float
    read_pulse_ns: float
    max_cell_bits: int
    conductance_sigma: float
    write_energy_pj: float
    write_pulse_ns: float
    leakage_pw_per_cell: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        problems = [
            f"cim device {self.name!r}.{f}: must be > 0, got {getattr(self, f)!r}"
            for f in ("r_on_ohm", "cell_area_f2", "read_voltage_v", "read_pulse_ns",
                      "write_energy_pj", "write_pulse_ns")
            if not getattr(self, f) > 0
        ]
        if not self.on_off_ratio > 1:
            problems.append(f"cim device {self.name!r}.on_off_ratio: must be > 1, got {self.on_off_ratio!r}")
        if not isinstance(self.max_cell_bits, int) or not 1 <= self.max_cell_bits <= 8:
            problems.append(f"cim device {self.name!r}.max_cell_bits: must be an integer from 1 to 8, "
                            f"got {self.max_cell_bits!r}")
        for f in ("conductance_sigma", "leakage_pw_per_cell"):
            if not getattr(self, f) >= 0:
                problems.append(f"cim device {self.name!r}.{f}: must be >= 0, got {getattr(self, f)!r}")
        if problems:
            raise SpecError(problems)

    @property
    def g_on_s(self) -> float:
        """Highest cell conductance (siemens)."""
        return 1.0 / self.r_on_ohm

    @property
    def g_off_s(self) -> float:
        """Lowest cell conductance (siemens)."""
        return 1.0 / (self.r_on_ohm * self.on_off_ratio)


CIM_DEVICES: Registry[CimDevice] = Registry(kind="cim device")


def get_cim_device(name: str) -> CimDevice:
    """The registered device ``name``; an unknown name raises a RegistryError listing the valid ones."""
    return CIM_DEVICES.get(name)


_NEUROSIM = "DNN+NeuroSim V1.3 Param.cpp defaults (github.com/neurosim/DNN_NeuroSim_V1.3, CC BY-NC, read only)"


@CIM_DEVICES.register("rram")
def rram() -> CimDevice:
    """1T1R RRAM as measured in a fully hardware-implemented memristor CNN: 2-20 uS, 0.2 V read.

    Conductance window 2-20 uS (R_on = 50 kOhm, on/off = 10) and 0.2 V read voltage: Yao et
    al., "Fully hardware-implemented memristor convolutional neural network", Nature 577,
    641-646 (2020). Read pulse 10 ns and 1T1R cell 4 F x 12 F = 48 F^2: DNN+NeuroSim V1.3
    defaults (readPulseWidth, heightInFeatureSize1T1R x widthInFeatureSize1T1R). Max 3 bits
    per cell and sigma 0.1: *assumed* (multi-level RRAM programming with write-verify; 0.1 is
    the upper variation level variation-aware NAS papers of the NACIM family explore).
    Write: 2 V (NeuroSim's writeVoltage) for 100 ns on ~50 kOhm ~ 8 pJ, *assumed* 10 pJ per
    cell and 100 ns per row.
    """
    return CimDevice(
        name="rram", r_on_ohm=50e3, on_off_ratio=10.0, cell_area_f2=48.0, read_voltage_v=0.2,
        read_pulse_ns=10.0, max_cell_bits=3, conductance_sigma=0.1, write_energy_pj=10.0,
        write_pulse_ns=100.0, source="Yao et al., Nature 2020 (conductance, read voltage); " + _NEUROSIM,
    )


@CIM_DEVICES.register("rram-neurosim")
def rram_neurosim() -> CimDevice:
    """DNN+NeuroSim V1.3's default RRAM: R_on 6 kOhm, on/off 150, 0.5 V, 10 ns, 48 F^2 (high current).

    All of resistanceOn = 6e3, resistanceOff = 150 x 6e3, readVoltage = 0.5, readPulseWidth =
    10e-9, 1T1R cell 4 x 12 F^2 and cellBit = 2 are NeuroSim V1.3's Param.cpp defaults.
    Max 2 bits per cell (its default cellBit) and sigma 0.1 *assumed*; write as ``rram``.
    Kept to show how strongly the cell energy depends on R_on: NeuroSim's own array
    model does not charge the full 10 ns pulse of current as this model does.
    """
    return CimDevice(
        name="rram-neurosim", r_on_ohm=6e3, on_off_ratio=150.0, cell_area_f2=48.0, read_voltage_v=0.5,
        read_pulse_ns=10.0, max_cell_bits=2, conductance_sigma=0.1, write_energy_pj=10.0,
        write_pulse_ns=100.0, source=_NEUROSIM,
    )


@CIM_DEVICES.register("fefet")
def fefet() -> CimDevice:
    """FeFET analog synapse: R_on 240 kOhm, on/off 45, 5 bits (32 levels).

    R_on, on/off and 32 levels: Jerry et al., "Ferroelectric FET analog synapse for
    acceleration of deep neural network training", IEDM 2017, as tabulated among the device
    options of DNN+NeuroSim V2.0 (Peng et al., IEEE TCAD 40(11), 2021). Cell 48 F^2: NeuroSim
    lays FeFET cells out with its 1T1R dimensions. Read voltage 0.1 V on the drain, 10 ns
    pulse, sigma 0.05, write 1 pJ per cell and 200 ns per row (ferroelectric switching):
    *assumed*.
    """
    return CimDevice(
        name="fefet", r_on_ohm=240e3, on_off_ratio=45.0, cell_area_f2=48.0, read_voltage_v=0.1,
        read_pulse_ns=10.0, max_cell_bits=5, conductance_sigma=0.05, write_energy_pj=1.0,
        write_pulse_ns=200.0, source="Jerry et al., IEDM 2017 (via DNN+NeuroSim V2.0, TCAD 2021); " + _NEUROSIM,
    )


@CIM_DEVICES.register("sram")
def sram() -> CimDevice:
    """SRAM-CIM (8T-like, one bit per cell): 280 F^2 at 22 nm, one 1 ns clock per read.

    Cell 10 F x 28 F = 280 F^2: DNN+NeuroSim V1.3 default SRAM cell at 22 nm (its comments
    suggest 160 F^2 above 22 nm). One bit per cell (NeuroSim forces cellBit = 1 for SRAM).
    The read path is modelled as a resistor: 20 uA read current at 0.8 V gives R_on =
    40 kOhm, off current 1e4 times lower, 1 ns read (one 1 GHz cycle), sigma 0.02 of
    read-current mismatch, 1 pW cell leakage (low-standby-power transistors), write
    0.01 pJ and 1 ns per row: all *assumed*.
    """
    return CimDevice(
        name="sram", r_on_ohm=40e3, on_off_ratio=1e4, cell_area_f2=280.0, read_voltage_v=0.8,
        read_pulse_ns=1.0, max_cell_bits=1, conductance_sigma=0.02, write_energy_pj=0.01,
        write_pulse_ns=1.0, leakage_pw_per_cell=1.0, source=_NEUROSIM + "; read path assumed",
    )


@CIM_DEVICES.register("pcm")
def pcm() -> CimDevice:
    """PCM as in IBM's analog-AI noise model: G_max 25 uS (R_on 40 kOhm), 0.2 V read.

    G_max = 25 uS: the PCM statistical model of Joshi et al., "Accurate deep neural network
    inference using computational phase-change memory", Nature Communications 11, 2473
    (2020), also the default g_max of aihwkit's PCMLikeNoiseModel (the noise model behind the
    ``analog-nasbench`` tables). Sigma 0.04 ~ its programming noise of about 1 uS near mid
    range over 25 uS. Read 0.2 V, on/off 100, 10 ns pulse, 2 bits per cell, 48 F^2 (1T1R
    layout), write 10 pJ per cell and 100 ns per row: *assumed*.
    """
    return CimDevice(
        name="pcm", r_on_ohm=40e3, on_off_ratio=100.0, cell_area_f2=48.0, read_voltage_v=0.2,
        read_pulse_ns=10.0, max_cell_bits=2, conductance_sigma=0.04, write_energy_pj=10.0,
        write_pulse_ns=100.0, source="Joshi et al., Nat. Commun. 2020; aihwkit PCMLikeNoiseModel",
    )
