"""Comments and docstrings say why in words a reader of the repository can follow.

The book's reviews and probes were done outside the repository, under codes such as
"review GC" or "probe PW 3"; a comment citing one points at nothing a newcomer can open.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# a review's code: the word, then one or two capitals and digits ("review O", "probe
# J16", "review GC"), also broken across a line ("probe\n    # PS 7"); "probe images" or
# "gradient probe" are words
CODE = re.compile(r"\b(?:review|probe|browser check|audit)s?[\s#]+[A-Z][A-Z0-9]?\d*\b",
                  re.IGNORECASE)


def reviewer_codes(text: str) -> list[str]:
    """The reviewer codes in ``text``, each with the words around it."""
    found = []
    for match in CODE.finditer(text):
        # case-insensitive for the word, but the code itself is in capitals
        code = re.search(r"[A-Za-z][A-Za-z0-9]?\d*$", match.group(0)).group(0)
        if code.isupper() or code[0].isupper() and code[1:].isdigit():
            start = max(0, match.start() - 30)
            found.append(" ".join(text[start:match.end() + 20].split()))
    return found


def test_reviewer_codes_are_recognised():
    assert reviewer_codes("# not 'x' (probe PW: one read 'y')") != []
    assert reviewer_codes("(review GC: ...)") != [] and reviewer_codes("Review DA:") != []
    assert reviewer_codes("(probe\n    # PS 7: cut)") != []
    assert reviewer_codes("the reviews EA, FA") != []
    assert reviewer_codes("# review O: no test") != [] and reviewer_codes("probe J16") != []
    assert reviewer_codes("16 probe images, a gradient probe of the target") == []
    assert reviewer_codes("review the code") == [] and reviewer_codes("a probe a") == []


def test_no_reviewer_codes_in_the_repository():
    files = [p for pattern in ("rdsc/**/*.py", "tests/*.py", "benchmarks/*.py", "tools/*.py",
                               "chapters/*.md", "records/*.sh", "*.md", "Makefile",
                               "_config.yml", ".ci/run")
             for p in ROOT.glob(pattern)]
    found = {str(p.relative_to(ROOT)): codes for p in files
             if p.name != "test_comments.py"
             and (codes := reviewer_codes(p.read_text(encoding="utf-8")))}
    assert not found, f"comments citing reviews the repository does not hold: {found}"
