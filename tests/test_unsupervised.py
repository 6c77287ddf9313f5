"""rdsc.unsupervised: the Coates-Lee-Ng pipeline on hand-computed examples."""
import numpy as np
import pytest
import torch

from rdsc import unsupervised as U


def test_contrast_normalisation_by_hand():
    out = U.normalize_patches(torch.tensor([[0.0, 2.0], [5.0, 5.0]]), eps=10)
    # mean 1, unbiased variance 2: (x - 1) / sqrt(2 + 10)
    assert torch.allclose(out[0], torch.tensor([-1.0, 1.0]) / np.sqrt(12))
    assert torch.equal(out[1], torch.zeros(2))  # a flat patch stays flat


def test_whitening_gives_identity_covariance():
    gen = torch.Generator().manual_seed(0)
    mix = torch.randn(12, 12, generator=gen)
    patches = torch.randn(20_000, 12, generator=gen) @ mix + 3.0  # correlated, shifted
    w = U.Whitening(eps=0).fit(patches)
    white = w(patches).double()
    assert torch.allclose(white.mean(0), torch.zeros(12, dtype=torch.double), atol=1e-4)
    assert torch.allclose(torch.cov(white.T), torch.eye(12, dtype=torch.double), atol=1e-3)
    assert torch.allclose(w.matrix, w.matrix.T, atol=1e-4)  # ZCA: symmetric, stays near pixels
    damped = torch.cov(U.Whitening(eps=0.1).fit(patches)(patches).double().T)
    assert torch.all(torch.diagonal(damped) < 1)  # eps shrinks every direction
    with pytest.raises(ValueError, match="more rows"):
        U.Whitening().fit(torch.randn(5, 12))


def test_triangle_activation_by_hand():
    centroids = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, -3.0]])
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    out = U.triangle(x, centroids)
    # point 0: distances 1, 2, 3, mean 2 -> (1, 0, 0)
    # point 1: distances 0, sqrt 5, sqrt 10 -> mean m; (m, m - sqrt 5, 0)
    m = (np.sqrt(5) + np.sqrt(10)) / 3
    expected = torch.tensor([[1.0, 0.0, 0.0], [m, max(0.0, m - np.sqrt(5)), 0.0]])
    assert torch.allclose(out, expected.float(), atol=1e-5)


def test_quadrant_pooling_by_hand():
    maps = torch.arange(1.0, 10.0).view(1, 1, 3, 3)  # 1 2 3 / 4 5 6 / 7 8 9
    assert U.quadrant_pool(maps).tolist() == [[1 + 2 + 4 + 5, 3 + 6, 7 + 8, 9]]
    two = torch.stack([torch.ones(4, 4), 2 * torch.ones(4, 4)]).view(1, 2, 4, 4)
    # quadrant by quadrant, both maps in each
    assert U.quadrant_pool(two).tolist() == [[4, 8, 4, 8, 4, 8, 4, 8]]


def test_random_patches_are_image_crops():
    images = torch.randint(0, 256, (3, 3, 10, 12), dtype=torch.uint8)
    p = U.random_patches(images, 50, size=4, seed=1)
    assert p.shape == (50, 48)
    crops = {tuple(images[i, :, r:r + 4, c:c + 4].reshape(-1).tolist())
             for i in range(3) for r in range(7) for c in range(9)}
    assert all(tuple(int(v) for v in row) in crops for row in p)


def test_transform_matches_patch_by_patch_computation():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (4, 3, 9, 9), dtype=torch.uint8, generator=gen)
    feats = U.KMeansFeatures(5, filters="random", patch_size=3, n_patches=500, seed=0).fit(images)
    out = feats.transform(images, batch_size=3)
    assert out.shape == (4, 20) and out.dtype == np.float32
    img = images[2].float()
    maps = torch.zeros(5, 7, 7)
    for r in range(7):
        for c in range(7):
            patch = img[:, r:r + 3, c:c + 3].reshape(1, -1)
            white = feats.whitening(U.normalize_patches(patch))
            maps[:, r, c] = U.triangle(white, feats.centroids)[0]
    expected = U.quadrant_pool(maps[None])[0]
    np.testing.assert_allclose(out[2], expected.numpy(), rtol=1e-4, atol=1e-4)


def test_kmeans_filters_fit_and_errors():
    images = torch.randint(0, 256, (20, 3, 12, 12), dtype=torch.uint8)
    f = U.KMeansFeatures(8, patch_size=6, n_patches=2000, seed=0).fit(images)
    assert f.centroids.shape == (8, 108) and f.n_features == 32
    assert f.transform(images[:2]).shape == (2, 32)
    with pytest.raises(ValueError, match="filters"):
        U.KMeansFeatures(8, filters="pca")
    with pytest.raises(RuntimeError, match="fit"):
        U.KMeansFeatures(8).transform(images)


def test_pixel_unit_methods_refuse_other_units_and_layouts():
    # k-means on [0, 1] floats gave 44% instead of 52%; RCF took int64 0..255 as [0, 1] units
    from rdsc.peers import RCF
    x = torch.randint(0, 256, (8, 3, 12, 12), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(0))
    km = U.KMeansFeatures(4, n_patches=200, filters="random")
    with pytest.raises(ValueError, match="8-bit pixels 0..255"):
        km.fit(x.float() / 255)
    with pytest.raises(ValueError, match="channels last"):
        km.fit(x.permute(0, 2, 3, 1))
    km.fit(x)
    with pytest.raises(ValueError, match="8-bit pixels 0..255"):
        km.transform(x.float() / 255)     # fitted on pixels, given floats
    assert km.transform(x.long()).shape == (8, 16)   # integers 0..255 are pixels too
    rcf = RCF(3, features=4)
    assert np.array_equal(rcf(x), rcf(x.long()))     # int64 pixels scaled like uint8
    np.testing.assert_allclose(rcf(x), rcf(x.float() / 255), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="must lie in \\[0, 1\\]"):
        rcf(x.float())                                 # 0..255 as floats


def test_kmeans_filters_land_on_the_cluster_centres():
    # nothing checked the k-means filters' values, so chapter 4's k-means baseline
    # could silently become the random-filter control. Three noisy copies of three images,
    # with patches as large as the images: the whitened patches form three tight clusters
    gen = torch.Generator().manual_seed(0)
    protos = torch.randint(0, 256, (3, 3, 6, 6), generator=gen)
    which = torch.arange(60) % 3
    noise = torch.randint(0, 4, (60, 3, 6, 6), generator=gen)
    images = (protos[which] + noise).clamp(max=255).to(torch.uint8)
    f = U.KMeansFeatures(3, patch_size=6, n_patches=600, seed=0).fit(images)
    white = f.whitening(U.normalize_patches(images.reshape(60, -1).float()))
    centres = torch.stack([white[which == k].mean(0) for k in range(3)])
    # the centres lie about 2.4 apart and no patch is more than 0.6 from its own
    dist = torch.cdist(f.centroids, centres)
    assert sorted(dist.argmin(1).tolist()) == [0, 1, 2]  # one filter for each cluster
    assert dist.min(1).values.max() < 0.2
    control = U.KMeansFeatures(3, filters="random", patch_size=6, n_patches=600).fit(images)
    assert torch.cdist(control.centroids, centres).min() > 1  # random filters land nowhere


def test_patch_normalisation_eps_and_unit_random_filters():
    """eps 1 in place of 10, and random filters not of unit length, once passed these tests."""
    p = torch.tensor([[0.0, 2.0, 4.0, 6.0]])   # mean 3, unbiased variance 20/3
    expected = (p - 3) / np.sqrt(20 / 3 + 10)
    assert torch.allclose(U.normalize_patches(p), expected, atol=1e-6)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, 3, 10, 10), dtype=np.uint8)
    km = U.KMeansFeatures(5, filters="random", n_patches=200, seed=0).fit(images)
    assert torch.allclose(km.centroids.norm(dim=1), torch.ones(5), atol=1e-5)


def test_whitening_eps_default_is_coates():
    """A ZCA eps default of 0.01 for Coates et al.'s 0.1 once passed these tests."""
    assert U.Whitening().eps == 0.1 and U.KMeansFeatures(4).whitening_eps == 0.1
