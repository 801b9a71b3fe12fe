"""NACIM's joint problems (seed 000; Jiang et al., IEEE TC 2021): a network and the computing-in-memory
accelerator that runs it (device, circuit and architecture), with accuracy under device variation.

A pair is a network and a crossbar design of :mod:`coexplore.cost.cim`, five hardware
decisions: the ``device`` (:data:`DEVICES`, :mod:`coexplore.presets.cim_devices`), the
``sub_array`` size, the ``cell_bits`` per cell, the ``adc_bits`` and the ``cols_per_adc``
sharing one ADC. A choice the design rules forbid is clamped to the nearest legal value
below it (cell bits to the device's maximum and to a divisor of the weight bits, ADC bits to
what a column can produce), and :meth:`canonical` writes equal designs as equal rows. The
chip is sized to hold the whole network (NeuroSim's way, :func:`~coexplore.cost.cim.tiles_to_fit`),
so no weights are streamed. Hardware figures: latency, energy, EDP, area, TOPS and TOPS/W.

The ADC: neither accuracy model quantizes the column sums (the digits' Monte Carlo perturbs the
weights only; the table's accuracy is fixed), so a coarser ADC would look free. By default
(``search_adc: false``) every ADC therefore resolves its column exactly, ``adc_bits =
ceil(log2(rows x (2^cell_bits - 1) + 1))``, which makes large sub-arrays and wide cells pay for
their ADCs; ``search_adc: true`` searches :data:`ADC_BITS` too, with that gap stated.

Two network spaces:

* ``nb201-cim`` (:class:`NB201CimProblem`): NAS-Bench-201 cells on CIFAR-10 with the
  AnalogNAS-Bench table (:mod:`coexplore.nas.analog_table`, optional extra ``cim``) as accuracy:
  ``accuracy_column`` ``noisy_accuracy`` (the network on a simulated PCM crossbar:
  the variation-aware objective), ``analog_accuracy`` (the same after hardware-aware
  training) or ``baseline_accuracy`` (clean: the variation-unaware baseline). 8-bit weights
  and inputs (the table's 8-bit I/O). **Departure**: the table's noise is one PCM model, so
  the device decision changes the hardware figures, not the accuracy.
* ``chain-cim`` (:class:`ChainCimProblem`): FNAS digits chains with one weight and one
  activation format (:mod:`coexplore.nas.quantize`), trained here; accuracy under the chosen
  device's conductance variation (its ``conductance_sigma``, weights split over ``cell_bits``
  cells) by Monte Carlo (:class:`~coexplore.nas.variation.VariationChainEvaluator`).
  ``variation_aware``: the network is fine-tuned with noise and scored by its mean noisy
  accuracy (NACIM), or fine-tuned plainly and scored clean (the unaware baseline, NACIM's
  QuantNAS row); every design reports both its clean and its noisy accuracy.

Both give :meth:`efficiency` (the reward's hardware term of NACIM's controller, the FNAS
family's ``alpha x accuracy + (1 - alpha) x efficiency``): the pair's TOPS/W over the best
TOPS/W any design of the space reaches for the same network, in (0, 1]. An optional area
spec (``max_area_mm2``) is known before any training, so a pair over it is rejected before
training or a table query.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from coexplore.cost.cim import (
    CimDesign,
    CimNetworkCost,
    design_arrays,
    max_adc_bits,
    price_network,
    price_network_batch,
    tiles_to_fit,
)
from coexplore.errors import SpecError
from coexplore.joint.problem import PairEncoded
from coexplore.presets.cim_devices import CIM_DEVICES
from coexplore.search.problem import Evaluation
from coexplore.spec.workload import Network

__all__ = ["ADC_BITS", "CELL_BITS", "COLS_PER_ADC", "COST_OBJECTIVES", "DEVICES", "HW_NAMES", "SPECS", "SUB_ARRAYS",
           "ChainCimProblem", "NB201CimProblem", "cost_objective"]

SPECS = "specs"  # reasons of pairs over the area spec start with this
DEVICES = ("rram", "fefet", "pcm", "sram")
SUB_ARRAYS = (64, 128, 256)
CELL_BITS = (1, 2, 4)
ADC_BITS = (3, 4, 5, 6, 7, 8)
COLS_PER_ADC = (4, 8, 16)
HW_NAMES = ("device", "sub_array", "cell_bits", "adc_bits", "cols_per_adc")
#: Cost objectives a NACIM study may minimise next to accuracy, and the unit of each.
COST_OBJECTIVES = {"edp": "pJ*ns", "energy": "pJ", "latency": "ns", "area": "mm^2"}


def cost_objective(cost: CimNetworkCost, name: str) -> float:
    """The value of cost objective ``name`` (:data:`COST_OBJECTIVES`, in its unit) of a priced pair."""
    return {"edp": cost.edp, "energy": cost.energy_pj, "latency": cost.latency_ns, "area": cost.area_um2 / 1e6}[name]


class _CimProblem(PairEncoded, ABC):
    """The hardware half shared by both spaces: decisions, design rules, pricing, efficiency, the area spec."""

    def __init__(self, *, devices: tuple[str, ...], objectives: tuple[str, ...], max_area_mm2: float | None,
                 search_adc: bool, space_name: str) -> None:
        problems = []
        if not isinstance(search_adc, bool):
            problems.append(f"problem.search_adc: must be true or false, got {search_adc!r}")
        objectives = tuple(objectives)
        if len(objectives) != 2 or objectives[0] != "accuracy" or objectives[1] not in COST_OBJECTIVES:
            problems.append(f"objectives: space {space_name} has accuracy and one of {', '.join(COST_OBJECTIVES)}, "
                            f"got {list(objectives)!r}")
        devices = tuple(devices)
        if not devices:
            problems.append("problem.devices: must name at least one device, got none")
        problems += [f"problem.devices: unknown device {d!r}; known: {', '.join(CIM_DEVICES.names())}"
                     for d in devices if d not in CIM_DEVICES.names()]
        if max_area_mm2 is not None and (isinstance(max_area_mm2, bool) or not isinstance(max_area_mm2, int | float)
                                         or not max_area_mm2 > 0):
            problems.append(f"problem.max_area_mm2: must be a number > 0 (mm^2) or absent, got {max_area_mm2!r}")
        if problems:
            raise SpecError(problems)
        self.devices, self.objectives, self.search_adc = devices, objectives, search_adc
        self.max_area_mm2 = None if max_area_mm2 is None else float(max_area_mm2)
        self.hw_cards = (len(devices), len(SUB_ARRAYS), len(CELL_BITS), len(ADC_BITS), len(COLS_PER_ADC))
        self._costs: dict[bytes, CimNetworkCost] = {}
        self._best_tops_w: dict[tuple[str, tuple[int, int, int]], float] = {}
        self._networks: dict[bytes, Network] = {}
        self._tiles: dict[tuple[str, int, int, int], int] = {}

    # -- what a space gives ----------------------------------------------------------------
    def network(self, arch_row: np.ndarray) -> Network:
        """The workload of a network's decisions (built once per network)."""
        key = np.asarray(arch_row, dtype=np.int64).tobytes()
        net = self._networks.get(key)
        if net is None:
            net = self._networks[key] = self.build_network(arch_row)
        return net

    @abstractmethod
    def build_network(self, arch_row: np.ndarray) -> Network:
        """The workload of a network's decisions (each space builds its own)."""

    @abstractmethod
    def bits(self, arch_row: np.ndarray) -> tuple[int, int, int]:
        """(weight bits, input bits of every layer but the first, input bits of the first layer)."""

    def arch_canonical(self, arch: np.ndarray) -> np.ndarray:
        return arch

    # -- the design --------------------------------------------------------------------------
    @property
    def encoded_hw_names(self) -> tuple[str, ...]:
        return HW_NAMES

    def design(self, arch_row: np.ndarray, hw_row: np.ndarray) -> CimDesign:
        """The legal design of a decision row: cell and ADC bits clamped down to the rules; sized to the network."""
        wb, ib, _ = self.bits(arch_row)
        h = [int(v) for v in hw_row]
        device = self.devices[h[0]]
        n = SUB_ARRAYS[h[1]]
        top = min(CELL_BITS[h[2]], CIM_DEVICES.get(device).max_cell_bits)
        cell = max(c for c in CELL_BITS if c <= top and wb % c == 0)
        adc = min(ADC_BITS[h[3]], max_adc_bits(n, cell)) if self.search_adc else max_adc_bits(n, cell)
        d = CimDesign(device=device, sub_array=n, cell_bits=cell, adc_bits=adc, cols_per_adc=COLS_PER_ADC[h[4]],
                      weight_bits=wb, input_bits=ib, tiles=1)
        net = self.network(arch_row)
        key = (net.name, n, cell, wb)
        if key not in self._tiles:
            self._tiles[key] = tiles_to_fit(net, d)
        return dataclasses.replace(d, tiles=self._tiles[key])

    def canonical(self, arch: np.ndarray, hw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same pairs with clamped decisions written as the index of the value they clamp to (and the ADC
        decision 0 when it is not searched)."""
        arch = self.arch_canonical(np.array(arch, dtype=np.int64, copy=True))
        hw = np.array(hw, dtype=np.int64, copy=True)
        for r in range(len(hw)):
            d = self.design(arch[r], hw[r])
            hw[r, 2] = CELL_BITS.index(d.cell_bits)
            hw[r, 3] = ADC_BITS.index(d.adc_bits) if self.search_adc else 0  # unused: the ADC resolves the column
        return arch, hw

    def cost(self, arch_row: np.ndarray, hw_row: np.ndarray) -> CimNetworkCost:
        """The pair priced once (cached by its canonical rows)."""
        return self.priced_once(self._costs, arch_row, hw_row, self._price)

    def _price(self, arch_row: np.ndarray, hw_row: np.ndarray) -> CimNetworkCost:
        net, d = self.network(arch_row), self.design(arch_row, hw_row)
        _, _, first = self.bits(arch_row)
        rest = price_network(net, d)
        layers = list(rest.layers)
        if first != d.input_bits:  # the network input has its own format: layer 0 priced at its bits
            layers[0] = price_network(net, dataclasses.replace(d, input_bits=first)).layers[0]
        return CimNetworkCost(latency_ns=sum(x.latency_ns for x in layers),
                              energy_pj=sum(x.total_energy_pj for x in layers), area_um2=rest.area_um2, macs=net.macs,
                              streaming=rest.streaming, layers=tuple(layers))

    def best_tops_per_w(self, arch_row: np.ndarray) -> float:
        """The best TOPS/W any design of the space reaches for this network (every hardware row priced at once)."""
        net, bits = self.network(arch_row), self.bits(arch_row)
        if (net.name, bits) not in self._best_tops_w:
            grids = np.stack(np.meshgrid(*[np.arange(c) for c in self.hw_cards], indexing="ij"), -1).reshape(
                -1, len(self.hw_cards))
            designs = [self.design(arch_row, h) for h in grids]
            arrays = design_arrays(designs)
            _, _, first = self.bits(arch_row)
            out = price_network_batch(net, arrays)
            lat, en = out["layer_latency_ns"].copy(), out["layer_energy_pj"].copy()
            if first != designs[0].input_bits:
                arrays0 = {**arrays, "input_bits": np.full(len(designs), first)}
                out0 = price_network_batch(net, arrays0)
                lat[:, 0], en[:, 0] = out0["layer_latency_ns"][:, 0], out0["layer_energy_pj"][:, 0]
            self._best_tops_w[net.name, bits] = float((2 * net.macs / en.sum(axis=1)).max())
        return self._best_tops_w[net.name, bits]

    def efficiency(self, cands: Any) -> np.ndarray:
        """TOPS/W of each pair over the best TOPS/W of its network on any design of the space, in (0, 1]."""
        cands = self.as_pairs(cands)
        return np.array([self.cost(cands.arch[i], cands.hw[i]).tops_per_w / self.best_tops_per_w(cands.arch[i])
                         for i in range(len(cands))])

    # -- specs -------------------------------------------------------------------------------
    def violations(self, arch_row: np.ndarray, hw_row: np.ndarray) -> list[str]:
        """The specs a pair misses (the area spec; the network's own rules in subclasses), one phrase each."""
        c = self.cost(arch_row, hw_row)
        if self.max_area_mm2 is not None and c.area_um2 / 1e6 > self.max_area_mm2:
            return [f"over the area spec ({c.area_um2 / 1e6:.3f} > {self.max_area_mm2:g} mm^2)"]
        return []

    def meets_spec(self, cands: Any) -> np.ndarray:
        """bool (n,): the pair meets the specs (analytical; nothing trained or queried)."""
        cands = self.as_pairs(cands)
        return np.array([not self.violations(cands.arch[i], cands.hw[i]) for i in range(len(cands))], dtype=bool)

    @abstractmethod
    def accuracy(self, arch_row: np.ndarray, hw_row: np.ndarray) -> float:
        """Accuracy in percent of the pair's network as this space measures it (table or Monte Carlo)."""

    def evaluate(self, cands: Any) -> Evaluation:
        return self.spec_checked(
            cands, 2, self.violations,
            lambda a, h: (-self.accuracy(a, h), cost_objective(self.cost(a, h), self.objectives[1])),
            SPECS, "rejected before any accuracy is measured")

    def hardware_record(self, arch_row: np.ndarray, hw_row: np.ndarray) -> dict[str, Any]:
        """The design and its figures, for reports (DESIGN.md's ``accelerator`` entry and NACIM's table columns)."""
        d, c = self.design(arch_row, hw_row), self.cost(arch_row, hw_row)
        return {"accelerator": {"device": d.device, "sub_array": d.sub_array, "cell_bits": d.cell_bits,
                                "adc_bits": d.adc_bits, "cols_per_adc": d.cols_per_adc, "tiles": d.tiles,
                                "pes_per_tile": d.pes_per_tile, "subarrays_per_pe": d.subarrays_per_pe,
                                "weight_bits": d.weight_bits, "input_bits": d.input_bits,
                                "sigma": CIM_DEVICES.get(d.device).conductance_sigma},
                "latency_ns": c.latency_ns, "energy_pj": c.energy_pj, "edp": c.edp, "area_um2": c.area_um2,
                "area_mm2": c.area_um2 / 1e6, "tops": c.tops, "tops_per_w": c.tops_per_w, "macs": c.macs,
                "subarrays": sum(x.subarrays for x in c.layers),
                "efficiency": c.tops_per_w / self.best_tops_per_w(arch_row)}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_costs"], state["_networks"] = {}, {}
        return state


class NB201CimProblem(_CimProblem):
    """NACIM on NAS-Bench-201: cells (CIFAR-10, AnalogNAS-Bench accuracies) x crossbar designs.

    Args:
        accuracy_column: The table column searched (``noisy_accuracy``: variation-aware;
            ``baseline_accuracy``: the unaware baseline; any column of
            :data:`~coexplore.nas.analog_table.COLUMNS`).
        devices: Device choices (:data:`DEVICES` by default).
        objectives: ``("accuracy", cost)``, cost one of :data:`COST_OBJECTIVES`.
        max_area_mm2: Area spec (None: none).
        search_adc: Search the ADC bits (their accuracy cost is not modelled); False: lossless ADCs.
    """

    def __init__(self, *, accuracy_column: str = "noisy_accuracy", devices: tuple[str, ...] = DEVICES,
                 objectives: tuple[str, ...] = ("accuracy", "edp"), max_area_mm2: float | None = None,
                 search_adc: bool = False) -> None:
        from coexplore.nas.analog_table import check_column, load_analog_table
        from coexplore.nas.nb201 import NB201Space

        super().__init__(devices=devices, objectives=objectives, max_area_mm2=max_area_mm2, search_adc=search_adc,
                         space_name="nb201-cim")
        self.accuracy_column = check_column(accuracy_column)
        self.table = load_analog_table()  # refuses, naming the extra, when analog-nasbench is absent
        self.space = NB201Space(dataset="cifar10")
        self.arch_cards = tuple(self.space.cardinalities)
        self.queried: set[int] = set()  # NB201 indices whose accuracy was read: the table queries

    def cell(self, arch_row: np.ndarray) -> Any:
        return self.space.from_choices([int(v) for v in arch_row])

    def build_network(self, arch_row: np.ndarray) -> Network:
        return self.space.to_network(self.cell(arch_row))

    def bits(self, arch_row: np.ndarray) -> tuple[int, int, int]:
        return 8, 8, 8

    def violations(self, arch_row: np.ndarray, hw_row: np.ndarray) -> list[str]:
        cell = self.cell(arch_row)
        if cell.degenerate:
            return [f"degenerate cell {cell} (no path from the input to the output)"]
        return super().violations(arch_row, hw_row)

    def accuracy(self, arch_row: np.ndarray, hw_row: np.ndarray) -> float:
        index = self.space.index(self.cell(arch_row))
        self.queried.add(index)
        return float(self.table.column(self.accuracy_column)[index])

    def describe(self, cands: Any, i: int) -> dict[str, Any]:
        cands = self.as_pairs(cands)
        arch, hw = self.canonical(cands.arch[i:i + 1], cands.hw[i:i + 1])
        cell = self.cell(arch[0])
        index = self.space.index(cell)
        return {"arch": str(cell), "arch_index": index, "arch_choices": [int(v) for v in arch[0]],
                "hw": [int(v) for v in hw[0]], "accuracy_column": self.accuracy_column,
                "clean_accuracy": float(self.table.column("baseline_accuracy")[index]),
                "noisy_accuracy": float(self.table.column("noisy_accuracy")[index]),
                "analog_accuracy": float(self.table.column("analog_accuracy")[index]),
                **self.hardware_record(arch[0], hw[0])}


#: Uniform formats of a chain-cim network: weights 4/6/8 bits, activations 4/6/8 bits.
CHAIN_WEIGHT_FORMATS = ("s0.3", "s0.5", "s0.7")
CHAIN_ACTIVATION_FORMATS = ("u2.2", "u2.4", "u3.5")


class ChainCimProblem(_CimProblem):
    """NACIM on the digits: FNAS chains with one weight and one activation format x crossbar designs.

    Args:
        variation_aware: Fine-tune with device noise and score the mean noisy accuracy (NACIM);
            False: fine-tune plainly and score clean accuracy (the unaware baseline).
        epochs, tune_epochs, draws, seed: Float training, fine-tuning epochs, Monte Carlo chips,
            seed (:class:`~coexplore.nas.variation.VariationChainEvaluator`).
        devices, objectives, max_area_mm2, search_adc: As :class:`NB201CimProblem`.
        max_layers: Deepest chain (the digits preset's 5 when None).
        weight_formats, activation_formats: Format choices (one of each per network).
    """

    def __init__(self, *, variation_aware: bool = True, epochs: int = 5, tune_epochs: int = 2, draws: int = 20,
                 seed: int = 0, devices: tuple[str, ...] = DEVICES, objectives: tuple[str, ...] = ("accuracy", "edp"),
                 max_area_mm2: float | None = None, search_adc: bool = False, max_layers: int | None = None,
                 weight_formats: tuple[str, ...] = CHAIN_WEIGHT_FORMATS,
                 activation_formats: tuple[str, ...] = CHAIN_ACTIVATION_FORMATS) -> None:
        from coexplore.joint.quannas import chain_quant_parts
        from coexplore.nas.quantize import DEFAULT_INPUT, LayerQuant

        super().__init__(devices=devices, objectives=objectives, max_area_mm2=max_area_mm2, search_adc=search_adc,
                         space_name="chain-cim")
        if not isinstance(variation_aware, bool):
            raise SpecError(f"problem.variation_aware: must be true or false, got {variation_aware!r}")
        self.space, self.weight_formats, self.activation_formats, self.float_source = chain_quant_parts(
            max_layers=max_layers, weight_formats=weight_formats, activation_formats=activation_formats,
            evaluator=None, epochs=epochs, qat_epochs=tune_epochs, mode="qat", seed=seed,
            who="codesign space chain-cim")
        self.variation_aware = variation_aware
        self.n_chain = len(self.space.cardinalities)
        self.arch_cards = (*self.space.cardinalities, len(self.weight_formats), len(self.activation_formats))
        self._layer_quant, self.input_bits = LayerQuant, DEFAULT_INPUT.bits
        self.tune_epochs, self.draws, self.seed = tune_epochs, draws, seed
        self._evaluators: dict[int, Any] = {}
        self.train_seconds: dict[str, float] = {}

    def chain(self, arch_row: np.ndarray) -> Any:
        return self.space.from_choices([int(v) for v in np.asarray(arch_row)[:self.n_chain]])

    def quant(self, arch_row: np.ndarray) -> tuple[Any, ...]:
        """One :class:`~coexplore.nas.quantize.LayerQuant` per convolution, all alike."""
        w, a = (int(v) for v in np.asarray(arch_row)[self.n_chain:self.n_chain + 2])
        q = self._layer_quant(weight=self.weight_formats[w], activation=self.activation_formats[a])
        return (q,) * len(self.chain(arch_row).layers)

    def arch_canonical(self, arch: np.ndarray) -> np.ndarray:
        """Layers beyond a chain's depth zeroed (the formats are shared, so they stay)."""
        depth = arch[:, 0] + 1
        cols = np.arange(self.n_chain)
        arch[:, :self.n_chain][cols[None] > 2 * depth[:, None]] = 0
        return arch

    def build_network(self, arch_row: np.ndarray) -> Network:
        return self.space.to_network(self.chain(arch_row))

    def bits(self, arch_row: np.ndarray) -> tuple[int, int, int]:
        w, a = (int(v) for v in np.asarray(arch_row)[self.n_chain:self.n_chain + 2])
        return self.weight_formats[w].bits, self.activation_formats[a].bits, self.input_bits

    def evaluator(self, cell_bits: int) -> Any:
        """The variation evaluator of ``cell_bits`` (one per cell width, all sharing the float training)."""
        from coexplore.nas.variation import VariationChainEvaluator

        if cell_bits not in self._evaluators:
            src = self.float_source
            self._evaluators[cell_bits] = VariationChainEvaluator(
                space=self.space, epochs=src.epochs, tune_epochs=self.tune_epochs, seed=self.seed, draws=self.draws,
                cell_bits=cell_bits, float_source=src)
        return self._evaluators[cell_bits]

    def variation(self, arch_row: np.ndarray, hw_row: np.ndarray) -> Any:
        """The pair's :class:`~coexplore.nas.variation.VariationResult` (device sigma, design cell bits)."""
        import time

        d = self.design(arch_row, hw_row)
        chain, quant = self.chain(arch_row), self.quant(arch_row)
        t0 = time.perf_counter()
        result = self.evaluator(d.cell_bits).evaluate(chain, quant, CIM_DEVICES.get(d.device).conductance_sigma)
        self.train_seconds.setdefault(f"{chain}|{quant[0]}|{d.device}|{d.cell_bits}b", time.perf_counter() - t0)
        return result

    def accuracy(self, arch_row: np.ndarray, hw_row: np.ndarray) -> float:
        r = self.variation(arch_row, hw_row)
        return float(r.aware_noisy.mean if self.variation_aware else r.plain_clean)

    def describe(self, cands: Any, i: int) -> dict[str, Any]:
        cands = self.as_pairs(cands)
        arch, hw = self.canonical(cands.arch[i:i + 1], cands.hw[i:i + 1])
        r = self.variation(arch[0], hw[0])
        aware = self.variation_aware
        noisy = r.aware_noisy if aware else r.plain_noisy
        q = self.quant(arch[0])[0]
        return {"arch": str(self.chain(arch[0])), "arch_choices": [int(v) for v in arch[0]],
                "hw": [int(v) for v in hw[0]], "formats": {"weight": str(q.weight), "activation": str(q.activation)},
                "variation_aware": aware, "clean_accuracy": r.aware_clean if aware else r.plain_clean,
                "noisy_accuracy": noisy.mean, "noisy_std": noisy.std, "draws": len(noisy.per_draw),
                "float_accuracy": r.float_accuracy, **self.hardware_record(arch[0], hw[0])}
