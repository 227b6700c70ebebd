"""The Jupyter kernels that ``check`` and ``book`` start: quiet, and measured in CPU time.

Two things every kernel the tooling starts shares:

* **Transport.** Kernels talk over Unix sockets in a private folder (Jupyter's ``ipc``
  transport) instead of TCP on localhost: nothing is reachable from other users, and
  ipykernel has no reason to print its "Kernel is running over TCP without encryption"
  warning for every kernel.
* **CPU time.** A budget judged on wall time measures the machine's other work as much as
  the notebook: on a busy 2-core machine a 10 s notebook takes 20 s. :class:`KernelCPU`
  measures the CPU time (user + system) of the kernels started inside a block, children
  of the kernels included, which stays put when other processes compete for the cores.
* **One thread.** :data:`ONE_THREAD` goes into every kernel's environment: ``check`` runs
  a kernel per core and the grader one per worker, and the threads of two kernels waiting
  for each other on the same cores only burn CPU (M4T2's run took 24 s of CPU instead of
  33 beside another tutorial's).
"""

from __future__ import annotations

import os
import resource
import tempfile
import threading
import time
from pathlib import Path

import psutil

#: The numeric libraries' thread pools, one thread each (see the module's notes).
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def ipc_config(folder: Path):
    """A traitlets ``Config`` making every kernel manager use Unix sockets in ``folder``
    (which must exist and stay short: a socket path has at most 107 bytes)."""
    from traitlets.config import Config

    c = Config()
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = str(Path(folder) / "kernel")
    return c


def socket_folder() -> tempfile.TemporaryDirectory:
    """A fresh, short private folder for kernel sockets (under /tmp, not the work tree)."""
    return tempfile.TemporaryDirectory(prefix="nai-k-", dir="/tmp" if os.path.isdir("/tmp")
                                       else None)


def _is_kernel(proc: psutil.Process) -> bool:
    try:
        return any("ipykernel" in part for part in proc.cmdline())
    except psutil.Error:
        return False


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class KernelCPU:
    """Measure the kernels started inside a ``with`` block: ``cpu_s`` (user + system time
    of the kernel processes and their children) and ``wall_s``.

    A thread samples this process's children every ``interval_s`` and keeps the latest
    CPU time of each kernel it sees. When the block ends, the kernels have exited and been
    reaped, so the operating system's exact account of finished children
    (``getrusage(RUSAGE_CHILDREN)``) is used, less what other children of the block (the
    gradebook's ``alembic`` helper, say) were seen to use; the sampled total is the floor.
    Blocks must not overlap within one process.
    """

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.cpu_s = float("nan")
        self.wall_s = float("nan")
        self._kernels: dict[tuple[int, float], float] = {}
        self._others: dict[tuple[int, float], float] = {}
        self._kinds: dict[tuple[int, float], bool] = {}
        self._stop = threading.Event()

    def _sample(self) -> None:
        try:
            children = psutil.Process().children()
        except psutil.Error:
            return
        for proc in children:
            try:
                with proc.oneshot():
                    key = (proc.pid, proc.create_time())
                    # Read the command line until it names a kernel: between fork and
                    # exec, a starting kernel still shows its parent's.
                    if not self._kinds.get(key):
                        self._kinds[key] = _is_kernel(proc)
                    t = proc.cpu_times()
            except psutil.Error:
                continue
            used = t.user + t.system + t.children_user + t.children_system
            if self._kinds[key]:
                self._others.pop(key, None)
                self._kernels[key] = used
            else:
                self._others[key] = used

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> KernelCPU:
        self._rusage0 = _children_cpu_s()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.wall_s = time.perf_counter() - self._t0
        sampled = sum(self._kernels.values())
        alive = {(p.pid, p.create_time()) for p in _alive_children()}
        if any(key in alive for key in self._kernels):
            self.cpu_s = sampled  # a kernel still running: no exact account yet
        else:  # the OS's account holds the children reaped meanwhile, other ones included
            others = sum(v for k, v in self._others.items() if k not in alive)
            exact = _children_cpu_s() - self._rusage0 - others
            self.cpu_s = max(sampled, exact)


def _alive_children() -> list[psutil.Process]:
    out = []
    try:
        for p in psutil.Process().children():
            try:
                p.create_time()
                out.append(p)
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return out
