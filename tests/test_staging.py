"""What a grader leaves on the machine when it, or one of its workers, is killed.

A grading worker mounts each kernel's scratch tmpfs and unmounts it in a ``finally``; a
SIGKILL skips that (the cluster tests kill workers on purpose), and the grader that owns
the folders may be killed too. The folders and mounts must not pile up in ``/tmp``.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from neuroai_course import staging
from neuroai_course.grading.limits import Limits
from neuroai_course.project import Course


def _mounted(path: Path) -> bool:
    return any(line.split()[1] == str(path)
               for line in Path("/proc/self/mounts").read_text().splitlines())


def _mount_tmpfs(path: Path) -> bool:
    """A scratch mount as a grading worker makes it (root only); whether it was made."""
    if os.geteuid() != 0:
        return False
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=700", "tmpfs", str(path)],
                   check=True)
    assert _mounted(path)
    return True


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_the_next_grader_removes_what_a_killed_one_left(tmp_path):
    """Only folders whose owner record names a process that is gone are removed, with
    their mounts and the private folder the record names; a live grader's folders and a
    folder without a record are left alone."""
    def grader_folders(name: str, pid: int | None) -> tuple[Path, Path]:
        shared, work = tmp_path / f"neuroai-sandbox-{name}", tmp_path / f"neuroai-grade-{name}"
        (shared / "scratch" / "h1").mkdir(parents=True)
        work.mkdir()
        if pid is not None:
            (shared / staging.OWNER).write_text(f"{pid}\n{work}\n")
        return shared, work

    dead, dead_work = grader_folders("dead", _dead_pid())
    live, live_work = grader_folders("live", os.getpid())
    unowned, unowned_work = grader_folders("unowned", None)
    mounted = _mount_tmpfs(dead / "scratch" / "h1")
    # A sandbox that outlived its grader (its command line binds the dead grader's scratch),
    # and one of the live grader's: only the first is killed.
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    orphan = subprocess.Popen([*sleeper, "--bind", str(dead / "scratch" / "h1")])
    alive = subprocess.Popen([*sleeper, "--bind", str(live / "scratch" / "h1")])
    try:
        assert staging.remove_stale(tmp_path) == [dead]
        assert orphan.wait(timeout=10) == -9 and alive.poll() is None
    finally:
        alive.kill()
        orphan.kill()
        if mounted and _mounted(dead / "scratch" / "h1"):
            subprocess.run(["umount", "-l", str(dead / "scratch" / "h1")])
    assert not dead.exists() and not dead_work.exists()
    assert all(p.exists() for p in (live, live_work, unowned, unowned_work))


def test_a_record_naming_a_folder_elsewhere_removes_only_the_shared_one(tmp_path):
    """The record is read from a folder in /tmp: it cannot name a folder outside it for
    removal (only a ``neuroai-grade-*`` beside the shared folder is taken)."""
    keep = tmp_path / "elsewhere" / "important"
    keep.mkdir(parents=True)
    shared = tmp_path / "neuroai-sandbox-x"
    shared.mkdir()
    (shared / staging.OWNER).write_text(f"{_dead_pid()}\n{keep}\n")
    assert staging.remove_stale(tmp_path) == [shared]
    assert keep.exists() and not shared.exists()


def test_closing_a_grader_unmounts_what_a_killed_worker_left():
    if os.geteuid() != 0:
        pytest.skip("scratch mounts are made as root only")
    stage = staging.Stage(Course(ROOT), Limits(), unsandboxed=True)
    assert (stage.shared / staging.OWNER).read_text().split("\n")[0] == str(os.getpid())
    point = stage.shared / "scratch" / "h-killed"
    point.mkdir()
    _mount_tmpfs(point)
    stage.close()
    try:
        assert not _mounted(point) and not stage.shared.exists() and not stage.work.exists()
    finally:  # on failure, leave no mount behind either
        if _mounted(point):
            subprocess.run(["umount", "-l", str(point)])


def test_the_gradebook_schema_head_read_in_process_is_the_one_alembic_prints():
    # Expected value: nbgrader's own way, the ``alembic heads`` console script in a process.
    import nbgrader.api

    from neuroai_course import nbgrader_ops

    nbgrader_ops.scripts_on_path()
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite:///gradebook.db") as ini:
        out = subprocess.run(["alembic", "-c", ini, "heads"], capture_output=True, text=True,
                             check=True).stdout
    assert nbgrader_ops.alembic_head() == out.split()[0]
    assert nbgrader.api.get_alembic_version is nbgrader_ops.alembic_head


def test_bytecode_pass_imports_the_sources_imports_once_and_writes_their_bytecode(tmp_path):
    import nbformat

    from neuroai_course.grading import bytecode

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import json\nfrom pkg_x import y as z\nx = 1"),
                nbformat.v4.new_code_cell("import hidden_only"),
                nbformat.v4.new_code_cell("%matplotlib inline\nimport nope")]
    nb.cells[1].metadata["nbgrader"] = {"grade": True}  # a test cell: not the kernel's
    assert bytecode.import_lines(nb) == ["import json", "from pkg_x import y as z"]
    # A module of our own, never compiled, imported by the pass: its bytecode appears.
    pkg = tmp_path / "site"
    pkg.mkdir()
    (pkg / "tiny_mod.py").write_text("VALUE = 3\n")
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = f"{pkg}{os.pathsep}{env_path}" if env_path else str(pkg)
    try:
        stamps = tmp_path / "stamps"
        assert bytecode.ensure(["import tiny_mod", "import missing_mod_xyz"], [str(pkg)],
                               stamps=stamps)
        assert list((pkg / "__pycache__").glob("tiny_mod.*.pyc"))
        assert len(list(stamps.glob("[0-9a-f]*"))) == 1
        assert not bytecode.ensure(["import tiny_mod", "import missing_mod_xyz"], [str(pkg)],
                                   stamps=stamps)  # done: the stamp says so
        # Three at once (the client and two local workers): one pass, the others wait.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(3) as pool:
            ran = list(pool.map(lambda _: bytecode.ensure(["import json"], [str(pkg)],
                                                          stamps=stamps), range(3)))
        assert sorted(ran) == [False, False, True], ran
    finally:
        if env_path:
            os.environ["PYTHONPATH"] = env_path
        else:
            del os.environ["PYTHONPATH"]
