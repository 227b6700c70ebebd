"""Run one student version top to bottom in the Colab-like runtime, exercises filled in.

Run with the Colab environment's Python (tests/test_colab_runtime.py does):

    python run_tutorial.py STUDENT.ipynb SOURCE.ipynb OUT.ipynb REPORT.json

The exercises are answered from the source (solution cells matched by nbgrader grade_id),
the notebook runs in a real kernel of this environment with nbclient (no static flags, so
the explorers build ipywidgets sliders), and a last cell drives every explorer: it moves
one slider of each ``interactive`` and records what the callback drew. REPORT.json holds
the kernel's versions, the error if a cell failed, every stderr text, the explorer cells'
output types and what driving the sliders did.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
REPORT_MARK = "NEUROAI-COLAB-REPORT:"

# Runs in the kernel after the tutorial: moves one slider of every explorer.
DRIVE = r'''
import json as _json, sys as _sys, traceback as _tb
import IPython as _IPython, ipywidgets as _widgets, numpy as _np, torch as _torch
import neuroai_core as _nc
from IPython.utils.capture import capture_output as _capture

_ip = get_ipython()
_errors = []
_shown = _ip.showtraceback
_ip.showtraceback = lambda *a, **k: _errors.append(_tb.format_exc())
_driven = []
try:
    for _w in list(_widgets.Widget.widgets.values()):
        if not isinstance(_w, _widgets.interactive):
            continue
        _sliders = [c for c in _w.children if isinstance(c, _widgets.FloatSlider)]
        _s = _sliders[0]
        _new = _s.max if _s.value != _s.max else _s.min
        _before = len(_errors)
        with _capture() as _cap:
            _s.value = _new
        _driven.append({
            "function": getattr(_w.f, "__name__", repr(_w.f)),
            "slider": _s.description, "value": _new,
            "sliders": len(_sliders),
            "kwargs_updated": bool(_np.isclose(_w.kwargs[_s._kwarg], _new)),
            "images": sum("image/png" in o.data for o in _cap.outputs),
            "errors": _errors[_before:], "stderr": _cap.stderr,
        })
finally:
    _ip.showtraceback = _shown
print("NEUROAI-COLAB-REPORT:" + _json.dumps({
    "python": _sys.executable, "IPython": _IPython.__version__,
    "ipywidgets": _widgets.__version__, "numpy": _np.__version__,
    "torch": _torch.__version__, "neuroai_core": _nc.__file__,
    "kernel": type(_ip).__module__ + "." + type(_ip).__name__,
    "driven": _driven,
}))
'''


def grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def fill_in(student, source) -> list[str]:
    """Answer the student version's solution cells from the source; return their ids."""
    answers = {
        grade_id(c): c.source for c in source.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution") and grade_id(c)
    }
    filled = []
    for cell in student.cells:
        gid = grade_id(cell)
        if gid in answers and cell.metadata["nbgrader"].get("solution"):
            cell.source = answers[gid]
            filled.append(gid)
    return filled


def slowest(cells, n: int = 3) -> list[tuple[int, float]]:
    """``(cell index, seconds)`` of the slowest cells, from nbclient's timing metadata."""
    from datetime import datetime

    took = []
    for i, cell in enumerate(cells):
        timing = cell.get("metadata", {}).get("execution", {})
        begin, end = timing.get("iopub.status.busy"), timing.get("iopub.status.idle")
        if begin and end:
            seconds = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                       - datetime.fromisoformat(begin.replace("Z", "+00:00"))).total_seconds()
            took.append((i, round(seconds, 2)))
    return sorted(took, key=lambda x: -x[1])[:n]


def main(student_path: str, source_path: str, out_path: str, report_path: str) -> int:
    nb = nbformat.read(student_path, as_version=4)
    filled = fill_in(nb, nbformat.read(source_path, as_version=4))
    n_cells = len(nb.cells)
    nb.cells.append(nbformat.v4.new_code_cell(DRIVE))
    report = {"filled": filled, "error": None}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="neuroai-colab-run-") as cwd:
        # a folder of its own: `import neuroai_core` must find the installed package,
        # never the repository's source tree
        # 60 s a cell: a tutorial's whole budget. Now and then (1 run in 5 here) a run stalls
        # after an explorer cell until this timeout passes, without any error (seen with
        # ipykernel 6.17 whichever nbclient drives it): the timeout bounds that cost.
        client = NotebookClient(nb, timeout=60, record_timing=True,
                                kernel_name=os.environ.get("NEUROAI_KERNEL", "python3"),
                                resources={"metadata": {"path": cwd}})
        try:
            client.execute()
        except CellExecutionError as err:
            report["error"] = str(err)[-4000:]
        except Exception:  # a dead kernel, a timeout: say what happened
            report["error"] = traceback.format_exc()[-4000:]
    report["seconds"] = round(time.monotonic() - start, 1)
    report["slowest_cells"] = slowest(nb.cells)
    cells = []
    for i, cell in enumerate(nb.cells[:n_cells]):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        cells.append({
            "index": i, "id": cell.get("id"), "grade_id": grade_id(cell),
            "explorer": "explore(" in cell.source,
            "setup": cell.get("id") == "setup-install",
            "widget_views": sum(WIDGET_VIEW in o.get("data", {}) for o in outputs),
            "errors": [f"{o['ename']}: {o['evalue']}" for o in outputs
                       if o.output_type == "error"],
            "stderr": "".join(o.get("text", "") for o in outputs
                              if o.output_type == "stream" and o.name == "stderr"),
            "stdout": "".join(o.get("text", "") for o in outputs
                              if o.output_type == "stream" and o.name == "stdout")[-2000:],
        })
    report["cells"] = cells
    kernel = None
    for o in nb.cells[-1].get("outputs", []):
        for line in o.get("text", "").splitlines():
            if line.startswith(REPORT_MARK):
                kernel = json.loads(line[len(REPORT_MARK):])
    report["kernel"] = kernel
    report["widget_state"] = bool(nb.metadata.get("widgets"))
    report["static_flags"] = {k: os.environ.get(k) for k in ("NEUROAI_STATIC",
                                                             "NBGRADER_EXECUTION")}
    nbformat.write(nb, out_path)
    with open(report_path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
