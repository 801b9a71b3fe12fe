"""What every network search space offers: a fixed list of categorical decisions.

An architecture of every space here is decided by a tuple of choices, decision ``i``
taking one of ``cardinalities[i]`` values, some of which matter only under others
(:attr:`ArchSpace.conditions`: a layer's choices in a chain shallower than that layer).
That one view, :attr:`ArchSpace.encoding`, is what every generic strategy of
:mod:`coexplore.search` searches (sampling, mutation, crossover, policies) without knowing
the space; predictors get its one-hot vector. Each space adds what only it knows: the network
for the cost model (:meth:`ArchSpace.to_network`), a runnable PyTorch model
(:meth:`ArchSpace.to_torch`), graph features for predictors, and an identity under
which isomorphic architectures compare equal.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from coexplore.errors import SpecError
from coexplore.predict.features import ArchFeatures
from coexplore.search.encoding import Categorical, Condition
from coexplore.spec.workload import Network

__all__ = ["ArchSpace"]

A = TypeVar("A", bound=Hashable)


class ArchSpace(ABC, Generic[A]):
    """A network search space over categorical decisions (architectures are hashable values).

    Subclasses set ``name`` and ``cardinalities`` and implement the conversions.
    """

    name: str = "space"
    cardinalities: tuple[int, ...] = ()

    # -- the decision view ------------------------------------------------------------
    @abstractmethod
    def from_choices(self, choices: Sequence[int]) -> A:
        """The architecture that ``choices`` (one value per decision) describes."""

    @abstractmethod
    def to_choices(self, arch: A) -> tuple[int, ...]:
        """The decisions of ``arch`` (inverse of :meth:`from_choices` up to unused decisions)."""

    @abstractmethod
    def parse(self, text: str) -> A:
        """An architecture from its text form (:meth:`format`); SpecError naming the bad part."""

    @abstractmethod
    def format(self, arch: A) -> str:
        """The text form of ``arch`` (stable: used in trial records and CSV files)."""

    def check_choices(self, choices: Sequence[int]) -> tuple[int, ...]:
        """``choices`` as a tuple, or a SpecError naming every out-of-range decision."""
        c = tuple(int(x) for x in choices)
        if len(c) != len(self.cardinalities):
            raise SpecError(f"{self.name}: choices must have {len(self.cardinalities)} entries, got {len(c)}")
        bad = [f"{self.name}.choices[{i}]: must be in 0..{k - 1}, got {v}"
               for i, (v, k) in enumerate(zip(c, self.cardinalities, strict=True)) if not 0 <= v < k]
        if bad:
            raise SpecError(bad)
        return c

    @property
    def size(self) -> int:
        """Number of distinct decision tuples (an upper bound on distinct architectures)."""
        return int(np.prod(np.array(self.cardinalities, dtype=object)))

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """Decisions that matter only while another takes some values (none by default)."""
        return ()

    @property
    def encoding(self) -> Categorical:
        """The decisions as a categorical encoding: what generic strategies search."""
        return Categorical(tuple(int(k) for k in self.cardinalities), conditions=self.conditions)

    # -- what strategies use ----------------------------------------------------------
    def sample(self, rng: np.random.Generator, n: int = 1) -> list[A]:
        """``n`` architectures with every decision uniform (the encoding's sampling; valid ones only,
        see :meth:`problem`)."""
        enc = self.encoding
        out: list[A] = []
        while len(out) < n:
            for row in enc.sample(rng, n - len(out)):
                arch = self.from_choices(row.tolist())
                if self.problem(arch) is None:
                    out.append(arch)
        return out

    def problem(self, arch: A) -> str | None:
        """Why ``arch`` is not a usable network (None if it is); e.g. a cell with no path to its output."""
        return None

    def identity(self, arch: A) -> Hashable:
        """A key equal for architectures that compute the same function (isomorphism-aware)."""
        return self.to_choices(arch)

    def encode(self, archs: Sequence[A]) -> np.ndarray:
        """One-hot of every decision, concatenated: float32 (n, sum(cardinalities))."""
        offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]]).astype(np.int64)
        out = np.zeros((len(archs), int(sum(self.cardinalities))), dtype=np.float32)
        for row, arch in enumerate(archs):
            out[row, offsets + np.array(self.to_choices(arch), dtype=np.int64)] = 1.0
        return out

    # -- what the space knows ---------------------------------------------------------
    @abstractmethod
    def features(self, archs: Sequence[A]) -> ArchFeatures:
        """Predictor inputs for ``archs`` (graph, vector, FLOPs, parameters, operation counts)."""

    @abstractmethod
    def to_network(self, arch: A) -> Network:
        """The layers the cost model maps (convolutions and fully connected layers)."""

    @abstractmethod
    def to_torch(self, arch: A) -> Any:
        """A runnable ``torch.nn.Module`` (random weights, seeded by the caller)."""

    @property
    @abstractmethod
    def input_shape(self) -> tuple[int, ...]:
        """Input tensor shape of :meth:`to_torch`'s model, batch 1 (N, C, H, W)."""
