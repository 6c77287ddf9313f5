"""The small trained CNN: learns an easy task, caches its weights, rejects bad input."""
import numpy as np
import pytest
import torch

from rdsc import cnn


def easy_task(n=256, seed=0):
    """Two classes of 8x8 images: bright left half vs bright right half, plus noise (uint8)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.rand(n, 3, 8, 8, generator=g) * 0.5
    x[y == 0, :, :, :4] += 0.5
    x[y == 1, :, :, 4:] += 0.5
    return (x * 255).round().to(torch.uint8), y.numpy()


def test_fit_learns_an_easy_task():
    x, y = easy_task()
    model = cnn.SmallCNN(n_classes=2, width=8, image_size=8)
    losses = cnn.fit(model, x, y, epochs=3, batch_size=32, augment=False, device="cpu",
                     progress=False)
    assert len(losses) == 3 and losses[-1] < losses[0]
    xt, yt = easy_task(200, seed=1)
    assert cnn.accuracy(model, xt, yt) > 0.9
    assert not model.training


def test_trained_is_cached_by_data_and_settings(tmp_path):
    x, y = easy_task(64)
    a = cnn.trained(x, y, epochs=1, width=8, cache=tmp_path, device="cpu", progress=False)
    files = list(tmp_path.glob("cnn-*.pt"))
    assert len(files) == 1
    b = cnn.trained(x, y, epochs=1, width=8, cache=tmp_path, device="cpu", progress=False)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert b.train_seconds == a.train_seconds and b.losses == a.losses
    cnn.trained(x, y, epochs=2, width=8, cache=tmp_path, device="cpu", progress=False)
    cnn.trained(x[:32], y[:32], epochs=1, width=8, cache=tmp_path, device="cpu", progress=False)
    assert len(list(tmp_path.glob("cnn-*.pt"))) == 3


def test_bad_input_gets_clear_errors():
    model = cnn.SmallCNN(n_classes=2, width=4, image_size=8)
    with pytest.raises(TypeError, match="float images"):
        model(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="multiple of 4"):
        cnn.SmallCNN(image_size=30)
    x, y = easy_task(16)
    with pytest.raises(ValueError, match="labels"):
        cnn.fit(model, x, y[:10], epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        cnn.fit(model, x, y, epochs=0)


def test_logits_shape_and_float_input():
    model = cnn.SmallCNN(n_classes=5, width=4, image_size=8)
    pixels = np.random.default_rng(0).integers(0, 256, (7, 3, 8, 8), dtype=np.uint8)
    out = cnn.logits(model, pixels, batch_size=3)
    assert out.shape == (7, 5)
    floats = cnn.logits(model, torch.from_numpy(pixels).float() / 255, batch_size=3)
    assert torch.allclose(out, floats, atol=1e-6)  # uint8 and the same pixels as floats agree


def test_model_cache_folder_is_made_first_and_a_damaged_model_is_retrained(tmp_path):
    # a folder that did not exist yet failed only after training; a truncated model file
    # raised PyTorch's zip error without naming the file
    x = torch.randint(0, 256, (16, 3, 16, 16), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(0))
    y = np.arange(16) % 2
    folder = tmp_path / "new" / "models"
    first = cnn.trained(x, y, epochs=1, width=4, cache=folder, device="cpu", progress=False)
    (saved,) = folder.glob("cnn-*.pt")
    saved.write_bytes(saved.read_bytes()[:100])
    with pytest.warns(UserWarning, match=f"cached model {saved} is unreadable"):
        again = cnn.trained(x, y, epochs=1, width=4, cache=folder, device="cpu",
                            progress=False)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(),
                                                 again.state_dict().values()))
    assert cnn.trained(x, y, epochs=1, width=4, cache=folder, device="cpu").train_seconds \
        == again.train_seconds   # the retrained model was saved and is read back


def test_augment_flips_left_right_and_shifts_the_batch_by_at_most_4_pixels():
    # the augmentation of every trained small CNN had no test. Each output must be
    # the image or its left-right mirror, moved by one shift of -4..4 pixels for the whole
    # batch (zero padding), with both flips and more than one shift occurring
    import torch.nn.functional as F
    gen = torch.Generator().manual_seed(0)
    image = 0.1 + torch.rand(1, 3, 10, 10, generator=gen)  # asymmetric, never 0 like the pad

    def moved(x, dy, dx):
        return F.pad(x, (4, 4, 4, 4))[..., dy:dy + 10, dx:dx + 10]

    shifts, flips = set(), set()
    for _ in range(6):
        out = cnn._augment(image.repeat(16, 1, 1, 1), gen)
        found = [(dy, dx) for dy in range(9) for dx in range(9)
                 if all(torch.equal(o, moved(image[0], dy, dx))
                        or torch.equal(o, moved(image[0].flip(2), dy, dx)) for o in out)]
        assert len(found) == 1  # one shift explains the whole batch
        dy, dx = found[0]
        shifts.add(found[0])
        flips |= {torch.equal(o, moved(image[0].flip(2), dy, dx)) for o in out}
    assert flips == {False, True} and len(shifts) > 1


def test_seed_is_in_the_cache_key_and_momentum_is_restored(tmp_path):
    """A dropped seed in the cache key, and momentum left None, once passed these tests."""
    x, y = easy_task(32)
    a = cnn.trained(x, y, epochs=1, width=4, seed=0, cache=tmp_path, device="cpu",
                    progress=False)
    b = cnn.trained(x, y, epochs=1, width=4, seed=1, cache=tmp_path, device="cpu",
                    progress=False)
    assert len(list(tmp_path.glob("cnn-*.pt"))) == 2 and not b.from_cache
    norms = [m for m in a.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.momentum == 0.1 for m in norms)


def test_embed_centres_pixels_at_half():
    """embed without the x - 0.5 centring once passed these tests."""
    torch.manual_seed(0)
    model = cnn.SmallCNN(n_classes=2, width=4, image_size=8).eval()
    grey = torch.full((1, 3, 8, 8), 0.5)
    # bias-free convs, fresh batch norm (mean 0, var 1): a grey image gives zero maps
    expected = torch.relu(model.classifier[1].bias)
    assert torch.allclose(model.embed(grey)[0], expected, atol=1e-6)


def test_fit_reports_the_mean_loss_per_image():
    """fit returning each epoch's summed loss, not its mean, once passed these tests."""
    x, y = easy_task(64)
    model = cnn.SmallCNN(n_classes=2, width=4, image_size=int(x.shape[-1]))
    losses = cnn.fit(model, x, y, epochs=1, batch_size=16, device="cpu", progress=False)
    assert len(losses) == 1 and 0 < losses[0] < 3   # two classes: about log 2, not 64x it
