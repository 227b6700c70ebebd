"""The ``neuroai`` command: new, release, check, book, grade, build.

Mistakes an instructor makes end as one line on stderr (``neuroai: error: ...``) and
exit status 1; no traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from neuroai_course.project import Course, CourseError
from neuroai_course.submissions import LMS_PATTERN


def _new(course: Course, args) -> int:
    from neuroai_course.new import new_tutorial

    created = new_tutorial(course, args.tutorial_id, args.title, args.module)
    for path in created.files:
        print(f"wrote  {path.relative_to(course.root)}")
    print(f"next: edit {created.tutorial.source.relative_to(course.root)} (see the authoring "
          f"guide), then 'neuroai release {args.tutorial_id}' and "
          f"'neuroai check {args.tutorial_id}'")
    return 0


def _release(course: Course, args) -> int:
    from neuroai_course.release import release

    for t, changed in release(course, course.select(args.tutorial)):
        print(f"{'wrote' if changed else 'unchanged'}  {t.rel}.ipynb")
    return 0


def _check(course: Course, args) -> int:
    from neuroai_course.check import check, table

    results = check(course, course.select(args.tutorial),
                    run_budget_s=args.budget, autograde_budget_s=args.autograde_budget)
    print(table(results))
    failed = [r.tutorial.id for r in results if not r.ok]
    if failed:
        print(f"neuroai: error: check failed for {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _book(course: Course, args) -> int:
    from neuroai_course.book import build_book

    index = build_book(course, instructor=args.instructor)
    print(f"site built: {index}")
    return 0


def _grade(course: Course, args) -> int:
    import datetime as dt

    from neuroai_course.grade import Limits, grade

    deadline = None
    if args.deadline:
        try:
            deadline = dt.datetime.fromisoformat(args.deadline)
        except ValueError:
            raise CourseError(f"--deadline must be an ISO date such as 2026-12-01T23:59, "
                              f"got {args.deadline!r}") from None
    try:
        limits = Limits(cell_timeout_s=args.cell_timeout, submission_timeout_s=args.timeout,
                        mem_mb=args.mem_mb)
    except ValueError as err:
        raise CourseError(str(err)) from None
    summary = grade(course, args.submissions, args.out, tutorial=args.tutorial,
                    workers=args.workers, db=args.db, pattern=args.pattern,
                    deadline=deadline, limits=limits, unsandboxed=args.unsandboxed)
    print(summary.line())
    print(summary.isolation)
    print(f"grades: {args.out / 'grades.csv'}; report: {args.out / 'report.csv'}; "
          f"feedback: {args.out / 'feedback'}")
    return 0


def _build(course: Course, args) -> int:
    start = time.perf_counter()
    args.tutorial = None
    for step in (_release, _check, _book):
        print(f"== neuroai {step.__name__.strip('_')}", flush=True)
        if step(course, args):
            return 1
    print(f"course built in {time.perf_counter() - start:.0f} s; open "
          f"{course.root / '_build' / 'html' / 'index.html'}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neuroai", description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=None,
                   help="course folder (default: found from the working directory)")
    sub = p.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="create a tutorial from the course template")
    new.add_argument("tutorial_id", help="e.g. M5T1_Decoding")
    new.add_argument("--title", required=True, help="the tutorial's title")
    new.add_argument("--module", default=None,
                     help="module folder, e.g. M5_NeuroAI (default: the existing M<n>_ folder)")
    new.set_defaults(func=_new)
    rel = sub.add_parser("release", help="regenerate the student versions in tutorials/")
    rel.add_argument("tutorial", nargs="*", help="tutorial ids (default: all)")
    rel.set_defaults(func=_release)
    chk = sub.add_parser("check", help="prove every tutorial's invariants")
    chk.add_argument("tutorial", nargs="*", help="tutorial ids (default: all)")
    chk.add_argument("--budget", type=float, default=60.0, help="seconds to run a source")
    chk.add_argument("--autograde-budget", type=float, default=20.0,
                     help="seconds to autograde a source")
    chk.set_defaults(func=_check)
    book = sub.add_parser("book", help="build the website into _build/html")
    book.add_argument("--instructor", action="store_true",
                      help="show the solutions behind a toggle")
    book.set_defaults(func=_book)
    grd = sub.add_parser("grade", help="grade a cohort's submissions (zip or folder)")
    grd.add_argument("submissions", type=Path)
    grd.add_argument("--tutorial", default=None, help="only this tutorial (default: by content)")
    grd.add_argument("--workers", type=int, default=1, help="parallel grading processes")
    grd.add_argument("--db", default=None,
                     help="gradebook SQLAlchemy URL (default: sqlite in the output folder)")
    grd.add_argument("--out", type=Path, default=Path("grading"), help="output folder")
    grd.add_argument("--pattern", default=LMS_PATTERN,
                     help="regex for flat LMS names with groups student, attempt, file")
    grd.add_argument("--deadline", default=None, help="ISO time; later hand-ins are 'late'")
    grd.add_argument("--cell-timeout", type=int, default=30, help="seconds per cell")
    grd.add_argument("--timeout", type=int, default=300, help="seconds per submission")
    grd.add_argument("--mem-mb", type=int, default=3072, help="memory cap per submission")
    grd.add_argument("--unsandboxed", action="store_true",
                     help="run notebooks without the sandbox (only for notebooks you trust)")
    grd.set_defaults(func=_grade)
    build = sub.add_parser("build", help="release, check and book: the main job")
    build.add_argument("--instructor", action="store_true")
    build.add_argument("--budget", type=float, default=60.0)
    build.add_argument("--autograde-budget", type=float, default=20.0)
    build.set_defaults(func=_build)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        course = Course.at(args.root) if args.root else Course.find()
        return args.func(course, args)
    except CourseError as err:
        print(f"neuroai: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("neuroai: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
