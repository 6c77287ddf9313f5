"""rdsc.deepnets: architectures, frozen random-weight features, batch-norm recalibration,
training and its cache."""
import inspect

import numpy as np
import pytest
import torch

from rdsc import deepnets


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is as fast, and far faster on a CPU shared with other jobs."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.mark.parametrize("arch,dim", [("vgg16", 512), ("resnet18", 512), ("densenet40", 132)])
def test_shapes_and_feature_dimensions(arch, dim):
    torch.manual_seed(0)
    model = deepnets.build(arch, 7).eval()
    with torch.no_grad():
        x = torch.rand(2, 3, 32, 32)
        assert model.embed(x).shape == (2, dim)
        assert model(x).shape == (2, 7)
        assert model.embed(torch.rand(1, 3, 64, 64)).shape == (1, dim)  # global pooling
    assert model.fc.in_features == dim == deepnets.EMBED_DIMS[arch]


def test_densenet_is_bc40():
    model = deepnets.build("densenet40", 10)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    # 1 stem + 3 blocks x 6 bottlenecks x 2 convs + 2 transitions = 39 convs, + fc = depth 40
    assert len(convs) == 39
    assert sum(isinstance(m, deepnets._Bottleneck) for m in model.modules()) == 18


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="arch"):
        deepnets.build("alexnet", 10)
    with pytest.raises(ValueError, match="n_classes"):
        deepnets.build("vgg16", 1)
    with pytest.raises(TypeError, match="float"):
        deepnets.build("densenet40", 10).embed(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))


@pytest.mark.parametrize("arch", deepnets.ARCHS)
def test_frozen_net_trains_only_its_final_layer(arch):
    torch.manual_seed(0)
    model = deepnets.freeze(deepnets.build(arch, 10))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]
    bn_params = [p for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)
                 for p in m.parameters()]
    assert bn_params and not any(p.requires_grad for p in bn_params)  # scale and shift frozen
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    model.eval()
    loss = model(torch.rand(4, 3, 32, 32)).logsumexp(1).sum()
    loss.backward()
    opt.step()
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert changed == ["fc.weight", "fc.bias"]


def test_recalibration_sets_running_statistics_and_nothing_else():
    torch.manual_seed(0)
    model = deepnets.freeze(deepnets.build("vgg16", 10))
    images = torch.randint(0, 256, (24, 3, 32, 32), dtype=torch.uint8)
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    deepnets.recalibrate_batchnorm(model, images, batch_size=8)
    assert not model.training
    for n, p in model.named_parameters():
        assert torch.equal(p, params[n]), n
    moved = [n for n, b in model.named_buffers() if not torch.equal(b, buffers[n])]
    stats = ("running_mean", "running_var", "num_batches_tracked")
    assert moved and all(n.rsplit(".", 1)[1] in stats for n in moved)
    assert any(n.endswith("running_mean") for n in moved)
    # the first batch norm's running mean is the mean of the first conv's output over all images
    x = (images.float() / 255 - model.mean) / model.std
    with torch.no_grad():
        z = model.features[0](x)
    bn = model.features[1]
    assert torch.allclose(bn.running_mean, z.mean((0, 2, 3)), atol=1e-5)
    assert bn.momentum == 0.1  # restored


def test_random_embeddings_depend_on_the_seed_only():
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    a, = deepnets.random_embeddings("densenet40", images, [images[:3]], seed=1, device="cpu")
    b, = deepnets.random_embeddings("densenet40", images, [images[:3]], seed=1, device="cpu")
    c, = deepnets.random_embeddings("densenet40", images, [images[:3]], seed=2, device="cpu")
    assert a.shape == (3, 132) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_augment_crops_and_flips_within_the_padding():
    gen = torch.Generator().manual_seed(0)
    x = torch.ones(8, 3, 16, 16)
    y = deepnets.augment(x, gen, pad=4)
    assert y.shape == x.shape
    assert torch.all(y[:, :, 4:12, 4:12] == 1)  # a shift of at most 4 keeps the centre
    assert set(y.unique().tolist()) <= {0.0, 1.0} and (y == 0).any()
    ramp = torch.arange(16.).expand(1, 1, 16, 16).repeat(64, 1, 1, 1)
    out = deepnets.augment(ramp, gen, pad=4)
    rows_equal = (out[:, :, 8, 1:] - out[:, :, 8, :-1]).abs()
    assert (rows_equal[out[:, :, 8, 1:] * out[:, :, 8, :-1] > 0] == 1).all()  # still a ramp
    # the flip is left-right. With pad=0 (no shift) each output of an image that is
    # asymmetric both ways is the image or its mirror image, and both occur
    image = torch.rand(1, 3, 8, 8, generator=gen)
    out = deepnets.augment(image.repeat(32, 1, 1, 1), gen, pad=0)
    same = (out == image).flatten(1).all(1)
    mirrored = (out == image.flip(3)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()


def test_trained_uses_its_cache_and_the_key_ignores_the_device(tmp_path):
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (32, 3, 16, 16), dtype=torch.uint8, generator=gen)
    labels = np.arange(32) % 2
    assert "device" not in inspect.signature(deepnets.cache_path).parameters
    model = deepnets.trained("densenet40", images, labels, epochs=2, batch_size=16, cache=tmp_path,
                             device="cpu", progress=False)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"  # no temporary file left
    assert files[0] == deepnets.cache_path("densenet40", images, labels, epochs=2, cache=tmp_path,
                                           batch_size=16,
                                           milestones=deepnets.MILESTONES["densenet40"])
    assert len(model.losses) == 2 and not model.training
    again = deepnets.trained("densenet40", images, labels, epochs=2, batch_size=16, cache=tmp_path,
                             progress=False)
    assert again.train_seconds == model.train_seconds  # loaded, not retrained
    for (n, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu()), n
    other = deepnets.trained("densenet40", images, labels, epochs=1, batch_size=16, cache=tmp_path,
                             progress=False)
    assert len(other.losses) == 1 and len(list(tmp_path.iterdir())) == 2


def test_training_lowers_the_loss():
    gen = torch.Generator().manual_seed(0)
    labels = np.arange(64) % 2
    images = torch.randint(0, 100, (64, 3, 16, 16), dtype=torch.uint8, generator=gen)
    images[labels == 1] += 120  # bright images are class 1
    torch.manual_seed(0)
    model = deepnets.build("densenet40", 2)
    losses = deepnets.fit(model, images, labels, epochs=4, batch_size=16, lr=0.05,
                          device="cpu", progress=False)
    assert losses[-1] < losses[0]
    with torch.no_grad():
        pred = model(images.float() / 255).argmax(1).numpy()
    assert (pred == labels).mean() > 0.9


def test_the_model_cache_key_holds_the_seed():
    """A model cache key without the seed once passed these tests."""
    from rdsc import deepnets
    x = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)
    y = np.array([0, 1, 0, 1])
    assert deepnets.model_file("resnet18", x, y, epochs=1, seed=0) != \
        deepnets.model_file("resnet18", x, y, epochs=1, seed=1)


def test_the_learning_rate_steps_on_time_and_batchnorm_is_recalibrated(monkeypatch):
    """The learning rate stepping an epoch late, and the final batch-norm recalibration
    dropped, once passed these tests."""
    from rdsc import deepnets
    lrs, orig = [], torch.optim.SGD.step
    def step(self, *a, **k):
        lrs.append(self.param_groups[0]["lr"])
        return orig(self, *a, **k)
    monkeypatch.setattr(torch.optim.SGD, "step", step)
    calls = []
    monkeypatch.setattr(deepnets, "recalibrate_batchnorm",
                        lambda m, x, *a, **k: calls.append(len(x)))
    x = torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8)
    y = np.arange(8) % 2
    torch.manual_seed(0)
    deepnets.fit(deepnets.build("resnet18", 2), x, y, epochs=4, batch_size=8,
                 milestones=(0.5, 0.75), device="cpu", progress=False)
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.001])
    assert calls == [8]


def test_resnet18_is_drawn_as_the_authors_draw_it():
    """ResNet18 once kept PyTorch's default init (Kaiming uniform, a = sqrt(5)), while the
    authors' resnet.py draws Kaiming normal (fan out) convolutions: std 0.11 for the stem
    against their 0.06."""
    torch.manual_seed(0)
    net = deepnets.build("resnet18", 10)
    for w in (net.conv1.weight, net.layers[4].conv1.weight):
        w = w.detach()
        fan_out = w.shape[0] * w.shape[2] * w.shape[3]
        assert abs(float(w.std()) / (2 / fan_out) ** 0.5 - 1) < 0.05
    fc = net.fc.weight.detach()
    assert abs(float(fc.std()) / (2 / sum(fc.shape)) ** 0.5 - 1) < 0.1   # Xavier normal


def test_densenet_convolutions_are_drawn_by_their_fan_out():
    """Fan-in in place of fan-out (the DenseNet authors' initialisation) once passed these
    tests; it changes chapter 4's random-weight DenseNet baseline."""
    torch.manual_seed(0)
    w = deepnets.build("densenet40", 10).features[0].weight.detach()  # 24 x 3 x 3 x 3
    fan_out, fan_in = w.shape[0] * 9, w.shape[1] * 9
    assert abs(float(w.std()) - (2 / fan_out) ** 0.5) < 0.02        # 0.096; fan-in: 0.27
    assert abs(float(w.std()) - (2 / fan_in) ** 0.5) > 0.1
