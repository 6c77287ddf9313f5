"""Images as a stream of batches: datasets larger than memory through the feature engine.

:func:`rdsc.data.load` holds a whole split as one uint8 tensor ``N x 3 x H x W``. A
*stream* instead hands the engine one batch at a time, so memory stays flat in the
number of images: :func:`rdsc.features.extract` (and :func:`rdsc.feature_files.write_features`)
take any stream where they take a tensor, with the same cache and the same resume.

A stream (:class:`ImageStream`) knows, before decoding anything but its first image:

* ``len(stream)``: ``N``, the number of images;
* ``stream.image_shape``: ``(C, H, W)``, the same for every image;
* ``stream.dtype``: ``torch.uint8`` (pixels 0..255) or a float dtype (values in [0, 1]);
* ``stream.fingerprint``: a string that changes whenever the images may have changed
  (the feature cache's key), or ``None`` (then the features cannot be cached);

and ``stream.batches(start, stop, batch_size)`` yields the images ``start .. stop-1`` in
order as tensors ``n x C x H x W`` (``n <= batch_size``), so a resumed extraction
decodes only the images it still needs.

Streams here:

* :class:`ImageFolderStream`: an image folder ``<folder>/<split>/<class>/<image>``
  (or a named dataset stored that way), decoded in DataLoader worker processes
  exactly as :func:`rdsc.data.load` decodes it, so the features are the same.
* :class:`DatasetStream`: any map-style ``torch.utils.data.Dataset`` whose items are
  images ``C x H x W`` (or tuples whose first element is one), batched by rdsc.
* :class:`LoaderStream`: an existing ``DataLoader`` (in dataset order) or any re-iterable
  of batches; on resume, its batches before ``start`` are read and dropped.

:func:`as_stream` picks the right one.
"""
from __future__ import annotations

import hashlib
import json
import os
import types
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import (BatchSampler, DataLoader, Dataset, IterableDataset, RandomSampler,
                              SequentialSampler, Subset, SubsetRandomSampler,
                              WeightedRandomSampler)

from rdsc import data


class ImageStream:
    """The stream protocol (see the module's docstring); subclasses fill in the members."""

    image_shape: tuple[int, int, int]
    dtype: torch.dtype
    fingerprint: str | None = None

    def __len__(self) -> int:
        raise NotImplementedError

    def batches(self, start: int, stop: int, batch_size: int):
        """Yields tensors ``n x C x H x W`` holding images ``start .. stop-1`` in order."""
        raise NotImplementedError

    def __repr__(self):
        return (f"{type(self).__name__}(n={len(self)}, image_shape={self.image_shape}, "
                f"dtype={self.dtype})")


def is_stream(source) -> bool:
    """Is ``source`` something :func:`as_stream` takes (rather than one tensor or array)?"""
    return isinstance(source, (ImageStream, Dataset, DataLoader))


def as_stream(source, *, fingerprint: str | None = None, n_images: int | None = None,
              num_workers: int = 0) -> ImageStream:
    """``source`` as an :class:`ImageStream`.

    Args:
        source: an :class:`ImageStream` (returned as it is), a map-style
            ``torch.utils.data.Dataset`` (-> :class:`DatasetStream`), or a ``DataLoader``
            or other re-iterable of batches (-> :class:`LoaderStream`).
        fingerprint: a string identifying the images, for the feature cache (e.g. a hash
            of the file list). Without one, features of the stream are not cached.
        n_images: the number of images, where ``len(source.dataset)`` cannot tell it.
        num_workers: decoding processes for a Dataset (a DataLoader keeps its own).
    """
    if isinstance(source, ImageStream):
        if fingerprint is not None:
            source.fingerprint = fingerprint
        return source
    if isinstance(source, Dataset) and not isinstance(source, IterableDataset):
        return DatasetStream(source, num_workers=num_workers, fingerprint=fingerprint)
    if isinstance(source, (torch.Tensor, np.ndarray)):
        raise TypeError("a tensor or array is not a stream: pass it to extract directly")
    if hasattr(source, "__iter__"):
        return LoaderStream(source, n_images=n_images, fingerprint=fingerprint)
    raise TypeError(f"cannot stream images from a {type(source).__name__}: expected a Dataset, "
                    "a DataLoader, an iterable of N x C x H x W batches or an ImageStream")


def _as_batch(batch, what: str) -> torch.Tensor:
    """A loader's batch (a tensor, array, or a tuple whose first element is one) as a tensor."""
    if isinstance(batch, (tuple, list)) and batch and not isinstance(batch[0], (int, float)):
        batch = batch[0]
    if isinstance(batch, np.ndarray):
        batch = torch.from_numpy(batch)
    if not isinstance(batch, torch.Tensor):
        raise TypeError(f"{what} is a {type(batch).__name__}, not a tensor of images "
                        "(or a tuple whose first element is one)")
    return batch


def _chunks(batch: torch.Tensor, batch_size: int):
    for lo in range(0, len(batch), batch_size):
        yield batch[lo:lo + batch_size]


# --- a folder of image files ------------------------------------------------------------------

#: formats whose PIL ``verify`` passes a file cut short (a truncated TIFF, BMP or
#: GIF once passed the check and stopped a run after 608 of 799 rows): decoded in full by
#: :meth:`ImageFolderStream.check_files`
FULLY_DECODED = ("TIFF", "BMP", "GIF")

class _DecodedFolder(Dataset):
    """Map-style dataset: item ``i`` is image ``i`` of the listing, decoded, ``C x H x W`` uint8."""

    def __init__(self, files, preprocess, shape, gray=False):
        self.files, self.preprocess, self.shape, self.gray = files, preprocess, shape, gray

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        array = _decode(self.files[i], self.preprocess, self.gray)
        if array.shape != self.shape:
            raise ValueError(
                f"image {self.files[i]} is {array.shape[1]}x{array.shape[2]} after preprocessing, "
                f"but the first image is {self.shape[1]}x{self.shape[2]}: pass "
                "preprocess=rdsc.data.Preprocess(resize=(H, W)) (command line: --resize HxW) "
                "to bring all images to one size")
        # a writable copy (PIL arrays are read-only)
        return torch.from_numpy(np.array(array, order="C"))


def _decode(path, preprocess, gray: bool) -> np.ndarray:
    """One image as :func:`rdsc.data.load` decodes it: ``3 x H x W`` RGB, or ``1 x H x W``."""
    return data._decode(path, preprocess, gray) if gray else data._decode(path, preprocess)


class ImageFolderStream(ImageStream):
    """The images of ``<folder>/<split>/<class>/<image>``, decoded batch by batch.

    The images, their order, labels, classes and decoding (RGB, or one channel where
    ``gray``; 8 bits; ``preprocess``) are those of ``rdsc.data.load``, which would hold all
    of them in memory at once; here ``num_workers`` DataLoader processes decode the
    batches as they are needed (``0``: decode in this process).

    Attributes: ``labels`` (``int64 N``, indices into ``classes``), ``classes``,
    ``files``, ``image_shape`` ``(3, H, W)`` (``(1, H, W)`` with ``gray``), ``dtype``
    (``torch.uint8``), ``fingerprint`` (hash of the file names within the split, their
    contents, classes and decoding).
    """

    dtype = torch.uint8

    def __init__(self, folder, split: str, preprocess: data.Preprocess | None = None, *,
                 num_workers: int = 0, splits=None, gray: bool = False):
        folder = Path(folder).expanduser()
        if not (folder / split).is_dir():
            found = sorted(p.name for p in folder.iterdir()
                           if p.is_dir() and not data.is_skipped(p.name)) \
                if folder.is_dir() else []
            raise data.DatasetNotFoundError(
                f"{folder / split} is not a folder"
                + (f" (splits found: {found})" if found else ""))
        if int(num_workers) < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers!r}")
        self.folder, self.split, self.num_workers = folder, split, int(num_workers)
        self.preprocess = preprocess if preprocess is not None else data.Preprocess()
        self.classes = data._class_names(folder, splits)
        files, labels, stamp = data._list_images(folder, split, self.classes)
        if not files:
            raise data.DatasetNotFoundError(data.no_images_message(folder, split))
        self.files, self.labels = files, np.asarray(labels, dtype=np.int64)
        self.gray = bool(gray)
        self.image_shape = tuple(int(s)
                                 for s in _decode(files[0], self.preprocess, self.gray).shape)
        self._fingerprint = None  # from the files' contents, when first asked for
        self._stamps = None       # the files' stat stamps when it was made
        self.dataset = _DecodedFolder(files, self.preprocess, self.image_shape, self.gray)

    @property
    def fingerprint(self) -> str:
        """A hash of the images' names (relative to the split), contents, classes and
        decoding: the same images give the same one wherever the folder lies and whatever
        the files' dates (a folder moved, copied to a node's scratch disk or
        touched could not resume its rows). Every file is read on first use, and again
        where a file's size, times or inode changed since (a file corrected on disk while
        a notebook held the stream once kept its old features from the cache)."""
        if self._fingerprint is None or (self._stamps is not None
                                         and self._stamps != self._file_stamps()):
            self.set_fingerprint(self.file_digests(range(len(self.files))))
        return self._fingerprint

    def _file_stamps(self) -> str:
        """A hash of every file's :func:`rdsc.data.file_stamp` (no file is read)."""
        h = hashlib.sha256()
        for f in self.files:
            try:
                h.update(data.file_stamp(f.stat()).encode())
            except FileNotFoundError:   # the digest then names the missing file
                h.update(b"missing")
        return h.hexdigest()

    def file_digests(self, indices) -> list[str]:
        """The content hashes of the files ``indices`` (read in 8 threads): the ranks of a
        torchrun each hash a share, then :meth:`set_fingerprint` from all of them."""
        from concurrent.futures import ThreadPoolExecutor

        def digest(i: int) -> str:
            with open(self.files[i], "rb") as f:
                return hashlib.file_digest(f, "blake2b").hexdigest()[:32]
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(digest, indices))

    def set_fingerprint(self, digests: list[str]) -> None:
        """The fingerprint from every file's content hash, in the files' order, and the
        decoder's version (:data:`rdsc.data.CACHE_FORMAT`: features an older rdsc cached
        from pixels it decoded otherwise were once served after a decoder fix)."""
        stamps = self._file_stamps()
        names = [str(f.relative_to(self.folder / self.split)) for f in self.files]
        text = json.dumps(["folder", data.CACHE_FORMAT, self.split, names, list(digests),
                           self.classes, asdict(self.preprocess),
                           *(["gray"] if self.gray else [])], default=str)
        self._fingerprint = hashlib.sha256(text.encode()).hexdigest()[:24]
        self._stamps = stamps

    @fingerprint.setter
    def fingerprint(self, value: str) -> None:
        """A fingerprint given by the caller, kept as given (not checked against the
        files)."""
        self._fingerprint, self._stamps = value, None

    @classmethod
    def for_dataset(cls, name: str, split: str, root=None, *,
                    num_workers: int = 0) -> "ImageFolderStream":
        """A named dataset of :data:`rdsc.data.DATASETS` stored as an image folder in the data
        root, with the paper's preprocessing (as ``rdsc.data.load(name, split)``); a partial
        copy is refused (:func:`rdsc.data.check_complete`)."""
        spec = data.DATASETS[name]
        if split not in spec.splits:
            raise ValueError(f"{name!r} has splits {spec.splits}, not {split!r}")
        stream = cls(data.data_root(root) / name, split, spec.preprocess,
                     num_workers=num_workers, splits=spec.splits,
                     gray=getattr(spec, "channels", 3) == 1)
        data.check_complete(name, split, stream.folder, len(stream.classes), len(stream))
        return stream

    def __len__(self):
        return len(self.files)

    def check_files(self, workers: int = 8) -> None:
        """Raise :class:`rdsc.data.ImageReadError` naming every file that is visibly broken
        (PIL's ``verify``: headers and, for PNG, checksums; a JPEG without its end marker is
        decoded in full, since some valid files carry bytes after it, and so is every file
        of :data:`FULLY_DECODED`, whose ``verify`` misses a cut file),
        before any feature is computed. Found mid-run instead, a broken file stops the run,
        and replacing it changes the folder's fingerprint: the rows done are not reused.
        Not a full decode: a file that passes can still fail later (rarely).

        Then a ``ValueError`` names every image whose size after preprocessing (from its
        header, turned as its EXIF orientation says) differs from the first image's."""
        from concurrent.futures import ThreadPoolExecutor

        from PIL import Image

        sizes = {}  # file -> (width, height) after preprocessing, from its header

        def broken(path: Path) -> str | None:
            try:
                with Image.open(path) as img:
                    img.verify()  # first: PIL allows nothing before it
                with Image.open(path) as img:  # the header again, for the size
                    w, h = img.size
                    # turned a quarter on decoding; a PNG's EXIF is looked for only where
                    # its header holds it (PIL decodes the whole image to find a late one)
                    if ((img.format != "PNG" or "exif" in img.info)
                            and data.exif_orientation(img) >= 5):
                        w, h = h, w
                    if img.format in FULLY_DECODED:
                        img.load()
                try:
                    sizes[path] = self.preprocess.output_size(w, h)
                except ValueError as err:  # a crop larger than this image
                    sizes[path] = str(err)
                if path.suffix.lower() in data.JPEG_EXTENSIONS:
                    with open(path, "rb") as f:
                        f.seek(-2, os.SEEK_END)
                        ends = f.read(2) == b"\xff\xd9"
                    if not ends:  # cut short, or bytes after the end marker: decode to tell
                        with Image.open(path) as img:
                            img.load()
            except Exception as err:  # PIL raises several types for broken files
                return f"{path} ({data.read_error_words(err)})"
            return None

        with ThreadPoolExecutor(max_workers=workers) as pool:
            bad = [b for b in pool.map(broken, self.files) if b]
        if bad:
            raise data.ImageReadError(
                f"{len(bad)} of {len(self.files)} images in {self.folder / self.split} cannot be "
                f"read: {'; '.join(bad[:10])}" + (f" and {len(bad) - 10} more" if len(bad) > 10
                                                  else "")
                + ". Replace or delete them, then run again (nothing was computed yet).")
        # one image of another size once stopped a run after 2,592 of 3,001 rows
        # the odd ones out are those not of the most common size (a 1x1
        # image sorting first named the other 11 of 12 as odd); a tie keeps the first's
        first = (self.image_shape[2], self.image_shape[1])  # (width, height), as PIL's
        counts = Counter(s for s in sizes.values() if not isinstance(s, str))
        want = max(counts, key=lambda s: (counts[s], s == first), default=first)
        which = "as the first is" if counts[want] == counts.get(first) else "as most are"
        odd = [f"{p} ({s if isinstance(s, str) else f'{s[1]}x{s[0]}'})"
               for p in self.files if (s := sizes.get(p)) is not None and s != want]
        if odd:
            # height x width, as --resize HxW takes them
            raise ValueError(
                f"{len(odd):,} of {len(self.files):,} images in {self.folder / self.split} are "
                f"not {want[1]}x{want[0]} (height x width) after preprocessing, {which}: "
                f"{'; '.join(odd[:10])}" + (f" and {len(odd) - 10} more" if len(odd) > 10 else "")
                + ". Bring them to one size: --resize HxW on the command line "
                "(rdsc.data.Preprocess(resize=(H, W)) in Python); nothing was computed yet.")

    def batches(self, start: int, stop: int, batch_size: int):
        """Images ``start .. stop-1`` as ``n x C x H x W`` batches, decoded by ``num_workers``."""
        if start >= stop:
            return
        loader = DataLoader(Subset(self.dataset, range(start, stop)), batch_size=batch_size,
                            num_workers=self.num_workers)
        yield from loader


# --- any map-style dataset ----------------------------------------------------------------------

class _FirstElement(Dataset):
    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        return _as_batch(self.dataset[i], f"item {i} of the dataset")


class DatasetStream(ImageStream):
    """A map-style ``Dataset`` of images ``C x H x W`` (or ``(image, label, ...)`` tuples).

    Its first item gives the shape and dtype; batches are drawn by a ``DataLoader`` over
    the items ``start .. stop-1`` with ``num_workers`` worker processes.
    """

    def __init__(self, dataset: Dataset, *, num_workers: int = 0, fingerprint: str | None = None):
        if len(dataset) < 1:
            raise ValueError("the dataset is empty")
        self.dataset, self.num_workers, self.fingerprint = (_FirstElement(dataset),
                                                            int(num_workers), fingerprint)
        first = self.dataset[0]
        if first.dim() != 3:
            raise ValueError("dataset items must be images C x H x W, item 0 has shape "
                             f"{tuple(first.shape)}")
        self.image_shape, self.dtype = tuple(first.shape), first.dtype

    def __len__(self):
        return len(self.dataset)

    def batches(self, start: int, stop: int, batch_size: int):
        """Items ``start .. stop-1`` as ``n x C x H x W`` batches, loaded by ``num_workers``."""
        if start >= stop:
            return
        loader = DataLoader(Subset(self.dataset, range(start, stop)), batch_size=batch_size,
                            num_workers=self.num_workers)
        batches, lo = iter(loader), start
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except RuntimeError as err:
                if "stack expects each tensor to be equal size" not in str(err):
                    raise
                # torch's collate error names no item of the dataset
                hi = min(lo + batch_size, stop)
                odd = [i for i in range(lo, hi) if tuple(self.dataset[i].shape)
                       != tuple(self.image_shape)]
                raise ValueError(
                    f"{'item' if len(odd) == 1 else 'items'} {', '.join(map(str, odd[:5]))} "
                    f"of the dataset {'has' if len(odd) == 1 else 'have'} shape "
                    f"{tuple(self.dataset[odd[0]].shape) if odd else '?'}, item 0 "
                    f"{tuple(self.image_shape)}: images must share one size; resize them in "
                    "the dataset (e.g. torchvision.transforms.Resize)") from None
            yield batch
            lo += len(batch)


# --- a DataLoader, or any iterable of batches -----------------------------------------------------

def _refuse_unordered(loader: DataLoader) -> None:
    """Raises unless ``loader`` reads its map-style dataset in index order, 0, 1, 2, ...

    Features are stored by row and matched to the dataset's labels by row, and a resumed run
    joins rows of two passes, so only a ``SequentialSampler`` (alone or batched by a
    ``BatchSampler``) is accepted: a shuffling or subsetting sampler (``shuffle=True``,
    ``SubsetRandomSampler``, ``WeightedRandomSampler``, a random ``batch_sampler``, ...) would
    give rows in an order that matches neither the labels nor the last run.
    """
    if isinstance(loader.dataset, IterableDataset):
        return  # it has its own order; DataLoader draws no indices for it
    n, size, drops = len(loader.dataset), loader.batch_size, loader.drop_last
    if isinstance(loader.batch_sampler, BatchSampler):  # batch_sampler=BatchSampler(...)
        size, drops = loader.batch_sampler.batch_size, loader.batch_sampler.drop_last
    if drops and size and n % size:
        # found only at the end, after every row was computed
        raise ValueError(f"the DataLoader drops its last {n % size} images (drop_last=True, "
                         f"{n} images in batches of {size}): features are stored for every "
                         "image of the dataset; use drop_last=False")
    sampler = loader.sampler
    # batch_sampler=... leaves loader.sampler a SequentialSampler: what decides is inside it
    if loader.batch_sampler is not None:
        sampler = (loader.batch_sampler.sampler
                   if isinstance(loader.batch_sampler, BatchSampler) else loader.batch_sampler)
    if isinstance(sampler, SequentialSampler):
        return
    # any other sampler (range(n), a custom one) passes when it draws 0, 1, 2, ... through the
    # whole dataset, twice (a random one could match once by chance on a tiny dataset); the
    # random samplers torch ships are refused without drawing from them
    if (not isinstance(sampler, (RandomSampler, SubsetRandomSampler, WeightedRandomSampler))
            and all(_draws_in_order(sampler, len(loader.dataset)) for _ in range(2))):
        return
    how = ("shuffles (shuffle=True or a RandomSampler)" if isinstance(sampler, RandomSampler)
           else f"draws its images with a {type(sampler).__name__} not in the order 0, 1, 2, ..."
           " of the whole dataset")
    raise ValueError(f"the DataLoader {how}: features are stored by row, so the images must come "
                     "in the dataset's order every time; use shuffle=False without a sampler or "
                     "batch_sampler, and for part of a dataset pass "
                     "torch.utils.data.Subset(dataset, indices) (or a DataLoader over one)")


def _draws_in_order(sampler, n: int) -> bool:
    """Does ``sampler`` (of indices, or of batches of indices) give exactly 0..n-1 in order?"""
    expected = 0
    try:
        for item in sampler:
            for i in (item if isinstance(item, (list, tuple, range)) else [item]):
                if int(i) != expected:
                    return False
                expected += 1
    except (TypeError, ValueError):
        return False
    return expected == n


class LoaderStream(ImageStream):
    """A ``DataLoader`` or other iterable of batches ``n x C x H x W`` (or tuples whose first
    element is one), read in its own order and batch size.

    It must give the same images in the same order each time it is iterated (a DataLoader
    must read its dataset in order: one that shuffles or has another sampler is refused; for
    part of a dataset, load a ``Subset``); a resumed extraction reads and drops the batches
    before its first missing row, so a Dataset (:class:`DatasetStream`) resumes faster.
    """

    def __init__(self, loader, *, n_images: int | None = None, fingerprint: str | None = None):
        if isinstance(loader, DataLoader):
            _refuse_unordered(loader)
        elif iter(loader) is loader and (isinstance(loader, types.GeneratorType)
                                         or type(loader).__module__ in ("builtins",
                                                                        "itertools")):
            # the shape is read from a first batch, and a resumed run reads the
            # source again; a generator's first batch was used up, and every row of an
            # endless one held the features of the image a batch later. (A user's class
            # whose __iter__ starts over and returns itself can be read again: taken.)
            raise TypeError(f"a {type(loader).__name__} can be read only once: pass "
                            "something that yields the same batches each time it is "
                            "iterated, e.g. a Dataset, a DataLoader or a list of batches")
        if n_images is None:
            dataset = getattr(loader, "dataset", None)
            try:
                n_images = len(dataset)
            except TypeError:
                n_images = None
            if n_images is None:
                raise ValueError("cannot tell how many images this iterable holds: pass n_images "
                                 "(rdsc.streaming.as_stream(loader, n_images=N))")
        self.loader, self.n, self.fingerprint = loader, int(n_images), fingerprint
        dataset = getattr(loader, "dataset", None)
        if (isinstance(dataset, Dataset) and not isinstance(dataset, IterableDataset)
                and len(dataset)):
            first = _as_batch(dataset[0], "item 0 of the dataset")[None]
        else:
            first = next(iter(loader), None)
            if first is None:
                raise ValueError("the iterable yields no batches")
            first = _as_batch(first, "the first batch")
        if first.dim() != 4:
            raise ValueError(f"batches must be N x C x H x W, got shape {tuple(first.shape)}")
        self.image_shape, self.dtype = tuple(first.shape[1:]), first.dtype
        # DataLoader(dataset, batch_size=None) yields the dataset's items, one image each
        self.unbatched = (isinstance(loader, DataLoader) and loader.batch_sampler is None
                          and not isinstance(dataset, IterableDataset))

    def __len__(self):
        return self.n

    def _refuse_extra(self):
        """Why this raises: a source yielding more images than announced was cut at the count in
        silence; an IterableDataset under several DataLoader workers (each worker reads it
        all) gave rows 0-3, 0-3, 4-7, 4-7 against labels 0..15."""
        workers = getattr(self.loader, "num_workers", 0)
        why = (f" (an IterableDataset read by {workers} DataLoader workers yields each image "
               "once per worker: split it with torch.utils.data.get_worker_info(), or use "
               "num_workers=0)" if workers > 1 and isinstance(
                   getattr(self.loader, "dataset", None), IterableDataset) else "")
        raise ValueError(f"the stream yields more than the {self.n:,} images it announced"
                         f"{why}: its rows would not match its labels. Pass the true count "
                         "as n_images, or fix the source")

    def batches(self, start: int, stop: int, batch_size: int):
        """Rows ``start .. stop-1``, at most ``batch_size`` a batch (earlier ones read, dropped).
        Reading to the end checks that the source holds no more images than announced."""
        row = 0
        for batch in self.loader:
            if row >= stop and stop < self.n:
                break
            batch = _as_batch(batch, f"the batch at row {row}")
            if self.unbatched:
                batch = batch[None]
            lo, hi = row, row + len(batch)
            row = hi
            if hi > self.n:
                self._refuse_extra()
            if hi <= start:
                continue  # before the rows wanted (a resumed run): read and dropped
            yield from _chunks(batch[max(0, start - lo):min(len(batch), stop - lo)], batch_size)
