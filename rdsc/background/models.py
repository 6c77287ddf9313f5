"""The trained CNN as chapter 8 uses it: on images average-pooled as it was trained
(:class:`Downsampled`), its hidden layer (:func:`cnn_embedding`) and first layer.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from rdsc.background.conditions import _check_images
from rdsc.data import as_float, check_pixels


class Downsampled(torch.nn.Module):
    """``model`` applied to images average-pooled by ``factor`` and rounded to 8-bit levels,
    exactly as :func:`downsample` prepares its training images (floats in [0, 1] in)."""

    def __init__(self, model: torch.nn.Module, factor: int):
        super().__init__()
        self.model, self.factor = model, int(factor)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` pooled and requantised as :func:`downsample` prepares the training images."""
        if self.factor > 1:
            # back to the 8-bit levels first: pooling the floats moved exact halves to
            # either side (3.7% of pooled values one level off downsample's)
            levels = (x * 255).round().clamp(0, 255).to(torch.uint8)
            x = downsample(levels, self.factor).to(x.dtype) / 255
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
    check_pixels(images)  # once: the batches below are converted one at a time
    out = []
    for lo in range(0, len(images), batch_size):
        x = as_float(images[lo:lo + batch_size]).to(device)
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
