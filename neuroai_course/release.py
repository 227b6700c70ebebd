"""``neuroai release``: the student versions in ``tutorials/``, generated from ``solutions/``.

nbgrader's ``generate_assignment`` replaces solutions by stubs, removes hidden tests and
clears outputs; this module then adds a Colab badge and a setup cell. The result is
written in canonical form, so releasing twice changes no byte.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat

from neuroai_course import notebooks, rules
from neuroai_course.nbgrader_ops import Workspace
from neuroai_course.project import Course, Tutorial

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
GENERATED = {"neuroai": {"generated": True}}

SETUP_CELL = '''\
# Setup: installs the course package on Colab when it is missing (torch, numpy untouched).
try:
    import neuroai_core
except ImportError:
    %pip install --quiet --no-deps "{spec}"
    import importlib
    importlib.invalidate_caches()
    import neuroai_core'''


def badge_cell(url: str, image: str = BADGE_IMAGE) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(f"[![Open In Colab]({image})]({url})")
    cell.id = "colab-badge"
    cell.metadata = nbformat.from_dict(GENERATED)
    return cell


def setup_cell(spec: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(SETUP_CELL.format(spec=spec))
    cell.id = "setup-install"
    cell.metadata = nbformat.from_dict(GENERATED)
    return cell


def decorate(course: Course, tutorial: Tutorial, nb: nbformat.NotebookNode):
    """Add the badge (first cell) and the setup cell (before the first code cell)."""
    nb = nbformat.from_dict(nb)
    cells = [c for c in nb.cells if not c.metadata.get("neuroai", {}).get("generated")]
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    cells.insert(first_code, setup_cell(course.install_spec()))
    cells.insert(0, badge_cell(course.colab_url(tutorial)))
    nb.cells = cells
    return nb


def student_version(course: Course, tutorial: Tutorial, ws: Workspace,
                    source: nbformat.NotebookNode | None = None):
    """The student notebook of ``tutorial`` (not written anywhere); ``source`` is the
    source already read with ``read_source``, if the caller has it."""
    rel = tutorial.source.relative_to(course.root)
    if source is None:
        source = notebooks.read_source(tutorial.source, rel)
    student = decorate(course, tutorial, ws.generate(tutorial.id, source, str(rel)))
    return rules.strip_model_answers(student)


def release(course: Course, tutorials: list[Tutorial] | None = None) -> list[tuple[Tutorial, bool]]:
    """Write every student version; return ``(tutorial, changed)`` pairs."""
    course.check_toc()
    out = []
    with tempfile.TemporaryDirectory(prefix="neuroai-release-") as tmp:
        for t in tutorials if tutorials is not None else course.tutorials():
            ws = Workspace(Path(tmp) / t.id)
            out.append((t, notebooks.write(student_version(course, t, ws), t.student)))
    return out
