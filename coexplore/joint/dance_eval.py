"""DANCE's evaluator trained on priced pairs, and the gradient search through it (seed 003).

:class:`DanceEvaluator` bundles the three learned parts (:mod:`.dance_nets`): the cost
estimator, the hardware generator and the accuracy predictor that stands in for DANCE's
supernet. Once trained and frozen, the hardware cost of a relaxed architecture reaches its
parameters by gradient along two paths: architecture -> generator -> relaxed design ->
estimator, and architecture -> expected layer-shape counts -> estimator (DANCE forwards the
architecture to the cost estimation network).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from coexplore.joint.dance_cost import HardwareCost
from coexplore.joint.dance_nets import CostEstimator, HardwareCode, HardwareGenerator, fit, mlp, relax

__all__ = ["DanceEvaluator"]

HELD_OUT = 0.1  # share of the sampled pairs kept out of training to measure the estimator's error


class DanceEvaluator:
    """Estimator, generator and accuracy predictor of one grid problem; :meth:`train`, then :meth:`search`."""

    def __init__(self, problem: Any, cost: HardwareCost, *, seed: int = 0) -> None:
        self.problem, self.cost, self.seed = problem, cost, seed
        self.code = HardwareCode(problem)
        counts = problem.counts.counts.astype(np.float64)
        u, sv, vt = np.linalg.svd(counts, full_matrices=False)
        r = int((sv > 1e-9 * sv[0]).sum())
        order = np.zeros(tuple(problem.arch_cards), dtype=np.int64)  # NB201 index of each choice tuple
        order[tuple(problem.arch_choices.T)] = np.arange(len(counts))
        self._factors = ((u[:, :r] * sv[:r])[order.reshape(-1)].astype(np.float32), vt[:r].astype(np.float32))
        self.report: dict[str, Any] = {}
        self.estimator: CostEstimator | None = None
        self.generator: HardwareGenerator | None = None
        self.accuracy_model: Any = None
        self.cost_range = (0.0, 1.0)
        self.acc_scale = (0.0, 1.0)

    # -- encodings -----------------------------------------------------------------------------
    def onehot(self, idx: np.ndarray) -> np.ndarray:
        """One-hot architecture (one block per edge) of NB201 indices, float (n, sum of cards)."""
        arch = self.problem.arch_choices[np.asarray(idx, dtype=np.int64)]
        return np.concatenate([np.eye(c)[arch[:, k]] for k, c in enumerate(self.problem.arch_cards)], axis=1)

    def counts(self, idx: np.ndarray) -> np.ndarray:
        """Layer-shape counts of networks (their lowering, known to the designer; not a cost)."""
        return self.problem.counts.counts[np.asarray(idx, dtype=np.int64)].astype(np.float64)

    def features(self, torch: Any, columns: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.code.features_t(torch, torch.as_tensor(self.code.onehot(columns), dtype=torch.float32)).numpy()

    def expected_counts_t(self, torch: Any, relaxed: Any) -> Any:
        """Expected layer-shape counts when each edge's operation is drawn from its softmax (exact, multilinear).

        The networks x shapes count matrix has a low rank (3 on NB201: fixed layers, live 1x1 and
        3x3 convolutions), so its factor ``U`` is contracted one edge at a time,
        (n, c) x (n, c, rest) -> (n, rest), then mapped back to shapes by ``V``.
        """
        cards = self.problem.arch_cards
        u, v = (torch.as_tensor(x) for x in self._factors)
        out = relaxed[:, :cards[0]] @ u.reshape(cards[0], -1)
        k = cards[0]
        for c in cards[1:]:
            out = torch.bmm(relaxed[:, None, k:k + c], out.reshape(len(out), c, -1))[:, 0]
            k += c
        return (out @ v).clamp_min(0.0)

    # -- training ------------------------------------------------------------------------------
    def train(self, torch: Any, idx: np.ndarray, cols: np.ndarray, log_costs: np.ndarray, *, epochs: int,
              rng: np.random.Generator, exhaustive: list[tuple[int, np.ndarray]] | None = None) -> DanceEvaluator:
        """Fit the three models on priced pairs (``log_costs``: log10 latency, energy, area per pair).

        ``exhaustive``: (network, log10 costs on every design) of networks priced on the whole
        space; when given, they alone label the generator (DANCE's protocol), else each sampled
        network is labelled with its best sampled design.
        """
        exhaustive = exhaustive or []
        order = rng.permutation(len(idx))
        n_test = round(HELD_OUT * len(idx)) if len(idx) >= 20 else 0
        test, train = order[:n_test], order[n_test:]
        tr_idx, tr_cols, tr_logc = idx[train], cols[train], log_costs[train]
        for a, lc in exhaustive:
            tr_idx, tr_cols = np.r_[tr_idx, np.full(len(lc), a)], np.r_[tr_cols, self.code.columns]
            tr_logc = np.r_[tr_logc, lc]
        self._fit_estimator(torch, tr_idx, tr_cols, tr_logc, epochs=epochs)
        self.report.update({"train_pairs": len(tr_idx), "test_pairs": int(n_test)})
        if n_test:
            assert self.estimator is not None
            pred = self.estimator.predict(torch, self.counts(idx[test]), self.features(torch, cols[test]))
            err = np.abs(10 ** (pred - log_costs[test]) - 1) * 100
            edp = np.abs(10 ** (pred[:, :2].sum(axis=1) - log_costs[test, :2].sum(axis=1)) - 1) * 100
            self.report["estimator_error_pct"] = {"latency": float(err[:, 0].mean()), "energy": float(err[:, 1].mean()),
                                                  "area": float(err[:, 2].mean()), "edp": float(edp.mean())}
        self.cost = self.cost.fitted(tr_logc)
        hw = self.cost.log10(tr_logc)
        self.cost_range = (float(hw.min()), float(max(hw.max(), hw.min() + 1e-6)))
        if exhaustive:
            nets = np.array([a for a, _ in exhaustive], dtype=np.int64)
            labels = self.code.columns[[int(np.argmin(self.cost.log10(lc))) for _, lc in exhaustive]]
        else:
            nets, labels = self.best_sampled(idx, cols, log_costs)
        self._fit_generator(torch, nets, labels)
        self._fit_accuracy(torch, np.unique(np.r_[idx, nets].astype(np.int64)))
        for model in (self.accuracy_model, self.generator.model, self.estimator.model):  # type: ignore[union-attr]
            for prm in model.parameters():
                prm.requires_grad_(False)
        return self

    def best_sampled(self, idx: np.ndarray, cols: np.ndarray, log_costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The generator's labels from sampled pairs: (each sampled network, its best measured design).

        A network's hardware costs depend only on its layers, so its best measured design is the
        design of least Cost_HW among the pairs of every sampled network with the same layer-shape
        counts (its own pairs included): DANCE's exhaustive search, restricted to the sampled designs.
        """
        _, workload = np.unique(self.counts(idx), axis=0, return_inverse=True)
        workload = workload.reshape(-1)
        o = np.lexsort((self.cost.log10(log_costs), workload))
        _, first = np.unique(workload[o], return_index=True)
        best = np.full(workload.max() + 1, -1, dtype=np.int64)
        best[workload[o][first]] = cols[o][first]
        nets, at = np.unique(idx, return_index=True)
        return nets, best[workload[at]]

    def _fit_estimator(self, torch: Any, idx: np.ndarray, cols: np.ndarray, logc: np.ndarray, *, epochs: int) -> None:
        est = CostEstimator(torch, self.problem.counts.counts.shape[1], self.code.n_features, seed=self.seed)
        t0 = time.perf_counter()
        est.fit(torch, self.counts(idx), self.features(torch, cols), logc, epochs=epochs, seed=self.seed)
        self.report["estimator_train_seconds"] = time.perf_counter() - t0
        every = self.features(torch, self.code.columns)
        t0 = time.perf_counter()
        est.predict(torch, np.repeat(self.counts(idx[:1]), len(every), axis=0), every)
        self.report["estimator_us_per_pair"] = (time.perf_counter() - t0) / len(every) * 1e6
        self.estimator = est

    def _fit_generator(self, torch: Any, nets: np.ndarray, labels: np.ndarray) -> None:
        t0 = time.perf_counter()
        x = self.onehot(nets)
        self.generator = HardwareGenerator(torch, x.shape[1], self.code, seed=self.seed + 2).fit(
            torch, x, labels, epochs=max(20, min(300, 40_000 // max(len(nets), 1))), seed=self.seed + 2)
        self.report.update({"generator_labelled_networks": len(nets),
                            "generator_train_seconds": time.perf_counter() - t0})

    def _fit_accuracy(self, torch: Any, nets: np.ndarray) -> None:
        """An MLP on the sampled networks' table accuracies (DANCE trains a supernet instead)."""
        acc = self.problem.accuracy[nets]
        torch.manual_seed(self.seed + 1)
        x = torch.as_tensor(self.onehot(nets), dtype=torch.float32)
        accm = mlp(torch, x.shape[1], 1, 128, 2)
        self.acc_scale = (float(acc.mean()), float(max(acc.std(), 1e-6)))
        y = torch.as_tensor((acc - self.acc_scale[0]) / self.acc_scale[1], dtype=torch.float32)[:, None]
        t0 = time.perf_counter()
        fit(torch, accm.parameters(), lambda j: torch.mean((accm(x[j]) - y[j]) ** 2), len(y),
            epochs=max(20, min(200, 100_000 // len(y))), lr=3e-3, seed=self.seed + 1, batch=128)
        self.accuracy_model = accm
        self.report.update({"accuracy_networks": len(nets), "accuracy_train_seconds": time.perf_counter() - t0})

    # -- the differentiable search -------------------------------------------------------------
    def hardware_cost_t(self, torch: Any, relaxed: Any, *, generator_path: bool = True,
                        counts_path: bool = True) -> Any:
        """Estimated log10 Cost_HW of relaxed architectures (n, sum of cards), differentiable.

        Either gradient path (through the generator's design, through the expected layer
        counts) can be cut; the search uses both.
        """
        assert self.generator is not None and self.estimator is not None
        design = self.generator.log_probs_t(torch, relaxed if generator_path else relaxed.detach()).exp()
        counts = self.expected_counts_t(torch, relaxed if counts_path else relaxed.detach())
        logc = self.estimator.predict_t(torch, counts, self.code.features_t(torch, design))
        return self.cost.log10_t(torch, logc)

    def accuracy_t(self, torch: Any, relaxed: Any) -> Any:
        """Predicted accuracy (%) of relaxed architectures, differentiable."""
        return self.accuracy_model(relaxed)[:, 0] * self.acc_scale[1] + self.acc_scale[0]

    def search(self, torch: Any, *, sweep: int, restarts: int, steps: int) -> np.ndarray:
        """Distinct argmax networks (NB201 indices, in search order) of ``sweep x restarts`` searches.

        Each minimises ``-accuracy/100 + lambda * (log10 Cost_HW scaled to the sampled range)``
        over one softmax per edge by Adam; lambda runs from 0 (accuracy only) to 2.
        """
        cards = self.problem.arch_cards
        lo, hi = self.cost_range
        lam = np.r_[0.0, np.geomspace(0.01, 2.0, sweep - 1)] if sweep > 1 else np.array([0.1])
        lam_t = torch.as_tensor(np.repeat(lam, restarts), dtype=torch.float32)
        logits = torch.randn(len(lam_t), sum(cards), generator=torch.Generator().manual_seed(self.seed + 3))
        logits.requires_grad_(True)
        opt = torch.optim.Adam([logits], lr=0.1)
        t0 = time.perf_counter()
        for _ in range(steps):
            relaxed = relax(torch, logits, cards)
            loss = (-self.accuracy_t(torch, relaxed) / 100.0
                    + lam_t * (self.hardware_cost_t(torch, relaxed) - lo) / (hi - lo)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        z = logits.detach().numpy()
        offs = np.r_[0, np.cumsum(cards)[:-1]]
        found = self.problem.arch_index(np.column_stack([np.argmax(z[:, o:o + c], axis=1)
                                                         for o, c in zip(offs, cards, strict=True)]))
        _, first = np.unique(found, return_index=True)
        self.report.update({"search_seconds": time.perf_counter() - t0, "searches": len(lam_t),
                            "networks_found": len(first)})
        return found[np.sort(first)]

    def hardware_for(self, torch: Any, nets: np.ndarray, how: str, rng: np.random.Generator) -> np.ndarray:
        """The design (table column) each network is evaluated on: the generator's choice (DANCE), the one
        the estimator ranks best among every design (ablation), or a random one (ablation)."""
        assert self.generator is not None and self.estimator is not None
        if how == "generator":
            return self.generator.choose(torch, self.onehot(nets))
        if how == "random":
            return self.code.columns[rng.integers(len(self.code.columns), size=len(nets))]
        every = self.features(torch, self.code.columns)
        out = np.empty(len(nets), dtype=np.int64)
        for i, a in enumerate(np.asarray(nets).tolist()):
            pred = self.estimator.predict(torch, np.repeat(self.counts(np.array([a])), len(every), axis=0), every)
            out[i] = self.code.columns[int(np.argmin(self.cost.log10(pred)))]
        return out
