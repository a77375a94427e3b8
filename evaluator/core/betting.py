"""Confidence bounds for the mean of values in [0, 1] by betting (Waudby-Smith and Ramdas, "Estimating means of
bounded random variables by betting", JRSS-B 2024): valid at every sample size for any distribution in the range,
with no normal approximation. No I/O; every function takes numpy arrays whose last axis is the sequence of cases, so
the calibration (benchmarks/calibration.py) runs these same functions on thousands of replicates at once.

The idea: to test "the mean is at most m", bet a share λᵢ of your capital on each value xᵢ paying xᵢ − m. If the
mean is at most m, the capital is a nonnegative supermartingale, and by Ville's inequality it ever reaches 1/α with
probability at most α — at any sample size, so also when a run stops as soon as it is settled. Every m whose
capital reached 1/α is ruled out; the rest form the bound. Bets are predictable (they use only earlier cases):
λᵢ = √(2 ln(1/α) / (σ̂²ᵢ₋₁ h)) with σ̂² a running variance, h = n for a run of known size and t·ln(1 + t) for the
sequential looks, and capped at 3/4 of what the range allows (the paper's choices). How these bounds were calibrated
and what they cost against a t interval: docs/statistics.md.
"""

from __future__ import annotations

import math

import numpy as np

BET_CAP = 0.75
"""The largest bet, as a share of what keeps the capital positive for the worst value in the range."""
BISECTION_STEPS = 40
"""Halvings of [0, 1] when solving for a bound: the bound is within 1e-12 of exact, on the conservative side."""


def plug_in_bets(values: np.ndarray, alpha: float, horizon: int | None) -> np.ndarray:
    """The predictable bets λ̃ᵢ, before the cap: each uses the regularised mean and variance of the values before
    it. `horizon` is the run's size for a bound at that size, None for bounds valid at every size."""
    steps = np.arange(1, values.shape[-1] + 1)
    mean = (0.5 + np.cumsum(values, axis=-1)) / (steps + 1)
    variance = (0.25 + np.cumsum((values - mean) ** 2, axis=-1)) / (steps + 1)
    before = np.concatenate([np.full((*values.shape[:-1], 1), 0.25), variance[..., :-1]], axis=-1)
    spread = horizon if horizon is not None else steps * np.log1p(steps)
    return np.sqrt(2 * math.log(1 / alpha) / (before * spread))


def log_capital(values: np.ndarray, m: float | np.ndarray, alpha: float, above: bool,
                horizon: int | None = None, bets: np.ndarray | None = None) -> np.ndarray:
    """Log of the capital after each value, betting that the mean is above m (`above`) or below it. `m` is a number
    or an array of the leading shape with a trailing axis of 1; `bets` reuses `plug_in_bets`' answer."""
    raw = plug_in_bets(values, alpha, horizon) if bets is None else bets
    room = np.maximum(m if above else 1 - np.asarray(m), 1e-12)
    payoff = values - m if above else m - values
    return np.cumsum(np.log1p(np.minimum(raw, BET_CAP / room) * payoff), axis=-1)


def rules_out(values: np.ndarray, m: float | np.ndarray, alpha: float, above: bool, horizon: int | None = None,
              bets: np.ndarray | None = None) -> np.ndarray:
    """Whether the capital betting on a mean above m (or below it) ever reached 1/α: the mean is then above m (below
    it) with confidence 1 − α. One answer per sequence (the last axis is reduced)."""
    return log_capital(values, m, alpha, above, horizon, bets).max(axis=-1) >= math.log(1 / alpha)


def mean_bound(values: np.ndarray, alpha: float, lower: bool, horizon: int | None = None) -> np.ndarray:
    """The one-sided (1 − α) lower (or upper) bound of the mean: the m where `rules_out` turns (the capital falls as
    m moves towards the far side, so bisection finds it). 0 (or 1) when nothing is ruled out."""
    bets = plug_in_bets(values, alpha, horizon)
    low, high = np.zeros(values.shape[:-1]), np.ones(values.shape[:-1])
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        ruled = rules_out(values, middle[..., None], alpha, lower, horizon, bets)
        low, high = (np.where(ruled, middle, low), np.where(ruled, high, middle)) if lower else (
            np.where(ruled, low, middle), np.where(ruled, middle, high))
    return low if lower else high


def p_value_below(values: np.ndarray, m: float, alpha: float, horizon: int | None = None) -> np.ndarray:
    """A p-value that the mean is below m, from the same bets as the upper bound: 1 / (the most the capital betting
    on "below m" ever held), valid by Ville's inequality; at most α exactly when the upper bound is below m."""
    return np.minimum(1.0, np.exp(-log_capital(values, m, alpha, above=False, horizon=horizon).max(axis=-1)))


def to_unit(differences: np.ndarray, worst: float) -> np.ndarray:
    """Differences in [−worst, worst] mapped onto [0, 1] (the range the bets are written for)."""
    return (differences + worst) / (2 * worst)


def from_unit(value: np.ndarray | float, worst: float) -> np.ndarray | float:
    return value * 2 * worst - worst


def case_order(n: int, seed: int = 0) -> np.ndarray:
    """A fixed pseudo-random order of n cases: bets depend on the order, so it must not follow the data (a benchmark
    grouped by action would otherwise bet on one group's scores first)."""
    return np.random.default_rng(seed).permutation(n)
