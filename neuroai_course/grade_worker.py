"""One hand-in graded: the student's cells in a sandboxed kernel, the tests in this process.

:func:`grade_handin` takes a job (plain data, so that a process pool or a Dask worker can
run it) and returns a result (plain data): the score and the grader's message for every
test cell, what ran over its time, and an error line when the kernel died. The caller
writes the gradebook, so parallel workers never contend for it. A worker process imports
numpy, torch, the library and Jupyter's client once (:func:`warm_up`) and grades many
hand-ins.

A job may have several phases (used by ``neuroai check``): after the notebook ran, each
phase first runs its code in the kernel (e.g. the stubs, or answers that only call the
reference) and then runs every test again.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import time
import traceback
from pathlib import Path

from neuroai_course import remote, sandbox

DELEGATION = "calls the course's reference implementation"


def warm_up() -> None:
    """Import what every hand-in needs once per worker process."""
    import jupyter_client  # noqa: F401
    import numpy  # noqa: F401
    import torch

    import neuroai_core  # noqa: F401

    torch.set_num_threads(1)


def _scratch(root: Path, name: str, limits: sandbox.Limits) -> tuple[Path, bool]:
    """The kernel's private folder: a size-limited tmpfs owned by the sandbox user (as
    root), a plain folder otherwise. Returns it and whether it is a mount."""
    path = root / name
    path.mkdir(mode=0o700, parents=True)
    if os.geteuid() != 0:
        return path, False
    uid = sandbox.SANDBOX_UID
    opts = f"size={limits.scratch_mb}m,mode=700,uid={uid},gid={uid},nosuid,nodev"
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                             capture_output=True).returncode == 0
    if not mounted:
        os.chown(path, uid, uid)
    return path, mounted


def _start(job: dict, scratch: Path, cgroups: list[str]):
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    limits = sandbox.Limits(**job["limits"])
    specs = Path(job["private"]) / "kernels"
    spec = sandbox.make_spec(scratch, limits, cgroups, [tuple(b) for b in job["binds"]],
                             unsandboxed=job.get("unsandboxed", False))
    sandbox.kernel_spec(specs / job["name"], spec)
    km = KernelManager(kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]),
                       kernel_name=job["name"], transport="ipc", ip=str(scratch / "ipc"),
                       connection_file=str(scratch / "connection.json"))
    log_path = Path(job["private"]) / f"{job['name']}.log"  # the launcher's own errors
    with open(log_path, "wb") as log:
        km.start_kernel(cwd=str(scratch), stdout=log, stderr=log)
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
    except RuntimeError as err:  # the kernel died: say why, as the launcher or bwrap did
        lines = log_path.read_text(errors="replace").strip().splitlines()
        raise RuntimeError(f"{err}: {lines[-1][:300]}" if lines else str(err)) from None
    return km, kc


def kernel_cpu_seconds(pid: int):
    """A callable giving the CPU seconds used so far by the kernel started under process
    ``pid`` (the sandbox's launcher), its finished children included. The kernel (the
    Python process running ipykernel) is found once; reading one process is cheap enough
    to do many times a second. ``None`` when it cannot be found."""
    import psutil

    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
        kernel = next(p for p in tree if p.name().startswith("python")
                      and "ipykernel_launcher" in " ".join(p.cmdline()))
    except (psutil.Error, StopIteration):
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


def _log_tail(job: dict) -> str:
    try:
        text = (Path(job["private"]) / f"{job['name']}.log").read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-5:])


def _run_test(channel: remote.Channel, test: dict, functions: list[str]) -> tuple[float, str, str]:
    """Run one test cell here; return (score, message, kind) with kind one of ok, fail,
    delegated, dead."""
    ns = {"__name__": "__neuroai_test__"}
    ns.update({f: remote.RemoteFunction(channel, f) for f in functions})
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(test["source"], f"<test {test['grade_id']}>", "exec"), ns)
    except remote.ReferenceUsed as err:
        return 0.0, f"{err.args[0]} {DELEGATION}: the exercise asks you to write it", "delegated"
    except remote.KernelGone as err:
        return 0.0, f"no grade: {err}", "dead"
    except remote.StudentError as err:
        return 0.0, str(err), "fail"
    except AssertionError as err:
        return 0.0, (str(err) or "a check failed").strip(), "fail"
    except Exception as err:  # the student's value broke the test's own code
        return 0.0, f"{type(err).__name__}: {err}"[:1000], "fail"
    return float(test["points"]), out.getvalue().strip(), "ok"


def _tests(channel, job: dict) -> dict:
    scores, messages, delegated = {}, {}, []
    for test in job["tests"]:
        score, message, kind = _run_test(channel, test, job["functions"])
        scores[test["grade_id"]] = [score, float(test["points"])]
        messages[test["grade_id"]] = message[-2000:]
        if kind == "delegated":
            delegated.append(test["grade_id"])
    return {"scores": scores, "messages": messages, "delegated": delegated}


def grade_handin(job: dict) -> dict:
    """Grade one hand-in described by ``job``; see the module's docstring."""
    limits = sandbox.Limits(**job["limits"])
    result: dict = {"scores": {}, "messages": {}, "delegated": [], "timeouts": [],
                    "error": "", "phases": {}, "cells": []}
    start, cpu_start = time.perf_counter(), time.process_time()
    scratch, mounted = _scratch(Path(job["scratch_root"]), job["name"], limits)
    cgroups = sandbox.make_cgroups(job["name"], limits) if os.geteuid() == 0 else []
    km = kc = None
    try:
        km, kc = _start(job, scratch, cgroups)
        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        channel = remote.Channel(kc, scratch, limits.cell_timeout_s,
                                 kernel_cpu_seconds(pid) if pid else None)
        channel.on_interrupt = km.interrupt_kernel
        deadline = start + limits.submission_timeout_s
        for index, code in job["cells"]:
            if time.perf_counter() > deadline:
                result["timeouts"].append(f"the whole notebook (over "
                                          f"{limits.submission_timeout_s} s)")
                break
            cell_start = time.perf_counter()
            try:
                outputs, _ = channel.execute(code)
            except TimeoutError:
                km.interrupt_kernel()
                result["timeouts"].append(f"cell {index + 1}")
                outputs = [{"output_type": "error", "ename": "TimeoutError",
                            "evalue": f"over {limits.cell_timeout_s} s", "traceback": []}]
            result["cells"].append([index, outputs[:20],
                                    round(time.perf_counter() - cell_start, 2)])
        if channel.cpu_seconds is not None:
            result["cells_cpu_seconds"] = channel.cpu_seconds()
        result["seconds"] = time.perf_counter() - start
        channel.execute(remote.AGENT)
        for label, code in job.get("phases", [["graded", ""]]):
            if code:
                channel.execute(code)
            cpu0 = channel.cpu_seconds() if channel.cpu_seconds else 0.0
            here0 = time.process_time()
            result["phases"][label] = _tests(channel, job)
            # CPU of the tests: the kernel's (the student's functions), and this process's
            # (the tests' own code and the channel), kept apart
            kernel = (channel.cpu_seconds() - cpu0) if channel.cpu_seconds else 0.0
            result["phases"][label]["tests_cpu_seconds"] = kernel
            result["phases"][label]["grader_cpu_seconds"] = time.process_time() - here0
        result.update(result["phases"][job.get("phases", [["graded", ""]])[0][0]])
        if channel.cpu_seconds is not None:  # the kernel's whole CPU: cells and every phase
            result["kernel_cpu_seconds"] = channel.cpu_seconds()
    except remote.KernelGone as err:
        result["error"] = f"the kernel died ({err}): the memory cap, os._exit, or a crash"
        result["log"] = _log_tail(job)
    except Exception as err:  # never raise into the pool: report
        detail = traceback.format_exception_only(type(err), err)[-1].strip()
        result["error"] = f"grading failed: {detail[:300]}"
        result["log"] = _log_tail(job)
    finally:
        if kc is not None:
            kc.stop_channels()
        if km is not None:
            with contextlib.suppress(Exception):
                km.shutdown_kernel(now=True)
        if cgroups and not sandbox.remove_cgroups(cgroups):
            result["leftover"] = "processes of this hand-in survived the kill"
        if mounted:
            subprocess.run(["umount", "-l", str(scratch)], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(Path(job["private"]) / "kernels" / job["name"], ignore_errors=True)
        Path(job["private"], f"{job['name']}.log").unlink(missing_ok=True)
    result["total_seconds"] = time.perf_counter() - start
    # this process's CPU for the hand-in: sandbox set-up, the channel, the tests' own code
    result["worker_cpu_seconds"] = time.process_time() - cpu_start
    return result
