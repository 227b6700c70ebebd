"""What one machine needs to grade a course's hand-ins, prepared once per tutorial.

A tutorial's :class:`Plan`: its test cells (hidden parts included, run by the grader), the
functions the student writes, the exercises' references, and a copy of ``neuroai_core``
whose references raise (:mod:`neuroai_course.tripwire`) for the sandboxed kernel to import.
A :class:`Stage` keeps the plans, the student versions and the folders (private to the
grader, or traversable by the sandbox user); a job made by :meth:`Stage.job` is data only,
and :meth:`Stage.localize` adds this machine's folders to it. Its :func:`fingerprint` is
what a Dask worker must agree on with the client.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
import psutil

from neuroai_course import authoring, notebooks, tripwire
from neuroai_course.grading import bytecode, privileged, sandbox
from neuroai_course.grading.limits import Limits
from neuroai_course.nbgrader_ops import Workspace
from neuroai_course.project import Course, CourseError
from neuroai_course.release import student_version
from neuroai_course.submissions import DEF


@dataclass
class Plan:
    """What grading one tutorial needs, prepared once: the test cells (hidden parts
    included) that run in the grader, the functions the student writes, and the copy of
    ``neuroai_core`` without the exercises' references that the kernels import."""

    tutorial: str
    tests: list[dict]
    functions: list[str]
    references: list[str]
    binds: list[list[str]]


def make_plan(tid: str, source, shared: Path) -> Plan:
    """The plan of tutorial ``tid`` from its source notebook (marks applied); the library
    copy goes under ``shared`` (a folder the sandbox user can traverse)."""
    import neuroai_core

    tests, functions, last = [], [], []
    for c in source.cells:
        meta = c.metadata.get("nbgrader", {})
        if c.cell_type != "code":
            continue
        if meta.get("solution"):
            last = DEF.findall(c.source)
            functions += [f for f in last if f not in functions]
        if meta.get("grade"):
            tests.append({"grade_id": meta["grade_id"], "points": float(meta.get("points", 0)),
                          "source": c.source, "exercise": last,
                          "references": authoring.references(c)})
    refs = sorted({r for t in tests for r in t["references"]})
    package = Path(neuroai_core.__path__[0]).resolve()
    try:
        staged = tripwire.stage(package, refs, shared / f"library-{tid}", sandbox.LIBRARY)
    except tripwire.TripwireError as err:
        raise CourseError(f"{tid}: {err}") from None
    return Plan(tid, tests, functions, refs, [[str(staged), f"{sandbox.LIBRARY}/{package.name}"]])


def kernel_cells(nb) -> list[list]:
    """``[index, source]`` of every code cell the student's kernel runs: all but tests."""
    return [[i, c.source] for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("grade")]


def fingerprint(plan, version: str | None = None) -> dict:
    """What a worker must agree on with the client to grade ``plan``'s tutorial: the hash of
    its tests, functions and references (``tests``), and ``neuroai_core``'s version
    (``library``), with ``hash`` over both."""
    if version is None:
        import neuroai_core

        version = neuroai_core.__version__
    tests = hashlib.sha256(json.dumps(
        {"tests": plan.tests, "functions": plan.functions, "references": plan.references},
        sort_keys=True).encode()).hexdigest()[:16]
    whole = hashlib.sha256(f"{tests} {version}".encode()).hexdigest()[:16]
    return {"tutorial": plan.tutorial, "tests": tests, "library": version, "hash": whole}


class Stage:
    """One machine's side of grading a course: the tutorials' plans (their staged library
    copies) and student versions, the private and sandbox-traversable folders, and jobs
    made local to them. The client's :class:`~neuroai_course.grade.Grader` is one; each
    Dask worker keeps one of its own (:mod:`neuroai_course.cluster`)."""

    def __init__(self, course: Course, limits: Limits, unsandboxed: bool = False,
                 why_unsafe: str | None = None) -> None:
        """``why_unsafe``: :func:`sandbox.unavailable_reason`, when the caller has it
        (probing starts bubblewrap once more)."""
        if not unsandboxed:
            why = sandbox.unavailable_reason() if why_unsafe is None else why_unsafe
            if why:
                raise CourseError(f"cannot grade untrusted notebooks safely: {why}; pass "
                                  "--unsandboxed only for notebooks you trust")
        self.course, self.limits, self.unsandboxed = course, limits, unsandboxed
        remove_stale()
        # Private to root: kernel specs and logs, extracted hand-ins, the seccomp filter.
        self.work = Path(tempfile.mkdtemp(prefix="neuroai-grade-"))
        # Traversable (not listable) by the sandbox's and the grader's users: library copies,
        # scratch mount points, connection files, the grader process's home. Only root
        # writes in these folders; the scratch tmpfs mounted in them is the kernel's.
        self.shared = Path(tempfile.mkdtemp(prefix="neuroai-sandbox-"))
        os.chmod(self.shared, 0o711)
        for sub in ("scratch", "conn"):
            (self.shared / sub).mkdir(mode=0o711)
            os.chmod(self.shared / sub, 0o711)
        # Who owns the two folders: a later grader removes them if this process is killed.
        (self.shared / OWNER).write_text(f"{os.getpid()}\n{self.work}\n")
        self.seccomp = None
        if not unsandboxed:
            self.seccomp = self.work / "seccomp.bpf"
            try:
                sandbox.write_seccomp_filter(self.seccomp)
                # the grader process sees the scratch mounts made after it started
                sandbox.share_mounts(self.shared / "scratch")
                privileged.check_limits(self.shared, limits)
            except (sandbox.SandboxError, OSError) as err:
                Stage.close(self)  # (a subclass has not finished its own set-up)
                raise CourseError(f"cannot grade untrusted notebooks safely: {err}; pass "
                                  "--unsandboxed only for notebooks you trust") from None
        self.plans: dict[str, Plan] = {}
        self.releases: dict[str, nbformat.NotebookNode] = {}

    def isolation(self) -> str:
        """One line for the summary: how hand-ins were confined."""
        if self.unsandboxed:
            return "isolation: none (--unsandboxed): the notebooks ran as this user"
        return (f"isolation: bubblewrap as uid {sandbox.SANDBOX_UID}; own user (no nested "
                f"ones), mount, PID, network, IPC namespaces; seccomp filter; read-only system; "
                f"private scratch; cgroups: memory {self.limits.mem_mb} MB, "
                f"{self.limits.nproc} processes, one CPU; tests in a grader process as uid "
                f"{privileged.GRADER_UID}, memory {self.limits.grader_mem_mb} MB")

    def prepare(self, tid: str, db: str | None = None) -> None:
        """The plan of ``tid``, its student version, and its rows in the gradebook."""
        if tid in self.plans:
            return
        (t,) = self.course.select([tid])
        rel = t.source.relative_to(self.course.root)
        source = notebooks.read_source(t.source, rel)
        # The committed student version (``neuroai check`` keeps it in sync with the
        # source); generated afresh only when it is missing.
        self.releases[tid] = (nbformat.read(t.student, 4) if t.student.is_file() else
                              student_version(self.course, t, Workspace(self.work / "rel" / tid),
                                              source))
        self.plans[tid] = make_plan(tid, source, self.shared)
        bytecode.ensure(bytecode.import_lines(source), sandbox.site_packages())
        if not (self.shared / "mpl").exists():
            sandbox.copy_font_cache(self.shared / "mpl")
        if db is None:
            return
        master = Workspace(self.work / "master" / tid, db_url=db)
        for attempt in range(3):  # concurrent graders may create the assignment at once
            try:
                master.generate(tid, source, str(rel))
                break
            except CourseError:
                if attempt == 2:
                    raise
                time.sleep(1 + attempt)

    def job(self, tid: str, nb, name: str, phases: list | None = None) -> dict:
        """One hand-in's job, data only (it names no file of this machine): what a Dask
        worker grades with its own course, whose fingerprint must be ``fingerprint``."""
        plan = self.plans[tid]
        job = {"name": name, "tutorial": tid, "limits": asdict(self.limits),
               "cells": kernel_cells(nb), "tests": plan.tests, "functions": plan.functions,
               "references": plan.references, "unsandboxed": self.unsandboxed,
               "fingerprint": fingerprint(plan)}
        if phases:
            job["phases"] = phases
        return job

    def localize(self, job: dict) -> dict:
        """``job`` with this grader's folders and library copy, as
        :func:`neuroai_course.grading.privileged.grade_handin` takes it."""
        self.prepare(job["tutorial"])
        return {**job, "private": str(self.work), "shared": str(self.shared),
                "scratch_root": str(self.shared / "scratch"),
                "seccomp": str(self.seccomp) if self.seccomp else None,
                "binds": [*self.plans[job["tutorial"]].binds,
                          [str(self.shared / "mpl"), sandbox.FONT_CACHE]]}

    def close(self) -> None:
        privileged.close_grader(str(self.work))
        _remove(self.shared, self.work)


OWNER = "owner"


def _mounts_under(folder: Path) -> list[str]:
    """Mount points below ``folder`` in this mount namespace (deepest first)."""
    prefix = str(folder) + "/"
    points = (p.mountpoint for p in psutil.disk_partitions(all=True))
    return sorted((p for p in points if p.startswith(prefix)), reverse=True)


def _kill_processes_naming(folder: Path) -> int:
    """SIGKILL every other process whose command line names ``folder``: a grader's
    sandboxes (bubblewrap binds the scratch and the connection file from it), their
    launchers and grader processes, when one outlived its hand-in's clean-up (its worker
    was lost, or its kill raced an exit). The kernel inside dies with its bubblewrap.
    Returns how many were killed."""
    text, me, killed = str(folder), os.getpid(), 0
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if proc.pid != me and any(text in part for part in proc.info["cmdline"] or ()):
                proc.kill()
                killed += 1
        except psutil.Error:
            continue
    return killed


def _remove(shared: Path, work: Path | None) -> None:
    """Kill what still runs from a grader's folders, unmount the scratch mounts that a
    killed grading worker left (its ``finally`` did not run), then remove a grader's two
    folders."""
    _kill_processes_naming(shared)
    for point in _mounts_under(shared):
        subprocess.run(["umount", "-l", point], capture_output=True)
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(shared, ignore_errors=True)


def remove_stale(tmp: Path | None = None) -> list[Path]:
    """Remove what graders that were killed left in ``tmp`` (default: the temporary
    folder): the folders of every :class:`Stage` whose owning process is gone, and the
    scratch mounts in them. A folder without an owner record is left alone. Returns the
    shared folders removed."""
    removed = []
    for shared in sorted(Path(tmp or tempfile.gettempdir()).glob("neuroai-sandbox-*")):
        try:
            pid, work = (shared / OWNER).read_text().split("\n")[:2]
            pid = int(pid)
        except (OSError, ValueError):
            continue
        if psutil.pid_exists(pid):
            continue
        work_path = Path(work)
        # only the private folder this record names, and only one of ours
        ours = work_path.parent == shared.parent and work_path.name.startswith("neuroai-grade-")
        _remove(shared, work_path if ours else None)
        removed.append(shared)
    return removed
