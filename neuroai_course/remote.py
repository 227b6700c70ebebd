"""The narrow channel between the grader and a student's sandboxed kernel.

The grader runs every test cell in its own process. There, each function the student was
asked to write is a :class:`RemoteFunction`: calling it sends the arguments to the kernel
(a pickle written by the grader into the kernel's scratch folder: the grader's data, read by
the kernel), runs the student's function there, and receives the result as **data only**:
``None``, booleans, numbers, strings, numpy arrays (``.npy`` bytes read with
``allow_pickle=False``), torch tensors (sent as arrays, rebuilt as tensors), and tuples,
lists and dicts of these. Nothing the kernel sends is unpickled or executed, and what the
kernel prints reaches neither the score nor the feedback.
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
from pathlib import Path

import cloudpickle
import numpy as np

MIME = "application/x-neuroai-result+json"
MAX_BYTES = 64 << 20
MAX_DEPTH = 32
REFERENCE_ERROR = "NeuroaiReferenceUnavailable"

#: Runs once in the kernel after the notebook's cells: the kernel side of the channel.
AGENT = r'''
def __neuroai_agent_factory():
    import base64, io, json, pickle
    import numpy as np
    from IPython import get_ipython
    from IPython.display import display
    MIME = "__MIME__"

    def encode(value, depth=0):
        if depth > 32:
            raise TypeError("the result is nested too deeply")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and value != value:
                return {"__float__": "nan"}
            if isinstance(value, float) and value in (float("inf"), float("-inf")):
                return {"__float__": "inf" if value > 0 else "-inf"}
            return value
        if isinstance(value, np.generic):
            return encode(value.item(), depth + 1)
        kind = "__nd__"
        if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
            value, kind = value.detach().cpu().numpy(), "__tensor__"
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise TypeError("an array of Python objects cannot be sent back")
            buf = io.BytesIO()
            np.save(buf, value, allow_pickle=False)
            return {kind: base64.b64encode(buf.getvalue()).decode()}
        if isinstance(value, tuple):
            return {"__tuple__": [encode(v, depth + 1) for v in value]}
        if isinstance(value, list):
            return [encode(v, depth + 1) for v in value]
        if isinstance(value, dict):
            items = []
            for k, v in value.items():
                if not isinstance(k, (str, int)):
                    raise TypeError(f"a dict key of type {type(k).__name__} cannot be sent back")
                items.append([k, encode(v, depth + 1)])
            return {"__dict__": items}
        raise TypeError(f"a {type(value).__name__} cannot be sent back to the grader")

    def reply(payload):
        display({MIME: json.dumps(payload)}, raw=True)

    def call(name, args_file, mode):
        ns = get_ipython().user_ns
        try:
            with open(args_file, "rb") as f:
                args, kwargs = pickle.load(f)
            fn = ns.get(name)
            if not callable(fn):
                reply({"error": {"type": "NameError",
                                 "message": f"{name} is not defined in the notebook"}})
                return
            if mode == "backward":
                model = args[0]
                model.zero_grad(set_to_none=True)
                value = fn(*args, **kwargs)
                if not hasattr(value, "backward"):
                    raise TypeError(f"{name} returned {type(value).__name__}, not a torch "
                                    "tensor: keep the result a torch expression")
                if value.requires_grad:
                    value.backward()
                grads = {n: (None if p.grad is None else p.grad.detach().clone())
                         for n, p in model.named_parameters()}
                result = (float(value.detach()), grads)
            else:
                result = fn(*args, **kwargs)
            reply({"value": encode(result)})
        except BaseException as err:
            reply({"error": {"type": type(err).__name__, "message": str(err)[:500]}})

    def student(name):
        return get_ipython().user_ns[name]

    import sys, types
    module = types.ModuleType("__neuroai_remote__")
    module.student = student
    sys.modules["__neuroai_remote__"] = module
    return type("Agent", (), {"call": staticmethod(call)})

__neuroai_agent__ = __neuroai_agent_factory()
del __neuroai_agent_factory
'''.replace("__MIME__", MIME)


class KernelGone(Exception):
    """The kernel died or stopped answering: no further call can be graded."""


class StudentError(Exception):
    """The student's function raised (or returned what cannot be sent back)."""

    def __init__(self, name: str, kind: str, message: str) -> None:
        super().__init__(f"{name} raised {kind}: {message}")
        self.kind = kind


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


def _student_ref(name: str):
    """Stands for the student's own function when the grader passes it as an argument."""
    raise RuntimeError("only meaningful inside the student's kernel")


# Pickled by reference as ``__neuroai_remote__.student``: the agent defines that module in
# the kernel, where it returns the student's function of that name.
_student_ref.__module__, _student_ref.__qualname__ = "__neuroai_remote__", "student"
sys.modules.setdefault("__neuroai_remote__", types.ModuleType("__neuroai_remote__"))
sys.modules["__neuroai_remote__"].student = _student_ref


def decode(value, depth: int = 0):
    """Rebuild a result from the kernel's JSON: data only, never code."""
    if depth > MAX_DEPTH:
        raise ValueError("the result is nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v, depth + 1) for v in value]
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("malformed result")
    (kind, body), = value.items()
    if kind == "__float__" and body in ("nan", "inf", "-inf"):
        return float(body)
    if kind in ("__nd__", "__tensor__") and isinstance(body, str):
        arr = np.load(io.BytesIO(base64.b64decode(body)), allow_pickle=False)
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
                    and isinstance(item[0], (str, int))):
                raise ValueError("malformed dict in the result")
            out[item[0]] = decode(item[1], depth + 1)
        return out
    raise ValueError(f"unknown value kind {kind!r} in the result")


class Channel:
    """Calls into one kernel (a started ``jupyter_client`` blocking client)."""

    def __init__(self, client, scratch: Path, timeout_s: float, cpu_seconds=None) -> None:
        """``timeout_s`` bounds each execution in CPU seconds of the kernel's processes
        when ``cpu_seconds`` (a callable giving their total so far) is known, else in wall
        seconds; a busy machine then does not time a student out. A call that sleeps
        instead of computing is still stopped at four times the limit, plus a minute, of
        wall time."""
        self.client, self.scratch, self.timeout_s = client, Path(scratch), timeout_s
        self.cpu_seconds = cpu_seconds
        self.calls = 0
        self.alive = True

    def execute(self, code: str, timeout_s: float | None = None,
                silent: bool = False) -> tuple[list, str | None]:
        """Run ``code`` in the kernel; return its outputs (nbformat dicts) and an error
        line or None. Raises :class:`KernelGone` on a dead or unresponsive kernel and
        ``TimeoutError`` when the code runs past ``timeout_s``."""
        if not self.alive:
            raise KernelGone("the kernel is no longer running")
        timeout = self.timeout_s if timeout_s is None else timeout_s
        cpu0 = self.cpu_seconds() if self.cpu_seconds else None
        msg_id = self.client.execute(code, silent=silent, store_history=False,
                                     allow_stdin=False)
        outputs, error = [], None
        wall = 4 * timeout + 60 if cpu0 is not None else timeout
        deadline = time.monotonic() + wall
        next_cpu_check = time.monotonic() + 0.5
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"ran over the {wall:g} s wall-clock limit")
            if cpu0 is not None and time.monotonic() >= next_cpu_check:
                next_cpu_check = time.monotonic() + 0.5
                if self.cpu_seconds() - cpu0 > timeout:
                    raise TimeoutError(f"used over {timeout:g} s of CPU time")
            try:
                msg = self.client.get_iopub_msg(timeout=min(left, 1.0))
            except queue.Empty:
                if not self.client.is_alive():
                    self.alive = False
                    raise KernelGone("the kernel died") from None
                continue
            except ValueError:  # a badly signed message (e.g. from a forked child): dropped
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["header"]["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                return outputs, error
            if kind == "stream":
                outputs.append({"output_type": "stream", "name": content.get("name", "stdout"),
                                "text": str(content.get("text", ""))[:20000]})
            elif kind in ("display_data", "execute_result"):
                data = content.get("data", {})
                if kind == "display_data" and MIME in data:
                    outputs.append({"output_type": "neuroai", "payload": data[MIME]})
                else:
                    out = {"output_type": kind, "data": data, "metadata": {}}
                    if kind == "execute_result":
                        out["execution_count"] = None
                    outputs.append(out)
            elif kind == "error":
                error = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"[:500]
                outputs.append({"output_type": "error", "ename": content.get("ename", ""),
                                "evalue": str(content.get("evalue", ""))[:2000],
                                "traceback": []})

    def call(self, name: str, args: tuple, kwargs: dict, mode: str = "call"):
        self.calls += 1
        path = self.scratch / f"call-{self.calls}.pkl"
        # cloudpickle: a helper the test cell defines (a callback) goes by value; the kernel
        # reads it with the cloudpickle of its environment.
        path.write_bytes(cloudpickle.dumps((args, kwargs), protocol=pickle.HIGHEST_PROTOCOL))
        path.chmod(0o644)
        try:
            outputs, _ = self.execute(
                f"__neuroai_agent__.call({name!r}, {str(path)!r}, {mode!r})", silent=True)
        except TimeoutError as err:
            self.interrupt()
            raise StudentError(name, "TimeoutError", str(err)) from None
        finally:
            path.unlink(missing_ok=True)
        payloads = [o["payload"] for o in outputs if o["output_type"] == "neuroai"]
        if len(payloads) != 1 or not isinstance(payloads[0], str) \
                or len(payloads[0]) > MAX_BYTES:
            raise StudentError(name, "GradingError",
                               "no valid answer came back from the notebook's kernel")
        try:
            reply = json.loads(payloads[0])
            error = reply.get("error")
            if error is None:
                return decode(reply["value"])
            kind, message = str(error.get("type", "Error")), str(error.get("message", ""))
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise StudentError(name, "GradingError", f"unreadable answer: {err}") from None
        if kind == REFERENCE_ERROR:
            raise ReferenceUsed(name)
        raise student_error(name, kind, message)

    def interrupt(self) -> None:
        """Stop a call that ran over its time (the kernel manager's interrupt)."""
        self.on_interrupt()

    def on_interrupt(self) -> None:  # replaced by the grader with the manager's interrupt
        pass


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
