"""What every chapter needs: its profile, its settings, its results on disk and in the text.

A chapter's first cell holds papermill parameters, among them ``profile``:

* ``smoke``: seconds, for tests;
* ``quick``: the default, minutes on a 2-core CPU;
* ``paper``: the authors' full settings, for a GPU.

Each chapter keeps a table ``{profile: settings}`` and starts with :func:`start`: the
profile's settings, the device, the figures' theme and the seeds, in one call, and
:meth:`Chapter.split` for its train and test images.
"""
from __future__ import annotations

import re
import os
import platform
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from rdsc import strict_json
# a chapter's set-up cell checks its parameters through book (book.whole_number, ...)
from rdsc.checks import (  # noqa: F401
    _is_whole,
    as_table_shows,
    chosen_from,
    flag,
    number_between,
    one_of,
    plural,
    positive_number,
    refuse_unused,
    seed_list,
    seed_number,
    whole_number,
)
from rdsc.paths import book_commit, book_root, data_root, results_root, write_atomically

PROFILES = ("smoke", "quick", "paper")


def settings(profile: str, table: dict[str, dict], least: dict | None = None,
             **overrides) -> dict:
    """The settings of ``profile`` from ``table``, with the non-``None`` ``overrides`` on top.

    A setting that is a whole number in the table (a count: images, features, epochs,
    queries...) takes only a whole number as override, at least 1 (or the table's smallest
    value, when that is 0; or its value in ``least``, e.g. ``{"n_folds": 2}``): ``2.5`` or
    ``-5`` is refused here, before any work, rather than truncated or failing deep inside
    the chapter.
    """
    if profile not in PROFILES or profile not in table:
        raise ValueError(f"profile must be one of {', '.join(p for p in PROFILES if p in table)} "
                         f"(got {profile!r}); set it in the parameters cell or with RDSC_PROFILE")
    chosen = dict(table[profile])
    for key in least or {}:  # a misspelt key left the bound at 1
        known = [row[key] for row in table.values() if row.get(key) is not None]
        if not known or not all(_is_whole(v) for v in known):
            raise ValueError(f"least names {key!r}, which is not a count in the table")
    for key, value in overrides.items():
        if value is None:
            continue
        known = [row[key] for row in table.values() if row.get(key) is not None]
        if known and all(_is_whole(v) for v in known):
            whole_number(key, value, at_least=(least or {}).get(key, min(1, *known)))
        chosen[key] = value
    return chosen


@dataclass
class Chapter:
    """What a chapter's set-up cell hands to the rest of the chapter (see :func:`start`)."""

    profile: str
    cfg: dict
    device: object            # torch.device
    seed: int | None = None
    splits: dict = field(default_factory=dict, repr=False)

    def split(self, dataset: str, n_train: int | None, n_test: int | None):
        """Class-balanced train and test images of ``dataset`` (:class:`rdsc.data.Split`;
        None: all), loaded once per chapter and sizes."""
        from rdsc.data import Split
        key = (dataset, n_train, n_test)
        if key not in self.splits:
            self.splits[key] = Split.load(dataset, n_train, n_test)
        return self.splits[key]

    def summary(self, **more) -> str:
        """The set-up cell's output: profile, device, seed, then the settings (and ``more``),
        one line each where a setting is a table (``k: cifar10 16, corel 8``), else on
        the first line; an image count of None (``n_...``, ``..._train``, ``..._test``,
        ``..._images``, a table's ``train`` and ``test``) reads ``all``, any other None
        ``none`` (a reader once met Python's "None" for both)."""
        def plain(value, key=""):
            # a count of None is every image ("n_train=None" told a reader
            # nothing), also inside a per-dataset table
            if value is None:
                return "all" if _is_count_key(key) else "none"
            if isinstance(value, dict):
                # a table of tables: each inner one in parentheses, or the datasets run
                # together ("cifar10 n_train None, n_test None, miniimagenet10 ...")
                return ", ".join(f"{k} ({plain(v, key)})" if isinstance(v, dict) else
                                 f"{k} {plain(v, k if _is_count_key(k) else key)}"
                                 for k, v in value.items())
            if isinstance(value, (list, tuple)):
                return "[" + ", ".join(plain(v) for v in value) + "]"
            # separators for counts (100,000), not for seeds and years (2018)
            big = isinstance(value, int) and not isinstance(value, bool) and value >= 10_000
            return f"{value:,}" if big else str(value)
        items = {**self.cfg, **more}
        flat = ", ".join(f"{k}={plain(v, k)}" for k, v in items.items()
                         if not isinstance(v, dict))
        tables = "".join(f"\n  {k}: {plain(v, k)}" for k, v in items.items()
                         if isinstance(v, dict))
        return f"profile {self.profile} on {self.device}" + (
            f", seed {self.seed}" if self.seed is not None else "") + (
            f": {flat}" if flat else "") + tables


def _is_count_key(key: str) -> bool:
    """Whether a setting named ``key`` counts images, so that its None means all of them."""
    return (key.startswith("n_") or key in ("train", "test")
            or key.endswith(("_train", "_test", "_images")))


#: ``start``'s default: the chapter draws no global seed (it seeds its own generators)
UNSEEDED = object()


def _warn_if_other_checkout() -> None:
    """Warn where the chapter imports rdsc from another checkout than the book it sits in
    (a second clone sharing a venv once ran the first clone's code under papermill,
    and its results named the second clone's commit)."""
    import rdsc
    here, package = book_root(), Path(rdsc.__file__).resolve().parents[1]
    # (a book without its own rdsc/ is not a checkout: it can only import another's)
    if (here is not None and (here / "rdsc").is_dir() and (package / "_toc.yml").is_file()
            and package != here.resolve()):
        warnings.warn(f"this chapter imports rdsc from {package}, not from the book it sits "
                      f"in ({here}): its results are that code's. Run it with `python -m "
                      "rdsc.chapters run`, or set PYTHONPATH to this book's folder",
                      stacklevel=3)


def start(profile: str, table: dict[str, dict], *, seed=UNSEEDED, device=None,
          noted: dict | None = None, chapter: str | None = None,
          valued: dict | None = None, least: dict | None = None,
          **overrides) -> Chapter:
    """A chapter's set-up: its settings, device, figure theme and seeds.

    ``table``: ``{profile: settings}``; ``overrides``: the chapter's parameters (``None``
    keeps the profile's value, see :func:`settings`, which also takes ``least``, the
    smallest value of a count that must be more than 1). ``noted``: parameters the chapter
    applies itself (``n_features`` over a per-dataset table), named by the profile note
    like the overrides but kept out of the settings. ``valued``: the chapter's parameters
    whose defaults are values, not None (``datasets``, ``C``), named by the note where
    they differ from what the parameters cell of ``chapter`` (its file name without
    ``.md``) assigns, as is the seed (:func:`parameter_defaults`). ``device``: None for CUDA when
    present, else the CPU. ``seed``: the chapter's seed, a whole number >= 0 (checked here,
    before any data is read: ``-p seed None`` once failed only after decoding a dataset);
    it seeds torch's global generator (numpy's is never used here: rdsc draws from
    explicit generators). A chapter with a list of seeds passes none. Sets seaborn's
    ``whitegrid`` theme, the one every chapter's figures use. The set-up cell ends by
    printing :meth:`Chapter.summary`.
    """
    import seaborn as sns
    import torch

    from rdsc.features import default_device
    cfg = settings(profile, table, least, **overrides)
    _warn_if_other_checkout()
    device = torch.device(device) if device is not None else default_device()
    if profile == "paper" and device.type == "cpu":
        # a paper run on a 2-core CPU wrote 416 of 50,000 rows in 2.5 minutes,
        # silently (progress bars are off in a notebook)
        warnings.warn(f"profile paper on the CPU ({os.cpu_count()} cores): these are the "
                      "authors' full settings, meant for a GPU; on a CPU a chapter runs for "
                      "hours and writes feature caches of many GB, with no progress shown in "
                      "a notebook (RDSC_PROGRESS=1 shows bars on stderr). For minutes, run "
                      "profile quick", stacklevel=2)
    if seed is not UNSEEDED:
        seed = seed_number(seed)  # numpy's generators take no negative seed
        torch.manual_seed(seed)
    else:
        seed = None
    sns.set_theme(style="whitegrid")
    import pandas as pd
    pd.set_option("display.max_colwidth", None)  # a caveat cut to "..." is a caveat lost
    # what the reader should make of this page's numbers: the chapters' admonition, the intro
    if chapter is not None:
        refuse_unknown_parameters(chapter)
    given = {**overrides, **(noted or {})}
    if chapter is not None:  # a value parameter, or the seed, is given where it is not the default
        defaults = parameter_defaults(chapter)
        candidates = {**(valued or {}), **({"seed": seed} if seed is not None else {})}
        given.update({name: value for name, value in candidates.items()
                      if name in defaults and not _same(value, defaults[name])})
    note = profile_note(profile, table, given)
    glue("profile_note", note.replace(profile, f"**{profile}**", 1))
    glue_text("profile_note_text", note)
    return Chapter(profile, cfg, device, seed)


def _same(value, default) -> bool:
    """Whether a parameter's value is its default (1e6 and 1000000, [1] and (1,) alike)."""
    try:
        return bool(value == default) or (
            isinstance(value, (list, tuple)) and list(value) == list(default))
    except (TypeError, ValueError):  # arrays and the like: not a default
        return False


def _parameters_cell(chapter: str) -> str | None:
    """The source of the ``parameters`` cell of ``chapters/<chapter>.md`` (of the book the
    working directory is in), or None when the file or the cell is not there."""
    root = book_root()
    path = root / "chapters" / f"{chapter}.md" if root is not None else None
    if path is None or not path.is_file():
        return None
    return parameters_cell_of(path)


def parameters_cell_of(path) -> str | None:
    """The source of the ``parameters`` cell of the MyST notebook at ``path``, or None."""
    import re
    found = re.search(r"```\{code-cell\}[^\n]*\n:tags: \[parameters\]\n(.*?)```",
                      Path(path).read_text(encoding="utf-8"), re.S)
    return found.group(1) if found else None


def parameter_names(path) -> list[str]:
    """The names the ``parameters`` cell of the MyST notebook at ``path`` assigns."""
    source = parameters_cell_of(path)
    return _assigned_names(source) if source is not None else []


def _assigned_names(source: str) -> list[str]:
    import ast
    return [node.targets[0].id for node in ast.parse(source).body
            if isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)]


#: names papermill itself may inject (``--inject-paths``), not the chapter's parameters
PAPERMILL_NAMES = ("PAPERMILL_INPUT_PATH", "PAPERMILL_OUTPUT_PATH")


def injected_parameters(parameters_cell: str) -> list[str]:
    """The names papermill injected into this kernel: the assignments of its ``# Parameters``
    cell run right after the chapter's ``parameters_cell`` (a reader's own cell that starts
    with that comment is not papermill's), or none outside IPython or papermill."""
    try:
        shell = get_ipython()  # noqa: F821 (defined in IPython kernels only)
    except NameError:
        return []
    history = shell.user_ns.get("In", [])
    found = [cell for before, cell in zip(history, history[1:])
             if cell.startswith("# Parameters\n") and before.strip() == parameters_cell.strip()]
    return [n for n in _assigned_names(found[-1]) if n not in PAPERMILL_NAMES] if found else []


class UnknownParameter(ValueError):
    """A parameter given to a chapter that its ``parameters`` cell does not have."""


def refuse_unknown_parameters(chapter: str) -> None:
    """A ValueError naming every parameter papermill injected that the chapter's
    ``parameters`` cell does not have (``-p n_featurs 50`` once ran the profile's k,
    exit status 0, the page silent; a misspelt ``profile`` would run ``quick``). Needs the
    chapter's source (the kernel's working folder in the book): elsewhere it checks nothing."""
    source = _parameters_cell(chapter)
    if source is None:
        return
    known = _assigned_names(source)
    unknown = [name for name in injected_parameters(source) if name not in known]
    if unknown:
        raise UnknownParameter(f"{chapter} has no parameter {', '.join(map(repr, unknown))}: a "
                         f"misspelt name would be ignored and the run would use the "
                         f"profile's value. Its parameters are {', '.join(known)}")


def parameter_defaults(chapter: str) -> dict:
    """The literal values the ``parameters`` cell of ``chapters/<chapter>.md`` assigns (of
    the book the working directory is in; ``profile``, read from the environment, is not a
    literal). Empty when the file is not there (a notebook copied elsewhere): its value
    parameters are then not named by the profile note."""
    import ast
    source = _parameters_cell(chapter)
    if source is None:
        return {}
    defaults = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            try:
                defaults[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:  # not a literal (profile)
                pass
    return defaults


def profile_note(profile: str, table: dict[str, dict], overrides: dict) -> str:
    """The note on what a page built at ``profile`` shows (:data:`PROFILE_NOTES`), naming
    the chapter's parameters that changed the profile's settings: a rerun with
    ``-p n_features 100000`` is no longer "fewer features than the paper". A parameter the
    table lacks (the chapter applies it itself, e.g. to a per-dataset table) is named as
    given, not as a change: whether it equals the profile's value is the chapter's to say,
    in its settings line."""
    given = {name: value for name, value in overrides.items() if value is not None}
    changed = {name: value for name, value in given.items()
               if name in table[profile] and table[profile][name] != value}
    applied = {name: value for name, value in given.items() if name not in table[profile]}
    note = PROFILE_NOTES[profile]
    if changed:
        note += (" Parameters given to this run that change the profile's settings: "
                 + ", ".join(f"{name} = {value!r}" for name, value in changed.items()) + ".")
    if applied:
        note += (" Also given to this run (the settings line shows the values used): "
                 + ", ".join(f"{name} = {value!r}" for name, value in applied.items()) + ".")
    return note


#: what a page built at each profile shows, for the reader (glued by :func:`start`)
PROFILE_NOTES = {
    "smoke": "This page was built at the smoke profile: samples of a few dozen to a few "
             "hundred images and a small k, to check that the code runs. Its numbers are not "
             "results, and its verdicts mostly say that such samples cannot tell.",
    "quick": "This page was built at the quick profile: smaller settings than the paper's "
             "(a chapter's settings line lists its run's), so that a 2-core CPU finishes a "
             "chapter in minutes to about an hour (the README times each). Its numbers are "
             "results at that scale; where k matters they are lower "
             "than the paper's by design.",
    "paper": "This page was built at the paper profile: the authors' settings for the "
             "paper's results (k = 100,000, the full datasets), meant for a GPU; checks and "
             "figures beside them may use less (a chapter's settings line lists its run's).",
}


def environment() -> dict:
    """The machine a result was computed on (stored beside every result)."""
    import torch
    device = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
              else platform.processor() or "cpu")
    return {"device": device, "cuda": torch.cuda.is_available(), "cpu_count": os.cpu_count(),
            "threads": torch.get_num_threads(),  # trained weights depend on it (rdsc.threads)
            "torch": torch.__version__, "python": platform.python_version(),
            # the GPU engine chosen for the machine (a record made with the torch
            # chain after the fused kernels' tests failed could not be told from a fused one)
            "engine": os.environ.get("RDSC_ENGINE", "auto")}


def save_results(chapter: str, name: str, results: dict) -> Path:
    """Write ``results`` to ``<results root>/<chapter>/<name>.json`` (with the time, the
    machine and the book's commit, :func:`rdsc.paths.book_commit`), as strict JSON
    (:mod:`rdsc.strict_json`: non-finite numbers as ``"NaN"``, ``"Infinity"``; read it back
    with :func:`rdsc.strict_json.read`).

    A file already there (say, the book's own run, before a rerun with other parameters)
    is kept as ``<name>.previous.json``, one version back, and in
    ``<chapter>/history/<name>.<its saved time>.json`` with every earlier one (two
    parameter runs once lost the profile's own run; these files are a few kilobytes)."""
    folder = results_root() / chapter
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    record = {**results, "saved": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "commit": book_commit(), "environment": environment()}
    text = strict_json.dumps(record)
    if path.exists():  # copied, not moved: a failed write below leaves the current file
        old = path.read_bytes()
        write_atomically(_history_path(folder, name, path), lambda f: f.write(old))
        write_atomically(folder / f"{name}.previous.json", lambda f: f.write(old))
    return write_atomically(path, lambda f: f.write(text.encode()))


def _history_path(folder: Path, name: str, current: Path) -> Path:
    """A free ``history/<name>.<saved time>.json`` for the results file ``current`` (its
    ``saved`` stamp, else its modification time; ``_2``, ``_3``... for runs saved within
    one second)."""
    try:
        saved = str(strict_json.read(current).get("saved", ""))
    except (OSError, ValueError, AttributeError):  # unreadable: keep its bytes all the same
        saved = ""
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", saved):
        saved = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(current.stat().st_mtime))
    stamp = saved.replace(":", "")  # no colons in file names (Windows, some archives)
    history = folder / "history"
    history.mkdir(exist_ok=True)
    candidate, n = history / f"{name}.{stamp}.json", 1
    while candidate.exists():
        n += 1
        candidate = history / f"{name}.{stamp}_{n}.json"
    return candidate


def shown_path(path) -> str:
    """``path`` as a chapter prints it: never the build machine's absolute path.

    Inside ``$RDSC_RESULTS`` (when set): ``$RDSC_RESULTS/02_network/x.json``; else inside
    the book's folder: relative to it (``data/results/02_network/x.json``, where the
    introduction says results go); else inside a data root set by ``$RDSC_DATA``:
    ``$RDSC_DATA/results/...``; else just the file name.
    """
    path = Path(path).expanduser().resolve()
    bases = []
    if os.environ.get("RDSC_RESULTS"):
        bases.append((results_root(), "$RDSC_RESULTS/"))
    book = book_root()
    if book is not None:
        bases.append((book, ""))
    bases.append((data_root(), "$RDSC_DATA/" if os.environ.get("RDSC_DATA") else "data/"))
    for base, prefix in bases:
        try:
            return prefix + path.relative_to(Path(base).expanduser().resolve()).as_posix()
        except ValueError:
            continue
    return path.name


def _as_figure(value):
    """The matplotlib figure of ``value`` (a figure, or a seaborn grid holding one), else None."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    if isinstance(value, Figure):
        return value
    for attr in ("figure", "fig"):  # seaborn FacetGrid / JointGrid / PairGrid
        inner = getattr(value, attr, None)
        if isinstance(inner, Figure):
            return inner
    return None


def glue(name: str, value, display: bool = False):
    """Make ``value`` available to the text (myst-nb).

    Strings are glued as markdown, for ``{glue:md}`name``` in the text (``{glue:}``
    would show their repr, quotes included); other values for ``{glue:}`name```.
    A matplotlib figure (or a seaborn grid) is glued as an image for a
    ``{glue:figure}`` block with caption and alt text, and then closed, so that the
    cell that drew it does not show it a second time.
    """
    figure = _as_figure(value)
    try:
        from myst_nb import glue as _glue
    except ImportError:  # run as a plain script (python -m rdsc.record): show the value
        if figure is not None:
            w, h = figure.get_size_inches()
            print(f"[{name}] figure, {w:.1f} x {h:.1f} in")
            _close(figure)
        else:
            print(f"[{name}] {value}")
        return
    if figure is not None:
        _glue(name, figure, display=display)
        _close(figure)
        return
    if isinstance(value, str):
        value = _markdown(value)
    _glue(name, value, display=display)


def _markdown(text: str):
    """``text`` as IPython markdown whose plain-text form is the text itself: IPython's
    own shows "<IPython.core.display.Markdown object>" there, which a ``{glue:text}`` of
    the name would paste."""
    from IPython.display import Markdown

    class _Text(Markdown):
        def __repr__(self):
            return self.data

    return _Text(text)


def glue_text(name: str, text: str) -> None:
    """Glue ``text`` as plain text, for ``{glue:text}`` on another page (the intro's table):
    pasting across pages takes ``text/plain`` only, which :func:`glue` keeps for markdown."""
    try:
        from myst_nb import glue as _glue
    except ImportError:  # run as a plain script
        print(f"[{name}] {text}")
        return
    _glue(name, str(text), display=False)


def _close(figure):
    import matplotlib.pyplot as plt
    plt.close(figure)


def readable_log_axis(ax, which: str = "y", max_ticks: int = 6) -> list[float]:
    """Label a log axis of ``ax`` with a few plain numbers; returns the tick values.

    Matplotlib labels only powers of ten (none on a range shorter than a decade) or, with
    minor labels, crowds the axis. Call this after plotting: it puts ticks at 1, 2 and 5
    times powers of ten within the axis limits (thinned to at most ``max_ticks``), or,
    where fewer than two of those fall inside, at a few evenly spaced round values.
    """
    import math

    import numpy as np
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator
    if which not in ("x", "y"):
        raise ValueError(f"which must be 'x' or 'y', got {which!r}")
    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
    if lo <= 0:
        raise ValueError(f"a log axis needs positive limits, got {lo}, {hi}")
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)

    def round_values(mantissas):
        return [m * 10.0 ** e for e in decades for m in mantissas if lo <= m * 10.0 ** e <= hi]
    ticks = round_values((1, 2, 5))
    if len(ticks) < 3:  # a short range: finer round values, so no data lies far off a label
        ticks = max(ticks, round_values((1, 1.5, 2, 3, 4, 5, 6, 8)), key=len)
    if len(ticks) < 2:
        even = MaxNLocator(nbins=min(4, max_ticks), steps=[1, 2, 5, 10])
        ticks = [v for v in even.tick_values(lo, hi) if lo <= v <= hi]
    if len(ticks) > max_ticks:
        ticks = ticks[::math.ceil(len(ticks) / max_ticks)]
    ticks = [float(np.format_float_positional(v, precision=6, trim="-")) for v in ticks]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.10g}"))
    axis.set_minor_locator(NullLocator())
    return ticks
