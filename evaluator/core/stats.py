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
    return _wilson(successes / n, n, confidence)


def _wilson(p: float, n: float, confidence: float) -> tuple[float, float]:
    z = z_value(confidence)
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if p <= 0 else max(0.0, centre - half)
    high = 1.0 if p >= 1 else min(1.0, centre + half)
    return low, high


def share_interval(shares: list[float], per_case: int, confidence: float = 0.95) -> tuple[float, float]:
    """A Wilson interval for the mean of per-case shares (each the share of a case's k samples that pass), at the
    number of independent trials the cases' spread implies (Kish's design effect): n when a case's samples all
    agree, up to n·k when they vary as much as separate cases would. With k = 1 it is the Wilson interval."""
    n = len(shares)
    if n == 0:
        return 0.0, 1.0
    mean = sum(shares) / n
    trials = float(n)
    if n > 1 and 0 < mean < 1:
        spread = sum((s - mean) ** 2 for s in shares) / (n - 1)
        trials = n * per_case if spread == 0 else min(n * per_case, max(n, mean * (1 - mean) * n / spread))
    return _wilson(mean, trials, confidence)


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


def wilcoxon_pratt_worse(baseline: list[float], candidate: list[float]) -> float:
    """One-sided Wilcoxon signed-rank p-value with Pratt's handling of zero differences (ranked, then dropped) and
    the normal approximation pinned: a secondary figure beside the sign test; 1 when nothing changed."""
    from scipy.stats import wilcoxon

    differences = [c - b for b, c in zip(baseline, candidate)]
    if not any(differences):
        return 1.0
    return float(wilcoxon(differences, zero_method="pratt", alternative="less", method="approx").pvalue)


def regularised_sd(differences: list[float], worst: float) -> float:
    """The spread the bets see: the SD of the differences with the betting bound's prior variance (worst², that of
    a difference at either end of the range) counted as one extra case, so it is never 0."""
    n = len(differences)
    mean = sum(differences) / n if n else 0.0
    return math.sqrt((worst * worst + sum((d - mean) ** 2 for d in differences)) / (n + 1))


def min_detectable_drop_mean(sd: float, n: int, alpha: float, power: float = 0.8) -> float:
    """Smallest drop of a mean score that the betting bound (evaluator/core/betting.py) detects with `power` on n paired
    cases: (√(2 ln(1/α)) + z_power) · sd / √n — with bets tuned to the run's size the bound's half-width is about
    √(2 ln(1/α)) · sd / √n (1.49 times a t interval's at α = 0.05: the price of holding for any distribution)."""
    if n == 0:
        return 1.0
    return (math.sqrt(2 * math.log(1 / alpha)) + NormalDist().inv_cdf(power)) * sd / math.sqrt(n)


def cases_for_drop(sd: float, drop: float, alpha: float, power: float = 0.8) -> int:
    """About how many paired cases make `min_detectable_drop_mean` reach `drop`."""
    return math.ceil(((math.sqrt(2 * math.log(1 / alpha)) + NormalDist().inv_cdf(power)) * sd / drop) ** 2)
