"""Hand-ins made safe to show in the instructor's browser (nbgrader's formgrader).

The formgrader renders each notebook of ``autograded/`` into a page of the instructor's
logged-in Jupyter server (nbconvert's ``formgrade`` template: markdown through
``markdown2html``, which passes raw HTML through; HTML, JavaScript, SVG and widget outputs
as they are). A ``<script>`` or an ``onerror=`` in a student's cell would run there, with
the power to open terminals and kernels. So the notebook written for hand grading is
rebuilt from the student's cells, keeping only what is inert:

- markdown: rendered to HTML here with nbconvert's own renderer (LaTeX is left as text for
  MathJax), then cleaned with nh3 (the Ammonia sanitiser): a short list of text tags, no
  scripts, no event handlers, no ``style``, ``id`` or ``data-*`` attributes, no classes but
  the syntax highlighter's, links only to ``http``, ``https``, ``mailto`` or ``#``, images
  only from the cell's own PNG or JPEG attachments (inlined as checked ``data:`` URLs). The
  result is one HTML block, which the formgrader's ``markdown2html`` passes through as is;
- raw cells: shown as preformatted text;
- code: the source (the template highlights and escapes it) and the outputs' plain text,
  streams, errors and PNG or JPEG images whose bytes are checked; HTML, JavaScript, SVG,
  LaTeX, markdown and widget outputs are dropped, and so is every output's metadata;
- metadata: the notebook's (widget state included) replaced; a cell's dropped except its
  nbgrader metadata, kept only for the tutorial's own grade ids, with checked types.

Used by :mod:`neuroai_course.handgrade` (``neuroai grade``, ``neuroai formgrade``).
"""

from __future__ import annotations

import base64
import binascii
import re

import nbformat

#: Marks a notebook rebuilt by :func:`safe_notebook`, with the rules' version.
MARK = "sanitised"
VERSION = 1

TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl",
        "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
        "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small",
        "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "u", "ul", "var"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
              "abbr": {"title"}, "ol": {"start"}, "td": {"align", "colspan", "rowspan"},
              "th": {"align", "colspan", "rowspan"}}
LINK = re.compile(r"^(https?://|mailto:|#)", re.I)
NUMBER = re.compile(r"^[0-9]{1,5}$")
GRADE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
CELL_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
IMAGE_TYPES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
NBGRADER_KEYS = {"grade": bool, "solution": bool, "locked": bool, "task": bool,
                 "points": (int, float), "grade_id": str, "schema_version": int}


def _highlight_classes() -> set[str]:
    """The class names of the syntax highlighter (pygments' short token names)."""
    from pygments.token import STANDARD_TYPES

    return {c for c in STANDARD_TYPES.values() if c} | {"highlight"}


def _attribute(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "href":
        return value if LINK.match(value.strip()) else None
    if tag == "img" and attr == "src":  # only the cell's attachments, inlined afterwards
        return value if value.startswith("attachment:") else None
    if attr in ("width", "height", "colspan", "rowspan", "start"):
        return value if NUMBER.match(value.strip()) else None
    return value


def clean_html(html: str) -> str:
    """``html`` with only the inert tags and attributes listed in this module left."""
    import nh3

    classes = _highlight_classes()
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_attribute,
                     url_schemes={"http", "https", "mailto", "attachment"},
                     allowed_classes={"span": classes, "div": classes, "pre": classes,
                                      "code": classes},
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def image_data(mime: str, data) -> str | None:
    """``data`` (base64 text, or a list of lines) when it decodes to an image of type
    ``mime`` (PNG or JPEG, by its first bytes); ``None`` otherwise."""
    if isinstance(data, list):
        data = "".join(data)
    if mime not in IMAGE_TYPES or not isinstance(data, str):
        return None
    text = re.sub(r"\s+", "", data)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return text if raw.startswith(IMAGE_TYPES[mime]) else None


def _inline_attachments(html: str, attachments: dict | None) -> str:
    """Each ``attachment:NAME`` image source replaced by its checked PNG or JPEG data URL;
    an image whose attachment is missing or of another kind loses its source."""
    def repl(m: re.Match) -> str:
        from html import unescape

        bundle = (attachments or {}).get(unescape(m.group(1)), {})
        for mime in IMAGE_TYPES:
            data = image_data(mime, bundle.get(mime)) if isinstance(bundle, dict) else None
            if data:
                return f'src="data:{mime};base64,{data}"'
        return 'src=""'

    return re.sub(r'src="attachment:([^"]*)"', repl, html)


def one_block(html: str) -> str:
    """``html`` wrapped in one ``<div>`` without blank lines: markdown (CommonMark's HTML
    block, what ``markdown2html`` applies again in the formgrader) keeps it whole, raw.
    A newline followed by a blank line becomes ``&#10;``, the same character."""
    body = re.sub(r"\n(?=[ \t\r\f\v]*\n)", "&#10;", html.strip())
    return f"<div>\n{body}\n</div>"


def markdown_html(source: str, attachments: dict | None = None) -> str:
    """A markdown cell's source as one block of clean HTML (see the module's notes)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class Renderer(IPythonRenderer):  # image sources left as written: checked below
        def _embed_image_or_attachment(self, src: str) -> str:
            return src

    html = clean_html(MarkdownWithMath(renderer=Renderer(escape=False)).render(source))
    html = _inline_attachments(html, attachments)
    # an image with no (checked) source left says so instead of showing a broken image
    html = re.sub(r'<img(?![^>]*\ssrc="data:image/)[^>]*>', "<em>[image removed]</em>", html)
    return one_block(html)


def _text(value) -> str:
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def safe_output(out) -> dict | None:
    """One output with only its inert parts (see the module's notes); ``None`` when nothing
    is left."""
    kind = out.get("output_type")
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=_text(out.get("text")))
    if kind == "error":
        tb = [t for t in out.get("traceback", []) if isinstance(t, str)]
        return nbformat.v4.new_output("error", ename=_text(out.get("ename")),
                                      evalue=_text(out.get("evalue")), traceback=tb)
    if kind not in ("execute_result", "display_data"):
        return None
    data = out.get("data", {}) if isinstance(out.get("data"), dict) else {}
    kept = {}
    for mime in IMAGE_TYPES:
        image = image_data(mime, data.get(mime))
        if image:
            kept[mime] = image
    if isinstance(data.get("text/plain"), (str, list)):
        kept["text/plain"] = _text(data["text/plain"])
    if not kept:
        return None
    return nbformat.v4.new_output("display_data", data=kept)


def safe_nbgrader(meta, grade_ids: set[str] | None) -> dict | None:
    """A cell's nbgrader metadata with checked types, or ``None`` (not a graded cell of
    the tutorial: ``grade_ids``, when given, are the tutorial's own)."""
    if not isinstance(meta, dict) or not isinstance(meta.get("grade_id"), str) \
            or not GRADE_ID.match(meta["grade_id"]):
        return None
    if grade_ids is not None and meta["grade_id"] not in grade_ids:
        return None
    kept = {}
    for key, kind in NBGRADER_KEYS.items():
        value = meta.get(key)
        if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
            kept[key] = value
    return kept


def safe_notebook(nb, grade_ids: set[str] | None = None) -> nbformat.NotebookNode:
    """A new notebook made from the cells of ``nb`` with only their inert parts (see the
    module's notes). ``grade_ids``: the tutorial's graded cells, the only ones whose
    nbgrader metadata is kept (``None``: any well-formed one). The result's metadata holds
    a Python kernel spec and ``neuroai.sanitised``; the caller adds its own."""
    new = nbformat.v4.new_notebook()
    new.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                   "language": "python"},
                    "language_info": {"name": "python"},
                    "neuroai": {MARK: VERSION}}
    ids: set[str] = set()
    for cell in nb.cells:
        kind = cell.get("cell_type")
        if kind == "code":
            new_cell = nbformat.v4.new_code_cell(_text(cell.get("source")))
            new_cell.outputs = [o for o in map(safe_output, cell.get("outputs", [])) if o]
        elif kind == "markdown":
            attachments = cell.get("attachments")
            new_cell = nbformat.v4.new_markdown_cell(markdown_html(
                _text(cell.get("source")), attachments if isinstance(attachments, dict)
                else None))
        elif kind == "raw":
            from html import escape

            new_cell = nbformat.v4.new_markdown_cell(one_block(
                f"<pre>{escape(_text(cell.get('source')))}</pre>"))
        else:
            continue
        meta = safe_nbgrader(cell.get("metadata", {}).get("nbgrader"), grade_ids)
        if meta:
            new_cell.metadata["nbgrader"] = meta
        if isinstance(cell.get("id"), str) and CELL_ID.match(cell["id"]) \
                and cell["id"] not in ids:
            new_cell["id"] = cell["id"]
        ids.add(new_cell["id"])
        new.cells.append(new_cell)
    return new


def is_safe(nb) -> bool:
    """Whether ``nb`` was rebuilt by this version of :func:`safe_notebook`."""
    return nb.metadata.get("neuroai", {}).get(MARK) == VERSION
