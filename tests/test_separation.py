"""Separation ratio, exact Wasserstein distances on a grid, margins (rdsc.separation), and
what the chapter says of them (rdsc.separation_words)."""
import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import wasserstein_distance

from rdsc.classify import LinearSVM
from rdsc.features import FeatureArray
from rdsc.separation import (bootstrap_ratio, bootstrap_ratio_difference, feature_distances,
                             pixel_distances, separation_ratio, svm_margins, unit_scale,
                             value_cdfs)


def test_pixel_distances_equal_scipy_wasserstein():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (5, 3, 6, 7), dtype=torch.uint8, generator=gen)
    D = pixel_distances(images)
    for i in range(5):
        for j in range(5):
            a, b = images[i].flatten().double() / 255, images[j].flatten().double() / 255
            assert D[i, j].item() == pytest.approx(wasserstein_distance(a, b), abs=1e-12)


def test_feature_distances_equal_scipy_wasserstein():
    rng = np.random.default_rng(1)
    counts = rng.integers(-225, 226, (4, 300))
    D = feature_distances(counts, 225)
    assert D[1, 3].item() == pytest.approx(wasserstein_distance(counts[1] / 225, counts[3] / 225),
                                           abs=1e-12)
    assert torch.allclose(D, D.T) and torch.all(D.diagonal() == 0)


def test_value_cdfs_rejects_values_off_the_grid():
    with pytest.raises(ValueError, match="values must lie"):
        value_cdfs(torch.tensor([[0, 5]]), 5)


def test_separation_ratio_by_hand():
    labels = torch.tensor([0, 0, 1, 1])
    D = torch.tensor([[0, 1, 4, 4], [1, 0, 4, 4], [4, 4, 0, 2], [4, 4, 2, 0]], dtype=torch.float64)
    # within: pairs (0,1) -> 1 and (2,3) -> 2, each counted twice: mean 1.5; between: 4
    assert separation_ratio(D, labels) == pytest.approx(4 / 1.5)
    # a bootstrap sample repeating image 0: its self-pairs are left out
    assert separation_ratio(D, labels, torch.tensor([0, 0, 1, 2, 3])) == pytest.approx(
        4 / ((4 * 1 + 2 * 2) / 6))


def _two_blobs(seed, n=30, gap=5.0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(0, 1, (n, 2)), rng.normal(gap, 1, (n, 2))])
    return torch.cdist(torch.tensor(x), torch.tensor(x))


def test_bootstrap_interval_matches_the_spread_over_fresh_samples():
    # an interval collapsed to the ratio itself passed "lo <= r <= hi and lo > 2"
    y = torch.tensor([0] * 30 + [1] * 30)
    r, lo, hi = bootstrap_ratio(_two_blobs(0), y, n_boot=200)
    assert lo <= r <= hi and lo > 2
    # the bootstrap stands in for drawing the images again: its interval's width is
    # that of the ratios of 200 fresh samples of the same two classes (measured 0.80)
    fresh = [separation_ratio(_two_blobs(seed), y) for seed in range(1, 201)]
    f_lo, f_hi = np.percentile(fresh, [2.5, 97.5])
    assert 0.6 < (hi - lo) / (f_hi - f_lo) < 1.6


def test_the_ratio_intervals_are_the_central_95_percent_of_their_resamples():
    """A 90% interval once passed the test above (its width is within 0.6-1.6
    of the fresh samples'). The interval is the 2.5 and 97.5 percentiles of the ratios
    over the within-class resamples, for one space and for a paired difference."""
    from rdsc.separation import _class_resamples
    y = torch.tensor([0] * 30 + [1] * 30)
    D_a, D_b = _two_blobs(0), _two_blobs(1, gap=3.0)
    ratios = [separation_ratio(D_a, y, i) for i in _class_resamples(y, 200, 0)]
    assert bootstrap_ratio(D_a, y, n_boot=200)[1:] == pytest.approx(
        tuple(np.percentile(ratios, [2.5, 97.5])))
    diffs = [separation_ratio(D_b, y, i) - separation_ratio(D_a, y, i)
             for i in _class_resamples(y, 200, 0)]
    assert bootstrap_ratio_difference(D_a, D_b, y, n_boot=200)[1:] == pytest.approx(
        tuple(np.percentile(diffs, [2.5, 97.5])))


def test_margin_rows_keep_the_smallest_margin_and_call_hard_only_hard_fits(monkeypatch):
    """The "min margin" column (chapter 5's table) could once be the mean, a control's row
    could be hard where one draw's fit was not, and HARD_FIT could move, unnoticed."""
    from rdsc import separation as S
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 2.5]])  # unequal gaps: unequal margins
    X = np.concatenate([c + rng.normal(0, 0.3, (20, 2)) for c in centres])
    y = np.repeat([0, 1, 2], 20)
    row = S._margin_row("pixels", 2, X, y, C=1e4)
    fit = S.margin_svm(1e4).fit(X, y)
    assert row["min margin"] == pytest.approx(svm_margins(fit).min())
    assert row["min margin"] < 0.9 * row["mean margin"] and row["hard"]
    soft = dict(row, hard=False, **{"min margin": row["min margin"] / 2})
    merged, = S._over_draws([[row], [soft]])
    assert merged["hard"] is False and merged["min margin"] == soft["min margin"]
    assert S._over_draws([[row], [row]])[0]["hard"] is True
    # a fit with min y·f = 0.7: its 1 / |w| may be 1 / 0.7 of the hard margin: not hard
    monkeypatch.setattr(S, "smallest_fit", lambda svm, X, y: 0.7)
    assert S._margin_row("pixels", 2, X, y, C=1e4)["hard"] is False


def test_unit_scale_and_margin_of_a_known_problem():
    X = np.array([[-2.0, 0.0], [-3.0, 1.0], [2.0, 0.0], [3.0, -1.0]])
    Xs = unit_scale(X)
    assert np.linalg.norm(Xs, axis=1).mean() == pytest.approx(1.0, abs=1e-6)
    y = np.array([0, 0, 1, 1])
    svm = LinearSVM(C=1e4, device="cpu").fit(Xs, y)
    m = svm_margins(svm)
    # nearly hard margin: the closest points (+-2, 0) lie on the margin lines
    half_gap = 2.0 / (np.linalg.norm(X - X.mean(0), axis=1).mean())
    assert m == pytest.approx([half_gap, half_gap], rel=0.05)


def test_paired_difference_detects_a_small_consistent_gain():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 1, (40, 2)), rng.normal(1.0, 1, (40, 2))])
    y = torch.tensor([0] * 40 + [1] * 40)
    D_a = torch.cdist(torch.tensor(x), torch.tensor(x))
    moved = x.copy()
    moved[40:] += [0.2, 0.0]  # the second class 0.2 further away: a small, real gain
    D_b = torch.cdist(torch.tensor(moved), torch.tensor(moved))
    d, lo, hi = bootstrap_ratio_difference(D_a, D_b, y, n_boot=200)
    assert d == pytest.approx(separation_ratio(D_b, y) - separation_ratio(D_a, y))
    # an interval collapsed to d passed "lo <= d <= hi"; this one must exclude 0
    # (measured 0.032 to 0.063 around 0.048) and have a width
    assert 0 < lo < d < hi
    # the pairing is what detects it: fresh samples of the same classes spread their
    # ratio far more than the gain (unpaired, the gain would be lost)
    other = np.concatenate([rng.normal(0, 1, (40, 2)), rng.normal(1.0, 1, (40, 2))])
    D_c = torch.cdist(torch.tensor(other), torch.tensor(other))
    _, lo_c, hi_c = bootstrap_ratio_difference(D_a, D_c, y, n_boot=200)
    assert lo_c < 0 < hi_c and hi_c - lo_c > 3 * (hi - lo)
    same = bootstrap_ratio_difference(D_a, D_a, y, n_boot=20)
    assert same == (0.0, 0.0, 0.0)


def test_ratio_and_margin_rows_cover_every_space():
    from rdsc.features import extract
    from rdsc.network import RandomDepthwiseSignNet
    from rdsc.separation import margin_rows, ratio_rows
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (24, 3, 32, 32), dtype=torch.uint8, generator=gen)
    labels = torch.arange(3).repeat(8)
    feats = extract(RandomDepthwiseSignNet(32), images, progress=False)
    ratios, diffs = ratio_rows(images, labels, feats, [8, 32], n_boot=10)
    assert [r["space"] for r in ratios] == ["pixels", "features, k=8", "features, k=32"]
    assert [d["space"] for d in diffs] == ["features, k=8", "features, k=32"]
    assert all(r["low"] <= r["ratio"] <= r["high"] for r in ratios)
    rows = margin_rows(images, labels, feats, [8, 32], C=100.0, device="cpu")
    assert [(r["space"], r["dimension"]) for r in rows] == [("pixels", 3072), ("features", 8),
                                                            ("features", 32)]
    assert rows[0]["train accuracy"] == 1.0  # 24 images in 3072 dimensions are separable
    from rdsc.separation import margin_comparison
    marked = [dict(r) for r in rows]
    marked[2]["mean margin"] *= 10  # the ratio on all images is read from the rows given
    compared = margin_comparison(images, labels, feats, 32, C=100.0, n_draws=4, device="cpu",
                                 rows=marked)
    assert compared["space"] == "features, k=32" and compared["half-samples"] == 4
    assert compared["half-sample fits"] == 4 * 2  # pixels and k = 32 on each half
    assert 0 <= compared["soft half-sample fits"] <= 8
    assert compared["ratio"] == pytest.approx(10 * rows[2]["mean margin"]
                                              / rows[0]["mean margin"])
    assert 0 < compared["low"] <= compared["high"]
    # fewer distinct images never narrow a hard margin (24 images separable in 3,072 dims)
    assert compared["pixels widen"] >= 0.999
    # the growth starts at the smallest k whose fit is a hard margin, on the same half-samples
    for r in marked:
        r["hard"] = True
    grown = margin_comparison(images, labels, feats, 32, C=100.0, n_draws=4, device="cpu",
                              rows=marked)
    assert grown["growth from k"] == 8
    assert grown["growth"] == pytest.approx(10 * rows[2]["mean margin"] / rows[1]["mean margin"])
    assert 0 < grown["growth low"] <= grown["growth high"]
    # on the same half-samples as a direct comparison of k = 8 with k = 32
    from rdsc.separation import _unit_features, margin_ratio
    direct = margin_ratio(_unit_features(feats, 8), _unit_features(feats, 32), labels,
                          C=100.0, n_draws=4, device="cpu")
    assert (grown["growth low"], grown["growth high"]) == pytest.approx(
        (direct["low"], direct["high"]))
    assert (grown["low"], grown["high"]) == pytest.approx((compared["low"], compared["high"]))
    marked[1]["hard"] = False  # k = 8 no longer a hard margin: no growth to measure
    alone = margin_comparison(images, labels, feats, 32, C=100.0, n_draws=4, device="cpu",
                              rows=marked)
    assert np.isnan(alone["growth from k"]) and np.isnan(alone["growth"])
    # the fits on all images say whether the width compares (soft fits read wider
    # at one C and narrower at another)
    assert alone["pixels hard"] is True and alone["features hard"] is True
    marked[0]["hard"] = False
    soft = margin_comparison(images, labels, feats, 32, C=100.0, n_draws=4, device="cpu",
                             rows=marked)
    assert soft["pixels hard"] is False
    from rdsc.separation_words import margin_word
    assert margin_word(soft) == "not comparable" and margin_word(alone) != "not comparable"


def test_every_fit_records_whether_the_solver_verified_it(monkeypatch):
    # a ConvergenceWarning shows once per notebook line: chapter 5's hundreds of fits
    # need each fit's own mark, and each comparison the count of those it rests on
    import warnings
    from rdsc import separation
    from rdsc.separation import _over_draws, margin_comparison, margin_rows
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (24, 3, 32, 32), dtype=torch.uint8, generator=gen)
    labels = torch.arange(3).repeat(8)
    feats = FeatureArray(np.random.default_rng(0).integers(-9, 10, (24, 32)), 9)
    rows = margin_rows(images, labels, feats, [8, 32], C=100.0, device="cpu")
    assert all(r["verified"] is True for r in rows)  # every real fit here is verified
    for r in rows:
        r["hard"] = True  # so that the growth, from k = 8, is measured too
    compared = margin_comparison(images, labels, feats, 32, C=100.0, n_draws=4,
                                 device="cpu", rows=rows)
    assert compared["growth from k"] == 8
    assert (compared["unverified fits"], compared["unverified growth fits"],
            compared["unverified half-sample fits"]) == (0, 0, 0)
    # a control is verified only where every draw's fit is
    draw = {"mean margin": 0.1, "min margin": 0.1, "train accuracy": 1.0, "min y·f": 1.0,
            "hard": True, "verified": True}
    assert _over_draws([[draw], [dict(draw, verified=False)]])[0]["verified"] is False
    assert _over_draws([[draw], [draw]])[0]["verified"] is True

    real = separation.margin_svm
    unverified_rows = {12}

    class Unverified:  # the exact solver, unverified on the fits of some row counts
        def __init__(self, C, device=None):
            self.svm = real(C, device)

        def fit(self, X, y):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # the real fit must raise no warning
                self.svm.fit(X, y)
            self.svm.converged_ = len(y) not in unverified_rows
            return self.svm

    monkeypatch.setattr(separation, "margin_svm", Unverified)
    monkeypatch.setattr(separation, "_NOISE_ROWS", {})  # keep no unverified fit cached
    halves = margin_comparison(images, labels, feats, 32, C=100.0, n_draws=4,
                               device="cpu", rows=rows)
    # width: pixels and k = 32 on 4 halves; growth: k = 32 and k = 8 on them
    assert (halves["unverified fits"], halves["unverified growth fits"],
            halves["unverified half-sample fits"]) == (8, 8, 12)
    first = FeatureArray(feats.counts[:12], 9)
    assert [r["verified"] for r in margin_rows(images[:12], labels[:12], first, [8],
                                               C=100.0)] == [False, False]
    # the whole sample's fits: the rows' flags, or the fits made here without rows
    marked = [dict(r) for r in rows]
    marked[0]["verified"] = False  # the pixels: the width's, not the growth's
    unverified_rows.clear()
    whole = margin_comparison(images, labels, feats, 32, C=100.0, n_draws=4, device="cpu",
                              rows=marked)
    assert (whole["unverified fits"], whole["unverified growth fits"]) == (1, 0)
    marked[2]["verified"] = False  # k = 32 unverified: no growth is measured from it
    assert np.isnan(margin_comparison(images, labels, feats, 32, C=100.0, n_draws=4,
                                      device="cpu", rows=marked)["growth from k"])
    unverified_rows.add(24)
    alone = margin_comparison(images, labels, feats, 32, C=100.0, n_draws=4, device="cpu")
    assert (alone["unverified fits"], alone["unverified half-sample fits"]) == (2, 0)
    from rdsc.separation import solver_shortfall  # its own exact fit, unverified here
    assert solver_shortfall(feats, 32, labels, C=100.0, device="cpu")["exact verified"] is False
    with pytest.raises(ValueError, match="'verified' must be True or False"):
        margin_comparison(images, labels, feats, 32, C=100.0, n_draws=4, device="cpu",
                          rows=[dict(r, verified="no") for r in rows])


def _verified_margin_rows():
    """Synthetic margin rows of one dataset where the claim is supported in both halves:
    hard, verified fits, the features' growth beyond every draw of noise and shuffle."""
    def row(space, k, margins):
        return {"dataset": "cifar10", "images": 100, "space": space, "dimension": k,
                "mean margin": float(np.mean(margins)), "min margin": min(margins),
                "train accuracy": 1.0, "min y·f": 1.0, "hard": True, "verified": True,
                "C": 1e6, **({"draw margins": margins} if len(margins) > 1 else {})}
    rows = [row("pixels", 3072, [0.01]), row("features", 10, [0.02]),
            row("features", 20, [0.05]), row("noise", 10, [0.020, 0.021]),
            row("noise", 20, [0.022, 0.023]), row("shuffled labels", 10, [0.020, 0.021]),
            row("shuffled labels", 20, [0.022, 0.023])]
    comparison = {"dataset": "cifar10", "space": "features, k=20", "ratio": 5.0,
                  "median": 5.0, "low": 4.0, "high": 6.0, "above 1": 10, "below 1": 0,
                  "half-samples": 10, "growth from k": 10, "growth": 2.5,
                  "growth median": 2.5, "growth low": 2.0, "growth high": 3.0,
                  "growth above 1": 10, "growth below 1": 0, "soft half-sample fits": 0,
                  "half-sample fits": 20, "unverified fits": 0, "unverified growth fits": 0,
                  "unverified half-sample fits": 0}
    return rows, comparison


def test_a_verdict_that_rests_on_an_unverified_fit_is_withheld():
    # the controls' readings once still judged from unverified fits, while the
    # chapter said such verdicts were withheld
    from rdsc.separation_words import (growth_word, margin_claim, margin_verdict,
                                       margin_word, noise_reading, shuffled_reading,
                                       soft_fits_reading, verification_reading)
    rows, c = _verified_margin_rows()
    assert margin_claim("CIFAR-10", rows, [c])[0] == ["supported", "supported"]
    # the brief line names noise wider than the features beside the width's word (it
    # once read "wider" alone, with noise of as many dimensions wider still)
    assert "width ×5.00 of pixels' (wider)," in margin_claim("CIFAR-10", rows, [c])[2]
    wide_noise = [dict(r, **{"mean margin": 0.06}) if r["space"] == "noise"
                  and r["dimension"] == 20 else r for r in rows]
    assert "width ×5.00 of pixels' (wider; noise of that k wider still)" in margin_claim(
        "CIFAR-10", wide_noise, [c])[2]
    assert "grows faster than every draw of noise" in noise_reading(rows)
    assert "grows faster than every shuffle's" in shuffled_reading(rows)
    assert verification_reading(pd.DataFrame(rows), pd.DataFrame([c])) == (
        "The solver verified every one of these SVM fits at its optimum: the 11 results "
        "behind the margins table (its 7 rows, each control's draws counted) and the 30 "
        "fits on half-samples.")
    # one unverified draw of noise at the largest k: the control no longer judges
    rows[4]["verified"] = False
    verdicts, text, _ = margin_claim("CIFAR-10", rows, [c])
    assert verdicts == ["supported", "not shown"]
    assert "0.0225, not compared (a fit the solver could not verify)" in text
    said = noise_reading(rows)
    assert said.endswith(": not compared, for the solver could not verify its fit of noise "
                         "at k = 20 at the optimum (a margin that may be off).")
    assert verification_reading(pd.DataFrame(rows), pd.DataFrame([c])) == (
        "The solver could not verify every fit at the SVM's optimum, so this margin may "
        "be off: the table's row CIFAR-10: noise at k = 20 (at least one of its draws). "
        "The chapter's readings that rest on it say so instead of judging; none of the "
        "half-sample comparisons rests on it.")
    rows[4]["verified"] = True
    rows[6]["verified"] = False  # a shuffle at the largest k
    verdicts, text, _ = margin_claim("CIFAR-10", rows, [c])
    assert verdicts == ["supported", "not shown"]
    assert "(fewer than two shuffles with hard, verified margins at both k)" in text
    assert shuffled_reading(rows).endswith(
        "At k = 20 the margins are not compared, for the solver could not verify its fit "
        "of the shuffled labels at k = 20 at the optimum (a margin that may be off).")
    rows[6]["verified"] = True
    rows[2]["verified"] = False  # the features at the largest k: neither control judges
    assert "not verified at the optimum" in margin_verdict(rows, c)
    from rdsc.separation_words import fit_label  # the table's cell
    assert (fit_label(rows[2]), fit_label(rows[1])) == ("hard, unverified", "hard")
    from rdsc.separation_words import margin_table
    table = margin_table(pd.DataFrame(rows))
    assert list(table.columns) == ["mean margin", "min margin", "train acc.", "min y·f", "fit"]
    assert table.loc[("cifar10", "features", 20), "fit"] == "hard, unverified"
    assert "The solver could not verify the features' fits at cifar10: k = 20" in (
        soft_fits_reading(pd.DataFrame(rows)))
    assert noise_reading(rows).endswith(
        "not compared, for the solver could not verify its fit of the features at k = 20 "
        "at the optimum (a margin that may be off).")
    assert shuffled_reading(rows).endswith(
        "At k = 20 the margins are not compared, for the solver could not verify its fit "
        "of the true labels at k = 20 at the optimum (a margin that may be off).")
    rows[4]["verified"] = False
    assert noise_reading(rows).endswith(
        "its fits of noise at k = 20 and the features at k = 20 at the optimum (margins "
        "that may be off).")
    assert "these margins may be off: the table's rows CIFAR-10: features at k = 20; " \
           "CIFAR-10: noise at k = 20 (at least one of its draws). The chapter's readings " \
           "that rest on them" in verification_reading(pd.DataFrame(rows), pd.DataFrame([c]))
    rows[2]["verified"] = rows[4]["verified"] = True
    # the growth's start (k = 10) unverified: no control's growth is read from it
    rows[1]["verified"] = False
    assert "grows" not in noise_reading(rows)
    said = shuffled_reading(rows)
    assert "the true labels from k = 20 on (counting only the fits the solver verified)" in said
    assert "grows" not in said
    assert "fewer than two values of k give hard margins" in margin_verdict(rows)
    rows[1]["verified"] = True
    rows[5]["verified"] = False  # a shuffle at the start
    assert "grows" not in shuffled_reading(rows)
    rows[5]["verified"] = True
    # a smaller k's hard fit unverified: the growth from k = 10 says it was set aside
    below = dict(rows[1], dimension=5, verified=False)
    assert ("From k = 10, the smallest k tried whose fit is a hard margin the solver "
            "verified, to k = 20") in margin_verdict(rows + [below], c)
    rows[0]["verified"] = False  # the pixels alone: no control named
    assert "row CIFAR-10: pixels. The chapter's readings that rest on it" in (
        verification_reading(pd.DataFrame(rows), pd.DataFrame([c])))
    rows[0]["verified"] = True
    # fits on half-samples: the growth's alone withholds the growth, not the width
    growth_only = dict(c, **{"unverified growth fits": 2, "unverified half-sample fits": 2})
    assert (margin_word(growth_only), growth_word(growth_only)) == ("wider", "unverified")
    assert "the hard margin is not judged (unverified fits)" in margin_verdict(rows,
                                                                               growth_only)
    assert verification_reading(pd.DataFrame(rows), pd.DataFrame([growth_only])).endswith(
        "be off: 2 of the 30 fits on half-samples. The chapter's readings that rest on them "
        "say so instead of judging (among the half-sample comparisons: the growth with k "
        "on CIFAR-10).")
    width = dict(c, **{"unverified fits": 1})
    assert margin_word(width) == "unverified"
    assert "not judged, for 1 of the SVM fits" in margin_verdict(rows, width)
    verdicts, _, short = margin_claim("CIFAR-10", rows, [width])
    assert verdicts[0] == "not shown"
    assert "(not judged, a fit the solver could not verify)" in short
    for bad in ("2", True, 0.5, -1):
        with pytest.raises(ValueError, match="must be a whole number of at least 0"):
            margin_word(dict(c, **{"unverified fits": bad}))
    # results saved before the flags: not known, and both the chapter and intro say so
    older = [{key: v for key, v in r.items() if key != "verified"} for r in rows]
    assert "saved before" in verification_reading(pd.DataFrame(older), pd.DataFrame([c]))
    verdicts, text, _ = margin_claim("CIFAR-10", older, [c])
    assert verdicts == ["supported", "supported"]  # judged as before, with the caveat
    assert text.endswith("; each fit's verification not recorded (saved before it was)")
    # saved at 161c79a: one count, of the width's and the growth's fits together
    combined = {key: v for key, v in c.items()
                if key not in ("unverified growth fits", "unverified half-sample fits")}
    assert verification_reading(pd.DataFrame(rows), pd.DataFrame([combined])).startswith(
        "The solver verified every one")
    assert "not recorded" not in margin_claim("CIFAR-10", rows, [combined])[1]
    assert growth_word(dict(combined, **{"unverified fits": 2})) == "unverified"
    before = {key: v for key, v in c.items() if not key.startswith("unverified")}
    mixed = pd.DataFrame([c, dict(before, dataset="mini")])  # NaN counts for the older
    assert "saved before" in verification_reading(pd.DataFrame(rows), mixed)


def test_the_margins_figure_rings_a_fit_the_solver_could_not_verify():
    import matplotlib
    matplotlib.use("Agg")
    from rdsc import plots
    rows, _ = _verified_margin_rows()

    def labels(frame):
        fig = plots.margins(frame, ["cifar10"])
        found = [t.get_text() for t in fig.legends[0].get_texts()]
        matplotlib.pyplot.close(fig)
        return found
    assert not any("not verified" in label for label in labels(pd.DataFrame(rows)))
    rows[4]["verified"] = rows[0]["verified"] = False  # noise at k = 20, the pixels
    found = labels(pd.DataFrame(rows))
    assert "fit not verified (margin may be off)" in found
    assert "pixels, fit not verified" in found
    older = pd.DataFrame(rows).drop(columns=["verified"])  # saved before: no ring
    assert not any("not verified" in label for label in labels(older))


def test_growth_starts_at_the_smallest_separating_k_below_a_separating_k():
    from rdsc.separation import smallest_separable_k

    def rows(accuracies):
        return [{"space": "pixels", "dimension": 3072, "train accuracy": 1.0}] + [
            {"space": "features", "dimension": k, "train accuracy": a}
            for k, a in zip([100, 300, 1000, 3000], accuracies)]
    assert smallest_separable_k(rows([0.5, 0.75, 1.0, 1.0]), 3000) == 1000
    assert smallest_separable_k(rows([0.5, 1.0, 1.0, 1.0]), 3000) == 300
    assert smallest_separable_k(rows([0.5, 1.0, 1.0, 1.0]), 1000) == 300
    assert smallest_separable_k(rows([0.5, 0.7, 0.9, 1.0]), 3000) is None
    assert smallest_separable_k(rows([1.0, 1.0, 1.0, 0.99]), 3000) is None  # 3000 soft
    assert smallest_separable_k(rows([1.0, 1.0, 1.0, 1.0]), 100) is None    # nothing below


def test_growth_word_follows_the_rule_of_the_width():
    from rdsc.separation_words import growth_word
    assert growth_word({"growth": 1.3, "growth low": 1.2, "growth high": 1.4}) == "grows"
    assert growth_word({"growth": 0.8, "growth low": 0.7, "growth high": 0.9}) == "shrinks"
    assert growth_word({"growth": 1.1, "growth low": 0.9, "growth high": 1.2}) == "undecided"
    assert growth_word({"growth": float("nan"), "growth low": float("nan"),
                        "growth high": float("nan")}) is None
    assert growth_word({"ratio": 1.6, "low": 1.5, "high": 1.7}) is None  # saved before


def test_half_samples_hold_half_of_every_class_without_repeats():
    from rdsc.separation import _class_halves
    y = np.array([0] * 7 + [1] * 4 + [2] * 10)
    halves = [h.numpy() for h in _class_halves(y, 6, seed=3)]
    assert len(halves) == 6
    for h in halves:  # one size, no image twice: every draw is the same statistic
        assert len(np.unique(h)) == len(h) == 3 + 2 + 5
        assert np.bincount(y[h]).tolist() == [3, 2, 5]
    for first, second in zip(halves[::2], halves[1::2]):  # complementary pairs: disjoint
        assert not set(first) & set(second)
    assert len({tuple(h) for h in halves}) == 6  # the draws differ
    again = [h.numpy() for h in _class_halves(y, 6, seed=3)]
    assert all(np.array_equal(a, b) for a, b in zip(halves, again))  # seeded
    with pytest.raises(ValueError, match="at least two images of every class; classes \\[1\\]"):
        next(_class_halves(np.array([0, 0, 1]), 2, seed=0))
    with pytest.raises(ValueError, match="must be even"):
        next(_class_halves(y, 5, seed=0))


def test_paired_ratio_divides_the_chosen_spaces():
    from rdsc.separation import paired_ratio
    full = np.array([1.0, 4.0, 2.0])
    halves = np.array([[1.0, 6.0, 2.0], [2.0, 8.0, 4.0], [1.0, 3.0, 3.0]])
    growth = paired_ratio(full, halves, 2, 1)  # space 1 over space 2
    assert growth["ratio"] == 2.0 and growth["half-samples"] == 3
    # the half-samples' smallest, median and largest ratio: with this few, a range
    assert (growth["low"], growth["median"], growth["high"]) == (1.0, 2.0, 3.0)
    assert (growth["above 1"], growth["below 1"]) == (2, 0)  # 3, 2 above; 1 on the line
    with pytest.raises(ValueError, match="not a positive finite number"):
        paired_ratio(full, np.array([[1.0, np.nan, 2.0]]), 2, 1)  # a failed fit
    with pytest.raises(ValueError, match="not a positive finite number"):
        paired_ratio(np.array([1.0, 0.0, 2.0]), halves, 2, 1)
    assert growth["widening_a"] == pytest.approx(np.exp(np.log([1.0, 2.0, 1.5]).mean()))
    assert growth["widening_b"] == pytest.approx(np.exp(np.log([1.5, 2.0, 0.75]).mean()))


def test_ratio_verdict_follows_the_paired_interval():
    from rdsc.separation_words import ratio_verdict
    ratios = [{"space": "pixels", "ratio": 1.1}, {"space": "features, k=8", "ratio": 1.3}]
    said = {}
    for low, high in [(0.05, 0.3), (-0.3, -0.05), (-0.1, 0.3)]:
        diff = [{"space": "features, k=8", "features - pixels": 0.2, "low": low, "high": high}]
        said[(low, high)] = ratio_verdict(ratios, diff, "features, k=8")
    assert said[(0.05, 0.3)].startswith("1.100 for pixels and 1.300 for the features")
    assert "higher in the final layer" in said[(0.05, 0.3)]
    assert "lower in the final layer" in said[(-0.3, -0.05)]
    assert "not distinguishable" in said[(-0.1, 0.3)] and "[-0.100, +0.300]" in said[(-0.1, 0.3)]


def test_margin_verdict_reads_width_and_trend_from_the_rows():
    import pandas as pd
    from rdsc.separation_words import margin_verdict

    def rows(margins, accuracies):
        return pd.DataFrame([{"space": "pixels", "dimension": 3072, "mean margin": 0.05,
                              "train accuracy": 1.0}] +
                            [{"space": "features", "dimension": k, "mean margin": m,
                              "train accuracy": a}
                             for k, m, a in zip([64, 16, 256], margins, accuracies)])
    grows = margin_verdict(rows([0.2, 0.1, 0.3], [1.0, 1.0, 1.0]))
    assert "0.3000 at k = 256" in grows and "wider on the features" in grows
    assert "grows over the k with hard margins (k = 16: 0.1000, k = 64: 0.2000, k = 256: 0.3000; " \
           "a direction, without an interval)" in grows
    assert "does not grow steadily" in margin_verdict(rows([0.2, 0.3, 0.04], [1.0, 1.0, 1.0]))
    assert "narrower" in margin_verdict(rows([0.2, 0.3, 0.04], [1.0, 1.0, 1.0]))
    assert "cannot be judged" in margin_verdict(rows([0.2, 0.1, 0.3], [0.9, 1.0, 0.8]))
    # with half-samples, "wider" needs the sample and every half-sample: the direction is not enough
    top_wider = rows([0.2, 0.1, 0.3], [1.0, 1.0, 1.0])
    fragile = {"ratio": 1.03, "low": 0.91, "high": 0.95, "half-samples": 10}
    said = margin_verdict(top_wider, fragile)
    assert "undecided between the two (features over pixels 1.03 on the sample, 0.91 to " \
           "0.95 over 10 half-samples)" in said
    assert "wider" not in said
    assert "narrower on the features" in margin_verdict(
        top_wider, {"ratio": 0.5, "low": 0.4, "high": 0.7, "half-samples": 10})
    # with a measured growth, the trend is judged on the half-samples, not by its direction
    measured = {"ratio": 1.6, "low": 1.5, "high": 1.7, "half-samples": 10, "growth from k": 16,
                "growth": 3.0, "growth low": 0.9, "growth high": 3.2}
    said = margin_verdict(top_wider, measured)
    assert ("From k = 16, the smallest k tried whose fit is a hard margin, to "
            "k = 256 the hard margin is undecided between growing and shrinking (the margin "
            "at k = 256 over that at k = 16: 3.00 on the sample, 0.90 to 3.20 over 10 "
            "half-samples; margins over the hard k: k = 16: 0.1000, k = 64: 0.2000, "
            "k = 256: 0.3000)") in said
    assert "a direction" not in said
    measured.update({"growth low": 2.5})
    assert "to k = 256 the hard margin grows (" in margin_verdict(top_wider, measured)
    measured.update({"growth": 0.5, "growth low": 0.4, "growth high": 0.6})
    assert "to k = 256 the hard margin shrinks (" in margin_verdict(top_wider, measured)


def test_margin_word_needs_the_sample_and_its_half_samples_on_one_side():
    from rdsc.separation_words import margin_word
    assert margin_word({"ratio": 1.6, "low": 1.5, "high": 1.7}) == "wider"
    assert margin_word({"ratio": 0.8, "low": 0.7, "high": 0.9}) == "narrower"
    assert margin_word({"ratio": 1.03, "low": 0.91, "high": 0.95}) == "undecided"
    assert margin_word({"ratio": 1.1, "low": 0.95, "high": 1.2}) == "undecided"
    assert margin_word({"ratio": 1.0, "low": 1.0, "high": 1.0}) == "undecided"
    # with the half-samples' counts: a fixed share, however many draws (not "every one")
    def counted(ratio, above, below, n=10):
        return margin_word({"ratio": ratio, "low": 0.5, "high": 2.0, "half-samples": n,
                            "above 1": above, "below 1": below})
    assert counted(1.6, 9, 1) == "wider" and counted(1.6, 8, 2) == "undecided"
    assert counted(1.6, 45, 5, n=50) == "wider" and counted(1.6, 44, 6, n=50) == "undecided"
    assert counted(0.8, 1, 9) == "narrower" and counted(0.8, 9, 1) == "undecided"
    # 4 of 4 half-samples (two complementary pairs; 1 in 16 by chance) once read
    # "narrower": at least 6 are needed for a direction
    assert counted(1.6, 4, 0, n=4) == "undecided" and counted(0.8, 0, 4, n=4) == "undecided"
    assert counted(1.6, 6, 0, n=6) == "wider" and counted(1.6, 5, 1, n=6) == "undecided"
    from rdsc.separation_words import margin_verdict
    rows = [{"space": "pixels", "dimension": 3072, "mean margin": 0.02, "train accuracy": 1.0},
            {"space": "features", "dimension": 64, "mean margin": 0.01, "train accuracy": 1.0}]
    few = {"space": "features, k=64", "ratio": 0.5, "low": 0.4, "high": 0.6, "median": 0.5,
           "half-samples": 4, "above 1": 0, "below 1": 4}
    assert ("undecided between the two (features over pixels 0.50 on the sample, below 1 on "
            "4 of 4 half-samples (median 0.50, range 0.40 to 0.60); 4 half-samples are too "
            "few for a direction (at least 6))") in margin_verdict(rows, few)


def test_gram_rows_keep_inner_products_and_svm_margins():
    from rdsc.separation import gram_rows
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 10)
    X = unit_scale(rng.normal(size=(30, 500)) + 0.3 * y[:, None] * rng.normal(size=500))
    Z = gram_rows(X, block=128)  # more columns than rows: 30 columns instead of 500
    assert Z.shape == (30, 30)
    np.testing.assert_allclose(Z @ Z.T, X @ X.T, atol=1e-4)
    on_x, on_z = (LinearSVM(C=100.0, device="cpu").fit(M, y) for M in (X, Z))
    np.testing.assert_allclose(svm_margins(on_z), svm_margins(on_x), rtol=2e-3)
    np.testing.assert_allclose(on_z.decision_function(Z), on_x.decision_function(X), atol=2e-3)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        gram_rows(X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        unit_scale(X)
    with pytest.raises(ValueError, match="all reference rows are identical"):
        unit_scale(np.ones((6, 10)))
    tall = rng.normal(size=(50, 8)).astype(np.float32)
    assert gram_rows(tall) is tall or np.array_equal(gram_rows(tall), tall)  # nothing to gain


def test_margin_ratio_interval_sees_a_wider_band_and_no_difference_in_a_copy():
    from rdsc.separation import margin_ratio
    from rdsc.separation_words import margin_word
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 40)
    noise = 0.3 * rng.normal(size=(80, 5))
    A = noise.copy()
    A[:, 0] += np.where(y == 1, 1.0, -1.0)          # classes 2 apart along the first axis,
    B = A.copy()
    B[:, 0] += np.where(y == 1, 4.0, -4.0)          # 10 apart: a wider band for its spread
    A, B = unit_scale(A), unit_scale(B)
    wider = margin_ratio(A, B, y, C=100.0, n_draws=6, device="cpu")
    assert wider["half-samples"] == 6 and wider["low"] <= wider["high"]
    assert wider["ratio"] > 1 and wider["low"] > 1 and margin_word(wider) == "wider"
    same = margin_ratio(A, A, y, C=100.0, n_draws=4, device="cpu")
    assert (same["ratio"], same["low"], same["high"]) == pytest.approx((1.0, 1.0, 1.0))
    assert margin_word(same) == "undecided"
    assert same["widening_a"] == pytest.approx(same["widening_b"])
    narrower = margin_ratio(B, A, y, C=100.0, n_draws=6, device="cpu")
    assert narrower["high"] < 1 and margin_word(narrower) == "narrower"
    with pytest.raises(ValueError, match="n_draws must be a whole number of at least 2"):
        margin_ratio(A, B, y, C=100.0, n_draws=1)


def test_margin_ratio_reads_the_range_and_widening_from_the_half_samples(monkeypatch):
    import rdsc.classify
    import rdsc.separation as sep
    margins = iter([1.0, 2.0] + [v for b in range(1, 11) for v in (1.0, float(b))])

    class Fitted:  # each fit takes the next margin of the list: A, B, A, B, ...
        def __init__(self, **_):
            pass

        def fit(self, X, y):
            self.margin = next(margins)
            return self
    monkeypatch.setattr(rdsc.classify, "LinearSVM", Fitted)
    monkeypatch.setattr(sep, "svm_margins", lambda svm: np.array([svm.margin]))
    y = np.repeat([0, 1], 5)
    X = np.zeros((10, 2))
    got = sep.margin_ratio(X, X, y, C=1.0, n_draws=10)
    # the sample: 2 / 1; the half-samples: B over A = 1, 2, ..., 10
    assert got["ratio"] == 2.0 and got["half-samples"] == 10
    assert (got["low"], got["median"], got["high"]) == (1.0, 5.5, 10.0)
    assert got["widening_a"] == pytest.approx(1.0)
    assert got["widening_b"] == pytest.approx(np.exp(np.log(np.arange(1, 11) / 2.0).mean()))
    # margins on all images, when given, are not fitted again
    margins = iter([v for b in range(1, 3) for v in (1.0, float(b))])
    assert sep.margin_ratio(X, X, y, C=1.0, n_draws=2, full=(4.0, 1.0))["ratio"] == 0.25


def test_margin_verdict_says_times_not_widens_for_a_soft_margin():
    from rdsc.separation_words import margin_verdict
    rows = [{"space": "pixels", "dimension": 3072, "mean margin": 0.05, "train accuracy": 0.9},
            {"space": "features", "dimension": 256, "mean margin": 0.08, "train accuracy": 0.8}]
    said = margin_verdict(rows, {"ratio": 1.6, "low": 1.5, "high": 1.7, "half-samples": 10,
                                 "pixels widen": 0.82, "features widen": 0.93,
                                 "soft half-sample fits": 3, "half-sample fits": 20})
    assert "; 3 of the 20 half-sample fits soft)" in said
    assert ("on which a mean margin is on average 0.82 times its value on the whole sample for "
            "pixels and 0.93 times for the features") in said


def test_noise_margin_rows_fit_nested_gaussian_columns_with_the_same_labels():
    from rdsc.separation import gram_rows, noise_margin_rows
    y = np.repeat(np.arange(3), 10)
    rows = noise_margin_rows(y, [8, 64], C=100.0, seed=5, device="cpu")
    assert [(r["space"], r["dimension"]) for r in rows] == [("noise", 8), ("noise", 64)]
    assert rows[1]["train accuracy"] == 1.0  # 30 points in 64 dimensions: always separable
    noise = np.random.default_rng(5).standard_normal((30, 64), dtype=np.float32)
    for row, k in zip(rows, (8, 64)):  # the first k columns of one draw
        svm = LinearSVM(C=100.0, device="cpu").fit(gram_rows(unit_scale(noise[:, :k])), y)
        assert row["mean margin"] == pytest.approx(float(svm_margins(svm).mean()), rel=1e-5)
    assert noise_margin_rows(y, [8, 64], C=100.0, seed=6, device="cpu") != rows
    # a second call with the same labels returns the first's rows (fitted once), as copies
    again = noise_margin_rows(y.copy(), [8, 64], C=100.0, seed=5, device="cpu")
    assert again == rows and again[0] is not rows[0]
    again[0]["mean margin"] = -1.0
    assert noise_margin_rows(y, [8, 64], C=100.0, seed=5, device="cpu") == rows
    # other labels, other fits
    other = noise_margin_rows(np.roll(y, 1), [8, 64], C=100.0, seed=5, device="cpu")
    assert other[0]["mean margin"] != rows[0]["mean margin"]


def test_a_hard_margin_is_read_from_the_fit_not_from_the_training_accuracy():
    """Accuracy 1 once marked a row "separable" and its 1/|w| a hard margin, though at
    C = 100 one-vs-rest hyperplanes left images inside their bands, or on the wrong side."""
    from rdsc.separation import HARD_FIT, is_hard, smallest_fit
    gen = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 20)
    X = gen.standard_normal((60, 40)) + 3 * np.eye(40)[y]    # separable: 60 points, 40 dims
    X = unit_scale(X.astype(np.float32))
    Y = np.where(y[:, None] == np.arange(3)[None, :], 1.0, -1.0)
    fits = {}
    for C in (0.01, 1e4):
        svm = LinearSVM(C=C, device="cpu").fit(X, y)
        fits[C] = smallest_fit(svm, X, y)
        assert fits[C] == pytest.approx(float((Y * svm.decision_function(X)).min()))
    assert fits[0.01] < HARD_FIT <= fits[1e4] <= 1.0 + 1e-3   # soft at small C, hard at large
    assert is_hard({"hard": True, "train accuracy": 0.5})
    assert not is_hard({"hard": False, "train accuracy": 1.0})
    assert is_hard({"train accuracy": 1.0}) and not is_hard({"train accuracy": 0.99})  # old


def test_noise_reading_compares_the_control_at_the_same_k():
    from rdsc.separation_words import noise_reading

    def rows(features, noise, f_acc=(1.0, 1.0), n_acc=(1.0, 1.0)):
        out = [{"space": "pixels", "dimension": 3072, "mean margin": 0.008,
                "train accuracy": 0.99}]
        for space, margins, accs in (("features", features, f_acc), ("noise", noise, n_acc)):
            out += [{"space": space, "dimension": k, "mean margin": m, "train accuracy": a,
                     "hard": a == 1.0} for k, m, a in zip((1000, 3000), margins, accs)]
        return out
    said = noise_reading(rows((0.0097, 0.0130), (0.0160, 0.0284)))
    assert said.startswith("Gaussian noise of the same k = 3,000 dimensions")
    assert ("(training accuracy 1.000) with a mean margin of 0.0284, against 0.0130 for the "
            "features and 0.0080 for pixels: wider than the features' margin.") in said
    assert ("From k = 1,000 to k = 3,000, where both fits are hard margins, noise's "
            "margin changes by ×1.78 and the features' by ×1.34 on this sample: noise's "
            "grows as much or more") in said
    said = noise_reading(rows((0.0097, 0.0130), (0.0110, 0.0120)))
    assert "0.0120, against 0.0130 for the features" in said and ": narrower, so" in said
    assert "the features' margin grows faster than noise's (one draw" in said
    said = noise_reading(rows((0.0097, 0.0130), (0.02, 0.03), n_acc=(0.9, 0.95)))
    assert "noise gets no hard margin where the features do" in said
    assert "From k" not in said  # no hard noise margins to compare growth
    assert "does not grow between them" in noise_reading(rows((0.02, 0.013), (0.02, 0.03)))
    assert noise_reading(rows((0.0097, 0.0130), ())) == ""
    # noise separates where the features do not: the hard margin against a soft one was
    # once read as "the features' margin is wider than the number of dimensions gives"
    said = noise_reading(rows((0.02, 0.03), (0.01, 0.02), f_acc=(0.9, 0.8)))
    assert "noise gets a hard margin where the features do not" in said and "narrower" not in said
    said = noise_reading(rows((0.02, 0.03), (0.01, 0.02), f_acc=(0.9, 0.8), n_acc=(0.9, 0.9)))
    assert "neither fit is a hard margin" in said and "narrower" not in said
    with pytest.raises(ValueError, match="no k = 3,000"):
        noise_reading([r for r in rows((0.01, 0.02), (0.01, 0.02))
                       if not (r["space"] == "noise" and r["dimension"] == 3000)])


def test_noise_draws_give_the_control_a_spread():
    """One draw of noise once decided "as much or more" on ×1.30 against ×1.29."""
    from rdsc.separation import noise_margin_rows
    from rdsc.separation_words import noise_reading
    y = np.repeat(np.arange(3), 10)
    one = noise_margin_rows(y, [8, 64], C=100.0, seed=5, device="cpu")
    three = noise_margin_rows(y, [8, 64], C=100.0, seed=5, device="cpu", draws=3)
    assert [r["draw margins"][0] for r in three] == [r["mean margin"] for r in one]
    for row in three:  # the first draw is the one-draw control; the mean is over draws
        assert len(set(row["draw margins"])) == 3
        assert row["mean margin"] == pytest.approx(np.mean(row["draw margins"]))
    with pytest.raises(ValueError, match="draws must be a whole number"):
        noise_margin_rows(y, [8, 64], C=100.0, draws=0)

    def rows(g_feat, noise_draws):
        out = [{"space": "pixels", "dimension": 3072, "mean margin": 0.008, "hard": True,
                "train accuracy": 1.0, "min y·f": 0.99}]
        out += [{"space": "features", "dimension": k, "mean margin": m, "hard": True,
                 "train accuracy": 1.0, "min y·f": 0.99}
                for k, m in ((1000, 0.01), (3000, 0.01 * g_feat))]
        out += [{"space": "noise", "dimension": k, "mean margin": float(np.mean(ms)),
                 "draw margins": ms, "hard": True, "train accuracy": 1.0, "min y·f": 0.99}
                for k, ms in ((1000, [0.02] * 3),
                              (3000, [0.02 * g for g in noise_draws]))]
        return out
    said = noise_reading(rows(1.62, [1.50, 1.56, 1.58]))
    assert "(its 3 draws: ×1.50 to ×1.58)" in said
    assert said.endswith("the features' margin grows faster than every draw of noise.")
    assert "within the range of the noise draws" in noise_reading(rows(1.55, [1.5, 1.56, 1.6]))
    assert "every draw of noise grows more" in noise_reading(rows(1.33, [1.5, 1.56, 1.6]))


def test_margin_sentences_refuse_rows_and_comparisons_that_do_not_belong_together():
    from rdsc.separation import smallest_separable_k
    from rdsc.separation_words import margin_verdict
    rows = [{"space": "pixels", "dimension": 3072, "mean margin": 0.01, "train accuracy": 1.0},
            {"space": "features", "dimension": 64, "mean margin": 0.02, "train accuracy": 1.0},
            {"space": "features", "dimension": 256, "mean margin": 0.03, "train accuracy": 1.0}]
    compared = {"space": "features, k=256", "ratio": 3.0, "low": 2.5, "high": 3.5,
                "half-samples": 3, "growth from k": 64, "growth": 1.5, "growth low": 1.2,
                "growth high": 1.6}
    assert "to k = 256 the hard margin grows" in margin_verdict(rows, compared)
    with pytest.raises(ValueError, match="largest k is 256"):  # reported as if at k = 256
        margin_verdict(rows, {**compared, "space": "features, k=64"})
    with pytest.raises(ValueError, match="not the k it starts from"):
        margin_verdict(rows, {**compared, "growth from k": float("nan")})
    mixed = [{**r, "dataset": "a"} for r in rows] + [{**rows[0], "dataset": "b"}]
    with pytest.raises(ValueError, match="mix datasets"):
        margin_verdict(mixed)
    with pytest.raises(ValueError, match="repeat a"):
        smallest_separable_k(rows + rows[1:2], 256)
    with pytest.raises(ValueError, match="k must be a whole number"):
        smallest_separable_k(rows, "256")
    with pytest.raises(ValueError, match="a pixels row and at least one features row"):
        margin_verdict(rows[1:])


def test_margin_comparison_refuses_rows_of_another_c_or_without_its_k():
    from rdsc.separation import margin_comparison, margin_rows
    gen = torch.Generator().manual_seed(3)
    images = torch.randint(0, 256, (24, 3, 8, 8), generator=gen, dtype=torch.uint8)
    y = np.repeat(np.arange(3), 8)
    feats = FeatureArray(np.random.default_rng(0).integers(-50, 50, (24, 32)).astype(np.int16),
                         50)
    rows = margin_rows(images, y, feats, [8, 32], C=100.0, device="cpu")
    assert {r["C"] for r in rows} == {100.0}
    # rows of another sample of the same size were used (0.729 for 0.796)
    other = torch.randint(0, 256, (24, 3, 8, 8), generator=gen, dtype=torch.uint8)
    with pytest.raises(ValueError, match="margin_rows of another sample"):
        margin_comparison(other, y, feats, 32, C=100.0, n_draws=2, device="cpu", rows=rows)
    with pytest.raises(ValueError, match="margin_rows of another sample"):
        margin_comparison(images, y[::-1].copy(), feats, 32, C=100.0, n_draws=2,
                          device="cpu", rows=rows)
    with pytest.raises(ValueError, match="fitted with C = \\[100.0\\], not C = 0.005"):
        margin_comparison(images, y, feats, 32, C=0.005, n_draws=2, device="cpu", rows=rows)
    with pytest.raises(ValueError, match="no margin for \\[\\('features', 16\\)\\]"):
        margin_comparison(images, y, feats, 16, C=100.0, n_draws=2, device="cpu", rows=rows)
    # match="k" matched nearly any message; each case has its own
    for bad, message in (([8, -4], "each k must be a whole number of at least 1, got -4"),
                         ([8, 8], "non-empty list of distinct k, got \\[8, 8\\]"),
                         ([], "non-empty list of distinct k, got \\[\\]"),
                         ([8, 64], "k = 64 is more than the 32 features given")):
        with pytest.raises(ValueError, match=message):
            margin_rows(images, y, feats, bad, C=100.0, device="cpu")


def test_half_sample_margins_and_paired_ratio_refuse_mismatched_inputs():
    from rdsc.separation import noise_margin_rows, paired_ratio, half_sample_margins
    gen = np.random.default_rng(0)
    A, B = gen.standard_normal((30, 4)), gen.standard_normal((40, 4))
    y = np.repeat(np.arange(3), 10)
    with pytest.raises(ValueError, match="one row per label \\(30\\), got \\[30, 40\\]"):
        half_sample_margins([A, B], y, C=10.0, n_draws=2)
    with pytest.raises(ValueError, match="full holds 3 margins for 2 spaces"):
        half_sample_margins([A, A], y, C=10.0, n_draws=2, full=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="half-samples x spaces"):
        paired_ratio([1.0, 2.0], np.zeros((0, 2)))
    assert paired_ratio([1.0, 2.0], [[1.0, 3.0], [1.0, 2.0]])["ratio"] == 2.0  # lists work
    with pytest.raises(ValueError, match="each k must be a whole number of at least 1"):
        noise_margin_rows(y, [8, -4], C=10.0)


def test_training_accuracy_fits_the_first_k_raw_features():
    from rdsc.separation import training_accuracy
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    counts = rng.integers(-20, 20, (40, 6)).astype(np.int16)
    counts[:, 0] = np.where(y == 1, 30, -30)  # the first feature alone separates
    feats = FeatureArray(counts, 50)
    assert training_accuracy(feats, 1, y, C=100.0, device="cpu") == 1.0
    shuffled = FeatureArray(counts[:, 1:].copy(), 50)  # no information, few features
    manual = LinearSVM(C=100.0, device="cpu").fit(shuffled.columns(2)[:], y)
    assert training_accuracy(shuffled, 2, y, C=100.0, device="cpu") == pytest.approx(
        float((manual.predict(shuffled.columns(2)[:]) == y).mean()))
    assert training_accuracy(shuffled, 2, y, C=100.0, device="cpu") < 1.0


def test_shuffled_labels_keep_the_features_and_the_class_counts():
    from rdsc.separation import _unit_features, margin_rows, margin_svm, permuted_label_rows
    from rdsc.separation_words import shuffled_reading
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 12)
    counts = rng.integers(-40, 40, (36, 64)).astype(np.int16)
    counts[:, :3] += (np.eye(3, dtype=np.int16)[y] * 150)  # three class features
    feats = FeatureArray(counts, 500)
    rows = permuted_label_rows(feats, y, [4, 64], C=1e4, seed=1, device="cpu", draws=2)
    assert [(r["space"], r["dimension"]) for r in rows] == [("shuffled labels", 4),
                                                            ("shuffled labels", 64)]
    # each draw: the same features, labels shuffled with their counts kept
    gen = np.random.default_rng([1, 7919])
    shuffles = [gen.permutation(y) for _ in range(2)]
    assert all(np.bincount(s).tolist() == [12, 12, 12] for s in shuffles)
    for k, row in zip((4, 64), rows):
        fits = [svm_margins(margin_svm(1e4, "cpu").fit(_unit_features(feats, k), s))
                .mean() for s in shuffles]
        assert row["draw margins"] == pytest.approx(fits, rel=1e-5)
        assert row["mean margin"] == pytest.approx(np.mean(fits), rel=1e-5)
    assert rows[1]["hard"]            # 36 points in 64 dimensions: any labels split
    assert not rows[0]["hard"]        # 4 features cannot split shuffled labels
    pixels = torch.randint(0, 256, (36, 3, 4, 4), generator=torch.Generator().manual_seed(0),
                           dtype=torch.uint8)
    true = margin_rows(pixels, y, feats, [4, 64], C=1e4, device="cpu")
    said = shuffled_reading(true + rows)
    assert "the same features give a hard margin from k = 64 on, the true labels from " \
           "k = 4 on" in said
    assert "The margin is wider with the true labels" in said  # the class features
    # a few shuffles rank the true labels first by chance often: an indication, not a test
    n = len(rows[1]["draw margins"])
    assert n < 19 and f"probability {1 / (n + 1):.2f}: an indication" in said
    assert "so part of the margin is the classes' structure" not in said
    true[2]["mean margin"] = min(rows[1]["draw margins"]) / 2  # pretend: narrower
    assert "narrower with the true labels" in shuffled_reading(true + rows)
    true[2]["mean margin"] = float(np.mean(rows[1]["draw margins"]))
    assert "lies within the shuffles'" in shuffled_reading(true + rows)
    assert "From k" not in shuffled_reading(true + rows)  # no two hard k for the shuffles
    # the growth with k, where the shuffles are hard at both ends too
    grown = [dict(r) for r in rows]
    grown[0].update({"hard": True, "draw margins": [r / 4 for r in rows[1]["draw margins"]],
                     "mean margin": rows[1]["mean margin"] / 4})
    true[1]["mean margin"] = true[2]["mean margin"] / 2  # the true labels: x2
    said = shuffled_reading(true + grown)
    assert ("From k = 4 to k = 64 the shuffled labels' margin grows ×4.00 (shuffles ×4.00) "
            "and the true labels' ×2.00: every shuffle's margin grows more") in said
    assert shuffled_reading(true) == ""


def test_growth_start_reads_numpy_bools_and_refuses_unmeasured_flags():
    """``r.get("hard") is True`` once read a NumPy True as not hard: the noise then never
    qualified, and the growth went unmeasured without a word."""
    from rdsc.separation import measured_hard, smallest_separable_k
    rows = [{"space": "pixels", "dimension": 3072, "mean margin": 0.01, "hard": np.True_}]
    rows += [{"space": space, "dimension": k, "mean margin": 0.02, "hard": np.True_}
             for space in ("features", "noise") for k in (1000, 3000)]
    assert smallest_separable_k(rows, 3000) == 1000
    assert [measured_hard({"hard": v}) for v in (np.True_, True, np.False_, None,
                                                 float("nan"))] == [True, True, False,
                                                                    False, False]
    assert not measured_hard({})  # saved before the flag: does not count
    from rdsc.separation import is_hard  # a NaN flag (a DataFrame gap) falls back too
    assert not is_hard({"hard": float("nan"), "train accuracy": 0.9})


def test_distances_refuse_values_they_would_cut_to_integers():
    # [0, 1] pixels became 0/1 and float features -1/0/1 (ratios 1.010 and
    # 1.016 instead of 1.095 and 1.064); 50 labels for 100 images used the first 50 rows
    from rdsc.separation import feature_distances, pixel_distances, separation_ratio
    images = torch.randint(0, 256, (6, 3, 4, 4), generator=torch.Generator().manual_seed(0),
                           dtype=torch.uint8)
    D = pixel_distances(images)
    with pytest.raises(ValueError, match="uint8"):
        pixel_distances(images.float() / 255)
    counts = np.random.default_rng(0).integers(-9, 10, (6, 5)).astype(np.int16)
    assert feature_distances(counts, 9).shape == (6, 6)
    with pytest.raises(ValueError, match="integer counts"):
        feature_distances(counts / 9, 9)
    labels = np.arange(6) % 2
    assert separation_ratio(D, labels) > 0
    with pytest.raises(ValueError, match="N x N distance matrix and N labels"):
        separation_ratio(D, labels[:4])


def test_separable_by_count_and_soft_fits_name_the_rows_they_read():
    from rdsc.separation_words import separable_by_count, soft_fits_reading
    rows = pd.DataFrame([
        {"dataset": "cifar10", "space": "pixels", "images": 500, "dimension": 3072,
         "hard": True, "min y·f": 1.0},
        {"dataset": "cifar10", "space": "features", "images": 500, "dimension": 256,
         "hard": False, "min y·f": -0.4},
        {"dataset": "cifar10", "space": "features", "images": 500, "dimension": 4096,
         "hard": True, "min y·f": 1.0},
        {"dataset": "cifar10", "space": "noise", "images": 500, "dimension": 4096,
         "hard": True, "min y·f": 1.0}])
    # pixels and the largest k: at most dimensions + 1 images; noise is not a representation
    assert separable_by_count(rows, "0.005").endswith(
        "the SVM with C = 0.005 stopped short of the hard margin): cifar10 pixels (500 "
        "images, 3,072 dimensions); cifar10 features (500 images, 4,096 dimensions).")
    assert separable_by_count(rows.assign(images=5000), "1").startswith(
        "Every row here has more training images than dimensions plus one")
    assert soft_fits_reading(rows) == (
        "Some k give only a soft margin (cifar10: k = 256): it reflects the training "
        "errors it accepts, so compare margins where the fit is hard.")
    assert soft_fits_reading(rows[rows.dimension != 256]) == (
        "Every k here gives a hard margin (min y·f at least 1.00), so all the feature "
        "margins compare.")


def test_inputs_that_bent_the_ratio_or_failed_late_are_named():
    # repeated images raised the ratio (1.095 -> 1.156) silently; N x 1
    # labels failed in torch; n_boot 0 failed in numpy and 1 gave an interval without its
    # estimate; ratio_rows with a repeated k gave two identical rows
    import warnings
    from rdsc.separation import pixel_distances, ratio_rows
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (12, 3, 8, 8), generator=gen, dtype=torch.uint8)
    y = np.arange(12) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        D = pixel_distances(x)
    with pytest.warns(UserWarning, match="12 of 24 images repeat another"):
        pixel_distances(torch.cat([x, x]))
    assert separation_ratio(D, y[:, None]) == separation_ratio(D, y)
    for n_boot in (0, 1):
        with pytest.raises(ValueError, match="n_boot must be a whole number of at least 2"):
            bootstrap_ratio(D, y, n_boot=n_boot)
        with pytest.raises(ValueError, match="n_boot must be a whole number of at least 2"):
            bootstrap_ratio_difference(D, D, y, n_boot=n_boot)
    feats = FeatureArray(np.random.default_rng(0).integers(-9, 9, (12, 8)).astype(np.int16), 9)
    with pytest.raises(ValueError, match="distinct k"):
        ratio_rows(x, y, feats, [4, 4], n_boot=5)
    # every within-class distance 0 once gave inf; a class-level bootstrap of classes of two
    # said "need at least two images of one class", of data that has them
    twins = torch.tensor([[0.0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]])
    with pytest.raises(ValueError, match="every within-class distance is 0"):
        separation_ratio(twins, [0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"drew no two different images of any class "
                                         r"\(classes of \[2\] images\)"):
        bootstrap_ratio(D[:6, :6], [0, 0, 1, 1, 2, 2], n_boot=200)


def test_separable_by_count_reads_feature_rows_at_their_boundaries():
    from rdsc.separation_words import separable_by_count, soft_fits_reading
    rows = pd.DataFrame([
        {"dataset": "d", "space": "pixels", "images": 100, "dimension": 50, "hard": False,
         "min y·f": -0.2},  # not a feature row: says nothing about the features
        {"dataset": "d", "space": "features", "images": 257, "dimension": 256, "hard": True,
         "min y·f": 1.5},
        {"dataset": "d", "space": "features", "images": 258, "dimension": 256, "hard": True,
         "min y·f": 1.0},  # exactly 1: still a hard margin
    ])
    assert separable_by_count(rows, "1").endswith(": d features (257 images, 256 dimensions).")
    assert soft_fits_reading(rows) == ("Every k here gives a hard margin (min y·f at least "
                                       "1.00), so all the feature margins compare.")


def test_per_dataset_writes_a_sentence_for_each_dataset_run():
    # the prose named cifar10 and miniimagenet10 whatever the run was given
    from rdsc.separation_words import per_dataset
    assert per_dataset({"cifar10": "1.10", "stl10": "1.20"}, "On {name} the ratio is {text}.") \
        == "On CIFAR-10 the ratio is 1.10. On STL-10 the ratio is 1.20."
    assert per_dataset({"miniimagenet10": "wider."}, "On {name}: {text}") == \
        "On `miniimagenet10`: wider."


def test_dataset_words_list_the_datasets_run():
    from rdsc.separation_words import dataset_words
    assert dataset_words(["cifar10"]) == "CIFAR-10"
    assert dataset_words(["cifar10", "miniimagenet10"]) == "CIFAR-10 and `miniimagenet10`"
    assert dataset_words(["mnist", "stl10", "cifar100"]) == "MNIST, STL-10 and CIFAR-100"


def test_probe_z2_n_by_1_labels_give_the_same_intervals_and_odd_rows_are_refused():
    from rdsc import separation as S
    from rdsc import separation_words as SW
    gen = torch.Generator().manual_seed(0)
    D = torch.rand(30, 30, generator=gen)
    D = (D + D.T) / 2
    labels = np.arange(30) % 3
    # N x 1 labels filled the resamples with image 0 (the interval, not the estimate, moved)
    assert S.bootstrap_ratio(D, labels[:, None], n_boot=50) == S.bootstrap_ratio(
        D, labels, n_boot=50)
    with pytest.raises(ValueError, match="class indices"):  # each NaN its own class
        S.separation_ratio(D, np.r_[labels[:-1], np.nan])
    rows = [{"dataset": "a", "space": "pixels", "ratio": 1.0},
            {"dataset": "a", "space": "f", "ratio": 1.1},
            {"dataset": "b", "space": "pixels", "ratio": 2.0}]
    diffs = [{"dataset": "a", "space": "f", "features - pixels": 0.1, "low": 0.05,
              "high": 0.2}]
    with pytest.raises(ValueError, match="one dataset"):
        SW.ratio_verdict(rows, diffs, "f")
    with pytest.raises(ValueError, match="no pixel ratio"):
        SW.ratio_verdict(rows[:2], diffs, "g")
    with pytest.raises(ValueError, match="finite interval"):
        SW.ratio_verdict(rows[:2], [dict(diffs[0], low=float("nan"))], "f")
    with pytest.raises(ValueError, match="True or False"):
        S.is_hard({"hard": "False", "train accuracy": 1.0})
    with pytest.raises(ValueError, match="list of names"):
        SW.dataset_words("cifar10")


def test_probe_z2_k_as_text_and_a_k_from_at_the_top_are_refused():
    from rdsc import separation as S
    rows = [{"dataset": "d", "space": "pixels", "dimension": 3072, "mean margin": 1.0},
            {"dataset": "d", "space": "features", "dimension": "256", "mean margin": 2.0},
            {"dataset": "d", "space": "features", "dimension": "1000", "mean margin": 1.5}]
    with pytest.raises(ValueError, match="must be numbers"):  # "256" > "1000" as text
        S.largest_k_against_pixels(rows)
    rows = [dict(r, dimension=int(r["dimension"])) for r in rows]
    with pytest.raises(ValueError, match="must lie below the largest k"):
        S.growth_against_noise(rows, k_from=1000)


def test_margins_use_the_exact_solver_and_the_shortfall_is_measured():
    """At chapter 5's C = 1e6 the float32 Newton-CG solver stopped far from the optimum
    (23% narrow on the quick run's noise control); margin rows now come from the exact
    solver, and solver_shortfall measures the gap the chapter reports."""
    from rdsc.separation import margin_svm, noise_margin_rows, solver_shortfall
    from rdsc.separation_words import shortfall_words
    assert margin_svm(1e6).solver == "exact"
    gen = np.random.default_rng(5)
    counts = gen.integers(0, 50, size=(120, 400)).astype(np.uint16)
    feats = FeatureArray(counts, 49)
    y = np.arange(120) % 4
    rows = noise_margin_rows(y, [64, 300], C=1e6, seed=2, device="cpu")
    assert all(row["min y·f"] > 0.999 for row in rows)  # hard, as the exact optimum is
    short = solver_shortfall(feats, 400, y, C=1e6, device="cpu")
    assert short["exact"] > short["newton-cg"] > 0 and short["narrower"] > 0.001
    assert short["narrower"] == pytest.approx(1 - short["newton-cg"] / short["exact"])
    given = solver_shortfall(feats, 400, y, C=1e6, device="cpu", exact=short["exact"])
    assert given == short  # the row's margin, given, is the one it fits
    words = shortfall_words(short, "cifar10")
    assert words.startswith("on CIFAR-10's first 400 features it ended after ")
    # over the features and their copies at float32 rounding (on this test's data, every
    # fit stops short; how far differs between CPUs: one value on one, 0.5% to 3.9% on
    # another), the words give each end as measured
    low, high = short["narrower range"]
    assert 0 < low <= short["narrower"] <= high
    ends = (f"{high:.1%}" if f"{low:.1%}" == f"{high:.1%}" else f"{low:.1%} to {high:.1%}")
    assert f"with a mean margin {ends} narrower than the optimum's" in words
    # one fit's numbers, as results saved before the copies hold them
    short = {key: v for key, v in short.items()
             if key not in ("steps range", "narrower range", "perturbed", "at the limit",
                            "step limit")}
    assert "within 0.1%" in shortfall_words(dict(short, narrower=0.0004, steps=1), "x")
    assert "1 Newton step within" in shortfall_words(dict(short, narrower=0.0004, steps=1), "x")
    # the prose once said "stops short" beside "within 0.1%" at a small C
    from rdsc.separation_words import shortfall_reading
    assert shortfall_reading(short, "cifar10").startswith("stops short of the exact fit at "
                                                          "this C (on ")
    close = shortfall_reading(dict(short, narrower=0.0004, steps=5), "cifar10")
    assert close.startswith("came within 0.1% of the exact fit at this C (on CIFAR-10's") \
        and "stops short" not in close
    # an exact fit the solver could not verify is not called the optimum
    assert short["exact verified"] is True
    unverified = solver_shortfall(feats, 400, y, C=1e6, device="cpu", exact=short["exact"],
                                  exact_verified=False)
    assert "than the exact solver's (a fit the solver could not verify" in shortfall_words(
        unverified, "cifar10")
    older = {key: v for key, v in short.items() if key != "exact verified"}
    assert shortfall_words(older, "x").endswith("narrower than the exact solver's")


def test_the_shortfall_is_measured_on_copies_differing_at_rounding(monkeypatch):
    """Chapter 5 once read "29 Newton steps, 2.4% narrower" on 60 images, where copies
    of the features differing at the 7th digit gave 0.6% to 2.4%: one draw of a quantity
    that swings. The solver is fitted on such copies too and the words give the range."""
    from rdsc.classify import LinearSVM
    from rdsc.separation import solver_shortfall
    from rdsc.separation_words import shortfall_reading, shortfall_words
    gen = np.random.default_rng(5)
    feats = FeatureArray(gen.integers(0, 50, size=(120, 400)).astype(np.uint16), 49)
    y = np.arange(120) % 4
    inputs, fit = [], LinearSVM.fit

    def spy(self, X, labels, *args, **kwargs):
        if self.solver == "torch":
            inputs.append(np.array(X))
        return fit(self, X, labels, *args, **kwargs)
    monkeypatch.setattr(LinearSVM, "fit", spy)
    short = solver_shortfall(feats, 400, y, C=1e6, device="cpu", perturbed=2)
    assert len(inputs) == 3 and short["perturbed"] == 2
    for copy in inputs[1:]:  # differ from the features, at rounding only
        assert not np.array_equal(copy, inputs[0])
        assert np.allclose(copy, inputs[0], rtol=1e-6, atol=0)
    low, high = short["narrower range"]
    assert low <= short["narrower"] <= high
    assert short["steps range"][0] <= short["steps"] <= short["steps range"][1]
    said = dict(short, **{"steps range": [23, 50], "narrower range": [0.006, 0.024],
                          "at the limit": 0})
    words = shortfall_words(said, "cifar10")
    assert "23 to 50 Newton steps with a mean margin 0.6% to 2.4% narrower" in words
    assert words.endswith(", over 3 fits: on the features and on 2 copies of them with every "
                          "value changed by about one part in ten million (float32 rounding), "
                          "since where the solver stops depends on such rounding")
    assert shortfall_reading(said, "cifar10").startswith("stops short")
    mixed = dict(said, **{"narrower range": [0.0002, 0.02]})
    assert shortfall_reading(mixed, "cifar10").startswith("does not reliably reach")
    limited = dict(said, **{"at the limit": 1, "step limit": 50})
    assert shortfall_words(limited, "x").endswith(
        "rounding; 1 of the 3 fits ran out of the solver's 50 steps")
    one = dict(limited, perturbed=0)
    assert shortfall_words(one, "x").endswith("optimum's; the fit ran out of the solver's 50 "
                                              "steps")
    wider = dict(said, **{"narrower range": [-0.02, 0.01]})
    assert "from 2.0% wider to 1.0% narrower" in shortfall_words(wider, "x")
    nearly = dict(said, **{"narrower range": [-0.0004, 0.01]})  # not "from 0.0% wider"
    assert "a mean margin up to 1.0% narrower than" in shortfall_words(nearly, "x")
    alone = solver_shortfall(feats, 400, y, C=1e6, device="cpu", perturbed=0)
    assert alone["narrower range"] == [alone["narrower"]] * 2
    assert alone["narrower"] == short["narrower"]  # the features as given: the same fit
    assert "copies" not in shortfall_words(alone, "x")
    with pytest.raises(ValueError, match="perturbed"):
        solver_shortfall(feats, 400, y, C=1e6, device="cpu", perturbed=-1)
    # the solver is given the unit-scaled features themselves, as chapter 3 gives them
    from rdsc.separation import unit_scale
    assert np.array_equal(inputs[0], unit_scale(feats.columns(400)[:]))
    # fits that run out of steps are counted, from the fits themselves
    init = LinearSVM.__init__

    def few_steps(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if self.solver == "torch":
            self.max_iter = 2
    monkeypatch.setattr(LinearSVM, "__init__", few_steps)
    capped = solver_shortfall(feats, 400, y, C=1e6, device="cpu", perturbed=2)
    assert capped["at the limit"] == 3 and capped["step limit"] == 2
    assert capped["steps range"] == [2, 2]
    assert "3 of the 3 fits ran out of the solver's 2 steps" in shortfall_words(capped, "x")


def test_the_shortfall_does_not_depend_on_the_callers_thread_count(monkeypatch):
    """Chapter 5 once read "25 Newton steps, 3.4% narrower" on two threads and "29,
    2.5%" on one: where Newton-CG stops depends on its float32 sums' order."""
    from rdsc import separation
    from rdsc.classify import LinearSVM
    from rdsc.separation import solver_shortfall
    gen = np.random.default_rng(5)
    feats = FeatureArray(gen.integers(0, 50, size=(120, 400)).astype(np.uint16), 49)
    y = np.arange(120) % 4
    seen, fit = [], LinearSVM.fit

    def spy(self, X, labels, *args, **kwargs):
        seen.append((self.solver, torch.get_num_threads()))
        return fit(self, X, labels, *args, **kwargs)
    monkeypatch.setattr(LinearSVM, "fit", spy)
    gram = separation.gram_rows

    def gram_spy(*args, **kwargs):  # the inner products the fit starts from
        seen.append(("gram", torch.get_num_threads()))
        return gram(*args, **kwargs)
    monkeypatch.setattr(separation, "gram_rows", gram_spy)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = solver_shortfall(feats, 400, y, C=1e6, device="cpu")
        assert torch.get_num_threads() == 2  # given back
        torch.set_num_threads(1)
        one = solver_shortfall(feats, 400, y, C=1e6, device="cpu")
    finally:
        torch.set_num_threads(before)
    assert ("torch", 1) in seen and ("torch", 2) not in seen
    assert ("gram", 1) in seen and ("gram", 2) not in seen
    assert one == two


def test_the_shuffles_range_has_digits_enough_to_tell_its_ends_apart():
    """The quick build once read "0.0039 to 0.0039 with the shuffles"."""
    from rdsc.separation_words import shuffled_reading
    rows, _ = _verified_margin_rows()
    rows[6]["draw margins"] = [0.00391, 0.00394]  # the shuffles at the largest k
    rows[6]["mean margin"] = 0.003925
    said = shuffled_reading(rows)
    assert "against 0.00391 to 0.00394 with the shuffles" in said


def test_the_margin_claim_range_and_shuffle_words():
    """A narrower margin read 'not shown', the half-sample counts swapped, and the shuffles'
    range read from its low end once passed these tests."""
    from rdsc.separation_words import margin_claim, range_words, shuffled_reading
    rows, c = _verified_margin_rows()
    c.update({"ratio": 0.5, "median": 0.5, "low": 0.4, "high": 0.6, "above 1": 0, "below 1": 10})
    assert margin_claim("CIFAR-10", rows, [c])[0][0] == "contradicted"
    assert range_words({"ratio": 0.8, "low": 0.7, "high": 1.1, "above 1": 2, "below 1": 8,
                        "median": 0.85, "half-samples": 10}).startswith(
        "below 1 on 8 of 10 half-samples")
    rows, c = _verified_margin_rows()
    draws = list(np.linspace(0.04, 0.06, 19))
    rows[6].update({"draw margins": draws, "mean margin": float(np.mean(draws))})
    assert "lies within the shuffles'" in shuffled_reading(rows)


def test_the_margin_verdict_and_shortfall_words():
    """'grows steadily' with any in place of all, and the shortfall's 0.1% threshold, once
    passed these tests."""
    from rdsc.separation_words import margin_verdict, shortfall_words
    def rows(margins):
        return pd.DataFrame([{"space": "pixels", "dimension": 3072, "mean margin": 0.05,
                              "train accuracy": 1.0}] +
                            [{"space": "features", "dimension": k, "mean margin": m,
                              "train accuracy": 1.0} for k, m in zip([64, 16, 256], margins)])
    assert "does not grow steadily" in margin_verdict(rows([0.2, 0.1, 0.15]))
    assert "0.5% narrower" in shortfall_words({"narrower": 0.005, "steps": 3, "k": 3000}, "cifar10")


def test_a_noise_row_saved_without_its_hard_flag_is_not_compared():
    """The noise control read as hard from its training accuracy alone (rows saved before
    min y·f was measured) once passed these tests; the controls compare measured fits."""
    from rdsc.separation_words import margin_claim
    rows, c = _verified_margin_rows()
    text = margin_claim("CIFAR-10", rows, [c])[1]
    assert "Gaussian noise of that k: 0.0225, narrower than the features" in text
    del rows[4]["hard"]  # the noise at k = 20, the compared k
    text = margin_claim("CIFAR-10", rows, [c])[1]
    assert "Gaussian noise of that k: 0.0225, not compared (soft margins)" in text


def test_a_factor_range_whose_ends_agree_is_one_factor():
    """The smoke book once read "(×1.11 to ×1.11)" for two shuffles that agreed at the
    digits shown; ends that differ there still read as a range."""
    from rdsc.separation_words import factor_range, shuffled_reading
    assert factor_range(1.1101, 1.1149) == "×1.11"
    assert factor_range(1.02, 1.11) == "×1.02 to ×1.11"
    rows, _ = _verified_margin_rows()
    rows[6]["draw margins"] = [0.04503, 0.04505]  # the true labels' 0.05: ×1.110, ×1.110
    rows[6]["mean margin"] = 0.04504
    said = shuffled_reading(rows)
    assert "against 0.04503 to 0.04505 with the shuffles at k = 20 (×1.11)" in said
    rows[6]["draw margins"] = [0.045, 0.045]  # two shuffles with one margin
    assert "against 0.0450 with the shuffles" in shuffled_reading(rows)


def test_a_caveat_every_dataset_shares_is_said_once():
    """Chapter 5 said "On the training images, a wide margin comes with the number of
    dimensions, ..." once per dataset, word for word; the readings themselves stay."""
    from rdsc.separation_words import per_dataset
    caveat = "On the training images, a wide margin comes with the number of dimensions."
    said = per_dataset({"cifar10": f"wider, ×1.20. {caveat}",
                        "miniimagenet10": f"wider, ×1.11. {caveat}"}, "On {name}: {text}")
    assert said == f"On CIFAR-10: wider, ×1.20. On `miniimagenet10`: wider, ×1.11. {caveat}"
    # one dataset, or a sentence one dataset lacks, or a last part a template ends: as given
    assert per_dataset({"cifar10": f"a. {caveat}"}, "{text}") == f"a. {caveat}"
    assert per_dataset({"cifar10": f"a. {caveat}", "stl10": "b. Other."}, "{text}") == \
        f"a. {caveat} b. Other."
    assert per_dataset({"cifar10": "a. The same", "stl10": "b. The same"}, "{text}.") == \
        "a. The same. b. The same."


def test_a_ratio_or_margins_beside_the_edge_print_apart_from_it():
    """A width ratio of 1.0031 once printed "×1.00" beside "undecided", and margins of
    0.00940 and 0.00937 both "0.0094": the reader could not see which side of 1 it lay."""
    from rdsc.checks import ratio_apart, told_apart
    from rdsc.separation_words import margin_claim
    assert [ratio_apart(x) for x in (1.0031, 0.9996, 1.07, 1.0, 1.00001)] == [
        "1.003", "0.9996", "1.07", "1.00", "just above 1.00"]
    assert told_apart(0.00940, 0.00937) == ("0.00940", "0.00937")
    assert told_apart(0.0281, 0.0094) == ("0.0281", "0.0094")
    rows, c = _verified_margin_rows()
    rows[0]["mean margin"], rows[2]["mean margin"] = 0.00937, 0.00940
    c.update({"ratio": 1.0031, "median": 0.85, "low": 0.83, "high": 0.89, "above 1": 0,
              "below 1": 10})
    _, text, short = margin_claim("miniimagenet10", rows, [c])
    assert "width ×1.003 of pixels'" in short
    assert text.startswith("miniimagenet10: 0.00940 at k = 20 vs 0.00937 on pixels")
    assert "(ratio 1.003 on the sample" in text


def test_the_margins_figure_keeps_tall_panels_above_its_legend():
    """The legend's rows once took a share of a fixed height, leaving two panels about
    100 px tall; the legend now adds to the figure's height and covers no axis."""
    import matplotlib
    matplotlib.use("Agg")
    from rdsc import plots
    rows, _ = _verified_margin_rows()
    rows[4]["verified"] = False  # one more legend row
    frame = pd.concat([pd.DataFrame(rows), pd.DataFrame(rows).assign(dataset="mini")])
    fig = plots.margins(frame, ["cifar10", "mini"])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        assert ax.get_position().height * fig.get_size_inches()[1] >= 2.2  # inches of plot
        assert ax.get_tightbbox(renderer).y0 >= legend.y1  # tick labels above the legend
    matplotlib.pyplot.close(fig)


def _pw_row(space, k, margins):
    return {"dataset": "cifar10", "images": 100, "space": space, "dimension": k,
            "mean margin": float(np.mean(margins)), "min margin": min(margins),
            "train accuracy": 1.0, "min y·f": 1.0, "hard": True, "verified": True,
            "C": 1e6, **({"draw margins": margins} if len(margins) > 1 else {})}


def test_controls_read_ties_and_draw_spreads_as_no_difference():
    """A noise margin equal to the features' once read "narrower, so the features'
    margin is wider"; noise draws on both sides of it printed "0.0500 against 0.0500:
    wider"; a margin 4e-7 above 19 equal shuffles won a permutation test beside "(×1.00)";
    one shuffle growing as much read "every shuffle's margin grows more"."""
    from rdsc import separation_words as S
    base = [_pw_row("pixels", 3072, [0.01]), _pw_row("features", 10, [0.02]),
            _pw_row("features", 20, [0.05])]
    tie = S.noise_reading(base + [_pw_row("noise", 10, [0.02, 0.02]),
                                  _pw_row("noise", 20, [0.04, 0.06])])
    assert "narrower" not in tie and "hold the features' margin" in tie
    spread = S.noise_reading(base + [_pw_row("noise", 10, [0.02, 0.02]),
                                     _pw_row("noise", 20, [0.0499, 0.0502])])
    assert "wider than the features" not in spread
    assert "0.05005, against 0.05000" in spread  # printed apart
    shuffles = S.shuffled_reading(base[:2] + [_pw_row("features", 20, [0.0500004]),
                                              _pw_row("shuffled labels", 10, [0.02] * 19),
                                              _pw_row("shuffled labels", 20, [0.05] * 19)])
    assert "permutation test" not in shuffles and "lies within the shuffles'" in shuffles
    assert "faster than every shuffle" not in shuffles
    one = S.shuffled_reading(base + [_pw_row("shuffled labels", 10, [0.02]),
                                     _pw_row("shuffled labels", 20, [0.05])])
    assert "every shuffle's margin grows more" not in one
    assert "the shuffle's margin grows as much or more (one shuffle)" in one
    assert S.factor_range(0.996, 1.004) == "×0.996 to ×1.004"
    assert S.factor_range(1.02, 1.11) == "×1.02 to ×1.11" and S.factor_range(1.111, 1.112) \
        == "×1.11"
