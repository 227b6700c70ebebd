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

References
----------
Haas, H. & Panula, P. (2003). The role of histamine and the tuberomamillary nucleus in
the nervous system. *Nature Reviews Neuroscience* 4(2), 121-130.
Gerstner, W., Kistler, W. M., Naud, R. & Paninski, L. (2014). *Neuronal Dynamics*,
ch. 1.3 (the LIF neuron and its f-I curve).

Used in: M3T3 Serotonin and histamine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroai_core.energy import synaptic_ops
from neuroai_core.neurons.fast import simulate_lif_counts
from neuroai_core.neurons.lif import LIFParams


@dataclass(frozen=True)
class ArousalTask:
    """The two-choice task of the module notes (currents in nA, times in ms).

    The LIF neurons are ``LIFParams()`` (rheobase 1.5 nA, 2 ms refractory period).
    """

    n_neurons: int = 100
    window_ms: float = 100.0
    base_nA: float = 1.2
    signal_nA: float = 0.03
    noise_nA: float = 0.5
    fan_out: int = 100

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
    current = gain * (task.base_nA + task.signal_nA * w[None, :] * s[:, None]) + noise
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
