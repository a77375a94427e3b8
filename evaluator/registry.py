"""Named registries: metrics, gate comparisons and generation backends are each registered in one place."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from evaluator.errors import TaskevalError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → item mapping whose lookups fail with the known names and a "did you mean"."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`."""
        return lambda item: self.add(name, item)

    def get(self, name: str, where: str = "") -> T:
        if name in self._items:
            return self._items[name]
        known = ", ".join(sorted(self._items))
        hint = did_you_mean(name, self._items) or f"known {self.kind}s: {known}"
        prefix = f"{where}: " if where else ""
        raise TaskevalError(f"{prefix}unknown {self.kind} '{name}'", hint)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def names(self) -> list[str]:
        return list(self._items)
