"""rdsc.background: masks, compositing, donors, colour changes, capture, bootstrap, mechanism,
retrieval helpers, chapter 4's deep networks on the conditions (tests/test_chapters.py runs
the chapter itself)."""

import numpy as np
import pandas as pd
import pytest
import torch

from rdsc import background as bg
from rdsc import headlines
from rdsc.representations import colour_histogram


def random_images(n=12, h=8, w=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, h, w), generator=gen, dtype=torch.uint8)


@pytest.mark.parametrize("h,w,fraction",
                         [(32, 32, 0.5), (112, 112, 0.5), (7, 10, 0.3), (128, 128, 0.5)])
def test_masks_are_complementary_and_area_matched(h, w, fraction):
    centre, ring = bg.centre_mask(h, w, fraction), bg.ring_mask(h, w, fraction)
    assert centre.dtype == torch.bool and centre.shape == (h, w)
    assert not (centre & ring).any() and (centre | ring).all()
    assert int(centre.sum()) == round(fraction * h * w)
    # the centre pixel is in the centre, the corners in the ring
    assert centre[h // 2, w // 2]
    assert ring[0, 0] and ring[-1, -1] and ring[0, -1] and ring[-1, 0]


def test_centre_is_nearer_the_middle_than_the_ring():
    centre = bg.centre_mask(32, 32)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    dist = (yy - 15.5) ** 2 + (xx - 15.5) ** 2
    assert dist[centre].max() <= dist[~centre].min()


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_mask_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction"):
        bg.centre_mask(32, 32, fraction)


def test_composite_keeps_the_pixels_it_should():
    a, b = random_images(4, seed=1), random_images(4, seed=2)
    ring = bg.ring_mask(8, 8)
    out = bg.composite(a, b, ring)
    assert torch.equal(out[:, :, ring], b[:, :, ring])
    assert torch.equal(out[:, :, ~ring], a[:, :, ~ring])
    assert torch.equal(a, random_images(4, seed=1)), "the input must not be modified"


def test_composite_and_fill_reject_bad_input():
    a = random_images(2)
    with pytest.raises(ValueError, match="same shape"):
        bg.composite(a, random_images(3), bg.ring_mask(8, 8))
    with pytest.raises(ValueError, match="mask shape"):
        bg.composite(a, a, bg.ring_mask(9, 8))
    with pytest.raises(TypeError, match="uint8"):
        bg.composite(a.float(), a, bg.ring_mask(8, 8))
    with pytest.raises(ValueError, match="grey level"):
        bg.fill(a, bg.ring_mask(8, 8), 300)
    centre = bg.centre_mask(8, 8)
    # a 0/1 integer mask: ~ would complement it bitwise and grey every pixel
    for bad in (centre.to(torch.uint8), centre.long(), centre.numpy()):
        with pytest.raises(TypeError, match="bool tensor H x W"):
            bg.fill(a, bad, 100)
        with pytest.raises(TypeError, match="bool tensor H x W"):
            bg.database_versions(a, bad)
    for bad in (centre[4], centre[4:5], bg.centre_mask(4, 4)):  # would broadcast as stripes
        with pytest.raises(ValueError, match="must be the images' H x W"):
            bg.fill(a, bad, 100)
        with pytest.raises(ValueError, match="must be the images' H x W"):
            bg.database_versions(a, bad)
    with pytest.raises(ValueError, match="holds no images"):
        bg.database_versions(a[:0], centre)
    with pytest.raises(ValueError, match="finite"):
        bg.rotate_hue(a, float("nan"))


def test_fill_sets_only_the_region():
    a = random_images(3)
    centre = bg.centre_mask(8, 8)
    out = bg.fill(a, centre, 117)
    assert (out[:, :, centre] == 117).all()
    assert torch.equal(out[:, :, ~centre], a[:, :, ~centre])


def test_donors_same_class_never_self_other_class_never_same():
    labels = np.repeat(np.arange(5), [2, 3, 7, 2, 6])
    for seed in range(20):
        same = bg.choose_donors(labels, True, seed)
        other = bg.choose_donors(labels, False, seed)
        assert (same != np.arange(len(labels))).all()
        assert (labels[same] == labels).all()
        assert (labels[other] != labels).all()
    # a two-image class can only swap
    assert list(bg.choose_donors(np.array([0, 0, 1, 1]), True, 3)) == [1, 0, 3, 2]
    assert np.array_equal(bg.choose_donors(labels, True, 7), bg.choose_donors(labels, True, 7))


def test_same_class_donors_cover_all_others():
    labels = np.zeros(4, dtype=int)
    seen = {tuple(bg.choose_donors(labels, True, s)) for s in range(200)}
    drawn_for_first = {d[0] for d in seen}
    assert drawn_for_first == {1, 2, 3}


def test_donors_reject_impossible_requests():
    with pytest.raises(ValueError, match="one image"):
        bg.choose_donors(np.array([0, 0, 1]), True)
    with pytest.raises(ValueError, match="two classes"):
        bg.choose_donors(np.array([2, 2, 2]), False)


def test_grayscale_and_hue_rotation():
    a = random_images(5)
    g = bg.grayscale(a)
    assert torch.equal(g[:, 0], g[:, 1]) and torch.equal(g[:, 1], g[:, 2])
    grey = torch.full((1, 3, 4, 4), 90, dtype=torch.uint8)
    assert torch.equal(bg.grayscale(grey), grey)
    assert torch.equal(bg.rotate_hue(grey, 77), grey), "greys stay grey"
    assert torch.equal(bg.rotate_hue(a, 0), a) and torch.equal(bg.rotate_hue(a, 360), a)
    red = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    red[:, 0] = 255
    green = bg.rotate_hue(red, 120)
    assert green[0, :, 0, 0].tolist() == [0, 255, 0]
    # the mean of the channels is kept (up to rounding) where nothing clips
    mid = torch.randint(100, 156, (4, 3, 5, 5), dtype=torch.uint8)
    rotated = bg.rotate_hue(mid, 180)
    assert (rotated.float().mean(1) - mid.float().mean(1)).abs().max() <= 1.0
    assert not torch.equal(rotated, mid)


def test_make_conditions():
    a = random_images(12)
    labels = np.repeat(np.arange(3), 4)
    conds, donors = bg.make_conditions(a, labels, grey=128)
    assert list(conds) == list(bg.CONDITIONS)
    centre = bg.centre_mask(8, 8)
    d = donors["other"]
    assert torch.equal(conds["ring, other class"][:, :, centre], a[:, :, centre])
    assert torch.equal(conds["ring, other class"][:, :, ~centre], a[d][:, :, ~centre])
    assert torch.equal(conds["centre, other class"][:, :, centre], a[d][:, :, centre])
    assert (conds["background only"][:, :, centre] == 128).all()
    assert (conds["foreground only"][:, :, ~centre] == 128).all()
    assert all(c.shape == a.shape and c.dtype == torch.uint8 for c in conds.values())
    with pytest.raises(ValueError, match="labels"):
        bg.make_conditions(a, labels[:5], grey=128)


def test_donor_capture_on_a_constructed_example():
    clean = np.array([0, 1, 2, 3, 4, 5])
    pred = np.array([0, 7, 2, 8, 9, 6])    # images 1, 3, 4, 5 changed
    donor = np.array([3, 7, 4, 8, 1, 2])   # 1 and 3 changed *to* the donor's class
    cap = bg.donor_capture(clean, pred, donor)
    assert cap["changed"].tolist() == [False, True, False, True, True, True]
    assert cap["captured"].tolist() == [False, True, False, True, False, False]
    assert bg.capture_rate(cap["changed"], cap["captured"]) == 0.5
    assert np.isnan(bg.capture_rate(np.zeros(3, bool), np.zeros(3, bool)))


def test_effect_rows_on_constructed_predictions():
    labels = np.repeat(np.arange(4), 25)
    donor = (labels + 1) % 4
    clean = labels.copy()
    preds = {c: clean.copy() for c in bg.CONDITIONS}
    # half go to the donor
    preds["ring, other class"] = np.where(np.arange(100) % 2 == 0, donor, labels)
    preds["centre, other class"] = np.where(np.arange(100) % 2 == 0, (labels + 2) % 4, labels)
    preds["background only"] = np.zeros(100, dtype=int)  # always class 0: 25% correct, chance 25%
    out = bg.effect_rows([preds, preds, preds], labels, donor, 4, n_boot=100)
    assert out["ring cost"][0] == pytest.approx(0.5)
    assert out["ring capture"][0] == 1.0
    assert out["centre capture"][0] == 0.0
    # chance: the donor, drawn from the 75 images of the 3 other classes, is of the
    # changed prediction's class one time in 3
    assert out["ring capture chance"][0] == pytest.approx(1 / 3)
    wrong = {**preds, "clean": donor.copy()}  # clean predictions already on the donor's class
    wrong["ring, other class"] = labels.copy()   # every prediction changes, none can land
    assert bg.effect_rows([wrong], labels, donor, 4, n_boot=20)["ring capture chance"][0] == 0
    # changes back to the true class can never be captured, whatever the clean prediction
    # (the chance once counted them 1 in 3 where the clean prediction was not the donor's)
    back = {**preds, "clean": (labels + 2) % 4, "ring, other class": labels.copy()}
    assert bg.effect_rows([back], labels, donor, 4, n_boot=20)["ring capture chance"][0] == 0
    # classes of unequal size: a donor is drawn from the other classes' images
    uneven = np.array([0] * 10 + [1] * 30 + [2] * 60)
    moved = uneven.copy()
    moved[[0, 10, 40]] = [1, 2, 0]
    assert bg.donor_chance(uneven, moved, 3)[[0, 10, 40, 41]].tolist() == (
        [30 / 90, 60 / 70, 10 / 40, 0.0])
    assert out["background only above chance"][0] == pytest.approx(0.0)
    # the costs, differences of accuracies, were once headed "(%)"
    _, table = bg.effects_over_datasets({"d": {
        "classes": list("abcd"), "labels": labels,
        "donors": {"other": (np.arange(100) + 25) % 100},  # images of the next class
        "predictions": {"net": [preds]}}}, n_boot=20)
    assert table[0]["ring cost (points)"].startswith("50.0 [")
    assert "background only above chance (points)" in table[0]
    assert table[0]["ring capture (%)"].startswith("100.0 [")
    assert table[0]["ring capture chance (%)"] == "33.3"
    rows = bg.accuracy_rows([preds], labels, n_boot=50)
    assert [r["condition"] for r in rows] == list(bg.CONDITIONS)
    assert rows[0]["accuracy"] == 1.0
    with pytest.raises(ValueError, match="donor"):
        bg.effect_rows([preds], labels, labels, 4, n_boot=10)


def test_mean_colour_agreement_can_be_one_and_near_half():
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(16, 3, 5, 5, generator=gen)
    b = torch.randn(16, generator=gen)
    flat = torch.randint(0, 256, (4, 3, 1, 1), dtype=torch.uint8)
    flat = flat.expand(-1, -1, 12, 12).contiguous()
    # constant images, no padding: every patch is its mean colour, so a == z
    assert np.allclose(bg.mean_colour_agreement(flat, w, b, padding=0), 1.0)
    # zero-sum filters and no bias: the mean part is 0, so agreement is the share of z <= 0
    w0 = w - w.mean(dim=(2, 3), keepdim=True)
    noise = random_images(8, 16, 16)
    agree = bg.mean_colour_agreement(noise, w0, None, padding=0)
    assert 0.3 < agree.mean() < 0.7
    with pytest.raises(ValueError, match="input channels"):
        bg.mean_colour_agreement(noise[:, :1], w, b, padding=0)


def test_box_blur_and_column_correlations():
    flat = torch.full((2, 3, 6, 6), 40, dtype=torch.uint8)
    assert torch.equal(bg.box_blur(flat, 3), flat)
    a = random_images(2, 6, 6)
    assert not torch.equal(bg.box_blur(a, 3), a)
    with pytest.raises(ValueError, match="odd"):
        bg.box_blur(a, 4)
    x = np.random.default_rng(0).normal(size=(50, 4))
    x[:, 3] = 1.0  # constant column: left out
    r = bg.column_correlations(x, -2 * x + 1)
    assert r.shape == (3,) and np.allclose(r, -1)
    # a unit the blur makes constant once kept nothing: r = 0, not left out
    flattened = -2 * x + 1
    flattened[:, 1] = 7.0
    r = bg.column_correlations(x, flattened)
    assert r.shape == (3,) and np.allclose(r, [-1, 0, -1])


def test_colour_histograms_of_a_region():
    img = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    img[0, 0] = 255            # image 0 red, image 1 black
    h = colour_histogram(img, bins=2)
    assert h.shape == (2, 8) and np.allclose(h.sum(1), 1)
    assert h[0, 4] == 1 and h[1, 0] == 1   # cell (r=1, g=0, b=0) = 4
    mixed = img[1:].clone()
    centre = bg.centre_mask(4, 4)
    mixed[:, :, centre] = 255
    hc = colour_histogram(mixed, bins=2, where=centre)
    hr = colour_histogram(mixed, bins=2, where=~centre)
    assert hc[0, 7] == 1 and hr[0, 0] == 1


def test_precision_and_partial_correlations():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), 10)
    feats = labels[:, None] * 10.0 + rng.normal(size=(30, 5))
    assert np.allclose(bg.precision_at(feats, labels, 5), 1.0)
    assert bg.precision_at(rng.normal(size=(30, 5)), labels, 5).mean() < 0.7
    with pytest.raises(ValueError, match="n must be"):
        bg.precision_at(feats, labels, 30)
    # y follows x beyond the control; z does not
    c = rng.normal(size=2000)
    x = rng.normal(size=2000)
    y = c + 0.5 * x + 0.1 * rng.normal(size=2000)
    z = c + rng.normal(size=2000)
    assert bg.partial_correlation(y, x, c[:, None]) > 0.9
    assert abs(bg.partial_correlation(z, x, c[:, None])) < 0.1
    # feature distance = border distance: border partial correlation near 1, centre near 0
    border, centre = rng.random((40, 2)), rng.random((40, 2))
    Db, Dc = bg.l1_distances(border), bg.l1_distances(centre)
    lab = np.repeat(np.arange(4), 10)
    noise = rng.normal(size=(40, 40)) * 0.01
    Df = Db + noise + noise.T  # border distance and a little of nothing else
    out = bg.distance_partial_correlations(Df, Db, Dc, lab)
    assert out["border"] > 0.99 and abs(out["centre"]) < 0.2
    # exactly the border distance: nothing is left for the centre to explain (it read a
    # correlation of rounding noise)
    assert np.isnan(bg.distance_partial_correlations(Db, Db, Dc, lab)["centre"])
    resampled = bg.distance_partial_correlations(Db, Db, Dc, lab,
                                                 index=np.array([0, 0, 1, 2, 3, 5, 7, 9, 11]))
    assert resampled["border"] > 0.99
    # inputs that once gave plausible numbers
    broken = feats.copy()
    broken[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        bg.precision_at(broken, labels, 5)
    with pytest.raises(ValueError, match="labels: shape N"):
        bg.precision_at(feats, labels[:, None], 5)
    with pytest.raises(ValueError, match="n must be a whole number"):
        bg.precision_at(feats, labels, 2.5)
    # a constant y leaves nothing to correlate (it gave 0.164, from rounding noise)
    assert np.isnan(bg.partial_correlation(np.ones(10), np.arange(10.0),
                                           rng.random((10, 2))))
    with pytest.raises(ValueError, match="finite values"):
        bg.distance_partial_correlations(np.full((40, 40), np.nan), Db, Dc, lab)


def test_partial_correlation_table_averages_networks_in_estimate_and_interval():
    """Each replicate once drew a single network, so the interval was a single network's
    while the estimate averaged them."""
    rng = np.random.default_rng(2)
    border, centre = rng.random((30, 2)), rng.random((30, 2))
    Db, Dc = bg.l1_distances(border), bg.l1_distances(centre)
    lab = np.repeat(np.arange(3), 10)
    # network 1 follows the border, network 2 the centre: the average sits between them
    # (with a little noise each: a distance that is exactly the border's leaves the centre's
    # partial correlation undefined)
    noise = rng.normal(size=(30, 30)) * 0.01
    nets = {1: Db + noise + noise.T, 2: Dc + noise + noise.T}
    table = bg.partial_correlation_table(nets, Db, Dc, lab, n_boot=50)
    assert list(table.index) == list(bg.PARTIAL_ROWS.values())
    one = {s: bg.distance_partial_correlations(D, Db, Dc, lab) for s, D in nets.items()}
    ring = "ring colour | centre colour, category"
    assert table.loc[ring, "estimate"] == pytest.approx((one[1]["border"]
                                                         + one[2]["border"]) / 2)
    assert (table["low"] <= table["high"]).all()
    # a replicate averages its drawn networks: with both networks identical, the interval
    # is that of the one network over images only
    same = bg.partial_correlation_table({1: Db, 2: Db}, Db, Dc, lab, n_boot=50, seed=3)
    alone = bg.partial_correlation_table({1: Db}, Db, Dc, lab, n_boot=50, seed=3)
    assert same.loc[ring, "estimate"] == pytest.approx(alone.loc[ring, "estimate"])
    # features whose distance is exactly the ring's: the centre's partial correlation is
    # undefined, shown as such, not averaged away or given an interval
    centre = "centre colour | ring colour, category"
    interval = ["estimate", "low", "high"]
    assert alone.loc[centre, interval].isna().all() and same.loc[centre, interval].isna().all()
    assert alone.loc[centre, "undefined resamples"] == 50
    assert (table["undefined resamples"] == 0).all()
    with pytest.raises(ValueError, match="n_boot"):
        bg.partial_correlation_table(nets, Db, Dc, lab, n_boot=1)


def test_partial_correlation_table_counts_the_resamples_that_withhold_its_interval(
        monkeypatch):
    """One undefined replicate once withheld the whole interval without saying how
    many there were; the table now counts them."""
    from rdsc.background import colour_retrieval
    rng = np.random.default_rng(5)
    Db, Dc = (bg.l1_distances(rng.random((20, 2))) for _ in range(2))
    lab = np.repeat(np.arange(2), 10)
    real = colour_retrieval.distance_partial_correlations

    def sometimes_undefined(D, Db_, Dc_, labels, index=None):
        out = real(D, Db_, Dc_, labels, index)
        if index is not None and index[0] < 4:  # about one replicate in five
            out["border"] = float("nan")
        return out
    monkeypatch.setattr(colour_retrieval, "distance_partial_correlations",
                        sometimes_undefined)
    table = bg.partial_correlation_table({1: Db + Dc}, Db, Dc, lab, n_boot=40, seed=1)
    ring = table.loc["ring colour | centre colour, category"]
    gen = np.random.default_rng(1)  # the replicates' first drawn images, as the table drew them
    expected = 0
    for _ in range(40):
        gen.integers(0, 1, 1)
        expected += int(gen.integers(0, 20, 20)[0] < 4)
    assert 0 < expected < 40 and ring["undefined resamples"] == expected
    assert np.isfinite(ring["estimate"]) and np.isnan(ring["low"]) and np.isnan(ring["high"])
    centre = table.loc["centre colour | ring colour, category"]
    assert centre["undefined resamples"] == 0 and centre["low"] <= centre["high"]


def test_histogram_svm_separates_colours():
    gen = torch.Generator().manual_seed(0)
    labels = np.repeat(np.arange(3), 20)
    base = torch.tensor([[200, 30, 30], [30, 200, 30], [30, 30, 200]], dtype=torch.float32)
    imgs = base[labels].view(-1, 3, 1, 1) + 20 * torch.randn(60, 3, 8, 8, generator=gen)
    imgs = imgs.clamp(0, 255).to(torch.uint8)
    clf = bg.HistogramSVM(bins=4, device="cpu").fit(imgs, labels)
    assert (clf.predict(imgs) == labels).mean() == 1.0
    with pytest.raises(RuntimeError, match="fit"):
        bg.HistogramSVM().predict(imgs)


def test_slug():
    assert bg.slug("ring, other class") == "ring-other-class"
    assert len({bg.slug(c) for c in bg.CONDITIONS}) == len(bg.CONDITIONS)


def test_random_deepnet_predictions_equal_one_condition_at_a_time():
    """One SVM over the stacked conditions gives each condition what it would get alone."""
    from rdsc.baselines import calibration_subset, svm_scores
    from rdsc.deepnets import random_embeddings
    gen = torch.Generator().manual_seed(1)
    labels = np.repeat(np.arange(3), 8)
    train = torch.randint(0, 256, (24, 3, 32, 32), generator=gen, dtype=torch.uint8)
    conditions = {"clean": train[:6], "grayscale": bg.grayscale(train[:6])}
    preds = bg.random_deepnet_predictions("vgg16", train, labels, conditions, seed=3,
                                          n_calibration=12, device="cpu")
    assert list(preds) == ["clean", "grayscale"]
    calib = train[calibration_subset(len(train), 12, 3)]
    train_f, gray_f = random_embeddings("vgg16", calib, [train, conditions["grayscale"]], seed=3,
                                        n_classes=3, device="cpu")
    alone, _ = svm_scores(train_f, labels, gray_f, scale=True, device="cpu")
    np.testing.assert_array_equal(preds["grayscale"], alone.argmax(1))
    assert preds["clean"].shape == (6,)


def test_mean_colour_agreement_is_the_same_in_any_batch_size():
    gen = torch.Generator().manual_seed(3)
    images = torch.randint(0, 256, (7, 3, 12, 12), dtype=torch.uint8, generator=gen)
    w, b = torch.randn(5, 3, 3, 3, generator=gen), torch.randn(5, generator=gen)
    x = images.float() / 255  # the whole computation at once, written out
    z = torch.nn.functional.conv2d(x, w, b, padding=1)
    means = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=True)
    a = torch.nn.functional.conv2d(means, w.sum(dim=(2, 3), keepdim=True), b)
    expected = ((z > 0) == (a > 0)).double().mean(dim=(0, 2, 3)).float().numpy()
    for batch_size in (1, 3, 7, 100):
        got = bg.mean_colour_agreement(images, w, b, padding=1, batch_size=batch_size)
        assert np.array_equal(got, expected), batch_size
    with pytest.raises(ValueError, match="batch_size"):
        bg.mean_colour_agreement(images, w, b, padding=1, batch_size=0)


def test_the_retrieval_advantage_rests_on_the_ring_weighed_against_the_centre():
    level = (0.01, -0.01, 0.03)  # the centre's cost minus the ring's: not told apart
    # a grayscale drop is not an argument of the verdict at all: colour is not background
    # 'not measurably less' says how much more the interval allows the centre
    assert bg.advantage_verdict((0.02, 0.01, 0.03), level, 0.05) == (
        "supported: the outer ring helps retrieval, not measurably less than the centre "
        "does (greying the centre may cost up to 3.0 points of P@10 more), and the "
        "features react to its colour")
    # the ring's row of the partial-correlation table reads as its lower end
    ring = {"estimate": 0.08, "low": 0.05, "high": 0.11}
    assert bg.advantage_verdict((0.02, 0.01, 0.03), level, ring) == bg.advantage_verdict(
        (0.02, 0.01, 0.03), level, 0.05)
    # greying any half may cost precision; a ring that costs measurably less
    # than the centre may help only by the object parts it holds
    centre_more = (0.02, 0.005, 0.035)
    assert bg.advantage_verdict((0.02, 0.01, 0.03), centre_more, 0.05) == (
        "partly supported: the outer ring helps retrieval, but less than the centre does, "
        "so its help may be the object parts it holds; the features react to its colour")
    ring_more = (-0.02, -0.035, -0.005)
    assert bg.advantage_verdict((0.02, 0.01, 0.03), ring_more, 0.05).startswith(
        "supported: the outer ring helps retrieval, more than the centre does")
    assert bg.advantage_verdict((0.02, 0.01, 0.03), level, -0.01) == (
        "partly supported: the outer ring helps retrieval, not measurably less than the "
        "centre does (greying the centre may cost up to 3.0 points of P@10 more), "
        "but its colours are not shown to explain the feature distances")
    assert bg.advantage_verdict((0.0, -0.02, 0.02), level, 0.05) == (
        "partly supported: the features react to the ring's colour, but greying the ring "
        "does not measurably lower precision")
    # the control alone decides nothing where the ring does not help
    assert bg.advantage_verdict((0.0, -0.02, 0.02), centre_more, -0.01) == (
        "not shown by this run")
    assert bg.advantage_verdict((0.0, -0.02, 0.02), level, -0.01) == "not shown by this run"


def test_pitfall_rows_need_a_cost_and_a_pull_toward_the_donor():
    chance = 1 / 9
    cnn = {"ring cost": (0.20, 0.18, 0.22)}

    def effects(cost, capture, alone=(0.05, 0.02, 0.08)):
        return {"ring cost": cost, "ring capture": capture,
                "background only above chance": alone}
    rows, shown = bg.pitfall_rows("cifar10", effects((0.1, 0.05, 0.15),
                                                     (0.3, 0.2, 0.4)), cnn, n_classes=10)
    assert shown and [r["dataset"] for r in rows] == ["cifar10"] * 4
    said = {r["question"]: (r["random network"], r["measure"]) for r in rows}
    assert said["a foreign ring costs accuracy beyond compositing"] == (
        "yes", "+10.0 points (95% interval +5.0 to +15.0)")
    assert said["changed predictions go to the donor's class above chance"] == (
        "yes", f"30% (95% interval 20 to 40%) vs chance {100 * chance:.0f}%")
    # the run's own chance level, where measured: a capture interval from 38% is above
    # a chance of 37%, not above one of 39% (1 / (3 - 1) = 50% would have hidden both)
    with_chance = {**effects((0.1, 0.05, 0.15), (0.4, 0.38, 0.44)),
                   "ring capture chance": (0.37, 0.35, 0.39)}
    rows, shown = bg.pitfall_rows("cifar10", with_chance, cnn, n_classes=3)
    assert shown and rows[1]["measure"] == "40% (95% interval 38 to 44%) vs chance 37%"
    with_chance["ring capture chance"] = (0.39, 0.37, 0.41)
    assert not bg.pitfall_rows("cifar10", with_chance, cnn, n_classes=3)[1]
    assert said["the ring cost, compared with the trained CNN"][0] == "smaller than the CNN's"
    # a cost without a pull toward the donor (capture at chance) is noise, not the pitfall
    _, shown = bg.pitfall_rows("cifar10", effects((0.1, 0.05, 0.15), (0.11, 0.05, 0.2)),
                               cnn, n_classes=10)
    assert not shown
    rows, shown = bg.pitfall_rows("cifar10", effects((0.0, -0.01, 0.01),
                                                     (np.nan, np.nan, np.nan)),
                                  cnn, n_classes=10)
    assert not shown and rows[1]["measure"] == "no prediction changed"
    assert bg.pitfall_verdict([True, True]) == "confirmed on every dataset run"
    assert bg.pitfall_verdict([True, False]) == "confirmed on some datasets only"
    assert bg.pitfall_verdict([False]) == "not shown by this run"
    # a swapped half image moves any classifier; say whether the random
    # network is moved more than the trained CNN
    assert bg.pitfall_verdict([True, True], [False, False]) == (
        "confirmed on every dataset run, but not shown to be more than the trained CNN's (a "
        "swapped ring moves a trained network too)")
    assert bg.pitfall_verdict([True, False], [True, False]) == (
        "confirmed on some datasets only, beyond the trained CNN's cost")
    assert bg.pitfall_verdict([True, True], [True, False]).endswith("on 1 of 2")
    # named, where the datasets are known
    assert bg.pitfall_verdict([True, True], [True, False], names=["a", "b"]) == (
        "confirmed on every dataset run, beyond the trained CNN's cost on a (not on b)")
    assert bg.pitfall_verdict([True, False], names=["a", "b"]) == (
        "confirmed on a only (not shown on b)")
    # "not shown to be more" once hid a cost shown to be smaller than the CNN's
    assert bg.pitfall_verdict([True, True], [False, False], ["cifar10"]).endswith(
        "moves a trained network too); smaller than the trained CNN's on cifar10")
    assert bg.pitfall_verdict([True, True], [True, False], ["stl10"]).endswith(
        "on 1 of 2; smaller than the trained CNN's on stl10")
    assert bg.cost_beyond_cnn(effects((0.1, 0.05, 0.15), (0.3, 0.2, 0.4)), cnn) is False
    assert bg.cost_beyond_cnn(effects((0.3, 0.25, 0.35), (0.3, 0.2, 0.4)), cnn) is True
    assert bg.cost_beyond_cnn({}, {}, versus_cnn=(0.05, 0.01, 0.09)) is True
    with pytest.raises(ValueError, match="one flag per dataset"):
        bg.pitfall_verdict([True, True], [True])
    # a CNN at chance (one class predicted) is no reference
    # a dataset left out (None) never counts as "beyond"
    assert bg.pitfall_verdict([True, True], [True, None]) == (
        "confirmed on every dataset run, beyond the trained CNN's cost on 1 compared (1 not "
        "compared: the CNN at chance on clean images)")
    assert bg.pitfall_verdict([True], [None]).endswith(
        "not compared with the trained CNN (at chance on clean images)")
    labels = np.arange(100) % 10
    constant = [{"clean": np.zeros(100, int)}]
    assert not bg.clean_above_chance(constant, labels, 10)
    assert bg.clean_above_chance([{"clean": labels.copy()}], labels, 10)
    rows, _ = bg.pitfall_rows("cifar10", effects((0.1, 0.05, 0.15), (0.3, 0.2, 0.4)), cnn,
                              n_classes=10, cnn_above_chance=False)
    assert rows[3]["random network"].startswith("not compared: the trained CNN is at chance")
    with pytest.raises(ValueError, match="got none"):  # all([]) once read as "confirmed"
        bg.pitfall_verdict([])


def test_cost_difference_is_paired_over_images():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 200)
    hard = rng.random(200) < 0.5  # the same images are hard for both classifiers

    def predictions(cost, n_networks):
        out = []
        for s in range(n_networks):
            wrong = (labels + 1) % 3
            other = np.where(hard & (rng.random(200) < cost), wrong, labels)
            out.append({"ring, same class": labels.copy(), "ring, other class": other})
        return out
    a, b = predictions(0.4, 3), predictions(0.4, 1)
    est, low, high = bg.cost_difference(a, b, labels, n_boot=300)
    assert est == pytest.approx(np.mean([np.mean(p["ring, other class"] != labels)
                                         for p in a])
                                - np.mean(b[0]["ring, other class"] != labels))
    assert low < 0 < high  # equal costs: the paired interval holds 0
    est, low, high = bg.cost_difference(predictions(0.9, 2), predictions(0.1, 2), labels,
                                        n_boot=300)
    assert low > 0.2  # a cost about 0.4 points larger (half the images, 0.8 apart)
    with pytest.raises(ValueError, match="predictions is empty"):
        bg.cost_difference([], b, labels)
    # the pairing: both fail on the same half of the images, A on 5% more. Drawn
    # separately, the shared failures would swamp the 5 points; drawn together they cancel
    n = 400
    labels = np.zeros(n, dtype=int)
    shared = np.arange(n) < n // 2
    extra = (np.arange(n) >= n // 2) & (np.arange(n) < n // 2 + n // 20)

    def one(fails):
        return [{"ring, same class": labels.copy(),
                 "ring, other class": np.where(fails, 1, 0)}]
    est, low, high = bg.cost_difference(one(shared | extra), one(shared), labels,
                                        n_boot=500)
    assert est == pytest.approx(0.05)
    assert 0 < low and high < 0.1  # an unpaired interval is about +-0.07 wide: holds 0
    assert bg.cost_difference(one(shared), one(shared), labels, n_boot=50) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"one per image \(200\), got shape \(10,\)"):
        bg.cost_difference(a, b, labels[:10])
    # a 90% interval once passed these tests. With one network each the bootstrap is over
    # images alone: the normal interval of the per-image differences, +- 1.96 sd / sqrt(n)
    n = 2000
    labels = np.zeros(n, dtype=int)
    fails = [np.random.default_rng(s).random(n) < p for s, p in ((1, 0.5), (2, 0.3))]
    est, low, high = bg.cost_difference(one(fails[0]), one(fails[1]), labels, n_boot=2000)
    d = fails[0].astype(float) - fails[1]
    assert est == pytest.approx(d.mean())
    assert (high - low) / 2 == pytest.approx(1.96 * d.std(ddof=1) / np.sqrt(n), rel=0.05)


def test_pitfall_rows_compare_with_the_cnn_by_the_paired_difference():
    e = {"ring cost": (0.10, 0.05, 0.15), "ring capture": (0.3, 0.2, 0.4),
         "background only above chance": (0.05, 0.02, 0.08)}
    cnn = {"ring cost": (0.17, 0.12, 0.22)}  # the two intervals overlap
    row = bg.pitfall_rows("cifar10", e, cnn, n_classes=10)[0][3]
    assert row["random network"] == "not separated from the CNN's (the intervals overlap)"
    # yet the paired difference can lie below 0: the costs share their images
    row = bg.pitfall_rows("cifar10", e, cnn, n_classes=10,
                          versus_cnn=(-0.07, -0.10, -0.04))[0][3]
    assert row["random network"] == "smaller than the CNN's"
    assert row["measure"] == ("difference -7.0 points (95% interval -10.0 to -4.0); CNN: "
                              "+17.0 points (95% interval +12.0 to +22.0)")
    row = bg.pitfall_rows("cifar10", e, cnn, n_classes=10,
                          versus_cnn=(-0.07, -0.12, 0.01))[0][3]
    assert row["random network"].startswith("not distinguishable from the CNN's")


def test_advantage_rows_and_reading_count_the_ring_not_the_colour():
    def row(low, estimate=0.08, undefined=0):
        return {"estimate": estimate, "low": low, "high": 0.11,
                "undefined resamples": undefined}
    partial = row(0.05)
    centre, level = (0.04, 0.02, 0.06), (0.01, -0.01, 0.03)

    def read(ring, grayscale, partial, pitfall_shown):  # the control kept fixed
        return bg.advantage_reading(ring, centre, level, grayscale, partial, pitfall_shown)

    def rows_of(ring, grayscale, partial):
        return bg.advantage_rows(ring, centre, level, grayscale, partial)

    rows = rows_of((0.03, 0.01, 0.05), (0.10, 0.06, 0.14), partial)
    assert [r["random network"] for r in rows] == ["yes", "yes", "not shown", "yes", "yes"]
    assert [r["question"] for r in rows][:3] == [
        "greying the ring lowers precision@10",
        "greying the centre lowers precision@10 (the control)",
        "greying the centre costs more than greying the ring"]
    assert rows[2]["measure"] == "+1.0 points (95% interval -1.0 to +3.0)"  # with its unit
    assert rows[4]["measure"] == "partial r = 0.080 [0.050, 0.110]"
    reading = read((0.03, 0.01, 0.05), (0.1, 0.06, 0.14), row(0.05), True)
    assert reading.startswith("In this run greying the ring lowers the random network's "
                              "precision, so the outer ring")
    # the partial correlation holds the category fixed: it shows the features react to the
    # ring's colour, not that the ring finds same-category images
    partial_only = read((0.0, -0.01, 0.01), (0.0, -0.02, 0.02), row(0.05), False)
    assert "so the features react to the ring's colour" in partial_only
    assert "retrieve" not in partial_only
    assert "misleads the classifier in the composites above. Greying the centre" in reading
    # the ring's cost is read beside the centre's, in each of three ways
    assert reading.endswith(
        "Greying the centre instead costs +4.0 points (95% interval +2.0 to +6.0); the two "
        "costs are not told apart (the centre's cost minus the ring's: +1.0 points, 95% "
        "interval -1.0 to +3.0), so the ring is not shown to count for less than the "
        "centre.")
    assert bg.centre_control(centre, (0.02, 0.01, 0.03)).endswith(
        "more than greying the ring (the centre's cost minus the ring's: +2.0 points, 95% "
        "interval +1.0 to +3.0): the ring's share may be the object parts it holds.")
    assert bg.centre_control(centre, (-0.02, -0.03, -0.01)).endswith(
        "here the ring counts for more than the centre.")
    # an undefined control (NaN) was once read as passed: "supported"
    nan3 = (float("nan"),) * 3
    assert "no defined cost here" in bg.centre_control(centre, nan3)
    assert bg.advantage_verdict((0.03, 0.01, 0.05), nan3, row(0.05)) == (
        "partly supported: the outer ring helps retrieval, not weighed against the centre "
        "(the control undefined); the features react to its colour")
    # without a ring that helps, the control has nothing to weigh
    assert "Greying the centre" not in partial_only
    only_colour = read((0.0, -0.01, 0.01), (0.1, 0.06, 0.14), row(-0.02), False)
    assert only_colour.startswith("In this run only removing colour")
    nothing = read((0.0, -0.01, 0.01), (0.0, -0.02, 0.02), row(-0.02), False)
    assert nothing.endswith("the retrieval half of the claim is not shown.")
    # an undefined partial correlation is named, not read as "not measurable"
    nan = float("nan")
    undefined = read((0.0, -0.01, 0.01), (0.0, -0.02, 0.02),
                     row(nan, estimate=nan, undefined=200), False)
    assert "the ring colours' partial correlation is undefined here" in undefined
    assert rows_of((0.0, -0.01, 0.01), (0.0, -0.02, 0.02), row(
        nan, estimate=nan, undefined=200))[4]["measure"].startswith("partial r undefined")
    # a defined estimate whose interval a few undefined resamples withheld says so, with
    # the count, rather than calling the whole correlation undefined or printing nan
    withheld = row(nan, estimate=0.164, undefined=3)
    assert (rows_of((0.0, -0.01, 0.01), (0.0, -0.02, 0.02), withheld)[4]["measure"]
            == "partial r = 0.164, no interval (undefined in 3 resamples)")
    text = read((0.0, -0.01, 0.01), (0.0, -0.02, 0.02), withheld, False)
    assert "(0.164) has no interval, for 3 bootstrap resamples left nothing" in text
    assert "is undefined here" not in text
    assert bg.advantage_verdict((0.0, -0.01, 0.01), level, nan) == "not shown by this run"


def tiny_net(k=12, seed=0):
    from rdsc.network import RandomDepthwiseSignNet
    return RandomDepthwiseSignNet(k, kernel_size=3, n_blocks=1, seed=seed)


def tiny_cnn(factor=2, image_size=8, seed=0):
    """An untrained SmallCNN in its Downsampled wrapper, batch norm statistics made
    non-trivial so that the ``post`` step matters."""
    from rdsc.cnn import SmallCNN
    torch.manual_seed(seed)
    model = SmallCNN(n_classes=3, width=4, image_size=image_size, hidden=16)
    norm = model.features[1]
    norm.running_mean.uniform_(-0.3, 0.3)
    norm.running_var.uniform_(0.5, 2.0)
    norm.bias.data.uniform_(-0.5, 0.5)
    return bg.Downsampled(model, factor).eval()


def test_classifier_settings_pick_each_datasets_value():
    cfg = dict(k={"cifar10": 16, "miniimagenet10": 4}, cnn_epochs={"cifar10": 1,
               "miniimagenet10": 2}, cnn_pool={"cifar10": 1, "miniimagenet10": 4},
               trained_deepnets=["resnet18"], deepnet_epochs=3,
               random_deepnets={"cifar10": ["vgg16"], "miniimagenet10": []},
               random_deepnet_seeds=2, n_calibration=50, n_boot=100)
    assert bg.classifier_settings(cfg, "miniimagenet10") == dict(
        cnn_pool=4, cnn_epochs=2, trained_deepnets=["resnet18"], deepnet_epochs=3,
        random_deepnets=[], random_deepnet_seeds=2, n_calibration=50)
    cifar = bg.classifier_settings(cfg, "cifar10")
    assert cifar["cnn_pool"] == 1 and cifar["random_deepnets"] == ["vgg16"]
    assert set(cifar) == set(bg.CLASSIFIER_SETTINGS)  # k and n_boot are not its business


def test_classifier_predictions_equal_each_classifier_alone(monkeypatch):
    from rdsc import cnn
    calls = []

    def trained_stub(arch, train_images, train_labels, conditions, *, epochs, seed=None,
                     device, origins=None):
        calls.append(("trained", arch, epochs, seed))
        origins[arch] = "read from the cache, trained on a stub"
        return {c: np.full(len(im), 7) for c, im in conditions.items()}

    def random_stub(arch, train_images, train_labels, conditions, *, seed, n_calibration, C,
                    device):
        calls.append(("random", arch, seed, n_calibration, C))
        return {c: np.full(len(im), seed) for c, im in conditions.items()}

    from rdsc.background import classifiers  # where classifier_predictions looks them up
    monkeypatch.setattr(classifiers, "trained_deepnet_predictions", trained_stub)
    monkeypatch.setattr(classifiers, "random_deepnet_predictions", random_stub)
    histograms = []  # the chapter states HISTOGRAM_C; is it the one used?

    class Recorded(bg.HistogramSVM):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            histograms.append((self.bins, self.C))
    monkeypatch.setattr(classifiers, "HistogramSVM", Recorded)
    train, labels = random_images(24, 32, 32, seed=3), np.repeat(np.arange(3), 8)
    conditions, _ = bg.make_conditions(random_images(12, 32, 32, seed=4),
                                       np.repeat(np.arange(3), 4), grey=128)
    nets = [tiny_net(seed=1), tiny_net(seed=2)]
    origins = {}
    preds, model = bg.classifier_predictions(
        nets, train, labels, conditions, name="test", cnn_pool=4, cnn_epochs=1,
        trained_deepnets=["resnet18"], deepnet_epochs=3, random_deepnets=["vgg16"],
        random_deepnet_seeds=2, n_calibration=20, seed=5, C=0.02, device="cpu", cache=False,
        origins=origins)
    # where each trained model came from, for the chapter to print (a cached model,
    # perhaps trained on a GPU, was once used without a word)
    assert list(origins) == ["trained CNN", "resnet18"]
    assert origins["trained CNN"].startswith("trained in this run on CPU")
    assert origins["resnet18"] == "read from the cache, trained on a stub"
    assert histograms == [(bg.HISTOGRAM_BINS, bg.HISTOGRAM_C)]  # not the SVM's C = 0.02
    assert list(preds) == ["random network + SVM", "trained CNN", "colour histogram + SVM",
                           "resnet18, trained 3 epochs", "vgg16, random, final layer"]
    assert [len(p) for p in preds.values()] == [2, 1, 1, 1, 2]
    for net, got in zip(nets, preds["random network + SVM"]):
        alone = bg.random_net_predictions(net, train, labels, conditions, C=0.02,
                                          device="cpu", cache=False)
        assert list(got) == list(bg.CONDITIONS)
        assert all(np.array_equal(got[c], alone[c]) for c in alone)
    # the CNN: trained on images pooled by 4 with the given seed and epochs
    assert isinstance(model, bg.Downsampled) and model.factor == 4
    small = cnn.trained(bg.downsample(train, 4), labels, epochs=1, seed=5, cache=False,
                        device="cpu", progress=False)
    for name, weight in small.state_dict().items():
        torch.testing.assert_close(model.model.state_dict()[name], weight)
    cnn_alone = bg.model_predictions(model, conditions)
    assert all(np.array_equal(preds["trained CNN"][0][c], cnn_alone[c]) for c in cnn_alone)
    hist = bg.HistogramSVM(bins=8, device="cpu").fit(train, labels).predictions(conditions)
    assert all(np.array_equal(preds["colour histogram + SVM"][0][c], hist[c]) for c in hist)
    # seed None: trained_deepnet_predictions takes deepnets.SHARED_SEED, chapter 4's
    assert calls == [("trained", "resnet18", 3, None), ("random", "vgg16", 0, 20, 0.02),
                     ("random", "vgg16", 1, 20, 0.02)]
    assert [p["clean"][0] for p in preds["vgg16, random, final layer"]] == [0, 1]


def test_first_layer_agreement_is_the_three_layers_measured_alone():
    x = random_images(5, 16, 16, seed=6)
    net, model = tiny_net(k=12, seed=3), tiny_cnn()
    got = bg.first_layer_agreement(x, net, model, max_filters=8)
    assert list(got) == ["random network (raw [0, 1] pixels)", "random filters, centred pixels",
                         "trained CNN (after batch norm)"]
    w, b = net.conv_weight[:8], net.conv_bias[:8]
    np.testing.assert_array_equal(got["random network (raw [0, 1] pixels)"],
                                  bg.mean_colour_agreement(x, w, b, net.first_padding))
    np.testing.assert_array_equal(
        got["random filters, centred pixels"],
        bg.mean_colour_agreement(x, w, b, net.first_padding, offset=0.5))
    conv, norm = model.model.features[0], model.model.features[1]
    with torch.no_grad():
        expected = bg.mean_colour_agreement(bg.downsample(x, 2), conv.weight, None, 1,
                                            offset=0.5, post=norm)
    np.testing.assert_array_equal(got["trained CNN (after batch norm)"], expected)
    assert len(got["trained CNN (after batch norm)"]) == 4  # the CNN's width
    # fewer filters than max_filters: all of them
    assert len(bg.first_layer_agreement(x, net, model)["random filters, centred pixels"]) == 12


def test_blur_correlations_and_their_summary():
    from rdsc.features import extract
    x = random_images(20, 16, 16, seed=7)
    net, model = tiny_net(k=10, seed=4), tiny_cnn()
    got = bg.blur_correlations(x, net, model, name="test", device="cpu", cache=False)
    blurred = bg.box_blur(x, 3)
    f = [extract(net, im, device="cpu", progress=False)[:] for im in (x, blurred)]
    np.testing.assert_allclose(got["random network: final features"],
                               bg.column_correlations(*f))
    np.testing.assert_allclose(got["trained CNN: hidden layer"],
                               bg.column_correlations(bg.cnn_embedding(model, x),
                                                      bg.cnn_embedding(model, blurred)))
    assert bg.correlation_summary([0.95, 0.6, 0.99, 0.2, 0.85, 0.9]) == {
        "units": 6, "median correlation, image vs blurred": pytest.approx(0.875),
        "share of units with r > 0.9 (%)": pytest.approx(100 * 2 / 6)}  # 0.9 is not above
    for bad in ([], np.ones((3, 4))):  # a 2-D array once counted 3 units of 12 values
        with pytest.raises(ValueError, match="one correlation per unit"):
            bg.correlation_summary(bad)
    for bad in (0, -3, 2.5):  # -3 once dropped 3 filters, silently
        with pytest.raises(ValueError, match="max_filters must be a whole number"):
            bg.first_layer_agreement(x, net, model, max_filters=bad)
    with pytest.raises(ValueError, match="at least one image"):
        bg.first_layer_agreement(x[:0], net, model)


def test_database_versions():
    images = random_images(4, 8, 8, seed=8)
    centre = bg.centre_mask(8, 8)
    versions = bg.database_versions(images, centre)
    assert list(versions) == ["as it is", "ring grey", "centre grey", "grayscale"]
    assert versions["as it is"] is images
    grey = bg.grey_level(images)
    assert (versions["ring grey"][:, :, ~centre] == grey).all()
    assert torch.equal(versions["ring grey"][:, :, centre], images[:, :, centre])
    # the control greys the other half, and only it
    assert (versions["centre grey"][:, :, centre] == grey).all()
    assert torch.equal(versions["centre grey"][:, :, ~centre], images[:, :, ~centre])
    assert torch.equal(versions["grayscale"], bg.grayscale(images))


def test_retrieval_precision_per_network_and_for_the_histogram():
    from rdsc.features import extract
    images, labels = random_images(12, 16, 16, seed=9), np.repeat(np.arange(3), 4)
    versions = bg.database_versions(images, bg.centre_mask(16, 16))
    nets = {2018: tiny_net(seed=1), 2019: tiny_net(seed=2)}
    precision, features = bg.retrieval_precision(nets, versions, labels, 3, device="cpu",
                                                 cache=False)
    assert list(precision) == [("random network", v) for v in versions] + [
        ("colour histogram", v) for v in versions]
    assert precision["random network", "grayscale"].shape == (2, 12)
    assert precision["colour histogram", "ring grey"].shape == (1, 12)
    assert list(features) == [2018, 2019]
    for row, (seed, net) in enumerate(nets.items()):
        f = extract(net, versions["ring grey"], device="cpu", progress=False)[:]
        np.testing.assert_array_equal(precision["random network", "ring grey"][row],
                                      bg.precision_at(f, labels, 3))
        np.testing.assert_array_equal(features[seed],
                                      extract(net, images, device="cpu", progress=False)[:])
    np.testing.assert_array_equal(precision["colour histogram", "grayscale"][0],
                                  bg.precision_at(colour_histogram(versions["grayscale"]),
                                                  labels, 3))


def test_precision_rows_and_drops():
    rng = np.random.default_rng(0)
    base = rng.random((2, 30))
    precision = {("random network", "as it is"): base,
                 ("random network", "ring grey"): base - 0.1,
                 ("colour histogram", "as it is"): base[:1],
                 ("colour histogram", "grayscale"): base[:1]}
    rows = bg.precision_rows(precision, n_boot=50, n=5)
    assert [(r["representation"], r["database"]) for r in rows] == list(precision)
    assert rows[1]["precision@5 (%)"] == pytest.approx(100 * (base.mean() - 0.1))
    assert rows[1]["low"] < rows[1]["precision@5 (%)"] < rows[1]["high"]
    drops = bg.precision_drops(precision, n_boot=50)
    assert list(drops) == [("random network", "ring grey"), ("colour histogram", "grayscale")]
    # paired: the same resampled images on both sides, so a constant drop has no spread
    assert drops["random network", "ring grey"] == pytest.approx((0.1, 0.1, 0.1))
    assert drops["colour histogram", "grayscale"] == (0.0, 0.0, 0.0)


def test_centre_minus_ring_is_the_paired_difference_of_the_two_greyed_halves():
    rng = np.random.default_rng(1)
    base = rng.random((2, 40))
    noise = rng.normal(0, 0.05, (2, 40))
    precision = {("random network", "as it is"): base,
                 ("random network", "ring grey"): base - 0.02,
                 ("random network", "centre grey"): base - 0.07 + noise,
                 ("colour histogram", "as it is"): base[:1],
                 ("colour histogram", "ring grey"): base[:1],
                 ("colour histogram", "centre grey"): base[:1]}
    halves = bg.centre_minus_ring(precision, n_boot=200)
    assert list(halves) == ["random network", "colour histogram"]
    estimate, low, high = halves["random network"]
    # ring grey minus centre grey: positive where greying the centre costs more
    assert estimate == pytest.approx(0.05 - noise.mean())
    assert 0 < low < estimate < high
    assert halves["colour histogram"] == (0.0, 0.0, 0.0)
    with pytest.raises(KeyError):  # no control, no difference
        bg.centre_minus_ring({("random network", "ring grey"): base}, n_boot=50)


def test_pitfall_over_datasets_leaves_out_a_cnn_at_chance():
    labels = np.arange(100) % 10
    runs = {"d": {"classes": list(range(10)), "labels": labels, "predictions": {
        "random network + SVM": [{"clean": labels.copy()}],
        "trained CNN": [{"clean": np.zeros(100, int)}]}}}
    ours = {"ring cost": (0.1, 0.05, 0.15), "ring capture": (0.3, 0.2, 0.4),
            "background only above chance": (0.05, 0.02, 0.08)}
    theirs = {"ring cost": (0.0, -0.01, 0.01)}
    effects = {("d", "random network + SVM"): ours, ("d", "trained CNN"): theirs}
    rows, verdict, shown = bg.pitfall_over_datasets(runs, effects, {"d": (0.1, 0.05, 0.15)})
    assert shown and len(rows) == 4
    assert verdict == ("confirmed on every dataset run, not compared with the trained CNN "
                       "(at chance on clean images)")
    runs["d"]["predictions"]["trained CNN"] = [{"clean": labels.copy()}]
    assert bg.pitfall_over_datasets(runs, effects, {"d": (0.1, 0.05, 0.15)})[1] == (
        "confirmed on every dataset run, beyond the trained CNN's cost")
    # a cost shown smaller than the CNN's is named, not hidden in "not shown"
    assert bg.pitfall_over_datasets(runs, effects, {"d": (-0.07, -0.09, -0.05)})[1] == (
        "confirmed on every dataset run, but not shown to be more than the trained CNN's "
        "(a swapped ring moves a trained network too); smaller than the trained CNN's on d")


def test_a_random_network_at_chance_leaves_its_dataset_untested():
    """With one feature the random network was at chance on clean images, and the
    verdict once read "not shown by this run", as if evidence against the claim; a nearly
    constant classifier's ring cost of 0.0 (0.0 to 0.0) went into the headline."""
    from rdsc import headlines
    labels = np.arange(100) % 10
    constant = [{"clean": np.zeros(100, int)}]

    def run(random_net):
        return {"classes": list(range(10)), "labels": labels, "predictions": {
            "random network + SVM": random_net, "trained CNN": [{"clean": labels.copy()}]}}
    shows = {"ring cost": (0.1, 0.05, 0.15), "ring capture": (0.3, 0.2, 0.4),
             "background only above chance": (0.05, 0.02, 0.08)}
    flat = {"ring cost": (0.0, 0.0, 0.0), "ring capture": (np.nan,) * 3,
            "background only above chance": (0.0, 0.0, 0.0)}
    cnn = {"ring cost": (0.0, -0.01, 0.01)}
    effects = {("a", "random network + SVM"): shows, ("a", "trained CNN"): cnn,
               ("b", "random network + SVM"): flat, ("b", "trained CNN"): cnn}
    versus = {"a": (0.1, 0.05, 0.15), "b": (0.0, -0.01, 0.01)}
    rows, mixed, shown = bg.pitfall_over_datasets(
        {"a": run([{"clean": labels.copy()}]), "b": run(constant)}, effects, versus)
    # "every dataset run" once said so of a run whose b was run but not tested
    assert shown and mixed == ("confirmed on every dataset tested, beyond the trained CNN's "
                               "cost; not tested on b (the random network at chance on "
                               "clean images)")
    untested = [r for r in rows if r["dataset"] == "b"]
    assert len(untested) == 4 and all(r["random network"] == bg.RANDOM_AT_CHANCE
                                      for r in untested)
    assert untested[0]["measure"] == "0.0 points (95% interval 0.0 to 0.0)"  # kept
    # the chapter's sentence after the first dataset's costs (it once lived in a cell)
    assert bg.random_at_chance_note("b", True) == ""
    assert bg.random_at_chance_note("b", False).startswith(
        "On b, though, the random network is at chance on clean images")
    # every dataset at chance: nothing is tested, and the verdict says so (not "not shown")
    _, verdict, shown = bg.pitfall_over_datasets({"b": run(constant)}, effects, versus)
    assert shown is None and verdict == (
        "not tested (the random network is at chance on clean images of b)")
    # "not tested" was once passed on as "not shown", and the retrieval reading
    # said the ring "did not measurably mislead the classifier"
    reading = bg.advantage_reading((0.03, 0.01, 0.05), (0.04, 0.02, 0.06),
                                   (0.01, -0.01, 0.03), (0.1, 0.06, 0.14),
                                   {"estimate": 0.08, "low": 0.05, "high": 0.11}, shown)
    assert "whether it misleads the classifier was not tested" in reading
    assert "did not measurably mislead" not in reading
    _, verdict, _ = bg.pitfall_over_datasets(
        {"a": run(constant), "b": run(constant)},
        {**effects, ("a", "random network + SVM"): flat}, versus)
    assert verdict == ("not tested (the random network is at chance on clean images of both "
                       "datasets run: a, b)")
    # the headline leaves out the degenerate cost of the dataset the verdict names untested
    res = {"pitfall": mixed, "advantage": "q", "verdicts": rows}
    assert headlines.background(res).startswith(
        "pitfall: confirmed on every dataset tested, beyond the trained CNN's cost (ring "
        "cost against a same-class ring: a +10.0 points [+5.0, +15.0]); not tested on b "
        "(the random network at chance on clean images); retrieval:")


def test_cost_difference_text_names_what_limits_the_comparison():
    d = (-0.071, -0.094, -0.045)
    assert bg.cost_difference_text(d, False, False) == "-7.1 points (95% interval -9.4 to -4.5)"
    one = bg.cost_difference_text(d, True, False)
    assert one.endswith("; with one trained CNN, this compares with that network (its "
                        "training seed is not resampled), not with trained CNNs in general")
    # the reason to ignore the number comes before it
    assert bg.cost_difference_text(d, False, True) == bg.cost_difference_text(d, True, True) == (
        "not worth reading: this CNN is at chance on clean images, so the difference says nothing "
        "(for the record, -7.1 points (95% interval -9.4 to -4.5))")
    assert bg.interval_text((0.02, 0.01, 0.03)) == "+2.0 points (95% interval +1.0 to +3.0)"
    # a bound that rounds to zero once read "-0.0"; it keeps its sign, with
    # the decimals that show it (the interval holds 0, which its verdict reads)
    assert bg.interval_text((0.018, -0.0004, 0.036)) == (
        "+1.8 points (95% interval -0.04 to +3.6)")
    assert bg.interval_text((0.018, 0.0, 0.036)) == "+1.8 points (95% interval 0.0 to +3.6)"


def test_hue_rotations_that_change_no_pixel_are_refused():
    # at 0.1 or 359.9 degrees rotate_hue once changed 0.00% of CIFAR's values
    x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(0))
    for near_a_turn in (0.1, 359.9, -359.9, 0):
        assert torch.equal(bg.rotate_hue(x, near_a_turn), x)
        with pytest.raises(ValueError, match="whole turn"):
            bg.check_hue_degrees(near_a_turn)
    assert bg.check_hue_degrees(180) == 180 and bg.check_hue_degrees(-30) == -30
    assert not torch.equal(bg.rotate_hue(x, 30), x)


def test_hue_degrees_edges():
    for bad in (0.7, -359.5, 540):
        with pytest.raises(ValueError):
            bg.check_hue_degrees(bad)
    assert bg.check_hue_degrees(1) == 1 and bg.check_hue_degrees(359) == 359


def test_a_hue_rotation_that_barely_moves_the_pixels_is_said_to():
    """At 2 degrees the "hue rotated" row was once labelled as any other, while
    the rotation moved a pixel value by 0.3 of 255 on average."""
    x = torch.tensor([[[[100]], [[50]], [[200]]]], dtype=torch.uint8).repeat(2, 1, 1, 1)
    # one of the six values moved by 3 levels: 0.5 on average
    y = x.clone()
    y[0, 0, 0, 0] = 103
    said = bg.hue_change_words(x, y, 2)
    assert said.startswith("by 2°, which changes each 8-bit channel value of the figure's 2 "
                           "images by 0.5 levels on average (the mean absolute change): "
                           "less than one 8-bit level")
    y[:, :, 0, 0] = torch.tensor([130, 20, 170], dtype=torch.uint8)   # 30 each
    assert bg.hue_change_words(x, y, 180) == (
        "by 180°, which changes each 8-bit channel value of the figure's 2 images by 30.0 "
        "levels on average (the mean absolute change)")
    with pytest.raises(ValueError, match="the same uint8 images"):
        bg.hue_change_words(x, y.float(), 180)


def test_mechanism_readings_follow_the_medians():
    # chapter 8's mechanism sentences, moved out of a chapter cell: every branch
    three = {"random network": 80.0, "random filters, centred": 75.0, "trained CNN": 61.0}
    assert bg.agreement_reading(three).startswith("All three are well above one half")
    assert bg.agreement_reading({**three, "trained CNN": 60.0}) == (
        "Not all three are well above one half (the lowest, trained CNN: 60%): how much the "
        "mean colour decides the signs differs between these first layers.")
    # a NaN median (no filter measured) once decided the sentence by its position
    nan = float("nan")
    for missing in three:
        said = bg.agreement_reading({**three, missing: nan})
        assert said.startswith("All are well above one half"), missing
        assert said.endswith(f"({missing}: no filter measured.)")
    assert bg.agreement_reading(dict.fromkeys(three, nan)).startswith("No first layer")
    assert bg.agreement_reading({"a": 50.0, "b": nan}).startswith(
        "The one layer measured, a, is not well above one half (50%).")
    assert "random network's" not in bg.agreement_reading({"a": 70.0, "b": 90.0})
    assert bg.agreement_reading({"a": 70.0, "b": 90.0}).startswith("All are well above")
    # a median over one filter (k = 1) is named as such; enough filters add nothing
    said = bg.agreement_reading({"a": 70.0, "b": 90.0}, filters={"a": 1, "b": np.int64(32)})
    assert said.endswith(" A median over fewer than 10 filters does not stand for its "
                         "layer; measured here: 1 filter of the a.")
    assert bg.agreement_reading({"a": 70.0, "b": 90.0}, filters={"a": 10, "b": 32}) == (
        bg.agreement_reading({"a": 70.0, "b": 90.0}))
    assert "better than the trained CNN" in bg.blur_reading(0.80, 0.74, 13, 150)
    # a 0.052 gap with no interval once read "they depend more on colour"
    said = bg.blur_reading(0.763, 0.711, 13, 150)
    assert "medians 0.763 over 13 units against 0.711 over 150 units" in said
    assert "consistent with" in said
    assert "less well than the trained CNN" in bg.blur_reading(0.60, 0.66, 13, 150)
    assert "about equally" in bg.blur_reading(0.70, 0.74, 13, 150)
    # numpy counts (a numpy bool times a string) once raised a TypeError
    assert "over 1 unit and" in bg.blur_reading(0.9, 0.7, np.int64(1), np.int64(150))
    assert "about equally" in bg.blur_reading(0.74, 0.70, 13, 150)
    assert "about equally" in bg.blur_reading(0.75, 0.70, 13, 150)  # the margin itself
    assert "better than" in bg.blur_reading(0.7501, 0.70, 13, 150)
    assert bg.blur_reading(nan, 0.7, 13, 150).startswith("The blur comparison is undefined")
    # 0.763 against 0.714 once read "within 0.05", a verdict decided by 0.001
    said = bg.blur_reading(0.7625, 0.7136, 762, 98)
    assert "about equally" in said and (
        "0.049 apart: within the 0.05 margin, near enough to it that another sample" in said)
    assert "near the" not in bg.blur_reading(0.70, 0.74, 13, 150)
    assert "0.050 apart: within the 0.05 margin, near" in bg.blur_reading(0.75, 0.70, 13, 150)
    # "not more bound to colour ... than the CNN" was once said of a CNN at chance, two
    # paragraphs after "this CNN is at chance on clean images, so the comparison says nothing"
    at_chance = bg.blur_reading(0.697, 0.771, 13, 150, cnn_at_chance=True)
    assert at_chance.startswith("The blur comparison says nothing here: the trained CNN is at "
                                "chance") and "bound to colour" not in at_chance
    assert "0.771" in at_chance and "0.697" in at_chance
    assert bg.blur_fairness("miniimagenet10", {"miniimagenet10": 2}).startswith(
        "Not a fair comparison on miniimagenet10: the CNN sees its images average-pooled by 2")
    assert bg.blur_fairness("cifar10", {"miniimagenet10": 2}) == (
        "The sentence reads cifar10 alone; the rows of miniimagenet10, which the CNN sees "
        "average-pooled, do not compare the two fairly.")
    assert bg.blur_fairness("cifar10", {}).endswith("the CNN sees every dataset here unpooled.")


def test_capture_text_says_undefined_when_no_prediction_changed():
    assert bg.capture_text((0.312, 0.25, 0.381)) == "31% (interval 25-38%)"
    assert bg.capture_text((0.312, 0.25, 0.381), interval=False) == "31%"
    nan = float("nan")
    assert bg.capture_text((nan, nan, nan)) == "undefined (no prediction changed)"
    # in the prose's parentheses, and beside a rate that already gives the reason
    assert bg.capture_text((nan, nan, nan), interval=False) == "undefined, no prediction changed"
    assert bg.capture_text((nan, nan, nan), interval=False, why=False) == "undefined"


def test_cnn_embedding_refuses_0_to_255_float_pixels():
    # its own float conversion once took any float as [0, 1]: 0..255 floats gave an
    # embedding of images 255 times too bright, silently
    from rdsc.cnn import SmallCNN
    model = SmallCNN(width=4, hidden=8).eval()
    x = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    assert np.allclose(bg.cnn_embedding(model, x), bg.cnn_embedding(model, x.float() / 255),
                       atol=1e-6)
    with pytest.raises(ValueError, match="0..255 pixels"):
        bg.cnn_embedding(model, x.float())


def test_0_to_255_floats_are_refused_before_any_batch_is_embedded(monkeypatch):
    # the range was checked batch by batch, so a first batch of dark 0..255
    # floats (all at most 1.5) was embedded before a later batch raised
    from rdsc.cnn import SmallCNN
    model = SmallCNN(width=4, hidden=8).eval()
    calls = []
    original = model.embed
    monkeypatch.setattr(model, "embed", lambda x: calls.append(len(x)) or original(x))
    x = torch.randint(0, 256, (4, 3, 32, 32)).float()
    x[:2] = 1.0                    # the first batch: dark, within 0..1.5
    with pytest.raises(ValueError, match="0..255 pixels"):
        bg.cnn_embedding(model, x, batch_size=2)
    assert calls == []
    assert bg.cnn_embedding(model, x[:2], batch_size=2).shape == (2, 8) and calls == [2]


def test_outcome_word_credits_the_donor_only_where_one_gave_a_region():
    assert bg.outcome_word(3, 3, 5, "ring, other class") == "right"
    assert bg.outcome_word(5, 3, 5, "ring, other class") == "donor's"
    assert bg.outcome_word(5, 3, 5, "centre, other class") == "donor's"
    # a same-class donor, or no donor at all: the donor's class is just wrong
    assert bg.outcome_word(5, 3, 5, "ring, same class") == "wrong"
    assert bg.outcome_word(5, 3, 5, "grayscale") == "wrong"
    assert bg.outcome_word(7, 3, 5, "ring, other class") == "wrong"


def test_probe_z2_labels_of_another_shape_and_settings_that_change_nothing_are_refused():
    labels = np.arange(8) % 4
    preds = [{c: labels.copy() for c in bg.CONDITIONS}]  # one network, always right
    assert bg.accuracy_rows(preds, labels, n_boot=50)[0]["accuracy"] == 1.0
    for bad in (labels[:, None], labels[:1]):  # broadcast to N x N pairs: accuracy 0.25
        with pytest.raises(ValueError, match="one per image"):
            bg.accuracy_rows(preds, bad, n_boot=50)
        with pytest.raises(ValueError, match="one per image"):
            bg.clean_above_chance(preds, bad, 4)
    images = torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8)
    with pytest.raises(ValueError, match="whole turn"):  # hue rotated = clean
        bg.make_conditions(images, labels, grey=120, hue_degrees=0)
    for grey in (0.47, 120.9):  # black, or silently 120
        with pytest.raises(ValueError, match="grey level"):
            bg.make_conditions(images, labels, grey=grey)
    D = np.random.default_rng(0).random((10, 10))
    with pytest.raises(ValueError, match="N x N"):
        bg.distance_partial_correlations(D, D, D, labels[:6])


def test_cost_difference_names_its_regions():
    labels = np.arange(8) % 4
    preds = [{c: labels.copy() for c in bg.CONDITIONS}]
    with pytest.raises(ValueError, match="region must be one of"):
        bg.cost_difference(preds, preds, labels, region="background", n_boot=50)


def test_effect_rows_checks_n_classes_against_the_labels():
    labels = np.arange(8) % 4
    preds = [{c: labels.copy() for c in bg.CONDITIONS}]
    donors = (labels + 1) % 4
    with pytest.raises(ValueError, match="beyond n_classes"):  # another task's chance
        bg.effect_rows(preds, labels, donors, n_classes=3, n_boot=50)
    with pytest.raises(ValueError, match="n_classes"):
        bg.effect_rows(preds, labels, donors, n_classes=1, n_boot=50)


def test_agreement_medians_given_as_fractions_are_refused():
    # 0.85 once read as 0.85% ("not all three are well above one half ... 1%")
    with pytest.raises(ValueError, match="look like fractions"):
        bg.agreement_reading({"a": 0.85, "b": 0.9, "c": 0.8})
    assert "well above one half" in bg.agreement_reading({"a": 85.0, "b": 90.0, "c": 80.0})


def _control_rows(numbers, half_width=4):
    """Accuracy rows (percent) on miniimagenet10: ``{classifier: {condition: accuracy}}``."""
    return pd.DataFrame([
        {"dataset": "miniimagenet10", "classifier": clf, "condition": cond, "accuracy": a,
         "low": a - half_width, "high": a + half_width}
        for clf, by in numbers.items() for cond, a in by.items()])


#: the numbers of one run (miniimagenet10, quick profile)
CONTROL = {"random network + SVM": {"clean": 54.7, "ring, same class": 63.1,
                                    "ring, other class": 38.8, "centre, same class": 64.9},
           "trained CNN": {"clean": 61.8, "ring, same class": 60.8,
                           "ring, other class": 37.0, "centre, same class": 66.2}}


def test_control_reading_names_a_same_class_control_above_clean():
    """On miniimagenet10 same-class composites once scored 63.1% against 54.7%; the
    ring cost (24.3 points) was then a loss of 15.9 from clean, and the chapter never said
    so. Later, the sentence said "the same-class composites score above the clean
    images" for both classifiers, while the CNN's (60.8%) were below its clean 61.8%; and
    "may order the classifiers differently" where the run decided it."""
    rows = _control_rows(CONTROL)
    said = bg.control_reading(rows, versus={"miniimagenet10": (0.006, -0.052, 0.062)})
    # only the classifier the control moves is named as moved
    assert said.startswith(
        "On miniimagenet10 a same-class ring lifts the random network above its clean "
        "accuracy (63.1% against 54.7%), so its ring cost (24.3 points) is larger than its "
        "loss from clean (15.9). Measured from clean,")
    assert "lowers the trained CNN" not in said and "lifts the trained CNN above its" not in said
    assert "may order" not in said
    # the ring costs do not tell the two apart; from clean the estimates order them
    assert ("Measured from clean, the random network loses 8.9 points less than the trained "
            "CNN (15.9 against 24.8, without an interval), while the ring costs do not tell "
            "the two apart (the random network's minus the trained CNN's: +0.6 points, 95% "
            "interval -5.2 to +6.2).") in said
    # the centre control, above clean for both
    assert said.endswith(
        "A same-class centre, too, lifts the random network and the trained CNN above clean "
        "(64.9% against 54.7%, 66.2% against 61.8%), so their centre costs are not losses "
        "from clean either.")
    # without the paired interval: the estimates alone, and the order plainly
    assert ("; the ring costs' estimates order the two the other way (the random network's "
            "minus the trained CNN's: +0.5 points).") in bg.control_reading(rows)
    # within the interval of clean: the ring control is not mentioned, the centre still is
    same = rows["condition"] == "ring, same class"
    rows.loc[same & (rows["classifier"] == "random network + SVM"), "low"] = 54.0
    # (not "too ... either" with nothing before them)
    assert bg.control_reading(rows) == (
        "On miniimagenet10 a same-class centre lifts the random network and the trained CNN "
        "above clean (64.9% against 54.7%, 66.2% against 61.8%), so their centre costs are "
        "not losses from clean.")
    one = rows[~((rows["condition"] == "centre, same class")
                 & (rows["classifier"] == "trained CNN"))]
    assert bg.control_reading(one) == (
        "On miniimagenet10 a same-class centre lifts the random network above clean (64.9% "
        "against 54.7%), so its centre cost is not a loss from clean.")
    # and with the centre neutral too: nothing to say
    assert bg.control_reading(rows[~rows["condition"].str.startswith("centre")]) == ""


def test_control_reading_says_when_the_losses_from_clean_keep_the_order():
    numbers = {"random network + SVM": {"clean": 54.7, "ring, same class": 63.1,
                                        "ring, other class": 30.0},
               "trained CNN": {"clean": 61.8, "ring, same class": 58.0,
                               "ring, other class": 45.0}}
    said = bg.control_reading(_control_rows(numbers, half_width=2),
                              versus={"miniimagenet10": (0.2, 0.15, 0.25)})
    # the CNN's same-class composites below its clean: the control hurts it
    assert ("A same-class ring lowers the trained CNN below its clean accuracy (58.0% "
            "against 61.8%), so its ring cost (13.0 points) is smaller than its loss from "
            "clean (16.8).") in said
    assert ("Measured from clean, the random network loses 7.9 points more than the trained "
            "CNN (24.7 against 16.8, without an interval); the ring costs order the two the "
            "same way (the random network's minus the trained CNN's: +20.0 points, 95% "
            "interval +15.0 to +25.0).") in said
    assert "centre" not in said  # no centre rows: no clause on them
    # a centre control that moves the two in opposite directions names each
    numbers["random network + SVM"]["centre, same class"] = 60.0
    numbers["trained CNN"]["centre, same class"] = 50.0
    said = bg.control_reading(_control_rows(numbers, half_width=2))
    assert said.endswith(
        "A same-class centre, too, moves both from clean (the random network above: 60.0% "
        "against 54.7%; the trained CNN below: 50.0% against 61.8%), so their centre costs "
        "are not losses from clean either.")


def test_order_from_clean_differences_are_of_the_values_shown():
    # not "loses 10.2 points less than the trained CNN (16.6 against 26.7)"
    said = bg.words._order_from_clean(("random network + SVM", "trained CNN"),
                                      {"random network + SVM": 14.5, "trained CNN": 21.6},
                                      {"random network + SVM": 16.64, "trained CNN": 26.66},
                                      None)
    assert "loses 10.1 points less than the trained CNN (16.6 against 26.7" in said
    # the CNN's loss 53.6 - 27.45 (stored as 26.149999...) once read "26.1" beside a
    # difference of 9.6; the tables round it (numpy) to 26.2
    said = bg.words._order_from_clean(("random network + SVM", "trained CNN"),
                                      {"random network + SVM": 14.5, "trained CNN": 21.9},
                                      {"random network + SVM": 16.6,
                                       "trained CNN": 53.6 - 27.450000000000003}, None)
    assert "loses 9.6 points less than the trained CNN (16.6 against 26.2" in said


def test_interval_text_inside_brackets():
    assert bg.interval_text((0.006, -0.052, 0.062)) == (
        "+0.6 points (95% interval -5.2 to +6.2)")
    assert bg.interval_text((0.006, -0.052, 0.062), brackets=False) == (
        "+0.6 points, 95% interval -5.2 to +6.2")
    # a value rounding to zero keeps its sign; zero itself reads 0.0
    assert bg.interval_text((-0.0004, -0.01, 0.0)) == (
        "-0.04 points (95% interval -1.0 to 0.0)")


def test_blur_reading_says_how_many_units_and_cannot_tell_below_the_minimum():
    # with n_features 1 the median of 1 random unit against 150 CNN units once read
    # "the random features survive blurring somewhat better"
    said = bg.blur_reading(0.933, 0.771, 1, 150)
    assert said.startswith("The blur comparison cannot tell here")
    assert "median (0.933) is over 1 unit and the trained CNN's (0.771) over 150 units" in said
    assert "better" not in said
    assert said.endswith("a median over fewer than 10 units does not stand for its layer.")
    assert bg.blur_reading(0.933, 0.771, 13, 9).startswith("The blur comparison cannot tell")
    assert bg.MIN_BLUR_UNITS == 10
    at_minimum = bg.blur_reading(0.933, 0.771, 10, 10)
    assert at_minimum.startswith("The random features survive blurring somewhat better")
    assert "medians 0.933 over 10 units against 0.771 over 10 units" in at_minimum
    assert bg.blur_reading(0.933, 0.771, 3, 150, min_units=3).startswith(
        "The random features survive")


@pytest.mark.parametrize("fraction", [0.001, 0.1, 0.19, 0.81, 0.9, 0.999])
def test_fractions_where_a_region_is_nearly_the_whole_image_are_refused(fraction):
    # at 0.001 the "ring" was 1,023 of 1,024 pixels, and the verdicts and the
    # headline read a swap of nearly the whole image as one of its background
    with pytest.raises(ValueError, match=r"choose it from 0\.2 to 0\.8, so that each region "
                       "holds at least a fifth of the image"):
        bg.check_fraction(fraction)


def test_fractions_the_chapter_accepts():
    assert bg.FRACTION_RANGE == (0.2, 0.8) and bg.BOOK_FRACTION == 0.5
    for fraction in (0.2, 0.3, 0.5, 0.8):
        assert bg.check_fraction(fraction) == fraction
    assert isinstance(bg.check_fraction(1 - 0.5), float)
    # 1 - 0.8 was once refused as "fraction = 0.2 ... choose it from 0.2 to 0.8"
    assert bg.check_fraction(1 - 0.8) == pytest.approx(0.2)
    assert bg.check_fraction(0.8000000000000002) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="fraction = 0.001 puts 0.1% of the pixels in the "
                       "centre and 99.9% in the ring"):
        bg.check_fraction(0.001)
    # a string or a value outside (0, 1) keeps the set-up cell's first message
    for bad in ("0.5", 0, 1, True, float("nan")):
        with pytest.raises(ValueError, match="fraction must be a number between 0 and 1"):
            bg.check_fraction(bad)


def test_split_reading_names_a_fraction_other_than_the_books():
    assert bg.split_reading(0.5) == (
        "Centre and ring each hold half of an image's pixels (the book's `fraction` of 0.5).")
    said = bg.split_reading(0.3)
    assert said.startswith("In this run the centre holds 30% of an image's pixels and the "
                           "ring 70% (`fraction` = 0.3, not the book's 0.5)")
    assert said.endswith("a ring larger than the book's can hold more of the object.")
    assert bg.split_reading(0.75).endswith("a ring thinner than the book's lies nearer the "
                                           "frame.")


def test_advantage_verdict_names_a_centre_that_explains_more_than_the_ring():
    # "the features react to the ring's colour" was once said beside a centre partial r above
    def row(estimate, low, high):
        return {"estimate": estimate, "low": low, "high": high, "undefined resamples": 0}
    ring, centre = row(0.10, 0.05, 0.15), row(0.40, 0.30, 0.50)
    level = (0.01, -0.01, 0.03)  # greying either half costs alike
    said = bg.advantage_verdict((0.02, 0.01, 0.03), level, ring, centre)
    # "though": the aside qualifies the verdict, it does not contradict it
    assert said == ("supported: the outer ring helps retrieval, not measurably less than the "
                    "centre does (greying the centre may cost up to 3.0 points of P@10 "
                    "more), and the features react to its colour (though the features "
                    "react more to the centre's colours: partial r = 0.400 [0.300, 0.500] "
                    "against the ring's 0.100 [0.050, 0.150])")
    assert bg.advantage_verdict((0.0, -0.01, 0.01), level, ring, centre).startswith(
        "partly supported: the features react to the ring's colour, but greying the ring "
        "does not measurably lower precision (though the features react more to the "
        "centre's colours")
    # the intro's brief line keeps the aside, not its intervals
    from rdsc import headlines
    res = {"pitfall": "not shown by this run", "verdicts": [],
           "advantage": bg.advantage_verdict((0.0, -0.01, 0.01), level, ring, centre)}
    assert headlines.background(res, brief=True) == (
        "pitfall: not shown by this run; retrieval: partly supported: the features react "
        "to the ring's colour, but greying the ring does not measurably lower precision "
        "(though the features react more to the centre's colours)")
    assert "0.400 [0.300, 0.500]" in headlines.background(res)
    # intervals that overlap (seed 2018: 0.245 [0.083, 0.437] against 0.186
    # [0.051, 0.323]) do not order the two: nothing is added
    overlapping = row(0.245, 0.083, 0.437)
    assert bg.advantage_verdict((0.0, -0.01, 0.01), level, row(0.186, 0.051, 0.323),
                                overlapping).endswith("lower precision")
    nan = float("nan")
    assert bg.advantage_verdict((0.0, -0.01, 0.01), level, row(0.1, nan, nan), centre) == (
        "not shown by this run")
    assert bg.advantage_verdict((0.0, -0.01, 0.01), level, ring, row(0.4, nan, nan)) == (
        "partly supported: the features react to the ring's colour, but greying the ring "
        "does not measurably lower precision")


def _run_files(tmp_path, monkeypatch, datasets, seeds):
    from rdsc import strict_json
    monkeypatch.setenv("RDSC_RESULTS", str(tmp_path))
    shared = dict(profile="smoke", settings={"k": {"corel": 8}}, datasets=datasets,
                  seeds=seeds, fraction=0.3, hue_degrees=180.0, C=0.005, device="cpu")
    path, notes = bg.save_run(shared, {d: {"k": 16} for d in datasets},
                              {"pitfall": "not shown by this run", "advantage": "x"})
    return path, notes, {p.name: strict_json.read(p) for p in path.parent.glob("*.json")}


def test_the_files_of_one_run_hold_its_settings_and_one_run_stamp(tmp_path, monkeypatch):
    # corel-<profile>.json (the headline's) once had no fraction, hue_degrees,
    # datasets or settings, and nothing tied the files of one run together
    path, notes, files = _run_files(tmp_path, monkeypatch, ["cifar10", "miniimagenet10"],
                                    [2018, 2019])
    assert path == tmp_path / "08_background" / "corel-smoke.json" and notes == []
    assert sorted(files) == ["cifar10-smoke.json", "corel-smoke.json",
                             "miniimagenet10-smoke.json"]
    corel = files["corel-smoke.json"]
    for key in bg.SHARED:
        assert key in corel, key
    assert corel["fraction"] == 0.3 and corel["hue_degrees"] == 180.0
    assert corel["datasets"] == ["cifar10", "miniimagenet10"] and corel["dataset"] == "corel"
    assert len({f["run"] for f in files.values()}) == 1
    assert files["cifar10-smoke.json"]["dataset"] == "cifar10"


def test_an_earlier_runs_file_of_another_dataset_is_named_and_kept(tmp_path, monkeypatch):
    _, _, first = _run_files(tmp_path, monkeypatch, ["cifar10", "miniimagenet10"], [2018])
    before = (tmp_path / "08_background" / "cifar10-smoke.json").read_bytes()
    _, notes, files = _run_files(tmp_path, monkeypatch, ["miniimagenet10"], [7])
    assert (tmp_path / "08_background" / "cifar10-smoke.json").read_bytes() == before
    old, new = first["corel-smoke.json"]["run"], files["corel-smoke.json"]["run"]
    assert old != new and files["miniimagenet10-smoke.json"]["run"] == new
    assert files["cifar10-smoke.json"]["run"] == old  # told apart by its stamp
    assert notes == [f"cifar10-smoke.json beside it is from an earlier run (run {old}, "
                     f"seeds [2018], fraction 0.3), not this one ({new}, datasets "
                     "miniimagenet10); kept"]


def test_save_run_refuses_files_without_the_runs_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("RDSC_RESULTS", str(tmp_path))
    with pytest.raises(ValueError, match=r"missing \['fraction'\]"):
        bg.save_run(dict(profile="smoke", settings={}, datasets=["cifar10"], seeds=[1],
                         hue_degrees=180, C=0.005, device="cpu"), {"cifar10": {}}, {})
    with pytest.raises(ValueError, match="per_dataset holds"):
        bg.save_run(dict(profile="smoke", settings={}, datasets=["cifar10"], seeds=[1],
                         fraction=0.5, hue_degrees=180, C=0.005, device="cpu"), {}, {})
    assert not (tmp_path / "08_background").exists()


def test_example_images_prefer_images_right_for_both_when_clean():
    """Fig. 8.3's first row (the first test image of its class) was once wrong for
    both models in every column, clean included."""
    labels = np.array([0, 0, 1, 1, 2, 2, 3])
    rn = np.array([1, 0, 1, 1, 0, 0, 3])
    cnn = np.array([0, 0, 0, 1, 1, 1, 0])
    # class 0: image 1 (image 0 wrong for RN); class 1: image 3; class 2 has none
    assert bg.example_images(labels, [rn, cnn], 2) == [(1, True), (3, True)]
    # a third class: none of classes 2 and 3 is right for both; the first falls back
    assert bg.example_images(labels, [rn, cnn], 3) == [(1, True), (3, True), (4, False)]
    # rows in the order of their classes, a fallback among them
    assert bg.example_images(labels, [rn], 4) == [(1, True), (2, True), (4, False),
                                                  (6, True)]
    assert bg.examples_note([True, True]) == (
        "Each row is the first test image of its class that both classifiers get right on "
        "the clean image.")
    assert bg.examples_note([True, False, True]) == (
        "Each row is the first test image of its class that both classifiers get right on "
        "the clean image, except 1 row marked \"(not right clean)\": too few classes had "
        "such an image in this run, so it shows the first test image of its class.")
    assert "2 rows marked" in bg.examples_note([False, False])


def test_grayscale_donor_capture_and_examples():
    """Swapped BT.601 weights, a capture without a changed prediction and the
    example count once passed these tests."""
    from rdsc.background import conditions as BC, summaries as BS
    red = torch.tensor([255, 0, 0], dtype=torch.uint8).view(1, 3, 1, 1)
    assert BC.grayscale(red).flatten().tolist() == [76, 76, 76]
    cap = BS.donor_capture([2, 1], [2, 3], [2, 3])
    assert cap["captured"].tolist() == [False, True]
    assert len(BS.example_images([0, 1, 2], [np.array([0, 1, 2])], 2)) == 2


def test_retrieval_leaves_self_out_and_l1_is_l1():
    """precision_at counting each image as its own neighbour, and
    l1_distances giving Euclidean distances, once passed these tests."""
    from rdsc.background import colour_retrieval as cr
    f = np.array([[0.0], [1.0], [10.0], [11.0]])
    assert cr.precision_at(f, np.array([0, 1, 0, 1]), 1).tolist() == [0.0] * 4
    assert cr.l1_distances(np.array([[0.0, 0.0], [1.0, 1.0]]))[0, 1] == pytest.approx(2.0)


def test_partial_correlations_hold_category_and_skip_self_pairs():
    """The centre correlation not holding category fixed, and pairs of an
    image with itself (repeated in a bootstrap index) kept, once passed these tests."""
    from rdsc.background import colour_retrieval as cr
    rng = np.random.default_rng(0)
    n = 30
    labels = np.arange(n) % 3
    same = (labels[:, None] == labels[None]).astype(float)

    def sym(m):
        m = (m + m.T) / 2
        np.fill_diagonal(m, 0)
        return m
    D_border = sym(rng.random((n, n)))
    D_centre = sym(1 - same + 0.3 * rng.random((n, n)))
    D_feature = sym(1 - same + 0.3 * rng.random((n, n)))
    out = cr.distance_partial_correlations(D_feature, D_border, D_centre, labels)
    assert out["centre_raw"] > 0.8 and abs(out["centre"]) < 0.3
    index = np.repeat(np.arange(n), 2)
    a, b = np.triu_indices(2 * n, 1)
    a, b = index[a], index[b]
    a, b = a[a != b], b[a != b]
    expected = np.corrcoef(D_feature[a, b], D_border[a, b])[0, 1]
    got = cr.distance_partial_correlations(D_feature, D_border, D_centre, labels, index)
    assert got["border_raw"] == pytest.approx(expected)


def test_mean_colour_agreement_posts_both_parts_and_checks_padding():
    """post applied to z only, and padding over half the kernel, once passed these tests."""
    from rdsc.background import mechanism as mech
    images = torch.full((1, 3, 4, 4), 255, dtype=torch.uint8)
    weight = -torch.ones(1, 3, 1, 1)            # z = a = -3 everywhere
    agree = mech.mean_colour_agreement(images, weight, None, 0, post=lambda t: t + 10)
    assert agree.tolist() == [1.0]
    with pytest.raises(ValueError, match="more than half the kernel"):
        mech.mean_colour_agreement(images, torch.ones(1, 3, 3, 3), None, 2)


def test_histogram_svm_standardises_its_features():
    """HistogramSVM features centred but not divided by the training
    standard deviation once passed these tests."""
    gen = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (20, 3, 4, 4), generator=gen, dtype=torch.uint8)
    clf = bg.HistogramSVM(bins=2, device="cpu").fit(imgs, np.arange(20) % 2)
    f = clf._features(imgs)
    assert np.allclose(f.mean(0), 0, atol=1e-5) and np.allclose(f.std(0), 1, atol=1e-4)


def test_pitfall_words_read_interval_ends_not_estimates():
    """'yes' from an estimate whose interval holds 0, chance judged on the
    estimate not its interval, overlapping intervals read as 'beyond the CNN', and an
    interval holding 0 named 'smaller', all once passed these tests."""
    from rdsc.background import words
    ours = {"ring cost": (0.1, 0.05, 0.15), "ring capture": (0.3, 0.2, 0.4),
            "background only above chance": (0.03, -0.01, 0.07)}
    rows, _ = words.pitfall_rows("d", ours, {"ring cost": (0.0, -0.01, 0.01)}, 10)
    assert rows[2]["random network"] == "not shown"
    labels = np.arange(10) % 2                  # 6 of 10 right: interval reaches below 1/2
    right6 = np.where(np.arange(10) < 6, labels, 1 - labels)
    assert not words.clean_above_chance([{"clean": right6}], labels, 2)
    assert not words.cost_beyond_cnn(ours, {"ring cost": (0.08, 0.06, 0.1)})
    labels = np.arange(100) % 10
    runs = {"d": {"classes": list(range(10)), "labels": labels, "predictions": {
        "random network + SVM": [{"clean": labels.copy()}],
        "trained CNN": [{"clean": labels.copy()}]}}}
    effects = {("d", "random network + SVM"): ours,
               ("d", "trained CNN"): {"ring cost": (0.1, 0.05, 0.15)}}
    verdict = words.pitfall_over_datasets(runs, effects, {"d": (-0.05, -0.1, 0.01)})[1]
    assert "smaller" not in verdict and "not shown to be more" in verdict


def test_advantage_rows_and_split_reading_read_intervals():
    """These tests once passed advantage_rows saying 'yes' for estimates whose interval holds 0,
    and split_reading calling a fraction near the book's 'the book's halves'."""
    from rdsc.background import words
    rows = words.advantage_rows((0.02, -0.01, 0.05), (0.02, -0.01, 0.05),
                                (0.02, -0.01, 0.05), (0.03, -0.02, 0.08),
                                {"estimate": 0.1, "low": -0.02, "high": 0.2})
    assert [r["random network"] for r in rows] == ["not shown"] * 5
    text = words.split_reading(words.BOOK_FRACTION + 0.1)
    assert text.startswith("In this run the centre holds")


def test_precision_at_counts_ties_as_the_mean_over_their_orders():
    """Tied distances were once broken by image order, and Corel is stored class by
    class, so an image tied with its own class and another counted its own first."""
    from rdsc.background.colour_retrieval import precision_at
    # image 0 is equally far from 1 (its class) and from 2, 3 (the other class)
    features = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [5.0, 5.0]])
    labels = np.array([0, 0, 1, 1, 0])
    p = precision_at(features, labels, 1)
    assert p[0] == pytest.approx(1 / 3)   # one of three tied neighbours is of its class
    # and with no ties it is the plain share of the n nearest
    spread = np.array([[0.0], [1.0], [3.0], [7.0], [15.0]])
    assert precision_at(spread, labels, 2).tolist() == [0.5, 0.5, 0.0, 0.5, 0.0]


def test_the_retrieval_reading_says_whether_the_pitfall_beat_the_cnn():
    """Once "the same sensitivity misleads the classifier" stood beside a verdict
    table where the random network was misled less than the trained CNN."""
    def rows(dataset, cost, capture, compare):
        return [{"dataset": dataset, "question": q, "random network": a} for q, a in (
            ("a foreign ring costs accuracy beyond compositing", cost),
            ("changed predictions go to the donor's class above chance", capture),
            ("the background alone classifies above chance", "yes"),
            ("the ring cost, compared with the trained CNN", compare))]
    smaller = rows("cifar10", "yes", "yes", "smaller than the CNN's")
    larger = rows("mini", "yes", "yes", "larger than the CNN's")
    unshown = rows("mini", "not shown", "yes", "larger than the CNN's")
    assert bg.pitfall_beyond_cnn(smaller) == {"cifar10": False}
    # larger on one dataset of two once read as larger (any)
    assert bg.pitfall_beyond_cnn(smaller + larger) == {"cifar10": False, "mini": True}
    assert bg.pitfall_beyond_cnn(smaller + unshown) == {"cifar10": False}  # not shown
    assert bg.pitfall_beyond_cnn(rows("c", "yes", "yes", "not compared: at chance")) is None
    ring = {"estimate": 0.08, "low": 0.05, "high": 0.11}
    args = ((0.02, 0.01, 0.03), (0.04, 0.02, 0.06), (0.01, -0.01, 0.03),
            (0.1, 0.08, 0.12), ring, True)
    assert "composites above, though not shown to mislead it more than the trained CNN." \
        in bg.advantage_reading(*args, False)
    assert "composites above, more than it misleads the trained CNN." in \
        bg.advantage_reading(*args, True)
    assert "composites above. " in bg.advantage_reading(*args)
    assert ("composites above, more than it misleads the trained CNN on mini, though not "
            "shown to on cifar10.") in bg.advantage_reading(
                *args, bg.pitfall_beyond_cnn(smaller + larger))
    assert "composites above, more than it misleads the trained CNN." in \
        bg.advantage_reading(*args, bg.pitfall_beyond_cnn(larger))


def test_an_undefined_retrieval_effect_reads_undefined_not_nan_or_not_shown():
    """An undefined centre control once printed "+nan points [+nan, +nan]" in the
    verdict table and the intro's line, and an undefined ring drop read "does not
    measurably lower precision"."""
    nan3 = (np.nan,) * 3
    ring = (0.024, 0.007, 0.041)
    partial = {"estimate": 0.16, "low": 0.12, "high": 0.2}
    rows = bg.advantage_rows(ring, nan3, nan3, (0.05, 0.01, 0.09), partial)
    centre = [r for r in rows if r["question"] == bg.CENTRE_GREY_QUESTION][0]
    assert centre["measure"] == "undefined (too few to resample)"
    assert centre["random network"] == "undefined"
    assert "nan" not in " ".join(r["measure"] for r in rows)
    res = {"pitfall": "not shown by this run", "advantage": "partly supported",
           "verdicts": rows}
    line = headlines.background(res)
    assert "nan" not in line and "the centre's undefined" in line
    assert "nan" not in headlines.background(res, brief=True)
    undefined_ring = bg.advantage_rows(nan3, ring, ring, ring, partial)
    assert "an undefined amount of P@10" in headlines.background(
        dict(res, verdicts=undefined_ring))
    # the verdict and the reading do not read an undefined drop as no drop
    verdict = bg.advantage_verdict(nan3, ring, partial)
    assert "does not measurably lower" not in verdict and "undefined" in verdict
    assert verdict.startswith("partly supported: the features react to the ring's colour")
    assert bg.advantage_verdict(nan3, ring, {**partial, "low": -0.1}).startswith(
        "not shown by this run (what greying the ring costs is undefined")
    reading = bg.advantage_reading(nan3, ring, ring, ring, partial, True)
    assert "does not measurably" not in reading and "is undefined here" in reading
    alone = bg.advantage_reading(nan3, ring, ring, ring, {**partial, "low": -0.1}, True)
    assert alone.startswith("In this run what greying the ring costs the random network's "
                            "precision is undefined")
    # an interval bound near 0 keeps its digits: not "up to 0.0 points"
    assert "up to 0.04 points of P@10 more" in bg.advantage_verdict(
        ring, (-0.01, -0.03, 0.0004), partial)


def test_the_retrieval_verdict_refuses_effects_it_cannot_read():
    """A swapped interval once read "helps retrieval, more than the centre does",
    points for shares "may cost up to 420.0 points", and an empty tuple an IndexError."""
    partial = {"estimate": 0.16, "low": 0.12, "high": 0.2}
    ring = (0.024, 0.007, 0.041)
    with pytest.raises(ValueError, match=r"centre_minus_ring needs low <= high"):
        bg.advantage_verdict(ring, (0.0, 0.01, -0.02), partial)
    with pytest.raises(ValueError, match="not points"):
        bg.advantage_verdict(ring, (-1.0, -3.0, 4.2), partial)
    with pytest.raises(ValueError, match=r"ring_grey_drop must be \(estimate, low, high\)"):
        bg.advantage_verdict((), ring, partial)
    with pytest.raises(ValueError, match="grayscale_drop"):
        bg.advantage_rows(ring, ring, ring, (0.5, 0.6, 0.4), partial)


def test_a_capture_rate_of_one_changed_prediction_is_no_evidence():
    """One prediction of 400 changed, to the donor's class, once gave a capture
    interval of "100 to 100%" and a "yes" (at chance that happens 12% of the time)."""
    n, c = 400, 10
    labels = np.arange(n) % c
    donor = (labels + 1) % c
    preds = {cond: labels.copy() for cond in bg.CONDITIONS}
    preds["ring, other class"][0] = donor[0]
    e = bg.effect_rows([preds], labels, donor, c, n_boot=200)
    estimate, low, high = e["ring capture"]
    assert estimate == 1.0 and low < 0.05 and high == 1.0  # Clopper-Pearson of 1 of 1
    rows, _ = bg.pitfall_rows("cifar10", e, e, c)
    capture = [r for r in rows if r["question"].startswith("changed predictions")][0]
    assert capture["random network"] == "not shown"


def test_the_order_from_clean_reads_the_interval_and_ties():
    """Tied ring costs once read "the other way", and a cost difference whose interval
    lay above 0 read "the other way" because its rounded estimates were compared."""
    from rdsc.background.words import _order_from_clean
    cl = ("random network + SVM", "trained CNN")
    tie = _order_from_clean(cl, {cl[0]: 10.0, cl[1]: 10.0}, {cl[0]: 8.0, cl[1]: 5.0}, None)
    assert "do not order the two" in tie and "other way" not in tie
    same = _order_from_clean(cl, {cl[0]: 10.04, cl[1]: 10.01}, {cl[0]: 8.0, cl[1]: 5.0},
                             (0.0003, 0.0001, 0.0006))
    assert "order the two the same way" in same, same


def test_what_a_verdict_reads_is_printed_apart():
    """A capture low end of 0.1115 and of 0.1108 against chance 0.1111 both once read
    "11 to 30% vs chance 11%" (one "yes", one "not shown"); partial r low ends of +0.0004
    and -0.0004 read "[0.000" and "[-0.000"."""
    e = {"ring cost": (0.05, 0.02, 0.08), "centre cost": (0.1, 0.05, 0.15),
         "background only above chance": (0.1, 0.05, 0.15),
         "ring capture": (0.2, 0.1115, 0.30), "ring capture chance": (0.1111, 0.1, 0.12),
         "centre capture": (0.2, 0.1, 0.3), "centre capture chance": (0.11, 0.1, 0.12)}
    from rdsc.background.words import partial_text
    rows = bg.pitfall_rows("cifar10", e, e, 10)[0]
    capture = [r for r in rows if r["question"].startswith("changed predictions")][0]
    assert capture["random network"] == "yes"
    assert "(95% interval 11.2 to 30%) vs chance 11.1%" in capture["measure"]
    assert partial_text({"estimate": 0.05, "low": 0.0004, "high": 0.1}) == (
        "partial r = 0.050 [0.0004, 0.100]")
    assert partial_text({"estimate": 0.05, "low": -0.0004, "high": 0.1}) == (
        "partial r = 0.050 [-0.0004, 0.100]")


def test_an_effect_cell_keeps_the_sign_of_ends_that_round_to_zero():
    """Once "0.0 [-0.0, 0.1]" stood beside a verdict read from the unrounded ends."""
    from rdsc.background.summaries import effect_text
    assert effect_text("ring cost", 0.0004, -0.0004, 0.0012) == "0.04 [-0.04, 0.1]"
    assert effect_text("ring cost", 0.05, 0.02, 0.081) == "5.0 [2.0, 8.1]"
    assert effect_text("ring cost", -0.05, -0.08, -0.02) == "-5.0 [-8.0, -2.0]"
    assert effect_text("ring cost", 0.0, -1e-17, 0.0) == "0.0 [0.0, 0.0]"
    assert effect_text("ring capture chance", 0.1234, 0.1, 0.2) == "12.3"
    assert effect_text("ring capture", float("nan"), 0, 0) == "– (no prediction changed)"


def test_the_cnn_sees_test_images_pooled_as_its_training_images_were():
    """Downsampled pooled floats and rounded them: exact halves fell to either side, so
    3.7% of the pooled values of a test image were one level off the training images'."""
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    wrapper = bg.Downsampled(torch.nn.Identity(), 2)
    pooled = wrapper.pooled(images.float() / 255)
    torch.testing.assert_close((pooled * 255).round().to(torch.uint8),
                               bg.downsample(images, 2), rtol=0, atol=0)
    assert torch.equal(pooled, bg.downsample(images, 2).float() / 255)


def test_the_capture_sentence_tells_its_low_end_from_chance_as_the_table_does():
    """A low end of 9.92% beside a chance of 10.46% once read "interval 10-18%" against
    "10%" in the sentence, while the verdict table read "not shown"."""
    assert bg.capture_beside_chance((0.1411, 0.0992, 0.1835), (0.1046, 0.1, 0.11)) == (
        "14.1% (interval 9.9-18.4%)", "10.5%")
    assert bg.capture_beside_chance((0.3, 0.2, 0.4), (0.1, 0.09, 0.11)) == (
        "30% (interval 20-40%)", "10%")
    nan = (float("nan"),) * 3
    assert bg.capture_beside_chance(nan, nan) == (
        "undefined (no prediction changed)", "undefined")


def test_the_reading_names_the_datasets_that_show_the_pitfall():
    """Shown on cifar10 only, the closing reading once said "the same sensitivity misleads
    the classifier ..., more than it misleads the trained CNN", as of both datasets."""
    labels = np.repeat(np.arange(10), 20)
    def run():
        return {"classes": list(range(10)), "labels": labels, "predictions": {
            "random network + SVM": [{"clean": labels.copy()}],
            "trained CNN": [{"clean": labels.copy()}]}}
    shows = {"ring cost": (0.1, 0.05, 0.15), "ring capture": (0.3, 0.2, 0.4),
             "ring capture chance": (0.11, 0.1, 0.12),
             "background only above chance": (0.05, 0.02, 0.08)}
    flat = {**shows, "ring cost": (0.01, -0.02, 0.04)}
    cnn = {"ring cost": (0.0, -0.01, 0.01)}
    effects = {("cifar10", "random network + SVM"): shows, ("cifar10", "trained CNN"): cnn,
               ("stl10", "random network + SVM"): flat, ("stl10", "trained CNN"): cnn}
    rows, verdict, shown = bg.pitfall_over_datasets(
        {"cifar10": run(), "stl10": run()}, effects,
        {"cifar10": (0.1, 0.05, 0.15), "stl10": (0.01, -0.02, 0.04)})
    assert shown and verdict == ("confirmed on cifar10 only (not shown on stl10), beyond "
                                 "the trained CNN's cost")
    assert bg.pitfall_by_dataset(rows) == {"cifar10": True, "stl10": False}
    # the chapter appends corel's retrieval rows before asking (no classification there)
    with_retrieval = rows + [{"dataset": "corel", "question": bg.RING_GREY_QUESTION,
                              "random network": "yes"}]
    assert bg.pitfall_by_dataset(with_retrieval) == {"cifar10": True, "stl10": False}
    reading = bg.advantage_reading(
        (0.05, 0.02, 0.08), (0.04, 0.02, 0.06), (0.01, -0.01, 0.03), (0.0, -0.01, 0.01),
        {"estimate": 0.08, "low": 0.05, "high": 0.11}, shown,
        bg.pitfall_beyond_cnn(rows), bg.pitfall_by_dataset(rows))
    assert ("misleads the classifier in the composites above on cifar10 (not shown on "
            "stl10), more than it misleads the trained CNN.") in reading


def test_a_control_moves_a_classifier_by_the_paired_interval():
    """The same-class control was read from its own interval against the clean estimate,
    unpaired; the design is paired (the same images, clean and composited), and the
    paired interval of control minus clean decides where it is given."""
    rows = _control_rows(CONTROL)
    key = ("miniimagenet10", "random network + SVM")
    # paired: not shown to move the random network's ring control (interval holds 0),
    # though its own interval excludes the clean estimate
    held = {(*key, "ring"): (0.08, -0.01, 0.17)}
    said = bg.control_reading(rows, shifts=held)
    assert "a same-class ring lifts the random network" not in said
    # paired and shown: named, with the same numbers as before
    shown = {(*key, "ring"): (0.084, 0.05, 0.12)}
    assert bg.control_reading(rows, shifts=shown).startswith(
        "On miniimagenet10 a same-class ring lifts the random network above its clean "
        "accuracy (63.1% against 54.7%, paired 95% interval of the difference +5.0 to "
        "+12.0 points), so its ring cost (24.3 points)")
    # a centre shift held at 0 for both: the centre sentence goes
    centre = {(d, c, "centre"): (0.05, -0.01, 0.1) for d, c in
              [("miniimagenet10", "random network + SVM"), ("miniimagenet10", "trained CNN")]}
    assert "same-class centre" not in bg.control_reading(rows, shifts={**shown, **centre})


def test_control_shifts_are_paired_over_the_same_images():
    """A control that flips 30 of 200 images from wrong to right and none the other way
    moves the classifier; one that swaps 30 right for 30 wrong does not, though its
    accuracy equals clean either way."""
    labels = np.repeat(np.arange(10), 20)
    clean = labels.copy()
    clean[:60] = (labels[:60] + 1) % 10           # 60 wrong
    lifted = clean.copy()
    lifted[:30] = labels[:30]                      # 30 of them now right
    swapped = clean.copy()
    swapped[:30] = labels[:30]
    swapped[100:130] = (labels[100:130] + 1) % 10  # 30 right ones now wrong
    def run(same):
        return {"labels": labels, "predictions": {"random network + SVM": [
            {"clean": clean, "ring, same class": same, "centre, same class": clean}]}}
    up = bg.control_shifts({"d": run(lifted)}, n_boot=300)
    assert up["d", "random network + SVM", "ring"][0] == pytest.approx(0.15)
    assert up["d", "random network + SVM", "ring"][1] > 0
    assert up["d", "random network + SVM", "centre"] == (0.0, 0.0, 0.0)
    even = bg.control_shifts({"d": run(swapped)}, n_boot=300)
    e, low, high = even["d", "random network + SVM", "ring"]
    assert e == pytest.approx(0.0) and low < 0 < high


def test_ring_costs_are_set_against_what_each_classifier_has_to_lose():
    """Costs were compared in points whatever the clean accuracies: 10 points of 30 above
    chance is a third, 12 of 60 a fifth."""
    said = bg.relative_cost_text({"random network + SVM": 0.10, "trained CNN": 0.12},
                                 {"random network + SVM": 0.40, "trained CNN": 0.70}, 0.1)
    assert said == ("The two start from different clean accuracies (40.0% and 70.0%, chance "
                    "10.0%): as a share of the accuracy each has above chance, the foreign "
                    "ring takes 33% of the random network's and 20% of the trained CNN's "
                    "(estimates, without an interval), which orders the two the other way "
                    "from the points: compared in points, the costs favour the classifier "
                    "with less accuracy to lose.")
    assert bg.relative_cost_text({"a": 0.2, "b": 0.1}, {"a": 0.6, "b": 0.6}, 0.1).endswith(
        "which orders the two as the points do.")
    assert bg.relative_cost_text({"a": 0.2, "b": 0.1}, {"a": 0.6, "b": 0.1}, 0.1) == ""
    with pytest.raises(ValueError, match="same two classifiers"):
        bg.relative_cost_text({"a": 0.2}, {"a": 0.6}, 0.1)
