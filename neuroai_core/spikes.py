"""Poisson spike trains and the statistics of spike trains.

A homogeneous Poisson process of rate ``r`` fires in each small bin of width ``dt`` with
probability ``r dt``, independently of every other bin (Dayan & Abbott 2001, ch. 1.4).
:func:`poisson_spikes` draws exactly this Bernoulli approximation on a time grid, so the
statistics of its output are known in closed form, with ``p = r dt``:

- the spike count in ``n`` bins is Binomial(n, p): mean ``n p = r T``, Fano factor
  ``1 - p`` (-> 1, the Poisson value, as ``dt -> 0``);
- the inter-spike intervals are geometric with mean ``dt / p = 1 / r`` and coefficient of
  variation ``sqrt(1 - p)`` (-> 1, the exponential ISIs of a Poisson process);
- a rate estimated from a window ``T`` has relative standard deviation
  ``sqrt((1 - p) / (r T))``, which shrinks like ``1 / sqrt(r T)``.

Conventions: spikes are boolean arrays of shape (n_steps, n_neurons); a spike in step ``k``
happens at time ``(k + 1) dt``, the end of the step, as in
:func:`neuroai_core.neurons.simulate_lif`. Times are in ms, rates in Hz.

References
----------
Dayan, P. & Abbott, L. F. (2001). *Theoretical Neuroscience*. MIT Press, ch. 1.4
(Poisson spike trains, Fano factor, coefficient of variation).

Used in: M1T3 Spikes and energy.
"""

from __future__ import annotations

import numpy as np

Seed = int | np.random.Generator | None


def _n_steps(t_ms: float, dt_ms: float) -> int:
    if not dt_ms > 0:
        raise ValueError(f"dt_ms must be positive, got {dt_ms!r}")
    if not t_ms > 0:
        raise ValueError(f"t_ms must be positive, got {t_ms!r}")
    n = int(round(t_ms / dt_ms))
    if n < 1:
        raise ValueError(f"t_ms={t_ms!r} is shorter than one step of dt_ms={dt_ms!r}")
    return n


def _as_spikes(spikes) -> np.ndarray:
    arr = np.asarray(spikes)
    if arr.ndim != 2:
        raise ValueError(
            f"spikes must have shape (n_steps, n_neurons), got shape {arr.shape}"
        )
    return arr


def poisson_spikes(rates_hz, t_ms: float, dt_ms: float, seed: Seed = None) -> np.ndarray:
    """Draw independent Poisson spike trains on a time grid.

    Parameters
    ----------
    rates_hz : float or array_like of shape (n_neurons,) or (n_steps, n_neurons)
        Firing rate of each neuron in Hz, constant or varying in time.
    t_ms : float
        Duration; ``n_steps = round(t_ms / dt_ms)``.
    dt_ms : float
        Width of a time bin, in ms.
    seed : int, numpy.random.Generator or None
        Source of randomness; an int gives a reproducible train.

    Returns
    -------
    spikes : boolean ndarray of shape (n_steps, n_neurons)

    Notes
    -----
    In each bin neuron ``i`` spikes with probability ``p_i = rates_hz[i] * dt_ms / 1000``.
    The draw is one call, ``rng.random((n_steps, n_neurons)) < p``, so a given seed always
    gives the same train. ``p`` must be a probability: ``rate * dt <= 1``.
    """
    n_steps = _n_steps(t_ms, dt_ms)
    rates = np.asarray(rates_hz, dtype=float)
    if rates.ndim == 0:
        rates = rates.reshape(1)
    if rates.ndim > 2 or (rates.ndim == 2 and rates.shape[0] != n_steps):
        raise ValueError(
            "rates_hz must be a scalar, shape (n_neurons,) or shape (n_steps, n_neurons) "
            f"with n_steps={n_steps}; got shape {rates.shape}"
        )
    if np.any(~np.isfinite(rates)) or np.any(rates < 0):
        raise ValueError(f"rates_hz must be finite and non-negative, got min {rates.min()!r}")
    p = rates * (dt_ms / 1000.0)
    if np.any(p > 1.0):
        raise ValueError(
            f"rates_hz * dt_ms / 1000 must be a probability <= 1, but rates_hz up to "
            f"{rates.max():g} Hz with dt_ms={dt_ms!r} give {p.max():g}; use a smaller dt_ms"
        )
    rng = np.random.default_rng(seed)
    return rng.random((n_steps, rates.shape[-1])) < p


def spike_counts(spikes) -> np.ndarray:
    """Number of spikes of each neuron, an integer array of shape (n_neurons,)."""
    return _as_spikes(spikes).sum(axis=0).astype(np.int64)


def firing_rates(spikes, dt_ms: float) -> np.ndarray:
    """Mean firing rate of each neuron over the whole train, in Hz, shape (n_neurons,).

    The estimate is ``count / T`` with ``T = n_steps * dt_ms / 1000`` seconds.
    """
    if not dt_ms > 0:
        raise ValueError(f"dt_ms must be positive, got {dt_ms!r}")
    arr = _as_spikes(spikes)
    return spike_counts(arr) / (arr.shape[0] * dt_ms / 1000.0)


def windowed_rates(spikes, dt_ms: float, window_ms: float) -> np.ndarray:
    """Rate estimates in consecutive, non-overlapping windows.

    Parameters
    ----------
    spikes : boolean array of shape (n_steps, n_neurons)
    dt_ms : float
        Width of a time bin, in ms.
    window_ms : float
        Window length; ``steps_per_window = round(window_ms / dt_ms)``. Steps left over
        at the end (fewer than a whole window) are dropped.

    Returns
    -------
    ndarray of shape (n_windows, n_neurons)
        Spike count in each window divided by the window length, in Hz.
    """
    arr = _as_spikes(spikes)
    steps = _n_steps(window_ms, dt_ms)
    n_windows = arr.shape[0] // steps
    if n_windows == 0:
        raise ValueError(
            f"window_ms={window_ms!r} is longer than the train ({arr.shape[0]} steps of "
            f"dt_ms={dt_ms!r})"
        )
    counts = arr[: n_windows * steps].reshape(n_windows, steps, -1).sum(axis=1)
    return counts / (steps * dt_ms / 1000.0)


def spike_times(spikes, dt_ms: float) -> list[np.ndarray]:
    """Spike times of each neuron in ms, ``(k + 1) * dt_ms`` for a spike in step ``k``."""
    arr = _as_spikes(spikes)
    steps, neurons = np.nonzero(arr)
    t = (steps + 1) * float(dt_ms)
    return [t[neurons == j] for j in range(arr.shape[1])]


def isi(spike_times_ms) -> np.ndarray:
    """Inter-spike intervals (ms) of one train, or of several trains pooled.

    Parameters
    ----------
    spike_times_ms : array of shape (n_spikes,), or a list of such arrays
        Sorted spike times of one neuron, or a list with one array per neuron; the
        intervals are taken within each train, never across trains.
    """
    if isinstance(spike_times_ms, list | tuple):
        parts = [np.diff(np.asarray(t, dtype=float)) for t in spike_times_ms]
        return np.concatenate(parts) if parts else np.array([])
    return np.diff(np.asarray(spike_times_ms, dtype=float))


def coefficient_of_variation(intervals) -> float:
    """Coefficient of variation ``std / mean`` of inter-spike intervals.

    1 for the exponential intervals of a Poisson process, 0 for a clock. Uses the
    population standard deviation (``ddof=0``); nan with fewer than two intervals.
    """
    x = np.asarray(intervals, dtype=float)
    if x.size < 2:
        return float("nan")
    return float(np.std(x) / np.mean(x))


def fano_factor(counts) -> float:
    """Fano factor ``var / mean`` of spike counts across repeated trials.

    Parameters
    ----------
    counts : array of shape (n_trials,)
        Spike count of the same neuron (or of identical neurons) in each trial.

    Returns
    -------
    float
        1 for Poisson counts; uses the unbiased variance (``ddof=1``); nan when the mean
        is 0 or there are fewer than two trials.
    """
    x = np.asarray(counts, dtype=float)
    if x.size < 2 or np.mean(x) == 0:
        return float("nan")
    return float(np.var(x, ddof=1) / np.mean(x))
