"""``neuroai book``: the static website, built with Jupyter Book 1.x.

Each tutorial page is its source notebook, executed (so every figure shows) and then
stripped of solutions and hidden tests by nbgrader's own preprocessors, with a Colab badge
pointing at the student version. The instructor build (``--instructor``) also shows each
solution and full test, behind a toggle. Pages are staged under ``_build/`` with the
root's ``_config.yml``, ``_toc.yml`` and ``book/``, and Jupyter Book runs with warnings
as errors.

Repeating a build is cheap: an executed source is reused while its inputs are unchanged
(:func:`neuroai_course.check.run_key`), a staged file is rewritten only when its bytes
change, and Jupyter Book (Sphinx) then rebuilds only the pages whose files changed. After
a failed build, or with ``force``, every page is rebuilt.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from neuroai_course import authoring, rules
from neuroai_course.check import executed_path, run_key, run_source
from neuroai_course.nbgrader_ops import CODE_STUB, TEXT_STUB
from neuroai_course.project import Course, CourseError, Tutorial
from neuroai_course.release import badge_cell

LOCAL_BADGE = "../../book/_static/colab-badge.svg"  # relative to tutorials/<module>/
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SOLUTION_HEADER = "# Reference solution (instructor build only)\n"
MODEL_ANSWER_OPEN = "````{admonition} Model answer (instructor build only)"


def executed_source(course: Course, t: Tutorial, force: bool = False) -> nbformat.NotebookNode:
    """The executed source, reused when its inputs are unchanged (unless ``force``)."""
    cached = executed_path(course, t)
    if cached.exists() and not force:
        nb = nbformat.read(cached, as_version=4)
        if nb.metadata.get("neuroai", {}).get("run_key") == run_key(course, t):
            return nb
    return run_source(course, t)[0]


def strip_widgets(nb) -> None:
    """Drop widget outputs (tqdm progress bars; the explorers render static figures) and
    the widget state: with it, the page would load a widget manager from a CDN, and the
    text fallback of a bar is its first, empty line."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]


def model_answer_cell(cell) -> nbformat.NotebookNode:
    """A model answer shown in the instructor build: a collapsed admonition (a toggle)."""
    body = rules.MODEL_ANSWER.sub("", cell.source, count=1).strip()
    shown = copy.deepcopy(cell)
    shown.source = (f"{MODEL_ANSWER_OPEN}\n:class: dropdown\n\n{body}\n````")
    return shown


def reader_page(course: Course, t: Tutorial, executed, instructor: bool = False):
    """The website's version of one tutorial: outputs kept, solutions hidden or toggled."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    page = copy.deepcopy(executed)
    strip_widgets(page)
    originals = [c.source for c in page.cells]
    ClearSolutions(code_stub={"python": CODE_STUB}, text_stub=TEXT_STUB).preprocess(page, {})
    ClearHiddenTests().preprocess(page, {})
    cells = [badge_cell(course.colab_url(t), LOCAL_BADGE)]
    for cell, original in zip(page.cells, originals, strict=True):
        alt = rules.alt_text(cell) if cell.cell_type == "code" else ""
        if alt:  # each image of the cell gets the author's alt text (myst-nb's image options)
            cell.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = alt
        if rules.is_model_answer(cell):
            if instructor:  # behind a toggle, like the solutions
                cells.append(model_answer_cell(cell))
            continue
        cells.append(cell)
        if instructor and cell.cell_type == "markdown" and cell.source != original:
            # a written answer: its source holds the model answer, under its mark
            text = "\n".join(original.splitlines()[1:]) if \
                authoring.ANSWER.match(original.splitlines()[0].strip()) else original
            shown = model_answer_cell(nbformat.v4.new_markdown_cell(text))
            shown.id = f"{cell.id}-model-answer"
            cells.append(shown)
        if instructor and cell.cell_type == "code" and cell.source != original:
            reveal = nbformat.v4.new_code_cell(SOLUTION_HEADER + original)
            reveal.id = f"{cell.id}-solution"
            reveal.metadata["tags"] = ["hide-input"]
            cells.append(reveal)
    page.cells = cells
    page.metadata.pop("neuroai", None)
    return page


def _put(data: bytes, path: Path) -> None:
    """Write ``data`` unless ``path`` already holds it (its time stamp then stays, and
    Sphinx does not rebuild the page)."""
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def stage(course: Course, src: Path, instructor: bool, force: bool = False) -> None:
    """Lay out the book's sources under ``src``: config, narrative pages, tutorial pages.
    Unchanged files are left alone, files no longer in the book are removed."""
    wanted: dict[Path, bytes] = {}
    for name in ("_config.yml", "_toc.yml"):
        wanted[src / name] = (course.root / name).read_bytes()
    for path in sorted((course.root / "book").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            wanted[src / path.relative_to(course.root)] = path.read_bytes()
    for t in course.tutorials():
        page = reader_page(course, t, executed_source(course, t, force), instructor)
        wanted[src / f"{t.rel}.ipynb"] = (nbformat.writes(page) + "\n").encode()
    if src.exists():
        for path in sorted(src.rglob("*"), reverse=True):
            if path.is_file() and path not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    for path, data in wanted.items():
        _put(data, path)


def jupyter_book() -> str:
    exe = Path(sys.executable).with_name("jupyter-book")
    found = str(exe) if exe.exists() else shutil.which("jupyter-book")
    if not found:
        raise CourseError("jupyter-book is not installed: pip install ./neuroai_course")
    return found


def build_book(course: Course, instructor: bool = False, out: Path | None = None,
               force: bool = False) -> Path:
    """Build the site into ``out`` (default ``_build/html``, or ``_build/html-instructor``);
    ``force`` re-executes every tutorial and rebuilds every page.

    Returns the path of the site's ``index.html``.
    """
    course.check_toc()
    flavour = "instructor" if instructor else "student"
    work = course.root / "_build" / f"book-{flavour}"
    out = out or course.root / "_build" / ("html-instructor" if instructor else "html")
    stage(course, work / "src", instructor, force)
    # Sphinx does not re-read a page whose build warned: after a failure, rebuild all.
    passed = work / "last-build-passed"
    rebuild_all = force or not passed.exists()
    passed.unlink(missing_ok=True)
    cmd = [jupyter_book(), "build", str(work / "src"), "--path-output", str(work),
           "-W", "--keep-going", "--builder", "html", *(["--all"] if rebuild_all else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr).splitlines()
        problems = [ln for ln in log if "WARNING" in ln or "ERROR" in ln] or log[-5:]
        raise CourseError("the website build failed: " + " | ".join(problems[:5]))
    passed.touch()
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(work / "_build" / "html", out)
    _full_redirect_page(out)
    return out / "index.html"


def _full_redirect_page(out: Path) -> None:
    """Jupyter Book's root ``index.html`` is a bare refresh tag; a browser showing it probes
    ``/favicon.ico`` (a 404 on a static host). Make it a small page that names the site's
    icon and links to the first page for readers whose browser does not follow the refresh."""
    index = out / "index.html"
    text = index.read_text(encoding="utf-8") if index.exists() else ""
    found = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', text)
    if not found or "<html" in text:
        return
    first = found.group(1)
    icons = sorted((out / "_static").glob("logo.*"))
    icon = f'<link rel="icon" href="_static/{icons[0].name}">' if icons else ""
    index.write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>NeuroAI course</title>{icon}'
        f'<meta http-equiv="Refresh" content="0; url={first}"></head>'
        f'<body><p><a href="{first}">Open the course</a></p></body></html>\n',
        encoding="utf-8")
