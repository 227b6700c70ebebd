"""``neuroai grade``: a cohort's hand-ins in, grades, feedback and a full report out.

Pipeline: collect every input file (zip or folder) -> read and identify each notebook by
content -> keep each student's latest hand-in per tutorial -> repair the grading structure
and insert the guard cells -> autograde each in its own worker process, with a sandboxed
kernel, ``workers`` at a time -> write the grades into nbgrader's gradebook (SQLite or any
SQLAlchemy URL) from this process only -> ``grades.csv``, ``report.csv`` and one HTML
feedback file per student and tutorial.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from neuroai_course import notebooks
from neuroai_course.nbgrader_ops import Workspace, scripts_on_path
from neuroai_course.project import Course, CourseError
from neuroai_course.release import student_version
from neuroai_course.submissions import (
    LMS_PATTERN,
    Entry,
    Fingerprint,
    collect,
    identify,
    read_notebook,
    repair,
)

GUARD_SETUP = "import neuroai_course.guard as _g\n__neuroai_guard__ = _g.Guard()\ndel _g"
GUARD_RESTORE = "__neuroai_guard__.restore();"
REPORT_FIELDS = ("input", "student", "tutorial", "status", "reason")


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Defaults suit the course's tutorials on a 2-core CPU."""

    cell_timeout_s: int = 30
    submission_timeout_s: int = 300
    mem_mb: int = 3072
    nproc: int = 128
    cpu_s: int = 600

    def __post_init__(self) -> None:
        for name in ("cell_timeout_s", "submission_timeout_s", "mem_mb", "nproc", "cpu_s"):
            if getattr(self, name) <= 0:
                raise CourseError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass
class Summary:
    entries: list[Entry] = field(default_factory=list)
    seconds: float = 0.0
    isolation: str = ""

    def count(self, *statuses: str) -> int:
        return sum(e.status in statuses for e in self.entries)

    def line(self) -> str:
        graded = self.count("graded", "late", "tampering found", "timed out")
        failed = self.count("crashed")
        flagged = len(self.entries) - self.count("graded") - failed
        return (f"{len(self.entries)} files: {graded} graded, {flagged} flagged, {failed} failed, "
                f"in {self.seconds:.0f} s")


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


def _guarded(nb) -> nbformat.NotebookNode:
    """Insert the guard's snapshot first and a restore before every test cell."""
    def cell(source: str, kind: str):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["neuroai"] = {"guard": kind}
        return c

    cells = [cell(GUARD_SETUP, "setup")]
    for c in nb.cells:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade"):
            cells.append(cell(GUARD_RESTORE, "restore"))
        cells.append(c)
    nb.cells = cells
    return nb


class Grader:
    """Grades entries of one cohort; see :func:`grade`."""

    def __init__(self, course: Course, out: Path, db: str | None, limits: Limits,
                 workers: int) -> None:
        from neuroai_course.sandbox import namespaces_work

        self.course, self.out, self.limits = course, out, limits
        self.work = Path(tempfile.mkdtemp(prefix="neuroai-grade-"))
        self.scratch = Path(tempfile.mkdtemp(prefix="neuroai-scratch-"))
        os.chmod(self.scratch, 0o711)
        if os.geteuid() == 0:
            # Mode 000: the workers (root, with capabilities) still enter; sandboxed kernels
            # (uid 0 without capabilities) cannot, so no kernel reads any grader's templates,
            # jobs or gradebook copies, this run's or a concurrent one's.
            os.chmod(self.work, 0o000)
        self.db = db or f"sqlite:///{(out / 'gradebook.db').resolve()}"
        self.templates: dict[str, Path] = {}
        self.releases: dict[str, nbformat.NotebookNode] = {}
        self.mode = "ns" if namespaces_work() else "plain"
        self._mode: int | None = None
        self.hide = [str(self.work), str(course.root / "solutions"), *_private(out, self.db)]
        self.cgroups = [make_cgroup(f"neuroai-{os.getpid()}-{s}", limits.nproc)
                        for s in range(workers)]
        self.stale: list[str] = []

    def isolation(self) -> str:
        """One line for the summary: how submissions were confined."""
        ns = ("own mount and PID namespaces, grader files hidden, private scratch, read-only "
              "file systems, no capabilities" if self.mode == "ns" else "resource limits only")
        forks = "pids cgroup" if all(self.cgroups) else "RLIMIT_NPROC (not for root)"
        return f"isolation: {ns}; process cap: {forks}; memory cap {self.limits.mem_mb} MB"

    def close(self) -> None:
        for cg in self.cgroups + self.stale:
            if cg:
                kill_cgroup(cg)
                try:
                    os.rmdir(cg)
                except OSError:
                    pass
        self.unlock_gradebook()
        os.chmod(self.work, 0o700)
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _sqlite_path(self) -> Path | None:
        return Path(self.db[len("sqlite:///"):]) if self.db.startswith("sqlite:///") else None

    def lock_gradebook(self) -> None:
        """As root, keep the SQLite gradebook unreadable to sandboxed kernels (mode 000)."""
        path = self._sqlite_path()
        if os.geteuid() == 0 and path and path.exists() and self._mode is None:
            self._mode = path.stat().st_mode & 0o777
            os.chmod(path, 0o000)

    def unlock_gradebook(self) -> None:
        path = self._sqlite_path()
        if self._mode is not None and path and path.exists():
            os.chmod(path, self._mode)
        self._mode = None

    def prepare(self, tid: str) -> None:
        """A template nbgrader course for ``tid`` (own SQLite) and its rows in the gradebook."""
        if tid in self.templates:
            return
        (t,) = self.course.select([tid])
        tpl = self.work / "templates" / tid
        ws = Workspace(tpl)
        self.releases[tid] = student_version(self.course, t, ws)
        self.templates[tid] = tpl
        master = Workspace(self.work / "master" / tid, db_url=self.db)
        for attempt in range(3):  # concurrent graders may create the assignment at once
            try:
                rel = t.source.relative_to(self.course.root)
                master.generate(tid, notebooks.read_source(t.source, rel), str(rel))
                break
            except CourseError:
                if attempt == 2:
                    raise
                time.sleep(1 + attempt)

    def run_one(self, e: Entry, slot: int, index: int) -> dict:
        """Autograde one entry in a worker process; return the worker's result."""
        job_dir = self.work / "jobs" / f"{index:05d}"
        scratch = self.scratch / job_dir.name
        job_dir.mkdir(parents=True)
        scratch.mkdir(parents=True)
        nb_path = job_dir / "submission.ipynb"
        nbformat.write(e.notebook, nb_path)
        job = {"template": str(self.templates[e.tutorial]), "workdir": str(job_dir / "w"),
               "notebook": str(nb_path), "tutorial": e.tutorial, "student": e.student,
               "scratch": str(scratch), "result": str(job_dir / "result.json"),
               "mode": self.mode, "cgroup": self.cgroups[slot], "hide": self.hide,
               "cell_timeout_s": self.limits.cell_timeout_s, "mem_mb": self.limits.mem_mb,
               "nproc": self.limits.nproc, "cpu_s": self.limits.cpu_s}
        (job_dir / "job.json").write_text(json.dumps(job))
        proc = subprocess.Popen([sys.executable, "-m", "neuroai_course.grade_worker",
                                 str(job_dir / "job.json")], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, err = proc.communicate(timeout=self.limits.submission_timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return {"killed": f"grading took over {self.limits.submission_timeout_s} s"}
        finally:
            if self.cgroups[slot] and not kill_cgroup(self.cgroups[slot]):
                # Survivors (a fork bomb still unwinding on a busy machine) would count
                # against the next hand-in's process cap: give this slot a fresh cgroup.
                self.stale.append(self.cgroups[slot])
                self.cgroups[slot] = make_cgroup(f"neuroai-{os.getpid()}-{slot}-{index}",
                                                 self.limits.nproc)
        result_file = job_dir / "result.json"
        if not result_file.exists():
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            return {"error": f"the grading worker failed: {tail[0][:200]}"}
        return json.loads(result_file.read_text())



def _private(out: Path, db: str) -> list[str]:
    """What of the output the kernels must not see: all of it, unless it holds the code."""
    out = out.resolve()
    code = [Path(sys.prefix), Path(sys.base_prefix), Path(__file__).resolve().parents[2]]
    if not any(c == out or out in c.parents for c in code):
        return [str(out)]
    hidden = [str(out / "feedback")]
    if db.startswith("sqlite:///"):
        hidden.append(db[len("sqlite:///"):])
    return hidden


def make_cgroup(name: str, max_pids: int) -> str | None:
    """A pids cgroup (v1 or v2) capping the processes of one worker slot, or None."""
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        folder = base / name
        try:
            folder.mkdir(exist_ok=True)
            (folder / "pids.max").write_text(str(max_pids))
            return str(folder)
        except OSError:
            try:
                folder.rmdir()
            except OSError:
                pass
    return None


def kill_cgroup(folder: str) -> bool:
    """Kill every process in the cgroup (a fork bomb's children, a stray kernel); return
    True when it is empty."""
    procs = Path(folder) / "cgroup.procs"
    for _ in range(50):
        try:
            pids = [int(x) for x in procs.read_text().split()]
        except OSError:
            return True
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)
    return False


def _judge(e: Entry, result: dict, deadline: dt.datetime | None) -> None:
    """Turn a worker's result into the entry's status and reason."""
    notes = [e.reason] if e.reason else []
    if result.get("killed"):
        e.flag("timed out", "; ".join(notes + [result["killed"]]))
        return
    if result.get("error"):
        why = result["error"]
        if "kernel died" in why or "Invalid Signature" in why:
            why = ("the kernel died or broke while running the notebook (the memory cap, "
                   "os._exit, or processes forked from the kernel); no grade, check by hand")
        e.flag("crashed", "; ".join(notes + [why]))
        return
    status = "graded"
    if deadline and e.timestamp and e.timestamp > deadline:
        status = "late"
        notes.append(f"handed in {e.timestamp:%Y-%m-%d %H:%M}, after the deadline "
                     f"{deadline:%Y-%m-%d %H:%M}")
    if result.get("restored"):
        status = "tampering found"
        notes.append("rebound " + "; ".join(result["restored"])[:300]
                     + " (restored before the tests ran)")
    if result.get("timeouts"):
        status = "timed out"
        notes.append("cell time limit exceeded in " + ", ".join(result["timeouts"]))
    e.flag(status, "; ".join(notes))


def record(db: str, e: Entry, result: dict) -> str:
    """Write one submission's grades into the gradebook; say what it replaced."""
    from nbgrader.api import Gradebook, MissingEntry

    scripts_on_path()
    note = ""
    with Gradebook(db) as gb, warnings.catch_warnings():
        # nbgrader 0.9.6 on SQLAlchemy 2.x warns about its own session handling
        warnings.filterwarnings("ignore", message=".*not in session", module="nbgrader")
        gb.update_or_create_student(e.student)
        try:
            old = gb.find_submission(e.tutorial, e.student)
            note = f"replaces the hand-in graded earlier ({old.timestamp or 'no time'})"
            gb.remove_submission(e.tutorial, e.student)
        except MissingEntry:
            pass
        stamp = (e.timestamp or dt.datetime(1970, 1, 1)).isoformat()
        gb.add_submission(e.tutorial, e.student, timestamp=stamp)
        for gid, (score, _) in result.get("scores", {}).items():
            grade = gb.find_grade(gid, e.tutorial, e.tutorial, e.student)
            grade.auto_score = score
            grade.needs_manual_grade = False
        gb.db.commit()
    return note


def gradebook_rows(db: str, tutorials: list[str]) -> list[dict]:
    """One row per student and tutorial: per-exercise points, total and maximum."""
    from nbgrader.api import Gradebook

    if not tutorials:
        return []
    scripts_on_path()
    rows = []
    with Gradebook(db) as gb:
        for tid in tutorials:
            for sub in gb.assignment_submissions(tid):
                row = {"student": sub.student.id, "tutorial": tid}
                for nb in sub.notebooks:
                    for g in sorted(nb.grades, key=lambda g: g.name):
                        if g.cell.cell_type == "code":
                            row[g.name] = f"{(g.auto_score or 0.0):g}"
                row["total"] = f"{sub.score:g}"
                row["max"] = f"{sub.max_score:g}"
                rows.append(row)
    return sorted(rows, key=lambda r: (r["tutorial"], r["student"]))


def feedback_html(e: Entry, result: dict) -> str:
    """A small, self-contained feedback page: each exercise's score and test message."""
    rows, total, best = [], 0.0, 0.0
    for gid, (score, max_score) in sorted(result.get("scores", {}).items()):
        total, best = total + score, best + max_score
        msg = result.get("messages", {}).get(gid, "") or "(no output)"
        mark = "ok" if score == max_score else "miss"
        rows.append(f"<tr class='{mark}'><td>{html.escape(gid)}</td><td>{score:g} / "
                    f"{max_score:g}</td><td><pre>{html.escape(msg)}</pre></td></tr>")
    note = f"<p class='note'>{html.escape(e.status)}: {html.escape(e.reason)}</p>" \
        if e.reason else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(e.tutorial)}: feedback for
{html.escape(e.student)}</title><style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4em; vertical-align: top; text-align: left; }}
pre {{ white-space: pre-wrap; margin: 0; }} tr.ok td:nth-child(2) {{ color: #1a7f37; }}
tr.miss td:nth-child(2) {{ color: #b3261e; }} .note {{ background: #fff4ce; padding: .5em; }}
</style></head><body>
<h1>{html.escape(e.tutorial)}: feedback for {html.escape(e.student)}</h1>
<p>Score: <strong>{total:g} / {best:g}</strong> (file {html.escape(e.name)})</p>{note}
<table><tr><th>exercise test</th><th>points</th><th>what the test said</th></tr>
{''.join(rows)}</table></body></html>
"""


def _write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def grade(course: Course, submissions: Path, out: Path, tutorial: str | None = None,
          workers: int = 1, db: str | None = None, pattern: str = LMS_PATTERN,
          deadline: dt.datetime | None = None, limits: Limits | None = None,
          progress: bool = True) -> Summary:
    """Grade a cohort; write ``grades.csv``, ``report.csv`` and ``feedback/`` in ``out``."""
    from tqdm.auto import tqdm

    if workers < 1:
        raise CourseError(f"workers must be at least 1, got {workers}")
    if tutorial:
        course.select([tutorial])
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    grader = Grader(course, out, db, limits or Limits(), workers)
    summary = Summary()
    try:
        entries = collect(submissions, grader.work, pattern)
        summary.entries = entries
        prints = [Fingerprint.of(t.id, notebooks.read_source(t.source))
                  for t in course.tutorials()]
        for e in entries:
            read_notebook(e)
            identify(e, prints, tutorial)
        _latest_only(entries)
        todo = [e for e in entries if e.status == "pending"]
        for tid in sorted({e.tutorial for e in todo}):
            grader.prepare(tid)
        grader.lock_gradebook()
        for e in todo:
            notes = repair(e.notebook, grader.releases[e.tutorial])
            e.notebook = _guarded(e.notebook)
            e.reason = "; ".join(notes)
        slots: queue.Queue[int] = queue.Queue()
        for s in range(workers):
            slots.put(s)

        def work(e: Entry, index: int) -> dict:
            slot = slots.get()
            try:
                return grader.run_one(e, slot, index)
            finally:
                slots.put(slot)

        bar = tqdm(total=len(todo), desc="grading", unit="submission", disable=not progress)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(work, e, i): e for i, e in enumerate(todo)}
            for fut in as_completed(futures):
                e, result = futures[fut], fut.result()
                _judge(e, result, deadline)
                replaced = record(grader.db, e, result)
                if replaced:
                    e.reason = "; ".join(x for x in (e.reason, replaced) if x)
                page = out / "feedback" / e.student / f"{e.tutorial}.html"
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text(feedback_html(e, result), encoding="utf-8")
                bar.update()
        bar.close()
        tids = sorted({e.tutorial for e in todo})
        rows = gradebook_rows(grader.db, tids)
        ids = sorted({k for r in rows for k in r} - {"student", "tutorial", "total", "max"})
        _write_csv(out / "grades.csv", rows, ["student", "tutorial", *ids, "total", "max"])
        report = [{"input": e.name, "student": e.student, "tutorial": e.tutorial,
                   "status": e.status, "reason": e.reason} for e in entries]
        _write_csv(out / "report.csv", report, list(REPORT_FIELDS))
        summary.isolation = grader.isolation()
    finally:
        grader.close()
    summary.seconds = time.perf_counter() - start
    return summary
