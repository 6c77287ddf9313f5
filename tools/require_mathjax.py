"""Sphinx extension: stop a build that has no local MathJax.

Without ``_vendor/mathjax/`` (fetched by ``make book`` through ``tools/fetch_mathjax.py``)
the build succeeds and every page shows raw ``\\(k\\)``; the book loads nothing from a CDN,
so refuse at the start instead.
"""
from pathlib import Path

from sphinx.errors import ConfigError


def _check(app):
    script = Path(app.srcdir) / "_vendor" / "mathjax" / "tex-mml-chtml.js"
    if not script.is_file():
        raise ConfigError(f"{script} is missing: every equation would show as raw TeX. Run "
                          "`python tools/fetch_mathjax.py` (or `make book`, which runs it)")


def setup(app):
    app.connect("builder-inited", _check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
