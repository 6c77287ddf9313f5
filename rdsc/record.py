"""Reproduction records: every chapter run at one profile on one machine, kept in the repository.

    python -m rdsc.record run [--profile paper] [--chapters 03 05 ...] [--timeout S]
                              [--deadline S]

runs each chapter of ``_toc.yml`` as a plain Python script (no Jupyter needed: the code
cells are read from the MyST source), one after another, with ``RDSC_PROFILE`` set,
and writes ``records/<profile>/<chapter>.json``: the chapter's results JSON files, the
status (``ok`` or ``failed``, with the end of the log), the device, the commit, the
date and the wall time. The full log goes to ``records/<profile>/<profile>.log``.
A failed chapter gets a record saying so; nothing in a record is typed by hand.

Chapters show a record beside their own run with :func:`load` and :func:`label`.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rdsc.paths import book_root, write_atomically

#: A MyST code cell: ```{code-cell} ipython3, optional ':key: value' lines, the code, ```.
_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
#: What a notebook provides that a script lacks.
_PREAMBLE = '''\
import matplotlib
matplotlib.use("Agg")
try:
    from IPython.display import display
except ImportError:  # a machine without Jupyter
    def display(*objects):
        print(*objects)
'''


def records_dir(profile: str, root: Path | None = None) -> Path:
    """``records/<profile>`` under ``root`` (default: the book's root, else the cwd)."""
    return (root or book_root() or Path.cwd()) / "records" / profile


def chapter_script(source: Path) -> str:
    """The code cells of a MyST notebook as one script (cell options dropped)."""
    cells = []
    for body in _CELL.findall(Path(source).read_text()):
        lines = [ln for ln in body.splitlines() if not re.match(r"^:[\w-]+:", ln)]
        cells.append("\n".join(lines))
    if not cells:
        raise ValueError(f"{source} has no code cells")
    return _PREAMBLE + "\n\n".join(f"# --- cell {i + 1}\n{c}" for i, c in enumerate(cells)) + "\n"


def device_name() -> str:
    """The first GPU's name, else the CPU's and its number of cores."""
    import platform
    import torch
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def run_chapter(source: Path, profile: str, log, timeout: int, commit: str) -> dict:
    """Run one chapter as a script; its record (not yet written)."""
    source = Path(source).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / f"{source.stem}.py"
        script.write_text(chapter_script(source))
        results = Path(tmp) / "results"
        env = {**os.environ, "RDSC_PROFILE": profile, "RDSC_RESULTS": str(results),
               "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
        log.write(f"\n===== {source.stem} ({profile}) {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
        log.flush()
        start = time.perf_counter()
        output = Path(tmp) / "output.txt"
        with open(output, "w") as out:
            proc = subprocess.Popen([sys.executable, str(script)], cwd=source.parent, env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
            try:
                code = proc.wait(timeout=timeout)
                status = "ok" if code == 0 else "failed"
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                status, code = "failed", None
        seconds = time.perf_counter() - start
        text = output.read_text(errors="replace")
        log.write(text)
        tail = text.splitlines()[-40:]
        if code is None:
            tail.append(f"stopped after {timeout} s")
        found = {p.stem: json.loads(p.read_text())
                 for p in sorted((results / source.stem).glob(f"*-{profile}.json"))}
    if status == "ok" and not found:
        status, tail = "failed", tail + ["the chapter wrote no results JSON"]
    return {"chapter": source.stem, "profile": profile, "status": status, "exit_code": code,
            "device": device_name(), "commit": commit, "date": time.strftime("%Y-%m-%d"),
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
    :data:`MIN_CHAPTER_SECONDS` left is not run and gets no record. A chapter stopped
    by the deadline (not by its own ``timeout``) does not replace a successful record
    made earlier: it gets a ``failed`` record only where there was none.
    """
    from rdsc.chapters import chapter_files
    root = root or book_root()
    sources = chapter_files(root)
    if chapters:
        sources = [s for c in chapters for s in sources if s.stem.startswith(c)]
        sources = list(dict.fromkeys(sources))   # the order asked for, each chapter once
        if not sources:
            raise ValueError(f"no chapter in _toc.yml matches {chapters}")
    commit = commit or os.environ.get("RDSC_COMMIT") or _git_commit(root)
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
            record = run_chapter(source, profile, log, limit, commit)
            records.append(record)
            earlier = load(source.stem, profile, root)
            if (record["exit_code"] is None and limit < timeout and earlier is not None
                    and earlier["status"] == "ok"):
                print(f"{source.stem}: stopped at the run's deadline after {limit} s; its "
                      f"record of commit {earlier['commit'][:10]} is kept", flush=True)
                continue
            text = json.dumps(record, indent=1, default=str)
            write_atomically(out / f"{source.stem}.json", lambda f: f.write(text.encode()))
            print(f"{source.stem}: {record['status']} in {record['wall_seconds']:.0f} s",
                  flush=True)
    return records


def _git_commit(root: Path) -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return sha + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load(chapter: str, profile: str = "paper", root: Path | None = None) -> dict | None:
    """The committed record of ``chapter`` at ``profile``, or None when there is none."""
    path = records_dir(profile, root) / f"{chapter}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def result(chapter: str, name: str, profile: str = "paper", root: Path | None = None):
    """``(results, label)``: the results JSON ``name`` in a successful record, else
    ``(None, why)``."""
    record = load(chapter, profile, root)
    if record is None or record["status"] != "ok":
        return None, label(record)
    found = record["results"].get(f"{name}-{profile}")
    return found, label(record) if found else f"the {profile}-profile record has no {name!r} run"


def label(record: dict | None) -> str:
    """One line saying where a record comes from, for the text beside its numbers."""
    if record is None:
        return "no paper-profile record yet"
    state = "" if record["status"] == "ok" else f", **{record['status']}**"
    return (f"{record['profile']} profile, recorded on {record['device']}, {record['date']}, "
            f"commit {record['commit'][:10]}, {record['wall_seconds'] / 60:.1f} min{state}")


# --- carrying an image folder to a machine that has none of the data ------------------------
# A tar of CIFAR-10's 60,000 small JPEGs is 92 MB, mostly per-file padding; the same bytes
# packed end to end are 57 MB, within what the lent GPU machine accepts.

def pack(folder: Path, out: Path) -> Path:
    """All files under ``folder`` (relative names and bytes) in one ``.npz``."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    blobs = [p.read_bytes() for p in files]
    import numpy as np
    names = "\n".join(str(p.relative_to(folder.parent)) for p in files).encode()
    np.savez(out, names=np.frombuffer(names, dtype=np.uint8),
             sizes=np.array([len(b) for b in blobs], dtype=np.int64),
             data=np.frombuffer(b"".join(blobs), dtype=np.uint8))
    return Path(out)


def unpack(packed: Path, root: Path) -> int:
    """Write the files of a :func:`pack` file under ``root``; returns how many."""
    import numpy as np
    with np.load(packed) as z:
        names, sizes, data = z["names"].tobytes().decode().split("\n"), z["sizes"], z["data"]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    for name, lo, hi in zip(names, offsets[:-1], offsets[1:]):
        path = Path(root) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data[lo:hi].tobytes())
    return len(names)


def main(argv=None) -> int:
    """Command line: ``run`` chapters and write their records, or ``pack``/``unpack`` a folder."""
    parser = argparse.ArgumentParser(prog="python -m rdsc.record", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run chapters as scripts and write their records")
    r.add_argument("--profile", default="paper", choices=["smoke", "quick", "paper"])
    r.add_argument("--chapters", nargs="*", help="chapter name prefixes, e.g. 03 05 (default: all)")
    r.add_argument("--timeout", type=int, default=3600, help="seconds per chapter")
    r.add_argument("--deadline", type=float,
                   help="seconds for the whole run; chapters that do not fit are not started")
    p = sub.add_parser("pack", help="pack an image folder into one file, to carry it")
    p.add_argument("folder", type=Path)
    p.add_argument("out", type=Path)
    u = sub.add_parser("unpack", help="unpack a packed folder under a data root")
    u.add_argument("packed", type=Path)
    u.add_argument("root", type=Path)
    args = parser.parse_args(argv)
    if args.command == "pack":
        print(pack(args.folder, args.out))
        return 0
    if args.command == "unpack":
        print(f"{unpack(args.packed, args.root)} files")
        return 0
    records = run(args.profile, args.chapters, args.timeout, deadline=args.deadline)
    return 0 if all(r["status"] == "ok" for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
