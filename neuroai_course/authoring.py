"""Authoring conventions: what an instructor writes instead of nbgrader metadata.

A source notebook marks its graded cells with a first line; the course tools turn the
marks into nbgrader metadata whenever they read a source (release, check, book, grade), so
nobody edits nbgrader's metadata by hand:

``# exercise`` (code cell)
    A graded answer. The solution goes between ``### BEGIN SOLUTION`` and
    ``### END SOLUTION``; students get a stub there. Its id is the name of the first
    function the cell defines (``# exercise: my_id`` names it explicitly).
``# test: 2 points`` (code cell)
    The autograded test of the exercise above it: visible checks first, then hidden ones
    between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (removed from the
    student version, restored by the autograder). Its id is ``test_<exercise id>``.
``# reference: neuroai_core.module.function`` (a line anywhere in a test cell)
    The library function the exercise re-implements (several separated by commas; ``none``
    when there is none). The tools move it into the cell's metadata
    (``metadata.neuroai.references``, read by :func:`references`) and out of the source, so
    neither the test a student sees nor the student version names the answer. Under
    grading it is unavailable to the student's code, and the whole test cell runs in the
    grader's process, calling the student's functions in their kernel (see the authoring
    guide, ``book/authoring.md``).
``<!-- answer: 1 point -->`` (markdown cell)
    A written answer graded by hand; the student writes below the question.

Cells that already carry nbgrader metadata (made with nbgrader's toolbar) are kept as they
are. Every mistake is reported in one line: the cell, what is wrong and how to fix it.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from neuroai_course.project import CourseError

SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"

_ID = r"[A-Za-z_][A-Za-z0-9_]*"
EXERCISE = re.compile(rf"^#\s*exercise\s*(?::\s*(?P<id>{_ID}))?\s*$", re.IGNORECASE)
TEST = re.compile(
    rf"^#\s*test\s*(?::\s*(?:(?P<id>{_ID})\s*,\s*)?(?P<points>\S+)\s+points?)?\s*$",
    re.IGNORECASE,
)
ANSWER = re.compile(r"^<!--\s*answer\s*:\s*(?P<points>\S+)\s+points?\s*-->\s*$", re.IGNORECASE)
# A first line that looks like a mark but is not one (a typo) is reported, not ignored.
REFERENCE = re.compile(r"^[ \t]*#[ \t]*reference[ \t]*:[ \t]*(?P<refs>.+?)[ \t]*(?:\n|$)",
                       re.IGNORECASE | re.MULTILINE)
NEAR_MISS = re.compile(r"^(#\s*(exercise|test)\s*:|<!--\s*answer\b)", re.IGNORECASE)
DEF = re.compile(rf"^def\s+({_ID})\s*\(", re.MULTILINE)

EXERCISE_HELP = "'# exercise' (or '# exercise: some_id')"
TEST_HELP = "'# test: 2 points'"
ANSWER_HELP = "'<!-- answer: 1 point -->'"


def grade_meta(cell) -> dict:
    """A cell's nbgrader metadata ({} when it has none)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def references(cell) -> list[str]:
    """The dotted library functions a test cell's exercise re-implements, from the cell's
    metadata (``[]`` for none, or for a cell that declares nothing: see
    :func:`declares_references`)."""
    return list(cell.get("metadata", {}).get("neuroai", {}).get("references", []) or [])


def declares_references(cell) -> bool:
    """True when a test cell says what its exercise re-implements (possibly nothing)."""
    return "references" in (cell.get("metadata", {}).get("neuroai", {}) or {})


def _move_references(cell) -> None:
    """Move a test cell's ``# reference:`` lines into its metadata, out of its source."""
    found = list(REFERENCE.finditer(cell.source))
    if not found:
        return
    refs = [r.strip() for m in found for r in m.group("refs").split(",")]
    refs = [r for r in refs if r and r.lower() != "none"]
    cell.metadata.setdefault("neuroai", {})["references"] = refs
    cell.source = REFERENCE.sub("", cell.source)


def _points(text: str, where: str, example: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise CourseError(f"{where}: points must be a positive number, got {text!r}; "
                          f"write {example}")
    return value


def _meta(grade_id: str, *, solution: bool, grade: bool, points: float | None = None,
          locked: bool = False) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution}
    if points is not None:
        meta["points"] = points
    return meta


def _between(src: str, begin: str, end: str) -> bool:
    i, j = src.find(begin), src.find(end)
    return i >= 0 and j > i


def apply_marks(nb: nbformat.NotebookNode, label: str | Path) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose marked cells carry nbgrader metadata.

    ``label`` names the notebook in error messages (e.g. its path in the course).
    """
    nb = nbformat.from_dict(nb)
    last_exercise: str | None = None
    used: set[str] = {
        c.metadata["nbgrader"]["grade_id"] for c in nb.cells
        if isinstance(grade_meta(c).get("grade_id"), str)
    }

    def fresh(base: str) -> str:
        gid, n = base, 2
        while gid in used:
            gid, n = f"{base}_{n}", n + 1
        used.add(gid)
        return gid

    for i, cell in enumerate(nb.cells):
        where = f"{label}: cell {i + 1}"
        src = cell.get("source", "")
        first = src.split("\n", 1)[0].strip()
        existing = grade_meta(cell)
        if existing.get("solution") and cell.cell_type == "code":
            last_exercise = existing.get("grade_id") or last_exercise
        if cell.cell_type == "code" and (m := EXERCISE.match(first)):
            if not _between(src, SOLUTION_BEGIN, SOLUTION_END):
                raise CourseError(f"{where} is marked '# exercise' but has no solution region; "
                                  f"put the answer between '{SOLUTION_BEGIN}' and "
                                  f"'{SOLUTION_END}'")
            names = DEF.findall(src)
            base = m.group("id") or (names[0] if names else f"exercise_{i + 1}")
            if existing.get("grade_id"):
                gid = existing["grade_id"]
            elif base in used:
                raise CourseError(f"{where}: exercise id {base!r} is already used; name it "
                                  f"'# exercise: another_id'")
            else:
                gid = fresh(base)
            cell.metadata["nbgrader"] = _meta(gid, solution=True, grade=False)
            last_exercise = gid
        elif cell.cell_type == "code" and (m := TEST.match(first)):
            if last_exercise is None:
                raise CourseError(f"{where} is a test with no exercise above it; move it "
                                  f"below the cell marked {EXERCISE_HELP}")
            points = _points(m.group("points") or "1", where, TEST_HELP)
            if existing.get("grade_id"):
                gid = existing["grade_id"]
            elif m.group("id"):
                if m.group("id") in used:
                    raise CourseError(f"{where}: test id {m.group('id')!r} is already used")
                gid = fresh(m.group("id"))
            else:
                gid = fresh(f"test_{last_exercise}")
            cell.metadata["nbgrader"] = _meta(gid, solution=False, grade=True, points=points,
                                              locked=True)
        elif cell.cell_type == "markdown" and (m := ANSWER.match(first)):
            points = _points(m.group("points"), where, ANSWER_HELP)
            gid = existing.get("grade_id") or fresh(f"answer_{i + 1}")
            cell.metadata["nbgrader"] = _meta(gid, solution=True, grade=True, points=points)
        elif NEAR_MISS.match(first):
            raise CourseError(f"{where}: cannot read the mark {first!r}; write "
                              f"{EXERCISE_HELP}, {TEST_HELP} or {ANSWER_HELP}")
        # Regions in a cell of the wrong kind, marked or made with the toolbar alike.
        meta = grade_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            _move_references(cell)
        if SOLUTION_BEGIN in src and not meta.get("solution"):
            raise CourseError(f"{where} has '{SOLUTION_BEGIN}' but is not an exercise; "
                              f"start the cell with {EXERCISE_HELP}")
        if HIDDEN_BEGIN in src and not meta.get("grade"):
            raise CourseError(f"{where} has '{HIDDEN_BEGIN}' but is not a test; start "
                              f"the cell with {TEST_HELP}")
        if meta.get("grade") and cell.cell_type == "code" and HIDDEN_BEGIN in src and \
                not _between(src, HIDDEN_BEGIN, HIDDEN_END):
            raise CourseError(f"{where}: '{HIDDEN_BEGIN}' has no matching '{HIDDEN_END}' "
                              "after it")
    _every_exercise_tested(nb, label)
    return nb


def _every_exercise_tested(nb: nbformat.NotebookNode, label) -> None:
    """Each autograded answer is followed by at least one test before the next answer,
    and that test has visible checks and hidden tests."""
    pending: tuple[int, str] | None = None
    tested = False
    for i, cell in enumerate(nb.cells + [None]):
        meta = {} if cell is None else grade_meta(cell)
        code = cell is not None and cell.cell_type == "code"
        starts = cell is None or (code and meta.get("solution") and not meta.get("grade"))
        if starts and pending is not None and not tested:
            j, gid = pending
            raise CourseError(f"{label}: cell {j + 1} (exercise {gid}) has no test; add a cell "
                              f"below it starting with {TEST_HELP}")
        if cell is None:
            break
        if starts:
            pending, tested = (i, meta.get("grade_id", "?")), False
        elif code and meta.get("grade") and pending is not None:
            tested = True
            src = cell.source
            visible = src.split(HIDDEN_BEGIN)[0].splitlines()
            if not any(ln.strip() and not ln.strip().startswith("#") for ln in visible):
                raise CourseError(f"{label}: cell {i + 1} ({meta.get('grade_id')}) has no "
                                  "visible check; students need one that prints what was "
                                  "expected and what came back")
            if HIDDEN_BEGIN not in src:
                raise CourseError(f"{label}: cell {i + 1} ({meta.get('grade_id')}) has no "
                                  f"hidden tests; add them between '{HIDDEN_BEGIN}' and "
                                  f"'{HIDDEN_END}'")
