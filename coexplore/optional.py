"""Optional heavy packages, imported where used, with an error that says how to install them.

The core (cost model, mappers, accelerator search) needs numpy and numba only; predictors
need torch and scipy, training needs scikit-learn. Keeping them optional keeps every
command's start-up fast (numba imports scipy.linalg at start-up whenever scipy is installed).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from coexplore.errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, *, extra: str = "nas", who: str = "coexplore") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the pip extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{who}: needs the package {module.split('.')[0]!r}; install it with pip install 'coexplore[{extra}]'"
        ) from None
