"""Non-inferiority of one metric against the baseline: the interval and the test for each kind of data, and the
verdict. Every comparison is made on the "good" scale (a lower-is-better metric is mirrored), so one rule serves
every metric: it passes when the one-sided (1 − α) lower bound of the good-scale change is above −δ. Reported deltas
and bounds are turned back into the metric's own units. The methods and their calibration: docs/statistics.md."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from evaluator.core.metrics import MetricValue, metric_definition
from evaluator.core.names import Label
from evaluator.core.stats import (
    PairedTable,
    mcnemar_midp_worse,
    min_detectable_drop_mean,
    min_detectable_drop_paired,
    min_detectable_drop_unpaired,
    newcombe_hybrid_interval,
    regularised_sd,
    tango_interval,
    two_proportion_z_worse,
    wilcoxon_pratt_worse,
)

PASS, CONFIRMED, INCONCLUSIVE = Label.PASS, Label.CONFIRMED, Label.INCONCLUSIVE
METHOD_PAIRED_BINARY = "paired: Tango score interval (continuity-corrected), McNemar mid-p"
METHOD_PAIRED_NUMERIC = ("paired: betting confidence bound for the mean difference, p-value from the same bets "
                         "(Wilcoxon-Pratt secondary)")
METHOD_SEQUENTIAL = "paired, anytime-valid: betting confidence sequence for the mean difference (stop_early)"
METHOD_UNPAIRED = "unpaired: Newcombe hybrid score interval, pooled two-proportion z-test"


@dataclass(frozen=True)
class MetricComparison:
    """One compared metric."""

    metric: str
    baseline: float
    current: float
    delta: float
    """current − baseline, in the metric's units."""
    lower_bound: float
    """Lower end of the two-sided (1 − 2α) interval of delta: the one-sided (1 − α) bound."""
    upper_bound: float
    p_value: float
    """One-sided p-value that the candidate is worse."""
    p_adjusted: float
    """Holm-adjusted over every compared metric."""
    label: str
    """`pass`, `confirmed_regression` or `inconclusive`."""
    paired: bool
    margin: float
    """δ: the tolerated drop."""
    verdict: str
    """The label in words, for reviewers."""
    b: int | None = None
    """Paired binary metrics: cases good in the baseline only (regressions)."""
    c: int | None = None
    """Paired binary metrics: cases good in the candidate only (fixes)."""
    min_detectable_drop: float | None = None
    """Smallest drop the benchmark detects with power 0.8 (docs/statistics.md: formula)."""
    cases_needed: int | None = None
    """For an inconclusive verdict: about how many cases would decide it."""
    method: str = ""
    """The interval and the test behind the verdict (docs/statistics.md)."""
    cases: int = 0
    """How many cases were compared (paired: present in both runs)."""
    p_secondary: float | None = None
    """Numeric metrics: the Wilcoxon signed-rank p-value (Pratt's zero handling), for reference."""


@dataclass(frozen=True)
class MetricTest:
    """A comparison before the Holm step, on the good scale."""

    metric: str
    baseline: float
    current: float
    good_delta: float
    good_low: float
    good_high: float
    p_value: float
    paired: bool
    n: int
    """Cases compared (the candidate's)."""
    b: int | None = None
    c: int | None = None
    min_detectable_drop: float | None = None
    method: str = METHOD_UNPAIRED
    p_secondary: float | None = None


def orientation(metric: str) -> int:
    return 1 if metric_definition(metric).direction == "higher" else -1


def _paired_binary(metric: str, current: Sequence[bool], baseline: Sequence[bool], alpha: float) -> MetricTest:
    sign = orientation(metric)
    good_now = [v if sign > 0 else not v for v in current]
    good_before = [v if sign > 0 else not v for v in baseline]
    pairs = list(zip(good_before, good_now))
    table = PairedTable(a=pairs.count((True, True)), b=pairs.count((True, False)), c=pairs.count((False, True)),
                        d=pairs.count((False, False)))
    low, high = tango_interval(table, 1 - 2 * alpha)
    n = table.n
    return MetricTest(metric, sum(baseline) / n, sum(current) / n, table.delta, low, high, mcnemar_midp_worse(table),
                      True, n, table.b, table.c, min_detectable_drop_paired(table, alpha), METHOD_PAIRED_BINARY)


NUMERIC_RANGE = 1.0
"""Per-case numbers (judge scores normalised to 0-1, field_accuracy) lie in [0, 1]: a difference is at worst −1."""


def _paired_betting(metric: str, current: Sequence[float], baseline: Sequence[float], alpha: float,
                    anytime: bool) -> MetricTest:
    """The mean paired difference with betting bounds (evaluator/core/betting.py), the bound and the p-value from the
    same bets, so they cannot disagree: bets tuned to the run's size, or (`anytime`) valid at every look of a run that
    stops early. The cases are taken in a fixed pseudo-random order, since the bets depend on it (with `anytime`, in
    the order they were generated, itself seeded and random: the looks saw them in that order)."""
    import numpy as np  # numpy, like scipy, only once a comparison runs (start-up stays light)

    from evaluator.core.betting import case_order, from_unit, mean_bound, p_value_below, to_unit

    sign = orientation(metric)
    good = np.asarray([sign * (c - b) for c, b in zip(current, baseline)], dtype=float)
    values = to_unit(good, NUMERIC_RANGE) if anytime else to_unit(good, NUMERIC_RANGE)[case_order(len(good))]
    horizon = None if anytime else len(good)
    low = float(from_unit(mean_bound(values, alpha, lower=True, horizon=horizon), NUMERIC_RANGE))
    high = float(from_unit(mean_bound(values, alpha, lower=False, horizon=horizon), NUMERIC_RANGE))
    delta = float(good.mean())
    binary = all(v in (0, 1) for v in [*current, *baseline])
    breaks = int(np.sum(good < 0)) if binary else None
    fixes = int(np.sum(good > 0)) if binary else None
    sd = regularised_sd(list(good), NUMERIC_RANGE)
    return MetricTest(metric, sum(baseline) / len(baseline), sum(current) / len(current), delta,
                      min(low, delta), max(high, delta), float(p_value_below(values, 0.5, alpha, horizon)), True,
                      len(good), breaks, fixes, min_detectable_drop_mean(sd, len(good), alpha),
                      METHOD_SEQUENTIAL if anytime else METHOD_PAIRED_NUMERIC,
                      None if binary else wilcoxon_pratt_worse([sign * v for v in baseline],
                                                               [sign * v for v in current]))


def paired_test(metric: str, current: Sequence[bool | float], baseline: Sequence[bool | float], alpha: float,
                anytime: bool = False, means: bool = False) -> MetricTest:
    """The paired comparison of one metric's per-case values: a table of pass/fail (Tango) when every value is
    0 or 1 — booleans, or numbers such as a field_accuracy of 0 or 1 — else the mean difference with betting bounds.
    `anytime` (a run with stop_early): betting bounds valid at every look, for both kinds. `means`: the values are
    per-case means of several samples (generation.samples), compared as means even where they are all 0 or 1."""
    now, before = [float(v) for v in current], [float(v) for v in baseline]
    if anytime or means or not all(v in (0, 1) for v in [*now, *before]):
        return _paired_betting(metric, now, before, alpha, anytime)
    return _paired_binary(metric, [bool(v) for v in current], [bool(v) for v in baseline], alpha)


def unpaired_rate(metric: str, current: MetricValue, baseline: MetricValue, alpha: float) -> MetricTest:
    sign = orientation(metric)
    n_now, n_before = current.n, baseline.n
    good_now = round((current.value if sign > 0 else 1 - current.value) * n_now)
    good_before = round((baseline.value if sign > 0 else 1 - baseline.value) * n_before)
    low, high = newcombe_hybrid_interval(good_now, n_now, good_before, n_before, 1 - 2 * alpha)
    p_now, p_before = good_now / n_now, good_before / n_before
    return MetricTest(metric, baseline.value, current.value, p_now - p_before, low, high,
                      two_proportion_z_worse(good_now, n_now, good_before, n_before), False, n_now,
                      min_detectable_drop=min_detectable_drop_unpaired(p_before, n_now, n_before, alpha))


def points(value: float) -> str:
    return f"{value * 100:.1f} points"


def _margin(value: float) -> str:
    return f"{value * 100:g}-point margin"


def _cases_needed(test: MetricTest, margin: float) -> int | None:
    """About how many cases would decide an inconclusive verdict: the bound's distance from the estimate shrinks
    as 1/√n, so n' = n · (current distance / distance that decides)². The deciding distance is the room between
    the estimate and −δ (to pass) or, when the estimate is already past −δ, the estimate itself (to confirm)."""
    width = test.good_delta - test.good_low
    room = test.good_delta + margin if test.good_delta > -margin else -test.good_delta
    if width <= 0 or room <= 0:
        return None
    return math.ceil(test.n * (width / room) ** 2)


def verdict(test: MetricTest, p_adjusted: float, margin: float, alpha: float) -> MetricComparison:
    """The compared metric's label and its verdict in words, from the test, the Holm-adjusted p-value and the margin."""
    sign = orientation(test.metric)
    if test.good_low > -margin:
        label = PASS
        if test.good_delta < 0 and p_adjusted < alpha:
            verdict = f"significant drop of {points(-test.good_delta)}, within the {_margin(margin)}"
        elif test.good_low > 0:
            verdict = f"improved by {points(test.good_delta)} (significant)"
        else:
            verdict = f"within the {_margin(margin)}"
        needed = None
    else:
        label = CONFIRMED if p_adjusted < alpha and test.good_delta < 0 else INCONCLUSIVE
        needed = _cases_needed(test, margin) if label == INCONCLUSIVE else None
        if label == CONFIRMED:
            broke = f" ({test.b} cases broke, {test.c} fixed)" if test.b is not None else ""
            verdict = f"confirmed regression{broke}"
        else:
            verdict = f"inconclusive: cannot rule out a drop of more than {points(margin)}"
            verdict += f"; about {needed} cases would decide it" if needed else ""
    low, high = (test.good_low, test.good_high) if sign > 0 else (-test.good_high, -test.good_low)
    return MetricComparison(
        metric=test.metric, baseline=test.baseline, current=test.current, delta=sign * test.good_delta,
        lower_bound=low, upper_bound=high, p_value=test.p_value, p_adjusted=p_adjusted, label=label,
        paired=test.paired, margin=margin, verdict=verdict, b=test.b, c=test.c,
        min_detectable_drop=test.min_detectable_drop, cases_needed=needed, method=test.method, cases=test.n,
        p_secondary=test.p_secondary,
    )
