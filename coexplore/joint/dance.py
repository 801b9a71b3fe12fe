"""DANCE (seed 003): differentiable accelerator/network co-exploration with learned evaluators.

DANCE replaces the slow hardware cost model inside a differentiable NAS loop with two
networks trained on samples of that model:

* a **cost estimator** ((architecture, accelerator) -> log10 latency, energy, area),
* a **hardware generator** (architecture -> the accelerator parameters that minimise the
  estimated EDP), trained through the frozen estimator,

and an accuracy predictor (architecture -> accuracy; DANCE uses a supernet, here an MLP
on NAS-Bench-201's offline accuracies of the sampled cells). Architectures are relaxed
(a softmax over the operations of each edge); gradient descent on the loss
``-accuracy/100 + lam * (log10 EDP scaled)`` for a sweep of ``lam`` gives architectures
from accurate to cheap, each with its generated accelerator (decoded to the nearest
feasible design). The estimator then ranks every design for each found network, and the
best-ranked pairs are evaluated with the real cost model.

Strategy phases (pairs are only ever evaluated by the problem, so every one counts):
``samples`` random pairs to train on, then the searched pairs. :attr:`DanceStrategy.report`
holds the estimator's held-out error against the analytical model and its query time.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.base import GridCoords, JointStrategy
from coexplore.joint.problem import PairBatch
from coexplore.optional import require
from coexplore.search.problem import Evaluation

__all__ = ["CostEstimator", "DanceStrategy"]

HELD_OUT = 0.1  # share of the samples kept out of training to measure the estimator's error


def _torch() -> Any:
    return require("torch", extra="nas", who="strategy dance")


def _mlp(torch: Any, n_in: int, n_out: int, hidden: int, layers: int) -> Any:
    nn = torch.nn
    mods: list[Any] = []
    d = n_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), nn.SiLU()]
        d = hidden
    mods.append(nn.Linear(d, n_out))
    return nn.Sequential(*mods)


def _fit(torch: Any, params: Any, predict: Any, inputs: tuple[np.ndarray, ...], y: np.ndarray, *, epochs: int,
         lr: float, seed: int, batch: int = 256) -> None:
    """Adam (cosine decay) on the mean squared error of ``predict(*inputs)``, minibatches in a seeded order."""
    gen = torch.Generator().manual_seed(seed)
    xs = [torch.as_tensor(x, dtype=torch.float32) for x in inputs]
    yt = torch.as_tensor(y, dtype=torch.float32)
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for _ in range(epochs):
        order = torch.randperm(len(yt), generator=gen)
        for i in range(0, len(yt), batch):
            j = order[i:i + batch]
            opt.zero_grad()
            loss = torch.mean((predict(*(x[j] for x in xs)) - yt[j]) ** 2)
            loss.backward()
            opt.step()
        sched.step()


class CostEstimator:
    """(layer-shape counts of a network, accelerator genome) -> log10 latency, energy and area.

    An MLP of the genome predicts each layer shape's log latency and log energy on that
    accelerator (and the log area); the network's costs are the count-weighted sums of
    the per-shape predictions (a log-sum-exp), so the model has the cost model's own
    structure (layers run one after another) and learns only how each shape fares on
    each design. It is trained on network totals, never on per-layer costs. For a relaxed
    architecture the counts are the expected counts (:meth:`DanceStrategy._relaxed_counts`).
    """

    def __init__(self, torch: Any, n_shapes: int, n_hw: int, *, hidden: int = 256, layers: int = 3,
                 seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.n_shapes = n_shapes
        self.model = _mlp(torch, n_hw, 2 * n_shapes + 1, hidden, layers)
        self.mean = np.zeros(3)

    def predict_t(self, torch: Any, counts: Any, genome: Any) -> Any:
        """log10 (latency, energy, area) as a tensor (n, 3), differentiable in both inputs."""
        out = self.model(genome)
        per_shape = out[:, :2 * self.n_shapes].view(-1, 2, self.n_shapes)
        ln10 = float(np.log(10.0))
        net = torch.logsumexp(per_shape * ln10 + torch.log(counts.clamp_min(1e-9))[:, None, :], dim=2) / ln10
        return torch.cat([net, out[:, -1:]], dim=1) + torch.as_tensor(self.mean, dtype=torch.float32)

    def fit(self, torch: Any, counts: np.ndarray, genome: np.ndarray, log_costs: np.ndarray, *, epochs: int,
            seed: int, batch: int = 256) -> None:
        """Fit the squared log10 error of the network totals."""
        self.mean = log_costs.mean(axis=0)
        _fit(torch, self.model.parameters(), lambda c, g: self.predict_t(torch, c, g), (counts, genome), log_costs,
             epochs=epochs, lr=2e-3, seed=seed, batch=batch)

    def predict(self, torch: Any, counts: np.ndarray, genome: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.predict_t(torch, torch.as_tensor(counts, dtype=torch.float32),
                                  torch.as_tensor(genome, dtype=torch.float32)).numpy().astype(np.float64)


class DanceStrategy(JointStrategy):
    """DANCE on a grid problem (NAS-Bench-201 x designs); see the module docstring.

    Args:
        samples: Random pairs evaluated to train the evaluators (default: half the
            budget, 64 to 20,000; the estimator's error is about 2 % at 20,000).
        lambdas: How many trade-off weights the gradient search sweeps.
        restarts: Random initial architectures per weight.
        steps: Gradient steps per search.
        designs_per_arch: Best-estimated designs evaluated for each found network, at
            least (more if the budget leaves room: it is shared among the found networks).
        epochs: Training epochs of the cost estimator.
    """

    name = "dance"
    transient = ("problem", "coords")

    def __init__(self, problem: Any, *, seed: int = 0, budget: int = 1000, samples: int | None = None,
                 lambdas: int = 12, restarts: int = 2, steps: int = 150, designs_per_arch: int = 8,
                 epochs: int = 120) -> None:
        super().__init__(problem, seed=seed, budget=budget)
        _torch()  # fail before the sampling phase, not after it
        if not hasattr(problem, "hw_choices") or problem.objectives[0] != "accuracy":
            raise SpecError("strategy dance: needs an accuracy-first problem on an enumerable design grid")
        self.seed = seed
        self.samples = samples or int(min(20_000, max(64, budget // 2)))
        if self.samples >= budget:
            self.samples = max(1, budget // 2)
        self.lambdas, self.restarts, self.steps = lambdas, restarts, steps
        self.designs_per_arch, self.epochs = designs_per_arch, epochs
        self._attach(problem)
        self.sampled: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.asked = 0
        self.queue: PairBatch | None = None
        self.pos = 0
        self.report: dict[str, Any] = {}
        self.estimator: CostEstimator | None = None
        self.accuracy_model: Any = None
        self.generator: Any = None
        self.count_map: Any = None

    def _attach(self, problem: Any) -> None:
        self.coords = GridCoords(problem)

    @property
    def finished(self) -> bool:
        return self.queue is not None and self.pos >= len(self.queue)

    # -- encodings ---------------------------------------------------------------------------
    def _onehot(self, arch: np.ndarray) -> np.ndarray:
        cards = self.problem.arch_cards
        return np.concatenate([np.eye(c)[arch[:, k]] for k, c in enumerate(cards)], axis=1)

    def _counts(self, arch: np.ndarray) -> np.ndarray:
        """Exact layer-shape counts of discrete networks (the network's lowering, not a cost)."""
        return self.problem.counts.counts[self.problem.arch_index(arch)].astype(np.float64)

    def _count_map(self) -> tuple[np.ndarray, np.ndarray]:
        """(base (S,), per-choice counts (sum of cards, S)): least squares over every network's one-hot.

        ``base + onehot @ M`` is each network's count row up to the operations that dead
        edges remove; for a relaxed architecture (a softmax per edge) it gives expected counts.
        """
        p = self.problem
        x = np.column_stack([np.ones(len(p.arch_choices)), self._onehot(p.arch_choices)])
        coef, *_ = np.linalg.lstsq(x, p.counts.counts.astype(np.float64), rcond=None)
        return coef[0], coef[1:]

    # -- ask / tell ----------------------------------------------------------------------------
    def ask(self) -> PairBatch:
        if self.asked < self.samples:
            n = min(256, self.samples - self.asked)
            self.asked += n
            return PairBatch(self._random_archs(n), self._random_hw(n))
        if self.queue is None:
            self.queue = self._search()
        out = self.queue.take(np.arange(self.pos, min(self.pos + 256, len(self.queue))))
        self.pos += len(out)
        return out

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        if self.queue is not None:
            return
        ok = evaluation.feasible & np.isfinite(evaluation.values).all(axis=1)
        if not ok.any():
            return
        p = self.problem
        arch, hw = candidates.arch[ok], candidates.hw[ok]
        cols = p.column(hw)
        idx = p.arch_index(arch)
        energy, latency, area = p.costs(idx, cols)
        self.sampled.append((arch, cols, p.accuracy[idx], np.column_stack([np.log10(latency.astype(np.float64)),
                                                                            np.log10(energy), np.log10(area)])))

    # -- training the evaluators ---------------------------------------------------------------
    def _train(self, torch: Any) -> None:
        arch = np.concatenate([s[0] for s in self.sampled])
        cols = np.concatenate([s[1] for s in self.sampled])
        acc = np.concatenate([s[2] for s in self.sampled])
        logc = np.concatenate([s[3] for s in self.sampled])
        counts, genome = self._counts(arch), self.coords.features(cols)
        n_test = round(HELD_OUT * len(arch)) if len(arch) >= 20 else 0
        order = self.rng.permutation(len(arch))
        test, train = order[:n_test], order[n_test:]
        est = CostEstimator(torch, counts.shape[1], genome.shape[1], seed=self.seed)
        t0 = time.perf_counter()
        est.fit(torch, counts[train], genome[train], logc[train], epochs=self.epochs, seed=self.seed)
        self.report.update({"train_pairs": len(train), "test_pairs": int(n_test),
                            "estimator_train_seconds": time.perf_counter() - t0})
        self.estimator = est
        if n_test:
            pred = est.predict(torch, counts[test], genome[test])
            err = np.abs(10 ** (pred - logc[test]) - 1) * 100
            edp = np.abs(10 ** ((pred[:, 0] + pred[:, 1]) - (logc[test, 0] + logc[test, 1])) - 1) * 100
            self.report["estimator_error_pct"] = {"latency": float(err[:, 0].mean()),
                                                  "energy": float(err[:, 1].mean()),
                                                  "area": float(err[:, 2].mean()), "edp": float(edp.mean())}
        # accuracy predictor on the distinct sampled cells
        uniq, first = np.unique(arch, axis=0, return_index=True)
        torch.manual_seed(self.seed + 1)
        n_in = self._onehot(uniq[:1]).shape[1]
        accm = _mlp(torch, n_in, 1, 128, 2)
        a_mean, a_std = float(acc.mean()), float(max(acc.std(), 1e-6))
        _fit(torch, accm.parameters(), accm, (self._onehot(uniq),), ((acc[first] - a_mean) / a_std)[:, None],
             epochs=200, lr=3e-3, seed=self.seed + 1, batch=128)
        self.accuracy_model = (accm, a_mean, a_std)
        # hardware generator: architecture -> genome, trained through the frozen estimator for least EDP
        base, cmap = (torch.as_tensor(v, dtype=torch.float32) for v in self._count_map())
        self.count_map = (base, cmap)
        torch.manual_seed(self.seed + 2)
        gen = _mlp(torch, n_in, genome.shape[1], 128, 2)
        for prm in est.model.parameters():
            prm.requires_grad_(False)
        opt = torch.optim.Adam(gen.parameters(), lr=3e-3)
        g = torch.Generator().manual_seed(self.seed + 2)
        for _ in range(300):
            relaxed = self._relax(torch, torch.randn(128, n_in, generator=g) * 3)
            pred = est.predict_t(torch, self._relaxed_counts(torch, relaxed), self._genome(torch, gen(relaxed)))
            loss = (pred[:, 0] + pred[:, 1]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.generator = gen

    def _relaxed_counts(self, torch: Any, relaxed: Any) -> Any:
        base, cmap = self.count_map
        return (base + relaxed @ cmap).clamp_min(0.0)

    def _relax(self, torch: Any, logits: Any) -> Any:
        parts, k = [], 0
        for c in self.problem.arch_cards:
            parts.append(torch.softmax(logits[:, k:k + c], dim=1))
            k += c
        return torch.cat(parts, dim=1)

    def _genome(self, torch: Any, raw: Any) -> Any:
        """Generator output -> genome: sides and sizes in [0, 1], dataflow importances a softmax."""
        nd = self.coords.n_dataflows
        return torch.cat([torch.sigmoid(raw[:, :2]), torch.softmax(raw[:, 2:2 + nd], dim=1),
                          torch.sigmoid(raw[:, 2 + nd:])], dim=1)

    # -- the differentiable search -----------------------------------------------------------
    def _search(self) -> PairBatch:
        torch = _torch()
        torch.set_num_threads(1)  # the same seed gives the same networks
        empty = PairBatch(np.zeros((0, len(self.problem.arch_cards)), np.int64),
                          np.zeros((0, len(self.problem.hw_cards)), np.int64))
        if not self.sampled:
            return empty
        self._train(torch)
        assert self.estimator is not None
        accm, a_mean, a_std = self.accuracy_model
        est, gen = self.estimator, self.generator
        for model in (accm, gen):
            for prm in model.parameters():
                prm.requires_grad_(False)
        logc = np.concatenate([s[3] for s in self.sampled])
        lo, hi = float((logc[:, 0] + logc[:, 1]).min()), float((logc[:, 0] + logc[:, 1]).max())
        cards = self.problem.arch_cards
        g = torch.Generator().manual_seed(self.seed + 3)
        found: list[np.ndarray] = []
        t0 = time.perf_counter()
        for lam in np.linspace(0.0, 2.0, self.lambdas):
            for _ in range(self.restarts):
                logits = (torch.randn(1, sum(cards), generator=g) * 0.1).requires_grad_(True)
                opt = torch.optim.Adam([logits], lr=0.1)
                for _ in range(self.steps):
                    relaxed = self._relax(torch, logits)
                    acc = accm(relaxed)[:, 0] * a_std + a_mean
                    pred = est.predict_t(torch, self._relaxed_counts(torch, relaxed), self._genome(torch, gen(relaxed)))
                    loss = (-acc / 100.0 + float(lam) * (pred[:, 0] + pred[:, 1] - lo) / max(hi - lo, 1e-6)).sum()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                z = logits.detach().numpy()[0]
                found.append(np.array([int(np.argmax(z[sum(cards[:k]):sum(cards[:k + 1])]))
                                       for k in range(len(cards))], dtype=np.int64))
        self.report["search_seconds"] = time.perf_counter() - t0
        archs = np.unique(np.array(found), axis=0)
        archs = archs[self.problem.arch_index(archs) >= 0]
        if len(archs) == 0:
            return empty
        # each found network on its generated design and on the designs the estimator ranks best
        all_cols = self.coords.columns
        feats = self.coords.features(all_cols)
        arch_parts, hw_parts = [], []
        per_arch = max(self.designs_per_arch, (self.budget - self.asked) // len(archs) - 1)  # spend the budget
        t0 = time.perf_counter()
        for a in archs:
            oh = self._onehot(a[None])
            with torch.no_grad():
                genome = self._genome(torch, gen(torch.as_tensor(oh, dtype=torch.float32))).numpy()
            pred = est.predict(torch, np.repeat(self._counts(a[None]), len(all_cols), axis=0), feats)
            best = all_cols[np.argsort(pred[:, 0] + pred[:, 1], kind="stable")[:per_arch]]
            cols = np.unique(np.r_[self.coords.nearest(genome), best])
            arch_parts.append(np.repeat(a[None], len(cols), axis=0))
            hw_parts.append(self.problem.hw_choices[cols])
        self.report["estimator_us_per_pair"] = (time.perf_counter() - t0) / (len(archs) * len(all_cols)) * 1e6
        self.report["networks_found"] = len(archs)
        out = PairBatch(np.concatenate(arch_parts), np.concatenate(hw_parts))
        return out.take(np.arange(min(len(out), max(self.budget - self.asked, 0))))
