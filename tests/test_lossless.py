"""JPEG against lossless: pairing by pixels, feature changes, the paired comparison, intervals."""

import numpy as np
import pytest
import torch

from rdsc import data
from rdsc.features import FeatureArray
from rdsc.lossless import compare, feature_change, pair_by_pixels, positions_in, select_rows

from conftest import require_real_data

rng = np.random.default_rng(0)


def noisy_copies(pool, rows, amplitude=3):
    """``pool[rows]`` with small pixel noise (a stand-in for JPEG re-encoding), uint8."""
    noise = torch.as_tensor(rng.integers(-amplitude, amplitude + 1, pool[rows].shape))
    return (pool[rows].long() + noise).clamp(0, 255).to(torch.uint8)


def test_pairing_finds_the_noisy_twin_with_and_without_labels():
    pool = torch.as_tensor(rng.integers(0, 256, (60, 3, 8, 8), dtype=np.uint8))
    pool_labels = np.arange(60) % 3
    rows = rng.permutation(60)[:20]
    queries = noisy_copies(pool, rows)
    for labels in ((pool_labels[rows], pool_labels), (None, None)):
        found = pair_by_pixels(queries, pool, *labels, block=7)
        assert found["index"].tolist() == rows.tolist() and found["one_to_one"]
        assert (found["distance"] < found["runner_up"] / 10).all()
        exact = ((queries.double() - pool[rows].double()) ** 2).sum((1, 2, 3)).sqrt().numpy()
        np.testing.assert_allclose(found["distance"], exact)  # distances are exact, not float32
        np.testing.assert_allclose(found["rms"], exact / np.sqrt(3 * 64))


def test_pairing_refuses_mismatched_input():
    pool = torch.zeros(5, 3, 4, 4, dtype=torch.uint8)
    with pytest.raises(ValueError, match="one size"):
        pair_by_pixels(torch.zeros(2, 3, 4, 5, dtype=torch.uint8), pool)
    with pytest.raises(ValueError, match="both"):
        pair_by_pixels(pool[:2], pool, query_labels=[0, 0])
    with pytest.raises(ValueError, match="two candidates"):
        pair_by_pixels(pool[:1], pool, [1], [0, 0, 0, 0, 1])


def test_positions_and_rows():
    assert positions_in([3, 5, 9, 11], [9, 3]).tolist() == [2, 0]
    assert positions_in([3, 5], [4]) is None
    feats = FeatureArray(np.arange(12, dtype=np.int16).reshape(4, 3), 4)
    picked = select_rows(feats, [2, 0])
    assert picked.denominator == 4 and picked.counts.tolist() == [[6, 7, 8], [0, 1, 2]]


def test_feature_change_counts_what_differs():
    a = np.zeros((4, 5), dtype=np.int16)
    b = a.copy()
    b[0, 1], b[2, 3], b[2, 4] = 2, -1, 1  # 3 changed values in 2 images
    fa, fb = FeatureArray(a, 4), FeatureArray(b, 4)
    out = feature_change(fa, fb, block=3)
    assert out["changed"] == pytest.approx(3 / 20) and out["images_changed"] == pytest.approx(0.5)
    assert out["per_image"] == pytest.approx(0.75) and out["k"] == 5
    assert out["mean_abs"] == pytest.approx((2 + 1 + 1) / 4 / 20)
    assert out["mean_abs_changed"] == pytest.approx((2 + 1 + 1) / 4 / 3)
    same = feature_change(fa, FeatureArray(a.copy(), 4))
    assert same["changed"] == 0 and same["mean_abs_changed"] == 0
    with pytest.raises(ValueError, match="one shape"):
        feature_change(fa, FeatureArray(a[:3], 4))


def blobs(n, d=20, classes=3, seed=0):
    r = np.random.default_rng(seed)
    centres = np.random.default_rng(100).normal(size=(classes, d)) * 2  # the same for every seed
    y = np.arange(n) % classes
    return (centres[y] + r.normal(size=(n, d))).astype(np.float32), y


def test_compare_identical_versions_differ_by_nothing():
    X, y = blobs(300)
    Xt, yt = blobs(150, seed=1)
    out = compare(
        {"lossless": X, "JPEG": X.copy()},
        {"lossless": Xt, "JPEG": Xt.copy()},
        y,
        yt,
        C=0.1,
        device="cpu",
        n_boot=200,
    )
    boot = out["bootstrap"]
    assert boot["difference"] == 0 and boot["low"] == 0 and boot["high"] == 0
    assert [r["version"] for r in out["rows"]] == ["lossless", "JPEG"]
    assert out["rows"][0]["top-1 (%)"] > 90 and "top-3 (%)" in out["rows"][0]


def test_compare_sees_a_damaged_version():
    X, y = blobs(300)
    Xt, yt = blobs(400, seed=1)
    damaged = Xt + np.random.default_rng(2).normal(size=Xt.shape).astype(np.float32) * 3
    out = compare(
        {"clean": X, "damaged": X},
        {"clean": Xt, "damaged": damaged},
        y,
        yt,
        C=0.1,
        device="cpu",
        n_boot=500,
    )
    boot = out["bootstrap"]
    assert boot["difference"] > 0 and boot["low"] > 0  # clean is right more often, clearly
    assert boot["low"] <= boot["difference"] <= boot["high"]
    with pytest.raises(ValueError, match="same two"):
        compare({"a": X}, {"a": Xt}, y, yt)


# --- the real subset -----------------------------------------------------------------------


def test_real_lossless_subset_pairs_with_its_jpegs():
    require_real_data("cifar10-lossless-subset", "cifar10")  # conftest's check, not a copy
    images, labels, classes = data.load("cifar10-lossless-subset", "test")
    assert images.shape == (1000, 3, 32, 32) and images.dtype == torch.uint8
    jpeg, jpeg_labels, jpeg_classes = data.load("cifar10", "test")
    assert classes == jpeg_classes
    picked = data.subset(labels, 100, seed=0)
    found = pair_by_pixels(images[picked], jpeg, labels[picked].numpy(), jpeg_labels.numpy())
    assert found["one_to_one"]
    assert np.median(found["rms"]) < 8, "a JPEG twin differs by a few levels per pixel"
    assert (found["distance"] < 0.5 * found["runner_up"]).mean() > 0.95


def test_features_for_reuses_computed_rows_else_extracts(tmp_path, monkeypatch):
    from rdsc import lossless
    from rdsc.features import extract
    from rdsc.network import RandomDepthwiseSignNet

    monkeypatch.setenv("RDSC_DATA", str(tmp_path))
    pool = torch.as_tensor(rng.integers(0, 256, (12, 3, 16, 16), dtype=np.uint8))
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 8)
    have_idx = np.array([0, 2, 4, 6, 8, 10])
    have = extract(net, pool[torch.as_tensor(have_idx)], progress=False)
    reused = lossless.features_for(net, pool, [4, 0], have_idx, have, name="t", progress=False)
    np.testing.assert_array_equal(reused.counts, have.counts[[2, 0]])
    fresh = lossless.features_for(net, pool, [4, 5], have_idx, have, name="t", progress=False)
    np.testing.assert_array_equal(fresh[:], extract(net, pool[[4, 5]], progress=False)[:])
    assert select_rows(have, np.arange(6)) is have  # all rows in order: no copy


def test_load_and_pair_and_twin_features(tmp_path, monkeypatch, small_named_datasets):
    """A toy lossless folder whose images are noisy copies of a toy JPEG pool."""
    from PIL import Image
    from rdsc.lossless import load_and_pair, twin_features
    from rdsc.network import RandomDepthwiseSignNet

    monkeypatch.setenv("RDSC_DATA", str(tmp_path))
    pool = torch.as_tensor(rng.integers(0, 256, (40, 3, 16, 16), dtype=np.uint8))
    pool_labels = np.arange(40) % 2
    picked = {"train": [3, 8, 13, 20], "test": [5, 30]}
    for split, rows in picked.items():
        for i in rows:
            folder = tmp_path / "cifar10-lossless-subset" / split / f"c{pool_labels[i]}"
            folder.mkdir(parents=True, exist_ok=True)
            twin = noisy_copies(pool, [i])[0].permute(1, 2, 0).numpy()
            Image.fromarray(twin).save(folder / f"{i:05d}.png")
    jpeg = {s: (pool, pool_labels) for s in picked}
    lossless, pairs = load_and_pair(jpeg, {"train": None, "test": None})
    for split, rows in picked.items():  # folders list classes in order, files by name
        expected = sorted(rows, key=lambda i: (pool_labels[i], i))
        assert pairs[split]["index"].tolist() == expected
        assert lossless[split][1].tolist() == [pool_labels[i] for i in expected]
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 8)
    from rdsc.features import extract

    have_idx, have = np.arange(40), extract(net, pool, progress=False)
    feats = twin_features(
        net,
        lossless,
        pairs,
        {s: pool for s in picked},
        {s: (have_idx, have) for s in picked},
        progress=False,
    )
    np.testing.assert_array_equal(feats["JPEG"]["test"].counts, have.counts[pairs["test"]["index"]])
    assert feats["lossless"]["train"].shape == (4, 8)


def test_features_for_reuses_rows_only_of_the_same_network(tmp_path, monkeypatch):
    from rdsc.features import extract
    from rdsc.lossless import features_for
    from rdsc.network import RandomDepthwiseSignNet
    monkeypatch.setenv("RDSC_CACHE", str(tmp_path))
    x = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(0))
    a, b = (RandomDepthwiseSignNet.for_dataset("cifar10", 32, seed=s) for s in (1, 2))
    have = extract(a, x, progress=False)
    got = features_for(a, x, np.arange(3), np.arange(6), have, name="t", progress=False)
    assert np.array_equal(got.counts, have.counts[:3])
    # the seed-1 rows were once returned for the seed-2 network (same k)
    with pytest.raises(ValueError, match="not computed by this network"):
        features_for(b, x, np.arange(3), np.arange(6), have, name="t", progress=False)
    # rows of a network of another k are extracted afresh (with the k
    # check dropped they failed the recomputation check on mismatched shapes)
    small = RandomDepthwiseSignNet.for_dataset("cifar10", 8, seed=1)
    got = features_for(small, x, np.arange(3), np.arange(6), have, name="t", progress=False)
    assert got.shape == (3, 8)
    assert np.array_equal(got.counts, extract(small, x[:3], progress=False).counts)


def test_pair_by_pixels_wants_one_label_per_image():
    import torch
    from rdsc.lossless import pair_by_pixels
    q = torch.randint(0, 256, (4, 3, 4, 4), dtype=torch.uint8)
    pool = torch.cat([q, q + 1])
    with pytest.raises(ValueError, match="one label per query"):  # left queries unmatched
        pair_by_pixels(q, pool, np.array([0, 0]), np.zeros(8, int))


def test_positions_in_wants_indices():
    from rdsc.lossless import positions_in
    assert positions_in([3, 4, 5], [5, 3]).tolist() == [2, 0]
    with pytest.raises(ValueError, match="integers"):  # 3.2 matched 3
        positions_in([3.5, 4, 5], [3.2])


def test_the_runner_up_is_the_second_nearest_and_repeats_are_not_one_to_one():
    """The third nearest as runner-up, and one_to_one always true, once passed these tests."""
    pool = torch.zeros(3, 1, 1, 1, dtype=torch.uint8)
    pool[1], pool[2] = 10, 20
    found = pair_by_pixels(pool[:1].repeat(2, 1, 1, 1), pool)
    assert found["runner_up"].tolist() == [10.0, 10.0]
    assert not found["one_to_one"]
