"""The privileged side of grading one hand-in (root on a grading machine).

:func:`grade_handin` takes a job (plain data, from :meth:`~neuroai_course.staging.Stage.job`
made local by :meth:`~neuroai_course.staging.Stage.localize`) and returns a result (plain
data). As root it only prepares and cleans up:

1. the kernel's scratch folder: an empty folder root makes in a folder only root writes,
   with a size-limited tmpfs mounted on it, owned by the sandbox user (the grader's group
   may enter it, to reach the kernel's sockets); at the end the tmpfs is unmounted and the
   empty folder removed, so root never opens, follows or deletes anything the kernel wrote;
2. the kernel's cgroups (memory, processes, one CPU) and the grader process's (memory,
   processes); a limit that cannot be set stops grading with one line (fail closed);
3. the kernel's connection file, written into a folder only root writes and bound
   read-only into the sandbox;
4. the sandbox launcher (:mod:`.sandbox`), which becomes the sandboxed kernel.

Everything that talks to the kernel runs in the grader process (:mod:`.unprivileged`), one
per grading process, as a user of its own (``NEUROAI_GRADER_UID``, default 65533), under its
own memory cap. Root sends it the job and reads back one JSON frame, size-capped, within a
deadline: a grader that runs over it, or dies (its memory cap), is killed and restarted,
and that hand-in alone gets the status.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from neuroai_course.grading import sandbox
from neuroai_course.grading.limits import Limits
from neuroai_course.grading.sandbox import SANDBOX_UID, SandboxError
from neuroai_course.grading.unprivileged import read_frame, write_frame

GRADER_UID = int(os.environ.get("NEUROAI_GRADER_UID", "65533"))
CGROUP_CONTROLLERS = ("memory", "pids", "cpu")
MS_NOSUID, MS_NODEV, MNT_DETACH, UMOUNT_NOFOLLOW = 2, 4, 2, 8


class GraderLost(Exception):
    """The grader process ran over its deadline or died; the hand-in gets no grade."""

    def __init__(self, message: str, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


# --- cgroups ---------------------------------------------------------------------------------


def _cgroup_dirs(name: str) -> dict[str, Path]:
    """Where the cgroups of ``name`` live: one per controller (v1) or one folder (v2)."""
    base = Path("/sys/fs/cgroup")
    if (base / "cgroup.controllers").exists():  # v2: one hierarchy
        return {"v2": base / "neuroai" / name}
    return {c: base / c / "neuroai" / name for c in CGROUP_CONTROLLERS if (base / c).is_dir()}


def make_cgroups(name: str, mem_mb: int, nproc: int, one_cpu: bool) -> list[str]:
    """Create the cgroups of ``name`` with its limits; return their folders. Raises
    :class:`SandboxError` naming the limit that could not be set (nothing is left made)."""
    dirs = _cgroup_dirs(name)
    wanted = {"v2"} if "v2" in dirs else set(CGROUP_CONTROLLERS if one_cpu else ("memory", "pids"))
    missing = wanted - set(dirs)
    if missing:
        raise SandboxError(f"no {', '.join(sorted(missing))} cgroup under /sys/fs/cgroup: the "
                           "memory and process limits cannot be applied")
    made: list[str] = []
    mem = str(mem_mb << 20)
    settings = {
        "v2": {"memory.max": mem, "pids.max": str(nproc),
               **({"cpu.max": "100000 100000"} if one_cpu else {})},
        "memory": {"memory.limit_in_bytes": mem},
        "pids": {"pids.max": str(nproc)},
        "cpu": {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "100000"},
    }
    try:
        for ctrl, folder in dirs.items():
            if ctrl not in wanted:
                continue
            if ctrl == "v2":
                folder.parent.mkdir(exist_ok=True)
                (folder.parent / "cgroup.subtree_control").write_text(
                    " ".join(f"+{c}" for c in CGROUP_CONTROLLERS))
            folder.mkdir(parents=True, exist_ok=True)
            made.append(str(folder))
            for key, value in settings[ctrl].items():
                (folder / key).write_text(value)
            if ctrl == "v2" and (folder / "memory.swap.max").exists():
                (folder / "memory.swap.max").write_text("0")
    except OSError as err:
        remove_cgroups(made)
        raise SandboxError(f"cannot set the cgroup limits of {name} ({err.strerror or err}: "
                           f"{err.filename or ''})") from None
    return made


def remove_cgroups(folders: list[str]) -> bool:
    """Kill whatever still runs in the cgroups, remove them; True when all are gone."""
    gone = True
    for folder in folders:
        procs = Path(folder) / "cgroup.procs"
        for _ in range(100):
            try:
                pids = [int(x) for x in procs.read_text().split()]
            except OSError:
                break
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        try:
            os.rmdir(folder)
        except OSError:
            gone = gone and not Path(folder).exists()
    return gone


# --- the grader process ---------------------------------------------------------------------


def _exposed_paths() -> list[str]:
    """What the grader process must read: the interpreter, the environment, the packages."""
    import neuroai_core
    import neuroai_course

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)),
             str(Path(neuroai_core.__file__).parent), str(Path(neuroai_course.__file__).parent)}
    paths.update(p for p in sys.path if p and os.path.isabs(p) and os.path.exists(p))
    return sorted(paths)


def log_tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a log (its last 4000 bytes), '' when there is none."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4000))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


class GraderProcess:
    """One unprivileged grader process, started on first use and restarted after a loss."""

    def __init__(self, limits: Limits, sandboxed: bool, shared: Path, private: Path) -> None:
        self.limits, self.sandboxed = limits, sandboxed
        self.shared, self.private = shared, private
        self.proc: subprocess.Popen | None = None
        self.count = 0
        self.cgroups: list[str] = []
        self.home: Path | None = None
        self.startup_cpu = 0.0

    def _ids(self) -> tuple[int, int]:
        if self.sandboxed and os.geteuid() == 0:
            if GRADER_UID in (0, SANDBOX_UID):
                raise SandboxError(f"NEUROAI_GRADER_UID must be neither 0 nor the sandbox's "
                                   f"{SANDBOX_UID}, got {GRADER_UID}")
            return GRADER_UID, GRADER_UID
        return os.getuid(), os.getgid()

    def start(self) -> None:
        self.count += 1
        uid, gid = self._ids()
        tag = f"grader-{os.getpid()}-{self.count}"
        self.home = self.shared / tag
        self.home.mkdir(mode=0o700)
        if uid != os.getuid():
            os.chown(self.home, uid, gid)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        log = open(self.private / f"{tag}.log", "wb")  # noqa: SIM115 (kept by the child)
        argv = [sys.executable, "-m", "neuroai_course.grading.unprivileged", str(uid), str(gid),
                str(self.home), str(req_r), str(rep_w), *_exposed_paths()]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            self.proc = subprocess.Popen(argv, pass_fds=(req_r, rep_w), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, env=env,
                                         start_new_session=True, cwd=self.home)
        finally:
            log.close()
            os.close(req_r)
            os.close(rep_w)
        self.req, self.rep = req_w, rep_r
        if os.geteuid() == 0:
            try:
                self.cgroups = make_cgroups(tag, self.limits.grader_mem_mb, 256, one_cpu=False)
                for folder in self.cgroups:
                    Path(folder, "cgroup.procs").write_text(str(self.proc.pid))
            except (SandboxError, OSError) as err:
                self.close()
                if self.sandboxed:
                    raise SandboxError(f"the grader process's limits: {err}") from None
        try:
            ready = read_frame(self.rep, deadline=time.monotonic() + 300)
        except (TimeoutError, EOFError, ValueError):
            why = log_tail(self.private / f"{tag}.log", 1)[:300] or "no message"
            self.close()
            raise SandboxError(f"the grader process did not start: {why}") from None
        if self.sandboxed and os.geteuid() == 0 and ready.get("uid") != uid:
            self.close()
            raise SandboxError("the grader process did not drop root")
        # its start (imports) is counted once, with the first hand-in it grades
        self.startup_cpu = float(ready.get("cpu", 0.0))

    def request(self, payload: dict, seconds: float) -> dict:
        """Send one hand-in; return the grader's reply. Raises :class:`GraderLost`."""
        if self.proc is None or self.proc.poll() is not None:
            self.close()
            self.start()
        try:
            write_frame(self.req, payload)
            reply = read_frame(self.rep, deadline=time.monotonic() + seconds)
            if isinstance(reply.get("grader_cpu_seconds"), (int, float)):
                reply["grader_cpu_seconds"] += self.startup_cpu
                self.startup_cpu = 0.0
            return reply
        except TimeoutError:
            self.close()
            raise GraderLost(f"the hand-in ran over its whole time limit ({seconds:.0f} s)",
                             timed_out=True) from None
        except (EOFError, OSError, ValueError, RecursionError) as err:
            code = self.proc.poll() if self.proc else None
            self.close()
            if code == -signal.SIGKILL:
                raise GraderLost(f"the grader process was killed at its memory cap "
                                 f"({self.limits.grader_mem_mb} MB)", timed_out=False) from None
            raise GraderLost(f"the grader process failed ({type(err).__name__})",
                             timed_out=False) from None

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=10)
            for fd in (self.req, self.rep):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self.proc = None
        if self.cgroups:
            remove_cgroups(self.cgroups)
            self.cgroups = []
        if self.home is not None:
            # the grader's own folder (not the sandbox's): rmtree does not follow links
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None


_GRADERS: dict[str, GraderProcess] = {}


def grader_for(job: dict) -> GraderProcess:
    key = job["private"]
    if key not in _GRADERS:
        _GRADERS[key] = GraderProcess(Limits(**job["limits"]), not job.get("unsandboxed"),
                                      Path(job["shared"]), Path(job["private"]))
    return _GRADERS[key]


def close_grader(private: str) -> None:
    """Stop the grader process of the stage whose private folder is ``private``."""
    grader = _GRADERS.pop(str(private), None)
    if grader is not None:
        grader.close()


# --- one hand-in -----------------------------------------------------------------------------


def mount_scratch(folder: Path, options: str) -> None:
    """As root: a size-limited tmpfs on ``folder``, an empty folder root made in a folder only
    root writes; raises :class:`SandboxError` when it cannot be mounted."""
    libc, call = sandbox.libc_mount()
    try:
        call(libc.mount(b"tmpfs", str(folder).encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                        options.encode()), "mount")
    except OSError as err:
        raise SandboxError(f"cannot mount a size-limited scratch tmpfs ({err.strerror or err});"
                           " the kernel's scratch would be unbounded") from None


def unmount_scratch(folder: Path) -> None:
    """Detach the tmpfs on ``folder`` without following a link, then remove the folder,
    empty again: nothing the kernel wrote is opened, followed or deleted by root."""
    libc, _ = sandbox.libc_mount()
    libc.umount2(str(folder).encode(), MNT_DETACH | UMOUNT_NOFOLLOW)
    with contextlib.suppress(OSError):
        os.rmdir(folder)


class Handin:
    """Root's preparations for one hand-in's kernel, and their removal."""

    def __init__(self, job: dict, limits: Limits) -> None:
        self.job, self.limits = job, limits
        self.sandboxed = not job.get("unsandboxed")
        self.name = job["name"]
        self.private, self.shared = Path(job["private"]), Path(job["shared"])
        self.scratch = Path(job["scratch_root"]) / self.name
        self.mounted = False
        self.cgroups: list[str] = []
        self.files: list[Path] = []
        self.proc: subprocess.Popen | None = None
        self.log = self.private / f"{self.name}.log"  # the launcher's and bubblewrap's errors

    def prepare(self) -> dict:
        """Scratch, cgroups and connection file; return the connection info."""
        self.scratch.mkdir(mode=0o700)
        if self.sandboxed:
            mount_scratch(self.scratch, f"size={self.limits.scratch_mb}m,mode=2710,"
                                        f"uid={SANDBOX_UID},gid={GRADER_UID}")
            self.mounted = True
            self.cgroups = make_cgroups(self.name, self.limits.mem_mb + 1024,
                                        self.limits.nproc, one_cpu=True)
        connection = {"transport": "ipc", "ip": str(self.scratch / "k"),
                      "shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4,
                      "hb_port": 5, "key": secrets.token_hex(32),
                      "signature_scheme": "hmac-sha256", "kernel_name": ""}
        folder = self.shared / "conn" if self.sandboxed else self.private
        self.conn_file = folder / f"{self.name}.json"
        self._write(self.conn_file, json.dumps(connection), 0o640,
                    SANDBOX_UID if self.sandboxed else None)
        return connection

    def _write(self, path: Path, text: str, mode: int, group: int | None) -> None:
        """Create ``path`` (in a folder only root writes) without following anything."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        self.files.append(path)
        with os.fdopen(fd, "w") as f:
            if group is not None:
                os.fchown(f.fileno(), 0, group)
            f.write(text)

    def start_kernel(self) -> int:
        """Start the launcher; return its pid."""
        spec = sandbox.make_spec(self.scratch, self.limits, self.cgroups,
                                 [tuple(b) for b in self.job["binds"]],
                                 self.shared / ".views" if self.sandboxed else None,
                                 self.job.get("seccomp"), unsandboxed=not self.sandboxed)
        spec_file = self.private / f"{self.name}.spec.json"
        self._write(spec_file, json.dumps(spec), 0o600, None)
        self.files.append(self.log)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "neuroai_course.grading.sandbox", str(spec_file),
                 str(self.conn_file)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, cwd=self.private)
        return self.proc.pid

    def cleanup(self) -> str:
        """Kill the kernel, unmount and remove its scratch, remove root's files; return a
        note when something survived."""
        note = ""
        if self.cgroups and not remove_cgroups(self.cgroups):
            note = "processes of this hand-in survived the kill"
        if self.proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=10)
        if self.mounted:
            unmount_scratch(self.scratch)
        elif not self.sandboxed:
            shutil.rmtree(self.scratch, ignore_errors=True)  # trusted notebooks only
        for path in self.files:
            with contextlib.suppress(OSError):
                path.unlink()
        return note


def check_limits(shared: Path, limits: Limits) -> None:
    """Before any hand-in: make and remove a cgroup and a scratch tmpfs as grading will, so
    that a machine where a limit cannot be applied refuses at once, in one line (raises
    :class:`SandboxError`)."""
    name = f"probe-{os.getpid()}"
    remove_cgroups(make_cgroups(name, limits.mem_mb, limits.nproc, one_cpu=True))
    probe = shared / "scratch" / name
    probe.mkdir(mode=0o700)
    try:
        mount_scratch(probe, f"size={limits.scratch_mb}m")
    except SandboxError:
        os.rmdir(probe)
        raise
    unmount_scratch(probe)


def _phases(job: dict) -> int:
    return len(job.get("phases") or [None])


def grade_handin(job: dict) -> dict:
    """Grade one hand-in described by ``job``; see the module's docstring. Never raises:
    whatever goes wrong becomes the result's ``error`` (or ``killed``)."""
    limits = Limits(**job["limits"])
    start, cpu_start = time.perf_counter(), time.process_time()
    hand = Handin(job, limits)
    result: dict = {}
    try:
        connection = hand.prepare()
        pid = hand.start_kernel()
        keys = ("name", "tutorial", "limits", "cells", "tests", "functions", "phases",
                "unsandboxed")
        request = {"job": {k: job[k] for k in keys if k in job}, "connection": connection,
                   "pid": pid}
        seconds = (limits.submission_timeout_s + 150
                   + _phases(job) * (limits.tests_timeout_s + 30))
        setup_cpu = time.process_time() - cpu_start
        result = grader_for(job).request(request, seconds)
        if isinstance(result.get("cpu"), dict):
            result["cpu"]["worker_setup"] = setup_cpu
        if result.get("error") and "kernel" in result["error"]:
            result["log"] = log_tail(hand.log, 5)
    except GraderLost as err:
        result = {"error": "" if err.timed_out else str(err),
                  **({"killed": str(err)} if err.timed_out else {})}
    except Exception as err:  # never raise into the pool: report
        detail = traceback.format_exception_only(type(err), err)[-1].strip()
        result = {"error": f"grading failed: {detail[:300]}", "log": log_tail(hand.log, 5)}
    finally:
        cleanup0 = time.process_time()
        note = hand.cleanup()
        if isinstance(result.get("cpu"), dict):
            result["cpu"]["worker_cleanup"] = time.process_time() - cleanup0
    if note:
        result["leftover"] = note
    for key, empty in (("scores", {}), ("messages", {}), ("delegated", []), ("timeouts", []),
                       ("error", ""), ("phases", {}), ("cells", [])):
        result.setdefault(key, empty)
    result["total_seconds"] = time.perf_counter() - start
    # the grading machinery's CPU for the hand-in: this process's set-up and clean-up, and
    # the grader process's channel and tests
    grader = result.get("grader_cpu_seconds", 0.0)
    result["worker_cpu_seconds"] = time.process_time() - cpu_start + (
        grader if isinstance(grader, (int, float)) else 0.0)
    return result
