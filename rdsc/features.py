"""The feature engine: a dataset through the random network, fast, streamed and cached.

:func:`extract` computes the same features as ``RandomDepthwiseSignNet.forward``
but differently:

* **Images in batches, channels in chunks.** Channels never interact, so a chunk
  of ``c`` channels runs through every layer while its maps are small enough to
  stay in cache; k = 100,000 never needs all maps at once.
* **First layer as one GEMM.** Image patches (``unfold``) times the filter matrix,
  with the bias as an extra column, channels last, so the depthwise layers that
  follow run on a channels-last map (fast on CPU and GPU).
* **Exact signs for 8-bit images.** Only the sign of a first-layer pre-activation
  matters. On CPUs without bf16 matrix units the GEMM runs once in float32 on the pixel
  values 0..255, with every weight column divided by a bound on that GEMM's rounding
  error: an output of magnitude 1 or more has its sign decided; the rare ones below 1
  (about 1 in 10,000 on CIFAR-10 images) are recomputed in float64, where 8-bit pixels
  times float32 weights are exact products. Devices with bf16 matrix units (GPUs, AMX
  CPUs) split each float32 weight into three bfloat16 parts (hi + mid + lo) instead: exact
  products, float32 sums, several times float32's speed there. Both agree with the float32 network
  except at sign ties (pre-activations within rounding of zero).
* **Exact compact storage.** A feature is a mean of signs over an ``h x w`` map,
  i.e. ``count / (h*w)`` with an integer count; the engine stores the counts as
  int16 and :class:`FeatureArray` divides on read.

With ``cache``, results go to an ``.npy`` file keyed by the network's
configuration and a hash of the images; rows are written as they are computed
and recorded in a small progress file, so a killed run resumes where it stopped.

Images are a tensor or array ``N x C x H x W``, or a stream of batches
(:mod:`rdsc.streaming`: an image folder decoded in worker processes, a ``Dataset``, a
``DataLoader``) for datasets larger than memory; a stream is cached under its
``fingerprint`` and a resumed run asks it only for the images still missing.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rdsc import fused, npy_files, streaming
from rdsc.network import RandomDepthwiseSignNet, _is_int, check_pixel_range, exact_float32
from rdsc.paths import cache_dir, cache_dirs_to_read
from rdsc.progress import progress_bar

#: in every feature cache's key: bump it with any fix that changes a computed count, so that
#: caches written before it are ignored. 2: four fixes up to 2026-12-01 changed
#: counts in some cases (the fused kernels' shared buffers, edited weights, the K = 9 sign
#: check, exact signs on every CPU) and left it at 1, so older caches could serve them.
ENGINE_VERSION = 2
PRECISIONS = ("float32", "bfloat16")


class FeatureArray:
    """An ``N x k`` feature matrix stored as integer counts; indexing returns float32.

    ``counts`` holds ``round(feature * h * w)`` (int16 or int32, possibly a
    read-only memory map); ``feats[rows]`` or ``feats[rows, cols]`` returns
    ``counts[...] / (h*w)`` as float32, so large matrices are read in blocks.
    """

    def __init__(self, counts: np.ndarray, denominator: int):
        if isinstance(denominator, bool) or int(denominator) != denominator or denominator < 1:
            # 0 gave infinite features without a word
            raise ValueError(f"denominator (output positions per image) must be a whole "
                             f"number of at least 1, got {denominator!r}")
        self.counts, self.denominator = counts, int(denominator)

    @property
    def shape(self):
        """``N x k``: the counts' shape."""
        return self.counts.shape

    def __len__(self):
        return self.counts.shape[0]

    def __getitem__(self, index) -> np.ndarray:
        return np.asarray(self.counts[index], dtype=np.float32) / np.float32(self.denominator)

    def columns(self, k: int) -> "FeatureArray":
        """The first ``k`` features (a view): the features of the same network with ``k`` blocks."""
        if isinstance(k, bool) or int(k) != k or not 1 <= k <= self.shape[1]:
            raise ValueError(f"k must be an integer from 1 to {self.shape[1]} (the features "
                             f"extracted), got {k!r}: extract with a larger network for more")
        return FeatureArray(self.counts[:, :int(k)], self.denominator)

    def __array__(self, dtype=None, copy=None):
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def __repr__(self):
        return f"FeatureArray(shape={self.shape}, denominator={self.denominator})"


# --- computing features ---------------------------------------------------------------------

def as_matrix(x, name: str = "features") -> np.ndarray:
    """``N x d`` rows (an array, a tensor or a :class:`FeatureArray`, read as floats) as a
    float32 array, refused when empty, not 2-D, or holding NaN or infinities."""
    if isinstance(x, FeatureArray) or (hasattr(x, "counts") and hasattr(x, "denominator")):
        x = x[:]  # a FeatureArray, or a reader of its files: counts read as floats
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    original = np.asarray(x)
    x = original.astype(np.float32, copy=False)
    if x.ndim != 2 or len(x) == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty N x d matrix, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if original.dtype.itemsize > 4 or original.dtype in (np.int32, np.uint32):
        _warn_if_float32_erases(original, x, name)
    return x


def _warn_if_float32_erases(original: np.ndarray, cast: np.ndarray, name: str) -> None:
    """Warn where float32 rounding moves the rows by 1% or more of their spread (once,
    float64 features offset by 1e6 with a spread of 1e-2 ranked near chance, without a
    word). Rounding and spread (max - min) are taken per column, in row blocks, and
    compared over all columns together: a constant column such as 0.1 or 17/255, which
    float32 cannot hold exactly, moves no distance (it once warned anyway)."""
    worst = np.zeros(original.shape[1])
    low, high = np.full(original.shape[1], np.inf), np.full(original.shape[1], -np.inf)
    for lo in range(0, len(original), 4096):
        block = original[lo:lo + 4096]
        error = np.abs(cast[lo:lo + 4096].astype(np.float64) - block)
        worst = np.maximum(worst, error.max(0))
        low, high = np.minimum(low, block.min(0)), np.maximum(high, block.max(0))
    spread = (high - low).astype(np.float64)
    if np.sqrt((worst ** 2).sum()) > 0.01 * np.sqrt((spread ** 2).sum()):
        import warnings
        warnings.warn(f"{name}: float32, the precision these computations use, rounds these "
                      "values by 1% of their spread or more (large values that vary little): "
                      "centre them (subtract each column's mean) before passing them",
                      stacklevel=3)


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_device(device) -> torch.device:
    """``device`` (``None``/``"auto"``: :func:`default_device`; ``"cpu"``, ``"cuda"``,
    ``"cuda:N"`` or a ``torch.device``) as a ``torch.device``, or a ``ValueError`` that says
    what to pass (``"gpu"`` once gave torch's list of 20 device types, ``"cuda"``
    without a GPU its driver message)."""
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        return default_device()
    try:
        dev = torch.device(device.strip().lower() if isinstance(device, str) else device)
    except (RuntimeError, TypeError, ValueError):
        hint = " ('cuda' is the GPU)" if str(device).lower().startswith("gpu") else ""
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got "
                         f"{device!r}{hint}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for, but torch sees no CUDA GPU "
                             "here: pass device='cpu' (or 'auto', which takes a GPU when "
                             "there is one)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: torch sees {torch.cuda.device_count()} "
                             "CUDA GPU(s) here, numbered from 0")
    elif dev.type != "cpu":
        raise ValueError(f"device {device!r}: rdsc runs on 'cpu' or 'cuda' ('auto' picks)")
    return dev


# channels per chunk on the CPU: the engine holds one chunk's maps at a time, so beyond it
# its working memory does not grow with k (chapter 2 measures this)
CPU_CHANNEL_CHUNK = 128


def _chunk_sizes(device: torch.device, positions: int, batch_size, channel_chunk):
    """Images per step and channels per chunk; ``positions`` = first-layer map height x width.

    Measured on a 2-core CPU (benchmarks/feature_speed.py): blocks of about
    32 CIFAR images x 128 channels, small enough to stay in cache, are fastest there.
    A GPU wants large blocks: up to 2^30 first-layer values per chunk (2 GB in bf16).
    """
    if device.type == "cuda":
        batch = 256 if batch_size is None else int(batch_size)
        chunk = max(128, (2**30 // max(1, batch * positions)) // 128 * 128)
    else:
        batch = max(1, (32 * 900) // positions) if batch_size is None else int(batch_size)
        chunk = CPU_CHANNEL_CHUNK
    return batch, (chunk if channel_chunk is None else int(channel_chunk))


def fast_bf16(device: torch.device) -> bool:
    """Does ``device`` multiply bf16 matrices natively? (CPUs without AVX512-BF16/AMX emulate
    it, measured 16x slower than float32 on an AVX2 CPU.)"""
    if device.type == "cuda":  # bf16 tensor cores from compute capability 8.0 (A100, H100)
        return torch.cuda.get_device_capability(device) >= (8, 0)
    if device.type != "cpu":
        return True
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover
        return False


def _split_bf16(w: torch.Tensor) -> torch.Tensor:
    """``rows x c`` float32 -> ``3*rows x c`` bfloat16 parts hi, mid, lo with hi+mid+lo ~= w."""
    hi = w.to(torch.bfloat16)
    rest = w - hi.float()
    mid = rest.to(torch.bfloat16)
    lo = (rest - mid.float()).to(torch.bfloat16)
    return torch.cat([hi, mid, lo], dim=0)


class _Engine:
    """The network's weights laid out for the fast path on one device."""

    def __init__(self, net: RandomDepthwiseSignNet, device: torch.device, precision: str):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.net, self.device, self.precision = net, device, precision
        k = net.n_features
        w = net.conv_weight.reshape(k, -1).t().float()            # CKK x k
        b = net.conv_bias.float()[None]                            # 1 x k
        # Filters in pixel units 0..255 with the bias as the last row: z = [p, 1] @ W.
        self.w_pixels = torch.cat([w, 255.0 * b]).to(device)       # (CKK+1) x k, float32
        self.w_unit = torch.cat([w, b]).to(device)                 # for float images in [0, 1]
        # 8-bit pixels, exact precision: weights split into bf16 parts where the device
        # multiplies bf16 natively, else one float32 GEMM with its signs checked (see below)
        self.w_split = self.w_scaled = self.w_exact = None
        self.buffers: dict = {}  # work arrays reused across batches (see _checked_signs)
        if precision == "float32" and fast_bf16(device):
            self.w_split = _split_bf16(self.w_pixels)
        elif precision == "float32":
            # |float32 GEMM - exact| <= (CKK+4) u * sum_i |q_i w_i| <= r * 255 * (|w|_1 + |b|)
            # for any summation order (u = 2^-24, pixels q <= 255), with r = 1e-5 (a factor 2
            # to spare for the presets, CKK <= 80) or twice (CKK+4) u for larger filters:
            # dividing each column by that bound makes |output| >= 1 a sure sign.
            rate = max(1e-5, 2 * (w.shape[0] + 4) * 2.0 ** -24)
            bound = rate * 255.0 * (w.abs().sum(0) + b.abs()[0])
            self.w_scaled = (self.w_pixels / bound).to(device)
            self.w_exact = torch.cat([w.double(), 255.0 * b.double()]).to(device)
        self.dw_dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
        # Pooling is done as a 2x2 *sum* (small integers, exact in any dtype); the 1/4 of
        # the average moves into the weights of the convolution after each pool (exact:
        # a power of two).
        self.depthwise = [((wt / 4 if i % 2 == 0 else wt).to(device, self.dw_dtype),
                           bs.to(device, self.dw_dtype))
                          for i, (wt, bs) in enumerate(net.depthwise_layers())]

    def patches(self, x: torch.Tensor):
        """Batch ``n x C x H x W`` -> (patch matrix ``n*h*w x (CKK+1)``, integer-pixel flag)."""
        net = self.net
        integer = x.dtype == torch.uint8
        xf = x.to(self.device, non_blocking=True).float()
        p = F.unfold(xf, net.kernel_size, padding=net.first_padding)   # n x CKK x hw
        p = p.transpose(1, 2).reshape(-1, p.shape[1])
        p = torch.cat([p, torch.ones(p.shape[0], 1, device=self.device)], dim=1)
        if integer and self.w_split is not None:  # one copy per part of w_split
            parts = self.w_split.shape[0] // p.shape[1]
            p = torch.cat([p.to(torch.bfloat16)] * parts, dim=1)
        elif self.precision == "bfloat16":
            p = p.to(torch.bfloat16)
        return p, integer

    def counts(self, patches, integer, n, hw, lo, hi) -> torch.Tensor:
        """Counts (sum of final signs) for channels ``lo:hi`` of a batch: ``n x (hi-lo)``
        float32."""
        c = hi - lo
        if integer and self.w_scaled is not None:
            s = _checked_signs(patches, self.w_scaled[:, lo:hi], self.w_exact[:, lo:hi],
                               self.buffers)
        elif integer and self.precision == "float32":
            s = (patches @ self.w_split[:, lo:hi]).sign_()
        elif self.precision == "bfloat16":
            w = self.w_pixels if integer else self.w_unit
            s = (patches @ w[:, lo:hi].to(torch.bfloat16)).sign_()
        else:
            s = (patches @ self.w_unit[:, lo:hi]).sign_()
        h = s.view(n, hw[0], hw[1], c)                          # n x h x w x c
        for i, (wt, bs) in enumerate(self.depthwise):
            if i % 2 == 0:
                h = _pool_sum(h).to(self.dw_dtype)
            h = F.conv2d(h.permute(0, 3, 1, 2), wt[lo:hi], bs[lo:hi], padding=self.net.padding,
                         groups=c).sign_().permute(0, 2, 3, 1)
        return h.float().sum(dim=(1, 2))


def _checked_signs(patches, w_scaled, w_exact, buffers: dict) -> torch.Tensor:
    """Signs of ``patches @ w_exact`` (``rows x c``, float32 -1/0/1), exact for 8-bit pixels.

    ``w_scaled`` holds the same columns divided by a bound on the float32 GEMM's error, so
    outputs of magnitude at least 1 already have the right sign; the others (about 1 in
    10,000 on CIFAR-10) are recomputed from the float64 weights ``w_exact`` (products of pixels and
    float32 weights are exact in float64). ``buffers`` keeps the two large work arrays from
    one call to the next: freshly allocated, their page faults cost as much as the check.
    """
    shape = (patches.shape[0], w_scaled.shape[1])
    if buffers.get("z") is None or buffers["z"].shape != shape:
        buffers["z"] = torch.empty(shape, device=patches.device)
        buffers["abs"] = torch.empty(shape, device=patches.device)
    z = torch.mm(patches, w_scaled, out=buffers["z"])
    doubt = (torch.abs(z, out=buffers["abs"]).amin(dim=1) < 1).nonzero()[:, 0]  # rows (few)
    if len(doubt):
        at, cols = (z[doubt].abs() < 1).nonzero(as_tuple=True)
        rows = doubt[at]
        exact = (patches[rows].double() * w_exact[:, cols].t()).sum(1)
        z[rows, cols] = exact.sign().float()
    return z.sign_()


def _pool_sum(h: torch.Tensor) -> torch.Tensor:
    """``n x H x W x c`` -> ``n x H//2 x W//2 x c``: sums over 2x2 cells (avg-pool x 4, floor
    mode)."""
    H, W = h.shape[1] // 2 * 2, h.shape[2] // 2 * 2
    # four strided adds over contiguous channel rows: fast on CPU and GPU alike
    return (h[:, 0:H:2, 0:W:2] + h[:, 1:H:2, 0:W:2]) + (h[:, 0:H:2, 1:W:2] + h[:, 1:H:2, 1:W:2])


def _as_images(images, warn: bool = True) -> torch.Tensor:
    """``images`` as a tensor; floats that are exact 8-bit pixels ``q / 255`` become uint8 ``q``
    (in float16 or bfloat16: ``q / 255`` rounded to that type, as ``x.half() / 255`` gives).

    Any other float is kept as it is: the engine computes on it what the network does.
    """
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if not isinstance(images, torch.Tensor):
        stream = (" (batches: a Dataset, a DataLoader, or rdsc.streaming.as_stream(batches, "
                  "n_images=N) of a list or other re-iterable of them)"
                  if hasattr(images, "__iter__") or hasattr(images, "__next__") else "")
        raise TypeError("expected images as a tensor or array N x C x H x W, "
                        f"got {type(images).__name__}{stream}")
    if images.is_floating_point() and images.numel():
        # floats that are exactly q/255 with q in 0..255 (as from uint8 / 255) take the exact
        # integer path; a small sample is checked first so other floats cost nothing more
        def as_pixels(x):
            q = (x.float() * 255).round()
            in_range = bool(((q >= 0) & (q <= 255)).all())
            # float16/bfloat16 cannot hold q/255 exactly, but their 256 roundings of it are
            # distinct, so round(x * 255) still recovers q: compare in x's own type
            low = x.dtype in (torch.float16, torch.bfloat16)
            return q if in_range and torch.equal((q / 255).to(x.dtype) if low else q / 255,
                                                 x if low else x.float()) else None
        if as_pixels(images[:64]) is not None and (q := as_pixels(images)) is not None:
            return q.to(torch.uint8)
        check_pixel_range(images)
    elif (warn and images.dtype == torch.uint8 and images.numel() > 1000
          and int(images.max()) == 1):
        # (x / 255).to(torch.uint8): every pixel 0 or 1, features of near-black images
        import warnings
        warnings.warn("uint8 images hold only 0 and 1: pixels in [0, 1] cast to uint8? "
                      "uint8 images must be 0..255 (pass the original uint8 images, or the "
                      "float ones)", stacklevel=3)
    return images


def _check_step_sizes(batch_size, channel_chunk) -> None:
    """``batch_size`` and ``channel_chunk`` are ``None`` or positive integers (int() would take
    2.5 as 2 and "2" as 2 without a word)."""
    for name, value in (("batch_size", batch_size), ("channel_chunk", channel_chunk)):
        if value is not None and (not _is_int(value) or value < 1):
            raise ValueError(f"{name} must be a positive integer or None (the default), "
                             f"got {value!r}")


def compute(net: RandomDepthwiseSignNet, images, out: np.ndarray | None = None, *,
            start: int = 0, stop: int | None = None, batch_size: int | None = None,
            channel_chunk: int | None = None, device=None, precision: str = "float32",
            progress: bool = True, on_batch=None, engine: str = "auto",
            checked: bool = False) -> np.ndarray:
    """Counts for ``images[start:stop]`` into ``out[start:stop]`` (``N x k`` integers); see
    :func:`extract`.

    ``images``: a tensor or array ``N x C x H x W``, or a stream (:mod:`rdsc.streaming`).
    ``on_batch(lo, hi, rows)`` is called with every finished block of rows, in order (then
    ``out`` is not written); ``rows`` is valid during the call only (copy it to keep it).
    On CUDA the device computes the next batch meanwhile (see :class:`_HostCopies`).
    ``checked``: ``images`` come from :func:`checked_source` already (as in :func:`extract`),
    so they are not checked, and warned about, a second time.
    """
    _check_step_sizes(batch_size, channel_chunk)
    images, n_img, shape, dtype = (_source(images, convert=False) if checked
                                   else checked_source(net, images))
    device = as_device(device)
    k = net.n_features
    stop = n_img if stop is None else int(stop)
    if not 0 <= start <= stop <= n_img:
        raise ValueError(f"rows {start}..{stop} are not within the {n_img} images")
    hw = net.map_sizes(shape[1], shape[2])[1]
    use_fused = _use_fused(engine, net, dtype, device, precision)
    if use_fused and batch_size is None:
        batch_size = fused.batch_size_for(net, shape[1], shape[2])
    batch_size, channel_chunk = _chunk_sizes(device, hw[0] * hw[1], batch_size, channel_chunk)
    if batch_size < 1 or channel_chunk < 1:
        raise ValueError(f"batch_size and channel_chunk must be positive, got {batch_size}, "
                         f"{channel_chunk}")
    counts_type = count_dtype(net, shape[1], shape[2])
    if out is None:
        out = np.empty((n_img, k), dtype=counts_type)
    elif not np.can_cast(counts_type, out.dtype) or out.ndim != 2 or out.shape[1] != k \
            or (on_batch is None and len(out) < stop):  # with on_batch, out names the type
        # an int8 or uint8 array wrapped the counts without a word
        raise ValueError(f"out must be an array of at least {stop} x {k} that holds "
                         f"{np.dtype(counts_type).name} counts (count_dtype: "
                         f"{np.dtype(counts_type).name} or wider, or float32), got "
                         f"{out.shape} {out.dtype}")
    chain = None if use_fused else _Engine(net, device, precision)
    trim = None if isinstance(images, torch.Tensor) else _HeapTrimmer()
    bar = progress_bar(stop - start, f"features k={k}", unit="img", enabled=progress)
    # counts are exact integers: converted on the device, half the bytes cross to the host
    copies = _HostCopies(device, torch.int16 if out.dtype == np.int16 else torch.int32)
    maps: dict = {}   # the fused engine's map buffers, made once for every batch

    failed = []   # a delivery that raised: no later batch may be delivered after it

    def deliver(lo, hi, rows):
        try:
            if on_batch is not None:
                on_batch(lo, hi, rows)
            else:
                out[lo:hi] = rows
        except BaseException:
            failed.append((lo, hi))
            raise
        bar.update(hi - lo)
        if trim is not None:
            trim()

    # on "cuda:N", N the current device: Triton launches, the copies' streams and their
    # events follow the current device, not the tensors'
    current = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
    with torch.inference_mode(), exact_float32(), current:
        try:
            for lo, hi, x in _batches(images, start, stop, batch_size, shape):
                if x.is_floating_point() and not torch.isfinite(x).all():
                    raise ValueError(f"images {lo}..{hi - 1} contain NaN or infinite values")
                x = copies.upload(x)
                if use_fused:  # exact int32 counts from the fused kernels
                    block = fused.counts(net, x, device, batch_size=len(x), reuse=maps)
                else:
                    patches, integer = chain.patches(x)
                    block = torch.empty(hi - lo, k, device=device)
                    for c0 in range(0, k, channel_chunk):
                        c1 = min(c0 + channel_chunk, k)
                        block[:, c0:c1] = chain.counts(patches, integer, hi - lo, hw, c0,
                                                       c1).round_()
                for ready in copies.download(lo, hi, block):
                    deliver(*ready)
        except BaseException:
            # the batch finished before the error is still delivered: nothing computed is
            # lost. Not after a failed delivery: a cache would then record rows beyond a
            # missing block as done
            if not failed:
                with contextlib.suppress(Exception):
                    for ready in copies.finish():
                        deliver(*ready)
            raise
        for ready in copies.finish():
            deliver(*ready)
    bar.close()
    return out


class _HostCopies:
    """Moves batches to the device and their counts back, the device a batch ahead of the host.

    :meth:`download` queues a batch's copy to the host and hands back the *previous*
    batch's rows, so while the host stores them (into the output array, a cache file)
    the device is already computing. On CUDA both copies go through page-locked
    buffers, asynchronously, two per direction: a buffer is refilled only after the
    batch that used it was handed back. (A copy to pageable memory blocks until the
    device is idle: at k = 100,000 on an H200, 2026-12-04, the fused engine ran 3,160
    images/s on the device, 2,211 with one plain ``.cpu()`` after it, and 3,072 through
    these copies into numpy.) Elsewhere the copies are
    plain and only the hand-back is deferred.

    Rows handed back are valid until the next call: keep a copy, not the array.
    """

    def __init__(self, device: torch.device, dtype: torch.dtype):
        self.device, self.dtype = device, dtype
        self.cuda = device.type == "cuda"
        self.slots: list[dict] = [{}, {}]
        self.turn = 0
        self.pending = None   # (lo, hi, rows, event) of the batch not yet handed back

    def _buffer(self, name: str, like: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """This turn's page-locked buffer ``name``, large enough for ``like``."""
        slot = self.slots[self.turn]
        buf = slot.get(name)
        if buf is None or buf.dtype != dtype or buf.shape[1:] != like.shape[1:] \
                or len(buf) < len(like):
            buf = slot[name] = torch.empty(like.shape, dtype=dtype, pin_memory=True)
        return buf[:len(like)]

    def upload(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` on the device (on CUDA, from a page-locked copy without waiting)."""
        if not self.cuda or x.device.type != "cpu":
            return x.to(self.device)
        staged = self._buffer("up", x, x.dtype)
        staged.copy_(x)   # this buffer's previous batch was handed back: its upload is done
        return staged.to(self.device, non_blocking=True)

    def download(self, lo: int, hi: int, block: torch.Tensor) -> list:
        """Queue ``block``'s (rows ``lo:hi``) copy to the host; the previous batch, now ready,
        as ``[(lo, hi, rows)]`` (empty for the first batch)."""
        block = block.to(self.dtype)
        if self.cuda:
            rows = self._buffer("down", block, self.dtype)
            rows.copy_(block, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
        else:
            rows, event = block.cpu(), None
        ready = self.finish()
        self.pending = (lo, hi, rows, event)
        self.turn ^= 1
        return ready

    def finish(self) -> list:
        """The batch not yet handed back, once its copy has arrived: ``[(lo, hi, rows)]``."""
        if self.pending is None:
            return []
        lo, hi, rows, event = self.pending
        self.pending = None
        if event is not None:
            event.synchronize()
        return [(lo, hi, rows.numpy())]


class _HeapTrimmer:
    """Hands freed heap memory back to the OS when the process has grown (glibc only).

    Streaming from DataLoader workers, glibc's heap in this process can fragment: the
    engine's large per-batch buffers come from the heap (glibc raises its mmap threshold
    after the first ones are freed) and are not returned. Measured on 3,000 64x64 images
    with two workers (k=16, 2-core CPU): peak RSS 0.70 to 1.35 GB, varying from run to
    run; with this trimmer 0.70 to 0.71 GB in four runs. A trim costs milliseconds (10 ms
    measured), so it runs only when the resident size has grown by ``slack`` bytes.
    """

    def __init__(self, slack: int = 64 << 20):
        self.slack, self.base = slack, None
        try:
            import ctypes
            self.trim = ctypes.CDLL(None).malloc_trim
            self.page = os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):  # not glibc
            self.trim = None

    def _rss(self) -> int | None:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * self.page
        except (OSError, ValueError, IndexError):
            self.trim = None
            return None

    def __call__(self) -> None:
        if self.trim is None or (rss := self._rss()) is None:
            return
        if self.base is None:
            self.base = rss
        elif rss > self.base + self.slack:
            self.trim(0)
            self.base = max(self.base, self._rss() or rss)  # what stays after a trim is in use


def _source(images, convert: bool = True):
    """``(images or stream, N, (C, H, W), dtype)``: a tensor (floats that are 8-bit pixels
    become uint8, see :func:`_as_images`, unless ``convert`` is False: done already) or an
    :class:`rdsc.streaming.ImageStream`."""
    if streaming.is_stream(images):
        stream = streaming.as_stream(images)
        return stream, len(stream), tuple(stream.image_shape), stream.dtype
    if convert:
        images = _as_images(images)  # not N x C x H x W: net.check_input explains
    return images, len(images), tuple(images.shape[1:]), images.dtype


def checked_source(net: RandomDepthwiseSignNet, images):
    """:func:`_source` of ``images``, checked against ``net`` (channels, size, value range)
    on one image before any work: ``(images or stream, N, (C, H, W), dtype)``."""
    images, n, shape, dtype = _source(images)
    # the shape in an error is the caller's, not the one image probed
    net.check_input(_probe(images, shape, dtype), allow_uint8=True, shape=(n, *shape))
    return images, n, shape, dtype


def _probe(images, shape, dtype) -> torch.Tensor:
    """One image of the source (an all-zero one for a stream) for ``net.check_input``."""
    if isinstance(images, torch.Tensor):
        return images[:1]
    return torch.zeros((1, *shape), dtype=dtype)


def _batches(images, start: int, stop: int, batch_size: int, shape):
    """``(lo, hi, images[lo:hi])`` for consecutive batches of at most ``batch_size`` images."""
    if isinstance(images, torch.Tensor):
        for lo in range(start, stop, batch_size):
            yield lo, min(lo + batch_size, stop), images[lo:min(lo + batch_size, stop)]
        return
    lo = start
    for batch in images.batches(start, stop, batch_size):
        batch = streaming._as_batch(batch, f"the stream's batch at row {lo}")
        if lo >= stop or (stop >= len(images) and lo + len(batch) > stop):
            if stop < len(images):
                break  # a part of the stream: what lies beyond is another call's
            # a stream of more images than announced was once cut at the count
            raise ValueError(f"the stream yields more than the {len(images):,} images it "
                             "announced: its rows would not match its labels. Give the "
                             "true count (as_stream(..., n_images=N)), or fix the source")
        if batch.dim() != 4 or tuple(batch.shape[1:]) != tuple(shape):
            raise ValueError(f"the stream's batch at row {lo} has shape {tuple(batch.shape)}; "
                             f"the stream announced images of shape {tuple(shape)}")
        if not batch.is_floating_point() and batch.dtype != torch.uint8:
            # int64 batches after a uint8 first one were once computed as [0, 1]
            # floats, 255 times too bright (the tensor path refuses them)
            raise TypeError(f"the stream's batch at row {lo} holds {batch.dtype} values; "
                            f"the stream began with {images.dtype}. Give uint8 pixels "
                            "(x.to(torch.uint8) for 0..255) or floats in [0, 1] throughout")
        batch = _as_images(batch, warn=lo == start)  # a stream's warning comes once
        for part in streaming._chunks(batch[:stop - lo], batch_size):
            yield lo, lo + len(part), part
            lo += len(part)
    if lo < stop:
        raise ValueError(f"the stream ended after row {lo}, but it announced {stop} rows "
                         f"(len {len(images)})")


ENGINES = ("auto", "fused", "chain")


def _use_fused(engine: str, net, dtype: torch.dtype, device, precision: str) -> bool:
    """The fused Triton kernels (:mod:`rdsc.fused`) or the chain of torch operations?

    ``auto`` takes the fused kernels where they apply: CUDA with Triton, 8-bit pixels, the
    exact ``float32`` precision and at least one block (unless ``$RDSC_ENGINE`` says
    otherwise). ``fused`` insists; ``chain`` never.
    """
    if engine == "auto":  # a machine-wide choice, e.g. RDSC_ENGINE=chain where Triton misbehaves
        engine = os.environ.get("RDSC_ENGINE", "auto")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r} (argument or "
                         "RDSC_ENGINE)")
    applies = (device.type == "cuda" and precision == "float32" and dtype == torch.uint8
               and net.n_blocks >= 1 and fused.available(device))
    if engine == "fused" and not applies:
        raise ValueError("the fused engine needs CUDA with Triton, uint8 images, precision "
                         "'float32' and n_blocks >= 1; use engine='auto' or 'chain' here")
    return applies and engine != "chain"


def count_dtype(net: RandomDepthwiseSignNet, height: int, width: int):
    """int16 if the output map of ``height x width`` images has <= 32767 positions, else int32."""
    h, w = net.output_map_size(height, width)
    return np.int16 if h * w <= np.iinfo(np.int16).max else np.int32


# --- the cache ------------------------------------------------------------------------------

def images_digest(images) -> str:
    """A hash of the images' shape, dtype and bytes: the dataset's identity for the cache."""
    t = _as_images(images, warn=False)  # extract, which warns, hashes them for its cache
    h = hashlib.blake2b(f"{tuple(t.shape)}:{t.dtype}".encode(), digest_size=16)
    flat = t.contiguous().view(-1)
    if flat.dtype != torch.uint8:
        flat = flat.view(torch.uint8) if flat.is_contiguous() else flat
    arr = flat.cpu().numpy()
    step = 1 << 26
    for i in range(0, arr.size, step):
        h.update(arr[i:i + step].tobytes())
    return h.hexdigest()


def cache_key(net: RandomDepthwiseSignNet, images, precision: str) -> str:
    """The cache file's key: engine version, network, precision and the images' identity
    (a hash of a tensor's bytes; a stream's ``fingerprint``, shape and dtype); and the
    weights' digest where they are no longer the ones the network's settings draw (loaded
    or edited: the settings alone would return the old weights' features)."""
    from rdsc.network import weights_digest
    key = {"engine": ENGINE_VERSION, "net": net.config, "precision": precision,
           "images": _images_identity(images)}
    digest = weights_digest(net)
    if digest != getattr(net, "drawn_digest", digest):
        key["weights"] = digest
    text = json.dumps(key, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _images_identity(images) -> str:
    if streaming.is_stream(images):
        stream = streaming.as_stream(images)
        if not stream.fingerprint:
            raise ValueError(
                f"cannot cache the features of this {type(stream).__name__}: it has no fingerprint "
                "identifying its images. Wrap it as rdsc.streaming.as_stream(source, "
                "fingerprint='...') (a string that changes when the images change), or use "
                "cache=None")
        return f"stream:{stream.fingerprint}:{tuple(stream.image_shape)}:{stream.dtype}"
    return images_digest(images)


def extract(net: RandomDepthwiseSignNet, images, batch_size: int | None = None, device=None,
            cache=None, *, name: str = "features", precision: str = "float32",
            channel_chunk: int | None = None, progress: bool = True,
            engine: str = "auto") -> FeatureArray:
    """The ``N x k`` features of ``images`` under ``net``, as a :class:`FeatureArray`.

    Args:
        net: the random network (its weights are used; its device does not matter).
        images: ``N x C x H x W``, uint8 (0..255) or float in [0, 1], tensor or array; or a
            stream of batches for data larger than memory (an
            :class:`rdsc.streaming.ImageFolderStream`, a ``Dataset``, a ``DataLoader``; see
            :mod:`rdsc.streaming`), cached under its ``fingerprint``.
        batch_size: images per step (default: 32 CIFAR-size images on CPU, fewer for
            larger images; on CUDA, 256 for the chain of torch operations, and for the
            fused kernels as many as keep their maps within :data:`rdsc.fused.MAP_BUDGET`
            (:func:`rdsc.fused.batch_size_for`: 25 CIFAR-10 images at k = 100,000)).
        device: where to compute (default: CUDA when present, else the CPU's cores).
        cache: ``None`` or ``False`` (keep in memory), ``True`` (``<data root>/cache/features``)
            or a folder.
        name: readable prefix of the cache file (a file name: no ``/``).
        precision: ``float32`` (the network's exact signs, up to ties at zero) or
            ``bfloat16`` (faster, weights rounded to bfloat16: not the paper's network;
            a fifth of the counts of CIFAR-10 images changed, some by more
            than half their range).
        channel_chunk: channels per step (default: 128 on CPU; on CUDA as many as keep
            a chunk's first-layer maps near 2 GB).
        engine: ``auto`` (the fused Triton kernels of :mod:`rdsc.fused` on CUDA for 8-bit
            images, else the chain of torch operations), ``fused`` or ``chain``. Both give
            the same counts except at exact sign ties.
    """
    _check_step_sizes(batch_size, channel_chunk)
    if not (cache is None or isinstance(cache, (bool, str, os.PathLike))):
        raise ValueError(f"cache must be None or False (no cache), True (the data root's cache) "
                         f"or a folder, got {cache!r}")
    caching = cache is not None and cache is not False
    # the name is part of a file name in the cache folder: a "/" would point elsewhere
    if caching and (not isinstance(name, str) or not name or "/" in name
                    or os.sep in name or "\0" in name):
        raise ValueError(f"name must be a plain file name prefix (no '/'), got {name!r}")
    images, n_img, shape, dtype = checked_source(net, images)
    h, w = net.output_map_size(shape[1], shape[2])
    opts = dict(batch_size=batch_size, channel_chunk=channel_chunk, device=device,
                precision=precision, progress=progress, engine=engine, checked=True)
    if not caching:
        return FeatureArray(compute(net, images, **opts), h * w)
    file_name = f"{name}-{cache_key(net, images, precision)}.npy"
    expected = (n_img, net.n_features), count_dtype(net, shape[1], shape[2])
    if cache is True:  # a finished cache in a read-only data root is still used
        for folder in cache_dirs_to_read("features"):
            if npy_files.written_in_place(folder / file_name):
                continue
            found = npy_files.load_finished(folder / file_name, *expected, remove_bad=False)
            if found is not None:
                return FeatureArray(found, h * w)
        folder = cache_dir("features")
    else:
        folder = Path(cache).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as error:  # a file in the way
            raise ValueError(f"cache={str(cache)!r} is not a folder ({error.strerror}: "
                             f"{error.filename}): pass a folder to keep the features in") from error
    return FeatureArray(_compute_cached(net, images, folder / file_name, opts), h * w)


# --- the cache: a finished file appears only by an atomic rename (rdsc.npy_files) ----------
#
#   <name>-<key>.npy            finished features (only ever created by os.replace)
#   <name>-<key>.partial.npy    rows being written, with <name>-<key>.progress.json
#   <name>-<key>.lock           held (flock) by the one process computing this file

def _compute_cached(net, images, path: Path, opts) -> np.ndarray:
    n, k = len(images), net.n_features
    shape = (streaming.as_stream(images).image_shape if streaming.is_stream(images)
             else images.shape[1:])
    dtype = count_dtype(net, shape[1], shape[2])
    found = (None if npy_files.written_in_place(path)
             else npy_files.load_finished(path, (n, k), dtype))
    if found is not None:
        return found
    with npy_files.exclusive(path.with_suffix(".lock"), path):
        partial = path.with_suffix(".partial.npy")
        progress_file = path.with_suffix(".progress.json")
        if npy_files.written_in_place(path):
            os.replace(path, partial)  # resumed as the partial file it is
        # finished by another process meanwhile?
        found = npy_files.load_finished(path, (n, k), dtype)
        if found is not None:
            return found
        done = npy_files.resume_point(partial, progress_file, n, k, dtype)
        offset = npy_files.data_offset(partial)
        row_bytes = k * np.dtype(dtype).itemsize
        # Rows go to the file with plain writes, not through a memory map, so finished rows
        # do not stay in this process's memory (k = 100,000 x 10,000 images is 2 GB).
        with open(partial, "r+b") as f:
            def write(lo, hi, rows):
                npy_files.pwrite_all(f.fileno(), np.ascontiguousarray(rows).tobytes(),
                                     offset + lo * row_bytes)
                if time.monotonic() - write.last > 2 or hi == n:
                    f.flush()
                    os.fsync(f.fileno())
                    npy_files.write_progress(progress_file, hi, n)
                    write.last = time.monotonic()
            write.last = time.monotonic()
            if done < n:
                compute(net, images, np.empty((0, k), dtype=dtype), start=done, on_batch=write,
                        **opts)
            # deleted or replaced while we wrote: keep our rows
            if not npy_files.is_same_file(f, partial):
                npy_files.warn(f"{partial} was deleted or replaced during the extraction; "
                               "writing the computed features back from the open file")
                npy_files.copy_open_file(f, partial)
        os.replace(partial, path)
        progress_file.unlink(missing_ok=True)
    return np.load(path, mmap_mode="r")


