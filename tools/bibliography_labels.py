"""Sphinx extension: the References page labels its entries as the text cites them.

The chapters cite author-year ("[Xue and Roshan, 2019]", ``bibtex_reference_style:
author_year``), but pybtex's bibliography styles label entries "[XR19]" or "[1]", so a
reader cannot match a citation to its entry by eye. This registers ``author_year``, pybtex's
``plain`` style (sorted by author, year, title) with labels "Xue and Roshan, 2019",
"Simonyan and Zisserman, 2015", "He et al., 2016"; the same author and year twice get a, b.
"""
import re
from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _last_name(person) -> str:
    return re.sub(r"[{}\\]", "", " ".join(person.prelast_names + person.last_names))


def author_year(entry) -> str:
    """``Xue and Roshan, 2019`` for a BibTeX entry (authors, else editors, else its key)."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_name(p) for p in people]
    who = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}" if len(names) == 2
           else f"{names[0]} et al." if names else entry.key)
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """Labels "Xue and Roshan, 2019", with a, b, ... where two entries share one."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(e) for e in entries]
        repeated, seen = Counter(labels), Counter()
        for label in labels:
            if repeated[label] > 1:
                seen[label] += 1
                label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            yield label


class AuthorYearStyle(PlainStyle):
    """pybtex's ``plain`` bibliography with :class:`AuthorYearLabels`."""

    default_label_style = "author_year"


def setup(app):
    register_plugin("pybtex.style.labels", "author_year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
