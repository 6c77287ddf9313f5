"""Where the book keeps its data, caches and results.

The data root is ``$RDSC_DATA`` when set; otherwise the ``data/`` folder of the
book (the nearest folder above the working directory holding ``_toc.yml``, so
chapters executed from ``chapters/`` find the same root), else ``./data``.
Results go to ``$RDSC_RESULTS`` or ``<data root>/results``.
"""
from __future__ import annotations

import os
from pathlib import Path


def book_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: cwd) holding ``_toc.yml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return None


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$RDSC_DATA``, else the book's ``data/``."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get("RDSC_DATA"):
        return Path(os.environ["RDSC_DATA"]).expanduser()
    book = book_root()
    return (book / "data") if book is not None else Path("data")


def cache_dir(kind: str, root: str | os.PathLike | None = None) -> Path:
    """A folder for one kind of cache (``datasets``, ``features``...) under the data root."""
    folder = data_root(root) / "cache" / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def results_root() -> Path:
    """Where chapters write their figures of merit: ``$RDSC_RESULTS`` or ``<data root>/results``."""
    if os.environ.get("RDSC_RESULTS"):
        return Path(os.environ["RDSC_RESULTS"]).expanduser()
    return data_root() / "results"
