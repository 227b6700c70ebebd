"""A heterogeneous population of LIF neurons, and a linear read-out of what it encodes.

Each neuron ``j`` integrates ``tau_j dV/dt = -(V - E_L) + R I_j`` with its own membrane
time constant ``tau_j``; everything else is shared (:class:`~neuroai_core.neurons.LIFParams`).
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
import torch
from numpy.typing import ArrayLike

from neuroai_core.neurons.lif import LIFParams, LIFResult, Method, _as_current, _check_method

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


def simulate_lif_population(
    params: LIFParams,
    tau_m_ms: ArrayLike,
    current_nA,
    t_ms: float,
    method: Method = "exact",
    v0_mV=None,
    record_v: bool = True,
) -> LIFResult:
    """Simulate LIF neurons that differ in their membrane time constants.

    Parameters
    ----------
    params : LIFParams
        Shared parameters; ``params.tau_m_ms`` is replaced by ``tau_m_ms``.
    tau_m_ms : array_like of shape (n_neurons,)
        Each neuron's membrane time constant, in ms.
    current_nA : float, array or tensor of shape (n_neurons,) or (n_steps, n_neurons)
        As in :func:`~neuroai_core.neurons.simulate_lif`; numpy in, numpy out.
    t_ms : float
    method : {"exact", "euler"}
    v0_mV : float or array of shape (n_neurons,), optional
        Initial voltage; defaults to ``e_leak_mV``.
    record_v : bool

    Returns
    -------
    LIFResult

    Notes
    -----
    The update is that of :func:`~neuroai_core.neurons.lif_step` with a decay per
    neuron: ``exact``: ``V <- V_inf + (V - V_inf) exp(-dt / tau_j)``; ``euler``:
    ``V <- V + dt / tau_j (V_inf - V)``. With all ``tau_j`` equal to ``params.tau_m_ms``
    the result equals :func:`~neuroai_core.neurons.simulate_lif`'s (to rounding).
    """
    _check_method(method)
    if not t_ms > 0:
        raise ValueError(f"t_ms must be positive, got {t_ms!r}")
    tau = _checked_taus(tau_m_ms, params, method)
    n_steps, n = int(round(t_ms / params.dt_ms)), len(tau)
    cur, was_numpy = _as_current(current_nA, n_steps)
    if cur.shape[1] == 1:
        cur = cur.expand(n_steps, n)
    if cur.shape[1] != n:
        raise ValueError(f"current_nA has {cur.shape[1]} neurons, tau_m_ms has {n}")
    factor = np.exp(-params.dt_ms / tau) if method == "exact" else params.dt_ms / tau
    factor = torch.as_tensor(factor, dtype=cur.dtype, device=cur.device)
    v = torch.full((n,), params.e_leak_mV, dtype=cur.dtype, device=cur.device)
    if v0_mV is not None:
        v = v + torch.as_tensor(v0_mV, dtype=cur.dtype, device=cur.device) - params.e_leak_mV
    ref = torch.zeros(n, dtype=torch.int64, device=cur.device)
    spikes = torch.zeros((n_steps, n), dtype=torch.bool, device=cur.device)
    vs = torch.empty((n_steps, n), dtype=cur.dtype, device=cur.device) if record_v else None
    for k in range(n_steps):
        v, spikes[k], ref = population_step(v, cur[k], ref, factor, params, method)
        if vs is not None:
            vs[k] = v
    t = np.arange(1, n_steps + 1) * params.dt_ms
    raster = spikes.cpu().numpy()
    times = [t[raster[:, j]] for j in range(n)]
    if was_numpy:
        return LIFResult(t, None if vs is None else vs.cpu().numpy(), raster, times)
    return LIFResult(t, vs, spikes, times)


def _checked_taus(tau_m_ms: ArrayLike, params: LIFParams, method: str) -> np.ndarray:
    tau = np.asarray(tau_m_ms, dtype=float)
    if tau.ndim != 1 or tau.size == 0 or not np.all(tau > 0):
        raise ValueError("tau_m_ms must be a non-empty 1-D array of positive time constants, "
                         f"got shape {tau.shape} with min {tau.min() if tau.size else None!r}")
    if method == "euler" and tau.min() < params.dt_ms:
        raise ValueError(f"tau_m_ms has a value {tau.min():.3g} ms below "
                         f"dt_ms={params.dt_ms!r} (unstable with Euler): use method='exact'")
    return tau


def population_step(v_mV, i_nA, ref_steps, factor, params: LIFParams, method: Method = "exact"):
    """One step of :func:`~neuroai_core.neurons.lif_step` with a per-neuron decay.

    ``factor`` (tensor of shape (n_neurons,)) is ``exp(-dt / tau_j)`` for ``"exact"`` and
    ``dt / tau_j`` for ``"euler"``; the other arguments and the returned
    ``(v_new, spiked, ref_new)`` are as in :func:`~neuroai_core.neurons.lif_step`.
    """
    p = params
    v_inf = p.e_leak_mV + p.r_m_MOhm * i_nA
    if method == "exact":
        v_int = v_inf + (v_mV - v_inf) * factor
    else:
        v_int = v_mV + factor * (v_inf - v_mV)
    refractory = ref_steps > 0
    spiked = (v_int >= p.v_threshold_mV) & ~refractory
    v_new = torch.where(refractory | spiked, torch.full_like(v_int, p.v_reset_mV), v_int)
    ref_new = torch.where(spiked, p.ref_steps, ref_steps - refractory.long())
    return v_new, spiked, ref_new


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
    raster = spikes.cpu().numpy() if isinstance(spikes, torch.Tensor) else np.asarray(spikes)
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
