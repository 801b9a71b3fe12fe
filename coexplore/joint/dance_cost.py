"""DANCE's hardware cost term ``Cost_HW`` (seed 003), in log10, for numpy labels and torch gradients.

DANCE adds ``Cost_HW`` to the network's accuracy loss, either EDAP (energy x latency x area) or
a weighted sum ``lambda_E E + lambda_L L + lambda_A A``. A study has its own cost objectives,
so the default follows them: ``Cost_HW`` is the product of the study's costs (EDP for
``[accuracy, edp]``, latency for ``[accuracy, latency]``, EDAP for ``[accuracy, edap]``). The
same cost labels the hardware generator's training networks and drives the search, so the
generator learns the hardware that is optimal for the loss being minimised.

Costs are handled as log10 (latency cycles, energy pJ, area mm2), the cost estimator's outputs.
In the weighted sum each metric is divided by its geometric mean over the training pairs, so
the lambdas weigh relative changes (raw pJ, cycles and mm2 differ by orders of magnitude).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import SpecError

__all__ = ["LOSSES", "METRICS", "HardwareCost"]

LOSSES = ("objectives", "edap", "weighted")
METRICS = ("latency", "energy", "area")  # the estimator's outputs, in this order
_EXPONENTS = {"latency": (1, 0, 0), "energy": (0, 1, 0), "area": (0, 0, 1), "edp": (1, 1, 0), "edap": (1, 1, 1)}


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareCost:
    """``Cost_HW`` as ``log10`` of a product (``exponents`` on latency, energy, area) or of a weighted sum.

    Build it with :meth:`of`, which checks the loss against the study's objectives.
    """

    kind: str
    exponents: tuple[float, float, float] = (0.0, 0.0, 0.0)
    weights: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: tuple[float, float, float] = (0.0, 0.0, 0.0)  # log10 geometric means (weighted only)

    @staticmethod
    def of(objectives: tuple[str, ...], *, loss: str = "objectives",
           weights: Mapping[str, float] | None = None) -> HardwareCost:
        """The cost of ``loss`` for a study with ``objectives`` (accuracy first).

        Raises:
            SpecError: an unknown loss; weights without ``loss: weighted`` or naming other
                metrics; a weighted loss that ignores a cost the study optimises.
        """
        costs = tuple(objectives[1:])
        if not objectives or objectives[0] != "accuracy" or not costs:
            raise SpecError(f"objectives: strategy dance needs accuracy then at least one cost, got "
                            f"{list(objectives)!r}")
        if loss not in LOSSES:
            raise SpecError(f"strategy.params.loss: must be one of {', '.join(LOSSES)}, got {loss!r}")
        if weights is not None and loss != "weighted":
            raise SpecError(f"strategy.params.weights: only with loss weighted (DANCE's lambda_E E + lambda_L L + "
                            f"lambda_A A), got loss {loss!r}")
        if loss == "objectives":
            exp = np.sum([_EXPONENTS[c] for c in costs], axis=0)
            return HardwareCost(kind="product", exponents=tuple(float(v) for v in exp))  # type: ignore[arg-type]
        if loss == "edap":
            return HardwareCost(kind="product", exponents=(1.0, 1.0, 1.0))
        w = dict.fromkeys(METRICS, 1.0) if weights is None else weights
        if not isinstance(w, Mapping) or set(w) - set(METRICS):
            raise SpecError(f"strategy.params.weights: must map some of {', '.join(METRICS)} to a weight, got {w!r}")
        vals = {}
        for m in METRICS:
            v = w.get(m, 0.0)
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) or v < 0:
                raise SpecError(f"strategy.params.weights.{m}: must be a finite number >= 0, got {v!r}")
            vals[m] = float(v)
        ignored = [c for c in costs if all(vals[m] == 0 for m, e in zip(METRICS, _EXPONENTS[c], strict=True) if e)]
        if ignored:
            raise SpecError(f"strategy.params.weights: gives no weight to the study's cost {', '.join(ignored)} "
                            f"(objectives {list(objectives)}), got {dict(w)!r}")
        return HardwareCost(kind="weighted", weights=(vals["latency"], vals["energy"], vals["area"]))

    def fitted(self, log_costs: np.ndarray) -> HardwareCost:
        """This cost with the weighted sum's scale set from training pairs' log10 costs (n, 3)."""
        if self.kind != "weighted":
            return self
        mean = np.asarray(log_costs, dtype=np.float64).mean(axis=0)
        return HardwareCost(kind=self.kind, weights=self.weights, scale=(float(mean[0]), float(mean[1]),
                                                                            float(mean[2])))

    def log10(self, log_costs: np.ndarray) -> np.ndarray:
        """log10 Cost_HW of rows of log10 (latency, energy, area), float (n, 3) -> (n,)."""
        c = np.asarray(log_costs, dtype=np.float64)
        if self.kind == "product":
            return c @ np.asarray(self.exponents)
        w = np.asarray(self.weights)
        return np.log10((w * 10.0 ** (c - np.asarray(self.scale))).sum(axis=1))

    def log10_t(self, torch: Any, log_costs: Any) -> Any:
        """The same on a torch tensor (n, 3), differentiable."""
        if self.kind == "product":
            return log_costs @ torch.as_tensor(self.exponents, dtype=log_costs.dtype)
        ln10 = float(np.log(10.0))
        w = torch.as_tensor(self.weights, dtype=log_costs.dtype)
        z = (log_costs - torch.as_tensor(self.scale, dtype=log_costs.dtype)) * ln10 + torch.log(w.clamp_min(1e-30))
        return torch.logsumexp(z, dim=1) / ln10

    def describe(self) -> str:
        if self.kind == "product":
            parts = [f"{m}^{e:g}" if e != 1 else m for m, e in zip(METRICS, self.exponents, strict=True) if e]
            return " x ".join(parts)
        return " + ".join(f"{w:g} {m}/gm" for m, w in zip(METRICS, self.weights, strict=True) if w)
