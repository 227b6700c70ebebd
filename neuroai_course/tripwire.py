"""A copy of ``neuroai_core`` for the sandbox, without the references of the exercises.

Each test cell names the library function its exercise re-implements (a line
``# reference: neuroai_core.neurons.lif.lif_rate`` that the tools keep in the cell's metadata:
:func:`neuroai_course.authoring.references`). While a tutorial is graded, the
sandboxed kernel imports ``neuroai_core`` from a copy in which those functions raise
``NeuroaiReferenceUnavailable`` instead of computing anything: the copy holds no other
version of them (sources only, no bytecode caches), so an answer that calls the reference,
under any name, gets an error instead of the expected value, and the grader scores that
exercise 0 with the reason "calls the course's reference implementation".
"""

from __future__ import annotations

import ast
import compileall
import hashlib
import shutil
from pathlib import Path

ERROR_CLASS = "NeuroaiReferenceUnavailable"


class TripwireError(ValueError):
    """A ``# reference:`` line names something that is not in ``neuroai_core``."""


def _split(ref: str, package_root: Path) -> tuple[Path, list[str]]:
    """``neuroai_core.a.b.f`` -> (the file of ``neuroai_core.a.b``, ``["f"]``); the longest
    module prefix that exists wins, the rest is the path inside it (``Class.method``)."""
    parts = ref.split(".")
    if parts[0] != package_root.name:
        raise TripwireError(f"reference {ref!r} is not in {package_root.name}")
    for cut in range(len(parts) - 1, 0, -1):
        rel = Path(*parts[1:cut])
        for candidate in (package_root / rel.with_suffix(".py") if cut > 1 else None,
                          package_root / rel / "__init__.py"):
            if candidate is not None and candidate.is_file():
                return candidate, parts[cut:]
    raise TripwireError(f"reference {ref!r}: no such module in {package_root.name}")


def _tripwire_body(name: str) -> list[ast.stmt]:
    code = (f"raise {ERROR_CLASS}('the course reference implementation of {name} is not "
            "available while your answer is graded')")
    return ast.parse(code).body


def _replace(tree: ast.Module, path: list[str], ref: str) -> None:
    body, node = tree.body, None
    for depth, name in enumerate(path):
        node = next((n for n in body if isinstance(
            n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name), None)
        if node is None:
            raise TripwireError(f"reference {ref!r}: {'.'.join(path[:depth + 1])} is not "
                                "defined there")
        body = node.body
    if isinstance(node, ast.ClassDef):  # every method of the class
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                item.body = _tripwire_body(f"{ref}.{item.name}")
                item.args = ast.arguments(posonlyargs=[], args=[], vararg=ast.arg("args"),
                                          kwonlyargs=[], kw_defaults=[],
                                          kwarg=ast.arg("kwargs"), defaults=[])
    else:
        node.body = _tripwire_body(ref)
        # Any call trips the wire, whatever arguments it passes.
        node.args = ast.arguments(posonlyargs=[], args=[], vararg=ast.arg("args"),
                                  kwonlyargs=[], kw_defaults=[], kwarg=ast.arg("kwargs"),
                                  defaults=[])


def stage(package_dir: Path, refs: list[str], dest: Path, mount_point: str | None = None) -> Path:
    """Copy the package at ``package_dir`` (sources only) to ``dest/<name>`` with every
    reference in ``refs`` replaced by a tripwire, and compile it (``mount_point``: where the
    kernel finds it, for the file names in tracebacks); return the copy's folder."""
    package_dir = Path(package_dir)
    out = Path(dest) / package_dir.name
    shutil.copytree(package_dir, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    by_file: dict[Path, list[tuple[list[str], str]]] = {}
    for ref in refs:
        file, inner = _split(ref, package_dir)
        by_file.setdefault(file, []).append((inner, ref))
    for file, items in by_file.items():
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for inner, ref in items:
            _replace(tree, inner, ref)
        error = ast.parse(f"class {ERROR_CLASS}(RuntimeError):\n    pass").body
        tree.body = error + tree.body
        # The future import (if any) must stay first.
        futures = [n for n in tree.body if isinstance(n, ast.ImportFrom)
                   and n.module == "__future__"]
        tree.body = futures + [n for n in tree.body if n not in futures]
        target = out / file.relative_to(package_dir)
        target.write_text(ast.unparse(ast.fix_missing_locations(tree)) + "\n",
                          encoding="utf-8")
    # Bytecode made once here, not by every kernel that imports the copy (the sandbox's file
    # system is read-only, and compiling the package took each kernel about a second); the
    # names in tracebacks are the ones the kernel sees.
    compileall.compile_dir(out, ddir=f"{mount_point}/{package_dir.name}" if mount_point else None,
                           quiet=1, workers=1)
    for path in [out, *out.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return out


def digest(refs: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(refs)).encode()).hexdigest()[:12]
