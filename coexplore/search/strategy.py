"""The ask/tell strategy protocol: strategies propose and learn; the driver does the rest."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from coexplore.search.problem import Evaluation

__all__ = ["Strategy"]


class Strategy(ABC):
    """Proposes batches of candidates (``ask``) and learns from their evaluation (``tell``).

    A strategy owns its ``numpy.random.Generator`` (seeded in its constructor) so that
    the same seed gives the same trials. ``finished`` is True once a strategy has nothing
    left to propose (an exhausted enumeration); the driver then stops.
    """

    name: str = "strategy"

    def setup(self, problem: Any, budget: int | None) -> None:  # noqa: B027 - optional hook
        """Bind to ``problem`` before the first ask (generic strategies read its ``encoding`` and
        ``objectives``; ``budget`` is the number of evaluations the driver will allow, or None).

        Constructors take the seed and hyper-parameters only; everything that needs the problem
        or the budget happens here (a strategy built for a known dimension may need nothing).
        """

    def bind(self, problem: Any, budget: int | None) -> None:
        """:meth:`setup` once (the driver calls this; a strategy restored from a checkpoint is bound already)."""
        if not getattr(self, "_setup_done", False):
            self.setup(problem, budget)
            self._setup_done = True

    @abstractmethod
    def ask(self) -> Any:
        """The next batch of candidates (non-empty unless ``finished``)."""

    def tell(self, candidates: Any, evaluation: Evaluation) -> None:  # noqa: B027 - optional hook
        """Learn from the evaluation of the last batch (default: nothing to learn)."""

    @property
    def finished(self) -> bool:
        return False

    @property
    def exhaustive(self) -> bool:
        """True if, once finished, the strategy has evaluated its whole space (proven optimum)."""
        return False
