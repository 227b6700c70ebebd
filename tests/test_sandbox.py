"""The grading sandbox, tested directly: each cap and wall is measured, not assumed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from neuroai_course.grade import kill_cgroup, make_cgroup
from neuroai_course.sandbox import namespaces_work

needs_ns = pytest.mark.skipif(not namespaces_work(),
                              reason="unshare cannot create mount and PID namespaces here")


def sandboxed(code: str, tmp_path: Path, *extra: str, mode: str = "ns"):
    cmd = [sys.executable, "-m", "neuroai_course.sandbox", "--mode", mode,
           "--workdir", str(tmp_path / "scratch"), "--mem-mb", "1024", *extra,
           "--", sys.executable, "-c", code]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@needs_ns
def test_files_hidden_read_only_and_private_scratch(tmp_path):
    secret = tmp_path / "grader"
    secret.mkdir()
    (secret / "gradebook.db").write_text("hidden tests")
    code = ("import os\n"
            f"print(sorted(os.listdir({str(secret)!r})))\n"
            f"print(len(os.listdir({str(ROOT / 'solutions')!r})))\n"
            "open('mine.txt', 'w').write('ok'); print(os.listdir('.'))\n"
            "try:\n    open(os.path.join(" + repr(str(ROOT)) + ", 'HACKED'), 'w')\n"
            "except OSError as err:\n    print(type(err).__name__, err.errno)\n"
            "caps = [x for x in open('/proc/self/status') if x.startswith('CapEff')]\n"
            "print(caps[0].split()[1])\n"
            "print(len([p for p in os.listdir('/proc') if p.isdigit()]))\n")
    proc = sandboxed(code, tmp_path, "--hide", str(secret), "--hide", str(ROOT / "solutions"))
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stderr
    assert lines[0] == "[]"  # the grader's folder is an empty tmpfs
    assert lines[1] == "0"  # so are the course's solutions
    assert "mine.txt" in lines[2]
    assert lines[3] == "OSError 30"  # EROFS: the course is read-only
    assert int(lines[4], 16) == 0  # no capabilities left
    assert int(lines[5]) <= 3  # its own PID namespace: it sees only itself
    assert not (ROOT / "HACKED").exists()
    assert (secret / "gradebook.db").read_text() == "hidden tests"


@needs_ns
def test_memory_cap_raises_memory_error(tmp_path):
    code = "try:\n    x = bytearray(2 * 1024**3)\nexcept MemoryError:\n    print('MemoryError')\n"
    proc = sandboxed(code, tmp_path)
    assert proc.stdout.strip() == "MemoryError", proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="pids cgroups need root")
def test_process_cap_stops_a_fork_bomb(tmp_path):
    cgroup = make_cgroup(f"neuroai-test-{os.getpid()}", 20)
    if cgroup is None:
        pytest.skip("no pids cgroup controller on this machine")
    code = ("import os, time\nkids = 0\nfor _ in range(500):\n    try:\n        pid = os.fork()\n"
            "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(20)\n"
            "        os._exit(0)\n    kids += 1\nprint(kids)\n")
    try:
        proc = sandboxed(code, tmp_path, "--cgroup", cgroup)
        kids = int(proc.stdout.strip().splitlines()[-1])
        assert 5 < kids < 20, kids  # stopped by pids.max = 20, which counts the launcher too
    finally:
        kill_cgroup(cgroup)
        os.rmdir(cgroup)
