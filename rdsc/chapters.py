"""Running the book's chapters from outside: convert to .ipynb, execute with papermill.

    python -m rdsc.chapters convert OUT_DIR  # every chapter in _toc.yml -> OUT_DIR/*.ipynb
    python -m rdsc.chapters run CHAPTER [-p name value ...] [--out OUT.ipynb]

A chapter is a MyST markdown notebook; papermill and nbval need ``.ipynb``, so it
is converted with jupytext (no outputs) and executed with the chapter folder as
the working directory, as Jupyter Book does.
"""
from __future__ import annotations

import argparse
import ast
import os
import re
import signal
import sys
from pathlib import Path

from rdsc.paths import book_root, checkout_env


def chapter_files(root: Path | None = None) -> list[Path]:
    """The chapter sources listed in ``_toc.yml`` (those under ``chapters/``), in book order:
    not ``intro`` nor back matter such as ``references``, which run no code."""
    root = root or book_root()
    if root is None:
        raise FileNotFoundError("no _toc.yml found above the working directory: run this "
                                "from the book's folder (the one holding _toc.yml) or below it")
    text = (root / "_toc.yml").read_text()
    try:
        import yaml
    except ImportError:  # a GPU machine without Jupyter's stack: the toc's file lines suffice
        return [root / f"{f}.md" for f in re.findall(r"^\s*-?\s*file:\s*(\S+)", text, re.M)
                if f.startswith("chapters/")]
    toc = yaml.safe_load(text)
    files = []

    def walk(entries):
        for entry in entries or []:
            if "file" in entry and entry["file"].startswith("chapters/"):
                files.append(root / f"{entry['file']}.md")
            walk(entry.get("chapters"))
            walk(entry.get("sections"))
            for part in entry.get("parts", []):
                walk(part.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return files


def convert(source: Path, out: Path) -> Path:
    """MyST markdown notebook -> ``.ipynb`` with a python3 kernel and no outputs."""
    import jupytext
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    out.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, out, fmt="ipynb")
    return out


def _beside(out: Path, tag: str) -> Path:
    """``OUT.<tag>.ipynb`` for ``OUT.ipynb`` (or for an ``out`` of another suffix, kept
    whole: ``ch.smoke`` and ``ch.paper`` must not share their companions)."""
    base = out.name[:-len(".ipynb")] if out.name.endswith(".ipynb") else out.name
    return out.with_name(f"{base}.{tag}.ipynb")


def run(source: Path, out: Path, parameters: dict | None = None, timeout: int = 3600) -> Path:
    """Execute a chapter with papermill (parameters injected after its ``parameters`` cell).

    The notebook is written under a temporary name and becomes ``out`` only when every cell
    ran: a run that fails or is interrupted leaves ``OUT.failed.ipynb`` (papermill marks the
    cells it never reached "completed") and an earlier finished ``out`` as it was.
    """
    import papermill

    from rdsc.book import UnknownParameter, parameter_names
    source, out = Path(source).resolve(), Path(out)
    known = parameter_names(source)
    unknown = [name for name in (parameters or {}) if known and name not in known]
    if unknown:  # before a kernel starts (the chapter refuses them too: rdsc.book.start)
        raise UnknownParameter(f"{source.stem} has no parameter {', '.join(map(repr, unknown))} "
                         f"(a misspelt name would be ignored); its parameters are "
                         f"{', '.join(known)}")
    failed, running = _beside(out, "failed"), _beside(out, "running")
    failed.unlink(missing_ok=True)  # an earlier run's: it would read as this run's
    notebook = convert(source, _beside(out, "source"))
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = checkout_env(source)["PYTHONPATH"]   # the kernel inherits it
    try:
        papermill.execute_notebook(str(notebook), str(running), parameters=parameters or {},
                                   cwd=str(source.parent), kernel_name="python3",
                                   execution_timeout=timeout, progress_bar=False)
    except BaseException:
        if running.exists():
            running.replace(failed)
            print(f"the run stopped before its end: what it ran is in {failed}"
                  + (f"; {out} is the earlier finished run" if out.exists() else ""),
                  file=sys.stderr)
        raise
    finally:
        notebook.unlink(missing_ok=True)
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    running.replace(out)
    return out


def main(argv=None):
    """Command line: ``convert`` the chapters to notebooks, or ``run`` one with papermill."""
    parser = argparse.ArgumentParser(prog="python -m rdsc.chapters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="convert every chapter in _toc.yml to .ipynb")
    c.add_argument("out_dir", type=Path)
    r = sub.add_parser("run", help="execute one chapter with papermill")
    r.add_argument("chapter", type=Path)
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="a parameter (VALUE read as a Python literal)")
    r.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "convert":
        for source in chapter_files():
            print(convert(source, args.out_dir / f"{source.stem}.ipynb"))
        return 0
    params = {}
    for name, value in args.parameter:
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value
    out = args.out or Path("_build/runs") / f"{args.chapter.stem}.ipynb"

    def stop(signum, frame):  # `timeout`, kill: end like Ctrl-C (OUT.failed.ipynb kept)
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    from rdsc.book import UnknownParameter
    try:
        print(run(args.chapter, out, params))
    except UnknownParameter as err:  # one line, before any kernel
        parser.error(str(err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
