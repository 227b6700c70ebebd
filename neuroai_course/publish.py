"""``neuroai publish DEST``: the public, student-facing tree of a graded course.

A course that grades keeps its repository private (``solutions/`` holds every solution and
every hidden test) and publishes this tree to a public repository, which Colab opens the
student versions from and the setup cell installs the package from. What goes in:

- ``tutorials/``: the student versions, their Colab badge and setup cell pointing at the
  public repository (nbgrader already removed the solutions and the hidden tests);
- ``book/``, ``_toc.yml``: the website's sources without the pages for instructors (the
  ``For instructors`` part of the table of contents; links to them become plain text);
- ``_config.yml`` with ``repository.url`` set to the public repository;
- ``neuroai_core/`` and ``pyproject.toml`` (the package students install), the licences;
- ``README.md`` written for students (:func:`student_readme`: what the course is, how to
  open a tutorial on Colab or locally, how to hand in), not the instructor's README.

Narrative pages speak to students: a passage between ``<!-- instructors -->`` and
``<!-- /instructors -->`` (each on a line of its own) is left out of the public page, and the
course repository's URL becomes the public one (a clone command, a link).

What never goes in: ``solutions/``, ``neuroai_course/`` (the tooling, which only an
instructor runs), ``tests/``, ``bench/``, ``_build/`` (the instructor build included), the
instructor's README and the pages about the tooling (:data:`INSTRUCTOR_PAGES`).

Before writing, every line of every solution region and hidden-test region of every source
is looked for in the tree: a line found there that is not public anyway (in the package, in
the narrative pages or outside the regions of a source) stops the publication. Files are
written only when their bytes change, and nothing holds a time stamp, so publishing an
unchanged course twice changes no byte. Files a previous publication wrote and this one no
longer does are removed (the list is kept in ``.neuroai-published``); other files of DEST
(``.git``, the public repository's own CI) are left alone.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import nbformat
import yaml

from neuroai_course import notebooks, rules
from neuroai_course.project import Course, CourseError
from neuroai_course.release import decorate
from neuroai_course.submissions import notebook_title

MANIFEST = ".neuroai-published"
#: Narrative pages for instructors only: their part of the table of contents, and pages
#: about the tooling (build and grading times) wherever they are listed.
INSTRUCTOR_PAGES = ("book/instructor", "book/authoring", "book/performance")
INSTRUCTOR_CAPTION = "For instructors"
ROOT_FILES = ("LICENSE", "LICENSE-CONTENT", "pyproject.toml", "_toc.yml")
#: A passage of a narrative page for instructors only, left out of the public page.
INSTRUCTORS_ONLY = re.compile(r"^<!--\s*instructors\s*-->\s*$.*?^<!--\s*/instructors\s*-->\s*$\n?",
                              re.MULTILINE | re.DOTALL)
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}
REGIONS = (("### BEGIN SOLUTION", "### END SOLUTION"),
           ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
#: Lines shorter than this (``return x``, ``)``) say nothing about an answer.
MIN_SECRET_CHARS = 12
GITHUB = re.compile(r"^https://github\.com/[\w.-]+/[\w.-]+/?$")


def public_repository(course: Course, repo: str | None) -> str:
    """The public repository's URL: ``repo``, else ``_config.yml``'s ``publish.repository``."""
    url = repo or (course.config.get("publish") or {}).get("repository")
    if not url:
        raise CourseError("no public repository: pass --repo https://github.com/OWNER/NAME or "
                          "set publish.repository in _config.yml")
    if not GITHUB.match(str(url)):
        raise CourseError(f"repo must look like https://github.com/OWNER/NAME, got {url!r}")
    return str(url).rstrip("/")


def _split(source: str) -> tuple[list[str], list[str]]:
    """The stripped, non-empty lines of a cell's source: ``(inside, outside)`` its solution
    and hidden-test regions (the markers themselves count as outside)."""
    inside, outside, end = [], [], None
    for line in source.splitlines():
        text = line.strip()
        if end is None:
            end = next((e for b, e in REGIONS if text.startswith(b)), None)
            outside.append(text)
        elif text.startswith(end):
            end = None
            outside.append(text)
        elif text:
            inside.append(text)
    return inside, [t for t in outside if t]


def region_lines(source: str) -> list[str]:
    """The stripped lines inside the solution and hidden-test regions of a cell's source."""
    return _split(source)[0]


def outside_lines(source: str) -> list[str]:
    """The stripped lines outside those regions."""
    return _split(source)[1]


def secrets(course: Course) -> set[str]:
    """Lines only the instructor may see: those of the solution and hidden-test regions of
    every source, of its model answers and of its written answers' model text, minus lines
    that are public anyway (the package, the narrative pages, the sources outside their
    regions) and lines too short to tell."""
    hidden, public = set(), set()
    for t in course.tutorials():
        nb = notebooks.read_source(t.source)
        for cell in nb.cells:
            written = cell.cell_type == "markdown" and \
                (cell.metadata.get("nbgrader") or {}).get("solution")
            if rules.is_model_answer(cell) or written:  # instructor-only text, first line aside
                hidden.update(ln.strip() for ln in cell.source.splitlines()[1:])
                continue
            hidden.update(region_lines(cell.source))
            public.update(outside_lines(cell.source))
    for folder in ("neuroai_core", "book"):
        for path in sorted((course.root / folder).rglob("*")):
            if path.suffix in (".py", ".md") and not _skipped(path) and \
                    str(path.relative_to(course.root).with_suffix("")) not in INSTRUCTOR_PAGES:
                public.update(ln.strip() for ln in path.read_text(encoding="utf-8").splitlines())
    return {ln for ln in hidden - public if len(ln) >= MIN_SECRET_CHARS}


def _skipped(path: Path) -> bool:
    return any(p in SKIP_PARTS for p in path.parts) or path.name.endswith(".pyc")


def public_config(course: Course, url: str) -> bytes:
    """``_config.yml`` with the public repository, without the ``publish`` section; the
    rest of the file is kept line for line (its comments included)."""
    text = (course.root / "_config.yml").read_text(encoding="utf-8")
    old = str((course.config.get("repository") or {}).get("url", "")).rstrip("/")
    if not old:
        raise CourseError("_config.yml: repository.url is missing")
    lines, skipping = [], False
    for line in text.splitlines():
        if re.match(r"^publish\s*:", line):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        if re.match(r"^\s+url\s*:", line) and old in line:
            line = line.replace(old, url)
        lines.append(line)
    out = "\n".join(lines) + "\n"
    if (yaml.safe_load(out).get("repository") or {}).get("url", "").rstrip("/") != url:
        raise CourseError("_config.yml: could not set repository.url for the public tree")
    return out.encode()


def public_toc(course: Course) -> bytes:
    toc = yaml.safe_load((course.root / "_toc.yml").read_text(encoding="utf-8"))
    toc["parts"] = [p for p in toc.get("parts", []) if p.get("caption") != INSTRUCTOR_CAPTION]
    for part in toc["parts"]:  # tooling pages listed elsewhere (a Reference part)
        part["chapters"] = [c for c in part.get("chapters", [])
                            if c.get("file") not in INSTRUCTOR_PAGES[2:]]
    toc["parts"] = [p for p in toc["parts"] if p.get("chapters")]
    leftover = [f for f in INSTRUCTOR_PAGES if f in str(toc)]
    if leftover:
        raise CourseError(f"_toc.yml: {leftover[0]} is outside the '{INSTRUCTOR_CAPTION}' "
                          "part; move it there so that publish can leave it out")
    head = "# Table of contents of the course website (student-facing pages).\n"
    return (head + yaml.safe_dump(toc, sort_keys=False, allow_unicode=True)).encode()


def unlink_instructor_pages(text: str) -> str:
    """Links to instructor pages become their plain text (the pages are not published)."""
    names = "|".join(re.escape(Path(p).name) for p in INSTRUCTOR_PAGES)
    return re.sub(rf"\[([^\]]+)\]\((?:\./)?(?:{names})\.md(?:#[^)]*)?\)", r"\1", text)


def student_page(text: str, old_url: str, url: str) -> str:
    """A narrative page as students get it: passages for instructors left out, links to
    instructor pages as plain text, the course repository's URL the public one."""
    text = unlink_instructor_pages(INSTRUCTORS_ONLY.sub("", text))
    return text.replace(old_url, url) if old_url else text


def student_readme(course: Course, url: str) -> bytes:
    """The public repository's README, written for students: the course in a paragraph
    (the first of ``book/intro.md``), each module's tutorials with their Colab links, how
    to run them locally and how to hand in, the licences. Nothing about the tooling."""
    intro = (course.root / "book" / "intro.md").read_text(encoding="utf-8")
    title = (intro.splitlines() or ["# The course"])[0].lstrip("# ").strip()
    paras = [p.strip() for p in INSTRUCTORS_ONLY.sub("", intro).split("\n\n")[1:3]]
    branch = (course.config.get("repository") or {}).get("branch", "main")
    colab = url.replace("https://github.com/", "https://colab.research.google.com/github/")
    lines = [f"# {title}", "", *[p + "\n" for p in paras],
             "## The tutorials", "",
             *textwrap.wrap("Open one on Google Colab (free, nothing to install) with its "
                            "link; run the first code cell, which installs the course "
                            "package, then work from top to bottom. After each exercise, run "
                            "its test cell: it says whether your function is right, and why "
                            "not when it is not.", 90)]
    module = None
    for t in course.tutorials():
        if t.module != module:
            module = t.module
            lines += ["", f"**{module.replace('_', ' ')}**", ""]
        name = notebook_title(nbformat.read(t.student, 4)) or t.id
        lines.append(f"- [{name}]({colab}/blob/{branch}/{t.rel}.ipynb)")
    lines += ["", "## Locally, in Jupyter", "",
              "With Python 3.10 or newer:", "", "```bash",
              f"git clone {url}", f"cd {url.rstrip('/').rsplit('/', 1)[-1]}",
              "python3 -m venv .venv && . .venv/bin/activate",
              "pip install torch --index-url https://download.pytorch.org/whl/cpu",
              'pip install -e ".[widgets]" jupyterlab', "jupyter lab tutorials/", "```", "",
              "## Handing in", "",
              *textwrap.wrap("Download your notebook (on Colab: *File > Download > Download "
                             ".ipynb*) and upload it where your instructor asks. Keep the test "
                             "cells as they are. Written answers go in the cell below each "
                             "question that asks for one.", 90), "",
              "## The website", "",
              "`book/` holds the course website's pages (Jupyter Book 1.x: "
              "`jupyter-book build .`).", "",
              "## Licence", "",
              "Code: BSD 3-Clause (`LICENSE`). Text and notebooks: Creative Commons "
              "Attribution 4.0 International (`LICENSE-CONTENT`).", ""]
    return "\n".join(lines).encode()


def tree(course: Course, url: str) -> dict[str, bytes]:
    """Every file of the public tree: relative path -> bytes."""
    course.check_toc()
    files: dict[str, bytes] = {}
    for name in ROOT_FILES:
        if (course.root / name).is_file():
            files[name] = (course.root / name).read_bytes()
    files["_toc.yml"] = public_toc(course)
    files["_config.yml"] = public_config(course, url)
    files["README.md"] = student_readme(course, url)
    old_url = str((course.config.get("repository") or {}).get("url", "")).rstrip("/")
    for folder in ("neuroai_core", "book"):
        for path in sorted((course.root / folder).rglob("*")):
            rel = path.relative_to(course.root)
            if not path.is_file() or _skipped(rel) or str(rel.with_suffix("")) in \
                    INSTRUCTOR_PAGES:
                continue
            data = path.read_bytes()
            if path.suffix == ".md":
                data = student_page(data.decode("utf-8"), old_url, url).encode()
            files[rel.as_posix()] = data
    # Colab links and the install spec of the public repository.
    public = Course(course.root)
    public.__dict__["config"] = yaml.safe_load(files["_config.yml"])
    for t in course.tutorials():
        if not t.student.is_file():
            raise CourseError(f"{t.rel}.ipynb is missing: run 'neuroai release' first")
        nb = rules.strip_model_answers(decorate(public, t, nbformat.read(t.student, 4)))
        files[f"{t.rel}.ipynb"] = (nbformat.writes(nb) + "\n").encode()
    return files


def leaks(files: dict[str, bytes], hidden: set[str]) -> list[str]:
    """``path: line`` for each secret line found as a line of the files (their text as
    written, and each notebook's cell sources, which its JSON holds as strings)."""
    found = []
    for rel, data in sorted(files.items()):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if rel.endswith(".ipynb"):
            nb = nbformat.reads(text, 4)
            text += "\n" + "\n".join(c.source for c in nb.cells)
        lines = {ln.strip() for ln in text.splitlines()}
        found += [f"{rel}: {ln}" for ln in sorted(hidden & lines)]
    return found


def _put(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def publish(course: Course, dest: Path, repo: str | None = None) -> dict[str, list[str]]:
    """Write the public tree into ``dest``; return ``{"written": [...], "removed": [...],
    "unchanged": [...]}`` (relative paths)."""
    url = public_repository(course, repo)
    dest = Path(dest).resolve()
    if dest == course.root or course.root in dest.parents:
        raise CourseError(f"DEST must be outside the course folder, got {dest}")
    if (dest / "solutions").exists():
        raise CourseError(f"{dest} holds solutions/: refusing to publish into a private tree")
    files = tree(course, url)
    found = leaks(files, secrets(course))
    if found:
        raise CourseError(f"not published: instructor-only text would be public ({found[0]}"
                          f"{f' and {len(found) - 1} more' if len(found) > 1 else ''})")
    files[MANIFEST] = ("".join(f"{rel}\n" for rel in sorted(files))).encode()
    report = {"written": [], "removed": [], "unchanged": []}
    old = dest / MANIFEST
    if old.is_file():
        for rel in old.read_text(encoding="utf-8").splitlines():
            path = dest / rel
            if rel and rel not in files and path.is_file() and dest in path.resolve().parents:
                path.unlink()
                report["removed"].append(rel)
    for rel, data in sorted(files.items()):
        report["written" if _put(dest / rel, data) else "unchanged"].append(rel)
    for rel in report["removed"]:  # folders left empty by the removals
        parent = (dest / rel).parent
        while parent != dest and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return report


__all__ = ["publish", "secrets", "leaks", "tree", "region_lines"]
