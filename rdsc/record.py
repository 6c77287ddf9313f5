"""Reproduction records: every chapter run at one profile on one machine, kept in the repository.

    python -m rdsc.record run [--profile paper] [--chapters 03 05 ...] [--timeout S]
                              [--deadline S]

runs each chapter of ``_toc.yml`` as a plain Python script (no Jupyter needed: the code
cells are read from the MyST source), one after another, with ``RDSC_PROFILE`` set,
and writes ``records/<profile>/<chapter>.json``: the chapter's results JSON files, the
status (``ok`` or ``failed``, with the end of the log), the device, the commit, the
date and the wall time. The full log goes to ``records/<profile>/<profile>.log``;
a chapter's output is in ``records/<profile>/<chapter>.running.log`` while it runs.
A failed chapter gets a record saying so (in ``<chapter>.failed.json`` where an earlier
``ok`` record exists, which it keeps); a chapter the deadline leaves unrun gets none.
Nothing in a record is typed by hand.
The exit status is 0 when every chapter succeeded, 1 when one failed, and 3 when none
failed but ``--deadline`` left some unrun.

Chapters show a record beside their own run with :func:`load` and :func:`label`.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from rdsc import strict_json
from rdsc.paths import book_commit, book_root, checkout_env, write_atomically

#: A MyST code cell: ```{code-cell} ipython3, optional ':key: value' lines, the code, ```.
_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
#: What a notebook provides that a script lacks (``display``, which IPython gives every
#: notebook: chapters do not import it, so they run where IPython is missing, the lent GPU),
#: and what a script has that a notebook lacks: ``__file__``, from which a spawned worker
#: process (rdsc.measure on a CPU) would run the whole chapter again.
_PREAMBLE = '''\
import matplotlib
matplotlib.use("Agg")
try:
    from IPython.display import display
except ImportError:  # a machine without Jupyter
    def display(*objects):
        print(*objects)
del __file__
'''

#: The packages on the lent GPU machine besides the standard library: its PyTorch stack,
#: and the wheels ``make gpu-bundle`` carries (GPU_WHEELS). A chapter that imports anything
#: else fails there (chapter 3 once imported IPython, in 2 s of a paper run).
DEVICE_PACKAGES = ("torch", "torchvision", "triton", "numpy", "scipy", "sklearn", "pandas",
                   "seaborn", "matplotlib", "PIL", "pytest", "rdsc", "foolbox", "eagerpy",
                   "git", "gitdb", "smmap", "tqdm", "requests", "urllib3", "idna", "certifi")


def records_dir(profile: str, root: Path | None = None) -> Path:
    """``records/<profile>`` under ``root`` (default: the book's root, else the cwd)."""
    return (root or book_root() or Path.cwd()) / "records" / profile


def chapter_script(source: Path, through: str | None = None) -> str:
    """The code cells of a MyST notebook as one script (cell options dropped); with
    ``through``, only the cells up to the first that contains it (``"book.start("``: the
    set-up)."""
    cells = []
    for body in _CELL.findall(Path(source).read_text()):
        lines = [ln for ln in body.splitlines() if not re.match(r"^:[\w-]+:", ln)]
        cells.append("\n".join(lines))
        if through is not None and through in body:
            break
    else:
        if through is not None:
            raise ValueError(f"no code cell of {source} contains {through!r}")
    if not cells:
        raise ValueError(f"{source} has no code cells")
    return _PREAMBLE + "\n\n".join(f"# --- cell {i + 1}\n{c}" for i, c in enumerate(cells)) + "\n"


def device_name() -> str:
    """The first GPU's name, else the CPU's and its number of cores.

    Asked in a child process: CUDA initialised in the runner would hold a context (hundreds
    of MB of GPU memory) through every later chapter."""
    import platform
    ask = ("import torch; print(torch.cuda.get_device_name(0) "
           "if torch.cuda.is_available() else '')")
    try:
        gpu = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True,
                             timeout=120).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        gpu = ""
    return gpu or f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def _device_of(results: dict) -> str:
    """The machine the chapter's results were computed on (as :func:`rdsc.book.save_results`
    stored it), else :func:`device_name`."""
    for found in results.values():
        env = found.get("environment") if isinstance(found, dict) else None
        if env and env.get("cuda") and env.get("device"):
            return env["device"]
    return device_name()  # a CPU (named here: the results store only "cpu" on some machines)


def run_chapter(source: Path, profile: str, log, timeout: int, commit: str,
                output: Path | None = None) -> dict:
    """Run one chapter as a script; its record (not yet written).

    ``output``: the file its output goes to while it runs (then into ``log``, and the file
    is deleted), where something can copy it from a machine that may be stopped mid-chapter
    (the lent GPU); default: a temporary file."""
    source = Path(source).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / f"{source.stem}.py"
        script.write_text(chapter_script(source))
        results = Path(tmp) / "results"
        env = {**checkout_env(source), "RDSC_PROFILE": profile, "RDSC_RESULTS": str(results),
               "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
        log.write(f"\n===== {source.stem} ({profile}) {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
        log.flush()
        start = time.perf_counter()
        output = Path(output) if output is not None else Path(tmp) / "output.txt"
        with open(output, "w") as out:
            # its own process group: a timeout stops the chapter's workers too (data loader
            # workers, a spawned measurement), which would hold the GPU for the next chapter
            proc = subprocess.Popen([sys.executable, str(script)], cwd=source.parent, env=env,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                code = proc.wait(timeout=timeout)
                status = "ok" if code == 0 else "failed"
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                status, code = "failed", None
            except BaseException:  # Ctrl-C, or the runner stopped (main turns SIGTERM into this)
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: nothing else stops it
                proc.wait()
                # how far it got, in the log (the output file goes with the temporary folder)
                log.write(output.read_text(errors="replace"))
                output.unlink(missing_ok=True)
                log.write(f"stopped by the runner after {time.perf_counter() - start:.0f} s\n")
                log.flush()
                print(f"{source.stem}: stopped after {time.perf_counter() - start:.0f} s; its "
                      "earlier record, if any, is kept", flush=True)
                raise
        seconds = time.perf_counter() - start
        text = output.read_text(errors="replace")
        log.write(text)
        log.flush()
        output.unlink(missing_ok=True)
        tail = text.splitlines()[-40:]
        if code is None:
            tail.append(f"stopped after {timeout} s")
        found = {p.stem: strict_json.read(p)
                 for p in sorted((results / source.stem).glob(f"*-{profile}.json"))}
    if status == "ok" and not found:
        status, tail = "failed", tail + ["the chapter wrote no results JSON"]
    return {"chapter": source.stem, "profile": profile, "status": status, "exit_code": code,
            "device": _device_of(found), "commit": commit, "date": time.strftime("%Y-%m-%d"),
            "wall_seconds": round(seconds, 1), "results": found,
            "log_tail": tail if status != "ok" else tail[-5:]}


#: a chapter is not started with less time than this left before the run's deadline
MIN_CHAPTER_SECONDS = 60


def run(profile: str = "paper", chapters: list[str] | None = None, timeout: int = 3600,
        commit: str | None = None, root: Path | None = None,
        deadline: float | None = None) -> list[dict]:
    """Run the chosen chapters (default: all in ``_toc.yml``, in the order given) and write
    their records.

    ``deadline``: seconds for the whole run (a lent GPU is lent for minutes). Each chapter
    gets what is left (at most ``timeout``); one that would start with less than
    :data:`MIN_CHAPTER_SECONDS` left is not run and gets no record. A chapter that fails
    (or is stopped) does not replace a successful record made earlier: its record goes
    beside it, as ``<chapter>.failed.json``; it replaces only a failed one or none.
    """
    from rdsc.chapters import chapter_files
    root = root or book_root()
    sources = chapter_files(root)
    if chapters is not None and not chapters:
        raise ValueError("--chapters names no chapter: give prefixes such as 03 05, or leave "
                         "--chapters out to run them all")
    if chapters:
        unmatched = [c for c in chapters if not any(s.stem.startswith(c) for s in sources)]
        if unmatched:  # a typo would otherwise cost a chapter's record on a lent GPU
            raise ValueError(f"no chapter in _toc.yml starts with {', '.join(unmatched)}; "
                             f"the chapters are {', '.join(s.stem for s in sources)}")
        # "0" or "" is a prefix of every chapter: it ran all eight at the paper profile
        several = [c for c in chapters if sum(s.stem.startswith(c) for s in sources) > 1]
        if several:
            raise ValueError(f"{', '.join(repr(c) for c in several)} starts more than one "
                             "chapter's name: give each chapter's number (e.g. 03), or "
                             "leave --chapters out to run them all")
        sources = [s for c in chapters for s in sources if s.stem.startswith(c)]
        sources = list(dict.fromkeys(sources))   # the order asked for, each chapter once
    commit = commit or book_commit(root)
    out = records_dir(profile, root)
    out.mkdir(parents=True, exist_ok=True)
    records, started = [], time.monotonic()
    with open(out / f"{profile}.log", "a") as log:
        for source in sources:
            left = None if deadline is None else deadline - (time.monotonic() - started)
            if left is not None and left < MIN_CHAPTER_SECONDS:
                print(f"{source.stem}: not run, {max(0, left):.0f} s left of the run's "
                      f"{deadline:.0f} s (no record written)", flush=True)
                records.append({"chapter": source.stem, "status": "not run"})
                continue
            limit = timeout if left is None else int(min(timeout, left))
            try:  # read first: an unreadable old record must not cost the new one
                earlier = load(source.stem, profile, root)
            except ValueError as err:
                print(f"{source.stem}: the earlier record is replaced ({err})", flush=True)
                earlier = None
            record = run_chapter(source, profile, log, limit, commit,
                                 out / f"{source.stem}.running.log")
            # the commit is read once, at the run's start; a chapter that ran
            # on code edited since saved results marked +changes, and so is its record
            edited = any(str(r.get("commit", "")).endswith("+changes")
                         for r in record["results"].values() if isinstance(r, dict))
            if edited and not record["commit"].endswith("+changes"):
                record["commit"] += "+changes"
            records.append(record)
            failure = out / f"{source.stem}.failed.json"
            why = "failed"
            if record["exit_code"] is None:  # killed at its limit: say which one
                why = "stopped at the run's deadline" if limit < timeout else "timed out"
                # the book says so, not "failed": the lent machine's time ran out
                record["stopped"] = why
            text = strict_json.dumps(record, indent=1)
            if record["status"] != "ok" and earlier is not None and earlier["status"] == "ok":
                # a rerun without its data, or stopped, once replaced a GPU's record
                write_atomically(failure, lambda f: f.write(text.encode()))
                print(f"{source.stem}: {why} after {record['wall_seconds']:.0f} s; its ok "
                      f"record of commit {short_commit(earlier['commit'])} is kept, this "
                      f"run's is {failure.relative_to(out.parent.parent).as_posix()}",
                      flush=True)
                continue
            write_atomically(out / f"{source.stem}.json", lambda f: f.write(text.encode()))
            failure.unlink(missing_ok=True)   # an older failure beside it no longer applies
            said = "ok in" if record["status"] == "ok" else f"{why} after"
            print(f"{source.stem}: {said} {record['wall_seconds']:.0f} s", flush=True)
    return records


#: what every record holds (:func:`run_chapter`); a record without them cannot be shown
RECORD_KEYS = ("chapter", "profile", "status", "device", "commit", "date", "wall_seconds",
               "results")


def load(chapter: str, profile: str = "paper", root: Path | None = None) -> dict | None:
    """The committed record of ``chapter`` at ``profile``, or None when there is none.

    Raises ValueError naming the file when it is not a record (unreadable JSON, a field of
    :data:`RECORD_KEYS` missing, empty or of the wrong kind, a status other than ok or
    failed, or another profile's record): rerun the chapter to remake it, or delete it.
    """
    path = records_dir(profile, root) / f"{chapter}.json"
    if not path.is_file():
        return None
    try:
        record = strict_json.read(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not a readable record ({err}); make it again with "
                         f"`python -m rdsc.record run --chapters {chapter[:2]}` or delete it") \
            from None
    missing = [k for k in RECORD_KEYS
               if not isinstance(record, dict) or record.get(k) in (None, "")]
    # hand-edited fields once crashed the chapter's last cell ("12" / 60 as a str)
    kinds = {"chapter": str, "profile": str, "status": str, "device": str, "commit": str,
             "date": str, "wall_seconds": (int, float), "results": dict}
    wrong = [k for k, kind in kinds.items() if k not in missing
             and (not isinstance(record[k], kind) or isinstance(record[k], bool))]
    # a NaN or negative wall time was once shown as "nan s"
    if "wall_seconds" not in missing + wrong and not 0 <= record["wall_seconds"] < math.inf:
        wrong.append(f"wall_seconds {record['wall_seconds']!r}")
    if not missing and record["status"] not in ("ok", "failed"):
        wrong.append(f"status {record['status']!r}")
    if not missing and record["profile"] != profile:
        wrong.append(f"profile {record['profile']!r} in records/{profile}")
    if not missing and record["chapter"] != chapter:   # it was shown as this chapter's
        wrong.append(f"chapter {record['chapter']!r} in {chapter}.json")
    if missing or wrong:
        problem = (f"lacks {', '.join(missing)}" if missing else
                   f"has fields of the wrong kind ({', '.join(wrong)})")
        raise ValueError(f"{path} {problem}: not a record this book wrote; "
                         f"make it again with `python -m rdsc.record run --chapters "
                         f"{chapter[:2]}` or delete it")
    return record


#: figures of merit by the name results files give them, and the range each must lie in
#: (NaN is allowed: a measure undefined on the run, e.g. an attack that found nothing)
# "top-1 (%)", and chapter 4's "top-1" ... "top-5", "top-1 min": percentages; a spread of
# timings is not bounded
_PERCENT = re.compile(r"^((?!spread).*\(%\)|top-\d( min| max)?)$")
_FRACTION = re.compile(r"^(top\d|P@\d+|AP|R-precision|engine_fraction_differ)"
                       r"( low| high)?$")  # "top1", "P@10", chapter 2's share


def implausible_figures(results, where: str = "") -> list[str]:
    """Where ``results`` holds a figure of merit out of its range: a percentage (a key
    ending ``(%)``, but for a spread of timings, or chapter 4's ``top-1`` to ``top-5``)
    outside 0-100, or an accuracy or precision kept as a fraction (``top1``, ``P@10``,
    ``AP``, ...) outside 0-1, infinite ones included; each as
    ``"cifar10-paper.topk.top1 = 75.02"``. The runner writes what the chapter saved, so one
    of these is a hand edit or a chapter saving another unit (75.02 for 0.7502
    once showed as 7,502%)."""
    found = []
    items = (results.items() if isinstance(results, dict) else
             enumerate(results) if isinstance(results, list) else ())
    for key, value in items:
        at = f"{where}.{key}" if where else str(key)
        if isinstance(value, (dict, list)):
            found += implausible_figures(value, at)
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
            continue
        name = str(key) if isinstance(key, str) else ""
        top = 100 if _PERCENT.match(name) else 1 if _FRACTION.match(name) else None
        # the paper's own numbers beside a result are percentages ("paper": {"top1": 76.36})
        if top == 1 and ".paper." in f".{at}.":
            top = 100
        if top is not None and not 0 <= value <= top:
            found.append(f"{at} = {value!r}")
    if not found:  # an out-of-range top-k is named once, as such
        found += _unordered_topk(results, where)
    return found


def _unordered_topk(results, where: str) -> list[str]:
    """Top-k accuracies of one dict (``top1``, ``top2``, ... or ``top-1``, ``top-2``, ...)
    that fall as k grows: top-2 counts every top-1 hit, so a top-1 above the top-2 is an
    edit (it was once shown)."""
    if not isinstance(results, dict):
        return []
    ranked = sorted((int(m.group(1)), key) for key in results if isinstance(key, str)
                    for m in [re.fullmatch(r"top-?(\d)", key)] if m)
    values = [(key, results[key]) for _, key in ranked
              if isinstance(results[key], (int, float)) and not isinstance(results[key], bool)
              and results[key] == results[key]]
    at = f"{where}." if where else ""
    return [f"{at}{a} = {va!r} above {at}{b} = {vb!r}"
            for (a, va), (b, vb) in zip(values, values[1:]) if va > vb]


def missing_figures(results: dict, needs) -> list[str]:
    """The dotted names in ``needs`` (``"topk.top2"``) that ``results`` lacks or holds as
    something other than a finite number."""
    if isinstance(needs, str):  # "topk.top1" alone was read letter by letter
        raise TypeError(f"needs is a list of dotted names, got the string {needs!r}")
    missing = []
    for dotted in needs:
        value = results
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        # NaN read as a number was once printed "nan%": a figure the caller
        # reads must be one
        if (not isinstance(value, (int, float)) or isinstance(value, bool)
                or not math.isfinite(value)):
            missing.append(dotted)
    return missing


def result(chapter: str, name: str, profile: str = "paper", root: Path | None = None,
           needs=(), brief: bool = False):
    """``(results, label)``: the results JSON ``name`` in a successful record, else
    ``(None, why)``. ``needs``: dotted names of the numbers the caller reads
    (``("k", "topk.top1")``); a record without one, or with a figure of merit out of its
    range (:func:`implausible_figures`), is named instead of shown. ``brief``: the label's
    short form (:func:`label`)."""
    # brief (the intro's column): what is wrong in a few words, the chapter says the rest
    # (the long messages once filled the intro's short column)
    remake = (f"see chapter {int(chapter[:2])}" if chapter[:2].isdigit() else
              f"see {chapter}")
    try:
        record = load(chapter, profile, root)
    except ValueError as err:
        if brief:
            return None, f"record unreadable ({remake})"
        # shown where the record would be (plain text: the intro pastes it as it is): a
        # damaged file must not stop the chapter (it failed every profile's run, the rerun
        # the message advised included); the cause is named (it was once dropped)
        return None, (f"the {profile}-profile record could not be read: "
                      f"{_relative(str(err), root)}")
    if record is None or record["status"] != "ok":
        return None, label(record, root, brief)
    found = record["results"].get(f"{name}-{profile}")
    where = f"records/{profile}/{chapter}.json"
    if found is not None and (not isinstance(found, dict) or not found):
        # a list once crashed the chapter; {} read "the record holds <name> only"
        if brief:
            return None, f"record holds no figures for {name} ({remake})"
        return None, (f"the {profile}-profile record {where} holds "
                      f"{'empty' if found == {} else 'malformed'} {name} results: edited "
                      "by hand or cut short; make it again or delete it")
    if found:
        wrong = implausible_figures(found, f"{name}-{profile}")
        if wrong and brief:
            return None, f"record holds figures out of range ({remake})"
        if wrong:
            return None, (f"the {profile}-profile record {where} holds figures out of "
                          f"their range ({', '.join(wrong[:3])}): edited by hand, or "
                          "saved by the chapter in another unit; make it again or "
                          "delete it")
        # the results' own profile: a smoke run's results filed under the paper name
        # were once shown as the paper record
        inner = found.get("profile", profile)
        if inner != profile and brief:
            return None, f"record of the {inner!r} profile, not made by the runner"
        if inner != profile:
            return None, (f"the {profile}-profile record {where} holds {name} results of "
                          f"the {inner!r} profile: made by hand, not by the runner; make "
                          "it again or delete it")
        lacking = missing_figures(found, needs)
        if lacking and brief:
            return None, "record made by an older chapter, to make again"
        if lacking:
            return None, (f"the {profile}-profile record {where} lacks "
                          f"{', '.join(lacking)} for {name} (or holds no finite number "
                          "there): made by an older version of the chapter; make it "
                          "again")
        return found, label(record, root, brief) + later_failure(chapter, profile, root,
                                                                  brief)
    if brief:
        return None, "none yet"
    return None, (f"no {profile}-profile record of {name}: the record holds "
                  f"{_listed_results(record, profile)} only (the record runner runs a "
                  "chapter's parameters as written)")


def _relative(message: str, root: Path | None) -> str:
    """``message`` with the book's folder left out of the paths it names (a reader's path
    is not the machine's that built the book)."""
    return message.replace(f"{records_dir('x', root).parent.parent}/", "")


def _listed_results(record: dict, profile: str) -> str:
    names = [n.removesuffix(f"-{profile}") for n in record["results"]]
    return ", ".join(names) if names else "no results"


def short_commit(commit: str) -> str:
    """A commit as labels show it: 10 hex digits, and ``+changes`` when the record's tree
    differed from that commit (a plain slice once dropped it)."""
    sha, plus, rest = commit.partition("+")
    return sha[:10] + plus + rest


def label(record: dict | None, root: Path | None = None, brief: bool = False) -> str:
    """One line saying where a record comes from, for the text beside its numbers: the
    device, date and commit, and how that commit stands to this build's (:func:`age`).
    ``brief`` (the intro's tables): the device, date and commit, and "older code" where
    the commit is not this build's; the chapter gives the rest (the intro's
    first cell was once a paragraph)."""
    if record is None:  # the intro's column is headed "the record" (four
        # lines a row were once spent on the long form)
        return "none yet" if brief else "no paper-profile record yet"
    state = "" if record["status"] == "ok" else f", {record['status']}"
    if record["status"] != "ok" and "exit_code" in record and record["exit_code"] is None:
        # a run its limit stopped did not fail (a lent GPU's time ran out)
        state = (", stopped unfinished" if brief else
                 f", {record.get('stopped', 'stopped')} after "
                 f"{record['wall_seconds']:.0f} s, unfinished")
    since = age(record["commit"], record["chapter"], root)
    if brief:
        older = ("; older code than this build's (its chapter says how much)"
                 if since and not since.startswith("at this build's commit") else "")
        return (f"{record['profile']} profile, {record['device']}, {record['date']}, "
                f"commit {short_commit(record['commit'])}{state}{older}")
    return (f"{record['profile']} profile, recorded on {record['device']}, {record['date']}, "
            f"commit {short_commit(record['commit'])}, chapter run "
            f"{record['wall_seconds'] / 60:.1f} min{state}{f' — {since}' if since else ''}")


def _git(root: Path, *args: str) -> str | None:
    """``git args`` run in ``root`` (paths in them are relative to it), its output; None
    when it fails."""
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _history(root: Path) -> str | None:
    """HEAD's sha where ``root`` is a git checkout whose history can date a commit: not a
    shallow clone (its oldest commit "adds" every file), with the book's files tracked (a
    copy of the book without .git inside a folder under git is not judged by that
    folder's history; a book in a subfolder of its repository is)."""
    head = _git(root, "rev-parse", "HEAD")
    if head is None or _git(root, "rev-parse", "--is-shallow-repository") != "false":
        return None
    return head if _git(root, "ls-files", "--error-unmatch", "_toc.yml") is not None else None


_AGES: dict = {}


def age(commit: str, chapter: str, root: Path | None = None) -> str:
    """How a record's ``commit`` stands to this build's, in words: "at this build's commit
    X", or how many commits before X, with the lines changed since in ``rdsc/`` and the
    chapter's source (a record 350 commits old once read as current). X is named, so
    a page kept by the build cache stays true of the commit it names. Empty where this copy
    of the book has no full git history (a copy without .git, a shallow clone)."""
    root = Path(root or book_root() or Path.cwd())
    head = _history(root)
    if head is None:
        return ""
    # this build's own uncommitted edits to rdsc (a record at HEAD once read "at this
    # build's commit" beside a run of edited code). Not the chapter's: make book keeps a page
    # until the chapter's code changes, so after a commit it would still say "uncommitted";
    # rdsc's state is one of rdsc.build_inputs'. Tracked files only, as in
    # paths.book_commit's "+changes".
    dirty = _git(root, "status", "--porcelain", "--untracked-files=no", "--", "rdsc")
    key = (str(root), head, commit, chapter, dirty)
    if key in _AGES:
        return _AGES[key]
    sha, _, changes = commit.partition("+")
    uncommitted = " (from uncommitted changes to it)" if changes else ""
    if sha == "unknown" or _git(root, "cat-file", "-e", f"{sha}^{{commit}}") is None:
        words = "at a commit this checkout's history does not hold"
    elif _git(root, "merge-base", "--is-ancestor", sha, "HEAD") is None:
        words = f"at a commit not among the ancestors of this build's commit {head[:10]}"
    else:
        n = int(_git(root, "rev-list", "--count", f"{sha}..HEAD") or 0)
        # relative to root (the git calls run there), which need not be the repository's top
        stat = _git(root, "diff", "--shortstat", sha, "HEAD", "--", "rdsc",
                    f"chapters/{chapter}.md") or ""
        plus = re.search(r"(\d+) insertion", stat)
        minus = re.search(r"(\d+) deletion", stat)
        changed = (f"with rdsc/ and the chapter changed since by "
                   f"+{int(plus[1]) if plus else 0:,}/-{int(minus[1]) if minus else 0:,} lines"
                   if stat else "with rdsc/ and the chapter unchanged since")
        words = (f"at this build's commit{uncommitted}" if n == 0 else
                 f"{n} commit{'s' if n != 1 else ''} before this build's {head[:10]}, "
                 f"{changed}")
    if dirty:
        words += "; this build has uncommitted changes to rdsc/"
    _AGES[key] = words
    return words


def later_failure(chapter: str, profile: str = "paper", root: Path | None = None,
                  brief: bool = False) -> str:
    """A clause naming a failed rerun kept beside the chapter's ok record (``<chapter>.failed
    .json``, :func:`run`), or empty: the book shows the ok record, and says so. ``brief``
    (the intro's column): what happened, in a few words."""
    path = records_dir(profile, root) / f"{chapter}.failed.json"
    try:
        failed = strict_json.read(path)
        # a run killed at its limit did not fail: it ran out of time (exit code None)
        stopped = failed.get("exit_code", 1) is None
        if brief:
            return "; a later run " + ("stopped unfinished" if stopped else "failed")
        why = failed.get("stopped", "stopped")
        what = ("failed" if not stopped else   # "timed out", "stopped at the run's deadline"
                f"{'' if why == 'timed out' else 'was '}{why} after "
                f"{failed['wall_seconds']:.0f} s, before it finished")
        return (f"; a later run at commit {short_commit(failed['commit'])} on "
                f"{failed['date']} {what} (records/{profile}/{path.name})")
    except FileNotFoundError:
        return ""
    except Exception:   # damaged: name it all the same
        return ("; a later run failed" if brief else
                f"; a later run failed (records/{profile}/{path.name}, unreadable)")


#: the fused engine's check on the last lent GPU: records/run_on_gpu.sh writes the log to
#: $OUT, and it is committed here from what the device call returned
GPU_CHECK = Path("records") / "gpu-checks" / "fused_speed.log"


def gpu_check(root: Path | None = None) -> dict | None:
    """The committed GPU check of the fused engine: the last JSON line of :data:`GPU_CHECK`
    (written by ``benchmarks/fused_speed.py``), or None when there is none."""
    path = (root or book_root() or Path.cwd()) / GPU_CHECK
    if not path.is_file():
        return None
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.startswith("{")]
    if not lines:
        return None
    try:
        found = json.loads(lines[-1])
    except ValueError:   # a cut-off line once stopped chapter 2
        return {"unreadable": f"its last line is not JSON: {lines[-1][:60]!r}"}
    return found if isinstance(found, dict) else {"unreadable": "its last line is not a table"}


def gpu_check_sentence(check: dict | None, root: Path | None = None) -> str:
    """What the committed GPU check found of the fused engine's features against the CPU
    engine's; empty when there is no check; a sentence naming the log when it cannot be
    read, or was not made on a GPU."""
    if check is None:
        return ""
    where = f"The committed GPU check `{GPU_CHECK.as_posix()}`"
    if "unreadable" in check:
        return f"{where} could not be read ({check['unreadable']}): run it again on a GPU."
    try:
        images, k = int(check["check_images"]), int(check["k"])
        share, outside = float(check["differ_vs_cpu"]), int(check["differ_vs_cpu_outside_ties"])
        device = str(check["device"])
    except (KeyError, TypeError, ValueError) as err:
        return f"{where} lacks a figure it should hold ({err!r}): run it again on a GPU."
    if "NVIDIA" not in device and "GPU" not in device and "cuda" not in device.lower():
        # a log made with the Triton interpreter on a CPU once read as a GPU's
        return f"{where} was made on {device}, not on a GPU: it checks no GPU."
    if share != share:
        return f"{where} holds no share of differing features (NaN): run it again on a GPU."
    return (f"{where} (on the {device}, {images} CIFAR-10 images, k = {k:,}) found the "
            f"fused GPU engine's features differing from the CPU engine's in {share:.2e} of "
            f"the features, and in {outside} outside near-ties{gpu_check_age(root, check)}.")


def gpu_check_age(root: Path | None = None, check: dict | None = None) -> str:
    """When the GPU check was made and whether the fused kernels changed since (the
    sentence once read as a fact about today's kernels), as a clause: from the commit the
    check names (``benchmarks/fused_speed.py`` writes it), else from the commit that
    added its log; empty without a full git history, or for a log not yet committed."""
    root = Path(root or book_root() or Path.cwd())
    if _history(root) is None:
        return ""
    if _git(root, "status", "--porcelain", "--", GPU_CHECK.as_posix()):  # new or edited
        return " (a check in this working tree, not yet committed)"
    made = (check or {}).get("commit", "")
    sha = made.partition("+")[0]
    if sha and _git(root, "cat-file", "-e", f"{sha}^{{commit}}") is not None:
        date = _git(root, "log", "-1", "--format=%cs", sha)
        what = f"made at commit {short_commit(made)}, of {date}"
    else:   # an older log, without its commit: the commit that added it
        logged = _git(root, "log", "-1", "--format=%h %cs", "--", GPU_CHECK.as_posix())
        if not logged:
            return ""
        sha, date = logged.split()
        what = f"committed on {date} at {sha}"
    later = (_git(root, "rev-list", "--reverse", f"{sha}..HEAD", "--", "rdsc/fused.py")
             or "").split()
    # a commit that edits only comments or docstrings once read "not yet checked on a GPU"
    code, changed = _code_of(root, sha, "rdsc/fused.py"), 0
    for later_sha in later:
        now = _code_of(root, later_sha, "rdsc/fused.py")
        changed, code = changed + (now != code), now
    if not later:
        return f" ({what}; rdsc/fused.py has not changed since)"
    if not changed:
        return (f" ({what}; rdsc/fused.py's code has not changed since: "
                f"{_commits(len(later))} edited only its comments or docstrings)")
    return (f" ({what}; rdsc/fused.py's code has changed in {_commits(changed)} since, "
            "not yet checked on a GPU)")


def _commits(n: int) -> str:
    return f"{n} commit{'s' if n != 1 else ''}"


def _code_of(root: Path, sha: str, path: str) -> str | None:
    """The code of ``path`` at commit ``sha``, comments, docstrings and layout left out (an
    AST dump); the text itself where it does not parse, None where the commit lacks it."""
    import ast
    text = _git(root, "show", f"{sha}:{path}")
    if text is None:
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


# --- carrying an image folder to a machine that has none of the data ------------------------
# A tar of CIFAR-10's 60,000 small JPEGs is 92 MB, mostly per-file padding; the same bytes
# packed end to end are 57 MB, within what the lent GPU machine accepts.

def pack(folder: Path, out: Path) -> Path:
    """All files under ``folder`` (relative names and bytes) in one ``.npz`` (the suffix is
    added when ``out`` lacks it); returns the file written."""
    import numpy as np
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder: give a dataset folder, e.g. data/cifar10")
    # the resolved name: `pack .` stored "train/...", which unpacked into the data root
    # itself rather than into a dataset folder
    folder = folder.resolve()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise ValueError(f"{folder} holds no files: nothing to pack")
    out = Path(out)
    out = out if out.suffix == ".npz" else out.with_name(out.name + ".npz")  # numpy's rule
    if out.is_dir():   # once failed as "[Errno 21] Is a directory"
        raise ValueError(f"{out} is a folder: give the pack a file name, e.g. "
                         f"{out / (folder.name + '.npz')}")
    bad = [p for p in files if "\n" in p.name]
    if bad:   # names are stored one a line; unpack then called the pack damaged, far away
        raise ValueError(f"{bad[0]!r} has a line break in its name: rename it, then pack")
    files = [p for p in files if p.resolve() != out.resolve()]   # a pack inside its folder
    blobs = [p.read_bytes() for p in files]
    names = "\n".join(p.relative_to(folder.parent).as_posix() for p in files).encode()
    np.savez(out, names=np.frombuffer(names, dtype=np.uint8),
             sizes=np.array([len(b) for b in blobs], dtype=np.int64),
             data=np.frombuffer(b"".join(blobs), dtype=np.uint8))
    return out


def unpack(packed: Path, root: Path) -> int:
    """Write the files of a :func:`pack` file under ``root``; returns how many.

    Checks the pack first (readable, sizes adding up to its data, every name inside
    ``root``), and refuses a dataset folder that ``root`` already holds (merging kept the
    old folder's files beside the new and wrote through its links). The files
    are written into a temporary folder under ``root`` and renamed into place at the end,
    so a damaged pack or a failed write leaves nothing half-written."""
    import shutil

    import numpy as np
    packed, root = Path(packed), Path(root)
    if not packed.is_file():
        raise ValueError(f"{packed} does not exist: make it with `python -m rdsc.record pack "
                         "<dataset folder> <file>` (or `make gpu-bundle`)")
    try:
        with np.load(packed) as z:
            names, sizes, data = z["names"].tobytes().decode(), z["sizes"], z["data"]
    except (OSError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile):
        raise ValueError(f"{packed} is not a pack made by `python -m rdsc.record pack` (not "
                         "a .npz holding names, sizes and data): pack the folder again"
                         ) from None
    names = names.split("\n") if names else []
    if len(names) != len(sizes) or int(sizes.sum()) != len(data) or (sizes < 0).any():
        raise ValueError(f"{packed} is damaged: {len(names)} names, {len(sizes)} sizes adding "
                         f"up to {int(sizes.sum()):,} bytes, {len(data):,} bytes of data; "
                         "pack the folder again (an interrupted copy?)")
    for name in names:
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts or len(parts) < 2:
            raise ValueError(f"{packed} holds the name {name!r}, outside the folder it unpacks "
                             "into: not a pack made by this book")
    tops = sorted({Path(name).parts[0] for name in names})
    there = [top for top in tops if (root / top).exists() or (root / top).is_symlink()]
    if there:
        raise ValueError(f"{root} already holds {', '.join(there)}: move it aside or delete "
                         f"it to unpack {packed.name} there (nothing was written)")
    if root.exists() and not root.is_dir():   # once failed as "[Errno 17] File exists"
        raise ValueError(f"{root} is a file, not a data root: give a folder to unpack into")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=root))
    try:
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        for name, lo, hi in zip(names, offsets[:-1], offsets[1:]):
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data[lo:hi].tobytes())
        for top in tops:
            (staging / top).rename(root / top)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(names)


#: what :func:`run` prints of a chapter it ran to an end (ok, failed, stopped at its
#: limit): the chapters whose records a device call made (records.log)
_RAN = re.compile(r"^(\d\d_[A-Za-z0-9_]+): (ok in|failed after|stopped at the run's "
                  r"deadline after|timed out after) (.*)$", re.M)
#: the logs of a GPU call's checks (records/run_on_gpu.sh writes them to $OUT)
GPU_CHECK_LOGS = ("fused_tests.log", "cuda_tests.log", "fused_speed.log", "float32_check.log")


def _appended(local: str, device: str) -> str:
    """``local`` with what ``device`` added after the log both started from: the device's
    log is the carried log plus its own chapters, so two calls that carried the same log
    each add their part (the second call's log once replaced the first's)."""
    a, b = local.splitlines(keepends=True), device.splitlines(keepends=True)
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    return local + "".join(b[common:])


def take_back(folder: Path, profile: str = "paper", root: Path | None = None) -> list[str]:
    """Put what a device call brought back (``folder``: the tool's ``files_at``, the call's
    ``$OUT``) where the book reads it, and say what was done, a line per file.

    Only the records of chapters the call ran (named in its ``records.log``) are taken: the
    call also carried, and copied back, the records it did not touch, and those must not
    replace newer ones taken from another call. An ok record taken removes a
    ``<chapter>.failed.json`` the call did not make. The profile's log gets what the call
    added to it; a ``<chapter>.running.log`` of a chapter the call did not finish goes into
    the log, marked. The GPU checks' logs are taken only from a GPU call (``device.txt``),
    and the benchmark's only when it finished (its JSON line): a CPU dry run's or a stopped
    benchmark's log must not replace the committed evidence."""
    import shutil
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such folder (give the files_at folder of the call)")
    if profile not in ("smoke", "quick", "paper"):
        raise ValueError(f"profile must be smoke, quick or paper, got {profile!r}")
    said, src, dest = [], folder / "records" / profile, records_dir(profile, root)
    ran_log = folder / "records.log"
    # per chapter the call ran: which of its files it made (an ok record; a failed one
    # beside a kept ok record; or a failed record alone)
    ran, ok = None, None
    if ran_log.is_file():
        ran, ok = {}, set()
        for chapter, outcome, rest in _RAN.findall(ran_log.read_text(errors="replace")):
            if outcome == "ok in":
                ok.add(chapter)
            ran[chapter] = (f"{chapter}.json" if outcome == "ok in" or "is kept" not in rest
                            else f"{chapter}.failed.json")
    if not src.is_dir():
        said.append(f"{folder} holds no records/{profile}: the call ended before its chapters "
                    f"(see {folder}/*.log)")
    else:
        dest.mkdir(parents=True, exist_ok=True)
        if ran is None:
            said.append(f"{folder} has no records.log: taking the records that differ from "
                        "this checkout's (check their dates before committing)")
        for record in sorted(src.glob("*.json")):
            chapter = record.name.removesuffix(".json").removesuffix(".failed")
            target = dest / record.name
            if ran is not None and ran.get(chapter) != record.name:
                continue   # carried, not made by this call
            if ran is None and target.is_file() and target.read_bytes() == record.read_bytes():
                continue
            shutil.copyfile(record, target)
            said.append(f"took {record}")
            stale = dest / f"{chapter}.failed.json"
            made_ok = (chapter in (ok or ()) if ran is not None else
                       not (src / stale.name).is_file())
            if not record.name.endswith(".failed.json") and stale.is_file() and made_ok:
                stale.unlink()   # an older failure beside a newer ok record
                said.append(f"removed {stale.relative_to(dest.parent.parent)}: this call's "
                            f"ok record of {chapter} follows it")
        device_log, local_log = src / f"{profile}.log", dest / f"{profile}.log"
        if device_log.is_file():
            before = local_log.read_text(errors="replace") if local_log.is_file() else ""
            after = _appended(before, device_log.read_text(errors="replace"))
            if after != before:
                local_log.write_text(after)
                said.append(f"added {len(after.splitlines()) - len(before.splitlines())} "
                            f"lines to records/{profile}/{profile}.log")
        for running in sorted(src.glob("*.running.log")):
            chapter = running.name.removesuffix(".running.log")
            if ran is not None and chapter in ran:
                continue   # it finished; its output is in the log
            with open(local_log, "a") as log:
                log.write(f"\n===== {chapter}: stopped with the machine (its output so far)\n")
                log.write(running.read_text(errors="replace"))
            said.append(f"{chapter} was stopped mid-run: its output is in "
                        f"records/{profile}/{profile}.log")
    checks = (root or book_root() or Path.cwd()) / "records" / "gpu-checks"
    came = [name for name in GPU_CHECK_LOGS if (folder / name).is_file()]
    if came and not (folder / "device.txt").is_file():
        said.append("no device.txt: not a GPU call, so the committed GPU checks are kept")
        came = []
    for name in came:
        text = (folder / name).read_text(errors="replace")
        if name == "fused_speed.log" and not any(line.startswith("{")
                                                 for line in text.splitlines()):
            said.append("fused_speed.log has no result line (the benchmark did not finish): "
                        "the committed one is kept")
            continue
        checks.mkdir(parents=True, exist_ok=True)
        (checks / name).write_text(text)
        said.append(f"took {name}")
    return said


def _positive(kind):
    """An argparse type: a number of ``kind`` above 0 (a timeout of 0 wrote a failed record
    over the chapter's earlier one)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0 or value != value or value == float("inf"):
            what = "a whole number" if kind is int else "a number"   # "1e9" is above 0
            raise argparse.ArgumentTypeError(f"need {what} of seconds above 0, got {text!r}")
        return value
    return parse


def main(argv=None) -> int:
    """Command line: ``run`` chapters and write their records, or ``pack``/``unpack`` a folder."""
    parser = argparse.ArgumentParser(prog="python -m rdsc.record", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run chapters as scripts and write their records")
    r.add_argument("--profile", default="paper", choices=["smoke", "quick", "paper"])
    r.add_argument("--chapters", nargs="*", help="chapter name prefixes, e.g. 03 05 (default: all)")
    r.add_argument("--timeout", type=_positive(int), default=3600, help="seconds per chapter")
    r.add_argument("--deadline", type=_positive(float),
                   help="seconds for the whole run: a chapter starts only with 60 s or more "
                        "left, and is stopped at the deadline")
    p = sub.add_parser("pack", help="pack an image folder into one file, to carry it")
    p.add_argument("folder", type=Path)
    p.add_argument("out", type=Path)
    u = sub.add_parser("unpack", help="unpack a packed folder under a data root")
    u.add_argument("packed", type=Path)
    u.add_argument("root", type=Path)
    t = sub.add_parser("take-back", help="put a device call's records and logs in records/")
    t.add_argument("folder", type=Path, help="the call's files (the device tool's files_at)")
    t.add_argument("--profile", default="paper", choices=["smoke", "quick", "paper"])
    args = parser.parse_args(argv)

    def stop(signum, frame):  # `timeout` or kill: stop the running chapter too (run_chapter)
        raise SystemExit(128 + signum)
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        if args.command == "pack":
            print(pack(args.folder, args.out))
            return 0
        if args.command == "unpack":
            print(f"{unpack(args.packed, args.root)} files")
            return 0
        if args.command == "take-back":
            print("\n".join(take_back(args.folder, args.profile)))
            return 0
        records = run(args.profile, args.chapters, args.timeout, deadline=args.deadline)
    except (ValueError, OSError) as err:  # one line that says what to do (an unwritable
        # records folder gave a traceback)
        parser.error(str(err))
    finally:
        signal.signal(signal.SIGTERM, previous)
    return exit_status(records)


#: :func:`main`'s exit status when no chapter failed but the deadline left some unrun
NOT_ALL_RUN = 3


def exit_status(records: list[dict]) -> int:
    """0: every chapter ran and succeeded; 1: one failed (or was stopped);
    :data:`NOT_ALL_RUN`: none failed, but the deadline left some unrun (the expected end of
    a lent GPU's one call; a script can tell it from a failure)."""
    statuses = {r["status"] for r in records}
    if statuses - {"ok", "not run"}:
        return 1
    return NOT_ALL_RUN if "not run" in statuses else 0


if __name__ == "__main__":
    sys.exit(main())
