"""Grading throughput: submissions per minute at 1 and 2 workers, and the fixed overhead.

    python bench/grading.py [--n 40] [--json bench/results/grading.json]

The cohort is generated (tests/grading_corpus.py): honest M1T1 hand-ins of the kinds an
instructor gets (full, partial, untouched, stripped metadata, reordered cells), repeated to
``--n`` students. Judged on CPU time, which a busy machine does not inflate: the notebook's
own cost is its kernel's CPU when simply executed (nbclient, under
``NBGRADER_EXECUTION=autograde`` as when graded); a graded hand-in costs its sandboxed
kernel's CPU (cells, then the functions the tests call) plus the grading worker's CPU
(sandbox set-up, the channel, the tests' own code) plus its share of the client's
(collecting, recording, reports). The fixed overhead per hand-in is the difference.
Wall-clock figures are printed too, with the load average: on a busy machine they mean little.

Three ways, all through Dask (the one grading path): a local cluster of 1 and of 2 worker
processes (what ``neuroai grade --workers N`` starts and stops for each run, its start-up
included in the wall time and the client's CPU), and a loopback cluster of 2 workers (a
``dask scheduler`` and two ``dask worker`` processes started before the run, as on other
machines: ``--scheduler``; the scheduler's own CPU, in its own process, is not counted).
All three on mutual TLS, as graded: the local cluster on its temporary certificates, the
loopback cluster on certificates of ``neuroai certs``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import copy_course  # noqa: E402
from grading_corpus import Case, cases, write_cohort  # noqa: E402

from neuroai_course import certs, notebooks  # noqa: E402
from neuroai_course.cluster import SCHEDULER_ENV  # noqa: E402
from neuroai_course.grade import grade  # noqa: E402
from neuroai_course.grading.sandbox import kernel_env  # noqa: E402
from neuroai_course.kernels import KernelCPU  # noqa: E402

#: The CPU of a graded hand-in by phase (``neuroai_course.grade.Summary.cpu_phases``): the
#: kernel's start (interpreter and ipykernel, until it answers), its cells with an import
#: statement, its other cells, its share of the tests (the student's functions and its
#: half of the channel); the grader process's share of the cells and of the tests (the
#: tests' own code and its half of the channel); the grading worker's set-up (scratch,
#: cgroups, starting the sandbox) and clean-up.
PHASES = ("kernel_start", "kernel_imports", "kernel_cells", "kernel_tests", "grader_cells",
          "grader_tests", "worker_setup", "worker_cleanup")


def cohort(course_root: Path, n: int) -> list[Case]:
    honest = [c for c in cases(course_root, course_root / "out")
              if c.honest and c.total is not None and c.status == "graded"]
    out = []
    for i in range(n):
        base = honest[i % len(honest)]
        out.append(Case(f"s{i:03d}/M1T1_LIF.ipynb", base.data, base.total, "graded"))
    return out


def loopback(folder: Path, course_root: Path, workers: int) -> tuple[str, list, object]:
    """A ``dask scheduler`` and ``workers`` ``dask worker`` processes on 127.0.0.1, on TLS;
    its address, the processes, and the client's ``Security``."""
    from distributed import Client

    tls = folder / "tls"
    certs.write(tls, force=True)

    def tls_args(role: str) -> list[str]:
        return ["--tls-ca-file", str(tls / "ca.pem"), "--tls-cert", str(tls / f"{role}.pem"),
                "--tls-key", str(tls / f"{role}-key.pem")]

    security = certs.folder_security(tls)

    env = {**os.environ, **SCHEDULER_ENV, "NEUROAI_COURSE": str(course_root),
           "PYTHONPATH": str(ROOT)}
    file = folder / "scheduler.json"
    log = open(folder / "cluster.log", "ab")
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--protocol", "tls",
                               "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(file), *tls_args("scheduler")],
                              stdout=log, stderr=log, env=env)]
    while not file.exists():
        time.sleep(0.2)
    address = json.loads(file.read_text())["address"]
    for _ in range(workers):
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address,
                                       "--nthreads", "1", "--memory-limit", "0",
                                       "--no-dashboard", "--host", "127.0.0.1",
                                       *tls_args("worker")],
                                      stdout=log, stderr=log, env=env))
    with Client(address, security=security) as client:
        client.wait_for_workers(workers, timeout=300)
    return address, procs, security


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=40, help="submissions in the cohort")
    p.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "grading.json")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="neuroai-bench-"))
    try:
        course = copy_course(work / "course")
        subs = cohort(course.root, args.n)
        write_cohort(subs, work / "in")
        one = work / "one.ipynb"
        one.write_bytes(subs[0].data)
        runs, cpus = [], []
        # as graded: demos shrink, and one thread per math library as in the sandbox (idle
        # OpenMP threads spinning would otherwise count as the notebook's CPU)
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in kernel_env(str(work)).items()
                           if k.endswith("_NUM_THREADS") or k == "NBGRADER_EXECUTION"})
        for _ in range(3):
            with KernelCPU() as meter:
                notebooks.execute(one, notebooks.read(one))
            runs.append(meter.wall_s)
            cpus.append(meter.cpu_s)
        os.environ.clear()
        os.environ.update(saved)
        own_s, own_cpu = sorted(runs)[1], sorted(cpus)[1]
        rows = []
        for how, workers in (("local", 1), ("local", 2), ("loopback", 2)):
            address, procs, security = (loopback(work, course.root, workers)
                                        if how == "loopback" else (None, [], None))
            start = time.perf_counter()
            try:
                summary = grade(course, work / "in", work / f"out-{how}{workers}",
                                workers=workers, progress=False, scheduler=address,
                                security=security)
            finally:
                for proc in reversed(procs):
                    proc.terminate()
                    proc.wait(60)
            wall = time.perf_counter() - start
            assert summary.count("graded") == args.n, summary.line()
            rows.append({"cluster": how, "workers": workers, "submissions": args.n,
                         "wall_s": round(wall, 1),
                         "per_minute": round(60 * args.n / wall, 1),
                         "kernel_cpu_s": round(summary.kernel_cpu_s / args.n, 2),
                         "worker_cpu_s": round(summary.worker_cpu_s / args.n, 2),
                         "client_cpu_s": round(summary.client_cpu_s / args.n, 2),
                         # where one hand-in's CPU goes (see PHASES)
                         "phases": {k: round(summary.cpu_phases.get(k, 0.0) / args.n, 3)
                                    for k in PHASES},
                         "overhead_cpu_s": round((summary.kernel_cpu_s + summary.worker_cpu_s
                                                  + summary.client_cpu_s) / args.n - own_cpu,
                                                 2)})
        print(f"notebook executed alone (median of 3): {own_cpu:.2f} s of kernel CPU "
              f"({own_s:.2f} s wall)")
        print(f"{'cluster':>8} {'workers':>7} {'subs':>5} {'wall s':>7} {'subs/min':>9} "
              f"{'kernel':>7} {'worker':>7} {'client':>7} {'overhead':>9}   (CPU s per hand-in)")
        for r in rows:
            print(f"{r['cluster']:>8} {r['workers']:>7} {r['submissions']:>5} {r['wall_s']:>7} "
                  f"{r['per_minute']:>9} {r['kernel_cpu_s']:>7} {r['worker_cpu_s']:>7} "
                  f"{r['client_cpu_s']:>7} {r['overhead_cpu_s']:>9}")
        print("CPU s per hand-in by phase (1 local worker): " + ", ".join(
            f"{k} {v}" for k, v in rows[0]["phases"].items()))
        speedup = rows[0]["wall_s"] / rows[1]["wall_s"]
        print(f"speed-up 1 -> 2 workers: {speedup:.2f}x wall (load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs); fixed overhead per hand-in "
              f"(1 worker): {rows[0]['overhead_cpu_s']:.2f} CPU s")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
            "load_average": os.getloadavg(),
            "notebook_alone_s": round(own_s, 2), "notebook_alone_cpu_s": round(own_cpu, 2),
            "runs": rows, "speedup_1_to_2": round(speedup, 2),
            "overhead_cpu_s": rows[0]["overhead_cpu_s"]}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
