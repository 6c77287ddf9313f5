"""Chapter 3's result sentences follow the numbers; the solver check; one dataset end to end."""

import numpy as np
import pytest

from rdsc import classify_words as words
from rdsc.intervals import spread


def test_curve_trend_is_conditioned_on_the_curve():
    rising = [{"k": 1000, "top-1 (%)": 56.0}, {"k": 10_000, "top-1 (%)": 67.8}]
    flat = [{"k": 10_000, "top-1 (%)": 70.0}, {"k": 100_000, "top-1 (%)": 70.4}]
    assert "has not levelled off" in words.curve_trend(rising)
    assert "consistent with more random hyperplanes still cutting" in words.curve_trend(rising)
    assert "+11.80 points" in words.curve_trend(rising)
    assert "is levelling off" in words.curve_trend(
        flat
    ) and "not levelled" not in words.curve_trend(flat)
    assert "single k" in words.curve_trend(rising[:1])
    # the last step is judged per tenfold increase: +1.5 points over x3 is +3.1 per decade
    assert "has not levelled off" in words.curve_trend(
        [{"k": 10_000, "top-1 (%)": 70.0}, {"k": 30_000, "top-1 (%)": 71.5}]
    )
    # +7.5 points on 200 test images is within the noise of a difference (about ±9.3)
    small = [{"k": 100, "top-1 (%)": 30.0}, {"k": 256, "top-1 (%)": 37.5}]
    said = words.curve_trend(small, n_test=200)
    assert "within the test-set noise" in said and "cannot tell" in said
    said = words.curve_trend(rising, n_test=10_000)
    assert "beyond the test-set noise of such a difference on 10,000 images, about ±1.34 " \
        "points" in said and "not levelled" in said
    # a rate per tenfold from the last step alone once read as a forecast
    assert "+11.8 per tenfold" not in said and "per tenfold" in said


def test_curve_trend_judges_nested_svms_by_their_paired_noise():
    """The two SVMs of the last step are scored on the same images, where the
    unpaired noise overstates the noise of their difference."""
    rng = np.random.default_rng(0)
    n = 1000
    right_small = rng.random(n) < 0.60
    right_large = right_small.copy()
    flip = np.flatnonzero(~right_small)[:30]  # 30 more images right, none lost: +3 points
    right_large[flip] = True
    curve = [{"k": 1000, "top-1 (%)": 100 * right_small.mean()},
             {"k": 3000, "top-1 (%)": 100 * right_large.mean()}]
    unpaired = words.curve_trend(curve, n_test=n)
    assert "within the test-set noise" in unpaired and "cannot tell" in unpaired
    paired = words.curve_trend(curve, last_hits=[right_small, right_large])
    assert ("beyond the noise of this difference on the same 1,000 test images (30 of "
            "them right under one k only; exact paired test p = 1.9e-09)"
            in paired and "has not levelled off" in paired), paired
    # hits of another k (here: swapped) are refused, not used
    with pytest.raises(ValueError, match="last_hits give 61.10% right for k = 1,000, "
                                         "whose accuracy is 58.10%"):
        words.curve_trend(curve, last_hits=[right_large, right_small])
    with pytest.raises(ValueError, match="equally long"):
        words.curve_trend(curve, last_hits=[right_small, right_large[:10]])
    # 4 images changed, all one way (+0.40 points), is not beyond the noise: the
    # exact paired test gives p = 0.125, where the normal interval said ±0.39
    a = np.zeros(1000, bool)
    a[:500] = True
    b = a.copy()
    b[500:504] = True
    few = [{"k": 300, "top-1 (%)": 50.0}, {"k": 1000, "top-1 (%)": 50.4}]
    said = words.curve_trend(few, last_hits=[a, b])
    assert ("within the noise of this difference on the same 1,000 test images (4 of them "
            "right under one k only; exact paired test p = 0.12)" in said
            and "cannot tell" in said), said
    from rdsc.intervals import paired_exact_p
    assert paired_exact_p(b, a) == pytest.approx(0.125)
    assert paired_exact_p(a, a) == 1.0
    # what a careless call passes: the dict itself, an n_test of other images, a k of 0
    with pytest.raises(ValueError, match=r"\[hits\[k_before\], hits\[k\]\]"):
        words.curve_trend(curve, last_hits={1000: right_small, 3000: right_large})
    with pytest.raises(ValueError, match="n_test = 50, but last_hits hold 1,000"):
        words.curve_trend(curve, n_test=50, last_hits=[right_small, right_large])
    with pytest.raises(ValueError, match="the curve's k must be a whole number"):
        words.curve_trend([{"k": 0, "top-1 (%)": 1.0}, *curve])


def test_accuracy_against_k_gives_each_k_its_hits():
    from rdsc.classify import accuracy_against_k
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 20)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 5] > 0).astype(int) + 2 * (X[:, 1] > 0)
    hits = {}
    rows = accuracy_against_k(X[:80], y[:80], X[80:], y[80:], [2, 20], hits=hits)
    assert sorted(hits) == [2, 20]
    for row in rows:
        assert hits[row["k"]].shape == (40,) and hits[row["k"]].dtype == bool
        assert 100 * hits[row["k"]].mean() == pytest.approx(row["top-1 (%)"])


def boot(diff, low, high):
    return {
        "difference": diff,
        "low": low,
        "high": high,
        "level": 0.95,
        "acc_a": 0.6,
        "acc_b": 0.6 - diff,
        # counts of changed images that agree with the interval (the exact test reads them)
        "only_a": 60 if low > 0 else 20 if high < 0 else 30,
        "only_b": 20 if low > 0 else 60 if high < 0 else 20,
    }


def test_jpeg_sentences_follow_the_interval():
    assert "costs accuracy measurably" in words.jpeg_cost(boot(0.01, 0.002, 0.02))
    assert "classified measurably better" in words.jpeg_cost(boot(-0.01, -0.02, -0.002))
    assert "cannot be told from none" in words.jpeg_cost(boot(0.005, -0.003, 0.012))
    assert "does not explain the whole gap" in words.jpeg_against_gap(
        boot(0.005, -0.003, 0.012), -1.34, 4000
    )
    # "would explain" once stated a paper-scale share from 4,000 training images
    assert "so if the effect carried over to paper scale, the JPEG re-encoding could explain " \
        "part or all of the gap" in words.jpeg_against_gap(boot(0.01, 0.005, 0.02), -1.34, 4000)
    # an interval holding both 0 and the gap tells nothing either way
    said = words.jpeg_against_gap(boot(0.01, -0.02, 0.05), -1.34, 4000)
    assert "holds both zero and the 1.34 points" in said and "none of it" in said
    assert "could explain the gap" in words.jpeg_against_gap(boot(0.02, 0.015, 0.03), -1.34, 4000)
    assert "no gap" in words.jpeg_against_gap(boot(0.02, 0.015, 0.03), 0.5, 4000)
    assert "not set against a gap" in words.jpeg_against_gap(boot(0.02, 0.015, 0.03), None, 4000)


def test_seed_sentences_follow_the_spread():
    s = spread([74.9, 75.1, 75.0, 75.2, 74.95])
    assert "5 seeds" in words.seed_spread(s, 100_000, "all images")
    assert "outside this interval" in words.gap_against_draws(s, 76.36, comparable=True)
    assert "inside this interval" in words.gap_against_draws(s, 75.1, comparable=True)
    # seeds at another scale: neither the paper's number nor the gap is set against them
    other = words.gap_against_draws(s, 76.36, False, "k = 4,000 on 2,000 images")
    assert other.startswith("These seeds ran at k = 4,000 on 2,000 images, not at the paper's")
    assert "set neither against" in other and "interval" not in other
    # the paper's C is named only where the seeds used another
    assert "on all images, so their spread" in other
    assert "on all images with C = 0.005, so" in words.gap_against_draws(
        s, 76.36, False, "k = 4,000 on 2,000 images with C = 0.02", C=0.02)
    # the paper's number is set against the seeds only on its own images, at its scale
    whole = (50_000, 10_000)
    assert words.seeds_at_paper_scale("cifar10", 100_000, whole, whole, 0.005)
    assert not words.seeds_at_paper_scale("cifar10", 4_000, whole, whole, 0.005)
    assert not words.seeds_at_paper_scale("cifar10", 100_000, (2_000, 1_000), whole, 0.005)
    assert not words.seeds_at_paper_scale("miniimagenet10", 100_000, whole, whole, 0.005)
    # draws fitted at another C are not the paper's
    assert not words.seeds_at_paper_scale("cifar10", 100_000, whole, whole, 0.02)
    assert words.seed_gap(s, 78.8, "miniimagenet10", "imagenet10", False) == (
        "The paper's imagenet10 number is not set against these seeds, which ran on "
        "`miniimagenet10`.")
    assert "outside this interval" in words.seed_gap(s, 76.36, "cifar10", "cifar10", True)
    assert words.seed_gap(s, 76.36, "cifar10", "cifar10", False, "k = 4,000").startswith(
        "These seeds ran at k = 4,000, not at the paper's")


def test_c_mlp_mnist_and_gap_sentences():
    rows = [{"C": 0.002, "validation top-1 (%)": 70.0}, {"C": 0.005, "validation top-1 (%)": 69.0}]
    text = words.chosen_c(0.002, 0.005, rows, 75.5, 75.0, "50,000 images")
    assert "C = 0.002" in text and "69.00%" in text and "+0.50 points" in text
    assert "picks the paper's C itself" in words.chosen_c(0.005, 0.005, rows, 75.0, 75.0, "x")
    # "+5.50 points" on 200 test images once had no noise beside it
    assert "(+5.50 points, within the test-set noise of ±9.49 on 200 images)." in words.chosen_c(
        0.002, 0.005, rows, 40.5, 35.0, "x", n_test=200)
    assert "beyond the test-set noise" in words.chosen_c(0.002, 0.005, rows, 40.5, 35.0, "x",
                                                         n_test=20_000)
    # on 100 validation images a lead of a few points is no choice at all
    assert "no firm choice" in words.chosen_c(0.002, 0.005, rows, 75.5, 75.0, "x", n_val=100)
    assert "no firm choice" not in words.chosen_c(0.002, 0.005, rows, 75.5, 75.0, "x",
                                                     n_val=1_000_000)
    # a choice at the end of the grid says a wider grid might choose another
    assert text.endswith("The chosen C = 0.002 is the smallest value of the grid, so a wider "
                         "grid might choose another.")
    assert "largest value" in words.chosen_c(0.005, 0.005, rows, 75.0, 75.0, "x")
    inner = rows + [{"C": 0.001, "validation top-1 (%)": 60.0}]
    assert "value of the grid" not in words.chosen_c(0.002, 0.005, inner, 75.5, 75.0, "x")
    assert "value of the grid" not in words.chosen_c(0.002, 0.005, rows[:1], 75.5, 75.0, "x")
    assert words.no_pairing("stl10").endswith("the section is about CIFAR-10.")
    assert words.no_pairing("cifar10").startswith("**This run measured no JPEG effect")
    text = words.mlp_against_svm(
        {1: 0.77, 5: 0.98},
        {1: 0.75, 5: 0.97},
        30,
        100_000,
        {"top1": 78.39, "k": 200_000, "version": "v1"},
    )
    assert "above the SVM by 2.00 points" in text and "78.39%" in text
    # 64.80 against 63.73 on 10,000 images, once with no interval beside it
    close = words.mlp_against_svm({1: 0.6480, 5: 0.95}, {1: 0.6373, 5: 0.94}, 30, 4000, None,
                                  n_test=10_000)
    assert ("above the SVM by 1.07 points in top-1, within the test-set noise of such a "
            "difference on 10,000 images (about ±1.33 points).") in close
    assert "beyond the test-set noise" in words.mlp_against_svm(
        {1: 0.70, 5: 0.95}, {1: 0.6373, 5: 0.94}, 30, 4000, None, n_test=10_000)
    assert "below" in words.mlp_against_svm(
        {1: 0.70, 5: 0.9}, {1: 0.75, 5: 0.97}, 3, 15_000, None
    )
    # a head that has not fitted its own training images (24% against the SVM's 39% test)
    said = words.mlp_against_svm({1: 0.195, 5: 0.6}, {1: 0.39, 5: 0.8}, 2, 256, None, 24.0)
    assert "still underfitting" in said
    assert "underfitting" not in words.mlp_against_svm(
        {1: 0.70, 5: 0.9}, {1: 0.75, 5: 0.97}, 3, 15_000, None, 90.0)
    assert "not on this machine" in words.mnist_result(None, 99.4, None, "nowhere")
    assert "99.10%" in words.mnist_result(99.1, 99.4, 4000, "")
    assert "1.34 points below the paper" in words.gap_to_paper(75.02, 76.36, "record")
    assert ": the paper's number (the record of the table above)" in words.gap_to_paper(
        76.36, 76.36, "record")
    assert "no paper-profile record" in words.gap_to_paper(None, 76.36, "none")


def test_pairing_and_feature_change_sentences():
    found = {
        "train": {
            "distance": np.array([10.0, 20.0]),
            "runner_up": np.array([100.0, 90.0]),
            "rms": np.array([0.2, 0.4]),
            "one_to_one": True,
        }
    }
    text = words.pairing(found, {"train": 50_000})
    assert (
        "2 lossless images" in text
        and "50,000 JPEG train images" in text
        and "no JPEG is matched twice." in text
        and "not one to one" not in text
    )
    # the distance once had no unit
    assert "the median distance to the match is 15 grey levels (the norm over all" in text
    # both branches once said "matched twice"; each must give its own sentence, and one
    # split that is not one to one makes the whole pairing not one to one
    found["test"] = {**found["train"], "one_to_one": False}
    text = words.pairing(found, {"train": 50_000, "test": 10_000})
    assert "some JPEG images are matched twice: the pairing is not one to one." in text
    assert "no JPEG is matched twice" not in text and "4 lossless images" in text
    # "among the 50,000 ... and the 10,000 ..." once read as one pool; each split is
    # searched alone
    assert ("nearest image of its class and split (among the 50,000 JPEG train images or the "
            "10,000 JPEG test images) in L2") in text
    assert "nearest image of its class among the 50,000 JPEG train images in L2" in \
        words.pairing({"train": found["train"]}, {"train": 50_000})
    change = {
        "changed": 0.5,
        "per_image": 128,
        "k": 256,
        "images_changed": 1.0,
        "mean_abs_changed": 0.04,
        "relative": 0.19,
    }
    text = words.feature_changes(change, 225)
    assert "50.0% of all feature values differ" in text and "4.5 of the 225 signs" in text
    assert "(128 of the 256 features of an image on average; 100.0% of the images" in text
    # "1 of the 1 features of an image on average" was once printed at k = 1
    one = words.feature_changes({**change, "k": 1, "per_image": 0.91}, 225)
    assert "differ (100.0% of the images have at least one changed feature)" in one


def test_top_confusions_and_their_reading():
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck"]
    counts = np.full((10, 10), 2) + np.diag([90] * 10)
    counts[3, 5], counts[5, 3], counts[1, 9] = 30, 25, 22   # cat->dog, dog->cat, car->truck
    confused = words.top_confusions(counts, 3)
    assert confused == [(3, 5, 30), (5, 3, 25), (1, 9, 22)]   # the diagonal never counts
    assert words.confusion_reading(classes, confused, "cifar10") == (
        "A reading, not a test: All three are between classes whose images share colours, "
        "textures and backgrounds (a cat and a dog indoors; a car and a truck on a road), "
        "which is what statistics of random cuts through image patches record; shape, "
        "which separates them for a trained network, is mostly lost.")
    counts[1, 9] = 0
    counts[2, 6] = 21                                        # bird -> frog: no look-alike
    assert words.confusion_reading(classes, words.top_confusions(counts), "cifar10") \
        .startswith("A reading, not a test: Two of these three are")
    other = [(2, 6, 40), (6, 2, 35), (4, 7, 30)]
    assert words.confusion_reading(classes, other, "cifar10").startswith(
        "A reading, not a test: None of these three is one of the CIFAR-10 pairs")
    assert words.confusion_reading(classes, other, "stl10").startswith(
        "A reading, not a test: Random features record statistics")
    assert words.confusion_reading(classes, [(3, 5, 19)], "cifar10") == (
        "These counts (at most 19 images) are too small to read from.")
    with pytest.raises(ValueError, match="square confusion matrix"):
        words.top_confusions(np.zeros((3, 4)))


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]


def test_top_confusions_leaves_the_callers_matrix_alone_and_takes_n():
    counts = np.full((10, 10), 2) + np.diag([90] * 10)
    counts[3, 5], counts[5, 3], counts[1, 9] = 30, 25, 12
    before = counts.copy()
    assert len(words.top_confusions(counts, 5)) == 5
    assert np.array_equal(counts, before)  # its diagonal too


def test_confusion_reading_is_judged_on_the_largest_count():
    said = words.confusion_reading(CIFAR10_CLASSES, [(3, 5, 30), (5, 3, 25), (1, 9, 12)],
                                      "cifar10")
    # the cell of 12 images is too small to read, as the largest would be
    assert said.startswith("A reading, not a test: Both are between classes"), said
    assert words.confusion_reading(CIFAR10_CLASSES, [(3, 5, 20)], "cifar10").startswith(
        "A reading, not a test: It is between")
    # four cells read (a KeyError once), three of them lookalikes
    four = [(3, 5, 40), (5, 3, 30), (0, 8, 25), (2, 4, 22)]
    assert words.confusion_reading(CIFAR10_CLASSES, four, "cifar10").startswith(
        "A reading, not a test: Three of these four are")
    # only cells that hold images, and n a count
    counts = np.diag([50, 50, 50])
    counts[0, 1], counts[1, 2], counts[2, 0] = 5, 4, 3
    assert words.top_confusions(counts, 5) == [(0, 1, 5), (1, 2, 4), (2, 0, 3)]
    with pytest.raises(ValueError, match="n must be a whole number"):
        words.top_confusions(counts, -1)


def test_tied_seeds_give_no_zero_width_interval():
    # three seeds at 42.50% on 40 test images once read "would land between 42.50% and 42.50%"
    s = spread([42.5, 42.5, 42.5])
    said = words.seed_spread(s, 256, "60 training and 40 test images", n_test=40)
    assert said.startswith("Over 3 seeds at k = 256 (60 training and 40 test images), top-1 "
                           "is 42.50% every time: the seeds tied (one test image is 2.50 "
                           "points), so their spread is below what these test images resolve")
    assert "between" not in said
    assert words.gap_against_draws(s, 76.36, comparable=True) == (
        "The seeds tied, so there is no interval to set the paper's 76.36% against.")
    # equal accuracies that are no binary fraction have a std of about 1e-14
    s = spread([51.3] * 3)
    assert s["std"] != 0
    assert "every time: the seeds tied" in words.seed_spread(s, 4000, "x", n_test=1000)
    assert words.gap_against_draws(s, 76.36, comparable=True).startswith("The seeds tied")


def test_gap_causes_follow_the_dataset():
    # the gap is the record's, fitted at the paper's C whatever C this run was given
    assert words.gap_causes("cifar10") == (
        "Three causes come to mind: the shared CIFAR-10 is re-encoded as JPEG, the random "
        "weights are another draw than the authors', and C = 0.005 was fixed, not chosen.")
    assert words.gap_causes("stl10") == (
        "Two causes come to mind: the random weights are another draw than the authors', "
        "and C = 0.005 was fixed, not chosen.")
    # a CIFAR-10 read from lossless files (torchvision's): no JPEG cause, nothing to measure
    assert words.gap_causes("cifar10", as_jpeg=False) == words.gap_causes("stl10")
    assert "lossless already" in words.no_pairing("cifar10", as_jpeg=False)
    assert "not in the data root" in words.no_pairing("cifar10")
    assert words.gap_causes("miniimagenet10").endswith(
        "(A larger one is not probed here: these are not the authors' ImageNet images.)")


def test_variant_note_says_how_the_dataset_differs_and_what_top2_the_paper_gives():
    from rdsc import paper
    rep = paper.REPORTED_ACCURACY
    note = words.variant_note("cifar10", "cifar10", "re-encoded as JPEG", rep["cifar10"], 5000)
    assert note == ("This run's `cifar10` is compared with the paper's cifar10: re-encoded as "
                    'JPEG. The paper gives its top-2 on cifar10 only in words, "near 90%".')
    assert words.variant_note("cifar100", "cifar100", "same dataset", rep["cifar100"],
                                 500).endswith("The paper gives no top-2 on cifar100.")
    assert words.variant_note("stl10", "stl10", "same", rep["stl10"], 500) == (
        "This run's `stl10` is compared with the paper's stl10: same.")
    mini = words.variant_note("miniimagenet10", "imagenet10", "other", rep["imagenet10"], 600)
    assert mini.startswith("For `miniimagenet10` the comparison is only indicative")
    assert "600 training images per class" in mini


def test_top_confusions_wants_counts_not_shares():
    from rdsc.classify_words import top_confusions
    assert top_confusions([[8, 1], [2, 7]], n=3) == [(1, 0, 2), (0, 1, 1)]
    with pytest.raises(ValueError, match="counts"):  # a normalised matrix read as zeros
        top_confusions([[0.8, 0.2], [0.3, 0.7]])


def test_probe_z2_percent_sentences_refuse_what_is_no_percent():
    from rdsc import classify_words as cw
    with pytest.raises(ValueError, match="percentages in 0..100"):
        cw.curve_trend([{"k": 100, "top-1 (%)": 60.0}, {"k": 1000, "top-1 (%)": 162.0}], 10)
    with pytest.raises(ValueError, match="each k once"):
        cw.curve_trend([{"k": 100, "top-1 (%)": 60.0}, {"k": 100, "top-1 (%)": 62.0}], 10_000)
    with pytest.raises(ValueError, match="fractions, 0 to 1"):
        cw.mlp_against_svm({1: 50.0, 2: 60.0}, {1: 0.5, 2: 0.6}, 3, 100, None)
    # near chance on 100 classes, accuracies below 1% are real, not fractions
    assert cw.curve_trend([{"k": 100, "top-1 (%)": 0.6}, {"k": 1000, "top-1 (%)": 0.8}], 500)
    assert cw.mlp_against_svm({1: 0.01, 2: 0.02}, {1: 0.01, 2: 0.02}, 2, 100, None,
                              train_top1=0.6)
    # a head that fits its training images above the SVM's test top-1 once said
    # nothing of them
    assert cw.mlp_against_svm({1: 0.648, 2: 0.8}, {1: 0.637, 2: 0.8}, 4, 100, None,
                              train_top1=72.85).endswith(
        "After training, the head classifies 72.85% of its own training images correctly (counted "
        "after training, in evaluation mode; the table's running top-1 is counted during "
        "each epoch, on changing weights, in training mode).")


def test_the_solver_check_says_whether_it_passed_and_which_solver_fell_short():
    """At C = 1e6 the check once printed a 49% objective gap with no verdict."""
    base = dict(n_train=300, k=256, n_test=200, agreement=0.53, acc_torch=24.0,
                acc_liblinear=29.5, objective_liblinear=100.0)
    said = words.solver_agreement({**base, "objective_torch": 100.5, "relative_objective": 0.005})
    assert "5.00e-03 (relative) above liblinear's, within 1%, as the tests require;" in said
    # 1.04% once printed as "1.0e-02 ... not within 1%"
    said = words.solver_agreement({**base, "objective_torch": 101.04,
                                   "relative_objective": 0.0104})
    assert "1.04e-02 (relative) above liblinear's, not within 1%" in said
    # 1.26e-08 on two threads, 1.02e-08 on one: rounding's digits, not the fit's
    for rel in (1.26e-08, 1.02e-08, -1.5e-08, 0.0):
        said = words.solver_agreement({**base, "objective_torch": 100.0 * (1 + rel),
                                       "relative_objective": rel})
        assert "differs from liblinear's by less than 1e-06 (relative), within 1%" in said
    said = words.solver_agreement({**base, "objective_torch": 100.0, "relative_objective": 1.5e-6})
    assert "lies 1.50e-06 (relative)" in said
    said = words.solver_agreement({**base, "objective_torch": 51.0, "relative_objective": -0.49})
    assert "below liblinear's, not within 1%: liblinear, the reference, stopped short" in said
    said = words.solver_agreement({**base, "objective_torch": 149.0, "relative_objective": 0.49})
    assert "not within 1%: the torch solver stopped short of the optimum on this part" in said
    assert said.startswith("On 300 training images and the first 256 features of this run, "
                           "the torch solver's objective lies")
    # not "the first 1 features"
    one = words.solver_agreement({**base, "k": 1, "objective_torch": 100.5,
                                  "relative_objective": 0.005})
    assert one.startswith("On 300 training images and the first feature of this run, the "
                          "torch solver's objective lies 5.00e-03")
    assert "predict the same class for 53.00% of 200 test images" in one
    # not "100.00% of 2,000 test images"
    every = words.solver_agreement({**base, "agreement": 1.0, "objective_torch": 100.5,
                                    "relative_objective": 0.005})
    assert "the two SVMs predict the same class for all 200 test images" in every


def test_the_sentences_read_the_right_numbers():
    """The trend's gain per decade, the prediction interval, the gap in standard
    deviations and the JPEG interval's zero could each once read another number unnoticed."""
    assert "has not levelled off" in words.curve_trend(
        [{"k": 1000, "top-1 (%)": 50.0}, {"k": 2000, "top-1 (%)": 50.5}])
    s = spread([74.9, 75.1, 75.0, 75.2, 74.95])
    said = words.seed_spread(s, 100_000, "all images")
    assert f"between {max(s['pred_low'], 0):.2f}% and {min(s['pred_high'], 100):.2f}%" in said
    assert f"({abs(76.36 - s['mean']) / s['std']:.1f} standard deviations" in \
        words.gap_against_draws(s, 76.36, comparable=True)
    boot = {"difference": 0.01, "low": 0.0, "high": 0.02, "acc_a": 0.5, "acc_b": 0.49,
            "level": 0.95, "only_a": 3, "only_b": 1}
    assert "The interval contains zero" in words.jpeg_cost(boot)


def test_boundaries_an_interval_ending_at_zero_holds_it_and_equal_training_accuracy_is_said():
    """A low end of exactly 0 read as excluding zero, and a training
    accuracy equal to the test's left out of the MLP sentence, once passed these tests."""
    boot = {"difference": 0.01, "low": 0.0, "high": 0.03, "acc_a": 0.5, "acc_b": 0.49,
            "level": 0.95, "only_a": 3, "only_b": 1}
    assert "holds both zero and the 1.34 points" in words.jpeg_against_gap(boot, -1.34, 4000)
    said = words.mlp_against_svm({1: .5, 5: .9}, {1: .5, 5: .9}, 3, 100, None, train_top1=50.0)
    assert "After training, the head classifies 50.00% of its own training images" in said


def test_a_signed_number_that_rounds_to_zero_has_no_minus():
    """Once read "-0.0 points against k-means" where a difference rounded to zero."""
    from rdsc.checks import signed
    assert [signed(x) for x in (-0.04, 0.04, 0.0, -0.0, -0.06, 2.0)] == [
        "-0.04", "+0.04", "0.0", "0.0", "-0.1", "+2.0"]
    # a value that rounds to zero keeps its sign, the side of 0 a verdict reads
    assert signed(-0.004, 2) == "-0.004" and signed(-0.006, 2) == "-0.01"
    # a rounding error is no sign (a seed mean equal to another accuracy)
    assert signed(3e-7) == "0.0" and signed(-7e-15) == "0.0"
    assert signed(100 * ((0.7 - 0.6) - (0.4 - 0.3))) == "0.0"
    assert signed(0.00006) == "+0.0001" and signed(-0.00004) == "0.0"


def test_numbers_printed_together_share_their_decimals():
    """Not "+0.04 points (paired 95% interval +0.04 to +0.1)"."""
    from rdsc.checks import same_decimals
    assert same_decimals([0.04, 0.04, 0.1]) == ["+0.04", "+0.04", "+0.10"]
    assert same_decimals([1.71, 0.9, 2.5]) == ["+1.7", "+0.9", "+2.5"]
    assert same_decimals([0.0, -0.0]) == ["0.0", "0.0"]


def test_a_number_read_against_an_edge_prints_apart_from_it():
    """Interval ends of -4.96 and -4.99997 beside a margin of -5 once read "-5.0" and
    "-5.0000" beside "supported"."""
    from rdsc.checks import apart
    assert [apart(x, -5.0) for x in (-4.96, -5.04, -4.996, -2.0, -5.0)] == [
        "-4.96", "-5.04", "-4.996", "-2.0", "-5.0"]
    assert apart(-4.99997, -5.0) == "just above -5.0"
    assert apart(40.0 - 40.3 - 4.7, -5.0) == "just above -5.0"   # a float's error
    assert apart(-5.00003, -5.0) == "just below -5.0"
    assert apart(1e-10, 0.0) == "just above 0.0" and apart(-0.04, 0.0) == "-0.04"
    assert apart(0.0, 0.0) == "0.0" and apart(-0.0, 0.0) == "0.0"


def test_jpeg_cost_needs_the_exact_test_too():
    """4 test images right only with lossless, none only with JPEG: the bootstrap
    interval once excluded zero ("costs accuracy measurably"); the exact paired test gives
    p = 0.125."""
    from rdsc.intervals import paired_bootstrap
    a = np.ones(200, bool)
    b = a.copy()
    b[:4] = False
    boot = paired_bootstrap(a, b)
    assert boot["low"] <= 0  # the bootstrap interval is held to the exact test
    assert "measurably" not in words.jpeg_cost(boot)
    # a bootstrap interval saved before that, above 0 on 4 against 0, is read by the test
    said = words.jpeg_cost(dict(boot, low=0.005))
    assert "measurably" not in said and "exact paired test gives p = 0.12" in said
    b[:12] = False
    assert words.jpeg_cost(paired_bootstrap(a, b)).endswith("costs accuracy measurably.")


def test_feature_changes_without_a_change_or_with_a_tiny_one():
    """Nothing changed once read "moves by nan ... about nan of the 16 signs", and a
    tiny change "0.0% of all feature values differ"."""
    nothing = {"changed": 0.0, "per_image": 0.0, "k": 64, "images_changed": 0.0,
               "mean_abs_changed": float("nan"), "relative": 0.0}
    said = words.feature_changes(nothing, 16)
    assert "nan" not in said and "no feature value differs" in said
    tiny = dict(nothing, changed=2e-5, per_image=0.0013, images_changed=0.0004,
                mean_abs_changed=0.125)
    said = words.feature_changes(tiny, 16)
    assert "0.002% of all feature values" in said and "0.04% of the images" in said


def test_mlp_against_svm_reads_the_same_images_paired():
    """The unpaired noise (±9.7 on 200 images) once called a 6-point gap "within
    noise", where 14 images right only with the MLP and 2 only with the SVM give an exact
    paired p of 0.004."""
    svm = np.zeros(200, bool)
    svm[:78] = True
    mlp = svm.copy()
    mlp[78:92] = True
    mlp[:2] = False
    said = words.mlp_against_svm({1: mlp.mean()}, {1: svm.mean()}, 2, 256, None,
                                 hits=(mlp, svm))
    assert ("above the SVM by 6.00 points in top-1, beyond the noise of this difference on "
            "the same 200 test images (16 of them right under one of the two only; exact "
            "paired test p = 0.0042)") in said, said
    with pytest.raises(ValueError, match="not the same predictions"):
        words.mlp_against_svm({1: mlp.mean()}, {1: svm.mean()}, 2, 256, None,
                              hits=(svm, mlp))


def test_the_chosen_c_is_compared_with_the_papers_on_the_same_images():
    """Session-17 leftover: the two Cs' test accuracies, on the same images, were read
    against the unpaired noise of two independent accuracies: 11 images gained and none
    lost (p = 0.001) read "within the test-set noise of ±9.8" on 200 images."""
    rows = [{"C": 0.002, "validation top-1 (%)": 70.0},
            {"C": 0.005, "validation top-1 (%)": 69.0}]
    paper_right = np.zeros(200, bool)
    paper_right[:70] = True                     # 35.0%
    chosen_right = paper_right.copy()
    chosen_right[70:81] = True                  # 40.5%: 11 more, none fewer
    said = words.chosen_c(0.002, 0.005, rows, 40.5, 35.0, "x", n_test=200,
                          hits=[chosen_right, paper_right])
    assert ("(+5.50 points, beyond the noise of this difference on the same 200 test "
            "images (11 of them right under one C only; exact paired test "
            "p = 0.00098))") in said
    assert "within the test-set noise" in words.chosen_c(0.002, 0.005, rows, 40.5, 35.0,
                                                         "x", n_test=200)
    # the main run's hits not kept: the unpaired bound, as before
    assert "within the test-set noise" in words.chosen_c(0.002, 0.005, rows, 40.5, 35.0,
                                                         "x", n_test=200,
                                                         hits=[chosen_right, None])
    with pytest.raises(ValueError, match="not the same predictions"):
        words.chosen_c(0.002, 0.005, rows, 41.0, 35.0, "x", hits=[chosen_right, paper_right])


def test_a_clear_fall_over_the_last_step_is_not_levelling_off():
    """-4 points with p = 2e-12 once read "the curve is levelling off"."""
    a = np.zeros(1000, bool)
    a[:500] = True
    b = a.copy()
    b[:40] = False
    rows = [{"k": 1000, "top-1 (%)": 50.0}, {"k": 4000, "top-1 (%)": 46.0}]
    said = words.curve_trend(rows, last_hits=[a, b])
    assert "levelling off" not in said and "top-1 falls over this step" in said
    assert "levelling off" not in words.curve_trend(
        [{"k": 1000, "top-1 (%)": 50.0}, {"k": 4000, "top-1 (%)": 45.0}], n_test=1000)
    # a small gain below 1 point a decade is still levelling off
    c = a.copy()
    c[500:510] = True                           # +1.0 point over two decades, p = 0.002
    assert "levelling off" in words.curve_trend(
        [{"k": 1000, "top-1 (%)": 50.0}, {"k": 100_000, "top-1 (%)": 51.0}],
        last_hits=[a, c])


def test_empty_hits_are_refused_not_read_as_zero_images():
    """Empty hits once printed "on the same 0 test images ... p = 1"."""
    rows = [{"C": 0.002, "validation top-1 (%)": 70.0},
            {"C": 0.005, "validation top-1 (%)": 69.0}]
    empty = np.array([], bool)
    with pytest.raises(ValueError, match="hits"):
        words.chosen_c(0.002, 0.005, rows, 40.5, 35.0, "x", hits=[empty, empty])
    with pytest.raises(ValueError, match="hits"):
        words.mlp_against_svm({1: 0.5, 2: 0.7}, {1: 0.5, 2: 0.7}, 3, 100, None,
                              hits=[empty, empty])


def test_the_validation_choice_is_read_paired_on_the_same_validation_images():
    """2.7 points ahead with p = 0.0009 on the same 1,000 validation images once read
    "within the noise ... (about ±4.38 points): no firm choice"."""
    rows = [{"C": 0.002, "validation top-1 (%)": 72.7},
            {"C": 0.005, "validation top-1 (%)": 70.0}]
    paper_right = np.zeros(1000, bool)
    paper_right[:700] = True
    chosen_right = paper_right.copy()
    chosen_right[700:727] = True
    unpaired = words.chosen_c(0.002, 0.005, rows, 75.5, 75.0, "x", n_val=1000)
    assert "no firm choice" in unpaired
    paired = words.chosen_c(0.002, 0.005, rows, 75.5, 75.0, "x", n_val=1000,
                            validation_hits=[chosen_right, paper_right])
    assert "no firm choice" not in paired
    assert ("beyond the noise of this difference on the same 1,000 validation images (27 "
            "of them right under one C only; exact paired test p = 1.5e-08)") in paired
    # a grid without the paper's C: no hits for it, the unpaired reading
    assert "no firm choice" in words.chosen_c(0.002, 0.005, rows, 75.5, 75.0, "x",
                                              n_val=1000,
                                              validation_hits=[chosen_right, None])
    with pytest.raises(ValueError, match="validation_hits"):
        words.chosen_c(0.002, 0.005, rows, 75.5, 75.0, "x",
                       validation_hits=[paper_right, chosen_right])
    # a tie on validation is a tie, the smaller C kept by rule
    tie = [{"C": 0.001, "validation top-1 (%)": 40.0},
           {"C": 0.005, "validation top-1 (%)": 40.0}]
    assert "(tied: the grid keeps the smaller C)" in words.chosen_c(
        0.001, 0.005, tie, 41.0, 40.0, "x")


def test_the_hardest_classes_name_every_class_tied_at_the_cut():
    """Cat 20%, bird 25%, airplane, dog and ship 30% once read "cat, bird, airplane"."""
    classes = ["airplane", "bird", "cat", "dog", "ship", "truck"]
    per_class = [0.3, 0.25, 0.2, 0.3, 0.3, 0.9]
    assert words.hardest_classes(per_class, classes) == (
        "cat, bird, airplane, dog, ship (the last 3 tied at 30.0%)")
    assert words.hardest_classes([0.3, 0.25, 0.2, 0.5, 0.6, 0.9], classes) == (
        "cat, bird, airplane")
    assert words.hardest_classes([0.5, 0.1], ["a", "b"]) == "b, a"


def test_a_level_mlp_and_a_seed_mean_near_100_read_right():
    """Once printed: "level with the SVM by 0.00 points"; "interval for the mean 99.82% to
    100.11%"."""
    said = words.mlp_against_svm({1: 0.5, 2: 0.7}, {1: 0.5, 2: 0.8}, 3, 100, None)
    assert "level with the SVM in top-1" in said and "by 0.00" not in said
    assert "above the SVM by 1.00 points" in words.mlp_against_svm(
        {1: 0.51, 2: 0.7}, {1: 0.5, 2: 0.8}, 3, 100, None)
    said = words.seed_spread(spread([99.9, 100.0, 100.0]), 1000, "all")
    assert "100.11" not in said and "to 100.00%" in said


def test_the_record_curve_meets_this_run_only_with_its_images_seed_and_c():
    """Only the image counts were once compared, so a run with another seed or C
    was said to agree with the record where both ran."""
    rec = {"n_train": 50_000, "n_test": 10_000, "seed": 2018, "C": 0.005}
    assert words.record_curve_note(rec, 50_000, 10_000, 2018, 0.005).startswith(
        "at the k both ran, the two agree")
    assert words.record_curve_note(rec, 50_000, 10_000, 7, 0.02) == (
        "the record used seed 2018 and C = 0.005, this run seed 7 and C = 0.02, so the two "
        "curves need not meet where both ran")
    assert words.record_curve_note(rec, 2_000, 500, 2018, 0.005) == (
        "the record used 50,000 training and 10,000 test images, this run 2,000 training "
        "and 500 test images, so the two curves need not meet where both ran")
    assert "an unknown C" in words.record_curve_note(
        {k: v for k, v in rec.items() if k != "C"}, 50_000, 10_000, 2018, 0.005)
    assert words.record_curve_note(None, 1, 1, 1, 1.0) == (
        "no record is committed for this dataset")
