"""Course invariants for every tutorial in solutions/ (discovered, not listed), and the
CLI's answers to the mistakes instructors make."""

import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT, copy_course, tutorial_ids

from neuroai_course import notebooks
from neuroai_course.check import AUTOGRADE_BUDGET_S, RUN_BUDGET_S, check_tutorial
from neuroai_course.release import release


def test_tutorials_are_discovered(course):
    assert "M1T1_LIF" in tutorial_ids()
    for t in course.tutorials():
        assert t.source.exists() and t.rel.startswith("tutorials/")


@pytest.mark.slow
@pytest.mark.parametrize("tid", tutorial_ids())
def test_tutorial_invariants(course, tid, tmp_path):
    """Runs offline within budget; source scores full marks; the untouched student
    version scores zero on every graded cell; tutorials/ is in sync with solutions/."""
    (t,) = course.select([tid])
    # The 60 s / 20 s budgets are enforced by `neuroai check` in the main job
    # (`./dev.sh build`), which prints the measured seconds. Here, on a shared machine
    # running other tests in parallel, only a gross regression (3x) fails.
    res = check_tutorial(course, t, tmp_path, run_budget_s=3 * RUN_BUDGET_S,
                         autograde_budget_s=3 * AUTOGRADE_BUDGET_S)
    assert res.ok, "\n".join(res.problems)
    assert 2 <= res.graded <= 4, f"{tid} has {res.graded} graded exercises (the course allows 2-4)"


@pytest.mark.parametrize("tid", tutorial_ids())
def test_tutorial_anatomy(course, tid):
    """The course's tutorial anatomy: every graded test cell has hidden tests and a visible
    check; the student version carries the Colab badge and the setup cell first."""
    (t,) = course.select([tid])
    src = notebooks.read_source(t.source)  # authoring marks become nbgrader metadata
    tests = [c for c in src.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests, f"{tid} has no graded test cells"
    for cell in tests:
        gid = cell.metadata["nbgrader"]["grade_id"]
        assert "### BEGIN HIDDEN TESTS" in cell.source, f"{gid} has no hidden tests"
        visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        assert "check_" in visible, f"{gid}'s visible part gives no helpful message"
        # Test cells import their references themselves: a student who rebinds a name in
        # the notebook (np, lif_rate, check_close) cannot change what the test compares to.
        assert "import numpy as np" in visible and "from neuroai_core" in visible, gid
    student = nbformat.read(t.student, 4)
    assert student.cells[0].id == "colab-badge"
    assert course.colab_url(t) in student.cells[0].source
    first_code = next(c for c in student.cells if c.cell_type == "code")
    assert first_code.id == "setup-install" and "--no-deps" in first_code.source
    assert "torch" not in first_code.source.split("%pip")[1].split("\n")[0].replace(
        "torch, numpy untouched", "")
    assert not any(c.get("outputs") for c in student.cells if c.cell_type == "code")


def test_every_tutorial_is_in_toc_and_syllabus(course):
    course.check_toc()
    syllabus = (ROOT / "book" / "syllabus.md").read_text()
    for t in course.tutorials():
        assert f"../{t.rel}.ipynb" in syllabus, f"{t.id} is not linked from the syllabus"


@pytest.mark.slow
def test_release_is_byte_stable_and_in_sync(tmp_path):
    copy = copy_course(tmp_path / "course")
    first = release(copy)
    assert first and not any(changed for _, changed in first), "tutorials/ is out of date"
    (copy.tutorials()[0].student).unlink()
    assert [changed for _, changed in release(copy)][0] is True
    assert not any(changed for _, changed in release(copy))


def _edit_cell(nb_path, grade_id, new_source):
    nb = nbformat.read(nb_path, 4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    cell.source = new_source
    nbformat.write(nb, nb_path)


@pytest.mark.slow
def test_check_catches_a_test_that_cannot_fail_and_a_wrong_reference(tmp_path):
    copy = copy_course(tmp_path / "course")
    t = copy.select(["M1T1_LIF"])[0]
    _edit_cell(t.source, "test_euler_step",
               "print('looks fine')\n### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS")
    _edit_cell(t.source, "fi_rate",
               "def fi_rate(i_nA, params):\n    ### BEGIN SOLUTION\n"
               "    return np.zeros(len(i_nA))\n    ### END SOLUTION")
    release(copy)
    res = check_tutorial(copy, t, tmp_path / "work")
    text = "\n".join(res.problems)
    assert "test_euler_step scored 2 of 2 untouched, expected 0" in text
    assert "test_fi_rate scored 0 of 2, expected full marks" in text
    assert "cell 18 (test_fi_rate) raised AssertionError" in text  # the source's own run
    assert len(res.problems) == 3, text


def neuroai(root, *args):
    return subprocess.run([sys.executable, "-m", "neuroai_course.cli", "--root", str(root),
                           *args], capture_output=True, text=True)


def assert_one_line_error(proc, *words):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("[IPKernelApp]")]
    assert len(lines) == 1 and lines[0].startswith("neuroai: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def _set_meta(nb_path, which, **changes):
    nb = nbformat.read(nb_path, 4)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == which:
            c.metadata["nbgrader"].update(changes)
    nbformat.write(nb, nb_path)


def test_error_solution_cell_without_id(tmp_path):
    copy = copy_course(tmp_path)
    _set_meta(copy.tutorials()[0].source, "euler_step", grade_id="")
    assert_one_line_error(neuroai(tmp_path, "release"), "M1T1_LIF.ipynb", "cell 8", "grade_id")


def test_error_duplicate_grade_id(tmp_path):
    copy = copy_course(tmp_path)
    _set_meta(copy.tutorials()[0].source, "fi_rate", grade_id="euler_step")
    assert_one_line_error(neuroai(tmp_path, "release"), "M1T1_LIF.ipynb", "share grade_id",
                          "'euler_step'")


def test_error_tutorial_missing_from_toc(tmp_path):
    copy_course(tmp_path)
    toc = tmp_path / "_toc.yml"
    toc.write_text(toc.read_text().replace("          - file: tutorials/M1_Neurons/M1T1_LIF\n", ""))
    for cmd in ("release", "check", "book"):
        assert_one_line_error(neuroai(tmp_path, cmd), "missing from _toc.yml",
                              "- file: tutorials/M1_Neurons/M1T1_LIF")


def test_error_unknown_tutorial_and_no_course(tmp_path):
    copy_course(tmp_path)
    assert_one_line_error(neuroai(tmp_path, "check", "M9T9"), "unknown tutorial 'M9T9'")
    assert_one_line_error(neuroai(tmp_path / "book", "release"), "no course found")


@pytest.mark.slow
def test_error_notebook_that_fails_to_run(tmp_path):
    copy = copy_course(tmp_path)
    nb_path = copy.tutorials()[0].source
    nb = nbformat.read(nb_path, 4)
    demo = next(c for c in nb.cells if c.id == "demo-params")
    demo.source = "params = LIFParams(tau_m_ms=-1.0)"
    nbformat.write(nb, nb_path)
    proc = neuroai(tmp_path, "check")
    assert proc.returncode == 1
    assert "FAIL" in proc.stdout
    assert "cell 4 raised ValueError: tau_m_ms must be positive, got -1.0" in proc.stdout
