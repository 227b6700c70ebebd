"""Written answers, graded by hand in nbgrader's formgrader.

``neuroai grade`` leaves its output folder as an nbgrader course (the layout nbgrader 0.9's
formgrader reads, see ``nbgrader.server_extensions.formgrader.handlers.SubmissionHandler``):

- ``nbgrader_config.py``: the course id and the gradebook's URL, relative to the folder;
- ``source/<tutorial>/<tutorial>.ipynb``: each graded tutorial's source (marks applied);
- ``autograded/<student>/<tutorial>/<tutorial>.ipynb``: each hand-in as graded, rebuilt
  from the student's cells with only their inert parts (:mod:`neuroai_course.sanitize`:
  the formgrader shows it in the instructor's logged-in Jupyter page): the test cells as
  students see them (hidden parts never written here) with what the grader said as their
  output, and the graded cells carrying the tutorial's nbgrader metadata, so that the
  formgrader shows a score box for each test and written answer and a comment box for each
  answer (exercises included); the written answers as the student wrote them are kept in
  the notebook's metadata (``neuroai.answers``), for the feedback pages;
- ``submitted/<student>/<tutorial>/timestamp.txt``: the hand-in's time as the gradebook has
  it and nothing else, so that the formgrader counts the submissions (it counts these
  folders, and lists a graded one only when the two times agree: ``NbGraderAPI.
  get_autograded_students``); no notebook, so its "autograde" button has nothing to run;
- ``exchange/neuroai/outbound/<tutorial>/``: the student version, so that the assignment
  shows as released and the exchange as set up (a folder of the grading folder's own;
  hand-ins come as files, never through it);
- the gradebook: a written answer left as the student version had it scores 0 with the
  comment "No response." (nbgrader's own rule, ``utils.determine_grade``); any other waits
  for a score (``needs_manual_grade``).

After hand-grading (in the formgrader, or through nbgrader's API: ``Grade.manual_score``,
``Comment.manual_comment``), ``neuroai finalize`` (:mod:`neuroai_course.finalize`) reads
the scores and comments back and writes ``grades.csv`` and the feedback pages again, now
with the written answers, their scores and the comments.
"""

from __future__ import annotations

import copy
from pathlib import Path
from urllib.parse import urlsplit

import nbformat

from neuroai_course import sanitize
from neuroai_course.nbgrader_ops import TEXT_STUB, scripts_on_path
from neuroai_course.project import Course, CourseError
from neuroai_course.submissions import Entry

NO_RESPONSE = "No response."
META = "neuroai"
#: The course id of every grading folder (nbgrader's exchange is laid out by it).
COURSE_ID = "neuroai"
#: The column of grades.csv counting a hand-in's written answers still without a score.
WAITING = "awaiting_hand_grading"


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_written_answer(cell) -> bool:
    """A markdown cell graded by hand (``<!-- answer: N points -->`` or the toolbar's
    "Manually graded answer")."""
    m = _meta(cell)
    return cell.get("cell_type") == "markdown" and bool(m.get("grade")) and bool(m.get("solution"))


def written_answers(release) -> list:
    """The written-answer cells of a student version, in order."""
    return [c for c in release.cells if is_written_answer(c)]


def find_answers(nb, release) -> dict[str, int | None]:
    """Index in ``nb`` of each written answer of ``release``: by grade id, else by the
    cell id the student version gave it (an editor may strip the metadata, rarely the id);
    ``None`` when the cell is gone."""
    found: dict[str, int | None] = {}
    for rc in written_answers(release):
        gid = _meta(rc)["grade_id"]
        idx = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                    and _meta(c).get("grade_id") == gid), None)
        if idx is None and rc.get("id"):
            idx = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                        and c.get("id") == rc.get("id")), None)
        found[gid] = idx
    return found


def unanswered(text: str | None, release_cell) -> bool:
    return text is None or text.strip() in ("", TEXT_STUB, release_cell.source.strip())


def answers_of(nb, release) -> dict[str, str | None]:
    """The text of each written answer (``None``: not answered or not found)."""
    where = find_answers(nb, release)
    out = {}
    for rc in written_answers(release):
        gid = _meta(rc)["grade_id"]
        text = None if where[gid] is None else nb.cells[where[gid]].source
        out[gid] = None if unanswered(text, rc) else text
    return out


def record_answers(gb, e: Entry, answers: dict[str, str | None]) -> None:
    """In an open gradebook: an unanswered written answer scores 0 with the comment "No
    response."; an answered one waits for a score (as nbgrader's ``SaveAutoGrades`` does)."""
    for gid, text in answers.items():
        grade = gb.find_grade(gid, e.tutorial, e.tutorial, e.student)
        comment = gb.find_comment(gid, e.tutorial, e.tutorial, e.student)
        if text is None:
            grade.auto_score, grade.needs_manual_grade = 0.0, False
            comment.auto_comment = NO_RESPONSE
        else:
            grade.auto_score, grade.needs_manual_grade = None, True
            comment.auto_comment = None


def previous_answers(out: Path, e: Entry) -> dict[str, str]:
    """The written answers of the hand-in graded earlier into ``out`` for the same student
    and tutorial (its autograded notebook), by grade id; ``{}`` when there is none."""
    path = autograded_path(out, e.student, e.tutorial)
    if not path.is_file():
        return {}
    return answer_texts(nbformat.read(path, 4))


def answer_texts(nb) -> dict[str, str]:
    """The written answers of an autograded notebook as the student wrote them, by grade
    id (its sanitised cells show them rendered; a notebook written before sanitising has
    them in its cells)."""
    kept = nb.metadata.get(META, {}).get("answers")
    if isinstance(kept, dict):
        return {gid: text or "" for gid, text in kept.items()}
    return {_meta(c)["grade_id"]: c.source for c in written_answers(nb)}


def hand_grades_of(gb, e: Entry, gids) -> dict[str, tuple]:
    """In an open gradebook, before a submission is replaced: the hand grade and comment
    of each written answer ``(manual_score, extra_credit, manual_comment)``, when set."""
    kept = {}
    for gid in gids:
        g = gb.find_grade(gid, e.tutorial, e.tutorial, e.student)
        c = gb.find_comment(gid, e.tutorial, e.tutorial, e.student)
        if g.manual_score is not None or c.manual_comment:
            kept[gid] = (g.manual_score, g.extra_credit, c.manual_comment)
    return kept


def restore_hand_grades(gb, e: Entry, kept: dict, answers: dict, previous: dict) -> list[str]:
    """Give back the hand grades of the written answers whose text did not change (grading
    the same hand-ins again keeps the instructor's work); return their grade ids."""
    restored = []
    for gid, (score, extra, comment) in kept.items():
        if answers.get(gid) is None or previous.get(gid) != answers[gid]:
            continue
        g = gb.find_grade(gid, e.tutorial, e.tutorial, e.student)
        g.manual_score, g.extra_credit = score, extra
        g.needs_manual_grade = score is None and g.auto_score is None
        gb.find_comment(gid, e.tutorial, e.tutorial, e.student).manual_comment = comment
        restored.append(gid)
    return restored


def graded_ids(release) -> set[str]:
    """The grade ids of the graded and solution cells of a student version."""
    return {_meta(c)["grade_id"] for c in release.cells if _meta(c).get("grade_id")
            and (_meta(c).get("grade") or _meta(c).get("solution") or _meta(c).get("task"))}


def autograded_notebook(e: Entry, release, result: dict) -> nbformat.NotebookNode:
    """The hand-in as graded, for the formgrader: ``e.notebook`` after ``repair`` (test
    cells as the student version has them), the grader's message as each test's output,
    the written answers with their metadata, rebuilt with only its inert parts
    (:func:`neuroai_course.sanitize.safe_notebook`), and what finalising needs in the
    metadata (the written answers as written among it)."""
    nb = copy.deepcopy(e.notebook)
    for gid, idx in find_answers(nb, release).items():
        rc = next(c for c in written_answers(release) if _meta(c)["grade_id"] == gid)
        if idx is None:
            cell = nbformat.v4.new_markdown_cell(TEXT_STUB)
            cell.metadata["nbgrader"] = dict(_meta(rc))
            nb.cells.append(cell)
        else:
            nb.cells[idx].metadata["nbgrader"] = dict(_meta(rc))
    scores, messages = result.get("scores", {}), result.get("messages", {})
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id")
        if cell.cell_type == "code" and _meta(cell).get("grade") and gid in scores:
            score, top = scores[gid]
            text = f"{score:g} of {top:g} points\n{messages.get(gid, '')}".rstrip() + "\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    texts = {gid: None if idx is None else nb.cells[idx].source
             for gid, idx in find_answers(nb, release).items()}
    safe = sanitize.safe_notebook(nb, graded_ids(release))
    safe.metadata[META] = {**safe.metadata[META], "input": e.name, "status": e.status,
                           "reason": e.reason,
                           "scores": {k: list(v) for k, v in scores.items()},
                           "messages": dict(messages), "answers": texts}
    return safe


def make_safe(out: Path, course: Course | None = None) -> int:
    """Rebuild, in place, every autograded notebook of ``out`` not yet made safe (a folder
    graded before sanitising): only the inert parts of its cells, the tutorial's nbgrader
    metadata (its grade ids from the course's student version when ``course`` has the
    tutorial), the written answers as written kept in the metadata. Returns how many."""
    students = {t.id: t.student for t in course.tutorials()} if course is not None else {}
    releases: dict[str, set[str] | None] = {}
    done = 0
    for path in sorted((out / "autograded").glob("*/*/*.ipynb")):
        nb = nbformat.read(path, 4)
        if sanitize.is_safe(nb):
            continue
        tid = path.parent.name
        if tid not in releases:
            student = students.get(tid)
            releases[tid] = graded_ids(nbformat.read(student, 4)) \
                if student is not None and student.is_file() else None
        ids = releases[tid]
        safe = sanitize.safe_notebook(nb, ids)
        kept = nb.metadata.get(META, {})
        safe.metadata[META] = {**{k: v for k, v in kept.items()
                                  if k in ("input", "status", "reason", "scores", "messages")},
                               **safe.metadata[META], "answers": answer_texts(nb)}
        nbformat.write(safe, path)
        done += 1
    return done


def autograded_path(out: Path, student: str, tutorial: str) -> Path:
    return out / "autograded" / student / tutorial / f"{tutorial}.ipynb"


def has_password(url: str) -> bool:
    """Whether a database URL holds a password (``user:pw@host``, or ``?password=``)."""
    from urllib.parse import parse_qs

    try:
        parts = urlsplit(url)
        return bool(parts.password) or any(k.lower() == "password"
                                           for k in parse_qs(parts.query))
    except ValueError:  # e.g. a port that is no number: do not guess, keep it out of files
        return True


def config_text(out: Path, db: str) -> str:
    """``nbgrader_config.py`` of the output folder (its root is the folder itself). A
    gradebook URL with a password is read from the environment instead of written."""
    default = f"sqlite:///{(out / 'gradebook.db').resolve()}"
    if db == default:
        url = 'f"sqlite:///{os.path.join(root, \'gradebook.db\')}"'
    elif has_password(db):
        url = 'os.environ["NEUROAI_DB_URL"]  # the gradebook URL, password included'
    else:
        url = repr(db)
    return (
        "# nbgrader configuration of this grading folder, written by `neuroai grade`.\n"
        "# Hand-grade the written answers in nbgrader's formgrader, started by\n"
        "# `neuroai formgrade FOLDER`, then run `neuroai finalize FOLDER`.\n"
        "import os\n\n"
        "c = get_config()  # noqa: F821 (defined by the configuration loader)\n"
        "root = os.path.dirname(os.path.abspath(__file__))\n"
        "c.CourseDirectory.root = root\n"
        f'c.CourseDirectory.course_id = "{COURSE_ID}"\n'
        "# The folder's own exchange: it holds the released student versions (the formgrader\n"
        "# shows the assignments as released); hand-ins come as files, never through it.\n"
        'c.Exchange.root = os.path.join(root, "exchange")\n'
        "# `neuroai finalize` writes the students' pages into feedback/; nbgrader's own\n"
        "# (its \"generate feedback\" button) go elsewhere.\n"
        'c.CourseDirectory.feedback_directory = "nbgrader-feedback"\n'
        f"c.CourseDirectory.db_url = {url}\n")


def write_layout(course: Course, out: Path, db: str, tutorials: list[str]) -> None:
    """``nbgrader_config.py``, ``source/<tutorial>/<tutorial>.ipynb`` (the source with
    its marks applied, as the gradebook has it), the released student versions in the
    folder's exchange and the submissions' times (see :func:`write_submitted`) in ``out``."""
    from neuroai_course import notebooks

    (out / "nbgrader_config.py").write_text(config_text(out, db), encoding="utf-8")
    for t in course.select(tutorials) if tutorials else []:
        path = out / "source" / t.id / f"{t.id}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebooks.read_source(t.source, t.source.relative_to(course.root)),
                       path)
    write_exchange(course, out, tutorials)
    write_submitted(out, db)


def write_exchange(course: Course, out: Path, tutorials: list[str]) -> None:
    """The folder's own exchange, ``exchange/neuroai/``: each tutorial's student version
    released in ``outbound/``, an empty ``inbound/``."""
    for t in course.select(tutorials) if tutorials else []:
        released = out / "exchange" / COURSE_ID / "outbound" / t.id / f"{t.id}.ipynb"
        released.parent.mkdir(parents=True, exist_ok=True)
        if t.student.is_file():
            released.write_bytes(t.student.read_bytes())
    (out / "exchange" / COURSE_ID / "inbound").mkdir(parents=True, exist_ok=True)


def write_submitted(out: Path, db: str) -> int:
    """``submitted/<student>/<tutorial>/timestamp.txt`` for every submission in the
    gradebook whose autograded notebook is in ``out``: the gradebook's own time, so that
    nbgrader's formgrader counts it and lists it as graded. Returns how many."""
    from nbgrader.api import Gradebook

    scripts_on_path()
    done = 0
    with Gradebook(db) as gb:
        for a in gb.assignments:
            for sub in gb.assignment_submissions(a.name):
                if not autograded_path(out, sub.student.id, a.name).is_file():
                    continue
                folder = out / "submitted" / sub.student.id / a.name
                folder.mkdir(parents=True, exist_ok=True)
                stamp = folder / "timestamp.txt"
                if sub.timestamp:  # none: nbgrader compares None with None
                    stamp.write_text(sub.timestamp.isoformat(), encoding="utf-8")
                else:
                    stamp.unlink(missing_ok=True)
                done += 1
    return done


def points(release, grade_id: str) -> float:
    """The points of a written answer of ``release``."""
    return next(float(_meta(c).get("points", 0)) for c in written_answers(release)
                if _meta(c)["grade_id"] == grade_id)


def nbgrader_api(out: Path):
    """nbgrader's API on a grading folder, configured by its ``nbgrader_config.py``."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    cfg = out / "nbgrader_config.py"
    if not cfg.is_file():
        raise CourseError(f"{out} is not a grading folder (no nbgrader_config.py): run "
                          "'neuroai grade' into it first")
    scripts_on_path()
    config = PyFileConfigLoader(cfg.name, path=str(out.resolve())).load_config()
    return NbGraderAPI(config=config)


def hand_grades(db: str, e: Entry, release) -> list[dict]:
    """The written answers of one hand-in as the gradebook has them now: ``grade_id``,
    ``score`` (None while waiting), ``max``, ``comment``."""
    from nbgrader.api import Gradebook

    out = []
    with Gradebook(db) as gb:
        for rc in written_answers(release):
            gid = _meta(rc)["grade_id"]
            g = gb.find_grade(gid, e.tutorial, e.tutorial, e.student)
            c = gb.find_comment(gid, e.tutorial, e.tutorial, e.student)
            waiting = g.needs_manual_grade and g.manual_score is None
            out.append({"grade_id": gid, "score": None if waiting else float(g.score),
                        "max": float(g.max_score),
                        "comment": c.manual_comment or c.auto_comment or "",
                        "auto": g.auto_score, "manual": g.manual_score,
                        "extra": g.extra_credit})
    return out


def hand_mark(note: dict | None, score: float, max_score: float) -> str:
    """What a person changed about a score in the formgrader, in words ('' when nothing):
    "changed by hand: 1 of 2, automatic 0" (a manual score that differs from the
    automatic one), and any extra credit."""
    if not note:
        return ""
    auto, manual, extra = note.get("auto"), note.get("manual"), note.get("extra") or 0.0
    parts = []
    if manual is not None and auto is not None and manual != auto:
        parts.append(f"changed by hand: {manual:g} of {max_score:g}, automatic {auto:g}")
    if extra:
        parts.append(f"extra credit by hand: {extra:+g}")
    return "; ".join(parts)


def exercise_owners(nb) -> dict[str, list[str]]:
    """For each test cell of ``nb`` (by grade id), the answer cells it grades: the code
    solution cells since the previous test (the course's layout: an exercise, then its
    test; a cell both answer and test grades itself). Key ``""``: answer cells after the
    last test."""
    owners, pending = {}, []
    for c in nb.cells:
        m = _meta(c)
        if c.cell_type != "code" or not m.get("grade_id"):
            continue
        if m.get("solution"):
            pending.append(m["grade_id"])
        if m.get("grade"):
            owners[m["grade_id"]], pending = pending, []
    owners[""] = pending
    return owners


def exercise_hand_notes(db: str, e: Entry, nb) -> dict[str, dict]:
    """For each test cell of a hand-in (by grade id), what a person did in the formgrader:
    ``auto`` and ``manual`` score (None: not set), ``extra`` credit, ``max`` and
    ``comment``, the instructor's comments on the exercise's answer cells (see
    :func:`exercise_owners`; key ``""``: the comments on answers after the last test)."""
    from nbgrader.api import Gradebook, MissingEntry

    owners = exercise_owners(nb)

    def comments(gb, ids) -> str:
        found = []
        for sid in ids:
            try:
                c = gb.find_comment(sid, e.tutorial, e.tutorial, e.student)
            except MissingEntry:
                continue
            if c.manual_comment and c.manual_comment.strip():
                found.append(c.manual_comment.strip())
        return "\n\n".join(found)

    notes = {}
    with Gradebook(db) as gb:
        sub = gb.find_submission_notebook(e.tutorial, e.tutorial, e.student)
        for g in sub.grades:
            if g.cell.cell_type != "code":
                continue
            notes[g.name] = {"auto": g.auto_score, "manual": g.manual_score,
                             "extra": g.extra_credit, "max": float(g.max_score),
                             "comment": comments(gb, owners.get(g.name, []))}
        notes[""] = {"comment": comments(gb, owners[""])}
    return notes


def code_scores(db: str, e: Entry) -> dict[str, list[float]]:
    """Each test cell's score now in the gradebook (an instructor may override one)."""
    from nbgrader.api import Gradebook

    with Gradebook(db) as gb:
        nb = gb.find_submission_notebook(e.tutorial, e.tutorial, e.student)
        return {g.name: [float(g.score), float(g.max_score)] for g in nb.grades
                if g.cell.cell_type == "code"}
