"""Hand-ins whose answers are identical to each other or to the course's reference.

The reference solutions are public in an open course (and a graded course cannot stop a
student from finding them): copying cannot be prevented, only noticed. Each hand-in's
answers (the code of its exercise cells that differ from the stubs) are normalised (parsed,
so comments, blank lines and spacing do not count) and compared; identical ones are
flagged in ``report.csv`` and the cohort report for a person to judge. Renamed variables
or reordered lines are not caught: this is a flag, not a verdict.
"""

from __future__ import annotations

import ast
import re

from neuroai_course.submissions import Entry

REFERENCE = "identical to the course's reference solution (normalised source)"


def normalised(source: str) -> str:
    """The code without comments, blank lines or spacing."""
    try:
        return ast.dump(ast.parse(source))
    except SyntaxError:
        return re.sub(r"\s+", " ", re.sub(r"#[^\n]*", "", source)).strip()


def answers(nb) -> dict[str, str]:
    """Normalised source of each exercise cell of ``nb``, by grade id."""
    out = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.cell_type == "code" and meta.get("solution") and meta.get("grade_id"):
            out[meta["grade_id"]] = normalised(cell.source)
    return out


def flag_identical(entries: list[Entry], sources: dict, releases: dict) -> None:
    """Add a note to each entry (being graded) whose attempted answers (one or all) equal
    the reference's (``sources``: tutorial id -> source notebook), or equal another hand-in's
    (``releases``: tutorial id -> student version, whose stubs do not count)."""
    groups: dict[tuple, list[Entry]] = {}
    for e in entries:
        if e.notebook is None or e.tutorial not in releases:
            continue
        stubs = answers(releases[e.tutorial])
        mine = {g: s for g, s in answers(e.notebook).items() if s != stubs.get(g)}
        if not mine:
            continue
        ref = answers(sources[e.tutorial])
        notes = []
        if all(ref.get(g) == s for g, s in mine.items()):
            notes.append(REFERENCE)
        else:
            groups.setdefault((e.tutorial, tuple(sorted(mine.items()))), []).append(e)
        e.reason = "; ".join(x for x in (e.reason, *notes) if x)
    for group in groups.values():
        if len(group) < 2:
            continue
        for e in group:
            others = ", ".join(o.student for o in group if o is not e)
            note = f"answers identical to the hand-in of {others} (normalised source)"
            e.reason = "; ".join(x for x in (e.reason, note) if x)
