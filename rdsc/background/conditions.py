"""The altered test images of chapter 8: centre and ring masks, composites with
donor images, grey fills and colour changes (:func:`make_conditions`).

Images are ``N x 3 x H x W`` uint8 tensors; labels int64 arrays of length N.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from rdsc.checks import number_between, seed_number

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


#: The book's centre share (the chapter's default ``fraction``): centre and ring of one area.
BOOK_FRACTION = 0.5
#: The centre shares the chapter accepts, ends included: each region at least a fifth of the
#: image (at 0.001 the "ring" was 1,023 of 1,024 pixels, and the verdicts
#: read a swap of nearly the whole image as one of its background).
FRACTION_RANGE = (0.2, 0.8)


def check_fraction(fraction) -> float:
    """``fraction`` (the centre's share of the pixels) if the centre and the ring can each
    stand for what the chapter calls them, foreground and background: within
    :data:`FRACTION_RANGE`. Outside it one region is more than four fifths of the image,
    and swapping it measures how much the whole image matters, not its background (or
    foreground); a ``ValueError`` says so."""
    fraction = number_between("fraction", fraction, 0, 1, "the centre's share of the pixels")
    low, high = FRACTION_RANGE
    # 1 - 0.8 is 0.19999999999999996: the range's ends as typed are inside
    if not low - 1e-9 <= fraction <= high + 1e-9:
        raise ValueError(
            f"fraction = {fraction:g} puts {100 * fraction:.3g}% of the pixels in the centre "
            f"and {100 * (1 - fraction):.3g}% in the ring: choose it from {low:g} to "
            f"{high:g}, so that each region holds at least a fifth of the image. Beyond "
            "that the larger region is nearly the whole image: swapping it measures how "
            "much the whole image matters, and the verdicts, which read the ring as "
            "background and the centre as foreground, would not be about background")
    return fraction


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
    if isinstance(value, bool) or int(value) != value or not 0 <= int(value) <= 255:
        # 0.47 (a fraction) would fill black, 120.9 silently 120
        raise ValueError(f"value is a grey level: a whole number in 0..255, got {value!r}")
    return torch.where(where, torch.tensor(int(value), dtype=torch.uint8), images)


def choose_donors(labels, same_class: bool, seed: int = 0) -> np.ndarray:
    """For each image, the index of a donor image: of the same class (never the image itself)
    or of another class, drawn uniformly with a seeded generator. Returns int64, length N."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) < 2:
        raise ValueError("labels must be a 1-D array of at least 2 labels, "
                         f"got shape {labels.shape}")
    rng = np.random.default_rng(seed_number(seed))
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


def check_hue_degrees(degrees) -> float:
    """``degrees`` if a hue rotation by it changes 8-bit colours: at least 1 degree away
    from a whole turn (0.1 or 359.9 degrees change no pixel of CIFAR-10 once rounded, so
    the "hue rotated" condition would be the clean one)."""
    degrees = number_between("hue_degrees", degrees, -360, 360,
                             "a hue rotation, not 0, less than a whole turn")
    turn = abs(degrees) % 360
    if min(turn, 360 - turn) < 1:
        raise ValueError(f"hue_degrees = {degrees:g} is within 1 degree of a whole turn: "
                         "rounded to 8 bits, the hue-rotated images would be the clean ones")
    return degrees


def hue_change_words(clean: torch.Tensor, rotated: torch.Tensor, degrees: float) -> str:
    """How far a hue rotation by ``degrees`` moved the pixels (``N x 3 x H x W`` uint8, the
    clean images and the same images rotated), for the text: a rotation of a degree or two
    moves them by less than one 8-bit level on average, and the "hue rotated" row is then
    nearly the clean one (2 degrees changed a pixel value by 0.3 on average)."""
    if (clean.shape != rotated.shape or len(clean) == 0
            or not clean.dtype == rotated.dtype == torch.uint8):
        raise ValueError(f"clean and rotated: the same uint8 images, got {tuple(clean.shape)} "
                         f"{clean.dtype} and {tuple(rotated.shape)} {rotated.dtype}")
    moved = (rotated.float() - clean.float()).abs().mean().item()
    said = (f"by {degrees:g}°, which changes each 8-bit channel value of the figure's "
            f"{len(clean):,} images by {moved:.1f} levels on average (the mean absolute "
            "change)")
    if moved < 1:
        said += (": less than one 8-bit level, so the hue-rotated images are nearly the "
                 "clean ones and their row below measures almost no change of colour")
    return said


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
    seed = seed_number(seed)  # seed + 1 draws the same-class donors
    check_hue_degrees(hue_degrees)  # 0 or 360: the "hue rotated" images would be the clean ones
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"{len(images)} images need 1-D labels, one each, got shape "
                         f"{labels.shape}")
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


def slug(name: str) -> str:
    """A condition's name as a file-name part: ``"ring, other class"`` -> ``"ring-other-class"``."""
    return "-".join(name.replace(",", " ").split())
