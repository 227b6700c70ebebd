"""A generated cohort of M1T1 hand-ins: messy, broken and hostile, with expected grades.

Each case is ``(file name in the cohort, notebook bytes, expected total or None, expected
status)``. Expected totals come from the tutorial's points (euler_step 2, simulate_euler
3, fi_rate 2 = 7) and from which exercises each variant answers correctly.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "M1_Neurons" / "M1T1_LIF.ipynb"
STUDENT = ROOT / "tutorials" / "M1_Neurons" / "M1T1_LIF.ipynb"
POINTS = {"test_euler_step": 2, "test_simulate_euler": 3, "test_fi_rate": 2}
FULL = sum(POINTS.values())


@dataclass
class Case:
    name: str
    data: bytes
    total: float | None  # None: no grade expected
    status: str
    honest: bool = True


def _read(path: Path):
    return nbformat.read(path, 4)


def _gid(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def _dump(nb) -> bytes:
    return (nbformat.writes(nb) + "\n").encode()


def solved(*exercises: str):
    """The student version with the named exercises answered from the source."""
    nb, src = _read(STUDENT), _read(SOURCE)
    answers = {_gid(c): c.source for c in src.cells if _gid(c)}
    for cell in nb.cells:
        if _gid(cell) in exercises:
            cell.source = answers[_gid(cell)]
    return nb


ALL = ("euler_step", "simulate_euler", "fi_rate")


def insert_code(nb, index: int, source: str):
    nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    return nb


def first_code_index(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code") + 1


def cases(course_root: Path, out_dir: Path) -> list[Case]:
    """The cohort. ``course_root`` and ``out_dir`` are what hostile code tries to touch."""
    out: list[Case] = []

    def add(name, nb_or_bytes, total, status="graded", honest=True):
        data = nb_or_bytes if isinstance(nb_or_bytes, bytes) else _dump(nb_or_bytes)
        out.append(Case(name, data, total, status, honest))

    # --- honest, messy -------------------------------------------------------------------
    add("ana/M1T1_LIF.ipynb", solved(*ALL), FULL)
    add("ben/M1T1_LIF.ipynb", _read(STUDENT), 0)
    add("cleo/M1T1_LIF.ipynb", solved("euler_step"), 2)
    nb = solved(*ALL)
    for c in nb.cells:
        c.metadata = {}
    add("dan/Copy of M1T1_LIF.ipynb", nb, FULL, "graded")  # an editor stripped the metadata
    nb = solved(*ALL)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade"):
            c.metadata["nbgrader"].update(points=100, locked=False)  # rewritten by an editor
    add("eli/M1T1_LIF.ipynb", nb, FULL)
    nb = solved(*ALL)
    i = next(i for i, c in enumerate(nb.cells) if _gid(c) == "euler_step")
    dup = copy.deepcopy(nb.cells[i])
    dup.id = "euler-step-copy"
    nb.cells.insert(i, dup)  # duplicated solution cell, same grade id
    add("fay/M1T1_LIF.ipynb", nb, FULL)
    nb = solved(*ALL)
    nb.cells = [c for c in nb.cells if _gid(c) != "test_euler_step"]  # deleted a test cell
    add("gus/M1T1_LIF.ipynb", nb, FULL)
    nb = solved(*ALL)
    i = next(i for i, c in enumerate(nb.cells) if _gid(c) == "test_fi_rate")
    test = nb.cells.pop(i)
    nb.cells.insert(2, test)  # a test cell moved before its exercise
    add("hal/M1T1_LIF.ipynb", nb, FULL)
    nb = solved(*ALL)
    nb.cells.append(nbformat.v4.new_markdown_cell("My notes"))
    insert_code(nb, first_code_index(nb) + 1, "def helper(x):\n    return 2 * x\n")
    add("ivy/M1T1_LIF.ipynb", nb, FULL)  # cells added
    nb = solved("simulate_euler", "fi_rate")
    for c in nb.cells:
        if _gid(c) == "euler_step":
            c.source = c.source.replace("raise NotImplementedError()", "return v_mV")
        if _gid(c) == "test_euler_step":
            c.source = "pass  # the student emptied the test"
    # Wrong answer, test emptied: the test is restored and fails; simulate_euler calls the
    # student's euler_step, so it fails too: only fi_rate's 2 points remain.
    add("jon/M1T1_LIF.ipynb", nb, 2)
    nb = solved(*ALL)
    nb.cells = [c for c in nb.cells if _gid(c) != "fi_rate"]  # deleted an exercise
    add("kim/M1T1_LIF.ipynb", nb, FULL - 2)
    v3 = nbformat.writes(nbformat.convert(solved(*ALL), 3), version=3)
    add("lea/M1T1_LIF.ipynb", v3.encode(), FULL)  # nbformat 3
    add("max/M1T1_LIF.ipynb", _read(STUDENT), None, "duplicate superseded")
    add("max/M1T1_LIF (1).ipynb", solved(*ALL), FULL)  # Colab's renamed later download
    add("nia_1_M1T1_LIF.ipynb", solved("euler_step"), None, "duplicate superseded")
    add("nia_2_M1T1_LIF.ipynb", solved(*ALL), FULL)  # LMS attempts
    nb = solved(*ALL)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 20_000_000)]
    add("oli/M1T1_LIF.ipynb", nb, FULL)  # a huge output cell
    # --- not notebooks or not this course ---------------------------------------------
    add("pat/M1T1_LIF.ipynb", b'{"cells": [', None, "not a notebook")
    add("quin/M1T1_LIF.ipynb", b"", None, "not a notebook")
    add("ray/M1T1_LIF.py", b"def euler_step(v, i, p):\n    return v\n", None, "not a notebook")
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# My diary"),
                                            nbformat.v4.new_code_cell("print('hi')")])
    add("sam/M1T1_LIF.ipynb", other, None, "unknown tutorial")
    # --- hostile ---------------------------------------------------------------------------
    def hostile(name, code, total, status="graded", exercises=ALL):
        nb = solved(*exercises)
        insert_code(nb, first_code_index(nb) + 1, code)
        add(name, nb, total, status, honest=False)

    hostile("h-loop/M1T1_LIF.ipynb", "while True:\n    pass\n", FULL, "timed out")
    # The memory bomb hits the cap with MemoryError, which frees its memory: the cell
    # fails and the rest of the notebook is graded.
    hostile("h-memory/M1T1_LIF.ipynb",
            "def bomb():\n    hog = []\n    while True:\n"
            "        hog.append(bytearray(200 * 1024 * 1024))\n\nbomb()\n", FULL)
    hostile("h-fork/M1T1_LIF.ipynb",
            "import os, time\nkids = 0\nfor _ in range(5000):\n    try:\n"
            "        pid = os.fork()\n    except OSError:\n        break\n"
            "    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n    kids += 1\n"
            "print('forked', kids)\n", 0, "crashed")  # stopped at the process cap; flagged
    hostile("h-exit/M1T1_LIF.ipynb", "import sys\nsys.exit(3)\n", FULL)
    hostile("h-osexit/M1T1_LIF.ipynb", "import os\nos._exit(1)\n", 0, "crashed")
    # The kernel is PID 1 of its namespace: its own SIGKILL is ignored and grading goes on.
    hostile("h-kill/M1T1_LIF.ipynb", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
            FULL)
    target = course_root / "HACKED"
    hostile("h-files/M1T1_LIF.ipynb",
            "import os, shutil\n"
            f"for path in ({str(target)!r}, {str(course_root / 'tutorials' / 'x.txt')!r}):\n"
            "    try:\n        open(path, 'w').write('pwned')\n    except OSError:\n        pass\n"
            f"shutil.rmtree({str(course_root / 'solutions')!r}, ignore_errors=True)\n"
            f"shutil.rmtree({str(out_dir)!r}, ignore_errors=True)\n", FULL)
    # Reads the hidden tests or the gradebook; its euler_step only works if that succeeded.
    steal = ("import glob, os\nSTOLEN = ''\n"
             f"for path in glob.glob({str(course_root / 'solutions')!r} + '/*/*.ipynb') + "
             f"glob.glob({str(out_dir)!r} + '/*.db') + glob.glob('/tmp/neuroai-grade-*/**/*.db',"
             " recursive=True):\n    try:\n        STOLEN += open(path, errors='ignore').read()\n"
             "    except OSError:\n        pass\n")
    nb = solved("simulate_euler", "fi_rate")
    insert_code(nb, first_code_index(nb) + 1, steal)
    for c in nb.cells:
        if _gid(c) == "euler_step":
            c.source = c.source.replace(
                "raise NotImplementedError()",
                "assert 'BEGIN HIDDEN TESTS' in STOLEN, 'nothing stolen'\n"
                "    return v_mV + params.dt_ms / params.tau_m_ms * "
                "(params.e_leak_mV - v_mV + params.r_m_MOhm * i_nA)")
    # Nothing can be read, so euler_step (and simulate_euler, which calls it) fail: 2 points.
    add("h-steal/M1T1_LIF.ipynb", nb, 2, "graded", honest=False)
    # Wrong answers plus monkeypatching of numpy and neuroai_core so the checks pass.
    patch = ("import numpy, neuroai_core.checks, neuroai_core.neurons\n"
             "numpy.isclose = lambda a, b, **k: numpy.ones(numpy.broadcast(a, b).shape, bool)\n"
             "numpy.allclose = lambda *a, **k: True\n"
             "neuroai_core.checks.check_close = lambda *a, **k: None\n"
             "neuroai_core.neurons.lif_rate = lambda p, i: numpy.zeros(numpy.shape(i))\n")
    nb = solved("simulate_euler")
    insert_code(nb, first_code_index(nb) + 1, patch)
    for c in nb.cells:
        if _gid(c) in ("euler_step", "fi_rate"):
            c.source = c.source.replace("raise NotImplementedError()",
                                        "return numpy.zeros(numpy.shape(v_mV if 'v_mV' in "
                                        "dir() else i_nA))")
    # simulate_euler is right but calls the wrong euler_step: nothing passes once restored.
    add("h-patch/M1T1_LIF.ipynb", nb, 0, "tampering found", honest=False)
    return out


def write_cohort(cases_: list[Case], folder: Path, late: set[str] = frozenset()) -> None:
    """Write the cases into ``folder``; names in ``late`` get a 2030 modification time."""
    for case in cases_:
        path = folder / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.data)
        stamp = 1_900_000_000 if case.name in late else 1_700_000_000
        stamp += sum(map(ord, case.name)) % 1000  # distinct, deterministic times
        os.utime(path, (stamp, stamp))


def load_csv(path: Path) -> list[dict]:
    import csv

    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


__all__ = ["Case", "cases", "write_cohort", "load_csv", "FULL", "POINTS", "json"]
