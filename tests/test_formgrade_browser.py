"""Hand grading in a real browser: ``neuroai formgrade`` and nbgrader's formgrader in
headless Chromium, on a graded cohort with a hostile hand-in (slow tier).

Two hand-ins of M1T1 with a written answer worth 2 points (``course_with_written_answer``
in ``tests/test_term.py``): ana's is honest, with LaTeX; mal's written answer and another
markdown cell carry a ``<script>`` and an ``<img onerror>``, and a code cell of mal's has
the same in an HTML output; each attack would set ``window.__pwned`` or the page's title.
Expected: the formgrader lists 2 submissions, the assignment released, no exchange
warning and no request off loopback; mal's page runs none of the attacks and typesets the
LaTeX with the server's own MathJax; a score and a comment entered through the page
reach the gradebook; after ``neuroai finalize`` mal's feedback page has them: euler_step
2 (graded), simulate_euler changed by hand from 0 to 1 of 3, the written answer 1.5 of 2,
a total of 2 + 1 + 1.5 = 4.5 of 7 + 2 = 9.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import io
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import nbformat
import pytest
from test_browser import Browser, chromium_or_fail
from test_term import ANSWER_POINTS, course_with_written_answer, hand_in

from neuroai_course.cli import main

pytestmark = pytest.mark.slow
pytest.importorskip("websocket", reason="websocket-client is not installed")

ATTACK = ("<script>window.__pwned = 'script'; document.title = 'pwned';</script>\n"
          "<img src=x onerror=\"window.__pwned = 'onerror'; document.title = 'pwned'\">")
MAL_ANSWER = ("The fixed point $v^* = E_L + R I$ stays below $v_{th}$, so no spike.\n\n"
              + ATTACK)
ANA_ANSWER = "The leak pulls $v$ back: $\\tau_m \\dot v = -(v - E_L) + R I$."
COMMENT = "Your loop stops one step early: look at the last index."
ANSWER_COMMENT = "Right idea; say why the leak wins."


def neuroai(root, *args) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--root", str(root), *map(str, args)])
    assert code == 0, err.getvalue()
    return out.getvalue()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, bwrap):
    base = tmp_path_factory.mktemp("formgrade")
    course = course_with_written_answer(base / "course")
    mal = hand_in(course, ("euler_step",), MAL_ANSWER)
    at = next(i for i, c in enumerate(mal.cells) if c.cell_type == "code")
    shown = nbformat.v4.new_code_cell("from IPython.display import HTML\nHTML('...')")
    shown.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": ATTACK, "text/plain": "<IPython.core.display.HTML object>"})]
    mal.cells[at + 1:at + 1] = [nbformat.v4.new_markdown_cell("A note.\n\n" + ATTACK), shown]
    cohort = {"ana": hand_in(course, ("euler_step", "simulate_euler", "fi_rate"), ANA_ANSWER),
              "mal": mal}
    for student, nb in cohort.items():
        (base / "in" / student).mkdir(parents=True)
        nbformat.write(nb, base / "in" / student / "M1T1_LIF.ipynb")
    out = base / "out"
    neuroai(course.root, "grade", base / "in", "--out", out)
    return course, out


def type_into(page, selector: str, text: str) -> None:
    """Click the element, replace its value by typing ``text``, then leave it (the
    formgrader saves on change)."""
    element = f"document.querySelector({json.dumps(selector)})"
    page.click(element)
    page.js(f"{element}.select()")
    page.send("Input.insertText", text=text)
    page.js(f"{element}.blur()")
    page.pump(0.5)


def wait_for_gradebook(db: str, check, timeout: float = 20) -> bool:
    from nbgrader.api import Gradebook

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Gradebook(db) as gb:
            if check(gb):
                return True
        time.sleep(0.3)
    return False


def test_formgrader_in_chromium_is_safe_counts_right_and_saves_grades(graded):
    from neuroai_course import formgrade
    from neuroai_course.handgrade import nbgrader_api

    course, out = graded
    graded_nb = nbformat.read(out / "autograded" / "mal" / "M1T1_LIF" / "M1T1_LIF.ipynb", 4)
    assert not any("<script" in c.source or "onerror" in c.source for c in graded_nb.cells)
    db = nbgrader_api(out).coursedir.db_url
    server = formgrade.start(course, out)
    browser = None
    try:
        # no kernel, no terminal, no nbgrader "validate" (it runs a notebook in the
        # server) in a hand-grading session: refused with the right token
        for method, path in (("POST", "/api/kernels"), ("POST", "/api/terminals"),
                             ("POST", "/assignments/validate")):
            req = urllib.request.Request(server.origin + path, method=method, data=b"{}",
                                         headers={"Authorization": f"token {server.token}"})
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(req, timeout=10)
        browser = Browser(chromium_or_fail())
        page = browser.new_page()
        origin = server.origin + "/"
        page.goto(server.url, settle=0.5)
        assert page.js("location.pathname") == "/formgrader/manage_assignments"
        row = page.wait_for("""(() => { const r = Array.from(document.querySelectorAll(
            'tr')).find(r => r.innerText.includes('M1T1_LIF'));
            return r ? Array.from(r.cells).map(c => c.innerText.trim()) : null; })()""")
        assert row, page.js("document.body.innerText")[:500]
        assert "released" in row and "2" in row, row  # status, "# Submissions"
        text = page.js("document.body.innerText")
        assert "exchange directory" not in text.lower() and "draft" not in row, text[:800]
        assert not page.problems(origin), page.problems(origin)
        page.goto(f"{server.origin}/formgrader/gradebook/M1T1_LIF/M1T1_LIF", settle=0.5)
        link = page.wait_for("""(() => { const a = Array.from(document.querySelectorAll(
            'a')).find(a => a.innerText.trim() === 'mal'); return a ? a.href : null; })()""")
        assert link, page.js("document.body.innerText")[:500]
        page.goto(link, settle=0.5)
        assert page.wait_for("document.querySelectorAll('mjx-container').length > 0"), \
            "no equation typeset (MathJax not served?)"
        assert page.js("window.__pwned === undefined"), page.js("window.__pwned")
        assert page.js("document.title") == "M1T1_LIF"
        answer = ("document.querySelector('input.score[id^=\"answer\"]')"
                  ".closest('.nbgrader_cell')")
        assert page.js(f"{answer}.querySelectorAll('mjx-container').length") >= 2
        assert "stays below" in page.js(f"{answer}.innerText")
        assert not page.problems(origin), page.problems(origin)
        gid = page.js("document.querySelector('input.score[id^=\"answer\"]').id")
        type_into(page, "#test_simulate_euler", "1")
        type_into(page, "#simulate_euler-comment", COMMENT)
        type_into(page, f"#{gid}", "1.5")
        type_into(page, f"#{gid}-comment", ANSWER_COMMENT)
        page.js("document.activeElement && document.activeElement.blur()")
        page.pump(0.5)
        assert page.js("window.__pwned === undefined")

        def saved(gb):
            grade = gb.find_grade("test_simulate_euler", "M1T1_LIF", "M1T1_LIF", "mal")
            answer = gb.find_grade(gid, "M1T1_LIF", "M1T1_LIF", "mal")
            comments = [gb.find_comment(c, "M1T1_LIF", "M1T1_LIF", "mal").manual_comment
                        for c in ("simulate_euler", gid)]
            return (grade.manual_score, answer.manual_score, comments) == \
                (1.0, 1.5, [COMMENT, ANSWER_COMMENT])

        assert wait_for_gradebook(db, saved), "the grades typed in the page were not saved"
    finally:
        if browser is not None:
            browser.close()
        server.close()
    assert server.proc.poll() is not None
    neuroai(course.root, "finalize", out)
    feedback = (out / "feedback" / "mal" / "M1T1_LIF.html").read_text()
    row = feedback.split("<td>test_simulate_euler</td>", 1)[1].split("</tr>", 1)[0]
    assert "1 / 3" in row and "changed by hand: 1 of 3, automatic 0" in row
    assert COMMENT in row
    assert "1.5 / 2" in feedback and ANSWER_COMMENT in feedback
    assert f"Score: <strong>4.5 / {7 + ANSWER_POINTS:g}</strong>" in feedback
    assert "<script>" not in feedback.split("<body>", 1)[1]


def test_formgrade_command_prints_a_working_address_and_stops_its_server(graded):
    """``neuroai formgrade OUT`` as an instructor runs it: the first line is the
    formgrader's address (the token in it logs in: the page comes back with the
    assignment); SIGTERM stops the command and the Jupyter server it started."""
    course, out = graded
    proc = subprocess.Popen([sys.executable, "-m", "neuroai_course.cli", "--root",
                             str(course.root), "formgrade", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        m = re.match(r"formgrader: (http://127\.0\.0\.1:(\d+)/formgrader\?token=\w+)$",
                     first.strip())
        assert m, first + proc.stderr.read() if proc.poll() is not None else first
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with opener.open(m.group(1), timeout=30) as r:
            page = r.read().decode()
            assert r.url.endswith("/formgrader/manage_assignments")
        assert "Manage Assignments" in page
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(m.group(2))),
                                                              timeout=5):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
