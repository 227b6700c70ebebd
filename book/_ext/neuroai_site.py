"""Sphinx tweaks of the course website (a Jupyter Book 1.x local extension).

sphinx-thebe 0.3.1 registers its inline configuration script on an event that a Jupyter
Book build fires twice, so every page declared ``const THEBE_JS_URL`` twice and the browser
logged a SyntaxError. Here each page's scripts are de-duplicated, keeping the first of
identical ones (same file, same inline body).

It also adds the course's style sheet, ``book/_static/neuroai.css`` (figures readable at
phone width: at their natural size, scrolled sideways, rather than shrunk).
"""

from __future__ import annotations


def _script_key(js) -> tuple:
    attributes = getattr(js, "attributes", {}) or {}
    # An inline script has no file (None or "", depending on how it was added).
    return (str(getattr(js, "filename", js) or ""), attributes.get("body"))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    files = context.get("script_files")
    if not files:
        return
    seen, kept = set(), []
    for js in files:
        key = _script_key(js)
        if key not in seen:
            seen.add(key)
            kept.append(js)
    files[:] = kept


def setup(app):
    # Early: html-page-context stops at the first handler that returns a template name.
    app.connect("html-page-context", dedupe_scripts, priority=100)
    app.add_css_file("neuroai.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
