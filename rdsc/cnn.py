"""Small trained CNNs: the trained model the attacks are compared against, and substitutes.

:class:`SmallCNN` is a plain VGG-style network (two conv-conv-pool stages and two
dense layers, batch norm) that trains to about 70-80% on CIFAR-10 in a few CPU
minutes. :func:`fit` trains any classifier on images and labels; :func:`trained`
adds a cache, so a chapter that needs "the trained CNN" gets the same weights
without retraining.

Images are ``N x C x H x W``, uint8 (0..255) or floats in [0, 1]; models take floats
in [0, 1] and return ``N x classes`` logits.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from rdsc.checks import seed_number
from rdsc.data import as_float, check_pixels
from rdsc.features import default_device, images_digest
from rdsc import model_cache
from rdsc.progress import progress_bar
from rdsc.rng import restores_global_rng

# bump when fit() changes: cached models trained by older code are then retrained
TRAINING_VERSION = 2


class SmallCNN(nn.Module):
    """``conv(w) conv(w) pool conv(2w) conv(2w) pool dense(hidden) dense(classes)``, 3x3 convs,
    ReLU.

    Args:
        n_classes: outputs.
        width: channels of the first stage (the second has ``2 * width``).
        image_size: side of the square input (divisible by 4).
        in_channels: input channels.
        hidden: units of the hidden dense layer.
    """

    def __init__(self, n_classes: int = 10, width: int = 32, image_size: int = 32,
                 in_channels: int = 3, hidden: int = 256):
        super().__init__()
        if image_size % 4 or image_size < 4:
            raise ValueError(f"image_size must be a positive multiple of 4, got {image_size}")
        self.config = dict(n_classes=n_classes, width=width, image_size=image_size,
                           in_channels=in_channels, hidden=hidden)

        def stage(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                    nn.ReLU(),
                    nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                    nn.ReLU(),
                    nn.MaxPool2d(2)]
        self.features = nn.Sequential(*stage(in_channels, width), *stage(width, 2 * width))
        side = image_size // 4
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * side * side, hidden),
                                        nn.ReLU(), nn.Linear(hidden, n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``N x C x H x W`` floats in [0, 1] -> ``N x hidden``: the last hidden layer (after
        ReLU)."""
        if x.dtype == torch.uint8:
            raise TypeError("SmallCNN takes float images in [0, 1]: use images.float() / 255")
        return self.classifier[:-1](self.features(x - 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``N x C x H x W`` floats in [0, 1] -> ``N x classes`` logits."""
        return self.classifier[-1](self.embed(x))


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips (per image) and one shift of up to 4 pixels (zero padding)
    for the whole batch."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1).to(x.device), x.flip(3), x)
    padded = F.pad(x, (4, 4, 4, 4))
    dy, dx = torch.randint(0, 9, (2,), generator=gen).tolist()  # one shift per batch: cheap
    return padded[:, :, dy:dy + h, dx:dx + w]


def fit(model: nn.Module, images, labels, *, epochs: int, batch_size: int = 128, lr: float = 2e-3,
        weight_decay: float = 5e-4, augment: bool = True, seed: int = 0, device=None,
        progress: bool = True) -> list[float]:
    """Train ``model`` with AdamW and a one-cycle learning rate; returns the mean loss of each
    epoch. ``images``: ``N x C x H x W`` uint8 (or floats in [0, 1]); ``labels``: ``N``.

    The model is left in eval mode on ``device``. Training continues from the
    model's current weights (substitute training relies on that).
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs}, {batch_size}")
    x, y = as_float(images), torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    device = torch.device(device) if device is not None else default_device()
    gen = torch.Generator().manual_seed(seed_number(seed))
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-len(x) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    losses = []
    bar = progress_bar(steps, "training", unit="batch", enabled=progress)
    for _ in range(epochs):
        order, total = torch.randperm(len(x), generator=gen), 0.0
        for lo in range(0, len(x), batch_size):
            idx = order[lo:lo + batch_size]
            xb = x[idx]
            if augment:
                xb = _augment(xb, gen)
            loss = F.cross_entropy(model(xb.to(device)), y[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            bar.update(1)
        losses.append(total / len(x))
    bar.close()
    # the running averages (momentum 0.1) lag the weights; after the few steps of a small
    # training set (a substitute's first rounds) the model in eval mode would predict nearly
    # one class
    recalibrate_batchnorm(model, x[torch.randperm(len(x), generator=gen)[:10_000]], batch_size,
                          device)
    return losses


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, images, batch_size: int = 256,
                          device=None) -> nn.Module:
    """Set every batch-norm layer's running mean and variance to its average over ``images``.

    Forward passes in train mode without gradients and with a cumulative average
    (momentum None): what a pass in ``net.train()`` mode over ``images`` would store,
    computed exactly, and no weight, scale or shift changes. The model is left in eval mode.
    ``images``: ``N x 3 x H x W``, uint8 or floats in [0, 1].
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return model.eval()
    device = next(model.parameters()).device if device is None else torch.device(device)
    images = torch.as_tensor(images)
    check_pixels(images)  # once: the batches below are converted one at a time
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    for lo in range(0, len(images), batch_size):
        model(as_float(images[lo:lo + batch_size]).to(device))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    return model.eval()


@torch.no_grad()
def logits(model: nn.Module, images, batch_size: int = 1024) -> torch.Tensor:
    """``N x classes`` logits of ``images`` (on the CPU), in batches, eval mode."""
    model.eval()
    device = next(model.parameters()).device
    x = as_float(images)
    out = [model(x[lo:lo + batch_size].to(device)).float().cpu()
           for lo in range(0, len(x), batch_size)]
    return torch.cat(out) if out else torch.zeros(0)


def accuracy(model: nn.Module, images, labels) -> float:
    """Top-1 accuracy of ``model`` on ``images`` (``N x C x H x W``) against ``labels`` (``N``
    class indices)."""
    pred = logits(model, images).argmax(1).numpy()
    return float((pred == np.asarray(labels)).mean())


@restores_global_rng
def trained(images, labels, *, epochs: int, width: int = 32, seed: int = 0, cache=True,
            name: str = "cnn", device=None, progress: bool = True, **fit_options) -> SmallCNN:
    """A :class:`SmallCNN` trained on ``(images, labels)``, from the cache when it was trained
    before.

    The cache key holds the architecture, the training settings and a hash of the
    images and labels; the file is ``<data root>/cache/models/<name>-<key>.pt``.
    ``model.train_seconds``, ``model.losses`` and ``model.trained_on`` say how it was
    trained, ``model.from_cache`` whether it was read back (:mod:`rdsc.model_cache`).
    """
    torch.manual_seed(seed_number(seed))
    n_classes = int(np.max(np.asarray(labels))) + 1
    model = SmallCNN(n_classes=n_classes, width=width, image_size=int(images.shape[-1]),
                     in_channels=int(images.shape[1]))
    key_text = json.dumps({"version": TRAINING_VERSION, "model": model.config, "epochs": epochs,
                           "seed": seed, "fit": fit_options,
                           "images": images_digest(images),
                           "labels": hashlib.sha256(
                               np.asarray(labels, np.int64).tobytes()).hexdigest()},
                          sort_keys=True)
    device = torch.device(device) if device is not None else default_device()
    return model_cache.cached_or_trained(
        model, f"{name}-{hashlib.sha256(key_text.encode()).hexdigest()[:20]}.pt", cache, device,
        lambda model, device: fit(model, images, labels, epochs=epochs, seed=seed,
                                  device=device, progress=progress, **fit_options))
