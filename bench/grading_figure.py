"""Grading throughput, as measured by bench/grading.py: table and figure from its JSON.

    python bench/grading_figure.py        # reads bench/results/grading.json

bench/grading.py grades a generated cohort at 1 and 2 workers (minutes of work); this
script only reads what it wrote: hand-ins per minute and the CPU cost of one hand-in (the
kernel's, the grading worker's, the client's) against the notebook's own kernel CPU.
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
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.5))
    ax1.bar([f"{r.get('cluster', 'local')}\n{r['workers']}" for r in runs],
            [r["per_minute"] for r in runs], color="C0")
    ax1.set_xlabel("cluster and workers")
    ax1.set_ylabel("submissions graded per minute")
    one = next(r for r in runs if r["workers"] == 1)
    phases = one.get("phases") or {}
    # one stacked bar: the graded hand-in's CPU by phase (the rest of the worker's and the
    # client's CPU on top), beside the notebook executed alone
    parts = [(k.replace("_", " "), v) for k, v in phases.items()]
    rest_worker = one["worker_cpu_s"] - sum(v for k, v in phases.items()
                                            if not k.startswith("kernel"))
    parts += [("worker, other", max(rest_worker, 0.0)), ("client", one["client_cpu_s"])]
    bottom = 0.0
    for i, (label, value) in enumerate(parts):
        ax2.bar(["graded (1 worker)"], [value], bottom=bottom, color=f"C{i % 10}", label=label)
        bottom += value
    ax2.bar(["notebook alone"], [data["notebook_alone_cpu_s"]], color="0.6")
    ax2.set_ylabel("CPU seconds per hand-in")
    ax2.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0))
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
    print(common.table(data["runs"], [("cluster", "cluster"), ("workers", "workers"),
                                      ("submissions", "submissions"),
                                      ("wall_s", "wall s"), ("per_minute", "per minute"),
                                      ("kernel_cpu_s", "kernel CPU s"),
                                      ("worker_cpu_s", "worker CPU s"),
                                      ("client_cpu_s", "client CPU s"),
                                      ("overhead_cpu_s", "overhead CPU s")]))
    for r in data["runs"]:
        if r.get("phases"):
            print(f"{r['cluster']} {r['workers']}: " + ", ".join(
                f"{k} {v}" for k, v in r["phases"].items()))
    print(f"notebook alone {data['notebook_alone_cpu_s']} CPU s; overhead per hand-in "
          f"{data['overhead_cpu_s']} CPU s; speed-up 1 -> 2 workers {data['speedup_1_to_2']}")
    figure(data, args.figure)


if __name__ == "__main__":
    main()
