"""Trained models on disk (rdsc.model_cache): read from a read-only data root, damaged files
retrained, and the run that trained a model named (probe AM)."""
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from rdsc import baselines, cnn, model_cache, paths

ROOT = Path(__file__).resolve().parents[1]


def task(n=16):
    x = torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(0))
    return x, np.arange(n) % 2


def weights_equal(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(),
                                                 b.state_dict().values()))


def test_a_model_in_a_read_only_data_root_is_read_not_trained_again(tmp_path, monkeypatch):
    """Probe AM: features were read from a read-only shared data root, models retrained."""
    monkeypatch.setenv("RDSC_DATA", str(tmp_path / "shared"))
    monkeypatch.setenv("RDSC_CACHE", str(tmp_path / "user"))
    x, y = task()
    first = cnn.trained(x, y, epochs=1, width=4, device="cpu", progress=False)
    assert not first.from_cache and first.trained_on.startswith("CPU")
    shared = tmp_path / "shared" / "cache" / "models"
    real = paths._writable
    monkeypatch.setattr(paths, "_writable", lambda f: not str(f).startswith(str(
        tmp_path / "shared")) and real(f))
    monkeypatch.setattr(model_cache, "_writable", paths._writable)
    again = cnn.trained(x, y, epochs=1, width=4, device="cpu", progress=False)
    assert again.from_cache and again.train_seconds == first.train_seconds
    assert weights_equal(first, again)
    assert not (tmp_path / "user" / "models").exists()  # nothing trained, nothing copied
    # a damaged copy there is retrained once, into the user's cache, and read from it next
    (saved,) = shared.glob("cnn-*.pt")
    saved.write_bytes(saved.read_bytes()[:100])
    with pytest.warns(UserWarning, match="unreadable"), \
            pytest.warns(UserWarning, match="is not writable; caching models in"):
        third = cnn.trained(x, y, epochs=1, width=4, device="cpu", progress=False)
    assert not third.from_cache and len(list((tmp_path / "user" / "models").glob("*.pt"))) == 1
    with pytest.warns(UserWarning, match="unreadable"):  # the shared copy is still damaged
        fourth = cnn.trained(x, y, epochs=1, width=4, device="cpu", progress=False)
    assert fourth.from_cache and fourth.train_seconds == third.train_seconds


def test_a_damaged_model_that_still_unpacks_is_retrained(tmp_path):
    """Probe AM: three bytes flipped inside a model file passed torch.load, weights changed
    by up to 1321, and the chapter used them as trained."""
    x, y = task()
    first = cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, device="cpu", progress=False)
    (path,) = tmp_path.glob("cnn-*.pt")
    saved = torch.load(path, weights_only=True)
    name = next(k for k, v in saved["state"].items() if v.is_floating_point() and v.numel() > 8)
    saved["state"][name].view(-1)[3] += 1000.0  # what a flipped byte in its data does
    torch.save(saved, path)
    with pytest.warns(UserWarning, match="does not match the digest of its weights"):
        again = cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, device="cpu",
                            progress=False)
    assert not again.from_cache and weights_equal(first, again)
    # a file written before the digest is read as it is
    legacy = torch.load(path, weights_only=True)
    del legacy["digest"], legacy["device"]
    torch.save(legacy, path)
    old = cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, device="cpu", progress=False)
    assert old.from_cache and old.trained_on is None and weights_equal(first, old)


def test_a_cached_model_row_says_so_and_names_its_device():
    """Probe AM: chapter 4 showed a cached model's training seconds as this run's."""
    fresh = cnn.SmallCNN(n_classes=2, width=4, image_size=8)
    fresh.from_cache, fresh.trained_on = False, "CPU (x86_64)"
    assert baselines._trained_note("rdsc.cnn (AdamW)", fresh) == "rdsc.cnn (AdamW)"
    fresh.from_cache, fresh.trained_on = True, "NVIDIA H200"
    note = baselines._trained_note("authors' recipe", fresh)
    assert note == "authors' recipe; model read from the cache, trained on NVIDIA H200"
    rows = {"cifar10": [{"method": "vgg16, trained 300 epochs", "family": "trained",
                         "note": note},
                        {"method": "small CNN, trained 3 epochs", "family": "trained",
                         "note": "rdsc.cnn (AdamW)"},
                        {"method": "rdsc", "family": "rdsc", "note": ""}]}
    assert baselines.trained_words(rows) == (
        "small CNN, trained 3 epochs; vgg16, trained 300 epochs (model read from the cache, "
        "trained on NVIDIA H200: its seconds are that training's)")
    assert baselines.trained_words({"cifar10": rows["cifar10"][2:]}) == "none"


def test_every_chapter_trains_the_deep_networks_with_the_shared_seed():
    """Probe AM: chapter 6 trained its 'networks of chapter 4' with seed 2018, other models
    under the same name (300 epochs each again at the paper profile)."""
    calls = []
    for path in [*ROOT.glob("rdsc/**/*.py"), *ROOT.glob("chapters/*.md")]:
        text = path.read_text()
        calls += [(path.name, m.group(0)) for m in re.finditer(
            r"deepnets\.trained\((?:[^()]|\([^()]*\))*\)", text)]
    assert len(calls) >= 4, calls  # baselines, attacks, background, chapter 6
    for name, call in calls:
        assert "seed=deepnets.SHARED_SEED" in call or "seed=SHARED_SEED" in call or (
            name == "classifiers.py" and "deepnets.SHARED_SEED if seed is None" in call), \
            (name, call)
