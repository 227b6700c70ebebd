"""Student-facing checks used by the visible tests of the tutorials.

A check compares what a student's function returned with what the reference in
``neuroai_core`` (or a formula) gives, and either prints one line saying it passed or
raises ``AssertionError`` with a message that says what was expected, what came back and
a hint. It never writes to stderr: nbgrader scores a test cell with stderr output as zero.
"""

from __future__ import annotations

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


def check_close(
    name: str,
    actual,
    expected,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    hint: str = "",
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
    """
    got = _to_numpy(actual, name)
    want = np.asarray(expected, dtype=float)
    tail = f"\nHint: {hint}" if hint else ""
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
