"""``neuroai release``: the student versions in ``tutorials/``, generated from ``solutions/``.

nbgrader's ``generate_assignment`` replaces solutions by stubs, removes hidden tests and
clears outputs; this module then adds a Colab badge and a setup cell, whose install spec
is pinned to ``_config.yml``'s ``release``. The result is written in canonical form, so
releasing twice changes no byte. A tutorial whose source, ``_config.yml``, tooling and
environment are unchanged since its student version was written, and whose student
version is still that file, is not generated again (``force`` does it anyway).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat

from neuroai_course import cache, notebooks, rules
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


def workspace(course: Course, root: Path, **options) -> Workspace:
    """An nbgrader workspace at ``root`` whose gradebook starts as a copy of an empty one
    kept under ``_build/cache/``: nbgrader then skips creating it, which costs a run of
    its ``alembic`` command (a second or two) per workspace."""
    import nbgrader
    from nbgrader.api import Gradebook

    from neuroai_course.nbgrader_ops import scripts_on_path

    template = course.root / "_build" / "cache" / f"gradebook-{nbgrader.__version__}.db"
    if not template.exists():
        scripts_on_path()
        template.parent.mkdir(parents=True, exist_ok=True)
        tmp = template.with_name(f".{template.name}.{os.getpid()}.tmp")
        with Gradebook(f"sqlite:///{tmp}", course_id="neuroai"):
            pass
        os.replace(tmp, template)
    Path(root).mkdir(parents=True, exist_ok=False)
    shutil.copyfile(template, Path(root) / "gradebook.db")
    return Workspace(root, reuse=True, **options)


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


def release_key(course: Course, t: Tutorial) -> str:
    """What a student version depends on."""
    return cache.digest(source=cache.file_digest(t.source),
                        config=cache.file_digest(course.root / "_config.yml"),
                        tooling=cache.tooling_digest(), environment=cache.environment_digest())


def release_each(course: Course, tutorials: list[Tutorial] | None = None,
                 force: bool = False) -> Iterator[tuple[Tutorial, bool]]:
    """Write every student version, yielding ``(tutorial, changed)`` as each is done."""
    course.check_toc()
    store = cache.Cache(course, "release")
    with tempfile.TemporaryDirectory(prefix="neuroai-release-") as tmp:
        for t in tutorials if tutorials is not None else course.tutorials():
            key = release_key(course, t)
            kept = None if force else store.get(t.id, key)
            if kept and kept["student"] == cache.file_digest(t.student):
                yield t, False
                continue
            ws = workspace(course, Path(tmp) / t.id)
            changed = notebooks.write(student_version(course, t, ws), t.student)
            store.put(t.id, key, {"student": cache.file_digest(t.student)})
            yield t, changed


def release(course: Course, tutorials: list[Tutorial] | None = None,
            force: bool = False) -> list[tuple[Tutorial, bool]]:
    """Write every student version; return ``(tutorial, changed)`` pairs."""
    return list(release_each(course, tutorials, force))
