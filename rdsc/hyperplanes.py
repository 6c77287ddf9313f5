"""The random-hyperplane view of the first layer.

Every output position of the first convolution sees one ``K x K x C`` image patch
``p`` (a point in ``d = K*K*C`` dimensions) and computes ``sign(w . p + b)``: which
side of the hyperplane ``{p : w . p + b = 0}`` the patch lies on. Averaged over the
image, that is a statement about the image's *cloud of patches*: the fraction on each
side. These helpers compute the same quantities by counting patches, to check the
network against the geometry.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def image_patches(images: torch.Tensor, kernel_size: int, padding: int) -> torch.Tensor:
    """Float images ``N x C x H x W`` -> their patches, ``N x P x (C*K*K)``.

    Patches are flattened in the order of a convolution weight ``C x K x K``, so
    ``patches @ w.flatten()`` is the convolution's output at every position.
    """
    p = F.unfold(images, kernel_size, padding=padding)  # N x CKK x P
    return p.transpose(1, 2)


def side_counts(patches: torch.Tensor, w: torch.Tensor, b: float) -> dict[str, torch.Tensor]:
    """How many of each image's patches lie on each side of the hyperplane ``(w, b)``.

    ``patches``: ``N x P x d``; ``w``: ``d`` (or any shape with ``d`` elements).
    Returns ``{"positive", "negative", "on"}``, each ``N`` counts.
    """
    z = patches.double() @ w.flatten().double() + float(b)
    return {"positive": (z > 0).sum(1), "negative": (z < 0).sum(1), "on": (z == 0).sum(1)}


def fraction_feature(patches: torch.Tensor, w: torch.Tensor, b: float) -> torch.Tensor:
    """``(#positive - #negative) / P`` per image: ``2 * fraction_positive - 1`` when no patch
    is on it."""
    c = side_counts(patches, w, b)
    return (c["positive"] - c["negative"]).double() / patches.shape[1]


def n_cells(n_hyperplanes: int, dim: int) -> int:
    """Most regions ``n`` affine hyperplanes in general position cut ``R^dim`` into.

    ``sum_{i=0}^{dim} C(n, i)``: ``2^n`` while ``n <= dim``, then polynomial in ``n``.
    """
    return sum(math.comb(n_hyperplanes, i) for i in range(min(dim, n_hyperplanes) + 1))


def log10_n_cells(n_hyperplanes: int, dim: int) -> float:
    """``log10`` of :func:`n_cells` (the count itself has thousands of digits at paper scale)."""
    return math.log10(n_cells(n_hyperplanes, dim))  # math.log10 takes integers of any size


def occupied_cells(patches: torch.Tensor, weights: torch.Tensor, biases: torch.Tensor,
                   chunk: int = 100_000) -> int:
    """How many distinct cells of the hyperplanes ``(weights[i], biases[i])`` hold patches.

    ``patches``: ``... x d`` (all leading dimensions are pooled); ``weights``: ``k x d``;
    ``biases``: ``k``. A cell is identified by its ``k`` signs.
    """
    import numpy as np
    flat = patches.reshape(-1, patches.shape[-1]).double()
    w, b = weights.reshape(len(weights), -1).double().T, biases.double()
    codes = []
    for lo in range(0, len(flat), chunk):
        signs = (flat[lo:lo + chunk] @ w + b > 0).numpy()
        codes.append(np.packbits(signs, axis=1))
    codes = np.concatenate(codes)
    return len(np.unique(codes.view(np.dtype((np.void, codes.shape[1])))))
