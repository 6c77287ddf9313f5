"""Intervals: paired differences of accuracies and of scores, bootstraps, the spread over draws."""

import numpy as np
import pytest

from rdsc.intervals import (bootstrap_interval, bootstrap_seeds_and_images, difference_noise,
                            paired_bootstrap, paired_hits, paired_mean_difference,
                            paired_normal_difference, paired_noise, paired_test_words, spread,
                            within)


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
    # class predictions 0..9 read as "right" wherever nonzero (the sign flipped)
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


def test_bootstrap_interval_covers_mean_and_narrows_with_more_queries():
    rng = np.random.default_rng(0)
    small, big = rng.random(10), rng.random(1000)
    m, lo, hi = bootstrap_interval(small)
    assert lo <= m <= hi
    m2, lo2, hi2 = bootstrap_interval(big)
    assert hi2 - lo2 < hi - lo
    d, lo, hi = paired_mean_difference(big + 0.1, big)
    assert d == pytest.approx(0.1) and lo == pytest.approx(0.1) and hi == pytest.approx(0.1)


def test_paired_normal_difference():
    a = np.array([1, 1, 1, 0, 1, 1, 0, 1])
    b = np.array([1, 0, 1, 0, 0, 1, 0, 1])
    d, lo, hi = paired_normal_difference(a, b)
    assert d == pytest.approx(0.25) and lo < d < hi
    # the half-width by hand. a - b is two 1s and six 0s: squared deviations from
    # 0.25 sum to 2 * 0.75^2 + 6 * 0.25^2 = 1.5, so std(ddof=1) = sqrt(1.5 / 7); n = 8
    half = 1.96 * np.sqrt(1.5 / 7) / np.sqrt(8)  # 0.3208 (an interval sqrt(n) too wide once)
    half += 1 / 8  # the continuity correction: one image's step
    assert (lo, hi) == pytest.approx((0.25 - half, 0.25 + half))
    d, lo, hi = paired_normal_difference(a, a)
    assert d == 0 and (lo, hi) == (-1 / 8, 1 / 8)  # no image differs: ±one image
    with pytest.raises(ValueError):
        paired_normal_difference(a, b[:3])
    # class predictions gave a "difference" of their mean labels
    pred = np.array([0, 1, 2, 3, 1, 2, 3, 0])
    with pytest.raises(ValueError, match="right/wrong verdicts"):
        paired_normal_difference(pred, (pred + 1) % 4)
    # paired_noise: the same half-width in points, with the same checks (it once
    # repeated the formula without the z check)
    assert paired_noise(a, b) == pytest.approx(100 * half)
    with pytest.raises(ValueError, match="normal quantile"):
        paired_noise(a, b, 0.95)
    with pytest.raises(ValueError, match="at least 2 images"):
        paired_noise(a[:1], b[:1])


def test_bootstrap_over_seeds_and_images_keeps_pairs_paired():
    rng = np.random.default_rng(0)
    x = (rng.random((3, 400)) < 0.3).astype(float)
    est, lo, hi = bootstrap_seeds_and_images(lambda a: a["x"].mean(), {"x": x}, n_boot=300)
    assert est == pytest.approx(x.mean()) and lo < est < hi
    assert 0.02 < hi - lo < 0.15
    const = np.ones((2, 50))
    assert bootstrap_seeds_and_images(lambda a: a["x"].mean(), {"x": const},
                                      n_boot=50) == (1.0, 1.0, 1.0)
    # pairs stay paired: the difference of an array with itself is always 0
    assert bootstrap_seeds_and_images(lambda a: (a["a"] - a["b"]).mean(),
                                      {"a": x, "b": x.copy()}, n_boot=50) == (0, 0, 0)
    with pytest.raises(ValueError, match="one shape"):
        bootstrap_seeds_and_images(lambda a: 0.0, {"a": x, "b": x[:, :10]})
    for bad in (0, 1, 2.5):  # 1 once gave an interval that excluded its own estimate
        with pytest.raises(ValueError, match="n_boot must be a whole number of at least 2"):
            bootstrap_seeds_and_images(lambda a: a["x"].mean(), {"x": x}, n_boot=bad)


def test_difference_noise_is_the_unpaired_half_width_in_points():
    # 50% and 50% on 100 images: 1.96 * sqrt(0.25 + 0.25) / 10 = 0.1386 -> 13.86 points
    assert difference_noise(50, 50, 100) == pytest.approx(13.859, abs=1e-3)
    assert difference_noise(50, 50, 400) == pytest.approx(13.859 / 2, abs=1e-3)
    assert difference_noise(100, 0, 50) == 0


def test_probe_z_intervals_refuse_what_gave_plausible_wrong_numbers():
    rng = np.random.default_rng(0)
    a, b = rng.random(50) < 0.7, rng.random(50) < 0.6
    for bad in (1, 0, 2.5, True):  # one resample: an interval of width 0 beside the estimate
        with pytest.raises(ValueError, match="n_boot must be a whole number of at least 2"):
            paired_bootstrap(a, b, n_boot=bad)
        with pytest.raises(ValueError, match="n_boot"):
            bootstrap_interval(rng.random(10), n_boot=bad)
    with pytest.raises(ValueError, match="0.95 for a 95% interval"):
        bootstrap_interval(rng.random(10), level=95)
    with pytest.raises(ValueError, match="NaN or infinite"):
        bootstrap_interval([0.1, 0.2, float("nan")])
    with pytest.raises(ValueError, match="NaN or infinite"):
        paired_mean_difference([0.1, 0.2, float("inf")], [0.1, 0.2, 0.3])
    for z in (0.95, -1.96):  # a level passed as z; a negative z swapped the ends
        with pytest.raises(ValueError, match="z"):
            paired_normal_difference(a, b, z=z)
    assert difference_noise(0.5, 0.8, 200) > 0  # 100 classes near chance: real percents
    for args in ((185, 80, 100), (85, 80, 2.5), (85, 80, 0)):
        with pytest.raises(ValueError):
            difference_noise(*args)
    with pytest.raises(ValueError, match="1-D, one per draw"):
        spread([[0.6, 0.61], [0.62, 0.63]])  # seeds x datasets was pooled into n = 4
    from rdsc.intervals import binomial_interval
    for bad in ((True, 10), (float("nan"), 10)):
        with pytest.raises(ValueError, match="successes"):
            binomial_interval(*bad)
    # an undefined estimate (NaN) gets no interval, not one from the replicates that missed it
    x = rng.random((3, 30))
    x[0, 0] = np.nan
    est, lo, hi = bootstrap_seeds_and_images(lambda d: float(d["x"].mean()), {"x": x},
                                             n_boot=50)
    assert np.isnan(est) and np.isnan(lo) and np.isnan(hi)


def test_intervals_have_the_level_they_state():
    """90% or 97.5% in place of 95% once passed every test (which checked only that an
    interval holds its estimate). On 2,000 values the percentile bootstrap of a mean
    is the normal interval, mean +- 1.96 sd / sqrt(n), to well within 5% of its width (90%
    gives 1.64, 97.5% gives 2.24)."""
    rng = np.random.default_rng(0)
    v = rng.normal(size=2000)
    normal_half = 1.96 * v.std(ddof=1) / np.sqrt(len(v))
    mean, lo, hi = bootstrap_interval(v, n_boot=4000)
    assert (hi - lo) / 2 == pytest.approx(normal_half, rel=0.05)
    assert (mean - lo) == pytest.approx(hi - mean, rel=0.15)
    # the seeds-and-images bootstrap with one seed is the bootstrap over images
    est, lo2, hi2 = bootstrap_seeds_and_images(lambda d: d["x"].mean(), {"x": v[None]},
                                               n_boot=2000)
    assert est == mean and (hi2 - lo2) / 2 == pytest.approx(normal_half, rel=0.05)
    # paired verdicts: the percentile bootstrap against the normal (Wald) interval
    a, b = rng.random(2000) < 0.7, rng.random(2000) < 0.6
    boot = paired_bootstrap(a, b, n_boot=4000)
    diff, low, high = paired_normal_difference(a, b)
    assert boot["difference"] == pytest.approx(diff)
    assert boot["high"] - boot["low"] == pytest.approx(high - low, rel=0.05)


def test_the_seeds_and_images_bootstrap_resamples_the_seeds():
    """With the seeds never resampled, five networks whose accuracies spread from 0.2 to
    0.6 once gave an interval as narrow as the images alone allow (about
    0.04 wide at 400 images)."""
    rng = np.random.default_rng(1)
    means = np.array([0.2, 0.3, 0.4, 0.5, 0.6])
    x = (rng.random((5, 400)) < means[:, None]).astype(float)
    est, lo, hi = bootstrap_seeds_and_images(lambda d: d["x"].mean(), {"x": x}, n_boot=1000)
    assert lo < est < hi and hi - lo > 0.15  # the seeds' spread: 0.4 / sqrt(5) * 2 * 1.96 / 2
    images_only = bootstrap_interval(x.mean(0), n_boot=1000)
    assert images_only[2] - images_only[1] < 0.1


def test_a_mean_that_is_zero_in_exact_arithmetic_is_zero():
    """Chapter 6's interval on a P@10 difference (tenths) once ended at +1e-16, and a
    rounding of -1e-16 would have turned "indistinguishable" into "lower"."""
    from rdsc.retrieval import difference_word
    v = np.array([0.1, 0.2, -0.3] * 5)  # 0.1 + 0.2 - 0.3 is 5.6e-17 in floats
    assert v.mean() != 0
    mean, lo, hi = bootstrap_interval(v, n_boot=2000)
    assert mean == 0.0
    # its upper end is a resample of three 0.1 and one -0.3: 6.9e-18 in floats
    assert bootstrap_interval(np.array([-0.3, -0.3, -0.2, 0.1]), n_boot=100, seed=0)[2] == 0.0
    assert difference_word(-0.1, 0.0, margin=0.01) == "indistinguishable"
    # a genuinely small mean keeps its sign
    assert bootstrap_interval(np.array([1e-9, 2e-9, 3e-9]), n_boot=100)[0] == pytest.approx(2e-9)


def test_paired_change_difference_compares_two_costs_on_the_same_images():
    """Chapter 7 once read two overlapping intervals as equal costs; the paired
    interval of the difference decides."""
    from rdsc.intervals import paired_change_difference
    rng = np.random.default_rng(0)
    n = 400
    clean_a, clean_b = np.ones(n, bool), np.ones(n, bool)
    after_a = rng.random(n) > 0.30   # A loses about 30 points
    after_b = after_a | (rng.random(n) > 0.5)  # B loses about half as much, same images
    est, low, high = paired_change_difference(clean_a, after_a, clean_b, after_b)
    expected = (clean_a.mean() - after_a.mean()) - (clean_b.mean() - after_b.mean())
    assert est == pytest.approx(expected) and low < est < high
    assert low > 0  # B's losses are a subset of A's: the pairing shows it
    same = paired_change_difference(clean_a, after_a, clean_a, after_a)
    assert same == (0.0, -1 / n, 1 / n)  # continuity-corrected: ±one image
    with pytest.raises(ValueError, match="same images"):
        paired_change_difference(clean_a, after_a, clean_b[:10], after_b[:10])
    with pytest.raises(ValueError, match="right/wrong"):
        paired_change_difference(clean_a, after_a.astype(int) * 3, clean_b, after_b)


def test_bootstrap_intervals_of_few_differing_units_hold_zero_unless_the_signs_show_it():
    """A percentile bootstrap over 4 units that differ all one way once excluded 0 (4
    of 400 images "confirmed" chapter 8's pitfall; 4 of 1,000 queries "beat" the control),
    where the exact sign test gives p = 0.125."""
    from rdsc.intervals import (hold_zero_unless_signs, paired_bootstrap,
                                paired_mean_difference)
    a = np.zeros(1000)
    a[:4] = 0.05  # 4 queries 5 AP points better
    d, low, high = paired_mean_difference(a, np.zeros(1000))
    assert low <= 0 < high and d == pytest.approx(0.0002)
    a[:12] = 0.05  # 12 all one way: p = 0.0005, the bootstrap stands
    assert paired_mean_difference(a, np.zeros(1000))[1] > 0
    right = np.ones(400, bool)
    wrong = right.copy()
    wrong[:4] = False
    assert paired_bootstrap(right, wrong)["low"] <= 0
    # many units that differ: the bootstrap is left alone, whatever their signs say
    many = np.r_[np.full(20, -0.001), np.full(15, 0.5), np.zeros(965)]
    assert hold_zero_unless_signs(many, (0.0075, 0.003, 0.012)) == (0.0075, 0.003, 0.012)
    assert hold_zero_unless_signs(np.zeros(10), (0.0, 0.0, 0.0)) == (0.0, 0.0, 0.0)
    assert hold_zero_unless_signs(np.r_[1e-17, np.zeros(9)], (0.1, 0.05, 0.2)) == (
        0.1, 0.0, 0.2)  # a float rounding is no difference


def test_chapter_8_effects_of_few_images_hold_zero():
    """4 changed images of 400 once read "a foreign ring costs accuracy: yes"."""
    from rdsc import background as bg
    n, c = 400, 10
    labels = np.arange(n) % c
    donor = (labels + 1) % c
    preds = {cond: labels.copy() for cond in bg.CONDITIONS}
    preds["ring, other class"][:4] = donor[:4]
    e = bg.effect_rows([preds], labels, donor, c, n_boot=500)
    assert e["ring cost"][1] <= 0 < e["ring cost"][2]
    rows, shown = bg.pitfall_rows("cifar10", e, e, c)
    assert rows[0]["random network"] == "not shown" and not shown


def test_paired_test_words_counts_by_hand():
    """6 images right under a only, 0 under b only: p = 2 / 2**6 = 0.03125."""
    a = np.array([1] * 6 + [1, 0, 1, 0], bool)
    b = np.array([0] * 6 + [1, 0, 1, 0], bool)
    p, said = paired_test_words(a, b, "test images", "right under one C only")
    assert p == pytest.approx(2 / 2**6)
    assert said == ("on the same 10 test images (6 of them right under one C only; exact "
                    "paired test p = 0.031)")
    assert paired_test_words(a, a, "images", "x")[0] == 1.0


def test_paired_hits_refuses_what_is_not_two_verdicts_of_the_printed_accuracies():
    a, b = np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0], bool)
    right_a, right_b = paired_hits("hits", (a, b), ("the MLP", "the SVM"), (50.0, 25.0))
    assert right_a.dtype == bool and list(right_b) == [True, False, False, False]
    labels = ("the MLP", "the SVM")
    for bad in ({1: a, 2: b}, (a,), (a, b, a), None):
        with pytest.raises(ValueError, match="hits: the hits of the MLP and of the SVM"):
            paired_hits("hits", bad, labels)
    for bad in ((a, b[:3]), (a[:0], b[:0]), (a.reshape(2, 2), b.reshape(2, 2)),
                # class predictions, not right/wrong: nonzero read as "right" before
                (np.array([3, 1, 0, 7]), b)):
        with pytest.raises(ValueError, match="non-empty lists of right/wrong"):
            paired_hits("hits", bad, labels)
    # another run's hits: the shares are not the accuracies printed beside them
    with pytest.raises(ValueError, match="hits give 25.00% right for the SVM, whose "
                                         "accuracy is 50.00%: not the same predictions"):
        paired_hits("hits", (a, b), labels, (50.0, 50.0))
    # within the tolerance (a table's 2 decimals) they are taken
    paired_hits("hits", (a, b), labels, (50.004, 25.0), tolerance=0.006)
