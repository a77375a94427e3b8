import pytest

from evaluator.core.stats import wilson_interval, z_value


def test_wilson_reference_value() -> None:
    low, high = wilson_interval(430, 500)
    assert low == pytest.approx(0.826833, abs=1e-6)
    assert high == pytest.approx(0.887677, abs=1e-6)


def test_wilson_degenerate_counts_are_finite_and_exact_at_the_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 50)
    assert low == 0.0 and 0 < high < 0.1
    low, high = wilson_interval(50, 50)
    assert high == 1.0 and 0.9 < low < 1


def test_z_value() -> None:
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_value(0.90) == pytest.approx(1.644854, abs=1e-6)


from statistics import NormalDist  # noqa: E402

from scipy.stats import binomtest  # noqa: E402

from evaluator.core.stats import (  # noqa: E402
    PairedTable,
    holm_adjust,
    mcnemar_midp_worse,
    min_detectable_drop_paired,
    newcombe_hybrid_interval,
    newcombe_paired_interval,
    newcombe_phi,
    paired_bootstrap_interval,
    tango_interval,
    tango_statistic,
    two_proportion_z_worse,
    wilcoxon_pratt_worse,
)

REFERENCE = PairedTable(a=400, b=15, c=40, d=45)


def test_newcombe_method_10_reference_values() -> None:
    assert newcombe_paired_interval(REFERENCE, 0.95) == pytest.approx((0.021065, 0.079845), abs=1e-6)
    assert newcombe_paired_interval(REFERENCE, 0.90) == pytest.approx((0.025753, 0.074895), abs=1e-6)


def test_newcombe_phi_is_continuity_adjusted() -> None:
    plain = (400 * 45 - 15 * 40) / ((415 * 85 * 440 * 60) ** 0.5)
    assert newcombe_phi(REFERENCE) == pytest.approx((400 * 45 - 15 * 40 - 250) / ((415 * 85 * 440 * 60) ** 0.5))
    assert newcombe_phi(REFERENCE) < plain


def test_scipy_binomial_reference() -> None:
    assert binomtest(5, 20).pvalue == pytest.approx(0.0413895, abs=1e-6)


def test_mcnemar_mid_p_is_one_sided_for_a_worse_candidate() -> None:
    worse = PairedTable(a=400, b=40, c=15, d=45)
    p = mcnemar_midp_worse(worse)
    from scipy.stats import binom

    assert p == pytest.approx(binom.sf(40, 55, 0.5) + 0.5 * binom.pmf(40, 55, 0.5))
    assert p < 0.001
    assert mcnemar_midp_worse(REFERENCE) > 0.99


@pytest.mark.parametrize("table", [PairedTable(500, 0, 0, 0), PairedTable(0, 0, 0, 500), PairedTable(250, 0, 0, 250)])
def test_degenerate_tables_give_p_1_phi_0_and_finite_bounds(table: PairedTable) -> None:
    assert mcnemar_midp_worse(table) == 1.0
    low, high = newcombe_paired_interval(table, 0.90)
    assert -1 < low <= 0 <= high < 1
    if table.a == 500 or table.d == 500:
        assert newcombe_phi(table) == 0.0


def test_unpaired_interval_and_z_test() -> None:
    low, high = newcombe_hybrid_interval(410, 500, 440, 500, 0.90)
    assert low < -0.06 < high < 0 and low > -0.11
    z = (0.82 - 0.88) / (0.85 * 0.15 * 2 / 500) ** 0.5  # pooled standard error
    assert two_proportion_z_worse(410, 500, 440, 500) == pytest.approx(NormalDist().cdf(z), abs=1e-12)
    assert two_proportion_z_worse(410, 500, 440, 500) == pytest.approx(0.003944, abs=1e-6)
    assert two_proportion_z_worse(500, 500, 500, 500) == 1.0
    assert newcombe_hybrid_interval(500, 500, 500, 500, 0.9)[0] > -0.01


def test_holm_adjustment() -> None:
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjust([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm_adjust([]) == []


def test_minimum_detectable_drop() -> None:
    mdd = min_detectable_drop_paired(REFERENCE, alpha=0.05)
    bigger = PairedTable(REFERENCE.a * 4, REFERENCE.b * 4, REFERENCE.c * 4, REFERENCE.d * 4)
    assert min_detectable_drop_paired(bigger, alpha=0.05) == pytest.approx(mdd / 2)  # 4× the cases, half the drop
    more_discordant = PairedTable(REFERENCE.a - 20, REFERENCE.b + 10, REFERENCE.c + 10, REFERENCE.d)
    assert min_detectable_drop_paired(more_discordant, alpha=0.05) > mdd
    assert 0.03 < mdd < 0.04  # 55 discordant of 500: about 3.7 points
    assert min_detectable_drop_paired(PairedTable(50, 0, 0, 0), 0.05) > 0


def test_paired_bootstrap_is_seeded() -> None:
    before = [4, 5, 3, 4, 5, 4, 3, 5, 4, 4]
    after = [3, 4, 3, 3, 4, 4, 2, 4, 4, 3]
    first = paired_bootstrap_interval(before, after, 0.9, seed=0)
    assert first == paired_bootstrap_interval(before, after, 0.9, seed=0)
    assert first[0] == pytest.approx(-0.7) and first[1] < -0.7 < first[2] < 0


def test_wilcoxon_pratt_counts_the_unchanged_cases_in_the_ranks_only() -> None:
    before, after = [1.0] * 50, [0.0] * 5 + [1.0] * 45
    assert wilcoxon_pratt_worse(before, after) < 0.05
    assert wilcoxon_pratt_worse(before, before) == 1.0


def test_tango_without_correction_is_mcnemar_at_zero_and_the_interval_contains_the_estimate() -> None:
    assert tango_statistic(REFERENCE, 0.0, correction=0) == pytest.approx((40 - 15) / 55 ** 0.5)
    low, high = tango_interval(REFERENCE, 0.90)
    assert low < REFERENCE.delta < high
    assert tango_statistic(REFERENCE, low) == pytest.approx(NormalDist().inv_cdf(0.95), abs=1e-6)
    uncorrected = tango_interval(REFERENCE, 0.90, correction=0)
    assert uncorrected[0] > low and uncorrected[1] < high  # the correction only widens
    # Newcombe's interval and Tango's agree to about half a point on this table
    assert low == pytest.approx(newcombe_paired_interval(REFERENCE, 0.90)[0], abs=0.006)


def test_tango_refuses_to_pass_a_rare_fix_table_newcombe_passed() -> None:
    """c ≈ 0 is where Newcombe's interval is liberal: 8 broke, 0 fixed of 100 (Δ = −8 points) with a 10-point
    margin. Tango's lower bound sits further out."""
    table = PairedTable(a=80, b=8, c=0, d=12)
    assert tango_interval(table, 0.90)[0] < newcombe_paired_interval(table, 0.90)[0]


