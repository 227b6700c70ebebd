"""The grader process: the unprivileged side, which talks to the student's kernel.

The privileged side (:mod:`.privileged`) starts one per grading process::

    python -m neuroai_course.grading.unprivileged UID GID HOME REQUEST_FD REPLY_FD PATHS...

At its start, while still root, it makes the Python installation and the course's
packages (``PATHS``) reachable to its user in a mount namespace of its own (an environment
under ``/root`` would otherwise be closed to it), then drops to ``UID``/``GID`` for good (no
groups, no capabilities, no new privileges) and imports what grading needs once. Then it
serves requests: one length-prefixed JSON frame in (a hand-in's job, the kernel's
connection and its launcher's pid), one frame out (the result, plain data). It runs the
notebook's cells in the kernel, then every test cell in its own process, calling the
student's functions through :mod:`.channel`. It never reads a file the kernel can write.

Feedback: a failing visible test says what it says (the student sees the same test in the
notebook); a failing hidden test names the check that failed (its label, or the message
its author wrote as a literal), never its expected value or its inputs, and an error the
student's function raised in a hidden test is named by its type only.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import select
import struct
import sys
import time
import traceback

from neuroai_course.grading import channel as ch
from neuroai_course.grading.bytecode import top_level_imports
from neuroai_course.grading.limits import Limits
from neuroai_course.kernels import ONE_THREAD

DELEGATION = "calls the course's reference implementation"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
#: Largest frame either side reads (a job: cells and tests; a result: capped outputs).
MAX_FRAME = 256 << 20


# --- frames --------------------------------------------------------------------------------


def write_frame(fd: int, payload: dict) -> None:
    data = json.dumps(payload, ensure_ascii=True, allow_nan=True).encode()
    view = memoryview(struct.pack(">Q", len(data)) + data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_exactly(fd: int, n: int, deadline: float | None = None) -> bytes:
    """``n`` bytes from ``fd``; with ``deadline`` (monotonic), ``TimeoutError`` past it."""
    chunks, left = [], n
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError("no frame before the deadline")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, limit: int = MAX_FRAME, deadline: float | None = None) -> dict:
    """One frame: a JSON object of at most ``limit`` bytes (read within ``deadline``)."""
    (size,) = struct.unpack(">Q", read_exactly(fd, 8, deadline))
    if size > limit:
        raise ValueError(f"a frame of {size} bytes, over the {limit} byte limit")
    value = json.loads(read_exactly(fd, size, deadline))
    if not isinstance(value, dict):
        raise ValueError("a frame must hold a JSON object")
    return value


# --- start: reach the environment, then drop root for good ----------------------------------


def _traversable(path: str, uid: int, gid: int) -> bool:
    st = os.stat(path)
    mode = st.st_mode
    if st.st_uid == uid:
        return bool(mode & 0o100)
    if st.st_gid == gid:
        return bool(mode & 0o010)
    return bool(mode & 0o001)


def _closed_ancestor(path: str, uid: int, gid: int) -> str | None:
    """The highest folder on the way to ``path`` that ``uid`` cannot enter, or None."""
    parts = os.path.realpath(path).split("/")[1:]
    for i in range(1, len(parts) + 1):
        folder = "/" + "/".join(parts[:i])
        if os.path.isdir(folder) and not _traversable(folder, uid, gid):
            return folder
    return None


def expose(paths: list[str], uid: int, gid: int) -> None:
    """As root, in a private mount namespace: make each of ``paths`` reachable to ``uid`` at
    its own path. A closed folder on the way (``/root``) is covered with an empty tmpfs in
    which only the paths below it are bound again, so nothing else of it becomes visible."""
    import tempfile

    from neuroai_course.grading.sandbox import MS_BIND, MS_REC, private_mount_namespace

    real = sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})
    real = [p for p in real if not any(p.startswith(q + "/") for q in real if q != p)]
    closed: dict[str, list[str]] = {}
    for p in real:
        top = _closed_ancestor(p, uid, gid)
        if top is not None:
            closed.setdefault(top, []).append(p)
    if not closed:
        return
    libc, call = private_mount_namespace(receive=True)
    stash = tempfile.mkdtemp(prefix="neuroai-expose-")
    try:
        for i, (top, below) in enumerate(sorted(closed.items())):
            hold = os.path.join(stash, str(i))
            os.mkdir(hold, 0o700)
            call(libc.mount(top.encode(), hold.encode(), None, MS_BIND | MS_REC, None),
                 f"cannot hold {top}")
            call(libc.mount(b"tmpfs", top.encode(), b"tmpfs", 0, b"mode=755"),
                 f"cannot cover {top}")
            for p in below:
                rel = os.path.relpath(p, top)
                target = os.path.join(top, rel)
                os.makedirs(target, mode=0o755, exist_ok=True)
                call(libc.mount(os.path.join(hold, rel).encode(), target.encode(), None,
                                MS_BIND | MS_REC, None), f"cannot bind {p}")
            call(libc.umount2(hold.encode(), 2), f"cannot release {hold}")  # MNT_DETACH
    finally:
        for entry in os.listdir(stash):
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(stash, entry))
        with contextlib.suppress(OSError):
            os.rmdir(stash)


def drop_privileges(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` with no supplementary groups, for good (real, effective and
    saved ids), and forbid new privileges (no set-uid program can give them back)."""
    import ctypes

    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "cannot set no_new_privs")
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("still root after dropping privileges")


def warm_up() -> None:
    """Import what every hand-in needs once per grader process (torch only when a test or
    a tensor needs it: one thread each, from the environment)."""
    os.environ.update(ONE_THREAD)
    import jupyter_client  # noqa: F401
    import numpy  # noqa: F401
    import psutil  # noqa: F401

    import neuroai_core  # noqa: F401
    import neuroai_core.checks  # noqa: F401


def serve(argv: list[str]) -> None:
    uid, gid, home, req_fd, rep_fd, *paths = argv
    uid, gid, req_fd, rep_fd = int(uid), int(gid), int(req_fd), int(rep_fd)
    if os.geteuid() == 0 and uid != 0:
        expose(paths, uid, gid)
        drop_privileges(uid, gid)
    os.environ.update({"HOME": home, "TMPDIR": home, "MPLCONFIGDIR": home,
                       "MPLBACKEND": "Agg"})
    os.chdir(home)
    warm_up()
    write_frame(rep_fd, {"ready": os.getpid(), "uid": os.getuid(), "cpu": time.process_time()})
    while True:
        try:
            request = read_frame(req_fd)
        except EOFError:
            return
        try:
            reply = grade(request)
        except Exception as err:  # never die on a hand-in: report
            detail = traceback.format_exception_only(type(err), err)[-1].strip()
            reply = {"error": f"grading failed: {ch.clean_text(detail, 300)}"}
        write_frame(rep_fd, reply)


# --- one hand-in ------------------------------------------------------------------------------


class PidKernelClient:
    """Made lazily (jupyter_client is imported by :func:`warm_up`): a blocking client whose
    kernel is alive while its launcher process is."""

    @staticmethod
    def make(connection: dict, pid: int, message_bytes: int):
        import psutil
        import zmq
        from jupyter_client.blocking import BlockingKernelClient

        class Client(BlockingKernelClient):
            def is_alive(self) -> bool:
                try:
                    return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                except psutil.Error:
                    return False

            async def _async_is_alive(self) -> bool:
                return self.is_alive()

        context = zmq.Context()
        context.setsockopt(zmq.MAXMSGSIZE, message_bytes)  # larger messages are dropped
        client = Client(context=context)
        client.load_connection_info(connection)
        return client


def kernel_cpu_seconds(pid: int):
    """A callable giving the CPU seconds used so far by the kernel started under process
    ``pid`` (the sandbox's launcher), its finished children included. ``None`` when the
    kernel cannot be found."""
    import psutil

    kernel = None
    for _ in range(50):  # the launcher may still be starting bubblewrap
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
            # the Python process (bubblewrap's command line names the launcher too)
            kernel = next((p for p in tree if p.name().startswith("python")
                           and "ipykernel_launcher" in " ".join(p.cmdline())), None)
        except psutil.Error:
            return None
        if kernel is not None:
            break
        time.sleep(0.1)
    if kernel is None:
        return None
    last = [0.0]

    def total() -> float:
        try:
            t = kernel.cpu_times()
        except psutil.Error:  # gone: its last figure stands (the death is seen elsewhere)
            return last[0]
        last[0] = t.user + t.system + t.children_user + t.children_system
        return last[0]

    return total


def _label(err: BaseException, source: str) -> str:
    """What a failed hidden check was about, without its values: the label a check of
    :mod:`neuroai_core.checks` was given, or the literal message of the cell's own assert."""
    tb = err.__traceback__
    label, line = None, None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename.endswith(os.path.join("neuroai_core", "checks.py")):
            name = frame.f_locals.get("name")
            if isinstance(name, str) and label is None:
                label = name
        elif frame.f_code.co_filename.startswith("<test "):
            line = tb.tb_lineno
        tb = tb.tb_next
    if label:
        shape = "shape" in str(err).split(":", 1)[-1].split(".")[0]
        what = "the shape differs" if shape else "the values differ"
        return f"{label}: {what} from the reference"
    if line is not None:
        try:
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Assert) and node.lineno == line:
                    if isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str):
                        return node.msg.value
        except SyntaxError:
            pass
        return f"the check on line {line} of the test"
    return "a check failed"


def run_test(channel: ch.Channel, test: dict, functions: list[str]) -> tuple[float, str, str]:
    """Run one test cell here; return (score, message, kind) with kind one of ok, fail,
    delegated, dead. Raises :class:`channel.OverLimit` past the test phase's deadline."""
    ns = {"__name__": "__neuroai_test__"}
    ns.update({f: ch.RemoteFunction(channel, f) for f in functions})
    out = io.StringIO()
    source = test["source"]
    for code, hidden in _parts(source):
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"<test {test['grade_id']}>", "exec"), ns)
        except ch.OverLimit:
            raise
        except ch.ReferenceUsed as err:
            return 0.0, f"{err.args[0]} {DELEGATION}: the exercise asks you to write it", \
                "delegated"
        except ch.KernelGone as err:
            return 0.0, f"no grade: {err}", "dead"
        except ch.StudentError as err:
            if hidden:
                return 0.0, f"hidden test: {err.name} raised {err.kind}", "fail"
            return 0.0, ch.clean_text(str(err), 600), "fail"
        except AssertionError as err:
            if hidden:
                return 0.0, f"hidden test failed: {_label(err, source)}", "fail"
            return 0.0, ch.clean_text(str(err) or "a check failed", 2000).strip(), "fail"
        except Exception as err:  # the student's value broke the test's own code
            if hidden:
                return 0.0, (f"hidden test failed: {type(err).__name__} on the value your "
                             "function returned"), "fail"
            return 0.0, ch.clean_text(f"{type(err).__name__}: {err}", 1000), "fail"
    return float(test["points"]), ch.clean_text(out.getvalue().strip(), 2000), "ok"


def _parts(source: str) -> list[tuple[str, bool]]:
    """The test cell as ``(code, hidden)`` parts in order; each part keeps the cell's line
    numbers (blank lines stand for the others)."""
    lines = source.splitlines()
    parts, start, hidden = [], 0, False
    for i, line in enumerate([*lines, None]):
        mark = line.strip() if line is not None else None
        if line is None or mark in (HIDDEN_BEGIN, HIDDEN_END):
            body = lines[start:i]
            if any(b.strip() for b in body):
                parts.append(("\n" * start + "\n".join(body), hidden))
            start = i + 1
            if mark is not None:
                hidden = mark == HIDDEN_BEGIN
    return parts


def run_tests(channel: ch.Channel, job: dict) -> dict:
    scores, messages, delegated, over = {}, {}, [], ""
    for test in job["tests"]:
        points = float(test["points"])
        if over:
            scores[test["grade_id"]] = [0.0, points]
            messages[test["grade_id"]] = f"not graded: {over}"
            continue
        try:
            score, message, kind = run_test(channel, test, job["functions"])
        except ch.OverLimit as err:
            over = str(err)
            score, message, kind = 0.0, f"not graded: {over}", "fail"
        scores[test["grade_id"]] = [score, points]
        messages[test["grade_id"]] = message[-2000:]
        if kind == "delegated":
            delegated.append(test["grade_id"])
    return {"scores": scores, "messages": messages, "delegated": delegated,
            **({"over_limit": over} if over else {})}


def grade(request: dict) -> dict:
    """Grade one hand-in in the kernel the privileged side started."""
    job = request["job"]
    limits = Limits(**job["limits"])
    result: dict = {"scores": {}, "messages": {}, "delegated": [], "timeouts": [],
                    "error": "", "phases": {}, "cells": []}
    start, cpu_start = time.perf_counter(), time.process_time()
    client = PidKernelClient.make(request["connection"], request["pid"],
                                  limits.message_mb << 20)
    client.start_channels(hb=False)
    try:
        try:
            client.wait_for_ready(timeout=120)
        except RuntimeError as err:
            raise ch.KernelGone(f"the kernel did not start ({err})") from None
        cpu = kernel_cpu_seconds(request["pid"])
        channel = ch.Channel(client, limits.cell_timeout_s, cpu,
                             output_bytes=limits.output_mb << 20)
        # where the CPU goes, by phase (kernel_*: the student's kernel, grader_*: this process)
        result["cpu"] = {"kernel_start": cpu() if cpu else 0.0,
                         "grader_start": time.process_time() - cpu_start}
        _run_cells(channel, job, limits, result, start)
        if channel.cpu_seconds is not None:
            result["cells_cpu_seconds"] = channel.cpu_seconds()
        result["seconds"] = time.perf_counter() - start
        channel.execute(ch.AGENT)
        phases = job.get("phases") or [["graded", ""]]
        for label, code in phases:
            if code:
                channel.execute(code)
            cpu0 = channel.cpu_seconds() if channel.cpu_seconds else 0.0
            here0 = time.process_time()
            channel.deadline = ch.Deadline(limits.tests_timeout_s, limits.tests_cpu_s)
            result["phases"][label] = run_tests(channel, job)
            channel.deadline = None
            # CPU of the tests: the kernel's (the student's functions), and this process's
            # (the tests' own code and the channel), kept apart
            kernel = (channel.cpu_seconds() - cpu0) if channel.cpu_seconds else 0.0
            result["phases"][label]["tests_cpu_seconds"] = kernel
            result["phases"][label]["grader_cpu_seconds"] = time.process_time() - here0
        done = result["phases"].values()
        result["cpu"].update(kernel_tests=sum(p["tests_cpu_seconds"] for p in done),
                             grader_tests=sum(p["grader_cpu_seconds"] for p in done))
        result.update(result["phases"][phases[0][0]])
        if channel.cpu_seconds is not None:  # the kernel's whole CPU: cells and every phase
            result["kernel_cpu_seconds"] = channel.cpu_seconds()
        if channel.dropped:
            result["outputs_dropped"] = True
        result["timeouts"] += [f"a call of {n}" for n in dict.fromkeys(channel.timed_out)]
    except ch.KernelGone as err:
        result["error"] = f"the kernel died ({err}): the memory cap, os._exit, or a crash"
    finally:
        client.stop_channels()
        client.context.destroy(linger=0)
    result["total_seconds"] = time.perf_counter() - start
    result["grader_cpu_seconds"] = time.process_time() - cpu_start
    return result


def _run_cells(channel: ch.Channel, job: dict, limits: Limits, result: dict,
               start: float) -> None:
    deadline = start + limits.submission_timeout_s
    cpu = result["cpu"]
    cpu.update(kernel_imports=0.0, kernel_cells=0.0)
    grader0 = time.process_time()
    for index, code in job["cells"]:
        kernel0 = channel.cpu_seconds() if channel.cpu_seconds else 0.0
        if time.perf_counter() > deadline:
            result["timeouts"].append(f"the whole notebook (over "
                                      f"{limits.submission_timeout_s} s)")
            break
        cell_start = time.perf_counter()
        left = max(1.0, deadline - time.perf_counter())
        try:
            outputs, _ = channel.execute(code, timeout_s=min(limits.cell_timeout_s, left)
                                         if channel.cpu_seconds is None
                                         else limits.cell_timeout_s)
        except TimeoutError:
            result["timeouts"].append(f"cell {index + 1}")
            outputs = [{"output_type": "error", "ename": "TimeoutError",
                        "evalue": f"over {limits.cell_timeout_s} s", "traceback": []}]
        result["cells"].append([index, outputs[:20], round(time.perf_counter() - cell_start, 2)])
        used = (channel.cpu_seconds() - kernel0) if channel.cpu_seconds else 0.0
        # a cell with an import at its top level counts as the notebook's imports (a line or two
        # of set-up beside them included)
        cpu["kernel_imports" if top_level_imports(code) else "kernel_cells"] += used
    cpu["grader_cells"] = time.process_time() - grader0




if __name__ == "__main__":
    serve(sys.argv[1:])
