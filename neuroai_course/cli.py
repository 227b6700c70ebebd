"""The ``neuroai`` command: new, release, check, book, grade, report, formgrade, finalize,
export, publish, build, certs.

Mistakes an instructor makes end as one line on stderr (``neuroai: error: ...``) and
exit status 1; no traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from neuroai_course.project import Course, CourseError
from neuroai_course.submissions import LMS_PRESETS


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
    from tqdm.auto import tqdm

    from neuroai_course.release import release_each

    tutorials = course.select(args.tutorial)
    done = []
    with tqdm(total=len(tutorials), unit="tutorial", desc="releasing", file=sys.stderr,
              disable=None, leave=False, dynamic_ncols=True) as bar:
        for t, changed in release_each(course, tutorials, force=args.force):
            done.append((t, changed))
            if changed or not args.quiet:
                bar.write(f"{'wrote' if changed else 'unchanged'}  {t.rel}.ipynb",
                          file=sys.stdout)
            bar.update()
    if args.quiet:
        print(f"{sum(c for _, c in done)} of {len(done)} student versions written, "
              "the others unchanged")
    if getattr(args, "tag", False):
        from neuroai_course.release import create_tag

        print(create_tag(course))
    return 0


def _check(course: Course, args) -> int:
    from tqdm.auto import tqdm

    from neuroai_course.check import check_each, line, table
    from neuroai_course.grading.sandbox import unavailable_reason
    from neuroai_course.release import tag_problem

    missing = tag_problem(course)
    if missing:
        raise CourseError(missing)
    tutorials = course.select(args.tutorial)
    order = {t.id: i for i, t in enumerate(tutorials)}
    why = unavailable_reason()
    if why:  # the instructor's own notebooks are not hostile: checked all the same
        print(f"neuroai check: the grading sandbox is unavailable here ({why}); the notebooks "
              "are checked unsandboxed, with the library copy whose references raise",
              flush=True)
    # The bar (on stderr, only on a terminal) moves across tutorials; each tutorial's
    # line is printed above it as soon as the tutorial is done.
    bar = tqdm(total=len(tutorials), unit="tutorial", file=sys.stderr, disable=None,
               leave=False, dynamic_ncols=True)
    results = []
    try:
        bar.set_description("checking")
        for res in check_each(course, tutorials, force=args.force, strict=args.strict,
                              jobs=args.jobs,
                              on_start=lambda t: bar.set_description(f"checking {t.id}"),
                              run_budget_s=args.budget,
                              autograde_budget_s=args.autograde_budget):
            results.append(res)
            bar.write(line(res), file=sys.stdout)
            bar.update()
    finally:
        bar.close()
    results.sort(key=lambda r: order[r.tutorial.id])
    print(table(results), flush=True)
    failed = [r.tutorial.id for r in results if not r.ok]
    over = [r.tutorial.id for r in results if r.over_budget]
    if failed or (over and args.strict):
        print(f"neuroai: error: check failed for {', '.join(failed + over)}"
              + (" (over budget, judged on the kernel's CPU time)" if over else ""),
              file=sys.stderr)
        return 1
    if over:
        print(f"neuroai: warning: {', '.join(over)} over budget in CPU time (figures above); "
              "make the named cells lighter ('neuroai check --strict', which CI runs, fails "
              "on this)", file=sys.stderr)
    return 0


def _book(course: Course, args) -> int:
    from neuroai_course.book import build_book

    index = build_book(course, instructor=args.instructor, force=args.force)
    print(f"site built: {index}")
    return 0


#: The environment variable that holds a gradebook URL with a password (never on argv).
DB_ENV = "NEUROAI_DB_URL"


def _db_url(args, environment: bool = True) -> str | None:
    """The gradebook URL: ``--db`` (refused if it holds a password: the command line of a
    process is visible to every user of the machine), ``--db-file`` (a file only its owner
    may read, holding the URL), else :data:`DB_ENV` (``environment``), else ``None``."""
    import os

    from neuroai_course.certs import readable
    from neuroai_course.handgrade import has_password

    if args.db and args.db_file:
        raise CourseError("give --db or --db-file, not both")
    if args.db:
        if has_password(args.db):
            raise CourseError(f"--db holds a password, which any user of this machine can "
                              f"read on the command line: put the URL in the environment "
                              f"variable {DB_ENV} or in a file given with --db-file "
                              f"(chmod 600)")
        return args.db
    if args.db_file:
        path = readable("--db-file", args.db_file, secret=True)
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()
                 if ln.strip() and not ln.lstrip().startswith("#")]
        if len(lines) != 1:
            raise CourseError(f"--db-file {path}: expected one line, the gradebook URL "
                              f"(found {len(lines)})")
        return lines[0]
    if environment and os.environ.get(DB_ENV, "").strip():
        return os.environ[DB_ENV].strip()
    return None


def _cluster_security(args):
    """The ``security`` for :func:`~neuroai_course.grade.grade` from ``--tls``,
    ``--tls-ca/--tls-cert/--tls-key`` and ``--insecure-cluster``, checked before anything
    is read (one-line errors naming the option)."""
    from neuroai_course import certs
    from neuroai_course.cluster import INSECURE, remote_security

    files = {"--tls-ca": args.tls_ca, "--tls-cert": args.tls_cert, "--tls-key": args.tls_key}
    given = [k for k, v in files.items() if v is not None] + (["--tls"] if args.tls else [])
    if not args.scheduler:
        extra = given + (["--insecure-cluster"] if args.insecure_cluster else [])
        if extra:
            raise CourseError(f"{', '.join(extra)}: only with --scheduler (the local cluster "
                              "makes its own certificates for each run)")
        return None
    if args.insecure_cluster:
        if given:
            raise CourseError(f"give either --insecure-cluster or {', '.join(given)}, not both")
        remote_security(args.scheduler, INSECURE)  # refuses a tls:// address
        return INSECURE
    if args.tls and len(given) > 1:
        raise CourseError("give either --tls DIR or --tls-ca, --tls-cert and --tls-key")
    if args.tls:
        security = certs.folder_security(args.tls)
    elif given:
        missing = [k for k, v in files.items() if v is None]
        if missing:
            raise CourseError(f"{', '.join(given)} without {', '.join(missing)}: give all "
                              "three (or --tls DIR)")
        security = certs.client_security(args.tls_ca, args.tls_cert, args.tls_key)
    else:
        security = None
    return remote_security(args.scheduler, security)


def default_out(course: Course) -> Path:
    """Where ``neuroai grade`` writes without ``--out``: beside the course folder, never in
    it, since the output holds students' names, work and grades."""
    return course.root.resolve().parent / f"{course.root.resolve().name}-grading"


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
    security = _cluster_security(args)
    if args.out is None:
        args.out = default_out(course)
        print(f"neuroai grade: output in {args.out} (outside the course repository; --out "
              "to choose)", flush=True)
    if args.pattern and args.lms != "auto":
        raise CourseError("give --lms or --pattern, not both")
    summary = grade(course, args.submissions, args.out, tutorial=args.tutorial,
                    workers=args.workers, db=_db_url(args), pattern=args.pattern or args.lms,
                    deadline=deadline, limits=limits, unsandboxed=args.unsandboxed,
                    scheduler=args.scheduler, security=security)
    print(summary.line())
    print(summary.isolation)
    print(f"grades: {args.out / 'grades.csv'}; report: {args.out / 'report.csv'}; "
          f"feedback: {args.out / 'feedback'}; cohort report: {args.out / 'cohort.html'}")
    return 0


def _report(course: Course, args) -> int:
    from neuroai_course.report import write

    try:
        path = write(args.out)
    except FileNotFoundError as err:
        raise CourseError(str(err)) from None
    print(f"cohort report: {path}")
    return 0


def _finalize(course: Course, args) -> int:
    from neuroai_course.finalize import finalize

    done = finalize(course, args.out, db=_db_url(args, environment=False))
    print(f"{done['pages']} feedback pages and {args.out / 'grades.csv'} rewritten with the "
          f"hand grades; {len(done['waiting'])} written answers still wait for a score")
    for student, tid, gid in done["waiting"][:20]:
        print(f"  waiting: {student} {tid} {gid}")
    return 0


def _formgrade(course: Course, args) -> int:
    from neuroai_course.formgrade import serve

    return serve(course, args.out, port=args.port)


def _publish(course: Course, args) -> int:
    from neuroai_course.publish import publish

    done = publish(course, args.dest, repo=args.repo)
    print(f"published to {args.dest}: {len(done['written'])} files written, "
          f"{len(done['unchanged'])} unchanged, {len(done['removed'])} removed")
    return 0


def _export(course: Course, args) -> int:
    from neuroai_course.lms import export

    columns = {}
    for spec in args.column or []:
        tid, sep, name = spec.partition("=")
        if not sep or not tid.strip() or not name.strip():
            raise CourseError(f"--column must be TUTORIAL=COLUMN, e.g. M1T1_LIF='Week 1: LIF "
                              f"(4711)', got {spec!r}")
        columns[tid.strip()] = name.strip()
    done = export(args.out, roster_path=args.roster, columns=columns)
    for warning in done["warnings"]:
        print(f"neuroai export: warning: {warning}", file=sys.stderr)
    print(f"written in {args.out / 'lms'}: {', '.join(done['written'])}")
    print("roster: " + ", ".join(f"{n} {k}" for k, n in sorted(done["counts"].items())))
    return 0


def _certs(course: Course | None, args) -> int:
    from neuroai_course import certs

    hosts = args.host or list(certs.DEFAULT_HOSTS)
    paths = certs.write(args.dir, hosts=hosts, days=args.days, force=args.force)
    for path in paths.values():
        print(f"wrote  {path}")
    lines = certs.commands(args.dir, hosts[0], args.port)
    print(f"\nKeep ca-key.pem here. Copy ca.pem and a role's .pem and -key.pem to "
          f"{Path(args.dir).resolve()} on the machines of that role, keys mode 600 and owned "
          f"by the user that runs the role (e.g. with install -m 600), never into the course "
          f"folder.\n"
          f"\nThe scheduler on {hosts[0]} (port {args.port}; only peers with a certificate "
          f"signed by this CA get past the handshake):\n  {lines['scheduler']}\n"
          f"Each worker machine (ca.pem, worker.pem, worker-key.pem):\n  {lines['worker']}\n"
          f"Your machine (ca.pem, client.pem, client-key.pem):\n  {lines['client']}")
    return 0


def _build(course: Course, args) -> int:
    """release, check, book; each phase announced and timed. A budget overrun in check is
    a warning (the site is still built) unless ``--strict``."""
    start = time.perf_counter()
    args.tutorial, args.quiet = None, True
    for step in (_release, _check, _book):
        name = step.__name__.strip("_")
        print(f"== neuroai {name}", flush=True)
        t0 = time.perf_counter()
        status = step(course, args)
        print(f"== neuroai {name}: {'failed' if status else 'done'} in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        if status:
            return 1
    print(f"course built in {time.perf_counter() - start:.0f} s; open "
          f"{course.root / '_build' / 'html' / 'index.html'}", flush=True)
    return 0


class _Defaults(argparse.HelpFormatter):
    """Help that shows each option's default, unless it has none (None, False) or its help
    already says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or action.default in (None, False, argparse.SUPPRESS) or \
                not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def parser() -> argparse.ArgumentParser:
    summary = " ".join(__doc__.split("\n\n")[0].replace("``", "").split())  # all of it
    p = argparse.ArgumentParser(prog="neuroai", description=summary, formatter_class=_Defaults)
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
    rel.add_argument("--tag", action="store_true",
                     help="then tag the current commit with _config.yml's release (what every "
                          "setup cell installs); refused while the released files have "
                          "uncommitted changes")
    rel.set_defaults(func=_release, quiet=False)
    _force(rel, "regenerate even the student versions whose inputs are unchanged")
    chk = sub.add_parser("check", help="prove every tutorial's invariants")
    chk.add_argument("tutorial", nargs="*", help="tutorial ids (default: all)")
    _budgets(chk)
    _force(chk, "check even the tutorials unchanged since their last successful check")
    chk.set_defaults(func=_check)
    book = sub.add_parser("book", help="build the website into _build/html")
    book.add_argument("--instructor", action="store_true",
                      help="show the solutions behind a toggle")
    _force(book, "re-execute every tutorial and rebuild every page")
    book.set_defaults(func=_book)
    grd = sub.add_parser("grade", help="grade a cohort's submissions (zip or folder)",
                         formatter_class=_Defaults)
    grd.add_argument("submissions", type=Path,
                     help="the LMS's download (a zip) or a folder of hand-ins")
    grd.add_argument("--tutorial", default=None, help="only this tutorial (default: by content)")
    grd.add_argument("--workers", type=int, default=1, help="parallel grading processes")
    _db(grd, "gradebook SQLAlchemy URL without a password (default: $NEUROAI_DB_URL, else "
             "sqlite in the output folder)")
    grd.add_argument("--out", type=Path, default=None,
                     help="output folder (default: <course folder's name>-grading beside the "
                          "course folder, outside the repository: it holds students' names "
                          "and grades)")
    grd.add_argument("--lms", default="auto", choices=sorted(LMS_PRESETS),
                     help="how the LMS names the hand-ins: canvas "
                          "(<lastfirst>_[LATE_]<user id>_<n>_<file>[-attempt]), moodle "
                          "(<full name>_<participant id>_assignsubmission_file_<file>), "
                          "generic (<student>_<attempt>_<file>) or auto, each in turn "
                          "(default: %(default)s)")
    grd.add_argument("--pattern", default=None,
                     help="instead of --lms, a regex for flat names with the groups student "
                          "and file (optional: attempt, user, late)")
    grd.add_argument("--deadline", default=None, help="ISO time; later hand-ins are 'late'")
    grd.add_argument("--cell-timeout", type=int, default=30, help="seconds per cell")
    grd.add_argument("--timeout", type=int, default=300, help="seconds per submission")
    grd.add_argument("--mem-mb", type=int, default=3072, help="memory cap per submission")
    grd.add_argument("--unsandboxed", action="store_true",
                     help="run notebooks without the sandbox (only for notebooks you trust)")
    grd.add_argument("--scheduler", default=None,
                     help="grade on the workers of this Dask scheduler (tls://HOST:PORT); "
                          "default: a local cluster of --workers processes (on TLS too)")
    grd.add_argument("--tls", type=Path, default=None, metavar="DIR",
                     help="the folder written by 'neuroai certs': ca.pem, client.pem and "
                          "client-key.pem for --scheduler")
    grd.add_argument("--tls-ca", type=Path, default=None, metavar="FILE",
                     help="the cluster's CA certificate (PEM), instead of --tls")
    grd.add_argument("--tls-cert", type=Path, default=None, metavar="FILE",
                     help="the client's certificate (PEM), instead of --tls")
    grd.add_argument("--tls-key", type=Path, default=None, metavar="FILE",
                     help="the client's key (PEM, mode 600), instead of --tls")
    grd.add_argument("--insecure-cluster", action="store_true",
                     help="allow a tcp:// scheduler without TLS: whoever reaches it runs "
                          "code on the workers, reads hand-ins and hidden tests and forges "
                          "grades")
    grd.set_defaults(func=_grade)
    rep = sub.add_parser("report", help="write cohort.html again from a grading output folder")
    rep.add_argument("out", type=Path, help="the output folder of 'neuroai grade'")
    rep.set_defaults(func=_report)
    fin = sub.add_parser("finalize", help="read the hand grades back from the gradebook: "
                         "grades.csv and feedback pages again")
    fin.add_argument("out", type=Path, help="the output folder of 'neuroai grade'")
    _db(fin, "gradebook URL without a password (default: the folder's nbgrader_config.py)")
    fin.set_defaults(func=_finalize)
    fg = sub.add_parser("formgrade", help="hand-grade in nbgrader's formgrader: JupyterLab "
                        "on 127.0.0.1 in a grading folder, and the URL to open")
    fg.add_argument("out", type=Path, help="the output folder of 'neuroai grade'")
    fg.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    fg.set_defaults(func=_formgrade)
    pub = sub.add_parser("publish", help="write the public, student-facing tree into DEST")
    pub.add_argument("dest", type=Path, help="a checkout of the public repository")
    pub.add_argument("--repo", default=None, help="the public repository, "
                     "https://github.com/OWNER/NAME (default: publish.repository in _config.yml)")
    pub.set_defaults(func=_publish)
    exp = sub.add_parser("export", help="grades and feedback for Canvas or Moodle")
    exp.add_argument("out", type=Path, help="the output folder of 'neuroai grade'")
    exp.add_argument("--roster", type=Path, default=None,
                     help="the LMS's own export (Canvas gradebook, Moodle grading worksheet "
                          "or gradebook export): the students' identifiers and the "
                          "assignments' columns")
    exp.add_argument("--column", action="append", default=None, metavar="TUTORIAL=COLUMN",
                     help="the roster's column of a tutorial, when its header does not hold "
                          "the tutorial id (repeat for several)")
    exp.set_defaults(func=_export)
    build = sub.add_parser("build", help="release, check and book: the main job")
    build.add_argument("--instructor", action="store_true")
    _budgets(build)
    _force(build, "ignore every cache: release, check and build everything")
    build.set_defaults(func=_build)
    crt = sub.add_parser("certs", help="write a CA and the TLS certificates of a grading "
                         "cluster's scheduler, workers and client")
    crt.add_argument("dir", type=Path, help="the folder to write them in")
    crt.add_argument("--host", action="append", default=None, metavar="NAME",
                     help="a host name or IP address of the scheduler (repeat for several; "
                          "default: localhost and 127.0.0.1); the first goes in the commands")
    crt.add_argument("--days", type=int, default=365, help="validity in days")
    crt.add_argument("--port", type=int, default=8786, help="the scheduler's port, for the "
                     "printed commands")
    _force(crt, "replace the files of an earlier run (a new CA: every machine needs the "
           "new files)")
    crt.set_defaults(func=_certs, needs_course=False)
    for each in sub.choices.values():
        each.formatter_class = _Defaults
    return p


def _db(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--db", default=None, help=what)
    p.add_argument("--db-file", type=Path, default=None, metavar="FILE",
                   help="a file (mode 600) holding the gradebook URL, e.g. one with a password")


def _budgets(p: argparse.ArgumentParser) -> None:
    from neuroai_course.check import AUTOGRADE_BUDGET_S, RUN_BUDGET_S, default_jobs

    p.add_argument("--budget", type=float, default=RUN_BUDGET_S,
                   help="CPU seconds of the kernel to run a source")
    p.add_argument("--autograde-budget", type=float, default=AUTOGRADE_BUDGET_S,
                   help="CPU seconds of the kernel to autograde a source")
    p.add_argument("--strict", action="store_true",
                   help="fail on a budget overrun (default: a warning); CI and the tests use it")
    p.add_argument("--jobs", type=int, default=default_jobs(),
                   help="tutorials checked at once (default: %(default)s)")


def _force(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--force", action="store_true", help=what)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if not getattr(args, "needs_course", True):
            return args.func(None, args)
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
