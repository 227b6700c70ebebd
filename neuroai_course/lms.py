"""``neuroai export``: grades and feedback pages back to the learning-management system.

From a grading folder (after ``neuroai grade``, and ``neuroai finalize`` when written
answers were graded by hand) it writes, in ``<folder>/lms/``:

``canvas.csv``
    Canvas's gradebook import layout, the one its own gradebook export has: the columns
    ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per tutorial; the
    first row under the header is the ``Points Possible`` row (each tutorial's maximum).
    Canvas matches a row to a student by ``ID`` (its user id) or the SIS columns, and a
    column to an assignment by its header: a tutorial's column takes the header of the
    roster's column for it (see :func:`assignment_columns`: ``M1T1_LIF (4711)``, ``M1T1:
    the LIF neuron (4711)``), otherwise the header is the tutorial id, Canvas creates a new
    assignment of that name on import, and :func:`export` warns, naming it.
``moodle.csv``
    For Moodle's gradebook import ("Import > CSV file"): an identifier column first
    (``Email address``, else ``ID number``, else ``Username``, whichever the roster has; map
    it under "Identify user by"), ``Full name``, then one column per tutorial (map each to
    its grade item).
``canvas-feedback-<tutorial>.zip``, ``moodle-feedback-<tutorial>.zip``
    The feedback pages of one tutorial, named as each LMS's bulk upload of an assignment
    reads them. Canvas ("Re-Upload Submissions"): the names of its own submission download,
    ``<name>_<user id>_<file>``, the user id after the first underscore. Moodle (assignment
    "Upload multiple feedback files in a zip", ``mod/assign/feedback/file/importziplib.php``
    splits the name at its first four underscores: name, participant id, then the plugin
    ``assignfeedback_file``, then the file name):
    ``<Full name>_<participant id>_assignfeedback_file_<tutorial>-feedback.html``. The
    participant id is in Moodle's grading worksheet (``Identifier``: ``Participant 123``),
    so this zip needs that worksheet as the roster.
``roster-report.csv``
    Every roster student and every graded student: ``matched``, ``no hand-in`` (on the
    roster, nothing graded) or ``not on roster`` (graded, matched to nobody: a renamed or
    unregistered student, whose grades are in no LMS file until the roster says who it is).

Without ``--roster`` both CSVs are written with the graded student ids only (as ``SIS Login
ID`` for Canvas, ``Username`` for Moodle) and no feedback zip, since the LMS's ids are
unknown; the report then says ``no roster`` for everyone.

A graded student matches a roster student by the LMS id its hand-in's file name carried
(Canvas's user id, Moodle's participant id, read again from ``report.csv``) when it has one,
else when its id (the folder or LMS file name the hand-in came under), compared without
case or punctuation, equals one of the roster's ids (user id, SIS ids, login, e-mail or its
part before the ``@``, participant id) or names (``lastfirst`` as in Canvas's download
names, ``first last``, ``last first``).
"""

from __future__ import annotations

import csv
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from neuroai_course.project import CourseError

CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"  # as Canvas's own export writes it
TEST_STUDENT = "Student, Test"  # the student Canvas's "Student View" adds to every course
MOODLE_IDS = ("Email address", "ID number", "Username")
REPORT_FIELDS = ("student", "roster_name", "roster_id", "status")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same grades give the same bytes


@dataclass
class Person:
    """One student of the roster, as the LMS knows them."""

    name: str
    ids: dict[str, str] = field(default_factory=dict)  # column -> value
    keys: set[str] = field(default_factory=set)


@dataclass
class Roster:
    kind: str  # "canvas", "moodle-worksheet", "moodle-gradebook", or "none"
    people: list[Person]
    headers: list[str]


def norm(text: str) -> str:
    """Case and punctuation removed (letters of every script kept)."""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _name_keys(name: str, first: str = "", last: str = "") -> set[str]:
    keys = {norm(name)}
    if "," in name:  # Canvas: "Last, First"
        last, first = (p.strip() for p in name.split(",", 1))
    elif not (first or last) and " " in name.strip():
        first, last = name.strip().rsplit(" ", 1)
    if first or last:
        keys |= {norm(last + first), norm(first + last)}
    return {k for k in keys if k}


def read_roster(path: Path) -> Roster:
    """The students of an LMS export: Canvas's gradebook export, Moodle's grading worksheet
    (``Identifier``, ``Full name``, ``Email address``, ...) or Moodle's gradebook export
    (``First name``, ``Last name``, ``ID number``, ..., ``Email address``)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
            headers = list(rows[0].keys()) if rows else []
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise CourseError(f"--roster {path}: cannot read it as CSV ({err})") from None
    people = []
    if {"Student", "ID", "SIS Login ID"} <= set(headers):
        kind = "canvas"
        for r in rows:
            name = (r.get("Student") or "").strip()
            if not name or name in ("Points Possible", TEST_STUDENT) or \
                    not (r.get("ID") or "").strip():
                continue  # the Points Possible row, Canvas's test student
            ids = {k: (r.get(k) or "").strip() for k in CANVAS_FIXED[1:]}
            people.append(Person(name, ids))
    elif {"Identifier", "Full name"} <= set(headers):
        kind = "moodle-worksheet"
        for r in rows:
            ids = {"Identifier": (r.get("Identifier") or "").strip(),
                   "Email address": (r.get("Email address") or "").strip()}
            ids["participant"] = re.sub(r"\D", "", ids["Identifier"])
            people.append(Person((r.get("Full name") or "").strip(), ids))
    elif {"First name", "Email address"} <= set(headers):
        kind = "moodle-gradebook"
        for r in rows:
            first, last = (r.get("First name") or "").strip(), (r.get("Last name") or
                                                                r.get("Surname") or "").strip()
            ids = {k: (r.get(k) or "").strip() for k in MOODLE_IDS if r.get(k)}
            p = Person(f"{first} {last}".strip(), ids)
            p.keys |= _name_keys("", first, last)
            people.append(p)
    else:
        raise CourseError(f"--roster {path}: not an LMS export this command knows (Canvas's "
                          "gradebook export, Moodle's grading worksheet or gradebook export); "
                          f"its columns are {', '.join(headers[:8]) or 'none'}")
    for p in people:
        p.keys |= _name_keys(p.name)
        for key, value in p.ids.items():
            if value and key != "Section":
                p.keys.add(norm(value))
                if "@" in value:
                    p.keys.add(norm(value.split("@")[0]))
        p.keys.discard("")
    return Roster(kind, people, headers)


def match(roster: Roster, students: list[str], lms_ids: dict[str, set[str]] | None = None
          ) -> tuple[dict[str, Person], list[dict]]:
    """``{graded student: roster person}`` and the report rows. ``lms_ids``: the LMS ids
    (Canvas user id, Moodle participant id) each graded student's hand-ins came under."""
    found: dict[str, Person] = {}
    for s in students:
        by_id = [p for p in roster.people
                 if {p.ids.get("ID", ""), p.ids.get("participant", "")} & (lms_ids or {}).get(
                     s, set()) - {""}]
        hits = by_id or [p for p in roster.people if norm(s) in p.keys]
        if len(hits) == 1:
            found[s] = hits[0]
    taken = {id(p) for p in found.values()}
    report = []
    for s in students:
        p = found.get(s)
        report.append({"student": s, "roster_name": p.name if p else "",
                       "roster_id": _primary_id(p) if p else "",
                       "status": "matched" if p else "not on roster"})
    for p in roster.people:
        if id(p) not in taken:
            report.append({"student": "", "roster_name": p.name, "roster_id": _primary_id(p),
                           "status": "no hand-in"})
    return found, report


def _primary_id(p: Person) -> str:
    for key in ("ID", "Identifier", "Email address", "ID number", "Username", "SIS Login ID"):
        if p.ids.get(key):
            return p.ids[key]
    return ""


def _grades(folder: Path) -> tuple[dict[tuple[str, str], dict], list[str], dict[str, str]]:
    path = folder / "grades.csv"
    if not path.is_file():
        raise CourseError(f"{folder} has no grades.csv: run 'neuroai grade' into it first")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    from neuroai_course.grade import FORMULA_START

    unquote = {r["student"]: r["student"][1:] if r["student"].startswith("'") and
               r["student"][1:].startswith(FORMULA_START) else r["student"] for r in rows}
    grades = {(unquote[r["student"]], r["tutorial"]): r for r in rows}
    tutorials = sorted({r["tutorial"] for r in rows})
    top = {t: next(r["max"] for r in rows if r["tutorial"] == t) for t in tutorials}
    return grades, tutorials, top


def lms_ids(folder: Path) -> dict[str, set[str]]:
    """Graded student -> the LMS ids (Canvas user id, Moodle participant id) in the file
    names their hand-ins came under, read from ``report.csv``."""
    from neuroai_course.submissions import Entry, describe_name

    path = folder / "report.csv"
    found: dict[str, set[str]] = {}
    if not path.is_file():
        return found
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            e = Entry(row.get("input") or "", Path("."))
            try:
                describe_name(e, "auto")
            except Exception:  # a name no pattern reads: no id
                continue
            if e.user and row.get("student"):
                found.setdefault(row["student"], set()).add(e.user)
    return found


#: Columns of an LMS export that hold no assignment.
NOT_ASSIGNMENTS = re.compile(r"score|grade|total|points|^(student|id|sis |section|identifier|"
                             r"full name|email|status|first name|last name|surname|username|"
                             r"id number|institution|department|last modified|feedback)",
                             re.IGNORECASE)


def assignment_columns(headers: list[str], tutorials: list[str],
                       chosen: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """Each tutorial's column header in the LMS file and the warnings.

    A tutorial takes the roster's column ``chosen`` names for it (``--column``), else the
    one column whose header holds its id (``M1T1_LIF``, compared without case or
    punctuation), else the one whose header holds its short id as a word (``M1T1``, not
    ``M1T10``). When none matches, the header is the tutorial id, and the warning says that
    importing the file creates a new column of that name."""
    columns = [h for h in headers if h and not NOT_ASSIGNMENTS.search(h.strip())]
    out, warnings = {}, []
    for t in tutorials:
        if chosen and t in chosen:
            if chosen[t] not in headers:
                warnings.append(f"--column {t}={chosen[t]}: the roster has no such column; "
                                f"importing creates a new column {chosen[t]!r}")
            out[t] = chosen[t]
            continue
        short = t.split("_")[0]
        hits = [h for h in columns if norm(t) in norm(h)] or \
            [h for h in columns
             if re.search(rf"(?<![A-Za-z0-9]){re.escape(short)}(?![0-9])", h, re.IGNORECASE)]
        if len(hits) == 1:
            out[t] = hits[0]
            continue
        out[t] = t
        if hits:
            warnings.append(f"{t}: several columns of the roster could be it "
                            f"({'; '.join(hits)}): choose one with --column {t}=NAME; "
                            f"until then importing creates a new column {t!r}")
        elif headers:
            warnings.append(f"{t}: no column of the roster names it (its columns: "
                            f"{'; '.join(columns[:6]) or 'none'}); importing creates a new "
                            f"column {t!r}: name the LMS assignment with the tutorial id, or "
                            f"give --column {t}=NAME")
    return out, warnings


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    from neuroai_course.grade import csv_safe

    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows([csv_safe(v) if v != POINTS_POSSIBLE else v for v in row] for row in rows)


def _zip(path: Path, members: list[tuple[str, bytes]]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


def _safe_name(text: str) -> str:
    """A name part of a bulk-upload file name: no underscore (the separator), no slash."""
    return re.sub(r"[_/\\\s]+", "-", unicodedata.normalize("NFC", text)).strip("-") or "student"


def export(folder: Path, roster_path: Path | None = None,
           columns: dict[str, str] | None = None) -> dict:
    """Write the LMS files into ``folder/lms``; return what was written, the counts of the
    roster report and the ``warnings`` (a tutorial without its column in the roster).
    ``columns``: tutorial id -> the roster's column header for it, overriding the match."""
    folder = Path(folder)
    grades, tutorials, top = _grades(folder)
    students = sorted({s for s, _ in grades})
    roster = read_roster(roster_path) if roster_path else Roster("none", [], [])
    found, report = match(roster, students, lms_ids(folder)) if roster_path else (
        {}, [{"student": s, "roster_name": "", "roster_id": "", "status": "no roster"}
             for s in students])
    out = folder / "lms"
    out.mkdir(exist_ok=True)
    written = []

    def total(s: str, t: str) -> str:
        row = grades.get((s, t))
        return row["total"] if row else ""

    # Canvas
    headers, warnings = assignment_columns(roster.headers, tutorials, columns)
    if roster.kind != "canvas":  # Moodle's import maps each column to a grade item by hand
        warnings = []
    rows = [[POINTS_POSSIBLE, "", "", "", "", *[top[t] for t in tutorials]]]
    if roster.kind == "canvas":
        by_person = {id(p): s for s, p in found.items()}
        for p in roster.people:
            s = by_person.get(id(p))
            rows.append([p.name, *[p.ids.get(k, "") for k in CANVAS_FIXED[1:]],
                         *[total(s, t) if s else "" for t in tutorials]])
    elif roster.kind == "none":
        rows += [[s, "", "", s, "", *[total(s, t) for t in tutorials]] for s in students]
    if roster.kind in ("canvas", "none"):
        _write(out / "canvas.csv", [*CANVAS_FIXED, *[headers[t] for t in tutorials]], rows)
        written.append("canvas.csv")
    # Moodle
    if roster.kind.startswith("moodle") or roster.kind == "none":
        ident = next((k for k in MOODLE_IDS if k in roster.headers), "Username")
        rows = []
        for s, p in sorted(found.items(), key=lambda x: x[1].name):
            rows.append([p.ids.get(ident, ""), p.name, *[total(s, t) for t in tutorials]])
        if roster.kind == "none":
            rows = [[s, s, *[total(s, t) for t in tutorials]] for s in students]
        _write(out / "moodle.csv", [ident, "Full name", *[headers[t] for t in tutorials]],
               rows)
        written.append("moodle.csv")
    # Feedback zips, one per tutorial (an upload is per assignment)
    for t in tutorials:
        canvas, moodle = [], []
        for s in students:
            page = folder / "feedback" / s / f"{t}.html"
            p = found.get(s)
            if not page.is_file() or p is None:
                continue
            data = page.read_bytes()
            if roster.kind == "canvas" and p.ids.get("ID"):
                canvas.append((f"{norm(p.name) or _safe_name(s)}_{p.ids['ID']}_{t}-feedback"
                               ".html", data))
            if roster.kind == "moodle-worksheet" and p.ids.get("participant"):
                moodle.append((f"{_safe_name(p.name)}_{p.ids['participant']}_assignfeedback"
                               f"_file_{t}-feedback.html", data))
        for kind, members in (("canvas", canvas), ("moodle", moodle)):
            if members:
                _zip(out / f"{kind}-feedback-{t}.zip", members)
                written.append(f"{kind}-feedback-{t}.zip")
    with (out / "roster-report.csv").open("w", newline="", encoding="utf-8") as f:
        from neuroai_course.grade import csv_safe

        w = csv.DictWriter(f, fieldnames=list(REPORT_FIELDS))
        w.writeheader()
        w.writerows({k: csv_safe(v) for k, v in r.items()} for r in report)
    written.append("roster-report.csv")
    counts: dict[str, int] = {}
    for r in report:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"written": written, "counts": counts, "report": report, "roster": roster.kind,
            "warnings": warnings}
