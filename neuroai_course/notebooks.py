"""Reading, linting and executing tutorial notebooks."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat

from neuroai_course.authoring import apply_marks, grade_meta
from neuroai_course.project import CourseError


def read(path: Path) -> nbformat.NotebookNode:
    """Read a notebook, or raise a one-line :class:`CourseError` naming the file."""
    try:
        nb = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise CourseError(f"{path}: file not found") from None
    except Exception as err:  # nbformat raises several kinds for a broken file
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CourseError(f"{path}: not a readable notebook ({msg})") from None
    return nb


def read_source(path: Path, label: str | Path | None = None) -> nbformat.NotebookNode:
    """Read a tutorial's source: authoring marks become nbgrader metadata
    (:mod:`neuroai_course.authoring`), then the result is linted. ``label`` names
    the notebook in error messages (default: ``path``)."""

    label = label if label is not None else path
    nb = apply_marks(read(path), label)
    lint(label, nb)
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> bool:
    """Write ``nb`` to ``path`` in canonical form; return True when the bytes changed."""
    text = nbformat.writes(nb) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # atomic: a parallel reader never sees half a notebook
    return True


def describe(index: int, cell) -> str:
    gid = grade_meta(cell).get("grade_id")
    return f"cell {index + 1}" + (f" ({gid})" if gid else "")


def lint(path: Path, nb: nbformat.NotebookNode) -> None:
    """Catch the authoring mistakes nbgrader reports badly, each as one clear line."""
    seen: dict[str, int] = {}
    for i, cell in enumerate(nb.cells):
        meta = grade_meta(cell)
        marked = meta.get("solution") or meta.get("grade") or meta.get("task")
        if not marked:
            continue
        gid = meta.get("grade_id")
        if not isinstance(gid, str) or not gid.strip():
            raise CourseError(
                f"{path}: cell {i + 1} is an nbgrader cell without a grade_id; remove its "
                "nbgrader metadata and mark it '# exercise' or '# test: 1 point' instead"
            )
        if gid in seen:
            raise CourseError(
                f"{path}: cells {seen[gid] + 1} and {i + 1} share grade_id {gid!r}; "
                "grade ids must be unique within a notebook"
            )
        seen[gid] = i
        if meta.get("grade") and not (meta.get("points") or 0) > 0:
            raise CourseError(f"{path}: {describe(i, cell)} is graded but has no points")


def graded_cells(nb: nbformat.NotebookNode) -> dict[str, float]:
    """``grade_id -> points`` for every autograded test cell."""
    return {
        grade_meta(c)["grade_id"]: float(grade_meta(c).get("points", 0))
        for c in nb.cells
        if grade_meta(c).get("grade") and c.cell_type == "code"
    }


@contextlib.contextmanager
def environ(**values: str) -> Iterator[None]:
    """Set environment variables for the kernels started inside the block."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def first_error(nb: nbformat.NotebookNode) -> str:
    """Describe the first cell whose outputs hold an error, or return ''."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"{describe(i, cell)} raised {out.get('ename')}: {out.get('evalue')}"
    return ""


def execute(path: Path, nb: nbformat.NotebookNode, timeout_s: int = 300):
    """Run ``nb`` top to bottom in a fresh kernel, in the notebook's folder, offline.

    Widgets fall back to static figures (``NEUROAI_STATIC=1``); the kernel computes on one
    thread (:data:`neuroai_course.kernels.ONE_THREAD`) and talks over Unix sockets
    (:func:`neuroai_course.kernels.ipc_config`). Returns the executed notebook and the wall
    time in seconds (wrap the call in :class:`neuroai_course.kernels.KernelCPU`
    for the kernel's CPU time); a failing cell is a :class:`CourseError` naming the
    notebook and the cell.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from neuroai_course.kernels import ONE_THREAD, ipc_config, socket_folder

    nb = nbformat.from_dict(nb)
    start = time.perf_counter()
    try:
        with environ(NEUROAI_STATIC="1", **ONE_THREAD), socket_folder() as sockets:
            client = NotebookClient(
                nb, timeout=timeout_s, kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
                config=ipc_config(Path(sockets)),
            )
            client.execute()
    except CellExecutionError:
        raise CourseError(
            f"{path}: {first_error(nb) or 'a cell failed'}; run the notebook top to bottom "
            "in Jupyter and fix that cell"
        ) from None
    except (CellTimeoutError, DeadKernelError) as err:
        raise CourseError(f"{path}: execution stopped ({type(err).__name__}) after "
                          f"{time.perf_counter() - start:.0f} s") from None
    return nb, time.perf_counter() - start
