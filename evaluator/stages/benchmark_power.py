"""What a benchmark of a given size can decide (docs/statistics.md, "How many cases"): the smallest drop it detects,
and whether a model that did not change at all can pass the comparison with production. Said by `taskeval init`
and `validate` before any run, and by the report when a run compared identical outputs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from evaluator.core.stats import PairedTable, tango_interval, z_value

DEFAULT_ACCURACY = 0.90
"""Production's accuracy when no baseline says it (a model worth gating is usually about this good)."""


def identical_passes(cases: int, margin: float, alpha: float) -> bool:
    """Whether a candidate right and wrong on exactly the cases production was (no discordant case) passes
    non-inferiority at this size: the lower end of its interval lies above −margin."""
    return cases > 0 and tango_interval(PairedTable(cases, 0, 0, 0), 1 - 2 * alpha)[0] > -margin


def cases_for_identical(margin: float, alpha: float) -> int:
    """The fewest cases at which an unchanged model passes (the bound narrows as cases grow)."""
    low, high = 1, 2
    while not identical_passes(high, margin, alpha):
        low, high = high, high * 2
    while low + 1 < high:
        middle = (low + high) // 2
        low, high = (low, middle) if identical_passes(middle, margin, alpha) else (middle, high)
    return high


@dataclass(frozen=True)
class BenchmarkPower:
    """What a benchmark of `cases` cases can decide against production."""

    cases: int
    margin: float
    alpha: float
    accuracy: float
    """Production's accuracy assumed (the baseline's, or DEFAULT_ACCURACY)."""
    accuracy_from: str
    """Where that figure came from."""
    detectable_drop: float
    """Smallest accuracy drop detected with power 0.8, for a retrained model whose right and wrong cases shift as
    independent draws would (discordance 2p(1 − p))."""
    identical_passes: bool
    cases_for_identical: int


def benchmark_power(cases: int, margin: float, alpha: float, accuracy: float | None = None) -> BenchmarkPower:
    production = DEFAULT_ACCURACY if accuracy is None else accuracy
    discordance = max(2 * production * (1 - production), 1 / max(cases, 1))
    drop = (z_value(1 - 2 * alpha) + NormalDist().inv_cdf(0.8)) * math.sqrt(discordance / max(cases, 1))
    return BenchmarkPower(cases, margin, alpha, production,
                          "an assumed" if accuracy is None else "the baseline's", min(drop, 1.0),
                          identical_passes(cases, margin, alpha), cases_for_identical(margin, alpha))


def power_lines(power: BenchmarkPower) -> list[str]:
    """The facts in words, with what to do when an unchanged model could not pass."""
    lines = [f"with {power.cases} cases and a {power.margin * 100:g}-point margin, the comparison detects an "
             f"accuracy drop of about {power.detectable_drop * 100:.1f} points ({power.accuracy_from} production "
             f"accuracy of {power.accuracy:.2f})"]
    if power.identical_passes:
        lines.append("a model that did not change passes the comparison")
    else:
        lines.append(f"a model that did not change cannot pass the comparison: it needs {power.cases_for_identical} "
                     "cases; add cases, widen regression.threshold, or set regression.on_inconclusive: warn so "
                     "that only a confirmed regression blocks")
    return lines
