"""Student-facing checks used by the visible tests of the tutorials.

A check compares what a student's function returned with what the reference in
``neuroai_core`` (or a formula) gives, and either prints one line saying it passed or
raises ``AssertionError`` with a message that says what was expected, what came back and
a hint. It never writes to stderr: nbgrader scores a test cell with stderr output as zero.
"""

from __future__ import annotations

import importlib
import sys
import types

import numpy as np


def _to_numpy(value, name: str) -> np.ndarray:
    if value is None:
        raise AssertionError(
            f"{name} returned None. Did you forget the `return` statement, "
            "or leave `raise NotImplementedError()` in place?"
        )
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise AssertionError(
            f"{name} returned {type(value).__name__}, which is not a number or an array: {err}"
        ) from None


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def diagnose(actual, expected, *, factors: dict | None = None, rtol: float = 1e-6,
             atol: float = 1e-9, mistakes: dict | None = None) -> str:
    """Recognise a common mistake from what came back and what was expected.

    The diagnoses, tried in this order: the result equals the value of one of the named
    ``mistakes`` (what a known wrong answer returns, computed by the test); the result is
    the expected array transposed; it is shifted by one step along the first axis (or has
    one step too many or too few); its sign is flipped; it is 1000 times too large or too
    small (a rate in Hz against one per ms, or seconds against milliseconds); it is off by
    one of the named ``factors`` (e.g. ``{"dt_ms": 0.1}``: a missing or extra factor dt); it
    is exactly twice or half the expected value; several of its non-zero entries share one
    other constant factor.

    A single wrong number is always some multiple of the right one, so a ratio other than
    the named ones (1000, 1/1000, 2, 1/2, -1 and ``factors``) is reported only when at
    least two non-zero entries share it; otherwise nothing is claimed.

    Parameters
    ----------
    actual, expected : number, array or tensor
        What the student's function returned and what it should have returned.
    factors : dict of str to float, optional
        Names and values of the quantities a student may forget to multiply by.
    rtol, atol : float
        Tolerances of each comparison, as in :func:`numpy.allclose`.
    mistakes : dict of str to number or array, optional
        Known wrong answers: a description of the mistake (a sentence that names it, e.g.
        ``"the leak has the wrong sign"``) -> what an answer with that mistake returns,
        shaped like ``expected``. The first that ``actual`` matches is reported.

    Returns
    -------
    str
        One sentence naming the likely mistake, or ``""`` when none is recognised.
    """
    try:
        got = np.asarray(actual.detach().cpu().numpy() if hasattr(actual, "detach") else actual,
                         dtype=float)
        want = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return ""
    if want.size == 0 or got.size == 0 or _close(got, want, rtol, atol):
        return ""
    for description, wrong in (mistakes or {}).items():
        try:
            wrong = np.asarray(wrong, dtype=float)
        except (TypeError, ValueError):
            continue
        if _close(got, wrong, rtol, atol) and not _close(wrong, want, rtol, atol):
            return description
    if got.ndim == 2 and got.shape != want.shape and _close(got.T, want, rtol, atol):
        return (f"your result is the expected one transposed (shape {got.shape} instead of "
                f"{want.shape}): check which axis is time and which is neurons.")
    if got.ndim >= 1 and want.ndim == got.ndim and len(want) > 2:
        if got.shape == want.shape:
            if _close(got[1:], want[:-1], rtol, atol):
                return ("your values are shifted one step later than expected: an off-by-one "
                        "in the time index (k against k + 1, or t - 1 against t).")
            if _close(got[:-1], want[1:], rtol, atol):
                return ("your values are shifted one step earlier than expected: an off-by-one "
                        "in the time index (k against k + 1, or t - 1 against t).")
        elif got.shape[1:] == want.shape[1:] and abs(len(got) - len(want)) == 1:
            short, long_ = (got, want) if len(got) < len(want) else (want, got)
            if _close(short, long_[1:], rtol, atol) or _close(short, long_[:-1], rtol, atol):
                more = "one step too many" if len(got) > len(want) else "one step too few"
                return (f"you returned {more} ({len(got)} instead of {len(want)}): check where "
                        "the loop over time starts and stops.")
    if got.shape != want.shape:
        return ""
    if np.any(np.abs(want) > atol) and _close(got, -want, rtol, atol):
        return "your result has the opposite sign: a flipped sign in the formula."
    nonzero = np.abs(want) > max(atol, 1e-12)
    if not nonzero.any() or np.any(np.abs(got[~nonzero]) > atol):
        return ""
    ratios = got[nonzero] / want[nonzero]
    ratio = float(np.median(ratios))
    if not np.isfinite(ratio) or ratio == 0 or not _close(got, ratio * want, 1e-5, atol):
        return ""
    # A ratio is evidence of a constant factor only when it is one we can name (a unit
    # conversion, a factor 2, a named quantity) or when several non-zero entries share it:
    # any wrong non-zero number is some multiple of the right one.
    for value, unit in ((1000.0, "1000 times too large"), (1e-3, "1000 times too small")):
        if np.isclose(ratio, value, rtol=1e-6):
            return (f"your result is {unit}: a rate in Hz against one per ms, or a time in ms "
                    "against one in s (1 s = 1000 ms).")
    for name, value in (factors or {}).items():
        if value and np.isclose(ratio, 1.0 / value, rtol=1e-6):
            return f"your result lacks the factor {name} = {value:g} (it is 1/{name} too large)."
        if value and np.isclose(ratio, value, rtol=1e-6):
            return (f"your result has an extra factor {name} = {value:g} (it is {name} times "
                    "the expected value).")
    if np.isclose(ratio, 2.0, rtol=1e-6):
        return "your result is twice the expected one: an extra factor 2 (or a missing 1/2)."
    if np.isclose(ratio, 0.5, rtol=1e-6):
        return "your result is half the expected one: an extra factor 1/2 (or a missing 2)."
    if int(nonzero.sum()) >= 2 and not np.isclose(ratio, 1.0, rtol=1e-6):
        return (f"all {int(nonzero.sum())} non-zero values are the expected ones times "
                f"{ratio:.6g}: a missing or extra constant factor (a time step, a unit "
                "conversion?).")
    return ""


def check_close(
    name: str,
    actual,
    expected,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    hint: str = "",
    factors: dict | None = None,
    mistakes: dict | None = None,
) -> None:
    """Assert that ``actual`` matches ``expected`` elementwise, with a helpful message.

    Parameters
    ----------
    name : str
        What is being checked, e.g. ``"euler_step(v=-60, i=2)"``.
    actual, expected : number, array or tensor
    rtol, atol : float
        Tolerances as in :func:`numpy.allclose`.
    hint : str
        A nudge shown when the check fails.
    factors : dict of str to float, optional
        Quantities a student may forget (e.g. ``{"dt_ms": 0.1}``), for :func:`diagnose`.
    mistakes : dict of str to number or array, optional
        Known wrong answers (description -> what such an answer returns), for
        :func:`diagnose`: the message names the one ``actual`` equals.
    """
    got = _to_numpy(actual, name)
    want = np.asarray(expected, dtype=float)
    tail = f"\nHint: {hint}" if hint else ""
    if not _close(got, want, rtol, atol):
        likely = diagnose(got, want, factors=factors, rtol=rtol, atol=atol,
                          mistakes=mistakes)
        if likely:
            tail = f"\nLikely mistake: {likely}{tail}"
    if got.shape != want.shape:
        raise AssertionError(
            f"{name}: expected shape {want.shape}, got shape {got.shape}.{tail}"
        )
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {idx}" if got.ndim else ""
        raise AssertionError(
            f"{name}: {int(bad.sum())} of {bad.size} values differ from the reference; "
            f"first{where}: expected {want[idx]:.6g}, got {got[idx]:.6g}.{tail}"
        )
    print(f"\u2713 {name}: matches the reference.")


def check_equal(name: str, actual, expected, *, hint: str = "") -> None:
    """Assert exact equality of two arrays (integers, booleans, counts)."""
    check_close(name, actual, expected, rtol=0.0, atol=0.0, hint=hint)


def call_and_backward(fn, model, *args):
    """Call ``fn(model, *args)``, back-propagate its scalar result, return value and gradients.

    Used by visible tests that check a student's differentiable loss or penalty: the
    gradient shows whether the answer stayed a torch expression of the parameters.

    Returns
    -------
    value : float
        The scalar that ``fn`` returned.
    grads : dict
        Each of ``model.named_parameters()``'s names mapped to its gradient (a tensor), or
        to ``None`` where the result does not depend on that parameter.
    """
    remote = getattr(fn, "__neuroai_remote__", None)
    if remote is not None:  # graded: the function lives in the student's kernel
        return remote.call_and_backward(model, *args)
    model.zero_grad(set_to_none=True)
    value = fn(model, *args)
    if not hasattr(value, "backward"):
        raise AssertionError(
            f"{getattr(fn, '__name__', 'the function')} returned {type(value).__name__}, "
            "not a torch tensor: keep the result a torch expression of the parameters."
        )
    if value.requires_grad:
        value.backward()
    grads = {name: (None if p.grad is None else p.grad.detach().clone())
             for name, p in model.named_parameters()}
    return float(value.detach()), grads


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _owner(reference):
    """The object (module or class) that holds ``reference`` and the name it holds it by."""
    target = getattr(reference, "__func__", reference)
    module = importlib.import_module(target.__module__)
    *path, name = target.__qualname__.split(".")
    owner = module
    for part in path:
        owner = getattr(owner, part)
    return owner, name


def check_not_delegating(student_fn, *references, args: tuple | None = None,
                         kwargs: dict | None = None) -> None:
    """Assert that a student's function does not just call the function it re-implements.

    Two looks, both local to the student's kernel. The code of ``student_fn`` (and of the
    functions nested in it) is read for a call of a reference by its name, bare or as an
    attribute (``lif.lif_rate``). When ``args`` are given, ``student_fn(*args, **kwargs)`` is
    also run with every reference replaced by a tripwire (in its module, in the packages that
    re-export it, on its class for a method, and in the student's globals), which catches a
    call through a helper or another name.

    Under grading the student's functions are proxies (they carry ``__neuroai_remote__``) and
    the grader itself scores an answer that calls its reference zero; this check then passes.

    Parameters
    ----------
    student_fn : callable
        The student's function.
    *references : callable
        The library function(s) or method(s) the exercise asks the student to write.
    args : tuple, optional
        Arguments for a run with tripwires in place.
    kwargs : dict, optional
        Keyword arguments for that run.

    Raises
    ------
    AssertionError
        Naming the reference the student's function calls.
    """
    fn_name = getattr(student_fn, "__name__", "your function")
    if getattr(student_fn, "__neuroai_remote__", None) is not None:
        return
    message = ("{fn} calls {ref} from neuroai_core, the function this exercise asks you to "
               "write yourself. Write it from the formula (you may use numpy, torch and the "
               "functions you wrote earlier in this notebook); an answer that calls {ref} "
               "scores 0 when graded.")
    code = getattr(student_fn, "__code__", None)
    globals_ = getattr(student_fn, "__globals__", {})
    if code is not None:
        used = _code_names(code)
        for ref in references:
            ref_name = getattr(ref, "__name__", "")
            bound = globals_.get(ref_name)
            generic = ref_name in {"forward", "__call__", "step", "update"}
            if ref_name in used and not generic and (bound is None or bound is ref
                                                     or not callable(bound)):
                raise AssertionError(message.format(fn=fn_name, ref=ref_name))
    if args is None:
        print(f"\u2713 {fn_name} is your own code.")
        return
    hits: list[str] = []
    patched = []

    def tripwire_for(ref):
        def tripwire(*a, **k):
            hits.append(ref.__name__)
            return ref(*a, **k)
        return tripwire

    for ref in references:
        wire = tripwire_for(getattr(ref, "__func__", ref))
        owner, name = _owner(ref)
        holders = [(owner, name)]
        if isinstance(owner, types.ModuleType):
            for mod in list(sys.modules.values()):
                if (mod is not owner and getattr(mod, "__name__", "").startswith("neuroai_core")
                        and getattr(mod, name, None) is ref):
                    holders.append((mod, name))
        for holder, attr in holders:
            patched.append((holder, attr, holder.__dict__[attr]))
            setattr(holder, attr, wire)
        for key, value in list(globals_.items()):
            if value is ref:
                patched.append((globals_, key, value))
                globals_[key] = wire
    try:
        student_fn(*args, **(kwargs or {}))
    finally:
        for holder, attr, original in reversed(patched):
            if isinstance(holder, dict):
                holder[attr] = original
            else:
                setattr(holder, attr, original)
    if hits:
        raise AssertionError(message.format(fn=fn_name, ref=hits[0]))
    print(f"\u2713 {fn_name} is your own code.")
