import pytest

from evaluator.stats import wilson_interval, z_value


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
