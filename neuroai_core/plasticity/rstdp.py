"""Reward-modulated STDP on one spiking neuron: the distal reward problem in miniature.

A simplified version of Izhikevich (2007), section "Reinforcing a synapse": ``n_inputs``
Poisson inputs drive one leaky integrate-and-fire neuron through delta synapses (a
presynaptic spike makes the voltage jump by the weight, in mV, one step later, so that a
spike it causes comes strictly after it, as STDP needs). Every synapse carries an
STDP tag ``c`` that decays with ``tau_c`` (:mod:`~neuroai_core.plasticity.stdp`,
:func:`~neuroai_core.plasticity.tag_step`). Synapse 0 is the rewarded one: whenever its
presynaptic spike is followed within ``reward_window_ms`` by a postsynaptic spike, a
dopamine pulse is delivered after a random delay of ``delay_min_ms`` to ``delay_max_ms``
(at most one reward pending at a time). Dopamine decays with ``tau_d`` and gates the
weights, ``dw/dt = eta d(t) c(t)``, clipped to ``[0, w_max]``.

By the time dopamine arrives, many other spikes have come and gone; only the rewarded
synapse's tag is consistently positive at reward times, so its weight grows above the
others (Izhikevich 2007, fig. 1).

Equations per step ``dt`` (membrane exact, tags and dopamine decay exactly)::

    v <- v exp(-dt / tau_m) + sum_i w_i s_i(t - dt); spike and reset to 0 when v >= theta
    c <- c exp(-dt / tau_c) + STDP(pre, post);   d <- d exp(-dt / tau_d) + D [reward now]
    w <- clip(w + eta d c dt, 0, w_max)

References
----------
Izhikevich, E. M. (2007). Solving the distal reward problem through linkage of STDP and
dopamine signaling. *Cerebral Cortex* 17(10), 2443-2452.

Used in: M2T3 Three-factor learning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from neuroai_core.plasticity.stdp import STDPParams, stdp_trace_step
from neuroai_core.plasticity.three_factor import tag_step, three_factor_step

_CHUNK = 1000  # time steps of input spikes drawn at once


@dataclass(frozen=True)
class RSTDPParams:
    """Parameters of the R-STDP demo (time in ms, voltage and weights in mV).

    ``A_plus = 1``, ``tau_plus = tau_minus = 20 ms``, ``tau_c = 1 s``, ``tau_d = 200 ms``
    and reward delays up to 1 s follow Izhikevich (2007). ``A_minus = 2`` (his 1.5) makes
    depression a little stronger, which keeps the unrewarded synapses of this small
    network from drifting up together; the single LIF neuron, the low input rates and the
    learning rate are chosen so the demo learns within two simulated minutes.
    """

    n_inputs: int = 10
    rate_hz: float = 5.0
    tau_m_ms: float = 20.0
    v_threshold_mV: float = 10.0
    w_init_mV: float = 3.0
    w_max_mV: float = 8.0
    stdp: STDPParams = field(default_factory=lambda: STDPParams(1.0, 2.0, 20.0, 20.0))
    tau_c_ms: float = 1000.0
    tau_d_ms: float = 200.0
    dopamine_pulse: float = 0.5
    reward_window_ms: float = 10.0
    delay_min_ms: float = 100.0
    delay_max_ms: float = 1000.0
    eta: float = 0.001
    dt_ms: float = 1.0
    t_max_ms: float = 120_000.0

    def __post_init__(self) -> None:
        if not (isinstance(self.n_inputs, int) and self.n_inputs >= 2):
            raise ValueError(f"n_inputs must be an integer >= 2, got {self.n_inputs!r}")
        for name in ("rate_hz", "tau_m_ms", "v_threshold_mV", "w_max_mV", "tau_c_ms",
                     "tau_d_ms", "dt_ms", "t_max_ms", "reward_window_ms"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("dopamine_pulse", "eta", "delay_min_ms"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)!r}")
        if not 0 <= self.w_init_mV <= self.w_max_mV:
            raise ValueError(
                f"w_init_mV={self.w_init_mV!r} must lie within [0, w_max_mV={self.w_max_mV!r}]"
            )
        if not self.delay_min_ms <= self.delay_max_ms:
            raise ValueError(
                f"delay_max_ms={self.delay_max_ms!r} must be >= "
                f"delay_min_ms={self.delay_min_ms!r}"
            )
        if not self.rate_hz * self.dt_ms / 1000.0 < 1:
            raise ValueError(f"rate_hz={self.rate_hz!r} is too high for dt_ms={self.dt_ms!r}")


@dataclass
class RSTDPResult:
    """What :func:`simulate_rstdp` returns.

    Attributes
    ----------
    t_s : ndarray of shape (n_records,)
        Recording times in s.
    w_mV : ndarray of shape (n_records, n_trials, n_inputs)
        Weights at the recording times; column 0 is the rewarded synapse.
    n_rewards : ndarray of shape (n_trials,)
        Number of dopamine pulses delivered in each trial.
    post_rate_hz : ndarray of shape (n_trials,)
        Mean postsynaptic firing rate over the run.
    """

    t_s: np.ndarray
    w_mV: np.ndarray
    n_rewards: np.ndarray
    post_rate_hz: np.ndarray

    @property
    def final_w_mV(self) -> np.ndarray:
        """Final weights, of shape (n_trials, n_inputs)."""
        return self.w_mV[-1]


def simulate_rstdp(
    params: RSTDPParams = RSTDPParams(),
    n_trials: int = 1,
    seed: int | np.random.Generator | None = None,
    record_every_ms: float = 1000.0,
    progress: bool = False,
) -> RSTDPResult:
    """Run the R-STDP demo for ``n_trials`` independent trials at once.

    Parameters
    ----------
    params : RSTDPParams
    n_trials : int
        Independent networks simulated side by side (different input spikes and delays).
    seed : int, numpy Generator or None
    record_every_ms : float
        Interval between weight recordings.
    progress : bool
        Show a progress bar over simulated seconds.

    Returns
    -------
    RSTDPResult
    """
    if not (isinstance(n_trials, int) and n_trials >= 1):
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    p, rng = params, np.random.default_rng(seed)
    shape = (n_trials, p.n_inputs)
    n_steps = int(round(p.t_max_ms / p.dt_ms))
    rec = max(1, int(round(record_every_ms / p.dt_ms)))
    decay_m = math.exp(-p.dt_ms / p.tau_m_ms)
    decay_d = math.exp(-p.dt_ms / p.tau_d_ms)
    p_spike = p.rate_hz * p.dt_ms / 1000.0
    window = int(round(p.reward_window_ms / p.dt_ms))
    w = np.full(shape, p.w_init_mV)
    x, y, c = np.zeros(shape), np.zeros(n_trials), np.zeros(shape)
    v, d = np.zeros(n_trials), np.zeros(n_trials)
    since_pre0 = np.full(n_trials, window + 1)  # steps since synapse 0 last fired
    reward_at = np.full(n_trials, -1)  # step of the pending reward, -1 for none
    n_rewards, n_post = np.zeros(n_trials, dtype=int), np.zeros(n_trials)
    pre = np.zeros(shape, dtype=bool)
    records, times = [w.copy()], [0.0]
    for k in tqdm(range(n_steps), disable=not progress, desc="R-STDP", mininterval=1.0):
        if k % _CHUNK == 0:  # draw input spikes in blocks: far fewer calls into numpy
            block = rng.random((min(_CHUNK, n_steps - k), *shape)) < p_spike
        v = v * decay_m + (w * pre).sum(axis=1)  # spikes of the previous step arrive
        pre = block[k % _CHUNK]
        post = v >= p.v_threshold_mV
        v[post] = 0.0
        n_post += post
        since_pre0 = np.where(pre[:, 0], 0, since_pre0 + 1)
        dw_stdp, x, y = stdp_trace_step(x, y, pre, post, p.stdp, p.dt_ms)
        c = tag_step(c, dw_stdp, p.tau_c_ms, p.dt_ms)
        trigger = post & (since_pre0 >= 1) & (since_pre0 <= window) & (reward_at < 0)
        if trigger.any():
            delays = rng.uniform(p.delay_min_ms, p.delay_max_ms, n_trials) / p.dt_ms
            steps = k + np.maximum(1, np.round(delays)).astype(int)
            reward_at = np.where(trigger, steps, reward_at)
        now = reward_at == k
        d = d * decay_d + p.dopamine_pulse * now
        n_rewards += now
        reward_at[now] = -1
        w = np.clip(three_factor_step(w, c, d[:, None], p.eta, p.dt_ms), 0.0, p.w_max_mV)
        if (k + 1) % rec == 0:
            records.append(w.copy())
            times.append((k + 1) * p.dt_ms / 1000.0)
    return RSTDPResult(
        t_s=np.array(times), w_mV=np.array(records), n_rewards=n_rewards,
        post_rate_hz=n_post / (p.t_max_ms / 1000.0),
    )
