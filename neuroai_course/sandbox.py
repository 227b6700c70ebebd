"""The sandbox a student's kernel runs in while it is graded (Debian's ``bubblewrap``).

The grader starts each hand-in's kernel through this module's launcher, the ``argv`` of a
kernel spec that :func:`kernel_spec` writes::

    python -m neuroai_course.sandbox SPEC.json CONNECTION_FILE

The launcher (the grader's own code, run by the grader's user) puts itself into fresh
cgroups made for this one kernel (memory, processes, one CPU; root-owned files that the
kernel's user cannot write), sets per-process limits (CPU seconds, file size), then
becomes ``setpriv`` (as root: switch to an unprivileged user, no capabilities, no new
privileges) which becomes ``bwrap``, which starts the kernel:

- as an unprivileged user on the host (``nobody`` by default; never root, not even root
  mapped into a namespace: bubblewrap runs unprivileged and maps that same user);
- in its own user, mount, PID, network (loopback only), IPC, UTS and cgroup namespaces;
- with a file system that holds only what the kernel needs to import, all read-only: the
  system (``/usr``, ``/etc``), the Python installation and the environment's packages, and
  a copy of ``neuroai_core`` (whose exercise references may be replaced, see
  :mod:`neuroai_course.tripwire`); nothing else of the course (no ``solutions/``, no
  ``.git``, no submissions, no gradebook, no output folder);
- with a private, size-limited scratch folder (its working folder and home, where the
  Jupyter ``ipc`` sockets live), private size-limited ``/tmp`` and ``/dev/shm``, a fresh
  ``/proc``; the sandbox's own root and ``/dev`` read-only;
- killed when its launcher dies (``--die-with-parent``).

The kernel runs the system's interpreter of the same Python version with this
environment's package folders. bubblewrap, running as the sandbox user, must open each
folder it binds, and an environment may lie where only root can enter (under ``/root``, in
a private temporary folder). So, as root, the launcher first enters a mount namespace of
its own and binds each package folder at a *view*, an empty folder beside the scratch
folders that the sandbox user can reach; bubblewrap binds the view at the folder's own
path. The namespace, and these mounts with it, end with the kernel.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from neuroai_course.kernels import ONE_THREAD

SANDBOX_UID = 65534  # nobody
#: Where the kernel finds the staged ``neuroai_core`` (first on its import path).
LIBRARY = "/opt/neuroai/lib"
CGROUP_CONTROLLERS = ("memory", "pids", "cpu")
# <sched.h> and <sys/mount.h>
CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE = 0x00020000, 4096, 16384, 1 << 18


@dataclass(frozen=True)
class Limits:
    """What one hand-in may use. Defaults suit the course's tutorials on a 2-core CPU."""

    cell_timeout_s: int = 60
    submission_timeout_s: int = 300
    mem_mb: int = 3072
    nproc: int = 128
    cpu_s: int = 600
    scratch_mb: int = 256

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")


# --- what the kernel may see ----------------------------------------------------------


def _site_packages() -> list[str]:
    """This environment's package folders (the kernel imports ipykernel, numpy, torch...)."""
    import site

    found = [*site.getsitepackages(), site.getusersitepackages()]
    return [p for p in dict.fromkeys(os.path.realpath(p) for p in found)
            if os.path.isdir(p) and not p.startswith("/usr/")]


def kernel_python() -> str:
    """An interpreter of this Python version that the sandbox user can run: this one when
    it lives under /usr, else the system's ``/usr/bin/pythonX.Y`` (a Python under ``/root``
    or another private folder cannot be reached by that user)."""
    real = os.path.realpath(sys.executable)
    if real.startswith("/usr/"):
        return real
    return f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"


#: Started with ``-c``: the environment's package folders first (``.pth`` files included,
#: e.g. an editable install's finder), then Jupyter's kernel launcher.
BOOT = ("import runpy, site, sys\n"
        "for p in reversed(sys.argv.pop(1).split(':')):\n"
        "    sys.path.insert(0, p); site.addsitedir(p)\n"
        "runpy.run_module('ipykernel_launcher', run_name='__main__', alter_sys=True)")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for link in ("bin", "lib", "lib64", "sbin"):
        path = Path("/") / link
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{link}"]
        elif path.is_dir():
            args += ["--ro-bind", str(path), f"/{link}"]
    return args


def bwrap_argv(spec: dict, connection_file: str) -> list[str]:
    """The bubblewrap command line that starts the kernel of ``spec``."""
    scratch = spec["scratch"]
    size = str(spec["limits"]["scratch_mb"] << 20)
    # Mounts apply in order, a later one over an earlier: the private /tmp and /dev/shm come
    # first, so that an environment or a course installed under /tmp stays visible.
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
            "--hostname", "sandbox", *_system_binds(),
            "--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm",
            "--size", size, "--tmpfs", "/tmp"]
    views = spec.get("views", {})
    for path in spec["site_packages"]:
        args += ["--ro-bind", views.get(path, path), path]
    for src, dest in spec.get("binds", []):  # e.g. the staged neuroai_core over its path
        args += ["--ro-bind", src, dest]
    args += ["--bind", scratch, scratch,
             # the sandbox's own root and /dev (tmpfs made by bubblewrap) read-only too
             "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", scratch, "--clearenv"]
    for name, value in kernel_env(scratch).items():
        args += ["--setenv", name, value]
    path = [LIBRARY, *spec["site_packages"]]
    return [*args, "--", spec["python"], "-c", BOOT, ":".join(path), "-f", connection_file]


def kernel_env(scratch: str) -> dict[str, str]:
    env = {"HOME": scratch, "TMPDIR": "/tmp", "PATH": "/usr/bin:/bin",
           "MPLCONFIGDIR": f"{scratch}/.matplotlib", "IPYTHONDIR": f"{scratch}/.ipython",
           "PYTHONDONTWRITEBYTECODE": "1", "NBGRADER_EXECUTION": "autograde",
           "LANG": "C.UTF-8", **ONE_THREAD}
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # correctness on some CPUs
        if name in os.environ:
            env[name] = os.environ[name]
    return env


# --- cgroups: limits the kernel's user cannot change ------------------------------------


def _cgroup_dirs(name: str) -> dict[str, Path]:
    """Where the cgroups of ``name`` live: one per controller (v1) or one folder (v2)."""
    base = Path("/sys/fs/cgroup")
    if (base / "cgroup.controllers").exists():  # v2: one hierarchy
        return {"v2": base / "neuroai" / name}
    return {c: base / c / "neuroai" / name for c in CGROUP_CONTROLLERS if (base / c).is_dir()}


def make_cgroups(name: str, limits: Limits) -> list[str]:
    """Create the cgroups of one kernel with its limits; return their folders (may be
    empty where cgroups cannot be written, e.g. not root)."""
    made = []
    for ctrl, folder in _cgroup_dirs(name).items():
        try:
            if ctrl == "v2":
                parent = folder.parent
                parent.mkdir(exist_ok=True)
                want = " ".join(f"+{c}" for c in CGROUP_CONTROLLERS)
                (parent / "cgroup.subtree_control").write_text(want)
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        made.append(str(folder))
        # The process tree may use the kernel's cap plus 1 GiB (children, the sandbox's
        # own processes); the kernel itself meets its address-space cap first, as a
        # MemoryError it can survive.
        tree = (limits.mem_mb + 1024) << 20
        settings = {
            "v2": {"memory.max": str(tree), "memory.swap.max": "0",
                   "pids.max": str(limits.nproc), "cpu.max": "100000 100000"},
            "memory": {"memory.limit_in_bytes": str(tree)},
            "pids": {"pids.max": str(limits.nproc)},
            "cpu": {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "100000"},
        }[ctrl]
        for key, value in settings.items():
            try:
                (folder / key).write_text(value)
            except OSError:
                pass
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
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
        try:
            os.rmdir(folder)
        except OSError:
            gone = gone and not Path(folder).exists()
    return gone


# --- availability -----------------------------------------------------------------------


def unavailable_reason() -> str:
    """Why untrusted grading cannot be sandboxed here ('' when it can)."""
    if sys.platform != "linux":
        return f"the sandbox needs Linux (bubblewrap and user namespaces), not {sys.platform}"
    if not shutil.which("bwrap"):
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        return "setpriv (util-linux) is missing: cannot drop root before starting bubblewrap"
    cmd = [*_drop_root(), "bwrap", "--unshare-all", "--ro-bind", "/", "/", "true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bubblewrap did not start: {err}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bubblewrap cannot create user namespaces here ({last})"
    return ""


def _drop_root() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


# --- the launcher -------------------------------------------------------------------------


def kernel_spec(folder: Path, spec: dict) -> None:
    """Write a Jupyter kernel spec into ``folder`` whose launcher applies ``spec``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sandbox.json").write_text(json.dumps(spec))
    argv = [sys.executable, "-m", "neuroai_course.sandbox", str(folder / "sandbox.json"),
            "{connection_file}"]
    (folder / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "neuroai sandbox", "language": "python",
         "interrupt_mode": "message"}))


def make_spec(scratch: Path, limits: Limits, cgroup_folders: list[str],
              binds: list[tuple[str, str]], unsandboxed: bool = False) -> dict:
    site = _site_packages()
    views = {} if unsandboxed or os.geteuid() != 0 else make_views(scratch.parent / ".views", site)
    return {"scratch": str(scratch), "limits": asdict(limits), "cgroup_folders": cgroup_folders,
            "binds": [list(b) for b in binds], "python": kernel_python(),
            "site_packages": site, "views": views, "unsandboxed": unsandboxed}


def make_views(folder: Path, paths: list[str]) -> dict[str, str]:
    """One empty folder per package folder under ``folder`` (made if missing; the sandbox
    user may enter it, not list it), where the launcher binds that package folder."""
    folder.mkdir(mode=0o711, exist_ok=True)
    views = {}
    for i, path in enumerate(paths):
        view = folder / str(i)
        view.mkdir(mode=0o755, exist_ok=True)
        views[path] = str(view)
    return views


def mount_views(views: dict[str, str]) -> None:
    """As root: enter a mount namespace of this process's own (private, so nothing leaks
    to the host's) and bind each package folder at its view (see the module's notes)."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def call(ret: int, what: str) -> None:
        if ret != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"sandbox launcher: {what}: {os.strerror(err)}")

    call(libc.unshare(CLONE_NEWNS), "cannot make a mount namespace")
    call(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "cannot make / private")
    for path, view in views.items():
        call(libc.mount(path.encode(), view.encode(), None, MS_BIND | MS_REC, None),
             f"cannot bind {path} at {view}")


def _set_limit(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def launch(spec: dict, connection_file: str) -> None:
    """Become the sandboxed kernel (never returns)."""
    limits = Limits(**spec["limits"])
    for folder in spec.get("cgroup_folders", []):
        Path(folder, "cgroup.procs").write_text(str(os.getpid()))
    _set_limit(resource.RLIMIT_CPU, limits.cpu_s)
    _set_limit(resource.RLIMIT_AS, limits.mem_mb << 20)
    _set_limit(resource.RLIMIT_FSIZE, limits.scratch_mb << 20)
    _set_limit(resource.RLIMIT_CORE, 0)
    if spec.get("unsandboxed"):
        os.chdir(spec["scratch"])
        os.environ.update(kernel_env(spec["scratch"]))
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f",
                                  connection_file])
    if os.geteuid() == 0:  # the kernel's user reads its connection file
        os.chown(connection_file, SANDBOX_UID, SANDBOX_UID)
        if spec.get("views"):
            mount_views(spec["views"])
    argv = [*_drop_root(), *bwrap_argv(spec, connection_file)]
    os.execvp(argv[0], argv)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        raise SystemExit("usage: python -m neuroai_course.sandbox SPEC.json CONNECTION_FILE")
    launch(json.loads(Path(argv[0]).read_text()), argv[1])


if __name__ == "__main__":
    main()
