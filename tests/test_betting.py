"""The per-case numeric comparison: betting bounds (evaluator/core/betting.py), the bound and the confirmation from the
same bets. The scenarios are those measured before the change (docs/statistics.md, "Calibration")."""

import math

import numpy as np
import pytest

from evaluator.core.betting import case_order, from_unit, log_capital, mean_bound, p_value_below, rules_out, to_unit
from evaluator.core.stats import min_detectable_drop_mean, regularised_sd
from evaluator.stages.noninferiority import CONFIRMED, INCONCLUSIVE, PASS, paired_test, verdict

ALPHA, MARGIN = 0.05, 0.05


def compare(before: list[float], after: list[float], anytime: bool = False) -> tuple[str, float, float, float]:
    test = paired_test("field_accuracy", after, before, ALPHA, anytime=anytime)
    result = verdict(test, test.p_value, MARGIN, ALPHA)
    return result.label, result.delta, result.lower_bound, result.upper_bound


def test_an_observed_improvement_is_never_a_confirmed_regression() -> None:
    """Measured before: the sign test confirmed this as a regression (p = 0.013) while Δ = +0.0125."""
    before = [1.0] * 16 + [0.0] * 5 + [0.75] * 59
    after = [0.75] * 16 + [1.0] * 5 + [0.75] * 59
    label, delta, low, high = compare(before, after)
    assert delta == pytest.approx(0.0125)
    assert label != CONFIRMED and low < delta < high


def test_the_bound_and_the_confirmation_cannot_disagree() -> None:
    """p ≤ α exactly when the upper bound is below 0: one set of bets gives both."""
    rng = np.random.default_rng(3)
    for _ in range(40):
        n = int(rng.integers(30, 300))
        values = np.clip(rng.normal(0.5 + rng.normal(0, 0.05), 0.2, size=n), 0, 1)
        p = float(p_value_below(values, 0.5, ALPHA, horizon=n))
        high = float(mean_bound(values, ALPHA, lower=False, horizon=n))
        assert (p <= ALPHA) == (high < 0.5 + 1e-9)


def test_unchanged_cases_pass_a_five_point_margin_only_when_there_are_enough_of_them() -> None:
    """60 unchanged judged cases cannot rule out that 5% of cases fail outright (0.95⁶⁰ = 4.6% is close to α); the
    bets need 80 — the same order as the 70 the binary path needs."""
    assert compare([0.75] * 60, [0.75] * 60)[0] == INCONCLUSIVE
    label, delta, low, _ = compare([0.75] * 80, [0.75] * 80)
    assert label == PASS and delta == 0 and -MARGIN < low < 0


def test_a_real_ten_point_drop_in_the_mixed_scenario_is_confirmed() -> None:
    """Half the cases gain 0.1, 15% fail outright: measured before, always inconclusive (more cases went up than
    down, so the sign test never confirmed it)."""
    rng = np.random.default_rng(0)
    u = rng.random(500)
    before = np.where(u < 0.15, 1.0, 0.8)
    after = np.where(u < 0.15, 0.0, np.where(u < 0.65, 0.9, 0.8))
    label, delta, _, high = compare(list(before), list(after))
    assert delta == pytest.approx(-0.1, abs=0.02) and high < 0 and label == CONFIRMED


def test_the_bound_holds_the_level_when_cases_fail_outright_from_the_top_score() -> None:
    """5% of cases drop from 1 to 0, the rest tied at 0.9–1: the t bound with one worst case passed this true
    5-point drop 6.6% of the time at n = 53. The bets hold α (2,000 replicates here; benchmarks/calibration.py runs
    10,000 per cell)."""
    rng = np.random.default_rng(53)
    n, reps = 53, 2_000
    level = rng.choice([0.9, 0.95, 1.0], size=(reps, n))
    after = np.where(rng.random((reps, n)) < 0.05, level - 1.0, level)
    differences = after - level
    passes = rules_out(to_unit(differences, 1.0), to_unit(-MARGIN, 1.0), ALPHA, above=True, horizon=n)
    assert passes.mean() <= ALPHA


def test_a_lower_is_better_metric_is_mirrored() -> None:
    before = [0.2] * 200
    after = [0.2] * 180 + [0.6] * 20  # a per-case rate that should be low rises by 4 points on average
    test = paired_test("truncated_rate", after, before, ALPHA)
    assert test.good_delta == pytest.approx(-0.04)
    result = verdict(test, test.p_value, 0.1, ALPHA)
    assert result.delta == pytest.approx(0.04) and result.lower_bound < 0.04 < result.upper_bound


def test_the_order_of_the_cases_does_not_follow_the_data() -> None:
    order = case_order(100)
    assert sorted(order) == list(range(100)) and list(order) != list(range(100))
    assert list(case_order(100)) == list(order)  # fixed: the same run gives the same bound


def test_the_detectable_drop_is_about_the_bounds_own_width() -> None:
    """MDD = (√(2 ln(1/α)) + z₀.₈)·s/√n: its first term is the bound's half-width with bets tuned to n."""
    rng = np.random.default_rng(5)
    differences = rng.choice([-0.25, 0.0, 0.25], p=[0.2, 0.6, 0.2], size=2_000)
    values = to_unit(differences, 1.0)
    width = differences.mean() - from_unit(mean_bound(values, ALPHA, lower=True, horizon=2_000), 1.0)
    sd = regularised_sd(list(differences), 1.0)
    first_term = math.sqrt(2 * math.log(1 / ALPHA)) * sd / math.sqrt(2_000)
    assert width == pytest.approx(first_term, rel=0.15)
    assert min_detectable_drop_mean(sd, 2_000, ALPHA) > width


def test_the_sequential_bound_is_wider_than_the_fixed_size_one_and_both_contain_the_mean() -> None:
    rng = np.random.default_rng(8)
    values = rng.beta(4, 4, size=400)
    fixed = float(mean_bound(values, ALPHA, lower=True, horizon=400))
    anytime = float(mean_bound(values, ALPHA, lower=True))
    assert anytime < fixed < values.mean()
    assert float(mean_bound(values, ALPHA, lower=False)) > values.mean()


def test_the_capital_never_goes_negative_at_the_worst_value() -> None:
    worst = np.zeros(30)
    assert np.all(np.isfinite(log_capital(worst, 0.999, ALPHA, above=True)))
    best = np.ones(30)
    assert np.all(np.isfinite(log_capital(best, 0.001, ALPHA, above=False)))
