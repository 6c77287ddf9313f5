"""Intervals: the paired bootstrap of an accuracy difference, the spread over draws."""

import numpy as np
import pytest

from rdsc.intervals import paired_bootstrap, spread, within


def test_paired_bootstrap_by_hand():
    a = np.array([1, 1, 1, 1, 0, 0, 1, 1], bool)
    b = np.array([1, 0, 1, 1, 0, 1, 0, 1], bool)
    out = paired_bootstrap(a, b, n_boot=4000, seed=3)
    assert out["difference"] == pytest.approx(1 / 8) and out["only_a"] == 2 and out["only_b"] == 1
    assert out["acc_a"] == 0.75 and out["acc_b"] == 0.625 and out["n"] == 8
    assert out["low"] < 0 < out["high"]  # 2 against 1 discordant images: no evidence
    again = paired_bootstrap(a, b, n_boot=4000, seed=3)
    assert again == out
    with pytest.raises(ValueError):
        paired_bootstrap(a, b[:3])
    with pytest.raises(ValueError):
        paired_bootstrap(a, b, level=1.5)


def test_spread_matches_the_t_formulas():
    from scipy import stats

    x = np.array([74.9, 75.2, 75.0, 75.4, 74.8])
    s = spread(x)
    t = stats.t.ppf(0.975, 4)
    assert s["mean"] == pytest.approx(x.mean()) and s["std"] == pytest.approx(x.std(ddof=1))
    assert s["mean_high"] - s["mean"] == pytest.approx(t * x.std(ddof=1) / np.sqrt(5))
    assert s["pred_high"] - s["mean"] == pytest.approx(t * x.std(ddof=1) * np.sqrt(1.2))
    assert within(75.5, s) and not within(76.36, s)
    assert s["min"] == 74.8 and s["max"] == 75.4 and s["n"] == 5
    with pytest.raises(ValueError, match="two finite"):
        spread([75.0])


def test_paired_bootstrap_refuses_predictions_for_verdicts():
    # probe J10: class predictions 0..9 read as "right" wherever nonzero (the sign flipped)
    predictions = np.array([0, 3, 3, 9, 1, 2])
    with pytest.raises(ValueError, match="right/wrong verdicts"):
        paired_bootstrap(predictions, predictions[::-1])
    with pytest.raises(ValueError, match="whole number"):
        paired_bootstrap(np.ones(4, bool), np.zeros(4, bool), n_boot=2.9)
    assert paired_bootstrap(np.array([1, 0, 1, 1]), np.array([0, 0, 1, 1]))["only_a"] == 1


def test_binomial_interval_is_exact_and_refuses_fractions():
    from rdsc.intervals import binomial_interval
    low, high = binomial_interval(10, 20)
    assert low == pytest.approx(0.2720, abs=1e-4) and high == pytest.approx(0.7280, abs=1e-4)
    assert binomial_interval(0, 4)[0] == 0.0 and binomial_interval(4, 4)[1] == 1.0
    with pytest.raises(ValueError):
        binomial_interval(2.5, 4)


def test_as_correct_refuses_signs_and_fractions():
    from rdsc.intervals import as_correct
    for bad in ([1, -1, 0], [0.5, 1.0]):
        with pytest.raises(ValueError, match="right/wrong verdicts"):
            as_correct(np.array(bad))
