"""A generated cohort of M1T1 and M2T2 hand-ins: messy, broken and hostile, with expected grades.

Each case is ``(file name in the cohort, notebook bytes, expected total or None, expected
status)``. Expected totals come from the tutorials' points (M1T1: euler_step 2,
simulate_euler 3, fi_rate 2 = 7; M2T2: my_td_errors 2, my_td_trial 2, expected_responses
1 = 5) and from which exercises each variant answers correctly: a hostile hand-in's trick
earns nothing, so its total is that of its honest answers.
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
#: M1T1's written answer (its reflection, "<!-- answer: 2 points -->"), graded by hand: a
#: hand-in's maximum is FULL + M1_WRITTEN, and an answer left as it came scores 0.
M1_WRITTEN = 2
M2_SOURCE = ROOT / "solutions" / "M2_Learning" / "M2T2_Dopamine.ipynb"
M2_STUDENT = ROOT / "tutorials" / "M2_Learning" / "M2T2_Dopamine.ipynb"
M2_POINTS = {"test_my_td_errors": 2, "test_my_td_trial": 2, "test_expected_responses": 1}
M2_FULL = sum(M2_POINTS.values())
M2_ALL = ("my_td_errors", "my_td_trial", "expected_responses")


@dataclass
class Case:
    name: str
    data: bytes
    total: float | None  # None: no grade expected
    status: str
    honest: bool = True
    folder_bytes: bytes | None = None  # the student folder's name as raw bytes (not UTF-8)


def _read(path: Path):
    return nbformat.read(path, 4)


def _gid(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def _dump(nb) -> bytes:
    return (nbformat.writes(nb) + "\n").encode()


def solved(*exercises: str, tutorial: str = "M1T1"):
    """The student version with the named exercises answered from the source."""
    student, source = (STUDENT, SOURCE) if tutorial == "M1T1" else (M2_STUDENT, M2_SOURCE)
    nb, src = _read(student), _read(source)
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


def cases(course_root: Path, out_dir: Path, sentinel: Path | None = None) -> list[Case]:
    """The cohort. ``course_root``, ``out_dir`` and ``sentinel`` (a root-owned file outside
    both, default ``/etc/neuroai-sentinel``) are what hostile code tries to touch."""
    out: list[Case] = []
    sentinel = sentinel or Path("/etc/neuroai-sentinel")

    def add(name, nb_or_bytes, total, status="graded", honest=True, folder_bytes=None):
        data = nb_or_bytes if isinstance(nb_or_bytes, bytes) else _dump(nb_or_bytes)
        out.append(Case(name, data, total, status, honest, folder_bytes))

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
    # --- students lost in the past: names in any script, spreadsheet formulas --------------
    add("李雷/M1T1_LIF.ipynb", solved(*ALL), FULL)
    add("韩梅梅/M1T1_LIF.ipynb", solved("euler_step"), 2)
    add("=HYPERLINK(1)/M1T1_LIF.ipynb", solved("euler_step"), 2)
    # --- a second tutorial ------------------------------------------------------------------
    add("ana/M2T2_Dopamine.ipynb", solved(*M2_ALL, tutorial="M2T2"), M2_FULL)
    add("ben/M2T2_Dopamine.ipynb", _read(M2_STUDENT), 0)

    # --- hostile ---------------------------------------------------------------------------
    def hostile(name, code, total, status="graded", exercises=ALL, tutorial="M1T1",
                answers=None):
        nb = solved(*exercises, tutorial=tutorial)
        insert_code(nb, first_code_index(nb) + 1, code)
        for gid, body in (answers or {}).items():
            for c in nb.cells:
                if _gid(c) == gid:
                    c.source = c.source.replace("raise NotImplementedError()", body)
        add(name, nb, total, status, honest=False)

    hostile("h-loop/M1T1_LIF.ipynb", "while True:\n    pass\n", FULL, "timed out")
    # The memory bomb hits the address-space cap with MemoryError, which frees its memory:
    # the cell fails and the rest of the notebook is graded.
    hostile("h-memory/M1T1_LIF.ipynb",
            "def bomb():\n    hog = []\n    while True:\n"
            "        hog.append(bytearray(200 * 1024 * 1024))\n\nbomb()\n", FULL)
    # Stopped at the process cap of its own cgroup; the children die with the sandbox.
    hostile("h-fork/M1T1_LIF.ipynb",
            "import os, time\nkids = 0\nfor _ in range(5000):\n    try:\n"
            "        pid = os.fork()\n    except OSError:\n        break\n"
            "    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n    kids += 1\n"
            "print('forked', kids)\n", FULL)
    hostile("h-exit/M1T1_LIF.ipynb", "import sys\nsys.exit(3)\n", FULL)
    hostile("h-osexit/M1T1_LIF.ipynb", "import os\nos._exit(1)\n", 0, "crashed")
    hostile("h-kill/M1T1_LIF.ipynb", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
            0, "crashed")
    target = course_root / "HACKED"
    hostile("h-files/M1T1_LIF.ipynb",
            "import os, shutil\n"
            f"for path in ({str(target)!r}, {str(course_root / 'tutorials' / 'x.txt')!r}):\n"
            "    try:\n        open(path, 'w').write('pwned')\n    except OSError:\n        pass\n"
            f"shutil.rmtree({str(course_root / 'solutions')!r}, ignore_errors=True)\n"
            f"shutil.rmtree({str(out_dir)!r}, ignore_errors=True)\n", FULL)
    # Each of these answers euler_step (2 points) only if its trick worked; simulate_euler
    # calls euler_step, so it fails with it. The other exercises are answered honestly
    # (fi_rate: 2 points), so each expects 2.
    works_if = ("assert FOUND, 'nothing found'\n"
                "    return v_mV + params.dt_ms / params.tau_m_ms * "
                "(params.e_leak_mV - v_mV + params.r_m_MOhm * i_nA)")
    partial = {"euler_step": works_if}
    # Reads the hidden tests, the gradebook, the course's git history or a classmate's
    # hand-in, walking every folder it can see.
    steal = ("import glob, os, zlib\nFOUND = False\n"
             "def look(path):\n    global FOUND\n    try:\n"
             "        data = open(path, 'rb').read(5_000_000)\n    except OSError:\n"
             "        return\n    try:\n        data = zlib.decompress(data)\n"
             "    except zlib.error:\n        pass\n"
             "    if b'dv_dt = (-(v_mV' in data:  # the course's solution of euler_step\n"
             "        FOUND = True\n"
             f"roots = [{str(course_root)!r}, {str(out_dir)!r}, '/tmp', '/var', '/home', "
             "'/root', '/srv', '/work', os.path.expanduser('~')]\n"
             "for root in roots:\n    for folder, _, files in os.walk(root):\n"
             "        for f in files:\n            if not FOUND:\n"
             "                look(os.path.join(folder, f))\n")
    hostile("h-steal/M1T1_LIF.ipynb", steal, 2, exercises=("fi_rate",), answers=partial)
    # Wrong answers plus tampering with the checks in the kernel: monkeypatching, rebinding
    # __code__, an IPython input transformer and an AST transformer that rewrite the test
    # cells, a wrapper whose code claims the library's file name. None of it reaches the
    # grader, which runs the tests in its own process: 0.
    tamper = (
        "import ast, numpy, neuroai_core.checks, neuroai_core.neurons\n"
        "numpy.isclose = lambda a, b, **k: numpy.ones(numpy.broadcast(a, b).shape, bool)\n"
        "numpy.allclose = lambda *a, **k: True\n"
        "neuroai_core.checks.check_close.__code__ = (lambda *a, **k: None).__code__\n"
        "fake = compile('def check_equal(*a, **k):\\n    return None\\n', "
        "neuroai_core.checks.__file__, 'exec')\nexec(fake, vars(neuroai_core.checks))\n"
        "ip = get_ipython()\n"
        "ip.input_transformers_post.append(lambda lines: ['pass\\n'] if any("
        "'check_close' in l for l in lines) else lines)\n"
        "class Gut(ast.NodeTransformer):\n"
        "    def visit_Assert(self, node):\n        return ast.Pass()\n"
        "ip.ast_transformers.append(Gut())\n")
    wrong = {"euler_step": "return v_mV", "fi_rate": "return 0 * i_nA"}
    hostile("h-tamper/M1T1_LIF.ipynb", tamper, 0, exercises=("simulate_euler",),
            answers=wrong)
    # A test cell edited to print a value first (nbgrader's rule: an execute_result first
    # scores full points), and a cell that prints the kernel's input history.
    nb = solved("simulate_euler")
    for c in nb.cells:
        if _gid(c).startswith("test_"):
            c.source = "42\n" + c.source
    insert_code(nb, len(nb.cells), "print(In)\n")
    add("h-result/M1T1_LIF.ipynb", nb, 0, honest=False)  # simulate_euler needs euler_step
    # An answer whose result reads the expected value out of the checker's stack frame.
    frame = {"fi_rate": (
        "import inspect\n    class Sly:\n        def __array__(self, *a, **k):\n"
        "            for f in inspect.stack():\n                if 'want' in f.frame.f_locals:\n"
        "                    return f.frame.f_locals['want']\n            return numpy.zeros(1)\n"
        "    import numpy\n    return Sly()")}
    hostile("h-frame/M1T1_LIF.ipynb", "", FULL - 2, exercises=("euler_step", "simulate_euler"),
            answers=frame)
    # Answers that only call the course's reference implementation of the exercise.
    delegate = {"fi_rate": "from neuroai_core.neurons import lif_rate\n"
                           "    return lif_rate(params, i_nA)"}
    hostile("h-delegate/M1T1_LIF.ipynb", "", FULL - 2, "reference used",
            exercises=("euler_step", "simulate_euler"), answers=delegate)
    delegate2 = {"my_td_errors": "from neuroai_core.neuromodulation import td\n"
                                 "    return td.td_errors(values, rewards, gamma)"}
    # my_td_trial calls the student's my_td_errors, so it fails with it: expected_responses'
    # 1 point remains.
    hostile("h-delegate/M2T2_Dopamine.ipynb", "", M2_POINTS["test_expected_responses"],
            "reference used", exercises=M2_ALL[1:], tutorial="M2T2", answers=delegate2)
    # Attacks on the grading machine and on the other hand-ins graded beside it: lowering
    # the process cap of every cgroup it can reach, raising its own, rewriting the kernel's
    # core pattern, filling /dev/shm, reaching the host's listeners. It answers honestly.
    machine = (
        "import glob, os, socket\nblocked = []\n"
        "for path in glob.glob('/sys/fs/cgroup/**/pids.max', recursive=True):\n"
        "    for value in ('1', 'max'):\n        try:\n"
        "            open(path, 'w').write(value)\n        except OSError:\n"
        "            blocked.append(path)\n"
        "try:\n    open('/proc/sys/kernel/core_pattern', 'w').write('|/tmp/x')\n"
        "except OSError:\n    blocked.append('core_pattern')\n"
        "try:\n    open('/dev/shm/left-behind', 'wb').write(b'x' * 1000)\n"
        "except OSError:\n    blocked.append('shm')\n"
        "for port in (22, 5432, 8888):\n    s = socket.socket()\n    s.settimeout(0.5)\n"
        "    try:\n        s.connect(('127.0.0.1', port))\n"
        "        print('reached', port)\n    except OSError:\n        pass\n"
        "    finally:\n        s.close()\n")
    hostile("h-machine/M1T1_LIF.ipynb", machine, FULL)
    grader_side(add, hostile, sentinel)
    return out


def grader_side(add, hostile, sentinel: Path) -> None:
    """Attacks on the grader's own side: the root process that prepares each hand-in, the
    grader process that talks to the kernel, and the run as a whole."""
    # Links to a root-owned file outside the grading folders, and a named pipe, planted where
    # the grader once wrote each call's arguments as root (call-N.pkl in the kernel's own
    # folder): root must write nothing through them, and nothing may block.
    plant = ("import os\n"
             "for n in range(1, 400):\n    try:\n"
             f"        os.symlink({str(sentinel)!r}, f'call-{{n}}.pkl')\n"
             "    except OSError:\n        pass\n"
             "for n in (400, 401):\n    try:\n        os.mkfifo(f'call-{n}.pkl')\n"
             "    except OSError:\n        pass\n")
    hostile("g-links/M1T1_LIF.ipynb", plant, FULL)
    # Eight display messages of 100 MB from one cell: over the message cap, dropped at the
    # socket; the grader's memory stays bounded.
    flood = ("from IPython.display import display\nfor _ in range(8):\n"
             "    display({'text/plain': 'x' * 100_000_000}, raw=True)\n")
    hostile("g-flood/M1T1_LIF.ipynb", flood, FULL)
    # A forged reply whose array is a zip archive (decoded lazily by np.load): refused.
    forge = {"fi_rate": "import base64, io, json, zipfile\n"
                        "    real = json.dumps\n"
                        "    def forged(payload, *a, **k):\n"
                        "        json.dumps = real\n"
                        "        buf = io.BytesIO()\n"
                        "        with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:\n"
                        "            z.writestr('a.npy', b'\\x93NUMPY' + bytes(50_000_000))\n"
                        "        return real({'value': {'__nd__': "
                        "base64.b64encode(buf.getvalue()).decode()}})\n"
                        "    json.dumps = forged\n"
                        "    return i_nA"}
    hostile("g-npz/M1T1_LIF.ipynb", "", FULL - 2, exercises=("euler_step", "simulate_euler"),
            answers=forge)
    # A call that sleeps and ignores interrupts: stopped, the kernel given up, the run goes on.
    sleepy = {"fi_rate": "import signal, time\n"
                         "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                         "    time.sleep(100_000)"}
    hostile("g-sleep/M1T1_LIF.ipynb", "", FULL - 2, "timed out",
            exercises=("euler_step", "simulate_euler"), answers=sleepy)
    # A nested user namespace (full capabilities inside it) would answer euler_step.
    userns = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
              "FOUND = libc.unshare(0x10000000) == 0  # CLONE_NEWUSER\n")
    works_if = ("assert FOUND, 'nothing found'\n"
                "    return v_mV + params.dt_ms / params.tau_m_ms * "
                "(params.e_leak_mV - v_mV + params.r_m_MOhm * i_nA)")
    hostile("g-userns/M1T1_LIF.ipynb", userns, 2, exercises=("fi_rate",),
            answers={"euler_step": works_if})
    # Right on the visible tests' inputs only (the default parameters, and the time step of
    # 1 ms of simulate_euler's visible test; fi_rate on its 6 currents), and an error that
    # echoes the hidden test's inputs: the feedback must show neither the hidden expected
    # values nor those inputs.
    peek = ("_real_fi_rate = fi_rate\n\n"
            "def fi_rate(i_nA, params):\n    if len(i_nA) != 6:\n"
            "        raise ValueError(f'SECRET-INPUT {list(i_nA)}')\n"
            "    return _real_fi_rate(i_nA, params)\n\n"
            "def euler_step(v_mV, i_nA, params):\n"
            "    dt = params.dt_ms if params.dt_ms in (0.1, 1.0) else 0.1\n"
            "    return v_mV + dt / 10.0 * (-65.0 - v_mV + 10.0 * i_nA)\n")
    nb = solved(*ALL)
    insert_code(nb, len(nb.cells), peek)
    add("g-peek/M1T1_LIF.ipynb", nb, 0, honest=False)
    # Run-enders: a lone surrogate in an error and in printed text, a display 700 levels
    # deep, a student folder whose name is Latin-1 (as a Windows tool unpacks a zip).
    surrogate = ("def fi_rate(i_nA, params):\n    raise ValueError('bad \\ud800 value')\n\n"
                 "print('\\udcff')\n")
    nb = solved(*ALL)
    insert_code(nb, len(nb.cells), surrogate)
    add("g-surrogate/M1T1_LIF.ipynb", nb, FULL - 2, honest=False)
    deep = ("from IPython.display import display\ntree = leaf = {}\nfor _ in range(700):\n"
            "    leaf['a'] = {}\n    leaf = leaf['a']\n"
            "display({'application/json': tree, 'text/plain': 'tree'}, raw=True)\n")
    hostile("g-deep/M1T1_LIF.ipynb", deep, FULL)
    add("José/M1T1_LIF.ipynb", solved(*ALL), FULL, folder_bytes=b"Jos\xe9")
    # Answers that call another library function computing the same thing (the compiled
    # LIF kernel), not the one the test names: delegation all the same.
    compiled = {"euler_step": "from neuroai_core.neurons import simulate_lif_counts\n"
                              "    simulate_lif_counts(params, [2.0], params.dt_ms)\n"
                              "    return v_mV + params.dt_ms / params.tau_m_ms * "
                              "(params.e_leak_mV - v_mV + params.r_m_MOhm * i_nA)"}
    hostile("g-compiled/M1T1_LIF.ipynb", "", 2, "reference used",
            exercises=("simulate_euler", "fi_rate"), answers=compiled)
    # A BOM before the JSON (some Windows editors write one): read as any notebook.
    add("bom/M1T1_LIF.ipynb", b"\xef\xbb\xbf" + _dump(solved(*ALL)), FULL)
    # Two students with the same answer, not the reference's: flagged for a person to judge.
    same = {"euler_step": "return v_mV + params.dt_ms / params.tau_m_ms * "
                          "(params.e_leak_mV - v_mV + params.r_m_MOhm * i_nA)"}
    hostile("twin-a/M1T1_LIF.ipynb", "", 2, exercises=(), answers=same)
    hostile("twin-b/M1T1_LIF.ipynb", "", 2, exercises=(), answers=same)
    # M2T2: a trial that updates its input in place (the "input unchanged" check must see
    # it), and one that returns () for the hidden test's parameters (lengths compared).
    in_place = ("deltas = my_td_errors(values, rewards, params.gamma)\n"
                "    for s in range(params.cue_step, len(values) - 1):\n"
                "        values[s] += params.alpha * deltas[s + 1]\n"
                "    return deltas, values")
    hostile("g-inplace/M2T2_Dopamine.ipynb", "", 3, tutorial="M2T2",
            exercises=("my_td_errors", "expected_responses"), answers={"my_td_trial": in_place})
    empty = ("if params.n_steps == 15:\n        return ()\n"
             "    deltas = my_td_errors(values, rewards, params.gamma)\n"
             "    new_values = np.array(values, dtype=float)\n"
             "    for s in range(params.cue_step, len(new_values) - 1):\n"
             "        new_values[s] += params.alpha * deltas[s + 1]\n"
             "    return deltas, new_values")
    hostile("g-empty/M2T2_Dopamine.ipynb", "", 3, tutorial="M2T2",
            exercises=("my_td_errors", "expected_responses"), answers={"my_td_trial": empty})


def write_cohort(cases_: list[Case], folder: Path, late: set[str] = frozenset()) -> None:
    """Write the cases into ``folder``; names in ``late`` get a 2030 modification time."""
    for case in cases_:
        path = folder / case.name
        if case.folder_bytes is not None:
            path = Path(os.fsdecode(os.fsencode(folder) + b"/" + case.folder_bytes)) / \
                case.name.split("/", 1)[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.data)
        stamp = 1_900_000_000 if case.name in late else 1_700_000_000
        stamp += sum(map(ord, case.name)) % 1000  # distinct, deterministic times
        os.utime(path, (stamp, stamp))


def load_csv(path: Path) -> list[dict]:
    import csv

    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


__all__ = ["Case", "cases", "write_cohort", "load_csv", "FULL", "M1_WRITTEN", "POINTS", "json"]
