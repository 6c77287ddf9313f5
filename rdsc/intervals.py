"""Intervals: the one home of the book's bootstraps, paired differences and spreads.

Right/wrong verdicts of two classifiers on the same images:

* :func:`paired_bootstrap`: the difference ``acc(a) - acc(b)`` (``correct_a``,
  ``correct_b``: one boolean per image, shape ``N``). The images are resampled with
  replacement and both verdicts of an image travel together, so the interval reflects
  only the images on which the two differ.
* :func:`paired_normal_difference`: the same difference with the normal interval (the
  attack chapter's quick one, for a few dozen to a few thousand images).
* :func:`paired_noise`: the half-width of such a difference from each image's share of
  right answers (a mean over seeds allowed);
* :func:`difference_noise`: the half-width of an unpaired difference of two accuracies,
  for results that kept only the accuracies.
* :func:`paired_hits` checks two such verdicts before they are read (the same images, and
  the accuracies printed beside them); :func:`paired_test_words` gives the exact paired
  test's p and the clause the chapters print with it.

Scores per item (queries, images), shape ``N``:

* :func:`bootstrap_interval`: a mean and its percentile bootstrap interval;
  :func:`paired_mean_difference`: the mean of ``a - b`` over the same items.
* :func:`bootstrap_seeds_and_images`: any statistic of ``seeds x N`` arrays, seeds and
  images both resampled (chapter 8's networks drawn with several seeds).

Shares and draws:

* :func:`binomial_interval`: a share of ``n`` images (Clopper-Pearson);
  :func:`above_chance`: whether an accuracy is better than guessing.
* :func:`spread`: one accuracy per random draw (e.g. per network seed, shape ``n``):
  mean, standard deviation, a t-interval for the mean and a t-prediction interval for
  *one more* draw, the interval a single published number from another draw should
  fall in if the draws alone separated it from ours.

Bootstraps specific to one statistic stay with it (:mod:`rdsc.separation`'s class-level
resampling of distance ratios, :func:`rdsc.attacks.paired_difficulty`'s median ratio).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from rdsc.checks import number_between, positive_number, seed_number, whole_number


def _resampling(n_boot, level) -> int:
    """``n_boot`` checked (a whole number >= 2: one resample gives an interval of width 0
    beside the estimate) and ``level`` (a fraction, 0.95 not 95)."""
    number_between("level", level, 0, 1, "a fraction: 0.95 for a 95% interval")
    return whole_number("n_boot", n_boot, at_least=2)


def _finite_scores(name: str, values) -> np.ndarray:
    """``values`` as a 1-D float array of finite numbers, at least two."""
    v = np.asarray(values, float)
    if v.ndim != 1 or len(v) < 2:
        raise ValueError(f"{name} must be 1-D with at least 2 values, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError(f"{name} holds {int((~np.isfinite(v)).sum())} NaN or infinite "
                         "values: an interval over them would be undefined, or silently "
                         "conditional on the rest")
    return v


def as_correct(correct) -> np.ndarray:
    """``correct`` (right/wrong per image: bool or 0/1) as an array, refusing anything else:
    class predictions would read as "right" wherever nonzero, or as a mean of labels."""
    v = np.asarray(correct)
    if v.dtype != bool and not np.isin(v, (0, 1)).all():
        raise ValueError("need right/wrong verdicts (bool or 0/1) per image, e.g. "
                         "predictions == labels; got other values")
    return v


def paired_bootstrap(
    correct_a, correct_b, n_boot: int = 10_000, level: float = 0.95, seed: int = 0
) -> dict:
    """Difference ``acc(a) - acc(b)`` on the same images, with a percentile bootstrap interval.

    Args:
        correct_a, correct_b: booleans (or 0/1), shape ``N``: image ``i`` right under a / b.
        n_boot: bootstrap resamples of the ``N`` images.
        level: coverage of the interval.
        seed: seeds the resampling.

    Returns ``{"difference", "low", "high", "level", "n", "acc_a", "acc_b", "only_a",
    "only_b"}``: accuracies as fractions; ``only_a`` counts images right under a only.
    """
    a, b = as_correct(correct_a), as_correct(correct_b)
    n_boot = _resampling(n_boot, level)
    a, b = a.astype(bool), b.astype(bool)
    if a.ndim != 1 or a.shape != b.shape or len(a) == 0:
        raise ValueError(
            f"need two equally long, non-empty 1-d verdicts, got {a.shape} and {b.shape}"
        )
    n = len(a)
    d = a.astype(np.int8) - b.astype(np.int8)  # +1, 0 or -1 per image
    rng = np.random.default_rng(seed_number(seed))
    diffs = np.empty(int(n_boot))
    for lo in range(0, int(n_boot), 1000):  # resample in blocks: bounded memory
        hi = min(lo + 1000, int(n_boot))
        diffs[lo:hi] = d[rng.integers(0, n, (hi - lo, n))].mean(1)
    tail = (1 - level) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    # held to the exact paired test where it does not show a direction (4 images
    # against 0 once excluded zero)
    _, low, high = hold_zero_unless_signs(d, (float(d.mean()), low, high), fewest=None)
    return {
        "difference": float(d.mean()),
        "low": float(low),
        "high": float(high),
        "level": level,
        "n": n,
        "acc_a": float(a.mean()),
        "acc_b": float(b.mean()),
        "only_a": int((a & ~b).sum()),
        "only_b": int((b & ~a).sum()),
    }


def paired_normal_difference(correct_a, correct_b, z: float = 1.96) -> tuple[float, float, float]:
    """``mean(a) - mean(b)`` for per-image correctness on the same images, with a 95% interval.

    The interval is the normal one for the mean of the paired differences
    ``a_i - b_i`` (each -1, 0 or 1), continuity-corrected (:func:`paired_noise`): images
    both versions get right or wrong add no noise.
    """
    a, b = (as_correct(v).astype(float) for v in (correct_a, correct_b))
    mean, half = _paired_mean_and_half_width(a, b, z)
    return mean, mean - half, mean + half


def paired_change_difference(before_a, after_a, before_b, after_b,
                             z: float = 1.96) -> tuple[float, float, float]:
    """How much more a change of input costs classifier A than B on the same images:
    ``(mean(before_a) - mean(after_a)) - (mean(before_b) - mean(after_b))`` with the
    normal 95% interval of the per-image differences (each -2 to 2), as ``(estimate, low,
    high)``. All four are right/wrong verdicts (bool or 0/1) on the same ``N`` images. Two
    costs whose own intervals overlap may still differ; this interval says whether they do
    (chapter 7 once read overlapping intervals as equal costs)."""
    a0, a1, b0, b1 = (as_correct(v).astype(float) for v in
                      (before_a, after_a, before_b, after_b))
    if not a0.shape == a1.shape == b0.shape == b1.shape:
        raise ValueError("need the four verdicts on the same images, got shapes "
                         f"{a0.shape}, {a1.shape}, {b0.shape}, {b1.shape}")
    mean, half = _paired_mean_and_half_width(a0 - a1, b0 - b1, z)
    return mean, mean - half, mean + half


def _paired_mean_and_half_width(a: np.ndarray, b: np.ndarray, z: float) -> tuple[float, float]:
    """``mean(a - b)`` and the half-width of its interval, for per-image values on the same
    images: ``z`` standard errors (the normal interval of paired differences) plus a
    continuity correction of ``1 / N``, one image's step. Without it, a handful of images
    that differ all one way left 0 outside the interval (e.g. 4 images of 200, +2.0
    points against ±1.9, where the exact paired test gives p = 0.125; coverage 62% at 1%
    of 100 images); with it the interval excludes 0 where McNemar's exact test rejects, in
    over 99.7% of the counts up to 40 either way at N = 100 to 10,000, and where no image
    differs it is ±1/N, not a point."""
    positive_number("z", z)
    if z < 1:  # 0.95 passed for 1.96: a 66% interval labelled 95%
        raise ValueError(f"z is the normal quantile (1.96 for a 95% interval), got {z!r}")
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError("need two equal-length 1-D arrays of at least 2 images, "
                         f"got {a.shape}, {b.shape}")
    d = a - b
    return float(d.mean()), float(z * d.std(ddof=1) / np.sqrt(len(d)) + 1 / len(d))


def paired_noise(right_a, right_b, z: float = 1.96) -> float:
    """Half-width (points) of the normal 95% interval of ``mean(a) - mean(b)``, ``a`` and
    ``b`` each image's share of right answers (``N``, 0 to 1: a method's verdicts, or their
    mean over its seeds) on the same images. Images both get right or wrong add no noise,
    so this is narrower than :func:`difference_noise` wherever the two agree (the
    unpaired +-6.2 once called a -5.6 gap "within noise" whose paired interval was -10.7
    to -0.5)."""
    a, b = (np.asarray(v, dtype=float) for v in (right_a, right_b))
    if not (((0 <= a) & (a <= 1)).all() and ((0 <= b) & (b <= 1)).all()):
        raise ValueError("need each image's share of right answers, 0 to 1")
    return 100 * _paired_mean_and_half_width(a, b, z)[1]


def paired_exact_p(right_a, right_b) -> float:
    """Two-sided p-value of the exact paired test (McNemar's) that ``a`` and ``b``, each
    image's right/wrong verdicts (``N`` bools) on the same images, are equally accurate:
    of the images exactly one gets right, how unlikely a split as lopsided is under a fair
    coin. 1.0 where no image differs. Unlike :func:`paired_noise`'s normal interval it
    holds where few images differ (e.g. 4 images, all one way, p = 0.125)."""
    from scipy.stats import binomtest
    a, b = as_correct(right_a).astype(bool), as_correct(right_b).astype(bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"need two equal-length 1-D verdicts, got {a.shape}, {b.shape}")
    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def paired_hits(name: str, hits, labels: tuple[str, str], accuracies=None,
                tolerance: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """The two verdicts ``hits = (a, b)`` (``N`` bools each, the same images), checked:
    two equally long, non-empty 1-D lists, and, where ``accuracies`` (%, the numbers printed
    beside them) are given, each list's share of right answers equal to its accuracy within
    ``tolerance`` points. A mismatch means another run's or another setting's hits, which
    would read a test on predictions the text does not show, so it is refused.

    ``name``: the argument, for the error; ``labels``: what ``a`` and ``b`` are (e.g.
    ``("the chosen C", "the paper's C")``). One check for every paired reading of the book (it was
    written four times, with one of the four lacking the empty case)."""
    if isinstance(hits, dict) or not hasattr(hits, "__len__") or len(hits) != 2:
        raise ValueError(f"{name}: the hits of {labels[0]} and of {labels[1]} on the same "
                         f"images, a pair, got {type(hits).__name__}")
    a, b = (np.asarray(h) for h in hits)
    if (a.shape != b.shape or a.ndim != 1 or len(a) == 0
            or not all(np.isin(h, (0, 1)).all() for h in (a, b))):
        raise ValueError(f"{name}: the hits of {labels[0]} and of {labels[1]} on the same "
                         "images, two equally long, non-empty lists of right/wrong, got "
                         f"shapes {a.shape} and {b.shape}")
    a, b = a.astype(bool), b.astype(bool)
    if accuracies is not None:
        for label, right, accuracy in zip(labels, (a, b), accuracies):
            if abs(100 * right.mean() - accuracy) > tolerance:
                raise ValueError(f"{name} give {100 * right.mean():.2f}% right for {label}, "
                                 f"whose accuracy is {accuracy:.2f}%: not the same "
                                 "predictions")
    return a, b


def paired_test_words(right_a, right_b, images: str, differ: str) -> tuple[float, str]:
    """The exact paired test (:func:`paired_exact_p`) of ``a`` against ``b`` and its clause:
    "on the same N ``images`` (M of them ``differ``; exact paired test p = ...)", M the
    images on which the two verdicts differ, e.g. ``differ="right under one C only"``."""
    p = paired_exact_p(right_a, right_b)
    changed = int((as_correct(right_a) != as_correct(right_b)).sum())
    return p, (f"on the same {len(right_a):,} {images} ({changed:,} of them {differ}; "
               f"exact paired test p = {p:.2g})")


def difference_noise(a_pct: float, b_pct: float, n_test: int) -> float:
    """1.96 standard errors (points) of the difference of two accuracies measured on
    ``n_test`` images each, treated as independent. For two results on the same images
    this overstates the noise, by enough to turn a verdict, so the chapters use
    the paired noise wherever they keep each image's result. Accuracies in percent (0 to
    100), not fractions; values below 1 are not taken for fractions, nor warned about, for
    accuracies near chance on 100 classes are that low (a warning there would fire on
    real results)."""
    for name, value in (("a_pct", a_pct), ("b_pct", b_pct)):
        if not 0 <= value <= 100:
            raise ValueError(f"{name} must be an accuracy in percent (0 to 100), got {value!r}")
    whole_number("n_test", n_test)
    p, q = a_pct / 100, b_pct / 100
    return 196 * np.sqrt((p * (1 - p) + q * (1 - q)) / n_test)


def bootstrap_interval(values, n_boot: int = 2000, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` (one per query) and a percentile bootstrap interval over queries."""
    v = _finite_scores("values", values)
    n_boot = _resampling(n_boot, level)
    idx = np.random.default_rng(seed_number(seed)).integers(0, len(v), size=(n_boot, len(v)))
    means = _zero_within_rounding(v[idx].mean(1), v)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(_zero_within_rounding(v.mean(), v)), float(lo), float(hi)


def _zero_within_rounding(means, v: np.ndarray):
    """``means`` of values drawn from ``v``, with those within the rounding of a mean of
    ``len(v)`` of them set to exactly 0. A mean that is 0 in exact arithmetic (P@10
    differences are tenths: 0.1 + 0.2 - 0.3 is 5.6e-17 in floats) would otherwise decide
    by its rounding which side of 0 an interval ends on, and so a verdict (e.g. a
    "high" of +1e-16 where -1e-16 would have read "lower")."""
    tol = 4 * len(v) * np.finfo(float).eps * float(np.abs(v).max())
    return np.where(np.abs(means) <= tol, 0.0, means)


#: below this many units (images, queries) that differ, a bootstrap interval of a paired
#: difference is held to the exact sign test (:func:`hold_zero_unless_signs`)
FEW_DIFFER = 30


def hold_zero_unless_signs(differences, interval: tuple, fewest: int | None = FEW_DIFFER
                           ) -> tuple[float, float, float]:
    """``interval`` ``(estimate, low, high)`` of a paired difference, widened to hold 0
    where the units that differ are few and their signs do not show a direction: fewer
    than ``fewest`` of the per-unit ``differences`` (``N``) are nonzero and the exact sign
    test (McNemar's, for right/wrong verdicts) does not reject at 5%. A percentile
    bootstrap over 4 units that differ all one way excludes 0, where that test gives
    p = 0.125 (13% false rejections at 4 of 1,000 queries, 6% one-sided at 4 of
    400 images, against 5% and 2.5%). ``fewest`` None: whatever the count (for right/wrong
    verdicts the sign test is exact for the mean difference too)."""
    from scipy.stats import binomtest
    d = np.asarray(differences, dtype=float).ravel()
    d = np.where(np.abs(d) <= 1e-9, 0.0, d)  # a float rounding (0.1 + 0.2 - 0.3) is no sign
    estimate, low, high = interval
    if not (np.isfinite(low) and np.isfinite(high)):
        return interval
    up, down = int((d > 0).sum()), int((d < 0).sum())
    changed = up + down
    if fewest is not None and changed >= fewest:
        return interval
    p = binomtest(up, changed, 0.5).pvalue if changed else 1.0
    if p >= 0.05:
        return estimate, min(low, 0.0), max(high, 0.0)
    return interval


def paired_mean_difference(a, b, n_boot: int = 2000, level: float = 0.95,
                           seed: int = 0) -> tuple[float, float, float]:
    """``mean(a - b)`` over the same queries (``a``, ``b``: one score each, shape ``N``) and
    its bootstrap interval, queries resampled: ``(difference, low, high)``. (For right/wrong
    verdicts of classifiers, :func:`rdsc.intervals.paired_bootstrap` also counts the images
    on which they differ.)"""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must score the same queries, got shapes {a.shape}, {b.shape}")
    return hold_zero_unless_signs(a - b, bootstrap_interval(a - b, n_boot, level, seed))


def bootstrap_seeds_and_images(statistic: Callable[[dict], float],
                               arrays: dict[str, np.ndarray], n_boot: int = 1000,
                               seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """Estimate and percentile interval of ``statistic`` over networks (seeds) and images.

    ``arrays``: ``{name: seeds x N}`` arrays over the same seeds and images. Each replicate
    draws seeds with replacement, then images with replacement (the same draw for every
    array, so paired quantities stay paired) and evaluates ``statistic`` on the resampled
    dict. With one seed this is the ordinary bootstrap over images.
    Returns ``(estimate on all data, low, high)``. A statistic that can be undefined (a
    capture rate where no prediction changed: NaN) keeps the replicates where it is
    defined; an undefined estimate gets no interval (NaN, NaN, NaN).
    """
    arrays = {k: np.atleast_2d(np.asarray(v)) for k, v in arrays.items()}
    if any(v.ndim != 2 for v in arrays.values()):
        raise ValueError("arrays must be seeds x N (or N for one seed), got shapes "
                         f"{sorted({v.shape for v in arrays.values()})}")
    shapes = {v.shape for v in arrays.values()}
    if len(shapes) != 1:
        raise ValueError(f"arrays must share one shape seeds x N, got {sorted(shapes)}")
    n_seeds, n = shapes.pop()
    if n < 2:
        raise ValueError("need at least two images to bootstrap")
    n_boot = _resampling(n_boot, level)  # an interval needs a spread
    estimate = float(statistic(arrays))
    if not np.isfinite(estimate):
        return estimate, float("nan"), float("nan")
    rng = np.random.default_rng(seed_number(seed))
    values = np.empty(n_boot)
    for b in range(n_boot):
        s = rng.integers(0, n_seeds, n_seeds)
        i = rng.integers(0, n, n)
        values[b] = statistic({k: v[s][:, i] for k, v in arrays.items()})
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(values, [alpha, 1 - alpha])
    return estimate, float(lo), float(hi)


def binomial_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a share ``successes / n`` (exact, conservative): the
    shares of images an attack fools, for instance, over a few dozen images."""
    from scipy.stats import binomtest
    if (isinstance(n, bool) or isinstance(successes, bool)
            or not all(np.isfinite([successes, n])) or int(n) != n or n < 1
            or int(successes) != successes or not 0 <= successes <= n):
        raise ValueError(f"need 0 <= successes <= n with n >= 1, got {successes!r} of {n!r}")
    if not 0 < level < 1:  # level 0 and 1 once gave intervals without complaint
        raise ValueError(f"level is a coverage between 0 and 1 (0.95), got {level!r}")
    ci = binomtest(int(successes), int(n)).proportion_ci(level, method="exact")
    return float(ci.low), float(ci.high)


#: the verdict of a question that a random network at chance on clean images cannot answer
#: (:func:`above_chance` false): chapters 7 and 8 give it, the introduction recognises it
AT_CHANCE_VERDICT = "not tested (the random network is at chance on clean images)"


def above_chance(n_right: int, n: int, n_classes: int) -> bool:
    """Whether ``n_right`` of ``n`` images right is better than guessing among ``n_classes``:
    the lower end of the share's 95% Clopper-Pearson interval above ``1 / n_classes``. A
    classifier at chance (one class for nearly every image) has no accuracy for an attack
    or a background to cost; chapters 7 and 8 test nothing on it."""
    if isinstance(n_classes, bool) or int(n_classes) != n_classes or n_classes < 2:
        raise ValueError(f"n_classes must be a whole number of at least 2, got {n_classes!r}")
    return binomial_interval(n_right, n)[0] > 1 / n_classes


def spread(values, level: float = 0.95) -> dict:
    """Mean, spread and t-intervals of ``values`` (one number per independent draw, n >= 2).

    Returns ``{"n", "mean", "std" (n-1 in the denominator), "min", "max", "level",
    "mean_low", "mean_high"`` (interval for the mean over draws), ``"pred_low",
    "pred_high"`` (interval for one further draw: ``mean +- t * std * sqrt(1 + 1/n)``)``}``.
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    if x.ndim != 1:  # seeds x datasets would pool the datasets' draws into one
        raise ValueError(f"values must be 1-D, one per draw, got shape {x.shape}")
    if len(x) < 2 or not np.isfinite(x).all():
        raise ValueError(f"need at least two finite values, got {x.tolist()}")
    if not 0 < level < 1:
        raise ValueError(f"need 0 < level < 1, got {level!r}")
    n, mean, std = len(x), float(x.mean()), float(x.std(ddof=1))
    t = float(stats.t.ppf(1 - (1 - level) / 2, n - 1))
    half_mean, half_pred = t * std / math.sqrt(n), t * std * math.sqrt(1 + 1 / n)
    return {
        "n": n,
        "mean": mean,
        "std": std,
        "min": float(x.min()),
        "max": float(x.max()),
        "level": level,
        "mean_low": mean - half_mean,
        "mean_high": mean + half_mean,
        "pred_low": mean - half_pred,
        "pred_high": mean + half_pred,
    }


def within(value: float, interval: dict, key: str = "pred") -> bool:
    """Does ``value`` lie in ``interval[key_low] .. interval[key_high]``?"""
    return interval[f"{key}_low"] <= value <= interval[f"{key}_high"]
