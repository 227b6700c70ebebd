"""The sandbox a student's kernel runs in while it is graded (Debian's ``bubblewrap``).

The privileged side (:mod:`.privileged`) starts each hand-in's kernel through this
module's launcher::

    python -m neuroai_course.grading.sandbox SPEC.json CONNECTION_FILE

Both files lie in folders only root can write. The launcher (root) puts itself into the
fresh cgroups made for this one kernel (memory, processes, one CPU), sets per-process
limits (CPU seconds, address space, file size, processes), then becomes ``setpriv`` (switch
to an unprivileged user, no capabilities, no new privileges) which becomes ``bwrap``, which
starts the kernel:

- as an unprivileged user on the host (``nobody`` by default; never root, not even root
  mapped into a namespace: bubblewrap runs unprivileged and maps that same user);
- in its own user, mount, PID, network (loopback only), IPC, UTS and cgroup namespaces,
  unable to make further user namespaces (``--disable-userns``), under a seccomp filter
  that denies the system calls a notebook kernel never needs (:data:`SECCOMP_DENY`, built
  with libseccomp's Python bindings, Debian's ``python3-seccomp``);
- with a file system that holds only what the kernel needs to import, all read-only: the
  system (``/usr``, ``/etc``), the Python installation and the environment's packages, a
  copy of ``neuroai_core`` whose exercise references raise
  (:mod:`neuroai_course.tripwire`), and its connection file; nothing else of the course;
- with a private, size-limited scratch folder (its working folder and home, where the
  Jupyter ``ipc`` sockets live), private size-limited ``/tmp`` and ``/dev/shm``, a fresh
  ``/proc``; the sandbox's own root and ``/dev`` read-only;
- killed when its launcher dies (``--die-with-parent``).

Every limit is applied or the launcher fails (it never starts a kernel with fewer limits
than it was asked for). The kernel runs the system's interpreter of the same Python version
with this environment's package folders. bubblewrap, running as the sandbox user, must open
each folder it binds, and an environment may lie where only root can enter (under
``/root``, in a private temporary folder); so, as root, the launcher first enters a mount
namespace of its own and binds each package folder at a *view*, an empty folder the sandbox
user can reach; bubblewrap binds the view at the folder's own path.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from neuroai_course.grading.limits import Limits
from neuroai_course.kernels import ONE_THREAD

SANDBOX_UID = 65534  # nobody
#: Where the kernel finds the staged ``neuroai_core`` (first on its import path).
LIBRARY = "/opt/neuroai/lib"
#: Where the kernel finds its connection file (bound read-only, under its own name, which
#: names the hand-in).
CONNECTIONS = "/opt/neuroai"
#: Where the kernel finds matplotlib's font list, made by the grading machine (copied into
#: its own scratch at start: building it is a tenth of a small notebook's CPU).
FONT_CACHE = "/opt/neuroai/mpl"
# <sched.h> and <sys/mount.h>
CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE, MS_SLAVE, MS_SHARED = (
    0x00020000, 4096, 16384, 1 << 18, 1 << 19, 1 << 20)
#: The system interpreter that has libseccomp's bindings (Debian: python3-seccomp).
SECCOMP_PYTHON = "/usr/bin/python3"
#: System calls a notebook kernel never needs: kernel modules and keyrings, mounts and
#: namespaces, tracing other processes, BPF and perf, io_uring, the clock, reboots.
SECCOMP_DENY = (
    "acct", "add_key", "bpf", "chroot", "clock_adjtime", "clock_settime", "delete_module",
    "fanotify_init", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick",
    "init_module", "io_uring_enter", "io_uring_register", "io_uring_setup", "ioperm", "iopl",
    "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount",
    "mount_setattr", "move_mount", "name_to_handle_at", "open_by_handle_at", "open_tree",
    "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace",
    "quotactl", "reboot", "request_key", "setns", "settimeofday", "swapoff", "swapon",
    "syslog", "umount2", "unshare", "uselib", "userfaultfd", "vhangup",
)
_SECCOMP_SCRIPT = """
import errno, sys, seccomp
f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
for name in sys.argv[2:]:
    try:
        f.add_rule(seccomp.ERRNO(errno.EPERM), name)
    except (RuntimeError, ValueError, OSError):
        pass  # a call this architecture does not have
with open(sys.argv[1], "wb") as out:
    f.export_bpf(out)
"""


class SandboxError(RuntimeError):
    """A limit or wall of the sandbox could not be put in place."""


# --- what the kernel may see ----------------------------------------------------------


def site_packages() -> list[str]:
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


#: Started with ``-c``: the given folders first on the path (``.pth`` files included, e.g.
#: an editable install's finder); the process limit (``RLIMIT_NPROC``, when not 0) set here,
#: inside the sandbox's own user namespace, where it counts this sandbox's processes only
#: (set before bubblewrap, it would count every process of the sandbox user on the machine,
#: and one hand-in's processes could stop another's kernel from starting); then Jupyter's
#: kernel launcher. Before them, matplotlib's font list is copied into the kernel's scratch,
#: and the debugger is made unimportable (ipykernel imports debugpy at start when it can:
#: 0.3 s of CPU per hand-in for a debugger nobody attaches to a graded kernel).
BOOT = ("import glob, os, resource, runpy, shutil, site, sys\n"
        "sys.modules['debugpy'] = None\n"
        f"fonts = glob.glob('{FONT_CACHE}/fontlist-*.json')\n"
        "if fonts and os.environ.get('MPLCONFIGDIR'):\n"
        "    os.makedirs(os.environ['MPLCONFIGDIR'], exist_ok=True)\n"
        "    for f in fonts:\n"
        "        shutil.copy(f, os.environ['MPLCONFIGDIR'])\n"
        "for p in reversed(sys.argv.pop(1).split(':')):\n"
        "    sys.path.insert(0, p); site.addsitedir(p)\n"
        "n = int(sys.argv.pop(1))\n"
        "if n:\n"
        "    resource.setrlimit(resource.RLIMIT_NPROC, (n, n))\n"
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


def bwrap_argv(spec: dict, connection_file: str, seccomp_fd: int | None = None) -> list[str]:
    """The bubblewrap command line that starts the kernel of ``spec``."""
    scratch = spec["scratch"]
    size = str(spec["limits"]["scratch_mb"] << 20)
    # Mounts apply in order, a later one over an earlier: the private /tmp and /dev/shm come
    # first, so that an environment or a course installed under /tmp stays visible.
    args = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns",
            "--die-with-parent", "--new-session", "--hostname", "sandbox", *_system_binds(),
            "--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm",
            "--size", size, "--tmpfs", "/tmp"]
    views = spec.get("views", {})
    for path in spec["site_packages"]:
        args += ["--ro-bind", views.get(path, path), path]
    for src, dest in spec.get("binds", []):  # e.g. the staged neuroai_core over its path
        args += ["--ro-bind", src, dest]
    inside = f"{CONNECTIONS}/{Path(connection_file).name}"
    args += ["--ro-bind", connection_file, inside, "--bind", scratch, scratch,
             # the sandbox's own root and /dev (tmpfs made by bubblewrap) read-only too
             "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", scratch, "--clearenv"]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    for name, value in kernel_env(scratch).items():
        args += ["--setenv", name, value]
    path = [LIBRARY, *spec["site_packages"]]
    return [*args, "--", spec["python"], "-c", BOOT, ":".join(path),
            str(spec["limits"]["nproc"]), "-f", inside]


def copy_font_cache(dest: Path) -> None:
    """Copy this user's matplotlib font list (``fontlist-*.json``, which the bytecode pass
    of :mod:`neuroai_course.grading.bytecode` makes if it is missing) into ``dest``, a
    folder only root writes, bound read-only at :data:`FONT_CACHE`. Nothing when there is
    none: the kernel then builds its own."""
    base = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib")
    dest.mkdir(mode=0o755, exist_ok=True)
    for found in sorted(Path(base).glob("fontlist-*.json")):
        if found.is_file() and not found.is_symlink():
            shutil.copyfile(found, dest / found.name)
            os.chmod(dest / found.name, 0o644)


def kernel_env(scratch: str) -> dict[str, str]:
    env = {"HOME": scratch, "TMPDIR": "/tmp", "PATH": "/usr/bin:/bin",
           "MPLCONFIGDIR": f"{scratch}/.matplotlib", "IPYTHONDIR": f"{scratch}/.ipython",
           # figures are made but not drawn: nothing reads a graded kernel's images, and
           # drawing them was a fifth of a hand-in's CPU
           "MPLBACKEND": "agg",
           "PYTHONDONTWRITEBYTECODE": "1", "NBGRADER_EXECUTION": "autograde",
           "LANG": "C.UTF-8", **ONE_THREAD}
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # correctness on some CPUs
        if name in os.environ:
            env[name] = os.environ[name]
    return env


# --- availability -----------------------------------------------------------------------


def unavailable_reason() -> str:
    """Why untrusted grading cannot be sandboxed here ('' when it can)."""
    if sys.platform != "linux":
        return f"the sandbox needs Linux (bubblewrap and user namespaces), not {sys.platform}"
    if not shutil.which("bwrap"):
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if os.geteuid() != 0:
        return ("grading untrusted notebooks needs root (cgroups, the scratch mounts and the "
                "sandbox user); run it as root, or with --unsandboxed for trusted notebooks")
    if not shutil.which("setpriv"):
        return "setpriv (util-linux) is missing: cannot drop root before starting bubblewrap"
    cmd = [*drop_root(), "bwrap", "--unshare-all", "--unshare-user", "--disable-userns",
           "--ro-bind", "/", "/", "true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bubblewrap did not start: {err}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bubblewrap cannot create user namespaces here ({last})"
    probe = subprocess.run([SECCOMP_PYTHON, "-c", "import seccomp"], capture_output=True) \
        if os.path.exists(SECCOMP_PYTHON) else None
    if probe is None or probe.returncode != 0:
        return ("libseccomp's Python bindings are missing, so no seccomp filter can be made "
                "(Debian/Ubuntu: apt-get install python3-seccomp)")
    return ""


def drop_root() -> list[str]:
    """``setpriv`` arguments that become the sandbox user (nothing when not root)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def write_seccomp_filter(path: Path) -> None:
    """Write the BPF program of :data:`SECCOMP_DENY` to ``path`` (a root-only folder)."""
    proc = subprocess.run([SECCOMP_PYTHON, "-c", _SECCOMP_SCRIPT, str(path), *SECCOMP_DENY],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not path.is_file() or path.stat().st_size == 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise SandboxError(f"cannot build the seccomp filter ({last}); Debian/Ubuntu: "
                           "apt-get install python3-seccomp")


# --- the launcher -------------------------------------------------------------------------


def make_spec(scratch: Path, limits: Limits, cgroup_folders: list[str],
              binds: list[tuple[str, str]], views_folder: Path | None,
              seccomp: str | None, unsandboxed: bool = False) -> dict:
    site = site_packages()
    views = {} if unsandboxed or views_folder is None else make_views(views_folder, site)
    return {"scratch": str(scratch), "limits": asdict(limits), "cgroup_folders": cgroup_folders,
            "binds": [list(b) for b in binds], "python": kernel_python(),
            "site_packages": site, "views": views, "unsandboxed": unsandboxed,
            "seccomp": seccomp}


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


def libc_mount():
    """libc's ``mount``, ``umount2`` and ``unshare``, raising OSError on failure."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def call(ret: int, what: str) -> None:
        if ret != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    return libc, call


def private_mount_namespace(receive: bool = False):
    """As root: enter a mount namespace of this process's own (nothing made in it leaks to
    the host's; with ``receive``, mounts the host makes later under a shared mount, such as
    the scratch folders, still appear in it); return libc and its error check."""
    libc, call = libc_mount()
    call(libc.unshare(CLONE_NEWNS), "cannot make a mount namespace")
    call(libc.mount(b"none", b"/", None, MS_REC | (MS_SLAVE if receive else MS_PRIVATE), None),
         "cannot detach / from the host's mounts")
    return libc, call


def share_mounts(folder: Path) -> None:
    """As root: make ``folder`` a shared mount point, so that mounts made under it later
    reach the mount namespaces copied from this one (the grader process's)."""
    libc, call = libc_mount()
    call(libc.mount(str(folder).encode(), str(folder).encode(), None, MS_BIND, None),
         f"cannot bind {folder}")
    call(libc.mount(b"none", str(folder).encode(), None, MS_SHARED, None),
         f"cannot share {folder}")


def mount_views(views: dict[str, str]) -> None:
    """Bind each package folder at its view, in a mount namespace of this process's own."""
    libc, call = private_mount_namespace()
    for path, view in views.items():
        call(libc.mount(path.encode(), view.encode(), None, MS_BIND | MS_REC, None),
             f"cannot bind {path} at {view}")


def _set_limit(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def launch(spec: dict, connection_file: str) -> None:
    """Become the sandboxed kernel (never returns; raises when a limit cannot be set)."""
    limits = Limits(**spec["limits"])
    for folder in spec.get("cgroup_folders", []):
        Path(folder, "cgroup.procs").write_text(str(os.getpid()))
    _set_limit(resource.RLIMIT_CPU, limits.cpu_s)
    _set_limit(resource.RLIMIT_AS, limits.mem_mb << 20)
    _set_limit(resource.RLIMIT_FSIZE, limits.scratch_mb << 20)
    _set_limit(resource.RLIMIT_CORE, 0)
    if spec.get("unsandboxed"):  # trusted notebooks: same user, the staged library first
        os.chdir(spec["scratch"])
        os.environ.update(kernel_env(spec["scratch"]))
        first = [str(Path(src).parent) for src, _ in spec.get("binds", [])]
        os.execv(sys.executable, [sys.executable, "-c", BOOT, ":".join(first) or ".", "0",
                                  "-f", connection_file])
    if os.geteuid() != 0:
        raise SandboxError("the sandbox launcher must run as root")
    # The grader's user reaches the kernel's sockets through the scratch folder's group.
    os.umask(0o007)
    if spec.get("views"):
        mount_views(spec["views"])
    fd = os.open(spec["seccomp"], os.O_RDONLY | os.O_NOFOLLOW)
    os.set_inheritable(fd, True)
    argv = [*drop_root(), *bwrap_argv(spec, connection_file, fd)]
    os.execvp(argv[0], argv)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        raise SystemExit("usage: python -m neuroai_course.grading.sandbox SPEC.json "
                         "CONNECTION_FILE")
    try:
        launch(json.loads(Path(argv[0]).read_text()), argv[1])
    except (OSError, SandboxError, ValueError) as err:
        raise SystemExit(f"sandbox launcher: {err}") from None


if __name__ == "__main__":
    main()
