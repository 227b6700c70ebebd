"""The benchmark scripts stay runnable: each one's neuroai_core-only part in tiny size.

Peers are left out (--no-peers): their venvs are not part of the test environment.
Outputs go to a temporary folder, never over bench/results or the book's figures.
Each starts a fresh interpreter and runs real work: the slow tier.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def run(script: str, *args: str) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("script", ["lif.py", "continual.py"])
def test_bench_script_quick(script, tmp_path):
    out, fig = tmp_path / "out.json", tmp_path / "fig.png"
    run(script, "--quick", "--no-peers", "--json", str(out), "--figure", str(fig))
    data = json.loads(out.read_text())
    assert data["machine"]["cpu"] and data["date"] and len(data["load_start"]) == 3
    assert fig.stat().st_size > 1000
    if script == "lif.py":  # every implementation run counted the same spikes
        assert all(v["agree"] for v in data["agreement"].values())
    else:
        assert data["si_changes_training"]


def test_tutorials_script_quick(tmp_path):
    out, fig = tmp_path / "out.json", tmp_path / "fig.png"
    run("tutorials.py", "--quick", "--json", str(out), "--figure", str(fig))
    assert json.loads(out.read_text())["rows"][0]["run_s"] > 0


def test_grading_figure_reads_the_results(tmp_path):
    run("grading_figure.py", "--figure", str(tmp_path / "grading.png"))
    assert (tmp_path / "grading.png").stat().st_size > 1000
