"""Interactive explorers that fall back to a static figure.

On Colab or in Jupyter an explorer shows sliders (ipywidgets 7.7 or 8). Where no widget
front end exists (the website build, the autograder, a plain ``nbclient`` run) it draws
the figure once at the default values and says where the interactive version runs.

Used in: every tutorial's "Explore" section.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

#: Environment variables that force the static fallback. ``NBGRADER_EXECUTION`` is set by
#: nbgrader while it autogrades; the course tooling sets ``NEUROAI_STATIC`` when it
#: executes notebooks for checks and for the website.
STATIC_ENV_VARS = ("NEUROAI_STATIC", "NBGRADER_EXECUTION")

STATIC_NOTE = (
    "Static figure at the default values. Open this notebook on Colab or in Jupyter "
    "to move the sliders."
)


@dataclass(frozen=True)
class Slider:
    """A numeric slider: range, step and default value, plus a label with units."""

    min: float
    max: float
    step: float
    value: float
    description: str = ""

    def __post_init__(self) -> None:
        if not self.min <= self.value <= self.max:
            raise ValueError(
                f"value={self.value!r} must lie within [min={self.min!r}, max={self.max!r}]"
            )
        if not self.step > 0:
            raise ValueError(f"step must be positive, got {self.step!r}")


def has_widget_frontend() -> bool:
    """True when sliders can be shown: an IPython kernel, ipywidgets, and no static flag."""
    if any(os.environ.get(name) for name in STATIC_ENV_VARS):
        return False
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython()
    if ip is None or not hasattr(ip, "kernel"):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def explore(plot: Callable[..., object], **sliders: Slider) -> None:
    """Show ``plot`` with one slider per keyword, or a static figure at the defaults.

    Parameters
    ----------
    plot : callable
        Draws a figure from keyword arguments named like the sliders.
    **sliders : Slider
        One slider per keyword argument of ``plot``.
    """
    for name, s in sliders.items():
        if not isinstance(s, Slider):
            raise TypeError(f"slider {name!r} must be a Slider, got {type(s).__name__}")
    if not has_widget_frontend():
        plot(**{name: s.value for name, s in sliders.items()})
        print(STATIC_NOTE)
        return
    import ipywidgets as widgets
    from IPython.display import display

    controls = {
        name: widgets.FloatSlider(
            min=s.min, max=s.max, step=s.step, value=s.value,
            description=s.description or name, continuous_update=False,
            style={"description_width": "initial"},
        )
        for name, s in sliders.items()
    }
    display(widgets.interactive(plot, **controls))
