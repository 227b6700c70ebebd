"""Past one machine: two graders write disjoint parts of a cohort into one PostgreSQL
gradebook at the same time. The test installs Debian's PostgreSQL when it is missing, runs
a private server on loopback with password authentication, and stops it afterwards."""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import apt_install, copy_course
from grading_corpus import FULL, cases, write_cohort

pytestmark = pytest.mark.slow
PASSWORD = "neuroai-test-only"


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _install() -> str:
    """Install Debian's postgresql; return why it could not be, or ''."""
    return apt_install("postgresql", timeout_s=600)


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg2", reason="psycopg2 (the 'postgres' extra) is not installed")
    if _pg_bin() is None:
        why = _install()
        if why or _pg_bin() is None:
            pytest.skip(why or "postgresql installed but pg_ctl not found")
    pg = _pg_bin()
    base = Path(tempfile.mkdtemp(prefix="neuroai-pg-", dir="/tmp"))
    os.chmod(base, 0o755)
    data, sock, pwfile = base / "data", base / "sock", base / "pw"
    sock.mkdir()
    pwfile.write_text(PASSWORD + "\n")
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_pg:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        shutil.chown(pwfile, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([*as_pg, str(pg / "initdb"), "-D", str(data), "-U", "neuroai",
                    "--auth-host=scram-sha-256", "--auth-local=trust", f"--pwfile={pwfile}"],
                   check=True, capture_output=True)
    subprocess.run([*as_pg, str(pg / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"),
                    "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg2://neuroai:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_pg, str(pg / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_two_graders_share_one_postgres_gradebook(postgres_url, tmp_path):
    from nbgrader.api import Gradebook

    course = copy_course(tmp_path / "course")
    wanted = ("ana/", "ben/", "cleo/", "eli/", "gus/", "hal/")
    corpus = [c for c in cases(course.root, tmp_path)
              if c.name.startswith(wanted) and c.name.endswith("/M1T1_LIF.ipynb")]
    write_cohort(corpus[0::2], tmp_path / "part1")
    write_cohort(corpus[1::2], tmp_path / "part2")
    # the URL holds a password: never on the command line; one grader reads it from the
    # environment, the other from a file only its owner may read
    url_file = tmp_path / "db-url"
    url_file.write_text(postgres_url + "\n")
    os.chmod(url_file, 0o600)
    how = {"part1": ([], {"NEUROAI_DB_URL": postgres_url}),
           "part2": (["--db-file", str(url_file)], {})}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "neuroai_course.cli", "--root", str(course.root), "grade",
         str(tmp_path / part), *how[part][0], "--out", str(tmp_path / f"out-{part}")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **how[part][1]})
        for part in ("part1", "part2")]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
        assert "0 failed" in out
    with Gradebook(postgres_url) as gb:
        totals = {s.student.id: s.score for s in gb.assignment_submissions("M1T1_LIF")}
    expected = {c.name.split("/")[0]: c.total for c in corpus}
    assert totals == expected
    assert max(totals.values()) == FULL
    for part in ("part1", "part2"):  # the hand-grading configuration: no password either
        config = (tmp_path / f"out-{part}" / "nbgrader_config.py").read_text()
        assert PASSWORD not in config and "NEUROAI_DB_URL" in config
