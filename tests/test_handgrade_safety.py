"""Hand grading: what the formgrader shows is inert, what it counts is right, and what the
instructor writes reaches the student (fast tier; the whole walk in a browser is in
``tests/test_formgrade_browser.py``).

The attacks are written here, each one setting ``window.__pwned`` if it ever ran. A page is
judged by parsing the HTML nbgrader's own formgrader would send (its ``formgrade``
template, as ``SubmissionHandler`` renders an autograded notebook): nothing that can run
may carry the marker (a script element, an event-handler attribute, a ``javascript:`` or
``data:`` URL other than a checked PNG), while the marker may show as text. The honest
answer's text, emphasis, list, code and LaTeX must come through as the student wrote them
(LaTeX as text, for MathJax in the page). Expected counts come from nbgrader's own rules
(``NbGraderAPI.get_submitted_students`` counts ``submitted/<student>/<assignment>/``
folders, ``get_assignment`` says "released" when the exchange's ``outbound/`` has it).
"""

from __future__ import annotations

import base64
import html
import warnings
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from neuroai_course import handgrade
from neuroai_course.grade import feedback_html
from neuroai_course.project import Course
from neuroai_course.sanitize import is_safe, safe_notebook
from neuroai_course.submissions import Entry

MARK = "__pwned"
#: A PNG's first eight bytes (its signature) and a few more: what the sanitiser checks.
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(24))).decode()
SVG = base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg' onload=\"window.__pwned="
                       b"'svg-attachment'\"><script>window.__pwned='svg-script'</script>"
                       b"</svg>").decode()

HOSTILE_ANSWER = "\n\n".join([
    "Below rheobase the neuron never fires.",
    "<script>window.__pwned = 'script'; document.title = 'pwned';</script>",
    "<img src=x onerror=\"window.__pwned = 'img-onerror'\">",
    "[a link](javascript:window.__pwned='md-link') and "
    "<a href=\"javascript:window.__pwned='a-href'\">another</a> and "
    "<a href=\"JaVaScRiPt:window.__pwned='a-case'\">a third</a>",
    "<svg onload=\"window.__pwned='svg-onload'\"><circle r=\"4\"/></svg>",
    "<iframe src=\"javascript:window.__pwned='iframe'\"></iframe>",
    "<div style=\"background:url(javascript:window.__pwned='style')\" "
    "onclick=\"window.__pwned='onclick'\" class=\"score tabbable\" id=\"answer-comment\" "
    "data-link=\"window.__pwned='data-link'\">styled</div>",
    "<form action=\"javascript:window.__pwned='form'\"><button>go</button></form>",
    "<img src=\"data:image/svg+xml;base64," + SVG + "\">",
    "![inline svg](attachment:evil.svg) ![fake png](attachment:fake.png)",
    "<details open ontoggle=\"window.__pwned='details'\"><summary>s</summary></details>",
])
HONEST_ANSWER = (
    "**Why.** The leak term pulls $v$ back to rest:\n"
    "$\\tau_m \\frac{dv}{dt} = -(v - E_L) + R I$, and below rheobase $R I < v_{th} - E_L$.\n\n"
    "$$r = \\frac{1}{t_{ref} + \\tau_m \\ln\\frac{R I}{R I - (v_{th} - E_L)}}$$\n\n"
    "- the fixed point is $v^* = E_L + R I$\n- it sits *under* threshold\n\n"
    "In code: `v < v_th`.\n\n![trace](attachment:trace.png)")
LATEX = ["$\\tau_m \\frac{dv}{dt} = -(v - E_L) + R I$", "$R I < v_{th} - E_L$",
         "$$r = \\frac{1}{t_{ref} + \\tau_m \\ln\\frac{R I}{R I - (v_{th} - E_L)}}$$",
         "$v^* = E_L + R I$"]


def answer_meta(gid="answer_q") -> dict:
    return {"grade": True, "solution": True, "locked": False, "points": 2,
            "grade_id": gid, "schema_version": 3}


def notebook(answer: str, hostile: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    md = nbformat.v4.new_markdown_cell(answer)
    md.metadata["nbgrader"] = answer_meta()
    md.attachments = {"trace.png": {"image/png": PNG}}
    cells = [nbformat.v4.new_markdown_cell("**Question.** Why no spike below rheobase?"), md]
    code = nbformat.v4.new_code_cell("def euler_step(v, i):\n    return v + i  # a < b")
    code.metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False,
                                 "grade_id": "euler_step", "schema_version": 3}
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="v = 1 mV\n"),
                    nbformat.v4.new_output("display_data", data={"image/png": PNG,
                                                                 "text/plain": "<Figure>"})]
    cells.append(code)
    if hostile:
        md.attachments.update({"evil.svg": {"image/svg+xml": SVG},
                               "fake.png": {"image/png": f"x\" onerror=\"{MARK}='att'"}})
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
            "version_major": 2, "version_minor": 0, "state": {"m": {
                "model_name": "HTMLModel", "state": {
                    "value": f"</script><script>window.{MARK}='widget-state'</script>"}}}}}
        code.outputs += [
            nbformat.v4.new_output("display_data", data={
                "text/html": f"<script>window.{MARK}='html-output'</script>"
                             f"<img src=x onerror=\"window.{MARK}='html-output-img'\">",
                "application/javascript": f"window.{MARK}='js-output'",
                "image/svg+xml": f"<svg onload=\"window.{MARK}='svg-output'\"></svg>",
                "text/markdown": f"<script>window.{MARK}='md-output'</script>",
                "application/vnd.jupyter.widget-view+json": {"model_id": "m",
                                                             "version_major": 2},
                "text/plain": "HTML(...)"},
                metadata={"image/png": {"width": f"1\" onerror=\"{MARK}='meta'"}}),
            nbformat.v4.new_output("display_data", data={
                "image/png": f"x\" onerror=\"window.{MARK}='png-output'"}),
            nbformat.v4.new_output("execute_result", execution_count=1, data={
                "text/html": f"<svg><script>window.{MARK}='result'</script></svg>"}),
            nbformat.v4.new_output("error", ename="ValueError",
                                   evalue=f"<script>window.{MARK}='error'</script>",
                                   traceback=[f"<img src=x onerror=\"{MARK}='tb'\">"])]
        forged = nbformat.v4.new_code_cell("x = 1")
        forged.metadata["nbgrader"] = {"solution": True, "grade": True, "points": 99,
                                       "grade_id": f"x\" onfocus=\"window.{MARK}='grade-id'"}
        forged.metadata["tags"] = [f"x\" onclick=\"window.{MARK}='tag'"]
        raw = nbformat.v4.new_raw_cell(f"<script>window.{MARK}='raw'</script>")
        cells += [forged, raw]
    nb.cells = cells
    return nb


def formgrade_page(nb, tmp_path: Path) -> str:
    """The HTML nbgrader's formgrader sends for this notebook (its SubmissionHandler)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    cfg = Config()
    cfg.HTMLExporter.template_name = "formgrade"
    cfg.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    page, _ = HTMLExporter(config=cfg).from_filename(str(path), resources={
        "assignment_id": "T", "notebook_id": "T", "index": 0, "submission_id": "x",
        "total": 1, "base_url": "", "student": "s", "last_name": None, "first_name": None,
        "notebook_path": "/x"})
    return page


class Live(HTMLParser):
    """Everything in a page that a browser could run or load, carrying the marker."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.in_script, self.tags = [], False, []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.in_script = tag == "script"
        for name, value in attrs:
            value = value or ""
            if MARK in value:
                self.found.append(f"<{tag} {name}={value[:60]!r}>")
            if name in ("href", "src", "action", "formaction", "xlink:href") and (
                    value.strip().lower().startswith("javascript:") or (
                    value.startswith("data:") and not value.startswith("data:image/png"))):
                self.found.append(f"<{tag} {name}={value[:60]!r}>")

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script and MARK in data:
            self.found.append(f"<script>{data[:60]!r}")


def live(page: str) -> Live:
    parser = Live()
    parser.feed(page)
    return parser


def test_the_attacks_run_in_the_formgrader_without_sanitising(tmp_path):
    """The control: the page built from the notebook as handed in carries live attacks
    (so the checks below can fail)."""
    found = live(formgrade_page(notebook(HOSTILE_ANSWER, hostile=True), tmp_path)).found
    assert len(found) >= 8, found


def test_formgrader_page_of_a_sanitised_hostile_hand_in_holds_nothing_that_runs(tmp_path):
    safe = safe_notebook(notebook(HOSTILE_ANSWER, hostile=True), {"answer_q", "euler_step"})
    nbformat.validate(safe)
    page = formgrade_page(safe, tmp_path)
    parsed = live(page)
    assert parsed.found == []
    assert "svg" not in parsed.tags and "iframe" not in parsed.tags and "form" not in parsed.tags
    # the marker is there as text (the instructor sees what was tried), never as markup
    assert MARK in html.unescape(page)
    # widget state, output metadata and unknown outputs are gone; plain text and checked
    # images stay; the forged grade id lost its nbgrader metadata, the tag metadata is gone
    assert "widgets" not in safe.metadata
    assert "widget-state" not in page and "widget-view" not in page
    code = safe.cells[2]
    assert [o["output_type"] for o in code.outputs] == \
        ["stream", "display_data", "display_data", "error"]
    assert code.outputs[1].data == {"image/png": PNG, "text/plain": "<Figure>"}
    assert code.outputs[2].data == {"text/plain": "HTML(...)"}
    assert all(not o.get("metadata") for o in code.outputs)
    forged = safe.cells[3]
    assert "nbgrader" not in forged.metadata and "tags" not in forged.metadata
    assert page.count('class="score tabbable"') == 1  # the answer's score box, no forged one
    # the answer's own score and comment boxes are there, with its grade id
    assert 'id="answer_q"' in page and 'id="answer_q-comment"' in page
    assert 'id="euler_step-comment"' in page


def test_honest_answer_keeps_its_text_formatting_latex_and_image(tmp_path):
    safe = safe_notebook(notebook(HONEST_ANSWER, hostile=False), {"answer_q", "euler_step"})
    cell = safe.cells[1]
    assert cell.metadata["nbgrader"] == answer_meta()
    page = formgrade_page(safe, tmp_path)
    text = html.unescape(page)
    for latex in LATEX:
        assert latex in text, latex
    assert "<strong>Why.</strong>" in page and "<em>under</em>" in page
    assert "<li>the fixed point is" in page and "<code>v &lt; v_th</code>" in page
    assert f'src="data:image/png;base64,{PNG}"' in page
    assert "The leak term pulls" in cell.source and not live(page).found
    # the student's code is shown as code (escaped by the template's highlighter)
    assert "euler_step" in page and "a &lt; b" in page


def test_answer_block_passes_the_formgraders_markdown_unchanged():
    """The formgrader runs markdown2html over the sanitised HTML again: a blank line in a
    code block must not end the HTML block (then the rest would be parsed again)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    from neuroai_course.sanitize import markdown_html

    block = markdown_html("```\nx = 1\n\n\ny = '<script>'\n```\n\nafter *this*")
    assert "\n\n" not in block
    again = markdown2html_mistune(block)
    assert again.strip() == block.strip()
    assert "&lt;script&gt;" in block and "<em>this</em>" in block


def test_make_safe_rebuilds_a_folder_graded_before_sanitising(tmp_path):
    out = tmp_path / "out"
    path = handgrade.autograded_path(out, "mal", "T")
    path.parent.mkdir(parents=True)
    nb = notebook(HOSTILE_ANSWER, hostile=True)
    nb.metadata[handgrade.META] = {"input": "mal/T.ipynb", "status": "graded", "reason": "",
                                   "scores": {}, "messages": {}}
    nbformat.write(nb, path)
    assert handgrade.make_safe(out) == 1
    again = nbformat.read(path, 4)
    assert is_safe(again) and not live(formgrade_page(again, tmp_path)).found
    assert again.metadata[handgrade.META]["input"] == "mal/T.ipynb"
    # what the student wrote is kept for the feedback page, where it is escaped
    assert handgrade.answer_texts(again) == {"answer_q": HOSTILE_ANSWER}
    assert handgrade.make_safe(out) == 0  # done once


def test_formgrader_counts_the_submissions_and_shows_the_assignment_released(tmp_path):
    """nbgrader's API as its formgrader calls it, on a grading folder with one graded
    hand-in: "# Submissions" counts it, the assignment is released, the exchange is
    there; without the submitted/ times the count is 0 (the control)."""
    from nbgrader.api import Gradebook

    from neuroai_course.nbgrader_ops import scripts_on_path

    scripts_on_path()  # nbgrader runs alembic to create a gradebook
    out = tmp_path / "out"
    out.mkdir()
    db = f"sqlite:///{(out / 'gradebook.db').resolve()}"
    (out / "nbgrader_config.py").write_text(handgrade.config_text(out, db))
    (out / "source" / "M1T1_LIF").mkdir(parents=True)
    with Gradebook(db) as gb, warnings.catch_warnings():
        # nbgrader 0.9.6 on SQLAlchemy 2.x warns about its own session handling
        warnings.filterwarnings("ignore", message=".*not in session")
        gb.add_assignment("M1T1_LIF")
        gb.add_notebook("M1T1_LIF", "M1T1_LIF")
        gb.add_student("ana")
        gb.add_submission("M1T1_LIF", "ana", timestamp="2026-12-01T10:30:15.123456")
    path = handgrade.autograded_path(out, "ana", "M1T1_LIF")
    path.parent.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), path)
    api = handgrade.nbgrader_api(out)
    assert api.get_assignment("M1T1_LIF")["num_submissions"] == 0
    assert api.get_assignment("M1T1_LIF")["status"] == "draft"
    handgrade.write_exchange(Course(ROOT), out, ["M1T1_LIF"])
    assert handgrade.write_submitted(out, db) == 1
    api = handgrade.nbgrader_api(out)
    assert not api.exchange_missing
    info = api.get_assignment("M1T1_LIF")
    assert info["num_submissions"] == 1 and info["status"] == "released"
    # listed as graded (the formgrader hides a submission whose two times differ)
    assert api.get_autograded_students("M1T1_LIF") == {"ana"}
    # nothing in submitted/ for nbgrader's "autograde" button to run
    assert sorted(p.name for p in (out / "submitted" / "ana" / "M1T1_LIF").iterdir()) == \
        ["timestamp.txt"]


def test_exercise_comments_belong_to_the_test_after_them():
    nb = nbformat.v4.new_notebook()

    def cell(gid, **meta):
        c = nbformat.v4.new_code_cell("")
        c.metadata["nbgrader"] = {"grade_id": gid, **meta}
        return c

    nb.cells = [cell("a", solution=True), cell("test_a", grade=True),
                cell("b1", solution=True), cell("b2", solution=True),
                cell("test_b", grade=True), cell("both", solution=True, grade=True),
                cell("tail", solution=True)]
    assert handgrade.exercise_owners(nb) == {"test_a": ["a"], "test_b": ["b1", "b2"],
                                             "both": ["both"], "": ["tail"]}


@pytest.mark.parametrize("note, expected", [
    ({"auto": 0.0, "manual": 1.0, "extra": None}, "changed by hand: 1 of 2, automatic 0"),
    ({"auto": 2.0, "manual": 2.0, "extra": None}, ""),  # set, but to the same score
    ({"auto": 1.0, "manual": None, "extra": 0.5}, "extra credit by hand: +0.5"),
    ({"auto": None, "manual": None, "extra": None}, ""),
])
def test_hand_mark_says_what_a_person_changed(note, expected):
    assert handgrade.hand_mark(note, 1.0, 2.0) == expected


def test_feedback_page_shows_exercise_comments_and_changed_scores():
    e = Entry(name="mal/T.ipynb", path=Path("x"), student="mal", tutorial="T")
    result = {"scores": {"test_a": [1.0, 2.0], "test_b": [3.0, 3.0]},
              "messages": {"test_a": "a raised ValueError"},
              "hand": {"test_a": {"auto": 0.0, "manual": 1.0, "extra": None, "max": 2.0,
                                  "comment": "Off by one <step> & more."},
                       "test_b": {"auto": 3.0, "manual": None, "extra": None, "max": 3.0,
                                  "comment": ""},
                       "": {"comment": "See me."}}}
    answers = [{"grade_id": "answer_q", "text": HOSTILE_ANSWER, "score": 1.5, "max": 2.0,
                "comment": "Right idea.", "auto": None, "manual": 1.5, "extra": None}]
    page = feedback_html(e, result, answers)
    row = page.split("<td>test_a</td>", 1)[1].split("</tr>", 1)[0]
    assert "changed by hand: 1 of 2, automatic 0" in row
    assert "Off by one &lt;step&gt; &amp; more." in row
    assert "changed by hand" not in page.split("<td>test_b</td>", 1)[1].split("</tr>")[0]
    assert "Right idea." in page and "See me." in page
    assert "Score: <strong>5.5 / 7</strong>" in page
    assert not live(page).found  # the student's own text is escaped here too


def test_feedback_lists_exercises_in_notebook_order():
    """As the notebook has them (the grader's results come in that order; finalize passes the
    graded notebook's order), not alphabetically."""
    e = Entry(name="mal/T.ipynb", path=Path("x"), student="mal", tutorial="T")
    scores = {"test_simulate": [3.0, 3.0], "test_euler": [2.0, 2.0]}
    page = feedback_html(e, {"scores": scores})
    assert page.index("test_simulate") < page.index("test_euler")
    page = feedback_html(e, {"scores": scores, "order": ["test_euler", "test_simulate"]})
    assert page.index("test_euler") < page.index("test_simulate")


def test_formgrade_refuses_a_folder_that_is_not_a_grading_folder(tmp_path, capsys):
    from neuroai_course.cli import main

    assert main(["--root", str(ROOT), "formgrade", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("neuroai: error: ") and "not a grading folder" in err
    assert len(err.strip().splitlines()) == 1
