"""Intervals for accuracies: a paired bootstrap of a difference, and the spread over draws.

* :func:`paired_bootstrap`: two classifiers judged on the *same* test images
  (``correct_a``, ``correct_b``: one boolean per image, shape ``N``). The images are
  resampled with replacement and both verdicts of an image travel together, so the
  interval of ``acc(a) - acc(b)`` reflects only the images on which the two differ.
* :func:`binomial_interval`: a share of ``n`` images (Clopper-Pearson).
* :func:`spread`: one accuracy per random draw (e.g. per network seed, shape ``n``):
  mean, standard deviation, a t-interval for the mean and a t-prediction interval for
  *one more* draw, the interval a single published number from another draw should
  fall in if the draws alone separated it from ours.
"""

from __future__ import annotations

import math

import numpy as np


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
    if isinstance(n_boot, bool) or int(n_boot) != n_boot:
        raise ValueError(f"n_boot must be a whole number, got {n_boot!r}")
    a, b = a.astype(bool), b.astype(bool)
    if a.ndim != 1 or a.shape != b.shape or len(a) == 0:
        raise ValueError(
            f"need two equally long, non-empty 1-d verdicts, got {a.shape} and {b.shape}"
        )
    if not 0 < level < 1 or int(n_boot) < 1:
        raise ValueError(f"need 0 < level < 1 and n_boot >= 1, got {level!r}, {n_boot!r}")
    n = len(a)
    d = a.astype(np.int8) - b.astype(np.int8)  # +1, 0 or -1 per image
    rng = np.random.default_rng(seed)
    diffs = np.empty(int(n_boot))
    for lo in range(0, int(n_boot), 1000):  # resample in blocks: bounded memory
        hi = min(lo + 1000, int(n_boot))
        diffs[lo:hi] = d[rng.integers(0, n, (hi - lo, n))].mean(1)
    tail = (1 - level) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
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


def binomial_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a share ``successes / n`` (exact, conservative): the
    shares of images an attack fools, for instance, over a few dozen images."""
    from scipy.stats import binomtest
    if (isinstance(n, bool) or int(n) != n or n < 1 or int(successes) != successes
            or not 0 <= successes <= n):
        raise ValueError(f"need 0 <= successes <= n with n >= 1, got {successes!r} of {n!r}")
    ci = binomtest(int(successes), int(n)).proportion_ci(level, method="exact")
    return float(ci.low), float(ci.high)


def spread(values, level: float = 0.95) -> dict:
    """Mean, spread and t-intervals of ``values`` (one number per independent draw, n >= 2).

    Returns ``{"n", "mean", "std" (n-1 in the denominator), "min", "max", "level",
    "mean_low", "mean_high"`` (interval for the mean over draws), ``"pred_low",
    "pred_high"`` (interval for one further draw: ``mean +- t * std * sqrt(1 + 1/n)``)``}``.
    """
    from scipy import stats

    x = np.asarray(values, dtype=float).ravel()
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
