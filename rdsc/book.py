"""What every chapter needs: its profile, its settings, its results on disk and in the text.

A chapter's first cell holds papermill parameters, among them ``profile``:

* ``smoke``: seconds, for tests;
* ``quick``: the default, minutes on a 2-core CPU;
* ``paper``: the authors' full settings, for a GPU.

Each chapter keeps a table ``{profile: settings}`` and calls :func:`settings`.
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from rdsc.paths import results_root, write_atomically

PROFILES = ("smoke", "quick", "paper")


def settings(profile: str, table: dict[str, dict], **overrides) -> dict:
    """The settings of ``profile`` from ``table``, with the non-``None`` ``overrides`` on top."""
    if profile not in PROFILES or profile not in table:
        raise ValueError(f"profile must be one of {', '.join(p for p in PROFILES if p in table)} "
                         f"(got {profile!r}); set it in the parameters cell or with RDSC_PROFILE")
    chosen = dict(table[profile])
    chosen.update({k: v for k, v in overrides.items() if v is not None})
    return chosen


def environment() -> dict:
    """The machine a result was computed on (stored beside every result)."""
    import torch
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "cpu"
    return {"device": device, "cuda": torch.cuda.is_available(), "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "python": platform.python_version()}


def save_results(chapter: str, name: str, results: dict) -> Path:
    """Write ``results`` to ``<results root>/<chapter>/<name>.json`` (with time and machine)."""
    folder = results_root() / chapter
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    record = {**results, "saved": time.strftime("%Y-%m-%dT%H:%M:%S"), "environment": environment()}
    text = json.dumps(record, indent=2, default=_plain)
    return write_atomically(path, lambda f: f.write(text.encode()))


def _plain(value):
    """JSON for numpy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in results JSON")


def glue(name: str, value, display: bool = False):
    """Make ``value`` available to the text (myst-nb).

    Strings are glued as markdown, for ``{glue:md}`name``` in the text (``{glue:}``
    would show their repr, quotes included); other values for ``{glue:}`name```.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:  # run as a plain script (python -m rdsc.record): show the value
        print(f"[{name}] {value}")
        return
    if isinstance(value, str):
        from IPython.display import Markdown
        value = Markdown(value)
    _glue(name, value, display=display)
