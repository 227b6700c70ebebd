"""Grading throughput: submissions per minute at 1 and 2 workers, and the fixed overhead.

    python bench/grading.py [--n 40] [--json bench/results/grading.json]

The cohort is generated (tests/grading_corpus.py): honest M1T1 hand-ins of the kinds an
instructor gets (full, partial, untouched, stripped metadata, reordered cells), repeated to
``--n`` students. The fixed overhead per submission is the time per submission at one
worker minus the time the same notebook takes when simply executed in a fresh kernel
(nbclient, under ``NBGRADER_EXECUTION=autograde`` as when graded), i.e. what the grading
machinery adds around the student's own code. The same
is given in CPU time (this process and every process below it, kernels included), which a
busy machine does not inflate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import copy_course  # noqa: E402
from grading_corpus import Case, cases, write_cohort  # noqa: E402

from neuroai_course import notebooks  # noqa: E402
from neuroai_course.grade import grade  # noqa: E402


def cohort(course_root: Path, n: int) -> list[Case]:
    honest = [c for c in cases(course_root, course_root / "out")
              if c.honest and c.total is not None and c.status == "graded"]
    out = []
    for i in range(n):
        base = honest[i % len(honest)]
        out.append(Case(f"s{i:03d}/M1T1_LIF.ipynb", base.data, base.total, "graded"))
    return out


def cpu_s() -> float:
    """CPU seconds of this process and of its finished descendants."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


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
        os.environ["NBGRADER_EXECUTION"] = "autograde"  # as graded: demos shrink
        for _ in range(3):
            before = cpu_s()
            runs.append(notebooks.execute(one, notebooks.read(one))[1])
            cpus.append(cpu_s() - before)
        del os.environ["NBGRADER_EXECUTION"]
        own_s, own_cpu = sorted(runs)[1], sorted(cpus)[1]
        rows = []
        for workers in (1, 2):
            start, before = time.perf_counter(), cpu_s()
            summary = grade(course, work / "in", work / f"out{workers}", workers=workers,
                            progress=False)
            wall, cpu = time.perf_counter() - start, cpu_s() - before
            assert summary.count("graded") == args.n, summary.line()
            rows.append({"workers": workers, "submissions": args.n, "wall_s": round(wall, 1),
                         "per_minute": round(60 * args.n / wall, 1),
                         "s_per_submission": round(wall / args.n, 2),
                         "cpu_s_per_submission": round(cpu / args.n, 2)})
        overhead = rows[0]["s_per_submission"] - own_s
        overhead_cpu = rows[0]["cpu_s_per_submission"] - own_cpu
        print(f"notebook executed alone (median of 3): {own_s:.2f} s, {own_cpu:.2f} CPU s")
        print(f"{'workers':>7} {'subs':>5} {'wall s':>7} {'subs/min':>9} {'s/sub':>6} "
              f"{'CPU s/sub':>9}")
        for r in rows:
            print(f"{r['workers']:>7} {r['submissions']:>5} {r['wall_s']:>7} "
                  f"{r['per_minute']:>9} {r['s_per_submission']:>6} "
                  f"{r['cpu_s_per_submission']:>9}")
        speedup = rows[0]["wall_s"] / rows[1]["wall_s"]
        print(f"speed-up 1 -> 2 workers: {speedup:.2f}x; fixed overhead per submission "
              f"(1 worker): {overhead:.2f} s wall, {overhead_cpu:.2f} CPU s")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
            "load_average": os.getloadavg(),
            "notebook_alone_s": round(own_s, 2), "notebook_alone_cpu_s": round(own_cpu, 2),
            "runs": rows, "speedup_1_to_2": round(speedup, 2), "overhead_s": round(overhead, 2),
            "overhead_cpu_s": round(overhead_cpu, 2)}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
