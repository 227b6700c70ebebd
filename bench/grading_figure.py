"""Grading throughput, as measured by bench/grading.py: table and figure from its JSON.

    python bench/grading_figure.py        # reads bench/results/grading.json

bench/grading.py grades a generated cohort at 1 and 2 workers (minutes of work); this
script only reads what it wrote: submissions per minute and the fixed overhead per
submission (time per submission at one worker minus the notebook's own run time).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import common


def figure(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = data["runs"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.5))
    ax1.bar([str(r["workers"]) for r in runs], [r["per_minute"] for r in runs], color="C0")
    ax1.set_xlabel("workers")
    ax1.set_ylabel("submissions graded per minute")
    one = next(r for r in runs if r["workers"] == 1)
    ax2.bar(["notebook alone", "grading overhead"],
            [data["notebook_alone_s"], data["overhead_s"]], color=["C2", "C3"])
    ax2.set_ylabel(f"seconds per submission (1 worker: {one['s_per_submission']:.2f} s)")
    m = data["machine"]
    fig.suptitle(f"Grading throughput ({runs[0]['submissions']} submissions)\n"
                 f"{m.get('cpus')} cores, {m.get('platform', '')[:40]}, {data['date']}",
                 fontsize=9)
    common.save_figure(fig, path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", type=Path, default=common.RESULTS / "grading.json")
    p.add_argument("--figure", type=Path, default=common.FIGURES / "grading.png")
    args = p.parse_args()
    data = json.loads(args.input.read_text())
    print(f"measured {data['date']} on {data['machine']}")
    print(common.table(data["runs"], [("workers", "workers"), ("submissions", "submissions"),
                                      ("wall_s", "wall s"), ("per_minute", "per minute"),
                                      ("s_per_submission", "s per submission")]))
    print(f"notebook alone {data['notebook_alone_s']} s; overhead per submission "
          f"{data['overhead_s']} s; speed-up 1 -> 2 workers {data['speedup_1_to_2']}")
    figure(data, args.figure)


if __name__ == "__main__":
    main()
