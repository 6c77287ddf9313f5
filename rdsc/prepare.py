"""Put the book's datasets into the data root before a build or a test run.

``python -m rdsc.prepare [--optional] [NAME ...]`` (``make book`` and ``make test`` call it)
brings each dataset (default: :data:`BOOK_DATASETS`) into the data root
(:func:`rdsc.paths.data_root`), trying in turn:

1. already there: ``<root>/<name>/`` holds files, or the torchvision on-disk folder does
   (unless it was extracted from a shared tarball that has changed since: then it is
   extracted again, see :func:`prepare`);
2. a tarball ``<name>.tar`` in the shared folder (``$RDSC_SHARED_DATA``, else
   ``../shared/data`` beside the book): extracted into a temporary folder of the data root
   and renamed into place, so an interrupted extraction never looks finished;
3. a download, for datasets torchvision can fetch (CIFAR-10).

A dataset found in none of these stops the command at once with one line naming it and how
to get it (exit status 1). With ``--optional`` (``make test`` on a machine without the
data) that line is a note and the command goes on: the real-data tests then skip, each
with its reason.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from rdsc.paths import book_root, data_root

# what the chapters read; the tests use the same datasets
BOOK_DATASETS = ("cifar10", "miniimagenet10", "corel", "cifar10-lossless-subset")


class PrepareError(RuntimeError):
    """A dataset could not be brought into the data root."""


def shared_folder() -> Path:
    """Where dataset tarballs are looked for: ``$RDSC_SHARED_DATA`` or ``../shared/data``."""
    if os.environ.get("RDSC_SHARED_DATA"):
        return Path(os.environ["RDSC_SHARED_DATA"]).expanduser()
    book = book_root() or Path.cwd()
    return book.parent / "shared" / "data"


def is_present(name: str, root: Path) -> bool:
    """Does the data root hold ``name``, as an image folder or in torchvision's format?"""
    folder = root / name
    if folder.is_dir() and any(p.is_file() for p in folder.rglob("*")):
        return True
    standard = _spec(name).standard_folder if _spec(name) else None
    return bool(standard) and (root / standard).is_dir() and any((root / standard).iterdir())


def _spec(name: str):
    from rdsc.data import DATASETS  # the data layer knows how each dataset is obtained
    return DATASETS.get(name)


def _marker(root: Path, name: str) -> Path:
    """Where :func:`extract` notes the tarball it extracted ``name`` from (beside the
    dataset folder, not in it: a file inside would count as one of its images)."""
    return root / ".prepared" / f"{name}.txt"


def _tarball_stamp(tarball: Path) -> str:
    """The tarball's path, size and modification time: a corrected archive put in its
    place changes them."""
    st = tarball.stat()
    return f"{tarball.resolve()}\n{st.st_size}\n{st.st_mtime_ns}\n"


def extract(tarball: Path, name: str, root: Path) -> Path:
    """Extract ``tarball`` (holding ``<name>/...``) into ``root``; return ``root / name``.

    The files go to a temporary folder inside ``root`` first and are renamed into place
    only when the whole archive is out; a dataset folder already there is replaced only
    then. The tarball's stamp is noted beside it (:func:`_marker`).
    """
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".extracting-{name}-", dir=root))
    try:
        stamp = _tarball_stamp(tarball)
        with tarfile.open(tarball) as tar:
            # the "data" filter refuses absolute paths, links out of the folder, devices
            tar.extractall(tmp, filter="data")
            _check_complete(tar, tarball)
        if not (tmp / name).is_dir():
            raise PrepareError(f"{tarball} does not hold a top-level folder {name}/")
        if (root / name).exists():   # the old copy goes only once the new one is out
            os.replace(root / name, tmp / f".old-{name}")
        os.replace(tmp / name, root / name)
        _marker(root, name).parent.mkdir(exist_ok=True)
        _marker(root, name).write_text(stamp)
    except (tarfile.TarError, OSError) as err:
        raise PrepareError(f"{name}: extracting {tarball} failed ({err}); "
                           f"check the file and the free space in {root}") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root / name


def _check_complete(tar: tarfile.TarFile, tarball: Path) -> None:
    """Refuse an archive cut short: tarfile stops silently at a truncated member header."""
    end = 0
    if tar.members:
        last = tar.members[-1]
        end = last.offset_data + -(-last.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
    with open(tarball, "rb") as f:
        f.seek(end)
        if f.read(2 * tarfile.BLOCKSIZE) != bytes(2 * tarfile.BLOCKSIZE):
            raise tarfile.ReadError("the archive is cut short (no end-of-archive marker after "
                                    "its last complete member, "
                                    f"{tar.members[-1].name if tar.members else 'none'})")


def prepare(name: str, root: Path | None = None, shared: Path | None = None) -> str:
    """Bring ``name`` into the data root; return what was done (one short phrase).

    Raises :class:`PrepareError` with one line naming the dataset and how to get it.
    """
    root = data_root(root)
    shared = shared_folder() if shared is None else Path(shared)
    tarball = shared / f"{name}.tar"
    if is_present(name, root):
        marker = _marker(root, name)
        # a corrected tarball once left the old images in place, called "present"
        if tarball.is_file() and marker.is_file() and (
                marker.read_text() != _tarball_stamp(tarball)):
            extract(tarball, name, root)
            return f"extracted again from {tarball}: it changed since the last extraction"
        return "present"
    if tarball.is_file():
        extract(tarball, name, root)
        return f"extracted from {tarball}"
    spec = _spec(name)
    if spec is not None and spec.downloadable:
        from rdsc.data import DatasetNotFoundError, load
        try:
            for split in spec.splits:
                load(name, split, root)  # downloads once, then decodes into the cache
            return "downloaded"
        except DatasetNotFoundError as err:
            reason = str(err).splitlines()[0][:200]
            raise PrepareError(f"dataset {name!r} is missing: no {tarball} and the download "
                               f"failed ({reason})") from err
    how = spec.how_to_get if spec is not None else f"extract {name}.tar into the data root"
    raise PrepareError(f"dataset {name!r} is missing from {root} and there is no {tarball}: "
                       f"{how} (or set RDSC_SHARED_DATA to the folder holding {name}.tar)")


def main(argv=None) -> int:
    """Command line: prepare the named datasets under the data root; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m rdsc.prepare",
        description="Extract or download the book's datasets into the data root "
                    "($RDSC_DATA, else the book's data/ folder).")
    parser.add_argument("names", nargs="*", default=list(BOOK_DATASETS),
                        help=f"datasets to prepare (default: {' '.join(BOOK_DATASETS)})")
    parser.add_argument("--optional", action="store_true",
                        help="a missing dataset is a note, not an error (tests then skip)")
    args = parser.parse_args(argv)
    root = data_root()
    status = 0
    for name in args.names:
        try:
            done = prepare(name, root)
        except PrepareError as err:
            if not args.optional:
                print(f"error: {err}", file=sys.stderr)
                return 1
            print(f"note: {err}; its real-data tests will skip", file=sys.stderr)
            status = 0
            continue
        if done != "present":
            print(f"{name}: {done}")
    return status


if __name__ == "__main__":
    sys.exit(main())
