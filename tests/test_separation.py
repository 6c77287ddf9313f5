"""Separation ratio, exact Wasserstein distances on a grid, margins."""
import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from rdsc.classify import LinearSVM
from rdsc.separation import (bootstrap_ratio, bootstrap_ratio_difference, feature_distances,
                             pixel_distances, separation_ratio,
                             svm_margins, unit_scale, value_cdfs)


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


def test_bootstrap_interval_brackets_the_ratio_for_separated_classes():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (30, 2)), rng.normal(5, 1, (30, 2))])
    y = torch.tensor([0] * 30 + [1] * 30)
    D = torch.cdist(torch.tensor(x), torch.tensor(x))
    r, lo, hi = bootstrap_ratio(D, y, n_boot=100)
    assert lo <= r <= hi and lo > 2


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
    D_b = torch.cdist(torch.tensor(x * [1.3, 1.0]), torch.tensor(x * [1.3, 1.0]))  # stretch along x
    d, lo, hi = bootstrap_ratio_difference(D_a, D_b, y, n_boot=200)
    assert d == pytest.approx(separation_ratio(D_b, y) - separation_ratio(D_a, y))
    assert lo <= d <= hi
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


def test_ratio_verdict_follows_the_paired_interval():
    from rdsc.separation import ratio_verdict
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
    from rdsc.separation import margin_verdict

    def rows(margins, accuracies):
        return pd.DataFrame([{"space": "pixels", "dimension": 3072, "mean margin": 0.05,
                              "train accuracy": 1.0}] +
                            [{"space": "features", "dimension": k, "mean margin": m,
                              "train accuracy": a}
                             for k, m, a in zip([64, 16, 256], margins, accuracies)])
    grows = margin_verdict(rows([0.2, 0.1, 0.3], [1.0, 1.0, 1.0]))
    assert "0.3000 at k = 256" in grows and "wider on the features" in grows
    assert "grows over the separable k (k = 16: 0.1000, k = 64: 0.2000, k = 256: 0.3000)" in grows
    assert "does not grow steadily" in margin_verdict(rows([0.2, 0.3, 0.04], [1.0, 1.0, 1.0]))
    assert "narrower" in margin_verdict(rows([0.2, 0.3, 0.04], [1.0, 1.0, 1.0]))
    assert "cannot be judged" in margin_verdict(rows([0.2, 0.1, 0.3], [0.9, 1.0, 0.8]))
