"""The grading sandbox, tested from inside: what a student's kernel can read, write and reach.

Each test grades a small notebook whose one exercise, ``probe()``, looks around from inside
the sandboxed kernel and returns what it found as data; the grader-side test cell fails on
anything the sandbox promises to withhold. Nothing here is assumed: every wall is tried.
"""

import json
import os
import socket
import subprocess
import sys
import threading

import nbformat
import psutil
import pytest
from conftest import ROOT

from neuroai_course.grade import Grader, Limits
from neuroai_course.grading import privileged, sandbox
from neuroai_course.project import Course

pytestmark = pytest.mark.slow

PROBE = r'''
import ctypes, importlib.util, os, resource, socket, sys, time

def probe(paths, port):
    spin = time.process_time()  # one second of the kernel's own CPU, for the grader to see
    while time.process_time() - spin < 1.0:
        pass
    def can_read(p):
        try:
            if os.path.isdir(p):
                os.listdir(p)
            else:
                open(p, "rb").read(1)
            return True
        except OSError:
            return False

    def can_write(p):
        try:
            with open(p, "a"):
                pass
            return True
        except OSError:
            return False

    def can_connect(port):
        s = socket.socket()
        s.settimeout(1.0)
        try:
            s.connect(("127.0.0.1", port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    status = open("/proc/self/status").read()
    uid_line = next(l for l in status.splitlines() if l.startswith("Uid:"))
    writable = []
    for root in ("/", "/usr", "/etc", "/proc/sys/kernel", "/sys", "/dev", "/home", "/var"):
        if os.path.isdir(root) and os.access(root, os.W_OK):
            writable.append(root)
    return {
        "uid": os.getuid(), "uid_line": uid_line,
        "uid_map": open("/proc/self/uid_map").read().split(),
        "readable": [p for p in paths if can_read(p)],
        "core_pattern_writable": can_write("/proc/sys/kernel/core_pattern"),
        "cgroup_writable": [p for p in ("/sys/fs/cgroup/pids/neuroai", "/sys/fs/cgroup")
                            if os.path.exists(p) and os.access(p, os.W_OK)],
        "writable": writable,
        "listener_reached": can_connect(port),
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "shm_private": not os.listdir("/dev/shm"),
        "cwd_writable": os.access(os.getcwd(), os.W_OK),
        "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
        "nested_userns": ctypes.CDLL(None, use_errno=True).unshare(0x10000000) == 0,
        "seccomp": next(l.split()[1] for l in status.splitlines() if l.startswith("Seccomp:")),
        # what makes a graded kernel cheap: no debugger, no drawing, bytecode and fonts ready
        "debugpy_loaded": "debugpy" in sys.modules and sys.modules["debugpy"] is not None,
        "mpl_backend": os.environ.get("MPLBACKEND"),
        "font_list": sorted(os.listdir(os.environ["MPLCONFIGDIR"]))
        if os.path.isdir(os.environ.get("MPLCONFIGDIR", "")) else [],
        "without_bytecode": sorted(
            m.__file__ for m in list(sys.modules.values())
            if getattr(m, "__file__", None) and m.__file__.endswith(".py")
            and "site-packages" in m.__file__
            and not os.path.exists(importlib.util.cache_from_source(m.__file__))),
    }
'''


#: The probe's job name, in its kernel's command line (scratch folder, connection file):
#: other tests may be grading on the machine at the same time.
PROBE_JOB = f"probe{os.getpid()}"


def probe_result(course: Course, private: list[str], port: int) -> dict:
    """Grade the probe notebook; return the probe's answer as the grader received it."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    grader = Grader(course, Limits(cell_timeout_s=120), 1)
    try:
        grader.prepare("M1T1_LIF")
        job = grader.job("M1T1_LIF", nb, PROBE_JOB)
        job["functions"] = ["probe"]
        job["tests"] = [{"grade_id": "probe", "points": 1.0,
                         "source": f"import json\nprint(json.dumps(probe({private!r}, {port})))"}]
        ((_, result),) = list(grader.run([job]))
    finally:
        grader.close()
    assert not result["error"], result
    assert result["scores"]["probe"] == [1.0, 1.0], result["messages"]
    # The kernel's CPU is measured on the kernel itself (Python in the sandbox), not on
    # bubblewrap, whose command line names the kernel too (0.05 s when it was): the probe
    # spins for one second of its own CPU (time.process_time in the kernel), a floor.
    assert result.get("kernel_cpu_seconds", 0.0) >= 1.0, result.get("kernel_cpu_seconds")
    return json.loads(result["messages"]["probe"])


def test_what_the_kernel_can_read_write_and_reach(bwrap, tmp_path):
    """Lists what the kernel sees and fails on any private file, listener or writable
    kernel setting within its reach."""
    course = Course(ROOT)
    gradebook = tmp_path / "out" / "gradebook.db"
    gradebook.parent.mkdir()
    gradebook.write_text("grades")
    submissions = tmp_path / "in" / "ana"
    submissions.mkdir(parents=True)
    (submissions / "M1T1_LIF.ipynb").write_text("{}")
    private = [str(ROOT / "solutions"), str(ROOT / "solutions" / "M1_Neurons" / "M1T1_LIF.ipynb"),
               str(ROOT / ".git"), str(ROOT / "tutorials"), str(ROOT / "neuroai_course"),
               str(gradebook), str(submissions), str(tmp_path), "/root", "/etc/shadow"]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    threading.Thread(target=lambda: listener.accept(), daemon=True).start()
    seen, done = set(), threading.Event()

    def watch():  # the kernel's user as the host's ps shows it, while it runs
        while not done.is_set():
            ps = subprocess.run(["ps", "-ww", "-eo", "user:20,args"], capture_output=True,
                                text=True)
            seen.update(line.split()[0] for line in ps.stdout.splitlines()
                        if "ipykernel_launcher" in line and PROBE_JOB in line)
            done.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        found = probe_result(course, private, port)
    finally:
        done.set()
        watcher.join()
        listener.close()
    print("\nsandbox listing:", found)
    assert found["readable"] == [], f"private files reachable: {found['readable']}"
    assert not found["listener_reached"], "a listener of the host was reached"
    assert not found["core_pattern_writable"], "/proc/sys is writable"
    assert found["cgroup_writable"] == []
    assert found["writable"] == [], f"writable system folders: {found['writable']}"
    assert found["cwd_writable"], "the private scratch folder must be writable"
    assert found["shm_private"] and found["hostname"] == "sandbox"
    assert found["nproc"] == Limits().nproc, found  # RLIMIT_NPROC, beside the pids cgroup
    assert not found["nested_userns"], "a nested user namespace could be made"
    assert found["seccomp"] == "2", found  # 2: a seccomp filter is in force
    assert not found["debugpy_loaded"] and found["mpl_backend"] == "agg", found
    assert any(f.startswith("fontlist-") for f in found["font_list"]), found["font_list"]
    assert found["without_bytecode"] == [], "\n".join(found["without_bytecode"])
    print("kernel's user as the host's ps shows it:", seen)
    if os.geteuid() == 0:
        # On the host the kernel (bubblewrap and everything below it) runs as nobody, and
        # inside it is nobody too. (/proc/self/uid_map read inside shows an outer id of 0:
        # bubblewrap nests two user namespaces, and that 0 is the outer one's, itself nobody
        # on the host; hence the check from the host.)
        assert seen == {"nobody"}, seen
        assert found["uid"] == sandbox.SANDBOX_UID, found
        assert found["uid_line"].split()[1:] == [str(sandbox.SANDBOX_UID)] * 4, found


def test_no_kernel_or_sandbox_survives_grading(bwrap):
    """After a grader closes, nothing it started is left: no child of this process (zombies
    included) and no process anywhere naming its folders (bubblewrap's command line names
    the scratch folder; an orphan would have been adopted by init). Other tests grading at
    the same time (pytest -n 2) start their own graders, with other folders."""
    me = psutil.Process()

    def children() -> set[int]:
        return {p.pid for p in me.children(recursive=True)
                if "resource_tracker" not in " ".join(_cmdline(p))}

    before = children()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def probe():\n    return 1")])
    grader = Grader(Course(ROOT), Limits(cell_timeout_s=120), 1)
    folders = (str(grader.work), str(grader.shared))
    try:
        grader.prepare("M1T1_LIF")
        job = grader.job("M1T1_LIF", nb, "survivor")
        job["functions"] = ["probe"]
        job["tests"] = [{"grade_id": "probe", "points": 1.0, "source": "assert probe() == 1"}]
        ((_, result),) = list(grader.run([job]))
        assert result["scores"]["probe"] == [1.0, 1.0], result
    finally:
        grader.close()
    left = children() - before
    named = [p.pid for p in psutil.process_iter()
             if any(f in " ".join(_cmdline(p)) for f in folders)]
    assert not left and not named, (left, named)


def _cmdline(p) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:  # gone, or a zombie
        return []


def test_without_bubblewrap_grading_refuses_in_one_line(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    why = sandbox.unavailable_reason()
    assert why.startswith("bubblewrap is not installed") and "\n" not in why
    from neuroai_course.project import CourseError

    with pytest.raises(CourseError, match="cannot grade untrusted notebooks safely: "
                                          "bubblewrap is not installed.*--unsandboxed"):
        Grader(Course(ROOT), Limits(), 1)


def test_an_environment_under_tmp_is_not_hidden_by_the_private_tmp():
    """bubblewrap applies mounts in order: the private /tmp must come before the binds of
    the site-packages and the staged library, or an environment installed under /tmp (a
    clone in /tmp, as CI machines often make) vanishes and every kernel dies at start."""
    spec = {"scratch": "/tmp/grade/scratch/h1", "limits": {"scratch_mb": 64, "nproc": 128},
            "site_packages": ["/tmp/clone/.venv/lib/python3.11/site-packages"],
            "binds": [["/tmp/grade/library-M1T1", "/opt/neuroai/lib/neuroai_core"]],
            "python": "/usr/bin/python3"}
    argv = sandbox.bwrap_argv(spec, "/tmp/grade/conn/h1.json")
    tmp = max(i for i, a in enumerate(argv) if a == "/tmp" and argv[i - 1] == "--tmpfs")
    for path in (*spec["site_packages"], "/tmp/grade/library-M1T1", spec["scratch"]):
        assert argv.index(path) > tmp, (path, argv)


def test_an_environment_only_root_may_enter_is_reached_through_a_view(bwrap, monkeypatch):
    """A virtual environment under ``/root`` or in a private temporary folder (mode 700)
    cannot be opened by bubblewrap, which runs as the sandbox user: the launcher binds it
    at a view first. A package folder made here, inside such a folder, must be importable
    by the sandboxed kernel."""
    import shutil
    import stat
    import tempfile
    from pathlib import Path

    if os.geteuid() != 0:
        pytest.skip("only root drops to the sandbox user (as a user, bubblewrap runs as you)")
    private = Path(tempfile.mkdtemp(prefix="neuroai-private-env-"))
    try:
        site = private / "lib" / "site-packages"
        site.mkdir(parents=True)
        (site / "reach_probe.py").write_text("VALUE = 'read through the view'\n")
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        # the premise: bubblewrap as the sandbox user cannot bind the folder by its path
        direct = subprocess.run([*sandbox.drop_root(), "bwrap", "--ro-bind", "/", "/",
                                 "--ro-bind", str(site), str(site), "true"],
                                capture_output=True, text=True)
        assert direct.returncode != 0 and "Permission denied" in direct.stderr, direct
        real = sandbox.site_packages()
        monkeypatch.setattr(sandbox, "site_packages", lambda: [*real, str(site)])
        cell = "import reach_probe\n\ndef probe():\n    return reach_probe.VALUE\n"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
        grader = Grader(Course(ROOT), Limits(cell_timeout_s=120), 1)
        try:
            grader.prepare("M1T1_LIF")
            job = grader.job("M1T1_LIF", nb, f"view{os.getpid()}")
            job["functions"] = ["probe"]
            job["tests"] = [{"grade_id": "probe", "points": 1.0,
                             "source": "assert probe() == 'read through the view'"}]
            result = privileged.grade_handin(grader.localize(job))
        finally:
            grader.close()
    finally:
        shutil.rmtree(private)
    assert not result["error"], result
    assert result["scores"]["probe"] == [1.0, 1.0], result["messages"]


def test_limits_reject_bad_values():
    with pytest.raises(ValueError, match="mem_mb must be a positive whole number, got 0"):
        Limits(mem_mb=0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-s"]))


def test_a_limit_that_cannot_be_applied_stops_grading_in_one_line(bwrap, monkeypatch):
    """Fail closed: where a cgroup cannot be made, grading refuses before any hand-in,
    naming what is missing (it used to go on without the limit and still claim it)."""
    from neuroai_course.project import CourseError

    if os.geteuid() != 0:
        pytest.skip("cgroups are made as root")
    monkeypatch.setattr(privileged, "_cgroup_dirs", lambda name: {})
    with pytest.raises(CourseError, match=r"^cannot grade untrusted notebooks safely: no "
                                          r"cpu, memory, pids cgroup") as err:
        Grader(Course(ROOT), Limits(), 1)
    assert "\n" not in str(err.value)
