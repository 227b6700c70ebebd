"""Student-facing checks and the widget explorer's fallback; the package stays light."""

import subprocess
import sys

import numpy as np
import pytest

from neuroai_core.checks import check_close, check_equal
from neuroai_core.widgets import STATIC_NOTE, Slider, explore, has_widget_frontend


def test_check_close_passes_with_a_tick(capsys):
    check_close("f(1)", np.array([1.0, 2.0]), [1.0, 2.0 + 1e-12])
    assert capsys.readouterr().out.startswith("\u2713 f(1)")


@pytest.mark.parametrize(
    "actual, expected, words",
    [
        (None, 1.0, ["returned None", "return"]),
        (np.zeros(3), np.zeros(4), ["expected shape (4,)", "got shape (3,)"]),
        (np.array([1.0, 2.5, 3.0]), [1.0, 2.0, 3.0],
         ["1 of 3 values differ", "index (1,)", "expected 2", "got 2.5", "Hint: look"]),
        ("abc", 1.0, ["not a number"]),
    ],
)
def test_check_close_failures_say_what_and_why(actual, expected, words, capsys):
    with pytest.raises(AssertionError) as info:
        check_close("f(x)", actual, expected, hint="look")
    for word in words:
        assert word in str(info.value)
    assert capsys.readouterr().err == ""  # nbgrader zeroes a test cell that writes stderr


def test_check_equal_is_exact():
    with pytest.raises(AssertionError):
        check_equal("count", 3.0 + 1e-9, 3)


def test_explore_falls_back_to_static_figure(monkeypatch, capsys):
    monkeypatch.setenv("NEUROAI_STATIC", "1")
    assert not has_widget_frontend()
    calls = []
    explore(lambda a, b: calls.append((a, b)), a=Slider(0, 1, 0.1, 0.5), b=Slider(1, 3, 1, 2))
    assert calls == [(0.5, 2)]
    assert STATIC_NOTE in capsys.readouterr().out


def test_no_frontend_outside_a_kernel(monkeypatch):
    for var in ("NEUROAI_STATIC", "NBGRADER_EXECUTION"):
        monkeypatch.delenv(var, raising=False)
    assert not has_widget_frontend()  # pytest is not an IPython kernel


def test_slider_and_explore_validate():
    with pytest.raises(ValueError, match="value=5"):
        Slider(0, 1, 0.1, 5)
    with pytest.raises(ValueError, match="step"):
        Slider(0, 1, 0, 0.5)
    with pytest.raises(TypeError, match="slider 'a'"):
        explore(print, a=(0, 1))


def test_science_package_does_not_import_course_tooling_or_widgets():
    code = ("import sys, neuroai_core, neuroai_core.neurons, neuroai_core.checks, "
            "neuroai_core.widgets, neuroai_core.plots; "
            "bad = [m for m in ('nbgrader', 'jupyter_book', 'nbclient', 'ipywidgets', "
            "'neuroai_course') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_is_clean():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "neuroai_core",
                           "neuroai_course", "tests", "bench"],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
