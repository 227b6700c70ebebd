"""nbgrader, headless, on a throwaway course directory.

``Workspace`` wraps the steps the course needs: ``generate_assignment`` (the student
version, with solutions stubbed and hidden tests removed) and ``autograde`` (hidden tests
restored from the gradebook, the notebook executed, each test cell scored).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

from neuroai_course.project import CourseError

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"


def nbgrader_config(root: Path, cell_timeout_s: int, kernel_name: str = "",
                    db_url: str | None = None, kernel_sockets: Path | None = None):
    """The nbgrader configuration shared by every command of the course; with
    ``kernel_sockets`` (a short existing folder), kernels use Unix sockets there."""
    from traitlets.config import Config

    from neuroai_course.kernels import ipc_config

    c = Config() if kernel_sockets is None else ipc_config(kernel_sockets)
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = "neuroai"
    c.CourseDirectory.db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    c.Exchange.root = str(root / "exchange")
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.text_stub = TEXT_STUB
    c.Execute.timeout = cell_timeout_s
    if kernel_name:
        c.Execute.kernel_name = kernel_name
    return c


def scripts_on_path() -> None:
    """nbgrader's gradebook runs its own console script (alembic) from PATH: make this
    interpreter's scripts folder visible, as an activated virtualenv would. And ask alembic
    for the schema's head revision in this process, once (:func:`alembic_head`), instead of
    a new ``alembic heads`` process for every new gradebook (2-7 s of a grading run)."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    import nbgrader.api

    if getattr(nbgrader.api, "get_alembic_version", None) is not alembic_head and \
            hasattr(nbgrader.api, "get_alembic_version"):
        nbgrader.api.get_alembic_version = alembic_head


@functools.cache
def alembic_head() -> str:
    """The head revision of nbgrader's gradebook schema, as ``alembic heads`` prints it
    (what nbgrader's ``get_alembic_version`` stamps a new gradebook with), read in-process."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite:///gradebook.db") as ini:
        return ScriptDirectory.from_config(Config(ini)).get_current_head()


@dataclass(frozen=True)
class CellScore:
    grade_id: str
    score: float
    max_score: float


class Workspace:
    """An nbgrader course directory under ``root`` (created; deleted by :meth:`close`)."""

    def __init__(self, root: Path, cell_timeout_s: int = 60, reuse: bool = False,
                 kernel_name: str = "", db_url: str | None = None,
                 kernel_sockets: Path | None = None) -> None:
        from nbgrader.apps import NbGraderAPI

        scripts_on_path()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=reuse)
        (self.root / "exchange").mkdir(exist_ok=True)
        self.api = NbGraderAPI(config=nbgrader_config(self.root, cell_timeout_s, kernel_name,
                                                      db_url, kernel_sockets))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, what: str, result: dict, label: str) -> None:
        if not result.get("success"):
            text = (result.get("log") or "") + "\n" + (result.get("error") or "")
            errors = re.findall(r"^\s*(\w+(?:Error|Exception): .+)$", text, re.MULTILINE)
            useful = [e for e in errors if not e.startswith("NbGraderException")]
            if "DeadKernel" in text or "Kernel died" in text or "UnresponsiveKernel" in text:
                useful.insert(0, "the kernel died")
            last = [ln.strip() for ln in text.splitlines() if ln.strip()][-1:] or ["no output"]
            hint = (useful or errors or last)[0].strip()
            raise CourseError(f"{label}: nbgrader {what} failed: {hint}")

    def generate(self, assignment: str, source: Path | nbformat.NotebookNode,
                 label: str = "") -> nbformat.NotebookNode:
        """Run ``generate_assignment`` on ``source`` (a file, or a notebook already read
        with its authoring marks applied); return the student notebook."""
        src_dir = self.root / "source" / assignment
        src_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copyfile(source, src_dir / f"{assignment}.ipynb")
        else:
            nbformat.write(source, src_dir / f"{assignment}.ipynb")
        self._run("generate_assignment", self.api.generate_assignment(assignment),
                  label or str(source if isinstance(source, Path) else assignment))
        return nbformat.read(self.root / "release" / assignment / f"{assignment}.ipynb", 4)

    def autograde(self, assignment: str, student: str, notebook: Path | None):
        """Autograde ``notebook`` (None: already in ``submitted/``) as ``student``'s.

        Returns ``(scores, seconds)`` with one :class:`CellScore` per graded cell.
        """
        if notebook is not None:
            sub_dir = self.root / "submitted" / student / assignment
            sub_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(notebook, sub_dir / f"{assignment}.ipynb")
        start = time.perf_counter()
        with warnings.catch_warnings():
            # nbgrader 0.9.6 with SQLAlchemy 2.x warns about its own session handling
            # ("... not in session, add operation along ... will not proceed"); the
            # grades are stored all the same (the check compares them with the source).
            warnings.filterwarnings("ignore", message=".*not in session", module="nbgrader")
            result = self.api.autograde(assignment, student)
        self._run("autograde", result, f"{student}'s {assignment}")
        seconds = time.perf_counter() - start
        gb = self.api.gradebook
        try:
            nb = gb.find_submission_notebook(assignment, assignment, student)
            scores = [
                CellScore(g.name, float(g.auto_score or 0.0), float(g.max_score))
                for g in nb.grades
                if g.cell.cell_type == "code"
            ]
        finally:
            gb.close()
        return sorted(scores, key=lambda s: s.grade_id), seconds
