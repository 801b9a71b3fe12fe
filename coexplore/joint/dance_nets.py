"""DANCE's evaluator networks (seed 003) on a design grid: hardware code, cost estimator, hardware generator.

* :class:`HardwareCode`: a design as one one-hot block per grid axis (PE array X x Y,
  dataflow, each buffer size), DANCE's PEx/PEy, RF and dataflow choices. A relaxed design is
  a softmax per axis; the estimator also reads its expected array sides and size positions.
* :class:`CostEstimator`: (network, design) -> log10 latency, energy, area ("cost estimation
  network"). The network enters as its layer-shape counts (expected counts for a relaxed
  architecture), DANCE's forwarding of the architecture to the estimator.
* :class:`HardwareGenerator`: architecture -> one softmax per hardware axis ("hardware
  generation network"), trained by cross-entropy on the optimal design of labelled networks.
  Its choice for a network is the feasible design with the largest joint probability.

All three are small torch MLPs; torch is imported by the caller and passed in (lazy import).
The caller trains them on one intra-op thread (the thread count does not matter: the same
pairs with 1 and 2 threads), in float32 from torch's initialisation, whose rounding depends
on the CPU's kernels: with torch's portable kernels (ATEN_CPU_CAPABILITY=default) instead of
AVX2, seed 0 on the stride-400 grid trained weights up to 1.3e-5 apart and evaluated the
same 639 pairs; a larger run can differ where two networks or designs score that close.
(BRP-NAS's predictors, where such differences did change the search, train in float64.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from coexplore.errors import SpecError

__all__ = ["CostEstimator", "HardwareCode", "HardwareGenerator", "design_columns", "fit", "mlp", "relax"]


def design_columns(problem: Any) -> np.ndarray:
    """Table columns of the designs DANCE samples and generates: feasible and within the area limit.

    (Area is the design's alone, so a design over ``max_area_mm2`` can never make a feasible pair.)
    """
    ok = np.array(problem.table.feasible, dtype=bool)
    limit = getattr(problem, "max_area_mm2", None)
    if limit is not None:
        ok &= problem.table.area_mm2 <= limit
    if not ok.any():
        raise SpecError(f"problem.max_area_mm2: no design is as small as {limit} mm2")
    return np.flatnonzero(ok)


def mlp(torch: Any, n_in: int, n_out: int, hidden: int, layers: int) -> Any:
    nn = torch.nn
    mods: list[Any] = []
    d = n_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), nn.SiLU()]
        d = hidden
    mods.append(nn.Linear(d, n_out))
    return nn.Sequential(*mods)


def fit(torch: Any, params: Any, loss: Callable[[Any], Any], n: int, *, epochs: int, lr: float, seed: int,
        batch: int = 256) -> None:
    """Adam with cosine decay on ``loss(rows)`` over minibatches of ``n`` rows in a seeded order."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1))
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, batch):
            opt.zero_grad()
            loss(order[i:i + batch]).backward()
            opt.step()
        sched.step()


def relax(torch: Any, logits: Any, cards: tuple[int, ...], *, log: bool = False) -> Any:
    """A (log-)softmax over each block of ``cards`` columns of ``logits`` (n, sum(cards))."""
    f = torch.log_softmax if log else torch.softmax
    parts, k = [], 0
    for c in cards:
        parts.append(f(logits[:, k:k + c], dim=1))
        k += c
    return torch.cat(parts, dim=1)


class HardwareCode:
    """The feasible designs of a grid problem as per-axis one-hot blocks (see the module docstring)."""

    def __init__(self, problem: Any) -> None:
        self.cards = tuple(int(c) for c in problem.hw_cards)
        self.columns = design_columns(problem)
        self.offsets = np.r_[0, np.cumsum(self.cards)[:-1]]
        self.width = int(sum(self.cards))
        choices = problem.hw_choices[self.columns]
        self._onehot = np.zeros((len(self.columns), self.width))
        for a, off in enumerate(self.offsets):
            self._onehot[np.arange(len(choices)), off + choices[:, a]] = 1.0
        self._pos = {int(c): i for i, c in enumerate(self.columns)}
        # numeric reading of each one-hot column: array X and Y (share of the largest side), size position
        arrays = np.array(problem.grid.arrays, dtype=np.float64) / max(max(xy) for xy in problem.grid.arrays)
        values = np.zeros((self.width, 2 + len(self.cards) - 2))
        values[:self.cards[0], :2] = arrays
        for a in range(2, len(self.cards)):
            values[self.offsets[a]:self.offsets[a] + self.cards[a], a] = np.linspace(0, 1, self.cards[a])
        self.values = values

    @property
    def n_features(self) -> int:
        return self.width + self.values.shape[1]

    def onehot(self, columns: np.ndarray) -> np.ndarray:
        """One-hot blocks of table ``columns`` (feasible designs), float (n, width)."""
        return self._onehot[[self._pos[int(c)] for c in np.asarray(columns).reshape(-1)]]

    def features_t(self, torch: Any, probs: Any) -> Any:
        """Estimator input of (relaxed) one-hot blocks (n, width): the blocks and their expected numbers."""
        return torch.cat([probs, probs @ torch.as_tensor(self.values, dtype=probs.dtype)], dim=1)

    def scores(self, log_probs: np.ndarray) -> np.ndarray:
        """Joint log-probability of every feasible design under per-axis log-probabilities (n, width) -> (n, D)."""
        return np.asarray(log_probs, dtype=np.float64) @ self._onehot.T

    def decode(self, log_probs: np.ndarray) -> np.ndarray:
        """The feasible design (table column) with the largest joint probability, per row."""
        return self.columns[np.argmax(self.scores(log_probs), axis=1)]


class CostEstimator:
    """(layer-shape counts, design features) -> log10 (latency, energy, area), trained on network totals.

    An MLP of the design predicts each layer shape's log latency and log energy on it (and
    the log area); a network's cost is the count-weighted sum of its shapes' (a log-sum-exp),
    the structure of the cost model (layers run one after another), so the MLP learns only
    how each shape fares on each design.
    """

    def __init__(self, torch: Any, n_shapes: int, n_features: int, *, hidden: int = 256, layers: int = 3,
                 seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.n_shapes = n_shapes
        self.model = mlp(torch, n_features, 2 * n_shapes + 1, hidden, layers)
        self.mean = np.zeros(3)

    def predict_t(self, torch: Any, counts: Any, features: Any) -> Any:
        """log10 (latency, energy, area) as a tensor (n, 3), differentiable in counts and features."""
        out = self.model(features)
        per_shape = out[:, :2 * self.n_shapes].view(-1, 2, self.n_shapes)
        ln10 = float(np.log(10.0))
        net = torch.logsumexp(per_shape * ln10 + torch.log(counts.clamp_min(1e-9))[:, None, :], dim=2) / ln10
        return torch.cat([net, out[:, -1:]], dim=1) + torch.as_tensor(self.mean, dtype=out.dtype)

    def fit(self, torch: Any, counts: np.ndarray, features: np.ndarray, log_costs: np.ndarray, *, epochs: int,
            seed: int) -> CostEstimator:
        """Fit the squared log10 error of the network totals."""
        self.mean = log_costs.mean(axis=0)
        c, f, y = (torch.as_tensor(v, dtype=torch.float32) for v in (counts, features, log_costs))
        fit(torch, self.model.parameters(), lambda j: torch.mean((self.predict_t(torch, c[j], f[j]) - y[j]) ** 2),
            len(y), epochs=epochs, lr=2e-3, seed=seed)
        return self

    def predict(self, torch: Any, counts: np.ndarray, features: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.predict_t(torch, torch.as_tensor(counts, dtype=torch.float32),
                                  torch.as_tensor(features, dtype=torch.float32)).numpy().astype(np.float64)


class HardwareGenerator:
    """Relaxed architecture (one softmax per decision) -> per-axis hardware log-probabilities."""

    def __init__(self, torch: Any, n_arch: int, code: HardwareCode, *, hidden: int = 128, layers: int = 2,
                 seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.code = code
        self.model = mlp(torch, n_arch, code.width, hidden, layers)

    def log_probs_t(self, torch: Any, arch: Any) -> Any:
        return relax(torch, self.model(arch), self.code.cards, log=True)

    def fit(self, torch: Any, arch: np.ndarray, label_columns: np.ndarray, *, epochs: int,
            seed: int) -> HardwareGenerator:
        """Cross-entropy of every axis against each network's optimal design (DANCE's pre-training)."""
        x = torch.as_tensor(arch, dtype=torch.float32)
        y = torch.as_tensor(self.code.onehot(label_columns), dtype=torch.float32)
        n_axes = len(self.code.cards)
        fit(torch, self.model.parameters(),
            lambda j: -(self.log_probs_t(torch, x[j]) * y[j]).sum(dim=1).mean() / n_axes,
            len(y), epochs=epochs, lr=3e-3, seed=seed, batch=128)
        return self

    def choose(self, torch: Any, arch: np.ndarray) -> np.ndarray:
        """The generator's design (table column) for each (one-hot) architecture row."""
        with torch.no_grad():
            logp = self.log_probs_t(torch, torch.as_tensor(arch, dtype=torch.float32)).numpy()
        return self.code.decode(logp)
