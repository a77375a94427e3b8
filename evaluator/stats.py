"""Statistics with no I/O. Intervals for rates (Wilson score); the comparison statistics build on these."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist


def z_value(confidence: float) -> float:
    """The two-sided standard-normal quantile for a confidence level (1.959964 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class PairedTable:
    """Paired binary outcomes: a = both right, b = right in the baseline only (a regression), c = right in the
    candidate only (a fix), d = both wrong."""

    a: int
    b: int
    c: int
    d: int

    @property
    def n(self) -> int:
        return self.a + self.b + self.c + self.d

    @property
    def delta(self) -> float:
        """Candidate rate minus baseline rate."""
        return (self.c - self.b) / self.n if self.n else 0.0


def newcombe_phi(table: PairedTable) -> float:
    """Newcombe's continuity-adjusted correlation of the two runs; 0 when a margin is empty."""
    a, b, c, d, n = table.a, table.b, table.c, table.d, table.n
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    if margins == 0:
        return 0.0
    numerator: float = a * d - b * c
    if numerator > 0:
        numerator = max(numerator - n / 2, 0.0)
    return numerator / math.sqrt(margins)


def newcombe_paired_interval(table: PairedTable, confidence: float) -> tuple[float, float]:
    """Newcombe's method 10: interval for the paired difference (candidate − baseline) of two proportions."""
    n = table.n
    if n == 0:
        return -1.0, 1.0
    p1, p2 = (table.a + table.c) / n, (table.a + table.b) / n
    l1, u1 = wilson_interval(table.a + table.c, n, confidence)
    l2, u2 = wilson_interval(table.a + table.b, n, confidence)
    phi = newcombe_phi(table)
    low_term = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    high_term = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    delta = p1 - p2
    return max(-1.0, delta - math.sqrt(max(low_term, 0.0))), min(1.0, delta + math.sqrt(max(high_term, 0.0)))


TANGO_CORRECTION = 0.5
"""Continuity correction of the Tango score statistic, in cases: without it the exact size at the margin reaches
5.1% at α = 5% (n = 200, 25% discordance); with it, at most 4.8% over the calibration grid (docs/statistics.md,
"Calibration")."""


def tango_statistic(table: PairedTable, delta: float, correction: float = TANGO_CORRECTION) -> float:
    """Tango's (1998) score statistic for H0: Δ = delta (Δ = candidate − baseline, paired), continuity-corrected
    towards H0; it uses the restricted maximum-likelihood estimate of the discordant cell under H0."""
    n, gains, losses = table.n, table.c, table.b
    a, b = 2 * n, -gains - losses + (2 * n - gains + losses) * delta
    c = -losses * delta * (1 - delta)
    losses_under_h0 = (math.sqrt(max(b * b - 4 * a * c, 0.0)) - b) / (2 * a)
    variance = n * (2 * losses_under_h0 + delta * (1 - delta))
    excess = gains - losses - n * delta
    excess = math.copysign(max(abs(excess) - correction, 0.0), excess)
    if variance <= 0:
        return math.copysign(math.inf, excess) if excess else 0.0
    return excess / math.sqrt(variance)


def tango_interval(table: PairedTable, confidence: float, correction: float = TANGO_CORRECTION
                   ) -> tuple[float, float]:
    """The continuity-corrected Tango score interval for the paired difference: every Δ₀ its two-sided test at
    `confidence` does not reject (the statistic falls as Δ₀ rises, so each end is found by bisection)."""
    if table.n == 0:
        return -1.0, 1.0
    z = z_value(confidence)

    def root(target: float) -> float:
        low, high = -1.0, 1.0
        for _ in range(60):
            middle = (low + high) / 2
            if tango_statistic(table, middle, correction) > target:
                low = middle
            else:
                high = middle
        return (low + high) / 2

    return max(-1.0, min(root(z), table.delta)), min(1.0, max(root(-z), table.delta))


def mcnemar_midp_worse(table: PairedTable) -> float:
    """One-sided McNemar mid-p that the candidate is worse (b large against c); 1 when b + c = 0."""
    from scipy.stats import binom

    discordant = table.b + table.c
    if discordant == 0:
        return 1.0
    return float(binom.sf(table.b, discordant, 0.5) + 0.5 * binom.pmf(table.b, discordant, 0.5))


def newcombe_hybrid_interval(
    successes_candidate: int, n_candidate: int, successes_baseline: int, n_baseline: int, confidence: float
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for an unpaired difference (candidate − baseline) of proportions."""
    p1, p2 = successes_candidate / n_candidate, successes_baseline / n_baseline
    l1, u1 = wilson_interval(successes_candidate, n_candidate, confidence)
    l2, u2 = wilson_interval(successes_baseline, n_baseline, confidence)
    delta = p1 - p2
    return delta - math.hypot(p1 - l1, u2 - p2), delta + math.hypot(u1 - p1, p2 - l2)


def two_proportion_z_worse(
    successes_candidate: int, n_candidate: int, successes_baseline: int, n_baseline: int
) -> float:
    """One-sided pooled two-proportion z-test p-value that the candidate's rate is lower; 1 when undefined."""
    pooled = (successes_candidate + successes_baseline) / (n_candidate + n_baseline)
    variance = pooled * (1 - pooled) * (1 / n_candidate + 1 / n_baseline)
    if variance <= 0:
        return 1.0
    z = (successes_candidate / n_candidate - successes_baseline / n_baseline) / math.sqrt(variance)
    return NormalDist().cdf(z)


def holm_adjust(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input's order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def min_detectable_drop_paired(table: PairedTable, alpha: float, power: float = 0.8) -> float:
    """Smallest drop a one-sided McNemar test at `alpha` detects with `power`, from the normal approximation
    MDD = (z₁₋α + z_power) · √(ψ / n), ψ the share of discordant cases (at least 1/n)."""
    if table.n == 0:
        return 1.0
    psi = max(table.b + table.c, 1) / table.n
    return (z_value(1 - 2 * alpha) + NormalDist().inv_cdf(power)) * math.sqrt(psi / table.n)


def min_detectable_drop_unpaired(rate: float, n_candidate: int, n_baseline: int, alpha: float,
                                 power: float = 0.8) -> float:
    """Unpaired counterpart: (z₁₋α + z_power) · √(p(1−p)(1/n₁ + 1/n₂)), p the baseline rate (at least 1/n)."""
    p = min(max(rate, 1 / n_baseline), 1 - 1 / n_baseline)
    return (z_value(1 - 2 * alpha) + NormalDist().inv_cdf(power)) * math.sqrt(
        p * (1 - p) * (1 / n_candidate + 1 / n_baseline))


def paired_bootstrap_interval(
    baseline: list[float], candidate: list[float], confidence: float, seed: int = 0, resamples: int = 2000
) -> tuple[float, float, float]:
    """Mean paired difference (candidate − baseline) and its percentile bootstrap interval, with a fixed seed."""
    import numpy as np

    differences = np.asarray(candidate, dtype=float) - np.asarray(baseline, dtype=float)
    if differences.size == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = differences[rng.integers(0, differences.size, size=(resamples, differences.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(differences.mean()), float(low), float(high)


def sign_test_worse(baseline: list[float], candidate: list[float]) -> float:
    """Exact one-sided sign test that the candidate scores lower: among the cases that changed, how unlikely this
    many went down if up and down were equally likely. Unchanged cases carry no evidence either way (Wilcoxon's
    "zsplit" counted them as half up, half down, which made real regressions look inconclusive). 1 when none
    changed."""
    from scipy.stats import binom

    down = sum(1 for b, c in zip(baseline, candidate) if c < b)
    up = sum(1 for b, c in zip(baseline, candidate) if c > b)
    return 1.0 if down + up == 0 else float(binom.sf(down - 1, down + up, 0.5))


def wilcoxon_pratt_worse(baseline: list[float], candidate: list[float]) -> float:
    """One-sided Wilcoxon signed-rank p-value with Pratt's handling of zero differences (ranked, then dropped) and
    the normal approximation pinned: a secondary figure beside the sign test; 1 when nothing changed."""
    from scipy.stats import wilcoxon

    differences = [c - b for b, c in zip(baseline, candidate)]
    if not any(differences):
        return 1.0
    return float(wilcoxon(differences, zero_method="pratt", alternative="less", method="approx").pvalue)


def mean_difference_interval(baseline: list[float], candidate: list[float], confidence: float,
                             worst: float) -> tuple[float, float, float]:
    """Mean paired difference (candidate − baseline) and a t interval computed with one extra difference at the
    worst value possible (`worst`, e.g. −1 for scores in [0, 1]). Bounded per-case differences are skewed when a
    few cases fail outright; the extra case keeps the bound honest about failures the sample happened not to
    show (50 unchanged cases cannot show that 5% of cases do not fail: 0.95⁵⁰ = 7.7%)."""
    from scipy.stats import t

    differences = [c - b for b, c in zip(baseline, candidate)]
    n = len(differences)
    if n == 0:
        return 0.0, worst, -worst
    mean, sd = padded_spread(differences, worst)
    half = float(t.ppf(0.5 + confidence / 2, n)) * sd / math.sqrt(n + 1)
    return sum(differences) / n, mean - half, mean + half


def padded_spread(differences: list[float], worst: float) -> tuple[float, float]:
    """Mean and standard deviation of the differences with the one extra worst-case difference added (the sample
    `mean_difference_interval` and `min_detectable_drop_mean` work on)."""
    padded = [*differences, worst]
    mean = sum(padded) / len(padded)
    return mean, math.sqrt(sum((d - mean) ** 2 for d in padded) / (len(padded) - 1))


def min_detectable_drop_mean(sd: float, n: int, alpha: float, power: float = 0.8, worst: float = 1.0) -> float:
    """Smallest drop of a mean score that `mean_difference_interval`'s bound detects with `power` on n paired cases:
    (z₁₋α + z_power) · sd / √(n + 1) + worst / (n + 1), sd that of the differences with the worst case added (the
    second term is what that extra case costs)."""
    if n == 0:
        return worst
    return (z_value(1 - 2 * alpha) + NormalDist().inv_cdf(power)) * sd / math.sqrt(n + 1) + worst / (n + 1)


def cases_for_drop(sd: float, drop: float, alpha: float, power: float = 0.8, worst: float = 1.0) -> int:
    """About how many paired cases make `min_detectable_drop_mean` reach `drop` (doubling, then bisection)."""
    high = 1
    while min_detectable_drop_mean(sd, high, alpha, power, worst) > drop and high < 10**7:
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if min_detectable_drop_mean(sd, middle, alpha, power, worst) > drop else (
            low, middle)
    return high
