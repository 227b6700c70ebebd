"""The cohort report: ``cohort.html`` in a grading output folder.

``neuroai grade`` writes it at the end of a run; ``neuroai report OUT`` writes it again from
the folder alone: ``grades.csv`` (the gradebook's scores), ``report.csv`` (every input file
and what became of it) and ``run.json`` (the run's figures, written by ``neuroai grade``: its
time, workers, retried hand-ins, per-hand-in times and the grader's failure messages per
exercise, grouped). The page is one self-contained file: the plots are matplotlib PNGs
embedded as ``data:`` URIs, the style is inline, nothing is fetched from elsewhere.

Sections: the run's figures; the score distribution per tutorial; each exercise, in the
notebook's order, with its share of hand-ins with full marks, of hand-ins that did not
attempt it (the stub left in place) and its score counts; each exercise's most frequent
failure messages, whole, with the diagnosis ("Likely mistake") the check gave; late and
flagged hand-ins; students missing tutorials.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from neuroai_course.handgrade import WAITING

RUN_FILE = "run.json"
PAGE = "cohort.html"
#: Statuses that are not a plain on-time grade (report.csv), shown as flagged.
PLAIN = "graded"
TOP_MESSAGES = 5
#: What a test says of a function still raising the stub's NotImplementedError.
NOT_ATTEMPTED = "raised NotImplementedError"


def not_attempted(message: str) -> bool:
    """True when the test failed because the student's function is the untouched stub."""
    return NOT_ATTEMPTED in message


def message_key(message: str) -> tuple[str, str]:
    """``(group key, shown message)`` of a failure message: the whole message (every line,
    the "Likely mistake" diagnosis and the hint included), numbers replaced by ``#`` in the
    key so that the same failure with other values groups."""
    lines = [x.rstrip() for x in message.strip().splitlines() if x.strip()]
    text = "\n".join(lines) or "(no message)"
    return re.sub(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?", "#", text), text


@dataclass
class RunFigures:
    """What ``neuroai grade`` records of its run for the report (``run.json``)."""

    workers: int = 1
    scheduler: str = ""
    started: str = field(default_factory=lambda: dt.datetime.now().isoformat("T", "seconds"))
    handins: list[dict] = field(default_factory=list)
    failures: dict = field(default_factory=dict)
    points: dict = field(default_factory=dict)  # per tutorial, in the notebook's order
    skipped: dict = field(default_factory=dict)  # tutorial -> test -> hand-ins not attempted
    extra: dict = field(default_factory=dict)

    def add(self, entry, result: dict) -> None:
        """One graded hand-in: its time and worker, and its failed tests' messages."""
        self.handins.append({"input": entry.name, "tutorial": entry.tutorial,
                             "seconds": round(float(result.get("total_seconds", 0.0)), 2),
                             "worker": result.get("worker", ""), "status": entry.status})
        for gid, (score, top) in result.get("scores", {}).items():
            self.points.setdefault(entry.tutorial, {})[gid] = top
            if score >= top:
                continue
            message = result.get("messages", {}).get(gid, "")
            if not_attempted(message):
                skipped = self.skipped.setdefault(entry.tutorial, {})
                skipped[gid] = skipped.get(gid, 0) + 1
                continue
            key, line = message_key(message)
            group = self.failures.setdefault(entry.tutorial, {}).setdefault(gid, {})
            slot = group.setdefault(key, {"count": 0, "example": line})
            slot["count"] += 1

    def finish(self, summary, deadline) -> None:
        self.extra = {"seconds": round(summary.seconds, 1), "line": summary.line(),
                      "retried": list(summary.retried), "isolation": summary.isolation,
                      "deadline": deadline.isoformat() if deadline else ""}

    def data(self) -> dict:
        return {"started": self.started, "workers": self.workers,
                "scheduler": self.scheduler or "local", **self.extra,
                "handins": self.handins, "failures": self.failures, "points": self.points,
                "not_attempted": self.skipped}


def _read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return [{k: (v[1:] if v.startswith("'") else v) for k, v in row.items()}
                for row in csv.DictReader(f)]


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return ("<img alt='{alt}' src='data:image/png;base64,"
            + base64.b64encode(buf.getvalue()).decode() + "'>")


def _img(fig, alt: str) -> str:
    return _png(fig).replace("{alt}", html.escape(alt, quote=True))


def _table(head: list[str], rows: list[list], cls: str = "") -> str:
    if not rows:
        return "<p class='none'>none</p>"
    out = [f"<table class='{cls}'><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)
           + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    return "".join(out) + "</table>"


#: The columns of grades.csv that are not an exercise's score.
NOT_EXERCISES = ("student", "tutorial", "total", "max", WAITING)


def _exercises(grades: list[dict], points: dict | None = None) -> dict[str, list[str]]:
    """Tutorial -> its exercise columns that have a value in grades.csv, in the notebook's
    order: that of ``points`` (``run.json``, recorded in the order the tests ran), else
    that of the columns of grades.csv (written in the notebooks' order)."""
    out: dict[str, list[str]] = {}
    for row in grades:
        cols = [k for k, v in row.items() if k not in NOT_EXERCISES and v not in ("", None)]
        for c in cols:
            out.setdefault(row["tutorial"], [])
            if c not in out[row["tutorial"]]:
                out[row["tutorial"]].append(c)
    for tid, cols in out.items():
        known = list((points or {}).get(tid, {}))
        rank = {gid: i for i, gid in enumerate(known)}
        cols.sort(key=lambda gid: rank.get(gid, len(rank)))  # stable: csv order otherwise
    return out


def build(out: Path) -> str:
    """The cohort page of output folder ``out`` as HTML text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    grades = _read_csv(out / "grades.csv")
    report = _read_csv(out / "report.csv")
    run = json.loads((out / RUN_FILE).read_text(encoding="utf-8")) \
        if (out / RUN_FILE).is_file() else {}
    if not grades and not report:
        raise FileNotFoundError(f"{out} has no grades.csv or report.csv: not a grading "
                                "output folder")
    tutorials = sorted({r["tutorial"] for r in grades})
    points = run.get("points", {})
    exercises = _exercises(grades, points)
    skipped = run.get("not_attempted", {})
    parts = []

    # --- the run ------------------------------------------------------------------------
    statuses = Counter(r["status"] for r in report)
    retried = run.get("retried", [])
    crashed = statuses.get("crashed", 0)
    times = [h["seconds"] for h in run.get("handins", []) if h.get("seconds")]
    rows = [["inputs", len(report)], ["graded hand-ins", len(grades)],
            ["grading time (s)", run.get("seconds", "not recorded")],
            ["cluster", run.get("scheduler", "not recorded")],
            ["workers that graded", len({h["worker"] for h in run.get("handins", [])
                                         if h.get("worker")})],
            ["retried after a lost worker", len(retried)], ["crashed", crashed],
            ["median time per hand-in (s)",
             f"{sorted(times)[len(times) // 2]:.1f}" if times else "not recorded"]]
    if run.get("deadline"):
        rows.append(["deadline", run["deadline"]])
    parts.append("<h2 id='run'>The grading run</h2>" + _table(["figure", "value"], rows))
    if run.get("line"):
        parts.append(f"<p>{html.escape(run['line'])}</p>")
    if retried:
        parts.append("<p>Graded again after their worker was lost: "
                     + html.escape(", ".join(retried)) + "</p>")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3))
    names = sorted(statuses, key=lambda s: -statuses[s])
    axes[0].barh(names, [statuses[s] for s in names], color="#4c72b0")
    axes[0].invert_yaxis()
    axes[0].set_xlabel("input files")
    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_title("What became of each input")
    if times:
        axes[1].hist(times, bins=min(20, max(5, len(times) // 2)), color="#55a868")
    axes[1].set_xlabel("seconds per hand-in (wall clock)")
    axes[1].set_ylabel("hand-ins")
    axes[1].yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set_title("Grading time per hand-in")
    parts.append(_img(fig, "input files per status, and grading time per hand-in"))

    # --- scores per tutorial ------------------------------------------------------------
    parts.append("<h2 id='scores'>Scores per tutorial</h2>")
    if tutorials:
        n = len(tutorials)
        fig, axes = plt.subplots(1, n, figsize=(max(4, 3.4 * n), 2.8), squeeze=False)
        for ax, tid in zip(axes[0], tutorials, strict=True):
            rows_t = [r for r in grades if r["tutorial"] == tid]
            top = max(float(r["max"]) for r in rows_t)
            totals = [float(r["total"]) for r in rows_t]
            ax.hist(totals, bins=[x - 0.5 for x in range(int(top) + 2)], color="#4c72b0",
                    rwidth=0.85)
            ax.set_title(f"{tid} ({len(rows_t)} hand-ins)", fontsize=9)
            ax.set_xlabel(f"total of {top:g} points")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[0][0].set_ylabel("hand-ins")
        parts.append(_img(fig, "score distribution per tutorial"))
        rows = []
        for tid in tutorials:
            totals = sorted(float(r["total"]) for r in grades if r["tutorial"] == tid)
            top = max(float(r["max"]) for r in grades if r["tutorial"] == tid)
            rows.append([tid, len(totals), f"{sum(totals) / len(totals):.2f}",
                         f"{totals[len(totals) // 2]:g}", f"{top:g}",
                         f"{sum(t == top for t in totals) / len(totals):.0%}"])
        parts.append(_table(["tutorial", "hand-ins", "mean", "median", "max",
                             "full marks"], rows))

    # --- exercises ----------------------------------------------------------------------
    parts.append("<h2 id='exercises'>Exercises: share with full marks, and scores</h2>"
                 "<p>In the notebook's order. <em>Share with full marks</em>: the share of "
                 "hand-ins with full marks on the exercise's test (higher: more students got it "
                 "right). <em>Not attempted</em>: hand-ins whose function is still the stub "
                 "(it raised NotImplementedError); they score 0 and are left out of the failure "
                 "messages below.</p>")
    labels, shares, rows = [], [], []
    for tid in tutorials:
        for gid in exercises.get(tid, []):
            vals = [float(r[gid]) for r in grades if r["tutorial"] == tid and r.get(gid)]
            top = float(points.get(tid, {}).get(gid, max(vals) if vals else 0))
            full = sum(v >= top for v in vals) if top > 0 else 0
            counts = Counter(vals)
            idle = int(skipped.get(tid, {}).get(gid, 0))
            labels.append(f"{tid}: {gid}")
            shares.append(full / len(vals) if vals else 0.0)
            rows.append([tid, gid, f"{top:g}", len(vals), f"{shares[-1]:.0%}",
                         f"{idle} ({idle / len(vals):.0%})" if vals else "0",
                         ", ".join(f"{k:g} pts x{counts[k]}" for k in sorted(counts))])
    if labels:
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(labels) + 1))
        ax.barh(labels, shares, color=["#c44e52" if s < 0.5 else "#55a868" for s in shares])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of hand-ins with full marks (higher: more got it right)")
        ax.set_title("Share with full marks per exercise, in notebook order")
        parts.append(_img(fig, "share of hand-ins with full marks per exercise, in the "
                               "notebook's order"))
    parts.append(_table(["tutorial", "test", "points", "hand-ins", "share with full marks",
                         "not attempted", "score counts"], rows))

    # --- failure messages ---------------------------------------------------------------
    parts.append("<h2 id='failures'>Most frequent failure messages</h2>"
                 "<p>Per exercise, in the notebook's order, the grader's whole messages of "
                 "failed tests (the diagnosis, \"Likely mistake\", and the hint included), "
                 "grouped when they differ only in numbers; hand-ins that did not attempt the "
                 "exercise are counted above, not here.</p>")
    rows = []
    failures = run.get("failures", {})
    for tid in sorted(failures):
        order = {gid: i for i, gid in enumerate(exercises.get(tid, []))}
        for gid in sorted(failures[tid], key=lambda g: (order.get(g, len(order)), g)):
            best = sorted(failures[tid][gid].values(), key=lambda g: -g["count"])
            rows += [[tid, gid, g["count"], g["example"]] for g in best[:TOP_MESSAGES]]
    parts.append(_table(["tutorial", "test", "hand-ins", "message"], rows, "messages"))

    # --- late and flagged ---------------------------------------------------------------
    flagged = [[r["input"], r["student"], r["tutorial"], r["status"], r["reason"]]
               for r in report if r["status"] != PLAIN]
    parts.append(f"<h2 id='flagged'>Late and flagged hand-ins ({len(flagged)})</h2>"
                 + _table(["input", "student", "tutorial", "status", "reason"], flagged,
                          "messages"))

    # --- identical answers --------------------------------------------------------------
    same = [[r["student"], r["tutorial"], "; ".join(n for n in r["reason"].split("; ")
                                                   if "identical to" in n)]
            for r in report if "identical to" in r["reason"]]
    parts.append(f"<h2 id='identical'>Identical answers ({len(same)})</h2>"
                 "<p>Hand-ins whose answers equal the reference solution or another hand-in "
                 "once comments and spacing are ignored: for a person to judge, not a verdict."
                 "</p>" + _table(["student", "tutorial", "identical to"], same, "messages"))

    # --- missing ------------------------------------------------------------------------
    have: dict[str, set] = {}
    for r in grades:
        have.setdefault(r["student"], set()).add(r["tutorial"])
    missing = [[s, ", ".join(sorted(set(tutorials) - got))]
               for s, got in sorted(have.items()) if set(tutorials) - got]
    parts.append(f"<h2 id='missing'>Students missing tutorials ({len(missing)})</h2>"
                 f"<p>Among the tutorials graded here: {html.escape(', '.join(tutorials))}."
                 "</p>" + _table(["student", "missing"], missing))

    title = f"Cohort report: {len(have)} students, {len(grades)} graded hand-ins"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; margin: .5em 0 1.5em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .3em .6em; text-align: left;
         vertical-align: top; }}
table.messages td:last-child {{ font-family: monospace; white-space: pre-wrap; }}
img {{ max-width: 100%; display: block; margin: .5em 0; }} .none {{ color: #666; }}
nav a {{ margin-right: 1em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<nav><a href="#run">run</a><a href="#scores">scores</a><a href="#exercises">exercises</a>
<a href="#failures">failures</a><a href="#flagged">flagged</a><a href="#identical">identical</a>
<a href="#missing">missing</a></nav>
{''.join(parts)}
</body></html>
"""


def write(out: Path, course=None) -> Path:
    """Write ``out/cohort.html`` from the output folder; return its path."""
    path = Path(out) / PAGE
    path.write_text(build(Path(out)), encoding="utf-8")
    return path
