"""cohort.html (neuroai_course/report.py): its content from a grading output folder written
here by hand, and the page in headless Chromium (no console error, every image loads, nothing
fetched from elsewhere).

The output folder: two tutorials, T1 (tests b: 3 points, then a: 2 points, in the notebook's
order, which the workers' results follow) and T2 (test c: 1 point); ana has full marks in
both, ben has a only in T1 and no T2, cleo has nothing right and left a as the stub.
Expected by hand: T1 b full marks 1 of 3 (33%), T1 a 2 of 3 hand-ins (67%), 1 of 3 not
attempted (33%), T2 c 1 of 2 (50%); ben misses T2; two failures of b whose messages differ
only in numbers form one group of 2, shown whole; cleo's stub of a is no failure message;
the late and the crashed inputs are listed as flagged.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT

from neuroai_course.report import RUN_FILE, RunFigures, message_key, write

GRADES = [
    {"student": "ana", "tutorial": "T1", "a": "2", "b": "3", "c": "", "total": "5", "max": "5"},
    {"student": "ben", "tutorial": "T1", "a": "2", "b": "0", "c": "", "total": "2", "max": "5"},
    {"student": "cleo", "tutorial": "T1", "a": "0", "b": "0", "c": "", "total": "0",
     "max": "5"},
    {"student": "ana", "tutorial": "T2", "a": "", "b": "", "c": "1", "total": "1", "max": "1"},
    {"student": "cleo", "tutorial": "T2", "a": "", "b": "", "c": "0", "total": "0",
     "max": "1"},
]
REPORT = [
    {"input": "ana/T1.ipynb", "student": "ana", "tutorial": "T1", "status": "graded",
     "reason": ""},
    {"input": "ben/T1.ipynb", "student": "ben", "tutorial": "T1", "status": "late",
     "reason": "handed in 2030-03-17 17:46, after the deadline 2027-01-01 00:00"},
    {"input": "cleo/T1.ipynb", "student": "cleo", "tutorial": "T1", "status": "graded",
     "reason": ""},
    {"input": "ana/T2.ipynb", "student": "ana", "tutorial": "T2", "status": "graded",
     "reason": ""},
    {"input": "cleo/T2.ipynb", "student": "cleo", "tutorial": "T2", "status": "crashed",
     "reason": "the grading worker died twice on this hand-in"},
    {"input": "dan/notes.txt", "student": "dan", "tutorial": "", "status": "not a notebook",
     "reason": "not a .ipynb file"},
]


# A visible test's whole message (neuroai_core.checks.check_close), longer than 200 characters.
MESSAGE_B = ("v_mV: 3 of 500 values differ from the reference; first at index (12): expected "
             "{:g}, got {:g}.\nLikely mistake: your values are shifted one step later than "
             "expected: an off-by-one in the time index (k against k + 1, or t - 1 against t)."
             "\nHint: Which value does the trace hold in a step with a spike?")

# grades.csv as `neuroai grade` writes it: one more column, the written answers of the row
# still waiting for a hand grade (not an exercise)
for _row in GRADES:
    _row["awaiting_hand_grading"] = "1" if _row["student"] == "ben" else "0"


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("grading")
    _write_csv(folder / "grades.csv", GRADES)
    _write_csv(folder / "report.csv", REPORT)
    fig = RunFigures(workers=2, scheduler="tcp://10.0.0.1:8786")
    results = {  # what the workers said of each hand-in, in the notebook's order
        "ana/T1.ipynb": {"b": [3, 3], "a": [2, 2]},
        "ben/T1.ipynb": {"b": [0, 3], "a": [2, 2]},
        "cleo/T1.ipynb": {"b": [0, 3], "a": [0, 2]},
        "ana/T2.ipynb": {"c": [1, 1]},
    }
    messages = {"ben/T1.ipynb": {"b": MESSAGE_B.format(-65.0, 3.5)},
                "cleo/T1.ipynb": {"a": "a raised NotImplementedError: ",
                                  "b": MESSAGE_B.format(-70.5, 0)}}
    for row in REPORT[:4]:
        entry = SimpleNamespace(name=row["input"], tutorial=row["tutorial"],
                                status=row["status"])
        fig.add(entry, {"scores": results[row["input"]], "total_seconds": 4.0,
                        "worker": "tcp://10.0.0.2:40000",
                        "messages": messages.get(row["input"], {})})
    fig.add(SimpleNamespace(name="cleo/T2.ipynb", tutorial="T2", status="crashed"),
            {"error": "the grading worker died twice on this hand-in"})
    summary = SimpleNamespace(seconds=42.0, retried=["cleo/T2.ipynb"], isolation="bubblewrap",
                              line=lambda: "6 files: 3 graded, 2 flagged, 1 failed")
    fig.finish(summary, None)
    (folder / RUN_FILE).write_text(json.dumps(fig.data()))
    write(folder)
    return folder


def _section(page: str, anchor: str) -> str:
    start = page.index(f"id='{anchor}'")
    nxt = page.find("<h2", start)
    return page[start:nxt if nxt > 0 else None]


def test_message_groups_ignore_numbers():
    assert message_key("x\nexpected 1.5, got -2e-3\n")[0] == "x\nexpected #, got #"
    assert message_key("")[1] == "(no message)"


def test_cohort_page_content(out):
    page = (out / "cohort.html").read_text(encoding="utf-8")
    exercises = _section(page, "exercises")
    rows = re.findall(r"<tr><td>(T\d)</td><td>(\w)</td><td>([\d.]+)</td><td>(\d+)</td>"
                      r"<td>(\d+%)</td><td>([^<]*)</td>", exercises)
    assert rows == [("T1", "b", "3", "3", "33%", "0 (0%)"), ("T1", "a", "2", "3", "67%",
                                                             "1 (33%)"),
                    ("T2", "c", "1", "2", "50%", "0 (0%)")], rows
    assert "awaiting_hand_grading" not in exercises
    assert "share with full marks" in exercises and "ifficulty" not in page
    failures = _section(page, "failures")
    # ben's and cleo's failures of b differ only in numbers: one group of 2, shown whole
    shown = html.escape(MESSAGE_B.format(-65.0, 3.5), quote=False)
    assert len(MESSAGE_B) > 200 and "Likely mistake: your values are shifted" in shown
    assert f"<td>T1</td><td>b</td><td>2</td><td>{shown}</td>" in failures
    assert "NotImplementedError" not in failures  # an untouched stub is not a failure
    flagged = _section(page, "flagged")
    assert "(3)" in flagged and "ben/T1.ipynb" in flagged and "cleo/T2.ipynb" in flagged
    assert "dan/notes.txt" in flagged and "ana/T1.ipynb" not in flagged
    missing = _section(page, "missing")
    assert "<td>ben</td><td>T2</td>" in missing and "cleo</td>" not in missing
    run = _section(page, "run")
    assert "<td>retried after a lost worker</td><td>1</td>" in run
    assert "<td>crashed</td><td>1</td>" in run and "<td>grading time (s)</td><td>42.0" in run
    assert "<td>cluster</td><td>tcp://10.0.0.1:8786</td>" in run
    assert "<td>workers that graded</td><td>1</td>" in run
    # T1's score table: mean (5 + 2 + 0) / 3, median 2, full marks 1 of 3
    assert "<td>T1</td><td>3</td><td>2.33</td><td>2</td><td>5</td><td>33%</td>" in page
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == 3  # statuses and times, scores per tutorial, difficulty
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)  # nothing from elsewhere


def test_neuroai_report_regenerates_the_page(out, tmp_path):
    before = (out / "cohort.html").read_text(encoding="utf-8")
    (out / "cohort.html").unlink()
    proc = subprocess.run([sys.executable, "-m", "neuroai_course.cli", "--root", str(ROOT),
                           "report", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    after = (out / "cohort.html").read_text(encoding="utf-8")
    strip = re.compile(r"base64,[^']+")  # PNG bytes may differ in matplotlib's metadata
    assert strip.sub("", after) == strip.sub("", before)
    proc = subprocess.run([sys.executable, "-m", "neuroai_course.cli", "--root", str(ROOT),
                           "report", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 1 and "not a grading output folder" in proc.stderr


@pytest.mark.slow
def test_cohort_page_in_chromium(out):
    pytest.importorskip("websocket", reason="websocket-client is not installed")
    from test_browser import Browser, Site, chromium_or_fail

    browser, site = Browser(chromium_or_fail()), Site(out)
    try:
        page = browser.new_page()
        page.goto(site.url("cohort.html"), settle=0.5)
        assert page.problems(site.origin) == []
        images = page.js("Array.from(document.images).map(i => [i.complete, i.naturalWidth,"
                         " i.getClientRects().length > 0])")
        assert len(images) == 3 and all(ok and w > 0 and shown for ok, w, shown in images)
        shot = ROOT / "_build" / "screenshots" / "cohort.png"
        page.screenshot(shot)
        assert shot.stat().st_size > 20_000
    finally:
        site.close()
        browser.close()


def test_grades_csv_columns_follow_the_notebook_order(tmp_path):
    import nbformat

    from neuroai_course.grade import write_grades

    def graded(gid):
        cell = nbformat.v4.new_code_cell("pass")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": gid, "points": 1}
        return cell

    (tmp_path / "source" / "T1").mkdir(parents=True)
    # the notebook: test_zeta first, then test_alpha (not alphabetical)
    nbformat.write(nbformat.v4.new_notebook(cells=[graded("test_zeta"), graded("test_alpha")]),
                   tmp_path / "source" / "T1" / "T1.ipynb")
    write_grades(tmp_path / "grades.csv", [{"student": "ana", "tutorial": "T1",
                                            "test_alpha": "1", "test_zeta": "0", "extra": "1",
                                            "total": "1", "max": "2",
                                            "awaiting_hand_grading": "0"}])
    header = (tmp_path / "grades.csv").read_text().splitlines()[0].split(",")
    assert header == ["student", "tutorial", "test_zeta", "test_alpha", "extra", "total", "max",
                      "awaiting_hand_grading"]
