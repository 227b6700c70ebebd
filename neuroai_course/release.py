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
import subprocess
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
    for cell in student.cells:  # the answer's library function is the grader's to know
        cell.metadata.get("neuroai", {}).pop("references", None)
        if cell.metadata.get("neuroai") == {}:
            del cell.metadata["neuroai"]
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


# --- the release tag ------------------------------------------------------------------------
#: ``_config.yml`` key: when true, ``neuroai check`` always requires the release tag.
REQUIRE_TAG = "require_release_tag"


def _git(course: Course, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(course.root), *args], capture_output=True,
                          text=True, check=False)


def tag_problem(course: Course) -> str | None:
    """Why the release the setup cells install is missing, or ``None``.

    The setup cell of every student version installs ``neuroai-core`` at the git tag
    ``_config.yml`` names (``release``): without that tag in the repository, the first cell
    of every tutorial fails on Colab. The tag is required when ``_config.yml`` says so
    (``require_release_tag: true``) or when the repository has any tag at all (then it is
    one that tags its releases). A clone without tags (CI's shallow clone of ``main``, a
    folder that is not a git repository) is not judged, unless required."""
    tag = course.release
    required = bool(course.config.get(REQUIRE_TAG))
    listed = _git(course, "tag", "--list")
    if listed.returncode != 0:
        return (f"the setup cells install release {tag}, but {course.root} is not a git "
                f"repository to hold that tag ({REQUIRE_TAG} is set)") if required else None
    tags = set(listed.stdout.split())
    if tag in tags or not (tags or required):
        return None
    return (f"the setup cells install neuroai-core at release {tag}, but the repository has "
            f"no tag {tag}: run 'neuroai release --tag' on the released commit and push the "
            f"tag (git push origin {tag})")


def create_tag(course: Course) -> str:
    """Tag the current commit with the release ``_config.yml`` names; return what was done.
    Refuses (one line) when the released files have uncommitted changes, since the tag must
    hold the student versions the setup cells were written for; leaves an existing tag."""
    from neuroai_course.project import CourseError

    tag = course.release
    if _git(course, "rev-parse", "--git-dir").returncode != 0:
        raise CourseError(f"--tag: {course.root} is not a git repository")
    have = _git(course, "rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}")
    if have.returncode == 0:
        return f"tag {tag} already exists (commit {have.stdout.strip()[:12]}); left as it is"
    dirty = _git(course, "status", "--porcelain", "--", "solutions", "tutorials",
                 "neuroai_core", "_config.yml", "pyproject.toml").stdout.strip()
    if dirty:
        raise CourseError(f"--tag: commit the released files first ({len(dirty.splitlines())} "
                          f"changed, e.g. {dirty.splitlines()[0][3:]}): the tag {tag} must hold "
                          "them")
    made = _git(course, "tag", tag)
    if made.returncode != 0:
        raise CourseError(f"--tag: git tag {tag} failed: {made.stderr.strip()[:200]}")
    head = _git(course, "rev-parse", "HEAD").stdout.strip()[:12]
    return f"tagged commit {head} as {tag}; publish it with: git push origin {tag}"
