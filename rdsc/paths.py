"""Where the book keeps its data, caches and results.

The data root is ``$RDSC_DATA`` when set; otherwise the ``data/`` folder of the
book (the nearest folder above the working directory holding ``_toc.yml``, so
chapters executed from ``chapters/`` find the same root), else ``./data``.
Results go to ``$RDSC_RESULTS`` or ``<data root>/results``.

Caches live under ``<data root>/cache``. Where the data root is read-only (a shared
dataset folder), caches that are already there are still read, and new ones are
written to ``$RDSC_CACHE`` (default ``$XDG_CACHE_HOME/rdsc``, else ``~/.cache/rdsc``)
instead.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path


def book_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: cwd) holding ``_toc.yml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return None


def checkout_env(source: Path) -> dict:
    """Environment for a process that runs the chapter ``source``: ``PYTHONPATH`` led by
    the checkout holding it (its ``rdsc/``; else the one this rdsc was imported from), so
    the chapter imports the code whose commit its results name (a shared venv's
    editable install once imported another checkout's rdsc)."""
    book = Path(source).resolve().parent.parent
    here = Path(__file__).resolve().parents[1]
    first = book if (book / "rdsc" / "__init__.py").is_file() else here
    rest = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(first), *rest])}


def book_commit(root: Path | None = None) -> str:
    """The git commit of the book at ``root`` (default: :func:`book_root`), with
    ``+changes`` when tracked files but records' JSON and logs differ; ``$RDSC_COMMIT``
    when set (a copy of the book without its git history, as on a lent GPU); else
    ``"unknown"``. Stored beside every result and record, so that a reader can tell which
    code made it."""
    import subprocess
    if os.environ.get("RDSC_COMMIT"):
        return os.environ["RDSC_COMMIT"]
    root = root or book_root()
    if root is None:
        return "unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.strip()
        # records' JSON files and logs are output, not code: the GPU runner appends to
        # records/paper/paper.log while its chapters run, which marked their results
        # +changes (12-04); its scripts under records/ are code
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",
                                "--", ".", ":(exclude,glob)records/**/*.json",
                                ":(exclude,glob)records/**/*.log"],
                               cwd=root, capture_output=True, text=True).stdout.strip()
        return sha + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$RDSC_DATA``, else the book's ``data/``."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get("RDSC_DATA"):
        return Path(os.environ["RDSC_DATA"]).expanduser()
    book = book_root()
    return (book / "data") if book is not None else Path("data")


def user_cache_root() -> Path:
    """Where caches go when the data root is read-only: ``$RDSC_CACHE`` or ``~/.cache/rdsc``."""
    if os.environ.get("RDSC_CACHE"):
        return Path(os.environ["RDSC_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rdsc"


def is_writable(folder: Path) -> bool:
    """Can files be created in ``folder`` (created if missing)?"""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            return True
    except OSError:
        return False


_warned: set[Path] = set()


def cache_dir(kind: str, root: str | os.PathLike | None = None) -> Path:
    """A writable folder for one kind of cache (``datasets``, ``features``...).

    ``<data root>/cache/<kind>``, or, where that cannot be written, the user cache
    folder (:func:`user_cache_root`), with a warning saying so once.
    """
    folder = data_root(root) / "cache" / kind
    if is_writable(folder):
        return folder
    fallback = user_cache_root() / kind
    if not is_writable(fallback):
        raise PermissionError(
            f"cannot write a cache in {folder} nor in {fallback}: make one writable, set "
            "RDSC_CACHE to a writable folder, or turn caching off (cache=False)")
    if folder not in _warned:
        _warned.add(folder)
        warnings.warn(f"{folder} is not writable; caching {kind} in {fallback} instead "
                      "(set RDSC_CACHE to choose another folder)", stacklevel=2)
    return fallback


def cache_dirs_to_read(kind: str, root: str | os.PathLike | None = None) -> list[Path]:
    """The folders where a cache of ``kind`` may already be: the data root's, then the user's."""
    folders = [data_root(root) / "cache" / kind, user_cache_root() / kind]
    return [f for i, f in enumerate(folders) if f.is_dir() and f not in folders[:i]]


def write_atomically(path: Path, write) -> Path:
    """Create ``path`` by ``write(file)`` on a temporary file of this process, then a rename.

    Readers never see half a file and concurrent writers never share a temporary file
    (a unique name in the same folder); the file gets the usual permissions (umask).
    """
    path = Path(path)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix,
                                     delete=False) as tmp:
        try:
            write(tmp)
        except BaseException:
            Path(tmp.name).unlink(missing_ok=True)
            raise
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp.name, 0o666 & ~umask)
    os.replace(tmp.name, path)
    return path


def results_root() -> Path:
    """Where chapters write their figures of merit: ``$RDSC_RESULTS`` or ``<data root>/results``."""
    if os.environ.get("RDSC_RESULTS"):
        return Path(os.environ["RDSC_RESULTS"]).expanduser()
    return data_root() / "results"


def _cache_files() -> set[tuple[str, int]]:
    """Every file under the cache folders, with its modification time."""
    roots = [data_root() / "cache", user_cache_root()]
    return {(str(p), p.stat().st_mtime_ns) for root in dict.fromkeys(roots) if root.is_dir()
            for p in root.rglob("*") if p.is_file()}


class CacheWatch:
    """Whether a block of work wrote to the caches, and how long it took: after
    ``with CacheWatch() as watch:``, ``watch.wrote`` is True when a cache file appeared or
    changed (something was computed and cached), False when all the block needed came from
    the cache; ``watch.seconds`` is the block's wall time, which ``wrote`` says how to read:
    building, or loading."""

    def __enter__(self) -> CacheWatch:
        import time
        self.before, self.wrote, self.seconds = _cache_files(), None, None
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        import time
        self.seconds = time.perf_counter() - self._start
        self.wrote = _cache_files() != self.before
