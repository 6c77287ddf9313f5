"""rdsc.representations: the controls and trained networks chapter 6 ranks images by."""
import numpy as np
import pytest
import torch

from rdsc import representations as reps
from rdsc import retrieval as rt


def test_colour_histogram_sums_to_one_and_counts_colours():
    img = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    img[0, 0] = 255                                 # all pure red
    img[1, :, :2] = 255                             # half white, half black
    h = reps.colour_histogram(img, bins=8)
    assert h.shape == (2, 512)
    np.testing.assert_allclose(h.sum(1), 1.0)
    assert h[0, 7 * 64] == 1.0                      # red bin 7, green 0, blue 0
    assert h[1, 0] == 0.5 and h[1, 511] == 0.5
    with pytest.raises(ValueError, match="uint8"):
        reps.colour_histogram(img.float())


def test_downsampled_pixels_and_resizing():
    img = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    p = reps.downsampled_pixels(img, size=8)
    assert p.shape == (3, 192) and 0 <= p.min() and p.max() <= 1
    np.testing.assert_allclose(p.reshape(3, 3, 64).mean(2), img.float().div(255).mean((2, 3)),
                               atol=1e-5)
    assert reps.resize_images(img, 16, crop=12).shape == (3, 3, 12, 12)
    with pytest.raises(ValueError, match="crop"):
        reps.resize_images(img, crop=40)


def test_penultimate_of_small_cnn_feeds_its_last_layer():
    from rdsc.cnn import SmallCNN
    torch.manual_seed(0)
    model = SmallCNN(5, width=4, image_size=16, hidden=12).eval()
    x = torch.rand(3, 3, 16, 16)
    z = reps.penultimate(model)(x)
    assert z.shape == (3, 12) and (z >= 0).all()      # after the ReLU
    torch.testing.assert_close(model.classifier[-1](z), model(x))
    emb = reps.network_embedding(model, (x * 255).to(torch.uint8), size=16)
    assert emb.shape == (3, 12)


def test_random_vectors_are_standard_normal_and_rank_at_chance():
    # chapter 6's "random ranking" control had no test: its vectors must be
    # Gaussian, n x dim, float32, fixed by the seed, and score what chance_metrics expects
    v = reps.random_vectors(200, seed=3)
    assert v.shape == (200, 64) and v.dtype == np.float32
    assert np.array_equal(v, reps.random_vectors(200, seed=3))
    assert not np.array_equal(v[:10], reps.random_vectors(10, seed=4))
    assert reps.random_vectors(5, dim=7).shape == (5, 7)
    assert abs(v.mean()) < 0.03 and abs(v.std() - 1) < 0.03  # 12,800 draws: se 0.009
    assert abs(np.mean(v < 0) - 0.5) < 0.02  # symmetric, not uniform on [0, 1)
    labels = np.arange(200) % 4
    ap = rt.query_metrics(rt.rank(v, labels))["AP"].mean()
    assert abs(ap - rt.chance_metrics(199, 49)["AP"]) < 0.02


def test_representations_take_8_bit_pixels_of_any_integer_type_and_refuse_0_to_255_floats():
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    reference = reps.resize_images(x, 16)
    for other in (x.long(), x.int(), x.numpy().astype(np.uint16)):
        assert torch.equal(reps.resize_images(other, 16), reference)  # were saturated to white
    assert np.array_equal(reps.downsampled_pixels(x.long()), reps.downsampled_pixels(x))
    with pytest.raises(ValueError, match="divide by 255"):
        reps.downsampled_pixels(x.float())
    with pytest.raises(ValueError, match="0..255"):
        reps.resize_images(x.long() * 2, 16)
    assert torch.equal(reps.resize_images(x.float() / 255, 16), reference)


def test_resized_uint8_crops_the_centre_then_resizes():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2, 3, 20, 20), generator=gen, dtype=torch.uint8)
    same = reps.resized_uint8(images, 20)
    assert same.dtype == torch.uint8 and torch.equal(same, images)  # nothing to do
    centre = reps.resized_uint8(images, 12, crop=12)
    assert torch.equal(centre, images[..., 4:16, 4:16])  # the centre, not a corner
    small = reps.resized_uint8(images, 5, crop=10)
    expected = reps.resize_images(images[..., 5:15, 5:15], 5)  # crop first, then resize
    assert small.shape == (2, 3, 5, 5)
    assert torch.equal(small, (expected * 255).round().to(torch.uint8))
    for bad in (dict(size=0), dict(size=12, crop=-10), dict(size=12, crop=2.5)):
        with pytest.raises(ValueError, match="must be a whole number of at least 1"):
            reps.resized_uint8(images, **bad)


def test_probe_z_representations_refuse_what_gave_nan_or_silent_upsampling():
    img = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    for where in (np.zeros((8, 8), bool), np.ones((8, 8)), np.ones((4, 4), bool)):
        with pytest.raises(ValueError, match="where"):  # NaN rows; a float mask; a mismatch
            reps.colour_histogram(img, where=where)
    with pytest.raises(ValueError, match="bins"):
        reps.colour_histogram(img, bins=2.5)
    for size in (0, 2.5, 64):  # 64 on 8 x 8 images silently upsampled
        with pytest.raises(ValueError, match="size"):
            reps.downsampled_pixels(img, size=size)
    from rdsc.cnn import SmallCNN
    model = SmallCNN(n_classes=3, width=4, image_size=8, hidden=6)
    with pytest.raises(ValueError, match="no images"):
        reps.network_embedding(model, img[:0])
    with pytest.raises(ValueError, match="batch_size"):
        reps.network_embedding(model, img, batch_size=0)
    double = SmallCNN(n_classes=3, width=4, image_size=8, hidden=6).double()  # a dtype clash
    assert reps.network_embedding(double, img).dtype == np.float32
    # images of another size than the model's once failed inside torch
    big = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    with pytest.raises(ValueError, match="trained on 8 x 8 images, these are 16 x 16: "
                                         "pass size=8"):
        reps.network_embedding(model, big)
    with pytest.raises(ValueError, match="trained on 8 x 8 images, crop=4 gives 4 x 4"):
        reps.network_embedding(model, big, size=8, crop=4)  # given, still wrong
    assert reps.network_embedding(model, big, size=8).shape == (2, 6)


def test_a_wrapper_around_a_network_in_training_mode_embeds_in_eval_mode():
    """A wrapper object (no .eval of its own) whose .embed calls a network left in training
    mode: batch norm would use each batch's own statistics, so an image's features would
    depend on the other images of its batch."""
    from rdsc.cnn import SmallCNN

    class Wrapper:
        def __init__(self, net):
            self.net = net

        def embed(self, x):
            return self.net.embed(x)

    torch.manual_seed(0)
    net = SmallCNN(n_classes=3, width=4, image_size=8, hidden=6).train()
    images = torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)
    together = reps.network_embedding(Wrapper(net), images, batch_size=6)
    assert not net.training
    alone = reps.network_embedding(Wrapper(net), images[:2], batch_size=2)
    np.testing.assert_allclose(together[:2], alone, rtol=1e-5, atol=1e-6)

    class Outer:  # a wrapper of a wrapper that holds its networks in a list
        def __init__(self, inner):
            self.parts = [inner]

        def embed(self, x):
            return self.parts[0].embed(x)

    net.train()
    reps.network_embedding(Outer(Wrapper(net)), images, batch_size=6)
    assert not net.training


def test_colour_histogram_bin_edges_and_size_of_non_square_images():
    """Bins of value * bins // 257, and size checked against the larger side, once passed
    these tests."""
    x = np.zeros((1, 3, 2, 2), np.uint8)
    x[0, :, 0, 0] = 32                      # 32 * 8 // 256 = 1: bin (1, 1, 1)
    h = reps.colour_histogram(x, bins=8)[0]
    assert h[(1 * 8 + 1) * 8 + 1] == 0.25 and h[0] == 0.75
    with pytest.raises(ValueError, match="larger than the images"):
        reps.downsampled_pixels(np.zeros((1, 3, 8, 16), np.uint8), size=12)
