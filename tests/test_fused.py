"""The fused Triton engine: the CPU engine's counts except at sign ties, on every preset geometry.

The kernels run under Triton's interpreter (``TRITON_INTERPRET=1``, on the CPU) in one
subprocess, since the variable must be set before Triton's kernels are defined; the
same comparison on CUDA, at larger k, runs where there is a GPU.
"""
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rdsc import features, fused
from rdsc.network import RandomDepthwiseSignNet

ROOT = Path(__file__).resolve().parents[1]
needs_triton = pytest.mark.skipif(fused.triton is None, reason="Triton is not installed")

# (preset, image side, k): odd sides, so floor-mode pooling drops a row and a column
# somewhere in every geometry; k not a multiple of the channel blocks
CASES = [("cifar10", 33, 40), ("cifar10", 32, 24), ("stl10", 37, 24),
         ("miniimagenet10", 33, 24), ("corel", 27, 40)]
N_IMAGES = 3

_SCRIPT = r"""
import json, sys
import numpy as np, torch
from rdsc import features, fused
from rdsc.network import RandomDepthwiseSignNet
assert fused._INTERPRETED and fused.available("cpu")
out = {}
for preset, side, k in json.loads(sys.argv[1]):
    net = RandomDepthwiseSignNet.for_dataset(preset, k)
    gen = torch.Generator().manual_seed(side + k)
    x = torch.randint(0, 256, (%d, 3, side, side), dtype=torch.uint8, generator=gen)
    x[0, :, : side // 2] = 0        # flat regions: many equal patches, pooled sums of +-4
    x[1, :, :, side // 3:] = 255
    got = fused.counts(net, x, "cpu").numpy()                  # depthwise units 4 wide
    with fused.fixed_configs(0, 0):                             # and 2 wide
        assert fused.DEPTHWISE_CONFIGS[0][2] == 2
        pairs = fused.counts(net, x, "cpu").numpy()
    cpu = features.compute(net, x, device="cpu", progress=False)
    exact, uncertain = fused.exact_counts(net, x)
    out[f"{preset}-{side}-{k}"] = dict(fused=got.tolist(), fused_pairs=pairs.tolist(),
                                       cpu=cpu.tolist(), exact=exact.tolist(),
                                       uncertain=uncertain.tolist())
# map buffers kept between calls (as rdsc.features does): a smaller second batch, and
# steps within a call, over maps still holding the first batch's signs
net = RandomDepthwiseSignNet.for_dataset("cifar10", 24)
x = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8,
                  generator=torch.Generator().manual_seed(7))
reuse = {}
first = fused.counts(net, x[:3], "cpu", reuse=reuse)
kept = reuse["maps"]
second = fused.counts(net, x[3:], "cpu", batch_size=1, reuse=reuse)
out["reuse"] = dict(reused=torch.cat([first, second]).tolist(),
                    fresh=fused.counts(net, x, "cpu").tolist(),
                    same_buffers=all(a is b for a, b in zip(kept, reuse["maps"])))
# one dict shared by two networks whose maps have equal shapes but other borders (K = 3,
# padding 1 on 32 x 32; K = 5, padding 2 on 30 x 30): the second must not reuse the first's
a_net = RandomDepthwiseSignNet(32, kernel_size=3, n_blocks=1, seed=1)
b_net = RandomDepthwiseSignNet(32, kernel_size=5, n_blocks=1, seed=2)
xb = torch.randint(0, 256, (2, 3, 30, 30), dtype=torch.uint8,
                   generator=torch.Generator().manual_seed(8))
assert fused._map_shapes(a_net, 32, 32) == fused._map_shapes(b_net, 30, 30)
shared = {}
fused.counts(a_net, torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8), "cpu",
             reuse=shared)
out["shared"] = dict(reused=fused.counts(b_net, xb, "cpu", reuse=shared).tolist(),
                     fresh=fused.counts(b_net, xb, "cpu").tolist())
# a channel whose filter and bias are exactly zero: every first-layer value is an exact 0,
# whose sign is 0 (a kernel with sign(0) = -1 once passed, the tie detector
# excusing every such feature)
zero = RandomDepthwiseSignNet.for_dataset("cifar10", 8, seed=3)
zero.conv_weight[3].zero_()
zero.conv_bias[3].zero_()
out["zero"] = dict(fused=fused.counts(zero, x, "cpu").tolist(),
                   cpu=features.compute(zero, x, device="cpu", progress=False).tolist())
print("RESULT" + json.dumps(out))
""" % N_IMAGES


@pytest.fixture(scope="module")
def interpreted():
    """Counts of every case from the interpreted kernels, the CPU engine and float64."""
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(CASES)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("RESULT"))
    return {key: {name: np.array(v) if isinstance(v, list) else v for name, v in case.items()}
            for key, case in json.loads(line[len("RESULT"):]).items()}


def check_equal_outside_ties(fused_counts, cpu_counts, exact, uncertain, where=""):
    """Every feature without a near tie in its chain: fused == CPU engine == float64."""
    assert fused_counts.shape == cpu_counts.shape == exact.shape == uncertain.shape
    sure = ~uncertain
    # the tie detector must leave most features to check, or this test proves nothing
    assert sure.mean() > 0.75, f"{where}: only {sure.mean():.0%} of features are tie-free"
    assert np.array_equal(cpu_counts[sure], exact[sure]), f"{where}: CPU engine vs float64"
    bad = np.argwhere((fused_counts != cpu_counts) & sure)
    assert len(bad) == 0, (f"{where}: fused differs from the CPU engine at {len(bad)} tie-free "
                           f"(image, feature) pairs, e.g. {bad[:5].tolist()}")


@needs_triton
@pytest.mark.parametrize("preset,side,k", CASES)
def test_interpreted_kernels_match_the_cpu_engine(interpreted, preset, side, k):
    case = interpreted[f"{preset}-{side}-{k}"]
    for name, wide in (("fused", 4), ("fused_pairs", 2)):
        assert case[name].shape == (N_IMAGES, k)
        check_equal_outside_ties(case[name], case["cpu"], case["exact"],
                                 case["uncertain"].astype(bool),
                                 f"{preset} {side}px k={k}, depthwise units {wide} wide")


@needs_triton
def test_map_buffers_kept_between_calls_give_the_same_counts(interpreted):
    case = interpreted["reuse"]
    assert case["same_buffers"], "the second, smaller call made new map buffers"
    assert np.array_equal(case["reused"], case["fresh"])
    shared = interpreted["shared"]  # two networks, equal map shapes, other paddings
    assert np.array_equal(shared["reused"], shared["fresh"])


@needs_triton
def test_an_exactly_zero_first_layer_has_sign_zero_in_the_kernels(interpreted):
    case = interpreted["zero"]
    assert np.array_equal(case["fused"][:, 3], case["cpu"][:, 3])


def test_every_preset_geometry_is_covered():
    from rdsc.network import PRESETS
    geometries = {(p["kernel_size"], p["n_blocks"]) for p in PRESETS.values()}
    covered = {(PRESETS[c[0]]["kernel_size"], PRESETS[c[0]]["n_blocks"]) for c in CASES}
    assert geometries <= covered


def test_plan_follows_the_network_map_sizes():
    for preset, side, _ in CASES:
        net = RandomDepthwiseSignNet.for_dataset(preset, 4)
        (h1, w1), layers = fused.plan(net, side, side)
        sizes = net.map_sizes(side, side)
        assert (h1, w1) == sizes[1]
        ends = [(ho, wo) for _, _, ho, wo, _ in layers[1::2]]  # the map after each block
        assert ends == sizes[2:]
        assert [m for *_, m in layers][-1] == fused.COUNTS


def test_exact_counts_flags_exact_ties_and_agrees_with_the_network():
    net = RandomDepthwiseSignNet.for_dataset("corel", 16)
    x = torch.randint(0, 256, (2, 3, 20, 20), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(3))
    counts, uncertain = fused.exact_counts(net, x)
    h, w = net.output_map_size(20, 20)
    with torch.no_grad():
        reference = (net.double()(x.double() / 255) * h * w).round().long()
    assert torch.equal(counts[~uncertain], reference[~uncertain])
    # a filter that is exactly zero gives exact zero pre-activations: all of them are ties
    net.conv_weight[3].zero_()
    net.conv_bias[3].zero_()
    counts, uncertain = fused.exact_counts(net, x)
    assert uncertain[:, 3].all() and not uncertain.all()


def test_weight_layout_is_exact_and_follows_in_place_changes():
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 50)
    w = fused._weights(net, torch.device("cpu"))
    width, k = w.width, 50
    parts = w.first[:3 * width, :k].float().reshape(3, width, k)
    pixels = torch.cat([net.conv_weight.reshape(k, -1).t(), 255.0 * net.conv_bias[None]])
    assert torch.equal(parts.sum(0), pixels)        # hi + mid + lo == the float32 filters
    assert w.first[3 * width:].abs().sum() == 0 and w.first[:, k:].abs().sum() == 0
    assert fused._weights(net, torch.device("cpu")) is w
    net.dw0_bias.mul_(2)
    assert torch.equal(fused._weights(net, torch.device("cpu")).depthwise[0][1][:k], net.dw0_bias)


def _first_filters(net, device="cpu"):
    """The float32 filters the fused layout holds for ``net`` (hi + mid + lo), k x CKK+1."""
    w = fused._weights(net, torch.device(device))
    k = net.n_features
    return w.first[:3 * w.width, :k].float().reshape(3, w.width, k).sum(0).t()


def test_weight_layout_follows_edits_no_version_counter_sees():
    """Edits through .data or a .numpy() view move no version counter, and a replaced
    buffer can land at a freed address: the layout keyed on (data_ptr, _version) once
    returned the old network's counts (48 of 48 wrong), cached under the new weights' key."""
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 16)
    before = _first_filters(net)
    net.conv_weight.data.mul_(-1)                       # no version bump
    assert torch.equal(_first_filters(net)[:, :-1], -before[:, :-1])
    net.conv_bias.numpy()[:] = 0.3                      # nor here
    assert torch.allclose(_first_filters(net)[:, -1], torch.full((16,), 255 * 0.3))
    for scale in (-1.0, 0.5, 2.0):                      # new tensors, maybe at old addresses
        net.conv_weight = net.conv_weight * scale
        assert torch.equal(_first_filters(net)[:, :-1],
                           net.conv_weight.reshape(16, -1).float())


def test_a_network_made_under_inference_mode_has_a_weight_layout():
    """'Inference tensors do not track version counter' once came from the layout's key."""
    with torch.inference_mode():
        net = RandomDepthwiseSignNet.for_dataset("cifar10", 8)
    assert torch.equal(_first_filters(net)[:, :-1], net.conv_weight.reshape(8, -1))


def test_one_extractions_layout_is_read_from_its_reuse_dict(monkeypatch):
    """The weights are compared with the layout's copy once per extraction, not per batch
    (the earlier test passed with the reuse dict ignored)."""
    compared = []
    real_equal = torch.equal
    monkeypatch.setattr(fused.torch, "equal", lambda a, b: compared.append(1) or real_equal(a, b))
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 8)
    cpu = torch.device("cpu")
    w = fused._weights(net, cpu)            # made: nothing to compare with yet
    assert fused._weights(net, cpu) is w and len(compared) == len(list(net.buffers()))
    compared.clear()
    reuse = {}
    assert fused._weights(net, cpu, reuse) is w and compared      # the extraction's first
    compared.clear()
    for _ in range(3):                                            # its later batches
        assert fused._weights(net, cpu, reuse) is w
    assert not compared
    other = RandomDepthwiseSignNet.for_dataset("cifar10", 8, seed=5)
    assert fused._weights(other, cpu, reuse) is not w   # not another network's layout


def test_counts_rejects_bad_input():
    net = RandomDepthwiseSignNet(8)
    with pytest.raises(TypeError, match="uint8"):
        fused.counts(net, torch.rand(2, 3, 32, 32))
    with pytest.raises(TypeError, match="torch.Tensor"):
        fused.counts(net, np.zeros((2, 3, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="channels"):
        fused.counts(net, torch.zeros(2, 32, 32, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match="n_blocks"):
        fused.counts(RandomDepthwiseSignNet(8, n_blocks=0),
                     torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    for bad in (True, 0, 2.0, "2"):   # True was read as 1
        with pytest.raises(ValueError, match="batch_size must be a whole number"):
            fused.counts(net, torch.zeros(2, 3, 32, 32, dtype=torch.uint8), batch_size=bad)
    if not fused.available("cpu"):
        with pytest.raises(RuntimeError, match="CUDA"):
            fused.counts(net, torch.zeros(2, 3, 32, 32, dtype=torch.uint8), "cpu")


class _Recorder:
    """Stands in for a Triton kernel: ``kernel[grid](*args, **kwargs)`` records the call."""

    def __init__(self):
        self.calls = []

    def __getitem__(self, grid):
        return lambda *args, **kwargs: self.calls.append((grid, args, kwargs))


@needs_triton
@pytest.mark.parametrize("tuned", [True, False])
def test_launches_pass_every_kernel_argument(monkeypatch, tuned):
    """The GPU launch path (autotuned or fixed) without a GPU: arguments, keys and grids."""
    if fused._INTERPRETED:
        pytest.skip("TRITON_INTERPRET is set: the launches take the interpreter's path")
    first_names = fused._first_layer_kernel.arg_names
    dw_names = fused._depthwise_kernel.arg_names
    assert set(fused.FIRST_KEY) <= set(first_names) and set(fused.DEPTHWISE_KEY) <= set(dw_names)
    recorders = {name: _Recorder() for name in ("_first_layer", "_first_layer_kernel",
                                                 "_depthwise", "_depthwise_kernel")}
    for name, rec in recorders.items():
        monkeypatch.setattr(fused, name, rec)
    net = RandomDepthwiseSignNet.for_dataset("miniimagenet10", 300)
    weights = fused._weights(net, torch.device("cpu"))
    (h1, w1), layers = fused.plan(net, 41, 41)
    with fused.fixed_configs(1, 2) if not tuned else contextlib.nullcontext():
        fused._launch_first(None, weights, None, 7 * (h1 // 2) * (w1 // 2), h1 // 2, w1 // 2, 2)
        for i, layer in enumerate(layers):
            fused._launch_depthwise(None, weights, i, None, 7, 300, layer, 5, 2)
    tiles_m = -(-7 * (h1 // 2) * (w1 // 2) // fused.BLOCK_CELLS)
    first = recorders["_first_layer" if tuned else "_first_layer_kernel"].calls
    dw = recorders["_depthwise" if tuned else "_depthwise_kernel"].calls
    assert len(first) == 1 and len(dw) == len(layers)
    for (grid, args, kwargs), names, configs, block in (
            [(c, first_names, fused.FIRST_CONFIGS, "BLOCK_N") for c in first]
            + [(c, dw_names, fused.DEPTHWISE_CONFIGS, "BLOCK_C") for c in dw]):
        tuned_names = {block, "BLOCK_K"} if block == "BLOCK_N" else {block, "BLOCK_P", "WIDE"}
        given = set(names[:len(args)]) | set(kwargs)
        expected = set(names) - (tuned_names if tuned else set())
        assert given - {"num_warps", "num_stages"} == expected
        sizes = [c[0] if block == "BLOCK_N" else c[1] for c in configs]
        for size in sizes:  # every configuration's grid covers the padded channels exactly
            g = grid({**kwargs, block: size})
            want = ((tiles_m * weights.ldk // size,) if block == "BLOCK_N"
                    else (7, weights.ldk // size))
            assert g == want and weights.ldk % size == 0


# one fixed configuration of each kernel per case (autotuning every geometry is slow)
CUDA_CASES = [(0, "cifar10", 32), (1, "stl10", 45), (2, "miniimagenet10", 43), (3, "corel", 35),
              (4, "cifar10", 31), (5, "stl10", 42)]


@needs_triton
def test_every_kernel_configuration_has_a_cuda_case():
    configs = {c for c, _, _ in CUDA_CASES}
    assert configs >= set(range(len(fused.FIRST_CONFIGS)))
    assert configs >= set(range(len(fused.DEPTHWISE_CONFIGS)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("config,preset,side", CUDA_CASES)
def test_cuda_kernels_match_the_cpu_engine(config, preset, side):
    """Compiled kernels, one fixed configuration each (autotuning every geometry is slow)."""
    if fused._INTERPRETED:
        pytest.skip("TRITON_INTERPRET is set: the compiled kernels are not in use")
    k = 1000  # not a multiple of 128: padded channels
    net = RandomDepthwiseSignNet.for_dataset(preset, k)
    x = torch.randint(0, 256, (12, 3, side, side), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(side))
    x[0, :, : side // 2] = 0
    with fused.fixed_configs(config, config):
        got = fused.counts(net, x, "cuda", batch_size=5).cpu().numpy()  # 3 steps, a short one
    cpu = features.compute(net, x, device="cpu", progress=False)
    exact, uncertain = fused.exact_counts(net, x, "cuda")
    check_equal_outside_ties(got, cpu, exact.numpy(), uncertain.numpy(), f"CUDA {preset}")


def test_gpus_without_native_bf16_take_the_torch_chain(monkeypatch):
    # tl.dot on bf16 needs compute capability 8.0: a V100 (7.0) or T4 (7.5) must not be given
    # the fused kernels, an A100 (8.0) or H200 (9.0) is
    if fused.triton is None or fused._INTERPRETED:
        pytest.skip("needs Triton, not its interpreter")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for capability, expected in (((7, 0), False), ((7, 5), False), ((8, 0), True),
                                 ((9, 0), True)):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None, c=capability: c)
        assert fused.available("cuda") is expected, capability
    assert fused.available("cpu") is False
