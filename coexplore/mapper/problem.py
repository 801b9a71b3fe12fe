"""The mapping problem of one layer on one accelerator, for the search driver.

Candidates are :class:`~coexplore.mapping.encoding.MappingBatch` rows; illegal rows are
INFEASIBLE (value ``inf``) so strategies may propose anything and learn from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.cost.model import evaluate_batch
from coexplore.cost.results import OBJECTIVES, objective_value
from coexplore.errors import SpecError
from coexplore.mapping.constraints import MapConstraints, satisfied
from coexplore.mapping.encoding import MappingBatch, decode
from coexplore.mapping.validate import legal_mask
from coexplore.search.problem import Evaluation
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Layer

__all__ = ["LayerMappingProblem"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LayerMappingProblem:
    """Minimise ``objective`` (edp, energy, latency or edap) over mappings of ``layer``."""

    layer: Layer
    accelerator: Accelerator
    objective: str = "edp"
    throttle: bool = False
    constraints: MapConstraints | None = None

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise SpecError(f"objective: must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")

    @property
    def objectives(self) -> tuple[str, ...]:
        return (self.objective,)

    def evaluate(self, candidates: MappingBatch) -> Evaluation:
        legal = legal_mask(self.layer, self.accelerator, candidates)
        if self.constraints is not None:
            legal &= satisfied(self.constraints, self.accelerator, candidates)
        values = np.full((len(candidates), 1), np.inf)
        if legal.any():  # the kernel skips illegal rows: no copy of the legal ones
            cost = evaluate_batch(self.layer, self.accelerator, candidates, throttle=self.throttle, detail=False,
                                  valid=legal)
            values[legal, 0] = objective_value(self.objective, energy_pj=cost.energy_pj[legal],
                                               latency_cycles=cost.latency_cycles[legal],
                                               area_mm2=self.accelerator.area_mm2)
        reasons: tuple[str, ...] = ()
        if not legal.all():
            reasons = tuple(np.where(legal, "", "illegal mapping (capacity, fan-out or a mapping constraint)").tolist())
        return Evaluation(values=values, feasible=legal, reasons=reasons)

    def describe(self, candidates: MappingBatch, i: int) -> dict[str, Any]:
        return decode(candidates, i).to_dict([lv.name for lv in self.accelerator.levels])
