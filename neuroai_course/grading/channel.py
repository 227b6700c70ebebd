"""The narrow channel between the grader and a student's sandboxed kernel (grader side,
unprivileged).

The grader runs every test cell in its own process. There, each function the student was
asked to write is a :class:`RemoteFunction`: calling it sends the arguments to the kernel
inline, in the code it executes (:mod:`.kernel_agent`), runs the student's function there,
and receives the result as **data only**: ``None``, booleans, numbers, strings, numpy arrays
(plain ``.npy`` bytes, never a zip or a pickle), torch tensors (sent as arrays, rebuilt as
tensors), and tuples, lists and dicts of these, at most :data:`MAX_DEPTH` deep. Array
arguments the function changed in place come back and are written into the caller's
arrays, so a test can check that its inputs were left alone. Nothing the kernel sends is
unpickled or executed, and what the kernel prints reaches neither the score nor the
feedback.

Bounds: no message from the kernel larger than ``Limits.message_mb`` is received (the
sockets drop it); each execution has a CPU limit and a wall limit; the whole test phase has
a deadline on wall time and on this process's CPU (:class:`Deadline`); a kernel that does
not stop after an interrupt is given up.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import queue
import sys
import time
import types

import cloudpickle
import numpy as np

from neuroai_course.grading.kernel_agent import AGENT, EXPRESSION, MIME, REFERENCE_ERROR

MAX_DEPTH = 32
#: Text kept from one stream or error output, and the images kept from one output.
TEXT_CHARS = 20_000
IMAGE_BYTES = 2 << 20
__all__ = ["AGENT", "Channel", "Deadline", "KernelGone", "OverLimit", "RemoteFunction"]


class KernelGone(Exception):
    """The kernel died or stopped answering: no further call can be graded."""


class OverLimit(Exception):
    """The hand-in ran past a bound of the test phase (its wall time or the grader's CPU)."""


class StudentError(Exception):
    """The student's function raised (or returned what cannot be sent back)."""

    def __init__(self, name: str, kind: str, message: str) -> None:
        super().__init__(f"{name} raised {kind}: {message}")
        self.name, self.kind, self.message = name, kind, message


#: Built-in errors a test may expect from a student's function (``pytest.raises(ValueError)``,
#: ``except KeyError``): raised here as that type too. Only the name crosses the channel.
EXPECTABLE = (ValueError, TypeError, KeyError, IndexError, LookupError, ZeroDivisionError,
              ArithmeticError, OverflowError, NotImplementedError, RuntimeError,
              AttributeError, AssertionError)
_KINDS: dict[str, type] = {}


def student_error(name: str, kind: str, message: str) -> StudentError:
    """A :class:`StudentError` that is also the built-in error it was in the kernel."""
    base = next((e for e in EXPECTABLE if e.__name__ == kind), None)
    if base is None:
        return StudentError(name, kind, message)
    if kind not in _KINDS:
        _KINDS[kind] = type(f"Student{kind}", (StudentError, base), {})
    return _KINDS[kind](name, kind, message)


class ReferenceUsed(Exception):
    """The student's function called the course's reference implementation."""


def clean_text(value, limit: int = TEXT_CHARS) -> str:
    """Text from the kernel made safe to store and write anywhere: valid UTF-8 (a lone
    surrogate becomes '?'), no NUL, at most ``limit`` characters."""
    text = str(value)[:limit]
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "?")


def _student_ref(name: str):
    """Stands for the student's own function when the grader passes it as an argument."""
    raise RuntimeError("only meaningful inside the student's kernel")


# Pickled by reference as ``__neuroai_remote__.student``: the agent defines that module in
# the kernel, where it returns the student's function of that name.
_student_ref.__module__, _student_ref.__qualname__ = "__neuroai_remote__", "student"
sys.modules.setdefault("__neuroai_remote__", types.ModuleType("__neuroai_remote__"))
sys.modules["__neuroai_remote__"].student = _student_ref


def read_npy(raw: bytes) -> np.ndarray:
    """A plain ``.npy`` array (no zip archive, no pickled objects)."""
    if not raw.startswith(b"\x93NUMPY"):
        raise ValueError("an array must come as plain .npy bytes")
    return np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)


def decode(value, depth: int = 0):
    """Rebuild a result from the kernel's JSON: data only, never code."""
    if depth > MAX_DEPTH:
        raise ValueError("the result is nested too deeply")
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return clean_text(value, len(value))
    if isinstance(value, list):
        return [decode(v, depth + 1) for v in value]
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("malformed result")
    (kind, body), = value.items()
    if kind == "__float__" and body in ("nan", "inf", "-inf"):
        return float(body)
    if kind in ("__nd__", "__tensor__") and isinstance(body, str):
        arr = read_npy(base64.b64decode(body, validate=True))
        if kind == "__tensor__":
            import torch

            return torch.from_numpy(np.array(arr))
        return arr
    if kind == "__tuple__" and isinstance(body, list):
        return tuple(decode(v, depth + 1) for v in body)
    if kind == "__dict__" and isinstance(body, list):
        out = {}
        for item in body:
            if not (isinstance(item, list) and len(item) == 2
                    and isinstance(item[0], (str, int)) and not isinstance(item[0], bool)):
                raise ValueError("malformed dict in the result")
            out[item[0]] = decode(item[1], depth + 1)
        return out
    raise ValueError(f"unknown value kind {clean_text(kind, 40)!r} in the result")


def write_back(target, value) -> None:
    """Copy ``value`` (what the student's function left in an argument) into ``target``,
    the caller's own array or tensor, when the shapes agree."""
    if isinstance(target, np.ndarray) and isinstance(value, np.ndarray):
        if target.shape == value.shape and target.flags.writeable:
            target[...] = value
    elif type(target).__module__.startswith("torch") and hasattr(target, "copy_"):
        import torch

        new = torch.as_tensor(np.asarray(value))
        if tuple(new.shape) == tuple(target.shape):
            with torch.no_grad():
                target.copy_(new.to(target.dtype))


def keep_output(out: dict, room: list[int]) -> dict | None:
    """What the report keeps of one output: text (cut) and PNG/JPEG images, within the
    hand-in's remaining output bytes ``room[0]``; None when nothing is kept."""
    if out["output_type"] == "stream":
        text = clean_text(out.get("text", ""))
        kept = {"output_type": "stream", "name": clean_text(out.get("name", "stdout"), 10),
                "text": text}
        size = len(text)
    elif out["output_type"] == "error":
        kept = {"output_type": "error", "ename": clean_text(out.get("ename", ""), 200),
                "evalue": clean_text(out.get("evalue", ""), 2000), "traceback": []}
        size = len(kept["evalue"])
    else:
        data = out.get("data", {}) if isinstance(out.get("data"), dict) else {}
        keep = {}
        if isinstance(data.get("text/plain"), str):
            keep["text/plain"] = clean_text(data["text/plain"])
        for mime in ("image/png", "image/jpeg"):
            if isinstance(data.get(mime), str) and len(data[mime]) <= IMAGE_BYTES:
                keep[mime] = data[mime]
        if not keep:
            return None
        kept = {"output_type": out["output_type"], "data": keep, "metadata": {}}
        if out["output_type"] == "execute_result":
            kept["execution_count"] = None
        size = sum(len(v) for v in keep.values())
    if size > room[0]:
        return None
    room[0] -= size
    return kept


class Deadline:
    """The test phase's bounds: wall seconds from now, and CPU seconds of this process."""

    def __init__(self, wall_s: float, cpu_s: float) -> None:
        self.wall_end = time.monotonic() + wall_s
        self.cpu_end = time.process_time() + cpu_s
        self.wall_s, self.cpu_s = wall_s, cpu_s

    def left(self) -> float:
        """Wall seconds left; raises :class:`OverLimit` when a bound is passed."""
        if time.process_time() > self.cpu_end:
            raise OverLimit(f"the tests used over {self.cpu_s:g} s of the grader's CPU")
        left = self.wall_end - time.monotonic()
        if left <= 0:
            raise OverLimit(f"the tests ran over {self.wall_s:g} s")
        return left


class Channel:
    """Calls into one kernel (a started ``jupyter_client`` blocking client)."""

    def __init__(self, client, timeout_s: float, cpu_seconds=None, interrupt=None,
                 output_bytes: int = 8 << 20) -> None:
        """``timeout_s`` bounds each execution in CPU seconds of the kernel's processes
        when ``cpu_seconds`` (a callable giving their total so far) is known, else in wall
        seconds; a busy machine then does not time a student out. A call that sleeps
        instead of computing is stopped at four times the limit plus a minute of wall time
        (a machine loaded tenfold still runs an honest cell in that), and never past the
        :attr:`deadline` of the test phase. ``interrupt``: a callable that
        interrupts the kernel (default: an interrupt request on the control channel)."""
        self.client, self.timeout_s = client, timeout_s
        self.cpu_seconds = cpu_seconds
        self.interrupt_kernel = interrupt or self._interrupt_message
        self.calls = 0
        self.alive = True
        self.deadline: Deadline | None = None
        self.room = [output_bytes]  # output bytes the report may still keep
        self.dropped = False  # an output was left out (over the cap)
        self.timed_out: list[str] = []  # the student's functions whose calls ran over
        self.reply: dict | None = None  # the last execution's reply (shell channel)

    def _interrupt_message(self) -> None:
        msg = self.client.session.msg("interrupt_request", content={})
        self.client.control_channel.send(msg)

    def execute(self, code: str, timeout_s: float | None = None, silent: bool = False,
                expressions: dict | None = None) -> tuple[list, str | None]:
        """Run ``code`` in the kernel; return its outputs (nbformat dicts, bounded) and an
        error line or None; the execution's reply (``expressions``' values among it) is
        kept in :attr:`reply`. Raises :class:`KernelGone` on a dead or unresponsive kernel,
        ``TimeoutError`` when the code runs past ``timeout_s`` (the kernel is interrupted
        first) and :class:`OverLimit` past the test phase's deadline."""
        if not self.alive:
            raise KernelGone("the kernel is no longer running")
        timeout = self.timeout_s if timeout_s is None else timeout_s
        cpu0 = self.cpu_seconds() if self.cpu_seconds else None
        wall = 4 * timeout + 60 if cpu0 is not None else timeout
        if self.deadline is not None:
            wall = min(wall, self.deadline.left())
        msg_id = self.client.execute(code, silent=silent, store_history=False,
                                     allow_stdin=False, user_expressions=expressions or {})
        self.reply = None
        outputs, error = [], None
        end = time.monotonic() + wall
        next_cpu_check = time.monotonic() + 0.5
        replied = None  # when the shell channel said the execution finished
        while True:
            now = time.monotonic()
            over = None
            if now >= end:
                over = f"ran over the {wall:g} s wall-clock limit"
            elif cpu0 is not None and now >= next_cpu_check:
                next_cpu_check = now + 0.5
                if self.cpu_seconds() - cpu0 > timeout:
                    over = f"used over {timeout:g} s of CPU time"
            if over:
                self._stop(msg_id)
                if self.deadline is not None:
                    self.deadline.left()  # OverLimit when the phase's time is what ran out
                raise TimeoutError(over)
            try:
                msg = self.client.get_iopub_msg(timeout=min(end - now, 0.5))
            except queue.Empty:
                if not self.client.is_alive():
                    self.alive = False
                    raise KernelGone("the kernel died") from None
                replied = replied or self._replied(msg_id)
                if replied and time.monotonic() - replied > 2.0:
                    # finished, but its "idle" was lost with a message over the size cap
                    # (the socket drops it, and what follows while it reconnects)
                    self.dropped = True
                    return outputs, error
                continue
            except ValueError:  # a badly signed message (e.g. from a forked child): dropped
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["header"]["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                if self.reply is None:  # it comes with the idle, on the other channel
                    self._replied(msg_id, wait=min(10.0, max(end - time.monotonic(), 0.1)))
                return outputs, error
            if kind == "stream":
                out = {"output_type": "stream", "name": content.get("name", "stdout"),
                       "text": content.get("text", "")}
            elif kind in ("display_data", "execute_result"):
                out = {"output_type": kind, "data": content.get("data", {})}
            elif kind == "error":
                error = clean_text(f"{content.get('ename', 'Error')}: "
                                   f"{content.get('evalue', '')}", 500)
                out = {"output_type": "error", "ename": content.get("ename", ""),
                       "evalue": content.get("evalue", "")}
            else:
                continue
            kept = keep_output(out, self.room)
            if kept is None:
                self.dropped = True
            else:
                outputs.append(kept)

    def _replied(self, msg_id: str, wait: float = 0.0) -> float | None:
        """The time the execution ``msg_id``'s reply is seen on the shell channel (kept in
        :attr:`reply`), or None; waits up to ``wait`` seconds for it."""
        end = time.monotonic() + wait
        while True:
            try:
                msg = self.client.get_shell_msg(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                return None
            except ValueError:
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id and \
                    msg["header"]["msg_type"] == "execute_reply":
                self.reply = msg.get("content", {})
                return time.monotonic()

    def _stop(self, msg_id: str) -> None:
        """Interrupt the running execution and wait briefly for the kernel to be idle; a
        kernel that ignores the interrupt is given up (later calls fail at once)."""
        self.interrupt_kernel()
        end = time.monotonic() + 20.0
        while time.monotonic() < end:
            try:
                msg = self.client.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            except ValueError:
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id and \
                    msg["header"]["msg_type"] == "status" and \
                    msg["content"].get("execution_state") == "idle":
                return
        self.alive = False

    def call(self, name: str, args: tuple, kwargs: dict, mode: str = "call"):
        """Call the student's ``name`` in the kernel; return its result (data only)."""
        self.calls += 1
        # cloudpickle: a helper the test cell defines (a callback) goes by value; the kernel
        # reads it with the cloudpickle of its environment.
        blob = base64.b64encode(cloudpickle.dumps((args, kwargs),
                                                  protocol=pickle.HIGHEST_PROTOCOL)).decode()
        try:
            self.execute(f"__neuroai_agent__.call({name!r}, {blob!r}, {mode!r})",
                         silent=True, expressions={"r": EXPRESSION})
        except TimeoutError as err:
            self.timed_out.append(name)
            raise StudentError(name, "TimeoutError", str(err)) from None
        found = (self.reply or {}).get("user_expressions", {}).get("r", {})
        payload = found.get("data", {}).get(MIME) if isinstance(found, dict) else None
        if not isinstance(payload, str):
            raise StudentError(name, "GradingError",
                               "no valid answer came back from the notebook's kernel")
        try:
            reply = json.loads(payload)
            if not isinstance(reply, dict):
                raise ValueError("not an object")
            error = reply.get("error")
            if error is None:
                value = decode(reply["value"])
                changed = [(k, decode(v)) for k, v in reply.get("changed", [])
                           if isinstance(k, (int, str)) and not isinstance(k, bool)]
                for key, new in changed:
                    target = (args[key] if isinstance(key, int) and 0 <= key < len(args)
                              else kwargs.get(key) if isinstance(key, str) else None)
                    if target is not None:
                        write_back(target, new)
                return value
            kind = clean_text(error.get("type", "Error"), 80)
            message = clean_text(error.get("message", ""), 500)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
            raise StudentError(name, "GradingError",
                               f"unreadable answer: {clean_text(err, 200)}") from None
        if kind == REFERENCE_ERROR:
            raise ReferenceUsed(name)
        raise student_error(name, kind, message)


class RemoteFunction:
    """A student's function, as the grader's test code sees it."""

    def __init__(self, channel: Channel, name: str) -> None:
        self.channel, self.__name__ = channel, name
        self.__neuroai_remote__ = self

    def __call__(self, *args, **kwargs):
        return self.channel.call(self.__name__, args, kwargs)

    def call_and_backward(self, model, *args):
        return self.channel.call(self.__name__, (model, *args), {}, mode="backward")

    def __reduce__(self):  # passed to another of the student's functions: theirs, by name
        return (_student_ref, (self.__name__,))

    def __repr__(self) -> str:
        return f"<the student's {self.__name__}>"
