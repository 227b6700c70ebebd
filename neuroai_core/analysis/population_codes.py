"""A simulated population of tuned LIF neurons: spike counts to decode and compare.

Each neuron ``j`` is a leaky integrate-and-fire cell (:class:`~neuroai_core.neurons.LIFParams`)
driven, on each trial of stimulus ``s``, by the current::

    I_j(t) = I_rh (b_j + g_j f_j(s) + sigma_trial xi_j) + sigma_nA sqrt(tau_m / dt) eta_j(t)

with ``I_rh`` the rheobase, ``b_j`` a baseline (in units of the rheobase), ``g_j`` a gain,
``f_j(s)`` in [0, 1] the neuron's tuning to the stimulus, ``xi_j`` one standard-normal draw
per trial and neuron (slow trial-to-trial fluctuations of excitability) and ``eta_j(t)``
standard-normal white noise drawn every time step. The factor ``sqrt(tau_m / dt)`` makes
the fast noise independent of the time step: with the exact integrator the voltage gets a
kick of standard deviation ``R sigma_nA sqrt(dt / tau_m)`` per step (Euler-Maruyama), so
the free membrane fluctuates with standard deviation ``R sigma_nA / sqrt(2)``.

Two kinds of tuning ``f_j(s)``:

- ``"cosine"``: stimuli are directions in degrees and ``f_j(s) = (1 + cos(s - phi_j)) / 2``
  with a preferred direction ``phi_j`` drawn uniformly (Georgopoulos et al. 1982);
- ``"random"``: stimuli are just K conditions; ``f_j(s)`` is drawn uniformly in [0, 1]
  for every neuron and condition (mixed, unstructured selectivity).

The response of a trial is the spike count of each neuron in a window of ``window_ms``.
All trials and neurons are simulated at once as one vectorised population of
``n_trials x n_neurons`` independent cells (``simulate(LIF, ...)`` on numpy arrays, the
white noise drawn step by step), so 8 stimuli x 40 trials x 50 neurons over 200 ms take
a fraction of a second.

References
----------
Georgopoulos, A. P., Kalaska, J. F., Caminiti, R. & Massey, J. T. (1982). On the relations
between the direction of two-dimensional arm movements and cell discharge in primate motor
cortex. *Journal of Neuroscience* 2(11), 1527-1537.
Gerstner, Kistler, Naud & Paninski (2014). *Neuronal Dynamics*, ch. 1.3 (LIF) and ch. 8
(noisy input).

Used in: M5T1 AI as a tool for neuroscience.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from neuroai_core.neurons.contract import simulate
from neuroai_core.neurons.lif import LIF, LIFParams

Seed = int | np.random.Generator | None
Tuning = Literal["cosine", "random"]
TUNINGS: tuple[str, ...] = ("cosine", "random")

#: The textbook cell (rheobase 1.5 nA) with a 0.5 ms step: coarse enough to be fast, still
#: 20 steps per membrane time constant.
POPULATION_LIF = LIFParams(dt_ms=0.5)


@dataclass(frozen=True)
class PopulationResponses:
    """What :func:`population_responses` returns.

    Attributes
    ----------
    counts : int ndarray of shape (n_stimuli * n_trials, n_neurons)
        Spike count of each neuron on each trial; trials of stimulus 0 first.
    labels : int ndarray of shape (n_stimuli * n_trials,)
        Index of the stimulus shown on each trial (0 ... n_stimuli - 1).
    stimuli : ndarray of shape (n_stimuli,)
        The stimuli as given (degrees for cosine tuning).
    tuning : ndarray of shape (n_stimuli, n_neurons)
        ``f_j(s)`` of every neuron for every stimulus, in [0, 1].
    current_nA : ndarray of shape (n_stimuli * n_trials, n_neurons)
        The slow part of each trial's input, ``I_rh (b_j + g_j f_j(s) + sigma_trial xi_j)``,
        in nA (the fast white noise comes on top).
    preferred_deg : ndarray of shape (n_neurons,) or None
        Preferred direction of each neuron (cosine tuning only).
    window_ms : float
        Length of the counting window.
    """

    counts: np.ndarray
    labels: np.ndarray
    stimuli: np.ndarray
    tuning: np.ndarray
    current_nA: np.ndarray
    preferred_deg: np.ndarray | None
    window_ms: float

    @property
    def rates_hz(self) -> np.ndarray:
        """Spike counts divided by the window, in Hz, shape (n_trials, n_neurons)."""
        return self.counts / (self.window_ms / 1000.0)


def _positive_int(name: str, value) -> None:
    if not (isinstance(value, (int, np.integer)) and value >= 1):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _tuning_matrix(stimuli: np.ndarray, n_neurons: int, tuning: str, rng: np.random.Generator):
    """``f_j(s)`` of shape (n_stimuli, n_neurons) and the preferred directions (or None)."""
    if tuning == "cosine":
        preferred = rng.uniform(0.0, 360.0, size=n_neurons)
        delta = np.deg2rad(stimuli[:, None] - preferred[None, :])
        return (1.0 + np.cos(delta)) / 2.0, preferred
    return rng.uniform(0.0, 1.0, size=(len(stimuli), n_neurons)), None


def population_responses(
    stimuli,
    n_neurons: int = 50,
    n_trials: int = 40,
    *,
    tuning: Tuning = "cosine",
    window_ms: float = 200.0,
    baseline: tuple[float, float] = (0.6, 1.0),
    gain: tuple[float, float] = (0.3, 1.2),
    trial_noise: float = 0.4,
    noise_nA: float = 0.3,
    params: LIFParams = POPULATION_LIF,
    seed: Seed = None,
) -> PopulationResponses:
    """Spike counts of a tuned LIF population on repeated trials of each stimulus.

    Parameters
    ----------
    stimuli : array_like of shape (n_stimuli,)
        Directions in degrees (``tuning="cosine"``), or any K distinct condition values
        (``tuning="random"``, where only their number matters).
    n_neurons : int
    n_trials : int
        Trials per stimulus.
    tuning : {"cosine", "random"}
    window_ms : float
        Counting window (the whole simulated trial), in ms.
    baseline, gain : (low, high)
        Each neuron's ``b_j`` and ``g_j`` are drawn uniformly in these ranges, in units of
        the rheobase current: ``b + g f >= 1`` is suprathreshold without noise.
    trial_noise : float
        ``sigma_trial``: trial-to-trial standard deviation of the drive, in rheobase units.
    noise_nA : float
        ``sigma_nA``: amplitude of the fast white-noise current, in nA (see module notes).
    params : LIFParams
        The neurons' parameters (all neurons share them).
    seed : int, numpy Generator or None
        Draws the neurons (tuning, baseline, gain) first, then the noise.

    Returns
    -------
    PopulationResponses
    """
    stim = np.asarray(stimuli, dtype=float)
    if stim.ndim != 1 or stim.size < 2 or not np.all(np.isfinite(stim)):
        raise ValueError("stimuli must be a 1-D array of at least 2 finite values, "
                         f"got {stimuli!r}")
    _positive_int("n_neurons", n_neurons)
    _positive_int("n_trials", n_trials)
    if tuning not in TUNINGS:
        raise ValueError(f"tuning must be one of {TUNINGS}, got {tuning!r}")
    if not (window_ms > 0 and window_ms >= params.dt_ms):
        raise ValueError(f"window_ms must be at least one step ({params.dt_ms} ms), "
                         f"got {window_ms!r}")
    for name, value in (("trial_noise", trial_noise), ("noise_nA", noise_nA)):
        if not value >= 0:
            raise ValueError(f"{name} must be non-negative, got {value!r}")
    rng = np.random.default_rng(seed)
    f, preferred = _tuning_matrix(stim, n_neurons, tuning, rng)
    b = rng.uniform(*baseline, size=n_neurons)
    g = rng.uniform(*gain, size=n_neurons)
    labels = np.repeat(np.arange(len(stim)), n_trials)
    drive = b + g * f[labels] + trial_noise * rng.standard_normal((len(labels), n_neurons))
    current = params.rheobase_nA * drive
    counts = _simulate_counts(current, window_ms, noise_nA, params, rng)
    return PopulationResponses(counts, labels, stim, f, current, preferred, float(window_ms))


def _simulate_counts(current_nA: np.ndarray, window_ms: float, noise_nA: float,
                     params: LIFParams, rng: np.random.Generator) -> np.ndarray:
    """Spike counts of independent LIF cells, one per entry of ``current_nA`` (2-D)."""
    fast = noise_nA * math.sqrt(params.tau_m_ms / params.dt_ms)
    flat = np.ascontiguousarray(current_nA, dtype=float).ravel()

    def current_at(step: int) -> np.ndarray:
        return flat + fast * rng.standard_normal(flat.shape) if fast else flat

    res = simulate(LIF, params, current_at, window_ms, record_spikes=False)
    return res.spike_counts.reshape(current_nA.shape)
