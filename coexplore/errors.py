"""One exception family for coexplore.

Every error a user can cause derives from :class:`CoexploreError`, so callers (and
the CLI, which turns them into one line and exit code 2) catch a single type.
"""

from __future__ import annotations

__all__ = [
    "CoexploreError",
    "DataError",
    "InfeasibleError",
    "InteropError",
    "MappingError",
    "MissingDependencyError",
    "RegistryError",
    "SpecError",
    "StudyError",
]


class CoexploreError(Exception):
    """Root of every error coexplore raises on purpose."""


class SpecError(CoexploreError, ValueError):
    """A workload, accelerator or config is invalid.

    Carries every problem found, each as ``"field.path: rule, got value"``, so a user
    fixes all of them in one round instead of one per run.
    """

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class MappingError(SpecError):
    """A mapping is illegal for its layer and accelerator."""


class InfeasibleError(CoexploreError):
    """No design or mapping can satisfy the constraints; the message says which limit."""


class RegistryError(CoexploreError, KeyError):
    """An unknown name was asked of a registry; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InteropError(SpecError):
    """A file from another tool (ONNX, Timeloop, ZigZag, PyTorch) cannot be imported."""


class DataError(CoexploreError):
    """A data file is missing or malformed (see ``--data-dir`` / ``COEXPLORE_DATA``)."""


class MissingDependencyError(CoexploreError, ImportError):
    """An optional package (torch, scipy, scikit-learn) is needed; the message names the extra to install."""


class StudyError(CoexploreError):
    """A study cannot be created, found or resumed, or its storage cannot be opened."""
