"""``.npy`` files written row by row, safely: the protocol of the feature caches
(:func:`rdsc.features.extract`) and of :func:`rdsc.feature_files.write_features`.

A finished file appears only by an atomic rename of its partial file; rows go into the
partial file with plain positioned writes (:func:`pwrite_all`), a small progress record
says how many are done (:func:`write_progress`, :func:`resume_point`), and one process at a
time holds a file's lock (:func:`exclusive`). So a killed run never leaves a file that
looks finished, two processes never write the same rows, and finished rows are resumed,
not recomputed.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import numpy as np


def written_in_place(path: Path) -> bool:
    """Whether ``path`` is a cache that an older rdsc was writing rows into in place (it has
    the full shape, so only its progress file tells that rows are missing)."""
    progress_file = path.with_suffix(".progress.json")
    if not (path.is_file() and progress_file.is_file()):
        return False
    try:
        record = json.loads(progress_file.read_text())
        # rows_done == rows: finished, killed between the rename and removing the progress file
        return int(record["rows_done"]) < int(record["rows"])
    except FileNotFoundError:  # removed just now, by a run that finished it
        return False
    except (ValueError, KeyError, TypeError, OSError):
        return True  # an unreadable record proves nothing: compute the rows again


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    """``os.pwrite`` all of ``data`` at ``offset``: one call may write only part of it (a full
    disk, the file size limit, over 2 GiB per call), and unwritten rows must not be recorded."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(f"pwrite wrote nothing at offset {offset} ({len(view)} bytes left)")
        view, offset = view[written:], offset + written


def load_finished(path: Path, shape, dtype, remove_bad: bool = True):
    """The finished cache at ``path`` as a read-only memory map, or None (absent or unusable)."""
    if not path.is_file():
        return None
    try:
        arr = np.load(path, mmap_mode="r")
        if arr.shape == tuple(shape) and arr.dtype == dtype:
            return arr
        problem = f"holds {arr.shape} {arr.dtype}, not {tuple(shape)} {np.dtype(dtype)}"
    except (ValueError, OSError, EOFError) as err:
        problem = f"cannot be read ({err})"
    if remove_bad:
        warn(f"feature cache {path} {problem}: computing it again")
        path.unlink(missing_ok=True)
    return None


def resume_point(partial: Path, progress_file: Path, n: int, k: int, dtype) -> int:
    """Rows of ``partial`` already written (0 after (re)creating it)."""
    done = 0
    if partial.is_file() and progress_file.is_file():
        try:
            record = json.loads(progress_file.read_text())
            done = int(record["rows_done"]) if record.get("rows") == n else 0
            shape, stored, offset = npy_header(partial)
            if shape != (n, k) or stored != np.dtype(dtype):
                done = 0
            full = offset + n * k * np.dtype(dtype).itemsize
            size = partial.stat().st_size
            if done and size < full:  # truncated: keep the whole rows that are there
                present = max(0, size - offset) // (k * np.dtype(dtype).itemsize)
                warn(f"partial feature cache {partial} is truncated: resuming from row "
                      f"{min(done, present)} of {n}")
                done = min(done, present)
                os.truncate(partial, full)
        except (ValueError, KeyError, OSError, EOFError, json.JSONDecodeError) as err:
            if done:
                warn(f"partial feature cache {partial} is unreadable ({err}): starting it again")
            done = 0
    if done > 0:
        return min(done, n)
    # a sparse file of the right size with its .npy header; rows are written into it
    np.lib.format.open_memmap(partial, mode="w+", dtype=dtype, shape=(n, k)).flush()
    write_progress(progress_file, 0, n)
    return 0


@contextlib.contextmanager
def exclusive(lock_path: Path, what: Path):
    """Hold an exclusive lock on ``lock_path`` (released when the process dies, even by kill -9)."""
    import fcntl
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"another process is computing {what.name}; waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def is_same_file(f, path: Path) -> bool:
    """Whether the open file ``f`` is still the file at ``path`` (not deleted or replaced)."""
    try:
        return os.path.samestat(os.fstat(f.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


def copy_open_file(f, path: Path) -> None:
    """Write the open file ``f``'s contents to ``path`` (atomically: a temporary file, then
    a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    f.seek(0)
    with open(tmp, "wb") as out:
        shutil.copyfileobj(f, out, 1 << 24)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def warn(message: str) -> None:
    """A ``UserWarning`` pointing at the caller's caller (the user's call)."""
    import warnings
    warnings.warn(message, stacklevel=3)


def npy_header(path: Path):
    """``(shape, dtype, data offset)`` from an ``.npy`` file's header."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read(f)
        return tuple(shape), np.dtype(dtype), f.tell()


def data_offset(path: Path) -> int:
    """Where an ``.npy`` file's data start (bytes)."""
    return npy_header(path)[2]


def write_progress(path: Path, rows_done: int, n: int) -> None:
    """Record (atomically) that ``rows_done`` of ``n`` rows are written."""
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"rows_done": rows_done, "rows": n}))
    os.replace(tmp, path)
