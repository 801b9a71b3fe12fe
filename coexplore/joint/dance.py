"""DANCE (seed 003): differentiable accelerator/network co-exploration with learned evaluators.

DANCE replaces the slow hardware cost model inside a differentiable NAS with two networks
trained on samples of that model (:mod:`.dance_nets`): a **hardware generation network**
(architecture -> the optimal accelerator: PE array, buffer sizes, dataflow, one softmax per
axis, trained by cross-entropy on networks labelled with their optimal design) and a **cost
estimation network** ((architecture, accelerator) -> latency, energy, area). The NAS loss is
accuracy plus ``Cost_HW`` (:mod:`.dance_cost`), and the hardware cost reaches the
architecture parameters by gradient through both networks: architecture -> generator ->
relaxed design -> estimator, and architecture -> its expected layer shapes -> estimator.
The result of one search is the argmax network with the generator's design.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.joint.base import JointStrategy
from coexplore.joint.dance_cost import HardwareCost
from coexplore.joint.dance_eval import DanceEvaluator
from coexplore.joint.dance_nets import design_columns
from coexplore.joint.problem import PairBatch
from coexplore.optional import require
from coexplore.search.problem import Evaluation

__all__ = ["DanceStrategy"]

HARDWARE = ("generator", "estimator", "random")
SEARCH = ("gradient", "random")


def _torch() -> Any:
    return require("torch", extra="nas", who="strategy dance")


class DanceStrategy(JointStrategy):
    """DANCE on a grid problem (NAS-Bench-201 x designs priced by the cost table).

    Phases (every pair the cost model prices counts against the budget):

    1. ``samples`` random pairs (distinct random networks, each on a random design) train the
       evaluators. With ``labels: exhaustive``, ``labelled`` random networks are first priced
       on every design of the space (vectorised, in ``pairs_evaluated``, within ``samples``).
    2. Training: the cost estimator on the priced pairs; the hardware generator by
       cross-entropy on networks labelled with their optimal design under ``Cost_HW``; an
       accuracy predictor on the sampled networks' accuracies. Labels: ``exhaustive``, the
       best of every design (DANCE's protocol); ``sampled``, each sampled network's best
       measured design, among the pairs of every sampled network with the same layers (the
       cost model sees only the layers), i.e. the exhaustive search restricted to the samples.
    3. Search: ``sweep`` trade-off weights (0 to 2) x ``restarts`` random initial relaxed
       architectures (a softmax per edge) minimise ``-accuracy/100 + lambda * Cost_HW`` by Adam
       for ``steps`` steps, Cost_HW estimated through generator and estimator; each search's
       argmax network is evaluated on the generator's design (the feasible design of highest
       joint probability). The strategy ends with those pairs, usually below the budget.

    Departures from the paper (offline, laptop scale): accuracy comes from an MLP on the
    sampled cells' NAS-Bench-201 table accuracies, not a supernet trained in the loop; the
    relaxation is a softmax per edge with exact expected layer counts (DARTS-like), not
    ProxylessNAS's sampled binary paths; the relaxed design fed to the estimator is the
    generator's softmax (no Gumbel sampling); ``sampled`` labels restrict the exhaustive search
    to the sampled designs (``exhaustive`` prices 8,430 pairs per labelled network); the loss
    weighs log10 Cost_HW scaled to its sampled range, so one lambda grid serves every cost; a
    sweep of lambdas and restarts gives a front where the paper reports one network per run.

    Args:
        samples: Pairs priced to train the evaluators (default: half the budget, 64 to 20,000).
        labels: ``sampled`` or ``exhaustive``; ``labelled``: networks priced on every design.
        loss: ``objectives`` (Cost_HW = the product of the study's costs: EDP for accuracy +
            edp, latency for accuracy + latency...), ``edap`` (energy x latency x area) or
            ``weighted`` (``weights`` lambda on latency, energy, area, each over its geometric
            mean in the samples); a loss that ignores one of the study's costs is refused.
        sweep, restarts, steps: Trade-off weights, random starts per weight (default: what the
            budget left after the samples allows, at most 16), Adam steps per search.
        epochs: Training epochs of the cost estimator.
        hardware, search: Ablations. ``hardware``: ``generator`` (DANCE), ``estimator`` (the
            design the estimator ranks best among all, for each found network) or ``random``;
            ``search``: ``gradient`` (DANCE) or as many ``random`` networks.
    """

    name = "dance"
    costs_only = True
    transient = ("problem", "evaluator")  # the trained models live within the one ask that searches

    def __init__(self, *, seed: int = 0, samples: int | None = None, labels: str = "sampled",
                 labelled: int | None = None, loss: str = "objectives", weights: Mapping[str, float] | None = None,
                 sweep: int = 32, restarts: int | None = None, steps: int = 50, epochs: int = 120,
                 hardware: str = "generator", search: str = "gradient") -> None:
        super().__init__(seed=seed)
        errs = []
        for name, value, valid in (("labels", labels, ("sampled", "exhaustive")), ("hardware", hardware, HARDWARE),
                                   ("search", search, SEARCH)):
            if value not in valid:
                errs.append(f"strategy.params.{name}: must be one of {', '.join(valid)}, got {value!r}")
        for key, number in (("sweep", sweep), ("restarts", restarts), ("steps", steps), ("epochs", epochs)):
            if (key, number) == ("restarts", None):
                continue  # from the budget, at setup
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                errs.append(f"strategy.params.{key}: must be an integer >= 1, got {number!r}")
        if labels == "exhaustive" and labelled is not None and (
                isinstance(labelled, bool) or not isinstance(labelled, int) or labelled < 1):
            errs.append(f"strategy.params.labelled: must be an integer >= 1, got {labelled!r}")
        elif labels != "exhaustive" and labelled is not None:
            errs.append(f"strategy.params.labelled: only with labels exhaustive, got labels {labels!r}")
        if errs:
            raise SpecError(errs)
        self._samples_arg, self._restarts_arg, self._loss, self._weights = samples, restarts, loss, weights
        self.labels = labels
        self.labelled = (1 if labelled is None else labelled) if labels == "exhaustive" else 0
        self.sweep, self.steps, self.epochs = sweep, steps, epochs
        self.hardware, self.search = hardware, search
        self.sampled: list[tuple[np.ndarray, np.ndarray]] = []  # (NB201 index, table column) told, feasible
        self.label_costs: list[tuple[int, np.ndarray]] = []  # (NB201 index, log10 costs on every design)
        self.asked = 0
        self.queue: PairBatch | None = None
        self.pos = 0
        self.evaluator: DanceEvaluator | None = None
        self.found = np.zeros(0, np.int64)
        self.report: dict[str, Any] = {}  # what the search found out, from setup on

    def setup(self, problem: Any, budget: int | None) -> None:
        super().setup(problem, budget)
        _torch()  # fail before the sampling phase, not after it
        if not hasattr(problem, "hw_choices") or not hasattr(problem, "counts"):
            raise SpecError("strategy dance: needs a problem on an enumerable design grid (space nb201)")
        budget = self.budget
        self.cost = HardwareCost.of(tuple(problem.objectives), loss=self._loss, weights=self._weights)
        errs = []
        samples = self._samples_arg
        default = int(min(20_000, max(64, budget // 2)))
        self.samples: int = (default if default < budget else budget // 2) if samples is None else samples
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or not 1 <= self.samples < budget:
            errs.append(f"strategy.params.samples: must be an integer in [1, budget {budget}), got {samples!r}")
            self.samples = 1
        restarts = self._restarts_arg
        if restarts is None:  # searches the budget left can use, <= 16
            restarts = max(1, min(16, (budget - self.samples) // self.sweep))
        n_designs = len(design_columns(problem))
        if self.labelled * n_designs > self.samples:
            errs.append(f"strategy.params.labelled: {self.labelled} networks x {n_designs:,} designs "
                        f"= {self.labelled * n_designs:,} pairs exceed samples {self.samples:,}")
        if errs:
            raise SpecError(errs)
        self.restarts = int(restarts)
        self.plan = self._plan(n_designs)
        self.report = {"hardware_cost": self.cost.describe(), "labels": self.labels}

    def _plan(self, n_designs: int) -> tuple[np.ndarray, np.ndarray]:
        """The sampled pairs: distinct random networks (as many as there are), each on a random design."""
        p = self.problem
        rest = self.samples - self.labelled * n_designs
        nets = self.rng.permutation(len(p.arch_choices))
        self.exhaustive_networks = nets[:self.labelled]
        idx = np.resize(nets[self.labelled:], rest)
        cols = design_columns(p)
        return idx, cols[self.rng.integers(len(cols), size=rest)]

    @property
    def finished(self) -> bool:
        return self.queue is not None and self.pos >= len(self.queue)

    # -- ask / tell ----------------------------------------------------------------------------
    def ask(self) -> PairBatch:
        p = self.problem
        if self.labelled and not self.label_costs:
            self._price_exhaustive()
        idx, cols = self.plan
        if self.asked < len(idx):
            j = np.arange(self.asked, min(self.asked + 256, len(idx)))
            self.asked += len(j)
            self.pairs_evaluated += len(j)
            return p.pairs(idx[j], cols[j])
        if self.queue is None:
            self.queue = self._search()
        out = self.queue.take(np.arange(self.pos, min(self.pos + 256, len(self.queue))))
        self.pos += len(out)
        self.pairs_evaluated += len(out)
        return out

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        if self.queue is not None:
            return
        ok = evaluation.feasible & np.isfinite(evaluation.values).all(axis=1)
        if ok.any():
            self.sampled.append((self.problem.arch_index(candidates.arch[ok]), self.problem.column(candidates.hw[ok])))

    def _price_exhaustive(self) -> None:
        """DANCE's labels: every design of the space priced for each labelled network (vectorised)."""
        cols = design_columns(self.problem)
        for a in self.exhaustive_networks.tolist():
            self.label_costs.append((int(a), self._log_costs(np.full(len(cols), a), cols)))
            self.pairs_evaluated += len(cols)

    def _log_costs(self, idx: np.ndarray, cols: np.ndarray) -> np.ndarray:
        energy, latency, area = self.problem.costs(idx, cols)
        return np.column_stack([np.log10(latency.astype(np.float64)), np.log10(energy), np.log10(area)])

    # -- training and search -----------------------------------------------------------------
    def _search(self) -> PairBatch:
        torch = _torch()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the same seed gives the same networks
        try:
            p = self.problem
            if not self.sampled and not self.label_costs:
                return PairBatch(np.zeros((0, len(p.arch_cards)), np.int64), np.zeros((0, len(p.hw_cards)), np.int64))
            idx = np.concatenate([s[0] for s in self.sampled]) if self.sampled else np.zeros(0, np.int64)
            cols = np.concatenate([s[1] for s in self.sampled]) if self.sampled else np.zeros(0, np.int64)
            ev = DanceEvaluator(p, self.cost, seed=self.seed)
            ev.train(torch, idx, cols, self._log_costs(idx, cols), epochs=self.epochs, rng=self.rng,
                     exhaustive=self.label_costs)
            self.evaluator = ev
            self.found = ev.search(torch, sweep=self.sweep, restarts=self.restarts, steps=self.steps)
            self.report.update(ev.report)
            return self._proposals(torch, ev, self.hardware, self.search, self.rng)
        finally:
            torch.set_num_threads(threads)

    def _proposals(self, torch: Any, ev: DanceEvaluator, hardware: str, search: str,
                   rng: np.random.Generator) -> PairBatch:
        """The found networks (or as many random ones) on their designs, pairs not evaluated before."""
        p = self.problem
        nets = self.found if search == "gradient" else rng.permutation(len(p.arch_choices))[:len(self.found)]
        cols = ev.hardware_for(torch, nets, hardware, rng)
        seen = {(int(a), int(c)) for s in self.sampled for a, c in zip(*s, strict=True)}
        keep = [i for i in range(len(nets)) if (int(nets[i]), int(cols[i])) not in seen]
        keep = keep[:max(self.budget - self.pairs_evaluated, 0)]
        self.report["networks_proposed"] = len(keep)
        return p.pairs(nets[keep], cols[keep])

    def ablation(self, *, hardware: str = "generator", search: str = "gradient", seed: int = 0) -> PairBatch:
        """What the search phase would propose with another hardware choice or network search.

        Reuses the evaluator trained by this run (in this process, after the search phase), so
        a benchmark compares the variants on the same samples and models at no training cost.
        """
        if self.evaluator is None:
            raise SpecError("ablation: run the strategy through its search phase in this process first")
        torch = _torch()
        report = dict(self.report)
        try:
            return self._proposals(torch, self.evaluator, hardware, search, np.random.default_rng(seed))
        finally:
            self.report = report
