"""Why the random features react to colour: how much of a first-layer unit's sign
the patch's mean colour decides (:func:`mean_colour_agreement`), and how much of each final
unit survives a blur (:func:`blur_correlations`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from rdsc.background.conditions import _check_images
from rdsc.background.models import cnn_embedding, cnn_first_layer, downsample
from rdsc.checks import whole_number
from rdsc.data import as_float, check_pixels


@torch.no_grad()
def mean_colour_agreement(images, weight: torch.Tensor, bias: torch.Tensor | None, padding: int,
                          *, offset: float = 0.0, post: Callable | None = None,
                          batch_size: int = 16) -> np.ndarray:
    """Per filter: the share of positions where the patch's mean colour alone decides the unit.

    A first-layer pre-activation splits exactly as

        z = w . p + b = sum_c s_c m_c + b  +  sum_c sum_ij w_cij (p_cij - m_c),   s_c = sum_ij w_cij

    with ``m_c`` the mean of channel ``c`` over the patch (zero padding included, as in the
    convolution). The first term, ``a``, is the mean-colour part. Returned: for each of the
    ``k`` filters, the fraction of (image, position) pairs where ``z > 0`` and ``a > 0`` agree.

    Args:
        images: ``N x C x H x W`` (uint8 or floats in [0, 1]).
        weight: ``k x C x K x K`` first-layer filters; ``bias``: ``k`` or None.
        padding: the convolution's zero padding.
        offset: subtracted from the pixels first (0.5 for a network fed ``x - 0.5``).
        post: applied to both ``z`` and ``a`` before the comparison (e.g. an eval-mode
            batch norm, so the comparison is of the unit after it).
        batch_size: images per step; the maps of all images at once would need
            ``N x k x H x W`` floats several times over (11 GB at 300 images of 112x112 and
            k = 200).
    """
    weight = weight.detach().float().cpu()
    bias = None if bias is None else bias.detach().float().cpu()
    K = weight.shape[-1]
    if weight.shape[1] != images.shape[1]:
        raise ValueError(f"weight has {weight.shape[1]} input channels, images {images.shape[1]}")
    if 2 * padding > K:
        raise ValueError(f"padding {padding} is more than half the kernel {K}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    agree, total = torch.zeros(weight.shape[0], dtype=torch.int64), 0
    check_pixels(images)  # once: the batches below are converted one at a time
    for lo in range(0, len(images), batch_size):
        x = as_float(images[lo:lo + batch_size]) - offset
        z = F.conv2d(x, weight, bias, padding=padding)
        means = F.avg_pool2d(x, K, stride=1, padding=padding, count_include_pad=True)
        a = F.conv2d(means, weight.sum(dim=(2, 3), keepdim=True), bias)
        if post is not None:
            z, a = post(z), post(a)
        agree += ((z > 0) == (a > 0)).sum(dim=(0, 2, 3))
        total += z.shape[0] * z.shape[2] * z.shape[3]
    return (agree.double() / max(total, 1)).float().numpy()


def box_blur(images: torch.Tensor, size: int) -> torch.Tensor:
    """Each pixel replaced by the mean of its ``size x size`` window (fewer at the border), uint8.
    """
    _check_images(images)
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd number, got {size}")
    out = F.avg_pool2d(images.float(), size, stride=1, padding=size // 2, count_include_pad=False)
    return out.round().clamp(0, 255).to(torch.uint8)


def column_correlations(a, b) -> np.ndarray:
    """Pearson correlation, across rows, of each column of ``a`` with the same column of ``b``
    (``N x d`` each). Columns constant in ``a`` (nothing there to keep) are left out; a
    column that varies in ``a`` but is constant in ``b`` kept none of its variation and
    counts as 0 (leaving such units out, the ones a blur flattens, moved the
    median of chapter 8's smoke run from 0.851 up to 0.897)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"a {a.shape} and b {b.shape} must be matrices of one shape")
    a, b = a - a.mean(0), b - b.mean(0)
    sa, sb = np.sqrt((a * a).sum(0)), np.sqrt((b * b).sum(0))
    a, b, sa, sb = a[:, sa > 0], b[:, sa > 0], sa[sa > 0], sb[sa > 0]
    r = np.zeros(len(sa))
    varies = sb > 0
    r[varies] = (a[:, varies] * b[:, varies]).sum(0) / (sa[varies] * sb[varies])
    return r


def first_layer_agreement(images, net, cnn_model, max_filters: int = 512
                          ) -> dict[str, np.ndarray]:
    """:func:`mean_colour_agreement` of three first layers on ``images`` (``N x 3 x H x W``).

    ``net``: the random network, its first ``max_filters`` filters (enough for a
    histogram, and the maps stay small); ``cnn_model``: the trained CNN in its
    :class:`Downsampled` wrapper. Returns ``{first layer: per-filter agreement}`` for
    the random filters on raw ``[0, 1]`` pixels, the same filters on centred pixels
    (``x - 0.5``), and the CNN's first layer after its batch norm.
    """
    whole_number("max_filters", max_filters)
    if len(images) == 0:
        raise ValueError("first_layer_agreement needs at least one image")
    n = min(net.n_features, max_filters)
    w, b = net.conv_weight[:n], net.conv_bias[:n]
    cnn_w, cnn_post = cnn_first_layer(cnn_model)
    # the CNN sees the images as it was trained on them: pooled, and centred by 0.5
    x_cnn = downsample(images, cnn_model.factor)
    return {
        "random network (raw [0, 1] pixels)":
            mean_colour_agreement(images, w, b, net.first_padding),
        "random filters, centred pixels":
            mean_colour_agreement(images, w, b, net.first_padding, offset=0.5),
        "trained CNN (after batch norm)":
            mean_colour_agreement(x_cnn, cnn_w, None, 1, offset=0.5, post=cnn_post),
    }


def blur_correlations(images, net, cnn_model, *, name: str, device=None, cache=True
                      ) -> dict[str, np.ndarray]:
    """How much of each final unit survives a box blur of the network's kernel size.

    Per unit, the correlation over ``images`` of its value on the image and on the
    blurred image (:func:`column_correlations`): for the random network's features
    (cached as ``bg-<name>-mechanism`` and ``bg-<name>-mechanism-blur``) and for the
    trained CNN's hidden layer. Returns ``{representation: correlations}``.
    """
    from rdsc.features import extract
    blurred = box_blur(images, net.kernel_size)
    f_clean, f_blur = (extract(net, x, cache=cache, name=f"bg-{name}-mechanism{suffix}",
                               device=device, progress=False)[:]
                       for x, suffix in ((images, ""), (blurred, "-blur")))
    e_clean, e_blur = cnn_embedding(cnn_model, images), cnn_embedding(cnn_model, blurred)
    return {"random network: final features": column_correlations(f_clean, f_blur),
            "trained CNN: hidden layer": column_correlations(e_clean, e_blur)}


def correlation_summary(r) -> dict:
    """A table row for per-unit correlations ``r``: how many units, their median, and the
    share (%) above 0.9."""
    r = np.asarray(r, dtype=np.float64)
    if r.ndim != 1 or len(r) == 0:
        raise ValueError(f"correlation_summary takes one correlation per unit (1-D, not "
                         f"empty), got shape {r.shape}")
    return {"units": len(r), "median correlation, image vs blurred": float(np.median(r)),
            "share of units with r > 0.9 (%)": 100 * float(np.mean(r > 0.9))}
