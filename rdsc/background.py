"""How much a classifier relies on the image background (chapter 8).

No segmentation masks exist for the book's datasets, so foreground and background are
defined by geometry: the **centre** of an image is the half of its pixels nearest the
image's centre (a disc), the **ring** is the other half. Test images are then altered
(:func:`make_conditions`):

* ``ring, other class``: the ring replaced by the ring of an image of another class (the donor);
* ``ring, same class``: the ring from another image of the same class (control for the seam);
* ``centre, other class`` / ``centre, same class``: the mirror experiment;
* ``background only`` / ``foreground only``: the centre / the ring set to a mean grey;
* ``grayscale`` and ``hue rotated``: colour changed, context kept.

Images are ``N x 3 x H x W`` uint8 tensors throughout; labels int64 arrays of length N.

The module also holds the measures the chapter reports: donor capture
(:func:`donor_capture`), a bootstrap over images and network seeds
(:func:`bootstrap`), how much of a first-layer unit's sign the patch's mean colour
decides (:func:`mean_colour_agreement`), and retrieval helpers for Corel: colour
histograms of a region, leave-one-out precision and partial correlations of distances.
The chapter's steps call :func:`classifier_predictions` (every classifier on every
condition), :func:`first_layer_agreement` and :func:`blur_correlations` (the mechanism),
and :func:`retrieval_precision` (Corel).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

#: The test conditions, in the order the chapter shows them, with what each does.
CONDITIONS = {
    "clean": "the test image as it is",
    "ring, other class": "ring from an image of another class (the donor)",
    "ring, same class": "ring from another image of the same class (seam control)",
    "centre, other class": "centre from an image of another class",
    "centre, same class": "centre from another image of the same class",
    "background only": "centre set to mean grey",
    "foreground only": "ring set to mean grey",
    "grayscale": "luma (BT.601) in all three channels",
    "hue rotated": "colours rotated about the grey axis",
}


# --- masks and compositing --------------------------------------------------------------------

def centre_mask(height: int, width: int, fraction: float = 0.5) -> torch.Tensor:
    """``H x W`` bool, True on the ``round(fraction * H * W)`` pixels nearest the image centre.

    Pixels are ranked by Euclidean distance from the centre ``((H-1)/2, (W-1)/2)``; ties
    at the edge of the disc are broken in raster order, so the count is exact.
    """
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be positive, got {height} x {width}")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction is the share of pixels in the centre: choose it in (0, 1), "
                         f"got {fraction}")
    n = round(fraction * height * width)
    if n < 1 or n >= height * width:
        raise ValueError(f"fraction {fraction} leaves an empty centre or ring on a "
                         f"{height} x {width} image")
    yy, xx = torch.meshgrid(torch.arange(height, dtype=torch.float64),
                            torch.arange(width, dtype=torch.float64), indexing="ij")
    dist = (yy - (height - 1) / 2) ** 2 + (xx - (width - 1) / 2) ** 2
    order = torch.argsort(dist.flatten(), stable=True)
    mask = torch.zeros(height * width, dtype=torch.bool)
    mask[order[:n]] = True
    return mask.view(height, width)


def ring_mask(height: int, width: int, fraction: float = 0.5) -> torch.Tensor:
    """The complement of :func:`centre_mask` (``fraction`` is still the centre's share)."""
    return ~centre_mask(height, width, fraction)


def _check_images(images: torch.Tensor, argument: str = "images") -> None:
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
        got = f"{type(images).__name__} {getattr(images, 'dtype', '')} " \
              f"{tuple(getattr(images, 'shape', ()))}"
        raise TypeError(f"{argument} must be a uint8 tensor N x C x H x W (as rdsc.data.load "
                        f"returns), got {got}")
    if len(images) == 0:
        raise ValueError(f"{argument} holds no images")


def _check_mask(mask, images: torch.Tensor, argument: str = "mask") -> None:
    """A region is an ``H x W`` bool tensor of the images' size: a 0/1 integer mask would
    be complemented bitwise by ``~`` (0 -> 255: every pixel), a 1-D one broadcast as
    stripes."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError(f"{argument} must be a bool tensor H x W (as centre_mask and "
                        f"ring_mask return), got {type(mask).__name__} "
                        f"{getattr(mask, 'dtype', '')}")
    if mask.shape != images.shape[2:]:
        raise ValueError(f"{argument} shape {tuple(mask.shape)} must be the images' H x W "
                         f"{tuple(images.shape[2:])}")


def composite(images: torch.Tensor, donors: torch.Tensor, take: torch.Tensor) -> torch.Tensor:
    """``images`` with the pixels where ``take`` (``H x W`` bool) is True copied from ``donors``."""
    _check_images(images)
    _check_images(donors, "donors")
    if images.shape != donors.shape:
        raise ValueError(f"images {tuple(images.shape)} and donors {tuple(donors.shape)} "
                         "must have the same shape")
    _check_mask(take, images)
    return torch.where(take, donors, images)


def fill(images: torch.Tensor, where: torch.Tensor, value: int) -> torch.Tensor:
    """``images`` with the pixels where ``where`` (``H x W`` bool) is True set to grey ``value``."""
    _check_images(images)
    _check_mask(where, images)
    if not 0 <= int(value) <= 255:
        raise ValueError(f"value is a grey level: choose it in 0..255, got {value}")
    return torch.where(where, torch.tensor(int(value), dtype=torch.uint8), images)


def choose_donors(labels, same_class: bool, seed: int = 0) -> np.ndarray:
    """For each image, the index of a donor image: of the same class (never the image itself)
    or of another class, drawn uniformly with a seeded generator. Returns int64, length N."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) < 2:
        raise ValueError("labels must be a 1-D array of at least 2 labels, "
                         f"got shape {labels.shape}")
    rng = np.random.default_rng(seed)
    donors = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if same_class:
            if len(members) < 2:
                raise ValueError(f"class {c} has one image: a same-class donor needs at least two "
                                 "per class (use a larger, class-balanced subset)")
            # draw among the other members: r in [0, m-1), skip the image's own position
            r = rng.integers(0, len(members) - 1, size=len(members))
            r = r + (r >= np.arange(len(members)))
            donors[members] = members[r]
        else:
            others = np.flatnonzero(labels != c)
            if len(others) == 0:
                raise ValueError("all images have one class: "
                                 "an other-class donor needs two classes")
            donors[members] = others[rng.integers(0, len(others), size=len(members))]
    return donors


# --- colour changes ---------------------------------------------------------------------------

def grayscale(images: torch.Tensor) -> torch.Tensor:
    """Luma ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601), rounded, in all three channels."""
    _check_images(images)
    if images.shape[1] != 3:
        raise ValueError(f"grayscale needs RGB images, got {images.shape[1]} channels")
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    luma = (images.float() * weights).sum(1, keepdim=True).round().clamp(0, 255)
    return luma.to(torch.uint8).expand(-1, 3, -1, -1).contiguous()


def hue_rotation_matrix(degrees: float) -> torch.Tensor:
    """``3 x 3`` rotation of RGB space by ``degrees`` about the grey axis ``(1, 1, 1)/sqrt(3)``
    (Rodrigues' formula): greys stay, the mean of the three channels is kept."""
    if not math.isfinite(float(degrees)):
        raise ValueError(f"hue rotation: degrees must be a finite number, got {degrees!r}")
    t = math.radians(degrees)
    u = torch.full((3,), 1 / math.sqrt(3), dtype=torch.float64)
    cross = torch.tensor([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]],
                         dtype=torch.float64)
    return math.cos(t) * torch.eye(3, dtype=torch.float64) + math.sin(t) * cross \
        + (1 - math.cos(t)) * torch.outer(u, u)


def rotate_hue(images: torch.Tensor, degrees: float = 180.0) -> torch.Tensor:
    """Colours rotated by ``degrees`` about the grey axis, clipped to 0..255 and rounded."""
    _check_images(images)
    if images.shape[1] != 3:
        raise ValueError(f"rotate_hue needs RGB images, got {images.shape[1]} channels")
    m = hue_rotation_matrix(degrees).float()
    out = torch.einsum("ij,njhw->nihw", m, images.float())
    return out.round().clamp(0, 255).to(torch.uint8)


def grey_level(images: torch.Tensor) -> int:
    """The mean pixel value over all images and channels, rounded: the grey that fills a region."""
    _check_images(images)
    return int(round(float(images.float().mean())))


def make_conditions(images: torch.Tensor, labels, *, grey: int, fraction: float = 0.5,
                    hue_degrees: float = 180.0, seed: int = 0):
    """Every condition of :data:`CONDITIONS` for ``images``.

    Donors are drawn from ``images`` themselves (with ``seed``); the same other-class donor
    gives its ring to ``ring, other class`` and its centre to ``centre, other class``, and
    likewise for the same-class donor.

    Returns ``(conditions, donors)``: ``{name: N x 3 x H x W uint8}`` in the order of
    :data:`CONDITIONS`, and ``{"other": indices, "same": indices}`` into ``images``.
    """
    _check_images(images)
    labels = np.asarray(labels)
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    centre = centre_mask(images.shape[2], images.shape[3], fraction)
    ring = ~centre
    donors = {"other": choose_donors(labels, False, seed),
              "same": choose_donors(labels, True, seed + 1)}
    other, same = images[donors["other"]], images[donors["same"]]
    conditions = {
        "clean": images,
        "ring, other class": composite(images, other, ring),
        "ring, same class": composite(images, same, ring),
        "centre, other class": composite(images, other, centre),
        "centre, same class": composite(images, same, centre),
        "background only": fill(images, centre, grey),
        "foreground only": fill(images, ring, grey),
        "grayscale": grayscale(images),
        "hue rotated": rotate_hue(images, hue_degrees),
    }
    assert list(conditions) == list(CONDITIONS)
    return conditions, donors


# --- what the predictions say -----------------------------------------------------------------

def donor_capture(clean_pred, pred, donor_labels) -> dict[str, np.ndarray]:
    """Which predictions changed from the clean image's, and which changed *to the donor's class*.

    All arguments have the same shape (``N`` or ``seeds x N``). Returns boolean arrays
    ``changed`` and ``captured``; the capture rate is ``captured.sum() / changed.sum()``.
    """
    clean_pred, pred, donor_labels = (np.asarray(a) for a in (clean_pred, pred, donor_labels))
    if not clean_pred.shape == pred.shape == np.broadcast_shapes(pred.shape, donor_labels.shape):
        raise ValueError(f"clean_pred {clean_pred.shape}, pred {pred.shape} and donor_labels "
                         f"{donor_labels.shape} must have one shape")
    changed = pred != clean_pred
    return {"changed": changed, "captured": changed & (pred == donor_labels)}


def capture_rate(changed, captured) -> float:
    """P(prediction = donor class | prediction changed); NaN when nothing changed."""
    n = np.sum(changed)
    return float(np.sum(captured) / n) if n else float("nan")


def bootstrap(statistic: Callable[[dict], float], arrays: dict[str, np.ndarray], n_boot: int = 1000,
              seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """Estimate and percentile interval of ``statistic`` over networks (seeds) and images.

    ``arrays``: ``{name: seeds x N}`` arrays over the same seeds and images. Each replicate
    draws seeds with replacement, then images with replacement (the same draw for every
    array, so paired quantities stay paired) and evaluates ``statistic`` on the resampled
    dict. With one seed this is the ordinary bootstrap over images.
    Returns ``(estimate on all data, low, high)``.
    """
    arrays = {k: np.atleast_2d(np.asarray(v)) for k, v in arrays.items()}
    shapes = {v.shape for v in arrays.values()}
    if len(shapes) != 1:
        raise ValueError(f"arrays must share one shape seeds x N, got {sorted(shapes)}")
    n_seeds, n = shapes.pop()
    if n < 2:
        raise ValueError("need at least two images to bootstrap")
    from rdsc.book import whole_number
    whole_number("n_boot", n_boot, at_least=2)  # an interval needs a spread
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot)
    for b in range(n_boot):
        s = rng.integers(0, n_seeds, n_seeds)
        i = rng.integers(0, n, n)
        values[b] = statistic({k: v[s][:, i] for k, v in arrays.items()})
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(values, [alpha, 1 - alpha])
    return float(statistic(arrays)), float(lo), float(hi)


# --- the mechanism: how much does the patch's mean colour decide? ----------------------------

def as_unit_float(images) -> torch.Tensor:
    """uint8 images -> float32 in [0, 1]; float images are returned as float32."""
    x = torch.as_tensor(images)
    return x.float() / 255 if x.dtype == torch.uint8 else x.float()


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
    for lo in range(0, len(images), batch_size):
        x = as_unit_float(images[lo:lo + batch_size]) - offset
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
    (``N x d`` each); columns constant in either are left out."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"a {a.shape} and b {b.shape} must be matrices of one shape")
    a, b = a - a.mean(0), b - b.mean(0)
    sa, sb = np.sqrt((a * a).sum(0)), np.sqrt((b * b).sum(0))
    keep = (sa > 0) & (sb > 0)
    return (a[:, keep] * b[:, keep]).sum(0) / (sa[keep] * sb[keep])


def first_layer_agreement(images, net, cnn_model, max_filters: int = 512
                          ) -> dict[str, np.ndarray]:
    """:func:`mean_colour_agreement` of three first layers on ``images`` (``N x 3 x H x W``).

    ``net``: the random network, its first ``max_filters`` filters (enough for a
    histogram, and the maps stay small); ``cnn_model``: the trained CNN in its
    :class:`Downsampled` wrapper. Returns ``{first layer: per-filter agreement}`` for
    the random filters on raw ``[0, 1]`` pixels, the same filters on centred pixels
    (``x - 0.5``), and the CNN's first layer after its batch norm.
    """
    from rdsc.book import whole_number
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


# --- colour-only reference and retrieval ------------------------------------------------------

def colour_histograms(images: torch.Tensor, where: torch.Tensor | None = None,
                      bins: int = 8) -> np.ndarray:
    """Joint RGB histograms, ``N x bins**3``, of the pixels where ``where`` (``H x W``) is True
    (all pixels when None), as fractions of those pixels."""
    _check_images(images)
    if images.shape[1] != 3:
        raise ValueError(f"colour histograms need RGB images, got {images.shape[1]} channels")
    if not 1 <= bins <= 256:
        raise ValueError(f"bins must be in 1..256, got {bins}")
    q = (images.long() * bins) // 256                                  # N x 3 x H x W in 0..bins-1
    cell = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]                 # N x H x W
    cell = cell.flatten(1) if where is None else cell[:, where.to(torch.bool)]
    hist = torch.zeros(len(images), bins ** 3, dtype=torch.float64)
    hist.scatter_add_(1, cell, torch.ones_like(cell, dtype=torch.float64))
    return (hist / cell.shape[1]).numpy()


def precision_at(features, labels, n: int) -> np.ndarray:
    """Leave-one-out retrieval: for each image, the share of its ``n`` nearest other images
    (Euclidean) that have its label. Returns one precision per image."""
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    labels = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(labels):
        raise ValueError(f"features {tuple(x.shape)} must be N x d with one label per row "
                         f"({len(labels)} labels)")
    if not 1 <= n < len(labels):
        raise ValueError(f"n must be in 1..{len(labels) - 1}, got {n}")
    d = torch.cdist(x.double(), x.double())
    d.fill_diagonal_(float("inf"))
    nearest = torch.topk(d, n, largest=False, sorted=True).indices.numpy()
    return (labels[nearest] == labels[:, None]).mean(1)


def l1_distances(x) -> np.ndarray:
    """``N x N`` L1 distances between the rows of ``x``.

    For histograms this is twice the total variation.
    """
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    return torch.cdist(x, x, p=1).numpy()


def euclidean_distances(x) -> np.ndarray:
    """``N x N`` Euclidean (L2) distances between the rows of ``x``."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    return torch.cdist(x, x).numpy()


def partial_correlation(y: np.ndarray, x: np.ndarray, controls: np.ndarray) -> float:
    """Correlation of ``y`` and ``x`` after removing from both their least-squares fit on
    ``controls`` (``m x c``) and a constant."""
    design = np.column_stack([np.ones(len(y)), controls])
    ry = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    rx = x - design @ np.linalg.lstsq(design, x, rcond=None)[0]
    return float((ry @ rx) / np.sqrt((ry @ ry) * (rx @ rx)))


def distance_partial_correlations(D_feature, D_border, D_centre, labels,
                                  index: np.ndarray | None = None) -> dict[str, float]:
    """How much of the feature distance between two images their border and centre colours explain.

    Over the pairs of distinct images (``index`` selects images, repeats allowed, as in a
    bootstrap; pairs of an image with itself are left out):

    * ``border``: partial correlation of feature distance with border-histogram distance,
      the centre-histogram distance and "same category" held fixed;
    * ``centre``: the same with border and centre swapped;
    * ``border_raw`` / ``centre_raw``: the plain correlations.
    """
    labels = np.asarray(labels)
    index = np.arange(len(labels)) if index is None else np.asarray(index)
    a, b = np.triu_indices(len(index), 1)
    a, b = index[a], index[b]
    keep = a != b
    a, b = a[keep], b[keep]
    f = np.asarray(D_feature)[a, b]
    bd, cd = np.asarray(D_border)[a, b], np.asarray(D_centre)[a, b]
    same = (labels[a] == labels[b]).astype(np.float64)
    return {"border": partial_correlation(f, bd, np.column_stack([cd, same])),
            "centre": partial_correlation(f, cd, np.column_stack([bd, same])),
            "border_raw": float(np.corrcoef(f, bd)[0, 1]),
            "centre_raw": float(np.corrcoef(f, cd)[0, 1])}


#: the rows of :func:`partial_correlation_table`, named for the reader
PARTIAL_ROWS = {"border": "ring colour | centre colour, category",
                "centre": "centre colour | ring colour, category",
                "border_raw": "ring colour (plain correlation)",
                "centre_raw": "centre colour (plain correlation)"}


def partial_correlation_table(D_features: dict, D_border, D_centre, labels, n_boot: int,
                              seed: int = 0):
    """:func:`distance_partial_correlations` averaged over the networks (``D_features``:
    ``{seed: N x N feature distances}``), with a 95% percentile interval from a bootstrap
    over networks and images: each replicate draws the networks with replacement and the
    images with replacement, and averages over the drawn networks on the same drawn images
    (so the interval is that of the same average as the estimate).

    Returns a DataFrame indexed by :data:`PARTIAL_ROWS`, columns ``estimate``, ``low``,
    ``high``.
    """
    import pandas as pd

    from rdsc.book import whole_number
    whole_number("n_boot", n_boot, at_least=2)
    nets = list(D_features)
    if not nets:
        raise ValueError("partial_correlation_table needs at least one network")
    n = len(np.asarray(labels))

    def averaged(drawn, index=None):
        return pd.DataFrame([distance_partial_correlations(D_features[s], D_border, D_centre,
                                                           labels, index)
                             for s in drawn]).mean()
    gen = np.random.default_rng(seed)
    boot = pd.DataFrame([averaged([nets[i] for i in gen.integers(0, len(nets), len(nets))],
                                  gen.integers(0, n, n))
                         for _ in range(int(n_boot))])
    return pd.DataFrame({"estimate": averaged(nets), "low": boot.quantile(0.025),
                         "high": boot.quantile(0.975)}).rename(index=PARTIAL_ROWS)


def database_versions(images: torch.Tensor, centre: torch.Tensor) -> dict[str, torch.Tensor]:
    """The three versions of a retrieval database the chapter searches, each within itself:
    ``as it is``, ``ring grey`` (outside ``centre``, the images' mean grey) and
    ``grayscale``."""
    _check_images(images)
    _check_mask(centre, images, "centre")
    grey = grey_level(images)
    return {"as it is": images, "ring grey": fill(images, ~centre, grey),
            "grayscale": grayscale(images)}


def retrieval_precision(nets: dict, versions: dict, labels, n: int, *, name: str = "corel",
                        device=None, cache=True) -> tuple[dict, dict]:
    """Leave-one-out precision at ``n`` (:func:`precision_at`) of every database version,
    for the random networks and for the whole image's colour histogram.

    ``nets``: ``{seed: network}``; ``versions``: :func:`database_versions`. Features are
    cached as ``bg-<name>-<slug(version)>``. Returns ``(precision, features)``:
    ``{(representation, version): seeds x N precision}`` (one row for the histogram)
    and ``{seed: N x k features of "as it is"}`` for the distance analysis.
    """
    from rdsc.features import extract
    precision, features = {}, {}
    for seed, net in nets.items():
        for version, images in versions.items():
            f = extract(net, images, cache=cache, name=f"bg-{name}-{slug(version)}",
                        device=device, progress=False)[:]
            if version == "as it is":
                features[seed] = f
            precision.setdefault(("random network", version), []).append(
                precision_at(f, labels, n))
    for version, images in versions.items():
        precision[("colour histogram", version)] = [
            precision_at(colour_histograms(images), labels, n)]
    return {key: np.stack(v) for key, v in precision.items()}, features


def precision_rows(precision: dict, n_boot: int, n: int) -> list[dict]:
    """One row per ``(representation, version)`` of :func:`retrieval_precision`: the mean
    precision at ``n`` (%) with its bootstrap interval over networks and images. ``n``:
    the one given to :func:`retrieval_precision` (it names the column)."""
    rows = []
    for (rep, version), p in precision.items():
        est, lo, hi = bootstrap(lambda a: a["p"].mean(), {"p": p}, n_boot=n_boot)
        rows.append({"representation": rep, "database": version,
                     f"precision@{n} (%)": 100 * est, "low": 100 * lo, "high": 100 * hi})
    return rows


def precision_drops(precision: dict, n_boot: int = 1000) -> dict[tuple, tuple]:
    """What each altered version costs: ``{(representation, version): (estimate, low,
    high)}`` of precision as it is minus precision of the version, paired over the same
    networks and images (fractions)."""
    return {(rep, version): bootstrap(lambda a: (a["a"] - a["b"]).mean(),
                                      {"a": precision[rep, "as it is"], "b": p},
                                      n_boot=n_boot)
            for (rep, version), p in precision.items() if version != "as it is"}


# --- the classifiers compared -----------------------------------------------------------------

def slug(name: str) -> str:
    """A condition's name as a file-name part: ``"ring, other class"`` -> ``"ring-other-class"``."""
    return "-".join(name.replace(",", " ").split())


def random_net_predictions(net, train_images, train_labels, conditions: dict, *, C: float = 0.005,
                           device=None, cache=True, name: str = "features"
                           ) -> dict[str, np.ndarray]:
    """The random network + linear SVM (chapter 3), trained on clean images, on every condition.

    Features come from :func:`rdsc.features.extract`, cached as ``<name>-train`` and
    ``bg-<name>-<condition>``. Returns ``{condition: predicted labels, length N}``.
    """
    from rdsc.classify import LinearSVM
    from rdsc.features import extract
    train = extract(net, train_images, cache=cache, name=f"{name}-train", device=device,
                    progress=False)
    svm = LinearSVM(C=C, device=device).fit(train, np.asarray(train_labels))
    return {cond: svm.predict(extract(net, images, cache=cache, name=f"bg-{name}-{slug(cond)}",
                                      device=device, progress=False))
            for cond, images in conditions.items()}


def model_predictions(model, conditions: dict) -> dict[str, np.ndarray]:
    """A torch classifier (floats in [0, 1] -> logits) on every condition.

    Returns ``{condition: labels}``.
    """
    from rdsc.cnn import logits
    return {cond: logits(model, images).argmax(1).numpy() for cond, images in conditions.items()}


class HistogramSVM:
    """The "colour only" reference: a linear SVM on joint RGB histograms of the whole image.

    Histograms (``bins**3`` cells) are standardised with the training set's mean and
    standard deviation, so that ``C`` means the same whatever the number of bins.
    """

    def __init__(self, bins: int = 8, C: float = 0.01, device=None):
        self.bins, self.C, self.device = bins, C, device

    def _features(self, images):
        h = colour_histograms(images, bins=self.bins)
        return ((h - self.mean_) / self.scale_).astype(np.float32)

    def fit(self, images, labels) -> "HistogramSVM":
        """Standardise the training histograms and fit the linear SVM on them."""
        from rdsc.classify import LinearSVM
        h = colour_histograms(images, bins=self.bins)
        self.mean_, std = h.mean(0), h.std(0)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.svm_ = LinearSVM(C=self.C, device=self.device).fit(self._features(images),
                                                                np.asarray(labels))
        return self

    def predict(self, images) -> np.ndarray:
        """The predicted label of each image."""
        if not hasattr(self, "svm_"):
            raise RuntimeError("call fit(images, labels) before predict")
        return self.svm_.predict(self._features(images))

    def predictions(self, conditions: dict) -> dict[str, np.ndarray]:
        """``{condition: predicted labels}`` for every condition's images."""
        return {cond: self.predict(images) for cond, images in conditions.items()}


# --- summaries with intervals -----------------------------------------------------------------

def _stack(predictions: list[dict[str, np.ndarray]], condition: str) -> np.ndarray:
    return np.stack([np.asarray(p[condition]) for p in predictions])


def accuracy_rows(predictions: list[dict[str, np.ndarray]], labels, n_boot: int = 1000,
                  seed: int = 0) -> list[dict]:
    """Accuracy per condition with a bootstrap interval over networks and images.

    ``predictions``: one ``{condition: N labels}`` per network (seed), all on the same images.
    Returns rows ``{condition, accuracy, low, high}`` (fractions).
    """
    if not predictions:
        raise ValueError("predictions is empty: pass one {condition: labels} dict per network")
    labels = np.asarray(labels)
    rows = []
    for cond in predictions[0]:
        correct = (_stack(predictions, cond) == labels).astype(np.float64)
        est, lo, hi = bootstrap(lambda a: a["c"].mean(), {"c": correct}, n_boot, seed)
        rows.append({"condition": cond, "accuracy": est, "low": lo, "high": hi})
    return rows


def effect_rows(predictions: list[dict[str, np.ndarray]], labels, donor_labels: np.ndarray,
                n_classes: int, n_boot: int = 1000, seed: int = 0
                ) -> dict[str, tuple[float, float, float]]:
    """The chapter's effects, each ``(estimate, low, high)`` over networks and images:

    * ``ring cost``: accuracy with a same-class ring minus with an other-class ring (what a
      foreign background costs beyond compositing);
    * ``centre cost``: the same for the centre;
    * ``ring capture`` / ``centre capture``: P(prediction = donor class | prediction changed);
    * ``ring capture chance`` / ``centre capture chance``: the capture a changed prediction
      would reach by going to a uniformly random other class than the clean prediction:
      ``1 / (n_classes - 1)`` for each changed image whose clean prediction is not the
      donor's class, 0 where it is (the donor's class cannot then be reached by a change);
    * ``background only above chance``: background-only accuracy minus ``1 / n_classes``.

    ``donor_labels``: the class of each image's other-class donor (length N).
    """
    labels, donor_labels = np.asarray(labels), np.asarray(donor_labels)
    if np.any(donor_labels == labels):
        raise ValueError("donor_labels must be the other-class donors' labels (one equals the "
                         "image's own label)")
    arrays = {cond: _stack(predictions, cond) for cond in predictions[0]}
    correct = {c: (p == labels).astype(np.float64) for c, p in arrays.items()}
    out = {
        "ring cost": bootstrap(lambda a: (a["s"] - a["o"]).mean(),
                               {"s": correct["ring, same class"],
                                "o": correct["ring, other class"]},
                               n_boot, seed),
        "centre cost": bootstrap(lambda a: (a["s"] - a["o"]).mean(),
                                 {"s": correct["centre, same class"],
                                  "o": correct["centre, other class"]},
                                 n_boot, seed),
        "background only above chance": bootstrap(lambda a: a["c"].mean() - 1 / n_classes,
                                                  {"c": correct["background only"]}, n_boot, seed),
    }
    donors = np.broadcast_to(donor_labels, arrays["clean"].shape)
    for region in ("ring", "centre"):
        cap = donor_capture(arrays["clean"], arrays[f"{region}, other class"], donors)
        out[f"{region} capture"] = bootstrap(lambda a: capture_rate(a["changed"], a["captured"]),
                                             cap, n_boot, seed)
        cap["reachable"] = cap["changed"] & (arrays["clean"] != donors)
        out[f"{region} capture chance"] = bootstrap(
            lambda a: capture_rate(a["changed"], a["reachable"]) / (n_classes - 1),
            cap, n_boot, seed)
    return out



def effects_over_datasets(runs: dict, n_boot: int = 1000) -> tuple[dict, list[dict]]:
    """:func:`effect_rows` of every classifier on every dataset run, and their table rows.

    ``runs``: per dataset, ``{"classes", "labels", "donors", "predictions"}`` (``donors``:
    the image indices of the donors, ``"other"`` the other-class ones). Returns
    ``(effects, rows)``: ``effects[dataset, classifier]`` as :func:`effect_rows` gives it;
    ``rows``, one per pair, each effect as ``"estimate [low, high]"`` in percent (a capture's
    chance as a plain level; ``–`` where no prediction changed), and the share of
    predictions a foreign ring changed.
    """
    import warnings
    effects, rows = {}, []
    for dataset, run in runs.items():
        donor_labels = run["labels"][run["donors"]["other"]]
        for clf, preds in run["predictions"].items():
            with warnings.catch_warnings():  # no changed prediction: a NaN capture
                warnings.simplefilter("ignore", RuntimeWarning)
                e = effect_rows(preds, run["labels"], donor_labels, len(run["classes"]),
                                n_boot=n_boot)
            effects[dataset, clf] = e
            changed = np.mean([np.mean(p["ring, other class"] != p["clean"]) for p in preds])
            rows.append({
                "dataset": dataset, "classifier": clf,
                **{f"{name} (%)": ("– (no prediction changed)" if np.isnan(v) else
                                   f"{100 * v:.1f}" if name.endswith("capture chance") else
                                   f"{100 * v:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]")
                   for name, (v, lo, hi) in e.items()},
                "changed by a foreign ring (%)": round(100 * changed, 1)})
    return effects, rows

def cost_difference(predictions_a: list[dict[str, np.ndarray]],
                    predictions_b: list[dict[str, np.ndarray]], labels,
                    region: str = "ring", n_boot: int = 1000, seed: int = 0
                    ) -> tuple[float, float, float]:
    """Classifier A's ``region`` cost (accuracy with a same-class ``region`` minus with an
    other-class one, as in :func:`effect_rows`) minus classifier B's, ``(estimate, low,
    high)`` with a 95% *paired* bootstrap interval: each replicate draws one set of images
    for both classifiers (both were tested on the same composites), and each classifier's
    networks (seeds) on its own, with replacement. Two intervals that overlap do not show
    that the difference is 0; this interval does, or does not.

    ``predictions_a`` / ``predictions_b``: one ``{condition: N labels}`` per network, all on
    the same N images (the numbers of networks may differ).
    """
    from rdsc.book import whole_number
    n_boot = whole_number("n_boot", n_boot, at_least=2)
    labels = np.asarray(labels)

    def correct(predictions):
        if not predictions:
            raise ValueError("predictions is empty: pass one {condition: labels} dict per "
                             "network")
        same, other = (_stack(predictions, f"{region}, {kind} class")
                       for kind in ("same", "other"))
        if same.shape[1] != len(labels):
            raise ValueError(f"predictions hold {same.shape[1]} images for {len(labels)} "
                             "labels")
        same, other = same == labels, other == labels
        return same.astype(np.float64) - other.astype(np.float64)  # networks x N

    a, b = correct(predictions_a), correct(predictions_b)
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot)
    for r in range(n_boot):
        i = rng.integers(0, len(labels), len(labels))
        sa = rng.integers(0, len(a), len(a))
        sb = rng.integers(0, len(b), len(b))
        values[r] = a[sa][:, i].mean() - b[sb][:, i].mean()
    low, high = np.quantile(values, [0.025, 0.975])
    return float(a.mean() - b.mean()), float(low), float(high)


# --- models of other chapters, and small wrappers ---------------------------------------------

class Downsampled(torch.nn.Module):
    """``model`` applied to images average-pooled by ``factor`` and rounded to 8-bit levels,
    exactly as :func:`downsample` prepares its training images (floats in [0, 1] in)."""

    def __init__(self, model: torch.nn.Module, factor: int):
        super().__init__()
        self.model, self.factor = model, int(factor)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` pooled and requantised as :func:`downsample` prepares the training images."""
        if self.factor > 1:
            x = (F.avg_pool2d(x, self.factor) * 255).round() / 255
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool and requantise ``x`` (:meth:`pooled`), then apply the model."""
        return self.model(self.pooled(x))


def downsample(images: torch.Tensor, factor: int) -> torch.Tensor:
    """uint8 images average-pooled by ``factor`` (a CNN trained on 112 x 112 images costs 16 times
    one on 28 x 28), rounded back to uint8."""
    _check_images(images)
    if factor == 1:
        return images
    return F.avg_pool2d(images.float(), factor).round().clamp(0, 255).to(torch.uint8)


@torch.no_grad()
def cnn_embedding(model, images, batch_size: int = 512) -> np.ndarray:
    """The hidden dense layer of a :class:`rdsc.cnn.SmallCNN` (inside :class:`Downsampled` or not):
    ``N x hidden`` activations after ReLU."""
    inner = model.model if isinstance(model, Downsampled) else model
    prepare = model.pooled if isinstance(model, Downsampled) else (lambda x: x)
    inner.eval()
    device = next(inner.parameters()).device
    out = []
    for lo in range(0, len(images), batch_size):
        x = as_unit_float(images[lo:lo + batch_size]).to(device)
        out.append(inner.embed(prepare(x)).cpu())  # the model's own embedding, not a copy
    return torch.cat(out).numpy()


def cnn_first_layer(model):
    """``(weight, post)`` of a SmallCNN's first convolution and its eval-mode batch norm, for
    :func:`mean_colour_agreement` (offset 0.5, padding 1; the input is ``x - 0.5``)."""
    inner = model.model if isinstance(model, Downsampled) else model
    import copy
    conv = inner.features[0]
    norm = copy.deepcopy(inner.features[1]).cpu().eval()  # a copy: the model stays on its device
    return conv.weight.detach().cpu(), (lambda v: norm(v))


def trained_deepnet_predictions(arch: str, train_images, train_labels, conditions: dict, *,
                                epochs: int, seed: int = 0, device=None) -> dict[str, np.ndarray]:
    """Chapter 4's ``arch`` trained end to end (``rdsc.deepnets.trained``, from its model
    cache when chapter 4 trained it on the same images) on every condition:
    ``{condition: predicted labels}``."""
    from rdsc import deepnets
    model = deepnets.trained(arch, train_images, train_labels, epochs=epochs, seed=seed,
                             device=device, progress=False)
    return model_predictions(model, conditions)


def random_deepnet_predictions(arch: str, train_images, train_labels, conditions: dict, *,
                               seed: int, n_calibration: int, C: float = 0.005,
                               device=None) -> dict[str, np.ndarray]:
    """Chapter 4's final-layer-only baseline on every condition: a frozen random-weight
    ``arch`` (batch norm recalibrated on ``n_calibration`` training images), its pooled
    representation z-scored, the paper's linear SVM trained on clean images.
    Returns ``{condition: predicted labels}``."""
    from rdsc.baselines import calibration_subset, svm_scores
    from rdsc.deepnets import random_embeddings
    calib = train_images[calibration_subset(len(train_images), n_calibration, seed)]
    names = list(conditions)
    train_f, *test_f = random_embeddings(arch, calib, [train_images, *conditions.values()],
                                         seed=seed, n_classes=int(np.max(train_labels)) + 1,
                                         device=device)
    # one SVM for every condition: fitted on clean images, scored on the stacked conditions
    scores, _ = svm_scores(train_f, train_labels, np.concatenate(test_f), C=C, scale=True,
                           device=device)
    bounds = np.cumsum([0] + [len(f) for f in test_f])
    return {name: scores[lo:hi].argmax(1) for name, lo, hi in zip(names, bounds[:-1], bounds[1:])}


#: The chapter's settings that :func:`classifier_predictions` takes, per dataset or not.
CLASSIFIER_SETTINGS = ("cnn_pool", "cnn_epochs", "trained_deepnets", "deepnet_epochs",
                       "random_deepnets", "random_deepnet_seeds", "n_calibration")


def classifier_settings(settings: dict, dataset: str) -> dict:
    """The keyword arguments of :func:`classifier_predictions` for ``dataset`` from a
    profile's settings: of a setting given per dataset (a dict), ``dataset``'s value."""
    return {key: settings[key][dataset] if isinstance(settings[key], dict) else settings[key]
            for key in CLASSIFIER_SETTINGS}


def classifier_predictions(nets: list, train_images, train_labels, conditions: dict, *,
                           name: str, cnn_pool: int, cnn_epochs: int,
                           trained_deepnets=(), deepnet_epochs: int = 1,
                           random_deepnets=(), random_deepnet_seeds: int = 1,
                           n_calibration: int = 250, seed: int = 0, C: float = 0.005,
                           device=None, cache=True) -> tuple[dict[str, list[dict]], Downsampled]:
    """Every classifier of the chapter, trained on the clean training images, on every
    condition.

    * ``random network + SVM``: one prediction per network of ``nets``
      (:func:`random_net_predictions`, features cached under ``name``);
    * ``trained CNN``: :class:`rdsc.cnn.SmallCNN` on images pooled by ``cnn_pool``,
      trained for ``cnn_epochs`` with ``seed`` (model cache ``bg-<name>``);
    * ``colour histogram + SVM``: :class:`HistogramSVM` with 8 bins per channel;
    * ``<arch>, trained <n> epochs`` for each of ``trained_deepnets``
      (:func:`trained_deepnet_predictions`) and ``<arch>, random, final layer`` for each
      of ``random_deepnets``, one per seed ``0..random_deepnet_seeds - 1``
      (:func:`random_deepnet_predictions`).

    Returns ``(predictions, trained CNN)``: ``{classifier: [{condition: N labels}, ...]}``
    (one dict per network or model) and the CNN in its :class:`Downsampled` wrapper.
    ``cache`` reaches the random networks' features and the small CNN; the deep networks
    use the model cache of :mod:`rdsc.deepnets` either way.
    """
    from rdsc import cnn
    from rdsc.book import plural
    predictions = {"random network + SVM": [
        random_net_predictions(net, train_images, train_labels, conditions, C=C,
                               device=device, cache=cache, name=name)
        for net in nets]}
    small = cnn.trained(downsample(train_images, cnn_pool), train_labels, epochs=cnn_epochs,
                        seed=seed, cache=cache, name=f"bg-{name}", device=device,
                        progress=False)
    trained_cnn = Downsampled(small, cnn_pool).eval()
    predictions["trained CNN"] = [model_predictions(trained_cnn, conditions)]
    histogram = HistogramSVM(bins=8, device=device).fit(train_images, train_labels)
    predictions["colour histogram + SVM"] = [histogram.predictions(conditions)]
    for arch in trained_deepnets:
        predictions[f"{arch}, trained {plural(deepnet_epochs, 'epoch')}"] = [
            trained_deepnet_predictions(arch, train_images, train_labels, conditions,
                                        epochs=deepnet_epochs, seed=0, device=device)]
    for arch in random_deepnets:
        predictions[f"{arch}, random, final layer"] = [
            random_deepnet_predictions(arch, train_images, train_labels, conditions, seed=s,
                                       n_calibration=n_calibration, C=C, device=device)
            for s in range(random_deepnet_seeds)]
    return predictions, trained_cnn


# --- the chapter's verdicts ------------------------------------------------------------------

def interval_text(effect: tuple, scale: float = 100, unit: str = " points") -> str:
    """``(estimate, low, high)`` as ``+2.0 points (95% interval +1.0 to +3.0)``."""
    v, lo, hi = effect
    return f"{scale * v:+.1f}{unit} (95% interval {scale * lo:+.1f} to {scale * hi:+.1f})"


def clean_above_chance(predictions: list[dict[str, np.ndarray]], labels,
                       n_classes: int) -> bool:
    """Whether a classifier's clean accuracy (mean over its networks, each predicting the
    ``N`` images) is above guessing, ``1 / n_classes``: the lower end of its 95%
    Clopper-Pearson interval over the ``N`` images lies above it. A reference at chance
    (a CNN trained too briefly predicts one class) says nothing about what it is
    compared with."""
    from rdsc.intervals import binomial_interval
    labels = np.asarray(labels)
    accuracy = float(np.mean([np.mean(p["clean"] == labels) for p in predictions]))
    return binomial_interval(round(accuracy * len(labels)), len(labels))[0] > 1 / n_classes


def pitfall_rows(dataset: str, random_net: dict, cnn: dict, n_classes: int,
                 versus_cnn: tuple | None = None, cnn_above_chance: bool = True
                 ) -> tuple[list[dict], bool]:
    """The classification half of the claim on one dataset: the verdict table's rows and
    whether the pitfall is shown there.

    ``random_net`` / ``cnn``: :func:`effect_rows` of the random network and of the trained
    CNN. The pitfall is shown when a foreign ring costs accuracy beyond the same-class
    control (interval above 0) *and* the predictions it changes go to the donor's class
    more often than chance (``ring capture chance``, at most ``1 / (n_classes - 1)``): the
    ring pulls toward its own class.

    ``versus_cnn``: :func:`cost_difference` of the random network's ring cost minus the
    CNN's, on the same images; without it the row reads the two intervals, which can only
    say whether they are separated. ``cnn_above_chance`` (:func:`clean_above_chance`):
    False leaves the comparison out, for a CNN at chance is no reference.
    """
    e = random_net
    # the run's own chance level (0 for changed images already on the donor's class)
    chance = e.get("ring capture chance", (float("nan"),))[0]
    if not np.isfinite(chance):
        chance = 1 / (n_classes - 1)
    cost_shown = e["ring cost"][1] > 0
    capture_shown = e["ring capture"][1] > chance
    if not cnn_above_chance:
        compare = "not compared: the trained CNN is at chance on clean images"
        against = f"CNN: {interval_text(cnn['ring cost'])}"
    elif versus_cnn is not None:  # the paired interval of the difference decides
        compare = ("larger than the CNN's" if versus_cnn[1] > 0 else
                   "smaller than the CNN's" if versus_cnn[2] < 0 else
                   "not distinguishable from the CNN's (the paired interval of the "
                   "difference contains 0)")
        against = (f"difference {interval_text(versus_cnn)}; "
                   f"CNN: {interval_text(cnn['ring cost'])}")
    else:  # intervals that overlap are not a test of the difference: say only what they show
        compare = ("larger than the CNN's" if e["ring cost"][1] > cnn["ring cost"][2] else
                   "smaller than the CNN's" if e["ring cost"][2] < cnn["ring cost"][1] else
                   "not separated from the CNN's (the intervals overlap)")
        against = f"CNN: {interval_text(cnn['ring cost'])}"
    capture = ("no prediction changed" if np.isnan(e["ring capture"][0]) else
               f"{100 * e['ring capture'][0]:.0f}% (95% interval "
               f"{100 * e['ring capture'][1]:.0f} to {100 * e['ring capture'][2]:.0f}%) vs "
               f"chance {100 * chance:.0f}%")
    rows = [
        {"question": "a foreign ring costs accuracy beyond compositing",
         "random network": "yes" if cost_shown else "not shown",
         "measure": interval_text(e["ring cost"])},
        {"question": "changed predictions go to the donor's class above chance",
         "random network": "yes" if capture_shown else "not shown", "measure": capture},
        {"question": "the background alone classifies above chance",
         "random network": "yes" if e["background only above chance"][1] > 0 else "not shown",
         "measure": interval_text(e["background only above chance"])},
        {"question": "the ring cost, compared with the trained CNN", "random network": compare,
         "measure": against},
    ]
    return [{"dataset": dataset, **row} for row in rows], cost_shown and capture_shown


def cost_beyond_cnn(random_net: dict, cnn: dict, versus_cnn: tuple | None = None) -> bool:
    """Whether a foreign ring costs the random network more accuracy than the trained CNN:
    the paired interval of the difference (``versus_cnn``, :func:`cost_difference`) above
    0, or without it the two intervals of :func:`effect_rows` separated. Half the image
    swapped moves any classifier; this says whether the random features are moved more."""
    if versus_cnn is not None:
        return bool(versus_cnn[1] > 0)
    return bool(random_net["ring cost"][1] > cnn["ring cost"][2])


def pitfall_verdict(shown: list[bool], beyond: list[bool | None] | None = None) -> str:
    """The pitfall over the datasets run (one :func:`pitfall_rows` flag each), and, with
    ``beyond`` (one :func:`cost_beyond_cnn` flag each; None where the CNN is at chance and
    not compared), whether the datasets that show it show it beyond the trained CNN."""
    if len(shown) == 0:
        raise ValueError("pitfall_verdict needs one flag per dataset run; got none")
    if not any(shown):
        return "not shown by this run"
    said = "confirmed on every dataset run" if all(shown) else "confirmed on some datasets only"
    if beyond is None:
        return said
    if len(beyond) != len(shown):
        raise ValueError(f"beyond needs one flag per dataset, got {len(beyond)} for "
                         f"{len(shown)}")
    more = [b for s_, b in zip(shown, beyond) if s_ and b is not None]
    if not more:
        return said + ", not compared with the trained CNN (at chance on clean images)"
    if all(more):
        return said + ", beyond the trained CNN's cost"
    if not any(more):
        return (said + ", but no more than the trained CNN's (a swapped ring moves a "
                "trained network as much)")
    return said + f", beyond the trained CNN's cost on {sum(more)} of {len(more)}"



def pitfall_over_datasets(runs: dict, effects: dict, versus_cnn: dict
                          ) -> tuple[list[dict], str, bool]:
    """The classification half over every dataset run: the verdict table's rows
    (:func:`pitfall_rows`), the verdict (:func:`pitfall_verdict`), and whether any dataset
    shows the pitfall.

    ``runs``: per dataset, ``{"classes", "labels", "predictions"}`` (predictions per
    classifier, ``"random network + SVM"`` and ``"trained CNN"``); ``effects``: per
    ``(dataset, classifier)``, :func:`effect_rows`; ``versus_cnn``: per dataset,
    :func:`cost_difference` of the two classifiers' ring costs.
    """
    rows, shown, beyond = [], [], []
    for dataset, run in runs.items():
        ours = effects[dataset, "random network + SVM"]
        theirs = effects[dataset, "trained CNN"]
        n_classes = len(run["classes"])
        # a CNN at chance is no reference: its comparison is left out
        cnn_ok = clean_above_chance(run["predictions"]["trained CNN"], run["labels"],
                                    n_classes)
        got, shows = pitfall_rows(dataset, ours, theirs, n_classes=n_classes,
                                  versus_cnn=versus_cnn[dataset], cnn_above_chance=cnn_ok)
        rows += got
        shown.append(shows)
        beyond.append(cost_beyond_cnn(ours, theirs, versus_cnn[dataset]) if cnn_ok else None)
    return rows, pitfall_verdict(shown, beyond), any(shown)

def advantage_rows(ring_grey_drop: tuple, grayscale_drop: tuple, ring_partial: dict
                   ) -> list[dict]:
    """The retrieval rows of the verdict table (Corel): greying the ring, removing colour
    (reported, not counted: it changes the whole image), and the partial correlation of
    feature distance with ring colour (``ring_partial``: ``estimate``, ``low``, ``high``)."""
    p = ring_partial
    return [
        {"dataset": "corel", "question": "greying the ring lowers precision@10",
         "random network": "yes" if ring_grey_drop[1] > 0 else "not shown",
         "measure": interval_text(ring_grey_drop, unit="")},
        {"dataset": "corel",
         "question": "removing colour lowers precision@10 (colour, not the background)",
         "random network": "yes" if grayscale_drop[1] > 0 else "not shown",
         "measure": interval_text(grayscale_drop, unit="")},
        {"dataset": "corel",
         "question": "ring colour explains feature distance beyond centre colour and category",
         "random network": "yes" if p["low"] > 0 else "not shown",
         "measure": f"partial r = {p['estimate']:.3f} [{p['low']:.3f}, {p['high']:.3f}]"},
    ]


def advantage_reading(ring_grey_drop: tuple, grayscale_drop: tuple, ring_partial_low: float,
                      pitfall_shown: bool) -> str:
    """The chapter's sentence on what the retrieval evidence means, from the same numbers as
    :func:`advantage_rows` (and whether the pitfall was shown anywhere)."""
    # each piece of evidence says its own thing: the drop that the ring helps retrieval,
    # the partial correlation (category held fixed) only that the features react to it
    evidence = [what for what, shown in (
        ("greying the ring lowers the random network's precision, so the outer ring (a "
         "geometric stand-in for the background, holding object parts too) helps it "
         "retrieve", ring_grey_drop[1] > 0),
        ("the ring's colours explain its feature distances beyond the centre's colours and "
         "the category, so the features react to the ring's colour", ring_partial_low > 0))
        if shown]
    if evidence:
        return (f"In this run {'; and '.join(evidence)}"
                + ("; the same sensitivity misleads the classifier in the composites above."
                   if pitfall_shown else
                   "; in the composites above it did not measurably mislead the "
                   "classifier."))
    if grayscale_drop[1] > 0:
        return ("In this run only removing colour lowers the random network's precision: it "
                "retrieves partly by colour, which is not evidence about the background; the "
                "ring is not shown to be what it uses.")
    return ("In this run neither greying the ring nor removing colour measurably lowers the "
            "random network's precision, and the ring's colours do not measurably explain "
            "its feature distances: the retrieval half of the claim is not shown.")


def advantage_verdict(ring_grey_drop: tuple, ring_partial_low: float) -> str:
    """The retrieval half of the background claim, from the ring's evidence only.

    ``ring_grey_drop``: (estimate, low, high) of the drop in precision when the ring is
    greyed; ``ring_partial_low``: the lower end of the interval of the partial correlation
    of feature distance with ring colour (centre colour and category held). Removing colour
    (grayscale) changes the whole image, not its background, so it does not enter here.
    """
    drop, partial = ring_grey_drop[1] > 0, ring_partial_low > 0
    if drop and partial:
        return ("supported: the outer ring helps retrieval, and the features react to its "
                "colour")
    return "partly supported" if drop or partial else "not shown by this run"
