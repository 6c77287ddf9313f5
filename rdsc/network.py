"""The random depthwise signed convolutional network (Xue & Roshan, v3 settings).

Feature ``i`` of the network is one small random block applied to the image::

    sign(conv_KxK(x; w1_i, b1_i))                      # 3 -> 1 channel, padding 1
    L times: avgpool 2x2 -> sign(dwconv_KxK) -> sign(dwconv_KxK)  # 1 -> 1, 'same' padding
    global average pooling                             # one number in [-1, 1]

Stacking ``k`` such blocks is exactly one network whose first layer is an
ordinary convolution with ``k`` output channels and whose later layers are
depthwise (``groups=k``): channel ``i`` only ever sees filter ``i``.
:class:`RandomDepthwiseSignNet` is that network, written layer by layer as the
authors did (the plain reference; :func:`rdsc.features.extract` is the fast
engine), and :class:`IndependentBlocks` is the literal ``k``-block form.

Nothing is trained: every weight and bias is drawn once from a seeded generator.
"""
from __future__ import annotations

import contextlib
import hashlib
import math

import torch
import torch.nn.functional as F
from torch import nn

from rdsc.checks import whole_number
from rdsc.paper import PAPER_SEED

#: The paper's kernel size K and number of blocks L per dataset (the table of settings in the
#: paper's v3 and the authors' code).
PRESETS: dict[str, dict] = {
    "cifar10": {"kernel_size": 5, "n_blocks": 1},
    "cifar100": {"kernel_size": 5, "n_blocks": 1},
    "stl10": {"kernel_size": 3, "n_blocks": 3},
    "miniimagenet10": {"kernel_size": 5, "n_blocks": 2},
    "corel": {"kernel_size": 3, "n_blocks": 2},
    # 28 -> 26 -> 13 -> GAP, one channel
    "mnist": {"kernel_size": 5, "n_blocks": 1, "in_channels": 1},
}

INITS = ("normal", "uniform", "rademacher")
_SEED_BLOCK = 1024  # weights are drawn in blocks of this many channels (see _draw_weights)


@contextlib.contextmanager
def exact_float32():
    """Float32 convolutions and products without TF32 on CUDA.

    PyTorch lets cuDNN round convolution inputs to TF32 (10-bit mantissa) by default;
    that moves pre-activations across zero and changes many features. Signs need
    full float32 (IEEE) arithmetic, and bf16 products summed in float32.
    """
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    new_api = hasattr(getattr(cudnn, "conv", None), "fp32_precision")  # torch >= 2.9
    saved = (matmul.allow_bf16_reduced_precision_reduction,
             (cudnn.conv.fp32_precision, matmul.fp32_precision) if new_api
             else (cudnn.allow_tf32, matmul.allow_tf32))
    matmul.allow_bf16_reduced_precision_reduction = False
    if new_api:
        cudnn.conv.fp32_precision, matmul.fp32_precision = "ieee", "ieee"
    else:
        cudnn.allow_tf32, matmul.allow_tf32 = False, False
    try:
        yield
    finally:
        matmul.allow_bf16_reduced_precision_reduction = saved[0]
        if new_api:
            cudnn.conv.fp32_precision, matmul.fp32_precision = saved[1]
        else:
            cudnn.allow_tf32, matmul.allow_tf32 = saved[1]


def _is_int(value) -> bool:
    """True for ints (numpy's too) and floats with no fraction; False for 2.5, "10", True."""
    if isinstance(value, bool):
        return False
    try:
        return int(value) == value
    except (TypeError, ValueError):
        return False


def _draw(gen: torch.Generator, shape, init: str) -> torch.Tensor:
    if init == "normal":
        return torch.randn(shape, generator=gen)
    if init == "uniform":
        return torch.rand(shape, generator=gen) * 2 - 1
    return torch.randint(0, 2, shape, generator=gen).float() * 2 - 1  # rademacher


def _draw_weights(n_features, in_channels, kernel_size, n_blocks, seed, init):
    """All weights, drawn on the CPU so every device gets the same numbers.

    Channels are drawn in blocks of 1024 from generators seeded by (seed, block),
    so the first k' channels of a k-feature network are the k'-feature network.
    """
    K, parts = kernel_size, []
    for start in range(0, n_features, _SEED_BLOCK):
        digest = hashlib.sha256(f"rdsc:{seed}:{start // _SEED_BLOCK}".encode()).digest()
        gen = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))
        block = [_draw(gen, (_SEED_BLOCK, in_channels, K, K), init),
                 _draw(gen, (_SEED_BLOCK,), init)]
        for _ in range(n_blocks):
            for _ in range(2):
                block += [_draw(gen, (_SEED_BLOCK, 1, K, K), init),
                          _draw(gen, (_SEED_BLOCK,), init)]
        parts.append(block)
    return [torch.cat(ts)[:n_features].contiguous() for ts in zip(*parts)]


def weights_bytes(n_features: int, in_channels: int, kernel_size: int, n_blocks: int) -> int:
    """Bytes of a network's float32 weights and biases: 512 a feature at the paper's CIFAR
    settings (C = 3, K = 5, L = 1: 75 + 1 first-layer numbers and 2 x 26 depthwise ones)."""
    K = kernel_size
    per_feature = in_channels * K * K + 1 + 2 * n_blocks * (K * K + 1)
    return 4 * per_feature * n_features


def _check_weights_fit(n_features, in_channels, kernel_size, n_blocks) -> None:
    """Refuse a network whose weights cannot be drawn in the memory free now (e.g.
    k = 10**9 needs 512 GB, and once died by the out-of-memory killer with no message).
    Drawing holds the blocks and their concatenation: twice the weights."""
    need = 2 * weights_bytes(n_features, in_channels, kernel_size, n_blocks)
    if need < 2**30:
        return  # never the problem: skip asking the system
    try:
        import psutil
        free = psutil.virtual_memory().available
    except (ImportError, OSError):
        return
    if need > free:
        raise MemoryError(f"k = {n_features:,} features need {need / 2**30:,.1f} GiB to draw "
                          f"their weights, and {free / 2**30:,.1f} GiB of memory is free: "
                          "use fewer features (the paper's largest is 100,000)")


def weights_digest(net: nn.Module) -> str:
    """A hash of every buffer of ``net`` (names and float32 values, on the CPU: neither its
    device nor a ``.double()`` changes it). Differs from ``net.drawn_digest`` when the
    weights were loaded (``load_state_dict``) or edited in place after they were drawn."""
    h = hashlib.sha256()
    for name, buffer in sorted(net.named_buffers()):
        h.update(name.encode())
        h.update(buffer.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside rdsc and ``torch.nn``: the user's line
    (a network is called through ``Module.__call__``, whose depth differs between torch
    versions; ``extract`` through several of rdsc's own functions)."""
    import os
    import sys
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(2), 2  # the caller of check_pixel_range
    while frame is not None:
        name = os.path.abspath(frame.f_code.co_filename)
        if not (name.startswith(package) or f"{os.sep}torch{os.sep}nn{os.sep}" in name):
            break
        frame, level = frame.f_back, level + 1
    return level


def check_pixel_range(images: torch.Tensor, stacklevel: int | None = None) -> None:
    """Refuse 0..255 pixels given as floats (whole numbers above 1: features of images 255
    times too bright, a different network's); warn for other floats outside [0, 1]
    (normalised images, say), on which the network is computed as given, and for floats
    all below 2/255 (pixels divided by 255 twice). ``stacklevel`` counts from this function
    to the caller the warning should name (default: the first caller outside this module
    and torch's ``nn.Module`` machinery)."""
    import warnings
    if not images.numel():
        return
    images = images.detach()  # attacks pass images that require grad
    lo, hi = float(images.min()), float(images.max())
    if (lo >= 0 and hi <= 1 and not hi < 2 / 255) or not (math.isfinite(lo)
                                                          and math.isfinite(hi)):
        return  # the usual case, called on every forward pass: no frames walked
    if stacklevel is None:
        stacklevel = _caller_level()
    if lo >= 0 and 0 < hi < 2 / 255 and images.numel() > 1000:
        # x / 255 / 255 (a ToTensor() followed by / 255): the features of near-black
        # images, and the first layer's bias makes scale matter
        warnings.warn(f"float images are all below 2/255 (largest {hi:.2g}): divided by 255 "
                      "twice? The network takes pixels in [0, 1]", stacklevel=stacklevel)
    if (lo >= 0 and hi <= 1) or not (math.isfinite(lo) and math.isfinite(hi)):
        return  # NaN and infinities: refused by the network's input check
    if lo >= 0 and hi <= 255 and torch.equal(images, images.round()):
        raise ValueError(f"float images hold whole numbers from {lo:g} to {hi:g}: 0..255 "
                         "pixels given as floats? The network takes pixels in [0, 1]: pass "
                         "the uint8 images, or divide by 255")
    # resized (interpolated) 0..255 images are not whole numbers; the warning
    # did not say what to do
    hint = (": 0..255 pixels given as floats? Divide them by 255" if lo >= 0 and hi > 2
            else "")
    warnings.warn(f"float images range from {lo:g} to {hi:g}, not [0, 1] as in the paper"
                  f"{hint}; computing the network on the values as given",
                  stacklevel=stacklevel)


class RandomDepthwiseSignNet(nn.Module):
    """Random depthwise signed network: float images ``N x C x H x W`` in [0, 1] -> ``N x k``.

    Args:
        n_features: k, the number of random blocks (output features).
        kernel_size: K of every convolution.
        n_blocks: L, the number of (avg-pool, dwconv, sign, dwconv, sign) blocks.
        in_channels: C of the input images.
        seed: seeds all weights; the same seed gives the same weights everywhere.
        first_padding: zero padding of the first convolution (the authors: 1, even for K=5).
        padding: zero padding of the depthwise convolutions (default ``(K-1)//2``, 'same').
        init: weight and bias distribution: ``normal`` N(0,1) (the paper), ``uniform``
            U(-1,1), or ``rademacher`` (+-1). With ``rademacher`` on integer pixels some
            first-layer pre-activations are exactly 0; this module's float forward (on
            pixels / 255) turns them into tiny nonzero values of either sign, so its
            features then differ from the exact ones at those ties, while
            :func:`rdsc.features.extract`, which works in pixel units, gets them right.

    Each output feature is a mean of signs over the last ``h x w`` map, so it is an
    exact multiple of ``1/(h*w)`` in [-1, 1] (see :meth:`output_map_size`).
    """

    def __init__(self, n_features: int, kernel_size: int = 5, n_blocks: int = 1,
                 in_channels: int = 3, seed: int = PAPER_SEED, first_padding: int = 1,
                 padding: int | None = None, init: str = "normal"):
        super().__init__()
        for name, value, least in (("n_features", n_features, 1), ("kernel_size", kernel_size, 1),
                                   ("n_blocks", n_blocks, 0), ("in_channels", in_channels, 1)):
            if not _is_int(value) or value < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
        # int() would truncate 1.9 to 1 and parse "7": a float sweep would repeat networks
        if not _is_int(seed):
            raise ValueError(f"seed must be an integer, got {seed!r} (the weights are drawn "
                             "from it: the same integer seed gives the same network)")
        if not _is_int(first_padding) or first_padding < 0:
            raise ValueError(f"first_padding must be an integer >= 0, got {first_padding!r}")
        if padding is not None and (not _is_int(padding) or padding < 0):
            raise ValueError(f"padding must be an integer >= 0 or None ('same'), got {padding!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        self.n_features, self.kernel_size, self.n_blocks = (int(n_features), int(kernel_size),
                                                            int(n_blocks))
        self.in_channels, self.seed, self.init = int(in_channels), int(seed), init
        self.first_padding = int(first_padding)
        self.padding = (self.kernel_size - 1) // 2 if padding is None else int(padding)
        _check_weights_fit(self.n_features, self.in_channels, self.kernel_size, self.n_blocks)
        weights = _draw_weights(self.n_features, self.in_channels, self.kernel_size,
                                self.n_blocks, self.seed, init)
        # buffers, not parameters: nothing here is ever trained
        self.register_buffer("conv_weight", weights[0])
        self.register_buffer("conv_bias", weights[1])
        for i, w in enumerate(weights[2:]):
            kind = "weight" if i % 2 == 0 else "bias"
            self.register_buffer(f"dw{i // 2}_{kind}", w)
        # the drawn weights' digest: a cache key adds the weights only when they were
        # loaded or edited since (see weights_digest)
        self.drawn_digest = weights_digest(self)

    @classmethod
    def for_dataset(cls, dataset: str, n_features: int, **options) -> "RandomDepthwiseSignNet":
        """The paper's network for ``dataset`` (a key of :data:`PRESETS`)."""
        if dataset not in PRESETS:
            raise ValueError(f"no preset for {dataset!r}; presets exist for {', '.join(PRESETS)}")
        return cls(n_features, **{**PRESETS[dataset], **options})

    @property
    def config(self) -> dict:
        """Everything that determines the weights and the computation (cache keys use it)."""
        return {"n_features": self.n_features, "kernel_size": self.kernel_size,
                "n_blocks": self.n_blocks, "in_channels": self.in_channels, "seed": self.seed,
                "first_padding": self.first_padding, "padding": self.padding, "init": self.init}

    def depthwise_layers(self):
        """``[(weight k x 1 x K x K, bias k), ...]``: 2 per block, in order."""
        return [(getattr(self, f"dw{i}_weight"), getattr(self, f"dw{i}_bias"))
                for i in range(2 * self.n_blocks)]

    def map_sizes(self, height: int, width: int) -> list[tuple[int, int]]:
        """Spatial size of the input, after the first conv, and after each block."""
        K, sizes = self.kernel_size, [(height, width)]
        h, w = height + 2 * self.first_padding - K + 1, width + 2 * self.first_padding - K + 1
        sizes.append((h, w))
        for _ in range(self.n_blocks):
            h, w = h // 2, w // 2
            h, w = h + 2 * self.padding - K + 1, w + 2 * self.padding - K + 1
            h, w = h + 2 * self.padding - K + 1, w + 2 * self.padding - K + 1
            sizes.append((h, w))
        return sizes

    def output_map_size(self, height: int, width: int) -> tuple[int, int]:
        """Size ``(h, w)`` of the map that global average pooling averages."""
        return self.map_sizes(height, width)[-1]

    def check_input(self, x, allow_uint8: bool = False, shape: tuple | None = None) -> None:
        """Raise a clear error for input the network cannot take. ``shape``: the shape to
        name in errors when ``x`` is a sample of the caller's images (default ``x.shape``)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor of images, got {type(x).__name__}")
        shape = tuple(x.shape) if shape is None else tuple(shape)
        if len(shape) != 4:
            hint = (": one image? use x.unsqueeze(0)"
                    if len(shape) == 3 and self.in_channels in (shape[0], shape[-1]) else "")
            raise ValueError(f"expected images N x C x H x W, got shape {shape}{hint}")
        if shape[1] != self.in_channels:
            hint = (" (channels last? use x.permute(0, 3, 1, 2))"
                    if shape[-1] == self.in_channels else "")
            raise ValueError(f"expected {self.in_channels} channels, got {shape[1]} in shape "
                             f"{shape}{hint}")
        if x.dtype == torch.uint8 and not allow_uint8:
            raise TypeError("got uint8 images; the network expects floats in [0, 1]: "
                            "use images.float() / 255 (rdsc.features.extract takes uint8 directly)")
        if x.dtype != torch.uint8 and not x.is_floating_point():
            raise TypeError(f"expected float images in [0, 1], got dtype {x.dtype}"
                            + (" (uint8 pixels 0..255 are taken too: x.to(torch.uint8))"
                               if allow_uint8 else ""))
        sizes = self.map_sizes(shape[2], shape[3])
        if any(h < 1 or w < 1 for h, w in sizes[1:]) or any(h < 2 or w < 2 for h, w in sizes[1:-1]):
            raise ValueError(
                f"images of {shape[2]}x{shape[3]} are too small for K={self.kernel_size}, "
                f"L={self.n_blocks} (map sizes {sizes}); use at least {self.min_input_size()} "
                "pixels a side")
        if x.is_floating_point() and not torch.isfinite(x).all():
            raise ValueError("images contain NaN or infinite values")

    def receptive_field(self) -> int:
        """Side, in input pixels, of the window that one position of the last map depends on."""
        field, jump = self.kernel_size, 1  # after the first convolution
        for _ in range(self.n_blocks):
            field, jump = field + jump, jump * 2          # 2x2 pool, stride 2
            field += 2 * (self.kernel_size - 1) * jump    # two K x K convolutions
        return field

    def min_input_size(self) -> int:
        """The smallest square input whose maps all stay at least 1 pixel (2 before a pool)."""
        side = 1
        while True:
            sizes = self.map_sizes(side, side)
            if all(h >= 1 for h, _ in sizes[1:]) and all(h >= 2 for h, _ in sizes[1:-1]):
                return side
            side += 1

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The maps after the first layer and after each depthwise layer (each
        ``N x k x h x w``)."""
        self.check_input(x)
        if x.dtype != self.conv_weight.dtype:
            # float64 or float16 images once met torch's "Input type (double) and bias
            # type (float) should be the same"
            raise TypeError(f"images are {x.dtype} but the network's weights are "
                            f"{self.conv_weight.dtype}: pass x.to({self.conv_weight.dtype}) "
                            "(rdsc.features.extract takes any float or uint8 images)")
        # 0..255 floats and normalised images once went through here in silence,
        # though extract refuses or warns on them
        check_pixel_range(x)
        with exact_float32():
            maps = [torch.sign(F.conv2d(x, self.conv_weight, self.conv_bias,
                                        padding=self.first_padding))]
            h = maps[0]
            for i, (w, b) in enumerate(self.depthwise_layers()):
                if i % 2 == 0:
                    h = F.avg_pool2d(h, 2)
                h = torch.sign(F.conv2d(h, w, b, padding=self.padding, groups=self.n_features))
                maps.append(h)
        return maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``N x C x H x W`` floats in [0, 1] -> ``N x k`` features in [-1, 1]."""
        return self.feature_maps(x)[-1].mean(dim=(2, 3))

    def extra_repr(self) -> str:
        """The network's settings, for ``repr``."""
        return ", ".join(f"{k}={v}" for k, v in self.config.items())


#: bytes of maps one step of :func:`layer_by_layer_features` may hold
LAYER_BY_LAYER_BYTES = 2**29


@torch.no_grad()
def layer_by_layer_features(net: RandomDepthwiseSignNet, images: torch.Tensor,
                            dtype: torch.dtype = torch.float32, device=None,
                            batch_size: int = 32, channel_chunk: int | None = None):
    """The plain network's features of uint8 ``images`` (``N x C x H x W``), computed in
    ``dtype`` on ``device`` in batches of ``batch_size`` images and chunks of
    ``channel_chunk`` channels (default: as many as keep one step's maps near
    :data:`LAYER_BY_LAYER_BYTES`): the ``k x h x w`` maps of every layer, which the network
    keeps, took 12 GB for 32 CIFAR images at k = 100,000. Channels never
    interact, so a chunk is the network restricted to its channels. ``net`` itself is
    left on its device and dtype.

    Returns ``N x k`` float32 numpy, the dtype :func:`rdsc.features.extract` returns, so the
    two compare exactly (float64 results are rounded to float32 once, at the end).
    """
    import numpy as np
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
        raise TypeError("layer_by_layer_features takes uint8 images (0..255), as "
                        "rdsc.data.load returns them; got "
                        f"{getattr(images, 'dtype', type(images).__name__)}")
    batch_size = whole_number("batch_size", batch_size)
    if channel_chunk is None:
        h, w = net.map_sizes(*images.shape[-2:])[1]
        # the maps the network keeps (1 + 2L) and about two more in flight
        per_channel = batch_size * h * w * torch.finfo(dtype).bits // 8 * (2 * net.n_blocks + 3)
        channel_chunk = max(1, LAYER_BY_LAYER_BYTES // per_channel)
    channel_chunk = whole_number("channel_chunk", channel_chunk)
    device = torch.device(device) if device is not None else net.conv_weight.device
    chunks = [_channels(net, lo, min(lo + channel_chunk, net.n_features))
              .to(device=device, dtype=dtype)
              for lo in range(0, net.n_features, channel_chunk)]
    parts = [torch.cat([chunk(b.to(device).to(dtype) / 255) for chunk in chunks], dim=1)
             .float().cpu().numpy() for b in images.split(batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, net.n_features), np.float32)


def _channels(net: RandomDepthwiseSignNet, start: int, stop: int) -> RandomDepthwiseSignNet:
    """A copy of ``net`` computing its features ``start`` to ``stop - 1`` alone (copies of
    those channels' weights; its ``drawn_digest`` stays the whole network's, so a cache key
    never takes it for a network drawn with ``stop - start`` features)."""
    import copy
    part = copy.copy(net)
    part._buffers = {name: b[start:stop].clone() for name, b in net._buffers.items()}
    part.n_features = stop - start
    return part


class RandomSignBlock(nn.Module):
    """One feature, written on its own: a 1-channel random block ending in global average
    pooling."""

    def __init__(self, conv_weight, conv_bias, depthwise, first_padding: int, padding: int):
        super().__init__()
        self.register_buffer("conv_weight", conv_weight)  # 1 x C x K x K
        self.register_buffer("conv_bias", conv_bias)      # 1
        # buffers, not a plain list, so that .to(device) moves them with the block
        self.n_depthwise = len(depthwise)
        for i, (w, b) in enumerate(depthwise):            # 1 x 1 x K x K, 1
            self.register_buffer(f"dw_weight{i}", w)
            self.register_buffer(f"dw_bias{i}", b)
        self.first_padding, self.padding = first_padding, padding

    @property
    def depthwise(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The depthwise layers' ``(weight, bias)`` pairs: ``1 x 1 x K x K`` and ``1``."""
        return [(getattr(self, f"dw_weight{i}"), getattr(self, f"dw_bias{i}"))
                for i in range(self.n_depthwise)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``N x C x H x W`` -> ``N``."""
        with exact_float32():
            h = torch.sign(F.conv2d(x, self.conv_weight, self.conv_bias,
                                    padding=self.first_padding))
            for i, (w, b) in enumerate(self.depthwise):
                if i % 2 == 0:
                    h = F.avg_pool2d(h, 2)
                h = torch.sign(F.conv2d(h, w, b, padding=self.padding))
        return h.mean(dim=(1, 2, 3))


class IndependentBlocks(nn.Module):
    """The literal formulation: ``k`` independent :class:`RandomSignBlock` with ``net``'s
    weights."""

    def __init__(self, net: RandomDepthwiseSignNet):
        super().__init__()
        self.net = net
        self.blocks = nn.ModuleList(self.block(i) for i in range(net.n_features))

    def block(self, i: int) -> RandomSignBlock:
        """Feature ``i`` of the network as its own :class:`RandomSignBlock` (weights copied)."""
        net = self.net
        depthwise = [(w[i:i + 1].clone(), b[i:i + 1].clone()) for w, b in net.depthwise_layers()]
        return RandomSignBlock(net.conv_weight[i:i + 1].clone(), net.conv_bias[i:i + 1].clone(),
                               depthwise, net.first_padding, net.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``N x C x H x W`` -> ``N x k``, one block at a time."""
        self.net.check_input(x)
        check_pixel_range(x)
        return torch.stack([blk(x) for blk in self.blocks], dim=1)


def neighbour_agreement(sign_map: torch.Tensor) -> tuple[float, float]:
    """How often a position of a sign map (``N x k x h x w``, values -1, 0, +1) has the
    sign of its right-hand neighbour, and how often it would if the positions of each
    map (one image, one channel) were shuffled: the sum over signs of each map's share
    squared, averaged over the neighbour pairs. Maps mostly of one sign agree often by
    their shares alone (once 87% for a first layer), so coin flips (50%) are
    no baseline for the maps' spatial coherence."""
    if sign_map.ndim != 4 or sign_map.shape[-1] < 2:
        raise ValueError(f"need N x k x h x w sign maps at least 2 wide, got shape "
                         f"{tuple(sign_map.shape)}")
    m = sign_map.double()
    observed = float((m[..., 1:] == m[..., :-1]).double().mean())
    shares = torch.stack([(m == s).double().mean(dim=(-2, -1)) for s in (-1.0, 0.0, 1.0)])
    shuffled = float((shares ** 2).sum(0).mean())
    return observed, shuffled

