"""Time the main command as a new user and an author meet it, on a fresh clone.

    python bench/build.py [--load] [--keep]

Four measurements, each the wall time of the whole command as typed:

1. first build: ``./dev.sh build`` in a fresh ``git clone`` of this repository (its last
   commit), the virtual environment included (created from the pinned requirements, with
   an empty download cache);
2. repeat build: ``./dev.sh build`` again, nothing changed;
3. one tutorial changed: a sentence added to a markdown cell of one source, then
   ``./dev.sh build``;
4. ``neuroai check ID``: a second such edit of the same tutorial, ``neuroai release ID``
   (its student version must follow the source), then ``neuroai check ID``, timed alone.

With ``--load``, two processes spin on the cores during all four (the machine as a busy
laptop is). The phases that ``dev.sh`` and ``neuroai
build`` print (install, release, check, book, each with its time) are kept, and so is the
terminal output of every step. Results go to ``bench/results/build.json`` (or
``build-load.json`` with ``--load``); ``python bench/page.py`` puts them on the
Performance page.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

TUTORIAL = "M1T1_LIF"
TARGETS_S = {"first_build": 360, "repeat_build": 60, "one_changed": 90, "check_one": 15}
PHASE = re.compile(r"^== (install|neuroai \w+): (?:done|failed) in (\d+) s", re.M)


def clean_env() -> dict:
    """The environment of a new user's shell: no PYTHONPATH, no virtualenv on the PATH."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "NEUROAI_VENV")}
    drop = {str(Path(sys.prefix) / "bin")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p not in drop)
    env["PYTHON"] = getattr(sys, "_base_executable", None) or shutil.which("python3")
    return env


def timed(cmd: list[str], cwd: Path, env: dict, log: Path) -> dict:
    """Run ``cmd``; its wall time, exit status, printed phases and load; output to ``log``."""
    before = common.load()
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    text = log.read_text(errors="replace")
    print(f"  {' '.join(cmd)}: {seconds:.1f} s, exit {proc.returncode}", flush=True)
    return {"command": " ".join(cmd), "wall_s": round(seconds, 1),
            "returncode": proc.returncode,
            "phases_s": {name: int(s) for name, s in PHASE.findall(text)},
            "load_before": before, "load_after": common.load(),
            "tail": text.splitlines()[-60:]}


def edit(clone: Path, words: str) -> None:
    """Add a sentence to the first markdown cell of the tutorial's source."""
    import nbformat

    (path,) = (clone / "solutions").glob(f"*/{TUTORIAL}.ipynb")
    nb = nbformat.read(path, 4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown")
    cell.source += f"\n\n{words}"
    nbformat.write(nb, path)


class Spinners:
    """Two processes that keep both cores busy until stopped."""

    def __enter__(self):
        spin = "import time\nend = time.time() + 4 * 3600\nwhile time.time() < end: pass"
        self.procs = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(2)]
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


def measure(clone: Path, logs: Path) -> dict:
    env = clean_env()
    # a new user's machine: nothing in uv's download cache (the first build downloads all)
    env["UV_CACHE_DIR"] = str(clone.parent / "uv-cache")
    python = clone / ".venv" / "bin" / "python"
    out = {}
    out["first_build"] = timed(["./dev.sh", "build"], clone, env, logs / "1-first.log")
    out["repeat_build"] = timed(["./dev.sh", "build"], clone, env, logs / "2-repeat.log")
    edit(clone, "(A sentence added by bench/build.py.)")
    out["one_changed"] = timed(["./dev.sh", "build"], clone, env, logs / "3-changed.log")
    edit(clone, "(Another one.)")
    cli = [str(python), "-m", "neuroai_course.cli"]
    out["release_one"] = timed([*cli, "release", TUTORIAL], clone, env, logs / "4-release.log")
    out["check_one"] = timed([*cli, "check", TUTORIAL], clone, env, logs / "5-check.log")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--load", action="store_true", help="two spinning processes meanwhile")
    p.add_argument("--keep", action="store_true", help="keep the clone and the logs")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    name = "build-load" if args.load else "build"
    meta = {"name": name, "date": common.now(), "machine": common.machine(),
            "load_start": common.load(), "under_load": args.load,
            "environment_included": True, "tutorial": TUTORIAL,
            "targets_s": TARGETS_S,
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=common.ROOT,
                                     capture_output=True, text=True).stdout.strip()}
    work = Path(tempfile.mkdtemp(prefix="neuroai-bench-build-"))
    clone, logs = work / "clone", work / "logs"
    logs.mkdir()
    subprocess.run(["git", "clone", "-q", str(common.ROOT), str(clone)], check=True)
    print(f"clone of {meta['commit']} in {clone}; logs in {logs}", flush=True)
    try:
        if args.load:
            with Spinners():
                runs = measure(clone, logs)
        else:
            runs = measure(clone, logs)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    meta["load_end"] = common.load()
    rows = [{"measure": k, "wall_s": v["wall_s"], "target_s": TARGETS_S.get(k),
             "ok": v["returncode"] == 0, **{f"{ph} s": s for ph, s in v["phases_s"].items()}}
            for k, v in runs.items()]
    print(common.label(meta))
    print(common.table(rows, [("measure", "measure"), ("wall_s", "wall s"),
                              ("target_s", "target s"), ("ok", "exit 0")]))
    common.write_json(args.json or common.RESULTS / f"{name}.json", {**meta, "runs": runs})


if __name__ == "__main__":
    main()
