"""The package's three maps (rdsc/__init__.py, the README's Layout, the introduction) name
every module and subpackage, and none that is gone."""
import re
from pathlib import Path

import pytest

import rdsc

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted([p.stem for p in (ROOT / "rdsc").glob("*.py") if p.stem != "__init__"]
                 + [p.parent.name for p in (ROOT / "rdsc").glob("*/__init__.py")])


def named(text: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, text))


@pytest.mark.parametrize("where, pattern", [
    ("rdsc/__init__.py", r"rdsc\.(\w+)`"),          # :mod:`rdsc.name`
    ("README.md", r"`rdsc/(\w+)(?:\.py|/)`"),         # `rdsc/name.py` or `rdsc/name/`
    ("intro.md", r"`rdsc\.(\w+)`"),                 # `rdsc.name` in the package table
])
def test_every_module_is_on_each_map(where, pattern):
    text = rdsc.__doc__ if where.endswith("__init__.py") else (ROOT / where).read_text()
    if where == "README.md":  # the Layout section alone, up to the next heading
        text = text[text.index("## Layout"):]
        text = text.split("\n## ", 1)[0]
    if where == "intro.md":
        text = text[text.index("## The package behind the chapters"):]
    found = named(text, pattern)
    if where.endswith("__init__.py"):
        found |= {"__main__"} if "__main__" in text else set()
    missing = sorted(set(MODULES) - found)
    unknown = sorted(found - set(MODULES) - {"__init__"})
    if where == "intro.md":  # the reader's map leaves out `python -m rdsc`'s entry file
        missing = [m for m in missing if m != "__main__"]
    assert not missing, f"{where} does not name {missing}"
    assert not unknown, f"{where} names modules that do not exist: {unknown}"


def test_chapter_code_lines_fit_the_pages_code_width():
    # the rendered page shows about 85 characters of code before a scroll bar
    cell = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)
    long = [f"{path.name}: {line.strip()[:60]}"
            for path in sorted((ROOT / "chapters").glob("*.md"))
            for code in cell.findall(path.read_text())
            for line in code.splitlines() if len(line) > 85]
    assert not long, "code lines over 85 characters:\n" + "\n".join(long)
