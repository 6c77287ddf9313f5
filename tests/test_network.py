"""The network: the central equivalence, determinism, the paper's map sizes, bad input."""
import warnings

import numpy as np
import pytest
import torch

from rdsc.network import (PRESETS, IndependentBlocks, RandomDepthwiseSignNet,
                          layer_by_layer_features)


def images(n=6, size=32, seed=0):
    return torch.randint(0, 256, (n, 3, size, size),
                         generator=torch.Generator().manual_seed(seed)).float() / 255


SIZES = {"cifar10": 32, "cifar100": 32, "stl10": 40, "miniimagenet10": 48, "corel": 40,
         "mnist": 28}


def test_the_block_test_covers_every_preset():
    """Chapter 2 says the tests check the two formulations for every dataset preset (mnist
    and cifar100 were once left out)."""
    from rdsc.network import PRESETS
    assert set(SIZES) == set(PRESETS)


@pytest.mark.parametrize("dataset", sorted(SIZES))
def test_depthwise_network_equals_independent_blocks(dataset):
    net = RandomDepthwiseSignNet.for_dataset(dataset, 24, seed=7)
    x = images(5, SIZES[dataset])[:, :net.in_channels]
    depthwise = net(x)
    blocks = IndependentBlocks(net)(x)
    assert depthwise.shape == (5, 24)
    assert torch.equal(depthwise, blocks)  # exactly: feature i is block i


def test_features_are_means_of_signs():
    net = RandomDepthwiseSignNet(16)
    f = net(images())
    h, w = net.output_map_size(32, 32)
    assert (h, w) == (15, 15)
    assert f.abs().max() <= 1
    assert torch.allclose(f * h * w, (f * h * w).round(), atol=1e-4)


@pytest.mark.parametrize("dataset,size,expected", [
    ("cifar10", 32, [(32, 32), (30, 30), (15, 15)]),
    ("stl10", 96, [(96, 96), (96, 96), (48, 48), (24, 24), (12, 12)]),
    ("miniimagenet10", 112, [(112, 112), (110, 110), (55, 55), (27, 27)]),
    ("corel", 128, [(128, 128), (128, 128), (64, 64), (32, 32)]),
])
def test_map_sizes_follow_the_paper(dataset, size, expected):
    assert RandomDepthwiseSignNet.for_dataset(dataset, 4).map_sizes(size, size) == expected


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = (RandomDepthwiseSignNet(50, seed=1), RandomDepthwiseSignNet(50, seed=1),
               RandomDepthwiseSignNet(50, seed=2))
    for (name, t), (_, u), (_, v) in zip(a.state_dict().items(), b.state_dict().items(),
                                         c.state_dict().items()):
        assert torch.equal(t, u), name
        assert not torch.equal(t, v), name


def test_the_drawn_weights_and_their_features_are_pinned():
    """Another seed string or block size redraws every weight, and so every number of the
    book, and once no test failed; the feature caches would still serve the
    old network's features (a drawn network's cache key is its settings). A deliberate
    change must update these values and bump rdsc.features.ENGINE_VERSION."""
    from rdsc.features import compute
    from rdsc.network import weights_digest
    net = RandomDepthwiseSignNet.for_dataset("cifar10", 2048, seed=2020)
    assert net.conv_weight.flatten()[:3].tolist() == [
        -3.504774332046509, 0.8848795294761658, 0.3007882535457611]
    # channels of the second block of 1,024 (its own generator)
    assert net.conv_bias[[0, 1024, 2047]].tolist() == [
        -0.4001985788345337, 0.4605039060115814, -1.1911929845809937]
    assert weights_digest(net) == "833e655f94d99d5b8426"
    i = torch.arange(2 * 3 * 32 * 32)
    x = ((i * i) % 251).to(torch.uint8).reshape(2, 3, 32, 32)
    expected = [[131, -97, -221, 83, -203, -149, -135, -71],
                [111, -97, -221, 65, -203, -171, -143, -47]]
    small = RandomDepthwiseSignNet.for_dataset("cifar10", 8, seed=2020)
    assert compute(small, x, progress=False).tolist() == expected
    assert (small(x.float() / 255) * 225).round().int().tolist() == expected


def test_fewer_features_are_the_first_channels():
    big, small = RandomDepthwiseSignNet(2100, n_blocks=2), RandomDepthwiseSignNet(700, n_blocks=2)
    for (name, t), (_, u) in zip(big.state_dict().items(), small.state_dict().items()):
        assert torch.equal(t[:700], u), name
    x = images(3, 40)
    assert torch.equal(big(x)[:, :700], small(x))


def test_weights_are_standard_normal():
    w = RandomDepthwiseSignNet(4000).conv_weight
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    r = RandomDepthwiseSignNet(100, init="rademacher").conv_weight
    assert set(r.unique().tolist()) == {-1.0, 1.0}
    u = RandomDepthwiseSignNet(100, init="uniform").conv_weight
    assert u.min() >= -1 and u.max() <= 1
    # all-zero weights passed; uniform on [-1, 1] has variance 1/3
    assert abs(u.mean()) < 0.05 and abs(u.var() - 1 / 3) < 0.03 and u.max() - u.min() > 1.9


def test_same_features_for_every_batch_size():
    net = RandomDepthwiseSignNet(32)
    x = images(9)
    whole = net(x)
    parts = torch.cat([net(x[i:i + 2]) for i in range(0, 9, 2)])
    assert torch.equal(whole, parts)


def test_layer_by_layer_features_in_batches_in_any_dtype():
    net = RandomDepthwiseSignNet(16)
    x = torch.randint(0, 256, (7, 3, 32, 32), generator=torch.Generator().manual_seed(1),
                      dtype=torch.uint8)
    whole = net(x.float() / 255).numpy()
    got = layer_by_layer_features(net, x, batch_size=3)
    assert got.dtype == np.float32 and np.array_equal(got, whole)
    exact = layer_by_layer_features(net, x, dtype=torch.float64, batch_size=2)
    assert exact.dtype == np.float32
    assert np.array_equal(exact, net.double()(x.double() / 255).float().numpy())
    assert net.conv_weight.dtype == torch.float64   # the caller's net, as it left it
    net.float()
    layer_by_layer_features(net, x[:2], dtype=torch.float64)
    assert net.conv_weight.dtype == torch.float32   # not changed by the call
    assert layer_by_layer_features(net, x[:0]).shape == (0, 16)
    with pytest.raises(TypeError, match="uint8 images"):
        layer_by_layer_features(net, x.float() / 255)


def test_layer_by_layer_features_in_chunks_of_channels(monkeypatch):
    """The whole network's maps of a batch once took 12 GB at k = 100,000; chunks of
    channels compute the same features and leave the network as it was."""
    from rdsc import network
    net = RandomDepthwiseSignNet(50, seed=5)
    saved = {name: b.clone() for name, b in net.named_buffers()}
    x = torch.randint(0, 256, (5, 3, 32, 32), generator=torch.Generator().manual_seed(2),
                      dtype=torch.uint8)
    whole = net(x.float() / 255).numpy()
    for chunk in (1, 7, 50, 64):
        assert np.array_equal(layer_by_layer_features(net, x, channel_chunk=chunk), whole)
    exact = net.double()(x.double() / 255).float().numpy()
    net.float()
    assert np.array_equal(layer_by_layer_features(net, x, torch.float64, channel_chunk=9),
                          exact)
    assert all(torch.equal(b, saved[name]) for name, b in net.named_buffers())
    assert net.n_features == 50
    # the default chunk keeps a step's maps near the budget: here 4 channels a chunk
    monkeypatch.setattr(network, "LAYER_BY_LAYER_BYTES", 4 * 32 * 900 * 4 * 5)
    steps = []
    real = network._channels
    monkeypatch.setattr(network, "_channels",
                        lambda n, lo, hi: steps.append(hi - lo) or real(n, lo, hi))
    assert np.array_equal(layer_by_layer_features(net, x), whole)
    assert steps == [4] * 12 + [2]
    with pytest.raises(ValueError, match="channel_chunk"):
        layer_by_layer_features(net, x, channel_chunk=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_same_weights_and_features_on_cuda():
    from rdsc.features import extract
    net = RandomDepthwiseSignNet(64)
    gpu = RandomDepthwiseSignNet(64).cuda()
    for (name, t), (_, u) in zip(net.state_dict().items(), gpu.state_dict().items()):
        assert torch.equal(t, u.cpu()), name
    x = images(8)
    # the engine on CUDA gives the CPU network's features, up to sign ties; cuDNN's own
    # float32 convolution does not (about 30% of features move by a few 1/225 on an H100)
    on_gpu = torch.as_tensor(np.asarray(extract(gpu, x, device="cuda", progress=False)))
    assert (net(x) != on_gpu).float().mean() < 1e-3
    # the float64 referee in chunks of channels on CUDA (another `groups` may
    # take another cuDNN algorithm) gives the CPU's whole network's features
    pixels = (x * 255).round().to(torch.uint8)
    chunked = layer_by_layer_features(gpu, pixels, torch.float64, device="cuda",
                                      channel_chunk=7)
    whole = layer_by_layer_features(net, pixels, torch.float64)
    assert (chunked != whole).mean() < 1e-3


def test_bad_input_gets_clear_errors():
    net = RandomDepthwiseSignNet(8)
    with pytest.raises(ValueError, match="expected 3 channels, got 1"):
        net(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="channels last"):
        net(torch.rand(2, 32, 32, 3))
    with pytest.raises(TypeError, match="uint8.*float"):
        net(torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8))
    with pytest.raises(ValueError, match="too small.*at least"):
        net(torch.rand(2, 3, 3, 3))
    x = torch.rand(2, 3, 32, 32)
    x[1, 0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        net(x)
    with pytest.raises(ValueError, match="N x C x H x W"):
        net(torch.rand(3, 32, 32))
    for bad in (0, 2.5, "10", None, True):
        with pytest.raises(ValueError, match="n_features must be an integer"):
            RandomDepthwiseSignNet(bad)
    assert (RandomDepthwiseSignNet(np.int64(4)).n_features
            == RandomDepthwiseSignNet(4.0).n_features == 4)
    with pytest.raises(ValueError, match="kernel_size must be an integer >= 1"):
        RandomDepthwiseSignNet(4, kernel_size=0)
    with pytest.raises(ValueError, match="init"):
        RandomDepthwiseSignNet(4, init="xavier")
    with pytest.raises(ValueError, match="no preset"):
        RandomDepthwiseSignNet.for_dataset("svhn", 4)  # mnist has a preset now


def test_seed_and_paddings_must_be_integers():
    """They once went to int(): seed=1.9 was seed 1 (a float sweep repeated networks), "7" and
    True were accepted, padding=1.7 became 1, and "abc" gave int()'s own error."""
    for name, bad in (("seed", 1.9), ("seed", "7"), ("seed", True), ("seed", "abc"),
                      ("seed", None), ("first_padding", 1.5), ("first_padding", -1),
                      ("first_padding", None), ("padding", 1.7), ("padding", "2"),
                      ("padding", False), ("padding", -1)):
        with pytest.raises(ValueError, match=f"^{name} must be an integer"):
            RandomDepthwiseSignNet(4, **{name: bad})
    same = RandomDepthwiseSignNet(4, seed=np.int64(7), first_padding=np.int32(0),
                                  padding=np.int64(1))
    assert torch.equal(same.conv_weight, RandomDepthwiseSignNet(4, seed=7).conv_weight)
    assert (same.seed, same.first_padding, same.padding) == (7, 0, 1)
    assert RandomDepthwiseSignNet(4, kernel_size=3, padding=None).padding == 1


def test_independent_blocks_move_with_to():
    """Their weights were once kept in plain lists, which .to(device) does not move."""
    blocks = IndependentBlocks(RandomDepthwiseSignNet(3, kernel_size=3, n_blocks=2))
    moved = blocks.to(torch.float64)  # a dtype stands in for a device: .to() moves both alike
    for blk in moved.blocks:
        assert blk.conv_weight.dtype == torch.float64
        assert all(w.dtype == b.dtype == torch.float64 for w, b in blk.depthwise)
    # first conv weight and bias, then 2 depthwise convs (weight, bias) per block
    per_net = 2 + 4 * 2
    assert len(list(moved.buffers())) == 3 * per_net + per_net  # 3 blocks + the network


def test_min_input_size_is_tight():
    for dataset in PRESETS:
        net = RandomDepthwiseSignNet.for_dataset(dataset, 2)
        side = net.min_input_size()
        net(torch.rand(1, net.in_channels, side, side))
        with pytest.raises(ValueError, match="too small"):
            net(torch.rand(1, net.in_channels, side - 1, side - 1))


def test_forward_checks_pixel_range_and_dtype_as_extract_does():
    # the plain network once took 0..255 floats (features 255 times too bright) and
    # normalised images without a word, and float64 images met a raw torch error
    from rdsc.features import extract
    net = RandomDepthwiseSignNet(8)
    pixels = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    for forward in (net, net.feature_maps, IndependentBlocks(net)):
        with pytest.raises(ValueError, match="0..255 pixels given as floats"):
            forward(pixels.float())
        with pytest.warns(UserWarning, match="not \\[0, 1\\]") as caught:
            forward((pixels.float() / 255 - 0.5) / 0.25)
        assert caught[0].filename == __file__  # the warning names the caller's line
    with pytest.raises(ValueError, match="0..255 pixels given as floats"):
        extract(net, pixels.float(), progress=False)
    with pytest.warns(UserWarning, match="not \\[0, 1\\]") as caught:
        extract(net, (pixels.float() / 255 - 0.5) / 0.25, progress=False)
    assert caught[0].filename == __file__  # not a line inside rdsc
    for dtype in (torch.float64, torch.float16):
        with pytest.raises(TypeError, match=f"{dtype}.*x.to\\(torch.float32\\)"):
            net(pixels.to(dtype) / 255)
    # pixels in [0, 1] pass in silence and give extract's features
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(net(pixels.float() / 255).numpy(),
                              np.asarray(extract(net, pixels, progress=False)))


def test_shape_errors_name_the_callers_shape():
    # one image (3 x 32 x 32) was once reported as "(1, 32, 32)", a batch of 40
    # channels-last images as "(1, 32, 32, 3)": the one image probed
    from rdsc.features import extract
    net = RandomDepthwiseSignNet(8)
    one = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    for run in (net, lambda x: extract(net, x, progress=False)):
        with pytest.raises(ValueError, match=r"got shape \(3, 32, 32\): one image\? use "
                                             r"x.unsqueeze\(0\)"):
            run(one.float() / 255)
    nhwc = torch.rand(40, 32, 32, 3)
    with pytest.raises(ValueError, match=r"in shape \(40, 32, 32, 3\) \(channels last"):
        extract(net, nhwc, progress=False)
    with pytest.raises(TypeError, match=r"int64 \(uint8 pixels 0..255 are taken too"):
        extract(net, one[None].long(), progress=False)


def test_a_network_too_large_for_memory_is_refused_before_drawing(monkeypatch):
    # k = 10**9 (512 GB of weights) was once accepted and died by the OOM killer
    import psutil

    from rdsc.network import weights_bytes
    assert weights_bytes(1, 3, 5, 1) == 4 * (3 * 25 + 1 + 2 * 26)
    monkeypatch.setattr(psutil, "virtual_memory",
                        lambda: type("Memory", (), {"available": 2**30})())
    with pytest.raises(MemoryError, match=r"k = 10,000,000 features need 9\.5 GiB.*1\.0 GiB"):
        RandomDepthwiseSignNet(10**7)
    assert RandomDepthwiseSignNet(1000).n_features == 1000  # small ones never ask


def test_neighbour_agreement_is_set_against_the_maps_own_sign_shares():
    """Chapter 2 set 96/90/86% neighbour agreement against coin flips (50%), while maps
    mostly of one sign agree 87/78/72% by their shares alone."""
    from rdsc.network import neighbour_agreement
    m = torch.ones(1, 2, 4, 4)
    m[0, 0, :, :2] = -1          # halves: 2 of 3 neighbour pairs per row agree
    m[0, 1, 0, 0] = 0            # one zero among 15 ones: 11 of 12 pairs agree
    observed, shuffled = neighbour_agreement(m)
    assert observed == pytest.approx((8 / 12 + 11 / 12) / 2)
    assert shuffled == pytest.approx((0.5 ** 2 * 2 + (15 / 16) ** 2 + (1 / 16) ** 2) / 2)
    # a map with its positions scrambled agrees about as the shares say
    g = torch.Generator().manual_seed(0)
    noise = torch.where(torch.rand(20, 3, 30, 30, generator=g) < 0.8, 1.0, -1.0)
    observed, shuffled = neighbour_agreement(noise)
    assert shuffled == pytest.approx(0.68, abs=0.01)
    assert observed == pytest.approx(shuffled, abs=0.01)
    with pytest.raises(ValueError, match="N x k x h x w"):
        neighbour_agreement(torch.ones(3, 4, 1))
