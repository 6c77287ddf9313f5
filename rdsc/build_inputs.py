"""What the executed chapters of ``make book`` depend on beyond their own code cells.

    python -m rdsc.build_inputs      # one line: a 16-digit digest of them

Jupyter Book's cache reruns a chapter when its code cells change, and nothing else. The
pages also depend on rdsc's code, the committed records and GPU checks (and git's word on
them: a check "not yet committed"), the datasets in the data root, the data root itself,
the installed packages and the ``RDSC_*`` settings. ``make book`` compares this digest
with the one it wrote at its last build and, when they differ, empties the cache so every
chapter runs again (once, with MNIST added to the data root, chapter 3's page still
said MNIST was not on the machine). A chapter's own prose is rebuilt every time anyway.

A dataset is known by its files' names and :func:`rdsc.data.file_stamp` (no file is read):
the cache folder and the results folder of the data root are left out, being what the
chapters write.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
from importlib import metadata
from pathlib import Path

from rdsc.data import file_stamp
from rdsc.paths import book_root, data_root

#: what the chapters show of records/: the paper-profile records and the GPU checks
RECORDS = ("records/paper", "records/gpu-checks")
#: folders of the data root the chapters write into, not read as inputs
WRITTEN = ("cache", "results")
#: ``RDSC_*`` settings no page depends on (the tests', the browser's, where ``make data``
#: finds the archives: the data root itself is digested). A setting not named here reruns
#: every chapter when it changes, which is slow but never stale. Not RDSC_PROGRESS: its
#: bars are written into the pages.
NOT_PAGE_SETTINGS = frozenset({"RDSC_BOOK_HTML", "RDSC_CHROMIUM", "RDSC_DEBUG",
                               "RDSC_EXECUTED", "RDSC_REQUIRE_BROWSER",
                               "RDSC_REQUIRE_REAL_DATA", "RDSC_SHARED_DATA"})
#: what git is asked about: the last commit of the records and of the fused kernels (the
#: GPU check's sentence names it), and edits to tracked files not yet committed (the
#: "+changes" of results, a record label's "uncommitted changes to rdsc/")
GIT_LOG_PATHS, GIT_STATUS_PATHS = ("records", "rdsc/fused.py"), ("records", "rdsc")


def inputs(root: Path, data: Path, environ: dict) -> dict[str, str]:
    """Each input's own digest, by name (``root``: the book; ``data``: its data root)."""
    # an editor's lock link (Emacs's .#m.py) is no module: it would rerun every chapter
    # while a buffer has unsaved edits, and again once saved
    return {"rdsc": _files_digest(sorted(p for p in (root / "rdsc").rglob("*.py")
                                         if not p.name.startswith(".#")), root),
            "records": _files_digest(sorted(p for folder in RECORDS
                                            for p in (root / folder).glob("*")
                                            if p.is_file()), root),
            "git": _git_state(root),
            "data": _data_digest(data),
            "packages": _sha(sorted(f"{d.metadata['Name']}=={d.version}"
                                    for d in metadata.distributions())),
            "settings": _sha(sorted(f"{k}={v}" for k, v in environ.items()
                                    if k.startswith("RDSC_")
                                    and k not in NOT_PAGE_SETTINGS))}


def digest(root: Path | None = None, data: Path | None = None,
           environ: dict | None = None) -> str:
    """One digest of :func:`inputs` (16 hex digits)."""
    root = Path(root or book_root() or Path.cwd())
    parts = inputs(root, Path(data or data_root()), dict(os.environ if environ is None
                                                          else environ))
    return _sha([f"{k}:{v}" for k, v in sorted(parts.items())])[:16]


def _sha(lines) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _files_digest(files: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.relative_to(root)}\n".encode())
        try:
            h.update(f.read_bytes())
        except OSError:  # a broken link (an editor's lock) once stopped make book
            h.update(b"unreadable")
    return h.hexdigest()


def _data_digest(data: Path) -> str:
    """The data root's path and every file's name and stamp, outside :data:`WRITTEN`."""
    lines = [str(data.resolve())]
    if data.is_dir():
        for top in sorted((e for e in os.scandir(data) if e.name not in WRITTEN),
                          key=lambda e: e.name):
            if not top.is_dir():  # a file, or a broken link
                lines.append(f"{top.name}:{_stamp(top.path)}")
                continue
            seen = set()
            for folder, dirs, files in os.walk(top.path, followlinks=True):
                real = os.path.realpath(folder)
                if real in seen:  # a link to a folder above: walk it once, not until ELOOP
                    dirs.clear()
                    continue
                seen.add(real)
                dirs.sort()
                rel = os.path.relpath(folder, data)
                lines += [f"{rel}/{name}:{_stamp(os.path.join(folder, name))}"
                          for name in sorted(files)]
    return _sha(lines)


def _stamp(path: str) -> str:
    """:func:`rdsc.data.file_stamp`, or "unreadable" (a broken link: the chapters say what
    they cannot read; the digest need not stop the build)."""
    try:
        return file_stamp(os.stat(path))
    except OSError:
        return "unreadable"


def _git_state(root: Path) -> str:
    """The last commit touching :data:`GIT_LOG_PATHS` and the uncommitted changes in
    :data:`GIT_STATUS_PATHS`; "" where git or the history is missing (a copy of the
    working tree)."""
    try:
        out = [subprocess.run(["git", *args, "--", *paths], cwd=root, text=True,
                              capture_output=True, timeout=60).stdout
               for args, paths in ((["log", "-1", "--format=%H"], GIT_LOG_PATHS),
                                   (["status", "--porcelain", "--untracked-files=no"],
                                    GIT_STATUS_PATHS))]
    except (OSError, subprocess.SubprocessError):
        return ""
    return _sha(out)


if __name__ == "__main__":
    print(digest())
