"""`neuroai grade --scheduler`: a real Dask cluster on loopback (a `dask scheduler` and two
`dask worker` processes, started here as separate processes, as on separate machines), on
mutual TLS with the certificates of `neuroai certs` (tests/test_cluster_tls.py tests that
nothing gets in without them).

Expected values: the cluster must give what grading on the local machine gives for the same
cohort (grades.csv and report.csv identical), and the totals the corpus states
(grading_corpus.py: from the tutorials' points). The fault test kills worker processes with
SIGKILL while they grade: the hand-in killed once is graded again with its expected total,
the one killed twice is `crashed` (the scheduler gives a hand-in up after two lost
workers), and every hand-in appears once in the report and the gradebook.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from conftest import ROOT, copy_course
from grading_corpus import FULL, M2_FULL, cases, load_csv, write_cohort

from neuroai_course import certs
from neuroai_course.cluster import SCHEDULER_ENV
from neuroai_course.grade import Limits, grade
from neuroai_course.project import CourseError

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("bwrap")]
LIMITS = Limits(cell_timeout_s=10, submission_timeout_s=240)
#: Honest and hostile hand-ins of both tutorials, and two inputs that are no hand-in.
PICKED = ("ana/M1T1_LIF.ipynb", "ana/M2T2_Dopamine.ipynb", "cleo/M1T1_LIF.ipynb",
          "h-delegate/M1T1_LIF.ipynb", "h-osexit/M1T1_LIF.ipynb", "h-files/M1T1_LIF.ipynb",
          "h-tamper/M1T1_LIF.ipynb", "sam/M1T1_LIF.ipynb", "pat/M1T1_LIF.ipynb")
JOB = re.compile(r"h\d+-[0-9a-f]{8}-\d{5}")


def _env(course_root: Path) -> dict:
    return {**os.environ, **SCHEDULER_ENV, "NEUROAI_COURSE": str(course_root),
            "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}


def tls_args(folder: Path, role: str) -> list[str]:
    """`dask scheduler` / `dask worker` options: the certificate of ``role`` in ``folder``
    (written by `neuroai certs`)."""
    cert, key = certs.FILES[role]
    return ["--tls-ca-file", str(folder / certs.FILES["ca"][0]),
            "--tls-cert", str(folder / cert), "--tls-key", str(folder / key)]


class Cluster:
    """`dask scheduler` + `dask worker` processes on 127.0.0.1, on TLS with the certificates
    of ``tls`` (a folder written by `neuroai certs`; default: new ones in ``folder``)."""

    def __init__(self, folder: Path, course_root: Path, tls: Path | None = None) -> None:
        self.folder, self.course_root = folder, course_root
        if tls is None:
            tls = folder / "tls"
            certs.write(tls)
        self.tls = tls
        self.security = certs.folder_security(tls)  # the client's
        self.file = folder / "scheduler.json"
        self.procs: list[subprocess.Popen] = []
        self.nannies: list[subprocess.Popen] = []
        self.procs.append(self._spawn(["scheduler", "--protocol", "tls", "--host", "127.0.0.1",
                                       "--port", "0", "--no-dashboard", "--scheduler-file",
                                       str(self.file), *tls_args(tls, "scheduler")],
                                      "scheduler", course_root))
        deadline = time.time() + 120
        while not self.file.exists():
            assert time.time() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]

    def _spawn(self, args: list[str], log: str, course_root: Path) -> subprocess.Popen:
        out = open(self.folder / f"{log}.log", "ab")
        return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=out,
                                stderr=subprocess.STDOUT, env=_env(course_root),
                                cwd=self.folder)

    def add_worker(self, course_root: Path | None = None, tls: Path | None = None,
                   wait: bool = True) -> subprocess.Popen:
        """Start a worker with the certificates of ``tls`` (default: the cluster's); wait
        until the scheduler has it if ``wait``."""
        from distributed import Client

        with Client(self.address, timeout="60s", security=self.security) as client:
            before = len(client.scheduler_info(n_workers=-1)["workers"])
            proc = self._spawn(["worker", self.address, "--nthreads", "1", "--nworkers", "1",
                                "--memory-limit", "0", "--no-dashboard", "--host",
                                "127.0.0.1", *tls_args(tls or self.tls, "worker")],
                               f"worker{len(self.procs)}", course_root or self.course_root)
            self.procs.append(proc)
            self.nannies.append(proc)
            if wait:
                client.wait_for_workers(before + 1, timeout=180)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                self.stop(proc)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("cluster")
    course = copy_course(base / "course")
    c = Cluster(base, course.root)
    try:
        c.add_worker()
        c.add_worker()
        yield course, c
    finally:
        c.close()


def _rows(out: Path) -> tuple[list[dict], list[dict]]:
    return load_csv(out / "grades.csv"), load_csv(out / "report.csv")


def test_cluster_grades_as_the_local_machine_does(cluster, tmp_path):
    course, c = cluster
    corpus = {x.name: x for x in cases(course.root, tmp_path / "remote")}
    picked = [corpus[n] for n in PICKED]
    write_cohort(picked, tmp_path / "in")
    remote = grade(course, tmp_path / "in", tmp_path / "remote", scheduler=c.address,
                   security=c.security, limits=LIMITS, progress=False)
    local = grade(course, tmp_path / "in", tmp_path / "local", workers=2, limits=LIMITS,
                  progress=False)
    assert _rows(tmp_path / "remote") == _rows(tmp_path / "local")
    grades, report = _rows(tmp_path / "remote")
    # the corpus's own expectations, so that "identical" is not "identically wrong"
    status = {r["input"]: r["status"] for r in report}
    for case in picked:
        assert status[case.name] == case.status, case.name
    totals = {(r["student"], r["tutorial"]): float(r["total"]) for r in grades}
    assert totals[("ana", "M1T1_LIF")] == FULL and totals[("ana", "M2T2_Dopamine")] == M2_FULL
    assert totals[("cleo", "M1T1_LIF")] == 2 and totals[("h-tamper", "M1T1_LIF")] == 0
    assert remote.retried == [] and local.retried == []
    # the jobs ran on the cluster's workers, not in this process
    run = json.loads((tmp_path / "remote" / "run.json").read_text())
    workers = {h["worker"] for h in run["handins"]}
    assert workers and all(w.startswith("tls://127.0.0.1:") for w in workers), workers
    assert run["scheduler"] == c.address
    assert not (course.root / "HACKED").exists()
    page = (tmp_path / "remote" / "cohort.html").read_text(encoding="utf-8")
    assert "h-osexit/M1T1_LIF.ipynb" in page and "test_fi_rate" in page  # flagged; exercises
    assert f"<td>workers that graded</td><td>{len(workers)}</td>" in page


def test_a_worker_with_another_course_is_refused_in_one_line(cluster, tmp_path):
    course, c = cluster
    other = copy_course(tmp_path / "other")
    src = other.root / "solutions" / "M1_Neurons" / "M1T1_LIF.ipynb"
    nb = nbformat.read(src, 4)
    cell = next(x for x in nb.cells if x.metadata.get("nbgrader", {}).get("grade_id")
                == "test_fi_rate")
    cell.source += "\nassert True  # an edited hidden test\n"
    nbformat.write(nb, src)
    corpus = {x.name: x for x in cases(course.root, tmp_path / "out")}
    write_cohort([corpus["ana/M1T1_LIF.ipynb"]], tmp_path / "in")
    proc = c.add_worker(other.root)
    try:
        with pytest.raises(CourseError) as err:
            grade(course, tmp_path / "in", tmp_path / "out", scheduler=c.address,
                  security=c.security, limits=LIMITS, progress=False)
    finally:
        c.stop(proc)
    lines = str(err.value).splitlines()
    assert len(lines) == 1, lines
    assert re.match(r"worker tls://127\.0\.0\.1:\d+ refused: its course differs: tests of "
                    r"M1T1_LIF hash \w+ \(client: \w+\)$", lines[0]), lines


def _grading(nannies: list[subprocess.Popen]) -> dict[str, psutil.Process]:
    """Job name -> the worker process (child of a nanny) whose sandboxed kernel grades it."""
    found = {}
    for nanny in nannies:
        try:
            workers = psutil.Process(nanny.pid).children()
        except psutil.Error:
            continue
        for w in workers:
            try:
                for k in w.children(recursive=True):
                    m = JOB.search(" ".join(k.cmdline()))
                    if m and "bwrap" in k.name():
                        found[m.group(0)] = w
            except psutil.Error:
                continue
    return found


def test_killed_workers_lose_nothing_and_a_hand_in_killing_two_is_crashed(cluster, tmp_path):
    course, c = cluster
    corpus = {x.name: x for x in cases(course.root, tmp_path / "out")}
    names = ["ana/M1T1_LIF.ipynb", "cleo/M1T1_LIF.ipynb", "dan/Copy of M1T1_LIF.ipynb",
             "ana/M2T2_Dopamine.ipynb"]
    write_cohort([corpus[n] for n in names], tmp_path / "in")
    killed: list[str] = []
    stop = threading.Event()

    def kill(avoid: set[str], want: str | None = None) -> str | None:
        while not stop.is_set():
            for job, worker in _grading(c.nannies).items():
                if (want is None and job not in avoid) or job == want:
                    worker.send_signal(signal.SIGKILL)
                    killed.append(job)
                    return job
            time.sleep(0.1)
        return None

    def killer():
        once = kill(set())  # killed once: graded again elsewhere
        twice = kill({once})  # killed twice: crashed
        time.sleep(1)
        kill(set(), want=twice)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        summary = grade(course, tmp_path / "in", tmp_path / "out", scheduler=c.address,
                        security=c.security, limits=LIMITS, progress=False)
    finally:
        stop.set()
        thread.join(10)
    assert len(killed) == 3 and killed[1] == killed[2] != killed[0], killed
    grades, report = _rows(tmp_path / "out")
    assert sorted(r["input"] for r in report) == sorted(names)  # each input once
    assert len(grades) == len(names)  # each hand-in once in the gradebook
    assert len({(r["student"], r["tutorial"]) for r in grades}) == len(names)
    crashed = [r for r in report if r["status"] == "crashed"]
    assert len(crashed) == 1 and "died twice" in crashed[0]["reason"], report
    again = [r for r in report if r["status"] == "graded"
             and "graded again after its worker was lost" in r["reason"]]
    # At least the hand-in killed once. More when a kill lands just as a worker, its kernel
    # for one hand-in still shutting down (what the killer saw), has started the next: that
    # next one is lost with the worker and graded again too, and must be reported as such.
    assert len(again) >= 1, report
    assert sorted(summary.retried) == sorted([*(r["input"] for r in again),
                                              crashed[0]["input"]])
    totals = {(r["student"], r["tutorial"]): float(r["total"]) for r in grades}
    for name in names:
        if name == crashed[0]["input"]:
            continue
        case = corpus[name]
        student = name.split("/")[0]
        tid = "M2T2_Dopamine" if "M2T2" in name else "M1T1_LIF"
        assert totals[(student, tid)] == case.total, (name, totals)
    assert "retried after a lost worker" in summary.line()
