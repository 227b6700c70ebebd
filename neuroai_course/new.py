"""``neuroai new``: a new tutorial with the course's anatomy, ready to check.

Writes ``solutions/<module>/<id>.ipynb`` from a template that already passes
``neuroai check`` (title and objectives, imports and the one seed, a demo, one worked
exercise with its test and hidden tests, an explorer with its static fallback, a
reflection, a summary and references), registers the tutorial in ``_toc.yml`` and on the
syllabus page, creates the module's overview page when the module is new, and releases
the student version. The author then replaces the worked example with their own content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from neuroai_course import notebooks
from neuroai_course.project import Course, CourseError, Tutorial

TUTORIAL_ID = re.compile(r"^M(?P<module>\d+)T(?P<number>\d+)_[A-Za-z][A-Za-z0-9]*$")
MODULE_ID = re.compile(r"^M(?P<module>\d+)_[A-Za-z][A-Za-z0-9]*$")

INTRO = """\
# {id} · {title}

**{module_title}** · estimated time: 60 minutes

*Write here one paragraph of motivation tied to the brain: which question about
neuromodulation, learning or cellular diversity this tutorial answers, and why AI cares.*

By the end of this tutorial you can:

- simulate a population of leaky integrate-and-fire neurons with `neuroai_core`;
- estimate firing rates from spike trains and compare them with the exact f-I curve;
- *(replace these objectives with your own)*."""

IMPORTS = """\
import os

import matplotlib.pyplot as plt
import numpy as np

from neuroai_core import spikes as lib_spikes  # the library's reference implementations
from neuroai_core.checks import check_close
from neuroai_core.neurons import LIFParams, lif_rate, simulate_lif
from neuroai_core.widgets import Slider, explore

rng = np.random.default_rng(2026)  # the one seed of this notebook
# Under the autograder (NBGRADER_EXECUTION is set) the demos use fewer neurons.
FAST = bool(os.environ.get("NBGRADER_EXECUTION"))"""

SECTION = r"""## 1. A population of LIF neurons

*Replace this section with your own explanation, demo and exercise.* A leaky
integrate-and-fire neuron integrates its input current $I$ with membrane time constant
$\tau_m$ and fires when its voltage reaches threshold:

$$
\tau_m \frac{dV}{dt} = -(V - E_L) + R_m I .
$$

Below, twenty neurons receive constant currents from 1 to 3 nA; the raster shows one row
per neuron."""

DEMO = """\
# alt: raster of twenty LIF neurons over time (ms), one row per neuron from 1 nA (bottom) to
# 3 nA (top) of constant input: the more input, the denser the row of spikes
params = LIFParams()
currents_nA = np.linspace(1.0, 3.0, 20)
result = simulate_lif(params, currents_nA, t_ms=200.0 if FAST else 500.0, record_v=False)
t_ms = np.arange(result.spikes.shape[0]) * params.dt_ms
rows, cols = np.nonzero(result.spikes)
fig, ax = plt.subplots(figsize=(8, 3.2))
ax.plot(t_ms[rows], cols, "|", color="k", ms=6)
ax.set_xlabel("time (ms)")
ax.set_ylabel("neuron (input 1 to 3 nA)")
ax.set_title("Twenty LIF neurons with constant input")
plt.show()"""

EXERCISE_TEXT = """\
### Exercise 1 (2 points): firing rates from spike trains

Write `firing_rate(spikes, dt_ms)`: the mean firing rate of each neuron over the whole
train, in Hz, i.e. its number of spikes divided by the duration
$T = n_\\text{steps} \\, \\Delta t$ in seconds."""

EXERCISE = '''\
# exercise
def firing_rate(spikes, dt_ms):
    """Mean firing rate of each neuron, in Hz.

    Parameters
    ----------
    spikes : boolean ndarray of shape (n_steps, n_neurons)
        True where a neuron spikes in a time step.
    dt_ms : float
        Width of a time step, in ms.

    Returns
    -------
    ndarray of shape (n_neurons,)
        Spike count divided by the duration in seconds.
    """
    ### BEGIN SOLUTION
    spikes = np.asarray(spikes)
    return spikes.sum(axis=0) / (spikes.shape[0] * dt_ms / 1000.0)
    ### END SOLUTION'''

TEST = '''\
# test: 2 points
# Visible test: a hand-made train of 3 neurons over 10 steps of 1 ms.
# reference: neuroai_core.spikes.firing_rates
import numpy as np
from neuroai_core import spikes as lib_spikes
from neuroai_core.checks import check_close

toy = np.zeros((10, 3), dtype=bool)
toy[[1, 5], 0] = True  # 2 spikes in 10 ms: 200 Hz
toy[3, 2] = True       # 1 spike in 10 ms: 100 Hz
check_close("firing_rate(toy, dt_ms=1.0) in Hz", firing_rate(toy, 1.0),
            np.array([200.0, 0.0, 100.0]),
            hint="A rate is a count per unit of time: which unit does Hz ask for, and "
                 "which unit is dt_ms in?")
### BEGIN HIDDEN TESTS
# Against the library's reference on a random train, and the unit of dt (ms, not s).
train = np.random.default_rng(7).random((400, 5)) < 0.02
check_close("firing_rate(train, dt_ms=0.5)", firing_rate(train, 0.5),
            lib_spikes.firing_rates(train, 0.5), hint="dt_ms is in ms; a rate in Hz counts per s.")
check_close("firing_rate(train, dt_ms=2.0)", firing_rate(train, 2.0),
            lib_spikes.firing_rates(train, 2.0), hint="dt_ms is in ms; a rate in Hz counts per s.")
### END HIDDEN TESTS'''

USE = """\
The rates you estimate from a simulation agree with the exact f-I curve of the LIF neuron
(`lif_rate`, M1T1), up to the discreteness of a finite window:"""

USE_CODE = """\
# alt: firing rate (Hz) against input current (nA): the exact f-I curve as a line and the
# rates counted in the simulation as dots, which lie on it
measured = firing_rate(result.spikes, params.dt_ms)
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.plot(currents_nA, lif_rate(params, currents_nA), "k-", label="exact f-I curve")
ax.plot(currents_nA, measured, "o", label="simulated, counted")
ax.set_xlabel("input current (nA)")
ax.set_ylabel("firing rate (Hz)")
ax.legend()
plt.show()"""

EXPLORE_TEXT = """\
## 2. Explore

Move the slider: the input current of one neuron. Its voltage trace and rate change; on the
website and under the autograder you see the figure at the default value."""

EXPLORE = """\
# alt: membrane voltage (mV) of one LIF neuron over 100 ms at the current the slider sets
# (2 nA by default), climbing to threshold and resetting at each spike; the rate in the title
def show(current_nA=2.0):
    run = simulate_lif(LIFParams(), np.array([current_nA]), t_ms=100.0)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(run.t_ms, run.v_mV[:, 0])
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("membrane voltage (mV)")
    ax.set_title(f"{current_nA:.2f} nA: {run.spike_counts[0] * 10:.0f} Hz")
    plt.show()


explore(show, current_nA=Slider(0.5, 4.0, 0.1, 2.0, "input current (nA)"))"""

REFLECT = """\
## 3. Reflect (ungraded)

*Replace this question with your own.* A neuron's rate is counted in a finite window: how
long must you count to tell 20 Hz from 22 Hz, and what would a brain do instead of waiting?
Write two or three sentences in the cell below.

*Your answer here.*"""

SUMMARY = """\
## Summary

- *One line per idea the student should keep.*

## Further reading

- Gerstner, W., Kistler, W. M., Naud, R. & Paninski, L. (2014). *Neuronal Dynamics: From
  Single Neurons to Networks and Models of Cognition.* Cambridge University Press,
  ch. 1.3 (the leaky integrate-and-fire model)."""


def template(tutorial_id: str, title: str, module_title: str) -> nbformat.NotebookNode:
    """The source notebook of a new tutorial (authoring marks, no nbgrader metadata)."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md(INTRO.format(id=tutorial_id, title=title, module_title=module_title)),
        code(IMPORTS), md(SECTION), code(DEMO), md(EXERCISE_TEXT), code(EXERCISE), code(TEST),
        md(USE), code(USE_CODE), md(EXPLORE_TEXT), code(EXPLORE), md(REFLECT), md(SUMMARY),
    ]
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i:02d}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"},
    }
    return nb


@dataclass
class Created:
    tutorial: Tutorial
    files: list[Path]


def _module_folder(course: Course, tutorial_id: str, module: str | None) -> str:
    number = TUTORIAL_ID.match(tutorial_id).group("module")
    existing = sorted(p.name for p in (course.root / "solutions").iterdir() if p.is_dir())
    if module:
        if not MODULE_ID.match(module):
            raise CourseError(f"--module must look like M5_NeuroAI (M, number, _, name), "
                              f"got {module!r}")
        if MODULE_ID.match(module).group("module") != number:
            raise CourseError(f"tutorial {tutorial_id} belongs to module M{number}, but "
                              f"--module is {module!r}")
        return module
    matches = [m for m in existing if m.startswith(f"M{number}_")]
    if len(matches) == 1:
        return matches[0]
    raise CourseError(f"module M{number} has no folder in solutions/ yet; name it with "
                      f"--module M{number}_ShortName (e.g. --module M{number}_NeuroAI)")


def _module_title(course: Course, module: str) -> str:
    page = course.root / "book" / f"{module}.md"
    if page.is_file():
        first = page.read_text(encoding="utf-8").splitlines()[:1]
        if first and first[0].startswith("# "):
            return first[0][2:].strip()
    number = MODULE_ID.match(module).group("module")
    syllabus = course.root / "book" / "syllabus.md"
    if syllabus.is_file():
        for line in syllabus.read_text(encoding="utf-8").splitlines():
            if re.match(rf"^## Module {number}\b", line):
                return line[3:].strip()
    return f"Module {number} — {module.split('_', 1)[1]}"


def _block_end(lines: list[str], start: int) -> int:
    """The line after the YAML list item at ``start`` and everything indented below it."""
    indent = lines[start].index("-")
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or
                                len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return end


def _register_toc(course: Course, module: str, tutorial: Tutorial) -> bool:
    """Add the tutorial (and, for a new module, its chapter) to ``_toc.yml``."""
    path = course.root / "_toc.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    entry = f"file: {tutorial.rel}"
    if any(ln.strip() == f"- {entry}" for ln in lines):
        return False
    chapter = next((i for i, ln in enumerate(lines) if ln.strip() == f"- file: book/{module}"),
                   None)
    if chapter is None:
        # A new module: its chapter goes after the last chapter whose file is a module page.
        modules = [i for i, ln in enumerate(lines)
                   if re.match(r"^\s*- file: book/M\d+_", ln)]
        if not modules:
            raise CourseError("_toc.yml has no module chapter (- file: book/M1_...) to add "
                              "the new module after; add its chapter by hand")
        end = _block_end(lines, modules[-1])
        pad = " " * lines[modules[-1]].index("-")
        new = [f"{pad}- file: book/{module}", f"{pad}  sections:", f"{pad}    - {entry}"]
        lines[end:end] = new
    else:
        indent = lines[chapter].index("-")
        end = _block_end(lines, chapter)
        if not any(ln.strip() == "sections:" for ln in lines[chapter + 1:end]):
            lines[end:end] = [" " * indent + "  sections:"]
            end += 1
        while not lines[end - 1].strip():
            end -= 1
        lines[end:end] = [" " * (indent + 4) + f"- {entry}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return True


def _register_syllabus(course: Course, module: str, module_title: str, tutorial: Tutorial,
                       title: str) -> bool:
    """Link the tutorial from the syllabus: replace its planned line, or add one."""
    path = course.root / "book" / "syllabus.md"
    if not path.is_file():
        raise CourseError("book/syllabus.md is missing; the syllabus links every tutorial")
    text = path.read_text(encoding="utf-8")
    link = f"../{tutorial.rel}.ipynb"
    if link in text:
        return False
    short = tutorial.id.split("_", 1)[0]
    item = f"- **{short}** [{title}]({link})"
    lines = text.splitlines()
    planned = next((i for i, ln in enumerate(lines) if ln.startswith(f"- **{short}**")), None)
    if planned is not None:
        end = planned + 1
        while end < len(lines) and lines[end].startswith("  "):
            end += 1
        rest = " ".join(ln.strip() for ln in lines[planned:end])
        rest = rest[len(f"- **{short}**"):].strip()
        # Keep the planned description after the new link.
        first, _, after = rest.partition(":")
        lines[planned:end] = [f"{item}: {after.strip()}" if after else item]
    else:
        heading = next((i for i, ln in enumerate(lines)
                        if ln.startswith("## ") and f"Module {MODULE_ID.match(module)['module']}"
                        in ln), None)
        if heading is None:
            lines += ["", f"## {module_title}", "", item]
        else:
            end = heading + 1
            while end < len(lines) and not lines[end].startswith("## "):
                end += 1
            while not lines[end - 1].strip():
                end -= 1
            lines[end:end] = [item]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return True


def _module_page(course: Course, module: str, module_title: str) -> Path | None:
    page = course.root / "book" / f"{module}.md"
    if page.exists():
        return None
    page.write_text(f"# {module_title}\n\n*One paragraph: what this module asks and how its "
                    "tutorials answer it.*\n", encoding="utf-8")
    return page


def new_tutorial(course: Course, tutorial_id: str, title: str,
                 module: str | None = None) -> Created:
    """Create, register and release a new tutorial; return what was written."""
    if not TUTORIAL_ID.match(tutorial_id):
        raise CourseError(f"tutorial id must look like M5T1_Decoding (module, tutorial number, "
                          f"_, a name of letters and digits), got {tutorial_id!r}")
    if not title.strip():
        raise CourseError("--title must not be empty")
    existing = [t.id for t in course.tutorials()]
    if tutorial_id in existing:
        raise CourseError(f"tutorial {tutorial_id} exists already")
    short = tutorial_id.split("_", 1)[0]
    clash = [tid for tid in existing if tid.split("_", 1)[0] == short]
    if clash:
        raise CourseError(f"{short} is taken by {clash[0]}; choose another tutorial number")
    module = _module_folder(course, tutorial_id, module)
    module_title = _module_title(course, module)
    t = Tutorial(course.root, module, tutorial_id)
    files = []
    page = _module_page(course, module, module_title)
    if page:
        files.append(page)
    notebooks.write(template(tutorial_id, title.strip(), module_title), t.source)
    files.append(t.source)
    if _register_toc(course, module, t):
        files.append(course.root / "_toc.yml")
    if _register_syllabus(course, module, module_title, t, title.strip()):
        files.append(course.root / "book" / "syllabus.md")
    from neuroai_course.release import release

    release(course, [t])
    files.append(t.student)
    return Created(t, files)
