"""Shared helpers: the course under test and throwaway copies of it."""

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neuroai_course.project import Course

ROOT = Path(__file__).resolve().parents[1]
COURSE_FILES = ("_config.yml", "_toc.yml", "book", "solutions", "tutorials")


def copy_course(dst: Path) -> Course:
    """A copy of the course's content (not the package) in ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name)
        else:
            shutil.copyfile(src, dst / name)
    return Course(dst)


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(ROOT)


def tutorial_ids() -> list[str]:
    return [t.id for t in Course(ROOT).tutorials()]


def shared_tmp(tmp_path_factory) -> Path:
    """A folder that every pytest-xdist worker of this session shares (the session's own
    temporary folder when not under xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The student and instructor websites of a copy of the course, built once per session:
    the first xdist worker that asks builds them (2-3 minutes) under a file lock, the other
    reuses them. Returns ``(course copy, student site, instructor site)``.

    ``NEUROAI_TEST_BOOK=/some/folder`` keeps the build there and reuses it in later
    sessions (remove the folder to rebuild): handy while working on the website tests."""
    from neuroai_course.book import build_book

    kept = os.environ.get("NEUROAI_TEST_BOOK")
    folder = Path(kept) if kept else shared_tmp(tmp_path_factory) / "built-book"
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / "done.json"
    with open(folder / "lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder / "course", ignore_errors=True)
            copy = copy_course(folder / "course")
            student = build_book(copy).parent
            instructor = build_book(copy, instructor=True).parent
            done.write_text(json.dumps({"student": str(student),
                                        "instructor": str(instructor)}))
        paths = json.loads(done.read_text())
    return Course(folder / "course"), Path(paths["student"]), Path(paths["instructor"])


APT_LOCK_WAIT_S = 300


def apt_install(package: str, timeout_s: int = 900) -> str:
    """Install a Debian package (as root, with apt-get, updating the index if the first
    try fails); return why it could not be, or ''.

    When another install holds the package manager's lock, apt-get waits for it (at most
    ``APT_LOCK_WAIT_S`` seconds, ``DPkg::Lock::Timeout``) instead of failing at once; the
    wait is announced on the terminal."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"not root or no apt-get: cannot install Debian's {package}"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", f"DPkg::Lock::Timeout={APT_LOCK_WAIT_S}"]
    print(f"\ninstalling Debian's {package} with apt-get (waits up to {APT_LOCK_WAIT_S} s "
          "if another install holds the package manager's lock)", file=sys.__stderr__,
          flush=True)
    for cmd in (["apt-get", *wait, "install", "-y", "-qq", package],
                ["apt-get", *wait, "update", "-qq"],
                ["apt-get", *wait, "install", "-y", "-qq", package]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=timeout_s + APT_LOCK_WAIT_S)
        if "install" in cmd and proc.returncode == 0:
            return ""
    return f"apt-get install {package} failed: {proc.stderr.strip()[-200:]}"


@pytest.fixture(scope="module")
def bwrap():
    """Grading untrusted notebooks needs bubblewrap: installed here when missing; fails
    (never skips) with the reason when the sandbox cannot work on this machine."""
    from neuroai_course.grading import sandbox

    if not shutil.which("bwrap"):
        why = apt_install("bubblewrap")
        assert not why, why
    if subprocess.run([sandbox.SECCOMP_PYTHON, "-c", "import seccomp"],
                      capture_output=True).returncode != 0:
        why = apt_install("python3-seccomp")
        assert not why, why
    why = sandbox.unavailable_reason()
    assert not why, why
