"""What the benchmark scripts share: the machine's description, the load, timing, the
peers' workers (run in their own virtual environments under bench/.envs/), JSON and tables.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
ENVS = BENCH / ".envs"
PEERS = BENCH / "peers"
RESULTS = BENCH / "results"
FIGURES = ROOT / "book" / "_static" / "performance"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """The machine and the versions of what runs in this interpreter."""
    import numpy

    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:
        info["numba"] = None
    return info


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    return [round(x, 2) for x in os.getloadavg()]


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def label(meta: dict) -> str:
    """The line every figure and table carries: which machine, when."""
    return f"{meta['machine']['cpu']}, {meta['machine']['cores']} cores, {meta['date']}"


def median_time(fn: Callable[[], object], runs: int, warmup: int = 1) -> tuple[float, list, object]:
    """Run ``fn`` ``warmup`` times untimed, then ``runs`` times; median wall time (s)."""
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def venv_python(name: str) -> Path | None:
    """The python of peer venv ``bench/.envs/<name>``, or None when it is not made."""
    exe = ENVS / name / "bin" / "python"
    return exe if exe.exists() else None


def run_worker(env: str, script: str, cfg: dict, timeout: float = 3600) -> dict:
    """Run ``bench/peers/<script>`` in peer venv ``env`` with a JSON config; its JSON result.

    A missing venv gives ``{"status": "not installed"}``, a failing worker
    ``{"status": "failed", "error": ...}``.
    """
    exe = venv_python(env)
    if exe is None:
        return {"status": "not installed"}
    try:
        proc = subprocess.run([str(exe), str(PEERS / script), json.dumps(cfg)],
                              capture_output=True, text=True, timeout=timeout, cwd=PEERS)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "error": f"timed out after {timeout} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"status": "failed", "error": proc.stderr.strip()[-2000:]}
    return {"status": "ok"} | json.loads(lines[-1])


def fresh_import_time(python: str | Path, module: str, runs: int = 5) -> float | None:
    """Median wall time (s) of ``python -c 'import module'`` in a fresh interpreter."""
    times = []
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        proc = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True,
                              cwd=ROOT / "bench")
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            return None
    return statistics.median(times[1:])  # the first one warms the disk cache


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {path}")


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A markdown table of ``rows`` with ``columns`` = [(key, header), ...]."""
    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)

    head = "| " + " | ".join(h for _, h in columns) + " |"
    rule = "| " + " | ".join("---" for _ in columns) + " |"
    body = ["| " + " | ".join(cell(r.get(k)) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def save_figure(fig, path: Path) -> None:
    """Lay out ``fig``, write it to ``path`` (folders made) and say so."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def base_args(parser, name: str) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one run: checks that the script works")
    parser.add_argument("--no-peers", action="store_true", help="measure neuroai_core only")
    parser.add_argument("--json", type=Path, default=RESULTS / f"{name}.json")
    parser.add_argument("--figure", type=Path, default=FIGURES / f"{name}.png")


def python_exe() -> str:
    return sys.executable
