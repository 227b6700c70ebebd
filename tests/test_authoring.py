"""Authoring without nbgrader metadata: first-line marks, ``neuroai new``, one-line errors."""

import nbformat
import pytest
from conftest import ROOT, copy_course, tutorial_ids
from test_course import assert_one_line_error, neuroai

from neuroai_course import notebooks
from neuroai_course.authoring import ANSWER, DEF, apply_marks
from neuroai_course.check import AUTOGRADE_BUDGET_S, RUN_BUDGET_S, check_tutorial
from neuroai_course.project import Course, CourseError

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell

EXERCISE = ("# exercise\ndef square(x):\n    ### BEGIN SOLUTION\n    return x * x\n"
            "    ### END SOLUTION")
TEST = ("# test: 2 points\nassert square(3) == 9, 'square(3) should be 9'\n"
        "### BEGIN HIDDEN TESTS\nassert square(-2) == 4\n### END HIDDEN TESTS")


def marked(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def meta(nb, i):
    return nb.cells[i].metadata.get("nbgrader")


def test_marks_become_nbgrader_metadata():
    nb = apply_marks(marked(md("# T"), code(EXERCISE), code(TEST),
                            code("# Test the square by eye\nprint(square(4))"),
                            code(EXERCISE.replace("square", "cube").replace("x * x", "x ** 3")
                                 .replace("# exercise", "# exercise: my_cube")),
                            code(TEST.replace("square(3) == 9", "cube(2) == 8")
                                 .replace("2 points", "1 point")),
                            code("# test: 1.5 points\nassert cube(1) == 1\n"
                                 "### BEGIN HIDDEN TESTS\nassert cube(0) == 0\n"
                                 "### END HIDDEN TESTS"),
                            md("<!-- answer: 3 points -->\nWhy?")), "t.ipynb")
    assert meta(nb, 1) == {"grade": False, "grade_id": "square", "locked": False,
                           "schema_version": 3, "solution": True}
    assert meta(nb, 2) == {"grade": True, "grade_id": "test_square", "locked": True,
                           "points": 2.0, "schema_version": 3, "solution": False}
    assert meta(nb, 3) is None  # a comment that merely starts with "Test" is not a mark
    assert meta(nb, 4)["grade_id"] == "my_cube"
    assert (meta(nb, 5)["grade_id"], meta(nb, 5)["points"]) == ("test_my_cube", 1.0)
    assert (meta(nb, 6)["grade_id"], meta(nb, 6)["points"]) == ("test_my_cube_2", 1.5)
    assert meta(nb, 7) == {"grade": True, "grade_id": "answer_8", "locked": False,
                           "points": 3.0, "schema_version": 3, "solution": True}
    notebooks.lint("t.ipynb", nb)  # what the marks make passes nbgrader's own rules


def metadata_authored() -> list[str]:
    """The tutorials written with nbgrader's toolbar (metadata in the file, no marks)."""
    return [t.id for t in Course(ROOT).tutorials()
            if any("nbgrader" in c.metadata for c in notebooks.read(t.source).cells)]


def test_both_ways_of_authoring_are_in_use():
    assert 0 < len(metadata_authored()) < len(tutorial_ids())


@pytest.mark.parametrize("tid", metadata_authored())
def test_marks_reproduce_every_tutorials_metadata(tid):
    """The naming rules of the marks are those the course's tutorials were written with:
    strip each toolbar-made tutorial's nbgrader metadata, put marks in its place, and the
    marks give back the same grade ids, points and cell kinds."""
    (t,) = Course(ROOT).select([tid])
    original = notebooks.read(t.source)
    stripped = nbformat.from_dict(original)
    for cell in stripped.cells:
        m = cell.metadata.pop("nbgrader", None)
        if m and m.get("solution") and cell.cell_type == "code":
            # A cell defining several functions names its exercise (op_counters,
            # si_functions); otherwise the id is the function's name.
            first_def = DEF.findall(cell.source)[:1]
            named = "" if first_def == [m["grade_id"]] else f": {m['grade_id']}"
            cell.source = f"# exercise{named}\n" + cell.source
        elif m and m.get("grade"):
            cell.source = f"# test: {m['points']:g} points\n" + cell.source
    again = apply_marks(stripped, t.id)
    for a, b in zip(original.cells, again.cells, strict=True):
        want, got = a.metadata.get("nbgrader"), b.metadata.get("nbgrader")
        if want is None:
            # a cell marked in the file itself (a written answer, "<!-- answer: 2 points -->",
            # added to a toolbar-made tutorial) gets its metadata from its mark
            marked = a.cell_type == "markdown" and ANSWER.match(
                (a.source.splitlines() or [""])[0].strip())
            assert got is None or (marked and got["grade"] and got["solution"])
            continue
        for key in ("grade_id", "grade", "solution", "locked"):
            assert got[key] == want[key], (key, want, got)
        assert float(got.get("points", 0)) == float(want.get("points", 0))


@pytest.mark.parametrize("cells, words", [
    ((code(EXERCISE.replace("### BEGIN SOLUTION\n", "")), code(TEST)),
     ["cell 1", "no solution region", "### BEGIN SOLUTION"]),
    ((code(TEST), code(EXERCISE)), ["cell 1", "no exercise above it", "# exercise"]),
    ((code(EXERCISE), code(TEST.replace("2 points", "two points"))),
     ["cell 2", "points must be a positive number", "'two'"]),
    ((code(EXERCISE), code(TEST.replace("2 points", "0 points"))),
     ["cell 2", "positive number", "'0'"]),
    ((code(EXERCISE), code(TEST.replace("# test: 2 points", "# test: 2 pts"))),
     ["cell 2", "cannot read the mark", "'# test: 2 pts'", "# test: 2 points"]),
    ((code(EXERCISE), code(TEST.replace("# test: 2 points\n", ""))),
     ["cell 2", "### BEGIN HIDDEN TESTS", "not a test", "# test: 2 points"]),
    ((code(EXERCISE.replace("# exercise\n", "")), code(TEST)),
     ["cell 1", "### BEGIN SOLUTION", "not an exercise", "# exercise"]),
    ((code(EXERCISE), md("text")), ["cell 1", "exercise square", "has no test"]),
    ((code(EXERCISE), code("# test: 1 point\nassert square(2) == 4")),
     ["cell 2", "test_square", "no hidden tests"]),
    ((code(EXERCISE), code("# test: 1 point\n### BEGIN HIDDEN TESTS\nassert 1\n"
                           "### END HIDDEN TESTS")),
     ["cell 2", "no visible check"]),
    ((code(EXERCISE), code(TEST), code(EXERCISE), code(TEST)),
     ["cell 3", "'square' is already used", "# exercise: another_id"]),
    ((code(EXERCISE), code(TEST.replace("### END HIDDEN TESTS", ""))),
     ["cell 2", "no matching '### END HIDDEN TESTS'"]),
])
def test_mistakes_are_one_clear_line(cells, words):
    with pytest.raises(CourseError) as err:
        apply_marks(marked(*cells), "solutions/M9/M9T1_X.ipynb")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("solutions/M9/M9T1_X.ipynb")
    for word in words:
        assert word in msg, (word, msg)


def test_cli_reports_a_broken_mark_in_one_line(tmp_path):
    copy = copy_course(tmp_path)
    src = copy.tutorials()[0].source
    nb = nbformat.read(src, 4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    del cell.metadata["nbgrader"]
    cell.source = "# test: three points\n" + cell.source
    nbformat.write(nb, src)
    assert_one_line_error(neuroai(tmp_path, "release", "M1T1_LIF"), "M1T1_LIF.ipynb",
                          "points must be a positive number", "'three'")
    proc = neuroai(tmp_path, "check", "M1T1_LIF")  # the table names the problem
    assert_one_line_error(proc, "check failed for M1T1_LIF")
    problem = [ln for ln in proc.stdout.splitlines() if "M1T1_LIF.ipynb" in ln]
    assert len(problem) == 1 and "points must be a positive number, got 'three'" in problem[0]


@pytest.mark.slow
def test_new_tutorial_is_registered_and_passes_check(tmp_path):
    copy = copy_course(tmp_path)
    proc = neuroai(tmp_path, "new", "M9T1_Probe", "--title", "A probe", "--module", "M9_Probes")
    assert proc.returncode == 0, proc.stderr
    (t,) = copy.select(["M9T1_Probe"])
    assert t.source.is_file() and t.student.is_file()
    assert "- file: tutorials/M9_Probes/M9T1_Probe" in (tmp_path / "_toc.yml").read_text()
    assert "- file: book/M9_Probes" in (tmp_path / "_toc.yml").read_text()
    assert (tmp_path / "book" / "M9_Probes.md").is_file()
    syllabus = (tmp_path / "book" / "syllabus.md").read_text()
    assert "[A probe](../tutorials/M9_Probes/M9T1_Probe.ipynb)" in syllabus
    # No nbgrader metadata is written by hand: the source carries marks only.
    assert not any("nbgrader" in c.metadata for c in nbformat.read(t.source, 4).cells)
    res = check_tutorial(copy, t, tmp_path / "work", run_budget_s=3 * RUN_BUDGET_S,
                         autograde_budget_s=3 * AUTOGRADE_BUDGET_S)
    assert res.ok, "\n".join(res.problems)
    assert res.graded == 1 and res.points == 2
    # A second tutorial of the same module goes under the same chapter; clashes are errors.
    assert neuroai(tmp_path, "new", "M9T2_Second", "--title", "Second").returncode == 0
    toc = (tmp_path / "_toc.yml").read_text()
    assert toc.index("M9T1_Probe") < toc.index("M9T2_Second") < toc.index("book/instructor")
    assert toc.count("- file: book/M9_Probes") == 1
    assert_one_line_error(neuroai(tmp_path, "new", "M9T1_Other", "--title", "x"),
                          "M9T1 is taken by M9T1_Probe")
    assert_one_line_error(neuroai(tmp_path, "new", "Decoding", "--title", "x"),
                          "tutorial id must look like M5T1_Decoding", "'Decoding'")
    assert_one_line_error(neuroai(tmp_path, "new", "M8T1_X", "--title", "x"),
                          "module M8 has no folder", "--module M8_")
