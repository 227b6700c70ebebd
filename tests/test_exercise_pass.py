"""What a student sees of each exercise gives its contract, not its answer.

For every exercise of every tutorial's source (marks applied, as the tools read it):

- no hint (a ``hint=`` text of its test, or a markdown cell between the exercise and the
  next exercise that says "hint") contains a line of the solution;
- no docstring of the exercise's functions contains a line of the solution or the
  expression a solution line computes (return values and assignments that do arithmetic
  or call something), compared without spaces, nor a line written as a formula (two or
  more arithmetic operators: ``w + eta * y``); the docstring states the contract in words
  (inputs, outputs, units, shapes, errors) and the text above the exercise the equation;
- the visible part of its test (what the student version shows) neither names nor calls
  the library function that is the answer: that name is kept in the cell's metadata by the
  tools (``metadata.neuroai.references``), and the student version has it nowhere.

A "line" is compared with its spaces removed, so that re-spacing does not hide it; lines
shorter than ``MIN_CHARS`` characters (``x = 0``, ``return v``) say nothing about the answer
and are left out.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

from neuroai_course.authoring import (
    HIDDEN_BEGIN,
    SOLUTION_BEGIN,
    SOLUTION_END,
    grade_meta,
    references,
)
from neuroai_course.notebooks import read_source

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {p.stem: p for p in sorted(ROOT.glob("solutions/*/*.ipynb"))}
MIN_CHARS = 14
_SPACE = re.compile(r"\s+")
# An arithmetic operator in prose: +, - or = between spaces, or *, /, @ anywhere.
_OPERATOR = re.compile(r"\s[-+=]\s|[*/@]")


def _flat(text: str) -> str:
    return _SPACE.sub("", text).replace("`", "")


def solution_lines(src: str) -> list[str]:
    """The solution's lines (between the solution markers), comments and short lines left out."""
    body = src.split(SOLUTION_BEGIN, 1)[1].split(SOLUTION_END, 1)[0]
    lines = [ln.split("#", 1)[0].strip() for ln in body.splitlines()]
    return [ln for ln in lines if len(_flat(ln)) >= MIN_CHARS]


def solution_expressions(src: str) -> list[str]:
    """The expressions the solution computes: return values and the right-hand sides of
    assignments, when they do arithmetic or call something."""
    body = src.split(SOLUTION_BEGIN, 1)[1].split(SOLUTION_END, 1)[0]
    try:
        tree = ast.parse(textwrap.dedent(body))
    except SyntaxError:  # a region inside a block that does not parse alone
        return []
    found = []
    for node in ast.walk(tree):
        value = getattr(node, "value", None) if isinstance(
            node, (ast.Return, ast.Assign, ast.AugAssign, ast.AnnAssign)) else None
        if value is None or not any(isinstance(n, (ast.BinOp, ast.Call))
                                    for n in ast.walk(value)):
            continue
        text = _flat(ast.unparse(value))
        if len(text) >= MIN_CHARS - 4:
            found.append(ast.unparse(value))
    return found


def _docstrings(src: str) -> list[str]:
    try:
        tree = ast.parse(src.replace(SOLUTION_BEGIN, "").replace(SOLUTION_END, ""))
    except SyntaxError:
        return []
    return [ast.get_docstring(n) or "" for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def _hints(test_src: str) -> list[str]:
    """The texts passed as ``hint=`` in a test cell (string literals, f-strings' literal parts)."""
    try:
        tree = ast.parse(test_src)
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "hint":
            out.append("".join(n.value for n in ast.walk(node.value)
                               if isinstance(n, ast.Constant) and isinstance(n.value, str)))
    return out


def exercises(tid: str):
    """``(grade_id, exercise source, [test sources], [hint texts], [test cells])`` per exercise."""
    nb = read_source(SOURCES[tid])
    found = []
    for cell in nb.cells:
        meta = grade_meta(cell)
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            found.append([meta["grade_id"], cell.source, [], [], []])
        elif not found:
            continue
        elif cell.cell_type == "code" and meta.get("grade"):
            found[-1][2].append(cell.source)
            found[-1][3] += _hints(cell.source)
            found[-1][4].append(cell)
        elif cell.cell_type == "markdown" and "hint" in cell.source.lower() \
                and not meta.get("grade"):
            found[-1][3].append(cell.source)
    return found


@pytest.mark.parametrize("tid", sorted(SOURCES))
def test_no_hint_gives_a_line_of_the_answer(tid):
    problems = []
    for gid, src, _tests, hints, _cells in exercises(tid):
        for line in solution_lines(src):
            for hint in hints:
                if _flat(line) in _flat(hint):
                    problems.append(f"{gid}: a hint contains the solution line {line!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("tid", sorted(SOURCES))
def test_no_docstring_gives_the_formula(tid):
    problems = []
    for gid, src, _tests, _hints, _cells in exercises(tid):
        docs = [_flat(d) for d in _docstrings(src)]
        for piece in solution_lines(src) + solution_expressions(src):
            if any(_flat(piece) in d for d in docs):
                problems.append(f"{gid}: a docstring contains {piece!r}")
        for doc in _docstrings(src):
            for line in doc.splitlines():
                if len(_OPERATOR.findall(line.replace("``", ""))) >= 2:
                    problems.append(f"{gid}: a docstring line reads as a formula: "
                                    f"{line.strip()!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("tid", sorted(SOURCES))
def test_visible_tests_do_not_name_the_reference(tid):
    problems = []
    for gid, _src, _tests, _hints, cells in exercises(tid):
        for cell in cells:
            refs = references(cell)
            visible = cell.source.split(HIDDEN_BEGIN, 1)[0]
            if re.search(r"^\s*#\s*reference\s*:", cell.source, re.MULTILINE):
                problems.append(f"{gid}: the test's source still has a '# reference:' line")
            for ref in refs:
                name = ref.rpartition(".")[2]
                if re.search(rf"\.{re.escape(name)}\b", visible) or ref in visible:
                    problems.append(f"{gid}: the visible test names the reference {ref}")
    assert not problems, "\n".join(problems)


_QUESTION_HEADING = re.compile(r"^#+\s*(\d+\.\s*)?(Reflect|Think|Discuss)",
                               re.IGNORECASE | re.MULTILINE)


@pytest.mark.parametrize("tid", sorted(SOURCES))
def test_every_written_question_has_a_model_answer(tid):
    """A reflection (a heading "Reflect", "Think" or "Discuss") is followed by a model answer
    before the next section, and a written answer graded by hand holds its model answer (the
    student version replaces it by the answer box)."""
    from neuroai_course import rules

    nb = read_source(SOURCES[tid])
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        if grade_meta(cell).get("grade"):
            body = cell.source.split("\n", 1)[1] if "\n" in cell.source else ""
            if len(body.strip()) < 40:
                problems.append(f"cell {i + 1}: a graded written answer without a model answer")
        elif _QUESTION_HEADING.search(cell.source):
            following = []
            for nxt in nb.cells[i + 1:]:
                if nxt.cell_type == "markdown" and nxt.source.lstrip().startswith("#"):
                    break
                following.append(nxt)
            if not any(rules.is_model_answer(c) or grade_meta(c).get("grade")
                       for c in following):
                problems.append(f"cell {i + 1}: a question without a model answer after it")
    assert not problems, "\n".join(problems)
