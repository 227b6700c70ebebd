"""``neuroai formgrade OUT``: nbgrader's formgrader on a grading folder, safely and offline.

nbgrader 0.9 has no ``nbgrader formgrader`` command: its formgrader is a Jupyter server
extension, shown in JupyterLab's Nbgrader menu or at ``/formgrader``. This starts JupyterLab
in the grading folder ``OUT`` (the folder :mod:`neuroai_course.handgrade` lays out):

- on 127.0.0.1 only, with a random token (given to the server in its environment, never on
  its command line), no browser, ``--allow-root`` when run as root; no terminals, no
  kernels and none of nbgrader's student-side extensions (its "validate" runs a notebook):
  a hand-grading session needs none of them, and so no hand-in's code can run in the
  instructor's account, whatever is clicked;
- after making every autograded notebook safe (:func:`neuroai_course.handgrade.make_safe`,
  for folders graded before sanitising) and writing the submissions' times and the
  folder's exchange again (:func:`neuroai_course.handgrade.write_layout`'s parts), so that
  the formgrader counts the submissions and shows the assignments as released;
- with MathJax served by the server itself (the copy the website uses,
  ``book/_static/vendor/mathjax``): the formgrader's page template asks for MathJax 2 from
  a CDN; an nbconvert template of the same name (``base/mathjax.html.j2``), found first
  through ``JUPYTER_PATH``, loads the local MathJax 3 instead, with the one MathJax 2 call
  the formgrader's script makes (``MathJax.Hub.Startup.signal.Interest``) answered.

The URL printed opens the formgrader itself: ``/formgrader?token=...`` (the token in the
address logs the browser in and sets the server's cookie, which the formgrader's own API
calls then carry).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

from neuroai_course import handgrade
from neuroai_course.project import Course, CourseError

#: The only kernel the server may start: none has this name.
NO_KERNEL = "none-in-hand-grading"
MATHJAX = Path("book") / "_static" / "vendor" / "mathjax"
START_TIMEOUT_S = 90

#: nbconvert's ``mathjax`` macro, replaced: MathJax 3 from the server, configured as the
#: formgrader's page expects ($...$ and \(...\) inline), and the MathJax 2 hook its script
#: calls. Without the file (MathJax not found) the hook alone keeps the page working.
MACRO = r"""{%- macro mathjax(url=None) -%}
<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
        processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: 'tex2jax_ignore', processHtmlClass: 'tex2jax_process'},
  svg: {fontCache: 'global'}
};
</script>
__SCRIPT__
<script>
(function () {
  var mj = window.MathJax || (window.MathJax = {});
  var done = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
  if (!mj.Hub) {
    mj.Hub = {Startup: {signal: {Interest: function (f) {
      done.then(function () { f("End"); }, function () { f("End"); });
    }}}, Queue: function () {}};
  }
})();
</script>
{%- endmacro %}
"""


@dataclass
class Server:
    """A running formgrader: its process, the URLs to open, its temporary files."""

    proc: subprocess.Popen
    port: int
    token: str
    scratch: Path
    log: Path
    notes: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The formgrader page, logged in by the token."""
        return f"{self.origin}/formgrader?token={self.token}"

    @property
    def lab_url(self) -> str:
        """JupyterLab, its Formgrader tab open (nbgrader's route ``?formgrader=true``)."""
        return f"{self.origin}/lab?formgrader=true&token={self.token}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(course: Course, out: Path) -> dict:
    """Make the grading folder ``out`` ready for the formgrader (see the module's notes);
    return what was done: ``rebuilt`` (notebooks made safe), ``submitted`` (times
    written)."""
    out = Path(out)
    api = handgrade.nbgrader_api(out)  # refuses a folder that is not a grading folder
    db = api.coursedir.db_url
    tids = sorted(p.name for p in (out / "source").glob("*") if p.is_dir())
    known = {t.id for t in course.tutorials()}
    rebuilt = handgrade.make_safe(out, course)
    (out / "nbgrader_config.py").write_text(handgrade.config_text(out, db), encoding="utf-8")
    handgrade.write_exchange(course, out, [t for t in tids if t in known])
    return {"rebuilt": rebuilt, "submitted": handgrade.write_submitted(out, db)}


class NoKernels(AsyncMappingKernelManager):
    """The kernel manager of a hand-grading server: it starts no kernel."""

    async def start_kernel(self, *args, **kwargs):
        from tornado import web

        raise web.HTTPError(403, "no kernels in a hand-grading session (neuroai formgrade)")


#: nbgrader's student-side server extensions: "validate" runs a notebook in the server.
STUDENT_EXTENSIONS = ("nbgrader.server_extensions.validate_assignment",
                      "nbgrader.server_extensions.assignment_list",
                      "nbgrader.server_extensions.course_list")


def server_config(mathjax: Path | None) -> dict:
    """The Jupyter server's configuration for hand grading (see the module's notes)."""
    server = {"port_retries": 0, "open_browser": False, "terminals_enabled": False,
              "kernel_manager_class": f"{__name__}.NoKernels",
              "jpserver_extensions": {name: False for name in STUDENT_EXTENSIONS}}
    if mathjax is not None:
        server["extra_static_paths"] = [str(mathjax)]
    return {"ServerApp": server,
            "KernelSpecManager": {"allowed_kernelspecs": [NO_KERNEL]}}


def _templates(scratch: Path, mathjax: bool) -> Path:
    """A Jupyter data folder holding the ``mathjax`` macro (see :data:`MACRO`)."""
    data = scratch / "jupyter"
    base = data / "nbconvert" / "templates" / "base"
    base.mkdir(parents=True)
    script = '<script src="/static/tex-svg.js"></script>' if mathjax else ""
    (base / "mathjax.html.j2").write_text(MACRO.replace("__SCRIPT__", script),
                                          encoding="utf-8")
    return data


def start(course: Course, out: Path, port: int | None = None) -> Server:
    """Start the formgrader on ``out`` (see the module's notes) and wait until it answers;
    the caller closes it. Raises :class:`CourseError` with the server's last log lines
    when it does not start."""
    out = Path(out).resolve()
    prepare(course, out)
    port = port or free_port()
    scratch = Path(tempfile.mkdtemp(prefix="neuroai-formgrade-"))
    mathjax = course.root / MATHJAX
    has_mathjax = (mathjax / "tex-svg.js").is_file()
    data = _templates(scratch, has_mathjax)
    token = secrets.token_hex(24)
    env = {**os.environ, "JUPYTER_TOKEN": token,
           "JUPYTER_PATH": os.pathsep.join(
               [str(data), *filter(None, [os.environ.get("JUPYTER_PATH")])])}
    config = scratch / "jupyter_formgrade_config.json"
    config.write_text(json.dumps(server_config(mathjax if has_mathjax else None)),
                      encoding="utf-8")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", f"--config={config}", f"--ServerApp.root_dir={out}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = scratch / "server.log"
    with log.open("wb") as f:
        proc = subprocess.Popen(cmd, cwd=out, env=env, stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    server = Server(proc, port, token, scratch, log)
    if not has_mathjax:
        server.notes.append(f"{MATHJAX} not found in the course: equations show as LaTeX")
    try:
        _wait(server)
    except BaseException:
        server.close()
        raise
    return server


def _wait(server: Server) -> None:
    """Until ``server`` answers; :class:`CourseError` when it stops or stays silent."""
    proc, token = server.proc, server.token
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise CourseError(f"the formgrader's server stopped (exit {proc.returncode}):\n"
                              f"{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.origin}/api/status?token={token}",
                                        timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise CourseError(f"the formgrader's server did not answer in "
                              f"{START_TIMEOUT_S} s:\n{server.log_tail()}")
        time.sleep(0.3)


def serve(course: Course, out: Path, port: int | None = None) -> int:
    """``neuroai formgrade``: start, print where to go, run until interrupted (Ctrl-C, or
    SIGTERM: the server is stopped either way)."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    server = start(course, out, port)
    try:
        print(f"formgrader: {server.url}")
        print(f"(or in JupyterLab, the same pages in its Formgrader tab: {server.lab_url})")
        for note in server.notes:
            print(f"note: {note}")
        print("Grade, then stop with Ctrl-C and run 'neuroai finalize "
              f"{out}'.", flush=True)
        return server.proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)
