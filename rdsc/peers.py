"""Other fixed (untrained) image features: the scattering transform and random convolutional
features (MOSAIKS).

* :func:`scattering_features`: the 2-D scattering transform of Bruna & Mallat, as in
  Oyallon & Mallat's CIFAR experiments (kymatio ``Scattering2D``, J = 2, second order,
  8 angles, each colour channel separately): ``3 x 81 x (H/4) x (W/4)`` coefficients,
  15,552 for a 32x32 image.
* :class:`RCF`: random convolutional features of Rolf et al. (2021, MOSAIKS), in the form of
  torchgeo's ``RCF`` (gaussian mode): ``F/2`` random Gaussian filters with a constant
  bias, ``relu(z)`` and ``relu(-z)`` of each response, global average pooling: ``F``
  features. Written here because torchgeo brings geospatial dependencies; the
  filters are drawn exactly as torchgeo draws them for the same seed.

kymatio 0.3.0 imports ``scipy.special.sph_harm``, which scipy 1.17 removed (its successor
``sph_harm_y`` takes the degree first and the polar angle before the azimuth);
:func:`ensure_sph_harm` puts back the old name, computed with the new function, before
kymatio is imported.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from rdsc.checks import seed_number
from rdsc.data import unit_float_images


def _sph_harm_from_y(m, n, theta, phi):
    """The removed ``scipy.special.sph_harm(m, n, theta, phi)``: order m, degree n,
    azimuth theta, polar angle phi."""
    from scipy.special import sph_harm_y
    return sph_harm_y(n, m, phi, theta)


def ensure_sph_harm() -> bool:
    """Give ``scipy.special`` its old ``sph_harm`` when it lacks it; True when a shim was added."""
    import scipy.special
    if hasattr(scipy.special, "sph_harm"):
        return False
    scipy.special.sph_harm = _sph_harm_from_y
    return True


def scattering(shape: tuple[int, int], J: int = 2, L: int = 8, max_order: int = 2):
    """A kymatio ``Scattering2D`` (torch frontend) for images of ``shape = (H, W)``."""
    ensure_sph_harm()
    from kymatio.torch import Scattering2D
    return Scattering2D(J=J, shape=tuple(shape), L=L, max_order=max_order)


@torch.no_grad()
def scattering_features(images, J: int = 2, L: int = 8, batch_size: int = 128,
                        pool_to: int | None = 8, device=None) -> np.ndarray:
    """``N x 3 x H x W`` images (8-bit pixels of any integer type, or floats in [0, 1]; others
    refused, see :func:`rdsc.data.unit_float_images`) -> ``N x (3 * P * h * w)`` float32
    scattering coefficients (``P = 1 + J L + L^2 J (J - 1) / 2`` paths).

    ``h x w`` is ``H/2^J x W/2^J`` (8 x 8 for CIFAR at J = 2), average-pooled down to
    ``pool_to x pool_to`` when larger, so larger images keep a linear SVM's size in reach.
    """
    images = torch.as_tensor(images)
    if images.ndim != 4:
        raise ValueError(f"images must be N x C x H x W, got shape {tuple(images.shape)}")
    device = torch.device(device) if device is not None else torch.device("cpu")
    transform = scattering(tuple(images.shape[-2:]), J=J, L=L).to(device)
    out = []
    for lo in range(0, len(images), batch_size):
        # int64 pixels and 0..255 floats were once transformed as [0, 1] values
        x = unit_float_images(images[lo:lo + batch_size], images.shape[1]).to(device)
        z = transform(x)  # N x C x P x h x w
        if pool_to is not None and z.shape[-1] > pool_to:
            z = F.adaptive_avg_pool2d(z.flatten(1, 2), pool_to)
        out.append(z.flatten(1).float().cpu())
    return torch.cat(out).numpy()


class RCF:
    """Random convolutional features (MOSAIKS; torchgeo's ``RCF``, gaussian mode).

    Args:
        in_channels: image channels.
        features: F (even): ``F/2`` filters, each giving ``mean relu(z)`` and ``mean relu(-z)``.
        kernel_size: filter side (3).
        bias: the constant bias of every filter (-1).
        seed: draws the filters as ``torch.randn(F/2, C, k, k)`` from a generator with
            this seed, as torchgeo does.

    Features are ordered as torchgeo's: the ``F/2`` positive parts, then the ``F/2``
    negative parts. Images are 8-bit pixels of any integer type (scaled to [0, 1]) or floats
    in [0, 1]; floats outside [0, 1] are refused (the bias of -1 is on that scale: 0..255
    floats would be another method).
    """

    def __init__(self, in_channels: int = 3, features: int = 16, kernel_size: int = 3,
                 bias: float = -1.0, seed: int = 0):
        if features < 2 or features % 2:
            raise ValueError(f"features must be a positive even number, got {features}")
        gen = torch.Generator().manual_seed(seed_number(seed))
        self.weights = torch.randn(features // 2, in_channels, kernel_size, kernel_size,
                                   generator=gen)
        self.biases = torch.zeros(features // 2) + bias
        self.n_features = int(features)

    @torch.no_grad()
    def __call__(self, images, batch_size: int = 64, filter_chunk: int = 512,
                 device=None) -> np.ndarray:
        """``N x C x H x W`` -> ``N x F`` float32, in image batches and filter chunks (memory)."""
        images = torch.as_tensor(images)
        device = torch.device(device) if device is not None else torch.device("cpu")
        w, b = self.weights.to(device), self.biases.to(device)
        half = len(w)
        out = np.zeros((len(images), self.n_features), np.float32)
        for lo in range(0, len(images), batch_size):
            x = unit_float_images(images[lo:lo + batch_size], len(w[0])).to(device)
            for c in range(0, half, filter_chunk):
                z = F.conv2d(x, w[c:c + filter_chunk], b[c:c + filter_chunk])
                m = len(z[0])
                out[lo:lo + len(x), c:c + m] = F.relu(z).mean((2, 3)).cpu().numpy()
                out[lo:lo + len(x), half + c:half + c + m] = F.relu(-z).mean((2, 3)).cpu().numpy()
        return out
