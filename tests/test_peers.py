"""rdsc.peers: the scipy shim kymatio needs, scattering features, RCF against torchgeo's form."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rdsc import peers


def test_sph_harm_shim_matches_closed_forms():
    az, pol = np.array([0.3, 1.1, 2.5]), np.array([0.2, 0.9, 2.0])
    y10 = np.sqrt(3 / (4 * np.pi)) * np.cos(pol)
    y11 = -0.5 * np.sqrt(3 / (2 * np.pi)) * np.sin(pol) * np.exp(1j * az)
    np.testing.assert_allclose(peers._sph_harm_from_y(0, 1, az, pol), y10, atol=1e-12)
    np.testing.assert_allclose(peers._sph_harm_from_y(1, 1, az, pol), y11, atol=1e-12)
    peers.ensure_sph_harm()
    import scipy.special
    np.testing.assert_allclose(scipy.special.sph_harm(1, 1, az, pol), y11, atol=1e-12)


def test_scattering_feature_count():
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    out = peers.scattering_features(images, J=2)
    # 3 colours x (1 + J L + L^2 J (J - 1) / 2 = 81 paths) x 8 x 8 positions
    assert out.shape == (2, 3 * 81 * 8 * 8) and out.dtype == np.float32
    # order 0 is a low-pass average: a brighter image has larger order-0 coefficients
    bright = peers.scattering_features(torch.full((1, 3, 32, 32), 200, dtype=torch.uint8))
    dark = peers.scattering_features(torch.full((1, 3, 32, 32), 20, dtype=torch.uint8))
    assert bright.reshape(3, 81, 64)[:, 0].mean() > dark.reshape(3, 81, 64)[:, 0].mean()
    # larger images: each path's 16 x 16 map is average-pooled to 8 x 8
    big = torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8)
    assert peers.scattering_features(big).shape == (1, 3 * 81 * 8 * 8)
    assert peers.scattering_features(big, pool_to=None).shape == (1, 3 * 81 * 16 * 16)
    with pytest.raises(ValueError, match="N x C x H x W"):
        peers.scattering_features(torch.zeros(3, 32, 32))


def test_scattering_reads_pixels_on_one_scale():
    """int64 pixels and 0..255 floats were once transformed as if in [0, 1]."""
    images = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8)
    as_uint8 = peers.scattering_features(images)
    np.testing.assert_array_equal(peers.scattering_features(images.long()), as_uint8)
    np.testing.assert_allclose(peers.scattering_features(images.float() / 255), as_uint8,
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"0\.\.255 pixels\? pass uint8 images"):
        peers.scattering_features(images.float())


def torchgeo_rcf(x, features, kernel_size, bias, seed):
    """torchgeo.models.RCF (gaussian mode) as written there: filters, both signs, mean pool."""
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(features // 2, x.shape[1], kernel_size, kernel_size, generator=g)
    biases = torch.zeros(features // 2) + bias
    x1a = F.relu(F.conv2d(x, weights, bias=biases, stride=1, padding=0))
    x1b = F.relu(-F.conv2d(x, weights, bias=biases, stride=1, padding=0))
    x1a = F.adaptive_avg_pool2d(x1a, (1, 1)).squeeze()
    x1b = F.adaptive_avg_pool2d(x1b, (1, 1)).squeeze()
    return torch.cat((x1a, x1b), dim=1)


def test_rcf_computes_torchgeos_formulation():
    images = torch.randint(0, 256, (5, 3, 12, 12), dtype=torch.uint8)
    x = images.float() / 255
    rcf = peers.RCF(3, features=40, kernel_size=3, bias=-1.0, seed=7)
    out = rcf(images, batch_size=2, filter_chunk=8)  # batches and chunks must not matter
    assert out.shape == (5, 40)
    np.testing.assert_allclose(out, torchgeo_rcf(x, 40, 3, -1.0, 7).numpy(), rtol=1e-5, atol=1e-6)
    # one value by hand: filter 3 on image 1, the negative part
    w, b = rcf.weights[3], rcf.biases[3]
    z = torch.stack([(x[1, :, r:r + 3, c:c + 3] * w).sum() + b
                     for r in range(10) for c in range(10)])
    assert out[1, 20 + 3] == pytest.approx(torch.relu(-z).mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match="even"):
        peers.RCF(3, features=7)
