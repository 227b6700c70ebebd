"""One submission, graded in its own process: ``python -m neuroai_course.grade_worker JOB``.

The job (JSON) names a prepared notebook, a template nbgrader course (its gradebook holds
the tutorial's cells, hidden tests included) and the sandbox settings. The worker copies
the template into a private folder, runs nbgrader's autograde there with the
``neuroai-sandbox`` kernel, and writes what it found as JSON: the score and the test's
output of every graded cell, cells that timed out, what the guard had to restore, and an
error line when the kernel died. The parent writes the grades into the real gradebook, so
parallel workers never contend for it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import warnings
from pathlib import Path

import nbformat

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def kernel_spec(folder: Path, job: dict) -> None:
    """Write the sandboxed kernel spec into ``folder/kernels/neuroai-sandbox``."""
    argv = [sys.executable, "-m", "neuroai_course.sandbox", "--mode", job["mode"],
            "--mem-mb", str(job["mem_mb"]), "--nproc", str(job["nproc"]),
            "--cpu-s", str(job["cpu_s"]), "--workdir", job["scratch"]]
    if job.get("cgroup"):
        argv += ["--cgroup", job["cgroup"]]
    for path in job.get("hide", []):
        argv += ["--hide", path]
    argv += ["--", sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = folder / "kernels" / "neuroai-sandbox"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "neuroai sandbox", "language": "python"}))


def output_text(cell) -> str:
    """The text a test cell printed or raised, as a student would read it."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {ANSI.sub('', out.evalue)}")
    return "".join(parts).strip()


def run(job: dict) -> dict:
    from neuroai_course.nbgrader_ops import Workspace

    root = Path(job["workdir"])
    shutil.copytree(job["template"], root / "course")
    kernel_spec(root / "jupyter", job)
    runtime = root / "runtime"
    runtime.mkdir()
    os.environ.update(JUPYTER_PATH=str(root / "jupyter"), JUPYTER_RUNTIME_DIR=str(runtime))
    tid, student = job["tutorial"], job["student"]
    ws = Workspace(root / "course", cell_timeout_s=job["cell_timeout_s"], reuse=True,
                   kernel_name="neuroai-sandbox")
    target = ws.root / "submitted" / student / tid
    target.mkdir(parents=True)
    shutil.copyfile(job["notebook"], target / f"{tid}.ipynb")
    result: dict = {"scores": {}, "messages": {}, "timeouts": [], "restored": [], "error": ""}
    try:
        scores, seconds = ws.autograde(tid, student, None)
    except Exception as err:  # a dead kernel, an nbgrader failure: report, never raise
        result["error"] = str(err).splitlines()[0][:300]
        return result
    result["seconds"] = seconds
    result["scores"] = {s.grade_id: [s.score, s.max_score] for s in scores}
    graded = nbformat.read(ws.root / "autograded" / student / tid / f"{tid}.ipynb", 4)
    for i, cell in enumerate(graded.cells):
        meta = cell.metadata.get("nbgrader", {})
        text = output_text(cell)
        if meta.get("grade"):
            result["messages"][meta.get("grade_id")] = text[-2000:]
        if "CellTimeoutError" in text or "Timeout" in text[:200]:
            result["timeouts"].append(meta.get("grade_id") or f"cell {i + 1}")
        if text.startswith("neuroai-guard: restored"):
            for item in text.splitlines()[0][len("neuroai-guard: restored "):].split(", "):
                if item not in result["restored"]:
                    result["restored"].append(item)
        if cell.metadata.get("neuroai", {}).get("guard") and "Error" in text:
            result["restored"].append("the grading guard was removed or broken")
    return result


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run(job)
    Path(job["result"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
