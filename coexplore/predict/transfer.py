"""Few-shot latency prediction on a new device: per-operator cost tables of known devices as a prior.

Why this shape. A NAS-Bench-201 network's latency on a runtime is close to a sum of
per-operator costs, but which operators cost anything depends on the runtime: ONNX Runtime
and eager PyTorch compute convolutions whose input or output is multiplied by zero, the
LiteRT converter folds them (and whole constant networks) away; eager PyTorch pays a
dispatch overhead per pooling, skip and zero edge that a fused ONNX graph does not (issue
20, measured in ``benchmarks/bench_predictor_devices.py``). So each device is described by
a cost table over :data:`~coexplore.nas.nb201.GRAPH_COUNT_NAMES` (operation x edge status,
adds, constant output), fitted with a relative-error loss. A new device's table is assumed
close to a combination of the known devices' tables (the device-embedding idea of HELP, Lee
et al., NeurIPS 2021, with the known devices' predictions as the embedding basis, and the
kernel-level additivity of nn-Meter, Zhang et al., MobiSys 2021):

    latency(x) = b + sum_s w_s * latency_s(x) + graph_counts(x) . delta

``w`` (how much the new device looks like each known one) is learnt from the few measured
cells, and ``delta`` (its own per-operator departures) is ridge-penalised, with the penalty
chosen by leave-one-out error (one-standard-error rule), so that with 10 cells the prediction stays near the mix of
known devices and with 900 it becomes the device's own table. The loss is the squared
*relative* error (latencies span 0.003-20 ms), and the leave-one-out residuals also give a
prediction interval (:meth:`TransferPredictor.predict_interval`).

Which structure the few cells support is chosen per device, by held-out error (leave-one-out up
to 100 cells, 20-fold above): the first of these within one standard error of the best, so that
the known devices speak wherever the measured cells cannot tell (ten random cells rarely hold a
dead-ended convolution, which a folding compiler removes):

* ``mix+delta``: the equation above;
* ``mix+ops``: the known devices' predictions with non-negative weights plus a non-negative
  cost per operation (over edge statuses) and a fixed part;
* ``ops``: that lookup table alone, fitted with the relative-error loss; no known device.

Measured on four devices (issue 20, ``benchmarks/bench_predictor_transfer.py``), a non-negative
lookup table from 20 cells already ranks NB201 cells about as well as anything on a device whose
costs are unlike the known ones (eager PyTorch: a pooling at 0.7 x a convolution, where the others
pay almost nothing), while ``mix+delta`` alone followed the misleading devices; the selection keeps
the known devices where the held-out error says they help (the folded networks of LiteRT).

Without :meth:`~TransferPredictor.pretrain` the model is fitted from scratch (``w`` empty), the
baseline the transfer must beat. A space without graph counts
(chain, blocks) is fitted on its per-operation ``op_counts`` instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Self

import numpy as np

from coexplore.errors import SpecError
from coexplore.predict.base import Predictor, check_target
from coexplore.predict.features import ArchFeatures

__all__ = ["DeviceCostTable", "TransferPredictor", "fit_cost_table"]

#: The model structures a fit chooses between, the most prior first (module docstring).
STRUCTURES = ("mix+delta", "mix+ops", "ops")
DEFAULT_RIDGE_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4)
MAD_TO_STD = 1.4826
HUBER_K = 1.345


CONSTANT = "constant_output"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceCostTable:
    """A device's latency as ``intercept + graph_counts . costs`` (in the unit of the target).

    A network whose output is a constant is a regime of its own: a converter that folds
    constants (LiteRT) runs it in microseconds, one that does not (ONNX Runtime) pays for
    every operation. ``constant_ratio`` is the geometric mean of measured / additive latency
    over such cells (about 1 when nothing is folded; 1 when the table has none).
    """

    device: str
    names: tuple[str, ...]
    costs: np.ndarray
    intercept: float
    constant_ratio: float = 1.0

    def additive(self, counts: np.ndarray) -> np.ndarray:
        return np.asarray(counts @ self.costs + self.intercept, dtype=np.float64)

    def predict(self, counts: np.ndarray) -> np.ndarray:
        out = self.additive(counts)
        const = _constant_mask(counts, self.names)
        out[const] *= self.constant_ratio
        return out

    def as_dict(self) -> dict[str, float]:
        return {"intercept": self.intercept, **dict(zip(self.names, map(float, self.costs), strict=True)),
                "constant_ratio": self.constant_ratio}


def _count_view(features: ArchFeatures, who: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """``graph_counts`` (and names) when the space provides them, else its per-operation ``op_counts``."""
    if features.graph_counts is None and features.op_counts is not None:
        counts = np.asarray(features.op_counts, dtype=np.float64)
        return counts, tuple(features.op_names) or tuple(f"count{i}" for i in range(counts.shape[1]))
    counts = features.require("graph_counts", who).astype(np.float64)
    return counts, tuple(features.graph_count_names) or tuple(f"count{i}" for i in range(counts.shape[1]))


def _constant_mask(counts: np.ndarray, names: Sequence[str]) -> np.ndarray:
    if CONSTANT not in names:
        return np.zeros(len(counts), dtype=bool)
    return np.asarray(counts[:, list(names).index(CONSTANT)] > 0)


def _log_ratio(y: np.ndarray, pred: np.ndarray) -> float | None:
    """Mean log(y / pred) over cells predicted positive (None if there are none)."""
    ok = pred > 0
    return float(np.mean(np.log(y[ok] / pred[ok]))) if ok.any() else None


def _positive_target(features: ArchFeatures, y: np.ndarray, who: str) -> np.ndarray:
    t = check_target(features, y, who)
    bad = np.flatnonzero(t <= 0)
    if len(bad):
        raise SpecError(f"{who}.fit: latencies must be > 0 (relative-error loss), got {len(bad)} values <= 0, "
                        f"first {float(t[bad[0]])!r} at row {int(bad[0])}")
    return t


def _weighted_ridge(z: np.ndarray, y: np.ndarray, penalty: np.ndarray,
                    sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Minimise sum(w * ((y - z b) / y)^2) + b' diag(penalty) b.

    Returns b and the leave-one-out relative residuals ``(y - y_loo) / y`` (unweighted).
    """
    w = np.ones_like(y) if sample_weight is None else sample_weight
    root = np.sqrt(w)
    a = z / y[:, None] * root[:, None]
    gram = a.T @ a + np.diag(penalty)
    inv = np.linalg.pinv(gram)
    beta = inv @ (a.T @ root)
    hat = np.einsum("ij,jk,ik->i", a, inv, a)
    resid = 1.0 - (z / y[:, None]) @ beta
    with np.errstate(divide="ignore", invalid="ignore"):
        loo = resid / (1.0 - hat)
    loo[~np.isfinite(loo)] = np.inf
    return beta, loo


def _robust_ridge(z: np.ndarray, y: np.ndarray, penalty: np.ndarray, rounds: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_weighted_ridge` with Huber weights on the relative residuals, by iterative reweighting.

    A latency measured while the machine was busy can be several times too large (measured here:
    10-20 % of cells 3-6x slow once the load average passed 5 on two cores); with 10-20 samples one
    such cell would otherwise bend the whole fit.
    """
    beta, loo = _weighted_ridge(z, y, penalty)
    for _ in range(rounds):
        r = np.abs(1.0 - (z / y[:, None]) @ beta)
        scale = MAD_TO_STD * float(np.median(r))
        if scale <= 0:
            break
        w = np.minimum(1.0, HUBER_K * scale / np.maximum(r, 1e-300))
        beta, loo = _weighted_ridge(z, y, penalty, w)
    return beta, loo


def _nonneg_relative(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative b minimising sum(((y - z b) / y)^2): costs and device weights cannot be negative."""
    from scipy.optimize import nnls

    a = z / y[:, None]
    norms = np.linalg.norm(a, axis=0)
    norms[norms == 0] = 1.0
    coef, _ = nnls(a / norms, np.ones(len(y)), maxiter=50 * z.shape[1])
    return np.asarray(coef / norms, dtype=np.float64)


def _heldout_relative(z: np.ndarray, y: np.ndarray, max_loo: int = 100,
                      folds: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """The non-negative fit on all rows and its held-out relative residuals ``(y - y_held) / y``
    (leave-one-out up to ``max_loo`` rows, ``folds``-fold above: each row predicted without itself)."""
    n = len(y)
    parts = np.arange(n) if n <= max_loo else np.arange(n) % folds
    resid = np.empty(n)
    for k in np.unique(parts):
        out = parts == k
        b = _nonneg_relative(z[~out], y[~out])
        resid[out] = 1.0 - (z[out] @ b) / y[out]
    return _nonneg_relative(z, y), resid


def _heldout_score(resid: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the capped squared held-out relative errors (one wild cell must not decide)."""
    errors = np.minimum(resid ** 2, 1.0)
    return float(errors.mean()), float(errors.std(ddof=1) / math.sqrt(len(errors)))


def fit_cost_table(features: ArchFeatures, y: np.ndarray, *, device: str = "device",
                   ridge: float = 1e-6) -> DeviceCostTable:
    """The relative-error least-squares cost table of one device (all its measured cells)."""
    t = _positive_target(features, y, "cost table")
    counts, names = _count_view(features, "cost table")
    const = _constant_mask(counts, names)
    if (~const).sum() < 2:
        raise SpecError(f"cost table {device!r}: needs at least 2 cells whose output is not constant, "
                        f"got {int((~const).sum())}")
    z = np.concatenate([counts[~const], np.ones((int((~const).sum()), 1))], axis=1)
    penalty = np.full(z.shape[1], ridge)
    penalty[-1] = 0.0
    beta, _ = _weighted_ridge(z, t[~const], penalty)
    table = DeviceCostTable(device=device, names=names, costs=beta[:-1], intercept=float(beta[-1]))
    log_ratio = _log_ratio(t[const], table.additive(counts[const])) if const.any() else None
    return table if log_ratio is None else replace(table, constant_ratio=math.exp(log_ratio))


class TransferPredictor(Predictor):
    """Latency on a new device from a few measured cells and the cost tables of known devices.

    Args:
        ridge_grid: penalties tried for the device's own per-operator departures ``delta``
            (on standardised counts); the strongest one whose leave-one-out error is within one
            standard error of the lowest is kept.
        source_ridge: penalty on the device mix ``w`` (small: a few weights, well determined).
        noise_floor: RMS relative leave-one-out errors closer than this count as equal (measurement
            noise of a latency is rarely below 1 %), so the stronger penalty wins.
        robust_rounds: rounds of Huber reweighting of the relative residuals (0: plain least
            squares), so that a few cells timed while the machine was busy do not bend the fit.
        coverage: nominal coverage of :meth:`predict_interval`.
        min_samples: fewest measured cells :meth:`fit` accepts (leave-one-out needs a few).
        structures: the structures :meth:`fit` may choose from (a subset of :data:`STRUCTURES`; the
            ``mix`` ones need :meth:`pretrain`): for ablations, e.g. ``("mix+delta",)`` alone.

    Attributes:
        sources_: the known devices' cost tables (set by :meth:`pretrain`).
        weights_: ``w``, one per source; ``delta_``: per count, in the target's unit.
        structure_: ``ops``, ``mix+ops`` or ``mix+delta`` (module docstring), chosen by held-out error.
        ridge_: the chosen penalty of ``mix+delta`` (None for the other structures); ``loo_mape_``:
            held-out MAPE (%) of the chosen structure.
        interval_halfwidth_: relative half-width of the ``coverage`` interval.
    """

    name = "transfer"

    def __init__(self, *, ridge_grid: tuple[float, ...] = DEFAULT_RIDGE_GRID, source_ridge: float = 1e-3,
                 noise_floor: float = 0.01, robust_rounds: int = 5, coverage: float = 0.9,
                 min_samples: int = 5, structures: tuple[str, ...] = STRUCTURES) -> None:
        self.ridge_grid = ridge_grid
        self.robust_rounds = robust_rounds
        self.noise_floor = noise_floor
        self.source_ridge = source_ridge
        self.coverage = coverage
        self.min_samples = min_samples
        self.structures = tuple(structures)
        self._sources: tuple[DeviceCostTable, ...] = ()

    # -- known devices ---------------------------------------------------------------------
    def pretrain(self, sources: Sequence[tuple[str, ArchFeatures, np.ndarray]]) -> Self:
        """Fit one cost table per known device ``(name, features, latencies)``; returns self."""
        names = [s[0] for s in sources]
        if len(set(names)) != len(names):
            raise SpecError(f"transfer.pretrain: device names must be distinct, got {names}")
        self._sources = tuple(fit_cost_table(f, y, device=n) for n, f, y in sources)
        return self

    @property
    def sources(self) -> tuple[DeviceCostTable, ...]:
        return self._sources

    # -- the new device --------------------------------------------------------------------
    def _check_params(self) -> None:
        problems = []
        if not self.ridge_grid or any(not (r > 0 and math.isfinite(r)) for r in self.ridge_grid):
            problems.append(f"transfer.ridge_grid: must be non-empty positive numbers, got {self.ridge_grid!r}")
        if isinstance(self.robust_rounds, bool) or not isinstance(self.robust_rounds, int) or self.robust_rounds < 0:
            problems.append(f"transfer.robust_rounds: must be an integer >= 0, got {self.robust_rounds!r}")
        if not 0 <= self.noise_floor < 1:
            problems.append(f"transfer.noise_floor: must be in [0, 1), got {self.noise_floor!r}")
        if not self.source_ridge >= 0:
            problems.append(f"transfer.source_ridge: must be >= 0, got {self.source_ridge!r}")
        if not 0 < self.coverage < 1:
            problems.append(f"transfer.coverage: must be in (0, 1), got {self.coverage!r}")
        if isinstance(self.min_samples, bool) or not isinstance(self.min_samples, int) or self.min_samples < 3:
            problems.append(f"transfer.min_samples: must be an integer >= 3, got {self.min_samples!r}")
        if not self.structures or any(x not in STRUCTURES for x in self.structures):
            problems.append(f"transfer.structures: must be a non-empty subset of {', '.join(STRUCTURES)}, "
                            f"got {self.structures!r}")
        if problems:
            raise SpecError(problems)

    def _counts(self, features: ArchFeatures) -> np.ndarray:
        counts, _ = _count_view(features, self.name)
        if hasattr(self, "group_matrix_") and counts.shape[1] != len(self.group_matrix_):
            raise SpecError(f"{self.name}: graph_counts must have {len(self.group_matrix_)} columns, "
                            f"got {counts.shape[1]}")
        return counts

    def _design(self, counts: np.ndarray) -> np.ndarray:
        cols = [s.additive(counts)[:, None] for s in self._sources]
        return np.concatenate([*cols, self._expand(counts) / self.count_scale_, np.ones((len(counts), 1))], axis=1)

    def _expand(self, counts: np.ndarray) -> np.ndarray:
        """The counts plus, per operation, its total over edge statuses (``op:live`` + ``op:dead_end`` + ...).

        Under one ridge penalty a shared cost per operation is cheaper than one per status, so with few
        cells the fit prefers "a 3x3 conv costs c" and departs per status only where the data demand it.
        """
        return np.concatenate([counts, counts @ self.group_matrix_], axis=1)

    def fit(self, features: ArchFeatures, y: np.ndarray) -> Self:
        """Adapt to the device whose measured latencies ``y`` (all > 0) are given for ``features``.

        The additive model is fitted on the cells whose output is not constant; the constant
        ones (if any were measured) give the device's folding ratio, otherwise it is the
        known devices' ratios mixed with the learnt weights.
        """
        self._check_params()
        t = _positive_target(features, y, self.name)
        counts = self._counts(features)
        _, names = _count_view(features, self.name)
        self.names_ = names
        const = _constant_mask(counts, names)
        if len(t) < self.min_samples or (~const).sum() < 3:
            raise SpecError(f"{self.name}.fit: needs at least {self.min_samples} measured cells of the new device, "
                            f"3 of them with a non-constant output (leave-one-out chooses the penalty), got "
                            f"{len(t)} ({int((~const).sum())} non-constant)")
        groups = sorted({n.split(":")[0] for n in names if ":" in n})
        self.group_matrix_ = np.array([[1.0 if n.split(":")[0] == g and ":" in n else 0.0 for g in groups]
                                       for n in (names or [f"count{i}" for i in range(counts.shape[1])])])
        self.group_matrix_ = self.group_matrix_.reshape(counts.shape[1], len(groups))
        sd = self._expand(counts[~const]).std(axis=0)
        # Standardised counts scaled by the typical latency put delta on the target's scale.
        self.count_scale_ = np.where(sd > 0, sd, 1.0) / float(np.median(t[~const]))
        z = self._design(counts[~const])
        tv = t[~const]
        n_src = len(self._sources)
        fits = []
        for lam in sorted(self.ridge_grid):
            penalty = np.full(z.shape[1], lam)
            penalty[:n_src] = self.source_ridge
            penalty[-1] = 0.0
            beta, loo = _robust_ridge(z, tv, penalty, self.robust_rounds)
            fits.append((*_heldout_score(loo), lam, beta, loo))
        # One-standard-error rule: the strongest penalty whose leave-one-out error is within one standard
        # error of the best (or within noise_floor RMS relative error, below which fits do not differ).
        # A few cells rarely contain every edge status; where the measured cells are explained either
        # way, the known devices' tables (not a free delta) should speak for the rest.
        best_score, best_se = min((f[0], f[1]) for f in fits)
        slack = max(best_se, self.noise_floor ** 2)
        _, _, lam, beta, loo = max((f for f in fits if f[0] <= best_score + slack), key=lambda f: f[2])
        # The same choice between structures, the known devices first (see the module docstring).
        allowed = [x for x in STRUCTURES if x in self.structures and (n_src or x == "ops" or x == "mix+delta")]
        if not allowed:
            raise SpecError(f"{self.name}.structures: {self.structures!r} all need known devices; call pretrain first")
        candidates = [(x, beta, loo) if x == "mix+delta" else
                      (x, *self._nonneg_fit(counts[~const], tv, mix=x == "mix+ops")) for x in allowed]
        scores = [_heldout_score(c[2]) for c in candidates]
        best_score, best_se = min(scores)
        slack = max(best_se, self.noise_floor ** 2)
        self.structure_, beta, loo = next(c for c, sc in zip(candidates, scores, strict=True)
                                          if sc[0] <= best_score + slack)
        self.ridge_ = float(lam) if self.structure_ == "mix+delta" else None
        self.weights_ = beta[:n_src]
        per_column = beta[n_src:-1] / self.count_scale_
        n_counts = counts.shape[1]
        self.delta_ = per_column[:n_counts] + self.group_matrix_ @ per_column[n_counts:]
        self.intercept_ = float(beta[-1])
        self.beta_ = beta
        self.loo_mape_ = float(100 * np.mean(np.abs(loo)))
        log_ratio = _log_ratio(t[const], self._design(counts[const]) @ beta) if const.any() else None
        if log_ratio is None and n_src:
            mix = np.abs(self.weights_) / max(float(np.abs(self.weights_).sum()), 1e-12)
            log_ratio = float(sum(m * math.log(s.constant_ratio) for m, s in zip(mix, self._sources, strict=True)))
        self.constant_ratio_ = math.exp(log_ratio) if log_ratio is not None else 1.0
        # Split-conformal style quantile of |y - y_loo| / y_loo, with the finite-sample correction.
        loo_pred = tv * (1.0 - loo)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(tv - loo_pred) / np.abs(loo_pred)
        rel[~np.isfinite(rel)] = np.inf
        level = min(1.0, math.ceil((len(tv) + 1) * self.coverage) / len(tv))
        self.interval_halfwidth_ = float(np.quantile(rel, level, method="higher"))
        return self

    def _op_columns(self) -> np.ndarray:
        """Selection of the expanded columns that are one cost per operation: the per-operation totals
        over edge statuses and ``none`` (or every count, for a space with per-operation counts only)."""
        n_counts, n_groups = self.group_matrix_.shape
        n_expanded = n_counts + n_groups
        if n_groups == 0:
            return np.eye(n_expanded)
        cols = list(range(n_counts, n_expanded))
        cols += [i for i, n in enumerate(self.names_) if n == "none"]
        return np.eye(n_expanded)[:, cols]

    def _nonneg_fit(self, counts: np.ndarray, y: np.ndarray, *, mix: bool) -> tuple[np.ndarray, np.ndarray]:
        """A non-negative per-operation table (with the known devices' predictions when ``mix``), as the
        coefficients of :meth:`_design` and its held-out relative residuals."""
        n_src = len(self._sources)
        sel = self._op_columns()
        z = self._expand(counts) @ sel
        if mix:
            z = np.concatenate([self._design(counts)[:, :n_src], z], axis=1)
        coef, resid = _heldout_relative(np.concatenate([z, np.ones((len(y), 1))], axis=1), y)
        beta = np.zeros(n_src + len(sel) + 1)
        if mix:
            beta[:n_src], coef = coef[:n_src], coef[n_src:]
        beta[n_src:-1] = (sel @ coef[:-1]) * self.count_scale_
        beta[-1] = coef[-1]
        return beta, resid

    def predict(self, features: ArchFeatures) -> np.ndarray:
        self._check_fitted()
        counts = self._counts(features)
        out = np.asarray(self._design(counts) @ self.beta_, dtype=np.float64)
        out[_constant_mask(counts, self.names_)] *= self.constant_ratio_
        return out

    def predict_interval(self, features: ArchFeatures) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ends of the ``coverage`` prediction interval, from leave-one-out errors."""
        p = self.predict(features)
        h = self.interval_halfwidth_
        return p - h * np.abs(p), p + h * np.abs(p)

    def summary(self) -> dict[str, object]:
        """What was learnt: the device mix, the penalty, the leave-one-out error, the interval width."""
        self._check_fitted()
        return {"structure": self.structure_,
                "weights": {s.device: float(w) for s, w in zip(self._sources, self.weights_, strict=True)},
                "ridge": self.ridge_, "loo_mape": self.loo_mape_, "interval_halfwidth": self.interval_halfwidth_,
                "intercept": self.intercept_, "constant_ratio": self.constant_ratio_}
