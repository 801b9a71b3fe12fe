"""Network search strategies on any :class:`~coexplore.nas.space.ArchSpace`, all ask/tell.

* ``random``: uniform architectures, none proposed twice.
* ``evolution``: regularized (aging) evolution (Real et al., AAAI 2019): tournament, mutate
  the winner, the oldest member dies.
* ``reinforce``: a REINFORCE controller with a factorised categorical policy over the
  space's decisions and a moving-average baseline (the NB201 paper's RL baseline; FNAS
  samples its decisions the same way).
* ``brp``: BRP-NAS (Dudziak et al., NeurIPS 2020; :mod:`coexplore.nas.brp_nas`): a
  binary-relation GCN predictor ranks the whole (feasible) pool; each round queries the top
  of the ranking and some of the next best (iterative data selection), then refits on
  everything queried.

Candidates are :class:`~coexplore.search.candidates.CandidateList` s of architectures;
values are minimised (the NAS problem returns ``-accuracy``), infeasible ones are ``inf``.
Every strategy owns its ``numpy.random.Generator``: the same seed gives the same trials.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.brp_nas import BrpNas
from coexplore.nas.space import ArchSpace
from coexplore.registry import Registry
from coexplore.search.candidates import CandidateList
from coexplore.search.problem import Evaluation
from coexplore.search.strategy import Strategy

__all__ = ["NAS_STRATEGIES", "BrpNas", "RandomArchs", "RegularizedEvolution", "Reinforce", "make_nas_strategy"]


def _positive(who: str, **values: float) -> None:
    bad = [f"{who}.{k}: must be > 0, got {v!r}" for k, v in values.items() if not v > 0]
    if bad:
        raise SpecError(bad)


class RandomArchs(Strategy):
    """Uniform random architectures (valid ones), never the same one twice."""

    name = "random"

    def __init__(self, *, space: ArchSpace[Any], seed: int = 0, batch: int = 10) -> None:
        _positive("random", batch=batch)
        self.space, self.batch = space, batch
        self.rng = np.random.default_rng(seed)
        self._seen: set[Any] = set()

    def ask(self) -> CandidateList:
        out = CandidateList()
        for _ in range(100 * self.batch):
            if len(out) == self.batch:
                break
            arch = self.space.sample(self.rng, 1)[0]
            if arch not in self._seen:
                self._seen.add(arch)
                out.append(arch)
        return out


class RegularizedEvolution(Strategy):
    """Aging evolution: ``population`` random members, then children of tournament winners.

    Each child comes from the best of ``sample`` members drawn at random; a feasible
    child joins the population and the oldest member leaves. Infeasible children are
    dropped (they never become parents).
    """

    name = "evolution"

    def __init__(self, *, space: ArchSpace[Any], seed: int = 0, population: int = 50, sample: int = 10,
                 batch: int = 1) -> None:
        _positive("evolution", population=population, sample=sample, batch=batch)
        self.space, self.population, self.sample_size, self.batch = space, population, sample, batch
        self.rng = np.random.default_rng(seed)
        self._members: list[tuple[Any, float]] = []  # oldest first
        self._seen: set[Any] = set()
        self._initial = 0

    def _fresh(self, make: Callable[[], Any]) -> Any:
        """An architecture not proposed before: from ``make``, else (a converged population) a random one."""
        for i in range(1200):
            arch = make() if i < 200 else self.space.sample(self.rng, 1)[0]
            if arch not in self._seen:
                break
        self._seen.add(arch)
        return arch

    def ask(self) -> CandidateList:
        if self._initial < self.population:
            n = min(self.batch if self._initial else max(self.batch, 1), self.population - self._initial)
            self._initial += n
            return CandidateList(self._fresh(lambda: self.space.sample(self.rng, 1)[0]) for _ in range(n))
        if not self._members:  # nothing feasible yet: keep sampling
            return CandidateList([self._fresh(lambda: self.space.sample(self.rng, 1)[0])])
        out = CandidateList()
        for _ in range(self.batch):
            idx = self.rng.choice(len(self._members), size=min(self.sample_size, len(self._members)), replace=False)
            parent = min((self._members[i] for i in idx), key=lambda m: m[1])[0]
            out.append(self._fresh(functools.partial(self.space.mutate, parent, self.rng)))
        return out

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        for arch, v, ok in zip(candidates, evaluation.values[:, 0], evaluation.feasible, strict=True):
            if ok and np.isfinite(v):
                self._members.append((arch, float(v)))
                if len(self._members) > self.population:
                    self._members.pop(0)


def softmaxes(logits: list[np.ndarray]) -> list[np.ndarray]:
    """One probability vector per decision of a factorised categorical policy."""
    out = []
    for z in logits:
        e = np.exp(z - z.max())
        out.append(e / e.sum())
    return out


class Reinforce(Strategy):
    """REINFORCE over a factorised categorical policy (one softmax per decision).

    Reward = -value (accuracy in percent for the NAS problem) / 100; an infeasible
    architecture gets ``infeasible_reward``. The baseline is an exponential moving
    average of rewards; the update is plain gradient ascent on the logits.
    """

    name = "reinforce"

    def __init__(self, *, space: ArchSpace[Any], seed: int = 0, lr: float = 0.1, baseline_decay: float = 0.9,
                 batch: int = 1, infeasible_reward: float = 0.0, entropy: float = 0.0) -> None:
        _positive("reinforce", lr=lr, batch=batch)
        if not 0 <= baseline_decay < 1:
            raise SpecError(f"reinforce.baseline_decay: must be in [0, 1), got {baseline_decay!r}")
        self.space, self.lr, self.decay, self.batch = space, lr, baseline_decay, batch
        self.infeasible_reward, self.entropy = infeasible_reward, entropy
        self.rng = np.random.default_rng(seed)
        self.logits = [np.zeros(k) for k in space.cardinalities]
        self.baseline: float | None = None
        self._choices: list[tuple[int, ...]] = []

    def probabilities(self) -> list[np.ndarray]:
        return softmaxes(self.logits)

    def ask(self) -> CandidateList:
        probs = self.probabilities()
        self._choices = [tuple(int(self.rng.choice(len(p), p=p)) for p in probs) for _ in range(self.batch)]
        return CandidateList(self.space.from_choices(c) for c in self._choices)

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:
        probs = self.probabilities()
        grads = [np.zeros_like(z) for z in self.logits]
        for c, v, ok in zip(self._choices, evaluation.values[:, 0], evaluation.feasible, strict=False):
            reward = -float(v) / 100.0 if ok and np.isfinite(v) else self.infeasible_reward
            self.baseline = reward if self.baseline is None else self.decay * self.baseline + (1 - self.decay) * reward
            advantage = reward - self.baseline
            for g, p, choice in zip(grads, probs, c, strict=True):
                g -= advantage * p
                g[choice] += advantage
        for z, g, p in zip(self.logits, grads, probs, strict=True):
            ent_grad = -p * (np.log(p + 1e-12) + 1) + p * np.sum(p * (np.log(p + 1e-12) + 1))
            z += self.lr * (g / max(len(self._choices), 1) + self.entropy * ent_grad)


NAS_STRATEGIES: Registry[Callable[..., Strategy]] = Registry(kind="NAS strategy")


@NAS_STRATEGIES.register("random", "uniform random architectures, none twice")
def _random() -> Callable[..., Strategy]:
    return RandomArchs


@NAS_STRATEGIES.register("evolution", "regularized (aging) evolution, Real et al. 2019")
def _evolution() -> Callable[..., Strategy]:
    return RegularizedEvolution


@NAS_STRATEGIES.register("reinforce", "REINFORCE controller over the space's decisions")
def _reinforce() -> Callable[..., Strategy]:
    return Reinforce


@NAS_STRATEGIES.register("brp", "BRP-NAS: binary-relation GCN predictor with iterative data selection")
def _brp() -> Callable[..., Strategy]:
    return BrpNas


def make_nas_strategy(name: str, *, space: ArchSpace[Any], seed: int = 0, **params: Any) -> Strategy:
    """The strategy ``name`` on ``space``; an unknown name lists the valid ones."""
    cls = NAS_STRATEGIES.get(name)
    try:
        return cls(space=space, seed=seed, **params)
    except TypeError as e:
        raise SpecError(f"strategy {name!r}: {e}") from None
