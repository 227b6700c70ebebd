"""``neuroai certs DIR``: the certificates of an authenticated grading cluster.

A Dask cluster that grades runs the students' code and the hidden tests, and hands its
results to the instructor's client, which unpickles them. Whoever can talk to its scheduler
can therefore run code on every worker, read every hand-in and hidden test, and forge
grades. ``neuroai grade --scheduler`` thus only talks to a scheduler over mutual TLS
(``tls://``): every connection, in both directions, shows a certificate signed by the
course's own certificate authority (CA), and a peer without one is refused during the
handshake, before any message is read (Dask's :class:`distributed.security.Security`; Dask
checks the chain, not the host name).

:func:`write` makes that authority and one certificate per role, in a folder:

=====================  ==========================================  ======================
file                   what                                        goes to
=====================  ==========================================  ======================
``ca.pem``             the CA's certificate                        every machine
``ca-key.pem``         the CA's key (signs the others; keep it)    nowhere: stays here
``scheduler.pem``      the scheduler's certificate (its host       the scheduler's machine
                       names and addresses as subject alternative
                       names)
``scheduler-key.pem``  its key                                     the scheduler's machine
``worker.pem``         the workers' certificate                    every worker machine
``worker-key.pem``     its key                                     every worker machine
``client.pem``         the client's certificate (client only: it   the instructor's machine
                       cannot serve as a scheduler or a worker)
``client-key.pem``     its key                                     the instructor's machine
=====================  ==========================================  ======================

Keys are written with mode 0600 (readable by their owner only: not by the sandbox's user,
``nobody``, under which the students' code runs), certificates with 0644. Keys are ECDSA on
the NIST P-256 curve; certificates are valid for ``days`` days (default 365).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shlex
import stat
from pathlib import Path

from neuroai_course.project import CourseError

ROLES = ("scheduler", "worker", "client")
#: Role -> (certificate, key) file names in a folder written by :func:`write`.
FILES = {"ca": ("ca.pem", "ca-key.pem"), **{r: (f"{r}.pem", f"{r}-key.pem") for r in ROLES}}
DEFAULT_HOSTS = ("localhost", "127.0.0.1")
DEFAULT_DAYS = 365
PORT = 8786
CA_NAME = "neuroai grading CA"


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem(obj) -> bytes:
    from cryptography.hazmat.primitives import serialization

    if hasattr(obj, "private_bytes"):
        return obj.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    return obj.public_bytes(serialization.Encoding.PEM)


def _san(host: str):
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _certificate(subject: str, key, issuer_cert, issuer_key, days: int, ca: bool = False,
                 usages: tuple = (), hosts: tuple[str, ...] = ()):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "neuroai course"),
                      x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.timezone.utc)
    issuer = issuer_cert.subject if issuer_cert is not None else name
    builder = (x509.CertificateBuilder()
               .subject_name(name).issuer_name(issuer)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))  # clocks a little apart
               .not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None),
                              critical=True)
               .add_extension(x509.KeyUsage(digital_signature=not ca, key_cert_sign=ca,
                                            crl_sign=ca, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False)
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
    return builder.sign(issuer_key if issuer_key is not None else key, hashes.SHA256())


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` with permissions ``mode`` from its creation on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # an existing file (--force) keeps its old mode otherwise
        os.write(fd, data)
    finally:
        os.close(fd)


def write(folder: Path, hosts: tuple[str, ...] | list[str] = DEFAULT_HOSTS,
          days: int = DEFAULT_DAYS, force: bool = False) -> dict[str, Path]:
    """Write a new CA and the scheduler's, workers' and client's certificates signed by it
    into ``folder`` (created with mode 0700 if missing).

    Parameters
    ----------
    folder : Path
        Where the files (:data:`FILES`) go.
    hosts : sequence of str
        The scheduler's host names and IP addresses (its subject alternative names).
    days : int
        Validity of every certificate, in days (at least 1).
    force : bool
        Replace the files of an earlier run; without it, an existing file is an error
        (a new CA locks out every machine holding the old certificates).

    Returns
    -------
    dict
        ``"<role>"`` and ``"<role>-key"`` -> path, for the roles ``ca`` and :data:`ROLES`.
    """
    from cryptography.x509.oid import ExtendedKeyUsageOID as EKU

    hosts = tuple(dict.fromkeys(h.strip() for h in hosts if h.strip()))
    if not hosts:
        raise CourseError("--host: give at least one host name or address of the scheduler")
    if days < 1:
        raise CourseError(f"--days must be at least 1, got {days}")
    folder = Path(folder)
    paths = {}
    for role, (cert, key) in FILES.items():
        paths[role], paths[f"{role}-key"] = folder / cert, folder / key
    if not force:
        for path in paths.values():
            if path.exists():
                raise CourseError(f"{path} exists: a new CA would lock out every machine that "
                                  "holds the old certificates (remove the folder, or --force)")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_key = _key()
    ca = _certificate(CA_NAME, ca_key, None, None, days, ca=True)
    _write(paths["ca-key"], _pem(ca_key), 0o600)
    _write(paths["ca"], _pem(ca), 0o644)
    usages = {"scheduler": (EKU.SERVER_AUTH, EKU.CLIENT_AUTH),  # it also calls the workers
              "worker": (EKU.SERVER_AUTH, EKU.CLIENT_AUTH),  # listens, calls the scheduler
              "client": (EKU.CLIENT_AUTH,)}
    for role in ROLES:
        key = _key()
        cert = _certificate(f"neuroai grading {role}", key, ca, ca_key, days,
                            usages=usages[role], hosts=hosts if role == "scheduler" else ())
        _write(paths[f"{role}-key"], _pem(key), 0o600)
        _write(paths[role], _pem(cert), 0o644)
    return paths


def address(host: str, port: int = PORT) -> str:
    """``tls://HOST:PORT`` (an IPv6 address in brackets)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"tls://{host}:{port}"


def commands(folder: Path, host: str, port: int = PORT) -> dict[str, str]:
    """The command lines that start the scheduler and a worker with the certificates of
    ``folder`` (as on this machine: copy them to the same place elsewhere), and the
    ``neuroai grade`` that grades through them."""
    from neuroai_course.cluster import SCHEDULER_ENV

    folder = Path(folder).resolve()

    def tls(role: str) -> str:
        cert, key = FILES[role]
        return (f"--tls-ca-file {shlex.quote(str(folder / FILES['ca'][0]))} "
                f"--tls-cert {shlex.quote(str(folder / cert))} "
                f"--tls-key {shlex.quote(str(folder / key))}")

    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in SCHEDULER_ENV.items())
    where = address(host, port)
    # (--dashboard-address: the HTTP server that runs even with --no-dashboard, serving
    # nothing with SCHEDULER_ENV's routes, listens on loopback, not on every interface)
    http = "--no-dashboard --dashboard-address 127.0.0.1:0"
    return {
        "scheduler": f"{env} dask scheduler --protocol tls --host {shlex.quote(host)} "
                     f"--port {port} {http} {tls('scheduler')}",
        "worker": f"{env} NEUROAI_COURSE=/path/to/the/course dask worker {where} --nworkers "
                  f"$(nproc) --nthreads 1 --memory-limit 0 {http} {tls('worker')}",
        "client": f"neuroai grade SUBMISSIONS --scheduler {where} "
                  f"--tls {shlex.quote(str(folder))}",
    }


# --- reading them back (the client) -----------------------------------------------------


def readable(option: str, path: Path, secret: bool = False) -> Path:
    """``path`` if it is a readable file; else a one-line :class:`CourseError` naming the
    option and the path. ``secret``: also refuse a file that users other than its owner
    may read or write."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise CourseError(f"{option} {path}: not a file")
        with path.open("rb"):
            pass
    except OSError as err:
        raise CourseError(f"{option} {path}: cannot read it ({err.strerror})") from None
    if secret and mode & 0o077:
        raise CourseError(f"{option} {path}: other users may read it (mode "
                          f"{stat.S_IMODE(mode):04o}); chmod 600 it")
    return path


def client_security(ca: Path, cert: Path, key: Path,
                    options: tuple[str, str, str] = ("--tls-ca", "--tls-cert", "--tls-key")):
    """A :class:`distributed.security.Security` for the client role from the three PEM
    files, checked now (unreadable file, key not the certificate's, not PEM): a one-line
    :class:`CourseError` naming the option and the path otherwise."""
    import ssl

    from distributed.security import Security

    ca = readable(options[0], ca)
    cert = readable(options[1], cert)
    key = readable(options[2], key, secret=True)
    try:
        ssl.create_default_context(cafile=str(ca))
    except ssl.SSLError as err:
        raise CourseError(f"{options[0]} {ca}: not a PEM CA certificate "
                          f"({err.reason or err})") from None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(str(cert), str(key))
    except ssl.SSLError as err:
        raise CourseError(f"{options[1]} {cert} with {options[2]} {key}: not a PEM "
                          f"certificate and its key ({err.reason or err})") from None
    return Security(require_encryption=True, tls_ca_file=str(ca), tls_client_cert=str(cert),
                    tls_client_key=str(key))


def folder_security(folder: Path):
    """:func:`client_security` from the client's files of a folder written by
    :func:`write` (``--tls DIR``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CourseError(f"--tls {folder}: no such folder (write one with 'neuroai certs')")
    cert, key = FILES["client"]
    return client_security(folder / FILES["ca"][0], folder / cert, folder / key,
                           ("--tls", "--tls", "--tls"))
