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


def _readme_sections() -> dict[str, int]:
    """The README Layout's chapter of each module: 0 for the support every chapter uses and
    the book's tooling, 99 for "outside the book"."""
    text = (ROOT / "README.md").read_text()
    text = text[text.index("## Layout"):].split("\n## ", 1)[0]
    section, where = 0, {}
    for line in text.splitlines():
        heading = re.match(r"\| \*\*(\d+|[a-z])", line)
        if heading:
            label = heading.group(1)
            section = int(label) if label.isdigit() else 99 if "outside" in line else 0
        for name in re.findall(r"`rdsc/(\w+)(?:\.py|/)`", line):
            where.setdefault(name, section)
    return where


def test_each_module_is_mapped_no_later_than_the_first_chapter_that_imports_it():
    # rdsc.cnn was mapped under chapter 6 although chapter 4 needs it first
    where = _readme_sections()
    # chapter 1 draws the network's first layer before chapter 2 introduces the network
    where_introduced = {"network": 1}
    late = []
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md")):
        chapter, text = int(path.name[:2]), path.read_text()
        names = set(re.findall(r"^\s*from rdsc\.(\w+)", text, re.M))
        for group in re.findall(r"^\s*from rdsc import ([^\n]+)", text, re.M):
            names |= {part.split(" as ")[0].strip(" ()") for part in group.split(",")}
        late += [f"{name} (first imported by chapter {chapter}, mapped under "
                 f"{where[name]})" for name in sorted(names)
                 if name in where and where[name] > chapter
                 and where_introduced.get(name, 99) > chapter]
    assert not late, "README Layout places modules after their first chapter: " + "; ".join(
        sorted(set(late)))
