"""Grading on a Dask distributed cluster: the one path of ``neuroai grade``.

The client (``neuroai grade``) collects, identifies and repairs the hand-ins, then sends one
job per hand-in to the workers of a ``distributed`` cluster: the local machine's
(``LocalCluster`` of ``--workers`` processes, one thread each) or any cluster given by
``--scheduler tls://HOST:PORT`` (``dask scheduler`` / ``dask worker`` on several machines,
a Slurm queue...). A job is plain data: the notebook's kernel cells, the tutorial's test
cells, the exercise function names, the limits, the tutorial id and the fingerprint of the
course the client grades with. It names no file of the client's machine.

Each worker needs the course installed (the package ``neuroai_course``, ``neuroai_core``,
the course folder with ``solutions/``) and bubblewrap. It finds its course folder in the
environment variable ``NEUROAI_COURSE``, else from its working folder (as ``neuroai``
does); on the local cluster the client tells it. Once per worker process, a
:class:`Site` (a :class:`~neuroai_course.grade.Grader` of its own) stages the library
copies and scratch folders each tutorial needs, on the worker's own disk.

Before grading, every worker reports its fingerprint of each tutorial to grade (a hash of
the test cells, exercise functions and references, with ``neuroai_core.__version__``); a
worker whose fingerprint differs from the client's refuses the run with one line naming
the worker and what differs. A worker that joins later checks each job's fingerprint
before grading it and fails the job (which stops the run) on a mismatch.

Authentication: every connection of the cluster is mutual TLS. The local cluster runs on
certificates made in memory for the run (:meth:`distributed.security.Security.temporary`),
its scheduler on 127.0.0.1 and without a dashboard. A remote scheduler is reached only as
``tls://`` with the client's certificate signed by the cluster's CA (``neuroai certs``,
:mod:`neuroai_course.certs`); a plain ``tcp://`` scheduler, which anyone who reaches it can
use to run code on the workers, read the hand-ins and hidden tests, and hand this process
forged (pickled) results, only when the caller says so with :data:`INSECURE`
(``--insecure-cluster``).

Faults: a worker that dies mid-hand-in loses nothing; the scheduler gives its hand-ins to
another worker, and the client records each result once. Every start of a hand-in is
logged as a Dask event (topic :data:`TOPIC`), so the client knows which hand-ins were
graded more than once. A hand-in that kills two workers is given up by the scheduler
(``allowed_failures`` = 1, :class:`distributed.KilledWorker`) and reported as crashed.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from neuroai_course.project import CourseError
from neuroai_course.staging import Stage, fingerprint

#: The Dask event topic a worker logs each hand-in's start to.
TOPIC = "neuroai-grading"
#: Worker deaths a hand-in may cause before the scheduler gives it up (then: crashed).
ALLOWED_FAILURES = 1
PLUGIN = "neuroai-course"
#: The scheduler's settings grading relies on: a hand-in is given up after it killed
#: ``ALLOWED_FAILURES + 1`` workers, and a worker holds only the hand-ins it grades (one
#: per thread), so that a hand-in queued behind one that kills its worker is not blamed.
#: Workers skip Dask's statistical profiler and GIL monitor: background CPU that grows with
#: the wall time of a hand-in (about 0.045 CPU s per second on a busy 2-core machine with
#: them, 0.027 without, measured idle). The scheduler and the workers serve no HTTP route:
#: even without a dashboard (``--no-dashboard``), each runs an HTTP server, without
#: authentication and by default on all interfaces, whose pages show the workers, the tasks
#: and their errors, the workers' logs and call stacks; with no route it answers 404.
SCHEDULER_CONFIG = {"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                    "distributed.scheduler.worker-saturation": 1.0,
                    "distributed.worker.profile.enabled": False,
                    "distributed.admin.system-monitor.gil.enabled": False,
                    "distributed.scheduler.http.routes": [],
                    "distributed.worker.http.routes": []}
#: The same as environment variables, for ``dask scheduler`` and ``dask worker`` (see the
#: instructor guide).
SCHEDULER_ENV = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(ALLOWED_FAILURES),
                 "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
                 "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
                 "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__GIL__ENABLED": "False",
                 "DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES": "[]",
                 "DASK_DISTRIBUTED__WORKER__HTTP__ROUTES": "[]"}
COURSE_ENV = "NEUROAI_COURSE"


class Insecure:
    """The caller's explicit consent to a scheduler without TLS (``--insecure-cluster``)."""

    def __repr__(self) -> str:
        return "INSECURE"


#: Pass as ``security`` to grade on a plain ``tcp://`` scheduler.
INSECURE = Insecure()


def remote_security(scheduler: str, security):
    """The :class:`~distributed.security.Security` to reach ``scheduler`` with, after the
    checks of the module docstring; a one-line :class:`CourseError` if it is refused.
    ``security``: a ``Security`` holding the client's CA, certificate and key, or
    :data:`INSECURE`, or ``None`` (then refused)."""
    from distributed.security import Security

    scheme = scheduler.split("://", 1)[0] if "://" in scheduler else "tcp"
    if security is INSECURE:
        if scheme == "tls":
            raise CourseError(f"--scheduler {scheduler} is a TLS address: give its "
                              "certificates (--tls DIR), not --insecure-cluster")
        return Security(require_encryption=False)
    if scheme != "tls":
        raise CourseError(f"--scheduler {scheduler}: refused, a scheduler without TLS lets "
                          "anyone who reaches it run code on the workers and forge grades; "
                          "start it with the certificates of 'neuroai certs' and give "
                          "tls://HOST:PORT with --tls DIR (or, on a network you trust "
                          "entirely, --insecure-cluster)")
    if not isinstance(security, Security) or not (
            security.tls_ca_file and security.tls_client_cert):
        raise CourseError(f"--scheduler {scheduler}: give the client's certificates: --tls "
                          "DIR (written by 'neuroai certs') or --tls-ca, --tls-cert and "
                          "--tls-key")
    return security


class CourseMismatch(CourseError):
    """A worker's course or library differs from the client's."""


def differs(worker: str, mine: dict, theirs: dict) -> str:
    """One line: how a worker's fingerprint of a tutorial differs from the client's."""
    if theirs.get("error"):
        return f"worker {worker} refused for {mine['tutorial']}: {theirs['error']}"
    parts = []
    if theirs["library"] != mine["library"]:
        parts.append(f"neuroai_core {theirs['library']} (client: {mine['library']})")
    if theirs["tests"] != mine["tests"]:
        parts.append(f"tests of {mine['tutorial']} hash {theirs['tests']} "
                     f"(client: {mine['tests']})")
    return f"worker {worker} refused: its course differs: " + "; ".join(parts)


# --- the worker's side ------------------------------------------------------------------


class Site:
    """What one worker process grades with: its own course and a
    :class:`~neuroai_course.staging.Stage` made from it (the staged library copies and
    scratch folders live on the worker's disk)."""

    def __init__(self, root: str | None, unsandboxed: bool) -> None:
        from neuroai_course.grading.limits import Limits
        from neuroai_course.project import Course

        root = root or os.environ.get(COURSE_ENV)
        course = Course.at(Path(root)) if root else Course.find()
        self.grader = Stage(course, Limits(), unsandboxed=unsandboxed)
        self.prints: dict[str, dict] = {}
        self.lock = threading.Lock()

    def fingerprint(self, tid: str) -> dict:
        with self.lock:
            if tid not in self.prints:
                self.grader.prepare(tid)
                self.prints[tid] = fingerprint(self.grader.plans[tid])
            return self.prints[tid]

    def close(self) -> None:
        self.grader.close()


_SITES: dict[tuple, Site] = {}
_SITES_LOCK = threading.Lock()


def site(root: str | None, unsandboxed: bool) -> Site:
    """This process's :class:`Site` for ``root`` (made once; imports warmed up)."""
    key = (root, unsandboxed)
    with _SITES_LOCK:
        if key not in _SITES:
            _SITES[key] = Site(root, unsandboxed)
        return _SITES[key]


@atexit.register
def close_sites() -> None:
    with _SITES_LOCK:
        for s in _SITES.values():
            s.close()
        _SITES.clear()


def _plugin_base():
    from distributed.diagnostics.plugin import WorkerPlugin

    return WorkerPlugin


class CourseSite(_plugin_base()):
    """Dask worker plugin: removes the worker's grading folders when the worker closes."""

    name = PLUGIN

    def setup(self, worker) -> None:  # the folders are made on the first job
        pass

    def teardown(self, worker) -> None:
        close_sites()


def _address() -> str:
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:
        return f"pid {os.getpid()}"


def report(tids: list[str], root: str | None, unsandboxed: bool) -> dict:
    """Run on a worker: its fingerprint of each tutorial (or an error line)."""
    out = {}
    try:
        s = site(root, unsandboxed)
    except Exception as err:  # no course, no bubblewrap: the worker cannot grade
        return {tid: {"error": str(err).splitlines()[0][:300]} for tid in tids}
    for tid in tids:
        try:
            out[tid] = s.fingerprint(tid)
        except Exception as err:
            out[tid] = {"error": f"{type(err).__name__}: {str(err)[:300]}"}
    return out


def grade_job(job: dict, root: str | None) -> dict:
    """Run on a worker: check the job's fingerprint against this worker's course, give the
    job this worker's folders, and grade it."""
    from distributed import get_worker

    from neuroai_course.grading import privileged

    address = _address()
    try:
        get_worker().log_event(TOPIC, {"name": job["name"], "worker": address})
    except ValueError:  # not on a Dask worker
        pass
    s = site(root, job.get("unsandboxed", False))
    mine = s.fingerprint(job["tutorial"])
    if mine["hash"] != job["fingerprint"]["hash"]:
        raise CourseMismatch(differs(address, job["fingerprint"], mine))
    local = s.grader.localize(job)
    result = privileged.grade_handin(local)
    result["worker"] = address
    return result


# --- the client's side ------------------------------------------------------------------


@dataclass
class Pool:
    """A Dask client on the local cluster or on ``scheduler``; see the module docstring."""

    workers: int
    scheduler: str | None = None
    root: str | None = None  # the course folder the local cluster's workers grade with
    #: for ``scheduler``: see :func:`remote_security`; the local cluster makes its own
    security: object = None
    client: object = None
    cluster: object = None
    starts: dict[str, list[str]] = field(default_factory=dict)

    def start(self) -> None:
        import dask
        from distributed import Client, LocalCluster
        from distributed.security import Security

        if self.scheduler:
            security = remote_security(self.scheduler, self.security)
            try:
                self.client = Client(self.scheduler, timeout="30s", security=security)
            except (OSError, TimeoutError) as err:
                first = (str(err).splitlines() or [type(err).__name__])[0]
                raise CourseError(f"cannot reach the scheduler {self.scheduler} ({first}); "
                                  "is it running, and were the client's certificates "
                                  "signed by its CA?") from None
            try:
                self.client.run_on_scheduler(_configure_scheduler, ALLOWED_FAILURES)
            except Exception as err:  # the scheduler's machine lacks neuroai_course
                env = " ".join(f"{k}={v}" for k, v in SCHEDULER_ENV.items())
                print(f"neuroai: warning: could not configure the scheduler ({err}); start "
                      f"it with {env}", file=sys.stderr)
        else:
            # TLS on loopback too: another user of this machine could otherwise connect
            with dask.config.set(SCHEDULER_CONFIG):
                self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                            processes=True, memory_limit=0,
                                            silence_logs=logging.ERROR,
                                            security=Security.temporary(), protocol="tls",
                                            host="127.0.0.1",
                                            # no dashboard; Dask's HTTP server (no route,
                                            # see SCHEDULER_CONFIG) on any free port
                                            dashboard_address="127.0.0.1:0",
                                            scheduler_kwargs={"dashboard": False})
            self.client = Client(self.cluster)
        self.client.register_plugin(CourseSite(), name=PLUGIN)
        self.client.subscribe_topic(TOPIC, self._started)

    def _started(self, event) -> None:
        _, msg = event
        self.starts.setdefault(msg["name"], []).append(msg["worker"])

    def worker_addresses(self) -> list[str]:
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def check(self, expected: dict[str, dict], unsandboxed: bool) -> list[str]:
        """Ask every worker for its fingerprints; return one line per refused worker."""
        from distributed import wait

        if self.scheduler and not self.worker_addresses():
            self.client.wait_for_workers(1, timeout=120)
        tids = sorted(expected)
        futures = {addr: self.client.submit(report, tids, self.root, unsandboxed,
                                            workers=[addr], allow_other_workers=False,
                                            pure=False, key=f"neuroai-check-{addr}")
                   for addr in self.worker_addresses()}
        wait(list(futures.values()))
        lines = []
        for addr, fut in futures.items():
            if fut.status != "finished":
                lines.append(f"worker {addr} refused: it failed the course check "
                             f"({fut.exception()!r})")
                continue
            theirs = fut.result()
            for tid in tids:
                if theirs[tid].get("hash") != expected[tid]["hash"]:
                    lines.append(differs(addr, expected[tid], theirs[tid]))
                    break
        return lines

    def run(self, jobs: list[dict]):
        """Grade ``jobs``; yield ``(index, result)`` as each finishes, each index once."""
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        futures = {self.client.submit(grade_job, job, self.root, pure=False,
                                      key=f"neuroai-{job['name']}"): i
                   for i, job in enumerate(jobs)}
        done: set[int] = set()
        for fut in as_completed(list(futures)):
            i = futures[fut]
            if i in done:
                continue
            try:
                result = fut.result()
            except KilledWorker:
                result = {"error": "the grading worker died twice on this hand-in"}
            except CourseMismatch:
                for f in futures:
                    f.cancel()
                raise
            except Exception as err:  # one hand-in never ends the run for the cohort
                result = {"error": f"grading failed: {type(err).__name__} (the worker's "
                                   "result could not be used)"}
            done.add(i)
            fut.release()
            yield i, result

    def retried(self) -> dict[str, list[str]]:
        """Job name -> the workers that started it, for every job started more than once."""
        seen = {}
        try:
            for _, msg in self.client.get_events(TOPIC):
                seen.setdefault(msg["name"], set()).add(msg["worker"])
        except Exception:
            pass
        names = set(seen) | set(self.starts)
        out = {}
        for name in names:
            starts = max(len(self.starts.get(name, [])), len(seen.get(name, ())))
            if starts > 1:
                out[name] = sorted(set(self.starts.get(name, [])) | seen.get(name, set()))
        return out

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.unsubscribe_topic(TOPIC)
            except Exception:
                pass
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None


def _configure_scheduler(count: int, dask_scheduler=None) -> int:
    """Run on the scheduler: :data:`SCHEDULER_CONFIG` on a running scheduler."""
    dask_scheduler.allowed_failures = count
    dask_scheduler.WORKER_SATURATION = 1.0
    return count
