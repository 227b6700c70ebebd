"""An authenticated grading cluster, and no secrets on the command line.

`neuroai certs` writes a CA and the scheduler's, workers' and client's certificates; these
tests check them with `cryptography` and with OpenSSL itself (through Python's `ssl`, which
is what Dask uses), never with the code that wrote them. On loopback, a scheduler and a
worker started with them (`dask scheduler` / `dask worker`, as in the instructor guide)
serve a client that holds the client certificate, and refuse a plain-TCP client, a TLS
client without a certificate, a client and a worker holding certificates of another CA.
`neuroai grade` refuses a `tcp://` scheduler without `--insecure-cluster`, names the option
and the path of a missing certificate, and refuses a gradebook password on its command
line (`--db`), taking it from `NEUROAI_DB_URL` or a private `--db-file` instead.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import ssl
import time
from pathlib import Path

import pytest
from conftest import ROOT
from test_course import assert_one_line_error, neuroai

from neuroai_course import certs
from neuroai_course.cluster import INSECURE, Pool
from neuroai_course.handgrade import config_text
from neuroai_course.project import CourseError


def _load(path: Path):
    from cryptography import x509

    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tls") / "certs"
    certs.write(folder, hosts=["sched.example.org", "10.1.2.3", "127.0.0.1"])
    return folder


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tls") / "other"
    certs.write(folder)
    return folder


# --- the certificates ---------------------------------------------------------------------


def test_certificates_chain_to_their_ca_and_keys_are_private(tls, other_ca):
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from cryptography.x509.oid import ExtendedKeyUsageOID as EKU

    assert {p.name for p in tls.iterdir()} == {
        "ca.pem", "ca-key.pem", "scheduler.pem", "scheduler-key.pem", "worker.pem",
        "worker-key.pem", "client.pem", "client-key.pem"}  # the names the guide gives
    assert (tls.stat().st_mode & 0o777) == 0o700
    for path in tls.iterdir():
        want = 0o600 if path.name.endswith("-key.pem") else 0o644
        assert (path.stat().st_mode & 0o777) == want, (path.name, oct(path.stat().st_mode))
    ca = _load(tls / "ca.pem")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ca.verify_directly_issued_by(ca)  # self-signed
    for role in certs.ROLES:
        cert = _load(tls / f"{role}.pem")
        cert.verify_directly_issued_by(ca)  # raises if the signature is not the CA's
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        key = load_pem_private_key((tls / f"{role}-key.pem").read_bytes(), None)
        assert key.public_key() == cert.public_key(), role
        with pytest.raises((ValueError, InvalidSignature)):  # the check can fail
            cert.verify_directly_issued_by(_load(other_ca / "ca.pem"))
    san = _load(tls / "scheduler.pem").extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    import ipaddress
    assert set(san.get_values_for_type(x509.DNSName)) == {"sched.example.org"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("10.1.2.3"), ipaddress.ip_address("127.0.0.1")}
    usage = {r: set(_load(tls / f"{r}.pem").extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value) for r in certs.ROLES}
    assert usage["client"] == {EKU.CLIENT_AUTH}  # cannot serve as a scheduler
    assert usage["scheduler"] == usage["worker"] == {EKU.CLIENT_AUTH, EKU.SERVER_AUTH}


def _handshake(server_cert: tuple[Path, Path], ca_server: Path, client_cert, ca_client: Path):
    """An OpenSSL handshake over a socket pair, each side checking the other's certificate
    against its CA as Dask does (CERT_REQUIRED, no host name check); the error or None."""
    import threading

    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca_server))
    server.load_cert_chain(*map(str, server_cert))
    server.verify_mode = ssl.CERT_REQUIRED
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_client))
    client.check_hostname = False
    if client_cert:
        client.load_cert_chain(*map(str, client_cert))
    a, b = socket.socketpair()
    errors = []

    def serve():
        try:
            with server.wrap_socket(a, server_side=True) as s:
                s.sendall(b"x")
                s.recv(1)
        except (ssl.SSLError, OSError) as err:
            errors.append(err)

    t = threading.Thread(target=serve)
    t.start()
    try:
        with client.wrap_socket(b) as s:
            if not s.recv(1):
                errors.append(ConnectionError("closed"))
            s.sendall(b"y")
    except (ssl.SSLError, OSError) as err:
        errors.append(err)
    t.join(10)
    return errors[0] if errors else None


def test_openssl_accepts_the_roles_it_should_and_only_those(tls, other_ca):
    pair = {r: (tls / f"{r}.pem", tls / f"{r}-key.pem") for r in certs.ROLES}
    ca = tls / "ca.pem"
    assert _handshake(pair["scheduler"], ca, pair["client"], ca) is None
    assert _handshake(pair["scheduler"], ca, pair["worker"], ca) is None
    assert _handshake(pair["worker"], ca, pair["scheduler"], ca) is None
    # refused: no client certificate; a client certificate of another CA; a client
    # certificate used to serve (its extended key usage is client only)
    assert _handshake(pair["scheduler"], ca, None, ca) is not None
    other = (other_ca / "client.pem", other_ca / "client-key.pem")
    assert _handshake(pair["scheduler"], ca, other, ca) is not None
    assert _handshake(pair["client"], ca, pair["worker"], ca) is not None


def test_certs_never_replaces_a_ca_unasked_and_prints_the_commands(tmp_path):
    folder = tmp_path / "tls"
    ran = neuroai(ROOT, "certs", folder, "--host", "login1.example", "--host", "10.0.0.5")
    assert ran.returncode == 0, ran.stderr
    for line in (f"--tls-ca-file {folder}/ca.pem --tls-cert {folder}/scheduler.pem "
                 f"--tls-key {folder}/scheduler-key.pem",
                 "dask scheduler --protocol tls --host login1.example --port 8786",
                 "dask worker tls://login1.example:8786 ",
                 f"--tls-cert {folder}/worker.pem --tls-key {folder}/worker-key.pem",
                 f"--scheduler tls://login1.example:8786 --tls {folder}"):
        assert line in ran.stdout, (line, ran.stdout)
    first = (folder / "ca.pem").read_bytes()
    again = neuroai(ROOT, "certs", folder)
    assert_one_line_error(again, str(folder / "ca.pem"), "--force")
    assert (folder / "ca.pem").read_bytes() == first
    assert neuroai(ROOT, "certs", folder, "--force").returncode == 0
    assert (folder / "ca.pem").read_bytes() != first
    assert_one_line_error(neuroai(ROOT, "certs", tmp_path / "x", "--days", "0"), "--days")


def _command_lines(text: str, starts: tuple[str, ...]) -> list[str]:
    """The commands starting with one of ``starts`` in the ``bash`` blocks of ``text``
    (continuation lines joined; what follows a redirection, a quote or ``&&`` cut)."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for start in starts:
                i = line.find(start)
                if i >= 0:
                    found.append(re.split(r" >|'|&&|#", line[i:])[0])
    return found


def _parse(command: str, tls: Path) -> None:
    """Parse ``command`` (``dask scheduler``, ``dask worker`` or ``neuroai``) with the
    program's own parser, its certificate paths pointing at the files of ``tls``."""
    from distributed.cli.dask_scheduler import main as dask_scheduler
    from distributed.cli.dask_worker import main as dask_worker

    from neuroai_course.cli import parser

    command = re.sub(r"\S*/((ca|scheduler|worker|client)(-key)?\.pem)", rf"{tls}/\1", command)
    args = shlex.split(command.replace("$(nproc)", "4"))
    if args[:2] == ["dask", "scheduler"]:
        dask_scheduler.make_context("dask scheduler", args[2:])
    elif args[:2] == ["dask", "worker"]:
        dask_worker.make_context("dask worker", args[2:])
    else:
        parser().parse_args(args[1:])


def test_the_printed_and_documented_commands_parse(tls, tmp_path):
    """The commands `neuroai certs` prints and those of the guide's cluster and gradebook
    sections, parsed by `dask scheduler`, `dask worker` and `neuroai` themselves."""
    printed = certs.commands(tls, "sched.example.org")
    for command in printed.values():
        _parse(command[command.find("dask "):] if "dask " in command else command, tls)
    guide = (ROOT / "book" / "instructor.md").read_text()
    sections = guide.split("## Grading a cohort", 1)[1].split("\n## The cohort report")[0]
    commands = _command_lines(sections, ("dask scheduler", "dask worker", "neuroai "))
    kinds = {" ".join(c.split()[:2]) for c in commands}
    assert {"dask scheduler", "dask worker", "neuroai grade", "neuroai certs"} <= kinds, kinds
    for command in commands:
        _parse(command, tls)
    for command in [c for c in commands if c.startswith("dask ")] + [
            printed["scheduler"], printed["worker"]]:
        assert "--tls-ca-file" in command and "--no-dashboard" in command, command
    grade = [c for c in commands if c.startswith("neuroai grade") and "--scheduler" in c]
    assert grade and all("tls://" in c and "--tls " in c for c in grade), grade


# --- neuroai grade: what it accepts ---------------------------------------------------------


@pytest.fixture
def handins(tmp_path) -> Path:
    """A cohort of one file that is no hand-in: grading it needs no cluster."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a notebook\n")
    return folder


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "127.0.0.1:8786"])
def test_grade_refuses_a_scheduler_without_tls_unless_told(handins, tmp_path, address):
    out = tmp_path / "out"
    ran = neuroai(ROOT, "grade", handins, "--out", out, "--scheduler", address)
    assert_one_line_error(ran, address, "--insecure-cluster", "refused")
    assert not out.exists()  # refused before anything was read or written


def test_grade_names_the_option_and_path_of_a_missing_or_wrong_certificate(
        handins, tmp_path, tls):
    out = tmp_path / "out"
    tls_at = ("--scheduler", "tls://127.0.0.1:8786")
    ran = neuroai(ROOT, "grade", handins, "--out", out, *tls_at)
    assert_one_line_error(ran, "--tls")  # a tls:// address without certificates
    missing = tmp_path / "nowhere" / "ca.pem"
    ran = neuroai(ROOT, "grade", handins, "--out", out, *tls_at, "--tls-ca", missing,
                  "--tls-cert", tls / "client.pem", "--tls-key", tls / "client-key.pem")
    assert_one_line_error(ran, "--tls-ca", str(missing))
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("ca.pem", "client.pem"):
        (partial / name).write_bytes((tls / name).read_bytes())
    ran = neuroai(ROOT, "grade", handins, "--out", out, *tls_at, "--tls", partial)
    assert_one_line_error(ran, "--tls", str(partial / "client-key.pem"))
    (partial / "client-key.pem").write_bytes((tls / "worker-key.pem").read_bytes())
    os.chmod(partial / "client-key.pem", 0o600)
    ran = neuroai(ROOT, "grade", handins, "--out", out, *tls_at, "--tls", partial)
    assert_one_line_error(ran, "--tls", str(partial / "client.pem"))  # not its key
    os.chmod(partial / "client-key.pem", 0o644)
    ran = neuroai(ROOT, "grade", handins, "--out", out, *tls_at, "--tls", partial)
    assert_one_line_error(ran, "--tls", str(partial / "client-key.pem"), "chmod 600")
    ran = neuroai(ROOT, "grade", handins, "--out", out, *tls_at, "--insecure-cluster")
    assert_one_line_error(ran, "--insecure-cluster")  # no such thing for a TLS address
    ran = neuroai(ROOT, "grade", handins, "--out", out, "--tls", tls)
    assert_one_line_error(ran, "--tls", "--scheduler")  # the local cluster makes its own
    assert not out.exists()


def test_a_library_caller_is_refused_too():
    with pytest.raises(CourseError, match="--insecure-cluster"):
        Pool(1, "tcp://127.0.0.1:8786").start()
    with pytest.raises(CourseError, match="--tls"):
        Pool(1, "tls://127.0.0.1:8786").start()


# --- the gradebook's password -----------------------------------------------------------


@pytest.mark.parametrize("url", ["postgresql://grader:s3cr3t-pw@db.example/gradebook",
                                 "postgresql://grader@db.example/gb?password=s3cr3t-pw"])
def test_a_password_on_the_command_line_is_refused(handins, tmp_path, url):
    out = tmp_path / "out"
    for command in (("grade", handins, "--out", out), ("finalize", out)):
        ran = neuroai(ROOT, *command, "--db", url)
        assert_one_line_error(ran, "--db", "NEUROAI_DB_URL", "--db-file")
        assert "s3cr3t" not in ran.stderr + ran.stdout  # not echoed either
    assert not out.exists()


CONFIG = "nbgrader_config.py"


def test_the_gradebook_url_comes_from_a_private_file_or_the_environment(
        handins, tmp_path, monkeypatch):
    url_file = tmp_path / "db-url"
    db = tmp_path / "from-file.db"
    url_file.write_text(f"# the gradebook\nsqlite:///{db}\n")
    os.chmod(url_file, 0o644)
    ran = neuroai(ROOT, "grade", handins, "--out", tmp_path / "a", "--db-file", url_file)
    assert_one_line_error(ran, "--db-file", str(url_file), "chmod 600")
    assert not db.exists()
    os.chmod(url_file, 0o600)
    # The cohort holds no notebook, so no kernel runs: --unsandboxed lets the run finish on
    # a machine without the grading sandbox (the fast tier runs there too).
    ran = neuroai(ROOT, "grade", handins, "--out", tmp_path / "a", "--db-file", url_file,
                  "--unsandboxed")
    assert ran.returncode == 0, ran.stderr
    # the gradebook the run used, as the hand-grading configuration records it
    assert f"db_url = {str(f'sqlite:///{db}')!r}" in (tmp_path / "a" / CONFIG).read_text()
    env_db = tmp_path / "from-env.db"
    monkeypatch.setenv("NEUROAI_DB_URL", f"sqlite:///{env_db}")
    ran = neuroai(ROOT, "grade", handins, "--out", tmp_path / "b", "--unsandboxed")
    assert ran.returncode == 0, ran.stderr
    assert f"db_url = {str(f'sqlite:///{env_db}')!r}" in (tmp_path / "b" / CONFIG).read_text()
    missing = tmp_path / "none"
    ran = neuroai(ROOT, "grade", handins, "--out", tmp_path / "c", "--db-file", missing)
    assert_one_line_error(ran, "--db-file", str(missing))


def test_the_hand_grading_configuration_never_holds_the_password(tmp_path):
    url = "postgresql://grader:s3cr3t-pw@db.example/gradebook"
    text = config_text(tmp_path, url)
    assert "s3cr3t" not in text and 'os.environ["NEUROAI_DB_URL"]' in text
    text = config_text(tmp_path, "postgresql://grader@db.example/gradebook?password=s3cr3t")
    assert "s3cr3t" not in text
    assert "postgresql://grader@db.example/gradebook" in config_text(
        tmp_path, "postgresql://grader@db.example/gradebook")  # no password: written


# --- on loopback: who gets in -------------------------------------------------------------


def _refused_raw(address: str, context: ssl.SSLContext) -> bool:
    """Whether the scheduler at ``address`` ends a TLS connection made with ``context``
    (bytes sent, nothing received but the end); a scheduler that accepted it would wait
    for the rest of a Dask frame instead, and the read would time out."""
    host, port = address.split("://")[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=20) as raw:
        try:
            with context.wrap_socket(raw) as s:
                s.sendall((1).to_bytes(8, "little"))
                return s.recv(1) == b""
        except (ssl.SSLError, ConnectionError):
            return True


@pytest.mark.slow
def test_only_holders_of_the_cas_certificates_connect_submit_or_serve(tmp_path, tls, other_ca):
    from distributed import Client
    from test_cluster import Cluster

    c = Cluster(tmp_path, ROOT, tls=tls)  # dask scheduler with scheduler.pem
    try:
        assert c.address.startswith("tls://127.0.0.1:")
        c.add_worker()
        # the right client grades' plumbing: Pool configures the scheduler and runs a job
        pool = Pool(1, c.address, security=certs.folder_security(tls))
        pool.start()
        try:
            assert pool.client.submit(pow, 2, 10, pure=False).result(timeout=60) == 1024
            assert all(w.startswith("tls://") for w in pool.worker_addresses())
            # plain TCP (Dask's client, which test_a_plain_tcp_scheduler_is_used_when_told
            # shows connecting to a TCP scheduler): refused
            with pytest.raises((OSError, TimeoutError, AssertionError)):
                Client(c.address.replace("tls://", "tcp://"), timeout="3s")
            # TLS without a client certificate: the handshake fails
            anonymous = ssl.create_default_context(cafile=str(tls / "ca.pem"))
            anonymous.check_hostname = False
            assert _refused_raw(c.address, anonymous)
            # a certificate of another CA: refused, by the client (it does not trust the
            # scheduler) and, when the client trusts ours (ca.pem is no secret), by the
            # scheduler
            with pytest.raises(OSError, match="certificate"):
                Client(c.address, timeout="5s", security=certs.folder_security(other_ca))
            log = c.folder / "scheduler.log"
            with pytest.raises(OSError, match="certificate|closed"):
                Client(c.address, timeout="5s", security=certs.client_security(
                    tls / "ca.pem", other_ca / "client.pem", other_ca / "client-key.pem"))
            assert "unable to get local issuer certificate" in log.read_text()
            # a worker with a certificate of another CA (trusting ours: ca.pem is no
            # secret) does not join, it would receive hand-ins: the scheduler refuses it
            rogue = tmp_path / "rogue"
            rogue.mkdir()
            (rogue / "ca.pem").write_bytes((tls / "ca.pem").read_bytes())
            for name in ("worker.pem", "worker-key.pem"):
                (rogue / name).write_bytes((other_ca / name).read_bytes())
            os.chmod(rogue / "worker-key.pem", 0o600)
            before = pool.worker_addresses()
            refusals = log.read_text(errors="replace").count("TLS handshake failed")
            c.add_worker(tls=rogue, wait=False)
            deadline = time.time() + 90
            while log.read_text(errors="replace").count("TLS handshake failed") <= refusals:
                assert time.time() < deadline, log.read_text(errors="replace")
                time.sleep(0.5)
            time.sleep(2)  # a worker let in would have registered by now
            assert pool.worker_addresses() == before
            # the scheduler saw one client (ours) and no task but ours
            seen = pool.client.run_on_scheduler(
                lambda dask_scheduler: (sorted(dask_scheduler.clients),
                                        sorted(map(str, dask_scheduler.tasks))))
            clients, tasks = seen
            assert [x for x in clients if x != "fire-and-forget"] == [pool.client.id]
            assert all(t.startswith("pow-") for t in tasks), tasks
        finally:
            pool.close()
    finally:
        c.close()


def _listening(pids: list[int]) -> list[tuple[str, int]]:
    """The TCP addresses the processes ``pids`` listen on."""
    import psutil

    found = []
    for pid in pids:
        for conn in psutil.Process(pid).net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN:
                found.append((conn.laddr.ip, conn.laddr.port))
    return found


def _http_status(port: int, path: str) -> int | None:
    """The HTTP status 127.0.0.1:``port`` answers a GET of ``path`` with (None: no HTTP)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


@pytest.mark.slow
def test_the_local_cluster_runs_on_tls_on_loopback_and_serves_no_page():
    import psutil
    from distributed import Client

    pool = Pool(1, root=str(ROOT))
    pool.start()
    try:
        address = pool.cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:"), address
        assert all(w.startswith("tls://127.0.0.1:") for w in pool.worker_addresses())
        assert pool.client.submit(pow, 3, 3, pure=False).result(timeout=60) == 27
        me = psutil.Process()
        ports = _listening([me.pid] + [p.pid for p in me.children(recursive=True)])
        assert len(ports) >= 3, ports  # the scheduler, a nanny, a worker: TLS, HTTP
        assert {ip for ip, _ in ports} == {"127.0.0.1"}, ports  # nothing on all interfaces
        # Dask's HTTP server runs even without a dashboard; it must serve no page (these
        # answer 200 on a scheduler with Dask's default routes)
        for _, port in ports:
            for path in ("/status", "/json/counts.json", "/info/main/workers.html", "/metrics"):
                assert _http_status(port, path) in (None, 404), (port, path)
        with pytest.raises((OSError, TimeoutError, AssertionError)):  # plain TCP
            Client(address.replace("tls://", "tcp://"), timeout="3s")
    finally:
        pool.close()


@pytest.mark.slow
def test_a_plain_tcp_scheduler_is_used_when_told():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        pool = Pool(1, cluster.scheduler_address, security=INSECURE)
        pool.start()
        try:
            assert pool.client.submit(pow, 2, 5, pure=False).result(timeout=60) == 32
        finally:
            pool.close()
