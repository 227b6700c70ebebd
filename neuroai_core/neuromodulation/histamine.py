"""Histamine and arousal: a gain on a spiking population trades accuracy against energy.

Histaminergic neurons of the tuberomammillary nucleus fire during waking and fall
silent in sleep; histamine depolarises its targets and blocks potassium conductances
(the leak and the slow afterhyperpolarisation), so the same input makes cortical and
thalamic neurons fire more (Haas & Panula 2003). We model that as an **arousal gain**
``g`` on the input current of a population of leaky integrate-and-fire neurons
(Module 1), in a two-choice task:

- a stimulus ``s = +1`` or ``-1``; half the neurons prefer ``+1`` (``w_i = +1``), half
  ``-1`` (``w_i = -1``);
- neuron ``i`` receives, for the whole trial, the constant current
  ``I_i = g (I_base + c w_i s) + sigma xi_i`` with ``xi_i ~ N(0, 1)`` drawn per trial
  (background synaptic noise, not scaled by arousal);
- a downstream reader counts spikes over the window and answers
  ``sign(sum_i w_i n_i)`` (a tie scores one half);
- every spike is sent to ``fan_out`` synapses: the energy is counted as synaptic
  operations, ``SOPs = fan_out * sum_i n_i`` (M1T3, :func:`neuroai_core.energy.synaptic_ops`).

Raising the gain lifts more neurons above threshold and widens the difference between the
two groups against the fixed noise, so accuracy rises, with diminishing returns, while
the spike count, and with it the energy, keeps growing. Under a stated price per
operation, the best operating point maximises ``accuracy - cost_per_sop * SOPs``
(:func:`best_operating_point`).

That benefit is partly built in: the background noise is added *after* the gain, so the
signal-to-noise ratio of the input grows with ``g`` by construction. With
``ArousalTask(noise_inside_gain=True)`` the noise is scaled with the signal,
``I_i = g (I_base + c w_i s + sigma xi_i)``: the control.

**A gain on an input-output function** (:func:`gain_accuracy`). A rate model without that
assumption: each neuron's rate is a sigmoid of its input,
``f(I) = r_max / (1 + exp(-(I - I_half) / k))`` (the logistic unit whose gain Servan-Schreiber,
Printz & Cohen (1990) made the model of a catecholamine), the input is
``g (I_base + c w_i s) + b`` (``g`` a multiplicative gain, ``b`` an additive depolarisation,
closer to what histamine's H1 receptors do), and the only noise is the neurons' own Poisson
spiking. Low gain leaves the population below threshold, high gain saturates both groups,
so accuracy is an inverted U of the gain, while the spike count keeps rising.

References
----------
Haas, H. & Panula, P. (2003). The role of histamine and the tuberomamillary nucleus in
the nervous system. *Nature Reviews Neuroscience* 4(2), 121-130.
Gerstner, W., Kistler, W. M., Naud, R. & Paninski, L. (2014). *Neuronal Dynamics*,
ch. 1.3 (the LIF neuron and its f-I curve).
Servan-Schreiber, D., Printz, H. & Cohen, J. D. (1990). A network model of catecholamine
effects: gain, signal-to-noise ratio, and behavior. *Science* 249(4971), 892-895.
Aston-Jones, G. & Cohen, J. D. (2005). An integrative theory of locus
coeruleus-norepinephrine function: adaptive gain and optimal performance. *Annual Review
of Neuroscience* 28, 403-450.

Used in: M3T3 Serotonin and histamine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuroai_core.energy import synaptic_ops
from neuroai_core.neurons.fast import simulate_lif_counts
from neuroai_core.neurons.lif import LIFParams


@dataclass(frozen=True)
class ArousalTask:
    """The two-choice task of the module notes (currents in nA, times in ms).

    The LIF neurons are ``LIFParams()`` (rheobase 1.5 nA, 2 ms refractory period).
    ``noise_inside_gain``: the noise is scaled by the gain with the signal (the control of
    the module notes) instead of added after it.
    """

    n_neurons: int = 100
    window_ms: float = 100.0
    base_nA: float = 1.2
    signal_nA: float = 0.03
    noise_nA: float = 0.5
    fan_out: int = 100
    noise_inside_gain: bool = False

    def __post_init__(self) -> None:
        if self.n_neurons < 2 or self.n_neurons % 2:
            raise ValueError(f"n_neurons must be an even number >= 2, got {self.n_neurons!r}")
        if not self.window_ms > 0:
            raise ValueError(f"window_ms must be positive, got {self.window_ms!r}")
        if not self.noise_nA >= 0:
            raise ValueError(f"noise_nA must be non-negative, got {self.noise_nA!r}")
        if self.fan_out < 0:
            raise ValueError(f"fan_out must be non-negative, got {self.fan_out!r}")


def preferred_signs(n_neurons: int) -> np.ndarray:
    """``w``: +1 for the first half of the neurons, -1 for the second, shape (n_neurons,)."""
    return np.where(np.arange(n_neurons) < n_neurons // 2, 1, -1).astype(np.int64)


def arousal_counts(gain: float, task: ArousalTask | None = None, n_trials: int = 200,
                   seed=None, params: LIFParams | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spike counts of the population in ``n_trials`` trials at arousal gain ``gain``.

    Returns
    -------
    counts : int ndarray of shape (n_trials, n_neurons)
    stimulus : int ndarray of shape (n_trials,), +1 or -1 (drawn at random)
    preferred : int ndarray of shape (n_neurons,), the ``w_i``
    """
    task = task or ArousalTask()
    if not gain >= 0:
        raise ValueError(f"gain must be non-negative, got {gain!r}")
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1, got {n_trials!r}")
    rng = np.random.default_rng(seed)
    w = preferred_signs(task.n_neurons)
    s = np.where(rng.random(n_trials) < 0.5, 1, -1).astype(np.int64)
    noise = task.noise_nA * rng.standard_normal((n_trials, task.n_neurons))
    drive = task.base_nA + task.signal_nA * w[None, :] * s[:, None]
    current = gain * (drive + noise) if task.noise_inside_gain else gain * drive + noise
    res = simulate_lif_counts(params or LIFParams(), current.ravel(), task.window_ms,
                              backend="simulate")
    return res.spike_counts.reshape(n_trials, task.n_neurons), s, w


def decode_accuracy(counts, preferred, stimulus) -> float:
    """Fraction of trials where ``sign(sum_i w_i n_i)`` equals the stimulus (ties: 1/2)."""
    n = np.asarray(counts)
    w = np.asarray(preferred)
    s = np.asarray(stimulus)
    if n.ndim != 2 or w.shape != (n.shape[1],) or s.shape != (n.shape[0],):
        raise ValueError(f"need counts (n_trials, n_neurons), preferred (n_neurons,), "
                         f"stimulus (n_trials,); got {n.shape}, {w.shape}, {s.shape}")
    d = np.sign(n @ w)
    return float(np.mean(np.where(d == 0, 0.5, d == s)))


def population_sops(counts, fan_out: int) -> float:
    """Mean synaptic operations per trial: ``fan_out`` per spike."""
    n = np.asarray(counts)
    if n.ndim != 2:
        raise ValueError(f"counts must have shape (n_trials, n_neurons), got shape {n.shape}")
    return synaptic_ops(n, fan_out) / n.shape[0]


def arousal_tradeoff(gains, task: ArousalTask | None = None, n_trials: int = 200,
                     seed=None) -> dict[str, np.ndarray]:
    """Accuracy, SOPs per trial and mean rate (Hz) at each gain, shape (n_gains,) each."""
    task = task or ArousalTask()
    rng = np.random.default_rng(seed)
    gains = np.asarray(gains, dtype=float)
    acc, sops, rate = (np.zeros(len(gains)) for _ in range(3))
    for k, g in enumerate(gains):
        counts, s, w = arousal_counts(float(g), task, n_trials, rng)
        acc[k] = decode_accuracy(counts, w, s)
        sops[k] = population_sops(counts, task.fan_out)
        rate[k] = counts.mean() / (task.window_ms / 1000.0)
    return dict(gain=gains, accuracy=acc, sops=sops, rate_hz=rate)


def best_operating_point(gains, accuracy, sops, cost_per_sop: float
                         ) -> tuple[float, np.ndarray]:
    """The gain that maximises ``accuracy - cost_per_sop * sops``, and that utility.

    Parameters
    ----------
    gains, accuracy, sops : arrays of shape (n_gains,)
    cost_per_sop : float
        The price of one synaptic operation, in accuracy units (>= 0).

    Returns
    -------
    best_gain : float (the first on ties)
    utility : ndarray of shape (n_gains,)
    """
    if not cost_per_sop >= 0:
        raise ValueError(f"cost_per_sop must be non-negative, got {cost_per_sop!r}")
    g, a, e = (np.asarray(v, dtype=float) for v in (gains, accuracy, sops))
    if not (g.ndim == 1 and g.shape == a.shape == e.shape and len(g) > 0):
        raise ValueError(f"gains, accuracy and sops must have one equal shape (n,), got "
                         f"{g.shape}, {a.shape}, {e.shape}")
    utility = a - cost_per_sop * e
    return float(g[int(np.argmax(utility))]), utility


# --- a gain on a sigmoid input-output function ------------------------------------------


@dataclass(frozen=True)
class GainTask:
    """The rate-model two-choice task of :func:`gain_accuracy` (currents in nA).

    Attributes
    ----------
    r_max_hz : float
        Largest rate of the sigmoid, in Hz.
    half_nA : float
        Input at which the rate is half its maximum, in nA.
    slope_nA : float
        Width of the sigmoid's rise, in nA (> 0).
    base_nA, signal_nA : float
        The input ``I_base + c w_i s`` before the gain, in nA.
    n_neurons : int
        Even; half prefer ``s = +1``.
    window_ms : float
        Counting window, in ms.
    """

    r_max_hz: float = 100.0
    half_nA: float = 1.5
    slope_nA: float = 0.2
    base_nA: float = 1.2
    signal_nA: float = 0.015
    n_neurons: int = 100
    window_ms: float = 100.0

    def __post_init__(self) -> None:
        if not self.r_max_hz > 0:
            raise ValueError(f"r_max_hz must be positive, got {self.r_max_hz!r}")
        if not self.slope_nA > 0:
            raise ValueError(f"slope_nA must be positive, got {self.slope_nA!r}")
        if self.n_neurons < 2 or self.n_neurons % 2:
            raise ValueError(f"n_neurons must be an even number >= 2, got {self.n_neurons!r}")
        if not self.window_ms > 0:
            raise ValueError(f"window_ms must be positive, got {self.window_ms!r}")


def sigmoid_rate(current_nA, task: GainTask | None = None):
    """Rate of the sigmoid input-output function of :class:`GainTask`.

    Parameters
    ----------
    current_nA : float or ndarray
        Input current, in nA (after any gain and shift).
    task : GainTask, optional
        Supplies ``r_max_hz``, ``half_nA`` and ``slope_nA``.

    Returns
    -------
    ndarray of the shape of ``current_nA``: rates in Hz, in [0, r_max].

    Notes
    -----
    .. math:: f(I) = \\frac{r_\\max}{1 + e^{-(I - I_{1/2})/k}}

    The logistic unit of Servan-Schreiber, Printz & Cohen (1990), in physical units.

    References
    ----------
    Servan-Schreiber, D., Printz, H. & Cohen, J. D. (1990). *Science* 249(4971), 892-895.

    Used in: M3T3 Serotonin and histamine (through :func:`gain_accuracy`).
    """
    task = task or GainTask()
    x = (np.asarray(current_nA, dtype=float) - task.half_nA) / task.slope_nA
    with np.errstate(over="ignore"):  # far below threshold exp(-x) is inf: a rate of 0
        return task.r_max_hz / (1.0 + np.exp(-x))


def gain_accuracy(gain: float, shift_nA: float = 0.0, task: GainTask | None = None
                  ) -> tuple[float, float]:
    """Accuracy and expected spike count of a Poisson population under a gain and a shift.

    Parameters
    ----------
    gain : float
        Multiplicative gain ``g`` on the input (>= 0).
    shift_nA : float
        Additive current ``b`` (nA), added after the gain.
    task : GainTask, optional

    Returns
    -------
    accuracy : float
        Probability that ``sign(sum_i w_i n_i)`` equals the stimulus, in the Gaussian
        approximation; 0.5 when the population is silent.
    spikes : float
        Expected number of spikes per trial, whole population.

    Notes
    -----
    The ``N/2`` neurons that prefer the stimulus fire at ``r_+ = f(g (I_base + c) + b)``, the
    others at ``r_- = f(g (I_base - c) + b)``. With Poisson counts over a window ``T`` the
    evidence ``E = sum_i w_i n_i`` (taking ``s = +1``; the task is symmetric) has mean and
    variance

    .. math:: \\mu = \\tfrac{N}{2}(r_+ - r_-)T, \\qquad \\sigma^2 = \\tfrac{N}{2}(r_+ + r_-)T,

    and the accuracy is ``Phi(mu / sigma)``, ``Phi`` the standard normal distribution
    function; the expected spike count is ``N/2 (r_+ + r_-) T``. The gain multiplies the
    signal ``c`` as well as the base, an additive shift does not; both move the operating
    point along the sigmoid, and both are limited by its floor and its ceiling.

    References
    ----------
    Servan-Schreiber, D., Printz, H. & Cohen, J. D. (1990). A network model of
    catecholamine effects: gain, signal-to-noise ratio, and behavior. *Science* 249(4971),
    892-895.

    Used in: M3T3 Serotonin and histamine.
    """
    task = task or GainTask()
    if not gain >= 0:
        raise ValueError(f"gain must be non-negative, got {gain!r}")
    r_plus = float(sigmoid_rate(gain * (task.base_nA + task.signal_nA) + shift_nA, task))
    r_minus = float(sigmoid_rate(gain * (task.base_nA - task.signal_nA) + shift_nA, task))
    half_t = task.n_neurons / 2 * task.window_ms / 1000.0
    mean, var = half_t * (r_plus - r_minus), half_t * (r_plus + r_minus)
    if var <= 0:
        return 0.5, 0.0
    return 0.5 * (1.0 + math.erf(mean / math.sqrt(2.0 * var))), var
