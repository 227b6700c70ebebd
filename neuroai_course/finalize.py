"""``neuroai finalize OUT``: the hand grades read back into grades.csv and the feedback pages.

After ``neuroai grade`` (which leaves OUT as an nbgrader course, see
:mod:`neuroai_course.handgrade`) and hand-grading in nbgrader's formgrader, the scores and
comments the formgrader stored in the gradebook (``Grade.manual_score``,
``Comment.manual_comment``) are read back: ``grades.csv`` is written again (totals with the
hand grades, and the number of written answers still waiting) and so is every feedback page
(each written answer, its score and the comment). A test score the instructor overrode in
the formgrader counts too, marked on the page as changed by hand with the automatic score
beside it, and the comments the instructor wrote on an exercise's answer cells are shown
with its test.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import nbformat

from neuroai_course import grade as grading
from neuroai_course import handgrade
from neuroai_course import report as cohort_report
from neuroai_course.nbgrader_ops import TEXT_STUB
from neuroai_course.project import Course, CourseError
from neuroai_course.submissions import Entry


def finalize(course: Course, out: Path, db: str | None = None) -> dict:
    """Read the hand-grading back: rewrite ``grades.csv`` and every feedback page of the
    grading folder ``out``. Returns ``{"pages": n, "waiting": [(student, tutorial,
    grade_id), ...]}`` (answers still without a score)."""
    out = Path(out)
    api = handgrade.nbgrader_api(out)
    db = db or api.coursedir.db_url
    found = sorted((out / "autograded").glob("*/*/*.ipynb"))
    if not found:
        raise CourseError(f"{out}: no autograded hand-in to finalise")
    tids, waiting, pages = set(), [], 0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session", module="nbgrader")
        for path in found:
            student, tid = path.parent.parent.name, path.parent.name
            nb = nbformat.read(path, 4)
            info = nb.metadata.get(handgrade.META, {})
            e = Entry(name=info.get("input", path.name), path=path, student=student,
                      tutorial=tid, status=info.get("status", "graded"),
                      reason=info.get("reason", ""))
            result = {"scores": handgrade.code_scores(db, e),
                      "order": [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                                if (c.metadata.get("nbgrader") or {}).get("grade_id")],
                      "messages": info.get("messages", {}),
                      "hand": handgrade.exercise_hand_notes(db, e, nb)}
            answers = handgrade.hand_grades(db, e, nb)
            texts = handgrade.answer_texts(nb)
            for a in answers:
                text = texts.get(a["grade_id"]) or ""
                a["text"] = "" if text.strip() in ("", TEXT_STUB) else text
                if a["score"] is None:
                    waiting.append((student, tid, a["grade_id"]))
            page = out / "feedback" / student / f"{tid}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(grading.feedback_html(e, result, answers), encoding="utf-8",
                            errors="replace")
            tids.add(tid)
            pages += 1
        grading.write_grades(out / "grades.csv", grading.gradebook_rows(db, sorted(tids)))
    if (out / cohort_report.RUN_FILE).exists():  # the cohort report, with the hand grades
        cohort_report.write(out, course)
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    (out / "finalized.txt").write_text(f"finalised {stamp}: {pages} feedback pages, "
                                       f"{len(waiting)} written answers still waiting\n",
                                       encoding="utf-8")
    return {"pages": pages, "waiting": waiting}
