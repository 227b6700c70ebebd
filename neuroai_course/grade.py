"""``neuroai grade``: a cohort's hand-ins in, grades, feedback and a full report out.

Pipeline: collect every input file (zip or folder; symbolic links are reported, never
followed) -> read and identify each notebook by content -> keep each student's latest
hand-in per tutorial -> repair the grading structure -> grade each on the worker processes
of a Dask cluster, a local one or ``--scheduler``'s (:mod:`neuroai_course.cluster`, which
checks first that every worker has the same course; :mod:`neuroai_course.grading`):
the student's cells run in a bubblewrap sandbox
(:mod:`neuroai_course.grading.sandbox`), the test cells, hidden parts included, run in an
unprivileged grader process and call the student's functions through a data-only channel
(:mod:`neuroai_course.grading.channel`), with the exercises' references removed from the kernel's
library (:mod:`neuroai_course.tripwire`) -> write the grades into nbgrader's gradebook
(SQLite or any SQLAlchemy URL) from this process only -> ``grades.csv``, ``report.csv``
(every input and what became of it), one HTML feedback page per student and tutorial,
with the grader's own messages only, ``run.json`` (the run's figures) and ``cohort.html``
(:mod:`neuroai_course.report`).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import os
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from neuroai_course import handgrade, notebooks, similarity
from neuroai_course.grading import privileged, sandbox, unprivileged
from neuroai_course.grading.channel import clean_text
from neuroai_course.grading.limits import Limits
from neuroai_course.nbgrader_ops import scripts_on_path
from neuroai_course.project import Course, CourseError
from neuroai_course.staging import Plan, Stage, fingerprint
from neuroai_course.submissions import (
    LMS_PRESETS,
    Entry,
    Fingerprint,
    collect,
    identify,
    read_notebook,
    repair,
    unmatched_names,
)

#: What report.csv says of a hand-in whose file name matched no LMS pattern.
UNMATCHED = ("its file name matches no LMS file-name pattern (--lms, --pattern): the student "
             "id is the whole file name, which no roster knows")

REPORT_FIELDS = ("input", "student", "tutorial", "status", "reason")
#: What the score of an exercise that only called the reference says, in report.csv too.
DELEGATION = unprivileged.DELEGATION


@dataclass
class Summary:
    entries: list[Entry] = field(default_factory=list)
    seconds: float = 0.0
    isolation: str = ""
    #: CPU seconds, summed over hand-ins: the students' kernels, the grading workers (set-up,
    #: channel, tests), and this process (collecting, recording, reports)
    kernel_cpu_s: float = 0.0
    worker_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    retried: list[str] = field(default_factory=list)  # inputs graded again (worker lost)
    #: the same CPU by phase, summed over hand-ins (``kernel_start``, ``kernel_imports``,
    #: ``kernel_cells``, ``kernel_tests``, ``grader_*``, ``worker_setup``, ``worker_cleanup``:
    #: see :func:`neuroai_course.grading.unprivileged.grade`)
    cpu_phases: dict = field(default_factory=dict)

    def count(self, *statuses: str) -> int:
        return sum(e.status in statuses for e in self.entries)

    def line(self) -> str:
        graded = self.count("graded", "late", "reference used", "timed out", "limit exceeded")
        failed = self.count("crashed")
        flagged = len(self.entries) - self.count("graded") - failed
        retried = f", {len(self.retried)} retried after a lost worker" if self.retried else ""
        cpu = self.kernel_cpu_s + self.worker_cpu_s + self.client_cpu_s
        return (f"{len(self.entries)} files: {graded} graded, {flagged} flagged, {failed} failed"
                f"{retried}, in {self.seconds:.0f} s wall, {cpu:.0f} s CPU (students' "
                f"kernels {self.kernel_cpu_s:.0f} s, grading workers {self.worker_cpu_s:.0f} s,"
                f" this process {self.client_cpu_s:.0f} s)")


def _latest_only(entries: list[Entry]) -> None:
    """Keep each student's last hand-in per tutorial; flag the earlier ones."""
    groups: dict[tuple[str, str], list[Entry]] = {}
    for e in entries:
        if e.status == "pending" and e.tutorial:
            groups.setdefault((e.student, e.tutorial), []).append(e)
    for group in groups.values():
        group.sort(key=lambda e: (e.attempt, e.copy, e.timestamp or dt.datetime.min, e.name))
        for old in group[:-1]:
            old.flag("duplicate superseded", f"replaced by the later hand-in {group[-1].name}")


def delegating_answers(plan: Plan) -> str:
    """Code that redefines every exercise's functions as calls of its test's first
    reference: what ``neuroai check`` proves scores 0 with the delegation reason."""
    lines = []
    for test in plan.tests:
        if not test["references"]:
            continue
        module, _, rest = test["references"][0].partition(".")
        for name in test["exercise"]:
            lines.append(
                f"def {name}(*args, **kwargs):\n"
                f"    import importlib\n"
                f"    target = importlib.import_module({module!r})\n"
                f"    for part in {rest.split('.')!r}:\n"
                f"        try:\n"
                f"            target = importlib.import_module(target.__name__ + '.' + part)\n"
                f"        except (ImportError, AttributeError):\n"
                f"            target = getattr(target, part)\n"
                f"    return target(*args, **kwargs)\n")
    return "\n".join(lines)


def prove(course: Course, tutorial, source, limits: Limits | None = None) -> dict:
    """Grade the solution notebook of ``tutorial`` as a hand-in, then its stubs, then
    answers that only call each exercise's reference, in one sandboxed kernel; return the
    problems found (solution below full marks, stub above 0, a delegating answer not
    caught) and the figures. Used by ``neuroai check``."""
    limits = limits or Limits()
    why = sandbox.unavailable_reason()
    grader = Grader(course, limits, 1, unsandboxed=bool(why), why_unsafe=why)
    try:
        grader.prepare(tutorial.id)
        plan = grader.plans[tutorial.id]
        release = grader.releases[tutorial.id]
        stubs = "\n\n".join(c.source for c in release.cells if c.cell_type == "code"
                             and c.metadata.get("nbgrader", {}).get("solution"))
        phases = [["solution", ""], ["stub", stubs]]
        delegates = delegating_answers(plan)
        if delegates:
            phases.append(["delegate", delegates])
        job = grader.job(tutorial.id, source, f"check-{tutorial.id}-{os.getpid()}", phases)
        result = privileged.grade_handin(grader.localize(job))
    finally:
        grader.close()
    problems = []
    if result.get("error"):
        problems.append(f"grading the solution failed: {result['error']}")
    if result.get("timeouts"):
        problems.append("cells ran over their time: " + ", ".join(result["timeouts"]))
    phases_out = result.get("phases", {})
    for test in plan.tests:
        gid, points = test["grade_id"], test["points"]
        got = phases_out.get("solution", {}).get("scores", {}).get(gid, [0, points])[0]
        if got != points:
            msg = phases_out.get("solution", {}).get("messages", {}).get(gid, "")
            problems.append(f"{gid} scored {got:g} of {points:g}, expected full marks (the "
                            "reference fails its own test: "
                            f"{msg.splitlines()[-1][:200] if msg else 'no message'})")
        stub = phases_out.get("stub", {}).get("scores", {}).get(gid, [0, points])[0]
        if stub != 0:
            problems.append(f"{gid} scored {stub:g} of {points:g} untouched, expected 0 "
                            "(this test cannot fail)")
        if test["references"] and "delegate" in phases_out and \
                gid not in phases_out["delegate"].get("delegated", []):
            problems.append(f"{gid}: an answer that only calls {test['references'][0]} is "
                            "not scored 0 as delegation")
    solution = phases_out.get("solution", {})
    return {"problems": problems, "graded": len(plan.tests),
            "points": sum(v[0] for v in solution.get("scores", {}).values()),
            # the notebook's own CPU when graded as a hand-in: its cells, then its functions
            # called by the tests (the grader's own CPU is the benchmark's business)
            "cpu_seconds": (result.get("cells_cpu_seconds", 0.0)
                            + solution.get("tests_cpu_seconds", 0.0)),
            "grader_cpu_seconds": solution.get("grader_cpu_seconds", 0.0),
            "seconds": result.get("total_seconds", float("nan")),
            "sandboxed": not grader.unsandboxed}


class Grader(Stage):
    """Grades the hand-ins of one cohort (see :func:`grade`): a :class:`Stage` that sends
    its jobs to Dask workers."""

    def __init__(self, course: Course, limits: Limits, workers: int,
                 unsandboxed: bool = False, why_unsafe: str | None = None,
                 scheduler: str | None = None, security=None) -> None:
        """``why_unsafe``: as for :class:`Stage`. ``scheduler``: a Dask scheduler's address
        (``tls://HOST:PORT``) to grade on its workers, reached with ``security`` (see
        :func:`neuroai_course.cluster.remote_security`); ``None``: a local cluster of
        ``workers`` processes (see :mod:`neuroai_course.cluster`)."""
        if workers < 1:
            raise CourseError(f"workers must be at least 1, got {workers}")
        super().__init__(course, limits, unsandboxed, why_unsafe)
        self.workers, self.scheduler, self.security = workers, scheduler, security
        self.pool = None
        self._starting = None  # (thread, [error]) while the pool starts beside the set-up

    def start_pool(self) -> None:
        """Start the Dask cluster (or connect to ``scheduler``) in a thread, so that its
        worker processes start while this process prepares the tutorials; :meth:`run`
        waits for it."""
        import threading

        from neuroai_course.cluster import Pool

        if self.pool is not None or self._starting is not None:
            return
        pool = Pool(self.workers, self.scheduler,
                    None if self.scheduler else str(self.course.root), security=self.security)
        errors: list[BaseException] = []

        def start() -> None:
            try:
                pool.start()
            except BaseException as err:  # raised again by _wait_pool, in this thread
                errors.append(err)

        thread = threading.Thread(target=start, name="neuroai-pool-start", daemon=True)
        self.pool, self._starting = pool, (thread, errors)
        thread.start()

    def _wait_pool(self) -> None:
        if self._starting is None:
            return
        thread, errors = self._starting
        thread.join()
        self._starting = None
        if errors:
            self.pool = None
            raise errors[0]

    def run(self, jobs: list[dict]):
        """Grade ``jobs`` on the Dask workers (local or ``scheduler``'s), after checking
        that every worker has the same course; yield ``(index, result)`` as each finishes,
        each index once."""
        if not jobs:
            return
        self.start_pool()
        self._wait_pool()
        expected = {}
        for tid in sorted({j["tutorial"] for j in jobs}):
            self.prepare(tid)
            expected[tid] = fingerprint(self.plans[tid])
        refused = self.pool.check(expected, self.unsandboxed)
        if refused:
            raise CourseError("\n".join(refused))
        yield from self.pool.run(jobs)

    def retried(self) -> dict[str, list[str]]:
        """Job name -> the workers that started it, for each hand-in graded more than once
        (its worker was lost)."""
        return self.pool.retried() if self.pool is not None else {}

    def close(self) -> None:
        try:
            self._wait_pool()
        except Exception:  # the run already failed or ends: close what started
            pass
        if self.pool is not None:
            self.pool.close()
            self.pool = None
        super().close()


def _judge(e: Entry, result: dict, deadline: dt.datetime | None) -> None:
    """Turn a worker's result into the entry's status and reason."""
    notes = [e.reason] if e.reason else []
    if result.get("killed"):
        e.flag("timed out", "; ".join(notes + [result["killed"]]))
        return
    if result.get("error"):
        why = result["error"]
        if "kernel died" in why:
            why = ("the kernel died while running the notebook (the memory cap, os._exit, "
                   "or processes forked from the kernel); no grade, check by hand")
        e.flag("crashed", "; ".join(notes + [why]))
        return
    status = "graded"
    if e.late_marked:
        status = "late"
        notes.append("marked late by the LMS (LATE in the file name of its download)")
    elif deadline and e.timestamp and e.timestamp > deadline:
        status = "late"
        notes.append(f"handed in {e.timestamp:%Y-%m-%d %H:%M}, after the deadline "
                     f"{deadline:%Y-%m-%d %H:%M}")
    if result.get("delegated"):
        status = "reference used"
        notes.append(f"{DELEGATION} in " + ", ".join(result["delegated"]) + " (scored 0)")
    if result.get("timeouts"):
        status = "timed out"
        notes.append("cell time limit exceeded in " + ", ".join(result["timeouts"]))
    if result.get("over_limit"):
        status = "limit exceeded"
        notes.append(f"{result['over_limit']}: the tests not reached score 0")
    if result.get("outputs_dropped"):
        notes.append("outputs over the size cap were left out of the report")
    e.flag(status, "; ".join(notes))


def record(db: str, e: Entry, result: dict, answers: dict | None = None,
           previous: dict | None = None) -> str:
    """Write one submission's grades into the gradebook; say what it replaced.

    ``answers``: the text of each written answer by grade id (None: not answered), see
    :func:`neuroai_course.handgrade.answers_of`; answered ones wait for a hand grade, unless
    the replaced hand-in had the same text (``previous``), whose hand grade is kept."""
    from nbgrader.api import Gradebook, MissingEntry

    scripts_on_path()
    note = ""
    with Gradebook(db) as gb, warnings.catch_warnings():
        # nbgrader 0.9.6 on SQLAlchemy 2.x warns about its own session handling
        warnings.filterwarnings("ignore", message=".*not in session", module="nbgrader")
        gb.update_or_create_student(e.student)
        kept = {}
        try:
            old = gb.find_submission(e.tutorial, e.student)
            note = f"replaces the hand-in graded earlier ({old.timestamp or 'no time'})"
            kept = handgrade.hand_grades_of(gb, e, answers or {})
            gb.remove_submission(e.tutorial, e.student)
        except MissingEntry:
            pass
        stamp = (e.timestamp or dt.datetime(1970, 1, 1)).isoformat()
        gb.add_submission(e.tutorial, e.student, timestamp=stamp)
        for gid, (score, _) in result.get("scores", {}).items():
            grade = gb.find_grade(gid, e.tutorial, e.tutorial, e.student)
            grade.auto_score = score
            grade.needs_manual_grade = False
        handgrade.record_answers(gb, e, answers or {})
        if handgrade.restore_hand_grades(gb, e, kept, answers or {}, previous or {}):
            note += "; hand grades of unchanged written answers kept"
        gb.db.commit()
    return note


def gradebook_rows(db: str, tutorials: list[str]) -> list[dict]:
    """One row per student and tutorial: the points of each test cell and written answer
    (empty while an answer waits for its hand grade; a score set in the formgrader wins),
    total, maximum and the number of answers still waiting."""
    from nbgrader.api import Gradebook

    if not tutorials:
        return []
    scripts_on_path()
    rows = []
    with Gradebook(db) as gb:
        for tid in tutorials:
            for sub in gb.assignment_submissions(tid):
                row = {"student": sub.student.id, "tutorial": tid}
                waiting = 0
                for nb in sub.notebooks:
                    for g in sorted(nb.grades, key=lambda g: g.name):
                        if g.needs_manual_grade and g.manual_score is None:
                            row[g.name] = ""
                            waiting += 1
                        else:
                            row[g.name] = f"{g.score:g}"
                row["total"] = f"{sub.score:g}"
                row["max"] = f"{sub.max_score:g}"
                row[handgrade.WAITING] = str(waiting)
                rows.append(row)
    return sorted(rows, key=lambda r: (r["tutorial"], r["student"]))


def feedback_html(e: Entry, result: dict, answers: list[dict] | None = None) -> str:
    """A small, self-contained feedback page: each exercise's score and test message, and
    each written answer (``answers``: dicts with ``grade_id``, ``text``, ``score``, None
    while it waits for a hand grade, ``max`` and ``comment``, and optionally ``auto``,
    ``manual`` and ``extra`` as :func:`neuroai_course.handgrade.hand_grades` gives them)
    with its score and comment. ``result["hand"]`` (optional, see
    :func:`neuroai_course.handgrade.exercise_hand_notes`): per test, the instructor's
    comment on the exercise and the scores set by hand, shown beside the test's score."""
    rows, total, best = [], 0.0, 0.0
    hand = result.get("hand", {})
    scores = result.get("scores", {})
    # notebook order: the grader's (its tests run in order), or ``result["order"]``
    place = {g: i for i, g in enumerate(result.get("order", list(scores)))}
    for gid, (score, max_score) in sorted(scores.items(), key=lambda kv: place.get(kv[0], 1e9)):
        total, best = total + score, best + max_score
        msg = result.get("messages", {}).get(gid, "") or "(no output)"
        mark = "ok" if score == max_score else "miss"
        changed = handgrade.hand_mark(hand.get(gid), score, max_score)
        changed = f"<br><span class='hand'>{html.escape(changed)}</span>" if changed else ""
        comment = html.escape((hand.get(gid) or {}).get("comment") or "")
        rows.append(f"<tr class='{mark}'><td>{html.escape(gid)}</td><td>{score:g} / "
                    f"{max_score:g}{changed}</td><td><pre>{html.escape(msg)}</pre></td>"
                    f"<td class='comment'>{comment}</td></tr>")
    written = []
    for a in answers or []:
        best += a["max"]
        if a["score"] is None:
            points, mark = f"awaiting hand grading / {a['max']:g}", "wait"
        else:
            total += a["score"]
            points = f"{a['score']:g} / {a['max']:g}"
            mark = "ok" if a["score"] == a["max"] else "miss"
            changed = handgrade.hand_mark(a, a["score"], a["max"])
            if changed:
                points += f"<br><span class='hand'>{html.escape(changed)}</span>"
        written.append(f"<tr class='{mark}'><td>{html.escape(a['grade_id'])}</td><td>{points}"
                       f"</td><td><pre>{html.escape(a.get('text') or '(no answer)')}</pre></td>"
                       f"<td class='comment'>{html.escape(a.get('comment') or '')}</td></tr>")
    if written:
        written = ["<h2>Written answers</h2><table><tr><th>answer</th><th>points</th>"
                   "<th>what you wrote</th><th>comment</th></tr>", *written, "</table>"]
    other = (hand.get("") or {}).get("comment")
    other = f"<h2>Other comments</h2><p class='comment'>{html.escape(other)}</p>" \
        if other else ""
    note = f"<p class='note'>{html.escape(e.status)}: {html.escape(e.reason)}</p>" \
        if e.reason else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(e.tutorial)}: feedback for
{html.escape(e.student)}</title><style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4em; vertical-align: top; text-align: left; }}
pre {{ white-space: pre-wrap; margin: 0; }} tr.ok td:nth-child(2) {{ color: #1a7f37; }}
tr.miss td:nth-child(2) {{ color: #b3261e; }} .note {{ background: #fff4ce; padding: .5em; }}
.comment {{ white-space: pre-wrap; }} .hand {{ color: #5a4b00; font-size: .9em; }}
</style></head><body>
<h1>{html.escape(e.tutorial)}: feedback for {html.escape(e.student)}</h1>
<p>Score: <strong>{total:g} / {best:g}</strong> (file {html.escape(e.name)})</p>{note}
<table><tr><th>exercise test</th><th>points</th><th>what the test said</th><th>comment</th></tr>
{''.join(rows)}</table>{''.join(written)}{other}</body></html>
"""


#: A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """The cell as text, neutralised (a leading quote) when a spreadsheet would run it."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def notebook_order(out: Path) -> list[str]:
    """The grade ids of the graded cells of every tutorial of the grading folder ``out``, in
    the order of each notebook (from ``source/<tutorial>/<tutorial>.ipynb``)."""
    order: list[str] = []
    for path in sorted((Path(out) / "source").glob("*/*.ipynb")):
        try:
            nb = nbformat.read(path, 4)
        except Exception:  # an unreadable copy: its columns fall back to sorted order
            continue
        order += [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                  if (c.metadata.get("nbgrader") or {}).get("grade")
                  and c.metadata["nbgrader"].get("grade_id")]
    return order


def write_grades(path: Path, rows: list[dict]) -> None:
    """``grades.csv``: student, tutorial, each graded cell (in the notebooks' order, read
    from the grading folder's ``source/``; others after them, sorted), total, maximum, and
    how many written answers still wait for a hand grade."""
    fixed = ("student", "tutorial", "total", "max", handgrade.WAITING)
    found = {k for r in rows for k in r} - set(fixed)
    rank = {gid: i for i, gid in enumerate(notebook_order(Path(path).parent))}
    ids = sorted(found, key=lambda gid: (rank.get(gid, len(rank)), gid))
    _write_csv(path, rows, ["student", "tutorial", *ids, "total", "max", handgrade.WAITING])


def _write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8", errors="replace") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: csv_safe(v) for k, v in row.items()} for row in rows)


def _finish(e: Entry, result: dict, grader: Grader, db: str, out: Path,
            deadline: dt.datetime | None, summary: Summary, figures) -> None:
    """Judge one hand-in's result, record it in the gradebook, write its feedback page and
    its notebook for hand grading."""
    summary.kernel_cpu_s += _number(result.get("kernel_cpu_seconds"))
    summary.worker_cpu_s += _number(result.get("worker_cpu_seconds"))
    phases = result.get("cpu") if isinstance(result.get("cpu"), dict) else {}
    for key, value in phases.items():
        if isinstance(key, str):
            summary.cpu_phases[key] = summary.cpu_phases.get(key, 0.0) + _number(value)
    _judge(e, result, deadline)
    figures.add(e, result)
    release = grader.releases[e.tutorial]
    answers = handgrade.answers_of(e.notebook, release)
    replaced = record(db, e, result, answers, handgrade.previous_answers(out, e))
    if replaced:
        e.reason = "; ".join(x for x in (e.reason, replaced) if x)
    page = out / "feedback" / e.student / f"{e.tutorial}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    written = handgrade.hand_grades(db, e, release)
    for a in written:
        a["text"] = answers.get(a["grade_id"]) or ""
    page.write_text(feedback_html(e, result, written), encoding="utf-8", errors="replace")
    graded = handgrade.autograded_path(out, e.student, e.tutorial)
    graded.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(handgrade.autograded_notebook(e, release, result), graded)


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else 0.0


def private_folder(out: Path) -> None:
    """Make ``out`` (solutions, hidden tests, the gradebook, students' work) readable by
    its owner only."""
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)


def grade(course: Course, submissions: Path, out: Path, tutorial: str | None = None,
          workers: int = 1, db: str | None = None, pattern: str = "auto",
          deadline: dt.datetime | None = None, limits: Limits | None = None,
          progress: bool = True, unsandboxed: bool = False,
          scheduler: str | None = None, security=None) -> Summary:
    """Grade a cohort; write ``grades.csv``, ``report.csv``, ``feedback/``, the run's
    figures (``run.json``) and the cohort report (``cohort.html``) in ``out``.
    ``scheduler``: grade on that Dask cluster's workers instead of ``workers`` local ones,
    reached with ``security`` (a ``distributed.security.Security`` with the client's
    certificates, or :data:`neuroai_course.cluster.INSECURE` for a ``tcp://`` scheduler).
    ``pattern``: how hand-ins' file names name the students, a preset of
    :data:`~neuroai_course.submissions.LMS_PRESETS` (``canvas``, ``moodle``, ``generic``,
    ``auto``) or a regular expression; notebooks whose names match none are listed on stderr
    before grading and noted in ``report.csv``."""
    import sys

    from tqdm.auto import tqdm

    from neuroai_course import report as cohort_report

    if tutorial:
        course.select([tutorial])
    start, cpu_start = time.perf_counter(), time.process_time()
    grader = Grader(course, limits or Limits(), workers, unsandboxed, scheduler=scheduler,
                    security=security)
    private_folder(out)
    db = db or f"sqlite:///{(out / 'gradebook.db').resolve()}"
    summary = Summary()
    try:
        entries = collect(submissions, grader.work, pattern)
        summary.entries = entries
        unmatched = unmatched_names(entries)
        if unmatched:
            shown = ", ".join(unmatched[:5]) + (f" and {len(unmatched) - 5} more"
                                                if len(unmatched) > 5 else "")
            how = f"--lms {pattern}" if pattern in LMS_PRESETS else "--pattern"
            print(f"neuroai grade: warning: {len(unmatched)} hand-in(s) match no file-name "
                  f"pattern ({how}); their student id is the whole file name: {shown}",
                  file=sys.stderr, flush=True)
        sources = {t.id: notebooks.read_source(t.source) for t in course.tutorials()}
        prints = [Fingerprint.of(tid, nb) for tid, nb in sources.items()]
        for e in entries:
            read_notebook(e)
            identify(e, prints, tutorial)
        _latest_only(entries)
        todo = [e for e in entries if e.status == "pending"]
        if todo:
            grader.start_pool()  # its workers start while the tutorials are prepared here
        for tid in sorted({e.tutorial for e in todo}):
            grader.prepare(tid, db)
        jobs, run = [], uuid.uuid4().hex[:8]
        for i, e in enumerate(todo):
            notes = repair(e.notebook, grader.releases[e.tutorial])
            e.reason = "; ".join(([UNMATCHED] if e.unmatched else []) + notes)
            # unique across runs: a cluster's scheduler keeps the events of earlier runs
            jobs.append(grader.job(e.tutorial, e.notebook, f"h{os.getpid()}-{run}-{i:05d}"))
        similarity.flag_identical(todo, sources, grader.releases)
        bar = tqdm(total=len(todo), desc="grading", unit="hand-in", disable=not progress)
        figures = cohort_report.RunFigures(workers=workers, scheduler=scheduler or "")
        for i, result in grader.run(jobs):
            e = todo[i]
            try:
                _finish(e, result, grader, db, out, deadline, summary, figures)
            except Exception as err:  # one hand-in never ends the run for the cohort
                detail = clean_text(f"{type(err).__name__}: {err}", 300)
                e.flag("crashed", "; ".join(x for x in (e.reason, "its results could not be "
                                                        f"recorded ({detail})") if x))
            bar.update()
        bar.close()
        names = {j["name"]: e for j, e in zip(jobs, todo, strict=True)}
        for name, seen in sorted(grader.retried().items()):
            e = names.get(name)
            if e is None:
                continue
            summary.retried.append(e.name)
            e.reason = "; ".join(x for x in (e.reason, "graded again after its worker was "
                                             f"lost ({len(seen)} workers tried it)") if x)
        tids = sorted({e.tutorial for e in todo})
        handgrade.write_layout(course, out, db, tids)
        write_grades(out / "grades.csv", gradebook_rows(db, tids))
        report = [{"input": e.name, "student": e.student, "tutorial": e.tutorial,
                   "status": e.status, "reason": e.reason} for e in entries]
        _write_csv(out / "report.csv", report, list(REPORT_FIELDS))
        summary.isolation = grader.isolation()
    finally:
        grader.close()
    summary.seconds = time.perf_counter() - start
    summary.client_cpu_s = time.process_time() - cpu_start
    figures.finish(summary, deadline)
    (out / cohort_report.RUN_FILE).write_text(json.dumps(figures.data(), indent=1),
                                              encoding="utf-8")
    cohort_report.write(out, course)
    return summary
