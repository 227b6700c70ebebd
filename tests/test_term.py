"""The instructor's whole term: publish, grade, hand-grade in nbgrader, finalise, export.

Expected totals come from the tutorial's points: M1T1's three tests are worth 2 + 3 + 2 = 7
(grading_corpus.POINTS) and the written answer this test adds is worth 2, so the maximum is
9; hand scores are the ones this test sets through nbgrader's gradebook. LMS layouts are
checked against the layouts documented by each LMS: Canvas's gradebook export (columns
``Student, ID, SIS User ID, SIS Login ID, Section``, then assignments; a ``Points Possible``
row first) and Moodle's feedback-zip names, which ``mod/assign/feedback/file/importziplib.php``
splits at the first four underscores into name, participant id, ``assignfeedback``, ``file``
and the file name.
"""

import csv
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, copy_course
from grading_corpus import FULL, load_csv

from neuroai_course import notebooks
from neuroai_course.cli import parser
from neuroai_course.project import Course
from neuroai_course.publish import leaks, publish, secrets

PUBLIC = "https://github.com/example-org/neuroai-public"
REGION = {"### BEGIN SOLUTION": "### END SOLUTION",
          "### BEGIN HIDDEN TESTS": "### END HIDDEN TESTS"}
ANSWER_POINTS = 2  # M1T1's reflection: "<!-- answer: 2 points -->" in its source
# A line of M1T1's model answer and the heading of its question, as the source has them.
MODEL_ANSWER = ("unchanged. A model without adaptation fires at a constant interval for a "
                "constant input,")
QUESTION = "## 5. Reflect (2 points, graded by hand)"


def split_regions(source: str) -> tuple[list[str], list[str]]:
    """(lines inside solution/hidden regions, lines outside), stripped, written for the test."""
    inside, outside, end = [], [], None
    for raw in source.splitlines():
        line = raw.strip()
        if end is None and line in REGION:
            end = REGION[line]
        elif end is not None and line == end:
            end = None
        elif line:
            (inside if end else outside).append(line)
    return inside, outside


def published_lines(dest: Path) -> dict[str, set[str]]:
    """Every line of every published text file; notebooks by their cells' sources."""
    out = {}
    for path in dest.rglob("*"):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            text += "\n" + "\n".join(c.source for c in nbformat.reads(text, 4).cells)
        out[str(path.relative_to(dest))] = {ln.strip() for ln in text.splitlines()}
    return out


def snapshot(dest: Path) -> dict[str, bytes]:
    return {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*") if p.is_file()}


def test_publish_leaves_out_every_solution_hidden_test_and_instructor_page(tmp_path):
    course = Course(ROOT)
    dest = tmp_path / "public"
    publish(course, dest, repo=PUBLIC)
    files = snapshot(dest)
    tops = {Path(f).parts[0] for f in files}
    assert tops == {"tutorials", "book", "neuroai_core", "_config.yml", "_toc.yml", "README.md",
                    "LICENSE", "LICENSE-CONTENT", "pyproject.toml", ".neuroai-published"}
    assert not (dest / "book" / "instructor.md").exists()
    assert not (dest / "book" / "authoring.md").exists()
    assert "instructor" not in files["_toc.yml"].decode() and \
        "authoring" not in files["_toc.yml"].decode()
    assert "](instructor.md)" not in files["book/intro.md"].decode()
    # Colab links and the install spec point at the public repository.
    assert f"url: {PUBLIC}" in files["_config.yml"].decode()
    for t in course.tutorials():
        text = files[f"{t.rel}.ipynb"].decode()
        assert f"git+{PUBLIC}@" in text and "example-org/neuroai-public/blob/" in text
        assert "neuroai-course/neuroai-course" not in text
    # Every line of every solution and hidden-test region of every source: a line found in
    # the published tree must be public anyway (outside the regions of some source, or in
    # the package or the student-facing pages, which are published on purpose).
    public_anyway = set()
    region = {}
    for t in course.tutorials():
        for cell in notebooks.read_source(t.source).cells:
            inside, outside = split_regions(cell.source)
            public_anyway.update(outside)
            region.update({ln: t.id for ln in inside})
    for path in [*ROOT.joinpath("neuroai_core").rglob("*.py"),
                 *ROOT.joinpath("book").glob("*.md")]:
        if path.stem not in ("instructor", "authoring"):
            public_anyway.update(ln.strip() for ln in path.read_text().splitlines())
    found = published_lines(dest)
    private = {ln for ln in region if ln not in public_anyway}
    assert len(private) > 500, len(private)  # the search below has something to find
    leaked = sorted((f, ln) for f, lines in found.items() for ln in private & lines)
    assert not leaked, leaked[:5]
    # Publishing again changes no byte (no time stamps), and re-running removes nothing.
    report = publish(course, dest, repo=PUBLIC)
    assert report["written"] == [] and report["removed"] == []
    assert snapshot(dest) == files
    # The refusal works: a planted hidden-test line is caught before anything is written.
    hidden = secrets(course)
    assert len(hidden) > 500
    line = sorted(hidden & private)[0]
    planted = {"tutorials/x.ipynb": nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(line)])).encode()}
    assert leaks(planted, hidden) == [f"tutorials/x.ipynb: {line}"]


def test_publish_rejects_bad_input(tmp_path):
    course = Course(ROOT)
    proc = subprocess.run([sys.executable, "-m", "neuroai_course.cli", "--root", str(ROOT),
                           "publish", str(tmp_path / "p"), "--repo", "gitlab.com/x"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "repo must look like https://github.com/OWNER/NAME" \
        in proc.stderr
    (tmp_path / "priv" / "solutions").mkdir(parents=True)
    with pytest.raises(Exception, match="refusing to publish into a private tree"):
        publish(course, tmp_path / "priv", repo=PUBLIC)


def test_publish_reads_the_public_repository_from_the_config(tmp_path):
    from neuroai_course.publish import public_config, public_repository

    course = copy_course(tmp_path / "course")
    with (course.root / "_config.yml").open("a") as f:
        f.write(f"\npublish:\n  repository: {PUBLIC}\n")
    course = Course(course.root)
    assert public_repository(course, None) == PUBLIC
    text = public_config(course, PUBLIC).decode()
    assert "publish:" not in text and f"url: {PUBLIC}" in text
    assert "repository:\n  url:" in text  # the rest kept line for line


# --- the whole term on a small cohort --------------------------------------------------------

def course_with_written_answer(root: Path) -> Course:
    """A copy of the course with what publishing needs; its M1T1 has a written answer worth
    2 points (the reflection, ``<!-- answer: 2 points -->`` in the source)."""
    course = copy_course(root)
    for name in ("neuroai_core", "README.md", "LICENSE", "LICENSE-CONTENT", "pyproject.toml"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(src, root / name)
    return course


def hand_in(course: Course, exercises: tuple[str, ...], answer: str | None):
    """The student version with ``exercises`` answered from the source and the written
    answer replaced by ``answer`` (None: left as it came)."""
    (t,) = course.select(["M1T1_LIF"])
    source = notebooks.read_source(t.source)
    solved = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
              if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    nb = nbformat.read(t.student, 4)
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade_id") in exercises:
            c.source = solved[meta["grade_id"]]
        if c.cell_type == "markdown" and meta.get("grade") and answer is not None:
            c.source = answer
    return nb


CANVAS_ROSTER = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "M1T1_LIF (4711)",
     "Current Score"],
    ["    Points Possible", "", "", "", "", "9", "(read only)"],
    ["Aland, Ana", "101", "S101", "ana", "Sec A", "", ""],
    ["Brook, Ben", "102", "S102", "ben@uni.example", "Sec A", "", ""],
    ["Cole, Cleo", "103", "S103", "c.cole", "Sec B", "", ""],
    ["Dunn, Dara", "104", "S104", "dara", "Sec B", "", ""],  # hands in late, resubmitted
    ["Student, Test", "105", "", "", "Sec A", "", ""],  # Canvas's test student
]
MOODLE_WORKSHEET = [
    ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade"],
    ["Participant 5001", "Ana Aland", "ana@uni.example", "Submitted", "", "9.00"],
    ["Participant 5002", "Ben Brook", "ben@uni.example", "Submitted", "", "9.00"],
    ["Participant 5003", "Cleo Cole", "cleo@uni.example", "Submitted", "", "9.00"],
    ["Participant 5004", "Dara Dunn", "dara@uni.example", "No submission", "", "9.00"],
]


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def cli(course: Course, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "neuroai_course.cli", "--root",
                           str(course.root), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def term(tmp_path_factory, bwrap):
    """One term, run with the commands of the instructor guide: publish, collect, grade."""
    base = tmp_path_factory.mktemp("term")
    course = course_with_written_answer(base / "course")
    cli(course, "publish", str(base / "public"), "--repo", PUBLIC)
    cohort = {"ana": hand_in(course, ("euler_step", "simulate_euler", "fi_rate"),
                             "The leak pulls <v> back to rest & below threshold."),
              "colecleo": hand_in(course, ("euler_step",), "Below rheobase v settles under "
                                                       "threshold."),
              "zoe": hand_in(course, ("euler_step", "simulate_euler", "fi_rate"), None),
              "dunndara": hand_in(course, ("euler_step", "simulate_euler", "fi_rate"), None)}
    (base / "in").mkdir()
    for student, nb in cohort.items():
        if student == "colecleo":  # as Canvas's download names it: lastfirst_userid_subid_file
            nbformat.write(nb, base / "in" / "colecleo_103_9001_M1T1_LIF.ipynb")
            continue
        if student == "dunndara":  # late, a resubmission: Canvas's LATE marker and "-1"
            nbformat.write(nb, base / "in" / "dunndara_LATE_104_9004_M1T1_LIF-1.ipynb")
            continue
        (base / "in" / student).mkdir(parents=True)
        nbformat.write(nb, base / "in" / student / "M1T1_LIF.ipynb")
    out = base / "out"
    cli(course, "grade", str(base / "in"), "--out", str(out))
    return course, base, out


@pytest.mark.slow
def test_published_tree_of_the_term_holds_no_written_model_answer(term):
    _, base, _ = term
    lines = published_lines(base / "public")
    assert not [f for f, found in lines.items() if MODEL_ANSWER in found]
    assert any(QUESTION in found for found in lines.values())


@pytest.mark.slow
def test_grading_folder_is_an_nbgrader_course_with_answers_waiting(term):
    from nbgrader.api import Gradebook

    from neuroai_course.handgrade import nbgrader_api

    _, _, out = term
    assert (out / "source" / "M1T1_LIF" / "M1T1_LIF.ipynb").is_file()
    for s in ("ana", "colecleo", "zoe", "dunndara"):
        assert (out / "autograded" / s / "M1T1_LIF" / "M1T1_LIF.ipynb").is_file()
    report = {r["student"]: r for r in load_csv(out / "report.csv")}
    assert report["dunndara"]["status"] == "late"  # from Canvas's LATE, no --deadline given
    api = nbgrader_api(out)  # configured by the folder's own nbgrader_config.py
    assert Path(api.coursedir.root).resolve() == out.resolve()
    subs = {s["student"]: s for s in api.get_submissions("M1T1_LIF")}
    assert set(subs) == {"ana", "colecleo", "zoe", "dunndara"}
    # what the formgrader's Manage Assignments page shows: 4 submissions, released, the
    # exchange set up; every hand-in listed as graded
    info = api.get_assignment("M1T1_LIF")
    assert info["num_submissions"] == 4 and info["status"] == "released"
    assert not api.exchange_missing
    assert api.get_autograded_students("M1T1_LIF") == {"ana", "colecleo", "zoe", "dunndara"}
    assert all(subs[s]["autograded"] for s in subs)
    assert subs["ana"]["needs_manual_grade"] and subs["colecleo"]["needs_manual_grade"]
    assert not subs["zoe"]["needs_manual_grade"]
    # every hand-in is listed where the formgrader pages through them (file on disk)
    with Gradebook(api.coursedir.db_url) as gb:
        nbs = gb.notebook_submissions("M1T1_LIF", "M1T1_LIF")
        assert len(api.get_notebook_submission_indices("M1T1_LIF", "M1T1_LIF")) == len(nbs) == 4
        (answer,) = [c for c in gb.find_notebook("M1T1_LIF", "M1T1_LIF").grade_cells
                     if c.cell_type == "markdown"]
        assert answer.max_score == ANSWER_POINTS
        zoe = gb.find_comment(answer.name, "M1T1_LIF", "M1T1_LIF", "zoe")
        assert zoe.auto_comment == "No response."
        assert gb.find_grade(answer.name, "M1T1_LIF", "M1T1_LIF", "zoe").score == 0
    # The formgrader's own page (nbgrader's "formgrade" template, as its SubmissionHandler
    # renders autograded/<student>/<assignment>/<notebook>.ipynb): a score box out of the
    # answer's points and a comment box for the written answer.
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    cfg = Config()
    cfg.HTMLExporter.template_name = "formgrade"
    cfg.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    page, _ = HTMLExporter(config=cfg).from_filename(
        str(out / "autograded" / "ana" / "M1T1_LIF" / "M1T1_LIF.ipynb"),
        resources={"assignment_id": "M1T1_LIF", "notebook_id": "M1T1_LIF", "index": 0,
                   "submission_id": "x", "total": 3, "base_url": "/", "student": "ana",
                   "last_name": None, "first_name": None, "notebook_path": "/x"})
    assert re.search(rf'class="score tabbable" id="{answer.name}"[^>]*/>\s*/ 2\.0', page)
    assert f'id="{answer.name}-comment"' in page
    graded = nbformat.read(out / "autograded" / "ana" / "M1T1_LIF" / "M1T1_LIF.ipynb", 4)
    cells = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id")
             == answer.name]
    assert len(cells) == 1 and "The leak pulls" in cells[0].source
    assert graded.metadata["neuroai"]["sanitised"] == 1  # rebuilt with its inert parts only
    assert graded.metadata["neuroai"]["answers"][answer.name] == \
        "The leak pulls <v> back to rest & below threshold."  # as written, for feedback
    text = nbformat.writes(graded)
    assert "BEGIN HIDDEN TESTS" not in text  # the autograded copy never holds hidden tests
    rows = {r["student"]: r for r in load_csv(out / "grades.csv")}
    assert rows["ana"][answer.name] == "" and rows["ana"]["awaiting_hand_grading"] == "1"
    assert float(rows["ana"]["total"]) == FULL and float(rows["ana"]["max"]) == FULL + 2
    page = (out / "feedback" / "ana" / "M1T1_LIF.html").read_text()
    assert "awaiting hand grading" in page


EXERCISE_COMMENT = "Check the rate at rheobase: it should be 0 Hz."


@pytest.fixture(scope="module")
def finalized(term):
    """Hand grades set as the formgrader sets them (nbgrader's GradeHandler and
    CommentHandler: manual_score, needs_manual_grade, manual_comment), then finalised;
    zoe's fi_rate test lowered by hand from 2 to 1, with a comment on her fi_rate answer."""
    from nbgrader.api import Gradebook

    from neuroai_course.handgrade import nbgrader_api

    course, base, out = term
    api = nbgrader_api(out)
    with Gradebook(api.coursedir.db_url) as gb:
        (answer,) = [c.name for c in gb.find_notebook("M1T1_LIF", "M1T1_LIF").grade_cells
                     if c.cell_type == "markdown"]
        for student, score, comment in (("ana", 1.5, "Right idea; say why the leak wins."),
                                        ("colecleo", 2.0, "Exactly: the fixed point is below.")):
            grade = gb.find_grade(answer, "M1T1_LIF", "M1T1_LIF", student)
            grade.manual_score = score
            grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
            gb.find_comment(answer, "M1T1_LIF", "M1T1_LIF", student).manual_comment = comment
        gb.find_grade("test_fi_rate", "M1T1_LIF", "M1T1_LIF", "zoe").manual_score = 1.0
        gb.find_comment("fi_rate", "M1T1_LIF", "M1T1_LIF", "zoe").manual_comment = \
            EXERCISE_COMMENT
        gb.db.commit()
    proc = cli(course, "finalize", str(out))
    return course, base, out, answer, proc


@pytest.mark.slow
def test_finalize_puts_hand_grades_in_totals_and_feedback(finalized):
    _, _, out, answer, proc = finalized
    assert "0 written answers still wait" in proc.stdout
    rows = {r["student"]: r for r in load_csv(out / "grades.csv")}
    # ana: 7 autograded + 1.5 by hand; colecleo: euler_step's 2 + 2 by hand; zoe: 7, less
    # 1 taken by hand from fi_rate, + 0 (answer left as it came: no response)
    assert {s: float(r["total"]) for s, r in rows.items()} == \
        {"ana": FULL + 1.5, "colecleo": 2 + 2, "zoe": FULL - 1, "dunndara": FULL}
    assert {r["max"] for r in rows.values()} == {f"{FULL + ANSWER_POINTS:g}"}
    assert rows["ana"][answer] == "1.5" and rows["ana"]["awaiting_hand_grading"] == "0"
    page = (out / "feedback" / "ana" / "M1T1_LIF.html").read_text()
    assert f"Score: <strong>{FULL + 1.5:g} / {FULL + ANSWER_POINTS:g}</strong>" in page
    assert "1.5 / 2" in page and "Right idea; say why the leak wins." in page
    assert "The leak pulls &lt;v&gt; back to rest &amp; below threshold." in page  # escaped
    assert "awaiting hand grading" not in page
    assert "changed by hand" not in page
    page = (out / "feedback" / "zoe" / "M1T1_LIF.html").read_text()
    assert "No response." in page and f"{FULL - 1:g} / {FULL + ANSWER_POINTS:g}" in page
    row = page.split("<td>test_fi_rate</td>", 1)[1].split("</tr>", 1)[0]
    assert "1 / 2" in row and "changed by hand: 1 of 2, automatic 2" in row
    assert EXERCISE_COMMENT in row
    for s in ("ana", "colecleo", "zoe"):  # the model answer never reaches a student
        assert "Model answer" not in (out / "feedback" / s / "M1T1_LIF.html").read_text()


@pytest.mark.slow
def test_export_for_canvas_follows_its_gradebook_layout(finalized, tmp_path):
    course, base, out, _, _ = finalized
    roster = write_rows(base / "canvas-export.csv", CANVAS_ROSTER)
    proc = cli(course, "export", str(out), "--roster", str(roster))
    assert "1 no hand-in" in proc.stdout and "1 not on roster" in proc.stdout
    assert "warning" not in proc.stderr  # the roster has the tutorial's column
    with (out / "lms" / "canvas.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "M1T1_LIF (4711)"]  # the export's own header for the assignment
    assert rows[1] == ["    Points Possible", "", "", "", "", "9"]
    assert rows[2:] == [["Aland, Ana", "101", "S101", "ana", "Sec A", "8.5"],
                        ["Brook, Ben", "102", "S102", "ben@uni.example", "Sec A", ""],
                        ["Cole, Cleo", "103", "S103", "c.cole", "Sec B", "4"],
                        ["Dunn, Dara", "104", "S104", "dara", "Sec B", "7"]]
    report = {(r["student"], r["roster_name"]): r["status"]
              for r in load_csv(out / "lms" / "roster-report.csv")}
    assert report[("zoe", "")] == "not on roster"
    assert report[("", "Brook, Ben")] == "no hand-in"
    assert report[("dunndara", "Dunn, Dara")] == "matched"  # the late one, by her user id
    assert report[("colecleo", "Cole, Cleo")] == "matched"  # Canvas's lastfirst download name
    with zipfile.ZipFile(out / "lms" / "canvas-feedback-M1T1_LIF.zip") as zf:
        names = sorted(zf.namelist())
        # Canvas's download names: <name>_<user id>_<file>; the user id after the first "_"
        assert [n.split("_")[1] for n in names] == ["101", "103", "104"]
        assert "1.5 / 2" in zf.read(names[0]).decode()
    first = (out / "lms" / "canvas-feedback-M1T1_LIF.zip").read_bytes()
    cli(course, "export", str(out), "--roster", str(roster))
    assert (out / "lms" / "canvas-feedback-M1T1_LIF.zip").read_bytes() == first


@pytest.mark.slow
def test_export_for_moodle_names_feedback_for_its_zip_upload(finalized):
    course, base, out, _, _ = finalized
    roster = write_rows(base / "moodle-worksheet.csv", MOODLE_WORKSHEET)
    cli(course, "export", str(out), "--roster", str(roster))
    with (out / "lms" / "moodle.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Email address", "Full name", "M1T1_LIF"]
    assert rows[1:] == [["ana@uni.example", "Ana Aland", "8.5"],
                        ["cleo@uni.example", "Cleo Cole", "4"],
                        ["dara@uni.example", "Dara Dunn", "7"]]
    with zipfile.ZipFile(out / "lms" / "moodle-feedback-M1T1_LIF.zip") as zf:
        for name in zf.namelist():
            # importziplib.php: explode('_', name, 5): name, participant id (numeric),
            # plugin subtype and type, file name
            parts = name.split("_", 4)
            assert len(parts) == 5 and parts[1].isdigit(), name
            assert parts[2:4] == ["assignfeedback", "file"] and parts[4].endswith(".html")
        assert sorted(n.split("_")[1] for n in zf.namelist()) == ["5001", "5003", "5004"]
    report = load_csv(out / "lms" / "roster-report.csv")
    assert {r["roster_name"] for r in report if r["status"] == "no hand-in"} == {"Ben Brook"}
    assert {r["student"] for r in report if r["status"] == "not on roster"} == {"zoe"}


@pytest.mark.slow
def test_export_rejects_an_unknown_roster(finalized):
    course, base, out, _, _ = finalized
    roster = write_rows(base / "other.csv", [["name", "mark"], ["ana", "3"]])
    proc = subprocess.run([sys.executable, "-m", "neuroai_course.cli", "--root",
                           str(course.root), "export", str(out), "--roster", str(roster)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "not an LMS export this command knows" in proc.stderr


def test_instructor_guide_commands_of_the_term_are_valid():
    """Every command of the guide's "The whole term" section parses with the CLI."""
    text = (ROOT / "book" / "instructor.md").read_text()
    section = text.split("## The whole term", 1)[1].split("\n## ", 1)[0]
    commands = [ln.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)
                for ln in block.splitlines() if ln.strip().startswith("neuroai ")]
    used = {shlex.split(c)[1] for c in commands}
    assert {"publish", "grade", "formgrade", "finalize", "export"} <= used, used
    for c in commands:
        parser().parse_args(shlex.split(c.split("#")[0])[1:])


@pytest.mark.slow
def test_grading_again_keeps_hand_grades_of_unchanged_answers(finalized, tmp_path):
    """``record`` of the same hand-in again (as a second ``neuroai grade`` run does) keeps
    the hand grade of a written answer whose text is unchanged; a changed one waits again."""
    from nbgrader.api import Gradebook

    from neuroai_course.grade import record
    from neuroai_course.handgrade import previous_answers
    from neuroai_course.submissions import Entry

    _, _, out, answer, _ = finalized
    shutil.copyfile(out / "gradebook.db", tmp_path / "gradebook.db")
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    e = Entry(name="ana/M1T1_LIF.ipynb", path=out, student="ana", tutorial="M1T1_LIF")
    previous = previous_answers(out, e)
    result = {"scores": {"test_euler_step": [2.0, 2.0], "test_simulate_euler": [3.0, 3.0],
                         "test_fi_rate": [2.0, 2.0]}}
    note = record(db, e, result, {answer: previous[answer]}, previous)
    assert "hand grades of unchanged written answers kept" in note
    with Gradebook(db) as gb:
        assert gb.find_grade(answer, "M1T1_LIF", "M1T1_LIF", "ana").score == 1.5
        assert gb.find_submission("M1T1_LIF", "ana").score == FULL + 1.5
    record(db, e, result, {answer: "A new answer."}, previous)
    with Gradebook(db) as gb:
        grade = gb.find_grade(answer, "M1T1_LIF", "M1T1_LIF", "ana")
        assert grade.needs_manual_grade and grade.manual_score is None


# --- hand-in names as each LMS writes them ---------------------------------------------------
# Shapes from the LMSs' own downloads: Canvas's "Download Submissions" zip names each file
# <sortable name, lastfirst>_[LATE_]<user id>_<attachment id>_<the student's file name>, the
# file name with "-N" for a resubmission; Moodle's "Download all submissions" names each
# <full name>_<participant id>_assignsubmission_file_<file name> (flat) or puts the file in a
# folder of that name (mod/assign/feedback/file/importziplib.php reads the same shape back).
LMS_NAMES = [
    # (name, --lms, student, user id, attempt, marked late)
    ("colecleo_103_9001_M1T1_LIF.ipynb", "canvas", "colecleo", "103", 0, False),
    ("name_LATE_1004_50004_M1T1_LIF-1.ipynb", "canvas", "name", "1004", 1, True),
    ("name_1004_50005_M1T1_LIF-2.ipynb", "canvas", "name", "1004", 2, False),
    ("Ana Aland_5001_assignsubmission_file_M1T1_LIF.ipynb", "moodle", "Ana-Aland", "5001", 0,
     False),
    ("Ana Aland_5001_assignsubmission_file_/M1T1_LIF.ipynb", "moodle", "Ana-Aland", "5001",
     0, False),
    ("nia_2_M1T1_LIF.ipynb", "generic", "nia", "", 2, False),
    ("ana/M1T1_LIF.ipynb", "canvas", "ana", "", 0, False),  # a folder per student
]


@pytest.mark.parametrize("lms", ["preset", "auto"])
@pytest.mark.parametrize(("name", "preset", "student", "user", "attempt", "late"), LMS_NAMES)
def test_lms_file_names_give_student_user_id_attempt_and_late_marker(
        name, preset, student, user, attempt, late, lms):
    from neuroai_course.submissions import Entry, describe_name

    e = Entry(name, Path(name))
    describe_name(e, preset if lms == "preset" else "auto")
    assert (e.student, e.user, e.attempt, e.late_marked, e.unmatched) == \
        (student, user, attempt, late, False), name


def test_a_name_matching_no_pattern_is_reported_not_renamed_silently(tmp_path):
    from neuroai_course.grade import UNMATCHED
    from neuroai_course.submissions import collect, describe_name, unmatched_names

    (tmp_path / "in").mkdir()
    for name in ("name_LATE_1004_50004_M1T1_LIF-1.ipynb", "my homework.ipynb"):
        (tmp_path / "in" / name).write_text("{}")
    entries = collect(tmp_path / "in", tmp_path, "canvas")
    assert unmatched_names(entries) == ["my homework.ipynb"]
    # the generic pattern does not read Canvas's user id as an attempt number... under
    # canvas, and a Canvas name under the moodle preset matches nothing
    from neuroai_course.submissions import Entry

    e = Entry("name_LATE_1004_50004_M1T1_LIF-1.ipynb", Path("x"))
    describe_name(e, "moodle")
    assert e.unmatched and e.student == "name_LATE_1004_50004_M1T1_LIF-1".replace("_", "-")
    assert "no roster knows" in UNMATCHED


def test_two_students_of_one_name_are_told_apart_by_their_lms_id(tmp_path):
    from neuroai_course.submissions import collect

    (tmp_path / "in").mkdir()
    for name in ("smithjo_201_1_M1T1_LIF.ipynb", "smithjo_202_2_M1T1_LIF.ipynb"):
        (tmp_path / "in" / name).write_text("{}")
    students = sorted(e.student for e in collect(tmp_path / "in", tmp_path, "canvas"))
    assert students == ["smithjo-201", "smithjo-202"]


def test_bad_pattern_is_one_line_error(tmp_path):
    from neuroai_course.project import CourseError
    from neuroai_course.submissions import collect

    with pytest.raises(CourseError, match="needs a group named student"):
        collect(tmp_path, tmp_path, r"^(?P<name>.+)$")


def test_grading_output_is_outside_the_repository_by_default_and_ignored_inside():
    from neuroai_course.cli import default_out

    course = Course(ROOT)
    out = default_out(course)
    assert ROOT.resolve() not in out.parents and out != ROOT.resolve()
    # the old default, grading/ in the repository, is ignored by git
    proc = subprocess.run(["git", "check-ignore", "-q", "grading/grades.csv"], cwd=ROOT)
    assert proc.returncode == 0, "grading/ is not ignored by git"
    args = parser().parse_args(["grade", "x.zip"])
    assert args.out is None and args.lms == "auto"


def test_canvas_columns_are_matched_to_the_lms_assignment_names():
    from neuroai_course.lms import assignment_columns

    # Canvas's export names a column "<assignment name> (<assignment id>)"
    headers = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
               "M1T1: the LIF neuron (4711)", "M1T10 Extra (4720)",
               "M3T2_ModulatedPlasticity (4800)", "Week 5 project (4900)", "Current Score",
               "Final Grade"]
    cols, warnings = assignment_columns(headers, ["M1T1_LIF", "M3T2_ModulatedPlasticity",
                                                  "M5T2_Project"])
    assert cols == {"M1T1_LIF": "M1T1: the LIF neuron (4711)",  # short id as a word only
                    "M3T2_ModulatedPlasticity": "M3T2_ModulatedPlasticity (4800)",
                    "M5T2_Project": "M5T2_Project"}
    assert len(warnings) == 1 and "M5T2_Project" in warnings[0] and \
        "creates a new column 'M5T2_Project'" in warnings[0]
    cols, warnings = assignment_columns(headers, ["M5T2_Project"],
                                        {"M5T2_Project": "Week 5 project (4900)"})
    assert cols == {"M5T2_Project": "Week 5 project (4900)"} and warnings == []


def test_a_hand_in_marked_late_by_canvas_is_late_without_a_deadline():
    from neuroai_course.grade import _judge
    from neuroai_course.submissions import Entry, describe_name

    e = Entry("name_LATE_1004_50004_M1T1_LIF-1.ipynb", Path("x"))
    describe_name(e, "auto")
    _judge(e, {"scores": {}}, deadline=None)
    assert e.status == "late" and "marked late by the LMS" in e.reason
    on_time = Entry("name_1004_50004_M1T1_LIF.ipynb", Path("x"))
    describe_name(on_time, "auto")
    _judge(on_time, {"scores": {}}, deadline=None)
    assert on_time.status == "graded"


def test_export_matches_students_by_the_lms_id_of_their_hand_in(tmp_path):
    """The brief's late Canvas hand-in: 7/7, named by Canvas with LATE and a resubmission
    suffix, lands in her row of the Canvas CSV (matched by her user id 1004)."""
    from neuroai_course.lms import export

    out = tmp_path / "out"
    out.mkdir()
    write_rows(out / "grades.csv", [["student", "tutorial", "total", "max"],
                                    ["name", "M1T1_LIF", "7", "7"]])
    write_rows(out / "report.csv", [["input", "student", "tutorial", "status", "reason"],
                                    ["name_LATE_1004_50004_M1T1_LIF-1.ipynb", "name",
                                     "M1T1_LIF", "late", "marked late by the LMS"]])
    roster = write_rows(tmp_path / "canvas.csv", [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "M1T1 LIF (4711)"],
        ["    Points Possible", "", "", "", "", "7"],
        ["Nguyen, Mai", "1004", "S1004", "mai", "Sec A", ""]])
    done = export(out, roster)
    assert done["counts"] == {"matched": 1} and done["warnings"] == []
    with (out / "lms" / "canvas.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][-1] == "M1T1 LIF (4711)" and rows[2] == ["Nguyen, Mai", "1004", "S1004",
                                                            "mai", "Sec A", "7"]


# --- feedback that names the mistake ---------------------------------------------------------
# Three typical wrong answers to M1T1's euler_step, written out as a student would write them;
# the visible test must name each (on the whole voltage all three read "expected -64.8, got
# -64.9998"-like numbers and get the same hint).
WRONG_EULER = {
    "seconds": ("def euler_step(v_mV, i_nA, params):\n"
                "    dt_s = params.dt_ms / 1000.0\n"
                "    return v_mV + dt_s * (-(v_mV - params.e_leak_mV) + params.r_m_MOhm * i_nA)"
                " / params.tau_m_ms\n"),
    "flipped sign": ("def euler_step(v_mV, i_nA, params):\n"
                     "    slope = ((v_mV - params.e_leak_mV) + params.r_m_MOhm * i_nA) / "
                     "params.tau_m_ms\n"
                     "    return v_mV + params.dt_ms * slope\n"),
    "two Euler steps": ("def euler_step(v_mV, i_nA, params):\n"
                        "    for _ in range(2):\n"
                        "        v_mV = v_mV + params.dt_ms * (-(v_mV - params.e_leak_mV) + "
                        "params.r_m_MOhm * i_nA) / params.tau_m_ms\n"
                        "    return v_mV\n"),
}


def visible_test(tutorial: str, grade_id: str) -> str:
    (t,) = Course(ROOT).select([tutorial])
    cell = next(c for c in notebooks.read_source(t.source).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return cell.source.split("### BEGIN HIDDEN TESTS")[0]


@pytest.mark.parametrize("mistake", sorted(WRONG_EULER))
def test_m1t1_euler_feedback_names_each_typical_mistake(mistake):
    namespace: dict = {}
    exec(WRONG_EULER[mistake], namespace)
    with pytest.raises(AssertionError) as caught:
        exec(visible_test("M1T1_LIF", "test_euler_step"), namespace)
    message = str(caught.value)
    assert "Likely mistake: " in message and mistake in message, message


def test_m1t1_euler_visible_test_passes_a_right_answer_written_differently():
    namespace: dict = {}
    exec("def euler_step(v_mV, i_nA, params):\n"
         "    k = params.dt_ms / params.tau_m_ms\n"
         "    return (1 - k) * v_mV + k * (params.e_leak_mV + params.r_m_MOhm * i_nA)\n",
         namespace)
    exec(visible_test("M1T1_LIF", "test_euler_step"), namespace)  # raises nothing


# --- written answers graded by hand ----------------------------------------------------------

def test_three_tutorials_have_a_written_answer_whose_model_answer_only_instructors_see():
    from neuroai_course.book import MODEL_ANSWER_OPEN, reader_page

    course = Course(ROOT)
    with_answers = []
    for t in course.tutorials():
        nb = notebooks.read_source(t.source)
        answers = [c for c in nb.cells if c.cell_type == "markdown"
                   and c.metadata.get("nbgrader", {}).get("grade")]
        if not answers:
            continue
        with_answers.append(t.id)
        model = "\n".join(answers[0].source.splitlines()[1:]).strip()
        assert len(model) > 200, t.id  # a model answer, not a stub
        student = nbformat.read(t.student, 4)
        assert model.splitlines()[0] not in "\n".join(c.source for c in student.cells), t.id
        for instructor in (False, True):
            page = "\n".join(c.source for c in reader_page(course, t, nb, instructor).cells)
            assert (MODEL_ANSWER_OPEN in page and model.splitlines()[0] in page) == \
                instructor, (t.id, instructor)
    assert {"M1T1_LIF", "M3T2_ModulatedPlasticity", "M4T1_Forgetting",
            "M4T2_EWC_SI"} <= set(with_answers), with_answers


def test_published_pages_and_readme_speak_to_students(tmp_path):
    from neuroai_course.publish import tree

    files = tree(Course(ROOT), PUBLIC)
    readme = files["README.md"].decode()
    instructor_readme = (ROOT / "README.md").read_text()
    assert readme != instructor_readme
    for word in ("dev.sh", "solutions/", "neuroai_course", "neuroai grade", "instructor build",
                 "neuroai-course/neuroai-course"):
        assert word not in readme, word
    assert f"git clone {PUBLIC}" in readme and "colab.research.google.com/github/example-org/" \
        "neuroai-public/blob/main/tutorials/M1_Neurons/M1T1_LIF.ipynb" in readme
    for rel, data in files.items():
        if rel.endswith(".md"):
            text = data.decode()
            assert "<!-- instructors -->" not in text, rel
            assert "solutions/" not in text or rel == "book/limits.md", rel
            assert "neuroai-course/neuroai-course" not in text, rel
    assert "instructor" not in files["book/intro.md"].decode().lower()
    assert "instructors" not in files["book/start.md"].decode()
    assert f"git clone {PUBLIC}" in files["book/start.md"].decode()
    assert "book/performance.md" not in files and "performance" not in files["_toc.yml"].decode()


# --- the release students install ------------------------------------------------------------

def _git(root: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
           "PATH": "/usr/bin:/bin", "HOME": str(root)}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True, env=env).stdout


def test_release_tag_is_required_where_the_repository_tags_releases(tmp_path, monkeypatch):
    from neuroai_course.project import CourseError
    from neuroai_course.release import create_tag, tag_problem

    course = copy_course(tmp_path / "course")
    tag = course.release
    # not a git repository, nothing asks for the tag: not judged (a folder, CI's clone)
    assert tag_problem(course) is None
    root = course.root
    for k, v in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                 "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}.items():
        monkeypatch.setenv(k, v)
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "course")
    assert tag_problem(course) is None  # a clone without tags
    _git(root, "tag", "v0.0.1")  # a repository that tags its releases, but not this one
    problem = tag_problem(course)
    assert problem and f"no tag {tag}" in problem and "neuroai release --tag" in problem
    # the released files changed and not committed: no tag
    (root / "_config.yml").write_text((root / "_config.yml").read_text() + "\n# edited\n")
    with pytest.raises(CourseError, match="commit the released files first"):
        create_tag(course)
    _git(root, "commit", "-qam", "edit")
    assert f"as {tag}" in create_tag(course)
    assert tag in _git(root, "tag", "--list").split() and tag_problem(course) is None
    assert "already exists" in create_tag(course)
    # asked for in _config.yml: required even in a repository without tags
    _git(root, "tag", "-d", tag, "v0.0.1")
    with (root / "_config.yml").open("a") as f:
        f.write("require_release_tag: true\n")
    assert f"no tag {tag}" in tag_problem(Course(root))
    # neuroai check stops on it, in one line, before checking anything
    proc = subprocess.run([sys.executable, "-m", "neuroai_course.cli", "--root", str(root),
                           "check", "M1T1_LIF"], capture_output=True, text=True)
    assert proc.returncode == 1 and f"no tag {tag}" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_this_repository_has_its_release_tag_or_no_tags_at_all():
    from neuroai_course.release import tag_problem

    assert tag_problem(Course(ROOT)) is None
