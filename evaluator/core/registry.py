"""Named registries: metrics, gate comparisons, generation backends and judge providers are each registered in one
place. An entry may be lazy — `module:attribute`, imported on first use — so checking a name (as `validate` does)
imports nothing heavy."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Generic, TypeVar

from evaluator.core.errors import TaskevalError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → item mapping whose lookups fail with the known names and a "did you mean"."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._order: list[str] = []
        """Names in the order they were registered: resolving a lazy entry does not reorder them."""

    def add(self, name: str, item: T) -> T:
        if name in self._items or name in self._lazy:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._items[name] = item
        self._order.append(name)
        return item

    def add_lazy(self, name: str, target: str) -> None:
        """Register `module:attribute`, imported when the name is first looked up."""
        if name in self._items or name in self._lazy:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._lazy[name] = target
        self._order.append(name)

    def check(self, name: str, where: str = "") -> None:
        """That `name` is registered (with a "did you mean" error if not), without importing a lazy entry."""
        if name not in self:
            self.get(name, where)

    def get(self, name: str, where: str = "") -> T:
        if name in self._lazy:
            module, attribute = self._lazy.pop(name).split(":")
            self._items[name] = getattr(importlib.import_module(module), attribute)
        if name in self._items:
            return self._items[name]
        known = ", ".join(sorted(self.names()))
        hint = did_you_mean(name, self.names()) or f"known {self.kind}s: {known}"
        prefix = f"{where}: " if where else ""
        raise TaskevalError(f"{prefix}unknown {self.kind} '{name}'", hint)

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def names(self) -> list[str]:
        return list(self._order)
