"""Progress bars where someone watches a terminal, silence elsewhere.

A text bar written into a notebook cell becomes hundreds of lines in the rendered
book, so bars are shown only when stderr is a terminal (set ``RDSC_PROGRESS=1`` to
force them, ``0`` to hide them).
"""
import os
import sys

from tqdm import tqdm


def show_progress(requested: bool = True) -> bool:
    """Whether to show a bar: if ``requested``, ``RDSC_PROGRESS`` (1/0), else a terminal stderr."""
    if not requested:
        return False
    forced = os.environ.get("RDSC_PROGRESS")
    if forced is not None:
        return forced == "1"
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


def progress_bar(total: int, desc: str, unit: str = "it", enabled: bool = True) -> tqdm:
    """A ``tqdm`` bar of ``total`` steps, disabled unless :func:`show_progress` says to show it."""
    return tqdm(total=total, desc=desc, unit=unit, disable=not show_progress(enabled),
                mininterval=1.0, dynamic_ncols=True)
