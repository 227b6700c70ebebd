"""Tutorial run times: every source notebook run offline, and its run under the autograder.

    python bench/tutorials.py [--quick]

The figures come from ``neuroai check`` (:func:`neuroai_course.check.check`), run on a
copy of the course in a temporary folder (so the repository's _build/ is left alone).
Budgets: 60 s for the source, 20 s under the autograder, judged on the kernel's CPU time
(wall time is recorded beside it). ``--quick`` only executes the first tutorial's source,
to check that the script works.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import common

sys.path.insert(0, str(common.ROOT / "tests"))

from conftest import copy_course  # noqa: E402

from neuroai_course.check import AUTOGRADE_BUDGET_S, RUN_BUDGET_S, check  # noqa: E402


def measure(quick: bool) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="neuroai-bench-tutorials-"))
    try:
        course = copy_course(work / "course")
        tutorials = course.tutorials()
        if quick:
            from neuroai_course.check import run_source

            t = tutorials[0]
            _, meter = run_source(course, t)
            return [{"tutorial": t.id, "run_s": meter.wall_s, "run_cpu_s": meter.cpu_s,
                     "autograde_s": None, "autograde_cpu_s": None, "ok": None}]
        rows = []
        for t in tutorials:
            before = common.load()
            (res,) = check(course, [t], force=True)
            rows.append({"tutorial": t.id, "graded": res.graded, "points": res.points,
                         "run_s": res.run_wall_s, "run_cpu_s": res.run_cpu_s,
                         "autograde_s": res.autograde_wall_s,
                         "autograde_cpu_s": res.autograde_cpu_s, "ok": res.strict_ok,
                         "problems": res.problems + res.over_budget, "load_before": before,
                         "load_after": common.load()})
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


def figure(rows, meta, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(x - 0.2, [r["run_cpu_s"] for r in rows], 0.4, label="source, run offline")
    ax.bar(x + 0.2, [r["autograde_cpu_s"] or 0 for r in rows], 0.4,
           label="under the autograder")
    ax.axhline(RUN_BUDGET_S, color="C0", ls="--", lw=1, label=f"budget {RUN_BUDGET_S:g} s")
    ax.axhline(AUTOGRADE_BUDGET_S, color="C1", ls="--", lw=1,
               label=f"autograder budget {AUTOGRADE_BUDGET_S:g} s")
    ax.set_xticks(x, [r["tutorial"] for r in rows], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("kernel CPU time (s)")
    ax.set_xlabel("tutorial")
    ax.set_title(f"Tutorial run times\n{common.label(meta)}", fontsize=9)
    ax.legend(fontsize=8)
    common.save_figure(fig, path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.base_args(p, "tutorials")
    args = p.parse_args()
    meta = {"date": common.now(), "machine": common.machine(), "load_start": common.load(),
            "budgets_s": {"run": RUN_BUDGET_S, "autograde": AUTOGRADE_BUDGET_S}}
    rows = measure(args.quick)
    meta["load_end"] = common.load()
    within = all(r["run_cpu_s"] <= RUN_BUDGET_S and (r["autograde_cpu_s"] is None
                                                     or r["autograde_cpu_s"] <= AUTOGRADE_BUDGET_S)
                 for r in rows)
    print(common.label(meta))
    print(common.table(rows, [("tutorial", "tutorial"), ("run_cpu_s", "run CPU s"),
                              ("run_s", "run wall s"), ("autograde_cpu_s", "autograde CPU s"),
                              ("autograde_s", "autograde wall s"), ("ok", "check ok")]))
    print("all within budget:", within)
    common.write_json(args.json, {"name": "tutorials", **meta, "rows": rows,
                                  "all_within_budget": within})
    figure(rows, meta, args.figure)


if __name__ == "__main__":
    main()
