"""``neuroai check``: prove the invariants of every tutorial.

For each tutorial: the source runs top to bottom offline within its budget; autograding
the source gives full marks, within the autograder budget; autograding the untouched
student version gives zero on every graded cell; ``tutorials/`` is in sync with
``solutions/``; the tutorial has its page in ``_toc.yml``.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from neuroai_course import notebooks
from neuroai_course.nbgrader_ops import Workspace
from neuroai_course.project import Course, CourseError, Tutorial
from neuroai_course.release import student_version

RUN_BUDGET_S = 60.0
AUTOGRADE_BUDGET_S = 20.0


@dataclass
class CheckResult:
    tutorial: Tutorial
    graded: int = 0
    points: float = 0.0
    run_s: float = float("nan")
    autograde_s: float = float("nan")
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def executed_path(course: Course, t: Tutorial) -> Path:
    """Where the executed source is cached for the website build."""
    return course.root / "_build" / "executed" / t.module / f"{t.id}.ipynb"


def run_source(course: Course, t: Tutorial, source: nbformat.NotebookNode | None = None):
    """Execute the source (``source``: the one already read with ``read_source``); cache
    it (keyed by the source's digest); return ``(nb, s)``."""
    if source is None:
        source = notebooks.read_source(t.source, t.source.relative_to(course.root))
    executed, seconds = notebooks.execute(t.source, source)
    executed.metadata["neuroai"] = {"source_sha256": source_digest(t.source)}
    notebooks.write(executed, executed_path(course, t))
    return executed, seconds


def _score_problems(scores, want_full: bool, label: str) -> list[str]:
    problems = []
    for s in scores:
        if want_full and s.score != s.max_score:
            problems.append(f"{label}: {s.grade_id} scored {s.score:g} of {s.max_score:g}, "
                            "expected full marks (the reference fails its own test)")
        if not want_full and s.score != 0:
            problems.append(f"{label}: {s.grade_id} scored {s.score:g} of {s.max_score:g} "
                            "untouched, expected 0 (this test cannot fail)")
    return problems


def check_tutorial(course: Course, t: Tutorial, workdir: Path,
                   run_budget_s: float = RUN_BUDGET_S,
                   autograde_budget_s: float = AUTOGRADE_BUDGET_S) -> CheckResult:
    """Check one tutorial; every violation becomes a line of ``problems``.

    A source that fails to run is reported, and the grading checks still run, so one
    pass names every problem of the tutorial.
    """
    res = CheckResult(t)
    rel = t.source.relative_to(course.root)
    try:
        source = notebooks.read_source(t.source, rel)
    except CourseError as err:
        res.problems.append(str(err))
        return res
    graded = notebooks.graded_cells(source)
    res.graded, res.points = len(graded), sum(graded.values())
    if not graded:
        res.problems.append(f"{rel}: no graded test cells (an exercise needs a test cell "
                            "starting with '# test: 1 point')")
    try:
        _, res.run_s = run_source(course, t, source)
        if res.run_s > run_budget_s:
            res.problems.append(f"{rel}: ran in {res.run_s:.1f} s, over its "
                                f"{run_budget_s:g} s budget")
    except CourseError as err:
        res.problems.append(str(err))
    ws = Workspace(workdir / t.id)
    try:
        res.problems += _grading_problems(course, t, source, ws, res, autograde_budget_s)
    except CourseError as err:
        res.problems.append(str(err))
    finally:
        ws.close()
    return res


def _grading_problems(course: Course, t: Tutorial, source: nbformat.NotebookNode,
                      ws: Workspace, res: CheckResult, autograde_budget_s: float) -> list[str]:
    """Sync of tutorials/, full marks for the source, zero for the untouched student."""
    rel = t.source.relative_to(course.root)
    problems = []
    fresh = nbformat.writes(student_version(course, t, ws, source)) + "\n"
    student = t.student
    if not student.exists() or student.read_text(encoding="utf-8") != fresh:
        problems.append(f"{t.rel}.ipynb is out of date with {rel}: run 'neuroai release'")
        student = ws.root / f"{t.id}-fresh.ipynb"
        student.write_text(fresh, encoding="utf-8")
    reference = ws.root / f"{t.id}-reference.ipynb"
    nbformat.write(source, reference)
    ref_scores, res.autograde_s = ws.autograde(t.id, "reference", reference)
    problems += _score_problems(ref_scores, True, f"{rel} autograded")
    if res.autograde_s > autograde_budget_s:
        problems.append(f"{rel}: autograding took {res.autograde_s:.1f} s, over its "
                        f"{autograde_budget_s:g} s budget (shrink heavy cells when "
                        "NBGRADER_EXECUTION is set)")
    stub_scores, _ = ws.autograde(t.id, "untouched", student)
    problems += _score_problems(stub_scores, False, f"{t.rel}.ipynb autograded")
    return problems


def check(course: Course, tutorials: list[Tutorial] | None = None, **budgets) -> list[CheckResult]:
    """Check ``tutorials`` (default: all); the ``_toc.yml`` entry is checked first."""
    course.check_toc()
    with tempfile.TemporaryDirectory(prefix="neuroai-check-") as tmp:
        return [check_tutorial(course, t, Path(tmp), **budgets)
                for t in (tutorials if tutorials is not None else course.tutorials())]


def table(results: list[CheckResult]) -> str:
    """The check table: tutorial, graded exercises, points, seconds, verdict."""
    head = ("tutorial", "graded", "points", "run s", "autograde s", "verdict")
    rows = [(r.tutorial.id, str(r.graded), f"{r.points:g}", f"{r.run_s:.1f}",
             f"{r.autograde_s:.1f}", "ok" if r.ok else "FAIL") for r in results]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    lines = ["  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True))
             for row in (head, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in results:
        lines += [f"  {r.tutorial.id}: {p}" for p in r.problems]
    return "\n".join(lines)
