"""How good and how fast a network is, without a GPU: tables, predictors, the cost model.

Accuracy evaluators return percent (higher is better); latency evaluators return
milliseconds. A NAS problem asks latency first (cheap) and accuracy only for networks
that meet the latency limit, so accuracy evaluations are the "queries" a search pays for.

* :class:`TableAccuracy`: NAS-Bench-201's trained accuracies (shipped; CIFAR-100 200-epoch by default).
* :class:`TableLatency`: a measured device table (``nb201_device_latency.csv`` form, from the data
  directory: the Raspberry Pi 5 table, or one measured here with :mod:`coexplore.nas.measure`).
* :class:`PredictorEvaluator`: a fitted predictor from :mod:`coexplore.predict`.
* :class:`CostModelLatency`: the network mapped on an accelerator preset by the mapper; per-layer
  results are cached by layer shape, so a cell's latency is a sum of cached layer costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.nb201 import Cell, NB201Space
from coexplore.nas.space import ArchSpace
from coexplore.nas.tables import load_accuracy, load_device_latency
from coexplore.spec.hardware import Accelerator

__all__ = ["CostModelLatency", "Evaluator", "PredictorEvaluator", "TableAccuracy", "TableLatency"]


class Evaluator(Protocol):
    """Scores a batch of architectures: accuracy in percent or latency in milliseconds."""

    @property
    def name(self) -> str: ...

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray: ...


def _indices(space: ArchSpace[Any], archs: Sequence[Any], who: str) -> np.ndarray:
    if not isinstance(space, NB201Space):
        raise SpecError(f"{who}: tables exist only for the NAS-Bench-201 space, got space {space.name!r}")
    return np.array([space.index(a) for a in archs], dtype=np.int64)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TableAccuracy:
    """Trained accuracy from the shipped NAS-Bench-201 table (the 200-epoch CIFAR-100 column by default)."""

    space: NB201Space
    dataset: str = "cifar100"
    epochs: int = 200
    split: str = "test"
    _acc: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_acc", load_accuracy(self.dataset, self.epochs, self.split))

    @property
    def name(self) -> str:
        return f"nb201-table:{self.dataset}/{self.epochs}ep/{self.split}"

    def evaluate(self, archs: Sequence[Cell]) -> np.ndarray:
        return self._acc[_indices(self.space, archs, "TableAccuracy")]

    def all(self) -> np.ndarray:
        """Accuracy of every cell, by NB201 index."""
        return self._acc


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TableLatency:
    """Measured latency of each cell's network from a device table (milliseconds)."""

    space: NB201Space
    path: str | Path | None = None
    framework: str = "onnx"
    _lat: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        table = load_device_latency(self.path, framework=self.framework)
        lat = np.full(len(self.space.all_cells()), np.nan)
        lat[table.arch_index] = table.latency_ms
        object.__setattr__(self, "_lat", lat)

    @property
    def name(self) -> str:
        return f"device-table:{self.framework}"

    def evaluate(self, archs: Sequence[Cell]) -> np.ndarray:
        out = self._lat[_indices(self.space, archs, "TableLatency")]
        if np.isnan(out).any():
            missing = [str(a) for a, v in zip(archs, out, strict=True) if np.isnan(v)][:3]
            raise SpecError(f"TableLatency: no measurement for {', '.join(missing)} in the {self.framework} table")
        return out

    def all(self) -> np.ndarray:
        """Latency of every cell by NB201 index (NaN where the table has no row)."""
        return self._lat


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PredictorEvaluator:
    """A fitted predictor's estimate (accuracy or latency, in the units it was fitted on)."""

    space: ArchSpace[Any]
    predictor: Any
    label: str = "predictor"

    @property
    def name(self) -> str:
        return f"{self.label}:{type(self.predictor).__name__}"

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        return np.asarray(self.predictor.predict(self.space.features(archs)), dtype=np.float64)


class CostModelLatency:
    """Latency of the network on an accelerator, every layer mapped by the mapper (milliseconds).

    Layers are mapped once per shape (for the whole life of the evaluator), so NAS-Bench-201's
    15,625 cells cost a dozen mapping searches. ``energy_mj`` of the last batch is kept too.
    """

    def __init__(self, *, space: ArchSpace[Any], accelerator: Accelerator | str, mapper: str = "default",
                 objective: str = "edp", seed: int = 0) -> None:
        self.space, self.mapper, self.objective, self.seed = space, mapper, objective, seed
        self._acc = accelerator
        self._cache: dict[tuple[int, ...], tuple[float, float]] = {}

    @property
    def accelerator(self) -> Accelerator:
        if isinstance(self._acc, str):
            from coexplore.presets.accelerators import get_accelerator

            self._acc = get_accelerator(self._acc)
        return self._acc

    @property
    def name(self) -> str:
        return f"cost-model:{self.accelerator.name}/{self.mapper}"

    def layer_cost(self, layer: Any) -> tuple[float, float]:
        """(latency cycles, energy pJ) of one layer under its best mapping (cached by shape)."""
        from coexplore.mapper.network import map_layer

        key = layer.shape_key()
        if key not in self._cache:
            res = map_layer(layer, self.accelerator, mapper=self.mapper, objective=self.objective, seed=self.seed)
            self._cache[key] = (float(res.cost.latency_cycles), float(res.cost.energy_pj))
        return self._cache[key]

    def costs(self, archs: Sequence[Any]) -> np.ndarray:
        """float (n, 2): latency cycles and energy pJ of each network."""
        out = np.zeros((len(archs), 2))
        for i, arch in enumerate(archs):
            for layer in self.space.to_network(arch).layers:
                out[i] += self.layer_cost(layer)
        return out

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        return self.costs(archs)[:, 0] / (self.accelerator.clock_ghz * 1e6)
