"""Hand-ins as instructors get them: collected, identified by content, repaired.

Every input file becomes an :class:`Entry`; nothing is dropped. Layouts understood:
``STUDENT/FILE.ipynb`` (a folder per student), flat files named by the learning-management
system as Canvas and Moodle write them (:data:`LMS_PRESETS`; ``<student>_<attempt>_<file>.ipynb``
otherwise, pattern configurable), and Colab's renamings (``Copy of X.ipynb``,
``X (1).ipynb``). A notebook is matched to its tutorial by its
content (grade ids, the functions it defines, its title), not by its name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from neuroai_course.project import CourseError

#: Generic pattern for flat LMS file names: ``alice_2_M1T1_LIF.ipynb``.
LMS_PATTERN = r"^(?P<student>[^_/]+)_(?P<attempt>\d+)_(?P<file>.+)$"
#: Canvas's "Download Submissions" zip: ``<lastfirst>_[LATE_]<user id>_<attachment id>_<file>``,
#: where ``<file>`` is the student's file name with ``-N`` added by Canvas for the Nth
#: resubmission (``M1T1_LIF-1.ipynb``). The user id is kept apart (group ``user``), never
#: taken for the attempt; ``LATE`` is Canvas's own late marker.
CANVAS_PATTERN = (r"^(?P<student>[^_/]+)_(?:(?P<late>LATE)_)?(?P<user>\d+)_(?P<submission>\d+)"
                  r"_(?P<file>.+?(?:-(?P<attempt>\d+))?(?:\.[^.\s]*)?)$")
#: Moodle's "Download all submissions": ``<Full name>_<participant id>_assignsubmission_file_``
#: followed by the file name (flat), or a folder of that name holding the file.
MOODLE_PATTERN = (r"^(?P<student>[^_/]+)_(?P<user>\d+)_assignsubmission_(?:file|onlinetext)_"
                  r"(?P<file>.*)$")
#: ``--lms`` presets; ``auto`` tries Canvas, Moodle, then the generic pattern.
LMS_PRESETS = {"canvas": (CANVAS_PATTERN,), "moodle": (MOODLE_PATTERN,),
               "generic": (LMS_PATTERN,),
               "auto": (CANVAS_PATTERN, MOODLE_PATTERN, LMS_PATTERN)}
MAX_BYTES = 64 * 1024 * 1024
JUNK = ("__MACOSX/", ".DS_Store")


@dataclass
class Entry:
    """One input file and what became of it."""

    name: str  # path inside the zip or folder, as the instructor sees it
    path: Path  # where its bytes are on disk
    student: str = ""
    raw_student: str = ""  # the name as written (any script), before it became an id
    attempt: int = 0
    user: str = ""  # the LMS's own id of the student (Canvas user id, Moodle participant)
    late_marked: bool = False  # the LMS marked the hand-in late in its name (Canvas)
    unmatched: bool = False  # a flat file whose name matched no LMS pattern
    copy: int = 0  # Colab's " (1)" suffix
    timestamp: dt.datetime | None = None
    tutorial: str = ""
    status: str = "pending"
    reason: str = ""
    notebook: nbformat.NotebookNode | None = field(default=None, repr=False)

    def flag(self, status: str, reason: str) -> Entry:
        self.status, self.reason = status, reason
        return self


def _clean_student(text: str) -> str:
    """A student id from a name in any script: letters and digits of every alphabet kept
    (Unicode NFC), everything else one '-'."""
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"[^\w.\-]+|_+", "-", text).strip("-.") or "unknown"


def distinct_students(entries: list[Entry]) -> None:
    """Two different names that became one id (``Li Lei`` and ``Li-Lei``, or names of
    signs only) get ids told apart by a short hash of the name as written."""
    by_id: dict[str, set[str]] = {}
    for e in entries:
        if e.student:
            by_id.setdefault(e.student, set()).add(e.raw_student)
    users: dict[str, set[str]] = {}  # two students of one name, told apart by their LMS id
    for e in entries:
        if e.student and e.user:
            users.setdefault(e.student, set()).add(e.user)
    for e in entries:
        if len(by_id.get(e.student, ())) > 1:
            tag = hashlib.sha256(e.raw_student.encode()).hexdigest()[:6]
            e.student = f"{e.student}-{tag}"
        elif len(users.get(e.student, ())) > 1:
            e.student = f"{e.student}-{e.user}"


def _colab_name(stem: str) -> tuple[str, int]:
    """Undo Colab's renamings: ``Copy of X (2)`` -> ``("X", 2)``."""
    copy = 0
    m = re.match(r"^(.*?)\s*\((\d+)\)$", stem)
    if m:
        stem, copy = m.group(1), int(m.group(2))
    stem = re.sub(r"^(Copy of\s+)+", "", stem)
    return stem.strip(), copy


def patterns_of(pattern: str) -> tuple[str, ...]:
    """The regular expressions of ``pattern``: a preset name of :data:`LMS_PRESETS` or a
    regular expression with groups ``student`` and ``file`` (optional ``attempt``, ``user``,
    ``late``)."""
    if pattern in LMS_PRESETS:
        return LMS_PRESETS[pattern]
    try:
        groups = re.compile(pattern).groupindex
    except re.error as err:
        raise CourseError(f"--pattern {pattern!r}: not a regular expression ({err})") from None
    if "student" not in groups:
        raise CourseError(f"--pattern {pattern!r}: needs a group named student, "
                          "(?P<student>...)")
    return (pattern,)


def describe_name(entry: Entry, pattern: str = "auto") -> None:
    """Fill in student, LMS user id, attempt, the LMS's late marker and copy number from
    the entry's path. ``pattern``: see :func:`patterns_of`. A file at the top of the
    hand-ins whose name matches no pattern keeps its stem as student id and is marked
    ``unmatched`` (reported before grading, see :func:`unmatched_names`)."""
    parts = PurePosixPath(entry.name).parts
    m, file = None, parts[-1]
    for regex in patterns_of(pattern):
        m = re.match(regex, parts[-1])
        if m is None and len(parts) >= 2:  # Moodle's folder per student
            m = re.match(regex, parts[-2])
            if m is not None and (m.groupdict().get("file") or ""):
                m = None  # a folder named like a file: not this layout
        if m:
            break
    if m:
        groups = m.groupdict()
        entry.raw_student = groups["student"]
        entry.attempt = int(groups.get("attempt") or 0)
        entry.user = groups.get("user") or ""
        entry.late_marked = bool(groups.get("late"))
        file = groups.get("file") or parts[-1]
    elif len(parts) >= 2:
        entry.raw_student, file = parts[-2], parts[-1]
    else:
        entry.raw_student, file = PurePosixPath(parts[-1]).stem, parts[-1]
        entry.unmatched = True
    entry.student = _clean_student(entry.raw_student)
    _, entry.copy = _colab_name(PurePosixPath(file).stem)


def unmatched_names(entries: list[Entry]) -> list[str]:
    """The notebooks handed in as flat files whose names match no LMS pattern: their
    student id is the whole file name, which no roster knows."""
    return [e.name for e in entries if e.unmatched and e.name.endswith(".ipynb")]


def readable_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (a folder unpacked by a Windows tool
    holds Latin-1 names, which Python keeps as surrogates) are read as Windows-1252."""
    raw = os.fsencode(name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def collect(source: Path, workdir: Path, pattern: str = "auto") -> list[Entry]:
    """Every file of a zip or a folder, as entries (zip members are extracted safely);
    ``pattern`` names the students (see :func:`describe_name`)."""
    patterns_of(pattern)  # a bad pattern stops here, before anything is unpacked
    source = Path(source)
    entries: list[Entry] = []
    if source.is_file() and zipfile.is_zipfile(source):
        out = workdir / "unzipped"
        with zipfile.ZipFile(source) as zf:
            for k, info in enumerate(zf.infolist()):
                if info.is_dir():
                    continue
                target = out / f"{k:05d}"
                e = Entry(info.filename, target, timestamp=dt.datetime(*info.date_time))
                if info.file_size > MAX_BYTES:
                    entries.append(e.flag("not a notebook", f"{info.file_size} bytes, over "
                                                            f"the {MAX_BYTES} byte limit"))
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
                entries.append(e)
    elif source.is_dir():
        for p in sorted(source.rglob("*")):
            name = readable_name(p.relative_to(source).as_posix())
            if p.is_symlink():  # never followed: it could point anywhere on the machine
                entries.append(Entry(name, p).flag(
                    "not a notebook", "a symbolic link, not followed: hand in the file itself"))
            elif p.is_file():
                stamp = dt.datetime.fromtimestamp(p.stat().st_mtime)
                entries.append(Entry(name, p, timestamp=stamp))
    else:
        raise CourseError(f"submissions {source}: not a zip file or a folder")
    for e in entries:
        describe_name(e, pattern)
    distinct_students(entries)
    return entries


def read_notebook(entry: Entry) -> None:
    """Parse the entry as a notebook (nbformat 3 is converted), or flag it."""
    if entry.status != "pending":
        return
    name = entry.name
    if any(j in name for j in JUNK):
        entry.flag("not a notebook", "operating-system metadata file")
        return
    data = entry.path.read_bytes()
    if len(data) > MAX_BYTES:
        entry.flag("not a notebook", f"{len(data)} bytes, over the {MAX_BYTES} byte limit")
        return
    if not data.strip():
        entry.flag("not a notebook", "empty file")
        return
    if name.endswith(".py"):
        entry.flag("not a notebook", "a .py file: hand in the .ipynb (Colab: File > "
                                     "Download > Download .ipynb)")
        return
    try:
        # (a byte-order mark, as some Windows editors write, is not part of the JSON)
        raw = json.loads(data.decode("utf-8-sig", errors="replace"))
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(nb)
    except json.JSONDecodeError as err:
        entry.flag("not a notebook", f"invalid JSON ({err.msg} at line {err.lineno})")
        return
    except Exception as err:  # nbformat's validation and conversion errors vary
        entry.flag("not a notebook", f"not a Jupyter notebook ({str(err).splitlines()[0][:120]})")
        return
    entry.notebook = nb


# --- matching by content -----------------------------------------------------------

DEF = re.compile(r"^def\s+(\w+)\s*\(", re.MULTILINE)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def notebook_title(nb) -> str:
    """A notebook's title: the text of its first ``# `` heading ('' when it has none)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE)
            if m:
                return m.group(1).strip()
    return ""


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a tutorial's notebook: grade ids, solution functions, title."""

    tutorial: str
    grade_ids: frozenset
    functions: frozenset
    title: str

    @classmethod
    def of(cls, tutorial: str, nb) -> Fingerprint:
        ids = {_meta(c)["grade_id"] for c in nb.cells if _meta(c).get("grade_id")}
        funcs = {f for c in nb.cells if _meta(c).get("solution") for f in DEF.findall(c.source)}
        return cls(tutorial, frozenset(ids), frozenset(funcs), notebook_title(nb))

    def score(self, nb) -> int:
        ids = {_meta(c).get("grade_id") for c in nb.cells}
        funcs = {f for c in nb.cells if c.cell_type == "code" for f in DEF.findall(c.source)}
        return (len(self.grade_ids & ids) + 2 * len(self.functions & funcs)
                + 3 * (bool(self.title) and notebook_title(nb) == self.title))


def identify(entry: Entry, prints: list[Fingerprint], expected: str | None) -> None:
    """Set ``entry.tutorial`` from the notebook's content, or flag it."""
    if entry.notebook is None:
        return
    scored = sorted(((fp.score(entry.notebook), fp.tutorial) for fp in prints), reverse=True)
    if not scored or scored[0][0] == 0:
        entry.flag("unknown tutorial", "matches no tutorial of the course by content")
        return
    best = scored[0][1]
    if expected and best != expected:
        entry.flag("unknown tutorial", f"this is tutorial {best}, not {expected}")
        return
    entry.tutorial = best


# --- repair -----------------------------------------------------------------------------


def _find_solution(cells, gid: str, funcs: list[str]):
    for i, c in enumerate(cells):
        if _meta(c).get("grade_id") == gid and c.cell_type == "code":
            return i
    for i in range(len(cells) - 1, -1, -1):  # metadata stripped: the last definition wins
        c = cells[i]
        if c.cell_type == "code" and set(funcs) & set(DEF.findall(c.source)):
            return i
    return None


def repair(nb, release) -> list[str]:
    """Give the submission the release's grading structure; return what was repaired.

    Solution cells are found by grade id or, when an editor stripped the metadata, by the
    functions they define; they get the release's metadata back. Test cells are taken out
    wherever the student put them and put back, one each, right after their exercise's
    solution (or at the end when the exercise was deleted); nbgrader then restores their
    source, hidden tests included, from the gradebook.
    """
    notes: list[str] = []
    # Test cells are code; a graded markdown cell is a written answer, kept where it is.
    test_ids = {c.get("id") for c in release.cells
                if _meta(c).get("grade") and c.cell_type == "code"}
    test_heads = {c.source.strip().splitlines()[0] for c in release.cells
                  if _meta(c).get("grade") and c.cell_type == "code" and c.source.strip()}

    def is_test(c) -> bool:  # by metadata, or a stripped copy recognised by id or first line
        head = c.source.strip().splitlines()[0] if c.source.strip() else ""
        return c.cell_type == "code" and (bool(_meta(c).get("grade")) or
                                          c.get("id") in test_ids or head in test_heads)

    cells = [c for c in nb.cells if not is_test(c)]
    for c in cells:  # drop stray nbgrader metadata (edited or copied cells)
        if _meta(c) and not _meta(c).get("solution"):
            c.metadata.pop("nbgrader", None)
    anchor: dict[str, int] = {}
    for rc in release.cells:
        meta = _meta(rc)
        if meta.get("solution") and rc.cell_type == "code":
            i = _find_solution(cells, meta["grade_id"], DEF.findall(rc.source))
            if i is None:
                notes.append(f"exercise {meta['grade_id']} deleted")
                continue
            if _meta(cells[i]).get("grade_id") != meta["grade_id"]:
                notes.append(f"metadata of {meta['grade_id']} restored")
            for j, c in enumerate(cells):  # a duplicated cell keeps its code, not the id
                if j != i and _meta(c).get("grade_id") == meta["grade_id"]:
                    c.metadata.pop("nbgrader")
                    notes.append(f"duplicate of {meta['grade_id']} kept as plain code")
            cells[i].metadata["nbgrader"] = dict(meta)
            anchor[meta["grade_id"]] = i
    tests, last_solution = [], None
    for rc in release.cells:
        meta = _meta(rc)
        if meta.get("solution") and rc.cell_type == "code":
            last_solution = meta["grade_id"]
        if meta.get("grade") and rc.cell_type == "code":
            tests.append((anchor.get(last_solution), rc))
    for offset, (pos, rc) in enumerate(sorted(tests, key=lambda t: (t[0] is None, t[0] or 0))):
        test = nbformat.from_dict(dict(rc))
        test.outputs, test.execution_count = [], None
        where = len(cells) if pos is None else pos + 1 + offset
        cells.insert(where, test)
    original = [_meta(c).get("grade_id") for c in nb.cells if is_test(c)]
    restored = [_meta(rc).get("grade_id") for _, rc in tests]
    if original != restored:
        notes.append("test cells put back in place")
    nb.cells = cells
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    return notes
