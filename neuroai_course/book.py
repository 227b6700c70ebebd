"""``neuroai book``: the static website, built with Jupyter Book 1.x.

Each tutorial page is its source notebook, executed (so every figure shows) and then
stripped of solutions and hidden tests by nbgrader's own preprocessors, with a Colab badge
pointing at the student version. The instructor build (``--instructor``) also shows each
solution and full test, behind a toggle. Pages are staged under ``_build/`` with the
root's ``_config.yml``, ``_toc.yml`` and ``book/``, and Jupyter Book runs with warnings
as errors.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from neuroai_course import notebooks, rules
from neuroai_course.check import executed_path, run_source, source_digest
from neuroai_course.nbgrader_ops import CODE_STUB, TEXT_STUB
from neuroai_course.project import Course, CourseError, Tutorial
from neuroai_course.release import badge_cell

LOCAL_BADGE = "../../book/_static/colab-badge.svg"  # relative to tutorials/<module>/
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SOLUTION_HEADER = "# Reference solution (instructor build only)\n"
MODEL_ANSWER_OPEN = "````{admonition} Model answer (instructor build only)"


def executed_source(course: Course, t: Tutorial) -> nbformat.NotebookNode:
    """The executed source, from the cache when it is up to date with the source."""
    cached = executed_path(course, t)
    if cached.exists():
        nb = nbformat.read(cached, as_version=4)
        if nb.metadata.get("neuroai", {}).get("source_sha256") == source_digest(t.source):
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
        if rules.is_model_answer(cell):
            if instructor:  # behind a toggle, like the solutions
                cells.append(model_answer_cell(cell))
            continue
        cells.append(cell)
        if instructor and cell.cell_type == "code" and cell.source != original:
            reveal = nbformat.v4.new_code_cell(SOLUTION_HEADER + original)
            reveal.id = f"{cell.id}-solution"
            reveal.metadata["tags"] = ["hide-input"]
            cells.append(reveal)
    page.cells = cells
    page.metadata.pop("neuroai", None)
    return page


def stage(course: Course, src: Path, instructor: bool) -> None:
    """Lay out the book's sources under ``src``: config, narrative pages, tutorial pages."""
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copyfile(course.root / name, src / name)
    shutil.copytree(course.root / "book", src / "book")
    for t in course.tutorials():
        page = reader_page(course, t, executed_source(course, t), instructor)
        notebooks.write(page, src / f"{t.rel}.ipynb")


def jupyter_book() -> str:
    exe = Path(sys.executable).with_name("jupyter-book")
    found = str(exe) if exe.exists() else shutil.which("jupyter-book")
    if not found:
        raise CourseError("jupyter-book is not installed: pip install 'neuroai-core[course]'")
    return found


def build_book(course: Course, instructor: bool = False, out: Path | None = None) -> Path:
    """Build the site into ``out`` (default ``_build/html``, or ``_build/html-instructor``).

    Returns the path of the site's ``index.html``.
    """
    course.check_toc()
    flavour = "instructor" if instructor else "student"
    work = course.root / "_build" / f"book-{flavour}"
    out = out or course.root / "_build" / ("html-instructor" if instructor else "html")
    stage(course, work / "src", instructor)
    cmd = [jupyter_book(), "build", str(work / "src"), "--path-output", str(work),
           "--all", "-W", "--keep-going", "--builder", "html"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr).splitlines()
        problems = [ln for ln in log if "WARNING" in ln or "ERROR" in ln] or log[-5:]
        raise CourseError("the website build failed: " + " | ".join(problems[:5]))
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(work / "_build" / "html", out)
    return out / "index.html"
