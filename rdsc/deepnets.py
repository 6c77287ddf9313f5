"""The deep networks the paper compares with: CIFAR-style VGG16-BN, ResNet18 and DenseNet-BC-40.

Architectures as in the authors' code (``adv_attack/model/`` of xyzacademic/RandomDepthwiseCNN,
itself the common CIFAR versions):

* ``vgg16``: 13 conv3x3-BN-ReLU layers in five stages with max-pooling, then global
  average pooling: a 512-d representation.
* ``resnet18``: a 3x3 stride-1 stem (no max-pool), four stages of two basic blocks
  (64, 128, 256, 512 channels), global average pooling: 512-d.
* ``densenet40``: DenseNet-BC, depth 40, growth 12, reduction 0.5 (three dense blocks of
  six bottleneck layers), final BN-ReLU and global average pooling: 132-d.

Every model takes float images in [0, 1] (``N x 3 x H x W``), normalises them with the
CIFAR-10 channel mean and std (as the authors' transforms did), and returns logits;
``model.embed(x)`` returns the ``N x d`` penultimate representation and ``model.fc`` is
the final layer. Global average pooling makes the models work at any input size.

Two uses:

* **random weights, final layer only** (:func:`random_embeddings`): every weight frozen
  at its initial value (the convolutions random, the batch-norm scales 1 and shifts 0);
  only the running statistics are set, by :func:`recalibrate_batchnorm` on training
  images;
* **trained end to end** (:func:`fit`, :func:`trained`): the authors' recipe (SGD, lr 0.1,
  momentum 0.9, Nesterov, weight decay 1e-4, batch 256, random crop 4 + flip, step
  schedule), for a given number of epochs, cached under ``data/cache/models``.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from rdsc.checks import seed_number
from rdsc.cnn import recalibrate_batchnorm
from rdsc.data import as_float, check_pixels
from rdsc.features import default_device, images_digest
from rdsc import model_cache
from rdsc.progress import progress_bar
from rdsc.rng import restores_global_rng

ARCHS = ("vgg16", "resnet18", "densenet40")
EMBED_DIMS = {"vgg16": 512, "resnet18": 512, "densenet40": 132}
#: the seed every chapter trains these networks with, so that the baselines chapter's model
#: cache serves the others (chapter 6 once trained its own with 2018: other models under the
#: same name)
SHARED_SEED = 0
TRAINING_VERSION = 2  # bump when fit() or an init changes: cached models of older code retrain
# the authors' channel statistics (transforms.Normalize in their cifar10.py)
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.247, 0.243, 0.261)
#: the authors' training run: 300 epochs (their step schedule below)
AUTHORS_EPOCHS = 300

# the authors' step schedule as fractions of the run: lr x0.1 at epoch 150 and 250 of 300
# (VGG, ResNet) or 150 and 225 of 300 (DenseNet)
MILESTONES = {"vgg16": (0.5, 250 / 300), "resnet18": (0.5, 250 / 300), "densenet40": (0.5, 0.75)}


class _Net(nn.Module):
    """Normalisation, a feature body giving ``N x d`` and a linear final layer ``fc``."""

    def __init__(self, embed_dim: int, n_classes: int):
        super().__init__()
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))
        self.embed_dim = embed_dim
        self.fc = nn.Linear(embed_dim, n_classes)

    def body(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``N x 3 x H x W`` floats in [0, 1] -> ``N x d`` penultimate representation."""
        if x.dtype == torch.uint8:
            raise TypeError("deep nets take float images in [0, 1]: use images.float() / 255")
        out = self.body((x - self.mean) / self.std)
        return F.adaptive_avg_pool2d(out, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``N x 3 x H x W`` floats in [0, 1] -> ``N x classes`` logits."""
        return self.fc(self.embed(x))


class VGG16(_Net):
    """VGG16 with batch norm, CIFAR style: 13 conv layers, 5 max-pools, GAP, one linear layer."""

    STAGES = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M")

    def __init__(self, n_classes: int = 10):
        super().__init__(512, n_classes)
        layers, cin = [], 3
        for v in self.STAGES:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v),
                           nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)

    def body(self, x):
        """Normalised ``N x 3 x H x W`` images -> ``N x 512 x h x w`` feature maps."""
        return self.features(x)


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def _authors_init(net: nn.Module) -> None:
    """The authors' ResNet and DenseNet initialisation: Kaiming normal (fan out)
    convolutions, Xavier normal linear layers (biases and batch norm as PyTorch draws them)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
        elif isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)


class ResNet18(_Net):
    """ResNet18, CIFAR style: 3x3 stride-1 stem without max-pool, 4 x 2 basic blocks, GAP.

    Initialised as in the authors' code (:func:`_authors_init`), not by PyTorch's default.
    """

    def __init__(self, n_classes: int = 10):
        super().__init__(512, n_classes)
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [_BasicBlock(cin, cout, stride), _BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*blocks)
        # PyTorch's default (Kaiming uniform, a = sqrt(5)) once stood in for the authors'
        _authors_init(self)

    def body(self, x):
        """Normalised ``N x 3 x H x W`` images -> the last stage's ``N x 512 x h x w`` maps."""
        return self.layers(F.relu(self.bn1(self.conv1(x))))


class _Bottleneck(nn.Module):
    """BN-ReLU-conv1x1 (4 x growth) BN-ReLU-conv3x3 (growth), concatenated to the input."""

    def __init__(self, cin: int, growth: int):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, 4 * growth, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([x, out], 1)


class _Transition(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.bn, self.conv = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet40(_Net):
    """DenseNet-BC, depth 40, growth 12, reduction 0.5: 24 -> 96 -> 48 -> 120 -> 60 -> 132 channels.

    Initialised as in the authors' code: Kaiming normal (fan out) convolutions,
    Xavier normal final layer.
    """

    def __init__(self, n_classes: int = 10, depth: int = 40, growth: int = 12,
                 reduction: float = 0.5):
        n_layers = (depth - 4) // 6  # bottleneck layers per dense block
        channels = 2 * growth
        parts = [nn.Conv2d(3, channels, 3, padding=1, bias=False)]
        for block in range(3):
            parts += [_Bottleneck(channels + i * growth, growth) for i in range(n_layers)]
            channels += n_layers * growth
            if block < 2:
                out = int(math.floor(channels * reduction))
                parts.append(_Transition(channels, out))
                channels = out
        super().__init__(channels, n_classes)
        self.features = nn.Sequential(*parts)
        self.bn = nn.BatchNorm2d(channels)
        _authors_init(self)

    def body(self, x):
        """Normalised ``N x 3 x H x W`` images -> the final BN-ReLU ``N x d x h x w`` maps."""
        return F.relu(self.bn(self.features(x)))


_BUILDERS = {"vgg16": VGG16, "resnet18": ResNet18, "densenet40": DenseNet40}


def build(arch: str, n_classes: int) -> nn.Module:
    """A fresh (randomly initialised) ``arch`` with ``n_classes`` outputs.

    Draws its weights from torch's global generator: call ``torch.manual_seed`` first for
    reproducible weights.
    """
    if arch not in _BUILDERS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    if int(n_classes) < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes!r}")
    return _BUILDERS[arch](int(n_classes))


# --- random weights, final layer only --------------------------------------------------------

def freeze(model: nn.Module, except_final: bool = True) -> nn.Module:
    """Stop gradients to every parameter (batch-norm scale and shift included), except ``fc``'s."""
    for name, p in model.named_parameters():
        p.requires_grad_(except_final and name.startswith("fc."))
    return model


@torch.no_grad()
def embed(model: nn.Module, images, batch_size: int = 256) -> np.ndarray:
    """``N x d`` float32 penultimate representation of ``images`` (uint8 or [0, 1] floats)."""
    model.eval()
    device = next(model.parameters()).device
    images = torch.as_tensor(images)
    check_pixels(images)  # once: the batches below are converted one at a time
    out = [model.embed(as_float(images[lo:lo + batch_size]).to(device)).float().cpu()
           for lo in range(0, len(images), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, model.embed_dim), np.float32)


@restores_global_rng
def random_embeddings(arch: str, calibration_images, image_sets, *, seed: int, n_classes: int = 10,
                      batch_size: int = 256, device=None) -> list[np.ndarray]:
    """The representations of a frozen random-weight ``arch`` for each of ``image_sets``.

    Weights drawn with ``seed``; batch-norm statistics recalibrated on
    ``calibration_images`` (training images), then every set embedded in eval mode.
    Returns one ``N_i x d`` float32 array per set.
    """
    device = torch.device(device) if device is not None else default_device()
    torch.manual_seed(seed_number(seed))
    model = freeze(build(arch, n_classes)).to(device)
    recalibrate_batchnorm(model, calibration_images, batch_size)
    return [embed(model, images, batch_size) for images in image_sets]


# --- trained end to end ----------------------------------------------------------------------

def augment(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Per image: a random ``pad``-pixel shift (zero padding, RandomCrop) and a horizontal flip."""
    n, c, h, w = x.shape
    flip = (torch.rand(n, generator=gen) < 0.5).to(x.device)
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    padded = F.pad(x, (pad, pad, pad, pad))
    dy, dx = (torch.randint(0, 2 * pad + 1, (2, n), generator=gen)).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    return padded[torch.arange(n, device=x.device)[:, None, None, None],
                  torch.arange(c, device=x.device)[None, :, None, None], rows, cols]


def fit(model: nn.Module, images, labels, *, epochs: int, batch_size: int = 256, lr: float = 0.1,
        momentum: float = 0.9, weight_decay: float = 1e-4, milestones=(0.5, 250 / 300),
        augment_images: bool = True, seed: int = 0, device=None,
        progress: bool = True) -> list[float]:
    """Train ``model`` end to end with the authors' recipe; returns each epoch's mean loss.
    ``images``: ``N x 3 x H x W`` uint8 (or floats in [0, 1]); ``labels``: ``N`` classes.

    SGD with Nesterov momentum; the learning rate is multiplied by 0.1 after each
    fraction of ``epochs`` in ``milestones``. Batch-norm statistics are recalibrated
    at the end (a short run leaves the running averages lagging the weights). The
    model is left in eval mode on ``device``. On CUDA the forward pass runs in bfloat16.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs}, {batch_size}")
    images = torch.as_tensor(images)
    check_pixels(images)  # once: the batches below are converted one at a time
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if len(images) != len(y):
        raise ValueError(f"{len(images)} images but {len(y)} labels")
    device = torch.device(device) if device is not None else default_device()
    gen = torch.Generator().manual_seed(seed_number(seed))
    model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                          weight_decay=weight_decay, nesterov=True)
    steps_per_epoch = -(-len(images) // batch_size)
    bounds = sorted(round(f * epochs) for f in milestones)
    losses = []
    bar = progress_bar(epochs * steps_per_epoch, "training", unit="batch", enabled=progress)
    use_bf16 = device.type == "cuda"
    for epoch in range(epochs):
        for group in opt.param_groups:
            group["lr"] = lr * 0.1 ** sum(epoch >= b for b in bounds)
        order, total = torch.randperm(len(images), generator=gen), 0.0
        for lo in range(0, len(images), batch_size):
            idx = order[lo:lo + batch_size]
            xb = as_float(images[idx].to(device))
            if augment_images:
                xb = augment(xb, gen)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                loss = F.cross_entropy(model(xb), y[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            bar.update(1)
        losses.append(total / len(images))
    bar.close()
    calib = images[torch.randperm(len(images), generator=gen)[:10_000]]
    recalibrate_batchnorm(model, calib, batch_size, device)
    return losses


def _labels_digest(labels) -> str:
    return hashlib.sha256(np.asarray(labels, np.int64).tobytes()).hexdigest()


def cache_path(arch: str, images, labels, *, epochs: int, seed: int = 0, cache=True,
               **opts) -> Path:
    """Where :func:`trained` writes this model: ``<cache>/<arch>-<key>.pt``
    (:func:`model_file`; a copy already in a read-only data root is read from there)."""
    return model_cache.folder(cache) / model_file(arch, images, labels, epochs=epochs,
                                                  seed=seed, **opts)


def model_file(arch: str, images, labels, *, epochs: int, seed: int = 0, **opts) -> str:
    """This model's cache file name, ``<arch>-<key>.pt``. The key holds the architecture,
    classes, epochs, seed, options, the training code's version and hashes of the images
    and labels; not the device."""
    n_classes = int(np.max(np.asarray(labels))) + 1
    key_text = json.dumps({"version": TRAINING_VERSION, "arch": arch, "n_classes": n_classes,
                           "epochs": epochs, "seed": seed, "opts": opts,
                           "images": images_digest(images), "labels": _labels_digest(labels)},
                          sort_keys=True, default=str)
    return f"{arch}-{hashlib.sha256(key_text.encode()).hexdigest()[:20]}.pt"


@restores_global_rng
def trained(arch: str, images, labels, *, epochs: int, seed: int = 0, cache=True, device=None,
            progress: bool = True, **opts) -> nn.Module:
    """``arch`` trained end to end on ``(images, labels)`` (:func:`fit`), from the cache if there.

    ``images``: ``N x 3 x H x W`` uint8 or floats in [0, 1]; ``labels``: ``N`` ints.
    ``opts`` go to :func:`fit` (``batch_size``, ``lr``, ``milestones``...; default
    milestones: the authors' for ``arch``). ``cache``: True (``data/cache/models``),
    a folder, or False. Returns the model in eval mode on ``device``, with
    ``.losses``, ``.train_seconds``, ``.epochs``, ``.trained_on`` and ``.from_cache``
    (:mod:`rdsc.model_cache`).
    """
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    opts.setdefault("milestones", MILESTONES[arch])
    opts["milestones"] = tuple(opts["milestones"])
    device = torch.device(device) if device is not None else default_device()
    n_classes = int(np.max(np.asarray(labels))) + 1
    torch.manual_seed(seed_number(seed))
    model = build(arch, n_classes)
    model.epochs = epochs
    return model_cache.cached_or_trained(
        model, model_file(arch, images, labels, epochs=epochs, seed=seed, **opts), cache, device,
        lambda model, device: fit(model, images, labels, epochs=epochs, seed=seed,
                                  device=device, progress=progress, **opts))
