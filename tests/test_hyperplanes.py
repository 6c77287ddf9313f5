"""The random-hyperplane identities, checked numerically on random images."""
import math

import pytest
import torch

import numpy as np

from rdsc.hyperplanes import (auc_reading, cells_reading, counted_features, distinct_patches,
                              fraction_feature, identity_reading, image_patches, log10_n_cells,
                              n_cells, occupied_cells, patches_on_hyperplanes, separation_auc,
                              shuffled_aucs, side_counts)
from rdsc.network import RandomDepthwiseSignNet


def images(n=6, size=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=gen).double() / 255


@pytest.mark.parametrize("kernel_size,padding,size", [(5, 1, 32), (3, 1, 20), (5, 0, 17)])
def test_first_layer_feature_is_a_patch_count(kernel_size, padding, size):
    net = RandomDepthwiseSignNet(12, kernel_size=kernel_size, n_blocks=0,
                                 first_padding=padding).double()
    x = images(size=size)
    patches = image_patches(x, kernel_size, padding)
    side = size + 2 * padding - kernel_size + 1
    assert patches.shape == (6, side * side, 3 * kernel_size**2)
    network = net(x)
    for f in range(12):
        w, b = net.conv_weight[f], float(net.conv_bias[f])
        counts = side_counts(patches, w, b)
        assert torch.equal(counts["positive"] + counts["negative"] + counts["on"],
                           torch.full((6,), side * side))
        assert int(counts["on"].sum()) == 0
        frac_pos = counts["positive"].double() / (side * side)
        assert torch.equal(fraction_feature(patches, w, b), network[:, f])
        assert torch.allclose(network[:, f], 2 * frac_pos - 1, atol=1e-12)


def test_patch_dot_product_is_the_convolution():
    net = RandomDepthwiseSignNet(3, n_blocks=0).double()
    x = images(2)
    # 2 x 3 x 30 x 30
    conv = torch.nn.functional.conv2d(x, net.conv_weight, net.conv_bias, padding=1)
    patches = image_patches(x, 5, 1)
    by_patches = patches @ net.conv_weight.reshape(3, -1).T + net.conv_bias
    assert torch.allclose(by_patches.transpose(1, 2).reshape(2, 3, 30, 30), conv, atol=1e-12)


def test_patches_on_the_hyperplane_count_zero():
    patches = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [2.0, 2.0]]], dtype=torch.float64)
    w = torch.tensor([1.0, 0.0], dtype=torch.float64)
    counts = side_counts(patches, w, 0.0)
    assert (counts["positive"].item() == 2 and counts["negative"].item() == 1
            and counts["on"].item() == 1)
    assert fraction_feature(patches, w, 0.0).item() == pytest.approx((2 - 1) / 4)


def test_number_of_cells():
    assert n_cells(3, 2) == 7          # three lines in general position in the plane
    assert n_cells(5, 75) == 2**5      # fewer hyperplanes than dimensions: every sign pattern
    assert n_cells(1, 1) == 2
    assert n_cells(4, 3) == 15
    assert n_cells(100_000, 75) == sum(math.comb(100_000, i) for i in range(76))


def test_log10_of_the_number_of_cells():
    # chapter 1's headline count had no test (a natural log, or n and d swapped)
    assert log10_n_cells(3, 2) == pytest.approx(math.log10(7))   # 1 + 3 + 3 cells
    assert log10_n_cells(2, 5) == pytest.approx(math.log10(4))   # every sign pattern of 2
    assert log10_n_cells(1, 1) == pytest.approx(math.log10(2))
    # paper scale: C(100,000, 75) by log-gamma, and the sum of the smaller terms adds about
    # 75 / 99,926 of it; the chapter's number of digits is the count's own
    top = (math.lgamma(100_001) - math.lgamma(76) - math.lgamma(99_926)) / math.log(10)
    big = log10_n_cells(100_000, 75)
    assert top < big < top + math.log10(1.001)
    assert int(big) + 1 == len(str(n_cells(100_000, 75)))


def test_cells_reading_splits_at_ninety_percent():
    # chapter 1's sentence on the cells had no test; 90% exactly is not "nearly every"
    said = cells_reading(95, 100)
    assert said.startswith("that is 95% of the distinct patches: the hyperplanes already")
    for occupied, distinct, percent in ((90, 100, "90%"), (50, 200, "25%")):
        said = cells_reading(occupied, distinct)
        assert said.startswith(f"that is {percent} of the distinct patches: many distinct")


def test_occupied_cells_on_a_grid():
    pts = torch.tensor([[x, y] for x in (-1.0, 1.0) for y in (-1.0, 1.0)] * 3, dtype=torch.float64)
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    assert occupied_cells(pts, w, torch.zeros(2, dtype=torch.float64)) == 4
    assert occupied_cells(pts, w[:1], torch.zeros(1, dtype=torch.float64), chunk=5) == 2


def test_receptive_field_matches_a_linear_probe():
    """Replace sign by identity and read which input pixels reach the centre output."""
    for dataset in ["cifar10", "stl10", "corel"]:
        net = RandomDepthwiseSignNet.for_dataset(dataset, 1)
        K, field = net.kernel_size, net.receptive_field()
        size = field + 8
        x = torch.zeros(1, 1, size, size, requires_grad=True)
        h = torch.nn.functional.conv2d(x, torch.ones(1, 1, K, K), padding=net.first_padding)
        for i in range(2 * net.n_blocks):
            if i % 2 == 0:
                h = torch.nn.functional.avg_pool2d(h, 2)
            h = torch.nn.functional.conv2d(h, torch.ones(1, 1, K, K), padding=net.padding)
        c = h.shape[-1] // 2
        h[0, 0, c, c].backward()
        rows = torch.nonzero(x.grad[0, 0].abs().sum(1))
        assert int(rows.max() - rows.min() + 1) == field, dataset


def test_counted_features_are_the_first_layer():
    net = RandomDepthwiseSignNet(7, n_blocks=0).double()
    x = images(3)
    patches = image_patches(x, 5, 1)
    assert torch.equal(counted_features(patches, net.conv_weight, net.conv_bias), net(x))
    assert patches_on_hyperplanes(patches, net.conv_weight, net.conv_bias) == 0


def test_patches_on_hyperplanes_counts_every_pair():
    patches = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]], dtype=torch.float64)
    weights = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    # x = 0 holds patches 2 and 3; y = 0 holds patches 1 and 3
    assert patches_on_hyperplanes(patches, weights, torch.zeros(2)) == 4
    assert "neither side" in identity_reading(0, 4)
    assert "disagree" in identity_reading(1, 0)


def test_distinct_patches_compares_the_pixels_exactly():
    x = images(2, size=8)
    x[1] = x[0]                          # the second image repeats the first
    patches = image_patches(x, 3, 0)     # 2 x 36 x 27
    assert distinct_patches(patches) == len(torch.unique(patches[0], dim=0))
    assert distinct_patches(patches, chunk=7) == distinct_patches(patches)
    # one pixel one level brighter makes the patches that hold it distinct
    y = x.clone()
    y[1, 0, 0, 0] = (y[1, 0, 0, 0] * 255 + (1 if y[1, 0, 0, 0] < 1 else -1)) / 255
    assert distinct_patches(image_patches(y, 3, 0)) == distinct_patches(patches) + 1
    with pytest.raises(ValueError, match="j / 255"):
        distinct_patches((patches - 0.5) / 0.25)    # normalised: rounding would merge


def test_separation_auc():
    values = np.array([[0.1, 5.0, 1.0], [0.2, 4.0, 1.0], [0.3, 3.0, 1.0], [0.4, 2.0, 1.0]])
    positive = np.array([False, False, True, True])
    # feature 0 separates upwards, feature 1 downwards (either side counts), 2 is constant
    assert separation_auc(values, positive).tolist() == [1.0, 1.0, 0.5]
    mixed = np.array([[1.0], [3.0], [2.0], [4.0]])     # one pair out of order of four
    assert separation_auc(mixed, positive)[0] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="both classes"):
        separation_auc(values, np.ones(4, bool))
    with pytest.raises(ValueError, match="one label per row"):
        separation_auc(values, positive[:3])


def test_shuffled_aucs_are_chance_levels_above_one_half():
    gen = np.random.default_rng(0)
    positive = np.arange(200) < 100
    one = np.median(shuffled_aucs(gen.standard_normal((200, 1)), positive, seed=1)["best"])
    many = shuffled_aucs(gen.standard_normal((200, 500)), positive, seed=1)
    assert 0.5 <= one < 0.6 < np.median(many["best"]) < 0.75
    # the median of folded AUCs is above 0.5 by chance, more so for few images
    few = shuffled_aucs(gen.standard_normal((8, 500)), np.arange(8) < 4, seed=1)
    assert 0.5 < np.median(many["median"]) < np.median(few["median"])


def test_auc_reading_sets_the_features_against_the_shuffled_labels():
    gen = np.random.default_rng(0)
    positive = np.arange(8) < 4
    noise = gen.standard_normal((8, 16))
    auc = separation_auc(noise, positive)
    said = auc_reading(auc.max(), np.median(auc), shuffled_aucs(noise, positive))
    assert "no better than the best of as many features with the labels shuffled" in said
    # one feature that separates 100 against 100 images perfectly, 15 that are noise
    positive = np.arange(200) < 100
    values = gen.standard_normal((200, 16))
    values[:, 0] += 10 * positive
    auc = separation_auc(values, positive)
    said = auc_reading(auc.max(), np.median(auc), shuffled_aucs(values, positive))
    assert said.startswith("the best single feature separates airplanes from frogs well (1.00)")
    assert "a typical feature is not" in said


def test_one_bias_per_hyperplane():
    # zip dropped the hyperplanes past the last bias; one bias went to all
    from rdsc.hyperplanes import counted_features, occupied_cells, patches_on_hyperplanes
    patches = torch.rand(2, 9, 12, dtype=torch.float64)
    weights, biases = torch.randn(6, 12, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    assert counted_features(patches, weights, biases).shape == (2, 6)
    for short in (biases[:3], biases[:1]):
        for f in (counted_features, occupied_cells, patches_on_hyperplanes):
            with pytest.raises(ValueError, match="one bias per hyperplane"):
                f(patches, weights, short)


def test_distinct_patches_takes_float32_images_divided_by_255():
    # images.float() / 255 was refused with advice to do exactly that
    from rdsc.hyperplanes import distinct_patches
    pixels = torch.arange(256, dtype=torch.uint8).reshape(64, 4)
    assert distinct_patches(pixels.float() / 255) == 64
    assert distinct_patches(pixels.double() / 255) == 64
    with pytest.raises(ValueError, match="other values"):
        distinct_patches((pixels.float() / 255 - 0.5) / 0.25)
    with pytest.raises(ValueError, match="float32 or float64"):
        distinct_patches(pixels.half() / 255)


def test_patches_of_0_to_255_pixels_are_refused_where_the_biases_assume_0_to_1():
    # 0..255 patches changed 87.5% of counted features without a word, while
    # distinct_patches refused them
    from rdsc.hyperplanes import counted_features, occupied_cells, patches_on_hyperplanes
    g = torch.Generator().manual_seed(0)
    patches = torch.randint(0, 256, (2, 9, 12), generator=g).double()
    w, b = torch.randn(3, 12, generator=g).double(), torch.rand(3, generator=g).double()
    for call in (lambda p: counted_features(p, w, b), lambda p: occupied_cells(p, w, b),
                 lambda p: patches_on_hyperplanes(p, w, b)):
        with pytest.raises(ValueError, match="0..255 pixels"):
            call(patches)
        call(patches / 255)  # the same patches in [0, 1]


def test_counts_and_labels_that_would_read_as_plausible_sentences_are_refused():
    # n_cells(-1, 75) gave 0; cells_reading(10, 5) "200% of the
    # distinct patches"; 1/2 labels "needs images of both classes"; 0/1/2 labels merged two
    # classes; NaN features gave NaN AUCs; n_shuffles=0 failed later in numpy
    import numpy as np
    from rdsc.hyperplanes import cells_reading, n_cells, separation_auc, shuffled_aucs
    with pytest.raises(ValueError, match="at least 0"):
        n_cells(-1, 75)
    for bad in ((10, 5), (5, 0), (0, 5)):
        with pytest.raises(ValueError, match="occupied cells <= distinct patches"):
            cells_reading(*bad)
    values = np.random.default_rng(0).normal(size=(8, 3))
    for labels in (np.array([1, 2] * 4), np.array([0, 1, 2, 0, 1, 2, 0, 1])):
        with pytest.raises(ValueError, match="one boolean \\(or 0/1\\) per image"):
            separation_auc(values, labels)
    assert separation_auc(values, np.array([0, 1] * 4)).shape == (3,)
    values[2, 1] = np.nan
    with pytest.raises(ValueError, match="1 feature values are NaN"):
        separation_auc(values, np.array([0, 1] * 4))
    with pytest.raises(ValueError, match="n_shuffles"):
        shuffled_aucs(values[:, :1] * 0 + 1, np.array([0, 1] * 4), n_shuffles=0)


def test_the_hyperplane_shown_is_the_first_that_cuts_both_clouds():
    """For about one seed in five the first hyperplane once left both images'
    patches on one side, and the text still said it cut them 'in the same proportion'."""
    from rdsc.hyperplanes import first_cutting_hyperplane, shares_verdict
    # two overlapping clouds of 1-d patches
    clouds = torch.tensor([[0.1, 0.3, 0.5, 0.7], [0.2, 0.4, 0.6, 0.9]])[..., None]
    weights = torch.ones(3, 1)
    # x > 2 misses both, x > 0.85 cuts the second only, x > 0.55 cuts both
    biases = torch.tensor([-2.0, -0.85, -0.55])
    assert first_cutting_hyperplane(clouds, weights, biases) == 2
    assert first_cutting_hyperplane(clouds[1:], weights, biases) == 1
    assert first_cutting_hyperplane(clouds, weights[:2], biases[:2]) is None
    # a 5% margin once passed over hyperplanes that cut both clouds thinly, and the
    # caption called a later one "the first to cut both"; one patch on a side is a cut
    thin = torch.tensor([-2.0, -0.65, -0.45])   # the second cuts 1 patch of each, the
    # third half of each
    assert first_cutting_hyperplane(clouds, weights, thin) == 1
    assert first_cutting_hyperplane(clouds, weights, thin, margin=0.3) == 2
    with pytest.raises(ValueError, match="margin"):
        first_cutting_hyperplane(clouds, weights, thin, margin=0.5)
    with pytest.raises(ValueError, match="pixels in \\[0, 1\\]"):
        first_cutting_hyperplane(clouds * 255, weights, thin)
    assert shares_verdict([1.0, 1.0]).startswith("leaves at least one of the clouds wholly")
    assert shares_verdict([0.25, 0.75]) == "cuts the clouds in different proportions"
    assert shares_verdict([0.254, 0.246]) == "cuts the clouds in the same proportion"
    # 99.78% and 99.89% once read "cuts ... in the same proportion: 100% and 100%"
    from rdsc.hyperplanes import share_percent
    assert [share_percent(v) for v in (898 / 900, 899 / 900)] == ["99.8%", "99.9%"]
    assert shares_verdict([898 / 900, 899 / 900]) == "cuts the clouds in different proportions"
    assert [share_percent(v) for v in (0.0, 1.0, 0.254, 1 / 9000)] == ["0%", "100%", "25%",
                                                                      "0.01%"]
    with pytest.raises(ValueError, match="fractions"):
        shares_verdict([25.0, 75.0])


def test_the_readings_of_shares_auc_and_patches():
    """The shuffles' median in place of their largest, a 0.8 threshold, any for all, and
    non-j/255 patches once passed these tests."""
    from rdsc import hyperplanes as H
    assert H.shares_verdict([0.0, 0.4]).startswith("leaves at least one")
    said = H.auc_reading(0.95, 0.62, {"best": np.array([0.7, 0.8]),
                                      "median": np.array([0.55, 0.65])})
    assert "a typical feature is not (median 0.62, shuffled medians up to 0.65)" in said
    assert "separates airplanes from frogs partly" in H.auc_reading(
        0.85, 0.6, {"best": np.array([0.7]), "median": np.array([0.55])})
    with pytest.raises(ValueError, match="8-bit pixels"):
        H.distinct_patches(torch.full((2, 3), 0.101))


def test_a_best_auc_equal_to_the_shuffles_best_is_no_better():
    """AUCs are discrete, and a tie with the shuffled labels' best read as beyond chance once
    passed these tests."""
    from rdsc import hyperplanes as H
    said = H.auc_reading(0.8, 0.6, {"best": np.array([0.8]), "median": np.array([0.6])})
    assert said.startswith("the best single feature (0.80) is no better")


def test_auc_readings_say_a_verdict_two_networks_share_once():
    """Chapter 1 once repeated its chance verdict word for word for L = 0 and L = 1."""
    from rdsc import hyperplanes as H

    def shuffled(best, median):
        return {"best": np.array([best]), "median": np.array([median])}
    both_chance = H.auc_readings({"L = 0": (1.0, 0.8, shuffled(1.0, 0.8)),
                                  "L = 1": (0.9, 0.7, shuffled(1.0, 0.75))})
    assert both_chance.count("beyond chance") == 1
    assert both_chance.startswith("for both L = 0 and L = 1, the best single feature is no")
    assert "L = 0: 1.00 against 1.00; L = 1: 0.90 against 1.00" in both_chance
    differ = H.auc_readings({"L = 0": (0.95, 0.7, shuffled(0.8, 0.6)),
                                  "L = 1": (0.97, 0.5, shuffled(0.8, 0.6))})
    # a typical feature beyond chance in one network only: two verdicts, each named
    assert differ.startswith("L = 0: the best single feature separates")
    assert "; L = 1: the best single feature separates" in differ
    assert "a typical feature is not (median 0.50, shuffled medians up to 0.60)" in differ
    same = H.auc_readings({"L = 0": (0.95, 0.7, shuffled(0.8, 0.6)),
                           "L = 1": (0.97, 0.75, shuffled(0.8, 0.6))})
    assert same.count("separates airplanes from frogs") == 1
    assert same.count("a typical feature is beyond chance too") == 1
    three = H.auc_readings({n: (0.95, 0.7, shuffled(0.8, 0.6)) for n in "abc"})
    assert three.startswith("for each of a, b and c, the best single feature separates")
    assert "median against the shuffles' largest median, a: 0.70 against 0.60;" in three
    # one network reads as auc_reading, with its name
    assert H.auc_readings({"L = 0": (0.95, 0.7, shuffled(0.8, 0.6))}) == (
        "L = 0: " + H.auc_reading(0.95, 0.7, shuffled(0.8, 0.6)))


def test_a_chapter_1_run_reads_as_one_column_beside_its_record():
    from rdsc.hyperplanes import run_summary
    rows = run_summary({
        "n_images": 5000, "n_features": 2000, "n_patches": 4_500_000,
        "n_distinct_patches": 4_493_427, "counted_vs_network_differ": 0,
        "patches_on_a_hyperplane": 0,
        "occupied_cells": {"4": 14, "16": 2222, "64": 776_999, "256": 3_737_053},
        "single_feature_auc": {"L = 0": [0.5, 0.6, 0.9], "L = 1 (paper)": [0.55, 0.7]}})
    # the largest k, not the last key read as text ("64" > "256")
    assert rows["occupied cells, largest k counted"] == "3,737,053 (k = 256)"
    assert rows["median / best single-feature AUC, L = 0"] == "0.600 / 0.900"
    assert rows["median / best single-feature AUC, L = 1 (paper)"] == "0.625 / 0.700"
    assert rows["patches (distinct)"] == "4,500,000 (4,493,427)"
    older = run_summary({"n_images": 40, "n_features": 16, "n_patches": 36_000,
                         "n_distinct_patches": 35_000, "counted_vs_network_differ": 0,
                         "patches_on_a_hyperplane": 0})
    assert older["occupied cells, largest k counted"] == "–"
    assert not any(name.startswith("median") for name in older)

    for damaged in (0.7, ["0.5", "x"], [0.5, float("nan")], [1.7], []):
        rows = run_summary({"n_images": 40, "n_features": 16, "n_patches": 36_000,
                            "n_distinct_patches": 35_000, "counted_vs_network_differ": 0,
                            "patches_on_a_hyperplane": 0,
                            "single_feature_auc": {"L = 0": damaged}})
        assert rows["median / best single-feature AUC, L = 0"] == "–", damaged
