"""Fetch a pinned MathJax 3 from the npm registry, so the built book typesets math offline.

The book's HTML loads MathJax from ``_static/mathjax/`` (``mathjax_path`` in _config.yml);
Sphinx copies it there from the git-ignored folder ``_vendor/mathjax/`` that this script
fills. The npm tarball is checked against a pinned sha256 before anything is unpacked.

    python tools/fetch_mathjax.py            # download (only when missing or a different version)
    python tools/fetch_mathjax.py --force    # download and unpack again
    RDSC_MATHJAX_TARBALL=/path/mathjax-3.2.2.tgz python tools/fetch_mathjax.py   # no network

Only the standard library is used, so this runs before the venv exists.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

VERSION = "3.2.2"
URL = f"https://registry.npmjs.org/mathjax/-/mathjax-{VERSION}.tgz"
SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "_vendor" / "mathjax"
STAMP = DEST / ".version"

# What the page loads (the combined TeX + MathML input, CommonHTML output component) and
# what that component can load later from its own folder: TeX extensions (autoload, e.g.
# \cancel, \color, \boldsymbol), the CHTML woff fonts, the menu's accessibility/explorer
# parts and the speech rule engine. Everything else in the package (SVG output, other
# combined components, node entry points) the book never asks for.
KEEP = (
    "LICENSE",
    "es5/tex-mml-chtml.js",
    "es5/input/",
    "es5/output/chtml/",
    "es5/a11y/",
    "es5/ui/",
    "es5/sre/",
)


def _download() -> bytes:
    local = os.environ.get("RDSC_MATHJAX_TARBALL")
    if local:
        return Path(local).read_bytes()
    with urllib.request.urlopen(URL, timeout=120) as response:
        return response.read()


def _wanted(name: str) -> str | None:
    """The path inside DEST for a tarball member, or None if it is not kept."""
    if not name.startswith("package/"):
        return None
    rel = name[len("package/"):]
    for keep in KEEP:
        if rel == keep or (keep.endswith("/") and rel.startswith(keep)):
            return rel[len("es5/"):] if rel.startswith("es5/") else rel
    return None


def fetch(force: bool = False) -> Path:
    if not force and STAMP.is_file() and STAMP.read_text().strip() == VERSION \
            and (DEST / "tex-mml-chtml.js").is_file():
        return DEST
    data = _download()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"mathjax-{VERSION}.tgz: sha256 {digest}, expected {SHA256}")
    DEST.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".mathjax-", dir=DEST.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                rel = _wanted(member.name)
                if rel is None or not member.isfile():
                    continue
                target = (tmp / rel).resolve()
                if tmp.resolve() not in target.parents:
                    raise SystemExit(f"unsafe path in tarball: {member.name}")
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        if not (tmp / "tex-mml-chtml.js").is_file():
            raise SystemExit("tarball has no es5/tex-mml-chtml.js")
        (tmp / ".version").write_text(VERSION + "\n")
        tmp.chmod(0o755)  # mkdtemp makes it 0700; Sphinx would copy that mode into the html
        if DEST.exists():
            shutil.rmtree(DEST)
        tmp.rename(DEST)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return DEST


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="download and unpack again")
    args = parser.parse_args(argv)
    dest = fetch(force=args.force)
    print(f"MathJax {VERSION} in {dest.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
