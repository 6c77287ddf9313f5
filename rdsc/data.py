"""Datasets as uint8 tensors: one entry point, :func:`load`.

``load(name, split)`` returns ``(images, labels, classes)``:

* ``images``: ``torch.uint8``, shape ``N x C x H x W``: ``C = 3`` (RGB; grayscale and
  RGBA images are converted) for every dataset except the grayscale ones
  (``DatasetSpec.channels == 1``: ``mnist``), which keep ``C = 1``,
* ``labels``: ``torch.int64``, shape ``N``, indices into ``classes``,
* ``classes``: list of class names.

Named datasets (``DATASETS``) carry the paper's preprocessing. Each is read
from the data root (:func:`rdsc.paths.data_root`) in the first layout found:

1. an image folder ``<root>/<name>/<split>/<class>/<image>`` (what ``shared/data`` holds);
2. the standard on-disk format torchvision downloads (``cifar-10-batches-py``,
   ``cifar-100-python``, ``stl10_binary``, ``MNIST/raw`` with the idx files, gzipped or not);
3. a download with torchvision, where a network exists and the dataset offers one.

``cifar10-lossless-subset`` is 5,000 original CIFAR-10 images stored losslessly (PNG):
training images 0-3,999 and test images 0-999, the file name being the original index;
the same images are JPEG re-encodes in ``cifar10`` (see :mod:`rdsc.lossless`).
:func:`available_locally` tells whether a dataset is in the data root without downloading.

Any other image folder can be loaded by path: ``load("/path/to/folder", "train")``.

In an image folder, classes are the class folders found in *any* split (sorted by
name), so a label means the same class in every split even where a split lacks a
class. Not classes: folders whose names start with ``.`` (``.ipynb_checkpoints``), the
tool folders ``__MACOSX`` and ``__pycache__``, and files whose names start with ``.``
(``._x.jpg``); class folders with no image in any split (dropped with a warning). Only a
class folder's own images are loaded, not those of its subfolders (a warning names them).
16-bit images keep their high byte (``v >> 8``), grey or colour; 32-bit integer or
float images are refused.

Decoded arrays are cached under ``<root>/cache/datasets``, keyed by the source
files (names, sizes, modification and change times, inodes: :func:`file_stamp`) and the
preprocessing, so a second load takes seconds and a changed source or preprocessing is
decoded afresh.
"""
from __future__ import annotations

import hashlib
import json
import numbers
import os
import pickle
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from rdsc.checks import seed_number
from rdsc.paths import cache_dir, cache_dirs_to_read, data_root, write_atomically
from rdsc.progress import progress_bar

JPEG_EXTENSIONS = (".jpg", ".jpeg", ".jfif", ".jpe")  # .jfif: browsers save JPEGs so
IMAGE_EXTENSIONS = (*JPEG_EXTENSIONS, ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp",
                    ".gif")
#: files in a class folder that are neither images nor worth a warning (tool litter)
LITTER = ("thumbs.db", "desktop.ini")
# bump when the decoding itself changes (2: 16-bit grayscale scaled, not clipped; 3: EXIF
# orientation applied; 4: 16-bit grey keeps its high byte, as 16-bit colour does)
CACHE_FORMAT = 4


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is in none of the places looked in and could not be downloaded."""


class IncompleteDatasetError(ValueError):
    """A named dataset's folder holds other classes or image counts than the dataset."""


class ImageReadError(ValueError):
    """An image file could not be decoded."""


@dataclass(frozen=True)
class Preprocess:
    """How images are brought to one size.

    ``resize``: an int resizes the shorter side to that length (aspect kept);
    a pair ``(h, w)`` resizes to exactly that size; ``None`` keeps the size.
    ``crop``: side of a centre square crop after resizing, or ``None``.
    Sizes are positive integers (numpy integers too); anything else raises ``ValueError``.
    """

    resize: int | tuple[int, int] | None = None
    crop: int | None = None

    def __post_init__(self):
        # checked here: a bad size would otherwise fail inside the decoding of the first image
        # (reported as a broken file) or give 1 x 1 images without complaint
        resize = self.resize
        if resize is not None:
            if isinstance(resize, (tuple, list)) and len(resize) == 2:
                resize = (_size("resize", resize[0], resize), _size("resize", resize[1], resize))
            else:
                resize = _size("resize", resize, resize)
        crop = None if self.crop is None else _size("crop", self.crop, self.crop)
        # plain ints: equal settings compare, hash and key caches equally (np.int64(64) == 64)
        object.__setattr__(self, "resize", resize)
        object.__setattr__(self, "crop", crop)

    def resized(self, width: int, height: int) -> tuple[int, int]:
        """The ``(width, height)`` an image of that size has after the resize (no crop)."""
        if isinstance(self.resize, int):
            scale = self.resize / min(width, height)
            return max(1, round(width * scale)), max(1, round(height * scale))
        if self.resize is not None:
            return self.resize[1], self.resize[0]
        return width, height

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """The ``(width, height)`` an image of that size has after :meth:`apply`, without
        decoding it (so every file's size can be checked before any feature is computed)."""
        w, h = self.resized(width, height)
        if self.crop is not None:
            if self.crop > min(w, h):
                raise ValueError(f"centre crop {self.crop} is larger than the resized image "
                                 f"{w}x{h}")
            return self.crop, self.crop
        return w, h

    def apply(self, img: Image.Image) -> Image.Image:
        """``img`` resized, then centre-cropped, as this preprocessing says."""
        if self.resize is not None:
            img = img.resize(self.resized(*img.size), Image.BILINEAR)
        if self.crop is not None:
            w, h = img.size
            self.output_size(w, h)  # a crop larger than the image: its error
            c = self.crop
            left, top = (w - c) // 2, (h - c) // 2
            img = img.crop((left, top, left + c, top + c))
        return img


def _size(field: str, value, given) -> int:
    """``value`` as a positive ``int``, or a ``ValueError`` naming ``field``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1:
        return int(value)
    what = "a positive integer S or a pair (H, W) of them" if field == "resize" \
        else "a positive integer"
    raise ValueError(f"Preprocess {field} must be {what} (or None), got {given!r}")


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset: its splits, the paper's preprocessing and where to get it."""

    splits: tuple[str, ...]
    preprocess: Preprocess
    how_to_get: str
    standard_folder: str | None = None  # folder of the torchvision on-disk format
    downloadable: bool = False
    channels: int = 3  # 1: grayscale, images come as N x 1 x H x W
    #: per split, (classes, images) of the complete dataset: an image folder holding other
    #: counts is a partial copy, and loading it under the dataset's name is refused
    sizes: dict | None = None


#: readable names of the classes whose folders are WordNet ids (miniimagenet10's), for
#: figures and sentences; the folders keep their ids
CLASS_WORDS = {"n01532829": "house finch", "n01910747": "jellyfish",
               "n02110341": "dalmatian", "n02129165": "lion",
               "n02687172": "aircraft carrier", "n03272010": "electric guitar",
               "n03417042": "garbage truck", "n04515003": "upright piano",
               "n07747607": "orange", "n09256479": "coral reef"}


def class_words(classes) -> list[str]:
    """The classes' readable names: a WordNet id (``n01532829``) as its words
    (:data:`CLASS_WORDS`), any other name as it is."""
    return [CLASS_WORDS.get(name, name) for name in classes]


DATASETS: dict[str, DatasetSpec] = {
    "cifar10": DatasetSpec(
        ("train", "test"), Preprocess(), standard_folder="cifar-10-batches-py", downloadable=True,
        sizes={"train": (10, 50_000), "test": (10, 10_000)},
        how_to_get="extract shared/data/cifar10.tar into the data root, or run once with a network "
        "(torchvision downloads cifar-10-python.tar.gz)"),
    "cifar100": DatasetSpec(
        ("train", "test"), Preprocess(), standard_folder="cifar-100-python", downloadable=True,
        sizes={"train": (100, 50_000), "test": (100, 10_000)},
        how_to_get="run once with a network (torchvision downloads cifar-100-python.tar.gz), or "
        "place the extracted cifar-100-python/ folder in the data root"),
    "stl10": DatasetSpec(
        ("train", "test"), Preprocess(), standard_folder="stl10_binary", downloadable=True,
        sizes={"train": (10, 5_000), "test": (10, 8_000)},
        how_to_get="run once with a network (torchvision downloads stl10_binary.tar.gz, 2.5 GB), "
        "or place the extracted stl10_binary/ folder in the data root"),
    "cifar10-lossless-subset": DatasetSpec(
        ("train", "test"), Preprocess(), sizes={"train": (10, 4_000), "test": (10, 1_000)},
        how_to_get="extract shared/data/cifar10-lossless-subset.tar into the data root (5,000 "
        "original CIFAR-10 images as PNG: training images 0-3,999, test images 0-999)"),
    "mnist": DatasetSpec(
        ("train", "test"), Preprocess(), standard_folder="MNIST/raw", downloadable=True, channels=1,
        sizes={"train": (10, 60_000), "test": (10, 10_000)},
        how_to_get="run once with a network and downloads allowed (torchvision downloads MNIST "
        "into MNIST/raw; chapter 3 downloads only with -p mnist_download True), or place "
        "torchvision's MNIST/raw/ folder (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; gzipped or not) in the data root"),
    "miniimagenet10": DatasetSpec(
        ("train", "test"), Preprocess(resize=128, crop=112),
        sizes={"train": (10, 5_000), "test": (10, 1_000)},
        how_to_get="extract shared/data/miniimagenet10.tar into the data root"),
    "corel": DatasetSpec(
        ("database", "queries"), Preprocess(resize=(128, 128)),
        sizes={"database": (8, 430), "queries": (8, 8)},
        how_to_get="extract shared/data/corel.tar into the data root"),
}


def load(name: str, split: str, root: str | os.PathLike | None = None, *,
         preprocess: Preprocess | None = None, download: bool = True,
         cache: bool = True, progress: bool = True):
    """Load a dataset split as ``(images uint8 N x C x H x W, labels int64 N, classes)``.

    ``name`` is a key of :data:`DATASETS` or the path of an image folder holding
    ``<split>/<class>/<image>``. ``preprocess`` overrides the dataset's own.
    """
    root = data_root(root)
    if name in DATASETS:
        spec = DATASETS[name]
        if split not in spec.splits:
            raise ValueError(f"{name!r} has splits {spec.splits}, not {split!r}")
        prep = preprocess if preprocess is not None else spec.preprocess
        folder = root / name
        if (folder / split).is_dir():
            return _load_image_folder(folder, split, prep, root, cache, progress, name, spec.splits,
                                      gray=spec.channels == 1,
                                      expected=(spec.sizes or {}).get(split))
        if spec.standard_folder and (root / spec.standard_folder).is_dir():
            return _load_standard(name, split, root, prep, cache)
        if download and spec.downloadable:
            return _download(name, split, root, prep, cache, spec)
        raise _not_found(name, split, root, spec)
    folder = Path(name).expanduser()
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"{name!r} is neither a known dataset ({', '.join(DATASETS)}) nor an existing folder.")
    if not (folder / split).is_dir():
        splits = sorted(p.name for p in folder.iterdir() if p.is_dir() and not is_skipped(p.name))
        raise DatasetNotFoundError(
            f"image folder {folder} has no split {split!r} (found: {splits})")
    return _load_image_folder(folder, split, preprocess or Preprocess(), root, cache, progress,
                              folder.name)


# --- image folders -------------------------------------------------------------------------

def available_locally(name: str, root: str | os.PathLike | None = None) -> bool:
    """Is every split of the named dataset in the data root (nothing is downloaded)?"""
    spec, root = DATASETS[name], data_root(root)
    if all((root / name / split).is_dir() for split in spec.splits):
        return True
    if spec.standard_folder is None or not (root / spec.standard_folder).is_dir():
        return False
    if name == "mnist":
        return all(_mnist_file(root / spec.standard_folder, split, part) is not None
                   for split in spec.splits for part in ("images", "labels"))
    return True


def stored_as_jpeg(name: str, split: str, root: str | os.PathLike | None = None) -> bool:
    """Whether :func:`load` reads ``name``'s ``split`` from JPEG files (an image folder of
    ``.jpg`` / ``.jpeg`` images; the shared CIFAR-10 is such a re-encode, slightly lossy),
    rather than from lossless files or the standard format torchvision downloads. Judges
    by the first image of the first class folder of ``split`` (a named dataset's folder
    holds one format); False when the split is not in the data root."""
    folder = data_root(root) / name / split
    if name not in DATASETS or not folder.is_dir():
        return False
    for class_folder in sorted(p for p in folder.iterdir()
                               if p.is_dir() and not is_skipped(p.name)):
        for entry in sorted(os.scandir(class_folder), key=lambda e: e.name):
            if _is_image(entry):
                return entry.name.lower().endswith(JPEG_EXTENSIONS)
    return False


#: tool folders that are never classes (a zip's resource forks, Python's bytecode)
TOOL_FOLDERS = ("__MACOSX", "__pycache__")


def is_skipped(name: str) -> bool:
    """Folders and files that are never classes or images: hidden ones and the tool
    folders of :data:`TOOL_FOLDERS` (every name starting with ``__`` once was, and a class
    ``__background__`` vanished with its images, without a word)."""
    return name.startswith(".") or name in TOOL_FOLDERS


def _is_image(entry: os.DirEntry) -> bool:
    return (entry.is_file() and not is_skipped(entry.name)
            and entry.name.lower().endswith(IMAGE_EXTENSIONS))


def _holds_image(folder: str) -> bool:
    """Does ``folder`` or any folder below it hold an image (stops at the first)?"""
    for top, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not is_skipped(d)]
        if any(not is_skipped(n) and n.lower().endswith(IMAGE_EXTENSIONS) for n in names):
            return True
    return False


def _class_names(folder: Path, splits=None) -> list[str]:
    """Class names over all splits (``splits``, default every split folder), so labels agree.

    A class folder without an image in any split is dropped with a warning (counted, it
    would change the number of classes, and so chance level). Images in subfolders of a
    class folder are not loaded: a warning names those subfolders.
    """
    with_images, empty, nested = set(), set(), set()
    for split in sorted(folder.iterdir()):
        if (not split.is_dir() or is_skipped(split.name)
                or (splits is not None and split.name not in splits)):
            continue
        for cdir in split.iterdir():
            if not cdir.is_dir() or is_skipped(cdir.name):
                continue
            holds = False
            for entry in os.scandir(cdir):
                if _is_image(entry):
                    holds = True
                elif (entry.is_dir() and not is_skipped(entry.name)
                      and _holds_image(entry.path)):
                    nested.add(f"{split.name}/{cdir.name}/{entry.name}")
            (with_images if holds else empty).add(cdir.name)
    # a class with images in one split only keeps its index in every split
    empty -= with_images
    _warn_near_twin_names(folder, with_images)
    _warn_numbered_names(folder, with_images)
    if empty:
        warnings.warn(f"class folders without images in any split of {folder}, not counted as "
                      f"classes: {', '.join(sorted(empty))}", stacklevel=3)
    if nested:
        shown = sorted(nested)
        warnings.warn(f"images in subfolders of class folders in {folder} are not loaded (only "
                      f"<split>/<class>/<image>): {', '.join(shown[:5])}"
                      + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
                      + "; move them up into their class folder to use them", stacklevel=3)
    return sorted(with_images)


def _warn_near_twin_names(folder: Path, names) -> None:
    """Warn about class folders whose names differ only in Unicode form (NFD from a macOS
    copy against NFC), case or outer spaces: they are different classes (e.g. train's
    'café' and test's 'café' printed alike, and every test image of it counted a miss)."""
    import unicodedata
    groups: dict[str, list[str]] = {}
    for name in sorted(names):
        groups.setdefault(unicodedata.normalize("NFC", name).casefold().strip(), []).append(name)
    twins = [g for g in groups.values() if len(g) > 1]
    if twins:
        shown = "; ".join(" and ".join(ascii(n) for n in g) for g in twins)
        warnings.warn(f"class folders of {folder} whose names differ only in Unicode form, "
                      f"case or spaces are different classes: {shown}. Rename them to one "
                      "spelling in every split", stacklevel=4)


def _warn_numbered_names(folder: Path, names) -> None:
    """Warn where every class folder is named by a number and the text order that numbers
    the labels differs from the numbers' (e.g. folder "10" got label 1; scoring
    against the folder numbers gave 16.67% for 71.88%, silently)."""
    names = sorted(names)
    if names and all(n.isdigit() for n in names) and names != sorted(names, key=int):
        shown = ", ".join(f"{n} -> {i}" for i, n in enumerate(names[:6]))
        warnings.warn(f"the class folders of {folder} are numbers, and labels follow their "
                      f"names sorted as text: {shown}"
                      + (", ..." if len(names) > 6 else "")
                      + ". A label is a position in that list, not the folder's number",
                      stacklevel=4)


def file_stamp(st: os.stat_result) -> str:
    """What the decoded-image cache knows of a file without reading it: size, modification
    and change times, inode. The change time is the one a program cannot set: the book's
    archives date every file alike and extraction restores those dates, so a corrected
    image of the same size, extracted again or edited and re-dated, once kept its stale
    pixels in the cache. A file copied or extracted again is decoded again."""
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def _list_images(folder: Path, split: str, classes: list[str]):
    """The image files of ``folder/split`` (class by class, by name), their labels and a
    stamp of their names and :func:`file_stamp`; warns about files skipped for their
    extension (half of a class once saved as .heic vanished without a word)."""
    files, labels, stamp = [], [], hashlib.sha256()
    skipped: dict[str, int] = {}
    dangling: list[str] = []
    for label, cls in enumerate(classes):
        cdir = folder / split / cls
        if not cdir.is_dir():
            continue
        entries = []
        for e in os.scandir(cdir):
            if _is_image(e):
                entries.append(e)
            elif e.is_symlink() and not e.is_file() and not is_skipped(e.name):
                dangling.append(f"{cls}/{e.name}")
            elif e.is_file() and not is_skipped(e.name) and e.name.lower() not in LITTER:
                ext = os.path.splitext(e.name)[1].lower() or "no extension"
                skipped[ext] = skipped.get(ext, 0) + 1
        for e in sorted(entries, key=lambda e: e.name):
            st = e.stat()
            files.append(Path(e.path))
            labels.append(label)
            stamp.update(f"{cls}/{e.name}:{file_stamp(st)};".encode())
    if skipped:
        n = sum(skipped.values())
        warnings.warn(f"{n:,} file{'s' * (n > 1)} in the class folders of {folder / split} "
                      f"{'are' if n > 1 else 'is'} not read, not being images by extension ("
                      + ", ".join(f"{ext}: {c:,}" for ext, c in sorted(skipped.items()))
                      + f"; images are {', '.join(IMAGE_EXTENSIONS)}): convert those that are "
                      "images (e.g. .heic to .jpg)", stacklevel=3)
    if dangling:
        # a git-annex / DVC checkout whose files were not fetched once lost 5 of a
        # class's 8 images in silence (a broken link is no file)
        warnings.warn(f"{len(dangling):,} file{'s' * (len(dangling) > 1)} in the class "
                      f"folders of {folder / split} {'are' if len(dangling) > 1 else 'is'} "
                      f"a link to a missing file, not read: {', '.join(dangling[:5])}"
                      + (f" and {len(dangling) - 5} more" if len(dangling) > 5 else "")
                      + " (files not fetched: git annex get, dvc pull? a disk not mounted?)",
                      stacklevel=3)
    return files, labels, stamp.hexdigest()


def _sixteen_bits(img: Image.Image) -> bool:
    """Whether ``img``'s file stores 16 bits a sample; asked before decoding, as Pillow
    decodes 16-bit RGB, RGBA and grey-with-alpha to 8 bits itself (their high byte)."""
    return any(";16" in str(tile.args) for tile in getattr(img, "tile", None) or ())


def _to_rgb(img: Image.Image, path: Path, sixteen: bool = False) -> Image.Image:
    """8-bit RGB. 16-bit pixels keep their high byte (``v >> 8``) whatever the colours:
    Pillow does so for 16-bit RGB, while its own conversion of 16-bit grey clips at 255
    (grey was once rounded, ``v / 257``, so the same data differed by one level by how
    it was saved). ``sixteen``: the file stores 16 bits a sample (:func:`_sixteen_bits`)."""
    if img.mode.startswith("I;16"):
        wide = np.asarray(img, dtype=np.uint16)
        narrow = 0 < wide.max() < 4096
        img = Image.fromarray((wide >> 8).astype(np.uint8), mode="L")
    elif img.mode in ("I", "F"):
        raise ImageReadError(
            f"image {path} has {'32-bit integer' if img.mode == 'I' else 'floating-point'} pixels "
            f"(PIL mode {img.mode}), whose range cannot be told: convert it to 8-bit RGB first.")
    else:  # 16-bit colour comes decoded: only its high byte is left to look at
        narrow = sixteen and 0 < np.asarray(img).max() < 16
    if narrow:
        # 12-bit camera data in 16-bit files once became near-black images with
        # pixels 0..15, silently (one message, not one per image)
        warnings.warn("16-bit images whose pixels all lie below 4096 (12-bit data, or "
                      "fewer bits?) are read as full 16-bit images (their high byte), so "
                      "they come out nearly black (pixels 0..15): rescale them to 8 bits "
                      "first if their range is narrower", stacklevel=2)
    return img.convert("RGB")


def exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation tag of ``img`` (1: upright; 5 to 8 swap width and height), 1
    where there is none or PIL cannot read it (the pixels are still good)."""
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # a malformed EXIF block: PIL raises several types
        return 1
    return orientation if orientation in range(1, 9) else 1


def _upright(img: Image.Image) -> Image.Image:
    """``img`` turned as its EXIF orientation tag says; as it is without a tag."""
    if exif_orientation(img) == 1:
        return img
    try:
        return ImageOps.exif_transpose(img)
    except Exception:
        return img


def _pixel_limit() -> None:
    """Pillow's limit against decompression bombs, from ``RDSC_MAX_IMAGE_PIXELS`` where set
    (a 13,500 x 13,500 scan was once called unreadable, with no way through)."""
    value = os.environ.get("RDSC_MAX_IMAGE_PIXELS")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"RDSC_MAX_IMAGE_PIXELS must be a whole number of pixels, got "
                             f"{value!r}")
        Image.MAX_IMAGE_PIXELS = int(value)


_pixel_limit()  # here, so worker processes that import this module read it too


def read_error_words(err: Exception) -> str:
    """What a file that cannot be opened needs, in words: a too-large image is no broken
    file, so it is not told to be deleted."""
    if isinstance(err, Image.DecompressionBombError):
        # Pillow refuses above twice MAX_IMAGE_PIXELS (and warns above it)
        return (f"more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels, which Pillow refuses "
                "against decompression bombs; the file may be fine: downscale it, or set "
                "RDSC_MAX_IMAGE_PIXELS (Pillow's MAX_IMAGE_PIXELS, half that limit) higher")
    return str(err)


def _decode(path: Path, prep: Preprocess, gray: bool = False) -> np.ndarray:
    """``C x H x W`` uint8: RGB, or one channel (``gray``: ITU-R 601 luma, PIL's ``L``)."""
    try:
        with Image.open(path) as img:
            # upright as a viewer shows it (a phone photo once came out sideways);
            # without an orientation tag this returns the image itself
            sixteen = _sixteen_bits(img)  # before decoding, which loses it
            img = _to_rgb(_upright(img), path, sixteen)  # decodes the whole file
    except ImageReadError:
        raise
    except Image.DecompressionBombError as err:
        raise ImageReadError(f"cannot read image {path}: {read_error_words(err)}") from err
    except Exception as err:  # PIL raises several types for broken files
        raise ImageReadError(
            f"cannot read image {path}: {err}. "
            "Replace or delete this file, then load again.") from err
    # outside the try: a preprocessing error is no broken file, and must not say "delete it"
    try:
        img = prep.apply(img)
    except ValueError as err:
        raise ValueError(f"image {path}: {err}") from err
    if gray:
        return np.asarray(img.convert("L"), dtype=np.uint8)[None]
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


def check_complete(name: str, split: str, folder: Path, n_classes: int, n_images: int) -> None:
    """Raise :class:`IncompleteDatasetError` when the image folder ``folder`` of the named
    dataset ``name`` holds other counts of classes and images in ``split`` than the complete
    dataset (a partial copy gives plausible numbers for another task). Datasets without
    known sizes pass."""
    expected = (DATASETS[name].sizes or {}).get(split) if name in DATASETS else None
    if expected is None or (n_classes, n_images) == tuple(expected):
        return
    raise IncompleteDatasetError(
        f"{folder / split} holds {n_classes} classes and {n_images:,} images, not the "
        f"{expected[0]} and {expected[1]:,} of {name}'s {split} split: a partial copy or an "
        f"interrupted extraction? Delete {folder} and run `python -m rdsc.prepare {name}` "
        f"to extract it again; to use these images as they are, give the folder by its "
        f"path (rdsc.data.load({str(folder)!r}, {split!r}), or its path as SOURCE).")


def holds_images_directly(folder) -> bool:
    """Whether ``folder`` holds image files itself (not in class folders below it)."""
    folder = Path(folder)
    return folder.is_dir() and any(_is_image(e) for e in os.scandir(folder))


def no_images_message(folder: Path, split: str) -> str:
    """The error for a split without images: where the split folder holds the images
    itself, the layout is SOURCE/CLASS/IMAGE, torchvision's ImageFolder (this
    once said "no images in flat/a" of a folder of 6 images)."""
    where = Path(folder) / split
    if holds_images_directly(where):
        return (f"{where} holds images directly, as a class folder would: rdsc reads "
                "SOURCE/SPLIT/CLASS/IMAGE, so put the class folders under a split folder "
                f"({Path(folder) / 'train' / split / '...'}), and give {folder} as SOURCE")
    return (f"no images in {where} (expected <class>/<image> files with extensions "
            f"{', '.join(IMAGE_EXTENSIONS)})")


def _load_image_folder(folder, split, prep, root, cache, progress, label, splits=None, gray=False,
                       expected=None):
    classes = _class_names(folder, splits)
    files, labels, stamp = _list_images(folder, split, classes)
    if not files:
        raise DatasetNotFoundError(no_images_message(folder, split))
    if expected is not None:  # before any decoding
        check_complete(label, split, folder, len(classes), len(files))
    # the class list is in the key: a class added to another split renumbers this one's labels
    key = _cache_key("folder", str(folder.resolve()), split, stamp, classes, prep,
                     *(["gray"] if gray else []))  # RGB keys are those of earlier versions

    def decode():
        bar = progress_bar(len(files), f"decoding {label}/{split}", unit="img", enabled=progress)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool, bar:
            arrays = []
            for a in pool.map(lambda p: _decode(p, prep, gray), files):
                arrays.append(a)
                bar.update()
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            examples = {a.shape: str(f) for a, f in zip(arrays, files)}
            raise ValueError(
                f"images in {folder / split} have different sizes "
                f"({', '.join(f'{s[1]}x{s[2]} e.g. {p}' for s, p in list(examples.items())[:3])}); "
                "pass preprocess=rdsc.data.Preprocess(resize=(H, W)) to bring them to one size.")
        return np.stack(arrays), np.asarray(labels, dtype=np.int64), classes

    return _cached(f"{label}-{split}", folder, key, root, cache, decode)


# --- torchvision's on-disk formats ----------------------------------------------------------

def _read_cifar(folder: Path, split: str, fine: bool):
    if fine:  # CIFAR-100
        batches = [folder / split]
        meta, meta_key, label_key = folder / "meta", "fine_label_names", "fine_labels"
    else:
        batches = [folder / f"data_batch_{i}" for i in range(1, 6)] if split == "train" \
            else [folder / "test_batch"]
        meta, meta_key, label_key = folder / "batches.meta", "label_names", "labels"
    data, labels = [], []
    for path in batches:
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="latin1")
        data.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.extend(entry[label_key])
    with open(meta, "rb") as f:
        classes = list(pickle.load(f, encoding="latin1")[meta_key])
    return np.concatenate(data), np.asarray(labels, dtype=np.int64), classes


def _read_stl10(folder: Path, split: str):
    x = np.fromfile(folder / f"{split}_X.bin", dtype=np.uint8)
    if x.size % (3 * 96 * 96):
        raise ValueError(f"{folder / f'{split}_X.bin'} is truncated ({x.size} bytes)")
    # stored column-major per channel: transpose H and W back
    images = x.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2)
    labels = np.fromfile(folder / f"{split}_y.bin", dtype=np.uint8).astype(np.int64) - 1
    if len(labels) != len(images):
        raise ValueError(
            f"{folder}: {len(images)} images but {len(labels)} labels in split {split}")
    classes = (folder / "class_names.txt").read_text().split()
    return np.ascontiguousarray(images), labels, classes


MNIST_CLASSES = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
                 "6 - six", "7 - seven", "8 - eight", "9 - nine"]  # torchvision's names


def _mnist_file(folder: Path, split: str, part: str) -> Path | None:
    """``train-images-idx3-ubyte`` (or ``t10k-labels-idx1-ubyte``...), plain or ``.gz``."""
    stem = (f"{'train' if split == 'train' else 't10k'}-{part}"
            f"-idx{3 if part == 'images' else 1}-ubyte")
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path) -> np.ndarray:
    """An idx file of unsigned bytes (MNIST's format, plain or gzipped) as an array.

    Header: two zero bytes, the type code ``0x08`` (unsigned byte), the number of
    dimensions ``d``, then ``d`` big-endian 32-bit sizes; then the data, row-major.
    """
    import gzip
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path} is not an idx file of unsigned bytes (header {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    if len(raw) != header + int(np.prod(dims)):
        raise ValueError(f"{path} holds {len(raw) - header} bytes of data, its header says "
                         f"{dims} ({int(np.prod(dims))} bytes): truncated or corrupt")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()  # writable


def _read_mnist(folder: Path, split: str):
    paths = {part: _mnist_file(folder, split, part) for part in ("images", "labels")}
    missing = [part for part, p in paths.items() if p is None]
    if missing:
        raise OSError(f"no {split} {' and '.join(missing)} file in {folder}")
    images, labels = read_idx(paths["images"]), read_idx(paths["labels"])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{folder}: images {images.shape} and labels {labels.shape} do not match")
    return np.ascontiguousarray(images[:, None]), labels.astype(np.int64), list(MNIST_CLASSES)


def _load_standard(name, split, root, prep, cache):
    spec = DATASETS[name]
    folder = root / spec.standard_folder
    files = sorted(p for p in folder.iterdir() if p.is_file())
    stamp = ";".join(f"{p.name}:{file_stamp(p.stat())}" for p in files)
    key = _cache_key("standard", str(folder.resolve()), split, stamp, prep)

    def decode():
        try:
            if name == "stl10":
                images, labels, classes = _read_stl10(folder, split)
            elif name == "mnist":
                images, labels, classes = _read_mnist(folder, split)
            else:
                images, labels, classes = _read_cifar(folder, split, fine=(name == "cifar100"))
        except (OSError, KeyError, pickle.UnpicklingError, ValueError) as err:
            raise DatasetNotFoundError(
                f"{name}: the files in {folder} are incomplete or corrupt ({err}). "
                f"Delete {folder} and {spec.how_to_get}.") from err
        if prep != Preprocess():
            images = np.stack([_decode_array(a, prep) for a in images])
        return images, labels, classes

    return _cached(f"{name}-{split}", folder, key, root, cache, decode)


def _decode_array(chw: np.ndarray, prep: Preprocess) -> np.ndarray:
    if chw.shape[0] == 1:  # grayscale stays one channel
        return np.asarray(prep.apply(Image.fromarray(chw[0])), dtype=np.uint8)[None]
    img = prep.apply(Image.fromarray(chw.transpose(1, 2, 0)))
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


def _download(name, split, root, prep, cache, spec):
    import torchvision.datasets as tvd
    maker = {"cifar10": tvd.CIFAR10, "cifar100": tvd.CIFAR100, "stl10": tvd.STL10,
             "mnist": tvd.MNIST}[name]
    kwargs = {"split": split} if name == "stl10" else {"train": split == "train"}
    made = [f for f in _parents_below(root / spec.standard_folder, root) if not f.exists()]
    try:
        maker(str(root), download=True, **kwargs)
    except Exception as err:  # no network, a refused host, a bad archive
        # the folders the failed download made, if left empty, would later read as a
        # dataset with its files missing ("incomplete or corrupt"): remove them
        for folder in made:  # deepest first
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise _not_found(name, split, root, spec, reason=f"the download failed: {err}") from err
    return _load_standard(name, split, root, prep, cache)


def _parents_below(folder: Path, root: Path) -> list[Path]:
    """``folder`` and its parents below ``root``, deepest first."""
    out = []
    while folder != root and root in folder.parents:
        out.append(folder)
        folder = folder.parent
    return out


def _not_found(name, split, root, spec, reason=None):
    looked = [str(root / name / split)]
    if spec.standard_folder:
        looked.append(str(root / spec.standard_folder))
    msg = (f"dataset {name!r} (split {split!r}) not found. Looked in: {', '.join(looked)}. "
           + (f"{reason[:300]}. " if reason else "")
           + f"To get it: {spec.how_to_get}. Set RDSC_DATA to use another data root.")
    return DatasetNotFoundError(msg)


# --- decoded-array cache --------------------------------------------------------------------

def _cache_key(*parts) -> str:
    text = json.dumps([CACHE_FORMAT,
                       *[asdict(p) if isinstance(p, Preprocess) else p for p in parts]],
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cached(stem: str, source: Path, key: str, root: Path, use_cache: bool, decode):
    """``decode()``'s ``(images, labels, classes)``, through the cache file
    ``<stem>-<place>-<key>.npz``, ``place`` a hash of the ``source`` folder's resolved path:
    a new version replaces the older ones of the same folder only, not those of a copy that
    shares its name (a scratch copy beside the original, loaded in turn, made
    each decode again). The file keeps the folder's path: another folder's cache goes when
    that folder is gone, so a scratch copy at a new path each time does not pile up."""
    source = str(Path(source).resolve())
    place = hashlib.sha256(source.encode()).hexdigest()[:8]
    name = f"{stem}-{place}-{key}.npz"
    if use_cache:
        for folder in cache_dirs_to_read("datasets", root):  # also a read-only data root's cache
            path = folder / name
            if path.is_file():
                try:
                    with np.load(path, allow_pickle=False) as z:
                        images, labels, classes = z["images"], z["labels"], list(z["classes"])
                    return (torch.from_numpy(images), torch.from_numpy(labels),
                            [str(c) for c in classes])
                except Exception:  # an unreadable cache is only a cache: decode again
                    _remove(path)
    images, labels, classes = decode()
    if use_cache:
        folder = cache_dir("datasets", root)
        # older versions of this folder's split (never another's temporary), those named
        # before the place was (2026-12-01), and those of a folder of this name now gone
        older = re.compile(re.escape(stem) + rf"(-{place})?-[0-9a-f]{{16}}\.npz")
        elsewhere = re.compile(re.escape(stem) + r"-[0-9a-f]{8}-[0-9a-f]{16}\.npz")
        for old in folder.iterdir():
            if old.name != name and (older.fullmatch(old.name) or (
                    elsewhere.fullmatch(old.name) and not _source_exists(old))):
                _remove(old)
        write_atomically(folder / name, lambda f: np.savez(  # a killed run leaves no half cache
            f, images=images, labels=labels, classes=np.asarray(classes, dtype=str),
            source=np.asarray(source)))
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels), list(classes)


def _source_exists(cache_file: Path) -> bool:
    """Whether the folder a decoded-dataset cache file was made from is still there (an
    unreadable file, or one that does not say, counts as gone: it is only a cache)."""
    try:
        with np.load(cache_file, allow_pickle=False) as z:
            return "source" in z.files and Path(str(z["source"])).is_dir()
    except Exception:
        return False


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # a read-only cache folder: leave it
        pass


def check_pixels(images) -> None:
    """Refuse float images far outside [0, 1] (0..255 pixels given as floats, say): a model
    fed them would answer for images 255 times too bright. Callers that convert batch by
    batch call it once on the whole input, so a dark batch cannot slip through."""
    x = torch.as_tensor(images)
    if x.dtype != torch.uint8 and x.numel():
        lo, hi = float(x.min()), float(x.max())
        if lo < -0.5 or hi > 1.5:
            raise ValueError(f"float images range from {lo:g} to {hi:g}, not [0, 1]: "
                             "0..255 pixels? pass uint8 images, or divide by 255")


def as_float(images) -> torch.Tensor:
    """uint8 or float images (tensor or array) -> float32 tensor in [0, 1], for models.

    Floats are taken as they are, once :func:`check_pixels` passes them: slightly outside
    [0, 1] is accepted (an attack's step before clipping), unlike
    :func:`unit_float_images`, which checks shape and range strictly.
    """
    x = torch.as_tensor(images)
    if x.dtype == torch.uint8:
        return x.float() / 255
    check_pixels(x)
    return x.float()


def unit_float_images(images, channels: int = 3) -> torch.Tensor:
    """8-bit pixels of any integer type, or floats in [0, 1] -> float32 in [0, 1], ``N x
    channels x H x W``. Anything else is refused: 0..255 taken as [0, 1] would saturate
    every resized image to white, and a method scaled for [0, 1] would be another one."""
    x = torch.as_tensor(images)
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"images must be N x {channels} x H x W, got shape {tuple(x.shape)}")
    if x.dtype in (torch.uint16, torch.uint32, torch.uint64):  # few torch ops take these
        x = x.long()
    if x.dtype == torch.bool or x.is_complex():
        raise ValueError(f"images must be 8-bit pixels or floats in [0, 1], got {x.dtype}")
    lo, hi = (float(x.min()), float(x.max())) if x.numel() else (0.0, 0.0)
    if not x.is_floating_point():
        if lo < 0 or hi > 255:
            raise ValueError(f"integer images must hold 8-bit pixels 0..255, got {lo:g} to "
                             f"{hi:g}")
        return x.float() / 255
    if not (0 <= lo and hi <= 1):  # also catches NaN (comparisons are False)
        hint = " (0..255 pixels? pass uint8 images, or divide by 255)" if hi > 1.5 else ""
        raise ValueError(f"float images must lie in [0, 1], got {lo:g} to {hi:g}{hint}")
    return x.float()


def pixel_images(images, name: str = "images") -> torch.Tensor:
    """``N x C x H x W`` (C = 1 or 3) 8-bit pixels (uint8, or integers 0..255) as a tensor;
    anything else refused with the reason: floats (in [0, 1], or 0..255 whose unit cannot be
    told) and channels-last arrays, which methods working in pixel units would take silently."""
    x = torch.as_tensor(images)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        hint = " (channels last? permute to N x C x H x W)" if x.ndim == 4 and x.shape[-1] in (
            1, 3) else ""
        raise ValueError(f"{name} must be N x C x H x W, got shape {tuple(x.shape)}{hint}")
    if x.is_floating_point() or x.dtype == torch.bool:
        raise ValueError(f"{name} must be 8-bit pixels 0..255 (uint8), got {x.dtype}: this "
                         "method works in pixel units; pass the uint8 images")
    if x.numel() and (int(x.min()) < 0 or int(x.max()) > 255):
        raise ValueError(f"{name} must hold pixels 0..255, got {int(x.min())} to {int(x.max())}")
    return x


def class_indices(labels, name: str = "labels", n_classes: int | None = None) -> np.ndarray:
    """``labels`` as class indices ``0..n-1`` (below ``n_classes`` when given), or a
    ``ValueError`` saying how to map them: strings, floats, -1 or 1-based labels would
    otherwise be counted in the wrong class, or in none, without a word."""
    labels = np.asarray(labels)
    integer = np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool
    top = n_classes - 1 if n_classes is not None else None
    if not integer or (labels.size and (labels.min() < 0
                                        or (top is not None and labels.max() > top))):
        got = (f"{labels.min()} to {labels.max()}" if integer else f"dtype {labels.dtype}")
        want = f"0..{top}" if top is not None else "0..n-1"
        raise ValueError(f"{name} must be class indices {want}, got {got}: map them with "
                         "np.unique(labels, return_inverse=True)")
    return labels


def check_subset_size(dataset: str, split: str, n, name: str) -> None:
    """Refuse a subset size ``n`` (parameter ``name``) of ``dataset``'s ``split`` that is
    below its number of classes (a balanced subset would drop classes) or above the images
    it has (it was cut with a warning while the settings line kept the number asked
    for); None means the whole split."""
    known = (DATASETS[dataset].sizes or {}).get(split)
    if n is None or known is None:   # a dataset without recorded sizes: nothing to check
        return
    n_classes, n_images = known
    if n < n_classes:
        raise ValueError(f"{name} = {n} for {dataset}: give at least its {n_classes} "
                         "classes one image each")
    if n > n_images:
        raise ValueError(f"{name} = {n:,} for {dataset}: its {split} split has {n_images:,} "
                         f"images; give at most that, or None for all of them")


def subset(labels, n: int | None, seed: int = 0, *, up_to: bool = False) -> torch.Tensor:
    """Indices of ``n`` images drawn evenly across classes, or all when ``n`` is None.

    ``labels``: one label per image, length ``N``: a tensor (any values), or an array or
    list of class indices ``0..n-1`` (others are refused, see :func:`class_indices`).
    Returns a sorted int64 tensor of indices into the ``N`` images (index the images and the
    labels with it). Image folders are stored class by class, so the first ``n`` images
    would hold only the first classes: always draw subsets with this. Asking for more than
    ``N`` gives all ``N``, with a warning unless ``up_to`` (the caller means "at most
    ``n``", e.g. a profile's size for every dataset).
    """
    if not isinstance(labels, torch.Tensor):
        labels = class_indices(labels)
    labels = torch.as_tensor(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:  # a column of labels: N x 1 is N
        labels = labels[:, 0]
    if labels.ndim != 1:
        # N x k would interleave row and column indices below: unbalanced subsets, no error
        raise ValueError(f"labels must be one label per image (shape N), got shape "
                         f"{tuple(labels.shape)}")
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"subset size must be a positive integer or None, got {n!r}")
    if n is not None and n > len(labels) and not up_to:
        # taking them all is the best subset there is, but the caller asked for more: a text
        # that states n would be wrong, so say it where the numbers are produced
        warnings.warn(f"asked for {n:,} images, but there are only {len(labels):,}: "
                      f"using all {len(labels):,}", stacklevel=2)
    if n is None or n >= len(labels):
        return torch.arange(len(labels))
    n_classes = len(torch.unique(labels))
    if n < n_classes:  # the first classes were once kept, the others dropped silently
        warnings.warn(f"a subset of {n} images cannot hold all {n_classes} classes: it holds "
                      f"{n} of them", stacklevel=2)
    gen = torch.Generator().manual_seed(seed_number(seed))
    # position of each image in its class's shuffle
    rank = torch.empty(len(labels), dtype=torch.int64)
    for c in labels.unique():
        idx = torch.nonzero(labels == c).flatten()
        rank[idx[torch.randperm(len(idx), generator=gen)]] = torch.arange(len(idx))
    # taking images by rank gives every class n / n_classes (+1) images
    order = torch.sort(rank, stable=True).indices
    return order[:n].sort().values


@dataclass
class Split:
    """A chapter's images of one dataset: class-balanced train and test subsets.

    The same sizes always give the same images (seeds 0 and 1), so chapters that ask for the
    same split share cached features.

    ``train_images``/``test_images``: ``N x C x H x W`` uint8 tensors (``C = 3``; 1 for
    mnist); labels: int arrays.
    """

    dataset: str
    train_images: torch.Tensor
    train_labels: np.ndarray
    test_images: torch.Tensor
    test_labels: np.ndarray
    classes: list

    @classmethod
    def load(cls, dataset: str, n_train: int | None, n_test: int | None) -> "Split":
        """``n_train`` / ``n_test`` class-balanced images (None: all) of ``dataset``."""
        train_images, train_labels, classes = load(dataset, "train")
        test_images, test_labels, _ = load(dataset, "test")
        # fewer images than classes kept the first classes only, without a word
        for name, n in (("n_train", n_train), ("n_test", n_test)):
            if n is not None and not isinstance(n, bool) and 0 < n < len(classes):
                raise ValueError(f"{name} = {n} for {dataset}: give at least its "
                                 f"{len(classes)} classes one image each")
        tr = subset(train_labels, n_train, seed=0)
        te = subset(test_labels, n_test, seed=1)
        return cls(dataset, train_images[tr], train_labels[tr].numpy(), test_images[te],
                   test_labels[te].numpy(), list(classes))

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)
