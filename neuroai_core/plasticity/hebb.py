"""Hebbian learning and Oja's rule for a single linear neuron.

A linear neuron ``y = w . x`` with a plain Hebbian update (Hebb 1949)::

    dw = eta * y * x

grows its weights without bound. Oja (1982) added a decay proportional to ``y^2``::

    dw = eta * y * (x - y * w)

which keeps ``|w|`` near 1; for zero-mean inputs the weight converges to the unit
eigenvector of the input covariance ``C = E[x x^T]`` with the largest eigenvalue (the first
principal component), up to its sign.

References
----------
Hebb, D. O. (1949). *The Organization of Behavior*. Wiley.
Oja, E. (1982). Simplified neuron model as a principal component analyzer. *Journal of
Mathematical Biology* 15(3), 267-273.
Dayan, P. & Abbott, L. F. (2001). *Theoretical Neuroscience*. MIT Press, ch. 8.2.

Used in: M2T1 Hebb and Oja.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm


def _check_eta(eta: float) -> None:
    if not eta > 0:
        raise ValueError(f"eta must be positive, got {eta!r}")


def hebb_step(w: np.ndarray, x: np.ndarray, eta: float) -> np.ndarray:
    """One plain Hebbian update of a linear neuron.

    Parameters
    ----------
    w : ndarray of shape (n_inputs,)
        Weights before the update.
    x : ndarray of shape (n_inputs,)
        One input pattern.
    eta : float
        Learning rate, positive.

    Returns
    -------
    ndarray of shape (n_inputs,)
        ``w + eta * y * x`` with ``y = w . x``.

    Notes
    -----
    Nothing bounds the weights: on average ``dw = eta C w``, so ``|w|`` grows exponentially
    along the leading eigenvector of ``C``.
    """
    _check_eta(eta)
    y = np.dot(w, x)
    return w + eta * y * x


def oja_step(w: np.ndarray, x: np.ndarray, eta: float) -> np.ndarray:
    """One update of Oja's rule.

    Parameters
    ----------
    w : ndarray of shape (n_inputs,)
        Weights before the update.
    x : ndarray of shape (n_inputs,)
        One input pattern.
    eta : float
        Learning rate, positive.

    Returns
    -------
    ndarray of shape (n_inputs,)
        ``w + eta * y * (x - y * w)`` with ``y = w . x``.

    Notes
    -----
    Oja (1982), eq. 3 to first order in ``eta``: the Hebbian term ``y x`` followed by a
    normalisation of ``|w|`` gives the decay ``-y^2 w``.
    """
    _check_eta(eta)
    y = np.dot(w, x)
    return w + eta * y * (x - y * w)


@dataclass
class OjaResult:
    """What :func:`train_oja` returns.

    Attributes
    ----------
    w : ndarray of shape (n_inputs,)
        Final weights.
    w_history : ndarray of shape (n_updates + 1, n_inputs)
        Weights before the first update and after every update.
    """

    w: np.ndarray
    w_history: np.ndarray


def train_oja(
    x: np.ndarray,
    eta: float = 0.005,
    n_epochs: int = 1,
    w0: np.ndarray | None = None,
    seed: int | np.random.Generator | None = None,
    progress: bool = False,
) -> OjaResult:
    """Train one linear neuron with Oja's rule, one sample at a time.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_inputs)
        Input patterns; centre them (zero mean) to find the principal component of the
        covariance.
    eta : float
        Learning rate, positive.
    n_epochs : int
        Passes through the data, each in a fresh random order.
    w0 : ndarray of shape (n_inputs,), optional
        Initial weights; by default random with norm 0.1.
    seed : int, numpy Generator or None
        Randomness of the initial weights and of the sample order.
    progress : bool
        Show a progress bar over epochs.

    Returns
    -------
    OjaResult
    """
    _check_eta(eta)
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n_samples, n_inputs), got shape {x.shape}")
    if not (isinstance(n_epochs, int) and n_epochs >= 1):
        raise ValueError(f"n_epochs must be a positive integer, got {n_epochs!r}")
    rng = np.random.default_rng(seed)
    if w0 is None:
        w = rng.standard_normal(x.shape[1])
        w *= 0.1 / np.linalg.norm(w)
    else:
        w = np.array(w0, dtype=float)
    history = [w.copy()]
    for _ in tqdm(range(n_epochs), disable=not progress, desc="Oja epochs"):
        for i in rng.permutation(len(x)):
            w = oja_step(w, x[i], eta)
            history.append(w)
    return OjaResult(w=w, w_history=np.array(history))
