"""Sphinx extension: every page loads each script once.

sphinx-thebe (which Jupyter Book 1.x always loads) adds its configuration script twice, so
every page logged ``Uncaught SyntaxError: Identifier 'THEBE_JS_URL' has already been
declared``. The book runs no code in the browser; this keeps the first of identical
``<script>`` entries (same file, or same inline body) on each page.
"""


def _key(script):
    # Sphinx 7: _JavaScript objects (filename, attributes); older: plain strings
    # an inline script's filename is None from one extension and "" from another
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return filename, attributes.get("body", "")


def _drop_repeats(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    # after the theme and sphinx-thebe have added theirs
    app.connect("html-page-context", _drop_repeats, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
