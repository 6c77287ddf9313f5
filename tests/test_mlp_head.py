"""The authors' MLP head; the seed spread and the choice of C (small, synthetic problems)."""

import numpy as np
import pytest
import torch

from rdsc import choose_c, seeds
from rdsc.features import FeatureArray
from rdsc.mlp_head import MLPClassifier, MLPHead


def blobs(n, d=30, classes=4, seed=0, spread=1.5):
    r = np.random.default_rng(seed)
    centres = np.random.default_rng(100).normal(size=(classes, d))
    y = np.arange(n) % classes
    return (centres[y] + spread * r.normal(size=(n, d))).astype(np.float32), y


def test_head_is_the_authors_architecture():
    head = MLPHead(50, 7, hidden=12)
    kinds = [type(m).__name__ for m in head.layers]
    assert kinds == ["BatchNorm1d", "Linear", "BatchNorm1d", "Sigmoid", "Linear"]
    assert head.layers[0].num_features == 50 and head.layers[1].out_features == 12
    assert head(torch.zeros(3, 50)).shape == (3, 7)


def test_mlp_learns_blobs_and_is_reproducible():
    X, y = blobs(210)
    Xt, yt = blobs(200, seed=1)
    opts = dict(hidden=16, epochs=5, batch_size=32, lr=1e-2, device="cpu")
    m = MLPClassifier(**opts).fit(X, y)
    assert (m.predict(Xt) == yt).mean() > 0.9
    assert len(m.history_) == 5 and m.history_[-1]["loss"] < m.history_[0]["loss"]
    again = MLPClassifier(**opts).fit(X, y)
    np.testing.assert_array_equal(m.decision_function(Xt), again.decision_function(Xt))
    other = MLPClassifier(**opts, seed=1).fit(X, y)
    assert not np.array_equal(m.decision_function(Xt), other.decision_function(Xt))


def test_mlp_reads_feature_arrays_like_floats_and_maps_labels():
    counts = np.random.default_rng(0).integers(-9, 10, (90, 6)).astype(np.int16)
    y = np.where(counts[:, 0] > 0, 7, 3)  # labels that are not indices
    feats = FeatureArray(counts, 9)
    a = MLPClassifier(hidden=8, epochs=3, batch_size=16, device="cpu").fit(feats, y)
    b = MLPClassifier(hidden=8, epochs=3, batch_size=16, device="cpu").fit(
        counts / np.float32(9), y
    )
    np.testing.assert_allclose(a.decision_function(feats), b.decision_function(feats[:]), atol=1e-5)
    assert set(a.predict(feats)) <= {3, 7} and list(a.classes_) == [3, 7]
    assert a.decision_function(feats).shape == (90, 2)


def test_mlp_small_sets_and_bad_arguments():
    X, y = blobs(5, classes=2)
    MLPClassifier(hidden=4, epochs=1, batch_size=64, device="cpu").fit(X, y)  # one batch of 5
    for bad in (
        dict(epochs=0),
        dict(batch_size=1),
        dict(hidden=2.5),
        dict(lr=-1),
        dict(lr=float("nan")),
    ):
        with pytest.raises(ValueError):
            MLPClassifier(**bad)
    with pytest.raises(ValueError, match="two classes"):
        MLPClassifier(device="cpu").fit(X, np.zeros(5, int))
    with pytest.raises(RuntimeError, match="not fitted"):
        MLPClassifier().decision_function(X)
    m = MLPClassifier(hidden=4, epochs=1, device="cpu").fit(X, y)
    with pytest.raises(ValueError, match="N x 30"):
        m.decision_function(X[:, :5])
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier(device="cpu").fit(np.full((4, 3), np.nan, np.float32), [0, 1, 0, 1])


# --- the choice of C -------------------------------------------------------------------------


def test_validation_split_is_balanced_and_disjoint():
    labels = np.repeat(np.arange(5), 20)
    fit, val = choose_c.validation_split(labels, 0.2, seed=4)
    assert len(val) == 20 and np.bincount(labels[val]).tolist() == [4] * 5
    assert len(fit) == 80 and not set(fit) & set(val)
    for bad in (0, 1, -0.1):
        with pytest.raises(ValueError):
            choose_c.validation_split(labels, bad)


def test_choose_C_keeps_the_best_validation_accuracy():
    X, y = blobs(300, spread=3.0)
    best, rows = choose_c.choose_C(X, y, [0.1, 1e-6, 0.01], fraction=0.25, device="cpu")
    assert [r["C"] for r in rows] == [1e-6, 0.01, 0.1]
    top = max(r["validation top-1 (%)"] for r in rows)
    assert best == min(r["C"] for r in rows if r["validation top-1 (%)"] == top)
    assert all(r["Newton steps"] >= 1 and r["fit s"] >= 0 for r in rows)
    feats = FeatureArray(np.round(X * 100).astype(np.int16), 100)
    best_f, rows_f = choose_c.choose_C(feats, y, [0.01], device="cpu")
    assert best_f == 0.01 and len(rows_f) == 1
    with pytest.raises(ValueError, match="empty"):
        choose_c.choose_C(X, y, [])


def test_choose_C_ties_go_to_the_smaller_C(monkeypatch):
    monkeypatch.setattr(choose_c, "topk_accuracy", lambda *a, **k: {1: 0.5})  # every C alike
    X, y = blobs(80)
    assert choose_c.choose_C(X, y, [0.02, 0.005, 0.01], device="cpu")[0] == 0.005


# --- the seed spread --------------------------------------------------------------------------


def test_accuracy_over_seeds_extracts_each_seed_and_reuses_known(monkeypatch):
    r = np.random.default_rng(0)
    labels = np.arange(60) % 2
    images = torch.as_tensor(r.integers(0, 100, (60, 3, 16, 16), dtype=np.uint8))
    images[labels == 1] += 120  # brighter class: easy to tell apart
    tr, te = slice(0, 40), slice(40, 60)
    rows = seeds.accuracy_over_seeds(
        "cifar10",
        [1, 2],
        16,
        images[tr],
        labels[tr],
        images[te],
        labels[te],
        C=0.1,
        device="cpu",
        cache=None,
        progress=False,
    )
    assert [row["seed"] for row in rows] == [1, 2]
    assert all(row["top-1 (%)"] > 80 for row in rows)

    def no_extraction(*args, **kwargs):
        raise AssertionError("a known seed must not be extracted again")

    from rdsc.features import extract
    from rdsc.network import RandomDepthwiseSignNet

    net = RandomDepthwiseSignNet.for_dataset("cifar10", 16, seed=5)
    known = {
        5: (extract(net, images[tr], progress=False), extract(net, images[te], progress=False))
    }
    monkeypatch.setattr(seeds, "extract", no_extraction)
    again = seeds.accuracy_over_seeds(
        "cifar10",
        [5],
        16,
        images[tr],
        labels[tr],
        images[te],
        labels[te],
        C=0.1,
        device="cpu",
        known=known,
    )
    assert again[0]["seed"] == 5
    with pytest.raises(ValueError, match="not k"):
        seeds.accuracy_over_seeds(
            "cifar10",
            [5],
            8,
            images[tr],
            labels[tr],
            images[te],
            labels[te],
            device="cpu",
            known=known,
        )


def test_against_paper_c_reuses_the_main_run_and_fits_the_rest(monkeypatch):
    X, y = blobs(200, spread=3.0)
    Xt, yt = blobs(100, seed=1, spread=3.0)
    main = {1: 0.123}
    out = choose_c.against_paper_c(X, y, Xt, yt, [0.005], 0.005, paper_c_topk=main, device="cpu")
    assert out["best"] == 0.005 and out["test_best"] is main and out["test_paper"] is main
    part = choose_c.against_paper_c(
        X, y, Xt, yt, [1e-4, 0.005, 0.1], 0.005, n_images=120, paper_c_topk=main, device="cpu"
    )
    assert part["n_images"] == 120 and part["test_paper"] is not main  # refitted on the 120
    assert set(part["test_best"]) == {1, 2, 3, 4}  # 4 classes: top-1..4
