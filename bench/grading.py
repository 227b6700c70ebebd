"""Grading throughput: submissions per minute at 1 and 2 workers, and the fixed overhead.

    python bench/grading.py [--n 40] [--json bench/results/grading.json]

The cohort is generated (tests/grading_corpus.py): honest M1T1 hand-ins of the kinds an
instructor gets (full, partial, untouched, stripped metadata, reordered cells), repeated to
``--n`` students. The fixed overhead per submission is the time per submission at one
worker minus the time the same notebook takes when simply executed in a fresh kernel
(nbclient), i.e. what the grading machinery adds around the student's own code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
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
        runs = [notebooks.execute(one, notebooks.read(one))[1] for _ in range(3)]
        own_s = sorted(runs)[1]
        rows = []
        for workers in (1, 2):
            start = time.perf_counter()
            summary = grade(course, work / "in", work / f"out{workers}", workers=workers,
                            progress=False)
            wall = time.perf_counter() - start
            assert summary.count("graded") == args.n, summary.line()
            rows.append({"workers": workers, "submissions": args.n, "wall_s": round(wall, 1),
                         "per_minute": round(60 * args.n / wall, 1),
                         "s_per_submission": round(wall / args.n, 2)})
        overhead = rows[0]["s_per_submission"] - own_s
        print(f"notebook executed alone (median of 3): {own_s:.2f} s")
        print(f"{'workers':>7} {'subs':>5} {'wall s':>7} {'subs/min':>9} {'s/sub':>6}")
        for r in rows:
            print(f"{r['workers']:>7} {r['submissions']:>5} {r['wall_s']:>7} "
                  f"{r['per_minute']:>9} {r['s_per_submission']:>6}")
        speedup = rows[0]["wall_s"] / rows[1]["wall_s"]
        print(f"speed-up 1 -> 2 workers: {speedup:.2f}x; fixed overhead per submission "
              f"(1 worker): {overhead:.2f} s")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
            "notebook_alone_s": round(own_s, 2), "runs": rows,
            "speedup_1_to_2": round(speedup, 2), "overhead_s": round(overhead, 2)}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
