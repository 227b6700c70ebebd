"""Rules every tutorial follows, as pure functions over a notebook (used by ``neuroai check``).

- Every test cell names the library function(s) its exercise re-implements on a line
  ``# reference: neuroai_core.module.function`` (several separated by commas, or ``none``).
- Before its exercise, a notebook does not import the reference of that exercise as a bare
  name (``from neuroai_core.neurons import lif_rate``): a student could pass by calling it. A
  demo that needs it calls it through its module (``lif.lif_rate``). Test cells import
  references under a module alias too (``from neuroai_core.neurons import lif``).
- The executed notebook shows at least three figures, and at most four between two graded
  checks (the notebook's start and end count as the ends of the first and last stretch), so
  that a student is asked to do something at least every four figures.
- Every figure has alt text written by the author: a code cell that shows a figure starts
  with ``# alt: ...`` (continued on the comment lines right below it), saying what the
  figure shows (axes, units, what to see). The website gives it to each image of the cell
  (a screen reader reads it instead of the image's file name).
- A model answer (a markdown cell whose first line is ``<!-- model answer -->``) is for
  instructors: :func:`strip_model_answers` removes it from what students get.

Each ``*_problems`` function returns a list of one-line problems (empty when the rule
holds), naming the notebook and the cell.
"""

from __future__ import annotations

import ast
import re

from neuroai_course import authoring

MIN_FIGURES = 3
MAX_FIGURES_BETWEEN_CHECKS = 4
MODEL_ANSWER = re.compile(r"^\s*<!--\s*model answer\s*-->", re.IGNORECASE)
_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
_FIGURE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")
ALT = re.compile(r"^#\s*alt\s*:\s*(?P<text>.*)$")
#: Tutorials (by the id's first part) where a figure without alt text is a warning, not yet
#: an error: those other sessions were editing when the rule came in.
def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_test(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(_meta(cell).get("grade")) \
        and not _meta(cell).get("solution")


def _is_exercise(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(_meta(cell).get("solution"))


def is_model_answer(cell) -> bool:
    """True for a markdown cell whose first line is ``<!-- model answer -->``."""
    return cell.get("cell_type") == "markdown" and bool(MODEL_ANSWER.match(cell.get("source", "")))


def strip_model_answers(nb):
    """Remove the model-answer cells from ``nb`` (in place); return ``nb``."""
    nb.cells = [c for c in nb.cells if not is_model_answer(c)]
    return nb


def _bare_imports(source: str) -> set[str]:
    """Names imported bare by ``from package import name [as alias]`` (the original names)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell with IPython magics: read its import lines alone
        lines = [ln for ln in source.splitlines() if ln.lstrip().startswith(("from ", "import "))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("neuroai_core"):
            names |= {alias.name for alias in node.names}
    return names


def reference_line_problems(nb, label) -> list[str]:
    """Every test cell says what its exercise re-implements (a ``# reference:`` line, which
    the tools move into the cell's metadata)."""
    return [f"{label}: cell {i + 1} ({_meta(c).get('grade_id')}) has no '# reference: ...' "
            "line naming the library function its exercise re-implements (or 'none')"
            for i, c in enumerate(nb.cells) if _is_test(c) and not authoring.declares_references(c)]


def bare_reference_problems(nb, label) -> list[str]:
    """No reference of an exercise is imported as a bare name before that exercise, nor by a
    test cell (test cells import the reference's module under an alias)."""
    problems = []
    cells = nb.cells
    for t, test in enumerate(cells):
        if not _is_test(test):
            continue
        names = {ref.rpartition(".")[2] for ref in authoring.references(test)}
        if not names:
            continue
        exercise = max((i for i in range(t) if _is_exercise(cells[i])), default=t)
        for i in [*range(exercise), t]:
            if cells[i].get("cell_type") != "code":
                continue
            for name in sorted(names & _bare_imports(cells[i].source)):
                where = "its test" if i == t else "before its exercise"
                problems.append(
                    f"{label}: cell {i + 1} imports {name}, the reference of "
                    f"{_meta(test).get('grade_id')}, as a bare name {where}; import its "
                    f"module instead and call module.{name}")
    return problems


def figure_count(executed) -> int:
    """Number of images among the outputs of an executed notebook."""
    return sum(1 for cell in executed.cells if cell.get("cell_type") == "code"
               for out in cell.get("outputs", [])
               if any(kind in out.get("data", {}) for kind in _FIGURE_TYPES))


def _is_graded(cell) -> bool:
    """A graded check: an autograded test cell or a written answer graded by hand."""
    return _is_test(cell) or (cell.get("cell_type") == "markdown"
                              and bool(_meta(cell).get("grade")))


def _figures_in(cell) -> int:
    if cell.get("cell_type") != "code":
        return 0
    return sum(1 for out in cell.get("outputs", [])
               if any(kind in out.get("data", {}) for kind in _FIGURE_TYPES))


def figure_stretches(executed) -> list[tuple[int, int, int]]:
    """The stretches of an executed notebook between graded checks, as
    ``(first_cell, last_cell, n_figures)`` (cells numbered from 1, inclusive); the notebook's
    start and end close the first and the last stretch."""
    stretches, start, n = [], 1, 0
    for i, cell in enumerate(executed.cells, start=1):
        if _is_graded(cell):
            stretches.append((start, i - 1, n))
            start, n = i + 1, 0
        else:
            n += _figures_in(cell)
    stretches.append((start, len(executed.cells), n))
    return stretches


def figure_problems(executed, label, minimum: int = MIN_FIGURES,
                    maximum: int = MAX_FIGURES_BETWEEN_CHECKS) -> list[str]:
    """The executed notebook shows at least ``minimum`` figures, and at most ``maximum``
    in any stretch between two graded checks."""
    problems = []
    n = figure_count(executed)
    if n < minimum:
        problems.append(f"{label}: the executed notebook shows {n} figure(s); a tutorial "
                        f"shows at least {minimum}")
    for first, last, k in figure_stretches(executed):
        if k > maximum:
            problems.append(
                f"{label}: cells {first}-{last} show {k} figures without a graded check in "
                f"between; at most {maximum} (merge figures into panels of one, or put an "
                "exercise between them)")
    return problems


def alt_text(cell) -> str:
    """The alt text of a code cell: its first line ``# alt: ...`` and the comment lines
    right below it, joined (``""`` when the cell has none)."""
    lines = cell.get("source", "").splitlines()
    found = ALT.match(lines[0].strip()) if lines else None
    if not found:
        return ""
    text = [found.group("text").strip()]
    for line in lines[1:]:
        stripped = line.strip()
        if not stripped.startswith("#") or ALT.match(stripped) or \
                stripped.startswith("# reference:"):
            break
        text.append(stripped.lstrip("#").strip())
    return " ".join(t for t in text if t)


def alt_problems(executed, label) -> list[str]:
    """Every code cell that shows a figure has alt text (:func:`alt_text`)."""
    return [f"{label}: cell {i} shows a figure without alt text; start the cell with "
            "'# alt: ...', what the figure shows (axes, units, what to see), for readers who "
            "cannot see it"
            for i, cell in enumerate(executed.cells, start=1)
            if _figures_in(cell) and not alt_text(cell)]


def source_problems(nb, label) -> list[str]:
    """The rules about a source notebook (read with its marks applied)."""
    return reference_line_problems(nb, label) + bare_reference_problems(nb, label)
