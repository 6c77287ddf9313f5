"""The data layer: every format, labels, shapes, preprocessing, the cache, every error."""
import os
import pickle
import struct
import time
import urllib.error
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rdsc import data
from rdsc.data import DatasetNotFoundError, ImageReadError, Preprocess

from conftest import require_real_data

rng = np.random.default_rng(0)


def write_folder(root, name, split, per_class, size=(12, 10), mode="RGB", ext="png"):
    """An image folder <root>/<name>/<split>/<class>/<i>.<ext>; returns the arrays written (CHW)."""
    written = {}
    for cls, n in per_class.items():
        folder = root / name / split / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            h, w = size
            arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(arr).convert(mode).save(folder / f"{i:03d}.{ext}")
            rgb = Image.fromarray(arr).convert(mode).convert("RGB")
            written[(cls, i)] = np.asarray(rgb).transpose(2, 0, 1)
    return written


def test_image_folder_labels_shapes_and_pixels(tmp_path):
    written = write_folder(tmp_path, "toy", "train", {"b_cat": 3, "a_dog": 2})
    images, labels, classes = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert classes == ["a_dog", "b_cat"]
    assert images.dtype == torch.uint8 and images.shape == (5, 3, 12, 10)
    assert labels.dtype == torch.int64 and labels.tolist() == [0, 0, 1, 1, 1]
    np.testing.assert_array_equal(images[0].numpy(), written[("a_dog", 0)])  # png is lossless
    np.testing.assert_array_equal(images[4].numpy(), written[("b_cat", 2)])


def test_labels_agree_between_splits_when_a_class_is_missing(tmp_path):
    write_folder(tmp_path, "toy", "train", {"a": 1, "b": 1, "c": 1})
    write_folder(tmp_path, "toy", "test", {"c": 2})
    _, labels, classes = data.load(str(tmp_path / "toy"), "test", root=tmp_path)
    assert classes == ["a", "b", "c"] and labels.tolist() == [2, 2]


def test_cached_labels_follow_a_class_added_to_another_split(tmp_path):
    write_folder(tmp_path, "toy", "train", {"b": 2, "c": 2})
    write_folder(tmp_path, "toy", "test", {"b": 1, "c": 1})
    _, before, classes = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert classes == ["b", "c"] and before.tolist() == [0, 0, 1, 1]
    write_folder(tmp_path, "toy", "test", {"a": 1})  # a new class, in test only
    _, train_labels, train_classes = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    _, test_labels, test_classes = data.load(str(tmp_path / "toy"), "test", root=tmp_path)
    assert train_classes == test_classes == ["a", "b", "c"]
    assert train_labels.tolist() == [1, 1, 2, 2] and test_labels.tolist() == [0, 1, 2]


@pytest.mark.parametrize("junk", [".ipynb_checkpoints", "__MACOSX", ".hidden"])
def test_hidden_and_junk_folders_are_not_classes(tmp_path, junk):
    write_folder(tmp_path, "toy", "train", {"a": 1, "b": 1, junk: 1})
    (tmp_path / "toy" / "train" / "a" / "._000.png").write_bytes(b"\x00\x05junk")  # AppleDouble
    write_folder(tmp_path, "toy", junk, {"z": 1})  # a junk "split" adds no class either
    images, labels, classes = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert classes == ["a", "b"] and labels.tolist() == [0, 1] and len(images) == 2


def test_a_class_named_with_two_underscores_is_a_class(tmp_path):
    # every name starting with "__" was once skipped: a class "__background__" vanished
    # with its images, and files named "__x.png" too, without a word
    write_folder(tmp_path, "toy", "train", {"a": 1, "__background__": 2})
    (tmp_path / "toy" / "train" / "a" / "__x.png").write_bytes(
        (tmp_path / "toy" / "train" / "a" / "000.png").read_bytes())
    images, labels, classes = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert classes == ["__background__", "a"] and labels.tolist() == [0, 0, 1, 1]


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    folder = tmp_path / "toy" / "train" / "a"
    folder.mkdir(parents=True)
    wide = (np.arange(8 * 8).reshape(8, 8) * 1000).astype(np.uint16)  # 0..63,000
    Image.fromarray(wide).save(folder / "g16.png")
    assert Image.open(folder / "g16.png").mode == "I;16"
    images, _, _ = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    expected = (wide >> 8).astype(np.uint8)  # the high byte, as Pillow reads 16-bit colour
    for c in range(3):
        np.testing.assert_array_equal(images[0, c].numpy(), expected)
    Image.fromarray(wide.astype(np.float32)).save(folder / "f32.tif")
    with pytest.raises(ImageReadError, match="f32.tif.*convert it to 8-bit"):
        data.load(str(tmp_path / "toy"), "train", root=tmp_path, cache=False)


def test_a_load_never_deletes_another_process_temporary_cache(tmp_path):
    write_folder(tmp_path, "toy", "train", {"a": 2})
    folder = tmp_path / "cache" / "datasets"
    folder.mkdir(parents=True)
    # what another process writing the same split looks like, mid-write
    others = [folder / ".toy-train-k2j4h5.npz", folder / "toy-train-0123456789abcdef.tmp42.npz"]
    for other in others:
        other.write_bytes(b"partial")
    data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert all(o.exists() for o in others)
    old = folder / "toy-train-0123456789abcdef.npz"  # an outdated finished version is removed
    old.write_bytes(b"old")
    data.load(str(tmp_path / "toy"), "train", root=tmp_path, cache=True)
    write_folder(tmp_path, "toy", "train", {"b": 1})  # new key
    data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert not old.exists()


def test_two_folders_of_one_name_keep_their_own_caches(tmp_path, monkeypatch):
    """A copy beside the original (a node's scratch copy, say) shares its name, and
    loading the two in turn once removed the other's cache each time: every load decoded."""
    import shutil
    write_folder(tmp_path / "a", "toy", "train", {"a": 2})
    shutil.copytree(tmp_path / "a" / "toy", tmp_path / "b" / "toy")
    root = tmp_path / "root"
    first = data.load(str(tmp_path / "a" / "toy"), "train", root=root)
    data.load(str(tmp_path / "b" / "toy"), "train", root=root)
    assert len(list((root / "cache" / "datasets").glob("toy-train-*.npz"))) == 2

    def no_decoding(*args):
        raise AssertionError("decoded although its cache was there")
    monkeypatch.setattr(data, "_decode", no_decoding)
    again = data.load(str(tmp_path / "a" / "toy"), "train", root=root)
    assert torch.equal(first[0], again[0])


def test_the_cache_of_a_folder_that_is_gone_goes_at_the_next_decode(tmp_path):
    """With each folder keeping its own cache (the test above), a scratch copy at a new path
    each time must not leave one decoded dataset in the cache per copy."""
    import shutil
    write_folder(tmp_path / "a", "toy", "train", {"a": 2})
    root = tmp_path / "root"
    for copy in ("b", "c"):
        shutil.copytree(tmp_path / "a" / "toy", tmp_path / copy / "toy")
        data.load(str(tmp_path / copy / "toy"), "train", root=root)
    shutil.rmtree(tmp_path / "b")
    data.load(str(tmp_path / "a" / "toy"), "train", root=root)  # a decode: cleans up
    kept = (root / "cache" / "datasets").glob("toy-train-*.npz")
    sources = sorted(Path(str(np.load(p)["source"])).parent.name for p in kept)
    assert sources == ["a", "c"]  # b's went with b


def test_no_cache_needs_no_writable_root(tmp_path, monkeypatch):
    from rdsc import paths
    write_folder(tmp_path, "toy", "train", {"a": 2})
    root = tmp_path / "root"
    monkeypatch.setattr(paths, "is_writable", lambda f: False)
    images, _, _ = data.load(str(tmp_path / "toy"), "train", root=root, cache=False)
    assert len(images) == 2 and not (root / "cache").exists()


def test_read_only_root_caches_in_the_user_folder(tmp_path, monkeypatch):
    from rdsc import paths
    write_folder(tmp_path, "toy", "train", {"a": 2})
    root, user = tmp_path / "root", tmp_path / "user"
    monkeypatch.setenv("RDSC_CACHE", str(user))
    real = paths.is_writable
    monkeypatch.setattr(paths, "is_writable",
                        lambda f: not str(f).startswith(str(root)) and real(f))
    with pytest.warns(UserWarning, match="not writable"):
        data.load(str(tmp_path / "toy"), "train", root=root)
    assert list((user / "datasets").glob("toy-train-*.npz"))


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_grayscale_rgba_palette_become_rgb(tmp_path, mode):
    write_folder(tmp_path, "toy", "train", {"a": 2}, mode=mode)
    images, _, _ = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert images.shape == (2, 3, 12, 10)
    if mode == "L":
        assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 1], images[:, 2])


def test_non_image_files_are_ignored(tmp_path):
    write_folder(tmp_path, "toy", "train", {"a": 2})
    (tmp_path / "toy" / "train" / "a" / "notes.txt").write_text("hello")
    (tmp_path / "toy" / "train" / "a" / "Thumbs.db").write_text("litter: not counted")
    (tmp_path / "toy" / "train" / "a" / ".DS_Store").write_text("hidden: not counted")
    # counted, so an image format that is not read cannot vanish without a word
    with pytest.warns(UserWarning, match=r"1 file in the class folders of .* is not read, "
                      r"not being images by extension \(\.txt: 1;"):
        images, _, _ = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert len(images) == 2


def test_links_to_missing_files_are_named_not_dropped_in_silence(tmp_path):
    # a git-annex / DVC checkout whose files were not fetched once lost 5 of a
    # class's 8 images without a word
    write_folder(tmp_path, "toy", "train", {"a": 2, "b": 2})
    for i in range(3):
        (tmp_path / "toy" / "train" / "b" / f"x{i}.png").symlink_to(tmp_path / "gone.png")
    with pytest.warns(UserWarning, match=r"3 files in the class folders of .* are a link to a "
                                         r"missing file, not read: b/x0.png, b/x1.png"):
        images, labels, _ = data.load(str(tmp_path / "toy"), "train", root=tmp_path,
                                      cache=False)
    assert labels.tolist() == [0, 0, 1, 1]


def test_class_names_that_differ_only_in_unicode_form_are_named(tmp_path):
    # train's 'café' (NFD, a macOS copy) and test's 'café' (NFC) were once two classes
    # that printed alike; every test image of it counted a miss
    import unicodedata
    nfd, nfc = unicodedata.normalize("NFD", "café"), unicodedata.normalize("NFC", "café")
    write_folder(tmp_path, "toy", "train", {nfd: 2, "dog": 2})
    write_folder(tmp_path, "toy", "test", {nfc: 1, "dog": 1})
    with pytest.warns(UserWarning, match=r"differ only in Unicode form, case or spaces are "
                                         r"different classes: 'cafe\\u0301' and 'caf\\xe9'"):
        _, _, classes = data.load(str(tmp_path / "toy"), "train", root=tmp_path, cache=False)
    assert len(classes) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_folder(tmp_path, "ok", "train", {"cat": 1, "dog": 1})
        data.load(str(tmp_path / "ok"), "train", root=tmp_path, cache=False)


def test_numbered_class_folders_say_their_labels_follow_text_order(tmp_path):
    # folder "10" once got label 1, and scoring against the folder numbers gave
    # 16.67% for 71.88% without a word
    write_folder(tmp_path, "num", "train", {"1": 1, "2": 1, "10": 1})
    with pytest.warns(UserWarning, match=r"are numbers, and labels follow their names sorted "
                                         r"as text: 1 -> 0, 10 -> 1, 2 -> 2\. A label"):
        _, labels, classes = data.load(str(tmp_path / "num"), "train", root=tmp_path,
                                       cache=False)
    assert classes == ["1", "10", "2"]
    with warnings.catch_warnings():  # numbers whose text order is their order: no word
        warnings.simplefilter("error")
        write_folder(tmp_path, "digits", "train", {"0": 1, "1": 1, "2": 1})
        data.load(str(tmp_path / "digits"), "train", root=tmp_path, cache=False)


def test_an_image_above_pillows_pixel_limit_is_not_called_broken(tmp_path, monkeypatch):
    # a 13,500 x 13,500 scan was once "unreadable: replace or delete", with no way
    # through; RDSC_MAX_IMAGE_PIXELS is the way
    from rdsc.streaming import ImageFolderStream
    write_folder(tmp_path, "toy", "train", {"a": 2}, size=(20, 20))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 400 pixels > twice 100
    for load in (lambda: data.load(str(tmp_path / "toy"), "train", root=tmp_path,
                                   cache=False),
                 lambda: ImageFolderStream(tmp_path / "toy", "train").check_files()):
        with pytest.raises(ImageReadError, match=r"more than 200 pixels, which Pillow "
                                                 r"refuses .*set RDSC_MAX_IMAGE_PIXELS"):
            load()
    monkeypatch.setenv("RDSC_MAX_IMAGE_PIXELS", "1000")
    data._pixel_limit()
    assert Image.MAX_IMAGE_PIXELS == 1000
    assert len(data.load(str(tmp_path / "toy"), "train", root=tmp_path, cache=False)[0]) == 2
    monkeypatch.setenv("RDSC_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(ValueError, match="RDSC_MAX_IMAGE_PIXELS must be a whole number"):
        data._pixel_limit()


def test_twelve_bit_data_in_sixteen_bit_files_is_named(tmp_path):
    # 12-bit camera data once became near-black 0..16 images without a word
    folder = tmp_path / "b12" / "train" / "a"
    folder.mkdir(parents=True)
    twelve = rng.integers(0, 4096, (8, 8)).astype(np.uint16)
    Image.fromarray(twelve).save(folder / "g0.png")
    with pytest.warns(UserWarning, match="16-bit images whose pixels all lie below 4096"):
        images, _, _ = data.load(str(tmp_path / "b12"), "train", root=tmp_path, cache=False)
    assert int(images.max()) <= 15
    Image.fromarray((twelve.astype(np.uint32) * 16).astype(np.uint16)).save(folder / "g0.png")
    with warnings.catch_warnings():  # full-range 16-bit: as before, in silence
        warnings.simplefilter("error")
        images, _, _ = data.load(str(tmp_path / "b12"), "train", root=tmp_path, cache=False)
    assert int(images.max()) > 200


def write_png16(path, pixels):
    """A 16-bit PNG of ``H x W x C`` pixels (C = 1 grey, 3 RGB), written by hand: Pillow
    cannot write 16-bit colour."""
    height, width, channels = pixels.shape
    big = pixels.astype(">u2")
    rows = b"".join(b"\x00" + big[i].tobytes() for i in range(height))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    colour = {1: 0, 3: 2}[channels]
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_16_bit_grey_and_colour_decode_alike(tmp_path):
    # 16-bit grey was once rounded (v / 257) while Pillow reads 16-bit RGB by its high
    # byte, so the same pixels gave other images by how they were saved
    wide = rng.integers(0, 65536, (8, 8, 1)).astype(np.uint16)
    for name, pixels in (("grey", wide), ("rgb", np.repeat(wide, 3, axis=2))):
        folder = tmp_path / name / "train" / "a"
        folder.mkdir(parents=True)
        write_png16(folder / "x.png", pixels)
    grey, _, _ = data.load(str(tmp_path / "grey"), "train", root=tmp_path, cache=False)
    rgb, _, _ = data.load(str(tmp_path / "rgb"), "train", root=tmp_path, cache=False)
    np.testing.assert_array_equal(grey.numpy(), rgb.numpy())
    np.testing.assert_array_equal(rgb[0, 0].numpy(), wide[..., 0] >> 8)


def test_twelve_bit_data_in_sixteen_bit_colour_files_is_named(tmp_path):
    folder = tmp_path / "c12" / "train" / "a"
    folder.mkdir(parents=True)
    write_png16(folder / "x.png", rng.integers(0, 4096, (8, 8, 3)))
    with pytest.warns(UserWarning, match="16-bit images whose pixels all lie below 4096"):
        images, _, _ = data.load(str(tmp_path / "c12"), "train", root=tmp_path, cache=False)
    assert int(images.max()) <= 15
    write_png16(folder / "x.png", rng.integers(0, 4096, (8, 8, 3)) * 16)
    with warnings.catch_warnings():  # full-range 16-bit colour: in silence
        warnings.simplefilter("error")
        images, _, _ = data.load(str(tmp_path / "c12"), "train", root=tmp_path, cache=False)
    assert int(images.max()) > 200


def test_corrupt_image_names_the_file(tmp_path):
    write_folder(tmp_path, "toy", "train", {"a": 2})
    bad = tmp_path / "toy" / "train" / "a" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ImageReadError, match="broken.jpg"):
        data.load(str(tmp_path / "toy"), "train", root=tmp_path)


def test_mixed_sizes_need_a_resize(tmp_path):
    write_folder(tmp_path, "toy", "train", {"a": 1}, size=(12, 10))
    write_folder(tmp_path, "toy", "train", {"b": 1}, size=(20, 16))
    with pytest.raises(ValueError, match="different sizes.*Preprocess"):
        data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    images, _, _ = data.load(str(tmp_path / "toy"), "train", root=tmp_path,
                             preprocess=Preprocess(resize=(8, 8)))
    assert images.shape == (2, 3, 8, 8)


def test_preprocess_resize_shorter_side_and_centre_crop():
    img = Image.fromarray(rng.integers(0, 256, (84, 168, 3), dtype=np.uint8))
    out = Preprocess(resize=128, crop=112).apply(img)
    assert out.size == (112, 112)
    assert Preprocess(resize=128).apply(img).size == (256, 128)
    assert Preprocess(resize=(128, 128)).apply(img).size == (128, 128)
    with pytest.raises(ValueError, match="larger"):
        Preprocess(crop=100).apply(img)


def test_the_crop_is_the_centre_and_the_resize_rounds():
    """A top-left crop, or a resize that truncates, once passed every test
    (they checked sizes only); miniimagenet10 (resize 128, crop 112) would change."""
    columns = np.tile(np.arange(8, dtype=np.uint8) * 10, (4, 1))  # 4 x 8: a pixel = its column
    img = Image.fromarray(np.stack([columns] * 3, axis=-1))
    out = np.asarray(Preprocess(crop=4).apply(img))[..., 0]
    assert (out == np.arange(2, 6) * 10).all()  # columns 2..5 of 0..7: the middle four
    rows = Image.fromarray(np.stack([columns.T] * 3, axis=-1))  # 8 x 4: a pixel = its row
    assert (np.asarray(Preprocess(crop=4).apply(rows))[..., 0].T == np.arange(2, 6) * 10).all()
    # 333 x 499 to a shorter side of 84: 499 * 84 / 333 = 125.9, rounded (not truncated)
    assert Preprocess(resize=84).resized(333, 499) == (84, 126)
    assert Image.new("RGB", (333, 499)).resize((84, 126)).size == Preprocess(
        resize=84).apply(Image.new("RGB", (333, 499))).size


def test_a_split_draws_its_train_and_test_images_with_their_own_seeds(monkeypatch):
    """The test subset's seed (1) once could change, and with it every chapter's test
    images, with no test failing."""
    labels = torch.arange(40) % 4
    images = torch.arange(40, dtype=torch.uint8)[:, None, None, None].expand(40, 3, 2, 2)
    monkeypatch.setattr(data, "load", lambda name, split: (images, labels, list("abcd")))
    split = data.Split.load("cifar10", 8, 12)
    train = data.subset(labels, 8, seed=0)
    test = data.subset(labels, 12, seed=1)
    assert not torch.equal(data.subset(labels, 12, seed=0), test)  # the seeds matter here
    assert torch.equal(split.train_images[:, 0, 0, 0].long(), train)
    assert torch.equal(split.test_images[:, 0, 0, 0].long(), test)
    assert (split.test_labels == labels[test].numpy()).all()


def test_named_dataset_uses_its_preprocessing(tmp_path, small_named_datasets):
    write_folder(tmp_path, "miniimagenet10", "train", {"n01": 2}, size=(84, 84), ext="jpg")
    images, _, _ = data.load("miniimagenet10", "train", root=tmp_path)
    assert images.shape == (2, 3, 112, 112)
    write_folder(tmp_path, "corel", "queries", {"100": 1}, size=(85, 128), ext="jpg")
    images, _, classes = data.load("corel", "queries", root=tmp_path)
    assert images.shape == (1, 3, 128, 128) and classes == ["100"]


def test_cache_is_used_and_invalidated(tmp_path, monkeypatch):
    write_folder(tmp_path, "toy", "train", {"a": 3})
    first = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert len(list((tmp_path / "cache" / "datasets").glob("*.npz"))) == 1

    def no_decoding(*args):
        raise AssertionError("decoded although the cache is valid")
    monkeypatch.setattr(data, "_decode", no_decoding)
    second = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert first[2] == second[2]
    monkeypatch.undo()

    # a changed source is decoded afresh and replaces the old cache
    path = tmp_path / "toy" / "train" / "a" / "000.png"
    Image.fromarray(np.zeros((12, 10, 3), np.uint8)).save(path)
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    third = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert third[0][0].sum() == 0
    assert len(list((tmp_path / "cache" / "datasets").glob("*.npz"))) == 1
    # a changed preprocessing too
    fourth = data.load(str(tmp_path / "toy"), "train", root=tmp_path,
                       preprocess=Preprocess(resize=(6, 6)))
    assert fourth[0].shape == (3, 3, 6, 6)


def test_an_image_rewritten_with_its_size_and_date_is_decoded_again(tmp_path):
    """The book's archives date every file alike and extraction restores the dates, so a
    corrected image of the same size once kept its stale pixels in the cache
    (chapter 6 printed the old archive's numbers); the key now holds the change time."""
    write_folder(tmp_path, "toy", "train", {"a": 2})
    path = tmp_path / "toy" / "train" / "a" / "000.png"
    Image.fromarray(np.full((12, 10, 3), 7, np.uint8)).save(path)
    before = path.stat()
    first = data.load(str(tmp_path / "toy"), "train", root=tmp_path)[0]
    assert int(first[0].max()) == 7
    time.sleep(0.01)  # a later change time, whatever the file system's clock resolution
    Image.fromarray(np.full((12, 10, 3), 200, np.uint8)).save(path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))   # as tar restores it
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    second = data.load(str(tmp_path / "toy"), "train", root=tmp_path)[0]
    assert int(second[0].min()) == 200
    assert torch.equal(second, data.load(str(tmp_path / "toy"), "train", cache=False)[0])


def test_corrupt_cache_is_rebuilt(tmp_path):
    write_folder(tmp_path, "toy", "train", {"a": 2})
    images, _, _ = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    cache_file, = (tmp_path / "cache" / "datasets").glob("*.npz")
    cache_file.write_bytes(b"garbage")
    again, _, _ = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert torch.equal(images, again)


# --- standard on-disk formats, written here in the real layouts ------------------------------

def write_cifar(root, n_per_batch=4, fine=False):
    if fine:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True)
        arrays = {}
        for split, n in (("train", 6), ("test", 3)):
            x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            y = rng.integers(0, 100, n).tolist()
            with open(folder / split, "wb") as f:
                pickle.dump({"data": x, "fine_labels": y, "coarse_labels": [0] * n}, f)
            arrays[split] = (x, y)
        with open(folder / "meta", "wb") as f:
            pickle.dump({"fine_label_names": [f"c{i}" for i in range(100)]}, f)
        return arrays
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    xs, ys = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        y = rng.integers(0, 10, n_per_batch).tolist()
        with open(folder / name, "wb") as f:
            pickle.dump({"data": x, "labels": y}, f)
        xs.append(x), ys.append(y)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog",
                                     "frog", "horse", "ship", "truck"]}, f)
    return xs, ys


def test_cifar10_pickle_format(tmp_path):
    xs, ys = write_cifar(tmp_path)
    images, labels, classes = data.load("cifar10", "train", root=tmp_path, download=False)
    assert images.shape == (20, 3, 32, 32) and classes[3] == "cat"
    np.testing.assert_array_equal(images[:4].reshape(4, -1).numpy(), xs[0])
    assert labels.tolist() == sum(ys[:5], [])
    test_images, test_labels, _ = data.load("cifar10", "test", root=tmp_path, download=False)
    np.testing.assert_array_equal(test_images.reshape(4, -1).numpy(), xs[5])


def test_a_standard_file_rewritten_with_its_size_and_date_is_decoded_again(tmp_path):
    """The change time in the cache key was once tested on image folders only;
    CIFAR's, STL-10's and MNIST's files have their own key."""
    xs, ys = write_cifar(tmp_path)
    first = data.load("cifar10", "test", root=tmp_path, download=False)[0]
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    before = path.stat()
    time.sleep(0.01)  # a later change time, whatever the file system's clock resolution
    with open(path, "wb") as f:
        pickle.dump({"data": 255 - xs[5], "labels": ys[5]}, f)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))   # as tar restores it
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size,
                                                              before.st_mtime_ns)
    second = data.load("cifar10", "test", root=tmp_path, download=False)[0]
    assert torch.equal(second, 255 - first)


def test_cifar100_pickle_format(tmp_path):
    arrays = write_cifar(tmp_path, fine=True)
    images, labels, classes = data.load("cifar100", "test", root=tmp_path, download=False)
    assert images.shape == (3, 3, 32, 32) and len(classes) == 100
    np.testing.assert_array_equal(images.reshape(3, -1).numpy(), arrays["test"][0])
    assert labels.tolist() == arrays["test"][1]


def test_stl10_binary_format(tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    hwc = rng.integers(0, 256, (3, 96, 96, 3), dtype=np.uint8)  # 3 images, H x W x C
    chw = hwc.transpose(0, 3, 1, 2)
    # the binary stores each channel column-major: C x W x H
    chw.transpose(0, 1, 3, 2).tofile(folder / "train_X.bin")
    np.array([1, 10, 4], np.uint8).tofile(folder / "train_y.bin")
    (folder / "class_names.txt").write_text("\n".join(f"k{i}" for i in range(10)) + "\n")
    images, labels, classes = data.load("stl10", "train", root=tmp_path, download=False)
    np.testing.assert_array_equal(images.numpy(), chw)
    assert labels.tolist() == [0, 9, 3] and classes[0] == "k0"


def test_stl10_truncated_file_is_a_clear_error(tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    (folder / "test_X.bin").write_bytes(b"\0" * 1000)
    (folder / "test_y.bin").write_bytes(b"\1")
    (folder / "class_names.txt").write_text("a\n")
    with pytest.raises(DatasetNotFoundError, match="stl10.*truncated"):
        data.load("stl10", "test", root=tmp_path, download=False)


# --- errors -----------------------------------------------------------------------------------

def test_missing_dataset_offline_says_where_and_how(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")
    monkeypatch.setattr(tvd, "CIFAR100", offline)
    with pytest.raises(DatasetNotFoundError) as err:
        data.load("cifar100", "train", root=tmp_path)
    msg = str(err.value)
    assert "cifar100" in msg and str(tmp_path / "cifar-100-python") in msg
    assert "download failed" in msg and "To get it" in msg


def test_missing_dataset_without_download(tmp_path):
    with pytest.raises(DatasetNotFoundError,
                       match=r"miniimagenet10.*shared/data/miniimagenet10.tar"):
        data.load("miniimagenet10", "train", root=tmp_path)


def test_bad_names_and_splits(tmp_path):
    with pytest.raises(ValueError, match="splits"):
        data.load("corel", "train", root=tmp_path)
    with pytest.raises(DatasetNotFoundError, match="neither a known dataset"):
        data.load("not-a-dataset", "train", root=tmp_path)
    write_folder(tmp_path, "toy", "train", {"a": 1})
    with pytest.raises(DatasetNotFoundError, match="no split 'test'"):
        data.load(str(tmp_path / "toy"), "test", root=tmp_path)


def test_data_root_from_environment(tmp_path, monkeypatch, small_named_datasets):
    write_folder(tmp_path, "corel", "queries", {"100": 1}, size=(20, 20), ext="jpg")
    monkeypatch.setenv("RDSC_DATA", str(tmp_path))
    images, _, _ = data.load("corel", "queries")
    assert images.shape == (1, 3, 128, 128)


def test_subset_is_class_balanced():
    labels = torch.arange(10).repeat_interleave(50)  # sorted by class, as image folders are
    idx = data.subset(labels, 100)
    assert len(idx) == 100 and labels[idx].bincount().tolist() == [10] * 10
    assert torch.equal(idx, idx.sort().values)
    assert len(data.subset(labels, None)) == 500
    for bad in (0, -1, 2.5, "3", True):
        with pytest.raises(ValueError, match="positive integer or None"):
            data.subset(labels, bad)


# --- the real data -------------------------------------------------------------------------

def test_real_cifar10_train_and_cached_reload():
    require_real_data("cifar10")
    images, labels, classes = data.load("cifar10", "train")
    assert images.shape == (50_000, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.bincount().tolist() == [5000] * 10
    assert classes == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                       "ship", "truck"]
    start = time.perf_counter()
    again, _, _ = data.load("cifar10", "train")
    assert time.perf_counter() - start < 10, "the cached reload should take seconds"
    assert torch.equal(images[::997], again[::997])


def test_real_miniimagenet10_and_corel():
    require_real_data("miniimagenet10", "corel")
    images, labels, classes = data.load("miniimagenet10", "test")
    assert images.shape == (1000, 3, 112, 112) and labels.bincount().tolist() == [100] * 10
    assert "n02110341" in classes
    db, db_labels, db_classes = data.load("corel", "database")
    q, q_labels, _ = data.load("corel", "queries")
    assert db.shape == (430, 3, 128, 128) and len(db_classes) == 8
    assert q.shape == (8, 3, 128, 128) and q_labels.tolist() == list(range(8))


# --- MNIST (torchvision's idx files) and the lossless CIFAR-10 subset -------------------------

def write_idx(path, array, gz=False):
    """``array`` (uint8) as an idx file: 0, 0, 0x08, ndim, big-endian sizes, then the bytes."""
    import gzip
    array = np.asarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 8, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    raw += array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    (gzip.open if gz else open)(str(path) + (".gz" if gz else ""), "wb").write(raw)


def write_mnist(root, n_train=6, n_test=4, gz=False):
    arrays = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte", x, gz)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte", y, gz)
        arrays[split] = (x, y)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_format_one_channel(tmp_path, gz):
    arrays = write_mnist(tmp_path, gz=gz)
    assert data.available_locally("mnist", root=tmp_path)
    for split in ("train", "test"):
        images, labels, classes = data.load("mnist", split, root=tmp_path, download=False)
        x, y = arrays[split]
        assert images.shape == (len(x), 1, 28, 28) and images.dtype == torch.uint8
        np.testing.assert_array_equal(images[:, 0].numpy(), x)
        assert labels.dtype == torch.int64 and labels.tolist() == y.tolist()
        assert len(classes) == 10 and classes[3] == "3 - three"


def test_mnist_features_with_its_preset(tmp_path):
    from rdsc.features import extract
    from rdsc.network import RandomDepthwiseSignNet
    write_mnist(tmp_path)
    images, _, _ = data.load("mnist", "test", root=tmp_path, download=False)
    net = RandomDepthwiseSignNet.for_dataset("mnist", 8)
    assert (net.in_channels, net.kernel_size, net.n_blocks) == (1, 5, 1)
    feats = extract(net, images, progress=False)
    np.testing.assert_allclose(feats[:], net(images.float() / 255).numpy(), atol=1e-6)


def test_mnist_broken_files_are_clear_errors(tmp_path):
    write_mnist(tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    (raw / "t10k-labels-idx1-ubyte").write_bytes((raw / "t10k-labels-idx1-ubyte").read_bytes()[:-1])
    with pytest.raises(DatasetNotFoundError, match="mnist.*truncated"):
        data.load("mnist", "test", root=tmp_path, download=False)
    (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x0d\x03" + bytes(12))  # floats
    with pytest.raises(DatasetNotFoundError, match="unsigned bytes"):
        data.load("mnist", "train", root=tmp_path, download=False)
    (raw / "train-images-idx3-ubyte").unlink()
    assert not data.available_locally("mnist", root=tmp_path)


def test_mnist_absent_offline_says_how_to_get_it(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")
    monkeypatch.setattr(tvd, "MNIST", offline)
    assert not data.available_locally("mnist", root=tmp_path)
    with pytest.raises(DatasetNotFoundError) as err:
        data.load("mnist", "train", root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "MNIST/raw") in msg and "download failed" in msg and "idx" in msg


def test_mnist_as_image_folder_stays_one_channel(tmp_path, small_named_datasets):
    folder = tmp_path / "mnist" / "train" / "7 - seven"
    folder.mkdir(parents=True)
    digit = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    Image.fromarray(digit).save(folder / "0.png")
    (tmp_path / "mnist" / "test").mkdir()
    images, labels, classes = data.load("mnist", "train", root=tmp_path)
    assert images.shape == (1, 1, 28, 28) and classes == ["7 - seven"]
    np.testing.assert_array_equal(images[0, 0].numpy(), digit)
    rgb, _, _ = data.load(str(tmp_path / "mnist"), "train", root=tmp_path)  # by path: RGB as ever
    assert rgb.shape == (1, 3, 28, 28)


def test_lossless_subset_is_a_named_image_folder(tmp_path, small_named_datasets):
    write_folder(tmp_path, "cifar10-lossless-subset", "train", {"cat": 2, "airplane": 1},
                 size=(32, 32))
    write_folder(tmp_path, "cifar10-lossless-subset", "test", {"cat": 1}, size=(32, 32))
    assert data.available_locally("cifar10-lossless-subset", root=tmp_path)
    images, labels, classes = data.load("cifar10-lossless-subset", "train", root=tmp_path)
    assert images.shape == (3, 3, 32, 32) and classes == ["airplane", "cat"]
    with pytest.raises(DatasetNotFoundError, match="cifar10-lossless-subset.tar"):
        data.load("cifar10-lossless-subset", "train", root=tmp_path / "empty")


def test_a_jpeg_copy_of_cifar10_is_named_so_beside_the_papers_number(tmp_path):
    """Chapter 3 once called every CIFAR-10 run "re-encoded as JPEG", also one read from
    the lossless files torchvision downloads."""
    from rdsc import paper
    write_folder(tmp_path / "jpeg", "cifar10", "train", {"cat": 1}, size=(32, 32), ext="jpg")
    write_folder(tmp_path / "png", "cifar10", "train", {"cat": 1}, size=(32, 32))
    (tmp_path / "standard" / "cifar-10-batches-py").mkdir(parents=True)
    assert data.stored_as_jpeg("cifar10", "train", root=tmp_path / "jpeg")
    assert not data.stored_as_jpeg("cifar10", "train", root=tmp_path / "png")
    assert not data.stored_as_jpeg("cifar10", "train", root=tmp_path / "standard")
    assert not data.stored_as_jpeg("cifar10", "train", root=tmp_path / "absent")
    assert "JPEG" in paper.compared_with("cifar10", jpeg=True)[1]
    assert paper.compared_with("cifar10", jpeg=False) == ("cifar10", "same dataset")
    # ImageNet's own images are JPEG: no word of a re-encoding there
    assert "JPEG" not in paper.compared_with("miniimagenet10", jpeg=True)[1]


def test_split_is_class_balanced_and_the_same_every_time(tmp_path, monkeypatch):
    monkeypatch.setenv("RDSC_DATA", str(tmp_path))
    written = write_folder(tmp_path, "toy", "train", {"a": 4, "b": 4})
    write_folder(tmp_path, "toy", "test", {"a": 2, "b": 2})
    split = data.Split.load(str(tmp_path / "toy"), 4, 2)
    assert split.classes == ["a", "b"] and split.n_classes == 2
    assert sorted(split.train_labels.tolist()) == [0, 0, 1, 1]
    assert sorted(split.test_labels.tolist()) == [0, 1]
    assert split.train_images.shape == (4, 3, 12, 10) and split.test_images.shape == (2, 3, 12, 10)
    for image, label in zip(split.train_images, split.train_labels):  # images keep their labels
        cls = split.classes[label]
        assert any(np.array_equal(image.numpy(), written[(cls, i)]) for i in range(4))
    again = data.Split.load(str(tmp_path / "toy"), 4, 2)
    assert torch.equal(again.train_images, split.train_images)
    assert np.array_equal(again.test_labels, split.test_labels)


# --- input checks ----------------------------------------------------------------------------

@pytest.mark.parametrize("field, bad", [
    ("resize", 64.0), ("resize", "64"), ("resize", (16,)), ("resize", (16, 0)), ("resize", 0),
    ("resize", -5), ("resize", True), ("resize", (16, 8.5)), ("crop", -3), ("crop", 0),
    ("crop", (8, 8)), ("crop", False)])
def test_bad_preprocess_sizes_name_the_field(tmp_path, field, bad):
    with pytest.raises(ValueError, match=f"Preprocess {field} must be"):
        Preprocess(**{field: bad})


def test_numpy_and_list_sizes_are_plain_ints():
    assert Preprocess(resize=np.int64(64), crop=np.int32(56)) == Preprocess(resize=64, crop=56)
    assert Preprocess(resize=[16, np.uint8(8)]).resize == (16, 8)
    assert isinstance(Preprocess(resize=np.int64(64)).resize, int)


def test_a_preprocessing_error_is_no_broken_file(tmp_path):
    write_folder(tmp_path, "toy", "train", {"a": 2}, size=(12, 10))
    with pytest.raises(ValueError, match="centre crop 11 is larger") as err:
        data.load(str(tmp_path / "toy"), "train", root=tmp_path, cache=False,
                  preprocess=Preprocess(crop=11))
    assert not isinstance(err.value, ImageReadError) and "delete" not in str(err.value)


def test_subset_takes_a_column_of_labels_and_refuses_other_shapes():
    labels = torch.tensor([0] * 10 + [1] * 10 + [2] * 10)
    for n, seed in ((3, 1), (15, 2)):
        assert torch.equal(data.subset(labels[:, None], n, seed), data.subset(labels, n, seed))
    assert labels[data.subset(labels[:, None], 15, 2)].bincount().tolist() == [5, 5, 5]
    for bad in (labels.reshape(15, 2), labels[None], torch.tensor(1)):
        with pytest.raises(ValueError, match="one label per image"):
            data.subset(bad, 3)


def test_empty_class_folders_are_no_classes_and_nested_images_are_named(tmp_path):
    write_folder(tmp_path, "toy", "train", {"b": 2, "c": 1})
    write_folder(tmp_path, "toy", "test", {"c": 1})
    for split in ("train", "test"):
        (tmp_path / "toy" / split / "a_empty").mkdir()
    write_folder(tmp_path / "toy" / "train", "c", "more", {"deep": 1})  # train/c/more/deep/0.png
    with pytest.warns(UserWarning) as caught:
        _, train_labels, classes = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
        _, test_labels, test_classes = data.load(str(tmp_path / "toy"), "test", root=tmp_path)
    messages = " | ".join(str(w.message) for w in caught)
    assert "without images in any split" in messages and "a_empty" in messages
    assert "not loaded" in messages and "train/c/more" in messages
    # b has no test image but keeps its index: labels agree between the splits
    assert classes == test_classes == ["b", "c"]
    assert train_labels.tolist() == [0, 0, 1] and test_labels.tolist() == [1]
    # an image in the empty folder makes it a class: no stale cache of the old numbering
    write_folder(tmp_path, "toy", "test", {"a_empty": 1})
    with pytest.warns(UserWarning, match="not loaded"):  # train/c/more is still there
        _, labels, classes = data.load(str(tmp_path / "toy"), "train", root=tmp_path)
    assert classes == ["a_empty", "b", "c"] and labels.tolist() == [1, 1, 2]


def test_a_partial_copy_of_a_named_dataset_is_refused_before_decoding(tmp_path):
    # chapter 3 once ran on a 9-class "cifar10" and set its accuracy beside the paper's
    for split, n in (("train", 3), ("test", 2)):
        for cls in ("airplane", "cat"):
            folder = tmp_path / "cifar10" / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (32, 32)).save(folder / f"{i}.png")
    with pytest.raises(data.IncompleteDatasetError,
                       match="holds 2 classes and 6 images, not the 10 and 50,000"):
        data.load("cifar10", "train", root=tmp_path)
    # by its path the folder loads as it is
    images, labels, classes = data.load(str(tmp_path / "cifar10"), "train", root=tmp_path)
    assert images.shape == (6, 3, 32, 32) and classes == ["airplane", "cat"]


def test_a_failed_download_leaves_no_empty_dataset_folder(tmp_path, monkeypatch):
    # an empty MNIST/raw left behind later read as "incomplete or corrupt ... delete it"
    import torchvision.datasets as tvd

    def offline(root, download, **kw):
        (Path(root) / "MNIST" / "raw").mkdir(parents=True)
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(tvd, "MNIST", offline)
    with pytest.raises(DatasetNotFoundError, match="download failed"):
        data.load("mnist", "train", root=tmp_path)
    assert not (tmp_path / "MNIST").exists()
    (tmp_path / "MNIST").mkdir()   # a folder that was there before is left alone
    with pytest.raises(DatasetNotFoundError):
        data.load("mnist", "train", root=tmp_path)
    assert (tmp_path / "MNIST").is_dir()


def test_subsets_want_integer_labels():
    with pytest.raises(ValueError, match="labels must be class indices 0..n-1, got dtype <U"):
        data.subset(np.array(["cat", "dog"] * 5), 4)


def test_subset_larger_than_the_images_warns_and_takes_them_all():
    labels = torch.tensor([0] * 4 + [1] * 3)
    with pytest.warns(UserWarning, match=r"asked for 9 images, but there are only 7: using all 7"):
        idx = data.subset(labels, 9)
    assert idx.tolist() == list(range(7))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exactly all of them is not over-asking
        assert data.subset(labels, 7).tolist() == list(range(7))
        # a caller that means "at most n" says so
        assert data.subset(labels, 9, up_to=True).tolist() == list(range(7))


def test_check_complete_checks_both_counts_and_a_larger_copy_too():
    for n_classes, n_images in ((9, 50_000), (10, 60_000)):
        with pytest.raises(data.IncompleteDatasetError):
            data.check_complete("cifar10", "train", Path("x"), n_classes, n_images)
    data.check_complete("cifar10", "train", Path("x"), 10, 50_000)


def test_subset_draws_within_classes_by_its_seed():
    labels = torch.arange(10).repeat_interleave(50)
    a, b = data.subset(labels, 100, seed=0), data.subset(labels, 100, seed=1)
    assert not torch.equal(a, b)
    first_of_each = torch.cat([torch.arange(c * 50, c * 50 + 10) for c in range(10)])
    assert not torch.equal(a, first_of_each)


def test_class_words_name_wordnet_ids_and_keep_other_names():
    from rdsc import data
    assert data.class_words(["n01532829", "cat", "n09256479"]) == [
        "house finch", "cat", "coral reef"]


def test_class_words_name_every_miniimagenet10_class():
    from rdsc import data
    from rdsc.paths import data_root
    require_real_data("miniimagenet10")
    folders = sorted(p.name for p in (data_root() / "miniimagenet10" / "train").iterdir()
                     if p.is_dir())
    assert sorted(data.CLASS_WORDS) == folders


def test_a_subset_size_is_between_the_classes_and_the_images_of_its_split():
    """Chapter 4's n_test = 2000 on miniimagenet10 (1,000 test images) was once cut
    with a warning while the settings line said 2000."""
    data.check_subset_size("miniimagenet10", "test", None, "n_test")   # all of them
    data.check_subset_size("miniimagenet10", "test", 1000, "n_test")
    with pytest.raises(ValueError, match="n_test = 1,001 for miniimagenet10: its test split "
                                         "has 1,000 images"):
        data.check_subset_size("miniimagenet10", "test", 1001, "n_test")
    with pytest.raises(ValueError, match="give at least its 10 classes"):
        data.check_subset_size("cifar10", "train", 9, "n_train")


def test_fewer_images_than_classes_is_said_not_hidden():
    """A subset of 5 images of 10 classes once kept classes 0-4 silently."""
    import warnings as w
    labels = np.repeat(np.arange(10), 20)
    with pytest.warns(UserWarning, match="a subset of 5 images cannot hold all 10 classes"):
        data.subset(labels, 5)
    with w.catch_warnings():
        w.simplefilter("error")
        assert len(data.subset(labels, 10)) == 10


def test_a_split_of_fewer_images_than_classes_is_refused():
    require_real_data("miniimagenet10")
    with pytest.raises(ValueError, match="n_train = 5 for miniimagenet10: give at least its "
                       "10 classes one image each"):
        data.Split.load("miniimagenet10", 5, 100)
