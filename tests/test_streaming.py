"""Streams of batches through the feature engine (the same features, cache and resume as a
tensor), and the SVM reading a feature matrix from disk in row blocks, never all of it."""
import json
import tracemalloc

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import (BatchSampler, DataLoader, IterableDataset, RandomSampler,
                              SequentialSampler, Subset, SubsetRandomSampler, TensorDataset)

from rdsc import classify, data, features
from rdsc.features import FeatureArray, extract
from rdsc.network import RandomDepthwiseSignNet
from rdsc.streaming import ImageFolderStream, as_stream

from conftest import kill_extraction_after


def make_folder(root, n=14, side=16, classes=("ant", "bee", "cat"), splits=("train", "test"),
                seed=0):
    """``root/<split>/<class>/<i>.png``: random RGB images, a few grayscale ones."""
    rng = np.random.default_rng(seed)
    for split in splits:
        for i in range(n):
            folder = root / split / classes[i % len(classes)]
            folder.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
            img = Image.fromarray(pixels).convert("L") if i % 5 == 4 else Image.fromarray(pixels)
            img.save(folder / f"{i:04d}.png")
    return root


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "images")


def test_folder_stream_gives_what_data_load_gives(folder):
    images, labels, classes = data.load(folder, "train", cache=False, progress=False)
    stream = ImageFolderStream(folder, "train")
    assert len(stream) == len(images) and stream.image_shape == tuple(images.shape[1:])
    assert stream.classes == classes and np.array_equal(stream.labels, labels.numpy())
    net = RandomDepthwiseSignNet(40)
    expected = extract(net, images, progress=False).counts
    assert np.array_equal(extract(net, stream, batch_size=4, progress=False).counts, expected)
    workers = ImageFolderStream(folder, "train", num_workers=2)  # decoded in 2 worker processes
    assert np.array_equal(extract(net, workers, batch_size=3, progress=False).counts, expected)


def test_a_named_grayscale_dataset_streams_one_channel(tmp_path, small_named_datasets):
    make_folder(tmp_path / "mnist", n=6, side=12)
    images, labels, classes = data.load("mnist", "test", root=tmp_path, cache=False, progress=False)
    stream = ImageFolderStream.for_dataset("mnist", "test", root=tmp_path)
    assert stream.image_shape == (1, 12, 12) == tuple(images.shape[1:])
    net = RandomDepthwiseSignNet(8, in_channels=1)
    assert np.array_equal(extract(net, stream, progress=False).counts,
                          extract(net, images, progress=False).counts)


def test_datasets_loaders_and_iterables_stream_the_same_features():
    x = torch.randint(0, 256, (13, 3, 16, 16), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(1))
    net = RandomDepthwiseSignNet(24)
    expected = extract(net, x, progress=False).counts
    labelled = TensorDataset(x, torch.arange(13))  # (image, label) items: the image is used
    for source in (labelled, DataLoader(labelled, batch_size=5),
                   DataLoader(x.float() / 255, batch_size=4),
                   as_stream([x[:6], x[6:]], n_images=13)):
        assert np.array_equal(extract(net, source, batch_size=4, progress=False).counts,
                              expected), source


class _Batches:
    """A re-iterable of batches without a length (as a user's own loader class)."""

    def __init__(self, batches):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)


def test_one_shot_iterators_are_refused():
    """The first batch of a generator was once used up to learn the shape, so every
    row of an endless one held the features of the image a batch later; a resumed run reads
    the source again, which a generator cannot give."""
    x = torch.randint(0, 256, (12, 3, 16, 16), dtype=torch.uint8)
    net = RandomDepthwiseSignNet(8)
    expected = extract(net, x, progress=False).counts

    def forever():
        while True:
            yield from (x[:4], x[4:8], x[8:])
    for one_shot in (forever(), iter([x[:6], x[6:]]), map(lambda b: b, [x])):
        with pytest.raises(TypeError, match="can be read only once: pass .* a list of batches"):
            as_stream(one_shot, n_images=12)
    # a user's class whose __iter__ starts over and returns itself is read again: taken
    class Restarting:
        def __init__(self, batches):
            self.batches = batches

        def __iter__(self):
            self.i = 0
            return self

        def __next__(self):
            if self.i == len(self.batches):
                raise StopIteration
            self.i += 1
            return self.batches[self.i - 1]
    got = extract(net, as_stream(Restarting([x[:5], x[5:]]), n_images=12),
                  progress=False).counts
    assert np.array_equal(got, expected)
    # a re-iterable without a length gives every row its own image
    got = extract(net, as_stream(_Batches([x[:4], x[4:8], x[8:]]), n_images=12),
                  progress=False).counts
    assert np.array_equal(got, expected)


def test_bad_streams_say_what_is_wrong(folder, tmp_path):
    x = torch.zeros(6, 3, 16, 16, dtype=torch.uint8)
    net = RandomDepthwiseSignNet(8)
    with pytest.raises(ValueError, match="shuffle=False"):
        extract(net, DataLoader(x, batch_size=2, shuffle=True), progress=False)
    with pytest.raises(ValueError, match="pass n_images"):
        as_stream(_Batches([x]))
    with pytest.raises(ValueError, match="ended after row 6, but it announced 8"):
        extract(net, as_stream([x], n_images=8), progress=False)
    with pytest.raises(ValueError, match="no fingerprint"):
        extract(net, TensorDataset(x), cache=tmp_path, progress=False)
    with pytest.raises(ValueError, match="has shape"):
        extract(net, as_stream([x, x[:, :, :8]], n_images=12), progress=False)
    # another size, last in order
    Image.new("RGB", (20, 16)).save(folder / "train" / "ant" / "9999.png")
    with pytest.raises(ValueError, match="resize"):
        extract(net, ImageFolderStream(folder, "train"), progress=False)
    with pytest.raises(data.DatasetNotFoundError, match="splits found"):
        ImageFolderStream(folder, "validation")


def test_only_loaders_in_dataset_order_are_streamed():
    """Features are matched to labels by row: any sampler that is not sequential is refused
    (a SubsetRandomSampler or a random batch_sampler once passed and gave shuffled rows)."""
    x = torch.randint(0, 256, (12, 3, 16, 16), dtype=torch.uint8,
                      generator=torch.Generator().manual_seed(2))
    ds = TensorDataset(x, torch.arange(12))
    net = RandomDepthwiseSignNet(8)
    expected = extract(net, x, progress=False).counts
    for loader in (DataLoader(ds, batch_size=4, sampler=SubsetRandomSampler(range(12))),
                   DataLoader(ds, batch_sampler=BatchSampler(RandomSampler(ds), 4, False)),
                   DataLoader(ds, batch_size=None, sampler=RandomSampler(ds)),
                   DataLoader(ds, batch_size=4, sampler=[11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0])):
        with pytest.raises(ValueError, match="Subset"):
            extract(net, loader, progress=False)
    # drop_last computed every row, then failed without naming it
    with pytest.raises(ValueError, match=r"drops its last 2 images \(drop_last=True"):
        extract(net, DataLoader(ds, batch_size=5, drop_last=True), progress=False)
    with pytest.raises(ValueError, match=r"drops its last 2 images"):
        extract(net, DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 5,
                                                               True)), progress=False)
    assert np.array_equal(extract(net, DataLoader(ds, batch_size=4, drop_last=True),
                                  progress=False).counts, expected)  # 12 = 3 x 4: none dropped

    class Images(IterableDataset):  # its own order, no sampler: n_images says how many
        def __iter__(self):
            yield from x
    for loader, rows in ((DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 5,
                                                                      False)), expected),
                         (DataLoader(ds, batch_size=None), expected),
                         # samplers of any type that draw 0, 1, 2, ... in order
                         (DataLoader(ds, batch_size=4, sampler=range(12)), expected),
                         (DataLoader(ds, batch_sampler=[[0, 1, 2], [3, 4, 5, 6],
                                                        [7, 8, 9, 10, 11]]), expected),
                         (DataLoader(Subset(ds, [1, 3, 5]), batch_size=2), expected[[1, 3, 5]]),
                         (as_stream(DataLoader(Images(), batch_size=5), n_images=12), expected)):
        assert np.array_equal(extract(net, loader, progress=False).counts, rows), loader


def test_stream_cache_resumes_decoding_only_the_missing_images(folder, tmp_path, monkeypatch):
    net = RandomDepthwiseSignNet(30)
    expected = extract(net, ImageFolderStream(folder, "train"), progress=False).counts
    kill_extraction_after(monkeypatch, 2, features)  # record every batch
    with pytest.raises(KeyboardInterrupt):
        extract(net, ImageFolderStream(folder, "train"), cache=tmp_path, batch_size=3,
                progress=False)
    progress_file, = tmp_path.glob("*.progress.json")
    assert json.loads(progress_file.read_text())["rows_done"] == 6
    monkeypatch.undo()

    decoded = []
    real_decode = data._decode
    monkeypatch.setattr(data, "_decode",
                        lambda path, prep: decoded.append(path) or real_decode(path, prep))
    stream = ImageFolderStream(folder, "train")  # decodes its first image for the shape
    decoded.clear()
    resumed = extract(net, stream, cache=tmp_path, batch_size=3, progress=False)
    assert decoded == stream.files[6:]  # the 6 finished images were not decoded again
    assert np.array_equal(resumed.counts, expected)
    assert not list(tmp_path.glob("*.progress.json")) and len(list(tmp_path.glob("*.npy"))) == 1
    # the fingerprint follows the files: a changed image is a new cache entry
    again = extract(net, ImageFolderStream(folder, "train"), cache=tmp_path, progress=False)
    assert np.array_equal(again.counts, expected) and len(list(tmp_path.glob("*.npy"))) == 1
    Image.new("RGB", (16, 16), "red").save(stream.files[0])
    changed = extract(net, ImageFolderStream(folder, "train"), cache=tmp_path, progress=False)
    assert (len(list(tmp_path.glob("*.npy"))) == 2
            and not np.array_equal(changed.counts[0], expected[0]))


# --- the linear SVM on a feature matrix larger than memory ---------------------------------------

class DiskCounts:
    """An int16 matrix on disk (a memory map) that records every read and refuses a whole copy."""

    def __init__(self, path, shape):
        self.mm = np.lib.format.open_memmap(path, mode="r")
        assert self.mm.shape == shape
        self.shape, self.dtype, self.ndim = self.mm.shape, self.mm.dtype, 2
        self.largest_read = 0

    def __getitem__(self, index):
        block = self.mm[index]
        self.largest_read = max(self.largest_read, block.shape[0] if block.ndim == 2 else 1)
        return block

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("the whole feature matrix was materialised")


def test_svm_reads_a_matrix_larger_than_memory_in_row_blocks(tmp_path, monkeypatch):
    """The torch solver's memory: row blocks of block_rows x (k+1) values (while one is in use,
    the next is read: at most about 14 bytes a value for int16 counts) plus O((n + k) x classes)
    of solver state, never the n x k matrix. Scaled down: 'free memory' is 1 MB, the matrix
    4 MB as float32 (n=2000, k=500) on disk as int16 counts, blocks of 64 rows (128 kB)."""
    n, k, block_rows = 2000, 500, 64
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    path = tmp_path / "counts.npy"
    counts = np.lib.format.open_memmap(path, mode="w+", dtype=np.int16, shape=(n, k))
    for lo in range(0, n, 500):  # class-dependent counts out of 225, like CIFAR's 15 x 15 maps
        centre = (y[lo:lo + 500, None] - 1) * 20
        counts[lo:lo + 500] = np.clip(rng.normal(centre, 60, (len(centre), k)), -225, 225)
    counts.flush()
    del counts
    disk = DiskCounts(path, (n, k))
    X = FeatureArray(disk, 225)
    monkeypatch.setattr(classify, "_free_memory", lambda device: 1 << 20)  # 1 MB: nothing kept
    monkeypatch.setattr(classify._RowBlocks.__init__, "__defaults__", (block_rows, None))
    kept = []
    real_init = classify._RowBlocks.__init__

    def watched_init(self, *args, **kw):
        real_init(self, *args, **kw)
        kept.append(self.kept)
    monkeypatch.setattr(classify._RowBlocks, "__init__", watched_init)
    with pytest.warns(Warning):  # one step on purpose: a ConvergenceWarning
        classify.LinearSVM(device="cpu", max_iter=1).fit(X[:8], y[:8])  # imports done first
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        svm = classify.LinearSVM(device="cpu").fit(X, y)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
        torch.set_num_threads(threads)
    assert kept[-1] is None and disk.largest_read <= block_rows
    # numpy's allocations (tracemalloc sees numpy's, not torch's): a few blocks, not the matrix
    block_bytes, matrix_bytes = block_rows * k * 2, n * k * 2
    assert peak < 4 * block_bytes < matrix_bytes / 4, (peak, block_bytes, matrix_bytes)
    predicted = np.concatenate([svm.predict(X[lo:lo + block_rows])
                                for lo in range(0, n, block_rows)])
    assert (predicted == y).mean() > 0.9


def test_a_resume_in_mid_batch_yields_the_missing_rows():
    """A resume inside a batch once yielded the wrong rows."""
    from rdsc import streaming
    imgs = torch.arange(8, dtype=torch.uint8).view(8, 1, 1, 1).expand(8, 1, 2, 2).contiguous()
    s = streaming.as_stream([imgs[:4], imgs[4:]], n_images=8)
    got = torch.cat(list(s.batches(2, 7, 3)))
    assert got[:, 0, 0, 0].tolist() == [2, 3, 4, 5, 6]


def test_a_loader_whose_sampler_covers_part_of_its_dataset_is_refused():
    """A partial sampler was once accepted."""
    from rdsc import streaming
    from torch.utils.data import DataLoader, TensorDataset
    ds = TensorDataset(torch.zeros(10, 1, 2, 2))
    with pytest.raises(ValueError):
        streaming.as_stream(DataLoader(ds, sampler=list(range(5)), batch_size=2))


def test_two_preprocessings_with_one_output_size_have_their_own_fingerprints(folder):
    """With the preprocessing left out of a folder's fingerprint, a resize to 8 x 8 and a
    resize to 16 then a centre crop of 8 (other images, one shape) once passed every test:
    their cached features would have been shared."""
    squeezed = ImageFolderStream(folder, "train", preprocess=data.Preprocess(resize=(8, 8)))
    cropped = ImageFolderStream(folder, "train",
                                preprocess=data.Preprocess(resize=16, crop=8))
    assert squeezed.image_shape == cropped.image_shape == (3, 8, 8)
    assert squeezed.fingerprint != cropped.fingerprint


def test_a_stream_fingerprint_follows_its_files_and_the_decoder_version(folder, tmp_path,
                                                                       monkeypatch):
    """A file corrected on disk while a notebook held the stream once kept its old cached
    features (the fingerprint was made once), and features cached before a decoder fix
    (data.CACHE_FORMAT) were served after it."""
    stream = ImageFolderStream(folder, "train")
    net = RandomDepthwiseSignNet(16, kernel_size=3, n_blocks=0, seed=1)
    before = np.asarray(extract(net, stream, cache=tmp_path / "c", name="s", progress=False))
    first = stream.fingerprint
    assert stream.fingerprint == first   # unchanged files: the same, and not read again
    fixed = np.full((16, 16, 3), 200, dtype=np.uint8)
    Image.fromarray(fixed).save(stream.files[0])
    after = np.asarray(extract(net, stream, cache=tmp_path / "c", name="s", progress=False))
    fresh = np.asarray(extract(net, ImageFolderStream(folder, "train"), cache=None,
                               progress=False))
    assert stream.fingerprint != first
    assert np.array_equal(after, fresh) and not np.array_equal(after, before)

    now = stream.fingerprint
    monkeypatch.setattr(data, "CACHE_FORMAT", data.CACHE_FORMAT + 1)
    assert ImageFolderStream(folder, "train").fingerprint != now
    stream.fingerprint = "given"        # a caller's own fingerprint is kept as given
    assert stream.fingerprint == "given"


class _EveryWorkerReadsAll(IterableDataset):
    """An IterableDataset with no per-worker split: each DataLoader worker yields it all."""

    def __init__(self, images):
        self.images = images

    def __iter__(self):
        for i, image in enumerate(self.images):
            yield image, i

    def __len__(self):
        return len(self.images)


def test_a_stream_of_more_images_than_announced_is_refused():
    # it was once cut at the count in silence; two workers over an IterableDataset gave rows
    # 0-3, 0-3, 4-7, 4-7 against labels 0..15
    net = RandomDepthwiseSignNet(8, 5, 1, seed=0)
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    ref = np.asarray(extract(net, x, progress=False))
    with pytest.raises(ValueError, match="yields more than the 16 images it announced "
                                         r"\(an IterableDataset read by 2 DataLoader workers"):
        extract(net, DataLoader(_EveryWorkerReadsAll(x), batch_size=4, num_workers=2),
                progress=False, cache=False)
    with pytest.raises(ValueError, match="yields more than the 7 images it announced"):
        extract(net, as_stream([x[:5], x[5:]], n_images=7), progress=False, cache=False)
    # one worker, or the true count: the tensor's features
    one = DataLoader(_EveryWorkerReadsAll(x), batch_size=4)
    assert np.array_equal(np.asarray(extract(net, one, progress=False, cache=False)), ref)
    assert np.array_equal(np.asarray(extract(net, as_stream([x[:5], x[5:]], n_images=16),
                                             progress=False, cache=False)), ref)


def test_a_stream_batch_of_integers_other_than_uint8_is_refused():
    # int64 batches after a uint8 first batch were once read as [0, 1] floats
    # (features off by up to 0.83), where one int64 tensor is refused
    net = RandomDepthwiseSignNet(8, 5, 1, seed=0)
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    for kind in (torch.int64, torch.int32):
        with pytest.raises(TypeError, match=f"batch at row 4 holds {kind} values; the stream "
                                            "began with torch.uint8"):
            extract(net, as_stream([x[:4], x[4:].to(kind)], n_images=8), progress=False,
                    cache=False)


def test_a_dataset_item_of_another_size_is_named():
    # this was once torch's collate error, with no item of the dataset and no hint
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)

    class OneOdd(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return torch.zeros(3, 40, 32, dtype=torch.uint8) if i == 5 else x[i]

    net = RandomDepthwiseSignNet(8, 5, 1, seed=0)
    with pytest.raises(ValueError, match=r"item 5 of the dataset has shape \(3, 40, 32\), "
                                         r"item 0 \(3, 32, 32\): images must share one size"):
        extract(net, OneOdd(), batch_size=4, progress=False, cache=False)
