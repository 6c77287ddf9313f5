"""Trained models on disk (rdsc.model_cache): read from a read-only data root, damaged files
retrained, and the run that trained a model named."""
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
    """Features were once read from a read-only shared data root, models retrained."""
    monkeypatch.setenv("RDSC_DATA", str(tmp_path / "shared"))
    monkeypatch.setenv("RDSC_CACHE", str(tmp_path / "user"))
    x, y = task()
    first = cnn.trained(x, y, epochs=1, width=4, device="cpu", progress=False)
    assert not first.from_cache and first.trained_on == model_cache.device_words("cpu")
    shared = tmp_path / "shared" / "cache" / "models"
    real = paths.is_writable
    monkeypatch.setattr(paths, "is_writable", lambda f: not str(f).startswith(str(
        tmp_path / "shared")) and real(f))
    again = cnn.trained(x, y, epochs=1, width=4, device="cpu", progress=False)
    assert again.from_cache and again.train_seconds == first.train_seconds
    assert again.trained_on == model_cache.device_words("cpu")  # read back from the file
    assert weights_equal(first, again)
    assert not (tmp_path / "user" / "models").exists()  # nothing trained, nothing copied
    # a damaged copy there is retrained once, into the user's cache, and read from it next
    (saved,) = shared.glob("cnn-*.pt")
    saved.write_bytes(saved.read_bytes()[:100])
    with pytest.warns(UserWarning, match="unreadable"), \
            pytest.warns(UserWarning, match="no intact copy.*training it again"), \
            pytest.warns(UserWarning, match="is not writable; caching models in"):
        third = cnn.trained(x, y, epochs=1, width=4, device="cpu", progress=False)
    assert not third.from_cache and len(list((tmp_path / "user" / "models").glob("*.pt"))) == 1
    with pytest.warns(UserWarning, match="unreadable"):  # the shared copy is still damaged
        fourth = cnn.trained(x, y, epochs=1, width=4, device="cpu", progress=False)
    assert fourth.from_cache and fourth.train_seconds == third.train_seconds


def test_a_damaged_model_that_still_unpacks_is_retrained(tmp_path):
    """Three bytes flipped inside a model file once passed torch.load, weights changed
    by up to 1321, and the chapter used them as trained."""
    x, y = task()
    first = cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, device="cpu", progress=False)
    (path,) = tmp_path.glob("cnn-*.pt")
    saved = torch.load(path, weights_only=True)
    name = next(k for k, v in saved["state"].items() if v.is_floating_point() and v.numel() > 8)
    saved["state"][name].view(-1)[3] += 1000.0  # what a flipped byte in its data does
    torch.save(saved, path)
    with pytest.warns(UserWarning, match="does not match its digest") as said:
        again = cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, device="cpu",
                            progress=False)
    assert not again.from_cache and weights_equal(first, again)
    # shown at the reader's line, not inside rdsc (it pointed into rdsc/rng.py's wrapper)
    assert {w.filename for w in said} == {__file__}
    # a file written before the digest is read as it is
    legacy = torch.load(path, weights_only=True)
    del legacy["digest"], legacy["device"]
    torch.save(legacy, path)
    old = cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, device="cpu", progress=False)
    assert old.from_cache and old.trained_on is None and weights_equal(first, old)


def test_a_cached_model_row_says_so_and_names_its_device():
    """Chapter 4 once showed a cached model's training seconds as this run's."""
    fresh = cnn.SmallCNN(n_classes=2, width=4, image_size=8)
    fresh.from_cache, fresh.trained_on = False, "CPU (x86_64)"
    assert baselines._trained_note("rdsc.cnn (AdamW)", fresh) == (
        "rdsc.cnn (AdamW); trained in this run on CPU (x86_64)")
    # chapter 4's figure caption once promised the device of a network trained here
    assert baselines.trained_words({"cifar10": [
        {"method": "small CNN, trained 3 epochs", "family": "trained",
         "note": baselines._trained_note("rdsc.cnn (AdamW)", fresh)}]}) == (
        "small CNN, trained 3 epochs (trained in this run on CPU (x86_64))")
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
    """Chapter 6 once trained its 'networks of chapter 4' with seed 2018, other models
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


def test_damage_outside_the_weights_is_caught_too(tmp_path):
    """The digest once covered the weights only; a flipped bit in the seconds read as
    4.1e-39 s, a flipped key name raised KeyError instead of retraining."""
    x, y = task()
    cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, device="cpu", progress=False)
    (path,) = tmp_path.glob("cnn-*.pt")
    good = torch.load(path, weights_only=True)
    for damage in ({"seconds": 4.1e-39}, {"device": "NVIDIA H200"}):
        torch.save({**good, **damage}, path)
        with pytest.warns(UserWarning, match="does not match its digest"):
            model = cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, device="cpu",
                                progress=False)
        assert not model.from_cache
        good = torch.load(path, weights_only=True)  # the retrained file
    renamed = {("sekonds" if k == "seconds" else k): v for k, v in good.items()}
    torch.save(renamed, path)
    with pytest.warns(UserWarning, match="unreadable \\(KeyError\\)"):
        assert not cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, device="cpu",
                               progress=False).from_cache


def test_an_intact_copy_replaces_a_damaged_one_before_it(tmp_path, monkeypatch):
    """The data root's damaged copy once said "training it again" while the user's
    intact copy was used, and stayed damaged (a warning on every run)."""
    monkeypatch.setenv("RDSC_DATA", str(tmp_path / "root"))
    monkeypatch.setenv("RDSC_CACHE", str(tmp_path / "user"))
    x, y = task()
    first = cnn.trained(x, y, epochs=1, width=4, cache=tmp_path / "user" / "models",
                        device="cpu", progress=False)
    (user,) = (tmp_path / "user" / "models").glob("cnn-*.pt")
    root = tmp_path / "root" / "cache" / "models" / user.name
    root.parent.mkdir(parents=True)
    root.write_bytes(user.read_bytes()[:100])
    with pytest.warns(UserWarning, match="unreadable.*not used") as said:
        again = cnn.trained(x, y, epochs=1, width=4, device="cpu", progress=False)
    assert not any("training it again" in str(w.message) for w in said)
    assert again.from_cache and weights_equal(first, again)
    assert root.read_bytes() == user.read_bytes()  # repaired: no warning next time


def test_a_model_that_cannot_be_cached_is_still_used(tmp_path, monkeypatch):
    """A folder that became unwritable while the model trained once sent it elsewhere,
    where a later call with the same folder never looked; a failed write lost it."""
    x, y = task()

    def unwritable(path, write):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(model_cache, "write_atomically", unwritable)
    with pytest.warns(UserWarning, match="could not be cached in .*trained again next time"):
        model = cnn.trained(x, y, epochs=1, width=4, cache=tmp_path, device="cpu",
                            progress=False)
    assert not model.from_cache and list(tmp_path.iterdir()) == []
    assert model_cache.device_words("cpu").startswith("CPU (")
    assert model_cache.device_words("meta") == "META"


def test_a_cpu_trained_model_names_its_thread_count():
    """A CNN trained on 1 and on 2 threads has other weights (the gradients' sums run in
    another order), and once nothing said which a cached model had."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = model_cache.device_words("cpu")
        torch.set_num_threads(2)
        two = model_cache.device_words("cpu")
    finally:
        torch.set_num_threads(threads)
    assert one.endswith(", 1 thread)") and two.endswith(", 2 threads)")


def test_provenance_says_whether_a_model_was_trained_now_and_where():
    model = torch.nn.Linear(2, 2)
    model.from_cache, model.trained_on = False, "CPU (x86_64, 2 threads)"
    assert model_cache.provenance(model) == "trained in this run on CPU (x86_64, 2 threads)"
    model.from_cache = True
    assert model_cache.provenance(model) == \
        "read from the cache, trained on CPU (x86_64, 2 threads)"
    model.trained_on = None  # a file from before the device was saved
    assert model_cache.provenance(model) == \
        "read from the cache, trained before its device was recorded"


def test_deep_nets_use_the_model_cache_module(tmp_path, monkeypatch):
    """Nothing once tested deepnets.trained with it: two mutations of it passed."""
    from rdsc import deepnets
    monkeypatch.setenv("RDSC_DATA", str(tmp_path / "shared"))
    monkeypatch.setenv("RDSC_CACHE", str(tmp_path / "user"))
    images, labels = task(32)
    first = deepnets.trained("densenet40", images, labels, epochs=1, batch_size=16,
                             device="cpu", progress=False)
    assert not first.from_cache
    real = paths.is_writable
    monkeypatch.setattr(paths, "is_writable", lambda f: not str(f).startswith(str(
        tmp_path / "shared")) and real(f))
    again = deepnets.trained("densenet40", images, labels, epochs=1, batch_size=16,
                             device="cpu", progress=False)
    assert again.from_cache and again.trained_on == first.trained_on
    assert weights_equal(first, again) and not (tmp_path / "user" / "models").exists()


def test_trained_words_name_the_dataset_where_only_some_were_cached():
    note = "authors' recipe; model read from the cache, trained on NVIDIA H200"
    rows = {"cifar10": [{"method": "vgg16", "family": "trained", "note": note}],
            "miniimagenet10": [{"method": "vgg16", "family": "trained",
                                "note": "authors' recipe"}]}
    assert baselines.trained_words(rows) == (
        "vgg16 (cifar10: model read from the cache, trained on NVIDIA H200: its seconds are "
        "that training's)")
    rows["miniimagenet10"][0]["note"] = note
    assert baselines.trained_words(rows) == (
        "vgg16 (model read from the cache, trained on NVIDIA H200: its seconds are that "
        "training's)")
