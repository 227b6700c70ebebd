"""A kernel launcher that confines a student's code while it is graded.

It is the ``argv`` of the ``neuroai-sandbox`` kernel spec that the grading worker writes::

    python -m neuroai_course.sandbox --mode ns --mem-mb M --nproc P --cpu-s C
        [--cgroup DIR] [--hide PATH ...] -- python -m ipykernel_launcher -f {connection_file}

Mode ``ns`` (Linux with ``unshare`` and ``setpriv`` from util-linux):

1. join the pids cgroup ``DIR`` (its ``pids.max`` stops a fork bomb) and re-run itself in new
   mount and PID namespaces (``unshare``; for a non-root user also a user namespace);
2. there, hide each ``--hide`` path (the grader's folder with the gradebook, the other
   submissions and the hidden tests; the course's solutions) under an empty tmpfs, mount a
   private, size-limited tmpfs as the working folder ``--workdir``, and remount every
   other file system read-only;
3. set resource limits (address space: a memory bomb gets ``MemoryError``; CPU seconds;
   file size; processes for a non-root user), drop every capability (``setpriv``), and
   become the kernel. Its processes die with it (it is PID 1 of its namespace).

Mode ``plain`` (no namespaces available): only the resource limits and the working folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

STAGE2 = "--stage2"
KEEP_WRITABLE = ("/proc", "/sys", "/dev")


def namespaces_work() -> bool:
    """Whether ``unshare`` can give this user mount and PID namespaces here."""
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        return False
    cmd = ["unshare", "--mount", "--pid", "--fork", "--mount-proc"]
    if os.geteuid() != 0:
        cmd.append("--map-root-user")
    try:
        return subprocess.run([*cmd, "true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _limit(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _mount_points(keep: tuple[str, ...]) -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if not any(point == k or point.startswith(k + "/") for k in keep):
            points.append(point)
    return points


def lock_down(hide: list[str], workdir: str, tmp_mb: int) -> None:
    """Inside fresh namespaces: hidden paths, a private working folder, the rest read-only."""
    _mount("--make-rprivate", "/")
    for path in hide:
        if os.path.isdir(path):
            _mount("-t", "tmpfs", "-o", "size=1m,mode=755", "tmpfs", path)
        elif os.path.isfile(path):
            _mount("--bind", "/dev/null", path)
    os.makedirs(workdir, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={tmp_mb}m,mode=1777", "tmpfs", workdir)
    for point in _mount_points((*KEEP_WRITABLE, workdir)):
        subprocess.run(["mount", "-o", "remount,bind,ro", point], capture_output=True)


def limits(mem_mb: int, cpu_s: int, nproc: int) -> None:
    _limit(resource.RLIMIT_AS, mem_mb * 1024 * 1024)
    _limit(resource.RLIMIT_CPU, cpu_s)
    _limit(resource.RLIMIT_FSIZE, 256 * 1024 * 1024)
    if os.geteuid() != 0 or os.environ.get("NEUROAI_SANDBOX_USERNS"):
        _limit(resource.RLIMIT_NPROC, nproc)


def _kernel_env(workdir: str) -> None:
    os.environ.update(HOME=workdir, MPLCONFIGDIR=f"{workdir}/.matplotlib",
                      IPYTHONDIR=f"{workdir}/.ipython", TMPDIR=workdir,
                      PYTHONDONTWRITEBYTECODE="1")


def parse(argv: list[str]):
    if "--" not in argv:
        raise SystemExit("usage: python -m neuroai_course.sandbox [options] -- kernel argv")
    split = argv.index("--")
    p = argparse.ArgumentParser(prog="neuroai-sandbox")
    p.add_argument("--mode", choices=("ns", "plain"), default="ns")
    p.add_argument("--mem-mb", type=int, default=3072)
    p.add_argument("--nproc", type=int, default=128)
    p.add_argument("--cpu-s", type=int, default=600)
    p.add_argument("--tmp-mb", type=int, default=512)
    p.add_argument("--cgroup", default=None)
    p.add_argument("--hide", action="append", default=[])
    p.add_argument("--workdir", required=True, help="the kernel's working folder")
    p.add_argument(STAGE2, action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv[:split]), argv[split + 1:]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    opts, cmd = parse(argv)
    if opts.cgroup:
        Path(opts.cgroup, "cgroup.procs").write_text(str(os.getpid()))
    if opts.mode == "plain":
        os.makedirs(opts.workdir, exist_ok=True)
        os.chdir(opts.workdir)
        _kernel_env(opts.workdir)
        limits(opts.mem_mb, opts.cpu_s, opts.nproc + len(os.listdir("/proc")))
        os.execv(cmd[0], cmd)
    if not opts.stage2:
        wrap = ["unshare", "--mount", "--pid", "--fork", "--mount-proc"]
        if os.geteuid() != 0:
            wrap.append("--map-root-user")
            os.environ["NEUROAI_SANDBOX_USERNS"] = "1"
        me = [sys.executable, "-m", "neuroai_course.sandbox", STAGE2]
        rest = [a for a in argv if a != STAGE2]
        os.execvp("unshare", [*wrap, "--", *me, *rest])
    conn_index = cmd.index("-f") + 1 if "-f" in cmd else None
    conn = Path(cmd[conn_index]).read_bytes() if conn_index else b""
    lock_down(opts.hide, opts.workdir, opts.tmp_mb)
    if conn_index:
        own = Path(opts.workdir, "kernel-connection.json")
        own.write_bytes(conn)
        cmd[conn_index] = str(own)
    os.chdir(opts.workdir)
    _kernel_env(opts.workdir)
    limits(opts.mem_mb, opts.cpu_s, opts.nproc)
    drop = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all",
            "--no-new-privs", "--"]
    os.execvp("setpriv", [*drop, *cmd])


if __name__ == "__main__":
    main()
