"""Every test cell of the tutorials, run the way the grader runs it.

The grader executes a whole test cell (visible and hidden checks) in its own process, with
each of the student's functions replaced by a proxy that hands over copies of the arguments
and gets back data only (numbers, str, bool, None, numpy arrays, detached torch tensors, and
tuples, lists and dicts of these). ``remote`` below imitates that proxy. Each test cell is
run in a fresh namespace holding only such proxies, so a cell that uses a variable of an
earlier notebook cell, relies on a student function changing its argument in place, or uses
autograd through a returned tensor fails here.

Two answers per tutorial go through every test cell: the solution written in the source
notebook, and an alternative correct answer from ``tests/exercise_answers.py`` (written
differently: another order of random draws, another formula or loop). Both must pass.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

from neuroai_core import checks
from neuroai_course import authoring
from tests.exercise_answers import ANSWERS

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
SOURCES = {p.stem: p for p in sorted(ROOT.glob("solutions/*/*.ipynb"))}
DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


def _read(tid):
    from neuroai_course.notebooks import grade_meta, read_source

    nb = read_source(SOURCES[tid])
    exercises, tests, setup = [], [], []
    for cell in nb.cells:
        meta = grade_meta(cell)
        if cell.cell_type != "code":
            continue
        if meta.get("solution") and not meta.get("grade"):
            exercises.append(cell.source)
        elif meta.get("grade"):
            tests.append((meta["grade_id"], cell.source))
        elif not exercises:
            setup.append(cell.source)
    return setup, exercises, tests


def _data(value, where):
    """What a proxy brings back from the student's kernel: data only, no autograd graph."""
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_data(v, where) for v in value)
    if isinstance(value, dict):
        return {k: _data(v, where) for k, v in value.items()}
    raise TypeError(f"{where} returned a {type(value).__name__}, which a grader cannot "
                    "bring back from the student's kernel (data only)")


class _Remote:
    def __init__(self, fn):
        self.fn = fn

    def call_and_backward(self, model, *args):
        model, args = copy.deepcopy(model), copy.deepcopy(args)
        return checks.call_and_backward(self.fn, model, *args)


def remote(fn, name):
    def proxy(*args, **kwargs):
        out = fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        return _data(out, name)

    proxy.__name__ = name
    proxy.__neuroai_remote__ = _Remote(fn)
    return proxy


def _solution_functions(tid):
    setup, exercises, _ = _read(tid)
    ns = {"__name__": "__main__"}
    for src in setup:
        if "import" in src:
            exec(compile(src, f"{tid}-setup", "exec"), ns)
    for src in exercises:
        exec(compile(src, f"{tid}-exercise", "exec"), ns)
    return {name: ns[name] for src in exercises for name in DEF.findall(src)}


CASES = [(tid, gid) for tid in SOURCES for gid, _ in _read(tid)[2]]


@pytest.fixture(scope="module")
def solutions():
    return {}


@pytest.mark.parametrize("answer", ["solution", "alternative"])
@pytest.mark.parametrize("tid, gid", CASES, ids=[f"{t}-{g}" for t, g in CASES])
def test_test_cell_accepts_a_correct_answer_under_grading(tid, gid, answer, solutions,
                                                         monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "1")
    source = dict(_read(tid)[2])[gid]
    if answer == "solution":
        if tid not in solutions:
            solutions[tid] = _solution_functions(tid)
        functions = solutions[tid]
    else:
        functions = ANSWERS[tid]
    assert set(ANSWERS[tid]) == set(_solution_functions(tid)), "an alternative per function"
    ns = {"__name__": "__main__"}
    ns.update({name: remote(fn, name) for name, fn in functions.items()})
    torch.manual_seed(12345)  # a test cell must not depend on the global seed either
    exec(compile(source, f"{tid}-{gid}", "exec"), ns)


@pytest.mark.parametrize("tid, gid", CASES, ids=[f"{t}-{g}" for t, g in CASES])
def test_test_cell_names_its_reference(tid, gid):
    from neuroai_course.notebooks import grade_meta, read_source

    cell = next(c for c in read_source(SOURCES[tid]).cells
                if grade_meta(c).get("grade_id") == gid)
    assert authoring.declares_references(cell), f"{tid} {gid}: no '# reference:' line"
    for ref in authoring.references(cell):
        import importlib

        module, _, attr = ref.rpartition(".")
        try:
            obj = importlib.import_module(module)
            attrs = [attr]
        except ModuleNotFoundError:  # a method: module.Class.method
            module, _, cls = module.rpartition(".")
            obj, attrs = importlib.import_module(module), [cls, attr]
        for a in attrs:
            obj = getattr(obj, a)
        defined_in = getattr(obj, "__module__", "")
        assert ref.startswith(defined_in + "."), f"{ref}: defined in {defined_in}"


def _delegating_fi_rate(i_nA, params):
    from neuroai_core.neurons import lif

    return lif.lif_rate(params, i_nA)


def _delegating_context_gains(z, context):
    return context(z)


def _delegating_oja(w, x, eta):
    from neuroai_core.plasticity import oja_step as step  # under another name

    return step(w, x, eta)


def _delegating_np_update(pre, noise, reward, baseline, sigma):
    from neuroai_core.plasticity import perturbation as p

    return p.node_perturbation_update(pre, noise, reward, baseline, sigma)


def _delegating_reward_belief(t_s, prior, delays_s, delay_probs):
    from neuroai_core.neuromodulation import serotonin

    return serotonin.reward_belief(t_s, prior, delays_s, delay_probs)


def _delegating_uncertainty_step(surprise, expected, delta, alpha_min, alpha_max,
                                 eta_fast=0.3, eta_slow=0.02):
    from neuroai_core.neuromodulation import agents

    return agents.uncertainty_step(surprise, expected, delta, alpha_min, alpha_max, eta_fast,
                                   eta_slow)


@pytest.mark.parametrize("tid, gid, name, fn", [
    ("M1T1_LIF", "test_fi_rate", "fi_rate", _delegating_fi_rate),
    ("M3T3_SerotoninHistamine", "test_reward_belief", "reward_belief",
     _delegating_reward_belief),
    ("M3T1_FourModulators", "test_uncertainty_step", "uncertainty_step",
     _delegating_uncertainty_step),
    ("M3T2_ModulatedPlasticity", "test_context_gains", "context_gains",
     _delegating_context_gains),
    ("M2T1_HebbOja", "test_oja_step", "oja_step", _delegating_oja),
    ("M2T4_BeyondBackprop", "test_node_perturbation_update", "node_perturbation_update",
     _delegating_np_update),
])
def test_the_test_cell_tells_a_delegating_answer_to_write_the_function(tid, gid, name, fn):
    # Without a proxy (as `neuroai check` and an instructor run the source): the test cell
    # must stop an answer that just calls the library function, and say why. The visible
    # part never names that function (the student version names the answer nowhere), so
    # the check sits in the hidden part; under grading the grader itself scores such an
    # answer zero.
    cell = dict(_read(tid)[2])[gid]
    fn.__name__ = name
    with pytest.raises(AssertionError, match="write yourself"):
        exec(compile(cell, f"{tid}-{gid}", "exec"), {"__name__": "__main__", name: fn})
