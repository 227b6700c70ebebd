"""Heterogeneous LIF populations: time constants to draw, inputs, and a linear read-out.

Each neuron ``j`` integrates ``tau_j dV/dt = -(V - E_L) + R I_j`` with its own membrane
time constant ``tau_j``; everything else is shared. Such a population is an ordinary LIF
simulation with one time constant per neuron::

    simulate(LIF, replace(params, tau_m_ms=sample_time_constants(40, 20.0, 0.5)), ...)

The time constants are drawn from a gamma or a lognormal distribution with a given mean
and coefficient of variation (CV = standard deviation / mean); CV = 0 gives the
homogeneous population. A gamma distribution with shape ``k`` and scale ``theta`` has
mean ``k theta`` and CV ``1 / sqrt(k)``, so ``k = 1 / CV^2``, ``theta = mean CV^2``; a
lognormal with ``sigma^2 = ln(1 + CV^2)`` and ``mu = ln(mean) - sigma^2 / 2`` has the same
mean and CV.

Perez-Nieves et al. (2021) trained spiking networks with heterogeneous membrane and
synaptic time constants and found that heterogeneity improves performance and robustness,
most for tasks with a rich temporal structure. Here a fixed population is read out
linearly (:func:`linear_decoding_r2`) to measure how much it says about its input.

References
----------
Perez-Nieves, N., Leung, V. C. H., Dragotti, P. L. & Goodman, D. F. M. (2021). Neural
heterogeneity promotes robust learning. *Nature Communications* 12, 5791.

Used in: M1T2 Cellular diversity.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from neuroai_core.neurons.contract import is_tensor

Distribution = Literal["gamma", "lognormal"]
DISTRIBUTIONS: tuple[str, ...] = ("gamma", "lognormal")


def sample_time_constants(
    n_neurons: int,
    mean_ms: float,
    cv: float,
    seed: int | np.random.Generator | None = None,
    distribution: Distribution = "gamma",
) -> np.ndarray:
    """Draw membrane time constants with a given mean and coefficient of variation.

    Parameters
    ----------
    n_neurons : int
    mean_ms : float
        Mean time constant, in ms.
    cv : float
        Coefficient of variation (std / mean); 0 gives ``n_neurons`` copies of the mean.
    seed : int, numpy Generator or None
        Source of randomness (``None``: fresh entropy; never the global RNG).
    distribution : {"gamma", "lognormal"}

    Returns
    -------
    ndarray of shape (n_neurons,), float64, in ms (all positive).
    """
    if not (isinstance(n_neurons, (int, np.integer)) and n_neurons > 0):
        raise ValueError(f"n_neurons must be a positive integer, got {n_neurons!r}")
    if not mean_ms > 0:
        raise ValueError(f"mean_ms must be positive, got {mean_ms!r}")
    if not cv >= 0:
        raise ValueError(f"cv must be non-negative, got {cv!r}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    rng = np.random.default_rng(seed)
    if cv == 0:
        return np.full(n_neurons, float(mean_ms))
    if distribution == "gamma":
        return rng.gamma(shape=1.0 / cv**2, scale=mean_ms * cv**2, size=n_neurons)
    sigma2 = math.log1p(cv**2)
    return rng.lognormal(math.log(mean_ms) - sigma2 / 2, math.sqrt(sigma2), size=n_neurons)


def smooth_noise(
    n_steps: int, dt_ms: float, tau_ms: float, seed: int | np.random.Generator | None = None
) -> np.ndarray:
    """A smooth random signal: white noise low-pass filtered with time constant ``tau_ms``.

    Returns an ndarray of shape (n_steps,) with mean 0 and standard deviation 1 (exactly,
    after normalisation): an Ornstein-Uhlenbeck-like input with correlation time
    ``tau_ms``, ``x_k = alpha x_{k-1} + (1 - alpha) xi_k`` with ``alpha = exp(-dt / tau)``.
    """
    if not (dt_ms > 0 and tau_ms > 0):
        raise ValueError(f"dt_ms and tau_ms must be positive, got {dt_ms!r} and {tau_ms!r}")
    xi = np.random.default_rng(seed).standard_normal(n_steps)
    alpha = math.exp(-dt_ms / tau_ms)
    x = np.empty(n_steps)
    acc = 0.0
    for k in range(n_steps):
        acc = alpha * acc + (1.0 - alpha) * xi[k]
        x[k] = acc
    return (x - x.mean()) / x.std()


def bin_spike_counts(spikes, bin_steps: int) -> np.ndarray:
    """Spike counts in consecutive bins of ``bin_steps`` steps.

    Parameters
    ----------
    spikes : boolean array or tensor of shape (n_steps, n_neurons)
    bin_steps : int
        Steps per bin; trailing steps that do not fill a bin are dropped.

    Returns
    -------
    ndarray of shape (n_steps // bin_steps, n_neurons), float64.
    """
    raster = spikes.cpu().numpy() if is_tensor(spikes) else np.asarray(spikes)
    n_bins = raster.shape[0] // bin_steps
    trimmed = raster[: n_bins * bin_steps]
    return trimmed.reshape(n_bins, bin_steps, -1).sum(axis=1).astype(float)


def fit_ridge_decoder(features: ArrayLike, target: ArrayLike, ridge: float = 1.0) -> np.ndarray:
    """Least-squares weights, with a bias, that read ``target`` out of ``features``.

    Parameters
    ----------
    features : array_like of shape (n_samples, n_features)
    target : array_like of shape (n_samples,)
    ridge : float
        L2 penalty on all weights, the bias included.

    Returns
    -------
    ndarray of shape (n_features + 1,): the weights, the bias last.

    Notes
    -----
    With ``A = [features, 1]``: ``w = (A^T A + ridge I)^{-1} A^T target``.
    """
    x = np.asarray(features, dtype=float)
    a = np.column_stack([x, np.ones(len(x))])
    gram = a.T @ a + ridge * np.eye(a.shape[1])
    return np.linalg.solve(gram, a.T @ np.asarray(target, dtype=float))


def linear_decoding_r2(
    features: ArrayLike, target: ArrayLike, n_train: int, ridge: float = 1.0
) -> float:
    """How well a linear read-out recovers ``target``: R^2 on held-out samples.

    Parameters
    ----------
    features : array_like of shape (n_samples, n_features)
        E.g. spike counts of each neuron in each time bin.
    target : array_like of shape (n_samples,)
        E.g. the input signal averaged over each bin.
    n_train : int
        The first ``n_train`` samples fit the decoder (:func:`fit_ridge_decoder`); the
        rest test it.
    ridge : float

    Returns
    -------
    float
        ``R^2 = 1 - sum (y - y_hat)^2 / sum (y - mean(y))^2`` over the test samples: 1 is
        perfect, 0 is no better than predicting the test mean.
    """
    x, y = np.asarray(features, dtype=float), np.asarray(target, dtype=float)
    if not 0 < n_train < len(y):
        raise ValueError(f"n_train must lie between 1 and {len(y) - 1}, got {n_train!r}")
    w = fit_ridge_decoder(x[:n_train], y[:n_train], ridge)
    y_hat = x[n_train:] @ w[:-1] + w[-1]
    y_test = y[n_train:]
    return float(1.0 - np.sum((y_test - y_hat) ** 2) / np.sum((y_test - y_test.mean()) ** 2))
