"""The random-hyperplane identities, checked numerically on random images."""
import math

import pytest
import torch

from rdsc.hyperplanes import fraction_feature, image_patches, n_cells, occupied_cells, side_counts
from rdsc.network import RandomDepthwiseSignNet


def images(n=6, size=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=gen).double() / 255


@pytest.mark.parametrize("kernel_size,padding,size", [(5, 1, 32), (3, 1, 20), (5, 0, 17)])
def test_first_layer_feature_is_a_patch_count(kernel_size, padding, size):
    net = RandomDepthwiseSignNet(12, kernel_size=kernel_size, n_blocks=0,
                                 first_padding=padding).double()
    x = images(size=size)
    patches = image_patches(x, kernel_size, padding)
    side = size + 2 * padding - kernel_size + 1
    assert patches.shape == (6, side * side, 3 * kernel_size**2)
    network = net(x)
    for f in range(12):
        w, b = net.conv_weight[f], float(net.conv_bias[f])
        counts = side_counts(patches, w, b)
        assert torch.equal(counts["positive"] + counts["negative"] + counts["on"],
                           torch.full((6,), side * side))
        assert int(counts["on"].sum()) == 0
        frac_pos = counts["positive"].double() / (side * side)
        assert torch.equal(fraction_feature(patches, w, b), network[:, f])
        assert torch.allclose(network[:, f], 2 * frac_pos - 1, atol=1e-12)


def test_patch_dot_product_is_the_convolution():
    net = RandomDepthwiseSignNet(3, n_blocks=0).double()
    x = images(2)
    # 2 x 3 x 30 x 30
    conv = torch.nn.functional.conv2d(x, net.conv_weight, net.conv_bias, padding=1)
    patches = image_patches(x, 5, 1)
    by_patches = patches @ net.conv_weight.reshape(3, -1).T + net.conv_bias
    assert torch.allclose(by_patches.transpose(1, 2).reshape(2, 3, 30, 30), conv, atol=1e-12)


def test_patches_on_the_hyperplane_count_zero():
    patches = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [2.0, 2.0]]], dtype=torch.float64)
    w = torch.tensor([1.0, 0.0], dtype=torch.float64)
    counts = side_counts(patches, w, 0.0)
    assert (counts["positive"].item() == 2 and counts["negative"].item() == 1
            and counts["on"].item() == 1)
    assert fraction_feature(patches, w, 0.0).item() == pytest.approx((2 - 1) / 4)


def test_number_of_cells():
    assert n_cells(3, 2) == 7          # three lines in general position in the plane
    assert n_cells(5, 75) == 2**5      # fewer hyperplanes than dimensions: every sign pattern
    assert n_cells(1, 1) == 2
    assert n_cells(4, 3) == 15
    assert n_cells(100_000, 75) == sum(math.comb(100_000, i) for i in range(76))


def test_occupied_cells_on_a_grid():
    pts = torch.tensor([[x, y] for x in (-1.0, 1.0) for y in (-1.0, 1.0)] * 3, dtype=torch.float64)
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    assert occupied_cells(pts, w, torch.zeros(2, dtype=torch.float64)) == 4
    assert occupied_cells(pts, w[:1], torch.zeros(1, dtype=torch.float64), chunk=5) == 2


def test_receptive_field_matches_a_linear_probe():
    """Replace sign by identity and read which input pixels reach the centre output."""
    for dataset in ["cifar10", "stl10", "corel"]:
        net = RandomDepthwiseSignNet.for_dataset(dataset, 1)
        K, field = net.kernel_size, net.receptive_field()
        size = field + 8
        x = torch.zeros(1, 1, size, size, requires_grad=True)
        h = torch.nn.functional.conv2d(x, torch.ones(1, 1, K, K), padding=net.first_padding)
        for i in range(2 * net.n_blocks):
            if i % 2 == 0:
                h = torch.nn.functional.avg_pool2d(h, 2)
            h = torch.nn.functional.conv2d(h, torch.ones(1, 1, K, K), padding=net.padding)
        c = h.shape[-1] // 2
        h[0, 0, c, c].backward()
        rows = torch.nonzero(x.grad[0, 0].abs().sum(1))
        assert int(rows.max() - rows.min() + 1) == field, dataset
