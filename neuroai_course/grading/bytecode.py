"""Bytecode for what a graded kernel imports, written before the first kernel starts.

The sandboxed kernel sees the environment's packages read-only and writes no bytecode, so
every module without a ``__pycache__`` entry is compiled again by every kernel: on an
environment installed without bytecode (``uv``'s default, ``pip --no-compile``) or used only
with ``PYTHONDONTWRITEBYTECODE=1`` set, that was a third of the modules a kernel imports and
a fifth of its CPU. Once per tutorial and environment, the grading machine (root, before
any hand-in runs) imports what the kernel will: ipykernel's kernel, matplotlib's
non-drawing backend and the tutorial's own top-level imports (its source's cells, not the
hand-in's), with bytecode writing on. A stamp in the environment (``sys.prefix``) records
that it was done for this set of imports and this state of the package folders.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

#: What every kernel does before the notebook's first cell, as the sandbox's kernel does it
#: (no debugger, figures not drawn: see :mod:`neuroai_course.grading.sandbox`): ipykernel's
#: application initialised (which imports more than its modules do: the shell's
#: extensions, completer, inspector, the event loop) on Unix sockets in a private temporary
#: folder, never started; then matplotlib with the agg backend.
KERNEL = (
    "import os, shutil, tempfile",
    "_tmp = tempfile.mkdtemp()",
    "os.environ['IPYTHONDIR'] = os.path.join(_tmp, 'ipython')",
    "from ipykernel.kernelapp import IPKernelApp",
    "IPKernelApp.instance().initialize(['--transport=ipc', '--ip=' + os.path.join(_tmp, 'k'), "
    "'-f', os.path.join(_tmp, 'kernel.json'), '--HistoryManager.enabled=False'])",
    # imported later, by the launcher's command line and by the first cell
    "import traitlets.config.argcomplete_config",
    "import IPython.core.logger",
    "import matplotlib.pyplot",
    "import matplotlib.backends.backend_agg",
)


def top_level_imports(source: str) -> list[str]:
    """The import statements at the top level of a cell's ``source`` ([] when it does not
    parse, e.g. a cell with IPython magics)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return []
    return [ast.unparse(n) for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]


def import_lines(nb) -> list[str]:
    """The top-level import statements of ``nb``'s code cells that are not tests."""
    lines = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.get("cell_type") == "code" and not meta.get("grade"):
            lines += top_level_imports(cell.source)
    return list(dict.fromkeys(lines))


def _state(paths: list[str]) -> str:
    """The package folders' modification times (a package installed or removed changes it)."""
    return ",".join(f"{p}:{os.stat(p).st_mtime_ns}" for p in paths if os.path.isdir(p))


def ensure(lines: list[str], site_packages: list[str], python: str = sys.executable,
           stamps: Path | None = None) -> bool:
    """Import :data:`KERNEL` and ``lines`` once in a fresh ``python`` with bytecode writing
    on, unless the stamp says it was done; True when it ran. A failing import is skipped
    (the kernel will report it); nothing here raises."""
    wanted = [*KERNEL, *lines]

    def digest() -> str:
        return hashlib.sha256("\n".join([python, sys.version, _state(site_packages),
                                         *sorted(wanted)]).encode()).hexdigest()[:24]

    stamps = Path(sys.prefix) / ".neuroai-bytecode" if stamps is None else stamps
    if (stamps / digest()).exists():
        return False
    try:
        stamps.mkdir(exist_ok=True)
        lock = os.open(stamps / ".lock", os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
    except OSError:
        lock = None  # an environment this user cannot write: no pass can write bytecode
    if lock is None:
        return False
    try:
        # One pass at a time: the client and each local worker prepare the same tutorial at
        # once; the others wait, then find the stamp (taken again: the pass changes the state).
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (stamps / digest()).exists():
            return False
        _run(wanted, python)
        (stamps / digest()).touch()
    except (OSError, subprocess.SubprocessError):
        pass  # no stamp: tried again next time; the kernels compile what they miss
    finally:
        os.close(lock)
    return True


def _run(wanted: list[str], python: str) -> None:
    script = "import sys\nsys.modules['debugpy'] = None\n" + "".join(
        f"try:\n    {line}\nexcept Exception:\n    pass\n" for line in wanted) + (
        "shutil.rmtree(_tmp, ignore_errors=True)\nos._exit(0)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["MPLBACKEND"] = "agg"
    subprocess.run([python, "-c", script], env=env, capture_output=True, timeout=900,
                   check=False)
