"""Name -> factory registries.

Presets, strategies, predictors and technology tables are looked up by name; an
unknown name raises :class:`~coexplore.errors.RegistryError` listing the valid ones,
and the CLI takes its choices from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from coexplore.errors import RegistryError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered mapping from names to factories of ``T``."""

    def __init__(self, *, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[[], T]] = {}
        self._docs: dict[str, str] = {}

    def register(self, name: str, doc: str = "") -> Callable[[Callable[[], T]], Callable[[], T]]:
        """Decorator registering ``factory`` under ``name``."""

        def deco(factory: Callable[[], T]) -> Callable[[], T]:
            if name in self._factories:
                raise ValueError(f"duplicate {self.kind} name {name!r}")
            self._factories[name] = factory
            lines = (factory.__doc__ or "").strip().splitlines()
            self._docs[name] = doc or (lines[0] if lines else "")
            return factory

        return deco

    def get(self, name: str) -> T:
        """Build the object registered as ``name``."""
        try:
            factory = self._factories[name]
        except KeyError:
            valid = ", ".join(self._factories) or "(none)"
            raise RegistryError(f"unknown {self.kind} {name!r}; valid: {valid}") from None
        return factory()

    def names(self) -> list[str]:
        return list(self._factories)

    def describe(self, name: str) -> str:
        return self._docs.get(name, "")

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)
