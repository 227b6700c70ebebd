"""``neuroai check``: prove the invariants of every tutorial.

For each tutorial: the source runs top to bottom offline within its budget; autograding
the source gives full marks, within the autograder budget; autograding the untouched
student version gives zero on every graded cell; ``tutorials/`` is in sync with
``solutions/``; the tutorial has its page in ``_toc.yml``.

Budgets are judged on the kernel's CPU time (:class:`neuroai_course.kernels.KernelCPU`),
not on wall time, so a machine busy with other work does not fail a tutorial; wall time
is reported beside it. An overrun is a warning (``over_budget``), which ``--strict``
turns into a failure. A tutorial whose inputs (source, student version, ``_config.yml``,
science package, tooling, environment, budgets) are unchanged since its last successful
check is not checked again (:mod:`neuroai_course.cache`).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from neuroai_course import cache, notebooks, rules
from neuroai_course.kernels import KernelCPU
from neuroai_course.nbgrader_ops import Workspace
from neuroai_course.project import Course, CourseError, Tutorial
from neuroai_course.release import student_version, workspace

RUN_BUDGET_S = 60.0
AUTOGRADE_BUDGET_S = 20.0
NAN = float("nan")


@dataclass
class CheckResult:
    """One tutorial's check. Times in seconds: ``*_cpu_s`` is the kernels' CPU time (what
    the budgets judge), ``*_wall_s`` the wall time."""

    tutorial: Tutorial
    graded: int = 0
    points: float = 0.0
    run_cpu_s: float = NAN
    run_wall_s: float = NAN
    autograde_cpu_s: float = NAN
    autograde_wall_s: float = NAN
    problems: list[str] = field(default_factory=list)
    over_budget: list[str] = field(default_factory=list)
    checked_at: str = ""
    cached: bool = False

    @property
    def ok(self) -> bool:
        """No violation of an invariant (a budget overrun is not one; see ``strict_ok``)."""
        return not self.problems

    @property
    def strict_ok(self) -> bool:
        return self.ok and not self.over_budget

    def verdict(self) -> str:
        return "FAIL" if self.problems else "over budget" if self.over_budget else "ok"

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("tutorial")
        out.pop("cached")
        return out


def executed_path(course: Course, t: Tutorial) -> Path:
    """Where the executed source is kept for the website build."""
    return course.root / "_build" / "executed" / t.module / f"{t.id}.ipynb"


def run_key(course: Course, t: Tutorial) -> str:
    """What the executed source depends on: the source, the science package and the
    environment (``neuroai book --force`` re-executes anyway)."""
    return cache.digest(source=cache.file_digest(t.source), library=cache.library_digest(),
                        environment=cache.environment_digest())


def check_key(course: Course, t: Tutorial, run_budget_s: float,
              autograde_budget_s: float) -> str:
    """What a check depends on: the run's inputs, the committed student version,
    ``_config.yml`` (badge, install spec), the tooling and the budgets."""
    return cache.digest(run=run_key(course, t), student=cache.file_digest(t.student),
                        config=cache.file_digest(course.root / "_config.yml"),
                        tooling=cache.tooling_digest(),
                        budgets=[run_budget_s, autograde_budget_s])


def run_source(course: Course, t: Tutorial, source: nbformat.NotebookNode | None = None,
               key: str | None = None):
    """Execute the source (``source``: the one already read with ``read_source``) and keep
    it for the website, tagged with its :func:`run_key`; return ``(nb, meter)`` with the
    kernel's CPU and wall time in ``meter.cpu_s``, ``meter.wall_s``."""
    key = key or run_key(course, t)
    if source is None:
        source = notebooks.read_source(t.source, t.source.relative_to(course.root))
    with KernelCPU() as meter:
        executed, _ = notebooks.execute(t.source, source)
    executed.metadata["neuroai"] = {"run_key": key}
    notebooks.write(executed, executed_path(course, t))
    return executed, meter


def _run_elsewhere(course: Course, t: Tutorial, key: str) -> tuple[float, float]:
    """:func:`run_source` in a worker process; the kernel's CPU and wall seconds."""
    _, meter = run_source(course, t, key=key)
    return meter.cpu_s, meter.wall_s


def check_tutorial(course: Course, t: Tutorial, workdir: Path,
                   run_budget_s: float = RUN_BUDGET_S,
                   autograde_budget_s: float = AUTOGRADE_BUDGET_S,
                   split: bool = False, key: str | None = None) -> CheckResult:
    """Check one tutorial, always (no cache); every violation becomes a line of
    ``problems``, every budget overrun a line of ``over_budget``. With ``split``, the
    source runs in a second process while this one grades (two cores: about the time of
    the longer of the two instead of their sum; each kernel's CPU time is its own).

    A source that fails to run is reported, and the grading checks still run, so one
    pass names every problem of the tutorial. ``key``: the :func:`run_key` to tag the
    executed source with, computed by the caller (a worker process may see other digests).
    """
    key = key or run_key(course, t)
    res = CheckResult(t, checked_at=dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    rel = t.source.relative_to(course.root)
    try:
        source = notebooks.read_source(t.source, rel)
    except CourseError as err:
        res.problems.append(str(err))
        return res
    res.problems += rules.source_problems(source, rel)
    graded = notebooks.graded_cells(source)
    res.graded, res.points = len(graded), sum(graded.values())
    if not graded:
        res.problems.append(f"{rel}: no graded test cells (an exercise needs a test cell "
                            "starting with '# test: 1 point')")
    pool = None
    if split:
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=exit_with_parent)
        running = pool.submit(_run_elsewhere, course, t, key)
    else:
        try:
            _, meter = run_source(course, t, source, key)
            res.run_cpu_s, res.run_wall_s = meter.cpu_s, meter.wall_s
        except CourseError as err:
            res.problems.append(str(err))
    ws = workspace(course, workdir / t.id, kernel_sockets=workdir)
    try:
        res.problems += _grading_problems(course, t, source, ws, res, autograde_budget_s)
    except CourseError as err:
        res.problems.append(str(err))
    finally:
        ws.close()
    if pool is not None:
        try:
            res.run_cpu_s, res.run_wall_s = running.result()
        except CourseError as err:
            res.problems.insert(0, str(err))
        finally:
            pool.shutdown()
    executed = executed_path(course, t)
    if executed.is_file():
        ran = nbformat.read(executed, 4)
        res.problems += rules.figure_problems(ran, rel)
        res.problems += rules.alt_problems(ran, rel)
    if res.run_cpu_s > run_budget_s:
        res.over_budget.insert(
            0, f"{rel}: ran in {res.run_cpu_s:.1f} s of CPU ({res.run_wall_s:.1f} s wall), "
            f"over its {run_budget_s:g} s budget: make the heavy cells lighter")
    return res


def _grading_problems(course: Course, t: Tutorial, source: nbformat.NotebookNode,
                      ws: Workspace, res: CheckResult, autograde_budget_s: float) -> list[str]:
    """Sync of tutorials/; graded as a hand-in (:func:`neuroai_course.grade.prove`): full
    marks for the solution, zero for the stubs and for answers that call the reference."""
    from neuroai_course.grade import prove

    rel = t.source.relative_to(course.root)
    problems = []
    fresh = nbformat.writes(student_version(course, t, ws, source)) + "\n"
    student = t.student
    if not student.exists() or student.read_text(encoding="utf-8") != fresh:
        problems.append(f"{t.rel}.ipynb is out of date with {rel}: run 'neuroai release'")
        student = ws.root / f"{t.id}-fresh.ipynb"
        student.write_text(fresh, encoding="utf-8")
    # Graded as a hand-in is: the source's cells in the sandbox, the tests in the grader;
    # then the stubs and answers that only call each exercise's reference.
    proof = prove(course, t, source)
    res.autograde_cpu_s, res.autograde_wall_s = proof["cpu_seconds"], proof["seconds"]
    problems += [f"{rel}: {p}" for p in proof["problems"]]
    if res.autograde_cpu_s > autograde_budget_s:
        res.over_budget.append(
            f"{rel}: autograding took {res.autograde_cpu_s:.1f} s of CPU "
            f"({res.autograde_wall_s:.1f} s wall), over its {autograde_budget_s:g} s budget: "
            "shrink heavy cells when NBGRADER_EXECUTION is set")
    return problems


def _from_cache(t: Tutorial, value: dict) -> CheckResult:
    return CheckResult(t, cached=True, **value)


def exit_with_parent(poll_s: float = 1.0) -> None:
    """In a worker process: exit as soon as the process that started it is gone. A killed
    ``neuroai check`` (SIGKILL, a closed terminal's SIGHUP) cannot stop its pool, and a
    worker would go on checking its tutorial, minutes of CPU on a machine that is
    already busy. Its kernels follow it: ipykernel watches its parent, and bubblewrap
    runs with ``--die-with-parent``."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def default_jobs() -> int:
    """Tutorials checked at once: one per core, at most two (each check runs one kernel
    at a time, and the kernels' CPU time, which the budgets judge, does not depend on it)."""
    return max(1, min(2, os.cpu_count() or 1))


def _check_alone(course: Course, t: Tutorial, run_budget_s: float,
                 autograde_budget_s: float, split: bool = False,
                 key: str | None = None) -> CheckResult:
    """:func:`check_tutorial` in a folder of its own (what a worker process runs)."""
    with tempfile.TemporaryDirectory(prefix="nai-check-", dir="/tmp") as tmp:
        return check_tutorial(course, t, Path(tmp), run_budget_s, autograde_budget_s, split,
                              key)


def check_each(course: Course, tutorials: list[Tutorial] | None = None, *,
               force: bool = False, strict: bool = False, jobs: int = 1,
               on_start: Callable[[Tutorial], None] | None = None,
               run_budget_s: float = RUN_BUDGET_S,
               autograde_budget_s: float = AUTOGRADE_BUDGET_S) -> Iterator[CheckResult]:
    """Check ``tutorials`` (default: all), yielding each result as soon as it is known
    (cached ones first; with ``jobs`` > 1, the others in the order they finish, checked by
    that many worker processes).

    The ``_toc.yml`` entries are checked first. A tutorial whose :func:`check_key` matches
    its last successful check is taken from the cache (``cached=True``) unless ``force``;
    with ``strict``, a cached result over budget is checked again.
    """
    course.check_toc()
    store = cache.Cache(course, "check")
    todo = []
    for t in tutorials if tutorials is not None else course.tutorials():
        key = check_key(course, t, run_budget_s, autograde_budget_s)
        value = None if force else store.get(t.id, key)
        if value is not None and not (strict and value["over_budget"]):
            yield _from_cache(t, value)
        else:
            todo.append((t, key))

    def keep(res: CheckResult, key: str) -> CheckResult:
        if res.ok:
            store.put(res.tutorial.id, key, res.to_json())
        else:
            store.drop(res.tutorial.id)
        return res

    budgets = (run_budget_s, autograde_budget_s)
    if jobs <= 1 or len(todo) <= 1:
        for t, key in todo:
            if on_start:
                on_start(t)
            yield keep(_check_alone(course, t, *budgets, split=jobs > 1,
                                    key=run_key(course, t)), key)
        return
    spawn = multiprocessing.get_context("spawn")  # no fork of a process with threads
    with ProcessPoolExecutor(min(jobs, len(todo)), mp_context=spawn,
                             initializer=exit_with_parent) as pool:
        running = {pool.submit(_check_alone, course, t, *budgets, False, run_key(course, t)): key
                   for t, key in todo}
        for future in as_completed(running):
            yield keep(future.result(), running[future])


def check(course: Course, tutorials: list[Tutorial] | None = None, **options) -> list[CheckResult]:
    """:func:`check_each`, as a list."""
    return list(check_each(course, tutorials, **options))


def _s(x: float) -> str:
    return "-" if x != x else f"{x:.1f}"  # NaN: not measured


def line(r: CheckResult) -> str:
    """The line printed as soon as a tutorial is checked."""
    how = f"cached, checked {r.checked_at}" if r.cached else "checked"
    return (f"{r.tutorial.id}: {r.verdict()} ({how}); run {_s(r.run_cpu_s)} s CPU "
            f"({_s(r.run_wall_s)} s wall), autograde {_s(r.autograde_cpu_s)} s CPU "
            f"({_s(r.autograde_wall_s)} s wall)")


def table(results: list[CheckResult]) -> str:
    """The check table: tutorial, graded exercises, points, CPU and wall seconds, verdict;
    then every problem and every budget overrun."""
    head = ("tutorial", "graded", "points", "run CPU s", "(wall)", "autograde CPU s", "(wall)",
            "verdict")
    rows = [(r.tutorial.id, str(r.graded), f"{r.points:g}", _s(r.run_cpu_s),
             _s(r.run_wall_s), _s(r.autograde_cpu_s), _s(r.autograde_wall_s),
             r.verdict() + (" (cached)" if r.cached else "")) for r in results]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    lines = ["  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip()
             for row in (head, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in results:
        lines += [f"  {r.tutorial.id}: {p}" for p in r.problems]
        lines += [f"  {r.tutorial.id}: over budget: {p}" for p in r.over_budget]
    return "\n".join(lines)
