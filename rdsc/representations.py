"""Representations to rank images by, besides the random features: what chapter 6 sets
beside them.

* controls without learning: :func:`downsampled_pixels` (16 x 16 pixels),
  :func:`colour_histogram` (colour only, of the whole image or of a region),
  :func:`random_vectors` (a random ranking);
* trained networks: :func:`network_embedding`, the last hidden layer
  (:func:`penultimate`) of a network at the input size it was trained at, with the
  resizing it needs (:func:`resize_images`, :func:`resized_uint8`).

The representations (:func:`downsampled_pixels`, :func:`colour_histogram`,
:func:`network_embedding`; :func:`random_vectors` takes a count) map ``N`` images
(``N x 3 x H x W``, uint8 or floats in [0, 1] where said) to an ``N x d`` float array, one
row per image, which :func:`rdsc.retrieval.rank` takes; :func:`resize_images` and
:func:`resized_uint8` return images, :func:`penultimate` a function. Chapter 8 reuses
:func:`colour_histogram`. The authors' perceptron on the random features is
:func:`rdsc.mlp_head.fit_mlp` and :func:`rdsc.mlp_head.mlp_embedding`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from rdsc.checks import seed_number, whole_number
from rdsc.data import unit_float_images


def colour_histogram(images, bins: int = 8, where=None) -> np.ndarray:
    """``N x 3 x H x W`` uint8 RGB -> ``N x bins^3`` joint colour histograms, each summing to 1,
    of all pixels or of those where ``where`` (``H x W`` bool) is True."""
    x = torch.as_tensor(images)
    if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"colour_histogram needs uint8 RGB images N x 3 x H x W, "
                         f"got {x.dtype} {tuple(x.shape)}")
    whole_number("bins", bins)
    if bins > 256:
        raise ValueError(f"bins must be in 1..256, got {bins}")
    if where is not None:
        where = torch.as_tensor(where)
        if where.dtype != torch.bool or tuple(where.shape) != tuple(x.shape[-2:]):
            raise ValueError(f"where must be an H x W = {tuple(x.shape[-2:])} boolean mask, "
                             f"got {where.dtype} {tuple(where.shape)}")
        if not where.any():  # every histogram would be 0 / 0
            raise ValueError("where selects no pixel")
    q = (x.long() * bins) // 256                                   # bin of each channel value
    cell = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]             # N x H x W
    cell = cell.flatten(1) if where is None else cell[:, where]
    counts = torch.zeros(len(x), bins ** 3, dtype=torch.float64)
    counts.scatter_add_(1, cell, torch.ones(cell.shape, dtype=torch.float64))
    return (counts / counts.sum(1, keepdim=True)).numpy()


def downsampled_pixels(images, size: int = 16) -> np.ndarray:
    """Images shrunk to ``size x size`` (area averaging) -> ``N x 3*size*size`` values in [0, 1]."""
    whole_number("size", size)
    x = unit_float_images(images)
    if size > min(x.shape[-2:]):  # area averaging would repeat pixels, not shrink them
        raise ValueError(f"size {size} is larger than the images ({tuple(x.shape[-2:])})")
    return F.adaptive_avg_pool2d(x, size).flatten(1).numpy()


def random_vectors(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """``n x dim`` Gaussian vectors: a representation that ranks the database at random."""
    return np.random.default_rng(seed_number(seed)).standard_normal((n, dim)).astype(np.float32)


def resize_images(images, size: int | None = None, crop: int | None = None) -> torch.Tensor:
    """uint8 or [0, 1] images -> floats in [0, 1], resized (antialiased), then centre-cropped."""
    for name, value in (("size", size), ("crop", crop)):
        if value is not None:
            whole_number(name, value)   # 0 or -10 once failed deep inside torch
    x = unit_float_images(images)
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                          align_corners=False).clamp(0, 1)
    if crop is not None:
        h, w = x.shape[-2:]
        if crop > min(h, w):
            raise ValueError(f"crop {crop} is larger than the images ({h}x{w})")
        top, left = (h - crop) // 2, (w - crop) // 2
        x = x[..., top:top + crop, left:left + crop]
    return x


def resized_uint8(images, size: int, crop: int | None = None) -> torch.Tensor:
    """uint8 images ``N x 3 x H x W`` -> their centre ``crop`` x ``crop`` (when given),
    resized (antialiased) to ``size`` x ``size``, as uint8 again: the input of a small
    CNN trained on uint8 images of that size."""
    resized = resize_images(resize_images(images, crop=crop), size)
    return (resized * 255).round().to(torch.uint8)


def penultimate(model) -> Callable[[torch.Tensor], torch.Tensor]:
    """The function ``x -> N x d`` last hidden layer of a trained network.

    ``model.embed`` when the model has one (``rdsc.deepnets``, ``rdsc.cnn.SmallCNN``: the
    hidden dense layer after its ReLU); any other callable as it is.
    """
    if hasattr(model, "embed"):
        return model.embed
    if callable(model):
        return model
    raise TypeError(f"need a model with .embed or a callable, "
                    f"got {type(model).__name__}")


def _modules_of(*objects, depth: int = 3) -> list[nn.Module]:
    """The modules among ``objects`` and, for those that are not modules themselves (a
    wrapper with an ``.embed``), the modules they hold: as attributes, in lists, tuples
    and dicts, or in a wrapper they hold, up to ``depth`` levels down."""
    found = []
    for obj in objects:
        if isinstance(obj, nn.Module):
            found.append(obj)
        elif depth > 0:
            inner = (list(obj.values()) if isinstance(obj, dict) else
                     list(obj) if isinstance(obj, (list, tuple)) else
                     list(vars(obj).values()) if hasattr(obj, "__dict__") else [])
            found += _modules_of(*inner, depth=depth - 1)
    unique = {id(m): m for m in found}
    return list(unique.values())


@torch.no_grad()
def network_embedding(model, images, size: int | None = None, crop: int | None = None,
                      batch_size: int = 64) -> np.ndarray:
    """``N x d`` float32 last-hidden-layer features of ``images`` (``N x C x H x W``, uint8
    or floats in [0, 1], as :func:`resize_images` takes them), in eval mode. ``size`` /
    ``crop``: resize to ``size`` then centre-crop to ``crop`` first (None: as they are),
    the input size the model was trained at. The model, and the modules a wrapper around it
    holds as attributes, are left in eval mode (batch norm then uses its running
    statistics: an image's features do not depend on its batch)."""
    fn = penultimate(model)
    whole_number("batch_size", batch_size)
    if len(images) == 0:
        raise ValueError("no images to embed")
    config = getattr(model, "config", None)
    trained = config.get("image_size") if isinstance(config, dict) else None
    # the side the model will see: crop, else size (a square), else the images'
    final = ((crop, crop) if crop is not None else (size, size) if size is not None
             else tuple(images.shape[-2:]))
    if trained is not None and final != (trained, trained):
        # else it fails inside torch as "mat1 and mat2 shapes cannot be multiplied"
        given = (f"crop={crop} gives" if crop is not None else
                 f"size={size} gives" if size is not None else "these are")
        raise ValueError(f"the model was trained on {trained} x {trained} images, {given} "
                         f"{final[0]} x {final[1]}: pass size={trained} (and no crop)")
    if hasattr(model, "eval"):  # a module, or a wrapper that passes eval on
        model.eval()
    modules = _modules_of(model, getattr(fn, "__self__", None))
    for module in modules:  # a wrapper's own modules too: batch norm in training mode
        module.eval()       # would make an image's features depend on its batch
    params = [p for module in modules for p in module.parameters()]
    device = params[0].device if params else torch.device("cpu")
    dtype = params[0].dtype if params else torch.float32
    out = []
    for lo in range(0, len(images), batch_size):
        x = resize_images(images[lo:lo + batch_size], size, crop).to(device, dtype)
        out.append(fn(x).float().flatten(1).cpu())
    return torch.cat(out).numpy()
