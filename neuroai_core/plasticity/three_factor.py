"""Three-factor learning: an eligibility trace turned into weight change by a modulator.

A Hebbian coincidence of pre- and postsynaptic activity does not change the weight at
once; it leaves a decaying *eligibility trace* (a synaptic tag)::

    tau_e de/dt = -e + Hebb(pre, post)

and only a third factor, a neuromodulator ``M(t)`` such as dopamine, turns the trace into
a weight change::

    dw/dt = eta * M(t) * e(t)

For spiking neurons the Hebbian term is the STDP window: at each spike the tag ``c`` jumps
by the STDP increment and then decays with ``tau_c`` (Izhikevich 2007, eq. 1-2).

Exact check (the closed form the tests compare the simulation with): a tag ``c0`` decaying
with ``tau_c`` and a dopamine pulse ``D`` decaying with ``tau_d`` that arrives ``Delta``
after the tag give::

    Delta w = eta * c0 * D * tau_c * tau_d / (tau_c + tau_d) * exp(-Delta / tau_c)

(the integral of ``c0 exp(-t / tau_c) D exp(-(t - Delta) / tau_d)`` from ``Delta`` on);
with ``M = 0`` the weight does not change at all.

References
----------
Izhikevich, E. M. (2007). Solving the distal reward problem through linkage of STDP and
dopamine signaling. *Cerebral Cortex* 17(10), 2443-2452.
Frémaux, N. & Gerstner, W. (2016). Neuromodulated spike-timing-dependent plasticity, and
theory of three-factor learning rules. *Frontiers in Neural Circuits* 9, 85.
Gerstner, W., Lehmann, M., Liakoni, V., Corneil, D. & Brea, J. (2018). Eligibility traces
and plasticity on behavioral time scales. *Frontiers in Neural Circuits* 12, 53.

Used in: M2T3 Three-factor learning.
"""

from __future__ import annotations

import math

import numpy as np


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")


def eligibility_step(e, hebb, tau_e_ms: float, dt_ms: float):
    """Advance the eligibility trace of a rate synapse by one step.

    Parameters
    ----------
    e : float or ndarray of any shape
        Eligibility trace before the step.
    hebb : float or ndarray broadcastable to ``e``
        Hebbian term during the step, e.g. ``pre * post`` (held constant over the step).
    tau_e_ms : float
        Time constant of the trace, in ms.
    dt_ms : float
        Time step in ms.

    Returns
    -------
    float or ndarray shaped like ``e``

    Notes
    -----
    Exact solution of ``tau_e de/dt = -e + Hebb`` for ``Hebb`` constant over the step::

        e <- Hebb + (e - Hebb) exp(-dt / tau_e)
    """
    _check_positive("tau_e_ms", tau_e_ms)
    _check_positive("dt_ms", dt_ms)
    return hebb + (e - hebb) * math.exp(-dt_ms / tau_e_ms)


def tag_step(c, increment, tau_c_ms: float, dt_ms: float):
    """Advance the synaptic tag of a spiking synapse by one step (Izhikevich 2007, eq. 1).

    Parameters
    ----------
    c : float or ndarray of any shape
        Tag before the step.
    increment : float or ndarray broadcastable to ``c``
        STDP change of this step (from :func:`~neuroai_core.plasticity.stdp_trace_step`).
    tau_c_ms : float
        Decay time constant of the tag, in ms (about 1 s in Izhikevich 2007).
    dt_ms : float

    Returns
    -------
    float or ndarray shaped like ``c``

    Notes
    -----
    ``dc/dt = -c / tau_c + STDP(tau) delta(t - t_pre/post)``: decay by
    ``exp(-dt / tau_c)``, then add the jump.
    """
    _check_positive("tau_c_ms", tau_c_ms)
    _check_positive("dt_ms", dt_ms)
    return c * math.exp(-dt_ms / tau_c_ms) + increment


def three_factor_step(w, e, modulator, eta: float, dt_ms: float):
    """One forward-Euler step of the three-factor rule ``dw/dt = eta M(t) e(t)``.

    Parameters
    ----------
    w : float or ndarray of any shape
        Weights before the step.
    e : float or ndarray broadcastable to ``w``
        Eligibility trace (or tag) during the step.
    modulator : float or ndarray broadcastable to ``w``
        Neuromodulator ``M`` during the step (dopamine concentration, reward signal).
    eta : float
        Learning rate, non-negative.
    dt_ms : float

    Returns
    -------
    float or ndarray: ``w + eta * M * e * dt``
    """
    if not eta >= 0:
        raise ValueError(f"eta must be non-negative, got {eta!r}")
    _check_positive("dt_ms", dt_ms)
    return w + eta * modulator * e * dt_ms


def delayed_reward_dw(
    c0: float, d: float, tau_c_ms: float, tau_d_ms: float, delay_ms: float, eta: float = 1.0
) -> float:
    """Closed-form weight change from a decaying tag and a delayed, decaying dopamine pulse.

    Parameters
    ----------
    c0 : float
        Tag at time 0.
    d : float
        Height of the dopamine pulse at its arrival.
    tau_c_ms, tau_d_ms : float
        Decay time constants of tag and dopamine, in ms.
    delay_ms : float
        Arrival time of the pulse, in ms, non-negative.
    eta : float

    Returns
    -------
    float
        ``eta c0 D tau_c tau_d / (tau_c + tau_d) exp(-Delta / tau_c)``.
    """
    _check_positive("tau_c_ms", tau_c_ms)
    _check_positive("tau_d_ms", tau_d_ms)
    if not delay_ms >= 0:
        raise ValueError(f"delay_ms must be non-negative, got {delay_ms!r}")
    tau = tau_c_ms * tau_d_ms / (tau_c_ms + tau_d_ms)
    return eta * c0 * d * tau * math.exp(-delay_ms / tau_c_ms)


def simulate_delayed_reward(
    c0: float,
    d: float,
    tau_c_ms: float = 1000.0,
    tau_d_ms: float = 200.0,
    delay_ms: float = 500.0,
    eta: float = 1.0,
    dt_ms: float = 0.1,
    t_max_ms: float | None = None,
):
    """Simulate one tag, one delayed dopamine pulse and the resulting weight.

    The tag starts at ``c0`` at time 0 and decays (:func:`tag_step` without increments);
    dopamine is 0 until ``delay_ms`` and then ``D exp(-(t - delay) / tau_d)``; the weight
    starts at 0 and follows :func:`three_factor_step`.

    Parameters
    ----------
    c0, d, tau_c_ms, tau_d_ms, delay_ms, eta : float
        As in :func:`delayed_reward_dw`.
    dt_ms : float
        Time step in ms.
    t_max_ms : float, optional
        Duration; by default ``delay + 12 (tau_c + tau_d)``, long enough for the rest of the
        integral to be negligible.

    Returns
    -------
    t_ms, tag, dopamine, w : ndarrays of shape (n_steps,)
        Time at the start of each step and the three variables during it (``w`` after it).
    """
    _check_positive("dt_ms", dt_ms)
    if t_max_ms is None:
        t_max_ms = delay_ms + 12.0 * (tau_c_ms + tau_d_ms)
    n_steps = int(round(t_max_ms / dt_ms))
    t = np.arange(n_steps) * dt_ms
    k0 = int(round(delay_ms / dt_ms))
    tag = np.empty(n_steps)
    dopa = np.zeros(n_steps)
    w = np.empty(n_steps)
    c, m, wk = float(c0), 0.0, 0.0
    for k in range(n_steps):
        if k == k0:
            m += d
        tag[k], dopa[k] = c, m
        wk = three_factor_step(wk, c, m, eta, dt_ms)
        w[k] = wk
        c = tag_step(c, 0.0, tau_c_ms, dt_ms)
        m = m * math.exp(-dt_ms / tau_d_ms)
    return t, tag, dopa, w
