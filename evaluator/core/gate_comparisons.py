"""Gate comparisons, registered by canonical name and by symbol: the one list of them (config parsing, gates and
the JSON Schema all read it)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from evaluator.core.registry import Registry


@dataclass(frozen=True)
class Comparison:
    """A gate comparison: its canonical name, the symbol shown in reports, and the test."""

    name: str
    symbol: str
    test: Callable[[float, float], bool]


COMPARISONS: Registry[Comparison] = Registry("comparison")
for _name, _symbol, _test in [
    ("less_than", "<", operator.lt),
    ("less_equal", "≤", operator.le),
    ("greater_than", ">", operator.gt),
    ("greater_equal", "≥", operator.ge),
    ("equal", "=", operator.eq),
]:
    _comparison = Comparison(_name, _symbol, _test)
    COMPARISONS.add(_name, _comparison)
for _alias, _name in [("<", "less_than"), ("<=", "less_equal"), (">", "greater_than"), (">=", "greater_equal"),
                      ("==", "equal")]:
    COMPARISONS.add(_alias, COMPARISONS.get(_name))
