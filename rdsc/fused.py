"""A fused Triton engine for the network's integer counts on a GPU (uint8 images only).

:func:`counts` returns the same ``N x k`` integers as :func:`rdsc.features.compute`
(the sum of the final signs over the final map) in one GEMM kernel and one kernel
per depthwise layer, instead of a chain of memory-bound passes::

    patches (torch, bf16)  rows ordered (image, pooling cell, member of the cell)
    first layer            one GEMM; epilogue: sign, 2x2 sum    -> pooled map, bf16 -4..4
    per block              depthwise K x K, sign                -> map, bf16 -1..1
                           depthwise K x K, sign, then either the next 2x2 sum
                           (-> pooled map) or, in the last block, the sum over
                           the whole map                        -> counts, int32

Only the bf16 maps (small integers, exact) and the counts touch global memory; the
first layer's ``k x h x w`` float32 pre-activations never leave the chip. Maps are
channels last, ``images x h x w x ldk``, with a zero border as wide as the depthwise
padding and channels padded to ``ldk`` (zero weights), so no kernel masks a load.

Arithmetic, and why it equals the CPU engine's except at sign ties
-------------------------------------------------------------------
* First layer. Pixels 0..255 are exact in bf16; each float32 filter value ``w``
  (bias as ``255 * b``, the same float32 numbers as :mod:`rdsc.features`) is split
  into bf16 parts ``hi + mid + lo == w`` (8 + 8 + 8 significant bits). A product
  ``pixel x part`` has at most 16 significant bits, so every product is exact and
  the only rounding is the float32 accumulation of ``3 (C K K + 1)`` terms: the GEMM
  here (tensor cores, fp32 accumulators) and the CPU's bf16 GEMM differ only in the
  order of the sums. Each result is within ``n u sum|terms|`` of the exact value
  (``u = 2^-24``), so both have the exact value's sign unless the exact value is
  that close to zero: a tie.
* Depthwise layers. Inputs are small integers (pooled sums -4..4 or signs -1..1),
  weights float32 (the 1/4 of the average pooling folded into the weights after a
  pool, exact: a power of two), accumulated in float32 as on the CPU (here with
  fused multiply-adds): again both results lie within ``(K K + 2) u sum|terms|`` of
  the exact value, and their signs agree unless the exact value lies that close to
  zero.
* Pooling, signs and the final sum are integer-valued and exact everywhere.

:func:`exact_counts` computes the chain in float64 and flags every (image, feature)
whose chain passes through such a near-tie; the tests require equality everywhere
else.

Under ``TRITON_INTERPRET=1`` (set before this module is imported) the same kernels run
on the CPU through Triton's interpreter, slowly, for tests. The interpreter of
Triton 3.8 multiplies bf16 operands of ``tl.dot`` as their raw 16-bit patterns, so
there the GEMM operands are widened to float32 first (same exact products, float32
sums): everything else, indexing, masks, epilogues, is the code that runs on the GPU.
"""
from __future__ import annotations

import contextlib
import math
import time
import weakref

import torch
import torch.nn.functional as F

from rdsc.checks import whole_number
from rdsc.network import RandomDepthwiseSignNet

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only builds of torch come without Triton
    triton = None

#: cells of 2x2 pooling per GEMM tile (x 4 members = 256 first-layer positions)
BLOCK_CELLS = 64
#: rows of the bf16 parts are padded to a multiple of this (every BLOCK_K divides it)
K_ALIGN = 64
#: channels of weights and maps are padded to a multiple of this (every BLOCK_N, BLOCK_C)
N_ALIGN = 128
#: bytes of the intermediate maps of one batch of images
MAP_BUDGET = 2**32
#: depthwise kernel's output modes
MAP, POOLED, COUNTS = 0, 1, 2
#: the most horizontal neighbours a depthwise unit computes (DEPTHWISE_CONFIGS' WIDE)
MAX_WIDE = 4

_U = 2.0 ** -24  # unit roundoff of float32


if triton is not None:
    @triton.jit
    def _sign(x):
        """sign with sign(0) = 0, as float32."""
        return tl.where(x > 0, 1.0, 0.0) - tl.where(x < 0, 1.0, 0.0)

    @triton.jit(do_not_specialize=["n_cells"])
    def _first_layer_kernel(P, Wm, Q, n_cells, ldk, KP, cells_img, cells_w, q_h, q_w,
                            PAD: tl.constexpr, UPCAST: tl.constexpr, BLOCK_CELLS: tl.constexpr,
                            BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP: tl.constexpr):
        """Pooled first-layer signs: cell ``g``, channel ``j`` <- ``sum_m sign(P[4g+m] @ Wm[:,j])``.

        P: ``(4 * cells padded to BLOCK_CELLS) x KP`` bf16 patches, row ``4g+m`` is member
        ``m`` of pooling cell ``g`` (``cells_img`` cells an image, ``cells_w`` a row);
        Wm: ``KP x ldk`` bf16 (hi; mid; lo; zero rows); Q: the pooled map,
        ``images x q_h x q_w x ldk`` bf16 with a zero border of PAD. One program:
        BLOCK_CELLS cells x BLOCK_N channels with four accumulators (one per member),
        so the 2x2 sum is element-wise in registers.
        """
        pid = tl.program_id(0)
        tiles_m = tl.cdiv(n_cells, BLOCK_CELLS)
        tiles_n = ldk // BLOCK_N
        # GROUP cell tiles share every weight tile while it sits in L2
        per_group = GROUP * tiles_n
        first_m = (pid // per_group) * GROUP
        group_m = tl.minimum(tiles_m - first_m, GROUP)
        pid_m = first_m + (pid % per_group) % group_m
        pid_n = (pid % per_group) // group_m
        cells = pid_m * BLOCK_CELLS + tl.arange(0, BLOCK_CELLS)
        cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        kk = tl.arange(0, BLOCK_K)
        # P and Wm are padded: no masks on the loads
        a_ptr = P + (cells.to(tl.int64) * 4 * KP)[:, None] + kk[None, :]
        b_ptr = Wm + kk[:, None] * ldk + cols[None, :]
        acc0 = tl.zeros([BLOCK_CELLS, BLOCK_N], tl.float32)
        acc1 = tl.zeros([BLOCK_CELLS, BLOCK_N], tl.float32)
        acc2 = tl.zeros([BLOCK_CELLS, BLOCK_N], tl.float32)
        acc3 = tl.zeros([BLOCK_CELLS, BLOCK_N], tl.float32)
        for _ in range(0, KP, BLOCK_K):
            b = tl.load(b_ptr)
            a0 = tl.load(a_ptr)
            a1 = tl.load(a_ptr + KP)
            a2 = tl.load(a_ptr + 2 * KP)
            a3 = tl.load(a_ptr + 3 * KP)
            if UPCAST:  # Triton's interpreter only (see the module docstring)
                b = b.to(tl.float32)
                acc0 = tl.dot(a0.to(tl.float32), b, acc0, input_precision="ieee")
                acc1 = tl.dot(a1.to(tl.float32), b, acc1, input_precision="ieee")
                acc2 = tl.dot(a2.to(tl.float32), b, acc2, input_precision="ieee")
                acc3 = tl.dot(a3.to(tl.float32), b, acc3, input_precision="ieee")
            else:  # bf16 x bf16 products (exact), float32 accumulation
                acc0 = tl.dot(a0, b, acc0)
                acc1 = tl.dot(a1, b, acc1)
                acc2 = tl.dot(a2, b, acc2)
                acc3 = tl.dot(a3, b, acc3)
            a_ptr += BLOCK_K
            b_ptr += BLOCK_K * ldk
        pooled = (_sign(acc0) + _sign(acc1)) + (_sign(acc2) + _sign(acc3))
        img = cells // cells_img
        cy = (cells % cells_img) // cells_w
        cx = cells % cells_w
        row = ((img * q_h + cy + PAD) * q_w + cx + PAD).to(tl.int64) * ldk
        tl.store(Q + row[:, None] + cols[None, :], pooled.to(tl.bfloat16),
                 mask=(cells < n_cells)[:, None])

    @triton.jit
    def _conv_row(x_img, Wt, bias, ch, y, x, x_w, ldk, KS: tl.constexpr, WIDE: tl.constexpr):
        """Depthwise K x K pre-activations at ``(y, x + j)``, ``j < WIDE`` (2 or 4).

        Returns four ``P x C`` float32 (the last two unused when WIDE is 2). x_img: this
        image's input map, ``. x x_w x ldk`` bf16 with its zero border (so no masks); Wt:
        ``KK x ldk`` float32. Neighbours share input columns: a tap row loads (and widens)
        ``K + WIDE - 1`` columns once each for ``K WIDE`` multiply-adds. Rows of taps in a
        loop, columns unrolled; the pointers move a map row each time.
        """
        acc0 = bias[None, :] + tl.zeros_like(y).to(tl.float32)[:, None]
        acc1 = acc0
        acc2 = acc0
        acc3 = acc0
        row = x_img + ((y * x_w + x).to(tl.int64) * ldk)[:, None] + ch[None, :]
        w_row = Wt + ch
        for _ in range(KS):
            for c in tl.static_range(KS + WIDE - 1):
                v = tl.load(row + c * ldk).to(tl.float32)
                if c < KS:
                    acc0 += v * tl.load(w_row + c * ldk)[None, :]
                if c >= 1 and c <= KS:
                    acc1 += v * tl.load(w_row + (c - 1) * ldk)[None, :]
                if WIDE == 4:
                    if c >= 2 and c <= KS + 1:
                        acc2 += v * tl.load(w_row + (c - 2) * ldk)[None, :]
                    if c >= 3:
                        acc3 += v * tl.load(w_row + (c - 3) * ldk)[None, :]
            row += x_w * ldk
            w_row += KS * ldk
        return acc0, acc1, acc2, acc3

    @triton.jit
    def _masked_sign(z, keep):
        """``sign(z)`` where ``keep`` (per row), else 0."""
        return tl.where(keep[:, None], _sign(z), 0.0)

    @triton.jit(do_not_specialize=["n_img"])
    def _depthwise_kernel(X, Wt, Bias, Y, n_img, ldk, k, x_h, x_w, out_h, out_w, y_h, y_w,
                          KS: tl.constexpr, PAD: tl.constexpr, MODE: tl.constexpr,
                          WIDE: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr):
        """One depthwise layer + sign for (image, channel block) ``program_id(0), (1)``.

        X: ``n_img x x_h x x_w x ldk`` bf16 with a zero border: PAD (the convolution's
        padding) on each side, MAX_WIDE - 1 more columns on the right. The output is
        ``out_h x out_w``; a unit is WIDE horizontal neighbours of it:
        MODE 0 (MAP): Y ``n_img x y_h x y_w x ldk`` bf16 signs (same border layout, for
        the next layer); MODE 1 (POOLED): a unit is WIDE / 2 side-by-side 2x2 pooling
        cells (floor mode), Y (same layout) holds the sum of each cell's four signs;
        MODE 2 (COUNTS): Y ``n_img x k`` int32, the sums of the signs over all outputs.
        """
        img = tl.program_id(0).to(tl.int64)
        ch = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        bias = tl.load(Bias + ch)
        x_img = X + img * x_h * x_w * ldk
        if MODE == 1:   # units of WIDE // 2 pooling cells, rows of cells
            cells_w = out_w // 2
            units_w = tl.cdiv(cells_w, WIDE // 2)
            n_units = (out_h // 2) * units_w
        else:           # units of WIDE outputs, rows of outputs
            units_w = tl.cdiv(out_w, WIDE)
            n_units = out_h * units_w
        total = tl.zeros([BLOCK_C], tl.float32)
        for u0 in range(0, n_units, BLOCK_P):
            u = u0 + tl.arange(0, BLOCK_P)
            valid = u < n_units
            u = tl.minimum(u, n_units - 1)  # the tail recomputes the last unit: no load masks
            uy = u // units_w
            ux = u % units_w
            x0 = WIDE * ux                   # the unit's first output column
            if MODE == 1:
                c0 = tl.zeros([BLOCK_P, BLOCK_C], tl.float32)
                c1 = c0
                for a in range(2):
                    z0, z1, z2, z3 = _conv_row(x_img, Wt, bias, ch, 2 * uy + a, x0, x_w, ldk,
                                               KS, WIDE)
                    c0 += _sign(z0) + _sign(z1)
                    if WIDE == 4:
                        c1 += _sign(z2) + _sign(z3)
                cell = (WIDE // 2) * ux     # the unit's first pooled column
                out = Y + (((img * y_h + uy + PAD) * y_w + cell + PAD) * ldk)[:, None] + ch[None, :]
                tl.store(out, c0.to(tl.bfloat16), mask=valid[:, None])
                if WIDE == 4:   # a second cell beyond an odd number of cells is not stored
                    tl.store(out + ldk, c1.to(tl.bfloat16),
                             mask=(valid & (cell + 1 < cells_w))[:, None])
            else:
                z0, z1, z2, z3 = _conv_row(x_img, Wt, bias, ch, uy, x0, x_w, ldk, KS, WIDE)
                # neighbours beyond the output's width (the last unit of a row) do not count
                s0 = _masked_sign(z0, valid)
                s1 = _masked_sign(z1, valid & (x0 + 1 < out_w))
                if WIDE == 4:
                    s2 = _masked_sign(z2, valid & (x0 + 2 < out_w))
                    s3 = _masked_sign(z3, valid & (x0 + 3 < out_w))
                if MODE == 2:
                    if WIDE == 4:
                        total += tl.sum((s0 + s1) + (s2 + s3), axis=0)
                    else:
                        total += tl.sum(s0 + s1, axis=0)
                else:
                    row = ((img * y_h + uy + PAD) * y_w + x0 + PAD) * ldk
                    out = Y + row[:, None] + ch[None, :]
                    tl.store(out, s0.to(tl.bfloat16), mask=valid[:, None])
                    tl.store(out + ldk, s1.to(tl.bfloat16),
                             mask=(valid & (x0 + 1 < out_w))[:, None])
                    if WIDE == 4:
                        tl.store(out + 2 * ldk, s2.to(tl.bfloat16),
                                 mask=(valid & (x0 + 2 < out_w))[:, None])
                        tl.store(out + 3 * ldk, s3.to(tl.bfloat16),
                                 mask=(valid & (x0 + 3 < out_w))[:, None])
        if MODE == 2:
            tl.store(Y + img * k + ch, total.to(tl.int32), mask=ch < k)

    _INTERPRETED = not isinstance(_first_layer_kernel, triton.runtime.JITFunction)

    #: (BLOCK_N, BLOCK_K, num_warps, num_stages): few, device time is scarce. Four fp32
    #: accumulators of 64 x BLOCK_N; compiled for sm_90 (ptxas, no GPU needed) none spills:
    #: 238 registers at (128, 64, 8, 3), one block an SM; 120 at (64, 64, 8, 2) and 168 at
    #: (64, 32, 4, 3), two or three blocks an SM, so one's epilogue hides behind another's GEMM.
    FIRST_CONFIGS = [(128, 64, 8, 3), (64, 64, 4, 2), (128, 32, 8, 4), (64, 32, 4, 3),
                     (64, 64, 8, 2)]
    #: (BLOCK_P, BLOCK_C, WIDE, num_warps). Compiled for sm_90 at K = 5
    #: (benchmarks/kernel_sass.py, no GPU needed), the tap-row loop issues 2.3-2.6
    #: instructions per multiply-add at WIDE 2 and 1.9-2.1 at WIDE 4 (each loaded bf16 is
    #: widened once and serves more multiply-adds); WIDE 4 holds more registers (128-248,
    #: fewer blocks an SM to hide latency), so which is faster autotuning measures.
    DEPTHWISE_CONFIGS = [(32, 64, 2, 4), (16, 128, 2, 4), (64, 64, 2, 8),
                         (32, 64, 4, 4), (16, 64, 4, 4), (32, 64, 4, 8)]

    #: autotuning keys: the arguments a best configuration depends on
    FIRST_KEY = ["ldk", "KP"]
    DEPTHWISE_KEY = ["ldk", "x_h", "x_w", "out_h", "out_w", "KS", "MODE"]
    _first_layer = triton.autotune(
        [triton.Config({"BLOCK_N": n, "BLOCK_K": kb}, num_warps=w, num_stages=s)
         for n, kb, w, s in FIRST_CONFIGS], key=FIRST_KEY)(_first_layer_kernel)
    _depthwise = triton.autotune(
        [triton.Config({"BLOCK_P": p, "BLOCK_C": c, "WIDE": wide}, num_warps=w)
         for p, c, wide, w in DEPTHWISE_CONFIGS], key=DEPTHWISE_KEY)(_depthwise_kernel)
else:  # pragma: no cover
    _INTERPRETED = False

_fixed: tuple[int, int] | None = None


@contextlib.contextmanager
def fixed_configs(first: int = 0, depthwise: int = 0):
    """Within this block, no autotuning: ``FIRST_CONFIGS[first]``, ``DEPTHWISE_CONFIGS[depthwise]``
    (tests use it to run every configuration without tuning each geometry)."""
    global _fixed
    saved, _fixed = _fixed, (first, depthwise)
    try:
        yield
    finally:
        _fixed = saved


def available(device=None) -> bool:
    """Whether :func:`counts` can run on ``device``: a CUDA GPU of compute capability 8.0 or
    later with Triton, or Triton's interpreter (``TRITON_INTERPRET=1`` when this module was
    imported; it runs on the CPU, slowly)."""
    if triton is None:
        return False
    if _INTERPRETED:
        return True
    device = torch.device(device) if device is not None else torch.device("cuda")
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    # the kernels multiply bf16 tiles with tl.dot, native from compute capability 8.0
    # (A100, H100, RTX 30xx); a V100 or T4 takes the torch chain instead
    return torch.cuda.get_device_capability(device) >= (8, 0)


# --- geometry and weights -------------------------------------------------------------------

def _ceil(a: int, b: int) -> int:
    return -(-a // b) * b


def plan(net: RandomDepthwiseSignNet, height: int, width: int):
    """The fused engine's passes for ``height x width`` images.

    Returns ``((h1, w1), layers)``: the first layer's map size, and one
    ``(h_in, w_in, h_out, w_out, mode)`` per depthwise layer, ``mode`` one of
    MAP, POOLED (the next block's 2x2 sum fused into the store) or COUNTS (last layer).
    """
    if net.n_blocks < 1:
        raise ValueError("the fused engine needs n_blocks >= 1 (its first-layer kernel pools); "
                         "use rdsc.features.compute for n_blocks=0")
    K, p = net.kernel_size, net.padding
    h1, w1 = net.map_sizes(height, width)[1]
    h, w = h1 // 2, w1 // 2
    layers = []
    for i in range(2 * net.n_blocks):
        ho, wo = h + 2 * p - K + 1, w + 2 * p - K + 1
        mode = MAP if i % 2 == 0 else (COUNTS if i == 2 * net.n_blocks - 1 else POOLED)
        layers.append((h, w, ho, wo, mode))
        h, w = (ho // 2, wo // 2) if mode == POOLED else (ho, wo)
    return (h1, w1), layers


def _first_layer_pixels(net: RandomDepthwiseSignNet) -> torch.Tensor:
    """``(C K K + 1) x k`` float32 filters in pixel units, bias last (as in rdsc.features)."""
    k = net.n_features
    w = net.conv_weight.detach().reshape(k, -1).t().float().cpu()
    return torch.cat([w, 255.0 * net.conv_bias.detach().float().cpu()[None]])


class _Weights:
    """The network's weights laid out for the kernels on one device.

    Channels are padded to ``ldk`` (a multiple of every channel block) with zero
    weights and biases: padded channels compute zeros and the kernels need no masks.
    """

    def __init__(self, net: RandomDepthwiseSignNet, device: torch.device):
        k = net.n_features
        pixels = _first_layer_pixels(net)
        self.width = pixels.shape[0]                      # C K K + 1
        self.kp = _ceil(3 * self.width, K_ALIGN)
        self.ldk = _ceil(k, 32 if _INTERPRETED else N_ALIGN)
        hi = pixels.to(torch.bfloat16)
        rest = pixels - hi.float()                        # exact in float32
        mid = rest.to(torch.bfloat16)
        lo = (rest - mid.float()).to(torch.bfloat16)      # hi + mid + lo == pixels
        wm = torch.zeros(self.kp, self.ldk, dtype=torch.bfloat16)
        for i, part in enumerate((hi, mid, lo)):
            wm[i * self.width:(i + 1) * self.width, :k] = part
        self.first = wm.to(device)
        # depthwise weights tap-major (KK x ldk, channels contiguous); 1/4 of each average
        # pool folded into the convolution after it, as rdsc.features does
        self.depthwise = []
        for i, (wt, bs) in enumerate(net.depthwise_layers()):
            wt = wt.detach().float().cpu()
            wt = (wt / 4 if i % 2 == 0 else wt).reshape(k, -1).t()
            taps = torch.zeros(wt.shape[0], self.ldk)
            taps[:, :k] = wt
            bias = torch.zeros(self.ldk)
            bias[:k] = bs.detach().float().cpu()
            self.depthwise.append((taps.to(device), bias.to(device)))


_WEIGHTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _weights(net: RandomDepthwiseSignNet, device: torch.device,
             reuse: dict | None = None) -> _Weights:
    """The layout of ``net``'s weights on ``device``: from ``reuse`` (one extraction's
    dict: the weights it started with), else made once and kept while ``net`` lives, as
    long as its buffers hold the same values. The values are compared, not the buffers'
    addresses and version counters: an edit through ``.data`` or ``.numpy()`` moves no
    counter and a replaced buffer can land at a freed address (the old weights'
    counts were once returned, and cached under the edited weights' key), and tensors made
    under ``torch.inference_mode()`` have no counter at all."""
    made_for = reuse.get("weights_for") if reuse is not None else None
    if made_for is not None and made_for[0]() is net and made_for[1] == str(device):
        return reuse["weights"]
    buffers = [b.detach() for b in net.buffers()]
    kept = _WEIGHTS.get(net)
    if not (kept is not None and kept[0] == str(device) and len(kept[1]) == len(buffers)
            and all(a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b.cpu())
                    for a, b in zip(kept[1], buffers))):
        # one layout per network: a changed network replaces the old one
        kept = (str(device), [b.cpu().clone() for b in buffers], _Weights(net, device))
        _WEIGHTS[net] = kept
    if reuse is not None:
        reuse.update(weights_for=(weakref.ref(net), str(device)), weights=kept[2])
    return kept[2]


def _patches(x: torch.Tensor, net: RandomDepthwiseSignNet, kp: int, h1: int, w1: int):
    """uint8 ``n x C x H x W`` on the device -> bf16 ``4 * cells_padded x kp``.

    Row ``4g + m`` is member ``m`` of the pooling cell ``g`` (cells of all images in
    order, floor mode: an odd last row/column of the first map is never computed),
    its columns the ``C K K`` pixels and a 1 (the bias), three times (for hi, mid, lo).
    """
    n, K, width = x.shape[0], net.kernel_size, net.in_channels * net.kernel_size**2 + 1
    cols = F.unfold(x.to(torch.bfloat16), K, padding=net.first_padding)   # n x CKK x h1*w1
    hc, wc = h1 // 2, w1 // 2
    cy, cx, a, b = torch.meshgrid(*(torch.arange(s, device=x.device) for s in (hc, wc, 2, 2)),
                                  indexing="ij")
    pos = ((2 * cy + a) * w1 + 2 * cx + b).reshape(-1)                     # cells*4
    rows = n * hc * wc * 4
    p = torch.zeros(_ceil(n * hc * wc, BLOCK_CELLS) * 4, kp, dtype=torch.bfloat16,
                    device=x.device)
    p[:rows, :width - 1] = cols[:, :, pos].transpose(1, 2).reshape(rows, width - 1)
    p[:rows, width - 1] = 1
    p[:rows, width:2 * width] = p[:rows, :width]
    p[:rows, 2 * width:3 * width] = p[:rows, :width]
    return p


# --- the engine -----------------------------------------------------------------------------

def _launch_first(p, weights: _Weights, q, n_cells: int, hc: int, wc: int, pad: int):
    """First layer of ``n_cells`` pooling cells (``hc x wc`` an image) into the map ``q``."""
    tiles_m = -(-n_cells // BLOCK_CELLS)
    ldk = weights.ldk
    args = (p, weights.first, q, n_cells, ldk, weights.kp, hc * wc, wc, *_bordered((hc, wc), pad))
    if _INTERPRETED:  # few, large blocks: the interpreter's cost is per operation
        kernel, meta = _first_layer_kernel, dict(BLOCK_N=min(64, ldk & -ldk),
                                                 BLOCK_K=math.gcd(weights.kp, 256))
    elif _fixed is not None:
        n, kb, w, s = FIRST_CONFIGS[_fixed[0] % len(FIRST_CONFIGS)]
        kernel, meta = _first_layer_kernel, dict(BLOCK_N=n, BLOCK_K=kb, num_warps=w, num_stages=s)
    else:
        kernel, meta = _first_layer, {}
    kernel[lambda m: (tiles_m * (ldk // m["BLOCK_N"]),)](
        *args, PAD=pad, UPCAST=_INTERPRETED, BLOCK_CELLS=BLOCK_CELLS, GROUP=8, **meta)


def _launch_depthwise(x, weights: _Weights, i: int, y, n_img: int, k: int, layer, K: int,
                      pad: int):
    """Depthwise layer ``i`` (``layer`` from :func:`plan`) from the map ``x`` into ``y``."""
    h, w, ho, wo, mode = layer
    y_hw = (ho // 2, wo // 2) if mode == POOLED else (ho, wo)
    wt, bias = weights.depthwise[i]
    ldk = weights.ldk
    x_h, x_w = _bordered((h, w), pad)
    y_h, y_w = _bordered(y_hw, pad)
    args = (x, wt, bias, y, n_img, ldk, k, x_h, x_w, ho, wo, y_h, y_w)
    if _INTERPRETED:  # few, large blocks; WIDE from fixed_configs (4 unless told)
        wide = DEPTHWISE_CONFIGS[_fixed[1] % len(DEPTHWISE_CONFIGS)][2] if _fixed else MAX_WIDE
        units = ho * -(-wo // wide)   # at least the kernel's units
        kernel, meta = _depthwise_kernel, dict(BLOCK_P=min(256, triton.next_power_of_2(units)),
                                               BLOCK_C=min(64, ldk & -ldk), WIDE=wide)
    elif _fixed is not None:
        bp, bc, wide, nw = DEPTHWISE_CONFIGS[_fixed[1] % len(DEPTHWISE_CONFIGS)]
        kernel, meta = _depthwise_kernel, dict(BLOCK_P=bp, BLOCK_C=bc, WIDE=wide, num_warps=nw)
    else:
        kernel, meta = _depthwise, {}
    kernel[lambda m: (n_img, ldk // m["BLOCK_C"])](*args, KS=K, PAD=pad, MODE=mode, **meta)


def _bordered(hw, pad: int):
    """A map's ``(h, w)`` in memory: a zero border of ``pad``, MAX_WIDE - 1 more columns on
    the right (read, never used, by the last unit of a row when the width is not a multiple
    of its WIDE)."""
    return hw[0] + 2 * pad, hw[1] + 2 * pad + MAX_WIDE - 1


def _map_shapes(net: RandomDepthwiseSignNet, height: int, width: int):
    """``(h, w)`` in memory of every map the kernels write: each depthwise layer's input."""
    return [_bordered((h, w), net.padding) for h, w, _, _, _ in plan(net, height, width)[1]]


def batch_size_for(net: RandomDepthwiseSignNet, height: int, width: int) -> int:
    """Images per step: a step's bf16 maps (all layers, with borders) fit :data:`MAP_BUDGET`."""
    per_image = sum(h * w for h, w in _map_shapes(net, height, width))
    per_image *= _ceil(net.n_features, N_ALIGN) * 2
    return int(max(1, min(256, MAP_BUDGET // per_image)))


def counts(net: RandomDepthwiseSignNet, images: torch.Tensor, device=None, *,
           batch_size: int | None = None, timings: dict | None = None,
           reuse: dict | None = None) -> torch.Tensor:
    """Counts (sum of the final signs over the final map) of uint8 ``images``: ``N x k`` int32.

    Args:
        net: the random network (any kernel size, padding, channels; n_blocks >= 1).
        images: ``N x C x H x W`` uint8 tensor (0..255), on any device.
        device: where to compute (default CUDA); see :func:`available`.
        batch_size: images per step (default :func:`batch_size_for`).
        timings: if a dict, seconds spent per stage are added to it (synchronises).
        reuse: a dict the caller keeps between calls on batches of one size, of one
            network whose weights do not change meanwhile: the weights' layout and the
            map buffers are made (and zeroed, up to 4 GB) once and kept in it. Without
            it each call makes its own buffers (the layout is kept with ``net``, checked
            against its weights' values at every call).

    Returns an int32 tensor on ``device`` (all ``N`` rows at once: pass large sets in
    chunks), equal to :func:`rdsc.features.compute` except where a pre-activation is
    within float32 rounding of zero (see the module docstring).
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor (uint8, N x C x H x W), "
                        f"got {type(images).__name__}")
    if images.dtype != torch.uint8:
        raise TypeError(f"images must be uint8 pixels 0..255 for the fused engine, got "
                        f"{images.dtype}; use rdsc.features.compute for float images")
    net.check_input(images, allow_uint8=True)
    (h1, w1), layers = plan(net, images.shape[2], images.shape[3])   # checks n_blocks
    step = (batch_size_for(net, *images.shape[2:]) if batch_size is None
            else whole_number("batch_size", batch_size))   # True was used as 1
    device = torch.device(device) if device is not None else torch.device("cuda")
    if not available(device):
        raise RuntimeError(f"the fused engine cannot run on {device}: it needs Triton and a "
                           "CUDA GPU of compute capability 8.0 or later (or TRITON_INTERPRET=1 "
                           "set before importing rdsc.fused, on the CPU); use "
                           "rdsc.features.compute(engine='chain')")
    if device.type == "cuda" and device.index is None:   # the layout's key names the GPU
        device = torch.device("cuda", torch.cuda.current_device())
    n, k, K, pad = len(images), net.n_features, net.kernel_size, net.padding
    weights = _weights(net, device, reuse)
    step = min(step, max(1, n))
    out = torch.empty(n, k, dtype=torch.int32, device=device)
    clock = _Clock(device, timings)
    # Triton launches on the current CUDA device's stream, whatever its arguments' device
    current = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
    with torch.inference_mode(), current:
        # one buffer per depthwise layer's input, reused by every step: the kernels write
        # only interiors, so the zero borders (the convolutions' padding) stay zero
        maps = _map_buffers(reuse, step, _map_shapes(net, *images.shape[2:]), weights.ldk, pad,
                            device)
        clock.lap("buffers")
        for lo in range(0, n, step):
            x = images[lo:lo + step].to(device, non_blocking=True)
            m = len(x)
            p = _patches(x, net, weights.kp, h1, w1)
            clock.lap("patches")
            _launch_first(p, weights, maps[0], m * (h1 // 2) * (w1 // 2), h1 // 2, w1 // 2, pad)
            del p
            clock.lap("first layer")
            for i, layer in enumerate(layers):
                y = out[lo:lo + m] if layer[4] == COUNTS else maps[i + 1]
                _launch_depthwise(maps[i], weights, i, y, m, k, layer, K, pad)
            clock.lap("depthwise")
    return out


def _map_buffers(reuse: dict | None, step: int, shapes, ldk: int, pad: int,
                 device: torch.device):
    """Zeroed ``step x h x w x ldk`` bf16 maps for ``shapes``; kept in ``reuse`` when given.

    Reusing them is safe: the kernels write only the interiors, so the zero borders stay
    zero, and the caching allocator orders later work on the same stream after earlier.
    The border is ``pad`` wide, so the key holds it: two networks with equal map shapes but
    another padding would otherwise read the other's interior as their border.
    """
    key = (tuple(shapes), ldk, pad, str(device))
    if reuse is not None and reuse.get("key") == key and len(reuse["maps"][0]) >= step:
        return reuse["maps"]
    if reuse is not None:
        reuse.pop("maps", None)   # free the old maps before making new ones
        reuse.pop("key", None)
    maps = [torch.zeros(step, h, w, ldk, dtype=torch.bfloat16, device=device) for h, w in shapes]
    if reuse is not None:
        reuse.update(key=key, maps=maps)
    return maps


class _Clock:
    """Adds wall seconds per stage to ``timings`` (synchronising CUDA); a no-op without it."""

    def __init__(self, device: torch.device, timings: dict | None):
        self.device, self.timings = device, timings
        self.last = self._now() if timings is not None else 0.0

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def lap(self, stage: str) -> None:
        if self.timings is None:
            return
        now = self._now()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
        self.last = now


# --- the float64 reference with its ties ----------------------------------------------------

def exact_counts(net: RandomDepthwiseSignNet, images: torch.Tensor, device=None, *,
                 slack: float = 2.0, channel_chunk: int = 2048):
    """Counts from float64 arithmetic, and which of them float32 engines may get otherwise.

    Computes the engine's chain (pixel units, first-layer filters as the float32 numbers
    of :mod:`rdsc.features`, 2x2 sums, quartered float32 weights after each pool) in
    float64, which is exact to far below float32 rounding. A pre-activation is a
    *near tie* when ``|z| <= slack * n * 2^-24 * sum|terms|``: the worst-case float32
    accumulation error of its ``n`` terms (``3 (C K K + 1)`` in the first layer,
    ``K K + 2`` in a depthwise one, one more for rounded products), doubled by default
    for accumulators that truncate. A float32 engine may flip such a sign; any other
    sign it must get right.

    Args:
        images: ``N x C x H x W`` uint8.
    Returns:
        ``(counts, uncertain)``: int64 and bool tensors ``N x k`` on the CPU;
        ``uncertain[i, j]`` when feature ``j`` of image ``i`` passes a near tie anywhere
        in its chain (positions that floor-mode pooling drops do not count).
    """
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
        raise TypeError("images must be a uint8 torch.Tensor N x C x H x W")
    net.check_input(images, allow_uint8=True)
    device = torch.device(device) if device is not None else images.device
    n, k, K, p = len(images), net.n_features, net.kernel_size, net.padding
    n_blocks = net.n_blocks
    x = images.to(device).double()
    h1, w1 = net.map_sizes(images.shape[2], images.shape[3])[1]
    cols = F.unfold(x, K, padding=net.first_padding)                        # n x CKK x h1 w1
    cols = torch.cat([cols, torch.ones_like(cols[:, :1])], dim=1)           # bias row
    pixels = _first_layer_pixels(net).double().to(device)                   # (CKK+1) x k
    first_bound = slack * 3 * pixels.shape[0] * _U
    counts = torch.empty(n, k, dtype=torch.int64)
    uncertain = torch.zeros(n, k, dtype=torch.bool)
    depthwise = [((wt.float() / 4 if i % 2 == 0 else wt.float()).double().to(device),
                  bs.double().to(device)) for i, (wt, bs) in enumerate(net.depthwise_layers())]
    dw_bound = slack * (K * K + 2) * _U
    for c0 in range(0, k, channel_chunk):
        c1 = min(k, c0 + channel_chunk)
        w = pixels[:, c0:c1]
        z = torch.einsum("npl,pc->ncl", cols, w).reshape(n, c1 - c0, h1, w1)
        mag = torch.einsum("npl,pc->ncl", cols.abs(), w.abs()).reshape(z.shape)
        tied = _near_ties(z, first_bound * mag, crop=n_blocks > 0)
        h = torch.sign(z)
        for i, (wt, bs) in enumerate(depthwise):
            if i % 2 == 0:
                h = F.avg_pool2d(h, 2) * 4        # exact 2x2 sums (floor mode)
            wt, bs = wt[c0:c1], bs[c0:c1]
            z = F.conv2d(h, wt, bs, padding=p, groups=c1 - c0)
            mag = F.conv2d(h.abs(), wt.abs(), bs.abs(), padding=p, groups=c1 - c0)
            tied |= _near_ties(z, dw_bound * mag, crop=i % 2 == 1 and i < 2 * n_blocks - 1)
            h = torch.sign(z)
        counts[:, c0:c1] = h.sum(dim=(2, 3)).round().long().cpu()
        uncertain[:, c0:c1] = tied.cpu()
    return counts, uncertain


def _near_ties(z: torch.Tensor, bound: torch.Tensor, crop: bool) -> torch.Tensor:
    """``n x c``: some position of ``z`` (``n x c x h x w``) within ``bound`` of zero."""
    if crop:  # a floor-mode 2x2 pooling follows: its dropped row/column never matters
        hh, ww = z.shape[2] // 2 * 2, z.shape[3] // 2 * 2
        z, bound = z[:, :, :hh, :ww], bound[:, :, :hh, :ww]
    return (z.abs() <= bound).flatten(2).any(dim=2)


def first_layer_flops(net: RandomDepthwiseSignNet, height: int, width: int) -> int:
    """Multiply-add FLOPs per image of the exact 3-way bf16 first layer (``2 h w k 3(CKK+1)``)."""
    h1, w1 = net.map_sizes(height, width)[1]
    return 2 * h1 * w1 * net.n_features * 3 * (net.in_channels * net.kernel_size**2 + 1)


__all__ = ["available", "counts", "exact_counts", "plan", "batch_size_for", "first_layer_flops"]
