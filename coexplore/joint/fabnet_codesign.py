"""FABNet co-design (Fan et al., MICRO 2022; issue 18): FABNet hyper-parameters x the butterfly accelerator.

The network side is :class:`~coexplore.nas.fabnet.FabnetSpace` (depth, width, sequence length, FBfly or
ABfly per block), trained on synthetic ListOps here (:class:`~coexplore.nas.fabnet.ListOpsTrainer`);
the hardware side is the butterfly accelerator template under a preset's resources
(:class:`~coexplore.hwsearch.butterfly_search.ButterflySpace`: engines, units per engine, data and
coefficient buffers), priced by :mod:`coexplore.cost.butterfly`. A pair is infeasible, before any
training, when the design is over the budget or its buffers cannot hold a row of the network.

:func:`sequence_workload` turns an architecture into coexplore layers the way the presets do
(:mod:`coexplore.presets.transformers`): FBfly = 2-D FFT mixing, layer norm, butterfly FFN, layer norm;
ABfly = attention whose four projections are butterflies, then a butterfly FFN; ``transformer`` and
``fnet`` blocks with dense layers. The embedding and the classifier are left out, as in the presets.

The named strategy ``fabnet`` (:class:`FabnetCodesign`) follows the paper's split between a cheap
hardware model and an expensive accuracy: every proposed network gets the best accelerator of the
whole hardware space for the cost objective (an exhaustive sweep, milliseconds per design), and the
networks evolve multi-objectively (mutants of the current front, plus random ones), each network
trained at most once.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from coexplore.cost.butterfly import (
    ButterflyAccelerator,
    ButterflyNetworkCost,
    NetworkPlan,
    min_bank_words,
    price_network,
    price_totals,
)
from coexplore.errors import CoexploreError, SpecError
from coexplore.hwsearch.butterfly_search import ButterflySpace
from coexplore.joint.base import JointStrategy, PairArchive, fill_fresh, front_children
from coexplore.joint.problem import PairBatch, PairEncoded
from coexplore.presets.transformers import EncoderBuilder
from coexplore.search.problem import Evaluation
from coexplore.spec.workload import Network

__all__ = ["COST_OBJECTIVES", "FabnetButterflyProblem", "FabnetCodesign", "sequence_workload"]

COST_OBJECTIVES = ("latency", "energy", "edp", "area")


def sequence_workload(arch: Any, *, batch: int = 1) -> Network:
    """The layers of a :class:`~coexplore.nas.fabnet.SequenceArch` (one sequence per inference by default)."""
    b = EncoderBuilder(batch=batch)
    seq, width, hidden = arch.seq_len, arch.width, arch.ffn_ratio * arch.width
    for i, kind in enumerate(arch.blocks):
        p = f"encoder.{i}"
        b.layernorm(f"{p}.ln1", seq, width)
        if kind in ("fnet", "fbfly"):
            b.fft2d(f"{p}.mix", seq=seq, width=width)
        else:
            b.attention(f"{p}.attn", seq=seq, width=width, heads=arch.heads, butterfly=kind == "abfly")
        b.layernorm(f"{p}.ln2", seq, width)
        if kind in ("fbfly", "abfly"):
            b.butterfly(f"{p}.ffn.fc1", width, hidden, seq)
            b.butterfly(f"{p}.ffn.fc2", hidden, width, seq)
        else:
            b.ffn(f"{p}.ffn", seq=seq, width=width, hidden=hidden)
    return b.network(arch.label())


class FabnetButterflyProblem(PairEncoded):
    """FABNet networks x butterfly accelerator designs; objectives ``accuracy`` and one cost.

    Args:
        budget: Accelerator preset whose MACs, SRAM, DRAM bandwidth and clock bound the designs.
        objectives: ``("accuracy", COST)``, COST one of :data:`COST_OBJECTIVES` (latency in cycles).
        space: The network space (FabnetSpace's defaults when None).
        trainer: The accuracy evaluator (a ListOpsTrainer of ``steps`` steps on ``train_size`` /
            ``test_size`` expressions, seeded by ``seed``, when None).
    """

    def __init__(self, *, budget: str = "nvdla-1024", objectives: tuple[str, ...] = ("accuracy", "latency"),
                 space: Any = None, trainer: Any = None, steps: int = 400, train_size: int = 4000,
                 test_size: int = 1000, seed: int = 0) -> None:
        from coexplore.nas.fabnet import FabnetSpace, ListOpsTrainer
        from coexplore.presets.accelerators import get_accelerator

        objectives = tuple(objectives)
        if len(objectives) != 2 or objectives[0] != "accuracy" or objectives[1] not in COST_OBJECTIVES:
            raise SpecError(f"objectives: space fabnet has accuracy and one of {', '.join(COST_OBJECTIVES)}, got "
                            f"{list(objectives)!r}")
        self.objectives = objectives
        self.budget = budget
        self.hw_space = ButterflySpace.for_budget(get_accelerator(budget))
        self.space = space if space is not None else FabnetSpace()
        self.trainer = trainer if trainer is not None else ListOpsTrainer(
            steps=steps, train_size=train_size, test_size=test_size, seed=seed)
        self.arch_cards = tuple(self.space.cardinalities)
        s = self.hw_space
        self.hw_cards = (len(s.engines), len(s.units), len(s.data_words), len(s.coef_words))
        self._networks: dict[bytes, Network] = {}
        self._costs: dict[bytes, ButterflyNetworkCost | str] = {}
        self._accuracy: dict[str, float] = {}
        self._best_hw: dict[bytes, np.ndarray | None] = {}
        self.train_seconds: dict[str, float] = {}

    @property
    def encoded_hw_names(self) -> tuple[str, ...]:
        return ("engines", "units_per_engine", "data_buffer_words", "coef_buffer_words")

    # -- decoding ---------------------------------------------------------------------------
    def canonical(self, arch: np.ndarray, hw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Block decisions beyond the depth set to 0 (the same network)."""
        arch = np.asarray(arch, dtype=np.int64)
        return self.space.encoding.canonical(arch).astype(np.int64), np.asarray(hw, dtype=np.int64)

    def arch(self, arch_row: np.ndarray) -> Any:
        return self.space.from_choices([int(v) for v in arch_row])

    def network(self, arch_row: np.ndarray) -> Network:
        key = np.asarray(arch_row, dtype=np.int64).tobytes()
        if key not in self._networks:
            self._networks[key] = sequence_workload(self.arch(arch_row))
        return self._networks[key]

    def design(self, hw_row: np.ndarray) -> ButterflyAccelerator:
        return self.hw_space.design([int(v) for v in hw_row])

    # -- hardware -----------------------------------------------------------------------------
    def cost(self, arch_row: np.ndarray, hw_row: np.ndarray) -> ButterflyNetworkCost | str:
        """The pair priced once, or why it is infeasible (over the budget, a row that does not fit)."""
        def price(a: np.ndarray, h: np.ndarray) -> ButterflyNetworkCost | str:
            acc = self.design(h)
            bad = self.hw_space.violations(acc)
            if bad:
                return "; ".join(bad)
            try:
                return price_network(self.network(a), acc)
            except CoexploreError as e:
                return str(e)

        return self.priced_once(self._costs, arch_row, hw_row, price)  # type: ignore[no-any-return]

    def cost_value(self, cost: ButterflyNetworkCost) -> float:
        return {"latency": float(cost.latency_cycles), "energy": cost.energy_pj, "edp": cost.edp,
                "area": cost.area_mm2}[self.objectives[1]]

    def best_hw(self, arch_row: np.ndarray) -> np.ndarray | None:
        """The hardware row of the best feasible design for this network (cost objective), or None."""
        a, _ = self.canonical(np.asarray(arch_row)[None], np.zeros((1, 4), np.int64))
        key = a.tobytes()
        if key not in self._best_hw:
            best: tuple[float, tuple[int, ...]] | None = None
            net = self.network(a[0])
            bank, plan = min_bank_words(net), NetworkPlan.of(net)
            for row in itertools.product(*(range(c) for c in self.hw_cards)):
                acc = self.design(np.array(row))
                if acc.bank_words < bank or self.hw_space.violations(acc):  # infeasible: no need to price it
                    continue
                energy, latency = price_totals(plan, acc)
                value = {"latency": float(latency), "energy": energy, "edp": energy * latency,
                         "area": acc.area_mm2}[self.objectives[1]]
                if best is None or value < best[0]:
                    best = (value, row)
            self._best_hw[key] = None if best is None else np.array(best[1], dtype=np.int64)
        return self._best_hw[key]

    @property
    def reference_cost(self) -> float:
        """The cost objective of the space's largest network (deepest, widest, longest, every block ABfly) on the
        paper-shaped design of the budget: the fixed reference of the study's hypervolume."""
        if not hasattr(self, "_reference"):
            from coexplore.nas.fabnet import SequenceArch

            s = self.space
            arch = SequenceArch(blocks=("abfly",) * max(s.depths), width=max(s.widths), heads=s.heads,
                                ffn_ratio=s.ffn_ratio, seq_len=max(s.seq_lens))
            acc = self.hw_space.paper_shaped()
            energy, latency = price_totals(NetworkPlan.of(sequence_workload(arch)), acc)
            self._reference = {"latency": float(latency), "energy": energy, "edp": energy * latency,
                               "area": acc.area_mm2}[self.objectives[1]]
        return self._reference

    # -- accuracy and evaluation ---------------------------------------------------------------
    def accuracy(self, arch_row: np.ndarray) -> float:
        arch = self.arch(arch_row)
        label = arch.label()
        if label not in self._accuracy:
            run = self.trainer.train(arch)
            self._accuracy[label] = float(run.accuracy)
            self.train_seconds[label] = float(run.train_seconds)
        return self._accuracy[label]

    def evaluate(self, cands: Any) -> Evaluation:
        def refused(a: np.ndarray, h: np.ndarray) -> list[str]:  # the design cannot run the network
            c = self.cost(a, h)
            return [c] if isinstance(c, str) else []

        def values(a: np.ndarray, h: np.ndarray) -> tuple[float, float]:
            c = self.cost(a, h)
            assert not isinstance(c, str)  # refused above
            return -self.accuracy(a), self.cost_value(c)

        return self.spec_checked(cands, 2, refused, values, "infeasible design", "rejected before training")

    def describe(self, cands: Any, i: int) -> dict[str, Any]:
        cands = self.as_pairs(cands)
        arch, hw = self.canonical(cands.arch[i:i + 1], cands.hw[i:i + 1])
        out: dict[str, Any] = {"arch": self.arch(arch[0]).label(), "arch_choices": [int(v) for v in arch[0]],
                               "hw": [int(v) for v in hw[0]], "accelerator": self.design(hw[0]).to_record()}
        c = self.cost(arch[0], hw[0])
        if not isinstance(c, str):
            out.update({"latency_cycles": int(c.latency_cycles), "latency_ms": c.latency_ms,
                        "energy_pj": c.energy_pj, "edp": c.edp, "area_mm2": c.area_mm2,
                        "macs": sum(x.macs for x in c.layers)})
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_costs"], state["_networks"], state["_best_hw"] = {}, {}, {}
        return state


class FabnetCodesign(JointStrategy):
    """FABNet co-design: networks evolved on (accuracy, cost), each on its best butterfly accelerator.

    ``initial`` random networks, then batches of ``batch``: one-decision mutants of networks on the
    front, ``random_share`` of them random; every network is paired with the problem's best design for
    it (exhaustive over the hardware space) and trained once. Ends when every network has been seen.
    """

    name = "fabnet"
    needs_budget = False

    def __init__(self, *, seed: int = 0, batch: int = 4, initial: int = 6, random_share: float = 0.25) -> None:
        super().__init__(seed=seed)
        problems = [f"strategy.params.{k}: must be an integer >= 1, got {v!r}" for k, v in
                    (("batch", batch), ("initial", initial)) if isinstance(v, bool) or not isinstance(v, int) or v < 1]
        if not 0 <= random_share <= 1:
            problems.append(f"strategy.params.random_share: must be in [0, 1], got {random_share!r}")
        if problems:
            raise SpecError(problems)
        self.batch, self.initial, self.random_share = batch, initial, random_share
        self.archive = PairArchive()
        self.done = False

    def setup(self, problem: Any, budget: int | None) -> None:
        if not isinstance(problem, FabnetButterflyProblem):
            raise SpecError(f"strategy fabnet: needs the FABNet x butterfly problem (problem.space: fabnet), got "
                            f"{type(problem).__name__}")
        super().setup(problem, budget)
        self.n_archs = int(np.prod(problem.arch_cards))

    @property
    def finished(self) -> bool:
        return self.done

    def ask(self) -> PairBatch:
        arch = front_children(self, self.archive, initial=self.initial, batch=self.batch,
                              random_share=self.random_share)
        arch, _ = self.problem.canonical(arch, np.zeros((len(arch), 4), np.int64))
        hw = np.stack([self._hw_for(row) for row in arch])
        out = fill_fresh(self, self.archive, arch, hw)
        if len(out):  # a mutant replaced by fill_fresh gets its own best design too
            out = PairBatch(out.arch, np.stack([self._hw_for(row) for row in out.arch]))
        elif len(self.archive.seen) >= self.n_archs:
            self.done = True
        return out

    def _hw_for(self, arch_row: np.ndarray) -> np.ndarray:
        best = self.problem.best_hw(arch_row)
        return best if best is not None else np.zeros(len(self.problem.hw_cards), np.int64)

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        self.archive.add(self.problem.as_pairs(candidates), evaluation)
